/* cluster.h: cluster runs (cfg.cluster): the harness that forms the
 * cluster and watches it.
 *
 * In a cluster run every node starts with cluster-enabled yes, its
 * nodes.conf on the simulator's disk (io_sim.c's files) and its bus
 * listener at 10.0.0.<i+1>:SIM_BUS_PORT on shard 0, so the node's own bus
 * code (shard/bus.c, cluster/) runs over the simulated network, under its
 * faults. The harness forms the cluster as redis-cli --cluster create does,
 * over connections of its own: ADDSLOTSRANGE (16384 slots split evenly) and
 * SET-CONFIG-EPOCH i+1 on every node, then, once all have answered, CLUSTER
 * MEET to node 0 from the others. It then polls every node (CLUSTER INFO,
 * CLUSTER NODES) until all report cluster_state:ok and the same table:
 * every node's id, address, config epoch and slots; while it waits, a
 * node that misses others meets node 0 again, as redis-cli does. The
 * workload starts then (cluster_formed), and the fault phase counts from
 * there (or from SIM_CLUSTER_FORM_FAULTS_NS). Every key, queue and channel
 * a node's model names begins with a hash tag of one slot of that node
 * (cluster_tag), so each node's clients and model work as before.
 *
 * Moves (cluster.c) take a slot, empty or holding the cluster clients'
 * keys (ccl.h), from its owner to another node as redis-cli's reshard
 * does: IMPORTING, MIGRATING, CLUSTER GETKEYSINSLOT and the node's own
 * MIGRATE until no key is left (tried again after IOERR, with REPLACE after
 * BUSYKEY), then SETSLOT NODE; or, a drawn share of them (atomic_pct;
 * of empty slots only with atomic_keys=0), atomically: CLUSTER MIGRATESLOTS on
 * the source, its GETSLOTMIGRATIONS until the job ends, now and then a
 * CANCELSLOTMIGRATIONS; on success the target owns the slot, else the
 * source keeps it (or, the link lost after the grant, whichever every node
 * agrees on at the next look). Faults: partitions, delayed bus bytes, bus
 * frames delivered again (io_sim.c), and crashes of the last node, which
 * starts again from its nodes.conf (sched.c; no node model's client uses
 * it).
 *
 * Oracles: every view gives each slot the owner the harness gave it (or,
 * for a slot it moved, the old owner until that node has seen the new
 * one: cluster.c), every redirect a move probes names the right node, a
 * write accepted without ASKING comes from the slot's owner
 * (cluster_may_accept; for an atomic move, the source's writes come
 * before the target's), no cluster client gets ASK or TRYAGAIN for a slot
 * on an atomic move, a source holds no key of a slot it moved atomically,
 * and after the faults heal every node agrees,
 * formed or not before, within SIM_CLUSTER_SETTLE_BOUND_NS (sched_run
 * waits for cluster_settled). */
#ifndef CAIRN_SIM_CLUSTER_H
#define CAIRN_SIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct world;
struct simcluster;

/* The bus port of every simulated node (cairn's default: port + 10000). */
#define SIM_BUS_PORT 16379
/* The nodes' cluster-node-timeout (ms) in cluster runs. */
#define SIM_CLUSTER_NODE_TIMEOUT_MS 2000
/* The fault phase begins at formation, or at this simulated time if the
 * cluster has not formed by then (so that the faults heal all the same). */
#define SIM_CLUSTER_FORM_FAULTS_NS (20ull * 1000 * 1000 * 1000)
/* After the heal, every node agrees again within this: a connect begun
 * before the heal may time out after the node timeout, and the handshake
 * it served, which also lasts the node timeout, starts again (ample with
 * SIM_CLUSTER_NODE_TIMEOUT_MS; the node's default, 15 s, would need 45). */
#define SIM_CLUSTER_SETTLE_BOUND_NS (45ull * 1000 * 1000 * 1000)

struct simcluster *cluster_new(struct world *w);
void cluster_free(struct simcluster *c);
bool cluster_runnable(struct world *w, struct simcluster *c);
uint64_t cluster_next_time(const struct simcluster *c);
void cluster_step(struct world *w, struct simcluster *c);
/* Whether every node has agreed once: the workload may start. */
bool cluster_formed(const struct simcluster *c);
/* Whether every node agreed at a look taken after the faults healed. */
bool cluster_settled(const struct simcluster *c);
/* The liveness failure of a cluster that has not settled, with what the
 * last look saw. */
void cluster_settle_fail(struct world *w, struct simcluster *c);
/* When the cluster formed (ms of simulated time, 0 if it has not), how
 * many looks the harness took, how many slots it moved, and how many
 * partitions it made. */
void cluster_stats(const struct simcluster *c, double *formed_ms, uint64_t *looks, unsigned *moves,
		   unsigned *partitions);
/* MIGRATEs the moves sent, the keys they named, and those that failed
 * (and were tried again); CLUSTER changes answered "error saving the
 * cluster node config" (tried again in a move). */
void cluster_migrate_stats(const struct simcluster *c, unsigned *migrates, unsigned *keys,
			   unsigned *fails, unsigned *unsaved);
/* The first slot node owns (formation's even split). */
unsigned cluster_first_slot(unsigned nodes, unsigned node);
/* A hash tag (without braces) whose slot node owns: keys named with it
 * all live in one slot of that node. */
void cluster_tag(unsigned nodes, unsigned node, char *buf, size_t cap);
/* The cluster clients' keys (ccl.h): CLUSTER_WKEYS of them, in the slots
 * of CLUSTER_WTAGS hash tags, which the harness moves with their keys. */
#define CLUSTER_WKEYS 48
#define CLUSTER_WTAGS 8
void cluster_wkey(unsigned j, char *buf, size_t cap);
/* The write-ownership oracle: whether node may accept a write to slot,
 * sent at send and answered at recv, without ASKING. Only the slot's
 * owner may: for a slot never moved, its first owner; for a moved one, its
 * old owner for a request sent before the target was sent SETSLOT NODE
 * (which gives the target the higher epoch), and the target for one
 * answered after. So two nodes never both accept writes for one slot at
 * one epoch, and an owner whose epoch is superseded accepts none. (The
 * target of an open move accepts them after ASKING, which is not asked
 * here.) */
bool cluster_may_accept(struct simcluster *c, unsigned slot, unsigned node, uint64_t send,
			uint64_t recv);
/* Whether slot is on an atomic move (CLUSTER MIGRATESLOTS) that began
 * at or before since: a cluster client gets neither ASK nor TRYAGAIN for
 * it (ccl.c). */
bool cluster_atomic_moving(const struct simcluster *c, unsigned slot, uint64_t since);
/* The target of the atomic move under way (cluster_atomic_moving). */
unsigned cluster_atomic_target(const struct simcluster *c);
/* Atomic moves begun (not refused for a legacy move's leftovers), succeeded, failed, cancelled; CANCELSLOTMIGRATIONS
 * answered +OK. */
void cluster_atomic_stats(const struct simcluster *c, unsigned *moves, unsigned *ok,
			  unsigned *failed, unsigned *cancelled, unsigned *cancels);
/* Crashes: whether a crash of node may lose keys of slot (it owns it,
 * or owned it before its last move); and node has crashed and been built
 * again (sched.c): the harness connects to it again. */
bool cluster_held_by(const struct simcluster *c, unsigned slot, unsigned node);
void cluster_node_restarted(struct world *w, struct simcluster *c, unsigned node);
/* The tag (j % CLUSTER_WTAGS of cluster_wkey) of the slot a move is
 * moving now, or -1. */
int cluster_moving_tag(const struct simcluster *c);

#endif
