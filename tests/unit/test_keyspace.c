/* test_keyspace.c: unit tests of node/data/keyspace.c (entries, values, TTLs,
 * expiry, lazy flush) and node/base/val.c.
 *
 * Goal: values are stored with the encoding Redis would report and read back
 * byte for byte; every write path (replace in place or not, with or without a
 * TTL, KS_TTL_KEEP, edits that grow an inline value into a referenced one,
 * copy-on-write of a value a reply still holds, TTL set and removed, rename,
 * copy, flush) keeps the hash table, the TTL index and the memory account
 * exact; keys expire when now > expire and not before; active expiry and lazy
 * freeing keep their budgets.
 *
 * Method: ks_check() (which recomputes the table, the TTL index and the
 * memory account) must return 0 after every mutating call. Directed tests pin
 * each path; then a random-operations test (fixed-seed xorshift, 200k ops
 * over 48 keys with TTLs, edits, renames, copies, flushes, held references
 * and time moving forward) compares every read with a simple model kept in
 * an array, and checks at the end that ks_free() returns all memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/stats.h"
#include "base/util.h"
#include "base/val.h"
#include "data/expire.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/kv.h"
#include "unit_ks.h"

#define NOW0 1700000000000LL

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->rs = 0x1234567;
	ks_init(&e->ks, &e->st, 0xabcdefull, rnd, &e->rs);
	e->ks.now_ms = NOW0;
	CHECK(&e->ks);
	return e;
}

static void env_free(struct env *e)
{
	CHECK(&e->ks);
	ks_free(&e->ks);
	assert_int_equal(e->ks.mem.used, 0);
	free(e);
}

static unsigned refs(struct val *v)
{
	return atomic_load(&v->refs);
}

static struct kv *set_bytes(struct keyspace *ks, const char *key, const char *p, size_t n,
			    int64_t expire)
{
	struct kval v;
	struct kv *e;

	str_kval(&v, p, n, NULL);
	e = ks_set(ks, key, strlen(key), &v, expire);
	CHECK(ks);
	return e;
}

static struct kv *set_str(struct keyspace *ks, const char *key, const char *s, int64_t expire)
{
	return set_bytes(ks, key, s, strlen(s), expire);
}

/* The key's value is exactly want[0, n). */
static void value_is(struct keyspace *ks, const char *key, const char *want, size_t n)
{
	struct kv *e = ks_peek(ks, key, strlen(key));
	char buf[UTIL_LL_CHARS];
	const char *p;
	size_t len;

	if (e == NULL)
		fail_msg("key %s missing", key);
	p = str_value(e, buf, &len);
	assert_int_equal(len, n);
	assert_int_equal(str_value_len(e), n);
	assert_memory_equal(p, want, n);
}

static char *pattern(size_t n, unsigned seed)
{
	char *p = malloc(n + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 31 + seed) % 26);
	p[n] = '\0';
	return p;
}

/* ---- values ---- */

/* A val holds its bytes followed by CRLF, counts references, and grows in
 * place of itself while nobody else holds it. */
static void test_val_basics(void **state)
{
	struct val *v = val_copy("abc", 3), *w;

	(void)state;
	assert_int_equal(v->len, 3);
	assert_true(v->cap >= 5);
	assert_memory_equal(v->data, "abc\r\n", 5);
	assert_int_equal(refs(v), 1);
	assert_true(val_size(v) >= sizeof(*v) + v->cap);
	assert_ptr_equal(val_ref(v), v);
	assert_int_equal(refs(v), 2);
	val_unref(v);
	assert_int_equal(refs(v), 1);
	w = val_grow(v, 10000);
	assert_int_equal(w->cap, 10000);
	assert_int_equal(w->len, 3);
	assert_memory_equal(w->data, "abc\r\n", 5);
	memset(w->data + 3, 'z', 9000);
	val_seal(w, 9003);
	assert_memory_equal(w->data + 9003, "\r\n", 2);
	val_unref(w);
	v = val_copy("", 0);
	assert_memory_equal(v->data, "\r\n", 2);
	val_unref(v);
	val_unref(NULL); /* allowed, as free(NULL) */
}

/* ---- encodings ---- */

static void test_kval_encodings(void **state)
{
	static const struct {
		const char *s;
		uint8_t enc;
		const char *name;
	} cases[] = {
		{ "123", KV_INT, "int" },
		{ "-5", KV_INT, "int" },
		{ "0", KV_INT, "int" },
		{ "9223372036854775807", KV_INT, "int" },
		{ "-9223372036854775808", KV_INT, "int" },
		{ "9223372036854775808", KV_EMB, "embstr" },
		{ "-9223372036854775809", KV_EMB, "embstr" },
		{ "01", KV_EMB, "embstr" },
		{ "+1", KV_EMB, "embstr" },
		{ " 1", KV_EMB, "embstr" },
		{ "1 ", KV_EMB, "embstr" },
		{ "-0", KV_EMB, "embstr" },
		{ "1.5", KV_EMB, "embstr" },
		{ "", KV_EMB, "embstr" },
	};
	struct env *en = env_new();
	struct kval v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kv *e;
		str_kval(&v, cases[i].s, strlen(cases[i].s), NULL);
		if (v.enc != cases[i].enc)
			fail_msg("\"%s\": enc %d, want %d", cases[i].s, v.enc, cases[i].enc);
		e = ks_set(&en->ks, "k", 1, &v, KS_TTL_NONE);
		CHECK(&en->ks);
		assert_string_equal(ks_encoding_name(&en->ks, e), cases[i].name);
		value_is(&en->ks, "k", cases[i].s, strlen(cases[i].s));
	}
	str_kval(&v, "123", 3, NULL);
	assert_int_equal(v.i, 123);
	env_free(en);
}

static void test_kval_lengths(void **state)
{
	static const struct {
		size_t len;
		uint8_t enc;
		const char *name;
	} cases[] = {
		{ STR_EMBSTR_MAX, KV_EMB, "embstr" }, { STR_EMBSTR_MAX + 1, KV_RAW, "raw" },
		{ VAL_REF_MIN - 1, KV_RAW, "raw" },   { VAL_REF_MIN, KV_REF, "raw" },
		{ VAL_REF_MIN + 1, KV_REF, "raw" },
	};
	struct env *en = env_new();
	struct val *big = val_new(VAL_REF_MIN + 2);
	struct kval v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = pattern(cases[i].len, (unsigned)i);
		struct kv *e;
		str_kval(&v, s, cases[i].len, NULL);
		assert_int_equal(v.enc, cases[i].enc);
		assert_null(v.v);
		e = ks_set(&en->ks, "k", 1, &v, KS_TTL_NONE);
		CHECK(&en->ks);
		assert_int_equal(e->enc, cases[i].enc);
		assert_string_equal(ks_encoding_name(&en->ks, e), cases[i].name);
		value_is(&en->ks, "k", s, cases[i].len);
		free(s);
	}
	/* A big value given as a val is used, not copied; a small one is not. */
	memset(big->data, 'B', VAL_REF_MIN);
	val_seal(big, VAL_REF_MIN);
	str_kval(&v, big->data, VAL_REF_MIN, big);
	assert_ptr_equal(v.v, big);
	ks_set(&en->ks, "big", 3, &v, KS_TTL_NONE);
	CHECK(&en->ks);
	assert_int_equal(refs(big), 2);
	assert_ptr_equal(kv_ref(ks_peek(&en->ks, "big", 3)), big);
	str_kval(&v, big->data, 10, big);
	assert_null(v.v);
	assert_int_equal(v.enc, KV_EMB);
	val_unref(big);
	assert_int_equal(refs(big), 1);
	value_is(&en->ks, "big", big->data, VAL_REF_MIN);
	env_free(en);
}

static void test_kval_pinned(void **state)
{
	struct env *en = env_new();
	char *s45 = pattern(45, 1), *s4096 = pattern(VAL_REF_MIN, 2);
	struct kval v;
	struct kv *e;

	(void)state;
	str_kval_str(&v, "123", 3);
	assert_int_equal(v.enc, KV_EMB);
	str_kval_str(&v, s45, 45);
	assert_int_equal(v.enc, KV_RAW);
	str_kval_str(&v, s4096, VAL_REF_MIN);
	assert_int_equal(v.enc, KV_REF);
	str_kval_raw(&v, "ab", 2);
	assert_int_equal(v.enc, KV_RAW);
	e = ks_set(&en->ks, "r", 1, &v, KS_TTL_NONE);
	CHECK(&en->ks);
	assert_string_equal(ks_encoding_name(&en->ks, e), "raw");
	str_kval_raw(&v, s4096, VAL_REF_MIN);
	assert_int_equal(v.enc, KV_REF);
	str_kval_int(&v, -42);
	e = ks_set(&en->ks, "i", 1, &v, KS_TTL_NONE);
	CHECK(&en->ks);
	assert_string_equal(ks_encoding_name(&en->ks, e), "int");
	value_is(&en->ks, "i", "-42", 3);
	assert_int_equal(ks_refcount(e), 1);
	str_kval_int(&v, 0);
	e = ks_set(&en->ks, "i", 1, &v, KS_TTL_NONE);
	assert_int_equal(ks_refcount(e), 2147483647);
	str_kval_int(&v, STR_SHARED_INT_MAX - 1);
	e = ks_set(&en->ks, "i", 1, &v, KS_TTL_NONE);
	assert_int_equal(ks_refcount(e), 2147483647);
	str_kval_int(&v, STR_SHARED_INT_MAX);
	e = ks_set(&en->ks, "i", 1, &v, KS_TTL_NONE);
	assert_int_equal(ks_refcount(e), 1);
	CHECK(&en->ks);
	free(s45);
	free(s4096);
	env_free(en);
}

/* ---- replace paths ---- */

static void test_set_replace_shapes(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *s100 = pattern(100, 1), *s90 = pattern(90, 2), *s50 = pattern(50, 3);
	struct kv *e1, *e2;
	uint64_t dirty;

	(void)state;
	e1 = set_str(ks, "k", "abc", KS_TTL_NONE);
	dirty = ks->dirty;
	e2 = set_str(ks, "k", "xyz", KS_TTL_NONE);
	assert_ptr_equal(e2, e1); /* same shape: in place */
	assert_true(ks->dirty > dirty);
	value_is(ks, "k", "xyz", 3);
	e1 = set_str(ks, "k", "123", KS_TTL_NONE);
	assert_ptr_not_equal(e1, e2); /* 3 inline bytes cannot hold an int */
	assert_string_equal(ks_encoding_name(ks, e1), "int");
	e2 = set_str(ks, "k", "456", KS_TTL_NONE);
	assert_ptr_equal(e2, e1);
	value_is(ks, "k", "456", 3);
	e1 = set_bytes(ks, "k", s100, 100, KS_TTL_NONE);
	assert_ptr_not_equal(e1, e2);
	e2 = set_bytes(ks, "k", s90, 90, KS_TTL_NONE);
	assert_ptr_equal(e2, e1); /* smaller, within the slack */
	value_is(ks, "k", s90, 90);
	e1 = set_bytes(ks, "k", s50, 50, KS_TTL_NONE);
	assert_ptr_not_equal(e1, e2); /* much smaller: reallocated */
	value_is(ks, "k", s50, 50);
	assert_int_equal(ks_size(ks), 1);
	free(s100);
	free(s90);
	free(s50);
	env_free(en);
}

/* Replacing a referenced value drops only the keyspace's reference. */
static void test_set_replace_ref(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *a = pattern(5000, 1), *b = pattern(6000, 2);
	struct kv *e1, *e2;
	struct val *held;

	(void)state;
	e1 = set_bytes(ks, "k", a, 5000, KS_TTL_NONE);
	held = val_ref(kv_ref(e1));
	assert_int_equal(refs(held), 2);
	e2 = set_bytes(ks, "k", b, 6000, KS_TTL_NONE);
	assert_ptr_equal(e2, e1);
	assert_ptr_not_equal(kv_ref(e2), held);
	assert_int_equal(refs(held), 1);
	assert_memory_equal(held->data, a, 5000);
	value_is(ks, "k", b, 6000);
	/* And by a small value, and by nothing. */
	val_unref(held);
	held = val_ref(kv_ref(e2));
	set_str(ks, "k", "tiny", KS_TTL_NONE);
	assert_int_equal(refs(held), 1);
	assert_memory_equal(held->data, b, 6000);
	val_unref(held);
	assert_true(ks_delete(ks, "k", 1));
	CHECK(ks);
	free(a);
	free(b);
	env_free(en);
}

static void ttl_is(struct keyspace *ks, const char *key, int64_t when)
{
	struct kv *e = ks_peek(ks, key, strlen(key));

	assert_non_null(e);
	if (when < 0) {
		assert_false(kv_has_ttl(e));
	} else {
		assert_true(kv_has_ttl(e));
		assert_int_equal(kv_expire(e), when);
	}
}

static void test_set_ttl_paths(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	int64_t t1 = NOW0 + 1000, t2 = NOW0 + 2000;
	char *s200 = pattern(200, 4);

	(void)state;
	set_str(ks, "other", "o", t1); /* a second TTL entry, so slots move */
	set_str(ks, "t", "v", t1);
	ttl_is(ks, "t", t1);
	assert_int_equal(ks->ttl.n, 2);
	set_str(ks, "t", "w", KS_TTL_NONE);
	ttl_is(ks, "t", -1);
	assert_int_equal(ks->ttl.n, 1);
	set_str(ks, "t", "x", t1);
	set_str(ks, "t", "y", t2); /* in place, new time */
	ttl_is(ks, "t", t2);
	set_str(ks, "t", "z", KS_TTL_KEEP);
	ttl_is(ks, "t", t2);
	value_is(ks, "t", "z", 1);
	set_bytes(ks, "t", s200, 200, KS_TTL_KEEP); /* new entry takes the slot */
	ttl_is(ks, "t", t2);
	value_is(ks, "t", s200, 200);
	assert_int_equal(ks->ttl.n, 2);
	set_str(ks, "t", "7", t1); /* TTL to TTL, different shape */
	ttl_is(ks, "t", t1);
	set_str(ks, "n", "v", KS_TTL_KEEP); /* new key: nothing to keep */
	ttl_is(ks, "n", -1);
	set_str(ks, "n", "w", KS_TTL_KEEP); /* no TTL to keep */
	ttl_is(ks, "n", -1);
	set_bytes(ks, "n", s200, 200, t2); /* no TTL to TTL, different shape */
	ttl_is(ks, "n", t2);
	assert_int_equal(ks->ttl.n, 3);
	/* KEEP on an expired key: the key is new, and has no TTL. */
	ks->now_ms = t1 + 1;
	set_str(ks, "t", "fresh", KS_TTL_KEEP);
	ttl_is(ks, "t", -1);
	value_is(ks, "t", "fresh", 5);
	assert_int_equal(ks->ttl.n, 2);
	CHECK(ks);
	free(s200);
	env_free(en);
}

/* ---- edits ---- */

static void test_edit_inline(void **state)
{
	static const char zeros_abc[40] = "abc";
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	struct kv *e;
	char *p;

	(void)state;
	e = set_str(ks, "n", "12345", NOW0 + 50);
	p = ks_edit(ks, &e, 7);
	CHECK(ks);
	assert_memory_equal(p, "12345\0\0", 7);
	memcpy(p + 5, "ab", 2);
	assert_string_equal(ks_encoding_name(ks, e), "raw");
	value_is(ks, "n", "12345ab", 7);
	ttl_is(ks, "n", NOW0 + 50);
	e = set_str(ks, "n", "-9223372036854775808", KS_TTL_NONE);
	p = ks_edit(ks, &e, 3); /* an int shrunk: its first digits */
	CHECK(ks);
	value_is(ks, "n", "-92", 3);
	e = set_str(ks, "s", "abcdef", KS_TTL_NONE);
	ks_edit(ks, &e, 3);
	CHECK(ks);
	value_is(ks, "s", "abc", 3);
	ks_edit(ks, &e, 0);
	CHECK(ks);
	value_is(ks, "s", "", 0);
	e = set_str(ks, "g", "abc", KS_TTL_NONE);
	ks_edit(ks, &e, 40); /* growth reads as zeros */
	CHECK(ks);
	value_is(ks, "g", zeros_abc, sizeof(zeros_abc));
	e = ks_peek(ks, "s", 1);
	p = ks_edit(ks, &e, 44);
	CHECK(ks);
	memset(p, 'q', 44);
	value_is(ks, "s", "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", 44);
	env_free(en);
}

static void test_edit_inline_to_ref_and_growth(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *s = pattern(100, 5), *want = calloc(1, 20000);
	struct kv *e;
	struct val *v;
	char *p;

	(void)state;
	assert_non_null(want);
	set_str(ks, "pad", "x", NOW0 + 9); /* the TTL slot of "k" is not 0 */
	e = set_bytes(ks, "k", s, 100, NOW0 + 10);
	p = ks_edit(ks, &e, 5000);
	CHECK(ks);
	assert_int_equal(e->enc, KV_REF);
	assert_ptr_equal(e, ks_peek(ks, "k", 1)); /* *ep follows the move */
	memcpy(want, s, 100);
	value_is(ks, "k", want, 5000);
	ttl_is(ks, "k", NOW0 + 10);
	p[4999] = 'Z';
	want[4999] = 'Z';
	/* Growth within the buffer's room keeps the buffer. */
	v = kv_ref(e);
	assert_true(v->cap >= 6002);
	p = ks_edit(ks, &e, 6000);
	CHECK(ks);
	assert_ptr_equal(kv_ref(e), v);
	value_is(ks, "k", want, 6000);
	/* Past its room: a new buffer with the bytes. */
	p = ks_edit(ks, &e, 19000);
	CHECK(ks);
	value_is(ks, "k", want, 19000);
	/* Shrinking a big value keeps an unshared buffer. */
	v = kv_ref(e);
	p = ks_edit(ks, &e, 10);
	CHECK(ks);
	assert_ptr_equal(kv_ref(e), v);
	value_is(ks, "k", want, 10);
	(void)p;
	free(s);
	free(want);
	env_free(en);
}

/* A value a reply still references is copied before the edit: the
 * reply's bytes never change. */
static void test_edit_copy_on_write(void **state)
{
	static const size_t lens[] = { 5000, 9000, 100, 0 };
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *orig = pattern(5000, 6), *want = malloc(9000);
	size_t i;

	(void)state;
	assert_non_null(want);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct kv *e = set_bytes(ks, "c", orig, 5000, KS_TTL_NONE);
		struct val *held = val_ref(kv_ref(e));
		size_t keep = lens[i] < 5000 ? lens[i] : 5000;
		char *p = ks_edit(ks, &e, lens[i]);
		CHECK(ks);
		memset(p, 'Y', keep < 100 ? keep : 100);
		assert_ptr_not_equal(kv_ref(e), held);
		assert_int_equal(refs(held), 1);
		assert_int_equal(held->len, 5000);
		assert_memory_equal(held->data, orig, 5000);
		assert_memory_equal(held->data + 5000, "\r\n", 2);
		memset(want, 0, lens[i]);
		memcpy(want, orig, keep);
		memset(want, 'Y', keep < 100 ? keep : 100);
		value_is(ks, "c", want, lens[i]);
		val_unref(held);
		CHECK(ks);
	}
	free(orig);
	free(want);
	env_free(en);
}

/* ---- TTL set and removed ---- */

static void test_expire_persist(void **state)
{
	static const char *const values[] = { "42", "short", NULL, NULL };
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *raw = pattern(300, 7), *ref = pattern(5000, 8);
	const char *vals[4];
	size_t lens[4], i;
	char key[8];

	(void)state;
	memcpy(vals, values, sizeof(vals));
	vals[2] = raw;
	vals[3] = ref;
	for (i = 0; i < 4; i++) {
		lens[i] = i < 2 ? strlen(vals[i]) : i == 2 ? 300 : 5000;
		snprintf(key, sizeof(key), "k%zu", i);
		set_bytes(ks, key, vals[i], lens[i], KS_TTL_NONE);
	}
	for (i = 0; i < 4; i++) {
		struct kv *e;
		snprintf(key, sizeof(key), "k%zu", i);
		e = ks_set_expire(ks, ks_peek(ks, key, 2), NOW0 + 100 + (int64_t)i);
		CHECK(ks);
		assert_ptr_equal(e, ks_peek(ks, key, 2));
		ttl_is(ks, key, NOW0 + 100 + (int64_t)i);
		value_is(ks, key, vals[i], lens[i]);
	}
	assert_int_equal(ks->ttl.n, 4);
	/* Changing the time of a key that has one moves nothing. */
	assert_ptr_equal(ks_set_expire(ks, ks_peek(ks, "k2", 2), NOW0 + 7), ks_peek(ks, "k2", 2));
	CHECK(ks);
	ttl_is(ks, "k2", NOW0 + 7);
	/* Remove from the middle of the index, then the rest. */
	for (i = 0; i < 4; i++) {
		size_t j = (i + 1) % 4;
		struct kv *e;
		snprintf(key, sizeof(key), "k%zu", j);
		e = ks_persist(ks, ks_peek(ks, key, 2));
		CHECK(ks);
		assert_ptr_equal(e, ks_peek(ks, key, 2));
		ttl_is(ks, key, -1);
		value_is(ks, key, vals[j], lens[j]);
		assert_int_equal(ks->ttl.n, 3 - i);
	}
	/* Persist without a TTL: nothing changes. */
	{
		uint64_t dirty = ks->dirty;
		struct kv *e = ks_peek(ks, "k0", 2);
		assert_ptr_equal(ks_persist(ks, e), e);
		assert_int_equal(ks->dirty, dirty);
	}
	free(raw);
	free(ref);
	env_free(en);
}

/* ---- expiry ---- */

static void test_lazy_expiry(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	struct kv *e;

	(void)state;
	e = set_str(ks, "k", "v", NOW0 + 1000);
	ks->now_ms = NOW0 + 1000; /* now == expire: still there */
	assert_false(ks_expired(ks, e));
	assert_ptr_equal(ks_lookup_read(ks, "k", 1), e);
	assert_int_equal(en->st.keyspace_hits, 1);
	ks->now_ms = NOW0 + 1001;
	assert_true(ks_expired(ks, e));
	assert_int_equal(ks_size(ks), 1); /* not deleted until looked up */
	assert_null(ks_lookup_read(ks, "k", 1));
	CHECK(ks);
	assert_int_equal(ks_size(ks), 0);
	assert_int_equal(ks->ttl.n, 0);
	assert_int_equal(en->st.expired_keys, 1);
	assert_int_equal(en->st.keyspace_misses, 1);
	/* Each lookup kind expires; ks_delete says "not there". */
	set_str(ks, "a", "1", NOW0 + 1000);
	set_str(ks, "b", "1", NOW0 + 1000);
	set_str(ks, "c", "1", NOW0 + 1000);
	set_str(ks, "live", "1", KS_TTL_NONE);
	assert_null(ks_peek(ks, "a", 1));
	CHECK(ks);
	assert_null(ks_lookup_write(ks, "b", 1));
	CHECK(ks);
	assert_false(ks_delete(ks, "c", 1));
	CHECK(ks);
	assert_int_equal(en->st.expired_keys, 4);
	assert_int_equal(en->st.keyspace_misses, 1); /* only _read counts */
	assert_int_equal(ks_size(ks), 1);
	assert_true(ks_delete(ks, "live", 4));
	assert_false(ks_delete(ks, "live", 4));
	CHECK(ks);
	env_free(en);
}

static void fill_ttl_keys(struct keyspace *ks, const char *prefix, int n, int64_t when)
{
	char key[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		set_str(ks, key, "v", when);
	}
}

static void test_expire_cycle(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	uint64_t total = 0;
	char key[32];
	int i;

	(void)state;
	fill_ttl_keys(ks, "soon", 100, NOW0 + 10);
	fill_ttl_keys(ks, "late", 100, NOW0 + 100000);
	fill_ttl_keys(ks, "none", 100, KS_TTL_NONE);
	/* Nothing is stale: one sample, then stop. */
	assert_int_equal(expire_cycle(ks, 1000), 0);
	CHECK(ks);
	ks->now_ms = NOW0 + 11;
	for (i = 0; i < 200 && total < 100; i++) {
		total += expire_cycle(ks, 1000);
		CHECK(ks);
	}
	assert_int_equal(total, 100);
	assert_int_equal(en->st.expired_keys, 100);
	assert_int_equal(ks_size(ks), 200);
	assert_int_equal(ks->ttl.n, 100);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "late%d", i);
		assert_non_null(ks_peek(ks, key, strlen(key)));
		snprintf(key, sizeof(key), "none%d", i);
		assert_non_null(ks_peek(ks, key, strlen(key)));
	}
	/* Everything left expires; the index empties. */
	ks->now_ms = NOW0 + 100001;
	for (i = 0; i < 200 && ks->ttl.n > 0; i++) {
		expire_cycle(ks, 1000);
		CHECK(ks);
	}
	assert_int_equal(ks->ttl.n, 0);
	assert_int_equal(ks_size(ks), 100);
	assert_int_equal(expire_cycle(ks, 1000), 0);
	env_free(en);
}

/* The environment as cmocka state, so that it is freed even when the test
 * fails part way. */
static int env_setup(void **state)
{
	*state = env_new();
	return 0;
}

static int env_teardown(void **state)
{
	struct env *en = *state;

	ks_free(&en->ks);
	free(en);
	return 0;
}

/* ks_expire_cycle "examines at most max_keys TTL entries": with every key
 * stale, a budget of 5 deletes at most 5. */
static void test_expire_cycle_budget(void **state)
{
	struct env *en = *state;
	struct keyspace *ks = &en->ks;
	uint64_t n;

	fill_ttl_keys(ks, "k", 100, NOW0 + 10);
	ks->now_ms = NOW0 + 11;
	n = expire_cycle(ks, 5);
	CHECK(ks);
	if (n > 5)
		fail_msg("a budget of 5 keys expired %llu keys", (unsigned long long)n);
	assert_int_equal(n, 5);
	assert_int_equal(ks->ttl.n, 95);
	assert_int_equal(en->st.expired_time_cap_reached, 1);
}

/* expire.h's "behind": a cycle that spends its budget while its batches
 * are still mostly stale says so; once cycles have brought the stale keys
 * down to about EXPIRE_STALE_PERCENT of those with a TTL, it does not. */
static void test_expire_cycle_behind(void **state)
{
	struct env *en = *state;
	struct keyspace *ks = &en->ks;
	uint64_t total = 0;
	int i;

	fill_ttl_keys(ks, "old", 1000, NOW0 + 10);
	fill_ttl_keys(ks, "new", 1000, NOW0 + 100000);
	ks->now_ms = NOW0 + 11;
	total += expire_cycle(ks, 200);
	assert_true(ks->expire_behind);
	CHECK(ks);
	/* As many cycles as ticks would run: about EXPIRE_STALE_PERCENT of
	 * the keys with a TTL are left stale (give or take a batch's sampling
	 * error), and the cycle is no longer behind. */
	for (i = 0; i < 100; i++)
		total += expire_cycle(ks, 200);
	assert_false(ks->expire_behind);
	assert_true(1000 - total <= (uint64_t)(ks->ttl.n * (EXPIRE_STALE_PERCENT + 5) / 100));
	assert_int_equal(en->st.expired_keys, total);
	CHECK(ks);
}

/* ---- flush ---- */

static void fill_mixed(struct keyspace *ks, const char *prefix, int n, struct val **held)
{
	char key[32], num[24];
	char *big = pattern(5000, 9), *mid = pattern(100, 10);
	int i;

	for (i = 0; i < n; i++) {
		int64_t when = i % 2 ? NOW0 + 1000 + i : KS_TTL_NONE;
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		switch (i % 4) {
		case 0:
			snprintf(num, sizeof(num), "%d", i);
			set_str(ks, key, num, when);
			break;
		case 1: set_str(ks, key, "short", when); break;
		case 2: set_bytes(ks, key, mid, 100, when); break;
		default: set_bytes(ks, key, big, 5000, when); break;
		}
	}
	if (held != NULL)
		*held = val_ref(kv_ref(ks_peek(ks, "a3", 2)));
	free(big);
	free(mid);
}

static void test_flush_async(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	struct val *held;
	char *big = pattern(5000, 9);
	uint64_t pending;

	(void)state;
	assert_false(ks_lazy_step(ks, 10));
	ks_flush(ks, true); /* empty: nothing queued */
	assert_null(ks->lazy.head);
	fill_mixed(ks, "a", 1000, &held);
	ks_flush(ks, true);
	CHECK(ks);
	assert_int_equal(ks_size(ks), 0);
	assert_int_equal(ks->ttl.n, 0);
	assert_int_equal(ks->lazy.pending, 1000);
	assert_null(ks_peek(ks, "a3", 2));
	fill_mixed(ks, "b", 10, NULL);
	ks_flush(ks, true);
	CHECK(ks);
	assert_int_equal(ks->lazy.pending, 1010);
	set_str(ks, "after", "x", NOW0 + 5);
	pending = ks->lazy.pending;
	while (ks_lazy_step(ks, 7)) {
		CHECK(ks);
		assert_true(ks->lazy.pending <= pending);
		pending = ks->lazy.pending;
	}
	CHECK(ks);
	assert_int_equal(ks->lazy.pending, 0);
	assert_int_equal(en->st.lazyfreed_objects, 1010);
	assert_int_equal(ks_size(ks), 1);
	value_is(ks, "after", "x", 1);
	/* The value a reply held survived the flush. */
	assert_int_equal(refs(held), 1);
	assert_memory_equal(held->data, big, 5000);
	val_unref(held);
	/* A synchronous flush frees everything at once. */
	fill_mixed(ks, "c", 100, NULL);
	ks_flush(ks, false);
	CHECK(ks);
	assert_null(ks->lazy.head);
	assert_int_equal(ks->mem.used, 0);
	free(big);
	env_free(en);
}

/* A flush while the table is shrinking (buckets half merged, deletes
 * between merges) frees every entry and the table. */
static void test_flush_during_rehash(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char key[32];
	int i;

	(void)state;
	fill_mixed(ks, "r", 2000, NULL);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "r%d", i);
		if (i % 16 != 0)
			assert_true(ks_delete(ks, key, strlen(key)));
	}
	ks_cron(ks, 3);
	CHECK(ks);
	assert_true(ks->d.shrinking);
	for (i = 0; i < 2000; i += 32) {
		snprintf(key, sizeof(key), "r%d", i);
		assert_true(ks_delete(ks, key, strlen(key)));
		CHECK(ks);
	}
	assert_true(ks->d.shrinking);
	ks_flush(ks, true);
	CHECK(ks);
	while (ks_lazy_step(ks, 50))
		CHECK(ks);
	assert_int_equal(ks->lazy.pending, 0);
	assert_int_equal(ks->mem.used, 0);
	env_free(en);
}

/* ---- rename and copy ---- */

static void test_rename(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *raw = pattern(300, 11), *big = pattern(5000, 12);
	struct kv *e;
	struct val *v;

	(void)state;
	set_str(ks, "i", "77", NOW0 + 10);
	ks_rename(ks, ks_peek(ks, "i", 1), ks, "i2", 2);
	CHECK(ks);
	assert_null(ks_peek(ks, "i", 1));
	value_is(ks, "i2", "77", 2);
	ttl_is(ks, "i2", NOW0 + 10);
	assert_string_equal(ks_encoding_name(ks, ks_peek(ks, "i2", 2)), "int");
	set_str(ks, "s", "emb", KS_TTL_NONE);
	ks_rename(ks, ks_peek(ks, "s", 1), ks, "i2", 2); /* replaces, drops the TTL */
	CHECK(ks);
	value_is(ks, "i2", "emb", 3);
	ttl_is(ks, "i2", -1);
	assert_int_equal(ks->ttl.n, 0);
	set_bytes(ks, "r", raw, 300, NOW0 + 20);
	set_str(ks, "dst", "old", NOW0 + 30);
	ks_rename(ks, ks_peek(ks, "r", 1), ks, "dst", 3);
	CHECK(ks);
	value_is(ks, "dst", raw, 300);
	ttl_is(ks, "dst", NOW0 + 20);
	assert_int_equal(ks->ttl.n, 1);
	/* A big value moves without a copy. */
	e = set_bytes(ks, "b", big, 5000, KS_TTL_NONE);
	v = kv_ref(e);
	ks_rename(ks, e, ks, "b2", 2);
	CHECK(ks);
	assert_ptr_equal(kv_ref(ks_peek(ks, "b2", 2)), v);
	assert_int_equal(refs(v), 1);
	value_is(ks, "b2", big, 5000);
	/* Onto itself. */
	ks_rename(ks, ks_peek(ks, "dst", 3), ks, "dst", 3);
	CHECK(ks);
	value_is(ks, "dst", raw, 300);
	ttl_is(ks, "dst", NOW0 + 20);
	assert_int_equal(ks_size(ks), 3);
	free(raw);
	free(big);
	env_free(en);
}

/* Keys around the one-byte length's escape (kv.h: 255 and over take four
 * more bytes after the TTL fields), with every value shape, through TTL
 * set and removal (which move the key), edits, renames between lengths
 * and deletion. */
static void test_long_keys(void **state)
{
	static const size_t klens[] = { 0, 1, 254, 255, 256, 1000, 70000 };
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *val300 = pattern(300, 3), *big = pattern(5000, 4);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(klens) / sizeof(klens[0]); i++) {
		size_t n = klens[i];
		char *key = pattern(n, (unsigned)i), *dst = pattern(n + 1, (unsigned)i + 50);
		struct kval v;
		struct kv *e;
		char *p;

		/* An int whose high bytes are not zero: a move that drops
		 * the value's last bytes shows. */
		str_kval(&v, "-9223372036854775807", 20, NULL);
		e = ks_set(ks, key, n, &v, KS_TTL_NONE);
		CHECK(ks);
		assert_int_equal(kv_klen(e), n);
		assert_memory_equal(kv_key(e), key, n);
		assert_ptr_equal(ks_peek(ks, key, n), e);
		e = ks_set_expire(ks, e, NOW0 + 5);
		CHECK(ks);
		assert_int_equal(kv_klen(e), n);
		assert_memory_equal(kv_key(e), key, n);
		assert_int_equal(kv_expire(e), NOW0 + 5);
		value_is(ks, key, "-9223372036854775807", 20);
		e = ks_persist(ks, e);
		CHECK(ks);
		value_is(ks, key, "-9223372036854775807", 20);
		e = ks_set_expire(ks, e, NOW0 + 5);
		CHECK(ks);
		p = ks_edit(ks, &e, 300);
		memcpy(p, val300, 300);
		CHECK(ks);
		value_is(ks, key, val300, 300);
		e = ks_persist(ks, e);
		CHECK(ks);
		assert_int_equal(kv_klen(e), n);
		assert_memory_equal(kv_key(e), key, n);
		str_kval(&v, big, 5000, NULL);
		e = ks_set(ks, key, n, &v, NOW0 + 9);
		CHECK(ks);
		assert_int_equal(kv_klen(e), n);
		ks_rename(ks, e, ks, dst, n + 1);
		CHECK(ks);
		assert_null(ks_peek(ks, key, n));
		e = ks_peek(ks, dst, n + 1);
		assert_non_null(e);
		assert_int_equal(kv_klen(e), n + 1);
		assert_memory_equal(kv_key(e), dst, n + 1);
		value_is(ks, dst, big, 5000);
		assert_int_equal(kv_expire(e), NOW0 + 9);
		assert_true(ks_delete(ks, dst, n + 1));
		CHECK(ks);
		assert_int_equal(ks_size(ks), 0);
		free(key);
		free(dst);
	}
	/* ks_check sees an entry whose kept hash bits are wrong. */
	{
		struct kv *e = set_str(ks, "t", "v", KS_TTL_NONE);
		e->tag ^= 1;
		assert_true(ks_check(ks) != 0);
		e->tag ^= 1;
		CHECK(ks);
	}
	free(val300);
	free(big);
	env_free(en);
}

static void test_copy(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char *big = pattern(5000, 13);
	struct kv *e;

	(void)state;
	set_str(ks, "i", "-12", NOW0 + 10);
	ks_copy(ks, ks_peek(ks, "i", 1), "i2", 2);
	CHECK(ks);
	value_is(ks, "i", "-12", 3);
	value_is(ks, "i2", "-12", 3);
	ttl_is(ks, "i2", NOW0 + 10);
	assert_string_equal(ks_encoding_name(ks, ks_peek(ks, "i2", 2)), "int");
	e = set_bytes(ks, "b", big, 5000, KS_TTL_NONE);
	set_str(ks, "dst", "old", NOW0 + 30);
	ks_copy(ks, e, "dst", 3);
	CHECK(ks);
	e = ks_peek(ks, "b", 1);
	assert_ptr_not_equal(kv_ref(ks_peek(ks, "dst", 3)), kv_ref(e)); /* its own buffer */
	value_is(ks, "dst", big, 5000);
	ttl_is(ks, "dst", -1);
	set_str(ks, "s", "emb", KS_TTL_NONE);
	ks_copy(ks, ks_peek(ks, "s", 1), "dst", 3);
	CHECK(ks);
	value_is(ks, "dst", "emb", 3);
	value_is(ks, "b", big, 5000);
	assert_int_equal(ks_size(ks), 5);
	free(big);
	env_free(en);
}

/* ---- random key ---- */

static void test_random_skips_expired(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	char key[16];
	int i;

	(void)state;
	assert_null(ks_random(ks));
	for (i = 0; i < 9; i++) {
		snprintf(key, sizeof(key), "x%d", i);
		set_str(ks, key, "dead", NOW0 + 5);
	}
	set_str(ks, "live", "yes", NOW0 + 50);
	ks->now_ms = NOW0 + 6;
	for (i = 0; i < 200; i++) {
		struct kv *e = ks_random(ks);
		CHECK(ks);
		assert_non_null(e);
		assert_true(kv_key_eq(e, "live", 4));
	}
	assert_int_equal(ks_size(ks) + en->st.expired_keys, 10);
	ks->now_ms = NOW0 + 51;
	assert_null(ks_random(ks));
	CHECK(ks);
	assert_int_equal(ks_size(ks), 0);
	assert_int_equal(en->st.expired_keys, 10);
	env_free(en);
}

/* ---- LRU clock ---- */

/* Reads and writes touch the LRU clock (seconds, 24 bits); a peek does not;
 * idle time wraps as Redis's estimateObjectIdleTime. */
static void test_lru_idle(void **state)
{
	struct env *en = env_new();
	struct keyspace *ks = &en->ks;
	struct kv *e = set_str(ks, "k", "v", KS_TTL_NONE);

	(void)state;
	assert_int_equal(e->lru, (uint32_t)(NOW0 / 1000) & KV_LRU_MAX);
	assert_int_equal(ks_idle_ms(ks, e), 0);
	ks->now_ms += 5000;
	assert_int_equal(ks_idle_ms(ks, ks_peek(ks, "k", 1)), 5000);
	assert_int_equal(ks_idle_ms(ks, ks_lookup_read(ks, "k", 1)), 0);
	ks->now_ms += 3000;
	assert_int_equal(ks_idle_ms(ks, ks_lookup_write(ks, "k", 1)), 0);
	ks->now_ms += 1999;
	assert_int_equal(ks_idle_ms(ks, e), 1000);
	/* Wrap: the entry was touched just before the 24-bit clock rolled. */
	e->lru = KV_LRU_MAX - 1;
	ks->now_ms = (int64_t)(KV_LRU_MAX + 1 + 2) * 1000;
	assert_int_equal(ks_lru_clock(ks), 2);
	assert_int_equal(ks_idle_ms(ks, e), 3000);
	env_free(en);
}

/* ---- random operations against a model ---- */

#define NKEYS 48
#define NHELD 8

struct mkey {
	bool present;
	char *bytes;
	size_t len;
	bool ttl;
	int64_t expire;
	const char *enc;
};

struct held {
	struct val *v;
	char *copy;
	size_t len;
};

struct model {
	struct env *en;
	uint64_t x;
	struct mkey k[NKEYS];
	char names[NKEYS][64];
	struct held held[NHELD];
	char *scratch;
	uint64_t op;
};

static bool m_live(const struct model *m, int i)
{
	const struct mkey *k = &m->k[i];
	return k->present && !(k->ttl && m->en->ks.now_ms > k->expire);
}

static void m_drop(struct model *m, int i)
{
	free(m->k[i].bytes);
	memset(&m->k[i], 0, sizeof(m->k[i]));
}

static uint64_t r_(struct model *m, uint64_t n)
{
	return n ? xorshift(&m->x) % n : 0;
}

static const char *m_name(struct model *m, int i, size_t *len)
{
	*len = strlen(m->names[i]);
	return m->names[i];
}

/* Compares key i of the keyspace with the model, through a lookup (which
 * expires it if due). */
static void m_compare(struct model *m, int i, bool read)
{
	struct keyspace *ks = &m->en->ks;
	size_t klen, len;
	const char *key = m_name(m, i, &klen), *p;
	struct kv *e = read ? ks_lookup_read(ks, key, klen) : ks_peek(ks, key, klen);
	char buf[UTIL_LL_CHARS];

	CHECK(ks);
	if (!m_live(m, i)) {
		if (e != NULL)
			fail_msg("op %llu: key %d present, model says absent",
				 (unsigned long long)m->op, i);
		if (m->k[i].present)
			m_drop(m, i);
		return;
	}
	if (e == NULL)
		fail_msg("op %llu: key %d missing", (unsigned long long)m->op, i);
	p = str_value(e, buf, &len);
	if (len != m->k[i].len || memcmp(p, m->k[i].bytes, len) != 0)
		fail_msg("op %llu: key %d value differs", (unsigned long long)m->op, i);
	assert_int_equal(str_value_len(e), len);
	assert_string_equal(ks_encoding_name(ks, e), m->k[i].enc);
	assert_int_equal(kv_has_ttl(e), m->k[i].ttl);
	if (m->k[i].ttl)
		assert_int_equal(kv_expire(e), m->k[i].expire);
}

/* A random value in m->scratch; returns its length and expected encoding. */
static size_t m_value(struct model *m, const char **enc)
{
	uint64_t kind = r_(m, 10);
	size_t len, j;

	if (kind < 3) {
		long long v = (long long)(xorshift(&m->x) >> r_(m, 64));
		if (kind == 0 && v != LLONG_MIN)
			v = -v;
		len = (size_t)util_ll2str(m->scratch, v);
		*enc = "int";
		return len;
	}
	if (kind == 3) {
		memcpy(m->scratch, "007", 3);
		*enc = "embstr";
		return 3;
	}
	len = kind < 6   ? r_(m, STR_EMBSTR_MAX + 1)
	      : kind < 8 ? STR_EMBSTR_MAX + 1 + r_(m, VAL_REF_MIN - STR_EMBSTR_MAX - 1)
			 : VAL_REF_MIN + r_(m, 5000);
	for (j = 0; j < len; j++)
		m->scratch[j] = (char)('a' + r_(m, 26));
	*enc = len <= STR_EMBSTR_MAX ? "embstr" : "raw";
	return len;
}

static void m_store(struct model *m, int i, size_t len, const char *enc, bool ttl, int64_t when)
{
	struct mkey *k = &m->k[i];

	free(k->bytes);
	k->bytes = malloc(len + 1);
	assert_non_null(k->bytes);
	memcpy(k->bytes, m->scratch, len);
	k->len = len;
	k->present = true;
	k->enc = enc;
	k->ttl = ttl;
	k->expire = when;
}

static void op_set(struct model *m, int i)
{
	struct keyspace *ks = &m->en->ks;
	const char *enc;
	size_t len = m_value(m, &enc), klen;
	const char *key = m_name(m, i, &klen);
	uint64_t how = r_(m, 10);
	int64_t when = how < 5   ? KS_TTL_NONE
		       : how < 8 ? ks->now_ms + (int64_t)r_(m, 40)
				 : KS_TTL_KEEP;
	struct val *big = NULL;
	struct kval v;
	bool keep = when == KS_TTL_KEEP && m_live(m, i) && m->k[i].ttl;

	if (len >= VAL_REF_MIN && r_(m, 2)) {
		big = val_new(len + 2 + r_(m, 100));
		memcpy(big->data, m->scratch, len);
		val_seal(big, len);
	}
	str_kval(&v, big != NULL ? big->data : m->scratch, len, big);
	ks_set(ks, key, klen, &v, when);
	/* The same big buffer, shared by a second key now and then. */
	if (big != NULL && r_(m, 4) == 0) {
		int j = (int)r_(m, NKEYS);
		size_t jl;
		const char *jk = m_name(m, j, &jl);
		if (j != i) {
			ks_set(ks, jk, jl, &v, KS_TTL_NONE);
			m_store(m, j, len, enc, false, 0);
		}
	}
	val_unref(big);
	if (keep)
		m_store(m, i, len, enc, true, m->k[i].expire);
	else
		m_store(m, i, len, enc, when >= 0, when);
}

static void op_edit(struct model *m, int i)
{
	struct keyspace *ks = &m->en->ks;
	size_t klen, newlen, keep, a, b, j;
	const char *key = m_name(m, i, &klen);
	struct kv *e = ks_lookup_write(ks, key, klen);
	struct mkey *k = &m->k[i];
	char *p;

	if (!m_live(m, i)) {
		assert_null(e);
		if (k->present)
			m_drop(m, i);
		return;
	}
	assert_non_null(e);
	newlen = r_(m, 3) == 0 ? r_(m, 60) : r_(m, 2) ? k->len + r_(m, 200) : r_(m, 9000);
	if (newlen > 16000)
		newlen = r_(m, 100);
	keep = k->len < newlen ? k->len : newlen;
	p = ks_edit(ks, &e, newlen);
	memcpy(m->scratch, k->bytes, keep);
	memset(m->scratch + keep, 0, newlen - keep);
	a = r_(m, newlen + 1);
	b = a + r_(m, newlen - a + 1);
	for (j = a; j < b; j++)
		m->scratch[j] = (char)('A' + r_(m, 26));
	memcpy(p + a, m->scratch + a, b - a);
	m_store(m, i, newlen, "raw", k->ttl, k->expire);
	assert_ptr_equal(e, ks_peek(ks, key, klen));
}

static void op_ttl(struct model *m, int i)
{
	struct keyspace *ks = &m->en->ks;
	size_t klen;
	const char *key = m_name(m, i, &klen);
	struct kv *e = ks_lookup_write(ks, key, klen);

	if (!m_live(m, i)) {
		assert_null(e);
		if (m->k[i].present)
			m_drop(m, i);
		return;
	}
	assert_non_null(e);
	if (r_(m, 2)) {
		int64_t when = ks->now_ms - 3 + (int64_t)r_(m, 45);
		ks_set_expire(ks, e, when);
		m->k[i].ttl = true;
		m->k[i].expire = when;
	} else {
		ks_persist(ks, e);
		m->k[i].ttl = false;
	}
}

static void op_move(struct model *m, int i, bool copy)
{
	struct keyspace *ks = &m->en->ks;
	int j = (int)r_(m, NKEYS);
	size_t klen, dlen;
	const char *key = m_name(m, i, &klen), *dst = m_name(m, j, &dlen);
	struct kv *e = ks_lookup_write(ks, key, klen);
	struct mkey src;

	if (!m_live(m, i)) {
		assert_null(e);
		if (m->k[i].present)
			m_drop(m, i);
		return;
	}
	assert_non_null(e);
	if (copy && i == j)
		return;
	src = m->k[i];
	memcpy(m->scratch, src.bytes, src.len);
	if (copy)
		ks_copy(ks, e, dst, dlen);
	else
		ks_rename(ks, e, ks, dst, dlen);
	if (!copy && i != j)
		m_drop(m, i);
	m_store(m, j, src.len, src.enc, src.ttl, src.expire);
}

static void op_random(struct model *m)
{
	struct kv *e = ks_random(&m->en->ks);
	int i, live = 0;

	for (i = 0; i < NKEYS; i++)
		live += m_live(m, i);
	assert_true((e == NULL) == (live == 0));
	if (e == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (kv_key_eq(e, m->names[i], strlen(m->names[i]))) {
			assert_true(m_live(m, i));
			return;
		}
	}
	fail_msg("ks_random returned an unknown key");
}

static void op_hold(struct model *m, int i)
{
	struct held *h = &m->held[r_(m, NHELD)];
	size_t klen;
	const char *key = m_name(m, i, &klen);
	struct kv *e;

	if (h->v != NULL) {
		/* A held value never changes, whatever happened to its key. */
		assert_int_equal(h->v->len, h->len);
		assert_memory_equal(h->v->data, h->copy, h->len);
		assert_memory_equal(h->v->data + h->len, "\r\n", 2);
		val_unref(h->v);
		free(h->copy);
		memset(h, 0, sizeof(*h));
		return;
	}
	e = ks_peek(&m->en->ks, key, klen);
	if (e == NULL || e->enc != KV_REF)
		return;
	h->v = val_ref(kv_ref(e));
	h->len = h->v->len;
	h->copy = malloc(h->len + 1);
	assert_non_null(h->copy);
	memcpy(h->copy, h->v->data, h->len);
}

static void op_del(struct model *m, int i)
{
	bool live = m_live(m, i);

	assert_int_equal(ks_delete(&m->en->ks, m->names[i], strlen(m->names[i])), live);
	if (m->k[i].present)
		m_drop(m, i);
}

static void op_flush(struct model *m)
{
	int i;

	ks_flush(&m->en->ks, r_(m, 4) != 0);
	for (i = 0; i < NKEYS; i++)
		if (m->k[i].present)
			m_drop(m, i);
}

static void op_one(struct model *m)
{
	struct keyspace *ks = &m->en->ks;
	int i = (int)r_(m, NKEYS);
	uint64_t what = r_(m, 1000);

	if (what < 300)
		op_set(m, i);
	else if (what < 450)
		m_compare(m, i, r_(m, 2));
	else if (what < 520)
		op_del(m, i);
	else if (what < 640)
		op_edit(m, i);
	else if (what < 720)
		op_ttl(m, i);
	else if (what < 760)
		op_move(m, i, false);
	else if (what < 800)
		op_move(m, i, true);
	else if (what < 830)
		expire_cycle(ks, 1 + r_(m, 40));
	else if (what < 850)
		op_random(m);
	else if (what < 900)
		op_hold(m, i);
	else if (what < 920)
		ks_cron(ks, 1 + (unsigned)r_(m, 4));
	else if (what < 921)
		op_flush(m);
	else if (what < 940)
		ks_lazy_step(ks, 1 + (unsigned)r_(m, 20));
	else
		ks->now_ms += (int64_t)r_(m, 6);
	CHECK(ks);
}

static void m_full_compare(struct model *m)
{
	int i, live = 0;

	for (i = 0; i < NKEYS; i++) {
		m_compare(m, i, false);
		live += m_live(m, i);
	}
	/* Every expired key was just looked up, hence deleted. */
	assert_int_equal(ks_size(&m->en->ks), live);
}

static void test_random_ops(void **state)
{
	struct model *m = calloc(1, sizeof(*m));
	int i;

	(void)state;
	assert_non_null(m);
	m->en = env_new();
	m->x = 0x243f6a8885a308d3ull;
	m->scratch = malloc(20000);
	assert_non_null(m->scratch);
	for (i = 0; i < NKEYS; i++) {
		/* Keys of several lengths, so entries differ in size. */
		snprintf(m->names[i], sizeof(m->names[i]), "key:%d:%.*s", i, (i % 5) * 11,
			 "ppppppppppppppppppppppppppppppppppppppppppppppppppp");
	}
	for (m->op = 0; m->op < 200000; m->op++) {
		op_one(m);
		if (m->op % 5000 == 4999)
			m_full_compare(m);
	}
	m_full_compare(m);
	for (i = 0; i < NHELD; i++) {
		if (m->held[i].v != NULL) {
			assert_memory_equal(m->held[i].v->data, m->held[i].copy, m->held[i].len);
			val_unref(m->held[i].v);
			free(m->held[i].copy);
		}
	}
	for (i = 0; i < NKEYS; i++)
		m_drop(m, i);
	assert_true(m->en->st.expired_keys > 0);
	assert_true(m->en->st.lazyfreed_objects > 0);
	env_free(m->en);
	free(m->scratch);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_val_basics),
		cmocka_unit_test(test_kval_encodings),
		cmocka_unit_test(test_kval_lengths),
		cmocka_unit_test(test_kval_pinned),
		cmocka_unit_test(test_set_replace_shapes),
		cmocka_unit_test(test_set_replace_ref),
		cmocka_unit_test(test_set_ttl_paths),
		cmocka_unit_test(test_edit_inline),
		cmocka_unit_test(test_edit_inline_to_ref_and_growth),
		cmocka_unit_test(test_edit_copy_on_write),
		cmocka_unit_test(test_expire_persist),
		cmocka_unit_test(test_lazy_expiry),
		cmocka_unit_test(test_expire_cycle),
		cmocka_unit_test_setup_teardown(test_expire_cycle_budget, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_expire_cycle_behind, env_setup, env_teardown),
		cmocka_unit_test(test_flush_async),
		cmocka_unit_test(test_flush_during_rehash),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_random_skips_expired),
		cmocka_unit_test(test_lru_idle),
		cmocka_unit_test(test_random_ops),
	};

	return cmocka_run_group_tests_name("keyspace", tests, NULL, NULL);
}
