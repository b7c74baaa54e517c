/* t_string.h: the string type, stored in the entry itself.
 *
 * A string value is one of four encodings (kv.h): a 64-bit integer
 * (KV_INT), short bytes inline (KV_EMB, KV_RAW, which differ only in what
 * OBJECT ENCODING says, by Redis's rules) or a refcounted buffer (KV_REF,
 * VAL_REF_MIN bytes or more, so replies send it by reference). This module
 * knows those encodings: how a value to store is described (struct kval),
 * how many bytes it takes in an entry, how it is written, read and
 * released. Where an entry lives, moves or grows is the keyspace's
 * business (keyspace.h). */
#ifndef CAIRN_T_STRING_H
#define CAIRN_T_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;
struct mem;
struct val;

/* Redis's limits: strings up to this many bytes are embstr, and the
 * integers 0..9999 are shared objects (OBJECT REFCOUNT). */
#define STR_EMBSTR_MAX 44
#define STR_SHARED_INT_MAX 10000

/* A string value to store. str_kval() picks the encoding Redis would pick
 * for a freshly written string (tryObjectEncoding); the other constructors
 * pin one. A kval owns nothing: for a value of VAL_REF_MIN bytes or more,
 * the store takes its own reference to v if given, or copies p[0,len) into
 * a new val. */
struct kval {
	uint8_t enc;
	long long i;   /* KV_INT */
	const char *p; /* KV_EMB, KV_RAW */
	size_t len;
	struct val *v; /* KV_REF */
};

/* Redis's tryObjectEncoding on bytes p[0,len): int if canonical and at most
 * 20 chars, embstr up to 44 bytes, raw beyond. If big is not NULL it holds
 * the same bytes and is used (with its reference) instead of copying. */
void str_kval(struct kval *out, const char *p, size_t len, struct val *big);
/* A string stored as written (no int conversion): embstr up to 44 bytes,
 * else raw. As Redis's createStringObject (INCRBYFLOAT, GETRANGE copies). */
void str_kval_str(struct kval *out, const char *p, size_t len);
/* Raw, whatever the length (APPEND, SETRANGE results). */
void str_kval_raw(struct kval *out, const char *p, size_t len);
void str_kval_int(struct kval *out, long long i);
/* A kval that describes e's current value (no reference taken). */
void str_kval_of(const struct kv *e, struct kval *out);

/* Bytes the value of encoding enc and length len takes in an entry. */
size_t str_value_bytes(uint8_t enc, size_t len);
/* Writes v into e's value area (which has the room), taking or making the
 * val of a KV_REF and charging it to mem. Sets e->enc and e->vlen. */
void str_store(struct mem *mem, struct kv *e, const struct kval *v);
/* Releases what the value holds outside the entry (a KV_REF's val). */
void str_release(struct mem *mem, struct kv *e);

/* The value's bytes: for KV_INT they are formatted into buf (at least
 * UTIL_LL_CHARS bytes). */
const char *str_value(const struct kv *e, char *buf, size_t *len);
/* Value length in bytes (formatted length for KV_INT). */
size_t str_value_len(const struct kv *e);
/* Bytes held outside the entry (a KV_REF's val), as charged. */
size_t str_size(const struct kv *e);
/* OBJECT ENCODING name and OBJECT REFCOUNT value. */
const char *str_encoding(const struct kv *e);
long long str_refcount(const struct kv *e);

#endif
