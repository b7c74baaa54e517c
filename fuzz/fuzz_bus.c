/* fuzz_bus.c: fuzz target for the cluster bus (node/cluster/bus_msg.c) and
 * the cluster state that applies its messages (node/cluster/state.c,
 * gossip.c).
 *
 * Goal: any byte stream a peer can send is framed and decoded without a read
 * past the bytes given, is either decoded, "need more" or refused, the same
 * however it is cut into reads; a decoded message re-encodes to a frame that
 * decodes and re-encodes to itself; applying any decoded message to a
 * cluster state keeps every invariant (cluster_state_check()), never lowers
 * currentEpoch or myself's config epoch, and every message the state then
 * builds (PING, PONG, MEET, UPDATE) encodes and decodes. Every byte the
 * decoder charges to its memory account is given back.
 *
 * Method: a state starts as myself (slots 0-5460, epoch 1) with two
 * handshake nodes from MEET; the input is a byte stream delivered in chunks
 * whose sizes come from byte 0, decoded after each chunk from an exact copy
 * (fuzz_exact) of the bytes not yet consumed. Each decoded message is applied
 * as if it arrived on the outbound link of a node picked from the message's
 * length (so PONGs rename handshake nodes), time moves on, the state ticks
 * (PFAIL), and a message to a picked peer is built and round-tripped. A
 * refused frame ends the run (the link would close). After some messages a
 * CLUSTER command drawn from the frame's bytes runs (ADDSLOTS[RANGE],
 * DELSLOTS[RANGE], SETSLOT, FORGET, BUMPEPOCH); a refused one must leave
 * the state's text (CLUSTER NODES and currentEpoch) unchanged.
 *
 * Input: byte 0 the chunk size (1 + byte0), then the stream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/text.h"
#include "cluster/bus_msg.h"
#include "cluster/nodes_conf.h"
#include "cluster/state.h"
#include "fuzz_util.h"

#define FB_STREAM_MAX (4 * BUS_FRAME_MAX)

struct fb {
	struct mem mem;
	struct cluster_state *st;
	struct bus_msg *msg, *again;
	uint8_t *enc, *enc2;
	struct fuzz_exact x;
	uint64_t now, epoch, my_epoch;
	unsigned count;
};

static void fb_setup(struct fb *f)
{
	char err[CLUSTER_ERR_MAX];
	struct cluster_arg range[2] = { { "0", 1 }, { "5460", 4 } };
	struct cluster_arg meet1[2] = { { "127.0.0.1", 9 }, { "7001", 4 } };
	struct cluster_arg meet2[3] = { { "::1", 3 }, { "7002", 4 }, { "17002", 5 } };

	f->st = cluster_state_new(&f->mem, 42, 1000);
	f->st->node_timeout_ms = 500;
	FUZZ_CHECK(cluster_addslotsrange(f->st, range, 2, false, err) == 0, "setup addslotsrange");
	FUZZ_CHECK(cluster_set_config_epoch(f->st, "1", 1, err) == 0, "setup epoch");
	FUZZ_CHECK(cluster_meet(f->st, meet1, 2, 1000, err) == 0, "setup meet");
	FUZZ_CHECK(cluster_meet(f->st, meet2, 3, 1000, err) == 0, "setup meet");
	f->now = 1000;
}

/* A message re-encodes to a frame that decodes and re-encodes to itself. */
static void fb_roundtrip(struct fb *f, const struct bus_msg *m, const char *what)
{
	long n = bus_msg_encode(m, f->enc, BUS_FRAME_MAX);
	FUZZ_CHECK(n > 0 || n == -EMSGSIZE, "%s", what);
	if (n < 0)
		return;
	struct bus_decoded d = bus_msg_decode(f->enc, (size_t)n, f->again, &f->mem);
	FUZZ_CHECK(d.status == 1 && d.len == (size_t)n, "an encoded frame does not decode");
	long n2 = bus_msg_encode(f->again, f->enc2, BUS_FRAME_MAX);
	FUZZ_CHECK(n2 == n && memcmp(f->enc, f->enc2, (size_t)n) == 0, "re-encoding differs");
	bus_msg_release(f->again, &f->mem);
}

static uint16_t fb_pick(const struct cluster_state *st, size_t k)
{
	uint16_t i = (uint16_t)(k % 8);
	return st->nodes[i] != NULL ? i : CLUSTER_NONE;
}

static void fb_apply(struct fb *f, size_t len)
{
	struct cluster_effects fx;
	uint16_t ln = fb_pick(f->st, len + f->count);
	struct cluster_from from = { ln, ln == CLUSTER_NONE ? 0 : f->st->nodes[ln]->gen, "10.0.0.9",
				     "10.0.0.1" };

	fb_roundtrip(f, f->msg, "a decoded message does not encode");
	f->now += len % 1000;
	cluster_apply(f->st, f->msg, &from, f->now, &fx);
	const char *bad = cluster_state_check(f->st);
	FUZZ_CHECK(bad == NULL, "%s", bad);
	FUZZ_CHECK(f->st->current_epoch >= f->epoch, "currentEpoch went down");
	FUZZ_CHECK(cluster_myself(f->st)->config_epoch >= f->my_epoch, "my config epoch went down");
	f->epoch = f->st->current_epoch;
	f->my_epoch = cluster_myself(f->st)->config_epoch;
	cluster_tick(f->st, f->now);
	FUZZ_CHECK(cluster_state_check(f->st) == NULL, "tick broke the state");
	uint16_t peer = fb_pick(f->st, f->count * 3 + 1);
	if (peer != CLUSTER_NONE && peer != f->st->myself) {
		cluster_build_ping(f->st, (uint8_t)(BUS_MEET + f->count % 3), peer, f->again);
		fb_roundtrip(f, f->again, "a built ping does not encode");
		cluster_build_update(f->st, peer, f->again);
		fb_roundtrip(f, f->again, "a built update does not encode");
	}
	if (fx.update_node != CLUSTER_NONE) {
		cluster_build_update(f->st, fx.update_node, f->again);
		fb_roundtrip(f, f->again, "an UPDATE for a stale claim does not encode");
	}
	f->count++;
}

/* The state as text (nodes.conf plus the open slots of every node). */
static char *fb_digest(struct fb *f, size_t *len)
{
	struct text t;

	text_init(&t, &f->mem, 256);
	nodes_conf_nodes(f->st, &t);
	text_printf(&t, "%llu", (unsigned long long)f->st->current_epoch);
	*len = t.len;
	return t.p;
}

/* A command drawn from k, on slot s and a node picked by k: a refused one
 * must change nothing. */
static void fb_command(struct fb *f, size_t k, unsigned s)
{
	char err[CLUSTER_ERR_MAX], lo[8], hi[8];
	static const char *const actions[] = { "migrating", "importing", "node", "stable" };
	uint16_t pick = fb_pick(f->st, k / 7);
	const char *id = pick == CLUSTER_NONE ? "nobody" : f->st->nodes[pick]->id;
	struct cluster_arg a[3] = { { lo, (size_t)snprintf(lo, sizeof(lo), "%u", s) },
				    { hi, (size_t)snprintf(hi, sizeof(hi), "%u",
							   s + (unsigned)(k % 40)) },
				    { id, strlen(id) } };
	size_t before_len, after_len;
	char *before = fb_digest(f, &before_len);
	int rc;

	switch (k % 5) {
	case 0: rc = cluster_addslotsrange(f->st, a, 2, (k / 5) % 2 == 1, err); break;
	case 1:
		a[1] = (struct cluster_arg){ actions[(k / 5) % 4], strlen(actions[(k / 5) % 4]) };
		rc = cluster_setslot(f->st, a, (k / 5) % 4 == 3 ? 2 : 3, NULL, err);
		break;
	case 2: rc = cluster_forget(f->st, id, strlen(id), f->now, err); break;
	case 3: rc = cluster_addslots(f->st, a, 1, (k / 5) % 2 == 1, err); break;
	default:
		rc = 0;
		cluster_bumpepoch(f->st);
		break;
	}
	char *after = fb_digest(f, &after_len);
	FUZZ_CHECK(rc == 0 || (before_len == after_len && memcmp(before, after, before_len) == 0),
		   "a refused command changed the state: %s", err);
	mem_free(&f->mem, before);
	mem_free(&f->mem, after);
	const char *bad = cluster_state_check(f->st);
	FUZZ_CHECK(bad == NULL, "after a command: %s", bad);
	f->epoch = f->st->current_epoch;
	f->my_epoch = cluster_myself(f->st)->config_epoch;
}

/* Decodes what is buffered; false once the stream is refused. */
static bool fb_drain(struct fb *f, const uint8_t *buf, size_t *off, size_t end)
{
	while (*off < end) {
		const uint8_t *p = (const uint8_t *)fuzz_exact_put(&f->x, (const char *)buf + *off,
								   end - *off);
		struct bus_decoded d = bus_msg_decode(p, end - *off, f->msg, &f->mem);
		if (d.status < 0)
			return false;
		if (d.status == 0) {
			FUZZ_CHECK(d.need > 0, "need more without a count");
			return true;
		}
		FUZZ_CHECK(d.len >= BUS_HDR_LEN && d.len <= end - *off,
			   "a length outside the bytes");
		fb_apply(f, d.len);
		if (d.len % 3 == 0)
			fb_command(f, d.len + f->count, p[d.len - 1] * 64u + p[d.len / 2] % 64u);
		bus_msg_release(f->msg, &f->mem);
		*off += d.len;
	}
	return true;
}

/* The big buffers live across inputs: allocating 2 MB per input under ASan
 * costs more than the run. */
static void fb_buffers(struct fb *f)
{
	static struct bus_msg *msg, *again;
	static uint8_t *enc, *enc2;

	if (msg == NULL) {
		msg = calloc(1, sizeof(*msg));
		again = calloc(1, sizeof(*again));
		enc = malloc(BUS_FRAME_MAX);
		enc2 = malloc(BUS_FRAME_MAX);
	}
	f->msg = msg;
	f->again = again;
	f->enc = enc;
	f->enc2 = enc2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fb f;
	static bool exact_ready;
	struct fuzz_exact x;

	if (size < 1 || size > FB_STREAM_MAX)
		return 0;
	x = f.x;
	memset(&f, 0, sizeof(f));
	f.x = x;
	if (!exact_ready) {
		fuzz_exact_init(&f.x);
		exact_ready = true;
	}
	fb_buffers(&f);
	f.msg->payload = f.again->payload = NULL;
	fb_setup(&f);
	size_t chunk = 1 + (size_t)data[0], off = 0, end = 0;
	const uint8_t *stream = data + 1;
	size_t n = size - 1;
	while (end < n) {
		end = end + chunk < n ? end + chunk : n;
		if (!fb_drain(&f, stream, &off, end))
			break;
	}
	bus_msg_release(f.msg, &f.mem);
	cluster_state_free(f.st);
	FUZZ_CHECK(f.mem.used == 0, "the bus or the state leaked accounted memory");
	return 0;
}
