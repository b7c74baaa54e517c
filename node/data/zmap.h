/* zmap.h: the member index of a big sorted set: member bytes -> entry.
 *
 * An open-addressing table of entry pointers (zent.h) with linear probing:
 * 8 bytes per slot and nothing per member, where a chained table spends a
 * link in every member and a bucket pointer besides. Entries are 8-byte
 * aligned, so the low 3 bits of a slot hold a tag from the member's hash: a
 * probe reads an entry only when its tag matches (one in 8 otherwise). A
 * table grows at ZMAP_LOAD_MAX_PCT percent full and shrinks under
 * ZMAP_LOAD_MIN_PCT, and deletion shifts the following entries back
 * (no tombstones), so a probe sequence always ends at an empty slot.
 *
 * Resizes are incremental, as Redis's dict: while one is in progress two
 * tables exist, lookups try both, insertions go to the new one, and every
 * operation moves whole clusters (runs of occupied slots) of at least
 * ZMAP_REHASH_SLOTS slots from the old table; moving whole clusters keeps
 * every probe sequence left in the old table intact. The scan is Redis's
 * reverse-binary cursor over home buckets (a member's home is its hash
 * masked by the table size), so every member present for a whole scan is
 * returned at least once across any number of resizes.
 *
 * The index owns only its tables (charged to m->mem); the entries belong to
 * the caller (zbtree.c). */
#ifndef CAIRN_ZMAP_H
#define CAIRN_ZMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct zent;

/* Fill bounds, in percent of the slots. */
#define ZMAP_LOAD_MAX_PCT 80
#define ZMAP_LOAD_MIN_PCT 10
/* The smallest table. */
#define ZMAP_SIZE_MIN 8
/* Old-table slots moved per operation while resizing (whole clusters). */
#define ZMAP_REHASH_SLOTS 16

struct zmap {
	uintptr_t *t[2];  /* entry pointer | tag; 0 is an empty slot */
	uint64_t size[2]; /* slots, a power of two, or 0 */
	uint64_t used[2];
	/* Resizing (t[1] not NULL): the old table's next slot to move, and how
	 * many old slots remain to visit. */
	uint64_t rehash_pos, rehash_left;
	struct mem *mem;
	uint64_t seed;
};

void zmap_init(struct zmap *m, struct mem *mem, uint64_t seed);
/* Frees the tables (not the entries); m is empty and initialised after. */
void zmap_free(struct zmap *m);
uint64_t zmap_size(const struct zmap *m);
/* Sizes an empty index for n members. */
void zmap_expand(struct zmap *m, uint64_t n);

/* The entry of member s, or NULL. Moves clusters while resizing. */
struct zent *zmap_find(struct zmap *m, const char *s, size_t len);
/* The same without moving anything (for checks on a const index). */
struct zent *zmap_peek(const struct zmap *m, const char *s, size_t len);
/* Adds e, whose member is not indexed yet. May start a resize. */
void zmap_add(struct zmap *m, struct zent *e);
/* Removes member s; returns its entry, or NULL if it was not there. May
 * start a shrink. */
struct zent *zmap_remove(struct zmap *m, const char *s, size_t len);

/* Every entry once, in table order; fn must not change the index. */
typedef void (*zmap_fn)(void *arg, struct zent *e);
void zmap_each(const struct zmap *m, zmap_fn fn, void *arg);
/* One scan step: fn on every member whose home is the cursor's bucket(s);
 * returns the next cursor (0 when done). fn must not change the index. */
uint64_t zmap_scan(struct zmap *m, uint64_t cursor, zmap_fn fn, void *arg);

/* Bytes of the tables, as charged. */
size_t zmap_mem(const struct zmap *m);
/* Whether the invariants hold: every entry reachable from its home with no
 * empty slot between, its tag right, no member twice, the counts exact, the
 * old table's moved part empty. */
bool zmap_check(const struct zmap *m);

#endif
