/* monitor.h: MONITOR, the stream of every command the node runs.
 *
 * A connection that sent MONITOR is one of its shard's monitors. Every
 * command a client of any shard runs (but those flagged admin or
 * skip-monitor, as in Redis) becomes a line, Redis's
 *   +<seconds>.<microseconds> [0 <client address>] "arg" "arg" ...
 * written by the client's own shard into its queue when the request is
 * dispatched (a transaction's commands when EXEC is). After its step the
 * shard writes the queue to its own monitors and sends it, as one
 * MSG_MONITOR message, to each shard that has monitors. So a monitor sees
 * each shard's commands in the order that shard took them; lines of
 * different shards interleave by step, not by time.
 *
 * Memory: the queue, the list and the messages are charged to the shard's
 * connection account. */
#ifndef CAIRN_SHARD_MONITOR_H
#define CAIRN_SHARD_MONITOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/text.h"

struct cmd;
struct cmd_arg;
struct conn;
struct conn_host;
struct xmsg;
struct xshard;

struct monitor {
	struct conn_host *h;
	struct conn **v; /* this shard's monitors */
	uint32_t n, cap;
	/* n, for the other shards to read (they send lines only where
	 * someone monitors), and the node's total (node->monitors). */
	atomic_uint here;
	atomic_uint *node;
	struct text lines; /* lines queued; p is NULL until the first */
};

void monitor_init(struct monitor *m, struct conn_host *h, atomic_uint *node);
void monitor_free(struct monitor *m);
/* c becomes a monitor (CONN_F_MONITOR), or stops being one (RESET, its
 * close). */
void monitor_add(struct monitor *m, struct conn *c);
void monitor_remove(struct monitor *m, struct conn *c);
/* Queues the line of a command of c's (a connection of m's shard). */
void monitor_feed(struct monitor *m, const struct conn *c, const struct cmd *cmd,
		  const struct cmd_arg *argv, int argc);
/* Writes the queue to this shard's monitors, sends it to the shards whose
 * bit is set in others (XSHARD_WORDS words) through x, and empties it. */
void monitor_flush(struct monitor *m, struct xshard *x, const uint64_t *others);
/* A MSG_MONITOR from another shard: written to this shard's monitors, then
 * freed from the receiving shard's account. */
void monitor_message(struct monitor *m, struct xmsg *msg);
void monitor_drop_message(struct mem *mem, struct xmsg *msg);

#endif
