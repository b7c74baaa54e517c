/* t_string.c: the string type's encodings. See t_string.h. */
#include "data/t_string.h"

#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "base/val.h"
#include "data/kv.h"

_Static_assert(VAL_REF_MIN - 1 <= UINT16_MAX, "an inline string's length fits kv.vlen");

void str_kval(struct kval *out, const char *p, size_t len, struct val *big)
{
	long long i;

	memset(out, 0, sizeof(*out));
	if (len <= PROTO_NUM_CHARS_MAX && util_str2ll(p, len, &i)) {
		out->enc = KV_INT;
		out->i = i;
		return;
	}
	out->p = p;
	out->len = len;
	if (len >= VAL_REF_MIN) {
		out->enc = KV_REF;
		out->v = big;
	} else {
		out->enc = len <= STR_EMBSTR_MAX ? KV_EMB : KV_RAW;
	}
}

void str_kval_str(struct kval *out, const char *p, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->p = p;
	out->len = len;
	out->enc = len >= VAL_REF_MIN ? KV_REF : len <= STR_EMBSTR_MAX ? KV_EMB : KV_RAW;
}

void str_kval_raw(struct kval *out, const char *p, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->p = p;
	out->len = len;
	out->enc = len >= VAL_REF_MIN ? KV_REF : KV_RAW;
}

void str_kval_int(struct kval *out, long long i)
{
	memset(out, 0, sizeof(*out));
	out->enc = KV_INT;
	out->i = i;
}

void str_kval_of(const struct kv *e, struct kval *out)
{
	ASSERT(e->type == KV_STRING);
	memset(out, 0, sizeof(*out));
	out->enc = e->enc;
	switch (e->enc) {
	case KV_INT: out->i = kv_int(e); break;
	case KV_REF:
		out->v = kv_ref(e);
		out->p = out->v->data;
		out->len = out->v->len;
		break;
	default:
		out->p = kv_cvptr(e);
		out->len = e->vlen;
		break;
	}
}

size_t str_value_bytes(uint8_t enc, size_t len)
{
	switch (enc) {
	case KV_INT: return sizeof(long long);
	case KV_REF: return sizeof(struct val *);
	default: return len;
	}
}

void str_store(struct mem *mem, struct kv *e, const struct kval *v)
{
	char *dst = kv_vptr(e);

	ASSERT(v->enc <= KV_REF);
	e->type = KV_STRING;
	e->enc = v->enc;
	e->vlen = 0;
	switch (v->enc) {
	case KV_INT: memcpy(dst, &v->i, sizeof(v->i)); break;
	case KV_REF: {
		struct val *b = v->v != NULL ? val_ref(v->v) : val_copy(v->p, v->len);
		ASSERT(b->len == v->len);
		mem_charge(mem, val_size(b));
		memcpy(dst, &b, sizeof(b));
		break;
	}
	default:
		memmove(dst, v->p, v->len);
		ASSERT(v->len < VAL_REF_MIN);
		e->vlen = (uint16_t)v->len;
		break;
	}
}

void str_release(struct mem *mem, struct kv *e)
{
	ASSERT(e->type == KV_STRING);
	if (e->enc == KV_REF) {
		struct val *v = kv_ref(e);
		mem_uncharge(mem, val_size(v));
		val_unref(v);
	}
}

const char *str_value(const struct kv *e, char *buf, size_t *len)
{
	ASSERT(e->type == KV_STRING);
	switch (e->enc) {
	case KV_INT: *len = (size_t)util_ll2str(buf, kv_int(e)); return buf;
	case KV_REF: {
		struct val *v = kv_ref(e);
		*len = v->len;
		return v->data;
	}
	default: *len = e->vlen; return kv_cvptr(e);
	}
}

size_t str_value_len(const struct kv *e)
{
	long long i;

	ASSERT(e->type == KV_STRING);
	switch (e->enc) {
	case KV_INT:
		i = kv_int(e);
		return i < 0 ? 1 + (size_t)util_digits10(0 - (unsigned long long)i)
			     : (size_t)util_digits10((unsigned long long)i);
	case KV_REF: return kv_ref(e)->len;
	default: return e->vlen;
	}
}

size_t str_size(const struct kv *e)
{
	ASSERT(e->type == KV_STRING);
	return e->enc == KV_REF ? val_size(kv_ref(e)) : 0;
}

const char *str_encoding(const struct kv *e)
{
	ASSERT(e->type == KV_STRING);
	switch (e->enc) {
	case KV_INT: return "int";
	case KV_EMB: return "embstr";
	default: return "raw";
	}
}

long long str_refcount(const struct kv *e)
{
	/* Redis shares the integers 0..9999 (OBJ_SHARED_REFCOUNT). */
	if (e->enc == KV_INT && !(e->flags & KV_F_NOSHARE) && kv_int(e) >= 0 &&
	    kv_int(e) < STR_SHARED_INT_MAX)
		return 2147483647;
	return 1;
}
