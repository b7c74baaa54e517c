/* notify.c: see notify.h. */
#include "shard/notify.h"

#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "shard/msg.h"
#include "shard/pubsub.h"
#include "shard/xshard.h"

/* Room for a channel name beyond its key or event, which we build in a
 * scratch buffer: "__keyspace@0__:" and "__keyevent@0__:". */
#define NOTIFY_PREFIX_LEN 15
#define NOTIFY_EVENT_MAX 255
/* A queue starts with room for its sequence number, written when it is
 * sent: events, their lengths first, follow. */
#define NOTIFY_HEAD sizeof(uint64_t)

void notify_init(struct notify *n, struct mem *mem)
{
	memset(n, 0, sizeof(*n));
	n->mem = mem;
}

void notify_free(struct notify *n)
{
	mem_free(n->mem, n->buf);
	n->buf = NULL;
	n->len = n->cap = 0;
}

void notify_add(struct notify *n, const char *event, const char *key, size_t klen)
{
	size_t elen = strlen(event), need;
	uint32_t k32 = (uint32_t)klen;

	ASSERT(elen > 0);
	ASSERT(elen <= NOTIFY_EVENT_MAX);
	ASSERT(klen <= UINT32_MAX);
	if (n->len == 0)
		n->len = NOTIFY_HEAD;
	need = n->len + sizeof(k32) + 1 + elen + klen;
	if (need > n->cap) {
		n->cap = need > 2 * n->cap ? need : 2 * n->cap;
		n->buf = mem_realloc(n->mem, n->buf, n->cap);
	}
	memcpy(n->buf + n->len, &k32, sizeof(k32));
	n->buf[n->len + sizeof(k32)] = (char)elen;
	memcpy(n->buf + n->len + sizeof(k32) + 1, event, elen);
	memcpy(n->buf + n->len + sizeof(k32) + 1 + elen, key, klen);
	n->len = need;
}

/* Publishes one event on a channel made of prefix and name. */
static void publish_on(struct pubsub *ps, struct mem *mem, const char *prefix, const char *name,
		       size_t nlen, const char *msg, size_t mlen)
{
	char small[128], *ch = small;

	if (NOTIFY_PREFIX_LEN + nlen > sizeof(small))
		ch = mem_alloc(mem, NOTIFY_PREFIX_LEN + nlen);
	memcpy(ch, prefix, NOTIFY_PREFIX_LEN);
	memcpy(ch + NOTIFY_PREFIX_LEN, name, nlen);
	(void)pubsub_publish(ps, PUBSUB_CHANNEL, ch, NOTIFY_PREFIX_LEN + nlen, msg, mlen, NULL);
	if (ch != small)
		mem_free(mem, ch);
}

/* Publishes every event of buf[0, len) to ps's subscribers. */
static void deliver(struct pubsub *ps, const struct config *cfg, struct mem *mem, const char *buf,
		    size_t len)
{
	size_t off = 0;

	while (off < len) {
		uint32_t klen;
		size_t elen;
		const char *event, *key;
		memcpy(&klen, buf + off, sizeof(klen));
		elen = (unsigned char)buf[off + sizeof(klen)];
		event = buf + off + sizeof(klen) + 1;
		key = event + elen;
		off += sizeof(klen) + 1 + elen + klen;
		ASSERT(off <= len);
		if (cfg->notify_flags & CONFIG_NOTIFY_KEYSPACE)
			publish_on(ps, mem, "__keyspace@0__:", key, klen, event, elen);
		if (cfg->notify_flags & CONFIG_NOTIFY_KEYEVENT)
			publish_on(ps, mem, "__keyevent@0__:", event, elen, key, klen);
	}
}

void notify_flush(struct notify *n, struct pubsub *ps, const struct config *cfg, struct xshard *x,
		  const uint64_t *others, atomic_uint_least64_t *seq)
{
	uint64_t at = 0;
	unsigned s;

	if (n->len == 0)
		return;
	ASSERT(n->len > NOTIFY_HEAD);
	deliver(ps, cfg, n->mem, n->buf + NOTIFY_HEAD, n->len - NOTIFY_HEAD);
	for (s = 0; s < XSHARD_MAX; s++) {
		if (!(others[s / 64] & (1ull << (s % 64))))
			continue;
		if (at == 0) {
			at = atomic_fetch_add_explicit(seq, 1, memory_order_relaxed) + 1;
			memcpy(n->buf, &at, sizeof(at));
		}
		xshard_send(x, s, msg_bytes_new(n->mem, MSG_NOTIFY, n->buf, n->len));
	}
	n->len = 0;
	/* A burst's buffer is not kept. */
	if (n->cap > 64 * 1024)
		notify_free(n);
}

uint64_t notify_message_seq(const struct xmsg *m)
{
	size_t n;
	const char *p = msg_bytes(m, &n);
	uint64_t at;

	ASSERT(m->kind == MSG_NOTIFY);
	ASSERT(n > NOTIFY_HEAD);
	memcpy(&at, p, sizeof(at));
	return at;
}

void notify_message(struct pubsub *ps, const struct config *cfg, struct mem *mem, struct xmsg *m)
{
	size_t n;
	const char *p = msg_bytes(m, &n);

	ASSERT(m->kind == MSG_NOTIFY);
	ASSERT(n > NOTIFY_HEAD);
	deliver(ps, cfg, mem, p + NOTIFY_HEAD, n - NOTIFY_HEAD);
	msg_bytes_free(mem, m);
}

void notify_drop_message(struct mem *mem, struct xmsg *m)
{
	ASSERT(m->kind == MSG_NOTIFY);
	msg_bytes_free(mem, m);
}
