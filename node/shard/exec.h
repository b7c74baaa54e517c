/* exec.h: a client's checked request, run here or handed off.
 *
 * The connection (conn.c) parses a request and has it checked by the
 * command table (cmd_check: existence, arity, AUTH, maxmemory), then calls
 * exec_request(), which composes the steps that belong to other modules:
 * route_plan() (where it runs), then cmd_run() here, route_forward() to
 * another shard, or lock_span_start() with shards locked. It returns a
 * verdict, and the connection applies it to itself: exec never touches a
 * connection. */
#ifndef CAIRN_SHARD_EXEC_H
#define CAIRN_SHARD_EXEC_H

#include <stdint.h>

struct cmd;
struct cmd_ctx;
struct cmd_env;
struct lock;
struct route;

struct exec {
	struct cmd_env *env;
	struct route *route;
	struct lock *lock;
};

enum exec_verdict {
	EXEC_DONE = 0, /* it ran here, was refused, or was forwarded: go on */
	EXEC_WAIT,     /* it waits for shard locks: parse nothing more until
			* the connection's conn_run_locked() */
};

void exec_init(struct exec *ex, struct cmd_env *env, struct route *route, struct lock *lock);
/* Runs the request in c (c->conn set), which cmd_check() passed as cmd, of
 * connection (conn_idx, conn_gen). */
enum exec_verdict exec_request(struct exec *ex, struct cmd_ctx *c, const struct cmd *cmd,
			       uint32_t conn_idx, uint32_t conn_gen);

#endif
