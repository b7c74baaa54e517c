/* test_hash.c: unit tests of node/base/hash.c (keyspace hash and cluster slots).
 *
 * Goal: hash_crc16 is CRC16-XMODEM (poly 0x1021, init 0, no reflection) and
 * hash_slot maps keys to Redis Cluster slots with Redis's hash-tag rule;
 * hash_bytes is deterministic, depends on the seed and on every byte and the
 * length of its input, reads nothing outside it, and spreads keys evenly.
 *
 * Method: published vectors (the Redis Cluster specification's, and slots redis-server
 * 7.0.15 answers to CLUSTER KEYSLOT),
 * a bitwise CRC16 written here from the polynomial as the reference for the
 * table-driven one, the tag rule restated as code and compared on generated
 * keys, single-bit flips at every position for lengths 0..64, and inputs
 * copied into exactly-sized heap buffers at several alignments (ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- CRC16 ---- */

static uint16_t crc16_bitwise(const char *p, size_t n)
{
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= (uint16_t)((uint8_t)p[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

static void test_crc16_vectors(void **state)
{
	(void)state;
	assert_int_equal(hash_crc16("123456789", 9), 0x31C3);
	assert_int_equal(hash_crc16("", 0), 0);
	assert_int_equal(crc16_bitwise("123456789", 9), 0x31C3); /* the reference too */
}

static void test_crc16_vs_bitwise(void **state)
{
	uint64_t x = 1;
	char buf[80];
	int c, i;

	(void)state;
	for (c = 0; c < 256; c++) {
		buf[0] = (char)c;
		assert_int_equal(hash_crc16(buf, 1), crc16_bitwise(buf, 1));
	}
	for (i = 0; i < 20000; i++) {
		size_t n = xorshift(&x) % sizeof(buf), k;
		for (k = 0; k < n; k++)
			buf[k] = (char)xorshift(&x);
		assert_int_equal(hash_crc16(buf, n), crc16_bitwise(buf, n));
		assert_int_equal(hash_crc16_table(buf, n), crc16_bitwise(buf, n));
	}
}

/* ---- slots ---- */

static unsigned slot_of(const char *key)
{
	return hash_slot(key, strlen(key));
}

static unsigned crc_slot(const char *s)
{
	return crc16_bitwise(s, strlen(s)) & (HASH_SLOTS - 1);
}

static void test_slot_vectors(void **state)
{
	(void)state;
	assert_int_equal(HASH_SLOTS, 16384);
	assert_int_equal(slot_of("somekey"), 11058);
	assert_int_equal(slot_of("foo{hash_tag}"), 2515);
	assert_int_equal(slot_of("foo"), 12182);
	assert_int_equal(slot_of("hash_tag"), 2515);
	assert_int_equal(slot_of(""), 0);
}

static void test_slot_tag_rules(void **state)
{
	(void)state;
	/* Keys that share a tag share a slot. */
	assert_int_equal(slot_of("{user1000}.following"), crc_slot("user1000"));
	assert_int_equal(slot_of("{user1000}.followers"), crc_slot("user1000"));
	/* First '{', then the first '}' after it. */
	assert_int_equal(slot_of("foo{bar}{zap}"), crc_slot("bar"));
	assert_int_equal(slot_of("foo{{bar}}zap"), crc_slot("{bar"));
	assert_int_equal(slot_of("a}b{c}"), crc_slot("c"));
	/* An empty tag, or no closing brace: the whole key. */
	assert_int_equal(slot_of("foo{}{bar}"), crc_slot("foo{}{bar}"));
	assert_int_equal(slot_of("{}"), crc_slot("{}"));
	assert_int_equal(slot_of("{"), crc_slot("{"));
	assert_int_equal(slot_of("foo{bar"), crc_slot("foo{bar"));
	assert_int_equal(slot_of("}{"), crc_slot("}{"));
	assert_int_equal(slot_of("foo}bar{"), crc_slot("foo}bar{"));
	/* Counted bytes: NUL is an ordinary byte, and bytes past n are not
	 * read. */
	assert_int_equal(hash_slot("a\0{b}", 5), crc_slot("b"));
	assert_int_equal(hash_slot("x{ab}", 4), crc16_bitwise("x{ab", 4) & (HASH_SLOTS - 1));
	assert_int_equal(hash_slot("x{ab}", 5), crc_slot("ab"));
}

/* The tag rule restated, over keys built from a brace-heavy alphabet. */
static unsigned ref_slot(const char *k, size_t n)
{
	size_t s, e;

	for (s = 0; s < n && k[s] != '{'; s++)
		;
	if (s < n) {
		for (e = s + 1; e < n && k[e] != '}'; e++)
			;
		if (e < n && e > s + 1)
			return crc16_bitwise(k + s + 1, e - s - 1) & (HASH_SLOTS - 1);
	}
	return crc16_bitwise(k, n) & (HASH_SLOTS - 1);
}

static void test_slot_vs_reference(void **state)
{
	static const char alpha[] = "{}ab\0";
	uint64_t x = 3;
	int i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		size_t n = xorshift(&x) % 12, k;
		char *key = malloc(n ? n : 1);
		assert_non_null(key);
		for (k = 0; k < n; k++)
			key[k] = alpha[xorshift(&x) % (sizeof(alpha))];
		assert_int_equal(hash_slot(key, n), ref_slot(key, n));
		assert_int_equal(hash_slot_table(key, n), ref_slot(key, n));
		assert_true(hash_slot(key, n) < HASH_SLOTS);
		free(key);
	}
}

/* Keys of every length up to 72 from all byte values, in exactly sized
 * allocations (ASan sees any read past the key), a brace now and then: the
 * carry-less path (where the CPU has it) and the tables agree with the
 * bitwise reference. */
static void test_slot_every_length(void **state)
{
	uint64_t x = 5;
	int i;

	(void)state;
	for (i = 0; i < 40000; i++) {
		size_t n = (size_t)i % 73, k;
		char *key = malloc(n ? n : 1);
		assert_non_null(key);
		for (k = 0; k < n; k++) {
			uint64_t r = xorshift(&x);
			key[k] = (char)(r % 64 == 0 ? '{' : r % 64 == 1 ? '}' : r >> 8);
		}
		assert_int_equal(hash_slot(key, n), ref_slot(key, n));
		assert_int_equal(hash_slot_table(key, n), ref_slot(key, n));
		assert_int_equal(hash_crc16(key, n), crc16_bitwise(key, n));
		free(key);
	}
}

/* ---- hash_bytes ---- */

/* Hashes p[0,n) from an exactly-sized heap copy at offset off. */
static uint64_t hash_copy(const void *p, size_t n, size_t off, uint64_t seed)
{
	char *buf = malloc(n + off + 1);
	uint64_t h;

	assert_non_null(buf);
	memcpy(buf + off, p, n);
	/* Nothing after the input is readable without ASan noticing: shrink
	 * the allocation to end exactly at the input. */
	buf = realloc(buf, n + off ? n + off : 1);
	assert_non_null(buf);
	h = hash_bytes(buf + off, n, seed);
	free(buf);
	return h;
}

static void test_hash_deterministic_and_aligned(void **state)
{
	uint64_t x = 11;
	unsigned char in[200];
	size_t n, off;

	(void)state;
	for (n = 0; n < sizeof(in); n++)
		in[n] = (unsigned char)xorshift(&x);
	for (n = 0; n <= 130; n++) {
		uint64_t h = hash_bytes(in, n, 42);
		assert_int_equal(hash_bytes(in, n, 42), h);
		for (off = 0; off < 8; off++)
			assert_int_equal(hash_copy(in, n, off, 42), h);
	}
}

static void test_hash_depends_on_seed(void **state)
{
	static const uint64_t seeds[] = {
		0, 1, 2, 0x8000000000000000ull, 0xffffffffffffffffull, 0x9e3779b97f4a7c15ull
	};
	const size_t ns = sizeof(seeds) / sizeof(seeds[0]);
	unsigned char in[64];
	size_t n, a, b;

	(void)state;
	memset(in, 'k', sizeof(in));
	for (n = 0; n <= 64; n++) {
		for (a = 0; a < ns; a++) {
			for (b = a + 1; b < ns; b++) {
				uint64_t ha = hash_bytes(in, n, seeds[a]);
				uint64_t hb = hash_bytes(in, n, seeds[b]);
				if (ha == hb)
					fail_msg("length %zu: seeds %zu and %zu collide", n, a, b);
				/* The bucket index (low 32 bits) moves too. */
				assert_true((uint32_t)ha != (uint32_t)hb);
			}
		}
	}
}

static int popcount64(uint64_t v)
{
	return __builtin_popcountll(v);
}

/* Every single-bit flip at every position changes the hash, and about half
 * of its bits. */
static void test_hash_depends_on_every_byte(void **state)
{
	uint64_t x = 5, flips = 0, changed_bits = 0;
	unsigned char in[64];
	size_t n, i;
	int bit;

	(void)state;
	for (n = 1; n <= 64; n++) {
		uint64_t base;
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)xorshift(&x);
		base = hash_bytes(in, n, 7);
		for (i = 0; i < n; i++) {
			for (bit = 0; bit < 8; bit++) {
				uint64_t h;
				in[i] ^= (unsigned char)(1u << bit);
				h = hash_bytes(in, n, 7);
				in[i] ^= (unsigned char)(1u << bit);
				if (h == base)
					fail_msg("length %zu: bit %d of byte %zu: no change", n,
						 bit, i);
				changed_bits += (uint64_t)popcount64(h ^ base);
				flips++;
			}
		}
	}
	/* An unbiased 64-bit hash changes 32 bits on average. */
	assert_true(changed_bits > flips * 28 && changed_bits < flips * 36);
}

/* Inputs that differ only in length (all zero bytes) hash apart. */
static void test_hash_depends_on_length(void **state)
{
	static const unsigned char zeros[65];
	uint64_t h[65];
	size_t a, b;

	(void)state;
	for (a = 0; a <= 64; a++)
		h[a] = hash_bytes(zeros, a, 99);
	for (a = 0; a <= 64; a++)
		for (b = a + 1; b <= 64; b++)
			if (h[a] == h[b])
				fail_msg("lengths %zu and %zu collide", a, b);
}

/* Sequential keys spread over the buckets the dict would use. */
static void test_hash_spread(void **state)
{
	static unsigned counts[1024];
	char key[32];
	unsigned i, lo = ~0u, hi = 0;

	(void)state;
	for (i = 0; i < 65536; i++) {
		int n = snprintf(key, sizeof(key), "key:%u", i);
		counts[(uint32_t)hash_bytes(key, (size_t)n, 12345) & 1023]++;
	}
	for (i = 0; i < 1024; i++) {
		lo = counts[i] < lo ? counts[i] : lo;
		hi = counts[i] > hi ? counts[i] : hi;
	}
	/* 64 per bucket on average; a fair hash stays well inside this. */
	assert_true(lo >= 24);
	assert_true(hi <= 120);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16_vectors),
		cmocka_unit_test(test_crc16_vs_bitwise),
		cmocka_unit_test(test_slot_vectors),
		cmocka_unit_test(test_slot_tag_rules),
		cmocka_unit_test(test_slot_vs_reference),
		cmocka_unit_test(test_slot_every_length),
		cmocka_unit_test(test_hash_deterministic_and_aligned),
		cmocka_unit_test(test_hash_depends_on_seed),
		cmocka_unit_test(test_hash_depends_on_every_byte),
		cmocka_unit_test(test_hash_depends_on_length),
		cmocka_unit_test(test_hash_spread),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
