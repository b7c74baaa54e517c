/* test_t_list.c: unit tests of the list type (node/data/t_list.c) in the
 * keyspace.
 *
 * Goal: a list keeps its elements exactly in both encodings (listpack and
 * quicklist); a listpack becomes a quicklist at each threshold of
 * list-max-listpack-size (by size with a negative value, by count with a
 * positive one, and by the 8 KB safety size even then: the limit itself
 * stays a listpack, one byte or element past it converts, counting every
 * element a push adds at once), and a one-node quicklist becomes a listpack
 * again only under half the limit; iteration, delete while iterating,
 * insert and replace agree with a model in both encodings; COPY gives an
 * independent list, RENAME to another keyspace moves the list and its
 * memory; and the keyspace's invariants and memory account hold after every
 * step (ks_check runs the type's check, which holds a list to be never
 * empty: a test deletes the key when it empties it, as the commands do).
 *
 * Method: a keyspace holds the lists (ks_set_obj), and the list_* calls
 * work on their entries as the commands do (list_grow before a push,
 * list_shrink after a removal). Sizes at the thresholds are worked out in
 * the comments from the listpack format (a 100-byte string is a 103-byte
 * entry, an empty listpack 7 bytes). A random-operations test (fixed-seed
 * xorshift, small limits so both encodings and both conversions run often,
 * compression on) compares every read with a model array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/quicklist.h"
#include "data/t_list.h"
#include "unit_ks.h"

#define SEED 0x5eed1157ull
#define MODEL_MAX 512

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct list_limits lim;
};

static struct env *env_new(int fill, int compress)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x1234567;
	ks_init(&en->ks, &en->st, 99, rnd, &en->rs);
	en->lim.fill = fill;
	en->lim.compress = compress;
	return en;
}

static void env_free(struct env *en)
{
	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
}

static struct kv *new_list(struct env *en, const char *key)
{
	return ks_set_obj(&en->ks, key, strlen(key), KV_LIST, LIST_LP, list_new(&en->ks.mem),
			  KS_TTL_NONE);
}

static struct kv *peek(struct env *en, const char *key)
{
	return ks_peek(&en->ks, key, strlen(key));
}

/* Pushes n copies of s at once, as one RPUSH (or LPUSH) of n elements. */
static void push_n(struct env *en, struct kv *e, const char *s, size_t len, size_t n, bool tail)
{
	size_t i;

	list_grow(&en->ks.mem, e, &en->lim, len * n, n);
	for (i = 0; i < n; i++)
		list_push(&en->ks.mem, e, s, len, tail);
	CHECK(&en->ks);
}

static const char *encoding(struct env *en, struct kv *e)
{
	return ks_encoding_name(&en->ks, e);
}

/* Pops n from the head, then shrinks, as LPOP with a count. */
static void pop_n(struct env *en, struct kv *e, long n)
{
	list_del_range(&en->ks.mem, e, 0, n);
	list_shrink(&en->ks.mem, e, &en->lim);
	CHECK(&en->ks);
}

/* Size limit (-2, 8 KB): 79 entries of 103 bytes are 8144 bytes, and one
 * more 100-byte string makes 8244 > 8192; 78 are 8041, + 100 = 8141. */
static void test_grow_by_size(void **state)
{
	struct env *en = env_new(-2, 0);
	struct kv *e = new_list(en, "l");
	char s[100];

	(void)state;
	memset(s, 'x', sizeof(s));
	push_n(en, e, s, 100, 79, true);
	assert_string_equal(encoding(en, e), "listpack");
	assert_int_equal(mem_size(kv_obj(e)) >= 8144, true);
	push_n(en, e, s, 100, 1, false);
	assert_string_equal(encoding(en, e), "quicklist");
	assert_int_equal(list_len(e), 80);
	/* All at once: 78 + 1 fits, 78 + 2 in one push does not. */
	e = new_list(en, "m");
	push_n(en, e, s, 100, 78, true);
	push_n(en, e, s, 100, 1, true);
	assert_string_equal(encoding(en, e), "listpack");
	e = new_list(en, "n");
	push_n(en, e, s, 100, 78, true);
	push_n(en, e, s, 100, 2, true);
	assert_string_equal(encoding(en, peek(en, "n")), "quicklist");
	/* A big element converts at once, even into an empty list. */
	e = new_list(en, "big");
	push_n(en, e, s, 100, 1, true);
	{
		char *b = calloc(1, 9000);
		push_n(en, e, b, 9000, 1, true);
		free(b);
	}
	assert_string_equal(encoding(en, e), "quicklist");
	assert_int_equal(list_len(e), 2);
	env_free(en);
}

/* Count limit (5): 5 stay, 6 convert. And the 8 KB safety size: 1000-byte
 * strings are 1003-byte entries, 7 + 7 * 1003 + 1000 = 8028 fits, 8 of
 * them and one more (9031) do not, whatever the count limit. */
static void test_grow_by_count(void **state)
{
	struct env *en = env_new(5, 0);
	struct kv *e = new_list(en, "l");
	char s[1000];

	(void)state;
	memset(s, 'y', sizeof(s));
	push_n(en, e, "a", 1, 5, true);
	assert_string_equal(encoding(en, e), "listpack");
	push_n(en, e, "b", 1, 1, true);
	assert_string_equal(encoding(en, e), "quicklist");
	en->lim.fill = 1000;
	e = new_list(en, "s");
	push_n(en, e, s, 1000, 7, true);
	push_n(en, e, s, 1000, 1, true);
	assert_string_equal(encoding(en, e), "listpack");
	push_n(en, e, s, 1000, 1, true);
	assert_string_equal(encoding(en, e), "quicklist");
	env_free(en);
}

/* Back to a listpack only with one node under half the limit. */
static void test_shrink(void **state)
{
	struct env *en = env_new(10, 0);
	struct kv *e = new_list(en, "l");
	char s[100];

	(void)state;
	memset(s, 'z', sizeof(s));
	push_n(en, e, "a", 1, 10, true);
	push_n(en, e, "b", 1, 1, true); /* nodes of 10 and 1 */
	assert_string_equal(encoding(en, e), "quicklist");
	list_del_range(&en->ks.mem, e, -1, 1); /* one node of 10: not under half */
	list_shrink(&en->ks.mem, e, &en->lim);
	assert_string_equal(encoding(en, e), "quicklist");
	pop_n(en, e, 5); /* 5 <= 10 / 2 */
	assert_string_equal(encoding(en, e), "listpack");
	assert_int_equal(list_len(e), 5);
	/* By size (-1: 4 KB): one node of 7 + 20 * 103 = 2067 > 2048 stays;
	 * 19 (1964) converts. */
	en->lim.fill = -1;
	e = new_list(en, "m");
	push_n(en, e, s, 100, 60, true);
	assert_string_equal(encoding(en, e), "quicklist");
	pop_n(en, e, 40);
	assert_int_equal(((struct quicklist *)kv_obj(e))->len, 1);
	assert_string_equal(encoding(en, e), "quicklist");
	pop_n(en, e, 1);
	assert_string_equal(encoding(en, e), "listpack");
	assert_int_equal(list_len(e), 19);
	env_free(en);
}

/* ---- a model ---- */

struct model {
	char s[MODEL_MAX][400];
	size_t len[MODEL_MAX];
	size_t n;
};

static void model_insert(struct model *md, size_t i, const char *s, size_t len)
{
	assert_true(md->n < MODEL_MAX && i <= md->n && len < 400);
	memmove(md->s + i + 1, md->s + i, (md->n - i) * sizeof(md->s[0]));
	memmove(md->len + i + 1, md->len + i, (md->n - i) * sizeof(md->len[0]));
	memcpy(md->s[i], s, len);
	md->len[i] = len;
	md->n++;
}

static void model_remove(struct model *md, size_t i, size_t k)
{
	assert_true(i + k <= md->n);
	memmove(md->s + i, md->s + i + k, (md->n - i - k) * sizeof(md->s[0]));
	memmove(md->len + i, md->len + i + k, (md->n - i - k) * sizeof(md->len[0]));
	md->n -= k;
}

static void val_is(const struct list_val *v, const char *s, size_t len)
{
	char buf[UTIL_LL_CHARS];

	if (v->is_int) {
		assert_int_equal(util_ll2str(buf, v->ival), len);
		assert_memory_equal(buf, s, len);
	} else {
		assert_int_equal(v->len, len);
		if (len > 0)
			assert_memory_equal(v->p, s, len);
	}
	assert_int_equal(list_val_len(v), len);
}

static void verify(struct env *en, const char *key, const struct model *md)
{
	struct kv *e = peek(en, key);
	struct list_iter it;
	struct list_val v;
	size_t i = 0;

	CHECK(&en->ks);
	if (md->n == 0) {
		assert_null(e);
		return;
	}
	assert_int_equal(list_len(e), md->n);
	list_iter_init(&it, &en->ks.mem, e, 0, true);
	for (; list_iter_next(&it, &v); i++)
		val_is(&v, md->s[i], md->len[i]);
	list_iter_release(&it);
	assert_int_equal(i, md->n);
	list_iter_init(&it, &en->ks.mem, e, -1, false);
	for (; list_iter_next(&it, &v); i--)
		val_is(&v, md->s[i - 1], md->len[i - 1]);
	list_iter_release(&it);
	assert_int_equal(i, 0);
	list_iter_init(&it, &en->ks.mem, e, (long)md->n, true);
	assert_false(list_iter_next(&it, &v));
	list_iter_release(&it);
	CHECK(&en->ks);
}

/* One random change, as a command would make it. */
static void random_op(struct env *en, struct model *md, uint64_t *x)
{
	struct mem *mem = &en->ks.mem;
	struct kv *e = peek(en, "r");
	uint64_t op = xorshift(x) % 8;
	char s[400];
	uint64_t kind = xorshift(x) % 4;
	size_t len = (size_t)snprintf(s, sizeof(s),
				      kind == 0   ? "%u"
				      : kind == 1 ? "e%u"
						  : "%0300u",
				      (unsigned)(xorshift(x) % 20));
	long i = md->n ? (long)(xorshift(x) % md->n) : 0;

	if (e == NULL)
		e = new_list(en, "r");
	if (op <= 2 || md->n == 0 || op == 7) {
		list_grow(mem, e, &en->lim, len, 1);
		list_push(mem, e, s, len, op != 0);
		model_insert(md, op != 0 ? md->n : 0, s, len);
	} else if (op == 3) {
		struct list_iter it;
		struct list_val v;
		bool after = xorshift(x) % 2;
		list_grow(mem, e, &en->lim, len, 1);
		list_iter_init(&it, mem, e, i, true);
		assert_true(list_iter_next(&it, &v));
		list_iter_insert(&it, s, len, after);
		list_iter_release(&it);
		model_insert(md, (size_t)i + after, s, len);
	} else if (op == 4) {
		list_grow(mem, e, &en->lim, len, 1);
		assert_true(list_replace_at(mem, e, i - (long)md->n, s, len));
		model_remove(md, (size_t)i, 1);
		model_insert(md, (size_t)i, s, len);
		list_shrink(mem, e, &en->lim);
	} else if (op == 5) {
		long k = (long)(xorshift(x) % 12);
		size_t gone = (size_t)k < md->n - (size_t)i ? (size_t)k : md->n - (size_t)i;
		list_del_range(mem, e, i, k);
		model_remove(md, (size_t)i, gone);
	} else {
		/* LREM's walk: every element equal to the one at i, from the tail. */
		struct list_iter it;
		struct list_val v;
		char want[400];
		size_t wlen = md->len[i], j;
		memcpy(want, md->s[i], wlen);
		list_iter_init(&it, mem, e, -1, false);
		while (list_iter_next(&it, &v))
			if (list_iter_eq(&it, want, wlen))
				list_iter_delete(&it);
		list_iter_release(&it);
		for (j = md->n; j-- > 0;)
			if (md->len[j] == wlen && memcmp(md->s[j], want, wlen) == 0)
				model_remove(md, j, 1);
	}
	if (md->n == 0)
		ks_delete(&en->ks, "r", 1);
	else
		list_shrink(mem, peek(en, "r"), &en->lim);
}

static void test_random(void **state)
{
	static const struct list_limits lims[] = { { 4, 1 }, { -1, 2 }, { 1, 1 }, { 7, 0 } };
	uint64_t x = SEED;
	size_t l;
	int k;

	(void)state;
	for (l = 0; l < sizeof(lims) / sizeof(lims[0]); l++) {
		struct env *en = env_new(lims[l].fill, lims[l].compress);
		struct model *md = calloc(1, sizeof(*md));
		unsigned converted = 0;
		for (k = 0; k < 4000; k++) {
			struct kv *e = peek(en, "r");
			unsigned enc = e ? kv_obj_enc(e) : LIST_LP;
			random_op(en, md, &x);
			e = peek(en, "r");
			converted += e != NULL && kv_obj_enc(e) != enc;
			if (md->n > 40) {
				list_del_range(&en->ks.mem, e, 0, 30);
				model_remove(md, 0, 30);
			}
			if (k % 4 == 0)
				verify(en, "r", md);
		}
		verify(en, "r", md);
		assert_true(converted > 10);
		free(md);
		env_free(en);
	}
}

/* COPY and RENAME of a compressed quicklist, and of a listpack. */
static void test_copy_rename(void **state)
{
	struct env *en = env_new(2, 1), *other = env_new(2, 1);
	struct kv *e = new_list(en, "big");
	char s[80];
	size_t before;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		memset(s, 'a' + i, sizeof(s));
		push_n(en, e, s, sizeof(s), 1, true);
	}
	assert_true(((struct quicklist *)kv_obj(e))->nlzf > 0);
	e = new_list(en, "small");
	push_n(en, e, "1", 1, 1, true);
	ks_copy(&en->ks, peek(en, "big"), "big2", 4);
	ks_copy(&en->ks, peek(en, "small"), "small2", 6);
	CHECK(&en->ks);
	pop_n(en, peek(en, "big2"), 3);
	assert_int_equal(list_len(peek(en, "big")), 20);
	assert_int_equal(list_len(peek(en, "big2")), 17);
	assert_string_equal(encoding(en, peek(en, "small2")), "listpack");
	before = other->ks.mem.used;
	ks_rename(&en->ks, peek(en, "big"), &other->ks, "moved", 5);
	CHECK(&en->ks);
	CHECK(&other->ks);
	assert_true(other->ks.mem.used > before);
	e = ks_peek(&other->ks, "moved", 5);
	push_n(other, e, "after", 5, 1, false);
	pop_n(other, e, 2);
	assert_int_equal(list_len(e), 19);
	env_free(en);
	env_free(other);
}

/* UNLINK of a listpack list frees it at once; of a quicklist of more
 * nodes than Redis's free-effort threshold, in the background, a few nodes
 * per step with the account exact after each (compressed nodes among
 * them). */
static void test_unlink_in_background(void **state)
{
	struct env *en = env_new(4, 1);
	struct kv *e;
	size_t empty;
	int steps = 1, i;

	(void)state;
	e = new_list(en, "warm");
	push_n(en, e, "x", 1, 1, true);
	ks_delete_entry(&en->ks, e);
	empty = en->ks.mem.used;
	e = new_list(en, "small");
	push_n(en, e, "x", 1, 3, true);
	assert_string_equal(encoding(en, e), "listpack");
	assert_true(ks_unlink(&en->ks, "small", 5));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	/* Four elements a node: 4 * LAZYFREE_EFFORT_THRESHOLD elements make
	 * exactly the threshold's nodes (freed at once), four more one node
	 * past it. */
	e = new_list(en, "at");
	for (i = 0; i < 4 * LAZYFREE_EFFORT_THRESHOLD; i++)
		push_n(en, e, "abcdefghabcdefghabcdefgh", 24, 1, true);
	assert_int_equal(((struct quicklist *)kv_obj(e))->len, LAZYFREE_EFFORT_THRESHOLD);
	assert_true(ks_unlink(&en->ks, "at", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	e = new_list(en, "over");
	for (i = 0; i < 4 * (LAZYFREE_EFFORT_THRESHOLD + 1); i++)
		push_n(en, e, "abcdefghabcdefghabcdefgh", 24, 1, true);
	assert_true(((struct quicklist *)kv_obj(e))->nlzf > 0);
	assert_true(ks_unlink(&en->ks, "over", 4));
	assert_int_equal(en->ks.lazy.pending_objs, 1);
	CHECK(&en->ks);
	while (ks_lazy_step(&en->ks, 7)) {
		CHECK(&en->ks);
		steps++;
	}
	CHECK(&en->ks);
	assert_true(steps >= (LAZYFREE_EFFORT_THRESHOLD + 1) / 7);
	assert_int_equal(en->st.lazyfreed_objects, 1);
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	env_free(en);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_by_size), cmocka_unit_test(test_grow_by_count),
		cmocka_unit_test(test_shrink),       cmocka_unit_test(test_random),
		cmocka_unit_test(test_copy_rename),  cmocka_unit_test(test_unlink_in_background),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
