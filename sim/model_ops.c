/* model_ops.c: what each command does, and the workload that sends them.
 *
 * ops_apply() is the semantics, written from Redis's documented behaviour
 * for one key in one known state (already resolved live or absent): the
 * reply, and the state left behind. It never looks at node/. The generator
 * draws commands from the client's own keys and the shared ones, with
 * values of every size class the node treats differently (inline, a
 * refcounted buffer from 4 KB, the bigbulk path from 32 KB), and some bad
 * input whose error text is known. The other types' commands are their
 * files' (model_hash.c, model_set.c, model_list.c, model_bit.c,
 * model_zset.c with model_zmulti.c and model_zgen.c, model_hll.c,
 * model_sort.c, and model_multi.c for those over several keys); this file
 * says what the string and key commands do to a key of any type (the
 * string ones refuse it, but read a HyperLogLog as some string), and
 * encodes every request. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* Redis's rule for an integer string: optional '-', digits, no leading zero
 * (but "0"), at most 20 characters, within 64 bits. */
bool model_str2ll(const char *p, size_t len, long long *out)
{
	unsigned long long v = 0, lim;
	size_t i = 0;
	bool neg = false;

	if (len == 0 || len > 20)
		return false;
	if (p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || (p[i] == '0' && (len - i > 1 || neg)))
		return false;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (v > (lim - (unsigned)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

bool ops_single_key(enum mop op)
{
	return op >= OP_GET && op <= OP_LAST_SINGLE;
}

bool ops_writes(enum mop op)
{
	switch (op) {
	case OP_SET:
	case OP_SETNX:
	case OP_GETSET:
	case OP_GETDEL:
	case OP_DEL:
	case OP_INCRBY:
	case OP_APPEND:
	case OP_SETRANGE:
	case OP_EXPIRE:
	case OP_PERSIST:
	case OP_MSET:
	case OP_MSETNX:
	case OP_DEL_MULTI:
	case OP_HSET:
	case OP_HSETNX:
	case OP_HDEL:
	case OP_HINCRBY:
	case OP_SADD:
	case OP_SREM:
	case OP_SPOP:
	case OP_SMOVE:
	case OP_SINTERSTORE:
	case OP_SUNIONSTORE:
	case OP_SDIFFSTORE:
	case OP_LPUSH:
	case OP_RPUSH:
	case OP_LPUSHX:
	case OP_RPUSHX:
	case OP_LPOP:
	case OP_RPOP:
	case OP_LSET:
	case OP_LINSERT:
	case OP_LREM:
	case OP_LTRIM:
	case OP_LMOVE:
	case OP_RPOPLPUSH:
	case OP_LMPOP:
	case OP_SETBIT:
	case OP_BITOP:
	case OP_ZADD:
	case OP_ZINCRBY:
	case OP_ZREM:
	case OP_ZREMRANGEBYRANK:
	case OP_ZREMRANGEBYSCORE:
	case OP_ZREMRANGEBYLEX:
	case OP_ZPOPMIN:
	case OP_ZPOPMAX:
	case OP_ZRANGESTORE:
	case OP_ZUNIONSTORE:
	case OP_ZINTERSTORE:
	case OP_ZDIFFSTORE:
	case OP_ZMPOP:
	case OP_PFADD:
	case OP_PFMERGE:
	case OP_SORT_STORE: return true;
	default: return false;
	}
}

/* Each op's name, for messages and for the encodings that use it. */
static const char *const op_names[] = {
	[OP_GET] = "GET",
	[OP_SET] = "SET",
	[OP_SETNX] = "SETNX",
	[OP_GETSET] = "GETSET",
	[OP_GETDEL] = "GETDEL",
	[OP_DEL] = "DEL",
	[OP_EXISTS] = "EXISTS",
	[OP_INCRBY] = "INCRBY",
	[OP_APPEND] = "APPEND",
	[OP_STRLEN] = "STRLEN",
	[OP_GETRANGE] = "GETRANGE",
	[OP_SETRANGE] = "SETRANGE",
	[OP_EXPIRE] = "EXPIRE",
	[OP_PERSIST] = "PERSIST",
	[OP_PTTL] = "PTTL",
	[OP_TTL] = "TTL",
	[OP_TYPE] = "TYPE",
	[OP_HSET] = "HSET",
	[OP_HSETNX] = "HSETNX",
	[OP_HGET] = "HGET",
	[OP_HMGET] = "HMGET",
	[OP_HDEL] = "HDEL",
	[OP_HLEN] = "HLEN",
	[OP_HSTRLEN] = "HSTRLEN",
	[OP_HEXISTS] = "HEXISTS",
	[OP_HINCRBY] = "HINCRBY",
	[OP_HGETALL] = "HGETALL",
	[OP_HKEYS] = "HKEYS",
	[OP_HVALS] = "HVALS",
	[OP_SADD] = "SADD",
	[OP_SREM] = "SREM",
	[OP_SCARD] = "SCARD",
	[OP_SISMEMBER] = "SISMEMBER",
	[OP_SMISMEMBER] = "SMISMEMBER",
	[OP_SMEMBERS] = "SMEMBERS",
	[OP_SRANDMEMBER] = "SRANDMEMBER",
	[OP_SPOP] = "SPOP",
	[OP_LPUSH] = "LPUSH",
	[OP_RPUSH] = "RPUSH",
	[OP_LPUSHX] = "LPUSHX",
	[OP_RPUSHX] = "RPUSHX",
	[OP_LPOP] = "LPOP",
	[OP_RPOP] = "RPOP",
	[OP_LLEN] = "LLEN",
	[OP_LRANGE] = "LRANGE",
	[OP_LINDEX] = "LINDEX",
	[OP_LSET] = "LSET",
	[OP_LINSERT] = "LINSERT",
	[OP_LREM] = "LREM",
	[OP_LTRIM] = "LTRIM",
	[OP_LPOS] = "LPOS",
	[OP_SETBIT] = "SETBIT",
	[OP_GETBIT] = "GETBIT",
	[OP_BITCOUNT] = "BITCOUNT",
	[OP_BITPOS] = "BITPOS",
	[OP_ZADD] = "ZADD",
	[OP_ZINCRBY] = "ZINCRBY",
	[OP_ZREM] = "ZREM",
	[OP_ZCARD] = "ZCARD",
	[OP_ZSCORE] = "ZSCORE",
	[OP_ZMSCORE] = "ZMSCORE",
	[OP_ZRANK] = "ZRANK",
	[OP_ZREVRANK] = "ZREVRANK",
	[OP_ZCOUNT] = "ZCOUNT",
	[OP_ZLEXCOUNT] = "ZLEXCOUNT",
	[OP_ZRANGE] = "ZRANGE (a range)",
	[OP_ZREMRANGEBYRANK] = "ZREMRANGEBYRANK",
	[OP_ZREMRANGEBYSCORE] = "ZREMRANGEBYSCORE",
	[OP_ZREMRANGEBYLEX] = "ZREMRANGEBYLEX",
	[OP_ZPOPMIN] = "ZPOPMIN",
	[OP_ZPOPMAX] = "ZPOPMAX",
	[OP_ZRANDMEMBER] = "ZRANDMEMBER",
	[OP_PFADD] = "PFADD",
	[OP_PFCOUNT] = "PFCOUNT",
	[OP_SORT] = "SORT",
	[OP_MGET] = "MGET",
	[OP_MSET] = "MSET",
	[OP_MSETNX] = "MSETNX",
	[OP_DEL_MULTI] = "DEL (keys)",
	[OP_EXISTS_MULTI] = "EXISTS (keys)",
	[OP_SMOVE] = "SMOVE",
	[OP_SINTER] = "SINTER",
	[OP_SUNION] = "SUNION",
	[OP_SDIFF] = "SDIFF",
	[OP_SINTERCARD] = "SINTERCARD",
	[OP_SINTERSTORE] = "SINTERSTORE",
	[OP_SUNIONSTORE] = "SUNIONSTORE",
	[OP_SDIFFSTORE] = "SDIFFSTORE",
	[OP_LMOVE] = "LMOVE",
	[OP_RPOPLPUSH] = "RPOPLPUSH",
	[OP_LMPOP] = "LMPOP",
	[OP_BITOP] = "BITOP",
	[OP_ZRANGESTORE] = "ZRANGESTORE",
	[OP_ZUNIONSTORE] = "ZUNIONSTORE",
	[OP_ZINTERSTORE] = "ZINTERSTORE",
	[OP_ZDIFFSTORE] = "ZDIFFSTORE",
	[OP_ZUNION] = "ZUNION",
	[OP_ZINTER] = "ZINTER",
	[OP_ZDIFF] = "ZDIFF",
	[OP_ZINTERCARD] = "ZINTERCARD",
	[OP_ZMPOP] = "ZMPOP",
	[OP_PFCOUNT_MULTI] = "PFCOUNT (keys)",
	[OP_PFMERGE] = "PFMERGE",
	[OP_SORT_STORE] = "SORT (STORE)",
	[OP_ERR] = "an error",
	[OP_PROTO] = "a protocol error",
	[OP_COUNTER_INCR] = "INCR (shared)",
	[OP_REG_SET] = "SET (shared)",
	[OP_REG_GET] = "GET (shared)",
	[OP_WATCH] = "WATCH",
	[OP_MULTI] = "MULTI",
	[OP_EXEC] = "EXEC",
};

const char *ops_name(enum mop op)
{
	return (unsigned)op < sizeof(op_names) / sizeof(op_names[0]) && op_names[op] ? op_names[op]
										     : "?";
}

void mreq_free(struct mreq *q)
{
	unsigned i;

	for (i = 0; i < MODEL_REQ_KEYS; i++)
		free(q->vals[i]);
	for (i = 0; i < q->nhp; i++) {
		free(q->hp[i].f);
		free(q->hp[i].v);
	}
	free(q->hp);
	free(q->mi);
	if (q->z != NULL)
		free(q->z->scores);
	free(q->z);
	free(q);
}

/* ---- semantics ---- */

static struct mexp x_ok(void)
{
	return (struct mexp){ .kind = X_STATUS, .text = "OK" };
}

static struct mexp x_val(const struct mstate *s)
{
	if (!s->present)
		return (struct mexp){ .kind = X_NULL };
	return (struct mexp){ .kind = X_BULK, .p = s->val, .len = s->len };
}

struct mstate ops_absent(void)
{
	return (struct mstate){ .exp_lo = MODEL_NO_TTL, .exp_hi = MODEL_NO_TTL };
}

static struct mstate st_value(const char *p, size_t len, int64_t lo, int64_t hi)
{
	return (struct mstate){
		.present = true, .val = (char *)p, .len = len, .exp_lo = lo, .exp_hi = hi
	};
}

/* One outcome with a new value the branch builds (owned by the outcome). */
static void out_owned(struct mout *o, struct mexp x, char *val, size_t len, int64_t lo, int64_t hi)
{
	o->exp = x;
	o->owned = val;
	o->next = st_value(val, len, lo, hi);
}

static unsigned apply_set(const struct mreq *q, const struct mstate *s, int64_t tlo, int64_t thi,
			  struct mout *o)
{
	bool write = !((q->flags & SETF_NX) && s->present) &&
		     !((q->flags & SETF_XX) && !s->present);
	int64_t lo = MODEL_NO_TTL, hi = MODEL_NO_TTL;

	if (q->flags & SETF_EX)
		lo = tlo + q->num * 1000, hi = thi + q->num * 1000;
	else if (q->flags & SETF_PX)
		lo = tlo + q->num, hi = thi + q->num;
	else if (q->flags & SETF_PXAT)
		lo = hi = q->num;
	else if ((q->flags & SETF_KEEPTTL) && s->present)
		lo = s->exp_lo, hi = s->exp_hi;
	o->owned = NULL;
	o->next = write ? st_value(q->vals[0], q->vlens[0], lo, hi) : *s;
	if (q->flags & SETF_GET)
		o->exp = x_val(s);
	else
		o->exp = write ? x_ok() : (struct mexp){ .kind = X_NULL };
	return 1;
}

static unsigned apply_incrby(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	long long cur = 0, delta = q->num;
	char *buf;

	o->owned = NULL;
	o->next = *s;
	if (s->present && !model_str2ll(s->val, s->len, &cur)) {
		o->exp = (struct mexp){ .kind = X_ERR,
					.text = "ERR value is not an integer or out of "
						"range" };
		return 1;
	}
	if ((delta > 0 && cur > LLONG_MAX - delta) || (delta < 0 && cur < LLONG_MIN - delta)) {
		o->exp = (struct mexp){ .kind = X_ERR,
					.text = "ERR increment or decrement would "
						"overflow" };
		return 1;
	}
	buf = sim_calloc(24);
	out_owned(o, x_int(cur + delta), buf, (size_t)snprintf(buf, 24, "%lld", cur + delta),
		  s->present ? s->exp_lo : MODEL_NO_TTL, s->present ? s->exp_hi : MODEL_NO_TTL);
	return 1;
}

/* Writes n bytes at off into the value (zero-padded, keeping its TTL), as
 * APPEND and SETRANGE do; the reply is the new length. */
static unsigned write_at(const struct mstate *s, size_t off, const char *p, size_t n,
			 struct mout *o)
{
	size_t old = s->present ? s->len : 0, len = off + n > old ? off + n : old;
	char *buf = sim_calloc(len + 1);

	if (old > 0)
		memcpy(buf, s->val, old);
	if (n > 0)
		memcpy(buf + off, p, n);
	out_owned(o, x_int((long long)len), buf, len, s->present ? s->exp_lo : MODEL_NO_TTL,
		  s->present ? s->exp_hi : MODEL_NO_TTL);
	return 1;
}

static unsigned apply_append(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	return write_at(s, s->present ? s->len : 0, q->vals[0], q->vlens[0], o);
}

static unsigned apply_getrange(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	long long len = s->present ? (long long)s->len : 0, a = q->num, b = q->num2;

	o->owned = NULL;
	o->next = *s;
	o->exp = (struct mexp){ .kind = X_BULK, .p = "", .len = 0 };
	if (a < 0 && b < 0 && a > b)
		return 1;
	if (a < 0)
		a += len;
	if (b < 0)
		b += len;
	if (a < 0)
		a = 0;
	if (b < 0)
		b = 0;
	if (b >= len)
		b = len - 1;
	if (len == 0 || a > b)
		return 1;
	o->exp.p = s->val + a;
	o->exp.len = (size_t)(b - a + 1);
	return 1;
}

static unsigned apply_setrange(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	if (q->vlens[0] == 0) {
		o->owned = NULL;
		o->next = *s;
		o->exp = x_int((long long)(s->present ? s->len : 0));
		return 1;
	}
	return write_at(s, (size_t)q->num, q->vals[0], q->vlens[0], o);
}

/* PEXPIRE (num ms, relative; EXPIRE was turned into ms): a time at or
 * before now deletes the key. */
static unsigned apply_expire(const struct mreq *q, const struct mstate *s, int64_t tlo, int64_t thi,
			     struct mout *o)
{
	o->owned = NULL;
	o->exp = x_int(s->present ? 1 : 0);
	o->next = *s;
	if (s->present && q->num <= 0) {
		o->next = ops_absent();
	} else if (s->present) {
		/* Whatever the type: a hash keeps its fields. */
		o->next.exp_lo = tlo + q->num;
		o->next.exp_hi = thi + q->num;
	}
	return 1;
}

/* PTTL is E - t for the t it ran at (never below 0); TTL rounds it to
 * seconds as (ms + 500) / 1000. */
static struct mexp ttl_exp(const struct mreq *q, const struct mstate *s, int64_t tlo, int64_t thi)
{
	long long lo, hi;

	if (!s->present)
		return x_int(-2);
	if (s->exp_lo == MODEL_NO_TTL)
		return x_int(-1);
	lo = s->exp_lo - thi < 0 ? 0 : s->exp_lo - thi;
	hi = s->exp_hi - tlo < 0 ? 0 : s->exp_hi - tlo;
	if (q->op == OP_TTL) {
		lo = (lo + 500) / 1000;
		hi = (hi + 500) / 1000;
	}
	return (struct mexp){ .kind = X_INT, .lo = lo, .hi = hi };
}

/* Whether the command reads or changes a string value, and so refuses a
 * key of another type (Redis's checkType) and leaves it be. SET with GET
 * refuses it before it writes; plain SET replaces any type, and SETNX only
 * asks whether the key exists. */
static bool wants_string(const struct mreq *q)
{
	switch (q->op) {
	case OP_GET:
	case OP_GETSET:
	case OP_GETDEL:
	case OP_INCRBY:
	case OP_APPEND:
	case OP_STRLEN:
	case OP_GETRANGE:
	case OP_SETRANGE: return true;
	case OP_SET: return (q->flags & SETF_GET) != 0;
	default: return false;
	}
}

static const char *type_name(const struct mstate *s)
{
	static const char *const names[] = {
		[MT_STRING] = "string", [MT_HASH] = "hash", [MT_SET] = "set",
		[MT_LIST] = "list",     [MT_ZSET] = "zset", [MT_HLL] = "string",
	};
	return s->present ? names[s->type] : "none";
}

/* The string and key commands on a key that is absent, a string, or (for
 * the commands that do not read a string) of any type. */
static unsigned apply_string(const struct mreq *q, const struct mstate *s, int64_t tlo, int64_t thi,
			     struct mout *o)
{
	switch (q->op) {
	case OP_GET: o->exp = x_val(s); return 1;
	case OP_MGET:
		/* MGET answers nil for a key of another type. */
		o->exp = s->present && s->type != MT_STRING ? (struct mexp){ .kind = X_NULL }
							    : x_val(s);
		return 1;
	case OP_SET: return apply_set(q, s, tlo, thi, o);
	case OP_SETNX:
		o->exp = x_int(s->present ? 0 : 1);
		if (!s->present)
			o->next = st_value(q->vals[0], q->vlens[0], MODEL_NO_TTL, MODEL_NO_TTL);
		return 1;
	case OP_GETSET:
		o->exp = x_val(s);
		o->next = st_value(q->vals[0], q->vlens[0], MODEL_NO_TTL, MODEL_NO_TTL);
		return 1;
	case OP_GETDEL:
		o->exp = x_val(s);
		o->next = ops_absent();
		return 1;
	case OP_DEL:
		o->exp = x_int(s->present);
		o->next = ops_absent();
		return 1;
	case OP_EXISTS: o->exp = x_int(s->present); return 1;
	case OP_INCRBY: return apply_incrby(q, s, o);
	case OP_APPEND: return apply_append(q, s, o);
	case OP_STRLEN: o->exp = x_int(s->present ? (long long)s->len : 0); return 1;
	case OP_GETRANGE: return apply_getrange(q, s, o);
	case OP_SETRANGE: return apply_setrange(q, s, o);
	case OP_EXPIRE: return apply_expire(q, s, tlo, thi, o);
	case OP_PERSIST:
		o->exp = x_int(s->present && s->exp_lo != MODEL_NO_TTL);
		if (s->present)
			o->next.exp_lo = o->next.exp_hi = MODEL_NO_TTL;
		return 1;
	case OP_PTTL:
	case OP_TTL: o->exp = ttl_exp(q, s, tlo, thi); return 1;
	case OP_TYPE: o->exp = (struct mexp){ .kind = X_STATUS, .text = type_name(s) }; return 1;
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a single-key op");
	return 0;
}

/* The longest a HyperLogLog's string is: dense, a 16-byte header and
 * 16384 registers of 6 bits (Redis's HLL_DENSE_SIZE). */
#define HLL_BYTES_MAX 12304

/* A string command on a HyperLogLog: Redis sees a string, whose bytes are
 * the node's sketch, which the model does not compute. Reading it whole
 * gives a bulk that starts with the sketch's magic ("HYLL"), a part of it
 * any bulk; INCRBY refuses it (no integer starts so); APPEND and SETRANGE
 * change bytes the model does not know, so the key becomes unknown. The
 * rest (SET, GETSET and GETDEL replacing it, DEL, TTLs) as for a string. */
static unsigned apply_on_hll(const struct mreq *q, const struct mstate *s, int64_t tlo, int64_t thi,
			     struct mout *o)
{
	static const struct mexp sketch = { .kind = X_PREFIX, .p = "HYLL", .len = 4 };
	unsigned n;

	switch (q->op) {
	case OP_INCRBY:
		o->exp = (struct mexp){ .kind = X_ERR,
					.text = "ERR value is not an integer or out of range" };
		return 1;
	case OP_STRLEN:
		o->exp = (struct mexp){ .kind = X_INT, .lo = 16, .hi = HLL_BYTES_MAX };
		return 1;
	case OP_GETRANGE: o->exp = (struct mexp){ .kind = X_PREFIX, .len = 0 }; return 1;
	case OP_APPEND:
	case OP_SETRANGE:
		o->exp = (struct mexp){ .kind = X_INT, .lo = 16, .hi = LLONG_MAX };
		o->wild = q->vlens[0] > 0;
		return 1;
	default: break;
	}
	n = apply_string(q, s, tlo, thi, o);
	if (q->op != OP_SET || (q->flags & SETF_GET))
		o->exp = sketch;
	return n;
}

unsigned ops_apply(const struct mreq *q, unsigned ki, const struct mstate *s, int64_t tlo,
		   int64_t thi, struct mout *o)
{
	(void)ki;
	memset(o, 0, sizeof(*o));
	o->next = *s;
	if (mh_op(q->op))
		return mh_apply(q, s, o);
	if (ms_op(q->op))
		return ms_apply(q, s, o);
	if (ml_op(q->op))
		return ml_apply(q, s, o);
	if (mb_op(q->op))
		return mb_apply(q, s, o);
	if (mz_op(q->op))
		return mz_apply(q, s, o);
	if (mp_op(q->op))
		return mp_apply(q, s, o);
	if (q->op == OP_SORT)
		return mo_apply(q, s, o);
	if (s->present && s->type == MT_HLL && (wants_string(q) || q->op == OP_MGET))
		return apply_on_hll(q, s, tlo, thi, o);
	if (s->present && s->type != MT_STRING && wants_string(q)) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = MODEL_WRONGTYPE };
		return 1;
	}
	return apply_string(q, s, tlo, thi, o);
}

/* ---- the workload ---- */

/* A value of one of the size classes the node stores differently. */
static void gen_value(struct rng *r, char **out, size_t *len)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned kind = (unsigned)rng_below(r, 100);
	size_t n, i;

	if (kind < 20) {
		long long v = (long long)rng_range(r, 0, 2000) - 1000;
		*out = sim_calloc(24);
		*len = (size_t)snprintf(*out, 24, "%lld", v);
		return;
	}
	n = kind < 80   ? rng_below(r, 17)
	    : kind < 92 ? rng_range(r, 40, 200)
	    : kind < 98 ? rng_range(r, 4000, 9000)
			: rng_range(r, 32000, 70000);
	*out = sim_calloc(n + 1);
	for (i = 0; i < n; i++)
		(*out)[i] = alnum[rng_below(r, sizeof(alnum) - 1)];
	*len = n;
}

/* The preference holds for this share of picks. */
#define KEY_PREF_SHARE 0.98

/* The keys [*lo, *hi) of a client that a type's commands prefer: a
 * fifth of them each, in the order of enum kpref (with fewer than five
 * keys, types share them). */
#define KEY_REGIONS 5

static void key_region(unsigned n, enum kpref pref, unsigned *lo, unsigned *hi)
{
	unsigned t = (unsigned)pref - K_STRING;

	*lo = t * n / KEY_REGIONS;
	*hi = (t + 1) * n / KEY_REGIONS;
	if (*lo >= n)
		*lo = n - 1;
	if (*hi <= *lo)
		*hi = *lo + 1;
}

unsigned ops_key(const struct model *m, unsigned c, struct rng *r, const struct mreq *q,
		 unsigned avoid, enum kpref pref)
{
	unsigned lo = 0, hi = m->keys_per; /* keys_per >= 2 */

	if (pref != K_ANY)
		key_region(m->keys_per, pref, &lo, &hi);
	for (;;) {
		unsigned j, k, i;
		bool dup = false;
		if (pref != K_ANY && rng_chance(r, KEY_PREF_SHARE))
			j = lo + (unsigned)rng_below(r, hi - lo);
		else
			j = (unsigned)rng_below(r, m->keys_per);
		k = c * m->keys_per + j;
		for (i = 0; i < avoid; i++)
			dup = dup || q->keys[i] == k;
		if (!dup)
			return k;
	}
}

static void gen_multi(struct model *m, unsigned c, struct rng *r, struct mreq *q, bool values)
{
	unsigned n = (unsigned)rng_range(r, 2, m->keys_per < 5 ? m->keys_per : 5), i;

	/* MSET and MSETNX write strings, and DEL of several keys would empty
	 * the hashes' keys too often: a hash's key only now and then. */
	for (i = 0; i < n; i++) {
		q->keys[i] = ops_key(m, c, r, q, i,
				     values || q->op == OP_DEL_MULTI ? K_STRING : K_ANY);
		if (values)
			gen_value(r, &q->vals[i], &q->vlens[i]);
	}
	q->nkeys = n;
}

static void gen_set(struct model *m, struct rng *r, struct mreq *q)
{
	unsigned f = (unsigned)rng_below(r, 16);

	gen_value(r, &q->vals[0], &q->vlens[0]);
	if (f & 1)
		q->flags |= rng_chance(r, 0.5) ? SETF_NX : SETF_XX;
	if (f & 2)
		q->flags |= SETF_GET;
	switch (f >> 2) {
	case 1:
		q->flags |= SETF_EX;
		q->num = (long long)rng_range(r, 1, 3);
		break;
	case 2:
		q->flags |= SETF_PX;
		q->num = (long long)rng_range(r, 1, 3000);
		break;
	case 3:
		if (rng_chance(r, 0.5)) {
			q->flags |= SETF_PXAT;
			q->num = world_ms(m->w->now) + (long long)rng_range(r, 0, 3000) - 500;
		} else {
			q->flags |= SETF_KEEPTTL;
		}
		break;
	default: break;
	}
}

/* Commands with a known error text; the keyspace stays as it was. */
static void gen_error(struct rng *r, struct mreq *q)
{
	switch (rng_below(r, 3)) {
	case 0:
		q->expect = "ERR wrong number of arguments for 'get' command";
		q->num = 0;
		break;
	case 1:
		q->expect = "ERR unknown command 'NOSUCH', with args beginning with: 'a' ";
		q->num = 1;
		break;
	default:
		q->expect = "ERR syntax error";
		q->num = 2;
		break;
	}
}

static void gen_proto(struct rng *r, struct mreq *q)
{
	static const struct {
		const char *bytes, *expect;
	} bad[] = {
		{ "*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'" },
		{ "*2147483648\r\n", "ERR Protocol error: invalid multibulk length" },
		{ "*1\r\n$-7\r\n", "ERR Protocol error: invalid bulk length" },
		{ "*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length" },
		{ "SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request" },
	};
	unsigned i = (unsigned)rng_below(r, sizeof(bad) / sizeof(bad[0]));

	q->vals[0] = strdup(bad[i].bytes);
	q->vlens[0] = strlen(bad[i].bytes);
	q->expect = bad[i].expect;
}

static const enum mop single_ops[] = {
	OP_GET,      OP_GET,      OP_SET,    OP_SET,     OP_SET,    OP_SETNX,  OP_GETSET,
	OP_GETDEL,   OP_DEL,      OP_EXISTS, OP_INCRBY,  OP_INCRBY, OP_APPEND, OP_STRLEN,
	OP_GETRANGE, OP_SETRANGE, OP_EXPIRE, OP_PERSIST, OP_PTTL,   OP_TTL,    OP_TYPE,
};

/* Commands of any type's keys: they pick any key. */
static bool type_blind(enum mop op)
{
	switch (op) {
	case OP_DEL:
	case OP_EXISTS:
	case OP_EXPIRE:
	case OP_PERSIST:
	case OP_PTTL:
	case OP_TTL:
	case OP_TYPE: return true;
	default: return false;
	}
}

static void gen_single(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	q->op = single_ops[rng_below(r, sizeof(single_ops) / sizeof(single_ops[0]))];
	q->keys[0] = ops_key(m, c, r, q, 0, type_blind(q->op) ? K_ANY : K_STRING);
	q->nkeys = 1;
	switch (q->op) {
	case OP_SET: gen_set(m, r, q); break;
	case OP_SETNX:
	case OP_GETSET:
	case OP_APPEND: gen_value(r, &q->vals[0], &q->vlens[0]); break;
	case OP_INCRBY:
		q->num = rng_chance(r, 0.02) ? LLONG_MAX : (long long)rng_range(r, 0, 200) - 100;
		break;
	case OP_GETRANGE:
		q->num = (long long)rng_range(r, 0, 40) - 20;
		q->num2 = (long long)rng_range(r, 0, 40) - 20;
		break;
	case OP_SETRANGE:
		q->num = (long long)rng_range(r, 0, 64);
		gen_value(r, &q->vals[0], &q->vlens[0]);
		if (q->vlens[0] > 200)
			q->vlens[0] = 200;
		break;
	case OP_EXPIRE: q->num = (long long)rng_range(r, 0, 4000) - 200; break;
	case OP_DEL:
		if (rng_chance(r, 0.3))
			q->flags |= DELF_UNLINK;
		break;
	default: break;
	}
}

/* The share of requests that look at one of the client's keys and, if
 * the model has lost track of it (lost writes that have settled since),
 * delete it: a plain overwrite, after which the model knows the key
 * again. Only the string commands overwrite a key plainly otherwise, so a
 * hash, set, list or sorted set key, once unknown, would stay unknown,
 * and unchecked, for the rest of the run. */
#define WILD_DEL_SHARE 0.1

static bool gen_forget(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned k = c * m->keys_per + (unsigned)rng_below(r, m->keys_per);

	if (!m->keys[k].wild || m->keys[k].floating > 0)
		return false;
	q->op = OP_DEL;
	q->keys[0] = k;
	q->nkeys = 1;
	return true;
}

struct mreq *ops_generate(struct model *m, unsigned c, struct rng *r)
{
	struct mreq *q = sim_calloc(sizeof(*q));
	unsigned roll = (unsigned)rng_below(r, 1000);

	q->client = c;
	if (rng_chance(r, WILD_DEL_SHARE) && gen_forget(m, c, r, q)) {
		/* DEL of a key the model lost. */
	} else if (roll < 250) {
		gen_single(m, c, r, q);
	} else if (roll < 390) {
		mh_generate(m, c, r, q);
	} else if (roll < 510) {
		ms_generate(m, c, r, q);
	} else if (roll < 630) {
		ml_generate(m, c, r, q);
	} else if (roll < 790) {
		mz_generate(m, c, r, q);
	} else if (roll < 820) {
		mb_generate(m, c, r, q);
	} else if (roll < 845) {
		mp_generate(m, c, r, q);
	} else if (roll < 870) {
		mo_generate(m, c, r, q);
	} else if (roll < 930) {
		static const enum mop multi[] = { OP_MGET, OP_MSET, OP_MSETNX, OP_DEL_MULTI,
						  OP_EXISTS_MULTI };
		q->op = multi[rng_below(r, 5)];
		gen_multi(m, c, r, q, q->op == OP_MSET || q->op == OP_MSETNX);
		if (q->op == OP_DEL_MULTI && rng_chance(r, 0.5))
			q->flags |= DELF_UNLINK;
	} else if (roll < 990 && m->evict == MEVICT_ALL) {
		/* The shared keys may be evicted: their checks assume they are
		 * not. The same multi-key ops take their place. */
		q->op = OP_MGET;
		gen_multi(m, c, r, q, false);
	} else if (roll < 955) {
		q->op = OP_COUNTER_INCR;
		q->shared = (unsigned)rng_below(r, MODEL_COUNTERS);
		m->ctr_sent[q->shared]++;
	} else if (roll < 990) {
		q->shared = (unsigned)rng_below(r, MODEL_REGISTERS);
		if (rng_chance(r, 0.5)) {
			struct mwrite *w;
			unsigned g = q->shared;
			q->op = OP_REG_SET;
			q->token = ++m->next_token;
			if (m->regw_n[g] == m->regw_cap[g]) {
				m->regw_cap[g] = m->regw_cap[g] ? m->regw_cap[g] * 2 : 64;
				m->regw[g] = sim_realloc(m->regw[g],
							 m->regw_cap[g] * sizeof(*m->regw[g]));
			}
			w = &m->regw[g][m->regw_n[g]++];
			w->token = q->token;
			w->send = m->w->now;
			w->recv = UINT64_MAX;
		} else {
			q->op = OP_REG_GET;
		}
	} else if (roll < 997) {
		q->op = OP_ERR;
		gen_error(r, q);
	} else {
		q->op = OP_PROTO;
		gen_proto(r, q);
	}
	return q;
}

/* ---- encoding ---- */

static void enc_put(struct enc *e, const char *p, size_t n)
{
	if (e->len + n > e->cap) {
		e->cap = (e->len + n) * 2 + 64;
		e->p = sim_realloc(e->p, e->cap);
	}
	if (n > 0)
		memcpy(e->p + e->len, p, n);
	e->len += n;
}

void enc_arg(struct enc *e, const char *p, size_t n)
{
	char head[32];
	int k = snprintf(head, sizeof(head), "$%zu\r\n", n);

	enc_put(e, head, (size_t)k);
	enc_put(e, p, n);
	enc_put(e, "\r\n", 2);
	e->argc++;
}

void enc_str(struct enc *e, const char *s)
{
	enc_arg(e, s, strlen(s));
}

void enc_num(struct enc *e, long long v)
{
	char b[24];
	enc_arg(e, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

void enc_key(struct enc *e, const struct model *m, unsigned k)
{
	enc_arg(e, m->keys[k].name, m->keys[k].nlen);
}

static void enc_set_opts(struct enc *e, const struct mreq *q)
{
	if (q->flags & SETF_NX)
		enc_str(e, "NX");
	if (q->flags & SETF_XX)
		enc_str(e, "XX");
	if (q->flags & SETF_GET)
		enc_str(e, "GET");
	if (q->flags & SETF_EX)
		enc_str(e, "EX"), enc_num(e, q->num);
	if (q->flags & SETF_PX)
		enc_str(e, "PX"), enc_num(e, q->num);
	if (q->flags & SETF_PXAT)
		enc_str(e, "PXAT"), enc_num(e, q->num);
	if (q->flags & SETF_KEEPTTL)
		enc_str(e, "KEEPTTL");
}

/* A hash command's fields, with their values (HSET, HSETNX) or its
 * increment (HINCRBY). */
static void enc_hash(struct enc *e, const struct mreq *q)
{
	unsigned i;

	for (i = 0; i < q->nhp; i++) {
		enc_arg(e, q->hp[i].f, q->hp[i].flen);
		if (q->op == OP_HSET || q->op == OP_HSETNX)
			enc_arg(e, q->hp[i].v, q->hp[i].vlen);
	}
	if (q->op == OP_HINCRBY)
		enc_num(e, q->num);
}

static const char *single_name(const struct mreq *q)
{
	static const char *const names[] = {
		[OP_GET] = "GET",        [OP_SET] = "SET",           [OP_SETNX] = "SETNX",
		[OP_GETSET] = "GETSET",  [OP_GETDEL] = "GETDEL",     [OP_DEL] = "DEL",
		[OP_EXISTS] = "EXISTS",  [OP_INCRBY] = "INCRBY",     [OP_APPEND] = "APPEND",
		[OP_STRLEN] = "STRLEN",  [OP_GETRANGE] = "GETRANGE", [OP_SETRANGE] = "SETRANGE",
		[OP_EXPIRE] = "PEXPIRE", [OP_PERSIST] = "PERSIST",   [OP_PTTL] = "PTTL",
		[OP_TTL] = "TTL",        [OP_TYPE] = "TYPE",
	};
	if (q->op == OP_DEL && (q->flags & DELF_UNLINK))
		return "UNLINK";
	if (mh_op(q->op) || ms_op(q->op))
		return ops_name(q->op);
	return names[q->op];
}

/* A set command's members, by their names. */
void enc_members(struct enc *e, const struct mreq *q)
{
	char name[MODEL_NAME_MAX];
	unsigned i;

	for (i = 0; i < q->nmi; i++)
		enc_arg(e, name, mu_name(q->mi[i], name));
}

static void enc_single(struct enc *e, const struct model *m, const struct mreq *q)
{
	if (ml_op(q->op)) {
		ml_encode(e, m, q);
		return;
	}
	if (mz_op(q->op)) {
		mz_encode(e, m, q);
		return;
	}
	if (mp_op(q->op)) {
		mp_encode(e, m, q);
		return;
	}
	if (q->op == OP_SORT) {
		mo_encode(e, m, q);
		return;
	}
	if (mb_op(q->op)) {
		mb_encode(e, m, q);
		return;
	}
	enc_str(e, single_name(q));
	enc_key(e, m, q->keys[0]);
	switch (q->op) {
	case OP_SET:
		enc_arg(e, q->vals[0], q->vlens[0]);
		enc_set_opts(e, q);
		break;
	case OP_SETNX:
	case OP_GETSET:
	case OP_APPEND: enc_arg(e, q->vals[0], q->vlens[0]); break;
	case OP_INCRBY:
	case OP_EXPIRE: enc_num(e, q->num); break;
	case OP_GETRANGE:
		enc_num(e, q->num);
		enc_num(e, q->num2);
		break;
	case OP_SETRANGE:
		enc_num(e, q->num);
		enc_arg(e, q->vals[0], q->vlens[0]);
		break;
	case OP_SRANDMEMBER:
	case OP_SPOP:
		if (q->flags & SF_COUNT)
			enc_num(e, q->num);
		break;
	default: break;
	}
	enc_hash(e, q);
	enc_members(e, q);
}

static void enc_other(struct enc *e, const struct model *m, const struct mreq *q)
{
	static const char *const multi[] = { [OP_MGET] = "MGET",
					     [OP_MSET] = "MSET",
					     [OP_MSETNX] = "MSETNX",
					     [OP_DEL_MULTI] = "DEL",
					     [OP_EXISTS_MULTI] = "EXISTS" };
	char name[32], val[32];
	unsigned i;

	switch (q->op) {
	case OP_MGET:
	case OP_MSET:
	case OP_MSETNX:
	case OP_DEL_MULTI:
	case OP_EXISTS_MULTI:
		enc_str(e, q->flags & DELF_UNLINK ? "UNLINK" : multi[q->op]);
		for (i = 0; i < q->nkeys; i++) {
			enc_key(e, m, q->keys[i]);
			if (q->op == OP_MSET || q->op == OP_MSETNX)
				enc_arg(e, q->vals[i], q->vlens[i]);
		}
		break;
	case OP_COUNTER_INCR:
	case OP_REG_SET:
	case OP_REG_GET:
		enc_str(e, q->op == OP_COUNTER_INCR ? "INCR" : q->op == OP_REG_SET ? "SET" : "GET");
		snprintf(name, sizeof(name),
			 q->op == OP_COUNTER_INCR ? "%sshared:ctr%u" : "%sshared:reg%u", m->tag,
			 q->shared);
		enc_str(e, name);
		if (q->op == OP_REG_SET) {
			snprintf(val, sizeof(val), "w%llu", (unsigned long long)q->token);
			enc_str(e, val);
		}
		break;
	case OP_ERR:
		if (q->num == 0) {
			enc_str(e, "GET");
		} else if (q->num == 1) {
			enc_str(e, "NOSUCH");
			enc_str(e, "a");
		} else {
			snprintf(name, sizeof(name), "%sx:err", m->tag);
			enc_str(e, "SET"), enc_str(e, name), enc_str(e, "v");
			enc_str(e, "NX"), enc_str(e, "XX");
		}
		break;
	default: ASSERT_NOT_REACHED("model: no encoding"); break;
	}
}

void ops_encode(const struct model *m, const struct mreq *q, char **out, size_t *len)
{
	struct enc e = { .p = NULL };
	char head[24];
	int k;

	if (q->op == OP_PROTO) {
		*out = sim_calloc(q->vlens[0]);
		memcpy(*out, q->vals[0], q->vlens[0]);
		*len = q->vlens[0];
		return;
	}
	if (ops_single_key(q->op))
		enc_single(&e, m, q);
	else if (q->op == OP_BITOP)
		mb_encode(&e, m, q);
	else if (q->op >= OP_LMOVE && q->op <= OP_LMPOP)
		ml_encode(&e, m, q);
	else if (q->op >= OP_ZRANGESTORE && q->op <= OP_ZMPOP)
		mz_encode(&e, m, q);
	else if (q->op == OP_PFCOUNT_MULTI || q->op == OP_PFMERGE)
		mp_encode(&e, m, q);
	else if (q->op == OP_SORT_STORE)
		mo_encode(&e, m, q);
	else if (mm_op(q->op))
		ms_encode(&e, m, q);
	else
		enc_other(&e, m, q);
	/* The count goes in front, now that it is known. */
	k = snprintf(head, sizeof(head), "*%u\r\n", e.argc);
	*out = sim_calloc((size_t)k + e.len);
	memcpy(*out, head, (size_t)k);
	if (e.len > 0)
		memcpy(*out + k, e.p, e.len);
	*len = (size_t)k + e.len;
	free(e.p);
}
