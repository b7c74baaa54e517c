/* test_cluster_cost.c: what a PING costs on cairn's bus next to Redis's.
 *
 * Goal: measure the bytes of one PING of a node in clusters of 10, 100 and
 * 1,000 masters (slots spread evenly), in the steady state (the peer has
 * acknowledged our slot set, so no slots travel) and with the full slot set
 * (first contact, or after a change), and set them beside Redis 7.0's
 * binary bus for the same cluster: a 2256-byte header (its clusterMsg
 * without the data union, which holds the 2048-byte slot bitmap), plus 104
 * bytes per gossip entry (clusterMsgDataGossip), with max(3, N/10) entries
 * (clusterSendPing's "wanted"; PFAIL nodes come on top, none here). The
 * sizes come from Redis 7.0's cluster.h as summarised in the project's
 * cluster notes; cairn's gossip count is the same rule (state.c).
 *
 * Per node and second, Redis pings each peer at least every node_timeout/2
 * (clusterCron) and each ping gets a pong: 2N/7.5 messages a second at the
 * default 15 s timeout. Gossip entries carry real unix-ms pong times. The
 * test prints the table and checks that cairn's
 * steady-state PING is smaller than Redis's at every size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/text.h"
#include "cluster/bus_msg.h"
#include "cluster/nodes_conf.h"
#include "cluster/state.h"

#define REDIS_HDR 2256
#define REDIS_GOSSIP 104

static struct mem mem;

/* N masters with contiguous equal shares of the slots; myself is the first. */
static struct cluster_state *cluster_of(unsigned n)
{
	struct text t;
	char err[CLUSTER_ERR_MAX];

	text_init(&t, &mem, 4096);
	for (unsigned i = 0; i < n; i++) {
		unsigned lo = i * CLUSTER_SLOTS / n, hi = (i + 1) * CLUSTER_SLOTS / n - 1;
		text_printf(&t, "%040x 10.0.%u.%u:7000@17000 %smaster - 0 0 %u connected %u-%u\n",
			    i + 1, i / 256, i % 256, i == 0 ? "myself," : "", i + 1, lo, hi);
	}
	text_printf(&t, "vars currentEpoch %u lastVoteEpoch 0\n", n);
	struct cluster_state *st = nodes_conf_load(&mem, 1, t.p, t.len, 1000, err);
	text_free(&t);
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static long ping_bytes(struct cluster_state *st, uint16_t peer, struct bus_msg *m, uint8_t *buf)
{
	cluster_build_ping(st, BUS_PING, peer, m);
	long n = bus_msg_encode(m, buf, BUS_FRAME_MAX);
	assert_true(n > 0);
	return n;
}

static void test_cost(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 10, 100, 1000 };
	struct bus_msg *m = calloc(1, sizeof(*m));
	uint8_t *buf = malloc(BUS_FRAME_MAX);

	printf("nodes | redis ping | cairn ping (steady) | cairn ping (full slots) | "
	       "redis B/s/node | cairn B/s/node (steady)\n");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned n = sizes[k], wanted = n / 10 < 3 ? 3 : n / 10;
		struct cluster_state *st = cluster_of(n);
		uint16_t peer = 1;
		/* Real unix-ms pong times, as gossip carries them (7-byte varints). */
		for (unsigned i = 0; i < n; i++)
			st->nodes[i]->pong_received_ms = 1764900000000ULL + i;
		long full = ping_bytes(st, peer, m, buf);
		assert_int_equal(m->u.ping.ngossip, wanted);
		st->nodes[peer]->acked_my_slots = st->my_slots_version;
		long steady = ping_bytes(st, peer, m, buf);
		long redis = REDIS_HDR + REDIS_GOSSIP * (long)wanted;
		double per_s = 2.0 * n / 7.5;
		printf("%5u | %10ld | %19ld | %23ld | %14.0f | %23.0f\n", n, redis, steady, full,
		       redis * per_s, steady * per_s);
		assert_true(steady < redis);
		assert_true(full < redis);
		cluster_state_free(st);
	}
	free(m);
	free(buf);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_cost) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
