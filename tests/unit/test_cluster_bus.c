/* test_cluster_bus.c: unit tests of the cluster bus codec
 * (node/cluster/bus_msg.c).
 *
 * Goal: every message type survives encode then decode unchanged; the frame
 * is bounded exactly at BUS_FRAME_MAX (a frame of exactly that size passes,
 * one byte more is refused by the encoder, and a header announcing more is
 * refused by the decoder from its 8 bytes); every prefix of a frame asks for
 * exactly the bytes missing; bad magic, version, type, body and fields are
 * refused with their error code and leave no memory charged; a hostile body
 * cannot make the decoder allocate past BUS_DECODE_MEM_MAX.
 *
 * Method: messages are built as plain structs, encoded into a buffer and
 * decoded back; malformed bodies are written with protobuf-c directly (the
 * encoder refuses to write them). With CAIRN_BUS_SEEDS=DIR set, the test
 * also writes fuzz/corpus/fuzz_bus seeds (byte 0 the chunk size, then
 * frames) into DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cluster/bus.pb-c.h"
#include "cluster/bus_msg.h"

#define ID_A "0123456789abcdef0123456789abcdef01234567"
#define ID_B "fedcba9876543210fedcba9876543210fedcba98"

static struct bus_msg *msg_new(void)
{
	return calloc(1, sizeof(struct bus_msg));
}

static void fill_ping(struct bus_msg *m, uint8_t type)
{
	struct bus_ping *p = &m->u.ping;

	m->type = type;
	strcpy(p->sender, ID_A);
	strcpy(p->ip, "127.0.0.1");
	p->port = 7000;
	p->bus_port = 17000;
	p->flags = CLUSTER_NODE_MASTER;
	p->config_epoch = 3;
	p->current_epoch = 9;
	p->slots_ack = 4;
	p->ngossip = 2;
	strcpy(p->gossip[0].id, ID_B);
	strcpy(p->gossip[0].ip, "::1");
	p->gossip[0].port = 7001;
	p->gossip[0].bus_port = 17001;
	p->gossip[0].flags = CLUSTER_NODE_MASTER | CLUSTER_NODE_PFAIL;
	p->gossip[0].ping_sent_ms = 1234;
	p->gossip[0].pong_received_ms = 5678;
	strcpy(p->gossip[1].id, ID_A);
	p->slots.present = true;
	p->slots.full = true;
	p->slots.version = 7;
	p->slots.nadd = 2;
	uint32_t r[] = { 0, 5460, 10000, 10000 };
	memcpy(p->slots.ranges, r, sizeof(r));
}

static long encode(const struct bus_msg *m, uint8_t *buf)
{
	long n = bus_msg_encode(m, buf, BUS_FRAME_MAX);
	assert_true(n > BUS_HDR_LEN);
	assert_int_equal(bus_msg_size(m), n);
	return n;
}

static void test_ping_roundtrip(void **state)
{
	(void)state;
	struct mem mem = { 0 };
	struct bus_msg *m = msg_new(), *d = msg_new();
	uint8_t *buf = malloc(BUS_FRAME_MAX);

	for (uint8_t type = BUS_MEET; type <= BUS_PONG; type++) {
		fill_ping(m, type);
		long n = encode(m, buf);
		assert_memory_equal(buf, "CB\x01", 3);
		assert_int_equal(buf[3], type);
		struct bus_decoded r = bus_msg_decode(buf, (size_t)n, d, &mem);
		assert_int_equal(r.status, 1);
		assert_int_equal(r.len, n);
		assert_int_equal(d->type, type);
		assert_memory_equal(&d->u.ping, &m->u.ping, offsetof(struct bus_ping, gossip));
		assert_memory_equal(d->u.ping.gossip, m->u.ping.gossip,
				    2 * sizeof(struct bus_gossip));
		assert_memory_equal(d->u.ping.slots.ranges, m->u.ping.slots.ranges,
				    4 * sizeof(uint32_t));
		assert_int_equal(d->u.ping.slots.version, 7);
		assert_true(d->u.ping.slots.full && d->u.ping.slots.present);
	}
	/* A delta: added and removed ranges. */
	fill_ping(m, BUS_PONG);
	m->u.ping.slots.full = false;
	m->u.ping.slots.base_version = 6;
	m->u.ping.slots.nadd = 1;
	m->u.ping.slots.ndel = 1;
	long n = encode(m, buf);
	assert_int_equal(bus_msg_decode(buf, (size_t)n, d, &mem).status, 1);
	assert_int_equal(d->u.ping.slots.nadd, 1);
	assert_int_equal(d->u.ping.slots.ndel, 1);
	assert_int_equal(d->u.ping.slots.ranges[2], 10000);
	assert_int_equal(d->u.ping.slots.base_version, 6);
	assert_int_equal(mem.used, 0);
	free(buf);
	free(m);
	free(d);
}

static void test_update_publish_roundtrip(void **state)
{
	(void)state;
	struct mem mem = { 0 };
	struct bus_msg *m = msg_new(), *d = msg_new();
	uint8_t buf[512];

	m->type = BUS_UPDATE;
	strcpy(m->u.update.id, ID_B);
	strcpy(m->u.update.sender, ID_A);
	m->u.update.config_epoch = 12;
	m->u.update.current_epoch = 13;
	m->u.update.nranges = 1;
	m->u.update.ranges[0] = 100;
	m->u.update.ranges[1] = 16383;
	long n = bus_msg_encode(m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(bus_msg_decode(buf, (size_t)n, d, &mem).status, 1);
	assert_string_equal(d->u.update.id, ID_B);
	assert_int_equal(d->u.update.config_epoch, 12);
	assert_int_equal(d->u.update.ranges[1], 16383);

	bus_msg_set_publish(m, ID_A, true, "chan", 4, "hello\0x", 7);
	n = bus_msg_encode(m, buf, sizeof(buf));
	assert_int_equal(bus_msg_decode(buf, (size_t)n, d, &mem).status, 1);
	assert_true(d->u.publish.sharded);
	assert_int_equal(d->u.publish.channel_len, 4);
	assert_memory_equal(d->u.publish.message, "hello\0x", 7);
	assert_true(mem.used > 0);
	bus_msg_release(d, &mem);
	assert_int_equal(mem.used, 0);
	/* Too small a buffer, and a bad id. */
	assert_int_equal(bus_msg_encode(m, buf, 10), -ENOSPC);
	strcpy(m->u.publish.sender, "xyz");
	assert_int_equal(bus_msg_encode(m, buf, sizeof(buf)), -EINVAL);
	free(m);
	free(d);
}

/* A PUBLISH whose frame is exactly want bytes (the body's varint length
 * prefix of the message field takes 3 bytes past 16383). */
static long publish_of_size(struct bus_msg *m, uint8_t *payload, size_t want)
{
	size_t mlen = want - BUS_HDR_LEN - 64;
	bus_msg_set_publish(m, ID_A, false, "c", 1, payload, mlen);
	long n = bus_msg_size(m);
	assert_true(n > 0);
	mlen += want - (size_t)n;
	bus_msg_set_publish(m, ID_A, false, "c", 1, payload, mlen);
	return bus_msg_size(m);
}

static void test_frame_max(void **state)
{
	(void)state;
	struct mem mem = { 0 };
	struct bus_msg *m = msg_new(), *d = msg_new();
	uint8_t *buf = malloc(BUS_FRAME_MAX + 16), *payload = calloc(1, BUS_FRAME_MAX);

	assert_int_equal(publish_of_size(m, payload, BUS_FRAME_MAX), BUS_FRAME_MAX);
	assert_int_equal(bus_msg_encode(m, buf, BUS_FRAME_MAX), BUS_FRAME_MAX);
	struct bus_decoded r = bus_msg_decode(buf, BUS_FRAME_MAX, d, &mem);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.len, BUS_FRAME_MAX);
	bus_msg_release(d, &mem);
	/* One byte more is refused by the encoder... */
	m->u.publish.message_len++;
	assert_int_equal(bus_msg_encode(m, buf, BUS_FRAME_MAX + 16), -EMSGSIZE);
	/* ...and a header that announces it, by the decoder, from the header. */
	uint32_t body = BUS_FRAME_MAX - BUS_HDR_LEN + 1;
	uint8_t hdr[8] = { 'C',
			   'B',
			   1,
			   BUS_PUBLISH,
			   (uint8_t)(body >> 24),
			   (uint8_t)(body >> 16),
			   (uint8_t)(body >> 8),
			   (uint8_t)body };
	r = bus_msg_decode(hdr, 8, d, &mem);
	assert_int_equal(r.status, -1);
	assert_int_equal(r.err, BUS_ERR_SIZE);
	body--;
	hdr[7] = (uint8_t)body;
	r = bus_msg_decode(hdr, 8, d, &mem);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.need, body);
	assert_int_equal(mem.used, 0);
	free(buf);
	free(payload);
	free(m);
	free(d);
}

static void test_split_every_byte(void **state)
{
	(void)state;
	struct mem mem = { 0 };
	struct bus_msg *m = msg_new(), *d = msg_new();
	uint8_t buf[2048];

	fill_ping(m, BUS_PING);
	long n = encode(m, buf);
	for (long k = 0; k < n; k++) {
		uint8_t *copy = malloc((size_t)k + 1);
		memcpy(copy, buf, (size_t)k);
		struct bus_decoded r = bus_msg_decode(copy, (size_t)k, d, &mem);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.need, k < BUS_HDR_LEN ? BUS_HDR_LEN - k : n - k);
		free(copy);
	}
	/* Two frames back to back: the first is decoded alone. */
	memcpy(buf + n, buf, (size_t)n);
	struct bus_decoded r = bus_msg_decode(buf, 2 * (size_t)n, d, &mem);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.len, n);
	free(m);
	free(d);
}

static void expect_refused(const uint8_t *p, size_t n, enum bus_decode_err err)
{
	struct mem mem = { 0 };
	struct bus_msg *d = msg_new();
	struct bus_decoded r = bus_msg_decode(p, n, d, &mem);

	assert_int_equal(r.status, -1);
	assert_int_equal(r.err, err);
	assert_int_equal(mem.used, 0);
	free(d);
}

static void test_bad_header(void **state)
{
	(void)state;
	expect_refused((const uint8_t *)"X", 1, BUS_ERR_MAGIC);
	expect_refused((const uint8_t *)"CX", 2, BUS_ERR_MAGIC);
	expect_refused((const uint8_t *)"CB\x02", 3, BUS_ERR_VERSION);
	expect_refused((const uint8_t *)"CB\x01\x00", 4, BUS_ERR_TYPE);
	expect_refused((const uint8_t *)"CB\x01\x06", 4, BUS_ERR_TYPE); /* FAIL: reserved */
	expect_refused((const uint8_t *)"CB\x01\xff", 4, BUS_ERR_TYPE);
	/* A body that is not protobuf: a field with wire type 7. */
	expect_refused((const uint8_t *)"CB\x01\x02\x00\x00\x00\x01\x0f", 9, BUS_ERR_BODY);
	/* A truncated varint. */
	expect_refused((const uint8_t *)"CB\x01\x02\x00\x00\x00\x02\x30\x80", 10, BUS_ERR_BODY);
	/* An empty PING body: no sender id. */
	expect_refused((const uint8_t *)"CB\x01\x02\x00\x00\x00\x00", 8, BUS_ERR_FIELD);
}

/* Packs a protobuf-c message into a frame of the given type. */
static size_t frame(const ProtobufCMessage *pm, uint8_t type, uint8_t *buf)
{
	size_t body = protobuf_c_message_pack(pm, buf + BUS_HDR_LEN);
	uint8_t hdr[8] = { 'C',
			   'B',
			   1,
			   type,
			   (uint8_t)(body >> 24),
			   (uint8_t)(body >> 16),
			   (uint8_t)(body >> 8),
			   (uint8_t)body };
	memcpy(buf, hdr, 8);
	return BUS_HDR_LEN + body;
}

static void test_bad_fields(void **state)
{
	(void)state;
	uint8_t id[20] = { 1 }, *buf = malloc(BUS_FRAME_MAX);
	uint32_t reversed[2] = { 10, 5 }, high[2] = { 0, 16384 }, odd[3] = { 1, 2, 3 };
	uint32_t overlap[4] = { 0, 10, 10, 20 };
	Cairn__Bus__Update u = CAIRN__BUS__UPDATE__INIT;

	u.id = (ProtobufCBinaryData){ 20, id };
	/* No sender id. */
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);
	u.sender = u.id;
	u.n_ranges = 2;
	u.ranges = reversed;
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);
	u.ranges = high;
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);
	u.n_ranges = 3;
	u.ranges = odd;
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);
	u.n_ranges = 4;
	u.ranges = overlap;
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);
	u.id.len = 19;
	u.n_ranges = 0;
	expect_refused(buf, frame(&u.base, BUS_UPDATE, buf), BUS_ERR_FIELD);

	Cairn__Bus__Ping p = CAIRN__BUS__PING__INIT;
	p.sender = (ProtobufCBinaryData){ 20, id };
	p.ip = "1.2.3.4 x";
	expect_refused(buf, frame(&p.base, BUS_PING, buf), BUS_ERR_FIELD);
	p.ip = "1.2.3.4";
	p.port = 65536;
	expect_refused(buf, frame(&p.base, BUS_PING, buf), BUS_ERR_FIELD);
	p.port = 1;
	p.flags = 1u << 20;
	expect_refused(buf, frame(&p.base, BUS_PING, buf), BUS_ERR_FIELD);
	free(buf);
}

static void test_gossip_bounds(void **state)
{
	(void)state;
	uint8_t id[20] = { 2 }, *buf = malloc(BUS_FRAME_MAX);
	Cairn__Bus__Ping p = CAIRN__BUS__PING__INIT;
	Cairn__Bus__Gossip g = CAIRN__BUS__GOSSIP__INIT;
	Cairn__Bus__Gossip **gp = calloc(BUS_GOSSIP_MAX + 1, sizeof(*gp));
	struct mem mem = { 0 };
	struct bus_msg *d = msg_new();

	g.id = (ProtobufCBinaryData){ 20, id };
	for (int i = 0; i <= BUS_GOSSIP_MAX; i++)
		gp[i] = &g;
	p.sender = g.id;
	p.gossip = gp;
	p.n_gossip = BUS_GOSSIP_MAX;
	size_t n = frame(&p.base, BUS_PING, buf);
	assert_int_equal(bus_msg_decode(buf, n, d, &mem).status, 1);
	assert_int_equal(d->u.ping.ngossip, BUS_GOSSIP_MAX);
	p.n_gossip = BUS_GOSSIP_MAX + 1;
	expect_refused(buf, frame(&p.base, BUS_PING, buf), BUS_ERR_FIELD);
	/* Empty gossip entries cost 2 bytes on the wire and far more decoded:
	 * a frame full of them hits the decoder's memory bound. */
	size_t body = BUS_FRAME_MAX - BUS_HDR_LEN;
	memcpy(buf, "CB\x01\x02", 4);
	buf[4] = (uint8_t)(body >> 24);
	buf[5] = (uint8_t)(body >> 16);
	buf[6] = (uint8_t)(body >> 8);
	buf[7] = (uint8_t)body;
	for (size_t i = 0; i < body; i += 2)
		memcpy(buf + BUS_HDR_LEN + i, "\x42\x00", 2);
	expect_refused(buf, BUS_FRAME_MAX, BUS_ERR_MEMORY);
	assert_int_equal(mem.used, 0);
	free(gp);
	free(buf);
	free(d);
}

static void write_seed(const char *dir, const char *name, uint8_t chunk, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputc(chunk, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

/* The fuzz_bus seed corpus, when asked for. */
static void test_write_seeds(void **state)
{
	(void)state;
	const char *dir = getenv("CAIRN_BUS_SEEDS");
	if (dir == NULL)
		skip();
	struct bus_msg *m = msg_new();
	uint8_t *buf = malloc(BUS_FRAME_MAX);
	size_t all = 0;
	static const char *names[] = { "", "meet", "ping", "pong" };

	for (uint8_t t = BUS_MEET; t <= BUS_PONG; t++) {
		fill_ping(m, t);
		long n = encode(m, buf + all);
		write_seed(dir, names[t], 255, buf + all, (size_t)n);
		all += (size_t)n;
	}
	m->type = BUS_UPDATE;
	strcpy(m->u.update.id, ID_A);
	strcpy(m->u.update.sender, ID_B);
	m->u.update.config_epoch = 5;
	m->u.update.current_epoch = 5;
	m->u.update.nranges = 1;
	m->u.update.ranges[0] = 0;
	m->u.update.ranges[1] = 99;
	long n = encode(m, buf + all);
	write_seed(dir, "update", 255, buf + all, (size_t)n);
	all += (size_t)n;
	bus_msg_set_publish(m, ID_B, false, "news", 4, "hi", 2);
	n = encode(m, buf + all);
	write_seed(dir, "publish", 7, buf + all, (size_t)n);
	all += (size_t)n;
	write_seed(dir, "stream", 13, buf, all);
	free(buf);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_roundtrip),
		cmocka_unit_test(test_update_publish_roundtrip),
		cmocka_unit_test(test_frame_max),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_gossip_bounds),
		cmocka_unit_test(test_write_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
