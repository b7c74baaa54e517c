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
