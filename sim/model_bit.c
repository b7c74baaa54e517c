/* model_bit.c: bitmaps in the reference model.
 *
 * SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP, written from Redis's
 * documented behaviour (and its bitops.c, for the corners of ranges),
 * independent of node/: a bitmap is a string, bit 0 the most significant
 * bit of its first byte; SETBIT grows the string with zero bytes (a new
 * key has no TTL, a string keeps its own); a missing key reads as zeros;
 * any other type is WRONGTYPE, after the arguments Redis parses before it
 * looks the key up. Ranges are Redis's: bytes (or bits, with BIT), negative
 * from the end, clamped; BITPOS looking for a 0 with no end given answers
 * the first bit past the string when the string is all ones, and -1 when
 * an end was given. BITOP says here what one combination of its keys'
 * states gives (mb_outcome); model_multi.c tries every combination. The
 * workload uses the string keys, so bitmaps and strings meet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

#define ERR_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT_VALUE "ERR bit is not an integer or out of range"

enum { BITOP_AND = 0, BITOP_OR, BITOP_XOR, BITOP_NOT };

bool mb_op(enum mop op)
{
	return op >= OP_SETBIT && op <= OP_BITPOS;
}

/* Bit i (from the most significant of byte 0) of the len bytes at p; 0
 * past them. */
static int bit_at(const char *p, size_t len, uint64_t i)
{
	if (i / 8 >= len)
		return 0;
	return ((unsigned char)p[i / 8] >> (7 - i % 8)) & 1;
}

static unsigned apply_setbit(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	uint64_t off = (uint64_t)q->num;
	size_t old = s->present ? s->len : 0, len = off / 8 + 1 > old ? off / 8 + 1 : old;
	char *buf = sim_calloc(len + 1);
	unsigned char mask = (unsigned char)(1u << (7 - off % 8));

	if (old > 0)
		memcpy(buf, s->val, old);
	o->exp = x_int(bit_at(buf, len, off));
	if (q->num2)
		buf[off / 8] = (char)((unsigned char)buf[off / 8] | mask);
	else
		buf[off / 8] = (char)((unsigned char)buf[off / 8] & ~mask);
	o->owned = buf;
	o->next = s->present ? *s : ops_absent();
	o->next.present = true;
	o->next.type = MT_STRING;
	o->next.val = buf;
	o->next.len = len;
	return 1;
}

/* A range resolved against a string of len bytes: [*lo, *hi] in bits;
 * false if it is empty. As Redis: start and end in bytes (or bits), either
 * negative from the end, then clamped to the string. */
static bool bit_range(long long start, long long end, bool isbit, size_t len, long long *lo,
		      long long *hi)
{
	long long total = (long long)len * (isbit ? 8 : 1);

	if (start < 0)
		start += total;
	if (end < 0)
		end += total;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= total)
		end = total - 1;
	if (start > end)
		return false;
	*lo = isbit ? start : start * 8;
	*hi = isbit ? end : end * 8 + 7;
	return true;
}

static long long bitcount(const struct mreq *q, const struct mstate *s)
{
	size_t len = s->present ? s->len : 0;
	long long lo, hi, n = 0, i;

	if (!(q->flags & BF_START)) {
		lo = 0; /* the whole string */
		hi = (long long)len * 8 - 1;
	} else if (q->num < 0 && q->num2 < 0 && q->num > q->num2) {
		return 0; /* two negative indexes the wrong way round, before clamping */
	} else if (!bit_range(q->num, q->num2, (q->flags & BF_BIT) != 0, len, &lo, &hi)) {
		return 0;
	}
	for (i = lo; i <= hi; i++)
		n += bit_at(s->val, len, (uint64_t)i);
	return n;
}

static long long bitpos(const struct mreq *q, const struct mstate *s)
{
	int bit = (int)q->num3;
	bool isbit = (q->flags & BF_BIT) != 0, end_given = (q->flags & BF_END) != 0;
	long long start = 0, end, lo, hi, i;
	size_t len;

	if (!s->present)
		return bit ? -1 : 0; /* all zeros, without end */
	len = s->len;
	end = (long long)len - 1;
	if (q->flags & BF_START) {
		start = q->num;
		end = end_given ? q->num2 : isbit ? (long long)len * 8 + 7 : (long long)len - 1;
	}
	if (!bit_range(start, end, isbit, len, &lo, &hi))
		return -1;
	for (i = lo; i <= hi; i++)
		if (bit_at(s->val, len, (uint64_t)i) == bit)
			return i;
	return bit == 0 && !end_given ? hi + 1 : -1;
}

/* A HyperLogLog is a string whose bytes the model does not know (they
 * are the node's sketch, model_hll.c): its bits read as anything within
 * its length, and SETBIT leaves the key unknown. */
#define HLL_BITS_MAX (8 * 12304LL)

static unsigned on_hll(const struct mreq *q, struct mout *o)
{
	long long hi = q->op == OP_SETBIT || q->op == OP_GETBIT ? 1 : HLL_BITS_MAX + 8;

	o->exp = (struct mexp){ .kind = X_INT, .lo = q->op == OP_BITPOS ? -1 : 0, .hi = hi };
	o->wild = q->op == OP_SETBIT;
	return 1;
}

unsigned mb_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	o->next = *s;
	if ((q->op == OP_SETBIT || q->op == OP_GETBIT) && q->num < 0) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = ERR_OFFSET };
		return 1;
	}
	if (q->op == OP_SETBIT && (q->num2 & ~1LL)) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = ERR_BIT_VALUE };
		return 1;
	}
	if (s->present && s->type == MT_HLL)
		return on_hll(q, o);
	if (s->present && s->type != MT_STRING) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = MODEL_WRONGTYPE };
		return 1;
	}
	switch (q->op) {
	case OP_SETBIT: return apply_setbit(q, s, o);
	case OP_GETBIT:
		o->exp = x_int(s->present ? bit_at(s->val, s->len, (uint64_t)q->num) : 0);
		return 1;
	case OP_BITCOUNT: o->exp = x_int(bitcount(q, s)); return 1;
	case OP_BITPOS: o->exp = x_int(bitpos(q, s)); return 1;
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a bitmap op");
	return 0;
}

/* BITOP op destination source...: the sources (a missing key is an empty
 * string; another type is WRONGTYPE) zero-padded to the longest and
 * combined; the result replaces the destination (its TTL too), or deletes
 * it when empty; the reply is its length. */
void mb_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	size_t most = 0, i;
	unsigned k;
	char *r;

	(void)m;
	for (k = 1; k < q->nkeys; k++) {
		const struct mstate *s = mc_state(cb, k);
		if (s->present && s->type == MT_HLL)
			o->wild = true;
		else if (s->present && s->type != MT_STRING) {
			o->error = true;
			o->legal = mm_wrongtype(v);
			return;
		}
		if (s->present && s->type == MT_STRING && s->len > most)
			most = s->len;
	}
	if (o->wild) {
		/* A HyperLogLog's length is not known: the result's neither. */
		o->legal = v->type == RESP_READER_INT && v->integer >= (long long)most;
		return;
	}
	o->legal = mm_int_is(v, (long long)most);
	if (most == 0)
		return;
	r = mc_alloc(o, most);
	for (i = 0; i < most; i++) {
		const struct mstate *s = mc_state(cb, 1);
		unsigned char b = s->present && i < s->len ? (unsigned char)s->val[i] : 0;
		if (q->num == BITOP_NOT)
			b = (unsigned char)~b;
		for (k = 2; k < q->nkeys; k++) {
			const struct mstate *t = mc_state(cb, k);
			unsigned char x = t->present && i < t->len ? (unsigned char)t->val[i] : 0;
			b = q->num == BITOP_AND ? b & x : q->num == BITOP_OR ? b | x : b ^ x;
		}
		r[i] = (char)b;
	}
	o->dest = (struct mstate){ .present = true,
				   .type = MT_STRING,
				   .val = r,
				   .len = most,
				   .exp_lo = MODEL_NO_TTL,
				   .exp_hi = MODEL_NO_TTL };
}

/* ---- encoding ---- */

static void enc_range(struct enc *e, const struct mreq *q)
{
	if (q->flags & BF_START)
		enc_num(e, q->num);
	if (q->flags & BF_END)
		enc_num(e, q->num2);
	if (q->flags & BF_BIT)
		enc_str(e, "BIT");
	else if (q->flags & BF_BYTE)
		enc_str(e, "BYTE");
}

void mb_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	static const char *const ops[] = { "AND", "OR", "XOR", "NOT" };
	unsigned i;

	enc_str(e, ops_name(q->op));
	if (q->op == OP_BITOP) {
		enc_str(e, ops[q->num]);
		for (i = 0; i < q->nkeys; i++)
			enc_key(e, m, q->keys[i]);
		return;
	}
	enc_key(e, m, q->keys[0]);
	switch (q->op) {
	case OP_SETBIT:
		enc_num(e, q->num);
		enc_num(e, q->num2);
		break;
	case OP_GETBIT: enc_num(e, q->num); break;
	case OP_BITPOS:
		enc_num(e, q->num3);
		enc_range(e, q);
		break;
	default: enc_range(e, q); break; /* BITCOUNT */
	}
}

/* ---- the workload ---- */

/* An offset: mostly within a few dozen bytes, so that bits meet the
 * strings' own bytes; now and then a few KB in (past the node's inline and
 * refcounted value sizes); rarely negative (an error). */
static long long gen_offset(struct rng *r)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	return roll < 80   ? (long long)rng_below(r, 256)
	       : roll < 95 ? (long long)rng_below(r, 8 * 600)
	       : roll < 99 ? (long long)rng_range(r, 8 * 4000, 8 * 9000)
			   : -1;
}

/* A range for BITCOUNT (start and end together) or BITPOS (a start, or
 * both), in bytes or bits, near the ends of short strings. */
static void gen_range(struct rng *r, struct mreq *q)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 30)
		return;
	q->flags |= BF_START;
	q->num = (long long)rng_range(r, 0, 40) - 20;
	if (q->op == OP_BITPOS && roll < 45)
		return;
	q->flags |= BF_END;
	q->num2 = (long long)rng_range(r, 0, 40) - 20;
	roll = (unsigned)rng_below(r, 3);
	if (roll == 1) {
		q->flags |= BF_BIT;
		q->num = q->num * 8 + (long long)rng_below(r, 8);
		q->num2 = q->num2 * 8 + (long long)rng_below(r, 8);
	} else if (roll == 2) {
		q->flags |= BF_BYTE;
	}
}

static const enum mop bit_ops[] = {
	OP_SETBIT,   OP_SETBIT,   OP_SETBIT, OP_SETBIT, OP_GETBIT, OP_GETBIT,
	OP_BITCOUNT, OP_BITCOUNT, OP_BITPOS, OP_BITPOS, OP_BITOP,  OP_BITOP,
};

void mb_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned n, i;

	q->op = bit_ops[rng_below(r, sizeof(bit_ops) / sizeof(bit_ops[0]))];
	if (q->op == OP_BITOP) {
		q->num = (long long)rng_below(r, 4);
		n = q->num == BITOP_NOT ? 1 : (unsigned)rng_range(r, 1, 3);
		if (n + 1 > m->keys_per)
			n = m->keys_per - 1;
		/* The sources, distinct, then moved up for the destination. */
		for (i = 0; i < n; i++)
			q->keys[i] = ops_key(m, c, r, q, i, K_STRING);
		memmove(&q->keys[1], &q->keys[0], n * sizeof(q->keys[0]));
		q->nkeys = n + 1;
		/* The destination: now and then one of the sources. */
		q->keys[0] = rng_chance(r, 0.3) ? q->keys[1] : ops_key(m, c, r, q, 0, K_STRING);
		return;
	}
	q->keys[0] = ops_key(m, c, r, q, 0, K_STRING);
	q->nkeys = 1;
	switch (q->op) {
	case OP_SETBIT:
		q->num = gen_offset(r);
		q->num2 = rng_chance(r, 0.01) ? 2 : (long long)rng_below(r, 2);
		break;
	case OP_GETBIT: q->num = gen_offset(r); break;
	case OP_BITPOS:
		q->num3 = (long long)rng_below(r, 2);
		gen_range(r, q);
		break;
	default: gen_range(r, q); break; /* BITCOUNT */
	}
}
