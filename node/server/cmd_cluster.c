/* cmd_cluster.c: CLUSTER and its subcommands, ASKING, READONLY, READWRITE,
 * as Redis 7.0.15 answers them (CLUSTER MYSHARDID as 7.2).
 *
 * Every CLUSTER subcommand runs with every shard locked (its route class),
 * so shard 0's state (shard/topology.h) is read and changed while shard 0
 * is still; a change is settled at once: nodes.conf written when the state
 * asks, and the new view installed in every shard before the reply. The
 * state's functions (cluster/state.h) carry Redis's checks and error
 * texts; the replies are cluster/replies.c's. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cluster/nodes_conf.h"
#include "cluster/redirect.h"
#include "cluster/replies.h"
#include "cluster/state.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/shard.h"

#define ERR_DISABLED "This instance has cluster support disabled"

/* Shard 0's state, or NULL (and the error replied) without cluster mode. */
static struct cluster_state *state_or_reply(struct cmd_ctx *c)
{
	struct cluster_state *st = c->env->cfg->cluster_enabled ? shard_at(c, 0)->topo.st : NULL;

	if (st == NULL)
		reply_error(c->r, ERR_DISABLED);
	return st;
}

/* After a change: nodes.conf, and the new view in every shard. */
static void settle(struct cmd_ctx *c)
{
	struct shard *zero = shard_at(c, 0);
	struct cluster_view *v = topology_settle(&zero->topo, true);
	unsigned s;

	if (v == NULL)
		return;
	for (s = 1; s < cmd_nshards(c); s++)
		topology_install(&shard_at(c, s)->topo, v);
	redirect_view_free(v, &zero->mem);
}

/* The arguments after the subcommand, as the state's functions take them. */
static struct cluster_arg *args_of(struct cmd_ctx *c, int *n)
{
	struct cluster_arg *a;
	int i;

	*n = c->argc - 2;
	a = mem_alloc(c->env->mem, (size_t)(*n > 0 ? *n : 1) * sizeof(*a));
	for (i = 0; i < *n; i++)
		a[i] = (struct cluster_arg){ c->argv[i + 2].p, c->argv[i + 2].len };
	return a;
}

/* +OK for a change, once nodes.conf holds it; else the save's error (the
 * change stands, and the save is tried again: topology_settle). Redis
 * exits when it cannot save (clusterSaveConfigOrDie), so it never
 * acknowledges a change its file lacks; neither does cairn. (Found by the
 * simulator: a node that crashed after an acknowledged SETSLOT NODE whose
 * save had failed came back without the slot and with its old epoch,
 * seed 120 of the branch's swarm.) */
static void reply_saved(struct cmd_ctx *c)
{
	const struct topology *t = &shard_at(c, 0)->topo;

	if (t->err[0] != '\0')
		reply_errorf(c->r, "-ERR error saving the cluster node config: %s", t->err);
	else
		reply_ok(c->r);
}

/* Runs a changing subcommand: fn's error, or OK once the change is settled
 * and saved. */
static void change(struct cmd_ctx *c, int (*fn)(struct cmd_ctx *c, struct cluster_state *st,
						const struct cluster_arg *a, int n, char *err))
{
	struct cluster_state *st = state_or_reply(c);
	char err[CLUSTER_ERR_MAX];
	struct cluster_arg *a;
	int n, rc;

	if (st == NULL)
		return;
	a = args_of(c, &n);
	rc = fn(c, st, a, n, err);
	mem_free(c->env->mem, a);
	settle(c);
	if (rc != 0)
		reply_errorf(c->r, "-ERR %s", err);
	else
		reply_saved(c);
}

/* ---- reading ---- */

void cmd_cluster_info(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_info(st, shard_at(c, 0)->topo.bus.links_exceeded, c->r);
}

void cmd_cluster_nodes(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_nodes(st, c->r);
}

void cmd_cluster_slots(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_slots(st, c->r);
}

void cmd_cluster_shards(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_shards(st, 0, c->r);
}

void cmd_cluster_myid(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_myid(st, c->r);
}

/* 7.2's: a shard is one master until replication comes, so its id. */
void cmd_cluster_myshardid(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st != NULL)
		replies_myid(st, c->r);
}

void cmd_cluster_keyslot(struct cmd_ctx *c)
{
	if (state_or_reply(c) != NULL)
		replies_keyslot(c->argv[2].p, c->argv[2].len, c->r);
}

/* The keyspace that holds slot's keys. */
static struct keyspace *slot_ks(struct cmd_ctx *c, unsigned slot)
{
	return cmd_keyspace(c, c->env->nshards == 1 ? 0 : c->env->slot_shard[slot]);
}

/* Whether an atomic migration into this node hides slot's keys from this
 * client (until the slot is this node's, KEYS and SCAN skip them, and so
 * do these; the migration's own link sees them). */
static bool slot_hidden(struct cmd_ctx *c, unsigned slot)
{
	const uint8_t *hidden = cmd_hidden_slots(c->env);

	return hidden != NULL && hidden[slot] &&
	       (c->conn == NULL || !(c->conn->flags & CONN_F_SYNCSLOTS));
}

void cmd_cluster_countkeysinslot(struct cmd_ctx *c)
{
	long long slot;

	if (state_or_reply(c) == NULL || !cmd_arg_ll(c, &c->argv[2], &slot, NULL))
		return;
	if (slot < 0 || slot >= CLUSTER_SLOTS) {
		reply_error(c->r, "Invalid slot");
		return;
	}
	if (slot_hidden(c, (unsigned)slot))
		reply_int(c->r, 0);
	else
		reply_int(c->r, (long long)ks_slot_keys(slot_ks(c, (unsigned)slot), (unsigned)slot,
							UINT64_MAX, NULL, NULL));
}

static void reply_key(void *arg, const struct kv *e)
{
	reply_bulk(arg, kv_key(e), kv_klen(e));
}

void cmd_cluster_getkeysinslot(struct cmd_ctx *c)
{
	long long slot, max;
	struct keyspace *ks;
	uint64_t n;

	if (state_or_reply(c) == NULL || !cmd_arg_ll(c, &c->argv[2], &slot, NULL) ||
	    !cmd_arg_ll(c, &c->argv[3], &max, NULL))
		return;
	if (slot < 0 || slot >= CLUSTER_SLOTS || max < 0) {
		reply_error(c->r, "Invalid slot or number of keys");
		return;
	}
	ks = slot_ks(c, (unsigned)slot);
	n = slot_hidden(c, (unsigned)slot)
		    ? 0
		    : ks_slot_keys(ks, (unsigned)slot, (uint64_t)max, NULL, NULL);
	reply_array(c->r, (long long)n);
	(void)ks_slot_keys(ks, (unsigned)slot, n, reply_key, c->r);
}

void cmd_cluster_count_failure_reports(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);

	if (st == NULL)
		return;
	if (cluster_node_find(st, c->argv[2].p, c->argv[2].len) == CLUSTER_NONE)
		reply_errorf(c->r, "-ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].p);
	else
		reply_int(c->r, 0); /* failure reports come with failover */
}

struct links_acc {
	struct replies_link *v;
	size_t n;
};

static void add_link(void *arg, bool inbound, const char *node_id, uint64_t create_ms, bool writing,
		     size_t out_bytes, size_t out_alloc)
{
	struct links_acc *acc = arg;

	if (acc->n == BUS_LINKS_MAX)
		return;
	acc->v[acc->n++] = (struct replies_link){
		.inbound = inbound,
		.node_id = node_id,
		.create_ms = create_ms,
		.events = writing ? "rw" : "r",
		.send_buffer_allocated = out_alloc,
		.send_buffer_used = out_bytes,
	};
}

void cmd_cluster_links(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);
	struct links_acc acc = { 0 };

	if (st == NULL)
		return;
	acc.v = mem_alloc(c->env->mem, BUS_LINKS_MAX * sizeof(*acc.v));
	bus_each_link(&shard_at(c, 0)->topo.bus, add_link, &acc);
	replies_links(acc.v, acc.n, c->r);
	mem_free(c->env->mem, acc.v);
}

/* ---- changing ---- */

static int do_meet(struct cmd_ctx *c, struct cluster_state *st, const struct cluster_arg *a, int n,
		   char *err)
{
	if (n > 3) {
		snprintf(err, CLUSTER_ERR_MAX,
			 "unknown subcommand or wrong number of arguments for '%.*s'. Try CLUSTER "
			 "HELP.",
			 (int)c->argv[1].len, c->argv[1].p);
		return -1;
	}
	return cluster_meet(st, a, n, (uint64_t)c->now_ms, err);
}

void cmd_cluster_meet(struct cmd_ctx *c)
{
	change(c, do_meet);
}

static int do_addslots(struct cmd_ctx *c, struct cluster_state *st, const struct cluster_arg *a,
		       int n, char *err)
{
	return cluster_addslots(st, a, n, c->cmd->id == CMDID_CLUSTER_DELSLOTS, err);
}

void cmd_cluster_addslots(struct cmd_ctx *c)
{
	change(c, do_addslots);
}

void cmd_cluster_delslots(struct cmd_ctx *c)
{
	change(c, do_addslots);
}

static int do_addslotsrange(struct cmd_ctx *c, struct cluster_state *st,
			    const struct cluster_arg *a, int n, char *err)
{
	if (n % 2 != 0) {
		snprintf(err, CLUSTER_ERR_MAX, "wrong number of arguments for '%s' command",
			 c->cmd->fullname);
		return -1;
	}
	return cluster_addslotsrange(st, a, n, c->cmd->id == CMDID_CLUSTER_DELSLOTSRANGE, err);
}

void cmd_cluster_addslotsrange(struct cmd_ctx *c)
{
	change(c, do_addslotsrange);
}

void cmd_cluster_delslotsrange(struct cmd_ctx *c)
{
	change(c, do_addslotsrange);
}

void cmd_cluster_flushslots(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);
	unsigned s;

	if (st == NULL)
		return;
	for (s = 0; s < cmd_nshards(c); s++) {
		if (ks_size(cmd_keyspace(c, s)) != 0) {
			reply_error(c->r, "DB must be empty to perform CLUSTER FLUSHSLOTS.");
			return;
		}
	}
	cluster_flushslots(st);
	reply_ok(c->r);
	settle(c);
}

static size_t keys_in_slot(void *arg, unsigned slot)
{
	struct cmd_ctx *c = arg;

	return (size_t)ks_slot_keys(slot_ks(c, slot), slot, UINT64_MAX, NULL, NULL);
}

static int do_setslot(struct cmd_ctx *c, struct cluster_state *st, const struct cluster_arg *a,
		      int n, char *err)
{
	struct cluster_keys keys = { keys_in_slot, c };

	return cluster_setslot(st, a, n, &keys, err);
}

void cmd_cluster_setslot(struct cmd_ctx *c)
{
	change(c, do_setslot);
}

static int do_forget(struct cmd_ctx *c, struct cluster_state *st, const struct cluster_arg *a,
		     int n, char *err)
{
	ASSERT(n == 1);
	return cluster_forget(st, a[0].p, a[0].n, (uint64_t)c->now_ms, err);
}

void cmd_cluster_forget(struct cmd_ctx *c)
{
	change(c, do_forget);
}

static int do_config_epoch(struct cmd_ctx *c, struct cluster_state *st, const struct cluster_arg *a,
			   int n, char *err)
{
	(void)c;
	ASSERT(n == 1);
	return cluster_set_config_epoch(st, a[0].p, a[0].n, err);
}

void cmd_cluster_set_config_epoch(struct cmd_ctx *c)
{
	change(c, do_config_epoch);
}

void cmd_cluster_bumpepoch(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);
	char text[64];
	bool bumped;

	if (st == NULL)
		return;
	bumped = cluster_bumpepoch(st);
	snprintf(text, sizeof(text), "%s %llu", bumped ? "BUMPED" : "STILL",
		 (unsigned long long)cluster_myself(st)->config_epoch);
	reply_status(c->r, text);
	settle(c);
}

void cmd_cluster_reset(struct cmd_ctx *c)
{
	struct cluster_state *st = state_or_reply(c);
	bool hard = false;
	unsigned s;

	if (st == NULL)
		return;
	if (c->argc == 3 && cmd_arg_eq(&c->argv[2], "hard")) {
		hard = true;
	} else if (c->argc == 3 && !cmd_arg_eq(&c->argv[2], "soft")) {
		cmd_syntax_error(c);
		return;
	} else if (c->argc > 3) {
		reply_errorf(c->r,
			     "-ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
			     "CLUSTER HELP.",
			     (int)c->argv[1].len, c->argv[1].p);
		return;
	}
	for (s = 0; s < cmd_nshards(c); s++) {
		if (ks_size(cmd_keyspace(c, s)) != 0) {
			reply_error(
				c->r,
				"CLUSTER RESET can't be called with master nodes containing keys");
			return;
		}
	}
	cluster_reset(st, hard);
	reply_ok(c->r);
	settle(c);
}

void cmd_cluster_saveconfig(struct cmd_ctx *c)
{
	struct topology *t;

	if (state_or_reply(c) == NULL)
		return;
	t = &shard_at(c, 0)->topo;
	t->st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	settle(c);
	if (t->err[0] != '\0')
		reply_errorf(c->r, "-ERR error saving the cluster node config: %s", t->err);
	else
		reply_ok(c->r);
}

static const char *const cluster_help[] = {
	"ADDSLOTS <slot> [<slot> ...]",
	"    Assign slots to current node.",
	"ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Assign slots which are between <start-slot> and <end-slot> to current node.",
	"BUMPEPOCH",
	"    Advance the cluster config epoch.",
	"COUNT-FAILURE-REPORTS <node-id>",
	"    Return number of failure reports for <node-id>.",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"DELSLOTS <slot> [<slot> ...]",
	"    Delete slots information from current node.",
	"DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Delete slots information which are between <start-slot> and <end-slot> from current "
	"node.",
	"FLUSHSLOTS",
	"    Delete current node own slots information.",
	"FORGET <node-id>",
	"    Remove a node from the cluster.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MEET <ip> <port> [<bus-port>]",
	"    Connect nodes into a working cluster.",
	"MYID",
	"    Return the node id.",
	"MYSHARDID",
	"    Return the node's shard id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> "
	"<slot> ...",
	"RESET [HARD|SOFT]",
	"    Reset current node (default: soft).",
	"SET-CONFIG-EPOCH <epoch>",
	"    Set config epoch of current node.",
	"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	"    Set slot state.",
	"SAVECONFIG",
	"    Force saving cluster configuration on disk.",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"LINKS",
	"    Return information about all network links between this node and its peers.",
	"    Output format is an array where each array element is a map containing attributes of "
	"a link",
};

void cmd_cluster_help(struct cmd_ctx *c)
{
	cmd_reply_help(c, "CLUSTER", cluster_help, sizeof(cluster_help) / sizeof(cluster_help[0]));
}

/* ---- ASKING, READONLY, READWRITE ---- */

static void conn_flag(struct cmd_ctx *c, uint32_t set, uint32_t clear)
{
	struct conn *conn;

	if (!c->env->cfg->cluster_enabled) {
		reply_error(c->r, ERR_DISABLED);
		return;
	}
	conn = server_conn(c);
	conn->flags = (conn->flags & ~clear) | set;
	reply_ok(c->r);
}

void cmd_asking(struct cmd_ctx *c)
{
	conn_flag(c, CONN_F_ASKING, 0);
}

void cmd_readonly(struct cmd_ctx *c)
{
	conn_flag(c, CONN_F_READONLY, 0);
}

void cmd_readwrite(struct cmd_ctx *c)
{
	conn_flag(c, 0, CONN_F_READONLY);
}
