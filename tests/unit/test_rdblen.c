/* test_rdblen.c: unit tests of node/data/rdblen.c (DEBUG OBJECT's
 * serializedlength for strings).
 *
 * Goal: a string counts as Redis's rdbSaveRawString writes it: an integer
 * of at most 11 characters in canonical form that fits 32 bits as 2, 3 or
 * 5 bytes; a longer integer, a non-canonical one ("0123"), or short text
 * as its length (1, 2, 5 or 9 bytes, rdbSaveLen's edges) and its bytes;
 * text over 20 bytes that liblzf shrinks by 4 bytes or more as an LZF
 * blob. The scratch space goes back to the account.
 *
 * Method: the lengths redis-server 7.0.15's DEBUG OBJECT showed for the
 * same values (SET i 5 -> 2, 300 -> 3, 70000 -> 5, 5000000000 -> 11, -12
 * -> 2, 0123 -> 5, hello -> 6, 116 'a' -> 13, the alphabet and digits
 * -> 37), and rdbSaveLen's edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base/mem.h"
#include "data/rdblen.h"

static struct mem mem;

static uint64_t len_of(const char *s)
{
	struct rdblen r;
	uint64_t n;

	rdblen_init(&r, &mem);
	n = rdblen_string(&r, s, strlen(s));
	rdblen_free(&r);
	assert_int_equal(mem.used, 0);
	return n;
}

static void test_lengths(void **state)
{
	(void)state;
	assert_int_equal(rdblen_len(0), 1);
	assert_int_equal(rdblen_len(63), 1);
	assert_int_equal(rdblen_len(64), 2);
	assert_int_equal(rdblen_len(16383), 2);
	assert_int_equal(rdblen_len(16384), 5);
	assert_int_equal(rdblen_len(UINT32_MAX), 5);
	assert_int_equal(rdblen_len((uint64_t)UINT32_MAX + 1), 9);
}

static void test_redis_values(void **state)
{
	char a[117];

	(void)state;
	assert_int_equal(len_of("5"), 2);
	assert_int_equal(len_of("-128"), 2);
	assert_int_equal(len_of("128"), 3);
	assert_int_equal(len_of("300"), 3);
	assert_int_equal(len_of("70000"), 5);
	assert_int_equal(len_of("-2147483648"), 5);
	assert_int_equal(len_of("2147483648"), 11);
	assert_int_equal(len_of("5000000000"), 11);
	assert_int_equal(len_of("-12"), 2);
	assert_int_equal(len_of("0123"), 5);
	assert_int_equal(len_of("+5"), 3);
	assert_int_equal(len_of("hello"), 6);
	assert_int_equal(len_of(""), 1);
	memset(a, 'a', 116);
	a[116] = '\0';
	assert_int_equal(len_of(a), 13);
	/* 20 bytes are never compressed, 21 may be. */
	a[20] = '\0';
	assert_int_equal(len_of(a), 21);
	a[20] = 'a';
	a[21] = '\0';
	assert_true(len_of(a) < 22);
	assert_int_equal(len_of("abcdefghijklmnopqrstuvwxyz0123456789"), 37);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_redis_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
