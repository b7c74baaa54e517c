/* model_hll.c: HyperLogLog in the reference model (PFADD, PFCOUNT,
 * PFMERGE) on the string keys.
 *
 * The model does not compute the sketch (that would be a second
 * implementation of Redis's hll.c, not a model of it); it keeps what a
 * HyperLogLog was built from, the set of elements added (names of the
 * universe, as a set's bitmap), and checks what is certain: PFADD creating
 * a key answers 1; PFADD of only elements the key had answers 0 (the
 * registers cannot change), of a new one 0 or 1 (it may fall in a register
 * that is already higher); PFCOUNT of keys built only by PFADD and PFMERGE
 * is within 8, or 4% past 200, of the number of distinct elements added;
 * PFMERGE leaves the union in its destination (created if missing, the
 * destination's own elements included, its TTL kept). A string that is no
 * HyperLogLog is refused with Redis's own WRONGTYPE text, another type
 * with the usual one, key by key in order. What the string commands do to a HyperLogLog is model_ops.c's
 * and model_bit.c's: its bytes are the node's, so they are read as some
 * bulk, and a change to them leaves the key unknown.
 *
 * PFCOUNT's bound: 16384 registers err by 0.81% typically, and less for a
 * few hundred elements, but two elements in one register count once, and
 * a few such collisions make a small count low. Measured on redis-server
 * 7.0.15 over the universe's names (1500 random sets of each size), the
 * worst errors were -3 at 100 elements, -4 at 130 (3.1%), -5 from 170 to
 * 300, -9 at 500, -12 at 1100: a bound of 3%, or 2 below 100 elements,
 * fails a correct node's count about once in a thousand sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."

/* PFCOUNT's tolerance: within HLL_SLACK, or HLL_PERCENT percent of the
 * count where that is more. */
#define HLL_SLACK 8
#define HLL_PERCENT 4

/* The share of PFADDs that add hundreds of elements (so that sketches
 * turn dense past the drawn hll-sparse-max-bytes), and how many. */
#define BIG_PFADD_SHARE 0.05
#define BIG_PFADD_MIN 100
#define BIG_PFADD_MAX 600

bool mp_op(enum mop op)
{
	return op == OP_PFADD || op == OP_PFCOUNT;
}

/* The error Redis gives for key state s, or NULL if it is a HyperLogLog
 * or missing. */
static const char *refusal(const struct mstate *s)
{
	if (!s->present || s->type == MT_HLL)
		return NULL;
	return s->type == MT_STRING ? ERR_NOT_HLL : MODEL_WRONGTYPE;
}

static const char *elements(const struct mstate *s)
{
	return s->present && s->type == MT_HLL ? s->val : NULL;
}

static unsigned bits_count(const char *b)
{
	unsigned n = 0, i;

	for (i = 0; i < MODEL_SET_BYTES; i++)
		n += (unsigned)__builtin_popcount((unsigned char)b[i]);
	return n;
}

/* What PFCOUNT may answer for n distinct elements. */
static struct mexp estimate(unsigned n)
{
	long long slack = ((long long)n * HLL_PERCENT + 99) / 100, lo;

	if (slack < HLL_SLACK)
		slack = HLL_SLACK;
	lo = (long long)n - slack;
	return (struct mexp){ .kind = X_INT, .lo = lo < 0 ? 0 : lo, .hi = (long long)n + slack };
}

/* The HyperLogLog of the elements in b (which the caller owns), with
 * old's TTL if old is one. */
static struct mstate hll_state(const struct mstate *old, char *b)
{
	struct mstate s = old->present ? *old : ops_absent();

	s.present = true;
	s.type = MT_HLL;
	s.val = b;
	s.len = MODEL_SET_BYTES;
	s.nf = bits_count(b);
	return s;
}

static unsigned apply_pfadd(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	char *b = sim_calloc(MODEL_SET_BYTES);
	bool fresh = false;
	unsigned i;

	if (elements(s) != NULL)
		memcpy(b, elements(s), MODEL_SET_BYTES);
	for (i = 0; i < q->nmi; i++) {
		unsigned x = q->mi[i];
		fresh = fresh || !(((unsigned char)b[x / 8] >> (x % 8)) & 1u);
		b[x / 8] = (char)(b[x / 8] | 1 << (x % 8));
	}
	o->owned = b;
	o->next = hll_state(s, b);
	if (!s->present)
		o->exp = (struct mexp){ .kind = X_INT, .lo = 1, .hi = 1 };
	else
		o->exp = (struct mexp){ .kind = X_INT, .lo = 0, .hi = fresh };
	return 1;
}

unsigned mp_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const char *no = refusal(s);

	o->next = *s;
	if (no != NULL) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = no };
		return 1;
	}
	if (q->op == OP_PFADD)
		return apply_pfadd(q, s, o);
	o->exp = estimate(s->present ? s->nf : 0);
	return 1;
}

/* PFCOUNT of several keys (the union's estimate) and PFMERGE (the union
 * into the destination, which is read too): each key is checked in
 * order, a missing one counting as empty. */
void mp_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	char *b = mc_alloc(o, MODEL_SET_BYTES);
	struct mexp x;
	unsigned i, j;

	(void)m;
	for (i = 0; i < q->nkeys; i++) {
		const struct mstate *s = mc_state(cb, i);
		const char *no = refusal(s);
		if (no != NULL) {
			o->error = true;
			o->legal = v->type == RESP_READER_ERROR && v->len == strlen(no) &&
				   memcmp(v->str, no, v->len) == 0;
			return;
		}
		for (j = 0; elements(s) != NULL && j < MODEL_SET_BYTES; j++)
			b[j] = (char)(b[j] | elements(s)[j]);
	}
	if (q->op == OP_PFMERGE) {
		o->legal = v->type == RESP_READER_SIMPLE && v->len == 2 &&
			   memcmp(v->str, "OK", 2) == 0;
		o->next[0] = hll_state(mc_state(cb, 0), b);
		o->wrote[0] = true;
		return;
	}
	x = estimate(bits_count(b));
	o->legal = v->type == RESP_READER_INT && v->integer >= x.lo && v->integer <= x.hi;
}

/* ---- encoding ---- */

void mp_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	unsigned i;

	enc_str(e, q->op == OP_PFADD ? "PFADD" : q->op == OP_PFMERGE ? "PFMERGE" : "PFCOUNT");
	for (i = 0; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	enc_members(e, q);
}

/* ---- the workload ---- */

static void gen_elements(struct rng *r, struct mreq *q)
{
	unsigned n = (unsigned)rng_range(r, 0, 5), i;
	bool big = rng_chance(r, BIG_PFADD_SHARE);

	if (big)
		n = (unsigned)rng_range(r, BIG_PFADD_MIN, BIG_PFADD_MAX);
	q->mi = sim_calloc(((size_t)n + 1) * sizeof(*q->mi));
	q->nmi = n;
	for (i = 0; i < n; i++)
		q->mi[i] = big ? (rng_chance(r, 0.5) ? U_IPOOL : U_SPOOL) +
					   (unsigned)rng_below(r, MU_N_POOL)
			       : mu_member(r, false);
}

/* Whether key k may be missing or a HyperLogLog now. */
static bool hll_like(const struct model *m, unsigned k)
{
	const struct mkey *key = &m->keys[k];
	unsigned i;

	for (i = 0; i < key->n && !key->wild; i++)
		if (!key->s[i].present || key->s[i].type == MT_HLL)
			return true;
	return false;
}

/* A string key for a sketch: the string commands keep most of them plain
 * strings, so a few draws look for one that may be missing or a sketch
 * already (the last draw stays, whatever it holds). */
static unsigned hll_key(struct model *m, unsigned c, struct rng *r, const struct mreq *q,
			unsigned avoid)
{
	unsigned k = 0, tries;

	for (tries = 0; tries < 4; tries++) {
		k = ops_key(m, c, r, q, avoid, K_STRING);
		if (hll_like(m, k))
			break;
	}
	return k;
}

/* On the string keys: PFADD most, PFCOUNT of one key or several,
 * PFMERGE of a destination and its sources (one of them, now and then). */
void mp_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned roll = (unsigned)rng_below(r, 100), n = 1, i;
	unsigned most = m->keys_per < 3 ? m->keys_per : 3;

	q->op = roll < 50   ? OP_PFADD
		: roll < 70 ? OP_PFCOUNT
		: roll < 80 ? OP_PFCOUNT_MULTI
			    : OP_PFMERGE;
	if (q->op == OP_PFCOUNT_MULTI || q->op == OP_PFMERGE)
		n = (unsigned)rng_range(r, q->op == OP_PFMERGE ? 1 : 2, most);
	for (i = 0; i < n; i++)
		q->keys[i] = hll_key(m, c, r, q, i);
	q->nkeys = n;
	if (q->op == OP_PFMERGE && n > 1 && rng_chance(r, 0.1))
		q->keys[1] = q->keys[0];
	if (q->op == OP_PFADD)
		gen_elements(r, q);
}
