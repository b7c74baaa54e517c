/* test_io_connect.c: CONNECT on both real backends, io_uring and epoll, with
 * real loopback sockets.
 *
 * Goal: io_connect keeps io.h's contract on each backend. A connect that is
 * answered ends with a handle that is a real connected socket (non-blocking,
 * TCP_NODELAY, good for writev, recv and close); a refused one ends with
 * -ECONNREFUSED; an unanswered one with -ETIMEDOUT once its timeout has
 * passed, and not much later; a bad address with -EINVAL and a full
 * descriptor table with -EMFILE, through the completion and not the
 * submission. Each ends through exactly one completion, a failure leaves no
 * descriptor open, connects in flight together end independently with
 * their own user_data, a backend destroyed mid-connect closes the socket,
 * a recv stopped early (RECV_STOP) ends once and can be armed again,
 * and io_uring's linked timeout never shows itself to the core, nor does
 * its op table growing in the middle of a CONNECT.
 *
 * Method: every case runs once per backend (the cmocka state names which).
 * The test plays the far end with plain syscalls, on 127.0.0.1 or ::1 only:
 * a listener on port 0 answers; a port that was bound and released refuses;
 * and a listener with backlog 0 whose accept queue the test has filled stays
 * silent, because Linux drops a SYN while the accept queue is full
 * (tcp_conn_request, with or without syncookies), so the connect can only
 * time out. Leaks are counted as the entries of /proc/self/fd before and
 * after. io_uring's cases skip where io_uring is not usable; the binary
 * exits 77 only if no backend can run. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/limits.h"
#include "io/io.h"
#include "io/io_backend.h"

/* user_data near the top of what the core may use, to see it come back
 * whole. */
#define UD_TOP ((1ull << IO_USER_DATA_BITS) - 1)
#define UD_CONNECT (UD_TOP - 1)
#define UD_WRITE (UD_TOP - 2)
#define UD_RECV (UD_TOP - 3)
#define UD_CLOSE (UD_TOP - 4)
#define MS 1000000ull
#define TIMEOUT_NS (200 * MS) /* the short timeout of the silent cases */
#define LATE_NS (3000 * MS)   /* a completion later than this is a failure */
#define FILLERS 3

enum backend { BACKEND_URING, BACKEND_EPOLL };
static enum backend uring = BACKEND_URING, epoll = BACKEND_EPOLL;

struct fixture {
	struct io_env env;
	struct io_group group;
	enum backend kind;
	struct io *io; /* NULL: the backend cannot run here */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Opens backend b into f->io, attached; NULL where it cannot run. */
static void open_backend(struct fixture *f, enum backend b)
{
	int err = 0;

	f->io = NULL;
	if (b == BACKEND_EPOLL) {
		f->io = io_epoll_new(&f->env, &f->group, &err);
		assert_non_null(f->io);
	} else if (io_uring_backend_usable()) {
		f->io = io_uring_backend_new(&f->env, &f->group, &err);
		assert_non_null(f->io);
		assert_int_equal(io_attach(f->io), 0);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->env.log_fd = 2;
	f->env.pid = (int)getpid();
	f->env.role = 'M';
	f->group.ios = &f->io;
	f->group.n = 1;
	f->kind = *(enum backend *)*state;
	open_backend(f, f->kind);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->io != NULL) {
		io_detach(f->io);
		io_destroy(f->io);
	}
	free(f);
	return 0;
}

/* The fixture, or a skip where its backend cannot run. */
static struct fixture *need(void **state)
{
	struct fixture *f = *state;

	if (f->io == NULL) {
		fprintf(stderr, "io_uring is not usable on this kernel: skipped\n");
		skip();
	}
	return f;
}

/* Open descriptors of the process (the directory's own included, the same
 * each time). */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The next completion, waiting up to LATE_NS for it, in io_waits of at
 * most wait_ns each. A long wait_ns leaves it to the backend to wake up
 * when something is due. */
static struct io_cqe next_cqe_waiting(struct fixture *f, uint64_t wait_ns)
{
	uint64_t end = mono_ns() + LATE_NS;
	struct io_cqe c;

	while (mono_ns() < end) {
		if (io_reap(f->io, &c, 1) == 1)
			return c;
		io_wait(f->io, wait_ns);
	}
	fail_msg("no completion within %llu ms", (unsigned long long)(LATE_NS / MS));
	return c;
}

static struct io_cqe next_cqe(struct fixture *f)
{
	return next_cqe_waiting(f, 10 * MS);
}

/* No completion at all for ns: nothing the backend keeps to itself (a
 * linked timeout's end) leaks out. */
static void expect_quiet(struct fixture *f, uint64_t ns)
{
	uint64_t end = mono_ns() + ns;
	struct io_cqe c;

	while (mono_ns() < end) {
		if (io_reap(f->io, &c, 1) == 1)
			fail_msg("unexpected completion: op %u res %d ud %#llx", c.op, c.res,
				 (unsigned long long)c.user_data);
		io_wait(f->io, 10 * MS);
	}
}

/* A loopback listener on a port of the kernel's choice. Returns it, or -1
 * where the family has no loopback (IPv6 disabled). */
static int listener(int family, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*a4) : sizeof(*a6);
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		a6->sin6_addr = in6addr_loopback;
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, backlog) != 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	assert_int_equal(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? a4->sin_port : a6->sin6_port);
	return l;
}

/* A loopback port nobody listens on: bound, read, released. */
static uint16_t closed_port(void)
{
	uint16_t port = 0;
	int l = listener(AF_INET, 1, &port);

	assert_true(l >= 0);
	close(l);
	return port;
}

/* A listener that answers no SYN: backlog 0, and FILLERS plain
 * non-blocking connects. The first is answered and fills the accept queue
 * (or, on older kernels without syncookies, is dropped too); from
 * then on every SYN is dropped, since tcp_conn_request drops a SYN while
 * the accept queue is full, syncookies or not. Either way the connect
 * under test hears nothing. */
static int silent_listener(uint16_t *port, int fillers[FILLERS])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct pollfd p;
	int l = listener(AF_INET, 0, port), i;

	assert_true(l >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(*port);
	for (i = 0; i < FILLERS; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fillers[i] >= 0);
		if (connect(fillers[i], (struct sockaddr *)&a, sizeof(a)) != 0)
			assert_int_equal(errno, EINPROGRESS);
		if (i == 0) {
			/* In the queue before the next SYN is sent; where it
			 * is dropped instead, the wait only costs time. */
			p.fd = fillers[0];
			p.events = POLLOUT;
			poll(&p, 1, 1000);
		}
	}
	return l;
}

static void close_all(int l, int fillers[FILLERS])
{
	int i;

	for (i = 0; i < FILLERS; i++)
		close(fillers[i]);
	close(l);
}

/* Submits one connect and returns its completion, waiting for it in
 * io_waits of wait_ns. */
static struct io_cqe connect_waiting(struct fixture *f, const char *ip, uint16_t port,
				     uint64_t timeout_ns, uint64_t wait_ns)
{
	struct io_cqe c;

	assert_int_equal(io_connect(f->io, ip, port, timeout_ns, UD_CONNECT), 0);
	io_flush(f->io);
	c = next_cqe_waiting(f, wait_ns);
	assert_int_equal(c.op, IO_OP_CONNECT);
	assert_int_equal(c.user_data, UD_CONNECT);
	assert_int_equal(c.flags, 0);
	return c;
}

static struct io_cqe connect_once(struct fixture *f, const char *ip, uint16_t port,
				  uint64_t timeout_ns)
{
	return connect_waiting(f, ip, port, timeout_ns, 10 * MS);
}

/* A handle is what io.h promises: non-blocking, with TCP_NODELAY. */
static void check_handle(int h)
{
	int one = 0;
	socklen_t len = sizeof(one);

	assert_true(h >= 0);
	assert_true(fcntl(h, F_GETFL) & O_NONBLOCK);
	assert_int_equal(getsockopt(h, IPPROTO_TCP, TCP_NODELAY, &one, &len), 0);
	assert_int_not_equal(one, 0);
}

/* The accepted end of the connect just made, with a receive timeout so a
 * failure cannot hang the test. */
static int accept_peer(int l)
{
	struct timeval tv = { .tv_sec = 5 };
	int a = accept(l, NULL, NULL);

	assert_true(a >= 0);
	assert_int_equal(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return a;
}

/* Bytes both ways: a WRITEV on the handle read by the peer, and the peer's
 * bytes in a RECV on the handle. Leaves the recv armed. */
static void exchange(struct fixture *f, int h, int peer)
{
	char ping[] = "ping", buf[8];
	struct iovec iov = { .iov_base = ping, .iov_len = 4 };
	struct io_cqe c;

	assert_int_equal(io_writev(f->io, h, &iov, 1, UD_WRITE), 0);
	io_flush(f->io);
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_WRITEV);
	assert_int_equal(c.user_data, UD_WRITE);
	assert_int_equal(c.res, 4);
	assert_int_equal(recv(peer, buf, 4, MSG_WAITALL), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(io_recv(f->io, h, UD_RECV), 0);
	io_flush(f->io);
	assert_int_equal(write(peer, "pong", 4), 4);
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_RECV);
	assert_int_equal(c.user_data, UD_RECV);
	assert_int_equal(c.res, 4);
	assert_true(c.flags & IO_F_BUFFER);
	assert_memory_equal(io_buf(f->io, c.buf), "pong", 4);
	io_buf_recycle(f->io, c.buf);
}

/* io_close on a handle: the armed recv ends cancelled (if any), then the
 * CLOSE completes, last. */
static void close_handle(struct fixture *f, int h, bool recv_armed)
{
	struct io_cqe c;

	assert_int_equal(io_close(f->io, h, UD_CLOSE), 0);
	io_flush(f->io);
	if (recv_armed) {
		c = next_cqe(f);
		assert_int_equal(c.op, IO_OP_RECV);
		assert_int_equal(c.res, -ECANCELED);
		assert_false(c.flags & IO_F_MORE);
	}
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_CLOSE);
	assert_int_equal(c.user_data, UD_CLOSE);
	assert_int_equal(c.res, 0);
}

/* An answered connect over family's loopback: a working handle; the
 * connect's timeout passing later changes nothing. */
static void connect_and_talk(struct fixture *f, int family, const char *ip)
{
	uint16_t port = 0;
	int before = fd_count(), l = listener(family, 4, &port), a, h;

	if (l < 0) {
		fprintf(stderr, "no %s loopback here: skipped\n", ip);
		skip();
	}
	h = connect_once(f, ip, port, TIMEOUT_NS).res;
	check_handle(h);
	a = accept_peer(l);
	expect_quiet(f, TIMEOUT_NS + 100 * MS);
	exchange(f, h, a);
	close_handle(f, h, true);
	close(a);
	close(l);
	assert_int_equal(fd_count(), before);
}

/* RECV_STOP (backpressure): the armed recv ends once, with -ECANCELED
 * and no IO_F_MORE; a second stop, or one after the end, does nothing;
 * bytes the peer sends meanwhile wait in the socket, and a re-armed recv
 * reads them. */
static void test_recv_stop(void **state)
{
	struct fixture *f = need(state);
	uint16_t port = 0;
	int before = fd_count(), l = listener(AF_INET, 4, &port), a, h;
	struct io_cqe c;

	h = connect_once(f, "127.0.0.1", port, TIMEOUT_NS).res;
	check_handle(h);
	a = accept_peer(l);
	exchange(f, h, a);
	assert_int_equal(io_recv_stop(f->io, h), 0);
	io_flush(f->io);
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_RECV);
	assert_int_equal(c.user_data, UD_RECV);
	assert_int_equal(c.res, -ECANCELED);
	assert_false(c.flags & (IO_F_MORE | IO_F_BUFFER));
	assert_int_equal(io_recv_stop(f->io, h), 0);
	io_flush(f->io);
	assert_int_equal(write(a, "later", 5), 5);
	expect_quiet(f, 100 * MS);
	assert_int_equal(io_recv(f->io, h, UD_RECV), 0);
	io_flush(f->io);
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_RECV);
	assert_int_equal(c.res, 5);
	assert_true(c.flags & IO_F_MORE);
	assert_memory_equal(io_buf(f->io, c.buf), "later", 5);
	io_buf_recycle(f->io, c.buf);
	close_handle(f, h, true);
	close(a);
	close(l);
	assert_int_equal(fd_count(), before);
}

static void test_success(void **state)
{
	connect_and_talk(need(state), AF_INET, "127.0.0.1");
}

static void test_success_ipv6(void **state)
{
	connect_and_talk(need(state), AF_INET6, "::1");
}

static void test_refused(void **state)
{
	struct fixture *f = need(state);
	uint16_t port = closed_port();
	int before = fd_count();

	assert_int_equal(connect_once(f, "127.0.0.1", port, LATE_NS).res, -ECONNREFUSED);
	assert_int_equal(fd_count(), before);
	expect_quiet(f, 50 * MS);
}

/* No answer: -ETIMEDOUT once the timeout has passed, well before the
 * first SYN retransmission (1 s) could change anything, and the socket
 * closed. The test waits in io_waits longer than the whole case may take,
 * so the backend itself must wake up for the deadline. */
static void test_timeout(void **state)
{
	struct fixture *f = need(state);
	int fillers[FILLERS], l, before;
	uint16_t port = 0;
	uint64_t t0, took;
	struct io_cqe c;

	l = silent_listener(&port, fillers);
	before = fd_count();
	t0 = mono_ns();
	c = connect_waiting(f, "127.0.0.1", port, TIMEOUT_NS, LATE_NS);
	took = mono_ns() - t0;
	if (c.res >= 0) {
		/* The kernel answered despite the full queue: the answer
		 * must still be a good handle, but the timeout went
		 * untested. */
		check_handle(c.res);
		close_handle(f, c.res, false);
		close_all(l, fillers);
		fprintf(stderr, "the kernel answered a SYN to a full accept queue: timeout "
				"not provoked, skipped\n");
		skip();
	}
	assert_int_equal(c.res, -ETIMEDOUT);
	assert_true(took >= TIMEOUT_NS);
	assert_true(took < TIMEOUT_NS + 700 * MS);
	assert_int_equal(fd_count(), before);
	expect_quiet(f, 100 * MS);
	close_all(l, fillers);
}

/* Not a numeric address: the submission succeeds and the completion says
 * -EINVAL, as for any other failure; nothing is opened. */
static void test_bad_address(void **state)
{
	static const char *const bad[] = { "not-an-ip", "",      "localhost", "127.0.0.1:80",
					   "256.0.0.1", "[::1]", "::1%lo0" };
	struct fixture *f = need(state);
	int before = fd_count();
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(connect_once(f, bad[i], 80, LATE_NS).res, -EINVAL);
	assert_int_equal(fd_count(), before);
	expect_quiet(f, 50 * MS);
}

/* No descriptor left (RLIMIT_NOFILE lowered to the lowest free number):
 * socket() fails at submission, and the failure still comes through the
 * completion. The limit is back before anything is checked. */
static void test_no_descriptor_left(void **state)
{
	struct fixture *f = need(state);
	uint16_t port = closed_port();
	int lowest = dup(0), rc;
	struct rlimit old, low;
	struct io_cqe c;

	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = io_connect(f->io, "127.0.0.1", port, LATE_NS, UD_CONNECT);
	io_flush(f->io);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rc, 0);
	c = next_cqe(f);
	assert_int_equal(c.op, IO_OP_CONNECT);
	assert_int_equal(c.user_data, UD_CONNECT);
	assert_int_equal(c.res, -EMFILE);
	expect_quiet(f, 50 * MS);
}

/* Connects in flight together. */
struct want {
	const char *ip;
	int kind; /* 0: answered, 1: refused, 2: silent, 3: bad address */
	int32_t res;
	bool done;
};

/* Seven connects submitted before any is reaped, with every outcome among
 * them; each ends once, with its own user_data and its own answer. */
static void test_many_in_flight(void **state)
{
	struct want w[] = { { "127.0.0.1", 0 }, { "127.0.0.1", 1 }, { "127.0.0.1", 0 }, { "no", 3 },
			    { "127.0.0.1", 2 }, { "127.0.0.1", 1 }, { "127.0.0.1", 0 } };
	const int n = (int)(sizeof(w) / sizeof(w[0]));
	struct fixture *f = need(state);
	int fillers[FILLERS], i, got, before;
	uint16_t open_port = 0, silent_port = 0, refused_port = closed_port();
	int l = listener(AF_INET, 16, &open_port), quiet = silent_listener(&silent_port, fillers);
	uint16_t ports[] = { open_port, refused_port, silent_port, 80 };

	assert_true(l >= 0);
	before = fd_count();
	for (i = 0; i < n; i++)
		assert_int_equal(
			io_connect(f->io, w[i].ip, ports[w[i].kind], TIMEOUT_NS, UD_TOP - i), 0);
	io_flush(f->io);
	for (got = 0; got < n; got++) {
		struct io_cqe c = next_cqe(f);
		uint64_t k = UD_TOP - c.user_data;
		assert_int_equal(c.op, IO_OP_CONNECT);
		assert_true(k < (uint64_t)n && !w[k].done);
		w[k].done = true;
		w[k].res = c.res;
	}
	for (i = 0; i < n; i++) {
		static const int32_t want_res[] = { 0, -ECONNREFUSED, -ETIMEDOUT, -EINVAL };
		if (w[i].kind != 0) {
			assert_int_equal(w[i].res, want_res[w[i].kind]);
			continue;
		}
		check_handle(w[i].res);
		close(accept_peer(l));
		close_handle(f, w[i].res, false);
	}
	expect_quiet(f, 50 * MS);
	assert_int_equal(fd_count(), before);
	close(l);
	close_all(quiet, fillers);
}

/* A backend destroyed with a connect in flight closes its socket: the
 * core has no handle for it, so nobody else could. */
static void test_destroy_with_connect_in_flight(void **state)
{
	struct fixture *f = need(state);
	int fillers[FILLERS], l, before;
	uint16_t port = 0;

	l = silent_listener(&port, fillers);
	io_detach(f->io);
	io_destroy(f->io);
	f->io = NULL; /* for teardown, should a check fail */
	before = fd_count();
	open_backend(f, f->kind);
	assert_int_equal(io_connect(f->io, "127.0.0.1", port, LATE_NS, UD_CONNECT), 0);
	io_flush(f->io);
	io_wait(f->io, 50 * MS);
	assert_int_equal(io_reap(f->io, &(struct io_cqe){ 0 }, 1), 0);
	io_detach(f->io);
	io_destroy(f->io);
	f->io = NULL;
	assert_int_equal(fd_count(), before);
	open_backend(f, f->kind);
	close_all(l, fillers);
}

/* io_uring only: its op table (UR_OPS_START, 1024 slots) grows while a
 * CONNECT takes its two slots. Growing submits what is queued, since queued
 * SQEs may point into the table; an SQE taken but not yet prepared must
 * not be among them. Timers that will not fire in the test fill the table
 * to each of the last few free slots in turn, one fresh ring each. */
static void test_uring_table_grows_mid_connect(void **state)
{
	struct fixture *f = need(state);
	uint16_t port = 0;
	int l = listener(AF_INET, 64, &port), live, i, h;

	assert_true(l >= 0);
	for (live = 1018; live <= 1024; live++) {
		/* The wake poll holds one slot. */
		for (i = 1; i < live; i++)
			assert_int_equal(io_timer(f->io, 60000 * MS, UD_TOP), 0);
		io_flush(f->io);
		h = connect_once(f, "127.0.0.1", port, LATE_NS).res;
		check_handle(h);
		close(accept_peer(l));
		close_handle(f, h, false);
		io_detach(f->io);
		io_destroy(f->io);
		open_backend(f, BACKEND_URING);
	}
	close(l);
}

#define BOTH(test)                                                                                 \
	{ "io_uring " #test, test, setup, teardown, &uring },                                      \
	{                                                                                          \
		"epoll " #test, test, setup, teardown, &epoll                                      \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_success),
		BOTH(test_recv_stop),
		BOTH(test_success_ipv6),
		BOTH(test_refused),
		BOTH(test_timeout),
		BOTH(test_bad_address),
		BOTH(test_no_descriptor_left),
		BOTH(test_many_in_flight),
		BOTH(test_destroy_with_connect_in_flight),
		{ "io_uring test_uring_table_grows_mid_connect", test_uring_table_grows_mid_connect,
		  setup, teardown, &uring },
	};
	struct io_env env = { .log_fd = 2 };
	int err = 0;
	struct io *probe = io_epoll_new(&env, NULL, &err);

	if (probe == NULL && !io_uring_backend_usable())
		return 77;
	if (probe != NULL)
		io_destroy(probe);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
