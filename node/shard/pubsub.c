/* pubsub.c: see pubsub.h. */
#include "shard/pubsub.h"

#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/stats.h"
#include "base/util.h"
#include "io/io.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* One subscription as its name sees it: the subscriber, and where the
 * name sits in the subscriber's list (struct pubsub_ref, the other end),
 * so that either end unlinks it in O(1). */
struct pubsub_sub {
	struct conn *c;
	uint32_t at;
};

/* A name and its subscribers (in no particular order). */
struct pubsub_chan {
	struct pubsub_chan *next;
	uint64_t hash;
	struct pubsub_sub *subs;
	uint32_t nsubs, cap;
	uint32_t len;
	char name[];
};

#define PUBSUB_BUCKETS_MIN 16u
#define PUBSUB_CLIENT_START 4u

void pubsub_init(struct pubsub *ps, struct conn_host *h, uint64_t seed)
{
	memset(ps, 0, sizeof(*ps));
	ps->h = h;
	ps->seed = seed;
	atomic_init(&ps->listened, 0);
}

void pubsub_free(struct pubsub *ps)
{
	unsigned k;

	for (k = 0; k < PUBSUB_KINDS; k++) {
		ASSERT(ps->t[k].n == 0);
		mem_free(ps->h->mem, ps->t[k].b);
		ps->t[k].b = NULL;
	}
}

/* ---- the table of names ---- */

static struct pubsub_chan **find(struct pubsub_table *t, uint64_t hash, const char *name,
				 size_t len)
{
	struct pubsub_chan **p;

	if (t->b == NULL)
		return NULL;
	for (p = &t->b[hash & t->mask]; *p != NULL; p = &(*p)->next)
		if ((*p)->hash == hash && (*p)->len == len && memcmp((*p)->name, name, len) == 0)
			return p;
	return NULL;
}

/* Rehashes t into nb buckets (a power of two). */
static void resize(struct pubsub *ps, struct pubsub_table *t, uint32_t nb)
{
	struct pubsub_chan **b = mem_calloc(ps->h->mem, (size_t)nb * sizeof(*b));
	uint32_t i;

	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		struct pubsub_chan *ch = t->b[i], *next;
		for (; ch != NULL; ch = next) {
			next = ch->next;
			ch->next = b[ch->hash & (nb - 1)];
			b[ch->hash & (nb - 1)] = ch;
		}
	}
	mem_free(ps->h->mem, t->b);
	t->b = b;
	t->mask = nb - 1;
}

static struct pubsub_chan *chan_add(struct pubsub *ps, struct pubsub_table *t, uint64_t hash,
				    const char *name, size_t len)
{
	struct pubsub_chan *ch = mem_calloc(ps->h->mem, sizeof(*ch) + len + 1);

	if (t->b == NULL)
		resize(ps, t, PUBSUB_BUCKETS_MIN);
	else if (t->n > t->mask)
		resize(ps, t, (t->mask + 1) * 2);
	ch->hash = hash;
	ch->len = (uint32_t)len;
	memcpy(ch->name, name, len);
	ch->next = t->b[hash & t->mask];
	t->b[hash & t->mask] = ch;
	t->n++;
	atomic_fetch_add_explicit(&ps->listened, 1, memory_order_relaxed);
	return ch;
}

/* Unlinks and frees a name that lost its last subscriber. */
static void chan_del(struct pubsub *ps, struct pubsub_table *t, struct pubsub_chan *ch)
{
	struct pubsub_chan **p = find(t, ch->hash, ch->name, ch->len);

	ASSERT(p != NULL);
	ASSERT(*p == ch);
	ASSERT(ch->nsubs == 0);
	*p = ch->next;
	mem_free(ps->h->mem, ch->subs);
	mem_free(ps->h->mem, ch);
	t->n--;
	atomic_fetch_sub_explicit(&ps->listened, 1, memory_order_relaxed);
	if (t->n == 0) {
		mem_free(ps->h->mem, t->b);
		t->b = NULL;
		t->mask = 0;
	} else if (t->mask + 1 > PUBSUB_BUCKETS_MIN && t->n < (t->mask + 1) / 8) {
		resize(ps, t, (t->mask + 1) / 2);
	}
}

/* Makes room for one more element in an array that grows by doubling. */
static void *grow(struct mem *mem, void *v, uint32_t n, uint32_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : PUBSUB_CLIENT_START;
	return mem_realloc(mem, v, (size_t)*cap * size);
}

/* ---- subscriptions ---- */

static uint32_t client_total(const struct pubsub_client *pc)
{
	return pc->n[PUBSUB_CHANNEL] + pc->n[PUBSUB_PATTERN] + pc->n[PUBSUB_SHARD];
}

/* Where ch sits in c's list of kind k, or -1: found by scanning the
 * shorter of c's names and ch's subscribers, so that neither a client of
 * many names nor a name of many clients makes it slow. */
static int64_t find_ref(const struct conn *c, enum pubsub_kind k, const struct pubsub_chan *ch)
{
	const struct pubsub_client *pc = c->ps;
	uint32_t i;

	if (pc == NULL)
		return -1;
	if (pc->n[k] <= ch->nsubs) {
		for (i = 0; i < pc->n[k]; i++)
			if (pc->v[k][i].ch == ch)
				return i;
		return -1;
	}
	for (i = 0; i < ch->nsubs; i++)
		if (ch->subs[i].c == c)
			return ch->subs[i].at;
	return -1;
}

bool pubsub_subscribe(struct pubsub *ps, struct conn *c, enum pubsub_kind k, const char *name,
		      size_t len)
{
	struct pubsub_table *t = &ps->t[k];
	uint64_t hash = hash_bytes(name, len, ps->seed);
	struct pubsub_chan **p = find(t, hash, name, len), *ch;
	struct pubsub_client *pc;

	ASSERT(k < PUBSUB_KINDS);
	if (p != NULL && find_ref(c, k, *p) >= 0)
		return false;
	ch = p != NULL ? *p : chan_add(ps, t, hash, name, len);
	if (c->ps == NULL) {
		c->ps = mem_calloc(ps->h->mem, sizeof(*c->ps));
		c->ps->soft_since_ms = -1;
	}
	pc = c->ps;
	pc->v[k] = grow(ps->h->mem, pc->v[k], pc->n[k], &pc->cap[k], sizeof(*pc->v[k]));
	ch->subs = grow(ps->h->mem, ch->subs, ch->nsubs, &ch->cap, sizeof(*ch->subs));
	pc->v[k][pc->n[k]] = (struct pubsub_ref){ .ch = ch, .at = ch->nsubs };
	ch->subs[ch->nsubs] = (struct pubsub_sub){ .c = c, .at = pc->n[k] };
	pc->n[k]++;
	ch->nsubs++;
	return true;
}

/* Frees c's record once it holds nothing: c is no longer subscribed. */
static void client_release(struct pubsub *ps, struct conn *c)
{
	struct pubsub_client *pc = c->ps;
	unsigned k;

	if (client_total(pc) != 0)
		return;
	for (k = 0; k < PUBSUB_KINDS; k++)
		mem_free(ps->h->mem, pc->v[k]);
	mem_free(ps->h->mem, pc);
	c->ps = NULL;
}

/* Takes c off the i-th name of kind k it holds: each end's last element
 * moves into the hole, and its other end learns its new place. */
static void unlink_sub(struct pubsub *ps, struct conn *c, enum pubsub_kind k, uint32_t i)
{
	struct pubsub_client *pc = c->ps;
	struct pubsub_chan *ch = pc->v[k][i].ch;
	uint32_t j = pc->v[k][i].at;

	ASSERT(j < ch->nsubs);
	ASSERT(ch->subs[j].c == c);
	if (j != --ch->nsubs) {
		struct pubsub_sub moved = ch->subs[ch->nsubs];
		ch->subs[j] = moved;
		moved.c->ps->v[k][moved.at].at = j;
	}
	if (i != --pc->n[k]) {
		struct pubsub_ref moved = pc->v[k][pc->n[k]];
		pc->v[k][i] = moved;
		moved.ch->subs[moved.at].at = i;
	}
	if (ch->nsubs == 0)
		chan_del(ps, &ps->t[k], ch);
}

bool pubsub_unsubscribe(struct pubsub *ps, struct conn *c, enum pubsub_kind k, const char *name,
			size_t len)
{
	struct pubsub_chan **p;
	int64_t i;

	ASSERT(k < PUBSUB_KINDS);
	if (c->ps == NULL)
		return false;
	p = find(&ps->t[k], hash_bytes(name, len, ps->seed), name, len);
	i = p != NULL ? find_ref(c, k, *p) : -1;
	if (i < 0)
		return false;
	unlink_sub(ps, c, k, (uint32_t)i);
	client_release(ps, c);
	return true;
}

void pubsub_drop(struct pubsub *ps, struct conn *c)
{
	unsigned k;

	if (c->ps == NULL)
		return;
	for (k = 0; k < PUBSUB_KINDS; k++)
		while (c->ps->n[k] > 0)
			unlink_sub(ps, c, k, c->ps->n[k] - 1);
	client_release(ps, c);
	ASSERT(c->ps == NULL);
}

uint32_t pubsub_count(const struct conn *c, enum pubsub_kind k)
{
	return c->ps != NULL ? c->ps->n[k] : 0;
}

const char *pubsub_name(const struct conn *c, enum pubsub_kind k, uint32_t i, size_t *len)
{
	ASSERT(c->ps != NULL);
	ASSERT(i < c->ps->n[k]);
	*len = c->ps->v[k][i].ch->len;
	return c->ps->v[k][i].ch->name;
}

size_t pubsub_client_mem(const struct conn *c)
{
	size_t n;
	unsigned k;

	if (c->ps == NULL)
		return 0;
	n = mem_size(c->ps);
	for (k = 0; k < PUBSUB_KINDS; k++)
		if (c->ps->v[k] != NULL)
			n += mem_size(c->ps->v[k]);
	return n;
}

/* ---- delivery ---- */

/* Whether deliver() would write to c (it skips connections on their way
 * out). */
static bool receives(const struct conn *c)
{
	return !(c->flags & (CONN_F_CLOSE_NOW | CONN_F_CLOSING));
}

/* The pubsub class of client-output-buffer-limit, as Redis applies it
 * (checkClientOutputBufferLimits): over the hard limit, or over the soft
 * one for longer than its seconds, the subscriber is closed. */
void pubsub_check_limit(struct pubsub *ps, struct conn *c)
{
	const long long *lim = ps->h->cfg->obuf_limit[CONFIG_OBUF_PUBSUB];
	struct pubsub_client *pc = c->ps;
	int64_t now = ps->h->clock->now_ms;
	bool over = false;

	if (lim[0] > 0 && c->out.bytes >= (size_t)lim[0]) {
		over = true;
	} else if (lim[1] > 0 && c->out.bytes >= (size_t)lim[1]) {
		if (pc->soft_since_ms < 0)
			pc->soft_since_ms = now;
		else if (now - pc->soft_since_ms > lim[2] * 1000)
			over = true;
	} else {
		pc->soft_since_ms = -1;
	}
	if (!over)
		return;
	log_at(ps->h->io, ps->h->cfg->loglevel, IO_LOG_WARNING,
	       "Client id=%llu scheduled to be closed ASAP for overcoming of output buffer "
	       "limits.",
	       (unsigned long long)c->id);
	ps->h->st->obuf_limit_disconnections++;
	conn_close(ps->h, c, true);
}

struct message {
	const char *kind; /* "message", "pmessage", "smessage" */
	const struct pubsub_chan *pattern;
	const char *channel, *msg;
	size_t clen, mlen;
	struct val *msg_val;
};

/* Writes one message into c's output; false if c is on its way out. */
static bool deliver(struct pubsub *ps, struct conn *c, const struct message *m)
{
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = ps->h->es };

	if (!receives(c))
		return false;
	/* CLIENT REPLY OFF silences messages too, as in Redis 7.0, and a
	 * client that sent QUIT gets nothing after its reply; both count. */
	if (c->flags & (CONN_F_REPLY_OFF | CONN_F_CLOSE_ASAP))
		return true;
	reply_push(&r, m->pattern != NULL ? 4 : 3);
	reply_bulk_cstr(&r, m->kind);
	if (m->pattern != NULL)
		reply_bulk(&r, m->pattern->name, m->pattern->len);
	reply_bulk(&r, m->channel, m->clen);
	if (m->msg_val != NULL)
		reply_bulk_val(&r, m->msg_val);
	else
		reply_bulk(&r, m->msg, m->mlen);
	pubsub_check_limit(ps, c);
	conn_pend(ps->h, c);
	return true;
}

static long long deliver_all(struct pubsub *ps, const struct pubsub_chan *ch,
			     const struct message *m)
{
	long long n = 0;
	uint32_t i;

	/* A subscriber closed for its output limit stays subscribed until it
	 * is freed, so the array does not change under the loop. */
	for (i = 0; i < ch->nsubs; i++)
		n += deliver(ps, ch->subs[i].c, m);
	return n;
}

static long long count_receivers(const struct pubsub_chan *ch)
{
	long long n = 0;
	uint32_t i;

	for (i = 0; i < ch->nsubs; i++)
		n += receives(ch->subs[i].c);
	return n;
}

/* Finds channel's subscribers of kind k and, for a channel, those of every
 * pattern that matches it: delivers m to them, or only counts them when m
 * is NULL. Returns how many it reached (or would). */
static long long walk(struct pubsub *ps, enum pubsub_kind k, const char *channel, size_t clen,
		      struct message *m)
{
	struct pubsub_table *t = &ps->t[k];
	struct pubsub_chan **p;
	long long n = 0;
	uint32_t i;

	ASSERT(k != PUBSUB_PATTERN);
	p = find(t, hash_bytes(channel, clen, ps->seed), channel, clen);
	if (p != NULL)
		n += m != NULL ? deliver_all(ps, *p, m) : count_receivers(*p);
	if (k == PUBSUB_SHARD)
		return n;
	t = &ps->t[PUBSUB_PATTERN];
	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		const struct pubsub_chan *pat;
		for (pat = t->b[i]; pat != NULL; pat = pat->next) {
			if (!util_glob_match(pat->name, pat->len, channel, clen, false))
				continue;
			if (m == NULL) {
				n += count_receivers(pat);
				continue;
			}
			m->kind = "pmessage";
			m->pattern = pat;
			n += deliver_all(ps, pat, m);
		}
	}
	return n;
}

long long pubsub_publish(struct pubsub *ps, enum pubsub_kind k, const char *channel, size_t clen,
			 const char *msg, size_t mlen, struct val *msg_val)
{
	struct message m = { .kind = k == PUBSUB_SHARD ? "smessage" : "message",
			     .channel = channel,
			     .clen = clen,
			     .msg = msg,
			     .mlen = mlen,
			     .msg_val = msg_val };

	return walk(ps, k, channel, clen, &m);
}

long long pubsub_receivers(const struct pubsub *ps, enum pubsub_kind k, const char *channel,
			   size_t clen)
{
	/* Only reads: walk() writes nothing without a message. */
	return walk((struct pubsub *)ps, k, channel, clen, NULL);
}

/* A MSG_PUBLISH's bytes: the kind (1 byte), the channel's length (4),
 * the channel, the message. */
#define PUBSUB_MSG_HEAD (1 + sizeof(uint32_t))

struct xmsg *pubsub_message_new(struct mem *mem, enum pubsub_kind k, const char *channel,
				size_t clen, const char *msg, size_t mlen)
{
	size_t n = PUBSUB_MSG_HEAD + clen + mlen;
	char *buf = mem_alloc(mem, n);
	uint32_t c32 = (uint32_t)clen;
	struct xmsg *m;

	ASSERT(clen <= UINT32_MAX);
	buf[0] = (char)k;
	memcpy(buf + 1, &c32, sizeof(c32));
	memcpy(buf + PUBSUB_MSG_HEAD, channel, clen);
	memcpy(buf + PUBSUB_MSG_HEAD + clen, msg, mlen);
	m = msg_bytes_new(mem, MSG_PUBLISH, buf, n);
	mem_free(mem, buf);
	return m;
}

void pubsub_message(struct pubsub *ps, struct xmsg *m)
{
	size_t n;
	const char *p = msg_bytes(m, &n);
	uint32_t clen;

	ASSERT(m->kind == MSG_PUBLISH);
	ASSERT(n >= PUBSUB_MSG_HEAD);
	memcpy(&clen, p + 1, sizeof(clen));
	ASSERT(PUBSUB_MSG_HEAD + clen <= n);
	(void)pubsub_publish(ps, (enum pubsub_kind)p[0], p + PUBSUB_MSG_HEAD, clen,
			     p + PUBSUB_MSG_HEAD + clen, n - PUBSUB_MSG_HEAD - clen, NULL);
	msg_bytes_free(ps->h->mem, m);
}

void pubsub_drop_message(struct mem *mem, struct xmsg *m)
{
	ASSERT(m->kind == MSG_PUBLISH);
	msg_bytes_free(mem, m);
}

long long pubsub_numsub(const struct pubsub *ps, enum pubsub_kind k, const char *name, size_t len)
{
	struct pubsub_table *t = (struct pubsub_table *)&ps->t[k];
	struct pubsub_chan **p = find(t, hash_bytes(name, len, ps->seed), name, len);

	return p != NULL ? (*p)->nsubs : 0;
}

void pubsub_each(const struct pubsub *ps, enum pubsub_kind k,
		 void (*fn)(void *arg, const char *name, size_t len, uint32_t subs), void *arg)
{
	const struct pubsub_table *t = &ps->t[k];
	uint32_t i;

	for (i = 0; t->b != NULL && i <= t->mask; i++) {
		const struct pubsub_chan *ch;
		for (ch = t->b[i]; ch != NULL; ch = ch->next)
			fn(arg, ch->name, ch->len, ch->nsubs);
	}
}

/* Tells c it no longer holds shard channel ch (a push under RESP3). */
static void tell_sunsubscribed(struct pubsub *ps, struct conn *c, const struct pubsub_chan *ch)
{
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = ps->h->es };

	if (!receives(c) || (c->flags & CONN_F_REPLY_OFF))
		return;
	reply_push(&r, 3);
	reply_bulk(&r, "sunsubscribe", 12);
	reply_bulk(&r, ch->name, ch->len);
	reply_int(&r, (long long)pubsub_count(c, PUBSUB_SHARD) - 1);
	pubsub_check_limit(ps, c);
	conn_pend(ps->h, c);
}

uint32_t pubsub_drop_shard_channels(struct pubsub *ps,
				    bool (*keep)(void *arg, const char *name, size_t len),
				    void *arg)
{
	struct pubsub_table *t = &ps->t[PUBSUB_SHARD];
	struct text names;
	uint32_t b, dropped = 0;
	size_t off = 0;

	/* The names first (each goes with its last subscriber), then each
	 * name's subscribers, last first. */
	text_init(&names, ps->h->mem, 64);
	for (b = 0; t->b != NULL && b <= t->mask; b++) {
		const struct pubsub_chan *ch;
		for (ch = t->b[b]; ch != NULL; ch = ch->next) {
			if (keep(arg, ch->name, ch->len))
				continue;
			text_add(&names, (const char *)&ch->len, sizeof(ch->len));
			text_add(&names, ch->name, ch->len);
			dropped++;
		}
	}
	while (off < names.len) {
		uint32_t len;
		const char *name = names.p + off + sizeof(len);
		struct pubsub_chan **p;
		memcpy(&len, names.p + off, sizeof(len));
		off += sizeof(len) + len;
		while ((p = find(t, hash_bytes(name, len, ps->seed), name, len)) != NULL) {
			struct conn *c = (*p)->subs[(*p)->nsubs - 1].c;
			tell_sunsubscribed(ps, c, *p);
			(void)pubsub_unsubscribe(ps, c, PUBSUB_SHARD, name, len);
		}
	}
	text_free(&names);
	return dropped;
}
