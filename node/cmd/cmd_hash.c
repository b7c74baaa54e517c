/* cmd_hash.c: the hash commands (HSET, HSETNX, HMSET, HGET, HMGET, HDEL,
 * HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT,
 * HRANDFIELD, HSCAN).
 *
 * Each handler follows Redis 7.0's t_hash.c: the same checks in the same
 * order (an argument that Redis parses before the lookup is refused first,
 * even on a key of another type), the same lookups (a read counts a hit or a
 * miss), the same replies and error texts, and the same encoding decisions
 * (hash-max-listpack-entries and -value, checked before a write). A hash
 * whose last field goes is deleted, as in Redis. The type's storage is
 * data/t_hash.c's. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_scan.h"
#include "data/keyspace.h"
#include "data/t_hash.h"
#include "proto/obuf.h"
#include "proto/reply.h"

#define ERR_HASH_NOT_INT "hash value is not an integer"
#define ERR_HASH_NOT_FLOAT "hash value is not a float"
#define ERR_NAN_OR_INF "value is NaN or Infinity"

/* ---- helpers ---- */

static void hash_limits_of(const struct cmd_ctx *c, struct hash_limits *lim)
{
	lim->max_lp_entries = (uint64_t)c->env->cfg->hash_max_listpack_entries;
	lim->max_lp_value = (uint64_t)c->env->cfg->hash_max_listpack_value;
	lim->seed = c->ks->seed;
}

/* Redis's hashTypeLookupWriteOrCreate: the hash at key, created empty if
 * missing; NULL after WRONGTYPE. */
static struct kv *hash_write_or_create(struct cmd_ctx *c, const struct cmd_arg *key)
{
	struct kv *e;

	if (!cmd_lookup_write(c, c->ks, key, KV_HASH, &e))
		return NULL;
	if (e == NULL)
		e = ks_set_obj(c->ks, key->p, key->len, KV_HASH, HASH_LP, hash_new(&c->ks->mem),
			       KS_TTL_NONE);
	ASSERT(e->type == KV_HASH);
	return e;
}

/* Redis's hashTypeTryConversion over argv[first..]: a field or value too
 * long for the listpack turns the hash into a table before the write. */
static void hash_convert_for(struct cmd_ctx *c, struct kv *e, const struct hash_limits *lim,
			     int first)
{
	int i;

	if (kv_obj_enc(e) != HASH_LP)
		return;
	for (i = first; i < c->argc; i++) {
		if (c->argv[i].len > lim->max_lp_value) {
			hash_to_table(&c->ks->mem, e, lim);
			return;
		}
	}
}

static void reply_hash_val(struct cmd_ctx *c, const struct hash_val *v)
{
	if (v->ref != NULL)
		reply_bulk_val(c->r, v->ref);
	else if (v->is_int)
		reply_bulk_ll(c->r, v->ival);
	else
		reply_bulk(c->r, v->p, v->len);
}

/* Deletes the key when its hash has no field left. */
static void hash_drop_if_empty(struct cmd_ctx *c, struct kv *e)
{
	if (hash_len(e) == 0)
		ks_delete_entry(c->ks, e);
}

/* ---- writes ---- */

/* HSET and HMSET: pairs after the key (an odd count is an arity error the
 * handler sees). Returns the fields created, or -1 after an error. */
static long long hash_set_pairs(struct cmd_ctx *c)
{
	struct hash_limits lim;
	long long created = 0;
	struct kv *e;
	int i;

	if (c->argc % 2 == 1) {
		reply_errorf(c->r, "wrong number of arguments for '%s' command", c->cmd->fullname);
		return -1;
	}
	e = hash_write_or_create(c, &c->argv[1]);
	if (e == NULL)
		return -1;
	hash_limits_of(c, &lim);
	hash_convert_for(c, e, &lim, 2);
	for (i = 2; i < c->argc; i += 2) {
		const struct cmd_arg *f = &c->argv[i], *v = &c->argv[i + 1];
		created += hash_set(&c->ks->mem, e, &lim, f->p, f->len, v->p, v->len, v->val);
		ks_changed(c->ks, 1);
	}
	ks_notify(c->ks, CONFIG_NOTIFY_HASH, "hset", c->argv[1].p, c->argv[1].len);
	return created;
}

void cmd_hset(struct cmd_ctx *c)
{
	long long created = hash_set_pairs(c);

	if (created >= 0)
		reply_int(c->r, created);
}

void cmd_hmset(struct cmd_ctx *c)
{
	if (hash_set_pairs(c) >= 0)
		reply_ok(c->r);
}

void cmd_hsetnx(struct cmd_ctx *c)
{
	const struct cmd_arg *f = &c->argv[2], *v = &c->argv[3];
	struct hash_limits lim;
	struct hash_val old;
	struct kv *e = hash_write_or_create(c, &c->argv[1]);

	if (e == NULL)
		return;
	if (hash_get(e, f->p, f->len, &old)) {
		reply_int(c->r, 0);
		return;
	}
	/* Converted only when it writes, as Redis's hsetnxCommand. */
	hash_limits_of(c, &lim);
	hash_convert_for(c, e, &lim, 2);
	hash_set(&c->ks->mem, e, &lim, f->p, f->len, v->p, v->len, v->val);
	ks_changed(c->ks, 1);
	ks_notify(c->ks, CONFIG_NOTIFY_HASH, "hset", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, 1);
}

void cmd_hdel(struct cmd_ctx *c)
{
	long long deleted = 0;
	struct kv *e;
	int i;

	if (!cmd_lookup_write(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	for (i = 2; i < c->argc; i++) {
		if (hash_del(&c->ks->mem, e, c->argv[i].p, c->argv[i].len)) {
			deleted++;
			ks_changed(c->ks, 1);
			if (hash_len(e) == 0)
				break;
		}
	}
	if (deleted > 0) {
		ks_notify(c->ks, CONFIG_NOTIFY_HASH, "hdel", c->argv[1].p, c->argv[1].len);
		if (hash_len(e) == 0)
			ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "del", c->argv[1].p,
				  c->argv[1].len);
	}
	hash_drop_if_empty(c, e);
	reply_int(c->r, deleted);
}

/* ---- reads ---- */

void cmd_hget(struct cmd_ctx *c)
{
	struct hash_val v;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	if (e != NULL && hash_get(e, c->argv[2].p, c->argv[2].len, &v))
		reply_hash_val(c, &v);
	else
		reply_null(c->r);
}

void cmd_hmget(struct cmd_ctx *c)
{
	struct hash_val v;
	struct kv *e;
	int i;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	reply_array(c->r, c->argc - 2);
	for (i = 2; i < c->argc; i++) {
		if (e != NULL && hash_get(e, c->argv[i].p, c->argv[i].len, &v))
			reply_hash_val(c, &v);
		else
			reply_null(c->r);
	}
}

void cmd_hlen(struct cmd_ctx *c)
{
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		reply_int(c->r, e != NULL ? (long long)hash_len(e) : 0);
}

void cmd_hstrlen(struct cmd_ctx *c)
{
	struct hash_val v;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	if (e != NULL && hash_get(e, c->argv[2].p, c->argv[2].len, &v))
		reply_int(c->r, (long long)hash_val_len(&v));
	else
		reply_int(c->r, 0);
}

void cmd_hexists(struct cmd_ctx *c)
{
	struct hash_val v;
	struct kv *e;

	if (cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		reply_int(c->r, e != NULL && hash_get(e, c->argv[2].p, c->argv[2].len, &v));
}

/* HKEYS, HVALS, HGETALL: which parts of each field go out. */
enum hash_parts { PARTS_KEYS = 1, PARTS_VALS = 2, PARTS_BOTH = 3 };

struct parts_acc {
	struct cmd_ctx *c;
	enum hash_parts parts;
};

static void parts_cb(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct parts_acc *a = arg;

	if (a->parts & PARTS_KEYS)
		reply_bulk(a->c->r, f, flen);
	if (a->parts & PARTS_VALS)
		reply_hash_val(a->c, v);
}

static void hash_getall(struct cmd_ctx *c, enum hash_parts parts)
{
	struct parts_acc a = { .c = c, .parts = parts };
	uint64_t n;
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	n = e != NULL ? hash_len(e) : 0;
	if (parts == PARTS_BOTH)
		reply_map(c->r, (long long)n);
	else
		reply_array(c->r, (long long)n);
	if (e != NULL)
		hash_each(e, parts_cb, &a);
}

void cmd_hkeys(struct cmd_ctx *c)
{
	hash_getall(c, PARTS_KEYS);
}

void cmd_hvals(struct cmd_ctx *c)
{
	hash_getall(c, PARTS_VALS);
}

void cmd_hgetall(struct cmd_ctx *c)
{
	hash_getall(c, PARTS_BOTH);
}

/* ---- counters ---- */

void cmd_hincrby(struct cmd_ctx *c)
{
	const struct cmd_arg *f = &c->argv[2];
	long long incr, old = 0;
	struct hash_limits lim;
	char buf[UTIL_LL_CHARS];
	struct hash_val v;
	struct kv *e;
	int n;

	if (!cmd_arg_ll(c, &c->argv[3], &incr, NULL))
		return;
	e = hash_write_or_create(c, &c->argv[1]);
	if (e == NULL)
		return;
	if (hash_get(e, f->p, f->len, &v)) {
		size_t len;
		const char *p = hash_val_text(&v, buf, &len);
		if (!v.is_int && !util_str2ll(p, len, &old)) {
			reply_error(c->r, ERR_HASH_NOT_INT);
			hash_drop_if_empty(c, e);
			return;
		}
		if (v.is_int)
			old = v.ival;
	}
	if ((incr < 0 && old < 0 && incr < LLONG_MIN - old) ||
	    (incr > 0 && old > 0 && incr > LLONG_MAX - old)) {
		reply_error(c->r, ERR_OVERFLOW);
		hash_drop_if_empty(c, e);
		return;
	}
	hash_limits_of(c, &lim);
	n = util_ll2str(buf, old + incr);
	hash_set(&c->ks->mem, e, &lim, f->p, f->len, buf, (size_t)n, NULL);
	ks_changed(c->ks, 1);
	ks_notify(c->ks, CONFIG_NOTIFY_HASH, "hincrby", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, old + incr);
}

void cmd_hincrbyfloat(struct cmd_ctx *c)
{
	const struct cmd_arg *f = &c->argv[2], *a = &c->argv[3];
	char buf[LONG_DOUBLE_CHARS_MAX], nbuf[UTIL_LL_CHARS];
	long double incr, value = 0;
	struct hash_limits lim;
	struct hash_val v;
	struct kv *e;
	int n;

	if (!util_str2ld(a->p, a->len, &incr)) {
		reply_error(c->r, ERR_NOT_FLOAT);
		return;
	}
	if (isnan(incr) || isinf(incr)) {
		reply_error(c->r, ERR_NAN_OR_INF);
		return;
	}
	e = hash_write_or_create(c, &c->argv[1]);
	if (e == NULL)
		return;
	if (hash_get(e, f->p, f->len, &v)) {
		size_t len;
		const char *p = hash_val_text(&v, nbuf, &len);
		if (!util_str2ld(p, len, &value)) {
			reply_error(c->r, ERR_HASH_NOT_FLOAT);
			hash_drop_if_empty(c, e);
			return;
		}
	}
	value += incr;
	if (isnan(value) || isinf(value)) {
		reply_error(c->r, ERR_NAN_INF);
		hash_drop_if_empty(c, e);
		return;
	}
	n = util_ld2str(buf, sizeof(buf), value);
	ASSERT(n > 0);
	hash_limits_of(c, &lim);
	hash_set(&c->ks->mem, e, &lim, f->p, f->len, buf, (size_t)n, NULL);
	ks_changed(c->ks, 1);
	ks_notify(c->ks, CONFIG_NOTIFY_HASH, "hincrbyfloat", c->argv[1].p, c->argv[1].len);
	reply_bulk(c->r, buf, (size_t)n);
}

/* ---- HRANDFIELD ---- */

static uint64_t ks_rnd(void *arg)
{
	return ks_random_u64(arg);
}

struct pick_acc {
	struct cmd_ctx *c;
	bool withvalues;
};

/* One field of a HRANDFIELD reply: a pair in RESP3 with values. */
static void pick_cb(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct pick_acc *a = arg;

	if (a->withvalues && a->c->r->proto == 3)
		reply_array(a->c->r, 2);
	reply_bulk(a->c->r, f, flen);
	if (a->withvalues)
		reply_hash_val(a->c, v);
}

static void pick_reply_len(struct cmd_ctx *c, unsigned long count, bool withvalues)
{
	reply_array(c->r, (long long)(withvalues && c->r->proto == 2 ? count * 2 : count));
}

/* Whether the reply has grown past the output limit: a request for more
 * elements than a client may receive stops there (the connection is then
 * closed for its output), rather than build an unbounded reply first. */
static bool reply_too_big(const struct cmd_ctx *c)
{
	return c->r->ob->bytes > (size_t)config_obuf_hard(c->env->cfg);
}

/* count fields, repeats allowed (a negative count). */
static void pick_repeats(struct cmd_ctx *c, struct kv *e, unsigned long count, bool withvalues)
{
	struct pick_acc a = { .c = c, .withvalues = withvalues };
	unsigned long i;

	pick_reply_len(c, count, withvalues);
	for (i = 0; i < count && !reply_too_big(c); i++)
		hash_read(e, hash_random(e, ks_rnd, c->ks), pick_cb, &a);
}

/* count distinct fields, fewer than the hash has: random positions,
 * retried when already taken, in a set of 2*count slots. */
static void pick_unique(struct cmd_ctx *c, struct kv *e, unsigned long count, bool withvalues)
{
	struct pick_acc a = { .c = c, .withvalues = withvalues };
	size_t cap = 1, i, taken = 0;
	const void **set;

	while (cap < 2 * count)
		cap *= 2;
	set = mem_calloc(c->env->mem, cap * sizeof(*set));
	pick_reply_len(c, count, withvalues);
	while (taken < count) {
		const void *at = hash_random(e, ks_rnd, c->ks);
		size_t h = (size_t)(((uintptr_t)at >> 4) * 0x9e3779b97f4a7c15ull) & (cap - 1);
		for (i = h; set[i] != NULL && set[i] != at; i = (i + 1) & (cap - 1))
			;
		if (set[i] == at)
			continue;
		set[i] = at;
		taken++;
		hash_read(e, at, pick_cb, &a);
	}
	mem_free(c->env->mem, set);
}

static void hrandfield_count(struct cmd_ctx *c)
{
	bool withvalues, uniq;
	unsigned long count;
	uint64_t size;
	long long l;
	struct kv *e;

	if (!cmd_rand_count(c, "withvalues", &l, &withvalues))
		return;
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	uniq = l >= 0;
	count = uniq ? (unsigned long)l : (unsigned long)-l;
	size = e != NULL ? hash_len(e) : 0;
	if (count == 0 || size == 0) {
		reply_empty_array(c->r);
		return;
	}
	if (!uniq || count == 1) {
		pick_repeats(c, e, count, withvalues);
	} else if (count >= size) {
		struct pick_acc a = { .c = c, .withvalues = withvalues };
		pick_reply_len(c, size, withvalues);
		hash_each(e, pick_cb, &a);
	} else {
		pick_unique(c, e, count, withvalues);
	}
}

void cmd_hrandfield(struct cmd_ctx *c)
{
	struct pick_acc a = { .c = c, .withvalues = false };
	struct kv *e;

	if (c->argc >= 3) {
		hrandfield_count(c);
		return;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_HASH, &e))
		return;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	hash_read(e, hash_random(e, ks_rnd, c->ks), pick_cb, &a);
}

/* ---- HSCAN ---- */

/* Keeps a field that matches, and its value. COUNT counts fields and
 * values walked, before MATCH filters, as Redis's scanGenericCommand. */
static void hscan_cb(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct scan_acc *a = arg;
	char buf[UTIL_LL_CHARS];
	size_t vlen;
	const char *vp;

	a->seen++;
	if (!scan_acc_match(a, f, flen))
		return;
	vp = hash_val_text(v, buf, &vlen);
	scan_acc_put(a, f, flen);
	scan_acc_put(a, vp, vlen);
}

void cmd_hscan(struct cmd_ctx *c)
{
	unsigned long long cursor;
	struct scan_acc a;
	struct scan_opts o;
	long long steps;
	struct kv *e;

	if (!scan_key_begin(c, KV_HASH, &cursor, &o, &e, &a))
		return;
	steps = o.count * 10;
	do {
		cursor = hash_scan(e, cursor, hscan_cb, &a);
	} while (scan_key_more(&a, cursor, &steps));
	scan_key_reply(c, cursor, &a);
}
