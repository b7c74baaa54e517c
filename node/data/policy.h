/* policy.h: the eviction policy's state in each entry and in its keyspace.
 *
 * Every entry keeps 24 bits of policy state in kv.lru, read one of three
 * ways (the mode), as Redis reads its robj.lru:
 *   - LRU: the LRU clock in seconds when the key was last touched (every
 *     policy but the LFU and SIEVE ones, and the SIEVE ones while maxmemory
 *     is 0, so OBJECT IDLETIME works on a node that is not a cache);
 *   - LFU: Redis's 16-bit minute of the last decay and its 8-bit
 *     logarithmic counter (lfu-log-factor, lfu-decay-time);
 *   - SIEVE: a visited bit and a 23-bit tag that ties the entry to its
 *     place in the SIEVE queue.
 * Switching mode at run time reinterprets the bits, as in Redis: the
 * ordering is rough until keys are touched again.
 *
 * The SIEVE queue (evict.h says how the hand uses it) holds one (hash, tag)
 * slot of 8 bytes per key, in insertion order, in chunks of
 * POLICY_CHUNK_SLOTS: not entry pointers, so an entry may move (realloc) or
 * go (DEL, expiry, flush) without telling the queue; a slot whose entry is
 * gone is dropped when the hand reaches it. The tag tells a key apart from
 * a later key of the same name (deleted and set again), whose own slot is
 * newer. The queue exists only in SIEVE mode and is charged to the
 * keyspace's account.
 *
 * This module knows entries and memory, not the keyspace: the keyspace
 * calls its hooks, and evict.c (above the keyspace) drives eviction. */
#ifndef CAIRN_POLICY_H
#define CAIRN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kv.h"

struct mem;

#define POLICY_POOL_SIZE 16
/* Redis's LFU_INIT_VAL: a new key's counter, so it is not evicted at once. */
#define POLICY_LFU_INIT 5
#define POLICY_CHUNK_SLOTS 4096
#define SIEVE_VISITED (1u << (KV_LRU_BITS - 1))
#define SIEVE_TAG_MASK (SIEVE_VISITED - 1)

enum policy_mode { POLICY_MODE_LRU = 0, POLICY_MODE_LFU, POLICY_MODE_SIEVE };

/* A sampled candidate kept between evictions (Redis's eviction pool). */
struct policy_cand {
	uint64_t score; /* higher goes first */
	uint32_t hash;
	uint32_t klen;
	char *key; /* a copy, charged; NULL when the slot is free */
};

struct sieve_slot {
	uint32_t hash;
	uint32_t tag;
};

struct policy {
	enum policy_mode mode;
	int policy; /* enum config_policy */
	unsigned samples;
	long long lfu_log_factor, lfu_decay_time;
	bool lazy; /* lazyfree-lazy-eviction */
	struct policy_cand pool[POLICY_POOL_SIZE];
	/* The SIEVE queue. [0, w): kept this pass; [w, r): dropped; [r, n):
	 * not yet seen by the hand. */
	struct sieve_slot **chunk;
	uint32_t nchunks, chunk_cap;
	uint64_t n, r, w;
	/* Passes of the hand since its last victim: after two (the first
	 * clears every bit) there is no key it may evict, until a new
	 * candidate joins (policy_ttl_added, sieve_append). */
	unsigned passes;
	uint32_t next_tag;
	bool enrolling; /* a scan is enrolling the keys the queue predates */
	uint64_t enroll_cursor;
	struct mem *mem;
	uint64_t seed; /* the keyspace's, of the queue's hashes */
};

/* seed is the keyspace's hash seed (ks_hash). */
void policy_init(struct policy *p, struct mem *mem, uint64_t seed);
/* Forgets the pool and the queue, freeing their memory. */
void policy_clear(struct policy *p);

/* The field of a key just placed: new (old NULL), or replacing old's value
 * (it keeps old's place in the queue and LFU counter, as Redis's overwrite
 * keeps the LFU counter). In SIEVE mode a new key joins the queue. now_ms is
 * the keyspace's time. */
void policy_placed(struct policy *p, struct kv *e, const struct kv *old, int64_t now_ms);
/* LFU: a touch, with a random number in [0, 2^53) for the log increment. */
void policy_touch_lfu(const struct policy *p, struct kv *e, int64_t now_ms, uint64_t rnd);
/* The LRU clock in seconds, 24 bits. */
static inline uint32_t policy_lru_clock(int64_t now_ms)
{
	return (uint32_t)((uint64_t)(now_ms / 1000) & KV_LRU_MAX);
}
/* A read or write of e: the LRU clock, or the visited bit. In LFU mode it
 * does nothing and returns true: the caller then calls policy_touch_lfu()
 * with a random number, which the keyspace draws only when needed. */
static inline bool policy_touch(const struct policy *p, struct kv *e, int64_t now_ms)
{
	if (p->mode == POLICY_MODE_LRU)
		e->lru = policy_lru_clock(now_ms);
	else if (p->mode == POLICY_MODE_SIEVE)
		e->lru |= SIEVE_VISITED;
	else
		return true;
	return false;
}

/* RESTORE's IDLETIME and FREQ (Redis's objectSetLRUOrLFU): in LFU mode
 * a freq >= 0 (<= 255) becomes the counter, as of now; in LRU mode an
 * idle_s >= 0 sets the clock that many seconds back (wrapping as Redis's
 * 24-bit clock does), so OBJECT IDLETIME answers idle_s. The other is
 * ignored (-1: not given), as in Redis; SIEVE mode keeps no age or
 * count, so both are ignored there. Returns whether e changed. */
bool policy_restore(const struct policy *p, struct kv *e, int64_t now_ms, long long freq,
		    long long idle_s);
/* OBJECT FREQ: the LFU counter after decay. */
unsigned policy_lfu_freq(const struct policy *p, const struct kv *e, int64_t now_ms);
/* A key gained a TTL: volatile-sieve looks again. */
static inline void policy_ttl_added(struct policy *p)
{
	p->passes = 0;
}
/* Appends e to the SIEVE queue with a new tag. */
void sieve_append(struct policy *p, struct kv *e);
/* The queue's slot i (< p->n). */
static inline struct sieve_slot *sieve_slot(const struct policy *p, uint64_t i)
{
	return &p->chunk[i / POLICY_CHUNK_SLOTS][i % POLICY_CHUNK_SLOTS];
}
/* Frees the chunks wholly inside the dropped slots behind the hand, [w, r),
 * moving the slots after them down: the queue never holds more than a
 * chunk of dropped slots, even while new keys keep the hand from wrapping
 * (a pass ends only when the hand reaches the newest key). */
void sieve_release_gap(struct policy *p);
/* The hand wrapped: the kept slots are the queue; spare chunks are freed. */
void sieve_wrap(struct policy *p);
/* Bytes of the queue's chunks and table and of the pool's keys. */
size_t policy_mem(const struct policy *p);

#endif
