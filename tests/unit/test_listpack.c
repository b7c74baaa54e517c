/* test_listpack.c: unit tests of the listpack (node/data/listpack.c).
 *
 * Goal: listpacks are byte for byte Redis 7.0's: every encoding at both
 * edges of its range, strings that are canonical integers stored as
 * integers, the backlen's size steps at Redis's bounds, the header's count
 * saturating at 65535. Every change (append, prepend, insert before and
 * after, replace growing and shrinking across encodings, delete, delete
 * range, merge) leaves a well-formed listpack that walks the same both ways and
 * seeks from both ends; lp_find() honours skip; lp_valid() accepts every
 * listpack written here and refuses corrupted copies (truncated, bad
 * backlen, bad count, no end byte, bad encoding, lengths past the end)
 * without reading outside them; the memory account holds exactly the
 * allocation's usable size, the allocation stays tight, and lp_free() gives
 * it all back.
 *
 * Method: the vectors come from Debian's redis-server 7.0.15, started on a
 * loopback port with --save '' --rdbcompression no (so that DUMP does not
 * LZF-compress a node), filled with the commands quoted beside each vector,
 * then read with DUMP over RESP. A payload is the RDB type, the object, the
 * 2-byte RDB version and the 8-byte CRC64. Type 18 (a quicklist) holds the
 * node count, then per node its container (2: packed) and the listpack as
 * an RDB string; type 16 (a listpack hash) holds the listpack as an RDB
 * string. An RDB string is an RDB length (top two bits 00: 6-bit, 01:
 * 14-bit, 0x80: 32-bit big endian) and the bytes. Each listpack is recorded
 * in hex, long strings as head, pattern, tail (pat(n): byte i is 'a' + i %
 * 26), and the listpacks of 65534 and more elements as size, header and
 * FNV-1a 64 of all the bytes. The test builds the same listpack with this
 * module and compares exactly. A model (an array of strings) then follows
 * random operations over a pool of edge values; after each, the listpack is
 * checked against it: deep validity, length, header count, each element
 * through lp_get/lp_get_text/lp_eq, each entry's size (computed here from
 * the format, independently of listpack.c), both walks, lp_seek() at every
 * index from both ends, and the account. Corrupted copies sit in exactly
 * sized heap buffers, so that the ASan build catches any read outside
 * them; every single-byte mutation of the small vectors is either refused
 * or walks cleanly both ways. */
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
#include "base/util.h"
#include "data/listpack.h"

#define SEED 0x11570acull
/* Elements a model holds at most. */
#define MODEL_MAX 48
/* glibc's slack between a heap chunk's usable size and the request, after
 * realloc: the 16-byte rounding, the header word, and a remainder too small
 * to split off (MINSIZE). Under ASan the slack is 0. */
#define TIGHT_SLACK 64
/* Below this size glibc serves from the heap, not mmap (page rounding). */
#define TIGHT_CHECKED_MAX 65536

/* ---- helpers ---------------------------------------------------------- */

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The pattern the long strings of the vectors use: byte i is 'a' + i % 26. */
static char *pat(size_t n)
{
	char *s = malloc(n ? n : 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	return s;
}

static unsigned char *unhex(const char *hex, size_t *n)
{
	size_t len = strlen(hex), i;
	unsigned char *b = malloc(len / 2 + 1);

	assert_non_null(b);
	assert_int_equal(len % 2, 0);
	for (i = 0; i < len / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (unsigned char)v;
	}
	*n = len / 2;
	return b;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void print_hex(const char *what, const unsigned char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu):", what, n);
	for (i = 0; i < n && i < 512; i++)
		fprintf(stderr, "%02x", p[i]);
	fprintf(stderr, "%s\n", n > 512 ? "..." : "");
}

static void assert_bytes(const unsigned char *got, size_t glen, const unsigned char *want,
			 size_t wlen)
{
	if (glen != wlen || memcmp(got, want, glen) != 0) {
		print_hex("got ", got, glen);
		print_hex("want", want, wlen);
		fail_msg("listpack bytes differ from Redis's");
	}
}

static unsigned hdr_count(const unsigned char *lp)
{
	return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}

/* The account holds exactly the allocation, and the allocation is tight. */
static void assert_account(const struct mem *m, unsigned char *lp)
{
	size_t usable = malloc_usable_size(lp);

	assert_int_equal(m->used, usable);
	assert_true(usable >= lp_bytes(lp));
	if (lp_bytes(lp) < TIGHT_CHECKED_MAX)
		assert_true(usable - lp_bytes(lp) < TIGHT_SLACK);
}

/* ---- the format, computed independently of listpack.c ------------------ */

static size_t backlen_size(uint64_t l)
{
	if (l <= 127)
		return 1;
	if (l < 16383)
		return 2;
	if (l < 2097151)
		return 3;
	if (l < 268435455)
		return 4;
	return 5;
}

static size_t int_len(long long v)
{
	if (v >= 0 && v <= 127)
		return 1;
	if (v >= -4096 && v <= 4095)
		return 2;
	if (v >= INT16_MIN && v <= INT16_MAX)
		return 3;
	if (v >= -8388608 && v <= 8388607)
		return 4;
	if (v >= INT32_MIN && v <= INT32_MAX)
		return 5;
	return 9;
}

/* The size of the entry (backlen included) that holds s. */
static size_t entry_size(const char *s, size_t len)
{
	long long v;
	uint64_t l;

	if (util_str2ll(s, len, &v))
		l = int_len(v);
	else
		l = (len <= 63 ? 1 : len <= 4095 ? 2 : 5) + len;
	return l + backlen_size(l);
}

/* ---- the model ------------------------------------------------------- */

struct model {
	const char *s[MODEL_MAX];
	size_t len[MODEL_MAX];
	size_t n;
};

static void model_insert(struct model *md, size_t i, const char *s, size_t len)
{
	assert_true(md->n < MODEL_MAX);
	assert_true(i <= md->n);
	memmove(md->s + i + 1, md->s + i, (md->n - i) * sizeof(md->s[0]));
	memmove(md->len + i + 1, md->len + i, (md->n - i) * sizeof(md->len[0]));
	md->s[i] = s;
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

/* The element at p is s, through every reader. */
static void check_elem(const unsigned char *p, const char *s, size_t len)
{
	char buf[LP_INTBUF_SIZE];
	size_t tlen;
	const char *t = lp_get_text(p, buf, &tlen);
	int64_t v = 0;
	uint32_t slen = 0;
	const unsigned char *d = lp_get(p, &v, &slen);
	long long want;

	assert_int_equal(tlen, len);
	if (len > 0)
		assert_memory_equal(t, s, len);
	assert_true(lp_eq(p, s, len));
	if (util_str2ll(s, len, &want)) {
		assert_null(d);
		assert_true(v == want);
	} else {
		assert_non_null(d);
		assert_int_equal(slen, len);
		assert_ptr_equal(d, (const unsigned char *)t);
	}
}

/* lp matches the model: see the Method paragraph. */
static void verify(const struct mem *m, unsigned char *lp, const struct model *md)
{
	unsigned char *fwd[MODEL_MAX];
	unsigned char *p, *next;
	size_t i = 0, bytes = LP_EMPTY_SIZE;

	assert_true(lp_valid(lp, lp_bytes(lp), false));
	assert_true(lp_valid(lp, lp_bytes(lp), true));
	assert_int_equal(lp_length(lp), md->n);
	assert_int_equal(hdr_count(lp), md->n);
	assert_account(m, lp);
	for (p = lp_first(lp); p != NULL; p = next, i++) {
		assert_true(i < md->n);
		fwd[i] = p;
		check_elem(p, md->s[i], md->len[i]);
		next = lp_next(lp, p);
		assert_int_equal((next ? next : lp + lp_bytes(lp) - 1) - p,
				 entry_size(md->s[i], md->len[i]));
		bytes += entry_size(md->s[i], md->len[i]);
	}
	assert_int_equal(i, md->n);
	assert_int_equal(lp_bytes(lp), bytes);
	assert_int_equal(lp[bytes - 1], LP_EOF);
	for (p = lp_last(lp); p != NULL; p = lp_prev(lp, p)) {
		assert_true(i > 0);
		assert_ptr_equal(p, fwd[--i]);
	}
	assert_int_equal(i, 0);
	for (i = 0; i < md->n; i++) {
		assert_ptr_equal(lp_seek(lp, (long)i), fwd[i]);
		assert_ptr_equal(lp_seek(lp, (long)i - (long)md->n), fwd[i]);
	}
	assert_null(lp_seek(lp, (long)md->n));
	assert_null(lp_seek(lp, -(long)md->n - 1));
}

/* ---- the pool of edge values ------------------------------------------ */

static const char *const int_texts[] = {
	"0",
	"127",
	"128",
	"-1",
	"-4096",
	"4095",
	"4096",
	"-4097",
	"32767",
	"-32768",
	"32768",
	"-32769",
	"8388607",
	"-8388608",
	"8388608",
	"-8388609",
	"2147483647",
	"-2147483648",
	"2147483648",
	"-2147483649",
	"9223372036854775807",
	"-9223372036854775808",
};
/* Strings that look like integers but are not canonical ones: stored as
 * strings, as Redis does. */
static const char *const odd_texts[] = {
	"9223372036854775808",
	"-9223372036854775809",
	"-0",
	"007",
	"+1",
	" 1",
	"1 ",
	"1.5",
	"",
	"a",
	"hello",
};
static const size_t str_lens[] = { 1, 63, 64, 125, 126, 4095, 4096, 70000 };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define POOL_MAX (NELEM(int_texts) + NELEM(odd_texts) + NELEM(str_lens))

struct pool {
	const char *s[POOL_MAX];
	size_t len[POOL_MAX];
	size_t n;
	char *big;
};

static void pool_init(struct pool *pl)
{
	size_t i;

	pl->n = 0;
	pl->big = pat(70000);
	for (i = 0; i < NELEM(int_texts); i++, pl->n++) {
		pl->s[pl->n] = int_texts[i];
		pl->len[pl->n] = strlen(int_texts[i]);
	}
	for (i = 0; i < NELEM(odd_texts); i++, pl->n++) {
		pl->s[pl->n] = odd_texts[i];
		pl->len[pl->n] = strlen(odd_texts[i]);
	}
	for (i = 0; i < NELEM(str_lens); i++, pl->n++) {
		pl->s[pl->n] = pl->big;
		pl->len[pl->n] = str_lens[i];
	}
}

/* ---- encodings at the edges ------------------------------------------- */

static const struct {
	const char *text;
	int64_t v;
	unsigned char first; /* the encoding's first byte */
	size_t len;          /* encoding and data */
} int_edges[] = {
	{ "0", 0, 0x00, 1 },
	{ "127", 127, 0x7F, 1 },
	{ "128", 128, 0xC0, 2 },
	{ "-1", -1, 0xDF, 2 },
	{ "-4096", -4096, 0xD0, 2 },
	{ "4095", 4095, 0xCF, 2 },
	{ "4096", 4096, 0xF1, 3 },
	{ "-4097", -4097, 0xF1, 3 },
	{ "32767", INT16_MAX, 0xF1, 3 },
	{ "-32768", INT16_MIN, 0xF1, 3 },
	{ "32768", 32768, 0xF2, 4 },
	{ "-32769", -32769, 0xF2, 4 },
	{ "8388607", 8388607, 0xF2, 4 },
	{ "-8388608", -8388608, 0xF2, 4 },
	{ "8388608", 8388608, 0xF3, 5 },
	{ "-8388609", -8388609, 0xF3, 5 },
	{ "2147483647", INT32_MAX, 0xF3, 5 },
	{ "-2147483648", INT32_MIN, 0xF3, 5 },
	{ "2147483648", 2147483648LL, 0xF4, 9 },
	{ "-2147483649", -2147483649LL, 0xF4, 9 },
	{ "9223372036854775807", INT64_MAX, 0xF4, 9 },
	{ "-9223372036854775808", INT64_MIN, 0xF4, 9 },
};

/* Each integer edge alone: lp_append_int and lp_append of its text give the
 * same bytes, with the expected encoding, data and backlen. */
static void test_int_edges(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(int_edges); i++) {
		struct mem m = { 0 };
		unsigned char *a = lp_new(&m), *b = lp_new(&m);
		size_t len = int_edges[i].len;
		int64_t v = 0;
		uint32_t slen;

		a = lp_append_int(&m, a, int_edges[i].v);
		b = lp_append(&m, b, int_edges[i].text, strlen(int_edges[i].text));
		assert_bytes(a, lp_bytes(a), b, lp_bytes(b));
		assert_int_equal(lp_bytes(a), LP_EMPTY_SIZE + len + 1);
		assert_int_equal(a[LP_HDR_SIZE], int_edges[i].first);
		assert_int_equal(a[LP_HDR_SIZE + len], len);
		for (j = 1; j < len && len > 2; j++)
			assert_int_equal(
				a[LP_HDR_SIZE + j],
				(unsigned char)((uint64_t)int_edges[i].v >> (8 * (j - 1))));
		assert_null(lp_get(lp_first(a), &v, &slen));
		assert_true(v == int_edges[i].v);
		check_elem(lp_first(a), int_edges[i].text, strlen(int_edges[i].text));
		assert_true(lp_valid(a, lp_bytes(a), true));
		lp_free(&m, a);
		lp_free(&m, b);
		assert_int_equal(m.used, 0);
	}
}

/* Strings at each length edge: the encoding's first bytes, the data in
 * place, and the backlen. Non-canonical integer texts stay strings. */
static void test_str_edges(void **state)
{
	static const size_t lens[] = { 0, 1, 63, 64, 4095, 4096, 70000 };
	char *big = pat(70000);
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(lens); i++) {
		struct mem m = { 0 };
		unsigned char *lp = lp_new(&m), *p;
		size_t len = lens[i], hdr = len <= 63 ? 1 : len <= 4095 ? 2 : 5;

		lp = lp_append(&m, lp, big, len);
		p = lp_first(lp);
		assert_int_equal(lp_bytes(lp), LP_EMPTY_SIZE + hdr + len + backlen_size(hdr + len));
		if (hdr == 1) {
			assert_int_equal(p[0], 0x80 | len);
		} else if (hdr == 2) {
			assert_int_equal(p[0], 0xE0 | len >> 8);
			assert_int_equal(p[1], len & 0xFF);
		} else {
			assert_int_equal(p[0], 0xF0);
			assert_int_equal(p[1] | p[2] << 8 | p[3] << 16 | (uint32_t)p[4] << 24, len);
		}
		if (len > 0)
			assert_memory_equal(p + hdr, big, len);
		check_elem(p, big, len);
		assert_ptr_equal(lp_last(lp), p);
		assert_true(lp_valid(lp, lp_bytes(lp), true));
		lp_free(&m, lp);
		assert_int_equal(m.used, 0);
	}
	for (i = 0; i < NELEM(odd_texts); i++) {
		struct mem m = { 0 };
		unsigned char *lp = lp_new(&m);
		size_t len = strlen(odd_texts[i]);

		lp = lp_append(&m, lp, odd_texts[i], len);
		assert_int_equal(lp_bytes(lp), LP_EMPTY_SIZE + 1 + len + 1);
		assert_int_equal(lp[LP_HDR_SIZE], 0x80 | len);
		check_elem(lp_first(lp), odd_texts[i], len);
		lp_free(&m, lp);
	}
	free(big);
}

/* The backlen steps from 1 to 4 bytes at Redis's bounds (127 | 128, 16382
 * | 16383, 2097150 | 2097151), and the walk back reads each. The 5-byte
 * backlen needs an entry of 256 MB and is left to the format's arithmetic. */
static void test_backlen_edges(void **state)
{
	static const struct {
		size_t len;     /* string length */
		size_t entry;   /* encoding and data */
		size_t backlen; /* bytes */
	} cases[] = {
		{ 125, 127, 1 },     { 126, 128, 2 },         { 16377, 16382, 2 },
		{ 16378, 16383, 3 }, { 2097145, 2097150, 3 }, { 2097146, 2097151, 4 },
	};
	char *big = pat(2097146);
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct mem m = { 0 };
		unsigned char *lp = lp_new(&m), *p;

		lp = lp_append(&m, lp, big, cases[i].len);
		lp = lp_append(&m, lp, "tail", 4);
		assert_int_equal(lp_bytes(lp),
				 LP_EMPTY_SIZE + cases[i].entry + cases[i].backlen + 1 + 4 + 1);
		p = lp_last(lp);
		assert_true(lp_eq(p, "tail", 4));
		p = lp_prev(lp, p);
		assert_ptr_equal(p, lp + LP_HDR_SIZE);
		assert_null(lp_prev(lp, p));
		check_elem(p, big, cases[i].len);
		assert_true(lp_valid(lp, lp_bytes(lp), true));
		lp_free(&m, lp);
		assert_int_equal(m.used, 0);
	}
	free(big);
}

/* ---- Redis's bytes ---------------------------------------------------- */

/* An element of a vector: a text, or (when s is NULL) pat(pat). */
struct el {
	const char *s;
	size_t pat;
};
#define S(x)                                                                                       \
	{                                                                                          \
		x, 0                                                                               \
	}
#define P(n)                                                                                       \
	{                                                                                          \
		NULL, n                                                                            \
	}

struct vec {
	const char *name;
	const struct el *els;
	size_t n;
	const char *hex;
};

/* RPUSH mixed a 12 -5 0 127 128 hello -4096 4095 "" 007 -0 1.5 " 1" +1 <pat(63)> */
static const struct el mixed_els[] = {
	S("a"),    S("12"), S("-5"),  S("0"),  S("127"), S("128"), S("hello"), S("-4096"),
	S("4095"), S(""),   S("007"), S("-0"), S("1.5"), S(" 1"),  S("+1"),    P(63),
};
static const char mixed_hex[] =
	"7c00000010008161020c01dffb0200017f01c080028568656c6c6f06d00002cfff02800183303037"
	"04822d300383312e350482203103822b3103bf6162636465666768696a6b6c6d6e6f707172737475"
	"767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a616263646566676869"
	"6a6b40ff";

/* RPUSH ints 4096 -4097 32767 -32768 32768 -32769 8388607 -8388608 8388608
 *   -8388609 2147483647 -2147483648 2147483648 -2147483649 9223372036854775807
 *   -9223372036854775808 9223372036854775808 -9223372036854775809 -1 -4095 */
static const struct el ints_els[] = {
	S("4096"),
	S("-4097"),
	S("32767"),
	S("-32768"),
	S("32768"),
	S("-32769"),
	S("8388607"),
	S("-8388608"),
	S("8388608"),
	S("-8388609"),
	S("2147483647"),
	S("-2147483648"),
	S("2147483648"),
	S("-2147483649"),
	S("9223372036854775807"),
	S("-9223372036854775808"),
	S("9223372036854775808"),
	S("-9223372036854775809"),
	S("-1"),
	S("-4095"),
};
static const char ints_hex[] =
	"9c0000001400f1001003f1ffef03f1ff7f03f1008003f200800004f2ff7fff04f2ffff7f04f20000"
	"8004f30000800005f3ffff7fff05f3ffffff7f05f30000008005f4000000800000000009f4ffffff"
	"7fffffffff09f4ffffffffffffff7f09f40000000000000080099339323233333732303336383534"
	"37373538303814942d3932323333373230333638353437373538303915dfff02d00102ff";

/* RPUSH str12 <pat(64)> <pat(100)> <pat(125)> <pat(126)> end: 12-bit
 * strings, with the backlen going from 1 byte (entry of 127) to 2 (128). */
static const struct el str12_els[] = { P(64), P(100), P(125), P(126), S("end") };
static const char str12_hex[] =
	"b80100000500e0406162636465666768696a6b6c6d6e6f707172737475767778797a616263646566"
	"6768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c42e0646162636465"
	"666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f70717273"
	"7475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a61626364656667"
	"68696a6b6c6d6e6f7071727374757666e07d6162636465666768696a6b6c6d6e6f70717273747576"
	"7778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a"
	"6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778"
	"797a6162636465666768696a6b6c6d6e6f7071727374757fe07e6162636465666768696a6b6c6d6e"
	"6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162"
	"636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f70"
	"7172737475767778797a6162636465666768696a6b6c6d6e6f70717273747576018083656e6404ff";

/* HSET hash name cairn age 7 big 100000 neg -70000 empty "" v64 <pat(64)>
 * (RDB type 16: a listpack hash, fields and values alternating). */
static const struct el hash_els[] = {
	S("name"), S("cairn"),  S("age"),   S("7"), S("big"), S("100000"),
	S("neg"),  S("-70000"), S("empty"), S(""),  S("v64"), P(64),
};
static const char hash_hex[] =
	"800000000c00846e616d650585636169726e06836167650407018362696704f2a0860104836e6567"
	"04f290eefe0485656d7074790680018376363404e0406162636465666768696a6b6c6d6e6f707172"
	"737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a616263646566"
	"6768696a6b6c42ff";

static const struct vec vectors[] = {
	{ "mixed", mixed_els, NELEM(mixed_els), mixed_hex },
	{ "ints", ints_els, NELEM(ints_els), ints_hex },
	{ "str12", str12_els, NELEM(str12_els), str12_hex },
	{ "hash", hash_els, NELEM(hash_els), hash_hex },
};

static unsigned char *build(struct mem *m, const struct el *els, size_t n)
{
	unsigned char *lp = lp_new(m);
	size_t i;

	for (i = 0; i < n; i++) {
		if (els[i].s) {
			lp = lp_append(m, lp, els[i].s, strlen(els[i].s));
		} else {
			char *s = pat(els[i].pat);
			lp = lp_append(m, lp, s, els[i].pat);
			free(s);
		}
	}
	return lp;
}

static void test_redis_vectors(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < NELEM(vectors); i++) {
		struct mem m = { 0 };
		unsigned char *want = unhex(vectors[i].hex, &n);
		unsigned char *lp = build(&m, vectors[i].els, vectors[i].n);

		assert_bytes(lp, lp_bytes(lp), want, n);
		assert_true(lp_valid(want, n, true));
		assert_account(&m, lp);
		lp_free(&m, lp);
		assert_int_equal(m.used, 0);
		free(want);
	}
}

/* RPUSH big<n> <pat(n)>, one key each: every one is a quicklist node of its
 * own. 4095: the largest 12-bit string; 4096: the smallest 32-bit one;
 * 16377 and 16378: entries of 16382 and 16383 (Redis's backlen takes 3 bytes
 * from 16383); 70000; 2097146: an entry of 2097151, a 4-byte backlen. */
static const struct {
	size_t len;
	const char *head, *tail;
} big_vectors[] = {
	{ 4095, "0a1000000100efff", "2081ff" },
	{ 4096, "0e1000000100f000100000", "2085ff" },
	{ 16377, "074000000100f0f93f0000", "7ffeff" },
	{ 16378, "094000000100f0fa3f0000", "00ffffff" },
	{ 70000, "7f1101000100f070110100", "04a2f5ff" },
	{ 2097146, "0a0020000100f0faff1f00", "00ffffffff" },
};

static void test_redis_big_vectors(void **state)
{
	size_t i, hn, tn;

	(void)state;
	for (i = 0; i < NELEM(big_vectors); i++) {
		struct mem m = { 0 };
		size_t len = big_vectors[i].len;
		char *s = pat(len);
		unsigned char *head = unhex(big_vectors[i].head, &hn);
		unsigned char *tail = unhex(big_vectors[i].tail, &tn);
		unsigned char *want = malloc(hn + len + tn);
		unsigned char *lp = lp_new(&m);

		assert_non_null(want);
		memcpy(want, head, hn);
		memcpy(want + hn, s, len);
		memcpy(want + hn + len, tail, tn);
		lp = lp_append(&m, lp, s, len);
		assert_bytes(lp, lp_bytes(lp), want, hn + len + tn);
		assert_account(&m, lp);
		lp_free(&m, lp);
		assert_int_equal(m.used, 0);
		free(want);
		free(head);
		free(tail);
		free(s);
	}
}

/* Redis's bytes after its own inserts, replaces and deletes:
 *   RPUSH ops a b c 1 2 3
 *   LINSERT ops BEFORE b 4096
 *   LINSERT ops AFTER c <pat(100)>
 *   LSET ops 0 -70000
 *   LREM ops 1 2
 *   LPUSH ops first
 *   LSET ops -1 last
 * and in a hash:
 *   HSET hops f1 v1 f2 v2 f3 v3
 *   HSET hops f2 123456789
 *   HDEL hops f1
 *   HSET hops f4 "" */
static const char ops_hex[] =
	"8c000000080085666972737406f290eefe04f1001003816202816302e0646162636465666768696a"
	"6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778"
	"797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c"
	"6d6e6f70717273747576660101846c61737405ff";
static const char hops_hex[] = "1f000000060082663203f315cd5b07058266330382763303826634038001ff";

static void test_redis_ops_vectors(void **state)
{
	static const char *const init[] = { "a", "b", "c", "1", "2", "3" };
	struct mem m = { 0 };
	unsigned char *lp = lp_new(&m), *p, *want;
	char *s100 = pat(100);
	size_t i, n;

	(void)state;
	for (i = 0; i < NELEM(init); i++)
		lp = lp_append(&m, lp, init[i], 1);
	p = lp_find(lp, lp_first(lp), "b", 1, 0);
	lp = lp_insert(&m, lp, "4096", 4, p, LP_BEFORE, &p);
	assert_ptr_equal(p, lp_seek(lp, 1));
	p = lp_find(lp, lp_first(lp), "c", 1, 0);
	lp = lp_insert(&m, lp, s100, 100, p, LP_AFTER, &p);
	assert_ptr_equal(p, lp_seek(lp, 4));
	p = lp_seek(lp, 0);
	lp = lp_replace(&m, lp, &p, "-70000", 6);
	p = lp_find(lp, lp_first(lp), "2", 1, 0);
	lp = lp_delete(&m, lp, p, &p);
	assert_true(lp_eq(p, "3", 1));
	lp = lp_prepend(&m, lp, "first", 5);
	p = lp_seek(lp, -1);
	lp = lp_replace(&m, lp, &p, "last", 4);
	want = unhex(ops_hex, &n);
	assert_bytes(lp, lp_bytes(lp), want, n);
	free(want);
	lp_free(&m, lp);

	lp = build(&m, (const struct el[]){ S("f1"), S("v1"), S("f2"), S("v2"), S("f3"), S("v3") },
		   6);
	p = lp_find(lp, lp_first(lp), "f2", 2, 1);
	p = lp_next(lp, p);
	lp = lp_replace(&m, lp, &p, "123456789", 9);
	p = lp_find(lp, lp_first(lp), "f1", 2, 1);
	assert_ptr_equal(p, lp_first(lp));
	lp = lp_delete_range(&m, lp, 0, 2);
	lp = lp_append(&m, lp, "f4", 2);
	lp = lp_append(&m, lp, "", 0);
	want = unhex(hops_hex, &n);
	assert_bytes(lp, lp_bytes(lp), want, n);
	free(want);
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
	free(s100);
}

/* ---- the count past 65535 --------------------------------------------- */

/* HSET with hash-max-listpack-entries 100000 and fields f<i>, values <i>:
 * the listpack of i pairs, as Redis wrote it. */
static const struct {
	unsigned pairs;
	size_t bytes;
	const char *header;
	uint64_t fnv;
} count_vectors[] = {
	{ 32767, 377877, "15c40500feff", 0xb1c3de6705ead18full }, /* 65534 elements */
	{ 32768, 377889, "21c40500ffff", 0xf5e536e0154ebcf4ull }, /* 65536: unknown */
	{ 35000, 406905, "79350600ffff", 0x6a9eb42304d0098cull }, /* 70000 */
};

static void check_count_vector(unsigned char *lp, size_t k)
{
	size_t n;
	unsigned char *hdr = unhex(count_vectors[k].header, &n);

	assert_int_equal(lp_bytes(lp), count_vectors[k].bytes);
	assert_memory_equal(lp, hdr, LP_HDR_SIZE);
	assert_true(fnv1a(lp, lp_bytes(lp)) == count_vectors[k].fnv);
	assert_int_equal(lp_length(lp), 2 * count_vectors[k].pairs);
	assert_true(lp_valid(lp, lp_bytes(lp), true));
	free(hdr);
}

/* With the count unknown, seeking, finding, deleting and validating still
 * work, and the header stays unknown, as in Redis. */
static void check_unknown_count(struct mem *m, unsigned char **lpp)
{
	unsigned char *lp = *lpp, *p;

	assert_int_equal(hdr_count(lp), LP_HDR_NUMELE_UNKNOWN);
	assert_true(lp_eq(lp_seek(lp, 0), "f0", 2));
	assert_true(lp_eq(lp_seek(lp, 65535), "32767", 5));
	assert_true(lp_eq(lp_seek(lp, 69999), "34999", 5));
	assert_ptr_equal(lp_seek(lp, -1), lp_seek(lp, 69999));
	assert_ptr_equal(lp_seek(lp, -70000), lp_first(lp));
	assert_null(lp_seek(lp, 70000));
	assert_null(lp_seek(lp, -70001));
	p = lp_find(lp, lp_first(lp), "f34000", 6, 1);
	assert_ptr_equal(p, lp_seek(lp, 68000));
	assert_null(lp_find(lp, lp_first(lp), "34000", 5, 1));
	assert_ptr_equal(lp_find(lp, lp_first(lp), "34000", 5, 0), lp_seek(lp, 68001));
	lp = lp_delete_range(m, lp, 100, 69800);
	assert_int_equal(hdr_count(lp), LP_HDR_NUMELE_UNKNOWN);
	assert_int_equal(lp_length(lp), 200);
	assert_true(lp_eq(lp_seek(lp, 100), "f34950", 6));
	lp = lp_delete(m, lp, lp_first(lp), NULL);
	lp = lp_append(m, lp, "x", 1);
	assert_int_equal(hdr_count(lp), LP_HDR_NUMELE_UNKNOWN);
	assert_int_equal(lp_length(lp), 200);
	assert_true(lp_valid(lp, lp_bytes(lp), true));
	lp = lp_delete_range(m, lp, -50, 1000);
	assert_int_equal(lp_length(lp), 150);
	assert_true(lp_valid(lp, lp_bytes(lp), true));
	assert_account(m, lp);
	*lpp = lp;
}

static void test_count_past_65535(void **state)
{
	struct mem m = { 0 };
	unsigned char *lp = lp_new(&m);
	char buf[32];
	unsigned i;
	size_t k = 0;
	int n;

	(void)state;
	for (i = 0; i < 35000; i++) {
		n = snprintf(buf, sizeof(buf), "f%u", i);
		lp = lp_append(&m, lp, buf, (size_t)n);
		lp = lp_append_int(&m, lp, i);
		/* The count saturates: 65535 and up are all "unknown". */
		if (2 * i + 2 < LP_HDR_NUMELE_UNKNOWN)
			assert_int_equal(hdr_count(lp), 2 * i + 2);
		else
			assert_int_equal(hdr_count(lp), LP_HDR_NUMELE_UNKNOWN);
		if (i + 1 == count_vectors[k].pairs)
			check_count_vector(lp, k++);
	}
	assert_int_equal(k, NELEM(count_vectors));
	check_unknown_count(&m, &lp);
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
}

/* ---- operations against the model ------------------------------------- */

/* Replacing the middle of three elements by every pool value in turn, then
 * in reverse: each replacement grows or shrinks across encodings, and the
 * neighbours stay intact. */
static void test_replace_across_encodings(void **state)
{
	struct pool pl;
	struct model md = { .n = 0 };
	struct mem m = { 0 };
	unsigned char *lp = lp_new(&m), *p;
	size_t i, k;

	(void)state;
	pool_init(&pl);
	model_insert(&md, 0, "left", 4);
	model_insert(&md, 1, "", 0);
	model_insert(&md, 2, "right", 5);
	for (i = 0; i < md.n; i++)
		lp = lp_append(&m, lp, md.s[i], md.len[i]);
	verify(&m, lp, &md);
	for (k = 0; k < 2 * pl.n; k++) {
		i = k < pl.n ? k : 2 * pl.n - 1 - k;
		p = lp_seek(lp, 1);
		lp = lp_replace(&m, lp, &p, pl.s[i], pl.len[i]);
		assert_ptr_equal(p, lp_seek(lp, 1));
		md.s[1] = pl.s[i];
		md.len[1] = pl.len[i];
		verify(&m, lp, &md);
	}
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
	free(pl.big);
}

/* Inserting at both ends through every entry point, and deleting down to
 * empty from both ends: newp and the neighbours each time. */
static void test_insert_delete_edges(void **state)
{
	struct mem m = { 0 };
	struct model md = { .n = 0 };
	unsigned char *lp = lp_new(&m), *p, *q;

	(void)state;
	assert_null(lp_first(lp));
	assert_null(lp_last(lp));
	assert_null(lp_seek(lp, 0));
	assert_null(lp_seek(lp, -1));
	assert_int_equal(lp_bytes(lp), LP_EMPTY_SIZE);
	verify(&m, lp, &md);
	lp = lp_prepend(&m, lp, "4096", 4); /* prepend into an empty listpack */
	model_insert(&md, 0, "4096", 4);
	verify(&m, lp, &md);
	lp = lp_insert(&m, lp, "-1", 2, lp_first(lp), LP_BEFORE, &p);
	assert_ptr_equal(p, lp_first(lp));
	model_insert(&md, 0, "-1", 2);
	lp = lp_insert(&m, lp, "last", 4, lp_last(lp), LP_AFTER, &p);
	assert_ptr_equal(p, lp_last(lp));
	model_insert(&md, 2, "last", 4);
	lp = lp_insert(&m, lp, "mid", 3, lp_first(lp), LP_AFTER, &p);
	assert_ptr_equal(p, lp_seek(lp, 1));
	model_insert(&md, 1, "mid", 3);
	lp = lp_insert(&m, lp, "007", 3, lp_last(lp), LP_BEFORE, NULL);
	model_insert(&md, 3, "007", 3);
	verify(&m, lp, &md);
	lp = lp_delete(&m, lp, lp_last(lp), &q);
	assert_null(q);
	model_remove(&md, md.n - 1, 1);
	verify(&m, lp, &md);
	while (md.n > 0) {
		lp = lp_delete(&m, lp, lp_first(lp), &q);
		model_remove(&md, 0, 1);
		assert_ptr_equal(q, lp_first(lp));
		verify(&m, lp, &md);
	}
	assert_int_equal(lp_bytes(lp), LP_EMPTY_SIZE);
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
}

/* One random operation on lp and the model; returns the listpack. */
static unsigned char *random_op(struct mem *m, unsigned char *lp, struct model *md,
				const struct pool *pl, uint64_t *x)
{
	size_t v = xorshift(x) % pl->n;
	const char *s = pl->s[v];
	size_t len = pl->len[v], n = md->n, i = n ? xorshift(x) % n : 0;
	unsigned op = (unsigned)(xorshift(x) % 8);
	unsigned char *p, *q;

	if (n + 1 >= MODEL_MAX)
		op = 5 + op % 3; /* full: delete */
	if (n == 0 && op >= 2)
		op %= 2;
	switch (op) {
	case 0:
		lp = lp_append(m, lp, s, len);
		model_insert(md, n, s, len);
		break;
	case 1:
		lp = lp_prepend(m, lp, s, len);
		model_insert(md, 0, s, len);
		break;
	case 2:
	case 3:
		lp = lp_insert(m, lp, s, len, lp_seek(lp, (long)i), op == 2 ? LP_BEFORE : LP_AFTER,
			       &q);
		i += op == 3;
		model_insert(md, i, s, len);
		assert_ptr_equal(q, lp_seek(lp, (long)i));
		break;
	case 4:
		p = lp_seek(lp, (long)i - (long)(xorshift(x) % 2 ? n : 0));
		lp = lp_replace(m, lp, &p, s, len);
		md->s[i] = s;
		md->len[i] = len;
		assert_ptr_equal(p, lp_seek(lp, (long)i));
		break;
	case 5:
		lp = lp_delete(m, lp, lp_seek(lp, (long)i), &q);
		model_remove(md, i, 1);
		assert_ptr_equal(q, i < md->n ? lp_seek(lp, (long)i) : NULL);
		break;
	default: {
		long index = (long)(xorshift(x) % (2 * n + 5)) - (long)n - 2;
		unsigned long num = (unsigned long)(xorshift(x) % 5);
		long first = index < 0 ? index + (long)n : index;

		lp = lp_delete_range(m, lp, index, num);
		if (first >= 0 && first < (long)n)
			model_remove(md, (size_t)first,
				     num < n - (size_t)first ? num : n - (size_t)first);
		break;
	}
	}
	return lp;
}

static void test_random_ops(void **state)
{
	struct pool pl;
	struct model md = { .n = 0 };
	struct mem m = { 0 };
	unsigned char *lp = lp_new(&m);
	uint64_t x = SEED;
	int step;

	(void)state;
	pool_init(&pl);
	for (step = 0; step < 3000; step++) {
		lp = random_op(&m, lp, &md, &pl, &x);
		verify(&m, lp, &md);
	}
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
	free(pl.big);
}

/* lp_delete_range's cases: nothing (num 0, index out of range), the middle,
 * to the end and past it (Redis's shortcut), from a negative index. */
static void test_delete_range(void **state)
{
	static const struct {
		long index;
		unsigned long num;
		const char *left; /* the elements left, one letter each */
	} cases[] = {
		{ 0, 0, "abcdef" }, { 6, 1, "abcdef" },    { -7, 3, "abcdef" }, { 1, 2, "adef" },
		{ 4, 2, "abcd" },   { 4, 100, "abcd" },    { -2, 1, "abcdf" },  { -6, 6, "" },
		{ 0, 1000, "" },    { -1, 1000, "abcde" }, { 5, 1, "abcde" },   { 2, 3, "abf" },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		struct mem m = { 0 };
		struct model md = { .n = 0 };
		unsigned char *lp = lp_new(&m);
		const char *left = cases[i].left;

		for (j = 0; j < 6; j++)
			lp = lp_append(&m, lp, &"abcdef"[j], 1);
		lp = lp_delete_range(&m, lp, cases[i].index, cases[i].num);
		for (j = 0; left[j]; j++)
			model_insert(&md, j, left + j, 1);
		verify(&m, lp, &md);
		lp_free(&m, lp);
		assert_int_equal(m.used, 0);
	}
}

/* lp_find with skip 0 and 1, from the first element and from later ones;
 * integers match their canonical text only. */
static void test_find(void **state)
{
	static const struct el els[] = {
		S("f1"), S("v1"), S("f2"), S("12"), S("12"),
		S("f2"), S(""),   S("x"),  S("-7"), S("007"),
	};
	struct mem m = { 0 };
	unsigned char *lp = build(&m, els, NELEM(els)), *first = lp_first(lp);

	(void)state;
	assert_ptr_equal(lp_find(lp, first, "f1", 2, 1), lp_seek(lp, 0));
	assert_ptr_equal(lp_find(lp, first, "f2", 2, 1), lp_seek(lp, 2));
	assert_ptr_equal(lp_find(lp, first, "12", 2, 1),
			 lp_seek(lp, 4)); /* the field, not the value */
	assert_ptr_equal(lp_find(lp, first, "12", 2, 0), lp_seek(lp, 3));
	assert_ptr_equal(lp_find(lp, lp_seek(lp, 1), "f2", 2, 1), lp_seek(lp, 5));
	assert_ptr_equal(lp_find(lp, lp_seek(lp, 3), "f2", 2, 0), lp_seek(lp, 5));
	assert_ptr_equal(lp_find(lp, first, "", 0, 1), lp_seek(lp, 6));
	assert_ptr_equal(lp_find(lp, first, "-7", 2, 1), lp_seek(lp, 8));
	assert_null(lp_find(lp, first, "-7", 2, 2));
	assert_ptr_equal(lp_find(lp, first, "007", 3, 0), lp_seek(lp, 9));
	assert_null(lp_find(lp, first, "v1", 2, 1));  /* a value: skipped */
	assert_null(lp_find(lp, first, "012", 3, 0)); /* not 12's text */
	assert_null(lp_find(lp, first, "+12", 3, 0));
	assert_null(lp_find(lp, first, "7", 1, 0));
	assert_null(lp_find(lp, first, "f", 1, 0));
	assert_null(lp_find(lp, first, "f12", 3, 0));
	assert_null(lp_find(lp, NULL, "f1", 2, 0));
	assert_null(lp_find(lp, lp_seek(lp, 9), "x", 1, 0));
	assert_false(lp_eq(lp_seek(lp, 3), "12 ", 3));
	assert_false(lp_eq(lp_seek(lp, 9), "7", 1));
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
}

/* ---- validation of untrusted bytes ------------------------------------ */

/* A copy of the first n bytes of lp in a heap buffer of exactly n bytes. */
static unsigned char *exact_copy(const unsigned char *lp, size_t n)
{
	unsigned char *c = malloc(n ? n : 1);

	assert_non_null(c);
	memcpy(c, lp, n);
	return c;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static bool valid_copy(const unsigned char *c, size_t n)
{
	bool shallow = lp_valid(c, n, false);
	bool deep = lp_valid(c, n, true);

	assert_true(shallow || !deep);
	return deep;
}

/* An accepted listpack walks the same both ways, every element readable. */
static void walk_accepted(unsigned char *lp)
{
	unsigned long fwd = 0, back = 0;
	unsigned char *p;
	volatile unsigned sum = 0; /* reads every byte, for ASan to check */

	for (p = lp_first(lp); p != NULL; p = lp_next(lp, p)) {
		int64_t v;
		uint32_t len, i;
		const unsigned char *s = lp_get(p, &v, &len);
		for (i = 0; s != NULL && i < len; i++)
			sum += s[i];
		fwd++;
	}
	for (p = lp_last(lp); p != NULL; p = lp_prev(lp, p))
		back++;
	assert_int_equal(fwd, back);
	assert_int_equal(fwd, lp_length(lp));
	(void)sum;
}

/* Mutation at one byte: refused, or accepted and walkable. */
static void mutate_at(const unsigned char *lp, size_t n, size_t at, unsigned char mask)
{
	unsigned char *c = exact_copy(lp, n);

	c[at] ^= mask;
	if (valid_copy(c, n))
		walk_accepted(c);
	free(c);
}

/* The corruptions of one listpack that must be refused, each in an exactly
 * sized buffer. */
static void corrupt_refused(const unsigned char *lp)
{
	size_t n = lp_bytes(lp), k;
	unsigned char *c;

	assert_true(valid_copy(lp, n));
	for (k = 0; k < n; k++) { /* truncated: the header says more */
		c = exact_copy(lp, k);
		assert_false(lp_valid(c, k, false));
		assert_false(lp_valid(c, k, true));
		free(c);
	}
	for (k = LP_EMPTY_SIZE; k < n; k++) { /* truncated, header and end byte patched */
		c = exact_copy(lp, k);
		put_u32(c, (uint32_t)k);
		c[k - 1] = LP_EOF;
		assert_true(lp_valid(c, k, false));
		assert_false(lp_valid(c, k, true));
		free(c);
	}
	c = exact_copy(lp, n); /* no end byte */
	c[n - 1] = 0;
	assert_false(valid_copy(c, n));
	free(c);
	c = exact_copy(lp, n); /* the header's total wrong */
	put_u32(c, (uint32_t)n + 1);
	assert_false(valid_copy(c, n));
	free(c);
	if (hdr_count(lp) != LP_HDR_NUMELE_UNKNOWN) { /* counts: wrong, and unknown */
		c = exact_copy(lp, n);
		c[4] ^= 1;
		assert_false(valid_copy(c, n));
		c[4] = 0xFF;
		c[5] = 0xFF;
		assert_true(valid_copy(c, n));
		free(c);
	}
}

/* Per entry: a bad backlen, an unused or end-byte encoding, a string length
 * reaching past the end. */
static void corrupt_entries(unsigned char *lp)
{
	size_t n = lp_bytes(lp);
	unsigned char *p, *next, *c;
	unsigned b;

	for (p = lp_first(lp); p != NULL; p = next) {
		size_t at = (size_t)(p - lp), end;

		next = lp_next(lp, p);
		end = next ? (size_t)(next - lp) : n - 1;

		c = exact_copy(lp, n);
		c[end - 1] ^= 1; /* the backlen's last byte */
		assert_false(valid_copy(c, n));
		c[end - 1] ^= 1;
		c[end - 1] ^= 0x80;
		assert_false(valid_copy(c, n));
		c[end - 1] ^= 0x80;
		for (b = 0xF5; b <= 0xFF; b++) {
			c[at] = (unsigned char)b;
			assert_false(valid_copy(c, n));
		}
		free(c);
		c = exact_copy(lp, n);
		if (lp[at] == 0xF0) {
			put_u32(c + at + 1, UINT32_MAX);
			assert_false(valid_copy(c, n));
		} else if ((lp[at] & 0xF0) == 0xE0) {
			c[at + 1] ^= 1; /* one byte longer or shorter */
			assert_false(valid_copy(c, n));
		}
		free(c);
	}
}

/* Every first byte, with 1 to 6 bytes before the end byte filled with
 * each of a few values: an encoding whose length, data or backlen would
 * reach past the end is refused without reading there (the buffer is
 * exactly sized), and whatever is accepted walks cleanly. */
static void test_valid_short_entries(void **state)
{
	static const unsigned char fills[] = { 0x00, 0x01, 0x02, 0x03, 0x81 };
	unsigned b;
	size_t room, f;

	(void)state;
	for (b = 0; b <= 0xFF; b++) {
		for (room = 1; room <= 6; room++) {
			for (f = 0; f < NELEM(fills); f++) {
				size_t n = LP_HDR_SIZE + room + 1;
				unsigned char *c = malloc(n);

				assert_non_null(c);
				memset(c, fills[f], n);
				put_u32(c, (uint32_t)n);
				c[4] = 1;
				c[5] = 0;
				c[LP_HDR_SIZE] = (unsigned char)b;
				c[n - 1] = LP_EOF;
				if (valid_copy(c, n))
					walk_accepted(c);
				free(c);
			}
		}
	}
}

static void test_valid_corrupt(void **state)
{
	static const unsigned char masks[] = { 0x01, 0x02, 0x10, 0x40, 0x80, 0xFF };
	size_t i, at, k;

	(void)state;
	for (i = 0; i < NELEM(vectors); i++) {
		struct mem m = { 0 };
		unsigned char *lp = build(&m, vectors[i].els, vectors[i].n);
		size_t n = lp_bytes(lp);

		corrupt_refused(lp);
		corrupt_entries(lp);
		for (at = 0; at < n; at++)
			for (k = 0; k < NELEM(masks); k++)
				mutate_at(lp, n, at, masks[k]);
		lp_free(&m, lp);
	}
	for (i = 0; i < NELEM(big_vectors); i++) {
		struct mem m = { 0 };
		char *s = pat(big_vectors[i].len);
		unsigned char *lp = lp_new(&m);

		lp = lp_append(&m, lp, "a", 1);
		lp = lp_append(&m, lp, s, big_vectors[i].len);
		lp = lp_append(&m, lp, "z", 1);
		corrupt_entries(lp);
		lp_free(&m, lp);
		free(s);
	}
	assert_false(lp_valid((const unsigned char *)"\x07\x00\x00\x00\x00\x00", 6, false));
	assert_true(lp_valid((const unsigned char *)"\x07\x00\x00\x00\x00\x00\xff", 7, true));
	assert_false(lp_valid((const unsigned char *)"\x07\x00\x00\x00\x01\x00\xff", 7, true));
	assert_true(lp_valid((const unsigned char *)"\x07\x00\x00\x00\xff\xff\xff", 7, true));
}

/* ---- memory ----------------------------------------------------------- */

/* lp_merge: every split of a model's elements into two listpacks, either
 * one the bigger, gives the whole in order; a count past 65534 saturates. */
static void test_merge(void **state)
{
	struct pool pl;
	struct model md = { .n = 0 };
	struct mem m = { 0 };
	uint64_t x = SEED;
	size_t i, cut;
	unsigned char *a, *b;

	(void)state;
	pool_init(&pl);
	for (i = 0; i < 24; i++) {
		size_t k = xorshift(&x) % pl.n;
		model_insert(&md, md.n, pl.s[k], pl.len[k]);
	}
	for (cut = 0; cut <= md.n; cut++) {
		a = lp_new(&m);
		b = lp_new(&m);
		for (i = 0; i < md.n; i++) {
			if (i < cut)
				a = lp_append(&m, a, md.s[i], md.len[i]);
			else
				b = lp_append(&m, b, md.s[i], md.len[i]);
		}
		a = lp_merge(&m, a, b);
		verify(&m, a, &md);
		lp_free(&m, a);
		assert_int_equal(m.used, 0);
	}
	a = lp_new(&m);
	b = lp_new(&m);
	for (i = 0; i < 40000; i++) {
		a = lp_append_int(&m, a, 1);
		b = lp_append_int(&m, b, 2);
	}
	a = lp_merge(&m, a, b);
	assert_int_equal(hdr_count(a), LP_HDR_NUMELE_UNKNOWN);
	assert_int_equal(lp_length(a), 80000);
	assert_true(lp_valid(a, lp_bytes(a), true));
	lp_free(&m, a);
	assert_int_equal(m.used, 0);
	free(pl.big);
}

/* The account follows the allocation through growth and shrinking, the
 * allocation stays tight, and lp_safe_to_add's bound is Redis's. */
static void test_memory(void **state)
{
	struct mem m = { 0 };
	unsigned char *lp = lp_new(&m);
	char *big = pat(5000);
	size_t i;

	(void)state;
	assert_account(&m, lp);
	for (i = 0; i < 200; i++) {
		lp = lp_append(&m, lp, big, i * 25);
		assert_account(&m, lp);
	}
	while (lp_first(lp) != NULL) {
		lp = lp_delete(&m, lp, lp_first(lp), NULL);
		assert_account(&m, lp);
	}
	assert_int_equal(lp_bytes(lp), LP_EMPTY_SIZE);
	assert_true(lp_safe_to_add(NULL, LP_SAFETY_SIZE));
	assert_false(lp_safe_to_add(NULL, LP_SAFETY_SIZE + 1));
	assert_true(lp_safe_to_add(lp, LP_SAFETY_SIZE - LP_EMPTY_SIZE));
	assert_false(lp_safe_to_add(lp, LP_SAFETY_SIZE - LP_EMPTY_SIZE + 1));
	assert_false(lp_safe_to_add(lp, SIZE_MAX));
	lp_free(&m, lp);
	assert_int_equal(m.used, 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_edges),
		cmocka_unit_test(test_str_edges),
		cmocka_unit_test(test_backlen_edges),
		cmocka_unit_test(test_redis_vectors),
		cmocka_unit_test(test_redis_big_vectors),
		cmocka_unit_test(test_redis_ops_vectors),
		cmocka_unit_test(test_count_past_65535),
		cmocka_unit_test(test_replace_across_encodings),
		cmocka_unit_test(test_insert_delete_edges),
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_delete_range),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_valid_corrupt),
		cmocka_unit_test(test_valid_short_entries),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_memory),
	};

	return cmocka_run_group_tests_name("listpack", tests, NULL, NULL);
}
