/* t_hash.c: the hash type's two encodings. See t_hash.h.
 *
 * The table keeps the bytes of its entries in `bytes` as it goes, so that
 * MEMORY USAGE and the memory account's check read a hash's size in O(1);
 * hash_table_check() recomputes it. */
#include "data/t_hash.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/slab.h"
#include "base/util.h"
#include "base/val.h"
#include "data/dict.h"
#include "data/kv.h"
#include "data/listpack.h"
#include "data/t_string.h"

/* Fields a table holds before it takes a slab of its own: below it, the
 * slab's pages (64 KB for each size of field) would cost more than the
 * 8-byte cells it saves. */
#define HASH_SLAB_FIELDS 4096

struct hash_table {
	struct dict d;
	/* NULL, or once the table passed HASH_SLAB_FIELDS, the slab its new
	 * fields go in (the older ones stay malloc's, behind cells). Its
	 * own, so it moves with the hash to another keyspace. */
	struct slab *slab;
	uint64_t seed;
	uint64_t bytes;       /* entries and their buffers, as charged */
	uint64_t free_bucket; /* the next bucket a background free frees */
};

static unsigned char *lp_of(const struct kv *e)
{
	ASSERT(e->type == KV_HASH);
	ASSERT(kv_obj_enc(e) == HASH_LP);
	return kv_obj(e);
}

static struct hash_table *table_of(const struct kv *e)
{
	ASSERT(e->type == KV_HASH);
	ASSERT(kv_obj_enc(e) == HASH_HT);
	return kv_obj(e);
}

static uint32_t field_hash(const struct hash_table *t, const char *f, size_t flen)
{
	return (uint32_t)hash_bytes(f, flen, t->seed);
}

/* ---- values ---- */

static void val_from_lp(const unsigned char *p, struct hash_val *out)
{
	int64_t i;
	uint32_t len;
	const unsigned char *s = lp_get(p, &i, &len);

	memset(out, 0, sizeof(*out));
	if (s == NULL) {
		out->is_int = true;
		out->ival = i;
	} else {
		out->p = (const char *)s;
		out->len = len;
	}
}

static void val_from_entry(const struct kv *fe, struct hash_val *out)
{
	memset(out, 0, sizeof(*out));
	switch (fe->enc) {
	case KV_INT:
		out->is_int = true;
		out->ival = kv_int(fe);
		break;
	case KV_REF:
		out->ref = kv_ref(fe);
		out->p = out->ref->data;
		out->len = out->ref->len;
		break;
	default:
		out->p = kv_cvptr(fe);
		out->len = fe->vlen;
		break;
	}
}

size_t hash_val_len(const struct hash_val *v)
{
	char buf[UTIL_LL_CHARS];

	if (!v->is_int)
		return v->len;
	return (size_t)util_ll2str(buf, v->ival);
}

const char *hash_val_text(const struct hash_val *v, char *buf, size_t *len)
{
	if (!v->is_int) {
		*len = v->len;
		return v->p;
	}
	*len = (size_t)util_ll2str(buf, v->ival);
	return buf;
}

/* ---- the table's entries: a field as key, its value as a string ---- */

/* A field's entry, from the table's own heap (indirect cells, no slab): a
 * hash may move to another keyspace, and its entries go with it. */
static struct kv *field_new(struct hash_table *t, const char *f, size_t flen, uint8_t tag,
			    const char *v, size_t vlen, struct val *big)
{
	struct mem *mem = t->d.mem;
	struct kval kv;
	struct kv *fe;

	ASSERT(flen <= UINT32_MAX);
	str_kval(&kv, v, vlen, big);
	fe = dict_alloc(&t->d, sizeof(*fe) + kv_key_bytes(flen) + str_value_bytes(kv.enc, kv.len));
	memset(fe, 0, sizeof(*fe));
	fe->tag = tag;
	kv_set_key(fe, f, flen);
	str_store(mem, fe, &kv);
	ASSERT(fe->type == KV_STRING);
	return fe;
}

static size_t field_bytes(const struct hash_table *t, const struct kv *fe)
{
	return dict_entry_size(&t->d, fe) + str_size(fe);
}

/* Frees a field; returns its field_bytes() (its slab page looked up once). */
static size_t field_free(struct hash_table *t, struct kv *fe)
{
	size_t n = str_size(fe);

	str_release(t->d.mem, fe);
	return n + dict_release(&t->d, fe);
}

static struct hash_table *table_new(struct mem *mem, uint64_t seed)
{
	struct hash_table *t = mem_alloc(mem, sizeof(*t));

	dict_init(&t->d, mem, seed);
	t->slab = NULL;
	t->seed = seed;
	t->bytes = 0;
	t->free_bucket = 0;
	return t;
}

/* A big table's fields go in a slab from now on: 4-byte slot steps and no
 * cell, where malloc's take 16-byte steps and an 8-byte cell. (Under
 * AddressSanitizer entries stay malloc's.) */
static void table_grew(struct hash_table *t)
{
	if (!SLAB_FOR_ENTRIES || t->slab != NULL || dict_size(&t->d) < HASH_SLAB_FIELDS)
		return;
	t->slab = mem_alloc(t->d.mem, sizeof(*t->slab));
	slab_init(t->slab, t->d.mem);
	dict_use_slab(&t->d, t->slab);
}

/* Frees the tables and the slab once every field is gone. */
static void table_release(struct mem *mem, struct hash_table *t)
{
	dict_free_tables(&t->d);
	if (t->slab != NULL) {
		slab_destroy(t->slab);
		mem_free(mem, t->slab);
	}
	mem_free(mem, t);
}

/* Adds a field known to be absent. */
static void table_add(struct hash_table *t, const char *f, size_t flen, const char *v, size_t vlen,
		      struct val *big)
{
	uint32_t h = field_hash(t, f, flen);
	struct kv *fe = field_new(t, f, flen, kv_hash_tag(h), v, vlen, big);

	dict_insert(&t->d, fe, h);
	t->bytes += field_bytes(t, fe);
	table_grew(t);
}

struct free_acc {
	struct mem *mem;
	struct hash_table *t;
	uint64_t bytes;
};

static void free_field_cb(void *arg, struct kv *fe)
{
	struct free_acc *a = arg;

	ASSERT(a->t->d.mem == a->mem);
	a->bytes += field_free(a->t, fe);
}

static void table_free(struct mem *mem, struct hash_table *t)
{
	struct free_acc a = { .mem = mem, .t = t, .bytes = 0 };

	ASSERT(t->d.mem == mem);
	dict_each(&t->d, free_field_cb, &a);
	ASSERT(a.bytes == t->bytes);
	table_release(mem, t);
}

/* ---- the type's hooks ---- */

static void hash_free(struct mem *mem, void *obj, unsigned enc)
{
	if (enc == HASH_LP)
		lp_free(mem, obj);
	else
		table_free(mem, obj);
}

/* As Redis counts it: a listpack is one allocation, a table one per field. */
static uint64_t hash_effort(const void *obj, unsigned enc)
{
	return enc == HASH_LP ? 1 : dict_size(&((const struct hash_table *)obj)->d);
}

static bool hash_free_step(struct mem *mem, void *obj, unsigned enc, unsigned *budget)
{
	struct hash_table *t = obj;
	struct free_acc a = { .mem = mem, .t = t, .bytes = 0 };

	if (enc == HASH_LP) {
		lp_free(mem, obj);
		*budget = *budget > 0 ? *budget - 1 : 0;
		return true;
	}
	if (!dict_free_some(&t->d, &t->free_bucket, budget, free_field_cb, &a))
		return false;
	table_release(mem, t);
	return true;
}

struct dup_acc {
	struct hash_table *to;
};

static void dup_field_cb(void *arg, struct kv *fe)
{
	struct dup_acc *a = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *v = str_value(fe, buf, &len);

	/* A copy owns its own buffers, as Redis duplicates the values; an
	 * integer is re-read from its text into the same encoding. */
	table_add(a->to, kv_key(fe), kv_klen(fe), v, len, NULL);
}

static void *hash_dup(struct mem *mem, const void *obj, unsigned enc)
{
	const struct hash_table *t;
	struct dup_acc a;

	if (enc == HASH_LP) {
		size_t n = lp_bytes(obj);
		unsigned char *lp = mem_alloc(mem, n);
		memcpy(lp, obj, n);
		return lp;
	}
	t = obj;
	a.to = table_new(mem, t->seed);
	dict_each((struct dict *)&t->d, dup_field_cb, &a);
	ASSERT(dict_size(&a.to->d) == dict_size(&t->d));
	return a.to;
}

static size_t hash_size(const void *obj, unsigned enc)
{
	const struct hash_table *t = obj;

	if (enc == HASH_LP)
		return mem_size(obj);
	return mem_size(t) + dict_mem(&t->d) + t->bytes +
	       (t->slab != NULL ? mem_size(t->slab) + slab_mem(t->slab) : 0);
}

static const char *hash_encoding(const void *obj, unsigned enc)
{
	(void)obj;
	ASSERT(enc <= HASH_HT);
	return enc == HASH_LP ? "listpack" : "hashtable";
}

static void hash_rebind(void *obj, unsigned enc, struct mem *mem)
{
	struct hash_table *t = obj;

	if (enc != HASH_HT)
		return;
	t->d.mem = mem;
	if (t->slab != NULL)
		t->slab->mem = mem;
}

/* The hash's invariants, for ks_check: a listpack's structure and its
 * pairs; the table's field hashes and its byte count. */
struct check_acc {
	const struct hash_table *t;
	uint64_t bytes, n;
	bool bad;
};

static void check_field_cb(void *arg, struct kv *fe)
{
	struct check_acc *a = arg;

	a->n++;
	a->bytes += field_bytes(a->t, fe);
	if (fe->type != KV_STRING ||
	    fe->tag != kv_hash_tag(field_hash(a->t, kv_key(fe), kv_klen(fe))) || kv_has_ttl(fe))
		a->bad = true;
}

static bool hash_check(const void *obj, unsigned enc)
{
	struct check_acc a = { 0 };

	if (enc == HASH_LP) {
		const unsigned char *lp = obj;
		return lp_valid(lp, lp_bytes(lp), true) && lp_length(lp) % 2 == 0 &&
		       lp_length(lp) > 0;
	}
	a.t = obj;
	dict_each((struct dict *)&a.t->d, check_field_cb, &a);
	return !a.bad && a.bytes == a.t->bytes && a.n == dict_size(&a.t->d) && a.n > 0;
}

const struct kv_type_ops hash_type = {
	.name = "hash",
	.free = hash_free,
	.dup = hash_dup,
	.size = hash_size,
	.encoding = hash_encoding,
	.rebind = hash_rebind,
	.check = hash_check,
	.effort = hash_effort,
	.free_step = hash_free_step,
};

/* ---- reads ---- */

void *hash_new(struct mem *mem)
{
	return lp_new(mem);
}

/* The field element of f in a listpack, or NULL. */
static unsigned char *lp_field(unsigned char *lp, const char *f, size_t flen)
{
	unsigned char *p = lp_first(lp);

	return p != NULL ? lp_find(lp, p, f, flen, 1) : NULL;
}

static struct kv *table_find(struct hash_table *t, const char *f, size_t flen, kvh **link)
{
	return dict_find(&t->d, f, flen, field_hash(t, f, flen), link);
}

bool hash_get(const struct kv *e, const char *f, size_t flen, struct hash_val *out)
{
	struct kv *fe;
	unsigned char *fp;

	if (kv_obj_enc(e) == HASH_LP) {
		unsigned char *lp = lp_of(e);
		fp = lp_field(lp, f, flen);
		if (fp == NULL)
			return false;
		val_from_lp(lp_next(lp, fp), out);
		return true;
	}
	fe = table_find(table_of(e), f, flen, NULL);
	if (fe == NULL)
		return false;
	val_from_entry(fe, out);
	return true;
}

uint64_t hash_len(const struct kv *e)
{
	if (kv_obj_enc(e) == HASH_LP)
		return lp_length(lp_of(e)) / 2;
	return dict_size(&table_of(e)->d);
}

/* ---- writes ---- */

bool hash_needs_table(const struct hash_limits *lim, size_t flen, size_t vlen)
{
	return flen > lim->max_lp_value || vlen > lim->max_lp_value;
}

void hash_to_table(struct mem *mem, struct kv *e, const struct hash_limits *lim)
{
	unsigned char *lp, *p;
	struct hash_table *t;

	if (kv_obj_enc(e) == HASH_HT)
		return;
	lp = lp_of(e);
	t = table_new(mem, lim->seed);
	for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p))) {
		char fbuf[UTIL_LL_CHARS], vbuf[UTIL_LL_CHARS];
		size_t flen, vlen;
		const char *f = lp_get_text(p, fbuf, &flen);
		const char *v = lp_get_text(lp_next(lp, p), vbuf, &vlen);
		table_add(t, f, flen, v, vlen, NULL);
	}
	ASSERT(dict_size(&t->d) * 2 == lp_length(lp));
	lp_free(mem, lp);
	kv_set_obj(e, t, HASH_HT);
}

static bool lp_set(struct mem *mem, struct kv *e, const char *f, size_t flen, const char *v,
		   size_t vlen)
{
	unsigned char *lp = lp_of(e), *fp = lp_field(lp, f, flen);

	if (fp != NULL) {
		unsigned char *vp = lp_next(lp, fp);
		lp = lp_replace(mem, lp, &vp, v, vlen);
		kv_set_obj(e, lp, HASH_LP);
		return false;
	}
	lp = lp_append(mem, lp, f, flen);
	lp = lp_append(mem, lp, v, vlen);
	kv_set_obj(e, lp, HASH_LP);
	return true;
}

static bool table_set(struct mem *mem, struct hash_table *t, const char *f, size_t flen,
		      const char *v, size_t vlen, struct val *big)
{
	struct kv *old, *fe;
	kvh *link;

	ASSERT(t->d.mem == mem);
	old = table_find(t, f, flen, &link);
	if (old == NULL) {
		table_add(t, f, flen, v, vlen, big);
		return true;
	}
	/* A new entry takes the old one's place in its chain. */
	fe = field_new(t, f, flen, old->tag, v, vlen, big);
	dict_replace(&t->d, link, old, fe);
	t->bytes += field_bytes(t, fe);
	t->bytes -= field_free(t, old);
	return false;
}

bool hash_set(struct mem *mem, struct kv *e, const struct hash_limits *lim, const char *f,
	      size_t flen, const char *v, size_t vlen, struct val *big)
{
	bool added;

	/* A value too long for the listpack, or a listpack that would pass
	 * its safe size, and the hash becomes a table first. */
	if (kv_obj_enc(e) == HASH_LP &&
	    (hash_needs_table(lim, flen, vlen) ||
	     lp_bytes(lp_of(e)) + flen + vlen > (uint64_t)LISTPACK_SAFE_MAX))
		hash_to_table(mem, e, lim);
	if (kv_obj_enc(e) == HASH_HT)
		return table_set(mem, table_of(e), f, flen, v, vlen, big);
	added = lp_set(mem, e, f, flen, v, vlen);
	if (hash_len(e) > lim->max_lp_entries)
		hash_to_table(mem, e, lim);
	return added;
}

bool hash_del(struct mem *mem, struct kv *e, const char *f, size_t flen)
{
	struct hash_table *t;
	struct kv *fe;
	kvh *link;

	if (kv_obj_enc(e) == HASH_LP) {
		unsigned char *lp = lp_of(e), *fp = lp_field(lp, f, flen), *vp;
		if (fp == NULL)
			return false;
		lp = lp_delete(mem, lp, fp, &vp);
		lp = lp_delete(mem, lp, vp, NULL);
		kv_set_obj(e, lp, HASH_LP);
		return true;
	}
	t = table_of(e);
	ASSERT(t->d.mem == mem);
	fe = table_find(t, f, flen, &link);
	if (fe == NULL)
		return false;
	t->bytes -= field_free(t, dict_unlink(&t->d, link));
	return true;
}

/* ---- iteration ---- */

struct each_acc {
	hash_each_fn fn;
	void *arg;
};

static void each_entry_cb(void *arg, struct kv *fe)
{
	const struct each_acc *a = arg;
	struct hash_val v;

	val_from_entry(fe, &v);
	a->fn(a->arg, kv_key(fe), kv_klen(fe), &v);
}

static void each_lp(unsigned char *lp, hash_each_fn fn, void *arg)
{
	unsigned char *p;

	for (p = lp_first(lp); p != NULL; p = lp_next(lp, lp_next(lp, p))) {
		char fbuf[UTIL_LL_CHARS];
		struct hash_val v;
		size_t flen;
		const char *f = lp_get_text(p, fbuf, &flen);
		val_from_lp(lp_next(lp, p), &v);
		fn(arg, f, flen, &v);
	}
}

void hash_each(const struct kv *e, hash_each_fn fn, void *arg)
{
	struct each_acc a = { .fn = fn, .arg = arg };

	if (kv_obj_enc(e) == HASH_LP) {
		each_lp(lp_of(e), fn, arg);
		return;
	}
	dict_each(&table_of(e)->d, each_entry_cb, &a);
}

uint64_t hash_scan(struct kv *e, uint64_t cursor, hash_each_fn fn, void *arg)
{
	struct each_acc a = { .fn = fn, .arg = arg };

	if (kv_obj_enc(e) == HASH_LP) {
		/* Redis answers a listpack whole, whatever the cursor. */
		each_lp(lp_of(e), fn, arg);
		return 0;
	}
	return dict_scan(&table_of(e)->d, cursor, each_entry_cb, &a);
}

const void *hash_random(const struct kv *e, uint64_t (*rnd)(void *), void *rarg)
{
	uint64_t n = hash_len(e);

	ASSERT(n > 0);
	if (kv_obj_enc(e) == HASH_LP)
		return lp_seek(lp_of(e), (long)(2 * (rnd(rarg) % n)));
	return dict_random(&table_of(e)->d, rnd, rarg);
}

void hash_read(const struct kv *e, const void *at, hash_each_fn fn, void *arg)
{
	const struct kv *fe = at;
	struct hash_val v;

	ASSERT(at != NULL);
	if (kv_obj_enc(e) == HASH_LP) {
		unsigned char *lp = lp_of(e), *p = (unsigned char *)at;
		char fbuf[UTIL_LL_CHARS];
		size_t flen;
		const char *f = lp_get_text(p, fbuf, &flen);
		val_from_lp(lp_next(lp, p), &v);
		fn(arg, f, flen, &v);
		return;
	}
	val_from_entry(fe, &v);
	fn(arg, kv_key(fe), kv_klen(fe), &v);
}
