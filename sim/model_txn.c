/* model_txn.c: transactions in the workload and the model (model_int.h).
 *
 * A transaction is a run of a client's requests, generated in order by a
 * small machine per client (the "stage") and checked in order as the
 * replies come (the "reply side"): the queued commands are kept from their
 * +QUEUED until EXEC's reply, which checks each one as if it had run alone
 * in EXEC's window, or, for a null array, frees them unrun. Whether EXEC
 * may, or must, fail is decided from what the model knew of the watched key
 * when WATCH was answered and what happened to it since. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* The share of a client's requests that start a transaction. */
#define TXN_SHARE 0.02
/* Commands queued in one transaction at most. */
#define TXN_CMDS_MAX 5
/* The TTL (ms) of the SET that sometimes comes before WATCH: short, so
 * that the key expires between WATCH and EXEC in some runs and not in
 * others. */
#define TXN_PX_MAX 20

enum txn_stage { TS_IDLE = 0, TS_WATCH, TS_TOUCH, TS_MULTI, TS_QUEUE, TS_EXEC };

struct mtxn {
	/* Generation. */
	enum txn_stage stage;
	unsigned left; /* commands still to queue */
	unsigned wkey; /* the key to watch (model key) */
	bool touch;    /* a write of it between WATCH and MULTI */
	/* Replies. */
	bool watched;    /* WATCH answered, EXEC not yet */
	unsigned rkey;   /* the watched key */
	bool maybe;      /* it may change (a TTL, lost writes): EXEC may fail */
	bool sure_alive; /* certainly alive at WATCH, with a TTL ... */
	int64_t sure_hi; /* ... that has certainly passed after this (ms) */
	bool touched;    /* its own write ran: EXEC must fail */
	struct mreq **q; /* queued, answered +QUEUED */
	unsigned n, cap;
};

void mt_init(struct model *m)
{
	m->txn = sim_calloc(m->nclients * sizeof(*m->txn));
}

static void forget_queued(struct model *m, struct mtxn *t, uint64_t send, uint64_t conn)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		model_forget(m, t->q[i], send, conn);
	t->n = 0;
}

void mt_free(struct model *m)
{
	unsigned c, i;

	for (c = 0; c < m->nclients; c++) {
		for (i = 0; i < m->txn[c].n; i++)
			mreq_free(m->txn[c].q[i]);
		free(m->txn[c].q);
	}
	free(m->txn);
}

static struct mreq *txn_req(unsigned c, enum mop op, unsigned key)
{
	struct mreq *q = sim_calloc(sizeof(*q));

	q->client = c;
	q->op = op;
	q->keys[0] = key;
	q->nkeys = op == OP_WATCH;
	return q;
}

/* A SET of the key (PX ms when px > 0). */
static struct mreq *txn_set(unsigned c, unsigned key, long long px, unsigned txn)
{
	struct mreq *q = txn_req(c, OP_SET, key);

	q->nkeys = 1;
	q->vals[0] = sim_calloc(8);
	memcpy(q->vals[0], "txn", 3);
	q->vlens[0] = 3;
	if (px > 0) {
		q->flags = SETF_PX;
		q->num = px;
	}
	q->txn = txn;
	return q;
}

/* An ordinary command to queue: any but those answered with an error
 * while queueing, which would abort the transaction. */
static struct mreq *txn_queued(struct model *m, unsigned c, struct rng *r)
{
	struct mreq *q;

	for (;;) {
		q = ops_generate(m, c, r);
		if (q->op != OP_ERR && q->op != OP_PROTO)
			break;
		mreq_free(q);
	}
	q->txn = TXQ_QUEUED;
	return q;
}

bool mt_idle(const struct model *m, unsigned c)
{
	return m->txn[c].stage == TS_IDLE;
}

struct mreq *mt_next(struct model *m, unsigned c, struct rng *r)
{
	struct mtxn *t = &m->txn[c];

	switch (t->stage) {
	case TS_IDLE:
		if (m->oom_ok || !rng_chance(r, TXN_SHARE))
			return NULL;
		t->left = (unsigned)rng_range(r, 1, TXN_CMDS_MAX);
		if (!rng_chance(r, 0.6)) {
			t->stage = TS_QUEUE;
			return txn_req(c, OP_MULTI, 0);
		}
		t->wkey = ops_key(m, c, r, NULL, 0, K_ANY);
		t->touch = rng_chance(r, 0.25);
		t->stage = TS_WATCH;
		if (rng_chance(r, 0.5))
			return txn_set(c, t->wkey, (long long)rng_range(r, 1, TXN_PX_MAX), 0);
		return mt_next(m, c, r);
	case TS_WATCH:
		t->stage = t->touch ? TS_TOUCH : TS_MULTI;
		return txn_req(c, OP_WATCH, t->wkey);
	case TS_TOUCH: t->stage = TS_MULTI; return txn_set(c, t->wkey, 0, TXQ_TOUCH);
	case TS_MULTI: t->stage = TS_QUEUE; return txn_req(c, OP_MULTI, 0);
	case TS_QUEUE:
		if (--t->left == 0)
			t->stage = TS_EXEC;
		return txn_queued(m, c, r);
	case TS_EXEC: t->stage = TS_IDLE; return txn_req(c, OP_EXEC, 0);
	}
	ASSERT_NOT_REACHED("model: bad transaction stage");
	return NULL;
}

void mt_encode(const struct model *m, const struct mreq *q, char **out, size_t *len)
{
	const struct mkey *k = &m->keys[q->keys[0]];
	size_t cap = 64 + k->nlen;

	*out = sim_calloc(cap);
	switch (q->op) {
	case OP_WATCH:
		*len = (size_t)snprintf(*out, cap, "*2\r\n$5\r\nWATCH\r\n$%zu\r\n%s\r\n", k->nlen,
					k->name);
		break;
	case OP_MULTI: *len = (size_t)snprintf(*out, cap, "*1\r\n$5\r\nMULTI\r\n"); break;
	case OP_EXEC: *len = (size_t)snprintf(*out, cap, "*1\r\n$4\r\nEXEC\r\n"); break;
	default: ASSERT_NOT_REACHED("model: not a transaction op");
	}
}

bool mt_owns(const struct mreq *q)
{
	return q->txn != 0 || q->op == OP_WATCH || q->op == OP_MULTI || q->op == OP_EXEC;
}

static bool is_status(const struct resp_reader_value *v, const char *text)
{
	return v->type == RESP_READER_SIMPLE && v->len == strlen(text) &&
	       memcmp(v->str, text, v->len) == 0;
}

static void expect_status(struct model *m, const struct mreq *q, const struct resp_reader_value *v,
			  const char *text)
{
	char got[160];

	if (is_status(v, text))
		return;
	resp_reader_format(v, got, sizeof(got));
	world_fail(m->w, FAIL_CORRECTNESS, "client %u %s: expected +%s, got %s", q->client,
		   ops_name(q->op), text, got);
}

/* WATCH ran by recv: what may, and what must, make EXEC fail. */
static void watched(struct model *m, struct mtxn *t, unsigned key, uint64_t recv)
{
	const struct mkey *k = &m->keys[key];
	int64_t at = world_ms(recv);
	unsigned i;

	t->watched = true;
	t->rkey = key;
	t->touched = false;
	t->maybe = k->wild || k->floating > 0;
	t->sure_alive = !t->maybe;
	t->sure_hi = INT64_MIN;
	for (i = 0; i < k->n; i++) {
		const struct mstate *s = &k->s[i];
		bool ttl = s->present && s->exp_lo != MODEL_NO_TTL;
		t->maybe = t->maybe || ttl;
		if (!ttl || s->exp_lo < at)
			t->sure_alive = false;
		else if (s->exp_hi > t->sure_hi)
			t->sure_hi = s->exp_hi;
	}
}

/* EXEC's reply, with what WATCH left. */
static void exec_reply(struct model *m, struct mtxn *t, const struct mreq *q,
		       const struct resp_reader_value *v, uint64_t send, uint64_t recv)
{
	const struct mkey *k = t->watched ? &m->keys[t->rkey] : NULL;
	bool must = k != NULL && (t->touched || (t->sure_alive && world_ms(send) > t->sure_hi));
	bool may = must || (k != NULL && (t->maybe || k->wild || k->floating > 0));
	unsigned i;

	m->execs++;
	if (v->type == RESP_READER_NULL_ARRAY || v->type == RESP_READER_NULL) {
		m->exec_aborts++;
		if (!may)
			world_fail(m->w, FAIL_CORRECTNESS,
				   "client %u EXEC: failed, but %s did not change since WATCH",
				   q->client, k != NULL ? k->name : "no key was watched");
		for (i = 0; i < t->n; i++)
			mreq_free(t->q[i]);
	} else if (v->type != RESP_READER_ARRAY || v->n != t->n || must) {
		char got[160];
		resp_reader_format(v, got, sizeof(got));
		world_fail(m->w, FAIL_CORRECTNESS, "client %u EXEC of %u commands%s: got %s",
			   q->client, t->n,
			   must ? (t->touched ? ", its watched key written since WATCH"
					      : ", its watched key expired since WATCH")
				: "",
			   got);
		for (i = 0; i < t->n; i++)
			mreq_free(t->q[i]);
	} else {
		for (i = 0; i < t->n; i++)
			model_check(m, t->q[i], &v->elems[i], send, recv);
	}
	t->n = 0;
	t->watched = false;
}

void mt_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	      uint64_t recv)
{
	struct mtxn *t = &m->txn[q->client];

	if (q->txn & TXQ_QUEUED) {
		expect_status(m, q, v, "QUEUED");
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 8;
			t->q = sim_realloc(t->q, t->cap * sizeof(*t->q));
		}
		t->q[t->n++] = q;
		return;
	}
	if (q->txn & TXQ_TOUCH) {
		t->touched = t->watched;
		model_check(m, q, v, send, recv);
		return;
	}
	switch (q->op) {
	case OP_WATCH:
		expect_status(m, q, v, "OK");
		watched(m, t, q->keys[0], recv);
		break;
	case OP_MULTI: expect_status(m, q, v, "OK"); break;
	case OP_EXEC: exec_reply(m, t, q, v, send, recv); break;
	default: ASSERT_NOT_REACHED("model: not a transaction's request");
	}
	mreq_free(q);
}

void mt_lost(struct model *m, struct mreq *q, uint64_t send, uint64_t conn)
{
	struct mtxn *t = &m->txn[q->client];

	if (q->txn != 0) {
		model_forget(m, q, send, conn);
		return;
	}
	/* EXEC may have run the queued commands, or not. */
	if (q->op == OP_EXEC)
		forget_queued(m, t, send, conn);
	mreq_free(q);
}

void mt_reset(struct model *m, unsigned c, uint64_t conn)
{
	struct mtxn *t = &m->txn[c];

	/* A connection that dies in MULTI drops its queue unrun; one that
	 * had sent EXEC may have run it. Either way, all of it may have. */
	forget_queued(m, t, 0, conn);
	t->stage = TS_IDLE;
	t->watched = false;
}
