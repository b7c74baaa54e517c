/* test_rdb.c: unit tests of node/data/rdb.c (DUMP payloads) and
 * node/base/crc64.c.
 *
 * Goal: the CRC64 is Redis's (its check value, and a CRC continued over
 * pieces equals one over the whole); payloads redis-server 7.0.15 DUMPed
 * load into the value they hold and save back to the same bytes; every
 * type in every cairn encoding (strings of each form, list as listpack and
 * quicklist with compressed nodes, set as intset, listpack and table,
 * sorted set as listpack and tree, hash as listpack and table) saves and
 * loads back to an equal value, in the same bytes wherever the encoding's
 * order is its own; the footer is checked (length, version, CRC); and a
 * hostile payload is refused without a crash or a leak: every truncation
 * of every valid payload, every single-bit flip of them (with the CRC made
 * right again so the decoder sees it), duplicates, empty values, NaN
 * scores, trailing bytes, unknown types. A payload that still decodes
 * after a flip must hold its type's invariants (the type's check hook).
 *
 * Method: values are built in a keyspace through the types' own writes,
 * DUMPed with rdb_dump, loaded with rdb_load into a separate account that
 * must be back at zero after each rdb_value_free (and ks_check checks the
 * keyspace's account after a loaded value is stored). Redis's payloads are
 * the hex redis-server 7.0.15 returned for the commands in each comment.
 * RESTORE's IDLETIME and FREQ (policy_restore) are checked on an entry in
 * each policy mode. */
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

#include "base/crc64.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/rdb.h"
#include "data/t_string.h"
#include "unit_ks.h"

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct rdb_limits lim;
	struct mem scratch; /* loads and dumps */
};

static struct env *env_new(void)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x1234567;
	ks_init(&en->ks, &en->st, 99, rnd, &en->rs);
	/* Redis's defaults (7.2's for sets, and list-compress-depth 1 so
	 * compressed nodes are saved too). */
	en->lim.hash = (struct hash_limits){ 512, 64, 99 };
	en->lim.set = (struct set_limits){ 512, 128, 64, 99 };
	en->lim.zset = (struct zset_limits){ 128, 64, 99 };
	en->lim.list = (struct list_limits){ -2, 1 };
	return en;
}

static void env_free(struct env *en)
{
	assert_int_equal(en->scratch.used, 0);
	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
}

static size_t unhex(const char *hex, char *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned b;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (char)b;
	}
	return n;
}

/* The payload of key, in a malloc'd buffer. */
static char *dump(struct env *en, const char *key, size_t *len)
{
	struct kv *e = ks_peek(&en->ks, key, strlen(key));
	struct rdb_out o;
	char *p;

	assert_non_null(e);
	rdb_out_init(&o, &en->scratch, false);
	rdb_dump(&o, e);
	p = malloc(o.len);
	memcpy(p, o.buf, o.len);
	*len = o.len;
	rdb_out_free(&o);
	return p;
}

/* Loads p into key (replacing it); false when refused. */
static bool restore(struct env *en, const char *key, const char *p, size_t len)
{
	struct rdb_value v;
	struct kval kv;

	if (!rdb_payload_ok(p, len) || !rdb_load(&en->ks.mem, &en->lim, p, len, &v))
		return false;
	if (v.type == KV_STRING) {
		str_kval(&kv, v.p, v.len, NULL);
		ks_set(&en->ks, key, strlen(key), &kv, KS_TTL_NONE);
	} else {
		ks_set_obj(&en->ks, key, strlen(key), v.type, v.enc, v.obj, KS_TTL_NONE);
		v.obj = NULL;
	}
	rdb_value_free(&en->ks.mem, &v);
	CHECK(&en->ks);
	return true;
}

/* Sets the footer of a payload whose body is p[0, len - 10): version 10
 * and the CRC of what precedes it. */
static void seal(char *p, size_t len)
{
	uint64_t crc;

	assert_true(len >= RDB_FOOTER_BYTES);
	p[len - 10] = RDB_VERSION;
	p[len - 9] = 0;
	crc = crc64(0, p, len - 8);
	for (int i = 0; i < 8; i++)
		p[len - 8 + i] = (char)(crc >> (8 * i));
}

/* A hostile payload (sealed) must be refused or decode into a value that
 * holds its invariants; either way nothing stays allocated. */
static bool load_any(struct env *en, const char *p, size_t len)
{
	struct rdb_value v;
	struct mem m = { 0, 0 };
	bool ok = rdb_load(&m, &en->lim, p, len, &v);

	if (ok && v.obj != NULL)
		assert_true(en->ks.types[v.type]->check(v.obj, v.enc));
	if (ok)
		rdb_value_free(&m, &v);
	assert_int_equal(m.used, 0);
	return ok;
}

static const char *enc(struct env *en, const char *key)
{
	return ks_encoding_name(&en->ks, ks_peek(&en->ks, key, strlen(key)));
}

/* ---- crc64 ---- */

static void test_crc64(void **state)
{
	(void)state;
	assert_true(crc64(0, "123456789", 9) == CRC64_CHECK_VALUE);
	assert_true(crc64(crc64(0, "1234", 4), "56789", 5) == CRC64_CHECK_VALUE);
	assert_true(crc64(0, "", 0) == 0);
}

/* ---- Redis's payloads ---- */

/* redis-server 7.0.15: SET s hello; SET i 12345; SET big <100 a>; HSET h a
 * 1 b x; RPUSH l a b 1; SADD si 1 2 3; SADD ss a b; ZADD z 1 a 2.5 b. */
static const struct {
	const char *key, *hex, *encoding;
} redis_payloads[] = {
	{ "s", "000568656c6c6f0a006372df766534200a", "embstr" },
	{ "i", "00c139300a009d94ea2793fc08b9", "int" },
	{ "big", "00c3094064016161e057000161610a00e8a3b507b06df271", "raw" },
	{ "h", "10121200000004008161020101816202817802ff0a0078074c6bd9d7051f", "listpack" },
	{ "l", "1201020f0f00000003008161028162020101ff0a00e01bab4a47ce5922", "listpack" },
	{ "si", "0b0e02000000030000000100020003000a00a5025ce26d6e4d1b", "intset" },
	{ "ss", "0202016201610a0075d99d835ef85f65", "listpack" },
	{ "z", "1114140000000400816102010181620283322e3504ff0a00d44c6ea4f644d9d7", "listpack" },
};
#define NPAYLOADS (sizeof(redis_payloads) / sizeof(redis_payloads[0]))

static void test_redis_payloads(void **state)
{
	struct env *en = env_new();
	char buf[256], *back;
	size_t i, len, blen;

	(void)state;
	for (i = 0; i < NPAYLOADS; i++) {
		len = unhex(redis_payloads[i].hex, buf);
		assert_true(restore(en, redis_payloads[i].key, buf, len));
		assert_string_equal(enc(en, redis_payloads[i].key), redis_payloads[i].encoding);
		back = dump(en, redis_payloads[i].key, &blen);
		/* A set of strings is a table in Redis 7.0, saved in its
		 * order: the listpack keeps the payload's. */
		assert_int_equal(blen, len);
		assert_memory_equal(back, buf, len);
		free(back);
	}
	env_free(en);
}

static void test_footer(void **state)
{
	struct env *en = env_new();
	char buf[64];
	size_t len = unhex(redis_payloads[0].hex, buf);

	(void)state;
	assert_true(rdb_payload_ok(buf, len));
	assert_false(rdb_payload_ok(buf, 9));
	assert_false(rdb_payload_ok(buf, len - 1));
	buf[len - 10] = RDB_VERSION + 1; /* a newer RDB: refused before the CRC */
	seal(buf, len);
	buf[len - 10] = RDB_VERSION + 1;
	assert_false(rdb_payload_ok(buf, len));
	len = unhex(redis_payloads[0].hex, buf);
	buf[len - 1] ^= 1;
	assert_false(rdb_payload_ok(buf, len));
	/* An older version is taken (9: Redis 6.x). */
	len = unhex(redis_payloads[0].hex, buf);
	seal(buf, len);
	buf[len - 10] = 9;
	{
		uint64_t crc = crc64(0, buf, len - 8);
		for (int i = 0; i < 8; i++)
			buf[len - 8 + i] = (char)(crc >> (8 * i));
	}
	assert_true(rdb_payload_ok(buf, len));
	/* The smallest payload: a footer and no body is a bad format. */
	memset(buf, 0, 10);
	seal(buf, 10);
	assert_true(rdb_payload_ok(buf, 10));
	assert_false(load_any(en, buf, 10));
	env_free(en);
}

/* ---- cairn's values, saved and loaded ---- */

static void put_string(struct env *en, const char *key, const char *p, size_t len)
{
	struct kval kv;

	str_kval(&kv, p, len, NULL);
	ks_set(&en->ks, key, strlen(key), &kv, KS_TTL_NONE);
}

static void put_list(struct env *en, const char *key, int n, int width)
{
	struct kv *e = ks_set_obj(&en->ks, key, strlen(key), KV_LIST, LIST_LP,
				  list_new(&en->ks.mem), KS_TTL_NONE);
	char buf[256];

	for (int i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "%0*d", width, i % 7 == 0 ? i : i * 31);
		list_grow(&en->ks.mem, e, &en->lim.list, (size_t)len, 1);
		list_push(&en->ks.mem, e, buf, (size_t)len, i % 3 != 0);
	}
	CHECK(&en->ks);
}

static void put_set(struct env *en, const char *key, int n, bool ints)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), ints ? "%d" : "m%d", -7);
	struct set_member m = set_member_str(buf, (size_t)len);
	struct set_ref s = set_new(&en->ks.mem, &en->lim.set, &m, 1);

	for (int i = 0; i < n; i++) {
		len = snprintf(buf, sizeof(buf), ints ? "%d" : "m%d", i * 3 - 7);
		m = set_member_str(buf, (size_t)len);
		set_add(&en->ks.mem, &s, &en->lim.set, &m);
	}
	ks_set_obj(&en->ks, key, strlen(key), KV_SET, s.enc, s.obj, KS_TTL_NONE);
	CHECK(&en->ks);
}

static void put_hash(struct env *en, const char *key, int n, int vwidth)
{
	struct kv *e = ks_set_obj(&en->ks, key, strlen(key), KV_HASH, HASH_LP,
				  hash_new(&en->ks.mem), KS_TTL_NONE);
	char f[32], v[256];

	for (int i = 0; i < n; i++) {
		int flen = snprintf(f, sizeof(f), "f%d", i);
		int vlen = snprintf(v, sizeof(v), "%0*d", vwidth, i);
		hash_set(&en->ks.mem, e, &en->lim.hash, f, (size_t)flen, v, (size_t)vlen, NULL);
	}
	CHECK(&en->ks);
}

static void put_zset(struct env *en, const char *key, int n)
{
	unsigned e_enc;
	void *obj = zset_new(&en->ks.mem, &en->lim.zset, 2, &e_enc);
	struct kv *e = ks_set_obj(&en->ks, key, strlen(key), KV_ZSET, e_enc, obj, KS_TTL_NONE);
	char m[32];

	for (int i = 0; i < n; i++) {
		int out, len = snprintf(m, sizeof(m), "m%d", i);
		double score = i % 5 == 0 ? (double)i : i / 3.0 - 10;
		if (i == 1)
			score = INFINITY;
		if (i == 2)
			score = -INFINITY;
		assert_true(zset_add(&en->ks.mem, e, &en->lim.zset, score, m, (size_t)len, 0, &out,
				     NULL));
		e = ks_peek(&en->ks, key, strlen(key));
	}
	CHECK(&en->ks);
}

/* Every member of a's set, hash or sorted set is in b with the same value. */
static void same_members(struct env *en, const char *a, const char *b);

/* Saves key, loads it as key' and saves that: the same bytes (exact), or
 * at least the same value. */
static void round_trip(struct env *en, const char *key, const char *encoding, bool exact)
{
	char copy[64], *p, *q;
	size_t len, qlen;

	assert_string_equal(enc(en, key), encoding);
	snprintf(copy, sizeof(copy), "%s'", key);
	p = dump(en, key, &len);
	assert_true(restore(en, copy, p, len));
	assert_string_equal(enc(en, copy), encoding);
	q = dump(en, copy, &qlen);
	assert_int_equal(qlen, len);
	if (exact)
		assert_memory_equal(p, q, len);
	else
		same_members(en, key, copy);
	free(q);
	free(p);
}

struct member_check {
	struct env *en;
	struct kv *other;
	uint64_t n;
};

static void hash_member(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct member_check *mc = arg;
	struct hash_val w;
	char b1[UTIL_LL_CHARS], b2[UTIL_LL_CHARS];
	size_t l1, l2;
	const char *t1, *t2;

	assert_true(hash_get(mc->other, f, flen, &w));
	t1 = hash_val_text(v, b1, &l1);
	t2 = hash_val_text(&w, b2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, l1);
	mc->n++;
}

static void same_members(struct env *en, const char *a, const char *b)
{
	struct kv *ea = ks_peek(&en->ks, a, strlen(a)), *eb = ks_peek(&en->ks, b, strlen(b));
	struct member_check mc = { en, eb, 0 };

	assert_int_equal(ea->type, eb->type);
	if (ea->type == KV_HASH) {
		hash_each(ea, hash_member, &mc);
		assert_int_equal(mc.n, hash_len(eb));
	} else {
		struct set_ref sa = set_of(ea), sb = set_of(eb);
		struct set_iter it;
		struct set_member m;
		assert_int_equal(ea->type, KV_SET);
		set_iter_init(&it, &sa);
		while (set_iter_next(&it, &m))
			assert_true(set_contains(&sb, &m));
		assert_int_equal(set_size(&sa), set_size(&sb));
	}
}

static void test_strings(void **state)
{
	struct env *en = env_new();
	char big[5000];

	(void)state;
	put_string(en, "a", "hello", 5);
	round_trip(en, "a", "embstr", true);
	put_string(en, "b", "-128", 4); /* int8 */
	round_trip(en, "b", "int", true);
	put_string(en, "c", "32767", 5); /* int16 */
	round_trip(en, "c", "int", true);
	put_string(en, "d", "-2147483648", 11); /* int32 */
	round_trip(en, "d", "int", true);
	put_string(en, "e", "2147483648", 10); /* text */
	round_trip(en, "e", "int", true);
	put_string(en, "f", "", 0);
	round_trip(en, "f", "embstr", true);
	memset(big, 'x', sizeof(big)); /* compressed */
	put_string(en, "g", big, sizeof(big));
	round_trip(en, "g", "raw", true);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(xorshift(&en->rs) & 0xff); /* not compressible */
	put_string(en, "h", big, sizeof(big));
	round_trip(en, "h", "raw", true);
	put_string(en, "i", "007", 3); /* not canonical: text */
	round_trip(en, "i", "embstr", true);
	env_free(en);
}

static void test_collections(void **state)
{
	struct env *en = env_new();

	(void)state;
	put_list(en, "l1", 10, 3);
	round_trip(en, "l1", "listpack", true);
	put_list(en, "l2", 3000, 12); /* quicklist, inner nodes compressed */
	round_trip(en, "l2", "quicklist", true);
	put_set(en, "s1", 100, true);
	round_trip(en, "s1", "intset", true);
	put_set(en, "s2", 50, false);
	round_trip(en, "s2", "listpack", true);
	put_set(en, "s3", 1000, false);
	round_trip(en, "s3", "hashtable", false);
	put_set(en, "s4", 1000, true); /* too many for an intset */
	round_trip(en, "s4", "hashtable", false);
	put_hash(en, "h1", 20, 5);
	round_trip(en, "h1", "listpack", true);
	put_hash(en, "h2", 1000, 5);
	round_trip(en, "h2", "hashtable", false);
	put_hash(en, "h3", 3, 100); /* a value past hash-max-listpack-value */
	round_trip(en, "h3", "hashtable", false);
	put_zset(en, "z1", 50);
	round_trip(en, "z1", "listpack", true);
	put_zset(en, "z2", 1000);
	round_trip(en, "z2", "skiplist", true);
	env_free(en);
}

/* A payload saved under other limits loads into this node's encodings. */
static void test_thresholds(void **state)
{
	struct env *en = env_new();
	char *p;
	size_t len;

	(void)state;
	put_zset(en, "z", 100); /* a listpack here */
	put_hash(en, "h", 100, 3);
	put_set(en, "s", 100, true);
	put_list(en, "l", 100, 3);
	en->lim.zset.max_lp_entries = 10;
	en->lim.hash.max_lp_entries = 10;
	en->lim.set.max_intset_entries = 10;
	en->lim.list.fill = 10;
	p = dump(en, "z", &len);
	assert_true(restore(en, "z2", p, len));
	assert_string_equal(enc(en, "z2"), "skiplist");
	free(p);
	p = dump(en, "h", &len);
	assert_true(restore(en, "h2", p, len));
	assert_string_equal(enc(en, "h2"), "hashtable");
	free(p);
	p = dump(en, "s", &len);
	assert_true(restore(en, "s2", p, len)); /* 7.2's setTypeCreate for 100 */
	assert_string_equal(enc(en, "s2"), "listpack");
	free(p);
	p = dump(en, "l", &len); /* its one node passes fill 10: pushed again */
	assert_true(restore(en, "l2", p, len));
	assert_string_equal(enc(en, "l2"), "quicklist");
	assert_int_equal(((struct quicklist *)kv_obj(ks_peek(&en->ks, "l2", 2)))->len, 10);
	free(p);
	env_free(en);
}

/* ---- hostile payloads ---- */

/* The payloads of every kind above, for the truncation and flip tests. */
static void corpus(struct env *en, size_t *lens, char **items, size_t *n)
{
	static const char *keys[] = {
		"a", "g", "l1", "l2", "s1", "s2", "s3", "h1", "h2", "z1", "z2"
	};
	char buf[256];

	put_string(en, "a", "hello", 5);
	memset(buf, 'y', sizeof(buf));
	put_string(en, "g", buf, sizeof(buf));
	put_list(en, "l1", 10, 3);
	put_list(en, "l2", 600, 12);
	put_set(en, "s1", 20, true);
	put_set(en, "s2", 10, false);
	put_set(en, "s3", 200, false);
	put_hash(en, "h1", 8, 3);
	put_hash(en, "h2", 600, 3);
	put_zset(en, "z1", 10);
	put_zset(en, "z2", 150);
	*n = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		items[*n] = dump(en, keys[i], &lens[*n]);
		(*n)++;
	}
	for (size_t i = 0; i < NPAYLOADS; i++) {
		char *p = malloc(256);
		lens[*n] = unhex(redis_payloads[i].hex, p);
		items[(*n)++] = p;
	}
}

static size_t cut_step(size_t cut, size_t body)
{
	if (body <= 16384 || cut < 256 || cut + 256 >= body)
		return 1;
	return body / 300;
}

static void test_truncations(void **state)
{
	struct env *en = env_new();
	char *items[32];
	size_t lens[32], n;

	(void)state;
	corpus(en, lens, items, &n);
	for (size_t i = 0; i < n; i++) {
		char *t = malloc(lens[i]);
		assert_true(load_any(en, items[i], lens[i]));
		/* Every shorter body, with a right footer: every cut of a body
		 * up to 16 KB, of a bigger one those near either end and a sample. */
		size_t body = lens[i] - RDB_FOOTER_BYTES;
		for (size_t cut = 0; cut < body; cut += cut_step(cut, body)) {
			memcpy(t, items[i], cut);
			seal(t, cut + RDB_FOOTER_BYTES);
			assert_false(load_any(en, t, cut + RDB_FOOTER_BYTES));
		}
		/* The bytes cut off the end: the footer is wrong. */
		for (size_t cut = 0; cut < lens[i]; cut++)
			assert_false(rdb_payload_ok(items[i], cut));
		free(t);
		free(items[i]);
	}
	env_free(en);
}

static void test_flips(void **state)
{
	struct env *en = env_new();
	char *items[32];
	size_t lens[32], n, decoded = 0, refused = 0;

	(void)state;
	corpus(en, lens, items, &n);
	for (size_t i = 0; i < n; i++) {
		char *t = malloc(lens[i]);
		size_t body = lens[i] - RDB_FOOTER_BYTES;
		/* Every bit of small payloads, a sample of big ones. */
		size_t step = body > 2048 ? body / 500 : 1;
		for (size_t pos = 0; pos < body; pos += step) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(t, items[i], lens[i]);
				t[pos] = (char)(t[pos] ^ (1 << bit));
				assert_false(rdb_payload_ok(t, lens[i]));
				seal(t, lens[i]);
				if (load_any(en, t, lens[i]))
					decoded++;
				else
					refused++;
			}
		}
		free(t);
		free(items[i]);
	}
	/* A flip in a string's bytes changes only the value; one in a length
	 * or an encoding breaks it. Both happen. */
	print_message("flips: %zu decoded, %zu refused\n", decoded, refused);
	assert_true(refused > 1000);
	assert_true(decoded > 1000);
	env_free(en);
}

/* Builds a payload of body bytes (hex) and loads it. */
static bool load_hex(struct env *en, const char *hex)
{
	char buf[512];
	size_t len = unhex(hex, buf);

	seal(buf, len + RDB_FOOTER_BYTES);
	return load_any(en, buf, len + RDB_FOOTER_BYTES);
}

static void test_refused(void **state)
{
	struct env *en = env_new();

	(void)state;
	assert_true(load_hex(en, "000568656c6c6f"));        /* "hello" */
	assert_false(load_hex(en, "000568656c6c6f00"));     /* a trailing byte */
	assert_false(load_hex(en, "05"));                   /* ZSET_2 without a count */
	assert_false(load_hex(en, "0600"));                 /* module */
	assert_false(load_hex(en, "0900"));                 /* zipmap */
	assert_false(load_hex(en, "0f00"));                 /* stream */
	assert_false(load_hex(en, "1300"));                 /* stream 2 */
	assert_false(load_hex(en, "1500"));                 /* unknown */
	assert_false(load_hex(en, "00c4"));                 /* unknown special string */
	assert_false(load_hex(en, "0200"));                 /* an empty set */
	assert_false(load_hex(en, "04020161013101610132")); /* hash: field "a" twice */
	assert_true(load_hex(en, "040201610162016200"));    /* a->b, b->"" */
	assert_false(load_hex(en, "020201610161"));         /* set: "a" twice */
	/* ZSET_2: "a" with a NaN score, then with 1.0. */
	assert_false(load_hex(en, "05010161000000000000f87f"));
	assert_true(load_hex(en, "05010161000000000000f03f"));
	assert_false(load_hex(en, "050201610000000000000000016100000000000000f0"));
	/* ZSET (3): text scores; 253 is NaN, 254 +inf. */
	assert_false(load_hex(en, "03010161fd"));
	assert_true(load_hex(en, "03010161fe"));
	assert_true(load_hex(en, "0301016103312e35"));  /* 1.5 */
	assert_false(load_hex(en, "030101610331782e")); /* "1x." */
	/* An intset in order, out of order, with a duplicate. */
	assert_true(load_hex(en, "0b0c020000000200000001000300"));
	assert_false(load_hex(en, "0b0c020000000200000003000100"));
	assert_false(load_hex(en, "0b0c020000000200000001000100"));
	/* An LZF string that claims far more than its block can give. */
	assert_false(load_hex(en, "00c301800001000000"));
	/* A quicklist node of an unknown container; an empty list. */
	assert_false(load_hex(en, "1201030161"));
	assert_false(load_hex(en, "12010207070000000000ff"));
	/* LIST (1); ziplists: a list (10), a hash (13), a quicklist of them
	 * (14), a sorted set (12: a with 5, and a with "b", no number). */
	assert_true(load_hex(en, "010201610162"));
	assert_true(load_hex(en, "0a11110000000d0000000200000161030162ff"));
	assert_false(load_hex(en, "0a11110000000d0000000200000161040162ff")); /* prevlen */
	assert_false(load_hex(en, "0a11110000000c0000000200000161030162ff")); /* tail */
	assert_false(load_hex(en, "0a11110000000d0000000300000161030162ff")); /* count */
	assert_true(load_hex(en, "0d11110000000d0000000200000161030162ff"));
	assert_true(load_hex(en, "0e0111110000000d0000000200000161030162ff"));
	assert_true(load_hex(en, "0c10100000000d000000020000016103f6ff"));
	assert_false(load_hex(en, "0c11110000000d0000000200000161030162ff"));
	env_free(en);
}

/* RESTORE's IDLETIME and FREQ (policy_restore): the LRU clock set back by
 * the idle seconds, wrapping as Redis's 24-bit clock does; the LFU counter
 * set; nothing under SIEVE, or for the option the mode does not use. */
static void test_idle_freq(void **state)
{
	struct env *en = env_new();
	struct kv *e;
	uint32_t before;

	(void)state;
	en->ks.now_ms = 1000 * 1000; /* the LRU clock reads 1000 */
	put_string(en, "k", "v", 1);
	e = ks_peek(&en->ks, "k", 1);
	en->ks.pol.mode = POLICY_MODE_LRU;
	assert_true(policy_restore(&en->ks.pol, e, en->ks.now_ms, -1, 10));
	assert_int_equal(ks_idle_ms(&en->ks, e), 10000);
	assert_true(policy_restore(&en->ks.pol, e, en->ks.now_ms, -1, 5000));
	assert_int_equal(ks_idle_ms(&en->ks, e), 5000000);
	assert_true(policy_restore(&en->ks.pol, e, en->ks.now_ms, -1, 0));
	assert_int_equal(ks_idle_ms(&en->ks, e), 0);
	before = e->lru;
	assert_false(policy_restore(&en->ks.pol, e, en->ks.now_ms, 100, -1));
	assert_int_equal(e->lru, before);
	en->ks.pol.mode = POLICY_MODE_LFU;
	assert_true(policy_restore(&en->ks.pol, e, en->ks.now_ms, 200, -1));
	assert_int_equal(policy_lfu_freq(&en->ks.pol, e, en->ks.now_ms), 200);
	assert_true(policy_restore(&en->ks.pol, e, en->ks.now_ms, 0, -1));
	assert_int_equal(policy_lfu_freq(&en->ks.pol, e, en->ks.now_ms), 0);
	before = e->lru;
	assert_false(policy_restore(&en->ks.pol, e, en->ks.now_ms, -1, 10));
	assert_int_equal(e->lru, before);
	en->ks.pol.mode = POLICY_MODE_SIEVE;
	assert_false(policy_restore(&en->ks.pol, e, en->ks.now_ms, 5, 5));
	assert_int_equal(e->lru, before);
	en->ks.pol.mode = POLICY_MODE_LRU;
	env_free(en);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64),       cmocka_unit_test(test_redis_payloads),
		cmocka_unit_test(test_footer),      cmocka_unit_test(test_strings),
		cmocka_unit_test(test_collections), cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_truncations), cmocka_unit_test(test_flips),
		cmocka_unit_test(test_refused),     cmocka_unit_test(test_idle_freq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
