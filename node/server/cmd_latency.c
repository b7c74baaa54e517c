/* cmd_latency.c: LATENCY HISTOGRAM and HELP, over the per-command latency
 * histograms that cmd_run() keeps (latency-tracking, base/hist.h), one set
 * per shard, added up here (HISTOGRAM runs with every shard locked).
 *
 * A command's histogram is reported as Redis reports it: its calls, and the
 * cumulative count at each power-of-two bucket from 1,024 ns, in
 * microseconds (HdrHistogram's log iteration: 1, 2, 4, ..., 32, 65, 131,
 * ...), only where the count grows. The latency monitor's subcommands
 * (LATEST, HISTORY, ...) are in cmd_latmon.c. */
#include <string.h>

#include "base/assert.h"
#include "base/hist.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/shard.h"

/* Buckets of the log iteration: 1,024 ns << k until past HIST_MAX. */
#define LAT_LEVELS 21

/* Whether some shard has a histogram for command id. */
static bool tracked(const struct shard *sh, int id)
{
	unsigned s;

	for (s = 0; s < sh->set->n; s++)
		if (sh->set->shards[s]->cstat[id].hist != NULL)
			return true;
	return false;
}

bool server_latency(struct shard *sh, int id, struct hist *sum)
{
	bool any = false;
	unsigned s;

	hist_clear(&sh->mem, sum);
	for (s = 0; s < sh->set->n; s++) {
		const struct hist *h = sh->set->shards[s]->cstat[id].hist;
		if (h != NULL) {
			hist_add(&sh->mem, sum, h);
			any = true;
		}
	}
	return any;
}

/* One command's entry: its calls and its cumulative buckets. */
static void reply_histogram(struct cmd_ctx *c, int id, const struct hist *h)
{
	uint64_t micros[LAT_LEVELS], cum[LAT_LEVELS], prev = 0;
	unsigned k, n = 0;

	for (k = 0; k < LAT_LEVELS && prev < h->total; k++) {
		uint64_t top = (1024ull << k) - 1;
		uint64_t upto = hist_count_upto(h, top);
		if (upto > prev) {
			micros[n] = top / 1000;
			cum[n++] = upto;
		}
		prev = upto;
	}
	ASSERT(prev == h->total);
	reply_bulk_cstr(c->r, cmd_table[id].fullname);
	reply_map(c->r, 2);
	reply_bulk_cstr(c->r, "calls");
	reply_int(c->r, (long long)h->total);
	reply_bulk_cstr(c->r, "histogram_usec");
	reply_map(c->r, n);
	for (k = 0; k < n; k++) {
		reply_int(c->r, (long long)micros[k]);
		reply_int(c->r, (long long)cum[k]);
	}
}

/* The command an argument names, as Redis's lookupCommandBySds reads it
 * ("client|list" for a subcommand), or -1. */
static int command_named(struct cmd_ctx *c, const struct cmd_arg *a)
{
	const char *bar = memchr(a->p, '|', a->len);
	const struct cmd *cmd;

	if (bar == NULL) {
		cmd = cmd_lookup(c->env->cmds, a->p, a->len);
		return cmd != NULL && !cmd_is_container(cmd) ? cmd->id : -1;
	}
	cmd = cmd_lookup(c->env->cmds, a->p, (size_t)(bar - a->p));
	if (cmd == NULL || !cmd_is_container(cmd))
		return -1;
	cmd = cmd_lookup_sub(cmd, bar + 1, a->len - (size_t)(bar - a->p) - 1);
	return cmd != NULL ? cmd->id : -1;
}

/* LATENCY HISTOGRAM [command ...]: every command with a histogram, or the
 * named ones that have one (others are left out). */
void cmd_latency_histogram(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct hist *sum = mem_calloc(&sh->mem, sizeof(*sum));
	bool *pick = mem_calloc(&sh->mem, CMDID_COUNT * sizeof(*pick));
	int i, n = 0;

	for (i = 2; i < c->argc; i++) {
		int id = command_named(c, &c->argv[i]);
		if (id >= 0)
			pick[id] = true;
	}
	for (i = 0; i < CMDID_COUNT; i++) {
		if (c->argc > 2 && !pick[i])
			continue;
		/* Counted first (the map's length), added up once below. */
		pick[i] = tracked(sh, i);
		n += pick[i];
	}
	reply_map(c->r, n);
	for (i = 0; i < CMDID_COUNT; i++)
		if (pick[i] && server_latency(sh, i, sum))
			reply_histogram(c, i, sum);
	mem_free(&sh->mem, pick);
	hist_clear(&sh->mem, sum);
	mem_free(&sh->mem, sum);
}

void cmd_latency_help(struct cmd_ctx *c)
{
	/* Redis 7.0's lines. */
	static const char what[] =
		"    Return a cumulative distribution of latencies in the format "
		"of a histogram for the specified command names.";
	static const char *const help[] = {
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"GRAPH <event>",
		"    Return an ASCII latency graph for the <event> class.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		what,
		"    If no commands are specified then all histograms are replied.",
	};

	cmd_reply_help(c, "LATENCY", help, sizeof(help) / sizeof(help[0]));
}
