/* swarm.c: many seeds at once, and shrinking a failure. See cli.h.
 *
 * Each run is a child process: it runs one world quietly and writes its
 * outcome to a pipe; its exit status tells a crash the child could not
 * report (a signal) from the rest. CPU time comes from wait4, so events per
 * CPU-second are measured, not guessed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "simcfg.h"

#define SWARM_JOBS_MAX 256
/* Failures whose reproduce lines the summary prints in full. */
#define SWARM_SHOW_MAX 20

static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	g_interrupted = 1;
}

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- children ---- */

int child_start(const struct run_spec *s, int *fd)
{
	struct sim_config c;
	struct outcome o;
	char err[128];
	int p[2], pid, devnull;

	if (spec_config(s, &c, err, sizeof(err)) != 0 || pipe(p) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		close(p[0]);
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		c.trace = 0;
		run_here(&c, &o, p[1]);
		if (write(p[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
			_exit(SIM_EXIT_CRASH);
		_exit(fail_kind_exit(o.kind));
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

void child_collect(int pid, int fd, uint64_t seed, struct outcome *o)
{
	struct rusage ru;
	int status = 0;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	/* The child writes its outcome and exits; read first, then reap. */
	do
		n = read(fd, o, sizeof(*o));
	while (n < 0 && errno == EINTR);
	close(fd);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*o)) {
		memset(o, 0, sizeof(*o));
		o->kind = FAIL_CRASH;
		snprintf(o->detail, sizeof(o->detail), "the run died (%s %d) without a report",
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	o->seed = seed;
	o->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int run_child(const struct run_spec *s, struct outcome *o)
{
	int fd, pid = child_start(s, &fd);

	if (pid < 0)
		return -1;
	child_collect(pid, fd, s->seed, o);
	return 0;
}

/* ---- swarm ---- */

struct slot {
	int pid, fd;
	uint64_t seed;
};

struct swarm {
	struct run_spec base;
	uint64_t from, seeds, next, done, events, failed;
	unsigned jobs;
	const char *out;
	bool stop_on_fail, tty;
	double start, cpu;
	struct slot slots[SWARM_JOBS_MAX];
	unsigned running;
	struct outcome shown[SWARM_SHOW_MAX];
	char paths[SWARM_SHOW_MAX][512];
	unsigned nshown;
	unsigned last_decile;
};

static void progress(struct swarm *sw)
{
	double el = wall_seconds() - sw->start;
	unsigned width = 30, fill = (unsigned)(sw->done * width / (sw->seeds ? sw->seeds : 1)), i;
	unsigned decile = (unsigned)(sw->done * 10 / (sw->seeds ? sw->seeds : 1));
	char bar[64];

	if (!sw->tty) {
		/* Not a terminal (CI logs): a line per tenth. */
		if (decile == sw->last_decile)
			return;
		sw->last_decile = decile;
		fprintf(stderr, "swarm: %llu/%llu seeds, %llu failed, %.1fs\n",
			(unsigned long long)sw->done, (unsigned long long)sw->seeds,
			(unsigned long long)sw->failed, el);
		return;
	}
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %llu/%llu seeds, %llu failed, %.1f seeds/s, %.2fM events/s ", bar,
		(unsigned long long)sw->done, (unsigned long long)sw->seeds,
		(unsigned long long)sw->failed, el > 0 ? (double)sw->done / el : 0.0,
		el > 0 ? (double)sw->events / el / 1e6 : 0.0);
}

static void record_failure(struct swarm *sw, const struct outcome *o, const struct run_spec *s)
{
	char path[512];

	sw->failed++;
	snprintf(path, sizeof(path), "%s/seed-%llu.pb", sw->out, (unsigned long long)o->seed);
	mkdir(sw->out, 0777);
	if (case_save(path, s, o) != 0)
		path[0] = '\0';
	if (sw->nshown < SWARM_SHOW_MAX) {
		sw->shown[sw->nshown] = *o;
		snprintf(sw->paths[sw->nshown], sizeof(sw->paths[0]), "%s", path);
		sw->nshown++;
	}
	if (sw->tty)
		fprintf(stderr, "\n");
	fprintf(stderr, "swarm: seed %llu failed: kind=%s tick=%llu: %s\n",
		(unsigned long long)o->seed, fail_kind_name(o->kind), (unsigned long long)o->tick,
		o->detail);
}

static void spec_for(const struct swarm *sw, uint64_t seed, struct run_spec *s)
{
	*s = sw->base;
	s->seed = seed;
}

/* Waits for a child to finish and collects it; false if interrupted. */
static bool reap_one(struct swarm *sw)
{
	struct run_spec s;
	struct outcome o;
	siginfo_t info;
	unsigned i;

	/* Find a finished child without reaping it: child_collect reaps it,
	 * and takes its CPU time with it. */
	memset(&info, 0, sizeof(info));
	if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0)
		return false; /* EINTR: Ctrl-C */
	for (i = 0; i < sw->running; i++)
		if (sw->slots[i].pid == info.si_pid)
			break;
	if (i == sw->running) {
		waitpid(info.si_pid, NULL, 0); /* not ours */
		return true;
	}
	child_collect(sw->slots[i].pid, sw->slots[i].fd, sw->slots[i].seed, &o);
	spec_for(sw, sw->slots[i].seed, &s);
	sw->slots[i] = sw->slots[--sw->running];
	sw->done++;
	sw->events += o.events;
	sw->cpu += o.cpu_s;
	if (o.kind != FAIL_NONE)
		record_failure(sw, &o, &s);
	return true;
}

static void kill_all(struct swarm *sw)
{
	unsigned i;

	for (i = 0; i < sw->running; i++) {
		kill(sw->slots[i].pid, SIGKILL);
		close(sw->slots[i].fd);
		waitpid(sw->slots[i].pid, NULL, 0);
	}
	sw->running = 0;
}

static void summary(const struct swarm *sw, const char *prog)
{
	double el = wall_seconds() - sw->start;
	char cmd[4096];
	unsigned i;

	if (sw->tty)
		fprintf(stderr, "\n");
	printf("swarm: %llu seeds from %llu%s in %.1fs with %u jobs: %.2f seeds/s, %.2fM events/s "
	       "(%.2fM events per CPU-second), %llu failed\n",
	       (unsigned long long)sw->done, (unsigned long long)sw->from,
	       g_interrupted ? " (interrupted)" : "", el, sw->jobs,
	       el > 0 ? (double)sw->done / el : 0.0, el > 0 ? (double)sw->events / el / 1e6 : 0.0,
	       sw->cpu > 0 ? (double)sw->events / sw->cpu / 1e6 : 0.0,
	       (unsigned long long)sw->failed);
	for (i = 0; i < sw->nshown; i++) {
		struct run_spec s;
		spec_for(sw, sw->shown[i].seed, &s);
		spec_command(&s, prog, cmd, sizeof(cmd));
		printf("FAIL kind=%s seed=%llu tick=%llu reproduce: %s\n",
		       fail_kind_name(sw->shown[i].kind), (unsigned long long)sw->shown[i].seed,
		       (unsigned long long)sw->shown[i].tick, cmd);
		printf("  %s\n", sw->shown[i].detail);
		if (sw->paths[i][0] != '\0')
			printf("  saved: %s (%s replay %s)\n", sw->paths[i], prog, sw->paths[i]);
	}
	if (sw->failed > sw->nshown)
		printf("... and %llu more failures, saved in %s/\n",
		       (unsigned long long)(sw->failed - sw->nshown), sw->out);
}

static int swarm_args(struct swarm *sw, int argc, char **argv)
{
	char err[128];
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		unsigned long long x = v != NULL ? strtoull(v, &end, 10) : 0;
		bool num = v != NULL && *v >= '0' && *v <= '9' && *end == '\0';
		if (strcmp(a, "--stop-on-fail") == 0) {
			sw->stop_on_fail = true;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--seeds") == 0 && num && x > 0)
			sw->seeds = x;
		else if (strcmp(a, "--jobs") == 0 && num && x > 0 && x <= SWARM_JOBS_MAX)
			sw->jobs = (unsigned)x;
		else if (strcmp(a, "--from") == 0 && num)
			sw->from = x;
		else if (strcmp(a, "--ticks") == 0 && num && x > 0)
			sw->base.ticks = x;
		else if (strcmp(a, "--out") == 0)
			sw->out = v;
		else if (strcmp(a, "--set") == 0) {
			if (spec_set(&sw->base, v, err, sizeof(err)) != 0) {
				fprintf(stderr, "cairn-sim: %s: %s\n", v, err);
				return -1;
			}
		} else
			return -1;
	}
	return sw->seeds > 0 ? 0 : -1;
}

int cli_swarm(int argc, char **argv, const char *prog)
{
	struct swarm *sw = calloc(1, sizeof(*sw));
	struct sigaction sa;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (sw == NULL)
		return 2;
	sw->jobs = ncpu > 0 ? (unsigned)ncpu : 1;
	sw->from = 1;
	sw->out = "sim-failures";
	if (swarm_args(sw, argc, argv) != 0) {
		fprintf(stderr,
			"usage: cairn-sim swarm --seeds K [--jobs J] [--from N] [--ticks T] "
			"[--set name=value ...] [--out DIR] [--stop-on-fail]\n");
		free(sw);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: waitid returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sw->tty = isatty(STDERR_FILENO);
	sw->next = sw->from;
	sw->start = wall_seconds();
	while (!g_interrupted) {
		bool stop = sw->stop_on_fail && sw->failed > 0;
		while (!stop && sw->running < sw->jobs && sw->next - sw->from < sw->seeds) {
			struct run_spec s;
			struct slot *sl = &sw->slots[sw->running];
			spec_for(sw, sw->next, &s);
			sl->pid = child_start(&s, &sl->fd);
			if (sl->pid < 0) {
				fprintf(stderr, "cairn-sim: cannot start a run: %s\n",
					strerror(errno));
				g_interrupted = 1;
				break;
			}
			sl->seed = sw->next++;
			sw->running++;
		}
		if (sw->running == 0)
			break;
		if (reap_one(sw))
			progress(sw);
	}
	kill_all(sw);
	summary(sw, prog);
	rc = g_interrupted ? 130 : sw->failed > 0 ? 1 : 0;
	free(sw);
	return rc;
}

/* ---- shrink ---- */

/* Whether a candidate still fails the way the original did. */
static bool still_fails(const struct run_spec *s, enum fail_kind kind, unsigned *runs)
{
	struct outcome o;

	(*runs)++;
	return run_child(s, &o) == 0 && o.kind == kind;
}

/* Turns each fault class that is on off, one at a time, keeping each
 * change that still fails the same way. */
static void shrink_faults(struct run_spec *best, enum fail_kind kind, unsigned *runs)
{
	struct sim_config c;
	char err[128], set[64];
	unsigned f;

	for (f = 0; f < F_COUNT; f++) {
		struct run_spec t = *best;
		if (spec_config(best, &c, err, sizeof(err)) != 0 || c.p[f] == 0)
			continue;
		snprintf(set, sizeof(set), "%s=0", fault_names[f]);
		if (spec_set(&t, set, err, sizeof(err)) == 0 && still_fails(&t, kind, runs)) {
			*best = t;
			printf("shrink: without %s it still fails\n", fault_names[f]);
		}
	}
}

/* Tries fewer nodes, clients and shards, smallest first. */
static void shrink_topology(struct run_spec *best, enum fail_kind kind, unsigned *runs)
{
	static const char *const names[] = { "nodes", "clients", "shards" };
	struct sim_config c;
	char err[128], set[64];
	unsigned i, v;

	for (i = 0; i < 3; i++) {
		unsigned cur;
		if (spec_config(best, &c, err, sizeof(err)) != 0)
			return;
		cur = i == 0 ? c.nodes : i == 1 ? c.clients : c.shards;
		for (v = 1; v < cur; v++) {
			struct run_spec t = *best;
			snprintf(set, sizeof(set), "%s=%u", names[i], v);
			if (spec_set(&t, set, err, sizeof(err)) == 0 &&
			    still_fails(&t, kind, runs)) {
				*best = t;
				printf("shrink: with %s it still fails\n", set);
				break;
			}
		}
	}
}

/* Binary-searches the smallest tick budget that still fails. */
static void shrink_ticks(struct run_spec *best, enum fail_kind kind, unsigned *runs)
{
	struct sim_config c;
	char err[128];
	uint64_t lo = 1, hi;

	if (spec_config(best, &c, err, sizeof(err)) != 0)
		return;
	hi = c.ticks;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct run_spec t = *best;
		t.ticks = mid;
		if (still_fails(&t, kind, runs))
			hi = mid;
		else
			lo = mid + 1;
	}
	best->ticks = hi;
	printf("shrink: %llu ticks are enough\n", (unsigned long long)hi);
}

int cli_shrink(int argc, char **argv, const char *prog)
{
	struct run_spec s, best;
	struct outcome seen, o;
	char out[512], cmd[4096];
	unsigned runs = 0;

	if (argc < 1 || (argc != 1 && (argc != 3 || strcmp(argv[1], "--out") != 0))) {
		fprintf(stderr, "usage: cairn-sim shrink case.pb [--out min.pb]\n");
		return 2;
	}
	if (case_load(argv[0], &s, &seen) != 0)
		return 2;
	if (argc == 3)
		snprintf(out, sizeof(out), "%s", argv[2]);
	else
		snprintf(out, sizeof(out), "%.*s.min.pb",
			 (int)(strlen(argv[0]) > 3 &&
					       strcmp(argv[0] + strlen(argv[0]) - 3, ".pb") == 0
				       ? strlen(argv[0]) - 3
				       : strlen(argv[0])),
			 argv[0]);
	if (run_child(&s, &o) != 0 || o.kind == FAIL_NONE) {
		printf("shrink: %s does not fail now; nothing to shrink\n", argv[0]);
		return 1;
	}
	if (seen.kind != FAIL_NONE && o.kind != seen.kind)
		printf("shrink: saved as kind=%s, now fails as kind=%s; shrinking that\n",
		       fail_kind_name(seen.kind), fail_kind_name(o.kind));
	best = s;
	shrink_faults(&best, o.kind, &runs);
	shrink_topology(&best, o.kind, &runs);
	shrink_ticks(&best, o.kind, &runs);
	if (run_child(&best, &o) != 0 || o.kind == FAIL_NONE) {
		printf("shrink: the reduced case stopped failing; keeping the original\n");
		best = s;
		run_child(&best, &o);
	}
	if (case_save(out, &best, &o) != 0)
		return 2;
	spec_command(&best, prog, cmd, sizeof(cmd));
	printf("shrink: %u runs; saved %s\n", runs, out);
	printf("FAIL kind=%s seed=%llu tick=%llu reproduce: %s\n", fail_kind_name(o.kind),
	       (unsigned long long)o.seed, (unsigned long long)o.tick, cmd);
	return fail_kind_exit(o.kind);
}
