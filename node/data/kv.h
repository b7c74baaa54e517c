/* kv.h: one key with its value, in one allocation.
 *
 * Layout: the header, then (only for keys with a TTL) an 8-byte expire time
 * and a 4-byte position in the keyspace's TTL index (ttl.h), then the key
 * bytes, then the value: 8 bytes of int64 (KV_INT), a `struct val *`
 * (KV_REF), a pointer to a type's object (KV_OBJ and up), or the bytes themselves
 * (KV_EMB, KV_RAW). The entry is the hash chain link itself, so a key costs
 * one allocation and one 4-byte bucket. Links are entry handles (kvh, see
 * kvheap.h), not pointers: an entry is only 4-byte aligned, and anything
 * wider in its data is read with memcpy.
 *
 * Every value has a type (enum kv_type): strings live in the entry itself
 * (t_string.h), and every other type keeps an object the entry points to,
 * managed through its type's hooks (object.h). A lookup names the type it
 * wants, and a value of another type is WRONGTYPE.
 *
 * A string of VAL_REF_MIN bytes or more is a refcounted val so a reply can
 * reference it; smaller values are copied into replies, so an entry may be
 * rewritten or moved (realloc) at any time. KV_EMB and KV_RAW differ only in
 * what OBJECT ENCODING reports, which follows Redis's rules. */
#ifndef CAIRN_KV_H
#define CAIRN_KV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct val;

/* The value types, with Redis's names (TYPE). Only KV_STRING is stored
 * inline; the others are objects whose hooks object.h's table gives. */
enum kv_type { KV_STRING = 0, KV_LIST, KV_SET, KV_ZSET, KV_HASH, KV_TYPE_COUNT };
/* Encodings: KV_INT, KV_EMB, KV_RAW, KV_REF are strings. Any other type's
 * value is an object in one of the type's own encodings, numbered from 0
 * (its compact one) and stored as KV_OBJ + that number: a hash is KV_OBJ
 * (a listpack) or KV_OBJ + 1 (a hash table), so the entry says which
 * without a header in the object. */
enum kv_enc { KV_INT = 0, KV_EMB, KV_RAW, KV_REF, KV_OBJ };
#define KV_OBJ_ENCODINGS 4

#define KV_F_TTL 0x1u
/* An integer that is its own object, not one of Redis's shared integers:
 * OBJECT REFCOUNT is 1 whatever its value (a COPY, as dupStringObject). */
#define KV_F_NOSHARE 0x2u
#define KV_LRU_BITS 24
#define KV_LRU_MAX ((1u << KV_LRU_BITS) - 1)
#define KV_TYPE_BITS 3
#define KV_ENC_BITS 3

_Static_assert(KV_TYPE_COUNT <= 1 << KV_TYPE_BITS, "every type fits kv.type");
_Static_assert(KV_OBJ + KV_OBJ_ENCODINGS <= 1 << KV_ENC_BITS, "every encoding fits kv.enc");

/* An entry's 32-bit name (kvheap.h); 0 is none. */
typedef uint32_t kvh;

/* The header, 12 bytes: the chain link (a handle), the policy and type bits, the
 * inline value's length (inline strings are shorter than VAL_REF_MIN, so
 * 16 bits hold it), 8 bits of the key's hash for a quick rejection in a
 * chain (the whole hash is computed again when a resize moves the entry),
 * and the key's length in one byte, or KV_KLEN_LONG and the length in 4
 * bytes after the TTL fields. Then data: the TTL fields (only with a TTL),
 * the long key length (only for long keys), the key, the value. */
#define KV_KLEN_LONG 255u
#define KV_KLEN_LONG_BYTES 4

struct kv {
	kvh next;
	uint32_t lru : KV_LRU_BITS;
	uint32_t type : KV_TYPE_BITS;
	uint32_t enc : KV_ENC_BITS;
	uint32_t flags : 2;
	uint16_t vlen; /* KV_EMB/KV_RAW: inline value length */
	uint8_t tag;   /* kv_hash_tag() of the key's hash */
	uint8_t klen8; /* the key's length, or KV_KLEN_LONG */
	char data[];
};

_Static_assert(sizeof(struct kv) == 12, "the entry header is 12 bytes");

#define KV_TTL_BYTES 12

/* The hash bits an entry keeps: the top 8 of its 32 (bucket indexes take
 * the low ones). */
static inline uint8_t kv_hash_tag(uint32_t hash)
{
	return (uint8_t)(hash >> 24);
}

static inline bool kv_has_ttl(const struct kv *e)
{
	return (e->flags & KV_F_TTL) != 0;
}

/* Bytes of data before the key: the TTL fields and a long key's length. */
static inline size_t kv_key_off(const struct kv *e)
{
	return (kv_has_ttl(e) ? KV_TTL_BYTES : 0) +
	       (e->klen8 == KV_KLEN_LONG ? KV_KLEN_LONG_BYTES : 0);
}

/* The bytes of data an entry with a key of klen bytes needs before its
 * value, TTL fields apart. */
static inline size_t kv_key_bytes(size_t klen)
{
	return klen + (klen >= KV_KLEN_LONG ? KV_KLEN_LONG_BYTES : 0);
}

static inline size_t kv_klen(const struct kv *e)
{
	uint32_t n;

	if (e->klen8 != KV_KLEN_LONG)
		return e->klen8;
	memcpy(&n, e->data + (kv_has_ttl(e) ? KV_TTL_BYTES : 0), 4);
	return n;
}

static inline const char *kv_key(const struct kv *e)
{
	return e->data + kv_key_off(e);
}

/* Sets the key of a new entry whose TTL flag is set already. */
static inline void kv_set_key(struct kv *e, const char *key, size_t klen)
{
	char *p = e->data + (kv_has_ttl(e) ? KV_TTL_BYTES : 0);

	if (klen < KV_KLEN_LONG) {
		e->klen8 = (uint8_t)klen;
	} else {
		uint32_t n = (uint32_t)klen;
		e->klen8 = KV_KLEN_LONG;
		memcpy(p, &n, 4);
		p += KV_KLEN_LONG_BYTES;
	}
	memcpy(p, key, klen);
}

static inline char *kv_vptr(struct kv *e)
{
	return e->data + kv_key_off(e) + kv_klen(e);
}

static inline const char *kv_cvptr(const struct kv *e)
{
	return e->data + kv_key_off(e) + kv_klen(e);
}

/* Expire time in ms since the epoch; only for kv_has_ttl(). */
static inline int64_t kv_expire(const struct kv *e)
{
	int64_t t;
	memcpy(&t, e->data, 8);
	return t;
}

static inline void kv_set_expire_field(struct kv *e, int64_t t)
{
	memcpy(e->data, &t, 8);
}

static inline uint32_t kv_ttl_pos(const struct kv *e)
{
	uint32_t p;
	memcpy(&p, e->data + 8, 4);
	return p;
}

static inline void kv_set_ttl_pos(struct kv *e, uint32_t p)
{
	memcpy(e->data + 8, &p, 4);
}

static inline long long kv_int(const struct kv *e)
{
	long long v;
	memcpy(&v, kv_cvptr(e), 8);
	return v;
}

static inline struct val *kv_ref(const struct kv *e)
{
	struct val *v;
	memcpy(&v, kv_cvptr(e), sizeof(v));
	return v;
}

/* Whether the value is an object (every type but string). */
static inline bool kv_is_obj(const struct kv *e)
{
	return e->enc >= KV_OBJ;
}

/* An object value's object, and its type's encoding number. */
static inline void *kv_obj(const struct kv *e)
{
	void *o;
	memcpy(&o, kv_cvptr(e), sizeof(o));
	return o;
}

static inline unsigned kv_obj_enc(const struct kv *e)
{
	return e->enc - KV_OBJ;
}

/* Points an object value at obj in the type's encoding enc (a type whose
 * object moved or changed encoding updates its entry so). */
static inline void kv_set_obj(struct kv *e, void *obj, unsigned enc)
{
	e->enc = (uint32_t)(KV_OBJ + enc) & ((1u << KV_ENC_BITS) - 1);
	memcpy(kv_vptr(e), &obj, sizeof(obj));
}

static inline bool kv_key_eq(const struct kv *e, const char *key, size_t klen)
{
	return kv_klen(e) == klen && memcmp(kv_key(e), key, klen) == 0;
}

#endif
