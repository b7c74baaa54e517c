/* migrate.h: MIGRATE's network side, on a shard, without ever blocking it.
 *
 * MIGRATE (server/cmd_migrate.c) runs in two halves around a job of this
 * module. The first half runs on its client's shard holding the shards of
 * its keys: it dumps them (their payloads and TTLs go into the job), blocks
 * its client (conn_block) and starts the job. The job takes a socket to
 * host:port (the shard's cache of idle sockets, or io_connect), writes one
 * pipelined buffer, as Redis's migrateCommand does (AUTH or AUTH2, SELECT
 * when the socket's last db differs, then one RESTORE-ASKING in cluster
 * mode or RESTORE per key, with REPLACE if asked), and reads one reply line
 * per command. Nothing is deleted meanwhile: the keys stay readable and
 * writable on this node. When the job has every reply (or failed), the
 * client's MIGRATE runs again (a re-run, as a blocked pop's: here, or as a
 * span holding its keys' shards), and the second half deletes each key the
 * target acknowledged, if it still holds what was sent; a key written (or
 * deleted) meanwhile goes again in another round of the same job (RESTORE
 * with REPLACE, or DEL), so that no write acknowledged to another client
 * during the wait is lost. Then the client gets its answer.
 *
 * Timeouts: every step (connect, each write, each reply) has MIGRATE's
 * timeout, checked by the shard's timer (migrate_cron). A failure closes
 * the socket; one that comes before any RESTORE reply on a cached socket,
 * and is not a timeout, tries once more on a new socket (Redis's retry).
 *
 * The cache: at most MIGRATE_CACHE_MAX idle sockets by "host:port", each
 * closed after MIGRATE_CACHE_IDLE_MS unused (INFO's
 * migrate_cached_sockets). A job owns its socket while it runs; two jobs to
 * one target use two sockets.
 *
 * Completions carry ud.h's encoding with UD_OP_MIGRATE in the op, the job's
 * entry and generation. Memory: jobs, their buffers and the cache are
 * charged to the shard's account. */
#ifndef CAIRN_SHARD_MIGRATE_H
#define CAIRN_SHARD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct cmd;
struct cmd_arg;
struct cmd_ctx;
struct cmd_env;
struct conn;
struct conn_host;
struct conns;
struct exec;
struct io;
struct io_cqe;
struct lock;
struct mem;

/* The op bit of a migrate socket's completions (ud.h's op field). */
#define UD_OP_MIGRATE 0x40u
/* Jobs a shard runs at once (one per blocked client). */
#define MIGRATE_JOBS_MAX 1024
/* Idle sockets a shard caches (Redis's MIGRATE_SOCKET_CACHE_ITEMS). */
#define MIGRATE_CACHE_MAX 64
/* An idle cached socket closes after this (Redis's MIGRATE_SOCKET_CACHE_TTL). */
#define MIGRATE_CACHE_IDLE_MS 10000
/* A reply line, as Redis reads it (buf of 1024 with its NUL). */
#define MIGRATE_LINE_MAX 1023
/* host as MIGRATE names it: longer ones cannot be numeric addresses. */
#define MIGRATE_HOST_MAX 63
/* Keys a shard remembers MIGRATE deleted (and where they went). */
#define MIGRATE_GONE_MAX 256
/* The longest timeout a step waits (Redis's aeWait takes an int of ms). */
#define MIGRATE_TIMEOUT_MS_MAX 2147483647LL
/* Rounds of one MIGRATE: keys written meanwhile go again, this often. */
#define MIGRATE_ROUNDS_MAX 8

enum migrate_result {
	MIGRATE_RUNNING = 0,
	MIGRATE_OK,          /* every reply read (some may be errors) */
	MIGRATE_ERR_CONNECT, /* IOERR ... connecting to the client */
	MIGRATE_ERR_READ,    /* IOERR ... reading to target instance */
	MIGRATE_ERR_WRITE,   /* IOERR ... writing to target instance */
};

/* One key of a round. */
struct migrate_key {
	char *key;
	size_t klen;
	char *payload; /* NULL: the key is gone, the target gets DEL */
	size_t plen;
	int64_t expire_ms; /* absolute, or -1 */
	bool acked;        /* the target's reply was not an error */
	uint64_t gone_seq; /* its owner's migrate_gone_seq() when it was dumped */
};

/* A key a MIGRATE deleted from this shard: its hash, its target. */
struct migrate_gone {
	uint64_t hash, seq;
	size_t klen;
	uint16_t port;
	char host[MIGRATE_HOST_MAX + 1];
};

struct migrate_sock {
	char host[MIGRATE_HOST_MAX + 1];
	uint16_t port;
	int sock;
	long long last_dbid; /* -1: unknown (SELECT is sent) */
	int64_t last_ms;
};

struct migrate_job {
	uint32_t idx;
	uint32_t conn_idx, conn_gen;
	struct migrate_sock s; /* the socket (s.sock -1 while there is none) */
	bool copy, replace, cluster;
	char *user, *pass; /* AUTH2 user pass, AUTH pass (user NULL) */
	size_t user_len, pass_len;
	long long dbid, timeout_ms;
	int rounds;
	/* The request, copied, for the re-run. */
	const struct cmd *cmd;
	struct cmd_arg *argv;
	int argc;
	void *argv_block;
	/* This round's keys. */
	struct migrate_key *keys;
	uint32_t nkeys, keys_cap;
	/* I/O. */
	enum migrate_result result;
	bool finished; /* the round is over: its MIGRATE runs again */
	bool from_cache, retried, connecting, writing, recv_armed, closing, sent_select;
	uint8_t zero_reads;
	int64_t deadline_ms;
	char *out;
	size_t out_len, out_off, out_cap;
	struct iovec iov;
	char line[MIGRATE_LINE_MAX + 1];
	size_t line_len;
	bool line_skip;                 /* the line is too long: an I/O error at its end */
	uint32_t want, got, keys_got;   /* reply lines */
	uint32_t *key_of_line;          /* each line's key, or UINT32_MAX (AUTH, SELECT, ASKING) */
	char err[MIGRATE_LINE_MAX + 1]; /* the target's first error, without '-' */
	bool target_err, pre_err;       /* pre_err: AUTH's or SELECT's */
};

struct migrate {
	struct io *io;
	struct mem *mem;
	struct conn_host *ch;
	struct conns *conns;
	struct exec *exec;
	struct lock *lock;
	struct cmd_env *env;
	struct migrate_job **jobs; /* [MIGRATE_JOBS_MAX] */
	uint32_t *gens;
	uint32_t njobs, jobs_hi;
	struct migrate_sock cache[MIGRATE_CACHE_MAX];
	unsigned ncached;
	/* The keys of this shard MIGRATE deleted lately (a ring): another
	 * MIGRATE of one of them to the same target, which finds it gone,
	 * must not delete it there (the first one put it there). */
	struct migrate_gone gone[MIGRATE_GONE_MAX];
	uint64_t gone_seq; /* entries ever added */
	int64_t now_ms;
};

void migrate_init(struct migrate *m, struct io *io, struct mem *mem, struct conn_host *ch,
		  struct conns *conns, struct exec *exec, struct lock *lock, struct cmd_env *env);
/* Frees every job and forgets the cache (the process is ending). */
void migrate_free(struct migrate *m);
/* The job of c (its MIGRATE's second half runs now), or NULL. */
struct migrate_job *migrate_job_of(struct migrate *m, const struct conn *c);
/* A new job for ctx's MIGRATE (its client's), or NULL when the shard runs
 * MIGRATE_JOBS_MAX already. host must fit MIGRATE_HOST_MAX. */
struct migrate_job *migrate_job_new(struct migrate *m, struct cmd_ctx *ctx, const char *host,
				    size_t hlen, uint16_t port);
/* AUTH pass (user NULL) or AUTH2 user pass, sent first. */
void migrate_job_auth(struct migrate *m, struct migrate_job *j, const char *user, size_t ulen,
		      const char *pass, size_t plen);
/* Adds a key to the job's round (payload NULL: DEL it on the target). */
void migrate_job_add(struct migrate *m, struct migrate_job *j, const char *key, size_t klen,
		     const char *payload, size_t plen, int64_t expire_ms);
/* Keeps only the round's keys keep[0..n) (ascending indexes), in order. */
void migrate_job_keep(struct migrate *m, struct migrate_job *j, const uint32_t *keep, uint32_t n);
/* Key i's payload and expiry as they are now (payload NULL: gone). */
void migrate_job_refresh(struct migrate *m, struct migrate_job *j, uint32_t i, const char *payload,
			 size_t plen, int64_t expire_ms);
/* Empties the round's keys (before the next round's are added). */
void migrate_job_clear(struct migrate *m, struct migrate_job *j);
/* Blocks ctx's client and sends the round; its MIGRATE runs again once
 * every reply is in, or the job failed. */
void migrate_job_go(struct migrate *m, struct migrate_job *j, struct cmd_ctx *ctx);
/* Ends the job (after its second half answered): its client reads again,
 * its socket goes to the cache when it is sound. */
void migrate_job_end(struct migrate *m, struct migrate_job *j, struct cmd_ctx *ctx);
/* The ring of keys deleted by MIGRATE, on the shard that owns them (the
 * caller holds it): the count so far, a key deleted after going to
 * host:port, and whether key went to host:port after count seq (when the
 * ring has lost entries since seq, it answers false). */
uint64_t migrate_gone_seq(const struct migrate *owner);
void migrate_gone_add(struct migrate *owner, const char *key, size_t klen, const char *host,
		      uint16_t port);
bool migrate_gone_since(const struct migrate *owner, const char *key, size_t klen, const char *host,
			uint16_t port, uint64_t seq);
/* A completion with UD_OP_MIGRATE. */
void migrate_complete(struct migrate *m, const struct io_cqe *cqe);
/* The timer: step timeouts, idle cached sockets. */
void migrate_cron(struct migrate *m, int64_t now_ms);

#endif
