/* expire.h: active expiry, as Redis's slow cycle.
 *
 * Keys with a TTL are deleted when a lookup finds them expired (lazy
 * expiry, keyspace.c) and by this cycle, which the shard's timer runs: it
 * draws batches of EXPIRE_SAMPLE_PER_LOOP entries at random from the
 * keyspace's TTL index (ttl.h), deleting the expired ones, and goes on
 * while more than EXPIRE_STALE_PERCENT of a batch was stale, so about that
 * share of the keys with a TTL at most is expired and not yet deleted. (A
 * cursor over the index does not work: a deletion moves the newest entry
 * into the hole, so the entries ahead of a cursor fill with fresh keys,
 * batches look live and the cycle stops while expired keys pile up.)
 * Redis bounds a cycle by time; cairn bounds it by keys examined, so the
 * simulator replays it exactly. A cycle that spends its budget while still
 * finding mostly stale keys leaves ks->expire_behind set, and its caller
 * runs more (Redis's fast cycle). */
#ifndef CAIRN_EXPIRE_H
#define CAIRN_EXPIRE_H

#include <stdint.h>

struct keyspace;

/* Examines at most max_keys TTL entries and deletes the expired ones.
 * Returns keys expired (also counted in the keyspace's stats). */
uint64_t expire_cycle(struct keyspace *ks, uint64_t max_keys);

#endif
