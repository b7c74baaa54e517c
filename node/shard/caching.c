/* caching.c: see caching.h. */
#include "shard/caching.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/msg.h"
#include "shard/pubsub.h"
#include "shard/xshard.h"

/* What an entry asks (queue, BCAST keys and messages alike). */
enum entry_op {
	E_KEY = 1, /* a: the client that read key; b: who changed it */
	E_BCAST,   /* b: who changed key */
	E_FLUSH,   /* every key went */
	E_DELIVER, /* a: a redirection's client; b: the tracking client; key:
		    * the invalidation's payload, encoded */
	E_BROKEN,  /* a: a tracking client; b: its redirection, gone */
};

struct entry {
	uint8_t op;
	uint32_t klen;
	uint64_t a, b;
};

/* A BCAST prefix and the clients here that registered it, in the order
 * they did. */
struct caching_prefix {
	struct conn **c;
	uint32_t n, cap;
	uint32_t len;
	char p[];
};

#define NULL2 "$-1\r\n"
#define NULL3 "_\r\n"

void caching_init(struct caching *cc, struct conn_host *h, struct conns *conns, struct pubsub *ps,
		  struct xshard *x, unsigned self, unsigned nshards, atomic_uint *bcast_node)
{
	memset(cc, 0, sizeof(*cc));
	cc->h = h;
	cc->conns = conns;
	cc->ps = ps;
	cc->x = x;
	cc->mem = h->mem;
	cc->self = self;
	cc->nshards = nshards;
	cc->out = mem_calloc(cc->mem, nshards * sizeof(*cc->out));
	atomic_init(&cc->clients, 0);
	atomic_init(&cc->bcast, 0);
	cc->bcast_node = bcast_node;
}

void caching_free(struct caching *cc)
{
	unsigned s;

	ASSERT(cc->npfx == 0);
	for (s = 0; s < cc->nshards; s++)
		mem_free(cc->mem, cc->out[s].p);
	mem_free(cc->mem, cc->out);
	mem_free(cc->mem, cc->q.p);
	mem_free(cc->mem, cc->bq.p);
	mem_free(cc->mem, cc->pfx);
	cc->out = NULL;
	cc->q.p = cc->bq.p = NULL;
	cc->pfx = NULL;
}

/* ---- entries ---- */

static void buf_add(struct mem *mem, struct caching_buf *b, const struct entry *e, const char *key)
{
	size_t need = b->len + sizeof(*e) + e->klen;

	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap *= 2;
		b->p = mem_realloc(mem, b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, e, sizeof(*e));
	if (e->klen > 0)
		memcpy(b->p + b->len + sizeof(*e), key, e->klen);
	b->len = need;
}

/* The entry at *off of p (n bytes), its key; advances *off. */
static const char *entry_at(const char *p, size_t n, size_t *off, struct entry *e)
{
	ASSERT(*off + sizeof(*e) <= n);
	memcpy(e, p + *off, sizeof(*e));
	*off += sizeof(*e);
	ASSERT(*off + e->klen <= n);
	*off += e->klen;
	return p + *off - e->klen;
}

static void out_add(struct caching *cc, unsigned s, const struct entry *e, const char *key)
{
	ASSERT(s < cc->nshards && s != cc->self);
	buf_add(cc->mem, &cc->out[s], e, key);
}

/* Sends what gathered for the other shards, one message each. */
static void send_out(struct caching *cc)
{
	unsigned s;

	for (s = 0; s < cc->nshards; s++) {
		struct caching_buf *b = &cc->out[s];
		if (b->len == 0)
			continue;
		xshard_send(cc->x, s, msg_bytes_new(cc->mem, MSG_TRACK, b->p, b->len));
		b->len = 0;
	}
}

void caching_report(struct caching *cc, enum tracking_event ev, const char *key, size_t klen,
		    const uint64_t *ids, uint32_t nids, uint64_t modifier)
{
	struct entry e = { .klen = (uint32_t)klen, .b = modifier };
	uint32_t i;

	ASSERT(klen <= UINT32_MAX);
	switch (ev) {
	case TRACKING_KEY:
		e.op = E_KEY;
		for (i = 0; i < nids; i++) {
			e.a = ids[i];
			buf_add(cc->mem, &cc->q, &e, key);
		}
		return;
	case TRACKING_BCAST: e.op = E_BCAST; break;
	case TRACKING_FLUSH:
		/* One per flush, though every keyspace reports it. */
		if (cc->q.len >= sizeof(e)) {
			struct entry last;
			memcpy(&last, cc->q.p + cc->q.len - sizeof(e), sizeof(e));
			if (last.op == E_FLUSH && last.klen == 0)
				return;
		}
		e.op = E_FLUSH;
		e.klen = 0;
		break;
	}
	buf_add(cc->mem, &cc->q, &e, key);
}

/* ---- writing to a client ---- */

static bool live(const struct conn *c)
{
	return !(c->flags & (CONN_F_CLOSE_NOW | CONN_F_CLOSING | CONN_F_CLOSE_ASAP));
}

static void written(struct caching *cc, struct conn *c)
{
	if (c->ps != NULL)
		pubsub_check_limit(cc->ps, c);
	else
		conn_check_output_limit(cc->h, c);
	conn_pend(cc->h, c);
}

/* Writes `invalidate` with its payload (an array of keys, or a null) to
 * rc: a push under RESP3; a message on __redis__:invalidate to a RESP2
 * client that a tracking client redirects to and that is subscribed;
 * nothing to any other (Redis's sendTrackingMessage). */
static void write_inval(struct caching *cc, struct conn *rc, bool redirected, const char *pay,
			size_t plen)
{
	struct reply r = { .ob = &rc->out, .proto = rc->proto, .es = cc->h->es };

	if (!live(rc) || (rc->flags & CONN_F_REPLY_OFF))
		return;
	if (rc->proto >= 3) {
		reply_push(&r, 2);
		reply_bulk(&r, "invalidate", 10);
	} else if (redirected && rc->ps != NULL) {
		reply_array(&r, 3);
		reply_bulk(&r, "message", 7);
		reply_bulk(&r, "__redis__:invalidate", 20);
	} else {
		return;
	}
	reply_raw(&r, pay, plen);
	written(cc, rc);
}

/* A tracking client whose redirection is gone: flagged, and told so under
 * RESP3. */
static void broken(struct caching *cc, struct conn *tc)
{
	struct reply r = { .ob = &tc->out, .proto = tc->proto, .es = cc->h->es };

	tc->flags |= CONN_F_TRK_BROKEN;
	if (tc->proto < 3 || !live(tc) || (tc->flags & CONN_F_REPLY_OFF))
		return;
	reply_push(&r, 2);
	reply_bulk(&r, "tracking-redir-broken", 21);
	reply_int(&r, (long long)tc->trk->redirect);
	written(cc, tc);
}

/* Sends tracking client tc an invalidation: to itself, or through its
 * redirection, here or on the redirection's shard. */
static void send_to(struct caching *cc, struct conn *tc, const char *pay, size_t plen)
{
	uint64_t redir = tc->trk->redirect;
	unsigned s;
	struct conn *rc;

	if (redir == 0) {
		write_inval(cc, tc, false, pay, plen);
		return;
	}
	s = (unsigned)(redir % cc->nshards);
	if (s != cc->self) {
		struct entry e = {
			.op = E_DELIVER, .klen = (uint32_t)plen, .a = redir, .b = tc->id
		};
		out_add(cc, s, &e, pay);
		return;
	}
	rc = conns_find_id(cc->conns, redir);
	if (rc == NULL)
		broken(cc, tc);
	else
		write_inval(cc, rc, true, pay, plen);
}

/* The payload of one key: an array of it. */
static void send_key(struct caching *cc, struct conn *tc, const char *key, size_t klen)
{
	char head[2 * UTIL_LL_CHARS + 8], *pay, small[256];
	int n = snprintf(head, sizeof(head), "*1\r\n$%zu\r\n", klen);
	size_t plen = (size_t)n + klen + 2;

	pay = plen <= sizeof(small) ? small : mem_alloc(cc->mem, plen);
	memcpy(pay, head, (size_t)n);
	memcpy(pay + n, key, klen);
	memcpy(pay + n + klen, "\r\n", 2);
	send_to(cc, tc, pay, plen);
	if (pay != small)
		mem_free(cc->mem, pay);
}

static bool tracks_keys(const struct conn *tc)
{
	return tc != NULL && (tc->flags & CONN_F_TRACKING) && !(tc->flags & CONN_F_TRK_BCAST);
}

static void deliver_key(struct caching *cc, uint64_t target, uint64_t modifier, const char *key,
			size_t klen)
{
	struct conn *tc = conns_find_id(cc->conns, target);

	if (!tracks_keys(tc))
		return;
	if ((tc->flags & CONN_F_TRK_NOLOOP) && modifier == target)
		return;
	send_key(cc, tc, key, klen);
}

/* Every tracking client here hears of a flush (a null in its own
 * protocol, as Redis's shared.null[c->resp]). */
static void deliver_flush(struct caching *cc)
{
	uint32_t i;

	if (atomic_load_explicit(&cc->clients, memory_order_relaxed) == 0)
		return;
	for (i = 0; i < cc->conns->cap; i++) {
		struct conn *tc = conns_at(cc->conns, i);
		if (tc == NULL || !(tc->flags & CONN_F_TRACKING))
			continue;
		if (tc->proto >= 3)
			send_to(cc, tc, NULL3, sizeof(NULL3) - 1);
		else
			send_to(cc, tc, NULL2, sizeof(NULL2) - 1);
	}
}

static void deliver_redirected(struct caching *cc, const struct entry *e, const char *pay)
{
	struct conn *rc = conns_find_id(cc->conns, e->a);

	if (rc != NULL) {
		write_inval(cc, rc, true, pay, e->klen);
	} else {
		struct entry back = { .op = E_BROKEN, .a = e->b, .b = e->a };
		out_add(cc, (unsigned)(e->b % cc->nshards), &back, NULL);
	}
}

static void deliver_broken(struct caching *cc, const struct entry *e)
{
	struct conn *tc = conns_find_id(cc->conns, e->a);

	if (tc != NULL && (tc->flags & CONN_F_TRACKING) && tc->trk->redirect == e->b)
		broken(cc, tc);
}

static void gather_bcast(struct caching *cc, const struct entry *e, const char *key)
{
	if (atomic_load_explicit(&cc->bcast, memory_order_relaxed) > 0)
		buf_add(cc->mem, &cc->bq, e, key);
}

void caching_flush(struct caching *cc, const uint64_t *with_clients, const uint64_t *with_bcast)
{
	size_t off = 0;
	unsigned s;

	while (off < cc->q.len) {
		struct entry e;
		const char *key = entry_at(cc->q.p, cc->q.len, &off, &e);
		const uint64_t *to = e.op == E_FLUSH ? with_clients : with_bcast;
		if (e.op == E_KEY) {
			s = (unsigned)(e.a % cc->nshards);
			if (s == cc->self)
				deliver_key(cc, e.a, e.b, key, e.klen);
			else
				out_add(cc, s, &e, key);
			continue;
		}
		if (e.op == E_FLUSH)
			deliver_flush(cc);
		else
			gather_bcast(cc, &e, key);
		for (s = 0; s < cc->nshards; s++)
			if (s != cc->self && (to[s / 64] >> (s % 64) & 1))
				out_add(cc, s, &e, key);
	}
	cc->q.len = 0;
	send_out(cc);
}

void caching_message(struct caching *cc, struct xmsg *m)
{
	size_t n, off = 0;
	const char *p = msg_bytes(m, &n);

	while (off < n) {
		struct entry e;
		const char *key = entry_at(p, n, &off, &e);
		switch (e.op) {
		case E_KEY: deliver_key(cc, e.a, e.b, key, e.klen); break;
		case E_BCAST: gather_bcast(cc, &e, key); break;
		case E_FLUSH: deliver_flush(cc); break;
		case E_DELIVER: deliver_redirected(cc, &e, key); break;
		case E_BROKEN: deliver_broken(cc, &e); break;
		default: ASSERT_NOT_REACHED("caching: unknown entry");
		}
	}
	msg_bytes_free(cc->mem, m);
	send_out(cc);
}

void caching_drop_message(struct mem *mem, struct xmsg *m)
{
	msg_bytes_free(mem, m);
}

/* ---- BCAST ---- */

struct changed {
	const char *key;
	uint32_t klen, seq;
	uint64_t by;
};

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	int d = memcmp(a, b, an < bn ? an : bn);

	return d != 0 ? d : (an > bn) - (an < bn);
}

static int by_key_then_seq(const void *x, const void *y)
{
	const struct changed *a = x, *b = y;
	int d = cmp_bytes(a->key, a->klen, b->key, b->klen);

	return d != 0 ? d : (a->seq > b->seq) - (a->seq < b->seq);
}

/* The gathered keys, sorted, each once with its latest changer (Redis's
 * radix tree of keys per prefix: the last insert's value stays). */
static uint32_t changed_keys(struct caching *cc, struct changed **out)
{
	struct changed *v;
	uint32_t n = 0, i, k = 0;
	size_t off = 0;

	while (off < cc->bq.len) {
		struct entry e;
		(void)entry_at(cc->bq.p, cc->bq.len, &off, &e);
		n++;
	}
	v = mem_alloc(cc->mem, n * sizeof(*v));
	for (off = 0, i = 0; i < n; i++) {
		struct entry e;
		v[i].key = entry_at(cc->bq.p, cc->bq.len, &off, &e);
		v[i].klen = e.klen;
		v[i].seq = i;
		v[i].by = e.b;
	}
	qsort(v, n, sizeof(*v), by_key_then_seq);
	for (i = 0; i < n; i++) {
		if (k > 0 && cmp_bytes(v[k - 1].key, v[k - 1].klen, v[i].key, v[i].klen) == 0)
			k--;
		v[k++] = v[i];
	}
	*out = v;
	return k;
}

static bool has_prefix(const struct changed *c, const struct caching_prefix *p)
{
	return c->klen >= p->len && memcmp(c->key, p->p, p->len) == 0;
}

/* Sends tc the keys of v[from, to) it must hear of: none that it changed
 * itself under NOLOOP. */
static void send_keys(struct caching *cc, struct conn *tc, const struct changed *v, uint32_t from,
		      uint32_t to)
{
	struct text t;
	uint32_t i, n = 0;
	bool noloop = (tc->flags & CONN_F_TRK_NOLOOP) != 0;

	for (i = from; i < to; i++)
		n += !(noloop && v[i].by == tc->id);
	if (n == 0)
		return;
	text_init(&t, cc->mem, 64);
	text_printf(&t, "*%u\r\n", n);
	for (i = from; i < to; i++) {
		if (noloop && v[i].by == tc->id)
			continue;
		text_printf(&t, "$%u\r\n", v[i].klen);
		text_add(&t, v[i].key, v[i].klen);
		text_add(&t, "\r\n", 2);
	}
	send_to(cc, tc, t.p, t.len);
	text_free(&t);
}

/* The first of the sorted keys v[0, n) that is not below p's bytes. */
static uint32_t first_at_least(const struct changed *v, uint32_t n, const struct caching_prefix *p)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cmp_bytes(v[mid].key, v[mid].klen, p->p, p->len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void caching_broadcast(struct caching *cc)
{
	struct changed *v;
	uint32_t n = changed_keys(cc, &v), i, j, from, to;

	for (i = 0; i < cc->npfx; i++) {
		const struct caching_prefix *p = cc->pfx[i];
		from = first_at_least(v, n, p);
		for (to = from; to < n && has_prefix(&v[to], p);)
			to++;
		if (to == from)
			continue;
		for (j = 0; j < p->n; j++)
			send_keys(cc, p->c[j], v, from, to);
	}
	mem_free(cc->mem, v);
	cc->bq.len = 0;
	send_out(cc);
}

/* ---- enabling ---- */

/* Where prefix p sits in the sorted table (found: *found). */
static uint32_t pfx_find(struct caching_prefix *const *t, uint32_t n, const char *p, size_t len,
			 bool *found)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cmp_bytes(t[mid]->p, t[mid]->len, p, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && cmp_bytes(t[lo]->p, t[lo]->len, p, len) == 0;
	return lo;
}

static void ptr_insert(struct mem *mem, void ***v, uint32_t *n, uint32_t *cap, uint32_t at, void *x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*v = mem_realloc(mem, *v, *cap * sizeof(**v));
	}
	memmove(*v + at + 1, *v + at, (*n - at) * sizeof(**v));
	(*v)[at] = x;
	(*n)++;
}

static void ptr_remove(void **v, uint32_t *n, uint32_t at)
{
	memmove(v + at, v + at + 1, (*n - at - 1) * sizeof(*v));
	(*n)--;
}

/* Registers c for prefix p (once). */
static void add_prefix(struct caching *cc, struct conn *c, const char *p, size_t len)
{
	struct caching_client *t = c->trk;
	struct caching_prefix *x;
	bool found;
	uint32_t at = pfx_find(t->pfx, t->npfx, p, len, &found);

	if (found)
		return;
	x = NULL;
	{
		uint32_t gat = pfx_find(cc->pfx, cc->npfx, p, len, &found);
		if (found) {
			x = cc->pfx[gat];
		} else {
			x = mem_alloc(cc->mem, sizeof(*x) + len);
			x->c = NULL;
			x->n = x->cap = 0;
			x->len = (uint32_t)len;
			memcpy(x->p, p, len);
			ptr_insert(cc->mem, (void ***)&cc->pfx, &cc->npfx, &cc->pfx_cap, gat, x);
		}
	}
	ptr_insert(cc->mem, (void ***)&x->c, &x->n, &x->cap, x->n, c);
	ptr_insert(cc->mem, (void ***)&t->pfx, &t->npfx, &t->cap, at, x);
}

/* Unregisters c from prefix x; the prefix goes with its last client. */
static void drop_prefix(struct caching *cc, struct conn *c, struct caching_prefix *x)
{
	uint32_t i;
	bool found;

	for (i = 0; i < x->n && x->c[i] != c; i++)
		;
	ASSERT(i < x->n);
	ptr_remove((void **)x->c, &x->n, i);
	if (x->n > 0)
		return;
	i = pfx_find(cc->pfx, cc->npfx, x->p, x->len, &found);
	ASSERT(found && cc->pfx[i] == x);
	ptr_remove((void **)cc->pfx, &cc->npfx, i);
	mem_free(cc->mem, x->c);
	mem_free(cc->mem, x);
}

void caching_enable(struct caching *cc, struct conn *c, uint64_t redirect, uint32_t modes,
		    const struct cmd_arg *const *prefixes, int nprefixes)
{
	int i;

	ASSERT((modes & ~(CONN_F_TRK_BCAST | CONN_F_TRK_OPTIN | CONN_F_TRK_OPTOUT |
			  CONN_F_TRK_NOLOOP)) == 0);
	if (!(c->flags & CONN_F_TRACKING)) {
		atomic_fetch_add_explicit(&cc->clients, 1, memory_order_relaxed);
		if (c->trk == NULL)
			c->trk = mem_calloc(cc->mem, sizeof(*c->trk));
	}
	/* Switching BCAST on or off takes OFF first (the caller checks). */
	ASSERT(!(c->flags & CONN_F_TRACKING) || ((c->flags ^ modes) & CONN_F_TRK_BCAST) == 0);
	if ((modes & CONN_F_TRK_BCAST) && !(c->flags & CONN_F_TRK_BCAST)) {
		atomic_fetch_add_explicit(&cc->bcast, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(cc->bcast_node, 1, memory_order_relaxed);
	}
	c->flags &= ~(CONN_F_TRK_BROKEN | CONN_F_TRK_BCAST | CONN_F_TRK_OPTIN | CONN_F_TRK_OPTOUT |
		      CONN_F_TRK_NOLOOP);
	c->flags |= CONN_F_TRACKING | modes;
	c->trk->redirect = redirect;
	if (!(modes & CONN_F_TRK_BCAST))
		return;
	if (nprefixes == 0)
		add_prefix(cc, c, "", 0);
	for (i = 0; i < nprefixes; i++)
		add_prefix(cc, c, prefixes[i]->p, prefixes[i]->len);
}

void caching_disable(struct caching *cc, struct conn *c)
{
	struct caching_client *t = c->trk;
	uint32_t i;

	if (!(c->flags & CONN_F_TRACKING)) {
		ASSERT(t == NULL);
		c->flags &= ~CONN_F_TRK_MODES;
		return;
	}
	if (c->flags & CONN_F_TRK_BCAST) {
		for (i = 0; i < t->npfx; i++)
			drop_prefix(cc, c, t->pfx[i]);
		atomic_fetch_sub_explicit(&cc->bcast, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(cc->bcast_node, 1, memory_order_relaxed);
	}
	atomic_fetch_sub_explicit(&cc->clients, 1, memory_order_relaxed);
	mem_free(cc->mem, t->pfx);
	mem_free(cc->mem, t);
	c->trk = NULL;
	c->flags &= ~CONN_F_TRK_MODES;
}

const char *caching_overlap(const struct conn *c, const char *p, size_t n, size_t *len)
{
	uint32_t i;

	if (c->trk == NULL)
		return NULL;
	for (i = 0; i < c->trk->npfx; i++) {
		const struct caching_prefix *x = c->trk->pfx[i];
		size_t m = x->len < n ? x->len : n;
		if (memcmp(x->p, p, m) == 0) {
			*len = x->len;
			return x->p;
		}
	}
	return NULL;
}

const char *caching_prefix(const struct conn *c, uint32_t i, size_t *len)
{
	ASSERT(c->trk != NULL && i < c->trk->npfx);
	*len = c->trk->pfx[i]->len;
	return c->trk->pfx[i]->p;
}

const char *caching_table_prefix(const struct caching *cc, uint32_t i, size_t *len)
{
	ASSERT(i < cc->npfx);
	*len = cc->pfx[i]->len;
	return cc->pfx[i]->p;
}
