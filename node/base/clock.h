/* clock.h: a shard's reading of the wall clock.
 *
 * The core never reads a clock by itself: it asks its backend (io_now_ns),
 * and a reading costs (a vDSO call on a KVM guest is about 5% of a GET), so
 * each shard keeps its last reading here and refreshes it at known points:
 * once per step, and once at the end of every command (cmd_run), which both
 * times that command and gives the next command of the batch its time. */
#ifndef CAIRN_CLOCK_H
#define CAIRN_CLOCK_H

#include <stdint.h>

#include "io/io.h"

struct clock {
	struct io *io;
	uint64_t now_ns; /* the last reading, ns since the epoch */
	int64_t now_ms;  /* the same, in ms */
};

/* Binds the clock to its backend and takes a first reading. */
void clock_init(struct clock *c, struct io *io);
/* Takes a new reading (once per command, so inline). */
static inline void clock_read(struct clock *c)
{
	c->now_ns = io_now_ns(c->io);
	c->now_ms = (int64_t)(c->now_ns / 1000000u);
}

/* The time now, without keeping it as the reading (a deletion timed for
 * the latency monitor must not move the command's time). */
static inline uint64_t clock_peek_ns(const struct clock *c)
{
	return io_now_ns(c->io);
}

#endif
