/* ccl.c: cluster clients. See ccl.h. */
#include "ccl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "cluster.h"
#include "model.h"
#include "resp_reader.h"
#include "world.h"

#define SLOTS 16384
/* Bytes a client reads in one step at most. */
#define CCL_READ_MAX 65536
/* Time a client thinks between requests, and waits before it tries again
 * after TRYAGAIN or CLUSTERDOWN (redis-py sleeps 50 and 250 ms). */
#define CCL_THINK_MAX (200ull * 1000)
#define CCL_TRYAGAIN_NS (50ull * 1000 * 1000)
#define CCL_DOWN_NS (250ull * 1000 * 1000)
/* How often a client looks whether the cluster has formed. */
#define CCL_FORM_WAIT_NS (1000ull * 1000)
/* The longest padding of a value (so that MIGRATE moves some KB). */
#define CCL_PAD_MAX 3000
/* The chance a request goes to a key of the slot on the move. */
#define CCL_MOVING_P 0.5
/* The chance a request is a SET (else a GET). */
#define CCL_SET_P 0.5
/* The chance a request to a slot on an atomic move goes to its target. */
#define CCL_ASTRAY_P 0.2

/* One key's writes, for the register rule. */
struct ckey {
	struct mwrite *w;
	unsigned n, cap;
	uint64_t since; /* the last time its holder may have lost it */
};

struct cwork {
	struct ckey keys[CLUSTER_WKEYS];
	uint64_t next_token;
	bool evictable; /* under maxmemory, an allkeys- policy: nil is always legal */
	uint64_t sets, ooms, gets, moved, asks, retries;
	unsigned hops_max;
};

struct ccl {
	unsigned id;
	struct cwork *wk;
	struct rng rng;
	int sock[SIM_NODES_MAX];
	struct resp_reader rd[SIM_NODES_MAX];
	uint8_t map[SLOTS]; /* each slot's owner, as far as it knows */
	/* The request in flight. */
	bool busy, is_set, asking;
	unsigned key, slot, node, owed, hops;
	uint64_t token, send;
	uint64_t next_time;
	char *buf;
};

struct cwork *cwork_new(const struct world *w)
{
	struct cwork *wk = sim_calloc(sizeof(struct cwork));
	int p = (int)w->cfg.policy;

	wk->evictable = w->cfg.maxmemory_kb > 0 &&
			(p == POLICY_ALLKEYS_LRU || p == POLICY_ALLKEYS_LFU ||
			 p == POLICY_ALLKEYS_RANDOM || p == POLICY_ALLKEYS_SIEVE);
	return wk;
}

bool cwork_evictable(const struct cwork *wk)
{
	return wk->evictable;
}

void cwork_free(struct cwork *wk)
{
	unsigned i;

	if (wk == NULL)
		return;
	for (i = 0; i < CLUSTER_WKEYS; i++)
		free(wk->keys[i].w);
	free(wk);
}

void cwork_slot_lost(struct cwork *wk, unsigned slot, uint64_t t)
{
	unsigned j;
	char key[32];

	for (j = 0; j < CLUSTER_WKEYS; j++) {
		cluster_wkey(j, key, sizeof(key));
		if (hash_slot(key, strlen(key)) == slot && wk->keys[j].since < t)
			wk->keys[j].since = t;
	}
}

void cwork_stats(const struct cwork *wk, uint64_t *sets, uint64_t *gets, uint64_t *moved,
		 uint64_t *asks, uint64_t *retries, unsigned *hops_max)
{
	*sets = wk->sets;
	*gets = wk->gets;
	*moved = wk->moved;
	*asks = wk->asks;
	*retries = wk->retries;
	*hops_max = wk->hops_max;
}

static struct mwrite *write_of(struct ckey *k, uint64_t token)
{
	unsigned i;

	for (i = 0; i < k->n; i++)
		if (k->w[i].token == token)
			return &k->w[i];
	return NULL;
}

/* The padding of token's value: its length and its letter. */
static size_t pad_len(uint64_t token)
{
	return (size_t)((token * 7919u) % (CCL_PAD_MAX + 1));
}

static char pad_char(uint64_t token)
{
	return (char)('a' + token % 26);
}

struct ccl *ccl_new(struct world *w, unsigned id, struct cwork *wk, const struct rng *r)
{
	struct ccl *cl = sim_calloc(sizeof(*cl));
	unsigned i, s;

	cl->id = id;
	cl->wk = wk;
	cl->rng = *r;
	cl->buf = sim_calloc(CCL_READ_MAX);
	for (i = 0; i < SIM_NODES_MAX; i++) {
		cl->sock[i] = -1;
		resp_reader_init(&cl->rd[i], NULL);
	}
	for (i = 0; i < w->nnodes; i++)
		for (s = cluster_first_slot(w->nnodes, i); s < cluster_first_slot(w->nnodes, i + 1);
		     s++)
			cl->map[s] = (uint8_t)i;
	return cl;
}

void ccl_free(struct world *w, struct ccl *cl)
{
	unsigned i;

	(void)w;
	if (cl == NULL)
		return;
	for (i = 0; i < SIM_NODES_MAX; i++)
		resp_reader_free(&cl->rd[i]);
	free(cl->buf);
	free(cl);
}

/* ---- sending ---- */

static size_t put_bulk(char *out, size_t o, const char *p, size_t n)
{
	o += (size_t)sprintf(out + o, "$%zu\r\n", n);
	memcpy(out + o, p, n);
	o += n;
	memcpy(out + o, "\r\n", 2);
	return o + 2;
}

/* --watch: whether key names the text watched. */
static bool watching(const struct world *w, const char *key)
{
	return w->cfg.watch[0] != '\0' && strstr(key, w->cfg.watch) != NULL;
}

/* Sends the request (after ASKING if asked) to cl->node. */
static void send_req(struct world *w, struct ccl *cl)
{
	char key[32], val[64 + CCL_PAD_MAX], *out = cl->buf;
	size_t o = 0, vlen = 0;
	unsigned n = cl->node;

	if (cl->sock[n] < 0)
		cl->sock[n] = net_connect(w, (struct client *)(void *)cl, n);
	cluster_wkey(cl->key, key, sizeof(key));
	if (cl->asking)
		o = (size_t)sprintf(out, "*1\r\n$6\r\nASKING\r\n");
	o += (size_t)sprintf(out + o, "*%d\r\n", cl->is_set ? 3 : 2);
	o = put_bulk(out, o, cl->is_set ? "SET" : "GET", 3);
	o = put_bulk(out, o, key, strlen(key));
	if (cl->is_set) {
		vlen = (size_t)sprintf(val, "w%llu:", (unsigned long long)cl->token);
		memset(val + vlen, pad_char(cl->token), pad_len(cl->token));
		vlen += pad_len(cl->token);
		o = put_bulk(out, o, val, vlen);
	}
	ASSERT(o < CCL_READ_MAX);
	if (watching(w, key))
		printf("%10llu %9.3fms cluster client %u to node %u: %s%s %s%s\n",
		       (unsigned long long)w->tick, (double)w->now / 1e6, cl->id, n,
		       cl->asking ? "ASKING, " : "", cl->is_set ? "SET" : "GET", key,
		       cl->is_set ? " w..." : "");
	net_send(w, cl->sock[n], out, o);
	world_event(w, EV_SEND, 0x10000u + cl->id, o);
	cl->owed = cl->asking ? 2 : 1;
}

static void start_req(struct world *w, struct ccl *cl)
{
	struct cwork *wk = cl->wk;
	int tag = cluster_moving_tag(w->cluster);
	char key[32];

	/* Half the requests go to the keys of a slot on the move, if any:
	 * the races of a migration are what these clients are for. */
	cl->key = (unsigned)rng_below(&cl->rng, CLUSTER_WKEYS);
	if (tag >= 0 && rng_chance(&cl->rng, CCL_MOVING_P))
		cl->key = cl->key / CLUSTER_WTAGS * CLUSTER_WTAGS + (unsigned)tag;
	cluster_wkey(cl->key, key, sizeof(key));
	cl->slot = hash_slot(key, strlen(key));
	cl->is_set = rng_chance(&cl->rng, CCL_SET_P);
	cl->busy = true;
	cl->asking = false;
	cl->hops = 0;
	cl->send = w->now;
	cl->node = cl->map[cl->slot];
	/* During an atomic move, now and then a request goes astray, to its
	 * target (a client whose map runs ahead): it must be sent back to the
	 * source (MOVED), the keys there hidden until the switch. */
	if (cluster_atomic_moving(w->cluster, cl->slot, w->now) &&
	    rng_chance(&cl->rng, CCL_ASTRAY_P))
		cl->node = cluster_atomic_target(w->cluster);
	if (cl->is_set) {
		struct ckey *k = &wk->keys[cl->key];
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 16;
			k->w = sim_realloc(k->w, k->cap * sizeof(*k->w));
		}
		cl->token = ++wk->next_token;
		k->w[k->n++] =
			(struct mwrite){ .token = cl->token, .send = w->now, .recv = UINT64_MAX };
	}
	send_req(w, cl);
}

/* ---- replies ---- */

/* The node a redirect ("MOVED <slot> 10.0.0.<i+1>:<port>") names, or -1. */
static int redirect_node(const struct world *w, const char *s, unsigned slot)
{
	unsigned got, a, b, c, d, port;

	if (sscanf(s, "%*s %u %u.%u.%u.%u:%u", &got, &a, &b, &c, &d, &port) != 6)
		return -1;
	if (got != slot || a != 10 || b != 0 || c != 0 || d < 1 || d > w->nnodes ||
	    port != SIM_PORT)
		return -1;
	return (int)d - 1;
}

static void fail_reply(struct world *w, struct ccl *cl, const char *what,
		       const struct resp_reader_value *v)
{
	char got[200], key[32];

	resp_reader_format(v, got, sizeof(got));
	cluster_wkey(cl->key, key, sizeof(key));
	world_fail(w, FAIL_CORRECTNESS,
		   "cluster client %u: %s %s (slot %u) sent at t=%llu, at node %u after %u hops: "
		   "%s: %s",
		   cl->id, cl->is_set ? "SET" : "GET", key, cl->slot, (unsigned long long)cl->send,
		   cl->node, cl->hops, what, got);
}

/* GET's reply: a value some write could have left (ccl.h). */
static void check_get(struct world *w, struct ccl *cl, const struct resp_reader_value *v)
{
	struct ckey *k = &cl->wk->keys[cl->key];
	const struct mwrite *got = NULL;
	bool ok = v->type == RESP_READER_NULL_BULK;

	if (v->type == RESP_READER_BULK && v->len >= 2 && v->str[0] == 'w') {
		char *end;
		uint64_t token = strtoull(v->str + 1, &end, 10);
		size_t head = (size_t)(end - v->str) + 1, i;
		got = write_of(k, token);
		ok = got != NULL && *end == ':' && v->len == head + pad_len(token);
		for (i = head; ok && i < v->len; i++)
			ok = v->str[i] == pad_char(token);
	}
	if (ok)
		ok = model_register_legal(k->w, k->n, got, cl->send, w->now,
					  cl->wk->evictable ? UINT64_MAX : k->since);
	if (!ok)
		fail_reply(w, cl, "a value no write could have left", v);
	cl->wk->gets++;
}

/* A write refused under maxmemory: it never ran. */
static bool refused(const struct world *w, struct ccl *cl, const struct resp_reader_value *v)
{
	struct mwrite *x;

	if (w->cfg.maxmemory_kb == 0 || v->type != RESP_READER_ERROR ||
	    strncmp(v->str, "OOM ", 4) != 0)
		return false;
	x = write_of(&cl->wk->keys[cl->key], cl->token);
	x->send = x->recv = UINT64_MAX;
	cl->wk->ooms++;
	return true;
}

static void done(struct world *w, struct ccl *cl, const struct resp_reader_value *v)
{
	if (cl->is_set && refused(w, cl, v)) {
		/* nothing to check */
	} else if (cl->is_set) {
		if (v->type != RESP_READER_SIMPLE || strcmp(v->str, "OK") != 0) {
			fail_reply(w, cl, "not +OK", v);
		} else if (!cl->asking &&
			   !cluster_may_accept(w->cluster, cl->slot, cl->node, cl->send, w->now)) {
			fail_reply(w, cl, "a write accepted by a node that does not own the slot",
				   v);
		} else {
			write_of(&cl->wk->keys[cl->key], cl->token)->recv = w->now;
			cl->wk->sets++;
		}
	} else {
		check_get(w, cl, v);
	}
	if (cl->hops > cl->wk->hops_max)
		cl->wk->hops_max = cl->hops;
	cl->busy = false;
}

/* One more hop to node (after ASKING if asking), or after a pause. */
static void hop(struct world *w, struct ccl *cl, const struct resp_reader_value *v, int node,
		bool asking, uint64_t pause)
{
	if (++cl->hops > CCL_HOPS_MAX) {
		fail_reply(w, cl, "too many redirects, the last", v);
		return;
	}
	cl->asking = asking;
	cl->node = node >= 0 ? (unsigned)node : cl->map[cl->slot];
	if (pause == 0) {
		send_req(w, cl);
		return;
	}
	cl->wk->retries++;
	cl->next_time = w->now + pause;
}

/* The reply to the request (not to its ASKING). */
static void take(struct world *w, struct ccl *cl, const struct resp_reader_value *v)
{
	bool err = v->type == RESP_READER_ERROR;
	int node;

	if (err && (strncmp(v->str, "ASK ", 4) == 0 || strncmp(v->str, "TRYAGAIN", 8) == 0) &&
	    cluster_atomic_moving(w->cluster, cl->slot, cl->send)) {
		/* An atomic move hides the slot from clients until its switch. */
		fail_reply(w, cl, "a redirect or retry for a slot on an atomic move", v);
		return;
	}
	if (err && strncmp(v->str, "MOVED ", 6) == 0) {
		node = redirect_node(w, v->str, cl->slot);
		if (node < 0) {
			fail_reply(w, cl, "a malformed redirect", v);
			return;
		}
		cl->map[cl->slot] = (uint8_t)node;
		cl->wk->moved++;
		hop(w, cl, v, node, false, 0);
	} else if (err && strncmp(v->str, "ASK ", 4) == 0) {
		node = redirect_node(w, v->str, cl->slot);
		if (node < 0) {
			fail_reply(w, cl, "a malformed redirect", v);
			return;
		}
		cl->wk->asks++;
		hop(w, cl, v, node, true, 0);
	} else if (err && strncmp(v->str, "TRYAGAIN", 8) == 0) {
		hop(w, cl, v, (int)cl->node, false, CCL_TRYAGAIN_NS);
	} else if (err && strncmp(v->str, "CLUSTERDOWN", 11) == 0) {
		hop(w, cl, v, -1, false, CCL_DOWN_NS);
	} else {
		done(w, cl, v);
	}
}

static void read_replies(struct world *w, struct ccl *cl, unsigned n)
{
	struct resp_reader_value *v;
	enum resp_reader_status st;
	bool eof;
	size_t got = net_recv(w, cl->sock[n], cl->buf, rng_range(&cl->rng, 1, CCL_READ_MAX), &eof);

	if (got > 0)
		resp_reader_feed(&cl->rd[n], cl->buf, got);
	while (w->fail == FAIL_NONE && (st = resp_reader_next(&cl->rd[n], &v)) == RESP_READER_OK) {
		world_event(w, EV_REPLY, 0x10000u + cl->id, (uint64_t)v->type << 32 | v->len);
		if (cl->busy) {
			char key[32], text[120];
			cluster_wkey(cl->key, key, sizeof(key));
			resp_reader_format(v, text, sizeof(text));
			if (watching(w, key))
				printf("%10llu %9.3fms cluster client %u from node %u: %s\n",
				       (unsigned long long)w->tick, (double)w->now / 1e6, cl->id, n,
				       text);
		}
		if (!cl->busy || n != cl->node || cl->owed == 0)
			fail_reply(w, cl, "a reply nobody asked for", v);
		else if (--cl->owed == 1 && cl->asking &&
			 (v->type != RESP_READER_SIMPLE || strcmp(v->str, "OK") != 0))
			fail_reply(w, cl, "ASKING answered", v);
		else if (cl->owed == 0)
			take(w, cl, v);
		resp_reader_value_free(v);
	}
	if (w->fail == FAIL_NONE && st == RESP_READER_ERR)
		world_fail(w, FAIL_CORRECTNESS, "cluster client %u: malformed reply: %s", cl->id,
			   cl->rd[n].err);
	if (eof && w->fail == FAIL_NONE)
		world_fail(w, FAIL_CORRECTNESS, "cluster client %u: node %u closed its connection",
			   cl->id, n);
}

/* The connection to node n is gone: the request on it may or may not
 * have run (a SET's recv stays unknown: possible for ever). */
static void drop(struct world *w, struct ccl *cl, unsigned n, bool reset)
{
	net_close(w, cl->sock[n], reset);
	cl->sock[n] = -1;
	resp_reader_reset(&cl->rd[n]);
	if (cl->busy && cl->node == n && cl->owed > 0) {
		cl->busy = false;
		cl->owed = 0;
	}
}

void ccl_node_crashed(struct world *w, struct ccl *cl, unsigned node)
{
	if (cl->sock[node] >= 0)
		drop(w, cl, node, false);
}

void ccl_step(struct world *w, struct ccl *cl)
{
	unsigned n;

	world_event(w, EV_CLIENT, 0x10000u + cl->id, 0);
	if (!cluster_formed(w->cluster)) {
		cl->next_time = w->now + CCL_FORM_WAIT_NS;
		return;
	}
	for (n = 0; n < w->nnodes && w->fail == FAIL_NONE; n++)
		if (cl->sock[n] >= 0 && net_readable(w, cl->sock[n]))
			read_replies(w, cl, n);
	if (w->fail != FAIL_NONE)
		return;
	if (cl->busy && cl->owed > 0) {
		if (world_fault(w, F_RESET))
			drop(w, cl, cl->node, true);
		else
			return; /* waits for its reply (net_readable wakes it) */
	}
	if (cl->busy && cl->owed == 0) {
		if (w->now >= cl->next_time)
			send_req(w, cl); /* after a pause: TRYAGAIN, CLUSTERDOWN */
		return;
	}
	if (!cl->busy && !w->healed)
		start_req(w, cl);
	cl->next_time = w->healed && !cl->busy ? UINT64_MAX
					       : w->now + rng_below(&cl->rng, CCL_THINK_MAX);
}

bool ccl_runnable(struct world *w, struct ccl *cl)
{
	unsigned n;

	for (n = 0; n < w->nnodes; n++)
		if (cl->sock[n] >= 0 && net_readable(w, cl->sock[n]))
			return true;
	if (cl->busy && cl->owed > 0)
		return false;
	return cl->next_time != UINT64_MAX && w->now >= cl->next_time;
}

uint64_t ccl_next_time(const struct ccl *cl)
{
	return cl->busy && cl->owed > 0 ? UINT64_MAX : cl->next_time;
}

bool ccl_busy(const struct ccl *cl)
{
	return cl->busy;
}

uint64_t ccl_sent(const struct ccl *cl)
{
	return cl->send;
}
