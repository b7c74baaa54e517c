/* notify.h: keyspace notifications (notify-keyspace-events).
 *
 * A keyspace reports each event through its hook (data/keyspace.h's
 * ks_notify: a class, an event name, a key) when the configured classes
 * include it. The hook of a shard's keyspace appends the event to the
 * shard's queue here, whichever thread runs the command (a span holding
 * the shard runs on another shard's thread): so a keyspace's events keep
 * their order. Once a step is done (and never while another shard holds
 * it), the shard publishes its queue: to its own subscribers directly
 * (__keyspace@0__:<key> with the event, then __keyevent@0__:<event> with
 * the key, as the K and E flags ask), and as one MSG_NOTIFY message to
 * each other shard that has subscribers, which publishes it to its own.
 * Rings keep the order, so every subscriber sees one keyspace's events in
 * the order they happened.
 *
 * Memory: the queue and the messages are charged to the shard's account. */
#ifndef CAIRN_SHARD_NOTIFY_H
#define CAIRN_SHARD_NOTIFY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct mem;
struct pubsub;
struct xmsg;
struct xshard;

struct notify {
	struct mem *mem;
	char *buf; /* events: key length (4 bytes), event length (1), event, key */
	size_t len, cap;
};

void notify_init(struct notify *n, struct mem *mem);
void notify_free(struct notify *n);
/* Queues one event (the keyspace hook's work). */
void notify_add(struct notify *n, const char *event, const char *key, size_t klen);
/* Publishes the queue to ps's subscribers per cfg's K and E flags, sends
 * it to every shard whose bit is set in others (a bitmap of XSHARD_WORDS
 * words) as a message through x, and empties it. The message carries the
 * next number of seq (the node's count of sent queues): a shard that takes
 * several from its rings at once publishes them by that number, so events
 * that one client caused on several shards, one command after the other,
 * reach a subscriber in that order (rings keep order only one by one). */
void notify_flush(struct notify *n, struct pubsub *ps, const struct config *cfg, struct xshard *x,
		  const uint64_t *others, atomic_uint_least64_t *seq);
/* A MSG_NOTIFY's number (notify_flush). */
uint64_t notify_message_seq(const struct xmsg *m);
/* A MSG_NOTIFY from another shard: published to ps's subscribers, then
 * freed from mem (the receiving shard's account). */
void notify_message(struct pubsub *ps, const struct config *cfg, struct mem *mem, struct xmsg *m);
/* Frees a MSG_NOTIFY that will not be delivered (shutdown). */
void notify_drop_message(struct mem *mem, struct xmsg *m);

#endif
