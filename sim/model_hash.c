/* model_hash.c: hashes in the reference model.
 *
 * What each hash command does to one possible state of its key and what it
 * answers, written from Redis's documented behaviour (and the error texts
 * of its t_hash.c), independent of node/: a hash is a set of fields, each
 * with a value; a command on a key of another type answers WRONGTYPE and
 * changes nothing; a write to a missing key creates the hash (without a
 * TTL) and a write to a hash keeps its TTL; the hash whose last field goes
 * is deleted. The model knows nothing of encodings: the node's listpack and
 * table must answer alike, and the workload draws what moves a hash from
 * one to the other (many fields, long values) against the run's drawn
 * hash-max-listpack-entries and -value.
 *
 * Replies that list a hash (HGETALL, HKEYS, HVALS) are compared as a set of
 * pairs, of fields, or a multiset of values: the order of a table is not
 * specified. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* Field names: a few that collide all the time (two of them integers,
 * which a listpack stores as numbers), and the rest written mostly by the
 * occasional wide HSET, that grows a hash past a small
 * hash-max-listpack-entries. MODEL_HASH_FIELDS in all, so a hash never has
 * more. */
static const char *const narrow_fields[] = { "f0", "f1", "f2", "7", "-12", "name" };
#define NARROW ((unsigned)(sizeof(narrow_fields) / sizeof(narrow_fields[0])))
#define WIDE (MODEL_HASH_FIELDS - NARROW)

/* The share of HSETs that write many fields at once, and how many. */
#define WIDE_HSET_SHARE 0.08
#define WIDE_HSET_MIN 8
#define WIDE_HSET_MAX 40

#define ERR_NOT_INT "ERR hash value is not an integer"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"

bool mh_op(enum mop op)
{
	return op >= OP_HSET && op <= OP_HVALS;
}

static int field_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int mh_find(const struct mfield *fields, unsigned nf, const char *f, size_t flen)
{
	unsigned lo = 0, hi = nf;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = field_cmp(fields[mid].f, fields[mid].flen, f, flen);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- semantics ---- */

/* The outcome's next state: s's hash (an empty one if s is absent) in a
 * field array of the outcome's own, with room for `more` new fields, for
 * the command to change. A hash keeps its TTL; a new one has none. */
static struct mstate *hash_begin(struct mout *o, const struct mstate *s, unsigned more)
{
	unsigned nf = s->present ? s->nf : 0;
	struct mfield *a = sim_calloc((nf + more + 1) * sizeof(*a));

	if (nf > 0)
		memcpy(a, s->fields, nf * sizeof(*a));
	o->owned_fields = a;
	o->next = s->present ? *s : ops_absent();
	o->next.present = true;
	o->next.type = MT_HASH;
	o->next.fields = a;
	o->next.nf = nf;
	return &o->next;
}

/* Sets field f to v in an outcome's hash; true if the field is new. */
static bool hash_put(struct mstate *n, const char *f, size_t flen, const char *v, size_t vlen)
{
	int i = mh_find(n->fields, n->nf, f, flen);
	unsigned at = 0;

	if (i >= 0) {
		n->fields[i].v = v;
		n->fields[i].vlen = vlen;
		return false;
	}
	while (at < n->nf && field_cmp(n->fields[at].f, n->fields[at].flen, f, flen) < 0)
		at++;
	memmove(&n->fields[at + 1], &n->fields[at], (n->nf - at) * sizeof(n->fields[0]));
	n->fields[at] = (struct mfield){ .f = f, .v = v, .flen = flen, .vlen = vlen };
	n->nf++;
	ASSERT(n->nf <= MODEL_HASH_FIELDS);
	return true;
}

/* Deletes field f from an outcome's hash; true if it was there. */
static bool hash_remove(struct mstate *n, const char *f, size_t flen)
{
	int i = mh_find(n->fields, n->nf, f, flen);

	if (i < 0)
		return false;
	memmove(&n->fields[i], &n->fields[i + 1], (n->nf - (unsigned)i - 1) * sizeof(n->fields[0]));
	n->nf--;
	return true;
}

/* Field f's value in state s (a hash or absent), or NULL. */
static const struct mfield *hash_field(const struct mstate *s, const char *f, size_t flen)
{
	int i = s->present ? mh_find(s->fields, s->nf, f, flen) : -1;

	return i >= 0 ? &s->fields[i] : NULL;
}

static unsigned apply_hset(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	struct mstate *n;
	long long created = 0;
	unsigned i;

	if (q->op == OP_HSETNX && hash_field(s, q->hp[0].f, q->hp[0].flen) != NULL) {
		o->exp = x_int(0);
		return 1;
	}
	/* Pairs in order: a field named twice ends with its last value and
	 * counts once. */
	n = hash_begin(o, s, q->nhp);
	for (i = 0; i < q->nhp; i++)
		created += hash_put(n, q->hp[i].f, q->hp[i].flen, q->hp[i].v, q->hp[i].vlen);
	o->exp = x_int(created);
	return 1;
}

static unsigned apply_hdel(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	struct mstate *n;
	long long deleted = 0;
	unsigned i;

	if (!s->present) {
		o->exp = x_int(0);
		return 1;
	}
	n = hash_begin(o, s, 0);
	for (i = 0; i < q->nhp; i++)
		deleted += hash_remove(n, q->hp[i].f, q->hp[i].flen);
	if (n->nf == 0)
		o->next = ops_absent(); /* the last field took the key with it */
	o->exp = x_int(deleted);
	return 1;
}

/* HINCRBY: the field's value must be an integer by Redis's rule (as INCR's)
 * and the sum must fit in 64 bits; a missing field counts as 0. */
static unsigned apply_hincrby(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const struct mfield *fv = hash_field(s, q->hp[0].f, q->hp[0].flen);
	long long cur = 0, delta = q->num;
	char *buf;
	size_t len;

	if (fv != NULL && !model_str2ll(fv->v, fv->vlen, &cur)) {
		o->exp = x_err(ERR_NOT_INT);
		return 1;
	}
	if ((delta > 0 && cur > 0 && cur > LLONG_MAX - delta) ||
	    (delta < 0 && cur < 0 && cur < LLONG_MIN - delta)) {
		o->exp = x_err(ERR_OVERFLOW);
		return 1;
	}
	buf = sim_calloc(24);
	len = (size_t)snprintf(buf, 24, "%lld", cur + delta);
	o->owned = buf;
	hash_put(hash_begin(o, s, 1), q->hp[0].f, q->hp[0].flen, buf, len);
	o->exp = x_int(cur + delta);
	return 1;
}

/* The commands that only read one field. */
static unsigned apply_field_read(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	const struct mfield *fv = hash_field(s, q->hp[0].f, q->hp[0].flen);

	switch (q->op) {
	case OP_HGET:
		o->exp = fv != NULL ? (struct mexp){ .kind = X_BULK, .p = fv->v, .len = fv->vlen }
				    : (struct mexp){ .kind = X_NULL };
		break;
	case OP_HSTRLEN: o->exp = x_int(fv != NULL ? (long long)fv->vlen : 0); break;
	default: o->exp = x_int(fv != NULL); break; /* HEXISTS */
	}
	return 1;
}

unsigned mh_apply(const struct mreq *q, const struct mstate *s, struct mout *o)
{
	struct mexp whole = { .kind = X_FIELDS,
			      .fields = s->present ? s->fields : NULL,
			      .nf = s->present ? s->nf : 0 };

	o->next = *s;
	if (s->present && s->type != MT_HASH) {
		o->exp = x_err(MODEL_WRONGTYPE);
		return 1;
	}
	switch (q->op) {
	case OP_HSET:
	case OP_HSETNX: return apply_hset(q, s, o);
	case OP_HDEL: return apply_hdel(q, s, o);
	case OP_HINCRBY: return apply_hincrby(q, s, o);
	case OP_HGET:
	case OP_HSTRLEN:
	case OP_HEXISTS: return apply_field_read(q, s, o);
	case OP_HLEN: o->exp = x_int(whole.nf); return 1;
	case OP_HMGET:
		o->exp = whole;
		o->exp.kind = X_HMGET;
		o->exp.ask = q->hp;
		o->exp.nask = q->nhp;
		return 1;
	case OP_HGETALL:
	case OP_HKEYS:
	case OP_HVALS:
		o->exp = whole;
		o->exp.parts = q->op == OP_HKEYS   ? XF_KEYS
			       : q->op == OP_HVALS ? XF_VALS
						   : XF_KEYS | XF_VALS;
		return 1;
	default: break;
	}
	ASSERT_NOT_REACHED("model: not a hash op");
	return 0;
}

/* ---- replies ---- */

static bool bulk_is(const struct resp_reader_value *v, const char *p, size_t n)
{
	return v->type == RESP_READER_BULK && v->len == n && (n == 0 || memcmp(v->str, p, n) == 0);
}

static bool match_hmget(const struct mexp *x, const struct resp_reader_value *v)
{
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != x->nask)
		return false;
	for (i = 0; i < x->nask; i++) {
		const struct resp_reader_value *e = &v->elems[i];
		int at = mh_find(x->fields, x->nf, x->ask[i].f, x->ask[i].flen);
		if (at < 0 && e->type != RESP_READER_NULL_BULK)
			return false;
		if (at >= 0 && !bulk_is(e, x->fields[at].v, x->fields[at].vlen))
			return false;
	}
	return true;
}

/* The reply's element i names which field: by its name (HKEYS, HGETALL,
 * whose value must then follow), or by its value (HVALS: any field not yet
 * taken with that value, which is right for a multiset, since fields of
 * equal values are interchangeable). */
static int match_one(const struct mexp *x, const struct resp_reader_value *e, const bool *taken)
{
	unsigned j;

	if (x->parts & XF_KEYS) {
		int at = e->type == RESP_READER_BULK ? mh_find(x->fields, x->nf, e->str, e->len)
						     : -1;
		if (at < 0 || taken[at])
			return -1;
		if ((x->parts & XF_VALS) && !bulk_is(e + 1, x->fields[at].v, x->fields[at].vlen))
			return -1;
		return at;
	}
	for (j = 0; j < x->nf; j++)
		if (!taken[j] && bulk_is(e, x->fields[j].v, x->fields[j].vlen))
			return (int)j;
	return -1;
}

/* As many elements as the hash has fields (two per field for HGETALL),
 * each one a different field: a bijection, in any order. */
static bool match_fields(const struct mexp *x, const struct resp_reader_value *v)
{
	unsigned per = x->parts == (XF_KEYS | XF_VALS) ? 2 : 1, i;
	bool taken[MODEL_HASH_FIELDS] = { false };

	ASSERT(x->nf <= MODEL_HASH_FIELDS);
	if (v->type != RESP_READER_ARRAY || v->n != (size_t)x->nf * per)
		return false;
	for (i = 0; i < x->nf; i++) {
		int at = match_one(x, &v->elems[i * per], taken);
		if (at < 0)
			return false;
		taken[at] = true;
	}
	return true;
}

bool mh_matches(const struct mexp *x, const struct resp_reader_value *v)
{
	return x->kind == X_HMGET ? match_hmget(x, v) : match_fields(x, v);
}

/* ---- the workload ---- */

/* A field name: mostly a narrow one, unless wide. */
static void gen_field(struct rng *r, bool wide, struct mpair *p)
{
	char buf[16];

	if (wide && rng_chance(r, 0.8)) {
		snprintf(buf, sizeof(buf), "w%u", (unsigned)rng_below(r, WIDE));
		p->f = strdup(buf);
	} else {
		p->f = strdup(narrow_fields[rng_below(r, NARROW)]);
	}
	ASSERT(p->f != NULL);
	p->flen = strlen(p->f);
}

static char *gen_text(struct rng *r, size_t n)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char *p = sim_calloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = alnum[rng_below(r, sizeof(alnum) - 1)];
	return p;
}

/* A field's value: integers (small for HINCRBY, near the 64-bit limits for
 * its overflow), texts that look like integers but are not to Redis,
 * strings short, around the listpack's value limit, and (unless small)
 * past the node's refcounted-buffer and bigbulk sizes. Long ones are rare
 * enough that many hashes stay listpacks until they have many fields. */
static void gen_hvalue(struct rng *r, bool small, struct mpair *p)
{
	static const char *const odd[] = { "007", "+5", " 3", "1.5", "-0", "9223372036854775808" };
	unsigned kind = (unsigned)rng_below(r, 100);
	char buf[32];
	size_t n;

	if (kind < 25) {
		snprintf(buf, sizeof(buf), "%lld", (long long)rng_range(r, 0, 2000) - 1000);
	} else if (kind < 28) {
		long long d = (long long)rng_below(r, 100);
		snprintf(buf, sizeof(buf), "%lld",
			 rng_chance(r, 0.5) ? LLONG_MAX - d : LLONG_MIN + d);
	} else if (kind < 32) {
		snprintf(buf, sizeof(buf), "%s", odd[rng_below(r, sizeof(odd) / sizeof(odd[0]))]);
	} else {
		n = kind < 88 || (small && kind >= 95) ? rng_below(r, 17)
		    : kind < 95                        ? rng_range(r, 40, 200)
		    : kind < 99                        ? rng_range(r, 4000, 9000)
						       : rng_range(r, 32000, 40000);
		p->v = gen_text(r, n);
		p->vlen = n;
		return;
	}
	p->v = strdup(buf);
	ASSERT(p->v != NULL);
	p->vlen = strlen(buf);
}

/* n fields, wide or narrow, with values if values (small ones if small). */
static void gen_pairs(struct rng *r, struct mreq *q, unsigned n, bool wide, bool values, bool small)
{
	unsigned i;

	q->hp = sim_calloc(n * sizeof(*q->hp));
	q->nhp = n;
	for (i = 0; i < n; i++) {
		gen_field(r, wide, &q->hp[i]);
		if (values)
			gen_hvalue(r, small, &q->hp[i]);
	}
}

/* Writes a little more often than deletes, so that hashes hold several
 * fields; DEL now and then takes a hash key back from a string. */
static const enum mop hash_ops[] = {
	OP_HSET,    OP_HSET,    OP_HSET,    OP_HSET,    OP_HSET,  OP_HSETNX, OP_HGET,
	OP_HGET,    OP_HGET,    OP_HMGET,   OP_HDEL,    OP_HDEL,  OP_HLEN,   OP_HSTRLEN,
	OP_HEXISTS, OP_HINCRBY, OP_HINCRBY, OP_HGETALL, OP_HKEYS, OP_HVALS,  OP_DEL,
};

void mh_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q)
{
	/* Some reads and deletes name a wide field, so that those are checked
	 * and go too. */
	bool wide = rng_chance(r, 0.1);

	q->op = hash_ops[rng_below(r, sizeof(hash_ops) / sizeof(hash_ops[0]))];
	q->keys[0] = ops_key(m, c, r, q, 0, K_HASH);
	q->nkeys = 1;
	switch (q->op) {
	case OP_HSET:
		if (rng_chance(r, WIDE_HSET_SHARE))
			/* Small values: a wide hash is copied into every
			 * state the model keeps of it. */
			gen_pairs(r, q, (unsigned)rng_range(r, WIDE_HSET_MIN, WIDE_HSET_MAX), true,
				  true, true);
		else
			gen_pairs(r, q, (unsigned)rng_range(r, 1, 3), wide, true, false);
		break;
	case OP_HSETNX: gen_pairs(r, q, 1, wide, true, false); break;
	case OP_HMGET: gen_pairs(r, q, (unsigned)rng_range(r, 1, 4), wide, false, false); break;
	case OP_HDEL: gen_pairs(r, q, (unsigned)rng_range(r, 1, 2), wide, false, false); break;
	case OP_HGET:
	case OP_HSTRLEN:
	case OP_HEXISTS: gen_pairs(r, q, 1, wide, false, false); break;
	case OP_HINCRBY:
		gen_pairs(r, q, 1, wide, false, false);
		q->num = rng_chance(r, 0.9)   ? (long long)rng_range(r, 0, 200) - 100
			 : rng_chance(r, 0.5) ? LLONG_MAX
					      : LLONG_MIN;
		break;
	default: break; /* HLEN, HGETALL, HKEYS, HVALS, DEL: the key alone */
	}
}
