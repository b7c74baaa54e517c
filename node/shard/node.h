/* node.h: one node, built from its configuration: the hub, the shards and
 * their listeners.
 *
 * Every program that runs a node builds it here: cairn-node (main.c), the
 * simulator (sim/sched.c, one per simulated node) and the command fuzzer
 * (fuzz/fuzz_commands.c). The builder makes no system call, as no core code
 * does, so what touches the world comes from the caller: one backend per
 * shard (struct io), and each shard's listening sockets, opened by the
 * caller (real sockets in main.c, simulated ones in the simulator) and
 * handed in with their role. The builder creates the rest: the hub of rings
 * between shards (xhub_init), the shardset and its keyspace array, the
 * command index, and each shard (shard_init) with its listeners.
 *
 * Listener roles (enum shard_role, shard.h): a shard may hold listeners of
 * two roles, the client port and the cluster bus port (cluster-enabled,
 * cluster-port). There is no cluster bus yet: a connection accepted on a
 * bus listener is closed at once, with a line in the log at verbose level.
 * The bus port only proves that the node listens where a cluster would
 * look for it.
 *
 * Lifetime: the caller keeps the backends, the listening sockets and
 * spec->info alive until node_free(), and closes and destroys them after
 * it. The spec itself and spec->cfg may go once node_init() returns: each
 * shard keeps its own copy of the configuration and of its listeners. */
#ifndef CAIRN_SHARD_NODE_H
#define CAIRN_SHARD_NODE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "shard/shard.h"

/* One shard, as the caller hands it in. */
struct node_shard_spec {
	struct io *io; /* its backend */
	struct shard_listener listeners[SHARD_LISTENERS_MAX];
	unsigned nlisteners; /* none is fine: the shard then only serves what
			      * other shards forward to it */
};

struct node_spec {
	const struct config *cfg;
	const struct node_info *info; /* info->nshards must be nshards */
	unsigned nshards;             /* 1 .. XSHARD_MAX */
	/* Ring slots per ordered pair of shards, a power of two; 0 means
	 * XSHARD_RING_DEFAULT. */
	unsigned ring_size;
	const struct node_shard_spec *shards; /* [nshards] */
};

struct node {
	unsigned n; /* shards */
	struct xhub hub;
	struct shardset set;
	struct cmd_index cmds;
	struct shard *shards;        /* [n] */
	struct shard **ptrs;         /* [n]: the shardset's view */
	struct keyspace **keyspaces; /* [n] */
	atomic_bool stop;            /* node_stop() was called */
};

/* Builds the node of spec into n: the hub, the shardset, the command index
 * and every shard with its listeners, none armed yet. Returns 0, or -errno
 * (-EINVAL for a spec that is not one, -ENOMEM, or shard_init's error) with
 * nothing left built. */
int node_init(struct node *n, const struct node_spec *spec);
/* Arms shard id: accept on its listeners, and its timer (shard_start).
 * Called once per shard, on the thread that drives the shard's backend
 * (cairn-node arms each shard on its own thread). */
void node_start(struct node *n, unsigned id);
/* Asks the shard loops to stop, and nothing else. It sets a flag that
 * node_stopping() reads (release, acquire); a loop that checks it between
 * its steps ends at its next turn. It wakes no one: a parked shard sees
 * the flag when its park ends, at the latest after SHARD_PARK_NS, unless
 * the caller wakes its backend (main.c does). It closes no connection,
 * drains nothing and answers nothing still in flight. Any thread may call
 * it, any number of times. */
void node_stop(struct node *n);
bool node_stopping(const struct node *n);
/* Shard id of the node. */
struct shard *node_shard(struct node *n, unsigned id);
/* Frees every shard (their connections, keyspaces and messages), the
 * command index and the hub; asserts that every shard's account is empty
 * and every big-bulk reservation given back. Every shard loop must have
 * ended. The listeners and backends stay: the caller's to close and
 * destroy. */
void node_free(struct node *n);

#endif
