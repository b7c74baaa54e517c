/* rdblen.h: how many bytes Redis's RDB would take for a value, as its
 * rdbSavedObjectLen() counts them (DEBUG OBJECT's serializedlength): the
 * value alone, without its type byte, key or expiry.
 *
 * A string is saved as an integer (1 + 1, 2 or 4 bytes) when its bytes are
 * one of at most 11 characters in canonical form that fits 32 bits, else
 * LZF-compressed when longer than 20 bytes and it shrinks by 4 bytes or
 * more (rdbcompression is always on in cairn), else as a length and its
 * bytes. A listpack or intset is saved as a string of its bytes; a
 * quicklist as its node count, then per node its container and its
 * listpack (a compressed node as its LZF block); a hash table, set table
 * or sorted set's tree as its length and each element (a member's score as
 * 8 bytes). A list kept as one listpack is saved as Redis 7.2 saves it: a
 * quicklist of one node.
 *
 * LZF is liblzf's algorithm (lzf_compress_lib), so the blocks are the
 * ones Redis writes. A quicklist node cairn keeps compressed (with its own
 * compressor, lzf_compress) is counted as Redis's node of the same bytes:
 * compressed by liblzf if that gains QUICKLIST_MIN_COMPRESS_IMPROVE bytes,
 * else raw. */
#ifndef CAIRN_RDBLEN_H
#define CAIRN_RDBLEN_H

#include <stddef.h>
#include <stdint.h>

struct kv;
struct lzf_lib_table;
struct mem;

/* A count in progress: scratch space (LZF's output and table) comes from
 * mem, and rdblen_free gives it back. */
struct rdblen {
	struct mem *mem;
	struct lzf_lib_table *table; /* liblzf's, allocated at the first need */
};
void rdblen_init(struct rdblen *r, struct mem *mem);
void rdblen_free(struct rdblen *r);

/* The saved length of e's value. */
uint64_t rdblen_value(struct rdblen *r, const struct kv *e);
/* The saved length of a string of len bytes at p (rdbSaveRawString). */
uint64_t rdblen_string(struct rdblen *r, const char *p, size_t len);
/* The bytes of a length (rdbSaveLen): 1, 2, 5 or 9. */
unsigned rdblen_len(uint64_t n);

#endif
