/* rdblen.c: see rdblen.h. */
#include "data/rdblen.h"

#include <stdbool.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"
#include "data/intset.h"
#include "data/kv.h"
#include "data/listpack.h"
#include "data/lzf.h"
#include "data/quicklist.h"
#include "data/t_hash.h"
#include "data/t_list.h"
#include "data/t_set.h"
#include "data/t_string.h"
#include "data/t_zset.h"

/* Redis's thresholds: integers are tried up to 11 characters, LZF above
 * 20 bytes (it cannot shrink less), and must save 4 bytes. */
#define RDBLEN_INT_CHARS 11
#define RDBLEN_LZF_MIN 20
#define RDBLEN_LZF_GAIN 4
/* QUICKLIST_NODE_CONTAINER_PACKED, saved before each node. */
#define RDBLEN_CONTAINER_PACKED 2

unsigned rdblen_len(uint64_t n)
{
	return n < (1u << 6) ? 1 : n < (1u << 14) ? 2 : n <= UINT32_MAX ? 5 : 9;
}

/* An LZF block of clen bytes for len raw ones (rdbSaveLzfBlob): its
 * encoding byte, both lengths, the block. */
static uint64_t lzf_blob(uint64_t clen, uint64_t len)
{
	return 1 + rdblen_len(clen) + rdblen_len(len) + clen;
}

/* Whether the bytes are an integer in canonical form that fits 32 bits
 * (rdbTryIntegerEncoding), and its saved length then. */
static unsigned int_encoded(const char *p, size_t len)
{
	char buf[UTIL_LL_CHARS];
	long long v;

	if (len == 0 || len > RDBLEN_INT_CHARS || !util_str2ll(p, len, &v))
		return 0;
	if ((size_t)util_ll2str(buf, v) != len || memcmp(buf, p, len) != 0)
		return 0;
	if (v >= INT8_MIN && v <= INT8_MAX)
		return 2;
	if (v >= INT16_MIN && v <= INT16_MAX)
		return 3;
	if (v >= INT32_MIN && v <= INT32_MAX)
		return 5;
	return 0;
}

void rdblen_init(struct rdblen *r, struct mem *mem)
{
	r->mem = mem;
	r->table = NULL;
}

void rdblen_free(struct rdblen *r)
{
	mem_free(r->mem, r->table);
	r->table = NULL;
}

uint64_t rdblen_string(struct rdblen *r, const char *p, size_t len)
{
	unsigned n = int_encoded(p, len);

	if (n > 0)
		return n;
	if (len > RDBLEN_LZF_MIN) {
		size_t out_len = len - RDBLEN_LZF_GAIN, clen;
		char *out = mem_alloc(r->mem, out_len + 1);
		if (r->table == NULL)
			r->table = mem_calloc(r->mem, sizeof(*r->table));
		clen = lzf_compress_lib(p, len, out, out_len, r->table);
		mem_free(r->mem, out);
		if (clen > 0)
			return lzf_blob(clen, len);
	}
	return rdblen_len(len) + len;
}

/* A listpack or intset: a string of its bytes. */
static uint64_t blob(struct rdblen *r, const void *p, size_t len)
{
	return rdblen_string(r, p, len);
}

/* A node cairn keeps compressed: as Redis's node of the same listpack
 * would be saved, compressed by liblzf when that saves more than
 * QUICKLIST_MIN_COMPRESS_IMPROVE bytes (Redis's rule), else raw. */
static uint64_t compressed_node(struct rdblen *r, const struct quicklist_node *n)
{
	char *raw = mem_alloc(r->mem, n->sz), *out = mem_alloc(r->mem, n->sz);
	uint32_t clen;
	size_t len;
	uint64_t total;

	memcpy(&clen, n->entry, sizeof(clen));
	len = lzf_decompress(n->entry + sizeof(clen), clen, raw, n->sz);
	ASSERT(len == n->sz);
	if (r->table == NULL)
		r->table = mem_calloc(r->mem, sizeof(*r->table));
	len = lzf_compress_lib(raw, n->sz, out, n->sz, r->table);
	if (len != 0 && len + QUICKLIST_MIN_COMPRESS_IMPROVE < n->sz)
		total = lzf_blob(len, n->sz);
	else
		total = blob(r, raw, n->sz);
	mem_free(r->mem, out);
	mem_free(r->mem, raw);
	return total;
}

static uint64_t quicklist(struct rdblen *r, const struct quicklist *ql)
{
	const struct quicklist_node *n;
	uint64_t total = rdblen_len(ql->len);

	for (n = ql->head; n != NULL; n = n->next) {
		total += rdblen_len(RDBLEN_CONTAINER_PACKED);
		if (n->lzf) {
			total += compressed_node(r, n);
		} else {
			total += blob(r, n->entry, n->sz);
		}
	}
	return total;
}

static uint64_t list(struct rdblen *r, const struct kv *e)
{
	if (kv_obj_enc(e) == LIST_QL)
		return quicklist(r, kv_obj(e));
	ASSERT(kv_obj_enc(e) == LIST_LP);
	return rdblen_len(1) + rdblen_len(RDBLEN_CONTAINER_PACKED) +
	       blob(r, kv_obj(e), lp_bytes(kv_obj(e)));
}

static uint64_t set(struct rdblen *r, const struct kv *e)
{
	struct set_ref s = set_of(e);
	struct set_iter it;
	struct set_member m;
	uint64_t total;

	if (s.enc == SET_INTSET)
		return blob(r, s.obj, intset_bytes(s.obj));
	if (s.enc == SET_LP)
		return blob(r, s.obj, lp_bytes(s.obj));
	total = rdblen_len(set_size(&s));
	set_iter_init(&it, &s);
	while (set_iter_next(&it, &m)) {
		char buf[UTIL_LL_CHARS];
		size_t len;
		const char *p = set_member_text(&m, buf, &len);
		total += rdblen_string(r, p, len);
	}
	return total;
}

static uint64_t zset(struct rdblen *r, const struct kv *e)
{
	struct zset_it it;
	uint64_t total;

	if (kv_obj_enc(e) == ZSET_LP)
		return blob(r, kv_obj(e), lp_bytes(kv_obj(e)));
	total = rdblen_len(zset_len(e));
	for (zset_seek((struct kv *)e, 0, &it); zset_it_valid(&it); zset_it_next(&it)) {
		char buf[UTIL_LL_CHARS];
		size_t len;
		const char *p = zset_it_member(&it, buf, &len);
		total += rdblen_string(r, p, len) + sizeof(double);
	}
	return total;
}

struct hash_sum {
	struct rdblen *r;
	uint64_t total;
};

static void hash_one(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct hash_sum *s = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *p = hash_val_text(v, buf, &len);

	s->total += rdblen_string(s->r, f, flen) + rdblen_string(s->r, p, len);
}

static uint64_t hash(struct rdblen *r, const struct kv *e)
{
	struct hash_sum s = { r, 0 };

	if (kv_obj_enc(e) == HASH_LP)
		return blob(r, kv_obj(e), lp_bytes(kv_obj(e)));
	s.total = rdblen_len(hash_len(e));
	hash_each(e, hash_one, &s);
	return s.total;
}

uint64_t rdblen_value(struct rdblen *r, const struct kv *e)
{
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *p;

	switch (e->type) {
	case KV_STRING: p = str_value(e, buf, &len); return rdblen_string(r, p, len);
	case KV_LIST: return list(r, e);
	case KV_SET: return set(r, e);
	case KV_ZSET: return zset(r, e);
	case KV_HASH: return hash(r, e);
	default: ASSERT_NOT_REACHED("rdblen: a type without a length"); return 0;
	}
}
