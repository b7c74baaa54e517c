/* expire.h: active expiry, as Redis's slow cycle.
 *
 * Keys with a TTL are deleted when a lookup finds them expired (lazy
 * expiry, keyspace.c) and by this cycle, which the shard's timer runs: it
 * walks the keyspace's TTL index (ttl.h) from where it last stopped,
 * deleting expired entries, and goes on while more than
 * EXPIRE_STALE_PERCENT of a batch of EXPIRE_SAMPLE_PER_LOOP was stale.
 * Redis bounds a cycle by time; cairn bounds it by keys examined, so the
 * simulator replays it exactly. */
#ifndef CAIRN_EXPIRE_H
#define CAIRN_EXPIRE_H

#include <stdint.h>

struct keyspace;

/* Examines at most max_keys TTL entries and deletes the expired ones.
 * Returns keys expired (also counted in the keyspace's stats). */
uint64_t expire_cycle(struct keyspace *ks, uint64_t max_keys);

#endif
