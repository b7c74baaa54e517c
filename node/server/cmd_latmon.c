/* cmd_latmon.c: the latency monitor's commands, LATENCY LATEST, HISTORY,
 * RESET, DOCTOR and GRAPH, as Redis 7.0 answers them, over the shards'
 * monitors (base/latmon.h; every shard is locked while they run).
 *
 * An event's series is the merge of the shards' (latmon_merge): one sample
 * per second, the largest, the newest LATMON_SAMPLES seconds; its all-time
 * max is the largest of theirs. Events are listed in latmon's order (Redis
 * lists them in its hash table's, which differs between processes).
 *
 * DOCTOR gives Redis's report and advice for the events cairn records; it
 * leaves out Redis's transparent huge pages advice, which needs the
 * process's /proc/self/smaps (the core reads no file). */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/latmon.h"
#include "base/mem.h"
#include "base/text.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/shard.h"

/* Rows of GRAPH's sparkline, and its width (Redis's). */
#define GRAPH_ROWS 4
#define GRAPH_COLS 80

/* Merges event e over every shard into out; false if none has it. */
static bool merged(struct shard *sh, enum latmon_event e, struct latmon_series *out)
{
	struct latmon **m = mem_alloc(&sh->mem, sh->set->n * sizeof(*m));
	unsigned s;
	bool any;

	for (s = 0; s < sh->set->n; s++)
		m[s] = &sh->set->shards[s]->latmon;
	any = latmon_merge(m, sh->set->n, e, out);
	mem_free(&sh->mem, m);
	return any;
}

/* The time LATENCY sees: the clock of the shard it runs on, in seconds. */
static int64_t now_s(const struct shard *sh)
{
	return sh->clock.now_ms / 1000;
}

/* LATENCY LATEST: for each event, its newest sample and all-time max. */
void cmd_latency_latest(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct latmon_series *ts = mem_alloc(&sh->mem, sizeof(*ts));
	int e, n = 0;

	for (e = 0; e < LATMON_EVENTS; e++)
		n += merged(sh, (enum latmon_event)e, ts);
	reply_array(c->r, n);
	for (e = 0; e < LATMON_EVENTS; e++) {
		if (!merged(sh, (enum latmon_event)e, ts))
			continue;
		ASSERT(ts->n > 0);
		reply_array(c->r, 4);
		reply_bulk_cstr(c->r, latmon_name((enum latmon_event)e));
		reply_int(c->r, ts->s[ts->n - 1].time_s);
		reply_int(c->r, ts->s[ts->n - 1].ms);
		reply_int(c->r, ts->max);
	}
	mem_free(&sh->mem, ts);
}

/* The event an argument names exactly (as a C string, as Redis reads it),
 * or -1. */
static int event_named(const struct cmd_arg *a, bool nocase)
{
	return latmon_lookup(a->p, cmd_arg_cstr_len(a), nocase);
}

/* LATENCY HISTORY event: its samples, oldest first ([] if unknown). */
void cmd_latency_history(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct latmon_series *ts = mem_alloc(&sh->mem, sizeof(*ts));
	int e = event_named(&c->argv[2], false);
	uint32_t j;

	if (e < 0 || !merged(sh, (enum latmon_event)e, ts)) {
		reply_array(c->r, 0);
		mem_free(&sh->mem, ts);
		return;
	}
	reply_array(c->r, ts->n);
	for (j = 0; j < ts->n; j++) {
		reply_array(c->r, 2);
		reply_int(c->r, ts->s[j].time_s);
		reply_int(c->r, ts->s[j].ms);
	}
	mem_free(&sh->mem, ts);
}

/* Forgets event e on every shard; whether any had it. */
static bool reset_event(struct shard *sh, enum latmon_event e)
{
	bool any = false;
	unsigned s;

	for (s = 0; s < sh->set->n; s++)
		any |= latmon_reset(&sh->set->shards[s]->latmon, e);
	return any;
}

/* LATENCY RESET [event ...]: forgets them (all without one); replies how
 * many events were forgotten (names in any case, as Redis's RESET). */
void cmd_latency_reset(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	long long resets = 0;
	int i, e;

	if (c->argc == 2) {
		for (e = 0; e < LATMON_EVENTS; e++)
			resets += reset_event(sh, (enum latmon_event)e);
	} else {
		for (i = 2; i < c->argc; i++) {
			e = event_named(&c->argv[i], true);
			if (e >= 0)
				resets += reset_event(sh, (enum latmon_event)e);
		}
	}
	reply_int(c->r, resets);
}

/* What DOCTOR reports of a series (Redis's analyzeLatencyForEvent). */
struct analysis {
	uint64_t avg, mad, period;
};

static struct analysis analyze(const struct latmon_series *ts, int64_t now)
{
	struct analysis a = { 0, 0, 0 };
	uint64_t sum = 0;
	int64_t oldest = ts->s[0].time_s;
	uint32_t j;

	ASSERT(ts->n > 0);
	for (j = 0; j < ts->n; j++) {
		sum += ts->s[j].ms;
		if (ts->s[j].time_s < oldest)
			oldest = ts->s[j].time_s;
	}
	a.avg = sum / ts->n;
	a.period = now > oldest ? (uint64_t)(now - oldest) : 1;
	sum = 0;
	for (j = 0; j < ts->n; j++)
		sum += a.avg > ts->s[j].ms ? a.avg - ts->s[j].ms : ts->s[j].ms - a.avg;
	a.mad = sum / ts->n;
	return a;
}

/* The advice DOCTOR may give, in the order it gives it. */
enum advice {
	ADV_SLOWLOG_ENABLE = 0,
	ADV_SLOWLOG_TUNE,
	ADV_SLOWLOG_INSPECT,
	ADV_SCHEDULER,
	ADV_HZ,
	ADV_LARGE_OBJECTS,
	ADV_MASS_EVICTION,
	ADV_COUNT
};

#define DOCTOR_OFF                                                                                 \
	"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "          \
	"instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order " \
	"to enable it. If we weren't in a deep space mission I'd suggest to take a look at "       \
	"https://redis.io/topics/latency-monitor.\n"
#define DOCTOR_NONE                                                                                \
	"Dave, no latency spike was observed during the lifetime of this Redis instance, not in "  \
	"the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, "   \
	"and think things over.\n"
#define DOCTOR_SPIKES                                                                              \
	"Dave, I have observed latency spikes in this Redis instance. You don't mind talking "     \
	"about it, do you Dave?\n\n"
#define DOCTOR_NO_FIX                                                                              \
	"\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please "   \
	"use the Redis community to get some help, providing this report in your help request.\n"

/* The advice event e calls for, as Redis's createLatencyReport(); the
 * count it adds to Redis's tally (which decides between the endings). */
static int advise(const struct config *cfg, enum latmon_event e, bool *adv)
{
	switch (e) {
	case LATMON_COMMAND: {
		int n = 2;
		if (cfg->slowlog_log_slower_than < 0) {
			adv[ADV_SLOWLOG_ENABLE] = true;
			n++;
		} else if (cfg->slowlog_log_slower_than / 1000 > cfg->latency_monitor_threshold) {
			adv[ADV_SLOWLOG_TUNE] = true;
			n++;
		}
		adv[ADV_SLOWLOG_INSPECT] = adv[ADV_LARGE_OBJECTS] = true;
		return n;
	}
	case LATMON_FAST_COMMAND: adv[ADV_SCHEDULER] = true; return 1;
	case LATMON_EXPIRE_CYCLE: adv[ADV_HZ] = adv[ADV_LARGE_OBJECTS] = true; return 2;
	case LATMON_EVICTION_CYCLE: adv[ADV_MASS_EVICTION] = true; return 1;
	case LATMON_EVICTION_DEL: adv[ADV_LARGE_OBJECTS] = true; return 1;
	case LATMON_EXPIRE_DEL: return 0; /* Redis has no advice for it */
	default: ASSERT_NOT_REACHED("latmon: an event without advice"); return 0;
	}
}

/* The advice paragraphs, Redis's words. */
static void advice_text(struct text *t, const struct config *cfg, const bool *adv)
{
	unsigned long long us = (unsigned long long)cfg->latency_monitor_threshold * 1000;

	text_printf(t, "\nI have a few advices for you:\n\n");
	if (adv[ADV_SLOWLOG_ENABLE])
		text_printf(
			t,
			"- There are latency issues with potentially slow commands you are "
			"using. Try to enable the Slow Log Redis feature using the command "
			"'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is disabled "
			"Redis is not able to log slow commands execution for you.\n",
			us);
	if (adv[ADV_SLOWLOG_TUNE])
		text_printf(t,
			    "- Your current Slow Log configuration only logs events that are "
			    "slower than your configured latency monitor threshold. Please use "
			    "'CONFIG SET slowlog-log-slower-than %llu'.\n",
			    us);
	if (adv[ADV_SLOWLOG_INSPECT])
		text_printf(t, "- Check your Slow Log to understand what are the commands you are "
			       "running which are too slow to execute. Please check "
			       "https://redis.io/commands/slowlog for more information.\n");
	if (adv[ADV_SCHEDULER])
		text_printf(t,
			    "- The system is slow to execute Redis code paths not containing "
			    "system calls. This usually means the system does not provide Redis "
			    "CPU time to run for long periods. You should try to:\n"
			    "  1) Lower the system load.\n"
			    "  2) Use a computer / VM just for Redis if you are running other "
			    "software in the same system.\n"
			    "  3) Check if you have a \"noisy neighbour\" problem.\n"
			    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the "
			    "intrinsic latency in your system.\n"
			    "  5) Check if the problem is allocator-related by recompiling Redis "
			    "with MALLOC=libc, if you are using Jemalloc. However this may create "
			    "fragmentation problems.\n");
	if (adv[ADV_HZ] && cfg->hz < 100)
		text_printf(t,
			    "- In order to make the Redis keys expiring process more incremental, "
			    "try to set the 'hz' configuration parameter to 100 using 'CONFIG SET "
			    "hz 100'.\n");
	if (adv[ADV_LARGE_OBJECTS])
		text_printf(t,
			    "- Deleting, expiring or evicting (because of maxmemory policy) large "
			    "objects is a blocking operation. If you have very large objects that "
			    "are often deleted, expired, or evicted, try to fragment those objects "
			    "into multiple smaller objects.\n");
	if (adv[ADV_MASS_EVICTION])
		text_printf(t, "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or "
			       "allocation of large objects via sets or sorted sets intersections, "
			       "STORE option of SORT, Redis Cluster large keys migrations (RESTORE "
			       "command), may create sudden memory pressure forcing the server to "
			       "block trying to evict keys. \n");
}

/* The report, as Redis's createLatencyReport() writes it. */
static void doctor(struct shard *sh, struct text *t, struct latmon_series *ts)
{
	bool adv[ADV_COUNT] = { false };
	int e, events = 0, advices = 0;

	for (e = 0; e < LATMON_EVENTS; e++) {
		struct analysis a;
		if (!merged(sh, (enum latmon_event)e, ts))
			continue;
		if (++events == 1)
			text_printf(t, DOCTOR_SPIKES);
		a = analyze(ts, now_s(sh));
		text_printf(t,
			    "%d. %s: %u latency spikes (average %llums, mean deviation %llums, "
			    "period %.2f sec). Worst all time event %lums.",
			    events, latmon_name((enum latmon_event)e), ts->n,
			    (unsigned long long)a.avg, (unsigned long long)a.mad,
			    (double)a.period / ts->n, (unsigned long)ts->max);
		advices += advise(&sh->cfg, (enum latmon_event)e, adv);
		text_printf(t, "\n");
	}
	if (events == 0 && sh->cfg.latency_monitor_threshold == 0)
		text_printf(t, DOCTOR_OFF);
	else if (events == 0 && advices == 0)
		text_printf(t, DOCTOR_NONE);
	else if (advices == 0)
		text_printf(t, DOCTOR_NO_FIX);
	else
		advice_text(t, &sh->cfg, adv);
}

/* LATENCY DOCTOR: the report, a verbatim text. */
void cmd_latency_doctor(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct latmon_series *ts = mem_alloc(&sh->mem, sizeof(*ts));
	struct text t;

	text_init(&t, &sh->mem, 1024);
	doctor(sh, &t, ts);
	reply_verbatim(c->r, t.p, t.len, "txt");
	text_free(&t);
	mem_free(&sh->mem, ts);
}

/* A sample's label: how long ago it was, in s, m, h or d. */
static void label(char *buf, size_t len, int64_t ago)
{
	if (ago < 60)
		snprintf(buf, len, "%llds", (long long)ago);
	else if (ago < 3600)
		snprintf(buf, len, "%lldm", (long long)(ago / 60));
	else if (ago < 3600 * 24)
		snprintf(buf, len, "%lldh", (long long)(ago / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(ago / (3600 * 24)));
}

/* The sparkline's height (0 to 3 * GRAPH_ROWS - 1) for latency v, as
 * Redis's sparklineRenderRange() scales it (the same casts). */
static int graph_step(uint32_t v, uint32_t min, uint32_t max)
{
	double relmax = max - min == 0 ? 1 : (double)(max - min);
	int steps = 3 * GRAPH_ROWS;
	int step = (int)((int)((double)(v - min) * steps) / relmax);

	return step < 0 ? 0 : step >= steps ? steps - 1 : step;
}

/* Samples [from, from + len) of ts as sparkline rows (filled: "_o#" and
 * '|' below the top), a blank row, then each sample's label downwards. */
static void graph_range(struct text *t, const struct latmon_series *ts, uint32_t from, uint32_t len,
			uint32_t min, uint32_t max, int64_t now)
{
	static const char fill[] = "_o#";
	char chars[GRAPH_COLS], lab[GRAPH_COLS][24];
	uint32_t j;
	int row;

	ASSERT(len > 0 && len <= GRAPH_COLS);
	for (j = 0; j < len; j++)
		label(lab[j], sizeof(lab[j]), now - ts->s[from + j].time_s);
	for (row = 0; row < GRAPH_ROWS; row++) {
		for (j = 0; j < len; j++) {
			int idx = graph_step(ts->s[from + j].ms, min, max) -
				  (GRAPH_ROWS - row - 1) * 3;
			chars[j] = idx < 0 ? ' ' : idx < 3 ? fill[idx] : '|';
		}
		text_add(t, chars, len);
		text_add(t, "\n", 1);
	}
	memset(chars, ' ', len);
	text_add(t, chars, len); /* the labels' top margin */
	text_add(t, "\n", 1);
	for (row = 0;; row++) {
		bool more = false;
		memset(chars, ' ', len);
		for (j = 0; j < len; j++) {
			if ((int)strlen(lab[j]) > row) {
				chars[j] = lab[j][row];
				more = true;
			}
		}
		if (!more)
			break;
		text_add(t, chars, len);
		text_add(t, "\n", 1);
	}
}

/* LATENCY GRAPH event: its samples as an ASCII sparkline. */
void cmd_latency_graph(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c);
	struct latmon_series *ts = mem_alloc(&sh->mem, sizeof(*ts));
	int e = event_named(&c->argv[2], false);
	uint32_t j, min, max;
	struct text t;

	if (e < 0 || !merged(sh, (enum latmon_event)e, ts)) {
		reply_errorf(c->r, "No samples available for event '%.*s'",
			     (int)cmd_arg_cstr_len(&c->argv[2]), c->argv[2].p);
		mem_free(&sh->mem, ts);
		return;
	}
	min = max = ts->s[0].ms;
	for (j = 1; j < ts->n; j++) {
		min = ts->s[j].ms < min ? ts->s[j].ms : min;
		max = ts->s[j].ms > max ? ts->s[j].ms : max;
	}
	text_init(&t, &sh->mem, 1024);
	text_printf(&t, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n",
		    latmon_name((enum latmon_event)e), (unsigned long)max, (unsigned long)min,
		    (unsigned long)ts->max);
	for (j = 0; j < GRAPH_COLS; j++)
		text_add(&t, "-", 1);
	text_add(&t, "\n", 1);
	for (j = 0; j < ts->n; j += GRAPH_COLS) {
		if (j != 0)
			text_add(&t, "\n", 1);
		graph_range(&t, ts, j, ts->n - j < GRAPH_COLS ? ts->n - j : GRAPH_COLS, min, max,
			    now_s(sh));
	}
	reply_verbatim(c->r, t.p, t.len, "txt");
	text_free(&t);
	mem_free(&sh->mem, ts);
}
