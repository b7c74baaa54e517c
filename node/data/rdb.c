/* rdb.c: see rdb.h. Saving first, then loading: its reader, the ziplist
 * walker (Redis 6's format, for older payloads), each type's builder. */
#include "data/rdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc64.h"
#include "base/mem.h"
#include "base/limits.h"
#include "base/util.h"
#include "data/intset.h"
#include "data/listpack.h"
#include "data/lzf.h"
#include "data/quicklist.h"
#include "data/t_string.h"

/* rdbSaveLen's forms. */
#define RDB_6BITLEN 0
#define RDB_14BITLEN 1
#define RDB_32BITLEN 0x80
#define RDB_64BITLEN 0x81
#define RDB_ENCVAL 3
/* The special strings after RDB_ENCVAL. */
#define RDB_ENC_INT8 0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF 3
/* Redis's thresholds: integers are tried up to 11 characters, LZF above
 * 20 bytes, and must save 4 bytes. */
#define RDB_INT_CHARS 11
#define RDB_LZF_MIN 20
#define RDB_LZF_GAIN 4
/* A quicklist node's container (QUICKLIST_NODE_CONTAINER_*). */
#define RDB_NODE_PLAIN 1
#define RDB_NODE_PACKED 2

/* ---- saving ---- */

void rdb_out_init(struct rdb_out *o, struct mem *mem, bool count_only)
{
	memset(o, 0, sizeof(*o));
	o->mem = mem;
	o->count_only = count_only;
	o->list_fill = RDB_LIST_FILL_DEFAULT;
	o->list_compress = 0;
}

void rdb_out_free(struct rdb_out *o)
{
	mem_free(o->mem, o->table);
	mem_free(o->mem, o->buf);
	o->table = NULL;
	o->buf = NULL;
	o->len = o->cap = 0;
}

static void out_put(struct rdb_out *o, const void *p, size_t n)
{
	if (!o->count_only && n > 0) {
		if (o->len + n > o->cap) {
			size_t cap = o->cap < 64 ? 64 : o->cap;
			while (cap < o->len + n)
				cap *= 2;
			o->buf = mem_realloc(o->mem, o->buf, cap);
			o->cap = cap;
		}
		memcpy(o->buf + o->len, p, n);
	}
	o->len += n;
}

/* Little endian, n bytes. */
static void put_le(unsigned char *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void out_byte(struct rdb_out *o, unsigned b)
{
	unsigned char c = (unsigned char)b;

	out_put(o, &c, 1);
}

unsigned rdb_len_bytes(uint64_t n)
{
	return n < (1u << 6) ? 1 : n < (1u << 14) ? 2 : n <= UINT32_MAX ? 5 : 9;
}

static void save_len(struct rdb_out *o, uint64_t n)
{
	unsigned char b[9];
	unsigned k = rdb_len_bytes(n), i;

	if (k == 1) {
		b[0] = (unsigned char)n;
	} else if (k == 2) {
		b[0] = (unsigned char)((RDB_14BITLEN << 6) | (n >> 8));
		b[1] = (unsigned char)(n & 0xff);
	} else {
		b[0] = k == 5 ? RDB_32BITLEN : RDB_64BITLEN;
		for (i = 1; i < k; i++)
			b[i] = (unsigned char)(n >> (8 * (k - 1 - i)));
	}
	ASSERT(k >= 1 && k <= sizeof(b));
	out_put(o, b, k);
}

/* rdbTryIntegerEncoding: the bytes of a canonical integer of at most 11
 * characters that fits 32 bits, as an integer (into b); 0 otherwise. */
static unsigned int_encoded(const char *p, size_t len, unsigned char *b)
{
	char buf[UTIL_LL_CHARS];
	long long v;

	if (len == 0 || len > RDB_INT_CHARS || !util_str2ll(p, len, &v))
		return 0;
	if ((size_t)util_ll2str(buf, v) != len || memcmp(buf, p, len) != 0)
		return 0;
	b[0] = (RDB_ENCVAL << 6);
	if (v >= INT8_MIN && v <= INT8_MAX) {
		b[0] |= RDB_ENC_INT8;
		b[1] = (unsigned char)(v & 0xff);
		return 2;
	}
	if (v >= INT16_MIN && v <= INT16_MAX) {
		b[0] |= RDB_ENC_INT16;
		b[1] = (unsigned char)(v & 0xff);
		b[2] = (unsigned char)((v >> 8) & 0xff);
		return 3;
	}
	if (v >= INT32_MIN && v <= INT32_MAX) {
		b[0] |= RDB_ENC_INT32;
		for (unsigned i = 0; i < 4; i++)
			b[1 + i] = (unsigned char)(((unsigned long long)v >> (8 * i)) & 0xff);
		return 5;
	}
	return 0;
}

static struct lzf_lib_table *lzf_table(struct rdb_out *o)
{
	if (o->table == NULL)
		o->table = mem_calloc(o->mem, sizeof(*o->table));
	return o->table;
}

/* rdbSaveLzfBlob: the encoding byte, both lengths, the block. */
static void save_lzf_blob(struct rdb_out *o, const void *c, size_t clen, size_t len)
{
	out_byte(o, (RDB_ENCVAL << 6) | RDB_ENC_LZF);
	save_len(o, clen);
	save_len(o, len);
	out_put(o, c, clen);
}

/* rdbSaveLzfStringObject: true when the string went out compressed. */
static bool save_lzf_string(struct rdb_out *o, const char *p, size_t len)
{
	size_t out_len = len - RDB_LZF_GAIN, clen;
	char *out;

	ASSERT(len > RDB_LZF_MIN);
	out = mem_alloc(o->mem, out_len + 1);
	clen = lzf_compress_lib(p, len, out, out_len, lzf_table(o));
	if (clen > 0)
		save_lzf_blob(o, out, clen, len);
	mem_free(o->mem, out);
	return clen > 0;
}

void rdb_save_string(struct rdb_out *o, const char *p, size_t len)
{
	unsigned char b[5];
	unsigned n = int_encoded(p, len, b);

	if (n > 0) {
		out_put(o, b, n);
		return;
	}
	if (len > RDB_LZF_MIN && save_lzf_string(o, p, len))
		return;
	save_len(o, len);
	out_put(o, p, len);
}

/* A node's listpack raw[0, sz) as Redis's rdbSaveObject writes it: an
 * LZF blob when the node is one Redis keeps compressed and compression
 * pays (__quicklistCompressNode: at least QUICKLIST_MIN_COMPRESS_BYTES,
 * liblzf's block into sz bytes, more than QUICKLIST_MIN_COMPRESS_IMPROVE
 * saved), else the listpack as a string. */
static void save_node(struct rdb_out *o, const void *raw, size_t sz, bool compressed)
{
	char *out;
	size_t len = 0;

	if (!compressed || sz < QUICKLIST_MIN_COMPRESS_BYTES) {
		rdb_save_string(o, raw, sz);
		return;
	}
	out = mem_alloc(o->mem, sz);
	len = lzf_compress_lib(raw, sz, out, sz, lzf_table(o));
	if (len != 0 && len + QUICKLIST_MIN_COMPRESS_IMPROVE < sz)
		save_lzf_blob(o, out, len, sz);
	else
		rdb_save_string(o, raw, sz);
	mem_free(o->mem, out);
}

/* A node cairn keeps compressed (with its own compressor): as Redis's
 * node of the same listpack. */
static void save_compressed_node(struct rdb_out *o, const struct quicklist_node *n)
{
	char *raw = mem_alloc(o->mem, n->sz);
	uint32_t clen;
	size_t len;

	memcpy(&clen, n->entry, sizeof(clen));
	len = lzf_decompress(n->entry + sizeof(clen), clen, raw, n->sz);
	ASSERT(len == n->sz);
	save_node(o, raw, n->sz, true);
	mem_free(o->mem, raw);
}

/* One node of a split listpack: the entries [first, first + bytes) with a
 * header and the end byte, as lpAppend would have built them; compressed
 * as Redis compresses the nodes past list-compress-depth at both ends. */
static void save_split_node(struct rdb_out *o, const unsigned char *first, size_t bytes,
			    uint64_t count, uint64_t i, uint64_t nodes)
{
	size_t sz = LP_EMPTY_SIZE + bytes;
	unsigned char *raw = mem_alloc(o->mem, sz);
	uint64_t depth = (uint64_t)(o->list_compress > 0 ? o->list_compress : 0);

	put_le(raw, sz, 4);
	put_le(raw + 4, count < LP_HDR_NUMELE_UNKNOWN ? count : LP_HDR_NUMELE_UNKNOWN, 2);
	memcpy(raw + LP_HDR_SIZE, first, bytes);
	raw[sz - 1] = LP_EOF;
	save_len(o, RDB_NODE_PACKED);
	save_node(o, raw, sz, depth > 0 && i >= depth && i + depth < nodes);
	mem_free(o->mem, raw);
}

/* A list cairn keeps as one listpack (Redis 7.2's encoding), saved as the
 * quicklist Redis 7.0 holds after pushing its elements at the tail one by
 * one: split where _quicklistNodeAllowInsert starts a new node. Counts the
 * nodes when nodes is 0, else saves them; returns the count. */
static uint64_t split_70(struct rdb_out *o, const unsigned char *lp, uint64_t nodes)
{
	unsigned char *l = (unsigned char *)lp, *p, *next;
	const unsigned char *eof = lp + lp_bytes(lp) - 1, *first = NULL;
	size_t bytes = 0;
	uint64_t count = 0, n = 0;

	for (p = lp_first(l); p != NULL; p = next) {
		char buf[LP_INTBUF_SIZE];
		size_t len;
		next = lp_next(l, p);
		lp_get_text(p, buf, &len);
		/* Redis 7.0's _quicklistNodeAllowInsert, as quicklist.c's. */
		if (first != NULL &&
		    quicklist_node_exceeds(o->list_fill,
					   LP_EMPTY_SIZE + bytes + len + QUICKLIST_ENTRY_OVERHEAD,
					   count + 1)) {
			if (nodes > 0)
				save_split_node(o, first, bytes, count, n, nodes);
			n++;
			first = NULL;
		}
		if (first == NULL) {
			first = p;
			bytes = 0;
			count = 0;
		}
		bytes += (size_t)((next != NULL ? next : eof) - p);
		count++;
	}
	ASSERT(first != NULL);
	if (nodes > 0)
		save_split_node(o, first, bytes, count, n, nodes);
	return n + 1;
}

static void save_list(struct rdb_out *o, const struct kv *e)
{
	const struct quicklist *ql = kv_obj(e);
	const struct quicklist_node *n;

	if (kv_obj_enc(e) == LIST_LP) {
		const unsigned char *lp = kv_obj(e);
		uint64_t nodes = split_70(o, lp, 0);
		save_len(o, nodes);
		if (nodes > 1) {
			split_70(o, lp, nodes);
		} else {
			save_len(o, RDB_NODE_PACKED);
			rdb_save_string(o, (const char *)lp, lp_bytes(lp));
		}
		return;
	}
	ASSERT(kv_obj_enc(e) == LIST_QL);
	save_len(o, ql->len);
	for (n = ql->head; n != NULL; n = n->next) {
		save_len(o, RDB_NODE_PACKED);
		if (n->lzf)
			save_compressed_node(o, n);
		else
			rdb_save_string(o, (const char *)n->entry, n->sz);
	}
}

static void save_set(struct rdb_out *o, const struct kv *e)
{
	struct set_ref s = set_of(e);
	struct set_iter it;
	struct set_member m;

	if (s.enc == SET_INTSET) {
		rdb_save_string(o, s.obj, intset_bytes(s.obj));
		return;
	}
	save_len(o, set_size(&s));
	set_iter_init(&it, &s);
	while (set_iter_next(&it, &m)) {
		char buf[UTIL_LL_CHARS];
		size_t len;
		const char *p = set_member_text(&m, buf, &len);
		rdb_save_string(o, p, len);
	}
}

/* rdbSaveBinaryDoubleValue: 8 bytes, little endian. */
static void save_double(struct rdb_out *o, double d)
{
	unsigned char b[sizeof(double)];
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(u >> (8 * i));
	out_put(o, b, sizeof(b));
}

/* ZSET_2: from the highest score down, as Redis walks its skiplist. */
static void save_zset(struct rdb_out *o, const struct kv *e)
{
	uint64_t len = zset_len(e);
	struct zset_it it;

	if (kv_obj_enc(e) == ZSET_LP) {
		const unsigned char *lp = kv_obj(e);
		rdb_save_string(o, (const char *)lp, lp_bytes(lp));
		return;
	}
	save_len(o, len);
	ASSERT(len > 0);
	for (zset_seek((struct kv *)e, len - 1, &it); zset_it_valid(&it); zset_it_prev(&it)) {
		char buf[UTIL_LL_CHARS];
		size_t mlen;
		const char *m = zset_it_member(&it, buf, &mlen);
		rdb_save_string(o, m, mlen);
		save_double(o, zset_it_score(&it));
	}
}

static void save_field(void *arg, const char *f, size_t flen, const struct hash_val *v)
{
	struct rdb_out *o = arg;
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *p = hash_val_text(v, buf, &len);

	rdb_save_string(o, f, flen);
	rdb_save_string(o, p, len);
}

static void save_hash(struct rdb_out *o, const struct kv *e)
{
	if (kv_obj_enc(e) == HASH_LP) {
		const unsigned char *lp = kv_obj(e);
		rdb_save_string(o, (const char *)lp, lp_bytes(lp));
		return;
	}
	save_len(o, hash_len(e));
	hash_each(e, save_field, o);
}

void rdb_save_value(struct rdb_out *o, const struct kv *e)
{
	char buf[UTIL_LL_CHARS];
	size_t len;
	const char *p;

	switch (e->type) {
	case KV_STRING:
		p = str_value(e, buf, &len);
		rdb_save_string(o, p, len);
		break;
	case KV_LIST: save_list(o, e); break;
	case KV_SET: save_set(o, e); break;
	case KV_ZSET: save_zset(o, e); break;
	case KV_HASH: save_hash(o, e); break;
	default: ASSERT_NOT_REACHED("rdb: a type without an RDB form");
	}
}

/* rdbSaveObjectType. */
static unsigned type_of(const struct kv *e)
{
	switch (e->type) {
	case KV_STRING: return RDB_TYPE_STRING;
	case KV_LIST: return RDB_TYPE_LIST_QUICKLIST_2;
	case KV_SET: return kv_obj_enc(e) == SET_INTSET ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
	case KV_ZSET: return kv_obj_enc(e) == ZSET_LP ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
	case KV_HASH: return kv_obj_enc(e) == HASH_LP ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
	default: ASSERT_NOT_REACHED("rdb: a type without an RDB form"); return 0;
	}
}

void rdb_dump(struct rdb_out *o, const struct kv *e)
{
	unsigned char foot[8];
	uint64_t crc;

	ASSERT(!o->count_only);
	ASSERT(o->len == 0);
	out_byte(o, type_of(e));
	rdb_save_value(o, e);
	put_le(foot, RDB_VERSION, 2);
	out_put(o, foot, 2);
	crc = crc64(0, o->buf, o->len);
	put_le(foot, crc, 8);
	out_put(o, foot, 8);
	ASSERT(rdb_payload_ok(o->buf, o->len));
}

/* ---- loading: the reader ---- */

bool rdb_payload_ok(const char *p, size_t len)
{
	const unsigned char *foot;
	uint64_t want = 0;
	unsigned version;

	if (len < RDB_FOOTER_BYTES)
		return false;
	foot = (const unsigned char *)p + len - RDB_FOOTER_BYTES;
	version = foot[0] | (unsigned)foot[1] << 8;
	if (version > RDB_VERSION)
		return false;
	for (unsigned i = 0; i < 8; i++)
		want |= (uint64_t)foot[2 + i] << (8 * i);
	return crc64(0, p, len - 8) == want;
}

/* The body being read: [p, end), the footer excluded. */
struct rdb_in {
	const unsigned char *p, *end;
	struct mem *mem;
	const struct rdb_limits *lim;
};

/* A string read: p, len (into the payload, into owned, or into ibuf). */
struct rdb_str {
	const char *p;
	size_t len;
	char *owned;
	char ibuf[UTIL_LL_CHARS];
};

static void str_free(struct mem *mem, struct rdb_str *s)
{
	mem_free(mem, s->owned);
	s->owned = NULL;
}

static bool in_take(struct rdb_in *in, uint64_t n, const unsigned char **out)
{
	if (n > (uint64_t)(in->end - in->p))
		return false;
	*out = in->p;
	in->p += n;
	return true;
}

static bool in_u8(struct rdb_in *in, unsigned *b)
{
	const unsigned char *p;

	if (!in_take(in, 1, &p))
		return false;
	*b = *p;
	return true;
}

static uint64_t be(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

/* rdbLoadLenByRef: a length, or (*special >= 0) a special string's kind. */
static bool in_len(struct rdb_in *in, uint64_t *n, int *special)
{
	const unsigned char *p;
	unsigned b;

	*special = -1;
	if (!in_u8(in, &b))
		return false;
	switch (b >> 6) {
	case RDB_6BITLEN: *n = b & 0x3f; return true;
	case RDB_14BITLEN:
		if (!in_take(in, 1, &p))
			return false;
		*n = (uint64_t)(b & 0x3f) << 8 | p[0];
		return true;
	case RDB_ENCVAL:
		*special = (int)(b & 0x3f);
		*n = b & 0x3f;
		return true;
	default: break;
	}
	if (b != RDB_32BITLEN && b != RDB_64BITLEN)
		return false;
	if (!in_take(in, b == RDB_32BITLEN ? 4 : 8, &p))
		return false;
	*n = be(p, b == RDB_32BITLEN ? 4 : 8);
	return true;
}

/* A count (rdbLoadLen with no encoding asked: a special form reads as its
 * 6 bits, as in Redis). */
static bool in_count(struct rdb_in *in, uint64_t *n)
{
	int special;

	return in_len(in, n, &special);
}

/* rdbLoadLzfStringObject: the block, decompressed into s->owned. */
static bool in_lzf(struct rdb_in *in, struct rdb_str *s)
{
	const unsigned char *c;
	uint64_t clen, len;

	if (!in_count(in, &clen) || !in_count(in, &len))
		return false;
	if (clen == 0 || len == 0 || len > RDB_STRING_MAX || len / RDB_LZF_EXPAND_MAX > clen)
		return false;
	if (!in_take(in, clen, &c))
		return false;
	s->owned = mem_alloc(in->mem, len);
	if (lzf_decompress(c, clen, s->owned, len) != len) {
		str_free(in->mem, s);
		return false;
	}
	s->p = s->owned;
	s->len = len;
	return true;
}

/* rdbGenericLoadStringObject. */
static bool in_string(struct rdb_in *in, struct rdb_str *s)
{
	const unsigned char *p;
	uint64_t n;
	int special;

	s->owned = NULL;
	if (!in_len(in, &n, &special))
		return false;
	if (special == RDB_ENC_LZF)
		return in_lzf(in, s);
	if (special >= RDB_ENC_INT8 && special <= RDB_ENC_INT32) {
		unsigned w = 1u << special;
		int64_t v;
		if (!in_take(in, w, &p))
			return false;
		v = w == 1 ? (int8_t)p[0] : w == 2 ? (int16_t)le(p, 2) : (int32_t)le(p, 4);
		s->len = (size_t)util_ll2str(s->ibuf, v);
		s->p = s->ibuf;
		return true;
	}
	if (special >= 0 || !in_take(in, n, &p))
		return false;
	s->p = (const char *)p;
	s->len = n;
	return true;
}

/* A count of elements that take at least min_bytes each: at most what the
 * rest of the payload can hold, so it bounds what is allocated for it. */
static uint64_t hint_of(const struct rdb_in *in, uint64_t n, unsigned min_bytes)
{
	uint64_t room = (uint64_t)(in->end - in->p) / min_bytes;

	return n < room ? n : room;
}

/* ---- loading: the builders ---- */

/* A value being built in cairn's encodings, member by member, through its
 * type's own writes. A hash or sorted set lives in an entry of its own
 * (tmp) while it is built, as those writes take an entry. */
struct build {
	struct rdb_in *in;
	enum kv_type type;
	bool started;
	uint64_t hint; /* members expected (a set's first size) */
	struct set_ref set;
	struct quicklist *ql;
	union {
		struct kv kv;
		char raw[sizeof(struct kv) + sizeof(void *)];
	} tmp;
};

static void build_init(struct build *b, struct rdb_in *in, enum kv_type type, uint64_t hint)
{
	memset(b, 0, sizeof(*b));
	b->in = in;
	b->type = type;
	b->hint = hint;
	b->tmp.kv.type = type;
}

static void build_free(struct build *b)
{
	struct mem *mem = b->in->mem;

	if (!b->started)
		return;
	switch (b->type) {
	case KV_LIST: quicklist_free(b->ql); break;
	case KV_SET: set_free(mem, &b->set); break;
	case KV_HASH: hash_type.free(mem, kv_obj(&b->tmp.kv), kv_obj_enc(&b->tmp.kv)); break;
	case KV_ZSET: zset_type.free(mem, kv_obj(&b->tmp.kv), kv_obj_enc(&b->tmp.kv)); break;
	default: ASSERT_NOT_REACHED("rdb: no builder for this type");
	}
	b->started = false;
}

static void list_start(struct build *b)
{
	if (!b->started)
		b->ql = quicklist_new(b->in->mem, b->in->lim->list.fill, b->in->lim->list.compress);
	b->started = true;
}

static bool add_element(struct build *b, const char *p, size_t len)
{
	if (len > LIST_ELEMENT_MAX)
		return false;
	list_start(b);
	quicklist_push(b->ql, p, len, QUICKLIST_TAIL);
	return true;
}

/* False for a member already there. */
static bool add_member(struct build *b, const char *p, size_t len)
{
	struct set_member m = set_member_str(p, len);

	if (!b->started)
		b->set = set_new(b->in->mem, &b->in->lim->set, &m, b->hint);
	b->started = true;
	return set_add(b->in->mem, &b->set, &b->in->lim->set, &m);
}

/* A hash or sorted set that will pass its listpack's entries (b->hint) is
 * a table or a tree from the start, as Redis loads one. */
static bool add_field(struct build *b, const char *f, size_t flen, const char *v, size_t vlen)
{
	if (!b->started) {
		kv_set_obj(&b->tmp.kv, hash_new(b->in->mem), HASH_LP);
		if (b->hint > b->in->lim->hash.max_lp_entries)
			hash_to_table(b->in->mem, &b->tmp.kv, &b->in->lim->hash);
	}
	b->started = true;
	return hash_set(b->in->mem, &b->tmp.kv, &b->in->lim->hash, f, flen, v, vlen, NULL);
}

/* False for a NaN score or a member already there. */
static bool add_scored(struct build *b, const char *m, size_t len, double score)
{
	int out = 0;

	if (isnan(score))
		return false;
	if (!b->started && b->hint > b->in->lim->zset.max_lp_entries) {
		kv_set_obj(&b->tmp.kv, zset_big_new(b->in->mem, b->in->lim->zset.seed), ZSET_BIG);
	} else if (!b->started) {
		unsigned enc;
		void *obj = zset_new(b->in->mem, &b->in->lim->zset, len, &enc);
		kv_set_obj(&b->tmp.kv, obj, enc);
	}
	b->started = true;
	if (!zset_add(b->in->mem, &b->tmp.kv, &b->in->lim->zset, score, m, len, ZADD_IN_NX, &out,
		      NULL))
		return false;
	return (out & ZADD_OUT_ADDED) != 0;
}

/* A score written as text (a listpack's, a ziplist's, RDB_TYPE_ZSET's):
 * the whole text must read as a number. */
static bool text_double(const char *p, size_t len, double *d)
{
	char buf[128], *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	*d = strtod(buf, &end);
	return end == buf + len && !isnan(*d);
}

/* One element, or one pair (b2 not NULL), of a listpack or a ziplist. */
static bool add_any(struct build *b, const char *a, size_t alen, const char *b2, size_t blen)
{
	double score;

	switch (b->type) {
	case KV_LIST: return add_element(b, a, alen);
	case KV_SET: return add_member(b, a, alen);
	case KV_HASH: return add_field(b, a, alen, b2, blen);
	case KV_ZSET: return text_double(b2, blen, &score) && add_scored(b, a, alen, score);
	default: ASSERT_NOT_REACHED("rdb: no builder for this type"); return false;
	}
}

/* The built value, into v; false (and freed) when it is empty. */
static bool build_finish(struct build *b, struct rdb_value *v)
{
	v->type = b->type;
	if (!b->started)
		return false;
	switch (b->type) {
	case KV_LIST:
		if (b->ql->count == 0) {
			build_free(b);
			return false;
		}
		v->obj = b->ql;
		v->enc = LIST_QL;
		if (b->ql->len == 1 &&
		    !quicklist_node_exceeds(b->ql->fill, b->ql->head->sz, b->ql->head->count)) {
			v->obj = quicklist_release_lp(b->ql);
			v->enc = LIST_LP;
		}
		break;
	case KV_SET:
		v->obj = b->set.obj;
		v->enc = b->set.enc;
		break;
	default:
		v->obj = kv_obj(&b->tmp.kv);
		v->enc = kv_obj_enc(&b->tmp.kv);
		break;
	}
	return true;
}

/* ---- loading: listpacks, ziplists, intsets ---- */

/* Every element (stride 1) or pair (stride 2) of a listpack. */
static bool walk_lp(struct build *b, const unsigned char *blob, size_t len, unsigned stride)
{
	unsigned char *lp = (unsigned char *)blob, *p;

	if (!lp_valid(lp, len, true))
		return false;
	for (p = lp_first(lp); p != NULL; p = lp_next(lp, p)) {
		char abuf[LP_INTBUF_SIZE], bbuf[LP_INTBUF_SIZE];
		size_t alen, blen = 0;
		const char *a = lp_get_text(p, abuf, &alen), *b2 = NULL;
		if (stride == 2) {
			p = lp_next(lp, p);
			if (p == NULL)
				return false;
			b2 = lp_get_text(p, bbuf, &blen);
		}
		if (!add_any(b, a, alen, b2, blen))
			return false;
	}
	return true;
}

/* Redis 6's ziplist: a header (total bytes, the last entry's offset, the
 * count: 4, 4 and 2 bytes, little endian), entries, the end byte. Each
 * entry: the previous entry's size (1 byte, or 254 and 4 bytes), an
 * encoding, the data. */
#define ZL_HDR 10
#define ZL_END 0xFF
#define ZL_BIG_PREVLEN 254
#define ZL_COUNT_UNKNOWN UINT16_MAX

struct zl_entry {
	size_t prevlen, size; /* size: the whole entry */
	const char *p;        /* a string's bytes, or NULL for an integer */
	size_t len;
	int64_t v;
};

/* An integer encoding's width (the immediates: 0), or -1. */
static int zl_int_width(unsigned enc)
{
	switch (enc) {
	case 0xC0: return 2;
	case 0xD0: return 4;
	case 0xE0: return 8;
	case 0xF0: return 3;
	case 0xFE: return 1;
	default: return enc > 0xF0 && enc < 0xFE ? 0 : -1;
	}
}

static int64_t zl_int(unsigned enc, const unsigned char *p, int w)
{
	switch (w) {
	case 0: return (int64_t)(enc & 0x0F) - 1;
	case 1: return (int8_t)p[0];
	case 2: return (int16_t)le(p, 2);
	case 3: return (int32_t)(uint32_t)(le(p, 3) << 8) >> 8;
	case 4: return (int32_t)le(p, 4);
	default: return (int64_t)le(p, 8);
	}
}

/* The entry at off, wholly before end (the end byte's offset). */
static bool zl_entry(const unsigned char *zl, size_t end, size_t off, struct zl_entry *e)
{
	size_t pos = off, hdr;
	unsigned enc;
	int w;

	if (end - pos < 2 || zl[pos] > ZL_BIG_PREVLEN)
		return false;
	e->prevlen = zl[pos];
	if (zl[pos] == ZL_BIG_PREVLEN) {
		if (end - pos < 6)
			return false;
		e->prevlen = le(zl + pos + 1, 4);
		pos += 4;
	}
	pos++;
	enc = zl[pos];
	w = zl_int_width(enc);
	e->p = NULL;
	if (enc >> 6 == 3) {
		if (w < 0 || end - pos < 1 + (size_t)w)
			return false;
		e->v = zl_int(enc, zl + pos + 1, w);
		e->size = pos + 1 + (size_t)w - off;
		return true;
	}
	hdr = enc >> 6 == 0 ? 1 : enc >> 6 == 1 ? 2 : 5;
	if ((enc >> 6 == 2 && enc != 0x80) || end - pos < hdr)
		return false;
	e->len = hdr == 1   ? (enc & 0x3f)
		 : hdr == 2 ? (enc & 0x3f) << 8 | zl[pos + 1]
			    : be(zl + pos + 1, 4);
	if (end - pos - hdr < e->len)
		return false;
	e->p = (const char *)zl + pos + hdr;
	e->size = pos + hdr + e->len - off;
	return true;
}

static const char *zl_text(const struct zl_entry *e, char *buf, size_t *len)
{
	if (e->p != NULL) {
		*len = e->len;
		return e->p;
	}
	*len = (size_t)util_ll2str(buf, e->v);
	return buf;
}

/* Every element or pair of a ziplist, checked as ziplistValidateIntegrity
 * checks deeply: sizes, each entry's previous size, the tail, the count. */
static bool walk_zl(struct build *b, const unsigned char *zl, size_t len, unsigned stride)
{
	size_t end = len - 1, off = ZL_HDR, prev = 0, last = ZL_HDR, count = 0;
	struct zl_entry e[2];

	if (len < ZL_HDR + 1 || le(zl, 4) != len || zl[end] != ZL_END)
		return false;
	while (off < end) {
		struct zl_entry *x = &e[count % 2];
		if (!zl_entry(zl, end, off, x) || x->prevlen != prev)
			return false;
		count++;
		if (count % stride == 0) {
			char abuf[UTIL_LL_CHARS], bbuf[UTIL_LL_CHARS];
			size_t alen, blen = 0;
			const char *a = zl_text(&e[(count - stride) % 2], abuf, &alen);
			const char *b2 = stride == 2 ? zl_text(x, bbuf, &blen) : NULL;
			if (!add_any(b, a, alen, b2, blen))
				return false;
		}
		last = off;
		prev = x->size;
		off += x->size;
	}
	if (count % stride != 0 || le(zl + 4, 4) != last)
		return false;
	return le(zl + 8, 2) == ZL_COUNT_UNKNOWN || le(zl + 8, 2) == count;
}

/* An intset: kept as it is while the set may be one (so a DUMP of it
 * gives its bytes back), else its members go into a table. */
static bool load_intset(struct build *b, const char *blob, size_t len)
{
	uint64_t n;

	if (!intset_valid(blob, len, true))
		return false;
	n = intset_len((const struct intset *)blob);
	if (n <= b->in->lim->set.max_intset_entries && n <= (uint64_t)SET_INTSET_ENTRIES_CAP) {
		b->set.obj = mem_alloc(b->in->mem, len);
		memcpy(b->set.obj, blob, len);
		b->set.enc = SET_INTSET;
		b->started = true;
		return true;
	}
	b->hint = n;
	for (uint64_t i = 0; i < n; i++) {
		char buf[UTIL_LL_CHARS];
		int64_t v = intset_get((const struct intset *)blob, (uint32_t)i);
		if (!add_member(b, buf, (size_t)util_ll2str(buf, v)))
			return false;
	}
	return true;
}

/* ---- loading: each RDB type ---- */

/* LIST (1) and SET (2): a count, then the members. */
static bool load_members(struct build *b)
{
	uint64_t n;

	if (!in_count(b->in, &n))
		return false;
	b->hint = hint_of(b->in, n, 1);
	for (uint64_t i = 0; i < n; i++) {
		struct rdb_str s;
		bool ok;
		if (!in_string(b->in, &s))
			return false;
		ok = add_any(b, s.p, s.len, NULL, 0);
		str_free(b->in->mem, &s);
		if (!ok)
			return false;
	}
	return true;
}

/* HASH (4): a count, then fields and values. */
static bool load_fields(struct build *b)
{
	uint64_t n;

	if (!in_count(b->in, &n))
		return false;
	b->hint = hint_of(b->in, n, 2);
	for (uint64_t i = 0; i < n; i++) {
		struct rdb_str f, v;
		bool ok = false;
		if (!in_string(b->in, &f))
			return false;
		if (in_string(b->in, &v)) {
			ok = add_field(b, f.p, f.len, v.p, v.len);
			str_free(b->in->mem, &v);
		}
		str_free(b->in->mem, &f);
		if (!ok)
			return false;
	}
	return true;
}

/* rdbLoadDoubleValue (RDB_TYPE_ZSET): a length byte (253 NaN, 254 +inf,
 * 255 -inf), then that many bytes of text. */
static bool in_text_double(struct rdb_in *in, double *d)
{
	const unsigned char *p;
	unsigned n;

	if (!in_u8(in, &n))
		return false;
	if (n >= 253) {
		*d = n == 255 ? -INFINITY : n == 254 ? INFINITY : NAN;
		return n != 253;
	}
	return in_take(in, n, &p) && text_double((const char *)p, n, d);
}

static bool in_binary_double(struct rdb_in *in, double *d)
{
	const unsigned char *p;
	uint64_t u;

	if (!in_take(in, sizeof(u), &p))
		return false;
	u = le(p, sizeof(u));
	memcpy(d, &u, sizeof(*d));
	return true;
}

/* ZSET (3) and ZSET_2 (5): a count, then members and scores. */
static bool load_scored(struct build *b, bool binary)
{
	uint64_t n;

	if (!in_count(b->in, &n))
		return false;
	b->hint = hint_of(b->in, n, binary ? 9 : 2);
	for (uint64_t i = 0; i < n; i++) {
		struct rdb_str m;
		double score;
		bool ok;
		if (!in_string(b->in, &m))
			return false;
		ok = binary ? in_binary_double(b->in, &score) : in_text_double(b->in, &score);
		ok = ok && add_scored(b, m.p, m.len, score);
		str_free(b->in->mem, &m);
		if (!ok)
			return false;
	}
	return true;
}

/* A LIST_QUICKLIST_2 node: kept as it is when it fits a node of this
 * list's limit (so a DUMP of it gives its bytes back), else its elements
 * are pushed. An empty listpack is skipped, as Redis skips it. */
static bool load_node(struct build *b, unsigned container, const char *blob, size_t len)
{
	const unsigned char *lp = (const unsigned char *)blob;
	unsigned char *copy;

	if (container == RDB_NODE_PLAIN)
		return add_element(b, blob, len);
	if (!lp_valid(lp, len, true))
		return false;
	if (lp_length(lp) == 0)
		return true;
	if (quicklist_node_exceeds(b->in->lim->list.fill, len, lp_length(lp)))
		return walk_lp(b, lp, len, 1);
	list_start(b);
	copy = mem_alloc(b->in->mem, len);
	memcpy(copy, blob, len);
	quicklist_append_lp(b->ql, copy);
	return true;
}

/* LIST_QUICKLIST (ziplist nodes) and LIST_QUICKLIST_2: a node count, then
 * each node (its container first in the second). */
static bool load_quicklist(struct build *b, bool v2)
{
	uint64_t n;

	if (!in_count(b->in, &n))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t container = RDB_NODE_PACKED;
		struct rdb_str s;
		bool ok;
		if (v2 && (!in_count(b->in, &container) ||
			   (container != RDB_NODE_PLAIN && container != RDB_NODE_PACKED)))
			return false;
		if (!in_string(b->in, &s))
			return false;
		ok = s.len > 0 && (v2 ? load_node(b, (unsigned)container, s.p, s.len)
				      : walk_zl(b, (const unsigned char *)s.p, s.len, 1));
		str_free(b->in->mem, &s);
		if (!ok)
			return false;
	}
	return true;
}

/* The types held in one string: a listpack, a ziplist or an intset. */
static bool load_blob(struct build *b, unsigned type)
{
	const unsigned char *u;
	struct rdb_str s;
	bool ok;

	if (!in_string(b->in, &s))
		return false;
	u = (const unsigned char *)s.p;
	switch (type) {
	case RDB_TYPE_SET_INTSET: ok = load_intset(b, s.p, s.len); break;
	case RDB_TYPE_LIST_ZIPLIST: ok = walk_zl(b, u, s.len, 1); break;
	case RDB_TYPE_ZSET_ZIPLIST:
	case RDB_TYPE_HASH_ZIPLIST: ok = walk_zl(b, u, s.len, 2); break;
	case RDB_TYPE_SET_LISTPACK: ok = walk_lp(b, u, s.len, 1); break;
	default: ok = walk_lp(b, u, s.len, 2); break;
	}
	str_free(b->in->mem, &s);
	return ok;
}

/* The value's type in cairn, or KV_TYPE_COUNT for one cairn does not take
 * (modules, streams, zipmaps, unknown numbers). */
static enum kv_type kv_type_of(unsigned type)
{
	switch (type) {
	case RDB_TYPE_STRING: return KV_STRING;
	case RDB_TYPE_LIST:
	case RDB_TYPE_LIST_ZIPLIST:
	case RDB_TYPE_LIST_QUICKLIST:
	case RDB_TYPE_LIST_QUICKLIST_2: return KV_LIST;
	case RDB_TYPE_SET:
	case RDB_TYPE_SET_INTSET:
	case RDB_TYPE_SET_LISTPACK: return KV_SET;
	case RDB_TYPE_ZSET:
	case RDB_TYPE_ZSET_2:
	case RDB_TYPE_ZSET_ZIPLIST:
	case RDB_TYPE_ZSET_LISTPACK: return KV_ZSET;
	case RDB_TYPE_HASH:
	case RDB_TYPE_HASH_ZIPLIST:
	case RDB_TYPE_HASH_LISTPACK: return KV_HASH;
	default: return KV_TYPE_COUNT;
	}
}

static bool load_object(struct build *b, unsigned type)
{
	switch (type) {
	case RDB_TYPE_LIST:
	case RDB_TYPE_SET: return load_members(b);
	case RDB_TYPE_HASH: return load_fields(b);
	case RDB_TYPE_ZSET:
	case RDB_TYPE_ZSET_2: return load_scored(b, type == RDB_TYPE_ZSET_2);
	case RDB_TYPE_LIST_QUICKLIST:
	case RDB_TYPE_LIST_QUICKLIST_2: return load_quicklist(b, type == RDB_TYPE_LIST_QUICKLIST_2);
	default: return load_blob(b, type);
	}
}

static bool load_string(struct rdb_in *in, struct rdb_value *v)
{
	struct rdb_str s;

	if (!in_string(in, &s))
		return false;
	v->type = KV_STRING;
	v->owned = s.owned;
	v->len = s.len;
	v->p = s.p;
	if (s.p == s.ibuf) {
		ASSERT(s.len < sizeof(v->ibuf));
		memcpy(v->ibuf, s.ibuf, s.len);
		v->p = v->ibuf;
	}
	return true;
}

bool rdb_load(struct mem *mem, const struct rdb_limits *lim, const char *p, size_t len,
	      struct rdb_value *v)
{
	struct rdb_in in = { (const unsigned char *)p,
			     (const unsigned char *)p + len - RDB_FOOTER_BYTES, mem, lim };
	struct build b;
	unsigned type;
	bool ok;

	ASSERT(len >= RDB_FOOTER_BYTES);
	memset(v, 0, sizeof(*v));
	if (!in_u8(&in, &type) || kv_type_of(type) == KV_TYPE_COUNT)
		return false;
	if (type == RDB_TYPE_STRING) {
		ok = load_string(&in, v);
	} else {
		build_init(&b, &in, kv_type_of(type), 0);
		ok = load_object(&b, type) && build_finish(&b, v);
		if (!ok)
			build_free(&b);
	}
	/* Every byte up to the footer belongs to the value. */
	if (ok && in.p != in.end) {
		rdb_value_free(mem, v);
		ok = false;
	}
	ASSERT(ok || (v->obj == NULL && v->owned == NULL));
	return ok;
}

void rdb_value_free(struct mem *mem, struct rdb_value *v)
{
	if (v->obj != NULL) {
		const struct kv_type_ops *ops = v->type == KV_LIST   ? &list_type
						: v->type == KV_SET  ? &set_type
						: v->type == KV_ZSET ? &zset_type
								     : &hash_type;
		ops->free(mem, v->obj, v->enc);
	}
	mem_free(mem, v->owned);
	v->obj = NULL;
	v->owned = NULL;
}
