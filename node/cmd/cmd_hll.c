/* cmd_hll.c: PFADD, PFCOUNT and PFMERGE, over HyperLogLog strings in
 * Redis's format (data/hll.h).
 *
 * A write works on a scratch copy of the value (room for every sparse
 * update, and for the dense form a promotion needs), then stores the result
 * once; the key stays a raw string, as Redis leaves it. PFCOUNT of one key
 * writes the cached cardinality back into the value, as Redis does. The
 * errors are Redis's: a string that is not a HyperLogLog is
 * "-WRONGTYPE Key is not a valid HyperLogLog string value.", a sparse form
 * that does not add up is "-INVALIDOBJ Corrupted HLL object detected". */
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "data/hll.h"
#include "data/keyspace.h"
#include "proto/reply.h"

#define ERR_NOT_HLL "-WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_BAD_HLL "-INVALIDOBJ Corrupted HLL object detected"

/* A HyperLogLog being changed: buf holds the value (len bytes) with room
 * for its updates; dense is the scratch of a promotion. */
struct hll_work {
	struct mem *mem;
	unsigned char *buf, *dense;
	size_t len, cap;
	size_t sparse_max;
};

static void work_init(struct cmd_ctx *c, struct hll_work *w, const char *p, size_t len)
{
	/* Every register its own opcode is the longest a valid sparse form
	 * gets; anything past it came with the value. */
	w->mem = c->env->mem;
	w->cap = len + HLL_HDR_SIZE + HLL_REGISTERS + HLL_SPARSE_GROW_MAX;
	w->buf = mem_alloc(w->mem, w->cap);
	w->dense = mem_alloc(w->mem, HLL_DENSE_SIZE + 1);
	memcpy(w->buf, p, len);
	w->len = len;
	w->sparse_max = (size_t)c->env->cfg->hll_sparse_max_bytes;
}

static void work_free(struct hll_work *w)
{
	mem_free(w->mem, w->buf);
	mem_free(w->mem, w->dense);
}

/* Sets register idx to count if larger: 1 changed, 0 not, -1 corrupt. */
static int work_set(struct hll_work *w, long idx, uint8_t count)
{
	int r;

	if (hll_encoding(w->buf) == HLL_DENSE)
		return hll_dense_set(w->buf + HLL_HDR_SIZE, idx, count);
	ASSERT(w->len + HLL_SPARSE_GROW_MAX <= w->cap);
	r = hll_sparse_set(w->buf, &w->len, w->sparse_max, idx, count);
	if (r != 2)
		return r;
	/* Promoted: the dense form, then the update, which must change it. */
	if (!hll_to_dense(w->buf, w->len, w->dense))
		return -1;
	memcpy(w->buf, w->dense, HLL_DENSE_SIZE);
	w->len = HLL_DENSE_SIZE;
	r = hll_dense_set(w->buf + HLL_HDR_SIZE, idx, count);
	ASSERT(r == 1);
	return r;
}

/* Stores the work's bytes as key's value (raw, its TTL kept). */
static void work_store(struct keyspace *ks, const struct cmd_arg *key, const struct hll_work *w)
{
	struct kval v;

	str_kval_raw(&v, (const char *)w->buf, w->len);
	ks_set(ks, key->p, key->len, &v, KS_TTL_KEEP);
}

/* The HyperLogLog at key (a string in the format), or NULL when missing;
 * false after WRONGTYPE or a string that is not one. */
static bool hll_lookup(struct cmd_ctx *c, const struct cmd_arg *key, bool write, struct kv **out,
		       const char **p, size_t *len, char *buf)
{
	struct keyspace *ks = cmd_ks(c, key->p, key->len);
	bool ok = write ? cmd_lookup_write(c, ks, key, KV_STRING, out)
			: cmd_lookup_read(c, ks, key, KV_STRING, out);

	if (!ok)
		return false;
	if (*out == NULL)
		return true;
	*p = str_value(*out, buf, len);
	if (!hll_valid_header((const unsigned char *)*p, *len)) {
		reply_error(c->r, ERR_NOT_HLL);
		return false;
	}
	return true;
}

void cmd_pfadd(struct cmd_ctx *c)
{
	unsigned char empty[HLL_EMPTY_SIZE];
	char buf[UTIL_LL_CHARS];
	struct hll_work w;
	int updated = 0, j;
	const char *p;
	struct kv *e;
	size_t len;

	if (!hll_lookup(c, &c->argv[1], true, &e, &p, &len, buf))
		return;
	if (e == NULL) {
		hll_empty(empty);
		p = (const char *)empty;
		len = sizeof(empty);
		updated = 1;
	}
	work_init(c, &w, p, len);
	for (j = 2; j < c->argc; j++) {
		long idx;
		uint8_t count;
		int r;
		hll_pattern(c->argv[j].p, c->argv[j].len, &idx, &count);
		r = work_set(&w, idx, count);
		if (r < 0) {
			reply_error(c->r, ERR_BAD_HLL);
			work_free(&w);
			return;
		}
		updated += r;
	}
	if (updated) {
		hll_cache_invalidate(w.buf);
		work_store(c->ks, &c->argv[1], &w);
		ks_notify(c->ks, CONFIG_NOTIFY_STRING, "pfadd", c->argv[1].p, c->argv[1].len);
	}
	reply_int(c->r, updated ? 1 : 0);
	work_free(&w);
}

/* PFCOUNT of several keys: the count of their union, nothing stored. */
static void pfcount_union(struct cmd_ctx *c)
{
	uint8_t *max = mem_calloc(c->env->mem, HLL_REGISTERS);
	char buf[UTIL_LL_CHARS];
	const char *p;
	struct kv *e;
	size_t len;
	int j;

	for (j = 1; j < c->argc; j++) {
		if (!hll_lookup(c, &c->argv[j], false, &e, &p, &len, buf))
			goto out;
		if (e != NULL && !hll_merge(max, (const unsigned char *)p, len)) {
			reply_error(c->r, ERR_BAD_HLL);
			goto out;
		}
	}
	reply_int(c->r, (long long)hll_count_raw(max));
out:
	mem_free(c->env->mem, max);
}

void cmd_pfcount(struct cmd_ctx *c)
{
	char buf[UTIL_LL_CHARS];
	bool invalid = false;
	unsigned char *wp;
	uint64_t card;
	const char *p;
	struct kv *e;
	size_t len;

	if (c->argc > 2) {
		pfcount_union(c);
		return;
	}
	if (!hll_lookup(c, &c->argv[1], false, &e, &p, &len, buf))
		return;
	if (e == NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (hll_cache_valid((const unsigned char *)p)) {
		reply_int(c->r, (long long)hll_cache_get((const unsigned char *)p));
		return;
	}
	card = hll_count((const unsigned char *)p, len, &invalid);
	if (invalid) {
		reply_error(c->r, ERR_BAD_HLL);
		return;
	}
	/* The cache lives in the value: it is written back, as Redis does. */
	wp = (unsigned char *)ks_edit(c->ks, &e, len);
	hll_cache_set(wp, card);
	reply_int(c->r, (long long)card);
}

/* Merges every source (the destination first) into max; false after an
 * error reply. *dense: at least one was dense. */
static bool pfmerge_sources(struct cmd_ctx *c, uint8_t *max, bool *dense)
{
	char buf[UTIL_LL_CHARS];
	const char *p;
	struct kv *e;
	size_t len;
	int j;

	*dense = false;
	for (j = 1; j < c->argc; j++) {
		if (!hll_lookup(c, &c->argv[j], false, &e, &p, &len, buf))
			return false;
		if (e == NULL)
			continue;
		if (hll_encoding((const unsigned char *)p) == HLL_DENSE)
			*dense = true;
		if (!hll_merge(max, (const unsigned char *)p, len)) {
			reply_error(c->r, ERR_BAD_HLL);
			return false;
		}
	}
	return true;
}

void cmd_pfmerge(struct cmd_ctx *c)
{
	const struct cmd_arg *dst = &c->argv[1];
	struct keyspace *dks = cmd_ks(c, dst->p, dst->len);
	uint8_t *max = mem_calloc(c->env->mem, HLL_REGISTERS);
	unsigned char empty[HLL_EMPTY_SIZE];
	char buf[UTIL_LL_CHARS];
	struct hll_work w;
	const char *p;
	struct kv *e;
	bool dense;
	size_t len;
	long j;

	if (!pfmerge_sources(c, max, &dense))
		goto out;
	/* The destination was checked as the first source. */
	e = ks_lookup_write(dks, dst->p, dst->len);
	if (e == NULL) {
		hll_empty(empty);
		p = (const char *)empty;
		len = sizeof(empty);
	} else {
		p = str_value(e, buf, &len);
	}
	work_init(c, &w, p, len);
	if (dense && hll_encoding(w.buf) == HLL_SPARSE) {
		if (!hll_to_dense(w.buf, w.len, w.dense)) {
			reply_error(c->r, ERR_BAD_HLL);
			work_free(&w);
			goto out;
		}
		memcpy(w.buf, w.dense, HLL_DENSE_SIZE);
		w.len = HLL_DENSE_SIZE;
	}
	for (j = 0; j < HLL_REGISTERS; j++)
		if (max[j] != 0)
			work_set(&w, j, max[j]);
	hll_cache_invalidate(w.buf);
	work_store(dks, dst, &w);
	work_free(&w);
	/* Redis reports a merge as a mass PFADD. */
	ks_notify(dks, CONFIG_NOTIFY_STRING, "pfadd", dst->p, dst->len);
	reply_ok(c->r);
out:
	mem_free(c->env->mem, max);
}
