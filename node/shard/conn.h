/* conn.h: one client connection of a shard.
 *
 * A connection owns its parser state, the bytes of a request that is not
 * complete yet (qbuf), a big bulk being received (bb), and its output chain.
 * Requests are parsed straight from the receive buffer when nothing is
 * pending; only an unparsed tail is copied (see conn.c). Each parsed request
 * goes to exec.c, which runs it or hands it off.
 *
 * A connection reaches its shard only through its struct conn_host: the
 * pieces of the shard it needs (configuration, counters, accounts, clock,
 * backend, exec) and the two lists of connections the shard services. It
 * never sees struct shard, the connection table or other connections. */
#ifndef CAIRN_CONN_H
#define CAIRN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <stdatomic.h>

#include "base/limits.h"
#include "proto/obuf.h"
#include "proto/resp.h"
#include "shard/exec.h"
#include "shard/txn.h"

struct blocked_req;
struct caching_client;
struct cluster_view;
struct clock;
struct cmd;
struct cmd_arg;
struct cmd_ctx;
struct cmd_env;
struct config;
struct errstats;
struct exec;
struct io;
struct io_cqe;
struct mem;
struct obuf_chunk;
struct pubsub_client;
struct stats;
struct val;

#define CONN_F_AUTHED (1u << 0)
#define CONN_F_CLOSE_ASAP (1u << 1) /* stop reading; close once output is written */
#define CONN_F_CLOSING (1u << 2)    /* io_close submitted; waiting for its completion */
#define CONN_F_RECV_ARMED (1u << 3)
#define CONN_F_WRITING (1u << 4) /* a writev is in flight */
#define CONN_F_QUEUED (1u << 5)  /* on the shard's pending list */
#define CONN_F_REPLY_OFF (1u << 6)
#define CONN_F_REPLY_SKIP (1u << 7)
#define CONN_F_REPLY_SKIP_NEXT (1u << 8)
#define CONN_F_NO_EVICT (1u << 9)
#define CONN_F_RECV_WANT (1u << 10)     /* recv must be (re-)armed */
#define CONN_F_CLOSE_NOW (1u << 11)     /* close without writing what is left */
#define CONN_F_WAIT_LOCKS (1u << 12)    /* its request waits for shard locks: parse nothing */
#define CONN_F_PAUSED (1u << 13)        /* backpressure: not read until its output drains */
#define CONN_F_RECV_STOPPING (1u << 14) /* io_recv_stop submitted; waiting for the end */
#define CONN_F_NO_TOUCH (1u << 15)      /* CLIENT NO-TOUCH ON */
#define CONN_F_BLOCKED (1u << 16)       /* a blocking command waits: parse nothing */
#define CONN_F_MONITOR (1u << 17)       /* MONITOR: a monitor of its shard (monitor.h) */
#define CONN_F_POSTPONED (1u << 18)     /* its request waits for CLIENT PAUSE: parse nothing */
/* CLIENT TRACKING (shard/caching.h): on, and its modes. */
#define CONN_F_TRACKING (1u << 19)
#define CONN_F_TRK_BCAST (1u << 20)
#define CONN_F_TRK_OPTIN (1u << 21)
#define CONN_F_TRK_OPTOUT (1u << 22)
#define CONN_F_TRK_CACHING (1u << 23) /* CLIENT CACHING, for its next command */
#define CONN_F_TRK_NOLOOP (1u << 24)
#define CONN_F_TRK_BROKEN (1u << 25) /* its redirection's client is gone */
/* Cluster mode: ASKING (for its next command, or until EXEC), READONLY. */
#define CONN_F_ASKING (1u << 26)
#define CONN_F_READONLY (1u << 27)
/* Its request runs holding the shard of its slot, to be routed again
 * there (moved.h's MOVED_LOCK). */
#define CONN_F_REROUTE (1u << 28)
/* An atomic slot migration's link (CLUSTER SYNCSLOTS ESTABLISH): it may
 * write the slots this node imports (moved.c). */
#define CONN_F_SYNCSLOTS (1u << 29)
#define CONN_F_TRK_MODES                                                                           \
	(CONN_F_TRACKING | CONN_F_TRK_BCAST | CONN_F_TRK_OPTIN | CONN_F_TRK_OPTOUT |               \
	 CONN_F_TRK_CACHING | CONN_F_TRK_NOLOOP | CONN_F_TRK_BROKEN)

/* CLIENT PAUSE: what a shard holds (Redis's CLIENT_PAUSE_*, in order of
 * strictness), until when. */
enum conn_pause_type { CONN_PAUSE_OFF = 0, CONN_PAUSE_WRITE, CONN_PAUSE_ALL };
struct conn_pause {
	enum conn_pause_type type;
	int64_t end_ms; /* the pause ends once the clock has passed it */
};
/* A request held by CLIENT PAUSE: its arguments, copied (conn.c). */
struct conn_postponed;

/* A big bulk argument of the request being parsed. */
struct conn_bigarg {
	uint32_t idx;
	struct val *v;
};

struct conn {
	uint32_t idx, gen; /* its entry in the connection table (conns.h) */
	uint16_t shard;    /* the shard that owns it */
	int sock;
	uint32_t flags;
	uint64_t id;
	uint8_t proto;          /* 2 or 3 */
	uint16_t reroute_shard; /* CONN_F_REROUTE: the shard of its slot */
	uint8_t zero_reads;     /* consecutive 0-byte receive completions */
	struct resp_parser parser;

	/* The pending request (parser view), and its arguments. */
	char *qbuf;
	size_t qlen, qcap;
	struct resp_arg *args;
	size_t args_cap;
	struct cmd_arg *argv;
	size_t argv_cap;
	char *inl; /* inline commands: unescaped words */
	size_t inl_cap;

	/* Big bulks: the one being received, and the finished ones. */
	struct val *bb;
	size_t bb_need, bb_reserved;
	struct conn_bigarg *bigs;
	uint32_t nbigs, bigs_cap;

	/* MULTI's queue and the watched keys (txn.h). */
	struct txn txn;
	/* Its subscriptions (pubsub.h), NULL while it has none. */
	struct pubsub_client *ps;
	/* CLIENT TRACKING's redirection and prefixes (caching.h), NULL while
	 * it does not track. */
	struct caching_client *trk;

	/* Output. */
	struct obuf out;
	struct iovec iov[OBUF_IOV_MAX];
	size_t inflight;

	/* Identity and bookkeeping for CLIENT LIST. */
	char *name, *lib_name, *lib_ver;
	int64_t ctime_ms, last_ms;
	int last_cmd; /* enum cmd_id of the latest command, or -1 */
	struct conn *next_pending;
	struct conn *next_resume;
	/* Blocked (CONN_F_BLOCKED, by WAIT): until when (ms; 0: for ever;
	 * -1: unblocked, waiting to resume), and its place on the shard's
	 * list of blocked connections. */
	int64_t blocked_until;
	struct conn *next_blocked;
	/* Blocked by a blocking pop (BLPOP, ...): its request (shard/blocked.h),
	 * or NULL. */
	struct blocked_req *blk;
	/* Held by CLIENT PAUSE (CONN_F_POSTPONED): the request, and its place
	 * on the shard's list of held connections. */
	struct conn_postponed *postponed;
	struct conn *next_postponed;
};

/* What connections need from their shard. The shard fills it once; the
 * pointers stay valid for the shard's life. */
struct conn_host {
	struct io *io;
	const struct config *cfg;
	struct clock *clock;
	struct mem *mem; /* connections and their buffers */
	struct stats *st;
	struct errstats *es;
	struct cmd_env *env;
	struct exec *exec;
	struct txn_host txn;
	/* Bytes reserved for big bulks not yet received, node-wide (bounded by
	 * bigbulk-reserve-max for the node), shared by every shard. */
	atomic_uint_least64_t *bigbulk_reserved;
	unsigned self, nshards; /* client ids are unique across shards */
	uint64_t next_client_id;
	/* After a command: offers the keys it made ready to their waiters
	 * (shard/blocked.h), before the next command runs. */
	bool (*serve_ready)(void *arg);
	void *serve_arg;
	/* MONITOR clients of the node, and what writes a command's line for
	 * them (the shard's monitor_feed; arg is feed_arg). */
	atomic_uint *monitors;
	void (*feed)(void *arg, const struct conn *c, const struct cmd *cmd,
		     const struct cmd_arg *argv, int argc);
	void *feed_arg;
	/* After a request: delivers the invalidations it caused (the shard's
	 * caching_flush; arg is after_arg), when some wait (*inval_len). */
	const size_t *inval_len;
	void (*after)(void *arg);
	void *after_arg;
	/* cluster-enabled: the shard's view of the cluster (NULL otherwise). */
	struct cluster_view *const *view;
	struct conn *pending;    /* connections with a submission to make */
	struct conn *resume;     /* ran a locked request; resume once not frozen */
	struct conn *blocked;    /* blocked by a command (WAIT), in no order */
	struct conn_pause pause; /* CLIENT PAUSE, as this shard applies it */
	struct conn *postponed;  /* held by it, newest first */
};

/* Creates a connection for an accepted socket at table entry idx (its
 * generation gen) and queues it for its first recv. */
struct conn *conn_new(struct conn_host *h, int sock, uint32_t idx, uint32_t gen);
void conn_free(struct conn_host *h, struct conn *c);
/* Completion handlers. */
void conn_on_recv(struct conn_host *h, struct conn *c, const struct io_cqe *cqe);
void conn_on_write(struct conn_host *h, struct conn *c, const struct io_cqe *cqe);
/* Submits what the connection is waiting for: a recv re-arm, a writev of
 * pending output, or the close. Returns false if the submission queue was
 * full (the caller keeps it pending). */
bool conn_service(struct conn_host *h, struct conn *c);
/* Queues c on h->pending for conn_service() at the end of the step. */
void conn_pend(struct conn_host *h, struct conn *c);
/* Marks the connection to be closed: after its output (asap) or now. */
void conn_close(struct conn_host *h, struct conn *c, bool now);
/* Bytes of the pending request (qbuf and big bulks), and memory held. */
size_t conn_qbuf_bytes(const struct conn *c);
size_t conn_mem(const struct conn *c);
/* A request cmd_check() has answered for (cmd, or NULL after its error),
 * after mark: queued or refused in MULTI, else run (EXEC and WATCH on their
 * connection, holding every shard they need; the rest as exec_request()
 * decides). Returns exec's verdict. (run_request's step; the command fuzzer
 * calls it too.) */
enum exec_verdict conn_dispatch(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
				const struct cmd *cmd, const struct obuf_mark *mark);
/* Blocks c, whose request (WAIT, or a blocking pop) answers later: it
 * parses nothing until conn_unblock() or, at until_ms (0: never), the
 * shard's timer, which answers as the command does when its time is up
 * (WAIT: 0 replicas; a blocking pop passes 0 and keeps its own timeout,
 * shard/blocked.h). It may block while it runs with shards locked. */
void conn_block(struct conn_host *h, struct conn *c, int64_t until_ms);
/* Ends c's block; its reply is the caller's (CLIENT UNBLOCK), or none yet.
 * It reads its requests again once the shard resumes it. c's shard is h's
 * (the caller's, or one it holds locked). */
void conn_unblock(struct conn_host *h, struct conn *c);
/* Ends c's block as its time being up would: the command's answer then
 * (WAIT: 0), and conn_unblock(). */
void conn_block_expire(struct conn_host *h, struct conn *c);
/* The shard's timer: conn_block_expire() for the blocks whose time is up. */
void conn_block_timeouts(struct conn_host *h, int64_t now_ms);
/* CLIENT PAUSE on h's shard: requests that the pause holds (all, or those
 * that write or may replicate, with EXEC's queue) wait, their connections
 * parsing nothing more, until it ends. A second pause keeps the stricter
 * type and the later end, as Redis's. */
void conn_pause(struct conn_host *h, enum conn_pause_type type, int64_t end_ms);
/* Ends the pause (CLIENT UNPAUSE, or its time up): the held connections
 * run their requests again at the shard's next turn (conn_resume), in the
 * order they were held. */
void conn_unpause(struct conn_host *h);
/* The shard's timer: conn_unpause() once the pause's end has passed. */
void conn_pause_timeouts(struct conn_host *h, int64_t now_ms);
/* Runs the request that waits for locks (CONN_F_WAIT_LOCKS), now that they
 * are held, in ctx with the connection's reply rules (CLIENT REPLY, output
 * limit); then queues the connection on h->resume. It keeps waiting until
 * conn_resume(), so that input which arrived meanwhile runs in order. */
void conn_run_locked(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
		     const struct cmd *cmd);
/* Parses what arrived while the connection waited for locks, was blocked,
 * or was held by CLIENT PAUSE (whose request runs first). */
void conn_resume(struct conn_host *h, struct conn *c);
/* A forwarded reply is back: its bytes take the placeholder hold's place in
 * the output (obuf_fill), and the output limit is checked again. */
void conn_take_reply(struct conn_host *h, struct conn *c, struct obuf_chunk *hold,
		     struct obuf *reply);
/* Closes c (counted in INFO) if its output passed the hard limit of
 * client-output-buffer-limit. */
void conn_check_output_limit(struct conn_host *h, struct conn *c);
/* Whether the default user has a password (requirepass), so that new
 * connections must authenticate. */
bool conn_password_required(const struct conn_host *h);
/* Sets authentication state, and the parser limits that follow from it. */
void conn_set_authed(struct conn_host *h, struct conn *c, bool authed);

/* Whether c's read-only commands have their keys remembered for it
 * (Redis's trackingRememberKeys): CLIENT TRACKING on, not BCAST; in OPTIN
 * mode only after CLIENT CACHING YES, in OPTOUT mode unless after CLIENT
 * CACHING NO. */
static inline bool conn_tracks_reads(uint32_t flags)
{
	if (!(flags & CONN_F_TRACKING) || (flags & CONN_F_TRK_BCAST))
		return false;
	if (flags & CONN_F_TRK_OPTIN)
		return (flags & CONN_F_TRK_CACHING) != 0;
	if (flags & CONN_F_TRK_OPTOUT)
		return !(flags & CONN_F_TRK_CACHING);
	return true;
}

#endif
