/* test_htab.c: unit tests of the members' hash table (node/data/htab.c).
 *
 * Goal: the table keeps exactly the members added and not removed, of any
 * length (empty, one byte, the one-byte length's last value 254, the long
 * form from 255 on, with NUL and high bytes); it grows and shrinks through
 * incremental rehashing without losing a member; a full scan returns every
 * member present throughout at least once, even while the table resizes
 * between steps; iteration returns each member exactly once; a random pick
 * reaches every member; a small member fits the allocator's smallest
 * chunk; and the byte count, the memory account and htab_check() agree
 * after every step.
 *
 * Method: a model (a flag per member of a fixed pool) follows 30,000 random
 * additions and removals (fixed-seed xorshift) over a pool large enough
 * that the table grows past 1,000 members and shrinks back; after each, a
 * lookup of the member touched and the check; every 500 steps, a full
 * comparison through iteration. Scans interleave additions between steps
 * and compare with the members present from start to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "data/htab.h"

#define POOL 3000

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The random picks' source: splitmix64, whose low bits (which pick a
 * bucket) are good; xorshift's low bits of consecutive draws are not. */
static uint64_t rnd(void *arg)
{
	uint64_t *x = arg, z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Member i of the pool: its decimal text, except every 7th, which is long
 * (300 + i % 50 bytes with a NUL and high bytes inside). */
static size_t member(int i, char *buf)
{
	size_t n, k;

	if (i % 7 != 3)
		return (size_t)snprintf(buf, 32, "%d", i);
	n = 300 + (size_t)(i % 50);
	for (k = 0; k < n; k++)
		buf[k] = (char)((k * 31 + (size_t)i) & 0xff);
	buf[0] = (char)(i & 0xff);
	buf[1] = (char)(i >> 8);
	buf[2] = 0;
	return n;
}

static void check(struct htab *h, struct mem *m)
{
	assert_true(htab_check(h));
	assert_int_equal(htab_mem(h), m->used);
}

static void test_lengths(void **state)
{
	static char big[70000];
	struct mem m = { 0 };
	struct htab h;
	size_t len;
	const char *s;

	(void)state;
	htab_init(&h, &m, 7);
	assert_false(htab_find(&h, "", 0));
	assert_true(htab_add(&h, "", 0));
	assert_false(htab_add(&h, "", 0));
	memset(big, 0xee, sizeof(big));
	assert_true(htab_add(&h, big, 254));
	assert_true(htab_add(&h, big, 255));
	assert_true(htab_add(&h, big, sizeof(big)));
	assert_true(htab_add(&h, "a\0b", 3));
	assert_true(htab_find(&h, "a\0b", 3));
	assert_false(htab_find(&h, "a", 1));
	assert_true(htab_find(&h, big, 255));
	assert_false(htab_find(&h, big, 256));
	check(&h, &m);
	assert_int_equal(htab_size(&h), 5);
	s = htab_ent_str(htab_random(&h, rnd, &(uint64_t){ 9 }), &len);
	assert_true(len <= sizeof(big));
	(void)s;
	assert_true(htab_remove(&h, big, sizeof(big)));
	assert_false(htab_remove(&h, big, sizeof(big)));
	assert_true(htab_remove(&h, "", 0));
	check(&h, &m);
	htab_free(&h);
	assert_int_equal(m.used, 0);
}

/* A member of up to 15 bytes takes glibc's smallest chunk (the point of
 * the compact entry). ASan's allocator pads differently: skipped there. */
static void test_small_member_chunk(void **state)
{
	struct mem m = { 0 };
	void *probe = malloc(1);
	bool glibc = malloc_usable_size(probe) == 24; /* not ASan's */
	struct htab h;
	uint64_t before;

	(void)state;
	free(probe);
	htab_init(&h, &m, 7);
	htab_expand(&h, 16);
	before = h.bytes;
	assert_true(htab_add(&h, "123456789012345", 15));
	if (glibc)
		assert_int_equal(h.bytes - before, 24);
	htab_free(&h);
}

static void test_random_model(void **state)
{
	static char buf[400];
	static bool in[POOL];
	struct mem m = { 0 };
	uint64_t rs = 0xabcdef, n = 0;
	struct htab h;
	int step;

	(void)state;
	htab_init(&h, &m, 42);
	for (step = 0; step < 30000; step++) {
		uint64_t r = xorshift(&rs);
		int i = (int)(r % POOL);
		size_t len = member(i, buf);
		/* Mostly adds for the first half, mostly removals after. */
		bool add = (r >> 20) % 10 < (step < 15000 ? 7u : 2u);
		if (add) {
			assert_int_equal(htab_add(&h, buf, len), !in[i]);
			n += !in[i];
			in[i] = true;
		} else {
			assert_int_equal(htab_remove(&h, buf, len), in[i]);
			n -= in[i];
			in[i] = false;
		}
		assert_int_equal(htab_find(&h, buf, len), in[i]);
		assert_int_equal(htab_size(&h), n);
		check(&h, &m);
		if (step % 500 == 0) {
			struct htab_iter it;
			const struct htab_ent *e;
			uint64_t seen = 0;
			htab_iter_init(&it, &h);
			while ((e = htab_iter_next(&it)) != NULL)
				seen++;
			assert_int_equal(seen, n);
		}
	}
	htab_free(&h);
	assert_int_equal(m.used, 0);
}

struct seen {
	int count[POOL];
};

static void seen_cb(void *arg, const char *s, size_t len)
{
	struct seen *sn = arg;
	char buf[32];
	long v;

	assert_true(len < sizeof(buf));
	memcpy(buf, s, len);
	buf[len] = 0;
	v = strtol(buf, NULL, 10);
	assert_true(v >= 0 && v < POOL);
	sn->count[v]++;
}

/* A scan returns every member present throughout at least once, while
 * additions between its steps make the table grow (and rehash). */
static void test_scan_across_resizes(void **state)
{
	static struct seen sn;
	struct mem m = { 0 };
	uint64_t cursor = 0;
	struct htab h;
	char buf[32];
	int i, next = 100;

	(void)state;
	htab_init(&h, &m, 3);
	for (i = 0; i < 100; i++)
		htab_add(&h, buf, (size_t)snprintf(buf, sizeof(buf), "%d", i));
	do {
		cursor = htab_scan(&h, cursor, seen_cb, &sn);
		for (i = 0; i < 5 && next < POOL; i++, next++)
			htab_add(&h, buf, (size_t)snprintf(buf, sizeof(buf), "%d", next));
	} while (cursor != 0);
	for (i = 0; i < 100; i++)
		assert_true(sn.count[i] >= 1);
	check(&h, &m);
	htab_free(&h);
}

static void test_random_reaches_all(void **state)
{
	static struct seen sn;
	struct mem m = { 0 };
	uint64_t rs = 77;
	struct htab h;
	char buf[32];
	int i;

	(void)state;
	htab_init(&h, &m, 3);
	for (i = 0; i < 200; i++)
		htab_add(&h, buf, (size_t)snprintf(buf, sizeof(buf), "%d", i));
	for (i = 0; i < 20000; i++) {
		size_t len;
		const char *s = htab_ent_str(htab_random(&h, rnd, &rs), &len);
		seen_cb(&sn, s, len);
	}
	for (i = 0; i < 200; i++)
		assert_true(sn.count[i] > 0);
	htab_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_small_member_chunk),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_scan_across_resizes),
		cmocka_unit_test(test_random_reaches_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
