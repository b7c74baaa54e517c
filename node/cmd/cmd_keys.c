/* cmd_keys.c: the keyspace commands (DEL, UNLINK, EXISTS, TYPE, TOUCH,
 * RENAME, RENAMENX, COPY, DBSIZE, FLUSHDB/FLUSHALL, OBJECT and MEMORY
 * USAGE). The TTL and EXPIRE families live in cmd_expire.c, and KEYS, SCAN
 * and RANDOMKEY in cmd_scan.c.
 *
 * Each handler follows Redis 7.0's db.c and object.c: the same order of
 * checks, the same lookups (a read lookup counts hits and misses and touches
 * the LRU clock, a "no touch" lookup only counts, MEMORY USAGE neither counts
 * nor expires), and the same error texts. Options are compared as Redis
 * compares them, as C strings (strcasecmp), so bytes after a NUL in an option
 * do not count. cairn has one database: a DB argument other than 0 is "DB
 * index is out of range", as Redis started with --databases 1 says. */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/kv.h"
#include "proto/reply.h"

/* Error texts of the key commands (the funnel prepends "ERR "). */
#define ERR_DB_RANGE "DB index is out of range"
#define ERR_SAME_OBJECT "source and destination objects are the same"
#define ERR_INT_RANGE "value is out of range, value must between -2147483648 and 2147483647"
#define ERR_NO_LFU                                                                                 \
	"An LFU maxmemory policy is not selected, access frequency not tracked. Please note "      \
	"that when switching between policies at runtime LRU and LFU data will take some "         \
	"time to adjust."
#define ERR_LFU_IDLE                                                                               \
	"An LFU maxmemory policy is selected, idle time not tracked. Please note that when "       \
	"switching between policies at runtime LRU and LFU data will take some time to adjust."
/* cairn's own, in the words of Redis's. */
#define ERR_SIEVE_IDLE                                                                             \
	"A SIEVE maxmemory policy is selected, idle time not tracked. Please note that when "      \
	"switching between policies at runtime idle times will take some time to adjust."

/* ---- helpers ---- */

/* ---- DEL, UNLINK, EXISTS, TOUCH, TYPE ---- */

/* DEL and UNLINK. UNLINK leaves a big value (a hash of many fields, say)
 * to the shard's background free (ks_unlink); a small one, and every
 * string, is freed at once, as Redis frees what is under its lazy-free
 * threshold. DEL does the same under lazyfree-lazy-user-del. */
static void del_generic(struct cmd_ctx *c, bool lazy)
{
	long long n = 0;
	int i;

	for (i = 1; i < c->argc; i++) {
		const struct cmd_arg *k = &c->argv[i];
		struct keyspace *ks = cmd_ks(c, k->p, k->len);
		if (lazy ? ks_unlink(ks, k->p, k->len) : ks_delete(ks, k->p, k->len)) {
			ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", k->p, k->len);
			n++;
		}
	}
	reply_int(c->r, n);
}

void cmd_del(struct cmd_ctx *c)
{
	del_generic(c, c->env->cfg->lazyfree_lazy_user_del);
}

void cmd_unlink(struct cmd_ctx *c)
{
	del_generic(c, true);
}

void cmd_exists(struct cmd_ctx *c)
{
	long long n = 0;
	int i;

	/* A key named twice counts twice, as in Redis. */
	for (i = 1; i < c->argc; i++) {
		if (cmd_lookup_key_notouch(c, &c->argv[i]) != NULL)
			n++;
	}
	reply_int(c->r, n);
}

void cmd_touch(struct cmd_ctx *c)
{
	long long n = 0;
	int i;

	for (i = 1; i < c->argc; i++) {
		const struct cmd_arg *k = &c->argv[i];
		if (ks_lookup_read(cmd_ks(c, k->p, k->len), k->p, k->len) != NULL)
			n++;
	}
	reply_int(c->r, n);
}

void cmd_type(struct cmd_ctx *c)
{
	struct kv *e = cmd_lookup_key_notouch(c, &c->argv[1]);

	reply_status(c->r,
		     e != NULL ? ks_type_name(cmd_ks(c, c->argv[1].p, c->argv[1].len), e) : "none");
}

/* ---- RENAME, RENAMENX, COPY ---- */

/* Redis's renameGenericCommand: a missing source is an error even when the
 * names are equal; equal names then change nothing. */
static void rename_generic(struct cmd_ctx *c, bool nx)
{
	const struct cmd_arg *src = &c->argv[1], *dst = &c->argv[2];
	bool same = src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0;
	struct keyspace *sks = cmd_ks(c, src->p, src->len), *dks = cmd_ks(c, dst->p, dst->len);
	struct kv *e;

	if (ks_lookup_write(sks, src->p, src->len) == NULL) {
		reply_error(c->r, ERR_NO_SUCH_KEY);
		return;
	}
	if (same) {
		if (nx)
			reply_int(c->r, 0);
		else
			reply_ok(c->r);
		return;
	}
	/* This lookup may delete an expired destination, so the source is
	 * found again afterwards rather than kept across it. */
	if (ks_lookup_write(dks, dst->p, dst->len) != NULL) {
		if (nx) {
			reply_int(c->r, 0);
			return;
		}
		/* Deleted first, as Redis does: the destination is then "new". */
		ks_delete(dks, dst->p, dst->len);
	}
	e = ks_peek(sks, src->p, src->len);
	ASSERT(e != NULL);
	ks_rename(sks, e, dks, dst->p, dst->len);
	ks_notify(sks, CONFIG_NOTIFY_GENERIC, "rename_from", src->p, src->len);
	ks_notify(dks, CONFIG_NOTIFY_GENERIC, "rename_to", dst->p, dst->len);
	if (nx)
		reply_int(c->r, 1);
	else
		reply_ok(c->r);
}

void cmd_rename(struct cmd_ctx *c)
{
	rename_generic(c, false);
}

void cmd_renamenx(struct cmd_ctx *c)
{
	rename_generic(c, true);
}

/* COPY's options, as Redis parses them: REPLACE, and DB <n> where n must be
 * an int and a valid database (only 0 here). */
static bool copy_parse(struct cmd_ctx *c, bool *replace)
{
	int i;

	*replace = false;
	for (i = 3; i < c->argc; i++) {
		long long db;
		if (cmd_arg_cstr_eq(&c->argv[i], "replace")) {
			*replace = true;
		} else if (cmd_arg_cstr_eq(&c->argv[i], "db") && i + 1 < c->argc) {
			if (!cmd_arg_ll(c, &c->argv[i + 1], &db, NULL))
				return false;
			if (db < INT_MIN || db > INT_MAX) {
				reply_error(c->r, ERR_INT_RANGE);
				return false;
			}
			if (db != 0) {
				reply_error(c->r, ERR_DB_RANGE);
				return false;
			}
			i++;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

void cmd_copy(struct cmd_ctx *c)
{
	const struct cmd_arg *src = &c->argv[1], *dst = &c->argv[2];
	struct keyspace *dks = cmd_ks(c, dst->p, dst->len);
	bool replace;
	struct kv *e;

	if (!copy_parse(c, &replace))
		return;
	if (src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
		reply_error(c->r, ERR_SAME_OBJECT);
		return;
	}
	if (ks_lookup_read(cmd_ks(c, src->p, src->len), src->p, src->len) == NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (ks_lookup_write(dks, dst->p, dst->len) != NULL) {
		if (!replace) {
			reply_int(c->r, 0);
			return;
		}
		/* Deleted first, as Redis does: the destination is then "new". */
		ks_delete(dks, dst->p, dst->len);
	}
	/* Found again: the destination lookup may have deleted an entry. */
	e = ks_peek(cmd_ks(c, src->p, src->len), src->p, src->len);
	ASSERT(e != NULL);
	ks_copy(dks, e, dst->p, dst->len);
	ks_notify(dks, CONFIG_NOTIFY_GENERIC, "copy_to", dst->p, dst->len);
	reply_int(c->r, 1);
}

/* ---- DBSIZE, FLUSHDB, FLUSHALL ---- */

struct hidden_count {
	const uint8_t *hidden;
	uint64_t n;
};

static void count_hidden(void *arg, struct kv *e)
{
	struct hidden_count *h = arg;

	h->n += h->hidden[hash_slot(kv_key(e), kv_klen(e))] != 0;
}

/* Keys of a slot this node imports atomically do not count (a walk over
 * every key then: only while an import runs). */
void cmd_dbsize(struct cmd_ctx *c)
{
	const uint8_t *hidden = cmd_hidden_slots(c->env);
	struct hidden_count h = { hidden, 0 };
	uint64_t n = 0;
	unsigned s;

	/* Redis counts keys not yet reclaimed, expired or not. */
	for (s = 0; s < cmd_nshards(c); s++)
		n += ks_size(cmd_keyspace(c, s));
	if (hidden != NULL)
		for (s = 0; s < cmd_nshards(c); s++)
			dict_each(&cmd_keyspace(c, s)->d, count_hidden, &h);
	reply_int(c->r, (long long)(n - h.n));
}

/* Redis's getFlushCommandFlags: SYNC or ASYNC alone, else the default from
 * lazyfree-lazy-user-flush. */
static void flush_generic(struct cmd_ctx *c)
{
	unsigned s;
	bool async;

	if (c->argc == 1) {
		async = c->env->cfg->lazyfree_lazy_user_flush;
	} else if (c->argc == 2 && cmd_arg_cstr_eq(&c->argv[1], "sync")) {
		async = false;
	} else if (c->argc == 2 && cmd_arg_cstr_eq(&c->argv[1], "async")) {
		async = true;
	} else {
		cmd_syntax_error(c);
		return;
	}
	for (s = 0; s < cmd_nshards(c); s++) {
		struct keyspace *ks = cmd_keyspace(c, s);
		ks_flush(ks, async);
		ASSERT(ks_size(ks) == 0);
	}
	reply_ok(c->r);
}

void cmd_flushdb(struct cmd_ctx *c)
{
	flush_generic(c);
}

void cmd_flushall(struct cmd_ctx *c)
{
	/* One database: FLUSHALL empties the same keyspace as FLUSHDB. */
	flush_generic(c);
}

/* ---- OBJECT ---- */

/* Redis's objectCommandLookupOrReply: a no-touch lookup that reports no
 * keymiss (LOOKUP_NONOTIFY), null if missing. */
static struct kv *object_lookup(struct cmd_ctx *c)
{
	struct kv *e = cmd_lookup_key_nonotify(c, &c->argv[2]);

	if (e == NULL)
		reply_null(c->r);
	return e;
}

void cmd_object_encoding(struct cmd_ctx *c)
{
	struct kv *e = object_lookup(c);

	if (e != NULL)
		reply_bulk_cstr(c->r, ks_encoding_name(cmd_ks(c, c->argv[2].p, c->argv[2].len), e));
}

void cmd_object_refcount(struct cmd_ctx *c)
{
	struct kv *e = object_lookup(c);

	if (e != NULL)
		reply_int(c->r, ks_refcount(e));
}

void cmd_object_idletime(struct cmd_ctx *c)
{
	struct kv *e = object_lookup(c);

	if (e == NULL)
		return;
	/* The field holds what the policy keeps (data/policy.h). */
	switch (c->ks->pol.mode) {
	case POLICY_MODE_LFU: reply_error(c->r, ERR_LFU_IDLE); break;
	case POLICY_MODE_SIEVE: reply_error(c->r, ERR_SIEVE_IDLE); break;
	case POLICY_MODE_LRU: reply_int(c->r, (long long)(ks_idle_ms(c->ks, e) / 1000)); break;
	}
}

void cmd_object_freq(struct cmd_ctx *c)
{
	/* The key is looked up first: a missing key answers null, not the
	 * policy error. */
	struct kv *e = object_lookup(c);

	if (e == NULL)
		return;
	if (c->ks->pol.mode != POLICY_MODE_LFU)
		reply_error(c->r, ERR_NO_LFU);
	else
		reply_int(c->r, policy_lfu_freq(&c->ks->pol, e, c->ks->now_ms));
}

void cmd_object_help(struct cmd_ctx *c)
{
	/* Redis's own text: cairn has every subcommand it lists. */
	static const char *const help[] = {
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
	};

	cmd_reply_help(c, "OBJECT", help, sizeof(help) / sizeof(help[0]));
}

/* ---- MEMORY ---- */

/* MEMORY USAGE key [SAMPLES n]: options first; then, as Redis, a plain
 * dictionary find (no expiry, no stats), so an expired key not yet
 * reclaimed still has a size. The size is cairn's own account of the entry
 * (ks_entry_mem); strings have no nested values, so SAMPLES is checked and
 * otherwise unused. */
void cmd_memory_usage(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[2];
	struct kv *e;
	long long samples;
	int i;

	for (i = 3; i < c->argc; i += 2) {
		if (!cmd_arg_cstr_eq(&c->argv[i], "samples") || i + 1 >= c->argc) {
			cmd_syntax_error(c);
			return;
		}
		if (!cmd_arg_ll(c, &c->argv[i + 1], &samples, NULL))
			return;
		if (samples < 0) {
			cmd_syntax_error(c);
			return;
		}
	}
	e = dict_find(&c->ks->d, key->p, key->len, ks_hash(c->ks, key->p, key->len), NULL);
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	ASSERT(kv_key_eq(e, key->p, key->len));
	reply_int(c->r, (long long)ks_entry_mem(c->ks, e));
}

void cmd_memory_help(struct cmd_ctx *c)
{
	/* Redis 7.0's text: cairn has every subcommand it lists. */
	static const char *const help[] = {
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	};

	cmd_reply_help(c, "MEMORY", help, sizeof(help) / sizeof(help[0]));
}
