/* test_hll.c: unit tests of the HyperLogLog representation (node/data/hll.c).
 *
 * Goal: the sparse form and the dense form always hold the same registers:
 * after any sequence of updates, the sparse form converted to dense is byte
 * for byte the dense form updated the same way; the sparse form stays
 * valid (its runs cover exactly 16384 registers) and within
 * hll-sparse-max-bytes until it asks to be promoted; counts stay within the
 * estimator's error (0.81% standard error: we allow 3%) from 10 to 100,000
 * elements; merging gives the count of the union; and a corrupt sparse form
 * is refused, never read past its end. The bytes themselves are checked
 * against redis-server in tests/diff/corpus/hyperloglog.txt.
 *
 * Method: elements "e<i>" are added to a sparse buffer (with the room
 * hll_sparse_set asks for) and to a dense one side by side, promoting the
 * sparse one when told, as cmd_hll.c does, and compared at checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/hll.h"

#define CAP (HLL_HDR_SIZE + HLL_REGISTERS + 64)

struct pair {
	unsigned char sparse[CAP];
	size_t slen;
	bool promoted;
	unsigned char dense[HLL_DENSE_SIZE + 1];
};

static void pair_init(struct pair *p)
{
	unsigned char empty[HLL_EMPTY_SIZE];

	memset(p, 0, sizeof(*p));
	hll_empty(empty);
	memcpy(p->sparse, empty, sizeof(empty));
	p->slen = sizeof(empty);
	assert_true(hll_to_dense(p->sparse, p->slen, p->dense));
	assert_true(hll_valid_header(p->dense, HLL_DENSE_SIZE));
}

/* Adds one element to both; returns whether the sparse side changed. */
static int pair_add(struct pair *p, const char *ele, size_t sparse_max)
{
	long idx;
	uint8_t count;
	int rs, rd;

	hll_pattern(ele, strlen(ele), &idx, &count);
	rd = hll_dense_set(p->dense + HLL_HDR_SIZE, idx, count);
	if (p->promoted) {
		rs = hll_dense_set(p->sparse + HLL_HDR_SIZE, idx, count);
	} else {
		rs = hll_sparse_set(p->sparse, &p->slen, sparse_max, idx, count);
		assert_true(rs >= 0);
		assert_true(p->slen <= sparse_max || rs != 1);
		if (rs == 2) {
			unsigned char tmp[HLL_DENSE_SIZE + 1];
			assert_true(hll_to_dense(p->sparse, p->slen, tmp));
			memcpy(p->sparse, tmp, HLL_DENSE_SIZE);
			p->slen = HLL_DENSE_SIZE;
			p->promoted = true;
			rs = hll_dense_set(p->sparse + HLL_HDR_SIZE, idx, count);
			assert_int_equal(rs, 1);
		}
	}
	assert_int_equal(rs, rd);
	return rs;
}

/* The sparse side, made dense, equals the dense side (but for the header's
 * cache bytes, which only the sparse side invalidates here). */
static void pair_same(struct pair *p)
{
	unsigned char tmp[HLL_DENSE_SIZE + 1];
	bool invalid = false;

	if (p->promoted)
		memcpy(tmp, p->sparse, HLL_DENSE_SIZE);
	else
		assert_true(hll_to_dense(p->sparse, p->slen, tmp));
	assert_memory_equal(tmp + HLL_HDR_SIZE, p->dense + HLL_HDR_SIZE,
			    HLL_DENSE_SIZE - HLL_HDR_SIZE);
	assert_int_equal(hll_count(p->sparse, p->slen, &invalid),
			 hll_count(p->dense, HLL_DENSE_SIZE, &invalid));
	assert_false(invalid);
}

static void test_sparse_matches_dense(void **state)
{
	static struct pair p;
	char ele[32];
	int i;

	(void)state;
	pair_init(&p);
	for (i = 0; i < 20000; i++) {
		snprintf(ele, sizeof(ele), "e%d", i);
		pair_add(&p, ele, 3000);
		if (i % 97 == 0 || i < 50)
			pair_same(&p);
	}
	pair_same(&p);
	assert_true(p.promoted);
}

/* With no room limit the sparse form holds every update itself. */
static void test_sparse_without_limit(void **state)
{
	static struct pair p;
	char ele[32];
	int i;

	(void)state;
	pair_init(&p);
	for (i = 0; i < 3000; i++) {
		snprintf(ele, sizeof(ele), "s%d", i);
		pair_add(&p, ele, (size_t)-1);
	}
	assert_false(p.promoted);
	assert_true(p.slen < CAP);
	pair_same(&p);
}

static void test_accuracy(void **state)
{
	static const int sizes[] = { 10, 100, 1000, 10000, 100000 };
	static struct pair p;
	char ele[32];
	size_t k;
	int i = 0;

	(void)state;
	pair_init(&p);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		bool invalid = false;
		double est, err;
		for (; i < sizes[k]; i++) {
			snprintf(ele, sizeof(ele), "acc:%d", i);
			pair_add(&p, ele, 3000);
		}
		est = (double)hll_count(p.dense, HLL_DENSE_SIZE, &invalid);
		err = (est - sizes[k]) / sizes[k];
		if (err < -0.03 || err > 0.03)
			fail_msg("%d elements: estimate %.0f", sizes[k], est);
	}
}

static void test_merge(void **state)
{
	static struct pair a, b;
	uint8_t max[HLL_REGISTERS] = { 0 };
	char ele[32];
	double est;
	int i;

	(void)state;
	pair_init(&a);
	pair_init(&b);
	for (i = 0; i < 5000; i++) {
		snprintf(ele, sizeof(ele), "m%d", i);
		pair_add(i < 3000 ? &a : &b, ele, 3000);
	}
	assert_true(hll_merge(max, a.sparse, a.slen));
	assert_true(hll_merge(max, b.dense, HLL_DENSE_SIZE));
	est = (double)hll_count_raw(max);
	assert_true(est > 5000 * 0.97 && est < 5000 * 1.03);
}

static void test_corrupt(void **state)
{
	unsigned char h[HLL_EMPTY_SIZE + 4], dense[HLL_DENSE_SIZE + 1];
	uint8_t max[HLL_REGISTERS] = { 0 };
	bool invalid = false;
	size_t len;

	(void)state;
	hll_empty(h);
	/* One register short: XZERO 16383. */
	h[HLL_HDR_SIZE] = 0x40 | 0x3f;
	h[HLL_HDR_SIZE + 1] = 0xfe;
	len = HLL_EMPTY_SIZE;
	assert_true(hll_valid_header(h, len));
	hll_count(h, len, &invalid);
	assert_true(invalid);
	assert_false(hll_to_dense(h, len, dense));
	assert_false(hll_merge(max, h, len));
	assert_int_equal(hll_sparse_set(h, &len, 3000, HLL_REGISTERS - 1, 3), -1);
	/* Too many registers: a VAL run past the end. */
	hll_empty(h);
	h[HLL_HDR_SIZE] = 0x40 | 0x3f;
	h[HLL_HDR_SIZE + 1] = 0xff;
	h[HLL_HDR_SIZE + 2] = 0x83;
	len = HLL_EMPTY_SIZE + 1;
	assert_false(hll_to_dense(h, len, dense));
	assert_false(hll_merge(max, h, len));
	/* Headers: the magic, the encoding, a dense form's exact size. */
	assert_false(hll_valid_header((const unsigned char *)"HYLX", 4));
	memcpy(h, "HYLL", 4);
	h[4] = 2;
	assert_false(hll_valid_header(h, HLL_HDR_SIZE));
	h[4] = HLL_DENSE;
	assert_false(hll_valid_header(h, HLL_HDR_SIZE + 2));
}

static void test_cache(void **state)
{
	unsigned char h[HLL_EMPTY_SIZE];

	(void)state;
	hll_empty(h);
	assert_true(hll_cache_valid(h));
	assert_int_equal(hll_cache_get(h), 0);
	hll_cache_set(h, 0x0123456789abcdull & ~(1ull << 63));
	assert_int_equal(hll_cache_get(h), 0x0123456789abcdull);
	hll_cache_invalidate(h);
	assert_false(hll_cache_valid(h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_matches_dense),
		cmocka_unit_test(test_sparse_without_limit),
		cmocka_unit_test(test_accuracy),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
