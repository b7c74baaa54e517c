/* model_list.c: lists in the reference model.
 *
 * What each list command does to the possible states of its keys and what
 * it answers, written from Redis's documented behaviour (and the error
 * texts of its t_list.c), independent of node/: a list is a sequence of
 * elements, head first; a command on a key of another type answers
 * WRONGTYPE and changes nothing (but an argument Redis parses before it
 * looks the key up is refused first); a push to a missing key creates the
 * list (without a TTL), a change to a list keeps its TTL, and the list
 * whose last element goes is deleted. The model knows nothing of
 * encodings: the node's listpack and quicklist (of listpack nodes, the
 * inner ones LZF-compressed) must answer alike, and the workload draws
 * what moves a list from one to the other (long elements, pushes of
 * hundreds) against the run's drawn list-max-listpack-size and
 * list-compress-depth.
 *
 * Elements are names of the universe (model_univ.c), so a list's state is
 * an array of their indexes. LMOVE, RPOPLPUSH and LMPOP say here what one
 * combination of their keys' states gives (ml_outcome); model_multi.c
 * tries every combination. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_NO_SUCH_KEY "ERR no such key"
#define ERR_INDEX "ERR index out of range"
#define ERR_NOT_POSITIVE "ERR value is out of range, must be positive"
#define ERR_RANK_ZERO                                                                              \
	"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or "   \
	"use negative to start from the end of the list"
#define ERR_COUNT_ZERO "ERR count should be greater than 0"

/* A list the workload finds this long in some state of its key is mostly
 * trimmed or popped from rather than pushed to, so that lists stay short
 * enough to follow cheaply (pushes of hundreds still make them long). */
#define LIST_LONG 300

bool ml_op(enum mop op)
{
	return op >= OP_LPUSH && op <= OP_LPOS;
}

/* ---- states and replies ---- */

static unsigned llen(const struct mstate *s)
{
	return s->present && s->type == MT_LIST ? s->nf : 0;
}

static const uint16_t *elems(const struct mstate *s)
{
	return llen(s) > 0 ? (const uint16_t *)(const void *)s->val : NULL;
}

/* The list of the n elements in a (a buffer the caller owns), with old's
 * TTL if old is a list (a new list has none); absent if n is 0. */
static struct mstate list_state(const struct mstate *old, uint16_t *a, unsigned n)
{
	struct mstate s = old->present ? *old : ops_absent();

	if (n == 0)
		return ops_absent();
	s.present = true;
	s.type = MT_LIST;
	s.val = (char *)a;
	s.len = 2 * (size_t)n;
	s.nf = n;
	return s;
}

/* A copy of s's elements with room for `more`, owned by outcome o. */
static uint16_t *list_copy(struct mout *o, const struct mstate *s, unsigned more)
{
	uint16_t *a = sim_calloc(((size_t)llen(s) + more + 1) * sizeof(*a));

	if (llen(s) > 0)
		memcpy(a, elems(s), llen(s) * sizeof(*a));
	o->owned = (char *)a;
	return a;
}

static bool bulk_is(const struct resp_reader_value *v, unsigned el)
{
	return v->type == RESP_READER_BULK && mu_index(v->str, v->len) == (int)el;
}

/* Whether v is an array of the n elements of a, in order (or reversed). */
static bool array_is(const struct resp_reader_value *v, const uint16_t *a, unsigned n, bool reverse)
{
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (!bulk_is(&v->elems[i], a[reverse ? n - 1 - i : i]))
			return false;
	return true;
}

/* Redis's range rule (LRANGE, LTRIM): start..end, inclusive, negative
 * from the end, clipped to n; false if nothing is in it. */
static bool range_of(long long start, long long end, unsigned n, unsigned *from, unsigned *cnt)
{
	long long len = n;

	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (start > end || start >= len)
		return false;
	if (end >= len)
		end = len - 1;
	*from = (unsigned)start;
	*cnt = (unsigned)(end - start + 1);
	return true;
}

/* ---- one key ---- */

static unsigned apply_push(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	bool head = q->op == OP_LPUSH || q->op == OP_LPUSHX;
	unsigned n = llen(s), i;
	uint16_t *a;

	if ((q->op == OP_LPUSHX || q->op == OP_RPUSHX) && !s->present) {
		o->exp = x_int(0);
		return 1;
	}
	a = list_copy(o, s, q->nmi);
	for (i = 0; i < q->nmi; i++) {
		if (head) {
			memmove(a + 1, a, n * sizeof(*a));
			a[0] = (uint16_t)q->mi[i];
		} else {
			a[n] = (uint16_t)q->mi[i];
		}
		n++;
	}
	o->next = list_state(s, a, n);
	o->exp = x_int(n);
	return 1;
}

/* LPOP, RPOP: one element as a bulk, or with a count as many as there
 * are (up to it) as an array in the order popped; a missing key is a
 * null (a null array, with a count). */
static unsigned apply_pop(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	bool tail = q->op == OP_RPOP, counted = (q->flags & SF_COUNT) != 0;
	unsigned n = llen(s), k;
	const struct resp_reader_value *v = q->reply;
	uint16_t *a;

	if (!s->present) {
		o->exp = counted ? verdict(v->type == RESP_READER_NULL_ARRAY)
				 : (struct mexp){ .kind = X_NULL };
		return 1;
	}
	k = !counted ? 1 : q->num < (long long)n ? (unsigned)q->num : n;
	if (counted)
		o->exp = verdict(array_is(v, elems(s) + (tail ? n - k : 0), k, tail));
	else
		o->exp = verdict(bulk_is(v, elems(s)[tail ? n - 1 : 0]));
	if (k == 0)
		return 1;
	a = list_copy(o, s, 0);
	if (!tail)
		memmove(a, a + k, (n - k) * sizeof(*a));
	o->next = list_state(s, a, n - k);
	return 1;
}

static unsigned apply_read(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = llen(s), from = 0, cnt = 0;
	long long i = q->num;

	if (q->op == OP_LLEN) {
		o->exp = x_int(n);
	} else if (q->op == OP_LRANGE) {
		if (!range_of(q->num, q->num2, n, &from, &cnt))
			cnt = 0;
		o->exp = verdict(array_is(q->reply, cnt > 0 ? elems(s) + from : NULL, cnt, false));
	} else { /* LINDEX */
		if (i < 0)
			i += n;
		o->exp = i < 0 || i >= (long long)n ? (struct mexp){ .kind = X_NULL }
						    : verdict(bulk_is(q->reply, elems(s)[i]));
	}
	return 1;
}

static unsigned apply_lset(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	long long i = q->num, n = llen(s);
	uint16_t *a;

	if (!s->present) {
		o->exp = x_err(ERR_NO_SUCH_KEY);
		return 1;
	}
	if (i < 0)
		i += n;
	if (i < 0 || i >= n) {
		o->exp = x_err(ERR_INDEX);
		return 1;
	}
	a = list_copy(o, s, 0);
	a[i] = (uint16_t)q->mi[0];
	o->next = list_state(s, a, (unsigned)n);
	o->exp = (struct mexp){ .kind = X_STATUS, .text = "OK" };
	return 1;
}

/* LINSERT key BEFORE|AFTER pivot element: at the first pivot from the
 * head; -1 if there is none, 0 if the key is missing. */
static unsigned apply_linsert(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = llen(s), i, at;
	uint16_t *a;

	if (!s->present) {
		o->exp = x_int(0);
		return 1;
	}
	for (i = 0; i < n && elems(s)[i] != q->mi[0]; i++)
		;
	if (i == n) {
		o->exp = x_int(-1);
		return 1;
	}
	at = i + ((q->flags & LF_TAIL) != 0);
	a = list_copy(o, s, 1);
	memmove(a + at + 1, a + at, (n - at) * sizeof(*a));
	a[at] = (uint16_t)q->mi[1];
	o->next = list_state(s, a, n + 1);
	o->exp = x_int(n + 1);
	return 1;
}

/* LREM key count element: count > 0 removes that many from the head, < 0
 * from the tail, 0 all of them. */
static unsigned apply_lrem(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned n = llen(s), kept = 0, removed = 0, i;
	unsigned long long most = q->num < 0 ? -(unsigned long long)q->num
					     : (unsigned long long)q->num;
	bool back = q->num < 0;
	uint16_t *a;

	if (!s->present) {
		o->exp = x_int(0);
		return 1;
	}
	a = list_copy(o, s, 0);
	for (i = 0; i < n; i++) {
		unsigned at = back ? n - 1 - i : i;
		uint16_t e = elems(s)[at];
		if (e == q->mi[0] && (most == 0 || removed < most)) {
			removed++;
			continue;
		}
		a[back ? n - 1 - kept : kept] = e;
		kept++;
	}
	if (back)
		memmove(a, a + (n - kept), kept * sizeof(*a));
	o->next = list_state(s, a, kept);
	o->exp = x_int(removed);
	return 1;
}

static unsigned apply_ltrim(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	unsigned from = 0, cnt = 0;
	uint16_t *a;

	o->exp = (struct mexp){ .kind = X_STATUS, .text = "OK" };
	if (!s->present)
		return 1;
	if (!range_of(q->num, q->num2, llen(s), &from, &cnt))
		cnt = 0;
	a = list_copy(o, s, 0);
	memmove(a, a + from, cnt * sizeof(*a));
	o->next = list_state(s, a, cnt);
	return 1;
}

/* LPOS key element [RANK r] [COUNT c] [MAXLEN m], as Redis's lposCommand:
 * the matches from the head (or, for a negative rank, the tail), the
 * first |r| - 1 skipped, within the first m elements scanned (0: all); c
 * of them (0: all) as an array of indexes from the head, or without COUNT
 * the first, or null. */
static unsigned apply_lpos(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	long long rank = (q->flags & LF_RANK) ? q->num : 1, count = q->num2, maxlen = q->num3;
	bool counted = (q->flags & SF_COUNT) != 0, fwd = rank > 0;
	const struct resp_reader_value *v = q->reply;
	unsigned n = llen(s), i, got = 0;
	long long skip = (fwd ? rank : -rank) - 1, seen = 0;

	if (!(q->flags & LF_MAXLEN))
		maxlen = 0;
	if (counted && v->type != RESP_READER_ARRAY) {
		o->exp = verdict(false);
		return 1;
	}
	for (i = 0; i < n && (maxlen == 0 || (long long)i < maxlen); i++) {
		unsigned at = fwd ? i : n - 1 - i;
		if (elems(s)[at] != q->mi[0] || seen++ < skip)
			continue;
		if (!counted) {
			o->exp = x_int(at);
			return 1;
		}
		if (got >= v->n || !mm_int_is(&v->elems[got], at)) {
			o->exp = verdict(false);
			return 1;
		}
		if (++got == count)
			break;
	}
	o->exp = counted ? verdict(got == v->n) : (struct mexp){ .kind = X_NULL };
	return 1;
}

/* The errors of arguments Redis parses before it looks the key up. */
static const char *early_error(const struct mreq *q)
{
	if ((q->op == OP_LPOP || q->op == OP_RPOP) && (q->flags & SF_COUNT) && q->num < 0)
		return ERR_NOT_POSITIVE;
	if (q->op == OP_LPOS && (q->flags & LF_RANK) && q->num == 0)
		return ERR_RANK_ZERO;
	return NULL;
}

unsigned ml_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const char *early = early_error(q);

	o->next = *s;
	if (early != NULL) {
		o->exp = x_err(early);
		return 1;
	}
	if (s->present && s->type != MT_LIST) {
		o->exp = x_err(MODEL_WRONGTYPE);
		return 1;
	}
	switch (q->op) {
	case OP_LPUSH:
	case OP_RPUSH:
	case OP_LPUSHX:
	case OP_RPUSHX: return apply_push(q, s, o);
	case OP_LPOP:
	case OP_RPOP: return apply_pop(q, s, o);
	case OP_LLEN:
	case OP_LRANGE:
	case OP_LINDEX: return apply_read(q, s, o);
	case OP_LSET: return apply_lset(q, s, o);
	case OP_LINSERT: return apply_linsert(q, s, o);
	case OP_LREM: return apply_lrem(q, s, o);
	case OP_LTRIM: return apply_ltrim(q, s, o);
	case OP_LPOS: return apply_lpos(q, s, o);
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a list op");
	return 0;
}

/* ---- several keys ---- */

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT (RPOPLPUSH: RIGHT LEFT),
 * as Redis's lmoveGenericCommand: a missing source answers null whatever
 * the destination holds; a source, then a destination, of another type is
 * WRONGTYPE; else the element popped from the source is pushed on the
 * destination (made if missing; the source itself if they are one key,
 * which rotates it), the source going if it empties. */
static void lmove_outcome(const struct mreq *q, const struct mcombo *cb,
			  const struct resp_reader_value *v, struct mc_out *o)
{
	const struct mstate *s = mc_state(cb, 0), *d = mc_state(cb, 1);
	bool from_tail = q->op == OP_RPOPLPUSH || (q->flags & LF_TAIL);
	bool to_tail = q->op == OP_LMOVE && (q->flags & LF_TO_TAIL);
	unsigned n = llen(s), m;
	uint16_t e, *a, *b;

	if (!s->present) {
		o->legal = v->type == RESP_READER_NULL_BULK;
		return;
	}
	if (s->type != MT_LIST || (d->present && d->type != MT_LIST)) {
		o->error = true;
		o->legal = mm_wrongtype(v);
		return;
	}
	e = elems(s)[from_tail ? n - 1 : 0];
	o->legal = bulk_is(v, e);
	a = (uint16_t *)(void *)mc_alloc(o, (n + 1) * sizeof(*a));
	memcpy(a, elems(s) + (from_tail ? 0 : 1), (n - 1) * sizeof(*a));
	o->next[0] = list_state(s, a, n - 1);
	o->wrote[0] = o->wrote[1] = true;
	if (mc_same(cb, 0, 1)) {
		/* One list, emptied for a moment if it had one element: it
		 * stays, with its TTL. */
		b = a;
		m = n - 1;
		d = s;
	} else {
		m = llen(d);
		b = (uint16_t *)(void *)mc_alloc(o, (m + 1) * sizeof(*b));
		if (m > 0)
			memcpy(b, elems(d), m * sizeof(*b));
	}
	if (!to_tail)
		memmove(b + 1, b, m * sizeof(*b));
	b[to_tail ? m : 0] = e;
	o->next[1] = list_state(d, b, m + 1);
	if (mc_same(cb, 0, 1))
		o->next[0] = o->next[1];
}

/* LMPOP numkeys key... LEFT|RIGHT [COUNT c]: the first key, in order, that
 * holds a list gives up to c elements (1 without COUNT), and the reply is
 * its name and them; a key of another type met before it is WRONGTYPE;
 * none is a null array. */
static void lmpop_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
			  const struct resp_reader_value *v, struct mc_out *o)
{
	bool tail = (q->flags & LF_TAIL) != 0;
	unsigned i, n, k;
	uint16_t *a;

	if ((q->flags & SF_COUNT) && q->num <= 0) {
		o->error = true;
		o->legal = v->type == RESP_READER_ERROR && v->len == strlen(ERR_COUNT_ZERO) &&
			   memcmp(v->str, ERR_COUNT_ZERO, v->len) == 0;
		return;
	}
	for (i = 0; i < q->nkeys; i++) {
		const struct mstate *s = mc_state(cb, i);
		const struct mkey *key = &m->keys[q->keys[i]];
		if (s->present && s->type != MT_LIST) {
			o->error = true;
			o->legal = mm_wrongtype(v);
			return;
		}
		if (!s->present)
			continue;
		n = llen(s);
		k = !(q->flags & SF_COUNT) ? 1 : q->num < (long long)n ? (unsigned)q->num : n;
		o->legal = v->type == RESP_READER_ARRAY && v->n == 2 &&
			   v->elems[0].type == RESP_READER_BULK && v->elems[0].len == key->nlen &&
			   memcmp(v->elems[0].str, key->name, key->nlen) == 0 &&
			   array_is(&v->elems[1], elems(s) + (tail ? n - k : 0), k, tail);
		a = (uint16_t *)(void *)mc_alloc(o, n * sizeof(*a));
		memcpy(a, elems(s) + (tail ? 0 : k), (n - k) * sizeof(*a));
		o->next[i] = list_state(s, a, n - k);
		o->wrote[i] = true;
		return;
	}
	o->legal = v->type == RESP_READER_NULL_ARRAY;
}

void ml_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	if (q->op == OP_LMPOP)
		lmpop_outcome(m, q, cb, v, o);
	else
		lmove_outcome(q, cb, v, o);
}

/* ---- encoding ---- */

static const char *side(bool tail)
{
	return tail ? "RIGHT" : "LEFT";
}

static void enc_multi(struct enc *e, const struct model *m, const struct mreq *q)
{
	unsigned i;

	enc_str(e, ops_name(q->op));
	if (q->op == OP_LMPOP)
		enc_num(e, q->nkeys);
	for (i = 0; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	if (q->op == OP_LMOVE) {
		enc_str(e, side(q->flags & LF_TAIL));
		enc_str(e, side(q->flags & LF_TO_TAIL));
	} else if (q->op == OP_LMPOP) {
		enc_str(e, side(q->flags & LF_TAIL));
		if (q->flags & SF_COUNT) {
			enc_str(e, "COUNT");
			enc_num(e, q->num);
		}
	}
}

static void enc_lpos(struct enc *e, const struct mreq *q)
{
	enc_members(e, q);
	if (q->flags & LF_RANK) {
		enc_str(e, "RANK");
		enc_num(e, q->num);
	}
	if (q->flags & SF_COUNT) {
		enc_str(e, "COUNT");
		enc_num(e, q->num2);
	}
	if (q->flags & LF_MAXLEN) {
		enc_str(e, "MAXLEN");
		enc_num(e, q->num3);
	}
}

void ml_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	if (mm_op(q->op)) {
		enc_multi(e, m, q);
		return;
	}
	enc_str(e, ops_name(q->op));
	enc_key(e, m, q->keys[0]);
	switch (q->op) {
	case OP_LPOP:
	case OP_RPOP:
		if (q->flags & SF_COUNT)
			enc_num(e, q->num);
		return;
	case OP_LRANGE:
	case OP_LTRIM:
		enc_num(e, q->num);
		enc_num(e, q->num2);
		return;
	case OP_LINDEX: enc_num(e, q->num); return;
	case OP_LSET:
	case OP_LREM: enc_num(e, q->num); break;
	case OP_LINSERT: enc_str(e, q->flags & LF_TAIL ? "AFTER" : "BEFORE"); break;
	case OP_LPOS: enc_lpos(e, q); return;
	default: break; /* the pushes, LLEN */
	}
	enc_members(e, q);
}

/* ---- the workload ---- */

/* The share of pushes that push hundreds of elements at once (so that
 * lists pass every drawn limit, and some are big enough to be freed in the
 * background), and how many. */
#define BIG_PUSH_SHARE 0.03
#define BIG_PUSH_MIN 40
#define BIG_PUSH_MAX 250

static void gen_elements(struct rng *r, struct mreq *q, unsigned n)
{
	unsigned i;

	q->mi = sim_calloc(n * sizeof(*q->mi));
	q->nmi = n;
	for (i = 0; i < n; i++)
		q->mi[i] = mu_element(r);
}

/* An index or a range's end: mostly near the ends of a short list, now
 * and then far past any list's. */
static long long gen_index(struct rng *r)
{
	if (rng_chance(r, 0.05))
		return ((long long)rng_range(r, 0, 2000) - 1000);
	return (long long)rng_range(r, 0, 30) - 15;
}

/* The longest the list at key k may be now, in the states the model
 * keeps (0 for an unknown key: it has none to go by). */
static unsigned longest(const struct model *m, unsigned k)
{
	const struct mkey *key = &m->keys[k];
	unsigned i, most = 0;

	for (i = 0; i < key->n; i++)
		if (llen(&key->s[i]) > most)
			most = llen(&key->s[i]);
	return most;
}

static void gen_lpos(struct rng *r, struct mreq *q)
{
	gen_elements(r, q, 1);
	if (rng_chance(r, 0.5)) {
		q->flags |= LF_RANK;
		q->num = rng_chance(r, 0.02) ? 0 : (long long)rng_range(r, 1, 3);
		if (rng_chance(r, 0.4))
			q->num = -q->num;
	}
	if (rng_chance(r, 0.6)) {
		q->flags |= SF_COUNT;
		q->num2 = (long long)rng_range(r, 0, 4);
	}
	if (rng_chance(r, 0.3)) {
		q->flags |= LF_MAXLEN;
		q->num3 = (long long)rng_range(r, 0, 10);
	}
}

/* The arguments of a command on one list key. */
static void gen_single(struct rng *r, struct mreq *q)
{
	switch (q->op) {
	case OP_LPUSH:
	case OP_RPUSH:
	case OP_LPUSHX:
	case OP_RPUSHX:
		gen_elements(r, q,
			     rng_chance(r, BIG_PUSH_SHARE)
				     ? (unsigned)rng_range(r, BIG_PUSH_MIN, BIG_PUSH_MAX)
				     : (unsigned)rng_range(r, 1, 6));
		break;
	case OP_LPOP:
	case OP_RPOP:
		if (rng_chance(r, 0.5)) {
			q->flags |= SF_COUNT;
			q->num = rng_chance(r, 0.02) ? -1 : (long long)rng_range(r, 0, 5);
		}
		break;
	case OP_LRANGE:
	case OP_LTRIM:
		q->num = gen_index(r);
		q->num2 = rng_chance(r, 0.3) ? -1 : gen_index(r);
		break;
	case OP_LINDEX: q->num = gen_index(r); break;
	case OP_LSET:
		q->num = gen_index(r);
		gen_elements(r, q, 1);
		break;
	case OP_LINSERT:
		if (rng_chance(r, 0.5))
			q->flags |= LF_TAIL;
		gen_elements(r, q, 2);
		break;
	case OP_LREM:
		q->num = (long long)rng_range(r, 0, 6) - 3;
		gen_elements(r, q, 1);
		break;
	case OP_LPOS: gen_lpos(r, q); break;
	default: break; /* LLEN, DEL */
	}
}

/* LMOVE, RPOPLPUSH: two keys (now and then one twice); LMPOP: one to
 * four, a count now and then (rarely 0, an error). */
static void gen_multi(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned n = q->op == OP_LMPOP
			     ? (unsigned)rng_range(r, 1, m->keys_per < 4 ? m->keys_per : 4)
			     : 2,
		 i;

	for (i = 0; i < n; i++)
		q->keys[i] = ops_key(m, c, r, q, i, K_LIST);
	q->nkeys = n;
	if (q->op != OP_LMPOP && rng_chance(r, 0.1))
		q->keys[1] = q->keys[0];
	if (rng_chance(r, 0.5))
		q->flags |= LF_TAIL;
	if (rng_chance(r, 0.5))
		q->flags |= LF_TO_TAIL;
	if (q->op == OP_LMPOP && rng_chance(r, 0.5)) {
		q->flags |= SF_COUNT;
		q->num = rng_chance(r, 0.02) ? 0 : (long long)rng_range(r, 1, 6);
	}
}

/* Pushes a little more often than anything takes elements away. */
static const enum mop list_ops[] = {
	OP_LPUSH, OP_LPUSH,     OP_LPUSH, OP_RPUSH, OP_RPUSH, OP_RPUSH,  OP_LPUSHX, OP_RPUSHX,
	OP_LPOP,  OP_LPOP,      OP_RPOP,  OP_RPOP,  OP_LLEN,  OP_LRANGE, OP_LRANGE, OP_LINDEX,
	OP_LSET,  OP_LINSERT,   OP_LREM,  OP_LREM,  OP_LTRIM, OP_LPOS,   OP_LPOS,   OP_LMOVE,
	OP_LMOVE, OP_RPOPLPUSH, OP_LMPOP, OP_LMPOP, OP_DEL,
};

void ml_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	q->op = list_ops[rng_below(r, sizeof(list_ops) / sizeof(list_ops[0]))];
	if (mm_op(q->op)) {
		gen_multi(m, c, r, q);
		return;
	}
	q->keys[0] = ops_key(m, c, r, q, 0, K_LIST);
	q->nkeys = 1;
	if (longest(m, q->keys[0]) > LIST_LONG && rng_chance(r, 0.6)) {
		/* Cut a long list down to a few elements, or pop many. */
		q->op = rng_chance(r, 0.5) ? OP_LTRIM : OP_LPOP;
		if (q->op == OP_LPOP) {
			q->flags |= SF_COUNT;
			q->num = (long long)rng_range(r, 100, 400);
		} else {
			q->num = (long long)rng_range(r, 0, 10);
			q->num2 = q->num + (long long)rng_range(r, 0, 40);
		}
		return;
	}
	if (q->op == OP_DEL && rng_chance(r, 0.5))
		q->flags |= DELF_UNLINK;
	gen_single(r, q);
}
