/* cmd_blocking.c: the blocking pops (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP), as Redis 7.0's t_list.c and
 * t_zset.c give them.
 *
 * Each checks its arguments in Redis's order, then tries to pop as its
 * non-blocking form does (cmd/cmd_list.h, cmd/cmd_zset.h). With nothing to
 * pop it blocks its client (shard/blocked.h), unless it runs in a
 * transaction, where Redis never blocks: it answers as if its time were up
 * (a null array; BLMOVE and BRPOPLPUSH a null bulk). A blocked client's
 * command runs again, with the same arguments, when a key of it is offered
 * (blocked_rerun): it pops (the block ends), or finds nothing and stays
 * blocked; a key of another type then counts as empty, as Redis 7.0 leaves
 * such a client blocked. They run on their client's shard, holding the
 * shards of all their keys (conn.c's dispatch), so a block registers its
 * waiters on every shard directly. */
#include <limits.h>
#include <stdint.h>

#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_list.h"
#include "cmd/cmd_zset.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/blocked.h"
#include "shard/conn.h"
#include "shard/shard.h"

#define ERR_TIMEOUT_FLOAT "timeout is not a float or out of range"
#define ERR_TIMEOUT_NEGATIVE "timeout is negative"
#define ERR_NUMKEYS "numkeys should be greater than 0"
#define ERR_COUNT_ZERO "count should be greater than 0"

/* What a blocking pop pops, and where its keys are. */
struct bpop {
	int first, nkeys; /* the keys it waits on */
	uint8_t type;     /* KV_LIST or KV_ZSET */
	bool tail;        /* RIGHT (lists), MAX (sorted sets) */
	long long count;  /* BLMPOP and BZMPOP's; -1 for the others */
	bool move;        /* BLMOVE, BRPOPLPUSH: argv[1] to argv[2] */
	bool to_tail;
	bool null_bulk; /* in a transaction: a null bulk, not a null array */
};

/* Redis 7.0's getTimeoutFromObjectOrReply in seconds: a long double
 * (string2ld), in ms rounded up. A negative one is refused, and so is one
 * past a long long, which Redis's conversion turns into LLONG_MIN.
 * *until_ms: the time it ends, or 0 (for ever: 0 itself, or a time past
 * the end of time). */
static bool parse_timeout(struct cmd_ctx *c, const struct cmd_arg *a, int64_t *until_ms)
{
	long double t;
	long long ms;

	if (!util_str2ld(a->p, a->len, &t)) {
		reply_error(c->r, ERR_TIMEOUT_FLOAT);
		return false;
	}
	t *= 1000.0L;
	if (!(t < 9223372036854775808.0L) || !(t > -9223372036854775808.0L)) {
		ms = LLONG_MIN;
	} else {
		ms = (long long)t; /* toward zero: up for a negative one */
		if ((long double)ms < t)
			ms++;
	}
	if (ms < 0) {
		reply_error(c->r, ERR_TIMEOUT_NEGATIVE);
		return false;
	}
	*until_ms = ms == 0 || ms > LLONG_MAX - c->now_ms ? 0 : c->now_ms + ms;
	return true;
}

static bool bpop_try(struct cmd_ctx *c, const struct bpop *p, bool rerun)
{
	if (p->move)
		return cmd_list_bmove(c, p->tail, p->to_tail, rerun);
	if (p->type == KV_LIST)
		return cmd_list_bpop(c, p->first, p->nkeys, p->tail, p->count, rerun);
	return cmd_zset_bpop(c, p->first, p->nkeys, p->tail, p->count, rerun);
}

/* Pops, or blocks, or (a re-run) ends or keeps the block. */
static void bpop_run(struct cmd_ctx *c, const struct bpop *p, int64_t until_ms)
{
	struct shard *sh = shard_of(c);
	struct conn *conn = server_conn(c);
	bool rerun = blocked_rerun(conn);

	if (rerun && blocked_cancelled(&sh->bh, c))
		return;
	if (bpop_try(c, p, rerun)) {
		if (rerun)
			blocked_served(&sh->bh, c);
		return;
	}
	if (rerun) {
		blocked_stay(&sh->bh, c);
		return;
	}
	/* Redis's CLIENT_DENY_BLOCKING: in MULTI (EXEC) as if time were up. */
	if (conn->txn.multi) {
		if (p->null_bulk)
			reply_null(c->r);
		else
			reply_null_array(c->r);
		return;
	}
	blocked_block(&sh->bh, c, p->first, p->nkeys, p->type, until_ms);
}

/* BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: key [key ...] timeout. */
static void bpop_keys(struct cmd_ctx *c, uint8_t type, bool tail)
{
	struct bpop p = {
		.first = 1, .nkeys = c->argc - 2, .type = type, .tail = tail, .count = -1
	};
	int64_t until_ms;

	if (!parse_timeout(c, &c->argv[c->argc - 1], &until_ms))
		return;
	bpop_run(c, &p, until_ms);
}

void cmd_blpop(struct cmd_ctx *c)
{
	bpop_keys(c, KV_LIST, false);
}

void cmd_brpop(struct cmd_ctx *c)
{
	bpop_keys(c, KV_LIST, true);
}

void cmd_bzpopmin(struct cmd_ctx *c)
{
	bpop_keys(c, KV_ZSET, false);
}

void cmd_bzpopmax(struct cmd_ctx *c)
{
	bpop_keys(c, KV_ZSET, true);
}

/* LEFT or RIGHT, as Redis's getListPositionFromObjectOrReply. */
static bool arg_side(struct cmd_ctx *c, const struct cmd_arg *a, bool *tail)
{
	*tail = cmd_arg_cstr_eq(a, "right");
	if (*tail || cmd_arg_cstr_eq(a, "left"))
		return true;
	cmd_syntax_error(c);
	return false;
}

static void bmove(struct cmd_ctx *c, bool from_tail, bool to_tail, int timeout)
{
	struct bpop p = { .first = 1,
			  .nkeys = 1,
			  .type = KV_LIST,
			  .tail = from_tail,
			  .count = -1,
			  .move = true,
			  .to_tail = to_tail,
			  .null_bulk = true };
	int64_t until_ms;

	if (!parse_timeout(c, &c->argv[timeout], &until_ms))
		return;
	bpop_run(c, &p, until_ms);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. */
void cmd_blmove(struct cmd_ctx *c)
{
	bool from_tail, to_tail;

	if (!arg_side(c, &c->argv[3], &from_tail) || !arg_side(c, &c->argv[4], &to_tail))
		return;
	bmove(c, from_tail, to_tail, 5);
}

/* BRPOPLPUSH source destination timeout. */
void cmd_brpoplpush(struct cmd_ctx *c)
{
	bmove(c, true, false, 3);
}

/* BLMPOP and BZMPOP: timeout numkeys key [key ...] <side> [COUNT count],
 * checked as Redis's lmpopGenericCommand and zmpopGenericCommand: numkeys,
 * the side, COUNT, and the timeout last. */
static void bmpop(struct cmd_ctx *c, uint8_t type, const char *left, const char *right)
{
	struct bpop p = { .first = 3, .type = type, .count = -1 };
	long long numkeys;
	int64_t until_ms;
	int where, j;

	if (!cmd_arg_ll(c, &c->argv[2], &numkeys, ERR_NUMKEYS))
		return;
	if (numkeys < 1) {
		reply_error(c->r, ERR_NUMKEYS);
		return;
	}
	if (numkeys > c->argc - 4) { /* no room for the side after the keys */
		cmd_syntax_error(c);
		return;
	}
	where = 3 + (int)numkeys;
	p.tail = cmd_arg_cstr_eq(&c->argv[where], right);
	if (!p.tail && !cmd_arg_cstr_eq(&c->argv[where], left)) {
		cmd_syntax_error(c);
		return;
	}
	for (j = where + 1; j < c->argc; j++) {
		if (p.count != -1 || !cmd_arg_cstr_eq(&c->argv[j], "count") || j + 1 >= c->argc) {
			cmd_syntax_error(c);
			return;
		}
		if (!cmd_arg_ll(c, &c->argv[++j], &p.count, ERR_COUNT_ZERO))
			return;
		if (p.count < 1) {
			reply_error(c->r, ERR_COUNT_ZERO);
			return;
		}
	}
	if (p.count == -1)
		p.count = 1;
	p.nkeys = (int)numkeys;
	if (!parse_timeout(c, &c->argv[1], &until_ms))
		return;
	bpop_run(c, &p, until_ms);
}

void cmd_blmpop(struct cmd_ctx *c)
{
	bmpop(c, KV_LIST, "left", "right");
}

void cmd_bzmpop(struct cmd_ctx *c)
{
	bmpop(c, KV_ZSET, "min", "max");
}
