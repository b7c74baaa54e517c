/* topology.c: see topology.h. */
#include "shard/topology.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/text.h"
#include "cluster/nodes_conf.h"
#include "cluster/redirect.h"
#include "cluster/state.h"
#include "io/io.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* The largest nodes.conf a node reads (CLUSTER_NODES_MAX lines of at most
 * a few hundred bytes, with every slot range). */
#define TOPOLOGY_CONF_MAX (8u << 20)

struct cluster_state *topology_load(struct io *io, struct mem *mem, const struct config *cfg,
				    uint64_t seed, uint64_t now_ms, char *err, size_t errcap)
{
	char why[CLUSTER_ERR_MAX];
	struct cluster_state *st;
	size_t cap = 4096;
	char *buf = NULL;
	int64_t n;

	for (;;) {
		buf = mem_realloc(mem, buf, cap);
		n = io_file_read(io, cfg->cluster_config_file, buf, cap);
		if (n < 0 || (uint64_t)n <= cap || cap >= TOPOLOGY_CONF_MAX)
			break;
		cap = (uint64_t)n < TOPOLOGY_CONF_MAX ? (size_t)n : TOPOLOGY_CONF_MAX;
	}
	if (n == -ENOENT) {
		n = 0;
	} else if (n < 0 || (uint64_t)n > cap) {
		snprintf(err, errcap, "Unable to read the cluster config file %s: %s",
			 cfg->cluster_config_file, n < 0 ? strerror((int)-n) : "too big");
		mem_free(mem, buf);
		return NULL;
	}
	st = nodes_conf_load(mem, seed, buf, (size_t)n, now_ms, why);
	mem_free(mem, buf);
	if (st == NULL) {
		snprintf(err, errcap,
			 "Unrecoverable error: corrupted cluster config file \"%s\": %s",
			 cfg->cluster_config_file, why);
		return NULL;
	}
	st->node_timeout_ms = (uint64_t)cfg->cluster_node_timeout;
	st->require_full_coverage = cfg->cluster_require_full_coverage;
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE; /* as Redis, written at start */
	return st;
}

void topology_init(struct topology *t, const struct config *cfg, struct io *io, struct mem *mem,
		   struct xshard *x, unsigned self, unsigned nshards, struct cluster_state *st)
{
	memset(t, 0, sizeof(*t));
	t->enabled = cfg->cluster_enabled;
	t->io = io;
	t->mem = mem;
	t->cfg = cfg;
	t->x = x;
	t->self = self;
	t->nshards = nshards;
	ASSERT(t->enabled || st == NULL);
	ASSERT(st == NULL || self == 0);
	t->st = st;
	if (st != NULL)
		bus_init(&t->bus, io, mem, cfg, st);
}

void topology_free(struct topology *t)
{
	if (t->view != NULL)
		redirect_view_free(t->view, t->mem);
	if (t->st != NULL) {
		bus_free(&t->bus);
		cluster_state_free(t->st);
	}
	t->view = NULL;
	t->st = NULL;
}

void topology_install(struct topology *t, const struct cluster_view *v)
{
	if (t->view != NULL && t->view->bytes != v->bytes) {
		redirect_view_free(t->view, t->mem);
		t->view = NULL;
	}
	if (t->view == NULL)
		t->view = mem_alloc(t->mem, v->bytes);
	memcpy(t->view, v, v->bytes);
}

/* Writes nodes.conf as the state stands. */
static void save(struct topology *t)
{
	struct text txt;
	int rc;

	text_init(&txt, t->mem, 4096);
	nodes_conf_write(t->st, &txt);
	rc = io_file_replace(t->io, t->cfg->cluster_config_file, txt.p, txt.len);
	text_free(&txt);
	if (rc < 0)
		snprintf(t->err, sizeof(t->err), "Could not save the cluster config file: %s",
			 strerror(-rc));
	else
		t->err[0] = '\0';
}

/* Whether v says what the current view says (but for its version). */
static bool same_view(const struct cluster_view *a, const struct cluster_view *b)
{
	size_t head = offsetof(struct cluster_view, ok);

	return a != NULL && a->bytes == b->bytes &&
	       memcmp((const char *)a + head, (const char *)b + head, a->bytes - head) == 0;
}

/* Myself's ports and announced address, as the configuration says. */
static void announce(struct cluster_state *st, const struct config *cfg)
{
	struct cluster_node *me = cluster_myself(st);
	long long port = cfg->cluster_announce_port ? cfg->cluster_announce_port : cfg->port;
	long long bus = cfg->cluster_announce_bus_port ? cfg->cluster_announce_bus_port
						       : config_cluster_port(cfg);

	if (me->port != (uint16_t)port || me->bus_port != (uint16_t)bus) {
		me->port = (uint16_t)port;
		me->bus_port = (uint16_t)bus;
		st->todo |= CLUSTER_TODO_SAVE;
	}
	if (cfg->cluster_announce_ip[0] != '\0' && strcmp(me->ip, cfg->cluster_announce_ip) != 0 &&
	    strlen(cfg->cluster_announce_ip) <= BUS_IP_MAX) {
		memcpy(me->ip, cfg->cluster_announce_ip, strlen(cfg->cluster_announce_ip) + 1);
		st->todo |= CLUSTER_TODO_SAVE;
	}
}

struct cluster_view *topology_settle(struct topology *t, bool force)
{
	struct cluster_view *v;
	unsigned s;
	bool todo;

	if (t->st == NULL)
		return NULL;
	t->st->node_timeout_ms = (uint64_t)t->cfg->cluster_node_timeout;
	t->st->require_full_coverage = t->cfg->cluster_require_full_coverage;
	announce(t->st, t->cfg);
	/* The state keeps ok itself (its changes, its tick), but for a
	 * changed cluster-require-full-coverage. */
	if (force || t->full_coverage != t->cfg->cluster_require_full_coverage) {
		t->full_coverage = t->cfg->cluster_require_full_coverage;
		cluster_update_ok(t->st);
		force = true;
	}
	todo = t->st->todo != 0;
	if (t->st->todo & CLUSTER_TODO_SAVE)
		save(t);
	/* A save that failed is tried again at the next settle (the timer's
	 * at the latest): what the node acknowledged must reach the disk. */
	t->st->todo = t->err[0] != '\0' ? CLUSTER_TODO_SAVE : 0;
	if (!todo && !force && t->view != NULL && t->view->ok == t->st->ok)
		return NULL;
	v = redirect_view_build(t->st, t->mem, t->version + 1);
	for (s = 0; s < REDIRECT_SLOTS; s++) {
		v->hidden[s] = (t->hidden[s / 8] >> (s % 8)) & 1;
		v->nhidden += v->hidden[s];
	}
	if (same_view(t->view, v)) {
		redirect_view_free(v, t->mem);
		return NULL;
	}
	t->version++;
	topology_install(t, v);
	return v;
}

void topology_send(struct topology *t, const struct cluster_view *v)
{
	unsigned s;

	for (s = 0; s < t->nshards; s++)
		if (s != t->self)
			xshard_send(t->x, s,
				    msg_bytes_new(t->mem, MSG_VIEW, (const char *)v, v->bytes));
}

void topology_message(struct topology *t, struct xmsg *m)
{
	size_t n;
	const struct cluster_view *v = (const struct cluster_view *)msg_bytes(m, &n);
	struct cluster_view *copy = mem_alloc(t->mem, n);

	/* The bytes may sit unaligned in the message: copied whole first. */
	memcpy(copy, v, n);
	ASSERT(copy->bytes == n);
	/* A view older than the one a CLUSTER command installed is stale. */
	if (t->view == NULL || copy->version > t->view->version)
		topology_install(t, copy);
	mem_free(t->mem, copy);
	msg_bytes_free(t->mem, m);
}

void topology_drop_message(struct mem *mem, struct xmsg *m)
{
	msg_bytes_free(mem, m);
}
