/* shard.h: a shard, and its step function.
 *
 * A shard owns a keyspace, the connections it accepted, its counters and its
 * copy of the configuration. Its backend drives it: shard_step() reaps a batch
 * of completions, parses and executes what arrived, submits replies and
 * re-arms, and returns whether it did any work. When a step did nothing, the
 * thread (or the simulator) calls shard_park(). Nothing in a shard is global;
 * everything it needs from outside arrives through `struct io` and the
 * read-only `struct node_info`. */
#ifndef CAIRN_SHARD_H
#define CAIRN_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include <stdatomic.h>

#include "base/config.h"
#include "base/hash.h"
#include "base/mem.h"
#include "base/stats.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "io/io.h"
#include "shard/xshard.h"

struct conn;
struct smsg;
struct txn;

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

/* user_data layout: op (8 bits) | generation (24) | slot (24). */
#define SHARD_UD(op, gen, slot)                                                                    \
	(((uint64_t)(op) << 48) | ((uint64_t)((gen)&0xffffffu) << 24) | ((slot)&0xffffffu))
#define SHARD_UD_OP(ud) ((unsigned)((ud) >> 48) & 0xffu)
#define SHARD_UD_GEN(ud) ((uint32_t)((ud) >> 24) & 0xffffffu)
#define SHARD_UD_SLOT(ud) ((uint32_t)(ud)&0xffffffu)

/* Listening sockets per shard (one per bind address). */
#define SHARD_LISTENERS_MAX 16
/* How long an idle shard parks before it looks again (the backstop for a
 * lost wake, never the normal path). */
#define SHARD_PARK_NS (50ull * 1000 * 1000)
/* Messages drained from the rings per step. */
#define SHARD_MSGS_MAX 256

/* All shards of a node, shared read-only once they run: a shard reaches
 * another only through the rings, or directly while it holds that shard's
 * lock (route.c). slot_shard maps a key's slot to its shard. */
struct shardset {
	unsigned n;
	struct shard **shards;
	struct xhub *hub;
	uint16_t slot_shard[HASH_SLOTS];
	/* What the shards share, so atomic: clients of the whole node (for
	 * maxclients), and bytes reserved for big bulks not yet received
	 * (bounded by bigbulk-reserve-max for the node). */
	atomic_uint clients;
	atomic_uint_least64_t bigbulk_reserved;
};

/* A request for a shard's lock, waiting its turn. */
struct lock_req {
	uint16_t coord; /* the coordinating shard */
	uint64_t txn;   /* its transaction */
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
	const struct cmd_index *cmds;

	struct mem mem; /* connections and their buffers */
	struct keyspace ks;
	struct stats st;
	struct errstats es;
	struct cmd_stat cstat[CMDID_COUNT];

	/* Connection table: slot -> conn; gens survive frees so that a stale
	 * completion is recognised. */
	struct conn **conns;
	uint32_t *gens;
	uint32_t conn_cap, nconns;
	uint32_t *free_slots;
	uint32_t nfree;
	struct conn *pending; /* connections with a submission to make */
	uint64_t next_client_id;

	int listeners[SHARD_LISTENERS_MAX];
	unsigned nlisteners;
	bool accept_armed[SHARD_LISTENERS_MAX];
	bool accept_backoff; /* an accept failed: wait for the timer to re-arm */
	bool timer_armed;

	int64_t now_ms;
	uint64_t now_ns; /* the last clock reading (shard_clock) */
	int64_t lastsave_ms;
	struct shard_inst inst;
	uint64_t steps;

	/* Multi-shard state (route.c). */
	struct shardset *set; /* read-only but for its atomic client count */
	struct xshard x;
	/* The lock: held by a transaction (coordinated by lock.coord) or
	 * free; waiting requests in FIFO order. While it is held, the shard
	 * is frozen: it defers every completion and message except lock
	 * traffic, so the holder may touch its keyspace, connections and
	 * counters directly. */
	bool locked;
	struct lock_req lock;
	struct lock_req *lockq;
	uint32_t lockq_n, lockq_cap;
	struct io_cqe *dcqe; /* deferred completions */
	uint32_t dcqe_n, dcqe_cap;
	struct smsg *dmsg_head, *dmsg_tail; /* deferred messages */
	struct txn *txns;                   /* transactions this shard coordinates */
	uint64_t next_txn;
	struct conn *resume;                   /* connections to resume once not frozen */
	atomic_uint_least64_t pub_used_memory; /* published each tick */
};

/* Sets up shard id of set (whose shards[id] must be sh) accepting on the
 * given listeners (none is fine). Returns 0 or -errno. */
int shard_init(struct shard *sh, struct shardset *set, unsigned id, struct io *io,
	       const struct config *cfg, const struct node_info *info, const struct cmd_index *cmds,
	       const int *listeners, unsigned nlisteners);
/* Fills a shardset for n shards (slot ranges of equal size) around a hub. */
void shardset_init(struct shardset *set, unsigned n, struct shard **shards, struct xhub *hub);
/* The shard that owns key. */
unsigned shardset_owner(const struct shardset *set, const char *key, size_t klen);
/* Total used memory of the node: exact for sh, published values for the
 * others (at most one timer tick old). */
uint64_t shard_node_memory(const struct shard *sh);
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

/* Applies side effects of a configuration change (CONFIG SET): grows the
 * connection table when maxclients rises. */
void shard_config_applied(struct shard *sh);
/* Handles one completion (shard_step, or deferred ones in route.c). */
void shard_complete(struct shard *sh, const struct io_cqe *cqe);
/* Refreshes sh->now_ms from the backend clock (and the keyspace's). */
void shard_clock(struct shard *sh);
/* Queues c for conn_service() at the end of the step. */
void shard_pend(struct shard *sh, struct conn *c);
/* A connection by client id, or NULL. */
struct conn *shard_conn_by_id(struct shard *sh, uint64_t id);
/* Total memory of the shard (connections and keyspace). */
uint64_t shard_used_memory(const struct shard *sh);
/* Logs at level if the configured level allows. */
#define shard_log(sh, level, ...) log_at((sh)->io, (sh)->cfg.loglevel, (level), __VA_ARGS__)

#include "base/log.h"

#endif
