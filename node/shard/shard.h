/* shard.h: a shard, and its step function.
 *
 * A shard owns a keyspace, the connections it accepted, its counters and its
 * copy of the configuration. Its backend drives it: shard_step() reaps a batch
 * of completions, parses and executes what arrived, submits replies and
 * re-arms, and returns whether it did any work. When a step did nothing, the
 * thread (or the simulator) calls shard_park(). Nothing in a shard is global;
 * everything it needs from outside arrives through `struct io` and the
 * read-only `struct node_info`.
 *
 * The shard is the one module that holds the control flow (shard.c): it owns
 * its parts (the connection table, the connections' host, exec, route, lock,
 * the rings) and applies what they report. None of them calls back into it.
 * Server commands (server/) read a shard's state through this header. */
#ifndef CAIRN_SHARD_H
#define CAIRN_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include <stdatomic.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/latmon.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/stats.h"
#include "cmd/cmd.h"
#include "shard/slowlog.h"
#include "data/keyspace.h"
#include "io/io.h"
#include "shard/blocked.h"
#include "shard/caching.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/exec.h"
#include "shard/lock.h"
#include "shard/asm.h"
#include "shard/migrate.h"
#include "shard/monitor.h"
#include "shard/notify.h"
#include "shard/pubsub.h"
#include "shard/route.h"
#include "shard/topology.h"
#include "shard/xshard.h"

/* Facts about the process, fixed at start-up, shared read-only. */
struct node_info {
	char run_id[41];
	char os[128];
	char executable[512];
	char config_file[512];
	char io_name[16];
	int pid;
	int64_t start_ms;
	unsigned nshards;
};

/* Listening sockets per shard (one per bind address and role). */
#define SHARD_LISTENERS_MAX 16

/* What a listener is for; the accept path tells them apart by the role its
 * completion carries (shard/ud.h). */
enum shard_role {
	SHARD_ROLE_CLIENT = 0, /* the client port: connections speak RESP */
	SHARD_ROLE_BUS,        /* the cluster bus port: there is no cluster bus
				* yet, so a connection accepted here is closed
				* at once (logged at verbose) */
	SHARD_ROLE_COUNT
};

struct shard_listener {
	int sock; /* a listening socket handle of the shard's backend */
	enum shard_role role;
};
/* How long an idle shard parks before it looks again (the backstop for a
 * lost wake, never the normal path). */
#define SHARD_PARK_NS (50ull * 1000 * 1000)
/* Messages drained from the rings per step. */
#define SHARD_MSGS_MAX 256
/* Extra drains a step makes, at most, before granting a lock request it
 * has seen (shard.c's settle_locks). */
#define SHARD_GRANT_DRAINS 4

/* All shards of a node, shared read-only once they run: a shard reaches
 * another only through the rings, or directly while it holds that shard's
 * lock (lock.h). slot_shard maps a key's slot to its shard. */
struct shardset {
	unsigned n;
	struct shard **shards;
	struct keyspace **keyspaces; /* [n]: each shard's */
	struct xhub *hub;
	uint16_t slot_shard[HASH_SLOTS];
	/* What the shards share, so atomic: clients of the whole node (for
	 * maxclients), and bytes reserved for big bulks not yet received
	 * (bounded by bigbulk-reserve-max for the node). */
	atomic_uint clients;
	atomic_uint_least64_t bigbulk_reserved;
	atomic_uint_least64_t slowlog_ids; /* SLOWLOG's next entry id */
	atomic_uint monitors;              /* MONITOR clients of the node */
	atomic_uint_least64_t notify_seq;  /* keyspace event queues sent (notify.h) */
	atomic_uint track_bcast;           /* CLIENT TRACKING BCAST clients (caching.h) */
};

/* Instantaneous metrics, sampled each timer tick as Redis does. */
#define SHARD_INST_SAMPLES 16
struct shard_inst {
	int64_t last_ms;
	uint64_t last_ops, last_in, last_out;
	uint64_t ops[SHARD_INST_SAMPLES], in[SHARD_INST_SAMPLES], out[SHARD_INST_SAMPLES];
	unsigned idx;
};

struct shard {
	unsigned id;
	struct io *io;
	struct config cfg;
	const struct node_info *info;
	struct shardset *set; /* read-only but for its atomics */

	struct mem mem; /* connections, their buffers, messages */
	struct keyspace ks;
	struct stats st;
	struct errstats es;
	struct slowlog slowlog;
	struct latmon latmon; /* LATENCY LATEST, HISTORY, ... */
	struct cmd_stat cstat[CMDID_COUNT];
	struct clock clock;
	struct cmd_env env; /* what every request run here sees */

	struct conns conns;   /* the connection table */
	struct conn_host ch;  /* what the connections see of the shard */
	struct pubsub ps;     /* its connections' subscriptions */
	struct notify notes;  /* its keyspace's events, to publish */
	struct monitor mon;   /* its MONITOR clients, and lines for the node's */
	struct caching cc;    /* its tracking clients, invalidations to deliver */
	struct topology topo; /* cluster-enabled: its view; shard 0's state and bus */
	struct exec exec;
	struct route route;
	struct lock lock;
	struct xshard x;
	struct blocked_host bh; /* clients blocked by a blocking pop */
	struct migrate mig;     /* MIGRATE's jobs and cached sockets */
	struct asm_set am;      /* shard 0: atomic slot migration's jobs (asm.h) */

	/* While frozen (lock_held), completions and messages other than lock
	 * traffic wait here, in order. */
	struct io_cqe *dcqe;
	uint32_t dcqe_n, dcqe_cap;
	struct xmsg *dmsg_head, *dmsg_tail;
	/* A drained batch of messages is being applied: no lock is granted
	 * until all of it has been (lock_settle). */
	bool batching;

	struct shard_listener listeners[SHARD_LISTENERS_MAX];
	unsigned nlisteners;
	/* Sockets the shard closes without serving them (refused, or from the
	 * bus port) whose io_close found the queue full: submitted again each
	 * step, since io.h forbids dropping an operation. */
	int *drop;
	uint32_t drop_n, drop_cap;
	bool accept_armed[SHARD_LISTENERS_MAX];
	bool accept_backoff; /* an accept failed: wait for the timer to re-arm */
	bool timer_armed;

	int64_t lastsave_ms;
	struct shard_inst inst;
	uint64_t steps;
	/* Memory, published each tick, and each step under maxmemory: the
	 * total, and the keyspace's part. */
	atomic_uint_least64_t pub_used_memory;
	atomic_uint_least64_t pub_ks_memory;
	/* Under maxmemory: keyspace bytes over the share that the policy
	 * cannot evict here (a volatile policy and no key with a TTL), which
	 * the other shards make room for; and the keys the policy may evict. */
	atomic_uint_least64_t pub_stuck, pub_candidates;
	/* Under maxmemory, as of this step: the others' published total, and
	 * the bytes this shard's keyspace may hold (shard.c). */
	uint64_t others_used, ks_share;
	bool evict_more;        /* over its share after a bounded step: go on */
	bool expire_more;       /* active expiry is behind: a step each loop turn */
	uint64_t expire_budget; /* keys that step may examine */
	uint64_t trim_mark;     /* peak memory since the allocator was last trimmed */
};

/* Sets up shard id of set (whose shards[id] must be sh) accepting on the
 * given listeners (none is fine; they are copied). Returns 0 or -errno
 * (-EINVAL: too many listeners, or a role that is not one). Node builders
 * call it (shard/node.h); nothing else should. */
int shard_init(struct shard *sh, struct shardset *set, unsigned id, struct io *io,
	       const struct config *cfg, const struct node_info *info, const struct cmd_index *cmds,
	       const struct shard_listener *listeners, unsigned nlisteners);
/* Fills a shardset for n shards (slot ranges of equal size) around a hub. */
void shardset_init(struct shardset *set, unsigned n, struct shard **shards,
		   struct keyspace **keyspaces, struct xhub *hub);
/* The shard that owns key. */
unsigned shardset_owner(const struct shardset *set, const char *key, size_t klen);
void shard_free(struct shard *sh);
/* Arms accept and the timer; logs readiness. */
void shard_start(struct shard *sh);
/* One turn of the loop; returns true if it did work. */
bool shard_step(struct shard *sh);
/* Waits in the backend for work (a completion or a wake) or timeout_ns:
 * shard_park_begin() (the parked flag, and a last look at the rings; false
 * if there is work after all), io_wait() if it said so, shard_park_end().
 * The simulator, whose io_wait cannot block, calls the two halves itself
 * around its own parking. */
void shard_park(struct shard *sh, uint64_t timeout_ns);
bool shard_park_begin(struct shard *sh);
void shard_park_end(struct shard *sh);
/* Whether nothing of sh's is between shards: no message in its rings or
 * backlogs, none deferred, no lock held or asked for, no span it
 * coordinates. When every shard is quiet, every forwarded request has run. */
bool shard_quiet(const struct shard *sh);

/* Applies side effects of a configuration change (CONFIG SET): grows the
 * connection table when maxclients rises. */
void shard_config_applied(struct shard *sh);
/* A connection by client id, or NULL. */
struct conn *shard_conn_by_id(struct shard *sh, uint64_t id);
/* Total memory of the shard (connections, messages and keyspace). */
uint64_t shard_used_memory(const struct shard *sh);
/* The shard a server command runs on (cmd_ctx.env->host), and the i-th of
 * the cmd_nshards(c) shards it may touch: all of them while it runs with
 * them locked, else just its own. */
struct shard *shard_of(const struct cmd_ctx *c);
struct shard *shard_at(const struct cmd_ctx *c, unsigned i);
/* Logs at level if the configured level allows. */
#define shard_log(sh, level, ...) log_at((sh)->io, (sh)->cfg.loglevel, (level), __VA_ARGS__)

#endif
