/* io_epoll.c: the epoll backend. It emulates io.h's completions over
 * readiness, so the core runs unchanged where io_uring is missing.
 *
 *  - multishot accept and recv: while armed, the socket is registered for
 *    EPOLLIN (level-triggered); each readiness becomes accept4() or read()
 *    calls, each result a completion. A recv that finds no free buffer ends
 *    with -ENOBUFS, as io_uring's does.
 *  - writev: attempted at once with sendmsg(MSG_NOSIGNAL); on EAGAIN it waits
 *    for EPOLLOUT. A short write completes short.
 *  - close: cancels the socket's armed operations (-ECANCELED completions),
 *    closes the fd, then completes.
 *  - timers: a small array of deadlines on CLOCK_MONOTONIC, fired by
 *    io_wait().
 *  - connect: a non-blocking connect(); while it is in progress the socket
 *    waits for EPOLLOUT and SO_ERROR then gives the answer. Its deadline is
 *    kept with the socket and bounds io_wait()'s sleep like a timer's; once
 *    it passes, the socket is closed and the connect ends with -ETIMEDOUT.
 *    Even an answer known at once is queued as a completion.
 * Completions queue in an array and io_reap() hands them out; only
 * io_wait() talks to the kernel for new events, so a busy loop costs one
 * epoll_wait per turn, as in Redis's ae. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/limits.h"
#include "io/io_backend.h"

#define EP_EVENTS_MAX 256
#define EP_TIMERS_MAX 64
#define EP_ACCEPT_BATCH 64
#define EP_READS_PER_EVENT 4
#define EP_CQ_START 1024

#define EP_RECV 0x1u
#define EP_ACCEPT 0x2u
#define EP_WRITE 0x4u
#define EP_CONNECT 0x8u
#define EP_CONNS_START 16

struct ep_sock {
	uint32_t want;       /* EP_* operations armed */
	uint32_t registered; /* epoll events registered now */
	uint64_t recv_ud, accept_ud, write_ud, connect_ud;
	uint64_t connect_deadline; /* CLOCK_MONOTONIC */
	const struct iovec *iov;
	int iovcnt;
};

struct ep_timer {
	uint64_t deadline;
	uint64_t ud;
};

struct io_epoll {
	struct io base;
	int epfd, evfd;
	char *bufs;
	uint16_t free[IO_BUF_COUNT];
	uint32_t nfree;
	uint8_t lent[IO_BUF_COUNT];
	struct io_cqe *cq;
	uint32_t cq_head, cq_n, cq_cap;
	struct ep_sock *socks;
	uint32_t nsocks;
	struct ep_timer timers[EP_TIMERS_MAX];
	uint32_t ntimers;
	int *conns; /* sockets with a connect in progress */
	uint32_t nconns, conns_cap;
};

static struct io_epoll *ep_of(struct io *io)
{
	return (struct io_epoll *)io;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void push(struct io_epoll *ep, uint8_t op, uint64_t ud, int32_t res, uint16_t flags,
		 uint16_t buf)
{
	struct io_cqe *c;

	if (ep->cq_n == ep->cq_cap) {
		uint32_t cap = ep->cq_cap * 2;
		struct io_cqe *n = realloc(ep->cq, cap * sizeof(*n));
		if (n == NULL)
			abort();
		ep->cq = n;
		ep->cq_cap = cap;
	}
	c = &ep->cq[ep->cq_n++];
	c->user_data = ud;
	c->res = res;
	c->flags = flags;
	c->buf = buf;
	c->op = op;
}

static struct ep_sock *sock_of(struct io_epoll *ep, int fd)
{
	ASSERT(fd >= 0);
	if ((uint32_t)fd >= ep->nsocks) {
		uint32_t n = ep->nsocks ? ep->nsocks : 1024;
		struct ep_sock *s;
		while (n <= (uint32_t)fd)
			n *= 2;
		s = realloc(ep->socks, n * sizeof(*s));
		if (s == NULL)
			abort();
		memset(s + ep->nsocks, 0, (n - ep->nsocks) * sizeof(*s));
		ep->socks = s;
		ep->nsocks = n;
	}
	return &ep->socks[fd];
}

/* Registers exactly the events the armed operations need. */
static int update(struct io_epoll *ep, int fd)
{
	struct ep_sock *s = sock_of(ep, fd);
	struct epoll_event e;
	uint32_t ev = 0;
	int op;

	if (s->want & (EP_RECV | EP_ACCEPT))
		ev |= EPOLLIN;
	if (s->want & (EP_WRITE | EP_CONNECT))
		ev |= EPOLLOUT;
	if (ev == s->registered)
		return 0;
	op = s->registered == 0 ? EPOLL_CTL_ADD : ev == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.fd = fd;
	if (epoll_ctl(ep->epfd, op, fd, &e) != 0)
		return -errno;
	s->registered = ev;
	return 0;
}

static int ep_accept(struct io *io, int listener, uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);
	struct ep_sock *s = sock_of(ep, listener);

	ASSERT(!(s->want & EP_ACCEPT));
	s->want |= EP_ACCEPT;
	s->accept_ud = ud;
	return update(ep, listener);
}

static int ep_recv(struct io *io, int sock, uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);
	struct ep_sock *s = sock_of(ep, sock);

	ASSERT(!(s->want & EP_RECV)); /* one recv per socket */
	s->want |= EP_RECV;
	s->recv_ud = ud;
	return update(ep, sock);
}

static void end_recv(struct io_epoll *ep, int fd, struct ep_sock *s, int32_t res);

static int ep_recv_stop(struct io *io, int sock)
{
	struct io_epoll *ep = ep_of(io);
	struct ep_sock *s = sock_of(ep, sock);

	if (s->want & EP_RECV)
		end_recv(ep, sock, s, -ECANCELED);
	return 0;
}

static int send_iov(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)iov;
	m.msg_iovlen = (size_t)iovcnt;
	do {
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (int)n;
}

static int ep_writev(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);
	struct ep_sock *s = sock_of(ep, sock);
	int n;

	ASSERT(!(s->want & EP_WRITE)); /* one write per socket */
	n = send_iov(sock, iov, iovcnt);
	if (n != -EAGAIN) {
		push(ep, IO_OP_WRITEV, ud, n, 0, 0);
		return 0;
	}
	s->want |= EP_WRITE;
	s->write_ud = ud;
	s->iov = iov;
	s->iovcnt = iovcnt;
	return update(ep, sock);
}

static int ep_close(struct io *io, int sock, uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);
	struct ep_sock *s = sock_of(ep, sock);

	ASSERT(!(s->want & EP_CONNECT)); /* the core has no handle before the end */
	if (s->want & EP_RECV)
		push(ep, IO_OP_RECV, s->recv_ud, -ECANCELED, 0, 0);
	if (s->want & EP_WRITE)
		push(ep, IO_OP_WRITEV, s->write_ud, -ECANCELED, 0, 0);
	if (s->want & EP_ACCEPT)
		push(ep, IO_OP_ACCEPT, s->accept_ud, -ECANCELED, 0, 0);
	if (s->registered != 0)
		epoll_ctl(ep->epfd, EPOLL_CTL_DEL, sock, NULL);
	memset(s, 0, sizeof(*s));
	push(ep, IO_OP_CLOSE, ud, close(sock) == 0 ? 0 : -errno, 0, 0);
	return 0;
}

static int ep_timer(struct io *io, uint64_t delay_ns, uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);

	if (ep->ntimers == EP_TIMERS_MAX)
		return -EBUSY;
	ep->timers[ep->ntimers].deadline = mono_ns() + delay_ns;
	ep->timers[ep->ntimers].ud = ud;
	ep->ntimers++;
	return 0;
}

static void conn_add(struct io_epoll *ep, int fd)
{
	if (ep->nconns == ep->conns_cap) {
		uint32_t cap = ep->conns_cap ? ep->conns_cap * 2 : EP_CONNS_START;
		int *n = realloc(ep->conns, cap * sizeof(*n));
		if (n == NULL)
			abort();
		ep->conns = n;
		ep->conns_cap = cap;
	}
	ep->conns[ep->nconns++] = fd;
}

static void conn_remove(struct io_epoll *ep, int fd)
{
	uint32_t i = 0;

	while (i < ep->nconns && ep->conns[i] != fd)
		i++;
	ASSERT(i < ep->nconns);
	ep->conns[i] = ep->conns[--ep->nconns];
}

/* Ends the connect on fd with err (0 or -errno). On success the socket goes
 * to the core, no longer watched; on failure it is closed here, so a failed
 * connect never leaves a descriptor behind. */
static void end_connect(struct io_epoll *ep, int fd, int32_t err)
{
	struct ep_sock *s = sock_of(ep, fd);
	uint64_t ud = s->connect_ud;

	conn_remove(ep, fd);
	if (err == 0) {
		s->want &= ~EP_CONNECT;
		update(ep, fd);
		push(ep, IO_OP_CONNECT, ud, fd, 0, 0);
		return;
	}
	if (s->registered != 0)
		epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(s, 0, sizeof(*s));
	close(fd);
	push(ep, IO_OP_CONNECT, ud, err, 0, 0);
}

static int ep_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
		      uint64_t ud)
{
	struct io_epoll *ep = ep_of(io);
	union io_sockaddr sa;
	socklen_t len;
	struct ep_sock *s;
	int fd = io_connect_prepare(ip, port, &sa, &len), rc;

	if (fd < 0) {
		push(ep, IO_OP_CONNECT, ud, fd, 0, 0);
		return 0;
	}
	rc = connect(fd, &sa.sa, len) == 0 ? 0 : -errno;
	s = sock_of(ep, fd);
	ASSERT(s->want == 0 && s->registered == 0);
	s->want = EP_CONNECT;
	s->connect_ud = ud;
	s->connect_deadline = mono_ns() + timeout_ns;
	conn_add(ep, fd);
	/* EINTR leaves the connect going on, as EINPROGRESS does (POSIX). */
	if (rc == -EINPROGRESS || rc == -EINTR) {
		rc = update(ep, fd);
		if (rc == 0)
			return 0;
	}
	end_connect(ep, fd, rc);
	return 0;
}

static void ep_flush(struct io *io)
{
	(void)io; /* writes happen when submitted */
}

static int ep_reap(struct io *io, struct io_cqe *out, int max)
{
	struct io_epoll *ep = ep_of(io);
	uint32_t n = ep->cq_n - ep->cq_head;

	if (n > (uint32_t)max)
		n = (uint32_t)max;
	memcpy(out, ep->cq + ep->cq_head, n * sizeof(*out));
	ep->cq_head += n;
	if (ep->cq_head == ep->cq_n)
		ep->cq_head = ep->cq_n = 0;
	return (int)n;
}

static const char *ep_buf(struct io *io, uint16_t buf)
{
	struct io_epoll *ep = ep_of(io);
	ASSERT(buf < IO_BUF_COUNT);
	ASSERT(ep->lent[buf]);
	return ep->bufs + (size_t)buf * IO_BUF_SIZE;
}

static void ep_buf_recycle(struct io *io, uint16_t buf)
{
	struct io_epoll *ep = ep_of(io);

	ASSERT(buf < IO_BUF_COUNT);
	ASSERT(ep->lent[buf]);
	ep->lent[buf] = 0;
	ep->free[ep->nfree++] = buf;
}

static void do_accept(struct io_epoll *ep, int fd, struct ep_sock *s)
{
	int i;

	for (i = 0; i < EP_ACCEPT_BATCH; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c >= 0) {
			io_tune_accepted(c);
			push(ep, IO_OP_ACCEPT, s->accept_ud, c, IO_F_MORE, 0);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* EMFILE and the like end the multishot accept; the core
		 * decides when to try again. */
		push(ep, IO_OP_ACCEPT, s->accept_ud, -errno, 0, 0);
		s->want &= ~EP_ACCEPT;
		update(ep, fd);
		return;
	}
}

static void end_recv(struct io_epoll *ep, int fd, struct ep_sock *s, int32_t res)
{
	push(ep, IO_OP_RECV, s->recv_ud, res, 0, 0);
	s->want &= ~EP_RECV;
	update(ep, fd);
}

static void do_recv(struct io_epoll *ep, int fd, struct ep_sock *s)
{
	int i;

	for (i = 0; i < EP_READS_PER_EVENT; i++) {
		uint16_t b;
		ssize_t n;
		if (ep->nfree == 0) {
			end_recv(ep, fd, s, -ENOBUFS);
			return;
		}
		b = ep->free[--ep->nfree];
		n = read(fd, ep->bufs + (size_t)b * IO_BUF_SIZE, IO_BUF_SIZE);
		if (n > 0) {
			ep->lent[b] = 1;
			push(ep, IO_OP_RECV, s->recv_ud, (int32_t)n, IO_F_MORE | IO_F_BUFFER, b);
			if (n < IO_BUF_SIZE)
				return;
			continue;
		}
		ep->free[ep->nfree++] = b;
		if (n == 0) {
			end_recv(ep, fd, s, 0);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		end_recv(ep, fd, s, -errno);
		return;
	}
}

static void do_write(struct io_epoll *ep, int fd, struct ep_sock *s)
{
	int n = send_iov(fd, s->iov, s->iovcnt);

	if (n == -EAGAIN)
		return;
	push(ep, IO_OP_WRITEV, s->write_ud, n, 0, 0);
	s->want &= ~EP_WRITE;
	s->iov = NULL;
	update(ep, fd);
}

/* A connecting socket reported writable or failed: SO_ERROR has the
 * answer. */
static void do_connect(struct io_epoll *ep, int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	end_connect(ep, fd, -err);
}

/* Ends the connects whose deadline has passed. It runs after the wait's
 * events, so an answer that came in time wins over the deadline. */
static void expire_connects(struct io_epoll *ep)
{
	uint64_t now = mono_ns();
	uint32_t i = 0;

	while (i < ep->nconns) {
		int fd = ep->conns[i];
		if (sock_of(ep, fd)->connect_deadline <= now)
			end_connect(ep, fd, -ETIMEDOUT); /* moves the last entry to i */
		else
			i++;
	}
}

/* How long io_wait may sleep, in ms rounded up: at most timeout_ns, none if
 * completions wait, and never past a timer's or a connect's deadline. */
static int wait_ms(struct io_epoll *ep, uint64_t timeout_ns)
{
	uint64_t now = mono_ns(), deadline;
	uint32_t i;

	if (ep->cq_n > ep->cq_head)
		return 0;
	for (i = 0; i < ep->ntimers + ep->nconns; i++) {
		if (i < ep->ntimers)
			deadline = ep->timers[i].deadline;
		else
			deadline = sock_of(ep, ep->conns[i - ep->ntimers])->connect_deadline;
		if (deadline <= now)
			return 0;
		if (deadline - now < timeout_ns)
			timeout_ns = deadline - now;
	}
	return (int)((timeout_ns + 999999) / 1000000);
}

static void fire_timers(struct io_epoll *ep)
{
	uint64_t now = mono_ns();
	uint32_t i = 0;

	while (i < ep->ntimers) {
		if (ep->timers[i].deadline <= now) {
			push(ep, IO_OP_TIMER, ep->timers[i].ud, 0, 0, 0);
			ep->timers[i] = ep->timers[--ep->ntimers];
		} else {
			i++;
		}
	}
}

static void ep_wait(struct io *io, uint64_t timeout_ns)
{
	struct io_epoll *ep = ep_of(io);
	struct epoll_event evs[EP_EVENTS_MAX];
	int n, k;

	n = epoll_wait(ep->epfd, evs, EP_EVENTS_MAX, wait_ms(ep, timeout_ns));
	for (k = 0; k < n; k++) {
		int fd = evs[k].data.fd;
		uint32_t e = evs[k].events;
		struct ep_sock *s;
		if (fd == ep->evfd) {
			uint64_t v;
			if (read(ep->evfd, &v, sizeof(v)) < 0)
				continue;
			continue;
		}
		s = sock_of(ep, fd);
		if (s->want & EP_CONNECT) {
			do_connect(ep, fd);
			continue;
		}
		if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (s->want & EP_ACCEPT))
			do_accept(ep, fd, s);
		else if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (s->want & EP_RECV))
			do_recv(ep, fd, s);
		if ((e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && (s->want & EP_WRITE))
			do_write(ep, fd, s);
	}
	fire_timers(ep);
	expire_connects(ep);
}

static void ep_wake_self(struct io *io)
{
	struct io_epoll *ep = ep_of(io);
	uint64_t one = 1;

	if (write(ep->evfd, &one, sizeof(one)) < 0)
		return; /* the counter is full: a wake is pending anyway */
}

static void ep_destroy(struct io *io)
{
	struct io_epoll *ep = ep_of(io);
	uint32_t i;

	/* Connects still in progress own their sockets; nobody else will
	 * close them. */
	for (i = 0; i < ep->nconns; i++)
		close(ep->conns[i]);
	free(ep->conns);
	close(ep->epfd);
	close(ep->evfd);
	free(ep->bufs);
	free(ep->cq);
	free(ep->socks);
	free(ep);
}

static const struct io_ops ep_ops = {
	.name = "epoll",
	.accept = ep_accept,
	.recv = ep_recv,
	.recv_stop = ep_recv_stop,
	.writev = ep_writev,
	.close = ep_close,
	.timer = ep_timer,
	.connect = ep_connect,
	.flush = ep_flush,
	.reap = ep_reap,
	.buf = ep_buf,
	.buf_recycle = ep_buf_recycle,
	.wait = ep_wait,
	.wake_self = ep_wake_self,
	.destroy = ep_destroy,
};

struct io *io_epoll_new(const struct io_env *env, const struct io_group *group, int *err)
{
	struct io_epoll *ep = calloc(1, sizeof(*ep));
	struct epoll_event e;
	uint32_t i;

	if (ep == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	ep->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ep->bufs = malloc((size_t)IO_BUF_COUNT * IO_BUF_SIZE);
	ep->cq = malloc(EP_CQ_START * sizeof(*ep->cq));
	ep->cq_cap = EP_CQ_START;
	if (ep->epfd < 0 || ep->evfd < 0 || ep->bufs == NULL || ep->cq == NULL)
		goto fail;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.fd = ep->evfd;
	if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, ep->evfd, &e) != 0)
		goto fail;
	for (i = 0; i < IO_BUF_COUNT; i++)
		ep->free[i] = (uint16_t)(IO_BUF_COUNT - 1 - i);
	ep->nfree = IO_BUF_COUNT;
	io_base_init(&ep->base, &ep_ops, env, group);
	return &ep->base;
fail:
	*err = -errno ? -errno : -ENOMEM;
	if (ep->epfd >= 0)
		close(ep->epfd);
	if (ep->evfd >= 0)
		close(ep->evfd);
	free(ep->bufs);
	free(ep->cq);
	free(ep);
	return NULL;
}
