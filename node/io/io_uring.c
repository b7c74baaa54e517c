/* io_uring.c: the io_uring backend (one ring per shard).
 *
 * Idioms (liburing examples/echo-server.c and proxy.c):
 *  - the ring is created by the thread that uses it (attach), with
 *    SINGLE_ISSUER and COOP_TASKRUN, falling back to plain flags on kernels
 *    that refuse them;
 *  - multishot accept; multishot recv over a provided buffer ring (one per
 *    shard); -ENOBUFS ends a recv and the core re-arms;
 *  - every submission takes a slot in an op table; the kernel's user_data is
 *    op | generation | slot (ur_ud_encode), never a bare fd, and the slot
 *    maps back to the core's user_data, so a stale completion can never be
 *    mistaken;
 *  - a batch is reaped with one io_uring_cq_advance;
 *  - close: the socket's operations are cancelled first (CANCEL_FD|ALL) and
 *    the close is issued only once each has completed, so the core's CLOSE
 *    completion comes last, as io.h promises;
 *  - a full submission queue is flushed once, then refused with -EBUSY, and
 *    the core keeps the operation pending (it never drops a re-arm);
 *  - wakes from other shards arrive as writes to an eventfd watched by a
 *    multishot poll;
 *  - a recv watchdog (io_uring_backend_sweep) restarts a multishot recv
 *    that the kernel left armed and silent on a ready socket, a lost wakeup
 *    seen on Linux 6.18;
 *  - connect: IORING_OP_CONNECT on a non-blocking socket, linked to an
 *    IORING_OP_LINK_TIMEOUT that cancels it when its time is up; the
 *    timeout's own completion stays inside the backend. A failure known at
 *    submission goes through the ring as a NOP, so it completes like any.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/limits.h"
#include "io/io_backend.h"

#define UR_SQ_ENTRIES 4096
#define UR_CQ_ENTRIES 16384
#define UR_BGID 0
#define UR_OPS_START 1024
#define UR_SWEEP_NS 1000000000ull /* how often the recv watchdog looks */

/* Operations of the backend's own, next to enum io_op. */
enum { UR_OP_CANCEL = IO_OP_COUNT, UR_OP_WAKE, UR_OP_LINK_TIMEOUT, UR_OP_END };

/* The kernel's user_data of an operation: its kind in the bits io.h keeps
 * for backends (above IO_USER_DATA_BITS), its slot in the op table and the
 * slot's generation in the low IO_USER_DATA_BITS. It never carries the
 * core's user_data (the slot holds that), so the split is this backend's
 * choice; it follows io.h's, and the asserts stop the build if a change of
 * IO_USER_DATA_BITS leaves too few bits for a generation (a stale
 * completion must not match a reused slot) or for every kind. */
#define UR_SLOT_BITS 32
#define UR_GEN_BITS (IO_USER_DATA_BITS - UR_SLOT_BITS)
#define UR_GEN_MASK ((1u << UR_GEN_BITS) - 1u)
_Static_assert(UR_GEN_BITS >= 16 && UR_GEN_BITS < 32,
	       "a slot's generation needs 16 to 31 bits below IO_USER_DATA_BITS");
_Static_assert(UR_OP_END <= 1u << (64 - IO_USER_DATA_BITS),
	       "every kind of operation fits above IO_USER_DATA_BITS");

struct ur_ud {
	unsigned op;
	uint32_t gen;
	uint32_t slot;
};

static inline uint64_t ur_ud_encode(unsigned op, uint32_t gen, uint32_t slot)
{
	ASSERT(op < UR_OP_END);
	ASSERT(gen <= UR_GEN_MASK);
	return ((uint64_t)op << IO_USER_DATA_BITS) | ((uint64_t)gen << UR_SLOT_BITS) | slot;
}

static inline struct ur_ud ur_ud_decode(uint64_t ud)
{
	struct ur_ud d = { .op = (unsigned)(ud >> IO_USER_DATA_BITS),
			   .gen = (uint32_t)(ud >> UR_SLOT_BITS) & UR_GEN_MASK,
			   .slot = (uint32_t)ud };
	return d;
}

struct ur_op {
	uint64_t ud; /* the core's */
	int fd;
	uint32_t gen;
	uint8_t op;
	uint8_t live;
	/* The recv watchdog's (io_uring_backend_sweep): a completion since
	 * the last sweep; found ready at the last sweep; cancelled to be
	 * restarted. */
	uint8_t heard, suspect, restarted;
	uint32_t next_free;
	struct __kernel_timespec ts;
	/* A CONNECT's address (read by the kernel at submission), or, when
	 * fd < 0, the error it ends with. */
	union io_sockaddr sa;
	int32_t err;
};

struct ur_sock {
	uint32_t inflight;  /* operations on the socket not yet finished */
	uint32_t recv_slot; /* its armed recv's op slot + 1; 0: none */
	uint8_t closing;
	uint8_t close_deferred;
	uint64_t close_ud;
};

struct io_ring {
	struct io base;
	struct io_uring ring;
	bool attached;
	unsigned setup_flags;
	struct io_uring_buf_ring *br;
	char *bufs;
	uint8_t lent[IO_BUF_COUNT];
	struct ur_op *ops;
	uint32_t ops_cap, free_head;
	struct ur_sock *socks;
	uint32_t nsocks;
	int evfd;
	uint32_t deferred; /* sockets whose close waits for a free SQE */
	/* The recv watchdog: when it sweeps next, its poll set, and how many
	 * recvs it has restarted. */
	uint64_t next_sweep_ns;
	uint32_t turns;
	struct pollfd *pfds;
	uint32_t *pslots;
	uint32_t pcap;
	uint64_t restarts;
};

#define UR_NO_SLOT UINT32_MAX

static struct io_ring *ur_of(struct io *io)
{
	return (struct io_ring *)io;
}

/* Grows the socket table to hold fd (rarely: to the highest descriptor
 * seen), kept out of sock_of's way. */
static __attribute__((noinline, cold)) void socks_grow(struct io_ring *r, int fd)
{
	uint32_t n = r->nsocks ? r->nsocks : 1024;
	struct ur_sock *s;

	while (n <= (uint32_t)fd)
		n *= 2;
	s = realloc(r->socks, n * sizeof(*s));
	if (s == NULL)
		abort();
	memset(s + r->nsocks, 0, (n - r->nsocks) * sizeof(*s));
	r->socks = s;
	r->nsocks = n;
}

static inline struct ur_sock *sock_of(struct io_ring *r, int fd)
{
	ASSERT(fd >= 0);
	if ((uint32_t)fd >= r->nsocks)
		socks_grow(r, fd);
	return &r->socks[fd];
}

/* Doubles the op table (rarely: it grows to the most operations ever in
 * flight at once, then stays), kept out of op_alloc's way. */
static __attribute__((noinline, cold)) void ops_grow(struct io_ring *r)
{
	uint32_t cap = r->ops_cap * 2, i;
	struct ur_op *n;

	/* Queued SQEs may point into the table (a timer's timespec, a
	 * connect's address) and realloc may move it. The kernel is done with
	 * such memory once the SQE is submitted (IORING_FEAT_SUBMIT_STABLE,
	 * every kernel since 5.5), so they go first. Callers take their slots
	 * before their SQEs, so no SQE half prepared goes with them. */
	if (io_uring_sq_ready(&r->ring) > 0)
		io_uring_submit(&r->ring);
	n = realloc(r->ops, cap * sizeof(*n));
	if (n == NULL)
		abort();
	memset(n + r->ops_cap, 0, (cap - r->ops_cap) * sizeof(*n));
	for (i = r->ops_cap; i < cap; i++)
		n[i].next_free = i + 1 < cap ? i + 1 : UR_NO_SLOT;
	r->free_head = r->ops_cap;
	r->ops = n;
	r->ops_cap = cap;
}

static inline uint32_t op_alloc(struct io_ring *r, uint8_t op, int fd, uint64_t ud)
{
	struct ur_op *o;
	uint32_t slot;

	if (r->free_head == UR_NO_SLOT)
		ops_grow(r);
	slot = r->free_head;
	o = &r->ops[slot];
	ASSERT(!o->live);
	r->free_head = o->next_free;
	o->live = 1;
	o->heard = o->suspect = o->restarted = 0;
	o->op = op;
	o->fd = fd;
	o->ud = ud;
	o->gen = (o->gen + 1) & UR_GEN_MASK;
	return slot;
}

static void op_free(struct io_ring *r, uint32_t slot)
{
	struct ur_op *o = &r->ops[slot];

	ASSERT(o->live);
	o->live = 0;
	o->next_free = r->free_head;
	r->free_head = slot;
}

/* An SQE, flushing a full queue once; NULL means the queue stays full. */
static struct io_uring_sqe *sqe_get(struct io_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe == NULL) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

/* Prepares the SQE for an operation: takes a slot, tags the user_data. */
static struct io_uring_sqe *sqe_for(struct io_ring *r, uint8_t op, int fd, uint64_t ud,
				    uint32_t *slot_out)
{
	struct io_uring_sqe *sqe;
	uint32_t slot;

	ASSERT(r->attached);
	slot = op_alloc(r, op, fd, ud);
	sqe = sqe_get(r);
	if (sqe == NULL) {
		op_free(r, slot);
		return NULL;
	}
	io_uring_sqe_set_data64(sqe, ur_ud_encode(op, r->ops[slot].gen, slot));
	if (slot_out != NULL)
		*slot_out = slot;
	return sqe;
}

static int ur_accept(struct io *io, int listener, uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_sqe *sqe = sqe_for(r, IO_OP_ACCEPT, listener, ud, NULL);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	sock_of(r, listener)->inflight++;
	return 0;
}

static int ur_recv(struct io *io, int sock, uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	uint32_t slot;
	struct io_uring_sqe *sqe = sqe_for(r, IO_OP_RECV, sock, ud, &slot);
	struct ur_sock *s;

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, sock, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	s = sock_of(r, sock);
	ASSERT(s->recv_slot == 0); /* one recv per socket */
	s->recv_slot = slot + 1;
	s->inflight++;
	return 0;
}

/* Cancels the socket's armed recv; its end reaches the core as -ECANCELED
 * (or as whatever ended it first). */
static int ur_recv_stop(struct io *io, int sock)
{
	struct io_ring *r = ur_of(io);
	uint32_t slot = sock_of(r, sock)->recv_slot;
	struct io_uring_sqe *sqe;
	uint64_t kud;

	if (slot-- == 0)
		return 0;
	kud = ur_ud_encode(IO_OP_RECV, r->ops[slot].gen, slot);
	sqe = sqe_for(r, UR_OP_CANCEL, sock, 0, NULL);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, kud, 0);
	return 0;
}

static int ur_writev(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_sqe *sqe = sqe_for(r, IO_OP_WRITEV, sock, ud, NULL);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_writev(sqe, sock, iov, (unsigned)iovcnt, 0);
	sock_of(r, sock)->inflight++;
	return 0;
}

/* Issues the close of a socket whose operations have all finished. */
static void issue_close(struct io_ring *r, int fd)
{
	struct ur_sock *s = sock_of(r, fd);
	struct io_uring_sqe *sqe;

	ASSERT(s->closing);
	ASSERT(s->inflight == 0);
	sqe = sqe_for(r, IO_OP_CLOSE, fd, s->close_ud, NULL);
	if (sqe == NULL) {
		if (!s->close_deferred) {
			s->close_deferred = 1;
			r->deferred++;
		}
		return;
	}
	if (s->close_deferred) {
		s->close_deferred = 0;
		r->deferred--;
	}
	io_uring_prep_close(sqe, fd);
}

static int ur_close(struct io *io, int sock, uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	struct ur_sock *s = sock_of(r, sock);
	struct io_uring_sqe *sqe;

	ASSERT(!s->closing);
	if (s->inflight > 0) {
		sqe = sqe_for(r, UR_OP_CANCEL, sock, 0, NULL);
		if (sqe == NULL)
			return -EBUSY;
		io_uring_prep_cancel_fd(sqe, sock, IORING_ASYNC_CANCEL_ALL);
	}
	s->closing = 1;
	s->close_ud = ud;
	if (s->inflight == 0)
		issue_close(r, sock);
	return 0;
}

static int ur_timer(struct io *io, uint64_t delay_ns, uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	uint32_t slot;
	struct io_uring_sqe *sqe = sqe_for(r, IO_OP_TIMER, -1, ud, &slot);

	if (sqe == NULL)
		return -EBUSY;
	r->ops[slot].ts.tv_sec = (long long)(delay_ns / 1000000000ull);
	r->ops[slot].ts.tv_nsec = (long long)(delay_ns % 1000000000ull);
	io_uring_prep_timeout(sqe, &r->ops[slot].ts, 0, 0);
	return 0;
}

/* A CONNECT takes two SQEs, the connect and its linked timeout, queued
 * together or not at all. A failure known now (a bad address, no descriptor
 * left) still ends through the ring, as a NOP whose slot holds the error,
 * so the core sees every answer the same way (io.h). */
static int ur_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
		      uint64_t ud)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_sqe *sqe;
	union io_sockaddr sa;
	socklen_t len;
	uint32_t slot, tslot;
	int fd;

	ASSERT(r->attached);
	if (io_uring_sq_space_left(&r->ring) < 2)
		io_uring_submit(&r->ring);
	if (io_uring_sq_space_left(&r->ring) < 2)
		return -EBUSY;
	fd = io_connect_prepare(ip, port, &sa, &len);
	/* Both slots before either SQE: a growing table submits the queue. */
	slot = op_alloc(r, IO_OP_CONNECT, fd < 0 ? -1 : fd, ud);
	tslot = fd < 0 ? UR_NO_SLOT : op_alloc(r, UR_OP_LINK_TIMEOUT, -1, 0);
	sqe = io_uring_get_sqe(&r->ring);
	if (fd < 0) {
		r->ops[slot].err = fd;
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, ur_ud_encode(IO_OP_CONNECT, r->ops[slot].gen, slot));
		return 0;
	}
	r->ops[slot].sa = sa;
	io_uring_prep_connect(sqe, fd, &r->ops[slot].sa.sa, len);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, ur_ud_encode(IO_OP_CONNECT, r->ops[slot].gen, slot));
	r->ops[tslot].ts.tv_sec = (long long)(timeout_ns / 1000000000ull);
	r->ops[tslot].ts.tv_nsec = (long long)(timeout_ns % 1000000000ull);
	sqe = io_uring_get_sqe(&r->ring);
	io_uring_prep_link_timeout(sqe, &r->ops[tslot].ts, 0);
	io_uring_sqe_set_data64(sqe, ur_ud_encode(UR_OP_LINK_TIMEOUT, r->ops[tslot].gen, tslot));
	return 0;
}

/* The end of a CONNECT. On success the socket goes to the core; otherwise
 * it is closed here, so a failed connect leaves no descriptor. -ECANCELED
 * can only come from the linked timeout (the core has no handle to close
 * the socket with, and nothing is reaped after detach's cancel), so it
 * means the deadline passed. */
static void end_connect(struct io_ring *r, uint32_t slot, int32_t res, struct io_cqe *out)
{
	struct ur_op *o = &r->ops[slot];

	if (o->fd < 0) {
		res = o->err;
	} else if (res == 0) {
		res = o->fd;
	} else {
		close(o->fd);
		if (res == -ECANCELED)
			res = -ETIMEDOUT;
	}
	out->user_data = o->ud;
	out->op = IO_OP_CONNECT;
	out->res = res;
	out->flags = 0;
	out->buf = 0;
	op_free(r, slot);
}

static void retry_deferred(struct io_ring *r)
{
	uint32_t fd;

	for (fd = 0; fd < r->nsocks && r->deferred > 0; fd++)
		if (r->socks[fd].close_deferred)
			issue_close(r, (int)fd);
}

static void ur_flush(struct io *io)
{
	struct io_ring *r = ur_of(io);

	if (r->deferred > 0)
		retry_deferred(r);
	if (io_uring_sq_ready(&r->ring) > 0)
		io_uring_submit(&r->ring);
}

static void arm_wake(struct io_ring *r)
{
	struct io_uring_sqe *sqe = sqe_for(r, UR_OP_WAKE, r->evfd, 0, NULL);

	/* At attach time the queue is empty, so this cannot fail; later it is
	 * re-armed from a completion, after which a slot is always free. */
	ASSERT(sqe != NULL);
	io_uring_prep_poll_multishot(sqe, r->evfd, POLLIN);
}

/* Turns one kernel completion into at most one core completion. Returns
 * true if *out was filled. */
static bool translate(struct io_ring *r, const struct io_uring_cqe *k, struct io_cqe *out)
{
	struct ur_ud d = ur_ud_decode(io_uring_cqe_get_data64(k));
	uint32_t slot = d.slot;
	struct ur_op *o;
	bool more = (k->flags & IORING_CQE_F_MORE) != 0;
	unsigned op = d.op;

	ASSERT(slot < r->ops_cap);
	o = &r->ops[slot];
	ASSERT(o->live);
	ASSERT(o->gen == d.gen);
	ASSERT(o->op == op);
	if (op == UR_OP_WAKE) {
		uint64_t v;
		/* Drain the counter so a later write wakes the poll again. */
		if (read(r->evfd, &v, sizeof(v)) < 0)
			v = 0;
		if (!more) {
			op_free(r, slot);
			arm_wake(r);
		}
		return false;
	}
	if (op == UR_OP_CANCEL || op == UR_OP_LINK_TIMEOUT) {
		op_free(r, slot);
		return false;
	}
	if (op == IO_OP_CONNECT) {
		end_connect(r, slot, k->res, out);
		return true;
	}
	out->user_data = o->ud;
	out->op = (uint8_t)op;
	out->res = k->res;
	out->flags = (uint16_t)((more ? IO_F_MORE : 0) |
				((k->flags & IORING_CQE_F_SOCK_NONEMPTY) ? IO_F_SOCK_NONEMPTY : 0));
	out->buf = 0;
	if (k->flags & IORING_CQE_F_BUFFER) {
		out->flags |= IO_F_BUFFER;
		out->buf = (uint16_t)(k->flags >> IORING_CQE_BUFFER_SHIFT);
		ASSERT(out->buf < IO_BUF_COUNT);
		ASSERT(!r->lent[out->buf]);
		r->lent[out->buf] = 1;
	}
	if (op == IO_OP_TIMER && k->res == -ETIME)
		out->res = 0;
	if (op == IO_OP_RECV) {
		o->heard = 1;
		/* The watchdog's cancel ends the recv; the core re-arms it. */
		if (!more && o->restarted && k->res == -ECANCELED && !sock_of(r, o->fd)->closing)
			out->res = -ENOBUFS;
	}
	if (op == IO_OP_ACCEPT && k->res >= 0)
		io_tune_accepted(k->res);
	if (!more) {
		int fd = o->fd;
		if (op == IO_OP_RECV) {
			ASSERT(sock_of(r, fd)->recv_slot == slot + 1);
			sock_of(r, fd)->recv_slot = 0;
		}
		op_free(r, slot);
		if (op == IO_OP_CLOSE) {
			memset(sock_of(r, fd), 0, sizeof(struct ur_sock));
		} else if (fd >= 0) {
			struct ur_sock *s = sock_of(r, fd);
			ASSERT(s->inflight > 0);
			if (--s->inflight == 0 && s->closing)
				issue_close(r, fd);
		}
	}
	return true;
}

/* Cancels a recv the watchdog found lost; its end reaches the core as
 * -ENOBUFS. Returns false if no SQE was free (the next sweep tries again). */
static bool restart_recv(struct io_ring *r, uint32_t slot)
{
	uint64_t kud = ur_ud_encode(IO_OP_RECV, r->ops[slot].gen, slot);
	struct io_uring_sqe *sqe = sqe_for(r, UR_OP_CANCEL, r->ops[slot].fd, 0, NULL);
	char msg[128];
	int n;

	if (sqe == NULL)
		return false;
	io_uring_prep_cancel64(sqe, kud, 0);
	r->ops[slot].restarted = 1; /* sqe_for may have moved r->ops */
	r->ops[slot].suspect = 0;
	r->restarts++;
	n = snprintf(msg, sizeof(msg),
		     "io_uring: fd %d was ready with its recv silent for a second; restarting "
		     "the recv (%llu so far)",
		     r->ops[slot].fd, (unsigned long long)r->restarts);
	io_log(&r->base, IO_LOG_NOTICE, msg, (size_t)n);
	return true;
}

/* Adds op slot's socket to the watchdog's poll set. */
static void sweep_add(struct io_ring *r, uint32_t n, uint32_t slot)
{
	if (n == r->pcap) {
		uint32_t cap = r->pcap ? r->pcap * 2 : 64;
		struct pollfd *p = realloc(r->pfds, cap * sizeof(*p));
		uint32_t *q = p ? realloc(r->pslots, cap * sizeof(*q)) : NULL;
		if (p == NULL || q == NULL)
			abort();
		r->pfds = p;
		r->pslots = q;
		r->pcap = cap;
	}
	r->pfds[n].fd = r->ops[slot].fd;
	r->pfds[n].events = POLLIN | POLLRDHUP;
	r->pfds[n].revents = 0;
	r->pslots[n] = slot;
}

/* The recv watchdog. A kernel can leave a multishot recv armed on a socket
 * that is ready, and never complete it: seen on Linux 6.18, a client reset
 * in the middle of a large request under heavy load; the recv sat in the
 * ring's poll list while poll() said POLLIN|POLLERR|POLLHUP. Each sweep
 * polls, in one call, the sockets whose recvs completed nothing since the
 * last sweep. One found ready twice in a row, a sweep apart, with nothing
 * completed between, lost its wakeup: it is cancelled and re-armed. A
 * recv that is merely waiting for data is never ready, so idle clients
 * cost one poll entry a sweep and nothing else. */
void io_uring_backend_sweep(struct io *io)
{
	struct io_ring *r = ur_of(io);
	uint32_t i, n = 0;

	for (i = 0; i < r->ops_cap; i++) {
		struct ur_op *o = &r->ops[i];
		if (!o->live || o->op != IO_OP_RECV)
			continue;
		if (o->heard || sock_of(r, o->fd)->closing) {
			o->heard = o->suspect = 0;
			continue;
		}
		sweep_add(r, n++, i);
	}
	if (n == 0 || poll(r->pfds, n, 0) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct ur_op *o = &r->ops[r->pslots[i]];
		if (!(r->pfds[i].revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP)))
			o->suspect = 0;
		else if (!o->suspect)
			o->suspect = 1;
		else if (!restart_recv(r, r->pslots[i]))
			break;
	}
}

/* Runs the watchdog about once per UR_SWEEP_NS. The clock is read on an
 * idle reap, or every 64th, so a busy loop pays almost nothing. */
static void maybe_sweep(struct io_ring *r, int reaped)
{
	struct timespec ts;
	uint64_t now;

	if (reaped > 0 && (++r->turns & 63) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now < r->next_sweep_ns)
		return;
	r->next_sweep_ns = now + UR_SWEEP_NS;
	io_uring_backend_sweep(&r->base);
}

uint64_t io_uring_backend_restarts(const struct io *io)
{
	return ((const struct io_ring *)io)->restarts;
}

static int ur_reap(struct io *io, struct io_cqe *out, int max)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_cqe *k;
	unsigned head, seen = 0;
	int n = 0;

	if (!r->attached)
		return 0;
	/* Completions may wait for this thread to enter the kernel: task work
	 * (COOP_TASKRUN), or the overflow list of a completion ring that was
	 * full. Enter only when the kernel says one of them is pending. */
	if (io_uring_cq_ready(&r->ring) == 0 &&
	    IO_URING_READ_ONCE(*r->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
		io_uring_get_events(&r->ring);
	io_uring_for_each_cqe(&r->ring, head, k) {
		if (n == max)
			break;
		seen++;
		if (translate(r, k, &out[n]))
			n++;
	}
	io_uring_cq_advance(&r->ring, seen);
	maybe_sweep(r, n);
	return n;
}

static const char *ur_buf(struct io *io, uint16_t buf)
{
	struct io_ring *r = ur_of(io);
	ASSERT(buf < IO_BUF_COUNT);
	ASSERT(r->lent[buf]);
	return r->bufs + (size_t)buf * IO_BUF_SIZE;
}

static void ur_buf_recycle(struct io *io, uint16_t buf)
{
	struct io_ring *r = ur_of(io);

	ASSERT(buf < IO_BUF_COUNT);
	ASSERT(r->lent[buf]);
	r->lent[buf] = 0;
	io_uring_buf_ring_add(r->br, r->bufs + (size_t)buf * IO_BUF_SIZE, IO_BUF_SIZE, buf,
			      io_uring_buf_ring_mask(IO_BUF_COUNT), 0);
	io_uring_buf_ring_advance(r->br, 1);
}

static void ur_wait(struct io *io, uint64_t timeout_ns)
{
	struct io_ring *r = ur_of(io);
	struct __kernel_timespec ts = { .tv_sec = (long long)(timeout_ns / 1000000000ull),
					.tv_nsec = (long long)(timeout_ns % 1000000000ull) };
	struct io_uring_cqe *cqe;

	if (r->deferred > 0)
		retry_deferred(r);
	if (io_uring_cq_ready(&r->ring) > 0) {
		ur_flush(io);
		return;
	}
	io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, timeout_ns ? &ts : NULL, NULL);
}

static void ur_wake_self(struct io *io)
{
	struct io_ring *r = ur_of(io);
	uint64_t one = 1;

	if (write(r->evfd, &one, sizeof(one)) < 0)
		return; /* counter full: a wake is pending anyway */
}

static int setup_buffers(struct io_ring *r)
{
	struct io_uring_buf_reg reg;
	size_t ring_bytes = IO_BUF_COUNT * sizeof(struct io_uring_buf);
	int i, rc;

	r->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		return -errno;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)r->br;
	reg.ring_entries = IO_BUF_COUNT;
	reg.bgid = UR_BGID;
	rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (rc < 0)
		return rc;
	io_uring_buf_ring_init(r->br);
	for (i = 0; i < IO_BUF_COUNT; i++)
		io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * IO_BUF_SIZE, IO_BUF_SIZE,
				      (unsigned short)i, io_uring_buf_ring_mask(IO_BUF_COUNT), i);
	io_uring_buf_ring_advance(r->br, IO_BUF_COUNT);
	return 0;
}

/* Creates the ring in the calling thread (SINGLE_ISSUER binds it there). */
static int ur_attach(struct io *io)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_params p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.flags = r->setup_flags | IORING_SETUP_CQSIZE;
	p.cq_entries = UR_CQ_ENTRIES;
	rc = io_uring_queue_init_params(UR_SQ_ENTRIES, &r->ring, &p);
	if (rc == -EINVAL && r->setup_flags != 0) {
		/* An older kernel: no SINGLE_ISSUER/COOP_TASKRUN. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = UR_CQ_ENTRIES;
		rc = io_uring_queue_init_params(UR_SQ_ENTRIES, &r->ring, &p);
	}
	if (rc < 0)
		return rc;
	r->attached = true;
	rc = setup_buffers(r);
	if (rc < 0)
		return rc;
	arm_wake(r);
	io_uring_submit(&r->ring);
	return 0;
}

/* Cancels everything synchronously, then frees the ring, on the ring's own
 * thread (SINGLE_ISSUER refuses registrations from any other). Without the
 * cancel, the kernel would tear the ring down asynchronously after exit, and
 * until then a multishot accept would keep the listening port open. */
static void ur_detach(struct io *io)
{
	struct io_ring *r = ur_of(io);
	struct io_uring_sync_cancel_reg reg;

	if (!r->attached)
		return;
	memset(&reg, 0, sizeof(reg));
	reg.flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
	reg.fd = -1;
	reg.timeout.tv_sec = 1;
	io_uring_register_sync_cancel(&r->ring, &reg);
	io_uring_queue_exit(&r->ring);
	r->attached = false;
}

static void ur_destroy(struct io *io)
{
	struct io_ring *r = ur_of(io);
	uint32_t i;

	ur_detach(io);
	/* Connects never reaped own their sockets; nobody else will close
	 * them. */
	for (i = 0; i < r->ops_cap; i++)
		if (r->ops[i].live && r->ops[i].op == IO_OP_CONNECT && r->ops[i].fd >= 0)
			close(r->ops[i].fd);
	if (r->br != NULL)
		munmap(r->br, IO_BUF_COUNT * sizeof(struct io_uring_buf));
	if (r->evfd >= 0)
		close(r->evfd);
	free(r->bufs);
	free(r->ops);
	free(r->socks);
	free(r->pfds);
	free(r->pslots);
	free(r);
}

static const struct io_ops ur_ops = {
	.name = "io_uring",
	.attach = ur_attach,
	.detach = ur_detach,
	.accept = ur_accept,
	.recv = ur_recv,
	.recv_stop = ur_recv_stop,
	.writev = ur_writev,
	.close = ur_close,
	.timer = ur_timer,
	.connect = ur_connect,
	.flush = ur_flush,
	.reap = ur_reap,
	.buf = ur_buf,
	.buf_recycle = ur_buf_recycle,
	.wait = ur_wait,
	.wake_self = ur_wake_self,
	.destroy = ur_destroy,
};

bool io_uring_backend_usable(void)
{
	struct io_uring ring;
	struct io_uring_probe *probe;
	bool ok;

	if (io_uring_queue_init(8, &ring, 0) != 0)
		return false;
	probe = io_uring_get_probe_ring(&ring);
	ok = probe != NULL && io_uring_opcode_supported(probe, IORING_OP_ACCEPT) &&
	     io_uring_opcode_supported(probe, IORING_OP_RECV) &&
	     io_uring_opcode_supported(probe, IORING_OP_WRITEV) &&
	     io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) &&
	     io_uring_opcode_supported(probe, IORING_OP_CLOSE) &&
	     io_uring_opcode_supported(probe, IORING_OP_CONNECT) &&
	     io_uring_opcode_supported(probe, IORING_OP_LINK_TIMEOUT);
	if (probe != NULL)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	return ok;
}

struct io *io_uring_backend_new(const struct io_env *env, const struct io_group *group, int *err)
{
	struct io_ring *r = calloc(1, sizeof(*r));
	uint32_t i;

	if (r == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->bufs = aligned_alloc(4096, (size_t)IO_BUF_COUNT * IO_BUF_SIZE);
	r->ops = calloc(UR_OPS_START, sizeof(*r->ops));
	if (r->evfd < 0 || r->bufs == NULL || r->ops == NULL) {
		*err = -ENOMEM;
		ur_destroy(&r->base);
		return NULL;
	}
	r->ops_cap = UR_OPS_START;
	for (i = 0; i < UR_OPS_START; i++)
		r->ops[i].next_free = i + 1 < UR_OPS_START ? i + 1 : UR_NO_SLOT;
	r->free_head = 0;
	r->setup_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
			 IORING_SETUP_TASKRUN_FLAG;
	io_base_init(&r->base, &ur_ops, env, group);
	return &r->base;
}
