/* bus_msg.h: the cluster bus's messages as plain C structs, their frame, and
 * the codec between the two (proto/bus.proto holds the wire schema).
 *
 * A frame is BUS_HDR_LEN bytes of header, then the body:
 *   "CB" | version (1 byte) | type (1 byte) | body length (4 bytes, BE)
 * The body is the protobuf encoding of the type's message. A frame is at most
 * BUS_FRAME_MAX bytes, header included. Decoding is incremental and never
 * trusts the peer: bus_msg_decode() says "need more bytes", "one message of N
 * bytes" or "malformed: close the link", and a malformed frame changes
 * nothing. No protobuf-c type leaks out of this header: the rest of the node
 * sees struct bus_msg only. */
#ifndef CAIRN_BUS_MSG_H
#define CAIRN_BUS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;

#define BUS_MAGIC0 'C'
#define BUS_MAGIC1 'B'
#define BUS_VERSION 1
#define BUS_HDR_LEN 8
/* The largest frame, header included. A full slot map in its worst layout
 * (every other slot: 8192 ranges) takes under 50 KB; a PUBLISH relays at
 * most this much, and the sender refuses a bigger one (-EMSGSIZE). */
#define BUS_FRAME_MAX (1024 * 1024)
/* A node id: 40 lowercase hex characters on the screen, 20 bytes on the bus. */
#define BUS_ID_LEN 40
#define BUS_ID_BYTES 20
/* An IP as text: INET6_ADDRSTRLEN - 1 characters at most. */
#define BUS_IP_MAX 45
/* Gossip entries in one message (Redis sends max(3, N/10) plus the PFAIL
 * nodes; past this many, the sender sends fewer). */
#define BUS_GOSSIP_MAX 128
/* Slot ranges in one message: the worst layout of 16384 slots. */
#define BUS_SLOTS 16384
#define BUS_RANGES_MAX (BUS_SLOTS / 2)
/* Memory the decoder may take for one frame's protobuf-c structures. */
#define BUS_DECODE_MEM_MAX (4 * BUS_FRAME_MAX)

enum bus_type {
	BUS_MEET = 1,
	BUS_PING = 2,
	BUS_PONG = 3,
	BUS_UPDATE = 4,
	BUS_PUBLISH = 5,
	/* Reserved for failover (proto/bus.proto): decoding one fails. */
	BUS_FAIL = 6,
	BUS_AUTH_REQUEST = 7,
	BUS_AUTH_ACK = 8,
	BUS_MFSTART = 9,
};

/* Node flags, with Redis's bit values (cluster.h CLUSTER_NODE_*). */
enum {
	CLUSTER_NODE_MASTER = 1,
	CLUSTER_NODE_SLAVE = 2,
	CLUSTER_NODE_PFAIL = 4,
	CLUSTER_NODE_FAIL = 8,
	CLUSTER_NODE_MYSELF = 16,
	CLUSTER_NODE_HANDSHAKE = 32,
	CLUSTER_NODE_NOADDR = 64,
	CLUSTER_NODE_MEET = 128,
	CLUSTER_NODE_MIGRATE_TO = 256,
	CLUSTER_NODE_NOFAILOVER = 512,
	CLUSTER_NODE_ALL = 1023,
};

struct bus_gossip {
	char id[BUS_ID_LEN + 1];
	char ip[BUS_IP_MAX + 1];
	uint16_t port, bus_port;
	uint32_t flags;
	uint64_t ping_sent_ms, pong_received_ms;
};

/* A slot set: ranges[0 .. 2*nadd) are the added (or, when full, all) ranges
 * as start,end pairs, then 2*ndel values of removed ranges (deltas only). */
struct bus_slots {
	bool present, full;
	uint64_t version, base_version;
	uint32_t nadd, ndel; /* nadd + ndel <= BUS_RANGES_MAX */
	uint32_t ranges[2 * BUS_RANGES_MAX];
};

struct bus_ping {
	char sender[BUS_ID_LEN + 1];
	char ip[BUS_IP_MAX + 1];
	uint16_t port, bus_port;
	uint32_t flags;
	uint64_t config_epoch, current_epoch;
	uint64_t slots_ack;
	uint32_t ngossip;
	struct bus_gossip gossip[BUS_GOSSIP_MAX];
	struct bus_slots slots;
};

/* UPDATE: node id owns ranges at config_epoch (ranges as in bus_slots). */
struct bus_update {
	char id[BUS_ID_LEN + 1];
	char sender[BUS_ID_LEN + 1];
	uint64_t config_epoch, current_epoch;
	uint32_t nranges;
	uint32_t ranges[2 * BUS_RANGES_MAX];
};

/* PUBLISH: channel and message point into the struct bus_msg's payload. */
struct bus_publish {
	char sender[BUS_ID_LEN + 1];
	bool sharded;
	const uint8_t *channel, *message;
	size_t channel_len, message_len;
};

/* A decoded message. Big (about 70 KB): keep one per link or per node, not
 * on a small stack. payload holds a PUBLISH's bytes, charged to the mem given
 * to bus_msg_decode(); bus_msg_release() frees it. */
struct bus_msg {
	uint8_t type;
	union {
		struct bus_ping ping; /* MEET, PING, PONG */
		struct bus_update update;
		struct bus_publish publish;
	} u;
	uint8_t *payload;
	size_t payload_len;
};

enum bus_decode_err {
	BUS_ERR_MAGIC = 1,   /* not "CB" */
	BUS_ERR_VERSION = 2, /* a version this node does not speak */
	BUS_ERR_TYPE = 3,    /* unknown or reserved type */
	BUS_ERR_SIZE = 4,    /* over BUS_FRAME_MAX */
	BUS_ERR_BODY = 5,    /* the protobuf body does not parse */
	BUS_ERR_FIELD = 6,   /* a field out of its bounds (id, ip, ranges, ...) */
	BUS_ERR_MEMORY = 7,  /* the body needs more than BUS_DECODE_MEM_MAX */
};

/* The result of bus_msg_decode(): status 0 with need > 0 means "need at least
 * need more bytes"; status 1 means a message of len bytes was decoded into
 * the caller's struct; status -1 means malformed (err says why): close the
 * link, and nothing was changed. */
struct bus_decoded {
	int status;
	size_t len;
	size_t need;
	enum bus_decode_err err;
};

/* Encodes m into buf (cap bytes): returns the frame's length, -ENOSPC if cap
 * is too small, -EMSGSIZE if the frame would exceed BUS_FRAME_MAX, -EINVAL if
 * m is not a well-formed message (an id that is not 40 hex characters, ...). */
long bus_msg_encode(const struct bus_msg *m, uint8_t *buf, size_t cap);
/* The frame length bus_msg_encode() would produce, or a negative errno. */
long bus_msg_size(const struct bus_msg *m);
/* Decodes the frame at the start of p[0..n) into *out (released first, so
 * *out must start zeroed and be reused only through this function).
 * Allocations are charged to mem and bounded by BUS_DECODE_MEM_MAX. */
struct bus_decoded bus_msg_decode(const uint8_t *p, size_t n, struct bus_msg *out, struct mem *mem);
/* Frees what a decoded message holds (a PUBLISH's payload). */
void bus_msg_release(struct bus_msg *m, struct mem *mem);
/* Sets a PUBLISH message's fields, pointing at caller's bytes (for encoding). */
void bus_msg_set_publish(struct bus_msg *m, const char *sender, bool sharded, const void *channel,
			 size_t clen, const void *message, size_t mlen);

/* 40 lowercase hex characters? */
bool bus_id_valid(const char *id, size_t n);
/* An IP as the bus accepts it: at most BUS_IP_MAX characters of hex digits,
 * '.' and ':' (empty allowed: unknown). */
bool bus_ip_valid(const char *ip, size_t n);
/* The name of a decode error, for logs and counters. */
const char *bus_err_name(enum bus_decode_err e);

#endif
