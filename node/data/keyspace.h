/* keyspace.h: one shard's keys and values: lookup, set, delete.
 *
 * The keyspace owns its entries (struct kv, kv.h), the hash table (dict.h),
 * the index of keys with a TTL (ttl.h) and the tables of a flush being
 * freed in the background (lazyfree.h). Values are typed: strings live in
 * the entry (t_string.h), every other type is an object managed through its
 * hooks (object.h). Every lookup and write keeps the eviction policy's
 * field of the entry (policy.h); evict.h evicts. All of its memory is
 * charged to ks->mem and nothing else
 * is, so ks_check() (keyspace_check.h) can verify the account exactly. Active expiry is
 * expire.h's.
 *
 * Time: the caller sets ks->now_ms (wall clock, ms) before each command;
 * the keyspace never reads a clock. A key expires when now_ms > expire, as in
 * Redis.
 *
 * Entry pointers returned by lookups stay valid until the next call that
 * modifies the keyspace; functions that may move an entry return its new
 * address. */
#ifndef CAIRN_KEYSPACE_H
#define CAIRN_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"
#include "base/slab.h"
#include "data/dict.h"
#include "data/kv.h"
#include "data/lazyfree.h"
#include "data/object.h"
#include "data/policy.h"
#include "data/t_string.h"
#include "data/tracking.h"
#include "data/ttl.h"
#include "data/waiters.h"
#include "data/watch.h"

struct latmon;
struct stats;
struct val;

/* Expire argument of ks_set. */
#define KS_TTL_NONE (-1) /* the key has no TTL afterwards */
#define KS_TTL_KEEP (-2) /* an existing key keeps its TTL */

struct keyspace {
	struct dict d;
	struct ttl_index ttl; /* entries with a TTL */
	struct mem mem;
	struct stats *st;
	const struct kv_type_ops *const *types; /* kv_types, or a test's */
	uint64_t seed;
	int64_t now_ms;
	uint64_t dirty;     /* changes, for rdb_changes_since_last_save */
	bool expire_behind; /* the last active expiry cycle fell behind (expire.h) */
	uint64_t (*rnd)(void *arg);
	void *rnd_arg;
	struct lazyfree lazy; /* entries being freed in the background */
	/* The latency monitor's "expire-del" and "eviction-del" (Redis's
	 * deleteExpiredKeyAndPropagate and performEvictions time each
	 * deletion): the shard's clock (now_ns(arg)) and monitor, and its
	 * latency-monitor-threshold (0: off, and no deletion is timed). */
	struct ks_latency {
		uint64_t (*now_ns)(const void *arg);
		const void *arg;
		struct latmon *mon;
		uint64_t threshold_ms;
	} lat;
	struct policy pol;      /* eviction state: the mode, the pool, the queue */
	struct slab slab;       /* entries of up to SLAB_MAX bytes (bigger: mem) */
	struct watch watch;     /* keys clients WATCH, and when each last changed */
	struct tracking trk;    /* keys clients cache (CLIENT TRACKING) */
	struct waiters waiters; /* keys clients block on (BLPOP, ...), and those made ready */
	bool no_touch;          /* while a CLIENT NO-TOUCH client's command runs */
	/* Keyspace notifications: the classes to report (notify-keyspace-
	 * events' CONFIG_NOTIFY_* bits, 0 when nothing is published), and
	 * the hook that takes each event (its shard queues it). */
	unsigned notify_flags;
	void (*notify)(void *arg, const char *event, const char *key, size_t klen);
	void *notify_arg;
};

/* Reports a keyspace event of class type (CONFIG_NOTIFY_*) on key, as
 * Redis's notifyKeyspaceEvent: only when the configured classes include
 * it. */
static inline void ks_notify(struct keyspace *ks, unsigned type, const char *event, const char *key,
			     size_t klen)
{
	if (__builtin_expect((ks->notify_flags & type) != 0, 0))
		ks->notify(ks->notify_arg, event, key, klen);
}

/* A command changed n things in the keyspace in place (a value it looked
 * up for writing): counts them, and the watched keys it looked up so
 * changed (watch.h). Changes the keyspace makes by key report themselves. */
static inline void ks_changed(struct keyspace *ks, uint64_t n)
{
	ks->dirty += n;
	if (n > 0 && ks->watch.ncand > 0)
		watch_touch_noted(&ks->watch);
	if (n > 0 && ks->trk.cand_len > 0)
		tracking_touch_noted(&ks->trk);
}

/* key changed (gone: it was deleted, by any means): for its watchers and
 * the clients that cache it. */
static inline void ks_touched(struct keyspace *ks, const char *key, size_t klen, bool gone)
{
	if (gone)
		watch_touch_gone(&ks->watch, key, klen);
	else
		watch_touch(&ks->watch, key, klen);
	tracking_touch(&ks->trk, key, klen);
}

/* The keys in hash slot slot, at most max of them: fn is called for each
 * (CLUSTER COUNTKEYSINSLOT, GETKEYSINSLOT); returns how many. Walks the
 * whole table (no index of keys by slot). Expired keys not yet deleted
 * count, as in Redis. */
uint64_t ks_slot_keys(const struct keyspace *ks, unsigned slot, uint64_t max,
		      void (*fn)(void *arg, const struct kv *e), void *arg);

/* Sets up an empty keyspace with the node's types (kv_types). rnd is its
 * random source (RANDOMKEY, SCAN-like sampling). */
void ks_init(struct keyspace *ks, struct stats *st, uint64_t seed, uint64_t (*rnd)(void *),
	     void *rnd_arg);
void ks_free(struct keyspace *ks);
/* Replaces the table of types (before any key is stored): a test's table
 * may hold a type the node does not implement yet. */
void ks_use_types(struct keyspace *ks, const struct kv_type_ops *const *types);
uint64_t ks_size(const struct keyspace *ks);
uint32_t ks_hash(const struct keyspace *ks, const char *key, size_t klen);

/* Lookup with lazy expiry. _read counts keyspace hits and misses and, with
 * _write, updates the LRU clock; _peek does neither (OBJECT, TTL-like
 * introspection that Redis does with LOOKUP_NOTOUCH). Any type is found:
 * the caller checks e->type (cmd.h's typed lookups do). */
struct kv *ks_lookup_read(struct keyspace *ks, const char *key, size_t klen);
struct kv *ks_lookup_write(struct keyspace *ks, const char *key, size_t klen);
struct kv *ks_peek(struct keyspace *ks, const char *key, size_t klen);
/* Times a deletion for the latency monitor (ks->lat): the start (0 when
 * off), then the end, which records event (enum latmon_event) if it took
 * the threshold or more. */
uint64_t ks_lat_start(const struct keyspace *ks);
void ks_lat_end(struct keyspace *ks, int event, uint64_t t0);
/* Deletes an expired entry, timed as "expire-del". */
void ks_delete_expired(struct keyspace *ks, struct kv *e);
/* True when the entry's TTL has passed (it is still there until deleted). */
bool ks_expired(const struct keyspace *ks, const struct kv *e);
/* Whether key is there and not past its TTL; deletes nothing (cluster
 * routing's LOOKUP_NOEXPIRE). */
bool ks_peek_live(struct keyspace *ks, const char *key, size_t klen);
/* Whether key is there with its TTL passed; deletes nothing (WATCH). */
bool ks_is_expired(struct keyspace *ks, const char *key, size_t klen);

/* Creates or replaces key's value (of any type) with the string v.
 * expire_ms is an absolute time, or KS_TTL_NONE or KS_TTL_KEEP. Returns the
 * entry. */
struct kv *ks_set(struct keyspace *ks, const char *key, size_t klen, const struct kval *v,
		  int64_t expire_ms);
/* Creates or replaces key's value with obj, an object of type (not
 * KV_STRING) in the type's encoding enc, allocated from ks->mem, which the
 * keyspace now owns. */
struct kv *ks_set_obj(struct keyspace *ks, const char *key, size_t klen, enum kv_type type,
		      unsigned enc, void *obj, int64_t expire_ms);
/* Deletes key; returns true if it existed (and had not expired). */
bool ks_delete(struct keyspace *ks, const char *key, size_t klen);
/* Deletes key even when its TTL has passed, as Redis's dbDelete does (an
 * empty STORE result): true if an entry was there. */
bool ks_delete_stale(struct keyspace *ks, const char *key, size_t klen);
/* ks_delete, but a big value (obj_free_later) is freed in the background
 * (ks_lazy_step) after its key is gone: UNLINK. */
bool ks_unlink(struct keyspace *ks, const char *key, size_t klen);
/* Deletes an entry found by a lookup. */
void ks_delete_entry(struct keyspace *ks, struct kv *e);

/* Makes a string value raw bytes of length newlen, keeping the first
 * min(old, newlen) bytes and zero-filling growth, and returns a pointer to
 * write them. A big value that a reply still references is copied first.
 * The entry may move: *ep is updated. */
char *ks_edit(struct keyspace *ks, struct kv **ep, size_t newlen);

/* TTL. ks_set_expire may move the entry and returns it. */
struct kv *ks_set_expire(struct keyspace *ks, struct kv *e, int64_t when_ms);
struct kv *ks_persist(struct keyspace *ks, struct kv *e);

/* Moves src's entry (in ks) to key dst of dks (the same keyspace, or
 * another shard's), replacing dst. Keeps value and TTL. */
void ks_rename(struct keyspace *ks, struct kv *src, struct keyspace *dks, const char *dst,
	       size_t dlen);
/* Copies e's value and TTL (e may belong to another keyspace) to key dst of
 * ks, replacing it. */
void ks_copy(struct keyspace *ks, const struct kv *e, const char *dst, size_t dlen);

/* Empties the keyspace. async hands the old entries to the background free
 * (ks_lazy_step). */
void ks_flush(struct keyspace *ks, bool async);
/* Spends up to n units of background freeing (an async flush's entries,
 * unlinked values); returns true while work remains. */
bool ks_lazy_step(struct keyspace *ks, unsigned n);
/* Housekeeping from the timer: rehash steps and shrinking. */
void ks_cron(struct keyspace *ks, unsigned rehash_steps);

/* A random number from the keyspace's source (the shard's backend). */
uint64_t ks_random_u64(struct keyspace *ks);
/* A random key that has not expired, or NULL (RANDOMKEY). */
struct kv *ks_random(struct keyspace *ks);
/* Scans one step; see dict_scan. */
uint64_t ks_scan(struct keyspace *ks, uint64_t cursor, dict_scan_fn fn, void *arg);

/* LRU clock in seconds (24 bits), and idle time of an entry in ms. */
uint32_t ks_lru_clock(const struct keyspace *ks);
uint64_t ks_idle_ms(const struct keyspace *ks, const struct kv *e);
/* Bytes charged for this entry (entry, value outside it, TTL slot, bucket). */
size_t ks_entry_mem(const struct keyspace *ks, const struct kv *e);
/* TYPE's and OBJECT ENCODING's names, and OBJECT REFCOUNT, for e. */
const char *ks_type_name(const struct keyspace *ks, const struct kv *e);
const char *ks_encoding_name(const struct keyspace *ks, const struct kv *e);
long long ks_refcount(const struct kv *e);

#endif
