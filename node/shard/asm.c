/* asm.c: see asm.h. The link's socket is run as migrate.c runs MIGRATE's:
 * one pipelined buffer written in chunks, one reply line read per
 * command, every step with a deadline the timer checks. */
#include "shard/asm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "io/io.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "shard/lock.h"
#include "shard/ud.h"
#include "shard/xshard.h"

static uint64_t ud(const struct asm_set *a, const struct asm_job *j, unsigned op)
{
	return ud_encode(op | UD_OP_ASM, a->gens[j->idx], j->idx);
}

void asm_init(struct asm_set *a, struct io *io, struct mem *mem, struct lock *lock,
	      struct cmd_env *env, unsigned nshards)
{
	memset(a, 0, sizeof(*a));
	a->io = io;
	a->mem = mem;
	a->lock = lock;
	a->env = env;
	a->nshards = nshards;
}

static void close_sock(struct asm_set *a, struct asm_job *j)
{
	if (j->sock < 0)
		return;
	(void)io_close(a->io, j->sock, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
	j->sock = -1;
	/* Its late completions are stale: a new generation. */
	a->gens[j->idx] = (a->gens[j->idx] + 1) & UD_GEN_MASK;
	j->writing = j->recv_armed = false;
}

static void sent_free(struct asm_set *a, struct asm_job *j)
{
	uint32_t i;

	for (i = 0; i < j->nsent; i++)
		mem_free(a->mem, j->sent[i].key);
	mem_free(a->mem, j->sent);
	mem_free(a->mem, j->index);
	j->sent = NULL;
	j->index = NULL;
	j->nsent = j->sent_cap = j->index_cap = 0;
}

static void job_free(struct asm_set *a, struct asm_job *j)
{
	ASSERT(a->jobs[j->idx] == j);
	close_sock(a, j);
	a->jobs[j->idx] = NULL;
	a->gens[j->idx] = (a->gens[j->idx] + 1) & UD_GEN_MASK;
	sent_free(a, j);
	mem_free(a->mem, j->out);
	mem_free(a->mem, j->nx);
	mem_free(a->mem, j);
}

void asm_free(struct asm_set *a)
{
	unsigned i;

	/* The process ends: the sockets go with it (no I/O is submitted
	 * any more). */
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		if (a->jobs[i] != NULL) {
			a->jobs[i]->sock = -1;
			job_free(a, a->jobs[i]);
		}
	}
}

bool asm_job_running(const struct asm_job *j)
{
	return j->state < ASM_SUCCESS;
}

bool asm_job_reusable(const struct asm_job *j)
{
	/* A finished job's socket closes on shard 0's step (asm_poll): its
	 * entry waits until then. */
	return j == NULL || (!asm_job_running(j) && j->sock < 0);
}

struct asm_job *asm_job_new(struct asm_set *a, bool exporting, int64_t now_ms)
{
	struct asm_job *j, *oldest = NULL;
	unsigned i;

	for (i = 0; i < ASM_JOBS_MAX && a->jobs[i] != NULL; i++)
		if (asm_job_reusable(a->jobs[i]) &&
		    (oldest == NULL || a->jobs[i]->utime_ms < oldest->utime_ms))
			oldest = a->jobs[i];
	if (i == ASM_JOBS_MAX) {
		if (oldest == NULL)
			return NULL;
		i = oldest->idx;
		job_free(a, oldest);
	}
	j = mem_calloc(a->mem, sizeof(*j));
	j->idx = i;
	j->seq = ++a->made;
	j->exporting = exporting;
	j->sock = -1;
	j->ctime_ms = j->utime_ms = j->ack_ms = now_ms;
	j->io_ms = now_ms;
	a->jobs[i] = j;
	return j;
}

static void start_write(struct asm_set *a, struct asm_job *j);

/* A finished job's link closes (at asm_poll); its buffer goes. */
static void linger_end(struct asm_set *a, struct asm_job *j)
{
	j->lingering = false;
	j->close_wanted = j->sock >= 0;
	mem_free(a->mem, j->out);
	mem_free(a->mem, j->nx);
	j->out = j->nx = NULL;
	j->out_len = j->out_off = j->out_cap = j->nx_len = j->nx_cap = 0;
}

void asm_job_finish(struct asm_set *a, struct asm_job *j, enum asm_state state, const char *msg)
{
	ASSERT(state >= ASM_SUCCESS);
	j->state = state;
	j->utime_ms = a->now_ms;
	j->fail_pending = j->switch_pending = false;
	snprintf(j->msg, sizeof(j->msg), "%s", msg);
	sent_free(a, j);
	if (j->sock >= 0 && !j->link_lost && asm_pending(j) > 0) {
		j->lingering = true;
		j->linger_until_ms = j->utime_ms + ASM_ACK_MS;
		j->flush_wanted = true;
		return;
	}
	linger_end(a, j);
}

void asm_slots(const struct asm_set *a, bool exporting, uint8_t *bits)
{
	unsigned i, b;

	memset(bits, 0, SLOTMIG_BITS);
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		const struct asm_job *j = a->jobs[i];
		if (j == NULL || !asm_job_running(j) || j->exporting != exporting)
			continue;
		for (b = 0; b < SLOTMIG_BITS; b++)
			bits[b] |= j->slots[b];
	}
}

/* ---- the link's buffer ---- */

static void out_put(struct asm_set *a, struct asm_job *j, const char *p, size_t n)
{
	if (j->nx_len + n > j->nx_cap) {
		size_t cap = j->nx_cap ? j->nx_cap : 4096;
		while (cap < j->nx_len + n)
			cap *= 2;
		j->nx = mem_realloc(a->mem, j->nx, cap);
		j->nx_cap = cap;
	}
	memcpy(j->nx + j->nx_len, p, n);
	j->nx_len += n;
}

void asm_out_cmd(struct asm_set *a, struct asm_job *j, int argc)
{
	char h[32];
	int hn = snprintf(h, sizeof(h), "*%d\r\n", argc);

	out_put(a, j, h, (size_t)hn);
	/* The wait for a reply starts now, if none was awaited. */
	if (j->got == j->want)
		j->ack_ms = a->now_ms;
	j->want++;
}

void asm_out_bulk(struct asm_set *a, struct asm_job *j, const char *p, size_t n)
{
	char h[32];
	int hn = snprintf(h, sizeof(h), "$%zu\r\n", n);

	out_put(a, j, h, (size_t)hn);
	out_put(a, j, p, n);
	out_put(a, j, "\r\n", 2);
}

static void start_write(struct asm_set *a, struct asm_job *j)
{
	size_t n;
	char *t;

	if (j->writing || j->sock < 0)
		return;
	if (j->out_off == j->out_len && j->nx_len > 0) {
		/* All of out is written: it takes what was appended. */
		t = j->out, j->out = j->nx, j->nx = t;
		n = j->out_cap, j->out_cap = j->nx_cap, j->nx_cap = n;
		j->out_len = j->nx_len;
		j->out_off = j->nx_len = 0;
	}
	n = j->out_len - j->out_off;
	if (n == 0)
		return;
	if (n > ASM_WRITE_CHUNK)
		n = ASM_WRITE_CHUNK;
	j->iov.iov_base = j->out + j->out_off;
	j->iov.iov_len = n;
	if (io_writev(a->io, j->sock, &j->iov, 1, ud(a, j, IO_OP_WRITEV)) == 0)
		j->writing = true; /* else the timer tries again */
}

static void arm_recv(struct asm_set *a, struct asm_job *j)
{
	if (j->recv_armed || j->sock < 0)
		return;
	if (io_recv(a->io, j->sock, ud(a, j, IO_OP_RECV)) == 0)
		j->recv_armed = true;
}

/* Shard 0's own paths (completions, the timer, asm_poll) only. */
static void flush_now(struct asm_set *a, struct asm_job *j)
{
	start_write(a, j);
	arm_recv(a, j);
}

void asm_flush(struct asm_set *a, struct asm_job *j)
{
	(void)a;
	j->flush_wanted = true;
}

void asm_job_connect(struct asm_set *a, struct asm_job *j, const char *host, uint16_t port)
{
	size_t n = strlen(host);

	ASSERT(j->exporting && j->sock < 0);
	if (n > ASM_HOST_MAX)
		n = ASM_HOST_MAX;
	memcpy(j->host, host, n);
	j->host[n] = '\0';
	j->port = port;
	j->state = ASM_CONNECTING;
	j->connecting = j->connect_wanted = true;
	j->io_ms = a->now_ms;
}

/* What commands asked of the link, submitted from shard 0's own step. */
static void submit_wanted(struct asm_set *a, struct asm_job *j)
{
	if (j->connect_wanted) {
		j->connect_wanted = false;
		if (io_connect(a->io, j->host, j->port, (uint64_t)ASM_TIMEOUT_MS * 1000000ull,
			       ud(a, j, IO_OP_CONNECT)) != 0)
			j->connecting = false; /* the timer fails the job */
	}
	if (j->close_wanted) {
		j->close_wanted = false;
		close_sock(a, j);
	}
	if (j->flush_wanted) {
		j->flush_wanted = false;
		flush_now(a, j);
	}
}

/* ---- the sent table ---- */

struct asm_sent *asm_sent_find(struct asm_job *j, const char *key, size_t klen, uint64_t khash)
{
	uint32_t mask = j->index_cap - 1, i;

	if (j->index_cap == 0)
		return NULL;
	for (i = (uint32_t)khash & mask; j->index[i] != 0; i = (i + 1) & mask) {
		struct asm_sent *s = &j->sent[j->index[i] - 1];
		if (s->khash == khash && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return s;
	}
	return NULL;
}

static void index_grow(struct asm_set *a, struct asm_job *j)
{
	uint32_t cap = j->index_cap ? j->index_cap * 2 : 1024, mask = cap - 1, e, i;

	mem_free(a->mem, j->index);
	j->index = mem_calloc(a->mem, cap * sizeof(*j->index));
	j->index_cap = cap;
	for (e = 0; e < j->nsent; e++) {
		for (i = (uint32_t)j->sent[e].khash & mask; j->index[i] != 0; i = (i + 1) & mask)
			;
		j->index[i] = e + 1;
	}
}

void asm_sent_put(struct asm_set *a, struct asm_job *j, const char *key, size_t klen,
		  uint64_t khash, uint64_t vhash)
{
	struct asm_sent *s = asm_sent_find(j, key, klen, khash);
	uint32_t mask, i;

	if (s != NULL) {
		s->vhash = vhash;
		s->live = true;
		return;
	}
	if (j->nsent == j->sent_cap) {
		j->sent_cap = j->sent_cap ? j->sent_cap * 2 : 256;
		j->sent = mem_realloc(a->mem, j->sent, j->sent_cap * sizeof(*j->sent));
	}
	if ((uint64_t)(j->nsent + 1) * 2 > j->index_cap)
		index_grow(a, j);
	s = &j->sent[j->nsent++];
	s->key = mem_alloc(a->mem, klen + 1);
	memcpy(s->key, key, klen);
	s->klen = klen;
	s->khash = khash;
	s->vhash = vhash;
	s->live = true;
	mask = j->index_cap - 1;
	for (i = (uint32_t)khash & mask; j->index[i] != 0; i = (i + 1) & mask)
		;
	j->index[i] = j->nsent;
}

/* ---- steps ---- */

static bool streaming(const struct asm_job *j)
{
	return j->exporting && !j->grant_wait &&
	       (j->state == ASM_SNAPSHOTTING || j->state == ASM_REPLICATING ||
		j->state == ASM_PAUSED);
}

bool asm_wants_step(const struct asm_set *a)
{
	unsigned i;

	if (a->tick)
		return true;
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		const struct asm_job *j = a->jobs[i];
		if (j == NULL || !asm_job_running(j))
			continue;
		if (j->fail_pending || j->switch_pending || (j->grant_wait && j->got == j->want))
			return true;
		if (streaming(j) && asm_pending(j) < ASM_OUT_HIGH &&
		    (!j->wait_acks || j->want - j->got <= ASM_CATCHUP_KEYS))
			return true;
	}
	return false;
}

/* With one shard there is no span: the step runs here, now. */
static void step_here(struct asm_set *a, const struct cmd *cmd, struct cmd_arg *argv)
{
	struct mem scratch_mem = { 0 };
	struct reply r = { .proto = 2 };
	struct obuf scratch;
	struct cmd_ctx ctx;

	obuf_init(&scratch, &scratch_mem);
	r.ob = &scratch;
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = a->env;
	ctx.ks = a->env->ks;
	ctx.r = &r;
	ctx.argv = argv;
	ctx.argc = 3;
	ctx.now_ms = a->env->clock->now_ms;
	ctx.authed = true;
	cmd_run(&ctx, cmd);
	obuf_free(&scratch);
}

bool asm_poll(struct asm_set *a)
{
	static const char *const words[3] = { "CLUSTER", "SYNCSLOTS", "STEP" };
	const struct cmd *cmd = &cmd_table[CMDID_CLUSTER_SYNCSLOTS];
	uint64_t mask[XSHARD_WORDS] = { 0 };
	struct cmd_arg argv[3];
	unsigned s;

	a->now_ms = a->env->clock->now_ms;
	for (s = 0; s < ASM_JOBS_MAX; s++)
		if (a->jobs[s] != NULL)
			submit_wanted(a, a->jobs[s]);
	if (a->step_inflight || !asm_wants_step(a))
		return false;
	for (s = 0; s < 3; s++)
		argv[s] = (struct cmd_arg){ .p = (char *)words[s], .len = strlen(words[s]) };
	a->step_inflight = true;
	a->tick = false;
	if (a->nshards == 1) {
		step_here(a, cmd, argv);
		return true;
	}
	for (s = 0; s < a->nshards; s++)
		mask[s / 64] |= 1ull << (s % 64);
	lock_span_start(a->lock, cmd, argv, 3, mask, UD_IDX_NONE, 0, 2);
	return true;
}

void asm_step_done(struct asm_set *a)
{
	a->step_inflight = false;
}

/* ---- completions ---- */

/* The link failed: the job fails at the next step, but one whose grant is
 * sent waits, paused, to see the new owner (or its pause to end). */
static void link_lost(struct asm_set *a, struct asm_job *j, const char *why)
{
	close_sock(a, j);
	j->link_lost = true;
	if (j->state == ASM_GRANTED)
		return;
	if (!j->fail_pending)
		snprintf(j->msg, sizeof(j->msg), "%s", why);
	j->fail_pending = true;
}

static void on_connect(struct asm_set *a, struct asm_job *j, const struct io_cqe *cqe)
{
	j->connecting = false;
	if (cqe->res < 0) {
		link_lost(a, j, "Failed to connect to the target node");
		return;
	}
	j->sock = cqe->res;
	j->state = ASM_READ_ESTABLISH;
	j->utime_ms = j->io_ms = a->now_ms;
	flush_now(a, j);
}

static void on_write(struct asm_set *a, struct asm_job *j, const struct io_cqe *cqe)
{
	j->writing = false;
	if (cqe->res <= 0) {
		link_lost(a, j, "Lost the connection to the target node");
		return;
	}
	j->out_off += (size_t)cqe->res;
	ASSERT(j->out_off <= j->out_len);
	j->io_ms = a->now_ms;
	start_write(a, j);
}

/* One reply line, without its CRLF. */
static void on_line(struct asm_set *a, struct asm_job *j)
{
	j->got++;
	j->ack_ms = j->io_ms = a->now_ms;
	if (j->line_len > 0 && j->line[0] == '-') {
		snprintf(j->msg, sizeof(j->msg), "Target node replied: %.*s",
			 (int)(j->line_len - 1), j->line + 1);
		j->fail_pending = true;
		return;
	}
	if (j->state == ASM_READ_ESTABLISH && j->got == j->establish_line) {
		j->state = ASM_SNAPSHOTTING;
		j->utime_ms = a->now_ms;
	}
	if (j->grant_line != 0 && j->got == j->grant_line)
		j->switch_pending = true;
}

static void on_bytes(struct asm_set *a, struct asm_job *j, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !j->fail_pending; i++) {
		if (p[i] == '\n') {
			if (j->line_skip || j->got >= j->want) {
				link_lost(a, j, "Unexpected reply from the target node");
				return;
			}
			if (j->line_len > 0 && j->line[j->line_len - 1] == '\r')
				j->line_len--;
			on_line(a, j);
			j->line_len = 0;
		} else if (j->line_len == ASM_LINE_MAX) {
			j->line_skip = true;
		} else {
			j->line[j->line_len++] = p[i];
		}
	}
}

static void on_recv(struct asm_set *a, struct asm_job *j, const struct io_cqe *cqe)
{
	bool more = (cqe->flags & IO_F_MORE) != 0;

	if (!more)
		j->recv_armed = false;
	if (cqe->res > 0) {
		on_bytes(a, j, io_buf(a->io, cqe->buf), (size_t)cqe->res);
		io_buf_recycle(a->io, cqe->buf);
	} else if ((cqe->res == 0 && !(cqe->flags & IO_F_SOCK_NONEMPTY)) ||
		   (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED)) {
		link_lost(a, j, "Lost the connection to the target node");
		return;
	}
	if (!more && j->sock >= 0)
		arm_recv(a, j);
}

/* A finished job's link writes its last bytes, reads nothing more. */
static void linger_complete(struct asm_set *a, struct asm_job *j, unsigned op,
			    const struct io_cqe *cqe)
{
	if (op == IO_OP_RECV) {
		if (cqe->flags & IO_F_BUFFER)
			io_buf_recycle(a->io, cqe->buf);
		if (!(cqe->flags & IO_F_MORE))
			j->recv_armed = false;
		return;
	}
	if (op != IO_OP_WRITEV)
		return;
	j->writing = false;
	if (cqe->res > 0)
		j->out_off += (size_t)cqe->res;
	if (cqe->res <= 0 || asm_pending(j) == 0)
		linger_end(a, j);
	else
		start_write(a, j);
}

void asm_complete(struct asm_set *a, const struct io_cqe *cqe)
{
	uint32_t i = ud_idx(cqe->user_data);
	unsigned op = ud_op(cqe->user_data) & ~UD_OP_ASM;
	struct asm_job *j = i < ASM_JOBS_MAX ? a->jobs[i] : NULL;

	ASSERT(op == cqe->op);
	a->now_ms = a->env->clock->now_ms;
	if (j != NULL && a->gens[i] == ud_gen(cqe->user_data) && j->lingering) {
		linger_complete(a, j, op, cqe);
		return;
	}
	if (j == NULL || a->gens[i] != ud_gen(cqe->user_data) || !asm_job_running(j)) {
		/* Stale: its buffer goes back, a socket it opened closes. */
		if (op == IO_OP_RECV && (cqe->flags & IO_F_BUFFER))
			io_buf_recycle(a->io, cqe->buf);
		if (op == IO_OP_CONNECT && cqe->res >= 0)
			(void)io_close(a->io, cqe->res, ud_encode(IO_OP_CLOSE, 0, UD_IDX_NONE));
		return;
	}
	switch (op) {
	case IO_OP_CONNECT: on_connect(a, j, cqe); break;
	case IO_OP_WRITEV: on_write(a, j, cqe); break;
	case IO_OP_RECV: on_recv(a, j, cqe); break;
	default: ASSERT_NOT_REACHED("asm: unknown completion");
	}
}

/* ---- the timer ---- */

static void export_cron(struct asm_set *a, struct asm_job *j, int64_t timeout_ms)
{
	bool waiting = j->connecting || j->writing || j->got < j->want;

	if (j->state == ASM_PAUSED || j->state == ASM_GRANTED) {
		if (a->now_ms > j->pause_end_ms && !j->fail_pending) {
			snprintf(j->msg, sizeof(j->msg), "%s",
				 j->state == ASM_GRANTED
					 ? "Unpaused before migration completed (migration may "
					   "have succeeded with lost writes)"
					 : "Timed out while paused");
			j->fail_pending = true;
		}
	}
	if (j->link_lost || j->sock < 0) {
		if (!j->connecting && !j->link_lost && a->now_ms - j->io_ms > timeout_ms)
			link_lost(a, j, "Failed to connect to the target node");
		return;
	}
	/* Writes may go on into the socket's buffer while the target reads
	 * nothing: the replies tell its progress. */
	if ((j->got < j->want && a->now_ms - j->ack_ms > timeout_ms) ||
	    (waiting && a->now_ms - j->io_ms > timeout_ms)) {
		link_lost(a, j, "Timed out waiting for the target node");
		return;
	}
	if (j->state >= ASM_SNAPSHOTTING && j->state < ASM_GRANTED &&
	    a->now_ms - j->last_ack_sent_ms >= ASM_ACK_MS) {
		j->last_ack_sent_ms = a->now_ms;
		asm_out_cmd(a, j, 3);
		asm_out_bulk(a, j, "CLUSTER", 7);
		asm_out_bulk(a, j, "SYNCSLOTS", 9);
		asm_out_bulk(a, j, "ACK", 3);
	}
	flush_now(a, j);
}

void asm_cron(struct asm_set *a, int64_t now_ms, int64_t timeout_ms)
{
	unsigned i;

	a->now_ms = now_ms;
	if (timeout_ms < ASM_TIMEOUT_MS)
		timeout_ms = ASM_TIMEOUT_MS;
	for (i = 0; i < ASM_JOBS_MAX; i++) {
		struct asm_job *j = a->jobs[i];
		if (j != NULL && j->lingering && now_ms > j->linger_until_ms)
			linger_end(a, j);
		if (j == NULL || !asm_job_running(j))
			continue;
		a->tick = true;
		if (j->exporting) {
			export_cron(a, j, timeout_ms);
		} else if (j->state == ASM_RECEIVING && now_ms - j->ack_ms > timeout_ms &&
			   !j->fail_pending) {
			snprintf(j->msg, sizeof(j->msg), "Timed out waiting for the source node");
			j->fail_pending = true;
		}
	}
}

const char *asm_state_name(enum asm_state s)
{
	static const char *const names[] = {
		[ASM_CONNECTING] = "connecting",
		[ASM_READ_ESTABLISH] = "reading-establish-response",
		[ASM_SNAPSHOTTING] = "snapshotting",
		[ASM_REPLICATING] = "replicating",
		[ASM_PAUSED] = "failover-paused",
		[ASM_GRANTED] = "failover-granted",
		[ASM_RECEIVING] = "receiving-snapshot",
		[ASM_CLEANING] = "cleaning-up",
		[ASM_SUCCESS] = "success",
		[ASM_FAILED] = "failed",
		[ASM_CANCELLED] = "cancelled",
	};

	ASSERT((unsigned)s < sizeof(names) / sizeof(names[0]));
	return names[s];
}
