/* redirect.c: see redirect.h. */
#include "cluster/redirect.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cluster/state.h"

_Static_assert(REDIRECT_SLOTS == CLUSTER_SLOTS, "one slot space");
_Static_assert(REDIRECT_NONE_NODE == CLUSTER_NONE, "one 'no node'");
_Static_assert(REDIRECT_ADDR_MAX >= BUS_IP_MAX + 1 + 5 + 1, "room for ip:port");

struct cluster_view *redirect_view_build(const struct cluster_state *st, struct mem *mem,
					 uint64_t version)
{
	uint32_t naddr = 0, i;
	size_t bytes;
	struct cluster_view *v;

	for (i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL)
			naddr = i + 1;
	bytes = sizeof(*v) + (size_t)naddr * REDIRECT_ADDR_MAX;
	v = mem_calloc(mem, bytes);
	v->bytes = bytes;
	v->version = version;
	v->ok = st->ok;
	v->myself = st->myself;
	v->naddr = (uint16_t)naddr;
	memcpy(v->owner, st->owner, sizeof(v->owner));
	memcpy(v->migrating, st->migrating_to, sizeof(v->migrating));
	for (i = 0; i < REDIRECT_SLOTS; i++) {
		v->importing[i] = st->importing_from[i] != CLUSTER_NONE;
		v->serve[i] = st->ok && st->owner[i] == st->myself &&
			      st->migrating_to[i] == CLUSTER_NONE && !v->importing[i];
	}
	for (i = 0; i < naddr; i++) {
		const struct cluster_node *n = st->nodes[i];
		if (n != NULL)
			snprintf(v->addr[i], REDIRECT_ADDR_MAX, "%s:%u", n->ip, (unsigned)n->port);
	}
	return v;
}

void redirect_view_free(struct cluster_view *v, struct mem *mem)
{
	mem_free(mem, v);
}

static int first_slot(const struct redirect_req *q)
{
	return q->nkeys > 0 ? (int)hash_slot(q->keys[0], q->lens[0]) : -1;
}

bool redirect_needs_lookup(const struct cluster_view *v, const struct redirect_req *q, int *slot)
{
	*slot = first_slot(q);
	if (*slot < 0 || q->shard_pubsub)
		return false;
	return (v->owner[*slot] == v->myself && v->migrating[*slot] != REDIRECT_NONE_NODE) ||
	       v->importing[*slot];
}

/* Steps 1-4: an owner for the first key's slot, and that slot for every
 * key. */
static bool one_slot(const struct cluster_view *v, const struct redirect_req *q,
		     struct redirect_out *out)
{
	int i;

	/* The first key's slot without an owner ends it there, as Redis. */
	if (v->owner[out->slot] == REDIRECT_NONE_NODE) {
		out->kind = REDIRECT_UNBOUND;
		return false;
	}
	for (i = 1; i < q->nkeys; i++) {
		if (hash_slot(q->keys[i], q->lens[i]) != out->slot) {
			out->kind = REDIRECT_CROSSSLOT;
			return false;
		}
	}
	return true;
}

/* Whether the request names a key other than its first (the same key
 * twice is one key, as Redis's multiple_keys). */
static bool several_keys(const struct redirect_req *q)
{
	int i;

	for (i = 1; i < q->nkeys; i++)
		if (q->lens[i] != q->lens[0] || memcmp(q->keys[i], q->keys[0], q->lens[0]) != 0)
			return true;
	return false;
}

/* Step 6: a cluster that is down. */
static bool down(const struct cluster_view *v, const struct redirect_req *q,
		 struct redirect_out *out)
{
	if (v->ok)
		return false;
	if (q->shard_pubsub) {
		if (q->pubsub_when_down)
			return false;
		out->kind = REDIRECT_DOWN;
	} else if (!q->reads_when_down) {
		out->kind = REDIRECT_DOWN;
	} else if (q->write) {
		out->kind = REDIRECT_DOWN_RO;
	} else {
		return false;
	}
	return true;
}

void redirect_check(const struct cluster_view *v, const struct redirect_req *q,
		    struct redirect_out *out)
{
	bool migrating, importing;
	int slot = first_slot(q), i, missing = 0;

	memset(out, 0, sizeof(*out));
	out->kind = REDIRECT_HERE;
	out->node = REDIRECT_NONE_NODE;
	if (slot < 0)
		return; /* no key: it runs here, even while the cluster is down */
	out->slot = (unsigned)slot;
	if (!one_slot(v, q, out))
		return;
	migrating = v->owner[slot] == v->myself && v->migrating[slot] != REDIRECT_NONE_NODE &&
		    !q->shard_pubsub;
	importing = v->importing[slot] && !q->shard_pubsub;
	if (migrating || importing)
		for (i = 0; i < q->nkeys; i++)
			missing += !q->exists(q->exists_arg, q->keys[i], q->lens[i]);
	if (down(v, q, out))
		return;
	if ((migrating || importing) && q->migrate)
		return;
	if (migrating && missing > 0) {
		if (missing < q->nkeys) {
			out->kind = REDIRECT_TRYAGAIN;
		} else {
			out->kind = REDIRECT_ASK;
			out->node = v->migrating[slot];
		}
		return;
	}
	if (importing && q->asking) {
		if (missing > 0 && several_keys(q))
			out->kind = REDIRECT_TRYAGAIN;
		return;
	}
	if (v->owner[slot] != v->myself) {
		out->kind = REDIRECT_MOVED;
		out->node = v->owner[slot];
	}
}

size_t redirect_error(const struct cluster_view *v, const struct redirect_out *o, char *buf,
		      size_t cap)
{
	int n = 0;

	switch (o->kind) {
	case REDIRECT_MOVED:
	case REDIRECT_ASK:
		ASSERT(o->node < v->naddr);
		n = snprintf(buf, cap, "%s %u %s", o->kind == REDIRECT_MOVED ? "MOVED" : "ASK",
			     o->slot, v->addr[o->node]);
		break;
	case REDIRECT_TRYAGAIN:
		n = snprintf(buf, cap, "TRYAGAIN Multiple keys request during rehashing of slot");
		break;
	case REDIRECT_CROSSSLOT:
		n = snprintf(buf, cap, "CROSSSLOT Keys in request don't hash to the same slot");
		break;
	case REDIRECT_UNBOUND: n = snprintf(buf, cap, "CLUSTERDOWN Hash slot not served"); break;
	case REDIRECT_DOWN: n = snprintf(buf, cap, "CLUSTERDOWN The cluster is down"); break;
	case REDIRECT_DOWN_RO:
		n = snprintf(buf, cap,
			     "CLUSTERDOWN The cluster is down and only accepts read commands");
		break;
	case REDIRECT_HERE: ASSERT_NOT_REACHED("redirect: no error to tell");
	}
	ASSERT(n > 0 && (size_t)n < cap);
	return (size_t)n;
}
