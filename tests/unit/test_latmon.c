/* test_latmon.c: unit tests of node/base/latmon.c (the latency monitor's
 * rings behind LATENCY LATEST, HISTORY, RESET, DOCTOR and GRAPH).
 *
 * Goal: a series keeps one sample per second (a second sample in the same
 * second keeps the larger latency, as Redis's latencyAddSample), at most
 * LATMON_SAMPLES of them (the oldest go), and the all-time max; a series
 * exists from its first sample until reset, and its ring comes from the
 * owner's account and goes back; names are Redis's, looked up exactly
 * (nocase for RESET); merging shards' series gives the newest
 * LATMON_SAMPLES seconds any has, one sample per second, the largest, in
 * time order, and the largest max.
 *
 * Method: samples at chosen times, then the series read back; merges of
 * two and three monitors with overlapping, interleaved and wrapped rings
 * checked against the expected lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base/latmon.h"
#include "base/mem.h"

static struct mem mem;

static const struct latmon_sample *at(const struct latmon_series *ts, uint32_t j)
{
	return &ts->s[(ts->idx + LATMON_SAMPLES - ts->n + j) % LATMON_SAMPLES];
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(latmon_name(LATMON_COMMAND), "command");
	assert_string_equal(latmon_name(LATMON_FAST_COMMAND), "fast-command");
	assert_string_equal(latmon_name(LATMON_EXPIRE_CYCLE), "expire-cycle");
	assert_string_equal(latmon_name(LATMON_EVICTION_CYCLE), "eviction-cycle");
	assert_string_equal(latmon_name(LATMON_EXPIRE_DEL), "expire-del");
	assert_string_equal(latmon_name(LATMON_EVICTION_DEL), "eviction-del");
	assert_int_equal(latmon_lookup("eviction-del", 12, false), LATMON_EVICTION_DEL);
	assert_int_equal(latmon_lookup("command", 7, false), LATMON_COMMAND);
	assert_int_equal(latmon_lookup("COMMAND", 7, false), -1);
	assert_int_equal(latmon_lookup("COMMAND", 7, true), LATMON_COMMAND);
	assert_int_equal(latmon_lookup("fast-command", 12, false), LATMON_FAST_COMMAND);
	assert_int_equal(latmon_lookup("comman", 6, true), -1);
	assert_int_equal(latmon_lookup("commandx", 8, true), -1);
	assert_int_equal(latmon_lookup("", 0, true), -1);
}

static void test_same_second_keeps_max(void **state)
{
	struct latmon m;

	(void)state;
	latmon_init(&m, &mem);
	assert_null(m.ev[LATMON_COMMAND]);
	latmon_add(&m, LATMON_COMMAND, 100, 7);
	assert_non_null(m.ev[LATMON_COMMAND]);
	assert_true(mem.used > 0);
	latmon_add(&m, LATMON_COMMAND, 100, 5);
	latmon_add(&m, LATMON_COMMAND, 100, 9);
	latmon_add(&m, LATMON_COMMAND, 101, 3);
	assert_int_equal(m.ev[LATMON_COMMAND]->n, 2);
	assert_int_equal(at(m.ev[LATMON_COMMAND], 0)->time_s, 100);
	assert_int_equal(at(m.ev[LATMON_COMMAND], 0)->ms, 9);
	assert_int_equal(at(m.ev[LATMON_COMMAND], 1)->time_s, 101);
	assert_int_equal(at(m.ev[LATMON_COMMAND], 1)->ms, 3);
	assert_int_equal(m.ev[LATMON_COMMAND]->max, 9);
	/* Time 0 is a time like any other (the simulator's clock starts there). */
	latmon_add(&m, LATMON_EXPIRE_CYCLE, 0, 4);
	assert_int_equal(m.ev[LATMON_EXPIRE_CYCLE]->n, 1);
	/* Latencies past 32 bits saturate. */
	latmon_add(&m, LATMON_EXPIRE_CYCLE, 1, 1ull << 40);
	assert_int_equal(m.ev[LATMON_EXPIRE_CYCLE]->max, UINT32_MAX);
	assert_true(latmon_reset(&m, LATMON_COMMAND));
	assert_false(latmon_reset(&m, LATMON_COMMAND));
	assert_false(latmon_reset(&m, LATMON_EVICTION_CYCLE));
	latmon_free(&m);
	assert_int_equal(mem.used, 0);
}

static void test_ring_keeps_newest(void **state)
{
	struct latmon m;
	uint32_t j;

	(void)state;
	latmon_init(&m, &mem);
	for (j = 0; j < LATMON_SAMPLES + 25; j++)
		latmon_add(&m, LATMON_FAST_COMMAND, 1000 + j, j % 50 + 1);
	assert_int_equal(m.ev[LATMON_FAST_COMMAND]->n, LATMON_SAMPLES);
	for (j = 0; j < LATMON_SAMPLES; j++) {
		assert_int_equal(at(m.ev[LATMON_FAST_COMMAND], j)->time_s, 1025 + j);
		assert_int_equal(at(m.ev[LATMON_FAST_COMMAND], j)->ms, (25 + j) % 50 + 1);
	}
	assert_int_equal(m.ev[LATMON_FAST_COMMAND]->max, 50);
	latmon_free(&m);
	assert_int_equal(mem.used, 0);
}

static void test_merge(void **state)
{
	struct latmon a, b, c;
	struct latmon *ms[3] = { &a, &b, &c };
	struct latmon_series out;

	(void)state;
	latmon_init(&a, &mem);
	latmon_init(&b, &mem);
	latmon_init(&c, &mem);
	assert_false(latmon_merge(ms, 3, LATMON_COMMAND, &out));
	assert_int_equal(out.n, 0);
	latmon_add(&a, LATMON_COMMAND, 10, 5);
	latmon_add(&a, LATMON_COMMAND, 12, 8);
	latmon_add(&b, LATMON_COMMAND, 11, 3);
	latmon_add(&b, LATMON_COMMAND, 12, 20);
	latmon_add(&b, LATMON_COMMAND, 14, 1);
	latmon_add(&c, LATMON_EXPIRE_CYCLE, 9, 100);
	assert_true(latmon_merge(ms, 3, LATMON_COMMAND, &out));
	assert_int_equal(out.n, 4);
	assert_int_equal(out.s[0].time_s, 10);
	assert_int_equal(out.s[0].ms, 5);
	assert_int_equal(out.s[1].time_s, 11);
	assert_int_equal(out.s[1].ms, 3);
	assert_int_equal(out.s[2].time_s, 12);
	assert_int_equal(out.s[2].ms, 20);
	assert_int_equal(out.s[3].time_s, 14);
	assert_int_equal(out.s[3].ms, 1);
	assert_int_equal(out.max, 20);
	assert_int_equal(at(&out, 3)->time_s, 14);
	assert_true(latmon_merge(ms, 3, LATMON_EXPIRE_CYCLE, &out));
	assert_int_equal(out.n, 1);
	assert_int_equal(out.max, 100);
	latmon_free(&a);
	latmon_free(&b);
	latmon_free(&c);
	assert_int_equal(mem.used, 0);
}

/* Two full rings, interleaved in time: the newest LATMON_SAMPLES seconds
 * of both remain, whatever the order of the monitors. */
static void test_merge_full(void **state)
{
	struct latmon a, b;
	struct latmon *ab[2] = { &a, &b }, *ba[2] = { &b, &a };
	struct latmon_series out, out2;
	uint32_t j;

	(void)state;
	latmon_init(&a, &mem);
	latmon_init(&b, &mem);
	for (j = 0; j < LATMON_SAMPLES + 10; j++) {
		latmon_add(&a, LATMON_EVICTION_CYCLE, 2 * j, 1);
		latmon_add(&b, LATMON_EVICTION_CYCLE, 2 * j + 1, 2);
	}
	latmon_add(&a, LATMON_EVICTION_CYCLE, 2 * j - 1, 7); /* b has that second */
	assert_true(latmon_merge(ab, 2, LATMON_EVICTION_CYCLE, &out));
	assert_true(latmon_merge(ba, 2, LATMON_EVICTION_CYCLE, &out2));
	assert_int_equal(out.n, LATMON_SAMPLES);
	assert_memory_equal(out.s, out2.s, sizeof(out.s));
	for (j = 0; j < LATMON_SAMPLES; j++) {
		int64_t t = 2 * (LATMON_SAMPLES + 10) - LATMON_SAMPLES + j;
		assert_int_equal(out.s[j].time_s, t);
		assert_int_equal(out.s[j].ms, j == LATMON_SAMPLES - 1 ? 7 : t % 2 ? 2 : 1);
	}
	assert_int_equal(out.max, 7);
	latmon_free(&a);
	latmon_free(&b);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_same_second_keeps_max),
		cmocka_unit_test(test_ring_keeps_newest),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
