/* simcfg.c: a run's configuration from its seed. See simcfg.h. */
#include "simcfg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
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

/* A number about log-uniform over [lo, hi] (lo >= 1): a power of two,
 * then a point up to the next, capped at hi; in integers, as above. */
static unsigned log_uniform(struct rng *r, unsigned lo, unsigned hi)
{
	unsigned kmax = 0, k, e;

	while ((2u << kmax) <= hi)
		kmax++;
	k = (unsigned)rng_range(r, 0, kmax);
	e = (unsigned)rng_range(r, 1u << k, (2u << k) - 1);
	return e < lo ? lo : e > hi ? hi : e;
}

/* set-max-intset-entries (2 to 1024), set-max-listpack-entries (1 to 256)
 * and -value (the default in half the runs, else 1 to 128 bytes), so that
 * the workload's sets (a few members, now and then hundreds) cross from
 * one encoding to another in most runs; and lazyfree-lazy-user-del in half
 * of them. Drawn after the hash limits, so that those stay what they were
 * for a seed. */
static void derive_set_limits(struct sim_config *c, struct rng *r)
{
	bool dflt;
	unsigned v;

	c->set_is_entries = log_uniform(r, 2, 1024);
	c->set_lp_entries = log_uniform(r, 1, 256);
	dflt = rng_chance(r, 0.5);
	v = (unsigned)rng_range(r, 1, 128);
	c->set_lp_value = dflt ? SET_MAX_LISTPACK_VALUE_DEFAULT : v;
	c->lazy_user_del = rng_chance(r, 0.5);
}

/* list-max-listpack-size: in most runs a few entries per node (1 to 16,
 * about log-uniform), so that a list of a few elements is a quicklist of
 * several nodes; else one of Redis's byte limits (-1 to -5: 4 to 64 KB),
 * which the workload's long elements reach in a big push.
 * list-compress-depth: 0 (no compression) in a third of the runs, else 1
 * to 3 nodes kept raw at each end. Drawn after the set limits, so that
 * those stay what they were for a seed. */
static void derive_list_limits(struct sim_config *c, struct rng *r)
{
	bool bytes = rng_chance(r, 0.25);
	unsigned entries = log_uniform(r, 1, 16), kb = (unsigned)rng_range(r, 1, 5);
	bool raw = rng_chance(r, 1.0 / 3);
	unsigned depth = (unsigned)rng_range(r, 1, 3);

	c->list_lp_size = bytes ? -(int)kb : (int)entries;
	c->list_compress = raw ? 0 : depth;
}

/* zset-max-listpack-entries: 1 to 32 in most runs (about log-uniform),
 * else up to 256, so that sorted sets of a few members are trees in many
 * runs and listpacks in others; zset-max-listpack-value: the default in
 * half the runs, else 1 to 128 bytes (the universe's names are up to 365);
 * hll-sparse-max-bytes: the default (3000) in half the runs, else 1 to
 * 3000 (about log-uniform), so that sketches of a few elements turn dense.
 * Drawn after the list limits, so that those stay what they were for a
 * seed. */
static void derive_zset_limits(struct sim_config *c, struct rng *r)
{
	bool wide = rng_chance(r, 0.2);
	unsigned small = log_uniform(r, 1, 32), large = log_uniform(r, 1, 256);
	bool dflt = rng_chance(r, 0.5);
	unsigned v = (unsigned)rng_range(r, 1, 128);
	bool sparse = rng_chance(r, 0.5);
	unsigned bytes = log_uniform(r, 1, HLL_SPARSE_MAX_BYTES_DEFAULT);

	c->zset_lp_entries = wide ? large : small;
	c->zset_lp_value = dflt ? ZSET_MAX_LISTPACK_VALUE_DEFAULT : v;
	c->hll_sparse = sparse ? HLL_SPARSE_MAX_BYTES_DEFAULT : bytes;
}

/* maxmemory in a quarter of the runs: from 256 KB, where the connections
 * take most of it and writes are refused or evict all the time, to 1 MB,
 * which evicts now and then; under any policy that evicts, or noeviction.
 * Drawn last, so the earlier draws stay what they were for older seeds. */
static void derive_eviction(struct sim_config *c, struct rng *r)
{
	static const unsigned policies[] = {
		POLICY_ALLKEYS_SIEVE,  POLICY_ALLKEYS_LRU,     POLICY_ALLKEYS_LFU,
		POLICY_ALLKEYS_RANDOM, POLICY_VOLATILE_SIEVE,  POLICY_VOLATILE_LRU,
		POLICY_VOLATILE_LFU,   POLICY_VOLATILE_RANDOM, POLICY_VOLATILE_TTL,
		POLICY_NOEVICTION,
	};
	bool on = rng_chance(r, 0.25);
	unsigned kb = (unsigned)rng_range(r, 256, 1024);
	unsigned pol = policies[rng_below(r, sizeof(policies) / sizeof(policies[0]))];

	c->maxmemory_kb = on ? kb : 0;
	c->policy = pol;
}

/* client-output-backpressure in a third of the runs: 1 byte to 64 KB
 * (about log-uniform), so that connections stop and resume reading all the
 * time under short writes; else the default, which no run reaches. Drawn
 * after the eviction settings, for the same reason. */
static void derive_backpressure(struct sim_config *c, struct rng *r)
{
	bool on = rng_chance(r, 1.0 / 3);
	unsigned bytes = log_uniform(r, 1, 65536);

	c->backpressure = on ? bytes : 0;
}

/* A cluster run (cluster.h) in SIMCFG_CLUSTER_SHARE of the seeds: 3 to 7
 * nodes, fewer more often. Drawn from a stream of its own, after the
 * rest, so that every other setting stays what it was for a seed. */
static void derive_cluster(struct sim_config *c, uint64_t seed)
{
	struct rng r;
	bool on;
	unsigned n;

	rng_seed(&r, seed ^ 0x636c7573746572ull); /* "cluster" */
	on = rng_chance(&r, SIMCFG_CLUSTER_SHARE);
	n = 3 + (unsigned)rng_below(&r, 3) + (unsigned)rng_below(&r, 3);
	c->cluster_nodes = n;
	if (on) {
		c->cluster = 1;
		c->nodes = n;
	}
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
	/* One node unless --set nodes=N, or a cluster run (derive_cluster),
	 * so that other seeds run as they did before worlds had several. */
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
	derive_set_limits(c, &r);
	derive_list_limits(c, &r);
	derive_zset_limits(c, &r);
	derive_eviction(c, &r);
	derive_backpressure(c, &r);
	derive_cluster(c, seed);
	c->move_pct = c->atomic_pct = -1;
	c->atomic_keys = 1;
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

static int set_int(int *dst, const char *v, int lo, int hi, char *err, size_t n)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || x < lo || x > hi || x == 0) {
		snprintf(err, n, "must be a number from %d to %d, not 0", lo, hi);
		return -1;
	}
	*dst = (int)x;
	return 0;
}

/* A percent, or -1 (drawn from the seed). */
static int set_pct(int *dst, const char *v, char *err, size_t n)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || x < -1 || x > 100) {
		snprintf(err, n, "must be a number from -1 to 100");
		return -1;
	}
	*dst = (int)x;
	return 0;
}

/* simcfg_set's unsigned settings: name, field, bounds. */
#define CFG_OFF(f) offsetof(struct sim_config, f)
static const struct {
	const char *name;
	size_t off;
	unsigned lo, hi;
} uint_settings[] = {
	{ "nodes", CFG_OFF(nodes), 1, SIM_NODES_MAX },
	{ "shards", CFG_OFF(shards), 1, 16 },
	{ "clients", CFG_OFF(clients), 1, 64 },
	{ "ring_size", CFG_OFF(ring_size), 2, 65536 },
	{ "bufs", CFG_OFF(bufs), 1, IO_BUF_COUNT },
	{ "pipeline", CFG_OFF(pipeline_max), 1, 1024 },
	{ "keys", CFG_OFF(keys), 2, 1024 },
	{ "hash_lp_entries", CFG_OFF(hash_lp_entries), 0, 1u << 20 },
	{ "hash_lp_value", CFG_OFF(hash_lp_value), 0, 1u << 20 },
	{ "set_is_entries", CFG_OFF(set_is_entries), 0, 1u << 20 },
	{ "set_lp_entries", CFG_OFF(set_lp_entries), 0, 1u << 20 },
	{ "set_lp_value", CFG_OFF(set_lp_value), 0, 1u << 20 },
	{ "lazy_user_del", CFG_OFF(lazy_user_del), 0, 1 },
	{ "list_compress", CFG_OFF(list_compress), 0, 1u << 20 },
	{ "zset_lp_entries", CFG_OFF(zset_lp_entries), 0, 1u << 20 },
	{ "zset_lp_value", CFG_OFF(zset_lp_value), 0, 1u << 20 },
	{ "hll_sparse", CFG_OFF(hll_sparse), 0, 1u << 20 },
	{ "maxmemory_kb", CFG_OFF(maxmemory_kb), 0, 1u << 22 },
	{ "policy", CFG_OFF(policy), 0, POLICY_COUNT - 1 },
	{ "backpressure", CFG_OFF(backpressure), 0, 1u << 30 },
	{ "cluster", CFG_OFF(cluster), 0, 1 },
	{ "atomic_keys", CFG_OFF(atomic_keys), 0, 1 },
};

/* A fault class's probability, if name is one; -2 if it is not. */
static int set_fault(struct sim_config *c, const char *name, const char *v, char *err,
		     size_t errlen)
{
	unsigned f;

	for (f = 0; f < F_COUNT; f++) {
		if (strcmp(name, fault_names[f]) == 0) {
			char *end;
			double p = strtod(v, &end);
			if (*end != '\0' || p < 0 || p > 1) {
				snprintf(err, errlen, "a probability from 0 to 1");
				return -1;
			}
			c->p[f] = p;
			return 0;
		}
	}
	return -2;
}

int simcfg_set(struct sim_config *c, const char *assign, char *err, size_t errlen)
{
	const char *eq = strchr(assign, '=');
	char name[64];
	size_t nlen, i;
	int rc;

	if (eq == NULL || (nlen = (size_t)(eq - assign)) == 0 || nlen >= sizeof(name)) {
		snprintf(err, errlen, "expected name=value");
		return -1;
	}
	memcpy(name, assign, nlen);
	name[nlen] = '\0';
	rc = set_fault(c, name, eq + 1, err, errlen);
	if (rc != -2)
		return rc;
	if (strcmp(name, "list_lp_size") == 0)
		return set_int(&c->list_lp_size, eq + 1, -5, 1 << 20, err, errlen);
	if (strcmp(name, "move_pct") == 0)
		return set_pct(&c->move_pct, eq + 1, err, errlen);
	if (strcmp(name, "atomic_pct") == 0)
		return set_pct(&c->atomic_pct, eq + 1, err, errlen);
	for (i = 0; i < sizeof(uint_settings) / sizeof(uint_settings[0]); i++) {
		if (strcmp(name, uint_settings[i].name) != 0)
			continue;
		rc = set_uint((unsigned *)(void *)((char *)c + uint_settings[i].off), eq + 1,
			      uint_settings[i].lo, uint_settings[i].hi, err, errlen);
		if (rc == 0 && strcmp(name, "cluster") == 0 && c->cluster == 1 && c->nodes == 1)
			c->nodes = c->cluster_nodes; /* a cluster of one node moves nothing */
		if (rc == 0 && strcmp(name, "ring_size") == 0 &&
		    (c->ring_size & (c->ring_size - 1)) != 0) {
			snprintf(err, errlen, "a power of two");
			return -1;
		}
		return rc;
	}
	snprintf(err, errlen, "unknown setting '%s'", name);
	return -1;
}

void simcfg_print(const struct sim_config *c, FILE *f)
{
	unsigned i;

	fprintf(f,
		"seed=%llu ticks=%llu nodes=%u shards=%u clients=%u ring_size=%u bufs=%u "
		"pipeline=%u keys=%u hash_lp_entries=%u hash_lp_value=%u set_is_entries=%u "
		"set_lp_entries=%u set_lp_value=%u lazy_user_del=%u list_lp_size=%d "
		"list_compress=%u zset_lp_entries=%u zset_lp_value=%u hll_sparse=%u "
		"maxmemory_kb=%u policy=%u backpressure=%u cluster=%u move_pct=%d "
		"atomic_pct=%d atomic_keys=%u\n",
		(unsigned long long)c->seed, (unsigned long long)c->ticks, c->nodes, c->shards,
		c->clients, c->ring_size, c->bufs, c->pipeline_max, c->keys, c->hash_lp_entries,
		c->hash_lp_value, c->set_is_entries, c->set_lp_entries, c->set_lp_value,
		c->lazy_user_del, c->list_lp_size, c->list_compress, c->zset_lp_entries,
		c->zset_lp_value, c->hll_sparse, c->maxmemory_kb, c->policy, c->backpressure,
		c->cluster, c->move_pct, c->atomic_pct, c->atomic_keys);
	fprintf(f, "faults:");
	for (i = 0; i < F_COUNT; i++)
		fprintf(f, " %s=%.4f", fault_names[i], c->p[i]);
	fprintf(f, "\n");
}
