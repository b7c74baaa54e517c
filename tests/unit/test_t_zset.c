/* test_t_zset.c: unit tests of the sorted set type (node/data/t_zset.c) in
 * the keyspace.
 *
 * Goal: a sorted set keeps its members in (score, member) order with the
 * right scores and ranks in both encodings (listpack and the big B+tree);
 * it turns big at each threshold of zset-max-listpack-entries and
 * zset-max-listpack-value (one past the limit converts, the limit itself
 * does not; only a new member converts), and a result goes back to a
 * listpack when small enough (zset_fit_listpack); ZADD's flags behave as
 * Redis's zsetAdd; score and lex range bounds are Redis's; COPY gives an
 * independent set and RENAME to another keyspace moves it and its memory;
 * a scan returns every member; an UNLINKed big set is freed in the
 * background in bounded steps; and the keyspace's invariants and memory
 * account hold throughout (ks_check runs the type's check).
 *
 * Method: a keyspace holds the sets (ks_set_obj), and the zset_* calls
 * work on their entries as the commands do. Directed tests pin each path;
 * then 20,000 random operations (fixed-seed xorshift, 60 members, small
 * limits so both encodings and the conversion run often) compare every
 * score, rank and range bound with a model kept in an array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/t_zset.h"
#include "unit_ks.h"

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct zset_limits lim;
};

static struct env *env_new(uint64_t entries, uint64_t value)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x1234567;
	ks_init(&en->ks, &en->st, 99, rnd, &en->rs);
	en->lim.max_lp_entries = entries;
	en->lim.max_lp_value = value;
	en->lim.seed = en->ks.seed;
	return en;
}

static void env_free(struct env *en)
{
	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
}

static struct kv *new_zset(struct env *en, const char *key, size_t first_len)
{
	unsigned enc;
	void *obj = zset_new(&en->ks.mem, &en->lim, first_len, &enc);

	return ks_set_obj(&en->ks, key, strlen(key), KV_ZSET, enc, obj, KS_TTL_NONE);
}

static struct kv *peek(struct env *en, const char *key)
{
	return ks_peek(&en->ks, key, strlen(key));
}

static int add(struct env *en, struct kv *e, double score, const char *m, int in)
{
	int out;
	double ns;

	assert_true(zset_add(&en->ks.mem, e, &en->lim, score, m, strlen(m), in, &out, &ns));
	CHECK(&en->ks);
	return out;
}

static const char *encoding(struct env *en, struct kv *e)
{
	return ks_encoding_name(&en->ks, e);
}

/* The member at rank is m with score. */
static void at_is(struct kv *e, uint64_t rank, const char *m, double score)
{
	struct zset_item it;
	struct zset_it i;

	zset_seek(e, rank, &i);
	assert_true(zset_it_valid(&i));
	zset_it_get(&i, &it);
	assert_int_equal(it.len, strlen(m));
	assert_memory_equal(it.p, m, it.len);
	assert_true(it.score == score);
}

static void test_listpack_order_and_flags(void **state)
{
	struct env *en = env_new(128, 64);
	struct kv *e = new_zset(en, "z", 1);
	double s, ns;
	int out;

	(void)state;
	assert_int_equal(add(en, e, 2, "b", 0), ZADD_OUT_ADDED);
	assert_int_equal(add(en, e, 1, "c", 0), ZADD_OUT_ADDED);
	assert_int_equal(add(en, e, 2, "a", 0), ZADD_OUT_ADDED);
	assert_int_equal(add(en, e, 1.5, "12", 0), ZADD_OUT_ADDED);
	at_is(e, 0, "c", 1);
	at_is(e, 1, "12", 1.5);
	at_is(e, 2, "a", 2);
	at_is(e, 3, "b", 2);
	assert_string_equal(encoding(en, e), "listpack");
	assert_int_equal(add(en, e, 2, "a", 0), 0);
	assert_int_equal(add(en, e, 9, "a", ZADD_IN_NX), ZADD_OUT_NOP);
	assert_int_equal(add(en, e, 9, "zz", ZADD_IN_XX), ZADD_OUT_NOP);
	assert_int_equal(add(en, e, 1, "a", ZADD_IN_GT), ZADD_OUT_NOP);
	assert_int_equal(add(en, e, 3, "a", ZADD_IN_GT), ZADD_OUT_UPDATED);
	assert_int_equal(add(en, e, 1, "a", ZADD_IN_INCR | ZADD_IN_LT), ZADD_OUT_NOP);
	assert_int_equal(add(en, e, -5, "a", ZADD_IN_INCR), ZADD_OUT_UPDATED);
	assert_true(zset_score(e, "a", 1, &s) && s == -2);
	assert_int_equal(zset_rank(e, "a", 1, &s), 0);
	assert_int_equal(zset_rank(e, "nope", 4, &s), -1);
	/* inf + -inf is NaN: refused, nothing changes. */
	add(en, e, INFINITY, "i", 0);
	assert_false(
		zset_add(&en->ks.mem, e, &en->lim, -INFINITY, "i", 1, ZADD_IN_INCR, &out, &ns));
	assert_false(zset_add(&en->ks.mem, e, &en->lim, NAN, "j", 1, 0, &out, &ns));
	assert_true(zset_score(e, "i", 1, &s) && isinf(s));
	/* A non-integer score keeps its exact value through the text. */
	add(en, e, 0.1, "t", 0);
	assert_true(zset_score(e, "t", 1, &s) && s == 0.1);
	assert_true(zset_del(&en->ks.mem, e, "t", 1));
	assert_false(zset_del(&en->ks.mem, e, "t", 1));
	assert_int_equal(zset_len(e), 5);
	env_free(en);
}

static void test_convert(void **state)
{
	struct env *en = env_new(4, 8);
	struct kv *e = new_zset(en, "z", 1), *f;
	char m[16];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		add(en, e, i, m, 0);
	}
	assert_string_equal(encoding(en, e), "listpack");
	/* Updating at the limit converts nothing; a fifth member does. */
	add(en, e, 10, "m0", 0);
	assert_string_equal(encoding(en, e), "listpack");
	add(en, e, 4, "m4", 0);
	assert_string_equal(encoding(en, e), "skiplist");
	at_is(e, 0, "m1", 1);
	at_is(e, 4, "m0", 10);
	/* The value limit: 8 bytes stay, 9 convert; a first member too long
	 * creates the big encoding at once. */
	f = new_zset(en, "v", 8);
	add(en, f, 1, "12345678", 0);
	assert_string_equal(encoding(en, f), "listpack");
	add(en, f, 1, "123456789", 0);
	assert_string_equal(encoding(en, f), "skiplist");
	f = new_zset(en, "w", 9);
	assert_string_equal(encoding(en, f), "skiplist");
	add(en, f, 1, "x", 0);
	/* Back to a listpack when a result is small enough. */
	zset_fit_listpack(&en->ks.mem, e, &en->lim, 2, 10);
	assert_string_equal(encoding(en, e), "skiplist");
	zset_del(&en->ks.mem, e, "m4", 2);
	zset_fit_listpack(&en->ks.mem, e, &en->lim, 9, 10);
	assert_string_equal(encoding(en, e), "skiplist");
	zset_fit_listpack(&en->ks.mem, e, &en->lim, 2, 8);
	assert_string_equal(encoding(en, e), "listpack");
	at_is(e, 3, "m0", 10);
	CHECK(&en->ks);
	env_free(en);
}

static void test_copy_and_move(void **state)
{
	struct env *en = env_new(2, 64), *other = env_new(2, 64);
	struct kv *big = new_zset(en, "big", 1), *c;
	size_t before;
	double s;

	(void)state;
	add(en, big, 1, "a", 0);
	add(en, big, 2, "b", 0);
	add(en, big, 3, "c", 0);
	assert_string_equal(encoding(en, big), "skiplist");
	ks_copy(&en->ks, peek(en, "big"), "big2", 4);
	CHECK(&en->ks);
	c = peek(en, "big2");
	assert_true(zset_del(&en->ks.mem, c, "a", 1));
	assert_true(zset_score(peek(en, "big"), "a", 1, &s) && s == 1);
	before = other->ks.mem.used;
	ks_rename(&en->ks, peek(en, "big"), &other->ks, "moved", 5);
	CHECK(&en->ks);
	CHECK(&other->ks);
	assert_true(other->ks.mem.used > before);
	c = peek(other, "moved");
	add(other, c, 4, "d", 0);
	at_is(c, 3, "d", 4);
	env_free(other);
	env_free(en);
}

/* ---- ranges against a naive walk ---- */

static long long naive_first(struct kv *e, const struct zset_range *r)
{
	struct zset_it it;
	long long k = 0;

	for (zset_seek(e, 0, &it); zset_it_valid(&it); zset_it_next(&it), k++)
		if (zset_gte_min(zset_it_score(&it), r))
			return zset_lte_max(zset_it_score(&it), r) ? k : -1;
	return -1;
}

static long long naive_last(struct kv *e, const struct zset_range *r)
{
	long long k = (long long)zset_len(e) - 1;
	struct zset_it it;

	for (zset_seek(e, (uint64_t)k, &it); zset_it_valid(&it); zset_it_prev(&it), k--)
		if (zset_lte_max(zset_it_score(&it), r))
			return zset_gte_min(zset_it_score(&it), r) ? k : -1;
	return -1;
}

static void check_ranges(struct kv *e, uint64_t *x)
{
	struct zset_range r;
	int i;

	for (i = 0; i < 4; i++) {
		r.min = (double)(xorshift(x) % 40) / 2;
		r.max = (double)(xorshift(x) % 40) / 2;
		r.minex = xorshift(x) % 2;
		r.maxex = xorshift(x) % 2;
		if (r.min > r.max || (r.min == r.max && (r.minex || r.maxex))) {
			assert_int_equal(zset_first_in_range(e, &r), -1);
			continue;
		}
		assert_int_equal(zset_first_in_range(e, &r), naive_first(e, &r));
		assert_int_equal(zset_last_in_range(e, &r), naive_last(e, &r));
	}
}

static void test_lex(void **state)
{
	struct env *en = env_new(4, 64);
	const char *names[] = { "a", "b", "c", "d", "e", "f" };
	struct zset_lex l;
	struct kv *e;
	int round, i;

	(void)state;
	for (round = 0; round < 2; round++) {
		e = new_zset(en, round ? "big" : "lp", 1);
		for (i = 0; i < (round ? 6 : 4); i++)
			add(en, e, 0, names[i], 0);
		assert_string_equal(encoding(en, e), round ? "skiplist" : "listpack");
		l.min = (struct zset_lex_bound){ ZLEX_STR, "b", 1, false };
		l.max = (struct zset_lex_bound){ ZLEX_STR, "c", 1, true };
		assert_int_equal(zset_first_in_lex(e, &l), 1);
		assert_int_equal(zset_last_in_lex(e, &l), 1);
		l.min = (struct zset_lex_bound){ ZLEX_MIN_INF, NULL, 0, true };
		l.max = (struct zset_lex_bound){ ZLEX_MAX_INF, NULL, 0, true };
		assert_int_equal(zset_first_in_lex(e, &l), 0);
		assert_int_equal(zset_last_in_lex(e, &l), round ? 5 : 3);
		l.min = (struct zset_lex_bound){ ZLEX_STR, "bb", 2, false };
		l.max = (struct zset_lex_bound){ ZLEX_STR, "bz", 2, false };
		assert_int_equal(zset_first_in_lex(e, &l), -1);
		l.max = (struct zset_lex_bound){ ZLEX_MIN_INF, NULL, 0, true };
		assert_int_equal(zset_last_in_lex(e, &l), -1);
	}
	env_free(en);
}

/* ---- random operations against a model ---- */

struct model {
	double score[60];
	bool in[60];
};

static void check_model(struct kv *e, const struct model *md)
{
	uint64_t n = 0;
	char m[8];
	int i;

	for (i = 0; i < 60; i++) {
		double s;
		long long rank, want = 0;
		int j;
		snprintf(m, sizeof(m), "m%d", i);
		assert_int_equal(zset_score(e, m, strlen(m), &s), md->in[i]);
		if (!md->in[i])
			continue;
		n++;
		assert_true(s == md->score[i]);
		for (j = 0; j < 60; j++) {
			char o[8];
			snprintf(o, sizeof(o), "m%d", j);
			if (md->in[j] &&
			    (md->score[j] < s || (md->score[j] == s && strcmp(o, m) < 0)))
				want++;
		}
		rank = zset_rank(e, m, strlen(m), &s);
		assert_int_equal(rank, want);
	}
	assert_int_equal(zset_len(e), n);
}

static void test_random_ops(void **state)
{
	struct env *en = env_new(16, 64);
	struct model md = { 0 };
	struct kv *e = NULL;
	uint64_t x = 42;
	int op;

	(void)state;
	for (op = 0; op < 20000; op++) {
		int i = (int)(xorshift(&x) % 60), out;
		double sc = (double)(xorshift(&x) % 40) / 2, ns;
		char m[8];
		snprintf(m, sizeof(m), "m%d", i);
		if (e == NULL)
			e = new_zset(en, "z", strlen(m));
		if (xorshift(&x) % 3 == 0) {
			assert_int_equal(zset_del(&en->ks.mem, e, m, strlen(m)), md.in[i]);
			md.in[i] = false;
		} else {
			assert_true(
				zset_add(&en->ks.mem, e, &en->lim, sc, m, strlen(m), 0, &out, &ns));
			md.in[i] = true;
			md.score[i] = sc;
		}
		if (zset_len(e) == 0) {
			ks_delete_entry(&en->ks, e);
			e = NULL;
			continue;
		}
		if (op % 50 == 0) {
			CHECK(&en->ks);
			check_model(e, &md);
			check_ranges(e, &x);
		}
	}
	env_free(en);
}

struct seen {
	int count[300];
};

static void seen_cb(void *arg, const char *m, size_t mlen, const char *s, size_t slen)
{
	struct seen *sn = arg;
	char buf[16];

	assert_true(mlen > 1 && mlen < sizeof(buf));
	memcpy(buf, m, mlen);
	buf[mlen] = '\0';
	sn->count[atoi(buf + 1)]++;
	assert_true(slen > 0);
	(void)s;
}

static void test_scan_and_ranks(void **state)
{
	struct env *en = env_new(128, 64);
	struct kv *e = new_zset(en, "z", 2);
	struct seen sn = { 0 };
	uint64_t cursor = 0;
	char m[8];
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		add(en, e, i % 7, m, 0);
	}
	assert_string_equal(encoding(en, e), "skiplist");
	do
		cursor = zset_scan(e, cursor, seen_cb, &sn);
	while (cursor != 0);
	for (i = 0; i < 300; i++)
		assert_true(sn.count[i] >= 1);
	zset_del_ranks(&en->ks.mem, e, 10, 289);
	assert_int_equal(zset_len(e), 20);
	CHECK(&en->ks);
	env_free(en);
}

/* UNLINK of a big set over Redis's free-effort threshold (65 members, not
 * 64) leaves it to the background free, which frees it in bounded steps
 * with the account exact after each (ks_check counts what is still queued);
 * a listpack, whatever its size, and a big set at the threshold are freed
 * at once. */
static void test_unlink_in_background(void **state)
{
	struct env *en = env_new(128, 64);
	struct kv *e;
	size_t empty;
	uint64_t x = 7;
	char buf[32];
	int i, steps = 1;

	(void)state;
	e = new_zset(en, "warm", 1);
	add(en, e, 1, "x", 0);
	ks_delete_entry(&en->ks, e);
	empty = en->ks.mem.used;
	e = new_zset(en, "lp", 1);
	for (i = 0; i < 128; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		add(en, e, i, buf, 0);
	}
	assert_string_equal(encoding(en, e), "listpack");
	assert_true(ks_unlink(&en->ks, "lp", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	en->lim.max_lp_entries = 0;
	e = new_zset(en, "at", 1);
	for (i = 0; i < LAZYFREE_EFFORT_THRESHOLD; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		add(en, e, i, buf, 0);
	}
	assert_string_equal(encoding(en, e), "skiplist");
	assert_true(ks_unlink(&en->ks, "at", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	/* Three levels, nodes part full after random scores and deletions. */
	e = new_zset(en, "over", 1);
	for (i = 0; i < 20000; i++) {
		int out;
		snprintf(buf, sizeof(buf), "member:%d", i);
		assert_true(zset_add(&en->ks.mem, e, &en->lim, (double)(xorshift(&x) % 5000), buf,
				     strlen(buf), 0, &out, NULL));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "member:%d", (int)(xorshift(&x) % 20000));
		zset_del(&en->ks.mem, e, buf, strlen(buf));
	}
	CHECK(&en->ks);
	assert_true(ks_unlink(&en->ks, "over", 4));
	assert_null(peek(en, "over"));
	assert_int_equal(en->ks.lazy.pending_objs, 1);
	CHECK(&en->ks);
	while (ks_lazy_step(&en->ks, 37)) {
		CHECK(&en->ks);
		steps++;
	}
	CHECK(&en->ks);
	assert_true(steps >= 15000 / 37);
	assert_int_equal(en->st.lazyfreed_objects, 1);
	assert_int_equal(en->ks.mem.used, empty);
	env_free(en);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listpack_order_and_flags),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_copy_and_move),
		cmocka_unit_test(test_lex),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_scan_and_ranks),
		cmocka_unit_test(test_unlink_in_background),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
