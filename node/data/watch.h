/* watch.h: a keyspace's watched keys (WATCH), and when each last changed.
 *
 * Every key some client watches has one record here, counted by its
 * watchers (WATCH adds one, UNWATCH, EXEC, DISCARD or the client leaving
 * drops it). The table keeps a sequence number that grows with every change
 * to a watched key; a record holds the number of its key's latest change.
 * A client remembers the sequence number at the time it watched the key,
 * and its transaction fails if the key's record is newer (Redis's
 * touchWatchedKey, without a list of clients per key: the client's shard
 * may be another, so nothing here points at a client). A record keeps two
 * numbers: the latest change that left the key there, and the latest that
 * deleted it; a deletion is no change for a client that watched the key
 * when it had already expired (Redis clears such a watcher's "expired"
 * flag instead).
 *
 * The keyspace reports changes: those it makes by key (set, delete,
 * rename, expire, flush, edit) directly, and in-place changes of a value
 * through candidates: a watched key looked up for writing is noted, and
 * noted keys count as changed if the keyspace changes before the command
 * ends (cmd_run forgets them then). Records are charged to the keyspace's
 * account. */
#ifndef CAIRN_WATCH_H
#define CAIRN_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct watch_key;

struct watch {
	struct watch_key **b; /* buckets, a power of two of them (or none) */
	uint32_t nb, n;
	uint64_t seq;            /* the latest change's number */
	struct watch_key **cand; /* watched keys looked up for writing */
	uint32_t ncand, cand_cap;
	struct mem *mem;
};

void watch_init(struct watch *w, struct mem *mem);
void watch_free(struct watch *w);

/* A watcher more for key; returns the sequence number to compare with
 * (watch_changed) later. */
uint64_t watch_add(struct watch *w, const char *key, size_t klen);
/* One watcher less; the record goes with its last watcher. */
void watch_drop(struct watch *w, const char *key, size_t klen);
/* Whether key changed after since (a number watch_add returned), for a
 * client that watched it already expired (expired) or not. The key must be
 * watched. */
bool watch_changed(const struct watch *w, const char *key, size_t klen, uint64_t since,
		   bool expired);

/* The keyspace's reports. watch_touch: key changed (gone: it was
 * deleted, by any means). watch_note: key was
 * looked up for writing. watch_touch_noted: the keyspace changed, so the
 * noted keys did. watch_cmd_done: a command ended. */
void watch_touch_slow(struct watch *w, const char *key, size_t klen, bool gone);
void watch_note_slow(struct watch *w, const char *key, size_t klen);
void watch_touch_noted(struct watch *w);

static inline void watch_touch(struct watch *w, const char *key, size_t klen)
{
	if (w->n > 0)
		watch_touch_slow(w, key, klen, false);
}

static inline void watch_touch_gone(struct watch *w, const char *key, size_t klen)
{
	if (w->n > 0)
		watch_touch_slow(w, key, klen, true);
}

static inline void watch_note(struct watch *w, const char *key, size_t klen)
{
	if (w->n > 0)
		watch_note_slow(w, key, klen);
}

static inline void watch_cmd_done(struct watch *w)
{
	w->ncand = 0;
}

/* Bytes the table holds in its account (keyspace_check). */
size_t watch_mem(const struct watch *w);

/* Calls fn for each watched key (FLUSHALL touches those that exist). */
void watch_each(struct watch *w, void (*fn)(void *arg, const char *key, size_t klen), void *arg);

#endif
