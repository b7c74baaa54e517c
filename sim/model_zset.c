/* model_zset.c: sorted sets in the reference model, one key at a time.
 *
 * What each sorted set command does to one possible state of its key and
 * what it answers, written from Redis's documented behaviour (and the
 * error texts and corner cases of its t_zset.c), independent of node/: a
 * sorted set is a set of distinct members, each with a score, ordered by
 * score and then by the members' bytes; a command on a key of another type
 * answers WRONGTYPE and changes nothing, but an argument Redis parses
 * before it looks the key up is refused first; a write to a missing key
 * creates the sorted set (without a TTL), a write to one keeps its TTL,
 * and the sorted set whose last member goes is deleted. The model knows
 * nothing of encodings: the node's listpack and its tree must answer
 * alike, and the workload (model_zgen.c) draws what moves a sorted set
 * from one to the other against the run's drawn zset-max-listpack-entries
 * and -value.
 *
 * Members are names of the universe (model_univ.c), and scores are drawn
 * small integers, halves and infinities, so every sum is exact and every
 * score has one text: Redis writes a score as "%.17g" ("1", "1.5") or
 * "inf" and "-inf"; a zero may be a negative zero ("-0") by Redis's own
 * arithmetic, which the model does not follow (it keeps 0). Ranges by
 * name are specified only over members of one score; over several, any
 * reply is accepted and what a removal leaves becomes unknown. Where
 * Redis picks at random (ZRANDMEMBER) the reply is judged as SRANDMEMBER's
 * is, and each score given must be its member's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_NAN "ERR resulting score is not a number (NaN)"
#define ERR_XX_NX "ERR XX and NX options at the same time are not compatible"
#define ERR_GT_LT_NX "ERR GT, LT, and/or NX options at the same time are not compatible"
#define ERR_INCR_PAIR "ERR INCR option supports a single increment-element pair"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_SCORE "ERR min or max is not a float"
#define ERR_NOT_LEX "ERR min or max not valid string range item"
#define ERR_LIMIT_BY                                                                               \
	"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
#define ERR_WITHSCORES_BYLEX "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
#define ERR_NOT_POSITIVE "ERR value is out of range, must be positive"

bool mz_op(enum mop op)
{
	return op >= OP_ZADD && op <= OP_ZRANDMEMBER;
}

/* ---- states and replies ---- */

unsigned mz_len(const struct mstate *s)
{
	return s->present && s->type == MT_ZSET ? s->nf : 0;
}

const struct mzent *mz_ents(const struct mstate *s)
{
	return mz_len(s) > 0 ? (const struct mzent *)(const void *)s->val : NULL;
}

int mz_cmp(const struct mzent *a, const struct mzent *b)
{
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return mu_cmp(a->m, b->m);
}

static int mz_qcmp(const void *a, const void *b)
{
	return mz_cmp(a, b);
}

struct mstate mz_state(const struct mstate *old, struct mzent *e, unsigned n)
{
	struct mstate s = old->present && old->type == MT_ZSET ? *old : ops_absent();
	unsigned i;

	if (n == 0)
		return ops_absent();
	for (i = 0; i < n; i++) {
		ASSERT(!isnan(e[i].score));
		if (e[i].score == 0)
			e[i].score = 0; /* not -0 */
		e[i].zero = 0;
	}
	qsort(e, n, sizeof(*e), mz_qcmp);
	for (i = 1; i < n; i++)
		ASSERT(e[i - 1].m != e[i].m);
	s.present = true;
	s.type = MT_ZSET;
	s.val = (char *)e;
	s.len = (size_t)n * sizeof(*e);
	s.nf = n;
	return s;
}

/* Where member m is in s, or -1. */
static int zfind(const struct mstate *s, unsigned m)
{
	const struct mzent *z = mz_ents(s);
	unsigned i;

	for (i = 0; i < mz_len(s); i++)
		if (z[i].m == m)
			return (int)i;
	return -1;
}

/* A copy of s's members with room for `more`, owned by outcome o. */
static struct mzent *zcopy(struct mout *o, const struct mstate *s, unsigned more)
{
	struct mzent *e = sim_calloc(((size_t)mz_len(s) + more + 1) * sizeof(*e));

	if (mz_len(s) > 0)
		memcpy(e, mz_ents(s), mz_len(s) * sizeof(*e));
	o->owned = (char *)e;
	return e;
}

/* Redis's text of a score. */
static size_t score_text(double d, char *buf, size_t cap)
{
	if (isinf(d))
		return (size_t)snprintf(buf, cap, "%s", d > 0 ? "inf" : "-inf");
	return (size_t)snprintf(buf, cap, "%.17g", d);
}

bool mz_score_is(const struct resp_reader_value *v, double d)
{
	char buf[40];
	size_t n = score_text(d, buf, sizeof(buf));

	if (v->type != RESP_READER_BULK)
		return false;
	if (v->len == n && memcmp(v->str, buf, n) == 0)
		return true;
	return d == 0 && v->len == 2 && memcmp(v->str, "-0", 2) == 0;
}

static bool name_is(const struct resp_reader_value *v, unsigned m)
{
	return v->type == RESP_READER_BULK && mu_index(v->str, v->len) == (int)m;
}

bool mz_reply_is(const struct resp_reader_value *v, const struct mzent *e, unsigned n, bool scores)
{
	unsigned step = scores ? 2 : 1, i;

	if (v->type != RESP_READER_ARRAY || v->n != (size_t)n * step)
		return false;
	for (i = 0; i < n; i++) {
		if (!name_is(&v->elems[i * step], e[i].m))
			return false;
		if (scores && !mz_score_is(&v->elems[i * step + 1], e[i].score))
			return false;
	}
	return true;
}

/* ---- ranges ---- */

/* The error of a range's arguments: ZRANGE's LIMIT without BYSCORE or
 * BYLEX (Redis looks only at its count: LIMIT off -1 is no limit, and a
 * range by rank ignores it), WITHSCORES with BYLEX (checked first), then
 * a bound that is not one. */
static const char *range_error(const struct mzargs *a)
{
	if ((a->flags & ZA_LIMIT) && a->by == ZBY_RANK && a->cnt != -1)
		return ERR_LIMIT_BY;
	if ((a->flags & ZA_WITHSCORES) && a->by == ZBY_LEX)
		return ERR_WITHSCORES_BYLEX;
	if (!(a->flags & ZA_BAD))
		return NULL;
	return a->by == ZBY_RANK ? ERR_NOT_INT : a->by == ZBY_SCORE ? ERR_NOT_SCORE : ERR_NOT_LEX;
}

const char *mz_early_error(const struct mreq *q)
{
	const struct mzargs *a = q->z;
	unsigned f = a->flags;

	switch (q->op) {
	case OP_ZADD:
		if (f & ZA_ODD)
			return ERR_SYNTAX;
		if ((f & ZA_NX) && (f & ZA_XX))
			return ERR_XX_NX;
		if (((f & ZA_GT) && (f & ZA_NX)) || ((f & ZA_LT) && (f & ZA_NX)) ||
		    ((f & ZA_GT) && (f & ZA_LT)))
			return ERR_GT_LT_NX;
		if ((f & ZA_INCR) && q->nmi > 1)
			return ERR_INCR_PAIR;
		return f & ZA_BAD ? ERR_NOT_FLOAT : NULL;
	case OP_ZINCRBY: return f & ZA_BAD ? ERR_NOT_FLOAT : NULL;
	case OP_ZCOUNT:
	case OP_ZLEXCOUNT:
	case OP_ZRANGE:
	case OP_ZRANGESTORE:
	case OP_ZREMRANGEBYRANK:
	case OP_ZREMRANGEBYSCORE:
	case OP_ZREMRANGEBYLEX: return range_error(a);
	case OP_ZPOPMIN:
	case OP_ZPOPMAX: return (f & ZA_COUNT) && a->cnt < 0 ? ERR_NOT_POSITIVE : NULL;
	case OP_ZRANDMEMBER: return f & ZA_BAD ? ERR_NOT_INT : NULL;
	default: return NULL;
	}
}

static bool score_in(const struct mzargs *a, double d)
{
	bool lo = a->flags & ZA_MINEX ? d > a->min : d >= a->min;
	bool hi = a->flags & ZA_MAXEX ? d < a->max : d <= a->max;

	return lo && hi;
}

static bool lex_in(const struct mzargs *a, unsigned m)
{
	bool lo, hi;

	if (a->lmin == ZLEX_MINUS)
		lo = true;
	else if (a->lmin == ZLEX_PLUS)
		lo = false;
	else
		lo = a->flags & ZA_MINEX ? mu_cmp(m, (unsigned)a->lmin) > 0
					 : mu_cmp(m, (unsigned)a->lmin) >= 0;
	if (a->lmax == ZLEX_PLUS)
		hi = true;
	else if (a->lmax == ZLEX_MINUS)
		hi = false;
	else
		hi = a->flags & ZA_MAXEX ? mu_cmp(m, (unsigned)a->lmax) < 0
					 : mu_cmp(m, (unsigned)a->lmax) <= 0;
	return lo && hi;
}

/* Whether every member of s has one score. */
static bool uniform(const struct mstate *s)
{
	unsigned n = mz_len(s);

	return n <= 1 || mz_ents(s)[0].score == mz_ents(s)[n - 1].score;
}

/* LIMIT off cnt over the k selected: none for a negative offset, all the
 * rest for a negative count. */
static unsigned apply_limit(const struct mzargs *a, struct mzent *out, unsigned k)
{
	unsigned long long off = (unsigned long long)a->off, take;

	if (!(a->flags & ZA_LIMIT))
		return k;
	if (a->off < 0 || off >= k)
		return 0;
	take = a->cnt < 0 || (unsigned long long)a->cnt > k - off ? k - off
								  : (unsigned long long)a->cnt;
	memmove(out, out + off, take * sizeof(*out));
	return (unsigned)take;
}

unsigned mz_select(const struct mreq *q, const struct mstate *s, struct mzent *out, bool *unknown)
{
	const struct mzargs *a = q->z;
	const struct mzent *z = mz_ents(s);
	bool rev = (a->flags & ZA_REV) != 0;
	unsigned n = mz_len(s), k = 0, i;
	long long from = a->start, to = a->stop;

	*unknown = a->by == ZBY_LEX && !uniform(s);
	if (a->by == ZBY_RANK) {
		/* Redis's rule (LRANGE's): negative from the end, clipped. */
		if (from < 0)
			from += n;
		if (to < 0)
			to += n;
		if (from < 0)
			from = 0;
		if (to >= (long long)n)
			to = (long long)n - 1;
		for (i = 0; from <= to && (long long)i <= to - from; i++)
			out[k++] = z[rev ? n - 1 - (unsigned)from - i : (unsigned)from + i];
		return k;
	}
	for (i = 0; i < n; i++) {
		const struct mzent *e = &z[rev ? n - 1 - i : i];
		if (a->by == ZBY_SCORE ? score_in(a, e->score) : lex_in(a, e->m))
			out[k++] = *e;
	}
	return apply_limit(a, out, k);
}

/* ---- one key ---- */

/* ZADD (and ZINCRBY, as ZADD INCR), as Redis's zaddGenericCommand and
 * zsetAdd: with XX a missing key stays missing; each pair in turn: a new
 * member is added unless XX, an old one is left alone with NX, else its
 * score (with INCR, the old one plus the increment: NaN is an error) is
 * set unless GT or LT forbids it. The reply counts the added (and with CH
 * the changed), or with INCR is the score set, or null if none was. */
static unsigned apply_zadd(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const struct mzargs *a = q->z;
	unsigned f = a->flags | (q->op == OP_ZINCRBY ? ZA_INCR : 0u), n = mz_len(s), i;
	long long added = 0, changed = 0;
	bool done = false;
	double last = 0;
	struct mzent *e;

	if (!s->present && (f & ZA_XX)) {
		o->exp = f & ZA_INCR ? (struct mexp){ .kind = X_NULL } : x_int(0);
		return 1;
	}
	e = zcopy(o, s, q->nmi);
	for (i = 0; i < q->nmi; i++) {
		double sc = a->scores[i];
		unsigned at;
		for (at = 0; at < n && e[at].m != q->mi[i]; at++)
			;
		if (at == n && !(f & ZA_XX)) {
			e[n++] = (struct mzent){ .score = sc, .m = q->mi[i] };
			added++, done = true, last = sc;
			continue;
		}
		if (at == n || (f & ZA_NX))
			continue;
		if (f & ZA_INCR)
			sc += e[at].score;
		if (isnan(sc)) {
			o->exp = x_err(ERR_NAN);
			return 1; /* o->next is still s */
		}
		if (((f & ZA_LT) && sc >= e[at].score) || ((f & ZA_GT) && sc <= e[at].score))
			continue;
		done = true, last = sc;
		changed += sc != e[at].score;
		e[at].score = sc;
	}
	o->next = mz_state(s, e, n);
	if (!(f & ZA_INCR))
		o->exp = x_int(f & ZA_CH ? added + changed : added);
	else if (!done)
		o->exp = (struct mexp){ .kind = X_NULL };
	else
		o->exp = verdict(mz_score_is(q->reply, last));
	return 1;
}

static unsigned apply_zrem(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = mz_len(s), i, j;
	long long removed = 0;
	struct mzent *e;

	if (n == 0) {
		o->exp = x_int(0);
		return 1;
	}
	e = zcopy(o, s, 0);
	for (i = 0; i < q->nmi; i++) {
		for (j = 0; j < n && e[j].m != q->mi[i]; j++)
			;
		if (j == n)
			continue;
		e[j] = e[--n];
		removed++;
	}
	o->next = mz_state(s, e, n);
	o->exp = x_int(removed);
	return 1;
}

static bool zmscore_ok(const struct mreq *q, const struct mstate *s)
{
	const struct resp_reader_value *v = q->reply;
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != q->nmi)
		return false;
	for (i = 0; i < q->nmi; i++) {
		int at = zfind(s, q->mi[i]);
		if (at < 0 ? v->elems[i].type != RESP_READER_NULL_BULK
			   : !mz_score_is(&v->elems[i], mz_ents(s)[at].score))
			return false;
	}
	return true;
}

static unsigned apply_point(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	int at = q->nmi > 0 ? zfind(s, q->mi[0]) : -1;
	unsigned n = mz_len(s);

	switch (q->op) {
	case OP_ZCARD: o->exp = x_int(n); break;
	case OP_ZSCORE:
		o->exp = at < 0 ? (struct mexp){ .kind = X_NULL }
				: verdict(mz_score_is(q->reply, mz_ents(s)[at].score));
		break;
	case OP_ZMSCORE: o->exp = verdict(zmscore_ok(q, s)); break;
	case OP_ZRANK:
	case OP_ZREVRANK:
		o->exp = at < 0 ? (struct mexp){ .kind = X_NULL }
				: x_int(q->op == OP_ZRANK ? at : (long long)n - 1 - at);
		break;
	default: ASSERT_NOT_REACHED("model: not a sorted set lookup");
	}
	return 1;
}

/* The range commands: ZCOUNT and ZLEXCOUNT count what the range selects,
 * ZRANGE (in every form) lists it, the ZREMRANGEBYs remove it. */
static unsigned apply_range(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = mz_len(s), k, i, j, left = 0;
	struct mzent *sel = sim_calloc(((size_t)n + 1) * sizeof(*sel)), *e;
	bool unknown;

	k = mz_select(q, s, sel, &unknown);
	if (q->op == OP_ZCOUNT || q->op == OP_ZLEXCOUNT) {
		o->exp = unknown ? (struct mexp){ .kind = X_INT, .lo = 0, .hi = n } : x_int(k);
	} else if (q->op == OP_ZRANGE) {
		o->exp = verdict(unknown ? q->reply->type == RESP_READER_ARRAY
					 : mz_reply_is(q->reply, sel, k,
						       (q->z->flags & ZA_WITHSCORES) != 0));
	} else if (unknown) {
		o->exp = (struct mexp){ .kind = X_INT, .lo = 0, .hi = n };
		o->wild = true;
	} else {
		o->exp = x_int(k);
		e = zcopy(o, s, 0);
		for (i = 0; i < n; i++) {
			for (j = 0; j < k && sel[j].m != e[i].m; j++)
				;
			if (j == k)
				e[left++] = e[i];
		}
		o->next = mz_state(s, e, left);
	}
	free(sel);
	return 1;
}

/* ZPOPMIN, ZPOPMAX: up to the count (1 without one) from the lowest or
 * the highest, each with its score; none from a missing key. */
static unsigned apply_pop(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = mz_len(s), k = 1, i;
	bool max = q->op == OP_ZPOPMAX;
	struct mzent *e, *got;

	if (q->z->flags & ZA_COUNT)
		k = q->z->cnt < (long long)n ? (unsigned)q->z->cnt : n;
	if (k > n)
		k = n;
	e = zcopy(o, s, 0);
	got = sim_calloc(((size_t)k + 1) * sizeof(*got));
	for (i = 0; i < k; i++)
		got[i] = e[max ? n - 1 - i : i];
	o->exp = verdict(mz_reply_is(q->reply, got, k, true));
	free(got);
	if (!max)
		memmove(e, e + k, (n - k) * sizeof(*e));
	o->next = mz_state(s, e, n - k);
	return 1;
}

/* ZRANDMEMBER key count [WITHSCORES]: count > 0, that many distinct
 * members (all, if fewer); count < 0, -count members, repeats allowed;
 * each score the member's. */
static bool zrand_ok(const struct mreq *q, const struct mstate *s)
{
	const struct resp_reader_value *v = q->reply;
	unsigned step = q->z->flags & ZA_WITHSCORES ? 2 : 1, n = mz_len(s), got = 0;
	char seen[MODEL_SET_BYTES] = { 0 };
	long long cnt = q->z->cnt, want;
	bool dups = false;
	size_t i;

	if (v->type != RESP_READER_ARRAY || v->n % step != 0)
		return false;
	for (i = 0; i < v->n; i += step) {
		int u = v->elems[i].type == RESP_READER_BULK
				? mu_index(v->elems[i].str, v->elems[i].len)
				: -1;
		int at = u >= 0 ? zfind(s, (unsigned)u) : -1;
		if (at < 0 || (step == 2 && !mz_score_is(&v->elems[i + 1], mz_ents(s)[at].score)))
			return false;
		dups = dups || (((unsigned char)seen[u / 8] >> (u % 8)) & 1u);
		seen[u / 8] = (char)(seen[u / 8] | 1 << (u % 8));
		got++;
	}
	want = n == 0 ? 0 : cnt < 0 ? -cnt : cnt < (long long)n ? cnt : (long long)n;
	return got == want && (cnt < 0 || !dups);
}

static unsigned apply_zrand(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const struct resp_reader_value *v = q->reply;
	int u;

	if (q->z->flags & ZA_COUNT) {
		o->exp = verdict(zrand_ok(q, s));
	} else if (!s->present) {
		o->exp = (struct mexp){ .kind = X_NULL };
	} else {
		u = v->type == RESP_READER_BULK ? mu_index(v->str, v->len) : -1;
		o->exp = verdict(u >= 0 && zfind(s, (unsigned)u) >= 0);
	}
	return 1;
}

unsigned mz_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const char *early = mz_early_error(q);

	o->next = *s;
	if (early != NULL) {
		o->exp = x_err(early);
		return 1;
	}
	if (s->present && s->type != MT_ZSET) {
		o->exp = x_err(MODEL_WRONGTYPE);
		return 1;
	}
	switch (q->op) {
	case OP_ZADD:
	case OP_ZINCRBY: return apply_zadd(q, s, o);
	case OP_ZREM: return apply_zrem(q, s, o);
	case OP_ZCARD:
	case OP_ZSCORE:
	case OP_ZMSCORE:
	case OP_ZRANK:
	case OP_ZREVRANK: return apply_point(q, s, o);
	case OP_ZCOUNT:
	case OP_ZLEXCOUNT:
	case OP_ZRANGE:
	case OP_ZREMRANGEBYRANK:
	case OP_ZREMRANGEBYSCORE:
	case OP_ZREMRANGEBYLEX: return apply_range(q, s, o);
	case OP_ZPOPMIN:
	case OP_ZPOPMAX: return apply_pop(q, s, o);
	case OP_ZRANDMEMBER: return apply_zrand(q, s, o);
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a sorted set op");
	return 0;
}
