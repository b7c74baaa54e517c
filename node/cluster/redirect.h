/* redirect.h: where a request belongs in the cluster, as Redis 7.0.15's
 * getNodeByQuery decides it, over a view of the slot map that every shard
 * holds (struct cluster_view: read without a lock).
 *
 * The view is a snapshot of what routing needs from the cluster state:
 * each slot's owner, the slots this node is migrating (to whom) and
 * importing, the nodes' addresses, whether the cluster is ok. The state's
 * owner (shard 0, which runs the bus) builds a new one at each change and
 * every shard takes a copy of it (shard/cluster.c).
 *
 * redirect_check() runs Redis's steps in order: the first key fixes the
 * slot; a key in another slot is CROSSSLOT; a slot without owner is
 * CLUSTERDOWN; a cluster that is down refuses (or, with
 * cluster-allow-reads-when-down, refuses writes); a migrating slot with a
 * missing key asks the client to go to the target (ASK) or, when some keys
 * exist, to try again; an importing slot serves an ASKING client (a
 * multi-key request with a missing key tries again); any other slot that
 * is not this node's is MOVED. Only for a migrating or importing slot does
 * it ask the caller whether each key exists here. */
#ifndef CAIRN_CLUSTER_REDIRECT_H
#define CAIRN_CLUSTER_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster_state;
struct mem;

#define REDIRECT_SLOTS 16384
#define REDIRECT_NONE_NODE 0xFFFF
/* An address as "ip:port" fits in this (an IPv6 address, a port). */
#define REDIRECT_ADDR_MAX 56

struct cluster_view {
	size_t bytes;     /* of the whole view, addresses included */
	uint64_t version; /* grows with every view the state's owner builds */
	bool ok;          /* cluster_state:ok */
	uint16_t myself;
	uint16_t naddr;                     /* entries of addr[] */
	uint16_t owner[REDIRECT_SLOTS];     /* node, or REDIRECT_NONE_NODE */
	uint16_t migrating[REDIRECT_SLOTS]; /* target node, or REDIRECT_NONE_NODE */
	uint8_t importing[REDIRECT_SLOTS];  /* 1: this node imports it */
	/* 1: the cluster is ok, and this node owns the slot and neither
	 * migrates nor imports it (a one-key request on it runs: one look). */
	uint8_t serve[REDIRECT_SLOTS];
	/* 1: this node imports it atomically (CLUSTER SYNCSLOTS): its keys
	 * are hidden, and only the migration's link may write them. Set by
	 * the state's owner (shard/topology.c), not by the state. */
	uint8_t hidden[REDIRECT_SLOTS];
	uint32_t nhidden;               /* slots hidden */
	char addr[][REDIRECT_ADDR_MAX]; /* "ip:port" by node index */
};

/* A snapshot of st, allocated from mem; its version is given. */
struct cluster_view *redirect_view_build(const struct cluster_state *st, struct mem *mem,
					 uint64_t version);
void redirect_view_free(struct cluster_view *v, struct mem *mem);
/* Whether this node owns slot s, and may serve it (a caller that routes a
 * key without a request: a blocked client whose slot moved). */
static inline bool redirect_mine(const struct cluster_view *v, unsigned s)
{
	return v->owner[s] == v->myself;
}

enum redirect_kind {
	REDIRECT_HERE = 0, /* run it */
	REDIRECT_MOVED,    /* -MOVED <slot> <addr> */
	REDIRECT_ASK,      /* -ASK <slot> <addr> */
	REDIRECT_TRYAGAIN, /* -TRYAGAIN Multiple keys request during rehashing of slot */
	REDIRECT_CROSSSLOT,
	REDIRECT_UNBOUND, /* -CLUSTERDOWN Hash slot not served */
	REDIRECT_DOWN,    /* -CLUSTERDOWN The cluster is down */
	REDIRECT_DOWN_RO, /* -CLUSTERDOWN The cluster is down and only accepts read commands */
};

/* A request as routing sees it. */
struct redirect_req {
	const char *const *keys; /* its keys (as COMMAND GETKEYS finds them) */
	const size_t *lens;
	int nkeys;
	bool write;        /* a write (for EXEC: a queued one) */
	bool asking;       /* the client sent ASKING (or RESTORE-ASKING) */
	bool shard_pubsub; /* SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH: channels as keys */
	bool migrate;      /* MIGRATE: runs here on an open slot */
	bool reads_when_down;
	bool pubsub_when_down;
	/* Whether key exists here (a key past its TTL does not, and stays). */
	bool (*exists)(void *arg, const char *key, size_t len);
	void *exists_arg;
};

struct redirect_out {
	enum redirect_kind kind;
	unsigned slot;
	uint16_t node; /* MOVED, ASK: where */
};

/* Whether routing needs the caller's exists() for this request: its first
 * key's slot is open here (migrating or importing). *slot: that slot, or
 * -1 with no key. */
bool redirect_needs_lookup(const struct cluster_view *v, const struct redirect_req *q, int *slot);
/* Redis's decision for q. */
void redirect_check(const struct cluster_view *v, const struct redirect_req *q,
		    struct redirect_out *out);
/* The error text of a refusal (not REDIRECT_HERE), without the '-'. */
size_t redirect_error(const struct cluster_view *v, const struct redirect_out *o, char *buf,
		      size_t cap);

#endif
