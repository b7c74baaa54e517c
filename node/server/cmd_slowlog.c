/* cmd_slowlog.c: SLOWLOG GET, LEN, RESET and HELP.
 *
 * Each shard keeps its own log (cmd/slowlog.h); these run with every shard
 * locked (their route is ROUTE_ALL) and see the node's log: the shards'
 * entries merged by id, newest first, at most slowlog-max-len of them. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "shard/slowlog.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/shard.h"

#define ERR_SLOWLOG_COUNT "count should be greater than or equal to -1"

/* The node's newest entries, at most max, newest first (one allocation
 * from the shard's account; the caller frees *out). */
static size_t merged(struct cmd_ctx *c, uint64_t max, const struct slowlog_entry ***out)
{
	struct shard *sh = shard_of(c);
	unsigned n = sh->set->n, s, best;
	const struct slowlog_entry **cur = mem_alloc(&sh->mem, n * sizeof(*cur));
	const struct slowlog_entry **v;
	uint64_t total = 0;
	size_t k = 0;

	for (s = 0; s < n; s++) {
		ASSERT(s == sh->id || c->locked != NULL);
		cur[s] = sh->set->shards[s]->slowlog.newest;
		total += sh->set->shards[s]->slowlog.n;
	}
	if (total > max)
		total = max;
	v = mem_alloc(&sh->mem, (total ? total : 1) * sizeof(*v));
	while (k < total) {
		best = n;
		for (s = 0; s < n; s++)
			if (cur[s] != NULL && (best == n || cur[s]->id > cur[best]->id))
				best = s;
		ASSERT(best < n);
		v[k++] = cur[best];
		cur[best] = cur[best]->older;
	}
	mem_free(&sh->mem, cur);
	*out = v;
	return k;
}

/* The entry's client address and name; a forwarded request's from its
 * connection, if it is still there (its shard is locked). */
static void client_of(struct cmd_ctx *c, const struct slowlog_entry *e, char *addr,
		      const char **name)
{
	struct shard *sh = shard_of(c), *from;
	struct conn *x;

	snprintf(addr, SERVER_ADDR_MAX, "%s", e->who.addr);
	*name = e->who.name;
	if (!e->who.remote || e->who.shard >= sh->set->n)
		return;
	from = sh->set->shards[e->who.shard];
	x = conns_get(&from->conns, e->who.idx, e->who.gen);
	if (x == NULL)
		return;
	server_sock_name(sh, x, true, addr);
	*name = x->name != NULL ? x->name : "";
}

static void reply_entry(struct cmd_ctx *c, const struct slowlog_entry *e)
{
	char addr[SERVER_ADDR_MAX];
	const char *name;
	int j;

	reply_array(c->r, 6);
	reply_int(c->r, (long long)e->id);
	reply_int(c->r, e->time_s);
	reply_int(c->r, (long long)e->usec);
	reply_array(c->r, e->argc);
	for (j = 0; j < e->argc; j++)
		reply_bulk(c->r, e->argv[j].p, e->argv[j].len);
	client_of(c, e, addr, &name);
	reply_bulk(c->r, addr, strlen(addr));
	reply_bulk(c->r, name, strlen(name));
}

/* SLOWLOG GET [count]: 10 by default, -1 for all. */
void cmd_slowlog_get(struct cmd_ctx *c)
{
	const struct slowlog_entry **v;
	uint64_t max = (uint64_t)c->env->cfg->slowlog_max_len;
	long long count = 10;
	size_t n, i;

	if (c->argc > 3) {
		/* Redis's arity allows more; its handler does not. */
		cmd_reply_subcommand_syntax(c, "SLOWLOG");
		return;
	}
	if (c->argc == 3 && !cmd_arg_ll(c, &c->argv[2], &count, ERR_SLOWLOG_COUNT))
		return;
	if (count < -1) {
		reply_error(c->r, ERR_SLOWLOG_COUNT);
		return;
	}
	if (count >= 0 && (uint64_t)count < max)
		max = (uint64_t)count;
	n = merged(c, max, &v);
	reply_array(c->r, (long long)n);
	for (i = 0; i < n; i++)
		reply_entry(c, v[i]);
	mem_free(&shard_of(c)->mem, v);
}

void cmd_slowlog_len(struct cmd_ctx *c)
{
	const struct slowlog_entry **v;
	size_t n = merged(c, (uint64_t)c->env->cfg->slowlog_max_len, &v);

	mem_free(&shard_of(c)->mem, v);
	reply_int(c->r, (long long)n);
}

void cmd_slowlog_reset(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	unsigned s;

	for (s = 0; s < sh->set->n; s++)
		slowlog_reset(&sh->set->shards[s]->slowlog);
	reply_ok(c->r);
}

void cmd_slowlog_help(struct cmd_ctx *c)
{
	/* Redis 7.0's text. */
	static const char *const help[] = {
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
	};

	cmd_reply_help(c, "SLOWLOG", help, sizeof(help) / sizeof(help[0]));
}
