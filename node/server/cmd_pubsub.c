/* cmd_pubsub.c: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
 * SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.
 *
 * A connection subscribes on its own shard (shard/pubsub.h). PUBLISH,
 * SPUBLISH and the PUBSUB introspection run with every shard locked (their
 * route is ROUTE_ALL), so the count in PUBLISH's reply is the node's: it
 * delivers to its own shard's subscribers and sends the message to each
 * other shard with receivers, which delivers it as soon as it runs again.
 * Messages from one publisher keep their order (one ring per pair of
 * shards, first in first out).
 *
 * Without a cluster, shard channels are a second namespace of channels: the
 * node holds every slot. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/pubsub.h"
#include "shard/shard.h"
#include "shard/xshard.h"

/* The reply's subscription count: channels and patterns together, or the
 * shard channels (Redis's clientSubscriptionsCount and
 * clientShardSubscriptionsCount). */
static long long subscriptions(const struct conn *conn, enum pubsub_kind k)
{
	if (k == PUBSUB_SHARD)
		return pubsub_count(conn, PUBSUB_SHARD);
	return (long long)pubsub_count(conn, PUBSUB_CHANNEL) + pubsub_count(conn, PUBSUB_PATTERN);
}

static const char *const sub_word[PUBSUB_KINDS] = { "subscribe", "psubscribe", "ssubscribe" };
static const char *const unsub_word[PUBSUB_KINDS] = { "unsubscribe", "punsubscribe",
						      "sunsubscribe" };

/* One confirmation: [word, name (or a null), count], as a push in RESP3. */
static void confirm(struct cmd_ctx *c, const char *word, const char *name, size_t len,
		    enum pubsub_kind k)
{
	reply_push(c->r, 3);
	reply_bulk_cstr(c->r, word);
	if (name != NULL)
		reply_bulk(c->r, name, len);
	else
		reply_null(c->r);
	reply_int(c->r, subscriptions(c->conn, k));
}

static void subscribe(struct cmd_ctx *c, enum pubsub_kind k)
{
	struct conn *conn = server_conn(c);
	int i;

	for (i = 1; i < c->argc; i++) {
		(void)pubsub_subscribe(&shard_of(c)->ps, conn, k, c->argv[i].p, c->argv[i].len);
		confirm(c, sub_word[k], c->argv[i].p, c->argv[i].len, k);
	}
}

static void unsubscribe(struct cmd_ctx *c, enum pubsub_kind k)
{
	struct conn *conn = server_conn(c);
	struct pubsub *ps = &shard_of(c)->ps;
	int i;

	if (c->argc > 1) {
		for (i = 1; i < c->argc; i++) {
			(void)pubsub_unsubscribe(ps, conn, k, c->argv[i].p, c->argv[i].len);
			confirm(c, unsub_word[k], c->argv[i].p, c->argv[i].len, k);
		}
		return;
	}
	if (pubsub_count(conn, k) == 0) {
		confirm(c, unsub_word[k], NULL, 0, k);
		return;
	}
	/* Every name of the kind, last in the list first (Redis: in hash
	 * order). */
	while (pubsub_count(conn, k) > 0) {
		size_t len;
		const char *name = pubsub_name(conn, k, pubsub_count(conn, k) - 1, &len);
		reply_push(c->r, 3);
		reply_bulk_cstr(c->r, unsub_word[k]);
		reply_bulk(c->r, name, len);
		(void)pubsub_unsubscribe(ps, conn, k, name, len);
		reply_int(c->r, subscriptions(conn, k));
	}
}

void cmd_subscribe(struct cmd_ctx *c)
{
	subscribe(c, PUBSUB_CHANNEL);
}

void cmd_psubscribe(struct cmd_ctx *c)
{
	subscribe(c, PUBSUB_PATTERN);
}

void cmd_ssubscribe(struct cmd_ctx *c)
{
	subscribe(c, PUBSUB_SHARD);
}

void cmd_unsubscribe(struct cmd_ctx *c)
{
	unsubscribe(c, PUBSUB_CHANNEL);
}

void cmd_punsubscribe(struct cmd_ctx *c)
{
	unsubscribe(c, PUBSUB_PATTERN);
}

void cmd_sunsubscribe(struct cmd_ctx *c)
{
	unsubscribe(c, PUBSUB_SHARD);
}

/* ---- PUBLISH ---- */

static void publish(struct cmd_ctx *c, enum pubsub_kind k)
{
	const struct cmd_arg *ch = &c->argv[1], *msg = &c->argv[2];
	struct shard *self = shard_of(c);
	long long n = 0;
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++) {
		struct shard *sh = shard_at(c, s);
		long long r;
		if (sh == self) {
			n += pubsub_publish(&sh->ps, k, ch->p, ch->len, msg->p, msg->len, msg->val);
			continue;
		}
		/* Another shard's subscribers: counted here, reached by a
		 * message that shard delivers once it runs again. */
		r = pubsub_receivers(&sh->ps, k, ch->p, ch->len);
		if (r > 0)
			xshard_send(&self->x, sh->id,
				    pubsub_message_new(&self->mem, k, ch->p, ch->len, msg->p,
						       msg->len));
		n += r;
	}
	/* In a cluster, every other node's subscribers too (their count is
	 * not known here, as in Redis); shard channels stay in their slot's
	 * node (no replicas yet). */
	if (k == PUBSUB_CHANNEL && shard_at(c, 0)->topo.st != NULL)
		bus_publish(&shard_at(c, 0)->topo.bus, ch->p, ch->len, msg->p, msg->len);
	reply_int(c->r, n);
}

void cmd_publish(struct cmd_ctx *c)
{
	publish(c, PUBSUB_CHANNEL);
}

void cmd_spublish(struct cmd_ctx *c)
{
	publish(c, PUBSUB_SHARD);
}

/* ---- PUBSUB ---- */

/* Names gathered from every shard, to count or list each once. */
struct names {
	struct mem *mem;
	const struct cmd_arg *pattern; /* NULL: every name */
	struct cmd_arg *v;
	size_t n, cap;
};

static void gather(void *arg, const char *name, size_t len, uint32_t subs)
{
	struct names *g = arg;

	(void)subs;
	if (g->pattern != NULL &&
	    !util_glob_match(g->pattern->p, g->pattern->len, name, len, false))
		return;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->v = mem_realloc(g->mem, g->v, g->cap * sizeof(*g->v));
	}
	g->v[g->n++] = (struct cmd_arg){ .p = name, .len = len };
}

static int name_cmp(const void *a, const void *b)
{
	const struct cmd_arg *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->p, y->p, n);

	return d != 0 ? d : (x->len > y->len) - (x->len < y->len);
}

/* Gathers the names of kind k on every shard (matching pattern, if any),
 * each once. The caller frees g->v. */
static void gather_unique(struct cmd_ctx *c, enum pubsub_kind k, const struct cmd_arg *pattern,
			  struct names *g)
{
	size_t i, out = 0;
	unsigned s;

	*g = (struct names){ .mem = c->env->mem, .pattern = pattern };
	for (s = 0; s < cmd_nshards(c); s++)
		pubsub_each(&shard_at(c, s)->ps, k, gather, g);
	if (cmd_nshards(c) == 1 || g->n == 0)
		return;
	qsort(g->v, g->n, sizeof(*g->v), name_cmp);
	for (i = 0; i < g->n; i++)
		if (out == 0 || name_cmp(&g->v[out - 1], &g->v[i]) != 0)
			g->v[out++] = g->v[i];
	g->n = out;
}

static void channels(struct cmd_ctx *c, enum pubsub_kind k)
{
	struct names g;
	size_t i;

	if (c->argc > 3) {
		cmd_reply_subcommand_syntax(c, "PUBSUB");
		return;
	}
	gather_unique(c, k, c->argc == 3 ? &c->argv[2] : NULL, &g);
	reply_array(c->r, (long long)g.n);
	for (i = 0; i < g.n; i++)
		reply_bulk(c->r, g.v[i].p, g.v[i].len);
	mem_free(g.mem, g.v);
}

static void numsub(struct cmd_ctx *c, enum pubsub_kind k)
{
	int i;
	unsigned s;

	reply_map(c->r, c->argc - 2);
	for (i = 2; i < c->argc; i++) {
		long long n = 0;
		for (s = 0; s < cmd_nshards(c); s++)
			n += pubsub_numsub(&shard_at(c, s)->ps, k, c->argv[i].p, c->argv[i].len);
		reply_bulk(c->r, c->argv[i].p, c->argv[i].len);
		reply_int(c->r, n);
	}
}

void cmd_pubsub_channels(struct cmd_ctx *c)
{
	channels(c, PUBSUB_CHANNEL);
}

void cmd_pubsub_shardchannels(struct cmd_ctx *c)
{
	channels(c, PUBSUB_SHARD);
}

void cmd_pubsub_numsub(struct cmd_ctx *c)
{
	numsub(c, PUBSUB_CHANNEL);
}

void cmd_pubsub_shardnumsub(struct cmd_ctx *c)
{
	numsub(c, PUBSUB_SHARD);
}

long long server_pubsub_names(struct cmd_ctx *c, int kind)
{
	struct names g;

	ASSERT(kind >= 0);
	ASSERT(kind < PUBSUB_KINDS);
	gather_unique(c, (enum pubsub_kind)kind, NULL, &g);
	mem_free(g.mem, g.v);
	return (long long)g.n;
}

/* Patterns with a subscriber, each once however many subscribe to it. */
void cmd_pubsub_numpat(struct cmd_ctx *c)
{
	reply_int(c->r, server_pubsub_names(c, PUBSUB_PATTERN));
}

void cmd_pubsub_help(struct cmd_ctx *c)
{
	/* Redis 7.0's text. */
	static const char *const help[] = {
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		("    Return the currently active shard level channels matching a <pattern> "
		 "(default: '*')."),
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	};

	cmd_reply_help(c, "PUBSUB", help, sizeof(help) / sizeof(help[0]));
}
