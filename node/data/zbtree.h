/* zbtree.h: the big encoding of a sorted set ("skiplist" for OBJECT
 * ENCODING, as Redis names its own): an order-statistic B+tree of entries
 * in (score, member) order, and a member index (zmap.h) for lookups by
 * member.
 *
 * Each member is one allocation, its entry (zent.h: score and bytes). The
 * tree's leaves hold entry pointers only (ZBT_LEAF_CAP of them, linked both
 * ways for range walks); its inner nodes hold, per child, the child, the
 * number of entries below it (so a rank is found in O(log n): the counts of
 * the children left of the path, summed on the way down) and a lower bound
 * of its keys, a separator owned by the tree (a copy of a key: its score
 * kept inline in the node for the descent, the key itself an entry that
 * belongs to no member). A separator only has to be a lower bound, so it
 * changes only when nodes split, merge or rebalance, never when the key it
 * was copied from goes. Nodes other than the root hold at least a quarter of
 * their capacity; a deletion that leaves fewer merges the node with a
 * sibling or takes from it.
 *
 * Memory: a member costs its entry (24 usable bytes up to 15 bytes of
 * member), its pointer in a leaf (8 bytes at 100% fill after a bulk load,
 * about 11.5 at the 70% of random insertion) and its index slot (8 bytes
 * at 40-80% load); Redis spends a skiplist node, an sds, a dict entry and a
 * bucket. Everything is allocated from t->mem and counted in t->bytes (the
 * index's tables in zbt_mem), so a set's size is known in O(1).
 *
 * Staging: a set built from other sets (ZUNIONSTORE, a conversion, COPY)
 * first collects its entries in the index alone (zbt_stage: the tree is
 * empty and scores may change in place), then zbt_commit() sorts them and
 * builds full leaves bottom up. */
#ifndef CAIRN_ZBTREE_H
#define CAIRN_ZBTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/zent.h"
#include "data/zmap.h"

struct mem;

#define ZBT_LEAF_CAP 60
#define ZBT_INNER_CAP 48
#define ZBT_LEAF_MIN (ZBT_LEAF_CAP / 4)
#define ZBT_INNER_MIN (ZBT_INNER_CAP / 4)
/* Levels a path may have: a tree of 2^64 entries needs fewer. */
#define ZBT_DEPTH_MAX 20

struct zbt_leaf {
	uint32_t n;
	struct zbt_leaf *prev, *next;
	struct zent *e[ZBT_LEAF_CAP];
};

struct zbtree {
	void *root;      /* NULL when the tree is empty */
	unsigned height; /* levels; 1: the root is a leaf */
	uint64_t n;      /* entries in the tree */
	struct zbt_leaf *head, *tail;
	struct zmap map;
	struct mem *mem;
	uint64_t bytes; /* entries, separators and nodes, as charged */
};

void zbt_init(struct zbtree *t, struct mem *mem, uint64_t seed);
/* Frees every entry and node; t is empty (and initialised) after. */
void zbt_free(struct zbtree *t);
/* Frees part of the set in the background's steps (object.h's free_step):
 * the entries and leaves from the end, then the inner nodes, then the
 * index, about an allocation per unit of *budget, taking what it spends off
 * it. True once everything is freed (t is then empty and initialised);
 * false only with *budget spent. Once begun, t is only half a tree: nothing
 * but this may touch it. t holds no staged member. */
bool zbt_free_some(struct zbtree *t, unsigned *budget);
/* Members (staged ones too). */
uint64_t zbt_len(const struct zbtree *t);
/* The account the set now belongs to (RENAME to another shard). */
void zbt_rebind(struct zbtree *t, struct mem *mem);

/* The entry of member s, or NULL. */
struct zent *zbt_find(struct zbtree *t, const char *s, size_t len);
/* Adds member s, which is not in the set, with score; returns its entry. */
struct zent *zbt_add(struct zbtree *t, const char *s, size_t len, double score);
/* Changes e's score (in place when its place in the order stays). */
void zbt_set_score(struct zbtree *t, struct zent *e, double score);
/* Removes e's member and frees e. */
void zbt_del(struct zbtree *t, struct zent *e);

/* The 0-based rank of e. */
uint64_t zbt_rank(const struct zbtree *t, const struct zent *e);
/* How many entries come before the first key for which fn is false: fn
 * must be true on a prefix of the order and false after (a range bound).
 * fn is asked about entries and separators alike. */
typedef bool (*zbt_before_fn)(const void *arg, double score, const struct zent *key);
uint64_t zbt_count_before(const struct zbtree *t, zbt_before_fn fn, const void *arg);

/* A position in the order; leaf is NULL past either end. Valid until the
 * set is next changed. */
struct zbt_pos {
	struct zbt_leaf *leaf;
	uint32_t i;
};
/* The position of rank (NULL leaf when rank >= len). */
void zbt_seek(const struct zbtree *t, uint64_t rank, struct zbt_pos *p);
static inline struct zent *zbt_at(const struct zbt_pos *p)
{
	return p->leaf->e[p->i];
}
void zbt_next(struct zbt_pos *p);
void zbt_prev(struct zbt_pos *p);

/* Staging (see above): adds a new member to the index only. */
struct zent *zbt_stage(struct zbtree *t, const char *s, size_t len, double score);
/* Builds the tree from the staged members (the tree must be empty). */
void zbt_commit(struct zbtree *t);
/* Fills dst (initialised, empty) with a copy of src. */
void zbt_dup(struct zbtree *dst, const struct zbtree *src);

/* One ZSCAN step over the index (zmap_scan). */
uint64_t zbt_scan(struct zbtree *t, uint64_t cursor, zmap_fn fn, void *arg);
/* Bytes charged for the set, the struct itself left out. */
size_t zbt_mem(const struct zbtree *t);
/* Whether every invariant holds: the order, the counts, the separators'
 * bounds, the fill of every node but the root, the leaf links, the index
 * holding exactly the tree's entries, and the byte count. */
bool zbt_check(const struct zbtree *t);

#endif
