/* shard.c: the step function, accept, the timer, and the control flow
 * between the shard's parts. See shard.h.
 *
 * Completions go to the connections (conn.c); messages from the rings go to
 * route.c (forwarded requests and replies) or lock.c (locks). What those
 * report, the shard applies: a reply is delivered to its connection if that
 * is still there, and a span that holds every lock runs here. While the
 * shard is frozen (another shard's span holds its lock), completions and
 * messages other than lock traffic wait, in order, and run once it thaws. */
#include "shard/shard.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "cluster/redirect.h"
#include "data/evict.h"
#include "data/expire.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "shard/msg.h"
#include "shard/txn.h"
#include "shard/ud.h"

/* Entries beyond maxclients, so that a client over the limit can still be
 * told "max number of clients reached" before it is closed. */
#define SHARD_CONN_SLACK 1024
/* Per timer tick: rehash steps, lazily freed entries, keys examined by
 * active expiry. */
#define SHARD_CRON_REHASH_STEPS 1000
#define SHARD_CRON_LAZY_FREE 100000
/* The allocator is trimmed after the shard's memory falls under this
 * percentage of its peak since the last trim, by at least this much. */
#define SHARD_TRIM_FRACTION 75
#define SHARD_TRIM_MIN (8ull << 20)
#define SHARD_CRON_EXPIRE_KEYS 20000
/* Keys examined by active expiry at each loop turn while it is behind: this
 * many at first, doubled each turn it stays behind, up to the most. */
#define SHARD_STEP_EXPIRE_KEYS 3000
#define SHARD_STEP_EXPIRE_MAX 24000

#define ERR_MAX_CLIENTS "-ERR max number of clients reached\r\n"

static uint64_t shard_random(void *arg)
{
	struct shard *sh = arg;
	return io_random_u64(sh->io);
}

/* Refreshes the clock (and the keyspace's copy of it, unless the shard is
 * frozen: the span that holds it sets its keyspace's clock, from another
 * thread, and runs on it meanwhile). */
static void shard_clock(struct shard *sh)
{
	clock_read(&sh->clock);
	if (!lock_held(&sh->lock))
		sh->ks.now_ms = sh->clock.now_ms;
}

void shardset_init(struct shardset *set, unsigned n, struct shard **shards,
		   struct keyspace **keyspaces, struct xhub *hub)
{
	unsigned s;

	ASSERT(n >= 1);
	ASSERT(n <= XSHARD_MAX);
	ASSERT(hub->n == n);
	set->n = n;
	set->shards = shards;
	set->keyspaces = keyspaces;
	set->hub = hub;
	atomic_init(&set->clients, 0);
	atomic_init(&set->bigbulk_reserved, 0);
	atomic_init(&set->monitors, 0);
	atomic_init(&set->notify_seq, 0);
	atomic_init(&set->track_bcast, 0);
	for (s = 0; s < n; s++)
		keyspaces[s] = &shards[s]->ks;
	/* Equal ranges of slots, so that a shard owns whole slots as a cluster
	 * node does. */
	for (s = 0; s < HASH_SLOTS; s++)
		set->slot_shard[s] = (uint16_t)((uint64_t)s * n / HASH_SLOTS);
}

unsigned shardset_owner(const struct shardset *set, const char *key, size_t klen)
{
	return set->n == 1 ? 0 : set->slot_shard[hash_slot(key, klen)];
}

/* ---- maxmemory ----
 *
 * The node's memory is what its shards hold: keyspaces, and the rest
 * (connections and their buffers, messages between shards, spans). The
 * rest counts once against the node, as Redis counts its clients' buffers:
 * maxmemory less the rest of every shard is the room for keys, and each
 * shard's keyspace holds an equal part of it, plus what the other
 * keyspaces leave unused of theirs. A shard that holds fewer keys lends its
 * part to those that need more, and takes it back as it grows. Each shard
 * reads the others' published use once per step (mem_refresh), so a
 * command's check costs no loads of other shards' memory; they publish
 * each step while maxmemory is set, so the sum passes maxmemory by at most
 * what the shards wrote in one step each. A shard whose policy finds
 * nothing to evict (a volatile policy, no key with a TTL here) publishes
 * how far it is over, and the others count that against the room, so
 * their keys go instead, as Redis would evict any key of the node. */

static void publish_memory(struct shard *sh)
{
	atomic_store_explicit(&sh->pub_used_memory, shard_used_memory(sh), memory_order_relaxed);
	atomic_store_explicit(&sh->pub_ks_memory, sh->ks.mem.used, memory_order_relaxed);
	atomic_store_explicit(&sh->pub_candidates, evict_candidates(&sh->ks), memory_order_relaxed);
}

static void mem_refresh(struct shard *sh)
{
	uint64_t ks[XSHARD_MAX], others = 0, rest = sh->mem.used, room, part, share;
	unsigned s, n = sh->set->n;

	for (s = 0; s < n; s++) {
		uint64_t used;
		if (s == sh->id)
			continue;
		used = atomic_load_explicit(&sh->set->shards[s]->pub_used_memory,
					    memory_order_relaxed);
		ks[s] = atomic_load_explicit(&sh->set->shards[s]->pub_ks_memory,
					     memory_order_relaxed);
		others += used;
		rest += used > ks[s] ? used - ks[s] : 0;
		rest += atomic_load_explicit(&sh->set->shards[s]->pub_stuck, memory_order_relaxed);
	}
	room = (uint64_t)sh->cfg.maxmemory > rest ? (uint64_t)sh->cfg.maxmemory - rest : 0;
	part = room / n;
	share = part;
	for (s = 0; s < n; s++)
		if (s != sh->id && ks[s] < part)
			share += part - ks[s];
	sh->others_used = others;
	sh->ks_share = share;
}

/* An event of the latency monitor (latency-monitor-threshold, not 0)
 * that began at t0 (ns) and ends now: recorded if it took that many ms. */
static void note_latency(struct shard *sh, enum latmon_event e, uint64_t t0)
{
	uint64_t ms;

	clock_read(&sh->clock);
	ms = (sh->clock.now_ns - t0) / 1000000;
	if (ms >= (uint64_t)sh->cfg.latency_monitor_threshold)
		latmon_add(&sh->latmon, e, sh->clock.now_ms / 1000, ms);
}

/* One bounded step of eviction toward the keyspace's share (evict.h); an
 * "eviction-cycle" event of the latency monitor when it had to evict, as
 * Redis's performEvictions() times itself. */
static enum evict_result evict_step(struct shard *sh)
{
	uint64_t used = sh->ks.mem.used, stuck, t0;
	enum evict_result rc;

	sh->evict_more = false;
	if (sh->cfg.maxmemory <= 0 || sh->cfg.maxmemory_policy == POLICY_NOEVICTION ||
	    used <= sh->ks_share) {
		if (atomic_load_explicit(&sh->pub_stuck, memory_order_relaxed) != 0)
			atomic_store_explicit(&sh->pub_stuck, 0, memory_order_relaxed);
		return EVICT_OK;
	}
	if (sh->cfg.latency_monitor_threshold != 0)
		clock_read(&sh->clock);
	t0 = sh->clock.now_ns;
	rc = evict_run(&sh->ks, used - sh->ks_share,
		       evict_budget(sh->cfg.maxmemory_eviction_tenacity), NULL);
	if (sh->cfg.latency_monitor_threshold != 0)
		note_latency(sh, LATMON_EVICTION_CYCLE, t0);
	sh->evict_more = rc == EVICT_RUNNING;
	stuck = rc == EVICT_FAIL && sh->ks.mem.used > sh->ks_share ? sh->ks.mem.used - sh->ks_share
								   : 0;
	atomic_store_explicit(&sh->pub_stuck, stuck, memory_order_relaxed);
	return rc;
}

/* Whether another shard has keys its policy may evict (as published). */
static bool others_can_evict(const struct shard *sh)
{
	unsigned s;

	for (s = 0; s < sh->set->n; s++)
		if (s != sh->id && atomic_load_explicit(&sh->set->shards[s]->pub_candidates,
							memory_order_relaxed) > 0)
			return true;
	return false;
}

/* cmd_env.hidden_slots: the view's, when it hides any. */
static const uint8_t *env_hidden_slots(void *host)
{
	const struct shard *sh = host;
	const struct cluster_view *v = sh->topo.view;

	return v != NULL && v->nhidden > 0 ? v->hidden : NULL;
}

/* cmd_env.make_room: evict, then OOM if the node is over maxmemory with
 * nothing left to evict, as Redis's performEvictions() says EVICT_FAIL:
 * nothing here, and no candidate on another shard (which evicts for this
 * one, by its stuck bytes, at its next step). */
static bool env_make_room(void *host)
{
	struct shard *sh = host;
	bool noevict = sh->cfg.maxmemory_policy == POLICY_NOEVICTION;

	if (evict_step(sh) != EVICT_FAIL && !noevict)
		return false;
	if (shard_used_memory(sh) + sh->others_used <= (uint64_t)sh->cfg.maxmemory)
		return false;
	return noevict || !others_can_evict(sh);
}

/* A command took slowlog-log-slower-than or more: its SLOWLOG entry, with
 * its client's address (or "?:0" as Redis shows when it cannot be read)
 * and name. A forwarded request's client is on another shard: the entry
 * says where, and SLOWLOG GET finds its address and name. */
static __attribute__((noinline, cold)) void env_log_slow(void *host, const struct cmd_ctx *c,
							 const struct cmd *cmd, uint64_t usec)
{
	struct shard *sh = host;
	char addr[64] = "";
	struct slowlog_client who = { .addr = addr, .name = "" };
	uint64_t id = atomic_fetch_add_explicit(&sh->set->slowlog_ids, 1, memory_order_relaxed);

	if (c->conn != NULL) {
		if (io_sock_name(sh->io, c->conn->sock, true, addr, sizeof(addr)) < 0)
			snprintf(addr, sizeof(addr), "?:0");
		if (c->conn->name != NULL)
			who.name = c->conn->name;
	} else if (c->forwarded) {
		who.remote = true;
		who.shard = c->from_shard;
		who.idx = c->from_idx;
		who.gen = c->from_gen;
	}
	slowlog_push(&sh->slowlog, id, sh->clock.now_ms / 1000, usec, cmd, c->argv, c->argc, &who,
		     (uint64_t)sh->cfg.slowlog_max_len);
}

/* The keyspace's clock for timing a deletion (ks_latency). */
static uint64_t ks_now_ns(const void *clock)
{
	return clock_peek_ns(clock);
}

/* What every request run here sees (cmd.h). */
static void env_init(struct shard *sh, const struct cmd_index *cmds)
{
	struct cmd_env *env = &sh->env;

	env->cfg = &sh->cfg;
	env->cmds = cmds;
	env->mem = &sh->mem;
	env->st = &sh->st;
	env->es = &sh->es;
	env->cstat = sh->cstat;
	env->clock = &sh->clock;
	env->ks = &sh->ks;
	env->self = sh->id;
	env->nshards = sh->set->n;
	env->slot_shard = sh->set->slot_shard;
	env->keyspaces = sh->set->keyspaces;
	env->make_room = env_make_room;
	env->hidden_slots = env_hidden_slots;
	slowlog_init(&sh->slowlog, &sh->mem);
	env->log_slow = env_log_slow;
	latmon_init(&sh->latmon, &sh->mem);
	env->latmon = &sh->latmon;
	sh->ks.lat = (struct ks_latency){
		.now_ns = ks_now_ns,
		.arg = &sh->clock,
		.mon = &sh->latmon,
		.threshold_ms = (uint64_t)sh->cfg.latency_monitor_threshold,
	};
	env->host = sh;
}

static bool serve_ready(void *arg)
{
	return blocked_serve_ready(arg);
}

/* A command's line for the node's monitors (conn_host.feed). */
static void feed_monitors(void *arg, const struct conn *c, const struct cmd *cmd,
			  const struct cmd_arg *argv, int argc)
{
	struct shard *sh = arg;

	monitor_feed(&sh->mon, c, cmd, argv, argc);
}

static void after_request(void *arg);

/* What the connections see of the shard (conn.h). */
static void host_init(struct shard *sh)
{
	struct conn_host *h = &sh->ch;

	h->io = sh->io;
	h->cfg = &sh->cfg;
	h->clock = &sh->clock;
	h->mem = &sh->mem;
	h->st = &sh->st;
	h->es = &sh->es;
	h->env = &sh->env;
	h->exec = &sh->exec;
	h->txn = (struct txn_host){ .mem = &sh->mem, .env = &sh->env, .x = &sh->x };
	h->bigbulk_reserved = &sh->set->bigbulk_reserved;
	h->self = sh->id;
	h->nshards = sh->set->n;
	h->next_client_id = 1;
	h->serve_ready = serve_ready;
	h->serve_arg = &sh->bh;
	h->monitors = &sh->set->monitors;
	h->feed = feed_monitors;
	h->feed_arg = sh;
	h->view = sh->cfg.cluster_enabled ? &sh->topo.view : NULL;
	h->inval_len = &sh->cc.q.len;
	h->after = after_request;
	h->after_arg = sh;
}

/* Marks in others the shards other than sh whose counter at byte offset
 * off of struct shard (an atomic_uint they publish: subscribed names,
 * monitors) is not 0: where keyspace events or MONITOR lines are sent. */
static void others_with(const struct shard *sh, size_t off, uint64_t *others)
{
	unsigned s;

	for (s = 0; s < sh->set->n; s++) {
		const atomic_uint *n = (const atomic_uint *)((const char *)sh->set->shards[s] +
							     off);
		if (s != sh->id && atomic_load_explicit(n, memory_order_relaxed) > 0)
			others[s / 64] |= 1ull << (s % 64);
	}
}

/* The keyspace's hook: its events wait in the shard's queue (notify.h).
 * While a span holds the shard, they wait in the queue of the span's
 * shard instead, which publishes them after its step, before the span's
 * reply is sent: a command's events keep their order across shards. */
static void on_notify(void *arg, const char *event, const char *key, size_t klen)
{
	struct shard *sh = arg;

	if (lock_held(&sh->lock))
		sh = sh->set->shards[sh->lock.holder.coord];
	notify_add(&sh->notes, event, key, klen);
}

/* The keyspace's tracking hook (data/tracking.h): reports wait in the
 * queue of the shard whose thread runs the command, as keyspace events
 * do, with the id of the client that ran it. */
static void on_tracking(void *arg, enum tracking_event ev, const char *key, size_t klen,
			const uint64_t *ids, uint32_t nids)
{
	struct shard *sh = arg;

	if (lock_held(&sh->lock))
		sh = sh->set->shards[sh->lock.holder.coord];
	caching_report(&sh->cc, ev, key, klen, ids, nids, sh->env.cur_client);
}

/* Delivers the queued invalidations (caching.h). */
static void caching_publish(struct shard *sh)
{
	uint64_t with_clients[XSHARD_WORDS] = { 0 }, with_bcast[XSHARD_WORDS] = { 0 };

	others_with(sh, offsetof(struct shard, cc.clients), with_clients);
	others_with(sh, offsetof(struct shard, cc.bcast), with_bcast);
	caching_flush(&sh->cc, with_clients, with_bcast);
}

static void after_request(void *arg)
{
	caching_publish(arg);
}

/* This keyspace's share of tracking-table-max-keys (0: no bound). */
static void tracking_configure(struct shard *sh)
{
	unsigned long long max = (unsigned long long)sh->cfg.tracking_table_max_keys;

	/* Rounded down, so the node holds no more than the bound (but one
	 * key a shard at least). */
	sh->ks.trk.max_keys = max == 0 ? 0 : max / sh->set->n > 0 ? max / sh->set->n : 1;
	tracking_trim(&sh->ks.trk);
}

/* Which events the keyspace reports: none unless K or E publishes them. */
static void notify_configure(struct shard *sh)
{
	unsigned f = sh->cfg.notify_flags;

	sh->ks.notify_flags = (f & (CONFIG_NOTIFY_KEYSPACE | CONFIG_NOTIFY_KEYEVENT)) != 0 ? f : 0;
}

/* Publishes the keyspace's queued events here, and sends them to the
 * shards where someone listens. */
static void notify_publish(struct shard *sh)
{
	uint64_t others[XSHARD_WORDS] = { 0 };

	others_with(sh, offsetof(struct shard, ps.listened), others);
	notify_flush(&sh->notes, &sh->ps, &sh->cfg, &sh->x, others, &sh->set->notify_seq);
}

/* Writes the queued MONITOR lines here, and sends them to the shards
 * with monitors. */
static void monitor_publish(struct shard *sh)
{
	uint64_t others[XSHARD_WORDS] = { 0 };

	others_with(sh, offsetof(struct shard, mon.here), others);
	monitor_flush(&sh->mon, &sh->x, others);
}

/* A PUBLISH from another node (shard 0's bus): to the subscribers here,
 * and to every other shard where someone subscribes. */
static void on_bus_publish(void *arg, bool sharded, const char *channel, size_t clen,
			   const char *msg, size_t mlen)
{
	struct shard *sh = arg;
	enum pubsub_kind k = sharded ? PUBSUB_SHARD : PUBSUB_CHANNEL;
	uint64_t others[XSHARD_WORDS] = { 0 };
	unsigned s;

	(void)pubsub_publish(&sh->ps, k, channel, clen, msg, mlen, NULL);
	others_with(sh, offsetof(struct shard, ps.listened), others);
	for (s = 0; s < sh->set->n; s++)
		if (others[s / 64] >> (s % 64) & 1)
			xshard_send(&sh->x, s,
				    pubsub_message_new(&sh->mem, k, channel, clen, msg, mlen));
}

/* cluster-enabled: shard 0 loads nodes.conf and owns the state (a corrupt
 * file stops the start, as in Redis); every shard gets its view from the
 * node builder, then from shard 0. */
static int topology_start(struct shard *sh)
{
	struct cluster_state *st = NULL;
	char err[320];

	if (sh->cfg.cluster_enabled && sh->id == 0) {
		st = topology_load(sh->io, &sh->mem, &sh->cfg, io_random_u64(sh->io),
				   (uint64_t)sh->clock.now_ms, err, sizeof(err));
		if (st == NULL) {
			shard_log(sh, IO_LOG_WARNING, "%s", err);
			return -1;
		}
	}
	topology_init(&sh->topo, &sh->cfg, sh->io, &sh->mem, &sh->x, sh->id, sh->set->n, st);
	if (st != NULL) {
		sh->topo.bus.on_publish = on_bus_publish;
		sh->topo.bus.publish_arg = sh;
	}
	return 0;
}

/* Whether a shard channel's slot is still this node's. */
static bool slot_still_mine(void *arg, const char *name, size_t len)
{
	const struct cluster_view *v = arg;

	return v->owner[hash_slot(name, len)] == v->myself;
}

/* The view changed (here, on this shard's thread): subscribers of shard
 * channels whose slot left are told so, and clients blocked on keys whose
 * slot left get MOVED. */
static void slots_left(struct shard *sh)
{
	struct cluster_view *v = sh->topo.view;

	sh->topo.checked = v->version;
	(void)pubsub_drop_shard_channels(&sh->ps, slot_still_mine, v);
	blocked_cluster_check(&sh->bh, v);
}

/* Shard 0, after what may change the cluster state: nodes.conf, and the
 * new view for every shard. */
static void topology_after(struct shard *sh, bool force)
{
	struct cluster_view *v;

	if (sh->topo.st == NULL)
		return;
	v = topology_settle(&sh->topo, force);
	if (v == NULL)
		return;
	topology_send(&sh->topo, v);
	redirect_view_free(v, &sh->mem);
}

int shard_init(struct shard *sh, struct shardset *set, unsigned id, struct io *io,
	       const struct config *cfg, const struct node_info *info, const struct cmd_index *cmds,
	       const struct shard_listener *listeners, unsigned nlisteners)
{
	uint32_t i;

	if (nlisteners > SHARD_LISTENERS_MAX || id >= set->n || set->shards[id] != sh)
		return -EINVAL;
	for (i = 0; i < nlisteners; i++)
		if ((unsigned)listeners[i].role >= SHARD_ROLE_COUNT || listeners[i].sock < 0)
			return -EINVAL;
	memset(sh, 0, sizeof(*sh));
	sh->id = id;
	sh->set = set;
	sh->io = io;
	sh->cfg = *cfg;
	sh->info = info;
	for (i = 0; i < nlisteners; i++)
		sh->listeners[i] = listeners[i];
	sh->nlisteners = nlisteners;
	clock_init(&sh->clock, io);
	sh->expire_budget = SHARD_STEP_EXPIRE_KEYS;
	ks_init(&sh->ks, &sh->st, io_random_u64(io), shard_random, sh);
	evict_configure(&sh->ks, &sh->cfg);
	shard_clock(sh);
	sh->lastsave_ms = sh->clock.now_ms;
	xshard_init(&sh->x, set->hub, id, &sh->mem);
	env_init(sh, cmds);
	route_init(&sh->route, &sh->x, &sh->env);
	sh->route.view = sh->cfg.cluster_enabled ? &sh->topo.view : NULL;
	sh->route.inval_len = &sh->cc.q.len;
	sh->route.inval = after_request;
	sh->route.inval_arg = sh;
	lock_init(&sh->lock, &sh->x, &sh->mem, id);
	exec_init(&sh->exec, &sh->env, &sh->route, &sh->lock);
	host_init(sh);
	blocked_init(&sh->bh, &sh->ch, &sh->conns, &sh->exec, &sh->lock, &sh->x, &sh->env,
		     &sh->mem);
	migrate_init(&sh->mig, io, &sh->mem, &sh->ch, &sh->conns, &sh->exec, &sh->lock, &sh->env);
	asm_init(&sh->am, io, &sh->mem, &sh->lock, &sh->env, set->n);
	pubsub_init(&sh->ps, &sh->ch, io_random_u64(io));
	notify_init(&sh->notes, &sh->mem);
	monitor_init(&sh->mon, &sh->ch, &set->monitors);
	sh->ks.notify = on_notify;
	sh->ks.notify_arg = sh;
	notify_configure(sh);
	caching_init(&sh->cc, &sh->ch, &sh->conns, &sh->ps, &sh->x, id, set->n, &set->track_bcast);
	if (topology_start(sh) != 0) {
		shard_free(sh);
		return -EINVAL;
	}
	sh->ks.trk.bcast = &set->track_bcast;
	sh->ks.trk.hook = on_tracking;
	sh->ks.trk.hook_arg = sh;
	tracking_configure(sh);
	conns_init(&sh->conns, &sh->mem, (uint32_t)cfg->maxclients + SHARD_CONN_SLACK);
	return 0;
}

void shard_config_applied(struct shard *sh)
{
	conns_grow(&sh->conns, (uint32_t)sh->cfg.maxclients + SHARD_CONN_SLACK);
	evict_configure(&sh->ks, &sh->cfg);
	notify_configure(sh);
	tracking_configure(sh);
	sh->ks.lat.threshold_ms = (uint64_t)sh->cfg.latency_monitor_threshold;
	/* A lower maxmemory evicts at the shard's next step, in bounded steps. */
	if (sh->cfg.maxmemory > 0) {
		mem_refresh(sh);
		sh->evict_more = true;
	}
}

/* Everything between shards that this shard holds at shutdown: messages
 * addressed to it, its own not yet sent, and those it deferred. */
static void drop_message(struct shard *sh, struct xmsg *m)
{
	if (m->kind == MSG_REQ || m->kind == MSG_REPLY)
		route_drop(&sh->route, m);
	else if (m->kind == MSG_UNWATCH)
		txn_drop_message(&sh->mem, m);
	else if (m->kind == MSG_BLOCK_OFFER || m->kind == MSG_BLOCK_DONE)
		blocked_drop_message(&sh->mem, m);
	else if (m->kind == MSG_NOTIFY)
		notify_drop_message(&sh->mem, m);
	else if (m->kind == MSG_MONITOR)
		monitor_drop_message(&sh->mem, m);
	else if (m->kind == MSG_PUBLISH)
		pubsub_drop_message(&sh->mem, m);
	else if (m->kind == MSG_TRACK)
		caching_drop_message(&sh->mem, m);
	else if (m->kind == MSG_VIEW)
		topology_drop_message(&sh->mem, m);
	else
		lock_drop(&sh->lock, m);
}

static void drop_messages(struct shard *sh)
{
	struct xmsg *in[SHARD_MSGS_MAX], *m;
	unsigned n, i;

	while ((n = xshard_drain(&sh->x, in, SHARD_MSGS_MAX)) > 0)
		for (i = 0; i < n; i++)
			drop_message(sh, in[i]);
	for (m = xshard_take_backlog(&sh->x); m != NULL;) {
		struct xmsg *next = m->next;
		drop_message(sh, m);
		m = next;
	}
	while (sh->dmsg_head != NULL) {
		m = sh->dmsg_head;
		sh->dmsg_head = m->next;
		drop_message(sh, m);
	}
	sh->dmsg_tail = NULL;
}

void shard_free(struct shard *sh)
{
	uint32_t i;

	lock_fold(&sh->lock);

	for (i = 0; i < sh->conns.cap; i++) {
		struct conn *c = conns_at(&sh->conns, i);
		if (c != NULL) {
			conns_release(&sh->conns, i);
			blocked_release(&sh->bh, c);
			pubsub_drop(&sh->ps, c);
			monitor_remove(&sh->mon, c);
			caching_disable(&sh->cc, c);
			conn_free(&sh->ch, c);
		}
	}
	conns_free(&sh->conns);
	migrate_free(&sh->mig);
	asm_free(&sh->am);
	caching_free(&sh->cc);
	topology_free(&sh->topo);
	pubsub_free(&sh->ps);
	notify_free(&sh->notes);
	monitor_free(&sh->mon);
	drop_messages(sh);
	lock_free(&sh->lock);
	/* Sockets still waiting for their close stay open: the backend's
	 * destruction ends them with the process's other descriptors. */
	mem_free(&sh->mem, sh->drop);
	sh->drop = NULL;
	sh->drop_n = 0;
	mem_free(&sh->mem, sh->dcqe);
	sh->dcqe = NULL;
	sh->dcqe_n = 0;
	xshard_free(&sh->x);
	slowlog_reset(&sh->slowlog);
	latmon_free(&sh->latmon);
	cmd_stats_reset(&sh->mem, sh->cstat);
	ks_free(&sh->ks);
	ASSERT(sh->mem.used == 0);
}

struct conn *shard_conn_by_id(struct shard *sh, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < sh->conns.cap; i++) {
		struct conn *c = conns_at(&sh->conns, i);
		if (c != NULL && c->id == id)
			return c;
	}
	return NULL;
}

uint64_t shard_used_memory(const struct shard *sh)
{
	return sh->mem.used + sh->ks.mem.used;
}

struct shard *shard_of(const struct cmd_ctx *c)
{
	struct shard *sh = c->env->host;

	ASSERT(sh != NULL);
	ASSERT(&sh->env == c->env);
	return sh;
}

struct shard *shard_at(const struct cmd_ctx *c, unsigned i)
{
	struct shard *sh = shard_of(c);

	ASSERT(i < cmd_nshards(c));
	if (c->locked == NULL)
		return sh;
	ASSERT(c->locked[i / 64] >> (i % 64) & 1);
	return sh->set->shards[i];
}

bool shard_quiet(const struct shard *sh)
{
	unsigned i;

	for (i = 0; i < XSHARD_WORDS; i++)
		if (sh->x.backlog_targets[i] != 0)
			return false;
	return lock_quiet(&sh->lock) && sh->dcqe_n == 0 && sh->dmsg_head == NULL &&
	       !xshard_pending(&sh->x);
}

/* ---- accept ---- */

/* Closes a socket the shard will not serve. Its completion names no entry
 * (UD_IDX_NONE), so it is ignored as stale. A full queue (-EBUSY) must not
 * lose the close (io.h): the socket waits in sh->drop for drop_retry(). */
static void drop_sock(struct shard *sh, int sock)
{
	int rc;

	ASSERT(sock >= 0);
	ASSERT(sh->drop_n <= sh->drop_cap);
	rc = io_close(sh->io, sock, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
	if (rc == 0)
		return;
	if (rc != -EBUSY) {
		shard_log(sh, IO_LOG_WARNING, "Could not close a connection: %s", strerror(-rc));
		return;
	}
	if (sh->drop_n == sh->drop_cap) {
		sh->drop_cap = sh->drop_cap ? sh->drop_cap * 2 : 8;
		sh->drop = mem_realloc(&sh->mem, sh->drop, sh->drop_cap * sizeof(*sh->drop));
	}
	sh->drop[sh->drop_n++] = sock;
	ASSERT(sh->drop_n <= sh->drop_cap);
}

/* Submits the closes that found the queue full, oldest first. */
static void drop_retry(struct shard *sh)
{
	uint32_t done = 0;

	while (done < sh->drop_n) {
		int rc = io_close(sh->io, sh->drop[done], ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
		if (rc == -EBUSY)
			break;
		if (rc != 0)
			shard_log(sh, IO_LOG_WARNING, "Could not close a connection: %s",
				  strerror(-rc));
		done++;
	}
	ASSERT(done <= sh->drop_n);
	sh->drop_n -= done;
	memmove(sh->drop, sh->drop + done, sh->drop_n * sizeof(*sh->drop));
}

/* A connection on the cluster bus port. There is no cluster bus yet: it is
 * closed at once, and said so at verbose level. */
static void on_bus_accept(struct shard *sh, int sock)
{
	char peer[64];

	ASSERT(sock >= 0);
	if (sh->topo.st != NULL) {
		sh->topo.bus.now_ms = (uint64_t)sh->clock.now_ms;
		bus_accept(&sh->topo.bus, sock);
		return;
	}
	if (io_sock_name(sh->io, sock, true, peer, sizeof(peer)) < 0)
		memcpy(peer, "?", 2);
	shard_log(sh, IO_LOG_VERBOSE, "Cluster bus connection from %s closed: not shard 0", peer);
	drop_sock(sh, sock);
}

static void on_accept(struct shard *sh, const struct io_cqe *cqe)
{
	uint32_t which = ud_accept_listener(cqe->user_data), idx, gen;
	unsigned role = ud_accept_role(cqe->user_data);
	struct conn *c;

	ASSERT(which < sh->nlisteners);
	/* Pairs with arm(): the role it tagged is the listener's. */
	ASSERT(role == (unsigned)sh->listeners[which].role);
	if (!(cqe->flags & IO_F_MORE))
		sh->accept_armed[which] = false;
	if (cqe->res < 0) {
		/* EMFILE and friends: try again at the next timer tick rather
		 * than spin on a descriptor table that is full. */
		shard_log(sh, IO_LOG_WARNING, "Accepting client connection: %s",
			  strerror(-cqe->res));
		sh->accept_backoff = true;
		return;
	}
	if (role == SHARD_ROLE_BUS) {
		on_bus_accept(sh, cqe->res);
		return;
	}
	if (!conns_take(&sh->conns, &idx, &gen)) {
		/* No entry even for a refusal: close it straight away. */
		sh->st.rejected_connections++;
		drop_sock(sh, cqe->res);
		return;
	}
	c = conn_new(&sh->ch, cqe->res, idx, gen);
	conns_set(&sh->conns, idx, c, c->id);
	/* maxclients counts the clients of the whole node. */
	if (atomic_fetch_add_explicit(&sh->set->clients, 1, memory_order_relaxed) + 1 >
	    (unsigned)sh->cfg.maxclients) {
		struct reply r = { .ob = &c->out, .proto = 2, .es = NULL };
		reply_raw(&r, ERR_MAX_CLIENTS, sizeof(ERR_MAX_CLIENTS) - 1);
		sh->st.rejected_connections++;
		conn_close(&sh->ch, c, false);
		return;
	}
	sh->st.connections_received++;
}

static void on_close(struct shard *sh, struct conn *c)
{
	struct conn **r;

	/* A connection queued to resume leaves the queue. */
	for (r = &sh->ch.resume; *r != NULL; r = &(*r)->next_resume)
		if (*r == c) {
			*r = c->next_resume;
			break;
		}
	ASSERT(conns_get(&sh->conns, c->idx, c->gen) == c);
	conns_release(&sh->conns, c->idx);
	/* Its watches on other shards go there as messages (txn.h). */
	txn_unwatch(&sh->ch.txn, &c->txn, NULL);
	/* Its waiters too; it never pops again. */
	blocked_forget(&sh->bh, c);
	pubsub_drop(&sh->ps, c);
	monitor_remove(&sh->mon, c);
	caching_disable(&sh->cc, c);
	conn_free(&sh->ch, c);
	atomic_fetch_sub_explicit(&sh->set->clients, 1, memory_order_relaxed);
}

/* ---- timer ---- */

static void sample_metrics(struct shard *sh)
{
	struct shard_inst *m = &sh->inst;
	int64_t dt = sh->clock.now_ms - m->last_ms;

	if (dt <= 0)
		return;
	m->ops[m->idx] = (sh->st.commands_processed - m->last_ops) * 1000 / (uint64_t)dt;
	m->in[m->idx] = (sh->st.net_input_bytes - m->last_in) * 1000 / (uint64_t)dt;
	m->out[m->idx] = (sh->st.net_output_bytes - m->last_out) * 1000 / (uint64_t)dt;
	m->idx = (m->idx + 1) % SHARD_INST_SAMPLES;
	m->last_ms = sh->clock.now_ms;
	m->last_ops = sh->st.commands_processed;
	m->last_in = sh->st.net_input_bytes;
	m->last_out = sh->st.net_output_bytes;
}

static void close_idle(struct shard *sh)
{
	uint32_t i;
	int64_t limit = sh->cfg.timeout * 1000;

	if (sh->cfg.timeout <= 0)
		return;
	for (i = 0; i < sh->conns.cap; i++) {
		struct conn *c = conns_at(&sh->conns, i);
		/* A blocked client is not idle (Redis's rule), nor one that
		 * CLIENT PAUSE holds. */
		if (c == NULL || (c->flags & (CONN_F_CLOSING | CONN_F_CLOSE_NOW | CONN_F_BLOCKED |
					      CONN_F_POSTPONED)))
			continue;
		if (sh->clock.now_ms - c->last_ms > limit) {
			shard_log(sh, IO_LOG_VERBOSE, "Closing idle client");
			conn_close(&sh->ch, c, true);
		}
	}
}

/* After a large free, gives the allocator's free pages back (io.h): when
 * the shard holds less than SHARD_TRIM_FRACTION of what it held at its
 * peak since the last time, and at least SHARD_TRIM_MIN bytes less. */
static void release_memory(struct shard *sh)
{
	uint64_t used = shard_used_memory(sh);

	if (used > sh->trim_mark)
		sh->trim_mark = used;
	else if (sh->trim_mark - used >= SHARD_TRIM_MIN &&
		 used < sh->trim_mark / 100 * SHARD_TRIM_FRACTION) {
		/* (The mark follows the peak at every step: shard_step.) */
		io_release_memory(sh->io);
		sh->trim_mark = used;
	}
}

/* Active expiry: a cycle each tick and, while the last one fell behind
 * (its budget spent with the keys it saw still mostly stale), a smaller one
 * at every loop turn, as Redis's fast cycle, so expiry keeps up with keys
 * written with short TTLs. Its time is INFO's
 * expire_cycle_cpu_milliseconds, and an "expire-cycle" event of the
 * latency monitor (as Redis's activeExpireCycle() records it). */
static void expire_step(struct shard *sh, uint64_t budget)
{
	uint64_t t0;

	sh->expire_more = false;
	if (!sh->cfg.active_expire)
		return;
	clock_read(&sh->clock);
	t0 = sh->clock.now_ns;
	expire_cycle(&sh->ks, budget);
	clock_read(&sh->clock);
	sh->st.expire_cycle_us += (sh->clock.now_ns - t0) / 1000;
	if (sh->cfg.latency_monitor_threshold != 0)
		note_latency(sh, LATMON_EXPIRE_CYCLE, t0);
	sh->expire_more = sh->ks.expire_behind;
}

static void on_timer(struct shard *sh)
{
	sh->timer_armed = false;
	sh->accept_backoff = false;
	expire_step(sh, SHARD_CRON_EXPIRE_KEYS);
	ks_cron(&sh->ks, SHARD_CRON_REHASH_STEPS);
	ks_lazy_step(&sh->ks, SHARD_CRON_LAZY_FREE);
	evict_cron(&sh->ks);
	/* The other shards' use moves the share: a shard that gets no writes
	 * gives back what it borrowed. */
	if (sh->cfg.maxmemory > 0) {
		mem_refresh(sh);
		(void)evict_step(sh);
	}
	close_idle(sh);
	conn_block_timeouts(&sh->ch, sh->clock.now_ms);
	conn_pause_timeouts(&sh->ch, sh->clock.now_ms);
	blocked_timeouts(&sh->bh, sh->clock.now_ms);
	migrate_cron(&sh->mig, sh->clock.now_ms);
	if (sh->topo.st != NULL)
		asm_cron(&sh->am, sh->clock.now_ms, sh->cfg.cluster_node_timeout);
	sample_metrics(sh);
	release_memory(sh);
	publish_memory(sh);
	if (sh->topo.st != NULL) {
		bus_cron(&sh->topo.bus, (uint64_t)sh->clock.now_ms);
		topology_after(sh, false);
	}
}

static void arm(struct shard *sh)
{
	unsigned i;

	if (sh->drop_n > 0)
		drop_retry(sh);
	for (i = 0; i < sh->nlisteners && !sh->accept_backoff; i++) {
		const struct shard_listener *l = &sh->listeners[i];
		int rc;
		if (sh->accept_armed[i])
			continue;
		rc = io_accept(sh->io, l->sock, ud_accept(l->role, i));
		if (rc == 0)
			sh->accept_armed[i] = true;
		else if (rc != -EBUSY)
			shard_log(sh, IO_LOG_WARNING, "Cannot accept: %s", strerror(-rc));
	}
	if (!sh->timer_armed) {
		uint64_t ns = 1000000000ull / (uint64_t)sh->cfg.hz;
		if (io_timer(sh->io, ns, ud_encode(IO_OP_TIMER, 0, 0)) == 0)
			sh->timer_armed = true;
	}
}

void shard_start(struct shard *sh)
{
	sh->inst.last_ms = sh->clock.now_ms;
	arm(sh);
	io_flush(sh->io);
}

/* ---- spans: requests that run with shards locked ---- */

/* Runs the span that holds every lock it needs, here, then releases. */
static void run_span(struct shard *sh, struct span *sp)
{
	struct conn *c = conns_get(&sh->conns, sp->conn_idx, sp->conn_gen);
	struct mem scratch_mem = { 0 };
	struct reply r = { .proto = sp->proto, .es = &sh->es };
	struct obuf scratch;
	struct cmd_ctx ctx;
	unsigned i;

	shard_clock(sh);
	for (i = 0; i < sp->n; i++)
		sh->set->keyspaces[sp->shards[i]]->now_ms = sh->clock.now_ms;
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = &sh->env;
	ctx.conn = c;
	ctx.ks = &sh->ks;
	ctx.r = &r;
	ctx.argv = sp->argv;
	ctx.argc = sp->argc;
	ctx.now_ms = sh->clock.now_ms;
	ctx.authed = true; /* checked when it was parsed */
	ctx.locked = sp->locked;
	if (c != NULL) {
		r.ob = &c->out;
		r.proto = c->proto;
		ctx.no_touch = (c->flags & CONN_F_NO_TOUCH) != 0;
		ctx.client_id = c->id;
		ctx.track = conn_tracks_reads(c->flags);
		conn_run_locked(&sh->ch, c, &ctx, sp->cmd);
	} else if (((sp->cmd->flags & CMD_WRITE) && !(sp->cmd->flags & CMD_BLOCKING)) ||
		   (sp->cmd->id == CMDID_CLUSTER_SYNCSLOTS && sp->conn_idx == UD_IDX_NONE)) {
		/* The client left while the locks were taken; a write still
		 * happens, as it would have in Redis, and its reply goes. A
		 * blocking pop never pops for a client that left. */
		obuf_init(&scratch, &scratch_mem);
		r.ob = &scratch;
		cmd_run(&ctx, sp->cmd);
		obuf_free(&scratch);
	}
	lock_span_done(&sh->lock, sp);
}

/* Whether this shard has sent everything it queued: its backlog (a full
 * ring's overflow) moved into the rings, as far as room allows now. */
static bool sent_all(struct shard *sh)
{
	unsigned w;

	for (w = 0; w < XSHARD_WORDS; w++)
		if (sh->x.backlog_targets[w] != 0)
			return !xshard_flush(&sh->x, sh->io);
	return true;
}

/* Applies what the lock reports: grants the lock when it may, and runs a
 * span that holds every lock. A span must see the effect of every message
 * sent to this shard before its lock request (a write forwarded here
 * before an atomic migration paused writes, which its last pass must
 * read), so the lock is granted only once none is left waiting here: not
 * while messages deferred while frozen wait, nor in the middle of a
 * drained batch (the rest of it may hold one; see settle_locks), nor while
 * this shard's own backlog holds messages (a span it grants may lock
 * their target next). */
static void lock_settle(struct shard *sh)
{
	struct span *sp;

	for (;;) {
		if (sh->dmsg_head == NULL && !sh->batching && sent_all(sh))
			lock_grant_next(&sh->lock);
		sp = lock_ready(&sh->lock);
		if (sp == NULL)
			return;
		run_span(sh, sp);
	}
}

/* ---- the step ---- */

/* Handles one completion. */
static void complete(struct shard *sh, const struct io_cqe *cqe)
{
	unsigned op = ud_op(cqe->user_data);
	struct conn *c;

	if (op & UD_OP_BUS) {
		ASSERT((op & ~UD_OP_BUS) == cqe->op);
		ASSERT(sh->topo.st != NULL);
		sh->topo.bus.now_ms = (uint64_t)sh->clock.now_ms;
		bus_complete(&sh->topo.bus, cqe);
		topology_after(sh, false);
		return;
	}
	if (op & UD_OP_MIGRATE) {
		migrate_complete(&sh->mig, cqe);
		return;
	}
	if (op & UD_OP_ASM) {
		asm_complete(&sh->am, cqe);
		return;
	}
	/* Pairs with the submission: the op it was tagged with. */
	ASSERT(op == cqe->op);
	switch (op) {
	case IO_OP_ACCEPT: on_accept(sh, cqe); return;
	case IO_OP_TIMER: on_timer(sh); return;
	default: break;
	}
	c = conns_get(&sh->conns, ud_idx(cqe->user_data), ud_gen(cqe->user_data));
	if (c == NULL) {
		/* Stale: its connection is gone. Its buffer still goes back. */
		if (cqe->flags & IO_F_BUFFER)
			io_buf_recycle(sh->io, cqe->buf);
		return;
	}
	switch (op) {
	case IO_OP_RECV: conn_on_recv(&sh->ch, c, cqe); break;
	case IO_OP_WRITEV: conn_on_write(&sh->ch, c, cqe); break;
	case IO_OP_CLOSE: on_close(sh, c); break;
	default: ASSERT_NOT_REACHED("shard: unknown completion");
	}
}

static void defer_cqe(struct shard *sh, const struct io_cqe *cqe)
{
	if (sh->dcqe_n == sh->dcqe_cap) {
		sh->dcqe_cap = sh->dcqe_cap ? sh->dcqe_cap * 2 : 64;
		/* The lock's account: the side one while frozen. */
		sh->dcqe = mem_realloc(sh->lock.mem, sh->dcqe, sh->dcqe_cap * sizeof(*sh->dcqe));
	}
	sh->dcqe[sh->dcqe_n++] = *cqe;
}

static void defer_msg(struct shard *sh, struct xmsg *m)
{
	m->next = NULL;
	if (sh->dmsg_tail != NULL)
		sh->dmsg_tail->next = m;
	else
		sh->dmsg_head = m;
	sh->dmsg_tail = m;
}

/* A forwarded request runs here; a reply goes to its connection; a
 * client's watches here are dropped. */
static void route_apply(struct shard *sh, struct xmsg *m)
{
	struct route_reply rep;
	struct conn *c;

	if (m->kind == MSG_UNWATCH) {
		txn_unwatch_message(&sh->env, m);
		return;
	}
	if (m->kind == MSG_BLOCK_OFFER || m->kind == MSG_BLOCK_DONE) {
		blocked_message(&sh->bh, m);
		return;
	}
	if (m->kind == MSG_NOTIFY) {
		notify_message(&sh->ps, &sh->cfg, &sh->mem, m);
		return;
	}
	if (m->kind == MSG_MONITOR) {
		monitor_message(&sh->mon, m);
		return;
	}
	if (m->kind == MSG_PUBLISH) {
		pubsub_message(&sh->ps, m);
		return;
	}
	if (m->kind == MSG_TRACK) {
		caching_message(&sh->cc, m);
		return;
	}
	if (m->kind == MSG_VIEW) {
		topology_message(&sh->topo, m);
		return;
	}
	if (!route_message(&sh->route, m, &rep))
		return;
	c = conns_get(&sh->conns, rep.conn_idx, rep.conn_gen);
	if (c != NULL)
		conn_take_reply(&sh->ch, c, rep.hold, rep.out);
	else
		obuf_free(rep.out); /* the client left meanwhile */
	route_reply_done(&sh->route, &rep);
}

static void on_message(struct shard *sh, struct xmsg *m)
{
	if (m->kind != MSG_REQ && m->kind != MSG_REPLY && m->kind != MSG_UNWATCH &&
	    m->kind != MSG_NOTIFY && m->kind != MSG_MONITOR && m->kind != MSG_BLOCK_OFFER &&
	    m->kind != MSG_BLOCK_DONE && m->kind != MSG_PUBLISH && m->kind != MSG_TRACK &&
	    m->kind != MSG_VIEW) {
		lock_message(&sh->lock, m);
		/* Given back by a span (MSG_UNLOCK): the keyspace takes this
		 * shard's clock again before anything that waited runs on it. */
		if (!lock_held(&sh->lock))
			sh->ks.now_ms = sh->clock.now_ms;
		lock_settle(sh);
		return;
	}
	/* Requests and replies queue behind deferred ones, to keep order. */
	if (lock_held(&sh->lock) || sh->dmsg_head != NULL) {
		defer_msg(sh, m);
		return;
	}
	route_apply(sh, m);
	lock_settle(sh);
}

static int by_notify_seq(const void *a, const void *b)
{
	uint64_t x = notify_message_seq(*(struct xmsg *const *)a);
	uint64_t y = notify_message_seq(*(struct xmsg *const *)b);

	return (x > y) - (x < y);
}

/* Drains the rings into msgs and returns how many it took. Each ring
 * keeps its sender's order; across rings, the keyspace events (MSG_NOTIFY)
 * are put in the order of the node's numbering, in the places they hold
 * among the other messages, so that events one client caused on several
 * shards reach subscribers in the order they happened, whichever ring
 * came first. */
static unsigned drain(struct shard *sh, struct xmsg **msgs)
{
	struct xmsg *events[SHARD_MSGS_MAX];
	unsigned at[SHARD_MSGS_MAX];
	unsigned k, nm = xshard_drain(&sh->x, msgs, SHARD_MSGS_MAX), ne = 0;

	for (k = 0; k < nm; k++) {
		if (msgs[k]->kind == MSG_NOTIFY) {
			at[ne] = k;
			events[ne++] = msgs[k];
		}
	}
	if (ne < 2)
		return nm;
	qsort(events, ne, sizeof(events[0]), by_notify_seq);
	for (k = 0; k < ne; k++)
		msgs[at[k]] = events[k];
	return nm;
}

/* Other shards' published messages, keyspace events and invalidations
 * are delivered before this step's completions: a request made after they
 * were sent (a subscriber's or a tracking client's next command) is
 * answered after them. Only on a shard with subscribers or tracking
 * clients (the only ones sent any), and only when nothing waits (not
 * frozen, no deferred message), when they would be delivered at once
 * anyway. Messages first, in the order their rings hold them; then events
 * by the node's numbering. Returns how many messages it took into msgs:
 * the others (NULL for those it handled) still come after the
 * completions, in order. */
static unsigned notify_first(struct shard *sh, struct xmsg **msgs)
{
	unsigned k, nm;

	if ((atomic_load_explicit(&sh->ps.listened, memory_order_relaxed) == 0 &&
	     atomic_load_explicit(&sh->cc.clients, memory_order_relaxed) == 0) ||
	    lock_held(&sh->lock) || sh->dmsg_head != NULL)
		return 0;
	nm = drain(sh, msgs);
	for (k = 0; k < nm; k++) {
		if (msgs[k]->kind == MSG_PUBLISH) {
			pubsub_message(&sh->ps, msgs[k]);
			msgs[k] = NULL;
		} else if (msgs[k]->kind == MSG_TRACK) {
			caching_message(&sh->cc, msgs[k]);
			msgs[k] = NULL;
		} else if (msgs[k]->kind == MSG_NOTIFY) {
			notify_message(&sh->ps, &sh->cfg, &sh->mem, msgs[k]);
			msgs[k] = NULL;
		}
	}
	/* Keys changed for BCAST clients here go out now too. */
	if (sh->cc.bq.len > 0)
		caching_broadcast(&sh->cc);
	return nm;
}

/* Delivers the published messages, keyspace events and invalidations that
 * waited while the shard was frozen, in their order, before the completions that
 * waited: a subscriber's request that arrived after them (deferred with
 * them) is answered after them, as notify_first() does when nothing
 * waits. Other messages keep their places. Returns true if it delivered
 * any. */
static bool deliver_deferred(struct shard *sh)
{
	struct xmsg **p = &sh->dmsg_head, *last = NULL;
	bool any = false;

	while (*p != NULL) {
		struct xmsg *m = *p;
		if (m->kind != MSG_PUBLISH && m->kind != MSG_NOTIFY && m->kind != MSG_TRACK) {
			last = m;
			p = &m->next;
			continue;
		}
		*p = m->next;
		if (m->kind == MSG_PUBLISH)
			pubsub_message(&sh->ps, m);
		else if (m->kind == MSG_TRACK)
			caching_message(&sh->cc, m);
		else
			notify_message(&sh->ps, &sh->cfg, &sh->mem, m);
		any = true;
	}
	if (sh->cc.bq.len > 0)
		caching_broadcast(&sh->cc);
	sh->dmsg_tail = last;
	return any;
}

/* Runs what waited while frozen (completions, messages, connections to
 * resume), in order, until done or frozen again. Returns true if it did
 * anything. */
static bool run_deferred(struct shard *sh)
{
	bool any = false;
	uint32_t i = 0;

	if (sh->dmsg_head != NULL && !lock_held(&sh->lock))
		any = deliver_deferred(sh);
	while (i < sh->dcqe_n && !lock_held(&sh->lock)) {
		struct io_cqe cqe = sh->dcqe[i++];
		complete(sh, &cqe);
		lock_settle(sh);
		any = true;
	}
	if (i > 0) {
		sh->dcqe_n -= i;
		memmove(sh->dcqe, sh->dcqe + i, sh->dcqe_n * sizeof(*sh->dcqe));
	}
	while (sh->dmsg_head != NULL && !lock_held(&sh->lock)) {
		struct xmsg *m = sh->dmsg_head;
		sh->dmsg_head = m->next;
		if (sh->dmsg_head == NULL)
			sh->dmsg_tail = NULL;
		route_apply(sh, m);
		any = true;
	}
	if (!lock_held(&sh->lock) && sh->lock.queue_n > 0) {
		lock_settle(sh);
		any = true;
	}
	/* The lock first: while frozen, the holder may queue a connection
	 * here (CLIENT UNBLOCK ends a block on any shard). */
	while (!lock_held(&sh->lock) && sh->ch.resume != NULL) {
		struct conn *c = sh->ch.resume;
		sh->ch.resume = c->next_resume;
		conn_resume(&sh->ch, c);
		lock_settle(sh);
		any = true;
	}
	return any;
}

/* Services every queued connection; those refused by a full submission
 * queue stay queued for the next step. Returns true if any was serviced. */
static bool service_pending(struct shard *sh)
{
	struct conn *list = sh->ch.pending, *retry = NULL;
	bool any = list != NULL;

	sh->ch.pending = NULL;
	while (list != NULL) {
		struct conn *c = list;
		list = c->next_pending;
		c->flags &= ~CONN_F_QUEUED;
		if (!conn_service(&sh->ch, c)) {
			c->flags |= CONN_F_QUEUED;
			c->next_pending = retry;
			retry = c;
		}
	}
	/* Connections queued while servicing (none today) go first. */
	while (retry != NULL) {
		struct conn *c = retry;
		retry = c->next_pending;
		c->next_pending = sh->ch.pending;
		sh->ch.pending = c;
	}
	return any;
}

/* The end of a step of a shard no span holds: background work in bounded
 * steps, what it publishes to the others (memory, keyspace events, MONITOR
 * lines), re-arming, and its connections' submissions. Returns true if it
 * did work. */
static bool step_unfrozen(struct shard *sh)
{
	bool work = false;

	if (sh->evict_more) {
		(void)evict_step(sh);
		work = true;
	}
	if (sh->expire_more) {
		expire_step(sh, sh->expire_budget);
		/* Behind after a turn's cycle: the next one does more. */
		sh->expire_budget = !sh->expire_more ? SHARD_STEP_EXPIRE_KEYS
				    : sh->expire_budget < SHARD_STEP_EXPIRE_MAX / 2
					    ? sh->expire_budget * 2
					    : SHARD_STEP_EXPIRE_MAX;
		work = true;
	}
	/* Under maxmemory the other shards read this shard's use (their
	 * share, the OOM check): each step, not each tick, so a fast pipeline
	 * cannot run far past the limit. */
	if (sh->cfg.maxmemory > 0)
		publish_memory(sh);
	/* Keys made ready by what ran here or by spans that held this shard
	 * go to their waiters. */
	if (blocked_serve_ready(&sh->bh))
		work = true;
	if (sh->notes.len > 0)
		notify_publish(sh);
	if (sh->mon.lines.len > 0)
		monitor_publish(sh);
	if (sh->cc.q.len > 0)
		caching_publish(sh);
	if (sh->cc.bq.len > 0)
		caching_broadcast(&sh->cc);
	if (sh->topo.st != NULL && sh->topo.bus.kick)
		bus_kick(&sh->topo.bus);
	if (sh->topo.view != NULL && sh->topo.view->version != sh->topo.checked)
		slots_left(sh);
	if (sh->topo.st != NULL && asm_poll(&sh->am))
		work = true;
	arm(sh);
	return service_pending(sh) || work;
}

/* Applies a drained batch (NULL entries were handled already), granting
 * no lock until all of it has been applied. */
static void apply_batch(struct shard *sh, struct xmsg **msgs, unsigned nm)
{
	unsigned k;

	sh->batching = true;
	for (k = 0; k < nm; k++)
		if (msgs[k] != NULL)
			on_message(sh, msgs[k]);
	sh->batching = false;
}

/* Grants a lock request seen in this step once what was sent here before
 * it has been applied: a message pushed before the request may still have
 * been missed by the drain that found it (threads: the rings are read one
 * after another), so drain again first (a few times at most). */
static void settle_locks(struct shard *sh, struct xmsg **msgs)
{
	unsigned i, nm;

	for (i = 0; i < SHARD_GRANT_DRAINS && sh->lock.queue_n > 0 && !lock_held(&sh->lock); i++) {
		nm = drain(sh, msgs);
		if (nm == 0)
			break;
		apply_batch(sh, msgs, nm);
	}
	lock_settle(sh);
}

bool shard_step(struct shard *sh)
{
	struct io_cqe cqes[IO_REAP_MAX];
	struct xmsg *msgs[SHARD_MSGS_MAX];
	int n = io_reap(sh->io, cqes, IO_REAP_MAX), i;
	unsigned nm;
	bool work = n > 0;

	shard_clock(sh);
	/* While frozen another shard's span runs on this keyspace and may
	 * change the configuration: neither is read here then. */
	if (!lock_held(&sh->lock)) {
		if (shard_used_memory(sh) > sh->trim_mark)
			sh->trim_mark = shard_used_memory(sh);
		if (sh->cfg.maxmemory > 0)
			mem_refresh(sh);
	}
	nm = notify_first(sh, msgs);
	for (i = 0; i < n; i++) {
		/* While frozen, and until what was deferred has run, every
		 * completion waits its turn. */
		if (lock_held(&sh->lock) || sh->dcqe_n > 0) {
			defer_cqe(sh, &cqes[i]);
			continue;
		}
		complete(sh, &cqes[i]);
		if (sh->lock.queue_n > 0)
			lock_settle(sh); /* a span started here may lock at once */
	}
	apply_batch(sh, msgs, nm);
	if (nm > 0)
		work = true;
	nm = drain(sh, msgs);
	apply_batch(sh, msgs, nm);
	settle_locks(sh, msgs);
	/* What waited runs now, even in a step that drained messages: an
	 * unlock among them leaves deferred messages that must reach their
	 * subscribers before anything this shard serves later. */
	if (run_deferred(sh) || nm > 0)
		work = true;
	if (!lock_held(&sh->lock) && step_unfrozen(sh))
		work = true;
	/* A backlog left to move counts as work: the shard must not park on
	 * it (its targets drain their rings without telling us). */
	if (xshard_flush(&sh->x, sh->io))
		work = true;
	io_flush(sh->io);
	sh->steps++;
	return work;
}

bool shard_park_begin(struct shard *sh)
{
	/* The parked flag, then a last look at the rings (xshard.h). */
	return sh->set->n == 1 || xshard_park_begin(&sh->x);
}

void shard_park_end(struct shard *sh)
{
	if (sh->set->n > 1)
		xshard_park_end(&sh->x);
}

void shard_park(struct shard *sh, uint64_t timeout_ns)
{
	if (shard_park_begin(sh))
		io_wait(sh->io, timeout_ns);
	shard_park_end(sh);
}
