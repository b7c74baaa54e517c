/* pubsub.h: a shard's subscriptions, and delivery to its subscribers.
 *
 * Each shard keeps the channels, patterns and shard channels that its own
 * connections subscribe to: a table of names, each with its subscribers in
 * the order they subscribed, and per connection the names it holds (its
 * struct pubsub_client, NULL while it holds none, so that conn.c tells a
 * subscribed connection by a pointer). A message published anywhere in the
 * node reaches every shard's subscribers: PUBLISH runs with every shard
 * locked, delivers to its own shard's subscribers (pubsub_publish()),
 * counts the others' (pubsub_receivers()) and sends each shard that has
 * some a MSG_PUBLISH, delivered there once that shard runs again
 * (server/cmd_pubsub.c): so no shard writes into another's memory, and a
 * publisher's messages keep their order, one ring per pair of shards. A
 * keyspace notification travels to the other shards as a message
 * (shard.c). Delivery writes into the subscriber's output and queues it
 * for service on its shard; a subscriber whose output passes the pubsub
 * class of client-output-buffer-limit is closed, alone.
 *
 * Memory: names, tables and client records are charged to the shard's
 * connection account (conn_host.mem). */
#ifndef CAIRN_SHARD_PUBSUB_H
#define CAIRN_SHARD_PUBSUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct conn_host;
struct mem;
struct xmsg;
struct pubsub_chan;
struct val;

enum pubsub_kind {
	PUBSUB_CHANNEL = 0, /* SUBSCRIBE */
	PUBSUB_PATTERN,     /* PSUBSCRIBE */
	PUBSUB_SHARD,       /* SSUBSCRIBE */
	PUBSUB_KINDS
};

/* Names of one kind, hashed, chained. */
struct pubsub_table {
	struct pubsub_chan **b;
	uint32_t mask; /* buckets - 1; no buckets while n is 0 */
	uint32_t n;    /* names with at least one subscriber */
};

struct pubsub {
	struct conn_host *h;
	uint64_t seed;
	struct pubsub_table t[PUBSUB_KINDS];
	/* Names with a subscriber here, for other shards to read (they send
	 * keyspace events only where someone listens; a shard with listeners
	 * delivers messages before it answers requests). */
	atomic_uint listened;
};

/* One subscription as its subscriber sees it: the name, and where the
 * subscriber sits among the name's (pubsub.c). */
struct pubsub_ref {
	struct pubsub_chan *ch;
	uint32_t at;
};

/* What a connection subscribes to (conn->ps), in no particular order. */
struct pubsub_client {
	struct pubsub_ref *v[PUBSUB_KINDS];
	uint32_t n[PUBSUB_KINDS], cap[PUBSUB_KINDS];
	/* Since when its output has been over the soft limit (ms), or -1. */
	int64_t soft_since_ms;
};

void pubsub_init(struct pubsub *ps, struct conn_host *h, uint64_t seed);
/* Frees the tables; every connection must have been dropped. */
void pubsub_free(struct pubsub *ps);

/* Subscribes c (a connection of ps's shard) to name; false if it already
 * was. */
bool pubsub_subscribe(struct pubsub *ps, struct conn *c, enum pubsub_kind k, const char *name,
		      size_t len);
/* Unsubscribes c from name; false if it was not subscribed. */
bool pubsub_unsubscribe(struct pubsub *ps, struct conn *c, enum pubsub_kind k, const char *name,
			size_t len);
/* The shard channels whose name keep() refuses (their slot left this
 * node): every subscriber is unsubscribed and told so, with Redis's
 * `sunsubscribe` reply (Redis's removeChannelsInSlot). Returns how many
 * channels went. */
uint32_t pubsub_drop_shard_channels(struct pubsub *ps,
				    bool (*keep)(void *arg, const char *name, size_t len),
				    void *arg);
/* Drops every subscription of c, silently (it closes, or RESET). */
void pubsub_drop(struct pubsub *ps, struct conn *c);
/* The pubsub class of client-output-buffer-limit on c, a subscriber whose
 * output just grew: closed if over (hard, or soft for its seconds). */
void pubsub_check_limit(struct pubsub *ps, struct conn *c);
/* How many names of kind k c holds. */
uint32_t pubsub_count(const struct conn *c, enum pubsub_kind k);
/* The i-th name of kind k that c holds (i < pubsub_count); unsubscribing
 * moves the last one into its place. */
const char *pubsub_name(const struct conn *c, enum pubsub_kind k, uint32_t i, size_t *len);

/* Delivers a message published on channel (PUBSUB_CHANNEL: to its
 * subscribers and to the patterns that match it; PUBSUB_SHARD: to its
 * shard-channel subscribers) to this shard's subscribers, and returns how
 * many received it. msg_val, if not NULL, holds msg's bytes (a big value,
 * referenced instead of copied). */
long long pubsub_publish(struct pubsub *ps, enum pubsub_kind k, const char *channel, size_t clen,
			 const char *msg, size_t mlen, struct val *msg_val);
/* How many of this shard's subscribers pubsub_publish() would reach, read
 * without writing anything (another shard that holds this one counts
 * them, and sends the message: pubsub_message_new()). */
long long pubsub_receivers(const struct pubsub *ps, enum pubsub_kind k, const char *channel,
			   size_t clen);
/* A MSG_PUBLISH that carries a message published on channel, from mem (the
 * sender's account); and its delivery by the receiving shard, which frees
 * it from that shard's account. */
struct xmsg *pubsub_message_new(struct mem *mem, enum pubsub_kind k, const char *channel,
				size_t clen, const char *msg, size_t mlen);
void pubsub_message(struct pubsub *ps, struct xmsg *m);
/* Frees a MSG_PUBLISH that will not be delivered (shutdown). */
void pubsub_drop_message(struct mem *mem, struct xmsg *m);
/* Subscribers of name here. */
long long pubsub_numsub(const struct pubsub *ps, enum pubsub_kind k, const char *name, size_t len);
/* Calls fn for every name of kind k here, with its subscribers. */
void pubsub_each(const struct pubsub *ps, enum pubsub_kind k,
		 void (*fn)(void *arg, const char *name, size_t len, uint32_t subs), void *arg);
/* Names of kind k here with a subscriber (INFO's pubsub_channels, ...). */
static inline uint32_t pubsub_names(const struct pubsub *ps, enum pubsub_kind k)
{
	return ps->t[k].n;
}
/* Memory held by c's subscriptions (CLIENT LIST's tot-mem). */
size_t pubsub_client_mem(const struct conn *c);

#endif
