/* nodes_conf.c: the CLUSTER NODES text and nodes.conf (nodes_conf.h), after
 * Redis 7.0.15's clusterGenNodeDescription and clusterLoadConfig. */
#include "cluster/nodes_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "base/util.h"
#include "cluster/state.h"
#include "cluster/state_int.h"

/* ---- writing ---- */

/* representClusterNodeFlags' table, in its order. */
static const struct {
	uint32_t flag;
	const char *name;
} node_flags[] = {
	{ CLUSTER_NODE_MYSELF, "myself" }, { CLUSTER_NODE_MASTER, "master" },
	{ CLUSTER_NODE_SLAVE, "slave" },   { CLUSTER_NODE_PFAIL, "fail?" },
	{ CLUSTER_NODE_FAIL, "fail" },     { CLUSTER_NODE_HANDSHAKE, "handshake" },
	{ CLUSTER_NODE_NOADDR, "noaddr" }, { CLUSTER_NODE_NOFAILOVER, "nofailover" },
};
#define NODE_FLAGS (sizeof(node_flags) / sizeof(node_flags[0]))

static void add_flags(uint32_t flags, struct text *t)
{
	size_t start = t->len;

	for (size_t k = 0; k < NODE_FLAGS; k++) {
		if ((flags & node_flags[k].flag) == 0)
			continue;
		if (t->len > start)
			text_add(t, ",", 1);
		text_add(t, node_flags[k].name, strlen(node_flags[k].name));
	}
	if (t->len == start)
		text_add(t, "noflags", 7);
}

static void add_slots(const struct cluster_state *st, uint16_t i, struct text *t)
{
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (st->owner[s] != i)
			continue;
		unsigned e = s;
		while (e + 1 < CLUSTER_SLOTS && st->owner[e + 1] == i)
			e++;
		if (e == s)
			text_printf(t, " %u", s);
		else
			text_printf(t, " %u-%u", s, e);
		s = e;
	}
}

/* The myself line's open slots; migrating wins when a slot is both. */
static void add_open_slots(const struct cluster_state *st, struct text *t)
{
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (st->migrating_to[s] != CLUSTER_NONE)
			text_printf(t, " [%u->-%s]", s, st->nodes[st->migrating_to[s]]->id);
		else if (st->importing_from[s] != CLUSTER_NONE)
			text_printf(t, " [%u-<-%s]", s, st->nodes[st->importing_from[s]]->id);
	}
}

void nodes_conf_line(const struct cluster_state *st, uint16_t i, struct text *t)
{
	const struct cluster_node *n = st->nodes[i];
	bool myself = i == st->myself;

	ASSERT(n != NULL);
	text_printf(t, "%s %s:%u@%u ", n->id, n->ip, n->port, n->bus_port);
	add_flags(n->flags, t);
	text_printf(t, " - %llu %llu %llu %s", (unsigned long long)n->ping_sent_ms,
		    (unsigned long long)n->pong_received_ms, (unsigned long long)n->config_epoch,
		    myself || n->link != CLUSTER_LINK_NONE ? "connected" : "disconnected");
	add_slots(st, i, t);
	if (myself)
		add_open_slots(st, t);
	text_add(t, "\n", 1);
}

void nodes_conf_nodes(const struct cluster_state *st, struct text *t)
{
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL)
			nodes_conf_line(st, (uint16_t)i, t);
}

void nodes_conf_write(const struct cluster_state *st, struct text *t)
{
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && (st->nodes[i]->flags & CLUSTER_NODE_HANDSHAKE) == 0)
			nodes_conf_line(st, (uint16_t)i, t);
	text_printf(t, "vars currentEpoch %llu lastVoteEpoch %llu\n",
		    (unsigned long long)st->current_epoch, (unsigned long long)st->last_vote_epoch);
}

/* ---- reading ---- */

/* Fields of a node line before its slots (clusterLoadConfig needs 8). */
#define LINE_FIELDS 8

/* A line cut into space-separated tokens, read one at a time. */
struct toks {
	const char *p, *end;
};

static bool tok_next(struct toks *k, struct cluster_arg *out)
{
	while (k->p < k->end && (*k->p == ' ' || *k->p == '\t' || *k->p == '\r'))
		k->p++;
	if (k->p == k->end)
		return false;
	const char *start = k->p;
	while (k->p < k->end && *k->p != ' ' && *k->p != '\t' && *k->p != '\r')
		k->p++;
	*out = (struct cluster_arg){ start, (size_t)(k->p - start) };
	return true;
}

__attribute__((format(printf, 2, 3))) static int conf_err(char *err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, CLUSTER_ERR_MAX, "corrupted cluster config file: ");

	va_start(ap, fmt);
	vsnprintf(err + n, CLUSTER_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool parse_u64(const struct cluster_arg *a, uint64_t *v)
{
	long long x;

	if (!util_str2ll(a->p, a->n, &x) || x < 0)
		return false;
	*v = (uint64_t)x;
	return true;
}

static bool parse_port(const char *p, size_t n, uint16_t *port)
{
	long long x;

	if (!util_str2ll(p, n, &x) || x < 0 || x > 65535)
		return false;
	*port = (uint16_t)x;
	return true;
}

/* ip:port@cport[,hostname...]: the aux part is ignored. */
static bool parse_addr(const struct cluster_arg *a, struct cluster_node *n)
{
	const char *end = memchr(a->p, ',', a->n);
	size_t len = end == NULL ? a->n : (size_t)(end - a->p);
	const char *at = memchr(a->p, '@', len), *colon = NULL;

	if (at == NULL)
		return false;
	for (const char *c = a->p; c < at; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL || !bus_ip_valid(a->p, (size_t)(colon - a->p)))
		return false;
	if (!parse_port(colon + 1, (size_t)(at - colon - 1), &n->port) ||
	    !parse_port(at + 1, len - (size_t)(at + 1 - a->p), &n->bus_port))
		return false;
	memcpy(n->ip, a->p, (size_t)(colon - a->p));
	n->ip[colon - a->p] = '\0';
	return true;
}

static bool parse_flags(const struct cluster_arg *a, uint32_t *flags)
{
	const char *p = a->p, *end = a->p + a->n;

	*flags = 0;
	while (p <= end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t len = c == NULL ? (size_t)(end - p) : (size_t)(c - p);
		size_t k = 0;
		while (k < NODE_FLAGS && !(strlen(node_flags[k].name) == len &&
					   memcmp(node_flags[k].name, p, len) == 0))
			k++;
		if (k < NODE_FLAGS)
			*flags |= node_flags[k].flag;
		else if (!(len == 7 && memcmp(p, "noflags", 7) == 0))
			return false;
		p += len + 1;
	}
	/* Never written to the file; a slot owner could not be one. */
	return (*flags & CLUSTER_NODE_HANDSHAKE) == 0;
}

static int load_vars(struct cluster_state *st, struct toks *k, char *err)
{
	struct cluster_arg name, val;

	while (tok_next(k, &name)) {
		if (!tok_next(k, &val))
			return conf_err(err, "a variable without a value");
		uint64_t v;
		if (!parse_u64(&val, &v) || v > CLUSTER_EPOCH_MAX)
			return conf_err(err, "a variable that is not a number");
		if (name.n == 12 && memcmp(name.p, "currentEpoch", 12) == 0)
			st->current_epoch = v;
		else if (name.n == 13 && memcmp(name.p, "lastVoteEpoch", 13) == 0)
			st->last_vote_epoch = v;
	}
	return 0;
}

/* The node a line describes: myself takes its id, others are added. */
static int line_node(struct cluster_state *st, const struct cluster_arg *f, uint32_t flags,
		     bool *seen_myself, uint64_t now_ms, char *err)
{
	if (!bus_id_valid(f[0].p, f[0].n))
		return conf_err(err, "a node id that is not 40 hex characters");
	if (cluster_node_find(st, f[0].p, f[0].n) != CLUSTER_NONE)
		return conf_err(err, "a node listed twice");
	uint16_t i = st->myself;
	if ((flags & CLUSTER_NODE_MYSELF) != 0) {
		if (*seen_myself)
			return conf_err(err, "two myself lines");
		*seen_myself = true;
		memcpy(st->nodes[i]->id, f[0].p, BUS_ID_LEN);
	} else if ((i = cluster_node_add(st, NULL, 0, now_ms)) == CLUSTER_NONE) {
		return conf_err(err, "too many nodes");
	} else {
		memcpy(st->nodes[i]->id, f[0].p, BUS_ID_LEN);
	}
	struct cluster_node *n = st->nodes[i];
	n->flags = flags;
	if (!parse_addr(&f[1], n))
		return conf_err(err, "a bad address");
	return (int)i;
}

/* Pass 1: the nodes and their fields. */
static int load_node_fields(struct cluster_state *st, struct toks *k, const struct cluster_arg *f,
			    bool *seen_myself, uint64_t now_ms, char *err)
{
	uint32_t flags;
	uint64_t ping, pong, epoch;

	(void)k;
	if (!parse_flags(&f[2], &flags))
		return conf_err(err, "unknown flags");
	if (!(f[3].n == 1 && f[3].p[0] == '-') && !bus_id_valid(f[3].p, f[3].n))
		return conf_err(err, "a bad master id");
	if (!parse_u64(&f[4], &ping) || !parse_u64(&f[5], &pong) || !parse_u64(&f[6], &epoch) ||
	    epoch > CLUSTER_EPOCH_MAX)
		return conf_err(err, "a bad number");
	int i = line_node(st, f, flags, seen_myself, now_ms, err);
	if (i < 0)
		return -1;
	struct cluster_node *n = st->nodes[i];
	/* Non-zero times mean "now", as Redis loads them. */
	n->ping_sent_ms = ping != 0 && i != st->myself ? now_ms : 0;
	n->pong_received_ms = pong != 0 && i != st->myself ? now_ms : 0;
	n->config_epoch = epoch;
	if (epoch > st->current_epoch)
		st->current_epoch = epoch;
	return 0;
}

static int load_open_slot(struct cluster_state *st, const struct cluster_arg *a, char *err)
{
	const char *dash = memchr(a->p, '-', a->n);

	if (a->n < 4 || a->p[a->n - 1] != ']' || dash == NULL || dash + 2 >= a->p + a->n)
		return conf_err(err, "a bad open slot");
	int slot = cluster_parse_slot(a->p + 1, (size_t)(dash - a->p - 1));
	const char *id = dash + 3;
	size_t idlen = (size_t)(a->p + a->n - 1 - id);
	uint16_t n = cluster_node_find(st, id, idlen);
	bool mig = dash[1] == '>' && dash[2] == '-', imp = dash[1] == '<' && dash[2] == '-';
	if (slot < 0 || n == CLUSTER_NONE || (!mig && !imp))
		return conf_err(err, "a bad open slot");
	if (mig)
		st->migrating_to[slot] = n;
	else
		st->importing_from[slot] = n;
	return 0;
}

static int load_slot_token(struct cluster_state *st, uint16_t i, const struct cluster_arg *a,
			   char *err)
{
	if (a->n > 0 && a->p[0] == '[')
		return load_open_slot(st, a, err);
	const char *dash = memchr(a->p, '-', a->n);
	int lo = cluster_parse_slot(a->p, dash == NULL ? a->n : (size_t)(dash - a->p));
	int hi = dash == NULL ? lo : cluster_parse_slot(dash + 1, (size_t)(a->p + a->n - dash - 1));
	if (lo < 0 || hi < lo)
		return conf_err(err, "a bad slot range");
	if ((st->nodes[i]->flags & CLUSTER_NODE_MASTER) == 0)
		return conf_err(err, "slots of a node that is not a master");
	for (int s = lo; s <= hi; s++) {
		if (st->owner[s] != CLUSTER_NONE)
			return conf_err(err, "slot %d assigned twice", s);
		cluster_slot_set(st, (unsigned)s, i);
	}
	return 0;
}

/* Pass 2: the slots and open slots, once every node exists. */
static int load_node_slots(struct cluster_state *st, struct toks *k, const struct cluster_arg *f,
			   char *err)
{
	uint16_t i = cluster_node_find(st, f[0].p, f[0].n);
	struct cluster_arg a;

	ASSERT(i != CLUSTER_NONE);
	while (tok_next(k, &a))
		if (load_slot_token(st, i, &a, err) < 0)
			return -1;
	return 0;
}

static int load_line(struct cluster_state *st, const char *p, size_t n, int pass, bool *seen_myself,
		     uint64_t now_ms, char *err)
{
	struct toks k = { p, p + n };
	struct cluster_arg f[LINE_FIELDS];
	int nf = 0;

	if (!tok_next(&k, &f[0]))
		return 0;
	if (f[0].n == 4 && memcmp(f[0].p, "vars", 4) == 0)
		return pass == 1 ? load_vars(st, &k, err) : 0;
	for (nf = 1; nf < LINE_FIELDS && tok_next(&k, &f[nf]); nf++)
		;
	if (nf < LINE_FIELDS)
		return conf_err(err, "a line with fewer than 8 fields");
	if (pass == 1)
		return load_node_fields(st, &k, f, seen_myself, now_ms, err);
	return load_node_slots(st, &k, f, err);
}

static int load_pass(struct cluster_state *st, const char *p, size_t n, int pass, bool *seen_myself,
		     uint64_t now_ms, char *err)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl == NULL ? end : nl;
		if (load_line(st, p, (size_t)(eol - p), pass, seen_myself, now_ms, err) < 0)
			return -1;
		p = nl == NULL ? end : nl + 1;
	}
	return 0;
}

struct cluster_state *nodes_conf_load(struct mem *mem, uint64_t seed, const char *p, size_t n,
				      uint64_t now_ms, char *err)
{
	struct cluster_state *st = cluster_state_new(mem, seed, now_ms);
	bool seen_myself = false;

	if (n == 0)
		return st;
	if (load_pass(st, p, n, 1, &seen_myself, now_ms, err) < 0 ||
	    (!seen_myself && conf_err(err, "no myself line") < 0) ||
	    load_pass(st, p, n, 2, &seen_myself, now_ms, err) < 0) {
		cluster_state_free(st);
		return NULL;
	}
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && st->nodes[i]->config_epoch > st->current_epoch)
			st->current_epoch = st->nodes[i]->config_epoch;
	const char *bad = cluster_state_check(st);
	if (bad != NULL) {
		conf_err(err, "%s", bad);
		cluster_state_free(st);
		return NULL;
	}
	cluster_update_ok(st);
	st->todo = 0;
	return st;
}
