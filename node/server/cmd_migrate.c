/* cmd_migrate.c: MIGRATE host port key|"" destination-db timeout [COPY]
 * [REPLACE] [AUTH password] [AUTH2 username password] [KEYS key ...], with
 * Redis 7.0.15's checks, errors and replies (cluster.c's migrateCommand),
 * run without blocking its shard (shard/migrate.h).
 *
 * It runs twice for its client, always on the client's shard holding the
 * shards of its keys (conn.c's dispatch). The first run checks the
 * arguments in Redis's order (options from argv[6], KEYS last and only with
 * an empty key argument; then the timeout and the db as integers, a
 * timeout <= 0 being 1000 ms), answers +NOKEY when no key exists, else
 * dumps the keys into a job and blocks its client. The second run (the job
 * has every reply, or failed) deletes, unless COPY, each key the target
 * acknowledged that still holds what was sent, and answers: +OK; "ERR
 * Target instance replied with error: ..." (the first error); or IOERR. A
 * key written or deleted during the wait is not deleted: it goes again in
 * another round (RESTORE ... REPLACE, or DEL), at most MIGRATE_ROUNDS_MAX
 * rounds, after which MIGRATE fails with TRYAGAIN and deletes nothing more,
 * so that a write acknowledged to another client is never lost. A key
 * found gone because another MIGRATE to the same target deleted it
 * meanwhile (its shard remembers, migrate_gone_since) is not deleted on
 * the target: that MIGRATE put it there.
 *
 * Not as Redis: MIGRATE in MULTI/EXEC is refused (it would block EXEC's
 * client in the middle of its transaction); host must be a numeric address
 * (io.h's connect does no name lookup): any other fails as a connection
 * would; a refused connection fails as Redis's does, while writing. */
#include <string.h>

#include "base/hash.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/kv.h"
#include "data/rdb.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/migrate.h"
#include "shard/shard.h"

#define ERR_KEYS_NOT_EMPTY                                                                         \
	"When using MIGRATE KEYS option, the key argument must be set to the empty string"
#define ERR_IO_CONNECT "-IOERR error or timeout connecting to the client"
#define ERR_IO_READ "-IOERR error or timeout reading to target instance"
#define ERR_IO_WRITE "-IOERR error or timeout writing to target instance"
#define ERR_MULTI "-ERR MIGRATE is not allowed in a transaction"
#define ERR_JOBS "-ERR max number of concurrent MIGRATE reached"
#define ERR_ROUNDS "-TRYAGAIN MIGRATE keys kept changing during the migration"

struct migrate_args {
	bool copy, replace;
	const struct cmd_arg *user, *pass;
	int first, nkeys;
	long long timeout_ms, dbid;
	long port; /* parse_port's */
};

/* The port as Redis reads it (atoi): -1 when negative (no connection is
 * tried there), else its value, capped past 65535 (a port 0 or past 65535
 * is refused there: its first write fails). */
static long parse_port(const struct cmd_arg *a)
{
	long v = 0;
	size_t i = 0;
	bool neg = false;

	while (i < a->len && (a->p[i] == ' ' || a->p[i] == '\t'))
		i++;
	if (i < a->len && (a->p[i] == '-' || a->p[i] == '+'))
		neg = a->p[i++] == '-';
	for (; i < a->len && a->p[i] >= '0' && a->p[i] <= '9' && v <= 65535; i++)
		v = v * 10 + (a->p[i] - '0');
	return neg && v > 0 ? -1 : v;
}

/* Redis's option loop and sanity checks; false after the error reply. */
static bool parse(struct cmd_ctx *c, struct migrate_args *a)
{
	int j;

	memset(a, 0, sizeof(*a));
	a->first = 3;
	a->nkeys = 1;
	for (j = 6; j < c->argc; j++) {
		const struct cmd_arg *o = &c->argv[j];
		int more = c->argc - 1 - j;
		if (cmd_arg_cstr_eq(o, "copy")) {
			a->copy = true;
		} else if (cmd_arg_cstr_eq(o, "replace")) {
			a->replace = true;
		} else if (cmd_arg_cstr_eq(o, "auth") && more >= 1) {
			a->user = NULL;
			a->pass = &c->argv[++j];
		} else if (cmd_arg_cstr_eq(o, "auth2") && more >= 2) {
			a->user = &c->argv[++j];
			a->pass = &c->argv[++j];
		} else if (cmd_arg_cstr_eq(o, "keys")) {
			if (c->argv[3].len != 0) {
				reply_error(c->r, ERR_KEYS_NOT_EMPTY);
				return false;
			}
			a->first = j + 1;
			a->nkeys = c->argc - j - 1;
			break;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	if (!cmd_arg_ll(c, &c->argv[5], &a->timeout_ms, NULL) ||
	    !cmd_arg_ll(c, &c->argv[4], &a->dbid, NULL))
		return false;
	if (a->timeout_ms <= 0)
		a->timeout_ms = 1000;
	if (a->timeout_ms > MIGRATE_TIMEOUT_MS_MAX)
		a->timeout_ms = MIGRATE_TIMEOUT_MS_MAX;
	a->port = parse_port(&c->argv[2]);
	return true;
}

/* The payload of key e into o (its caller frees it). */
static void dump_into(struct cmd_ctx *c, const struct kv *e, struct rdb_out *o)
{
	rdb_out_init(o, c->env->mem, false);
	o->list_fill = (int)c->env->cfg->list_max_listpack_size;
	o->list_compress = (int)c->env->cfg->list_compress_depth;
	rdb_dump(o, e);
}

static int64_t expire_of(const struct kv *e)
{
	return kv_has_ttl(e) ? kv_expire(e) : -1;
}

/* The migrate module of the shard that owns key (held by this request). */
static struct migrate *owner_of(struct cmd_ctx *c, const char *key, size_t klen)
{
	unsigned s = c->env->nshards == 1 ? 0 : c->env->slot_shard[hash_slot(key, klen)];

	return &shard_of(c)->set->shards[s]->mig;
}

/* Adds key (live in its keyspace, or NULL: gone) to j's round. */
static void add_key(struct cmd_ctx *c, struct migrate *m, struct migrate_job *j, const char *key,
		    size_t klen, const struct kv *e)
{
	struct rdb_out o;

	if (e == NULL) {
		migrate_job_add(m, j, key, klen, NULL, 0, -1);
	} else {
		dump_into(c, e, &o);
		migrate_job_add(m, j, key, klen, o.buf, o.len, expire_of(e));
		rdb_out_free(&o);
	}
	j->keys[j->nkeys - 1].gone_seq = migrate_gone_seq(owner_of(c, key, klen));
}

static void first_half(struct cmd_ctx *c, struct shard *sh)
{
	struct migrate_args a;
	struct migrate_job *j;
	const struct cmd_arg *host = &c->argv[1];
	int i, found = 0;

	if (!parse(c, &a))
		return;
	for (i = 0; i < a.nkeys; i++) {
		const struct cmd_arg *k = &c->argv[a.first + i];
		found += ks_lookup_read(cmd_ks(c, k->p, k->len), k->p, k->len) != NULL;
	}
	if (found == 0) {
		reply_status(c->r, "NOKEY");
		return;
	}
	if (c->conn == NULL || c->conn->txn.multi) {
		reply_error(c->r, ERR_MULTI);
		return;
	}
	if (host->len > MIGRATE_HOST_MAX || memchr(host->p, '\0', host->len) != NULL ||
	    a.port < 0) {
		reply_error(c->r, ERR_IO_CONNECT);
		return;
	}
	if (a.port == 0 || a.port > 65535) {
		reply_error(c->r, ERR_IO_WRITE);
		return;
	}
	j = migrate_job_new(&sh->mig, c, host->p, host->len, (uint16_t)a.port);
	if (j == NULL) {
		reply_error(c->r, ERR_JOBS);
		return;
	}
	j->copy = a.copy;
	j->replace = a.replace;
	j->cluster = c->env->cfg->cluster_enabled;
	j->dbid = a.dbid;
	j->timeout_ms = a.timeout_ms;
	if (a.pass != NULL)
		migrate_job_auth(&sh->mig, j, a.user ? a.user->p : NULL, a.user ? a.user->len : 0,
				 a.pass->p, a.pass->len);
	for (i = 0; i < a.nkeys; i++) {
		const struct cmd_arg *k = &c->argv[a.first + i];
		struct kv *e = ks_peek(cmd_ks(c, k->p, k->len), k->p, k->len);
		if (e != NULL && !ks_expired(cmd_ks(c, k->p, k->len), e))
			add_key(c, &sh->mig, j, k->p, k->len, e);
	}
	migrate_job_go(&sh->mig, j, c);
}

/* Whether e (live, or NULL) is what k sent: same payload and expiry. */
static bool unchanged(struct cmd_ctx *c, const struct migrate_key *k, const struct kv *e)
{
	struct rdb_out o;
	bool same;

	if (e == NULL || k->payload == NULL)
		return e == NULL && k->payload == NULL;
	if (expire_of(e) != k->expire_ms)
		return false;
	dump_into(c, e, &o);
	same = o.len == k->plen && memcmp(o.buf, k->payload, o.len) == 0;
	rdb_out_free(&o);
	return same;
}

/* The key as its keyspace holds it now, live, or NULL. */
static struct kv *live(struct cmd_ctx *c, const char *key, size_t klen)
{
	struct keyspace *ks = cmd_ks(c, key, klen);
	struct kv *e = ks_peek(ks, key, klen);

	return e != NULL && !ks_expired(ks, e) ? e : NULL;
}

/* Deletes the acknowledged keys that hold what was sent; returns how many
 * acknowledged keys changed meanwhile (their indexes in changed[]). */
static uint32_t delete_acked(struct cmd_ctx *c, struct migrate_job *j, uint32_t *changed)
{
	uint32_t i, n = 0;

	for (i = 0; i < j->nkeys; i++) {
		const struct migrate_key *k = &j->keys[i];
		struct keyspace *ks = cmd_ks(c, k->key, k->klen);
		struct kv *e;
		if (!k->acked || j->copy)
			continue;
		e = live(c, k->key, k->klen);
		if (e == NULL && k->payload != NULL &&
		    migrate_gone_since(owner_of(c, k->key, k->klen), k->key, k->klen, j->s.host,
				       j->s.port, k->gone_seq))
			continue; /* another MIGRATE put it there, and deleted it here */
		if (!unchanged(c, k, e)) {
			changed[n++] = i;
			continue;
		}
		if (e != NULL && ks_delete(ks, k->key, k->klen)) {
			ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", k->key, k->klen);
			migrate_gone_add(owner_of(c, k->key, k->klen), k->key, k->klen, j->s.host,
					 j->s.port);
		}
	}
	return n;
}

/* Sends the changed keys again, as they are now. */
static void next_round(struct cmd_ctx *c, struct migrate *m, struct migrate_job *j,
		       const uint32_t *changed, uint32_t n)
{
	struct rdb_out o;
	uint32_t i;

	migrate_job_keep(m, j, changed, n);
	for (i = 0; i < j->nkeys; i++) {
		const struct migrate_key *k = &j->keys[i];
		const struct kv *e = live(c, k->key, k->klen);
		if (e == NULL) {
			migrate_job_refresh(m, j, i, NULL, 0, -1);
			continue;
		}
		dump_into(c, e, &o);
		migrate_job_refresh(m, j, i, o.buf, o.len, expire_of(e));
		rdb_out_free(&o);
	}
	for (i = 0; i < j->nkeys; i++)
		j->keys[i].gone_seq = migrate_gone_seq(
			owner_of(c, j->keys[i].key, j->keys[i].klen));
	migrate_job_go(m, j, c);
}

static void answer(struct cmd_ctx *c, const struct migrate_job *j)
{
	switch (j->result) {
	case MIGRATE_ERR_CONNECT: reply_error(c->r, ERR_IO_CONNECT); return;
	case MIGRATE_ERR_READ: reply_error(c->r, ERR_IO_READ); return;
	case MIGRATE_ERR_WRITE: reply_error(c->r, ERR_IO_WRITE); return;
	default: break;
	}
	if (j->target_err)
		reply_errorf(c->r, "-ERR Target instance replied with error: %s", j->err);
	else
		reply_ok(c->r);
}

static void second_half(struct cmd_ctx *c, struct shard *sh, struct migrate_job *j)
{
	uint32_t small[16], *changed = small, n;

	if (j->nkeys > 16)
		changed = mem_alloc(sh->mig.mem, j->nkeys * sizeof(*changed));
	n = delete_acked(c, j, changed);
	if (n > 0 && j->result == MIGRATE_OK && !j->target_err && j->rounds < MIGRATE_ROUNDS_MAX) {
		next_round(c, &sh->mig, j, changed, n);
	} else {
		if (n > 0 && j->result == MIGRATE_OK && !j->target_err)
			reply_error(c->r, ERR_ROUNDS);
		else
			answer(c, j);
		migrate_job_end(&sh->mig, j, c);
	}
	if (changed != small)
		mem_free(sh->mig.mem, changed);
}

void cmd_migrate(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct migrate_job *j = c->conn != NULL ? migrate_job_of(&sh->mig, c->conn) : NULL;

	if (j != NULL && j->result != MIGRATE_RUNNING)
		second_half(c, sh, j);
	else
		first_half(c, sh);
}
