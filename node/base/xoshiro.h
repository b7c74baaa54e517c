/* xoshiro.h: xoshiro256++ (Blackman and Vigna, public domain), the one
 * pseudo-random generator of the project: the real backends' io_random_u64()
 * and every stream of the simulator draw from it. Not for cryptography. */
#ifndef CAIRN_XOSHIRO_H
#define CAIRN_XOSHIRO_H

#include <stdint.h>

static inline uint64_t xoshiro_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The next output of state s (which must not be all zero). */
static inline uint64_t xoshiro256pp_next(uint64_t s[4])
{
	uint64_t out = xoshiro_rotl(s[0] + s[3], 23) + s[0], t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = xoshiro_rotl(s[3], 45);
	return out;
}

#endif
