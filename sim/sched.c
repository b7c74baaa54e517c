/* sched.c: a simulated run assembled and scheduled. See sched.h.
 *
 * Each node is built exactly as cairn-node builds its own, by the node
 * builder (shard/node.h): the same configuration defaults, command index,
 * hub and shards; only the backends differ (io_sim.c). The scheduler then
 * interleaves the shards of every node and the clients one step at a time,
 * in an order drawn from the seed. */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "ccl.h"
#include "client.h"
#include "cluster.h"
#include "model.h"
#include "shard/node.h"

/* A step costs this much simulated time (ns), uniformly. */
#define STEP_COST_MIN 500
#define STEP_COST_MAX 20000
/* After the faults heal, every request must be answered within this. */
#define LIVENESS_BOUND_NS (10ull * 1000 * 1000 * 1000)
/* Cluster clients (ccl.h) in a cluster run: 1 to this many. */
#define SCHED_CCLS_MAX 4
/* Steps of the drain phase at most (a backstop for a stuck scheduler). */
#define DRAIN_TICKS_MAX (40ull * 1000 * 1000)

/* A simulated node: what its builder needs, and the node. */
struct simnode {
	struct config cfg;
	struct node_info info;
	struct node node; /* node.n == 0 until it is built */
};

/* ---- the nodes ---- */

static void sched_node_config(struct world *w, struct config *cfg)
{
	config_defaults(cfg);
	cfg->port = SIM_PORT;
	cfg->shards = w->cfg.shards;
	/* A fast timer, so expiry and housekeeping run often in a short run. */
	cfg->hz = 100;
	cfg->hash_max_listpack_entries = w->cfg.hash_lp_entries;
	cfg->hash_max_listpack_value = w->cfg.hash_lp_value;
	cfg->set_max_intset_entries = w->cfg.set_is_entries;
	cfg->set_max_listpack_entries = w->cfg.set_lp_entries;
	cfg->set_max_listpack_value = w->cfg.set_lp_value;
	cfg->lazyfree_lazy_user_del = w->cfg.lazy_user_del != 0;
	cfg->list_max_listpack_size = w->cfg.list_lp_size;
	cfg->list_compress_depth = w->cfg.list_compress;
	cfg->zset_max_listpack_entries = w->cfg.zset_lp_entries;
	cfg->zset_max_listpack_value = w->cfg.zset_lp_value;
	cfg->hll_sparse_max_bytes = w->cfg.hll_sparse;
	cfg->maxmemory = (long long)w->cfg.maxmemory_kb * 1024;
	cfg->maxmemory_policy = (int)w->cfg.policy;
	if (w->cfg.backpressure > 0)
		cfg->client_output_backpressure = w->cfg.backpressure;
	cfg->cluster_enabled = w->cfg.cluster != 0;
	/* A short node timeout: a bus connect that gets no answer, and a
	 * handshake, each last this long, and at 15 s most clusters formed
	 * only after the fault phase, with no workload left to run. */
	cfg->cluster_node_timeout = SIM_CLUSTER_NODE_TIMEOUT_MS;
}

/* Builds node id as cairn-node builds one (shard/node.h), over simulated
 * backends (ios[base .. base + shards) of the world), each shard with one
 * simulated listener of the client role at the node's address. */
static int sched_node_init(struct world *w, unsigned id)
{
	unsigned per = w->cfg.shards, base = id * per, i;
	struct node_shard_spec *specs = sim_calloc(per * sizeof(*specs));
	struct simnode *n = sim_calloc(sizeof(*n));
	struct node_spec spec;
	int rc;

	w->nodes[id] = n;
	sched_node_config(w, &n->cfg);
	snprintf(n->info.run_id, sizeof(n->info.run_id), "%040llu",
		 (unsigned long long)w->cfg.seed + id);
	snprintf(n->info.os, sizeof(n->info.os), "cairn-sim");
	snprintf(n->info.io_name, sizeof(n->info.io_name), "sim");
	n->info.nshards = per;
	n->info.start_ms = world_ms(w->now);
	for (i = 0; i < per; i++) {
		sim_io_init(w, &w->ios[base + i], base + i, id, base);
		specs[i].io = &w->ios[base + i];
		specs[i].listeners[0] = (struct shard_listener){ w->ios[base + i].listener,
								 SHARD_ROLE_CLIENT };
		specs[i].nlisteners = 1;
		if (w->ios[base + i].bus_listener >= 0)
			specs[i].listeners[specs[i].nlisteners++] = (struct shard_listener){
				w->ios[base + i].bus_listener, SHARD_ROLE_BUS
			};
	}
	spec = (struct node_spec){ .cfg = &n->cfg,
				   .info = &n->info,
				   .nshards = per,
				   .ring_size = w->cfg.ring_size,
				   .shards = specs };
	rc = node_init(&n->node, &spec);
	free(specs);
	if (rc != 0)
		return -1;
	for (i = 0; i < per; i++)
		w->shards[base + i] = node_shard(&n->node, i);
	for (i = 0; i < per; i++)
		node_start(&n->node, i);
	return 0;
}

static void sched_nodes_free(struct world *w)
{
	unsigned i;

	for (i = 0; i < w->nnodes && w->nodes != NULL; i++) {
		struct simnode *n = w->nodes[i];
		if (n != NULL && n->node.n > 0)
			node_free(&n->node);
		free(n);
	}
	for (i = 0; i < w->nshards && w->ios != NULL; i++)
		sim_io_free(&w->ios[i]);
	free(w->nodes);
	free(w->ios);
	free(w->shards);
	w->nodes = NULL;
	w->ios = NULL;
	w->shards = NULL;
}

/* Node id crashes and starts again at once, as a process the supervisor
 * restarts: everything of it in memory goes (its keys, connections,
 * links), its nodes.conf on the simulated disk stays, and it is built
 * again as at the start, which loads it (its id, epochs and slots). Every
 * key of the cluster clients in a slot it owned may be lost
 * (cwork_slot_lost). */
static void sched_crash(struct world *w, unsigned id)
{
	unsigned per = w->cfg.shards, i, j;
	char key[32];

	world_event(w, EV_FAULT, F_COUNT + 2, id);
	sim_node_down(w, id);
	node_free(&w->nodes[id]->node);
	free(w->nodes[id]);
	w->nodes[id] = NULL;
	for (i = id * per; i < (id + 1) * per; i++)
		sim_io_free(&w->ios[i]);
	for (i = 0; i < w->nccls; i++)
		ccl_node_crashed(w, w->ccls[i], id);
	for (j = 0; j < CLUSTER_WKEYS; j++) {
		unsigned slot;
		cluster_wkey(j, key, sizeof(key));
		slot = hash_slot(key, strlen(key));
		if (cluster_held_by(w->cluster, slot, id))
			cwork_slot_lost(w->cwork, slot, w->now);
	}
	w->building = true;
	if (sched_node_init(w, id) != 0)
		world_crash(w, "node %u could not start again after its crash", id);
	w->building = false;
	w->crashes++;
	cluster_node_restarted(w, w->cluster, id);
}

/* ---- setup ---- */

/* The nodes, in order, then each node's model, then the clients, client i
 * bound to node i % client_nodes (every node, but in a cluster run whose
 * last node may crash). With one node, every draw happens as it did
 * before there were several. */
int sched_init(struct world *w, const struct sim_config *cfg)
{
	unsigned i;

	if (world_init(w, cfg) != 0)
		return -1;
	ASSERT(cfg->nodes >= 1);
	ASSERT(cfg->nodes <= SIM_NODES_MAX);
	w->nnodes = cfg->nodes;
	w->nshards = cfg->nodes * cfg->shards;
	w->nodes = sim_calloc(w->nnodes * sizeof(*w->nodes));
	w->ios = sim_calloc(w->nshards * sizeof(*w->ios));
	w->shards = sim_calloc(w->nshards * sizeof(*w->shards));
	w->building = true;
	for (i = 0; i < w->nnodes; i++)
		if (sched_node_init(w, i) != 0)
			return -1;
	w->building = false;
	/* The harness first: it says which node may crash, which no
	 * client of a node's model is bound to (client_nodes). */
	if (cfg->cluster)
		w->cluster = cluster_new(w);
	w->client_nodes = w->crash_node >= 0 ? (unsigned)w->crash_node : w->nnodes;
	w->models = sim_calloc(w->nnodes * sizeof(*w->models));
	for (i = 0; i < w->nnodes; i++)
		w->models[i] = model_new(w, i);
	if (cfg->cluster) {
		struct rng r;
		w->cwork = cwork_new(w);
		rng_fork(&r, &w->root, 0x31000);
		w->nccls = 1 + (unsigned)rng_below(&r, SCHED_CCLS_MAX);
		w->ccls = sim_calloc(w->nccls * sizeof(*w->ccls));
		for (i = 0; i < w->nccls; i++) {
			rng_fork(&r, &w->root, 0x32000 + i);
			w->ccls[i] = ccl_new(w, i, w->cwork, &r);
		}
	}
	w->nclients = cfg->clients;
	w->clients = sim_calloc(cfg->clients * sizeof(*w->clients));
	for (i = 0; i < cfg->clients; i++) {
		struct rng r;
		rng_fork(&r, &w->root, 0x20000 + i);
		unsigned node = i % w->client_nodes;
		w->clients[i] = client_new(w, i, node, w->models[node], &r);
	}
	return 0;
}

void sched_free(struct world *w)
{
	unsigned i;

	for (i = 0; i < w->nclients && w->clients != NULL; i++)
		client_free(w->clients[i]);
	free(w->clients);
	w->clients = NULL;
	for (i = 0; i < w->nccls; i++)
		ccl_free(w, w->ccls[i]);
	free(w->ccls);
	w->ccls = NULL;
	cwork_free(w->cwork);
	w->cwork = NULL;
	cluster_free(w->cluster);
	w->cluster = NULL;
	sched_nodes_free(w);
	for (i = 0; i < w->nnodes && w->models != NULL; i++)
		if (w->models[i] != NULL)
			model_free(w->models[i]);
	free(w->models);
	w->models = NULL;
	world_free(w);
}

void sched_node_stats(struct world *w, unsigned node, uint64_t *commands, uint64_t *connections)
{
	unsigned i, per = w->cfg.shards;

	ASSERT(node < w->nnodes);
	ASSERT(w->shards != NULL);
	*commands = *connections = 0;
	for (i = node * per; i < (node + 1) * per; i++) {
		*commands += w->shards[i]->st.commands_processed;
		*connections += w->shards[i]->st.connections_received;
	}
}

void sched_node_txns(struct world *w, unsigned node, uint64_t *execs, uint64_t *aborts)
{
	ASSERT(node < w->nnodes);
	model_txn_stats(w->models[node], execs, aborts);
}

void sched_node_bpops(struct world *w, unsigned node, uint64_t *pops, uint64_t *timeouts)
{
	ASSERT(node < w->nnodes);
	model_bpop_stats(w->models[node], pops, timeouts);
}

void sched_node_pubsub(struct world *w, unsigned node, uint64_t *published, uint64_t *exact,
		       uint64_t *delivered)
{
	ASSERT(node < w->nnodes);
	model_pubsub_stats(w->models[node], published, exact, delivered);
}

uint64_t sched_node_evicted(struct world *w, unsigned node)
{
	unsigned i, per = w->cfg.shards;
	uint64_t n = 0;

	ASSERT(node < w->nnodes);
	for (i = node * per; i < (node + 1) * per; i++)
		n += w->shards[i]->st.evicted_keys;
	return n;
}

/* ---- the scheduler ---- */

/* One step of shard s: as a node thread's loop turn. The loop's
 * shard_park() is split here, since io_wait() here only marks the shard
 * parked: the parked flag other shards see stays up until the scheduler
 * runs the shard again, as it would while a thread sleeps. A loop turn that
 * found no work parks on the shard's next step, so other shards run in
 * between, as other threads do between a thread's last look at its rings
 * and its parked flag. */
static void step_shard(struct world *w, unsigned s)
{
	struct shard *sh = w->shards[s];
	struct io *io = &w->ios[s];

	world_event(w, EV_SHARD, s, 0);
	if (io->in_park) {
		io->in_park = false;
		shard_park_end(sh);
	}
	if (!io->idle) {
		io->idle = !shard_step(sh);
		return;
	}
	io->idle = false;
	if (shard_park_begin(sh)) {
		io_wait(io, SHARD_PARK_NS);
		if (io->parked) {
			io->in_park = true;
			return;
		}
	}
	shard_park_end(sh);
}

/* The earliest time anything can happen on its own. */
static uint64_t next_time(struct world *w)
{
	uint64_t t = UINT64_MAX, x;
	unsigned i;

	for (i = 0; i < w->nshards; i++) {
		x = sim_io_next_time(&w->ios[i]);
		t = x < t ? x : t;
	}
	for (i = 0; i < w->nclients; i++) {
		x = client_next_time(w->clients[i]);
		t = x < t ? x : t;
	}
	for (i = 0; i < w->nccls; i++) {
		x = ccl_next_time(w->ccls[i]);
		t = x < t ? x : t;
	}
	if (w->cluster != NULL) {
		x = cluster_next_time(w->cluster);
		t = x < t ? x : t;
	}
	return t;
}

/* Picks a runnable entity (shards first in the numbering, then clients)
 * and runs one step of it; jumps time when nothing can run. */
static void schedule(struct world *w)
{
	unsigned ids[XSHARD_MAX + 256 + SCHED_CCLS_MAX + 1], n = 0, i, pick;

	for (i = 0; i < w->nshards; i++)
		if (sim_io_runnable(&w->ios[i]))
			ids[n++] = i;
	for (i = 0; i < w->nclients && n < sizeof(ids) / sizeof(ids[0]); i++)
		if (client_runnable(w, w->clients[i]))
			ids[n++] = w->nshards + i;
	for (i = 0; i < w->nccls; i++)
		if (ccl_runnable(w, w->ccls[i]))
			ids[n++] = w->nshards + w->nclients + 1 + i;
	if (w->cluster != NULL && cluster_runnable(w, w->cluster))
		ids[n++] = w->nshards + w->nclients;
	if (n == 0) {
		uint64_t t = next_time(w);
		ASSERT(t != UINT64_MAX);
		ASSERT(t >= w->now);
		w->now = t > w->now ? t : w->now + 1;
		return;
	}
	pick = ids[rng_below(&w->sched, n)];
	if (pick < w->nshards)
		step_shard(w, pick);
	else if (pick < w->nshards + w->nclients)
		client_step(w, w->clients[pick - w->nshards]);
	else if (pick == w->nshards + w->nclients)
		cluster_step(w, w->cluster);
	else
		ccl_step(w, w->ccls[pick - w->nshards - w->nclients - 1]);
	w->now += rng_range(&w->sched, STEP_COST_MIN, STEP_COST_MAX);
}

/* Whether nothing is in flight between the shards of node. */
static bool node_quiet(struct world *w, unsigned node)
{
	unsigned i, per = w->cfg.shards;

	for (i = node * per; i < (node + 1) * per; i++)
		if (!shard_quiet(w->shards[i]))
			return false;
	return true;
}

/* Settles each node's lost requests once nothing of that node is in
 * flight between its shards (model.h). */
static void settle(struct world *w)
{
	unsigned i;

	for (i = 0; i < w->nnodes; i++)
		if (model_unsettled(w->models[i]) && node_quiet(w, i))
			model_settle(w->models[i]);
}

/* Whether every client is done: nothing in flight. */
static bool quiet(struct world *w)
{
	unsigned i;

	for (i = 0; i < w->nclients; i++)
		if (client_outstanding(w->clients[i]) > 0)
			return false;
	for (i = 0; i < w->nccls; i++)
		if (ccl_busy(w->ccls[i]))
			return false;
	/* ...and every subscriber has the messages it must get. */
	for (i = 0; i < w->nnodes; i++)
		if (model_owes(w->models[i]))
			return false;
	/* ...and in a cluster run, every node agrees again. */
	return w->cluster == NULL || cluster_settled(w->cluster);
}

static void liveness_fail(struct world *w)
{
	unsigned i;

	for (i = 0; i < w->nclients; i++) {
		struct client *cl = w->clients[i];
		if (client_outstanding(cl) == 0)
			continue;
		world_fail(
			w, FAIL_LIVENESS,
			"client %u still waits for %u replies, the oldest sent at t=%llu, %llu ms "
			"after the faults healed",
			i, client_outstanding(cl), (unsigned long long)client_oldest_send(cl),
			(unsigned long long)(LIVENESS_BOUND_NS / 1000000));
		return;
	}
	for (i = 0; i < w->nccls && w->fail == FAIL_NONE; i++)
		if (ccl_busy(w->ccls[i]))
			world_fail(w, FAIL_LIVENESS,
				   "cluster client %u still waits for its request sent at t=%llu, "
				   "%llu ms after the faults healed",
				   i, (unsigned long long)ccl_sent(w->ccls[i]),
				   (unsigned long long)(LIVENESS_BOUND_NS / 1000000));
	for (i = 0; i < w->nnodes && w->fail == FAIL_NONE; i++)
		model_owes_fail(w->models[i]);
	if (w->fail == FAIL_NONE && w->cluster != NULL && !cluster_settled(w->cluster))
		cluster_settle_fail(w, w->cluster);
}

/* How long after the heal the run may take to be quiet: every request
 * answered within LIVENESS_BOUND_NS; in a cluster run whose clients are
 * done, every node agreeing within SIM_CLUSTER_SETTLE_BOUND_NS. */
static uint64_t live_bound(struct world *w)
{
	unsigned i;

	if (w->cluster == NULL)
		return LIVENESS_BOUND_NS;
	for (i = 0; i < w->nclients; i++)
		if (client_outstanding(w->clients[i]) > 0)
			return LIVENESS_BOUND_NS;
	for (i = 0; i < w->nccls; i++)
		if (ccl_busy(w->ccls[i]))
			return LIVENESS_BOUND_NS;
	for (i = 0; i < w->nnodes; i++)
		if (model_owes(w->models[i]))
			return LIVENESS_BOUND_NS;
	return SIM_CLUSTER_SETTLE_BOUND_NS;
}

enum fail_kind sched_run(struct world *w)
{
	uint64_t heal_time = 0, drained = 0;
	unsigned i;

	while (w->fail == FAIL_NONE) {
		/* A cluster run's fault phase counts from the cluster's
		 * formation, which happens under faults all the same; but
		 * not for ever (a connect timing out each time could keep a
		 * handshake from ending, on a real network too). */
		if (w->cluster != NULL && !cluster_formed(w->cluster) &&
		    w->now < SIM_CLUSTER_FORM_FAULTS_NS)
			w->heal_tick++;
		if (!w->healed && w->tick >= w->heal_tick) {
			w->healed = true;
			heal_time = w->now;
			world_event(w, EV_HEAL, 0, 0);
		}
		if (w->healed) {
			if (quiet(w))
				break;
			if (w->now - heal_time > live_bound(w) || ++drained > DRAIN_TICKS_MAX) {
				liveness_fail(w);
				break;
			}
		}
		schedule(w);
		if (w->crash_req > 0) {
			sched_crash(w, w->crash_req - 1);
			w->crash_req = 0;
		}
		w->tick++;
		settle(w);
	}
	for (i = 0; i < w->nnodes && w->fail == FAIL_NONE; i++)
		model_end(w->models[i]);
	return w->fail;
}

void sched_cluster_report(struct world *w, char *buf, size_t cap)
{
	uint64_t sets, gets, moved, asks, retries;
	unsigned migrates, keys, fails, hops, unsaved, am, aok, afail, acanc, acs;

	ASSERT(w->cluster != NULL);
	cluster_migrate_stats(w->cluster, &migrates, &keys, &fails, &unsaved);
	cluster_atomic_stats(w->cluster, &am, &aok, &afail, &acanc, &acs);
	cwork_stats(w->cwork, &sets, &gets, &moved, &asks, &retries, &hops);
	snprintf(buf, cap,
		 "migrates=%u keys_migrated=%u migrate_failures=%u; %u cluster clients: "
		 "sets=%llu gets=%llu moved=%llu asks=%llu retries=%llu hops_max=%u; "
		 "bus_frames_again=%llu crashes=%u unsaved_changes=%u; atomic_moves=%u "
		 "atomic_ok=%u atomic_failed=%u atomic_cancelled=%u cancels=%u",
		 migrates, keys, fails, w->nccls, (unsigned long long)sets,
		 (unsigned long long)gets, (unsigned long long)moved, (unsigned long long)asks,
		 (unsigned long long)retries, hops, (unsigned long long)w->bus_dups, w->crashes,
		 unsaved, am, aok, afail, acanc, acs);
}
