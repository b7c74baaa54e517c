/* lazyfree.h: freeing big things in bounded steps.
 *
 * Two kinds of work queue here. FLUSHALL ASYNC (and lazyfree-lazy-user-flush)
 * hands the old hash tables over instead of freeing millions of entries in
 * one command. UNLINK (and DEL with lazyfree-lazy-user-del) hands over a
 * big value, a hash of a million fields say, whose key is already gone; so
 * does a flushed table for each big value in it, so one huge value cannot
 * stall a step either. The shard's timer then frees a bounded amount per
 * tick (lazy_step). Redis does this work in a background thread; cairn's
 * shard does it between batches, which needs no locks and keeps the node's
 * behaviour reproducible under the simulator. Memory stays charged to the
 * keyspace's account until it is freed. */
#ifndef CAIRN_LAZYFREE_H
#define CAIRN_LAZYFREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dict.h"

struct kv_type_ops;
struct mem;
struct stats;

struct lazy_table {
	struct dict d;           /* tables being freed */
	uint64_t bucket;         /* next bucket of d.t[0] then d.t[1] to free */
	struct lazy_table *next; /* an older flush still being freed */
};

/* A value whose key is gone, freed through its type's free_step. */
struct lazy_obj {
	const struct kv_type_ops *type;
	void *obj;
	unsigned enc;
	size_t bytes; /* still charged: its size when queued, less what is freed */
	struct lazy_obj *next;
};

struct lazyfree {
	struct lazy_table *head;
	uint64_t pending; /* entries of head's tables not yet freed */
	struct lazy_obj *objs;
	uint64_t pending_objs; /* values in objs */
	struct mem *mem;
	const struct kv_type_ops *const *types;
};

void lazy_init(struct lazyfree *lz, struct mem *mem, const struct kv_type_ops *const *types);
/* Takes d's tables and entries (entries of them), leaving d to be
 * re-initialised by the caller. */
void lazy_add(struct lazyfree *lz, const struct dict *d, uint64_t entries);
/* Takes a value of type t (which has a free_step) whose entry is gone. */
void lazy_add_obj(struct lazyfree *lz, const struct kv_type_ops *t, void *obj, unsigned enc);
/* Spends up to n units of work (an entry, an empty bucket, or a value's
 * allocation each); adds the number of entries and values wholly freed to
 * *freed. Returns true while work remains. */
bool lazy_step(struct lazyfree *lz, unsigned n, uint64_t *freed);
/* For the keyspace's check: bytes still held (tables, entries, values),
 * the number of table entries and the number of queued values counted. */
void lazy_account(const struct lazyfree *lz, uint64_t *bytes, uint64_t *entries, uint64_t *objs);

#endif
