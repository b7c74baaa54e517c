/* simcfg.c: a run's configuration from its seed. See simcfg.h. */
#include "simcfg.h"

#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "rng.h"

/* The largest probability each fault class is drawn up to. */
static const double fault_max[F_COUNT] = {
	[F_SHORT_WRITE] = 0.5,
	[F_SHORT_READ] = 0.5,
	[F_ENOBUFS] = 0.05,
	[F_SHUFFLE] = 0.5,
	[F_RESET] = 0.01,
	[F_EMFILE] = 0.2,
	[F_LOST_WAKE] = 0.2,
	[F_LATE_TIMER] = 0.3,
	[F_SQ_FULL] = 0.05,
	/* Per connect, per connect, and per kernel step of a connection
	 * between shards with work to do. */
	[F_CONN_REFUSED] = 0.3,
	[F_CONN_TIMEOUT] = 0.2,
	[F_CONN_RESET] = 0.01,
};

/* The share of runs that leave a fault class out. */
#define FAULT_OFF_SHARE 0.3

/* hash-max-listpack-entries: about log-uniform over [2, 512] (a power of
 * two, then a point up to the next), so that most runs convert hashes of the
 * few fields the workload writes, and some keep the default's room; in
 * integers, so that no libm rounding can make a seed differ between hosts.
 * hash-max-listpack-value: the default in half the runs, any of 1 to 128
 * bytes in the others. Drawn after everything else, so that the earlier
 * draws of a seed stay what they were. */
static void derive_hash_limits(struct sim_config *c, struct rng *r)
{
	unsigned k = (unsigned)rng_range(r, 1, 8);
	unsigned e = (unsigned)rng_range(r, 1u << k, 2u << k);
	bool dflt = rng_chance(r, 0.5);
	unsigned v = (unsigned)rng_range(r, 1, 128);

	c->hash_lp_entries = e < HASH_MAX_LISTPACK_ENTRIES_DEFAULT
				     ? e
				     : HASH_MAX_LISTPACK_ENTRIES_DEFAULT;
	c->hash_lp_value = dflt ? HASH_MAX_LISTPACK_VALUE_DEFAULT : v;
}

void simcfg_derive(struct sim_config *c, uint64_t seed)
{
	static const unsigned bufs[] = { 2, 4, 16, 64, IO_BUF_COUNT };
	struct rng r;
	unsigned f;

	memset(c, 0, sizeof(*c));
	rng_seed(&r, seed ^ 0x636f6e666967ull); /* its own stream: "config" */
	c->seed = seed;
	c->ticks = SIMCFG_TICKS_DEFAULT;
	/* Not drawn: one node unless --set nodes=N, so that every seed runs
	 * as it did before worlds had several nodes. */
	c->nodes = 1;
	c->shards = (unsigned)rng_range(&r, 1, 4);
	c->clients = (unsigned)rng_range(&r, 1, 8);
	c->ring_size = 1u << rng_range(&r, 1, 10);
	c->bufs = bufs[rng_below(&r, sizeof(bufs) / sizeof(bufs[0]))];
	c->pipeline_max = (unsigned)rng_range(&r, 1, 32);
	c->keys = (unsigned)rng_range(&r, 2, 16);
	for (f = 0; f < F_COUNT; f++) {
		/* Both draws always happen, whatever they decide. */
		bool off = rng_chance(&r, FAULT_OFF_SHARE);
		double p = rng_unit(&r) * fault_max[f];
		c->p[f] = off ? 0.0 : p;
	}
	derive_hash_limits(c, &r);
}

static int set_uint(unsigned *dst, const char *v, unsigned lo, unsigned hi, char *err, size_t n)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);

	if (*v == '\0' || *end != '\0' || x < lo || x > hi) {
		snprintf(err, n, "must be a number from %u to %u", lo, hi);
		return -1;
	}
	*dst = (unsigned)x;
	return 0;
}

int simcfg_set(struct sim_config *c, const char *assign, char *err, size_t errlen)
{
	const char *eq = strchr(assign, '=');
	char name[64];
	size_t nlen;
	unsigned f;

	if (eq == NULL || (nlen = (size_t)(eq - assign)) == 0 || nlen >= sizeof(name)) {
		snprintf(err, errlen, "expected name=value");
		return -1;
	}
	memcpy(name, assign, nlen);
	name[nlen] = '\0';
	for (f = 0; f < F_COUNT; f++) {
		if (strcmp(name, fault_names[f]) == 0) {
			char *end;
			double p = strtod(eq + 1, &end);
			if (*end != '\0' || p < 0 || p > 1) {
				snprintf(err, errlen, "a probability from 0 to 1");
				return -1;
			}
			c->p[f] = p;
			return 0;
		}
	}
	if (strcmp(name, "nodes") == 0)
		return set_uint(&c->nodes, eq + 1, 1, SIM_NODES_MAX, err, errlen);
	if (strcmp(name, "shards") == 0)
		return set_uint(&c->shards, eq + 1, 1, 16, err, errlen);
	if (strcmp(name, "clients") == 0)
		return set_uint(&c->clients, eq + 1, 1, 64, err, errlen);
	if (strcmp(name, "ring_size") == 0) {
		int rc = set_uint(&c->ring_size, eq + 1, 2, 65536, err, errlen);
		if (rc == 0 && (c->ring_size & (c->ring_size - 1)) != 0) {
			snprintf(err, errlen, "a power of two");
			return -1;
		}
		return rc;
	}
	if (strcmp(name, "bufs") == 0)
		return set_uint(&c->bufs, eq + 1, 1, IO_BUF_COUNT, err, errlen);
	if (strcmp(name, "pipeline") == 0)
		return set_uint(&c->pipeline_max, eq + 1, 1, 1024, err, errlen);
	if (strcmp(name, "keys") == 0)
		return set_uint(&c->keys, eq + 1, 2, 1024, err, errlen);
	if (strcmp(name, "hash_lp_entries") == 0)
		return set_uint(&c->hash_lp_entries, eq + 1, 0, 1u << 20, err, errlen);
	if (strcmp(name, "hash_lp_value") == 0)
		return set_uint(&c->hash_lp_value, eq + 1, 0, 1u << 20, err, errlen);
	snprintf(err, errlen, "unknown setting '%s'", name);
	return -1;
}

void simcfg_print(const struct sim_config *c, FILE *f)
{
	unsigned i;

	fprintf(f,
		"seed=%llu ticks=%llu nodes=%u shards=%u clients=%u ring_size=%u bufs=%u "
		"pipeline=%u keys=%u hash_lp_entries=%u hash_lp_value=%u\n",
		(unsigned long long)c->seed, (unsigned long long)c->ticks, c->nodes, c->shards,
		c->clients, c->ring_size, c->bufs, c->pipeline_max, c->keys, c->hash_lp_entries,
		c->hash_lp_value);
	fprintf(f, "faults:");
	for (i = 0; i < F_COUNT; i++)
		fprintf(f, " %s=%.4f", fault_names[i], c->p[i]);
	fprintf(f, "\n");
}
