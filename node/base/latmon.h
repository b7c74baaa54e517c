/* latmon.h: the latency monitor's rings (LATENCY LATEST, HISTORY, RESET,
 * DOCTOR and GRAPH), kept as Redis 7.0's latency.c keeps them.
 *
 * An event (a command that ran for latency-monitor-threshold ms or more,
 * an expire cycle that did, ...) has a series: a ring of LATMON_SAMPLES
 * samples, at most one per second (a second sample in the same second
 * keeps the larger latency), and the all-time largest latency. A series
 * exists from its first sample until it is reset; its ring is allocated
 * then, from the owner's account. Each shard has its own monitor (no
 * clock here: the caller gives the time); LATENCY merges the shards'
 * series (latmon_merge), one sample per second, the largest. */
#ifndef CAIRN_LATMON_H
#define CAIRN_LATMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;

/* Samples a series keeps (Redis's LATENCY_TS_LEN). */
#define LATMON_SAMPLES 160

/* The events cairn records, in the order LATENCY LATEST and DOCTOR list
 * them (Redis lists them in its hash table's order, which changes from
 * one process to the next). */
enum latmon_event {
	LATMON_COMMAND = 0,    /* a command without the fast flag */
	LATMON_FAST_COMMAND,   /* a command with it */
	LATMON_EXPIRE_CYCLE,   /* an active expire cycle */
	LATMON_EVICTION_CYCLE, /* an eviction step that had keys to evict */
	LATMON_EXPIRE_DEL,     /* deleting one expired key */
	LATMON_EVICTION_DEL,   /* deleting one evicted key */
	LATMON_EVENTS
};

struct latmon_sample {
	int64_t time_s;
	uint32_t ms;
};

/* A series: its samples in time order (a ring: the oldest of the n is at
 * idx - n), and the all-time max. */
struct latmon_series {
	uint32_t idx, n, max;
	struct latmon_sample s[LATMON_SAMPLES];
};

struct latmon {
	struct mem *mem;
	struct latmon_series *ev[LATMON_EVENTS]; /* NULL: no sample since reset */
};

/* An event's name, as Redis names it ("fast-command"). */
const char *latmon_name(enum latmon_event e);
/* The event named exactly name (Redis looks names up case-sensitively,
 * but for RESET: nocase), or -1. */
int latmon_lookup(const char *name, size_t len, bool nocase);

void latmon_init(struct latmon *m, struct mem *mem);
/* Records ms for event e at time now_s (seconds). */
void latmon_add(struct latmon *m, enum latmon_event e, int64_t now_s, uint64_t ms);
/* Forgets event e; returns whether it had a series. */
bool latmon_reset(struct latmon *m, enum latmon_event e);
/* Forgets every event (and the shard's end). */
void latmon_free(struct latmon *m);

/* Merges event e of the n monitors into out: the newest LATMON_SAMPLES
 * seconds any of them has, one sample per second (the largest), in time
 * order from out->s[0] (out->idx is out->n), and the largest max. Returns
 * false, with out empty, if none has a series for e. */
bool latmon_merge(struct latmon *const *m, unsigned n, enum latmon_event e,
		  struct latmon_series *out);

#endif
