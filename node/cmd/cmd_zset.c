/* cmd_zset.c: the sorted set commands of one key or two (ZADD, ZINCRBY,
 * ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT, ZRANGE,
 * ZRANGESTORE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
 * ZREVRANGEBYLEX, ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX,
 * ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZSCAN). ZUNION, ZINTER, ZDIFF and
 * their STORE forms are cmd_zsetops.c's.
 *
 * Each handler follows Redis 7.0's t_zset.c: the same checks in the same
 * order (options and numbers are parsed before the key is looked up, as
 * there), the same lookups (a read counts a hit or a miss), the same
 * replies (scores through addReplyDouble: a bulk "%.17g" in RESP2, a double
 * in RESP3) and error texts, and the same encoding decisions. A set whose
 * last member goes is deleted. ZRANK and ZREVRANK take 7.2's WITHSCORE.
 * The type's storage is data/t_zset.c's. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_scan.h"
#include "cmd/cmd_zset.h"
#include "data/keyspace.h"
#include "data/t_zset.h"
#include "proto/obuf.h"
#include "proto/reply.h"

#define ERR_ZADD_XX_NX "XX and NX options at the same time are not compatible"
#define ERR_ZADD_GT_LT_NX "GT, LT, and/or NX options at the same time are not compatible"
#define ERR_ZADD_INCR "INCR option supports a single increment-element pair"
#define ERR_ZRANGE_LIMIT                                                                           \
	"syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
#define ERR_ZRANGE_WITHSCORES "syntax error, WITHSCORES not supported in combination with BYLEX"
#define ERR_NUMKEYS "numkeys should be greater than 0"
#define ERR_COUNT_POSITIVE "count should be greater than 0"

/* ---- shared helpers ---- */

void zset_limits_of(const struct cmd_ctx *c, const struct keyspace *ks, struct zset_limits *lim)
{
	lim->max_lp_entries = (uint64_t)c->env->cfg->zset_max_listpack_entries;
	lim->max_lp_value = (uint64_t)c->env->cfg->zset_max_listpack_value;
	lim->seed = ks->seed;
}

/* The argument as a C string (NUL-terminated, cut at its first NUL), in
 * buf when it fits, else in an allocation from the shard's account that
 * the caller frees (*heap). */
static char *arg_cstr(struct cmd_ctx *c, const struct cmd_arg *a, size_t skip, char *buf,
		      size_t cap, char **heap)
{
	size_t n = cmd_arg_cstr_len(a);
	char *s = buf;

	n = n > skip ? n - skip : 0;
	*heap = NULL;
	if (n + 1 > cap)
		s = *heap = mem_alloc(c->env->mem, n + 1);
	memcpy(s, a->p + skip, n);
	s[n] = '\0';
	return s;
}

bool zset_arg_double(struct cmd_ctx *c, const struct cmd_arg *a, double *out)
{
	char buf[128], *heap, *end;
	const char *s;
	bool ok;
	double v;
	long long ll;

	/* An integer within 2^53 is exactly what strtod would read. */
	if (util_str2ll(a->p, a->len, &ll) && ll >= -(1LL << 53) && ll <= (1LL << 53)) {
		*out = (double)ll;
		return true;
	}
	if (a->len == 0 || isspace((unsigned char)a->p[0]) || cmd_arg_cstr_len(a) != a->len)
		return false;
	s = arg_cstr(c, a, 0, buf, sizeof(buf), &heap);
	errno = 0;
	v = strtod(s, &end);
	ok = (size_t)(end - s) == a->len && !isnan(v) &&
	     !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0));
	mem_free(c->env->mem, heap);
	*out = v;
	return ok;
}

bool zset_arg_positive(struct cmd_ctx *c, const struct cmd_arg *a, long long *out, const char *msg)
{
	if (!util_str2ll(a->p, a->len, out) || *out < 0) {
		reply_error(c->r, msg);
		return false;
	}
	return true;
}

static void limits_here(const struct cmd_ctx *c, struct zset_limits *lim)
{
	zset_limits_of(c, c->ks, lim);
}

/* Deletes the key when its set has no member left. */
static bool drop_if_empty(struct keyspace *ks, struct kv *e)
{
	if (zset_len(e) != 0)
		return false;
	ks_delete_entry(ks, e);
	return true;
}

/* Reports a removal from key's sorted set as Redis does: event, then
 * "del" when it emptied the set. */
static void zset_notify(struct keyspace *ks, const struct cmd_arg *key, const char *event,
			bool emptied)
{
	ks_notify(ks, CONFIG_NOTIFY_ZSET, event, key->p, key->len);
	if (emptied)
		ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", key->p, key->len);
}

/* ---- ZADD, ZINCRBY ---- */

/* Scores of a ZADD parsed into the request's own array up to this many. */
#define ZADD_SCORES_INLINE 8

struct zadd_args {
	int flags;
	bool ch;
	int first; /* the first score */
	long n;    /* score, member pairs */
	double *scores;
	double inline_scores[ZADD_SCORES_INLINE];
};

/* ZADD's options, then the pairs' count and the options' compatibility,
 * in Redis's order. */
static bool zadd_options(struct cmd_ctx *c, struct zadd_args *z)
{
	static const struct {
		const char *name;
		int flag;
	} opts[] = { { "nx", ZADD_IN_NX },     { "xx", ZADD_IN_XX }, { "ch", 0 },
		     { "incr", ZADD_IN_INCR }, { "gt", ZADD_IN_GT }, { "lt", ZADD_IN_LT } };
	size_t i;

	for (z->first = 2; z->first < c->argc; z->first++) {
		const struct cmd_arg *a = &c->argv[z->first];
		/* Every option is 2 or 4 letters: a score is rarely compared. */
		if (a->len != 2 && a->len != 4) {
			size_t k = cmd_arg_cstr_len(a);
			if (k != 2 && k != 4)
				break;
		}
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (cmd_arg_cstr_eq(a, opts[i].name))
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			break;
		z->flags |= opts[i].flag;
		z->ch = z->ch || opts[i].flag == 0;
	}
	z->n = (c->argc - z->first) / 2;
	if ((c->argc - z->first) % 2 != 0 || z->n == 0) {
		cmd_syntax_error(c);
		return false;
	}
	if ((z->flags & ZADD_IN_NX) && (z->flags & ZADD_IN_XX)) {
		reply_error(c->r, ERR_ZADD_XX_NX);
		return false;
	}
	if (((z->flags & ZADD_IN_GT) && (z->flags & (ZADD_IN_NX | ZADD_IN_LT))) ||
	    ((z->flags & ZADD_IN_LT) && (z->flags & ZADD_IN_NX))) {
		reply_error(c->r, ERR_ZADD_GT_LT_NX);
		return false;
	}
	if ((z->flags & ZADD_IN_INCR) && z->n > 1) {
		reply_error(c->r, ERR_ZADD_INCR);
		return false;
	}
	return true;
}

static bool zadd_scores(struct cmd_ctx *c, struct zadd_args *z)
{
	long i;

	if (z->n > ZADD_SCORES_INLINE)
		z->scores = mem_alloc(c->env->mem, (size_t)z->n * sizeof(double));
	for (i = 0; i < z->n; i++) {
		if (!zset_arg_double(c, &c->argv[z->first + 2 * i], &z->scores[i])) {
			reply_error(c->r, ERR_NOT_FLOAT);
			return false;
		}
	}
	return true;
}

/* Adds the pairs; false after the NaN error (the pairs before it stay, as
 * in Redis). */
static bool zadd_apply(struct cmd_ctx *c, struct kv *e, const struct zadd_args *z, long long *added,
		       long long *updated, long long *processed, double *score)
{
	struct zset_limits lim;
	long i;

	limits_here(c, &lim);
	for (i = 0; i < z->n; i++) {
		const struct cmd_arg *m = &c->argv[z->first + 2 * i + 1];
		int out;
		if (!zset_add(&c->ks->mem, e, &lim, z->scores[i], m->p, m->len, z->flags, &out,
			      score)) {
			reply_error(c->r, ERR_ZSET_NAN);
			return false;
		}
		*added += (out & ZADD_OUT_ADDED) != 0;
		*updated += (out & ZADD_OUT_UPDATED) != 0;
		*processed += (out & ZADD_OUT_NOP) == 0;
	}
	return true;
}

static void zadd_generic(struct cmd_ctx *c, int flags)
{
	struct zadd_args z = { .flags = flags };
	long long added = 0, updated = 0, processed = 0;
	double score = 0;
	struct kv *e;

	z.scores = z.inline_scores;
	if (!zadd_options(c, &z) || !zadd_scores(c, &z))
		goto out;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_ZSET, &e))
		goto out;
	if (e == NULL && !(z.flags & ZADD_IN_XX)) {
		struct zset_limits lim;
		unsigned enc;
		void *obj;
		limits_here(c, &lim);
		obj = zset_new(&c->ks->mem, &lim, c->argv[z.first + 1].len, &enc);
		e = ks_set_obj(c->ks, c->argv[1].p, c->argv[1].len, KV_ZSET, enc, obj, KS_TTL_NONE);
	}
	if (e != NULL && !zadd_apply(c, e, &z, &added, &updated, &processed, &score))
		goto out;
	ks_changed(c->ks, (uint64_t)(added + updated));
	if (!(z.flags & ZADD_IN_INCR))
		reply_int(c->r, z.ch ? added + updated : added);
	else if (processed > 0)
		reply_double(c->r, score);
	else
		reply_null(c->r);
out:
	if (added + updated > 0)
		ks_notify(c->ks, CONFIG_NOTIFY_ZSET, (z.flags & ZADD_IN_INCR) ? "zincr" : "zadd",
			  c->argv[1].p, c->argv[1].len);
	if (z.scores != z.inline_scores)
		mem_free(c->env->mem, z.scores);
}

void cmd_zadd(struct cmd_ctx *c)
{
	zadd_generic(c, 0);
}

void cmd_zincrby(struct cmd_ctx *c)
{
	zadd_generic(c, ZADD_IN_INCR);
}

/* ---- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK ---- */

void cmd_zrem(struct cmd_ctx *c)
{
	long long deleted = 0;
	bool emptied = false;
	struct kv *e;
	int i;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	for (i = 2; e != NULL && i < c->argc; i++) {
		deleted += zset_del(&c->ks->mem, e, c->argv[i].p, c->argv[i].len);
		if ((emptied = drop_if_empty(c->ks, e)))
			break;
	}
	ks_changed(c->ks, (uint64_t)deleted);
	if (deleted > 0)
		zset_notify(c->ks, &c->argv[1], "zrem", emptied);
	reply_int(c->r, deleted);
}

void cmd_zcard(struct cmd_ctx *c)
{
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		reply_int(c->r, e != NULL ? (long long)zset_len(e) : 0);
}

void cmd_zscore(struct cmd_ctx *c)
{
	double score;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	if (e != NULL && zset_score(e, c->argv[2].p, c->argv[2].len, &score))
		reply_double(c->r, score);
	else
		reply_null(c->r);
}

void cmd_zmscore(struct cmd_ctx *c)
{
	double score;
	struct kv *e;
	int i;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	reply_array(c->r, c->argc - 2);
	for (i = 2; i < c->argc; i++) {
		if (e != NULL && zset_score(e, c->argv[i].p, c->argv[i].len, &score))
			reply_double(c->r, score);
		else
			reply_null(c->r);
	}
}

/* ZRANK and ZREVRANK, with Redis 7.2's WITHSCORE: [rank, score], or a
 * null array when the member or the key is missing. */
static void zrank_generic(struct cmd_ctx *c, bool rev)
{
	bool withscore = c->argc == 4;
	long long rank;
	double score;
	struct kv *e;

	if (c->argc > 4) {
		reply_errorf(c->r, "wrong number of arguments for '%s' command", c->cmd->fullname);
		return;
	}
	if (withscore && !cmd_arg_cstr_eq(&c->argv[3], "withscore")) {
		cmd_syntax_error(c);
		return;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	rank = e != NULL ? zset_rank(e, c->argv[2].p, c->argv[2].len, &score) : -1;
	if (rank < 0) {
		if (withscore)
			reply_null_array(c->r);
		else
			reply_null(c->r);
		return;
	}
	if (rev)
		rank = (long long)zset_len(e) - 1 - rank;
	if (!withscore) {
		reply_int(c->r, rank);
		return;
	}
	reply_array(c->r, 2);
	reply_int(c->r, rank);
	reply_double(c->r, score);
}

void cmd_zrank(struct cmd_ctx *c)
{
	zrank_generic(c, false);
}

void cmd_zrevrank(struct cmd_ctx *c)
{
	zrank_generic(c, true);
}

/* ---- ranges ---- */

/* One bound of Redis's zslParseRange: strtod over the argument as a C
 * string, after a '(' that makes it exclusive; NaN refused. */
static bool parse_score_bound(struct cmd_ctx *c, const struct cmd_arg *a, double *v, bool *ex)
{
	char buf[128], *heap, *end;
	const char *s;
	bool ok;

	*ex = a->len > 0 && a->p[0] == '(';
	s = arg_cstr(c, a, *ex ? 1 : 0, buf, sizeof(buf), &heap);
	*v = strtod(s, &end);
	ok = *end == '\0' && !isnan(*v);
	mem_free(c->env->mem, heap);
	return ok;
}

static bool parse_range(struct cmd_ctx *c, const struct cmd_arg *min, const struct cmd_arg *max,
			struct zset_range *r)
{
	if (parse_score_bound(c, min, &r->min, &r->minex) &&
	    parse_score_bound(c, max, &r->max, &r->maxex))
		return true;
	reply_error(c->r, ERR_ZSET_MINMAX);
	return false;
}

/* One bound of Redis's zslParseLexRangeItem: + and - alone (as C strings),
 * or ( or [ and the bytes after it. */
static bool parse_lex_bound(const struct cmd_arg *a, struct zset_lex_bound *b)
{
	size_t n = cmd_arg_cstr_len(a);

	b->p = a->p + 1;
	b->len = a->len > 0 ? a->len - 1 : 0;
	b->kind = ZLEX_STR;
	b->ex = true;
	if (n == 0)
		return false;
	switch (a->p[0]) {
	case '+': b->kind = ZLEX_MAX_INF; return n == 1;
	case '-': b->kind = ZLEX_MIN_INF; return n == 1;
	case '(': return true;
	case '[': b->ex = false; return true;
	default: return false;
	}
}

static bool parse_lex(struct cmd_ctx *c, const struct cmd_arg *min, const struct cmd_arg *max,
		      struct zset_lex *r)
{
	if (parse_lex_bound(min, &r->min) && parse_lex_bound(max, &r->max))
		return true;
	reply_error(c->r, ERR_ZSET_LEX);
	return false;
}

void cmd_zcount(struct cmd_ctx *c)
{
	long long first, last;
	struct zset_range r;
	struct kv *e;

	if (!parse_range(c, &c->argv[2], &c->argv[3], &r))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	first = e != NULL ? zset_first_in_range(e, &r) : -1;
	if (first < 0) {
		reply_int(c->r, 0);
		return;
	}
	last = zset_last_in_range(e, &r);
	reply_int(c->r, last >= first ? last - first + 1 : 0);
}

void cmd_zlexcount(struct cmd_ctx *c)
{
	long long first, last;
	struct zset_lex r;
	struct kv *e;

	if (!parse_lex(c, &c->argv[2], &c->argv[3], &r))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	first = e != NULL ? zset_first_in_lex(e, &r) : -1;
	if (first < 0) {
		reply_int(c->r, 0);
		return;
	}
	if (kv_obj_enc(e) == ZSET_LP) {
		/* Redis walks a listpack from the first while in range (members
		 * of unequal scores may leave and re-enter it). */
		struct zset_it it;
		char buf[UTIL_LL_CHARS];
		size_t len;
		for (zset_seek(e, (uint64_t)first, &it), last = first; zset_it_valid(&it);
		     zset_it_next(&it), last++) {
			const char *m = zset_it_member(&it, buf, &len);
			if (!zset_lex_lte_max(m, len, &r))
				break;
		}
		reply_int(c->r, last - first);
		return;
	}
	last = zset_last_in_lex(e, &r);
	reply_int(c->r, last >= first ? last - first + 1 : 0);
}

/* ---- ZRANGE and its family ---- */

enum zr_type { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };
enum zr_dir { ZR_DIR_AUTO, ZR_FORWARD, ZR_REVERSE };

/* Where a range goes (Redis's zrange_result_handler): the client, or a new
 * set for ZRANGESTORE, built detached (the source may be the destination)
 * in an entry of its own, then stored. */
struct zr_out {
	struct cmd_ctx *c;
	bool withscores;
	bool store;
	struct keyspace *dks;
	struct zset_limits lim;
	uint64_t n;
	/* Last: an entry's flexible value, room for the object pointer. */
	union {
		struct kv kv;
		char raw[sizeof(struct kv) + sizeof(void *)];
	} tmp;
};

static void zr_begin(struct zr_out *o, uint64_t n)
{
	struct cmd_ctx *c = o->c;

	if (!o->store) {
		reply_array(c->r, (long long)(o->withscores && c->r->proto == 2 ? 2 * n : n));
		return;
	}
	memset(&o->tmp, 0, sizeof(o->tmp));
	o->tmp.kv.type = KV_ZSET;
	/* Redis 7.0's zrangeResultBeginStore: the big encoding from the start
	 * when the length is known (a range by rank) and over the entries
	 * limit, else a listpack that converts as it grows. Which one shows:
	 * a listpack keeps no negative zero. */
	if (n > o->lim.max_lp_entries)
		kv_set_obj(&o->tmp.kv, zset_big_new(&o->dks->mem, o->lim.seed), ZSET_BIG);
	else
		kv_set_obj(&o->tmp.kv, zset_new_lp(&o->dks->mem), ZSET_LP);
}

static void zr_emit(struct zr_out *o, const struct zset_item *it)
{
	struct cmd_ctx *c = o->c;
	int out;

	o->n++;
	if (o->store) {
		bool ok = zset_add(&o->dks->mem, &o->tmp.kv, &o->lim, it->score, it->p, it->len, 0,
				   &out, NULL);
		ASSERT(ok);
		return;
	}
	if (o->withscores && c->r->proto >= 3)
		reply_array(c->r, 2);
	reply_bulk(c->r, it->p, it->len);
	if (o->withscores)
		reply_double(c->r, it->score);
}

/* ZRANGESTORE's end: the result replaces the destination, or an empty one
 * deletes it. */
static void zr_finish(struct zr_out *o, const struct cmd_arg *dst)
{
	const struct kv_type_ops *ops;

	if (!o->store)
		return;
	ops = o->dks->types[KV_ZSET];
	if (o->n > 0) {
		ks_lookup_write(o->dks, dst->p, dst->len); /* Redis's setKey: expires it */
		ks_set_obj(o->dks, dst->p, dst->len, KV_ZSET, kv_obj_enc(&o->tmp.kv),
			   kv_obj(&o->tmp.kv), KS_TTL_NONE);
		ks_changed(o->dks, 1);
		ks_notify(o->dks, CONFIG_NOTIFY_ZSET, "zrangestore", dst->p, dst->len);
	} else {
		ops->free(&o->dks->mem, kv_obj(&o->tmp.kv), kv_obj_enc(&o->tmp.kv));
		if (ks_delete_stale(o->dks, dst->p, dst->len)) {
			ks_changed(o->dks, 1);
			ks_notify(o->dks, CONFIG_NOTIFY_GENERIC, "del", dst->p, dst->len);
		}
	}
	reply_int(o->c->r, (long long)o->n);
}

/* What a ZRANGE asks for, parsed. */
struct zr_req {
	enum zr_type type;
	enum zr_dir dir;
	bool withscores;
	long long start, end;    /* ZR_RANK */
	long long offset, limit; /* LIMIT; limit -1: no limit */
	struct zset_range range;
	struct zset_lex lex;
};

static void zr_rank(struct zr_out *o, struct kv *e, const struct zr_req *q)
{
	long long llen = (long long)zset_len(e), start = q->start, end = q->end, n, i;
	struct zset_item item;
	struct zset_it it;
	bool rev = q->dir == ZR_REVERSE;

	if (start < 0)
		start = llen + start;
	if (end < 0)
		end = llen + end;
	if (start < 0)
		start = 0;
	if (start > end || start >= llen) {
		zr_begin(o, 0);
		return;
	}
	if (end >= llen)
		end = llen - 1;
	n = end - start + 1;
	zr_begin(o, (uint64_t)n);
	zset_seek(e, (uint64_t)(rev ? llen - 1 - start : start), &it);
	for (i = 0; i < n; i++) {
		ASSERT(zset_it_valid(&it));
		zset_it_get(&it, &item);
		zr_emit(o, &item);
		if (rev)
			zset_it_prev(&it);
		else
			zset_it_next(&it);
	}
}

/* Whether the item is still inside the far bound of a score or lex range,
 * walking forward (max) or backward (min). */
static bool zr_inside(const struct zr_req *q, const struct zset_item *it)
{
	bool rev = q->dir == ZR_REVERSE;

	if (q->type == ZR_SCORE)
		return rev ? zset_gte_min(it->score, &q->range)
			   : zset_lte_max(it->score, &q->range);
	return rev ? zset_lex_gte_min(it->p, it->len, &q->lex)
		   : zset_lex_lte_max(it->p, it->len, &q->lex);
}

/* Redis's walk of a score or lex range from its first (last) member: skip
 * offset members, then take up to limit while inside. With o NULL, only
 * counts. A negative offset walks off the end, as in Redis: nothing. */
static uint64_t zr_walk(struct zr_out *o, struct kv *e, long long first, const struct zr_req *q)
{
	long long offset = q->offset, limit = q->limit;
	struct zset_item item;
	struct zset_it it;
	uint64_t n = 0;
	bool rev = q->dir == ZR_REVERSE;

	if (first < 0 || offset < 0)
		return 0;
	zset_seek(e, (uint64_t)first, &it);
	while (zset_it_valid(&it) && offset-- > 0) {
		if (rev)
			zset_it_prev(&it);
		else
			zset_it_next(&it);
	}
	for (; zset_it_valid(&it) && limit-- != 0; n++) {
		zset_it_get(&it, &item);
		if (!zr_inside(q, &item))
			break;
		if (o != NULL)
			zr_emit(o, &item);
		if (rev)
			zset_it_prev(&it);
		else
			zset_it_next(&it);
	}
	return n;
}

static void zr_bounded(struct zr_out *o, struct kv *e, const struct zr_req *q)
{
	bool rev = q->dir == ZR_REVERSE;
	long long first;

	if (q->type == ZR_SCORE && q->offset > 0 && (uint64_t)q->offset >= zset_len(e)) {
		zr_begin(o, 0);
		return;
	}
	if (q->type == ZR_SCORE)
		first = rev ? zset_last_in_range(e, &q->range) : zset_first_in_range(e, &q->range);
	else
		first = rev ? zset_last_in_lex(e, &q->lex) : zset_first_in_lex(e, &q->lex);
	/* The reply's length comes first: count, then send. */
	zr_begin(o, o->store ? 0 : zr_walk(NULL, e, first, q));
	zr_walk(o, e, first, q);
}

/* The options after <src> <min> <max>, in Redis's loop: WITHSCORES (not
 * for a store), LIMIT offset count (parsed at once), REV, BYLEX, BYSCORE
 * (for plain ZRANGE and ZRANGESTORE), anything else a syntax error. */
static bool zr_options(struct cmd_ctx *c, int first, bool store, struct zr_req *q)
{
	int j;

	for (j = first; j < c->argc; j++) {
		const struct cmd_arg *a = &c->argv[j];
		if (!store && cmd_arg_cstr_eq(a, "withscores")) {
			q->withscores = true;
		} else if (cmd_arg_cstr_eq(a, "limit") && c->argc - j - 1 >= 2) {
			if (!cmd_arg_ll(c, &c->argv[j + 1], &q->offset, NULL) ||
			    !cmd_arg_ll(c, &c->argv[j + 2], &q->limit, NULL))
				return false;
			j += 2;
		} else if (q->dir == ZR_DIR_AUTO && cmd_arg_cstr_eq(a, "rev")) {
			q->dir = ZR_REVERSE;
		} else if (q->type == ZR_AUTO && cmd_arg_cstr_eq(a, "bylex")) {
			q->type = ZR_LEX;
		} else if (q->type == ZR_AUTO && cmd_arg_cstr_eq(a, "byscore")) {
			q->type = ZR_SCORE;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

/* Redis's zrangeGenericCommand up to the lookup: the options, their
 * conflicts, then the range itself ([max, min] when reversed by score or
 * lex). */
static bool zr_parse(struct cmd_ctx *c, int src, bool store, struct zr_req *q)
{
	const struct cmd_arg *min = &c->argv[src + 1], *max = &c->argv[src + 2];

	q->limit = -1;
	if (!zr_options(c, src + 3, store, q))
		return false;
	if (q->dir == ZR_DIR_AUTO)
		q->dir = ZR_FORWARD;
	if (q->type == ZR_AUTO)
		q->type = ZR_RANK;
	if (q->limit != -1 && q->type == ZR_RANK) {
		reply_error(c->r, ERR_ZRANGE_LIMIT);
		return false;
	}
	if (q->withscores && q->type == ZR_LEX) {
		reply_error(c->r, ERR_ZRANGE_WITHSCORES);
		return false;
	}
	if (q->dir == ZR_REVERSE && q->type != ZR_RANK) {
		const struct cmd_arg *t = min;
		min = max;
		max = t;
	}
	if (q->type == ZR_RANK)
		return cmd_arg_ll(c, min, &q->start, NULL) && cmd_arg_ll(c, max, &q->end, NULL);
	if (q->type == ZR_SCORE)
		return parse_range(c, min, max, &q->range);
	return parse_lex(c, min, max, &q->lex);
}

static void zrange_generic(struct cmd_ctx *c, int src, bool store, enum zr_type type,
			   enum zr_dir dir)
{
	struct zr_req q = { .type = type, .dir = dir };
	struct zr_out o = { .c = c, .store = store };
	const struct cmd_arg *key = &c->argv[src];
	struct keyspace *ks = cmd_ks(c, key->p, key->len);
	struct kv *e;

	if (!zr_parse(c, src, store, &q))
		return;
	o.withscores = q.withscores;
	if (store) {
		o.dks = cmd_ks(c, c->argv[1].p, c->argv[1].len);
		zset_limits_of(c, o.dks, &o.lim);
	}
	if (!cmd_lookup_read(c, ks, key, KV_ZSET, &e))
		return;
	if (e == NULL) {
		if (store) {
			zr_begin(&o, 0);
			zr_finish(&o, &c->argv[1]);
		} else {
			reply_empty_array(c->r);
		}
		return;
	}
	if (q.type == ZR_RANK)
		zr_rank(&o, e, &q);
	else
		zr_bounded(&o, e, &q);
	zr_finish(&o, &c->argv[1]);
}

void cmd_zrange(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_AUTO, ZR_DIR_AUTO);
}

void cmd_zrangestore(struct cmd_ctx *c)
{
	zrange_generic(c, 2, true, ZR_AUTO, ZR_DIR_AUTO);
}

void cmd_zrevrange(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_RANK, ZR_REVERSE);
}

void cmd_zrangebyscore(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_SCORE, ZR_FORWARD);
}

void cmd_zrevrangebyscore(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_SCORE, ZR_REVERSE);
}

void cmd_zrangebylex(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_LEX, ZR_FORWARD);
}

void cmd_zrevrangebylex(struct cmd_ctx *c)
{
	zrange_generic(c, 1, false, ZR_LEX, ZR_REVERSE);
}

/* ---- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ---- */

/* The ranks a score or lex range covers, as Redis deletes them: from the
 * first member in it, while inside its far bound. */
static long long zrem_count(struct kv *e, long long first, const struct zr_req *q)
{
	struct zr_req fwd = *q;

	fwd.dir = ZR_FORWARD;
	fwd.offset = 0;
	fwd.limit = -1;
	return (long long)zr_walk(NULL, e, first, &fwd);
}

static void zremrange_generic(struct cmd_ctx *c, enum zr_type type)
{
	struct zr_req q = { .type = type };
	long long first, n;
	struct kv *e;

	if ((type == ZR_RANK && (!cmd_arg_ll(c, &c->argv[2], &q.start, NULL) ||
				 !cmd_arg_ll(c, &c->argv[3], &q.end, NULL))) ||
	    (type == ZR_SCORE && !parse_range(c, &c->argv[2], &c->argv[3], &q.range)) ||
	    (type == ZR_LEX && !parse_lex(c, &c->argv[2], &c->argv[3], &q.lex)))
		return;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (type == ZR_RANK) {
		long long llen = (long long)zset_len(e);
		first = q.start < 0 ? llen + q.start : q.start;
		q.end = q.end < 0 ? llen + q.end : q.end;
		first = first < 0 ? 0 : first;
		if (q.end >= llen)
			q.end = llen - 1;
		n = first > q.end || first >= llen ? 0 : q.end - first + 1;
	} else {
		first = type == ZR_SCORE ? zset_first_in_range(e, &q.range)
					 : zset_first_in_lex(e, &q.lex);
		n = first < 0 ? 0 : zrem_count(e, first, &q);
	}
	if (n > 0) {
		zset_del_ranks(&c->ks->mem, e, (uint64_t)first, (uint64_t)(first + n - 1));
		ks_changed(c->ks, (uint64_t)n);
		zset_notify(c->ks, &c->argv[1],
			    type == ZR_RANK    ? "zremrangebyrank"
			    : type == ZR_SCORE ? "zremrangebyscore"
					       : "zremrangebylex",
			    zset_len(e) == 0);
		drop_if_empty(c->ks, e);
	}
	reply_int(c->r, n);
}

void cmd_zremrangebyrank(struct cmd_ctx *c)
{
	zremrange_generic(c, ZR_RANK);
}

void cmd_zremrangebyscore(struct cmd_ctx *c)
{
	zremrange_generic(c, ZR_SCORE);
}

void cmd_zremrangebylex(struct cmd_ctx *c)
{
	zremrange_generic(c, ZR_LEX);
}

/* ---- ZPOPMIN, ZPOPMAX, ZMPOP ---- */

/* Pops up to count members from the low (or high) end of the set at key,
 * replying as Redis's genericZpopCommand: pairs flat or nested, and for
 * ZMPOP the key first. */
static void zpop(struct cmd_ctx *c, struct keyspace *ks, const struct cmd_arg *key, struct kv *e,
		 bool max, long long count, bool nested, bool emitkey)
{
	long long llen = (long long)zset_len(e), n = count > llen ? llen : count, i;
	struct zset_item item;
	struct zset_it it;

	if (emitkey) {
		reply_array(c->r, 2);
		reply_bulk(c->r, key->p, key->len);
	}
	reply_array(c->r, nested ? n : 2 * n);
	zset_seek(e, max ? (uint64_t)(llen - 1) : 0, &it);
	for (i = 0; i < n; i++) {
		zset_it_get(&it, &item);
		if (nested)
			reply_array(c->r, 2);
		reply_bulk(c->r, item.p, item.len);
		reply_double(c->r, item.score);
		if (max)
			zset_it_prev(&it);
		else
			zset_it_next(&it);
	}
	if (max)
		zset_del_ranks(&ks->mem, e, (uint64_t)(llen - n), (uint64_t)(llen - 1));
	else
		zset_del_ranks(&ks->mem, e, 0, (uint64_t)(n - 1));
	ks_changed(ks, (uint64_t)n);
	zset_notify(ks, key, max ? "zpopmax" : "zpopmin", zset_len(e) == 0);
	drop_if_empty(ks, e);
}

static void zpop_minmax(struct cmd_ctx *c, bool max)
{
	long long count = -1;
	struct kv *e;

	if (c->argc > 3) {
		cmd_syntax_error(c);
		return;
	}
	if (c->argc == 3 && !zset_arg_positive(c, &c->argv[2], &count, ERR_ZSET_POSITIVE))
		return;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	if (e == NULL || count == 0) {
		reply_empty_array(c->r);
		return;
	}
	/* RESP3 nests the pairs when a count was given. */
	zpop(c, c->ks, &c->argv[1], e, max, count < 0 ? 1 : count, c->r->proto >= 3 && count != -1,
	     false);
}

void cmd_zpopmin(struct cmd_ctx *c)
{
	zpop_minmax(c, false);
}

void cmd_zpopmax(struct cmd_ctx *c)
{
	zpop_minmax(c, true);
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]. */
void cmd_zmpop(struct cmd_ctx *c)
{
	long long numkeys, count = -1;
	int where, j;
	bool max;

	if (!util_str2ll(c->argv[1].p, c->argv[1].len, &numkeys) || numkeys < 1) {
		reply_error(c->r, ERR_NUMKEYS);
		return;
	}
	if (numkeys > c->argc - 3) {
		cmd_syntax_error(c);
		return;
	}
	where = 2 + (int)numkeys;
	max = cmd_arg_cstr_eq(&c->argv[where], "max");
	if (!max && !cmd_arg_cstr_eq(&c->argv[where], "min")) {
		cmd_syntax_error(c);
		return;
	}
	for (j = where + 1; j < c->argc; j++) {
		if (count != -1 || !cmd_arg_cstr_eq(&c->argv[j], "count") || j + 1 >= c->argc) {
			cmd_syntax_error(c);
			return;
		}
		j++;
		if (!util_str2ll(c->argv[j].p, c->argv[j].len, &count) || count < 1) {
			reply_error(c->r, ERR_COUNT_POSITIVE);
			return;
		}
	}
	for (j = 2; j < where; j++) {
		const struct cmd_arg *key = &c->argv[j];
		struct keyspace *ks = cmd_ks(c, key->p, key->len);
		struct kv *e;
		if (!cmd_lookup_write(c, ks, key, KV_ZSET, &e))
			return;
		if (e != NULL) {
			zpop(c, ks, key, e, max, count < 0 ? 1 : count, true, true);
			return;
		}
	}
	reply_null_array(c->r);
}

/* BZPOPMIN and BZPOPMAX's one member: [key, member, score]. */
static void bzpop_one(struct cmd_ctx *c, struct keyspace *ks, const struct cmd_arg *key,
		      struct kv *e, bool max)
{
	uint64_t last = zset_len(e) - 1, rank = max ? last : 0;
	struct zset_item item;
	struct zset_it it;

	reply_array(c->r, 3);
	reply_bulk(c->r, key->p, key->len);
	zset_seek(e, rank, &it);
	zset_it_get(&it, &item);
	reply_bulk(c->r, item.p, item.len);
	reply_double(c->r, item.score);
	zset_del_ranks(&ks->mem, e, rank, rank);
	ks_changed(ks, 1);
	zset_notify(ks, key, max ? "zpopmax" : "zpopmin", zset_len(e) == 0);
	drop_if_empty(ks, e);
}

bool cmd_zset_bpop(struct cmd_ctx *c, int first, int n, bool max, long long count, bool skip_other)
{
	int j;

	ASSERT(first >= 1 && n >= 1 && first + n <= c->argc);
	for (j = first; j < first + n; j++) {
		const struct cmd_arg *key = &c->argv[j];
		struct keyspace *ks = cmd_ks(c, key->p, key->len);
		struct kv *e = ks_lookup_write(ks, key->p, key->len);
		if (e != NULL && e->type != KV_ZSET) {
			if (skip_other)
				continue;
			cmd_reply_wrongtype(c);
			return true;
		}
		if (e == NULL)
			continue;
		if (count < 0)
			bzpop_one(c, ks, key, e, max);
		else
			zpop(c, ks, key, e, max, count, true, true);
		return true;
	}
	return false;
}

/* ---- ZRANDMEMBER ---- */

/* Random ranks for ZRANDMEMBER: a listpack's members are walked once into
 * an array (a rank is then O(1)); a big set seeks each rank (O(log n)). */
struct picker {
	struct cmd_ctx *c;
	struct kv *e;
	uint64_t size;
	struct zset_it *its; /* listpack only */
	bool withscores;
};

static void picker_init(struct picker *pk, struct cmd_ctx *c, struct kv *e, bool withscores)
{
	uint64_t i;

	pk->c = c;
	pk->e = e;
	pk->size = zset_len(e);
	pk->withscores = withscores;
	pk->its = NULL;
	if (kv_obj_enc(e) != ZSET_LP)
		return;
	pk->its = mem_alloc(c->env->mem, pk->size * sizeof(*pk->its));
	zset_seek(e, 0, &pk->its[0]);
	for (i = 1; i < pk->size; i++) {
		pk->its[i] = pk->its[i - 1];
		zset_it_next(&pk->its[i]);
	}
}

static void picker_emit(struct picker *pk, uint64_t rank)
{
	struct cmd_ctx *c = pk->c;
	struct zset_item item;
	struct zset_it it;

	if (pk->its != NULL)
		it = pk->its[rank];
	else
		zset_seek(pk->e, rank, &it);
	zset_it_get(&it, &item);
	if (pk->withscores && c->r->proto >= 3)
		reply_array(c->r, 2);
	reply_bulk(c->r, item.p, item.len);
	if (pk->withscores)
		reply_double(c->r, item.score);
}

static void picker_len(struct picker *pk, uint64_t n)
{
	reply_array(pk->c->r, (long long)(pk->withscores && pk->c->r->proto == 2 ? 2 * n : n));
}

/* Whether the reply has grown past the output limit: a request for more
 * members than a client may receive stops there (the connection is then
 * closed for its output), rather than build an unbounded reply first. */
static bool reply_too_big(const struct cmd_ctx *c)
{
	return c->r->ob->bytes > (size_t)config_obuf_hard(c->env->cfg);
}

/* A set of ranks (open addressing; rank + 1 stored, 0 is empty). Adds r;
 * false if it was there. */
static bool rankset_add(uint64_t *set, uint64_t cap, uint64_t r)
{
	uint64_t i = (r * 0x9e3779b97f4a7c15ull) & (cap - 1);

	for (; set[i] != 0; i = (i + 1) & (cap - 1))
		if (set[i] == r + 1)
			return false;
	set[i] = r + 1;
	return true;
}

static bool rankset_has(const uint64_t *set, uint64_t cap, uint64_t r)
{
	uint64_t i = (r * 0x9e3779b97f4a7c15ull) & (cap - 1);

	for (; set[i] != 0; i = (i + 1) & (cap - 1))
		if (set[i] == r + 1)
			return true;
	return false;
}

/* count distinct members, fewer than the set has: random ranks, retried
 * when taken; when count is over a third of the set, the ranks to leave
 * out are drawn instead (Redis's CASE 3), so the draws stay O(size). */
static void pick_unique(struct picker *pk, uint64_t count)
{
	uint64_t drop = pk->size - count, k = count * 3 > pk->size ? drop : count;
	uint64_t cap = 1, *set, taken = 0, r;
	struct keyspace *ks = pk->c->ks;

	while (cap < 2 * k + 2)
		cap *= 2;
	set = mem_calloc(pk->c->env->mem, cap * sizeof(*set));
	picker_len(pk, count);
	while (taken < k) {
		r = ks_random_u64(ks) % pk->size;
		if (!rankset_add(set, cap, r))
			continue;
		taken++;
		if (k == count)
			picker_emit(pk, r);
	}
	for (r = 0; k != count && r < pk->size; r++)
		if (!rankset_has(set, cap, r))
			picker_emit(pk, r);
	mem_free(pk->c->env->mem, set);
}

static void zrandmember_count(struct cmd_ctx *c)
{
	bool withscores;
	struct picker pk;
	uint64_t count, i;
	long long l;
	struct kv *e;

	if (!cmd_rand_count(c, "withscores", &l, &withscores))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	count = l >= 0 ? (uint64_t)l : (uint64_t)-l;
	if (e == NULL || count == 0) {
		reply_empty_array(c->r);
		return;
	}
	picker_init(&pk, c, e, withscores);
	if (l < 0 || count == 1) {
		picker_len(&pk, count);
		for (i = 0; i < count && !reply_too_big(c); i++)
			picker_emit(&pk, ks_random_u64(c->ks) % pk.size);
	} else if (count >= pk.size) {
		/* The whole set, from the highest score down (Redis's zuiNext
		 * order). */
		picker_len(&pk, pk.size);
		for (i = pk.size; i > 0; i--)
			picker_emit(&pk, i - 1);
	} else {
		pick_unique(&pk, count);
	}
	mem_free(c->env->mem, pk.its);
}

void cmd_zrandmember(struct cmd_ctx *c)
{
	struct zset_item item;
	struct zset_it it;
	struct kv *e;

	if (c->argc >= 3) {
		zrandmember_count(c);
		return;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_ZSET, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	zset_seek(e, ks_random_u64(c->ks) % zset_len(e), &it);
	zset_it_get(&it, &item);
	reply_bulk(c->r, item.p, item.len);
}

/* ---- ZSCAN ---- */

/* Keeps a member that matches, and its score. COUNT counts members and
 * scores walked, before MATCH filters, as Redis's zscanCommand. */
static void zscan_cb(void *arg, const char *m, size_t mlen, const char *s, size_t slen)
{
	struct scan_acc *a = arg;

	a->seen++;
	if (!scan_acc_match(a, m, mlen))
		return;
	scan_acc_put(a, m, mlen);
	scan_acc_put(a, s, slen);
}

void cmd_zscan(struct cmd_ctx *c)
{
	unsigned long long cursor;
	struct scan_acc a;
	struct scan_opts o;
	long long steps;
	struct kv *e;

	if (!scan_key_begin(c, KV_ZSET, &cursor, &o, &e, &a))
		return;
	steps = o.count * 10;
	do {
		cursor = zset_scan(e, cursor, zscan_cb, &a);
	} while (scan_key_more(&a, cursor, &steps));
	scan_key_reply(c, cursor, &a);
}
