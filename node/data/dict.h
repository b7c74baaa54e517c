/* dict.h: the keyspace's hash table, chained through struct kv itself.
 *
 * Buckets and chain links are 4-byte entry handles, resolved through the
 * table's heap (kvheap.h), which also allocates and frees the entries.
 *
 * Linear hashing (Litwin): the table has half + split buckets, where half
 * is a power of two; a key's bucket is its hash masked to half, unless that
 * bucket is below split, which means it has been split already, and then
 * its hash masked to 2 * half. The table grows one bucket at a time: an
 * insert that takes the load over 1 splits bucket split into itself and
 * split + half (one chain moved), so the table stays at a load of about 1
 * at every size, never allocates twice its need, and no operation pays for
 * more than one chain. Under 10% load it shrinks the same way, merging the
 * last bucket into its buddy, a few per operation and per cron step (empty
 * ones count a tenth, as Redis's rehash counts empty visits). Buckets live
 * in segments of DICT_SEG_BUCKETS (a small table's one segment grows by
 * doubling up to that), found through a directory, so growth never copies
 * the table.
 *
 * dict_scan() is Redis's reverse-binary cursor scan over the buckets of a
 * table of half buckets, where a split bucket is read as its two halves:
 * every element present for the whole scan is returned at least once,
 * across any number of splits and merges between calls, as Redis's scan is
 * across resizes. */
#ifndef CAIRN_DICT_H
#define CAIRN_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kvheap.h"

struct mem;

/* Buckets per segment (4 KB of handles). */
#define DICT_SEG_SHIFT 10
#define DICT_SEG_BUCKETS (1ull << DICT_SEG_SHIFT)

struct dict {
	kvh **seg; /* the directory: bucket b is seg[b >> DICT_SEG_SHIFT][b % DICT_SEG_BUCKETS] */
	uint64_t nseg, seg_cap; /* segments in use, the directory's room */
	uint64_t seg0_cap;      /* buckets seg[0] holds (a power of two) */
	uint64_t half;          /* a power of two, DICT_SIZE_MIN or more, or 0 when empty */
	uint64_t split;         /* buckets [0, split) are split, [0, half + split) exist */
	uint64_t used;
	bool shrinking; /* merging buckets until the load is back to 1 */
	struct mem *mem;
	uint64_t seed; /* of the keys' hashes: a split computes them again */
	/* NULL, or what computes an entry's hash instead (tests force
	 * collisions with it). */
	uint32_t (*hash_fn)(const struct kv *e);
	struct kv_heap heap; /* the entries' */
};

/* The entries' hashes are the low 32 bits of hash_bytes(key, seed). The
 * entries are malloc's, through indirect cells, unless dict_use_slab. */
void dict_init(struct dict *d, struct mem *mem, uint64_t seed);
/* Puts the small entries allocated from now on in slab (a table with
 * entries only if it had no slab: those stay malloc's); dict_free_tables
 * keeps it. */
void dict_use_slab(struct dict *d, struct slab *slab);
/* Frees the tables, not the entries; the heap's cells too if no entry
 * holds one any more. */
void dict_free_tables(struct dict *d);
/* Entries: allocated and freed through the table's heap (and d->mem). */
static inline struct kv *dict_alloc(struct dict *d, size_t n)
{
	return kvh_alloc(&d->heap, d->mem, n);
}
static inline size_t dict_release(struct dict *d, struct kv *e)
{
	return kvh_free(&d->heap, d->mem, e);
}
static inline struct kv *dict_resize_entry(struct dict *d, struct kv *e, size_t n)
{
	return kvh_resize(&d->heap, d->mem, e, n);
}
static inline size_t dict_entry_size(const struct dict *d, const struct kv *e)
{
	return kvh_size(&d->heap, e);
}
/* The entry after e in its chain, or NULL. */
static inline struct kv *dict_next(const struct dict *d, const struct kv *e)
{
	return e->next != 0 ? kvh_get(&d->heap, e->next) : NULL;
}
uint64_t dict_size(const struct dict *d);
/* Buckets, and bucket b's first entry (b below dict_buckets): to walk the
 * table while it does not change. */
uint64_t dict_buckets(const struct dict *d);
struct kv *dict_bucket(const struct dict *d, uint64_t b);
/* The bucket an entry with this hash belongs in. */
uint64_t dict_bucket_of(const struct dict *d, uint32_t hash);
/* The entry for key, or NULL; if link is not NULL, *link is set to the
 * link (bucket or previous entry's next) that holds its handle. Performs a
 * resize step. */
struct kv *dict_find(struct dict *d, const char *key, size_t klen, uint32_t hash, kvh **link);
/* The first entry whose hash is hash and that match(arg, e) accepts, or
 * NULL: a lookup by hash alone (the SIEVE queue's slots). Performs a
 * resize step. */
struct kv *dict_find_hash(struct dict *d, uint32_t hash,
			  bool (*match)(const void *arg, const struct kv *e), const void *arg);
/* Inserts an entry whose key is not present and whose hash is hash. May
 * split a bucket. */
void dict_insert(struct dict *d, struct kv *e, uint32_t hash);
/* Unlinks the entry held by link (from dict_find). */
struct kv *dict_unlink(struct dict *d, kvh *link);
/* Points link (from dict_find) at e, the entry it held after a resize
 * moved it. */
void dict_relink(struct dict *d, kvh *link, struct kv *e);
/* Puts e in place of old, the entry link holds, in its chain (old is the
 * caller's to free). */
void dict_replace(struct dict *d, kvh *link, struct kv *old, struct kv *e);
/* Up to n merges while shrinking (empty buckets count a tenth); returns
 * true while the shrink goes on. */
bool dict_rehash(struct dict *d, unsigned n);
/* Starts a shrink if the table is under 10% full; an empty table gives
 * its buckets back at once. */
void dict_try_shrink(struct dict *d);
/* One scan step: calls fn on every entry of the bucket(s) at cursor and
 * returns the next cursor (0 when done). fn must not modify the dict. */
typedef void (*dict_scan_fn)(void *arg, struct kv *e);
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_scan_fn fn, void *arg);
/* A random entry (or NULL if empty), from r, a random 64-bit number source. */
struct kv *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rarg);
/* Calls fn on every entry; fn may free the entry it is given. */
void dict_each(struct dict *d, void (*fn)(void *arg, struct kv *e), void *arg);
/* Frees the dict piecemeal, as a background free does: calls fn, which
 * frees the entry it is given, on the entries of the buckets from *bucket
 * on, spending at most *budget units (an entry or an empty bucket each) and
 * taking what it spent off *budget. Once every bucket is done it frees the
 * tables and returns true. Nothing else may use the dict meanwhile. */
bool dict_free_some(struct dict *d, uint64_t *bucket, unsigned *budget,
		    void (*fn)(void *arg, struct kv *e), void *arg);
/* Memory of the buckets, the directory and the heap's cells. */
size_t dict_mem(const struct dict *d);
/* Whether the invariants hold: every entry in the bucket its hash names,
 * the count exact, the segments as the size needs. For ks_check and tests. */
bool dict_check(const struct dict *d);

#endif
