/* sched.h: a simulated run, assembled and scheduled.
 *
 * sched_init() builds what a world holds (world.h): its nodes (cfg.nodes,
 * each built by the node builder, shard/node.h, with its shards over the
 * simulated backend, io_sim.c, and its own address), the clients, each
 * bound to one node, and each node's model that checks them. sched_run() is the scheduler: a seeded choice, step
 * after step, of a runnable shard (which runs shard_step, or parks) or a
 * client (which sends requests and checks replies); time advances by a
 * small random cost per step, or jumps to the next timer when nothing can
 * run. This is the one sim module that sees the world, the clients and the
 * model together: they reach the run's record through world.h only, so
 * that no two sim modules include each other. */
#ifndef CAIRN_SIM_SCHED_H
#define CAIRN_SIM_SCHED_H

#include <stdint.h>

#include "world.h"

/* Builds the world for cfg: its record, the node and the clients. Returns
 * 0 or -1; after -1 too, sched_free() releases what was built. */
int sched_init(struct world *w, const struct sim_config *cfg);
/* Frees everything sched_init() built, then the record. */
void sched_free(struct world *w);
/* Runs the fault phase, then lets everything in flight finish. Returns the
 * failure, if any (details in w->fail_detail). */
enum fail_kind sched_run(struct world *w);
/* What node served: commands run and connections accepted, over its
 * shards. */
void sched_node_stats(struct world *w, unsigned node, uint64_t *commands, uint64_t *connections);
/* Keys node evicted under maxmemory. */
uint64_t sched_node_evicted(struct world *w, unsigned node);
/* Transactions its clients ran (EXEC answered), and those WATCH failed. */
void sched_node_txns(struct world *w, unsigned node, uint64_t *execs, uint64_t *aborts);
/* Blocking pops of node's clients that took an element, and that timed out. */
void sched_node_bpops(struct world *w, unsigned node, uint64_t *pops, uint64_t *timeouts);
/* Messages node's clients published (acknowledged), of which the count was
 * known exactly, and deliveries checked. */
void sched_node_pubsub(struct world *w, unsigned node, uint64_t *published, uint64_t *exact,
		       uint64_t *delivered);
/* A cluster run: what its moves and its cluster clients did (one line). */
void sched_cluster_report(struct world *w, char *buf, size_t cap);

#endif
