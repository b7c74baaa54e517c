/* ttl.c: see ttl.h. */
#include "data/ttl.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "data/kv.h"

/* An empty index gives its array back once it was this big. */
#define TTL_KEEP_CAP 1024

void ttl_init(struct ttl_index *t, struct mem *mem)
{
	memset(t, 0, sizeof(*t));
	t->mem = mem;
}

void ttl_clear(struct ttl_index *t)
{
	mem_free(t->mem, t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

void ttl_add(struct ttl_index *t, struct kv *e, int64_t when)
{
	ASSERT(kv_has_ttl(e));
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		ASSERT(cap > t->cap);
		t->v = mem_realloc(t->mem, t->v, cap * sizeof(*t->v));
		t->cap = cap;
	}
	kv_set_expire_field(e, when);
	kv_set_ttl_pos(e, t->n);
	t->v[t->n++] = e;
}

void ttl_remove(struct ttl_index *t, struct kv *e)
{
	uint32_t pos = kv_ttl_pos(e);

	ASSERT(pos < t->n);
	ASSERT(t->v[pos] == e);
	t->n--;
	if (pos != t->n) {
		t->v[pos] = t->v[t->n];
		kv_set_ttl_pos(t->v[pos], pos);
	}
	if (t->n == 0 && t->cap > TTL_KEEP_CAP)
		ttl_clear(t);
}

void ttl_moved(struct ttl_index *t, struct kv *e)
{
	uint32_t pos = kv_ttl_pos(e);

	ASSERT(kv_has_ttl(e));
	ASSERT(pos < t->n);
	t->v[pos] = e;
}

struct kv *ttl_at(const struct ttl_index *t, uint32_t i)
{
	ASSERT(i < t->n);
	return t->v[i];
}

size_t ttl_mem(const struct ttl_index *t)
{
	return mem_size(t->v);
}
