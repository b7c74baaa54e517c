/* cmd_multi.c: transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH.
 *
 * The queue and the watched keys belong to the connection (shard/txn.h);
 * conn.c queues what arrives between MULTI and EXEC, and refuses there what
 * Redis refuses. EXEC and WATCH reach here holding every shard they need
 * (exec_request_holding): EXEC the shards of its queued commands and of its
 * watched keys, WATCH those of its keys; so each keyspace they touch is
 * either this shard's or locked (cmd_ks).
 *
 * Replies and errors follow redis-server 7.0.15: EXEC answers EXECABORT
 * after an error while queueing, a null array when a watched key changed or
 * expired since WATCH, else an array of every queued command's reply
 * (a command's error in its place does not stop the others). */
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/shard.h"
#include "shard/txn.h"

#define ERR_EXECABORT "-EXECABORT Transaction discarded because of previous errors."

/* The shard that owns key (this one on a node of one shard). */
static unsigned key_shard(const struct cmd_ctx *c, const struct cmd_arg *key)
{
	const struct cmd_env *env = c->env;

	return env->nshards == 1 ? env->self : env->slot_shard[hash_slot(key->p, key->len)];
}

void cmd_multi(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);

	if (conn->txn.multi) {
		reply_error(c->r, "MULTI calls can not be nested");
		return;
	}
	conn->txn.multi = true;
	reply_ok(c->r);
}

void cmd_discard(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	struct conn_host *h = &shard_of(c)->ch;

	if (!conn->txn.multi) {
		reply_error(c->r, "DISCARD without MULTI");
		return;
	}
	txn_discard(&h->txn, &conn->txn);
	txn_unwatch(&h->txn, &conn->txn, c->locked);
	reply_ok(c->r);
}

void cmd_unwatch(struct cmd_ctx *c)
{
	struct conn_host *h = &shard_of(c)->ch;

	txn_unwatch(&h->txn, &server_conn(c)->txn, c->locked);
	reply_ok(c->r);
}

void cmd_watch(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	struct conn_host *h = &shard_of(c)->ch;
	int i;

	if (conn->txn.multi) {
		reply_error(c->r, "WATCH inside MULTI is not allowed");
		return;
	}
	for (i = 1; i < c->argc; i++) {
		const struct cmd_arg *key = &c->argv[i];
		unsigned s = key_shard(c, key);
		struct keyspace *ks = cmd_ks(c, key->p, key->len);
		uint64_t since;
		if (txn_watching(&conn->txn, s, key->p, key->len))
			continue;
		since = watch_add(&ks->watch, key->p, key->len);
		txn_add_watch(&h->txn, &conn->txn, s, key->p, key->len, since,
			      ks_is_expired(ks, key->p, key->len));
	}
	reply_ok(c->r);
}

/* Whether a watched key changed since WATCH, or expired since (Redis's
 * isWatchedKeyExpired: one already expired then does not count). */
static bool watch_broken(struct cmd_ctx *c, const struct txn *t)
{
	uint32_t i;

	for (i = 0; i < t->nw; i++) {
		const struct txn_watch *w = t->w[i];
		struct keyspace *ks = c->env->keyspaces[w->shard];
		ASSERT(w->shard == c->env->self || c->locked != NULL);
		if (watch_changed(&ks->watch, w->key, w->klen, w->since, w->expired))
			return true;
		if (!w->expired && ks_is_expired(ks, w->key, w->klen))
			return true;
	}
	return false;
}

/* Runs one queued command as if it had arrived alone: on the keyspace of
 * its first key (held), with the shards EXEC holds. */
static void run_queued(struct cmd_ctx *c, const struct txn_cmd *q)
{
	struct cmd_ctx sub = *c;
	int keys[1];

	sub.cmd = q->cmd;
	sub.argv = q->argv;
	sub.argc = q->argc;
	sub.ks = c->env->ks;
	if (cmd_key_positions(q->cmd, q->argv, q->argc, keys, 1) >= 1)
		sub.ks = cmd_ks(&sub, q->argv[keys[0]].p, q->argv[keys[0]].len);
	cmd_run(&sub, q->cmd);
}

void cmd_exec(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	struct conn_host *h = &shard_of(c)->ch;
	struct txn *t = &conn->txn;
	uint32_t i, n;

	if (!t->multi) {
		reply_error(c->r, "EXEC without MULTI");
		return;
	}
	if (t->aborted || watch_broken(c, t)) {
		if (t->aborted)
			reply_error(c->r, ERR_EXECABORT);
		else
			reply_null_array(c->r);
		txn_discard(&h->txn, t);
		txn_unwatch(&h->txn, t, c->locked);
		return;
	}
	/* As Redis: the watches go first; the connection stays in MULTI
	 * while its commands run (CLIENT LIST shows it so), and leaves after.
	 * No queued command changes the queue (MULTI, EXEC, DISCARD and
	 * WATCH are never queued). */
	txn_unwatch(&h->txn, t, c->locked);
	n = t->n;
	reply_array(c->r, n);
	for (i = 0; i < n; i++)
		run_queued(c, &t->q[i]);
	ASSERT(t->n == n);
	txn_discard(&h->txn, t);
}
