/* state_cmd.c: the CLUSTER commands that change the state (state.h), with
 * Redis 7.0.15's checks in its order and its error texts (clusterCommand).
 * Every argument is checked before anything changes. The checks that need
 * the keyspace (FLUSHSLOTS and RESET on a node with keys) are the caller's. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/util.h"
#include "cluster/state.h"
#include "cluster/state_int.h"

#include <stdarg.h>

/* Writes an error text into err and returns -1. */
__attribute__((format(printf, 2, 3))) static int errf(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CLUSTER_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

#define ERR(...) errf(err, __VA_ARGS__)

int cluster_parse_slot(const char *p, size_t n)
{
	long long v;

	if (!util_str2ll(p, n, &v) || v < 0 || v >= CLUSTER_SLOTS)
		return -1;
	return (int)v;
}

/* ---- MEET ---- */

bool cluster_ip_normalize(const char *p, size_t n, char out[BUS_IP_MAX + 1])
{
	char buf[64];
	unsigned char addr[16];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return inet_ntop(AF_INET, addr, out, BUS_IP_MAX + 1) != NULL;
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, BUS_IP_MAX + 1) != NULL;
	return false;
}

/* args: ip port [bus-port]. */
int cluster_meet(struct cluster_state *st, const struct cluster_arg *args, int nargs,
		 uint64_t now_ms, char *err)
{
	long long port, bport;
	char ip[BUS_IP_MAX + 1];

	ASSERT(nargs == 2 || nargs == 3);
	if (!util_str2ll(args[1].p, args[1].n, &port))
		return ERR("Invalid TCP base port specified: %.*s", (int)args[1].n, args[1].p);
	bport = port + 10000;
	if (nargs == 3 && !util_str2ll(args[2].p, args[2].n, &bport))
		return ERR("Invalid TCP bus port specified: %.*s", (int)args[2].n, args[2].p);
	if (!cluster_ip_normalize(args[0].p, args[0].n, ip) || port <= 0 || port > 65535 ||
	    bport <= 0 || bport > 65535)
		return ERR("Invalid node address specified: %.*s:%.*s", (int)args[0].n, args[0].p,
			   (int)args[1].n, args[1].p);
	/* A handshake already under way, or a full table: +OK all the same. */
	cluster_handshake_start(st, ip, (uint16_t)port, (uint16_t)bport, now_ms);
	return 0;
}

/* ---- ADDSLOTS, DELSLOTS and their RANGE forms ---- */

/* The checks of one slot: busy or unassigned, and seen twice. */
static int slot_check(const struct cluster_state *st, int slot, bool del, uint8_t *seen, char *err)
{
	if (del && st->owner[slot] == CLUSTER_NONE)
		return ERR("Slot %d is already unassigned", slot);
	if (!del && st->owner[slot] != CLUSTER_NONE)
		return ERR("Slot %d is already busy", slot);
	if (seen[slot]++ == 1)
		return ERR("Slot %d specified multiple times", slot);
	return 0;
}

static void slots_apply(struct cluster_state *st, const uint8_t *seen, bool del)
{
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (!seen[s])
			continue;
		if (del) {
			cluster_slot_set(st, s, CLUSTER_NONE);
			continue;
		}
		/* Taking a slot ends its import (clusterAddSlot's caller). */
		st->importing_from[s] = CLUSTER_NONE;
		cluster_slot_set(st, s, st->myself);
	}
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE;
}

int cluster_addslots(struct cluster_state *st, const struct cluster_arg *args, int nargs, bool del,
		     char *err)
{
	uint8_t seen[CLUSTER_SLOTS] = { 0 };

	for (int i = 0; i < nargs; i++) {
		int slot = cluster_parse_slot(args[i].p, args[i].n);
		if (slot < 0)
			return ERR("Invalid or out of range slot");
		if (slot_check(st, slot, del, seen, err) < 0)
			return -1;
	}
	slots_apply(st, seen, del);
	return 0;
}

int cluster_addslotsrange(struct cluster_state *st, const struct cluster_arg *args, int nargs,
			  bool del, char *err)
{
	uint8_t seen[CLUSTER_SLOTS] = { 0 };

	ASSERT(nargs % 2 == 0);
	for (int i = 0; i < nargs; i += 2) {
		int start = cluster_parse_slot(args[i].p, args[i].n);
		if (start < 0)
			return ERR("Invalid or out of range slot");
		int end = cluster_parse_slot(args[i + 1].p, args[i + 1].n);
		if (end < 0)
			return ERR("Invalid or out of range slot");
		if (start > end)
			return ERR("start slot number %d is greater than end slot number %d", start,
				   end);
		for (int s = start; s <= end; s++)
			if (slot_check(st, s, del, seen, err) < 0)
				return -1;
	}
	slots_apply(st, seen, del);
	return 0;
}

void cluster_flushslots(struct cluster_state *st)
{
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
		if (st->owner[s] == st->myself)
			cluster_slot_set(st, s, CLUSTER_NONE);
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE;
}

/* ---- SETSLOT ---- */

static bool arg_is(const struct cluster_arg *a, const char *lit)
{
	return util_eq_nocase(a->p, a->n, lit);
}

static size_t keys_in(const struct cluster_keys *keys, unsigned slot)
{
	return keys == NULL || keys->count == NULL ? 0 : keys->count(keys->ctx, slot);
}

/* clusterBumpConfigEpochWithoutConsensus. */
static bool bump_epoch(struct cluster_state *st)
{
	struct cluster_node *me = cluster_myself(st);
	uint64_t max = st->current_epoch;

	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && st->nodes[i]->config_epoch > max)
			max = st->nodes[i]->config_epoch;
	if (me->config_epoch != 0 && me->config_epoch == max)
		return false;
	st->current_epoch++;
	me->config_epoch = st->current_epoch;
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	return true;
}

bool cluster_bumpepoch(struct cluster_state *st)
{
	return bump_epoch(st);
}

/* The target of MIGRATING or IMPORTING: known, and a master. */
static uint16_t setslot_target(const struct cluster_state *st, const struct cluster_arg *a,
			       const char *unknown, char *err)
{
	uint16_t n = cluster_node_find(st, a->p, a->n);

	if (n == CLUSTER_NONE) {
		(void)ERR("%s %.*s", unknown, (int)a->n, a->p);
		return CLUSTER_NONE;
	}
	if ((st->nodes[n]->flags & CLUSTER_NODE_SLAVE) != 0) {
		(void)ERR("Target node is not a master");
		return CLUSTER_NONE;
	}
	return n;
}

static int setslot_node(struct cluster_state *st, int slot, const struct cluster_arg *a,
			const struct cluster_keys *keys, char *err)
{
	uint16_t n = setslot_target(st, a, "Unknown node", err);

	if (n == CLUSTER_NONE)
		return -1;
	if (st->owner[slot] == st->myself && n != st->myself && keys_in(keys, (unsigned)slot) != 0)
		return ERR(
			"Can't assign hashslot %d to a different node while I still hold keys for "
			"this hash slot.",
			slot);
	if (keys_in(keys, (unsigned)slot) == 0)
		st->migrating_to[slot] = CLUSTER_NONE;
	cluster_slot_set(st, (unsigned)slot, n);
	if (n == st->myself && st->importing_from[slot] != CLUSTER_NONE) {
		bump_epoch(st);
		st->importing_from[slot] = CLUSTER_NONE;
	}
	return 0;
}

static int setslot_action(struct cluster_state *st, int slot, const struct cluster_arg *args,
			  int nargs, const struct cluster_keys *keys, char *err)
{
	uint16_t n;

	if (arg_is(&args[1], "migrating") && nargs == 3) {
		if (st->owner[slot] != st->myself)
			return ERR("I'm not the owner of hash slot %u", (unsigned)slot);
		if ((n = setslot_target(st, &args[2], "I don't know about node", err)) ==
		    CLUSTER_NONE)
			return -1;
		st->migrating_to[slot] = n;
	} else if (arg_is(&args[1], "importing") && nargs == 3) {
		if (st->owner[slot] == st->myself)
			return ERR("I'm already the owner of hash slot %u", (unsigned)slot);
		if ((n = setslot_target(st, &args[2], "I don't know about node", err)) ==
		    CLUSTER_NONE)
			return -1;
		st->importing_from[slot] = n;
	} else if (arg_is(&args[1], "stable") && nargs == 2) {
		st->migrating_to[slot] = st->importing_from[slot] = CLUSTER_NONE;
	} else if (arg_is(&args[1], "node") && nargs == 3) {
		return setslot_node(st, slot, &args[2], keys, err);
	} else {
		return ERR(
			"Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
	}
	return 0;
}

/* args: slot action [node-id]. */
int cluster_setslot(struct cluster_state *st, const struct cluster_arg *args, int nargs,
		    const struct cluster_keys *keys, char *err)
{
	ASSERT(nargs >= 2);
	if ((cluster_myself(st)->flags & CLUSTER_NODE_SLAVE) != 0)
		return ERR("Please use SETSLOT only with masters.");
	int slot = cluster_parse_slot(args[0].p, args[0].n);
	if (slot < 0)
		return ERR("Invalid or out of range slot");
	if (setslot_action(st, slot, args, nargs, keys, err) < 0)
		return -1;
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE;
	return 0;
}

/* ---- FORGET, RESET, SET-CONFIG-EPOCH ---- */

static void blacklist_add(struct cluster_state *st, const char *id, uint64_t now_ms)
{
	unsigned at = 0;

	for (unsigned b = 0; b < CLUSTER_BLACKLIST_MAX; b++) {
		if (memcmp(st->blacklist[b].id, id, BUS_ID_LEN) == 0 ||
		    st->blacklist[b].id[0] == '\0') {
			at = b;
			break;
		}
		if (st->blacklist[b].expire_ms < st->blacklist[at].expire_ms)
			at = b;
	}
	memcpy(st->blacklist[at].id, id, BUS_ID_LEN + 1);
	st->blacklist[at].expire_ms = now_ms + CLUSTER_BLACKLIST_TTL_MS;
}

int cluster_forget(struct cluster_state *st, const char *id, size_t n, uint64_t now_ms, char *err)
{
	uint16_t i = cluster_node_find(st, id, n);

	if (i == CLUSTER_NONE)
		return ERR("Unknown node %.*s", (int)n, id);
	if (i == st->myself)
		return ERR("I tried hard but I can't forget myself...");
	blacklist_add(st, st->nodes[i]->id, now_ms);
	cluster_node_del(st, i);
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	return 0;
}

void cluster_reset(struct cluster_state *st, bool hard)
{
	struct cluster_node *me = cluster_myself(st);

	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		st->migrating_to[s] = st->importing_from[s] = CLUSTER_NONE;
		cluster_slot_set(st, s, CLUSTER_NONE);
	}
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && i != st->myself)
			cluster_node_del(st, (uint16_t)i);
	if (hard) {
		st->current_epoch = st->last_vote_epoch = 0;
		me->config_epoch = 0;
		cluster_random_id(st, me->id);
	}
	cluster_update_ok(st);
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
}

int cluster_set_config_epoch(struct cluster_state *st, const char *arg, size_t n, char *err)
{
	long long e;

	if (!util_str2ll(arg, n, &e))
		return ERR("value is not an integer or out of range");
	if (e < 0)
		return ERR("Invalid config epoch specified: %lld", e);
	if (st->nnodes > 1)
		return ERR(
			"The user can assign a config epoch only when the node does not know any "
			"other node.");
	if (cluster_myself(st)->config_epoch != 0)
		return ERR("Node config epoch is already non-zero");
	cluster_myself(st)->config_epoch = (uint64_t)e;
	if (st->current_epoch < (uint64_t)e)
		st->current_epoch = (uint64_t)e;
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	return 0;
}
