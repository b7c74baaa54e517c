/* test_util.c: unit tests of node/base/util.c (numbers and glob matching).
 *
 * Goal: util_str2ll, util_str2ld, util_ld2str and util_d2str accept, refuse
 * and format exactly as Redis 7.0's string2ll, string2ld, ld2string
 * (LD_STR_HUMAN) and addReplyDouble ("%.17g") do; util_ll2str, util_ull2str
 * and util_digits10 agree with printf at every edge; util_glob_match matches
 * exactly as Redis's stringmatchlen, quirks included, in time bounded by
 * pattern length times string length.
 *
 * Method: tables of hand-checked cases with their Redis results; for
 * str2ll, an exhaustive comparison over short strings of a small alphabet
 * and random 18..21-digit strings against a reference written from
 * string2ll's rules with 128-bit arithmetic; for glob matching, random
 * patterns and strings compared with a recursive reference written from
 * stringmatchlen's rules; timing checks on pathological patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/limits.h"
#include "base/util.h"

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- util_str2ll ---- */

/* string2ll's rules, restated: 1..20 bytes; "0" alone; else an optional
 * '-', a digit 1-9, then digits; the value must fit a long long. */
static bool ref_str2ll(const char *s, size_t len, long long *out)
{
	size_t i = 0;
	bool neg = false;
	__int128 v = 0;

	if (len == 0 || len > 20)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || s[i] < '1' || s[i] > '9')
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < LLONG_MIN || v > LLONG_MAX)
		return false;
	*out = (long long)v;
	return true;
}

static void check_str2ll(const char *s, size_t len)
{
	long long got = 0x5a5a, want = 0x5a5a;
	bool ok = util_str2ll(s, len, &got);
	bool rok = ref_str2ll(s, len, &want);

	if (ok != rok || (ok && got != want))
		fail_msg("str2ll(\"%.*s\"): %d %lld, want %d %lld", (int)len, s, ok, got, rok,
			 want);
}

static void test_str2ll_table(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		long long v;
	} cases[] = {
		{ "0", true, 0 },
		{ "1", true, 1 },
		{ "-1", true, -1 },
		{ "10", true, 10 },
		{ "9223372036854775807", true, LLONG_MAX },
		{ "-9223372036854775808", true, LLONG_MIN },
		{ "9223372036854775808", false, 0 },
		{ "-9223372036854775809", false, 0 },
		{ "18446744073709551615", false, 0 },
		{ "18446744073709551616", false, 0 },
		{ "99999999999999999999", false, 0 },
		{ "-10000000000000000000", false, 0 }, /* 21 chars */
		{ "100000000000000000000", false, 0 }, /* 21 chars */
		{ "", false, 0 },
		{ "-", false, 0 },
		{ "+", false, 0 },
		{ "+1", false, 0 },
		{ "-0", false, 0 },
		{ "00", false, 0 },
		{ "01", false, 0 },
		{ "-01", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
		{ "1a", false, 0 },
		{ "0x10", false, 0 },
		{ "1.0", false, 0 },
		{ "--1", false, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long v = 0x5a5a;
		bool ok = util_str2ll(cases[i].s, strlen(cases[i].s), &v);
		if (ok != cases[i].ok || (ok && v != cases[i].v))
			fail_msg("str2ll(\"%s\"): %d %lld", cases[i].s, ok, v);
		if (!ok)
			assert_int_equal(v, 0x5a5a); /* untouched on refusal */
		check_str2ll(cases[i].s, strlen(cases[i].s));
	}
}

/* Only the given bytes are read: a number followed by more digits in
 * memory is still the number. */
static void test_str2ll_counted(void **state)
{
	long long v;

	(void)state;
	assert_true(util_str2ll("123456", 3, &v));
	assert_int_equal(v, 123);
	assert_true(util_str2ll("-5x", 2, &v));
	assert_int_equal(v, -5);
	assert_false(util_str2ll("12", 0, &v));
}

static void test_str2ll_exhaustive(void **state)
{
	static const char alpha[] = "-019+ a";
	const size_t na = sizeof(alpha) - 1;
	char s[8];
	size_t len, k, idx[7];

	(void)state;
	for (len = 0; len <= 7; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			for (k = 0; k < len; k++)
				s[k] = alpha[idx[k]];
			check_str2ll(s, len);
			for (k = 0; k < len && ++idx[k] == na; k++)
				idx[k] = 0;
			if (k == len)
				break;
		}
	}
}

/* Long digit strings near the 64-bit edges, both signs: 17..21 digits,
 * half of them sharing LLONG_MAX's or ULLONG_MAX's leading digits. */
static void test_str2ll_long_random(void **state)
{
	static const char *const heads[] = { "92233720368547758", "18446744073709551" };
	uint64_t x = 42;
	char s[32];
	int i;

	(void)state;
	for (i = 0; i < 300000; i++) {
		uint64_t r = xorshift(&x);
		size_t k = 0, digits = 17 + (r >> 4) % 5, end;
		if (r & 1)
			s[k++] = '-';
		end = k + digits;
		if (r & 2) {
			memcpy(s + k, heads[(r >> 2) & 1], 17);
			k += 17;
		} else {
			s[k++] = (char)('1' + (r >> 8) % 9);
		}
		while (k < end)
			s[k++] = (char)('0' + xorshift(&x) % 10);
		check_str2ll(s, end);
	}
}

/* ---- util_ll2str, util_ull2str, util_digits10 ---- */

static void check_ll(long long v)
{
	char buf[UTIL_LL_CHARS], want[32];
	long long back;
	int n = util_ll2str(buf, v), wn = snprintf(want, sizeof(want), "%lld", v);

	assert_int_equal(n, wn);
	assert_string_equal(buf, want);
	assert_true(util_str2ll(buf, (size_t)n, &back));
	assert_int_equal(back, v);
}

static void check_ull(unsigned long long v)
{
	char buf[UTIL_LL_CHARS], want[32];
	int n = util_ull2str(buf, v), wn = snprintf(want, sizeof(want), "%llu", v);

	assert_int_equal(n, wn);
	assert_string_equal(buf, want);
	assert_int_equal(util_digits10(v), wn);
}

static void test_ll2str_edges(void **state)
{
	unsigned long long p = 1;
	uint64_t x = 7;
	int k;

	(void)state;
	check_ll(0);
	check_ll(LLONG_MAX);
	check_ll(LLONG_MIN);
	check_ll(LLONG_MIN + 1);
	check_ull(0);
	check_ull(ULLONG_MAX);
	for (k = 0; k <= 19; k++, p *= 10) {
		check_ull(p);
		check_ull(p - 1);
		check_ull(p + 1);
		if (p <= (unsigned long long)LLONG_MAX) {
			check_ll((long long)p);
			check_ll(-(long long)p);
			check_ll((long long)p - 1);
			check_ll(1 - (long long)p);
		}
	}
	for (k = 0; k < 200000; k++) {
		uint64_t r = xorshift(&x);
		check_ull(r >> (r % 64));
		check_ll((long long)r >> (r % 64));
	}
}

static void test_digits10_powers(void **state)
{
	uint64_t p = 1;
	int k;

	(void)state;
	for (k = 0; k <= 19; k++, p *= 10) {
		assert_int_equal(util_digits10(p), k + 1);
		if (k > 0)
			assert_int_equal(util_digits10(p - 1), k);
		assert_int_equal(util_digits10(p + 1), k + 1);
	}
	assert_int_equal(util_digits10(0), 1);
	assert_int_equal(util_digits10(UINT64_MAX), 20);
}

/* ---- long doubles ---- */

static void check_ld2str(long double v, const char *want)
{
	char buf[LONG_DOUBLE_CHARS_MAX];
	int n = util_ld2str(buf, sizeof(buf), v);

	if (n < 0 || strcmp(buf, want) != 0)
		fail_msg("ld2str(%.21Lg) = %d \"%s\", want \"%s\"", v, n, n < 0 ? "" : buf, want);
	assert_int_equal(n, strlen(want));
}

static long double ld(const char *s)
{
	long double v = 0;

	assert_true(util_str2ld(s, strlen(s), &v));
	return v;
}

static void test_ld2str(void **state)
{
	(void)state;
	check_ld2str(0.0L, "0");
	check_ld2str(-0.0L, "0");
	check_ld2str(1.5L, "1.5");
	check_ld2str(3.0L, "3");
	check_ld2str(100.0L, "100");
	check_ld2str(300000.0L, "300000");
	check_ld2str(-2.25L, "-2.25");
	check_ld2str(1e-20L, "0");
	check_ld2str(-1e-20L, "0"); /* "-0.000..." trimmed to "-0", then "0" */
	check_ld2str(1e18L, "1000000000000000000");
	check_ld2str(-1e18L, "-1000000000000000000");
	check_ld2str(1.0L / 3, "0.33333333333333333");
	check_ld2str(0.6e-17L, "0.00000000000000001"); /* rounds at the 17th place */
	/* INCRBYFLOAT's documented examples. */
	check_ld2str(ld("10.50") + ld("0.1"), "10.6");
	check_ld2str(ld("10.6") + ld("-5"), "5.6");
	check_ld2str(ld("5.0e3") + ld("2.0e2"), "5200");
	check_ld2str(ld("0.1") + ld("0.2"), "0.3");
}

static void test_ld2str_refusals(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(util_ld2str(buf, sizeof(buf), NAN), -1);
	assert_int_equal(util_ld2str(buf, sizeof(buf), -NAN), -1);
	assert_int_equal(util_ld2str(buf, sizeof(buf), INFINITY), -1);
	assert_int_equal(util_ld2str(buf, sizeof(buf), -INFINITY), -1);
	/* "123.00000000000000000" needs 22 bytes with its NUL, before trimming. */
	assert_int_equal(util_ld2str(buf, 21, 123.0L), -1);
	assert_int_equal(util_ld2str(buf, 22, 123.0L), 3);
	assert_string_equal(buf, "123");
}

static void check_str2ld(const char *s, size_t len, bool ok, long double want)
{
	long double v = 12345.0L;
	bool got = util_str2ld(s, len, &v);

	if (got != ok)
		fail_msg("str2ld(\"%.*s\") = %d, want %d", (int)len, s, got, ok);
	if (ok && !(v == want || (isinf(want) && isinf(v) && (v > 0) == (want > 0))))
		fail_msg("str2ld(\"%.*s\") = %.21Lg, want %.21Lg", (int)len, s, v, want);
	if (!ok)
		assert_true(v == 12345.0L);
}

static void test_str2ld(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		long double v;
	} cases[] = {
		{ "1.5", true, 1.5L },     { "-1.5", true, -1.5L },     { "+1", true, 1.0L },
		{ ".5", true, 0.5L },      { "1e10", true, 1e10L },     { "0x10", true, 16.0L },
		{ "inf", true, INFINITY }, { "-inf", true, -INFINITY }, { "0", true, 0.0L },
		{ "", false, 0 },          { " 1", false, 0 },          { "\t1", false, 0 },
		{ "1 ", false, 0 },        { " ", false, 0 },           { "nan", false, 0 },
		{ "NaN", false, 0 },       { "-nan", false, 0 },        { "1x", false, 0 },
		{ "1e", false, 0 },        { "0x", false, 0 },          { "1e99999", false, 0 },
		{ "-1e99999", false, 0 },  { "1e-99999", false, 0 },    { "abc", false, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_str2ld(cases[i].s, strlen(cases[i].s), cases[i].ok, cases[i].v);
	/* A NUL inside the counted bytes is trailing junk. */
	check_str2ld("1\0", 2, false, 0);
}

static void test_str2ld_length_limit(void **state)
{
	char *s = malloc(LONG_DOUBLE_CHARS_MAX + 1);

	(void)state;
	assert_non_null(s);
	memset(s, '0', LONG_DOUBLE_CHARS_MAX + 1);
	check_str2ld(s, LONG_DOUBLE_CHARS_MAX - 1, true, 0.0L);
	check_str2ld(s, LONG_DOUBLE_CHARS_MAX, false, 0);
	free(s);
}

/* ---- doubles ---- */

static void check_d2str(double v, const char *want)
{
	char buf[64];
	int n = util_d2str(buf, sizeof(buf), v);

	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void test_d2str(void **state)
{
	(void)state;
	check_d2str(1.5, "1.5");
	check_d2str(0.1, "0.10000000000000001");
	check_d2str(3.0, "3");
	check_d2str(-0.0, "-0");
	check_d2str(1e300, "1.0000000000000001e+300");
	check_d2str(1e17, "1e+17");
	check_d2str(123456789012345678.0, "1.2345678901234568e+17");
	check_d2str(INFINITY, "inf");
	check_d2str(-INFINITY, "-inf");
	check_d2str(NAN, "nan");
}

/* ---- util_eq_nocase ---- */

static void test_eq_nocase(void **state)
{
	(void)state;
	assert_true(util_eq_nocase("GET", 3, "get"));
	assert_true(util_eq_nocase("gEt", 3, "GeT"));
	assert_true(util_eq_nocase("GETX", 3, "get"));
	assert_false(util_eq_nocase("GE", 2, "get"));
	assert_false(util_eq_nocase("GETS", 4, "get"));
	assert_false(util_eq_nocase("@", 1, "`"));
	assert_true(util_eq_nocase("", 0, ""));
	assert_false(util_eq_nocase("", 0, "a"));
	assert_true(util_eq_nocase("a_b", 3, "A_B"));
}

/* ---- glob ---- */

struct glob_case {
	const char *pat;
	const char *str;
	bool nocase;
	bool match;
};

/* Each result is what Redis 7.0's stringmatchlen returns. */
static const struct glob_case glob_cases[] = {
	{ "*", "anything", false, true },
	{ "*", "", false, false }, /* an empty string matches only "" */
	{ "", "", false, true },
	{ "", "a", false, false },
	{ "a", "", false, false },
	{ "**", "", false, false },
	{ "?", "a", false, true },
	{ "?", "", false, false },
	{ "?", "ab", false, false },
	{ "h?llo", "hello", false, true },
	{ "h?llo", "hllo", false, false },
	{ "h*llo", "hllo", false, true },
	{ "h*llo", "heeeello", false, true },
	{ "h[ae]llo", "hello", false, true },
	{ "h[ae]llo", "hallo", false, true },
	{ "h[ae]llo", "hillo", false, false },
	{ "h[^e]llo", "hallo", false, true },
	{ "h[^e]llo", "hello", false, false },
	{ "h[!e]llo", "h!llo", false, true }, /* '!' is a literal in Redis */
	{ "h[!e]llo", "hello", false, true },
	{ "h[!e]llo", "hallo", false, false },
	{ "h[a-b]llo", "hbllo", false, true },
	{ "h[a-b]llo", "hcllo", false, false },
	{ "[a-c]", "b", false, true },
	{ "[a-c]", "-", false, false },
	{ "[c-a]", "b", false, true }, /* reversed ranges are swapped */
	{ "[a-]", "]", false, true },  /* the range is a..']' and the class is open */
	{ "[a-]", "_", false, true },
	{ "[a-]", "-", false, false },
	{ "[a-]x", "a", false, true },
	{ "[a-]x", "x", false, true },
	{ "[a-]x", "ax", false, false },
	{ "[]a]", "a", false, false }, /* "[]" is an empty class */
	{ "[]a]", "]", false, false },
	{ "[^]a]", "ba]", false, true },
	{ "[abc", "c", false, true }, /* unterminated: the class ends the pattern */
	{ "[abc", "d", false, false },
	{ "[abc", "ab", false, false },
	{ "[", "[", false, false },
	{ "[^", "x", false, true },
	{ "[^", "", false, false },
	{ "[\\]]", "]", false, true },
	{ "[\\-]", "-", false, true },
	{ "[\\-]", "a", false, false },
	{ "[a\\", "\\", false, true },
	{ "\\*", "*", false, true },
	{ "\\*", "a", false, false },
	{ "\\?", "?", false, true },
	{ "\\?", "x", false, false },
	{ "\\a", "a", false, true },
	{ "a\\", "a\\", false, true }, /* a trailing backslash is literal */
	{ "*a", "ba", false, true },
	{ "*a", "ab", false, false },
	{ "a*", "a", false, true },
	{ "a**b", "ab", false, true },
	{ "*?", "a", false, true },
	{ "*?", "", false, false },
	{ "?*", "a", false, true },
	{ "foo*bar", "foobar", false, true },
	{ "foo*bar", "fooXbarbar", false, true },
	{ "foo*bar", "foobarX", false, false },
	{ "*foo*", "xfoox", false, true },
	{ "user:*:name", "user:1000:name", false, true },
	{ "user:*:name", "user:1000:names", false, false },
	{ "HeLLo", "hello", true, true },
	{ "HeLLo", "hello", false, false },
	{ "[A-C]", "b", true, true },
	{ "[a-c]", "B", true, true },
	{ "[a-c]", "B", false, false },
	{ "[^a]", "A", true, false },
	{ "[xY]", "y", true, true },
	{ "\\A", "a", true, true },
	{ "[\\A]", "a", true, false }, /* an escape in a class compares exactly */
	{ "[\\A]", "A", true, true },
};

static void test_glob_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
		const struct glob_case *c = &glob_cases[i];
		size_t pl = strlen(c->pat), sl = strlen(c->str);
		bool m = util_glob_match(c->pat, pl, c->str, sl, c->nocase);
		if (m != c->match)
			fail_msg("glob \"%s\" ~ \"%s\"%s: %d, want %d", c->pat, c->str,
				 c->nocase ? " nocase" : "", m, c->match);
	}
}

/* Patterns and strings are counted: NUL is an ordinary byte. */
static void test_glob_counted(void **state)
{
	(void)state;
	assert_true(util_glob_match("a\0b", 3, "a\0b", 3, false));
	assert_false(util_glob_match("a\0b", 3, "a\0c", 3, false));
	assert_false(util_glob_match("a\0*", 3, "a", 1, false));
	assert_true(util_glob_match("a*", 1, "a", 1, false));
	assert_false(util_glob_match("a*", 1, "ab", 2, false));
	assert_true(util_glob_match("[ab]", 4, "b", 1, false));
	assert_true(util_glob_match("[ab]", 3, "b", 1, false)); /* "[ab" open class */
}

/* Redis compares an escaped byte in a class as char to char, so a byte
 * above 0x7f escaped in a class matches itself. */
static void test_glob_class_escaped_high_byte(void **state)
{
	(void)state;
	assert_true(util_glob_match("\\\xe9", 2, "\xe9", 1, false));
	assert_true(util_glob_match("[\xe9]", 3, "\xe9", 1, false));
	assert_true(util_glob_match("[\x80-\xff]", 5, "\xe9", 1, false));
	assert_true(util_glob_match("[\\\xe9]", 4, "\xe9", 1, false));
	assert_false(util_glob_match("[^\\\xe9]", 5, "\xe9", 1, false));
}

/* Recursive reference written from stringmatchlen's rules (ASCII input). */
static bool ref_class(const char *p, size_t pl, size_t *q, char c, bool nc)
{
	size_t i = *q + 1;
	bool neg = false, m = false;

	if (i < pl && p[i] == '^') {
		neg = true;
		i++;
	}
	for (;;) {
		if (i >= pl) { /* open class: it ends the pattern */
			*q = pl;
			return neg != m;
		}
		if (p[i] == '\\' && pl - i >= 2) {
			m |= p[i + 1] == c;
			i += 2;
		} else if (p[i] == ']') {
			*q = i + 1;
			return neg != m;
		} else if (pl - i >= 3 && p[i + 1] == '-') {
			int a = p[i], b = p[i + 2], x = c;
			if (a > b) {
				int t = a;
				a = b;
				b = t;
			}
			if (nc) {
				a = tolower(a);
				b = tolower(b);
				x = tolower(x);
			}
			m |= x >= a && x <= b;
			i += 3;
		} else {
			m |= nc ? tolower(p[i]) == tolower(c) : p[i] == c;
			i++;
		}
	}
}

static bool ref_glob_rest(const char *p, size_t pl, const char *s, size_t sl, bool nc)
{
	while (pl > 0) {
		size_t q;
		char pc;
		if (p[0] == '*') {
			size_t k;
			while (pl > 0 && p[0] == '*')
				p++, pl--;
			if (pl == 0)
				return true;
			for (k = 0; k < sl; k++)
				if (ref_glob_rest(p, pl, s + k, sl - k, nc))
					return true;
			return false;
		}
		if (sl == 0)
			return false;
		q = 1;
		if (p[0] == '?') {
			/* any byte */
		} else if (p[0] == '[') {
			q = 0;
			if (!ref_class(p, pl, &q, s[0], nc))
				return false;
		} else {
			if (p[0] == '\\' && pl >= 2)
				q = 2;
			pc = p[q - 1];
			if (nc ? tolower(pc) != tolower(s[0]) : pc != s[0])
				return false;
		}
		p += q, pl -= q;
		s++, sl--;
	}
	return sl == 0;
}

static bool ref_glob(const char *p, size_t pl, const char *s, size_t sl, bool nc)
{
	if (sl == 0)
		return pl == 0;
	return ref_glob_rest(p, pl, s, sl, nc);
}

/* The reference must agree with the hand-checked table first. */
static void test_glob_reference_self_check(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
		const struct glob_case *c = &glob_cases[i];
		size_t pl = strlen(c->pat), sl = strlen(c->str);
		if (ref_glob(c->pat, pl, c->str, sl, c->nocase) != c->match)
			fail_msg("reference disagrees on \"%s\" ~ \"%s\"", c->pat, c->str);
	}
}

static void test_glob_vs_reference(void **state)
{
	static const char pa[] = "ab*?[]^-\\!B";
	static const char sa[] = "ab]-^\\!*B";
	uint64_t x = 0x1234567;
	char pat[12], str[12];
	int i;

	(void)state;
	for (i = 0; i < 400000; i++) {
		uint64_t r = xorshift(&x);
		size_t pl = r % 10, sl = (r >> 8) % 10, k;
		bool nc = (r >> 16) & 1, m, want;
		for (k = 0; k < pl; k++)
			pat[k] = pa[xorshift(&x) % (sizeof(pa) - 1)];
		for (k = 0; k < sl; k++)
			str[k] = sa[xorshift(&x) % (sizeof(sa) - 1)];
		m = util_glob_match(pat, pl, str, sl, nc);
		want = ref_glob(pat, pl, str, sl, nc);
		if (m != want)
			fail_msg("glob \"%.*s\" ~ \"%.*s\"%s: %d, reference %d", (int)pl, pat,
				 (int)sl, str, nc ? " nocase" : "", m, want);
	}
}

static void test_glob_pathological(void **state)
{
	static const char pat[] = "a*a*a*a*a*a*a*a*b";
	size_t n = 200000, i;
	char *s = malloc(n), *p;
	struct timespec t0;

	(void)state;
	assert_non_null(s);
	memset(s, 'a', n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_false(util_glob_match(pat, sizeof(pat) - 1, s, n, false));
	s[n - 1] = 'b';
	assert_true(util_glob_match(pat, sizeof(pat) - 1, s, n, false));
	s[n - 1] = 'a';
	/* 400 stars against 20000 bytes: bounded by their product. */
	p = malloc(801);
	assert_non_null(p);
	for (i = 0; i < 400; i++)
		memcpy(p + 2 * i, "*a", 2);
	p[800] = 'b';
	assert_false(util_glob_match(p, 801, s, 20000, false));
	assert_true(elapsed_s(&t0) < 5.0);
	free(p);
	free(s);
}

/* Redis gives up past 1000 nested stars (a trailing star does not count). */
static void test_glob_star_limit(void **state)
{
	size_t n = 1001, i;
	char *p = malloc(2 * n + 1), *s = malloc(n + 3);

	(void)state;
	assert_non_null(p);
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(p + 2 * i, "*a", 2);
	memset(s, 'a', n + 3);
	assert_true(util_glob_match(p, 2 * 1000, s, 1000, false));
	assert_false(util_glob_match(p, 2 * 1001, s, 1001, false));
	p[2 * 1000] = '*';
	assert_true(util_glob_match(p, 2 * 1000 + 1, s, 1000, false));
	s[1000] = 'z';
	s[1001] = 'z';
	assert_true(util_glob_match(p, 2 * 1000 + 1, s, 1002, false));
	free(p);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str2ll_table),
		cmocka_unit_test(test_str2ll_counted),
		cmocka_unit_test(test_str2ll_exhaustive),
		cmocka_unit_test(test_str2ll_long_random),
		cmocka_unit_test(test_ll2str_edges),
		cmocka_unit_test(test_digits10_powers),
		cmocka_unit_test(test_ld2str),
		cmocka_unit_test(test_ld2str_refusals),
		cmocka_unit_test(test_str2ld),
		cmocka_unit_test(test_str2ld_length_limit),
		cmocka_unit_test(test_d2str),
		cmocka_unit_test(test_eq_nocase),
		cmocka_unit_test(test_glob_table),
		cmocka_unit_test(test_glob_counted),
		cmocka_unit_test(test_glob_class_escaped_high_byte),
		cmocka_unit_test(test_glob_reference_self_check),
		cmocka_unit_test(test_glob_vs_reference),
		cmocka_unit_test(test_glob_pathological),
		cmocka_unit_test(test_glob_star_limit),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
