/* msg.h: messages between shards, and the arguments they carry.
 *
 * Every message starts with a struct xmsg (xshard.h) whose kind is one of
 * enum msg_kind: route.c forwards requests and their replies, lock.c takes
 * and releases shard locks, txn.c drops watches, blocked.c offers keys to
 * blocked clients and drops their waiters; caching.c carries
 * invalidations. A message that carries a request holds a copy of
 * its arguments in the same allocation, since the receive buffer they were
 * parsed from is recycled at once; big values (a struct val) are referenced,
 * not copied. Allocations are charged to the allocating shard's account and
 * move with the message (xmsg.bytes). */
#ifndef CAIRN_SHARD_MSG_H
#define CAIRN_SHARD_MSG_H

#include <stddef.h>

struct cmd_arg;
struct mem;
struct xmsg;

enum msg_kind {
	MSG_REQ = 1,     /* route: a forwarded request */
	MSG_REPLY,       /* route: the same message back, with its reply */
	MSG_LOCK,        /* lock: a span asks for the target's lock */
	MSG_LOCKED,      /* lock: the target granted it */
	MSG_UNLOCK,      /* lock: the span is done with the target */
	MSG_UNWATCH,     /* txn: a client no longer watches these keys here */
	MSG_NOTIFY,      /* notify: keyspace events for this shard's subscribers */
	MSG_MONITOR,     /* monitor: lines for this shard's MONITOR clients */
	MSG_BLOCK_OFFER, /* blocked: a key here may be popped by the waiter */
	MSG_BLOCK_DONE,  /* blocked: a block is done with these keys here */
	MSG_PUBLISH,     /* pubsub: a message for this shard's subscribers */
	MSG_TRACK,       /* caching: invalidations for this shard's tracking clients */
	MSG_VIEW,        /* topology: shard 0's new view of the cluster */
	MSG_KIND_LAST = MSG_VIEW
};

/* Allocates head bytes (a structure of the caller's), zeroed, followed by a
 * copy of argv[0, argc): small arguments are copied after the array, big
 * ones referenced (val_ref). The block is charged to mem. *out points at
 * the copied array (NULL when argc is 0). */
void *msg_pack(struct mem *mem, size_t head, const struct cmd_arg *argv, int argc,
	       struct cmd_arg **out);
/* Drops the references of a packed argv and frees the block from mem (the
 * account of the shard that holds it now). */
void msg_unpack(struct mem *mem, void *block, struct cmd_arg *argv, int argc);
/* msg_pack for a message: head starts with a struct xmsg of the given kind,
 * whose bytes records what the block holds in the account. */
void *msg_new(struct mem *mem, unsigned kind, size_t head, const struct cmd_arg *argv, int argc,
	      struct cmd_arg **out);
/* msg_unpack for a message (checks the size it was sent with). */
void msg_free(struct mem *mem, struct xmsg *m, struct cmd_arg *argv, int argc);

/* A message of the given kind that carries a copy of n bytes (keyspace
 * events, MONITOR lines); its bytes; and its end, in the holder's mem. */
struct xmsg *msg_bytes_new(struct mem *mem, unsigned kind, const char *p, size_t n);
const char *msg_bytes(const struct xmsg *m, size_t *n);
void msg_bytes_free(struct mem *mem, struct xmsg *m);

#endif
