/* txn.h: a connection's transaction (MULTI ... EXEC) and the keys it
 * watches (WATCH).
 *
 * Between MULTI and EXEC a connection queues its commands, each with a copy
 * of its arguments (msg.h's packing: big values referenced). EXEC runs them
 * all at once, holding every shard that any of them, or any watched key,
 * lives on (exec.h), so no other client sees the transaction half done, on
 * any shard. A watched key lives in its shard's keyspace (data/watch.h);
 * the connection keeps, per key, the shard, the change number at the time
 * of WATCH and whether the key had already expired then. Dropping a watch
 * on another shard goes there as a message (MSG_UNWATCH), unless that
 * shard is held at the time (EXEC). */
#ifndef CAIRN_SHARD_TXN_H
#define CAIRN_SHARD_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd;
struct cmd_arg;
struct cmd_ctx;
struct cmd_env;
struct exec;
struct mem;
struct xmsg;
struct xshard;

struct txn_cmd {
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv;
	void *block; /* the packed copy */
};

struct txn_watch {
	uint64_t since; /* watch_add's number */
	uint16_t shard;
	bool expired; /* had expired (not yet deleted) when watched */
	uint32_t klen;
	char key[];
};

struct txn {
	bool multi;     /* between MULTI and EXEC or DISCARD */
	bool aborted;   /* a command was refused while queueing: EXECABORT */
	uint32_t flags; /* the queued commands' flags, together */
	struct txn_cmd *q;
	uint32_t n, cap;
	struct txn_watch **w;
	uint32_t nw, wcap;
	size_t bytes; /* what the queue holds (CLIENT LIST multi-mem) */
};

/* What the transaction functions need of the shard. */
struct txn_host {
	struct mem *mem; /* the connection's account */
	struct cmd_env *env;
	struct xshard *x;
};

/* Queues a command and its arguments (copied). */
void txn_queue(const struct txn_host *h, struct txn *t, const struct cmd *cmd,
	       const struct cmd_arg *argv, int argc);
/* Forgets the queue and leaves MULTI (EXEC, DISCARD, RESET). */
void txn_discard(const struct txn_host *h, struct txn *t);
/* Whether key (on shard) is already watched. */
bool txn_watching(const struct txn *t, unsigned shard, const char *key, size_t klen);
/* Records a watch the keyspace of shard has counted. */
void txn_add_watch(const struct txn_host *h, struct txn *t, unsigned shard, const char *key,
		   size_t klen, uint64_t since, bool expired);
/* Drops every watch: directly in the keyspaces of this shard and of those
 * held in locked (or NULL), by a message to every other. */
void txn_unwatch(const struct txn_host *h, struct txn *t, const uint64_t *locked);
/* Frees what the transaction holds, queue and watches, dropping no watch
 * (the connection is gone at shutdown, with every keyspace). */
void txn_free(const struct txn_host *h, struct txn *t);

/* The shards EXEC must hold, in mask: those its queued commands run on and
 * those of its watched keys. */
void txn_shards(const struct txn *t, struct exec *ex, const struct cmd_ctx *c, uint64_t *mask);

/* A MSG_UNWATCH arrived: drops its watches from the keyspace of this shard
 * (env->ks), and frees it. */
void txn_unwatch_message(struct cmd_env *env, struct xmsg *m);
/* Frees a MSG_UNWATCH left at shutdown. */
void txn_drop_message(struct mem *mem, struct xmsg *m);

#endif
