/* test_sim_net.c: CONNECT on the simulator's network (sim/io_sim.c).
 *
 * Goal: io_connect in the simulator keeps io.h's contract as the real
 * backends do, and its network behaves as TCP between two shards: a connect
 * to an address where a shard listens completes once with a connected
 * socket whose other end that shard accepts; bytes written on either end
 * arrive, in order, at the other; a close is the other's end of file; with
 * no listener it is refused; a bad address fails through the completion; a
 * connect that gets no answer ends with -ETIMEDOUT once its timeout has
 * passed and never earlier; a reset reaches both ends; a submission on a
 * socket before its CONNECT completed, or a CONNECT without a timeout, is a
 * broken contract the simulator reports. And the same run twice gives the
 * same trace hash.
 *
 * Files: io_file_read and io_file_replace keep io.h's contract, per node,
 * and a failure drawn before the heal tick leaves the file as it was.
 *
 * Across nodes: with two nodes in one world, a shard of node 0 connects to
 * node 1's address, node 1 (never node 0) accepts, and bytes cross.
 *
 * Method: a world built as cairn-sim builds one (sched_init: each node's
 * shards over simulated backends, started, so each listens at its node's
 * address and has its ACCEPT armed), whose shards the test never steps: it drives their
 * backends directly, submitting with its own user_data and reaping every
 * backend itself (the shards' own completions, their timers and ACCEPTs,
 * are taken too: an ACCEPT names the accepted end). Faults are off but for
 * the class a test turns on (w->cfg.p). Simulated time moves only when a
 * test moves it. A broken contract ends in world_crash(), whose hook jumps
 * back into the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "sched.h"
#include "world.h"

#define UD_CONNECT 0x1001u
#define UD_WRITE 0x1002u
#define UD_RECV 0x1003u
#define UD_CLOSE 0x1004u
/* Per socket, so that one socket's completion is never taken for
 * another's on the same backend. */
#define UD_ON(base, s) ((base) | (uint64_t)(s) << 16)
#define TIMEOUT_NS (250ull * 1000 * 1000)
/* Reaps before a completion that should come is given up for lost. */
#define REAP_ROUNDS 64

/* Completions reaped while waiting for another, per backend, kept for
 * whoever waits for them (a shard's timers are dropped). */
#define STASH_MAX 64
static struct io_cqe stash[8][STASH_MAX];
static unsigned nstash[8];

/* Whether the test's recv on socket s is still armed (multishot). */
static bool recv_armed[256];
static jmp_buf crash_jmp;
static bool crash_expected;

static void on_crash(struct world *w)
{
	if (crash_expected)
		longjmp(crash_jmp, 1);
	fail_msg("unexpected world_crash: %s", w->fail_detail);
}

static struct world *world_new(unsigned nodes, unsigned shards, uint64_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sim_config c;

	memset(&c, 0, sizeof(c));
	c.seed = seed;
	c.ticks = 1000;
	c.nodes = nodes;
	c.shards = shards;
	c.clients = 1;
	c.ring_size = 4;
	c.bufs = 16;
	c.pipeline_max = 1;
	c.keys = 2;
	assert_non_null(w);
	assert_int_equal(sched_init(w, &c), 0);
	assert_true(w->nshards <= 8);
	memset(nstash, 0, sizeof(nstash));
	memset(recv_armed, 0, sizeof(recv_armed));
	w->on_crash = on_crash;
	return w;
}

static void world_done(struct world *w)
{
	sched_free(w);
	free(w);
}

static bool unstash(unsigned io, unsigned op, uint64_t ud, struct io_cqe *out)
{
	unsigned i;

	for (i = 0; i < nstash[io]; i++) {
		if (stash[io][i].op != op || (ud != 0 && stash[io][i].user_data != ud))
			continue;
		*out = stash[io][i];
		memmove(&stash[io][i], &stash[io][i + 1], (--nstash[io] - i) * sizeof(*out));
		return true;
	}
	return false;
}

/* Reaps backend io until a completion of op (and ud, unless 0) comes;
 * false if none does. */
static bool reap_for(struct world *w, unsigned io, unsigned op, uint64_t ud, struct io_cqe *out)
{
	struct io_cqe c[IO_REAP_MAX];
	int round, n, i;

	assert_true(io < 8);
	for (round = 0; round < REAP_ROUNDS; round++) {
		if (unstash(io, op, ud, out))
			return true;
		n = io_reap(&w->ios[io], c, IO_REAP_MAX);
		for (i = 0; i < n; i++) {
			if (c[i].op == IO_OP_TIMER)
				continue;
			assert_true(nstash[io] < STASH_MAX);
			stash[io][nstash[io]++] = c[i];
		}
	}
	return unstash(io, op, ud, out);
}

/* The ACCEPT of the accepted end, on whichever shard's listener got it. */
static int accepted(struct world *w, unsigned *io)
{
	struct io_cqe c;
	unsigned i;

	for (i = 0; i < w->nshards; i++)
		if (reap_for(w, i, IO_OP_ACCEPT, 0, &c)) {
			assert_true(c.res >= 0);
			*io = i;
			return c.res;
		}
	fail_msg("no shard accepted the connection");
	return -1;
}

/* A connection from shard 0 of node 0 to the address ip: the connector's
 * end *a on backend 0, the accepted end *b on backend *bio. */
static void connect_to(struct world *w, const char *ip, int *a, int *b, unsigned *bio)
{
	struct io_cqe c;

	assert_int_equal(io_connect(&w->ios[0], ip, SIM_PORT, TIMEOUT_NS, UD_CONNECT), 0);
	assert_true(reap_for(w, 0, IO_OP_CONNECT, UD_CONNECT, &c));
	assert_true(c.res >= 0);
	*a = c.res;
	*b = accepted(w, bio);
	assert_int_not_equal(*a, *b);
}

/* The same, to node 0's own address. */
static void connect_pair(struct world *w, int *a, int *b, unsigned *bio)
{
	connect_to(w, "10.0.0.1", a, b, bio);
}

static void send_bytes(struct world *w, unsigned io, int s, const char *p)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = strlen(p) };
	struct io_cqe c;

	assert_int_equal(io_writev(&w->ios[io], s, &iov, 1, UD_ON(UD_WRITE, s)), 0);
	assert_true(reap_for(w, io, IO_OP_WRITEV, UD_ON(UD_WRITE, s), &c));
	assert_int_equal(c.res, (int32_t)strlen(p));
}

/* Receives until len bytes came (into out), or the stream ends (returns
 * the last result: 0 at end of file, or -errno). */
static int32_t recv_bytes(struct world *w, unsigned io, int s, char *out, size_t len)
{
	size_t got = 0;
	struct io_cqe c;

	assert_true(s >= 0 && s < 256);
	while (got < len) {
		if (!recv_armed[s])
			assert_int_equal(io_recv(&w->ios[io], s, UD_ON(UD_RECV, s)), 0);
		recv_armed[s] = true;
		if (!reap_for(w, io, IO_OP_RECV, UD_ON(UD_RECV, s), &c))
			fail_msg("no recv completion");
		recv_armed[s] = (c.flags & IO_F_MORE) != 0;
		if (c.res <= 0)
			return c.res;
		assert_true(got + (size_t)c.res <= len);
		memcpy(out + got, io_buf(&w->ios[io], c.buf), (size_t)c.res);
		io_buf_recycle(&w->ios[io], c.buf);
		got += (size_t)c.res;
	}
	return (int32_t)got;
}

static void close_sock(struct world *w, unsigned io, int s)
{
	struct io_cqe c;
	unsigned i;

	assert_int_equal(io_close(&w->ios[io], s, UD_ON(UD_CLOSE, s)), 0);
	assert_true(reap_for(w, io, IO_OP_CLOSE, UD_ON(UD_CLOSE, s), &c));
	assert_int_equal(c.res, 0);
	/* The CLOSE completes last (io.h): what else came for the socket (a
	 * cancelled recv) is in the stash; it goes, so that a later socket
	 * with the same handle never takes it for its own. */
	for (i = 0; i < nstash[io];) {
		if ((stash[io][i].user_data >> 16) != (uint64_t)s) {
			i++;
			continue;
		}
		if (stash[io][i].flags & IO_F_BUFFER)
			io_buf_recycle(&w->ios[io], stash[io][i].buf);
		memmove(&stash[io][i], &stash[io][i + 1], (--nstash[io] - i) * sizeof(c));
	}
	recv_armed[s] = false;
}

static void test_bytes_both_ways_then_eof(void **state)
{
	struct world *w = world_new(1, 2, 7);
	char buf[64] = { 0 };
	unsigned bio;
	int a, b;

	(void)state;
	connect_pair(w, &a, &b, &bio);
	send_bytes(w, 0, a, "hello, ");
	send_bytes(w, 0, a, "shard");
	assert_int_equal(recv_bytes(w, bio, b, buf, 12), 12);
	assert_memory_equal(buf, "hello, shard", 12);
	send_bytes(w, bio, b, "back");
	assert_int_equal(recv_bytes(w, 0, a, buf, 4), 4);
	assert_memory_equal(buf, "back", 4);
	/* The connector closes: the accepted end reads to end of file (a
	 * first 0 may be flagged SOCK_NONEMPTY, as Linux does: read again). */
	close_sock(w, 0, a);
	assert_int_equal(recv_bytes(w, bio, b, buf, 1), 0);
	assert_int_equal(recv_bytes(w, bio, b, buf, 1), 0);
	close_sock(w, bio, b);
	world_done(w);
}

static void test_addresses(void **state)
{
	struct world *w = world_new(1, 1, 8);
	char name[64];
	unsigned bio;
	int a, b;

	(void)state;
	connect_pair(w, &a, &b, &bio);
	assert_true(io_sock_name(&w->ios[0], a, true, name, sizeof(name)) > 0);
	assert_string_equal(name, "10.0.0.1:6379");
	assert_true(io_sock_name(&w->ios[bio], b, false, name, sizeof(name)) > 0);
	assert_string_equal(name, "10.0.0.1:6379");
	assert_true(io_sock_name(&w->ios[bio], b, true, name, sizeof(name)) > 0);
	assert_true(io_sock_name(&w->ios[0], a, false, name + 32, 32) > 0);
	assert_string_equal(name, name + 32);
	world_done(w);
}

static void test_failures_through_the_completion(void **state)
{
	static const struct {
		const char *ip;
		uint16_t port;
		int32_t res;
	} cases[] = {
		{ "10.0.0.9", SIM_PORT, -ECONNREFUSED }, /* nobody there */
		{ "10.0.0.1", 1, -ECONNREFUSED },        /* nothing on that port */
		{ "::1", SIM_PORT, -ECONNREFUSED },      /* IPv6: no listener */
		{ "localhost", SIM_PORT, -EINVAL },      /* no name lookup */
		{ "[::1]", SIM_PORT, -EINVAL },          /* no brackets */
	};
	struct world *w = world_new(1, 2, 9);
	struct io_cqe c;
	unsigned i, socks = w->nsocks;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(io_connect(&w->ios[1], cases[i].ip, cases[i].port, TIMEOUT_NS,
					    UD_CONNECT + i),
				 0);
		assert_true(reap_for(w, 1, IO_OP_CONNECT, UD_CONNECT + i, &c));
		assert_int_equal(c.res, cases[i].res);
	}
	/* A failed connect leaves nothing open. */
	assert_int_equal(w->nsocks, socks);
	world_done(w);
}

static void test_refused_fault(void **state)
{
	struct world *w = world_new(1, 2, 10);
	struct io_cqe c;

	(void)state;
	w->cfg.p[F_CONN_REFUSED] = 1.0;
	assert_int_equal(io_connect(&w->ios[0], "10.0.0.1", SIM_PORT, TIMEOUT_NS, UD_CONNECT), 0);
	assert_true(reap_for(w, 0, IO_OP_CONNECT, UD_CONNECT, &c));
	assert_int_equal(c.res, -ECONNREFUSED);
	world_done(w);
}

static void test_timeout_never_early(void **state)
{
	struct world *w = world_new(1, 1, 11);
	uint64_t t0 = w->now;
	struct io_cqe c;

	(void)state;
	w->cfg.p[F_CONN_TIMEOUT] = 1.0;
	assert_int_equal(io_connect(&w->ios[0], "10.0.0.1", SIM_PORT, TIMEOUT_NS, UD_CONNECT), 0);
	/* The scheduler is told when the backend has something to do. */
	assert_true(sim_io_next_time(&w->ios[0]) <= t0 + TIMEOUT_NS);
	w->now = t0 + TIMEOUT_NS - 1;
	assert_false(reap_for(w, 0, IO_OP_CONNECT, UD_CONNECT, &c));
	w->now = t0 + TIMEOUT_NS;
	assert_true(reap_for(w, 0, IO_OP_CONNECT, UD_CONNECT, &c));
	assert_int_equal(c.res, -ETIMEDOUT);
	/* Exactly once. */
	w->now += TIMEOUT_NS;
	assert_false(reap_for(w, 0, IO_OP_CONNECT, UD_CONNECT, &c));
	world_done(w);
}

static void test_reset_reaches_both_ends(void **state)
{
	struct world *w = world_new(1, 2, 12);
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct io_cqe c;
	char buf[8];
	unsigned bio;
	int a, b;

	(void)state;
	connect_pair(w, &a, &b, &bio);
	w->cfg.p[F_CONN_RESET] = 1.0;
	/* The next kernel step that sees the connection at work resets it. */
	assert_int_equal(io_writev(&w->ios[0], a, &iov, 1, UD_WRITE), 0);
	assert_true(reap_for(w, 0, IO_OP_WRITEV, UD_WRITE, &c));
	assert_int_equal(c.res, -EPIPE);
	assert_int_equal(recv_bytes(w, bio, b, buf, 1), -ECONNRESET);
	close_sock(w, 0, a);
	close_sock(w, bio, b);
	world_done(w);
}

static void test_contract(void **state)
{
	struct world *w = world_new(1, 1, 13);
	int a;

	(void)state;
	crash_expected = true;
	if (setjmp(crash_jmp) == 0) {
		io_connect(&w->ios[0], "10.0.0.1", SIM_PORT, 0, UD_CONNECT);
		fail_msg("a connect without a timeout was accepted");
	}
	assert_non_null(strstr(w->fail_detail, "timeout of 0"));
	w->fail = FAIL_NONE;
	assert_int_equal(io_connect(&w->ios[0], "10.0.0.1", SIM_PORT, TIMEOUT_NS, UD_CONNECT), 0);
	/* The handle the connect will give, taken before its completion: the
	 * newest socket of the world. */
	a = (int)w->nsocks - 2;
	assert_true(w->socks[a].connecting);
	if (setjmp(crash_jmp) == 0) {
		io_recv(&w->ios[0], a, UD_RECV);
		fail_msg("a recv before the CONNECT completed was accepted");
	}
	assert_non_null(strstr(w->fail_detail, "before its CONNECT completed"));
	crash_expected = false;
	world_done(w);
}

/* Two nodes of one world: a shard of node 0 connects to node 1's address;
 * a shard of node 1, never of node 0, accepts; bytes cross both ways. */
static void test_two_nodes(void **state)
{
	struct world *w = world_new(2, 2, 14);
	char buf[64], name[64];
	unsigned bio, i;
	int a, b;

	(void)state;
	assert_int_equal(w->nnodes, 2);
	assert_int_equal(w->nshards, 4);
	for (i = 0; i < 6; i++) {
		connect_to(w, "10.0.0.2", &a, &b, &bio);
		assert_int_equal(w->ios[bio].node, 1);
		assert_true(io_sock_name(&w->ios[0], a, false, name, sizeof(name)) > 0);
		assert_memory_equal(name, "10.0.0.1:", 9);
		assert_true(io_sock_name(&w->ios[0], a, true, name, sizeof(name)) > 0);
		assert_string_equal(name, "10.0.0.2:6379");
		send_bytes(w, 0, a, "from node 0");
		assert_int_equal(recv_bytes(w, bio, b, buf, 11), 11);
		assert_memory_equal(buf, "from node 0", 11);
		send_bytes(w, bio, b, "from node 1");
		assert_int_equal(recv_bytes(w, 0, a, buf, 11), 11);
		assert_memory_equal(buf, "from node 1", 11);
		close_sock(w, bio, b);
		assert_int_equal(recv_bytes(w, 0, a, buf, 1), 0);
		close_sock(w, 0, a);
	}
	/* Node 0's address is node 0's: its shards accept there. */
	connect_to(w, "10.0.0.1", &a, &b, &bio);
	assert_int_equal(w->ios[bio].node, 0);
	world_done(w);
}

/* One scenario, start to end: the trace hash it leaves. */
static uint64_t scenario_hash(uint64_t seed)
{
	struct world *w = world_new(1, 3, seed);
	char buf[16];
	unsigned bio;
	uint64_t h;
	int a, b;

	w->cfg.p[F_SHORT_WRITE] = 0.5;
	w->cfg.p[F_SHORT_READ] = 0.5;
	connect_pair(w, &a, &b, &bio);
	send_bytes(w, bio, b, "x");
	assert_int_equal(recv_bytes(w, 0, a, buf, 1), 1);
	h = w->hash;
	world_done(w);
	return h;
}

static void test_deterministic(void **state)
{
	(void)state;
	assert_int_equal(scenario_hash(99), scenario_hash(99));
	assert_int_not_equal(scenario_hash(99), scenario_hash(100));
}

/* The simulated files: per node, replaced whole, read back in pieces as
 * io.h says (the whole size, the first cap bytes); a failed replace
 * (drawn before the heal tick) leaves the old contents. */
static void test_files(void **state)
{
	struct world *w = world_new(2, 2, 7);
	char buf[8];
	int64_t n;
	int rc, failures = 0, i;

	(void)state;
	w->healed = true; /* no faults */
	assert_int_equal(io_file_read(&w->ios[0], "/etc/cairn.conf", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(io_file_replace(&w->ios[0], "/etc/cairn.conf", "port 1\nhz 5\n", 12), 0);
	/* Both shards of node 0 see it; node 1 has its own file system. */
	n = io_file_read(&w->ios[1], "/etc/cairn.conf", buf, sizeof(buf));
	assert_int_equal(n, 12);
	assert_memory_equal(buf, "port 1\nh", 8);
	assert_int_equal(io_file_read(&w->ios[2], "/etc/cairn.conf", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(io_file_replace(&w->ios[1], "/etc/cairn.conf", "x", 1), 0);
	assert_int_equal(io_file_read(&w->ios[0], "/etc/cairn.conf", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'x');
	w->healed = false;
	for (i = 0; i < 200; i++) {
		rc = io_file_replace(&w->ios[0], "/etc/cairn.conf", "yy", 2);
		assert_true(rc == 0 || rc == -EIO || rc == -ENOSPC);
		if (rc != 0) {
			failures++;
			w->healed = true;
			n = io_file_read(&w->ios[0], "/etc/cairn.conf", buf, sizeof(buf));
			assert_true(n == 1 || n == 2); /* the old contents, whole */
			assert_memory_equal(buf, n == 1 ? "x" : "yy", (size_t)n);
			w->healed = false;
		}
	}
	assert_true(failures > 0 && failures < 200);
	world_done(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_both_ways_then_eof),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_failures_through_the_completion),
		cmocka_unit_test(test_refused_fault),
		cmocka_unit_test(test_timeout_never_early),
		cmocka_unit_test(test_reset_reaches_both_ends),
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
