/* xshard.h: messages between shards.
 *
 * One lock-free single-producer single-consumer ring per ordered pair of
 * shards carries message pointers. When a ring is full, messages wait in a
 * per-target backlog that keeps their order (once a backlog exists, new
 * messages queue behind it). A producer marks its bit in the target's dirty
 * bitmap after each push, so a consumer drains only the rings that have work.
 *
 * Wakeups are coalesced: xshard_flush(), once per step, wakes each target
 * pushed to in that step, and only if it is parked. Parking and pushing are
 * ordered by a seq_cst fence on both sides (Dekker): the parker stores its
 * parked flag, fences, then looks at its dirty bitmap; the producer pushes,
 * sets the dirty bit, fences, then looks at the parked flag. At least one of
 * them sees the other's store, so a wake is never lost. The park timeout is
 * the backstop (for a lost wake in the simulator), never the normal path.
 *
 * The hub (rings, parked flags, dirty bitmaps) is shared memory created once
 * for all shards; everything else is private to one shard. */
#ifndef CAIRN_XSHARD_H
#define CAIRN_XSHARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define XSHARD_MAX 256
#define XSHARD_WORDS (XSHARD_MAX / 64)

struct io;

/* The header of every message; users embed it first. A message is memory
 * of whichever shard holds it: `bytes` of it are charged to the sender's
 * account until it enters a ring (from the backlog too), and to the
 * receiver's from the drain on, so used_memory and maxmemory see messages
 * everywhere but inside a ring, where at most ring_size of them wait per
 * pair of shards. */
struct xmsg {
	struct xmsg *next; /* backlog link; owned by whoever holds the message */
	uint16_t src, dst;
	uint16_t kind;
	uint32_t bytes; /* charged to the holder's account (0: none) */
};

struct xring {
	_Alignas(64) atomic_uint head; /* next slot to read (consumer) */
	_Alignas(64) atomic_uint tail; /* next slot to write (producer) */
	_Alignas(64) unsigned mask;
	struct xmsg **slots;
};

struct xpeer {
	_Alignas(64) atomic_uint parked;
	_Alignas(64) atomic_uint_least64_t dirty[XSHARD_WORDS];
};

struct xhub {
	unsigned n;
	unsigned ring_size;
	struct xring *rings; /* n * n, [src * n + dst] */
	struct xpeer *peers;
};

struct xshard_stats {
	uint64_t sent, received, backlogged, wakes, drains;
};

struct mem;

struct xshard {
	struct xhub *hub;
	unsigned id;
	struct mem *mem;                  /* the shard's account, which messages move between */
	struct xmsg **bl_head, **bl_tail; /* per target */
	uint64_t touched[XSHARD_WORDS];   /* targets pushed to in this step */
	uint64_t backlog_targets[XSHARD_WORDS];
	struct xshard_stats st;
};

/* Creates the rings for n shards, each of ring_size slots (a power of two,
 * at least 2). Returns 0 or -errno. Not called by the core's step: main and
 * the simulator own the hub. */
int xhub_init(struct xhub *h, unsigned n, unsigned ring_size);
void xhub_free(struct xhub *h);

/* Sets up shard id's side of the hub; messages it sends and receives move
 * between mem and the other shards' accounts. */
void xshard_init(struct xshard *x, struct xhub *hub, unsigned id, struct mem *mem);
void xshard_free(struct xshard *x);
/* Queues m for shard dst (never dst == own id). Never fails: a full ring
 * spills to the ordered backlog. */
void xshard_send(struct xshard *x, unsigned dst, struct xmsg *m);
/* Takes up to max messages addressed to this shard, in per-source order,
 * and charges them to this shard's account. Returns how many. */
unsigned xshard_drain(struct xshard *x, struct xmsg **out, unsigned max);
/* End of step: moves backlogs into rings as room allows (marking the
 * targets dirty again), then wakes each target pushed to in this step that
 * is parked. Returns true while a backlog remains. */
bool xshard_flush(struct xshard *x, struct io *io);
/* Parking: begin stores the parked flag, fences, and returns true if the
 * shard may sleep (no dirty ring, no backlog of its own); end clears the
 * flag. The caller sleeps (io_wait) between them only if begin said so. */
bool xshard_park_begin(struct xshard *x);
void xshard_park_end(struct xshard *x);
/* Takes every message still waiting in this shard's backlogs (at shutdown),
 * as a list linked through next. */
struct xmsg *xshard_take_backlog(struct xshard *x);
/* True if some ring addressed to this shard may hold messages. */
bool xshard_pending(const struct xshard *x);

#endif
