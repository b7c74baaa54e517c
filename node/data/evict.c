/* evict.c: see evict.h. The pool and its ordering are Redis's (evict.c). */
#include "data/evict.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/latmon.h"
#include "base/stats.h"
#include "data/keyspace.h"

static bool is_lfu(int policy)
{
	return policy == POLICY_VOLATILE_LFU || policy == POLICY_ALLKEYS_LFU;
}

static bool is_sieve(int policy)
{
	return policy == POLICY_ALLKEYS_SIEVE || policy == POLICY_VOLATILE_SIEVE;
}

static bool is_volatile(int policy)
{
	return policy == POLICY_VOLATILE_LRU || policy == POLICY_VOLATILE_LFU ||
	       policy == POLICY_VOLATILE_RANDOM || policy == POLICY_VOLATILE_TTL ||
	       policy == POLICY_VOLATILE_SIEVE;
}

enum policy_mode evict_mode(int policy, long long maxmemory)
{
	if (is_lfu(policy))
		return POLICY_MODE_LFU;
	if (is_sieve(policy) && maxmemory > 0)
		return POLICY_MODE_SIEVE;
	return POLICY_MODE_LRU;
}

void evict_configure(struct keyspace *ks, const struct config *cfg)
{
	struct policy *p = &ks->pol;
	enum policy_mode mode = evict_mode(cfg->maxmemory_policy, cfg->maxmemory);

	if (mode != p->mode || cfg->maxmemory_policy != p->policy) {
		/* The pool's scores and the queue belong to the old policy. */
		policy_clear(p);
		p->mode = mode;
		p->policy = cfg->maxmemory_policy;
		p->enrolling = mode == POLICY_MODE_SIEVE && ks_size(ks) > 0;
	}
	p->samples = (unsigned)cfg->maxmemory_samples;
	p->lfu_log_factor = cfg->lfu_log_factor;
	p->lfu_decay_time = cfg->lfu_decay_time;
	p->lazy = cfg->lazyfree_lazy_eviction;
}

uint64_t evict_budget(long long tenacity)
{
	double us;

	if (tenacity >= 100)
		return UINT64_MAX;
	us = tenacity <= 10 ? 50.0 * (double)tenacity : 500.0 * pow(1.15, (double)tenacity - 10);
	/* A step examines a few keys even at 0, as Redis's loop does before it
	 * first reads the clock. */
	return 16 + (uint64_t)(2 * us);
}

/* ---- the SIEVE queue's enrolment ---- */

static void enroll_one(void *arg, struct kv *e)
{
	sieve_append(arg, e);
}

/* Enrolls about n keys (whole buckets); returns the work done: scan steps
 * plus keys enrolled, counted against an eviction step's budget. */
static uint64_t enroll(struct keyspace *ks, uint64_t n)
{
	struct policy *p = &ks->pol;
	uint64_t before = p->n, steps = 0;

	while (p->enrolling && p->n - before < n) {
		p->enroll_cursor = ks_scan(ks, p->enroll_cursor, enroll_one, p);
		steps++;
		if (p->enroll_cursor == 0)
			p->enrolling = false;
	}
	return steps + (p->n - before);
}

uint64_t evict_candidates(const struct keyspace *ks)
{
	if (ks->pol.policy == POLICY_NOEVICTION)
		return 0;
	return is_volatile(ks->pol.policy) ? ks->ttl.n : ks_size(ks);
}

void evict_cron(struct keyspace *ks)
{
	if (ks->pol.enrolling)
		enroll(ks, EVICT_ENROLL_STEP);
}

/* ---- picking a victim ---- */

struct pick {
	uint64_t spent, budget;
	bool fail; /* nothing may go, as opposed to a spent budget */
};

static bool tag_match(const void *arg, const struct kv *e)
{
	return (e->lru & SIEVE_TAG_MASK) == *(const uint32_t *)arg;
}

static struct kv *sieve_pick(struct keyspace *ks, bool volatile_only, struct pick *pk)
{
	struct policy *p = &ks->pol;

	ASSERT(p->mode == POLICY_MODE_SIEVE);
	if (p->enrolling)
		pk->spent += enroll(ks, EVICT_ENROLL_STEP);
	while (pk->spent < pk->budget) {
		struct sieve_slot s;
		struct kv *e;
		if (p->r == p->n) {
			sieve_wrap(p);
			p->passes++;
		}
		if (p->n == 0 || p->passes > 2) {
			pk->fail = !p->enrolling;
			return NULL;
		}
		s = *sieve_slot(p, p->r++);
		pk->spent++;
		e = dict_find_hash(&ks->d, s.hash, tag_match, &s.tag);
		if (e == NULL) {
			sieve_release_gap(p); /* its key is gone: the slot goes too */
			continue;
		}
		if (volatile_only && !kv_has_ttl(e)) {
			*sieve_slot(p, p->w++) = s; /* not a candidate: as it was */
			continue;
		}
		if (e->lru & SIEVE_VISITED) {
			e->lru &= ~SIEVE_VISITED;
			*sieve_slot(p, p->w++) = s;
			continue;
		}
		p->passes = 0;
		sieve_release_gap(p);
		/* The victim was the newest: the pass is over, and the next
		 * eviction starts from the oldest, not at a key set later. */
		if (p->r == p->n)
			sieve_wrap(p);
		return e;
	}
	return NULL;
}

/* ---- the sampling policies ---- */

static uint64_t rnd_of(void *arg)
{
	return ks_random_u64(arg);
}

/* A random key: from the TTL index, or from the whole table. */
static struct kv *sample(struct keyspace *ks, bool volatile_only)
{
	if (volatile_only)
		return ks->ttl.n > 0 ? ttl_at(&ks->ttl, (uint32_t)(ks_random_u64(ks) % ks->ttl.n))
				     : NULL;
	return dict_random(&ks->d, rnd_of, ks);
}

/* How good a victim e is: higher goes first. */
static uint64_t score(struct keyspace *ks, const struct kv *e)
{
	switch (ks->pol.policy) {
	case POLICY_VOLATILE_LFU:
	case POLICY_ALLKEYS_LFU: return 255 - policy_lfu_freq(&ks->pol, e, ks->now_ms);
	case POLICY_VOLATILE_TTL: return UINT64_MAX - (uint64_t)kv_expire(e);
	default: return ks_idle_ms(ks, e);
	}
}

static void cand_free(struct policy *p, struct policy_cand *c)
{
	mem_free(p->mem, c->key);
	memset(c, 0, sizeof(*c));
}

/* Redis's evictionPoolPopulate for one key: the pool stays sorted by
 * score, lowest first, and a full pool drops its worst. */
static void pool_insert(struct policy *p, const struct kv *e, uint64_t sc)
{
	struct policy_cand *pool = p->pool;
	int k = 0;

	while (k < POLICY_POOL_SIZE && pool[k].key != NULL && pool[k].score < sc)
		k++;
	if (k == 0 && pool[POLICY_POOL_SIZE - 1].key != NULL)
		return; /* worse than all, and no room */
	if (k < POLICY_POOL_SIZE && pool[k].key == NULL) {
		/* a free slot */
	} else if (pool[POLICY_POOL_SIZE - 1].key == NULL) {
		memmove(pool + k + 1, pool + k, sizeof(*pool) * (size_t)(POLICY_POOL_SIZE - k - 1));
	} else {
		k--;
		mem_free(p->mem, pool[0].key);
		memmove(pool, pool + 1, sizeof(*pool) * (size_t)k);
	}
	pool[k].score = sc;
	pool[k].hash = (uint32_t)hash_bytes(kv_key(e), kv_klen(e), p->seed);
	pool[k].klen = kv_klen(e);
	pool[k].key = mem_alloc(p->mem, kv_klen(e) ? kv_klen(e) : 1);
	memcpy(pool[k].key, kv_key(e), kv_klen(e));
}

static struct kv *pool_pick(struct keyspace *ks, bool volatile_only, struct pick *pk)
{
	struct policy *p = &ks->pol;

	while (pk->spent < pk->budget) {
		unsigned i;
		int k;
		for (i = 0; i < p->samples && pk->spent + i < pk->budget; i++) {
			struct kv *e = sample(ks, volatile_only);
			if (e == NULL)
				break;
			pool_insert(p, e, score(ks, e));
		}
		pk->spent += i;
		if (i == 0) {
			pk->fail = true;
			return NULL;
		}
		/* The best candidate whose key is still there. */
		for (k = POLICY_POOL_SIZE - 1; k >= 0; k--) {
			struct policy_cand *c = &p->pool[k];
			struct kv *e;
			if (c->key == NULL)
				continue;
			e = dict_find(&ks->d, c->key, c->klen, c->hash, NULL);
			cand_free(p, c);
			if (e != NULL && (!volatile_only || kv_has_ttl(e)))
				return e;
		}
	}
	return NULL;
}

static struct kv *pick(struct keyspace *ks, struct pick *pk)
{
	int policy = ks->pol.policy;
	bool vol = is_volatile(policy);

	if (policy == POLICY_NOEVICTION) {
		pk->fail = true;
		return NULL;
	}
	if (policy == POLICY_ALLKEYS_RANDOM || policy == POLICY_VOLATILE_RANDOM) {
		struct kv *e = sample(ks, vol);
		pk->spent++;
		pk->fail = e == NULL;
		return e;
	}
	if (ks->pol.mode == POLICY_MODE_SIEVE)
		return sieve_pick(ks, vol, pk);
	return pool_pick(ks, vol, pk);
}

/* Deletes a victim; returns the bytes that left the account, or that the
 * background free will give back. */
static uint64_t evict_key(struct keyspace *ks, struct kv *e)
{
	uint64_t before = ks->mem.used, later = 0, t0 = ks_lat_start(ks);

	ks_notify(ks, CONFIG_NOTIFY_EVICTED, "evicted", kv_key(e), kv_klen(e));
	/* An expired victim is freed by ks_unlink's lookup, at once. */
	if (ks->pol.lazy && obj_free_later(ks->types, e) && !ks_expired(ks, e)) {
		later = obj_size(ks->types, e);
		ks_unlink(ks, kv_key(e), kv_klen(e));
	} else {
		ks_delete_entry(ks, e);
	}
	/* Redis's "eviction-del": the deletion, as performEvictions times it. */
	ks_lat_end(ks, LATMON_EVICTION_DEL, t0);
	ks->st->evicted_keys++;
	return before - ks->mem.used + later;
}

enum evict_result evict_run(struct keyspace *ks, uint64_t need, uint64_t budget, uint64_t *freed)
{
	struct pick pk = { .budget = budget };
	uint64_t got = 0;
	enum evict_result rc = EVICT_OK;

	while (got < need) {
		struct kv *e = pick(ks, &pk);
		if (e == NULL) {
			rc = pk.fail ? EVICT_FAIL : EVICT_RUNNING;
			break;
		}
		got += evict_key(ks, e);
		if (pk.spent >= budget && got < need) {
			rc = EVICT_RUNNING;
			break;
		}
	}
	if (freed != NULL)
		*freed = got;
	return rc;
}
