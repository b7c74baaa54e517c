/* route.c: forwarding, shard locks and transactions. See route.h.
 *
 * Messages (struct smsg) carry one of:
 *  SM_REQ    a forwarded request: its command, copied arguments, the origin
 *            connection (slot, generation) and its HOLD placeholder;
 *  SM_REPLY  the same message back, with the reply in its own obuf;
 *  SM_LOCK   a transaction asks the target for its lock;
 *  SM_LOCKED the target granted it;
 *  SM_UNLOCK the transaction is done with the target.
 * A message belongs to whoever holds it; the origin frees a request once its
 * reply is back. Only the origin ever touches a HOLD chunk. */
#include "shard/route.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/val.h"
#include "cmd/cmd.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/shard.h"

enum smsg_kind { SM_REQ = 1, SM_REPLY, SM_LOCK, SM_LOCKED, SM_UNLOCK };

/* Chunks of a forwarded reply: small, since most replies are. */
#define ROUTE_REPLY_CHUNK 512

struct smsg {
	struct xmsg h; /* h.kind: enum smsg_kind; h.next links deferred ones */
	uint8_t proto;
	uint16_t coord;
	uint64_t txn;
	uint32_t conn_slot, conn_gen;
	struct obuf_chunk *hold;
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv;
	struct mem mem; /* the reply's chunks, until the origin takes them */
	struct obuf out;
};

/* A transaction this shard coordinates. */
struct txn {
	struct txn *next;
	uint64_t id;
	uint32_t conn_slot, conn_gen;
	uint8_t proto;
	const struct cmd *cmd;
	int argc;
	struct cmd_arg *argv;
	unsigned n, got;   /* shards to lock, and how many are held */
	uint16_t shards[]; /* ascending */
};

/* Where commands that are not routed by their keys run. */
enum route_class { RC_KEYS = 0, RC_ALL };

static const uint8_t route_class[CMDID_COUNT] = {
	[CMDID_KEYS] = RC_ALL,        [CMDID_DBSIZE] = RC_ALL,
	[CMDID_FLUSHALL] = RC_ALL,    [CMDID_FLUSHDB] = RC_ALL,
	[CMDID_RANDOMKEY] = RC_ALL,   [CMDID_INFO] = RC_ALL,
	[CMDID_CONFIG_SET] = RC_ALL,  [CMDID_CONFIG_RESETSTAT] = RC_ALL,
	[CMDID_CLIENT_LIST] = RC_ALL, [CMDID_CLIENT_KILL] = RC_ALL,
	[CMDID_DEBUG] = RC_ALL,       [CMDID_SCAN] = RC_ALL,
};

bool route_frozen(const struct shard *sh)
{
	return sh->locked;
}

bool route_quiet(const struct shard *sh)
{
	unsigned i;

	for (i = 0; i < XSHARD_WORDS; i++)
		if (sh->x.backlog_targets[i] != 0)
			return false;
	return !sh->locked && sh->lockq_n == 0 && sh->dcqe_n == 0 && sh->dmsg_head == NULL &&
	       sh->txns == NULL && !xshard_pending(&sh->x);
}

/* ---- arguments that outlive the receive buffer ---- */

/* Allocates head bytes, then a copy of argv (small arguments copied after
 * it, big ones referenced). *out points at the copied array. */
static void *args_pack(size_t head, const struct cmd_arg *argv, int argc, struct cmd_arg **out)
{
	size_t bytes = 0, off;
	struct cmd_arg *a;
	char *block, *p;
	int i;

	ASSERT(head % sizeof(void *) == 0);
	for (i = 0; i < argc; i++)
		if (argv[i].val == NULL)
			bytes += argv[i].len;
	off = head + (size_t)argc * sizeof(*a);
	block = malloc(off + bytes);
	if (block == NULL)
		abort(); /* as mem.c: out of memory is fatal */
	a = (struct cmd_arg *)(block + head);
	p = block + off;
	for (i = 0; i < argc; i++) {
		a[i].len = argv[i].len;
		a[i].val = argv[i].val;
		if (argv[i].val != NULL) {
			a[i].p = argv[i].p;
			val_ref(argv[i].val);
		} else {
			memcpy(p, argv[i].p, argv[i].len);
			a[i].p = p;
			p += argv[i].len;
		}
	}
	*out = a;
	return block;
}

static void args_release(struct cmd_arg *argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		val_unref(argv[i].val);
}

static struct smsg *smsg_new(enum smsg_kind kind, const struct cmd_arg *argv, int argc)
{
	struct cmd_arg *copy = NULL;
	struct smsg *m = argc > 0 ? args_pack(sizeof(*m), argv, argc, &copy) : malloc(sizeof(*m));

	if (m == NULL)
		abort();
	memset(m, 0, sizeof(*m));
	m->h.kind = (uint16_t)kind;
	m->argv = copy;
	m->argc = argc;
	return m;
}

static void smsg_free(struct smsg *m)
{
	args_release(m->argv, m->argc);
	free(m);
}

static void send_lock_msg(struct shard *sh, unsigned dst, enum smsg_kind kind, unsigned coord,
			  uint64_t txn)
{
	struct smsg *m = smsg_new(kind, NULL, 0);

	m->coord = (uint16_t)coord;
	m->txn = txn;
	xshard_send(&sh->x, dst, &m->h);
}

/* ---- forwarding ---- */

static void forward(struct cmd_ctx *c, const struct cmd *cmd, unsigned dst)
{
	struct smsg *m = smsg_new(SM_REQ, c->argv, c->argc);

	m->cmd = cmd;
	m->proto = c->conn->proto;
	m->conn_slot = c->conn->slot;
	m->conn_gen = c->conn->gen;
	m->hold = obuf_hold(&c->conn->out);
	xshard_send(&c->sh->x, dst, &m->h);
}

/* Runs a forwarded request here and sends the reply back. */
static void run_forwarded(struct shard *sh, struct smsg *m)
{
	struct reply r = { .ob = &m->out, .proto = m->proto, .es = &sh->es };
	struct cmd_ctx ctx;

	obuf_init(&m->out, &m->mem);
	m->out.chunk = ROUTE_REPLY_CHUNK;
	memset(&ctx, 0, sizeof(ctx));
	ctx.sh = sh;
	ctx.ks = &sh->ks;
	ctx.r = &r;
	ctx.argv = m->argv;
	ctx.argc = m->argc;
	ctx.now_ms = sh->now_ms; /* as cmd_dispatch: the last reading */
	cmd_run(&ctx, m->cmd);
	m->h.kind = SM_REPLY;
	xshard_send(&sh->x, m->h.src, &m->h);
}

static struct conn *conn_of(struct shard *sh, uint32_t slot, uint32_t gen)
{
	struct conn *c = slot < sh->conn_cap ? sh->conns[slot] : NULL;
	return c != NULL && c->gen == gen ? c : NULL;
}

/* A forwarded reply is back: it takes its placeholder's place. */
static void take_reply(struct shard *sh, struct smsg *m)
{
	struct conn *c = conn_of(sh, m->conn_slot, m->conn_gen);

	if (c != NULL) {
		obuf_fill(&c->out, m->hold, &m->out);
		conn_check_output_limit(sh, c);
		shard_pend(sh, c);
	} else {
		obuf_free(&m->out); /* the client left meanwhile */
	}
	ASSERT(m->mem.used == 0);
	smsg_free(m);
}

/* ---- locks ---- */

static void txn_locked(struct shard *sh, uint64_t id);

static void grant(struct shard *sh, struct lock_req req)
{
	ASSERT(!sh->locked);
	sh->locked = true;
	sh->lock = req;
	if (req.coord == sh->id)
		txn_locked(sh, req.txn);
	else
		send_lock_msg(sh, req.coord, SM_LOCKED, req.coord, req.txn);
}

/* A lock is granted only once the forwarded requests and replies deferred
 * while the shard was frozen have run: they were sent before the lock
 * request (the rings keep each pair's order), so a transaction must see
 * their effects, or a pipelined write followed by a cross-shard command
 * would be overtaken by it. */
static bool may_grant(const struct shard *sh)
{
	return !sh->locked && sh->dmsg_head == NULL;
}

static void grant_next(struct shard *sh)
{
	if (sh->lockq_n > 0 && may_grant(sh)) {
		struct lock_req next = sh->lockq[0];
		sh->lockq_n--;
		memmove(sh->lockq, sh->lockq + 1, sh->lockq_n * sizeof(*sh->lockq));
		grant(sh, next);
	}
}

static void lock_request(struct shard *sh, struct lock_req req)
{
	if (may_grant(sh) && sh->lockq_n == 0) {
		grant(sh, req);
		return;
	}
	if (sh->lockq_n == sh->lockq_cap) {
		sh->lockq_cap = sh->lockq_cap ? sh->lockq_cap * 2 : 8;
		sh->lockq = mem_realloc(&sh->mem, sh->lockq, sh->lockq_cap * sizeof(*sh->lockq));
	}
	sh->lockq[sh->lockq_n++] = req;
}

static void lock_release(struct shard *sh, struct lock_req req)
{
	ASSERT(sh->locked);
	ASSERT(sh->lock.coord == req.coord);
	ASSERT(sh->lock.txn == req.txn);
	sh->locked = false;
	grant_next(sh); /* else route_run_deferred() grants it */
}

/* ---- transactions ---- */

static struct txn *txn_find(struct shard *sh, uint64_t id)
{
	struct txn *t;

	for (t = sh->txns; t != NULL; t = t->next)
		if (t->id == id)
			return t;
	ASSERT_NOT_REACHED("route: a lock message for an unknown transaction");
	return NULL;
}

/* Asks for the next lock in order. */
static void txn_next(struct shard *sh, struct txn *t)
{
	unsigned s = t->shards[t->got];
	struct lock_req req = { .coord = (uint16_t)sh->id, .txn = t->id };

	ASSERT(t->got < t->n);
	if (s == sh->id)
		lock_request(sh, req);
	else
		send_lock_msg(sh, s, SM_LOCK, sh->id, t->id);
}

static void txn_unlink_free(struct shard *sh, struct txn *t)
{
	struct txn **p = &sh->txns;

	while (*p != t)
		p = &(*p)->next;
	*p = t->next;
	args_release(t->argv, t->argc);
	free(t);
}

/* Every lock is held: run the command, release, resume the client. */
static void txn_run(struct shard *sh, struct txn *t)
{
	struct conn *c = conn_of(sh, t->conn_slot, t->conn_gen);
	struct lock_req req = { .coord = (uint16_t)sh->id, .txn = t->id };
	struct mem scratch_mem = { 0 };
	struct obuf scratch;
	struct reply r = { .proto = t->proto, .es = &sh->es };
	struct cmd_ctx ctx;
	unsigned i;

	shard_clock(sh);
	for (i = 0; i < t->n; i++)
		sh->set->shards[t->shards[i]]->ks.now_ms = sh->now_ms;
	memset(&ctx, 0, sizeof(ctx));
	ctx.sh = sh;
	ctx.conn = c;
	ctx.ks = &sh->ks;
	ctx.r = &r;
	ctx.argv = t->argv;
	ctx.argc = t->argc;
	ctx.now_ms = sh->now_ms;
	ctx.multi = true;
	if (c != NULL) {
		r.ob = &c->out;
		r.proto = c->proto;
		conn_run_blocked(sh, c, &ctx, t->cmd);
	} else if (t->cmd->flags & CMD_WRITE) {
		/* The client left while the locks were taken; a write still
		 * happens, as it would have in Redis, and its reply goes. */
		obuf_init(&scratch, &scratch_mem);
		r.ob = &scratch;
		cmd_run(&ctx, t->cmd);
		obuf_free(&scratch);
	}
	for (i = 0; i < t->n; i++) {
		if (t->shards[i] == sh->id)
			lock_release(sh, req);
		else
			send_lock_msg(sh, t->shards[i], SM_UNLOCK, sh->id, t->id);
	}
	txn_unlink_free(sh, t);
}

static void txn_locked(struct shard *sh, uint64_t id)
{
	struct txn *t = txn_find(sh, id);

	t->got++;
	if (t->got == t->n)
		txn_run(sh, t);
	else
		txn_next(sh, t);
}

/* Starts a transaction over the shards in mask plus the coordinator: the
 * connection waits until it has run. */
static void txn_start(struct cmd_ctx *c, const struct cmd *cmd, const uint64_t *mask)
{
	struct shard *sh = c->sh;
	unsigned n = 0, s;
	size_t head;
	struct cmd_arg *argv;
	struct txn *t;

	for (s = 0; s < sh->set->n; s++)
		if ((mask[s / 64] >> (s % 64) & 1) || s == sh->id)
			n++;
	head = sizeof(*t) + n * sizeof(t->shards[0]);
	head = (head + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
	t = args_pack(head, c->argv, c->argc, &argv);
	t->argv = argv;
	t->argc = c->argc;
	t->cmd = cmd;
	t->id = ++sh->next_txn;
	t->conn_slot = c->conn->slot;
	t->conn_gen = c->conn->gen;
	t->proto = c->conn->proto;
	t->n = 0;
	t->got = 0;
	for (s = 0; s < sh->set->n; s++)
		if ((mask[s / 64] >> (s % 64) & 1) || s == sh->id)
			t->shards[t->n++] = (uint16_t)s;
	ASSERT(t->n == n);
	ASSERT(n >= 2);
	t->next = sh->txns;
	sh->txns = t;
	conn_block(c->conn);
	txn_next(sh, t);
}

/* ---- routing ---- */

/* Marks the owners of the request's keys in mask; returns how many
 * different shards, and one of them in *one. */
static unsigned key_owners(const struct cmd_ctx *c, const struct cmd *cmd, uint64_t *mask,
			   unsigned *one)
{
	const struct shardset *set = c->sh->set;
	int first = cmd->first_key, last, i;
	unsigned count = 0;

	if (first <= 0)
		return 0;
	last = cmd->last_key < 0 ? c->argc + cmd->last_key : cmd->last_key;
	for (i = first; i <= last && i < c->argc; i += cmd->key_step) {
		unsigned s = shardset_owner(set, c->argv[i].p, c->argv[i].len);
		if (!(mask[s / 64] >> (s % 64) & 1)) {
			mask[s / 64] |= 1ull << (s % 64);
			count++;
			*one = s;
		}
	}
	return count;
}

bool route_request(struct cmd_ctx *c)
{
	struct shard *sh = c->sh;
	const struct cmd *cmd = c->cmd;
	uint64_t mask[XSHARD_WORDS] = { 0 };
	unsigned owners, one = sh->id, s;

	ASSERT(cmd != NULL);
	if (sh->set->n == 1 || c->multi || c->conn == NULL)
		return false;
	switch (route_class[cmd->id]) {
	case RC_ALL:
		for (s = 0; s < sh->set->n; s++)
			mask[s / 64] |= 1ull << (s % 64);
		txn_start(c, cmd, mask);
		return true;
	default: owners = key_owners(c, cmd, mask, &one); break;
	}
	if (owners == 0 || (owners == 1 && one == sh->id))
		return false;
	if (owners == 1)
		forward(c, cmd, one);
	else
		txn_start(c, cmd, mask);
	return true;
}

/* ---- messages and deferral ---- */

static void defer_msg(struct shard *sh, struct smsg *m)
{
	m->h.next = NULL;
	if (sh->dmsg_tail != NULL)
		sh->dmsg_tail->h.next = &m->h;
	else
		sh->dmsg_head = m;
	sh->dmsg_tail = m;
}

/* Handles a message; while frozen, only lock traffic. */
static void handle(struct shard *sh, struct smsg *m, bool may_defer)
{
	struct lock_req req = { .coord = m->coord, .txn = m->txn };

	switch (m->h.kind) {
	case SM_LOCK:
		smsg_free(m);
		lock_request(sh, req);
		return;
	case SM_UNLOCK:
		smsg_free(m);
		lock_release(sh, req);
		return;
	case SM_LOCKED:
		smsg_free(m);
		txn_locked(sh, req.txn);
		return;
	default: break;
	}
	if (may_defer && route_frozen(sh)) {
		defer_msg(sh, m);
		return;
	}
	if (m->h.kind == SM_REQ)
		run_forwarded(sh, m);
	else
		take_reply(sh, m);
}

void route_message(struct shard *sh, struct xmsg *m)
{
	struct smsg *sm = (struct smsg *)m;

	ASSERT(sm->h.dst == sh->id);
	/* Requests and replies queue behind deferred ones, to keep order. */
	if ((sm->h.kind == SM_REQ || sm->h.kind == SM_REPLY) && sh->dmsg_head != NULL) {
		defer_msg(sh, sm);
		return;
	}
	handle(sh, sm, true);
}

void route_defer_cqe(struct shard *sh, const struct io_cqe *cqe)
{
	if (sh->dcqe_n == sh->dcqe_cap) {
		sh->dcqe_cap = sh->dcqe_cap ? sh->dcqe_cap * 2 : 64;
		sh->dcqe = mem_realloc(&sh->mem, sh->dcqe, sh->dcqe_cap * sizeof(*sh->dcqe));
	}
	sh->dcqe[sh->dcqe_n++] = *cqe;
}

bool route_run_deferred(struct shard *sh)
{
	bool any = false;
	uint32_t i = 0;

	while (i < sh->dcqe_n && !route_frozen(sh)) {
		struct io_cqe cqe = sh->dcqe[i++];
		shard_complete(sh, &cqe);
		any = true;
	}
	if (i > 0) {
		sh->dcqe_n -= i;
		memmove(sh->dcqe, sh->dcqe + i, sh->dcqe_n * sizeof(*sh->dcqe));
	}
	while (sh->dmsg_head != NULL && !route_frozen(sh)) {
		struct smsg *m = sh->dmsg_head;
		sh->dmsg_head = (struct smsg *)m->h.next;
		if (sh->dmsg_head == NULL)
			sh->dmsg_tail = NULL;
		handle(sh, m, false);
		any = true;
	}
	if (sh->lockq_n > 0 && may_grant(sh)) {
		grant_next(sh);
		any = true;
	}
	while (sh->resume != NULL && !route_frozen(sh)) {
		struct conn *c = sh->resume;
		sh->resume = c->next_resume;
		conn_resume(sh, c);
		any = true;
	}
	return any;
}

static void drop_msg(struct smsg *m)
{
	if (m->h.kind == SM_REPLY)
		obuf_free(&m->out);
	smsg_free(m);
}

void route_free(struct shard *sh)
{
	struct xmsg *in[SHARD_MSGS_MAX], *m;
	unsigned n, i;

	/* Messages addressed to this shard, and its own not yet sent. */
	while ((n = xshard_drain(&sh->x, in, SHARD_MSGS_MAX)) > 0)
		for (i = 0; i < n; i++)
			drop_msg((struct smsg *)in[i]);
	for (m = xshard_take_backlog(&sh->x); m != NULL;) {
		struct xmsg *next = m->next;
		drop_msg((struct smsg *)m);
		m = next;
	}
	while (sh->dmsg_head != NULL) {
		struct smsg *d = sh->dmsg_head;
		sh->dmsg_head = (struct smsg *)d->h.next;
		drop_msg(d);
	}
	sh->dmsg_tail = NULL;
	while (sh->txns != NULL)
		txn_unlink_free(sh, sh->txns);
	mem_free(&sh->mem, sh->dcqe);
	mem_free(&sh->mem, sh->lockq);
	sh->dcqe = NULL;
	sh->lockq = NULL;
	sh->dcqe_n = sh->lockq_n = 0;
}
