/* val.c: refcounted value buffers. See val.h. */
#include "base/val.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

struct val *val_new(size_t cap)
{
	struct val *v;

	ASSERT(cap >= 2);
	ASSERT(cap <= (size_t)PROTO_BULK_MAX_MAX + 2);
	v = malloc(sizeof(*v) + cap);
	if (v == NULL)
		abort(); /* as mem.c: out of memory is fatal */
	atomic_init(&v->refs, 1);
	v->len = 0;
	v->cap = (uint32_t)cap;
	return v;
}

struct val *val_copy(const char *p, size_t n)
{
	struct val *v = val_new(n + 2);
	memcpy(v->data, p, n);
	val_seal(v, n);
	return v;
}

struct val *val_grow(struct val *v, size_t cap)
{
	ASSERT(atomic_load_explicit(&v->refs, memory_order_relaxed) == 1);
	ASSERT(cap >= v->cap);
	ASSERT(cap <= (size_t)PROTO_BULK_MAX_MAX + 2);
	v = realloc(v, sizeof(*v) + cap);
	if (v == NULL)
		abort();
	v->cap = (uint32_t)cap;
	return v;
}

void val_seal(struct val *v, size_t len)
{
	ASSERT(len + 2 <= v->cap);
	v->len = (uint32_t)len;
	v->data[len] = '\r';
	v->data[len + 1] = '\n';
}

struct val *val_ref(struct val *v)
{
	unsigned old = atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
	ASSERT(old > 0);
	return v;
}

void val_unref(struct val *v)
{
	unsigned old;

	if (v == NULL)
		return;
	old = atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel);
	ASSERT(old > 0);
	if (old == 1)
		free(v);
}

size_t val_size(const struct val *v)
{
	return malloc_usable_size((void *)v);
}
