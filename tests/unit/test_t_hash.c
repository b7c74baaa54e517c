/* test_t_hash.c: unit tests of the hash type (node/data/t_hash.c) in the
 * keyspace.
 *
 * Goal: a hash keeps its fields and values exactly in both encodings
 * (listpack and hash table), turns into a table at each threshold of
 * hash-max-listpack-entries and hash-max-listpack-value (one past the limit
 * converts, the limit itself does not) and keeps every field across the
 * conversion; big values are kept by reference; COPY gives an independent
 * hash, RENAME to another keyspace moves the object and its memory; a scan
 * of a table returns every field; and the keyspace's invariants and memory
 * account hold after every step (ks_check runs the type's own check too,
 * which holds a hash to be never empty, as the commands keep it: a test
 * creates a hash right before its first field). UNLINK of a hash whose
 * free effort passes Redis's threshold (65 fields, not 64) leaves it to the
 * background free, which frees it in bounded steps with the account exact
 * after each; an async flush frees a big hash in steps of its own.
 *
 * Method: a keyspace holds the hashes (ks_set_obj), and the hash_* calls
 * work on their entries as the commands do. Directed tests pin each path;
 * then a random-operations test (fixed-seed xorshift, 20,000 operations
 * over 40 fields with small limits, so both encodings and the conversion
 * run often) compares every read with a model kept in an array. */
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
#include "base/val.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/t_hash.h"
#include "unit_ks.h"

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct hash_limits lim;
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

static struct kv *new_hash(struct env *en, const char *key)
{
	struct kv *e = ks_set_obj(&en->ks, key, strlen(key), KV_HASH, HASH_LP,
				  hash_new(&en->ks.mem), KS_TTL_NONE);

	assert_int_equal(e->type, KV_HASH);
	return e;
}

static struct kv *peek(struct env *en, const char *key)
{
	return ks_peek(&en->ks, key, strlen(key));
}

static bool set(struct env *en, struct kv *e, const char *f, const char *v)
{
	bool added = hash_set(&en->ks.mem, e, &en->lim, f, strlen(f), v, strlen(v), NULL);

	CHECK(&en->ks);
	return added;
}

/* The value of f, which must be there, is v. */
static void value_is(struct kv *e, const char *f, const char *v, size_t vlen)
{
	char buf[UTIL_LL_CHARS];
	struct hash_val hv;
	const char *p;
	size_t n;

	assert_true(hash_get(e, f, strlen(f), &hv));
	p = hash_val_text(&hv, buf, &n);
	assert_int_equal(n, vlen);
	assert_memory_equal(p, v, vlen);
	assert_int_equal(hash_val_len(&hv), vlen);
}

static const char *encoding(struct env *en, struct kv *e)
{
	return ks_encoding_name(&en->ks, e);
}

static void test_listpack(void **state)
{
	struct env *en = env_new(8, 16);
	struct kv *e = new_hash(en, "h");
	struct hash_val hv;

	(void)state;
	assert_true(set(en, e, "a", "1"));
	assert_true(set(en, e, "b", "text"));
	assert_true(set(en, e, "12", "-42"));
	assert_false(set(en, e, "b", "other"));
	assert_int_equal(hash_len(e), 3);
	value_is(e, "a", "1", 1);
	value_is(e, "b", "other", 5);
	value_is(e, "12", "-42", 3);
	assert_true(hash_get(e, "12", 2, &hv));
	assert_true(hv.is_int);
	assert_int_equal(hv.ival, -42);
	assert_false(hash_get(e, "c", 1, &hv));
	assert_string_equal(encoding(en, e), "listpack");
	assert_true(hash_del(&en->ks.mem, e, "a", 1));
	assert_false(hash_del(&en->ks.mem, e, "a", 1));
	CHECK(&en->ks);
	assert_int_equal(hash_len(e), 2);
	value_is(e, "b", "other", 5);
	env_free(en);
}

/* One field past hash-max-listpack-entries converts; the limit itself
 * does not; every field survives. */
static void test_convert_on_entries(void **state)
{
	struct env *en = env_new(4, 64);
	struct kv *e = new_hash(en, "h");
	char f[16], v[16];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		set(en, e, f, v);
	}
	assert_string_equal(encoding(en, e), "listpack");
	set(en, e, "f4", "v4");
	assert_string_equal(encoding(en, e), "hashtable");
	assert_int_equal(hash_len(e), 5);
	for (i = 0; i < 5; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		value_is(e, f, v, strlen(v));
	}
	/* A table never goes back, even when small again (as Redis). */
	for (i = 0; i < 4; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		assert_true(hash_del(&en->ks.mem, e, f, strlen(f)));
		CHECK(&en->ks);
	}
	assert_string_equal(encoding(en, e), "hashtable");
	env_free(en);
}

/* A field or value longer than hash-max-listpack-value converts, before
 * the write; exactly the limit does not. */
static void test_convert_on_value(void **state)
{
	struct env *en = env_new(128, 8);
	struct kv *e = new_hash(en, "h"), *e2;

	(void)state;
	set(en, e, "f", "12345678");
	set(en, e, "12345678", "v");
	assert_string_equal(encoding(en, e), "listpack");
	assert_false(hash_needs_table(&en->lim, 8, 8));
	assert_true(hash_needs_table(&en->lim, 9, 1));
	set(en, e, "g", "123456789");
	assert_string_equal(encoding(en, e), "hashtable");
	value_is(e, "f", "12345678", 8);
	value_is(e, "12345678", "v", 1);
	value_is(e, "g", "123456789", 9);
	e2 = new_hash(en, "h2");
	set(en, e2, "123456789", "v");
	assert_string_equal(encoding(en, e2), "hashtable");
	value_is(e2, "123456789", "v", 1);
	env_free(en);
}

/* A value of VAL_REF_MIN bytes or more in a table is a refcounted buffer,
 * adopted from the argument when given, and replaced cleanly. */
static void test_big_values(void **state)
{
	struct env *en = env_new(128, 64);
	struct kv *e = new_hash(en, "h");
	char *big = malloc(VAL_REF_MIN + 10);
	struct val *arg;
	struct hash_val hv;

	(void)state;
	memset(big, 'x', VAL_REF_MIN + 10);
	arg = val_copy(big, VAL_REF_MIN + 10);
	assert_true(hash_set(&en->ks.mem, e, &en->lim, "f", 1, arg->data, arg->len, arg));
	CHECK(&en->ks);
	assert_string_equal(encoding(en, e), "hashtable");
	assert_true(hash_get(e, "f", 1, &hv));
	assert_ptr_equal(hv.ref, arg); /* adopted, not copied */
	value_is(e, "f", big, VAL_REF_MIN + 10);
	assert_false(set(en, e, "f", "small"));
	value_is(e, "f", "small", 5);
	val_unref(arg);
	free(big);
	env_free(en);
}

/* COPY: an independent hash in the same encoding; RENAME to another
 * keyspace: the same object, its memory moved with it. */
static void test_copy_and_move(void **state)
{
	struct env *en = env_new(2, 64), *other = env_new(2, 64);
	struct kv *lp = new_hash(en, "small"), *ht, *c;
	size_t before;

	(void)state;
	set(en, lp, "a", "1");
	ht = new_hash(en, "big");
	set(en, ht, "a", "1");
	set(en, ht, "b", "2");
	set(en, ht, "c", "3");
	assert_string_equal(encoding(en, ht), "hashtable");
	ks_copy(&en->ks, peek(en, "small"), "small2", 6);
	ks_copy(&en->ks, peek(en, "big"), "big2", 4);
	CHECK(&en->ks);
	c = peek(en, "big2");
	assert_string_equal(encoding(en, c), "hashtable");
	assert_true(hash_del(&en->ks.mem, c, "a", 1));
	value_is(peek(en, "big"), "a", "1", 1);
	assert_string_equal(encoding(en, peek(en, "small2")), "listpack");
	CHECK(&en->ks);
	before = other->ks.mem.used;
	ks_rename(&en->ks, peek(en, "big"), &other->ks, "moved", 5);
	CHECK(&en->ks);
	CHECK(&other->ks);
	assert_true(other->ks.mem.used > before);
	/* The table now allocates from its new keyspace's account. */
	c = peek(other, "moved");
	set(other, c, "d", "4");
	value_is(c, "c", "3", 1);
	env_free(other);
	env_free(en);
}

struct seen {
	int count[200];
};

static void seen_cb(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct seen *s = arg;
	long long i;

	(void)v;
	assert_true(util_str2ll(f + 1, flen - 1, &i));
	assert_true(i >= 0 && i < 200);
	s->count[i]++;
}

/* A scan of a table returns every field at least once; a listpack comes
 * whole at cursor 0; hash_each visits each once. */
static void test_scan_each(void **state)
{
	struct env *en = env_new(16, 64);
	struct kv *e = new_hash(en, "h");
	struct seen s = { 0 };
	uint64_t cursor = 0;
	char f[16];
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		set(en, e, f, "v");
	}
	assert_int_equal(hash_scan(e, 123, seen_cb, &s), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(s.count[i], 1);
	for (i = 10; i < 200; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		set(en, e, f, "v");
	}
	memset(&s, 0, sizeof(s));
	do
		cursor = hash_scan(e, cursor, seen_cb, &s);
	while (cursor != 0);
	for (i = 0; i < 200; i++)
		assert_true(s.count[i] >= 1);
	memset(&s, 0, sizeof(s));
	hash_each(e, seen_cb, &s);
	for (i = 0; i < 200; i++)
		assert_int_equal(s.count[i], 1);
	env_free(en);
}

static void pick_cb(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	seen_cb(arg, f, flen, v);
}

/* Random positions are fields of the hash, in both encodings, and over
 * many draws every field comes up. */
static void test_random(void **state)
{
	struct env *en = env_new(16, 64);
	struct kv *e = new_hash(en, "h");
	struct seen s = { 0 };
	char f[16];
	int i, round;

	(void)state;
	for (round = 0; round < 2; round++) {
		int n = round == 0 ? 10 : 100;
		for (i = 0; i < n; i++) {
			snprintf(f, sizeof(f), "f%d", i);
			set(en, e, f, "v");
		}
		memset(&s, 0, sizeof(s));
		for (i = 0; i < n * 50; i++)
			hash_read(e, hash_random(e, rnd, &en->rs), pick_cb, &s);
		for (i = 0; i < n; i++)
			assert_true(s.count[i] > 0);
	}
	assert_string_equal(encoding(en, e), "hashtable");
	env_free(en);
}

/* Random operations against a model, with small limits. */
#define M_FIELDS 40
struct model {
	bool present[M_FIELDS];
	char val[M_FIELDS][24];
};

static void m_check(struct env *en, const struct model *m)
{
	struct kv *e = peek(en, "h");
	uint64_t n = 0;
	char f[16];
	int i;

	for (i = 0; i < M_FIELDS; i++)
		n += m->present[i];
	if (n == 0) {
		assert_null(e);
		return;
	}
	assert_non_null(e);
	assert_int_equal(hash_len(e), n);
	for (i = 0; i < M_FIELDS; i++) {
		struct hash_val hv;
		snprintf(f, sizeof(f), "f%d", i);
		if (!m->present[i]) {
			assert_false(hash_get(e, f, strlen(f), &hv));
			continue;
		}
		value_is(e, f, m->val[i], strlen(m->val[i]));
	}
}

static void m_step(struct env *en, struct model *m)
{
	uint64_t r = xorshift(&en->rs);
	int i = (int)(r % M_FIELDS);
	struct kv *e = peek(en, "h");
	char f[16];

	snprintf(f, sizeof(f), "f%d", i);
	if ((r >> 8) % 3 == 0) {
		bool had = m->present[i];
		if (e == NULL)
			return;
		assert_int_equal(hash_del(&en->ks.mem, e, f, strlen(f)), had);
		m->present[i] = false;
		if (hash_len(e) == 0)
			ks_delete_entry(&en->ks, e);
		return;
	}
	if (e == NULL)
		e = new_hash(en, "h");
	/* Values of 1 to 20 bytes, some integers: the limit of 12 is passed
	 * now and then. */
	if ((r >> 16) % 2)
		snprintf(m->val[i], sizeof(m->val[i]), "%lld", (long long)(r >> 20) % 100000 - 500);
	else
		snprintf(m->val[i], sizeof(m->val[i]), "%.*s", (int)((r >> 24) % 20 + 1),
			 "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(set(en, e, f, m->val[i]), !m->present[i]);
	m->present[i] = true;
}

static void test_random_ops(void **state)
{
	struct env *en = env_new(10, 12);
	struct model m = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		m_step(en, &m);
		m_check(en, &m);
		CHECK(&en->ks);
		/* Now and then start over, so the listpack runs again. */
		if (i % 997 == 0 && peek(en, "h") != NULL) {
			ks_delete_entry(&en->ks, peek(en, "h"));
			memset(&m, 0, sizeof(m));
		}
	}
	env_free(en);
}

/* A hash table of n fields "f0".. under key. */
static struct kv *table_hash(struct env *en, const char *key, int n, int64_t expire_ms)
{
	struct kv *e = ks_set_obj(&en->ks, key, strlen(key), KV_HASH, HASH_LP,
				  hash_new(&en->ks.mem), expire_ms);
	char f[16];

	for (int i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		hash_set(&en->ks.mem, e, &en->lim, f, strlen(f), "v", 1, NULL);
	}
	return e;
}

/* Frees the background work in steps of `step` units, checking the
 * keyspace after each; returns the number of steps. */
static int drain(struct env *en, unsigned step)
{
	int steps = 1;

	while (ks_lazy_step(&en->ks, step)) {
		CHECK(&en->ks);
		steps++;
	}
	CHECK(&en->ks);
	return steps;
}

static void test_unlink_in_background(void **state)
{
	struct env *en = env_new(4, 64);
	size_t empty;

	(void)state;
	/* The keyspace's table and TTL index, allocated for the first key and
	 * the first TTL, stay. */
	table_hash(en, "warm", 1, 1700000000000);
	assert_true(ks_delete(&en->ks, "warm", 4));
	empty = en->ks.mem.used;
	/* Effort 64 (Redis's threshold) is freed at once; 65 waits. */
	table_hash(en, "at", LAZYFREE_EFFORT_THRESHOLD, KS_TTL_NONE);
	assert_true(ks_unlink(&en->ks, "at", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	table_hash(en, "over", LAZYFREE_EFFORT_THRESHOLD + 1, 1700000000000);
	assert_true(ks_unlink(&en->ks, "over", 4));
	assert_null(peek(en, "over"));
	assert_int_equal(en->ks.lazy.pending_objs, 1);
	assert_true(en->ks.mem.used > empty);
	CHECK(&en->ks);
	/* 65 fields and their buckets in steps of 10 units. */
	assert_true(drain(en, 10) >= 7);
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->st.lazyfreed_objects, 1);
	assert_int_equal(en->ks.mem.used, empty);
	/* A listpack and a missing key. */
	new_hash(en, "lp");
	set(en, peek(en, "lp"), "a", "b");
	assert_true(ks_unlink(&en->ks, "lp", 2));
	assert_false(ks_unlink(&en->ks, "lp", 2));
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	assert_int_equal(en->ks.mem.used, empty);
	env_free(en);
}

/* A big hash's fields live in its table's own heap (indirect cells, then
 * past 4096 fields a slab of its own), never in the keyspace's slab: moved
 * to another keyspace, it keeps every field after the keyspace it came
 * from is emptied and freed, takes new fields and loses old ones there,
 * and is freed in the background there with both accounts exact. */
static void test_big_hash_moves_with_its_heap(void **state)
{
	struct env *en = env_new(4, 64), *other = env_new(4, 64);
	struct kv *e;
	char f[16];
	int i;

	(void)state;
	table_hash(en, "big", 5000, KS_TTL_NONE);
	table_hash(en, "stay", 100, KS_TTL_NONE);
	/* A copy has a heap (and a slab) of its own. */
	ks_copy(&en->ks, peek(en, "big"), "big2", 4);
	assert_true(hash_del(&en->ks.mem, peek(en, "big2"), "f4999", 5));
	value_is(peek(en, "big"), "f4999", "v", 1);
	CHECK(&en->ks);
	ks_rename(&en->ks, peek(en, "big"), &other->ks, "moved", 5);
	CHECK(&en->ks);
	CHECK(&other->ks);
	/* The source keyspace goes entirely (its slab too). */
	ks_flush(&en->ks, false);
	CHECK(&en->ks);
	env_free(en);
	e = peek(other, "moved");
	assert_non_null(e);
	assert_int_equal(hash_len(e), 5000);
	for (i = 0; i < 5000; i += 37) {
		snprintf(f, sizeof(f), "f%d", i);
		value_is(e, f, "v", 1);
	}
	for (i = 0; i < 4500; i += 2) {
		snprintf(f, sizeof(f), "f%d", i);
		assert_true(hash_del(&other->ks.mem, e, f, strlen(f)));
	}
	for (i = 5000; i < 5300; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		assert_true(set(other, e, f, "w"));
	}
	value_is(e, "f5299", "w", 1);
	value_is(e, "f4999", "v", 1);
	value_is(e, "f1", "v", 1);
	assert_int_equal(hash_len(e), 5000 - 2250 + 300);
	CHECK(&other->ks);
	assert_true(ks_unlink(&other->ks, "moved", 5));
	drain(other, 500);
	env_free(other);
}

/* An async flush frees its entries in steps, and a big hash among them in
 * steps of its own rather than whole in one. */
static void test_flush_frees_big_values_in_steps(void **state)
{
	struct env *en = env_new(4, 64);
	size_t empty = en->ks.mem.used;

	(void)state;
	table_hash(en, "big", 1000, KS_TTL_NONE);
	table_hash(en, "small", 3, KS_TTL_NONE);
	ks_flush(&en->ks, true);
	assert_int_equal(en->ks.lazy.pending, 2);
	CHECK(&en->ks);
	assert_true(drain(en, 50) >= 20);
	assert_int_equal(en->ks.lazy.pending, 0);
	assert_int_equal(en->ks.lazy.pending_objs, 0);
	/* Two entries, and the big hash freed on its own. */
	assert_int_equal(en->st.lazyfreed_objects, 3);
	assert_int_equal(en->ks.mem.used, empty);
	env_free(en);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listpack),
		cmocka_unit_test(test_convert_on_entries),
		cmocka_unit_test(test_convert_on_value),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_copy_and_move),
		cmocka_unit_test(test_big_hash_moves_with_its_heap),
		cmocka_unit_test(test_scan_each),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_unlink_in_background),
		cmocka_unit_test(test_flush_frees_big_values_in_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
