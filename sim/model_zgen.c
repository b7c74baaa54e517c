/* model_zgen.c: the sorted set workload, and the encoding of its
 * requests.
 *
 * The workload uses the sorted set keys (a fifth of a client's keys) and
 * now and then the set keys as sources of ZUNION, ZINTER and ZDIFF (a set
 * counts as a sorted set of scores 1). Scores are small integers mostly,
 * some halves, now and then an infinity, so every sum is exact; some keys
 * (one in three) get score 0 only, so that ranges by name, which Redis
 * specifies over members of one score, are drawn there (and only while
 * every state the model keeps of the key has one score). Members are
 * names of the universe (model_univ.c), half of the time one the key
 * already has; now and then an add of hundreds, so that sorted sets pass
 * any drawn zset-max-listpack-entries, and the universe's long names pass
 * zset-max-listpack-value. A little of everything is malformed, for the
 * errors Redis gives before and after it looks the keys up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* A sorted set this long in some state of its key is mostly cut down. */
#define ZSET_LONG 250
/* The share of ZADDs that add many members at once, and how many. */
#define BIG_ZADD_SHARE 0.03
#define BIG_ZADD_MIN 40
#define BIG_ZADD_MAX 250
/* The share of requests with a malformed argument. */
#define BAD_SHARE 0.015

/* ---- texts ---- */

size_t mz_score_text(double d, bool alt, char *buf, size_t cap)
{
	if (isinf(d))
		return (size_t)snprintf(buf, cap, "%s", d < 0 ? "-inf" : alt ? "+inf" : "inf");
	if (alt && d == floor(d))
		return (size_t)snprintf(buf, cap, "%.1f", d);
	if (alt)
		return (size_t)snprintf(buf, cap, "%.3f", d);
	return (size_t)snprintf(buf, cap, "%.17g", d);
}

static void enc_score(struct enc *e, double d, bool alt)
{
	char buf[48];

	enc_arg(e, buf, mz_score_text(d, alt, buf, sizeof(buf)));
}

static void enc_name(struct enc *e, unsigned m)
{
	char name[MODEL_NAME_MAX];

	enc_arg(e, name, mu_name(m, name));
}

/* A score bound: "(" if exclusive, then the score. */
static void enc_score_bound(struct enc *e, double d, bool ex)
{
	char buf[48];
	size_t n = 0;

	if (ex)
		buf[n++] = '(';
	n += mz_score_text(d, false, buf + n, sizeof(buf) - n);
	enc_arg(e, buf, n);
}

/* A name bound: "-", "+", or "[" or "(" and the name. */
static void enc_lex_bound(struct enc *e, int b, bool ex)
{
	char buf[MODEL_NAME_MAX + 1];

	if (b == ZLEX_MINUS || b == ZLEX_PLUS) {
		enc_str(e, b == ZLEX_MINUS ? "-" : "+");
		return;
	}
	buf[0] = ex ? '(' : '[';
	enc_arg(e, buf, 1 + mu_name((unsigned)b, buf + 1));
}

/* ---- encoding ---- */

/* A range's two bounds in the order sent (REV, by score or name: the
 * highest first); the first one malformed with ZA_BAD. */
static void enc_bounds(struct enc *e, const struct mzargs *a)
{
	bool rev = (a->flags & ZA_REV) && a->by != ZBY_RANK, bad = (a->flags & ZA_BAD) != 0;
	unsigned i;

	for (i = 0; i < 2; i++) {
		bool hi = rev ? i == 0 : i == 1;
		if (i == 0 && bad)
			enc_str(e, a->by == ZBY_RANK ? "a" : "x");
		else if (a->by == ZBY_RANK)
			enc_num(e, i == 0 ? a->start : a->stop);
		else if (a->by == ZBY_SCORE)
			enc_score_bound(e, hi ? a->max : a->min,
					(a->flags & (hi ? ZA_MAXEX : ZA_MINEX)) != 0);
		else
			enc_lex_bound(e, hi ? a->lmax : a->lmin,
				      (a->flags & (hi ? ZA_MAXEX : ZA_MINEX)) != 0);
	}
}

static void enc_limit(struct enc *e, const struct mzargs *a)
{
	if (!(a->flags & ZA_LIMIT))
		return;
	enc_str(e, "LIMIT");
	enc_num(e, a->off);
	enc_num(e, a->cnt);
}

/* OP_ZRANGE in its form, or ZRANGESTORE (after its two keys). */
static void enc_range_cmd(struct enc *e, const struct model *m, const struct mreq *q)
{
	static const char *const forms[] = {
		[ZF_ZRANGE] = "ZRANGE",
		[ZF_ZREVRANGE] = "ZREVRANGE",
		[ZF_ZRANGEBYSCORE] = "ZRANGEBYSCORE",
		[ZF_ZREVRANGEBYSCORE] = "ZREVRANGEBYSCORE",
		[ZF_ZRANGEBYLEX] = "ZRANGEBYLEX",
		[ZF_ZREVRANGEBYLEX] = "ZREVRANGEBYLEX",
	};
	const struct mzargs *a = q->z;
	unsigned i;

	enc_str(e, q->op == OP_ZRANGESTORE ? "ZRANGESTORE" : forms[a->form]);
	for (i = 0; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	enc_bounds(e, a);
	if (a->form == ZF_ZRANGE) {
		if (a->by != ZBY_RANK)
			enc_str(e, a->by == ZBY_SCORE ? "BYSCORE" : "BYLEX");
		if (a->flags & ZA_REV)
			enc_str(e, "REV");
	}
	if (a->flags & ZA_WITHSCORES)
		enc_str(e, "WITHSCORES");
	enc_limit(e, a);
}

static void enc_zadd(struct enc *e, const struct mreq *q)
{
	static const struct {
		unsigned flag;
		const char *word;
	} opts[] = { { ZA_NX, "NX" }, { ZA_XX, "XX" }, { ZA_GT, "GT" },
		     { ZA_LT, "LT" }, { ZA_CH, "CH" }, { ZA_INCR, "INCR" } };
	const struct mzargs *a = q->z;
	unsigned i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (a->flags & opts[i].flag)
			enc_str(e, opts[i].word);
	for (i = 0; i < q->nmi; i++) {
		if (i == 0 && (a->flags & ZA_BAD))
			enc_str(e, "abc");
		else
			enc_score(e, a->scores[i], (a->flags & ZA_ALT) != 0);
		enc_name(e, q->mi[i]);
	}
	if (a->flags & ZA_ODD)
		enc_score(e, 1, false);
}

/* ZUNION, ZINTER, ZDIFF, their STOREs and ZINTERCARD: the destination,
 * numkeys (0 with ZA_ODD), the sources, then the options. */
static void enc_algebra(struct enc *e, const struct model *m, const struct mreq *q)
{
	static const char *const aggs[] = { "SUM", "MIN", "MAX" };
	const struct mzargs *a = q->z;
	unsigned from = mm_blind(q->op), i;

	enc_str(e, ops_name(q->op));
	if (from)
		enc_key(e, m, q->keys[0]);
	enc_num(e, a->flags & ZA_ODD ? 0 : (long long)(q->nkeys - from));
	for (i = from; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	if (a->flags & ZA_WEIGHTS) {
		enc_str(e, "WEIGHTS");
		for (i = from; i < q->nkeys; i++) {
			if (i == from && (a->flags & ZA_BAD))
				enc_str(e, "abc");
			else
				enc_score(e, a->weights[i - from], false);
		}
	}
	if (a->flags & ZA_AGGREGATE) {
		enc_str(e, "AGGREGATE");
		enc_str(e, aggs[a->agg]);
	}
	if (a->flags & ZA_WITHSCORES)
		enc_str(e, "WITHSCORES");
	if (q->op == OP_ZINTERCARD && (a->flags & ZA_COUNT)) {
		enc_str(e, "LIMIT");
		enc_num(e, a->cnt);
	}
}

static void enc_zmpop(struct enc *e, const struct model *m, const struct mreq *q)
{
	unsigned i;

	enc_str(e, "ZMPOP");
	enc_num(e, q->nkeys);
	for (i = 0; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	enc_str(e, q->z->flags & ZA_MAX ? "MAX" : "MIN");
	if (q->z->flags & ZA_COUNT) {
		enc_str(e, "COUNT");
		enc_num(e, q->z->cnt);
	}
}

/* The commands of one key but the ranges, after the key. */
static void enc_single(struct enc *e, const struct mreq *q)
{
	const struct mzargs *a = q->z;

	switch (q->op) {
	case OP_ZADD: enc_zadd(e, q); return;
	case OP_ZINCRBY:
		if (a->flags & ZA_BAD)
			enc_str(e, "abc");
		else
			enc_score(e, a->scores[0], (a->flags & ZA_ALT) != 0);
		break;
	case OP_ZCOUNT:
	case OP_ZLEXCOUNT:
	case OP_ZREMRANGEBYRANK:
	case OP_ZREMRANGEBYSCORE:
	case OP_ZREMRANGEBYLEX: enc_bounds(e, a); return;
	case OP_ZPOPMIN:
	case OP_ZPOPMAX:
	case OP_ZRANDMEMBER:
		if (a->flags & ZA_BAD)
			enc_str(e, "abc");
		else if (a->flags & ZA_COUNT)
			enc_num(e, a->cnt);
		if (a->flags & ZA_WITHSCORES)
			enc_str(e, "WITHSCORES");
		return;
	default: break; /* ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK */
	}
	enc_members(e, q);
}

void mz_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	switch (q->op) {
	case OP_ZRANGE:
	case OP_ZRANGESTORE: enc_range_cmd(e, m, q); return;
	case OP_ZMPOP: enc_zmpop(e, m, q); return;
	default: break;
	}
	if (mm_op(q->op)) {
		enc_algebra(e, m, q);
		return;
	}
	enc_str(e, ops_name(q->op));
	enc_key(e, m, q->keys[0]);
	enc_single(e, q);
}

/* ---- the workload ---- */

/* Keys of integer members (so that SORT sorts them by number), keys of
 * one score (0), where ranges by name are drawn, and keys of anything:
 * one in three each. */
static bool int_key(const struct model *m, unsigned k)
{
	return k % m->keys_per % 3 == 0;
}

static bool lex_key(const struct model *m, unsigned k)
{
	return k % m->keys_per % 3 == 1;
}

/* Whether every state the model keeps of key k has one score (a range by
 * name is specified there); an unknown key has none to go by. */
static bool one_score(const struct model *m, unsigned k)
{
	const struct mkey *key = &m->keys[k];
	unsigned i, n;

	if (key->wild)
		return false;
	for (i = 0; i < key->n; i++) {
		n = mz_len(&key->s[i]);
		if (n > 1 && mz_ents(&key->s[i])[0].score != mz_ents(&key->s[i])[n - 1].score)
			return false;
	}
	return true;
}

/* The most members key k's sorted set has in the states the model keeps. */
static unsigned longest(const struct model *m, unsigned k)
{
	const struct mkey *key = &m->keys[k];
	unsigned i, most = 0;

	for (i = 0; i < key->n; i++)
		if (mz_len(&key->s[i]) > most)
			most = mz_len(&key->s[i]);
	return most;
}

/* A member: half of the time one that key k has (in the first state the
 * model keeps), else any. */
static unsigned pick_member(const struct model *m, unsigned k, struct rng *r)
{
	const struct mkey *key = &m->keys[k];
	unsigned n = key->n > 0 && !key->wild ? mz_len(&key->s[0]) : 0;

	if (n > 0 && rng_chance(r, 0.5))
		return mz_ents(&key->s[0])[rng_below(r, n)].m;
	return mu_member(r, int_key(m, k));
}

static void gen_members(const struct model *m, unsigned k, struct rng *r, struct mreq *q,
			unsigned n)
{
	unsigned i;

	q->mi = sim_calloc(((size_t)n + 1) * sizeof(*q->mi));
	q->nmi = n;
	for (i = 0; i < n; i++)
		q->mi[i] = pick_member(m, k, r);
}

/* A score: a small integer mostly, some halves, now and then an infinity. */
static double gen_score(struct rng *r)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 70)
		return (double)((long long)rng_range(r, 0, 12) - 3);
	if (roll < 92)
		return (double)((long long)rng_range(r, 0, 24) - 6) / 2;
	return roll < 96 ? INFINITY : -INFINITY;
}

static void gen_zadd(const struct model *m, unsigned k, struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	unsigned roll = (unsigned)rng_below(r, 100), n = (unsigned)rng_range(r, 1, 4), i;
	bool big = rng_chance(r, BIG_ZADD_SHARE);

	if (big)
		n = (unsigned)rng_range(r, BIG_ZADD_MIN, BIG_ZADD_MAX);
	a->flags |= roll < 10   ? ZA_NX
		    : roll < 20 ? ZA_XX
		    : roll < 28 ? ZA_GT
		    : roll < 36 ? ZA_LT
				: 0;
	if (roll >= 36 && roll < 44) {
		a->flags |= ZA_INCR;
		n = 1;
	}
	if (rng_chance(r, 0.25))
		a->flags |= ZA_CH;
	if (rng_chance(r, 0.1))
		a->flags |= ZA_ALT;
	if (rng_chance(r, 0.03)) {
		static const unsigned bad[] = { ZA_NX | ZA_XX, ZA_GT | ZA_LT, ZA_GT | ZA_NX,
						ZA_INCR,       ZA_ODD,        ZA_BAD };
		a->flags |= bad[rng_below(r, sizeof(bad) / sizeof(bad[0]))];
		if (a->flags & ZA_INCR)
			n = 2;
	}
	gen_members(m, k, r, q, n);
	a->scores = sim_calloc(((size_t)n + 1) * sizeof(*a->scores));
	for (i = 0; i < n; i++) {
		if (big)
			q->mi[i] = (int_key(m, k) ? U_IPOOL : U_SPOOL) +
				   (unsigned)rng_below(r, MU_N_POOL);
		a->scores[i] = lex_key(m, k) ? 0 : gen_score(r);
	}
}

/* A rank: mostly near the ends of a short sorted set. */
static long long gen_rank(struct rng *r)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 5)
		return (long long)rng_range(r, 0, 2000) - 1000;
	if (roll < 60)
		return (long long)rng_range(r, 0, 6) - 3;
	return (long long)rng_range(r, 0, 30) - 15;
}

/* A score bound: now and then the infinity at its end. */
static double gen_score_bound(struct rng *r, bool low)
{
	if (rng_chance(r, 0.2))
		return low ? -INFINITY : INFINITY;
	return gen_score(r);
}

/* A name bound: now and then "-" or "+" (mostly the natural one for its
 * end), else a member. */
static int gen_lex(const struct model *m, unsigned k, struct rng *r, bool low)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 15)
		return low ? ZLEX_MINUS : ZLEX_PLUS;
	if (roll < 18)
		return low ? ZLEX_PLUS : ZLEX_MINUS;
	return (int)pick_member(m, k, r);
}

/* A range's bounds, by what it selects by; mostly the right way round. */
static void gen_bounds(const struct model *m, unsigned k, struct rng *r, struct mzargs *a)
{
	if (a->by == ZBY_RANK) {
		a->start = gen_rank(r);
		a->stop = rng_chance(r, 0.3) ? -1 : gen_rank(r);
	} else if (a->by == ZBY_SCORE) {
		a->min = gen_score_bound(r, true);
		a->max = gen_score_bound(r, false);
		if (a->min > a->max && rng_chance(r, 0.8)) {
			double t = a->min;
			a->min = a->max;
			a->max = t;
		}
	} else {
		a->lmin = gen_lex(m, k, r, true);
		a->lmax = gen_lex(m, k, r, false);
		if (a->lmin >= 0 && a->lmax >= 0 &&
		    mu_cmp((unsigned)a->lmin, (unsigned)a->lmax) > 0 && rng_chance(r, 0.8)) {
			int t = a->lmin;
			a->lmin = a->lmax;
			a->lmax = t;
		}
	}
	if (a->by != ZBY_RANK && rng_chance(r, 0.25))
		a->flags |= ZA_MINEX;
	if (a->by != ZBY_RANK && rng_chance(r, 0.25))
		a->flags |= ZA_MAXEX;
	if (rng_chance(r, BAD_SHARE))
		a->flags |= ZA_BAD;
}

static void gen_limit(struct rng *r, struct mzargs *a)
{
	a->flags |= ZA_LIMIT;
	a->off = rng_chance(r, 0.05) ? -1 : (long long)rng_range(r, 0, rng_chance(r, 0.7) ? 1 : 5);
	a->cnt = rng_chance(r, 0.25) ? -1 : (long long)rng_range(r, 0, 6);
}

/* A range read (OP_ZRANGE) in one of its forms, or ZRANGESTORE's (in
 * ZRANGE's form, without WITHSCORES): by name only where the key has one
 * score; now and then LIMIT by rank or WITHSCORES by name (errors). */
static void gen_range(const struct model *m, unsigned k, struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	bool lex = one_score(m, k);
	unsigned roll = (unsigned)rng_below(r, 100);

	a->form = q->op == OP_ZRANGESTORE ? ZF_ZRANGE : (enum zform)rng_below(r, 6);
	if ((a->form == ZF_ZRANGEBYLEX || a->form == ZF_ZREVRANGEBYLEX) && !lex)
		a->form = a->form == ZF_ZRANGEBYLEX ? ZF_ZRANGEBYSCORE : ZF_ZREVRANGEBYSCORE;
	if (a->form == ZF_ZRANGE)
		a->by = roll < 40 ? ZBY_RANK : roll < 75 || !lex ? ZBY_SCORE : ZBY_LEX;
	else
		a->by = a->form == ZF_ZREVRANGE          ? ZBY_RANK
			: a->form <= ZF_ZREVRANGEBYSCORE ? ZBY_SCORE
							 : ZBY_LEX;
	if (a->form == ZF_ZREVRANGE || a->form == ZF_ZREVRANGEBYSCORE ||
	    a->form == ZF_ZREVRANGEBYLEX || (a->form == ZF_ZRANGE && rng_chance(r, 0.3)))
		a->flags |= ZA_REV;
	if (a->by != ZBY_RANK ? rng_chance(r, 0.4) : a->form == ZF_ZRANGE && rng_chance(r, 0.02))
		gen_limit(r, a);
	if (q->op == OP_ZRANGE && (a->by != ZBY_LEX ? rng_chance(r, 0.4) : rng_chance(r, 0.02)))
		a->flags |= ZA_WITHSCORES;
	gen_bounds(m, k, r, a);
}

/* A count for ZRANDMEMBER (either sign; with WITHSCORES in half) or
 * ZPOPMIN and ZPOPMAX (rarely negative, an error). */
static void gen_count(struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 30)
		return;
	a->flags |= ZA_COUNT;
	if (q->op == OP_ZRANDMEMBER) {
		a->cnt = roll < 90
				 ? (long long)rng_range(r, 0, 14) - 6
				 : (long long)rng_range(r, 10, 300) * (rng_chance(r, 0.5) ? 1 : -1);
		if (rng_chance(r, 0.5))
			a->flags |= ZA_WITHSCORES;
		if (rng_chance(r, 0.01))
			a->flags |= ZA_BAD;
	} else {
		a->cnt = roll < 90   ? (long long)rng_range(r, 0, 4)
			 : roll < 98 ? (long long)rng_range(r, 10, 60)
				     : -(long long)rng_range(r, 1, 5);
	}
}

/* n distinct keys of client c into q from position at: sorted set keys,
 * and with `sets` a set key now and then. */
static void gen_keys(struct model *m, unsigned c, struct rng *r, struct mreq *q, unsigned at,
		     unsigned n, bool sets)
{
	unsigned i;

	for (i = at; i < at + n; i++)
		q->keys[i] = ops_key(m, c, r, q, i, sets && rng_chance(r, 0.25) ? K_SET : K_ZSET);
	q->nkeys = at + n;
}

/* A destination in front of the n keys of q: now and then one of them. */
static void gen_dest(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned n = q->nkeys, pick = (unsigned)rng_below(r, n);

	memmove(&q->keys[1], &q->keys[0], n * sizeof(q->keys[0]));
	q->nkeys = n + 1;
	q->keys[0] = rng_chance(r, 0.3) ? q->keys[1 + pick] : ops_key(m, c, r, q, 0, K_ZSET);
}

static double gen_weight(struct rng *r)
{
	static const double w[] = { 1, 1, 2, 3, -1, 0.5, 0 };

	return w[rng_below(r, sizeof(w) / sizeof(w[0]))];
}

/* ZUNION, ZINTER, ZDIFF, their STOREs, ZINTERCARD: one to four sources
 * (a set now and then), weights and an aggregate where allowed. */
static void gen_algebra(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	unsigned most = m->keys_per < 4 ? m->keys_per : 4, n, i;
	enum mop base = q->op == OP_ZUNIONSTORE   ? OP_ZUNION
			: q->op == OP_ZINTERSTORE ? OP_ZINTER
			: q->op == OP_ZDIFFSTORE  ? OP_ZDIFF
						  : q->op;

	n = (unsigned)rng_range(r, 1, mm_blind(q->op) && most > 3 ? 3 : most);
	gen_keys(m, c, r, q, 0, n, true);
	if (mm_blind(q->op))
		gen_dest(m, c, r, q);
	if ((base == OP_ZUNION || base == OP_ZINTER) && rng_chance(r, 0.3)) {
		a->flags |= ZA_WEIGHTS;
		for (i = 0; i < n; i++)
			a->weights[i] = gen_weight(r);
		if (rng_chance(r, 0.05))
			a->flags |= ZA_BAD;
	}
	if ((base == OP_ZUNION || base == OP_ZINTER) && rng_chance(r, 0.3)) {
		a->flags |= ZA_AGGREGATE;
		a->agg = (enum zagg)rng_below(r, 3);
	}
	if (!mm_blind(q->op) && q->op != OP_ZINTERCARD && rng_chance(r, 0.5))
		a->flags |= ZA_WITHSCORES;
	if (q->op == OP_ZINTERCARD && rng_chance(r, 0.5)) {
		a->flags |= ZA_COUNT;
		a->cnt = rng_chance(r, 0.05) ? -1 : (long long)rng_range(r, 0, 5);
	}
	if (rng_chance(r, 0.01))
		a->flags |= ZA_ODD;
}

/* The commands over several keys: ZRANGESTORE's destination and source;
 * ZMPOP's one to four keys; the algebra. */
static void gen_multi(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	unsigned most = m->keys_per < 4 ? m->keys_per : 4;

	if (q->op == OP_ZRANGESTORE) {
		gen_keys(m, c, r, q, 0, 1, false);
		gen_dest(m, c, r, q);
		gen_range(m, q->keys[1], r, q);
	} else if (q->op == OP_ZMPOP) {
		gen_keys(m, c, r, q, 0, (unsigned)rng_range(r, 1, most), false);
		if (rng_chance(r, 0.5))
			a->flags |= ZA_MAX;
		if (rng_chance(r, 0.5)) {
			a->flags |= ZA_COUNT;
			a->cnt = rng_chance(r, 0.02) ? 0 : (long long)rng_range(r, 1, 6);
		}
	} else {
		gen_algebra(m, c, r, q);
	}
}

/* A long sorted set is mostly cut down to a few dozen members. */
static bool gen_trim(const struct model *m, unsigned k, struct rng *r, struct mreq *q)
{
	if (longest(m, k) <= ZSET_LONG || !rng_chance(r, 0.5))
		return false;
	if (rng_chance(r, 0.5)) {
		q->op = OP_ZREMRANGEBYRANK;
		q->z->by = ZBY_RANK;
		q->z->start = 0;
		q->z->stop = -(long long)rng_range(r, 5, 40);
	} else {
		q->op = OP_ZPOPMIN;
		q->z->flags |= ZA_COUNT;
		q->z->cnt = (long long)rng_range(r, 100, 400);
	}
	return true;
}

/* The arguments of a command on one key k. */
static void gen_single(const struct model *m, unsigned k, struct rng *r, struct mreq *q)
{
	struct mzargs *a = q->z;
	bool one = one_score(m, k);

	switch (q->op) {
	case OP_ZADD: gen_zadd(m, k, r, q); break;
	case OP_ZINCRBY:
		gen_members(m, k, r, q, 1);
		a->scores = sim_calloc(sizeof(*a->scores));
		a->scores[0] = lex_key(m, k) ? 0 : gen_score(r);
		if (rng_chance(r, BAD_SHARE))
			a->flags |= ZA_BAD;
		break;
	case OP_ZREM: gen_members(m, k, r, q, (unsigned)rng_range(r, 1, 3)); break;
	case OP_ZMSCORE: gen_members(m, k, r, q, (unsigned)rng_range(r, 1, 4)); break;
	case OP_ZSCORE:
	case OP_ZRANK:
	case OP_ZREVRANK: gen_members(m, k, r, q, 1); break;
	case OP_ZRANGE: gen_range(m, k, r, q); break;
	case OP_ZCOUNT:
	case OP_ZLEXCOUNT:
	case OP_ZREMRANGEBYRANK:
	case OP_ZREMRANGEBYSCORE:
	case OP_ZREMRANGEBYLEX:
		if ((q->op == OP_ZLEXCOUNT || q->op == OP_ZREMRANGEBYLEX) && !one)
			q->op = q->op == OP_ZLEXCOUNT ? OP_ZCOUNT : OP_ZREMRANGEBYSCORE;
		a->by = q->op == OP_ZREMRANGEBYRANK                          ? ZBY_RANK
			: q->op == OP_ZCOUNT || q->op == OP_ZREMRANGEBYSCORE ? ZBY_SCORE
									     : ZBY_LEX;
		gen_bounds(m, k, r, a);
		break;
	case OP_ZPOPMIN:
	case OP_ZPOPMAX:
	case OP_ZRANDMEMBER: gen_count(r, q); break;
	case OP_DEL:
		if (rng_chance(r, 0.5))
			q->flags |= DELF_UNLINK;
		break;
	default: break; /* ZCARD */
	}
}

/* Each command and how often, against the others: adds a little more
 * often than anything takes members away. */
static const struct {
	enum mop op;
	unsigned weight;
} zset_mix[] = {
	{ OP_ZADD, 11 },
	{ OP_ZINCRBY, 2 },
	{ OP_ZREM, 2 },
	{ OP_ZCARD, 1 },
	{ OP_ZSCORE, 2 },
	{ OP_ZMSCORE, 1 },
	{ OP_ZRANK, 1 },
	{ OP_ZREVRANK, 1 },
	{ OP_ZCOUNT, 1 },
	{ OP_ZLEXCOUNT, 1 },
	{ OP_ZRANGE, 5 },
	{ OP_ZREMRANGEBYRANK, 1 },
	{ OP_ZREMRANGEBYSCORE, 1 },
	{ OP_ZREMRANGEBYLEX, 1 },
	{ OP_ZPOPMIN, 1 },
	{ OP_ZPOPMAX, 1 },
	{ OP_ZRANDMEMBER, 2 },
	{ OP_DEL, 1 },
	{ OP_ZRANGESTORE, 1 },
	{ OP_ZUNIONSTORE, 1 },
	{ OP_ZINTERSTORE, 1 },
	{ OP_ZDIFFSTORE, 1 },
	{ OP_ZUNION, 1 },
	{ OP_ZINTER, 1 },
	{ OP_ZDIFF, 1 },
	{ OP_ZINTERCARD, 1 },
	{ OP_ZMPOP, 1 },
};

static enum mop zset_op(struct rng *r)
{
	unsigned total = 0, i, at;

	for (i = 0; i < sizeof(zset_mix) / sizeof(zset_mix[0]); i++)
		total += zset_mix[i].weight;
	at = (unsigned)rng_below(r, total);
	for (i = 0; at >= zset_mix[i].weight; i++)
		at -= zset_mix[i].weight;
	return zset_mix[i].op;
}

void mz_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	q->op = zset_op(r);
	q->z = sim_calloc(sizeof(*q->z));
	if (mm_op(q->op)) {
		gen_multi(m, c, r, q);
		return;
	}
	q->keys[0] = ops_key(m, c, r, q, 0, K_ZSET);
	q->nkeys = 1;
	if (!gen_trim(m, q->keys[0], r, q))
		gen_single(m, q->keys[0], r, q);
}
