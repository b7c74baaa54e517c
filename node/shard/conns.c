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

/* Ids are sequential per shard (a stride of the shard count): mixed,
 * they spread over the index (splitmix64's finalizer). */
static uint32_t id_slot(const struct conns *t, uint64_t id)
{
	id ^= id >> 30;
	id *= 0xbf58476d1ce4e5b9ull;
	id ^= id >> 27;
	id *= 0x94d049bb133111ebull;
	id ^= id >> 31;
	return (uint32_t)id & t->mask;
}

static void id_insert(struct conns *t, uint32_t idx)
{
	uint32_t i = id_slot(t, t->ids[idx]);

	while (t->byid[i] != 0)
		i = (i + 1) & t->mask;
	t->byid[i] = idx + 1;
}

/* An index twice the table's entries or more, rebuilt from them. */
static void id_rebuild(struct conns *t)
{
	uint32_t slots = 2, i;

	while (slots < 2 * t->cap)
		slots *= 2;
	mem_free(t->mem, t->byid);
	t->byid = mem_calloc(t->mem, slots * sizeof(*t->byid));
	t->mask = slots - 1;
	for (i = 0; i < t->cap; i++)
		if (t->tab[i] != NULL)
			id_insert(t, i);
}

/* Removes entry idx from the index, shifting back the entries after it
 * that would no longer be found (linear probing's deletion). */
static void id_remove(struct conns *t, uint32_t idx)
{
	uint32_t i = id_slot(t, t->ids[idx]), j;

	while (t->byid[i] != idx + 1) {
		ASSERT(t->byid[i] != 0);
		i = (i + 1) & t->mask;
	}
	t->byid[i] = 0;
	for (j = (i + 1) & t->mask; t->byid[j] != 0; j = (j + 1) & t->mask) {
		uint32_t home = id_slot(t, t->ids[t->byid[j] - 1]);
		/* Moves back unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			t->byid[i] = t->byid[j];
			t->byid[j] = 0;
			i = j;
		}
	}
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
	t->ids = mem_calloc(mem, cap * sizeof(*t->ids));
	push_free(t, 0, cap);
	id_rebuild(t);
}

void conns_free(struct conns *t)
{
	ASSERT(t->n == 0);
	ASSERT(t->nfree == t->cap);
	mem_free(t->mem, t->tab);
	mem_free(t->mem, t->gens);
	mem_free(t->mem, t->free_idx);
	mem_free(t->mem, t->ids);
	mem_free(t->mem, t->byid);
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
	t->ids = mem_realloc(t->mem, t->ids, cap * sizeof(*t->ids));
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
	id_rebuild(t);
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

void conns_set(struct conns *t, uint32_t idx, struct conn *c, uint64_t id)
{
	ASSERT(idx < t->cap);
	ASSERT(t->tab[idx] == NULL);
	ASSERT(c != NULL);
	t->tab[idx] = c;
	t->ids[idx] = id;
	id_insert(t, idx);
	t->n++;
}

void conns_release(struct conns *t, uint32_t idx)
{
	ASSERT(idx < t->cap);
	ASSERT(t->tab[idx] != NULL);
	ASSERT(t->n > 0);
	id_remove(t, idx);
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

struct conn *conns_find_id(const struct conns *t, uint64_t id)
{
	uint32_t i = id_slot(t, id);

	for (; t->byid[i] != 0; i = (i + 1) & t->mask)
		if (t->ids[t->byid[i] - 1] == id)
			return t->tab[t->byid[i] - 1];
	return NULL;
}
