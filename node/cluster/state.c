/* state.c: the node table, slot ownership, the invariants, time (PFAIL,
 * handshake timeouts) and the messages myself sends (state.h). What a
 * received message does is in gossip.c; the commands are in state_cmd.c. */
#include "cluster/state.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/xoshiro.h"
#include "cluster/state_int.h"

void cluster_random_id(struct cluster_state *st, char id[BUS_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < BUS_ID_LEN; i += 16) {
		uint64_t r = xoshiro256pp_next(st->rng);
		for (int j = 0; j < 16 && i + j < BUS_ID_LEN; j++)
			id[i + j] = hex[(r >> (4 * j)) & 15];
	}
	id[BUS_ID_LEN] = '\0';
}

uint16_t cluster_node_add(struct cluster_state *st, const char *id, uint32_t flags, uint64_t now_ms)
{
	if (st->nnodes >= CLUSTER_NODES_MAX)
		return CLUSTER_NONE;
	uint16_t i = 0;
	while (st->nodes[i] != NULL)
		i++;
	struct cluster_node *n = mem_calloc(st->mem, sizeof(*n));
	if (id != NULL)
		memcpy(n->id, id, BUS_ID_LEN + 1);
	else
		cluster_random_id(st, n->id);
	ASSERT(cluster_node_find(st, n->id, BUS_ID_LEN) == CLUSTER_NONE);
	n->flags = flags;
	n->gen = ++st->gen_next;
	n->ctime_ms = now_ms;
	st->nodes[i] = n;
	st->nnodes++;
	return i;
}

void cluster_slot_set(struct cluster_state *st, unsigned slot, uint16_t owner)
{
	uint16_t old = st->owner[slot];

	if (old == owner)
		return;
	if (old != CLUSTER_NONE)
		st->nodes[old]->numslots--;
	if (owner != CLUSTER_NONE)
		st->nodes[owner]->numslots++;
	if (old == st->myself || owner == st->myself)
		st->my_slots_version++;
	st->owner[slot] = owner;
	st->todo |= CLUSTER_TODO_SAVE;
}

void cluster_node_del(struct cluster_state *st, uint16_t i)
{
	ASSERT(i != st->myself);
	ASSERT(st->nodes[i] != NULL);
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (st->owner[s] == i)
			cluster_slot_set(st, s, CLUSTER_NONE);
		if (st->migrating_to[s] == i)
			st->migrating_to[s] = CLUSTER_NONE;
		if (st->importing_from[s] == i)
			st->importing_from[s] = CLUSTER_NONE;
	}
	mem_free(st->mem, st->nodes[i]);
	st->nodes[i] = NULL;
	st->nnodes--;
	st->todo |= CLUSTER_TODO_SAVE;
}

struct cluster_state *cluster_state_new(struct mem *mem, uint64_t seed, uint64_t now_ms)
{
	struct cluster_state *st = mem_calloc(mem, sizeof(*st));

	st->mem = mem;
	/* splitmix64 spreads the seed over the generator's state. */
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		st->rng[i] = z ^ (z >> 31);
	}
	st->node_timeout_ms = CLUSTER_NODE_TIMEOUT_DEFAULT;
	st->require_full_coverage = true;
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
		st->owner[s] = st->migrating_to[s] = st->importing_from[s] = CLUSTER_NONE;
	st->myself = cluster_node_add(st, NULL, CLUSTER_NODE_MYSELF | CLUSTER_NODE_MASTER, now_ms);
	st->my_slots_version = 1;
	cluster_update_ok(st);
	st->todo = CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	return st;
}

void cluster_state_free(struct cluster_state *st)
{
	if (st == NULL)
		return;
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL)
			mem_free(st->mem, st->nodes[i]);
	mem_free(st->mem, st);
}

uint16_t cluster_node_find(const struct cluster_state *st, const char *id, size_t n)
{
	if (n != BUS_ID_LEN)
		return CLUSTER_NONE;
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL && memcmp(st->nodes[i]->id, id, BUS_ID_LEN) == 0)
			return (uint16_t)i;
	return CLUSTER_NONE;
}

bool cluster_node_live(const struct cluster_state *st, uint16_t i, uint32_t gen)
{
	return i < CLUSTER_NODES_MAX && st->nodes[i] != NULL && st->nodes[i]->gen == gen;
}

void cluster_link_set(struct cluster_state *st, uint16_t i, enum cluster_link l)
{
	ASSERT(i < CLUSTER_NODES_MAX);
	ASSERT(st->nodes[i] != NULL);
	st->nodes[i]->link = (uint8_t)l;
}

/* ---- invariants ---- */

/* Two live nodes with one id (pairwise over the live nodes only). */
static bool ids_unique(const struct cluster_state *st)
{
	uint16_t live[CLUSTER_NODES_MAX];
	uint32_t n = 0;

	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (st->nodes[i] != NULL)
			live[n++] = (uint16_t)i;
	for (uint32_t a = 0; a < n; a++)
		for (uint32_t b = a + 1; b < n; b++)
			if (memcmp(st->nodes[live[a]]->id, st->nodes[live[b]]->id, BUS_ID_LEN) == 0)
				return false;
	return true;
}

static const char *check_nodes(const struct cluster_state *st, uint32_t *slots)
{
	uint32_t count = 0, myselves = 0;

	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++) {
		const struct cluster_node *n = st->nodes[i];
		if (n == NULL)
			continue;
		count++;
		if (!bus_id_valid(n->id, strlen(n->id)))
			return "a node id is not 40 hex characters";
		if (!bus_ip_valid(n->ip, strlen(n->ip)))
			return "a node ip is not an ip";
		if ((n->flags & CLUSTER_NODE_MYSELF) != 0)
			myselves++;
		if (n->config_epoch > st->current_epoch)
			return "a config epoch above currentEpoch";
		if (n->numslots != slots[i])
			return "a node's slot count is wrong";
	}
	if (count != st->nnodes)
		return "nnodes is wrong";
	if (myselves != 1)
		return "not exactly one node is myself";
	if (!ids_unique(st))
		return "two nodes share an id";
	return NULL;
}

static bool node_ok(const struct cluster_state *st, uint16_t i)
{
	return i == CLUSTER_NONE || (i < CLUSTER_NODES_MAX && st->nodes[i] != NULL);
}

const char *cluster_state_check(const struct cluster_state *st)
{
	uint32_t slots[CLUSTER_NODES_MAX] = { 0 };

	if (st->myself >= CLUSTER_NODES_MAX || st->nodes[st->myself] == NULL)
		return "myself does not exist";
	if ((st->nodes[st->myself]->flags & CLUSTER_NODE_MYSELF) == 0)
		return "myself is not flagged myself";
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		uint16_t o = st->owner[s];
		if (!node_ok(st, o) || !node_ok(st, st->migrating_to[s]) ||
		    !node_ok(st, st->importing_from[s]))
			return "a slot names a node that does not exist";
		if (o == CLUSTER_NONE)
			continue;
		if ((st->nodes[o]->flags & CLUSTER_NODE_HANDSHAKE) != 0)
			return "a handshake node owns a slot";
		if ((st->nodes[o]->flags & CLUSTER_NODE_MASTER) == 0)
			return "a slot's owner is not a master";
		slots[o]++;
	}
	return check_nodes(st, slots);
}

/* ---- time ---- */

static void tick_node(struct cluster_state *st, uint16_t i, uint64_t now_ms)
{
	struct cluster_node *n = st->nodes[i];
	uint64_t handshake_ms = st->node_timeout_ms > 1000 ? st->node_timeout_ms : 1000;

	if ((n->flags & CLUSTER_NODE_HANDSHAKE) != 0) {
		if (now_ms > n->ctime_ms && now_ms - n->ctime_ms > handshake_ms)
			cluster_node_del(st, i);
		return;
	}
	if (n->ping_sent_ms != 0 && now_ms > n->ping_sent_ms &&
	    now_ms - n->ping_sent_ms > st->node_timeout_ms &&
	    (now_ms < n->data_received_ms ? 0 : now_ms - n->data_received_ms) >
		    st->node_timeout_ms &&
	    (n->flags & (CLUSTER_NODE_PFAIL | CLUSTER_NODE_FAIL)) == 0) {
		n->flags |= CLUSTER_NODE_PFAIL;
		cluster_update_ok(st);
	}
}

void cluster_tick(struct cluster_state *st, uint64_t now_ms)
{
	/* Until every node was seen (counted before tick_node may drop one). */
	uint32_t total = st->nnodes, seen = 0;

	for (unsigned i = 0; i < CLUSTER_NODES_MAX && seen < total; i++) {
		if (st->nodes[i] == NULL)
			continue;
		seen++;
		if (i != st->myself)
			tick_node(st, (uint16_t)i, now_ms);
	}
	for (unsigned b = 0; b < CLUSTER_BLACKLIST_MAX; b++)
		if (st->blacklist[b].id[0] != '\0' && st->blacklist[b].expire_ms < now_ms)
			st->blacklist[b].id[0] = '\0';
	cluster_update_ok(st);
}

void cluster_ping_sent(struct cluster_state *st, uint16_t i, uint64_t now_ms)
{
	ASSERT(st->nodes[i] != NULL);
	if (st->nodes[i]->ping_sent_ms == 0)
		st->nodes[i]->ping_sent_ms = now_ms;
}

static bool reachable_master(const struct cluster_node *n)
{
	return (n->flags & CLUSTER_NODE_MASTER) != 0 && n->numslots > 0 &&
	       (n->flags & (CLUSTER_NODE_PFAIL | CLUSTER_NODE_FAIL)) == 0;
}

/* clusterUpdateState without its timers (the caller holds those): fail when
 * full coverage is required and a slot is unassigned or owned by a FAIL
 * node, or when fewer than size/2+1 masters with slots are reachable. */
void cluster_update_ok(struct cluster_state *st)
{
	bool ok = true;
	uint32_t size = 0, reachable = 0, served = 0;

	/* Every slot has an owner that has not failed: the owners' counts
	 * (numslots, which cluster_state_check keeps honest) add up to all
	 * slots, without a walk over them each tick. */
	for (unsigned i = 0, seen = 0; i < CLUSTER_NODES_MAX && seen < st->nnodes; i++) {
		const struct cluster_node *n = st->nodes[i];
		seen += n != NULL;
		if (n == NULL || (n->flags & CLUSTER_NODE_MASTER) == 0 || n->numslots == 0)
			continue;
		if (!(n->flags & CLUSTER_NODE_FAIL))
			served += n->numslots;
		size++;
		reachable += reachable_master(n) ? 1 : 0;
	}
	if (st->require_full_coverage && served < CLUSTER_SLOTS)
		ok = false;
	if (reachable < size / 2 + 1)
		ok = false;
	st->ok = ok;
}

/* ---- building messages ---- */

static void ranges_of(const struct cluster_state *st, uint16_t owner, uint32_t *ranges, uint32_t *n)
{
	*n = 0;
	for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
		if (st->owner[s] != owner)
			continue;
		unsigned e = s;
		while (e + 1 < CLUSTER_SLOTS && st->owner[e + 1] == owner)
			e++;
		ranges[2 * *n] = s;
		ranges[2 * *n + 1] = e;
		(*n)++;
		s = e;
	}
	ASSERT(*n <= BUS_RANGES_MAX);
}

static bool gossip_worthy(const struct cluster_state *st, uint16_t i, uint16_t peer)
{
	const struct cluster_node *n = st->nodes[i];

	return n != NULL && i != st->myself && i != peer &&
	       (n->flags & (CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_NOADDR)) == 0;
}

static void gossip_add(const struct cluster_state *st, uint16_t i, struct bus_ping *p)
{
	const struct cluster_node *n = st->nodes[i];
	struct bus_gossip *g = &p->gossip[p->ngossip++];

	memcpy(g->id, n->id, sizeof(g->id));
	memcpy(g->ip, n->ip, sizeof(g->ip));
	g->port = n->port;
	g->bus_port = n->bus_port;
	g->flags = n->flags & ~(uint32_t)CLUSTER_NODE_MYSELF;
	g->ping_sent_ms = n->ping_sent_ms;
	g->pong_received_ms = n->pong_received_ms;
}

/* max(3, N/10) random nodes, as Redis picks, then every PFAIL node. */
static void build_gossip(struct cluster_state *st, uint16_t peer, struct bus_ping *p)
{
	uint32_t wanted = st->nnodes / 10 < 3 ? 3 : st->nnodes / 10, tries = wanted * 3, live = 0;
	uint8_t picked[CLUSTER_NODES_MAX] = { 0 };
	uint16_t idx[CLUSTER_NODES_MAX];

	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++)
		if (gossip_worthy(st, (uint16_t)i, peer))
			idx[live++] = (uint16_t)i;
	p->ngossip = 0;
	while (live > 0 && p->ngossip < wanted && p->ngossip < BUS_GOSSIP_MAX && tries-- > 0) {
		uint16_t i = idx[xoshiro256pp_next(st->rng) % live];
		if (picked[i])
			continue;
		picked[i] = 1;
		gossip_add(st, i, p);
	}
	for (uint32_t k = 0; k < live && p->ngossip < BUS_GOSSIP_MAX; k++)
		if (!picked[idx[k]] && (st->nodes[idx[k]]->flags & CLUSTER_NODE_PFAIL) != 0)
			gossip_add(st, idx[k], p);
}

void cluster_build_ping(struct cluster_state *st, uint8_t type, uint16_t peer, struct bus_msg *m)
{
	const struct cluster_node *me = cluster_myself(st);
	struct bus_ping *p = &m->u.ping;
	bool acked = peer != CLUSTER_NONE &&
		     st->nodes[peer]->acked_my_slots == st->my_slots_version;

	ASSERT(type == BUS_MEET || type == BUS_PING || type == BUS_PONG);
	m->type = type;
	memcpy(p->sender, me->id, sizeof(p->sender));
	memcpy(p->ip, me->ip, sizeof(p->ip));
	p->port = me->port;
	p->bus_port = me->bus_port;
	p->flags = me->flags;
	p->config_epoch = me->config_epoch;
	p->current_epoch = st->current_epoch;
	p->slots_ack = peer == CLUSTER_NONE ? 0 : st->nodes[peer]->slots_version;
	build_gossip(st, peer, p);
	memset(&p->slots, 0, offsetof(struct bus_slots, ranges));
	p->slots.version = st->my_slots_version;
	if (!acked) {
		p->slots.present = true;
		p->slots.full = true;
		ranges_of(st, st->myself, p->slots.ranges, &p->slots.nadd);
	}
	/* The MEET is sent: the node now wants PINGs (Redis clears the flag). */
	if (type == BUS_MEET && peer != CLUSTER_NONE)
		st->nodes[peer]->flags &= ~(uint32_t)CLUSTER_NODE_MEET;
	st->stats_sent[type]++;
}

void cluster_build_update(struct cluster_state *st, uint16_t n, struct bus_msg *m)
{
	struct bus_update *u = &m->u.update;

	ASSERT(st->nodes[n] != NULL);
	m->type = BUS_UPDATE;
	memcpy(u->id, st->nodes[n]->id, sizeof(u->id));
	memcpy(u->sender, cluster_myself(st)->id, sizeof(u->sender));
	u->config_epoch = st->nodes[n]->config_epoch;
	u->current_epoch = st->current_epoch;
	ranges_of(st, n, u->ranges, &u->nranges);
	st->stats_sent[BUS_UPDATE]++;
}
