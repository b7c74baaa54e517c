/* kvheap.c: see kvheap.h. */
#include "data/kvheap.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

/* The most cells: their indexes take the 31 bits below KVH_INDIRECT. */
#define KVH_CELLS_MAX KVH_INDIRECT

void kvh_init(struct kv_heap *hp, struct slab *slab)
{
	memset(hp, 0, sizeof(*hp));
	hp->slab = slab;
}

/* ---- cells ---- */

static struct kv *free_mark(uint32_t next)
{
	return (struct kv *)(((uintptr_t)next << 1) | 1);
}

/* Doubles the cells, the new ones free (pushed highest first, so they are
 * taken in order). */
static void cells_grow(struct kv_heap *hp, struct mem *mem)
{
	uint32_t old = hp->cells_cap, cap = old ? old * 2 : 16, i;

	ASSERT(old < KVH_CELLS_MAX);
	hp->cells = mem_realloc(mem, hp->cells, (size_t)cap * sizeof(*hp->cells));
	for (i = cap; i > old; i--) {
		hp->cells[i - 1] = free_mark(hp->cells_free);
		hp->cells_free = i;
	}
	hp->cells_cap = cap;
}

static uint32_t cell_take(struct kv_heap *hp, struct mem *mem)
{
	uint32_t c;

	if (hp->cells_free == 0)
		cells_grow(hp, mem);
	c = hp->cells_free - 1;
	hp->cells_free = (uint32_t)((uintptr_t)hp->cells[c] >> 1);
	hp->cells_used++;
	return c;
}

static void cell_give(struct kv_heap *hp, uint32_t c)
{
	ASSERT(c < hp->cells_cap && hp->cells_used > 0);
	hp->cells[c] = free_mark(hp->cells_free);
	hp->cells_free = c + 1;
	hp->cells_used--;
}

void kvh_free_cells(struct kv_heap *hp, struct mem *mem)
{
	/* Entries outside the table may still hold cells (a test's, or one
	 * unlinked and not yet freed): the cells stay until a later call. */
	if (hp->cells_used != 0)
		return;
	mem_free(mem, hp->cells);
	kvh_init(hp, hp->slab);
}

size_t kvh_mem(const struct kv_heap *hp)
{
	return mem_size(hp->cells);
}

/* ---- entries ---- */

static char *base_of(const struct kv *e)
{
	return (char *)e - KVH_PREFIX;
}

static uint32_t cell_of(const struct kv *e)
{
	uint32_t c;

	memcpy(&c, base_of(e), sizeof(c));
	return c;
}

static bool in_slab(const struct kv_heap *hp, const struct kv *e)
{
	return hp->slab != NULL && slab_owns(hp->slab, e);
}

bool kvh_indirect(const struct kv_heap *hp, const struct kv *e)
{
	return !in_slab(hp, e);
}

/* Whether an entry of n bytes goes in the slab. */
static bool slab_fits(const struct kv_heap *hp, size_t n)
{
	return SLAB_FOR_ENTRIES && hp->slab != NULL && n <= SLAB_MAX;
}

/* A malloc'd entry with a cell of its own. */
struct kv *kvh_alloc_indirect(struct kv_heap *hp, struct mem *mem, size_t n)
{
	char *base = mem_alloc(mem, n + KVH_PREFIX);
	uint32_t c = cell_take(hp, mem);
	struct kv *e = (struct kv *)(base + KVH_PREFIX);

	memcpy(base, &c, sizeof(c));
	hp->cells[c] = e;
	hp->last = e;
	hp->last_h = KVH_INDIRECT | c;
	return e;
}

size_t kvh_free(struct kv_heap *hp, struct mem *mem, struct kv *e)
{
	size_t n = 0;

	if (hp->last == e)
		hp->last = NULL;
	if (hp->slab != NULL)
		n = slab_try_free(hp->slab, e);
	if (n != 0)
		return n;
	n = mem_size(base_of(e));
	cell_give(hp, cell_of(e));
	mem_free(mem, base_of(e));
	return n;
}

size_t kvh_size(const struct kv_heap *hp, const struct kv *e)
{
	size_t n = hp->slab != NULL ? slab_owned_size(hp->slab, e) : 0;

	return n != 0 ? n : mem_size(base_of(e));
}

struct kv *kvh_resize(struct kv_heap *hp, struct mem *mem, struct kv *e, size_t n)
{
	size_t have = hp->slab != NULL ? slab_owned_size(hp->slab, e) : 0;
	bool slab_now = have != 0;
	struct kv *q;

	if (!slab_now && !slab_fits(hp, n)) {
		/* Stays malloc's: the same cell, pointing at the new address. */
		uint32_t c = cell_of(e);
		char *base = mem_realloc(mem, base_of(e), n + KVH_PREFIX);
		q = (struct kv *)(base + KVH_PREFIX);
		hp->cells[c] = q;
		hp->last = q;
		hp->last_h = KVH_INDIRECT | c;
		return q;
	}
	if (!slab_now)
		have = mem_size(base_of(e)) - KVH_PREFIX;
	if (slab_now && slab_fits(hp, n) && slab_round(n) == have)
		return e;
	q = kvh_alloc(hp, mem, n);
	memcpy(q, e, have < n ? have : n);
	kvh_free(hp, mem, e);
	return q;
}

kvh kvh_of_slow(const struct kv_heap *hp, const struct kv *e)
{
	if (in_slab(hp, e))
		return slab_handle(hp->slab, e);
	return KVH_INDIRECT | cell_of(e);
}
