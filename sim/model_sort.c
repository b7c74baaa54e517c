/* model_sort.c: SORT and SORT_RO in the reference model, over lists,
 * sets and sorted sets (BY nosort, LIMIT, ASC and DESC, ALPHA, STORE; no
 * BY or GET patterns).
 *
 * Written from Redis's documented behaviour and its sort.c, independent of
 * node/: the key must be a list, a set or a sorted set (or missing: no
 * elements), else WRONGTYPE. Sorting is by number (each element read
 * whole by strtod, as Redis does: leading blanks and a sign are accepted,
 * and one element that is no number is the error "One or more scores
 * can't be converted into double"), ties broken by the elements' bytes,
 * or with ALPHA by bytes (Redis compares up to a NUL without STORE, which
 * tells no two names of the universe apart); DESC reverses. BY nosort
 * keeps a list's or a sorted set's own order (reversed by DESC) and
 * converts nothing; a set has no order of its own, so its reply is
 * checked as any choice of that many members, and with STORE Redis sorts
 * it ALPHA instead so the stored list is the same everywhere. LIMIT off
 * cnt is Redis's: a negative offset is 0, a negative count all the rest.
 * STORE replaces the destination (any type, and its TTL) with a list of
 * the result, or deletes it when the result is empty, and answers the
 * count. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_NOT_DOUBLE "ERR One or more scores can't be converted into double"

/* One element being sorted. */
struct sitem {
	double score;
	unsigned m;
};

/* Whether name i of the universe is a number to SORT (strtod over the
 * whole of it, up to a NUL as a C string ends), and which. */
static bool name_number(unsigned i, double *out)
{
	char buf[MODEL_NAME_MAX + 1], *end;
	size_t n = mu_name(i, buf);

	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return end[0] == '\0' && errno != ERANGE && !isnan(*out);
}

static int by_number(const void *x, const void *y)
{
	const struct sitem *a = x, *b = y;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	return mu_cmp(a->m, b->m);
}

static int by_bytes(const void *x, const void *y)
{
	return mu_cmp(((const struct sitem *)x)->m, ((const struct sitem *)y)->m);
}

static bool sortable(const struct mstate *s)
{
	return !s->present || s->type == MT_LIST || s->type == MT_SET || s->type == MT_ZSET;
}

/* s's elements in its own order (a set's by index), into out (room for
 * MODEL_UNIVERSE, or a list's length); their count. */
static unsigned elements_of(const struct mstate *s, struct sitem *out)
{
	unsigned n = 0, i;

	if (!s->present)
		return 0;
	if (s->type == MT_LIST) {
		const uint16_t *el = (const uint16_t *)(const void *)s->val;
		for (i = 0; i < s->nf; i++)
			out[n++].m = el[i];
	} else if (s->type == MT_SET) {
		for (i = 0; i < MODEL_UNIVERSE; i++)
			if (((unsigned char)s->val[i / 8] >> (i % 8)) & 1u)
				out[n++].m = i;
	} else {
		for (i = 0; i < s->nf; i++)
			out[n++].m = mz_ents(s)[i].m;
	}
	return n;
}

/* Redis's LIMIT over n elements: [*from, *from + count). */
static unsigned limit_of(const struct mzargs *a, unsigned n, unsigned *from)
{
	long long start = 0, end = (long long)n - 1;

	if (a->flags & ZA_LIMIT) {
		start = a->off < 0 ? 0 : a->off;
		end = a->cnt < 0 ? (long long)n - 1 : start + a->cnt - 1;
	}
	if (start >= (long long)n) {
		start = (long long)n - 1;
		end = (long long)n - 2;
	}
	if (end >= (long long)n)
		end = (long long)n - 1;
	*from = start < 0 ? 0 : (unsigned)start;
	return end < start ? 0 : (unsigned)(end - start + 1);
}

/* SORT's result over s into out (room as elements_of's): its count, or
 * -1 for an element that is no number. *unordered: a set not sorted, whose
 * order is its own. */
static int sort_result(const struct mreq *q, const struct mstate *s, bool store, struct sitem *out,
		       bool *unordered)
{
	unsigned f = q->z->flags, n = elements_of(s, out), from, k, i;
	bool nosort = (f & ZA_NOSORT) != 0, alpha = (f & ZA_ALPHA) != 0;

	if (nosort && s->present && s->type == MT_SET && store)
		nosort = false, alpha = true;
	*unordered = nosort && s->present && s->type == MT_SET;
	for (i = 0; !nosort && !alpha && i < n; i++)
		if (!name_number(out[i].m, &out[i].score))
			return -1;
	if (!nosort)
		qsort(out, n, sizeof(*out), alpha ? by_bytes : by_number);
	for (i = 0; (f & ZA_REV) && !*unordered && i < n / 2; i++) {
		struct sitem t = out[i];
		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	k = limit_of(q->z, n, &from);
	memmove(out, out + from, k * sizeof(*out));
	return (int)k;
}

/* Whether v lists the k elements at e in order, or (unordered) any k
 * distinct members of set s. */
static bool reply_is(const struct resp_reader_value *v, const struct sitem *e, unsigned k,
		     bool unordered, const struct mstate *s)
{
	char seen[MODEL_SET_BYTES] = { 0 };
	unsigned i;
	int x;

	if (v->type != RESP_READER_ARRAY || v->n != k)
		return false;
	for (i = 0; i < k; i++) {
		x = v->elems[i].type == RESP_READER_BULK
			    ? mu_index(v->elems[i].str, v->elems[i].len)
			    : -1;
		if (x < 0 || (!unordered && (unsigned)x != e[i].m))
			return false;
		if (unordered && (!(((unsigned char)s->val[x / 8] >> (x % 8)) & 1u) ||
				  (((unsigned char)seen[x / 8] >> (x % 8)) & 1u)))
			return false;
		seen[x / 8] = (char)(seen[x / 8] | 1 << (x % 8));
	}
	return true;
}

/* Room for any key's elements: a list may be longer than the universe. */
static struct sitem *items_for(const struct mstate *s)
{
	size_t n = s->present && s->type == MT_LIST ? s->nf : 0;

	return sim_calloc((n > MODEL_UNIVERSE ? n : MODEL_UNIVERSE) * sizeof(struct sitem));
}

unsigned mo_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	struct sitem *out;
	bool unordered;
	int k;

	o->next = *s;
	if (!sortable(s)) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = MODEL_WRONGTYPE };
		return 1;
	}
	out = items_for(s);
	k = sort_result(q, s, false, out, &unordered);
	if (k < 0)
		o->exp = (struct mexp){ .kind = X_ERR, .text = ERR_NOT_DOUBLE };
	else
		o->exp = (struct mexp){ .kind = X_VERDICT,
					.lo = reply_is(q->reply, out, (unsigned)k, unordered, s) };
	free(out);
	return 1;
}

/* SORT source ... STORE destination (q's keys: the destination, then the
 * source). */
void mo_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	const struct mstate *s = mc_state(cb, 1);
	const char *err = NULL;
	struct sitem *out;
	uint16_t *el;
	bool unordered;
	int k, i;

	(void)m;
	if (!sortable(s))
		err = MODEL_WRONGTYPE;
	out = items_for(s);
	k = err == NULL ? sort_result(q, s, true, out, &unordered) : -1;
	if (err == NULL && k < 0)
		err = ERR_NOT_DOUBLE;
	if (err != NULL) {
		o->error = true;
		o->legal = v->type == RESP_READER_ERROR && v->len == strlen(err) &&
			   memcmp(v->str, err, v->len) == 0;
		free(out);
		return;
	}
	o->legal = mm_int_is(v, k);
	el = (uint16_t *)(void *)mc_alloc(o, ((size_t)k + 1) * sizeof(*el));
	for (i = 0; i < k; i++)
		el[i] = (uint16_t)out[i].m;
	if (k > 0)
		o->dest = (struct mstate){ .present = true,
					   .type = MT_LIST,
					   .val = (char *)el,
					   .len = 2 * (size_t)k,
					   .nf = (unsigned)k,
					   .exp_lo = MODEL_NO_TTL,
					   .exp_hi = MODEL_NO_TTL };
	free(out);
}

/* ---- encoding ---- */

void mo_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	const struct mzargs *a = q->z;
	bool store = q->op == OP_SORT_STORE;

	enc_str(e, a->flags & ZA_RO ? "SORT_RO" : "SORT");
	enc_key(e, m, q->keys[store ? 1 : 0]);
	if (a->flags & ZA_NOSORT) {
		enc_str(e, "BY");
		enc_str(e, "nosort");
	}
	if (a->flags & ZA_LIMIT) {
		enc_str(e, "LIMIT");
		enc_num(e, a->off);
		enc_num(e, a->cnt);
	}
	if (a->flags & ZA_REV)
		enc_str(e, "DESC");
	if (a->flags & ZA_ALPHA)
		enc_str(e, "ALPHA");
	if (store) {
		enc_str(e, "STORE");
		enc_key(e, m, q->keys[0]);
	}
}

/* ---- the workload ---- */

/* A list's, a set's or a sorted set's key, with options drawn one by
 * one; STORE now and then, into a list key (or the source itself). */
void mo_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	static const enum kpref kinds[] = { K_LIST, K_SET, K_ZSET };
	struct mzargs *a = sim_calloc(sizeof(*a));
	unsigned src;

	q->z = a;
	q->op = rng_chance(r, 0.3) ? OP_SORT_STORE : OP_SORT;
	src = ops_key(m, c, r, q, 0, kinds[rng_below(r, 3)]);
	if (rng_chance(r, 0.25))
		a->flags |= ZA_NOSORT;
	if (rng_chance(r, 0.3)) {
		a->flags |= ZA_LIMIT;
		a->off = rng_chance(r, 0.05) ? -1 : (long long)rng_range(r, 0, 5);
		a->cnt = rng_chance(r, 0.2) ? -1 : (long long)rng_range(r, 0, 6);
	}
	if (rng_chance(r, 0.4))
		a->flags |= ZA_REV;
	if (rng_chance(r, 0.5))
		a->flags |= ZA_ALPHA;
	q->keys[0] = src;
	q->nkeys = 1;
	if (q->op == OP_SORT) {
		if (rng_chance(r, 0.3))
			a->flags |= ZA_RO;
		return;
	}
	q->keys[1] = src;
	q->keys[0] = rng_chance(r, 0.2) ? src : ops_key(m, c, r, q, 1, K_LIST);
	q->nkeys = 2;
}
