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
struct cmd_arg;
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
/* exec_request for a request that needs, besides its own keys' shards,
 * those in also (EXEC: its queued commands' and watched keys' shards;
 * WATCH: none more), and that is never forwarded, since it works on its
 * connection: it runs here when that is only this shard, else with them
 * locked. */
enum exec_verdict exec_request_holding(struct exec *ex, struct cmd_ctx *c, const struct cmd *cmd,
				       const uint64_t *also, uint32_t conn_idx, uint32_t conn_gen);
/* Marks in mask the shards a request of cmd with argv would run on (all of
 * them for a node-wide one). c is a client's request, for its connection. */
void exec_shards(struct exec *ex, const struct cmd_ctx *c, const struct cmd *cmd,
		 struct cmd_arg *argv, int argc, uint64_t *mask);

#endif
