/* cmd_asm.c: atomic slot migration, Valkey 9's CLUSTER MIGRATESLOTS,
 * GETSLOTMIGRATIONS, CANCELSLOTMIGRATIONS and the internal SYNCSLOTS, over
 * shard/asm.h's jobs and link.
 *
 * Every one runs with every shard locked (CLUSTER's route class), as does
 * the internal step (SYNCSLOTS STEP, started by shard 0's asm_poll with no
 * client), so the keyspaces, shard 0's state and every shard's clients
 * are at hand.
 *
 * The source (export job): a pass scans the slots' keys (a bounded step
 * at a time: ASM_STEP_BUCKETS buckets or ASM_STEP_BYTES of output) and
 * sends each key whose payload and expiry differ from what it sent last
 * (RESTORE key <abs ms> payload REPLACE ABSTTL; DUMP's format, so a large
 * collection goes as one payload), then DEL for each key it sent that is
 * gone. Once a pass sent at most ASM_CATCHUP_KEYS keys (or after
 * ASM_PASSES_MAX passes) it pauses client writes on every shard (CLIENT
 * PAUSE WRITE: clients wait, they get no error), runs one more pass,
 * in steps that start after the pause (so a write that was in flight
 * between shards when it began has landed) and sends FAILOVER-GRANTED. On its +OK (the target owns the
 * slots now) it gives the slots to the target in its own state, deletes
 * its copies and unpauses: the held clients get MOVED.
 *
 * The target (import job): ESTABLISH checks the source owns the slots and
 * marks them hidden in every shard's view (the link alone may write them,
 * moved.c; every other client still gets MOVED to the source: it does not
 * own them). FAILOVER-GRANTED claims them: a new config epoch (BUMPEPOCH)
 * and SETSLOT NODE myself for each, nodes.conf saved, the view sent. A
 * job that fails (the source's FINISH, no ACK for the timeout, a change of
 * the slots' owner, FLUSHALL meanwhile) deletes every key of its slots. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cluster/redirect.h"
#include "cluster/slotmig.h"
#include "cluster/state.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/kv.h"
#include "data/rdb.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/asm.h"
#include "shard/conn.h"
#include "shard/shard.h"

#define ERR_DISABLED "This instance has cluster support disabled"
#define ASM_SEED_KEY 0x61736d6b6579ull
#define ASM_SEED_VAL 0x61736d76616cull

static struct cluster_state *state_of(struct cmd_ctx *c)
{
	return c->env->cfg->cluster_enabled ? shard_at(c, 0)->topo.st : NULL;
}

/* Shard 0's jobs, their time set from this command's clock (asm.h). */
static struct asm_set *asm_of(struct cmd_ctx *c)
{
	struct asm_set *a = &shard_at(c, 0)->am;

	a->now_ms = c->now_ms;
	return a;
}

/* After a change of the state or of the hidden slots: nodes.conf, and the
 * new view in every shard (all held). */
static void settle_all(struct cmd_ctx *c)
{
	struct shard *zero = shard_at(c, 0);
	struct cluster_view *v;
	unsigned s;

	asm_slots(&zero->am, false, zero->topo.hidden);
	v = topology_settle(&zero->topo, true);
	if (v == NULL)
		return;
	for (s = 1; s < cmd_nshards(c); s++)
		topology_install(&shard_at(c, s)->topo, v);
	redirect_view_free(v, &zero->mem);
}

/* One line in the log about job j (Valkey logs each step of a job). */
#define asm_log(c, level, j, fmt, ...)                                                             \
	shard_log(shard_at((c), 0), (level), "Slot migration %.8s (%s): " fmt, (j)->name,          \
		  (j)->exporting ? "export" : "import", __VA_ARGS__)

static void pause_all(struct cmd_ctx *c, enum conn_pause_type type, int64_t end_ms)
{
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++)
		conn_pause(&shard_at(c, s)->ch, type, end_ms);
}

static void unpause_all(struct cmd_ctx *c)
{
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++)
		conn_unpause(&shard_at(c, s)->ch);
}

/* The shard that holds slot's keys. */
static unsigned slot_shard(const struct cmd_ctx *c, unsigned slot)
{
	return cmd_nshards(c) == 1 ? 0 : c->env->slot_shard[slot];
}

static bool shard_has(const struct cmd_ctx *c, const uint8_t *bits, unsigned s)
{
	unsigned slot;

	for (slot = 0; slot < CLUSTER_SLOTS; slot++)
		if (slotmig_has(bits, slot) && slot_shard(c, slot) == s)
			return true;
	return false;
}

/* ---- deleting the keys of a set of slots ---- */

struct collect {
	struct mem *mem;
	const uint8_t *bits;
	char **keys;
	size_t *lens;
	size_t n, cap;
};

static void collect_key(void *arg, struct kv *e)
{
	struct collect *k = arg;

	if (!slotmig_has(k->bits, hash_slot(kv_key(e), kv_klen(e))))
		return;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->keys = mem_realloc(k->mem, k->keys, k->cap * sizeof(*k->keys));
		k->lens = mem_realloc(k->mem, k->lens, k->cap * sizeof(*k->lens));
	}
	k->keys[k->n] = mem_alloc(k->mem, kv_klen(e) + 1);
	memcpy(k->keys[k->n], kv_key(e), kv_klen(e));
	k->lens[k->n++] = kv_klen(e);
}

/* Deletes every key of the slots in bits, on every shard (all held). */
static void delete_slots(struct cmd_ctx *c, const uint8_t *bits)
{
	unsigned s;
	size_t i;

	for (s = 0; s < cmd_nshards(c); s++) {
		struct keyspace *ks = cmd_keyspace(c, s);
		struct collect k = { .mem = c->env->mem, .bits = bits };
		uint64_t cursor = 0;
		if (!shard_has(c, bits, s))
			continue;
		do
			cursor = ks_scan(ks, cursor, collect_key, &k);
		while (cursor != 0);
		for (i = 0; i < k.n; i++) {
			(void)ks_delete(ks, k.keys[i], k.lens[i]);
			mem_free(k.mem, k.keys[i]);
		}
		mem_free(k.mem, k.keys);
		mem_free(k.mem, k.lens);
	}
}

/* ---- the source's passes ---- */

struct visit {
	struct cmd_ctx *c;
	struct asm_set *a;
	struct asm_job *j;
	struct keyspace *ks;
	struct rdb_out o; /* one buffer for the step's dumps */
};

static uint64_t value_hash(const char *p, size_t n, int64_t expire_ms)
{
	return hash_bytes(p, n, ASM_SEED_VAL) ^ ((uint64_t)expire_ms * 0x9e3779b97f4a7c15ull);
}

static void out_restore(struct asm_set *a, struct asm_job *j, const char *key, size_t klen,
			const char *payload, size_t plen, int64_t expire_ms)
{
	char t[32];
	int tn = snprintf(t, sizeof(t), "%lld", (long long)(expire_ms > 0 ? expire_ms : 0));

	asm_out_cmd(a, j, 6);
	asm_out_bulk(a, j, "RESTORE", 7);
	asm_out_bulk(a, j, key, klen);
	asm_out_bulk(a, j, t, (size_t)tn);
	asm_out_bulk(a, j, payload, plen);
	asm_out_bulk(a, j, "REPLACE", 7);
	asm_out_bulk(a, j, "ABSTTL", 6);
}

/* A key the scan met: sent when it is new or changed since last sent. */
static void visit_key(void *arg, struct kv *e)
{
	struct visit *v = arg;
	const char *key = kv_key(e);
	int64_t expire_ms = kv_has_ttl(e) ? kv_expire(e) : -1;
	struct rdb_out *o = &v->o;
	struct asm_sent *s;
	uint64_t kh, vh;

	if (!slotmig_has(v->j->slots, hash_slot(key, kv_klen(e))) || ks_expired(v->ks, e))
		return;
	o->len = 0;
	rdb_dump(o, e);
	kh = hash_bytes(key, kv_klen(e), ASM_SEED_KEY);
	vh = value_hash(o->buf, o->len, expire_ms);
	s = asm_sent_find(v->j, key, kv_klen(e), kh);
	if (s == NULL || !s->live || s->vhash != vh) {
		out_restore(v->a, v->j, key, kv_klen(e), o->buf, o->len, expire_ms);
		asm_sent_put(v->a, v->j, key, kv_klen(e), kh, vh);
		v->j->pass_sent++;
		v->j->keys_sent++;
	}
}

/* The sent keys that are gone get DEL; false once the table is done. */
static bool delete_gone(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j)
{
	uint32_t n;

	for (n = 0; n < 256 && j->del_pos < j->nsent; n++, j->del_pos++) {
		struct asm_sent *s = &j->sent[j->del_pos];
		unsigned slot = hash_slot(s->key, s->klen);
		if (!s->live || ks_peek_live(cmd_keyspace(c, slot_shard(c, slot)), s->key, s->klen))
			continue;
		asm_out_cmd(a, j, 2);
		asm_out_bulk(a, j, "DEL", 3);
		asm_out_bulk(a, j, s->key, s->klen);
		s->live = false;
		j->pass_sent++;
	}
	return j->del_pos < j->nsent;
}

/* FAILOVER-GRANTED NAME <name> KEYS <n>: n keys are there (the target
 * checks, so that a key it lost meanwhile, to FLUSHALL or eviction, fails
 * the move rather than the data). */
static void out_grant(struct asm_set *a, struct asm_job *j)
{
	uint64_t live = 0;
	char t[24];
	uint32_t i;
	int tn;

	for (i = 0; i < j->nsent; i++)
		live += j->sent[i].live;
	tn = snprintf(t, sizeof(t), "%llu", (unsigned long long)live);
	asm_out_cmd(a, j, 7);
	asm_out_bulk(a, j, "CLUSTER", 7);
	asm_out_bulk(a, j, "SYNCSLOTS", 9);
	asm_out_bulk(a, j, "FAILOVER-GRANTED", 16);
	asm_out_bulk(a, j, "NAME", 4);
	asm_out_bulk(a, j, j->name, BUS_ID_LEN);
	asm_out_bulk(a, j, "KEYS", 4);
	asm_out_bulk(a, j, t, (size_t)tn);
}

/* A pass is over: another, the pause, or (after the paused pass) the wait
 * for the grant. Returns true when the step must end here: the paused pass
 * starts in a span of its own, which every shard grants only after running
 * what reached it before (a write forwarded between shards when the pause
 * began has landed then). */
static bool pass_end(struct cmd_ctx *c, struct asm_job *j)
{
	bool stop = false;

	j->pass++;
	if (j->state == ASM_PAUSED) {
		/* A pass with writes paused: everything is sent. The grant
		 * goes once every reply is in (step_job). */
		j->grant_wait = true;
		stop = true;
	} else if (j->want - j->got > ASM_CATCHUP_KEYS) {
		/* The target is behind: the next pass waits for its replies
		 * (no pause before it has caught up, as Valkey's REQUEST-PAUSE
		 * comes after the snapshot). */
		j->wait_acks = true;
		j->state = ASM_REPLICATING;
	} else if (j->pass_sent <= ASM_CATCHUP_KEYS || j->pass >= ASM_PASSES_MAX) {
		j->pause_end_ms = c->now_ms + ASM_PAUSE_MS;
		pause_all(c, CONN_PAUSE_WRITE, j->pause_end_ms);
		j->state = ASM_PAUSED;
		asm_log(c, IO_LOG_NOTICE, j, "writes paused after %u passes", j->pass);
		stop = true;
	} else {
		j->state = ASM_REPLICATING;
	}
	j->utime_ms = c->now_ms;
	j->shard_cur = 0;
	j->cursor = 0;
	j->del_phase = false;
	j->del_pos = 0;
	j->pass_sent = 0;
	return stop;
}

/* One bounded step of j's passes. */
static void export_stream(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j)
{
	struct visit v = { c, a, j, NULL, { 0 } };
	size_t start = asm_pending(j);
	unsigned buckets = 0;

	/* Paused, the writers wait for the passes: larger steps (the readers
	 * wait for each step). */
	unsigned scale = j->state == ASM_PAUSED ? ASM_PAUSED_STEP_SCALE : 1;

	rdb_out_init(&v.o, c->env->mem, false);
	v.o.list_fill = (int)c->env->cfg->list_max_listpack_size;
	v.o.list_compress = (int)c->env->cfg->list_compress_depth;

	while (!j->grant_wait && buckets < ASM_STEP_BUCKETS * scale &&
	       asm_pending(j) - start < ASM_STEP_BYTES * scale) {
		if (j->del_phase) {
			buckets += 16;
			if (!delete_gone(c, a, j) && pass_end(c, j))
				break;
			continue;
		}
		if (j->shard_cur >= cmd_nshards(c)) {
			j->del_phase = true;
			continue;
		}
		if (j->cursor == 0 && !shard_has(c, j->slots, j->shard_cur)) {
			j->shard_cur++;
			continue;
		}
		v.ks = cmd_keyspace(c, j->shard_cur);
		j->cursor = ks_scan(v.ks, j->cursor, visit_key, &v);
		buckets++;
		if (j->cursor == 0)
			j->shard_cur++;
	}
	rdb_out_free(&v.o);
	asm_flush(a, j);
}

/* ---- the end of a job ---- */

static void count_key(void *arg, struct kv *e)
{
	struct collect *k = arg;

	k->n += slotmig_has(k->bits, hash_slot(kv_key(e), kv_klen(e)));
}

/* The keys of the slots in bits, expired ones not yet deleted included. */
static uint64_t count_slots(struct cmd_ctx *c, const uint8_t *bits)
{
	struct collect k = { .bits = bits };
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++) {
		uint64_t cursor = 0;
		if (!shard_has(c, bits, s))
			continue;
		do
			cursor = ks_scan(cmd_keyspace(c, s), cursor, count_key, &k);
		while (cursor != 0);
	}
	return k.n;
}

static size_t no_keys(void *ctx, unsigned slot)
{
	(void)ctx;
	(void)slot;
	return 0;
}

/* Gives each slot of bits to node id (SETSLOT <slot> NODE <id>). */
static void assign_slots(struct cluster_state *st, const uint8_t *bits, const char *id)
{
	struct cluster_keys keys = { no_keys, NULL };
	char num[8], err[CLUSTER_ERR_MAX];
	struct cluster_arg a[3];
	unsigned slot;

	for (slot = 0; slot < CLUSTER_SLOTS; slot++) {
		if (!slotmig_has(bits, slot))
			continue;
		a[0] = (struct cluster_arg){ num, (size_t)snprintf(num, sizeof(num), "%u", slot) };
		a[1] = (struct cluster_arg){ "node", 4 };
		a[2] = (struct cluster_arg){ id, BUS_ID_LEN };
		(void)cluster_setslot(st, a, 3, &keys, err);
	}
}

/* Whether node n owns every slot of bits. */
static bool owns_all(const struct cluster_state *st, const uint8_t *bits, uint16_t n)
{
	unsigned slot;

	for (slot = 0; slot < CLUSTER_SLOTS; slot++)
		if (slotmig_has(bits, slot) && st->owner[slot] != n)
			return false;
	return true;
}

/* The source: the target owns the slots now. */
static void export_switch(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j)
{
	struct cluster_state *st = state_of(c);

	delete_slots(c, j->slots);
	assign_slots(st, j->slots, j->peer);
	unpause_all(c);
	asm_job_finish(a, j, ASM_SUCCESS, "");
	settle_all(c);
	asm_log(c, IO_LOG_NOTICE, j,
		"%u slots now served by %.40s, %llu keys sent, writes paused %lld ms", j->nslots,
		j->peer, (unsigned long long)j->keys_sent,
		(long long)(c->now_ms - (j->pause_end_ms - ASM_PAUSE_MS)));
}

static void export_fail(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j, enum asm_state how)
{
	char msg[ASM_MSG_MAX];

	if (j->state == ASM_PAUSED || j->state == ASM_GRANTED)
		unpause_all(c);
	/* The target hears of it at once (else its ACK timeout ends it). */
	if (j->sock >= 0 && !j->link_lost && j->state >= ASM_READ_ESTABLISH) {
		asm_out_cmd(a, j, 5);
		asm_out_bulk(a, j, "CLUSTER", 7);
		asm_out_bulk(a, j, "SYNCSLOTS", 9);
		asm_out_bulk(a, j, "FINISH", 6);
		asm_out_bulk(a, j, "NAME", 4);
		asm_out_bulk(a, j, j->name, BUS_ID_LEN);
	}
	snprintf(msg, sizeof(msg), "%s", j->msg);
	asm_job_finish(a, j, how, msg);
	asm_log(c, IO_LOG_WARNING, j, "%s: %s", asm_state_name(how), msg);
}

/* The target: what it imported goes. */
static void import_fail(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j)
{
	char msg[ASM_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", j->msg);
	j->state = ASM_CLEANING;
	delete_slots(c, j->slots);
	asm_job_finish(a, j, ASM_FAILED, msg);
	settle_all(c);
	asm_log(c, IO_LOG_WARNING, j, "failed: %s; its keys deleted", msg);
}

/* The checks of the timer's tick: the slots' owners. */
static void check_owner(struct cmd_ctx *c, struct asm_job *j)
{
	const struct cluster_state *st = state_of(c);
	uint16_t peer = cluster_node_find(st, j->peer, BUS_ID_LEN);

	if (j->fail_pending || j->switch_pending)
		return;
	if (j->exporting && j->state == ASM_GRANTED) {
		j->switch_pending = peer != CLUSTER_NONE && owns_all(st, j->slots, peer);
		return;
	}
	if (owns_all(st, j->slots, j->exporting ? st->myself : peer) && peer != CLUSTER_NONE)
		return;
	snprintf(j->msg, sizeof(j->msg), "Slot ownership changed");
	j->fail_pending = true;
}

static void step_job(struct cmd_ctx *c, struct asm_set *a, struct asm_job *j, bool tick)
{
	if (tick)
		check_owner(c, j);
	if (j->fail_pending) {
		if (j->exporting)
			export_fail(c, a, j, ASM_FAILED);
		else
			import_fail(c, a, j);
		return;
	}
	if (j->switch_pending) {
		export_switch(c, a, j);
		return;
	}
	if (j->wait_acks && j->want - j->got <= ASM_CATCHUP_KEYS)
		j->wait_acks = false;
	if (j->grant_wait && j->got == j->want) {
		/* Every command sent so far succeeded (an error fails the job
		 * before this): the target holds all, the grant can go. */
		j->grant_wait = false;
		/* From the grant on the target may serve the slots: reads wait
		 * too (until its +OK, one round trip), else a read here could
		 * answer a value the target has already overwritten. */
		pause_all(c, CONN_PAUSE_ALL, j->pause_end_ms);
		out_grant(a, j);
		j->grant_line = j->want;
		j->state = ASM_GRANTED;
		asm_flush(a, j);
		return;
	}
	if (j->exporting && !j->grant_wait &&
	    (j->state == ASM_SNAPSHOTTING || j->state == ASM_REPLICATING ||
	     j->state == ASM_PAUSED) &&
	    asm_pending(j) < ASM_OUT_HIGH && !j->wait_acks)
		export_stream(c, a, j);
}

/* CLUSTER SYNCSLOTS STEP: shard 0's asm_poll, with every shard held. */
static void step(struct cmd_ctx *c)
{
	struct asm_set *a = asm_of(c);
	bool tick = true;
	unsigned i;

	if (c->conn != NULL || shard_of(c) != shard_at(c, 0) || !a->step_inflight ||
	    state_of(c) == NULL) {
		reply_error(c->r, "CLUSTER SYNCSLOTS STEP is internal");
		return;
	}
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		struct asm_job *j = a->jobs[i];
		if (j != NULL && asm_job_running(j))
			step_job(c, a, j, tick);
	}
	asm_step_done(a);
	reply_ok(c->r);
}

/* ---- CLUSTER MIGRATESLOTS, GETSLOTMIGRATIONS, CANCELSLOTMIGRATIONS ---- */

/* A job's name: 40 hex digits from myself, the time and a count. */
static void make_name(struct asm_set *a, const struct cluster_state *st, int64_t now_ms, char *out)
{
	uint64_t h[3], seed = (uint64_t)now_ms ^ (++a->seq << 32);
	char hex[49];
	int i;

	for (i = 0; i < 3; i++)
		h[i] = hash_bytes(cluster_myself(st)->id, BUS_ID_LEN, seed + (uint64_t)i * 7919);
	snprintf(hex, sizeof(hex), "%016llx%016llx%016llx", (unsigned long long)h[0],
		 (unsigned long long)h[1], (unsigned long long)h[2]);
	memcpy(out, hex, BUS_ID_LEN);
	out[BUS_ID_LEN] = '\0';
}

/* AUTH first when masterauth is set ([masteruser] masterauth), as
 * Valkey's link sends primaryauth: a target with requirepass takes it. */
static void out_auth(struct asm_set *a, struct asm_job *j, const struct config *cfg)
{
	bool user = cfg->masteruser[0] != '\0';

	if (cfg->masterauth[0] == '\0')
		return;
	asm_out_cmd(a, j, user ? 3 : 2);
	asm_out_bulk(a, j, "AUTH", 4);
	if (user)
		asm_out_bulk(a, j, cfg->masteruser, strlen(cfg->masteruser));
	asm_out_bulk(a, j, cfg->masterauth, strlen(cfg->masterauth));
}

/* ESTABLISH, the link's first command (after AUTH), queued before it
 * connects. */
static void out_establish(struct asm_set *a, struct asm_job *j, const struct cluster_state *st)
{
	unsigned s = 0, e, nr = 0;
	char num[8];
	int n;

	for (s = 0; s < CLUSTER_SLOTS; s = e + 1) {
		for (; s < CLUSTER_SLOTS && !slotmig_has(j->slots, s); s++)
			;
		for (e = s;
		     e + 1 < CLUSTER_SLOTS && s < CLUSTER_SLOTS && slotmig_has(j->slots, e + 1);
		     e++)
			;
		nr += s < CLUSTER_SLOTS;
	}
	asm_out_cmd(a, j, 8 + 2 * (int)nr);
	asm_out_bulk(a, j, "CLUSTER", 7);
	asm_out_bulk(a, j, "SYNCSLOTS", 9);
	asm_out_bulk(a, j, "ESTABLISH", 9);
	asm_out_bulk(a, j, "SOURCE", 6);
	asm_out_bulk(a, j, cluster_myself(st)->id, BUS_ID_LEN);
	asm_out_bulk(a, j, "NAME", 4);
	asm_out_bulk(a, j, j->name, BUS_ID_LEN);
	asm_out_bulk(a, j, "SLOTSRANGE", 10);
	for (s = 0; s < CLUSTER_SLOTS; s = e + 1) {
		for (; s < CLUSTER_SLOTS && !slotmig_has(j->slots, s); s++)
			;
		if (s == CLUSTER_SLOTS)
			break;
		for (e = s; e + 1 < CLUSTER_SLOTS && slotmig_has(j->slots, e + 1); e++)
			;
		n = snprintf(num, sizeof(num), "%u", s);
		asm_out_bulk(a, j, num, (size_t)n);
		n = snprintf(num, sizeof(num), "%u", e);
		asm_out_bulk(a, j, num, (size_t)n);
	}
}

static unsigned free_entries(const struct asm_set *a)
{
	unsigned i, n = 0;

	for (i = 0; i < ASM_JOBS_MAX; i++)
		n += asm_job_reusable(a->jobs[i]);
	return n;
}

static void start_export(struct cmd_ctx *c, struct asm_set *a, const struct slotmig_req *r)
{
	const struct cluster_state *st = state_of(c);
	const struct cluster_node *n = st->nodes[r->target];
	struct asm_job *j = asm_job_new(a, true, c->now_ms);

	ASSERT(j != NULL);
	make_name(a, st, c->now_ms, j->name);
	memcpy(j->peer, n->id, BUS_ID_LEN + 1);
	memcpy(j->slots, r->slots, SLOTMIG_BITS);
	j->nslots = r->nslots;
	out_auth(a, j, c->env->cfg);
	out_establish(a, j, st);
	j->establish_line = j->want;
	asm_job_connect(a, j, n->ip, n->port);
	asm_log(c, IO_LOG_NOTICE, j, "%u slots to %.40s (%s:%u)", j->nslots, j->peer, n->ip,
		(unsigned)n->port);
}

void cmd_cluster_migrateslots(struct cmd_ctx *c)
{
	struct cluster_state *st = state_of(c);
	struct asm_set *a;
	struct slotmig_req *reqs;
	struct cluster_arg *args;
	uint8_t exporting[SLOTMIG_BITS];
	char err[CLUSTER_ERR_MAX];
	int n = c->argc - 2, i, nj;

	if (st == NULL) {
		reply_error(c->r, ERR_DISABLED);
		return;
	}
	a = asm_of(c);
	args = mem_alloc(c->env->mem, (size_t)n * sizeof(*args));
	for (i = 0; i < n; i++)
		args[i] = (struct cluster_arg){ c->argv[i + 2].p, c->argv[i + 2].len };
	reqs = mem_alloc(c->env->mem, SLOTMIG_REQ_MAX * sizeof(*reqs));
	asm_slots(a, true, exporting);
	nj = slotmig_parse_migrate(st, args, n, exporting, reqs, err);
	if (nj > 0 && (unsigned)nj > free_entries(a)) {
		snprintf(err, sizeof(err), "Too many slot migrations ongoing");
		nj = -1;
	}
	if (nj < 0) {
		reply_errorf(c->r, "-ERR %s", err);
	} else {
		for (i = 0; i < nj; i++)
			start_export(c, a, &reqs[i]);
		reply_ok(c->r);
	}
	mem_free(c->env->mem, reqs);
	mem_free(c->env->mem, args);
}

static void reply_job(struct cmd_ctx *c, const struct asm_job *j, char *text)
{
	const struct cluster_state *st = state_of(c);
	const char *me = cluster_myself(st)->id;

	slotmig_text(j->slots, text, SLOTMIG_TEXT_MAX);
	reply_map(c->r, 11);
	reply_bulk_cstr(c->r, "name");
	reply_bulk(c->r, j->name, BUS_ID_LEN);
	reply_bulk_cstr(c->r, "operation");
	reply_bulk_cstr(c->r, j->exporting ? "EXPORT" : "IMPORT");
	reply_bulk_cstr(c->r, "slot_ranges");
	reply_bulk_cstr(c->r, text);
	reply_bulk_cstr(c->r, "target_node");
	reply_bulk(c->r, j->exporting ? j->peer : me, BUS_ID_LEN);
	reply_bulk_cstr(c->r, "source_node");
	reply_bulk(c->r, j->exporting ? me : j->peer, BUS_ID_LEN);
	reply_bulk_cstr(c->r, "create_time");
	reply_int(c->r, j->ctime_ms / 1000);
	reply_bulk_cstr(c->r, "last_update_time");
	reply_int(c->r, j->utime_ms / 1000);
	reply_bulk_cstr(c->r, "last_ack_time");
	reply_int(c->r, j->ack_ms / 1000);
	reply_bulk_cstr(c->r, "state");
	reply_bulk_cstr(c->r, asm_state_name(j->state));
	reply_bulk_cstr(c->r, "message");
	reply_bulk_cstr(c->r, j->msg);
	reply_bulk_cstr(c->r, "cow_size");
	reply_int(c->r, 0);
}

void cmd_cluster_getslotmigrations(struct cmd_ctx *c)
{
	struct asm_set *a;
	unsigned i, n = 0;
	char *text;

	if (state_of(c) == NULL) {
		reply_error(c->r, ERR_DISABLED);
		return;
	}
	a = asm_of(c);
	for (i = 0; i < ASM_JOBS_MAX; i++)
		n += a->jobs[i] != NULL;
	text = mem_alloc(c->env->mem, SLOTMIG_TEXT_MAX);
	reply_array(c->r, n);
	/* Newest first, as Valkey lists them. */
	for (uint64_t below = UINT64_MAX; n > 0; n--) {
		const struct asm_job *next = NULL;
		for (i = 0; i < ASM_JOBS_MAX; i++) {
			const struct asm_job *j = a->jobs[i];
			if (j != NULL && j->seq < below && (next == NULL || j->seq > next->seq))
				next = j;
		}
		ASSERT(next != NULL);
		reply_job(c, next, text);
		below = next->seq;
	}
	mem_free(c->env->mem, text);
}

void cmd_cluster_cancelslotmigrations(struct cmd_ctx *c)
{
	struct asm_set *a;
	unsigned i, n = 0;

	if (state_of(c) == NULL) {
		reply_error(c->r, ERR_DISABLED);
		return;
	}
	a = asm_of(c);
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		struct asm_job *j = a->jobs[i];
		if (j == NULL || !j->exporting || !asm_job_running(j))
			continue;
		n++;
		/* Granted: the target may own the slots already, so writes to
		 * them stay paused until its claim is seen or the pause ends
		 * (unpausing now could take writes the target's epoch undoes). */
		if (j->state == ASM_GRANTED)
			continue;
		snprintf(j->msg, sizeof(j->msg), "Cancelled by the user");
		export_fail(c, a, j, ASM_CANCELLED);
	}
	if (n == 0)
		reply_error(c->r, "No migrations ongoing");
	else
		reply_ok(c->r);
}

/* ---- CLUSTER SYNCSLOTS, from the network: hostile input ---- */

static bool arg_is(const struct cmd_arg *a, const char *word)
{
	return a->len == strlen(word) && strncasecmp(a->p, word, a->len) == 0;
}

static bool is_name(const struct cmd_arg *a)
{
	size_t i;

	if (a->len != BUS_ID_LEN)
		return false;
	for (i = 0; i < a->len; i++)
		if (!((a->p[i] >= '0' && a->p[i] <= '9') || (a->p[i] >= 'a' && a->p[i] <= 'f')))
			return false;
	return true;
}

/* The import job named by a (or, with a NULL, any), of this link. */
static struct asm_job *import_of(struct cmd_ctx *c, const struct cmd_arg *name)
{
	struct asm_set *a = asm_of(c);
	unsigned i;

	for (i = 0; i < ASM_JOBS_MAX; i++) {
		struct asm_job *j = a->jobs[i];
		if (j == NULL || j->exporting || !asm_job_running(j) ||
		    j->client_id != c->client_id)
			continue;
		if (name == NULL ||
		    (name->len == BUS_ID_LEN && memcmp(name->p, j->name, BUS_ID_LEN) == 0))
			return j;
	}
	return NULL;
}

/* ESTABLISH's checks; the source's index, or CLUSTER_NONE after the error. */
static uint16_t establish_check(struct cmd_ctx *c, const struct cluster_state *st, uint8_t *bits,
				uint32_t *nslots)
{
	struct cluster_arg *args;
	uint8_t importing[SLOTMIG_BITS];
	char err[CLUSTER_ERR_MAX];
	uint16_t src, owner;
	int i = 0, n = c->argc - 8, rc;

	if (c->argc < 10 || !arg_is(&c->argv[3], "source") || !arg_is(&c->argv[5], "name") ||
	    !arg_is(&c->argv[7], "slotsrange")) {
		reply_error(c->r, "syntax error");
		return CLUSTER_NONE;
	}
	src = cluster_node_find(st, c->argv[4].p, c->argv[4].len);
	if (src == CLUSTER_NONE || src == st->myself || !is_name(&c->argv[6])) {
		reply_error(c->r, "Unknown source node or invalid migration name");
		return CLUSTER_NONE;
	}
	args = mem_alloc(c->env->mem, (size_t)n * sizeof(*args));
	for (i = 0; i < n; i++)
		args[i] = (struct cluster_arg){ c->argv[i + 8].p, c->argv[i + 8].len };
	i = 0;
	rc = slotmig_parse_ranges(st, args, n, &i, bits, &owner, err);
	mem_free(c->env->mem, args);
	if (rc < 0 || i != n) {
		reply_errorf(c->r, "-ERR %s", rc < 0 ? err : "syntax error");
		return CLUSTER_NONE;
	}
	asm_slots(asm_of(c), false, importing);
	if (owner != src) {
		reply_error(c->r, "Slots are not served by the source node");
		return CLUSTER_NONE;
	}
	if (slotmig_overlap(importing, bits)) {
		reply_error(c->r, "Slot ranges in migrations overlap");
		return CLUSTER_NONE;
	}
	*nslots = (uint32_t)rc;
	return src;
}

/* ESTABLISH SOURCE <id> NAME <name> SLOTSRANGE s e [s e ...] */
static void establish(struct cmd_ctx *c, struct cluster_state *st)
{
	struct conn *conn = server_conn(c);
	uint8_t bits[SLOTMIG_BITS];
	char err[CLUSTER_ERR_MAX];
	struct asm_job *j;
	uint32_t nslots = 0;
	uint16_t src = establish_check(c, st, bits, &nslots);

	if (src == CLUSTER_NONE)
		return;
	if (slotmig_precheck(st, err) < 0) {
		reply_errorf(c->r, "-ERR %s", err);
		return;
	}
	j = asm_job_new(asm_of(c), false, c->now_ms);
	if (j == NULL) {
		reply_error(c->r, "Too many slot migrations ongoing");
		return;
	}
	memcpy(j->name, c->argv[6].p, BUS_ID_LEN);
	memcpy(j->peer, st->nodes[src]->id, BUS_ID_LEN + 1);
	memcpy(j->slots, bits, SLOTMIG_BITS);
	j->nslots = nslots;
	j->state = ASM_RECEIVING;
	j->client_id = c->client_id;
	conn->flags |= CONN_F_SYNCSLOTS;
	delete_slots(c, bits); /* left by an earlier try: this node does not own them */
	settle_all(c);
	asm_log(c, IO_LOG_NOTICE, j, "%u slots from %.40s", nslots, j->peer);
	reply_ok(c->r);
}

/* The target claims j's slots: a new config epoch and the slots, in
 * nodes.conf before the source hears +OK. If the save fails the claim is
 * undone (no one has seen it: the bus runs after this command) and the job
 * fails with the save's error, so the source keeps the slots: a claim
 * acknowledged but not saved would be lost by a crash, leaving each node
 * sure the other owns the slots (cairn-sim seed 67, --set cluster=1 --set
 * move_pct=100 --set atomic_pct=100 --set atomic_keys=1). */
static bool claim(struct cmd_ctx *c, struct cluster_state *st, struct asm_job *j)
{
	const struct topology *t = &shard_at(c, 0)->topo;
	uint64_t current = st->current_epoch, mine = cluster_myself(st)->config_epoch;

	(void)cluster_bumpepoch(st);
	assign_slots(st, j->slots, cluster_myself(st)->id);
	st->todo |= CLUSTER_TODO_SAVE | CLUSTER_TODO_FSYNC;
	settle_all(c);
	if (t->err[0] == '\0')
		return true;
	assign_slots(st, j->slots, j->peer);
	st->current_epoch = current;
	cluster_myself(st)->config_epoch = mine;
	snprintf(j->msg, sizeof(j->msg), "Could not save the claim: %.90s", t->err);
	reply_errorf(c->r, "-ERR error saving the cluster node config: %s", t->err);
	import_fail(c, asm_of(c), j);
	return false;
}

/* FAILOVER-GRANTED NAME <name> KEYS <n>: the source is paused and every
 * key is here: the slots become this node's. */
static void failover_granted(struct cmd_ctx *c, struct cluster_state *st)
{
	struct asm_job *j = c->argc == 7 && arg_is(&c->argv[3], "name") &&
					    arg_is(&c->argv[5], "keys")
				    ? import_of(c, &c->argv[4])
				    : NULL;
	long long keys;

	if (j == NULL || !cmd_arg_ll(c, &c->argv[6], &keys, NULL)) {
		if (j == NULL)
			reply_error(c->r, "No such slot migration on this link");
		return;
	}
	if (!owns_all(st, j->slots, cluster_node_find(st, j->peer, BUS_ID_LEN))) {
		snprintf(j->msg, sizeof(j->msg), "Slot ownership changed");
		j->fail_pending = true;
	} else if (keys < 0 || count_slots(c, j->slots) != (uint64_t)keys) {
		snprintf(j->msg, sizeof(j->msg), "Imported keys lost before the failover");
		j->fail_pending = true;
	}
	if (j->fail_pending) {
		reply_errorf(c->r, "-ERR %s", j->msg);
		import_fail(c, asm_of(c), j);
		return;
	}
	if (!claim(c, st, j))
		return;
	asm_job_finish(asm_of(c), j, ASM_SUCCESS, "");
	settle_all(c);
	shard_at(c, 0)->topo.bus.kick = true;
	asm_log(c, IO_LOG_NOTICE, j, "%u slots claimed, config epoch %llu", j->nslots,
		(unsigned long long)cluster_myself(st)->config_epoch);
	reply_ok(c->r);
}

void cmd_cluster_syncslots(struct cmd_ctx *c)
{
	struct cluster_state *st = state_of(c);
	struct asm_job *j;

	if (st == NULL) {
		reply_error(c->r, ERR_DISABLED);
		return;
	}
	if (arg_is(&c->argv[2], "step")) {
		step(c);
	} else if (c->conn == NULL) {
		reply_error(c->r, "CLUSTER SYNCSLOTS needs a connection");
	} else if (arg_is(&c->argv[2], "establish")) {
		establish(c, st);
	} else if (arg_is(&c->argv[2], "ack") && c->argc == 3) {
		if ((j = import_of(c, NULL)) != NULL)
			j->ack_ms = c->now_ms;
		reply_ok(c->r);
	} else if (arg_is(&c->argv[2], "failover-granted")) {
		failover_granted(c, st);
	} else if (arg_is(&c->argv[2], "finish") && c->argc == 5 && arg_is(&c->argv[3], "name") &&
		   (j = import_of(c, &c->argv[4])) != NULL) {
		snprintf(j->msg, sizeof(j->msg), "Cancelled by the source node");
		import_fail(c, asm_of(c), j);
		reply_ok(c->r);
	} else {
		reply_errorf(c->r,
			     "-ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
			     "CLUSTER HELP.",
			     (int)c->argv[2].len, c->argv[2].p);
	}
}
