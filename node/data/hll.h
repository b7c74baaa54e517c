/* hll.h: HyperLogLog, in Redis's own string format, byte for byte.
 *
 * A HyperLogLog is a string value: a 16-byte header ("HYLL", the encoding,
 * three zero bytes, 8 bytes of cached cardinality, little endian, whose top
 * bit marks the cache stale) and 16384 registers of 6 bits, either dense
 * (12288 bytes, packed) or sparse (runs: ZERO 00xxxxxx, XZERO 01xxxxxx
 * xxxxxxxx, VAL 1vvvvvxx). The layout, the hash (MurmurHash64A, seed
 * 0xadc83b19), the sparse updates (split, then merge of adjacent VALs) and
 * the estimator (Ertl's, as Redis 5 and later) are Redis's, so GET of a
 * HyperLogLog returns the bytes Redis would, and a Redis HyperLogLog
 * loaded into cairn counts the same. A sparse form is corrupt when its runs
 * do not cover exactly the 16384 registers, or when it ends inside an
 * XZERO (Redis reads its string's terminator as the missing byte; cairn
 * reads nothing past the value). These functions work on plain byte
 * buffers; where the value lives is the caller's business (cmd_hll.c). */
#ifndef CAIRN_HLL_H
#define CAIRN_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1
/* An empty sparse HyperLogLog: the header and one XZERO of every register. */
#define HLL_EMPTY_SIZE (HLL_HDR_SIZE + 2)
/* Bytes a sparse update may add at most (an XZERO split in three). */
#define HLL_SPARSE_GROW_MAX 3

/* Writes an empty HyperLogLog (HLL_EMPTY_SIZE bytes) to out. */
void hll_empty(unsigned char *out);
/* Redis's isHLLObjectOrReply test: the magic, a known encoding, and for a
 * dense one, the exact size. */
bool hll_valid_header(const unsigned char *p, size_t len);
int hll_encoding(const unsigned char *p);

/* The register and the run length of the hash pattern of an element. */
void hll_pattern(const char *ele, size_t len, long *index, uint8_t *count);

/* Sets register index to count if larger, in a dense HyperLogLog's
 * registers. Returns 1 if it changed, else 0. */
int hll_dense_set(unsigned char *regs, long index, uint8_t count);
/* The same on a sparse one, in place: p has room for *len +
 * HLL_SPARSE_GROW_MAX bytes and *len is updated. Returns 1 (changed), 0
 * (no change), 2 (the sparse form cannot hold it within sparse_max bytes,
 * or count is too large: promote to dense, then set) or -1 (corrupt). */
int hll_sparse_set(unsigned char *p, size_t *len, size_t sparse_max, long index, uint8_t count);
/* Writes the dense form of the sparse p[0, len) to dense
 * (HLL_DENSE_SIZE + 1 bytes: the last is scratch); false if corrupt. */
bool hll_to_dense(const unsigned char *p, size_t len, unsigned char *dense);

/* max[i] = MAX(max[i], register i) over HLL_REGISTERS registers; false if
 * the sparse form is corrupt. */
bool hll_merge(uint8_t *max, const unsigned char *p, size_t len);
/* The estimated cardinality of p[0, len) (*invalid set for a corrupt
 * sparse form), and of raw registers (one byte each). */
uint64_t hll_count(const unsigned char *p, size_t len, bool *invalid);
uint64_t hll_count_raw(const uint8_t *regs);

/* The cached cardinality: valid or not, read it, write it (valid), mark it
 * stale. */
bool hll_cache_valid(const unsigned char *p);
uint64_t hll_cache_get(const unsigned char *p);
void hll_cache_set(unsigned char *p, uint64_t card);
void hll_cache_invalidate(unsigned char *p);

#endif
