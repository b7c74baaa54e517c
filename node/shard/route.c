/* route.c: where a request runs, and forwarding. See route.h.
 *
 * A forwarded request is one message (struct fwd_msg): MSG_REQ on its way
 * out, with its command and copied arguments, the origin connection (entry,
 * generation) and its HOLD placeholder; MSG_REPLY on its way back, with the
 * reply in its own obuf. It belongs to whoever holds it; the origin frees it
 * once its reply is delivered. Only the origin ever touches a HOLD chunk. */
#include "shard/route.h"

#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cluster/redirect.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* Chunks of a forwarded reply: small, since most replies are. */
#define ROUTE_REPLY_CHUNK 512

struct fwd_msg {
	struct xmsg h; /* h.kind: MSG_REQ or MSG_REPLY */
	uint8_t proto;
	bool no_touch; /* its client's CLIENT NO-TOUCH */
	bool track;    /* its client's CLIENT TRACKING remembers its keys */
	uint64_t client_id;
	uint32_t conn_idx, conn_gen;
	struct obuf_chunk *hold;
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv;
	struct mem mem; /* the reply's chunks, until the origin takes them */
	struct obuf out;
};

void route_init(struct route *rt, struct xshard *x, struct cmd_env *env)
{
	rt->x = x;
	rt->env = env;
}

/* Marks the owner of argument i in mask; returns 1 if it is new there. */
static unsigned mark_owner(const struct cmd_env *env, const struct cmd_ctx *c, int i,
			   uint64_t *mask, unsigned *one)
{
	unsigned s = env->slot_shard[hash_slot(c->argv[i].p, c->argv[i].len)];

	ASSERT(s < env->nshards);
	if (mask[s / 64] >> (s % 64) & 1)
		return 0;
	mask[s / 64] |= 1ull << (s % 64);
	*one = s;
	return 1;
}

/* Marks the owners of the request's keys in mask (the legacy range, then
 * a keynum command's counted keys: cmd_key_positions without its array);
 * returns how many different shards, and one of them in *one. */
static unsigned key_owners(const struct cmd_env *env, const struct cmd_ctx *c, uint64_t *mask,
			   unsigned *one)
{
	const struct cmd *cmd = c->cmd;
	int first = cmd->first_key, last, i, n;
	unsigned count = 0;

	if (cmd->id == CMDID_MIGRATE) {
		n = cmd_migrate_keys(c->argv, c->argc, &first);
		for (i = 0; i < n; i++)
			count += mark_owner(env, c, first + i, mask, one);
		return count;
	}
	if (first > 0) {
		last = cmd->last_key < 0 ? c->argc + cmd->last_key : cmd->last_key;
		for (i = first; i <= last && i < c->argc; i += cmd->key_step)
			count += mark_owner(env, c, i, mask, one);
	}
	n = cmd_keynum_keys(cmd, c->argv, c->argc, &first);
	for (i = 0; i < n; i++)
		count += mark_owner(env, c, first + i, mask, one);
	i = cmd_extra_key(cmd, c->argv, c->argc);
	if (i > 0)
		count += mark_owner(env, c, i, mask, one);
	return count;
}

enum route_where route_plan(const struct route *rt, const struct cmd_ctx *c, uint64_t *mask,
			    unsigned *dst)
{
	const struct cmd_env *env = rt->env;
	unsigned owners, one = env->self, s;

	ASSERT(c->cmd != NULL);
	ASSERT(c->conn != NULL);
	if (env->nshards == 1 || c->cmd->route == ROUTE_CONN)
		return ROUTE_HERE;
	/* Its route class (commands.def): it reads or changes every shard. */
	if (c->cmd->route == ROUTE_ALL || cmd_needs_all_shards(c->cmd, c->argv, c->argc)) {
		for (s = 0; s < env->nshards; s++)
			mask[s / 64] |= 1ull << (s % 64);
		return ROUTE_SPAN;
	}
	owners = key_owners(env, c, mask, &one);
	if (owners == 0 || (owners == 1 && one == env->self))
		return ROUTE_HERE;
	if (owners > 1)
		return ROUTE_SPAN;
	*dst = one;
	return ROUTE_FORWARD;
}

void route_forward(struct route *rt, const struct cmd_ctx *c, unsigned dst, uint32_t conn_idx,
		   uint32_t conn_gen)
{
	struct cmd_arg *argv;
	struct fwd_msg *m = msg_new(rt->env->mem, MSG_REQ, sizeof(*m), c->argv, c->argc, &argv);

	ASSERT(dst != rt->env->self);
	m->argv = argv;
	m->argc = c->argc;
	m->cmd = c->cmd;
	m->proto = c->r->proto;
	m->no_touch = c->no_touch;
	m->track = c->track;
	m->client_id = c->client_id;
	m->conn_idx = conn_idx;
	m->conn_gen = conn_gen;
	m->hold = obuf_hold(c->r->ob);
	xshard_send(rt->x, dst, &m->h);
}

/* Whether the slot of a one-key request left this node after its origin
 * routed it: then its MOVED is the reply. (An importing slot is not one,
 * where a request with ASKING runs; nor a slot hidden for an atomic
 * migration, which only its link writes.) */
static bool slot_left(const struct route *rt, const struct fwd_msg *m, struct reply *r)
{
	const struct cluster_view *v = rt->view != NULL ? *rt->view : NULL;
	struct redirect_out o = { .kind = REDIRECT_MOVED };
	char buf[REDIRECT_ADDR_MAX + 32];

	if (v == NULL || !m->cmd->one_key)
		return false;
	o.slot = hash_slot(m->argv[m->cmd->first_key].p, m->argv[m->cmd->first_key].len);
	o.node = v->owner[o.slot];
	if (o.node == v->myself || o.node == REDIRECT_NONE_NODE || v->importing[o.slot] ||
	    v->hidden[o.slot])
		return false;
	reply_errorf(r, "-%.*s", (int)redirect_error(v, &o, buf, sizeof(buf)), buf);
	return true;
}

/* Runs a forwarded request here and sends the reply back. */
static void run_forwarded(struct route *rt, struct fwd_msg *m)
{
	struct cmd_env *env = rt->env;
	struct reply r = { .ob = &m->out, .proto = m->proto, .es = env->es };
	struct cmd_ctx ctx;

	obuf_init(&m->out, &m->mem);
	m->out.chunk = ROUTE_REPLY_CHUNK;
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = env;
	ctx.ks = env->ks;
	ctx.r = &r;
	ctx.argv = m->argv;
	ctx.argc = m->argc;
	ctx.now_ms = env->clock->now_ms; /* as for a local request: the last reading */
	ctx.authed = true;               /* checked at the origin */
	ctx.forwarded = true;
	ctx.no_touch = m->no_touch;
	ctx.track = m->track;
	ctx.client_id = m->client_id;
	ctx.from_shard = m->h.src;
	ctx.from_idx = m->conn_idx;
	ctx.from_gen = m->conn_gen;
	if (!slot_left(rt, m, &r))
		cmd_run(&ctx, m->cmd);
	if (rt->inval_len != NULL && *rt->inval_len > 0)
		rt->inval(rt->inval_arg);
	m->h.kind = MSG_REPLY;
	xshard_send(rt->x, m->h.src, &m->h);
}

bool route_message(struct route *rt, struct xmsg *m, struct route_reply *rep)
{
	struct fwd_msg *fm = (struct fwd_msg *)m;

	ASSERT(m->dst == rt->env->self);
	if (m->kind == MSG_REQ) {
		run_forwarded(rt, fm);
		return false;
	}
	/* Pairs with route_forward: the reply comes back to its origin. */
	ASSERT(m->kind == MSG_REPLY);
	rep->conn_idx = fm->conn_idx;
	rep->conn_gen = fm->conn_gen;
	rep->hold = fm->hold;
	rep->out = &fm->out;
	rep->msg = m;
	return true;
}

void route_reply_done(struct route *rt, struct route_reply *rep)
{
	struct fwd_msg *fm = (struct fwd_msg *)rep->msg;

	ASSERT(rep->out == &fm->out);
	/* Its bytes went to the client, or were freed (the client left). */
	ASSERT(fm->mem.used == 0);
	msg_free(rt->env->mem, &fm->h, fm->argv, fm->argc);
}

void route_drop(struct route *rt, struct xmsg *m)
{
	struct fwd_msg *fm = (struct fwd_msg *)m;

	ASSERT(m->kind == MSG_REQ || m->kind == MSG_REPLY);
	if (m->kind == MSG_REPLY)
		obuf_free(&fm->out);
	msg_free(rt->env->mem, m, fm->argv, fm->argc);
}
