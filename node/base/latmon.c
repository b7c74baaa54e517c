/* latmon.c: see latmon.h. */
#include "base/latmon.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"

static const char *const names[LATMON_EVENTS] = {
	[LATMON_COMMAND] = "command",           [LATMON_FAST_COMMAND] = "fast-command",
	[LATMON_EXPIRE_CYCLE] = "expire-cycle", [LATMON_EVICTION_CYCLE] = "eviction-cycle",
	[LATMON_EXPIRE_DEL] = "expire-del",     [LATMON_EVICTION_DEL] = "eviction-del",
};

const char *latmon_name(enum latmon_event e)
{
	ASSERT(e >= 0 && e < LATMON_EVENTS);
	return names[e];
}

int latmon_lookup(const char *name, size_t len, bool nocase)
{
	int e;

	for (e = 0; e < LATMON_EVENTS; e++) {
		if (nocase ? util_eq_nocase(name, len, names[e])
			   : len == strlen(names[e]) && memcmp(name, names[e], len) == 0)
			return e;
	}
	return -1;
}

void latmon_init(struct latmon *m, struct mem *mem)
{
	memset(m, 0, sizeof(*m));
	m->mem = mem;
}

void latmon_add(struct latmon *m, enum latmon_event e, int64_t now_s, uint64_t ms)
{
	struct latmon_series *ts;
	uint32_t v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms, prev;

	ASSERT(e >= 0 && e < LATMON_EVENTS);
	ts = m->ev[e];
	if (ts == NULL)
		ts = m->ev[e] = mem_calloc(m->mem, sizeof(*ts));
	if (v > ts->max)
		ts->max = v;
	prev = (ts->idx + LATMON_SAMPLES - 1) % LATMON_SAMPLES;
	if (ts->n > 0 && ts->s[prev].time_s == now_s) {
		if (v > ts->s[prev].ms)
			ts->s[prev].ms = v;
		return;
	}
	ts->s[ts->idx] = (struct latmon_sample){ .time_s = now_s, .ms = v };
	ts->idx = (ts->idx + 1) % LATMON_SAMPLES;
	if (ts->n < LATMON_SAMPLES)
		ts->n++;
	ASSERT(ts->n <= LATMON_SAMPLES && ts->idx < LATMON_SAMPLES);
}

bool latmon_reset(struct latmon *m, enum latmon_event e)
{
	ASSERT(e >= 0 && e < LATMON_EVENTS);
	if (m->ev[e] == NULL)
		return false;
	mem_free(m->mem, m->ev[e]);
	m->ev[e] = NULL;
	return true;
}

void latmon_free(struct latmon *m)
{
	int e;

	for (e = 0; e < LATMON_EVENTS; e++)
		(void)latmon_reset(m, (enum latmon_event)e);
}

/* Puts sample x into out (sorted by time, at most LATMON_SAMPLES): the
 * larger latency for a second it has, else in its place, the oldest
 * dropped when full (and x itself if it is older than all of them). */
static void merge_one(struct latmon_series *out, struct latmon_sample x)
{
	uint32_t lo = 0, hi = out->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (out->s[mid].time_s < x.time_s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < out->n && out->s[lo].time_s == x.time_s) {
		if (x.ms > out->s[lo].ms)
			out->s[lo].ms = x.ms;
		return;
	}
	if (out->n == LATMON_SAMPLES) {
		if (lo == 0)
			return;
		memmove(&out->s[0], &out->s[1], (lo - 1) * sizeof(out->s[0]));
		out->s[lo - 1] = x;
		return;
	}
	memmove(&out->s[lo + 1], &out->s[lo], (out->n - lo) * sizeof(out->s[0]));
	out->s[lo] = x;
	out->n++;
}

bool latmon_merge(struct latmon *const *m, unsigned n, enum latmon_event e,
		  struct latmon_series *out)
{
	bool any = false;
	unsigned i;
	uint32_t j;

	ASSERT(e >= 0 && e < LATMON_EVENTS);
	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct latmon_series *ts = m[i]->ev[e];
		if (ts == NULL)
			continue;
		any = true;
		if (ts->max > out->max)
			out->max = ts->max;
		for (j = 0; j < ts->n; j++)
			merge_one(out,
				  ts->s[(ts->idx + LATMON_SAMPLES - ts->n + j) % LATMON_SAMPLES]);
	}
	out->idx = out->n % LATMON_SAMPLES;
	ASSERT(out->n <= LATMON_SAMPLES);
	return any;
}
