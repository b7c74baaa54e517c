/* conns.h: a shard's connection table.
 *
 * A fixed-size table, sized from maxclients at start-up (and grown only when
 * CONFIG SET raises maxclients): each entry holds a connection or nothing,
 * and a generation that survives the connection. A completion names its
 * connection by entry and generation (shard/ud.h), so one that arrives after
 * its connection closed, and the entry went to another, is recognised as
 * stale. Free entries are reused lowest first. The table stores connections
 * as opaque pointers; it never looks inside one. It also finds a
 * connection by its client id (an open-addressed index, at most half
 * full), for what is addressed to a client by id (CLIENT TRACKING's
 * invalidations). */
#ifndef CAIRN_SHARD_CONNS_H
#define CAIRN_SHARD_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct mem;

struct conns {
	struct mem *mem; /* the table's arrays */
	struct conn **tab;
	uint32_t *gens;
	uint32_t cap, n; /* entries, and how many hold a connection */
	uint32_t *free_idx;
	uint32_t nfree;
	uint64_t *ids;  /* [cap]: each entry's client id */
	uint32_t *byid; /* [mask + 1]: entry + 1 by id, 0 for none */
	uint32_t mask;
};

/* A table of cap entries (at most UD_IDX_MAX), its arrays charged to mem. */
void conns_init(struct conns *t, struct mem *mem, uint32_t cap);
/* Frees the arrays; every entry must be empty. */
void conns_free(struct conns *t);
/* Grows the table to cap entries (no-op if it has as many). */
void conns_grow(struct conns *t, uint32_t cap);
/* Takes a free entry: its index and generation, or false when none is. */
bool conns_take(struct conns *t, uint32_t *idx, uint32_t *gen);
/* Puts c, whose client id is id, in the entry just taken. */
void conns_set(struct conns *t, uint32_t idx, struct conn *c, uint64_t id);
/* Empties entry idx (its connection is gone) and retires its generation. */
void conns_release(struct conns *t, uint32_t idx);
/* The connection at idx if its generation is still gen, else NULL (for
 * every completion, so inline). */
static inline struct conn *conns_get(const struct conns *t, uint32_t idx, uint32_t gen)
{
	if (idx >= t->cap || t->gens[idx] != gen)
		return NULL;
	return t->tab[idx];
}
/* The connection at idx, or NULL (to walk the table: 0 <= idx < cap). */
struct conn *conns_at(const struct conns *t, uint32_t idx);
/* The connection whose client id is id, or NULL. */
struct conn *conns_find_id(const struct conns *t, uint64_t id);

#endif
