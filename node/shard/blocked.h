/* blocked.h: clients blocked by a blocking pop (BLPOP, BRPOP, BRPOPLPUSH,
 * BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP), and how they are served.
 *
 * The client's own shard keeps its blocked request (a copy of the
 * arguments, msg.h's packing), its timeout and a block id unique on the
 * node. Each key's owner keeps the key's FIFO of waiters in its keyspace
 * (data/waiters.h). A command blocks while it runs with every shard of its
 * keys held (here, or locked: the blocking commands run on their client's
 * shard, as EXEC does), so it registers its waiters directly.
 *
 * A write that stores a list or sorted set under a key with waiters marks
 * the key ready (data/waiters.h). After each command, and at the end of
 * each step, the owner drains its ready keys (blocked_serve_ready): a key
 * that holds a value its first waiter of that type can pop is offered to
 * that waiter alone: directly when the waiter is its own client, else by
 * MSG_BLOCK_OFFER to the waiter's shard. The waiter's shard runs the
 * blocked command again for it (a re-run), holding the shards of all its
 * keys: here at once, or as a span (lock.h). The handler sees a re-run
 * (blocked_rerun) and pops without blocking and without refusing a key of
 * another type (Redis 7.0 leaves such a client blocked). Served, the
 * client's waiters go from every key while the locks are held
 * (blocked_served); not served, it stays blocked (blocked_stay). Either
 * way the offers to it are cleared and each key is marked ready again, so
 * the next waiter gets its turn while the key can still be popped. An offer
 * that finds its client no longer blocked (timed out, unblocked, gone or
 * closing) is declined (MSG_BLOCK_DONE, dropping that waiter), and the key
 * goes to the next waiter. A client that stops waiting drops its waiters:
 * directly on the shards held, by MSG_BLOCK_DONE on the others.
 *
 * With one shard everything is direct, and a keyspace without waiters pays
 * one test per list or sorted set created. */
#ifndef CAIRN_SHARD_BLOCKED_H
#define CAIRN_SHARD_BLOCKED_H

#include <stdbool.h>
#include <stdint.h>

struct cluster_view;
struct cmd;
struct cmd_arg;
struct cmd_ctx;
struct cmd_env;
struct conn;
struct conn_host;
struct conns;
struct exec;
struct lock;
struct mem;
struct xmsg;
struct xshard;

/* A blocked client's request (conn->blk). */
struct blocked_req {
	struct blocked_req *next, *prev; /* the shard's blocked requests */
	struct conn *c;
	uint64_t id;
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv; /* a copy, in this block */
	int first, nkeys;     /* the keys it waits on: argv[first, first + nkeys) */
	uint8_t type;         /* what it pops: KV_LIST or KV_ZSET */
	bool rerun;           /* a re-run waits for its locks */
	bool running;         /* a re-run runs here on this copy: free it after */
	bool ended;           /* ended while running */
	uint8_t cancel;       /* CLIENT UNBLOCK during a re-run (enum below) */
	int64_t until_ms;     /* 0: for ever */
};

enum blocked_cancel { BLOCKED_CANCEL_NONE = 0, BLOCKED_CANCEL_TIMEOUT, BLOCKED_CANCEL_ERROR };

/* What the blocked clients need of their shard, set once. */
struct blocked_host {
	struct conn_host *ch;
	struct conns *conns;
	struct exec *exec;
	struct lock *lock;
	struct xshard *x;
	struct cmd_env *env;
	struct mem *mem; /* the connections' account */
	struct blocked_req *list;
	uint32_t n;       /* blocked requests */
	uint32_t n_timed; /* of them, those with a timeout */
	uint64_t next_id;
};

void blocked_init(struct blocked_host *bh, struct conn_host *ch, struct conns *conns,
		  struct exec *exec, struct lock *lock, struct xshard *x, struct cmd_env *env,
		  struct mem *mem);

/* For a blocking command's handler (server/cmd_blocking.c): whether this
 * run is a re-run of c's blocked request, for an offered key. */
bool blocked_rerun(const struct conn *c);
/* A re-run that must not pop: CLIENT UNBLOCK came meanwhile (its reply is
 * given) or the client is closing. Ends the block and returns true then. */
bool blocked_cancelled(struct blocked_host *bh, struct cmd_ctx *ctx);
/* Blocks the client of ctx (first run; nothing to pop, not in a
 * transaction) on argv[first, first + nkeys), popping type, until until_ms
 * (0: for ever). The command counts when it is served or times out. */
void blocked_block(struct blocked_host *bh, struct cmd_ctx *ctx, int first, int nkeys, uint8_t type,
		   int64_t until_ms);
/* A re-run replied (served, or an error): the block ends. */
void blocked_served(struct blocked_host *bh, struct cmd_ctx *ctx);
/* A re-run found nothing to pop: the client stays blocked (and times out
 * now if its time is up). */
void blocked_stay(struct blocked_host *bh, struct cmd_ctx *ctx);

/* CLIENT UNBLOCK of c (a connection of bh's shard, held), with the error
 * or the timeout reply. false if c is not blocked by a blocking pop.
 * locked: the shards the caller holds. */
bool blocked_unblock(struct blocked_host *bh, struct conn *c, bool error, const uint64_t *locked);
/* Ends c's block now, as its time being up would (the command fuzzer
 * lets every block go at once). c must be blocked by a blocking pop. */
void blocked_expire_now(struct blocked_host *bh, struct conn *c);
/* The shard's timer: the blocks whose time is up answer as Redis's
 * timeout (a null array) and end. */
void blocked_timeouts(struct blocked_host *bh, int64_t now_ms);
/* Cluster mode, once the shard's view changed: a client blocked on a key
 * whose slot left this node (and is not imported) gets MOVED, one on an
 * unowned slot or while the cluster is down CLUSTERDOWN, and its block
 * ends (Redis's clusterRedirectBlockedClientIfNeeded). */
void blocked_cluster_check(struct blocked_host *bh, const struct cluster_view *v);
/* c is going: its block ends without a reply. */
void blocked_forget(struct blocked_host *bh, struct conn *c);
/* At shutdown: frees c's block, dropping nothing (every keyspace goes). */
void blocked_release(struct blocked_host *bh, struct conn *c);

/* Offers this shard's ready keys to their waiters. Returns whether it did
 * anything. Not while the shard is frozen. */
bool blocked_serve_ready(struct blocked_host *bh);
/* MSG_BLOCK_OFFER or MSG_BLOCK_DONE arrived: applies it and frees it. */
void blocked_message(struct blocked_host *bh, struct xmsg *m);
/* Frees such a message left at shutdown. */
void blocked_drop_message(struct mem *mem, struct xmsg *m);

#endif
