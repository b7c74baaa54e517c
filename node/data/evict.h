/* evict.h: eviction: which keys of a keyspace go, and going.
 *
 * The shard decides how many bytes must go (its share of maxmemory,
 * shard.c); this module picks and deletes keys as the policy says, using
 * each key's policy field (policy.h):
 *   - Redis's LRU, LFU and TTL policies sample, as Redis does:
 *     maxmemory-samples keys from the hash table (allkeys-) or from the TTL
 *     index (volatile-) feed a pool of the POLICY_POOL_SIZE best candidates
 *     kept between evictions (by idle time, by low LFU counter, by nearest
 *     expiry), and the best that still exists goes. The random policies
 *     take one sampled key.
 *   - allkeys-sieve and volatile-sieve are SIEVE (Zhang et al., NSDI 2024)
 *     over policy.h's queue, oldest key first: the hand moves from the
 *     oldest slot toward the newest; a key read or written since the hand
 *     last passed it (its visited bit) has the bit cleared and keeps its
 *     place; the first key without the bit goes. New keys join at the
 *     newest end, and the hand wraps back to the oldest. A hit costs one bit
 *     and no list move (LRU's cost), and a key read once after insertion
 *     outlives the one-hit wonders written after it, which is where SIEVE
 *     beats LRU. Kept slots are copied down behind the hand, so one pass
 *     also compacts the queue. volatile-sieve passes over keys without a
 *     TTL (keeping their bit).
 *
 * No call does unbounded work: evict_run() examines at most its budget of
 * keys (from maxmemory-eviction-tenacity) and says whether to come back. */
#ifndef CAIRN_EVICT_H
#define CAIRN_EVICT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "data/policy.h"

struct keyspace;

/* Keys a new SIEVE queue enrolls per step (those it predates). */
#define EVICT_ENROLL_STEP 4096

enum evict_result {
	EVICT_OK = 0,  /* freed what was asked */
	EVICT_RUNNING, /* the budget ran out first: come back */
	EVICT_FAIL,    /* nothing this policy may evict */
};

/* The mode of a policy's field: LFU for the LFU policies, SIEVE for the
 * SIEVE ones when maxmemory is set, LRU otherwise. */
enum policy_mode evict_mode(int policy, long long maxmemory);
/* Applies maxmemory-policy, maxmemory-samples, lfu-log-factor,
 * lfu-decay-time and lazyfree-lazy-eviction to ks, starting or dropping
 * the SIEVE queue when the mode changes. */
void evict_configure(struct keyspace *ks, const struct config *cfg);
/* Deletes keys until `need` bytes of ks are freed (a big value under
 * lazyfree-lazy-eviction counts as freed when handed to the background),
 * examining at most budget keys. *freed (if not NULL) gets the bytes. */
enum evict_result evict_run(struct keyspace *ks, uint64_t need, uint64_t budget, uint64_t *freed);
/* Keys one eviction step may examine at a maxmemory-eviction-tenacity of
 * 0-100. Redis bounds a step by time (50 us per point up to 10, then 15%
 * more per point); cairn counts keys, two per Redis microsecond, so the
 * simulator replays it exactly. 100: no bound. */
uint64_t evict_budget(long long tenacity);
/* Keys the policy may evict: all of them, or those with a TTL. */
uint64_t evict_candidates(const struct keyspace *ks);
/* The timer's part: enrolls keys into a new SIEVE queue. */
void evict_cron(struct keyspace *ks);

#endif
