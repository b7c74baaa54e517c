/* slowlog.h: the commands that ran for slowlog-log-slower-than
 * microseconds or more (SLOWLOG), one log per shard, newest first.
 *
 * cmd_run() has the shard add an entry (env->log_slow) after a command
 * that took that long, but not after those Redis marks skip_slowlog, such
 * as EXEC, whose commands are logged one by one. An entry keeps what Redis's does: a node-wide id, the time, the
 * duration, the arguments (at most SLOWLOG_ARGC_MAX, the last of them
 * then "... (N more arguments)"; each cut at SLOWLOG_ARG_MAX bytes with
 * "... (N more bytes)"; passwords "(redacted)"), and the client's address
 * and name. A log keeps at most slowlog-max-len entries; SLOWLOG GET merges
 * the shards' logs by id. Entries are charged to the shard's account. */
#ifndef CAIRN_SHARD_SLOWLOG_H
#define CAIRN_SHARD_SLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLOWLOG_ARGC_MAX 32
#define SLOWLOG_ARG_MAX 128

struct cmd;
struct cmd_arg;
struct mem;

/* Who sent the command: its address and name, or, for a request forwarded
 * from another shard, where its connection is (resolved when read: the
 * connection's shard is locked then, and the entry says "" if it left). */
struct slowlog_client {
	const char *addr, *name;
	bool remote;
	uint16_t shard;
	uint32_t idx, gen;
};

struct slowlog_entry {
	struct slowlog_entry *newer, *older;
	uint64_t id;
	int64_t time_s;
	uint64_t usec;
	int argc;
	struct cmd_arg *argv;      /* in the same block */
	struct slowlog_client who; /* addr and name in the same block */
};

struct slowlog {
	struct slowlog_entry *newest, *oldest;
	uint64_t n;
	struct mem *mem;
};

void slowlog_init(struct slowlog *l, struct mem *mem);
/* Adds the newest entry, for cmd run with argv (AUTH's arguments, HELLO's
 * after AUTH and CONFIG SET requirepass's value shown as "(redacted)", as
 * Redis shows them), then keeps the max newest. */
void slowlog_push(struct slowlog *l, uint64_t id, int64_t time_s, uint64_t usec,
		  const struct cmd *cmd, const struct cmd_arg *argv, int argc,
		  const struct slowlog_client *who, uint64_t max);
/* Keeps the max newest entries. */
void slowlog_trim(struct slowlog *l, uint64_t max);
/* Frees every entry (SLOWLOG RESET, and the shard's end). */
void slowlog_reset(struct slowlog *l);

#endif
