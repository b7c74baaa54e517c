/* policy.c: see policy.h. The LFU arithmetic is Redis's (evict.c). */
#include "data/policy.h"

#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/mem.h"

void policy_init(struct policy *p, struct mem *mem, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	p->seed = seed;
	p->samples = 5;
	p->lfu_log_factor = 10;
	p->lfu_decay_time = 1;
}

void policy_clear(struct policy *p)
{
	uint32_t i;

	for (i = 0; i < POLICY_POOL_SIZE; i++) {
		mem_free(p->mem, p->pool[i].key);
		memset(&p->pool[i], 0, sizeof(p->pool[i]));
	}
	for (i = 0; i < p->nchunks; i++)
		mem_free(p->mem, p->chunk[i]);
	mem_free(p->mem, p->chunk);
	p->chunk = NULL;
	p->nchunks = p->chunk_cap = 0;
	p->n = p->r = p->w = 0;
	p->passes = 0;
	p->enrolling = false;
	p->enroll_cursor = 0;
}

/* ---- LFU ---- */

static unsigned long lfu_minutes(int64_t now_ms)
{
	return (unsigned long)(now_ms / 60000) & 65535;
}

unsigned policy_lfu_freq(const struct policy *p, const struct kv *e, int64_t now_ms)
{
	unsigned long ldt = e->lru >> 8, now = lfu_minutes(now_ms), elapsed, periods;
	unsigned counter = e->lru & 255;

	elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
	periods = p->lfu_decay_time > 0 ? elapsed / (unsigned long)p->lfu_decay_time : 0;
	if (periods > 0)
		counter = periods > counter ? 0 : counter - (unsigned)periods;
	return counter;
}

void policy_touch_lfu(const struct policy *p, struct kv *e, int64_t now_ms, uint64_t rnd)
{
	unsigned counter = policy_lfu_freq(p, e, now_ms);

	if (counter < 255) {
		double r = (double)(rnd >> 11) / (double)(1ull << 53);
		double base = counter > POLICY_LFU_INIT ? counter - POLICY_LFU_INIT : 0;
		if (r < 1.0 / (base * (double)p->lfu_log_factor + 1))
			counter++;
	}
	e->lru = (uint32_t)((lfu_minutes(now_ms) << 8) | counter) & KV_LRU_MAX;
}

/* ---- the SIEVE queue ---- */

void sieve_append(struct policy *p, struct kv *e)
{
	uint32_t tag, hash;

	if (p->n == (uint64_t)p->nchunks * POLICY_CHUNK_SLOTS) {
		if (p->nchunks == p->chunk_cap) {
			p->chunk_cap = p->chunk_cap ? p->chunk_cap * 2 : 4;
			p->chunk = mem_realloc(p->mem, p->chunk, p->chunk_cap * sizeof(*p->chunk));
		}
		p->chunk[p->nchunks++] = mem_alloc(p->mem,
						   POLICY_CHUNK_SLOTS * sizeof(struct sieve_slot));
	}
	tag = p->next_tag++ & SIEVE_TAG_MASK;
	/* Entries keep 8 bits of their hash: the slot needs all 32. */
	hash = (uint32_t)hash_bytes(kv_key(e), kv_klen(e), p->seed);
	*sieve_slot(p, p->n) = (struct sieve_slot){ hash, tag };
	p->n++;
	if (kv_has_ttl(e) || p->policy != POLICY_VOLATILE_SIEVE)
		p->passes = 0; /* a new candidate */
	e->lru = tag;
}

void sieve_release_gap(struct policy *p)
{
	uint64_t c0 = (p->w + POLICY_CHUNK_SLOTS - 1) / POLICY_CHUNK_SLOTS;
	uint64_t c1 = p->r / POLICY_CHUNK_SLOTS, k, drop;

	if (c1 <= c0)
		return;
	drop = c1 - c0;
	for (k = c0; k < c1; k++)
		mem_free(p->mem, p->chunk[k]);
	memmove(&p->chunk[c0], &p->chunk[c1], (p->nchunks - c1) * sizeof(*p->chunk));
	p->nchunks -= (uint32_t)drop;
	p->r -= drop * POLICY_CHUNK_SLOTS;
	p->n -= drop * POLICY_CHUNK_SLOTS;
	ASSERT(p->w <= p->r && p->r <= p->n);
}

void sieve_wrap(struct policy *p)
{
	uint64_t keep;

	ASSERT(p->r == p->n);
	ASSERT(p->w <= p->r);
	p->n = p->w;
	p->r = p->w = 0;
	/* One spare chunk past the queue, so a queue at a chunk's edge does
	 * not allocate and free on every pass. */
	keep = (p->n + POLICY_CHUNK_SLOTS - 1) / POLICY_CHUNK_SLOTS + 1;
	while (p->nchunks > keep)
		mem_free(p->mem, p->chunk[--p->nchunks]);
	if (p->nchunks == 0) {
		mem_free(p->mem, p->chunk);
		p->chunk = NULL;
		p->chunk_cap = 0;
	}
}

bool policy_restore(const struct policy *p, struct kv *e, int64_t now_ms, long long freq,
		    long long idle_s)
{
	long long at;

	if (p->mode == POLICY_MODE_LFU && freq >= 0) {
		ASSERT(freq <= 255);
		e->lru = (uint32_t)((lfu_minutes(now_ms) << 8) | (unsigned long)freq) & KV_LRU_MAX;
		return true;
	}
	if (p->mode != POLICY_MODE_LRU || idle_s < 0)
		return false;
	/* Redis: the clock minus the idle time, plus LRU_CLOCK_MAX when that
	 * is negative, kept to the field's 24 bits. */
	at = (long long)policy_lru_clock(now_ms) - idle_s;
	if (at < 0)
		at += KV_LRU_MAX;
	e->lru = (uint32_t)((unsigned long long)at & KV_LRU_MAX);
	return true;
}

/* ---- every mode ---- */

void policy_placed(struct policy *p, struct kv *e, const struct kv *old, int64_t now_ms)
{
	switch (p->mode) {
	case POLICY_MODE_LRU: e->lru = policy_lru_clock(now_ms); break;
	case POLICY_MODE_LFU:
		e->lru = old != NULL ? old->lru
				     : (uint32_t)((lfu_minutes(now_ms) << 8) | POLICY_LFU_INIT);
		break;
	case POLICY_MODE_SIEVE:
		if (old != NULL)
			e->lru = (old->lru & SIEVE_TAG_MASK) | SIEVE_VISITED;
		else
			sieve_append(p, e);
		break;
	}
}

size_t policy_mem(const struct policy *p)
{
	size_t n = mem_size(p->chunk);
	uint32_t i;

	for (i = 0; i < p->nchunks; i++)
		n += mem_size(p->chunk[i]);
	for (i = 0; i < POLICY_POOL_SIZE; i++)
		n += mem_size(p->pool[i].key);
	return n;
}
