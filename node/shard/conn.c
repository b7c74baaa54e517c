/* conn.c: a connection's input, execution and output. See conn.h.
 *
 * Input has three modes:
 *  - direct: nothing is pending, so requests are parsed and executed straight
 *    from the receive buffer; an incomplete last request is copied to qbuf;
 *  - pending: qbuf holds the start of a request. Only the bytes it can still
 *    use are appended (up to the end of the line being read, or exactly the
 *    rest of a payload), so the bytes after it are parsed directly again;
 *  - bigbulk: a big bulk's payload streams into its own value buffer, one
 *    copy per receive buffer and none afterwards. Its size is reserved
 *    exactly while the shard's reservation budget allows, else it grows with
 *    the bytes that really arrive, so headers alone cannot claim memory.
 * Limits: client-query-buffer-limit (and 1 MB before AUTH) on everything a
 * request holds. A protocol error sends one error and closes after it. */
#include "shard/conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/val.h"
#include "cmd/cmd.h"
#include "io/io.h"
#include "proto/reply.h"
#include "shard/exec.h"
#include "shard/moved.h"
#include "shard/txn.h"
#include "shard/xshard.h"
#include "shard/ud.h"

/* Logs at level if the configured level allows. */
#define conn_log(h, level, ...) log_at((h)->io, (h)->cfg->loglevel, (level), __VA_ARGS__)

bool conn_password_required(const struct conn_host *h)
{
	return h->cfg->requirepass[0] != '\0';
}

/* Refreshes the parser's limits; called whenever a request starts. */
static void parser_limits(struct conn_host *h, struct conn *c)
{
	c->parser.bulk_max = h->cfg->proto_max_bulk_len;
	c->parser.auth_required = !(c->flags & CONN_F_AUTHED) && conn_password_required(h);
}

void conn_set_authed(struct conn_host *h, struct conn *c, bool authed)
{
	if (authed)
		c->flags |= CONN_F_AUTHED;
	else
		c->flags &= ~CONN_F_AUTHED;
	if (c->parser.state == RESP_S_START)
		parser_limits(h, c);
}

struct conn *conn_new(struct conn_host *h, int sock, uint32_t idx, uint32_t gen)
{
	struct conn *c = mem_calloc(h->mem, sizeof(*c));

	ASSERT(h->nshards >= 1);
	ASSERT(h->self < h->nshards);
	c->idx = idx;
	c->gen = gen;
	c->shard = (uint16_t)h->self;
	c->sock = sock;
	c->id = h->next_client_id++ * h->nshards + h->self;
	c->proto = 2;
	c->last_cmd = -1;
	c->ctime_ms = c->last_ms = h->clock->now_ms;
	obuf_init(&c->out, h->mem);
	resp_init(&c->parser, h->cfg->proto_max_bulk_len, false);
	conn_set_authed(h, c, !conn_password_required(h));
	c->flags |= CONN_F_RECV_WANT;
	conn_pend(h, c);
	return c;
}

static void release_bigs(struct conn_host *h, struct conn *c)
{
	uint32_t i;

	for (i = 0; i < c->nbigs; i++) {
		mem_uncharge(h->mem, val_size(c->bigs[i].v));
		val_unref(c->bigs[i].v);
	}
	c->nbigs = 0;
}

/* The node's budget for exact reservations (bigbulk-reserve-max): takes n
 * bytes of it if they fit. */
static bool reserve(struct conn_host *h, size_t n)
{
	uint64_t max = (uint64_t)h->cfg->bigbulk_reserve_max;
	uint64_t old = atomic_fetch_add_explicit(h->bigbulk_reserved, n, memory_order_relaxed);

	if (old + n <= max)
		return true;
	atomic_fetch_sub_explicit(h->bigbulk_reserved, n, memory_order_relaxed);
	return false;
}

static void unreserve(struct conn_host *h, size_t n)
{
	uint64_t old = atomic_fetch_sub_explicit(h->bigbulk_reserved, n, memory_order_relaxed);
	ASSERT(old >= n);
}

static void release_bb(struct conn_host *h, struct conn *c)
{
	if (c->bb == NULL)
		return;
	unreserve(h, c->bb_reserved);
	c->bb_reserved = 0;
	mem_uncharge(h->mem, val_size(c->bb));
	val_unref(c->bb);
	c->bb = NULL;
}

static void unlink_blocked(struct conn_host *h, struct conn *c);
static void unlink_postponed(struct conn_host *h, struct conn *c);

void conn_free(struct conn_host *h, struct conn *c)
{
	/* Blocked, and not unblocked yet (then it waits on the resume list,
	 * which the shard clears). */
	if ((c->flags & CONN_F_BLOCKED) && c->blocked_until >= 0)
		unlink_blocked(h, c);
	if (c->flags & CONN_F_POSTPONED)
		unlink_postponed(h, c);
	mem_free(h->mem, c->postponed);
	txn_free(&h->txn, &c->txn);
	release_bb(h, c);
	release_bigs(h, c);
	obuf_free(&c->out);
	mem_free(h->mem, c->qbuf);
	mem_free(h->mem, c->args);
	mem_free(h->mem, c->argv);
	mem_free(h->mem, c->inl);
	mem_free(h->mem, c->bigs);
	mem_free(h->mem, c->name);
	mem_free(h->mem, c->lib_name);
	mem_free(h->mem, c->lib_ver);
	mem_free(h->mem, c);
}

size_t conn_qbuf_bytes(const struct conn *c)
{
	size_t n = c->qlen;
	uint32_t i;

	if (c->bb != NULL)
		n += c->bb->len;
	for (i = 0; i < c->nbigs; i++)
		n += c->bigs[i].v->len;
	return n;
}

size_t conn_mem(const struct conn *c)
{
	size_t n = mem_size(c) + mem_size(c->qbuf) + mem_size(c->args) + mem_size(c->argv) +
		   mem_size(c->inl) + obuf_mem(&c->out);
	uint32_t i;

	if (c->bb != NULL)
		n += val_size(c->bb);
	for (i = 0; i < c->nbigs; i++)
		n += val_size(c->bigs[i].v);
	return n;
}

void conn_pend(struct conn_host *h, struct conn *c)
{
	/* A closing connection has nothing left to submit; keeping it off the
	 * list means its CLOSE completion can free it at any time. */
	if (c->flags & (CONN_F_QUEUED | CONN_F_CLOSING))
		return;
	c->flags |= CONN_F_QUEUED;
	c->next_pending = h->pending;
	h->pending = c;
}

void conn_close(struct conn_host *h, struct conn *c, bool now)
{
	c->flags |= now ? CONN_F_CLOSE_NOW : CONN_F_CLOSE_ASAP;
	conn_pend(h, c);
}

static bool stopped(const struct conn *c)
{
	return (c->flags & (CONN_F_CLOSE_ASAP | CONN_F_CLOSE_NOW | CONN_F_CLOSING)) != 0;
}

/* Stopped, or blocked: no request may start now. */
static bool halted(const struct conn *c)
{
	return stopped(c) || (c->flags & (CONN_F_WAIT_LOCKS | CONN_F_BLOCKED | CONN_F_POSTPONED));
}

/* ---- limits and buffers ---- */

/* Closes the connection (no reply, as Redis) if holding `adding` more bytes
 * would pass the query buffer limit. */
static bool over_limit(struct conn_host *h, struct conn *c, size_t adding)
{
	size_t total = conn_qbuf_bytes(c) + adding;
	bool unauth = !(c->flags & CONN_F_AUTHED) && conn_password_required(h);

	if (total <= (size_t)h->cfg->client_query_buffer_limit &&
	    !(unauth && total > PROTO_UNAUTH_QBUF_MAX))
		return false;
	conn_log(h, IO_LOG_WARNING,
		 "Closing client that reached max query buffer length: id=%llu qbuf=%zu",
		 (unsigned long long)c->id, total);
	h->st->qbuf_limit_disconnections++;
	conn_close(h, c, true);
	return true;
}

static void qbuf_append(struct conn_host *h, struct conn *c, const char *p, size_t n)
{
	if (c->qlen + n > c->qcap) {
		size_t cap = c->qcap ? c->qcap : CONN_QBUF_START;
		while (cap < c->qlen + n)
			cap *= 2;
		c->qbuf = mem_realloc(h->mem, c->qbuf, cap);
		c->qcap = cap;
	}
	memcpy(c->qbuf + c->qlen, p, n);
	c->qlen += n;
}

static void grow_args(struct conn_host *h, struct conn *c)
{
	size_t cap = c->args_cap ? c->args_cap * 2 : CONN_ARGV_START;
	c->args = mem_realloc(h->mem, c->args, cap * sizeof(*c->args));
	c->args_cap = cap;
}

/* Forgets the finished request, drops the qbuf bytes it used, and prepares
 * the parser for the next one. */
static void request_done(struct conn_host *h, struct conn *c)
{
	release_bigs(h, c);
	resp_reset(&c->parser);
	parser_limits(h, c);
	/* A large qbuf left behind by a big request is given back. */
	if (c->qcap > 4 * OBUF_CHUNK_SIZE && c->qlen == 0) {
		mem_free(h->mem, c->qbuf);
		c->qbuf = NULL;
		c->qcap = 0;
	}
}

/* ---- execution ---- */

static void close_over_output_limit(struct conn_host *h, struct conn *c)
{
	conn_log(h, IO_LOG_WARNING,
		 "Client id=%llu scheduled to be closed ASAP for overcoming of output "
		 "buffer limits.",
		 (unsigned long long)c->id);
	h->st->obuf_limit_disconnections++;
	conn_close(h, c, true);
}

void conn_check_output_limit(struct conn_host *h, struct conn *c)
{
	if (c->out.bytes > (size_t)config_obuf_hard(h->cfg) && !(c->flags & CONN_F_CLOSE_NOW))
		close_over_output_limit(h, c);
}

/* CLIENT CACHING holds for the next command, and for a transaction until
 * EXEC or DISCARD, as Redis's resetClient: a CLIENT command keeps it. */
static bool caching_given_ends(const struct conn *c)
{
	if (c->txn.multi)
		return false;
	return c->last_cmd < 0 ||
	       (c->last_cmd != CMDID_CLIENT && cmd_table[c->last_cmd].parent != CMDID_CLIENT);
}

/* After a request ran: CLIENT REPLY OFF/SKIP suppress its reply (a
 * forwarded one's placeholder is dropped), and the output limit holds.
 * Inline: it runs after every command. */
static inline __attribute__((always_inline)) void finish_request(struct conn_host *h,
								 struct conn *c,
								 const struct obuf_mark *mark)
{
	if (c->flags & (CONN_F_REPLY_OFF | CONN_F_REPLY_SKIP | CONN_F_REPLY_SKIP_NEXT |
			CONN_F_TRK_CACHING | CONN_F_ASKING)) {
		if (c->flags & (CONN_F_REPLY_OFF | CONN_F_REPLY_SKIP))
			obuf_truncate(&c->out, mark);
		c->flags &= ~CONN_F_REPLY_SKIP;
		if (c->flags & CONN_F_REPLY_SKIP_NEXT)
			c->flags = (c->flags & ~CONN_F_REPLY_SKIP_NEXT) | CONN_F_REPLY_SKIP;
		if ((c->flags & CONN_F_TRK_CACHING) && caching_given_ends(c))
			c->flags &= ~CONN_F_TRK_CACHING;
		/* ASKING holds for one command, and in MULTI until EXEC. */
		if ((c->flags & CONN_F_ASKING) && !c->txn.multi && c->last_cmd != CMDID_ASKING)
			c->flags &= ~CONN_F_ASKING;
	}
	c->last_ms = h->clock->now_ms;
	if (c->out.bytes > (size_t)config_obuf_hard(h->cfg) && !(c->flags & CONN_F_CLOSE_NOW))
		close_over_output_limit(h, c);
}

/* Between MULTI and EXEC, what runs at once, as in Redis; the rest is
 * queued. */
static bool txn_runs_now(const struct cmd *cmd)
{
	switch (cmd->id) {
	case CMDID_EXEC:
	case CMDID_DISCARD:
	case CMDID_MULTI:
	case CMDID_WATCH:
	case CMDID_QUIT:
	case CMDID_RESET: return true;
	default: return false;
	}
}

/* Refuses with Redis's error (which aborts the transaction: EXECABORT). */
static void txn_refuse(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
		       const struct cmd *cmd, const char *err)
{
	reply_error(ctx->r, err);
	h->env->cstat[cmd->id].rejected++;
	c->txn.aborted = true;
}

/* EXEC refused before it runs ends the transaction, with the reason
 * (Redis's execCommandAbort): why is the error text without its code. */
static void txn_abort(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx, const char *why)
{
	reply_errorf(ctx->r, "-EXECABORT Transaction discarded because of: %s", why);
	txn_discard(&h->txn, &c->txn);
	txn_unwatch(&h->txn, &c->txn, NULL);
}

/* Queues a checked request of a connection in MULTI, or refuses it. A
 * queue can grow memory without bound, so under maxmemory a full node
 * refuses every command there, not only those that may grow memory
 * (cmd_check refused those). */
static void txn_take(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
		     const struct cmd *cmd)
{
	if (cmd->flags & CMD_NO_MULTI) {
		txn_refuse(h, c, ctx, cmd, "Command not allowed inside a transaction");
		return;
	}
	if (h->cfg->maxmemory > 0 && !(cmd->flags & CMD_DENYOOM) &&
	    h->env->make_room(h->env->host)) {
		txn_refuse(h, c, ctx, cmd, ERR_OOM);
		return;
	}
	txn_queue(&h->txn, &c->txn, cmd, ctx->argv, ctx->argc);
	reply_status(ctx->r, "QUEUED");
}

/* A request routed again holding its slot's shard (routed_away). */
static enum exec_verdict reroute(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
				 const struct cmd *cmd)
{
	uint64_t also[XSHARD_WORDS] = { 0 };

	also[c->reroute_shard / 64] |= 1ull << (c->reroute_shard % 64);
	return exec_request_holding(h->exec, ctx, cmd, also, c->idx, c->gen);
}

/* EXEC and WATCH run on their connection, holding every shard they need:
 * EXEC those of its queued commands and watched keys (refused with OOM,
 * as Redis does, if one of them may grow memory on a full node), WATCH
 * those of its keys. */
static enum exec_verdict txn_exec(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
				  const struct cmd *cmd)
{
	uint64_t also[XSHARD_WORDS] = { 0 };
	struct txn *t = &c->txn;

	/* Routed again on its slot's shard (routed_away). */
	if (c->flags & CONN_F_REROUTE)
		also[c->reroute_shard / 64] |= 1ull << (c->reroute_shard % 64);

	if (cmd->id == CMDID_EXEC && t->multi && !t->aborted) {
		if ((t->flags & CMD_DENYOOM) && h->cfg->maxmemory > 0 &&
		    h->env->make_room(h->env->host)) {
			h->env->cstat[cmd->id].rejected++;
			txn_abort(h, c, ctx, &ERR_OOM[1]);
			return EXEC_DONE;
		}
		txn_shards(t, h->exec, ctx, also);
	}
	return exec_request_holding(h->exec, ctx, cmd, also, c->idx, c->gen);
}

/* What a RESP2 connection may run while it subscribes to something. */
static bool subscribed_may_run(const struct cmd *cmd)
{
	switch (cmd->id) {
	case CMDID_PING:
	case CMDID_SUBSCRIBE:
	case CMDID_SSUBSCRIBE:
	case CMDID_UNSUBSCRIBE:
	case CMDID_SUNSUBSCRIBE:
	case CMDID_PSUBSCRIBE:
	case CMDID_PUNSUBSCRIBE:
	case CMDID_QUIT:
	case CMDID_RESET: return true;
	default: return false;
	}
}

/* Refuses a command that a monitor, or a subscribed RESP2 connection, may
 * not run, as Redis's processCommand does (after its other checks, and as
 * a refusal: it aborts a transaction, and a refused EXEC, in MULTI or not,
 * discards it with EXECABORT); returns whether it did. */
static bool context_refuse(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
			   const struct cmd *cmd)
{
	char why[160];

	if (cmd == NULL)
		return false;
	if ((c->flags & CONN_F_MONITOR) &&
	    (cmd->flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE)))
		snprintf(why, sizeof(why), "Replica can't interact with the keyspace");
	else if (c->ps != NULL && c->proto == 2 && !subscribed_may_run(cmd))
		snprintf(why, sizeof(why),
			 "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
			 "QUIT / RESET are allowed in this context",
			 cmd->fullname);
	else
		return false;
	h->env->cstat[cmd->id].rejected++;
	if (cmd->id == CMDID_EXEC) {
		txn_abort(h, c, ctx, why);
		return true;
	}
	reply_errorf(ctx->r, "-ERR %s", why);
	if (c->txn.multi)
		c->txn.aborted = true;
	return true;
}

/* Writes the line of a command about to run for the node's monitors, as
 * Redis shows them: not the admin and skip-monitor ones, nor one queued
 * in MULTI; a transaction's commands when EXEC runs them, before EXEC's. */
static void feed_monitors(struct conn_host *h, struct conn *c, const struct cmd_ctx *ctx,
			  const struct cmd *cmd)
{
	uint32_t i;

	if (c->txn.multi && !txn_runs_now(cmd))
		return;
	if (cmd->id == CMDID_EXEC && c->txn.multi && !c->txn.aborted)
		for (i = 0; i < c->txn.n; i++)
			if (!(c->txn.q[i].cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)))
				h->feed(h->feed_arg, c, c->txn.q[i].cmd, c->txn.q[i].argv,
					c->txn.q[i].argc);
	if (!(cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)))
		h->feed(h->feed_arg, c, cmd, ctx->argv, ctx->argc);
}

/* Cluster mode: routes the request (moved.h). Returns true if it was
 * refused, its error replied: a command queued in MULTI flags the
 * transaction, EXEC discards it. A request whose keys' existence is
 * known only on another shard runs holding that shard (reroute_shard),
 * and is routed again there (conn_run_locked). */
static bool routed_away(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
			const struct cmd *cmd)
{
	struct moved_in in = {
		.v = *h->view,
		.env = h->env,
		.locked = ctx->locked,
		.asking = (c->flags & CONN_F_ASKING) != 0,
		.syncslots = (c->flags & CONN_F_SYNCSLOTS) != 0,
	};
	bool queued = c->txn.multi && !txn_runs_now(cmd), exec = cmd->id == CMDID_EXEC;
	enum moved_result res;
	unsigned lock = 0;

	if (exec && (!c->txn.multi || c->txn.aborted))
		return false; /* EXEC answers that itself */
	if (exec)
		res = moved_check_txn(&in, &c->txn, ctx->r, &lock);
	else
		res = moved_check(&in, cmd, ctx->argv, ctx->argc, ctx->r, &lock);
	if (res == MOVED_REFUSED) {
		h->env->cstat[cmd->id].rejected++;
		if (exec) {
			txn_discard(&h->txn, &c->txn);
			txn_unwatch(&h->txn, &c->txn, ctx->locked);
		} else if (queued) {
			c->txn.aborted = true;
		}
		return true;
	}
	/* Queued: EXEC routes it again with the others. */
	if (res == MOVED_LOCK && !queued) {
		c->reroute_shard = (uint16_t)lock;
		c->flags |= CONN_F_REROUTE;
	}
	return false;
}

/* conn_dispatch, inlined into run_request: it runs for every request. */
static inline __attribute__((always_inline)) enum exec_verdict dispatch(
	struct conn_host *h, struct conn *c, struct cmd_ctx *ctx, const struct cmd *cmd,
	const struct obuf_mark *mark)
{
	if (__builtin_expect(c->ps != NULL || (c->flags & CONN_F_MONITOR), 0) &&
	    context_refuse(h, c, ctx, cmd))
		return EXEC_DONE;
	if (__builtin_expect(atomic_load_explicit(h->monitors, memory_order_relaxed) != 0, 0) &&
	    cmd != NULL)
		feed_monitors(h, c, ctx, cmd);
	if (__builtin_expect(h->view != NULL, 0) && cmd != NULL &&
	    !moved_mine(*h->view, cmd, ctx->argv, ctx->argc) && routed_away(h, c, ctx, cmd))
		return EXEC_DONE;
	if (c->txn.multi && (cmd == NULL || !txn_runs_now(cmd))) {
		if (cmd == NULL && ctx->cmd != NULL && ctx->cmd->id == CMDID_EXEC) {
			/* In MULTI, cmd_check can refuse EXEC only for its
			 * arity: the transaction ends, with that reason. */
			ASSERT(ctx->argc != 1);
			obuf_truncate(&c->out, mark);
			txn_abort(h, c, ctx, "wrong number of arguments for 'exec' command");
		} else if (cmd == NULL) {
			c->txn.aborted = true; /* refused by cmd_check */
		} else {
			txn_take(h, c, ctx, cmd);
		}
		return EXEC_DONE;
	}
	if (cmd == NULL)
		return EXEC_DONE;
	/* A blocking command too runs here, holding its keys' shards, since
	 * its client may block (shard/blocked.h); so does MIGRATE, whose
	 * client waits for the target (shard/migrate.h). */
	if (cmd->id == CMDID_EXEC || cmd->id == CMDID_WATCH || (cmd->flags & CMD_BLOCKING) ||
	    cmd->id == CMDID_MIGRATE)
		return txn_exec(h, c, ctx, cmd);
	if (__builtin_expect(c->flags & CONN_F_REROUTE, 0))
		return reroute(h, c, ctx, cmd);
	return exec_request(h->exec, ctx, cmd, c->idx, c->gen);
}

enum exec_verdict conn_dispatch(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
				const struct cmd *cmd, const struct obuf_mark *mark)
{
	return dispatch(h, c, ctx, cmd, mark);
}

/* ---- CLIENT PAUSE ---- */

struct conn_postponed {
	size_t nargs;
	struct resp_arg *args; /* offsets into bytes */
	char *bytes;
};

/* Whether the pause holds cmd (checked, or NULL after its error), as
 * Redis's processCommand: every command under ALL; under WRITE, those that
 * write or may replicate, and EXEC of a queue that has one. A pause whose
 * end has passed holds nothing (the timer ends it). */
static bool pause_holds(const struct conn_host *h, const struct conn *c, const struct cmd *cmd)
{
	uint32_t flags;

	if (cmd == NULL || h->pause.end_ms < h->clock->now_ms)
		return false;
	flags = cmd->flags | (cmd->id == CMDID_EXEC ? c->txn.flags : 0);
	/* A slot migration's link: its writes wait as any client's, but its
	 * CLUSTER SYNCSLOTS never does. A grant held past the source's pause
	 * would claim slots the source serves again by then. */
	if (h->pause.type == CONN_PAUSE_ALL && !(c->flags & CONN_F_SYNCSLOTS))
		return true;
	return (flags & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0;
}

/* Holds the request argv[0..nargs): a copy of its arguments (big ones too)
 * waits with the connection, which parses nothing more until conn_resume()
 * runs it. */
static void postpone(struct conn_host *h, struct conn *c, const struct cmd_arg *argv, size_t nargs)
{
	size_t bytes = 0, i, off = 0;
	struct conn_postponed *p;

	ASSERT(c->postponed == NULL);
	ASSERT(!(c->flags & CONN_F_POSTPONED));
	for (i = 0; i < nargs; i++)
		bytes += argv[i].len;
	p = mem_alloc(h->mem, sizeof(*p) + nargs * sizeof(*p->args) + bytes);
	p->nargs = nargs;
	p->args = (struct resp_arg *)(p + 1);
	p->bytes = (char *)(p->args + nargs);
	for (i = 0; i < nargs; i++) {
		p->args[i] = (struct resp_arg){ .off = off, .len = argv[i].len };
		memcpy(p->bytes + off, argv[i].p, argv[i].len);
		off += argv[i].len;
	}
	ASSERT(off == bytes);
	c->postponed = p;
	c->flags |= CONN_F_POSTPONED;
	c->next_postponed = h->postponed;
	h->postponed = c;
}

static void unlink_postponed(struct conn_host *h, struct conn *c)
{
	struct conn **p;

	/* Not there once conn_unpause() queued it to resume. */
	for (p = &h->postponed; *p != NULL; p = &(*p)->next_postponed) {
		if (*p == c) {
			*p = c->next_postponed;
			break;
		}
	}
	c->next_postponed = NULL;
}

void conn_pause(struct conn_host *h, enum conn_pause_type type, int64_t end_ms)
{
	ASSERT(type == CONN_PAUSE_WRITE || type == CONN_PAUSE_ALL);
	if (h->pause.type == CONN_PAUSE_OFF) {
		h->pause.type = type;
		h->pause.end_ms = end_ms;
		return;
	}
	if (type > h->pause.type)
		h->pause.type = type;
	if (end_ms > h->pause.end_ms)
		h->pause.end_ms = end_ms;
}

void conn_unpause(struct conn_host *h)
{
	struct conn *c = h->postponed, *next;

	h->pause.type = CONN_PAUSE_OFF;
	h->pause.end_ms = 0;
	/* Newest first here; put on the resume list (run from its head) they
	 * run oldest first. Still CONN_F_POSTPONED until then. */
	for (; c != NULL; c = next) {
		next = c->next_postponed;
		c->next_postponed = NULL;
		c->next_resume = h->resume;
		h->resume = c;
		conn_pend(h, c);
	}
	h->postponed = NULL;
}

void conn_pause_timeouts(struct conn_host *h, int64_t now_ms)
{
	if (h->pause.type != CONN_PAUSE_OFF && h->pause.end_ms < now_ms)
		conn_unpause(h);
}

static void run_request(struct conn_host *h, struct conn *c, const char *base,
			const struct resp_arg *args, size_t nargs)
{
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = h->es };
	enum exec_verdict verdict;
	const struct cmd *cmd;
	struct cmd_ctx ctx;
	struct obuf_mark mark;
	uint32_t big = 0;
	size_t i;

	ASSERT(nargs > 0);
	if (c->argv_cap < nargs) {
		size_t cap = c->argv_cap ? c->argv_cap : CONN_ARGV_START;
		while (cap < nargs)
			cap *= 2;
		c->argv = mem_realloc(h->mem, c->argv, cap * sizeof(*c->argv));
		c->argv_cap = cap;
	}
	for (i = 0; i < nargs; i++) {
		if (args[i].off == RESP_ARG_EXTERNAL) {
			ASSERT(big < c->nbigs);
			ASSERT(c->bigs[big].idx == i);
			c->argv[i].p = c->bigs[big].v->data;
			c->argv[i].val = c->bigs[big].v;
			big++;
		} else {
			c->argv[i].p = base + args[i].off;
			c->argv[i].val = NULL;
		}
		c->argv[i].len = args[i].len;
	}
	ASSERT(big == c->nbigs);
	ctx = (struct cmd_ctx){
		.env = h->env,
		.conn = c,
		.ks = h->env->ks,
		.r = &r,
		.argv = c->argv,
		.argc = (int)nargs,
		/* The clock as the last command (or the step) left it: see
		 * cmd_run. */
		.now_ms = h->clock->now_ms,
		.authed = (c->flags & CONN_F_AUTHED) != 0,
		.no_touch = (c->flags & CONN_F_NO_TOUCH) != 0,
		.client_id = c->id,
		.track = conn_tracks_reads(c->flags),
	};
	obuf_mark(&c->out, &mark);
	cmd = cmd_check(&ctx);
	/* As Redis's lastcmd, set before it runs (CLIENT INFO shows itself),
	 * and cmd=NULL after an unknown command. */
	c->last_cmd = ctx.cmd != NULL ? ctx.cmd->id : -1;
	if (__builtin_expect(h->pause.type != CONN_PAUSE_OFF, 0) && pause_holds(h, c, cmd)) {
		postpone(h, c, c->argv, nargs); /* run_request's view: big ones too */
		return;
	}
	verdict = dispatch(h, c, &ctx, cmd, &mark);
	if (verdict == EXEC_WAIT) {
		/* The request waits for shard locks; these rules apply when it
		 * runs (conn_run_locked). Nothing more is parsed until then. */
		ASSERT(!(c->flags & CONN_F_WAIT_LOCKS));
		c->flags |= CONN_F_WAIT_LOCKS;
		return;
	}
	finish_request(h, c, &mark);
	/* Its invalidations go after its reply, before the next command's. */
	if (__builtin_expect(*h->inval_len > 0, 0))
		h->after(h->after_arg);
	/* Keys it made poppable go to their waiters before the next command,
	 * as Redis's handleClientsBlockedOnKeys. */
	if (h->env->ks->waiters.nready > 0)
		(void)h->serve_ready(h->serve_arg);
}

static void protocol_error(struct conn_host *h, struct conn *c, enum resp_status st)
{
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = h->es };
	char text[96];
	size_t n = resp_error_text(&c->parser, st, text, sizeof(text));

	reply_error_len(&r, text, n);
	h->st->protocol_errors++;
	conn_log(h, IO_LOG_VERBOSE, "Protocol error (%.*s) from client: id=%llu", (int)n, text,
		 (unsigned long long)c->id);
	conn_close(h, c, false);
}

/* Splits and runs an inline request whose line starts at base. */
static void exec_inline(struct conn_host *h, struct conn *c, const char *base)
{
	size_t len = c->parser.line_len, nargs;
	enum resp_status st;

	if (c->inl_cap < len) {
		c->inl = mem_realloc(h->mem, c->inl, len);
		c->inl_cap = len;
	}
	while ((st = resp_split_inline(base, len, c->inl, c->args, c->args_cap, &nargs)) ==
	       RESP_NEED_ARGS)
		grow_args(h, c);
	if (st != RESP_DONE) {
		protocol_error(h, c, st);
		return;
	}
	if (nargs > 0)
		run_request(h, c, c->inl, c->args, nargs);
}

/* ---- big bulks ---- */

static void bigbulk_start(struct conn_host *h, struct conn *c)
{
	size_t need = resp_bigbulk_tail(&c->parser), cap;

	ASSERT(need > 0);
	ASSERT(c->bb == NULL);
	if (reserve(h, need)) {
		cap = need;
		c->bb_reserved = need;
	} else {
		cap = need < BIGBULK_GROW_START ? need : BIGBULK_GROW_START;
		c->bb_reserved = 0;
	}
	c->bb = val_new(cap);
	c->bb_need = need;
	mem_charge(h->mem, val_size(c->bb));
}

/* Copies payload bytes into the big bulk; returns bytes consumed. When the
 * payload is complete, the argument is handed to the parser. */
static size_t bigbulk_fill(struct conn_host *h, struct conn *c, const char *p, size_t n)
{
	struct val *v = c->bb;
	size_t k = c->bb_need - v->len;

	if (k > n)
		k = n;
	if (over_limit(h, c, k))
		return n;
	if (v->len + k > v->cap) {
		size_t cap = (size_t)v->cap * 2;
		if (cap < v->len + k)
			cap = v->len + k;
		if (cap > c->bb_need)
			cap = c->bb_need;
		mem_uncharge(h->mem, val_size(v));
		v = c->bb = val_grow(v, cap);
		mem_charge(h->mem, val_size(v));
	}
	memcpy(v->data + v->len, p, k);
	v->len += (uint32_t)k;
	if (c->bb_reserved > 0) {
		size_t r = k < c->bb_reserved ? k : c->bb_reserved;
		c->bb_reserved -= r;
		unreserve(h, r);
	}
	if (v->len == c->bb_need) {
		/* Like Redis, the two bytes after the payload are not checked;
		 * sealing writes the CRLF every val carries. */
		if (c->nbigs == c->bigs_cap) {
			c->bigs_cap = c->bigs_cap ? c->bigs_cap * 2 : 4;
			c->bigs = mem_realloc(h->mem, c->bigs, c->bigs_cap * sizeof(*c->bigs));
		}
		val_seal(v, c->bb_need - 2);
		c->bigs[c->nbigs].idx = (uint32_t)c->parser.nargs;
		c->bigs[c->nbigs].v = v;
		c->nbigs++;
		c->bb = NULL;
		ASSERT(c->bb_reserved == 0);
		resp_bigbulk_done(&c->parser, c->args, c->args_cap);
	}
	return k;
}

/* ---- parsing modes ---- */

/* Parses and runs requests from data while nothing is pending. Returns the
 * bytes consumed: all of them, or up to the start of a big bulk's payload. */
static size_t feed_direct(struct conn_host *h, struct conn *c, const char *data, size_t n)
{
	size_t used = 0;

	while (used < n && !halted(c)) {
		const char *p = data + used;
		size_t len = n - used;
		enum resp_status st = resp_parse(&c->parser, p, len, c->args, c->args_cap);

		switch (st) {
		case RESP_DONE:
			run_request(h, c, p, c->args, (size_t)c->parser.nargs);
			used += c->parser.pos;
			request_done(h, c);
			break;
		case RESP_INLINE:
			exec_inline(h, c, p);
			used += c->parser.pos;
			request_done(h, c);
			break;
		case RESP_EMPTY:
			used += c->parser.pos;
			request_done(h, c);
			break;
		case RESP_NEED_ARGS: grow_args(h, c); break;
		case RESP_NEED_MORE:
			/* Only the unparsed tail is copied. */
			qbuf_append(h, c, p, len);
			return n;
		case RESP_BIGBULK:
			qbuf_append(h, c, p, c->parser.pos);
			bigbulk_start(h, c);
			return used + c->parser.pos;
		default: protocol_error(h, c, st); return n;
		}
	}
	return stopped(c) ? n : used;
}

/* How many bytes of data the pending request can use before the parser
 * could need to look again: the rest of a payload, or up to a line end. */
static size_t bytes_wanted(const struct conn *c, const char *data, size_t n)
{
	const struct resp_parser *p = &c->parser;
	const char *nl;

	if (p->state == RESP_S_PAYLOAD) {
		size_t end = p->pos + (size_t)p->bulk + 2;
		ASSERT(end > c->qlen);
		return end - c->qlen < n ? end - c->qlen : n;
	}
	nl = memchr(data, '\n', n);
	return nl != NULL ? (size_t)(nl - data) + 1 : n;
}

/* Feeds a request that is pending in qbuf. Returns bytes of data consumed;
 * after it, either the request is still pending, or it ran and what follows
 * is parsed directly. */
static size_t feed_pending(struct conn_host *h, struct conn *c, const char *data, size_t n)
{
	size_t take = n > 0 ? bytes_wanted(c, data, n) : 0, extra;
	enum resp_status st;

	/* A request whose last argument was a big bulk is already complete. */
	if (c->parser.state == RESP_S_HEADER && c->parser.nargs == c->parser.argc)
		take = 0;

	if (take > 0) {
		if (over_limit(h, c, take))
			return n;
		qbuf_append(h, c, data, take);
	}
	for (;;) {
		st = resp_parse(&c->parser, c->qbuf, c->qlen, c->args, c->args_cap);
		if (st != RESP_NEED_ARGS)
			break;
		grow_args(h, c);
	}
	switch (st) {
	case RESP_NEED_MORE: return take;
	case RESP_DONE: run_request(h, c, c->qbuf, c->args, (size_t)c->parser.nargs); break;
	case RESP_INLINE: exec_inline(h, c, c->qbuf); break;
	case RESP_EMPTY: break;
	case RESP_BIGBULK:
		/* Bytes after the header came from this data: give them back so
		 * they go to the big bulk. */
		extra = c->qlen - c->parser.pos;
		ASSERT(extra <= take);
		c->qlen = c->parser.pos;
		bigbulk_start(h, c);
		return take - extra;
	default: protocol_error(h, c, st); return n;
	}
	/* The request ended inside the bytes just appended; the rest of them
	 * is parsed again, directly. */
	extra = c->qlen - c->parser.pos;
	ASSERT(extra <= take);
	c->qlen = 0;
	request_done(h, c);
	return stopped(c) ? n : take - extra;
}

static void conn_feed(struct conn_host *h, struct conn *c, const char *data, size_t n)
{
	while (!stopped(c)) {
		size_t k;
		if (c->flags & (CONN_F_WAIT_LOCKS | CONN_F_BLOCKED | CONN_F_POSTPONED)) {
			/* Kept whole, parsed once the span has run or the
			 * block or pause has ended. */
			if (n > 0 && !over_limit(h, c, n))
				qbuf_append(h, c, data, n);
			return;
		}
		if (c->bb != NULL) {
			if (n == 0)
				return;
			k = bigbulk_fill(h, c, data, n);
			data += k;
			n -= k;
			if (c->bb != NULL || stopped(c))
				return;
			/* The big bulk is complete: the request may be too. */
			k = feed_pending(h, c, data, n);
		} else if (n == 0) {
			return;
		} else if (c->qlen > 0) {
			k = feed_pending(h, c, data, n);
			ASSERT(k > 0);
		} else {
			k = feed_direct(h, c, data, n);
			ASSERT(k > 0 || (c->flags &
					 (CONN_F_WAIT_LOCKS | CONN_F_BLOCKED | CONN_F_POSTPONED)));
		}
		data += k;
		n -= k;
	}
}

/* Routed again holding its slot's shard (routed_away): refused there, or
 * run. */
static bool rerouted_away(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
			  const struct cmd *cmd)
{
	int keys[1];

	c->flags &= ~CONN_F_REROUTE;
	if (routed_away(h, c, ctx, cmd))
		return true;
	/* It runs here on its key's keyspace, which another shard holds (as
	 * EXEC runs a queued command). */
	if (cmd_key_positions(cmd, ctx->argv, ctx->argc, keys, 1) >= 1)
		ctx->ks = cmd_ks(ctx, ctx->argv[keys[0]].p, ctx->argv[keys[0]].len);
	return false;
}

void conn_run_locked(struct conn_host *h, struct conn *c, struct cmd_ctx *ctx,
		     const struct cmd *cmd)
{
	struct obuf_mark mark;

	ASSERT(c->flags & CONN_F_WAIT_LOCKS);
	ASSERT(ctx->locked != NULL);
	/* A pause that began while it waited for the locks holds it now: it
	 * runs again, from the start, when the pause ends (an atomic
	 * migration's last pass must see every write acknowledged). Not a
	 * blocked pop's re-run, which stays registered with its keys. */
	if (__builtin_expect(h->pause.type != CONN_PAUSE_OFF, 0) && !(c->flags & CONN_F_BLOCKED) &&
	    pause_holds(h, c, cmd)) {
		c->flags &= ~(CONN_F_WAIT_LOCKS | CONN_F_REROUTE);
		postpone(h, c, ctx->argv, (size_t)ctx->argc);
		return;
	}
	obuf_mark(&c->out, &mark);
	if (!(c->flags & CONN_F_REROUTE) || !rerouted_away(h, c, ctx, cmd))
		cmd_run(ctx, cmd);
	finish_request(h, c, &mark);
	if (*h->inval_len > 0)
		h->after(h->after_arg);
	if (c->flags & CONN_F_BLOCKED) {
		/* A blocking pop that blocked, or that ran again for its keys
		 * and stays blocked, or ended its block (then conn_unblock
		 * queued it to resume): it waits for its keys, not for locks. */
		c->flags &= ~CONN_F_WAIT_LOCKS;
		conn_pend(h, c);
		return;
	}
	/* Still waiting until conn_resume(): input arriving before then must
	 * queue behind what was kept, or requests would run out of order. */
	c->next_resume = h->resume;
	h->resume = c;
	conn_pend(h, c);
}

void conn_take_reply(struct conn_host *h, struct conn *c, struct obuf_chunk *hold,
		     struct obuf *reply)
{
	obuf_fill(&c->out, hold, reply);
	conn_check_output_limit(h, c);
	conn_pend(h, c);
}

/* Runs the request CLIENT PAUSE held (which may be held again). */
static void run_postponed(struct conn_host *h, struct conn *c)
{
	struct conn_postponed *p = c->postponed;

	ASSERT(p != NULL && c->nbigs == 0);
	c->postponed = NULL;
	c->flags &= ~CONN_F_POSTPONED;
	/* A client killed meanwhile (CLIENT KILL) never runs it. */
	if (!stopped(c))
		run_request(h, c, p->bytes, p->args, p->nargs);
	mem_free(h->mem, p);
}

void conn_resume(struct conn_host *h, struct conn *c)
{
	char *buf;
	size_t len;

	ASSERT(c->flags & (CONN_F_WAIT_LOCKS | CONN_F_BLOCKED | CONN_F_POSTPONED));
	ASSERT(c->parser.state == RESP_S_START);
	if (c->flags & CONN_F_POSTPONED)
		run_postponed(h, c);
	else
		c->flags &= ~(CONN_F_WAIT_LOCKS | CONN_F_BLOCKED);
	buf = c->qbuf;
	len = c->qlen;
	c->qbuf = NULL;
	c->qlen = c->qcap = 0;
	if (len > 0)
		conn_feed(h, c, buf, len);
	mem_free(h->mem, buf);
	conn_pend(h, c);
}

/* ---- blocked connections ---- */

void conn_block(struct conn_host *h, struct conn *c, int64_t until_ms)
{
	ASSERT(!(c->flags & CONN_F_BLOCKED));
	ASSERT(until_ms >= 0);
	c->flags |= CONN_F_BLOCKED;
	c->blocked_until = until_ms;
	c->next_blocked = h->blocked;
	h->blocked = c;
}

/* Takes c off the list of blocked connections. */
static void unlink_blocked(struct conn_host *h, struct conn *c)
{
	struct conn **p;

	for (p = &h->blocked; *p != c; p = &(*p)->next_blocked)
		ASSERT(*p != NULL);
	*p = c->next_blocked;
	c->next_blocked = NULL;
}

void conn_unblock(struct conn_host *h, struct conn *c)
{
	ASSERT(c->flags & CONN_F_BLOCKED);
	ASSERT(c->blocked_until >= 0);
	unlink_blocked(h, c);
	c->blocked_until = -1; /* off the list */
	/* Still CONN_F_BLOCKED, so nothing is parsed before conn_resume(),
	 * which the shard runs at its next turn (never from inside another
	 * client's command). */
	c->next_resume = h->resume;
	h->resume = c;
	conn_pend(h, c);
}

void conn_block_expire(struct conn_host *h, struct conn *c)
{
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = h->es };

	/* WAIT's answer when its time is up: the replicas that acknowledged,
	 * none (there is no replication yet). */
	reply_int(&r, 0);
	conn_check_output_limit(h, c);
	conn_unblock(h, c);
}

void conn_block_timeouts(struct conn_host *h, int64_t now_ms)
{
	struct conn *c = h->blocked, *next;

	for (; c != NULL; c = next) {
		next = c->next_blocked;
		ASSERT(c->blocked_until >= 0);
		if (c->blocked_until != 0 && c->blocked_until <= now_ms)
			conn_block_expire(h, c);
	}
}

/* ---- completions ---- */

void conn_on_recv(struct conn_host *h, struct conn *c, const struct io_cqe *cqe)
{
	bool stopping = (c->flags & CONN_F_RECV_STOPPING) != 0;

	if (!(cqe->flags & IO_F_MORE))
		c->flags &= ~(CONN_F_RECV_ARMED | CONN_F_RECV_STOPPING);
	if (cqe->res > 0) {
		ASSERT(cqe->flags & IO_F_BUFFER);
		c->zero_reads = 0;
		h->st->net_input_bytes += (uint64_t)cqe->res;
		h->st->reads_processed++;
		c->last_ms = h->clock->now_ms;
		if (!stopped(c))
			conn_feed(h, c, io_buf(h->io, cqe->buf), (size_t)cqe->res);
	} else if (cqe->res == 0) {
		/* 0 bytes with SOCK_NONEMPTY is not end of file: read again. But
		 * Linux also sets the flag after a FIN (tcp_inq_hint answers 1 so
		 * that readers come back and see the 0), so a second 0 in a row
		 * is end of file whatever the flag says. */
		if (!(cqe->flags & IO_F_SOCK_NONEMPTY) || c->zero_reads++ > 0)
			conn_close(h, c, true);
	} else if (cqe->res != -ENOBUFS && !(cqe->res == -ECANCELED && stopping)) {
		conn_close(h, c, true);
	}
	if (cqe->flags & IO_F_BUFFER)
		io_buf_recycle(h->io, cqe->buf);
	if (!(c->flags & CONN_F_RECV_ARMED) && !stopped(c))
		c->flags |= CONN_F_RECV_WANT;
	if ((c->flags & CONN_F_RECV_WANT) || c->out.bytes > 0 || stopped(c))
		conn_pend(h, c);
}

/* Whether the connection holds more unsent output, or more requests
 * waiting for another shard, than client-output-backpressure allows
 * (shift 1: than half of it, to read again). */
static bool over_backpressure(const struct conn_host *h, const struct conn *c, unsigned shift)
{
	uint64_t lim = (uint64_t)h->cfg->client_output_backpressure;

	return lim > 0 && ((uint64_t)c->out.bytes > lim >> shift ||
			   c->out.holds > (uint32_t)CLIENT_BACKPRESSURE_HOLDS >> shift);
}

/* Backpressure: pauses a connection over the bound and stops its recv;
 * resumes it once under half. Returns false if io_recv_stop was busy. */
static bool apply_backpressure(struct conn_host *h, struct conn *c)
{
	int rc;

	if (!(c->flags & CONN_F_PAUSED)) {
		if (!over_backpressure(h, c, 0))
			return true;
		c->flags |= CONN_F_PAUSED;
		h->st->backpressure_pauses++;
	} else if (!over_backpressure(h, c, 1)) {
		/* Its recv ended while paused, and asked to be re-armed. */
		c->flags &= ~CONN_F_PAUSED;
		ASSERT(c->flags & (CONN_F_RECV_ARMED | CONN_F_RECV_WANT));
		return true;
	}
	if ((c->flags & (CONN_F_RECV_ARMED | CONN_F_RECV_STOPPING)) != CONN_F_RECV_ARMED)
		return true;
	rc = io_recv_stop(h->io, c->sock);
	if (rc == -EBUSY)
		return false;
	ASSERT(rc == 0);
	c->flags |= CONN_F_RECV_STOPPING;
	return true;
}

void conn_on_write(struct conn_host *h, struct conn *c, const struct io_cqe *cqe)
{
	ASSERT(c->flags & CONN_F_WRITING);
	c->flags &= ~CONN_F_WRITING;
	if (cqe->res < 0) {
		c->inflight = 0;
		conn_close(h, c, true);
		return;
	}
	ASSERT((size_t)cqe->res <= c->inflight);
	obuf_consume(&c->out, (size_t)cqe->res);
	c->inflight = 0;
	h->st->net_output_bytes += (uint64_t)cqe->res;
	h->st->writes_processed++;
	if (c->out.bytes > 0 || stopped(c) || (c->flags & CONN_F_PAUSED))
		conn_pend(h, c);
}

bool conn_service(struct conn_host *h, struct conn *c)
{
	int rc;

	if (c->flags & CONN_F_CLOSING)
		return true;
	if ((c->flags & CONN_F_CLOSE_NOW) ||
	    ((c->flags & CONN_F_CLOSE_ASAP) && !(c->flags & CONN_F_WRITING) &&
	     obuf_empty(&c->out))) {
		rc = io_close(h->io, c->sock, ud_encode(IO_OP_CLOSE, c->gen, c->idx));
		if (rc == -EBUSY)
			return false;
		ASSERT(rc == 0);
		c->flags |= CONN_F_CLOSING;
		return true;
	}
	if (!stopped(c) && !apply_backpressure(h, c))
		return false;
	if ((c->flags & (CONN_F_RECV_WANT | CONN_F_PAUSED)) == CONN_F_RECV_WANT && !stopped(c)) {
		rc = io_recv(h->io, c->sock, ud_encode(IO_OP_RECV, c->gen, c->idx));
		if (rc == -EBUSY)
			return false;
		c->flags &= ~CONN_F_RECV_WANT;
		if (rc < 0) {
			conn_close(h, c, true);
			return conn_service(h, c);
		}
		c->flags |= CONN_F_RECV_ARMED;
	}
	if (!(c->flags & CONN_F_WRITING) && c->out.bytes > 0) {
		int n = obuf_iov(&c->out, c->iov, OBUF_IOV_MAX), i;
		size_t bytes = 0;
		if (n == 0)
			return true; /* waiting for a held reply */
		for (i = 0; i < n; i++)
			bytes += c->iov[i].iov_len;
		rc = io_writev(h->io, c->sock, c->iov, n, ud_encode(IO_OP_WRITEV, c->gen, c->idx));
		if (rc == -EBUSY)
			return false;
		if (rc < 0) {
			conn_close(h, c, true);
			return conn_service(h, c);
		}
		c->inflight = bytes;
		c->flags |= CONN_F_WRITING;
	}
	return true;
}
