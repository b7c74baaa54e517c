/* test_zbtree.c: unit tests of a big sorted set's encoding (node/data/
 * zbtree.c, the order-statistic B+tree, and node/data/zmap.c, its member
 * index).
 *
 * Goal: the tree keeps its entries in (score, member) order with exact
 * subtree counts, so ranks, positions and range bounds are right in O(log
 * n); inserts, deletes and score updates keep every invariant (zbt_check:
 * the order, the counts, the separators' bounds, the fill of every node,
 * the leaf links, the index holding exactly the tree's entries, the byte
 * count) through splits, merges and rebalancing; bulk loading (staging and
 * COPY) builds valid full trees; the index finds every member across its
 * incremental resizes, and its scan returns every member present for the
 * whole scan at least once while members come and go; and every byte goes
 * back to the account, also when the tree is freed in the background's
 * bounded steps.
 *
 * Method: directed tests pin sequential loads (ascending and descending),
 * equal scores ordered by member, long members, staging and duplication;
 * then thousands of random operations (fixed-seed xorshift) against a model
 * kept as a sorted array, comparing every rank, seek and range count with
 * the model and running the check every few operations; a scan test
 * interleaves scan steps with inserts and deletes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/zbtree.h"
#include "data/zmap.h"

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define CHECK(t) assert_true(zbt_check(t))

/* ---- the model: a sorted array of (score, member) ---- */

struct item {
	double score;
	char m[48];
	size_t len;
};

struct model {
	struct item *a;
	size_t n, cap;
};

static int item_cmp(const struct item *x, double score, const char *m, size_t len)
{
	int c;

	if (x->score != score)
		return x->score < score ? -1 : 1;
	c = memcmp(x->m, m, x->len < len ? x->len : len);
	if (c != 0)
		return c;
	return x->len < len ? -1 : x->len > len ? 1 : 0;
}

/* Index of the first item not before (score, m). */
static size_t model_lower(const struct model *md, double score, const char *m, size_t len)
{
	size_t lo = 0, hi = md->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (item_cmp(&md->a[mid], score, m, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void model_add(struct model *md, double score, const char *m, size_t len)
{
	size_t i = model_lower(md, score, m, len);

	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 64;
		md->a = realloc(md->a, md->cap * sizeof(*md->a));
		assert_non_null(md->a);
	}
	memmove(&md->a[i + 1], &md->a[i], (md->n - i) * sizeof(*md->a));
	md->a[i].score = score;
	memcpy(md->a[i].m, m, len);
	md->a[i].len = len;
	md->n++;
}

static void model_del(struct model *md, size_t i)
{
	memmove(&md->a[i], &md->a[i + 1], (md->n - i - 1) * sizeof(*md->a));
	md->n--;
}

/* The model's index of member m, or -1. */
static long model_find(const struct model *md, const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < md->n; i++)
		if (md->a[i].len == len && memcmp(md->a[i].m, m, len) == 0)
			return (long)i;
	return -1;
}

/* ---- helpers ---- */

static struct zbtree *tree_new(struct mem *mem)
{
	struct zbtree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	zbt_init(t, mem, 0x5eed);
	return t;
}

static void tree_done(struct zbtree *t, struct mem *mem)
{
	zbt_free(t);
	assert_int_equal(zbt_len(t), 0);
	assert_int_equal(mem->used, 0);
	free(t);
}

static size_t name(char *buf, uint64_t i)
{
	return (size_t)snprintf(buf, 32, "member:%llu", (unsigned long long)i);
}

/* Walks the whole tree in order and compares it with the model. */
static void compare_all(const struct zbtree *t, const struct model *md)
{
	struct zbt_pos p;
	size_t i = 0, len;

	assert_int_equal(zbt_len(t), md->n);
	for (zbt_seek(t, 0, &p); p.leaf != NULL; zbt_next(&p), i++) {
		const char *s = zent_str(zbt_at(&p), &len);
		assert_true(i < md->n);
		assert_true(zbt_at(&p)->score == md->a[i].score);
		assert_int_equal(len, md->a[i].len);
		assert_memory_equal(s, md->a[i].m, len);
	}
	assert_int_equal(i, md->n);
}

/* ---- directed tests ---- */

static void test_sequential(void **state)
{
	struct mem mem = { 0 };
	struct zbtree *t = tree_new(&mem);
	struct zbt_pos p;
	char buf[32];
	uint64_t i, n = 20000;

	(void)state;
	for (i = 0; i < n; i++) {
		size_t len = name(buf, i);
		zbt_add(t, buf, len, (double)i);
	}
	CHECK(t);
	/* In order, all but the rightmost leaves are full. */
	assert_true(t->bytes < n * (24 + 10));
	for (i = 0; i < n; i += 997) {
		size_t len = name(buf, i);
		struct zent *e = zbt_find(t, buf, len);
		assert_non_null(e);
		assert_int_equal(zbt_rank(t, e), i);
		zbt_seek(t, i, &p);
		assert_ptr_equal(zbt_at(&p), e);
	}
	zbt_seek(t, n, &p);
	assert_null(p.leaf);
	/* Descending inserts, then delete everything from the front. */
	for (i = 0; i < n; i++) {
		size_t len = name(buf, 1000000 - i);
		zbt_add(t, buf, len, -(double)i);
	}
	CHECK(t);
	for (i = 0; i < 2 * n; i++) {
		zbt_seek(t, 0, &p);
		zbt_del(t, zbt_at(&p));
		if (i % 1000 == 0)
			CHECK(t);
	}
	CHECK(t);
	assert_int_equal(zbt_len(t), 0);
	tree_done(t, &mem);
}

static void test_equal_scores(void **state)
{
	struct mem mem = { 0 };
	struct zbtree *t = tree_new(&mem);
	struct zbt_pos p;
	char buf[32];
	int i;

	(void)state;
	/* Equal scores order by member bytes: "member:10" < "member:2". */
	for (i = 0; i < 500; i++)
		zbt_add(t, buf, name(buf, (uint64_t)i), 1.0);
	CHECK(t);
	zbt_seek(t, 0, &p);
	assert_memory_equal(zbt_at(&p)->data + 1, "member:0", 8);
	zbt_next(&p);
	assert_memory_equal(zbt_at(&p)->data + 1, "member:1", 8);
	zbt_next(&p);
	assert_memory_equal(zbt_at(&p)->data + 1, "member:10", 9);
	/* A score change moves a member; -0 and 0 compare equal. */
	zbt_set_score(t, zbt_find(t, "member:1", 8), -0.0);
	assert_int_equal(zbt_rank(t, zbt_find(t, "member:1", 8)), 0);
	zbt_set_score(t, zbt_find(t, "member:1", 8), 0.0);
	assert_int_equal(zbt_rank(t, zbt_find(t, "member:1", 8)), 0);
	zbt_set_score(t, zbt_find(t, "member:0", 8), 2.0);
	assert_int_equal(zbt_rank(t, zbt_find(t, "member:0", 8)), 499);
	CHECK(t);
	tree_done(t, &mem);
}

static void test_long_members(void **state)
{
	struct mem mem = { 0 };
	struct zbtree *t = tree_new(&mem);
	char *big = malloc(70000);
	struct zent *e;
	size_t len;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 70000);
	zbt_add(t, big, 254, 1);
	zbt_add(t, big, 255, 1);
	zbt_add(t, big, 70000, 1);
	zbt_add(t, "", 0, 1);
	e = zbt_find(t, big, 255);
	assert_non_null(e);
	zent_str(e, &len);
	assert_int_equal(len, 255);
	assert_int_equal(zbt_rank(t, e), 2);
	assert_int_equal(zbt_rank(t, zbt_find(t, "", 0)), 0);
	assert_int_equal(zbt_rank(t, zbt_find(t, big, 70000)), 3);
	assert_null(zbt_find(t, big, 256));
	CHECK(t);
	free(big);
	tree_done(t, &mem);
}

static void test_stage_and_dup(void **state)
{
	struct mem mem = { 0 }, mem2 = { 0 };
	struct zbtree *t = tree_new(&mem), *d = tree_new(&mem2);
	uint64_t x = 99, i;
	char buf[32];

	(void)state;
	for (i = 0; i < 5000; i++)
		zbt_stage(t, buf, name(buf, i), (double)(xorshift(&x) % 100));
	/* Scores of staged members may change in place before the commit. */
	zbt_find(t, "member:7", 8)->score = -1;
	zbt_commit(t);
	CHECK(t);
	assert_int_equal(zbt_rank(t, zbt_find(t, "member:7", 8)), 0);
	zbt_dup(d, t);
	CHECK(d);
	for (i = 0; i < 5000; i += 101) {
		size_t len = name(buf, i);
		assert_int_equal(zbt_rank(d, zbt_find(d, buf, len)),
				 zbt_rank(t, zbt_find(t, buf, len)));
	}
	/* The copy is independent, and keeps working as a tree. */
	zbt_free(t);
	for (i = 0; i < 5000; i += 2)
		zbt_del(d, zbt_find(d, buf, name(buf, i)));
	CHECK(d);
	tree_done(t, &mem);
	tree_done(d, &mem2);
}

/* ---- random operations against the model ---- */

struct bound {
	double v;
	bool ex;
};

/* Before a score range's min: score < v (or <= v when exclusive). */
static bool before_min(const void *arg, double score, const struct zent *key)
{
	const struct bound *b = arg;

	(void)key;
	return b->ex ? score <= b->v : score < b->v;
}

static void check_queries(const struct zbtree *t, const struct model *md, uint64_t *x)
{
	struct bound b;
	struct zbt_pos p;
	size_t i, k;

	if (md->n == 0)
		return;
	i = xorshift(x) % md->n;
	{
		struct zent *e = zmap_peek(&t->map, md->a[i].m, md->a[i].len);
		assert_non_null(e);
		assert_int_equal(zbt_rank(t, e), i);
		zbt_seek(t, i, &p);
		assert_ptr_equal(zbt_at(&p), e);
	}
	b.v = (double)(xorshift(x) % 64);
	b.ex = xorshift(x) % 2;
	for (k = 0; k < md->n && before_min(&b, md->a[k].score, NULL); k++)
		;
	assert_int_equal(zbt_count_before(t, before_min, &b), k);
}

static void random_op(struct zbtree *t, struct model *md, uint64_t *x, uint64_t space)
{
	char buf[32];
	size_t len = name(buf, xorshift(x) % space);
	double score = (double)(xorshift(x) % 64) / 2;
	long i = model_find(md, buf, len);
	struct zent *e = zbt_find(t, buf, len);

	assert_true((i >= 0) == (e != NULL));
	if (i < 0) {
		zbt_add(t, buf, len, score);
		model_add(md, score, buf, len);
	} else if (xorshift(x) % 2) {
		zbt_del(t, e);
		model_del(md, (size_t)i);
	} else {
		zbt_set_score(t, e, score);
		model_del(md, (size_t)i);
		model_add(md, score, buf, len);
	}
}

static void test_random_ops(void **state)
{
	struct mem mem = { 0 };
	struct zbtree *t = tree_new(&mem);
	struct model md = { 0 };
	uint64_t x = 0xC0FFEE, op;
	unsigned height = 0;

	(void)state;
	/* Phases over growing and shrinking key spaces, so the tree grows to
	 * several levels and collapses again. */
	for (op = 0; op < 60000; op++) {
		uint64_t space = op < 20000 ? 200 : op < 45000 ? 5000 : 300;
		random_op(t, &md, &x, space);
		height = t->height > height ? t->height : height;
		check_queries(t, &md, &x);
		if (op % 500 == 0) {
			CHECK(t);
			compare_all(t, &md);
		}
	}
	CHECK(t);
	compare_all(t, &md);
	assert_true(height >= 3);
	/* Deleting everything in random order merges the tree back down. */
	while (md.n > 0) {
		size_t i = xorshift(&x) % md.n;
		zbt_del(t, zmap_peek(&t->map, md.a[i].m, md.a[i].len));
		model_del(&md, i);
		if (md.n % 200 == 0) {
			CHECK(t);
			compare_all(t, &md);
		}
	}
	assert_int_equal(t->height, 0);
	free(md.a);
	tree_done(t, &mem);
}

/* ---- the index's scan across resizes ---- */

struct seen {
	unsigned char *hit;
};

static void seen_cb(void *arg, struct zent *e)
{
	struct seen *s = arg;
	char buf[32];
	size_t len;
	const char *p = zent_str(e, &len);

	assert_true(len > 7 && len < sizeof(buf));
	memcpy(buf, p, len);
	buf[len] = '\0';
	s->hit[strtoul(buf + 7, NULL, 10)] = 1;
}

static void test_scan(void **state)
{
	struct mem mem = { 0 };
	struct zbtree *t = tree_new(&mem);
	unsigned char hit[4000] = { 0 };
	struct seen s = { .hit = hit };
	uint64_t cursor = 0, i, next = 1000, x = 7;
	char buf[32];

	(void)state;
	/* Members 0..999 stay for the whole scan; others come and go, which
	 * grows and shrinks the index while the scan runs. */
	for (i = 0; i < 1000; i++)
		zbt_add(t, buf, name(buf, i), 0);
	do {
		cursor = zbt_scan(t, cursor, seen_cb, &s);
		for (i = 0; i < 20 && next < 4000; i++, next++)
			zbt_add(t, buf, name(buf, next), 1);
		if (next >= 4000) {
			uint64_t v = 1000 + xorshift(&x) % 3000;
			struct zent *e = zbt_find(t, buf, name(buf, v));
			if (e != NULL)
				zbt_del(t, e);
		}
		assert_true(zmap_check(&t->map));
	} while (cursor != 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(hit[i], 1);
	CHECK(t);
	tree_done(t, &mem);
}

/* zbt_free_some over trees of every height (empty, one leaf, two leaves,
 * two and three levels, after random deletions leave nodes part full) and
 * budgets of 1, 7 and 1000: each call spends at most its budget, returns
 * false only with the budget spent, gives bytes back (never takes any),
 * and the last call leaves the tree empty, initialised and reusable, with
 * every byte back. */
static void test_free_some(void **state)
{
	static const uint64_t sizes[] = { 0, 1, 60, 61, 3000, 20000 };
	static const unsigned budgets[] = { 1, 7, 1000 };
	uint64_t x = 0xfeed;
	size_t si, bi;

	(void)state;
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (bi = 0; bi < sizeof(budgets) / sizeof(budgets[0]); bi++) {
			struct mem mem = { 0 };
			struct zbtree *t = tree_new(&mem);
			uint64_t i, calls = 0, spent = 0;
			char buf[32];
			bool done = false;
			for (i = 0; i < sizes[si]; i++)
				zbt_add(t, buf, name(buf, i), (double)(xorshift(&x) % 1000));
			for (i = 0; sizes[si] > 100 && i < sizes[si] / 3; i++) {
				struct zent *e = zbt_find(t, buf,
							  name(buf, xorshift(&x) % sizes[si]));
				if (e != NULL)
					zbt_del(t, e);
			}
			CHECK(t);
			while (!done) {
				unsigned budget = budgets[bi];
				size_t before = mem.used;
				done = zbt_free_some(t, &budget);
				assert_true(budget <= budgets[bi]);
				assert_true(done || budget == 0);
				assert_true(mem.used <= before);
				spent += budgets[bi] - budget;
				calls++;
				assert_true(calls < 100000);
			}
			assert_int_equal(mem.used, 0);
			assert_int_equal(zbt_len(t), 0);
			assert_true(spent >= sizes[si] / 2);
			CHECK(t);
			zbt_add(t, "again", 5, 1.0);
			CHECK(t);
			tree_done(t, &mem);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),   cmocka_unit_test(test_equal_scores),
		cmocka_unit_test(test_long_members), cmocka_unit_test(test_stage_and_dup),
		cmocka_unit_test(test_random_ops),   cmocka_unit_test(test_scan),
		cmocka_unit_test(test_free_some),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
