/* cmd_scan.c: the commands that walk the keyspace: KEYS, SCAN and
 * RANDOMKEY.
 *
 * Each handler follows Redis 7.0's db.c: the same order of checks, the same
 * treatment of expired keys (KEYS skips them, SCAN deletes them after its
 * reply), and the same error texts. Options are compared as Redis compares
 * them, as C strings (strcasecmp), so bytes after a NUL in an option do not
 * count. */
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmd_scan.h"
#include "data/keyspace.h"
#include "proto/reply.h"

/* Entries collected per growth step of KEYS and SCAN. */
#define KEYS_COLLECT_START 64

/* ---- helpers ---- */

/* A growable array of entry pointers for KEYS and SCAN. It holds pointers,
 * never copies of keys, and is charged to the shard's own account (not the
 * keyspace's, which holds only keyspace memory). */
struct collect {
	struct mem *mem;
	struct kv **v;
	size_t n, cap;
};

static void collect_push(struct collect *col, struct kv *e)
{
	if (col->n == col->cap) {
		size_t cap = col->cap ? col->cap * 2 : KEYS_COLLECT_START;
		ASSERT(cap > col->cap);
		col->v = mem_realloc(col->mem, col->v, cap * sizeof(*col->v));
		col->cap = cap;
	}
	col->v[col->n++] = e;
}

static void collect_free(struct collect *col)
{
	mem_free(col->mem, col->v);
	col->v = NULL;
	col->n = col->cap = 0;
}

/* ---- KEYS, SCAN, RANDOMKEY ---- */

struct keys_acc {
	struct collect col;
	const struct keyspace *ks;
	const char *pat;
	size_t plen;
	bool all;
	const uint8_t *hidden; /* cmd_hidden_slots() */
};

/* Collects entries that match and have not expired. As Redis 7.0's KEYS,
 * an expired key is skipped but not deleted. */
static void keys_visit(void *arg, struct kv *e)
{
	struct keys_acc *a = arg;

	if (a->hidden != NULL && a->hidden[hash_slot(kv_key(e), kv_klen(e))])
		return;
	if (!a->all && !util_glob_match(a->pat, a->plen, kv_key(e), kv_klen(e), false))
		return;
	if (!ks_expired(a->ks, e))
		collect_push(&a->col, e);
}

void cmd_keys(struct cmd_ctx *c)
{
	struct keys_acc a = { .col = { .mem = c->env->mem } };
	unsigned s;
	size_t i;

	a.pat = c->argv[1].p;
	a.plen = c->argv[1].len;
	a.all = a.plen == 1 && a.pat[0] == '*';
	a.hidden = cmd_hidden_slots(c->env);
	for (s = 0; s < cmd_nshards(c); s++) {
		a.ks = cmd_keyspace(c, s);
		dict_each(&cmd_keyspace(c, s)->d, keys_visit, &a);
	}
	reply_array(c->r, (long long)a.col.n);
	for (i = 0; i < a.col.n; i++)
		reply_bulk(c->r, kv_key(a.col.v[i]), kv_klen(a.col.v[i]));
	collect_free(&a.col);
}

bool cmd_scan_parse(struct cmd_ctx *c, int first, bool with_type, struct scan_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->count = 10;
	for (i = first; i < c->argc; i += 2) {
		const struct cmd_arg *v;
		/* Every option takes a value: a lone last word is a syntax error. */
		if (i + 1 >= c->argc) {
			cmd_syntax_error(c);
			return false;
		}
		v = &c->argv[i + 1];
		if (cmd_arg_cstr_eq(&c->argv[i], "count")) {
			if (!cmd_arg_ll(c, v, &o->count, NULL))
				return false;
			if (o->count < 1) {
				cmd_syntax_error(c);
				return false;
			}
		} else if (cmd_arg_cstr_eq(&c->argv[i], "match")) {
			bool star = v->len == 1 && v->p[0] == '*';
			o->pat = star ? NULL : v->p;
			o->plen = star ? 0 : v->len;
		} else if (with_type && cmd_arg_cstr_eq(&c->argv[i], "type")) {
			o->type = v->p;
			o->tlen = strnlen(v->p, v->len);
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	if (o->count > SCAN_COUNT_MAX)
		o->count = SCAN_COUNT_MAX;
	return true;
}

static void scan_visit(void *arg, struct kv *e)
{
	collect_push(arg, e);
}

/* What becomes of a collected key, as Redis's filter step decides. */
enum scan_fate { SCAN_DROP = 0, SCAN_KEEP = 1, SCAN_EXPIRE = 2 };

/* The fate of e: pattern first, then type, then expiry. A TYPE lookup of an
 * expired key deletes it and sees type "none", so "TYPE none" returns
 * expired keys, as Redis 7.0 does. */
static unsigned scan_fate(struct cmd_ctx *c, const struct scan_opts *o, const struct kv *e)
{
	struct keyspace *ks = cmd_ks(c, kv_key(e), kv_klen(e));
	const uint8_t *hidden = cmd_hidden_slots(c->env);
	bool expired = ks_expired(ks, e);

	if (hidden != NULL && hidden[hash_slot(kv_key(e), kv_klen(e))])
		return SCAN_DROP;
	if (o->pat != NULL && !util_glob_match(o->pat, o->plen, kv_key(e), kv_klen(e), false))
		return SCAN_DROP;
	if (o->type != NULL) {
		/* The lookup Redis makes here counts a hit or a miss. */
		if (expired)
			ks->st->keyspace_misses++;
		else
			ks->st->keyspace_hits++;
		if (!util_eq_nocase(o->type, o->tlen, expired ? "none" : ks_type_name(ks, e)))
			return expired ? SCAN_EXPIRE : SCAN_DROP;
		return expired ? SCAN_KEEP | SCAN_EXPIRE : SCAN_KEEP;
	}
	return expired ? SCAN_EXPIRE : SCAN_KEEP;
}

/* Replies with the kept keys, then deletes the expired ones. Nothing is
 * deleted before the reply is written, so every collected entry is intact
 * while it is read; deleting an entry frees only that entry, so the rest
 * stay valid for the deletion pass. */
static void scan_reply(struct cmd_ctx *c, const struct scan_opts *o, unsigned long long cursor,
		       struct collect *col)
{
	uint8_t small[256], *fate = small;
	size_t i, kept = 0;

	if (col->n > sizeof(small))
		fate = mem_alloc(c->env->mem, col->n);
	for (i = 0; i < col->n; i++) {
		fate[i] = (uint8_t)scan_fate(c, o, col->v[i]);
		kept += (fate[i] & SCAN_KEEP) != 0;
	}
	reply_array(c->r, 2);
	/* Redis writes the unsigned cursor with addReplyBulkLongLong. */
	reply_bulk_ll(c->r, (long long)cursor);
	reply_array(c->r, (long long)kept);
	for (i = 0; i < col->n; i++) {
		if (fate[i] & SCAN_KEEP)
			reply_bulk(c->r, kv_key(col->v[i]), kv_klen(col->v[i]));
	}
	for (i = 0; i < col->n; i++) {
		/* ks_peek deletes the expired entry and counts it as expired. */
		if (fate[i] & SCAN_EXPIRE) {
			struct kv *e = col->v[i];
			e = ks_peek(cmd_ks(c, kv_key(e), kv_klen(e)), kv_key(e), kv_klen(e));
			ASSERT(e == NULL);
		}
	}
	if (fate != small)
		mem_free(c->env->mem, fate);
}

/* With several shards, SCAN runs with every shard locked. A cursor names
 * its shard in its low 8 bits, and holds that shard's own dict cursor above
 * them. A shard done with its keys hands over to the next one within the
 * same call while COUNT allows, so a small keyspace comes back in one call,
 * cursor 0, as from Redis. With one shard the cursor is the dict cursor
 * itself, exactly Redis's. */
#define SCAN_SHARD_BITS 8

/* Collects from the cursor on; returns the next cursor. */
static unsigned long long scan_collect(struct cmd_ctx *c, unsigned long long cursor,
				       long long count, struct collect *col)
{
	unsigned n = cmd_nshards(c), s = 0;
	long long maxiter = count * 10;

	if (n > 1) {
		s = (unsigned)(cursor & 0xff);
		cursor >>= SCAN_SHARD_BITS;
		if (s >= n)
			return 0; /* a cursor that names no shard: past the end */
	}
	for (;;) {
		struct keyspace *ks = cmd_keyspace(c, s);
		/* Ten buckets per wanted key at most, so a sparse table
		 * cannot make one call long; collecting modifies nothing. */
		do {
			cursor = ks_scan(ks, cursor, scan_visit, col);
		} while (cursor != 0 && maxiter-- > 0 && col->n < (size_t)count);
		if (cursor != 0 || ++s == n || maxiter <= 0 || col->n >= (size_t)count)
			break;
	}
	if (n == 1 || (cursor == 0 && s == n))
		return cursor;
	ASSERT(s < n);
	return cursor << SCAN_SHARD_BITS | s;
}

void cmd_scan(struct cmd_ctx *c)
{
	struct collect col = { .mem = c->env->mem };
	struct scan_opts o;
	unsigned long long cursor;

	/* The cursor is checked before any option, as in Redis. */
	if (!cmd_parse_cursor(&c->argv[1], &cursor)) {
		reply_error(c->r, ERR_INVALID_CURSOR);
		return;
	}
	if (!cmd_scan_parse(c, 2, true, &o))
		return;
	ASSERT(o.count >= 1);
	ASSERT(o.count <= SCAN_COUNT_MAX);
	cursor = scan_collect(c, cursor, o.count, &col);
	scan_reply(c, &o, cursor, &col);
	collect_free(&col);
}

/* A shard picked with odds in proportion to its number of keys. */
static struct keyspace *random_shard_ks(struct cmd_ctx *c)
{
	uint64_t total = 0, r;
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++)
		total += ks_size(cmd_keyspace(c, s));
	if (total == 0)
		return NULL;
	r = ks_random_u64(c->ks) % total;
	for (s = 0; s < cmd_nshards(c); s++) {
		struct keyspace *ks = cmd_keyspace(c, s);
		if (r < ks_size(ks))
			return ks;
		r -= ks_size(ks);
	}
	ASSERT_NOT_REACHED("randomkey: sizes changed while picking");
	return NULL;
}

/* Picks RANDOMKEY makes before it gives up on keys all hidden (a slot
 * this node imports atomically): it answers nil then. */
#define RANDOMKEY_HIDDEN_TRIES 100

static bool hidden_key(struct cmd_ctx *c, const struct kv *e)
{
	const uint8_t *hidden = cmd_hidden_slots(c->env);

	return hidden != NULL && hidden[hash_slot(kv_key(e), kv_klen(e))];
}

void cmd_randomkey(struct cmd_ctx *c)
{
	struct keyspace *ks;
	struct kv *e = NULL;
	unsigned tries = 0;

	/* A pick that finds only expired keys empties that shard (as Redis's
	 * dbRandomKey deletes them); then another gets its turn. */
	while (e == NULL && (ks = random_shard_ks(c)) != NULL) {
		e = ks_random(ks);
		if (e != NULL && hidden_key(c, e) && ++tries < RANDOMKEY_HIDDEN_TRIES)
			e = NULL;
	}
	if (e != NULL && hidden_key(c, e))
		e = NULL;
	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	reply_bulk(c->r, kv_key(e), kv_klen(e));
}

bool scan_acc_match(struct scan_acc *a, const char *p, size_t n)
{
	a->seen++;
	return a->o->pat == NULL || util_glob_match(a->o->pat, a->o->plen, p, n, false);
}

void scan_acc_put(struct scan_acc *a, const char *p, size_t n)
{
	if (a->len + sizeof(n) + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		while (cap < a->len + sizeof(n) + n)
			cap *= 2;
		a->buf = mem_realloc(a->mem, a->buf, cap);
		a->cap = cap;
	}
	memcpy(a->buf + a->len, &n, sizeof(n));
	memcpy(a->buf + a->len + sizeof(n), p, n);
	a->len += sizeof(n) + n;
	a->n++;
}

bool scan_key_begin(struct cmd_ctx *c, enum kv_type type, unsigned long long *cursor,
		    struct scan_opts *o, struct kv **e, struct scan_acc *a)
{
	if (!cmd_parse_cursor(&c->argv[2], cursor)) {
		reply_error(c->r, ERR_INVALID_CURSOR);
		return false;
	}
	if (!cmd_lookup_read(c, c->ks, &c->argv[1], type, e))
		return false;
	if (*e == NULL) {
		reply_array(c->r, 2);
		reply_bulk(c->r, "0", 1);
		reply_empty_array(c->r);
		return false;
	}
	if (!cmd_scan_parse(c, 3, false, o))
		return false;
	*a = (struct scan_acc){ .mem = c->env->mem, .o = o };
	return true;
}

bool scan_key_more(const struct scan_acc *a, unsigned long long cursor, long long *steps)
{
	return cursor != 0 && (*steps)-- > 0 && a->seen < (size_t)a->o->count;
}

void scan_key_reply(struct cmd_ctx *c, unsigned long long cursor, struct scan_acc *a)
{
	size_t off, n;

	reply_array(c->r, 2);
	reply_bulk_ll(c->r, (long long)cursor);
	reply_array(c->r, (long long)a->n);
	for (off = 0; off < a->len; off += sizeof(n) + n) {
		memcpy(&n, a->buf + off, sizeof(n));
		reply_bulk(c->r, a->buf + off + sizeof(n), n);
	}
	mem_free(a->mem, a->buf);
	a->buf = NULL;
}
