/* bus_msg.c: the bus codec (bus_msg.h). protobuf-c does the body; this file
 * owns the frame, the bounds of every field, and the conversion to and from
 * the plain structs. protobuf-c allocates through a bounded allocator charged
 * to the caller's memory account, so a hostile body can take at most
 * BUS_DECODE_MEM_MAX. */
#include "cluster/bus_msg.h"

#include <errno.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "cluster/bus.pb-c.h"

/* ---- ids, ips, ranges ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool bus_id_valid(const char *id, size_t n)
{
	if (n != BUS_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(id[i]) < 0)
			return false;
	return true;
}

bool bus_ip_valid(const char *ip, size_t n)
{
	if (n > BUS_IP_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = ip[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');
		if (!hex && c != '.' && c != ':')
			return false;
	}
	return true;
}

static void id_to_bytes(const char *id, uint8_t out[BUS_ID_BYTES])
{
	ASSERT(bus_id_valid(id, strlen(id)));
	for (int i = 0; i < BUS_ID_BYTES; i++)
		out[i] = (uint8_t)(hexval(id[2 * i]) << 4 | hexval(id[2 * i + 1]));
}

static bool id_from_bytes(ProtobufCBinaryData b, char out[BUS_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	if (b.len != BUS_ID_BYTES)
		return false;
	for (int i = 0; i < BUS_ID_BYTES; i++) {
		out[2 * i] = hex[b.data[i] >> 4];
		out[2 * i + 1] = hex[b.data[i] & 15];
	}
	out[BUS_ID_LEN] = '\0';
	return true;
}

static bool ip_copy(const char *ip, char out[BUS_IP_MAX + 1])
{
	size_t n = ip == NULL ? 0 : strlen(ip);

	if (!bus_ip_valid(ip, n))
		return false;
	memcpy(out, ip, n);
	out[n] = '\0';
	return true;
}

/* Ranges are start,end pairs, each within the slots, ascending and apart. */
static bool ranges_valid(const uint32_t *r, size_t nvals)
{
	if (nvals % 2 != 0 || nvals > 2 * BUS_RANGES_MAX)
		return false;
	for (size_t i = 0; i < nvals; i += 2) {
		if (r[i] > r[i + 1] || r[i + 1] >= BUS_SLOTS)
			return false;
		if (i > 0 && r[i] <= r[i - 1])
			return false;
	}
	return true;
}

static bool flags_valid(uint32_t flags)
{
	return (flags & ~(uint32_t)CLUSTER_NODE_ALL) == 0;
}

const char *bus_err_name(enum bus_decode_err e)
{
	switch (e) {
	case BUS_ERR_MAGIC: return "magic";
	case BUS_ERR_VERSION: return "version";
	case BUS_ERR_TYPE: return "type";
	case BUS_ERR_SIZE: return "size";
	case BUS_ERR_BODY: return "body";
	case BUS_ERR_FIELD: return "field";
	case BUS_ERR_MEMORY: return "memory";
	}
	return "unknown";
}

/* ---- encoding ---- */

/* The protobuf-c structures of one message, pointing into the bus_msg. */
struct enc {
	Cairn__Bus__Ping ping;
	Cairn__Bus__Slots slots;
	Cairn__Bus__Update update;
	Cairn__Bus__Publish publish;
	Cairn__Bus__Gossip g[BUS_GOSSIP_MAX];
	Cairn__Bus__Gossip *gp[BUS_GOSSIP_MAX];
	uint8_t ids[BUS_GOSSIP_MAX + 2][BUS_ID_BYTES];
};

static bool enc_gossip(struct enc *e, const struct bus_ping *p)
{
	for (uint32_t i = 0; i < p->ngossip; i++) {
		const struct bus_gossip *s = &p->gossip[i];
		Cairn__Bus__Gossip *g = &e->g[i];

		if (!bus_id_valid(s->id, strlen(s->id)) || !bus_ip_valid(s->ip, strlen(s->ip)) ||
		    !flags_valid(s->flags))
			return false;
		cairn__bus__gossip__init(g);
		id_to_bytes(s->id, e->ids[i + 1]);
		g->id = (ProtobufCBinaryData){ BUS_ID_BYTES, e->ids[i + 1] };
		g->ip = (char *)s->ip;
		g->port = s->port;
		g->bus_port = s->bus_port;
		g->flags = s->flags;
		g->ping_sent_ms = s->ping_sent_ms;
		g->pong_received_ms = s->pong_received_ms;
		e->gp[i] = g;
	}
	e->ping.n_gossip = p->ngossip;
	e->ping.gossip = e->gp;
	return true;
}

static bool enc_slots(struct enc *e, const struct bus_slots *s)
{
	cairn__bus__slots__init(&e->slots);
	if (s->nadd + s->ndel > BUS_RANGES_MAX || !ranges_valid(s->ranges, 2 * s->nadd) ||
	    !ranges_valid(s->ranges + 2 * s->nadd, 2 * s->ndel) || (s->full && s->ndel != 0))
		return false;
	e->slots.present = s->present;
	e->slots.full = s->full;
	e->slots.version = s->version;
	e->slots.base_version = s->base_version;
	e->slots.n_added = 2 * s->nadd;
	e->slots.added = (uint32_t *)s->ranges;
	e->slots.n_removed = 2 * s->ndel;
	e->slots.removed = (uint32_t *)s->ranges + 2 * s->nadd;
	e->ping.slots = &e->slots;
	return true;
}

static const ProtobufCMessage *enc_ping(struct enc *e, const struct bus_ping *p)
{
	cairn__bus__ping__init(&e->ping);
	if (!bus_id_valid(p->sender, strlen(p->sender)) || !bus_ip_valid(p->ip, strlen(p->ip)) ||
	    p->ngossip > BUS_GOSSIP_MAX || !flags_valid(p->flags))
		return NULL;
	id_to_bytes(p->sender, e->ids[0]);
	e->ping.sender = (ProtobufCBinaryData){ BUS_ID_BYTES, e->ids[0] };
	e->ping.ip = (char *)p->ip;
	e->ping.port = p->port;
	e->ping.bus_port = p->bus_port;
	e->ping.flags = p->flags;
	e->ping.config_epoch = p->config_epoch;
	e->ping.current_epoch = p->current_epoch;
	e->ping.slots_ack = p->slots_ack;
	if (!enc_gossip(e, p) || !enc_slots(e, &p->slots))
		return NULL;
	return &e->ping.base;
}

static const ProtobufCMessage *enc_update(struct enc *e, const struct bus_update *u)
{
	cairn__bus__update__init(&e->update);
	if (!bus_id_valid(u->id, strlen(u->id)) || !bus_id_valid(u->sender, strlen(u->sender)) ||
	    !ranges_valid(u->ranges, 2 * (size_t)u->nranges))
		return NULL;
	id_to_bytes(u->id, e->ids[0]);
	id_to_bytes(u->sender, e->ids[1]);
	e->update.id = (ProtobufCBinaryData){ BUS_ID_BYTES, e->ids[0] };
	e->update.sender = (ProtobufCBinaryData){ BUS_ID_BYTES, e->ids[1] };
	e->update.config_epoch = u->config_epoch;
	e->update.current_epoch = u->current_epoch;
	e->update.n_ranges = 2 * (size_t)u->nranges;
	e->update.ranges = (uint32_t *)u->ranges;
	return &e->update.base;
}

static const ProtobufCMessage *enc_publish(struct enc *e, const struct bus_publish *p)
{
	cairn__bus__publish__init(&e->publish);
	if (!bus_id_valid(p->sender, strlen(p->sender)))
		return NULL;
	if (p->channel_len > BUS_FRAME_MAX || p->message_len > BUS_FRAME_MAX)
		return NULL;
	id_to_bytes(p->sender, e->ids[0]);
	e->publish.sender = (ProtobufCBinaryData){ BUS_ID_BYTES, e->ids[0] };
	e->publish.channel = (ProtobufCBinaryData){ p->channel_len, (uint8_t *)p->channel };
	e->publish.message = (ProtobufCBinaryData){ p->message_len, (uint8_t *)p->message };
	e->publish.sharded = p->sharded;
	return &e->publish.base;
}

static const ProtobufCMessage *enc_build(struct enc *e, const struct bus_msg *m)
{
	switch (m->type) {
	case BUS_MEET:
	case BUS_PING:
	case BUS_PONG: return enc_ping(e, &m->u.ping);
	case BUS_UPDATE: return enc_update(e, &m->u.update);
	case BUS_PUBLISH: return enc_publish(e, &m->u.publish);
	default: return NULL;
	}
}

static long enc_run(const struct bus_msg *m, uint8_t *buf, size_t cap)
{
	struct enc e;
	const ProtobufCMessage *pm = enc_build(&e, m);

	if (pm == NULL)
		return -EINVAL;
	size_t body = protobuf_c_message_get_packed_size(pm);
	if (body > BUS_FRAME_MAX - BUS_HDR_LEN)
		return -EMSGSIZE;
	size_t len = BUS_HDR_LEN + body;
	if (buf == NULL)
		return (long)len;
	if (cap < len)
		return -ENOSPC;
	buf[0] = BUS_MAGIC0;
	buf[1] = BUS_MAGIC1;
	buf[2] = BUS_VERSION;
	buf[3] = m->type;
	for (int i = 0; i < 4; i++)
		buf[4 + i] = (uint8_t)(body >> (24 - 8 * i));
	size_t packed = protobuf_c_message_pack(pm, buf + BUS_HDR_LEN);
	ASSERT(packed == body);
	return (long)len;
}

long bus_msg_encode(const struct bus_msg *m, uint8_t *buf, size_t cap)
{
	ASSERT(buf != NULL);
	return enc_run(m, buf, cap);
}

long bus_msg_size(const struct bus_msg *m)
{
	return enc_run(m, NULL, 0);
}

void bus_msg_set_publish(struct bus_msg *m, const char *sender, bool sharded, const void *channel,
			 size_t clen, const void *message, size_t mlen)
{
	ASSERT(strlen(sender) <= BUS_ID_LEN);
	m->type = BUS_PUBLISH;
	memcpy(m->u.publish.sender, sender, strlen(sender) + 1);
	m->u.publish.sharded = sharded;
	m->u.publish.channel = channel;
	m->u.publish.channel_len = clen;
	m->u.publish.message = message;
	m->u.publish.message_len = mlen;
}

/* ---- decoding ---- */

/* protobuf-c's allocator: charged to mem, refused past BUS_DECODE_MEM_MAX. */
struct dec_alloc {
	struct mem *mem;
	size_t used;
	bool over;
};

static void *dec_alloc_fn(void *data, size_t size)
{
	struct dec_alloc *a = data;

	if (size > BUS_DECODE_MEM_MAX || a->used + size > BUS_DECODE_MEM_MAX) {
		a->over = true;
		return NULL;
	}
	void *p = mem_try_alloc(a->mem, size == 0 ? 1 : size);
	if (p != NULL)
		a->used += mem_size(p);
	return p;
}

static void dec_free_fn(void *data, void *p)
{
	struct dec_alloc *a = data;

	if (p == NULL)
		return;
	size_t n = mem_size(p);
	ASSERT(a->used >= n);
	a->used -= n;
	mem_free(a->mem, p);
}

static bool dec_gossip(const Cairn__Bus__Ping *pp, struct bus_ping *p)
{
	if (pp->n_gossip > BUS_GOSSIP_MAX)
		return false;
	p->ngossip = (uint32_t)pp->n_gossip;
	for (size_t i = 0; i < pp->n_gossip; i++) {
		const Cairn__Bus__Gossip *g = pp->gossip[i];
		struct bus_gossip *o = &p->gossip[i];

		if (!id_from_bytes(g->id, o->id) || !ip_copy(g->ip, o->ip) || g->port > 65535 ||
		    g->bus_port > 65535 || !flags_valid(g->flags))
			return false;
		o->port = (uint16_t)g->port;
		o->bus_port = (uint16_t)g->bus_port;
		o->flags = g->flags;
		o->ping_sent_ms = g->ping_sent_ms;
		o->pong_received_ms = g->pong_received_ms;
	}
	return true;
}

static bool dec_slots(const Cairn__Bus__Slots *ps, struct bus_slots *s)
{
	memset(s, 0, offsetof(struct bus_slots, ranges));
	if (ps == NULL)
		return true;
	if (ps->n_added + ps->n_removed > 2 * BUS_RANGES_MAX ||
	    !ranges_valid(ps->added, ps->n_added) || !ranges_valid(ps->removed, ps->n_removed) ||
	    (ps->full && ps->n_removed != 0))
		return false;
	s->present = ps->present;
	s->full = ps->full;
	s->version = ps->version;
	s->base_version = ps->base_version;
	s->nadd = (uint32_t)(ps->n_added / 2);
	s->ndel = (uint32_t)(ps->n_removed / 2);
	if (ps->n_added > 0)
		memcpy(s->ranges, ps->added, ps->n_added * sizeof(uint32_t));
	if (ps->n_removed > 0)
		memcpy(s->ranges + ps->n_added, ps->removed, ps->n_removed * sizeof(uint32_t));
	return true;
}

static bool dec_ping(const Cairn__Bus__Ping *pp, struct bus_ping *p)
{
	if (!id_from_bytes(pp->sender, p->sender) || !ip_copy(pp->ip, p->ip) || pp->port > 65535 ||
	    pp->bus_port > 65535 || !flags_valid(pp->flags))
		return false;
	p->port = (uint16_t)pp->port;
	p->bus_port = (uint16_t)pp->bus_port;
	p->flags = pp->flags;
	p->config_epoch = pp->config_epoch;
	p->current_epoch = pp->current_epoch;
	p->slots_ack = pp->slots_ack;
	return dec_gossip(pp, p) && dec_slots(pp->slots, &p->slots);
}

static bool dec_update(const Cairn__Bus__Update *pu, struct bus_update *u)
{
	if (!id_from_bytes(pu->id, u->id) || !id_from_bytes(pu->sender, u->sender) ||
	    !ranges_valid(pu->ranges, pu->n_ranges))
		return false;
	u->config_epoch = pu->config_epoch;
	u->current_epoch = pu->current_epoch;
	u->nranges = (uint32_t)(pu->n_ranges / 2);
	if (pu->n_ranges > 0)
		memcpy(u->ranges, pu->ranges, pu->n_ranges * sizeof(uint32_t));
	return true;
}

static bool dec_publish(const Cairn__Bus__Publish *pp, struct bus_msg *m, struct mem *mem)
{
	struct bus_publish *p = &m->u.publish;

	if (!id_from_bytes(pp->sender, p->sender))
		return false;
	size_t n = pp->channel.len + pp->message.len;
	m->payload = mem_try_alloc(mem, n == 0 ? 1 : n);
	if (m->payload == NULL)
		return false;
	m->payload_len = n;
	if (pp->channel.len > 0)
		memcpy(m->payload, pp->channel.data, pp->channel.len);
	if (pp->message.len > 0)
		memcpy(m->payload + pp->channel.len, pp->message.data, pp->message.len);
	p->sharded = pp->sharded;
	p->channel = m->payload;
	p->channel_len = pp->channel.len;
	p->message = m->payload + pp->channel.len;
	p->message_len = pp->message.len;
	return true;
}

static const ProtobufCMessageDescriptor *dec_descriptor(uint8_t type)
{
	switch (type) {
	case BUS_MEET:
	case BUS_PING:
	case BUS_PONG: return &cairn__bus__ping__descriptor;
	case BUS_UPDATE: return &cairn__bus__update__descriptor;
	case BUS_PUBLISH: return &cairn__bus__publish__descriptor;
	default: return NULL;
	}
}

static bool dec_convert(uint8_t type, const ProtobufCMessage *pm, struct bus_msg *out,
			struct mem *mem)
{
	out->type = type;
	switch (type) {
	case BUS_UPDATE: return dec_update((const Cairn__Bus__Update *)pm, &out->u.update);
	case BUS_PUBLISH: return dec_publish((const Cairn__Bus__Publish *)pm, out, mem);
	default: return dec_ping((const Cairn__Bus__Ping *)pm, &out->u.ping);
	}
}

/* The header's verdict: 0 when it is complete and sound (*body set), 1 for
 * "need more", -1 malformed. A partial header is checked as far as it goes,
 * so garbage is refused from its first byte. */
static int dec_header(const uint8_t *p, size_t n, struct bus_decoded *d, size_t *body)
{
	static const uint8_t want[3] = { BUS_MAGIC0, BUS_MAGIC1, BUS_VERSION };

	for (size_t i = 0; i < 3 && i < n; i++) {
		if (p[i] != want[i]) {
			d->err = i < 2 ? BUS_ERR_MAGIC : BUS_ERR_VERSION;
			return -1;
		}
	}
	if (n > 3 && dec_descriptor(p[3]) == NULL) {
		d->err = BUS_ERR_TYPE;
		return -1;
	}
	if (n < BUS_HDR_LEN) {
		d->need = BUS_HDR_LEN - n;
		return 1;
	}
	*body = (size_t)p[4] << 24 | (size_t)p[5] << 16 | (size_t)p[6] << 8 | p[7];
	if (*body > BUS_FRAME_MAX - BUS_HDR_LEN) {
		d->err = BUS_ERR_SIZE;
		return -1;
	}
	return 0;
}

struct bus_decoded bus_msg_decode(const uint8_t *p, size_t n, struct bus_msg *out, struct mem *mem)
{
	struct bus_decoded d = { 0, 0, 0, 0 };
	size_t body = 0;
	int h = dec_header(p, n, &d, &body);

	if (h != 0) {
		d.status = h > 0 ? 0 : -1;
		return d;
	}
	if (n < BUS_HDR_LEN + body) {
		d.need = BUS_HDR_LEN + body - n;
		return d;
	}
	bus_msg_release(out, mem);
	struct dec_alloc a = { mem, 0, false };
	ProtobufCAllocator pa = { dec_alloc_fn, dec_free_fn, &a };
	ProtobufCMessage *pm = protobuf_c_message_unpack(dec_descriptor(p[3]), &pa, body,
							 p + BUS_HDR_LEN);
	if (pm == NULL) {
		ASSERT(a.used == 0);
		d.status = -1;
		d.err = a.over ? BUS_ERR_MEMORY : BUS_ERR_BODY;
		return d;
	}
	bool ok = dec_convert(p[3], pm, out, mem);
	protobuf_c_message_free_unpacked(pm, &pa);
	ASSERT(a.used == 0);
	if (!ok) {
		bus_msg_release(out, mem);
		d.status = -1;
		d.err = BUS_ERR_FIELD;
		return d;
	}
	d.status = 1;
	d.len = BUS_HDR_LEN + body;
	return d;
}

void bus_msg_release(struct bus_msg *m, struct mem *mem)
{
	if (m->payload != NULL)
		mem_free(mem, m->payload);
	m->payload = NULL;
	m->payload_len = 0;
}
