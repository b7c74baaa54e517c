/* client.c: simulated clients. See client.h. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "cluster.h"
#include "model.h"
#include "resp_reader.h"
#include "world.h"

/* Bytes a client reads in one step at most (it reads a random amount). */
#define CLIENT_READ_MAX 65536
/* Time a client thinks between steps, and before it reconnects (ns). */
#define CLIENT_THINK_MAX 50000
#define CLIENT_RECONNECT_NS 200000
/* How often a client looks whether the cluster has formed (cluster runs). */
#define CLIENT_FORM_WAIT_NS (1000ull * 1000)

struct pending {
	struct mreq *q;
	uint64_t send;
	bool watched; /* --watch: print its reply */
};

struct client {
	unsigned id;
	unsigned node;       /* the node it talks to */
	struct model *model; /* that node's */
	struct rng rng;
	int sock;       /* -1: not connected */
	bool doomed;    /* it sent a protocol error: the node will close */
	unsigned depth; /* requests kept in flight on this connection */
	struct resp_reader rd;
	struct pending *q;
	unsigned qhead, qn, qcap;
	uint64_t next_time;
	char *buf;
};

struct client *client_new(struct world *w, unsigned id, unsigned node, struct model *model,
			  const struct rng *r)
{
	struct client *cl = sim_calloc(sizeof(*cl));

	ASSERT(node < w->nnodes);
	ASSERT(model != NULL);
	cl->id = id;
	cl->node = node;
	cl->model = model;
	cl->rng = *r;
	cl->sock = -1;
	cl->buf = sim_calloc(CLIENT_READ_MAX);
	resp_reader_init(&cl->rd, NULL);
	return cl;
}

static struct pending *front(struct client *cl)
{
	ASSERT(cl->qn > 0);
	return &cl->q[cl->qhead % cl->qcap];
}

static void pop(struct client *cl)
{
	cl->qhead++;
	cl->qn--;
}

static void push(struct client *cl, struct mreq *q, uint64_t send)
{
	if (cl->qn == cl->qcap) {
		unsigned cap = cl->qcap ? cl->qcap * 2 : 16, i;
		struct pending *n = sim_calloc(cap * sizeof(*n));
		for (i = 0; i < cl->qn; i++)
			n[i] = cl->q[(cl->qhead + i) % cl->qcap];
		free(cl->q);
		cl->q = n;
		cl->qcap = cap;
		cl->qhead = 0;
	}
	cl->q[(cl->qhead + cl->qn) % cl->qcap] = (struct pending){ .q = q, .send = send };
	cl->qn++;
}

/* --watch: prints a request (RESP bytes) as its arguments. */
static void watch_request(struct world *w, struct client *cl, const char *p, size_t len)
{
	size_t i = 0;

	printf("%10llu %9.3fms client %u sends:", (unsigned long long)w->tick, (double)w->now / 1e6,
	       cl->id);
	while (i < len) {
		/* "$<n>\r\n<bytes>\r\n" pieces after the "*<n>\r\n" head. */
		size_t n, j;
		if (p[i] != '$') {
			i = (size_t)((const char *)memchr(p + i, '\n', len - i) - p) + 1;
			continue;
		}
		n = strtoull(p + i + 1, NULL, 10);
		i = (size_t)((const char *)memchr(p + i, '\n', len - i) - p) + 1;
		putchar(' ');
		for (j = 0; j < n && j < 40; j++)
			putchar(p[i + j] >= 32 && p[i + j] < 127 ? p[i + j] : '.');
		if (n > 40)
			printf("...(%zu bytes)", n);
		i += n + 2;
	}
	putchar('\n');
}

static bool watching(const struct world *w, const char *p, size_t len)
{
	return w->cfg.watch[0] != '\0' && memmem(p, len, w->cfg.watch, strlen(w->cfg.watch));
}

/* The connection is gone: what was in flight may or may not have run. */
static void lose_all(struct world *w, struct client *cl)
{
	while (cl->qn > 0) {
		struct pending *p = front(cl);
		if (p->watched)
			printf("%10llu %9.3fms client %u: its connection died before the reply\n",
			       (unsigned long long)w->tick, (double)w->now / 1e6, cl->id);
		model_lost(cl->model, p->q, p->send, net_conn_id(w, cl->sock));
		pop(cl);
	}
	model_conn_lost(cl->model, cl->id, net_conn_id(w, cl->sock));
	resp_reader_reset(&cl->rd);
	cl->sock = -1;
	cl->doomed = false;
	cl->next_time = w->now + CLIENT_RECONNECT_NS;
}

void client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	while (cl->qn > 0) {
		/* The run ended with this request unanswered (a failed run). */
		model_lost(cl->model, front(cl)->q, front(cl)->send, 0);
		pop(cl);
	}
	resp_reader_free(&cl->rd);
	free(cl->q);
	free(cl->buf);
	free(cl);
}

/* --watch: prints a published message that names the watched text. */
static void watch_push(const struct world *w, const struct client *cl,
		       const struct resp_reader_value *v)
{
	char text[200];

	if (w->cfg.watch[0] == '\0')
		return;
	resp_reader_format(v, text, sizeof(text));
	if (strstr(text, w->cfg.watch) != NULL)
		printf("%10llu %9.3fms client %u gets a message: %s\n", (unsigned long long)w->tick,
		       (double)w->now / 1e6, cl->id, text);
}

static void take_replies(struct world *w, struct client *cl)
{
	struct resp_reader_value *v;
	enum resp_reader_status st;

	while ((st = resp_reader_next(&cl->rd, &v)) == RESP_READER_OK) {
		struct pending *p;
		if (model_push(cl->model, cl->id, v)) {
			watch_push(w, cl, v);
			world_event(w, EV_REPLY, cl->id, (uint64_t)v->type << 32 | UINT32_MAX);
			resp_reader_value_free(v);
			continue;
		}
		if (cl->qn == 0) {
			world_fail(w, FAIL_CORRECTNESS, "client %u: a reply nobody asked for",
				   cl->id);
			resp_reader_value_free(v);
			return;
		}
		p = front(cl);
		world_event(w, EV_REPLY, cl->id, (uint64_t)v->type << 32 | (uint32_t)v->len);
		if (p->watched) {
			char text[200];
			resp_reader_format(v, text, sizeof(text));
			printf("%10llu %9.3fms client %u gets: %s\n", (unsigned long long)w->tick,
			       (double)w->now / 1e6, cl->id, text);
		}
		model_reply(cl->model, p->q, v, p->send, w->now);
		pop(cl);
		resp_reader_value_free(v);
	}
	if (st == RESP_READER_ERR)
		world_fail(w, FAIL_CORRECTNESS, "client %u: malformed reply: %s", cl->id,
			   cl->rd.err);
}

static void read_some(struct world *w, struct client *cl)
{
	size_t want = (size_t)rng_range(&cl->rng, 1, CLIENT_READ_MAX), n;
	bool eof;

	n = net_recv(w, cl->sock, cl->buf, want, &eof);
	if (n > 0) {
		resp_reader_feed(&cl->rd, cl->buf, n);
		take_replies(w, cl);
	}
	if (!eof)
		return;
	if (!cl->doomed || cl->qn > 0)
		world_fail(w, FAIL_CORRECTNESS,
			   "client %u: the node closed the connection with "
			   "%u replies owed",
			   cl->id, cl->qn);
	net_close(w, cl->sock, false);
	lose_all(w, cl);
}

static void send_some(struct world *w, struct client *cl)
{
	while (!cl->doomed && cl->qn < cl->depth && !w->healed) {
		char *bytes;
		size_t len;
		struct mreq *q = model_next(cl->model, cl->id, &cl->rng, &bytes, &len);
		if (q == NULL)
			break; /* a subscriber that sends nothing now */
		cl->doomed = model_closes(q);
		push(cl, q, w->now);
		if (watching(w, bytes, len)) {
			cl->q[(cl->qhead + cl->qn - 1) % cl->qcap].watched = true;
			watch_request(w, cl, bytes, len);
		}
		net_send(w, cl->sock, bytes, len);
		free(bytes);
		world_event(w, EV_SEND, cl->id, len);
		if (rng_chance(&cl->rng, 0.5))
			break; /* sometimes less than a full pipeline at once */
	}
}

void client_step(struct world *w, struct client *cl)
{
	world_event(w, EV_CLIENT, cl->id, 0);
	if (w->cluster != NULL && !cluster_formed(w->cluster)) {
		/* The workload starts once the cluster has formed. */
		cl->next_time = w->now + CLIENT_FORM_WAIT_NS;
		return;
	}
	if (cl->sock < 0) {
		if (w->healed && cl->qn == 0) {
			cl->next_time = UINT64_MAX;
			return;
		}
		cl->sock = net_connect(w, cl, cl->node);
		cl->depth = (unsigned)rng_range(&cl->rng, 1, w->cfg.pipeline_max);
	} else {
		read_some(w, cl);
		if (cl->sock >= 0 && world_fault(w, F_RESET)) {
			net_close(w, cl->sock, true);
			lose_all(w, cl);
			return;
		}
		if (cl->sock >= 0)
			send_some(w, cl);
	}
	cl->next_time = w->now + rng_below(&cl->rng, CLIENT_THINK_MAX);
	if (w->healed && cl->qn == 0 && cl->sock >= 0)
		cl->next_time = UINT64_MAX;
}

bool client_runnable(struct world *w, struct client *cl)
{
	if (cl->sock >= 0 && net_readable(w, cl->sock))
		return true;
	return cl->next_time != UINT64_MAX && w->now >= cl->next_time;
}

uint64_t client_next_time(const struct client *cl)
{
	return cl->next_time;
}

unsigned client_outstanding(const struct client *cl)
{
	return cl->qn;
}

uint64_t client_oldest_send(const struct client *cl)
{
	return cl->qn > 0 ? cl->q[cl->qhead % cl->qcap].send : 0;
}
