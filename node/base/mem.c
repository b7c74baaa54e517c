/* mem.c: accounted allocation over the C allocator. See mem.h. */
#include "base/mem.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

static void *checked(void *p, size_t n)
{
	/* Out of memory is not survivable (see mem.h). */
	if (p == NULL && n > 0)
		abort();
	return p;
}

static void account(struct mem *m, size_t n)
{
	m->used += n;
	if (m->used > m->peak && !m->delta)
		m->peak = m->used;
}

void *mem_alloc(struct mem *m, size_t n)
{
	void *p = checked(malloc(n ? n : 1), n);
	account(m, malloc_usable_size(p));
	return p;
}

void *mem_try_alloc(struct mem *m, size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p != NULL)
		account(m, malloc_usable_size(p));
	return p;
}

void *mem_calloc(struct mem *m, size_t n)
{
	void *p = checked(calloc(1, n ? n : 1), n);
	account(m, malloc_usable_size(p));
	return p;
}

void *mem_realloc(struct mem *m, void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = checked(realloc(p, n ? n : 1), n);

	ASSERT(m->delta || m->used >= old);
	m->used -= old;
	account(m, malloc_usable_size(q));
	return q;
}

void mem_free(struct mem *m, void *p)
{
	if (p == NULL)
		return;
	size_t n = malloc_usable_size(p);
	ASSERT(m->delta || m->used >= n);
	m->used -= n;
	free(p);
}

size_t mem_size(const void *p)
{
	return p ? malloc_usable_size((void *)p) : 0;
}

void mem_charge(struct mem *m, size_t n)
{
	account(m, n);
}

void mem_uncharge(struct mem *m, size_t n)
{
	ASSERT(m->delta || m->used >= n);
	m->used -= n;
}

void mem_fold(struct mem *m, struct mem *d)
{
	ASSERT(d->delta && !m->delta);
	account(m, d->used);
	d->used = 0;
}
