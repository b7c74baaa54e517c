/* simcfg.h: the configuration of a run, derived from its seed.
 *
 * Everything about a run follows from its 64-bit seed (but the number of
 * nodes, 1 unless set: seeds stay what they were): the topology, the
 * sizes of rings and buffer pools, the pipeline depths and the probability
 * of each fault class, each drawn from a range that includes 0 (swarm
 * testing: every run has a different mix, and many runs leave some classes
 * out entirely). "--set name=value" overrides one item, and a saved case
 * records its overrides, so any failing run can be replayed exactly. */
#ifndef CAIRN_SIM_SIMCFG_H
#define CAIRN_SIM_SIMCFG_H

#include <stdio.h>

#include "world.h"

#define SIMCFG_TICKS_DEFAULT 200000ull
/* The share of seeds that run a cluster (cluster.h). */
#define SIMCFG_CLUSTER_SHARE 0.125

void simcfg_derive(struct sim_config *c, uint64_t seed);
/* Applies "name=value"; returns 0, or -1 with a reason in err. */
int simcfg_set(struct sim_config *c, const char *assign, char *err, size_t errlen);
/* Prints the configuration, one item per line. */
void simcfg_print(const struct sim_config *c, FILE *f);

#endif
