/* asm.h: atomic slot migration (Valkey 9's CLUSTER MIGRATESLOTS), its jobs
 * and its link, on shard 0, without ever blocking it.
 *
 * An export job (on the source) connects to the target's client port and
 * writes one pipelined stream of commands on it, reading one reply line
 * per command: CLUSTER SYNCSLOTS ESTABLISH SOURCE <id> NAME <name>
 * SLOTSRANGE ..., then RESTORE key <abs ms> payload REPLACE ABSTTL (or DEL
 * key) for the slots' keys, CLUSTER SYNCSLOTS ACK every second, and last
 * CLUSTER SYNCSLOTS FAILOVER-GRANTED NAME <name>. An import job (on the
 * target) is made by ESTABLISH and ends with FAILOVER-GRANTED, a timeout
 * or FINISH.
 *
 * This module keeps the jobs and runs the link's socket; the work that
 * needs the keyspaces (scanning the slots, dumping keys, pausing the
 * clients, claiming the slots, deleting keys) is server/cmd_asm.c's: it
 * runs as a span holding every shard, CLUSTER SYNCSLOTS STEP, that
 * asm_poll() starts when a job has work and no step is in flight (its
 * connection is UD_IDX_NONE: no client can send it). Completions and the
 * timer only record what happened and ask for a step.
 *
 * Completions carry ud.h's encoding with UD_OP_ASM in the op, the job's
 * entry and generation. Memory: jobs and their buffers are charged to
 * shard 0's account.
 *
 * Threads: the commands run as spans on their client's shard, with shard 0
 * frozen; they may change the jobs but never submit I/O on shard 0's ring
 * nor read its clock. They ask (asm_job_connect, asm_flush, a finished
 * job's close) and asm_poll, on shard 0's own step, submits; their time is
 * a->now_ms, which each command sets from its own clock. */
#ifndef CAIRN_SHARD_ASM_H
#define CAIRN_SHARD_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cluster/slotmig.h"

struct cmd_env;
struct io;
struct io_cqe;
struct lock;
struct mem;

/* The op bit of the link's completions (ud.h's op field). */
#define UD_OP_ASM 0x20u
/* Jobs kept, running or finished (Valkey's cluster-slot-migration-log-max-len
 * is 1000 finished ones; cairn keeps the latest). */
#define ASM_JOBS_MAX 32
/* A reply line the link reads (longer ones fail the job). */
#define ASM_LINE_MAX 1023
/* A step stops adding to the link's buffer past this many bytes... */
#define ASM_STEP_BYTES (256u * 1024)
/* ... or after scanning this many buckets. */
#define ASM_STEP_BUCKETS 1024
/* Steps while writes are paused are this much larger. */
#define ASM_PAUSED_STEP_SCALE 8
/* No step runs while the link holds more than this unwritten. */
#define ASM_OUT_HIGH (1u << 20)
/* Bytes per write. */
#define ASM_WRITE_CHUNK (64u * 1024)
/* The source pauses writes once a pass over the slots sent at most this
 * many keys (the rest go while paused)... */
#define ASM_CATCHUP_KEYS 256
/* ... or after this many passes whatever they sent. */
#define ASM_PASSES_MAX 8
/* How long writes stay paused at most (Valkey: cluster-mf-timeout x 2). */
#define ASM_PAUSE_MS 10000
/* An ACK goes each second; a link silent this long fails the job (at
 * least; cluster-node-timeout when larger). */
#define ASM_ACK_MS 1000
#define ASM_TIMEOUT_MS 5000
/* The message a job shows. */
#define ASM_MSG_MAX 128
#define ASM_HOST_MAX 63

enum asm_state {
	/* export */
	ASM_CONNECTING = 0,
	ASM_READ_ESTABLISH, /* reading-establish-response */
	ASM_SNAPSHOTTING,   /* the first pass over the slots */
	ASM_REPLICATING,    /* passes that send what changed */
	ASM_PAUSED,         /* failover-paused: writes paused, the last pass */
	ASM_GRANTED,        /* failover-granted: waiting for the target's claim */
	/* import */
	ASM_RECEIVING, /* receiving-snapshot */
	ASM_CLEANING,  /* cleaning-up: deleting what it imported */
	/* terminal */
	ASM_SUCCESS,
	ASM_FAILED,
	ASM_CANCELLED,
};

/* A key the source sent: its name and what it held (a hash of its payload
 * and expiry); dead once its DEL went. */
struct asm_sent {
	char *key;
	size_t klen;
	uint64_t khash, vhash;
	bool live;
};

struct asm_job {
	uint32_t idx;
	uint64_t seq; /* the order jobs were made in */
	bool exporting;
	char name[BUS_ID_LEN + 1];
	char peer[BUS_ID_LEN + 1]; /* the target (export) or the source (import) */
	uint8_t slots[SLOTMIG_BITS];
	uint32_t nslots;
	enum asm_state state;
	int64_t ctime_ms, utime_ms, ack_ms;
	char msg[ASM_MSG_MAX];
	/* What a step must do (export: its stream; both: fail, finish). */
	bool fail_pending, switch_pending;
	/* import: the link's client */
	uint64_t client_id;
	/* export: the link */
	char host[ASM_HOST_MAX + 1];
	uint16_t port;
	int sock;
	bool connecting, writing, recv_armed, link_lost;
	/* What a command (on any shard's thread) asked of the link, which
	 * only shard 0 may submit: asm_poll does. */
	bool connect_wanted, flush_wanted, close_wanted;
	/* Finished, its last bytes (FINISH) still being written, until. */
	bool lingering;
	int64_t linger_until_ms;
	char *out;
	size_t out_len, out_off, out_cap;
	/* Commands are appended here, never to out while a write of it is in
	 * flight (io.h: its bytes must stay put); out takes them when it is
	 * all written. */
	char *nx;
	size_t nx_len, nx_cap;
	struct iovec iov;
	char line[ASM_LINE_MAX + 1];
	size_t line_len;
	bool line_skip;
	uint64_t want, got;      /* reply lines expected, read */
	uint64_t grant_line;     /* FAILOVER-GRANTED's reply (0: not sent) */
	uint64_t establish_line; /* ESTABLISH's (2 after an AUTH, else 1) */
	int64_t io_ms;           /* the link's last progress */
	int64_t last_ack_sent_ms;
	int64_t pause_end_ms;
	/* export: where the passes are */
	unsigned shard_cur;
	uint64_t cursor;
	bool del_phase;
	uint32_t del_pos;
	uint32_t pass;
	uint64_t pass_sent, keys_sent;
	bool wait_acks; /* between passes: the target has not caught up */
	/* The paused pass is sent: the grant waits for every reply before
	 * it, so that no error can come after it (the target checks only
	 * the key count). */
	bool grant_wait;
	struct asm_sent *sent;
	uint32_t nsent, sent_cap;
	uint32_t *index; /* open addressing: entry + 1, 0 empty */
	uint32_t index_cap;
};

struct asm_set {
	struct io *io;
	struct mem *mem;
	struct lock *lock;
	struct cmd_env *env;
	unsigned nshards;
	struct asm_job *jobs[ASM_JOBS_MAX];
	uint32_t gens[ASM_JOBS_MAX];
	bool step_inflight;
	bool tick;     /* the timer asks a step to look at every job */
	uint64_t seq;  /* names */
	uint64_t made; /* jobs made */
	int64_t now_ms;
};

void asm_init(struct asm_set *a, struct io *io, struct mem *mem, struct lock *lock,
	      struct cmd_env *env, unsigned nshards);
void asm_free(struct asm_set *a);
/* A new job (the oldest finished one makes room), or NULL when every entry
 * runs. */
struct asm_job *asm_job_new(struct asm_set *a, bool exporting, int64_t now_ms);
/* Whether a job still runs. */
bool asm_job_running(const struct asm_job *j);
/* Whether entry j (NULL: empty) may take a new job. */
bool asm_job_reusable(const struct asm_job *j);
/* Ends j in state (terminal) with msg; an export's link closes once what
 * it holds is written (FINISH), within ASM_ACK_MS. */
void asm_job_finish(struct asm_set *a, struct asm_job *j, enum asm_state state, const char *msg);
/* The union of the running jobs' slots, export or import. */
void asm_slots(const struct asm_set *a, bool exporting, uint8_t *bits);
/* Export: starts the link to host:port. */
void asm_job_connect(struct asm_set *a, struct asm_job *j, const char *host, uint16_t port);
/* Export: appends one command (argc arguments) to the link, one reply expected. */
void asm_out_cmd(struct asm_set *a, struct asm_job *j, int argc);
void asm_out_bulk(struct asm_set *a, struct asm_job *j, const char *p, size_t n);
/* Export: the bytes the link holds, not yet written. */
static inline size_t asm_pending(const struct asm_job *j)
{
	return j->out_len - j->out_off + j->nx_len;
}
/* Export: asks that what the link holds be written (at asm_poll). */
void asm_flush(struct asm_set *a, struct asm_job *j);
/* The sent table: the entry of key, or NULL; adds or updates one. */
struct asm_sent *asm_sent_find(struct asm_job *j, const char *key, size_t klen, uint64_t khash);
void asm_sent_put(struct asm_set *a, struct asm_job *j, const char *key, size_t klen,
		  uint64_t khash, uint64_t vhash);
/* Whether a job has work for a step now. */
bool asm_wants_step(const struct asm_set *a);
/* Starts CLUSTER SYNCSLOTS STEP (a span over every shard, or at once with
 * one shard) when a job wants one and none is in flight; true if it did. */
bool asm_poll(struct asm_set *a);
/* The step has run. */
void asm_step_done(struct asm_set *a);
/* A completion with UD_OP_ASM. */
void asm_complete(struct asm_set *a, const struct io_cqe *cqe);
/* The timer: the link's timeouts, ACKs. */
void asm_cron(struct asm_set *a, int64_t now_ms, int64_t timeout_ms);
/* The state's name, as GETSLOTMIGRATIONS shows it. */
const char *asm_state_name(enum asm_state s);

#endif
