/* tracking.h: a keyspace's tracked keys (client-side caching, CLIENT
 * TRACKING), and its reports of the changes their clients must hear of.
 *
 * A client that tracks reads (not BCAST) has each key of its read-only
 * commands remembered here, in the keyspace that holds the key: the key,
 * and the ids of its clients (sorted, each once). When the key changes
 * (any write, expiry, eviction; the keyspace reports it as it reports a
 * change to a watched key), its record goes: the hook gets the key and
 * its clients' ids, once, and the clients must read the key again to hear
 * of the next change (Redis's TrackingTable). While some client of the
 * node tracks in BCAST mode (*bcast, the node's count), every change is
 * reported, tracked or not, for the prefixes to match. A flush reports
 * itself once and forgets every record.
 *
 * In-place changes of a value report through candidates, as watch.h
 * does: a key looked up for writing is noted (its bytes copied), and the
 * noted keys count as changed if the keyspace changes before the command
 * ends.
 *
 * The table holds at most max_keys keys (0: no bound; this keyspace's
 * share of tracking-table-max-keys): remembering one more first makes an
 * older one go, reported to its clients as a change (Redis's
 * trackingLimitUsedSlots, which picks at random; here, in table order from
 * a cursor). Records are charged to the keyspace's account. Nothing here
 * knows a client beyond its id: its shard may be another. */
#ifndef CAIRN_DATA_TRACKING_H
#define CAIRN_DATA_TRACKING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct tracking_key;

/* What the hook reports. */
enum tracking_event {
	TRACKING_KEY,   /* key changed: ids are the clients that tracked it */
	TRACKING_BCAST, /* key changed (no ids): for the BCAST clients */
	TRACKING_FLUSH, /* every key went (no key, no ids) */
};

struct tracking {
	struct tracking_key **b;  /* buckets, a power of two of them (or none) */
	uint32_t nb, n;           /* buckets, keys */
	uint64_t items;           /* (key, client) pairs */
	uint64_t max_keys;        /* 0: no bound */
	uint32_t cursor;          /* the bucket the bound takes its next key from */
	const atomic_uint *bcast; /* the node's BCAST clients (never NULL) */
	char *cand;               /* noted keys: length (4 bytes), bytes */
	size_t cand_len, cand_cap;
	struct mem *mem;
	void (*hook)(void *arg, enum tracking_event ev, const char *key, size_t klen,
		     const uint64_t *ids, uint32_t nids);
	void *hook_arg;
};

/* An empty table; until the owner sets bcast and the hook, nothing is
 * reported (the hook is a no-op and no client tracks in BCAST mode). */
void tracking_init(struct tracking *t, struct mem *mem);
void tracking_free(struct tracking *t);
/* Reports nothing from now on (the keyspace's end). */
void tracking_unhook(struct tracking *t);

/* Remembers that client id read key. */
void tracking_remember(struct tracking *t, const char *key, size_t klen, uint64_t id);

/* The keyspace's reports (as watch.h's): key changed; key was looked up
 * for writing; the keyspace changed, so the noted keys did; a command
 * ended; every key went. */
void tracking_touch_slow(struct tracking *t, const char *key, size_t klen);
void tracking_note_slow(struct tracking *t, const char *key, size_t klen);
void tracking_touch_noted(struct tracking *t);
void tracking_flushed(struct tracking *t);

static inline bool tracking_active(const struct tracking *t)
{
	return t->n > 0 || atomic_load_explicit(t->bcast, memory_order_relaxed) > 0;
}

static inline void tracking_touch(struct tracking *t, const char *key, size_t klen)
{
	if (__builtin_expect(tracking_active(t), 0))
		tracking_touch_slow(t, key, klen);
}

static inline void tracking_note(struct tracking *t, const char *key, size_t klen)
{
	if (__builtin_expect(tracking_active(t), 0))
		tracking_note_slow(t, key, klen);
}

static inline void tracking_cmd_done(struct tracking *t)
{
	t->cand_len = 0;
}

/* Makes keys go, reported, until at most max_keys remain (a lower
 * tracking-table-max-keys). */
void tracking_trim(struct tracking *t);

/* Bytes the table holds in its account (keyspace_check). */
size_t tracking_mem(const struct tracking *t);

#endif
