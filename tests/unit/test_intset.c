/* test_intset.c: unit tests of the intset (node/data/intset.c).
 *
 * Goal: intsets are byte for byte Redis 7.0's: the 8-byte header (width,
 * count, little endian) and the sorted elements at the narrowest width that
 * holds them all; each width at both edges of its range, and each upgrade
 * (16 to 32, 16 to 64, 32 to 64 bits, by a value below every element and by
 * one above) keeps every element in order; a removal never narrows; a
 * search finds every element and gives the insertion point of every value
 * that is not there; the allocation is exactly the intset's size and the
 * memory account holds it; intset_valid() accepts every intset written here
 * and refuses malformed ones without reading outside them.
 *
 * Method: three vectors come from Debian's redis-server 7.0.15, started on
 * a loopback port with --save '' (and CONFIG SET rdbcompression no, so DUMP
 * does not LZF-compress), filled with the SADD quoted beside each, then
 * read with DUMP over RESP and stopped by its PID. A payload is the RDB type
 * (11, RDB_TYPE_SET_INTSET), the intset as an RDB string (a 6-bit length
 * byte, then the bytes), the 2-byte RDB version and the 8-byte CRC64; the
 * test builds the same set here and compares the bytes. Then a model (a
 * sorted array) follows 20,000 random additions and removals over values
 * drawn near every width's edges (fixed-seed xorshift); after each, the
 * intset is compared with it element by element, byte by byte (the layout
 * computed here independently of intset.c), and against the account.
 * Malformed copies sit in exactly sized heap buffers, so the ASan build
 * catches any read outside them. */
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
#include "data/intset.h"

#define SEED 0x1175e7ull
#define MODEL_MAX 600

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static unsigned char *unhex(const char *hex, size_t *n)
{
	size_t len = strlen(hex) / 2, i;
	unsigned char *b = malloc(len ? len : 1);

	assert_non_null(b);
	for (i = 0; i < len; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (unsigned char)v;
	}
	*n = len;
	return b;
}

static struct intset *add(struct mem *m, struct intset *is, int64_t v, bool want_added)
{
	bool added;

	is = intset_add(m, is, v, &added);
	assert_int_equal(added, want_added);
	assert_true(intset_valid(is, intset_bytes(is), true));
	assert_int_equal(mem_size(is), m->used);
	return is;
}

/* The DUMP payloads of redis-server 7.0.15: the intset is bytes [2, 2 +
 * payload[1]) (type 11, then a 6-bit RDB string length). */
static const struct {
	const char *cmd;
	int64_t vals[3];
	size_t n;
	const char *dump;
} dumps[] = {
	{ "SADD s16 5 -3 1000",
	  { 5, -3, 1000 },
	  3,
	  "0b0e0200000003000000fdff0500e8030a0066ade9e0c5f633c5" },
	{ "SADD s32 5 -3 100000",
	  { 5, -3, 100000 },
	  3,
	  "0b140400000003000000fdffffff05000000a08601000a006d306c6cccb96cee" },
	{ "SADD s64 -5000000000 7",
	  { -5000000000LL, 7 },
	  2,
	  "0b180800000002000000000efad5feffffff07000000000000000a00893021973f7316e2" },
};

static void test_redis_dumps(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		struct mem m = { 0 };
		struct intset *is = intset_new(&m);
		unsigned char *want = unhex(dumps[i].dump, &n);

		for (j = 0; j < dumps[i].n; j++)
			is = add(&m, is, dumps[i].vals[j], true);
		assert_int_equal(want[0], 11);
		assert_int_equal(want[1], intset_bytes(is));
		assert_memory_equal(want + 2, is, intset_bytes(is));
		/* The blob Redis wrote is an intset here too. */
		assert_true(intset_valid(want + 2, want[1], true));
		intset_free(&m, is);
		assert_int_equal(m.used, 0);
		free(want);
	}
}

/* Each width at both edges; each upgrade, from below and from above. */
static void test_widths_and_upgrades(void **state)
{
	struct mem m = { 0 };
	struct intset *is = intset_new(&m);

	(void)state;
	assert_int_equal(intset_bytes(is), INTSET_HDR_SIZE);
	assert_int_equal(intset_width(is), INTSET_W16);
	assert_int_equal(intset_width_of(INT16_MIN), INTSET_W16);
	assert_int_equal(intset_width_of(INT16_MAX), INTSET_W16);
	assert_int_equal(intset_width_of(INT16_MIN - 1), INTSET_W32);
	assert_int_equal(intset_width_of(INT16_MAX + 1), INTSET_W32);
	assert_int_equal(intset_width_of(INT32_MIN), INTSET_W32);
	assert_int_equal(intset_width_of(INT32_MAX), INTSET_W32);
	assert_int_equal(intset_width_of((int64_t)INT32_MIN - 1), INTSET_W64);
	assert_int_equal(intset_width_of((int64_t)INT32_MAX + 1), INTSET_W64);
	is = add(&m, is, 0, true);
	is = add(&m, is, INT16_MAX, true);
	is = add(&m, is, INT16_MIN, true);
	is = add(&m, is, INT16_MIN, false);
	assert_int_equal(intset_width(is), INTSET_W16);
	/* 16 to 32 from above, then from below at the next edge. */
	is = add(&m, is, INT16_MAX + 1, true);
	assert_int_equal(intset_width(is), INTSET_W32);
	assert_int_equal(intset_max(is), INT16_MAX + 1);
	is = add(&m, is, INT32_MIN, true);
	is = add(&m, is, INT32_MAX, true);
	assert_int_equal(intset_width(is), INTSET_W32);
	/* 32 to 64 from below. */
	is = add(&m, is, (int64_t)INT32_MIN - 1, true);
	assert_int_equal(intset_width(is), INTSET_W64);
	assert_int_equal(intset_min(is), (int64_t)INT32_MIN - 1);
	is = add(&m, is, INT64_MAX, true);
	is = add(&m, is, INT64_MIN, true);
	assert_int_equal(intset_len(is), 9);
	assert_int_equal(intset_get(is, 0), INT64_MIN);
	assert_int_equal(intset_get(is, 1), (int64_t)INT32_MIN - 1);
	assert_int_equal(intset_get(is, 2), INT32_MIN);
	assert_int_equal(intset_get(is, 3), INT16_MIN);
	assert_int_equal(intset_get(is, 4), 0);
	assert_int_equal(intset_get(is, 5), INT16_MAX);
	assert_int_equal(intset_get(is, 6), INT16_MAX + 1);
	assert_int_equal(intset_get(is, 7), INT32_MAX);
	assert_int_equal(intset_get(is, 8), INT64_MAX);
	intset_free(&m, is);
	/* 16 to 64 directly, from below; 16 to 32 from below. */
	is = intset_new(&m);
	is = add(&m, is, 1, true);
	is = add(&m, is, 2, true);
	is = add(&m, is, INT64_MIN, true);
	assert_int_equal(intset_width(is), INTSET_W64);
	assert_int_equal(intset_get(is, 0), INT64_MIN);
	assert_int_equal(intset_get(is, 2), 2);
	intset_free(&m, is);
	is = intset_new(&m);
	is = add(&m, is, 1, true);
	is = add(&m, is, INT16_MIN - 1, true);
	assert_int_equal(intset_width(is), INTSET_W32);
	assert_int_equal(intset_get(is, 0), INT16_MIN - 1);
	assert_int_equal(intset_get(is, 1), 1);
	intset_free(&m, is);
	assert_int_equal(m.used, 0);
}

/* A search finds each element at its place, and gives the insertion point
 * of values between, before, after and wider than the elements; removal
 * keeps the width. */
static void test_search_and_remove(void **state)
{
	struct mem m = { 0 };
	struct intset *is = intset_new(&m);
	uint32_t pos;
	bool removed;
	int64_t v;

	(void)state;
	assert_false(intset_find(is, 5, &pos));
	assert_int_equal(pos, 0);
	for (v = 10; v <= 100; v += 10)
		is = add(&m, is, v, true);
	for (v = 10; v <= 100; v += 10) {
		assert_true(intset_find(is, v, &pos));
		assert_int_equal(pos, v / 10 - 1);
		assert_false(intset_find(is, v + 5, &pos));
		assert_int_equal(pos, v / 10);
	}
	assert_false(intset_find(is, -1, &pos));
	assert_int_equal(pos, 0);
	assert_false(intset_find(is, INT64_MAX, &pos));
	assert_int_equal(pos, 10);
	assert_false(intset_find(is, INT64_MIN, &pos));
	assert_int_equal(pos, 0);
	assert_false(intset_find(is, 15, NULL));
	is = add(&m, is, 1LL << 40, true);
	is = intset_remove(&m, is, 1LL << 40, &removed);
	assert_true(removed);
	is = intset_remove(&m, is, 1LL << 40, &removed);
	assert_false(removed);
	assert_int_equal(intset_width(is), INTSET_W64);
	assert_int_equal(intset_bytes(is), INTSET_HDR_SIZE + 10 * 8);
	assert_int_equal(mem_size(is), m.used);
	is = intset_remove(&m, is, 10, &removed);
	assert_true(removed);
	assert_int_equal(intset_min(is), 20);
	is = intset_remove(&m, is, 100, &removed);
	assert_int_equal(intset_max(is), 90);
	assert_int_equal(intset_len(is), 8);
	assert_true(intset_valid(is, intset_bytes(is), true));
	intset_free(&m, is);
	assert_int_equal(m.used, 0);
}

/* The bytes an intset of these sorted values must have, computed here. */
static void expected_bytes(const int64_t *v, size_t n, unsigned char *out, size_t *len)
{
	unsigned w = 2, i, k;

	for (i = 0; i < n; i++) {
		if (v[i] < INT32_MIN || v[i] > INT32_MAX)
			w = 8;
		else if ((v[i] < INT16_MIN || v[i] > INT16_MAX) && w < 4)
			w = 4;
	}
	memset(out, 0, 8);
	out[0] = (unsigned char)w;
	for (k = 0; k < 4; k++)
		out[4 + k] = (unsigned char)(n >> (8 * k));
	for (i = 0; i < n; i++)
		for (k = 0; k < w; k++)
			out[8 + i * w + k] = (unsigned char)((uint64_t)v[i] >> (8 * k));
	*len = 8 + n * w;
}

static int64_t edge_value(uint64_t r)
{
	static const int64_t edges[] = { 0,         INT16_MIN, INT16_MAX, INT32_MIN,
					 INT32_MAX, INT64_MIN, INT64_MAX };
	int64_t base = edges[r % 7], off = (int64_t)((r >> 8) % 64) - 32;

	/* Near an edge, without overflowing past the 64-bit ones. */
	if ((base == INT64_MIN && off < 0) || (base == INT64_MAX && off > 0))
		off = -off;
	return base + off;
}

struct model {
	int64_t v[MODEL_MAX];
	size_t n;
};

static void model_check(const struct model *md, const struct intset *is, const struct mem *m)
{
	static unsigned char want[8 + MODEL_MAX * 8];
	size_t len, i;

	assert_int_equal(intset_len(is), md->n);
	for (i = 0; i < md->n; i++)
		assert_int_equal(intset_get(is, (uint32_t)i), md->v[i]);
	expected_bytes(md->v, md->n, want, &len);
	/* Removal keeps the width: compare the layout only while the width
	 * is still the narrowest (the bytes are then exactly determined). */
	if (len == intset_bytes(is))
		assert_memory_equal(want, is, len);
	assert_int_equal(mem_size(is), m->used);
	if (md->n > 0)
		assert_true(intset_valid(is, intset_bytes(is), true));
}

static void model_step(struct model *md, struct intset **is, struct mem *m, uint64_t *rs)
{
	uint64_t r = xorshift(rs);
	int64_t v = edge_value(r >> 4);
	size_t i = 0;
	bool found, done;

	while (i < md->n && md->v[i] < v)
		i++;
	found = i < md->n && md->v[i] == v;
	if ((r & 3) != 0 && md->n < MODEL_MAX) {
		*is = intset_add(m, *is, v, &done);
		assert_int_equal(done, !found);
		if (!found) {
			memmove(md->v + i + 1, md->v + i, (md->n - i) * sizeof(int64_t));
			md->v[i] = v;
			md->n++;
		}
	} else {
		*is = intset_remove(m, *is, v, &done);
		assert_int_equal(done, found);
		if (found) {
			memmove(md->v + i, md->v + i + 1, (md->n - i - 1) * sizeof(int64_t));
			md->n--;
		}
	}
}

static void test_random_model(void **state)
{
	struct mem m = { 0 };
	struct intset *is = intset_new(&m);
	struct model md = { .n = 0 };
	uint64_t rs = SEED;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		model_step(&md, &is, &m, &rs);
		model_check(&md, is, &m);
		/* Now and then start over, so narrow widths come back. */
		if (i % 1500 == 1499) {
			intset_free(&m, is);
			is = intset_new(&m);
			md.n = 0;
		}
	}
	intset_free(&m, is);
	assert_int_equal(m.used, 0);
}

/* A copy of bytes in an exactly sized buffer. */
static unsigned char *exact(const void *p, size_t n)
{
	unsigned char *b = malloc(n ? n : 1);

	assert_non_null(b);
	memcpy(b, p, n);
	return b;
}

static void refused(const unsigned char *p, size_t n, bool deep_only)
{
	unsigned char *b = exact(p, n);

	assert_false(intset_valid(b, n, true));
	assert_int_equal(intset_valid(b, n, false), deep_only);
	free(b);
}

static void test_valid(void **state)
{
	struct mem m = { 0 };
	struct intset *is = intset_new(&m);
	unsigned char *b;
	size_t n;

	(void)state;
	/* Empty: refused, as Redis refuses it. */
	refused((const unsigned char *)is, INTSET_HDR_SIZE, false);
	is = add(&m, is, 1, true);
	is = add(&m, is, 2, true);
	is = add(&m, is, 3, true);
	n = intset_bytes(is);
	b = exact(is, n);
	assert_true(intset_valid(b, n, true));
	refused(b, n - 1, false); /* truncated */
	refused(b, 7, false);     /* no whole header */
	refused(b, 0, false);     /* nothing */
	b[0] = 3;                 /* unknown width */
	refused(b, n, false);
	b[0] = 2;
	b[4] = 4; /* count past the end */
	refused(b, n, false);
	b[4] = 3;
	b[8] = 2; /* 2, 2, 3: a duplicate */
	refused(b, n, true);
	b[8] = 5; /* 5, 2, 3: out of order */
	refused(b, n, true);
	free(b);
	intset_free(&m, is);
	assert_int_equal(m.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_dumps),
		cmocka_unit_test(test_widths_and_upgrades),
		cmocka_unit_test(test_search_and_remove),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
