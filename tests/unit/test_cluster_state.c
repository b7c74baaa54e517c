/* test_cluster_state.c: unit tests of the cluster state
 * (node/cluster/state.c, gossip.c, state_cmd.c).
 *
 * Goal: the state follows Redis 7.0.15's rules: MEET and the handshake that
 * renames a random-id node to its real id, membership spreading through
 * gossip, slot claims settled by config epoch both ways (the newer wins, the
 * stale one gets an UPDATE), the epoch collision rule, UPDATE, PFAIL exactly
 * after the node timeout, and the CLUSTER commands with Redis's error texts
 * (captured from redis-server 7.0.15 in cluster mode). Every error changes
 * nothing; cluster_state_check() holds after every step. Six nodes set up
 * as redis-cli --cluster create does (slots, SET-CONFIG-EPOCH, MEET to the
 * first) converge through gossip alone: all know all, no handshake left,
 * one owner per slot everywhere, the same currentEpoch, cluster_state ok.
 *
 * Method: several states talk through the real codec: a message is built by
 * one state, encoded, decoded and applied to another, with the link it
 * "arrived on" named as the caller (the bus) would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cluster/bus_msg.h"
#include "cluster/state.h"

struct peer {
	struct cluster_state *st;
	const char *ip;
	uint16_t port;
};

static struct mem mem;
static struct bus_msg *out_msg, *in_msg;
static uint8_t *wire;

static int setup(void **state)
{
	(void)state;
	out_msg = calloc(1, sizeof(*out_msg));
	in_msg = calloc(1, sizeof(*in_msg));
	wire = malloc(BUS_FRAME_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(out_msg);
	free(in_msg);
	free(wire);
	assert_int_equal(mem.used, 0);
	return 0;
}

static void check(const struct cluster_state *st)
{
	const char *bad = cluster_state_check(st);
	if (bad != NULL)
		fail_msg("cluster_state_check: %s", bad);
}

static void peer_init(struct peer *p, uint64_t seed, const char *ip, uint16_t port)
{
	p->st = cluster_state_new(&mem, seed, 1000);
	p->ip = ip;
	p->port = port;
	cluster_myself(p->st)->port = port;
	cluster_myself(p->st)->bus_port = (uint16_t)(port + 10000);
	check(p->st);
}

/* Sends a message of type from a to b. a_link: a's node for b (the peer it
 * builds for); b_link: b's node whose outbound link it arrives on, or
 * CLUSTER_NONE for an inbound link. Returns b's effects. */
static struct cluster_effects send_msg(struct peer *a, struct peer *b, uint8_t type,
				       uint16_t a_link, uint16_t b_link, uint64_t now)
{
	struct cluster_effects fx;
	struct cluster_from from = { b_link, b_link == CLUSTER_NONE ? 0 : b->st->nodes[b_link]->gen,
				     a->ip, b->ip };

	cluster_build_ping(a->st, type, a_link, out_msg);
	long n = bus_msg_encode(out_msg, wire, BUS_FRAME_MAX);
	assert_true(n > 0);
	struct bus_decoded d = bus_msg_decode(wire, (size_t)n, in_msg, &mem);
	assert_int_equal(d.status, 1);
	cluster_apply(b->st, in_msg, &from, now, &fx);
	check(b->st);
	return fx;
}

static uint16_t find(const struct peer *on, const struct peer *who)
{
	return cluster_node_find(on->st, cluster_myself(who->st)->id, BUS_ID_LEN);
}

static uint16_t handshake_to(const struct peer *on, const struct peer *who)
{
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++) {
		const struct cluster_node *n = on->st->nodes[i];
		if (n != NULL && (n->flags & CLUSTER_NODE_HANDSHAKE) && n->port == who->port)
			return (uint16_t)i;
	}
	return CLUSTER_NONE;
}

static int meet_cmd(struct peer *a, const struct peer *b)
{
	char port[8], err[CLUSTER_ERR_MAX];
	snprintf(port, sizeof(port), "%u", b->port);
	struct cluster_arg args[2] = { { b->ip, strlen(b->ip) }, { port, strlen(port) } };
	return cluster_meet(a->st, args, 2, 1000, err);
}

/* A MEETs b, as redis-cli does, and both finish their handshakes. */
static void join(struct peer *a, struct peer *b, uint64_t now)
{
	assert_int_equal(meet_cmd(a, b), 0);
	uint16_t h = handshake_to(a, b);
	assert_int_not_equal(h, CLUSTER_NONE);
	assert_true(a->st->nodes[h]->flags & CLUSTER_NODE_MEET);
	struct cluster_effects fx = send_msg(a, b, BUS_MEET, h, CLUSTER_NONE, now);
	assert_true(fx.pong);
	assert_int_equal(a->st->nodes[h]->flags & CLUSTER_NODE_MEET, 0);
	/* b answers on the inbound link; a's link to h receives the PONG. */
	send_msg(b, a, BUS_PONG, CLUSTER_NONE, h, now);
	assert_int_equal(find(a, b), h);
	assert_int_equal(a->st->nodes[h]->flags & CLUSTER_NODE_HANDSHAKE, 0);
	/* b's own handshake node for a, and its PING and PONG. */
	uint16_t hb = handshake_to(b, a);
	assert_int_not_equal(hb, CLUSTER_NONE);
	send_msg(b, a, BUS_PING, hb, CLUSTER_NONE, now);
	send_msg(a, b, BUS_PONG, find(a, b), hb, now);
	assert_int_equal(find(b, a), hb);
}

static void test_new_state(void **state)
{
	(void)state;
	struct peer a, b;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 1, "127.0.0.1", 7000);
	assert_true(bus_id_valid(cluster_myself(a.st)->id, BUS_ID_LEN));
	assert_string_equal(cluster_myself(a.st)->id, cluster_myself(b.st)->id); /* seeded */
	assert_int_equal(a.st->nnodes, 1);
	assert_false(a.st->ok); /* no slot is covered */
	assert_true(a.st->todo & CLUSTER_TODO_SAVE);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

static void test_meet_and_gossip(void **state)
{
	(void)state;
	struct peer a, b, c;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	peer_init(&c, 3, "127.0.0.3", 7002);
	join(&a, &b, 2000);
	/* b learned its own IP from the MEET. */
	assert_string_equal(cluster_myself(b.st)->ip, "127.0.0.2");
	join(&c, &b, 2000);
	assert_int_equal(find(&a, &c), CLUSTER_NONE);
	/* b's PING to a gossips about c: a starts a handshake to c. */
	for (int i = 0; i < 10 && handshake_to(&a, &c) == CLUSTER_NONE; i++)
		send_msg(&b, &a, BUS_PING, find(&b, &a), CLUSTER_NONE, 3000);
	uint16_t h = handshake_to(&a, &c);
	assert_int_not_equal(h, CLUSTER_NONE);
	assert_string_equal(a.st->nodes[h]->ip, "127.0.0.3");
	/* The handshake completes like a MEET. */
	send_msg(&a, &c, BUS_MEET, h, CLUSTER_NONE, 3000);
	send_msg(&c, &a, BUS_PONG, CLUSTER_NONE, h, 3000);
	assert_int_equal(find(&a, &c), h);
	assert_int_equal(a.st->nnodes, 3);
	/* A duplicate handshake to a known node goes away on its PONG. */
	assert_int_equal(meet_cmd(&a, &c), 0);
	uint16_t dup = handshake_to(&a, &c);
	struct cluster_effects fx = send_msg(&c, &a, BUS_PONG, CLUSTER_NONE, dup, 3000);
	assert_true(fx.close_link);
	assert_null(a.st->nodes[dup]);
	/* A MEET to myself: my own PONG ends the handshake. */
	assert_int_equal(meet_cmd(&a, &a), 0);
	uint16_t self = handshake_to(&a, &a);
	assert_int_not_equal(self, CLUSTER_NONE);
	fx = send_msg(&a, &a, BUS_PONG, CLUSTER_NONE, self, 3000);
	assert_true(fx.close_link);
	assert_null(a.st->nodes[self]);
	assert_int_equal(a.st->nnodes, 3);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
	cluster_state_free(c.st);
}

static void addrange(struct peer *p, const char *lo, const char *hi)
{
	char err[CLUSTER_ERR_MAX];
	struct cluster_arg args[2] = { { lo, strlen(lo) }, { hi, strlen(hi) } };
	assert_int_equal(cluster_addslotsrange(p->st, args, 2, false, err), 0);
}

static void set_epoch(struct peer *p, uint64_t e)
{
	cluster_myself(p->st)->config_epoch = e;
	if (p->st->current_epoch < e)
		p->st->current_epoch = e;
}

static void test_epoch_conflict(void **state)
{
	(void)state;
	struct peer a, b;
	struct cluster_effects fx;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	addrange(&a, "0", "99");
	addrange(&a, "300", "300");
	set_epoch(&a, 1);
	addrange(&b, "0", "199");
	set_epoch(&b, 2);
	/* a's claim is stale on b (epoch 1 < 2): ignored, answered with UPDATE;
	 * its unclaimed slot 300 goes to a. */
	fx = send_msg(&a, &b, BUS_PING, find(&a, &b), CLUSTER_NONE, 3000);
	assert_int_equal(fx.update_node, b.st->myself);
	assert_false(fx.my_slots_changed);
	assert_int_equal(b.st->owner[0], b.st->myself);
	assert_int_equal(cluster_myself(b.st)->numslots, 200);
	assert_int_equal(b.st->owner[300], find(&b, &a));
	/* b's newer claim wins on a: a loses 0-99 and learns 100-199. */
	fx = send_msg(&b, &a, BUS_PING, find(&b, &a), CLUSTER_NONE, 3000);
	assert_int_equal(fx.update_node, CLUSTER_NONE);
	assert_true(fx.my_slots_changed);
	assert_int_equal(a.st->owner[0], find(&a, &b));
	assert_int_equal(a.st->owner[199], find(&a, &b));
	assert_int_equal(cluster_myself(a.st)->numslots, 1);
	assert_int_equal(a.st->current_epoch, 2);
	/* An UPDATE about b at an epoch a already has changes nothing... */
	cluster_build_update(b.st, b.st->myself, out_msg);
	out_msg->u.update.nranges = 1;
	out_msg->u.update.ranges[0] = 0;
	out_msg->u.update.ranges[1] = 0;
	long n = bus_msg_encode(out_msg, wire, BUS_FRAME_MAX);
	assert_int_equal(bus_msg_decode(wire, (size_t)n, in_msg, &mem).status, 1);
	struct cluster_from from = { CLUSTER_NONE, 0, "", "" };
	cluster_apply(a.st, in_msg, &from, 3000, &fx);
	check(a.st);
	assert_int_equal(a.st->owner[199], find(&a, &b));
	/* ...at a newer one, b claims only slot 0; the slots it no longer
	 * claims stay its own, as in Redis (unbinding them would take the
	 * cluster down in the middle of a reshard). */
	in_msg->u.update.config_epoch = 3;
	cluster_apply(a.st, in_msg, &from, 3000, &fx);
	check(a.st);
	assert_int_equal(a.st->owner[0], find(&a, &b));
	assert_int_equal(a.st->owner[1], find(&a, &b));
	assert_int_equal(a.st->nodes[find(&a, &b)]->config_epoch, 3);
	assert_int_equal(a.st->current_epoch, 3);
	/* An UPDATE about myself is discarded. */
	strcpy(in_msg->u.update.id, cluster_myself(a.st)->id);
	in_msg->u.update.config_epoch = 9;
	cluster_apply(a.st, in_msg, &from, 3000, &fx);
	assert_int_equal(cluster_myself(a.st)->config_epoch, 1);
	assert_int_equal(a.st->owner[300], a.st->myself);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

static void test_epoch_collision(void **state)
{
	(void)state;
	struct peer a, b;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	set_epoch(&a, 5);
	set_epoch(&b, 5);
	bool a_smaller = strcmp(cluster_myself(a.st)->id, cluster_myself(b.st)->id) < 0;
	struct peer *small = a_smaller ? &a : &b, *big = a_smaller ? &b : &a;
	/* The bigger id hears the smaller: nothing changes. */
	send_msg(small, big, BUS_PING, find(small, big), CLUSTER_NONE, 3000);
	assert_int_equal(cluster_myself(big->st)->config_epoch, 5);
	/* The smaller id hears the bigger: it takes currentEpoch + 1. */
	send_msg(big, small, BUS_PING, find(big, small), CLUSTER_NONE, 3000);
	assert_int_equal(cluster_myself(small->st)->config_epoch, 6);
	assert_int_equal(small->st->current_epoch, 6);
	assert_true(small->st->todo & CLUSTER_TODO_FSYNC);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

static void test_pfail(void **state)
{
	(void)state;
	struct peer a, b;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	a.st->node_timeout_ms = 500;
	uint16_t nb = find(&a, &b);
	cluster_ping_sent(a.st, nb, 10000);
	cluster_tick(a.st, 10500);
	assert_int_equal(a.st->nodes[nb]->flags & CLUSTER_NODE_PFAIL, 0);
	/* Data from b (its own PING, on a's inbound link) defers PFAIL. */
	send_msg(&b, &a, BUS_PING, find(&b, &a), CLUSTER_NONE, 10100);
	cluster_tick(a.st, 10501);
	assert_int_equal(a.st->nodes[nb]->flags & CLUSTER_NODE_PFAIL, 0);
	cluster_tick(a.st, 10600);
	assert_int_equal(a.st->nodes[nb]->flags & CLUSTER_NODE_PFAIL, 0);
	cluster_tick(a.st, 10601);
	assert_true(a.st->nodes[nb]->flags & CLUSTER_NODE_PFAIL);
	/* A PONG on a's link to b clears it. */
	send_msg(&b, &a, BUS_PONG, CLUSTER_NONE, nb, 10700);
	assert_int_equal(a.st->nodes[nb]->flags & CLUSTER_NODE_PFAIL, 0);
	assert_int_equal(a.st->nodes[nb]->pong_received_ms, 10700);
	assert_int_equal(a.st->nodes[nb]->ping_sent_ms, 0);
	/* A handshake that never completes goes after max(timeout, 1000). */
	assert_int_equal(meet_cmd(&a, &(struct peer){ NULL, "10.0.0.1", 9 }), 0);
	assert_int_equal(a.st->nnodes, 3);
	cluster_tick(a.st, 1000 + 1000);
	assert_int_equal(a.st->nnodes, 3);
	cluster_tick(a.st, 1000 + 1001);
	assert_int_equal(a.st->nnodes, 2);
	check(a.st);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

/* Runs a slots command given as one string; returns the error or "". */
static const char *run(struct cluster_state *st, const char *line)
{
	static char err[CLUSTER_ERR_MAX], buf[256];
	struct cluster_arg args[16];
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t != NULL; t = strtok(NULL, " "))
		args[n++] = (struct cluster_arg){ t, strlen(t) };
	err[0] = '\0';
	const char *cmd = args[0].p;
	int rc = 0;
	if (strcmp(cmd, "addslots") == 0 || strcmp(cmd, "delslots") == 0)
		rc = cluster_addslots(st, args + 1, n - 1, cmd[0] == 'd', err);
	else if (strcmp(cmd, "addslotsrange") == 0 || strcmp(cmd, "delslotsrange") == 0)
		rc = cluster_addslotsrange(st, args + 1, n - 1, cmd[0] == 'd', err);
	else if (strcmp(cmd, "setslot") == 0)
		rc = cluster_setslot(st, args + 1, n - 1, NULL, err);
	else if (strcmp(cmd, "meet") == 0)
		rc = cluster_meet(st, args + 1, n - 1, 1000, err);
	else if (strcmp(cmd, "set-config-epoch") == 0)
		rc = cluster_set_config_epoch(st, args[1].p, args[1].n, err);
	else if (strcmp(cmd, "forget") == 0)
		rc = cluster_forget(st, args[1].p, args[1].n, 1000, err);
	assert_true((rc == 0) == (err[0] == '\0'));
	check(st);
	return err;
}

static void test_slot_commands(void **state)
{
	(void)state;
	struct peer a;
	peer_init(&a, 1, "127.0.0.1", 7000);
	struct cluster_state *st = a.st;
	/* Expected texts: redis-server 7.0.15, cluster mode, the same commands. */
	assert_string_equal(run(st, "addslots 1 2 2"), "Slot 2 specified multiple times");
	assert_string_equal(run(st, "addslots x"), "Invalid or out of range slot");
	assert_string_equal(run(st, "addslots 16384"), "Invalid or out of range slot");
	assert_string_equal(run(st, "addslots -1"), "Invalid or out of range slot");
	assert_string_equal(run(st, "delslots 5"), "Slot 5 is already unassigned");
	assert_string_equal(run(st, "addslotsrange 5 3"),
			    "start slot number 5 is greater than end slot number 3");
	assert_string_equal(run(st, "addslotsrange 1 2 2 3"), "Slot 2 specified multiple times");
	assert_int_equal(cluster_myself(st)->numslots, 0); /* errors changed nothing */
	assert_string_equal(run(st, "addslots 10"), "");
	assert_string_equal(run(st, "addslots 10"), "Slot 10 is already busy");
	assert_string_equal(run(st, "addslotsrange 9 12"), "Slot 10 is already busy");
	assert_string_equal(run(st, "delslotsrange 100 200"), "Slot 100 is already unassigned");
	assert_string_equal(run(st, "setslot 10 migrating abc"), "I don't know about node abc");
	char line[128];
	snprintf(line, sizeof(line), "setslot 20 migrating %s", cluster_myself(st)->id);
	assert_string_equal(run(st, line), "I'm not the owner of hash slot 20");
	snprintf(line, sizeof(line), "setslot 10 importing %s", cluster_myself(st)->id);
	assert_string_equal(run(st, line), "I'm already the owner of hash slot 10");
	assert_string_equal(
		run(st, "setslot 10 foo"),
		"Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
	assert_string_equal(run(st, "setslot 10 node abc"), "Unknown node abc");
	assert_string_equal(run(st, "setslot x stable"), "Invalid or out of range slot");
	assert_string_equal(run(st, "set-config-epoch -1"), "Invalid config epoch specified: -1");
	assert_string_equal(run(st, "set-config-epoch 5"), "");
	assert_string_equal(run(st, "set-config-epoch 6"), "Node config epoch is already non-zero");
	assert_false(cluster_bumpepoch(st)); /* STILL 5 */
	assert_int_equal(cluster_myself(st)->config_epoch, 5);
	assert_string_equal(run(st, "forget abc"), "Unknown node abc");
	snprintf(line, sizeof(line), "forget %s", cluster_myself(st)->id);
	assert_string_equal(run(st, line), "I tried hard but I can't forget myself...");
	assert_string_equal(run(st, "meet 1.2.3.4 x"), "Invalid TCP base port specified: x");
	assert_string_equal(run(st, "meet 1.2.3.4 7000 x"), "Invalid TCP bus port specified: x");
	assert_string_equal(run(st, "meet 1.2.3.x 7000"),
			    "Invalid node address specified: 1.2.3.x:7000");
	assert_string_equal(run(st, "meet 1.2.3.4 70000"),
			    "Invalid node address specified: 1.2.3.4:70000");
	assert_int_equal(st->nnodes, 1);
	assert_string_equal(run(st, "meet 1.2.3.4 7000"), "");
	assert_string_equal(run(st, "meet 1.2.3.4 7000"), ""); /* under way: +OK, no second */
	assert_int_equal(st->nnodes, 2);
	assert_string_equal(
		run(st, "set-config-epoch 0"),
		"The user can assign a config epoch only when the node does not know any "
		"other node.");
	cluster_state_free(st);
}

static size_t keys_three(void *ctx, unsigned slot)
{
	(void)ctx;
	return slot == 7 ? 3 : 0;
}

static void test_setslot(void **state)
{
	(void)state;
	struct peer a, b;
	char err[CLUSTER_ERR_MAX], line[128];
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	set_epoch(&a, 1);
	set_epoch(&b, 2);
	send_msg(&b, &a, BUS_PING, find(&b, &a), CLUSTER_NONE, 3000); /* a learns epoch 2 */
	addrange(&a, "0", "9");
	const char *idb = cluster_myself(b.st)->id;
	uint16_t nb = find(&a, &b);
	snprintf(line, sizeof(line), "setslot 7 MIGRATING %s", idb);
	assert_string_equal(run(a.st, line), "");
	assert_int_equal(a.st->migrating_to[7], nb);
	/* NODE elsewhere while keys remain is refused. */
	struct cluster_arg args[3] = { { "7", 1 }, { "node", 4 }, { idb, BUS_ID_LEN } };
	struct cluster_keys keys = { keys_three, NULL };
	assert_int_equal(cluster_setslot(a.st, args, 3, &keys, err), -1);
	assert_string_equal(err, "Can't assign hashslot 7 to a different node while I still hold "
				 "keys for this hash slot.");
	assert_int_equal(a.st->owner[7], a.st->myself);
	/* Without keys it goes, and the migrating state with it. */
	assert_int_equal(cluster_setslot(a.st, args, 3, NULL, err), 0);
	assert_int_equal(a.st->owner[7], nb);
	assert_int_equal(a.st->migrating_to[7], CLUSTER_NONE);
	/* IMPORTING then NODE myself raises my epoch without consensus. */
	snprintf(line, sizeof(line), "setslot 7 importing %s", idb);
	assert_string_equal(run(a.st, line), "");
	snprintf(line, sizeof(line), "setslot 7 node %s", cluster_myself(a.st)->id);
	assert_string_equal(run(a.st, line), "");
	assert_int_equal(a.st->owner[7], a.st->myself);
	assert_int_equal(a.st->importing_from[7], CLUSTER_NONE);
	assert_int_equal(cluster_myself(a.st)->config_epoch, 3);
	assert_false(cluster_bumpepoch(a.st)); /* now the unique maximum */
	assert_string_equal(run(a.st, "setslot 8 stable"), "");
	/* FORGET b: its slots go, and gossip cannot bring it back for 60 s. */
	snprintf(line, sizeof(line), "forget %s", idb);
	assert_string_equal(run(a.st, line), "");
	assert_int_equal(find(&a, &b), CLUSTER_NONE);
	cluster_reset(a.st, true);
	check(a.st);
	assert_int_equal(a.st->current_epoch, 0);
	assert_int_equal(cluster_myself(a.st)->numslots, 0);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

/* A slot migrating to b, which b then claims at a newer epoch (its
 * SETSLOT NODE reached b, not a): a gives it to b and closes the
 * migration, else a would send ASK to b if it took the slot back. */
static void test_claim_closes_migration(void **state)
{
	(void)state;
	struct peer a, b;
	char line[128];
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	set_epoch(&a, 1);
	addrange(&a, "0", "9");
	uint16_t na = find(&b, &a), nb = find(&a, &b);
	snprintf(line, sizeof(line), "setslot 7 migrating %s", cluster_myself(b.st)->id);
	assert_string_equal(run(a.st, line), "");
	set_epoch(&b, 2);
	addrange(&b, "7", "7");
	send_msg(&b, &a, BUS_PING, na, CLUSTER_NONE, 3000);
	check(a.st);
	assert_int_equal(a.st->owner[7], nb);
	assert_int_equal(a.st->migrating_to[7], CLUSTER_NONE);
	assert_int_equal(a.st->owner[6], a.st->myself);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

static void test_slot_versions(void **state)
{
	(void)state;
	struct peer a, b;
	struct cluster_effects fx;
	struct cluster_from from = { CLUSTER_NONE, 0, "", "" };
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	addrange(&b, "0", "99");
	set_epoch(&b, 1);
	uint16_t na = find(&b, &a), nb = find(&a, &b);
	/* b's PING carries its full set; a's PONG acknowledges that version. */
	send_msg(&b, &a, BUS_PING, na, CLUSTER_NONE, 3000);
	assert_int_equal(a.st->nodes[nb]->slots_version, b.st->my_slots_version);
	send_msg(&a, &b, BUS_PONG, nb, na, 3000);
	assert_int_equal(b.st->nodes[na]->acked_my_slots, b.st->my_slots_version);
	/* Acknowledged: the next PING says nothing about slots. */
	cluster_build_ping(b.st, BUS_PING, na, out_msg);
	assert_false(out_msg->u.ping.slots.present);
	/* A delta over the version a holds: +200-210, -0-9. */
	uint64_t v = a.st->nodes[nb]->slots_version;
	struct bus_slots *sl = &out_msg->u.ping.slots;
	*sl = (struct bus_slots){
		.present = true, .version = v + 1, .base_version = v, .nadd = 1, .ndel = 1
	};
	sl->ranges[0] = 200;
	sl->ranges[1] = 210;
	sl->ranges[2] = 0;
	sl->ranges[3] = 9;
	long n = bus_msg_encode(out_msg, wire, BUS_FRAME_MAX);
	assert_int_equal(bus_msg_decode(wire, (size_t)n, in_msg, &mem).status, 1);
	cluster_apply(a.st, in_msg, &from, 3000, &fx);
	check(a.st);
	/* The slots b no longer claims stay b's (as in Redis). */
	assert_int_equal(a.st->owner[9], nb);
	assert_int_equal(a.st->owner[10], nb);
	assert_int_equal(a.st->owner[210], nb);
	assert_int_equal(a.st->nodes[nb]->numslots, 100 + 11);
	assert_int_equal(a.st->nodes[nb]->slots_version, v + 1);
	/* A delta over a version a does not hold is ignored. */
	in_msg->u.ping.slots.base_version = v + 5;
	in_msg->u.ping.slots.version = v + 6;
	in_msg->u.ping.slots.ranges[0] = 300;
	in_msg->u.ping.slots.ranges[1] = 300;
	cluster_apply(a.st, in_msg, &from, 3000, &fx);
	assert_int_equal(a.st->owner[300], CLUSTER_NONE);
	assert_int_equal(a.st->nodes[nb]->slots_version, v + 1);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

/* b's PING to a with one gossip entry about an unknown node at ip. */
static void gossip_one(struct peer *b, struct peer *a, const char *ip)
{
	struct cluster_effects fx;
	struct cluster_from from = { CLUSTER_NONE, 0, b->ip, a->ip };

	cluster_build_ping(b->st, BUS_PING, find(b, a), out_msg);
	out_msg->u.ping.ngossip = 1;
	struct bus_gossip *g = &out_msg->u.ping.gossip[0];
	memset(g, 0, sizeof(*g));
	strcpy(g->id, "00000000000000000000000000000000000000aa");
	strcpy(g->ip, ip);
	g->port = 7005;
	g->bus_port = 17005;
	g->flags = CLUSTER_NODE_MASTER;
	long n = bus_msg_encode(out_msg, wire, BUS_FRAME_MAX);
	assert_int_equal(bus_msg_decode(wire, (size_t)n, in_msg, &mem).status, 1);
	cluster_apply(a->st, in_msg, &from, 3000, &fx);
	check(a->st);
}

static void test_gossip_address(void **state)
{
	(void)state;
	struct peer a, b;
	peer_init(&a, 1, "127.0.0.1", 7000);
	peer_init(&b, 2, "127.0.0.2", 7001);
	join(&a, &b, 2000);
	/* Characters of an address, but no address: no handshake. */
	gossip_one(&b, &a, "1.2.3");
	assert_int_equal(a.st->nnodes, 2);
	gossip_one(&b, &a, "::");
	assert_int_equal(a.st->nnodes, 3);
	/* Written as inet_ntop writes it, so one address is one handshake. */
	gossip_one(&b, &a, "0:0::0");
	assert_int_equal(a.st->nnodes, 3);
	cluster_state_free(a.st);
	cluster_state_free(b.st);
}

#define CONVERGE_NODES 6
#define CONVERGE_ROUNDS 20

static struct peer *peer_at(struct peer *all, uint16_t port)
{
	for (int k = 0; k < CONVERGE_NODES; k++)
		if (all[k].port == port)
			return &all[k];
	return NULL;
}

/* One round: every node PINGs (or MEETs) every node of its table over its
 * link, and gets the PONG back on that link. */
static void converge_round(struct peer *all, uint64_t now)
{
	for (int k = 0; k < CONVERGE_NODES; k++) {
		struct peer *p = &all[k];
		for (uint16_t i = 0; i < CLUSTER_NODES_MAX; i++) {
			if (p->st->nodes[i] == NULL || i == p->st->myself)
				continue;
			struct peer *q = peer_at(all, p->st->nodes[i]->port);
			assert_non_null(q);
			uint8_t type = (p->st->nodes[i]->flags & CLUSTER_NODE_MEET) ? BUS_MEET
										    : BUS_PING;
			cluster_link_set(p->st, i, CLUSTER_LINK_UP);
			cluster_ping_sent(p->st, i, now);
			struct cluster_effects fx = send_msg(p, q, type, i, CLUSTER_NONE, now);
			assert_true(fx.pong);
			fx = send_msg(q, p, BUS_PONG, fx.sender, i, now);
		}
	}
}

/* redis-cli --cluster create: each node takes its slots and epoch, then
 * every node MEETs the first; gossip does the rest. */
static void test_converge(void **state)
{
	(void)state;
	struct peer all[CONVERGE_NODES];
	static const char *ips[CONVERGE_NODES] = { "10.0.0.1", "10.0.0.2", "10.0.0.3",
						   "10.0.0.4", "10.0.0.5", "10.0.0.6" };
	char lo[8], hi[8], ep[4], err[CLUSTER_ERR_MAX];

	for (int k = 0; k < CONVERGE_NODES; k++) {
		peer_init(&all[k], (uint64_t)k + 10, ips[k], (uint16_t)(7000 + k));
		snprintf(lo, sizeof(lo), "%d", k * CLUSTER_SLOTS / CONVERGE_NODES);
		snprintf(hi, sizeof(hi), "%d", (k + 1) * CLUSTER_SLOTS / CONVERGE_NODES - 1);
		snprintf(ep, sizeof(ep), "%d", k + 1);
		addrange(&all[k], lo, hi);
		assert_int_equal(cluster_set_config_epoch(all[k].st, ep, strlen(ep), err), 0);
	}
	for (int k = 1; k < CONVERGE_NODES; k++)
		assert_int_equal(meet_cmd(&all[k], &all[0]), 0);
	int rounds = 0;
	bool done = false;
	while (!done && rounds < CONVERGE_ROUNDS) {
		converge_round(all, 2000 + (uint64_t)rounds * 100);
		rounds++;
		done = true;
		for (int k = 0; k < CONVERGE_NODES; k++) {
			cluster_tick(all[k].st, 2000 + (uint64_t)rounds * 100);
			done = done && all[k].st->nnodes == CONVERGE_NODES && all[k].st->ok;
		}
	}
	print_message("converged in %d rounds\n", rounds);
	assert_true(done);
	/* Every node names the same owner for every slot, and the same epochs. */
	for (int k = 0; k < CONVERGE_NODES; k++) {
		struct cluster_state *st = all[k].st;
		assert_int_equal(st->current_epoch, CONVERGE_NODES);
		for (unsigned slot = 0; slot < CLUSTER_SLOTS; slot++) {
			const char *owner = st->nodes[st->owner[slot]]->id;
			int want = CONVERGE_NODES - 1;
			while ((unsigned)(want * CLUSTER_SLOTS / CONVERGE_NODES) > slot)
				want--;
			assert_string_equal(owner, cluster_myself(all[want].st)->id);
		}
		for (uint16_t i = 0; i < CLUSTER_NODES_MAX; i++)
			if (st->nodes[i] != NULL)
				assert_int_equal(st->nodes[i]->flags & CLUSTER_NODE_HANDSHAKE, 0);
	}
	for (int k = 0; k < CONVERGE_NODES; k++)
		cluster_state_free(all[k].st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_state),
		cmocka_unit_test(test_meet_and_gossip),
		cmocka_unit_test(test_epoch_conflict),
		cmocka_unit_test(test_epoch_collision),
		cmocka_unit_test(test_pfail),
		cmocka_unit_test(test_slot_commands),
		cmocka_unit_test(test_setslot),
		cmocka_unit_test(test_claim_closes_migration),
		cmocka_unit_test(test_slot_versions),
		cmocka_unit_test(test_gossip_address),
		cmocka_unit_test(test_converge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
