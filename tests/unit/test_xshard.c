/* test_xshard.c: the cross-shard rings on real threads.
 *
 * Goal: every message between shards arrives exactly once and in order per
 * source, through rings so small that the backlog path runs constantly, and
 * no wakeup is lost: a parked shard with messages waiting is always woken.
 *
 * Method: SHARDS threads, each owning one struct xshard of a shared hub with
 * rings of RING slots. Each thread sends PER_PAIR numbered messages to every
 * other thread, in a pseudo-random interleaving, while draining its own
 * rings and checking sequence numbers per source. A thread with nothing to do
 * parks exactly as a shard does (xshard_park_begin, wait, xshard_park_end) on
 * an eventfd with a long timeout; io_wake writes that eventfd. A park that
 * ends by timeout while messages were still owed to the thread means a wake
 * was lost, and fails the test. Built with -fsanitize=thread by tools/test
 * (build-tsan), where any data race in the protocol is reported. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/io.h"
#include "base/mem.h"
#include "shard/xshard.h"

#define SHARDS 4
#define RING 4
#define PER_PAIR 20000
#define PARK_TIMEOUT_MS 5000

/* The test's own io: just what xshard.c reaches, io_wake. */
struct io {
	int efd;
};

static struct io ios[SHARDS];

void io_wake(struct io *io, unsigned target)
{
	uint64_t one = 1;

	(void)io;
	assert_true(target < SHARDS);
	if (write(ios[target].efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

struct tmsg {
	struct xmsg h;
	uint64_t seq;
};

struct worker {
	pthread_t th;
	unsigned id;
	struct xhub *hub;
	uint64_t lost_wakes;
	uint64_t bad_order;
	uint64_t parks;
};

static bool park(struct worker *w, struct xshard *x)
{
	struct pollfd p = { .fd = ios[w->id].efd, .events = POLLIN };
	bool timed_out = false;

	if (xshard_park_begin(x)) {
		int rc = poll(&p, 1, PARK_TIMEOUT_MS);
		uint64_t v;
		w->parks++;
		if (rc == 0)
			timed_out = true;
		else if (read(ios[w->id].efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			abort();
	}
	xshard_park_end(x);
	return timed_out;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct xshard x;
	struct mem mem = { 0 };
	uint64_t next_out[SHARDS] = { 0 }, next_in[SHARDS] = { 0 }, owed = 0, todo = 0;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (w->id + 1);
	bool backlog = false;
	unsigned i;

	xshard_init(&x, w->hub, w->id, &mem);
	for (i = 0; i < SHARDS; i++)
		if (i != w->id) {
			owed += PER_PAIR;
			todo += PER_PAIR;
		}
	while (owed > 0 || todo > 0 || backlog) {
		struct xmsg *in[64];
		unsigned n, k;
		bool busy = false;
		/* Send a few messages to random other shards. */
		for (k = 0; k < 8 && todo > 0; k++) {
			unsigned dst;
			struct tmsg *m;
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			dst = (unsigned)(rnd % SHARDS);
			if (dst == w->id || next_out[dst] == PER_PAIR)
				continue;
			m = malloc(sizeof(*m));
			m->h.bytes = 0; /* not charged to any account */
			m->seq = next_out[dst]++;
			xshard_send(&x, dst, &m->h);
			todo--;
			busy = true;
		}
		n = xshard_drain(&x, in, 64);
		for (k = 0; k < n; k++) {
			struct tmsg *m = (struct tmsg *)in[k];
			if (m->h.dst != w->id || m->seq != next_in[m->h.src])
				w->bad_order++;
			next_in[m->h.src] = m->seq + 1;
			owed--;
			free(m);
			busy = true;
		}
		backlog = xshard_flush(&x, &ios[w->id]);
		if (backlog)
			busy = true;
		if (!busy && owed > 0 && park(w, &x))
			w->lost_wakes++;
	}
	xshard_free(&x);
	return NULL;
}

static void test_rings_backlog_and_wakes(void **state)
{
	struct xhub hub;
	struct worker w[SHARDS];
	unsigned i;

	(void)state;
	assert_int_equal(xhub_init(&hub, SHARDS, RING), 0);
	for (i = 0; i < SHARDS; i++) {
		ios[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(ios[i].efd >= 0);
		w[i] = (struct worker){ .id = i, .hub = &hub };
	}
	for (i = 0; i < SHARDS; i++)
		assert_int_equal(pthread_create(&w[i].th, NULL, run, &w[i]), 0);
	for (i = 0; i < SHARDS; i++) {
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
		print_message("shard %u: parks=%llu\n", i, (unsigned long long)w[i].parks);
		assert_int_equal(w[i].bad_order, 0);
		assert_int_equal(w[i].lost_wakes, 0);
	}
	/* Only after every worker has stopped: a late worker may still wake
	 * a shard whose thread has already finished. */
	for (i = 0; i < SHARDS; i++)
		close(ios[i].efd);
	xhub_free(&hub);
}

/* Single-threaded: the backlog keeps order when the ring is full, and the
 * target is marked dirty again once backlogged messages land. */
static void test_backlog_order_single_thread(void **state)
{
	struct xhub hub;
	struct xshard a, b;
	struct mem ma = { 0 }, mb = { 0 };
	struct xmsg *out[16];
	struct tmsg msgs[10];
	unsigned i, n, got = 0;

	(void)state;
	ios[0].efd = eventfd(0, EFD_NONBLOCK);
	ios[1].efd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(xhub_init(&hub, 2, 2), 0);
	xshard_init(&a, &hub, 0, &ma);
	xshard_init(&b, &hub, 1, &mb);
	/* Each message holds 100 bytes of a's account, as if a allocated it. */
	mem_charge(&ma, 10 * 100);
	for (i = 0; i < 10; i++) {
		msgs[i].seq = i;
		msgs[i].h.bytes = 100;
		xshard_send(&a, 1, &msgs[i].h);
	}
	assert_int_equal(a.st.backlogged, 8); /* the ring holds 2 */
	/* The two in the ring left a's account; the backlogged 8 are still its. */
	assert_int_equal(ma.used, 8 * 100);
	assert_int_equal(mb.used, 0);
	while (got < 10) {
		/* Every message is charged to a (backlog) or b (drained), or
		 * waits in the ring (at most 2). */
		assert_true(ma.used + mb.used >= (10 - 2) * 100);
		xshard_flush(&a, &ios[0]);
		/* Landed messages always leave the target dirty. */
		assert_true(xshard_pending(&b));
		n = xshard_drain(&b, out, 16);
		assert_true(n > 0 && n <= 2);
		for (i = 0; i < n; i++)
			assert_int_equal(((struct tmsg *)out[i])->seq, got++);
	}
	assert_false(xshard_pending(&b));
	assert_false(xshard_flush(&a, &ios[0]));
	/* Every byte moved with its message, from a's account to b's. */
	assert_int_equal(ma.used, 0);
	assert_int_equal(mb.used, 10 * 100);
	mem_uncharge(&mb, 10 * 100);
	msgs[0].h.bytes = 0;
	/* Parking with nothing pending is allowed; with a dirty ring it is not. */
	assert_true(xshard_park_begin(&b));
	xshard_park_end(&b);
	xshard_send(&a, 1, &msgs[0].h);
	assert_false(xshard_park_begin(&b));
	xshard_park_end(&b);
	xshard_free(&a);
	xshard_free(&b);
	xhub_free(&hub);
	close(ios[0].efd);
	close(ios[1].efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backlog_order_single_thread),
		cmocka_unit_test(test_rings_backlog_and_wakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
