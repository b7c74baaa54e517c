/* htab.h: a hash table of byte strings, chained through compact entries.
 *
 * The members of a big set (t_set.h's hashtable encoding). Each member is
 * one allocation: the chain pointer, then its length (one byte below 255;
 * else the byte 255 and four bytes, little endian), then its bytes. Nothing
 * else is kept per member: no hash (it is computed again when a resize moves
 * the member, as Redis's dict does), no value, no header. A member of up to
 * 15 bytes (every integer of up to 15 digits) so fits the allocator's
 * smallest chunk (24 usable bytes in glibc), where a struct kv entry with
 * the member as key (kv.h, 16 bytes of header) takes 40 and Redis's
 * dictEntry and sds take 48 (jemalloc's 32 and 16); with its bucket (8 to
 * 16 bytes, load 1 to 0.5) a small member costs 32 to 40 bytes here,
 * against 56 to 64 in Redis.
 *
 * The algorithms are dict.c's, which are Redis's: power-of-two tables,
 * growth at load factor 1, a shrink under 10% fill (Redis's htNeedsResize
 * after a set's deletion), incremental rehashing of one bucket (and at most
 * DICT_REHASH_EMPTY_VISITS empty ones) per operation, and the reverse-binary
 * cursor scan, which returns every member present for the whole scan at
 * least once across any number of resizes.
 *
 * Memory: entries and bucket arrays come from h->mem, and h->bytes counts
 * the entries' allocations as charged, so the table's size is known in
 * O(1). Entry pointers stay valid until the member is removed: a resize
 * relinks entries, it never moves them. */
#ifndef CAIRN_HTAB_H
#define CAIRN_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct htab_ent;

struct htab {
	struct htab_ent **t[2];
	uint64_t size[2]; /* buckets, a power of two, or 0 */
	uint64_t used[2];
	int64_t rehash; /* next bucket of t[0] to move, or -1 */
	struct mem *mem;
	uint64_t seed;  /* of the members' hashes */
	uint64_t bytes; /* the entries' allocations, as charged */
};

void htab_init(struct htab *h, struct mem *mem, uint64_t seed);
/* Frees every entry and the tables; h is empty (and initialised) after. */
void htab_free(struct htab *h);
uint64_t htab_size(const struct htab *h);
/* htab_free in steps, for a background free: frees buckets' members,
 * spending at most *budget units (a member or an empty bucket each) and
 * taking what it spent off *budget; true once everything is freed (h is
 * then empty). Nothing else may use h in between. */
bool htab_free_some(struct htab *h, unsigned *budget);
/* Sizes an empty table for n members (Redis's dictExpand before a
 * conversion fills it). */
void htab_expand(struct htab *h, uint64_t n);

/* Each of these performs a rehash step when a resize is in progress. */
bool htab_find(struct htab *h, const char *s, size_t len);
/* Adds s; false (nothing changes) when it is a member already. */
bool htab_add(struct htab *h, const char *s, size_t len);
/* Removes s; false when it is not a member. May start a shrink. */
bool htab_remove(struct htab *h, const char *s, size_t len);
/* A random member (the table is not empty), from rnd, a random 64-bit
 * source: a random non-empty bucket, then a random member of its chain. */
const struct htab_ent *htab_random(struct htab *h, uint64_t (*rnd)(void *), void *rarg);

/* An entry's member: its bytes and length. */
const char *htab_ent_str(const struct htab_ent *e, size_t *len);

/* One scan step: calls fn on every member of the bucket(s) at cursor and
 * returns the next cursor (0 when done). fn must not change the table. */
typedef void (*htab_fn)(void *arg, const char *s, size_t len);
uint64_t htab_scan(struct htab *h, uint64_t cursor, htab_fn fn, void *arg);

/* Every member once, in table order, while the table is not changed (no
 * add, remove, find or random on it: those may move members between
 * tables). */
struct htab_iter {
	const struct htab *h;
	int t;
	uint64_t i;
	const struct htab_ent *e;
};
void htab_iter_init(struct htab_iter *it, const struct htab *h);
/* The next member's entry, or NULL at the end. */
const struct htab_ent *htab_iter_next(struct htab_iter *it);

/* Bytes charged: bucket arrays and entries. */
size_t htab_mem(const struct htab *h);
/* Whether the invariants hold (for ks_check): every member in the bucket
 * its hash names, no member twice, the counts and the byte count exact,
 * and no bucket below the rehash index left in the old table. */
bool htab_check(const struct htab *h);

#endif
