/* cmd_list.c: the list commands (LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP,
 * LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH,
 * LMPOP), and the pops the blocking ones (BLPOP, ...: server/cmd_blocking.c)
 * try before they block (cmd_list.h).
 *
 * Each handler follows Redis's t_list.c: the same checks in the same order
 * (an argument that Redis parses before the lookup is refused first, even
 * on a key of another type; LINDEX and LSET look the key up first), the same
 * lookups, the same replies and error texts (7.0's, which 7.2 keeps, but for
 * LPOS RANK -9223372036854775808, which 7.2 refuses and 7.0 negates into
 * undefined behaviour), and the encoding decisions of 7.2 (list_grow before
 * a write that adds, list_shrink after one that removes). A list whose last
 * element goes is deleted, as in Redis. LMOVE, RPOPLPUSH and LMPOP find each
 * key's keyspace with cmd_ks(): with keys on several shards they run with
 * those shards locked, so a move is atomic. The storage is data/t_list.c's. */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_list.h"
#include "data/keyspace.h"
#include "data/t_list.h"
#include "proto/reply.h"

#define ERR_INDEX_RANGE "index out of range"
#define ERR_MUST_BE_POSITIVE "value is out of range, must be positive"
#define ERR_RANK_ZERO                                                                              \
	"RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "   \
	"negative to start from the end of the list"
#define ERR_COUNT_NEGATIVE "COUNT can't be negative"
#define ERR_MAXLEN_NEGATIVE "MAXLEN can't be negative"
#define ERR_NUMKEYS "numkeys should be greater than 0"
#define ERR_COUNT_ZERO "count should be greater than 0"
/* cairn's own: an element whose listpack would not fit 32 bits (only
 * reachable with proto-max-bulk-len near its 4 GB cap). */
#define ERR_ELEMENT_TOO_BIG "list element is too big"

/* ---- helpers ---- */

static void list_limits_of(const struct cmd_ctx *c, struct list_limits *lim)
{
	lim->fill = (int)c->env->cfg->list_max_listpack_size;
	lim->compress = (int)c->env->cfg->list_compress_depth;
}

/* Redis's getRangeLongFromObjectOrReply: an integer in [min, max]; msg
 * (NULL: Redis's texts) for both a non-integer and one out of range. */
static bool arg_range(struct cmd_ctx *c, const struct cmd_arg *a, long long min, long long max,
		      long long *out, const char *msg)
{
	if (!cmd_arg_ll(c, a, out, msg))
		return false;
	if (*out >= min && *out <= max)
		return true;
	if (msg != NULL)
		reply_error(c->r, msg);
	else
		reply_errorf(c->r, "value is out of range, value must between %lld and %lld", min,
			     max);
	return false;
}

/* LEFT or RIGHT (as C strings), or a syntax error. */
static bool arg_side(struct cmd_ctx *c, const struct cmd_arg *a, bool *tail)
{
	if (cmd_arg_cstr_eq(a, "right")) {
		*tail = true;
		return true;
	}
	if (cmd_arg_cstr_eq(a, "left")) {
		*tail = false;
		return true;
	}
	cmd_syntax_error(c);
	return false;
}

/* Whether every element in argv[first..last] fits a list. */
static bool args_fit(struct cmd_ctx *c, int first, int last, size_t *bytes)
{
	int i;

	*bytes = 0;
	for (i = first; i <= last; i++) {
		if (c->argv[i].len > LIST_ELEMENT_MAX) {
			reply_error(c->r, ERR_ELEMENT_TOO_BIG);
			return false;
		}
		*bytes += c->argv[i].len;
	}
	return true;
}

static void reply_val(struct cmd_ctx *c, const struct list_val *v)
{
	if (v->is_int)
		reply_bulk_ll(c->r, v->ival);
	else
		reply_bulk(c->r, v->p, v->len);
}

/* Redis's listElementsRemoved: n elements went from e (in ks); the key
 * goes with the last one, else the list may turn back into a listpack. */
static void list_removed(struct cmd_ctx *c, struct keyspace *ks, struct kv *e, uint64_t n)
{
	struct list_limits lim;

	ks_changed(ks, n);
	if (list_len(e) == 0) {
		ks_delete_entry(ks, e);
		return;
	}
	list_limits_of(c, &lim);
	list_shrink(&ks->mem, e, &lim);
}

/* Reports a removal from key's list as Redis does: event, then "del" when
 * it emptied the list (before list_removed deletes it). */
static void list_notify(struct keyspace *ks, const struct cmd_arg *key, const char *event,
			bool emptied)
{
	ks_notify(ks, CONFIG_NOTIFY_LIST, event, key->p, key->len);
	if (emptied)
		ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", key->p, key->len);
}

/* n elements from index from, toward the tail or (reverse) the head. */
static void reply_range(struct cmd_ctx *c, struct keyspace *ks, struct kv *e, long long from,
			long long n, bool reverse)
{
	struct list_iter it;
	struct list_val v;

	reply_array(c->r, n);
	list_iter_init(&it, &ks->mem, e, (long)from, !reverse);
	while (n-- > 0) {
		bool ok = list_iter_next(&it, &v);
		ASSERT(ok);
		reply_val(c, &v);
	}
	list_iter_release(&it);
}

/* Redis's addListRangeReply: start..end (inclusive, negative from the
 * end), clipped to the list. */
static void reply_list_range(struct cmd_ctx *c, struct keyspace *ks, struct kv *e, long long start,
			     long long end, bool reverse)
{
	long long llen = (long long)list_len(e);

	if (start < 0)
		start += llen;
	if (end < 0)
		end += llen;
	if (start < 0)
		start = 0;
	if (start > end || start >= llen) {
		reply_empty_array(c->r);
		return;
	}
	if (end >= llen)
		end = llen - 1;
	reply_range(c, ks, e, reverse ? end : start, end - start + 1, reverse);
}

/* Pops up to count elements from one end, replying them in pop order. */
static void pop_range(struct cmd_ctx *c, struct keyspace *ks, const struct cmd_arg *key,
		      struct kv *e, bool tail, long long count)
{
	long long llen = (long long)list_len(e), n = count > llen ? llen : count;

	reply_list_range(c, ks, e, tail ? -n : 0, tail ? -1 : n - 1, tail);
	list_del_range(&ks->mem, e, tail ? -(long)n : 0, (long)n);
	list_notify(ks, key, tail ? "rpop" : "lpop", n == llen);
	list_removed(c, ks, e, (uint64_t)n);
}

/* ---- pushes ---- */

static void push_generic(struct cmd_ctx *c, bool tail, bool xx)
{
	struct list_limits lim;
	size_t bytes;
	struct kv *e;
	int i;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL && xx) {
		reply_int(c->r, 0);
		return;
	}
	if (!args_fit(c, 2, c->argc - 1, &bytes))
		return;
	if (e == NULL)
		e = ks_set_obj(c->ks, c->argv[1].p, c->argv[1].len, KV_LIST, LIST_LP,
			       list_new(&c->ks->mem), KS_TTL_NONE);
	list_limits_of(c, &lim);
	list_grow(&c->ks->mem, e, &lim, bytes, (size_t)(c->argc - 2));
	for (i = 2; i < c->argc; i++) {
		list_push(&c->ks->mem, e, c->argv[i].p, c->argv[i].len, tail);
		ks_changed(c->ks, 1);
	}
	ks_notify(c->ks, CONFIG_NOTIFY_LIST, tail ? "rpush" : "lpush", c->argv[1].p,
		  c->argv[1].len);
	reply_int(c->r, (long long)list_len(e));
}

void cmd_lpush(struct cmd_ctx *c)
{
	push_generic(c, false, false);
}

void cmd_rpush(struct cmd_ctx *c)
{
	push_generic(c, true, false);
}

void cmd_lpushx(struct cmd_ctx *c)
{
	push_generic(c, false, true);
}

void cmd_rpushx(struct cmd_ctx *c)
{
	push_generic(c, true, true);
}

void cmd_linsert(struct cmd_ctx *c)
{
	const struct cmd_arg *pivot = &c->argv[3], *el = &c->argv[4];
	struct list_limits lim;
	struct list_iter it;
	struct list_val v;
	bool after, inserted = false;
	size_t bytes;
	struct kv *e;

	if (cmd_arg_cstr_eq(&c->argv[2], "after")) {
		after = true;
	} else if (cmd_arg_cstr_eq(&c->argv[2], "before")) {
		after = false;
	} else {
		cmd_syntax_error(c);
		return;
	}
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (!args_fit(c, 4, 4, &bytes))
		return;
	/* Converted before the search, found or not, as Redis. */
	list_limits_of(c, &lim);
	list_grow(&c->ks->mem, e, &lim, bytes, 1);
	list_iter_init(&it, &c->ks->mem, e, 0, true);
	while (list_iter_next(&it, &v)) {
		if (list_iter_eq(&it, pivot->p, pivot->len)) {
			list_iter_insert(&it, el->p, el->len, after);
			inserted = true;
			break;
		}
	}
	list_iter_release(&it);
	if (!inserted) {
		reply_int(c->r, -1);
		return;
	}
	ks_changed(c->ks, 1);
	ks_notify(c->ks, CONFIG_NOTIFY_LIST, "linsert", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, (long long)list_len(e));
}

/* ---- reads ---- */

void cmd_llen(struct cmd_ctx *c)
{
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_LIST, &e))
		reply_int(c->r, e != NULL ? (long long)list_len(e) : 0);
}

void cmd_lindex(struct cmd_ctx *c)
{
	struct list_iter it;
	struct list_val v;
	long long index;
	struct kv *e;

	/* The key first, then the index, as Redis. */
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	if (!cmd_arg_ll(c, &c->argv[2], &index, NULL))
		return;
	list_iter_init(&it, &c->ks->mem, e, (long)index, true);
	if (list_iter_next(&it, &v))
		reply_val(c, &v);
	else
		reply_null(c->r);
	list_iter_release(&it);
}

void cmd_lrange(struct cmd_ctx *c)
{
	long long start, end;
	struct kv *e;

	if (!cmd_arg_ll(c, &c->argv[2], &start, NULL) || !cmd_arg_ll(c, &c->argv[3], &end, NULL))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL)
		reply_empty_array(c->r);
	else
		reply_list_range(c, c->ks, e, start, end, false);
}

/* ---- changes ---- */

void cmd_lset(struct cmd_ctx *c)
{
	const struct cmd_arg *el = &c->argv[3];
	struct list_limits lim;
	long long index;
	size_t bytes;
	struct kv *e;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		reply_error(c->r, ERR_NO_SUCH_KEY);
		return;
	}
	if (!cmd_arg_ll(c, &c->argv[2], &index, NULL) || !args_fit(c, 3, 3, &bytes))
		return;
	list_limits_of(c, &lim);
	list_grow(&c->ks->mem, e, &lim, bytes, 1);
	if (!list_replace_at(&c->ks->mem, e, (long)index, el->p, el->len)) {
		reply_error(c->r, ERR_INDEX_RANGE);
		return;
	}
	ks_changed(c->ks, 1);
	ks_notify(c->ks, CONFIG_NOTIFY_LIST, "lset", c->argv[1].p, c->argv[1].len);
	/* A big element may have made way for a small one. */
	list_shrink(&c->ks->mem, e, &lim);
	reply_ok(c->r);
}

static void pop_generic(struct cmd_ctx *c, bool tail)
{
	bool hascount = c->argc == 3;
	long long count = 0;
	struct list_iter it;
	struct list_val v;
	struct kv *e;

	if (c->argc > 3) {
		reply_errorf(c->r, "wrong number of arguments for '%s' command", c->cmd->fullname);
		return;
	}
	if (hascount && !arg_range(c, &c->argv[2], 0, LLONG_MAX, &count, ERR_MUST_BE_POSITIVE))
		return;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		if (hascount)
			reply_null_array(c->r);
		else
			reply_null(c->r);
		return;
	}
	if (hascount) {
		if (count == 0)
			reply_empty_array(c->r);
		else
			pop_range(c, c->ks, &c->argv[1], e, tail, count);
		return;
	}
	list_iter_init(&it, &c->ks->mem, e, tail ? -1 : 0, true);
	if (list_iter_next(&it, &v))
		reply_val(c, &v);
	list_iter_release(&it);
	list_del_range(&c->ks->mem, e, tail ? -1 : 0, 1);
	list_notify(c->ks, &c->argv[1], tail ? "rpop" : "lpop", list_len(e) == 0);
	list_removed(c, c->ks, e, 1);
}

void cmd_lpop(struct cmd_ctx *c)
{
	pop_generic(c, false);
}

void cmd_rpop(struct cmd_ctx *c)
{
	pop_generic(c, true);
}

void cmd_ltrim(struct cmd_ctx *c)
{
	long long start, end, llen, ltrim, rtrim;
	struct kv *e;

	if (!cmd_arg_ll(c, &c->argv[2], &start, NULL) || !cmd_arg_ll(c, &c->argv[3], &end, NULL))
		return;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		reply_ok(c->r);
		return;
	}
	llen = (long long)list_len(e);
	if (start < 0)
		start += llen;
	if (end < 0)
		end += llen;
	if (start < 0)
		start = 0;
	if (start > end || start >= llen) {
		ltrim = llen; /* out of range: an empty list */
		rtrim = 0;
	} else {
		if (end >= llen)
			end = llen - 1;
		ltrim = start;
		rtrim = llen - end - 1;
	}
	list_del_range(&c->ks->mem, e, 0, (long)ltrim);
	list_del_range(&c->ks->mem, e, -(long)rtrim, (long)rtrim);
	list_notify(c->ks, &c->argv[1], "ltrim", list_len(e) == 0);
	list_removed(c, c->ks, e, (uint64_t)(ltrim + rtrim));
	reply_ok(c->r);
}

void cmd_lrem(struct cmd_ctx *c)
{
	const struct cmd_arg *el = &c->argv[3];
	unsigned long long toremove, removed = 0;
	struct list_iter it;
	struct list_val v;
	long long count;
	struct kv *e;

	if (!cmd_arg_ll(c, &c->argv[2], &count, NULL))
		return;
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	/* A negative count walks from the tail; its magnitude in unsigned
	 * arithmetic, so that LLONG_MIN is 2^63 rather than overflow. */
	toremove = count < 0 ? -(unsigned long long)count : (unsigned long long)count;
	list_iter_init(&it, &c->ks->mem, e, count < 0 ? -1 : 0, count >= 0);
	while (list_iter_next(&it, &v)) {
		if (!list_iter_eq(&it, el->p, el->len))
			continue;
		list_iter_delete(&it);
		removed++;
		if (toremove != 0 && removed == toremove)
			break;
	}
	list_iter_release(&it);
	ks_changed(c->ks, removed);
	if (removed > 0)
		list_notify(c->ks, &c->argv[1], "lrem", list_len(e) == 0);
	if (list_len(e) == 0)
		ks_delete_entry(c->ks, e);
	else if (removed > 0)
		list_removed(c, c->ks, e, 0);
	reply_int(c->r, (long long)removed);
}

/* ---- LPOS ---- */

struct lpos_opts {
	long long rank, count, maxlen; /* count -1: not given */
};

static bool lpos_parse(struct cmd_ctx *c, struct lpos_opts *o)
{
	int j;

	o->rank = 1;
	o->count = -1;
	o->maxlen = 0;
	for (j = 3; j < c->argc; j++) {
		const struct cmd_arg *a = &c->argv[j];
		bool more = j + 1 < c->argc;
		if (cmd_arg_cstr_eq(a, "rank") && more) {
			/* -LLONG_MAX, as 7.2: 7.0 negates LLONG_MIN. */
			if (!arg_range(c, &c->argv[++j], -LLONG_MAX, LLONG_MAX, &o->rank, NULL))
				return false;
			if (o->rank == 0) {
				reply_error(c->r, ERR_RANK_ZERO);
				return false;
			}
		} else if (cmd_arg_cstr_eq(a, "count") && more) {
			if (!arg_range(c, &c->argv[++j], 0, LLONG_MAX, &o->count,
				       ERR_COUNT_NEGATIVE))
				return false;
		} else if (cmd_arg_cstr_eq(a, "maxlen") && more) {
			if (!arg_range(c, &c->argv[++j], 0, LLONG_MAX, &o->maxlen,
				       ERR_MAXLEN_NEGATIVE))
				return false;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

/* The matches' indexes, kept until the reply's length is known. */
struct lpos_acc {
	struct mem *mem;
	long long *idx;
	size_t n, cap;
};

static void lpos_keep(struct lpos_acc *a, long long index)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->idx = mem_realloc(a->mem, a->idx, a->cap * sizeof(*a->idx));
	}
	a->idx[a->n++] = index;
}

/* Redis's lposCommand loop; returns the single match (-1: none). */
static long long lpos_scan(struct cmd_ctx *c, struct kv *e, const struct lpos_opts *o,
			   struct lpos_acc *a)
{
	const struct cmd_arg *el = &c->argv[2];
	bool forward = o->rank > 0;
	long long rank = forward ? o->rank : -o->rank, llen = (long long)list_len(e);
	long long index = 0, matches = 0, match = -1;
	struct list_iter it;
	struct list_val v;

	list_iter_init(&it, &c->ks->mem, e, forward ? 0 : -1, forward);
	while (list_iter_next(&it, &v) && (o->maxlen == 0 || index < o->maxlen)) {
		if (list_iter_eq(&it, el->p, el->len)) {
			matches++;
			match = forward ? index : llen - index - 1;
			if (matches >= rank) {
				if (o->count == -1)
					break;
				lpos_keep(a, match);
				if (o->count != 0 && matches - rank + 1 >= o->count)
					break;
			}
		}
		index++;
		match = -1;
	}
	list_iter_release(&it);
	return match;
}

void cmd_lpos(struct cmd_ctx *c)
{
	struct lpos_acc a = { .mem = c->env->mem };
	struct lpos_opts o;
	long long match;
	struct kv *e;
	size_t i;

	if (!lpos_parse(c, &o))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_LIST, &e))
		return;
	if (e == NULL) {
		if (o.count != -1)
			reply_empty_array(c->r);
		else
			reply_null(c->r);
		return;
	}
	match = lpos_scan(c, e, &o, &a);
	if (o.count != -1) {
		reply_array(c->r, (long long)a.n);
		for (i = 0; i < a.n; i++)
			reply_int(c->r, a.idx[i]);
	} else if (match != -1) {
		reply_int(c->r, match);
	} else {
		reply_null(c->r);
	}
	mem_free(a.mem, a.idx);
}

/* ---- LMOVE, RPOPLPUSH, LMPOP ---- */

/* Redis's lmoveGenericCommand: pops from one end of src, pushes at one end
 * of dst (created if missing; src itself when the names are equal), replies
 * the element. The value is copied out first: the pop may free it. */
static void lmove_generic(struct cmd_ctx *c, bool from_tail, bool to_tail)
{
	const struct cmd_arg *src = &c->argv[1], *dst = &c->argv[2];
	struct keyspace *sks = cmd_ks(c, src->p, src->len), *dks = cmd_ks(c, dst->p, dst->len);
	char nbuf[UTIL_LL_CHARS], *copy = NULL;
	struct list_limits lim;
	struct list_iter it;
	struct list_val v;
	const char *p;
	struct kv *se, *de;
	size_t len;
	bool ok;

	if (!cmd_lookup_write(c, sks, src, KV_LIST, &se))
		return;
	if (se == NULL) {
		reply_null(c->r);
		return;
	}
	if (!cmd_lookup_write(c, dks, dst, KV_LIST, &de))
		return;
	/* Found again: the destination's lookup may have expired a key. */
	se = ks_peek(sks, src->p, src->len);
	ASSERT(se != NULL);
	list_iter_init(&it, &sks->mem, se, from_tail ? -1 : 0, true);
	ok = list_iter_next(&it, &v);
	ASSERT(ok);
	if (v.is_int) {
		len = (size_t)util_ll2str(nbuf, v.ival);
		p = nbuf;
	} else {
		len = v.len;
		copy = mem_alloc(c->env->mem, len);
		memcpy(copy, v.p, len);
		p = copy;
	}
	list_iter_release(&it);
	list_del_range(&sks->mem, se, from_tail ? -1 : 0, 1);
	de = ks_peek(dks, dst->p, dst->len);
	if (de == NULL)
		de = ks_set_obj(dks, dst->p, dst->len, KV_LIST, LIST_LP, list_new(&dks->mem),
				KS_TTL_NONE);
	list_limits_of(c, &lim);
	list_grow(&dks->mem, de, &lim, len, 1);
	list_push(&dks->mem, de, p, len, to_tail);
	ks_notify(dks, CONFIG_NOTIFY_LIST, to_tail ? "rpush" : "lpush", dst->p, dst->len);
	reply_bulk(c->r, p, len);
	mem_free(c->env->mem, copy);
	se = ks_peek(sks, src->p, src->len);
	list_notify(sks, src, from_tail ? "rpop" : "lpop", list_len(se) == 0);
	list_removed(c, sks, se, 1);
}

void cmd_lmove(struct cmd_ctx *c)
{
	bool from_tail, to_tail;

	if (!arg_side(c, &c->argv[3], &from_tail) || !arg_side(c, &c->argv[4], &to_tail))
		return;
	lmove_generic(c, from_tail, to_tail);
}

void cmd_rpoplpush(struct cmd_ctx *c)
{
	lmove_generic(c, true, false);
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: the arguments are
 * checked whole before any key is looked up (routing counted the keys the
 * same way, so none is touched that was not routed). */
void cmd_lmpop(struct cmd_ctx *c)
{
	long long numkeys, count = -1;
	bool tail;
	int j, where;

	if (!arg_range(c, &c->argv[1], 1, LLONG_MAX, &numkeys, ERR_NUMKEYS))
		return;
	if (numkeys > c->argc - 3) { /* no room for the side after the keys */
		cmd_syntax_error(c);
		return;
	}
	where = 2 + (int)numkeys;
	if (!arg_side(c, &c->argv[where], &tail))
		return;
	for (j = where + 1; j < c->argc; j++) {
		if (count == -1 && cmd_arg_cstr_eq(&c->argv[j], "count") && j + 1 < c->argc) {
			if (!arg_range(c, &c->argv[++j], 1, LLONG_MAX, &count, ERR_COUNT_ZERO))
				return;
		} else {
			cmd_syntax_error(c);
			return;
		}
	}
	if (count == -1)
		count = 1;
	for (j = 2; j < where; j++) {
		const struct cmd_arg *k = &c->argv[j];
		struct keyspace *ks = cmd_ks(c, k->p, k->len);
		struct kv *e;
		if (!cmd_lookup_write(c, ks, k, KV_LIST, &e))
			return;
		if (e == NULL)
			continue;
		reply_array(c->r, 2);
		reply_bulk(c->r, k->p, k->len);
		pop_range(c, ks, k, e, tail, count);
		return;
	}
	reply_null_array(c->r);
}

/* ---- the blocking pops' attempts (cmd_list.h) ---- */

/* The entry of key if it holds a list; NULL if it is missing, or holds
 * another type and skip_other; *wrong is set (WRONGTYPE replied) when it
 * holds another type and not skip_other. */
static struct kv *blocking_lookup(struct cmd_ctx *c, struct keyspace *ks, const struct cmd_arg *k,
				  bool skip_other, bool *wrong)
{
	struct kv *e = ks_lookup_write(ks, k->p, k->len);

	*wrong = false;
	if (e == NULL || e->type == KV_LIST)
		return e;
	if (!skip_other) {
		cmd_reply_wrongtype(c);
		*wrong = true;
	}
	return NULL;
}

bool cmd_list_bpop(struct cmd_ctx *c, int first, int n, bool tail, long long count, bool skip_other)
{
	struct list_iter it;
	struct list_val v;
	bool wrong;
	int j;

	ASSERT(first >= 1 && n >= 1 && first + n <= c->argc);
	for (j = first; j < first + n; j++) {
		const struct cmd_arg *k = &c->argv[j];
		struct keyspace *ks = cmd_ks(c, k->p, k->len);
		struct kv *e = blocking_lookup(c, ks, k, skip_other, &wrong);
		if (wrong)
			return true;
		if (e == NULL)
			continue;
		reply_array(c->r, 2);
		reply_bulk(c->r, k->p, k->len);
		if (count >= 1) {
			pop_range(c, ks, k, e, tail, count);
			return true;
		}
		list_iter_init(&it, &ks->mem, e, tail ? -1 : 0, true);
		if (list_iter_next(&it, &v))
			reply_val(c, &v);
		list_iter_release(&it);
		list_del_range(&ks->mem, e, tail ? -1 : 0, 1);
		list_notify(ks, k, tail ? "rpop" : "lpop", list_len(e) == 0);
		list_removed(c, ks, e, 1);
		return true;
	}
	return false;
}

bool cmd_list_bmove(struct cmd_ctx *c, bool from_tail, bool to_tail, bool skip_other)
{
	const struct cmd_arg *src = &c->argv[1];
	bool wrong;
	struct kv *e = blocking_lookup(c, cmd_ks(c, src->p, src->len), src, skip_other, &wrong);

	if (wrong)
		return true;
	if (e == NULL)
		return false;
	lmove_generic(c, from_tail, to_tail);
	return true;
}
