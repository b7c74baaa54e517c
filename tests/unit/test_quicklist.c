/* test_quicklist.c: unit tests of the quicklist (node/data/quicklist.c).
 *
 * Goal: a quicklist holds exactly the elements a plain array would after
 * the same pushes, pops, inserts, replaces and range deletions, read by
 * index and by iteration both ways; its nodes are Redis's: the same node
 * sizes after the same pushes (a vector from redis-server), nodes that fill
 * up to the size limit (negative list-max-listpack-size) or count limit
 * (positive), splits and merges as Redis's _quicklistInsert makes them;
 * compression at depths 1..3 over lists of 1..10 nodes keeps every node
 * within depth of an end raw and every other one compressed once it is big
 * enough (and raw when it is smaller than 48 bytes or does not shrink);
 * the memory account holds exactly what quicklist_bytes() says; a copy is
 * equal and independent; and quicklist_check() accepts every list made here
 * and refuses a corrupted one.
 *
 * Method: the node sizes come from Debian's redis-server 7.0.15: RPUSH l
 * element:0 .. element:1499 with the default list-max-listpack-size -2,
 * then DUMP l, whose three nodes are listpacks of 8178, 8184 and 3549 bytes
 * (the same rule in 7.2). Directed tests build small lists whose node
 * layout is worked out by hand in the comments. A random-operations test
 * (fixed-seed xorshift, thousands of operations for each of several fills
 * and depths, elements of many sizes, compressible or not) compares the
 * list with a model array after every operation, with quicklist_check()
 * and the account. */
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
#include "base/util.h"
#include "data/listpack.h"
#include "data/quicklist.h"

#define SEED 0x9e3779b97f4a7c15ull
#define MODEL_MAX 4096
#define TEXT_MAX 5000

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- the model: an array of owned strings ---- */

struct model {
	char *s[MODEL_MAX];
	size_t len[MODEL_MAX];
	size_t n;
};

static void model_insert(struct model *md, size_t i, const char *s, size_t len)
{
	assert_true(md->n < MODEL_MAX && i <= md->n);
	memmove(md->s + i + 1, md->s + i, (md->n - i) * sizeof(md->s[0]));
	memmove(md->len + i + 1, md->len + i, (md->n - i) * sizeof(md->len[0]));
	md->s[i] = malloc(len + 1);
	memcpy(md->s[i], s, len);
	md->len[i] = len;
	md->n++;
}

static void model_remove(struct model *md, size_t i, size_t k)
{
	size_t j;

	assert_true(i + k <= md->n);
	for (j = i; j < i + k; j++)
		free(md->s[j]);
	memmove(md->s + i, md->s + i + k, (md->n - i - k) * sizeof(md->s[0]));
	memmove(md->len + i, md->len + i + k, (md->n - i - k) * sizeof(md->len[0]));
	md->n -= k;
}

static void model_set(struct model *md, size_t i, const char *s, size_t len)
{
	model_remove(md, i, 1);
	model_insert(md, i, s, len);
}

static void model_free(struct model *md)
{
	model_remove(md, 0, md->n);
}

/* The element at p is s. */
static void check_elem(unsigned char *p, const char *s, size_t len)
{
	char buf[LP_INTBUF_SIZE];
	size_t tlen;
	const char *t;

	assert_non_null(p);
	t = lp_get_text(p, buf, &tlen);
	assert_int_equal(tlen, len);
	if (len > 0)
		assert_memory_equal(t, s, len);
}

/* The list equals the model: the check, the account, both walks, and the
 * element at a few indexes from both ends. */
static void verify(const struct mem *m, struct quicklist *ql, const struct model *md)
{
	struct quicklist_iter it;
	unsigned char *p;
	size_t i = 0;

	assert_true(quicklist_check(ql));
	assert_int_equal(ql->count, md->n);
	assert_int_equal(quicklist_bytes(ql), m->used);
	quicklist_iter_at(ql, 0, true, &it);
	for (; (p = quicklist_next(&it)) != NULL; i++)
		check_elem(p, md->s[i], md->len[i]);
	assert_int_equal(i, md->n);
	quicklist_iter_at(ql, -1, false, &it);
	for (; (p = quicklist_next(&it)) != NULL; i--)
		check_elem(p, md->s[i - 1], md->len[i - 1]);
	assert_int_equal(i, 0);
	for (i = 0; i < md->n; i += 1 + md->n / 7) {
		quicklist_iter_at(ql, (long)i, true, &it);
		check_elem(quicklist_next(&it), md->s[i], md->len[i]);
		quicklist_iter_release(&it);
		quicklist_iter_at(ql, (long)i - (long)md->n, false, &it);
		check_elem(quicklist_next(&it), md->s[i], md->len[i]);
		quicklist_iter_release(&it);
	}
	assert_false(quicklist_iter_at(ql, (long)md->n, true, &it));
	assert_null(quicklist_next(&it));
	assert_false(quicklist_iter_at(ql, -(long)md->n - 1, true, &it));
	assert_true(quicklist_check(ql));
}

/* Pushes s on both the list and the model. */
static void push(struct quicklist *ql, struct model *md, const char *s, size_t len, bool tail)
{
	quicklist_push(ql, s, len, tail ? QUICKLIST_TAIL : QUICKLIST_HEAD);
	model_insert(md, tail ? md->n : 0, s, len);
}

static void push_int(struct quicklist *ql, struct model *md, long long v)
{
	char buf[LP_INTBUF_SIZE];

	push(ql, md, buf, (size_t)util_ll2str(buf, v), true);
}

/* Node counts, head to tail, as "4,2,3". */
static void node_counts(const struct quicklist *ql, char *out, size_t cap)
{
	const struct quicklist_node *n;
	size_t o = 0;

	out[0] = '\0';
	for (n = ql->head; n != NULL && o < cap; n = n->next)
		o += (size_t)snprintf(out + o, cap - o, "%s%u", o ? "," : "", n->count);
}

#define ASSERT_NODES(ql, want)                                                                     \
	do {                                                                                       \
		char got_[256];                                                                    \
		node_counts((ql), got_, sizeof(got_));                                             \
		assert_string_equal(got_, (want));                                                 \
	} while (0)

/* ---- directed tests ---- */

static void test_limits(void **state)
{
	static const struct {
		int fill;
		size_t size;
		uint64_t count;
	} cases[] = {
		{ -1, 4096, UINT64_MAX },
		{ -2, 8192, UINT64_MAX },
		{ -3, 16384, UINT64_MAX },
		{ -4, 32768, UINT64_MAX },
		{ -5, 65536, UINT64_MAX },
		{ -6, 65536, UINT64_MAX },
		{ -2147483647 - 1, 65536, UINT64_MAX },
		{ 0, SIZE_MAX, 1 },
		{ 1, SIZE_MAX, 1 },
		{ 128, SIZE_MAX, 128 },
		{ 2147483647, SIZE_MAX, 2147483647 },
	};
	size_t i, size;
	uint64_t count;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		quicklist_node_limit(cases[i].fill, &size, &count);
		assert_int_equal(size, cases[i].size);
		assert_true(count == cases[i].count);
	}
	assert_false(quicklist_node_exceeds(-2, 8192, 100000));
	assert_true(quicklist_node_exceeds(-2, 8193, 1));
	assert_false(quicklist_node_exceeds(5, 8192, 5));
	assert_true(quicklist_node_exceeds(5, 8192, 6));
	assert_true(quicklist_node_exceeds(5, 8193, 1)); /* the safety size */
	assert_true(quicklist_node_exceeds(0, 10, 2));
}

/* Redis's nodes for RPUSH element:0 .. element:1499 (see Method). */
static void test_redis_nodes(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, -2, 0);
	struct model md = { .n = 0 };
	const struct quicklist_node *n;
	char buf[32];
	int i;

	(void)state;
	for (i = 0; i < 1500; i++)
		push(ql, &md, buf, (size_t)snprintf(buf, sizeof(buf), "element:%d", i), true);
	ASSERT_NODES(ql, "637,610,253");
	n = ql->head;
	assert_int_equal(n->sz, 8178);
	assert_int_equal(n->next->sz, 8184);
	assert_int_equal(n->next->next->sz, 3549);
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* A node takes an element while its size plus the element plus 8 stays
 * within the limit: 100-byte strings are 103-byte entries, so a 4 KB node
 * holds 39 (7 + 39 * 103 = 4024; one more would need 4024 + 108 > 4096).
 * With a count limit, the count, and still 8 KB. */
static void test_fill(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, -1, 0);
	struct model md = { .n = 0 };
	char big[1000];
	int i;

	(void)state;
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 100; i++)
		push(ql, &md, big, 100, true);
	ASSERT_NODES(ql, "39,39,22");
	assert_int_equal(ql->head->sz, 4024);
	for (i = 0; i < 40; i++)
		push(ql, &md, big, 100, false);
	ASSERT_NODES(ql, "1,39,39,39,22");
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);

	ql = quicklist_new(&m, 3, 0);
	for (i = 0; i < 7; i++)
		push_int(ql, &md, i);
	ASSERT_NODES(ql, "3,3,1");
	/* 1000-byte entries: 8 KB before the count (7 + 8 * 1003 + 1008 > 8192). */
	quicklist_free(ql);
	model_free(&md);
	ql = quicklist_new(&m, 100, 0);
	for (i = 0; i < 20; i++)
		push(ql, &md, big, 1000, true);
	ASSERT_NODES(ql, "8,8,4");
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* Inserts s at index i (before, or after the element at i). */
static void insert_len(struct quicklist *ql, struct model *md, long i, const char *s, size_t len,
		       bool after)
{
	struct quicklist_iter it;

	assert_true(quicklist_iter_at(ql, i, true, &it));
	assert_non_null(quicklist_next(&it));
	quicklist_insert_current(&it, s, len, after);
	model_insert(md, (size_t)i + after, s, len);
}

static void insert_at(struct quicklist *ql, struct model *md, long i, const char *s, bool after)
{
	insert_len(ql, md, i, s, strlen(s), after);
}

/* Splits and merges with fill 4 (see each step). */
static void test_split_merge(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, 4, 0);
	struct model md = { .n = 0 };
	int i;

	(void)state;
	for (i = 0; i < 12; i++)
		push_int(ql, &md, i);
	ASSERT_NODES(ql, "4,4,4");
	/* After 5, in the middle of [4..7]: [4,5] stays, [X,6,7] follows;
	 * no neighbours fit together. */
	insert_at(ql, &md, 5, "X", true);
	ASSERT_NODES(ql, "4,2,3,4");
	verify(&m, ql, &md);
	/* Before 9 (index 10, offset 1 of [8..11]): [9,10,11] stays, [8,Y]
	 * goes before it, and merges with [X,6,7]? 3 + 2 > 4: no; with [4,5]
	 * (prev_prev, prev)? No: [X,6,7] is prev_prev. */
	insert_at(ql, &md, 10, "Y", false);
	ASSERT_NODES(ql, "4,2,3,2,3");
	verify(&m, ql, &md);
	/* Delete X, 6, 7: [4,5] and [8,Y] are neighbours. Insert at the tail
	 * of [0..3] (full): [4,5] has room, so Z goes to its head. */
	assert_int_equal(quicklist_del_range(ql, 6, 3), 3);
	model_remove(&md, 6, 3);
	ASSERT_NODES(ql, "4,2,2,3");
	insert_at(ql, &md, 3, "Z", true);
	ASSERT_NODES(ql, "4,3,2,3");
	/* Before index 0 of a full head with no previous node: a new node. */
	insert_at(ql, &md, 0, "W", false);
	ASSERT_NODES(ql, "1,4,3,2,3");
	/* In the middle of [0..3] (now index 2 after W): split into [W? no:
	 * [0,1] and [Q,2,3]; then prev_prev/prev ([W] alone before it has
	 * no prev_prev), next [Q,2,3] + next_next [Z,4,5]: 6 > 4; [W] +
	 * [0,1] = 3 <= 4: merged; then [W,0,1] + [Q,2,3]: 6: no. */
	insert_at(ql, &md, 2, "Q", true);
	ASSERT_NODES(ql, "3,3,3,2,3");
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* Compressible elements of 60 bytes: with fill 2 each node is 131 bytes
 * and compresses; every node within depth of an end raw, the rest not. */
static void check_depths(struct quicklist *ql)
{
	const struct quicklist_node *n;
	uint64_t i = 0;

	for (n = ql->head; n != NULL; n = n->next, i++) {
		bool outer = i < ql->compress || ql->len - 1 - i < ql->compress;
		assert_int_equal(n->lzf, !outer);
	}
	assert_true(quicklist_check(ql));
}

static void test_compress_depths(void **state)
{
	char el[60];
	unsigned depth, nodes, k;

	(void)state;
	memset(el, 'c', sizeof(el));
	for (depth = 1; depth <= 3; depth++) {
		for (nodes = 1; nodes <= 10; nodes++) {
			struct mem m = { 0 };
			struct quicklist *ql = quicklist_new(&m, 2, (int)depth);
			struct model md = { .n = 0 };
			for (k = 0; k < nodes * 2; k++) {
				push(ql, &md, el, sizeof(el), true);
				check_depths(ql);
			}
			assert_int_equal(ql->len, nodes);
			assert_int_equal(ql->nlzf, nodes > 2 * depth ? nodes - 2 * depth : 0);
			verify(&m, ql, &md);
			check_depths(ql);
			/* Grow and shrink at the head too. */
			push(ql, &md, el, sizeof(el), false);
			check_depths(ql);
			quicklist_del_range(ql, 0, 1);
			model_remove(&md, 0, 1);
			check_depths(ql);
			/* Shrink from both ends, a node at a time. */
			while (ql->count > 0) {
				bool head = ql->count % 4 < 2;
				quicklist_del_range(ql, head ? 0 : -2, 2);
				model_remove(&md, head ? 0 : md.n - 2, 2);
				check_depths(ql);
			}
			verify(&m, ql, &md);
			quicklist_free(ql);
			assert_int_equal(m.used, 0);
		}
	}
}

/* Nodes under 48 bytes, or that do not shrink, stay raw inside. */
static void test_compress_refused(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, 1, 1);
	struct model md = { .n = 0 };
	const struct quicklist_node *n;
	uint64_t x = SEED;
	char rnd[200];
	int i, k;

	(void)state;
	for (i = 0; i < 5; i++)
		push(ql, &md, "tiny-element", 12, true);
	assert_int_equal(ql->nlzf, 0);
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	ql = quicklist_new(&m, 1, 1);
	for (i = 0; i < 5; i++) {
		for (k = 0; k < (int)sizeof(rnd); k++)
			rnd[k] = (char)xorshift(&x);
		push(ql, &md, rnd, sizeof(rnd), true);
	}
	assert_int_equal(ql->nlzf, 0);
	for (n = ql->head->next; n != ql->tail; n = n->next)
		assert_true(n->raw_ok);
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* Reading an inner node decompresses it while the iterator is there. */
static void test_read_compressed(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, 2, 1);
	struct model md = { .n = 0 };
	struct quicklist_iter it;
	char el[80];
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		memset(el, 'a' + i, sizeof(el));
		push(ql, &md, el, sizeof(el), true);
	}
	assert_int_equal(ql->nlzf, 3);
	assert_true(quicklist_iter_at(ql, 4, true, &it));
	check_elem(quicklist_next(&it), md.s[4], md.len[4]);
	assert_true(it.node->in_use && !it.node->lzf);
	assert_int_equal(ql->nlzf, 2);
	quicklist_iter_release(&it);
	assert_int_equal(ql->nlzf, 3);
	assert_true(quicklist_replace_at(ql, 5, "short", 5));
	model_set(&md, 5, "short", 5);
	assert_false(quicklist_replace_at(ql, 10, "x", 1));
	assert_false(quicklist_replace_at(ql, -11, "x", 1));
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* Deleting through a backward and a forward iterator (LREM's way). */
static void test_delete_iterating(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, 3, 1);
	struct model md = { .n = 0 };
	struct quicklist_iter it;
	unsigned char *p;
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < 30; k++)
		push(ql, &md, k % 3 == 0 ? "x" : "y", 1, true);
	/* Every "x" from the tail, then every "y" from index 4 on. */
	quicklist_iter_at(ql, -1, false, &it);
	while ((p = quicklist_next(&it)) != NULL)
		if (lp_eq(p, "x", 1))
			quicklist_del_current(&it);
	quicklist_iter_release(&it);
	for (i = md.n; i-- > 0;)
		if (md.s[i][0] == 'x')
			model_remove(&md, i, 1);
	verify(&m, ql, &md);
	quicklist_iter_at(ql, 4, true, &it);
	while ((p = quicklist_next(&it)) != NULL)
		quicklist_del_current(&it);
	quicklist_iter_release(&it);
	model_remove(&md, 4, md.n - 4);
	verify(&m, ql, &md);
	quicklist_free(ql);
	model_free(&md);
	assert_int_equal(m.used, 0);
}

/* Copies, single-node release and the check's refusals. */
/* The links and counts of a list, compression placement aside (a list
 * being freed from its head keeps its compressed nodes where they were). */
static void check_links(const struct quicklist *ql)
{
	const struct quicklist_node *n, *prev = NULL;
	uint64_t count = 0, len = 0, nlzf = 0;

	for (n = ql->head; n != NULL; prev = n, n = n->next) {
		assert_ptr_equal(n->prev, prev);
		count += n->count;
		nlzf += n->lzf;
		len++;
	}
	assert_ptr_equal(ql->tail, prev);
	assert_int_equal(count, ql->count);
	assert_int_equal(len, ql->len);
	assert_int_equal(nlzf, ql->nlzf);
}

/* Freeing in steps (the background free): each step frees at most its
 * budget of nodes, from the head, and leaves a list whose links and counts
 * hold; the last frees the list itself and every byte. */
static void test_free_some(void **state)
{
	struct mem m = { 0 };
	struct quicklist *ql = quicklist_new(&m, 2, 1);
	struct model md = { .n = 0 };
	unsigned budget;
	size_t used;
	char el[64];
	int i, steps = 0;

	(void)state;
	memset(el, 'f', sizeof(el));
	for (i = 0; i < 41; i++)
		push(ql, &md, el, sizeof(el), true);
	assert_int_equal(ql->len, 21);
	assert_true(ql->nlzf > 0);
	budget = 0;
	assert_false(quicklist_free_some(ql, &budget));
	check_links(ql);
	for (;;) {
		uint64_t len = ql->len;

		used = m.used;
		budget = 3;
		if (quicklist_free_some(ql, &budget))
			break;
		steps++;
		assert_int_equal(budget, 0);
		assert_int_equal(ql->len, len - 3);
		assert_true(m.used < used);
		check_links(ql);
	}
	/* 21 nodes: six steps of three leave three, which the last frees
	 * with the list, spending its whole budget. */
	assert_int_equal(steps, 6);
	assert_int_equal(budget, 0);
	assert_int_equal(m.used, 0);
	model_free(&md);
}

static void test_dup_release_check(void **state)
{
	struct mem m = { 0 }, m2 = { 0 };
	struct quicklist *ql = quicklist_new(&m, 2, 1), *c;
	struct model md = { .n = 0 };
	struct quicklist_node *n;
	unsigned char *lp;
	char el[64];
	int i;

	(void)state;
	memset(el, 'd', sizeof(el));
	for (i = 0; i < 12; i++)
		push(ql, &md, el, sizeof(el), true);
	c = quicklist_dup(&m2, ql);
	verify(&m2, c, &md);
	assert_int_equal(c->nlzf, ql->nlzf);
	quicklist_push(c, "new", 3, QUICKLIST_HEAD);
	verify(&m, ql, &md);
	quicklist_free(c);
	assert_int_equal(m2.used, 0);
	/* Corruptions the check sees. */
	n = ql->head->next->next;
	assert_true(n->lzf);
	n->count++;
	assert_false(quicklist_check(ql));
	n->count--;
	n->sz--;
	assert_false(quicklist_check(ql));
	n->sz++;
	n->lzf = 0;
	assert_false(quicklist_check(ql));
	n->lzf = 1;
	ql->head->entry[LP_HDR_SIZE] ^= 0x40; /* the first entry's encoding */
	assert_false(quicklist_check(ql));
	ql->head->entry[LP_HDR_SIZE] ^= 0x40;
	ql->count++;
	assert_false(quicklist_check(ql));
	ql->count--;
	assert_true(quicklist_check(ql));
	quicklist_free(ql);
	model_free(&md);
	/* A one-node list gives its listpack back. */
	ql = quicklist_new(&m, -2, 0);
	quicklist_push(ql, "a", 1, QUICKLIST_TAIL);
	quicklist_push(ql, "b", 1, QUICKLIST_HEAD);
	lp = quicklist_release_lp(ql);
	assert_int_equal(lp_length(lp), 2);
	assert_int_equal(mem_size(lp), m.used);
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
}

/* ---- random operations against the model ---- */

/* An element: an integer, a short string, or a longer one that
 * compresses or not. */
static size_t random_elem(uint64_t *x, char *buf)
{
	size_t len, i;

	switch (xorshift(x) % 6) {
	case 0: return (size_t)util_ll2str(buf, (long long)(xorshift(x) % 100000) - 500);
	case 1: return (size_t)snprintf(buf, TEXT_MAX, "el:%u", (unsigned)(xorshift(x) % 50));
	case 2:
		len = xorshift(x) % 300;
		memset(buf, 'a' + (int)(xorshift(x) % 3), len);
		return len;
	case 3:
		len = xorshift(x) % 200;
		for (i = 0; i < len; i++)
			buf[i] = (char)xorshift(x);
		return len;
	case 4:
		len = 1000 + xorshift(x) % 3000;
		memset(buf, 'q', len);
		return len;
	default: return 0;
	}
}

/* One random change of both the list and the model. */
static void random_op(struct quicklist *ql, struct model *md, uint64_t *x, char *buf)
{
	uint64_t op = xorshift(x) % 10, n = md->n;
	size_t len = random_elem(x, buf);
	long i = n ? (long)(xorshift(x) % n) : 0;
	struct quicklist_iter it;
	unsigned char *p;

	if (op <= 2 || n == 0) {
		push(ql, md, buf, len, op != 0);
	} else if (op <= 4) {
		insert_len(ql, md, i, buf, len, op == 3);
	} else if (op == 5) {
		assert_true(quicklist_replace_at(ql, i - (long)n, buf, len));
		model_set(md, (size_t)i, buf, len);
	} else if (op <= 7) {
		long k = (long)(xorshift(x) % 40), start = op == 6 ? i : i - (long)n;
		uint64_t want = (uint64_t)k < n - (uint64_t)i ? (uint64_t)k : n - (uint64_t)i;
		assert_int_equal(quicklist_del_range(ql, start, k), want);
		model_remove(md, (size_t)i, want);
	} else {
		/* Delete every element equal to the one at i, one way. */
		bool fwd = op == 8;
		char *v = md->s[i];
		size_t vlen = md->len[i], j;
		quicklist_iter_at(ql, fwd ? 0 : -1, fwd, &it);
		while ((p = quicklist_next(&it)) != NULL)
			if (lp_eq(p, v, vlen))
				quicklist_del_current(&it);
		quicklist_iter_release(&it);
		v = malloc(vlen + 1);
		memcpy(v, md->s[i], vlen);
		for (j = md->n; j-- > 0;)
			if (md->len[j] == vlen && memcmp(md->s[j], v, vlen) == 0)
				model_remove(md, j, 1);
		free(v);
	}
}

static void test_random(void **state)
{
	static const int fills[] = { -2, -1, 1, 2, 5, 64 };
	static const int depths[] = { 0, 1, 2, 3 };
	char *buf = malloc(TEXT_MAX);
	uint64_t x = SEED;
	size_t f, d;
	int k;

	(void)state;
	for (f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
		for (d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
			struct mem m = { 0 };
			struct quicklist *ql = quicklist_new(&m, fills[f], depths[d]);
			struct model md = { .n = 0 };
			for (k = 0; k < 1500; k++) {
				random_op(ql, &md, &x, buf);
				if (md.n > 600) {
					quicklist_del_range(ql, 0, 300);
					model_remove(&md, 0, 300);
				}
				if (k % 5 == 0)
					verify(&m, ql, &md);
				else
					assert_true(quicklist_check(ql));
			}
			verify(&m, ql, &md);
			quicklist_free(ql);
			model_free(&md);
			assert_int_equal(m.used, 0);
		}
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_redis_nodes),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_split_merge),
		cmocka_unit_test(test_compress_depths),
		cmocka_unit_test(test_compress_refused),
		cmocka_unit_test(test_read_compressed),
		cmocka_unit_test(test_delete_iterating),
		cmocka_unit_test(test_dup_release_check),
		cmocka_unit_test(test_free_some),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
