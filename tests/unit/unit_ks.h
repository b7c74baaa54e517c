/* unit_ks.h: what the keyspace unit tests share: the check that the
 * keyspace's table, TTL index and memory account are exact (ks_check), and
 * a fixed-seed xorshift source to give ks_init (rnd, over a uint64_t
 * state), so every run draws the same numbers. Include after cmocka.h. */
#ifndef CAIRN_UNIT_KS_H
#define CAIRN_UNIT_KS_H

#include <stdint.h>

#define CHECK(ks) assert_int_equal(ks_check(ks), 0)

static inline uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static inline uint64_t rnd(void *arg)
{
	return xorshift(arg);
}

#endif
