/* gossip.c: what a received bus message does to the cluster state
 * (cluster_apply() in state.h), after Redis 7.0.15's clusterProcessPacket,
 * clusterProcessGossipSection, clusterUpdateSlotsConfigWith and
 * clusterHandleConfigEpochCollision. */
#include <string.h>

#include "base/assert.h"
#include "cluster/state.h"
#include "cluster/state_int.h"

bool cluster_blacklisted(const struct cluster_state *st, const char *id)
{
	for (unsigned b = 0; b < CLUSTER_BLACKLIST_MAX; b++)
		if (st->blacklist[b].id[0] != '\0' &&
		    memcmp(st->blacklist[b].id, id, BUS_ID_LEN) == 0)
			return true;
	return false;
}

uint16_t cluster_handshake_start(struct cluster_state *st, const char *ip, uint16_t port,
				 uint16_t bus_port, uint64_t now_ms)
{
	for (unsigned i = 0; i < CLUSTER_NODES_MAX; i++) {
		const struct cluster_node *n = st->nodes[i];
		if (n != NULL && (n->flags & CLUSTER_NODE_HANDSHAKE) != 0 &&
		    strcmp(n->ip, ip) == 0 && n->port == port && n->bus_port == bus_port)
			return CLUSTER_NONE;
	}
	uint16_t i = cluster_node_add(st, NULL, CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_MEET, now_ms);
	if (i == CLUSTER_NONE)
		return i;
	struct cluster_node *n = st->nodes[i];
	ASSERT(strlen(ip) <= BUS_IP_MAX);
	memcpy(n->ip, ip, strlen(ip) + 1);
	n->port = port;
	n->bus_port = bus_port;
	return i;
}

/* ---- slots ---- */

static void bits_from_ranges(const uint32_t *r, uint32_t nranges, uint8_t *bits, bool set)
{
	for (uint32_t k = 0; k < nranges; k++)
		for (uint32_t s = r[2 * k]; s <= r[2 * k + 1]; s++) {
			ASSERT(s < CLUSTER_SLOTS);
			if (set)
				bits[s / 8] |= (uint8_t)(1u << (s % 8));
			else
				bits[s / 8] &= (uint8_t) ~(1u << (s % 8));
		}
}

static bool bit(const uint8_t *bits, unsigned s)
{
	return (bits[s / 8] >> (s % 8)) & 1;
}

/* The slots node n claims, from a full set or a delta over what n owns in
 * our view. False: a delta over a version we do not hold (ignored; our
 * acknowledgement makes n send its full set). */
static bool claimed_slots(const struct cluster_state *st, uint16_t n, const struct bus_slots *s,
			  uint8_t *bits)
{
	memset(bits, 0, CLUSTER_SLOTS / 8);
	if (!s->full) {
		if (s->base_version != st->nodes[n]->slots_version)
			return false;
		for (unsigned j = 0; j < CLUSTER_SLOTS; j++)
			if (st->owner[j] == n)
				bits[j / 8] |= (uint8_t)(1u << (j % 8));
	}
	bits_from_ranges(s->ranges, s->nadd, bits, true);
	bits_from_ranges(s->ranges + 2 * s->nadd, s->ndel, bits, false);
	return true;
}

/* clusterUpdateSlotsConfigWith: every claimed slot that is unassigned or
 * owned at an older epoch goes to n (importing slots change only by hand).
 * A slot n owned and no longer claims stays n's, as in Redis: unbinding it
 * would take the cluster down (full coverage) until the new owner's claim
 * arrives, in the middle of any reshard. A slot migrating to n is no
 * longer migrating once n has it. */
static void update_slots(struct cluster_state *st, uint16_t n, uint64_t epoch, const uint8_t *bits)
{
	for (unsigned j = 0; j < CLUSTER_SLOTS; j++) {
		uint16_t o = st->owner[j];
		if (!bit(bits, j) || o == n || st->importing_from[j] != CLUSTER_NONE)
			continue;
		if (o == CLUSTER_NONE || st->nodes[o]->config_epoch < epoch) {
			cluster_slot_set(st, j, n);
			/* A migration to n is over once n owns the slot: left
			 * open here (its SETSLOT NODE never reached this node),
			 * it would send ASK to n for the slot if this node took
			 * it back, while n sends MOVED here. */
			if (st->migrating_to[j] == n)
				st->migrating_to[j] = CLUSTER_NONE;
		}
	}
}

/* A claimed slot whose owner has a newer epoch: the sender is stale. */
static uint16_t stale_owner(const struct cluster_state *st, uint16_t n, uint64_t epoch,
			    const uint8_t *bits)
{
	for (unsigned j = 0; j < CLUSTER_SLOTS; j++) {
		uint16_t o = st->owner[j];
		if (bit(bits, j) && o != n && o != CLUSTER_NONE &&
		    st->nodes[o]->config_epoch > epoch)
			return o;
	}
	return CLUSTER_NONE;
}

/* ---- epochs ---- */

static void learn_epochs(struct cluster_state *st, uint16_t n, uint64_t current, uint64_t config)
{
	if (current > st->current_epoch) {
		st->current_epoch = current;
		st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	}
	if (config > st->nodes[n]->config_epoch) {
		st->nodes[n]->config_epoch = config;
		st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	}
	if (st->nodes[n]->config_epoch > st->current_epoch)
		st->current_epoch = st->nodes[n]->config_epoch;
}

/* clusterHandleConfigEpochCollision: of two masters with one epoch, the
 * smaller id moves to a new epoch. */
static void epoch_collision(struct cluster_state *st, uint16_t n)
{
	struct cluster_node *me = cluster_myself(st), *s = st->nodes[n];

	if (s->config_epoch != me->config_epoch || (s->flags & CLUSTER_NODE_MASTER) == 0 ||
	    (me->flags & CLUSTER_NODE_MASTER) == 0)
		return;
	if (memcmp(s->id, me->id, BUS_ID_LEN) <= 0)
		return;
	st->current_epoch++;
	me->config_epoch = st->current_epoch;
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
}

/* ---- gossip ---- */

static void gossip_entry(struct cluster_state *st, const struct bus_gossip *g, uint64_t now_ms)
{
	uint16_t i = cluster_node_find(st, g->id, BUS_ID_LEN);

	if (i != CLUSTER_NONE) {
		struct cluster_node *n = st->nodes[i];
		/* A node we cannot reach, seen elsewhere at another address. */
		if (i != st->myself && (n->flags & CLUSTER_NODE_NOADDR) != 0 && g->ip[0] != '\0' &&
		    (g->flags & (CLUSTER_NODE_PFAIL | CLUSTER_NODE_FAIL)) == 0) {
			memcpy(n->ip, g->ip, sizeof(n->ip));
			n->port = g->port;
			n->bus_port = g->bus_port;
			n->flags &= ~(uint32_t)CLUSTER_NODE_NOADDR;
			st->todo |= CLUSTER_TODO_SAVE;
		}
		return;
	}
	char ip[BUS_IP_MAX + 1];
	if ((g->flags & CLUSTER_NODE_NOADDR) != 0 || g->port == 0 || g->bus_port == 0 ||
	    cluster_blacklisted(st, g->id) || !cluster_ip_normalize(g->ip, strlen(g->ip), ip))
		return;
	cluster_handshake_start(st, ip, g->port, g->bus_port, now_ms);
}

/* ---- MEET, PING, PONG ---- */

/* The node of the outbound link the message came on, if still the same. */
static uint16_t link_node(const struct cluster_state *st, const struct cluster_from *from)
{
	if (from == NULL || !cluster_node_live(st, from->link_node, from->link_gen) ||
	    from->link_node == st->myself)
		return CLUSTER_NONE;
	return from->link_node;
}

/* Myself's IP as the peer's socket sees it: on every MEET, and on any PING
 * while unknown (Redis's getsockname). The caller passes no my_ip when
 * cluster-announce-ip is set. */
static void learn_my_ip(struct cluster_state *st, const struct cluster_from *from, uint8_t type)
{
	struct cluster_node *me = cluster_myself(st);
	const char *ip = from == NULL ? NULL : from->my_ip;

	if (ip == NULL || ip[0] == '\0' || !bus_ip_valid(ip, strlen(ip)) || strcmp(me->ip, ip) == 0)
		return;
	if (type != BUS_MEET && me->ip[0] != '\0')
		return;
	memcpy(me->ip, ip, strlen(ip) + 1);
	st->todo |= CLUSTER_TODO_SAVE;
}

/* A MEET from an unknown node: add it as a handshake node. */
static void meet_unknown(struct cluster_state *st, const struct bus_ping *p,
			 const struct cluster_from *from, uint64_t now_ms)
{
	const char *given = p->ip;
	char ip[BUS_IP_MAX + 1];

	if (given[0] == '\0' && from != NULL && from->peer_ip != NULL)
		given = from->peer_ip;
	if (!cluster_ip_normalize(given, strlen(given), ip) || p->port == 0 || p->bus_port == 0)
		return;
	uint16_t i = cluster_handshake_start(st, ip, p->port, p->bus_port, now_ms);
	if (i != CLUSTER_NONE)
		st->nodes[i]->flags &= ~(uint32_t)CLUSTER_NODE_MEET;
	for (uint32_t k = 0; k < p->ngossip; k++)
		gossip_entry(st, &p->gossip[k], now_ms);
}

/* The node of our link answered: a handshake node learns its real id (or
 * goes, if that id is known); a node whose id changed loses its address. */
static uint16_t resolve_link(struct cluster_state *st, uint16_t ln, uint16_t sender,
			     const struct bus_ping *p, struct cluster_effects *fx)
{
	struct cluster_node *n = st->nodes[ln];

	if ((n->flags & CLUSTER_NODE_HANDSHAKE) != 0) {
		if (sender != CLUSTER_NONE || cluster_blacklisted(st, p->sender)) {
			cluster_node_del(st, ln);
			fx->close_link = true;
			return CLUSTER_NONE;
		}
		memcpy(n->id, p->sender, sizeof(n->id));
		n->flags &= ~(uint32_t)(CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_MEET);
		n->flags |= p->flags & (CLUSTER_NODE_MASTER | CLUSTER_NODE_SLAVE);
		st->todo |= CLUSTER_TODO_SAVE;
		return ln;
	}
	if (memcmp(n->id, p->sender, BUS_ID_LEN) != 0) {
		n->ip[0] = '\0';
		n->port = n->bus_port = 0;
		n->flags |= CLUSTER_NODE_NOADDR;
		fx->close_link = true;
		st->todo |= CLUSTER_TODO_SAVE;
		return CLUSTER_NONE;
	}
	return sender;
}

static void apply_pong_on_link(struct cluster_state *st, uint16_t s, uint64_t now_ms)
{
	struct cluster_node *n = st->nodes[s];

	n->pong_received_ms = now_ms;
	n->ping_sent_ms = 0;
	if ((n->flags & CLUSTER_NODE_PFAIL) != 0) {
		n->flags &= ~(uint32_t)CLUSTER_NODE_PFAIL;
		cluster_update_ok(st);
	}
}

static void apply_role(struct cluster_state *st, uint16_t s, uint32_t flags)
{
	struct cluster_node *n = st->nodes[s];
	uint32_t keep = CLUSTER_NODE_MASTER | CLUSTER_NODE_SLAVE | CLUSTER_NODE_NOFAILOVER;
	uint32_t want = (n->flags & ~keep) | (flags & keep);

	/* A replica's role needs replication; until then every node is a
	 * master (a slot owner must be one). */
	want = (want & ~(uint32_t)CLUSTER_NODE_SLAVE) | CLUSTER_NODE_MASTER;
	if (want != n->flags) {
		n->flags = want;
		st->todo |= CLUSTER_TODO_SAVE;
	}
}

static void apply_slots(struct cluster_state *st, uint16_t s, const struct bus_ping *p,
			struct cluster_effects *fx)
{
	uint8_t bits[CLUSTER_SLOTS / 8];

	if (!p->slots.present || !claimed_slots(st, s, &p->slots, bits))
		return;
	update_slots(st, s, p->config_epoch, bits);
	st->nodes[s]->slots_version = p->slots.version;
	fx->update_node = stale_owner(st, s, p->config_epoch, bits);
	cluster_update_ok(st);
}

static void apply_ping(struct cluster_state *st, const struct bus_msg *m,
		       const struct cluster_from *from, uint64_t now_ms, struct cluster_effects *fx)
{
	const struct bus_ping *p = &m->u.ping;
	uint16_t s = cluster_node_find(st, p->sender, BUS_ID_LEN), ln = link_node(st, from);

	if (m->type != BUS_PONG) {
		learn_my_ip(st, from, m->type);
		fx->pong = true;
		if (s == CLUSTER_NONE && m->type == BUS_MEET)
			meet_unknown(st, p, from, now_ms);
	}
	if (ln != CLUSTER_NONE && m->type == BUS_PONG)
		s = resolve_link(st, ln, s, p, fx);
	if (s == CLUSTER_NONE || (st->nodes[s]->flags & CLUSTER_NODE_HANDSHAKE) != 0)
		return;
	fx->sender = s;
	st->nodes[s]->data_received_ms = now_ms;
	learn_epochs(st, s, p->current_epoch, p->config_epoch);
	if (ln == s && m->type == BUS_PONG)
		apply_pong_on_link(st, s, now_ms);
	if (m->type == BUS_PONG)
		st->nodes[s]->acked_my_slots = p->slots_ack;
	apply_role(st, s, p->flags);
	apply_slots(st, s, p, fx);
	epoch_collision(st, s);
	for (uint32_t k = 0; k < p->ngossip; k++)
		gossip_entry(st, &p->gossip[k], now_ms);
}

/* ---- UPDATE ---- */

static void apply_update(struct cluster_state *st, const struct bus_update *u,
			 struct cluster_effects *fx)
{
	uint16_t s = cluster_node_find(st, u->sender, BUS_ID_LEN);
	uint16_t n = cluster_node_find(st, u->id, BUS_ID_LEN);
	uint8_t bits[CLUSTER_SLOTS / 8] = { 0 };

	if (s == CLUSTER_NONE || s == st->myself || (st->nodes[s]->flags & CLUSTER_NODE_HANDSHAKE))
		return;
	fx->sender = s;
	learn_epochs(st, s, u->current_epoch, 0);
	/* An UPDATE about myself is discarded, as Redis does. */
	if (n == CLUSTER_NONE || n == st->myself ||
	    (st->nodes[n]->flags & CLUSTER_NODE_HANDSHAKE) != 0 ||
	    st->nodes[n]->config_epoch >= u->config_epoch)
		return;
	learn_epochs(st, n, 0, u->config_epoch);
	apply_role(st, n, CLUSTER_NODE_MASTER);
	bits_from_ranges(u->ranges, u->nranges, bits, true);
	update_slots(st, n, u->config_epoch, bits);
	cluster_update_ok(st);
}

static bool epochs_sane(const struct bus_msg *m)
{
	switch (m->type) {
	case BUS_MEET:
	case BUS_PING:
	case BUS_PONG:
		return m->u.ping.config_epoch <= CLUSTER_EPOCH_MAX &&
		       m->u.ping.current_epoch <= CLUSTER_EPOCH_MAX;
	case BUS_UPDATE:
		return m->u.update.config_epoch <= CLUSTER_EPOCH_MAX &&
		       m->u.update.current_epoch <= CLUSTER_EPOCH_MAX;
	default: return true;
	}
}

static const char *sender_of(const struct bus_msg *m)
{
	switch (m->type) {
	case BUS_UPDATE: return m->u.update.sender;
	case BUS_PUBLISH: return m->u.publish.sender;
	default: return m->u.ping.sender;
	}
}

void cluster_apply(struct cluster_state *st, const struct bus_msg *m,
		   const struct cluster_from *from, uint64_t now_ms, struct cluster_effects *fx)
{
	uint64_t mine = st->my_slots_version;

	*fx = (struct cluster_effects){ .sender = CLUSTER_NONE, .update_node = CLUSTER_NONE };
	if (m->type < 16)
		st->stats_received[m->type]++;
	if (!epochs_sane(m))
		return;
	/* A message that names myself as its sender: a handshake with my own
	 * address (CLUSTER MEET to myself) ends here, as Redis drops it;
	 * anything else is a loop or a forgery. */
	if (memcmp(sender_of(m), cluster_myself(st)->id, BUS_ID_LEN) == 0) {
		uint16_t ln = link_node(st, from);
		if (m->type == BUS_PONG && ln != CLUSTER_NONE &&
		    (st->nodes[ln]->flags & CLUSTER_NODE_HANDSHAKE) != 0) {
			cluster_node_del(st, ln);
			fx->close_link = true;
		}
		return;
	}
	switch (m->type) {
	case BUS_MEET:
	case BUS_PING:
	case BUS_PONG: apply_ping(st, m, from, now_ms, fx); break;
	case BUS_UPDATE: apply_update(st, &m->u.update, fx); break;
	case BUS_PUBLISH:
		fx->publish = true;
		fx->sender = cluster_node_find(st, m->u.publish.sender, BUS_ID_LEN);
		break;
	default: break;
	}
	fx->my_slots_changed = st->my_slots_version != mine;
}
