/* shard.c: the step function, the connection table, accept and the timer.
 * See shard.h. */
#include "shard/shard.h"

#include <errno.h>
#include <string.h>

#include "base/assert.h"
#include "base/log.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/route.h"

/* Slots beyond maxclients, so that a client over the limit can still be told
 * "max number of clients reached" before it is closed. */
#define SHARD_CONN_SLACK 1024
/* A slot value that names no connection (a socket closed at once). */
#define SHARD_SLOT_NONE 0xffffffu
/* Per timer tick: rehash steps, lazily freed entries, keys examined by
 * active expiry. */
#define SHARD_CRON_REHASH_STEPS 1000
#define SHARD_CRON_LAZY_FREE 100000
#define SHARD_CRON_EXPIRE_KEYS 20000

static uint64_t shard_random(void *arg)
{
	struct shard *sh = arg;
	return io_random_u64(sh->io);
}

void shard_clock(struct shard *sh)
{
	sh->now_ns = io_now_ns(sh->io);
	sh->now_ms = (int64_t)(sh->now_ns / 1000000u);
	sh->ks.now_ms = sh->now_ms;
}

void shardset_init(struct shardset *set, unsigned n, struct shard **shards, struct xhub *hub)
{
	unsigned s;

	ASSERT(n >= 1);
	ASSERT(n <= XSHARD_MAX);
	ASSERT(hub->n == n);
	set->n = n;
	set->shards = shards;
	set->hub = hub;
	atomic_init(&set->clients, 0);
	atomic_init(&set->bigbulk_reserved, 0);
	/* Equal ranges of slots, so that a shard owns whole slots as a cluster
	 * node does. */
	for (s = 0; s < HASH_SLOTS; s++)
		set->slot_shard[s] = (uint16_t)((uint64_t)s * n / HASH_SLOTS);
}

unsigned shardset_owner(const struct shardset *set, const char *key, size_t klen)
{
	return set->n == 1 ? 0 : set->slot_shard[hash_slot(key, klen)];
}

uint64_t shard_node_memory(const struct shard *sh)
{
	uint64_t total = shard_used_memory(sh);
	unsigned s;

	for (s = 0; s < sh->set->n; s++)
		if (s != sh->id)
			total += atomic_load_explicit(&sh->set->shards[s]->pub_used_memory,
						      memory_order_relaxed);
	return total;
}

int shard_init(struct shard *sh, struct shardset *set, unsigned id, struct io *io,
	       const struct config *cfg, const struct node_info *info, const struct cmd_index *cmds,
	       const int *listeners, unsigned nlisteners)
{
	uint32_t i;

	if (nlisteners > SHARD_LISTENERS_MAX || id >= set->n || set->shards[id] != sh)
		return -EINVAL;
	memset(sh, 0, sizeof(*sh));
	sh->id = id;
	sh->set = set;
	xshard_init(&sh->x, set->hub, id);
	sh->io = io;
	sh->cfg = *cfg;
	sh->info = info;
	sh->cmds = cmds;
	for (i = 0; i < nlisteners; i++)
		sh->listeners[i] = listeners[i];
	sh->nlisteners = nlisteners;
	sh->next_client_id = 1;
	ks_init(&sh->ks, &sh->st, io_random_u64(io), shard_random, sh);
	shard_clock(sh);
	sh->lastsave_ms = sh->now_ms;
	sh->conn_cap = (uint32_t)cfg->maxclients + SHARD_CONN_SLACK;
	sh->conns = mem_calloc(&sh->mem, sh->conn_cap * sizeof(*sh->conns));
	sh->gens = mem_calloc(&sh->mem, sh->conn_cap * sizeof(*sh->gens));
	sh->free_slots = mem_alloc(&sh->mem, sh->conn_cap * sizeof(*sh->free_slots));
	for (i = 0; i < sh->conn_cap; i++)
		sh->free_slots[i] = sh->conn_cap - 1 - i;
	sh->nfree = sh->conn_cap;
	return 0;
}

void shard_config_applied(struct shard *sh)
{
	uint32_t cap = (uint32_t)sh->cfg.maxclients + SHARD_CONN_SLACK, i;

	if (cap <= sh->conn_cap)
		return;
	sh->conns = mem_realloc(&sh->mem, sh->conns, cap * sizeof(*sh->conns));
	sh->gens = mem_realloc(&sh->mem, sh->gens, cap * sizeof(*sh->gens));
	sh->free_slots = mem_realloc(&sh->mem, sh->free_slots, cap * sizeof(*sh->free_slots));
	for (i = sh->conn_cap; i < cap; i++) {
		sh->conns[i] = NULL;
		sh->gens[i] = 0;
	}
	/* New slots go under the existing free ones: lower slots are reused
	 * first either way. */
	memmove(sh->free_slots + (cap - sh->conn_cap), sh->free_slots,
		sh->nfree * sizeof(*sh->free_slots));
	for (i = 0; i < cap - sh->conn_cap; i++)
		sh->free_slots[i] = cap - 1 - i;
	sh->nfree += cap - sh->conn_cap;
	sh->conn_cap = cap;
}

void shard_free(struct shard *sh)
{
	uint32_t i;

	for (i = 0; i < sh->conn_cap; i++)
		if (sh->conns[i] != NULL)
			conn_free(sh, sh->conns[i]);
	mem_free(&sh->mem, sh->conns);
	mem_free(&sh->mem, sh->gens);
	mem_free(&sh->mem, sh->free_slots);
	route_free(sh);
	xshard_free(&sh->x);
	ks_free(&sh->ks);
	ASSERT(sh->mem.used == 0);
}

void shard_pend(struct shard *sh, struct conn *c)
{
	/* A closing connection has nothing left to submit; keeping it off the
	 * list means its CLOSE completion can free it at any time. */
	if (c->flags & (CONN_F_QUEUED | CONN_F_CLOSING))
		return;
	c->flags |= CONN_F_QUEUED;
	c->next_pending = sh->pending;
	sh->pending = c;
}

struct conn *shard_conn_by_id(struct shard *sh, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < sh->conn_cap; i++)
		if (sh->conns[i] != NULL && sh->conns[i]->id == id)
			return sh->conns[i];
	return NULL;
}

uint64_t shard_used_memory(const struct shard *sh)
{
	return sh->mem.used + sh->ks.mem.used;
}

/* ---- accept ---- */

static void on_accept(struct shard *sh, const struct io_cqe *cqe)
{
	struct conn *c;
	uint32_t slot;

	uint32_t which = SHARD_UD_SLOT(cqe->user_data);

	ASSERT(which < sh->nlisteners);
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
	if (sh->nfree == 0) {
		/* No slot even for a refusal: close it straight away. */
		sh->st.rejected_connections++;
		if (io_close(sh->io, cqe->res, SHARD_UD(IO_OP_CLOSE, 0, SHARD_SLOT_NONE)) != 0)
			shard_log(sh, IO_LOG_WARNING, "Could not close a refused connection");
		return;
	}
	slot = sh->free_slots[--sh->nfree];
	ASSERT(sh->conns[slot] == NULL);
	c = conn_new(sh, cqe->res, slot, sh->gens[slot]);
	sh->conns[slot] = c;
	sh->nconns++;
	/* maxclients counts the clients of the whole node. */
	if (atomic_fetch_add_explicit(&sh->set->clients, 1, memory_order_relaxed) + 1 >
	    (unsigned)sh->cfg.maxclients) {
		struct reply r = { .ob = &c->out, .proto = 2, .es = NULL };
		reply_raw(&r, "-ERR max number of clients reached\r\n", 36);
		sh->st.rejected_connections++;
		conn_close(sh, c, false);
		return;
	}
	sh->st.connections_received++;
}

static void on_close(struct shard *sh, struct conn *c)
{
	uint32_t slot = c->slot;
	struct conn **r;

	/* A connection queued to resume leaves the queue. */
	for (r = &sh->resume; *r != NULL; r = &(*r)->next_resume)
		if (*r == c) {
			*r = c->next_resume;
			break;
		}

	ASSERT(sh->conns[slot] == c);
	conn_free(sh, c);
	sh->conns[slot] = NULL;
	sh->gens[slot] = (sh->gens[slot] + 1) & 0xffffffu;
	sh->free_slots[sh->nfree++] = slot;
	sh->nconns--;
	atomic_fetch_sub_explicit(&sh->set->clients, 1, memory_order_relaxed);
}

/* ---- timer ---- */

static void sample_metrics(struct shard *sh)
{
	struct shard_inst *m = &sh->inst;
	int64_t dt = sh->now_ms - m->last_ms;

	if (dt <= 0)
		return;
	m->ops[m->idx] = (sh->st.commands_processed - m->last_ops) * 1000 / (uint64_t)dt;
	m->in[m->idx] = (sh->st.net_input_bytes - m->last_in) * 1000 / (uint64_t)dt;
	m->out[m->idx] = (sh->st.net_output_bytes - m->last_out) * 1000 / (uint64_t)dt;
	m->idx = (m->idx + 1) % SHARD_INST_SAMPLES;
	m->last_ms = sh->now_ms;
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
	for (i = 0; i < sh->conn_cap; i++) {
		struct conn *c = sh->conns[i];
		if (c == NULL || (c->flags & (CONN_F_CLOSING | CONN_F_CLOSE_NOW)))
			continue;
		if (sh->now_ms - c->last_ms > limit) {
			shard_log(sh, IO_LOG_VERBOSE, "Closing idle client");
			conn_close(sh, c, true);
		}
	}
}

static void on_timer(struct shard *sh)
{
	sh->timer_armed = false;
	sh->accept_backoff = false;
	if (sh->cfg.active_expire)
		ks_expire_cycle(&sh->ks, SHARD_CRON_EXPIRE_KEYS);
	ks_cron(&sh->ks, SHARD_CRON_REHASH_STEPS);
	ks_lazy_step(&sh->ks, SHARD_CRON_LAZY_FREE);
	close_idle(sh);
	sample_metrics(sh);
	atomic_store_explicit(&sh->pub_used_memory, shard_used_memory(sh), memory_order_relaxed);
}

static void arm(struct shard *sh)
{
	unsigned i;

	for (i = 0; i < sh->nlisteners && !sh->accept_backoff; i++) {
		int rc;
		if (sh->accept_armed[i])
			continue;
		rc = io_accept(sh->io, sh->listeners[i], SHARD_UD(IO_OP_ACCEPT, 0, i));
		if (rc == 0)
			sh->accept_armed[i] = true;
		else if (rc != -EBUSY)
			shard_log(sh, IO_LOG_WARNING, "Cannot accept: %s", strerror(-rc));
	}
	if (!sh->timer_armed) {
		uint64_t ns = 1000000000ull / (uint64_t)sh->cfg.hz;
		if (io_timer(sh->io, ns, SHARD_UD(IO_OP_TIMER, 0, 0)) == 0)
			sh->timer_armed = true;
	}
}

void shard_start(struct shard *sh)
{
	sh->inst.last_ms = sh->now_ms;
	arm(sh);
	io_flush(sh->io);
}

/* ---- the step ---- */

void shard_complete(struct shard *sh, const struct io_cqe *cqe)
{
	unsigned op = SHARD_UD_OP(cqe->user_data);
	uint32_t slot = SHARD_UD_SLOT(cqe->user_data);
	struct conn *c;

	ASSERT(op == cqe->op);
	switch (op) {
	case IO_OP_ACCEPT: on_accept(sh, cqe); return;
	case IO_OP_TIMER: on_timer(sh); return;
	default: break;
	}
	c = slot < sh->conn_cap ? sh->conns[slot] : NULL;
	if (c == NULL || c->gen != SHARD_UD_GEN(cqe->user_data)) {
		/* Stale: its connection is gone. Its buffer still goes back. */
		if (cqe->flags & IO_F_BUFFER)
			io_buf_recycle(sh->io, cqe->buf);
		return;
	}
	switch (op) {
	case IO_OP_RECV: conn_on_recv(sh, c, cqe); break;
	case IO_OP_WRITEV: conn_on_write(sh, c, cqe); break;
	case IO_OP_CLOSE: on_close(sh, c); break;
	default: ASSERT_NOT_REACHED("shard: unknown completion");
	}
}

/* Services every queued connection; those refused by a full submission
 * queue stay queued for the next step. Returns true if any was serviced. */
static bool service_pending(struct shard *sh)
{
	struct conn *list = sh->pending, *retry = NULL;
	bool any = list != NULL;

	sh->pending = NULL;
	while (list != NULL) {
		struct conn *c = list;
		list = c->next_pending;
		c->flags &= ~CONN_F_QUEUED;
		if (!conn_service(sh, c)) {
			c->flags |= CONN_F_QUEUED;
			c->next_pending = retry;
			retry = c;
		}
	}
	/* Connections queued while servicing (none today) go first. */
	while (retry != NULL) {
		struct conn *c = retry;
		retry = c->next_pending;
		c->next_pending = sh->pending;
		sh->pending = c;
	}
	return any;
}

bool shard_step(struct shard *sh)
{
	struct io_cqe cqes[IO_REAP_MAX];
	struct xmsg *msgs[SHARD_MSGS_MAX];
	int n = io_reap(sh->io, cqes, IO_REAP_MAX), i;
	unsigned k, nm;
	bool work = n > 0;

	shard_clock(sh);
	for (i = 0; i < n; i++) {
		/* While frozen, and until what was deferred has run, every
		 * completion waits its turn. */
		if (route_frozen(sh) || sh->dcqe_n > 0)
			route_defer_cqe(sh, &cqes[i]);
		else
			shard_complete(sh, &cqes[i]);
	}
	nm = xshard_drain(&sh->x, msgs, SHARD_MSGS_MAX);
	for (k = 0; k < nm; k++)
		route_message(sh, msgs[k]);
	if (nm > 0 || route_run_deferred(sh))
		work = true;
	if (!route_frozen(sh)) {
		arm(sh);
		if (service_pending(sh))
			work = true;
	}
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
