/* cmd_sort.c: SORT and SORT_RO.
 *
 * Redis 7's sortCommandGeneric, step by step, so that its choices show the
 * same: the options parsed first (LIMIT, BY, GET, ASC/DESC, ALPHA, STORE),
 * then the key looked up (a list, set or sorted set, else WRONGTYPE); a BY
 * pattern without '*' means "do not sort", except for a set being stored,
 * which is sorted ALPHA so the stored list does not depend on a set's
 * internal order; a list or a sorted set not sorted keeps its own order
 * (reversed by DESC) and only the LIMIT range is read. Elements are copied
 * out first, since a pattern's lookups may expire other keys and STORE may
 * replace the key being sorted. Numeric sorting reads each weight with
 * strtod as Redis does ("One or more scores can't be converted into double"
 * otherwise) and breaks ties by the elements' bytes; ALPHA compares bytes
 * up to a NUL, as Redis's strcoll does in the C locale (binary-safe when
 * storing or breaking ties). Equal weights under BY ... ALPHA may come out
 * in another order than Redis's, whose set and hash orders differ anyway.
 *
 * A pattern's keys may live on any shard: the route sends a SORT with a
 * BY or GET pattern to run with every shard locked (cmd_sort_all_shards),
 * and one with STORE to the owners of both keys (cmd_sort_store_key). */
/* qsort_r: glibc's qsort with a context argument (no globals in node/). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_zset.h"
#include "data/keyspace.h"
#include "data/t_hash.h"
#include "data/t_list.h"
#include "data/t_set.h"
#include "data/t_string.h"
#include "data/t_zset.h"
#include "data/tracking.h"
#include "data/watch.h"
#include "proto/reply.h"

#define ERR_SORT_SCORE "One or more scores can't be converted into double"

struct sort_opts {
	bool desc, alpha, dontsort;
	long long limit_start, limit_count;
	const struct cmd_arg *by, *store;
	int *gets; /* argument indexes of the GET patterns */
	int ngets;
};

/* An element copied out, with its weight: a score, or for ALPHA with BY the
 * looked-up string (cmp, NULL when missing). */
struct sort_item {
	char *p;
	size_t len;
	double score;
	char *cmp;
	size_t cmplen;
};

/* The comparison's settings (Redis keeps them in server.sort_*). */
struct sort_cmp {
	bool desc, alpha, bypattern, store;
};

/* ---- options ---- */

static bool sort_limit(struct cmd_ctx *c, int j, struct sort_opts *o)
{
	return cmd_arg_ll(c, &c->argv[j + 1], &o->limit_start, NULL) &&
	       cmd_arg_ll(c, &c->argv[j + 2], &o->limit_count, NULL);
}

/* Parses argv[2..]; false after the error reply. */
static bool sort_parse(struct cmd_ctx *c, bool readonly, struct sort_opts *o)
{
	for (int j = 2; j < c->argc; j++) {
		const struct cmd_arg *a = &c->argv[j];
		int left = c->argc - j - 1;
		if (cmd_arg_cstr_eq(a, "asc")) {
			o->desc = false;
		} else if (cmd_arg_cstr_eq(a, "desc")) {
			o->desc = true;
		} else if (cmd_arg_cstr_eq(a, "alpha")) {
			o->alpha = true;
		} else if (cmd_arg_cstr_eq(a, "limit") && left >= 2) {
			if (!sort_limit(c, j, o))
				return false;
			j += 2;
		} else if (!readonly && cmd_arg_cstr_eq(a, "store") && left >= 1) {
			o->store = &c->argv[++j];
		} else if (cmd_arg_cstr_eq(a, "by") && left >= 1) {
			o->by = &c->argv[++j];
			/* A pattern without '*' (as a C string) names no key. */
			o->dontsort = memchr(o->by->p, '*', cmd_arg_cstr_len(o->by)) == NULL;
		} else if (cmd_arg_cstr_eq(a, "get") && left >= 1) {
			o->gets[o->ngets++] = ++j;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

/* ---- patterns ---- */

/* Redis's lookupKeyByPattern: "#" is the element itself; otherwise the
 * first '*' is replaced by the element, and "->field" after it reads a
 * hash's field. The value's bytes go to *v (an integer formatted into buf);
 * false when there is none (no '*', no key, another type, no field). */
static bool sort_lookup(struct cmd_ctx *c, const struct cmd_arg *pat, const struct sort_item *it,
			char *buf, const char **v, size_t *vlen)
{
	size_t clen = cmd_arg_cstr_len(pat), fieldlen = 0;
	const char *star, *arrow = NULL;

	if (clen == 1 && pat->p[0] == '#') {
		*v = it->p;
		*vlen = it->len;
		return true;
	}
	star = memchr(pat->p, '*', clen);
	if (star == NULL)
		return false;
	/* strstr's view: the arrow before the pattern's first NUL, with a
	 * field of at least one byte after it. */
	for (const char *q = star + 1; q + 1 < pat->p + clen; q++) {
		if (q[0] == '-' && q[1] == '>') {
			arrow = q + 2 < pat->p + clen ? q : NULL;
			break;
		}
	}
	if (arrow != NULL)
		fieldlen = pat->len - (size_t)(arrow - pat->p) - 2;
	size_t prefix = (size_t)(star - pat->p);
	size_t postfix = pat->len - prefix - 1 - (fieldlen ? fieldlen + 2 : 0);
	size_t klen = prefix + it->len + postfix;
	char *key = mem_alloc(c->env->mem, klen + 1);
	memcpy(key, pat->p, prefix);
	memcpy(key + prefix, it->p, it->len);
	memcpy(key + prefix + it->len, star + 1, postfix);
	struct kv *e = ks_lookup_read(cmd_ks(c, key, klen), key, klen);
	mem_free(c->env->mem, key);
	if (e == NULL)
		return false;
	if (fieldlen == 0) {
		if (e->type != KV_STRING)
			return false;
		*v = str_value(e, buf, vlen);
		return true;
	}
	struct hash_val hv;
	if (e->type != KV_HASH || !hash_get(e, arrow + 2, fieldlen, &hv))
		return false;
	*v = hash_val_text(&hv, buf, vlen);
	return true;
}

/* ---- loading ---- */

struct sort_vec {
	struct sort_item *v;
	long n, cap;
	struct mem *mem;
};

static void vec_add(struct sort_vec *s, const char *p, size_t len)
{
	struct sort_item *it;

	ASSERT(s->n < s->cap);
	it = &s->v[s->n++];
	memset(it, 0, sizeof(*it));
	it->p = mem_alloc(s->mem, len + 1);
	memcpy(it->p, p, len);
	it->p[len] = '\0';
	it->len = len;
}

/* A list's elements: all, or n from index from (toward the head if rev). */
static void load_list(struct sort_vec *s, struct kv *e, long from, long n, bool rev)
{
	struct list_iter it;
	struct list_val lv;
	char buf[UTIL_LL_CHARS];

	list_iter_init(&it, s->mem, e, from, !rev);
	while (n-- > 0 && list_iter_next(&it, &lv)) {
		if (lv.is_int) {
			size_t len = (size_t)util_ll2str(buf, lv.ival);
			vec_add(s, buf, len);
		} else {
			vec_add(s, lv.p, lv.len);
		}
	}
	list_iter_release(&it);
}

static void load_set(struct sort_vec *s, struct kv *e)
{
	struct set_ref ref = set_of(e);
	struct set_iter it;
	struct set_member m;
	char buf[UTIL_LL_CHARS];

	set_iter_init(&it, &ref);
	while (set_iter_next(&it, &m)) {
		size_t len;
		const char *p = set_member_text(&m, buf, &len);
		vec_add(s, p, len);
	}
}

/* A sorted set's members: n from rank from, downward if rev. */
static void load_zset(struct sort_vec *s, struct kv *e, long from, long n, bool rev)
{
	struct zset_it it;
	char buf[UTIL_LL_CHARS];

	for (zset_seek(e, (uint64_t)from, &it); n-- > 0;
	     rev ? zset_it_prev(&it) : zset_it_next(&it)) {
		size_t len;
		const char *p;
		ASSERT(zset_it_valid(&it));
		p = zset_it_member(&it, buf, &len);
		vec_add(s, p, len);
	}
}

static long value_len(const struct kv *e)
{
	struct set_ref ref;

	if (e == NULL)
		return 0;
	if (e->type == KV_LIST)
		return (long)list_len(e);
	if (e->type == KV_ZSET)
		return (long)zset_len(e);
	ref = set_of(e);
	return (long)set_size(&ref);
}

/* Redis's LIMIT arithmetic: the output is [*start, *end] of n elements. */
static void sort_range(const struct sort_opts *o, long n, long *start, long *end)
{
	long long s = o->limit_start < 0 ? 0 : o->limit_start;
	long long cnt = o->limit_count < -1 ? -1 : o->limit_count;

	s = s > n ? n : s;
	cnt = cnt > n ? n : cnt;
	*start = (long)s;
	*end = cnt < 0 ? n - 1 : (long)(s + cnt - 1);
	if (*start >= n) {
		*start = n - 1;
		*end = n - 2;
	}
	if (*end >= n)
		*end = n - 1;
}

/* Loads what is to be output or sorted into s; a list not sorted loads only
 * the range, and *start, *end are then relative to it. */
static void sort_load(struct sort_vec *s, struct kv *e, const struct sort_opts *o, long *start,
		      long *end)
{
	long n = value_len(e);

	if (e != NULL && (e->type == KV_LIST || e->type == KV_ZSET) && o->dontsort) {
		if (*end >= *start) {
			long len = *end - *start + 1, from = o->desc ? n - *start - 1 : *start;
			s->cap = len;
			s->v = mem_alloc(s->mem, sizeof(*s->v) * (size_t)len);
			if (e->type == KV_LIST)
				load_list(s, e, from, len, o->desc);
			else
				load_zset(s, e, from, len, o->desc);
			*end -= *start;
			*start = 0;
		}
		return;
	}
	s->cap = n;
	s->v = mem_alloc(s->mem, sizeof(*s->v) * (size_t)(n ? n : 1));
	if (e != NULL && e->type == KV_LIST)
		load_list(s, e, 0, n, false);
	else if (e != NULL && e->type == KV_ZSET)
		load_zset(s, e, 0, n, false);
	else if (e != NULL)
		load_set(s, e);
	ASSERT(s->n == s->cap);
}

/* ---- sorting ---- */

/* Redis's strtod test: the whole C string is a number, not NaN, in range. */
static bool sort_score(const char *p, size_t len, char *buf, double *out)
{
	char *end;
	const char *z = p;

	if (memchr(p, '\0', len) == NULL) {
		/* Values are not NUL-terminated: a copy for strtod. */
		memcpy(buf, p, len);
		buf[len] = '\0';
		z = buf;
	}
	errno = 0;
	*out = strtod(z, &end);
	return end[0] == '\0' && errno != ERANGE && !isnan(*out);
}

/* Weights from the BY pattern (or the elements); false when one is not a
 * number in a numeric sort. */
static bool sort_weights(struct cmd_ctx *c, struct sort_vec *s, const struct sort_opts *o)
{
	char ibuf[UTIL_LL_CHARS];
	bool ok = true;

	for (long j = 0; j < s->n; j++) {
		struct sort_item *it = &s->v[j];
		const char *p = it->p;
		size_t len = it->len;
		if (o->by != NULL && !sort_lookup(c, o->by, it, ibuf, &p, &len))
			continue;
		if (o->alpha) {
			if (o->by != NULL) {
				it->cmp = mem_alloc(c->env->mem, len + 1);
				memcpy(it->cmp, p, len);
				it->cmp[len] = '\0';
				it->cmplen = len;
			}
			continue;
		}
		char *buf = mem_alloc(c->env->mem, len + 1);
		ok &= sort_score(p, len, buf, &it->score);
		mem_free(c->env->mem, buf);
	}
	return ok;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int item_cmp(const void *x, const void *y, void *arg)
{
	const struct sort_item *a = x, *b = y;
	const struct sort_cmp *k = arg;
	int r;

	if (!k->alpha) {
		r = a->score > b->score ? 1 : a->score < b->score ? -1 : 0;
		if (r == 0)
			r = bytes_cmp(a->p, a->len, b->p, b->len);
	} else if (k->bypattern) {
		if (a->cmp == NULL || b->cmp == NULL)
			r = a->cmp == b->cmp ? 0 : a->cmp == NULL ? -1 : 1;
		else if (k->store)
			r = bytes_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen);
		else
			r = strcmp(a->cmp, b->cmp);
	} else {
		r = k->store ? bytes_cmp(a->p, a->len, b->p, b->len) : strcmp(a->p, b->p);
	}
	return k->desc ? -r : r;
}

/* ---- output ---- */

static void sort_reply(struct cmd_ctx *c, const struct sort_vec *s, const struct sort_opts *o,
		       long start, long end)
{
	char buf[UTIL_LL_CHARS];

	reply_array(c->r, (o->ngets ? o->ngets : 1) * (end - start + 1));
	for (long j = start; j <= end; j++) {
		const struct sort_item *it = &s->v[j];
		if (o->ngets == 0)
			reply_bulk(c->r, it->p, it->len);
		for (int g = 0; g < o->ngets; g++) {
			const char *p;
			size_t len;
			if (sort_lookup(c, &c->argv[o->gets[g]], it, buf, &p, &len))
				reply_bulk(c->r, p, len);
			else
				reply_null(c->r);
		}
	}
}

static void store_push(struct cmd_ctx *c, struct keyspace *ks, struct kv *e, const char *p,
		       size_t len)
{
	struct list_limits lim = { .fill = (int)c->env->cfg->list_max_listpack_size,
				   .compress = (int)c->env->cfg->list_compress_depth };

	list_grow(&ks->mem, e, &lim, len, 1);
	list_push(&ks->mem, e, p, len, true);
}

/* STORE: the output as a list under the key (replacing any value and its
 * TTL), or the key deleted when the output is empty. */
static void sort_store(struct cmd_ctx *c, const struct sort_vec *s, const struct sort_opts *o,
		       long start, long end)
{
	const struct cmd_arg *k = o->store;
	struct keyspace *ks = cmd_ks(c, k->p, k->len);
	long long n = (o->ngets ? o->ngets : 1) * (long long)(end - start + 1);
	char buf[UTIL_LL_CHARS];

	if (n == 0) {
		if (ks_delete_stale(ks, k->p, k->len))
			ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", k->p, k->len);
		reply_int(c->r, 0);
		return;
	}
	/* Built outside the keyspace and stored last, as Redis does: GET's
	 * lookups (and their keymiss events) come before the key is new. */
	union {
		struct kv kv;
		char raw[sizeof(struct kv) + sizeof(void *)];
	} tmp;
	struct kv *e = &tmp.kv;

	memset(&tmp, 0, sizeof(tmp));
	tmp.kv.type = KV_LIST;
	kv_set_obj(e, list_new(&ks->mem), LIST_LP);
	for (long j = start; j <= end; j++) {
		const struct sort_item *it = &s->v[j];
		if (o->ngets == 0)
			store_push(c, ks, e, it->p, it->len);
		for (int g = 0; g < o->ngets; g++) {
			const char *p;
			size_t len;
			if (!sort_lookup(c, &c->argv[o->gets[g]], it, buf, &p, &len)) {
				p = "";
				len = 0;
			}
			store_push(c, ks, e, p, len);
		}
	}
	ks_lookup_write(ks, k->p, k->len); /* Redis's setKey: expires it */
	ks_set_obj(ks, k->p, k->len, KV_LIST, kv_obj_enc(e), kv_obj(e), KS_TTL_NONE);
	ks_changed(ks, (uint64_t)n);
	ks_notify(ks, CONFIG_NOTIFY_LIST, "sortstore", k->p, k->len);
	reply_int(c->r, n);
}

static void vec_free(struct sort_vec *s)
{
	for (long j = 0; j < s->n; j++) {
		mem_free(s->mem, s->v[j].p);
		mem_free(s->mem, s->v[j].cmp);
	}
	mem_free(s->mem, s->v);
}

static void sort_run(struct cmd_ctx *c, struct kv *e, struct sort_opts *o)
{
	struct sort_vec s = { .mem = c->env->mem };
	long start, end;

	/* A set has no order of its own to store: sort it ALPHA. */
	if (o->dontsort && e != NULL && e->type == KV_SET && o->store != NULL) {
		o->dontsort = false;
		o->alpha = true;
		o->by = NULL;
	}
	sort_range(o, value_len(e), &start, &end);
	sort_load(&s, e, o, &start, &end);
	if (!o->dontsort) {
		struct sort_cmp k = { o->desc, o->alpha, o->by != NULL, o->store != NULL };
		if (!sort_weights(c, &s, o)) {
			reply_error(c->r, ERR_SORT_SCORE);
			vec_free(&s);
			return;
		}
		qsort_r(s.v, (size_t)s.n, sizeof(*s.v), item_cmp, &k);
	}
	if (o->store != NULL)
		sort_store(c, &s, o, start, end);
	else
		sort_reply(c, &s, o, start, end);
	vec_free(&s);
}

/* SORT ... STORE's source, looked up as Redis's lookupKeyWrite does (no
 * keyspace hit or miss counted), but only read: unlike a key looked up to
 * be written in place, neither a client that WATCHes it nor one that
 * tracks it sees a change when the STORE changes the keyspace. Nothing
 * else is noted before it in the command. (Found by the simulator: an EXEC
 * failed whose watched key only a SORT ... STORE had read.) */
static struct kv *store_source(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = ks_lookup_write(ks, key, klen);

	watch_cmd_done(&ks->watch);
	tracking_cmd_done(&ks->trk);
	return e;
}

static void sort_generic(struct cmd_ctx *c, bool readonly)
{
	struct sort_opts o = { .limit_count = -1 };
	const struct cmd_arg *key = &c->argv[1];
	struct keyspace *ks = cmd_ks(c, key->p, key->len);
	struct kv *e;

	o.gets = mem_alloc(c->env->mem, sizeof(int) * (size_t)c->argc);
	if (!sort_parse(c, readonly, &o))
		goto out;
	e = o.store != NULL ? store_source(ks, key->p, key->len)
			    : ks_lookup_read(ks, key->p, key->len);
	/* Redis 7.0 reports a missing key as a keymiss with STORE too. */
	if (e == NULL && o.store != NULL)
		ks_notify(ks, CONFIG_NOTIFY_KEY_MISS, "keymiss", key->p, key->len);
	if (e != NULL && e->type != KV_LIST && e->type != KV_SET && e->type != KV_ZSET) {
		cmd_reply_wrongtype(c);
		goto out;
	}
	/* Redis 7.0 turns a sorted set into a skiplist before it reads it,
	 * SORT_RO too, whatever follows (an error included). */
	if (e != NULL && e->type == KV_ZSET) {
		struct zset_limits lim;
		zset_limits_of(c, ks, &lim);
		zset_to_big(&ks->mem, e, &lim);
	}
	sort_run(c, e, &o);
out:
	mem_free(c->env->mem, o.gets);
}

/* ---- keys and routing ---- */

int cmd_sort_store_key(const struct cmd_arg *argv, int argc)
{
	int pos = 0;

	/* Redis's sortGetKeys: options take no argument unless listed; the
	 * last STORE wins. */
	for (int i = 2; i < argc; i++) {
		if (cmd_arg_cstr_eq(&argv[i], "limit"))
			i += 2;
		else if (cmd_arg_cstr_eq(&argv[i], "get") || cmd_arg_cstr_eq(&argv[i], "by"))
			i += 1;
		else if (cmd_arg_cstr_eq(&argv[i], "store") && i + 1 < argc)
			pos = i + 1;
	}
	return pos;
}

bool cmd_sort_all_shards(const struct cmd_arg *argv, int argc)
{
	/* The parser's walk (sort_parse), without its errors: an error ends
	 * the command anyway. */
	for (int i = 2; i < argc; i++) {
		const struct cmd_arg *a = &argv[i];
		int left = argc - i - 1;
		if (cmd_arg_cstr_eq(a, "limit") && left >= 2) {
			i += 2;
		} else if ((cmd_arg_cstr_eq(a, "by") || cmd_arg_cstr_eq(a, "get")) && left >= 1) {
			const struct cmd_arg *pat = &argv[++i];
			if (memchr(pat->p, '*', cmd_arg_cstr_len(pat)) != NULL)
				return true;
		} else if (cmd_arg_cstr_eq(a, "store") && left >= 1) {
			i++;
		}
	}
	return false;
}

void cmd_sort(struct cmd_ctx *c)
{
	sort_generic(c, false);
}

void cmd_sort_ro(struct cmd_ctx *c)
{
	sort_generic(c, true);
}
