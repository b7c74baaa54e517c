/* dict.h: the keyspace's hash table, chained through struct kv itself.
 *
 * Power-of-two tables, and Redis's incremental rehashing: while a resize is
 * in progress, two tables exist and every operation moves one bucket (plus
 * at most DICT_REHASH_EMPTY_VISITS empty ones) from the old to the new, so no
 * single command pays for a whole resize. dict_scan() is Redis's
 * reverse-binary cursor scan: every element present for the whole scan is
 * returned at least once, across any number of resizes. */
#ifndef CAIRN_DICT_H
#define CAIRN_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;
struct mem;

struct dict {
	struct kv **t[2];
	uint64_t size[2]; /* buckets, a power of two, or 0 */
	uint64_t used[2];
	int64_t rehash; /* next bucket of t[0] to move, or -1 */
	struct mem *mem;
	uint64_t seed; /* of the keys' hashes: a move computes them again */
	/* NULL, or what computes an entry's hash instead (tests force
	 * collisions with it). */
	uint32_t (*hash_fn)(const struct kv *e);
};

/* The entries' hashes are the low 32 bits of hash_bytes(key, seed). */
void dict_init(struct dict *d, struct mem *mem, uint64_t seed);
/* Frees the tables, not the entries. */
void dict_free_tables(struct dict *d);
uint64_t dict_size(const struct dict *d);
/* The link (bucket slot or previous entry's next) that holds the entry for
 * key, or NULL; *table (if not NULL) says which table holds it. Performs a
 * rehash step. */
struct kv **dict_find(struct dict *d, const char *key, size_t klen, uint32_t hash, int *table);
/* The first entry whose hash is hash and that match(arg, e) accepts, or
 * NULL: a lookup by hash alone (the SIEVE queue's slots). Performs a
 * rehash step. */
struct kv *dict_find_hash(struct dict *d, uint32_t hash,
			  bool (*match)(const void *arg, const struct kv *e), const void *arg);
/* Inserts an entry whose key is not present and whose hash is hash. May
 * start a resize. */
void dict_insert(struct dict *d, struct kv *e, uint32_t hash);
/* Unlinks the entry held by link in table (both from dict_find). */
struct kv *dict_unlink(struct dict *d, struct kv **link, int table);
/* Moves up to n buckets; returns true while rehashing remains. */
bool dict_rehash(struct dict *d, unsigned n);
/* Starts a shrink if the table is under 10% full. */
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
 * on (t[0]'s, then t[1]'s), spending at most *budget units (an entry or an
 * empty bucket each) and taking what it spent off *budget. Once every
 * bucket is done it frees the tables and returns true. Nothing else may use
 * the dict meanwhile. */
bool dict_free_some(struct dict *d, uint64_t *bucket, unsigned *budget,
		    void (*fn)(void *arg, struct kv *e), void *arg);
/* Memory of the bucket arrays. */
size_t dict_mem(const struct dict *d);

#endif
