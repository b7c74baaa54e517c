/* model_zmulti.c: the sorted set commands over several keys in the
 * reference model (ZRANGESTORE, ZUNION, ZINTER, ZDIFF and their STOREs,
 * ZINTERCARD, ZMPOP): what one combination of their keys' states gives;
 * model_multi.c tries every combination.
 *
 * Written from Redis's documented behaviour and its t_zset.c, independent
 * of node/: the sources are looked up first (a set counts as a sorted set
 * whose scores are 1, another type is WRONGTYPE), then the options are
 * parsed (a weight that is not a number is an error only then); each
 * source's scores are multiplied by its weight (a NaN, 0 times an
 * infinity, is 0 where Redis says so: for ZUNION every product, for ZINTER
 * the first source's) and a member's are combined by SUM (a NaN sum, inf
 * plus -inf, is 0), MIN or MAX. Redis combines the sources in an order of
 * its own (the smallest first), and a combination through infinities may
 * depend on it: there, every order is tried, any of their results is
 * accepted, and a STORE's destination becomes unknown if they differ. A
 * STORE replaces its destination (of any type, and its TTL), or deletes
 * it if the result is empty. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_WEIGHT "ERR weight value is not a float"
#define ERR_LIMIT_NEGATIVE "ERR LIMIT can't be negative"
#define ERR_COUNT_ZERO "ERR count should be greater than 0"

/* The sources of one combination: each one's members and scores, by the
 * universe's index, and its weight. */
struct zsrcs {
	unsigned n;
	double w[MODEL_REQ_KEYS];
	char has[MODEL_REQ_KEYS][MODEL_SET_BYTES];
	double *sc; /* n * MODEL_UNIVERSE */
	bool inf;   /* some score is infinite */
};

static bool err_is(const struct resp_reader_value *v, const char *text)
{
	return v->type == RESP_READER_ERROR && v->len == strlen(text) &&
	       memcmp(v->str, text, v->len) == 0;
}

static void fail_with(struct mc_out *o, const struct resp_reader_value *v, const char *text)
{
	o->error = true;
	o->legal = err_is(v, text);
}

static bool has(const struct zsrcs *w, unsigned j, unsigned x)
{
	return ((unsigned char)w->has[j][x / 8] >> (x % 8)) & 1u;
}

/* ---- ZRANGESTORE ---- */

static void rangestore_outcome(const struct mreq *q, const struct mcombo *cb,
			       const struct resp_reader_value *v, struct mc_out *o)
{
	const char *early = mz_early_error(q);
	const struct mstate *s = mc_state(cb, 1);
	struct mstate none = ops_absent();
	struct mzent *sel;
	bool unknown;
	unsigned k;

	if (early != NULL) {
		fail_with(o, v, early);
		return;
	}
	if (s->present && s->type != MT_ZSET) {
		fail_with(o, v, MODEL_WRONGTYPE);
		return;
	}
	sel = (struct mzent *)(void *)mc_alloc(o, ((size_t)mz_len(s) + 1) * sizeof(*sel));
	k = mz_select(q, s, sel, &unknown);
	o->legal = unknown ? v->type == RESP_READER_INT : mm_int_is(v, k);
	o->wild = unknown;
	o->dest = mz_state(&none, sel, k);
}

/* ---- ZUNION, ZINTER, ZDIFF ---- */

static bool is_store(enum mop op)
{
	return op == OP_ZUNIONSTORE || op == OP_ZINTERSTORE || op == OP_ZDIFFSTORE;
}

static enum mop base_op(enum mop op)
{
	return op == OP_ZUNIONSTORE                          ? OP_ZUNION
	       : op == OP_ZINTERSTORE || op == OP_ZINTERCARD ? OP_ZINTER
	       : op == OP_ZDIFFSTORE                         ? OP_ZDIFF
							     : op;
}

/* The errors before the keys are looked up (numkeys 0), and after. */
static const char *need_key(enum mop op)
{
	switch (op) {
	case OP_ZUNIONSTORE: return "ERR at least 1 input key is needed for 'zunionstore' command";
	case OP_ZINTERSTORE: return "ERR at least 1 input key is needed for 'zinterstore' command";
	case OP_ZDIFFSTORE: return "ERR at least 1 input key is needed for 'zdiffstore' command";
	case OP_ZUNION: return "ERR at least 1 input key is needed for 'zunion' command";
	case OP_ZINTER: return "ERR at least 1 input key is needed for 'zinter' command";
	case OP_ZDIFF: return "ERR at least 1 input key is needed for 'zdiff' command";
	default: return "ERR at least 1 input key is needed for 'zintercard' command";
	}
}

static const char *late_error(const struct mreq *q)
{
	if (q->op == OP_ZINTERCARD)
		return (q->z->flags & ZA_COUNT) && q->z->cnt < 0 ? ERR_LIMIT_NEGATIVE : NULL;
	return (q->z->flags & ZA_BAD) ? ERR_WEIGHT : NULL;
}

/* The sources' members and scores; false if one is of another type. */
static bool sources(const struct mreq *q, const struct mcombo *cb, struct zsrcs *w)
{
	unsigned from = mm_blind(q->op), j, i;

	w->n = q->nkeys - from;
	for (j = 0; j < w->n; j++) {
		const struct mstate *s = mc_state(cb, from + j);
		if (s->present && s->type != MT_SET && s->type != MT_ZSET)
			return false;
	}
	w->sc = sim_calloc((size_t)w->n * MODEL_UNIVERSE * sizeof(*w->sc));
	for (j = 0; j < w->n; j++) {
		const struct mstate *s = mc_state(cb, from + j);
		w->w[j] = q->z->flags & ZA_WEIGHTS ? q->z->weights[j] : 1.0;
		if (s->present && s->type == MT_SET) {
			memcpy(w->has[j], s->val, MODEL_SET_BYTES);
			for (i = 0; i < MODEL_UNIVERSE; i++)
				w->sc[j * MODEL_UNIVERSE + i] = 1.0;
		}
		for (i = 0; i < mz_len(s); i++) {
			const struct mzent *e = &mz_ents(s)[i];
			w->has[j][e->m / 8] = (char)(w->has[j][e->m / 8] | 1 << (e->m % 8));
			w->sc[j * MODEL_UNIVERSE + e->m] = e->score;
			w->inf = w->inf || isinf(e->score);
		}
	}
	return true;
}

/* Redis's zunionInterAggregate. */
static void aggregate(double *acc, double v, enum zagg agg)
{
	if (agg == ZAGG_SUM) {
		*acc += v;
		if (isnan(*acc))
			*acc = 0;
	} else if (agg == ZAGG_MIN) {
		*acc = v < *acc ? v : *acc;
	} else {
		*acc = v > *acc ? v : *acc;
	}
}

/* Member x's score in the result with the sources in order p; false if
 * it is not in the result. */
static bool member_score(enum mop op, enum zagg agg, const struct zsrcs *w, const unsigned *p,
			 unsigned x, double *out)
{
	bool first = true;
	unsigned i;

	if (op != OP_ZUNION && !has(w, p[0], x))
		return false;
	for (i = 0; i < w->n; i++) {
		unsigned j = p[i];
		double v = w->sc[j * MODEL_UNIVERSE + x] * w->w[j];
		bool in = has(w, j, x);
		if (op == OP_ZDIFF && i > 0 && in)
			return false;
		if (op == OP_ZINTER && !in)
			return false;
		if (!in || (op == OP_ZDIFF && i > 0))
			continue;
		if (op == OP_ZDIFF)
			v = w->sc[j * MODEL_UNIVERSE + x];
		/* Redis: ZUNION makes every product's NaN 0, ZINTER the first. */
		if (isnan(v) && (first || op == OP_ZUNION))
			v = 0;
		if (first)
			*out = v, first = false;
		else
			aggregate(out, v, agg);
	}
	return !first;
}

/* The result with the sources in order p, sorted, into out (room for
 * MODEL_UNIVERSE); its size. */
static unsigned compute(const struct mreq *q, const struct zsrcs *w, const unsigned *p,
			struct mzent *out)
{
	struct mstate none = ops_absent();
	unsigned k = 0, x;
	double sc = 0;

	for (x = 0; x < MODEL_UNIVERSE; x++)
		if (member_score(base_op(q->op), q->z->agg, w, p, x, &sc))
			out[k++] = (struct mzent){ .score = sc, .m = x };
	(void)mz_state(&none, out, k); /* sorts them */
	return k;
}

/* The next order of p[0..n) (lexicographic); false after the last. */
static bool next_order(unsigned *p, unsigned n)
{
	unsigned i, j, t;

	if (n < 2)
		return false;
	for (i = n - 1; i > 0 && p[i - 1] > p[i]; i--)
		;
	if (i == 0)
		return false;
	for (j = n - 1; p[j] < p[i - 1]; j--)
		;
	t = p[i - 1], p[i - 1] = p[j], p[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = p[i], p[i] = p[j], p[j] = t;
	return true;
}

/* Whether the reply is the result's: its size (the STOREs), its members
 * (and scores) in order, or the count (ZINTERCARD, up to LIMIT). */
static bool reply_fits(const struct mreq *q, const struct resp_reader_value *v,
		       const struct mzent *e, unsigned k)
{
	long long lim = (q->z->flags & ZA_COUNT) ? q->z->cnt : 0;

	if (q->op == OP_ZINTERCARD)
		return mm_int_is(v, lim > 0 && lim < (long long)k ? lim : (long long)k);
	if (is_store(q->op))
		return mm_int_is(v, k);
	return mz_reply_is(v, e, k, (q->z->flags & ZA_WITHSCORES) != 0);
}

static void algebra_outcome(const struct mreq *q, const struct mcombo *cb,
			    const struct resp_reader_value *v, struct mc_out *o)
{
	struct zsrcs w = { .n = 0 };
	struct mzent *res = (struct mzent *)(void *)mc_alloc(o, MODEL_UNIVERSE * sizeof(*res));
	struct mzent *alt = sim_calloc(MODEL_UNIVERSE * sizeof(*alt));
	unsigned p[MODEL_REQ_KEYS], k, k2, i;
	bool varies = false;
	struct mstate none = ops_absent();

	if (q->z->flags & ZA_ODD) {
		fail_with(o, v, need_key(q->op));
	} else if (!sources(q, cb, &w)) {
		fail_with(o, v, MODEL_WRONGTYPE);
	} else if (late_error(q) != NULL) {
		fail_with(o, v, late_error(q));
	} else {
		for (i = 0; i < w.n; i++)
			p[i] = i;
		k = compute(q, &w, p, res);
		o->legal = reply_fits(q, v, res, k);
		/* Where infinities meet, every order of the sources. */
		while (w.inf && base_op(q->op) != OP_ZDIFF && next_order(p, w.n)) {
			k2 = compute(q, &w, p, alt);
			if (k2 == k && memcmp(alt, res, k * sizeof(*res)) == 0)
				continue;
			varies = true;
			o->legal = o->legal || reply_fits(q, v, alt, k2);
		}
		o->wild = varies && is_store(q->op);
		o->dest = mz_state(&none, res, k);
	}
	free(w.sc);
	free(alt);
}

/* ---- ZMPOP ---- */

/* Whether v is ZMPOP's reply: the key's name, then each member popped
 * with its score, as a pair. */
static bool zmpop_reply(const struct mkey *key, const struct resp_reader_value *v,
			const struct mzent *e, unsigned k)
{
	const struct resp_reader_value *l;
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != 2 || v->elems[0].type != RESP_READER_BULK ||
	    v->elems[0].len != key->nlen || memcmp(v->elems[0].str, key->name, key->nlen) != 0)
		return false;
	l = &v->elems[1];
	if (l->type != RESP_READER_ARRAY || l->n != k)
		return false;
	for (i = 0; i < k; i++)
		if (!mz_reply_is(&l->elems[i], &e[i], 1, true))
			return false;
	return true;
}

/* ZMPOP numkeys key... MIN|MAX [COUNT c]: the first key, in order, that
 * holds a sorted set gives up to c members (1 without COUNT) from its
 * lowest or highest; a key of another type met before it is WRONGTYPE;
 * none is a null array. */
static void zmpop_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
			  const struct resp_reader_value *v, struct mc_out *o)
{
	bool max = (q->z->flags & ZA_MAX) != 0, counted = (q->z->flags & ZA_COUNT) != 0;
	unsigned i, n, k, j;
	struct mzent *e, *got;

	if (counted && q->z->cnt <= 0) {
		fail_with(o, v, ERR_COUNT_ZERO);
		return;
	}
	for (i = 0; i < q->nkeys; i++) {
		const struct mstate *s = mc_state(cb, i);
		if (s->present && s->type != MT_ZSET) {
			fail_with(o, v, MODEL_WRONGTYPE);
			return;
		}
		if (!s->present)
			continue;
		n = mz_len(s);
		k = !counted ? 1 : q->z->cnt < (long long)n ? (unsigned)q->z->cnt : n;
		e = (struct mzent *)(void *)mc_alloc(o, ((size_t)n + 1) * sizeof(*e));
		got = sim_calloc(((size_t)k + 1) * sizeof(*got));
		memcpy(e, mz_ents(s), n * sizeof(*e));
		for (j = 0; j < k; j++)
			got[j] = e[max ? n - 1 - j : j];
		o->legal = zmpop_reply(&m->keys[q->keys[i]], v, got, k);
		free(got);
		if (!max)
			memmove(e, e + k, (n - k) * sizeof(*e));
		o->next[i] = mz_state(s, e, n - k);
		o->wrote[i] = true;
		return;
	}
	o->legal = v->type == RESP_READER_NULL_ARRAY;
}

void mz_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	if (q->op == OP_ZRANGESTORE)
		rangestore_outcome(q, cb, v, o);
	else if (q->op == OP_ZMPOP)
		zmpop_outcome(m, q, cb, v, o);
	else
		algebra_outcome(q, cb, v, o);
}
