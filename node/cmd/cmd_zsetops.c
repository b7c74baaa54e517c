/* cmd_zsetops.c: the sorted set commands over several keys (ZUNIONSTORE,
 * ZINTERSTORE, ZDIFFSTORE, ZUNION, ZINTER, ZDIFF, ZINTERCARD), as Redis
 * 7.0's zunionInterDiffGenericCommand.
 *
 * Its keys follow numkeys (the keynum routing column): a request whose keys
 * live on several shards runs with them locked, and every key is looked up
 * in its own shard's keyspace (cmd_ks). The checks come in Redis's order:
 * numkeys, then every source is looked up (WRONGTYPE wins over a bad
 * option), then the options. The result is built apart from the sources
 * (the destination may be one of them) in a big set, staged member by
 * member and sorted once (zbt_commit), then stored (converted to a listpack
 * when small, as zsetConvertToListpackIfNeeded) or sent.
 *
 * Sources are read through struct zsrc_ops, one row per type that may be a
 * source: a sorted set, and a plain set, whose members all score 1, which
 * Redis allows too. Any other type is WRONGTYPE. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_zset.h"
#include "data/keyspace.h"
#include "data/t_set.h"
#include "data/t_zset.h"
#include "proto/reply.h"

#define ERR_WEIGHT "weight value is not a float"
#define ERR_LIMIT_NEGATIVE "LIMIT can't be negative"

/* ---- sources ---- */

/* fn gets each member with its score; false stops the walk. */
typedef bool (*zsrc_fn)(void *arg, const char *m, size_t len, double score);

struct zsrc_ops {
	uint64_t (*len)(const struct kv *e);
	/* Every member, in Redis's zuiNext order (a sorted set from its
	 * highest score down). */
	void (*each)(struct kv *e, zsrc_fn fn, void *arg);
	/* The member's score (1 in a plain set); false when absent. */
	bool (*find)(struct kv *e, const char *m, size_t len, double *score);
};

static void zset_src_each(struct kv *e, zsrc_fn fn, void *arg)
{
	struct zset_item item;
	struct zset_it it;

	for (zset_seek(e, zset_len(e) - 1, &it); zset_it_valid(&it); zset_it_prev(&it)) {
		zset_it_get(&it, &item);
		if (!fn(arg, item.p, item.len, item.score))
			return;
	}
}

static const struct zsrc_ops zset_src = {
	.len = zset_len,
	.each = zset_src_each,
	.find = zset_score,
};

static uint64_t set_src_len(const struct kv *e)
{
	struct set_ref s = set_of(e);

	return set_size(&s);
}

/* A plain set's members in its own order (Redis's zuiNext walks the set's
 * encoding), each scoring 1. */
static void set_src_each(struct kv *e, zsrc_fn fn, void *arg)
{
	struct set_ref s = set_of(e);
	struct set_member m;
	struct set_iter it;
	char buf[UTIL_LL_CHARS];
	const char *p;
	size_t len;

	for (set_iter_init(&it, &s); set_iter_next(&it, &m);) {
		p = set_member_text(&m, buf, &len);
		if (!fn(arg, p, len, 1.0))
			return;
	}
}

static bool set_src_find(struct kv *e, const char *m, size_t len, double *score)
{
	struct set_ref s = set_of(e);
	struct set_member sm = set_member_str(m, len);

	if (!set_contains(&s, &sm))
		return false;
	*score = 1.0;
	return true;
}

static const struct zsrc_ops set_src = {
	.len = set_src_len,
	.each = set_src_each,
	.find = set_src_find,
};

/* The types a source may have. */
static const struct zsrc_ops *const src_types[KV_TYPE_COUNT] = {
	[KV_ZSET] = &zset_src,
	[KV_SET] = &set_src,
};

struct zsrc {
	struct kv *e; /* NULL: a missing key, an empty set */
	const struct zsrc_ops *ops;
	double weight;
	uint64_t len;
	int idx; /* position among the keys, for a stable sort */
};

enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zaggr { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* A request, parsed. */
struct zop_req {
	enum zop op;
	const struct cmd_arg *dst; /* the STORE forms */
	bool card;                 /* ZINTERCARD */
	int numkeys_at;
	long long n;
	struct zsrc *src;
	enum zaggr aggr;
	bool withscores;
	long long limit; /* ZINTERCARD; 0: none */
};

/* numkeys, then every source looked up, in Redis's order. */
static bool zop_sources(struct cmd_ctx *c, struct zop_req *q)
{
	long long i;

	if (!cmd_arg_ll(c, &c->argv[q->numkeys_at], &q->n, NULL))
		return false;
	if (q->n < 1) {
		reply_errorf(c->r, "at least 1 input key is needed for '%s' command",
			     c->cmd->fullname);
		return false;
	}
	if (q->n > c->argc - q->numkeys_at - 1) {
		cmd_syntax_error(c);
		return false;
	}
	q->src = mem_calloc(c->env->mem, (size_t)q->n * sizeof(*q->src));
	for (i = 0; i < q->n; i++) {
		const struct cmd_arg *key = &c->argv[q->numkeys_at + 1 + i];
		struct kv *e = ks_lookup_read(cmd_ks(c, key->p, key->len), key->p, key->len);
		q->src[i].weight = 1.0;
		q->src[i].idx = (int)i;
		if (e == NULL)
			continue;
		if (src_types[e->type] == NULL) {
			cmd_reply_wrongtype(c);
			return false;
		}
		q->src[i].e = e;
		q->src[i].ops = src_types[e->type];
		q->src[i].len = q->src[i].ops->len(e);
	}
	return true;
}

static bool zop_aggregate(struct cmd_ctx *c, const struct cmd_arg *a, struct zop_req *q)
{
	if (cmd_arg_cstr_eq(a, "sum"))
		q->aggr = AGGR_SUM;
	else if (cmd_arg_cstr_eq(a, "min"))
		q->aggr = AGGR_MIN;
	else if (cmd_arg_cstr_eq(a, "max"))
		q->aggr = AGGR_MAX;
	else {
		cmd_syntax_error(c);
		return false;
	}
	return true;
}

/* The options after the keys: WEIGHTS and AGGREGATE (not for ZDIFF and
 * ZINTERCARD), WITHSCORES (not for the STORE forms), LIMIT (ZINTERCARD). */
static bool zop_options(struct cmd_ctx *c, struct zop_req *q)
{
	int j = q->numkeys_at + 1 + (int)q->n;
	bool full = q->op != ZOP_DIFF && !q->card;
	long long i;

	while (j < c->argc) {
		int left = c->argc - j;
		const struct cmd_arg *a = &c->argv[j];
		if (full && left >= q->n + 1 && cmd_arg_cstr_eq(a, "weights")) {
			for (i = 0, j++; i < q->n; i++, j++) {
				if (!zset_arg_double(c, &c->argv[j], &q->src[i].weight)) {
					reply_error(c->r, ERR_WEIGHT);
					return false;
				}
			}
		} else if (full && left >= 2 && cmd_arg_cstr_eq(a, "aggregate")) {
			if (!zop_aggregate(c, &c->argv[j + 1], q))
				return false;
			j += 2;
		} else if (q->dst == NULL && !q->card && cmd_arg_cstr_eq(a, "withscores")) {
			q->withscores = true;
			j++;
		} else if (q->card && left >= 2 && cmd_arg_cstr_eq(a, "limit")) {
			if (!zset_arg_positive(c, &c->argv[j + 1], &q->limit, ERR_LIMIT_NEGATIVE))
				return false;
			j += 2;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

static int by_len(const void *a, const void *b)
{
	const struct zsrc *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx - y->idx;
}

/* ---- the operations ---- */

/* Redis's zunionInterAggregate: a sum that is NaN (inf - inf) is 0. */
static void aggregate(double *target, double v, enum zaggr aggr)
{
	if (aggr == AGGR_SUM) {
		*target += v;
		if (isnan(*target))
			*target = 0;
	} else if (aggr == AGGR_MIN) {
		*target = v < *target ? v : *target;
	} else {
		*target = v > *target ? v : *target;
	}
}

/* The walk's state: the request, the source being walked, the result
 * (staged), and what zset_fit_listpack needs of it. */
struct zop_acc {
	const struct zop_req *q;
	const struct zsrc *s;
	struct zbtree *res;
	size_t maxlen, totlen;
	uint64_t card;
};

static void acc_stage(struct zop_acc *a, const char *m, size_t len, double score)
{
	zbt_stage(a->res, m, len, score);
	a->totlen += len;
	if (len > a->maxlen)
		a->maxlen = len;
}

static bool union_cb(void *arg, const char *m, size_t len, double score)
{
	struct zop_acc *a = arg;
	double s = a->s->weight * score;
	struct zent *z;

	if (isnan(s))
		s = 0;
	z = zbt_find(a->res, m, len);
	if (z == NULL)
		acc_stage(a, m, len, s);
	else
		aggregate(&z->score, s, a->q->aggr);
	return true;
}

/* A member of the smallest source: in the result when every other source
 * has it, with the aggregate of the weighted scores, in source order. */
static bool inter_cb(void *arg, const char *m, size_t len, double score)
{
	struct zop_acc *a = arg;
	const struct zop_req *q = a->q;
	double s = q->src[0].weight * score, v;
	long long j;

	if (isnan(s))
		s = 0;
	for (j = 1; j < q->n; j++) {
		const struct zsrc *o = &q->src[j];
		if (o->e == q->src[0].e)
			v = score * o->weight;
		else if (o->e != NULL && o->ops->find(o->e, m, len, &v))
			v *= o->weight;
		else
			return true;
		aggregate(&s, v, q->aggr);
	}
	if (!q->card) {
		acc_stage(a, m, len, s);
		return true;
	}
	a->card++;
	return q->limit == 0 || a->card < (uint64_t)q->limit;
}

static bool diff_cb(void *arg, const char *m, size_t len, double score)
{
	struct zop_acc *a = arg;
	const struct zop_req *q = a->q;
	double v;
	long long j;

	for (j = 1; j < q->n; j++) {
		const struct zsrc *o = &q->src[j];
		if (o->e == q->src[0].e || (o->e != NULL && o->ops->find(o->e, m, len, &v)))
			return true;
	}
	acc_stage(a, m, len, score);
	return true;
}

static void zop_compute(struct zop_acc *a)
{
	const struct zop_req *q = a->q;
	long long i;

	if (q->op == ZOP_UNION) {
		for (i = 0; i < q->n; i++) {
			a->s = &q->src[i];
			if (a->s->len > 0)
				a->s->ops->each(a->s->e, union_cb, a);
		}
		return;
	}
	a->s = &q->src[0];
	if (a->s->len == 0)
		return;
	a->s->ops->each(a->s->e, q->op == ZOP_INTER ? inter_cb : diff_cb, a);
}

/* ---- replies ---- */

static void zop_store(struct cmd_ctx *c, const struct zop_req *q, struct zop_acc *a,
		      struct keyspace *dks)
{
	struct zset_limits lim;
	struct kv *e;
	uint64_t n = zbt_len(a->res);

	if (n == 0) {
		zset_big_free(&dks->mem, a->res);
		reply_int(c->r, 0);
		if (ks_delete_stale(dks, q->dst->p, q->dst->len)) {
			ks_changed(dks, 1);
			ks_notify(dks, CONFIG_NOTIFY_GENERIC, "del", q->dst->p, q->dst->len);
		}
		return;
	}
	zset_limits_of(c, dks, &lim);
	ks_lookup_write(dks, q->dst->p, q->dst->len); /* Redis's setKey: expires it */
	e = ks_set_obj(dks, q->dst->p, q->dst->len, KV_ZSET, ZSET_BIG, a->res, KS_TTL_NONE);
	zset_fit_listpack(&dks->mem, e, &lim, a->maxlen, a->totlen);
	ks_changed(dks, 1);
	reply_int(c->r, (long long)n);
	ks_notify(dks, CONFIG_NOTIFY_ZSET,
		  q->op == ZOP_UNION   ? "zunionstore"
		  : q->op == ZOP_INTER ? "zinterstore"
				       : "zdiffstore",
		  q->dst->p, q->dst->len);
}

static void zop_reply(struct cmd_ctx *c, const struct zop_req *q, struct zop_acc *a)
{
	uint64_t n = zbt_len(a->res);
	struct zbt_pos p;

	reply_array(c->r, (long long)(q->withscores && c->r->proto == 2 ? 2 * n : n));
	for (zbt_seek(a->res, 0, &p); p.leaf != NULL; zbt_next(&p)) {
		size_t len;
		const char *m = zent_str(zbt_at(&p), &len);
		if (q->withscores && c->r->proto >= 3)
			reply_array(c->r, 2);
		reply_bulk(c->r, m, len);
		if (q->withscores)
			reply_double(c->r, zbt_at(&p)->score);
	}
	zset_big_free(c->env->mem, a->res);
}

static void zop_generic(struct cmd_ctx *c, enum zop op, bool store, bool card)
{
	struct zop_req q = { .op = op, .card = card, .numkeys_at = store ? 2 : 1 };
	struct zop_acc a = { .q = &q };
	struct keyspace *dks = NULL;
	struct mem *mem = c->env->mem;

	if (store)
		q.dst = &c->argv[1];
	if (!zop_sources(c, &q) || !zop_options(c, &q))
		goto out;
	/* Smallest first (not for ZDIFF, whose first key is the minuend):
	 * Redis's qsort by cardinality, ties in key order. */
	if (op != ZOP_DIFF)
		qsort(q.src, (size_t)q.n, sizeof(*q.src), by_len);
	if (store) {
		dks = cmd_ks(c, q.dst->p, q.dst->len);
		mem = &dks->mem;
	}
	a.res = zset_big_new(mem, dks != NULL ? dks->seed : c->ks->seed);
	zop_compute(&a);
	if (card) {
		zset_big_free(mem, a.res);
		reply_int(c->r, (long long)a.card);
		goto out;
	}
	zbt_commit(a.res);
	if (store)
		zop_store(c, &q, &a, dks);
	else
		zop_reply(c, &q, &a);
out:
	mem_free(c->env->mem, q.src);
}

void cmd_zunionstore(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_UNION, true, false);
}

void cmd_zinterstore(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_INTER, true, false);
}

void cmd_zdiffstore(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_DIFF, true, false);
}

void cmd_zunion(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_UNION, false, false);
}

void cmd_zinter(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_INTER, false, false);
}

void cmd_zdiff(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_DIFF, false, false);
}

void cmd_zintercard(struct cmd_ctx *c)
{
	zop_generic(c, ZOP_INTER, false, true);
}
