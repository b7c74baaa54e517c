/* clock.c: see clock.h. */
#include "base/clock.h"

#include "base/assert.h"
#include "io/io.h"

void clock_init(struct clock *c, struct io *io)
{
	ASSERT(io != NULL);
	c->io = io;
	clock_read(c);
}

void clock_read(struct clock *c)
{
	c->now_ns = io_now_ns(c->io);
	c->now_ms = (int64_t)(c->now_ns / 1000000u);
}
