/* lock.h: shard locks, and spans: requests that run with several shards
 * locked.
 *
 * A request whose keys span shards, or that reads or changes every shard
 * (KEYS, DBSIZE, FLUSHALL, INFO, CONFIG SET, CLIENT LIST/KILL, ...), runs as
 * a span. The shard of its connection coordinates: it takes the lock of
 * every shard involved and its own, one at a time in ascending shard order
 * (so two spans can never wait on each other), then the unchanged handler
 * runs with direct access to the locked shards, and they are released. The
 * connection parses nothing meanwhile, so replies stay in order.
 *
 * A shard whose lock is held is frozen: its owner (shard.c) defers every
 * completion and every message but lock traffic, so the holder is the only
 * one touching its keyspace, connections and counters. Everything is
 * asynchronous (the connection waits, the thread never does), so the
 * single-threaded simulator drives it exactly as threads do.
 *
 * This module only keeps the books. It never runs a request: when a span
 * holds every lock, lock_ready() hands it to the shard, which runs it and
 * calls lock_span_done(). And it never grants by itself: the shard calls
 * lock_grant_next() when it may (its own deferred messages must run before
 * a span sees the shard, since they were sent before the lock request). */
#ifndef CAIRN_SHARD_LOCK_H
#define CAIRN_SHARD_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/mem.h"
#include "shard/xshard.h"

struct cmd;
struct cmd_arg;
struct mem;

/* A request for a shard's lock, waiting its turn. */
struct lock_req {
	uint16_t coord; /* the coordinating shard */
	uint64_t span;  /* its span */
};

struct span {
	struct span *next;
	uint64_t id;
	uint32_t conn_idx, conn_gen; /* the client (it may leave meanwhile) */
	uint8_t proto;
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv;          /* a copy (msg.h) */
	uint64_t locked[XSHARD_WORDS]; /* the shards it holds once ready */
	unsigned n, got;               /* shards to lock, and how many are held */
	uint16_t shards[];             /* ascending */
};

struct lock {
	struct xshard *x;
	/* The shard's account while it is free; its side account while it
	 * is frozen, for what the shard's own thread allocates and frees
	 * then (the messages it drains, the completions it defers), since
	 * the holder reads the main account (INFO) and may charge it. The
	 * side account joins the main one when the lock is released. */
	struct mem *mem;
	struct mem *main, side;
	unsigned self;
	bool held; /* by holder: the shard is frozen */
	struct lock_req holder;
	struct lock_req *queue; /* FIFO */
	uint32_t queue_n, queue_cap;
	struct span *spans; /* spans this shard coordinates */
	struct span *ready; /* the one holding every lock, until it is done */
	uint64_t next_span;
};

void lock_init(struct lock *lk, struct xshard *x, struct mem *mem, unsigned self);
/* Frees the spans and queued requests left at shutdown. */
void lock_free(struct lock *lk);
/* The side account joins the main one, which is the lock's again (on
 * release; and first at shutdown, which may find the shard frozen). */
void lock_fold(struct lock *lk);
/* Starts a span over the shards of mask plus this one, for the request of
 * connection (conn_idx, conn_gen); argv is copied. */
void lock_span_start(struct lock *lk, const struct cmd *cmd, const struct cmd_arg *argv, int argc,
		     const uint64_t *mask, uint32_t conn_idx, uint32_t conn_gen, uint8_t proto);
/* Handles (and frees) a message of kind MSG_LOCK, MSG_LOCKED or MSG_UNLOCK. */
void lock_message(struct lock *lk, struct xmsg *m);
/* Grants the lock to the next request in line, if it is free. */
void lock_grant_next(struct lock *lk);
/* The span that holds every lock it needs, or NULL. */
struct span *lock_ready(const struct lock *lk);
/* The ready span has run: releases its locks and frees it. */
void lock_span_done(struct lock *lk, struct span *sp);
/* Whether the shard is frozen (its lock is held). */
static inline bool lock_held(const struct lock *lk)
{
	return lk->held;
}
/* Whether nothing is under way: lock free, no request queued, no span. */
bool lock_quiet(const struct lock *lk);
/* Frees a lock message (at shutdown). */
void lock_drop(struct lock *lk, struct xmsg *m);

#endif
