/* cmd_server.c: CONFIG (GET, SET, RESETSTAT, REWRITE, HELP), TIME, DEBUG
 * (OBJECT, SLEEP, SET-ACTIVE-EXPIRE, HELP), LASTSAVE, SHUTDOWN and WAIT. INFO lives in cmd_info.c.
 *
 * CONFIG goes through config.h, so CONFIG SET, the command line and the
 * configuration file accept the same values. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "data/kv.h"
#include "data/quicklist.h"
#include "data/rdblen.h"
#include "data/t_list.h"
#include "io/io.h"
#include "proto/reply.h"
#include "server/config_file.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/shard.h"

/* ---- CONFIG ---- */

/* Longest directive name we track (the longest today has 26 bytes). */
#define CFG_NAME_MAX 64
/* Matches of one CONFIG GET, at most one per name. */
#define CFG_MATCH_MAX CONFIG_NAMES_MAX

struct cfg_matches {
	struct {
		char name[CFG_NAME_MAX]; /* as it will be shown */
		size_t len;
	} m[CFG_MATCH_MAX];
	int n;
	const struct cmd_arg *exact; /* the argument, when it has no glob */
};

static void collect_match(void *arg, const char *name, const char *value, size_t vlen)
{
	struct cfg_matches *ms = arg;
	size_t len = strlen(name);
	int i;

	(void)value;
	(void)vlen;
	for (i = 0; i < ms->n; i++)
		if (util_eq_nocase(ms->m[i].name, ms->m[i].len, name))
			return;
	ASSERT(ms->n < CFG_MATCH_MAX);
	ASSERT(len < CFG_NAME_MAX);
	/* As Redis, a name asked for without a glob is shown as written. */
	if (ms->exact != NULL) {
		ASSERT(ms->exact->len == len);
		memcpy(ms->m[ms->n].name, ms->exact->p, len);
	} else {
		memcpy(ms->m[ms->n].name, name, len);
	}
	ms->m[ms->n].len = len;
	ms->n++;
}

/* Emits a directive's value; counts, since each name must match once. */
struct cfg_emit {
	struct reply *r;
	int n;
};

static void emit_value(void *arg, const char *name, const char *value, size_t vlen)
{
	struct cfg_emit *e = arg;

	(void)name;
	reply_bulk(e->r, value, vlen);
	e->n++;
}

/* CONFIG GET pattern [pattern ...]: a map of the matching directives, each
 * once. Redis orders it by its hash table; cairn by first match. */
void cmd_config_get(struct cmd_ctx *c)
{
	struct cfg_matches ms;
	int i;

	ms.n = 0;
	for (i = 2; i < c->argc; i++) {
		const struct cmd_arg *a = &c->argv[i];
		bool glob = memchr(a->p, '*', a->len) || memchr(a->p, '?', a->len) ||
			    memchr(a->p, '[', a->len);
		/* Without glob characters Redis looks the name up exactly, so a
		 * backslash is not an escape there. */
		if (!glob && !config_exists(a->p, a->len))
			continue;
		ms.exact = glob ? NULL : a;
		config_get(&shard_of(c)->cfg, a->p, a->len, collect_match, &ms);
	}
	ASSERT(ms.n <= CFG_MATCH_MAX);
	reply_map(c->r, ms.n);
	for (i = 0; i < ms.n; i++) {
		struct cfg_emit e = { .r = c->r, .n = 0 };
		reply_bulk(c->r, ms.m[i].name, ms.m[i].len);
		config_get(&shard_of(c)->cfg, ms.m[i].name, ms.m[i].len, emit_value, &e);
		ASSERT(e.n == 1);
	}
}

static void canonical_name(void *arg, const char *name, const char *value, size_t vlen)
{
	(void)value;
	(void)vlen;
	snprintf(arg, CFG_NAME_MAX, "%s", name);
}

#define CONFIG_ERR_MAX 512

/* CONFIG SET's error, around config_apply's reason. */
#define CONFIG_SET_FAILED "CONFIG SET failed (possibly related to argument "

/* Checks CONFIG SET's pairs before any is applied, as Redis does: an
 * unknown name, an immutable directive or a repeated one. Replies and
 * returns false on the first problem. */
static bool config_set_check(struct cmd_ctx *c)
{
	const char *why = NULL;
	int i, j;

	for (i = 2; i < c->argc && why == NULL; i += 2) {
		const struct cmd_arg *name = &c->argv[i];
		if (!config_exists(name->p, name->len)) {
			reply_errorf(c->r,
				     "Unknown option or number of arguments for CONFIG SET - "
				     "'%.*s'",
				     (int)name->len, name->p);
			return false;
		}
		if (!config_mutable(name->p, name->len))
			why = "can't set immutable config";
		for (j = 2; j < i && why == NULL; j += 2)
			if (c->argv[j].len == name->len &&
			    strncasecmp(c->argv[j].p, name->p, name->len) == 0)
				why = "duplicate parameter";
		if (why != NULL)
			reply_errorf(c->r, CONFIG_SET_FAILED "'%.*s') - %s", (int)name->len,
				     name->p, why);
	}
	return why == NULL;
}

/* CONFIG SET name value [name value ...]: all or nothing. The pairs are
 * applied in order to a copy of the configuration; the copy replaces the
 * shard's only when every one succeeded. */
void cmd_config_set(struct cmd_ctx *c)
{
	struct config next;
	char err[CONFIG_ERR_MAX], name[CFG_NAME_MAX];
	int i;

	if (c->argc % 2 != 0) {
		cmd_syntax_error(c);
		return;
	}
	ASSERT(c->argc >= 4);
	if (!config_set_check(c))
		return;
	next = shard_of(c)->cfg;
	for (i = 2; i < c->argc; i += 2) {
		const char *argv[2] = { c->argv[i].p, c->argv[i + 1].p };
		size_t lens[2] = { c->argv[i].len, c->argv[i + 1].len };
		int rc = config_apply(&next, 2, argv, lens, true, err, sizeof(err));
		if (rc == 0)
			continue;
		ASSERT(rc == -1);
		/* Redis names the directive here, not the argument as typed. */
		name[0] = '\0';
		config_get(&next, argv[0], lens[0], canonical_name, name);
		ASSERT(name[0] != '\0');
		reply_errorf(c->r, CONFIG_SET_FAILED "'%s') - %s", name, err);
		return;
	}
	for (i = 0; i < (int)cmd_nshards(c); i++) {
		struct shard *sh = shard_at(c, (unsigned)i);
		sh->cfg = next;
		shard_config_applied(sh);
	}
	reply_ok(c->r);
}

/* CONFIG RESETSTAT: as Redis's resetServerStats, resetCommandTableStats
 * and resetErrorTableStats. The instantaneous samples restart from now,
 * or the next sample would compare against the old totals. */
void cmd_config_resetstat(struct cmd_ctx *c)
{
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++) {
		struct shard *sh = shard_at(c, s);
		memset(&sh->st, 0, sizeof(sh->st));
		memset(&sh->es, 0, sizeof(sh->es));
		cmd_stats_reset(&sh->mem, sh->cstat);
		memset(&sh->inst, 0, sizeof(sh->inst));
		sh->inst.last_ms = c->now_ms;
		ASSERT(sh->es.total == 0);
		ASSERT(sh->es.n == 0);
	}
	reply_ok(c->r);
}

/* The configuration file's contents into a buffer from the shard's
 * account (*out, *len; none when there is no file yet, as Redis starts a
 * new one then). Returns 0 or -errno. */
static int config_file_contents(struct shard *sh, const char *path, char **out, size_t *len)
{
	size_t cap = 4096;

	for (;;) {
		char *buf = mem_alloc(&sh->mem, cap);
		int64_t n = io_file_read(sh->io, path, buf, cap);
		if (n >= 0 && (uint64_t)n <= cap) {
			*out = buf;
			*len = (size_t)n;
			return 0;
		}
		mem_free(&sh->mem, buf);
		if (n == -ENOENT) {
			*out = NULL;
			*len = 0;
			return 0;
		}
		if (n < 0)
			return (int)n;
		if ((uint64_t)n > CONFIG_FILE_MAX)
			return -EFBIG;
		cap = (size_t)n;
	}
}

/* CONFIG REWRITE: the file the node started from, rewritten with the
 * current configuration (config_file.h) and replaced atomically
 * (io_file_replace); with every shard locked, so that two never race.
 * Redis's replies and log lines. */
void cmd_config_rewrite(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	const char *path = sh->info->config_file;
	struct config *def;
	struct text t;
	char *old = NULL;
	size_t len = 0;
	int rc;

	if (path[0] == '\0') {
		reply_error(c->r, "The server is running without a config file");
		return;
	}
	rc = config_file_contents(sh, path, &old, &len);
	if (rc == 0) {
		def = mem_alloc(&sh->mem, sizeof(*def));
		config_defaults(def);
		text_init(&t, &sh->mem, len + 1024);
		config_file_rewrite(old, len, &sh->cfg, def, &sh->mem, &t);
		rc = io_file_replace(sh->io, path, t.p, t.len);
		text_free(&t);
		mem_free(&sh->mem, def);
	}
	mem_free(&sh->mem, old);
	if (rc < 0) {
		shard_log(sh, IO_LOG_WARNING, "CONFIG REWRITE failed: %s", strerror(-rc));
		reply_errorf(c->r, "Rewriting config file: %s", strerror(-rc));
		return;
	}
	shard_log(sh, IO_LOG_NOTICE, "CONFIG REWRITE executed with success.");
	reply_ok(c->r);
}

void cmd_config_help(struct cmd_ctx *c)
{
	static const char *const lines[] = {
		"GET <pattern> [<pattern> ...]",
		"    Return parameters matching the glob-like <pattern>s and their values.",
		"SET <directive> <value> [<directive> <value> ...]",
		"    Set each configuration <directive> to its <value>, all or none.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	};

	cmd_reply_help(c, "CONFIG", lines, sizeof(lines) / sizeof(lines[0]));
}

/* ---- TIME, LASTSAVE, DEBUG ---- */

void cmd_time(struct cmd_ctx *c)
{
	uint64_t us = io_now_ns(shard_of(c)->io) / 1000;

	reply_array(c->r, 2);
	reply_bulk_ll(c->r, (long long)(us / 1000000));
	reply_bulk_ll(c->r, (long long)(us % 1000000));
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], checked as Redis 7.0 does.
 * cairn has no persistence and no replicas, so a shutdown never waits:
 * there is never one in progress to ABORT, and SAVE fails as Redis's
 * failed save does (can't exit), unless FORCE. Otherwise the process is
 * asked to stop (io_shutdown: every shard stops, it exits 0), and the
 * client's connection closes with no reply (after those it was owed), as
 * when Redis exits. */
void cmd_shutdown(struct cmd_ctx *c)
{
	static const char *const words[] = { "nosave", "save", "now", "force", "abort" };
	bool has[5] = { false };
	struct shard *sh = shard_of(c);
	int i;
	unsigned w;

	for (i = 1; i < c->argc; i++) {
		for (w = 0; w < 5 && !cmd_arg_cstr_eq(&c->argv[i], words[w]); w++)
			;
		if (w == 5) {
			cmd_syntax_error(c);
			return;
		}
		has[w] = true;
	}
	if ((has[4] && (has[0] || has[1] || has[2] || has[3])) || (has[0] && has[1])) {
		cmd_syntax_error(c);
		return;
	}
	if (has[4]) {
		reply_error(c->r, "No shutdown in progress.");
		return;
	}
	log_at(sh->io, sh->cfg.loglevel, IO_LOG_WARNING, "User requested shutdown...");
	if (has[1]) {
		log_at(sh->io, sh->cfg.loglevel, IO_LOG_NOTICE,
		       "Saving the final RDB snapshot before exiting.");
		if (!has[3]) {
			log_at(sh->io, sh->cfg.loglevel, IO_LOG_WARNING,
			       "Error trying to save the DB, can't exit.");
			log_at(sh->io, sh->cfg.loglevel, IO_LOG_WARNING,
			       "Errors trying to shut down the server. Check the logs for more "
			       "information.");
			reply_error(c->r, "Errors trying to SHUTDOWN. Check logs.");
			return;
		}
		log_at(sh->io, sh->cfg.loglevel, IO_LOG_WARNING,
		       "Error trying to save the DB. Exit anyway.");
	}
	io_shutdown(sh->io);
	/* The replies before it go out; it has none. */
	conn_close(&sh->ch, server_conn(c), false);
}

/* WAIT numreplicas timeout. There are no replicas yet: it answers 0 at
 * once when it asks for none, or inside EXEC (where Redis never blocks);
 * else it blocks until its timeout (ms; 0: for ever), found by the shard's
 * timer (within 1000/hz ms), or until CLIENT UNBLOCK, and answers 0. */
void cmd_wait(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	long long n, timeout;

	if (!cmd_arg_ll(c, &c->argv[1], &n, NULL) ||
	    !cmd_arg_ll(c, &c->argv[2], &timeout, "timeout is not an integer or out of range"))
		return;
	if (timeout < 0) {
		reply_error(c->r, "timeout is negative");
		return;
	}
	if (n <= 0 || conn->txn.multi) {
		reply_int(c->r, 0);
		return;
	}
	/* A timeout past the end of time is for ever (Redis 7.0 overflows). */
	conn_block(&shard_of(c)->ch, conn,
		   timeout > 0 && timeout <= LLONG_MAX - c->now_ms ? c->now_ms + timeout : 0);
}

/* The start-up time: cairn never saves. */
void cmd_lastsave(struct cmd_ctx *c)
{
	reply_int(c->r, shard_of(c)->lastsave_ms / 1000);
}

/* An argument as a C string for strtod/strtol, which Redis applies to the
 * raw argument (a longer one is cut; no real number needs 127 bytes). */
static void arg_cstr(const struct cmd_arg *a, char *buf, size_t len)
{
	size_t n = a->len < len - 1 ? a->len : len - 1;

	memcpy(buf, a->p, n);
	buf[n] = '\0';
}

/* DEBUG SLEEP <seconds>: Redis parses with strtod and accepts anything
 * (garbage is 0); a negative, NaN or overflowing time makes its nanosleep
 * fail at once, so those do not sleep here either. */
static void debug_sleep(struct cmd_ctx *c)
{
	char buf[128];
	double s;

	arg_cstr(&c->argv[2], buf, sizeof(buf));
	s = strtod(buf, NULL);
	if (s > 0 && s * 1e6 < 9.2e18) {
		long long us = (long long)(s * 1e6);
		ASSERT(us >= 0);
		io_block(shard_of(c)->io, (uint64_t)us * 1000);
	}
	reply_ok(c->r);
}

/* DEBUG SET-ACTIVE-EXPIRE <0|1>: atoi, as Redis: any non-zero enables. */
static void debug_set_active_expire(struct cmd_ctx *c)
{
	char buf[64];
	bool on;
	unsigned s;

	arg_cstr(&c->argv[2], buf, sizeof(buf));
	on = strtol(buf, NULL, 10) != 0;
	for (s = 0; s < cmd_nshards(c); s++)
		shard_at(c, s)->cfg.active_expire = on;
	reply_ok(c->r);
}

/* The quicklist part of DEBUG OBJECT's line (Redis's "extra"). */
static void debug_object_ql(const struct quicklist *ql, char *buf, size_t len)
{
	const struct quicklist_node *n;
	unsigned long sz = 0;

	for (n = ql->head; n != NULL; n = n->next)
		sz += n->sz;
	snprintf(buf, len,
		 " ql_nodes:%lu ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d"
		 " ql_uncompressed_size:%lu",
		 (unsigned long)ql->len, (double)ql->count / (double)ql->len, ql->fill,
		 ql->compress != 0, sz);
}

/* DEBUG OBJECT key: Redis 7.0's line about the value. The key is looked
 * up without touching it; the idle time is Redis's reading of the 24-bit
 * field, whatever the policy keeps there; serializedlength is what the
 * value would take in an RDB file (data/rdblen.h). */
static void debug_object(struct cmd_ctx *c)
{
	struct keyspace *ks = cmd_ks(c, c->argv[2].p, c->argv[2].len);
	struct kv *e = cmd_lookup_key_notouch(c, &c->argv[2]);
	char extra[160] = "", line[384];
	struct rdblen rl;
	uint64_t len;

	if (e == NULL) {
		reply_error(c->r, "no such key");
		return;
	}
	if (e->type == KV_LIST && kv_obj_enc(e) == LIST_QL)
		debug_object_ql(kv_obj(e), extra, sizeof(extra));
	rdblen_init(&rl, &shard_of(c)->mem);
	len = rdblen_value(&rl, e);
	rdblen_free(&rl);
	snprintf(line, sizeof(line),
		 "Value at:%p refcount:%d encoding:%s serializedlength:%llu lru:%d "
		 "lru_seconds_idle:%llu%s",
		 (void *)e, (int)ks_refcount(e), ks_encoding_name(ks, e), (unsigned long long)len,
		 (int)e->lru, (unsigned long long)(ks_idle_ms(ks, e) / 1000), extra);
	reply_status(c->r, line);
}

static void debug_help(struct cmd_ctx *c)
{
	static const char *const lines[] = {
		"OBJECT <key>",
		"    Show low level info about `key` and associated value.",
		"SET-ACTIVE-EXPIRE <0|1>",
		"    Setting it to 0 disables expiring keys in background when they are not",
		"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
		"    default.",
		"SLEEP <seconds>",
		"    Stop the server for <seconds>. Decimals allowed.",
	};

	cmd_reply_help(c, "DEBUG", lines, sizeof(lines) / sizeof(lines[0]));
}

/* DEBUG is one command in Redis's table (its subcommands are not
 * declared), so it dispatches here, and an unknown subcommand or a wrong
 * count gets Redis's addReplySubcommandSyntaxError text. */
void cmd_debug(struct cmd_ctx *c)
{
	const struct cmd_arg *sub = &c->argv[1];

	ASSERT(c->argc >= 2);
	if (cmd_arg_eq(sub, "help") && c->argc == 2)
		debug_help(c);
	else if (cmd_arg_eq(sub, "sleep") && c->argc == 3)
		debug_sleep(c);
	else if (cmd_arg_eq(sub, "set-active-expire") && c->argc == 3)
		debug_set_active_expire(c);
	else if (cmd_arg_eq(sub, "object") && c->argc == 3)
		debug_object(c);
	else
		cmd_reply_subcommand_syntax(c, "DEBUG");
}
