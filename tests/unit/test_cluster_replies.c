/* test_cluster_replies.c: unit tests of the CLUSTER replies
 * (node/cluster/replies.c) and of nodes.conf (node/cluster/nodes_conf.c).
 *
 * Goal: CLUSTER NODES, SLOTS, SHARDS, INFO, MYID, KEYSLOT and LINKS give
 * exactly redis-server 7.0.15's bytes in RESP2 and RESP3 for the same
 * layout; nodes.conf written by cairn reads back to the same state, Redis's
 * own nodes.conf loads, and corrupt files are refused with an error, never a
 * crash, and leak nothing.
 *
 * Method: the expected bytes were captured from redis-server 7.0.15 started
 * with --cluster-enabled yes (a single node, CLUSTER SET-CONFIG-EPOCH 5,
 * ADDSLOTSRANGE 0 5460, ADDSLOTS 6000 6002, SETSLOT 6002 MIGRATING <myself>)
 * over a raw socket, after HELLO 3 for RESP3; the state is loaded from that
 * server's own nodes.conf, so ids and ports match without masking. A second
 * capture has two nodes joined by MEET (17301 and 17302, SET-CONFIG-EPOCH
 * 7, ADDSLOTSRANGE 5461 5999, ADDSLOTS 6001 on the second). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/mem.h"
#include "base/text.h"
#include "cluster/nodes_conf.h"
#include "cluster/replies.h"
#include "cluster/state.h"
#include "proto/obuf.h"
#include "proto/reply.h"

#define ID "beb70ff4ee16d05a4c49ecec0996ea6826bb4c41"
#define LINE ID " :17301@27301 myself,master - 0 0 5 connected 0-5460 6000 6002 [6002->-" ID "]\n"
#define CONF LINE "vars currentEpoch 5 lastVoteEpoch 0\n"

static struct mem mem;

/* The reply fn writes in protocol proto, as one flat string. */
static char *render(const struct cluster_state *st, int proto, int which)
{
	struct obuf ob;
	struct reply r = { &ob, (uint8_t)proto, NULL, 0 };
	struct iovec iov[64];
	struct replies_link link = { false, ID, 1700000000000ULL, "rw", 1024, 12 };

	obuf_init(&ob, &mem);
	switch (which) {
	case 0: replies_nodes(st, &r); break;
	case 1: replies_slots(st, &r); break;
	case 2: replies_shards(st, 0, &r); break;
	case 3: replies_info(st, 0, &r); break;
	case 4: replies_myid(st, &r); break;
	case 5: replies_keyslot("{a}b", 4, &r); break;
	case 6: replies_links(NULL, 0, &r); break;
	default: replies_links(&link, 1, &r); break;
	}
	int n = obuf_iov(&ob, iov, 64);
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	char *s = malloc(total + 1);
	total = 0;
	for (int i = 0; i < n; i++) {
		memcpy(s + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	s[total] = '\0';
	obuf_free(&ob);
	return s;
}

static struct cluster_state *load(const char *conf)
{
	char err[CLUSTER_ERR_MAX];
	struct cluster_state *st = nodes_conf_load(&mem, 7, conf, strlen(conf), 1000, err);
	if (st == NULL)
		fail_msg("load: %s", err);
	return st;
}

static void expect(const struct cluster_state *st, int proto, int which, const char *want)
{
	char *got = render(st, proto, which);
	assert_string_equal(got, want);
	free(got);
}

#define SLOT_NODE "*4\r\n$0\r\n\r\n:17301\r\n$40\r\n" ID "\r\n"
#define INFO_TEXT                                                                                  \
	"cluster_state:fail\r\ncluster_slots_assigned:5463\r\ncluster_slots_ok:5463\r\n"           \
	"cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"               \
	"cluster_size:1\r\ncluster_current_epoch:5\r\ncluster_my_epoch:5\r\n"                      \
	"cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"                   \
	"total_cluster_links_buffer_limit_exceeded:0\r\n"
#define SHARD_HEAD                                                                                 \
	"$5\r\nslots\r\n*6\r\n:0\r\n:5460\r\n:6000\r\n:6000\r\n:6002\r\n:6002\r\n$5\r\nnodes\r\n*" \
	"1\r\n"
#define SHARD_NODE                                                                                 \
	"$2\r\nid\r\n$40\r\n" ID                                                                   \
	"\r\n$4\r\nport\r\n:17301\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n"                     \
	"$0\r\n\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$"             \
	"6\r\nhealth\r\n"                                                                          \
	"$6\r\nonline\r\n"

static void test_against_redis(void **state)
{
	(void)state;
	struct cluster_state *st = load(CONF);

	expect(st, 2, 0, "$153\r\n" LINE "\r\n");
	expect(st, 3, 0, "=157\r\ntxt:" LINE "\r\n");
	expect(st, 2, 1,
	       "*3\r\n*3\r\n:0\r\n:5460\r\n" SLOT_NODE "*0\r\n*3\r\n:6000\r\n:6000\r\n" SLOT_NODE
	       "*0\r\n*3\r\n:6002\r\n:6002\r\n" SLOT_NODE "*0\r\n");
	expect(st, 3, 1,
	       "*3\r\n*3\r\n:0\r\n:5460\r\n" SLOT_NODE "%0\r\n*3\r\n:6000\r\n:6000\r\n" SLOT_NODE
	       "%0\r\n*3\r\n:6002\r\n:6002\r\n" SLOT_NODE "%0\r\n");
	expect(st, 2, 2, "*1\r\n*4\r\n" SHARD_HEAD "*14\r\n" SHARD_NODE);
	expect(st, 3, 2, "*1\r\n%2\r\n" SHARD_HEAD "%7\r\n" SHARD_NODE);
	expect(st, 2, 3, "$312\r\n" INFO_TEXT "\r\n");
	expect(st, 3, 3, "=316\r\ntxt:" INFO_TEXT "\r\n");
	expect(st, 2, 4, "$40\r\n" ID "\r\n");
	expect(st, 3, 5, ":15495\r\n");
	expect(st, 2, 6, "*0\r\n");
	expect(st, 3, 7,
	       "*1\r\n%6\r\n$9\r\ndirection\r\n$2\r\nto\r\n$4\r\nnode\r\n$40\r\n" ID
	       "\r\n$11\r\ncreate-time\r\n:1700000000000\r\n$6\r\nevents\r\n$2\r\nrw\r\n"
	       "$21\r\nsend-buffer-allocated\r\n:1024\r\n$16\r\nsend-buffer-used\r\n:12\r\n");
	/* nodes.conf comes back byte for byte. */
	struct text t;
	text_init(&t, &mem, 64);
	nodes_conf_write(st, &t);
	assert_string_equal(t.p, CONF);
	text_free(&t);
	cluster_state_free(st);
	assert_int_equal(mem.used, 0);
}

static void test_conf_roundtrip(void **state)
{
	(void)state;
	const char *conf =
		"0123456789abcdef0123456789abcdef01234567 127.0.0.1:7001@17001 master - 5 6 3 "
		"connected 100-200 300\n"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ::1:7002@17002 master,fail? - 0 0 4 "
		"disconnected\n" ID " 10.0.0.1:7000@17000 myself,master - 0 0 2 connected 0-99 201 "
		"[201->-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] "
		"[5000-<-0123456789abcdef0123456789abcdef01234567]\n"
		"vars currentEpoch 7 lastVoteEpoch 1\n";
	struct cluster_state *st = load(conf);
	assert_int_equal(st->nnodes, 3);
	assert_int_equal(st->current_epoch, 7);
	assert_int_equal(st->last_vote_epoch, 1);
	assert_int_equal(cluster_myself(st)->numslots, 101);
	assert_int_not_equal(st->importing_from[5000], CLUSTER_NONE);
	struct text a, b;
	text_init(&a, &mem, 64);
	text_init(&b, &mem, 64);
	nodes_conf_write(st, &a);
	struct cluster_state *st2 = load(a.p);
	nodes_conf_write(st2, &b);
	assert_string_equal(a.p, b.p);
	/* Non-zero ping and pong times load as "now". */
	assert_non_null(strstr(a.p, "master - 1000 1000 3 disconnected 100-200 300\n"));
	text_free(&a);
	text_free(&b);
	cluster_state_free(st);
	cluster_state_free(st2);
	/* An empty file: a new node. */
	st = load("");
	assert_int_equal(st->nnodes, 1);
	cluster_state_free(st);
	assert_int_equal(mem.used, 0);
}

static void expect_corrupt(const char *conf)
{
	char err[CLUSTER_ERR_MAX] = "";
	struct cluster_state *st = nodes_conf_load(&mem, 7, conf, strlen(conf), 1000, err);
	if (st != NULL)
		fail_msg("loaded a corrupt file: %s", conf);
	assert_non_null(strstr(err, "corrupted cluster config file"));
	assert_int_equal(mem.used, 0);
}

static void test_conf_corrupt(void **state)
{
	(void)state;
	expect_corrupt("garbage\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5\n"); /* 7 fields */
	expect_corrupt(ID " :1@2 myself,bogus - 0 0 5 connected\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 x connected\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 -1 connected\n");
	expect_corrupt(ID " 1.2.3.4 myself,master - 0 0 5 connected\n"); /* no port */
	expect_corrupt(ID " :99999@2 myself,master - 0 0 5 connected\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected 16384\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected 9-3\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected 1-2-3\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected [5->-nobody]\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected [5-?-" ID "]\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected [\n");
	expect_corrupt(ID " :1@2 myself,handshake - 0 0 5 connected\n");
	expect_corrupt(ID " :1@2 myself,slave - 0 0 5 connected 1\n"); /* slots, not a master */
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected 1 1\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected\n" ID " :1@2 master - 0 0 5 c\n");
	expect_corrupt(ID " :1@2 master - 0 0 5 connected\n"); /* no myself */
	expect_corrupt("XYZ :1@2 myself,master - 0 0 5 connected\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected\nvars currentEpoch\n");
	expect_corrupt(ID " :1@2 myself,master - 0 0 5 connected\nvars currentEpoch x\n");
	/* Redis's own tolerance: unknown vars, a last line without '\n', aux
	 * fields after the address, and a currentEpoch below an epoch. */
	struct cluster_state *st = load(ID " 1.2.3.4:1@2,host,shard-id=x myself,master - 0 0 5 "
					   "connected 7\nvars currentEpoch 1 futureVar 3");
	assert_int_equal(st->current_epoch, 5);
	assert_string_equal(cluster_myself(st)->ip, "1.2.3.4");
	cluster_state_free(st);
}

#define ID2 "97ed13c2302ffd68d0b61d019f7bc0ed97497e57"
#define LINE1 ID " 127.0.0.1:17301@27301 myself,master - 0 0 5 connected 0-5460 6000 6002\n"
#define LINE2 ID2 " 127.0.0.1:17302@27302 master - 0 1796478182657 7 connected 5461-5999 6001\n"
#define NODE1 "*4\r\n$9\r\n127.0.0.1\r\n:17301\r\n$40\r\n" ID "\r\n"
#define NODE2 "*4\r\n$9\r\n127.0.0.1\r\n:17302\r\n$40\r\n" ID2 "\r\n"
#define SHARD3(id, port)                                                                           \
	"%7\r\n$2\r\nid\r\n$40\r\n" id "\r\n$4\r\nport\r\n:" port                                  \
	"\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"                                                      \
	"$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"               \
	"replication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
#define INFO2                                                                                      \
	"cluster_state:fail\r\ncluster_slots_assigned:6003\r\ncluster_slots_ok:6003\r\n"           \
	"cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:2\r\n"               \
	"cluster_size:2\r\ncluster_current_epoch:7\r\ncluster_my_epoch:5\r\n"                      \
	"cluster_stats_messages_ping_sent:5\r\ncluster_stats_messages_pong_sent:6\r\n"             \
	"cluster_stats_messages_meet_sent:1\r\ncluster_stats_messages_sent:12\r\n"                 \
	"cluster_stats_messages_ping_received:6\r\ncluster_stats_messages_pong_received:6\r\n"     \
	"cluster_stats_messages_received:12\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"

/* Two masters, joined by MEET (redis-server 7.0.15 on 17301 and 17302). */
static void test_two_nodes(void **state)
{
	(void)state;
	struct cluster_state *st = load(LINE1 LINE2 "vars currentEpoch 7 lastVoteEpoch 0\n");
	uint16_t other = cluster_node_find(st, ID2, 40);
	st->nodes[other]->pong_received_ms = 1796478182657ULL;
	st->nodes[other]->link = CLUSTER_LINK_UP;
	st->stats_sent[BUS_PING] = 5;
	st->stats_sent[BUS_PONG] = 6;
	st->stats_sent[BUS_MEET] = 1;
	st->stats_received[BUS_PING] = 6;
	st->stats_received[BUS_PONG] = 6;
	expect(st, 2, 0, "$227\r\n" LINE1 LINE2 "\r\n");
	expect(st, 2, 1,
	       "*5\r\n*3\r\n:0\r\n:5460\r\n" NODE1 "*0\r\n*3\r\n:5461\r\n:5999\r\n" NODE2
	       "*0\r\n*3\r\n:6000\r\n:6000\r\n" NODE1 "*0\r\n*3\r\n:6001\r\n:6001\r\n" NODE2
	       "*0\r\n*3\r\n:6002\r\n:6002\r\n" NODE1 "*0\r\n");
	expect(st, 3, 2,
	       "*2\r\n%2\r\n$5\r\nslots\r\n*6\r\n:0\r\n:5460\r\n:6000\r\n:6000\r\n:6002\r\n:"
	       "6002\r\n"
	       "$5\r\nnodes\r\n*1\r\n" SHARD3(
		       ID, "17301") "%2\r\n$5\r\nslots\r\n*4\r\n:5461\r\n"
				    ":5999\r\n:6001\r\n:6001\r\n$5\r\nnodes\r\n*1\r\n" SHARD3(
					    ID2, "17302"));
	expect(st, 2, 3, "$502\r\n" INFO2 "\r\n");
	cluster_state_free(st);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_redis),
		cmocka_unit_test(test_conf_roundtrip),
		cmocka_unit_test(test_conf_corrupt),
		cmocka_unit_test(test_two_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
