/* cmd_expire.c: the TTL and EXPIRE families (TTL, PTTL, EXPIRETIME,
 * PEXPIRETIME, PERSIST, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT).
 *
 * Each handler follows Redis 7.0's expire.c: the same order of checks, the
 * same lookups (the TTL family looks keys up without touching the LRU clock,
 * the others as writes), and the same error texts. Options are compared as
 * Redis compares them, as C strings (strcasecmp), so bytes after a NUL in an
 * option do not count. */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"

/* Error texts of the expire commands (the funnel prepends "ERR "). */
#define ERR_EXPIRE_NX "NX and XX, GT or LT options at the same time are not compatible"
#define ERR_EXPIRE_GTLT "GT and LT options at the same time are not compatible"

/* EXPIRE options, as Redis's EXPIRE_NX..EXPIRE_LT. */
#define EXPIRE_F_NX (1u << 0)
#define EXPIRE_F_XX (1u << 1)
#define EXPIRE_F_GT (1u << 2)
#define EXPIRE_F_LT (1u << 3)

/* ---- helpers ---- */

/* "Unsupported option <opt>" as Redis's addReplyErrorFormat builds it: the
 * option is a C string, and CR and LF at the ends of the text are trimmed
 * (the funnel turns the ones inside into spaces). */
static void reply_unsupported_option(struct cmd_ctx *c, const struct cmd_arg *a)
{
	static const char prefix[] = "Unsupported option ";
	const size_t plen = sizeof(prefix) - 1;
	size_t n = strnlen(a->p, a->len);
	char small[256], *msg = small;

	while (n > 0 && (a->p[n - 1] == '\r' || a->p[n - 1] == '\n'))
		n--;
	if (plen + n > sizeof(small))
		msg = mem_alloc(c->env->mem, plen + n);
	memcpy(msg, prefix, plen);
	memcpy(msg + plen, a->p, n);
	reply_error_len(c->r, msg, plen + n);
	if (msg != small)
		mem_free(c->env->mem, msg);
}

/* ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST ---- */

/* Redis's ttlGenericCommand: -2 without the key, -1 without a TTL, else the
 * remaining (or absolute) time, rounded to the nearest second unless ms. */
static void ttl_generic(struct cmd_ctx *c, bool ms, bool absolute)
{
	struct kv *e = cmd_lookup_key_notouch(c, &c->argv[1]);
	long long t;

	if (e == NULL) {
		reply_int(c->r, -2);
		return;
	}
	if (!kv_has_ttl(e)) {
		reply_int(c->r, -1);
		return;
	}
	t = absolute ? kv_expire(e) : kv_expire(e) - c->now_ms;
	if (t < 0)
		t = 0;
	/* Unsigned, so that an expire near LLONG_MAX rounds as Redis answers
	 * (9223372036854776 for PEXPIREAT k 9223372036854775807). */
	reply_int(c->r, ms ? t : (long long)(((unsigned long long)t + 500) / 1000));
}

void cmd_ttl(struct cmd_ctx *c)
{
	ttl_generic(c, false, false);
}

void cmd_pttl(struct cmd_ctx *c)
{
	ttl_generic(c, true, false);
}

void cmd_expiretime(struct cmd_ctx *c)
{
	ttl_generic(c, false, true);
}

void cmd_pexpiretime(struct cmd_ctx *c)
{
	ttl_generic(c, true, true);
}

void cmd_persist(struct cmd_ctx *c)
{
	struct kv *e = ks_lookup_write(c->ks, c->argv[1].p, c->argv[1].len);

	if (e == NULL || !kv_has_ttl(e)) {
		reply_int(c->r, 0);
		return;
	}
	e = ks_persist(c->ks, e);
	ASSERT(!kv_has_ttl(e));
	ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "persist", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, 1);
}

/* ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT ---- */

/* Redis's parseExtendedExpireArgumentsOrReply: every option is parsed
 * before the conflict checks, and all of it before the time argument. */
static bool expire_parse_flags(struct cmd_ctx *c, unsigned *flags)
{
	int i;

	*flags = 0;
	for (i = 3; i < c->argc; i++) {
		if (cmd_arg_cstr_eq(&c->argv[i], "nx")) {
			*flags |= EXPIRE_F_NX;
		} else if (cmd_arg_cstr_eq(&c->argv[i], "xx")) {
			*flags |= EXPIRE_F_XX;
		} else if (cmd_arg_cstr_eq(&c->argv[i], "gt")) {
			*flags |= EXPIRE_F_GT;
		} else if (cmd_arg_cstr_eq(&c->argv[i], "lt")) {
			*flags |= EXPIRE_F_LT;
		} else {
			reply_unsupported_option(c, &c->argv[i]);
			return false;
		}
	}
	if ((*flags & EXPIRE_F_NX) && (*flags & (EXPIRE_F_XX | EXPIRE_F_GT | EXPIRE_F_LT))) {
		reply_error(c->r, ERR_EXPIRE_NX);
		return false;
	}
	if ((*flags & EXPIRE_F_GT) && (*flags & EXPIRE_F_LT)) {
		reply_error(c->r, ERR_EXPIRE_GTLT);
		return false;
	}
	return true;
}

/* Whether the options let the new time `when` replace current (-1: none). */
static bool expire_flags_allow(unsigned flags, long long current, long long when)
{
	if ((flags & EXPIRE_F_NX) && current != -1)
		return false;
	if ((flags & EXPIRE_F_XX) && current == -1)
		return false;
	/* No TTL counts as infinite: GT always fails then, LT always passes. */
	if ((flags & EXPIRE_F_GT) && (current == -1 || when <= current))
		return false;
	if ((flags & EXPIRE_F_LT) && current != -1 && when >= current)
		return false;
	return true;
}

/* Redis's expireGenericCommand. basetime is now (relative forms) or 0. */
static void expire_generic(struct cmd_ctx *c, long long basetime, bool seconds)
{
	unsigned flags;
	long long when;
	struct kv *e;

	ASSERT(basetime >= 0);
	if (!expire_parse_flags(c, &flags) || !cmd_arg_ll(c, &c->argv[2], &when, NULL))
		return;
	/* Negative times are allowed (they delete), but not overflow. */
	if (seconds && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)) {
		reply_errorf(c->r, "invalid expire time in '%s' command", c->cmd->fullname);
		return;
	}
	if (seconds)
		when *= 1000;
	if (when > LLONG_MAX - basetime) {
		reply_errorf(c->r, "invalid expire time in '%s' command", c->cmd->fullname);
		return;
	}
	when += basetime;
	e = ks_lookup_write(c->ks, c->argv[1].p, c->argv[1].len);
	if (e == NULL || !expire_flags_allow(flags, kv_has_ttl(e) ? kv_expire(e) : -1, when)) {
		reply_int(c->r, 0);
		return;
	}
	/* A time already reached deletes at once: Redis tests when <= now
	 * here, though lazy expiry waits until now > when. */
	if (when <= c->now_ms) {
		ks_delete_entry(c->ks, e);
		ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "del", c->argv[1].p, c->argv[1].len);
	} else {
		e = ks_set_expire(c->ks, e, when);
		ASSERT(kv_has_ttl(e));
		ASSERT(kv_expire(e) == when);
		ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "expire", c->argv[1].p, c->argv[1].len);
	}
	reply_int(c->r, 1);
}

void cmd_expire(struct cmd_ctx *c)
{
	expire_generic(c, c->now_ms, true);
}

void cmd_pexpire(struct cmd_ctx *c)
{
	expire_generic(c, c->now_ms, false);
}

void cmd_expireat(struct cmd_ctx *c)
{
	expire_generic(c, 0, true);
}

void cmd_pexpireat(struct cmd_ctx *c)
{
	expire_generic(c, 0, false);
}
