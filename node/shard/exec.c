/* exec.c: see exec.h. */
#include "shard/exec.h"

#include <string.h>

#include "base/assert.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "shard/lock.h"
#include "shard/route.h"
#include "shard/xshard.h"

void exec_init(struct exec *ex, struct cmd_env *env, struct route *route, struct lock *lock)
{
	ASSERT(env != NULL);
	ex->env = env;
	ex->route = route;
	ex->lock = lock;
}

/* Runs a checked request of a client here if the node has one shard;
 * returns whether it did. */
static inline __attribute__((always_inline)) bool run_alone(struct exec *ex, struct cmd_ctx *c,
							    const struct cmd *cmd)
{
	/* Pairs with cmd_check: a checked request, of a client. */
	ASSERT(cmd != NULL);
	ASSERT(c->cmd == cmd);
	ASSERT(c->conn != NULL);
	ASSERT(c->locked == NULL);
	if (ex->env->nshards != 1)
		return false;
	cmd_run(c, cmd);
	return true;
}

enum exec_verdict exec_request(struct exec *ex, struct cmd_ctx *c, const struct cmd *cmd,
			       uint32_t conn_idx, uint32_t conn_gen)
{
	uint64_t mask[XSHARD_WORDS];
	unsigned dst = 0;

	if (run_alone(ex, c, cmd))
		return EXEC_DONE;
	memset(mask, 0, sizeof(mask));
	switch (route_plan(ex->route, c, mask, &dst)) {
	case ROUTE_HERE: cmd_run(c, cmd); return EXEC_DONE;
	case ROUTE_FORWARD: route_forward(ex->route, c, dst, conn_idx, conn_gen); return EXEC_DONE;
	case ROUTE_SPAN:
		lock_span_start(ex->lock, cmd, c->argv, c->argc, mask, conn_idx, conn_gen,
				c->r->proto);
		return EXEC_WAIT;
	}
	ASSERT_NOT_REACHED("exec: no route");
	return EXEC_DONE;
}

void exec_shards(struct exec *ex, const struct cmd_ctx *c, const struct cmd *cmd,
		 struct cmd_arg *argv, int argc, uint64_t *mask)
{
	struct cmd_ctx q = *c;
	unsigned dst = ex->env->self;

	q.cmd = cmd;
	q.argv = argv;
	q.argc = argc;
	/* route_plan marks every owner of its keys (all shards for a
	 * node-wide request), whatever its verdict. */
	(void)route_plan(ex->route, &q, mask, &dst);
}

enum exec_verdict exec_request_holding(struct exec *ex, struct cmd_ctx *c, const struct cmd *cmd,
				       const uint64_t *also, uint32_t conn_idx, uint32_t conn_gen)
{
	uint64_t mask[XSHARD_WORDS];
	unsigned self = ex->env->self, i;
	bool others = false;

	if (run_alone(ex, c, cmd))
		return EXEC_DONE;
	memcpy(mask, also, sizeof(mask));
	exec_shards(ex, c, cmd, c->argv, c->argc, mask);
	mask[self / 64] &= ~(1ull << (self % 64));
	for (i = 0; i < XSHARD_WORDS; i++)
		others |= mask[i] != 0;
	if (!others) {
		cmd_run(c, cmd);
		return EXEC_DONE;
	}
	lock_span_start(ex->lock, cmd, c->argv, c->argc, mask, conn_idx, conn_gen, c->r->proto);
	return EXEC_WAIT;
}
