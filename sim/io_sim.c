/* io_sim.c: node/io/io.h for the simulator, and the simulated network.
 *
 * Submissions only change socket state and mark the socket dirty; the
 * "kernel" (kernel_step) turns dirty sockets and due timers into
 * completions when the shard reaps, or when the scheduler asks whether a
 * parked shard has work. Faults are injected there: short writes and reads,
 * -ENOBUFS that ends a multishot recv (sometimes before any data), resets,
 * -EMFILE on accept, late timers, a full submission queue, lost wakes, and
 * batches of completions interleaved (the order of one socket's completions
 * is kept, as io_uring keeps it).
 *
 * CONNECT joins two shards (of one node or of two): a connect to an address
 * where a listener is completes with a new socket whose other end waits in
 * that listener's backlog for its owner's ACCEPT; bytes written on one end
 * arrive at the other's recv, and a close is the other's end of file. With
 * no listener there it is refused. Faults of its own, drawn only on these
 * paths so that runs without a CONNECT draw as before: refused anyway, no
 * answer (-ETIMEDOUT once timeout_ns of simulated time has passed, never
 * earlier), and a reset of an established connection.
 *
 * The contract is enforced loudly (world_crash): a second recv armed on a
 * socket, a second writev in flight, any submission on a closed socket or
 * on one whose CONNECT has not completed, a CONNECT without an address or
 * a timeout, and a buffer read or recycled when the core does not hold it.
 * Recycled buffers are poisoned, so a read after recycle sees garbage.
 *
 * Files (io_file_read, io_file_replace) live in memory, per node; before
 * the heal tick an operation fails with -EIO or -ENOSPC at
 * SIM_FILE_FAULT_P, leaving the file as it was. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "cluster/bus_msg.h"
#include "shard/shard.h"
#include "shard/ud.h"
#include "cluster.h"
#include "world.h"

#define SIM_POISON 0xdb
/* Receive completions one socket may post per kernel step. */
#define SIM_RECV_BURST 4
/* A late timer fires up to this much after its deadline. */
#define SIM_LATE_TIMER_NS (200ull * 1000 * 1000)
/* Clients connect from here. */
#define SIM_CLIENT_IP "10.1.0.1"

/* ---- bytes ---- */

static void bytes_put(struct bytes *b, const char *p, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = sim_realloc(b->p, cap);
		b->cap = cap;
	}
	if (n > 0) /* p may be NULL then */
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static size_t bytes_avail(const struct bytes *b)
{
	return b->len - b->off;
}

static size_t bytes_take(struct bytes *b, char *out, size_t max)
{
	size_t n = bytes_avail(b) < max ? bytes_avail(b) : max;

	if (n > 0) /* b->p may be NULL then */
		memcpy(out, b->p + b->off, n);
	b->off += n;
	return n;
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- sockets ---- */

static struct sock *sock_at(struct world *w, int s)
{
	ASSERT(s >= 0);
	ASSERT((unsigned)s < w->nsocks);
	return &w->socks[s];
}

static int sock_new(struct world *w, enum sock_kind kind, unsigned shard)
{
	unsigned i;

	for (i = 0; i < w->nsocks; i++)
		if (w->socks[i].kind == SOCK_FREE)
			break;
	if (i == w->nsocks) {
		if (w->nsocks == w->socks_cap) {
			w->socks_cap = w->socks_cap ? w->socks_cap * 2 : 64;
			w->socks = sim_realloc(w->socks, w->socks_cap * sizeof(*w->socks));
		}
		w->nsocks++;
	}
	memset(&w->socks[i], 0, sizeof(w->socks[i]));
	w->socks[i].kind = (uint8_t)kind;
	w->socks[i].open = true;
	w->socks[i].shard = (uint16_t)shard;
	w->socks[i].peer = -1;
	w->socks[i].next_dirty = -1;
	return (int)i;
}

/* Frees a connection both ends are done with. */
static void sock_maybe_free(struct world *w, int s)
{
	struct sock *k = sock_at(w, s);

	if (k->kind != SOCK_CONN || k->open || k->closing || k->cl != NULL || k->peer >= 0 ||
	    k->dirty)
		return;
	bytes_free(&k->in);
	bytes_free(&k->out);
	net_sock_free_frames(k);
	memset(k, 0, sizeof(*k));
	k->peer = -1;
	k->next_dirty = -1;
}

void net_dirty(struct world *w, int s)
{
	struct sock *k = sock_at(w, s);
	struct io *io = &w->ios[k->shard];

	if (k->dirty)
		return;
	k->dirty = true;
	k->next_dirty = io->dirty_head;
	io->dirty_head = s;
}

/* Checks a submission names an open socket of this shard, as io.h says. */
static struct sock *checked(struct io *io, int s, enum sock_kind kind, const char *what)
{
	struct world *w = io->w;
	struct sock *k;

	if (s < 0 || (unsigned)s >= w->nsocks || w->socks[s].kind != kind)
		world_crash(w, "io contract: %s on socket %d, which is not one", what, s);
	k = &w->socks[s];
	if (k->connecting)
		world_crash(w, "io contract: %s on socket %d before its CONNECT completed", what,
			    s);
	if (!k->open)
		world_crash(w, "io contract: %s on socket %d after its close", what, s);
	if (k->shard != io->shard)
		world_crash(w, "io contract: %s on socket %d of shard %u from shard %u", what, s,
			    k->shard, io->shard);
	return k;
}

/* ---- bus frames delivered again ----
 *
 * The bus runs over TCP, which neither loses, repeats nor reorders bytes
 * on one connection; but a node has a link of its own to each peer and one
 * from it, and both are replaced when they fail, so a message a peer sent
 * earlier may be read after newer ones (an old inbound link read late,
 * while the new one has delivered already), and the same state twice. The
 * simulator models this on the connection itself: it follows the frames
 * a bus connection's writes carry (header: "CB", version, type, body
 * length), keeps a copy of one complete frame now and then, and at a later
 * frame boundary, at bus_dup_p, delivers that copy again, whole, before
 * the next frame. Each frame stays whole, so what the receiver sees is what
 * a stale link would give it: an old message, again, after newer ones. */
struct busframes {
	char *cur; /* the frame being written */
	size_t have, len, cap;
	char *old; /* a frame sent earlier, kept to be delivered again */
	size_t old_len, old_cap;
	bool lost; /* not a frame stream (its magic did not match): untracked */
};

void net_sock_free_frames(struct sock *k)
{
	if (k->bf == NULL)
		return;
	free(k->bf->cur);
	free(k->bf->old);
	free(k->bf);
	k->bf = NULL;
}

/* Whether k is a cluster bus connection (either end): its frames may be
 * delivered again. */
static bool bus_sock(const struct world *w, const struct sock *k)
{
	return w->bus_dup_p > 0 && !w->healed && k->peer >= 0 &&
	       (k->port == SIM_BUS_PORT || k->peer_port == SIM_BUS_PORT);
}

/* A frame has been written whole: now and then it is kept (the newest
 * kept one replaces the one before). */
static void bus_frame_done(struct world *w, struct busframes *f)
{
	if (rng_chance(&w->busr, 0.5)) {
		char *t = f->old;
		size_t cap = f->old_cap;
		f->old = f->cur;
		f->old_cap = f->cap;
		f->old_len = f->len;
		f->cur = t;
		f->cap = cap;
	}
	f->have = f->len = 0;
}

/* Puts n bytes of a bus connection's write into to, following its frames,
 * and, at a frame boundary, maybe an old frame again first. */
static void bus_put(struct world *w, struct sock *k, struct bytes *to, const char *p, size_t n)
{
	struct busframes *f = k->bf;

	if (f == NULL)
		f = k->bf = sim_calloc(sizeof(*f));
	while (n > 0 && !f->lost) {
		size_t want = f->have < BUS_HDR_LEN ? BUS_HDR_LEN - f->have : f->len - f->have;
		size_t take = want < n ? want : n;
		if (f->have == 0 && f->old_len > 0 && rng_chance(&w->busr, w->bus_dup_p)) {
			bytes_put(to, f->old, f->old_len);
			w->bus_dups++;
			world_event(w, EV_FAULT, F_COUNT + 1, f->old_len);
		}
		if (f->have + take > f->cap) {
			f->cap = (f->have + take) * 2;
			f->cur = sim_realloc(f->cur, f->cap);
		}
		memcpy(f->cur + f->have, p, take);
		bytes_put(to, p, take);
		f->have += take;
		p += take;
		n -= take;
		if (f->have == BUS_HDR_LEN) {
			const unsigned char *h = (const unsigned char *)f->cur;
			f->len = BUS_HDR_LEN + ((size_t)h[4] << 24 | (size_t)h[5] << 16 |
						(size_t)h[6] << 8 | h[7]);
			f->lost = h[0] != BUS_MAGIC0 || h[1] != BUS_MAGIC1 ||
				  f->len > BUS_FRAME_MAX;
		}
		if (f->have >= BUS_HDR_LEN && f->have == f->len)
			bus_frame_done(w, f);
	}
	if (n > 0)
		bytes_put(to, p, n);
}

/* ---- completions ---- */

static void post(struct io *io, uint8_t op, uint64_t ud, int32_t res, uint16_t flags, uint16_t buf)
{
	struct io_cqe *c;

	if (io->cq_n == io->cq_cap) {
		io->cq_cap = io->cq_cap ? io->cq_cap * 2 : 64;
		io->cq = sim_realloc(io->cq, io->cq_cap * sizeof(*io->cq));
	}
	c = &io->cq[io->cq_n++];
	c->op = op;
	c->user_data = ud;
	c->res = res;
	c->flags = flags;
	c->buf = buf;
}

static void kernel_accept(struct io *io, struct sock *k)
{
	struct world *w = io->w;

	while (k->accept_armed && k->backlog_n > 0) {
		int s = k->backlog[0];
		if (world_fault(w, F_EMFILE)) {
			/* Ends the multishot accept; the connection waits. */
			post(io, IO_OP_ACCEPT, k->accept_ud, -EMFILE, 0, 0);
			k->accept_armed = false;
			return;
		}
		memmove(k->backlog, k->backlog + 1, --k->backlog_n * sizeof(*k->backlog));
		post(io, IO_OP_ACCEPT, k->accept_ud, s, IO_F_MORE, 0);
		world_event(w, EV_ACCEPT, io->shard, (uint64_t)s);
	}
}

static void end_recv(struct io *io, struct sock *k, int32_t res, uint16_t flags)
{
	post(io, IO_OP_RECV, k->recv_ud, res, flags, 0);
	k->recv_armed = false;
}

static void kernel_recv(struct io *io, struct sock *k)
{
	struct world *w = io->w;
	unsigned burst;

	for (burst = 0; burst < SIM_RECV_BURST && k->recv_armed; burst++) {
		size_t avail = bytes_avail(&k->in), n;
		uint16_t b;
		if (k->reset) {
			end_recv(io, k, -ECONNRESET, 0);
			return;
		}
		if (avail == 0 && !k->peer_eof)
			return;
		/* A 0-byte completion flagged SOCK_NONEMPTY with data still
		 * there: not end of file; the core must re-arm and read on
		 * (never twice in a row: that is end of file, io.h). */
		if (avail > 0 && world_fault(w, F_SHORT_READ) && rng_chance(&w->net, 0.05) &&
		    !k->zero_posted) {
			k->zero_posted = true;
			end_recv(io, k, 0, IO_F_SOCK_NONEMPTY);
			return;
		}
		/* -ENOBUFS ends the recv, sometimes before any data. */
		if (world_fault(w, F_ENOBUFS) || (avail > 0 && io->nfree == 0)) {
			end_recv(io, k, -ENOBUFS, 0);
			return;
		}
		if (avail == 0) {
			/* End of file; Linux may first flag a 0 as SOCK_NONEMPTY. */
			bool flagged = !k->eof_nonempty && rng_chance(&w->net, 0.5);
			k->eof_nonempty = true;
			k->zero_posted = true;
			end_recv(io, k, 0, flagged ? IO_F_SOCK_NONEMPTY : 0);
			return;
		}
		n = avail < IO_BUF_SIZE ? avail : IO_BUF_SIZE;
		if (world_fault(w, F_SHORT_READ))
			n = rng_range(&w->net, 1, n);
		b = io->free_bufs[--io->nfree];
		ASSERT(!io->lent[b]);
		io->lent[b] = 1;
		n = bytes_take(&k->in, io->bufs + (size_t)b * IO_BUF_SIZE, n);
		k->zero_posted = false;
		post(io, IO_OP_RECV, k->recv_ud, (int32_t)n, IO_F_MORE | IO_F_BUFFER, b);
	}
}

static void kernel_write(struct io *io, struct sock *k)
{
	struct world *w = io->w;
	size_t total = 0, n, done = 0;
	struct bytes *to = &k->out;
	int i;

	for (i = 0; i < k->iovcnt; i++)
		total += k->iov[i].iov_len;
	if (k->peer >= 0)
		to = &sock_at(w, k->peer)->in; /* between shards: its recv reads it */
	if (k->reset || (k->cl == NULL && k->peer < 0)) {
		post(io, IO_OP_WRITEV, k->write_ud, -EPIPE, 0, 0);
		k->writing = false;
		return;
	}
	n = total;
	if (world_fault(w, F_SHORT_WRITE) && total > 1)
		n = rng_range(&w->net, 1, total - 1);
	/* The bytes are read now, at completion: a core that changed them
	 * after submitting would be caught by the client's checks. */
	for (i = 0; i < k->iovcnt && done < n; i++) {
		size_t piece = k->iov[i].iov_len < n - done ? k->iov[i].iov_len : n - done;
		if (bus_sock(w, k))
			bus_put(w, k, to, k->iov[i].iov_base, piece);
		else
			bytes_put(to, k->iov[i].iov_base, piece);
		done += piece;
	}
	post(io, IO_OP_WRITEV, k->write_ud, (int32_t)n, 0, 0);
	k->writing = false;
	if (k->peer >= 0)
		net_dirty(w, k->peer);
}

/* Ends the pairing of a connection between shards: the other end reads to
 * end of file (or was reset) and then behaves as a socket whose client hung
 * up. */
static void unpeer(struct world *w, struct sock *k)
{
	struct sock *o;

	if (k->peer < 0)
		return;
	o = sock_at(w, k->peer);
	ASSERT(o->peer == (int)(k - w->socks));
	o->peer = -1;
	o->peer_eof = true;
	net_dirty(w, (int)(o - w->socks));
	k->peer = -1;
}

/* The close: armed operations are cancelled, then the close completes. */
static void kernel_close(struct io *io, struct sock *k)
{
	if (k->recv_armed)
		end_recv(io, k, -ECANCELED, 0);
	if (k->writing) {
		post(io, IO_OP_WRITEV, k->write_ud, -ECANCELED, 0, 0);
		k->writing = false;
	}
	post(io, IO_OP_CLOSE, k->close_ud, 0, 0, 0);
	k->closing = false;
	unpeer(io->w, k);
}

static void kernel_timers(struct io *io)
{
	unsigned i = 0;

	while (i < io->ntimers) {
		if (io->timers[i].deadline <= io->w->now) {
			post(io, IO_OP_TIMER, io->timers[i].ud, 0, 0, 0);
			io->timers[i] = io->timers[--io->ntimers];
		} else {
			i++;
		}
	}
}

/* Interleaves the new completions of a step at random, keeping each
 * socket's own order (completions of one socket carry its user_data's
 * slot; those of one operation must stay in order). */
static void shuffle(struct io *io, unsigned from)
{
	struct world *w = io->w;
	unsigned n = io->cq_n - from, i;
	struct io_cqe *tmp;

	if (n < 2 || !world_fault(w, F_SHUFFLE))
		return;
	tmp = sim_realloc(NULL, n * sizeof(*tmp));
	memcpy(tmp, io->cq + from, n * sizeof(*tmp));
	for (i = 0; i < n; i++) {
		/* Pick a random remaining completion whose socket has no
		 * earlier completion still waiting. */
		unsigned pick = (unsigned)rng_below(&w->net, n - i), k, j;
		for (k = 0;; k++) {
			unsigned c = (pick + k) % (n - i);
			bool first = true;
			for (j = 0; j < c; j++)
				if (ud_target(tmp[j].user_data) == ud_target(tmp[c].user_data))
					first = false;
			if (first) {
				io->cq[from + i] = tmp[c];
				memmove(tmp + c, tmp + c + 1, (n - i - c - 1) * sizeof(*tmp));
				break;
			}
		}
	}
	free(tmp);
}

/* F_CONN_RESET: a connection between shards, established and in use,
 * resets; both ends see it (recv -ECONNRESET, writev -EPIPE). */
static void maybe_reset(struct io *io, struct sock *k)
{
	struct world *w = io->w;
	struct sock *o;

	if (k->peer < 0 || k->reset || k->connecting || !k->open)
		return;
	o = sock_at(w, k->peer);
	/* A partition cuts it (no draw: runs without one draw as before). */
	if (!net_cut(w, w->ios[k->shard].node, w->ios[o->shard].node) &&
	    !world_fault(w, F_CONN_RESET))
		return;
	k->reset = true;
	o->reset = true;
	net_dirty(w, k->peer);
	world_event(w, EV_NODE_RESET, io->shard, (uint64_t)(k - w->socks));
}

/* Completes the CONNECTs that are due, in submission order. */
static void kernel_connects(struct io *io)
{
	struct world *w = io->w;
	unsigned i = 0, kept = 0;

	for (i = 0; i < io->nconnects; i++) {
		struct sim_connect c = io->connects[i];
		if (c.due > w->now) {
			io->connects[kept++] = c;
			continue;
		}
		if (c.res >= 0) {
			struct sock *k = sock_at(w, c.res);
			ASSERT(k->connecting);
			ASSERT(k->shard == io->shard);
			k->connecting = false;
		}
		post(io, IO_OP_CONNECT, c.ud, c.res, 0, 0);
		world_event(w, EV_NODE_CONNECT, io->shard, (uint64_t)(uint32_t)c.res);
	}
	io->nconnects = kept;
}

/* Bytes between two nodes wait this kernel step (bus_delay_p). */
static bool bus_delayed(struct world *w, const struct sock *k)
{
	if (k->peer < 0 || w->bus_delay_p <= 0 || w->healed ||
	    w->ios[k->shard].node == w->ios[w->socks[k->peer].shard].node)
		return false;
	return rng_chance(&w->busr, w->bus_delay_p);
}

static void kernel_step(struct io *io)
{
	struct world *w = io->w;
	unsigned from = io->cq_n;
	int s = io->dirty_head, again = -1;

	io->dirty_head = -1;
	while (s >= 0) {
		struct sock *k = sock_at(w, s);
		int next = k->next_dirty;
		k->dirty = false;
		if (k->kind == SOCK_LISTENER) {
			kernel_accept(io, k);
		} else if (k->kind == SOCK_CONN) {
			maybe_reset(io, k);
			if (k->writing)
				kernel_write(io, k);
			if (k->closing)
				kernel_close(io, k);
			else if (k->recv_armed && !bus_delayed(w, k))
				kernel_recv(io, k);
			/* Data still waiting for an armed recv: keep it dirty. */
			if (k->recv_armed && (bytes_avail(&k->in) > 0 || k->peer_eof || k->reset)) {
				k->next_dirty = again;
				again = s;
			} else {
				sock_maybe_free(w, s);
			}
		}
		s = next;
	}
	while (again >= 0) {
		int next = sock_at(w, again)->next_dirty;
		net_dirty(w, again);
		again = next;
	}
	kernel_connects(io);
	kernel_timers(io);
	shuffle(io, from);
}

/* ---- io.h: submissions ---- */

static int busy(struct io *io)
{
	return world_fault(io->w, F_SQ_FULL) ? -EBUSY : 0;
}

int io_accept(struct io *io, int listener, uint64_t ud)
{
	struct sock *k = checked(io, listener, SOCK_LISTENER, "accept");

	if (k->accept_armed)
		world_crash(io->w, "io contract: a second accept armed on listener %d", listener);
	if (busy(io))
		return -EBUSY;
	k->accept_armed = true;
	k->accept_ud = ud;
	net_dirty(io->w, listener);
	return 0;
}

int io_recv(struct io *io, int s, uint64_t ud)
{
	struct sock *k = checked(io, s, SOCK_CONN, "recv");

	if (k->recv_armed)
		world_crash(io->w, "io contract: a second recv armed on socket %d", s);
	if (busy(io))
		return -EBUSY;
	k->recv_armed = true;
	k->recv_ud = ud;
	net_dirty(io->w, s);
	return 0;
}

int io_recv_stop(struct io *io, int s)
{
	struct sock *k = checked(io, s, SOCK_CONN, "recv_stop");

	if (busy(io))
		return -EBUSY;
	/* Data the recv had already taken may complete first. */
	if (k->recv_armed && world_fault(io->w, F_SHORT_READ))
		kernel_recv(io, k);
	if (k->recv_armed)
		end_recv(io, k, -ECANCELED, 0);
	return 0;
}

int io_writev(struct io *io, int s, const struct iovec *iov, int iovcnt, uint64_t ud)
{
	struct sock *k = checked(io, s, SOCK_CONN, "writev");

	if (k->writing)
		world_crash(io->w, "io contract: a second writev in flight on socket %d", s);
	if (iovcnt <= 0)
		world_crash(io->w, "io contract: writev of %d pieces", iovcnt);
	if (busy(io))
		return -EBUSY;
	k->writing = true;
	k->write_ud = ud;
	k->iov = iov;
	k->iovcnt = iovcnt;
	net_dirty(io->w, s);
	return 0;
}

int io_close(struct io *io, int s, uint64_t ud)
{
	struct sock *k = checked(io, s, SOCK_CONN, "close");

	if (busy(io))
		return -EBUSY;
	k->open = false;
	k->closing = true;
	k->close_ud = ud;
	net_dirty(io->w, s);
	world_event(io->w, EV_CLOSE, io->shard, (uint64_t)s);
	return 0;
}

int io_timer(struct io *io, uint64_t delay_ns, uint64_t ud)
{
	struct world *w = io->w;
	uint64_t late = 0;

	if (busy(io))
		return -EBUSY;
	if (world_fault(w, F_LATE_TIMER))
		late = rng_below(&w->net, SIM_LATE_TIMER_NS);
	if (io->ntimers == io->timers_cap) {
		io->timers_cap = io->timers_cap ? io->timers_cap * 2 : 8;
		io->timers = sim_realloc(io->timers, io->timers_cap * sizeof(*io->timers));
	}
	io->timers[io->ntimers].deadline = w->now + delay_ns + late;
	io->timers[io->ntimers].ud = ud;
	io->ntimers++;
	return 0;
}

/* The listening socket at ip:port (one of them, at random, when several
 * shards listen there), or -1. */
static int find_listener(struct world *w, const char *ip, uint16_t port)
{
	int found[XSHARD_MAX], n = 0;
	unsigned i;

	for (i = 0; i < w->nsocks && n < XSHARD_MAX; i++) {
		const struct sock *k = &w->socks[i];
		if (k->kind == SOCK_LISTENER && k->open && k->port == port && !strcmp(k->ip, ip))
			found[n++] = (int)i;
	}
	return n == 0 ? -1 : found[rng_below(&w->net, (uint64_t)n)];
}

/* An established connection from io's shard to listener l: the connector's
 * end (returned; its CONNECT has yet to complete) and the accepted end,
 * queued on the listener for its owner's ACCEPT. */
static int establish(struct io *io, int l)
{
	struct world *w = io->w;
	int a = sock_new(w, SOCK_CONN, io->shard), b = sock_new(w, SOCK_CONN, w->socks[l].shard);
	struct sock *ka = sock_at(w, a), *kb = sock_at(w, b), *kl = sock_at(w, l);

	ka->connecting = true;
	ka->peer = b;
	kb->peer = a;
	ka->conn_id = (++w->next_conn_id << 32) | (uint64_t)a;
	kb->conn_id = (++w->next_conn_id << 32) | (uint64_t)b;
	memcpy(ka->ip, w->socks[io->listener].ip, SIM_IP_MAX);
	ka->port = (uint16_t)(SIM_EPHEMERAL + a);
	memcpy(ka->peer_ip, kl->ip, SIM_IP_MAX);
	ka->peer_port = kl->port;
	memcpy(kb->ip, kl->ip, SIM_IP_MAX);
	kb->port = kl->port;
	memcpy(kb->peer_ip, ka->ip, SIM_IP_MAX);
	kb->peer_port = ka->port;
	if (kl->backlog_n == kl->backlog_cap) {
		kl->backlog_cap = kl->backlog_cap ? kl->backlog_cap * 2 : 8;
		kl->backlog = sim_realloc(kl->backlog, kl->backlog_cap * sizeof(*kl->backlog));
	}
	kl->backlog[kl->backlog_n++] = b;
	net_dirty(w, l);
	return a;
}

/* What a CONNECT to ip:port from io's shard comes to, decided at once:
 * a connected socket, or -errno. Sets *due to when it completes. */
static int32_t connect_result(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
			      uint64_t *due)
{
	struct world *w = io->w;
	unsigned char addr[16];
	int l;

	*due = w->now;
	if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
		return -EINVAL;
	if (world_fault(w, F_CONN_TIMEOUT)) {
		/* Nothing answers: it ends when its timeout has passed. */
		*due = w->now + timeout_ns;
		return -ETIMEDOUT;
	}
	l = find_listener(w, ip, port);
	if (l < 0 || world_fault(w, F_CONN_REFUSED) ||
	    net_cut(w, io->node, w->ios[w->socks[l].shard].node))
		return -ECONNREFUSED;
	return establish(io, l);
}

int io_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns, uint64_t ud)
{
	struct world *w = io->w;
	struct sim_connect *c;

	if (ip == NULL)
		world_crash(w, "io contract: connect without an address");
	if (timeout_ns == 0)
		world_crash(w, "io contract: connect with a timeout of 0");
	if (busy(io))
		return -EBUSY;
	if (io->nconnects == io->connects_cap) {
		io->connects_cap = io->connects_cap ? io->connects_cap * 2 : 4;
		io->connects = sim_realloc(io->connects, io->connects_cap * sizeof(*io->connects));
	}
	c = &io->connects[io->nconnects++];
	c->ud = ud;
	c->res = connect_result(io, ip, port, timeout_ns, &c->due);
	ASSERT(c->due >= w->now);
	return 0;
}

void io_flush(struct io *io)
{
	(void)io; /* submissions take effect when the kernel steps */
}

/* ---- io.h: completions and buffers ---- */

int io_reap(struct io *io, struct io_cqe *out, int max)
{
	unsigned n, i;

	kernel_step(io);
	n = io->cq_n < (unsigned)max ? io->cq_n : (unsigned)max;
	if (n == 0)
		return 0; /* io->cq may not exist yet */
	memcpy(out, io->cq, n * sizeof(*out));
	memmove(io->cq, io->cq + n, (io->cq_n - n) * sizeof(*io->cq));
	io->cq_n -= n;
	for (i = 0; i < n; i++)
		world_event(io->w, EV_CQE, ((uint64_t)out[i].op << 32) | io->shard,
			    ((uint64_t)(uint32_t)out[i].res << 16) | out[i].flags);
	return (int)n;
}

const char *io_buf(struct io *io, uint16_t buf)
{
	if (buf >= io->nbufs || !io->lent[buf])
		world_crash(io->w, "io contract: buffer %u read while not held", buf);
	return io->bufs + (size_t)buf * IO_BUF_SIZE;
}

void io_buf_recycle(struct io *io, uint16_t buf)
{
	if (buf >= io->nbufs || !io->lent[buf])
		world_crash(io->w, "io contract: buffer %u recycled while not held", buf);
	io->lent[buf] = 0;
	memset(io->bufs + (size_t)buf * IO_BUF_SIZE, SIM_POISON, IO_BUF_SIZE);
	io->free_bufs[io->nfree++] = buf;
}

/* ---- io.h: parking ---- */

void io_wait(struct io *io, uint64_t timeout_ns)
{
	if (io->woken) {
		/* A wake that came first: as an eventfd already written. */
		io->woken = false;
		return;
	}
	io->parked = true;
	io->lost_wake = false;
	io->park_deadline = io->w->now + timeout_ns;
}

void io_wake(struct io *io, unsigned target)
{
	struct world *w = io->w;
	unsigned to = io->base + target; /* target is a shard of io's node */

	ASSERT(target < w->cfg.shards);
	ASSERT(w->ios[to].node == io->node);
	if (world_fault(w, F_LOST_WAKE)) {
		w->ios[to].lost_wake = true;
		world_event(w, EV_WAKE_LOST, io->shard, to);
		return;
	}
	w->ios[to].woken = true;
	world_event(w, EV_WAKE, io->shard, to);
}

/* ---- io.h: environment ---- */

uint64_t io_now_ns(struct io *io)
{
	return SIM_EPOCH_NS + io->w->now;
}

uint64_t io_random_u64(struct io *io)
{
	return rng_next(&io->rng);
}

void io_log(struct io *io, enum io_log_level level, const char *msg, size_t len)
{
	if (io->w->cfg.trace >= 2)
		printf("  log shard %u [%d] %.*s\n", io->shard, (int)level, (int)len, msg);
}

void io_block(struct io *io, uint64_t ns)
{
	io->w->now += ns;
}

int io_sock_name(struct io *io, int sock, bool peer, char *buf, size_t len)
{
	struct world *w = io->w;
	const struct sock *k;
	int n;

	/* Not a submission: a closed socket's name may still be asked, as a
	 * real backend's getpeername() may be. */
	if (sock < 0 || (unsigned)sock >= w->nsocks || w->socks[sock].kind != SOCK_CONN)
		return -ENOTCONN;
	k = &w->socks[sock];
	n = peer ? snprintf(buf, len, "%s:%u", k->peer_ip, k->peer_port)
		 : snprintf(buf, len, "%s:%u", k->ip, k->port);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

void io_proc_stats(struct io *io, struct io_proc_stats *out)
{
	(void)io;
	memset(out, 0, sizeof(*out));
}

void io_release_memory(struct io *io)
{
	(void)io; /* the simulated kernel keeps no pages */
}

/* ---- files ---- */

static struct sim_file *file_find(struct world *w, unsigned node, const char *path)
{
	unsigned i;

	for (i = 0; i < w->nfiles; i++)
		if (w->files[i].node == node && strcmp(w->files[i].path, path) == 0)
			return &w->files[i];
	return NULL;
}

/* Whether a file operation fails here (SIM_FILE_FAULT_P). */
static bool file_fault(struct world *w)
{
	if (w->building)
		return false; /* a node reads its nodes.conf as it starts */
	return rng_chance(&w->faults, w->healed ? 0.0 : SIM_FILE_FAULT_P);
}

int64_t io_file_read(struct io *io, const char *path, char *buf, size_t cap)
{
	struct world *w = io->w;
	const struct sim_file *f = file_find(w, io->node, path);

	if (path[0] == '\0')
		return -ENOENT;
	if (file_fault(w))
		return -EIO;
	if (f == NULL)
		return -ENOENT;
	if (f->len > 0 && cap > 0)
		memcpy(buf, f->data, f->len < cap ? f->len : cap);
	return (int64_t)f->len;
}

/* Atomic by construction: the old contents stay until the new ones are
 * all there, and a failure leaves them. */
int io_file_replace(struct io *io, const char *path, const char *data, size_t len)
{
	struct world *w = io->w;
	struct sim_file *f;
	char *copy;

	if (path[0] == '\0')
		return -ENOENT;
	if (file_fault(w))
		return rng_chance(&w->faults, 0.5) ? -EIO : -ENOSPC;
	copy = sim_realloc(NULL, len > 0 ? len : 1);
	if (len > 0)
		memcpy(copy, data, len);
	f = file_find(w, io->node, path);
	if (f == NULL) {
		w->files = sim_realloc(w->files, (w->nfiles + 1) * sizeof(*w->files));
		f = &w->files[w->nfiles++];
		f->node = io->node;
		f->path = sim_realloc(NULL, strlen(path) + 1);
		memcpy(f->path, path, strlen(path) + 1);
		f->data = NULL;
	}
	free(f->data);
	f->data = copy;
	f->len = len;
	return 0;
}

void io_shutdown(struct io *io)
{
	(void)io; /* the workload sends no SHUTDOWN: the world runs its course */
}

/* ---- the scheduler's view ---- */

void sim_io_init(struct world *w, struct io *io, unsigned shard, unsigned node, unsigned base)
{
	unsigned i;

	ASSERT(base <= shard);
	ASSERT(node < SIM_NODES_MAX);
	memset(io, 0, sizeof(*io));
	io->w = w;
	io->shard = shard;
	io->node = node;
	io->base = base;
	rng_fork(&io->rng, &w->sched, 0x10000 + shard);
	io->nbufs = w->cfg.bufs;
	ASSERT(io->nbufs >= 1);
	ASSERT(io->nbufs <= IO_BUF_COUNT);
	io->bufs = sim_realloc(NULL, (size_t)io->nbufs * IO_BUF_SIZE);
	memset(io->bufs, SIM_POISON, (size_t)io->nbufs * IO_BUF_SIZE);
	io->lent = sim_realloc(NULL, io->nbufs);
	memset(io->lent, 0, io->nbufs);
	io->free_bufs = sim_realloc(NULL, io->nbufs * sizeof(*io->free_bufs));
	for (i = 0; i < io->nbufs; i++)
		io->free_bufs[i] = (uint16_t)(io->nbufs - 1 - i);
	io->nfree = io->nbufs;
	io->dirty_head = -1;
	io->listener = sock_new(w, SOCK_LISTENER, shard);
	snprintf(w->socks[io->listener].ip, SIM_IP_MAX, "10.0.0.%u", node + 1);
	w->socks[io->listener].port = SIM_PORT;
	io->bus_listener = -1;
	if (w->cfg.cluster && shard == base) {
		io->bus_listener = sock_new(w, SOCK_LISTENER, shard);
		snprintf(w->socks[io->bus_listener].ip, SIM_IP_MAX, "10.0.0.%u", node + 1);
		w->socks[io->bus_listener].port = SIM_BUS_PORT;
	}
}

/* Frees a socket record nobody holds any more. */
static void sock_drop(struct world *w, struct sock *k)
{
	bytes_free(&k->in);
	bytes_free(&k->out);
	net_sock_free_frames(k);
	free(k->backlog);
	memset(k, 0, sizeof(*k));
	k->peer = -1;
	k->next_dirty = -1;
	(void)w;
}

void sim_node_down(struct world *w, unsigned node)
{
	unsigned s;

	for (s = 0; s < w->nsocks; s++) {
		struct sock *k = &w->socks[s];
		if (k->kind == SOCK_FREE || w->ios[k->shard].node != node)
			continue;
		if (k->peer >= 0) {
			/* The peer node's end: reset, as a dead process's
			 * kernel answers. */
			struct sock *o = sock_at(w, k->peer);
			o->peer = -1;
			o->reset = true;
			net_dirty(w, k->peer);
			k->peer = -1;
		}
		if (k->kind == SOCK_LISTENER || k->cl == NULL) {
			sock_drop(w, k);
			continue;
		}
		/* A client's connection: it reads to the end, then end of file;
		 * its record goes once it closes (net_close). */
		k->open = k->closing = k->connecting = false;
		k->recv_armed = k->writing = k->accept_armed = false;
		k->dirty = false;
		k->next_dirty = -1;
	}
}

void sim_io_free(struct io *io)
{
	free(io->cq);
	free(io->bufs);
	free(io->lent);
	free(io->free_bufs);
	free(io->timers);
	free(io->connects);
	memset(io, 0, sizeof(*io));
}

/* A park that ends by its deadline while messages wait for the shard means
 * a wake was lost; unless the simulator dropped one, that is a bug. */
static void check_rescue(struct io *io)
{
	struct world *w = io->w;
	struct shard *sh = w->shards[io->shard];

	if (xshard_pending(&sh->x) && !io->lost_wake)
		world_fail(w, FAIL_LIVENESS,
			   "shard %u slept until its park timeout with messages waiting, and no "
			   "wake was lost",
			   io->shard);
}

bool sim_io_runnable(struct io *io)
{
	struct world *w = io->w;

	if (!io->parked)
		return true;
	kernel_step(io);
	if (io->cq_n > 0 || io->woken) {
		io->parked = false;
		io->woken = false;
		return true;
	}
	if (w->now >= io->park_deadline) {
		check_rescue(io);
		io->parked = false;
		return true;
	}
	return false;
}

uint64_t sim_io_next_time(struct io *io)
{
	uint64_t t = io->parked ? io->park_deadline : io->w->now;
	unsigned i;

	for (i = 0; i < io->ntimers; i++)
		if (io->timers[i].deadline < t)
			t = io->timers[i].deadline;
	for (i = 0; i < io->nconnects; i++)
		if (io->connects[i].due < t)
			t = io->connects[i].due;
	return t;
}

void sim_io_dump(struct world *w, FILE *f)
{
	unsigned i;

	for (i = 0; i < w->nshards; i++) {
		struct io *io = &w->ios[i];
		struct shard *sh = w->shards[i];
		fprintf(f,
			"shard %u (node %u): parked=%d woken=%d deadline=%.3fms cq=%u timers=%u "
			"free_bufs=%u/%u locked=%d messages_waiting=%d\n",
			i, io->node, io->parked, io->woken, (double)io->park_deadline / 1e6,
			io->cq_n, io->ntimers, io->nfree, io->nbufs, lock_held(&sh->lock),
			xshard_pending(&sh->x));
	}
	for (i = 0; i < w->nsocks; i++) {
		struct sock *k = &w->socks[i];
		if (k->kind != SOCK_CONN)
			continue;
		fprintf(f,
			"socket %u: shard %u open=%d closing=%d client=%d peer=%d connecting=%d "
			"recv_armed=%d writing=%d in=%zu out=%zu eof=%d reset=%d\n",
			i, k->shard, k->open, k->closing, k->cl != NULL, k->peer, k->connecting,
			k->recv_armed, k->writing, bytes_avail(&k->in), bytes_avail(&k->out),
			k->peer_eof, k->reset);
	}
}

/* ---- the network, as clients see it ---- */

int net_connect(struct world *w, struct client *cl, unsigned node)
{
	unsigned shard = node * w->cfg.shards + (unsigned)rng_below(&w->net, w->cfg.shards);
	struct sock *l = sock_at(w, w->ios[shard].listener);
	int s = sock_new(w, SOCK_CONN, shard);

	l = sock_at(w, w->ios[shard].listener); /* sock_new may have moved it */
	w->socks[s].cl = cl;
	w->socks[s].conn_id = (++w->next_conn_id << 32) | (uint64_t)s;
	memcpy(w->socks[s].ip, l->ip, SIM_IP_MAX);
	w->socks[s].port = l->port;
	snprintf(w->socks[s].peer_ip, SIM_IP_MAX, "%s", SIM_CLIENT_IP);
	w->socks[s].peer_port = (uint16_t)(SIM_EPHEMERAL + s);
	if (l->backlog_n == l->backlog_cap) {
		l->backlog_cap = l->backlog_cap ? l->backlog_cap * 2 : 8;
		l->backlog = sim_realloc(l->backlog, l->backlog_cap * sizeof(*l->backlog));
	}
	l->backlog[l->backlog_n++] = s;
	net_dirty(w, w->ios[shard].listener);
	world_event(w, EV_CONNECT, shard, (uint64_t)s);
	return s;
}

void net_send(struct world *w, int s, const char *p, size_t n)
{
	struct sock *k = sock_at(w, s);

	ASSERT(k->kind == SOCK_CONN);
	ASSERT(k->cl != NULL);
	ASSERT(!k->peer_eof);
	ASSERT(!k->reset);
	if (!k->open)
		return; /* the node closed it: the bytes go nowhere */
	bytes_put(&k->in, p, n);
	net_dirty(w, s);
}

size_t net_recv(struct world *w, int s, char *out, size_t max, bool *eof)
{
	struct sock *k = sock_at(w, s);
	size_t n = bytes_take(&k->out, out, max);

	*eof = bytes_avail(&k->out) == 0 && !k->open && !k->closing;
	return n;
}

uint64_t net_conn_id(struct world *w, int s)
{
	return sock_at(w, s)->conn_id;
}

bool net_conn_done(struct world *w, uint64_t id)
{
	/* A connection id is its socket's index in the low 32 bits. */
	unsigned s = (unsigned)(id & 0xffffffffu);
	const struct sock *k = s < w->nsocks ? &w->socks[s] : NULL;

	return k == NULL || k->kind != SOCK_CONN || k->conn_id != id || (!k->open && !k->closing);
}

bool net_readable(struct world *w, int s)
{
	struct sock *k = sock_at(w, s);

	return bytes_avail(&k->out) > 0 || (!k->open && !k->closing);
}

void net_close(struct world *w, int s, bool reset)
{
	struct sock *k = sock_at(w, s);

	ASSERT(k->kind == SOCK_CONN);
	ASSERT(k->cl != NULL);
	k->cl = NULL;
	if (reset)
		k->reset = true;
	else
		k->peer_eof = true;
	world_event(w, reset ? EV_RESET : EV_HANGUP, k->shard, (uint64_t)s);
	net_dirty(w, s);
}
