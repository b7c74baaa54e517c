/* cluster.c: the harness of cluster runs. See cluster.h. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "resp_reader.h"
#include "world.h"

#define SLOTS 16384
/* Simulated time between two looks at every node's view. */
#define CLUSTER_POLL_NS (50ull * 1000 * 1000)
/* Looks between two MEETs again of a node that misses others. */
#define CLUSTER_REMEET_LOOKS 20
/* A node's canonical table: lines of at most this many bytes in all. */
#define VIEW_MAX 4096

enum cstage {
	CS_START = 0, /* nothing sent yet */
	CS_SLOTS,     /* ADDSLOTSRANGE and SET-CONFIG-EPOCH sent */
	CS_MEET,      /* MEET sent */
	CS_POLL,      /* looking at every node's view, again and again */
	CS_DONE,      /* settled after the heal: nothing more to do */
};

/* The harness's connection to one node. */
struct cadmin {
	int sock;
	struct resp_reader rd;
	unsigned owed; /* replies still to come */
	bool ok;       /* the last look: cluster_state:ok */
	char view[VIEW_MAX];
	char last[160]; /* the last reply, for reports */
};

struct simcluster {
	unsigned n;
	enum cstage stage;
	bool formed, settled;
	bool poll_after_heal; /* the look in flight was sent after the heal */
	uint64_t start, next_time, formed_at;
	uint64_t polls;
	struct cadmin a[SIM_NODES_MAX];
	char buf[65536];
};

unsigned cluster_first_slot(unsigned nodes, unsigned node)
{
	return (unsigned)((uint64_t)SLOTS * node / nodes);
}

void cluster_tag(unsigned nodes, unsigned node, char *buf, size_t cap)
{
	unsigned lo = cluster_first_slot(nodes, node), hi = cluster_first_slot(nodes, node + 1), j,
		 s;

	for (j = 0;; j++) {
		int len = snprintf(buf, cap, "n%u.%u", node, j);
		ASSERT(len > 0 && (size_t)len < cap);
		s = hash_slot(buf, (size_t)len);
		if (s >= lo && s < hi)
			return;
	}
}

struct simcluster *cluster_new(struct world *w)
{
	struct simcluster *c = sim_calloc(sizeof(*c));
	unsigned i;

	c->n = w->nnodes;
	for (i = 0; i < c->n; i++) {
		c->a[i].sock = -1;
		resp_reader_init(&c->a[i].rd, NULL);
	}
	c->start = w->now;
	c->next_time = w->now;
	return c;
}

void cluster_free(struct simcluster *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		resp_reader_free(&c->a[i].rd);
	free(c);
}

bool cluster_formed(const struct simcluster *c)
{
	return c->formed;
}

bool cluster_settled(const struct simcluster *c)
{
	return c->settled;
}

uint64_t cluster_next_time(const struct simcluster *c)
{
	return c->next_time;
}

/* Sends one command (its words, space-separated, none empty) to node i. */
static void send_cmd(struct world *w, struct simcluster *c, unsigned i, const char *line)
{
	char out[512], words[256], *save = NULL, *tok;
	size_t o = 0, n = 0;
	char body[480];
	size_t b = 0;

	snprintf(words, sizeof(words), "%s", line);
	for (tok = strtok_r(words, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		b += (size_t)snprintf(body + b, sizeof(body) - b, "$%zu\r\n%s\r\n", strlen(tok),
				      tok);
		n++;
	}
	ASSERT(b < sizeof(body));
	o = (size_t)snprintf(out, sizeof(out), "*%zu\r\n%.*s", n, (int)b, body);
	ASSERT(o < sizeof(out));
	net_send(w, c->a[i].sock, out, o);
	c->a[i].owed++;
}

static void connect_all(struct world *w, struct simcluster *c)
{
	unsigned i;

	/* The socket layer wants a non-NULL peer: the harness's own record
	 * stands in for a client (io_sim.c only tests it against NULL). */
	for (i = 0; i < c->n; i++)
		c->a[i].sock = net_connect(w, (struct client *)(void *)&c->a[i], i);
}

static void send_slots(struct world *w, struct simcluster *c)
{
	char line[128];
	unsigned i;

	for (i = 0; i < c->n; i++) {
		snprintf(line, sizeof(line), "CLUSTER ADDSLOTSRANGE %u %u",
			 cluster_first_slot(c->n, i), cluster_first_slot(c->n, i + 1) - 1);
		send_cmd(w, c, i, line);
		snprintf(line, sizeof(line), "CLUSTER SET-CONFIG-EPOCH %u", i + 1);
		send_cmd(w, c, i, line);
	}
}

static void send_meet(struct world *w, struct simcluster *c)
{
	char line[128];
	unsigned i;

	snprintf(line, sizeof(line), "CLUSTER MEET 10.0.0.1 %u %u", SIM_PORT, SIM_BUS_PORT);
	for (i = 1; i < c->n; i++)
		send_cmd(w, c, i, line);
}

/* Lines (nodes) in a table. */
static unsigned view_lines(const char *v)
{
	unsigned n = 0;

	for (; (v = strchr(v, '\n')) != NULL; v++)
		n++;
	return n;
}

static void send_poll(struct world *w, struct simcluster *c)
{
	char meet[128];
	unsigned i;

	c->poll_after_heal = w->healed;
	c->polls++;
	snprintf(meet, sizeof(meet), "CLUSTER MEET 10.0.0.1 %u %u", SIM_PORT, SIM_BUS_PORT);
	for (i = 0; i < c->n; i++) {
		/* As redis-cli does while it waits for the cluster to join: a
		 * node that still misses others meets node 0 again (its
		 * handshake may have timed out on a lossy network). */
		if (!c->formed && i > 0 && c->polls % CLUSTER_REMEET_LOOKS == 0 &&
		    view_lines(c->a[i].view) < c->n)
			send_cmd(w, c, i, meet);
		send_cmd(w, c, i, "CLUSTER INFO");
		send_cmd(w, c, i, "CLUSTER NODES");
	}
}

/* ---- what the nodes say ---- */

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which node listens at addr ("10.0.0.<k>:port@bus..."), or -1. */
static int addr_node(const struct simcluster *c, const char *addr)
{
	unsigned k;

	if (sscanf(addr, "10.0.0.%u:", &k) != 1 || k < 1 || k > c->n)
		return -1;
	return (int)k - 1;
}

/* One line of CLUSTER NODES, as node i sees it: checked against the
 * formation (a node with slots has its own and its own epoch), and kept as
 * "id addr epoch slots..." in out. */
static void node_line(struct world *w, struct simcluster *c, unsigned i, char *line, char *out,
		      size_t cap)
{
	char *f[16], *save = NULL, *tok, want[32];
	unsigned nf = 0, k, o;
	int owner;

	for (tok = strtok_r(line, " ", &save); tok != NULL && nf < 16;
	     tok = strtok_r(NULL, " ", &save))
		f[nf++] = tok;
	if (nf < 8) {
		world_fail(w, FAIL_CORRECTNESS,
			   "cluster: node %u: a CLUSTER NODES line of %u fields", i, nf);
		out[0] = '\0';
		return;
	}
	o = (unsigned)snprintf(out, cap, "%s %s %s", f[0], f[1], f[6]);
	for (k = 8; k < nf && o < cap; k++)
		o += (unsigned)snprintf(out + o, cap - o, " %s", f[k]);
	if (nf == 8)
		return;
	/* Myself may not know its address yet (":6379@16379"). */
	owner = strstr(f[2], "myself") != NULL ? (int)i : addr_node(c, f[1]);
	if (owner >= 0)
		snprintf(want, sizeof(want), "%u-%u", cluster_first_slot(c->n, (unsigned)owner),
			 cluster_first_slot(c->n, (unsigned)owner + 1) - 1);
	if (owner < 0 || nf != 9 || strcmp(f[8], want) != 0 ||
	    strtoull(f[6], NULL, 10) != (unsigned long long)owner + 1)
		world_fail(w, FAIL_CORRECTNESS,
			   "cluster: node %u says %s (epoch %s) has slots %s; formation gave it "
			   "%s at epoch %d, and nothing moves a slot",
			   i, f[1], f[6], f[8], owner < 0 ? "none" : want, owner + 1);
}

/* Node i's CLUSTER NODES: its canonical table, lines sorted. */
static void take_nodes(struct world *w, struct simcluster *c, unsigned i, const char *p, size_t n)
{
	char *copy = sim_calloc(n + 1), *lines[64], *save = NULL, *tok;
	char canon[64][256];
	unsigned nl = 0, k, o = 0;

	memcpy(copy, p, n);
	for (tok = strtok_r(copy, "\n", &save); tok != NULL && nl < 64;
	     tok = strtok_r(NULL, "\n", &save)) {
		node_line(w, c, i, tok, canon[nl], sizeof(canon[nl]));
		lines[nl] = canon[nl];
		nl++;
	}
	qsort(lines, nl, sizeof(lines[0]), line_cmp);
	for (k = 0; k < nl; k++)
		o += (unsigned)snprintf(c->a[i].view + o, VIEW_MAX - o, "%s\n", lines[k]);
	free(copy);
}

static void remember(struct cadmin *a, const struct resp_reader_value *v)
{
	resp_reader_format(v, a->last, sizeof(a->last));
}

/* A reply from node i, in the current stage. */
static void take_reply(struct world *w, struct simcluster *c, unsigned i,
		       const struct resp_reader_value *v)
{
	struct cadmin *a = &c->a[i];
	bool text = v->type == RESP_READER_BULK || v->type == RESP_READER_VERBATIM;

	ASSERT(a->owed > 0);
	remember(a, v);
	a->owed--;
	if (c->stage == CS_SLOTS || c->stage == CS_MEET) {
		if (v->type != RESP_READER_SIMPLE || strcmp(v->str, "OK") != 0)
			world_fail(w, FAIL_CORRECTNESS, "cluster: forming, node %u answered %s", i,
				   a->last);
		return;
	}
	if (v->type == RESP_READER_SIMPLE && strcmp(v->str, "OK") == 0)
		return; /* a MEET again */
	if (!text) {
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u answered a look with %s", i,
			   a->last);
		return;
	}
	if (a->owed == 1) /* CLUSTER INFO */
		a->ok = strstr(v->str, "cluster_state:ok\r\n") != NULL;
	else
		take_nodes(w, c, i, v->str, v->len);
}

/* Reads what node i has sent. */
static void read_node(struct world *w, struct simcluster *c, unsigned i)
{
	struct cadmin *a = &c->a[i];
	struct resp_reader_value *v;
	enum resp_reader_status st;
	bool eof;
	size_t n = net_recv(w, a->sock, c->buf, sizeof(c->buf), &eof);

	if (n > 0)
		resp_reader_feed(&a->rd, c->buf, n);
	while ((st = resp_reader_next(&a->rd, &v)) == RESP_READER_OK) {
		if (a->owed == 0)
			world_fail(w, FAIL_CORRECTNESS,
				   "cluster: node %u: a reply nobody asked for", i);
		else
			take_reply(w, c, i, v);
		resp_reader_value_free(v);
	}
	if (st == RESP_READER_ERR)
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u: malformed reply", i);
	if (eof)
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u closed the harness's connection",
			   i);
}

/* Whether every node said cluster_state:ok and the same table of n
 * nodes. */
static bool agreed(const struct simcluster *c)
{
	unsigned i;

	if (view_lines(c->a[0].view) != c->n)
		return false;
	for (i = 0; i < c->n; i++)
		if (!c->a[i].ok || strcmp(c->a[i].view, c->a[0].view) != 0)
			return false;
	return true;
}

/* A liveness failure: the nodes do not agree. With --trace, every node's
 * table is printed. */
static void disagree_fail(struct world *w, struct simcluster *c, const char *what)
{
	unsigned i;

	for (i = 0; i < c->n && w->cfg.trace > 0; i++)
		printf("cluster: node %u says state %s and\n%s", i, c->a[i].ok ? "ok" : "not ok",
		       c->a[i].view);
	for (i = 1; i < c->n; i++)
		if (!c->a[i].ok || strcmp(c->a[i].view, c->a[0].view) != 0)
			break;
	i = i < c->n ? i : 0;
	world_fail(w, FAIL_LIVENESS,
		   "cluster: %s (%llu looks); node %u says state %s and\n%snode 0 says "
		   "state %s and\n%s",
		   what, (unsigned long long)c->polls, i, c->a[i].ok ? "ok" : "not ok",
		   c->a[i].view, c->a[0].ok ? "ok" : "not ok", c->a[0].view);
}

/* A look has come back from every node. */
static void looked(struct world *w, struct simcluster *c)
{
	bool ok = agreed(c);

	if (ok && !c->formed) {
		c->formed = true;
		c->formed_at = w->now;
	}
	if (ok && c->poll_after_heal) {
		c->settled = true;
		c->stage = CS_DONE;
		c->next_time = UINT64_MAX;
		return;
	}
	if (!c->formed && w->now - c->start > SIM_CLUSTER_FORM_BOUND_NS) {
		disagree_fail(w, c, "not formed 60 s after the harness began");
		return;
	}
	c->next_time = w->now + CLUSTER_POLL_NS;
}

static unsigned owed(const struct simcluster *c)
{
	unsigned i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->a[i].owed;
	return n;
}

void cluster_step(struct world *w, struct simcluster *c)
{
	unsigned i;

	if (c->stage == CS_START) {
		connect_all(w, c);
		send_slots(w, c);
		c->stage = CS_SLOTS;
		c->next_time = UINT64_MAX;
		return;
	}
	for (i = 0; i < c->n && w->fail == FAIL_NONE; i++)
		if (net_readable(w, c->a[i].sock))
			read_node(w, c, i);
	if (w->fail != FAIL_NONE || owed(c) > 0 || c->stage == CS_DONE)
		return;
	if (c->stage == CS_SLOTS) {
		send_meet(w, c);
		c->stage = CS_MEET;
	} else if (c->stage == CS_MEET) {
		send_poll(w, c);
		c->stage = CS_POLL;
	} else if (c->next_time == UINT64_MAX) {
		looked(w, c);
	} else if (w->now >= c->next_time) {
		send_poll(w, c);
		c->next_time = UINT64_MAX;
	}
}

bool cluster_runnable(struct world *w, struct simcluster *c)
{
	unsigned i;

	if (c->stage == CS_DONE)
		return false;
	if (c->next_time != UINT64_MAX && w->now >= c->next_time)
		return true;
	for (i = 0; i < c->n && c->a[i].sock >= 0; i++)
		if (net_readable(w, c->a[i].sock))
			return true;
	return false;
}

void cluster_settle_fail(struct world *w, struct simcluster *c)
{
	disagree_fail(w, c, "the nodes do not agree after the faults healed");
}

void cluster_stats(const struct simcluster *c, double *formed_ms, uint64_t *looks)
{
	*formed_ms = c->formed ? (double)c->formed_at / 1e6 : 0;
	*looks = c->polls;
}
