/* node.c: the node builder. See node.h.
 *
 * The order is the one the shards need: the hub before the shardset
 * (shardset_init checks the hub's size), the shardset before any shard
 * (shard_init finds itself in it), every shard set up before any is armed
 * (a started shard may forward to any other). */
#include "shard/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "cluster/redirect.h"

/* Whether spec, with ring slots per pair of shards, describes a node this
 * builder can make. */
static bool spec_valid(const struct node_spec *spec, unsigned ring)
{
	unsigned i;

	if (spec->cfg == NULL || spec->info == NULL || spec->shards == NULL)
		return false;
	if (ring < 2 || (ring & (ring - 1)) != 0)
		return false;
	if (spec->nshards == 0 || spec->nshards > XSHARD_MAX ||
	    spec->info->nshards != spec->nshards)
		return false;
	for (i = 0; i < spec->nshards; i++)
		if (spec->shards[i].io == NULL || spec->shards[i].nlisteners > SHARD_LISTENERS_MAX)
			return false;
	return true;
}

/* cluster-enabled: shard 0's state gives every shard its first view. */
static void first_view(struct node *n)
{
	struct shard *zero = &n->shards[0];
	struct cluster_view *v;
	unsigned i;

	if (zero->topo.st == NULL)
		return;
	v = topology_settle(&zero->topo, true);
	ASSERT(v != NULL);
	for (i = 1; i < n->n; i++)
		topology_install(&n->shards[i].topo, v);
	redirect_view_free(v, &zero->mem);
}

int node_init(struct node *n, const struct node_spec *spec)
{
	unsigned ring = spec->ring_size ? spec->ring_size : XSHARD_RING_DEFAULT, i = 0;
	int rc;

	memset(n, 0, sizeof(*n));
	atomic_init(&n->stop, false);
	if (!spec_valid(spec, ring))
		return -EINVAL;
	n->n = spec->nshards;
	rc = xhub_init(&n->hub, n->n, ring);
	if (rc != 0)
		goto fail;
	rc = -ENOMEM;
	n->shards = calloc(n->n, sizeof(*n->shards));
	n->ptrs = calloc(n->n, sizeof(*n->ptrs));
	n->keyspaces = calloc(n->n, sizeof(*n->keyspaces));
	if (n->shards == NULL || n->ptrs == NULL || n->keyspaces == NULL)
		goto fail_arrays;
	for (i = 0; i < n->n; i++)
		n->ptrs[i] = &n->shards[i];
	shardset_init(&n->set, n->n, n->ptrs, n->keyspaces, &n->hub);
	cmd_index_init(&n->cmds);
	for (i = 0; i < n->n; i++) {
		const struct node_shard_spec *s = &spec->shards[i];
		rc = shard_init(&n->shards[i], &n->set, i, s->io, spec->cfg, spec->info, &n->cmds,
				s->listeners, s->nlisteners);
		if (rc != 0)
			goto fail_shards;
	}
	ASSERT(n->set.n == n->n);
	ASSERT(n->hub.n == n->n);
	first_view(n);
	return 0;

fail_shards:
	while (i > 0)
		shard_free(&n->shards[--i]);
fail_arrays:
	free(n->shards);
	free(n->ptrs);
	free(n->keyspaces);
	xhub_free(&n->hub);
fail:
	memset(n, 0, sizeof(*n));
	ASSERT(rc < 0);
	return rc;
}

void node_start(struct node *n, unsigned id)
{
	ASSERT(id < n->n);
	ASSERT(n->shards[id].set == &n->set);
	shard_start(&n->shards[id]);
}

void node_stop(struct node *n)
{
	ASSERT(n->n >= 1);
	atomic_store_explicit(&n->stop, true, memory_order_release);
}

bool node_stopping(const struct node *n)
{
	ASSERT(n->n >= 1);
	return atomic_load_explicit(&n->stop, memory_order_acquire);
}

struct shard *node_shard(struct node *n, unsigned id)
{
	ASSERT(id < n->n);
	ASSERT(n->ptrs[id] == &n->shards[id]);
	return &n->shards[id];
}

void node_free(struct node *n)
{
	unsigned i;

	ASSERT(n->n >= 1);
	ASSERT(n->shards != NULL);
	for (i = 0; i < n->n; i++)
		shard_free(&n->shards[i]);
	/* Each reservation for a big bulk belongs to a connection, and every
	 * connection is gone (shard_free asserted each account is empty). */
	ASSERT(atomic_load_explicit(&n->set.bigbulk_reserved, memory_order_relaxed) == 0);
	free(n->shards);
	free(n->ptrs);
	free(n->keyspaces);
	xhub_free(&n->hub);
	memset(n, 0, sizeof(*n));
}
