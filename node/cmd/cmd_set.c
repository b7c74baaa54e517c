/* cmd_set.c: the set commands (SADD, SREM, SCARD, SISMEMBER, SMISMEMBER,
 * SMEMBERS, SRANDMEMBER, SPOP, SMOVE, SINTER, SINTERCARD, SUNION, SDIFF,
 * SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SSCAN).
 *
 * Each handler follows Redis 7.0's t_set.c for what a client sees: the same
 * checks in the same order (an argument Redis parses before the lookup is
 * refused first, even on a key of another type), the same lookups (a read
 * counts a hit or a miss, a write does not), the same replies and error
 * texts. The encodings, and so the order of a small set's members, are
 * Redis 7.2's (data/t_set.c), as are the sets the set operations build
 * (setTypeAddAux into an intset that grows into a listpack or a table).
 * A set whose last member goes is deleted, as in Redis.
 *
 * Multi-key commands find each key's keyspace with cmd_ks(): their keys may
 * live on several shards, all locked while the command runs. A result set
 * is built in its destination's keyspace (the store commands) or in the
 * shard's scratch account (the others), and a reply with a count known
 * only at the end (SINTER) walks the sets twice rather than buffer it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_scan.h"
#include "data/keyspace.h"
#include "data/t_set.h"
#include "proto/obuf.h"
#include "proto/reply.h"

/* Redis's shared.outofrangeerr, getPositiveLongFromObjectOrReply's text. */
#define ERR_NOT_POSITIVE "value is out of range, must be positive"
#define ERR_NUMKEYS "numkeys should be greater than 0"
#define ERR_NUMKEYS_ARGS "Number of keys can't be greater than number of args"
#define ERR_LIMIT "LIMIT can't be negative"
/* SRANDMEMBER's switch from random picks to a walk: when the count times
 * this passes the size (Redis's SRANDMEMBER_SUB_STRATEGY_MUL). */
#define SRAND_WALK_MUL 3

/* ---- helpers ---- */

static void set_limits_of(const struct cmd_ctx *c, const struct keyspace *ks,
			  struct set_limits *lim)
{
	lim->max_intset_entries = (uint64_t)c->env->cfg->set_max_intset_entries;
	lim->max_lp_entries = (uint64_t)c->env->cfg->set_max_listpack_entries;
	lim->max_lp_value = (uint64_t)c->env->cfg->set_max_listpack_value;
	lim->seed = ks->seed;
}

static struct set_member arg_member(const struct cmd_arg *a)
{
	return set_member_str(a->p, a->len);
}

static void reply_member(struct reply *r, const struct set_member *m)
{
	if (m->is_int)
		reply_bulk_ll(r, m->ival);
	else
		reply_bulk(r, m->p, m->len);
}

static uint64_t ks_rnd(void *arg)
{
	return ks_random_u64(arg);
}

/* Whether the reply has grown past the output limit: a request for more
 * members than a client may receive stops adding them there (the
 * connection is then closed for its output), rather than build an
 * unbounded reply first. */
static bool reply_too_big(const struct cmd_ctx *c)
{
	return c->r->ob->bytes > (size_t)config_obuf_hard(c->env->cfg);
}

/* A member into the reply, unless the reply is too big already. */
static void reply_member_cb(void *arg, const struct set_member *m)
{
	struct cmd_ctx *c = arg;

	if (!reply_too_big(c))
		reply_member(c->r, m);
}

/* Replies every member of s, as a set (or an array: SRANDMEMBER's). */
static void reply_members(struct cmd_ctx *c, const struct set_ref *s, bool as_set)
{
	struct set_member m;
	struct set_iter it;

	if (as_set)
		reply_set(c->r, (long long)set_size(s));
	else
		reply_array(c->r, (long long)set_size(s));
	set_iter_init(&it, s);
	while (set_iter_next(&it, &m))
		reply_member_cb(c, &m);
}

/* Stores s back into e, and deletes the key when s is empty. */
static void set_put_back(struct keyspace *ks, struct kv *e, const struct set_ref *s)
{
	set_store(e, s);
	if (set_size(s) == 0)
		ks_delete_entry(ks, e);
}

/* Reports a removal from key's set as Redis does: event, then "del" when
 * the set is empty (before set_put_back deletes it). */
static void set_notify(struct keyspace *ks, const struct cmd_arg *key, const char *event,
		       bool emptied)
{
	ks_notify(ks, CONFIG_NOTIFY_SET, event, key->p, key->len);
	if (emptied)
		ks_notify(ks, CONFIG_NOTIFY_GENERIC, "del", key->p, key->len);
}

/* ---- SADD, SREM, SMOVE ---- */

void cmd_sadd(struct cmd_ctx *c)
{
	uint64_t hint = (uint64_t)c->argc - 2;
	struct set_limits lim;
	long long added = 0;
	struct set_ref s;
	struct kv *e;
	int i;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	set_limits_of(c, c->ks, &lim);
	if (e == NULL) {
		struct set_member first = arg_member(&c->argv[2]);
		s = set_new(&c->ks->mem, &lim, &first, hint);
		e = ks_set_obj(c->ks, c->argv[1].p, c->argv[1].len, KV_SET, s.enc, s.obj,
			       KS_TTL_NONE);
	} else {
		s = set_of(e);
		set_maybe_convert(&c->ks->mem, &s, &lim, hint);
	}
	for (i = 2; i < c->argc; i++) {
		struct set_member m = arg_member(&c->argv[i]);
		added += set_add(&c->ks->mem, &s, &lim, &m);
	}
	set_store(e, &s);
	ks_changed(c->ks, (uint64_t)added);
	if (added > 0)
		ks_notify(c->ks, CONFIG_NOTIFY_SET, "sadd", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, added);
}

void cmd_srem(struct cmd_ctx *c)
{
	long long deleted = 0;
	struct set_ref s;
	struct kv *e;
	int i;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	s = set_of(e);
	for (i = 2; i < c->argc; i++) {
		struct set_member m = arg_member(&c->argv[i]);
		if (set_remove(&c->ks->mem, &s, &m)) {
			deleted++;
			if (set_size(&s) == 0)
				break;
		}
	}
	if (deleted > 0)
		set_notify(c->ks, &c->argv[1], "srem", set_size(&s) == 0);
	set_put_back(c->ks, e, &s);
	ks_changed(c->ks, (uint64_t)deleted);
	reply_int(c->r, deleted);
}

/* SMOVE source destination member: both keys are looked up before either
 * type is checked, and a missing source answers 0 whatever the
 * destination holds, as Redis's smoveCommand. */
void cmd_smove(struct cmd_ctx *c)
{
	const struct cmd_arg *src = &c->argv[1], *dst = &c->argv[2];
	struct keyspace *sks = cmd_ks(c, src->p, src->len), *dks = cmd_ks(c, dst->p, dst->len);
	struct kv *se = ks_lookup_write(sks, src->p, src->len);
	struct kv *de = ks_lookup_write(dks, dst->p, dst->len);
	struct set_member m = arg_member(&c->argv[3]);
	struct set_limits lim;
	struct set_ref s, d;

	if (se == NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (!cmd_typed(c, se, KV_SET, &se) || !cmd_typed(c, de, KV_SET, &de))
		return;
	s = set_of(se);
	if (se == de) {
		reply_int(c->r, set_contains(&s, &m));
		return;
	}
	if (!set_remove(&sks->mem, &s, &m)) {
		reply_int(c->r, 0);
		return;
	}
	/* The source goes first: an entry of the same keyspace keeps its
	 * address when another is deleted. */
	set_notify(sks, src, "srem", set_size(&s) == 0);
	set_put_back(sks, se, &s);
	ks_changed(sks, 1);
	set_limits_of(c, dks, &lim);
	if (de == NULL) {
		d = set_new(&dks->mem, &lim, &m, 1);
		de = ks_set_obj(dks, dst->p, dst->len, KV_SET, d.enc, d.obj, KS_TTL_NONE);
	}
	d = set_of(de);
	if (set_add(&dks->mem, &d, &lim, &m)) {
		ks_changed(dks, 1);
		ks_notify(dks, CONFIG_NOTIFY_SET, "sadd", dst->p, dst->len);
	}
	set_store(de, &d);
	reply_int(c->r, 1);
}

/* ---- SCARD, SISMEMBER, SMISMEMBER, SMEMBERS ---- */

void cmd_scard(struct cmd_ctx *c)
{
	struct set_ref s;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	s = set_of(e);
	reply_int(c->r, (long long)set_size(&s));
}

void cmd_sismember(struct cmd_ctx *c)
{
	struct set_member m = arg_member(&c->argv[2]);
	struct set_ref s;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	s = set_of(e);
	reply_int(c->r, set_contains(&s, &m));
}

void cmd_smismember(struct cmd_ctx *c)
{
	struct set_ref s;
	struct kv *e;
	int i;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e != NULL)
		s = set_of(e);
	reply_array(c->r, c->argc - 2);
	for (i = 2; i < c->argc; i++) {
		struct set_member m = arg_member(&c->argv[i]);
		reply_int(c->r, e != NULL && set_contains(&s, &m));
	}
}

/* SMEMBERS is Redis's SINTER of one key: every member, as a set. */
void cmd_smembers(struct cmd_ctx *c)
{
	struct set_ref s;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_set(c->r, 0);
		return;
	}
	s = set_of(e);
	reply_members(c, &s, true);
}

/* ---- SRANDMEMBER ---- */

/* count members, repeats allowed. A listpack's positions are listed
 * first, so that each pick is not a walk (a listpack finds its i-th
 * element by walking; Redis samples it in batches for the same reason). */
static void srand_repeats(struct cmd_ctx *c, const struct set_ref *s, unsigned long count)
{
	uint64_t *pos = NULL, n = set_size(s), i;
	struct set_member m;
	struct set_iter it;

	if (s->enc == SET_LP && count > 1) {
		pos = mem_alloc(c->env->mem, n * sizeof(*pos));
		set_iter_init(&it, s);
		for (i = 0; set_iter_next(&it, &m); i++)
			pos[i] = set_iter_pos(&it);
	}
	reply_array(c->r, (long long)count);
	for (i = 0; i < count && !reply_too_big(c); i++) {
		uint64_t at = pos != NULL ? pos[ks_random_u64(c->ks) % n]
					  : set_random(s, ks_rnd, c->ks);
		set_member_at(s, at, &m);
		reply_member(c->r, &m);
	}
	mem_free(c->env->mem, pos);
}

/* count distinct members, walking the set once: each is taken with the
 * probability (still to take) / (still to walk), which leaves every subset
 * of count members equally likely (a listpack's way, Redis's CASE 2.5; and
 * its CASE 3, a count close to the size). */
static void srand_walk(struct cmd_ctx *c, const struct set_ref *s, unsigned long count)
{
	uint64_t n = set_size(s), i = 0;
	struct set_member m;
	struct set_iter it;

	reply_array(c->r, (long long)count);
	set_iter_init(&it, s);
	while (count > 0 && set_iter_next(&it, &m)) {
		if (ks_random_u64(c->ks) % (n - i++) < count) {
			reply_member(c->r, &m);
			count--;
		}
	}
	ASSERT(count == 0);
}

/* count distinct members, a small share of the set: random positions,
 * retried when taken already, kept in an open-addressed table of 2*count
 * slots (Redis's CASE 4). */
static void srand_picks(struct cmd_ctx *c, const struct set_ref *s, unsigned long count)
{
	size_t cap = 1, i, taken = 0;
	struct set_member m;
	uint64_t *slot;

	while (cap < 2 * count)
		cap *= 2;
	slot = mem_calloc(c->env->mem, cap * sizeof(*slot));
	reply_array(c->r, (long long)count);
	while (taken < count) {
		/* Positions + 1, so that 0 marks a free slot. */
		uint64_t at = set_random(s, ks_rnd, c->ks) + 1;
		for (i = (size_t)((at * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
		     slot[i] != 0 && slot[i] != at; i = (i + 1) & (cap - 1))
			;
		if (slot[i] == at)
			continue;
		slot[i] = at;
		taken++;
		set_member_at(s, at - 1, &m);
		reply_member(c->r, &m);
	}
	mem_free(c->env->mem, slot);
}

static void srandmember_count(struct cmd_ctx *c)
{
	unsigned long count;
	struct set_ref s;
	uint64_t size;
	long long l;
	struct kv *e;

	if (!cmd_arg_ll(c, &c->argv[2], &l, NULL))
		return;
	if (l == LLONG_MIN) {
		reply_error(c->r, ERR_COUNT_RANGE);
		return;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	count = l >= 0 ? (unsigned long)l : (unsigned long)-l;
	if (e == NULL || count == 0) {
		reply_empty_array(c->r);
		return;
	}
	s = set_of(e);
	size = set_size(&s);
	if (l < 0 || count == 1)
		srand_repeats(c, &s, count);
	else if (count >= size)
		reply_members(c, &s, false);
	else if (s.enc == SET_LP || count * SRAND_WALK_MUL > size)
		srand_walk(c, &s, count);
	else
		srand_picks(c, &s, count);
}

void cmd_srandmember(struct cmd_ctx *c)
{
	struct set_member m;
	struct set_ref s;
	struct kv *e;

	if (c->argc == 3) {
		srandmember_count(c);
		return;
	}
	if (c->argc > 3) {
		cmd_syntax_error(c);
		return;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	s = set_of(e);
	set_member_at(&s, set_random(&s, ks_rnd, c->ks), &m);
	reply_member(c->r, &m);
}

/* ---- SPOP ---- */

static void spop_count(struct cmd_ctx *c)
{
	struct set_limits lim;
	struct set_ref s;
	uint64_t size;
	long long l;
	struct kv *e;

	if (!cmd_arg_ll(c, &c->argv[2], &l, ERR_NOT_POSITIVE))
		return;
	if (l < 0) {
		reply_error(c->r, ERR_NOT_POSITIVE);
		return;
	}
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL || l == 0) {
		reply_set(c->r, 0);
		return;
	}
	s = set_of(e);
	size = set_size(&s);
	if ((uint64_t)l >= size) {
		/* The whole set goes, replied through Redis's SUNION of the
		 * one key, whose read lookup counts a hit. */
		e = ks_lookup_read(c->ks, c->argv[1].p, c->argv[1].len);
		ASSERT(e != NULL);
		reply_members(c, &s, true);
		set_notify(c->ks, &c->argv[1], "spop", true);
		ks_delete_entry(c->ks, e);
		ks_changed(c->ks, size);
		return;
	}
	set_notify(c->ks, &c->argv[1], "spop", false);
	set_limits_of(c, c->ks, &lim);
	reply_set(c->r, l);
	set_pop_count(&c->ks->mem, &s, &lim, (uint64_t)l, ks_rnd, c->ks, reply_member_cb, c);
	set_store(e, &s);
	ks_changed(c->ks, (uint64_t)l);
}

void cmd_spop(struct cmd_ctx *c)
{
	struct set_ref s;
	struct kv *e;

	if (c->argc == 3) {
		spop_count(c);
		return;
	}
	if (c->argc > 3) {
		cmd_syntax_error(c);
		return;
	}
	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_SET, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	s = set_of(e);
	set_pop_one(&c->ks->mem, &s, ks_rnd, c->ks, reply_member_cb, c);
	set_notify(c->ks, &c->argv[1], "spop", set_size(&s) == 0);
	set_put_back(c->ks, e, &s);
	ks_changed(c->ks, 1);
}

/* ---- the set operations: their sources and their results ---- */

/* A source of a set operation: its set (obj NULL when the key is missing,
 * an empty set), its size, and its place among the keys. */
struct src {
	struct set_ref s;
	uint64_t size;
	int idx;
};

/* Looks the n keys up for reading, in order, as Redis's set operations: a
 * missing key is an empty set; a key of another type stops everything with
 * WRONGTYPE (NULL is returned). *missing counts the missing keys. The
 * array is the shard's scratch; the caller frees it. */
static struct src *lookup_srcs(struct cmd_ctx *c, const struct cmd_arg *keys, int n, int *missing)
{
	struct src *v = mem_alloc(c->env->mem, (size_t)n * sizeof(*v));
	int j;

	*missing = 0;
	for (j = 0; j < n; j++) {
		struct keyspace *ks = cmd_ks(c, keys[j].p, keys[j].len);
		struct kv *e;
		if (!cmd_lookup_read(c, ks, &keys[j], KV_SET, &e)) {
			mem_free(c->env->mem, v);
			return NULL;
		}
		memset(&v[j], 0, sizeof(v[j]));
		v[j].idx = j;
		if (e == NULL) {
			(*missing)++;
			continue;
		}
		v[j].s = set_of(e);
		v[j].size = set_size(&v[j].s);
	}
	return v;
}

/* Smallest first; keys in their order among sets of one size. */
static int by_size(const void *a, const void *b)
{
	const struct src *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->idx - y->idx;
}

/* Largest first (a missing key is size 0). */
static int by_size_desc(const void *a, const void *b)
{
	const struct src *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->idx - y->idx;
}

/* An empty result: dst is deleted ("del" when it was there, expired or
 * not, as Redis's dbDelete). */
static void store_empty(struct keyspace *dks, const struct cmd_arg *dst)
{
	if (ks_delete_stale(dks, dst->p, dst->len)) {
		ks_changed(dks, 1);
		ks_notify(dks, CONFIG_NOTIFY_GENERIC, "del", dst->p, dst->len);
	}
}

/* Stores a result at dst, replacing what was there (its TTL too), or
 * deletes dst when the result is empty; replies the result's size. */
static void store_result(struct cmd_ctx *c, struct keyspace *dks, const struct cmd_arg *dst,
			 struct set_ref *d, const char *event)
{
	uint64_t n = set_size(d);

	if (n == 0) {
		set_free(&dks->mem, d);
		store_empty(dks, dst);
		reply_int(c->r, 0);
		return;
	}
	ks_lookup_write(dks, dst->p, dst->len); /* Redis's setKey: expires it */
	ks_set_obj(dks, dst->p, dst->len, KV_SET, d->enc, d->obj, KS_TTL_NONE);
	ks_changed(dks, 1);
	ks_notify(dks, CONFIG_NOTIFY_SET, event, dst->p, dst->len);
	reply_int(c->r, (long long)n);
}

/* ---- SINTER, SINTERCARD, SINTERSTORE ---- */

/* Whether m, a member of v[0], is in every other set (the same set again
 * is skipped: a lookup could rehash the table being walked). */
static bool in_all(const struct src *v, int n, const struct set_member *m)
{
	int j;

	for (j = 1; j < n; j++) {
		if (v[j].s.obj == v[0].s.obj)
			continue;
		if (!set_contains(&v[j].s, m))
			return false;
	}
	return true;
}

/* SINTER's reply: a count first, so the smallest set is walked twice. */
static void sinter_reply(struct cmd_ctx *c, const struct src *v, int n)
{
	struct set_member m;
	struct set_iter it;
	long long count = 0;

	set_iter_init(&it, &v[0].s);
	while (set_iter_next(&it, &m))
		count += in_all(v, n, &m);
	reply_set(c->r, count);
	set_iter_init(&it, &v[0].s);
	while (set_iter_next(&it, &m))
		if (in_all(v, n, &m))
			reply_member_cb(c, &m);
}

static void sinter_card(struct cmd_ctx *c, const struct src *v, int n, uint64_t limit)
{
	struct set_member m;
	struct set_iter it;
	uint64_t count = 0;

	set_iter_init(&it, &v[0].s);
	while (set_iter_next(&it, &m)) {
		if (in_all(v, n, &m) && ++count == limit)
			break;
	}
	reply_int(c->r, (long long)count);
}

/* SINTERSTORE's result, as Redis 7.2 builds it: an intset when the
 * smallest set is one, else a listpack, grown as members come; a result
 * of integers only is made an intset at the end if it may be one. */
static void sinter_store(struct cmd_ctx *c, const struct src *v, int n, const struct cmd_arg *dst)
{
	struct keyspace *dks = cmd_ks(c, dst->p, dst->len);
	bool only_ints = true;
	struct set_limits lim;
	struct set_member m;
	struct set_iter it;
	struct set_ref d;

	set_limits_of(c, dks, &lim);
	d = set_new_enc(&dks->mem, &lim, v[0].s.enc == SET_INTSET ? SET_INTSET : SET_LP);
	set_iter_init(&it, &v[0].s);
	while (set_iter_next(&it, &m)) {
		long long x;
		if (!in_all(v, n, &m))
			continue;
		if (!m.is_int && !util_str2ll(m.p, m.len, &x))
			only_ints = false;
		set_add(&dks->mem, &d, &lim, &m);
	}
	if (only_ints && set_size(&d) > 0)
		set_to_intset_maybe(&dks->mem, &d, &lim);
	store_result(c, dks, dst, &d, "sinterstore");
}

static void sinter_generic(struct cmd_ctx *c, const struct cmd_arg *keys, int n,
			   const struct cmd_arg *dst, bool card, uint64_t limit)
{
	int missing;
	struct src *v = lookup_srcs(c, keys, n, &missing);

	if (v == NULL)
		return;
	if (missing > 0) {
		/* An empty set in the intersection: the result is empty. */
		if (dst != NULL) {
			store_empty(cmd_ks(c, dst->p, dst->len), dst);
			reply_int(c->r, 0);
		} else if (card) {
			reply_int(c->r, 0);
		} else {
			reply_set(c->r, 0);
		}
	} else {
		qsort(v, (size_t)n, sizeof(*v), by_size);
		if (dst != NULL)
			sinter_store(c, v, n, dst);
		else if (card)
			sinter_card(c, v, n, limit);
		else
			sinter_reply(c, v, n);
	}
	mem_free(c->env->mem, v);
}

void cmd_sinter(struct cmd_ctx *c)
{
	sinter_generic(c, c->argv + 1, c->argc - 1, NULL, false, 0);
}

void cmd_sinterstore(struct cmd_ctx *c)
{
	sinter_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], false, 0);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit]: everything is parsed
 * before any key is looked up. */
void cmd_sintercard(struct cmd_ctx *c)
{
	long long numkeys, limit = 0;
	int j;

	if (!cmd_arg_ll(c, &c->argv[1], &numkeys, ERR_NUMKEYS))
		return;
	if (numkeys < 1) {
		reply_error(c->r, ERR_NUMKEYS);
		return;
	}
	if (numkeys > c->argc - 2) {
		reply_error(c->r, ERR_NUMKEYS_ARGS);
		return;
	}
	for (j = 2 + (int)numkeys; j < c->argc; j++) {
		if (!cmd_arg_cstr_eq(&c->argv[j], "limit") || j == c->argc - 1) {
			cmd_syntax_error(c);
			return;
		}
		j++;
		if (!cmd_arg_ll(c, &c->argv[j], &limit, ERR_LIMIT))
			return;
		if (limit < 0) {
			reply_error(c->r, ERR_LIMIT);
			return;
		}
	}
	sinter_generic(c, c->argv + 2, (int)numkeys, NULL, true, (uint64_t)limit);
}

/* ---- SUNION, SDIFF, SUNIONSTORE, SDIFFSTORE ---- */

static void do_union(struct mem *mem, const struct set_limits *lim, struct set_ref *d,
		     const struct src *v, int n)
{
	struct set_member m;
	struct set_iter it;
	int j;

	for (j = 0; j < n; j++) {
		if (v[j].s.obj == NULL)
			continue;
		set_iter_init(&it, &v[j].s);
		while (set_iter_next(&it, &m))
			set_add(mem, d, lim, &m);
	}
}

/* Redis's DIFF algorithm 1: each member of the first set that no other set
 * holds (the others largest first, to find a holder early). */
static void diff_walk(struct mem *mem, const struct set_limits *lim, struct set_ref *d,
		      struct src *v, int n)
{
	struct set_member m;
	struct set_iter it;
	int j;

	if (n > 1)
		qsort(v + 1, (size_t)n - 1, sizeof(*v), by_size_desc);
	set_iter_init(&it, &v[0].s);
	while (set_iter_next(&it, &m)) {
		for (j = 1; j < n; j++) {
			if (v[j].s.obj == NULL)
				continue;
			if (v[j].s.obj == v[0].s.obj || set_contains(&v[j].s, &m))
				break;
		}
		if (j == n)
			set_add(mem, d, lim, &m);
	}
}

/* Redis's DIFF algorithm 2: the first set, less every member of the
 * others, until nothing is left. */
static void diff_subtract(struct mem *mem, const struct set_limits *lim, struct set_ref *d,
			  const struct src *v, int n)
{
	struct set_member m;
	struct set_iter it;
	int j;

	for (j = 0; j < n; j++) {
		if (v[j].s.obj == NULL)
			continue;
		set_iter_init(&it, &v[j].s);
		while (set_iter_next(&it, &m)) {
			if (j == 0)
				set_add(mem, d, lim, &m);
			else
				set_remove(mem, d, &m);
		}
		if (set_size(d) == 0)
			break;
	}
}

/* The algorithm Redis picks: 1 unless its work (half the first set's size
 * per set) passes algorithm 2's (every set's size). */
static void do_diff(struct mem *mem, const struct set_limits *lim, struct set_ref *d, struct src *v,
		    int n)
{
	uint64_t one = 0, two = 0;
	int j;

	for (j = 0; j < n; j++) {
		if (v[j].s.obj == NULL)
			continue;
		one += v[0].size;
		two += v[j].size;
	}
	if (one / 2 <= two)
		diff_walk(mem, lim, d, v, n);
	else
		diff_subtract(mem, lim, d, v, n);
}

enum set_op { OP_UNION, OP_DIFF };

/* Redis 7.2's sunionDiffGenericCommand: the result grows from an intset;
 * a difference with the first key given again is empty. */
static void sunion_diff(struct cmd_ctx *c, const struct cmd_arg *keys, int n,
			const struct cmd_arg *dst, enum set_op op)
{
	struct keyspace *dks = dst != NULL ? cmd_ks(c, dst->p, dst->len) : c->ks;
	struct mem *mem = dst != NULL ? &dks->mem : c->env->mem;
	bool same = false;
	struct set_limits lim;
	struct set_ref d;
	int missing, j;
	struct src *v = lookup_srcs(c, keys, n, &missing);

	if (v == NULL)
		return;
	for (j = 1; j < n; j++)
		same = same || (v[j].s.obj != NULL && v[j].s.obj == v[0].s.obj);
	set_limits_of(c, dks, &lim);
	d = set_new_enc(mem, &lim, SET_INTSET);
	if (op == OP_UNION)
		do_union(mem, &lim, &d, v, n);
	else if (v[0].s.obj != NULL && !same)
		do_diff(mem, &lim, &d, v, n);
	mem_free(c->env->mem, v);
	if (dst != NULL) {
		store_result(c, dks, dst, &d, op == OP_UNION ? "sunionstore" : "sdiffstore");
		return;
	}
	reply_members(c, &d, true);
	set_free(mem, &d);
}

void cmd_sunion(struct cmd_ctx *c)
{
	sunion_diff(c, c->argv + 1, c->argc - 1, NULL, OP_UNION);
}

void cmd_sunionstore(struct cmd_ctx *c)
{
	sunion_diff(c, c->argv + 2, c->argc - 2, &c->argv[1], OP_UNION);
}

void cmd_sdiff(struct cmd_ctx *c)
{
	sunion_diff(c, c->argv + 1, c->argc - 1, NULL, OP_DIFF);
}

void cmd_sdiffstore(struct cmd_ctx *c)
{
	sunion_diff(c, c->argv + 2, c->argc - 2, &c->argv[1], OP_DIFF);
}

/* ---- SSCAN ---- */

/* Keeps a member that matches. COUNT counts members walked, before
 * MATCH filters. */
static void sscan_cb(void *arg, const struct set_member *m)
{
	struct scan_acc *a = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *t = set_member_text(m, buf, &len);

	if (scan_acc_match(a, t, len))
		scan_acc_put(a, t, len);
}

void cmd_sscan(struct cmd_ctx *c)
{
	unsigned long long cursor;
	struct scan_acc a;
	struct scan_opts o;
	long long steps;
	struct set_ref s;
	struct kv *e;

	if (!scan_key_begin(c, KV_SET, &cursor, &o, &e, &a))
		return;
	s = set_of(e);
	steps = o.count * 10;
	do {
		cursor = set_scan(&s, cursor, sscan_cb, &a);
	} while (scan_key_more(&a, cursor, &steps));
	scan_key_reply(c, cursor, &a);
}
