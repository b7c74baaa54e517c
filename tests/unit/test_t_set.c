/* test_t_set.c: unit tests of the set type (node/data/t_set.c) in the
 * keyspace.
 *
 * Goal: a set keeps exactly its members in each encoding (intset, listpack,
 * hash table), and changes encoding at each of Redis 7.2's thresholds, the
 * limit itself keeping the compact one and one past converting: an intset
 * past set-max-intset-entries, an intset given a string (to a listpack if
 * the result fits set-max-listpack-entries, the string and the widest
 * integer fit set-max-listpack-value, else to a table), a listpack past
 * either listpack limit; the size hint of a new set (setTypeCreate) and of
 * a write (setTypeMaybeConvert); a set of integers made an intset again
 * (maybeConvertToIntset). Every member survives every conversion. COPY
 * gives an independent set in the same encoding, RENAME to another
 * keyspace moves the object and its memory (a table then allocates from
 * its new account). A scan of a table returns every member, iteration each
 * exactly once, random picks reach every member. SPOP's strategies pop
 * exactly count distinct members and keep the rest, and the remainder
 * re-created takes Redis's encoding. The keyspace's invariants and its
 * memory account hold after every step (ks_check runs the type's check,
 * which holds a set to be never empty, as the commands keep it).
 *
 * Method: a keyspace holds the sets (ks_set_obj), and the set_* calls work
 * on their entries as the commands do (set_of, then set_store). Directed
 * tests pin each path with small limits; then a random-operations test
 * (fixed-seed xorshift, 20,000 operations over a pool of 60 members,
 * integers of every intset width, non-canonical integers and strings of 1
 * to 9 bytes, with limits of 12 intset entries, 8 listpack entries and 6
 * bytes; additions, removals, single and counted pops; the set starts over
 * every 151 steps) compares the set with a model after each step, and
 * requires each encoding to have held it for more than 1,000 steps. */
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
#include "data/htab.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/t_set.h"

#define CHECK(ks) assert_int_equal(ks_check(ks), 0)

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Random picks: splitmix64 (good low bits). */
static uint64_t rnd(void *arg)
{
	uint64_t *x = arg, z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct set_limits lim;
};

static struct env *env_new(uint64_t intset, uint64_t lp_entries, uint64_t lp_value)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x5e7;
	ks_init(&en->ks, &en->st, 99, rnd, &en->rs);
	en->lim.max_intset_entries = intset;
	en->lim.max_lp_entries = lp_entries;
	en->lim.max_lp_value = lp_value;
	en->lim.seed = en->ks.seed;
	return en;
}

static void env_free(struct env *en)
{
	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
}

static struct kv *peek(struct env *en, const char *key)
{
	return ks_peek(&en->ks, key, strlen(key));
}

/* A new set at key for a first member and a size hint, with that member
 * added (a set is never stored empty). */
static struct kv *new_set(struct env *en, const char *key, const char *first, uint64_t hint)
{
	struct set_member m = set_member_str(first, strlen(first));
	struct set_ref s = set_new(&en->ks.mem, &en->lim, &m, hint);
	struct kv *e;

	assert_true(set_add(&en->ks.mem, &s, &en->lim, &m));
	e = ks_set_obj(&en->ks, key, strlen(key), KV_SET, s.enc, s.obj, KS_TTL_NONE);
	CHECK(&en->ks);
	return e;
}

static bool add(struct env *en, struct kv *e, const char *v)
{
	struct set_member m = set_member_str(v, strlen(v));
	struct set_ref s = set_of(e);
	bool added = set_add(&en->ks.mem, &s, &en->lim, &m);

	set_store(e, &s);
	CHECK(&en->ks);
	return added;
}

/* Removes v; deletes the key when that was its last member, as the
 * commands do. */
static bool rem(struct env *en, struct kv *e, const char *v)
{
	struct set_member m = set_member_str(v, strlen(v));
	struct set_ref s = set_of(e);
	bool removed = set_remove(&en->ks.mem, &s, &m);

	set_store(e, &s);
	if (set_size(&s) == 0)
		ks_delete_entry(&en->ks, e);
	CHECK(&en->ks);
	return removed;
}

static bool has(struct kv *e, const char *v)
{
	struct set_member m = set_member_str(v, strlen(v));
	struct set_ref s = set_of(e);

	return set_contains(&s, &m);
}

static uint64_t size(struct kv *e)
{
	struct set_ref s = set_of(e);

	return set_size(&s);
}

static const char *encoding(struct env *en, struct kv *e)
{
	return ks_encoding_name(&en->ks, e);
}

/* Adds "0".."n-1" (or with a prefix). */
static void add_range(struct env *en, struct kv *e, const char *prefix, int from, int to)
{
	char buf[32];
	int i;

	for (i = from; i < to; i++) {
		snprintf(buf, sizeof(buf), "%s%d", prefix, i);
		assert_true(add(en, e, buf));
	}
}

static void has_range(struct kv *e, const char *prefix, int from, int to)
{
	char buf[32];
	int i;

	for (i = from; i < to; i++) {
		snprintf(buf, sizeof(buf), "%s%d", prefix, i);
		assert_true(has(e, buf));
	}
}

static void test_intset(void **state)
{
	struct env *en = env_new(16, 8, 20);
	struct kv *e = new_set(en, "s", "5", 1);

	(void)state;
	assert_string_equal(encoding(en, e), "intset");
	assert_true(add(en, e, "-70000"));
	assert_true(add(en, e, "9223372036854775807"));
	assert_false(add(en, e, "5"));
	assert_true(has(e, "-70000"));
	assert_false(has(e, "-70001"));
	assert_false(has(e, "abc"));
	assert_false(has(e, "05"));
	assert_true(rem(en, e, "-70000"));
	assert_false(rem(en, e, "-70000"));
	assert_false(rem(en, e, "x"));
	assert_int_equal(size(e), 2);
	assert_string_equal(encoding(en, e), "intset");
	/* A non-canonical integer is a string. */
	assert_true(add(en, e, "05"));
	assert_string_equal(encoding(en, e), "listpack");
	assert_true(has(e, "05"));
	assert_true(has(e, "9223372036854775807"));
	assert_false(has(e, "5 "));
	env_free(en);
}

/* set-max-intset-entries: the limit stays an intset, one past converts. */
static void test_intset_entries(void **state)
{
	struct env *en = env_new(10, 4, 8);
	struct kv *e = new_set(en, "s", "0", 1);

	(void)state;
	add_range(en, e, "", 1, 10);
	assert_string_equal(encoding(en, e), "intset");
	add_range(en, e, "", 10, 11);
	assert_string_equal(encoding(en, e), "hashtable");
	has_range(e, "", 0, 11);
	/* Never back, even when small again. */
	assert_true(rem(en, e, "3"));
	assert_string_equal(encoding(en, e), "hashtable");
	env_free(en);
}

/* An intset given a string: a listpack when the result has at most
 * set-max-listpack-entries members, else a table. */
static void test_intset_to_listpack_entries(void **state)
{
	struct env *en = env_new(100, 5, 8);
	struct kv *at = new_set(en, "at", "0", 1), *past = new_set(en, "past", "0", 1);

	(void)state;
	add_range(en, at, "", 1, 4); /* 4 integers + 1 string = 5: the limit */
	assert_true(add(en, at, "s"));
	assert_string_equal(encoding(en, at), "listpack");
	has_range(at, "", 0, 4);
	add_range(en, past, "", 1, 5); /* 5 + 1 = 6: one past */
	assert_true(add(en, past, "s"));
	assert_string_equal(encoding(en, past), "hashtable");
	has_range(past, "", 0, 5);
	assert_true(has(past, "s"));
	env_free(en);
}

/* set-max-listpack-value from an intset: the string's length, and the
 * widest integer's digits (a minus sign counts). */
static void test_intset_to_listpack_value(void **state)
{
	struct env *en = env_new(100, 50, 3);
	struct kv *e;

	(void)state;
	e = new_set(en, "a", "-99", 1);
	assert_true(add(en, e, "abc"));
	assert_string_equal(encoding(en, e), "listpack");
	e = new_set(en, "b", "-100", 1);
	assert_true(add(en, e, "abc"));
	assert_string_equal(encoding(en, e), "hashtable");
	e = new_set(en, "c", "999", 1);
	assert_true(add(en, e, "abcd"));
	assert_string_equal(encoding(en, e), "hashtable");
	assert_true(has(e, "999"));
	e = new_set(en, "d", "999", 1);
	assert_true(add(en, e, "a"));
	assert_string_equal(encoding(en, e), "listpack");
	env_free(en);
}

/* A listpack past either limit: entries, and a member's length. */
static void test_listpack_limits(void **state)
{
	struct env *en = env_new(100, 6, 4);
	struct kv *e = new_set(en, "e", "a", 1), *v = new_set(en, "v", "a", 1);

	(void)state;
	assert_string_equal(encoding(en, e), "listpack");
	add_range(en, e, "m", 1, 6);
	assert_true(add(en, e, "12")); /* an integer in a listpack */
	assert_false(add(en, e, "12"));
	assert_int_equal(size(e), 7);
	assert_string_equal(encoding(en, e), "hashtable");
	e = new_set(en, "e2", "a", 1);
	add_range(en, e, "m", 1, 6);
	assert_int_equal(size(e), 6);
	assert_string_equal(encoding(en, e), "listpack");
	assert_false(add(en, e, "m3"));
	assert_string_equal(encoding(en, e), "listpack");
	assert_true(add(en, v, "abcd"));
	assert_string_equal(encoding(en, v), "listpack");
	assert_true(add(en, v, "abcde"));
	assert_string_equal(encoding(en, v), "hashtable");
	assert_true(has(v, "a") && has(v, "abcd") && has(v, "abcde"));
	env_free(en);
}

static const char *new_enc(struct env *en, const char *first, uint64_t hint)
{
	struct set_member m = set_member_str(first, strlen(first));
	struct set_ref s = set_new(&en->ks.mem, &en->lim, &m, hint);
	const char *name = s.enc == SET_INTSET ? "intset" : s.enc == SET_LP ? "listpack" : "table";

	set_free(&en->ks.mem, &s);
	return name;
}

/* The size hints: of a new set, and of a write to an existing one. */
static void test_size_hints(void **state)
{
	struct env *en = env_new(10, 4, 8);
	struct set_member one = set_member_str("1", 1);
	struct set_ref s;

	(void)state;
	assert_string_equal(new_enc(en, "1", 10), "intset");
	assert_string_equal(new_enc(en, "1", 11), "table");
	assert_string_equal(new_enc(en, "x", 4), "listpack");
	assert_string_equal(new_enc(en, "x", 5), "table");
	en->lim.max_lp_entries = 20;
	assert_string_equal(new_enc(en, "1", 11), "listpack");
	en->lim.max_lp_entries = 4;
	s = set_new(&en->ks.mem, &en->lim, &one, 1);
	set_maybe_convert(&en->ks.mem, &s, &en->lim, 10);
	assert_int_equal(s.enc, SET_INTSET);
	set_maybe_convert(&en->ks.mem, &s, &en->lim, 11);
	assert_int_equal(s.enc, SET_HT);
	set_free(&en->ks.mem, &s);
	s = set_new_enc(&en->ks.mem, &en->lim, SET_LP);
	set_maybe_convert(&en->ks.mem, &s, &en->lim, 4);
	assert_int_equal(s.enc, SET_LP);
	set_maybe_convert(&en->ks.mem, &s, &en->lim, 5);
	assert_int_equal(s.enc, SET_HT);
	set_free(&en->ks.mem, &s);
	assert_int_equal(en->ks.mem.used, 0);
	env_free(en);
}

/* maybeConvertToIntset: a table or a listpack of integers becomes an
 * intset again, unless it holds more than an intset may. */
static void test_to_intset(void **state)
{
	struct env *en = env_new(10, 4, 8);
	struct set_member m;
	struct set_ref s = set_new_enc(&en->ks.mem, &en->lim, SET_HT);
	char buf[16];
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		m = set_member_str(buf, (size_t)snprintf(buf, sizeof(buf), "%d", i * 1000));
		assert_true(set_add(&en->ks.mem, &s, &en->lim, &m));
	}
	set_to_intset_maybe(&en->ks.mem, &s, &en->lim);
	assert_int_equal(s.enc, SET_INTSET);
	assert_int_equal(set_size(&s), 10);
	set_free(&en->ks.mem, &s);
	s = set_new_enc(&en->ks.mem, &en->lim, SET_HT);
	for (i = 0; i < 11; i++) {
		m = set_member_str(buf, (size_t)snprintf(buf, sizeof(buf), "%d", i));
		assert_true(set_add(&en->ks.mem, &s, &en->lim, &m));
	}
	set_to_intset_maybe(&en->ks.mem, &s, &en->lim);
	assert_int_equal(s.enc, SET_HT);
	set_free(&en->ks.mem, &s);
	assert_int_equal(en->ks.mem.used, 0);
	env_free(en);
}

/* COPY: an independent set in the same encoding; RENAME to another
 * keyspace: the same object, its memory moved with it. */
static void test_copy_and_move(void **state)
{
	static const char *const firsts[] = { "1", "a", "b" };
	struct env *en = env_new(8, 4, 8), *other = env_new(8, 4, 8);
	char key[16], dst[16];
	int k;

	(void)state;
	for (k = 0; k < 3; k++) {
		struct kv *e, *c;
		size_t before;
		snprintf(key, sizeof(key), "k%d", k);
		e = new_set(en, key, firsts[k], 1);
		if (k == 2)
			add_range(en, e, "m", 0, 10);
		assert_string_equal(encoding(en, e), k == 0   ? "intset"
						     : k == 1 ? "listpack"
							      : "hashtable");
		snprintf(dst, sizeof(dst), "c%d", k);
		ks_copy(&en->ks, peek(en, key), dst, strlen(dst));
		CHECK(&en->ks);
		c = peek(en, dst);
		assert_string_equal(encoding(en, c), encoding(en, peek(en, key)));
		assert_true(add(en, c, "2"));
		assert_false(has(peek(en, key), "2"));
		before = other->ks.mem.used;
		ks_rename(&en->ks, peek(en, key), &other->ks, "moved", 5);
		CHECK(&en->ks);
		CHECK(&other->ks);
		assert_true(other->ks.mem.used > before);
		/* The moved set now allocates from its new keyspace's account. */
		c = peek(other, "moved");
		add_range(other, c, "z", 0, 3);
		assert_true(has(c, firsts[k]));
		ks_delete_entry(&other->ks, c);
		CHECK(&other->ks);
	}
	env_free(other);
	env_free(en);
}

struct seen {
	int count[300];
	int total;
};

static void seen_cb(void *arg, const struct set_member *m)
{
	struct seen *s = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *t = set_member_text(m, buf, &len);
	long long i;

	assert_true(util_str2ll(t, len, &i));
	assert_true(i >= 0 && i < 300);
	s->count[i]++;
	s->total++;
}

/* A scan of a table returns every member at least once; an intset and a
 * listpack come whole at any cursor; iteration visits each once. */
static void test_scan_and_iter(void **state)
{
	struct env *en = env_new(300, 300, 8);
	struct kv *e = new_set(en, "s", "0", 1);
	static struct seen s;
	struct set_member m;
	struct set_iter it;
	struct set_ref r;
	uint64_t cursor = 0;
	int i;

	(void)state;
	add_range(en, e, "", 1, 10);
	r = set_of(e);
	memset(&s, 0, sizeof(s));
	assert_int_equal(set_scan(&r, 123, seen_cb, &s), 0);
	assert_int_equal(s.total, 10);
	en->lim.max_intset_entries = 50;
	add_range(en, e, "", 10, 300);
	assert_string_equal(encoding(en, e), "hashtable");
	r = set_of(e);
	memset(&s, 0, sizeof(s));
	do
		cursor = set_scan(&r, cursor, seen_cb, &s);
	while (cursor != 0);
	for (i = 0; i < 300; i++)
		assert_true(s.count[i] >= 1);
	memset(&s, 0, sizeof(s));
	set_iter_init(&it, &r);
	while (set_iter_next(&it, &m))
		seen_cb(&s, &m);
	for (i = 0; i < 300; i++)
		assert_int_equal(s.count[i], 1);
	env_free(en);
}

/* An iterator's positions name the members it returned. */
static void positions_match(const struct set_ref *r)
{
	char b1[UTIL_LL_CHARS], b2[UTIL_LL_CHARS];
	struct set_member m, at;
	struct set_iter it;
	size_t l1, l2;

	set_iter_init(&it, r);
	while (set_iter_next(&it, &m)) {
		const char *t1 = set_member_text(&m, b1, &l1), *t2;
		set_member_at(r, set_iter_pos(&it), &at);
		t2 = set_member_text(&at, b2, &l2);
		assert_int_equal(l1, l2);
		assert_memory_equal(t1, t2, l1);
	}
}

/* Random positions are members, in every encoding; over many draws every
 * member comes up; an iterator's positions are the same kind. */
static void test_random(void **state)
{
	struct env *en = env_new(20, 40, 8);
	struct kv *e = new_set(en, "s", "0", 1);
	static struct seen s;
	int round, i;

	(void)state;
	for (round = 0; round < 3; round++) {
		int n = round == 0 ? 20 : round == 1 ? 30 : 200;
		struct set_ref r;
		if (round == 1)
			assert_true(add(en, e, "x")); /* a listpack now */
		add_range(en, e, "", round == 0 ? 1 : round == 1 ? 20 : 30, n);
		r = set_of(e);
		memset(&s, 0, sizeof(s));
		for (i = 0; i < n * 60; i++) {
			struct set_member m;
			set_member_at(&r, set_random(&r, rnd, &en->rs), &m);
			if (!m.is_int && m.len == 1 && m.p[0] == 'x')
				continue;
			seen_cb(&s, &m);
		}
		for (i = 0; i < n; i++)
			assert_true(s.count[i] > 0);
		assert_string_equal(encoding(en, e), round == 0   ? "intset"
						     : round == 1 ? "listpack"
								  : "hashtable");
		positions_match(&r);
	}
	env_free(en);
}

/* SPOP with a count: count distinct members go, the rest stay. */
static void pop_and_check(struct env *en, const char *key, uint64_t count, const char *want_enc)
{
	static struct seen s;
	struct kv *e = peek(en, key);
	struct set_ref r = set_of(e);
	uint64_t before = set_size(&r);
	int i;

	memset(&s, 0, sizeof(s));
	set_pop_count(&en->ks.mem, &r, &en->lim, count, rnd, &en->rs, seen_cb, &s);
	set_store(e, &r);
	CHECK(&en->ks);
	assert_int_equal(s.total, count);
	assert_int_equal(set_size(&r), before - count);
	for (i = 0; i < 300; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		assert_true(s.count[i] <= 1);
		if (s.count[i])
			assert_false(has(e, buf));
	}
	assert_string_equal(encoding(en, e), want_enc);
}

static void test_pop(void **state)
{
	struct env *en = env_new(100, 50, 8);
	struct kv *e;

	(void)state;
	/* An intset: picks one at a time, then the remainder re-created. */
	e = new_set(en, "i", "0", 1);
	add_range(en, e, "", 1, 100);
	pop_and_check(en, "i", 10, "intset");
	pop_and_check(en, "i", 80, "intset");
	/* A listpack, both proportions. */
	e = new_set(en, "l", "x", 1);
	add_range(en, e, "", 0, 40);
	assert_true(rem(en, e, "x"));
	pop_and_check(en, "l", 5, "listpack");
	pop_and_check(en, "l", 34, "listpack");
	assert_int_equal(size(peek(en, "l")), 1);
	/* A table: one at a time; then the remainder, a listpack again. */
	e = new_set(en, "t", "x", 1);
	add_range(en, e, "", 0, 200);
	assert_true(rem(en, e, "x"));
	pop_and_check(en, "t", 20, "hashtable");
	pop_and_check(en, "t", 170, "listpack");
	assert_int_equal(size(peek(en, "t")), 10);
	/* A table whose re-created remainder grows too big for a listpack. */
	e = new_set(en, "u", "x", 1);
	add_range(en, e, "", 0, 300);
	assert_true(rem(en, e, "x"));
	en->lim.max_lp_entries = 10;
	pop_and_check(en, "u", 270, "hashtable");
	assert_int_equal(size(peek(en, "u")), 30);
	env_free(en);
}

/* Random operations against a model, with small limits. */
#define M_POOL 60
struct model {
	bool in[M_POOL];
};

static void pool_member(int i, char *buf)
{
	static const char *const strs[] = { "a",  "bb", "ccc", "dddddd", "eeeeeee", "012",
					    "-0", "+1", " 1",  "1.5",    "x\001y",  "fffffffff" };
	static const long long ints[] = { 0,
					  1,
					  -1,
					  127,
					  -32768,
					  32767,
					  32768,
					  -2147483648LL,
					  2147483647,
					  4294967296LL,
					  -9223372036854775807LL - 1,
					  9223372036854775807LL };

	if (i < 12)
		snprintf(buf, 32, "%s", strs[i]);
	else if (i < 24)
		snprintf(buf, 32, "%lld", ints[i - 12]);
	else
		snprintf(buf, 32, "%d", (i - 24) * 37 - 500);
}

static int pool_index(const char *t, size_t len)
{
	char buf[32];
	int i;

	for (i = 0; i < M_POOL; i++) {
		pool_member(i, buf);
		if (strlen(buf) == len && memcmp(buf, t, len) == 0)
			return i;
	}
	fail_msg("not a pool member: %.*s", (int)len, t);
	return -1;
}

static void m_check(struct env *en, const struct model *md)
{
	struct kv *e = peek(en, "s");
	uint64_t n = 0;
	char buf[32];
	int i;

	for (i = 0; i < M_POOL; i++)
		n += md->in[i];
	if (n == 0) {
		assert_null(e);
		return;
	}
	assert_non_null(e);
	assert_int_equal(size(e), n);
	for (i = 0; i < M_POOL; i++) {
		pool_member(i, buf);
		assert_int_equal(has(e, buf), md->in[i]);
	}
	CHECK(&en->ks);
}

struct pop_acc {
	struct model *md;
};

static void m_pop_cb(void *arg, const struct set_member *m)
{
	struct pop_acc *a = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *t = set_member_text(m, buf, &len);
	int i = pool_index(t, len);

	assert_true(a->md->in[i]);
	a->md->in[i] = false;
}

static void m_pop(struct env *en, struct model *md, struct kv *e, uint64_t r)
{
	struct pop_acc a = { .md = md };
	struct set_ref s = set_of(e);
	uint64_t n = set_size(&s), count = (r >> 24) % n;

	if (count == 0) {
		set_pop_one(&en->ks.mem, &s, rnd, &en->rs, m_pop_cb, &a);
	} else {
		set_pop_count(&en->ks.mem, &s, &en->lim, count, rnd, &en->rs, m_pop_cb, &a);
	}
	set_store(e, &s);
	if (set_size(&s) == 0)
		ks_delete_entry(&en->ks, e);
}

static void m_step(struct env *en, struct model *md)
{
	uint64_t r = xorshift(&en->rs);
	int i = (int)(r % M_POOL), op = (int)((r >> 8) % 10);

	/* Strings (the first 12) three times in four become integers, so
	 * intsets live a while. */
	if (i < 12 && (r >> 40) % 4 != 0)
		i += 12 + (int)((r >> 44) % 36);
	struct kv *e = peek(en, "s");
	char buf[32];

	pool_member(i, buf);
	if (op < 6) {
		if (e == NULL) {
			e = new_set(en, "s", buf, 1 + (r >> 16) % 16);
			md->in[i] = true;
			return;
		}
		assert_int_equal(add(en, e, buf), !md->in[i]);
		md->in[i] = true;
	} else if (e == NULL) {
		return;
	} else if (op < 9) {
		assert_int_equal(rem(en, e, buf), md->in[i]);
		md->in[i] = false;
	} else {
		m_pop(en, md, e, r);
	}
}

static void test_random_ops(void **state)
{
	struct env *en = env_new(12, 8, 6);
	struct model md = { 0 };
	int i, encs[3] = { 0 };

	(void)state;
	for (i = 0; i < 20000; i++) {
		m_step(en, &md);
		m_check(en, &md);
		if (peek(en, "s") != NULL)
			encs[kv_obj_enc(peek(en, "s"))]++;
		/* Now and then start over, so the compact encodings run again. */
		if (i % 151 == 0 && peek(en, "s") != NULL) {
			ks_delete_entry(&en->ks, peek(en, "s"));
			memset(&md, 0, sizeof(md));
		}
	}
	/* Every encoding ran a good share of the steps. */
	for (i = 0; i < 3; i++)
		assert_true(encs[i] > 1000);
	env_free(en);
}

/* UNLINK of a table set over Redis's free-effort threshold (65 members,
 * not 64) leaves it to the background free, which frees it in bounded
 * steps with the account exact after each; a table mid-resize (both
 * tables in use) frees whole too. */
static void test_unlink_in_background(void **state)
{
	struct env *en = env_new(4, 4, 64);
	struct kv *e;
	size_t empty;
	int steps = 1;

	(void)state;
	e = new_set(en, "warm", "x", 1);
	ks_delete_entry(&en->ks, e);
	empty = en->ks.mem.used;
	e = new_set(en, "at", "s0", 1);
	add_range(en, e, "s", 1, LAZYFREE_EFFORT_THRESHOLD);
	assert_true(ks_unlink(&en->ks, "at", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	e = new_set(en, "over", "s0", 1);
	add_range(en, e, "s", 1, 1000);
	assert_string_equal(encoding(en, e), "hashtable");
	/* Grow on until a resize is under way, so both tables hold members. */
	for (int i = 1000; ((struct htab *)kv_obj(e))->rehash < 0; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "s%d", i);
		assert_true(i < 5000);
		assert_true(add(en, e, buf));
	}
	assert_true(ks_unlink(&en->ks, "over", 4));
	assert_int_equal(en->ks.lazy.pending_objs, 1);
	CHECK(&en->ks);
	while (ks_lazy_step(&en->ks, 37)) {
		CHECK(&en->ks);
		steps++;
	}
	CHECK(&en->ks);
	assert_true(steps >= 1000 / 37);
	assert_int_equal(en->st.lazyfreed_objects, 1);
	assert_int_equal(en->ks.mem.used, empty);
	env_free(en);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intset),
		cmocka_unit_test(test_intset_entries),
		cmocka_unit_test(test_intset_to_listpack_entries),
		cmocka_unit_test(test_intset_to_listpack_value),
		cmocka_unit_test(test_listpack_limits),
		cmocka_unit_test(test_size_hints),
		cmocka_unit_test(test_to_intset),
		cmocka_unit_test(test_copy_and_move),
		cmocka_unit_test(test_scan_and_iter),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_unlink_in_background),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
