/* bus.c: see bus.h. */
#include "shard/bus.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "cluster/bus_msg.h"
#include "cluster/state.h"
#include "io/io.h"
#include "shard/ud.h"

/* Bytes a link reads before it must have found a frame's end. */
#define BUS_IN_MAX (BUS_FRAME_MAX + 65536)
/* Random picks for the PING of each second (Redis's 5). */
#define BUS_PING_SAMPLES 5
/* Cron ticks between those PINGs (hz 10: one second). */
#define BUS_PING_EVERY 10

struct bus_link {
	uint32_t idx;
	int sock; /* -1 while connecting */
	bool inbound, writing, want_recv;
	bool closing, close_sent; /* close asked; io_close submitted */
	uint8_t zero_reads;
	/* Outbound: the node. Inbound: the node whose message came last on it
	 * (CLUSTER LINKS's "from"), or CLUSTER_NONE; routing never uses it. */
	uint16_t node;
	uint32_t node_gen;
	uint64_t create_ms;
	char peer_ip[BUS_IP_MAX + 1], my_ip[BUS_IP_MAX + 1];
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out, *pend; /* in flight; waiting */
	size_t out_len, out_off, out_cap, pend_len, pend_cap;
	struct iovec iov;
};

static uint64_t ud(unsigned op, const struct bus *b, const struct bus_link *l)
{
	return ud_encode(op | UD_OP_BUS, b->gens[l->idx], l->idx);
}

void bus_init(struct bus *b, struct io *io, struct mem *mem, const struct config *cfg,
	      struct cluster_state *st)
{
	memset(b, 0, sizeof(*b));
	b->io = io;
	b->mem = mem;
	b->cfg = cfg;
	b->st = st;
	b->links = mem_calloc(mem, BUS_LINKS_MAX * sizeof(*b->links));
	b->gens = mem_calloc(mem, BUS_LINKS_MAX * sizeof(*b->gens));
	b->rx = mem_calloc(mem, sizeof(*b->rx));
	b->tx = mem_calloc(mem, sizeof(*b->tx));
}

static void link_free(struct bus *b, struct bus_link *l)
{
	b->links[l->idx] = NULL;
	b->gens[l->idx] = (b->gens[l->idx] + 1) & UD_GEN_MASK;
	b->nlinks--;
	mem_free(b->mem, l->in);
	mem_free(b->mem, l->out);
	mem_free(b->mem, l->pend);
	mem_free(b->mem, l);
}

void bus_free(struct bus *b)
{
	uint32_t i;

	for (i = 0; i < BUS_LINKS_MAX; i++)
		if (b->links[i] != NULL)
			link_free(b, b->links[i]);
	bus_msg_release(b->rx, b->mem);
	mem_free(b->mem, b->rx);
	mem_free(b->mem, b->tx);
	mem_free(b->mem, b->txbuf);
	mem_free(b->mem, b->links);
	mem_free(b->mem, b->gens);
	memset(b, 0, sizeof(*b));
}

static struct bus_link *link_new(struct bus *b, bool inbound, int sock)
{
	struct bus_link *l;
	uint32_t i;

	if (b->nlinks >= BUS_LINKS_MAX)
		return NULL;
	for (i = 0; b->links[i] != NULL; i++)
		;
	l = mem_calloc(b->mem, sizeof(*l));
	l->idx = i;
	l->sock = sock;
	l->inbound = inbound;
	l->node = CLUSTER_NONE;
	l->create_ms = b->now_ms;
	b->links[i] = l;
	b->nlinks++;
	if (i >= b->links_hi)
		b->links_hi = i + 1;
	return l;
}

/* "ip" of a socket's end (the text before the last ':'). */
static void sock_ip(struct bus *b, int sock, bool peer, char *ip)
{
	char buf[BUS_IP_MAX + 16];
	char *colon;

	ip[0] = '\0';
	if (io_sock_name(b->io, sock, peer, buf, sizeof(buf)) < 0)
		return;
	colon = strrchr(buf, ':');
	if (colon == NULL || (size_t)(colon - buf) > BUS_IP_MAX)
		return;
	memcpy(ip, buf, (size_t)(colon - buf));
	ip[colon - buf] = '\0';
}

static void arm_recv(struct bus *b, struct bus_link *l)
{
	int rc = io_recv(b->io, l->sock, ud(IO_OP_RECV, b, l));

	ASSERT(rc == 0 || rc == -EBUSY);
	l->want_recv = rc != 0; /* the cron tries again */
}

/* Submits the close of a link that has a socket (the cron retries a
 * full queue). */
static void submit_close(struct bus *b, struct bus_link *l)
{
	if (l->close_sent || l->sock < 0)
		return;
	if (io_close(b->io, l->sock, ud(IO_OP_CLOSE, b, l)) == 0)
		l->close_sent = true;
}

static void close_link(struct bus *b, struct bus_link *l)
{
	if (l->closing)
		return;
	l->closing = true;
	if (!l->inbound && cluster_node_live(b->st, l->node, l->node_gen))
		cluster_link_set(b->st, l->node, CLUSTER_LINK_NONE);
	/* Still connecting: closed (or freed) when the connect completes.
	 * From another shard's thread (bus_publish), the cron submits it. */
	if (!b->no_io)
		submit_close(b, l);
}

/* ---- output ---- */

static void start_write(struct bus *b, struct bus_link *l)
{
	uint8_t *t;
	size_t cap;

	if (l->writing || l->closing || l->sock < 0)
		return;
	if (l->out_off == l->out_len) {
		if (l->pend_len == 0)
			return;
		t = l->out, cap = l->out_cap;
		l->out = l->pend, l->out_cap = l->pend_cap, l->out_len = l->pend_len;
		l->pend = t, l->pend_cap = cap, l->pend_len = 0;
		l->out_off = 0;
	}
	l->iov.iov_base = l->out + l->out_off;
	l->iov.iov_len = l->out_len - l->out_off;
	if (io_writev(b->io, l->sock, &l->iov, 1, ud(IO_OP_WRITEV, b, l)) == 0)
		l->writing = true;
}

static size_t out_bytes(const struct bus_link *l)
{
	return l->out_len - l->out_off + l->pend_len;
}

/* Encodes b->tx onto l's output. */
static void send_tx(struct bus *b, struct bus_link *l)
{
	long n = bus_msg_size(b->tx);
	size_t limit = b->cfg->cluster_link_sendbuf_limit > 0
			       ? (size_t)b->cfg->cluster_link_sendbuf_limit
			       : BUS_LINK_OUT_MAX;

	if (n <= 0 || l->closing)
		return;
	if (out_bytes(l) + (size_t)n > limit || out_bytes(l) + (size_t)n > BUS_LINK_OUT_MAX) {
		b->links_exceeded++;
		close_link(b, l);
		return;
	}
	if (l->pend_len + (size_t)n > l->pend_cap) {
		size_t cap = l->pend_cap ? l->pend_cap : 4096;
		while (cap < l->pend_len + (size_t)n)
			cap *= 2;
		l->pend = mem_realloc(b->mem, l->pend, cap);
		l->pend_cap = cap;
	}
	n = bus_msg_encode(b->tx, l->pend + l->pend_len, l->pend_cap - l->pend_len);
	ASSERT(n > 0);
	l->pend_len += (size_t)n;
	start_write(b, l);
}

static void send_ping(struct bus *b, struct bus_link *l, uint8_t type, uint16_t peer)
{
	memset(b->tx, 0, sizeof(*b->tx));
	cluster_build_ping(b->st, type, peer, b->tx);
	send_tx(b, l);
	if (type != BUS_PONG && peer != CLUSTER_NONE)
		cluster_ping_sent(b->st, peer, b->now_ms);
}

/* ---- input ---- */

/* Applies one decoded message and does what it asks. */
static void on_message(struct bus *b, struct bus_link *l)
{
	struct cluster_from from = {
		.link_node = l->inbound ? CLUSTER_NONE : l->node,
		.link_gen = l->node_gen,
		.peer_ip = l->peer_ip,
		.my_ip = l->my_ip,
	};
	struct cluster_effects fx;

	memset(&fx, 0, sizeof(fx));
	fx.sender = fx.update_node = CLUSTER_NONE;
	cluster_apply(b->st, b->rx, &from, b->now_ms, &fx);
	if (l->inbound && fx.sender != CLUSTER_NONE && b->st->nodes[fx.sender] != NULL) {
		l->node = fx.sender;
		l->node_gen = b->st->nodes[fx.sender]->gen;
	}
	if (fx.pong)
		send_ping(b, l, BUS_PONG, fx.sender);
	if (fx.update_node != CLUSTER_NONE) {
		memset(b->tx, 0, sizeof(*b->tx));
		cluster_build_update(b->st, fx.update_node, b->tx);
		send_tx(b, l);
	}
	if (fx.publish && b->on_publish != NULL) {
		const struct bus_publish *p = &b->rx->u.publish;
		b->on_publish(b->publish_arg, p->sharded, (const char *)p->channel, p->channel_len,
			      (const char *)p->message, p->message_len);
	}
	if (fx.close_link)
		close_link(b, l);
}

/* Decodes and applies every whole frame l has read. */
static void on_bytes(struct bus *b, struct bus_link *l)
{
	size_t off = 0;

	while (!l->closing && off < l->in_len) {
		struct bus_decoded d = bus_msg_decode(l->in + off, l->in_len - off, b->rx, b->mem);
		if (d.status == 0)
			break;
		if (d.status < 0) {
			b->malformed++;
			close_link(b, l);
			break;
		}
		off += d.len;
		on_message(b, l);
		bus_msg_release(b->rx, b->mem);
	}
	memmove(l->in, l->in + off, l->in_len - off);
	l->in_len -= off;
}

static void on_recv(struct bus *b, struct bus_link *l, const struct io_cqe *cqe)
{
	bool more = (cqe->flags & IO_F_MORE) != 0;

	if (cqe->res > 0) {
		const char *p = io_buf(b->io, cqe->buf);
		size_t n = (size_t)cqe->res;
		l->zero_reads = 0;
		if (!l->closing && l->in_len + n > BUS_IN_MAX) {
			b->malformed++;
			close_link(b, l);
		} else if (!l->closing) {
			if (l->in_len + n > l->in_cap) {
				size_t cap = l->in_cap ? l->in_cap : 4096;
				while (cap < l->in_len + n)
					cap *= 2;
				l->in = mem_realloc(b->mem, l->in, cap);
				l->in_cap = cap;
			}
			memcpy(l->in + l->in_len, p, n);
			l->in_len += n;
		}
		io_buf_recycle(b->io, cqe->buf);
		if (!l->closing)
			on_bytes(b, l);
	} else if (cqe->res == 0) {
		/* End of file, but for a 0 flagged not empty (io.h). */
		if (!(cqe->flags & IO_F_SOCK_NONEMPTY) || ++l->zero_reads > 1) {
			close_link(b, l);
			return;
		}
	} else if (cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
		close_link(b, l);
		return;
	}
	if (!more && !l->closing)
		arm_recv(b, l);
}

static void on_write(struct bus *b, struct bus_link *l, const struct io_cqe *cqe)
{
	l->writing = false;
	if (cqe->res < 0) {
		close_link(b, l);
		return;
	}
	l->out_off += (size_t)cqe->res;
	ASSERT(l->out_off <= l->out_len);
	if (l->out_off == l->out_len)
		l->out_len = l->out_off = 0;
	start_write(b, l);
}

static void on_connect(struct bus *b, struct bus_link *l, const struct io_cqe *cqe)
{
	struct cluster_node *n;

	if (cqe->res < 0) {
		if (!l->closing && cluster_node_live(b->st, l->node, l->node_gen))
			cluster_link_set(b->st, l->node, CLUSTER_LINK_NONE);
		link_free(b, l);
		return;
	}
	l->sock = cqe->res;
	if (l->closing || !cluster_node_live(b->st, l->node, l->node_gen)) {
		l->closing = false;
		close_link(b, l);
		return;
	}
	cluster_link_set(b->st, l->node, CLUSTER_LINK_UP);
	sock_ip(b, l->sock, true, l->peer_ip);
	sock_ip(b, l->sock, false, l->my_ip);
	arm_recv(b, l);
	n = b->st->nodes[l->node];
	send_ping(b, l, (n->flags & CLUSTER_NODE_MEET) ? BUS_MEET : BUS_PING, l->node);
}

void bus_complete(struct bus *b, const struct io_cqe *cqe)
{
	uint32_t i = ud_idx(cqe->user_data);
	unsigned op = ud_op(cqe->user_data) & ~UD_OP_BUS;
	struct bus_link *l = i < BUS_LINKS_MAX ? b->links[i] : NULL;

	if (l == NULL || b->gens[i] != ud_gen(cqe->user_data)) {
		if (op == IO_OP_RECV && (cqe->flags & IO_F_BUFFER))
			io_buf_recycle(b->io, cqe->buf);
		return;
	}
	switch (op) {
	case IO_OP_RECV: on_recv(b, l, cqe); break;
	case IO_OP_WRITEV: on_write(b, l, cqe); break;
	case IO_OP_CONNECT: on_connect(b, l, cqe); break;
	case IO_OP_CLOSE: link_free(b, l); break;
	default: ASSERT_NOT_REACHED("bus: unknown completion");
	}
}

void bus_accept(struct bus *b, int sock)
{
	struct bus_link *l = link_new(b, true, sock);

	if (l == NULL) {
		(void)io_close(b->io, sock, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
		return;
	}
	sock_ip(b, sock, true, l->peer_ip);
	sock_ip(b, sock, false, l->my_ip);
	arm_recv(b, l);
}

/* ---- cron ---- */

static struct bus_link *link_of(struct bus *b, uint16_t node)
{
	uint32_t i;

	for (i = 0; i < b->links_hi; i++) {
		struct bus_link *l = b->links[i];
		if (l != NULL && !l->inbound && !l->closing && l->sock >= 0 && l->node == node)
			return l;
	}
	return NULL;
}

static void connect_to(struct bus *b, uint16_t i)
{
	struct cluster_node *n = b->st->nodes[i];
	uint64_t timeout_ms = b->st->node_timeout_ms > 1000 ? b->st->node_timeout_ms : 1000;
	struct bus_link *l = link_new(b, false, -1);

	if (l == NULL)
		return;
	l->node = i;
	l->node_gen = n->gen;
	if (io_connect(b->io, n->ip, n->bus_port, timeout_ms * 1000000ull,
		       ud(IO_OP_CONNECT, b, l)) != 0) {
		link_free(b, l);
		return;
	}
	cluster_link_set(b->st, i, CLUSTER_LINK_CONNECTING);
}

static void connect_missing(struct bus *b)
{
	uint32_t i;

	for (i = 0; i < b->nodes_hi; i++) {
		struct cluster_node *n = b->st->nodes[i];
		if (n == NULL || i == b->st->myself || n->link != CLUSTER_LINK_NONE ||
		    (n->flags & CLUSTER_NODE_NOADDR) || n->ip[0] == '\0' || n->bus_port == 0)
			continue;
		connect_to(b, (uint16_t)i);
	}
}

static bool pingable(const struct bus *b, uint32_t i)
{
	const struct cluster_node *n = b->st->nodes[i];

	return n != NULL && i != b->st->myself && n->link == CLUSTER_LINK_UP &&
	       !(n->flags & CLUSTER_NODE_HANDSHAKE) && n->ping_sent_ms == 0;
}

/* Each second: of five nodes drawn, the one heard from least recently. */
static void ping_random(struct bus *b)
{
	uint16_t best = CLUSTER_NONE;
	uint64_t oldest = UINT64_MAX;
	int k;

	for (k = 0; k < BUS_PING_SAMPLES; k++) {
		uint32_t i = (uint32_t)(io_random_u64(b->io) % b->nodes_hi);
		uint32_t tries;
		for (tries = 0; tries < b->nodes_hi && !pingable(b, i); tries++)
			i = (i + 1) % b->nodes_hi;
		if (!pingable(b, i))
			return;
		if (b->st->nodes[i]->pong_received_ms < oldest) {
			oldest = b->st->nodes[i]->pong_received_ms;
			best = (uint16_t)i;
		}
	}
	if (best != CLUSTER_NONE) {
		struct bus_link *l = link_of(b, best);
		if (l != NULL)
			send_ping(b, l, BUS_PING, best);
	}
}

/* Any node whose PONG is older than half the node timeout gets a PING. */
static void ping_stale(struct bus *b)
{
	uint64_t half = b->st->node_timeout_ms / 2;
	uint32_t i;

	for (i = 0; i < b->nodes_hi; i++) {
		struct bus_link *l;
		if (!pingable(b, i) || b->now_ms - b->st->nodes[i]->pong_received_ms <= half)
			continue;
		l = link_of(b, (uint16_t)i);
		if (l != NULL)
			send_ping(b, l, BUS_PING, (uint16_t)i);
	}
}

/* Submissions a full queue refused. */
static void retry(struct bus *b)
{
	uint32_t i;

	for (i = 0; i < b->links_hi; i++) {
		struct bus_link *l = b->links[i];
		if (l == NULL || l->sock < 0)
			continue;
		if (l->closing) {
			submit_close(b, l);
			continue;
		}
		if (l->want_recv)
			arm_recv(b, l);
		start_write(b, l);
	}
}

/* Past the state's highest node: found by counting, from the bottom. */
static uint32_t nodes_end(const struct cluster_state *st)
{
	uint32_t i, seen = 0;

	for (i = 0; i < CLUSTER_NODES_MAX && seen < st->nnodes; i++)
		seen += st->nodes[i] != NULL;
	return i;
}

void bus_cron(struct bus *b, uint64_t now_ms)
{
	b->now_ms = now_ms;
	b->ticks++;
	b->st->node_timeout_ms = (uint64_t)b->cfg->cluster_node_timeout;
	b->nodes_hi = nodes_end(b->st);
	connect_missing(b);
	if (b->ticks % BUS_PING_EVERY == 0)
		ping_random(b);
	ping_stale(b);
	cluster_tick(b->st, now_ms);
	retry(b);
}

/* Queues the encoded b->tx on l without writing (the caller may run on
 * another shard's thread). */
static void queue_tx(struct bus *b, struct bus_link *l)
{
	bool writing = l->writing;

	l->writing = true; /* send_tx only queues */
	send_tx(b, l);
	l->writing = writing;
}

void bus_publish(struct bus *b, const char *channel, size_t clen, const char *msg, size_t mlen)
{
	uint32_t i;

	memset(b->tx, 0, sizeof(*b->tx));
	bus_msg_set_publish(b->tx, cluster_myself(b->st)->id, false, channel, clen, msg, mlen);
	b->no_io = true;
	for (i = 0; i < b->links_hi; i++) {
		struct bus_link *l = b->links[i];
		if (l == NULL || l->inbound || l->closing || l->sock < 0)
			continue;
		queue_tx(b, l);
		b->st->stats_sent[BUS_PUBLISH]++;
	}
	b->no_io = false;
	b->kick = true;
}

void bus_kick(struct bus *b)
{
	uint32_t i;

	b->kick = false;
	for (i = 0; i < b->links_hi; i++)
		if (b->links[i] != NULL)
			start_write(b, b->links[i]);
}

/* Whether inbound link l is the newest from its node (Redis keeps one
 * inbound link per node; an older one is on its way out). */
static bool newest_inbound(const struct bus *b, const struct bus_link *l)
{
	uint32_t i;

	for (i = 0; i < b->links_hi; i++) {
		const struct bus_link *o = b->links[i];
		if (o != NULL && o != l && o->inbound && !o->closing && o->sock >= 0 &&
		    o->node == l->node && o->node_gen == l->node_gen &&
		    (o->create_ms > l->create_ms || (o->create_ms == l->create_ms && i > l->idx)))
			return false;
	}
	return true;
}

void bus_each_link(struct bus *b,
		   void (*fn)(void *arg, bool inbound, const char *node_id, uint64_t create_ms,
			      bool writing, size_t out_bytes, size_t out_alloc),
		   void *arg)
{
	uint32_t i;

	for (i = 0; i < b->links_hi; i++) {
		const struct bus_link *l = b->links[i];
		if (l == NULL || l->sock < 0 || l->closing ||
		    !cluster_node_live(b->st, l->node, l->node_gen))
			continue; /* a link to no known node is not listed */
		if (l->inbound && !newest_inbound(b, l))
			continue;
		fn(arg, l->inbound, b->st->nodes[l->node]->id, l->create_ms, l->writing,
		   out_bytes(l), l->out_cap + l->pend_cap);
	}
}
