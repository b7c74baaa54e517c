/* route.h: where a request runs, and forwarding.
 *
 * Every request is parsed and checked on the shard that owns its connection
 * (exec.c). Then route_plan() decides:
 *  - here: all its keys (if any) live here, or it needs nothing else;
 *  - forward: all its keys live on one other shard. The request (arguments
 *    copied, big values by reference) goes there over the ring, runs there,
 *    and its reply bytes come back and fill a placeholder (HOLD) in the
 *    connection's output, so pipelined replies keep their order and the
 *    connection goes on parsing meanwhile;
 *  - span: its keys span shards, or it reads or changes every shard. It runs
 *    with the shards locked (lock.h).
 *
 * Route never touches a connection: a reply that comes back is handed to
 * the shard (route_message), which gives it to the connection if it is
 * still there. */
#ifndef CAIRN_SHARD_ROUTE_H
#define CAIRN_SHARD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_ctx;
struct cmd_env;
struct obuf;
struct obuf_chunk;
struct xmsg;
struct xshard;

struct route {
	struct xshard *x;
	struct cmd_env *env; /* forwarded requests run in it */
	/* Before a forwarded request's reply goes back: delivers the
	 * invalidations it caused (the shard's, when *inval_len), so that
	 * they are on their way before the client can see the reply. */
	const size_t *inval_len;
	void (*inval)(void *arg);
	void *inval_arg;
	/* Cluster mode: the shard's view (else NULL). A forwarded request
	 * was routed by its origin's view; a slot that left the node since
	 * (an atomic migration's switch deletes its keys) gets MOVED here
	 * rather than a read of keys no longer here. */
	struct cluster_view *const *view;
};

enum route_where { ROUTE_HERE = 0, ROUTE_FORWARD, ROUTE_SPAN };

/* A forwarded request's reply, back at its origin. */
struct route_reply {
	uint32_t conn_idx, conn_gen; /* the client that sent it */
	struct obuf_chunk *hold;     /* its placeholder in the client's output */
	struct obuf *out;            /* the reply */
	struct xmsg *msg;
};

void route_init(struct route *rt, struct xshard *x, struct cmd_env *env);
/* Where the checked request c->cmd runs. For ROUTE_FORWARD, *dst is the
 * shard; for ROUTE_SPAN, mask (XSHARD_WORDS words, zeroed by the caller)
 * has a bit set for every shard that must be locked besides this one. */
enum route_where route_plan(const struct route *rt, const struct cmd_ctx *c, uint64_t *mask,
			    unsigned *dst);
/* Sends c's request to shard dst for its connection (conn_idx, conn_gen),
 * holding its reply's place in c's output (c->r). */
void route_forward(struct route *rt, const struct cmd_ctx *c, unsigned dst, uint32_t conn_idx,
		   uint32_t conn_gen);
/* Handles a message of kind MSG_REQ or MSG_REPLY. A request runs here and
 * its reply goes back: returns false. A reply fills *rep and returns true;
 * the caller delivers it, then calls route_reply_done(). */
bool route_message(struct route *rt, struct xmsg *m, struct route_reply *rep);
/* Frees a reply after delivery: its output was taken by the client's
 * (obuf_fill), or freed (obuf_free) when the client had left. */
void route_reply_done(struct route *rt, struct route_reply *rep);
/* Frees a route message at shutdown, whatever its state. */
void route_drop(struct route *rt, struct xmsg *m);

#endif
