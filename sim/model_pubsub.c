/* model_pubsub.c: pub/sub (model_int.h). Now and then a client turns
 * subscriber for a while: on its connection it sends only SUBSCRIBE,
 * PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs (one name each), and then
 * unsubscribes from everything and goes back to its keys; a subscriber whose
 * connection resets subscribes again to what it held. Other clients PUBLISH
 * and SPUBLISH messages named once in the run ("m<n>") to a few names.
 *
 * A subscription is one target (a channel, a pattern or a shard channel)
 * held on one connection, from its SUBSCRIBE to its UNSUBSCRIBE or the
 * connection's end. Since one connection's requests run in order, and its
 * confirmations and messages arrive in the order the node wrote them, the
 * confirmations read so far say exactly what the connection holds when a
 * message arrives, and each confirmation's count is exact. Checked:
 *  - a confirmation's shape and count (channels and patterns, or shard
 *    channels, held after it);
 *  - a message (message, pmessage, smessage: RESP2 arrays) names a target
 *    the connection holds, its channel, and a message published there
 *    (PUBLISH for the first two, SPUBLISH for the last), not certainly
 *    published before the SUBSCRIBE was sent;
 *  - no client gets one message twice through one target, even across its
 *    connections (a message it read on a connection that then reset ran
 *    before its next SUBSCRIBE was sent);
 *  - one publisher connection's messages arrive in the order it sent them,
 *    and a message acknowledged before another was sent arrives before it
 *    (whoever published them: PUBLISH holds every shard, and a shard hands
 *    its lock to the next span only once the messages sent it are
 *    delivered);
 *  - PUBLISH's count lies between the subscriptions certainly held while it
 *    ran (confirmed before it was sent, not ended before its reply) and
 *    those that may have been (sent before its reply, not certainly gone
 *    before it was sent): exact when nothing was in flight;
 *  - a subscription confirmed before a PUBLISH was sent, and not ended
 *    before its reply, gets the message: by its UNSUBSCRIBE's confirmation,
 *    or, if it still holds at the end, before the run ends (the liveness
 *    bound after the faults heal). A subscription that ends with its
 *    connection owes nothing (what the node wrote may be lost). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* Requests per thousand of a client not subscribed: PUBLISH, and turning
 * subscriber (only with another client to publish). */
#define MSP_PUB_PER_MILLE 30
#define MSP_ENTER_PER_MILLE 3
/* A subscriber sends something at one step in this many. */
#define MSP_ACT_P 0.15
/* How long a client stays subscriber (ns). */
#define MSP_PHASE_MIN 1000000ull
#define MSP_PHASE_MAX 30000000ull

enum msp_kind { MK_CHAN = 0, MK_PAT, MK_SHARD };

static const struct {
	const char *name;
	enum msp_kind kind;
} targets[] = {
	{ "ch:a0", MK_CHAN }, { "ch:a1", MK_CHAN }, { "ch:b0", MK_CHAN },
	{ "ch:b1", MK_CHAN }, { "ch:a*", MK_PAT },  { "*1", MK_PAT },
	{ "ch:?0", MK_PAT },  { "sc:0", MK_SHARD }, { "sc:1", MK_SHARD },
};
#define MSP_TARGETS (sizeof(targets) / sizeof(targets[0]))
/* The names messages go to, by PUBLISH or SPUBLISH. */
static const char *const names[] = { "ch:a0", "ch:a1", "ch:b0", "ch:b1", "sc:0", "sc:1" };
#define MSP_NAMES (sizeof(names) / sizeof(names[0]))
#define MSP_NONE UINT64_MAX

static const char *const sub_word[] = { "subscribe", "psubscribe", "ssubscribe" };
static const char *const unsub_word[] = { "unsubscribe", "punsubscribe", "sunsubscribe" };
static const char *const msg_word[] = { "message", "pmessage", "smessage" };

/* One message, published once. */
struct msp_msg {
	uint8_t name;
	bool spub;
	bool acked, maybe;
	unsigned pub;        /* the publisher */
	uint64_t epoch, seq; /* its connection (a count per client), its place there */
	uint64_t send, recv; /* its PUBLISH's */
	uint16_t *got;       /* per client: the targets it came through */
};

/* One subscription. */
struct msp_sub {
	unsigned client, t;
	uint64_t epoch;
	uint64_t sub_send;
	uint64_t conf;     /* its confirmation's arrival, or 0 */
	uint64_t end_send; /* its UNSUBSCRIBE sent, or the reset; MSP_NONE */
	uint64_t gone;     /* certainly gone after this: MSP_NONE */
	uint64_t conn;     /* ended by a reset: its connection (until gone) */
	uint64_t cursor;   /* messages before this are not owed */
};

struct msp_client {
	bool phase;
	uint64_t phase_end;
	uint16_t sent, held, wish;  /* targets: after what was sent; confirmed; to retake */
	uint64_t rec[MSP_TARGETS];  /* the subscription of each target sent */
	uint64_t hrec[MSP_TARGETS]; /* ... and of each target held */
	unsigned pending;           /* pub/sub requests unanswered */
	uint64_t newest;            /* the latest send of a message read on this connection */
	uint64_t epoch, epoch_rec;  /* connections lost; the first record of this one */
	uint64_t seq;
	struct msp_last {
		uint64_t epoch, seq;
		bool any;
	} * last; /* per publisher: the last message from it */
};

struct mpubsub {
	struct msp_client *cl;
	struct msp_msg *msg;
	uint64_t nmsg, msg_cap;
	struct msp_sub *sub;
	uint64_t nsub, sub_cap;
	uint64_t *closing; /* records ended by a reset, not certainly gone */
	uint64_t nclosing, closing_cap;
	uint16_t match[2][MSP_NAMES]; /* [spub][name]: the targets it reaches */
	/* The names as sent: the model's tag (cluster runs) and the name. */
	char tname[MSP_TARGETS][40], cname[MSP_NAMES][40];
	uint64_t published, exact, delivered, confirmed;
};

void msp_init(struct model *m)
{
	struct mpubsub *ps = sim_calloc(sizeof(*ps));
	unsigned c, n, t;

	ps->cl = sim_calloc(m->nclients * sizeof(*ps->cl));
	for (c = 0; c < m->nclients; c++)
		ps->cl[c].last = sim_calloc(m->nclients * sizeof(*ps->cl[c].last));
	for (n = 0; n < MSP_NAMES; n++)
		for (t = 0; t < MSP_TARGETS; t++) {
			bool same = strcmp(targets[t].name, names[n]) == 0;
			if (targets[t].kind == MK_SHARD && same)
				ps->match[1][n] |= (uint16_t)(1u << t);
			if ((targets[t].kind == MK_CHAN && same) ||
			    (targets[t].kind == MK_PAT &&
			     fnmatch(targets[t].name, names[n], 0) == 0))
				ps->match[0][n] |= (uint16_t)(1u << t);
		}
	for (t = 0; t < MSP_TARGETS; t++)
		snprintf(ps->tname[t], sizeof(ps->tname[t]), "%s%s", m->tag, targets[t].name);
	for (n = 0; n < MSP_NAMES; n++)
		snprintf(ps->cname[n], sizeof(ps->cname[n]), "%s%s", m->tag, names[n]);
	m->ps = ps;
}

void msp_free(struct model *m)
{
	struct mpubsub *ps = m->ps;
	uint64_t i;

	for (i = 0; i < ps->nmsg; i++)
		free(ps->msg[i].got);
	for (i = 0; i < m->nclients; i++)
		free(ps->cl[i].last);
	free(ps->cl);
	free(ps->msg);
	free(ps->sub);
	free(ps->closing);
	free(ps);
}

bool msp_owns(const struct mreq *q)
{
	return q->op == OP_PUBLISH || q->op == OP_PSUB;
}

/* ---- the workload ---- */

static struct mreq *req(unsigned c, enum mop op)
{
	struct mreq *q = sim_calloc(sizeof(*q));

	q->client = c;
	q->op = op;
	q->token = MSP_NONE;
	return q;
}

/* The records ended by a reset whose connection the node has closed since
 * are gone: called when a PUBLISH is sent, so gone is before it ran. */
static void poll_closed(struct model *m)
{
	struct mpubsub *ps = m->ps;
	uint64_t i = 0;

	while (i < ps->nclosing) {
		struct msp_sub *s = &ps->sub[ps->closing[i]];
		if (net_conn_done(m->w, s->conn)) {
			s->gone = m->w->now;
			ps->closing[i] = ps->closing[--ps->nclosing];
		} else {
			i++;
		}
	}
}

static struct mreq *publish(struct model *m, unsigned c, struct rng *r)
{
	struct mpubsub *ps = m->ps;
	struct msp_client *cs = &ps->cl[c];
	struct mreq *q = req(c, OP_PUBLISH);
	struct msp_msg *g;

	poll_closed(m);
	if (ps->nmsg == ps->msg_cap) {
		ps->msg_cap = ps->msg_cap ? ps->msg_cap * 2 : 256;
		ps->msg = sim_realloc(ps->msg, ps->msg_cap * sizeof(*ps->msg));
	}
	g = &ps->msg[ps->nmsg];
	*g = (struct msp_msg){ .name = (uint8_t)rng_below(r, MSP_NAMES),
			       .spub = rng_chance(r, 0.3),
			       .pub = c,
			       .epoch = cs->epoch,
			       .seq = cs->seq++,
			       .send = m->w->now,
			       .got = sim_calloc(m->nclients * sizeof(uint16_t)) };
	q->token = ps->nmsg++;
	q->flags = g->spub;
	return q;
}

/* SUBSCRIBE (sub) or UNSUBSCRIBE of target t, and what it changes. */
static struct mreq *sub_req(struct model *m, unsigned c, unsigned t, bool sub)
{
	struct mpubsub *ps = m->ps;
	struct msp_client *cs = &ps->cl[c];
	struct mreq *q = req(c, OP_PSUB);
	uint16_t bit = (uint16_t)(1u << t);

	q->keys[0] = t;
	q->flags = sub;
	cs->pending++;
	if (sub && !(cs->sent & bit)) {
		if (ps->nsub == ps->sub_cap) {
			ps->sub_cap = ps->sub_cap ? ps->sub_cap * 2 : 256;
			ps->sub = sim_realloc(ps->sub, ps->sub_cap * sizeof(*ps->sub));
		}
		ps->sub[ps->nsub] = (struct msp_sub){ .client = c,
						      .t = t,
						      .epoch = cs->epoch,
						      .sub_send = m->w->now,
						      .end_send = MSP_NONE,
						      .gone = MSP_NONE };
		cs->rec[t] = q->token = ps->nsub++;
		cs->sent |= bit;
	} else if (!sub && (cs->sent & bit)) {
		q->token = cs->rec[t];
		ps->sub[q->token].end_send = m->w->now;
		cs->sent &= (uint16_t)~bit;
	}
	return q;
}

static unsigned lowest(uint16_t bits)
{
	return (unsigned)__builtin_ctz(bits);
}

/* A subscriber's next request, or NULL: nothing this time (*idle), or its
 * time is up and it has let go of everything. */
static struct mreq *subscriber(struct model *m, unsigned c, struct rng *r, bool *idle)
{
	struct msp_client *cs = &m->ps->cl[c];
	unsigned t;

	if (cs->wish & ~cs->sent) {
		t = lowest(cs->wish & ~cs->sent);
		cs->wish &= (uint16_t) ~(1u << t);
		return sub_req(m, c, t, true);
	}
	if (m->w->now >= cs->phase_end) {
		cs->wish = 0;
		if (cs->sent != 0)
			return sub_req(m, c, lowest(cs->sent), false);
		cs->phase = false;
		return NULL;
	}
	if (!rng_chance(r, MSP_ACT_P)) {
		*idle = true;
		return NULL;
	}
	t = (unsigned)rng_below(r, MSP_TARGETS);
	/* Now and then one it holds already, or not: the count says so. */
	return sub_req(m, c, t, !(cs->sent & (1u << t)) || rng_chance(r, 0.3));
}

struct mreq *msp_next(struct model *m, unsigned c, struct rng *r, bool *idle)
{
	struct msp_client *cs = &m->ps->cl[c];
	uint64_t roll;

	*idle = false;
	if (cs->phase)
		return subscriber(m, c, r, idle);
	if (!mt_idle(m, c))
		return NULL; /* not inside a transaction */
	roll = rng_below(r, 1000);
	if (roll < MSP_PUB_PER_MILLE)
		return publish(m, c, r);
	if (roll >= MSP_PUB_PER_MILLE + MSP_ENTER_PER_MILLE || m->nclients < 2)
		return NULL;
	cs->phase = true;
	cs->phase_end = m->w->now + rng_range(r, MSP_PHASE_MIN, MSP_PHASE_MAX);
	cs->wish = (uint16_t)(1u << rng_below(r, MSP_TARGETS));
	if (rng_chance(r, 0.5))
		cs->wish |= (uint16_t)rng_below(r, 1u << MSP_TARGETS);
	return subscriber(m, c, r, idle);
}

void msp_encode(const struct model *m, const struct mreq *q, char **out, size_t *len)
{
	struct enc e = { 0 };
	char head[32], payload[32];
	int k;

	(void)m;
	if (q->op == OP_PUBLISH) {
		enc_str(&e, q->flags ? "SPUBLISH" : "PUBLISH");
		enc_str(&e, m->ps->cname[m->ps->msg[q->token].name]);
		snprintf(payload, sizeof(payload), "m%llu", (unsigned long long)q->token);
		enc_str(&e, payload);
	} else {
		enc_str(&e, (q->flags ? sub_word : unsub_word)[targets[q->keys[0]].kind]);
		enc_str(&e, m->ps->tname[q->keys[0]]);
	}
	k = snprintf(head, sizeof(head), "*%u\r\n", e.argc);
	*out = sim_calloc((size_t)k + e.len);
	memcpy(*out, head, (size_t)k);
	memcpy(*out + k, e.p, e.len);
	*len = (size_t)k + e.len;
	free(e.p);
}

/* ---- checking ---- */

static bool is_bulk(const struct resp_reader_value *v, const char *s)
{
	return v->type == RESP_READER_BULK && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

static void fail_reply(struct model *m, const struct mreq *q, const char *what,
		       const struct resp_reader_value *v)
{
	char got[160];

	resp_reader_format(v, got, sizeof(got));
	world_fail(m->w, FAIL_CORRECTNESS, "client %u %s: got %s", q->client, what, got);
}

/* Whether message g, acked, was owed to subscription s. */
static bool owed(const struct mpubsub *ps, const struct msp_sub *s, const struct msp_msg *g)
{
	return g->acked && s->conf != 0 && g->send > s->conf && g->recv < s->end_send &&
	       (ps->match[g->spub][g->name] & (1u << s->t));
}

/* s's UNSUBSCRIBE is confirmed: every message owed to it came before. */
static void check_owed(struct model *m, const struct msp_sub *s)
{
	struct mpubsub *ps = m->ps;
	uint64_t i;

	for (i = s->cursor; i < ps->nmsg; i++) {
		const struct msp_msg *g = &ps->msg[i];
		if (!owed(ps, s, g) || (g->got[s->client] & (1u << s->t)))
			continue;
		world_fail(m->w, FAIL_CORRECTNESS,
			   "client %u unsubscribed from %s (subscribed at %.3fms, unsubscribe sent "
			   "at %.3fms) without m%llu, published to %s from %.3fms to %.3fms",
			   s->client, m->ps->tname[s->t], (double)s->conf / 1e6,
			   (double)s->end_send / 1e6, (unsigned long long)i, m->ps->cname[g->name],
			   (double)g->send / 1e6, (double)g->recv / 1e6);
		return;
	}
}

static void confirmed(struct model *m, struct mreq *q, const struct resp_reader_value *v,
		      uint64_t recv)
{
	struct mpubsub *ps = m->ps;
	struct msp_client *cs = &ps->cl[q->client];
	unsigned t = q->keys[0], i;
	uint16_t bit = (uint16_t)(1u << t), mask = 0;
	enum msp_kind k = targets[t].kind;

	cs->pending--;
	cs->held = q->flags ? cs->held | bit : cs->held & (uint16_t)~bit;
	for (i = 0; i < MSP_TARGETS; i++)
		if ((targets[i].kind == MK_SHARD) == (k == MK_SHARD))
			mask |= (uint16_t)(1u << i);
	if (v->type != RESP_READER_ARRAY || v->n != 3 ||
	    !is_bulk(&v->elems[0], (q->flags ? sub_word : unsub_word)[k]) ||
	    !is_bulk(&v->elems[1], m->ps->tname[t]) || v->elems[2].type != RESP_READER_INT ||
	    v->elems[2].integer != __builtin_popcount(cs->held & mask)) {
		char what[80];
		snprintf(what, sizeof(what), "%s %s (holding %d of its kind after)",
			 (q->flags ? sub_word : unsub_word)[k], m->ps->tname[t],
			 __builtin_popcount(cs->held & mask));
		fail_reply(m, q, what, v);
		return;
	}
	ps->confirmed++;
	if (q->token == MSP_NONE)
		return;
	if (q->flags) {
		cs->hrec[t] = q->token;
		ps->sub[q->token].conf = recv;
		ps->sub[q->token].cursor = ps->nmsg;
	} else {
		ps->sub[q->token].gone = recv;
		check_owed(m, &ps->sub[q->token]);
	}
}

/* PUBLISH's count: between the subscriptions certainly held while it ran
 * and those that may have been. */
static void published(struct model *m, struct mreq *q, const struct resp_reader_value *v,
		      uint64_t send, uint64_t recv)
{
	struct mpubsub *ps = m->ps;
	struct msp_msg *g = &ps->msg[q->token];
	long long lo = 0, hi = 0;
	uint64_t i;

	g->acked = true;
	g->recv = recv;
	ps->published++;
	for (i = 0; i < ps->nsub; i++) {
		const struct msp_sub *s = &ps->sub[i];
		bool own = s->client == q->client && s->epoch == g->epoch && s->end_send <= send;
		if (!(ps->match[g->spub][g->name] & (1u << s->t)))
			continue;
		if (s->conf != 0 && s->conf <= send && s->end_send >= recv)
			lo++;
		if (s->sub_send < recv && !(s->gone <= send) && !own)
			hi++;
	}
	ps->exact += lo == hi;
	if (v->type != RESP_READER_INT || v->integer < lo || v->integer > hi) {
		char what[120];
		snprintf(what, sizeof(what), "%s %s m%llu (%lld to %lld receivers)",
			 g->spub ? "SPUBLISH" : "PUBLISH", m->ps->cname[g->name],
			 (unsigned long long)q->token, lo, hi);
		fail_reply(m, q, what, v);
	}
}

void msp_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	       uint64_t recv)
{
	if (q->op == OP_PUBLISH)
		published(m, q, v, send, recv);
	else
		confirmed(m, q, v, recv);
	mreq_free(q);
}

void msp_lost(struct model *m, struct mreq *q)
{
	if (q->op == OP_PUBLISH)
		m->ps->msg[q->token].maybe = true;
	else
		m->ps->cl[q->client].pending--;
	mreq_free(q);
}

void msp_conn_lost(struct model *m, unsigned c, uint64_t conn)
{
	struct mpubsub *ps = m->ps;
	struct msp_client *cs = &ps->cl[c];
	uint64_t i;

	for (i = cs->epoch_rec; i < ps->nsub; i++) {
		struct msp_sub *s = &ps->sub[i];
		if (s->client != c || s->gone != MSP_NONE)
			continue;
		if (s->end_send == MSP_NONE)
			s->end_send = m->w->now;
		s->conn = conn;
		if (ps->nclosing == ps->closing_cap) {
			ps->closing_cap = ps->closing_cap ? ps->closing_cap * 2 : 64;
			ps->closing = sim_realloc(ps->closing, ps->closing_cap * sizeof(uint64_t));
		}
		ps->closing[ps->nclosing++] = i;
	}
	cs->wish = cs->phase ? cs->sent : 0;
	cs->sent = cs->held = 0;
	cs->pending = 0;
	cs->newest = 0;
	cs->epoch++;
	cs->epoch_rec = ps->nsub;
}

/* ---- messages ---- */

/* The target a message names: its kind's word, and its pattern or its
 * channel; or -1. */
static int target_of(const struct model *m, const struct resp_reader_value *v, unsigned *kind)
{
	unsigned k, t;

	for (k = 0; k < 3; k++)
		if (is_bulk(&v->elems[0], msg_word[k]))
			break;
	if (k == 3 || v->n != (k == MK_PAT ? 4u : 3u))
		return -1;
	*kind = k;
	for (t = 0; t < MSP_TARGETS; t++)
		if (targets[t].kind == (enum msp_kind)k && is_bulk(&v->elems[1], m->ps->tname[t]))
			return (int)t;
	return -1;
}

/* The message a payload names ("m<n>"), or MSP_NONE. */
static uint64_t msg_of(const struct mpubsub *ps, const struct resp_reader_value *v)
{
	unsigned long long n;
	char tail;

	if (v->type != RESP_READER_BULK || v->len < 2 || v->str[0] != 'm' ||
	    sscanf(v->str + 1, "%llu%c", &n, &tail) != 1 || n >= ps->nmsg)
		return MSP_NONE;
	return n;
}

static void fail_msg(struct model *m, unsigned c, const char *why,
		     const struct resp_reader_value *v)
{
	char got[160];

	resp_reader_format(v, got, sizeof(got));
	world_fail(m->w, FAIL_CORRECTNESS, "client %u got %s: %s", c, got, why);
}

/* Message x came to client c through target t: once, in its publisher's
 * order. */
static void take_msg(struct model *m, unsigned c, unsigned t, uint64_t x,
		     const struct resp_reader_value *v)
{
	struct mpubsub *ps = m->ps;
	struct msp_msg *g = &ps->msg[x];
	struct msp_last *l = &ps->cl[c].last[g->pub];
	const struct msp_sub *s = &ps->sub[ps->cl[c].hrec[t]];

	if (g->acked && g->recv <= s->sub_send) {
		fail_msg(m, c, "published before it subscribed", v);
		return;
	}
	if (g->got[c] & (1u << t)) {
		fail_msg(m, c, "a message delivered twice", v);
		return;
	}
	if (l->any && l->epoch == g->epoch && g->seq < l->seq) {
		fail_msg(m, c, "after a later message of the same publisher", v);
		return;
	}
	if (g->acked && g->recv < ps->cl[c].newest) {
		fail_msg(m, c, "after a message published once this one was acknowledged", v);
		return;
	}
	if (g->send > ps->cl[c].newest)
		ps->cl[c].newest = g->send;
	if (!l->any || g->epoch > l->epoch || (g->epoch == l->epoch && g->seq > l->seq))
		*l = (struct msp_last){ .epoch = g->epoch, .seq = g->seq, .any = true };
	g->got[c] |= (uint16_t)(1u << t);
	ps->delivered++;
}

bool model_push(struct model *m, unsigned c, const struct resp_reader_value *v)
{
	struct mpubsub *ps = m->ps;
	const struct msp_client *cs = &ps->cl[c];
	unsigned kind = 0;
	const struct resp_reader_value *chan, *payload;
	const struct msp_msg *g;
	uint64_t x;
	int t;

	if ((cs->held == 0 && cs->pending == 0) || v->type != RESP_READER_ARRAY || v->n < 3 ||
	    (!is_bulk(&v->elems[0], "message") && !is_bulk(&v->elems[0], "pmessage") &&
	     !is_bulk(&v->elems[0], "smessage")))
		return false;
	t = target_of(m, v, &kind);
	if (t < 0 || !(cs->held & (1u << t))) {
		fail_msg(m, c, "not a channel or pattern it holds", v);
		return true;
	}
	chan = &v->elems[kind == MK_PAT ? 2 : 1];
	payload = &v->elems[kind == MK_PAT ? 3 : 2];
	x = msg_of(ps, payload);
	g = x != MSP_NONE ? &ps->msg[x] : NULL;
	if (g == NULL || !is_bulk(chan, m->ps->cname[g->name]) || g->spub != (kind == MK_SHARD) ||
	    !(ps->match[g->spub][g->name] & (1u << t))) {
		fail_msg(m, c, "no such message was published there", v);
		return true;
	}
	take_msg(m, c, (unsigned)t, x, v);
	return true;
}

/* The first subscription still held that misses a message owed to it, or
 * NULL; *x the message. Only once every client is done. */
static const struct msp_sub *first_owing(struct model *m, uint64_t *x)
{
	struct mpubsub *ps = m->ps;
	uint64_t i;

	for (i = 0; i < ps->nsub; i++) {
		struct msp_sub *s = &ps->sub[i];
		if (s->conf == 0 || s->end_send != MSP_NONE)
			continue;
		for (; s->cursor < ps->nmsg; s->cursor++) {
			const struct msp_msg *g = &ps->msg[s->cursor];
			if (owed(ps, s, g) && !(g->got[s->client] & (1u << s->t))) {
				*x = s->cursor;
				return s;
			}
		}
	}
	return NULL;
}

bool model_owes(struct model *m)
{
	uint64_t x;

	return first_owing(m, &x) != NULL;
}

void model_owes_fail(struct model *m)
{
	uint64_t x;
	const struct msp_sub *s = first_owing(m, &x);

	if (s == NULL)
		return;
	world_fail(m->w, FAIL_LIVENESS,
		   "client %u holds %s (subscribed at %.3fms) and never got m%llu, published to "
		   "%s from %.3fms to %.3fms",
		   s->client, m->ps->tname[s->t], (double)s->conf / 1e6, (unsigned long long)x,
		   m->ps->cname[m->ps->msg[x].name], (double)m->ps->msg[x].send / 1e6,
		   (double)m->ps->msg[x].recv / 1e6);
}

void model_pubsub_stats(const struct model *m, uint64_t *published, uint64_t *exact,
			uint64_t *delivered)
{
	*published = m->ps->published;
	*exact = m->ps->exact;
	*delivered = m->ps->delivered;
}
