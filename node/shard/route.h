/* route.h: running commands across shards.
 *
 * Every request is parsed and checked on the shard that owns its connection.
 * Then:
 *  - local: all its keys (if any) live here, or it needs nothing else;
 *  - forwarded: all its keys live on one other shard. The request (arguments
 *    copied, big values by reference) goes there over the ring, runs there,
 *    and its reply bytes come back and fill a placeholder (HOLD) in the
 *    connection's output, so pipelined replies keep their order and the
 *    connection goes on parsing meanwhile;
 *  - a transaction: its keys span shards, or it reads or changes every shard
 *    (KEYS, DBSIZE, FLUSHALL, INFO, CONFIG SET, CLIENT LIST/KILL, ...). The
 *    connection's shard coordinates: it takes the locks of every shard
 *    involved and its own, one at a time in ascending shard order (so two
 *    transactions can never wait on each other), then runs the unchanged
 *    handler with direct access to the locked shards, and releases them.
 *    The connection stops parsing until then, so replies stay in order.
 *
 * A locked shard is frozen: it defers every completion and every message
 * except lock traffic, so its holder is the only one touching its keyspace,
 * connections and counters. Everything is asynchronous (the connection
 * waits, the thread does not), so the single-threaded simulator can drive
 * it exactly as threads do. */
#ifndef CAIRN_ROUTE_H
#define CAIRN_ROUTE_H

#include <stdbool.h>

struct cmd_ctx;
struct io_cqe;
struct shard;
struct xmsg;

/* Decides where a checked request runs. Returns true if it was handed off
 * (forwarded, or a transaction started): the caller must not run it. */
bool route_request(struct cmd_ctx *c);
/* Handles one message drained from the rings. */
void route_message(struct shard *sh, struct xmsg *m);
/* Whether the shard is frozen (its lock is held). */
bool route_frozen(const struct shard *sh);
/* Whether nothing of sh's is between shards: no message in its rings or
 * backlogs, none deferred, no lock held or asked for, no transaction it
 * coordinates. When every shard is quiet, every forwarded request has run. */
bool route_quiet(const struct shard *sh);
/* Keeps a completion for later, while frozen. */
void route_defer_cqe(struct shard *sh, const struct io_cqe *cqe);
/* Runs what was deferred (completions, messages, connections to resume),
 * in order, until done or frozen again. Returns true if it did anything. */
bool route_run_deferred(struct shard *sh);
/* Frees what a shard still holds at shutdown (deferred work, transactions,
 * queued lock requests). */
void route_free(struct shard *sh);

#endif
