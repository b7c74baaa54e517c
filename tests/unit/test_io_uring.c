/* test_io_uring.c: the io_uring backend's recv watchdog, and its reaping of
 * an overflowed completion ring, on a real ring and real loopback sockets.
 *
 * Goal: a multishot recv that the kernel leaves armed and silent while its
 * socket is ready (a lost wakeup, seen on Linux 6.18 under load) is
 * cancelled and reaches the core as an ended recv (-ENOBUFS, no IO_F_MORE),
 * after which a re-armed recv reads the socket; and a recv that is waiting
 * for data, or that has completed since the last sweep, is never touched.
 *
 * Method: the kernel bug cannot be provoked on demand, so the test builds
 * the state it leaves. A recv is armed on socket A; then dup2() puts a
 * second socket B, with unread bytes, at A's descriptor number. The kernel's
 * recv still holds A and hears nothing, while poll() on that number says
 * ready: exactly the watchdog's evidence. Sweeps are run by hand, and every
 * completion the core gets is checked in order. The production trigger is
 * exercised by test_stress.py's test_disconnect_mid_bigbulk under load.
 * Exits 77 (skipped) where io_uring is not usable. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"
#include "io/io_backend.h"

#define UD_RECV 42
#define UD_CLOSE 43
#define UD_TIMER 44
#define TIMERS 20000 /* more than the backend's 16384 CQ entries */
#define REAP_TRIES 200

struct fixture {
	struct io_env env;
	struct io_group group;
	struct io *io;
	int sock;    /* the accepted end, the backend's */
	int client;  /* the peer the test writes */
	int client2; /* the peer of the socket hidden at sock's number */
};

/* A connected loopback TCP pair by plain syscalls. */
static void tcp_pair(int *server, int *client)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept(l, NULL, NULL);
	assert_true(*server >= 0);
	close(l);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int err = 0;

	if (!io_uring_backend_usable()) {
		free(f);
		return -1;
	}
	f->env.log_fd = 2;
	f->env.pid = (int)getpid();
	f->env.role = 'M';
	f->group.ios = &f->io;
	f->group.n = 1;
	f->io = io_uring_backend_new(&f->env, &f->group, &err);
	assert_non_null(f->io);
	assert_int_equal(io_attach(f->io), 0);
	tcp_pair(&f->sock, &f->client);
	f->client2 = -1;
	assert_int_equal(io_recv(f->io, f->sock, UD_RECV), 0);
	io_flush(f->io);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->client >= 0)
		close(f->client);
	if (f->client2 >= 0)
		close(f->client2);
	io_detach(f->io);
	io_destroy(f->io);
	if (f->sock >= 0)
		close(f->sock);
	free(f);
	return 0;
}

/* The next completion, waiting for it (a recycled buffer is checked for
 * its bytes first). */
static struct io_cqe next_cqe(struct fixture *f, const char *want)
{
	struct io_cqe c;
	int i;

	for (i = 0; i < REAP_TRIES; i++) {
		if (io_reap(f->io, &c, 1) == 1) {
			if (c.flags & IO_F_BUFFER) {
				assert_true(c.res > 0 && want != NULL);
				assert_int_equal((size_t)c.res, strlen(want));
				assert_memory_equal(io_buf(f->io, c.buf), want, (size_t)c.res);
				io_buf_recycle(f->io, c.buf);
			}
			return c;
		}
		io_wait(f->io, 10 * 1000000ull);
	}
	fail_msg("no completion after %d waits", REAP_TRIES);
	return c;
}

static void put(struct fixture *f, const char *s)
{
	assert_int_equal(write(f->client, s, strlen(s)), (ssize_t)strlen(s));
}

/* Puts a socket holding `bytes` unread at the armed socket's number: the
 * kernel's recv keeps the old socket and stays silent, poll() says ready. */
static void swap_in_ready_socket(struct fixture *f, const char *bytes)
{
	struct pollfd p;
	int s;

	tcp_pair(&s, &f->client2);
	assert_int_equal(write(f->client2, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	p.fd = s;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(dup2(s, f->sock), f->sock);
	close(s);
}

/* Swaps in a ready socket and sweeps twice: the first sweep suspects the
 * silent recv, the second cancels it. */
static void restart_by_watchdog(struct fixture *f, const char *bytes)
{
	swap_in_ready_socket(f, bytes);
	io_uring_backend_sweep(f->io);
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
	io_uring_backend_sweep(f->io);
	assert_int_equal(io_uring_backend_restarts(f->io), 1);
}

/* The next completion is the end of the recv (no IO_F_MORE), with res. */
static void expect_recv_end(struct fixture *f, int res)
{
	struct io_cqe c = next_cqe(f, NULL);

	assert_int_equal(c.op, IO_OP_RECV);
	assert_int_equal(c.user_data, UD_RECV);
	assert_int_equal(c.res, res);
	assert_false(c.flags & (IO_F_MORE | IO_F_BUFFER));
}

/* A recv waiting on a quiet socket is polled, found not ready, and left
 * alone however many sweeps pass; data then arrives normally. */
static void test_waiting_recv_is_left_alone(void **state)
{
	struct fixture *f = *state;
	struct io_cqe c;
	int i;

	for (i = 0; i < 4; i++) {
		io_uring_backend_sweep(f->io);
		assert_int_equal(io_reap(f->io, &c, 1), 0);
	}
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
	put(f, "ping");
	c = next_cqe(f, "ping");
	assert_int_equal(c.op, IO_OP_RECV);
	assert_int_equal(c.user_data, UD_RECV);
	assert_true(c.flags & IO_F_MORE);
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
}

/* Ready at one sweep, then heard from before the next: not lost. The
 * watchdog only acts on two ready sweeps with silence between them. */
static void test_heard_recv_is_not_restarted(void **state)
{
	struct fixture *f = *state;
	struct io_cqe c;

	swap_in_ready_socket(f, "waiting");
	io_uring_backend_sweep(f->io); /* ready and silent: suspect */
	put(f, "one");                 /* the old socket's recv completes */
	c = next_cqe(f, "one");
	assert_true(c.flags & IO_F_MORE);
	io_uring_backend_sweep(f->io); /* heard since: cleared */
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
	io_uring_backend_sweep(f->io); /* ready and silent again: suspect */
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
	io_uring_backend_sweep(f->io);
	assert_int_equal(io_uring_backend_restarts(f->io), 1);
}

/* Ready and silent at two sweeps in a row: cancelled, ended as -ENOBUFS,
 * and a re-armed recv reads what was waiting. */
static void test_silent_ready_recv_is_restarted(void **state)
{
	struct fixture *f = *state;
	struct io_cqe c;

	restart_by_watchdog(f, "lost?");
	io_flush(f->io);
	expect_recv_end(f, -ENOBUFS);
	assert_int_equal(io_recv(f->io, f->sock, UD_RECV), 0);
	io_flush(f->io);
	c = next_cqe(f, "lost?");
	assert_true(c.flags & IO_F_MORE);
	assert_int_equal(write(f->client2, "after", 5), 5);
	c = next_cqe(f, "after");
	assert_true(c.flags & IO_F_MORE);
	io_uring_backend_sweep(f->io);
	io_uring_backend_sweep(f->io);
	assert_int_equal(io_uring_backend_restarts(f->io), 1);
}

/* A peer's reset that the recv reports itself is an ordinary error. */
static void test_reset_passes_through(void **state)
{
	struct fixture *f = *state;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	assert_int_equal(setsockopt(f->client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(f->client);
	f->client = -1;
	expect_recv_end(f, -ECONNRESET);
	assert_int_equal(io_recv(f->io, f->sock, UD_RECV), 0);
	io_flush(f->io);
	expect_recv_end(f, 0); /* a second read of a reset socket: end of file */
	assert_int_equal(io_uring_backend_restarts(f->io), 0);
}

/* The core closes a socket whose recv the watchdog is cancelling: the
 * cancel is the close's, so the core sees -ECANCELED, then the close. */
static void test_close_during_restart(void **state)
{
	struct fixture *f = *state;
	struct io_cqe c;

	restart_by_watchdog(f, "bye");
	assert_int_equal(io_close(f->io, f->sock, UD_CLOSE), 0);
	f->sock = -1;
	io_flush(f->io);
	expect_recv_end(f, -ECANCELED);
	c = next_cqe(f, NULL);
	assert_int_equal(c.op, IO_OP_CLOSE);
	assert_int_equal(c.user_data, UD_CLOSE);
	assert_int_equal(c.res, 0);
}

/* More completions than the completion ring holds (16384): the kernel
 * keeps the excess on its overflow list, and reaping, with no io_wait,
 * must still deliver every one of them, since a busy shard never parks. */
static void test_cq_overflow_is_reaped_without_waiting(void **state)
{
	struct fixture *f = *state;
	struct io_cqe c[64];
	int i, got = 0, idle = 0, n;

	for (i = 0; i < TIMERS; i++)
		assert_int_equal(io_timer(f->io, 0, UD_TIMER), 0);
	io_flush(f->io);
	while (got < TIMERS && idle < REAP_TRIES) {
		n = io_reap(f->io, c, 64);
		for (i = 0; i < n; i++) {
			assert_int_equal(c[i].op, IO_OP_TIMER);
			assert_int_equal(c[i].res, 0);
		}
		got += n;
		idle = n > 0 ? 0 : idle + 1;
		if (n == 0)
			usleep(1000);
	}
	assert_int_equal(got, TIMERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_waiting_recv_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heard_recv_is_not_restarted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_ready_recv_is_restarted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_during_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cq_overflow_is_reaped_without_waiting, setup,
						teardown),
	};

	if (!io_uring_backend_usable())
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
