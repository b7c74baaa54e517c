/* cmd_string.c: the string commands (GET, SET and its variants, GETEX, GETDEL,
 * MGET, MSET, APPEND, GETRANGE, SETRANGE, INCR and friends).
 *
 * Each handler follows Redis 7.0's t_string.c: the same checks in the same
 * order, so that when several errors apply the same one wins, and the same
 * lookups (read lookups count keyspace hits and misses, write lookups do not;
 * both expire lazily, which INFO's expired_keys sees). A key of another type
 * gets WRONGTYPE wherever Redis checks the type (cmd_lookup_read/_write),
 * and is overwritten where Redis overwrites it (SET without GET, MSET), read
 * as missing by MGET and as present by SETNX and MSETNX. The stored encoding
 * follows Redis too, so OBJECT ENCODING agrees: SET-like commands use
 * tryObjectEncoding (str_kval), APPEND and SETRANGE leave raw bytes, INCR
 * stores an int and INCRBYFLOAT a plain string. Handlers never re-check arity:
 * cmd_check() did. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"

/* ---- shared helpers ---- */

/* Replies e's value as a bulk, or a null when e is NULL. A big value is sent
 * by reference, so the key may be overwritten while the write is in flight. */
static void str_reply_value(struct cmd_ctx *c, const struct kv *e)
{
	char buf[UTIL_LL_CHARS];
	const char *p;
	size_t n;

	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	ASSERT(e->type == KV_STRING);
	if (e->enc == KV_REF) {
		reply_bulk_val(c->r, kv_ref(e));
		return;
	}
	p = str_value(e, buf, &n);
	reply_bulk(c->r, p, n);
}

/* Stores argv[vi] under key argv[ki] as a freshly written string (Redis's
 * tryObjectEncoding); a big argument's buffer is adopted, not copied. */
static inline struct keyspace *str_store_quiet(struct cmd_ctx *c, int ki, int vi, int64_t expire_ms)
{
	const struct cmd_arg *k = &c->argv[ki], *v = &c->argv[vi];
	struct keyspace *ks = cmd_ks(c, k->p, k->len);
	struct kval kval;

	str_kval(&kval, v->p, v->len, v->val);
	ks_set(ks, k->p, k->len, &kval, expire_ms);
	return ks;
}

/* The same, reported as SET reports it: "set", and "expire" with a TTL. */
static void str_store_arg(struct cmd_ctx *c, int ki, int vi, int64_t expire_ms)
{
	const struct cmd_arg *k = &c->argv[ki];
	struct keyspace *ks = str_store_quiet(c, ki, vi, expire_ms);

	ks_notify(ks, CONFIG_NOTIFY_STRING, "set", k->p, k->len);
	if (expire_ms != KS_TTL_NONE && expire_ms != KS_TTL_KEEP)
		ks_notify(ks, CONFIG_NOTIFY_GENERIC, "expire", k->p, k->len);
}

/* Redis refuses a string longer than proto-max-bulk-len. Both parts are at
 * most LLONG_MAX and 4 GB, so their sum cannot wrap in 64 unsigned bits. */
static bool str_len_ok(struct cmd_ctx *c, long long base, size_t add)
{
	ASSERT(base >= 0);
	if ((unsigned long long)base + add > (unsigned long long)c->env->cfg->proto_max_bulk_len) {
		reply_error(c->r, ERR_STRING_TOO_LONG);
		return false;
	}
	return true;
}

/* ---- SET options (SET and GETEX share Redis's parser) ---- */

#define STR_NX (1u << 0)
#define STR_XX (1u << 1)
#define STR_GET (1u << 2)
#define STR_KEEPTTL (1u << 3)
#define STR_PERSIST (1u << 4)
#define STR_EX (1u << 5)
#define STR_PX (1u << 6)
#define STR_EXAT (1u << 7)
#define STR_PXAT (1u << 8)
#define STR_TTL_ANY (STR_EX | STR_PX | STR_EXAT | STR_PXAT)

/* One option: the options it may not follow, whether it takes a value, and
 * which command accepts it. As in Redis, an option does not conflict with
 * itself ("EX 1 EX 2" keeps the last), and an option that needs a value but
 * comes last is a syntax error. */
struct str_opt {
	const char *name;
	unsigned flag;
	unsigned conflicts;
	bool has_arg;
	bool for_set, for_getex;
};

static const struct str_opt str_opts[] = {
	{ "nx", STR_NX, STR_XX, false, true, false },
	{ "xx", STR_XX, STR_NX, false, true, false },
	{ "get", STR_GET, 0, false, true, false },
	{ "keepttl", STR_KEEPTTL, STR_PERSIST | STR_TTL_ANY, false, true, false },
	{ "persist", STR_PERSIST, STR_KEEPTTL | STR_TTL_ANY, false, false, true },
	{ "ex", STR_EX, STR_KEEPTTL | STR_PERSIST | (STR_TTL_ANY & ~STR_EX), true, true, true },
	{ "px", STR_PX, STR_KEEPTTL | STR_PERSIST | (STR_TTL_ANY & ~STR_PX), true, true, true },
	{ "exat", STR_EXAT, STR_KEEPTTL | STR_PERSIST | (STR_TTL_ANY & ~STR_EXAT), true, true,
	  true },
	{ "pxat", STR_PXAT, STR_KEEPTTL | STR_PERSIST | (STR_TTL_ANY & ~STR_PXAT), true, true,
	  true },
};

struct str_args {
	unsigned flags;
	const struct cmd_arg *expire; /* the value of EX/PX/EXAT/PXAT, or NULL */
};

/* Parses options from argv[first] on, for SET (for_set) or GETEX. Replies
 * "syntax error" and returns false on an unknown, misplaced or conflicting
 * option. */
static bool str_parse_args(struct cmd_ctx *c, int first, bool for_set, struct str_args *out)
{
	int j;
	size_t k;

	out->flags = 0;
	out->expire = NULL;
	for (j = first; j < c->argc; j++) {
		const struct str_opt *o = NULL;
		for (k = 0; k < sizeof(str_opts) / sizeof(str_opts[0]); k++) {
			if (cmd_arg_cstr_eq(&c->argv[j], str_opts[k].name)) {
				o = &str_opts[k];
				break;
			}
		}
		if (o == NULL || (for_set ? !o->for_set : !o->for_getex) ||
		    (out->flags & o->conflicts) || (o->has_arg && j == c->argc - 1)) {
			cmd_syntax_error(c);
			return false;
		}
		out->flags |= o->flag;
		if (o->has_arg)
			out->expire = &c->argv[++j];
	}
	ASSERT((out->expire != NULL) == ((out->flags & STR_TTL_ANY) != 0));
	return true;
}

/* Turns the value of EX/PX/EXAT/PXAT (flags says which) into an absolute
 * time in ms, with Redis's checks: an integer, above zero, and no overflow
 * when scaled to ms or made absolute. The error names the command. */
static bool str_expire_at(struct cmd_ctx *c, const struct cmd_arg *a, unsigned flags, int64_t *out)
{
	bool secs = (flags & (STR_EX | STR_EXAT)) != 0;
	long long t;

	ASSERT(c->now_ms >= 0);
	if (!cmd_arg_ll(c, a, &t, NULL))
		return false;
	if (t <= 0 || (secs && t > LLONG_MAX / 1000))
		goto bad;
	if (secs)
		t *= 1000;
	if (flags & (STR_EX | STR_PX)) {
		if (t > LLONG_MAX - c->now_ms)
			goto bad;
		t += c->now_ms;
	}
	*out = t;
	return true;
bad:
	reply_errorf(c->r, "invalid expire time in '%s' command", c->cmd->fullname);
	return false;
}

/* ---- GET, SET and friends ---- */

void cmd_get(struct cmd_ctx *c)
{
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		str_reply_value(c, e);
}

/* The replies of a SET-like command: after a set, and when NX or XX stopped
 * it. SETNX answers 1 and 0 where SET answers OK and null. */
enum str_set_reply { STR_REPLY_OK_NULL, STR_REPLY_ONE_ZERO };

/* Sets argv[1] to argv[vi] as Redis's setGenericCommand: with GET the old
 * value is the reply (and NX/XX only decide whether to write), else the
 * reply says whether it wrote. expire_ms is absolute, or KS_TTL_NONE or
 * KS_TTL_KEEP. */
/* SET's GET option: the old value is the reply. Returns false after a
 * WRONGTYPE (nothing is set); *found says whether the key exists. Out of
 * line, so that a plain SET stays small enough to inline. */
static __attribute__((noinline)) bool str_get_old(struct cmd_ctx *c, bool *found)
{
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		return false;
	str_reply_value(c, e);
	*found = e != NULL;
	return true;
}

static inline __attribute__((always_inline)) void str_set_generic(struct cmd_ctx *c, unsigned flags,
								  int vi, int64_t expire_ms,
								  enum str_set_reply rk)
{
	const struct cmd_arg *key = &c->argv[1];
	bool found;

	ASSERT(vi >= 2);
	ASSERT(vi < c->argc);
	if (flags & STR_GET) {
		if (!str_get_old(c, &found))
			return;
	} else {
		/* Without GET, a key of any type is overwritten (or, with NX,
		 * kept), as in Redis. */
		found = ks_lookup_write(c->ks, key->p, key->len) != NULL;
	}
	if (((flags & STR_NX) && found) || ((flags & STR_XX) && !found)) {
		if (flags & STR_GET)
			return;
		if (rk == STR_REPLY_ONE_ZERO)
			reply_int(c->r, 0);
		else
			reply_null(c->r);
		return;
	}
	str_store_arg(c, 1, vi, expire_ms);
	if (flags & STR_GET)
		return;
	if (rk == STR_REPLY_ONE_ZERO)
		reply_int(c->r, 1);
	else
		reply_ok(c->r);
}

void cmd_set(struct cmd_ctx *c)
{
	struct str_args a;
	int64_t when = KS_TTL_NONE;

	if (!str_parse_args(c, 3, true, &a))
		return;
	if (a.expire != NULL && !str_expire_at(c, a.expire, a.flags, &when))
		return;
	if (a.flags & STR_KEEPTTL)
		when = KS_TTL_KEEP;
	str_set_generic(c, a.flags, 2, when, STR_REPLY_OK_NULL);
}

void cmd_setnx(struct cmd_ctx *c)
{
	str_set_generic(c, STR_NX, 2, KS_TTL_NONE, STR_REPLY_ONE_ZERO);
}

/* SETEX and PSETEX: SET key value EX|PX time, with the time first. */
static void str_setex(struct cmd_ctx *c, unsigned unit_flag)
{
	int64_t when;

	if (!str_expire_at(c, &c->argv[2], unit_flag, &when))
		return;
	str_set_generic(c, unit_flag, 3, when, STR_REPLY_OK_NULL);
}

void cmd_setex(struct cmd_ctx *c)
{
	str_setex(c, STR_EX);
}

void cmd_psetex(struct cmd_ctx *c)
{
	str_setex(c, STR_PX);
}

void cmd_getset(struct cmd_ctx *c)
{
	str_set_generic(c, STR_GET, 2, KS_TTL_NONE, STR_REPLY_OK_NULL);
}

void cmd_getdel(struct cmd_ctx *c)
{
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		return;
	str_reply_value(c, e);
	if (e != NULL) {
		ks_delete_entry(c->ks, e);
		ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "del", c->argv[1].p, c->argv[1].len);
	}
}

/* GETEX's event after its change (a "del" deletes e first). */
static void getex_notify(struct cmd_ctx *c, struct kv *e, const char *event)
{
	if (event[0] == 'd')
		ks_delete_entry(c->ks, e);
	ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, event, c->argv[1].p, c->argv[1].len);
}

/* GETEX: the value, then the TTL change. Options are checked before the
 * lookup, the expire time only when the key exists (a missing key answers
 * null even with "EX 0"), and an EXAT/PXAT already past deletes the key. */
void cmd_getex(struct cmd_ctx *c)
{
	struct str_args a;
	struct kv *e;
	int64_t when = KS_TTL_NONE;

	if (!str_parse_args(c, 2, false, &a))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	if (a.expire != NULL && !str_expire_at(c, a.expire, a.flags, &when))
		return;
	str_reply_value(c, e);
	if ((a.flags & (STR_EXAT | STR_PXAT)) && when <= c->now_ms)
		getex_notify(c, e, "del");
	else if (a.expire != NULL)
		getex_notify(c, ks_set_expire(c->ks, e, when), "expire");
	else if ((a.flags & STR_PERSIST) && kv_has_ttl(e))
		getex_notify(c, ks_persist(c->ks, e), "persist");
}

/* ---- several keys (on several shards, which are then locked) ---- */

/* A key of another type is a null, as Redis's MGET answers. */
void cmd_mget(struct cmd_ctx *c)
{
	int j;

	reply_array(c->r, c->argc - 1);
	for (j = 1; j < c->argc; j++) {
		const struct cmd_arg *k = &c->argv[j];
		struct kv *e = ks_lookup_read(cmd_ks(c, k->p, k->len), k->p, k->len);
		str_reply_value(c, e != NULL && e->type == KV_STRING ? e : NULL);
	}
}

/* MSET and MSETNX take pairs; an odd count is an arity error that only the
 * handler can see. */
static bool str_pairs_ok(struct cmd_ctx *c)
{
	if (c->argc % 2 == 1)
		return true;
	reply_errorf(c->r, "wrong number of arguments for '%s' command", c->cmd->fullname);
	return false;
}

void cmd_mset(struct cmd_ctx *c)
{
	int j;

	if (!str_pairs_ok(c))
		return;
	for (j = 1; j < c->argc; j += 2) {
		/* Redis's setKey looks the key up for writing first, which
		 * expires a stale key and counts it in expired_keys. */
		const struct cmd_arg *k = &c->argv[j];
		ks_lookup_write(cmd_ks(c, k->p, k->len), k->p, k->len);
		str_store_arg(c, j, j + 1, KS_TTL_NONE);
	}
	reply_ok(c->r);
}

/* Sets every pair, or none if any key exists. A key given twice is set
 * twice: the last value wins, as in Redis. */
void cmd_msetnx(struct cmd_ctx *c)
{
	int j;

	if (!str_pairs_ok(c))
		return;
	for (j = 1; j < c->argc; j += 2) {
		const struct cmd_arg *k = &c->argv[j];
		if (ks_lookup_write(cmd_ks(c, k->p, k->len), k->p, k->len) != NULL) {
			reply_int(c->r, 0);
			return;
		}
	}
	for (j = 1; j < c->argc; j += 2)
		str_store_arg(c, j, j + 1, KS_TTL_NONE);
	reply_int(c->r, 1);
}

/* ---- lengths and ranges ---- */

void cmd_strlen(struct cmd_ctx *c)
{
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		reply_int(c->r, e != NULL ? (long long)str_value_len(e) : 0);
}

/* A missing key is created as if the argument were SET (so "APPEND k 12"
 * stores an int); an existing one becomes raw bytes, even for an empty
 * suffix, as Redis unshares the value before appending. */
void cmd_append(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[1], *add = &c->argv[2];
	struct kv *e;
	size_t olen;
	char *p;

	if (!cmd_lookup_write(c, c->ks, key, KV_STRING, &e))
		return;
	if (e == NULL) {
		str_store_quiet(c, 1, 2, KS_TTL_NONE);
		ks_notify(c->ks, CONFIG_NOTIFY_STRING, "append", key->p, key->len);
		reply_int(c->r, (long long)add->len);
		return;
	}
	olen = str_value_len(e);
	if (!str_len_ok(c, (long long)olen, add->len))
		return;
	p = ks_edit(c->ks, &e, olen + add->len);
	memcpy(p + olen, add->p, add->len);
	ASSERT(str_value_len(e) == olen + add->len);
	ks_notify(c->ks, CONFIG_NOTIFY_STRING, "append", key->p, key->len);
	reply_int(c->r, (long long)(olen + add->len));
}

/* Redis 7.0's getrange: both ends are checked as integers before the
 * lookup; a missing key, an empty value or an empty range answer an empty
 * bulk (never null); two negative ends in the wrong order are empty at once,
 * before clamping could turn them into the first byte. */
void cmd_getrange(struct cmd_ctx *c)
{
	char buf[UTIL_LL_CHARS];
	long long start, end, len;
	const char *p;
	struct kv *e;
	size_t n;

	if (!cmd_arg_ll(c, &c->argv[2], &start, NULL) || !cmd_arg_ll(c, &c->argv[3], &end, NULL))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		return;
	if (e == NULL || (start < 0 && end < 0 && start > end)) {
		reply_bulk(c->r, "", 0);
		return;
	}
	p = str_value(e, buf, &n);
	len = (long long)n;
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0) {
		reply_bulk(c->r, "", 0);
		return;
	}
	ASSERT(start >= 0);
	ASSERT(end < len);
	reply_bulk(c->r, p + start, (size_t)(end - start + 1));
}

/* SUBSTR is GETRANGE's old name, which Redis 7 still answers. */
void cmd_substr(struct cmd_ctx *c)
{
	cmd_getrange(c);
}

/* Checks in Redis's order: offset an integer, not negative; then an empty
 * value answers the current length without creating or changing anything;
 * then the size limit. The result is raw bytes, zero-filled up to offset. */
void cmd_setrange(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[1], *val = &c->argv[3];
	size_t olen = 0, newlen;
	long long off;
	struct kv *e;
	char *p;

	if (!cmd_arg_ll(c, &c->argv[2], &off, NULL))
		return;
	if (off < 0) {
		reply_error(c->r, ERR_OFFSET_RANGE);
		return;
	}
	if (!cmd_lookup_write(c, c->ks, key, KV_STRING, &e))
		return;
	if (e != NULL)
		olen = str_value_len(e);
	if (val->len == 0) {
		reply_int(c->r, (long long)olen);
		return;
	}
	if (!str_len_ok(c, off, val->len))
		return;
	if (e == NULL) {
		struct kval empty;
		str_kval_raw(&empty, "", 0);
		e = ks_set(c->ks, key->p, key->len, &empty, KS_TTL_NONE);
	}
	newlen = (size_t)off + val->len > olen ? (size_t)off + val->len : olen;
	p = ks_edit(c->ks, &e, newlen);
	memcpy(p + off, val->p, val->len);
	ASSERT(str_value_len(e) == newlen);
	ks_notify(c->ks, CONFIG_NOTIFY_STRING, "setrange", key->p, key->len);
	reply_int(c->r, (long long)newlen);
}

/* ---- counters ---- */

/* The value as Redis's getLongLongFromObject reads it: an int as is, bytes
 * only when they are a canonical decimal. */
static bool str_value_ll(const struct kv *e, long long *out)
{
	char buf[UTIL_LL_CHARS];
	const char *p;
	size_t n;

	if (e->enc == KV_INT) {
		*out = kv_int(e);
		return true;
	}
	p = str_value(e, buf, &n);
	return util_str2ll(p, n, out);
}

/* Adds incr to the integer at argv[1] (0 when missing), keeping its TTL. */
static void str_incr_by(struct cmd_ctx *c, long long incr)
{
	const struct cmd_arg *key = &c->argv[1];
	long long old = 0;
	struct kval v;
	struct kv *e;

	if (!cmd_lookup_write(c, c->ks, key, KV_STRING, &e))
		return;
	if (e != NULL && !str_value_ll(e, &old)) {
		reply_error(c->r, ERR_NOT_INT);
		return;
	}
	if ((incr < 0 && old < 0 && incr < LLONG_MIN - old) ||
	    (incr > 0 && old > 0 && incr > LLONG_MAX - old)) {
		reply_error(c->r, ERR_OVERFLOW);
		return;
	}
	str_kval_int(&v, old + incr);
	ks_set(c->ks, key->p, key->len, &v, KS_TTL_KEEP);
	ks_notify(c->ks, CONFIG_NOTIFY_STRING, "incrby", key->p, key->len);
	reply_int(c->r, old + incr);
}

void cmd_incr(struct cmd_ctx *c)
{
	str_incr_by(c, 1);
}

void cmd_decr(struct cmd_ctx *c)
{
	str_incr_by(c, -1);
}

void cmd_incrby(struct cmd_ctx *c)
{
	long long incr;

	if (cmd_arg_ll(c, &c->argv[2], &incr, NULL))
		str_incr_by(c, incr);
}

/* LLONG_MIN cannot be negated; Redis 7.0 has its own error for it, sent
 * even when the key holds no integer. */
void cmd_decrby(struct cmd_ctx *c)
{
	long long incr;

	if (!cmd_arg_ll(c, &c->argv[2], &incr, NULL))
		return;
	if (incr == LLONG_MIN) {
		reply_error(c->r, "decrement would overflow");
		return;
	}
	str_incr_by(c, -incr);
}

/* The value as Redis's getLongDoubleFromObject reads it. */
static bool str_value_ld(const struct kv *e, long double *out)
{
	char buf[UTIL_LL_CHARS];
	const char *p;
	size_t n;

	if (e->enc == KV_INT) {
		*out = (long double)kv_int(e);
		return true;
	}
	p = str_value(e, buf, &n);
	return util_str2ld(p, n, out);
}

/* The sum is stored as the text the client receives ("%.17Lf" trimmed), as
 * a plain string (embstr even for "3"), keeping the TTL. The key's value is
 * checked before the increment; both fail with the same error. */
void cmd_incrbyfloat(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[1], *arg = &c->argv[2];
	long double value = 0, incr;
	char buf[LONG_DOUBLE_CHARS_MAX];
	struct kval v;
	struct kv *e;
	int n;

	if (!cmd_lookup_write(c, c->ks, key, KV_STRING, &e))
		return;
	if ((e != NULL && !str_value_ld(e, &value)) || !util_str2ld(arg->p, arg->len, &incr)) {
		reply_error(c->r, ERR_NOT_FLOAT);
		return;
	}
	value += incr;
	if (isnan(value) || isinf(value)) {
		reply_error(c->r, ERR_NAN_INF);
		return;
	}
	n = util_ld2str(buf, sizeof(buf), value);
	ASSERT(n > 0);
	str_kval_str(&v, buf, (size_t)n);
	ks_set(c->ks, key->p, key->len, &v, KS_TTL_KEEP);
	ks_notify(c->ks, CONFIG_NOTIFY_STRING, "incrbyfloat", key->p, key->len);
	reply_bulk(c->r, buf, (size_t)n);
}
