/* topology.h: a shard's place in the cluster (cluster-enabled yes).
 *
 * Shard 0 owns the cluster state (cluster/state.h) and runs the bus
 * (bus.h); every shard routes by its own copy of the state's view
 * (cluster/redirect.h), so that no routing decision takes a lock. After
 * anything that may change the state (a bus message, the cron, a CLUSTER
 * command), its owner writes nodes.conf when the state asks (through
 * io.h's atomic io_file_replace) and, when what routing reads has changed,
 * builds a new view: shard 0 sends every other shard a copy (MSG_VIEW,
 * taken when that shard next runs); a CLUSTER command, which holds every
 * shard, installs it in each at once, so its reply is the node's truth.
 *
 * The node builder loads nodes.conf before the shards start
 * (topology_load: a new node with a random id when there is none; a
 * corrupt file stops the start, as in Redis) and gives each shard the
 * first view. Memory: the state and the bus are shard 0's; each view copy
 * is its shard's. */
#ifndef CAIRN_SHARD_TOPOLOGY_H
#define CAIRN_SHARD_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/redirect.h"
#include "shard/bus.h"

struct cluster_state;
struct cluster_view;
struct config;
struct io;
struct mem;
struct xmsg;
struct xshard;

struct topology {
	bool enabled;
	struct io *io;
	struct mem *mem;
	const struct config *cfg;
	struct xshard *x;
	unsigned self, nshards;
	struct cluster_view *view; /* this shard's copy (NULL: none yet) */
	/* Shard 0's: the state and its bus (st NULL elsewhere). */
	struct cluster_state *st;
	struct bus bus;
	uint64_t version;   /* the latest view built */
	uint64_t checked;   /* the view version this shard's clients were checked against */
	bool full_coverage; /* cluster-require-full-coverage, as last applied */
	char err[256];      /* why the last save failed, or "" */
	/* Shard 0: the slots imported atomically (a bitmap, shard/asm.h),
	 * marked hidden in each view it builds. */
	uint8_t hidden[REDIRECT_SLOTS / 8];
};

/* Reads nodes.conf (cfg's cluster-config-file) into a new state charged to
 * mem: the file's node, or a new one with a random id from seed when there
 * is no file. NULL on a corrupt or unreadable file, the reason in err. */
struct cluster_state *topology_load(struct io *io, struct mem *mem, const struct config *cfg,
				    uint64_t seed, uint64_t now_ms, char *err, size_t errcap);

/* Sets up shard self's part; st is given to shard 0 only (NULL for the
 * others), which owns it from now on. With cluster-enabled no, nothing is
 * done and every other call is a no-op. */
void topology_init(struct topology *t, const struct config *cfg, struct io *io, struct mem *mem,
		   struct xshard *x, unsigned self, unsigned nshards, struct cluster_state *st);
void topology_free(struct topology *t);
/* Installs a copy of v as this shard's view. */
void topology_install(struct topology *t, const struct cluster_view *v);
/* Shard 0: the state may have changed. Saves nodes.conf if it asks and,
 * when what routing reads changed (known when the state asked for a save,
 * its ok changed, or cluster-require-full-coverage did; checked by
 * building a view anyway when force), builds a new view: installs it here
 * and returns it (the caller sends it or installs it in the others), else
 * returns NULL. The caller frees it from t->mem (redirect_view_free). */
struct cluster_view *topology_settle(struct topology *t, bool force);
/* Shard 0: sends a view to every other shard. */
void topology_send(struct topology *t, const struct cluster_view *v);
/* A MSG_VIEW from shard 0: installed, then freed (holder's account). */
void topology_message(struct topology *t, struct xmsg *m);
void topology_drop_message(struct mem *mem, struct xmsg *m);

#endif
