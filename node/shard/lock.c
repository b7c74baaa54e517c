/* lock.c: shard locks and spans. See lock.h.
 *
 * Messages: MSG_LOCK (a span asks the target for its lock), MSG_LOCKED (the
 * target granted it), MSG_UNLOCK (the span is done with the target). Each is
 * freed by its receiver. */
#include "shard/lock.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "shard/msg.h"

struct lock_msg {
	struct xmsg h; /* h.kind: MSG_LOCK, MSG_LOCKED or MSG_UNLOCK */
	uint16_t coord;
	uint64_t span;
};

static void send_lock_msg(struct lock *lk, unsigned dst, enum msg_kind kind, struct lock_req req)
{
	struct cmd_arg *none;
	struct lock_msg *m = msg_new(lk->mem, kind, sizeof(*m), NULL, 0, &none);

	ASSERT(dst != lk->self);
	m->coord = req.coord;
	m->span = req.span;
	xshard_send(lk->x, dst, &m->h);
}

void lock_init(struct lock *lk, struct xshard *x, struct mem *mem, unsigned self)
{
	memset(lk, 0, sizeof(*lk));
	lk->x = x;
	lk->mem = lk->main = mem;
	lk->side.delta = true;
	lk->self = self;
}

static struct span *span_find(struct lock *lk, uint64_t id)
{
	struct span *sp;

	for (sp = lk->spans; sp != NULL; sp = sp->next)
		if (sp->id == id)
			return sp;
	ASSERT_NOT_REACHED("lock: a message for an unknown span");
	return NULL;
}

/* Asks for the span's next lock, in ascending order. */
static void span_next(struct lock *lk, struct span *sp)
{
	struct lock_req req = { .coord = (uint16_t)lk->self, .span = sp->id };
	unsigned s;

	ASSERT(sp->got < sp->n);
	s = sp->shards[sp->got];
	if (s != lk->self) {
		send_lock_msg(lk, s, MSG_LOCK, req);
		return;
	}
	if (lk->queue_n == lk->queue_cap) {
		lk->queue_cap = lk->queue_cap ? lk->queue_cap * 2 : 8;
		lk->queue = mem_realloc(lk->mem, lk->queue, lk->queue_cap * sizeof(*lk->queue));
	}
	lk->queue[lk->queue_n++] = req;
}

/* One more lock of span id is held. */
static void span_locked(struct lock *lk, uint64_t id)
{
	struct span *sp = span_find(lk, id);

	sp->got++;
	ASSERT(sp->got <= sp->n);
	if (sp->got < sp->n) {
		span_next(lk, sp);
		return;
	}
	/* Every lock, its own included: it is the only ready one. */
	ASSERT(lk->ready == NULL);
	ASSERT(lk->held);
	ASSERT(lk->holder.coord == lk->self);
	ASSERT(lk->holder.span == sp->id);
	lk->ready = sp;
}

void lock_span_start(struct lock *lk, const struct cmd *cmd, const struct cmd_arg *argv, int argc,
		     const uint64_t *mask, uint32_t conn_idx, uint32_t conn_gen, uint8_t proto)
{
	uint64_t locked[XSHARD_WORDS];
	unsigned n = 0, s, w;
	struct cmd_arg *copy;
	struct span *sp;
	size_t head;

	for (w = 0; w < XSHARD_WORDS; w++) {
		locked[w] = mask[w];
		n += (unsigned)__builtin_popcountll(locked[w]);
	}
	if (!(locked[lk->self / 64] >> (lk->self % 64) & 1)) {
		locked[lk->self / 64] |= 1ull << (lk->self % 64);
		n++;
	}
	ASSERT(n >= 2);
	head = sizeof(*sp) + n * sizeof(sp->shards[0]);
	head = (head + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
	sp = msg_pack(lk->mem, head, argv, argc, &copy);
	sp->argv = copy;
	sp->argc = argc;
	sp->cmd = cmd;
	sp->id = ++lk->next_span;
	sp->conn_idx = conn_idx;
	sp->conn_gen = conn_gen;
	sp->proto = proto;
	memcpy(sp->locked, locked, sizeof(locked));
	for (s = 0; s < XSHARD_MAX; s++)
		if (locked[s / 64] >> (s % 64) & 1)
			sp->shards[sp->n++] = (uint16_t)s;
	ASSERT(sp->n == n);
	sp->next = lk->spans;
	lk->spans = sp;
	span_next(lk, sp);
}

static void grant(struct lock *lk, struct lock_req req)
{
	ASSERT(!lk->held);
	lk->held = true;
	lk->mem = lk->x->mem = &lk->side;
	lk->holder = req;
	if (req.coord == lk->self)
		span_locked(lk, req.span);
	else
		send_lock_msg(lk, req.coord, MSG_LOCKED, req);
}

void lock_grant_next(struct lock *lk)
{
	struct lock_req next;

	if (lk->held || lk->queue_n == 0)
		return;
	next = lk->queue[0];
	lk->queue_n--;
	memmove(lk->queue, lk->queue + 1, lk->queue_n * sizeof(*lk->queue));
	grant(lk, next);
}

static void release(struct lock *lk, struct lock_req req)
{
	/* Pairs with grant: the holder is the one releasing. */
	ASSERT(lk->held);
	ASSERT(lk->holder.coord == req.coord);
	ASSERT(lk->holder.span == req.span);
	lk->held = false;
	lock_fold(lk);
}

void lock_message(struct lock *lk, struct xmsg *m)
{
	struct lock_msg *lm = (struct lock_msg *)m;
	struct lock_req req = { .coord = lm->coord, .span = lm->span };
	unsigned kind = m->kind;

	ASSERT(m->dst == lk->self);
	msg_free(lk->mem, m, NULL, 0);
	switch (kind) {
	case MSG_LOCK:
		if (lk->queue_n == lk->queue_cap) {
			lk->queue_cap = lk->queue_cap ? lk->queue_cap * 2 : 8;
			lk->queue = mem_realloc(lk->mem, lk->queue,
						lk->queue_cap * sizeof(*lk->queue));
		}
		lk->queue[lk->queue_n++] = req;
		break;
	case MSG_LOCKED:
		ASSERT(req.coord == lk->self);
		span_locked(lk, req.span);
		break;
	case MSG_UNLOCK: release(lk, req); break;
	default: ASSERT_NOT_REACHED("lock: not a lock message");
	}
}

struct span *lock_ready(const struct lock *lk)
{
	return lk->ready;
}

static void span_unlink_free(struct lock *lk, struct span *sp)
{
	struct span **p = &lk->spans;

	while (*p != sp)
		p = &(*p)->next;
	*p = sp->next;
	msg_unpack(lk->mem, sp, sp->argv, sp->argc);
}

void lock_span_done(struct lock *lk, struct span *sp)
{
	struct lock_req req = { .coord = (uint16_t)lk->self, .span = sp->id };
	unsigned i;

	ASSERT(lk->ready == sp);
	ASSERT(sp->got == sp->n);
	lk->ready = NULL;
	for (i = 0; i < sp->n; i++) {
		if (sp->shards[i] == lk->self)
			release(lk, req);
		else
			send_lock_msg(lk, sp->shards[i], MSG_UNLOCK, req);
	}
	span_unlink_free(lk, sp);
}

bool lock_quiet(const struct lock *lk)
{
	return !lk->held && lk->queue_n == 0 && lk->spans == NULL;
}

void lock_drop(struct lock *lk, struct xmsg *m)
{
	ASSERT(m->kind >= MSG_LOCK);
	ASSERT(m->kind <= MSG_UNLOCK);
	msg_free(lk->mem, m, NULL, 0);
}

void lock_free(struct lock *lk)
{
	while (lk->spans != NULL)
		span_unlink_free(lk, lk->spans);
	lk->ready = NULL;
	mem_free(lk->mem, lk->queue);
	lk->queue = NULL;
	lk->queue_n = lk->queue_cap = 0;
}

void lock_fold(struct lock *lk)
{
	lk->mem = lk->x->mem = lk->main;
	mem_fold(lk->main, &lk->side);
}
