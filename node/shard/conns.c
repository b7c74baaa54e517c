/* conns.c: see conns.h. */
#include "shard/conns.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "shard/ud.h"

/* Pushes the entries [from, to) on the free list, lowest on top. */
static void push_free(struct conns *t, uint32_t from, uint32_t to)
{
	uint32_t i;

	for (i = to; i > from; i--)
		t->free_idx[t->nfree++] = i - 1;
}

void conns_init(struct conns *t, struct mem *mem, uint32_t cap)
{
	ASSERT(cap >= 1);
	ASSERT(cap <= UD_IDX_MAX);
	memset(t, 0, sizeof(*t));
	t->mem = mem;
	t->cap = cap;
	t->tab = mem_calloc(mem, cap * sizeof(*t->tab));
	t->gens = mem_calloc(mem, cap * sizeof(*t->gens));
	t->free_idx = mem_alloc(mem, cap * sizeof(*t->free_idx));
	push_free(t, 0, cap);
}

void conns_free(struct conns *t)
{
	ASSERT(t->n == 0);
	ASSERT(t->nfree == t->cap);
	mem_free(t->mem, t->tab);
	mem_free(t->mem, t->gens);
	mem_free(t->mem, t->free_idx);
	memset(t, 0, sizeof(*t));
}

void conns_grow(struct conns *t, uint32_t cap)
{
	uint32_t old = t->cap, nfree;

	if (cap <= old)
		return;
	ASSERT(cap <= UD_IDX_MAX);
	t->tab = mem_realloc(t->mem, t->tab, cap * sizeof(*t->tab));
	t->gens = mem_realloc(t->mem, t->gens, cap * sizeof(*t->gens));
	t->free_idx = mem_realloc(t->mem, t->free_idx, cap * sizeof(*t->free_idx));
	memset(t->tab + old, 0, (cap - old) * sizeof(*t->tab));
	memset(t->gens + old, 0, (cap - old) * sizeof(*t->gens));
	/* New entries go under the existing free ones: lower entries are
	 * reused first either way. */
	memmove(t->free_idx + (cap - old), t->free_idx, t->nfree * sizeof(*t->free_idx));
	nfree = t->nfree;
	t->nfree = 0;
	push_free(t, old, cap);
	ASSERT(t->nfree == cap - old);
	t->nfree += nfree;
	t->cap = cap;
}

bool conns_take(struct conns *t, uint32_t *idx, uint32_t *gen)
{
	uint32_t i;

	if (t->nfree == 0)
		return false;
	i = t->free_idx[--t->nfree];
	ASSERT(i < t->cap);
	ASSERT(t->tab[i] == NULL);
	*idx = i;
	*gen = t->gens[i];
	return true;
}

void conns_set(struct conns *t, uint32_t idx, struct conn *c)
{
	ASSERT(idx < t->cap);
	ASSERT(t->tab[idx] == NULL);
	ASSERT(c != NULL);
	t->tab[idx] = c;
	t->n++;
}

void conns_release(struct conns *t, uint32_t idx)
{
	ASSERT(idx < t->cap);
	ASSERT(t->tab[idx] != NULL);
	ASSERT(t->n > 0);
	t->tab[idx] = NULL;
	t->gens[idx] = (t->gens[idx] + 1) & UD_GEN_MASK;
	t->free_idx[t->nfree++] = idx;
	t->n--;
	ASSERT(t->nfree <= t->cap);
}

struct conn *conns_at(const struct conns *t, uint32_t idx)
{
	ASSERT(idx < t->cap);
	return t->tab[idx];
}
