/* main.c: cairn-sim, the deterministic simulator's command line.
 *
 *   cairn-sim run --seed N [--ticks T] [--nodes N] [--shards S] [--clients C]
 *                 [--set name=value ...] [--trace | --trace-all] [--watch TEXT]
 *                 [--save case.pb]
 *   cairn-sim swarm --seeds K [--jobs J] [--from N] [--ticks T] [--set ...]
 *                 [--out DIR] [--stop-on-fail]
 *   cairn-sim replay case.pb [--trace | --trace-all]
 *   cairn-sim shrink case.pb [--out min.pb]
 *
 * A failed run prints one line, "FAIL kind=<kind> seed=N tick=T reproduce:
 * <command>", and exits 127 (crash), 128 (liveness) or 129 (correctness).
 *
 * This file is outside the core: it may keep the few globals a signal
 * handler needs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "sched.h"
#include "simcfg.h"

/* What a crash handler needs: the run in progress and where to report. */
static struct world *g_world;
static struct outcome *g_outcome;
static int g_report_fd = -1;
static const char *g_prog = "cairn-sim";
static const struct run_spec *g_spec;

const char *fail_kind_name(enum fail_kind k)
{
	switch (k) {
	case FAIL_CRASH: return "crash";
	case FAIL_CORRECTNESS: return "correctness";
	case FAIL_LIVENESS: return "liveness";
	default: return "none";
	}
}

int fail_kind_exit(enum fail_kind k)
{
	switch (k) {
	case FAIL_CRASH: return SIM_EXIT_CRASH;
	case FAIL_CORRECTNESS: return SIM_EXIT_CORRECTNESS;
	case FAIL_LIVENESS: return SIM_EXIT_LIVENESS;
	default: return 0;
	}
}

/* ---- specs ---- */

int spec_set(struct run_spec *s, const char *assign, char *err, size_t errlen)
{
	struct sim_config probe;
	const char *eq = strchr(assign, '=');
	size_t nlen = eq != NULL ? (size_t)(eq - assign) : 0;
	unsigned i;

	/* Checked against a configuration now, so a bad one fails early. */
	simcfg_derive(&probe, s->seed);
	if (simcfg_set(&probe, assign, err, errlen) != 0)
		return -1;
	if (strlen(assign) >= sizeof(s->sets[0])) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	for (i = 0; i < s->nsets; i++)
		if (strncmp(s->sets[i], assign, nlen + 1) == 0) {
			memmove(s->sets[i], s->sets[i + 1],
				(s->nsets - i - 1) * sizeof(s->sets[0]));
			s->nsets--;
			break;
		}
	if (s->nsets == SPEC_SETS_MAX) {
		snprintf(err, errlen, "too many overrides");
		return -1;
	}
	snprintf(s->sets[s->nsets++], sizeof(s->sets[0]), "%s", assign);
	return 0;
}

int spec_config(const struct run_spec *s, struct sim_config *c, char *err, size_t errlen)
{
	unsigned i;

	simcfg_derive(c, s->seed);
	for (i = 0; i < s->nsets; i++)
		if (simcfg_set(c, s->sets[i], err, errlen) != 0)
			return -1;
	if (s->ticks > 0)
		c->ticks = s->ticks;
	c->trace = s->trace;
	memcpy(c->watch, s->watch, sizeof(c->watch));
	return 0;
}

void spec_command(const struct run_spec *s, const char *prog, char *buf, size_t len)
{
	size_t n = 0;
	unsigned i;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);                    \
		n += k_ > 0 ? (size_t)k_ : 0;                                                      \
	} while (0)
	PUT("%s run --seed %llu", prog, (unsigned long long)s->seed);
	if (s->ticks > 0)
		PUT(" --ticks %llu", (unsigned long long)s->ticks);
	for (i = 0; i < s->nsets; i++)
		PUT(" --set %s", s->sets[i]);
#undef PUT
}

/* ---- running one world ---- */

static void outcome_of(const struct world *w, struct outcome *o)
{
	o->kind = w->fail;
	o->seed = w->cfg.seed;
	o->tick = w->fail != FAIL_NONE ? w->fail_tick : w->tick;
	o->events = w->events;
	o->hash = w->hash;
	snprintf(o->detail, sizeof(o->detail), "%s", w->fail_detail);
}

static void node_counts(struct world *w, struct outcome *o)
{
	unsigned i;

	o->nodes = w->nnodes;
	for (i = 0; i < w->nnodes; i++) {
		sched_node_stats(w, i, &o->node_commands[i], &o->node_connections[i]);
		o->node_evicted[i] = sched_node_evicted(w, i);
		sched_node_txns(w, i, &o->node_execs[i], &o->node_exec_aborts[i]);
		sched_node_bpops(w, i, &o->node_bpops[i], &o->node_btimeouts[i]);
		sched_node_pubsub(w, i, &o->node_published[i], &o->node_exact[i],
				  &o->node_delivered[i]);
	}
	o->cluster = w->cluster != NULL;
	if (o->cluster) {
		cluster_stats(w->cluster, &o->cluster_formed_ms, &o->cluster_looks,
			      &o->cluster_moves, &o->cluster_partitions);
		sched_cluster_report(w, o->cluster_more, sizeof(o->cluster_more));
	}
}

/* What each node served, one line each ("node N: commands=C connections=K"). */
static void print_node_counts(const struct outcome *o)
{
	unsigned i;

	for (i = 0; i < o->nodes; i++) {
		printf("node %u: commands=%llu connections=%llu\n", i,
		       (unsigned long long)o->node_commands[i],
		       (unsigned long long)o->node_connections[i]);
		if (o->node_evicted[i] > 0)
			printf("node %u: evicted=%llu\n", i,
			       (unsigned long long)o->node_evicted[i]);
		if (o->node_execs[i] > 0)
			printf("node %u: transactions=%llu failed_by_watch=%llu\n", i,
			       (unsigned long long)o->node_execs[i],
			       (unsigned long long)o->node_exec_aborts[i]);
		if (o->node_bpops[i] + o->node_btimeouts[i] > 0)
			printf("node %u: blocking_pops=%llu timed_out=%llu\n", i,
			       (unsigned long long)o->node_bpops[i],
			       (unsigned long long)o->node_btimeouts[i]);
		if (o->node_published[i] > 0)
			printf("node %u: published=%llu exact_counts=%llu delivered=%llu\n", i,
			       (unsigned long long)o->node_published[i],
			       (unsigned long long)o->node_exact[i],
			       (unsigned long long)o->node_delivered[i]);
	}
	if (o->cluster)
		printf("cluster: formed at %.3fms, looks=%llu slots_moved=%u partitions=%u\n",
		       o->cluster_formed_ms, (unsigned long long)o->cluster_looks, o->cluster_moves,
		       o->cluster_partitions);
	if (o->cluster)
		printf("cluster: %s\n", o->cluster_more);
}

static void report_line(const struct outcome *o)
{
	char cmd[4096];

	spec_command(g_spec, g_prog, cmd, sizeof(cmd));
	printf("detail: %s\n", o->detail);
	printf("FAIL kind=%s seed=%llu tick=%llu reproduce: %s\n", fail_kind_name(o->kind),
	       (unsigned long long)o->seed, (unsigned long long)o->tick, cmd);
	fflush(stdout);
}

/* The end of a run that cannot go on (a crash): report and exit. */
static void die_with(struct world *w, struct outcome *o) __attribute__((noreturn));
static void die_with(struct world *w, struct outcome *o)
{
	if (g_report_fd >= 0) {
		ssize_t r = write(g_report_fd, o, sizeof(*o));
		(void)r;
		_exit(fail_kind_exit(o->kind));
	}
	if (w != NULL)
		world_trace_dump(w, stdout);
	report_line(o);
	_exit(fail_kind_exit(o->kind));
}

static void on_crash(struct world *w)
{
	outcome_of(w, g_outcome);
	die_with(w, g_outcome);
}

static void on_signal(int sig)
{
	struct world *w = g_world;
	struct outcome *o = g_outcome;

	if (w == NULL || o == NULL)
		_exit(SIM_EXIT_CRASH);
	outcome_of(w, o);
	o->kind = FAIL_CRASH;
	o->tick = w->tick;
	snprintf(o->detail, sizeof(o->detail), "signal %d (%s) at tick %llu", sig, strsignal(sig),
		 (unsigned long long)w->tick);
	die_with(w, o);
}

static void catch_crashes(void)
{
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigaltstack(&ss, NULL);
	sigaction(SIGABRT, &sa, NULL);
#ifndef __SANITIZE_ADDRESS__
	/* Under ASan its own report is worth more; it then aborts. */
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
#endif
}

void run_here(const struct sim_config *c, struct outcome *o, int report_fd)
{
	struct world *w = calloc(1, sizeof(*w));

	memset(o, 0, sizeof(*o));
	o->seed = c->seed;
	if (w == NULL || sched_init(w, c) != 0) {
		o->kind = FAIL_CRASH;
		snprintf(o->detail, sizeof(o->detail), "the world could not be built");
		if (w != NULL)
			sched_free(w);
		free(w);
		return;
	}
	w->on_crash = on_crash;
	g_world = w;
	g_outcome = o;
	g_report_fd = report_fd;
	catch_crashes();
	sched_run(w);
	outcome_of(w, o);
	node_counts(w, o);
	if (o->kind != FAIL_NONE && report_fd < 0)
		world_trace_dump(w, stdout);
	g_world = NULL;
	sched_free(w);
	free(w);
}

/* ---- run and replay ---- */

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs a spec here, prints the outcome into *o; returns the exit code. */
static int run_and_report(const struct run_spec *s, const char *save, struct outcome *out)
{
	struct sim_config c;
	struct outcome o0, *o = out != NULL ? out : &o0;
	char err[128];
	double t0;

	if (spec_config(s, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "cairn-sim: %s\n", err);
		return 2;
	}
	simcfg_print(&c, stdout);
	fflush(stdout);
	g_spec = s;
	t0 = cpu_seconds();
	run_here(&c, o, -1);
	o->cpu_s = cpu_seconds() - t0;
	print_node_counts(o);
	if (o->kind == FAIL_NONE) {
		printf("PASS seed=%llu ticks=%llu events=%llu hash=%016llx cpu=%.2fs "
		       "(%.0f events/s)\n",
		       (unsigned long long)o->seed, (unsigned long long)o->tick,
		       (unsigned long long)o->events, (unsigned long long)o->hash, o->cpu_s,
		       o->cpu_s > 0 ? (double)o->events / o->cpu_s : 0.0);
		return 0;
	}
	printf("hash=%016llx events=%llu\n", (unsigned long long)o->hash,
	       (unsigned long long)o->events);
	if (save != NULL && case_save(save, s, o) == 0)
		printf("saved: %s\n", save);
	report_line(o);
	return fail_kind_exit(o->kind);
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: cairn-sim run --seed N [--ticks T] [--nodes N] [--shards S] [--clients C]\n"
		"                     [--set name=value ...] [--trace | --trace-all]\n"
		"                     [--watch TEXT] [--save F]\n"
		"       cairn-sim swarm --seeds K [--jobs J] [--from N] [--ticks T] [--set ...]\n"
		"                     [--out DIR] [--stop-on-fail]\n"
		"       cairn-sim replay case.pb [--trace | --trace-all]\n"
		"       cairn-sim shrink case.pb [--out min.pb]\n"
		"--watch prints each request whose bytes contain TEXT (a key) and its reply.\n"
		"settings for --set: nodes (1 unless set or a cluster run: 3 to 7) cluster (0 or "
		"1,\n"
		"drawn 1 in 1/8 of the seeds), in cluster runs move_pct (the percent chance\n"
		"of a slot move after each look) and atomic_pct (of moves done by CLUSTER\n"
		"MIGRATESLOTS; both drawn unless set), atomic_keys (1, the default: atomic\n"
		"moves take slots holding keys too; 0: empty ones only), shards clients\n"
		"ring_size bufs\n"
		"pipeline keys, and the fault classes (a probability): short_write\n"
		"short_read enobufs shuffle reset emfile lost_wake late_timer sq_full\n"
		"conn_refused conn_timeout conn_reset\n");
	return 2;
}

static int cli_run(int argc, char **argv)
{
	struct run_spec s;
	const char *save = NULL;
	bool have_seed = false;
	char err[128], set[64];
	int i;

	memset(&s, 0, sizeof(s));
	/* The seed first: overrides are checked against its configuration. */
	for (i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "--seed") == 0)
			have_seed = parse_u64(argv[i + 1], &s.seed) == 0;
	if (!have_seed)
		return usage();
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--trace") == 0) {
			s.trace = 1;
			continue;
		}
		if (strcmp(a, "--trace-all") == 0) {
			s.trace = 2;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--seed") == 0)
			continue;
		if (strcmp(a, "--ticks") == 0) {
			if (parse_u64(v, &s.ticks) != 0 || s.ticks == 0)
				return usage();
			continue;
		}
		if (strcmp(a, "--save") == 0) {
			save = v;
			continue;
		}
		if (strcmp(a, "--watch") == 0) {
			snprintf(s.watch, sizeof(s.watch), "%s", v);
			continue;
		}
		if (strcmp(a, "--nodes") == 0 || strcmp(a, "--shards") == 0 ||
		    strcmp(a, "--clients") == 0)
			snprintf(set, sizeof(set), "%s=%s", a + 2, v);
		else if (strcmp(a, "--set") == 0)
			snprintf(set, sizeof(set), "%s", v);
		else
			return usage();
		if (spec_set(&s, set, err, sizeof(err)) != 0) {
			fprintf(stderr, "cairn-sim: %s: %s\n", set, err);
			return 2;
		}
	}
	return run_and_report(&s, save, NULL);
}

static int cli_replay(int argc, char **argv)
{
	struct run_spec s;
	struct outcome seen, now;
	int i, rc;

	if (argc < 1 || case_load(argv[0], &s, &seen) != 0)
		return argc < 1 ? usage() : 2;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--trace") == 0)
			s.trace = 1;
		else if (strcmp(argv[i], "--trace-all") == 0)
			s.trace = 2;
		else
			return usage();
	}
	printf("replaying %s: saved as kind=%s tick=%llu hash=%016llx: %s\n", argv[0],
	       fail_kind_name(seen.kind), (unsigned long long)seen.tick,
	       (unsigned long long)seen.hash, seen.detail);
	fflush(stdout);
	rc = run_and_report(&s, NULL, &now);
	if (rc != fail_kind_exit(seen.kind))
		printf("replay: the saved failure (%s) did not happen the same way\n",
		       fail_kind_name(seen.kind));
	else if (now.hash != seen.hash || now.tick != seen.tick)
		printf("replay: the same failure, but at tick %llu with hash %016llx: the code "
		       "changed since the case was saved, or the run is not deterministic\n",
		       (unsigned long long)now.tick, (unsigned long long)now.hash);
	return rc;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 1)
		g_prog = argv[0];
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "replay") == 0)
		return cli_replay(argc - 2, argv + 2);
	if (strcmp(argv[1], "swarm") == 0)
		return cli_swarm(argc - 2, argv + 2, g_prog);
	if (strcmp(argv[1], "shrink") == 0)
		return cli_shrink(argc - 2, argv + 2, g_prog);
	return usage();
}
