/* model_bpop.c: blocking pops on queues every client of a node shares
 * (model_int.h). Each element pushed is named once in the run ("e<n>"),
 * so a pop's reply tells which push it took. What is certain is checked as
 * replies arrive: the element was pushed (sent before the pop's reply came)
 * to the queue the reply names, which the pop waited on, and no element is
 * taken twice. What needs the whole run is checked at the end: a pop that
 * timed out found its queues empty, so every element acknowledged on them
 * before it was sent had been taken by then: by a pop seen, or by one of
 * the pops lost with their connections, each of which may have taken one.
 * On a node of one shard, where a key is offered to its waiters as soon as
 * it is pushed, first come first served is checked too: an element pushed
 * certainly after a pop blocked (sent after the pop's reply, less its
 * timeout, so after the node saw the pop) and acknowledged certainly before
 * that pop timed out (before its send plus its timeout) went to a client
 * that blocked before it (sent before that time), and not to one that came
 * later; and was not left for no one.
 * An element served to no one, or left behind while a waiter starves, fails
 * these checks; one served twice fails the first; one served to a newer
 * waiter while an older one starves fails the last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define MBP_QUEUES 4
/* Requests drawn from the blocking-pop workload, per thousand. */
#define MBP_PER_MILLE 40

/* One element, pushed once. */
struct mbp_elem {
	unsigned q;          /* the queue it was pushed to */
	bool acked, maybe;   /* its push answered; or lost (it may exist) */
	bool taken;          /* a pop or move took it */
	uint64_t send, recv; /* its push's */
	uint64_t taker_send; /* the send time of the pop that took it */
};

/* A pop that timed out: its queues (a bit each), its send and reply times
 * and its timeout (ns). */
struct mbp_empty {
	unsigned qmask;
	uint64_t send, recv, timeout;
};

struct mbpop {
	struct mbp_elem *e;
	uint64_t ne, e_cap;
	struct mbp_empty *empty;
	uint64_t nempty, empty_cap;
	uint64_t lost_pops[MBP_QUEUES];
	uint64_t pops, timeouts;
};

/* Short, and some longer than the nodes' timer period (hz), so that an
 * element often comes while a client waits. */
static const double mbp_timeouts[] = { 0.01, 0.05, 0.2, 0.3, 0.5 };
#define MS 1000000ull

void mbp_init(struct model *m)
{
	m->bp = sim_calloc(sizeof(*m->bp));
}

void mbp_free(struct model *m)
{
	free(m->bp->e);
	free(m->bp->empty);
	free(m->bp);
}

bool mbp_owns(const struct mreq *q)
{
	return q->op == OP_QPUSH || q->op == OP_QPOP || q->op == OP_QMOVE;
}

static void queue_name(const struct model *m, unsigned q, char *buf, size_t cap)
{
	snprintf(buf, cap, "%sbq:{q%u}", m->tag, q);
}

struct mreq *mbp_next(struct model *m, unsigned c, struct rng *r)
{
	struct mbpop *bp = m->bp;
	struct mreq *q;
	uint64_t roll;

	/* Under maxmemory the queues may be evicted and pushes refused. */
	if (m->oom_ok || m->evict != MEVICT_NONE || rng_below(r, 1000) >= MBP_PER_MILLE)
		return NULL;
	q = sim_calloc(sizeof(*q));
	q->client = c;
	roll = rng_below(r, 100);
	q->keys[0] = (unsigned)rng_below(r, MBP_QUEUES);
	q->nkeys = 1;
	q->flags = (unsigned)rng_below(r, 2); /* RPUSH/LPUSH, BLPOP/BRPOP, ... */
	q->num = (long long)rng_below(r, sizeof(mbp_timeouts) / sizeof(mbp_timeouts[0]));
	if (roll < 45) {
		q->op = OP_QPUSH;
		if (bp->ne == bp->e_cap) {
			bp->e_cap = bp->e_cap ? bp->e_cap * 2 : 256;
			bp->e = sim_realloc(bp->e, bp->e_cap * sizeof(*bp->e));
		}
		q->token = bp->ne;
		/* Sent now, or soon: no pop can take it before. */
		bp->e[bp->ne++] = (struct mbp_elem){ .q = q->keys[0], .send = m->w->now };
	} else if (roll < 85) {
		q->op = OP_QPOP;
		if (rng_chance(r, 0.4)) {
			q->keys[1] = (q->keys[0] + 1 + (unsigned)rng_below(r, MBP_QUEUES - 1)) %
				     MBP_QUEUES;
			q->nkeys = 2;
		}
	} else {
		q->op = OP_QMOVE;
	}
	return q;
}

void mbp_encode(const struct model *m, const struct mreq *q, char **out, size_t *len)
{
	struct enc e = { 0 };
	char name[32], head[32], t[16];
	unsigned i;
	int k;

	snprintf(t, sizeof(t), "%g", mbp_timeouts[q->num]);
	switch (q->op) {
	case OP_QPUSH:
		enc_str(&e, q->flags ? "LPUSH" : "RPUSH");
		queue_name(m, q->keys[0], name, sizeof(name));
		enc_str(&e, name);
		snprintf(name, sizeof(name), "e%llu", (unsigned long long)q->token);
		enc_str(&e, name);
		break;
	case OP_QPOP:
		enc_str(&e, q->flags ? "BRPOP" : "BLPOP");
		for (i = 0; i < q->nkeys; i++) {
			queue_name(m, q->keys[i], name, sizeof(name));
			enc_str(&e, name);
		}
		enc_str(&e, t);
		break;
	case OP_QMOVE:
		enc_str(&e, q->flags ? "BRPOPLPUSH" : "BLMOVE");
		queue_name(m, q->keys[0], name, sizeof(name));
		enc_str(&e, name);
		snprintf(head, sizeof(head), "%sbq:sink", m->tag);
		enc_str(&e, head);
		if (!q->flags) {
			enc_str(&e, "LEFT");
			enc_str(&e, "RIGHT");
		}
		enc_str(&e, t);
		break;
	default: ASSERT_NOT_REACHED("model: not a blocking-pop op");
	}
	k = snprintf(head, sizeof(head), "*%u\r\n", e.argc);
	*out = sim_calloc((size_t)k + e.len);
	memcpy(*out, head, (size_t)k);
	memcpy(*out + k, e.p, e.len);
	*len = (size_t)k + e.len;
	free(e.p);
}

static bool is_null(const struct resp_reader_value *v)
{
	return v->type == RESP_READER_NULL_ARRAY || v->type == RESP_READER_NULL;
}

/* The element named by a bulk ("e<n>"), or UINT64_MAX. */
static uint64_t elem_of(const struct mbpop *bp, const struct resp_reader_value *v)
{
	unsigned long long n;
	char tail;

	if (v->type != RESP_READER_BULK || v->len < 2 || v->str[0] != 'e' ||
	    sscanf(v->str + 1, "%llu%c", &n, &tail) != 1 || n >= bp->ne)
		return UINT64_MAX;
	return n;
}

/* The queue of q named by a bulk, or -1. */
static int queue_of(const struct model *m, const struct mreq *q, const struct resp_reader_value *v)
{
	char name[32];
	unsigned i;

	for (i = 0; i < q->nkeys; i++) {
		queue_name(m, q->keys[i], name, sizeof(name));
		if (v->type == RESP_READER_BULK && v->len == strlen(name) &&
		    memcmp(v->str, name, v->len) == 0)
			return (int)q->keys[i];
	}
	return -1;
}

/* Element x taken from queue qi by q's reply, which came at recv. */
static void take(struct model *m, const struct mreq *q, uint64_t x, int qi, uint64_t send,
		 uint64_t recv)
{
	struct mbpop *bp = m->bp;
	struct mbp_elem *e;

	if (x == UINT64_MAX || qi < 0) {
		world_fail(m->w, FAIL_CORRECTNESS,
			   "client %u %s: a reply that names no element of its queues", q->client,
			   q->op == OP_QPOP ? "BLPOP/BRPOP" : "BLMOVE/BRPOPLPUSH");
		return;
	}
	e = &bp->e[x];
	if (e->q != (unsigned)qi || e->send >= recv) {
		world_fail(m->w, FAIL_CORRECTNESS,
			   "client %u: popped e%llu from bq:{q%d}, where it was never pushed",
			   q->client, (unsigned long long)x, qi);
		return;
	}
	if (e->taken) {
		world_fail(m->w, FAIL_CORRECTNESS,
			   "client %u: e%llu (bq:{q%u}) popped twice: an element went to two "
			   "clients",
			   q->client, (unsigned long long)x, e->q);
		return;
	}
	e->taken = true;
	e->taker_send = send;
	bp->pops++;
}

static void timed_out(struct model *m, const struct mreq *q, uint64_t send, uint64_t recv)
{
	struct mbpop *bp = m->bp;
	unsigned i, mask = 0;

	for (i = 0; i < q->nkeys; i++)
		mask |= 1u << q->keys[i];
	if (bp->nempty == bp->empty_cap) {
		bp->empty_cap = bp->empty_cap ? bp->empty_cap * 2 : 256;
		bp->empty = sim_realloc(bp->empty, bp->empty_cap * sizeof(*bp->empty));
	}
	bp->empty[bp->nempty++] = (struct mbp_empty){
		.qmask = mask,
		.send = send,
		.recv = recv,
		.timeout = (uint64_t)(mbp_timeouts[q->num] * 1000.0 + 0.5) * MS,
	};
	bp->timeouts++;
}

void mbp_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	       uint64_t recv)
{
	struct mbpop *bp = m->bp;
	char got[160];

	if (q->op == OP_QPUSH) {
		struct mbp_elem *e = &bp->e[q->token];
		if (v->type != RESP_READER_INT || v->integer < 1) {
			resp_reader_format(v, got, sizeof(got));
			world_fail(m->w, FAIL_CORRECTNESS, "client %u: a push answered %s",
				   q->client, got);
		}
		e->acked = true;
		e->recv = recv;
	} else if (model_cluster_down(m, v)) {
		m->downs++; /* unblocked without popping, or refused */
	} else if (is_null(v)) {
		timed_out(m, q, send, recv);
	} else if (q->op == OP_QPOP && v->type == RESP_READER_ARRAY && v->n == 2) {
		take(m, q, elem_of(bp, &v->elems[1]), queue_of(m, q, &v->elems[0]), send, recv);
	} else if (q->op == OP_QMOVE && v->type == RESP_READER_BULK) {
		take(m, q, elem_of(bp, v), (int)q->keys[0], send, recv);
	} else {
		resp_reader_format(v, got, sizeof(got));
		world_fail(m->w, FAIL_CORRECTNESS, "client %u: a blocking pop answered %s",
			   q->client, got);
	}
	mreq_free(q);
}

void mbp_lost(struct model *m, struct mreq *q)
{
	struct mbpop *bp = m->bp;
	unsigned i;

	if (q->op == OP_QPUSH) {
		/* It may exist, or not. */
		bp->e[q->token].maybe = true;
	} else {
		/* It may have taken an element of any of its queues. */
		for (i = 0; i < q->nkeys; i++)
			bp->lost_pops[q->keys[i]]++;
	}
	mreq_free(q);
}

/* The lost pops that may have taken an element of p's queues. */
static uint64_t lost_of(const struct mbpop *bp, const struct mbp_empty *p)
{
	uint64_t lost = 0;
	unsigned qi;

	for (qi = 0; qi < MBP_QUEUES; qi++)
		if (p->qmask & (1u << qi))
			lost += bp->lost_pops[qi];
	return lost;
}

/* Whether e was certainly pushed while p waited: after the node saw p
 * (p's reply less its timeout, less a ms of clock rounding), and before
 * p's time was up (its send plus its timeout, less a ms). */
static bool while_waiting(const struct mbp_elem *e, const struct mbp_empty *p)
{
	return e->acked && e->send > p->recv - p->timeout + MS &&
	       e->recv + MS < p->send + p->timeout;
}

/* A pop that timed out: the elements it should have seen were taken (by
 * the lost pops, at worst), and on one shard by a client that blocked
 * before it. Returns false after a failure. */
static bool check_empty(struct model *m, const struct mbp_empty *p)
{
	struct mbpop *bp = m->bp;
	uint64_t j, left = 0, first = UINT64_MAX, lost = lost_of(bp, p);
	bool fifo = m->w->cfg.shards == 1 && p->recv > p->timeout;

	for (j = 0; j < bp->ne; j++) {
		const struct mbp_elem *e = &bp->e[j];
		bool there, came;
		if (!(p->qmask & (1u << e->q)) || !e->acked)
			continue;
		there = e->recv < p->send;
		came = fifo && while_waiting(e, p);
		if (came && e->taken && e->taker_send > p->recv - p->timeout + MS) {
			world_fail(
				m->w, FAIL_CORRECTNESS,
				"node %u: e%llu (bq:{q%u}) came while a pop sent at %.3fms waited, "
				"and went to one sent at %.3fms, after it blocked: not first come, "
				"first served",
				m->node, (unsigned long long)j, e->q, (double)p->send / 1e6,
				(double)e->taker_send / 1e6);
			return false;
		}
		if ((there || came) && !e->taken) {
			left++;
			if (first == UINT64_MAX)
				first = j;
		}
	}
	if (left <= lost)
		return true;
	world_fail(m->w, FAIL_CORRECTNESS,
		   "node %u: a blocking pop sent at %.3fms timed out while e%llu (bq:{q%u}) was "
		   "there, and no one ever popped it (%llu such, %llu lost pops)",
		   m->node, (double)p->send / 1e6, (unsigned long long)first, bp->e[first].q,
		   (unsigned long long)left, (unsigned long long)lost);
	return false;
}

void mbp_end(struct model *m)
{
	struct mbpop *bp = m->bp;
	uint64_t i;

	for (i = 0; i < bp->nempty; i++)
		if (!check_empty(m, &bp->empty[i]))
			return;
}

void model_bpop_stats(const struct model *m, uint64_t *pops, uint64_t *timeouts)
{
	*pops = m->bp->pops;
	*timeouts = m->bp->timeouts;
}
