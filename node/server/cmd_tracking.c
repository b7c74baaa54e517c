/* cmd_tracking.c: client-side caching's commands: CLIENT TRACKING,
 * CACHING, GETREDIR and TRACKINGINFO, with Redis 7.0's checks, in its
 * order and its words. CLIENT TRACKING runs with every shard locked, so
 * that its REDIRECT client can be looked up on whichever shard holds it;
 * the tracking itself is shard/caching.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/caching.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/shard.h"

/* What CLIENT TRACKING's options asked. */
struct tracking_opts {
	long long redirect;
	uint32_t modes;
	const struct cmd_arg **prefixes;
	int n;
};

/* Whether a client with this id is connected to the node (Redis's
 * lookupClientByID; CLIENT TRACKING holds every shard). */
static bool client_exists(struct cmd_ctx *c, long long id)
{
	unsigned s;

	if (id <= 0)
		return false;
	s = (unsigned)((unsigned long long)id % c->env->nshards);
	return conns_find_id(&shard_at(c, s)->conns, (uint64_t)id) != NULL;
}

/* Parses the options after ON|OFF (Redis parses them for OFF too). false:
 * it has replied the error. */
static bool parse_opts(struct cmd_ctx *c, struct tracking_opts *o)
{
	int j;

	for (j = 3; j < c->argc; j++) {
		bool more = j + 1 < c->argc;
		const struct cmd_arg *a = &c->argv[j];
		if (cmd_arg_eq(a, "redirect") && more) {
			j++;
			if (o->redirect != 0) {
				reply_error(c->r,
					    "A client can only redirect to a single other client");
				return false;
			}
			if (!cmd_arg_ll(c, &c->argv[j], &o->redirect, NULL))
				return false;
			if (!client_exists(c, o->redirect)) {
				reply_error(c->r,
					    "The client ID you want redirect to does not exist");
				return false;
			}
		} else if (cmd_arg_eq(a, "bcast")) {
			o->modes |= CONN_F_TRK_BCAST;
		} else if (cmd_arg_eq(a, "optin")) {
			o->modes |= CONN_F_TRK_OPTIN;
		} else if (cmd_arg_eq(a, "optout")) {
			o->modes |= CONN_F_TRK_OPTOUT;
		} else if (cmd_arg_eq(a, "noloop")) {
			o->modes |= CONN_F_TRK_NOLOOP;
		} else if (cmd_arg_eq(a, "prefix") && more) {
			o->prefixes[o->n++] = &c->argv[++j];
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

/* Redis's checkPrefixCollisionsOrReply: no new prefix may overlap one the
 * client has, nor another new one (one being a prefix of the other). */
static bool prefixes_ok(struct cmd_ctx *c, const struct conn *conn, const struct tracking_opts *o)
{
	int i, j;

	for (i = 0; i < o->n; i++) {
		const struct cmd_arg *p = o->prefixes[i];
		size_t len;
		const char *old = caching_overlap(conn, p->p, p->len, &len);
		if (old != NULL) {
			reply_errorf(c->r,
				     "-ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
				     "Prefixes for a single client must not overlap.",
				     (int)strnlen(p->p, p->len), p->p, (int)strnlen(old, len), old);
			return false;
		}
		for (j = i + 1; j < o->n; j++) {
			const struct cmd_arg *q = o->prefixes[j];
			size_t m = p->len < q->len ? p->len : q->len;
			if (memcmp(p->p, q->p, m) != 0)
				continue;
			reply_errorf(
				c->r,
				"-ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
				"Prefixes for a single client must not overlap.",
				(int)strnlen(p->p, p->len), p->p, (int)strnlen(q->p, q->len), q->p);
			return false;
		}
	}
	return true;
}

/* The checks of CLIENT TRACKING ON, in Redis's order. */
static bool on_ok(struct cmd_ctx *c, const struct conn *conn, const struct tracking_opts *o)
{
	const char *why = NULL;
	uint32_t f = conn->flags;

	if (!(o->modes & CONN_F_TRK_BCAST) && o->n > 0)
		why = "PREFIX option requires BCAST mode to be enabled";
	else if ((f & CONN_F_TRACKING) && ((f ^ o->modes) & CONN_F_TRK_BCAST))
		why = "You can't switch BCAST mode on/off before disabling tracking for this "
		      "client, "
		      "and then re-enabling it with a different mode.";
	else if ((o->modes & CONN_F_TRK_BCAST) &&
		 (o->modes & (CONN_F_TRK_OPTIN | CONN_F_TRK_OPTOUT)))
		why = "OPTIN and OPTOUT are not compatible with BCAST";
	else if ((o->modes & CONN_F_TRK_OPTIN) && (o->modes & CONN_F_TRK_OPTOUT))
		why = "You can't specify both OPTIN mode and OPTOUT mode";
	else if (((o->modes & CONN_F_TRK_OPTIN) && (f & CONN_F_TRK_OPTOUT)) ||
		 ((o->modes & CONN_F_TRK_OPTOUT) && (f & CONN_F_TRK_OPTIN)))
		why = "You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
		      "client, "
		      "and then re-enabling it with a different mode.";
	if (why != NULL) {
		reply_error(c->r, why);
		return false;
	}
	return !(o->modes & CONN_F_TRK_BCAST) || prefixes_ok(c, conn, o);
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN]
 * [OPTOUT] [NOLOOP]. */
void cmd_client_tracking(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	struct caching *cc = &shard_of(c)->cc;
	struct tracking_opts o = { 0 };

	o.prefixes = mem_alloc(c->env->mem, (size_t)c->argc * sizeof(*o.prefixes));
	if (!parse_opts(c, &o))
		goto out;
	if (cmd_arg_eq(&c->argv[2], "on")) {
		if (!on_ok(c, conn, &o))
			goto out;
		caching_enable(cc, conn, (uint64_t)o.redirect, o.modes, o.prefixes, o.n);
	} else if (cmd_arg_eq(&c->argv[2], "off")) {
		caching_disable(cc, conn);
	} else {
		cmd_syntax_error(c);
		goto out;
	}
	reply_ok(c->r);
out:
	mem_free(c->env->mem, o.prefixes);
}

/* CLIENT CACHING YES|NO: for the next command, in OPTIN or OPTOUT mode. */
void cmd_client_caching(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);

	if (!(conn->flags & CONN_F_TRACKING)) {
		reply_error(c->r,
			    "CLIENT CACHING can be called only when the client is in tracking "
			    "mode with OPTIN or OPTOUT mode enabled");
	} else if (cmd_arg_eq(&c->argv[2], "yes")) {
		if (!(conn->flags & CONN_F_TRK_OPTIN)) {
			reply_error(c->r,
				    "CLIENT CACHING YES is only valid when tracking is enabled "
				    "in OPTIN mode.");
			return;
		}
		conn->flags |= CONN_F_TRK_CACHING;
		reply_ok(c->r);
	} else if (cmd_arg_eq(&c->argv[2], "no")) {
		if (!(conn->flags & CONN_F_TRK_OPTOUT)) {
			reply_error(c->r,
				    "CLIENT CACHING NO is only valid when tracking is enabled "
				    "in OPTOUT mode.");
			return;
		}
		conn->flags |= CONN_F_TRK_CACHING;
		reply_ok(c->r);
	} else {
		cmd_syntax_error(c);
	}
}

static long long redirect_of(const struct conn *conn)
{
	return (conn->flags & CONN_F_TRACKING) ? (long long)conn->trk->redirect : -1;
}

void cmd_client_getredir(struct cmd_ctx *c)
{
	reply_int(c->r, redirect_of(server_conn(c)));
}

/* CLIENT TRACKINGINFO: flags (a set), redirect, prefixes, as Redis. */
void cmd_client_trackinginfo(struct cmd_ctx *c)
{
	const struct conn *conn = server_conn(c);
	uint32_t f = conn->flags, i, n;
	const char *flags[8];
	size_t nf = 0, k, len;

	flags[nf++] = (f & CONN_F_TRACKING) ? "on" : "off";
	if (f & CONN_F_TRK_BCAST)
		flags[nf++] = "bcast";
	if (f & CONN_F_TRK_OPTIN) {
		flags[nf++] = "optin";
		if (f & CONN_F_TRK_CACHING)
			flags[nf++] = "caching-yes";
	}
	if (f & CONN_F_TRK_OPTOUT) {
		flags[nf++] = "optout";
		if (f & CONN_F_TRK_CACHING)
			flags[nf++] = "caching-no";
	}
	if (f & CONN_F_TRK_NOLOOP)
		flags[nf++] = "noloop";
	if (f & CONN_F_TRK_BROKEN)
		flags[nf++] = "broken_redirect";
	reply_map(c->r, 3);
	reply_bulk_cstr(c->r, "flags");
	reply_set(c->r, (long long)nf);
	for (k = 0; k < nf; k++)
		reply_bulk_cstr(c->r, flags[k]);
	reply_bulk_cstr(c->r, "redirect");
	reply_int(c->r, redirect_of(conn));
	reply_bulk_cstr(c->r, "prefixes");
	n = conn->trk != NULL ? conn->trk->npfx : 0;
	reply_array(c->r, n);
	for (i = 0; i < n; i++) {
		const char *p = caching_prefix(conn, i, &len);
		reply_bulk(c->r, p, len);
	}
}

static int by_bytes(const void *a, const void *b)
{
	const struct cmd_arg *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->p, y->p, m);

	return d != 0 ? d : (x->len > y->len) - (x->len < y->len);
}

long long server_tracking_prefixes(struct cmd_ctx *c)
{
	size_t n = 0, k = 0, i;
	struct cmd_arg *v;
	unsigned s;
	long long distinct = 0;

	for (s = 0; s < cmd_nshards(c); s++)
		n += shard_at(c, s)->cc.npfx;
	if (n == 0)
		return 0;
	v = mem_alloc(c->env->mem, n * sizeof(*v));
	for (s = 0; s < cmd_nshards(c); s++) {
		const struct caching *cc = &shard_at(c, s)->cc;
		for (i = 0; i < cc->npfx; i++, k++)
			v[k].p = caching_table_prefix(cc, (uint32_t)i, &v[k].len);
	}
	qsort(v, n, sizeof(*v), by_bytes);
	for (i = 0; i < n; i++)
		distinct += i == 0 || by_bytes(&v[i - 1], &v[i]) != 0;
	mem_free(c->env->mem, v);
	return distinct;
}
