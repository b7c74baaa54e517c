/* t_zset.c: the sorted set type's two encodings. See t_zset.h.
 *
 * The listpack functions follow Redis 7.0's zzl* ones step for step (the
 * insertion walk, the range walks, the score text), so a small set's bytes
 * and every reply read from it are Redis's. The big encoding is zbtree.c's;
 * its range bounds are found by descent (zbt_count_before) where Redis
 * walks its skiplist's levels, with the same results on every set whose
 * lex ranges are asked of members of equal scores (the only ones on which
 * Redis defines them). */
#include "data/t_zset.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "data/kv.h"
#include "data/listpack.h"

/* Redis's MAX_D2STRING_CHARS: room for a score's text. */
#define ZSET_SCORE_CHARS 128
/* Entries a big set's rank-range deletion gathers before deleting them. */
#define ZSET_DEL_BATCH 1024

static unsigned char *lp_of(const struct kv *e)
{
	ASSERT(e->type == KV_ZSET);
	ASSERT(kv_obj_enc(e) == ZSET_LP);
	return kv_obj(e);
}

static struct zbtree *big_of(const struct kv *e)
{
	ASSERT(e->type == KV_ZSET);
	ASSERT(kv_obj_enc(e) == ZSET_BIG);
	return kv_obj(e);
}

/* ---- scores in a listpack ---- */

/* Redis's double2ll: a double that is an integer within +-2^62. */
static bool double_ll(double d, long long *out)
{
	long long ll;

	if (d < (double)(-LLONG_MAX / 2) || d > (double)(LLONG_MAX / 2))
		return false;
	ll = (long long)d;
	if ((double)ll != d)
		return false;
	*out = ll;
	return true;
}

/* A score as zzlInsertAt writes it: an integer when it is one (the
 * listpack then stores an integer), else "%.17g" ("inf", "-inf"). */
static size_t score_text(double d, char *buf)
{
	long long ll;

	if (double_ll(d, &ll))
		return (size_t)util_ll2str(buf, ll);
	return (size_t)util_d2str(buf, ZSET_SCORE_CHARS, d);
}

/* Redis's zzlStrtod: the first 127 bytes, read by strtod. */
static double text_score(const char *s, size_t len)
{
	char buf[ZSET_SCORE_CHARS];

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return strtod(buf, NULL);
}

static double lp_score(const unsigned char *sp)
{
	int64_t iv;
	uint32_t len;
	const unsigned char *s = lp_get(sp, &iv, &len);

	return s == NULL ? (double)iv : text_score((const char *)s, len);
}

/* ---- a listpack set ---- */

static int lp_cmp_member(const unsigned char *p, const char *m, size_t len)
{
	char buf[LP_INTBUF_SIZE];
	size_t plen;
	const char *s = lp_get_text(p, buf, &plen);

	return zent_memcmp(s, plen, m, len);
}

static unsigned char *zlp_find(unsigned char *lp, const char *m, size_t len)
{
	unsigned char *p = lp_first(lp);

	return p != NULL ? lp_find(lp, p, m, len, 1) : NULL;
}

/* Redis's zzlInsert: before the first member of a higher score, or of the
 * same score and greater bytes; at the end otherwise. */
static unsigned char *zlp_insert(struct mem *mem, unsigned char *lp, const char *m, size_t len,
				 double score)
{
	char sbuf[ZSET_SCORE_CHARS];
	size_t slen = score_text(score, sbuf);
	unsigned char *p, *newp;

	for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p))) {
		double s = lp_score(lp_next(lp, p));
		if (s > score || (s == score && lp_cmp_member(p, m, len) > 0))
			break;
	}
	if (p == NULL) {
		lp = lp_append(mem, lp, m, len);
		return lp_append(mem, lp, sbuf, slen);
	}
	lp = lp_insert(mem, lp, m, len, p, LP_BEFORE, &newp);
	return lp_insert(mem, lp, sbuf, slen, newp, LP_AFTER, NULL);
}

static unsigned char *zlp_delete(struct mem *mem, unsigned char *lp, unsigned char *p)
{
	unsigned char *sp;

	lp = lp_delete(mem, lp, p, &sp);
	return lp_delete(mem, lp, sp, NULL);
}

/* ---- creation and conversion ---- */

struct zbtree *zset_big_new(struct mem *mem, uint64_t seed)
{
	struct zbtree *t = mem_alloc(mem, sizeof(*t));

	zbt_init(t, mem, seed);
	return t;
}

void zset_big_free(struct mem *mem, struct zbtree *t)
{
	ASSERT(t->mem == mem);
	zbt_free(t);
	mem_free(mem, t);
}

void *zset_new_lp(struct mem *mem)
{
	return lp_new(mem);
}

void *zset_new(struct mem *mem, const struct zset_limits *lim, size_t first_len, unsigned *enc)
{
	if (lim->max_lp_entries == 0 || lim->max_lp_value < first_len) {
		*enc = ZSET_BIG;
		return zset_big_new(mem, lim->seed);
	}
	*enc = ZSET_LP;
	return lp_new(mem);
}

static void to_big(struct mem *mem, struct kv *e, const struct zset_limits *lim)
{
	unsigned char *lp = lp_of(e), *p;
	struct zbtree *t = zset_big_new(mem, lim->seed);

	zmap_expand(&t->map, lp_length(lp) / 2);
	for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p))) {
		char buf[LP_INTBUF_SIZE];
		size_t len;
		const char *m = lp_get_text(p, buf, &len);
		zbt_stage(t, m, len, lp_score(lp_next(lp, p)));
	}
	zbt_commit(t);
	ASSERT(zbt_len(t) * 2 == lp_length(lp));
	lp_free(mem, lp);
	kv_set_obj(e, t, ZSET_BIG);
}

void zset_to_big(struct mem *mem, struct kv *e, const struct zset_limits *lim)
{
	if (kv_obj_enc(e) == ZSET_LP)
		to_big(mem, e, lim);
	ASSERT(kv_obj_enc(e) == ZSET_BIG);
}

void zset_fit_listpack(struct mem *mem, struct kv *e, const struct zset_limits *lim, size_t maxlen,
		       size_t totlen)
{
	unsigned char *lp;
	struct zbtree *t;
	struct zbt_pos p;

	if (kv_obj_enc(e) != ZSET_BIG)
		return;
	t = big_of(e);
	if (zbt_len(t) > lim->max_lp_entries || maxlen > lim->max_lp_value ||
	    totlen > LP_SAFETY_SIZE)
		return;
	lp = lp_new(mem);
	for (zbt_seek(t, 0, &p); p.leaf != NULL; zbt_next(&p)) {
		char sbuf[ZSET_SCORE_CHARS];
		size_t len, slen = score_text(zbt_at(&p)->score, sbuf);
		const char *m = zent_str(zbt_at(&p), &len);
		lp = lp_append(mem, lp, m, len);
		lp = lp_append(mem, lp, sbuf, slen);
	}
	zset_big_free(mem, t);
	kv_set_obj(e, lp, ZSET_LP);
}

/* ---- the type's hooks ---- */

static void zset_free(struct mem *mem, void *obj, unsigned enc)
{
	if (enc == ZSET_LP)
		lp_free(mem, obj);
	else
		zset_big_free(mem, obj);
}

static void *zset_dup(struct mem *mem, const void *obj, unsigned enc)
{
	const struct zbtree *src = obj;
	struct zbtree *t;

	if (enc == ZSET_LP) {
		size_t n = lp_bytes(obj);
		unsigned char *lp = mem_alloc(mem, n);
		memcpy(lp, obj, n);
		return lp;
	}
	t = zset_big_new(mem, src->map.seed);
	zbt_dup(t, src);
	return t;
}

static size_t zset_size(const void *obj, unsigned enc)
{
	if (enc == ZSET_LP)
		return mem_size(obj);
	return mem_size(obj) + zbt_mem(obj);
}

static const char *zset_encoding(const void *obj, unsigned enc)
{
	(void)obj;
	ASSERT(enc <= ZSET_BIG);
	return enc == ZSET_LP ? "listpack" : "skiplist";
}

static void zset_rebind(void *obj, unsigned enc, struct mem *mem)
{
	if (enc == ZSET_BIG)
		zbt_rebind(obj, mem);
}

/* A listpack's pairs are in order, and a member is never there twice. */
static bool lp_ordered(unsigned char *lp)
{
	unsigned char *p, *q;

	for (p = lp_first(lp); p != NULL; p = q) {
		char buf[LP_INTBUF_SIZE];
		size_t len;
		const char *m = lp_get_text(p, buf, &len);
		double s = lp_score(lp_next(lp, p));
		q = lp_next(lp, lp_next(lp, p));
		if (q == NULL)
			break;
		if (s > lp_score(lp_next(lp, q)) ||
		    (s == lp_score(lp_next(lp, q)) && lp_cmp_member(q, m, len) <= 0))
			return false;
	}
	return true;
}

static bool zset_check(const void *obj, unsigned enc)
{
	unsigned char *lp = (unsigned char *)obj;

	if (enc == ZSET_BIG)
		return zbt_check(obj) && zbt_len(obj) > 0;
	return lp_valid(lp, lp_bytes(lp), true) && lp_length(lp) % 2 == 0 && lp_length(lp) > 0 &&
	       lp_ordered(lp);
}

/* As Redis counts it: a listpack is one allocation, the big encoding one
 * per member. */
static uint64_t zset_effort(const void *obj, unsigned enc)
{
	return enc == ZSET_BIG ? zbt_len(obj) : 1;
}

static bool zset_free_step(struct mem *mem, void *obj, unsigned enc, unsigned *budget)
{
	if (enc == ZSET_LP) {
		lp_free(mem, obj);
		*budget = *budget > 0 ? *budget - 1 : 0;
		return true;
	}
	ASSERT(((struct zbtree *)obj)->mem == mem);
	if (!zbt_free_some(obj, budget))
		return false;
	mem_free(mem, obj);
	return true;
}

const struct kv_type_ops zset_type = {
	.name = "zset",
	.free = zset_free,
	.dup = zset_dup,
	.size = zset_size,
	.encoding = zset_encoding,
	.rebind = zset_rebind,
	.check = zset_check,
	.effort = zset_effort,
	.free_step = zset_free_step,
};

/* ---- reads ---- */

uint64_t zset_len(const struct kv *e)
{
	if (kv_obj_enc(e) == ZSET_LP)
		return lp_length(lp_of(e)) / 2;
	return zbt_len(big_of(e));
}

bool zset_score(struct kv *e, const char *m, size_t len, double *score)
{
	struct zent *z;

	if (kv_obj_enc(e) == ZSET_LP) {
		unsigned char *lp = lp_of(e), *p = zlp_find(lp, m, len);
		if (p == NULL)
			return false;
		*score = lp_score(lp_next(lp, p));
		return true;
	}
	z = zbt_find(big_of(e), m, len);
	if (z == NULL)
		return false;
	*score = z->score;
	return true;
}

long long zset_rank(struct kv *e, const char *m, size_t len, double *score)
{
	long long rank = 0;
	struct zent *z;

	if (kv_obj_enc(e) == ZSET_LP) {
		unsigned char *lp = lp_of(e), *p;
		for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p)), rank++) {
			if (lp_eq(p, m, len)) {
				*score = lp_score(lp_next(lp, p));
				return rank;
			}
		}
		return -1;
	}
	z = zbt_find(big_of(e), m, len);
	if (z == NULL)
		return -1;
	*score = z->score;
	return (long long)zbt_rank(big_of(e), z);
}

/* ---- writes ---- */

/* ZADD's rules for a member already there with score cur (Redis's
 * zsetAdd): 0 when the incremented score is NaN, 1 when nothing changes,
 * 2 when the score becomes *score. */
static int zadd_existing(int in, double cur, double *score, int *out, double *newscore)
{
	if (in & ZADD_IN_NX) {
		*out |= ZADD_OUT_NOP;
		return 1;
	}
	if (in & ZADD_IN_INCR) {
		*score += cur;
		if (isnan(*score))
			return 0;
	}
	if (((in & ZADD_IN_LT) && *score >= cur) || ((in & ZADD_IN_GT) && *score <= cur)) {
		*out |= ZADD_OUT_NOP;
		return 1;
	}
	if (newscore != NULL)
		*newscore = *score;
	if (*score == cur)
		return 1;
	*out |= ZADD_OUT_UPDATED;
	return 2;
}

/* The listpack side: 1 done, 0 NaN, -1 when a new member needs the big
 * encoding first. */
static int lp_add(struct mem *mem, struct kv *e, const struct zset_limits *lim, double score,
		  const char *m, size_t len, int in, int *out, double *newscore)
{
	unsigned char *lp = lp_of(e), *p = zlp_find(lp, m, len);
	int r;

	if (p != NULL) {
		r = zadd_existing(in, lp_score(lp_next(lp, p)), &score, out, newscore);
		if (r == 2) {
			lp = zlp_delete(mem, lp, p);
			kv_set_obj(e, zlp_insert(mem, lp, m, len, score), ZSET_LP);
		}
		return r != 0;
	}
	if (in & ZADD_IN_XX) {
		*out |= ZADD_OUT_NOP;
		return 1;
	}
	if (lp_length(lp) / 2 + 1 > lim->max_lp_entries || len > lim->max_lp_value ||
	    !lp_safe_to_add(lp, len))
		return -1;
	kv_set_obj(e, zlp_insert(mem, lp, m, len, score), ZSET_LP);
	if (newscore != NULL)
		*newscore = score;
	*out |= ZADD_OUT_ADDED;
	return 1;
}

bool zset_add(struct mem *mem, struct kv *e, const struct zset_limits *lim, double score,
	      const char *m, size_t len, int in, int *out, double *newscore)
{
	struct zbtree *t;
	struct zent *z;
	int r;

	*out = 0;
	if (isnan(score))
		return false;
	if (kv_obj_enc(e) == ZSET_LP) {
		r = lp_add(mem, e, lim, score, m, len, in, out, newscore);
		if (r >= 0)
			return r == 1;
		to_big(mem, e, lim);
	}
	t = big_of(e);
	z = zbt_find(t, m, len);
	if (z != NULL) {
		r = zadd_existing(in, z->score, &score, out, newscore);
		if (r == 2)
			zbt_set_score(t, z, score);
		return r != 0;
	}
	if (in & ZADD_IN_XX) {
		*out |= ZADD_OUT_NOP;
		return true;
	}
	zbt_add(t, m, len, score);
	if (newscore != NULL)
		*newscore = score;
	*out |= ZADD_OUT_ADDED;
	return true;
}

bool zset_del(struct mem *mem, struct kv *e, const char *m, size_t len)
{
	struct zent *z;

	if (kv_obj_enc(e) == ZSET_LP) {
		unsigned char *lp = lp_of(e), *p = zlp_find(lp, m, len);
		if (p == NULL)
			return false;
		kv_set_obj(e, zlp_delete(mem, lp, p), ZSET_LP);
		return true;
	}
	z = zbt_find(big_of(e), m, len);
	if (z == NULL)
		return false;
	zbt_del(big_of(e), z);
	return true;
}

void zset_del_ranks(struct mem *mem, struct kv *e, uint64_t start, uint64_t end)
{
	struct zent *batch[ZSET_DEL_BATCH];
	uint64_t left = end - start + 1;
	struct zbtree *t;

	ASSERT(start <= end);
	ASSERT(end < zset_len(e));
	if (kv_obj_enc(e) == ZSET_LP) {
		unsigned char *lp = lp_delete_range(mem, lp_of(e), (long)(2 * start), 2 * left);
		kv_set_obj(e, lp, ZSET_LP);
		return;
	}
	t = big_of(e);
	/* Entries stay valid until deleted: gather a batch, then delete it. */
	while (left > 0) {
		struct zbt_pos p;
		unsigned n = 0, i;
		for (zbt_seek(t, start, &p); n < ZSET_DEL_BATCH && n < left; zbt_next(&p))
			batch[n++] = zbt_at(&p);
		for (i = 0; i < n; i++)
			zbt_del(t, batch[i]);
		left -= n;
	}
}

/* ---- walking ---- */

void zset_seek(struct kv *e, uint64_t rank, struct zset_it *it)
{
	it->e = e;
	if (kv_obj_enc(e) == ZSET_LP) {
		it->lp = lp_of(e);
		it->p = rank < zset_len(e) ? lp_seek(it->lp, (long)(2 * rank)) : NULL;
		return;
	}
	zbt_seek(big_of(e), rank, &it->pos);
}

bool zset_it_valid(const struct zset_it *it)
{
	return kv_obj_enc(it->e) == ZSET_LP ? it->p != NULL : it->pos.leaf != NULL;
}

void zset_it_next(struct zset_it *it)
{
	if (kv_obj_enc(it->e) == ZSET_LP)
		it->p = lp_next(it->lp, lp_next(it->lp, it->p));
	else
		zbt_next(&it->pos);
}

void zset_it_prev(struct zset_it *it)
{
	unsigned char *sp;

	if (kv_obj_enc(it->e) != ZSET_LP) {
		zbt_prev(&it->pos);
		return;
	}
	sp = lp_prev(it->lp, it->p);
	it->p = sp != NULL ? lp_prev(it->lp, sp) : NULL;
}

double zset_it_score(const struct zset_it *it)
{
	if (kv_obj_enc(it->e) == ZSET_LP)
		return lp_score(lp_next(it->lp, it->p));
	return zbt_at(&it->pos)->score;
}

const char *zset_it_member(const struct zset_it *it, char *buf, size_t *len)
{
	if (kv_obj_enc(it->e) == ZSET_LP)
		return lp_get_text(it->p, buf, len);
	return zent_str(zbt_at(&it->pos), len);
}

void zset_it_get(const struct zset_it *it, struct zset_item *out)
{
	out->p = zset_it_member(it, out->buf, &out->len);
	out->score = zset_it_score(it);
}

/* ---- score ranges ---- */

bool zset_gte_min(double score, const struct zset_range *r)
{
	return r->minex ? score > r->min : score >= r->min;
}

bool zset_lte_max(double score, const struct zset_range *r)
{
	return r->maxex ? score < r->max : score <= r->max;
}

/* Redis's zslIsInRange: the range is not empty, and the set reaches into
 * it from both sides. */
static bool in_range(struct kv *e, const struct zset_range *r)
{
	struct zset_it it;

	if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex)))
		return false;
	zset_seek(e, zset_len(e) - 1, &it);
	if (!zset_gte_min(zset_it_score(&it), r))
		return false;
	zset_seek(e, 0, &it);
	return zset_lte_max(zset_it_score(&it), r);
}

static bool before_min(const void *arg, double score, const struct zent *key)
{
	(void)key;
	return !zset_gte_min(score, arg);
}

static bool within_max(const void *arg, double score, const struct zent *key)
{
	(void)key;
	return zset_lte_max(score, arg);
}

long long zset_first_in_range(struct kv *e, const struct zset_range *r)
{
	struct zset_it it;
	long long rank = 0;

	if (!in_range(e, r))
		return -1;
	if (kv_obj_enc(e) == ZSET_BIG)
		rank = (long long)zbt_count_before(big_of(e), before_min, r);
	for (zset_seek(e, (uint64_t)rank, &it); zset_it_valid(&it); zset_it_next(&it), rank++) {
		double s = zset_it_score(&it);
		if (zset_gte_min(s, r))
			return zset_lte_max(s, r) ? rank : -1;
	}
	return -1;
}

long long zset_last_in_range(struct kv *e, const struct zset_range *r)
{
	long long rank = (long long)zset_len(e) - 1;
	struct zset_it it;

	if (!in_range(e, r))
		return -1;
	if (kv_obj_enc(e) == ZSET_BIG)
		rank = (long long)zbt_count_before(big_of(e), within_max, r) - 1;
	for (zset_seek(e, (uint64_t)rank, &it); zset_it_valid(&it); zset_it_prev(&it), rank--) {
		double s = zset_it_score(&it);
		if (zset_lte_max(s, r))
			return zset_gte_min(s, r) ? rank : -1;
	}
	return -1;
}

/* ---- lex ranges ---- */

/* Redis's sdscmplex over a member (a string) and a bound. */
static int lex_cmp(const char *m, size_t len, const struct zset_lex_bound *b)
{
	if (b->kind == ZLEX_MAX_INF)
		return -1;
	if (b->kind == ZLEX_MIN_INF)
		return 1;
	return zent_memcmp(m, len, b->p, b->len);
}

bool zset_lex_gte_min(const char *m, size_t len, const struct zset_lex *r)
{
	int c = lex_cmp(m, len, &r->min);

	return r->min.ex ? c > 0 : c >= 0;
}

bool zset_lex_lte_max(const char *m, size_t len, const struct zset_lex *r)
{
	int c = lex_cmp(m, len, &r->max);

	return r->max.ex ? c < 0 : c <= 0;
}

/* sdscmplex(min, max): two - or two + compare equal (Redis's shared
 * objects), - is below and + above everything. */
static int bounds_cmp(const struct zset_lex_bound *a, const struct zset_lex_bound *b)
{
	if (a->kind == b->kind && a->kind != ZLEX_STR)
		return 0;
	if (a->kind == ZLEX_MIN_INF || b->kind == ZLEX_MAX_INF)
		return -1;
	if (a->kind == ZLEX_MAX_INF || b->kind == ZLEX_MIN_INF)
		return 1;
	return zent_memcmp(a->p, a->len, b->p, b->len);
}

static bool it_lex_gte_min(const struct zset_it *it, const struct zset_lex *r)
{
	char buf[LP_INTBUF_SIZE];
	size_t len;
	const char *m = zset_it_member(it, buf, &len);

	return zset_lex_gte_min(m, len, r);
}

static bool it_lex_lte_max(const struct zset_it *it, const struct zset_lex *r)
{
	char buf[LP_INTBUF_SIZE];
	size_t len;
	const char *m = zset_it_member(it, buf, &len);

	return zset_lex_lte_max(m, len, r);
}

static bool in_lex(struct kv *e, const struct zset_lex *r)
{
	int c = bounds_cmp(&r->min, &r->max);
	struct zset_it it;

	if (c > 0 || (c == 0 && (r->min.ex || r->max.ex)))
		return false;
	zset_seek(e, zset_len(e) - 1, &it);
	if (!it_lex_gte_min(&it, r))
		return false;
	zset_seek(e, 0, &it);
	return it_lex_lte_max(&it, r);
}

static bool before_lex_min(const void *arg, double score, const struct zent *key)
{
	size_t len;
	const char *m = zent_str(key, &len);

	(void)score;
	return !zset_lex_gte_min(m, len, arg);
}

static bool within_lex_max(const void *arg, double score, const struct zent *key)
{
	size_t len;
	const char *m = zent_str(key, &len);

	(void)score;
	return zset_lex_lte_max(m, len, arg);
}

long long zset_first_in_lex(struct kv *e, const struct zset_lex *r)
{
	struct zset_it it;
	long long rank = 0;

	if (!in_lex(e, r))
		return -1;
	if (kv_obj_enc(e) == ZSET_BIG)
		rank = (long long)zbt_count_before(big_of(e), before_lex_min, r);
	for (zset_seek(e, (uint64_t)rank, &it); zset_it_valid(&it); zset_it_next(&it), rank++) {
		if (it_lex_gte_min(&it, r))
			return it_lex_lte_max(&it, r) ? rank : -1;
	}
	return -1;
}

long long zset_last_in_lex(struct kv *e, const struct zset_lex *r)
{
	long long rank = (long long)zset_len(e) - 1;
	struct zset_it it;

	if (!in_lex(e, r))
		return -1;
	if (kv_obj_enc(e) == ZSET_BIG)
		rank = (long long)zbt_count_before(big_of(e), within_lex_max, r) - 1;
	for (zset_seek(e, (uint64_t)rank, &it); zset_it_valid(&it); zset_it_prev(&it), rank--) {
		if (it_lex_lte_max(&it, r))
			return it_lex_gte_min(&it, r) ? rank : -1;
	}
	return -1;
}

/* ---- ZSCAN ---- */

struct scan_acc {
	zset_scan_fn fn;
	void *arg;
};

static void scan_cb(void *arg, struct zent *z)
{
	const struct scan_acc *a = arg;
	char sbuf[ZSET_SCORE_CHARS];
	size_t len, slen = (size_t)util_d2str(sbuf, sizeof(sbuf), z->score);
	const char *m = zent_str(z, &len);

	a->fn(a->arg, m, len, sbuf, slen);
}

uint64_t zset_scan(struct kv *e, uint64_t cursor, zset_scan_fn fn, void *arg)
{
	struct scan_acc a = { .fn = fn, .arg = arg };
	unsigned char *lp, *p;

	if (kv_obj_enc(e) == ZSET_BIG)
		return zbt_scan(big_of(e), cursor, scan_cb, &a);
	/* Redis answers a listpack whole, whatever the cursor. */
	lp = lp_of(e);
	for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p))) {
		char mbuf[LP_INTBUF_SIZE], sbuf[LP_INTBUF_SIZE];
		size_t mlen, slen;
		const char *m = lp_get_text(p, mbuf, &mlen);
		const char *s = lp_get_text(lp_next(lp, p), sbuf, &slen);
		fn(arg, m, mlen, s, slen);
	}
	return 0;
}
