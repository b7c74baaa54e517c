/* world.c: the record of a simulated run: its random streams, events and
 * trace hash, failures and fault draws, and the simulator's allocation.
 * See world.h. What the world holds (nodes, clients, the model) is built and
 * run by sched.c, which is the only sim module that sees them all. */
#include "world.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

const char *const fault_names[F_COUNT] = {
	"short_write", "short_read", "enobufs", "shuffle",      "reset",        "emfile",
	"lost_wake",   "late_timer", "sq_full", "conn_refused", "conn_timeout", "conn_reset",
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static const char *const ev_names[EV_COUNT] = {
	[EV_SHARD] = "step shard",
	[EV_CLIENT] = "step client",
	[EV_CQE] = "completion",
	[EV_ACCEPT] = "accept",
	[EV_CONNECT] = "connect",
	[EV_CLOSE] = "node closes",
	[EV_HANGUP] = "client hangs up",
	[EV_RESET] = "client resets",
	[EV_WAKE] = "wake",
	[EV_WAKE_LOST] = "wake lost",
	[EV_SEND] = "client sends",
	[EV_REPLY] = "client gets reply",
	[EV_FAULT] = "fault",
	[EV_HEAL] = "faults heal",
	[EV_FAIL] = "failure",
	[EV_NODE_CONNECT] = "shard connects",
	[EV_NODE_RESET] = "connection resets",
};

static const char *const op_names[] = { "none",  "accept", "recv",   "writev",
					"close", "timer",  "connect" };

void world_event_print(const struct trace_ev *e, FILE *f)
{
	unsigned op = (unsigned)(e->a >> 32);

	fprintf(f, "%10llu %9.3fms %-17s ", (unsigned long long)e->tick, (double)e->now / 1e6,
		ev_names[e->what]);
	switch (e->what) {
	case EV_SHARD:
	case EV_CLIENT: fprintf(f, "%llu\n", (unsigned long long)e->a); break;
	case EV_CQE:
		fprintf(f, "shard %u %s res=%d flags=%#x\n", (unsigned)(uint32_t)e->a,
			op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?",
			(int32_t)(uint32_t)(e->b >> 16), (unsigned)(e->b & 0xffff));
		break;
	case EV_SEND:
		fprintf(f, "client %llu, %llu bytes\n", (unsigned long long)e->a,
			(unsigned long long)e->b);
		break;
	case EV_REPLY:
		fprintf(f, "client %llu, type '%c' length %u\n", (unsigned long long)e->a,
			(char)(e->b >> 32), (unsigned)(uint32_t)e->b);
		break;
	case EV_WAKE:
	case EV_WAKE_LOST:
		fprintf(f, "shard %llu -> shard %llu\n", (unsigned long long)e->a,
			(unsigned long long)e->b);
		break;
	case EV_FAULT:
		if (e->a == F_COUNT) /* cluster.c's partitions */
			fprintf(f, "partition %s\n", e->b ? "begins" : "heals");
		else if (e->a == F_COUNT + 2) /* sched.c's crashes */
			fprintf(f, "node %llu crashes and starts again\n",
				(unsigned long long)e->b);
		else if (e->a == F_COUNT + 1) /* io_sim.c's bus frames again */
			fprintf(f, "bus frame of %llu bytes again\n", (unsigned long long)e->b);
		else
			fprintf(f, "%s\n", e->a < F_COUNT ? fault_names[e->a] : "?");
		break;
	case EV_HEAL: fprintf(f, "\n"); break;
	case EV_FAIL: fprintf(f, "kind %llu\n", (unsigned long long)e->a); break;
	case EV_NODE_CONNECT:
		fprintf(f, "shard %llu res=%d\n", (unsigned long long)e->a,
			(int32_t)(uint32_t)e->b);
		break;
	default:
		fprintf(f, "shard %llu socket %llu\n", (unsigned long long)e->a,
			(unsigned long long)e->b);
		break;
	}
}

void world_event(struct world *w, enum ev what, uint64_t a, uint64_t b)
{
	struct trace_ev *e;

	w->events++;
	w->hash = mix(mix(mix(w->hash, (uint64_t)what), a), b);
	if (w->ring == NULL)
		return;
	e = &w->ring[w->events % TRACE_RING];
	*e = (struct trace_ev){ .tick = w->tick, .now = w->now, .a = a, .b = b, .what = what };
	if (w->cfg.trace >= 2)
		world_event_print(e, stdout);
}

void world_trace_dump(const struct world *w, FILE *f)
{
	uint64_t first = w->events > TRACE_RING ? w->events - TRACE_RING + 1 : 1, i;

	if (w->ring == NULL)
		return;
	sim_io_dump((struct world *)w, f);
	fprintf(f, "the last %llu events:\n", (unsigned long long)(w->events - first + 1));
	for (i = first; i <= w->events; i++)
		world_event_print(&w->ring[i % TRACE_RING], f);
}

void world_fail(struct world *w, enum fail_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (w->fail != FAIL_NONE)
		return;
	w->fail = kind;
	w->fail_tick = w->tick;
	va_start(ap, fmt);
	vsnprintf(w->fail_detail, sizeof(w->fail_detail), fmt, ap);
	va_end(ap);
	world_event(w, EV_FAIL, (uint64_t)kind, 0);
}

void *sim_calloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

void *sim_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

void world_crash(struct world *w, const char *fmt, ...)
{
	va_list ap;

	w->fail = FAIL_CRASH;
	w->fail_tick = w->tick;
	va_start(ap, fmt);
	vsnprintf(w->fail_detail, sizeof(w->fail_detail), fmt, ap);
	va_end(ap);
	ASSERT(w->on_crash != NULL);
	w->on_crash(w);
	abort();
}

bool world_fault(struct world *w, enum fault f)
{
	bool hit = rng_chance(&w->faults, w->healed ? 0.0 : w->cfg.p[f]);

	if (hit)
		world_event(w, EV_FAULT, (uint64_t)f, 0);
	return hit;
}

/* ---- the record ---- */

int world_init(struct world *w, const struct sim_config *cfg)
{
	ASSERT(cfg->shards >= 1);
	ASSERT(cfg->bufs >= 1);
	memset(w, 0, sizeof(*w));
	w->cfg = *cfg;
	rng_seed(&w->root, cfg->seed);
	rng_fork(&w->sched, &w->root, 1);
	rng_fork(&w->faults, &w->root, 2);
	rng_fork(&w->net, &w->root, 3);
	rng_fork(&w->busr, &w->root, 5);
	w->heal_tick = cfg->ticks;
	w->crash_node = -1;
	w->hash = mix(0, cfg->seed);
	if (cfg->trace > 0 && (w->ring = calloc(TRACE_RING, sizeof(*w->ring))) == NULL)
		return -1;
	return 0;
}

void world_free(struct world *w)
{
	unsigned i;

	ASSERT(w->clients == NULL);
	ASSERT(w->ios == NULL);
	for (i = 0; i < w->nsocks; i++) {
		free(w->socks[i].in.p);
		free(w->socks[i].out.p);
		free(w->socks[i].backlog);
		net_sock_free_frames(&w->socks[i]);
	}
	free(w->socks);
	for (i = 0; i < w->nfiles; i++) {
		free(w->files[i].path);
		free(w->files[i].data);
	}
	free(w->files);
	free(w->ring);
	memset(w, 0, sizeof(*w));
}
