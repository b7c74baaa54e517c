/* lazyfree.h: freeing a flushed keyspace in bounded steps.
 *
 * FLUSHALL ASYNC (and lazyfree-lazy-user-flush) hands the old hash tables
 * here instead of freeing millions of entries in one command; the shard's
 * timer then frees a bounded number per tick (lazy_step), so no step
 * stalls. Memory stays charged to the keyspace's account until it is freed.
 * Later flushes queue behind earlier ones. */
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

struct lazyfree {
	struct lazy_table *head;
	uint64_t pending; /* entries not yet freed */
	struct mem *mem;
	const struct kv_type_ops *const *types;
};

void lazy_init(struct lazyfree *lz, struct mem *mem, const struct kv_type_ops *const *types);
/* Takes d's tables and entries (entries of them), leaving d to be
 * re-initialised by the caller. */
void lazy_add(struct lazyfree *lz, const struct dict *d, uint64_t entries);
/* Frees up to n entries (an empty bucket counts as one); adds the number
 * freed to *freed. Returns true while work remains. */
bool lazy_step(struct lazyfree *lz, unsigned n, uint64_t *freed);
/* For the keyspace's check: bytes still held (tables, entries, values),
 * and the number of entries counted. */
void lazy_account(const struct lazyfree *lz, uint64_t *bytes, uint64_t *entries);

#endif
