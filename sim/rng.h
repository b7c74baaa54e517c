/* rng.h: the simulator's only source of randomness.
 *
 * xoshiro256++ seeded through splitmix64. Every component of a run draws
 * from its own stream, forked from the run's seed with a label, so that
 * adding draws in one component never shifts the numbers another sees. */
#ifndef CAIRN_SIM_RNG_H
#define CAIRN_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* A new stream derived from r's seed material and a label (r unchanged). */
void rng_fork(struct rng *out, const struct rng *r, uint64_t label);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n) (n > 0), without modulo bias. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* True with probability p. Always draws one number, whatever p is, so that
 * a fault class switched off keeps the rest of the run aligned. */
bool rng_chance(struct rng *r, double p);

#endif
