/* migrate.c: see migrate.h. */
#include "shard/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "io/io.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/exec.h"
#include "shard/lock.h"
#include "shard/msg.h"
#include "shard/ud.h"
#include "shard/xshard.h"

/* Bytes of the pipelined buffer per write (Redis writes 64 KB chunks). */
#define MIGRATE_WRITE_CHUNK (64u * 1024)

static uint64_t ud(const struct migrate *m, const struct migrate_job *j, unsigned op)
{
	return ud_encode(op | UD_OP_MIGRATE, m->gens[j->idx], j->idx);
}

void migrate_init(struct migrate *m, struct io *io, struct mem *mem, struct conn_host *ch,
		  struct conns *conns, struct exec *exec, struct lock *lock, struct cmd_env *env)
{
	memset(m, 0, sizeof(*m));
	m->io = io;
	m->mem = mem;
	m->ch = ch;
	m->conns = conns;
	m->exec = exec;
	m->lock = lock;
	m->env = env;
	m->jobs = mem_calloc(mem, MIGRATE_JOBS_MAX * sizeof(*m->jobs));
	m->gens = mem_calloc(mem, MIGRATE_JOBS_MAX * sizeof(*m->gens));
}

static void job_free(struct migrate *m, struct migrate_job *j)
{
	ASSERT(m->jobs[j->idx] == j);
	m->jobs[j->idx] = NULL;
	m->gens[j->idx] = (m->gens[j->idx] + 1) & UD_GEN_MASK;
	m->njobs--;
	migrate_job_clear(m, j);
	mem_free(m->mem, j->keys);
	mem_free(m->mem, j->out);
	mem_free(m->mem, j->key_of_line);
	mem_free(m->mem, j->user);
	mem_free(m->mem, j->pass);
	if (j->argv_block != NULL)
		msg_unpack(m->mem, j->argv_block, j->argv, j->argc);
	mem_free(m->mem, j);
}

void migrate_free(struct migrate *m)
{
	uint32_t i;

	for (i = 0; i < m->jobs_hi; i++)
		if (m->jobs[i] != NULL)
			job_free(m, m->jobs[i]);
	mem_free(m->mem, m->jobs);
	mem_free(m->mem, m->gens);
	m->jobs = NULL;
	m->gens = NULL;
}

struct migrate_job *migrate_job_of(struct migrate *m, const struct conn *c)
{
	uint32_t i;

	if (m->njobs == 0)
		return NULL;
	for (i = 0; i < m->jobs_hi; i++) {
		struct migrate_job *j = m->jobs[i];
		if (j != NULL && j->conn_idx == c->idx && j->conn_gen == c->gen)
			return j;
	}
	return NULL;
}

struct migrate_job *migrate_job_new(struct migrate *m, struct cmd_ctx *ctx, const char *host,
				    size_t hlen, uint16_t port)
{
	struct migrate_job *j;
	uint32_t i;

	ASSERT(ctx->conn != NULL);
	ASSERT(hlen <= MIGRATE_HOST_MAX);
	/* A job of this client still running was let go by something else
	 * that ended its block: it answers no one now (no second half runs
	 * for it, nothing is deleted). */
	j = migrate_job_of(m, ctx->conn);
	if (j != NULL)
		j->conn_idx = UD_IDX_NONE;
	if (m->njobs >= MIGRATE_JOBS_MAX)
		return NULL;
	for (i = 0; m->jobs[i] != NULL; i++)
		;
	j = mem_calloc(m->mem, sizeof(*j));
	j->idx = i;
	j->conn_idx = ctx->conn->idx;
	j->conn_gen = ctx->conn->gen;
	memcpy(j->s.host, host, hlen);
	j->s.host[hlen] = '\0';
	j->s.port = port;
	j->s.sock = -1;
	j->s.last_dbid = -1;
	j->cmd = ctx->cmd;
	j->argc = ctx->argc;
	j->argv_block = msg_pack(m->mem, 0, ctx->argv, ctx->argc, &j->argv);
	m->jobs[i] = j;
	m->njobs++;
	if (i >= m->jobs_hi)
		m->jobs_hi = i + 1;
	return j;
}

void migrate_job_add(struct migrate *m, struct migrate_job *j, const char *key, size_t klen,
		     const char *payload, size_t plen, int64_t expire_ms)
{
	struct migrate_key *k;

	if (j->nkeys == j->keys_cap) {
		uint32_t cap = j->keys_cap ? j->keys_cap * 2 : 8;
		j->keys = mem_realloc(m->mem, j->keys, cap * sizeof(*j->keys));
		j->keys_cap = cap;
	}
	k = &j->keys[j->nkeys++];
	memset(k, 0, sizeof(*k));
	k->key = mem_alloc(m->mem, klen + 1);
	memcpy(k->key, key, klen);
	k->klen = klen;
	if (payload != NULL) {
		k->payload = mem_alloc(m->mem, plen + 1);
		memcpy(k->payload, payload, plen);
		k->plen = plen;
	}
	k->expire_ms = expire_ms;
}

static char *dup_bytes(struct mem *mem, const char *p, size_t n)
{
	char *d = mem_alloc(mem, n + 1);

	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

void migrate_job_auth(struct migrate *m, struct migrate_job *j, const char *user, size_t ulen,
		      const char *pass, size_t plen)
{
	ASSERT(j->pass == NULL);
	if (user != NULL) {
		j->user = dup_bytes(m->mem, user, ulen);
		j->user_len = ulen;
	}
	j->pass = dup_bytes(m->mem, pass, plen);
	j->pass_len = plen;
}

void migrate_job_keep(struct migrate *m, struct migrate_job *j, const uint32_t *keep, uint32_t n)
{
	uint32_t i, o = 0, w = 0;

	for (i = 0; i < j->nkeys; i++) {
		if (o < n && keep[o] == i) {
			j->keys[w++] = j->keys[i];
			o++;
			continue;
		}
		mem_free(m->mem, j->keys[i].key);
		mem_free(m->mem, j->keys[i].payload);
	}
	ASSERT(o == n && w == n);
	j->nkeys = n;
}

void migrate_job_refresh(struct migrate *m, struct migrate_job *j, uint32_t i, const char *payload,
			 size_t plen, int64_t expire_ms)
{
	struct migrate_key *k = &j->keys[i];

	ASSERT(i < j->nkeys);
	mem_free(m->mem, k->payload);
	k->payload = payload != NULL ? dup_bytes(m->mem, payload, plen) : NULL;
	k->plen = payload != NULL ? plen : 0;
	k->expire_ms = expire_ms;
}

void migrate_job_clear(struct migrate *m, struct migrate_job *j)
{
	uint32_t i;

	for (i = 0; i < j->nkeys; i++) {
		mem_free(m->mem, j->keys[i].key);
		mem_free(m->mem, j->keys[i].payload);
	}
	j->nkeys = 0;
}

/* ---- the pipelined buffer ---- */

static void out_put(struct migrate *m, struct migrate_job *j, const char *p, size_t n)
{
	if (j->out_len + n > j->out_cap) {
		size_t cap = j->out_cap ? j->out_cap : 4096;
		while (cap < j->out_len + n)
			cap *= 2;
		j->out = mem_realloc(m->mem, j->out, cap);
		j->out_cap = cap;
	}
	memcpy(j->out + j->out_len, p, n);
	j->out_len += n;
}

static void out_bulk(struct migrate *m, struct migrate_job *j, const char *p, size_t n)
{
	char h[32];
	int hn = snprintf(h, sizeof(h), "$%zu\r\n", n);

	out_put(m, j, h, (size_t)hn);
	out_put(m, j, p, n);
	out_put(m, j, "\r\n", 2);
}

static void out_cmd(struct migrate *m, struct migrate_job *j, int argc, uint32_t line_key)
{
	char h[32];
	int hn = snprintf(h, sizeof(h), "*%d\r\n", argc);

	out_put(m, j, h, (size_t)hn);
	j->key_of_line = mem_realloc(m->mem, j->key_of_line, (j->want + 1) * sizeof(uint32_t));
	j->key_of_line[j->want++] = line_key;
}

static void out_restore(struct migrate *m, struct migrate_job *j, uint32_t i, int64_t now_ms)
{
	const struct migrate_key *k = &j->keys[i];
	long long ttl = 0;
	char t[32];
	int tn;

	if (k->payload == NULL) {
		/* Gone meanwhile: the target forgets it too (ASKING first on a
		 * node importing the slot). */
		if (j->cluster) {
			out_cmd(m, j, 1, UINT32_MAX);
			out_bulk(m, j, "ASKING", 6);
		}
		out_cmd(m, j, 2, i);
		out_bulk(m, j, "DEL", 3);
		out_bulk(m, j, k->key, k->klen);
		return;
	}
	if (k->expire_ms >= 0) {
		ttl = k->expire_ms - now_ms;
		if (ttl < 1)
			ttl = 1;
	}
	tn = snprintf(t, sizeof(t), "%lld", ttl);
	out_cmd(m, j, (j->replace || j->rounds > 1) ? 5 : 4, i);
	if (j->cluster)
		out_bulk(m, j, "RESTORE-ASKING", 14);
	else
		out_bulk(m, j, "RESTORE", 7);
	out_bulk(m, j, k->key, k->klen);
	out_bulk(m, j, t, (size_t)tn);
	out_bulk(m, j, k->payload, k->plen);
	/* A later round replaces what an earlier one put there. */
	if (j->replace || j->rounds > 1)
		out_bulk(m, j, "REPLACE", 7);
}

/* The round's commands, as Redis's migrateCommand builds them. */
static void build(struct migrate *m, struct migrate_job *j)
{
	uint32_t i;
	char d[32];
	int dn;

	j->out_len = j->out_off = 0;
	j->want = j->got = j->keys_got = 0;
	j->line_len = 0;
	j->line_skip = false;
	j->target_err = j->pre_err = false;
	j->err[0] = '\0';
	j->sent_select = false;
	if (j->pass != NULL) {
		out_cmd(m, j, j->user != NULL ? 3 : 2, UINT32_MAX);
		out_bulk(m, j, "AUTH", 4);
		if (j->user != NULL)
			out_bulk(m, j, j->user, j->user_len);
		out_bulk(m, j, j->pass, j->pass_len);
	}
	if (j->s.last_dbid != j->dbid) {
		dn = snprintf(d, sizeof(d), "%lld", j->dbid);
		out_cmd(m, j, 2, UINT32_MAX);
		out_bulk(m, j, "SELECT", 6);
		out_bulk(m, j, d, (size_t)dn);
		j->sent_select = true;
	}
	for (i = 0; i < j->nkeys; i++) {
		j->keys[i].acked = false;
		out_restore(m, j, i, m->now_ms);
	}
}

/* ---- the socket ---- */

static void close_sock(struct migrate *m, struct migrate_job *j)
{
	if (j->s.sock < 0)
		return;
	/* Its late completions are stale: a new generation. */
	(void)io_close(m->io, j->s.sock, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
	j->s.sock = -1;
	j->s.last_dbid = -1;
	m->gens[j->idx] = (m->gens[j->idx] + 1) & UD_GEN_MASK;
	j->writing = j->recv_armed = false;
}

/* An idle cached socket to j's target, taken out of the cache. */
static bool cache_take(struct migrate *m, struct migrate_job *j)
{
	unsigned i;

	for (i = 0; i < m->ncached; i++) {
		struct migrate_sock *s = &m->cache[i];
		if (s->port == j->s.port && strcmp(s->host, j->s.host) == 0) {
			j->s = *s;
			m->cache[i] = m->cache[--m->ncached];
			return true;
		}
	}
	return false;
}

/* Gives a sound socket back to the cache (or closes it: the cache is full,
 * or holds one to that target already). */
static void cache_put(struct migrate *m, struct migrate_job *j)
{
	unsigned i;

	if (j->s.sock < 0)
		return;
	for (i = 0; i < m->ncached; i++)
		if (m->cache[i].port == j->s.port && strcmp(m->cache[i].host, j->s.host) == 0)
			break;
	if (i < m->ncached || m->ncached == MIGRATE_CACHE_MAX || j->recv_armed || j->writing) {
		close_sock(m, j);
		return;
	}
	j->s.last_ms = m->now_ms;
	m->cache[m->ncached++] = j->s;
	j->s.sock = -1;
}

static void arm_deadline(struct migrate *m, struct migrate_job *j)
{
	j->deadline_ms = m->now_ms + j->timeout_ms;
}

static void start_write(struct migrate *m, struct migrate_job *j)
{
	size_t n = j->out_len - j->out_off;

	if (j->writing || n == 0)
		return;
	if (n > MIGRATE_WRITE_CHUNK)
		n = MIGRATE_WRITE_CHUNK;
	j->iov.iov_base = j->out + j->out_off;
	j->iov.iov_len = n;
	if (io_writev(m->io, j->s.sock, &j->iov, 1, ud(m, j, IO_OP_WRITEV)) == 0)
		j->writing = true; /* else the cron tries again */
}

static void arm_recv(struct migrate *m, struct migrate_job *j)
{
	if (j->recv_armed)
		return;
	if (io_recv(m->io, j->s.sock, ud(m, j, IO_OP_RECV)) == 0)
		j->recv_armed = true; /* else the cron tries again */
}

static void connect_to(struct migrate *m, struct migrate_job *j)
{
	j->from_cache = false;
	j->connecting = true;
	arm_deadline(m, j);
	if (io_connect(m->io, j->s.host, j->s.port, (uint64_t)j->timeout_ms * 1000000ull,
		       ud(m, j, IO_OP_CONNECT)) != 0)
		j->connecting = false; /* the queue is full: the cron tries again */
}

/* Sends the round on the socket j has. */
static void send_round(struct migrate *m, struct migrate_job *j)
{
	build(m, j);
	arm_deadline(m, j);
	start_write(m, j);
	arm_recv(m, j);
}

static void start_round(struct migrate *m, struct migrate_job *j)
{
	j->result = MIGRATE_RUNNING;
	if (j->s.sock < 0 && cache_take(m, j))
		j->from_cache = true;
	if (j->s.sock < 0) {
		connect_to(m, j);
		return;
	}
	send_round(m, j);
}

/* ---- the end of a round: the client's MIGRATE runs again ---- */

static bool closing(const struct conn *c)
{
	return (c->flags & (CONN_F_CLOSE_ASAP | CONN_F_CLOSE_NOW | CONN_F_CLOSING)) != 0;
}

/* A job whose client has its answer is freed once no operation of its
 * socket is in flight; a sound socket goes to the cache then. */
static void maybe_free(struct migrate *m, struct migrate_job *j)
{
	if (j->conn_idx != UD_IDX_NONE || j->connecting || j->writing || j->recv_armed)
		return;
	if (j->result == MIGRATE_OK && !j->closing)
		cache_put(m, j);
	else
		close_sock(m, j);
	job_free(m, j);
}

static void rerun_ctx(struct migrate *m, struct migrate_job *j, struct conn *c, struct reply *r,
		      struct cmd_ctx *ctx)
{
	*r = (struct reply){ .ob = &c->out, .proto = c->proto, .es = m->ch->es };
	memset(ctx, 0, sizeof(*ctx));
	ctx->env = m->env;
	ctx->conn = c;
	ctx->ks = m->env->ks;
	ctx->r = r;
	ctx->argv = j->argv;
	ctx->argc = j->argc;
	ctx->now_ms = m->env->clock->now_ms;
	ctx->authed = true; /* checked when it was parsed */
	ctx->no_touch = (c->flags & CONN_F_NO_TOUCH) != 0;
	ctx->client_id = c->id;
}

/* The round is over (j->result): the client's MIGRATE runs again once the
 * completion (or the cron) that ended it is done with the job (settle). */
static void finish(struct migrate *m, struct migrate_job *j)
{
	(void)m;
	ASSERT(j->result != MIGRATE_RUNNING);
	j->finished = true;
}

/* A finished round's MIGRATE runs again, here or holding its keys'
 * shards, and answers (its second half may start another round, or end
 * the job). A client gone meanwhile gets nothing, and nothing is
 * deleted. */
static void rerun(struct migrate *m, struct migrate_job *j)
{
	struct conn *c = conns_get(m->conns, j->conn_idx, j->conn_gen);
	uint64_t mask[XSHARD_WORDS] = { 0 };
	unsigned self = m->env->self, i;
	struct cmd_ctx ctx;
	struct reply r;
	bool others = false;

	ASSERT(j->result != MIGRATE_RUNNING);
	j->finished = false;
	if (c == NULL || closing(c) || !(c->flags & CONN_F_BLOCKED)) {
		j->conn_idx = UD_IDX_NONE;
		maybe_free(m, j);
		return;
	}
	rerun_ctx(m, j, c, &r, &ctx);
	exec_shards(m->exec, &ctx, j->cmd, j->argv, j->argc, mask);
	mask[self / 64] &= ~(1ull << (self % 64));
	for (i = 0; i < XSHARD_WORDS; i++)
		others |= mask[i] != 0;
	if (!others) {
		cmd_run(&ctx, j->cmd);
		conn_check_output_limit(m->ch, c);
		conn_pend(m->ch, c);
		return;
	}
	c->flags |= CONN_F_WAIT_LOCKS;
	lock_span_start(m->lock, j->cmd, j->argv, j->argc, mask, c->idx, c->gen, c->proto);
}

/* The round failed: the socket closes; the round goes again once on a new
 * socket when Redis would retry (not a timeout, no RESTORE reply read). */
static void fail(struct migrate *m, struct migrate_job *j, enum migrate_result why, bool timeout)
{
	close_sock(m, j);
	j->closing = true;
	if (!timeout && !j->retried && j->keys_got == 0 && why != MIGRATE_ERR_CONNECT) {
		j->retried = true;
		j->closing = false;
		connect_to(m, j);
		return;
	}
	j->result = why;
	finish(m, j);
}

/* ---- completions ---- */

static void on_connect(struct migrate *m, struct migrate_job *j, const struct io_cqe *cqe)
{
	j->connecting = false;
	if (j->conn_idx == UD_IDX_NONE) {
		if (cqe->res >= 0)
			j->s.sock = cqe->res;
		maybe_free(m, j);
		return;
	}
	if (cqe->res < 0) {
		/* Redis's non-blocking connect finds a refused (or unreachable)
		 * socket writable, and its first write fails: only a timeout,
		 * or an address it cannot resolve, is a connect error there. */
		j->result = cqe->res == -ETIMEDOUT || cqe->res == -EINVAL ? MIGRATE_ERR_CONNECT
									  : MIGRATE_ERR_WRITE;
		j->closing = true;
		finish(m, j);
		return;
	}
	j->s.sock = cqe->res;
	j->s.last_dbid = -1;
	send_round(m, j);
}

static void on_write(struct migrate *m, struct migrate_job *j, const struct io_cqe *cqe)
{
	j->writing = false;
	if (j->result != MIGRATE_RUNNING) {
		maybe_free(m, j);
		return;
	}
	if (cqe->res <= 0) {
		fail(m, j, MIGRATE_ERR_WRITE, false);
		return;
	}
	j->out_off += (size_t)cqe->res;
	ASSERT(j->out_off <= j->out_len);
	arm_deadline(m, j);
	start_write(m, j);
}

/* One reply line (without its CRLF). As Redis's migrateCommand: an error
 * of AUTH or SELECT fails every key after it; the first error is the one
 * the client sees. */
static void on_line(struct migrate_job *j)
{
	bool err = j->line_len > 0 && j->line[0] == '-';
	uint32_t k;

	ASSERT(j->got < j->want);
	k = j->key_of_line[j->got++];
	if (err && !j->target_err) {
		j->target_err = true;
		memcpy(j->err, j->line + 1, j->line_len - 1);
		j->err[j->line_len - 1] = '\0';
		j->s.last_dbid = -1;
	}
	if (k == UINT32_MAX) {
		j->pre_err |= err;
		return;
	}
	j->keys_got++;
	j->keys[k].acked = !err && !j->pre_err;
}

/* Splits what arrived into lines; false once the round has failed. */
static bool on_bytes(struct migrate *m, struct migrate_job *j, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && j->got < j->want; i++) {
		char ch = p[i];
		if (ch == '\n') {
			if (j->line_skip) {
				fail(m, j, MIGRATE_ERR_READ, false);
				return false;
			}
			if (j->line_len > 0 && j->line[j->line_len - 1] == '\r')
				j->line_len--;
			on_line(j);
			j->line_len = 0;
			continue;
		}
		if (j->line_len == MIGRATE_LINE_MAX)
			j->line_skip = true;
		else
			j->line[j->line_len++] = ch;
	}
	return true;
}

static void round_read(struct migrate *m, struct migrate_job *j)
{
	j->result = MIGRATE_OK;
	if (!j->target_err)
		j->s.last_dbid = j->dbid;
	/* The socket is sound: its recv ends, and it may be cached then. */
	if (j->recv_armed)
		(void)io_recv_stop(m->io, j->s.sock);
	finish(m, j);
}

/* Runs the MIGRATE of job j (entry i) again if its round finished; the
 * handlers above may have freed it (no job is created meanwhile, so the
 * entry still holding j means j lives). */
static void settle(struct migrate *m, uint32_t i, struct migrate_job *j)
{
	if (m->jobs[i] == j && j->finished)
		rerun(m, j);
}

static void on_recv(struct migrate *m, struct migrate_job *j, const struct io_cqe *cqe)
{
	bool more = (cqe->flags & IO_F_MORE) != 0, ok = true;

	if (!more)
		j->recv_armed = false;
	if (cqe->res > 0) {
		if (j->result == MIGRATE_RUNNING)
			ok = on_bytes(m, j, io_buf(m->io, cqe->buf), (size_t)cqe->res);
		io_buf_recycle(m->io, cqe->buf);
		if (ok && j->result == MIGRATE_RUNNING) {
			j->zero_reads = 0;
			arm_deadline(m, j);
			if (j->got == j->want)
				round_read(m, j);
		}
	} else if (j->result == MIGRATE_RUNNING && cqe->res == 0 &&
		   (!(cqe->flags & IO_F_SOCK_NONEMPTY) || ++j->zero_reads > 1)) {
		fail(m, j, MIGRATE_ERR_READ, false);
		return;
	} else if (j->result == MIGRATE_RUNNING && cqe->res < 0 && cqe->res != -ENOBUFS &&
		   cqe->res != -ECANCELED) {
		fail(m, j, MIGRATE_ERR_READ, false);
		return;
	}
	if (j->result != MIGRATE_RUNNING) {
		maybe_free(m, j);
		return;
	}
	if (!more && j->s.sock >= 0)
		arm_recv(m, j);
}

void migrate_complete(struct migrate *m, const struct io_cqe *cqe)
{
	uint32_t i = ud_idx(cqe->user_data);
	unsigned op = ud_op(cqe->user_data) & ~UD_OP_MIGRATE;
	struct migrate_job *j = i < MIGRATE_JOBS_MAX ? m->jobs[i] : NULL;

	ASSERT(op == cqe->op);
	m->now_ms = m->env->clock->now_ms;
	if (j == NULL || m->gens[i] != ud_gen(cqe->user_data)) {
		/* Stale: its buffer goes back, a socket it opened closes. */
		if (op == IO_OP_RECV && (cqe->flags & IO_F_BUFFER))
			io_buf_recycle(m->io, cqe->buf);
		if (op == IO_OP_CONNECT && cqe->res >= 0)
			(void)io_close(m->io, cqe->res, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
		return;
	}
	switch (op) {
	case IO_OP_CONNECT: on_connect(m, j, cqe); break;
	case IO_OP_WRITEV: on_write(m, j, cqe); break;
	case IO_OP_RECV: on_recv(m, j, cqe); break;
	default: ASSERT_NOT_REACHED("migrate: unknown completion");
	}
	settle(m, i, j);
}

/* ---- the client's side ---- */

void migrate_job_go(struct migrate *m, struct migrate_job *j, struct cmd_ctx *ctx)
{
	struct conn *c = ctx->conn;

	ASSERT(c != NULL && c->idx == j->conn_idx && c->gen == j->conn_gen);
	ASSERT(j->nkeys > 0);
	m->now_ms = m->env->clock->now_ms;
	if (!(c->flags & CONN_F_BLOCKED))
		conn_block(m->ch, c, 0); /* the timeouts are the job's */
	ctx->blocked = true;
	j->retried = false;
	j->closing = false;
	j->rounds++;
	start_round(m, j);
}

void migrate_job_end(struct migrate *m, struct migrate_job *j, struct cmd_ctx *ctx)
{
	struct conn *c = ctx->conn;

	ASSERT(c != NULL && c->idx == j->conn_idx && c->gen == j->conn_gen);
	ASSERT(c->flags & CONN_F_BLOCKED);
	conn_unblock(m->ch, c);
	j->conn_idx = UD_IDX_NONE;
	maybe_free(m, j);
}

/* A step that has waited past its timeout fails the round. */
static void job_cron(struct migrate *m, struct migrate_job *j)
{
	if (j->result != MIGRATE_RUNNING) {
		/* Its re-run waits for locks: a client gone meanwhile never
		 * runs it (its span runs without it), so the job ends here. */
		if (!j->finished && j->conn_idx != UD_IDX_NONE &&
		    conns_get(m->conns, j->conn_idx, j->conn_gen) == NULL) {
			j->conn_idx = UD_IDX_NONE;
			maybe_free(m, j);
		}
		return;
	}
	if (j->s.sock < 0) {
		/* io_connect's own timeout ends a connect; a full queue is
		 * tried again here. */
		if (!j->connecting)
			connect_to(m, j);
		return;
	}
	if (j->out_off < j->out_len && !j->writing)
		start_write(m, j);
	if (!j->recv_armed)
		arm_recv(m, j);
	if (m->now_ms < j->deadline_ms)
		return;
	fail(m, j, j->out_off < j->out_len ? MIGRATE_ERR_WRITE : MIGRATE_ERR_READ, true);
}

void migrate_cron(struct migrate *m, int64_t now_ms)
{
	uint32_t i;

	m->now_ms = now_ms;
	for (i = 0; i < m->ncached;) {
		if (now_ms - m->cache[i].last_ms > MIGRATE_CACHE_IDLE_MS) {
			(void)io_close(m->io, m->cache[i].sock,
				       ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
			m->cache[i] = m->cache[--m->ncached];
			continue;
		}
		i++;
	}
	for (i = 0; i < m->jobs_hi && m->njobs > 0; i++) {
		struct migrate_job *j = m->jobs[i];
		if (j != NULL) {
			job_cron(m, j);
			settle(m, i, j);
		}
	}
}

/* ---- keys MIGRATE deleted ---- */

/* A fixed seed: the ring is compared only with itself. */
#define MIGRATE_GONE_SEED 0x6d696772617465ull

uint64_t migrate_gone_seq(const struct migrate *owner)
{
	return owner->gone_seq;
}

void migrate_gone_add(struct migrate *owner, const char *key, size_t klen, const char *host,
		      uint16_t port)
{
	struct migrate_gone *g = &owner->gone[owner->gone_seq % MIGRATE_GONE_MAX];

	ASSERT(strlen(host) <= MIGRATE_HOST_MAX);
	g->hash = hash_bytes(key, klen, MIGRATE_GONE_SEED);
	g->klen = klen;
	g->port = port;
	strcpy(g->host, host);
	g->seq = ++owner->gone_seq;
}

bool migrate_gone_since(const struct migrate *owner, const char *key, size_t klen, const char *host,
			uint16_t port, uint64_t seq)
{
	uint64_t h = hash_bytes(key, klen, MIGRATE_GONE_SEED), i;

	ASSERT(seq <= owner->gone_seq);
	if (owner->gone_seq - seq > MIGRATE_GONE_MAX)
		return false;
	for (i = seq; i < owner->gone_seq; i++) {
		const struct migrate_gone *g = &owner->gone[i % MIGRATE_GONE_MAX];
		if (g->hash == h && g->klen == klen && g->port == port &&
		    strcmp(g->host, host) == 0)
			return true;
	}
	return false;
}
