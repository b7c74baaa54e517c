/* test_kvheap.c: unit tests of node/data/kvheap.c and the slab's handles.
 *
 * Goal: a handle names its entry for as long as the entry lives: a slab
 * handle is the page's id and the slot's offset, with the top bit clear and
 * never 0; an indirect handle is a cell's index with the top bit set, and
 * cells are reused once freed and grow without moving an entry; an entry
 * that outgrows the slab, or that comes once the slab holds all the pages
 * it may (pages_max), is malloc's through a cell; the account returns to
 * zero once every entry is freed.
 *
 * Method: directed tests over a heap with a slab and one without, with
 * pages_max made small to reach the page-id limit; each checks kvh_get of
 * every live handle against the entry's address and its contents, and the
 * account (the slab's pages hold charged objects, the cells are charged)
 * at the end. Under AddressSanitizer entries never go in the slab
 * (SLAB_FOR_ENTRIES is 0): the slab's handles are then tested through the
 * slab itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/slab.h"
#include "data/kvheap.h"

#define N 5000

/* An entry of n bytes whose bytes after the header say id. */
static struct kv *make(struct kv_heap *hp, struct mem *m, size_t n, uint32_t id)
{
	struct kv *e = kvh_alloc(hp, m, n);

	memset(e, 0, sizeof(*e));
	memcpy(e->data, &id, sizeof(id));
	return e;
}

static uint32_t id_of(const struct kv *e)
{
	uint32_t id;

	memcpy(&id, e->data, sizeof(id));
	return id;
}

/* Slab handles: the page id above SLAB_OFF_BITS (from 1), the offset in
 * grains below, resolved back to the object. */
static void test_slab_handles(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	void *p[N];
	uint32_t h[N];
	int i;

	(void)state;
	slab_init(&s, &m);
	for (i = 0; i < N; i++) {
		p[i] = slab_alloc(&s, 44);
		memcpy(p[i], &i, sizeof(i));
		h[i] = slab_handle(&s, p[i]);
		assert_true(h[i] != 0);
		assert_int_equal(h[i] & KVH_INDIRECT, 0);
		assert_true((h[i] >> SLAB_OFF_BITS) >= 1);
		assert_ptr_equal(slab_at(&s, h[i]), p[i]);
	}
	/* 44-byte slots: the first two of a page are 11 grains apart. */
	assert_int_equal(h[1] - h[0], 44 / SLAB_GRAIN);
	assert_true(s.pages > 1);
	for (i = 0; i < N; i++) {
		int v;
		memcpy(&v, slab_at(&s, h[i]), sizeof(v));
		assert_int_equal(v, i);
	}
	for (i = 0; i < N; i++)
		slab_free(&s, p[i]);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

/* A heap without a slab (a big hash's): every entry has a cell, handles are
 * cell indexes in order, freed cells are taken again (last freed first),
 * the cells grow by doubling without moving an entry, and a resize keeps
 * the handle. */
static void test_indirect_cells(void **state)
{
	struct mem m = { 0 };
	struct kv_heap hp;
	struct kv *e[N];
	kvh h[N];
	uint32_t i;

	(void)state;
	kvh_init(&hp, NULL);
	for (i = 0; i < N; i++) {
		e[i] = make(&hp, &m, 40, i);
		h[i] = kvh_of(&hp, e[i]);
		assert_int_equal(h[i], KVH_INDIRECT | i);
		assert_true(kvh_indirect(&hp, e[i]));
		if (i == 15 || i == 16)
			assert_int_equal(hp.cells_cap, i == 15 ? 16 : 32);
	}
	assert_int_equal(hp.cells_used, N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(kvh_get(&hp, h[i]), e[i]);
	/* Freed cells come back, the last freed first. */
	kvh_free(&hp, &m, e[10]);
	kvh_free(&hp, &m, e[20]);
	e[20] = make(&hp, &m, 40, 20);
	e[10] = make(&hp, &m, 40, 10);
	assert_int_equal(kvh_of(&hp, e[20]), KVH_INDIRECT | 20);
	assert_int_equal(kvh_of(&hp, e[10]), KVH_INDIRECT | 10);
	/* A resize may move the entry; its cell, and so its handle, stay. */
	e[7] = kvh_resize(&hp, &m, e[7], 4000);
	assert_int_equal(kvh_of(&hp, e[7]), h[7]);
	assert_ptr_equal(kvh_get(&hp, h[7]), e[7]);
	assert_int_equal(id_of(e[7]), 7);
	assert_true(kvh_size(&hp, e[7]) >= 4000);
	for (i = 0; i < N; i++) {
		assert_int_equal(id_of(kvh_get(&hp, h[i])), i);
		kvh_free(&hp, &m, e[i]);
	}
	assert_int_equal(hp.cells_used, 0);
	assert_int_equal(m.used, kvh_mem(&hp));
	kvh_free_cells(&hp, &m);
	assert_int_equal(m.used, 0);
}

/* A heap with a slab: small entries get slab handles, big ones cells; an
 * entry resized across SLAB_MAX changes kind and handle. */
static void test_slab_and_cells(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	struct kv_heap hp;
	struct kv *a, *b;

	(void)state;
	slab_init(&s, &m);
	kvh_init(&hp, &s);
	a = make(&hp, &m, 44, 1);
	b = make(&hp, &m, SLAB_MAX + 1, 2);
	assert_true(kvh_indirect(&hp, b));
	assert_int_equal(kvh_of(&hp, b) & KVH_INDIRECT, KVH_INDIRECT);
	if (SLAB_FOR_ENTRIES) {
		assert_false(kvh_indirect(&hp, a));
		assert_int_equal(kvh_of(&hp, a), slab_handle(&s, a));
		assert_int_equal(kvh_size(&hp, a), 44);
	}
	assert_ptr_equal(kvh_get(&hp, kvh_of(&hp, a)), a);
	assert_ptr_equal(kvh_get(&hp, kvh_of(&hp, b)), b);
	/* Across SLAB_MAX, both ways. */
	a = kvh_resize(&hp, &m, a, SLAB_MAX + 100);
	assert_true(kvh_indirect(&hp, a));
	b = kvh_resize(&hp, &m, b, 20);
	assert_int_equal(kvh_indirect(&hp, b), !SLAB_FOR_ENTRIES);
	assert_int_equal(id_of(a), 1);
	assert_int_equal(id_of(b), 2);
	assert_ptr_equal(kvh_get(&hp, kvh_of(&hp, a)), a);
	assert_ptr_equal(kvh_get(&hp, kvh_of(&hp, b)), b);
	kvh_free(&hp, &m, a);
	kvh_free(&hp, &m, b);
	kvh_free_cells(&hp, &m);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

/* Once the slab holds pages_max pages, new entries are malloc's through
 * cells, and they resolve like any other; once pages are free again the
 * slab takes new entries back. */
static void test_page_limit(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	struct kv_heap hp;
	struct kv *e[N];
	kvh h[N];
	uint32_t i, indirect = 0;

	(void)state;
	slab_init(&s, &m);
	s.pages_max = 2;
	kvh_init(&hp, &s);
	for (i = 0; i < N; i++) {
		e[i] = make(&hp, &m, 44, i);
		h[i] = kvh_of(&hp, e[i]);
		indirect += (h[i] & KVH_INDIRECT) != 0;
	}
	assert_true(s.pages <= 2);
	/* Two pages of 44-byte slots hold under 3,000 entries: the rest are
	 * malloc's. */
	if (SLAB_FOR_ENTRIES) {
		assert_int_equal(s.pages, 2);
		assert_true(indirect > 0);
		assert_true(N - indirect <= 2 * SLAB_PAGE_BYTES / 44);
		assert_true(N - indirect > 2 * (SLAB_PAGE_BYTES - 128) / 44);
	} else {
		assert_int_equal(indirect, N);
	}
	for (i = 0; i < N; i++) {
		assert_ptr_equal(kvh_get(&hp, h[i]), e[i]);
		assert_int_equal(id_of(e[i]), i);
	}
	for (i = 0; i < N; i++)
		kvh_free(&hp, &m, e[i]);
	e[0] = make(&hp, &m, 44, 0);
	assert_int_equal(kvh_indirect(&hp, e[0]), !SLAB_FOR_ENTRIES);
	kvh_free(&hp, &m, e[0]);
	kvh_free_cells(&hp, &m);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

/* The slab alone at its limit: slab_alloc says NULL rather than taking a
 * page it could not name. */
static void test_slab_page_limit(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	void *p[2];

	(void)state;
	slab_init(&s, &m);
	s.pages_max = 1;
	p[0] = slab_alloc(&s, 100);
	assert_non_null(p[0]);
	assert_null(slab_alloc(&s, 200)); /* another size: another page */
	assert_int_equal(s.pages, 1);
	slab_free(&s, p[0]);
	slab_trim(&s);
	p[1] = slab_alloc(&s, 200);
	assert_non_null(p[1]);
	slab_free(&s, p[1]);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slab_handles),    cmocka_unit_test(test_indirect_cells),
		cmocka_unit_test(test_slab_and_cells),  cmocka_unit_test(test_page_limit),
		cmocka_unit_test(test_slab_page_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
