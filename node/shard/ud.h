/* ud.h: the user_data a shard tags its submissions with.
 *
 * Layout, from the top: op (8 bits) | generation (24) | index (24). The index
 * names a connection-table entry (or a listener, for ACCEPT) and the
 * generation tells a completion for the entry's current connection from a
 * stale one whose connection closed before it arrived. An ACCEPT has no
 * generation (a listener lives as long as its shard): its index names the
 * listener, its slot in the shard's listeners, and the generation field
 * carries the listener's role (enum shard_role), so that an accepted
 * socket's completion says by itself which port it came in on. A socket handle is
 * never encoded: a recycled one would be mistaken for the old. The whole
 * fits the IO_USER_DATA_BITS that io.h leaves to the core; the simulator
 * decodes completions with the same functions. */
#ifndef CAIRN_SHARD_UD_H
#define CAIRN_SHARD_UD_H

#include <stdint.h>

#include "base/assert.h"
#include "base/limits.h"
#include "io/io.h"

#define UD_IDX_BITS 24
#define UD_GEN_BITS 24
#define UD_OP_BITS 8
#define UD_IDX_MAX ((1u << UD_IDX_BITS) - 1)
#define UD_GEN_MASK ((1u << UD_GEN_BITS) - 1)
/* An index that names no connection (a socket closed at once). */
#define UD_IDX_NONE UD_IDX_MAX

_Static_assert(UD_IDX_BITS + UD_GEN_BITS + UD_OP_BITS <= IO_USER_DATA_BITS,
	       "a shard's user_data must fit the bits io.h leaves to the core");

static inline uint64_t ud_encode(unsigned op, uint32_t gen, uint32_t idx)
{
	ASSERT(op < (1u << UD_OP_BITS));
	ASSERT(gen <= UD_GEN_MASK);
	ASSERT(idx <= UD_IDX_MAX);
	return (uint64_t)op << (UD_IDX_BITS + UD_GEN_BITS) | (uint64_t)gen << UD_IDX_BITS | idx;
}

static inline unsigned ud_op(uint64_t ud)
{
	return (unsigned)(ud >> (UD_IDX_BITS + UD_GEN_BITS)) & ((1u << UD_OP_BITS) - 1);
}

static inline uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> UD_IDX_BITS) & UD_GEN_MASK;
}

static inline uint32_t ud_idx(uint64_t ud)
{
	return (uint32_t)ud & UD_IDX_MAX;
}

/* An ACCEPT's user_data: listener slot which, of role. */
static inline uint64_t ud_accept(unsigned role, uint32_t which)
{
	ASSERT(role <= UD_GEN_MASK);
	ASSERT(which < UD_IDX_NONE);
	return ud_encode(IO_OP_ACCEPT, role, which);
}

static inline unsigned ud_accept_role(uint64_t ud)
{
	ASSERT(ud_op(ud) == IO_OP_ACCEPT);
	return ud_gen(ud);
}

static inline uint32_t ud_accept_listener(uint64_t ud)
{
	ASSERT(ud_op(ud) == IO_OP_ACCEPT);
	return ud_idx(ud);
}

/* Everything but the op: which entry, which generation. */
static inline uint64_t ud_target(uint64_t ud)
{
	return ud & ((1ull << (UD_IDX_BITS + UD_GEN_BITS)) - 1);
}

#endif
