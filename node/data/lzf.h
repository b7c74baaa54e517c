/* lzf.h: the LZF block format, compressed and decompressed (written for
 * cairn; the format is liblzf's, which Redis uses for quicklist nodes and
 * RDB strings, so that compressed nodes can travel in DUMP/RESTORE as Redis
 * writes them).
 *
 * A block is a sequence of items, each starting with a control byte c:
 *   c < 32            a literal run: the next c + 1 bytes (1..32) are copied
 *   c >= 32           a back reference: length field l = c >> 5 (1..6, or 7
 *                     followed by one more byte that is added), then one
 *                     byte: the copy starts (((c & 31) << 8) | that byte) + 1
 *                     bytes back in the output and is l + 2 bytes long, so a
 *                     match is 3..264 bytes at a distance of 1..8192. The
 *                     source may overlap the bytes being written (a run).
 * There is no header: the caller keeps both lengths (Redis stores them
 * beside the block).
 *
 * Neither function allocates or keeps state between calls. */
#ifndef CAIRN_LZF_H
#define CAIRN_LZF_H

#include <stddef.h>
#include <stdint.h>

/* The format's bounds. */
#define LZF_LITERAL_MAX 32
#define LZF_MATCH_MIN 3
#define LZF_MATCH_MAX 264
#define LZF_DISTANCE_MAX 8192

/* Compresses in_len bytes of in into out (at most out_len bytes). Returns
 * the compressed length, or 0 when it would not fit out_len (so a caller
 * that passes out_len < in_len learns the data did not shrink enough) or
 * in_len is 0. in and out must not overlap. */
size_t lzf_compress(const void *in, size_t in_len, void *out, size_t out_len);

/* liblzf 3.6's compressor, as Redis builds it (a 2^16-slot table, its
 * VERY_FAST mode), so that the output is byte for byte the block Redis
 * writes for the same input, when Redis's table starts empty (Redis leaves
 * it uninitialized): DEBUG OBJECT's serializedlength counts the blocks
 * Redis's RDB would hold. Same contract as lzf_compress (0: did not fit
 * out_len). The caller lends the table, all zero, and gets it back all
 * zero; it costs O(in_len), not the table's size. */
#define LZF_LIB_HLOG 16
struct lzf_lib_table {
	uint32_t slot[1u << LZF_LIB_HLOG];
};
size_t lzf_compress_lib(const void *in, size_t in_len, void *out, size_t out_len,
			struct lzf_lib_table *t);

/* Decompresses the in_len bytes at in into out (at most out_len bytes).
 * Returns the decompressed length, or 0 when the block is malformed (a
 * truncated item, a reference before the start of the output) or its output
 * would not fit out_len. Reads nothing outside [in, in + in_len) and writes
 * nothing outside [out, out + out_len), whatever the input: hostile blocks
 * (RESTORE) are safe. */
size_t lzf_decompress(const void *in, size_t in_len, void *out, size_t out_len);

#endif
