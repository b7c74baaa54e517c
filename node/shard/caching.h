/* caching.h: client-side caching (CLIENT TRACKING): a shard's tracking
 * clients, and the invalidations on their way to them.
 *
 * A keyspace remembers who read which key (data/tracking.h) and reports
 * each change through its hook; the hook of a shard's keyspace queues the
 * report here, on the shard whose thread runs the command (a span's
 * coordinator), with the id of the client whose command made the change
 * (NOLOOP). The queue is delivered after each request, once the request's
 * reply is written (so a client hears of its own change right after the
 * reply, as in Redis), and at the end of each step:
 *  - a key's change goes to each client that read it, on the client's
 *    shard (a client id names its shard: id % shards), as a message when
 *    that is another;
 *  - there, a client still tracking (and not BCAST; NOLOOP skips its own
 *    changes) gets `invalidate [key]`: as a RESP3 push, or through its
 *    redirection (REDIRECT id, on any shard): a push to a RESP3 client, a
 *    `message` on __redis__:invalidate to a subscribed RESP2 one. A
 *    redirection whose client is gone makes the tracking client
 *    `tracking-redir-broken` (a push under RESP3, and the flag R);
 *  - every change while a BCAST client exists goes to each shard with
 *    BCAST clients, which gathers them over its step and then sends each
 *    of its BCAST clients, per prefix it registered (in prefix order), one
 *    push with the changed keys under that prefix, sorted and each once
 *    (Redis's trackingBroadcastInvalidationMessages, once per step instead
 *    of once per event loop);
 *  - a flush sends every tracking client of the node `invalidate` with a
 *    null.
 * Messages between shards (MSG_TRACK) carry entries in one format; the
 * rings keep their order. Nothing here writes into another shard's memory.
 *
 * Memory: the queues, the prefixes and the client records are charged to
 * the shard's connection account. */
#ifndef CAIRN_SHARD_CACHING_H
#define CAIRN_SHARD_CACHING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/tracking.h"

struct cmd_arg;
struct conn;
struct conn_host;
struct conns;
struct mem;
struct pubsub;
struct xmsg;
struct xshard;

struct caching_prefix;

/* A tracking connection's redirection and BCAST prefixes (conn->trk). */
struct caching_client {
	uint64_t redirect;           /* 0: none */
	struct caching_prefix **pfx; /* sorted */
	uint32_t npfx, cap;
};

struct caching_buf {
	char *p;
	size_t len, cap;
};

struct caching {
	struct conn_host *h;
	struct conns *conns;
	struct pubsub *ps;
	struct xshard *x;
	struct mem *mem;
	unsigned self, nshards;
	struct caching_buf q;        /* reports to deliver */
	struct caching_buf bq;       /* changed keys for the BCAST clients here */
	struct caching_buf *out;     /* [nshards]: entries for each other shard */
	struct caching_prefix **pfx; /* the BCAST clients' prefixes here, sorted */
	uint32_t npfx, pfx_cap;
	/* For the other shards to read (where flushes and BCAST keys go),
	 * and INFO: the tracking clients here, and those in BCAST mode. */
	atomic_uint clients, bcast;
	atomic_uint *bcast_node; /* BCAST clients of the node (the keyspaces read it) */
};

void caching_init(struct caching *cc, struct conn_host *h, struct conns *conns, struct pubsub *ps,
		  struct xshard *x, unsigned self, unsigned nshards, atomic_uint *bcast_node);
/* Frees the queues and tables; every client must have been disabled. */
void caching_free(struct caching *cc);

/* A keyspace's report (data/tracking.h's hook), caused by client modifier
 * (0: none): queued. */
void caching_report(struct caching *cc, enum tracking_event ev, const char *key, size_t klen,
		    const uint64_t *ids, uint32_t nids, uint64_t modifier);
/* Delivers the queue: here, and to the other shards (entries for clients
 * there; flushes to those whose bit is set in with_clients, BCAST keys to
 * those set in with_bcast, bitmaps of XSHARD_WORDS words). */
void caching_flush(struct caching *cc, const uint64_t *with_clients, const uint64_t *with_bcast);
/* The end of a step: the BCAST clients here get the keys gathered. */
void caching_broadcast(struct caching *cc);
/* A MSG_TRACK from another shard: applied, then freed from the holder's
 * account. */
void caching_message(struct caching *cc, struct xmsg *m);
void caching_drop_message(struct mem *mem, struct xmsg *m);

/* CLIENT TRACKING ON: c tracks with modes (CONN_F_TRK_BCAST, _OPTIN,
 * _OPTOUT, _NOLOOP), redirecting to redirect (0: none), adding the BCAST
 * prefixes (none: the empty one). The caller checked them (Redis's
 * errors). */
void caching_enable(struct caching *cc, struct conn *c, uint64_t redirect, uint32_t modes,
		    const struct cmd_arg *const *prefixes, int nprefixes);
/* CLIENT TRACKING OFF, RESET, or the connection's end. */
void caching_disable(struct caching *cc, struct conn *c);
/* The first of c's prefixes that overlaps p (one is a prefix of the other),
 * or NULL. */
const char *caching_overlap(const struct conn *c, const char *p, size_t n, size_t *len);
/* The i-th prefix of the shard's BCAST clients, in order. */
const char *caching_table_prefix(const struct caching *cc, uint32_t i, size_t *len);
/* c's i-th prefix, in order. */
const char *caching_prefix(const struct conn *c, uint32_t i, size_t *len);

#endif
