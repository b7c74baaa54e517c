/* cmd_lcs.c: LCS, the longest common subsequence of two strings.
 *
 * Redis 7's algorithm, so that the subsequence it picks among equal ones
 * and the ranges IDX reports are Redis's: the dynamic-programming table of
 * LCS lengths of every pair of prefixes, then a walk back from the end of
 * both strings. The table is (|a|+1)(|b|+1) 32-bit cells, refused above
 * proto-max-bulk-len bytes (the same bound as Redis's) and allocated so that
 * a refusal by the allocator is an error reply, not the end of the node. */
#include <stdint.h>
#include <string.h>

#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/t_string.h"
#include "proto/reply.h"

struct lcs_opts {
	bool idx, len, withmatchlen;
	long long minmatchlen;
};

struct lcs_walk {
	const char *a, *b;
	uint32_t alen, blen;
	const uint32_t *t;
	long long minmatchlen;
	bool withmatchlen;
};

/* The LCS length of a[0..i) and b[0..j). */
static uint32_t lcs_at(const struct lcs_walk *w, uint32_t i, uint32_t j)
{
	return w->t[(size_t)j + (size_t)i * ((size_t)w->blen + 1)];
}

static void lcs_fill(uint32_t *t, const struct lcs_walk *w)
{
	size_t row = (size_t)w->blen + 1;

	for (uint32_t i = 0; i <= w->alen; i++) {
		for (uint32_t j = 0; j <= w->blen; j++) {
			uint32_t *cell = &t[j + i * row];
			if (i == 0 || j == 0)
				*cell = 0;
			else if (w->a[i - 1] == w->b[j - 1])
				*cell = t[(j - 1) + (i - 1) * row] + 1;
			else {
				uint32_t up = t[j + (i - 1) * row], left = t[(j - 1) + i * row];
				*cell = up > left ? up : left;
			}
		}
	}
}

static void lcs_reply_range(struct reply *r, uint32_t as, uint32_t ae, uint32_t bs, uint32_t be,
			    bool withlen)
{
	reply_array(r, 2 + withlen);
	reply_array(r, 2);
	reply_int(r, as);
	reply_int(r, ae);
	reply_array(r, 2);
	reply_int(r, bs);
	reply_int(r, be);
	if (withlen)
		reply_int(r, (long long)ae - as + 1);
}

/* Walks back from (|a|, |b|) as Redis's lcsCommand does: fills res (when
 * given) with the subsequence, and counts the matched ranges that pass
 * MINMATCHLEN, replying each when r is given. A range is a run of matches
 * on the diagonal; it is reported when the run breaks or reaches the start
 * of either string. */
static uint32_t lcs_walk(const struct lcs_walk *w, char *res, struct reply *r)
{
	uint32_t i = w->alen, j = w->blen, idx = lcs_at(w, w->alen, w->blen), n = 0;
	uint32_t as = w->alen, ae = 0, bs = 0, be = 0; /* as == alen: no range open */

	while (i > 0 && j > 0) {
		bool emit = false;
		if (w->a[i - 1] == w->b[j - 1]) {
			if (res != NULL)
				res[idx - 1] = w->a[i - 1];
			if (as == w->alen) {
				as = ae = i - 1;
				bs = be = j - 1;
			} else if (as == i && bs == j) {
				as--;
				bs--;
			} else {
				emit = true;
			}
			if (as == 0 || bs == 0)
				emit = true;
			idx--;
			i--;
			j--;
		} else {
			if (lcs_at(w, i - 1, j) > lcs_at(w, i, j - 1))
				i--;
			else
				j--;
			if (as != w->alen)
				emit = true;
		}
		if (!emit)
			continue;
		if (w->minmatchlen == 0 || (long long)ae - as + 1 >= w->minmatchlen) {
			if (r != NULL)
				lcs_reply_range(r, as, ae, bs, be, w->withmatchlen);
			n++;
		}
		as = w->alen;
	}
	return n;
}

static bool lcs_parse(struct cmd_ctx *c, struct lcs_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int j = 3; j < c->argc; j++) {
		const struct cmd_arg *a = &c->argv[j];
		if (cmd_arg_cstr_eq(a, "IDX"))
			o->idx = true;
		else if (cmd_arg_cstr_eq(a, "LEN"))
			o->len = true;
		else if (cmd_arg_cstr_eq(a, "WITHMATCHLEN"))
			o->withmatchlen = true;
		else if (cmd_arg_cstr_eq(a, "MINMATCHLEN") && j + 1 < c->argc) {
			if (!cmd_arg_ll(c, &c->argv[++j], &o->minmatchlen, NULL))
				return false;
			if (o->minmatchlen < 0)
				o->minmatchlen = 0;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	if (o->idx && o->len) {
		reply_error(c->r, "If you want both the length and indexes, please just use IDX.");
		return false;
	}
	return true;
}

/* One of the two strings: its bytes (an integer formatted into buf), or
 * empty when the key is missing. False when the key holds another type. */
static bool lcs_source(struct kv *e, char *buf, const char **p, size_t *len)
{
	*p = "";
	*len = 0;
	if (e == NULL)
		return true;
	if (e->type != KV_STRING)
		return false;
	*p = str_value(e, buf, len);
	return true;
}

static struct kv *lcs_lookup(struct cmd_ctx *c, const struct cmd_arg *k)
{
	return ks_lookup_read(cmd_ks(c, k->p, k->len), k->p, k->len);
}

static void lcs_reply(struct cmd_ctx *c, const struct lcs_walk *w, const struct lcs_opts *o)
{
	uint32_t total = lcs_at(w, w->alen, w->blen);

	if (o->idx) {
		reply_map(c->r, 2);
		reply_bulk_cstr(c->r, "matches");
		reply_array(c->r, lcs_walk(w, NULL, NULL));
		lcs_walk(w, NULL, c->r);
		reply_bulk_cstr(c->r, "len");
		reply_int(c->r, total);
	} else if (o->len) {
		reply_int(c->r, total);
	} else {
		char *res = mem_alloc(c->env->mem, total + 1);
		lcs_walk(w, res, NULL);
		reply_bulk(c->r, res, total);
		mem_free(c->env->mem, res);
	}
}

void cmd_lcs(struct cmd_ctx *c)
{
	char abuf[UTIL_LL_CHARS], bbuf[UTIL_LL_CHARS];
	size_t alen, blen;
	struct lcs_walk w = { 0 };
	struct lcs_opts o;

	/* Redis reads both keys before it parses an option, and answers a key
	 * of another type with its own text rather than WRONGTYPE. */
	struct kv *ea = lcs_lookup(c, &c->argv[1]), *eb = lcs_lookup(c, &c->argv[2]);
	if (!lcs_source(ea, abuf, &w.a, &alen) || !lcs_source(eb, bbuf, &w.b, &blen)) {
		reply_error(c->r, "The specified keys must contain string values");
		return;
	}
	if (!lcs_parse(c, &o))
		return;
	if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
		reply_error(c->r, "String too long for LCS");
		return;
	}
	w.alen = (uint32_t)alen;
	w.blen = (uint32_t)blen;
	w.minmatchlen = o.minmatchlen;
	w.withmatchlen = o.withmatchlen;
	unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
	if (cells * sizeof(uint32_t) > (unsigned long long)c->env->cfg->proto_max_bulk_len) {
		reply_error(c->r, "Insufficient memory, transient memory for LCS exceeds "
				  "proto-max-bulk-len");
		return;
	}
	uint32_t *t = mem_try_alloc(c->env->mem, cells * sizeof(uint32_t));
	if (t == NULL) {
		reply_error(c->r,
			    "Insufficient memory, failed allocating transient memory for LCS");
		return;
	}
	lcs_fill(t, &w);
	w.t = t;
	lcs_reply(c, &w, &o);
	mem_free(c->env->mem, t);
}
