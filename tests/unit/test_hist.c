/* test_hist.c: unit tests of node/base/hist.c (the latency histograms of
 * LATENCY HISTOGRAM and INFO latencystats).
 *
 * Goal: the histogram answers as HdrHistogram of 2 significant figures
 * does, which is what Redis prints: exact below 256 ns, then each value
 * known to within 1/128 of itself; a percentile is the highest value
 * equivalent to the one its count reaches (the lowest for percentile 0);
 * values past 1 s count as 1 s; histograms add up; counts up to a value
 * include exactly the values at or below it at bucket edges; rows come
 * from the account as values need them, and all go back.
 *
 * Method: values whose HdrHistogram answers redis-server 7.0.15 printed
 * (12000 ns recorded: p0 11.968 us, p100 12.031 us; 11000 ns: 10.944 and
 * 11.007), sums of known distributions, and every edge of the log buckets
 * LATENCY HISTOGRAM reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/hist.h"
#include "base/mem.h"

/* The account rows come from; every test gives it all back. */
static struct mem mem;

static struct hist *new_hist(void)
{
	struct hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static void free_hist(struct hist *h)
{
	hist_clear(&mem, h);
	free(h);
}

static void test_redis_values(void **state)
{
	struct hist *h = new_hist();

	(void)state;
	hist_record(&mem, h, 11000);
	assert_int_equal(hist_percentile(h, 0), 10944);
	assert_int_equal(hist_percentile(h, 50), 11007);
	assert_int_equal(hist_percentile(h, 100), 11007);
	hist_clear(&mem, h);
	hist_record(&mem, h, 12000);
	assert_int_equal(hist_percentile(h, 0), 11968);
	assert_int_equal(hist_percentile(h, 99.9), 12031);
	free_hist(h);
	assert_int_equal(mem.used, 0);
}

static void test_exact_small_and_clamped(void **state)
{
	struct hist *h = new_hist();
	uint64_t v;

	(void)state;
	assert_int_equal(hist_percentile(h, 50), 0); /* empty */
	for (v = 0; v < 256; v++)
		hist_record(&mem, h, v);
	assert_int_equal(h->total, 256);
	assert_int_equal(hist_percentile(h, 50), 127);
	assert_int_equal(hist_percentile(h, 100), 255);
	assert_int_equal(hist_count_upto(h, 99), 100);
	hist_clear(&mem, h);
	hist_record(&mem, h, 5000000000ull); /* 5 s counts as 1 s */
	assert_true(hist_percentile(h, 100) >= HIST_MAX);
	assert_true(hist_percentile(h, 100) <= HIST_MAX + HIST_MAX / 128);
	free_hist(h);
	assert_int_equal(mem.used, 0);
}

static void test_precision_and_sums(void **state)
{
	struct hist *a = new_hist(), *b = new_hist();
	uint64_t v;

	(void)state;
	for (v = 1000; v <= 100000000; v = v * 3 / 2) {
		uint64_t p;
		hist_clear(&mem, a);
		hist_record(&mem, a, v);
		p = hist_percentile(a, 50);
		assert_true(p >= v);
		assert_true(p - v <= v / 128);
	}
	hist_clear(&mem, a);
	for (v = 1; v <= 100; v++)
		hist_record(&mem, a, v * 1000);
	for (v = 101; v <= 200; v++)
		hist_record(&mem, b, v * 1000);
	hist_add(&mem, a, b);
	assert_int_equal(a->total, 200);
	assert_true(hist_percentile(a, 50) >= 100000 && hist_percentile(a, 50) <= 100000 + 1000);
	assert_true(hist_percentile(a, 25) >= 50000 && hist_percentile(a, 25) <= 50000 + 512);
	free_hist(a);
	free_hist(b);
	assert_int_equal(mem.used, 0);
}

/* LATENCY HISTOGRAM's buckets end at 1024 << k minus one: the counts there
 * hold exactly the values at or below the edge. */
static void test_bucket_edges(void **state)
{
	struct hist *h = new_hist();
	unsigned k;

	(void)state;
	for (k = 0; k < 20; k++) {
		uint64_t edge = (1024ull << k) - 1;
		hist_record(&mem, h, edge);
		hist_record(&mem, h, edge + 1);
		assert_int_equal(hist_count_upto(h, edge), 2 * k + 1);
	}
	free_hist(h);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_values),
		cmocka_unit_test(test_exact_small_and_clamped),
		cmocka_unit_test(test_precision_and_sums),
		cmocka_unit_test(test_bucket_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
