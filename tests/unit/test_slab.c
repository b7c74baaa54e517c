/* test_slab.c: unit tests of node/base/slab.c.
 *
 * Goal: objects of every size up to SLAB_MAX get slots of the size rounded
 * to SLAB_GRAIN, never overlapping, keeping their bytes until freed; the
 * account holds exactly the slots in use (plus the page set); the slab
 * tells its objects from malloc's; empty pages go (all but one per size,
 * and that one at slab_trim), so the pages held follow the objects.
 *
 * Method: directed tests pin the rounding, the account and the page
 * lifecycle; a random test (fixed-seed xorshift, 200k operations over up
 * to 20,000 live objects of random sizes) fills each object with a pattern
 * of its own and checks every pattern, the account and slab_owns against
 * a model array before each free and at the end, then frees everything
 * and checks that the account and the pages return to zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/slab.h"

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void test_rounding_and_account(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	void *a, *b, *c;

	(void)state;
	slab_init(&s, &m);
	a = slab_alloc(&s, 1);
	b = slab_alloc(&s, 56);
	c = slab_alloc(&s, SLAB_MAX);
	assert_int_equal(slab_size(&s, a), SLAB_GRAIN);
	assert_int_equal(slab_size(&s, b), 56);
	assert_int_equal(slab_size(&s, c), SLAB_MAX);
	assert_int_equal(slab_round(57), 60);
	assert_int_equal(slab_round(44), 44);
	assert_int_equal(m.used, SLAB_GRAIN + 56 + SLAB_MAX + slab_mem(&s));
	assert_int_equal(s.pages, 3);
	assert_true(slab_owns(&s, a) && slab_owns(&s, b) && slab_owns(&s, c));
	slab_free(&s, a);
	slab_free(&s, b);
	slab_free(&s, c);
	/* Each size keeps its one page until trimmed. */
	assert_int_equal(s.pages, 3);
	assert_int_equal(m.used, slab_mem(&s));
	slab_trim(&s);
	assert_int_equal(s.pages, 0);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

/* malloc's pointers are not the slab's, and slab_mem_size/free route each
 * to its owner. */
static void test_owns(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	void *p, *q;

	(void)state;
	slab_init(&s, &m);
	q = mem_alloc(&m, 40);
	assert_false(slab_owns(&s, q));
	p = slab_alloc(&s, 40);
	assert_true(slab_owns(&s, p));
	assert_false(slab_owns(&s, q));
	assert_false(slab_owns(&s, NULL));
	assert_int_equal(slab_mem_size(&s, p), 40);
	assert_int_equal(slab_mem_size(&s, q), mem_size(q));
	assert_int_equal(slab_owned_size(&s, p), 40);
	assert_int_equal(slab_owned_size(&s, q), 0);
	assert_int_equal(slab_try_free(&s, q), 0); /* malloc's: left alone */
	slab_mem_free(&s, &m, p);
	p = slab_alloc(&s, 40);
	assert_int_equal(slab_try_free(&s, p), 40);
	slab_mem_free(&s, &m, q);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
}

/* slab_try_free of a page's last object frees the page (another of its
 * size has room) and still returns the slot size (under AddressSanitizer a
 * read of the freed page would show). */
static void test_try_free_pages(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	enum { N = 5000 };
	void **v = calloc(N, sizeof(*v));
	int i;

	(void)state;
	assert_non_null(v);
	slab_init(&s, &m);
	for (i = 0; i < N; i++)
		v[i] = slab_alloc(&s, 40);
	assert_true(s.pages >= 3);
	for (i = 0; i < N; i++)
		assert_int_equal(slab_try_free(&s, v[i]), 40);
	assert_int_equal(s.pages, 1);
	slab_trim(&s);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
	free(v);
}

/* A page of one size fills, a second page opens, and when the first
 * empties while the second has room, the first goes. */
static void test_pages_follow_objects(void **state)
{
	struct mem m = { 0 };
	struct slab s;
	void **v;
	unsigned i, per = 0, n;

	(void)state;
	slab_init(&s, &m);
	/* Fill until a second page opens. */
	v = calloc(10000, sizeof(*v));
	for (n = 0; s.pages < 2; n++) {
		v[n] = slab_alloc(&s, 256);
		if (s.pages == 1)
			per = n + 1;
	}
	assert_true(per > 200);
	assert_int_equal(n, per + 1);
	/* Free the first page's objects: it goes, the second stays. */
	for (i = 0; i < per; i++)
		slab_free(&s, v[i]);
	assert_int_equal(s.pages, 1);
	assert_int_equal(m.used, 256 + slab_mem(&s));
	slab_free(&s, v[per]);
	assert_int_equal(s.pages, 1);
	slab_trim(&s);
	assert_int_equal(s.pages, 0);
	assert_int_equal(m.used, 0);
	free(v);
	slab_destroy(&s);
}

struct obj {
	unsigned char *p;
	size_t n;
	unsigned char fill;
};

static void check_obj(const struct slab *s, const struct obj *o)
{
	size_t i;

	assert_true(slab_owns(s, o->p));
	assert_int_equal(slab_size(s, o->p), slab_round(o->n));
	for (i = 0; i < o->n; i++)
		if (o->p[i] != o->fill)
			fail_msg("object of %zu bytes changed at byte %zu", o->n, i);
}

static void test_random(void **state)
{
	enum { LIVE = 20000, OPS = 200000 };
	struct obj *live = calloc(LIVE, sizeof(*live));
	struct mem m = { 0 };
	struct slab s;
	uint64_t x = 0x5eed, want = 0;
	unsigned n = 0, i, k;

	(void)state;
	slab_init(&s, &m);
	for (i = 0; i < OPS; i++) {
		bool add = n == 0 || (n < LIVE && xorshift(&x) % 100 < 55);
		if (add) {
			struct obj *o = &live[n++];
			o->n = 1 + xorshift(&x) % SLAB_MAX;
			o->p = slab_alloc(&s, o->n);
			o->fill = (unsigned char)xorshift(&x);
			memset(o->p, o->fill, o->n);
			want += slab_round(o->n);
		} else {
			k = (unsigned)(xorshift(&x) % n);
			check_obj(&s, &live[k]);
			want -= slab_round(live[k].n);
			slab_free(&s, live[k].p);
			live[k] = live[--n];
		}
		if (i % 10000 == 0)
			assert_int_equal(m.used, want + slab_mem(&s));
	}
	for (k = 0; k < n; k++)
		check_obj(&s, &live[k]);
	assert_int_equal(m.used, want + slab_mem(&s));
	/* No more pages than the objects need, give or take one per size. */
	assert_true(slab_page_bytes(&s) <= want * 2 + (uint64_t)SLAB_CLASSES * SLAB_PAGE_BYTES);
	for (k = 0; k < n; k++)
		slab_free(&s, live[k].p);
	slab_trim(&s);
	assert_int_equal(s.pages, 0);
	assert_int_equal(m.used, 0);
	slab_destroy(&s);
	free(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounding_and_account),
		cmocka_unit_test(test_owns),
		cmocka_unit_test(test_try_free_pages),
		cmocka_unit_test(test_pages_follow_objects),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
