/* kvheap.h: where a table's entries live, and the 4-byte handles that name
 * them.
 *
 * A chain link and a bucket hold an entry's handle (kvh), not its address:
 * 4 bytes instead of 8. A handle is either a slab handle (base/slab.h: the
 * page's id and the slot's offset, the top bit clear), resolved with one
 * load and an add, or, with the top bit set, an indirect handle: the index
 * of a cell that holds the entry's address. Entries malloc holds (larger
 * than SLAB_MAX, every entry of a table with no slab such as a big hash's
 * first 4096 fields, every entry under AddressSanitizer, and any entry once
 * the slab holds SLAB_PAGES_MAX pages) are indirect. Such an entry keeps its cell's index
 * in the 4 bytes before it, so its handle is found from its address, and a
 * realloc that moves it only rewrites the cell.
 *
 * The heap lives inside the dict, so a table handed elsewhere (a flush to
 * the background free, a big hash moved to another keyspace) takes its
 * cells along. The slab is the keyspace's (or a big hash's own) and only
 * named here. Free cells are a list threaded through the cells themselves. */
#ifndef CAIRN_KVHEAP_H
#define CAIRN_KVHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slab.h"
#include "data/kv.h"

struct mem;

#define KVH_INDIRECT 0x80000000u
/* Bytes before a malloc'd entry: its cell's index. */
#define KVH_PREFIX 4

struct kv_heap {
	struct slab *slab; /* NULL: every entry is malloc's */
	/* A cell in use holds its entry's address; a free one the next free
	 * cell's index + 1, shifted left and tagged with 1. */
	struct kv **cells;
	uint32_t cells_cap, cells_used;
	uint32_t cells_free; /* the first free cell's index + 1, or 0 */
	/* The last entry allocated and its handle: the insert or relink that
	 * follows an allocation does not look its slab page up. */
	const struct kv *last;
	kvh last_h;
};

void kvh_init(struct kv_heap *hp, struct slab *slab);
/* An entry of n bytes, charged to mem (its slab slot, or malloc's). */
static inline struct kv *kvh_alloc(struct kv_heap *hp, struct mem *mem, size_t n);
/* Frees e; returns the bytes it was charged. */
size_t kvh_free(struct kv_heap *hp, struct mem *mem, struct kv *e);
/* Resizes e to n bytes, keeping the first min(old, n); its handle may change. */
struct kv *kvh_resize(struct kv_heap *hp, struct mem *mem, struct kv *e, size_t n);
/* The bytes charged for e. */
size_t kvh_size(const struct kv_heap *hp, const struct kv *e);
/* Whether e is held through a cell (8 bytes more of the heap's). */
bool kvh_indirect(const struct kv_heap *hp, const struct kv *e);
/* e's handle. */
static inline kvh kvh_of(const struct kv_heap *hp, const struct kv *e);
/* What kvh_alloc and kvh_of do past their fast paths. */
struct kv *kvh_alloc_indirect(struct kv_heap *hp, struct mem *mem, size_t n);
kvh kvh_of_slow(const struct kv_heap *hp, const struct kv *e);
/* Frees the cells if no entry holds one. */
void kvh_free_cells(struct kv_heap *hp, struct mem *mem);
/* Bytes of the cells. */
size_t kvh_mem(const struct kv_heap *hp);

/* The entry a handle (not 0) names. */
static inline struct kv *kvh_get(const struct kv_heap *hp, kvh h)
{
	if (__builtin_expect((h & KVH_INDIRECT) != 0, 0))
		return hp->cells[h & ~KVH_INDIRECT];
	return (struct kv *)slab_at(hp->slab, h);
}

/* Inline, as every new key takes this path and the next. */
static inline struct kv *kvh_alloc(struct kv_heap *hp, struct mem *mem, size_t n)
{
	if (SLAB_FOR_ENTRIES && hp->slab != NULL && n <= SLAB_MAX) {
		struct kv *e = (struct kv *)slab_alloc_h(hp->slab, n, &hp->last_h);
		/* NULL: the slab holds all the pages it can name. */
		if (e != NULL) {
			hp->last = e;
			return e;
		}
	}
	return kvh_alloc_indirect(hp, mem, n);
}

static inline kvh kvh_of(const struct kv_heap *hp, const struct kv *e)
{
	if (e == hp->last)
		return hp->last_h;
	return kvh_of_slow(hp, e);
}

#endif
