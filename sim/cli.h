/* cli.h: the pieces of cairn-sim's command line.
 *
 * A run is described by a spec: the seed, the "--set name=value" overrides
 * applied in order to the configuration derived from the seed, and the
 * tick budget. A spec is what a reproduce line prints and what a saved case
 * (proto/sim.proto) holds. A run ends in an outcome.
 *
 * "run" and "replay" run one world in the process itself. "swarm" and
 * "shrink" run each world in a child process, so that a crash (a failed
 * assertion in the node, a bad pointer) ends only that run, and the child
 * reports its outcome over a pipe. */
#ifndef CAIRN_SIM_CLI_H
#define CAIRN_SIM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "world.h"

#define SPEC_SETS_MAX 64

struct run_spec {
	uint64_t seed;
	uint64_t ticks; /* 0: the default */
	unsigned nsets;
	char sets[SPEC_SETS_MAX][64];
	unsigned trace; /* as sim_config.trace; never saved */
	char watch[64]; /* as sim_config.watch; never saved */
};

struct outcome {
	enum fail_kind kind;
	uint64_t seed, tick, events, hash;
	double cpu_s; /* CPU time of the run (swarm and shrink) */
	char detail[512];
	/* What each node served (sched_node_stats), for the run summary. */
	unsigned nodes;
	uint64_t node_commands[SIM_NODES_MAX], node_connections[SIM_NODES_MAX];
	uint64_t node_evicted[SIM_NODES_MAX];
	uint64_t node_execs[SIM_NODES_MAX], node_exec_aborts[SIM_NODES_MAX];
	/* Blocking pops that took an element, and those that timed out. */
	uint64_t node_bpops[SIM_NODES_MAX], node_btimeouts[SIM_NODES_MAX];
	/* Messages published (acknowledged), those whose count was known
	 * exactly, and deliveries checked. */
	uint64_t node_published[SIM_NODES_MAX], node_exact[SIM_NODES_MAX];
	uint64_t node_delivered[SIM_NODES_MAX];
	/* Cluster runs: when the cluster formed (ms of simulated time; 0: it
	 * did not), and the harness's looks at every node. */
	bool cluster;
	double cluster_formed_ms;
	uint64_t cluster_looks;
	unsigned cluster_moves, cluster_partitions;
	char cluster_more[512]; /* sched_cluster_report */
};

const char *fail_kind_name(enum fail_kind k);
int fail_kind_exit(enum fail_kind k);

/* Adds an override, replacing an earlier one of the same name. Returns 0,
 * or -1 with a reason in err. */
int spec_set(struct run_spec *s, const char *assign, char *err, size_t errlen);
/* The configuration of a spec. Returns 0, or -1 with a reason in err. */
int spec_config(const struct run_spec *s, struct sim_config *c, char *err, size_t errlen);
/* "prog run --seed N [--ticks T] [--set a=b ...]". */
void spec_command(const struct run_spec *s, const char *prog, char *buf, size_t len);

/* Runs the spec in a child process, quietly. Returns 0 with the outcome,
 * or -1 if the child could not be started. */
int run_child(const struct run_spec *s, struct outcome *o);
/* Starts a child without waiting: returns its pid, and the pipe it reports
 * on in *fd. child_collect waits for it. */
int child_start(const struct run_spec *s, int *fd);
void child_collect(int pid, int fd, uint64_t seed, struct outcome *o);

/* Saved cases (casefile.c). Return 0, or -1 with a message on stderr. */
int case_save(const char *path, const struct run_spec *s, const struct outcome *o);
int case_load(const char *path, struct run_spec *s, struct outcome *o);

/* The subcommands that fork (swarm.c). Return the process's exit code. */
int cli_swarm(int argc, char **argv, const char *prog);
int cli_shrink(int argc, char **argv, const char *prog);

/* Runs one world in this process and returns its outcome; with
 * report_fd >= 0 (a child), a crash writes the outcome there and exits. */
void run_here(const struct sim_config *c, struct outcome *o, int report_fd);

#endif
