/* blocked.c: see blocked.h.
 *
 * Messages: MSG_BLOCK_OFFER (an owner offers one of its keys to a waiter
 * of another shard) and MSG_BLOCK_DONE (a block is done with keys of the
 * receiver: drop its waiters or keep them, and clear the offers to it).
 * Each is freed by its receiver. Between two shards messages keep their
 * order, so a drop sent when a block ends arrives before any decline of a
 * later offer. */
#include "shard/blocked.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "cluster/redirect.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/stats.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/exec.h"
#include "shard/lock.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* Ready keys offered per call of blocked_serve_ready: the rest wait for
 * the next step, so one step stays bounded. */
#define BLOCKED_SERVE_MAX 1024

#define ERR_UNBLOCKED "-UNBLOCKED client unblocked via CLIENT UNBLOCK"

struct offer_msg {
	struct xmsg h;
	uint64_t id;
	uint32_t idx, gen;
	int argc; /* 1: the key */
	struct cmd_arg *argv;
};

struct done_msg {
	struct xmsg h;
	uint64_t id;
	bool drop;
	int argc; /* the keys */
	struct cmd_arg *argv;
};

void blocked_init(struct blocked_host *bh, struct conn_host *ch, struct conns *conns,
		  struct exec *exec, struct lock *lock, struct xshard *x, struct cmd_env *env,
		  struct mem *mem)
{
	memset(bh, 0, sizeof(*bh));
	bh->ch = ch;
	bh->conns = conns;
	bh->exec = exec;
	bh->lock = lock;
	bh->x = x;
	bh->env = env;
	bh->mem = mem;
}

static unsigned owner(const struct cmd_env *env, const struct cmd_arg *k)
{
	return env->nshards == 1 ? env->self : env->slot_shard[hash_slot(k->p, k->len)];
}

static bool held(const struct cmd_env *env, const uint64_t *locked, unsigned s)
{
	return s == env->self || (locked != NULL && ((locked[s / 64] >> (s % 64)) & 1));
}

static bool closing(const struct conn *c)
{
	return (c->flags & (CONN_F_CLOSE_ASAP | CONN_F_CLOSE_NOW | CONN_F_CLOSING)) != 0;
}

/* Whether argv[i] repeats an earlier key of the block (BLPOP k k 0). */
static bool dup_key(const struct blocked_req *b, int i)
{
	int j;

	for (j = b->first; j < i; j++)
		if (b->argv[j].len == b->argv[i].len &&
		    memcmp(b->argv[j].p, b->argv[i].p, b->argv[i].len) == 0)
			return true;
	return false;
}

static void send_done_keys(struct blocked_host *bh, unsigned s, uint64_t id, bool drop,
			   const struct cmd_arg *keys, int n)
{
	struct cmd_arg *packed;
	struct done_msg *m = msg_new(bh->mem, MSG_BLOCK_DONE, sizeof(*m), keys, n, &packed);

	ASSERT(s != bh->env->self);
	m->id = id;
	m->drop = drop;
	m->argc = n;
	m->argv = packed;
	xshard_send(bh->x, s, &m->h);
}

/* Sends shard s one MSG_BLOCK_DONE with every key of b that lives there. */
static void send_done(struct blocked_host *bh, const struct blocked_req *b, unsigned s, bool drop)
{
	struct cmd_arg *keys = mem_alloc(bh->mem, (size_t)b->nkeys * sizeof(*keys));
	int i, n = 0;

	for (i = b->first; i < b->first + b->nkeys; i++)
		if (!dup_key(b, i) && owner(bh->env, &b->argv[i]) == s)
			keys[n++] = (struct cmd_arg){ .p = b->argv[i].p, .len = b->argv[i].len };
	send_done_keys(bh, s, b->id, drop, keys, n);
	mem_free(bh->mem, keys);
}

/* b is done with its keys: its waiters go (drop) or stay, and the offers
 * to it are cleared, directly on the shards held (this one, and those in
 * locked), by a message to each other. */
static void release_keys(struct blocked_host *bh, const struct blocked_req *b,
			 const uint64_t *locked, bool drop)
{
	uint64_t sent[XSHARD_WORDS] = { 0 };
	int i;

	for (i = b->first; i < b->first + b->nkeys; i++) {
		const struct cmd_arg *k = &b->argv[i];
		unsigned s = owner(bh->env, k);
		if (held(bh->env, locked, s)) {
			(void)waiters_done(&bh->env->keyspaces[s]->waiters, k->p, k->len, b->id,
					   drop);
		} else if (!((sent[s / 64] >> (s % 64)) & 1)) {
			sent[s / 64] |= 1ull << (s % 64);
			send_done(bh, b, s, drop);
		}
	}
}

static void unlink_req(struct blocked_host *bh, struct blocked_req *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		bh->list = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	ASSERT(bh->n > 0);
	bh->n--;
	if (b->until_ms != 0)
		bh->n_timed--;
	ASSERT(b->c->blk == b);
	b->c->blk = NULL;
}

static void free_req(struct blocked_host *bh, struct blocked_req *b)
{
	/* A re-run running here reads its arguments from this copy. */
	if (b->running) {
		b->ended = true;
		return;
	}
	msg_unpack(bh->mem, b, b->argv, b->argc);
}

/* The block ends: its waiters go, the client reads its requests again. */
static void end_block(struct blocked_host *bh, struct blocked_req *b, const uint64_t *locked)
{
	struct conn *c = b->c;

	release_keys(bh, b, locked, true);
	unlink_req(bh, b);
	conn_unblock(bh->ch, c);
	free_req(bh, b);
}

/* Counts a blocked command that ends without running again, as Redis's
 * updateStatsOnUnblock: its time was up, or CLIENT UNBLOCK ended it
 * (failed, with either reply, as Redis 7.0 counts it). */
static void count_unblocked(struct blocked_host *bh, const struct blocked_req *b, bool failed)
{
	bh->env->cstat[b->cmd->id].calls++;
	bh->env->cstat[b->cmd->id].failed += failed;
	bh->env->st->commands_processed++;
}

/* Redis's replyToBlockedClientTimedOut for the blocking pops: a null
 * array, whatever the command; or (error) CLIENT UNBLOCK's error. */
static void unblock_reply(struct blocked_host *bh, struct blocked_req *b, bool error)
{
	struct conn *c = b->c;
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = bh->ch->es };

	if (error)
		reply_error(&r, ERR_UNBLOCKED);
	else
		reply_null_array(&r);
	conn_check_output_limit(bh->ch, c);
}

static void expire_block(struct blocked_host *bh, struct blocked_req *b, const uint64_t *locked)
{
	unblock_reply(bh, b, false);
	count_unblocked(bh, b, false);
	end_block(bh, b, locked);
}

bool blocked_rerun(const struct conn *c)
{
	return c->blk != NULL && c->blk->rerun;
}

void blocked_block(struct blocked_host *bh, struct cmd_ctx *ctx, int first, int nkeys, uint8_t type,
		   int64_t until_ms)
{
	const struct cmd_env *env = bh->env;
	struct conn *c = ctx->conn;
	size_t head = (sizeof(struct blocked_req) + sizeof(void *) - 1) / sizeof(void *) *
		      sizeof(void *);
	struct blocked_req *b;
	struct cmd_arg *copy;
	int i;

	ASSERT(c != NULL);
	ASSERT(c->blk == NULL);
	ASSERT(nkeys >= 1 && first >= 1 && first + nkeys <= ctx->argc);
	ASSERT(until_ms >= 0);
	b = msg_pack(bh->mem, head, ctx->argv, ctx->argc, &copy);
	b->c = c;
	b->id = (++bh->next_id << 16) | env->self; /* unique on the node */
	b->cmd = ctx->cmd;
	b->argc = ctx->argc;
	b->argv = copy;
	b->first = first;
	b->nkeys = nkeys;
	b->type = type;
	b->until_ms = until_ms;
	for (i = first; i < first + nkeys; i++) {
		const struct cmd_arg *k = &copy[i];
		struct waiter w = { .id = b->id,
				    .idx = c->idx,
				    .gen = c->gen,
				    .shard = (uint16_t)env->self,
				    .type = type };
		unsigned s = owner(env, k);
		/* Pairs with the route: a blocking command runs holding the
		 * shards of all its keys. */
		ASSERT(held(env, ctx->locked, s));
		if (!dup_key(b, i))
			waiters_add(&env->keyspaces[s]->waiters, k->p, k->len, &w);
	}
	b->next = bh->list;
	if (bh->list != NULL)
		bh->list->prev = b;
	bh->list = b;
	bh->n++;
	if (until_ms != 0)
		bh->n_timed++;
	c->blk = b;
	conn_block(bh->ch, c, 0); /* the timeout is blocked_timeouts' */
	ctx->blocked = true;
}

bool blocked_cancelled(struct blocked_host *bh, struct cmd_ctx *ctx)
{
	struct conn *c = ctx->conn;
	struct blocked_req *b = c->blk;

	ASSERT(b != NULL && b->rerun);
	if (!closing(c) && b->cancel == BLOCKED_CANCEL_NONE)
		return false;
	b->rerun = false;
	ctx->blocked = true; /* counted here, if at all */
	/* It never pops for a client that is leaving, nor answers it. */
	if (!closing(c)) {
		unblock_reply(bh, b, b->cancel == BLOCKED_CANCEL_ERROR);
		count_unblocked(bh, b, true);
	}
	end_block(bh, b, ctx->locked);
	return true;
}

void blocked_served(struct blocked_host *bh, struct cmd_ctx *ctx)
{
	struct blocked_req *b = ctx->conn->blk;

	ASSERT(b != NULL && b->rerun);
	b->rerun = false;
	end_block(bh, b, ctx->locked);
}

void blocked_stay(struct blocked_host *bh, struct cmd_ctx *ctx)
{
	struct blocked_req *b = ctx->conn->blk;

	ASSERT(b != NULL && b->rerun);
	b->rerun = false;
	ctx->blocked = true;
	release_keys(bh, b, ctx->locked, false);
	if (b->until_ms != 0 && b->until_ms <= ctx->now_ms)
		expire_block(bh, b, ctx->locked);
}

bool blocked_unblock(struct blocked_host *bh, struct conn *c, bool error, const uint64_t *locked)
{
	struct blocked_req *b = c->blk;

	if (b == NULL || b->cancel != BLOCKED_CANCEL_NONE)
		return false;
	if (b->rerun) {
		/* Its re-run waits for locks: it answers so when it runs. */
		b->cancel = error ? BLOCKED_CANCEL_ERROR : BLOCKED_CANCEL_TIMEOUT;
		return true;
	}
	unblock_reply(bh, b, error);
	count_unblocked(bh, b, true);
	end_block(bh, b, locked);
	return true;
}

void blocked_expire_now(struct blocked_host *bh, struct conn *c)
{
	ASSERT(c->blk != NULL && !c->blk->rerun);
	expire_block(bh, c->blk, NULL);
}

void blocked_timeouts(struct blocked_host *bh, int64_t now_ms)
{
	struct blocked_req *b, *next;

	if (bh->n_timed == 0)
		return;
	for (b = bh->list; b != NULL; b = next) {
		next = b->next;
		if (!b->rerun && b->until_ms != 0 && b->until_ms <= now_ms)
			expire_block(bh, b, NULL);
	}
}

void blocked_forget(struct blocked_host *bh, struct conn *c)
{
	struct blocked_req *b = c->blk;

	if (b == NULL)
		return;
	release_keys(bh, b, NULL, true);
	unlink_req(bh, b);
	free_req(bh, b);
}

void blocked_release(struct blocked_host *bh, struct conn *c)
{
	struct blocked_req *b = c->blk;

	if (b == NULL)
		return;
	unlink_req(bh, b);
	free_req(bh, b);
}

/* ---- offers ---- */

/* Runs c's blocked command again here (every key's shard is this one). */
static void rerun_here(struct blocked_host *bh, struct conn *c)
{
	struct blocked_req *b = c->blk;
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = bh->ch->es };
	struct cmd_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.env = bh->env;
	ctx.conn = c;
	ctx.ks = bh->env->ks;
	ctx.r = &r;
	ctx.argv = b->argv;
	ctx.argc = b->argc;
	ctx.now_ms = bh->env->clock->now_ms;
	ctx.authed = true; /* checked when it was parsed */
	ctx.no_touch = (c->flags & CONN_F_NO_TOUCH) != 0;
	ctx.client_id = c->id;
	b->running = true;
	cmd_run(&ctx, b->cmd);
	b->running = false;
	if (b->ended)
		msg_unpack(bh->mem, b, b->argv, b->argc);
	conn_check_output_limit(bh->ch, c);
	conn_pend(bh->ch, c);
}

/* Runs c's blocked command again for an offered key: here, or as a span
 * holding the shards of its keys (the connection waits for the locks, and
 * conn_run_locked runs it). */
static void start_rerun(struct blocked_host *bh, struct conn *c)
{
	struct blocked_req *b = c->blk;
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = bh->ch->es };
	uint64_t mask[XSHARD_WORDS] = { 0 };
	unsigned self = bh->env->self, i;
	struct cmd_ctx q;
	bool others = false;

	ASSERT(!b->rerun);
	ASSERT(!(c->flags & CONN_F_WAIT_LOCKS));
	b->rerun = true;
	memset(&q, 0, sizeof(q));
	q.env = bh->env;
	q.conn = c;
	q.ks = bh->env->ks;
	q.r = &r;
	exec_shards(bh->exec, &q, b->cmd, b->argv, b->argc, mask);
	mask[self / 64] &= ~(1ull << (self % 64));
	for (i = 0; i < XSHARD_WORDS; i++)
		others |= mask[i] != 0;
	if (!others) {
		rerun_here(bh, c);
		return;
	}
	c->flags |= CONN_F_WAIT_LOCKS;
	lock_span_start(bh->lock, b->cmd, b->argv, b->argc, mask, c->idx, c->gen, c->proto);
}

/* Key (of shard from) was offered to block id of connection (idx, gen)
 * here: it runs again, or declines if it is no longer blocked. */
static void offer(struct blocked_host *bh, unsigned from, const char *key, size_t klen, uint64_t id,
		  uint32_t idx, uint32_t gen)
{
	struct conn *c = conns_get(bh->conns, idx, gen);

	if (c == NULL || c->blk == NULL || c->blk->id != id || closing(c)) {
		struct cmd_arg k = { .p = key, .len = klen };
		if (from == bh->env->self)
			(void)waiters_done(&bh->env->ks->waiters, key, klen, id, true);
		else
			send_done_keys(bh, from, id, true, &k, 1);
		return;
	}
	/* A re-run under way answers for every key of the block. */
	if (!c->blk->rerun)
		start_rerun(bh, c);
}

static void send_offer(struct blocked_host *bh, const struct waiter *w, const char *key,
		       size_t klen)
{
	struct cmd_arg k = { .p = key, .len = klen }, *packed;
	struct offer_msg *m = msg_new(bh->mem, MSG_BLOCK_OFFER, sizeof(*m), &k, 1, &packed);

	m->id = w->id;
	m->idx = w->idx;
	m->gen = w->gen;
	m->argc = 1;
	m->argv = packed;
	xshard_send(bh->x, w->shard, &m->h);
}

bool blocked_serve_ready(struct blocked_host *bh)
{
	struct keyspace *ks = bh->env->ks;
	struct waiters *t = &ks->waiters;
	unsigned budget = BLOCKED_SERVE_MAX;
	const char *key;
	size_t klen;
	bool any = false;

	while (budget-- > 0 && waiters_take_ready(t, &key, &klen)) {
		struct kv *e = ks_peek(ks, key, klen);
		struct waiter w;
		any = true;
		if (e == NULL || (e->type != KV_LIST && e->type != KV_ZSET))
			continue;
		if (!waiters_offer(t, key, klen, e->type, &w))
			continue;
		if (w.shard == bh->env->self)
			offer(bh, w.shard, key, klen, w.id, w.idx, w.gen);
		else
			send_offer(bh, &w, key, klen);
	}
	return any;
}

void blocked_message(struct blocked_host *bh, struct xmsg *m)
{
	ASSERT(m->dst == bh->env->self);
	if (m->kind == MSG_BLOCK_OFFER) {
		struct offer_msg *o = (struct offer_msg *)m;
		ASSERT(o->argc == 1);
		offer(bh, m->src, o->argv[0].p, o->argv[0].len, o->id, o->idx, o->gen);
		msg_free(bh->mem, m, o->argv, o->argc);
	} else {
		struct done_msg *d = (struct done_msg *)m;
		int i;
		ASSERT(m->kind == MSG_BLOCK_DONE);
		for (i = 0; i < d->argc; i++)
			(void)waiters_done(&bh->env->ks->waiters, d->argv[i].p, d->argv[i].len,
					   d->id, d->drop);
		msg_free(bh->mem, m, d->argv, d->argc);
	}
}

void blocked_drop_message(struct mem *mem, struct xmsg *m)
{
	if (m->kind == MSG_BLOCK_OFFER) {
		struct offer_msg *o = (struct offer_msg *)m;
		msg_free(mem, m, o->argv, o->argc);
	} else {
		struct done_msg *d = (struct done_msg *)m;
		ASSERT(m->kind == MSG_BLOCK_DONE);
		msg_free(mem, m, d->argv, d->argc);
	}
}

void blocked_cluster_check(struct blocked_host *bh, const struct cluster_view *v)
{
	struct blocked_req *b, *next;

	for (b = bh->list; b != NULL; b = next) {
		struct redirect_out out = { .kind = REDIRECT_HERE, .node = REDIRECT_NONE_NODE };
		struct reply r = { .ob = &b->c->out, .proto = b->c->proto, .es = bh->ch->es };
		char err[128];
		size_t n;

		next = b->next;
		if (b->rerun || b->nkeys == 0)
			continue;
		out.slot = hash_slot(b->argv[b->first].p, b->argv[b->first].len);
		if (!v->ok) {
			out.kind = REDIRECT_DOWN;
		} else if (v->owner[out.slot] == REDIRECT_NONE_NODE) {
			out.kind = REDIRECT_UNBOUND;
		} else if (v->owner[out.slot] != v->myself && !v->importing[out.slot]) {
			out.kind = REDIRECT_MOVED;
			out.node = v->owner[out.slot];
		} else {
			continue;
		}
		n = redirect_error(v, &out, err, sizeof(err));
		reply_errorf(&r, "-%.*s", (int)n, err);
		conn_check_output_limit(bh->ch, b->c);
		count_unblocked(bh, b, true);
		end_block(bh, b, NULL);
	}
}
