/* waiters.h: a keyspace's blocked clients, per key (BLPOP, BLMOVE, BZPOPMIN
 * and the other blocking pops).
 *
 * Every key some client blocks on has one record here, with the FIFO of its
 * waiters: the first to block is served first (Redis's fairness). A waiter
 * names its client by shard, connection entry and generation, and by the
 * block's id, unique on the node (the client's shard keeps the blocked
 * request itself: shard/blocked.c); nothing here points at a client, since
 * the client's shard may be another.
 *
 * The keyspace reports a key that may have become poppable: a list or a
 * sorted set stored under a key with waiters (ks_set_obj: a push that
 * creates the key, LMOVE's destination, a STORE, RENAME, COPY, ...) marks
 * the key ready and puts it on the ready list, which the shard drains
 * (waiters_take_ready): data never calls up. A key already there with its
 * elements has no waiters but while an offer is out (below), so a write in
 * place needs no report. The shard offers a ready key to one waiter at a
 * time (waiters_offer: the key is "offered" to that block id) and the
 * waiter's shard answers by dropping the waiter or keeping it
 * (waiters_done), which clears the offer and marks the key ready again, so
 * the next waiter gets its turn while the key is still poppable.
 *
 * Records are charged to the keyspace's account. */
#ifndef CAIRN_WAITERS_H
#define CAIRN_WAITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct waiters_key;

/* One blocked client on one key. type is the kv_type it pops (a list or a
 * sorted set). */
struct waiter {
	uint64_t id; /* the block's id (never 0) */
	uint32_t idx, gen;
	uint16_t shard;
	uint8_t type;
};

struct waiters {
	struct waiters_key **b;     /* buckets, a power of two of them (or none) */
	uint32_t nb, n;             /* buckets, keys with waiters */
	uint64_t nwaiters;          /* waiters on every key */
	struct waiters_key **ready; /* keys marked ready, in order */
	uint32_t nready, ready_cap;
	struct mem *mem;
};

void waiters_init(struct waiters *t, struct mem *mem);
void waiters_free(struct waiters *t);

/* Adds w at the end of key's FIFO. A block waits on a key once. */
void waiters_add(struct waiters *t, const char *key, size_t klen, const struct waiter *w);
/* The block id is done with key: its waiter goes (drop; if it is there),
 * and an offer of key to it is cleared, which marks the key ready again.
 * Returns whether a waiter went. */
bool waiters_done(struct waiters *t, const char *key, size_t klen, uint64_t id, bool drop);
/* Number of waiters on key (0 if none). */
uint32_t waiters_count(const struct waiters *t, const char *key, size_t klen);

/* The keyspace's report: key now holds a value of type. Marks it ready if
 * it has waiters. */
void waiters_touch_slow(struct waiters *t, const char *key, size_t klen);
static inline void waiters_touch(struct waiters *t, const char *key, size_t klen)
{
	if (t->n > 0)
		waiters_touch_slow(t, key, klen);
}

/* Takes the next ready key (its bytes stay valid until the next call that
 * changes the table); false when none is left. *klen and *key describe it. */
bool waiters_take_ready(struct waiters *t, const char **key, size_t *klen);
/* The first waiter of key that pops type and the key not offered: offers
 * key to it (until waiters_done with its id) and copies it to *out. false:
 * no such waiter, or an offer is out. */
bool waiters_offer(struct waiters *t, const char *key, size_t klen, uint8_t type,
		   struct waiter *out);
/* The block id key is offered to, or 0. */
uint64_t waiters_offered(const struct waiters *t, const char *key, size_t klen);

/* Bytes the table holds in its account (keyspace_check). */
size_t waiters_mem(const struct waiters *t);

#endif
