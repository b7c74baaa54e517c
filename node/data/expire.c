/* expire.c: see expire.h. */
#include "data/expire.h"

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/stats.h"
#include "data/keyspace.h"

/* One batch: deletes the expired among batch entries drawn at random from
 * the TTL index. Returns how many were stale; *examined grows by what it
 * saw. */
static uint32_t expire_batch(struct keyspace *ks, uint32_t batch, uint64_t *examined)
{
	struct ttl_index *t = &ks->ttl;
	uint32_t stale = 0, i;

	for (i = 0; i < batch && t->n > 0; i++) {
		struct kv *e = ttl_at(t, (uint32_t)(ks_random_u64(ks) % t->n));
		(*examined)++;
		if (ks_expired(ks, e)) {
			ks_delete_expired(ks, e);
			stale++;
		}
	}
	return stale;
}

uint64_t expire_cycle(struct keyspace *ks, uint64_t max_keys)
{
	uint64_t examined = 0, expired = 0;

	while (examined < max_keys && ks->ttl.n > 0) {
		uint32_t batch = ks->ttl.n < EXPIRE_SAMPLE_PER_LOOP ? ks->ttl.n
								    : EXPIRE_SAMPLE_PER_LOOP;
		uint32_t stale;
		/* The last batch stops at the budget. */
		if (batch > max_keys - examined)
			batch = (uint32_t)(max_keys - examined);
		ASSERT(batch > 0);
		stale = expire_batch(ks, batch, &examined);
		expired += stale;
		ks->st->expired_stale_perc_x100 = (uint64_t)stale * 10000 / batch;
		if (stale * 100 <= (uint32_t)EXPIRE_STALE_PERCENT * batch)
			break;
	}
	/* Behind: the budget ran out while the last batch was still mostly
	 * stale. */
	ks->expire_behind = examined >= max_keys && ks->ttl.n > 0 &&
			    ks->st->expired_stale_perc_x100 > (uint64_t)EXPIRE_STALE_PERCENT * 100;
	if (examined >= max_keys)
		ks->st->expired_time_cap_reached++;
	ks->st->expired_keys += expired;
	return expired;
}
