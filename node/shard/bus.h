/* bus.h: the cluster bus of a node: its links to the other nodes, over
 * io.h, and the cluster state they feed (cluster/state.h). Shard 0 runs it.
 *
 * Links: one outbound link to each known node (connected by the bus's cron,
 * again after it breaks), and the inbound links other nodes opened to us
 * (accepted on the cluster port). A link reads frames (cluster/bus_msg.h),
 * each applied to the state at once; what a message asks (a PONG back, an
 * UPDATE, closing) goes out on the link it came in on. A malformed frame
 * closes its link alone, counted, and changes nothing. A link's unsent
 * output past cluster-link-sendbuf-limit (or BUS_LINK_OUT_MAX) closes it.
 *
 * The cron (every timer tick of shard 0, as Redis's clusterCron): links to
 * nodes that have none, a PING each second to the node, among five drawn,
 * heard from least recently, and to any node whose PONG is older than half
 * the node timeout; then the state's own time (PFAIL, handshakes).
 *
 * Completions carry ud.h's encoding with UD_OP_BUS set in the op, and the
 * link's entry and generation. Memory: links, their buffers and the
 * scratch messages are charged to the shard's account. */
#ifndef CAIRN_SHARD_BUS_H
#define CAIRN_SHARD_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_link;
struct bus_msg;
struct cluster_state;
struct config;
struct io;
struct io_cqe;
struct mem;

/* The op bit of a bus link's completions (ud.h's op field). */
#define UD_OP_BUS 0x80u
/* Links a node keeps at most (inbound and outbound). */
#define BUS_LINKS_MAX 4096
/* Unsent bytes a link may hold, whatever cluster-link-sendbuf-limit says. */
#define BUS_LINK_OUT_MAX (64u << 20)

struct bus {
	struct io *io;
	struct mem *mem;
	const struct config *cfg;
	struct cluster_state *st;
	struct bus_link **links; /* [BUS_LINKS_MAX] */
	uint32_t *gens;
	uint32_t nlinks;
	uint32_t links_hi; /* past the highest entry ever used */
	uint32_t nodes_hi; /* past the state's highest node, as of the cron */
	uint64_t now_ms;
	uint64_t ticks;
	struct bus_msg *rx, *tx; /* scratch messages (big) */
	uint8_t *txbuf;
	size_t txcap;
	uint64_t links_exceeded; /* closed for their output */
	uint64_t malformed;      /* frames refused */
	bool kick;               /* output queued while frozen: write it (bus_kick) */
	bool no_io;              /* on another shard's thread: queue, submit nothing */
	/* A PUBLISH from another node, for this node's subscribers. */
	void (*on_publish)(void *arg, bool sharded, const char *channel, size_t clen,
			   const char *msg, size_t mlen);
	void *publish_arg;
};

void bus_init(struct bus *b, struct io *io, struct mem *mem, const struct config *cfg,
	      struct cluster_state *st);
/* Closes nothing (the process is ending): frees every link's memory. */
void bus_free(struct bus *b);
/* A socket accepted on the cluster port. */
void bus_accept(struct bus *b, int sock);
/* A completion with UD_OP_BUS. */
void bus_complete(struct bus *b, const struct io_cqe *cqe);
/* The cron: every timer tick. */
void bus_cron(struct bus *b, uint64_t now_ms);
/* PUBLISH in cluster mode: the message goes to every node the bus links
 * to (Redis's clusterPropagatePublish). Called by a span that holds
 * shard 0 (PUBLISH): it only queues the frames; shard 0 writes them in
 * its next step (bus_kick). */
void bus_publish(struct bus *b, const char *channel, size_t clen, const char *msg, size_t mlen);
/* Starts the writes bus_publish queued. */
void bus_kick(struct bus *b);
/* The links to and from known nodes, for CLUSTER LINKS (the newest
 * inbound one per node, as Redis keeps): calls fn for each. */
void bus_each_link(struct bus *b,
		   void (*fn)(void *arg, bool inbound, const char *node_id, uint64_t create_ms,
			      bool writing, size_t out_bytes, size_t out_alloc),
		   void *arg);

#endif
