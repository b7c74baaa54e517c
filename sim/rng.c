/* rng.c: xoshiro256++ and splitmix64. See rng.h. */
#include "rng.h"

#include "base/assert.h"
#include "base/xoshiro.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
	ASSERT(r->s[0] | r->s[1] | r->s[2] | r->s[3]);
}

void rng_fork(struct rng *out, const struct rng *r, uint64_t label)
{
	uint64_t x = r->s[0] ^ xoshiro_rotl(r->s[1], 17) ^ xoshiro_rotl(r->s[2], 31) ^
		     xoshiro_rotl(r->s[3], 47);

	x ^= splitmix64(&label);
	rng_seed(out, x);
}

uint64_t rng_next(struct rng *r)
{
	return xoshiro256pp_next(r->s);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	uint64_t limit, x;

	ASSERT(n > 0);
	/* Reject the top sliver that would make some residues likelier. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		x = rng_next(r);
	} while (x >= limit);
	return x % n;
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	ASSERT(lo <= hi);
	if (hi - lo == UINT64_MAX)
		return rng_next(r);
	return lo + rng_below(r, hi - lo + 1);
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

bool rng_chance(struct rng *r, double p)
{
	double u = rng_unit(r);
	return u < p;
}
