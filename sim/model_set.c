/* model_set.c: sets in the reference model.
 *
 * What each set command does to the possible states of its keys and what
 * it answers, written from Redis's documented behaviour (and the error
 * texts of its t_set.c), independent of node/: a set is a set of distinct
 * members; a command on a key of another type answers WRONGTYPE and
 * changes nothing; a write to a missing key creates the set (without a
 * TTL), a write to a set keeps its TTL, and the set whose last member goes
 * is deleted. The model knows nothing of encodings: the node's intset,
 * listpack and table must answer alike, and the workload draws what moves
 * a set from one to another (integers at the 16-, 32- and 64-bit edges,
 * strings, long strings, hundreds of members at once) against the run's
 * drawn set-max-* limits.
 *
 * Every member the workload names is one of the universe of names
 * (model_univ.c), so a set's state is a bitmap over it, and a reply's
 * members map back to it. Replies that list a set are compared as sets.
 * Where Redis chooses at random (SRANDMEMBER, SPOP), any legal choice is
 * accepted, judged by what can be judged (each member is one of the set's,
 * as many as the count says, distinct unless the count is negative), and
 * SPOP's next state is the old set less the members its reply names:
 * exact.
 *
 * The commands over several keys (SMOVE, SINTER, SUNION, SDIFF, their
 * STORE forms, SINTERCARD) say here what one combination of their keys'
 * states gives (ms_outcome); model_multi.c tries every combination. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* ---- bitmaps ---- */

static bool bit_has(const char *bits, unsigned i)
{
	return bits != NULL && ((unsigned char)bits[i >> 3] >> (i & 7)) & 1u;
}

static void bit_put(char *bits, unsigned i)
{
	bits[i >> 3] = (char)((unsigned char)bits[i >> 3] | (1u << (i & 7)));
}

static void bit_drop(char *bits, unsigned i)
{
	bits[i >> 3] = (char)((unsigned char)bits[i >> 3] & ~(1u << (i & 7)));
}

static unsigned bit_count(const char *bits)
{
	unsigned n = 0, i;

	for (i = 0; i < MODEL_SET_BYTES; i++)
		n += (unsigned)__builtin_popcount((unsigned char)bits[i]);
	return n;
}

/* Whether every member of a is in b (NULL: the empty set). */
static bool bit_subset(const char *a, const char *b)
{
	unsigned i;

	for (i = 0; i < MODEL_SET_BYTES; i++)
		if ((unsigned char)a[i] & ~(b != NULL ? (unsigned char)b[i] : 0u))
			return false;
	return true;
}

/* The members of state s, or NULL (absent: none). */
static const char *members(const struct mstate *s)
{
	return s->present && s->type == MT_SET ? s->val : NULL;
}

/* Reply v as members: an array whose every element is a bulk naming a
 * member of the universe, put in bits (zeroed by the caller); *dups counts
 * the repeats. False for anything else. */
static bool reply_members(const struct resp_reader_value *v, char *bits, unsigned *dups)
{
	size_t i;

	*dups = 0;
	if (v->type != RESP_READER_ARRAY && v->type != RESP_READER_SET)
		return false;
	for (i = 0; i < v->n; i++) {
		const struct resp_reader_value *e = &v->elems[i];
		int at = e->type == RESP_READER_BULK ? mu_index(e->str, e->len) : -1;
		if (at < 0)
			return false;
		if (bit_has(bits, (unsigned)at))
			(*dups)++;
		else
			bit_put(bits, (unsigned)at);
	}
	return true;
}

/* Whether reply v lists exactly the members of bits (NULL: none), each
 * once, in any order. */
static bool reply_is_set(const struct resp_reader_value *v, const char *bits)
{
	char got[MODEL_SET_BYTES] = { 0 };
	unsigned dups;

	if (!reply_members(v, got, &dups) || dups > 0)
		return false;
	if (bits == NULL)
		return v->n == 0;
	return memcmp(got, bits, MODEL_SET_BYTES) == 0;
}

bool ms_op(enum mop op)
{
	return op >= OP_SADD && op <= OP_SPOP;
}

/* ---- one key ---- */

/* The outcome's next state: s's set (an empty one if s is absent) in a
 * bitmap of the outcome's own, for the command to change. A set keeps its
 * TTL; a new one has none. */
static char *set_begin(struct mout *o, const struct mstate *s)
{
	char *b = sim_calloc(MODEL_SET_BYTES);

	if (s->present)
		memcpy(b, s->val, MODEL_SET_BYTES);
	o->owned = b;
	o->next = s->present ? *s : ops_absent();
	o->next.present = true;
	o->next.type = MT_SET;
	o->next.val = b;
	o->next.len = MODEL_SET_BYTES;
	return b;
}

/* The set's size once changed; a set left empty is gone. */
static void set_end(struct mout *o)
{
	o->next.nf = bit_count(o->next.val);
	if (o->next.nf == 0)
		o->next = ops_absent();
}

static unsigned apply_sadd_srem(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	long long changed = 0;
	unsigned i;
	char *b;

	if (q->op == OP_SREM && !s->present) {
		o->exp = x_int(0);
		return 1;
	}
	b = set_begin(o, s);
	for (i = 0; i < q->nmi; i++) {
		bool had = bit_has(b, q->mi[i]);
		if (q->op == OP_SADD && !had)
			bit_put(b, q->mi[i]);
		else if (q->op == OP_SREM && had)
			bit_drop(b, q->mi[i]);
		changed += q->op == OP_SADD ? !had : had;
	}
	set_end(o);
	o->exp = x_int(changed);
	return 1;
}

static bool smismember_ok(const struct mreq *q, const struct mstate *s)
{
	const struct resp_reader_value *v = q->reply;
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != q->nmi)
		return false;
	for (i = 0; i < q->nmi; i++)
		if (v->elems[i].type != RESP_READER_INT ||
		    v->elems[i].integer != bit_has(members(s), q->mi[i]))
			return false;
	return true;
}

/* SRANDMEMBER key count: count > 0, that many distinct members (all, if
 * the set has fewer); count < 0, -count members, repeats allowed. */
static bool srandmember_ok(const struct mreq *q, const struct mstate *s)
{
	char got[MODEL_SET_BYTES] = { 0 };
	unsigned dups;
	long long want;

	if (!reply_members(q->reply, got, &dups) || !bit_subset(got, members(s)))
		return false;
	if (!s->present || q->num == 0)
		return q->reply->n == 0;
	if (q->num < 0)
		return q->reply->n == (size_t)-q->num;
	want = q->num < (long long)s->nf ? q->num : (long long)s->nf;
	return dups == 0 && q->reply->n == (size_t)want;
}

/* A single member of s as a bulk (SRANDMEMBER, SPOP without a count): its
 * index, or -1. */
static int one_member(const struct resp_reader_value *v, const struct mstate *s)
{
	int at = v->type == RESP_READER_BULK ? mu_index(v->str, v->len) : -1;

	return at >= 0 && bit_has(members(s), (unsigned)at) ? at : -1;
}

/* SPOP: any count members (all, if the set has fewer) may go; the reply
 * says which, and the set left is the old one without them. */
static unsigned apply_spop(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const struct resp_reader_value *v = q->reply;
	char got[MODEL_SET_BYTES] = { 0 };
	unsigned dups, i;
	long long want;
	char *b;
	int at;

	if (!(q->flags & SF_COUNT)) {
		if (!s->present) {
			o->exp = (struct mexp){ .kind = X_NULL };
			return 1;
		}
		at = one_member(v, s);
		o->exp = verdict(at >= 0);
		if (at >= 0) {
			bit_drop(set_begin(o, s), (unsigned)at);
			set_end(o);
		}
		return 1;
	}
	want = !s->present ? 0 : q->num < (long long)s->nf ? q->num : (long long)s->nf;
	o->exp = verdict(reply_members(v, got, &dups) && dups == 0 && v->n == (size_t)want &&
			 bit_subset(got, members(s)));
	if (o->exp.lo && want > 0) {
		b = set_begin(o, s);
		for (i = 0; i < MODEL_SET_BYTES; i++)
			b[i] = (char)((unsigned char)b[i] & ~(unsigned char)got[i]);
		set_end(o);
	}
	return 1;
}

#define ERR_NOT_POSITIVE "ERR value is out of range, must be positive"

unsigned ms_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	o->next = *s;
	/* SPOP's count is parsed before the key is looked up. */
	if (q->op == OP_SPOP && (q->flags & SF_COUNT) && q->num < 0) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = ERR_NOT_POSITIVE };
		return 1;
	}
	if (s->present && s->type != MT_SET) {
		o->exp = (struct mexp){ .kind = X_ERR, .text = MODEL_WRONGTYPE };
		return 1;
	}
	switch (q->op) {
	case OP_SADD:
	case OP_SREM: return apply_sadd_srem(q, s, o);
	case OP_SCARD: o->exp = x_int(s->present ? s->nf : 0); return 1;
	case OP_SISMEMBER: o->exp = x_int(bit_has(members(s), q->mi[0])); return 1;
	case OP_SMISMEMBER: o->exp = verdict(smismember_ok(q, s)); return 1;
	case OP_SMEMBERS: o->exp = verdict(reply_is_set(q->reply, members(s))); return 1;
	case OP_SRANDMEMBER:
		if (q->flags & SF_COUNT)
			o->exp = verdict(srandmember_ok(q, s));
		else if (!s->present)
			o->exp = (struct mexp){ .kind = X_NULL };
		else
			o->exp = verdict(one_member(q->reply, s) >= 0);
		return 1;
	case OP_SPOP: return apply_spop(q, s, o);
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a set op");
	return 0;
}

/* ---- several keys ---- */

/* The sources: q's keys from the first one read. */
static unsigned first_source(const struct mreq *q)
{
	return mm_blind(q->op);
}

/* SINTER, SUNION or SDIFF of the sources (a missing key is an empty set)
 * into r; false if one is of another type (WRONGTYPE: Redis looks each up
 * before it computes anything). */
static bool set_algebra(const struct mreq *q, const struct mcombo *cb, char *r)
{
	enum mop op = q->op == OP_SINTERSTORE || q->op == OP_SINTERCARD ? OP_SINTER
		      : q->op == OP_SUNIONSTORE                         ? OP_SUNION
		      : q->op == OP_SDIFFSTORE                          ? OP_SDIFF
									: q->op;
	unsigned i, j, from = first_source(q);

	for (i = from; i < q->nkeys; i++) {
		const struct mstate *s = mc_state(cb, i);
		if (s->present && s->type != MT_SET)
			return false;
	}
	for (i = from; i < q->nkeys; i++) {
		const char *b = members(mc_state(cb, i));
		for (j = 0; j < MODEL_SET_BYTES; j++) {
			unsigned char x = b != NULL ? (unsigned char)b[j] : 0,
				      y = (unsigned char)r[j];
			if (i == from)
				y = x;
			else if (op == OP_SINTER)
				y &= x;
			else if (op == OP_SUNION)
				y |= x;
			else
				y &= (unsigned char)~x;
			r[j] = (char)y;
		}
	}
	return true;
}

/* The set operations and their STORE forms, for one combination. */
static void algebra_outcome(const struct mreq *q, const struct mcombo *cb,
			    const struct resp_reader_value *v, struct mc_out *o)
{
	char *r = mc_alloc(o, MODEL_SET_BYTES);
	unsigned n;

	if (!set_algebra(q, cb, r)) {
		o->error = true;
		o->legal = mm_wrongtype(v);
		return;
	}
	n = bit_count(r);
	if (q->op == OP_SINTERCARD) {
		o->legal = mm_int_is(v, (q->flags & SF_COUNT) && q->num > 0 && q->num < n
						? q->num
						: (long long)n);
	} else if (mm_blind(q->op)) {
		/* The destination is replaced (its TTL too), or deleted. */
		o->legal = mm_int_is(v, n);
		if (n > 0) {
			o->dest.present = true;
			o->dest.type = MT_SET;
			o->dest.val = r;
			o->dest.len = MODEL_SET_BYTES;
			o->dest.nf = n;
		}
	} else {
		o->legal = reply_is_set(v, r);
	}
}

/* SMOVE source destination member, as Redis's smoveCommand: a missing
 * source answers 0 before any type is checked; then either key of another
 * type is WRONGTYPE; the same key twice answers whether the member is
 * there; else the member moves if the source has it, the source going
 * when it empties, the destination made when missing. */
static void smove_outcome(const struct mreq *q, const struct mcombo *cb,
			  const struct resp_reader_value *v, struct mc_out *o)
{
	const struct mstate *s = mc_state(cb, 0), *d = mc_state(cb, 1);
	unsigned m = q->mi[0];
	struct mout src, dst;

	if (!s->present) {
		o->legal = mm_int_is(v, 0);
		return;
	}
	if (s->type != MT_SET || (d->present && d->type != MT_SET)) {
		o->error = true;
		o->legal = mm_wrongtype(v);
		return;
	}
	if (mc_same(cb, 0, 1) || !bit_has(s->val, m)) {
		o->legal = mm_int_is(v, bit_has(s->val, m) && mc_same(cb, 0, 1));
		return;
	}
	o->legal = mm_int_is(v, 1);
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	bit_drop(set_begin(&src, s), m);
	set_end(&src);
	bit_put(set_begin(&dst, d), m);
	set_end(&dst);
	/* The outcome owns the bitmaps now. */
	o->owned[o->nowned++] = src.owned;
	o->owned[o->nowned++] = dst.owned;
	o->next[0] = src.next;
	o->next[1] = dst.next;
	o->wrote[0] = o->wrote[1] = true;
}

void ms_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o)
{
	(void)m;
	if (q->op == OP_SMOVE)
		smove_outcome(q, cb, v, o);
	else
		algebra_outcome(q, cb, v, o);
}

/* The set commands over several keys: their keys, in q's order (SINTERCARD
 * counts them first), then SMOVE's member or SINTERCARD's LIMIT. */
void ms_encode(struct enc *e, const struct model *m, const struct mreq *q)
{
	unsigned i;

	enc_str(e, ops_name(q->op));
	if (q->op == OP_SINTERCARD)
		enc_num(e, q->nkeys);
	for (i = 0; i < q->nkeys; i++)
		enc_key(e, m, q->keys[i]);
	enc_members(e, q);
	if (q->op == OP_SINTERCARD && (q->flags & SF_COUNT)) {
		enc_str(e, "LIMIT");
		enc_num(e, q->num);
	}
}

/* ---- the workload ---- */

/* The share of SADDs that add hundreds of members at once (so that sets
 * pass every drawn limit, and some are big enough to be freed in the
 * background), and how many. */
#define BIG_SADD_SHARE 0.03
#define BIG_SADD_MIN 100
#define BIG_SADD_MAX 600

static void gen_members(struct rng *r, struct mreq *q, unsigned n, bool ints)
{
	unsigned i;

	q->mi = sim_calloc(n * sizeof(*q->mi));
	q->nmi = n;
	for (i = 0; i < n; i++)
		q->mi[i] = mu_member(r, ints);
}

/* Hundreds of members from a pool: integers for a key of integers, else
 * strings, or both. */
static void gen_big(struct rng *r, struct mreq *q, bool ints)
{
	unsigned n = (unsigned)rng_range(r, BIG_SADD_MIN, BIG_SADD_MAX), i;
	unsigned kind = ints ? 0 : (unsigned)rng_below(r, 3);

	q->mi = sim_calloc(n * sizeof(*q->mi));
	q->nmi = n;
	for (i = 0; i < n; i++) {
		bool strs = kind == 1 || (kind == 2 && rng_chance(r, 0.5));
		q->mi[i] = (strs ? U_SPOOL : U_IPOOL) + (unsigned)rng_below(r, MU_N_POOL);
	}
}

/* A count for SRANDMEMBER (either sign) or SPOP: mostly small, now and
 * then past most sets' size; SPOP's rarely negative (an error). */
static void gen_count(struct rng *r, struct mreq *q)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (roll < 30)
		return;
	q->flags |= SF_COUNT;
	if (q->op == OP_SRANDMEMBER)
		q->num = roll < 90
				 ? (long long)rng_range(r, 0, 14) - 6
				 : (long long)rng_range(r, 10, 700) * (rng_chance(r, 0.5) ? 1 : -1);
	else
		q->num = roll < 90   ? (long long)rng_range(r, 0, 4)
			 : roll < 98 ? (long long)rng_range(r, 10, 700)
				     : -(long long)rng_range(r, 1, 5);
}

/* n distinct keys of client c into q (from position at), mostly set keys. */
static void gen_keys(struct model *m, unsigned c, struct rng *r, struct mreq *q, unsigned at,
		     unsigned n)
{
	unsigned i;

	for (i = at; i < at + n; i++)
		q->keys[i] = ops_key(m, c, r, q, i, K_SET);
	q->nkeys = at + n;
}

/* The set commands over several keys: SMOVE's two keys (now and then the
 * same one twice); one to four sources; a STORE's destination first,
 * sometimes one of its sources. */
static void gen_multi(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	unsigned most = m->keys_per < 4 ? m->keys_per : 4, n, pick;

	if (q->op == OP_SMOVE) {
		gen_keys(m, c, r, q, 0, 2);
		if (rng_chance(r, 0.05))
			q->keys[1] = q->keys[0];
		gen_members(r, q, 1, q->keys[0] % m->keys_per % 2 == 0);
		return;
	}
	if (q->op < OP_SINTERSTORE) {
		gen_keys(m, c, r, q, 0, (unsigned)rng_range(r, 1, most));
		if (q->op == OP_SINTERCARD && rng_chance(r, 0.5)) {
			q->flags |= SF_COUNT;
			q->num = (long long)rng_range(r, 0, 5);
		}
		return;
	}
	/* The sources are drawn distinct from each other first, then moved
	 * up to make room for the destination (which may be any key). */
	n = (unsigned)rng_range(r, 1, most < 3 ? most : 3);
	pick = (unsigned)rng_below(r, n);
	gen_keys(m, c, r, q, 0, n);
	memmove(&q->keys[1], &q->keys[0], n * sizeof(q->keys[0]));
	q->nkeys = n + 1;
	q->keys[0] = rng_chance(r, 0.3) ? q->keys[1 + pick] : ops_key(m, c, r, q, 0, K_SET);
}

/* Adds a little more often than anything takes members away; DEL (or
 * UNLINK, which may free a big set in the background) now and then. */
static const enum mop set_ops[] = {
	OP_SADD,       OP_SADD,        OP_SADD,        OP_SADD,        OP_SADD,      OP_SADD,
	OP_SREM,       OP_SREM,        OP_SCARD,       OP_SISMEMBER,   OP_SISMEMBER, OP_SMISMEMBER,
	OP_SMEMBERS,   OP_SMEMBERS,    OP_SRANDMEMBER, OP_SRANDMEMBER, OP_SPOP,      OP_SPOP,
	OP_DEL,        OP_SMOVE,       OP_SMOVE,       OP_SINTER,      OP_SUNION,    OP_SDIFF,
	OP_SINTERCARD, OP_SINTERSTORE, OP_SUNIONSTORE, OP_SDIFFSTORE,
};

void ms_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	bool ints;

	q->op = set_ops[rng_below(r, sizeof(set_ops) / sizeof(set_ops[0]))];
	if (mm_op(q->op)) {
		gen_multi(m, c, r, q);
		return;
	}
	q->keys[0] = ops_key(m, c, r, q, 0, K_SET);
	q->nkeys = 1;
	ints = q->keys[0] % m->keys_per % 2 == 0;
	switch (q->op) {
	case OP_SADD:
		if (rng_chance(r, BIG_SADD_SHARE))
			gen_big(r, q, ints);
		else
			gen_members(r, q, (unsigned)rng_range(r, 1, 4), ints);
		break;
	case OP_SREM:
		if (rng_chance(r, 0.05))
			gen_big(r, q, ints);
		else
			gen_members(r, q, (unsigned)rng_range(r, 1, 3), ints);
		break;
	case OP_SISMEMBER: gen_members(r, q, 1, ints); break;
	case OP_SMISMEMBER: gen_members(r, q, (unsigned)rng_range(r, 1, 5), ints); break;
	case OP_SRANDMEMBER:
	case OP_SPOP: gen_count(r, q); break;
	case OP_DEL:
		if (rng_chance(r, 0.5))
			q->flags |= DELF_UNLINK;
		break;
	default: break; /* SCARD, SMEMBERS: the key alone */
	}
}
