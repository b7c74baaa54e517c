/* xshard.c: SPSC rings, ordered backlogs, dirty bitmaps and coalesced
 * wakeups between shards. See xshard.h for the protocol.
 *
 * Memory orders: a push publishes the slot with a release store of tail and
 * the consumer reads tail with acquire; the consumer frees a slot with a
 * release store of head and the producer reads head with acquire. The dirty
 * bit is set (release) after the push and taken with an acquire exchange
 * before the drain. Park/wake is the only place that needs seq_cst: see
 * xshard_park_begin() and wake_parked(). */
#include "shard/xshard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "io/io.h"

int xhub_init(struct xhub *h, unsigned n, unsigned ring_size)
{
	unsigned i;

	ASSERT(n >= 1);
	ASSERT(n <= XSHARD_MAX);
	ASSERT(ring_size >= 2);
	ASSERT((ring_size & (ring_size - 1)) == 0);
	memset(h, 0, sizeof(*h));
	h->n = n;
	h->ring_size = ring_size;
	h->rings = aligned_alloc(64, sizeof(*h->rings) * n * n);
	h->peers = aligned_alloc(64, sizeof(*h->peers) * n);
	if (h->rings == NULL || h->peers == NULL)
		goto fail;
	memset(h->rings, 0, sizeof(*h->rings) * n * n);
	memset(h->peers, 0, sizeof(*h->peers) * n);
	for (i = 0; i < n * n; i++) {
		h->rings[i].mask = ring_size - 1;
		h->rings[i].slots = calloc(ring_size, sizeof(struct xmsg *));
		if (h->rings[i].slots == NULL)
			goto fail;
	}
	return 0;
fail:
	xhub_free(h);
	return -ENOMEM;
}

void xhub_free(struct xhub *h)
{
	unsigned i;

	if (h->rings != NULL)
		for (i = 0; i < h->n * h->n; i++)
			free(h->rings[i].slots);
	free(h->rings);
	free(h->peers);
	memset(h, 0, sizeof(*h));
}

void xshard_init(struct xshard *x, struct xhub *hub, unsigned id, struct mem *mem)
{
	ASSERT(id < hub->n);
	ASSERT(mem != NULL);
	memset(x, 0, sizeof(*x));
	x->hub = hub;
	x->id = id;
	x->mem = mem;
	x->bl_head = calloc(hub->n, sizeof(*x->bl_head));
	x->bl_tail = calloc(hub->n, sizeof(*x->bl_tail));
	if (x->bl_head == NULL || x->bl_tail == NULL)
		abort(); /* as mem.c: out of memory at start-up is fatal */
}

void xshard_free(struct xshard *x)
{
	free(x->bl_head);
	free(x->bl_tail);
	memset(x, 0, sizeof(*x));
}

static struct xring *ring(const struct xshard *x, unsigned src, unsigned dst)
{
	return &x->hub->rings[src * x->hub->n + dst];
}

static void bit_set(uint64_t *words, unsigned i)
{
	words[i / 64] |= 1ull << (i % 64);
}

/* Pushes into the ring src->dst if there is room. */
static bool ring_push(struct xring *r, struct xmsg *m)
{
	unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail - head > r->mask)
		return false;
	r->slots[tail & r->mask] = m;
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

static void mark_dirty(struct xshard *x, unsigned dst)
{
	struct xpeer *p = &x->hub->peers[dst];

	atomic_fetch_or_explicit(&p->dirty[x->id / 64], 1ull << (x->id % 64), memory_order_release);
	bit_set(x->touched, dst);
}

void xshard_send(struct xshard *x, unsigned dst, struct xmsg *m)
{
	ASSERT(dst < x->hub->n);
	ASSERT(dst != x->id);
	m->src = (uint16_t)x->id;
	m->dst = (uint16_t)dst;
	m->next = NULL;
	x->st.sent++;
	/* Order first: behind an existing backlog, or into the ring. Once in
	 * the ring the message is the receiver's (it may be drained and freed
	 * at once), so its size is read before the push. */
	if (x->bl_head[dst] == NULL) {
		uint32_t bytes = m->bytes;
		if (ring_push(ring(x, x->id, dst), m)) {
			mem_uncharge(x->mem, bytes); /* the receiver charges it at the drain */
			mark_dirty(x, dst);
			return;
		}
	}
	x->st.backlogged++;
	if (x->bl_tail[dst] != NULL)
		x->bl_tail[dst]->next = m;
	else
		x->bl_head[dst] = m;
	x->bl_tail[dst] = m;
	bit_set(x->backlog_targets, dst);
}

unsigned xshard_drain(struct xshard *x, struct xmsg **out, unsigned max)
{
	struct xpeer *me = &x->hub->peers[x->id];
	unsigned n = 0, w;

	for (w = 0; w < XSHARD_WORDS && n < max; w++) {
		uint64_t bits;
		if (atomic_load_explicit(&me->dirty[w], memory_order_relaxed) == 0)
			continue;
		bits = atomic_exchange_explicit(&me->dirty[w], 0, memory_order_acquire);
		while (bits != 0) {
			unsigned src = w * 64 + (unsigned)__builtin_ctzll(bits);
			struct xring *r = ring(x, src, x->id);
			unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
			unsigned tail = atomic_load_explicit(&r->tail, memory_order_acquire);
			bits &= bits - 1;
			while (head != tail && n < max) {
				struct xmsg *m = r->slots[head & r->mask];
				/* Pairs with xshard_send: addressed here, from src. */
				ASSERT(m->dst == x->id);
				ASSERT(m->src == src);
				mem_charge(x->mem, m->bytes);
				out[n++] = m;
				head++;
			}
			atomic_store_explicit(&r->head, head, memory_order_release);
			if (head != tail) {
				/* Out of room in out[]: keep this source dirty. */
				atomic_fetch_or_explicit(&me->dirty[w], 1ull << (src % 64),
							 memory_order_relaxed);
			}
		}
	}
	x->st.received += n;
	if (n > 0)
		x->st.drains++;
	return n;
}

/* Moves as much of the backlog to dst into the ring as fits. */
static void backlog_move(struct xshard *x, unsigned dst)
{
	struct xring *r = ring(x, x->id, dst);
	bool moved = false;

	while (x->bl_head[dst] != NULL) {
		struct xmsg *m = x->bl_head[dst];
		struct xmsg *next = m->next;
		uint32_t bytes = m->bytes; /* m is the receiver's once pushed */
		if (!ring_push(r, m))
			break;
		mem_uncharge(x->mem, bytes);
		moved = true;
		x->bl_head[dst] = next;
	}
	if (x->bl_head[dst] == NULL) {
		x->bl_tail[dst] = NULL;
		x->backlog_targets[dst / 64] &= ~(1ull << (dst % 64));
	}
	/* Messages that finally landed need the target's attention again. */
	if (moved)
		mark_dirty(x, dst);
}

static void wake_parked(struct xshard *x, struct io *io)
{
	unsigned w;
	bool fenced = false;

	for (w = 0; w < XSHARD_WORDS; w++) {
		uint64_t bits = x->touched[w];
		x->touched[w] = 0;
		while (bits != 0) {
			unsigned dst = w * 64 + (unsigned)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (!fenced) {
				/* Pairs with the fence in xshard_park_begin(): our
				 * pushes and dirty bits before their parked check,
				 * or their parked flag before our load. */
				atomic_thread_fence(memory_order_seq_cst);
				fenced = true;
			}
			if (atomic_load_explicit(&x->hub->peers[dst].parked,
						 memory_order_relaxed)) {
				x->st.wakes++;
				io_wake(io, dst);
			}
		}
	}
}

bool xshard_flush(struct xshard *x, struct io *io)
{
	unsigned w;
	bool left = false;

	for (w = 0; w < XSHARD_WORDS; w++) {
		uint64_t bits = x->backlog_targets[w];
		while (bits != 0) {
			unsigned dst = w * 64 + (unsigned)__builtin_ctzll(bits);
			bits &= bits - 1;
			backlog_move(x, dst);
		}
		if (x->backlog_targets[w] != 0)
			left = true;
	}
	wake_parked(x, io);
	return left;
}

struct xmsg *xshard_take_backlog(struct xshard *x)
{
	struct xmsg *all = NULL;
	unsigned dst;

	for (dst = 0; dst < x->hub->n; dst++) {
		if (x->bl_head[dst] == NULL)
			continue;
		x->bl_tail[dst]->next = all;
		all = x->bl_head[dst];
		x->bl_head[dst] = x->bl_tail[dst] = NULL;
	}
	memset(x->backlog_targets, 0, sizeof(x->backlog_targets));
	return all;
}

bool xshard_pending(const struct xshard *x)
{
	const struct xpeer *me = &x->hub->peers[x->id];
	unsigned w;

	for (w = 0; w < XSHARD_WORDS; w++)
		if (atomic_load_explicit(&me->dirty[w], memory_order_relaxed) != 0)
			return true;
	return false;
}

bool xshard_park_begin(struct xshard *x)
{
	unsigned w;

	atomic_store_explicit(&x->hub->peers[x->id].parked, 1, memory_order_relaxed);
	/* Pairs with the fence in wake_parked(). */
	atomic_thread_fence(memory_order_seq_cst);
	if (xshard_pending(x))
		return false;
	for (w = 0; w < XSHARD_WORDS; w++)
		if (x->backlog_targets[w] != 0)
			return false; /* our own messages still wait for room */
	return true;
}

void xshard_park_end(struct xshard *x)
{
	atomic_store_explicit(&x->hub->peers[x->id].parked, 0, memory_order_relaxed);
}
