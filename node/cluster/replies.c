/* replies.c: the read-only CLUSTER replies (replies.h), after Redis 7.0.15's
 * clusterCommand, clusterReplyMultiBulkSlots, clusterReplyShards and
 * addReplyClusterLinkDescription. */
#include "cluster/replies.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/text.h"
#include "cluster/nodes_conf.h"
#include "cluster/state.h"
#include "proto/reply.h"

/* Room for a small reply built as text first. */
#define REPLIES_TEXT_START 1024

void replies_nodes(const struct cluster_state *st, struct reply *r)
{
	struct text t;

	text_init(&t, st->mem, REPLIES_TEXT_START);
	nodes_conf_nodes(st, &t);
	reply_verbatim(r, t.p, t.len, "txt");
	text_free(&t);
}

/* A node as SLOTS shows it: endpoint (the ip), port, id, no extra map. */
static void slots_node(const struct cluster_node *n, struct reply *r)
{
	reply_array(r, 4);
	reply_bulk_cstr(r, n->ip);
	reply_int(r, n->port);
	reply_bulk(r, n->id, BUS_ID_LEN);
	reply_map(r, 0);
}

/* Counts (r NULL) or writes each maximal run of slots with one owner, in
 * slot order. */
static size_t slot_runs(const struct cluster_state *st, struct reply *r)
{
	size_t runs = 0;

	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		uint16_t o = st->owner[s];
		if (o == CLUSTER_NONE)
			continue;
		unsigned e = s;
		while (e + 1 < CLUSTER_SLOTS && st->owner[e + 1] == o)
			e++;
		if (r != NULL) {
			reply_array(r, 3);
			reply_int(r, s);
			reply_int(r, e);
			slots_node(st->nodes[o], r);
		}
		runs++;
		s = e;
	}
	return runs;
}

void replies_slots(const struct cluster_state *st, struct reply *r)
{
	reply_array(r, (long long)slot_runs(st, NULL));
	slot_runs(st, r);
}

static size_t node_ranges(const struct cluster_state *st, uint16_t i, struct reply *r)
{
	size_t runs = 0;

	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (st->owner[s] != i)
			continue;
		unsigned e = s;
		while (e + 1 < CLUSTER_SLOTS && st->owner[e + 1] == i)
			e++;
		if (r != NULL) {
			reply_int(r, s);
			reply_int(r, e);
		}
		runs++;
		s = e;
	}
	return runs;
}

static void shard_node(const struct cluster_state *st, uint16_t i, long long offset,
		       struct reply *r)
{
	const struct cluster_node *n = st->nodes[i];
	bool replica = (n->flags & CLUSTER_NODE_SLAVE) != 0;

	reply_map(r, n->port != 0 ? 7 : 6);
	reply_bulk_cstr(r, "id");
	reply_bulk(r, n->id, BUS_ID_LEN);
	if (n->port != 0) {
		reply_bulk_cstr(r, "port");
		reply_int(r, n->port);
	}
	reply_bulk_cstr(r, "ip");
	reply_bulk_cstr(r, n->ip);
	reply_bulk_cstr(r, "endpoint");
	reply_bulk_cstr(r, n->ip);
	reply_bulk_cstr(r, "role");
	reply_bulk_cstr(r, replica ? "replica" : "master");
	reply_bulk_cstr(r, "replication-offset");
	reply_int(r, offset);
	reply_bulk_cstr(r, "health");
	if ((n->flags & CLUSTER_NODE_FAIL) != 0)
		reply_bulk_cstr(r, "fail");
	else if (replica && offset == 0)
		reply_bulk_cstr(r, "loading");
	else
		reply_bulk_cstr(r, "online");
}

void replies_shards(const struct cluster_state *st, long long my_repl_offset, struct reply *r)
{
	long long masters = 0;

	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && (st->nodes[i]->flags & CLUSTER_NODE_MASTER) != 0)
			masters++;
	reply_array(r, masters);
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++) {
		if (st->nodes[i] == NULL || (st->nodes[i]->flags & CLUSTER_NODE_MASTER) == 0)
			continue;
		reply_map(r, 2);
		reply_bulk_cstr(r, "slots");
		reply_array(r, 2 * (long long)node_ranges(st, (uint16_t)i, NULL));
		node_ranges(st, (uint16_t)i, r);
		reply_bulk_cstr(r, "nodes");
		reply_array(r, 1);
		shard_node(st, (uint16_t)i, i == st->myself ? my_repl_offset : 0, r);
	}
}

/* Redis's message types in its order, and ours for each (0: none yet). */
static const struct {
	const char *name;
	uint8_t type;
} msg_names[] = {
	{ "ping", BUS_PING },         { "pong", BUS_PONG },       { "meet", BUS_MEET },
	{ "fail", BUS_FAIL },         { "publish", BUS_PUBLISH }, { "auth-req", BUS_AUTH_REQUEST },
	{ "auth-ack", BUS_AUTH_ACK }, { "update", BUS_UPDATE },   { "mfstart", BUS_MFSTART },
};

static void info_stats(const uint64_t *counts, const char *dir, struct text *t)
{
	unsigned long long total = 0;

	for (size_t k = 0; k < sizeof(msg_names) / sizeof(msg_names[0]); k++) {
		uint64_t c = counts[msg_names[k].type];
		if (c == 0)
			continue;
		total += c;
		text_printf(t, "cluster_stats_messages_%s_%s:%llu\r\n", msg_names[k].name, dir,
			    (unsigned long long)c);
	}
	text_printf(t, "cluster_stats_messages_%s:%llu\r\n", dir, total);
}

static void info_slots(const struct cluster_state *st, struct text *t)
{
	unsigned assigned = 0, ok = 0, pfail = 0, fail = 0, known = 0, size = 0;

	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		uint16_t o = st->owner[s];
		if (o == CLUSTER_NONE)
			continue;
		assigned++;
		uint32_t f = st->nodes[o]->flags;
		fail += (f & CLUSTER_NODE_FAIL) != 0;
		pfail += (f & CLUSTER_NODE_FAIL) == 0 && (f & CLUSTER_NODE_PFAIL) != 0;
		ok += (f & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL)) == 0;
	}
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++) {
		const struct cluster_node *n = st->nodes[i];
		known += n != NULL;
		size += n != NULL && (n->flags & CLUSTER_NODE_MASTER) != 0 && n->numslots > 0;
	}
	text_printf(t,
		    "cluster_state:%s\r\ncluster_slots_assigned:%u\r\ncluster_slots_ok:%u\r\n"
		    "cluster_slots_pfail:%u\r\ncluster_slots_fail:%u\r\ncluster_known_nodes:%u\r\n"
		    "cluster_size:%u\r\n",
		    st->ok ? "ok" : "fail", assigned, ok, pfail, fail, known, size);
}

void replies_info(const struct cluster_state *st, uint64_t links_exceeded, struct reply *r)
{
	struct text t;

	text_init(&t, st->mem, REPLIES_TEXT_START);
	info_slots(st, &t);
	text_printf(&t, "cluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
		    (unsigned long long)st->current_epoch,
		    (unsigned long long)cluster_myself(st)->config_epoch);
	info_stats(st->stats_sent, "sent", &t);
	info_stats(st->stats_received, "received", &t);
	text_printf(&t, "total_cluster_links_buffer_limit_exceeded:%llu\r\n",
		    (unsigned long long)links_exceeded);
	reply_verbatim(r, t.p, t.len, "txt");
	text_free(&t);
}

void replies_myid(const struct cluster_state *st, struct reply *r)
{
	reply_bulk(r, cluster_myself(st)->id, BUS_ID_LEN);
}

void replies_keyslot(const char *key, size_t n, struct reply *r)
{
	reply_int(r, hash_slot(key, n));
}

void replies_links(const struct replies_link *links, size_t n, struct reply *r)
{
	reply_array(r, (long long)n);
	for (size_t i = 0; i < n; i++) {
		const struct replies_link *l = &links[i];
		ASSERT(strlen(l->node_id) == BUS_ID_LEN);
		reply_map(r, 6);
		reply_bulk_cstr(r, "direction");
		reply_bulk_cstr(r, l->inbound ? "from" : "to");
		reply_bulk_cstr(r, "node");
		reply_bulk(r, l->node_id, BUS_ID_LEN);
		reply_bulk_cstr(r, "create-time");
		reply_int(r, (long long)l->create_ms);
		reply_bulk_cstr(r, "events");
		reply_bulk_cstr(r, l->events);
		reply_bulk_cstr(r, "send-buffer-allocated");
		reply_int(r, (long long)l->send_buffer_allocated);
		reply_bulk_cstr(r, "send-buffer-used");
		reply_int(r, (long long)l->send_buffer_used);
	}
}
