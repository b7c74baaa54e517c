/* fuzz_restore.c: fuzz target for RESTORE's payload decoder (node/data/rdb.c).
 *
 * Goal: any bytes a client sends as RESTORE's payload are read safely: never
 * a byte outside them, whatever lengths, listpacks, ziplists, intsets or LZF
 * blocks claim, and nothing left allocated when they are refused. A payload
 * that decodes holds a value that keeps its type's invariants (the type's
 * check hook, ks_check once stored), that DUMP saves, and whose DUMP loads
 * back into the same value (the same elements in the same order, or the
 * same members of a hash or set); saved again, it gives the same bytes
 * wherever the encoding keeps its own order (strings, lists, intsets,
 * sorted sets, listpack hashes).
 *
 * Method: byte 0 picks the limits the value is built with (small ones, so
 * every conversion between encodings happens on small inputs; or Redis's
 * defaults) and whether the rest is a whole payload (its footer checked as
 * RESTORE checks it) or a body that gets a right footer (so the decoder
 * sees it; most runs). The payload is placed by fuzz_exact so that reading
 * one byte past it faults.
 *
 * Input: byte 0 the mode, then the payload or its body. */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "base/crc64.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/rdb.h"
#include "data/t_string.h"
#include "data/types.h"
#include "fuzz_util.h"

#define FR_ROOM (1u << 16)

static uint64_t fr_rnd(void *arg)
{
	uint64_t *x = arg;

	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fr_limits(uint8_t mode, struct rdb_limits *lim)
{
	bool small = (mode & 2) != 0;

	lim->hash = (struct hash_limits){ small ? 4 : 512, small ? 8 : 64, 7 };
	lim->set = (struct set_limits){ small ? 4 : 512, small ? 3 : 128, small ? 8 : 64, 7 };
	lim->zset = (struct zset_limits){ small ? 4 : 128, small ? 8 : 64, 7 };
	lim->list = (struct list_limits){ small ? 3 : -2, (mode & 4) ? 1 : 0 };
}

/* The value's elements as text, one after another, each prefixed by its
 * length: a canonical form to compare two loads of the same value (a
 * hash's or set's elements sorted, as their tables' order is their own). */
struct fr_canon {
	char **items;
	size_t *lens;
	size_t n, cap;
};

static void fr_add(struct fr_canon *c, const char *p, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->items = realloc(c->items, c->cap * sizeof(*c->items));
		c->lens = realloc(c->lens, c->cap * sizeof(*c->lens));
		ASSERT(c->items != NULL && c->lens != NULL);
	}
	c->items[c->n] = malloc(len + 1);
	ASSERT(c->items[c->n] != NULL);
	memcpy(c->items[c->n], p, len);
	c->lens[c->n++] = len;
}

static void fr_field(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	char buf[UTIL_LL_CHARS], *pair;
	size_t len;
	const char *p = hash_val_text(v, buf, &len);

	pair = malloc(flen + len + 1);
	ASSERT(pair != NULL);
	memcpy(pair, f, flen);
	pair[flen] = '\0'; /* a field cannot hold the separator's place */
	memcpy(pair + flen + 1, p, len);
	fr_add(arg, pair, flen + 1 + len);
	free(pair);
}

static int fr_cmp_idx(const void *a, const void *b, void *arg)
{
	const struct fr_canon *c = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	size_t n = c->lens[i] < c->lens[j] ? c->lens[i] : c->lens[j];
	int r = memcmp(c->items[i], c->items[j], n);

	return r != 0 ? r : (c->lens[i] > c->lens[j]) - (c->lens[i] < c->lens[j]);
}

static void fr_collection(struct mem *mem, struct kv *e, struct fr_canon *c)
{
	char buf[UTIL_LL_CHARS];
	size_t len;

	if (e->type == KV_HASH) {
		hash_each(e, fr_field, c);
	} else if (e->type == KV_SET) {
		struct set_ref s = set_of(e);
		struct set_iter it;
		struct set_member m;
		set_iter_init(&it, &s);
		while (set_iter_next(&it, &m)) {
			const char *p = set_member_text(&m, buf, &len);
			fr_add(c, p, len);
		}
	} else if (e->type == KV_ZSET) {
		struct zset_it it;
		for (zset_seek(e, 0, &it); zset_it_valid(&it); zset_it_next(&it)) {
			double d = zset_it_score(&it);
			const char *p = zset_it_member(&it, buf, &len);
			fr_add(c, p, len);
			fr_add(c, (const char *)&d, sizeof(d));
		}
	} else {
		struct list_iter it;
		struct list_val v;
		list_iter_init(&it, mem, e, 0, true);
		while (list_iter_next(&it, &v)) {
			if (v.is_int)
				fr_add(c, buf, (size_t)util_ll2str(buf, v.ival));
			else
				fr_add(c, v.p, v.len);
		}
		list_iter_release(&it);
	}
}

/* e's canonical form as one buffer (malloc'd). */
static char *fr_canon_of(struct keyspace *ks, struct kv *e, size_t *out_len)
{
	struct fr_canon c = { 0 };
	char buf[UTIL_LL_CHARS], *out, *w;
	size_t len, *idx, total = 0;

	if (e->type == KV_STRING) {
		const char *p = str_value(e, buf, &len);
		fr_add(&c, p, len);
	} else {
		fr_collection(&ks->mem, e, &c);
	}
	idx = malloc((c.n + 1) * sizeof(*idx));
	ASSERT(idx != NULL);
	for (size_t i = 0; i < c.n; i++) {
		idx[i] = i;
		total += c.lens[i] + sizeof(size_t);
	}
	if (e->type == KV_HASH || e->type == KV_SET)
		qsort_r(idx, c.n, sizeof(*idx), fr_cmp_idx, &c);
	out = w = malloc(total + 1);
	ASSERT(out != NULL);
	for (size_t i = 0; i < c.n; i++) {
		memcpy(w, &c.lens[idx[i]], sizeof(size_t));
		memcpy(w + sizeof(size_t), c.items[idx[i]], c.lens[idx[i]]);
		w += sizeof(size_t) + c.lens[idx[i]];
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.items[i]);
	free(c.items);
	free(c.lens);
	free(idx);
	*out_len = total;
	return out;
}

/* Stores v under key (the keyspace takes its object). */
static struct kv *fr_store(struct keyspace *ks, const char *key, struct rdb_value *v)
{
	struct kv *e;

	if (v->type == KV_STRING) {
		struct kval kv;
		str_kval(&kv, v->p, v->len, NULL);
		e = ks_set(ks, key, strlen(key), &kv, KS_TTL_NONE);
	} else {
		e = ks_set_obj(ks, key, strlen(key), v->type, v->enc, v->obj, KS_TTL_NONE);
		v->obj = NULL;
	}
	rdb_value_free(&ks->mem, v);
	FUZZ_CHECK(ks_check(ks) == 0, "a loaded value breaks the keyspace's invariants");
	return e;
}

static bool fr_order_kept(const struct kv *e)
{
	if (e->type == KV_HASH)
		return kv_obj_enc(e) == HASH_LP;
	if (e->type == KV_SET)
		return kv_obj_enc(e) == SET_INTSET;
	return true;
}

/* A decoded value at "a": its DUMP loads back into "b", the same value. */
static void fr_round_trip(struct keyspace *ks, struct mem *scratch, const struct rdb_limits *lim)
{
	struct kv *a = ks_peek(ks, "a", 1), *b;
	struct rdb_out o1, o2;
	struct rdb_value v;
	char *ca, *cb;
	size_t la, lb;

	rdb_out_init(&o1, scratch, false);
	o1.list_fill = lim->list.fill;
	o1.list_compress = lim->list.compress;
	rdb_dump(&o1, a);
	FUZZ_CHECK(rdb_load(&ks->mem, lim, o1.buf, o1.len, &v), "a DUMP does not load back");
	b = fr_store(ks, "b", &v);
	a = ks_peek(ks, "a", 1);
	FUZZ_CHECK(a->type == b->type, "the type changed");
	ca = fr_canon_of(ks, a, &la);
	cb = fr_canon_of(ks, b, &lb);
	FUZZ_CHECK(la == lb && memcmp(ca, cb, la) == 0, "the value changed through DUMP");
	free(ca);
	free(cb);
	if (fr_order_kept(a)) {
		rdb_out_init(&o2, scratch, false);
		o2.list_fill = lim->list.fill;
		o2.list_compress = lim->list.compress;
		rdb_dump(&o2, b);
		FUZZ_CHECK(o2.len == o1.len && memcmp(o1.buf, o2.buf, o1.len) == 0,
			   "a DUMP of the loaded DUMP differs");
		rdb_out_free(&o2);
	}
	rdb_out_free(&o1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_exact x;
	static bool init;
	static char buf[FR_ROOM + RDB_FOOTER_BYTES];
	struct rdb_limits lim;
	struct rdb_value v;
	struct keyspace ks;
	struct stats st;
	struct mem scratch = { 0, 0 };
	uint64_t rs = 1;
	size_t len;

	if (size < 1 || size - 1 > FR_ROOM)
		return 0;
	if (!init) {
		fuzz_exact_init(&x);
		init = true;
	}
	fr_limits(data[0], &lim);
	len = size - 1;
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) == 0) { /* a body: give it a right footer */
		uint64_t crc;
		buf[len] = RDB_VERSION;
		buf[len + 1] = 0;
		crc = crc64(0, buf, len + 2);
		for (int i = 0; i < 8; i++)
			buf[len + 2 + i] = (char)(crc >> (8 * i));
		len += RDB_FOOTER_BYTES;
	}
	const char *p = fuzz_exact_put(&x, buf, len);
	if (!rdb_payload_ok(p, len))
		return 0;
	memset(&st, 0, sizeof(st));
	ks_init(&ks, &st, 7, fr_rnd, &rs);
	size_t base = ks.mem.used;
	if (rdb_load(&ks.mem, &lim, p, len, &v)) {
		if (v.obj != NULL)
			FUZZ_CHECK(kv_types[v.type]->check(v.obj, v.enc), "invariants");
		fr_store(&ks, "a", &v);
		fr_round_trip(&ks, &scratch, &lim);
	} else {
		FUZZ_CHECK(ks.mem.used == base, "a refused payload left %zu bytes",
			   ks.mem.used - base);
	}
	ks_free(&ks);
	FUZZ_CHECK(ks.mem.used == 0 && scratch.used == 0, "memory left behind");
	return 0;
}
