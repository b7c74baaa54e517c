/* world.h: one simulated run, and its record.
 *
 * A world holds the simulated nodes (each with its shards, exactly the
 * node/ code cairn-node runs), a simulated network of sockets between them
 * and simulated clients, one clock, and the fault plan. One thread runs
 * everything: sched.c builds the world and schedules it.
 *
 * This header is what every sim module shares: the world's layout, its
 * record (events and the trace hash, failures, fault draws: world.c), and
 * the simulated network and backend (io_sim.c). It names clients and the
 * model only as opaque types, and world.c includes neither, so clients and
 * the model may include this header without a cycle.
 *
 * Everything random comes from the run's seed through rng forks; nothing
 * depends on addresses or the host clock, so a seed replays exactly, and a
 * 64-bit hash over every scheduling decision, completion and reply proves
 * it (trace_hash). */
#ifndef CAIRN_SIM_WORLD_H
#define CAIRN_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "io/io.h"
#include "rng.h"

struct shard;
struct client;
struct model;
struct simnode;
struct simcluster;
struct ccl;
struct cwork;
struct busframes;

/* Nodes in one world at most. */
#define SIM_NODES_MAX 8

/* Fault classes. Each run draws a probability per class from a range that
 * includes 0 (swarm testing); after the heal tick every one is 0. */
enum fault {
	F_SHORT_WRITE = 0, /* a writev completes with a prefix */
	F_SHORT_READ,      /* a recv delivers fewer bytes than are there */
	F_ENOBUFS,         /* a recv ends with -ENOBUFS, buffers or not */
	F_SHUFFLE,         /* a batch of completions is interleaved */
	F_RESET,           /* a client resets its connection mid-request */
	F_EMFILE,          /* an accept fails with -EMFILE */
	F_LOST_WAKE,       /* a cross-shard wake is never delivered */
	F_LATE_TIMER,      /* a timer fires late */
	F_SQ_FULL,         /* a submission finds the queue full (-EBUSY) */
	/* Connections between nodes (io_connect). Drawn only on their paths,
	 * so that runs without a CONNECT draw exactly as before. */
	F_CONN_REFUSED, /* a connect to a listening address is refused */
	F_CONN_TIMEOUT, /* a connect gets no answer: -ETIMEDOUT at its timeout */
	F_CONN_RESET,   /* an established connection between nodes is reset */
	F_COUNT
};

extern const char *const fault_names[F_COUNT];

/* Exit codes and names of failure kinds. */
enum fail_kind { FAIL_NONE = 0, FAIL_CRASH, FAIL_CORRECTNESS, FAIL_LIVENESS };
#define SIM_EXIT_CRASH 127
#define SIM_EXIT_LIVENESS 128
#define SIM_EXIT_CORRECTNESS 129

struct sim_config {
	uint64_t seed;
	uint64_t ticks;  /* scheduler steps of the fault phase */
	unsigned nodes;  /* each its own database, with its own clients */
	unsigned shards; /* per node */
	unsigned clients;
	unsigned ring_size;    /* cross-shard ring slots */
	unsigned bufs;         /* provided receive buffers per shard */
	unsigned pipeline_max; /* requests a client keeps in flight */
	unsigned keys;         /* keys each client owns */
	/* The nodes' hash-max-listpack-entries and -value: drawn, so that
	 * small hashes cross into the table encoding, under faults, in many
	 * runs, and not only past the defaults (512 fields, 64 bytes). */
	unsigned hash_lp_entries, hash_lp_value;
	/* The nodes' set-max-intset-entries, set-max-listpack-entries and
	 * -value: drawn as the hash ones, so that sets move between the
	 * intset, the listpack and the table under faults. */
	unsigned set_is_entries, set_lp_entries, set_lp_value;
	/* lazyfree-lazy-user-del: DEL frees a big value in the background as
	 * UNLINK does (0 or 1). */
	unsigned lazy_user_del;
	/* The nodes' list-max-listpack-size (entries per node when positive,
	 * -1 to -5 for 4 to 64 KB) and list-compress-depth: drawn small, so
	 * that lists turn from listpack into quicklist, and their inner nodes
	 * are compressed, under faults in most runs. */
	int list_lp_size;
	unsigned list_compress;
	/* The nodes' zset-max-listpack-entries and -value (drawn small, so
	 * that sorted sets turn from listpack into a tree, and back through
	 * ZRANGESTORE and the STOREs, under faults in most runs) and
	 * hll-sparse-max-bytes (drawn small in half the runs, so that
	 * sketches turn dense). */
	unsigned zset_lp_entries, zset_lp_value, hll_sparse;
	/* maxmemory (KB; 0: none) and maxmemory-policy (an enum config_policy)
	 * of the nodes: in some runs a maxmemory so small that keys are
	 * evicted all the time, under a drawn policy. */
	unsigned maxmemory_kb, policy;
	unsigned backpressure; /* client-output-backpressure in bytes; 0: the default */
	/* A cluster run (cluster.h): the nodes form one cluster, the harness
	 * forms it, and each node's clients use keys of that node's slots. */
	unsigned cluster;
	/* Cluster runs: the percent chance a move after a look where all
	 * agreed begins, and the percent of moves that are atomic (CLUSTER
	 * MIGRATESLOTS); -1: drawn from the seed (cluster.c). */
	int move_pct, atomic_pct;
	/* Whether atomic moves take slots holding the cluster clients' keys
	 * too (else only empty slots: such a move goes the legacy way). Off
	 * by default: the node's atomic migration loses or serves stale
	 * writes under load (README, Not done yet). */
	unsigned atomic_keys;
	/* The nodes of a cluster run, drawn from the seed whether it is one
	 * or not: --set cluster=1 runs this many unless nodes is set. */
	unsigned cluster_nodes;
	double p[F_COUNT];
	unsigned trace; /* 0: none; 1: keep the last events for a
				* failure report; 2: also print every event */
	char watch[64]; /* print requests naming this, and their replies */
};

/* What happens in a run: each event goes into the trace hash. */
enum ev {
	EV_SHARD = 0, /* a: shard; the scheduler ran one step of it */
	EV_CLIENT,    /* a: client; the scheduler ran one step of it */
	EV_CQE,       /* a: op << 32 | shard; b: (uint32)res << 16 | flags */
	EV_ACCEPT,    /* a: shard, b: socket */
	EV_CONNECT,   /* a: shard, b: socket */
	EV_CLOSE,     /* a: shard, b: socket; the node closed it */
	EV_HANGUP,    /* a: shard, b: socket; the client closed it */
	EV_RESET,     /* a: shard, b: socket; the client reset it */
	EV_WAKE,      /* a: from shard, b: to shard */
	EV_WAKE_LOST, /* a: from shard, b: to shard */
	EV_SEND,      /* a: client, b: bytes of one request */
	EV_REPLY,     /* a: client, b: reply type << 32 | length */
	EV_FAULT,     /* a: fault class */
	EV_HEAL,
	EV_FAIL,         /* a: failure kind */
	EV_NODE_CONNECT, /* a: shard, b: (uint32) res; a CONNECT completes */
	EV_NODE_RESET,   /* a: shard, b: socket; a connection between nodes resets */
	EV_COUNT
};

/* The last events of a run, kept with --trace for the failure report. */
#define TRACE_RING 512
struct trace_ev {
	uint64_t tick, now, a, b;
	enum ev what;
};

/* Bytes in flight one way on a connection. */
struct bytes {
	char *p;
	size_t len, cap, off; /* off: bytes already consumed from p */
};

enum sock_kind { SOCK_FREE = 0, SOCK_LISTENER, SOCK_CONN };

/* Addresses: node i listens on 10.0.0.<i+1>, for clients on SIM_PORT; a
 * socket's local port, when it is not a listener's, is SIM_EPHEMERAL plus
 * its handle. */
#define SIM_PORT 6379
#define SIM_EPHEMERAL 40000
#define SIM_IP_MAX 46 /* INET6_ADDRSTRLEN */

/* The run's wall clock starts here (2026-01-01, in ns since the epoch): the
 * node's io_now_ns() is this plus the simulated time. */
#define SIM_EPOCH_NS 1767225600000000000ull

/* The node's millisecond clock at simulated time t. */
static inline int64_t world_ms(uint64_t t)
{
	return (int64_t)((SIM_EPOCH_NS + t) / 1000000u);
}

/* A socket as the node sees it (its handle is the index in world.socks),
 * joined to the client at the other end, or, for a connection one shard
 * opened with io_connect, to the socket another shard accepted (peer). */
struct sock {
	uint8_t kind;
	uint64_t conn_id;  /* unique per connection of a run */
	bool open;         /* not yet closed by the node */
	bool closing;      /* io_close submitted, completion not delivered */
	bool connecting;   /* its CONNECT has not completed: not the core's yet */
	uint16_t shard;    /* owner shard (an index of world.ios) */
	struct client *cl; /* the peer, or NULL once it has gone */
	int peer;          /* between shards: the other end, or -1 (none, or gone) */
	char ip[SIM_IP_MAX], peer_ip[SIM_IP_MAX];
	uint16_t port, peer_port; /* with ip, peer_ip: io_sock_name */
	struct bytes in;          /* peer -> node, not yet received */
	struct bytes out;         /* node -> client, not yet read (between
				   * shards, writes go to the peer's in) */
	bool peer_eof;            /* the client closed: end of file after in */
	bool reset;               /* the client reset: -ECONNRESET / -EPIPE */
	bool eof_nonempty;        /* the first 0-byte read at EOF was flagged */
	bool zero_posted;         /* the last recv completion with a result was a 0 */
	bool recv_armed;
	uint64_t recv_ud;
	bool writing;
	uint64_t write_ud;
	const struct iovec *iov;
	int iovcnt;
	uint64_t close_ud;
	/* Listener: armed accept, and connections waiting for it. */
	bool accept_armed;
	uint64_t accept_ud;
	int *backlog;
	unsigned backlog_n, backlog_cap;
	/* A bus connection's frames as its writes pass (cluster runs with
	 * bus_dup_p: io_sim.c), or NULL. */
	struct busframes *bf;
	bool dirty; /* on its io's dirty list */
	int next_dirty;
};

struct sim_timer {
	uint64_t deadline;
	uint64_t ud;
};

/* A CONNECT not completed yet: it completes with res at due. */
struct sim_connect {
	uint64_t due;
	uint64_t ud;
	int32_t res; /* a socket handle (connecting until then), or -errno */
};

/* A file of the simulated file system (io_file_read, io_file_replace):
 * each node has its own, as two processes on two machines would. */
struct sim_file {
	unsigned node;
	char *path; /* a C string */
	char *data;
	size_t len;
};

/* The chance that a file operation fails (-EIO, -ENOSPC) before the heal
 * tick. Drawn from the fault stream on the file paths only, so that runs
 * without a file operation draw as before. */
#define SIM_FILE_FAULT_P 0.1

/* A shard's backend: the struct io the core holds. */
struct io {
	struct world *w;
	unsigned shard; /* its index in world.ios, over every node */
	unsigned node;
	unsigned base;  /* the index in world.ios of its node's shard 0: the
			* core numbers shards within its node (io_wake) */
	struct rng rng; /* the core's randomness (io_random_u64) */
	struct io_cqe *cq;
	unsigned cq_n, cq_cap;
	char *bufs;
	uint8_t *lent; /* per buffer: 1 while the core holds it */
	uint16_t *free_bufs;
	unsigned nfree, nbufs;
	struct sim_timer *timers;
	unsigned ntimers, timers_cap;
	struct sim_connect *connects; /* in submission order */
	unsigned nconnects, connects_cap;
	int dirty_head;   /* sockets with kernel work, or -1 */
	int listener;     /* this shard's listening socket */
	int bus_listener; /* cluster runs, shard 0 of a node: the bus's; else -1 */
	bool parked, woken;
	bool in_park; /* between shard_park_begin and shard_park_end */
	bool idle;    /* the last loop turn found no work: park next */
	uint64_t park_deadline;
	bool lost_wake; /* a wake to this shard was dropped since it parked */
};

struct world {
	struct sim_config cfg;
	struct rng root; /* the seed's stream, which the others fork from */
	struct rng sched, faults, net;
	uint64_t now; /* ns since the epoch of the run */
	uint64_t tick;
	uint64_t heal_tick; /* faults stop here */
	bool healed;
	bool building; /* sched_init is building the nodes: no file faults */
	uint64_t events;
	uint64_t hash;         /* trace hash */
	struct trace_ev *ring; /* with trace: the last TRACE_RING events */
	enum fail_kind fail;
	uint64_t fail_tick;
	char fail_detail[512];
	/* The nodes: node i's shards are [i * cfg.shards, (i + 1) * cfg.shards)
	 * of shards and ios. */
	unsigned nnodes;
	struct simnode **nodes; /* sched.c's */
	unsigned nshards;       /* of every node */
	struct shard **shards;
	struct io *ios;
	/* Sockets. */
	uint64_t next_conn_id;
	struct sock *socks;
	unsigned nsocks, socks_cap;
	/* Cluster runs' bus faults (cluster.c draws them): a partition cuts
	 * every connection between nodes of two groups and refuses connects
	 * across, until it heals; bytes between nodes wait a kernel step at
	 * bus_delay_p each time (from their own stream, busr). */
	bool partitioned;
	uint8_t part_group[SIM_NODES_MAX];
	double bus_delay_p;
	/* ...and, at a frame boundary of a bus connection, at bus_dup_p, a
	 * frame sent earlier on it arrives again (io_sim.c's bus_put). */
	double bus_dup_p;
	/* Crashes (cluster.c asks, sched.c does them): the node that may
	 * crash (no node model's client is bound to it), or -1; a crash asked
	 * for (node + 1, or 0), and the crashes done. */
	int crash_node;
	unsigned crash_req, crashes;
	/* Clients of the nodes' models are bound to nodes [0, client_nodes):
	 * client i to node i % client_nodes. */
	unsigned client_nodes;
	uint64_t bus_dups;
	struct rng busr;
	/* The simulated file system. */
	struct sim_file *files;
	unsigned nfiles;
	/* Clients, each bound to node (client id % client_nodes), and the checker of
	 * each node: nodes share nothing, not even their shared keys. */
	struct client **clients;
	unsigned nclients;
	struct model **models;      /* [nnodes] */
	struct simcluster *cluster; /* cluster runs: the harness (cluster.h) */
	/* Cluster runs: the clients that cross nodes (ccl.h) and their keys. */
	struct ccl **ccls;
	unsigned nccls;
	struct cwork *cwork;
	/* Called by world_crash to report and end the run (the command line
	 * prints the failure line and exits). */
	void (*on_crash)(struct world *w);
};

/* Starts the record of a run of cfg: its random streams, the trace hash
 * and (with trace) the event ring. The world holds nothing else yet:
 * sched_init() builds the rest. Returns 0 or -1. */
int world_init(struct world *w, const struct sim_config *cfg);
/* Frees the record and the sockets, once sched_free() has freed the
 * nodes, the clients and the model. */
void world_free(struct world *w);

/* An event: it goes into the trace hash (and, with --trace, is kept or
 * printed). */
void world_event(struct world *w, enum ev what, uint64_t a, uint64_t b);
/* Writes one event readably. */
void world_event_print(const struct trace_ev *e, FILE *f);
/* With --trace: prints the last events kept, oldest first. */
void world_trace_dump(const struct world *w, FILE *f);
/* A broken contract or a crash: reports the failure and ends the run at
 * once (the hook set by the command line prints and exits). */
void world_crash(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));
/* Allocation for the simulator's own structures: zeroed (sim_calloc) or
 * resized (sim_realloc); running out of memory aborts, as in the node. */
void *sim_calloc(size_t n);
void *sim_realloc(void *p, size_t n);
/* Records the first failure (later ones are ignored). */
void world_fail(struct world *w, enum fail_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether a fault of class f happens now: one draw from the fault stream,
 * always, so that classes switched off keep the rest of the run aligned. */
bool world_fault(struct world *w, enum fault f);

/* The network, as the clients see it (io_sim.c). */
/* A connection from client cl to node (to one of its shards, at random):
 * a socket, or -1. */
int net_connect(struct world *w, struct client *cl, unsigned node);
void net_send(struct world *w, int s, const char *p, size_t n);
size_t net_recv(struct world *w, int s, char *out, size_t max, bool *eof);
void net_close(struct world *w, int s, bool reset);
/* The connection id of socket s (unique in the run, unlike s). */
uint64_t net_conn_id(struct world *w, int s);
/* Whether the node has closed connection id, or it is gone. */
bool net_conn_done(struct world *w, uint64_t id);
/* Whether the client at s has bytes to read, or the end of the stream. */
bool net_readable(struct world *w, int s);
/* Whether a partition cuts nodes a and b apart now. */
static inline bool net_cut(const struct world *w, unsigned a, unsigned b)
{
	return w->partitioned && w->part_group[a] != w->part_group[b];
}
/* Frees what a socket kept of its bus frames (io_sim.c). */
void net_sock_free_frames(struct sock *k);
/* Marks a socket as having work for its shard's kernel. */
void net_dirty(struct world *w, int s);

/* The backend, as the scheduler sees it (io_sim.c). */
/* Shard `shard` of world.ios, of node `node`, whose shard 0 is at base:
 * its backend, and its listener at the node's address. */
void sim_io_init(struct world *w, struct io *io, unsigned shard, unsigned node, unsigned base);
void sim_io_free(struct io *io);
/* Node crashes: every socket of its shards goes (a peer node's end is
 * reset; a client's end reads to the end, then end of file), listeners
 * too. The caller frees the node and its backends, then builds it again. */
void sim_node_down(struct world *w, unsigned node);
/* Whether the shard should be scheduled: it is not parked, or it has
 * completions to deliver, or a wake or its park deadline has come. */
bool sim_io_runnable(struct io *io);
/* The earliest time at which a parked shard becomes runnable on its own
 * (a timer or its park deadline), or UINT64_MAX. */
uint64_t sim_io_next_time(struct io *io);
/* Prints the state of every shard's backend and every connection. */
void sim_io_dump(struct world *w, FILE *f);

#endif
