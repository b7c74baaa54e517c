/* state.h: one node's view of the cluster, as pure functions.
 *
 * The state is the node table (myself included), currentEpoch, the owner of
 * each of the 16384 slots, the per-slot migrating and importing targets, and
 * what the caller must do next (save nodes.conf). It makes no I/O: the caller
 * (the bus, the CLUSTER commands, the simulator) passes the time, the
 * messages and the random seed in, and performs the links and the writes.
 *
 * Nodes are named by their index in the table; an index is reused once its
 * node is deleted, so a holder that may outlive the node (a link) keeps the
 * node's generation too (cluster_node_live()).
 *
 * Redis's rules, from 7.0.15's cluster.c: a MEET from an unknown node adds
 * it as a handshake node with a random id, renamed when its first PONG on
 * our link reveals its real id; gossip about an unknown node starts a
 * handshake to it (transitive membership); a slot claim with a higher config
 * epoch wins, one with an older epoch is ignored and answered with an
 * UPDATE; two masters with the same config epoch: the one with the smaller
 * id takes currentEpoch+1. A node that stops claiming a slot it owned in our
 * view loses it here at once (Redis keeps the binding until another claim
 * comes). Losing every slot makes myself no replica: replication and
 * failover come later.
 *
 * Slot sets travel with a version: a PING carries the sender's full set until
 * the peer's PONG acknowledges that version, then nothing until it changes.
 * The receiver also applies deltas (added and removed ranges over the
 * version it holds; a delta over another version is ignored, so the
 * acknowledgement asks for the full set again); the builder here sends full
 * sets only, which cost little while slots are a few ranges per node. */
#ifndef CAIRN_CLUSTER_STATE_H
#define CAIRN_CLUSTER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/bus_msg.h"

struct mem;

#define CLUSTER_SLOTS BUS_SLOTS
/* Nodes one node knows, handshakes included. Past this, gossip about new
 * nodes and MEET are ignored. */
#define CLUSTER_NODES_MAX 2048
#define CLUSTER_NONE 0xFFFF
/* FORGET keeps an id out of gossip this long (Redis's blacklist), for at most
 * this many ids at once (the oldest goes first). */
#define CLUSTER_BLACKLIST_TTL_MS 60000
#define CLUSTER_BLACKLIST_MAX 64
/* Epochs above this in a message make the message ignored, so currentEpoch+1
 * can never wrap. */
#define CLUSTER_EPOCH_MAX (UINT64_MAX / 2)
#define CLUSTER_NODE_TIMEOUT_DEFAULT 15000
/* An error text (without "ERR ") fits in this. */
#define CLUSTER_ERR_MAX 256

/* What the caller must do: write nodes.conf (SAVE), and fsync it (FSYNC). */
enum { CLUSTER_TODO_SAVE = 1, CLUSTER_TODO_FSYNC = 2 };

/* The caller's outbound link to a node. */
enum cluster_link { CLUSTER_LINK_NONE = 0, CLUSTER_LINK_CONNECTING, CLUSTER_LINK_UP };

struct cluster_node {
	char id[BUS_ID_LEN + 1];
	char ip[BUS_IP_MAX + 1];
	uint16_t port, bus_port;
	uint32_t flags; /* CLUSTER_NODE_* */
	uint32_t gen;
	uint64_t config_epoch;
	uint64_t ping_sent_ms, pong_received_ms, ctime_ms;
	uint64_t data_received_ms; /* the last message it sent us, on any link */
	uint64_t slots_version;    /* the version of its slot set we applied */
	uint64_t acked_my_slots;   /* the version of my slot set it has */
	uint32_t numslots;
	uint8_t link; /* enum cluster_link, the caller's */
};

struct cluster_blacklisted {
	char id[BUS_ID_LEN + 1];
	uint64_t expire_ms;
};

struct cluster_state {
	struct mem *mem;
	uint64_t rng[4];
	uint64_t node_timeout_ms;
	bool require_full_coverage;
	bool ok; /* cluster_state:ok */
	uint16_t myself;
	uint32_t nnodes;
	uint32_t gen_next;
	uint32_t todo;
	uint64_t current_epoch, last_vote_epoch;
	uint64_t my_slots_version;                     /* grows by one at each change of my slots */
	uint64_t stats_sent[16], stats_received[16];   /* by bus type */
	struct cluster_node *nodes[CLUSTER_NODES_MAX]; /* NULL: a free index */
	uint16_t owner[CLUSTER_SLOTS];
	uint16_t migrating_to[CLUSTER_SLOTS];
	uint16_t importing_from[CLUSTER_SLOTS];
	struct cluster_blacklisted blacklist[CLUSTER_BLACKLIST_MAX];
};

/* Where a message came from: the node of our outbound link it arrived on
 * (link_node, CLUSTER_NONE for an inbound link, with its generation), the
 * peer's address as the socket sees it, and ours (myself learns its IP from
 * the first MEET, as Redis does). Either string may be empty. */
struct cluster_from {
	uint16_t link_node;
	uint32_t link_gen;
	const char *peer_ip;
	const char *my_ip;
};

/* What a message asks of the caller. */
struct cluster_effects {
	bool pong;            /* answer the MEET or PING with a PONG */
	bool close_link;      /* the link's node is gone or was renamed away */
	uint16_t sender;      /* the sender's index, or CLUSTER_NONE */
	uint16_t update_node; /* send UPDATE about this node to the sender */
	bool publish;         /* a PUBLISH to deliver to local subscribers */
	/* Myself gained or lost slots: the caller compares the owner map with
	 * its copy (keys left in a lost slot, shard channels to unsubscribe). */
	bool my_slots_changed;
};

/* A command argument, as the caller parsed it. */
struct cluster_arg {
	const char *p;
	size_t n;
};

/* The keys a node holds in a slot, for SETSLOT NODE (the caller's keyspace). */
struct cluster_keys {
	size_t (*count)(void *ctx, unsigned slot);
	void *ctx;
};

/* A new state: myself alone, a master with a random id from seed, no slots. */
struct cluster_state *cluster_state_new(struct mem *mem, uint64_t seed, uint64_t now_ms);
void cluster_state_free(struct cluster_state *st);
/* Every invariant: one myself, ids valid and unique, each slot's owner and
 * open-slot targets exist, owners are masters and not handshakes, slot
 * counts match, currentEpoch >= every config epoch. Returns NULL or what is
 * broken. */
const char *cluster_state_check(const struct cluster_state *st);

/* The node with this id, or CLUSTER_NONE. */
uint16_t cluster_node_find(const struct cluster_state *st, const char *id, size_t n);
static inline struct cluster_node *cluster_myself(const struct cluster_state *st)
{
	return st->nodes[st->myself];
}
/* Is index i still the node of generation gen? */
bool cluster_node_live(const struct cluster_state *st, uint16_t i, uint32_t gen);
/* Sets the caller's outbound link state of node i. */
void cluster_link_set(struct cluster_state *st, uint16_t i, enum cluster_link l);

/* Applies one decoded message. Bad or stale content changes nothing. m is
 * the caller's decoded message (bus_msg_decode()). */
void cluster_apply(struct cluster_state *st, const struct bus_msg *m,
		   const struct cluster_from *from, uint64_t now_ms, struct cluster_effects *fx);
/* Time passes: PFAIL for a node whose PING has waited past the node timeout
 * and that sent nothing in that time (Redis's node_delay and data_delay), handshakes that
 * took too long dropped, old blacklist entries dropped, state ok/fail. */
void cluster_tick(struct cluster_state *st, uint64_t now_ms);
/* The caller sent a PING to node i. */
void cluster_ping_sent(struct cluster_state *st, uint16_t i, uint64_t now_ms);
/* Builds a MEET, PING or PONG for node peer (CLUSTER_NONE: a broadcast):
 * myself, some gossip, and my slots unless peer has acknowledged them. A
 * node flagged CLUSTER_NODE_MEET (CLUSTER MEET, or a handshake that gossip
 * started) gets a MEET first; building it clears the flag. */
void cluster_build_ping(struct cluster_state *st, uint8_t type, uint16_t peer, struct bus_msg *m);
/* Builds an UPDATE about node n. */
void cluster_build_update(struct cluster_state *st, uint16_t n, struct bus_msg *m);
/* Recomputes cluster_state ok/fail. */
void cluster_update_ok(struct cluster_state *st);

/* The commands. Each returns 0, or -1 with Redis's error text (without the
 * "ERR " prefix) in err; an error changes nothing. */
int cluster_meet(struct cluster_state *st, const struct cluster_arg *args, int nargs,
		 uint64_t now_ms, char *err);
int cluster_addslots(struct cluster_state *st, const struct cluster_arg *args, int nargs, bool del,
		     char *err);
/* nargs is even: an odd count is the caller's arity error. */
int cluster_addslotsrange(struct cluster_state *st, const struct cluster_arg *args, int nargs,
			  bool del, char *err);
void cluster_flushslots(struct cluster_state *st);
int cluster_setslot(struct cluster_state *st, const struct cluster_arg *args, int nargs,
		    const struct cluster_keys *keys, char *err);
int cluster_forget(struct cluster_state *st, const char *id, size_t n, uint64_t now_ms, char *err);
void cluster_reset(struct cluster_state *st, bool hard);
int cluster_set_config_epoch(struct cluster_state *st, const char *arg, size_t n, char *err);
/* BUMPEPOCH: true when the epoch was raised ("BUMPED"), false ("STILL"). */
bool cluster_bumpepoch(struct cluster_state *st);
/* A slot argument: 0..16383, or -1 (Redis's getSlotOrReply). */
int cluster_parse_slot(const char *p, size_t n);

#endif
