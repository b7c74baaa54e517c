/* lzf.c: the LZF block format. See lzf.h.
 *
 * The compressor is greedy: at each position it looks up the last position
 * whose next three bytes hashed alike (a table of LZF_HASH_SIZE slots on the
 * stack, so no state outlives a call), takes the match if the bytes agree
 * and it lies within LZF_DISTANCE_MAX, extends it as far as the format
 * allows, and otherwise adds the byte to the pending literal run. Every
 * position a match covers is hashed too, which finds the repeats a list
 * node is made of (entries sharing a prefix). Any valid LZF decoder reads
 * its output; the ratio is close to liblzf's. */
#include "data/lzf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/assert.h"

/* Slots of the compressor's hash table (a power of two): 16 KB of stack. */
#define LZF_HASH_BITS 12
#define LZF_HASH_SIZE (1u << LZF_HASH_BITS)
/* A back reference's length field: 1..6 in the control byte, 7 says one
 * more byte follows. */
#define LZF_LEN_SHORT_MAX 7

_Static_assert(LZF_MATCH_MAX == LZF_LEN_SHORT_MAX + 255 + 2, "the longest length field");
_Static_assert(LZF_DISTANCE_MAX == 1 << 13, "13 bits of distance");
_Static_assert(LZF_LITERAL_MAX == 1 << 5, "a literal count below 32");

struct lzf_out {
	unsigned char *p, *end;
};

static uint32_t lzf_hash(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];

	return (v * 2654435761u) >> (32 - LZF_HASH_BITS);
}

/* Writes the literal bytes [s, s + n) in runs of at most LZF_LITERAL_MAX. */
static int lzf_put_literals(struct lzf_out *o, const unsigned char *s, size_t n)
{
	while (n > 0) {
		size_t run = n < LZF_LITERAL_MAX ? n : LZF_LITERAL_MAX;
		if ((size_t)(o->end - o->p) < run + 1)
			return -1;
		*o->p++ = (unsigned char)(run - 1);
		memcpy(o->p, s, run);
		o->p += run;
		s += run;
		n -= run;
	}
	return 0;
}

/* Writes a back reference of len bytes, dist bytes back. */
static int lzf_put_match(struct lzf_out *o, size_t dist, size_t len)
{
	size_t off = dist - 1, l = len - 2;

	ASSERT(dist >= 1 && dist <= LZF_DISTANCE_MAX);
	ASSERT(len >= LZF_MATCH_MIN && len <= LZF_MATCH_MAX);
	if ((size_t)(o->end - o->p) < (l >= LZF_LEN_SHORT_MAX ? 3u : 2u))
		return -1;
	if (l < LZF_LEN_SHORT_MAX) {
		*o->p++ = (unsigned char)(l << 5 | off >> 8);
	} else {
		*o->p++ = (unsigned char)(LZF_LEN_SHORT_MAX << 5 | off >> 8);
		*o->p++ = (unsigned char)(l - LZF_LEN_SHORT_MAX);
	}
	*o->p++ = (unsigned char)(off & 0xFF);
	return 0;
}

/* The length of the match between ref and ip, at most max bytes. */
static size_t lzf_match_len(const unsigned char *ref, const unsigned char *ip, size_t max)
{
	size_t n = 0;

	while (n < max && ref[n] == ip[n])
		n++;
	return n;
}

size_t lzf_compress(const void *in, size_t in_len, void *out, size_t out_len)
{
	const unsigned char *src = in, *lit = src;
	struct lzf_out o = { .p = out, .end = (unsigned char *)out + out_len };
	uint32_t tab[LZF_HASH_SIZE];
	size_t ip = 0;

	if (in_len == 0)
		return 0;
	memset(tab, 0, sizeof(tab)); /* slot v holds position v - 1; 0 is empty */
	while (ip + LZF_MATCH_MIN <= in_len) {
		uint32_t h = lzf_hash(src + ip);
		size_t ref = tab[h], len, max, k;
		tab[h] = (uint32_t)(ip + 1);
		if (ref == 0 || ip - (ref - 1) > LZF_DISTANCE_MAX ||
		    memcmp(src + ref - 1, src + ip, LZF_MATCH_MIN) != 0) {
			ip++;
			continue;
		}
		ref--;
		max = in_len - ip < LZF_MATCH_MAX ? in_len - ip : LZF_MATCH_MAX;
		len = lzf_match_len(src + ref, src + ip, max);
		if (lzf_put_literals(&o, lit, (size_t)(src + ip - lit)) < 0 ||
		    lzf_put_match(&o, ip - ref, len) < 0)
			return 0;
		for (k = 1; k < len && ip + k + LZF_MATCH_MIN <= in_len; k++)
			tab[lzf_hash(src + ip + k)] = (uint32_t)(ip + k + 1);
		ip += len;
		lit = src + ip;
	}
	if (lzf_put_literals(&o, lit, (size_t)(src + in_len - lit)) < 0)
		return 0;
	ASSERT(o.p <= o.end);
	return (size_t)(o.p - (unsigned char *)out);
}

size_t lzf_decompress(const void *in, size_t in_len, void *out, size_t out_len)
{
	const unsigned char *ip = in, *in_end = ip + in_len;
	unsigned char *op = out, *out_end = op + out_len, *start = op;

	while (ip < in_end) {
		unsigned c = *ip++;
		size_t len, back;
		if (c < LZF_LITERAL_MAX) {
			len = c + 1;
			if ((size_t)(in_end - ip) < len || (size_t)(out_end - op) < len)
				return 0;
			memcpy(op, ip, len);
			op += len;
			ip += len;
			continue;
		}
		len = c >> 5;
		if (len == LZF_LEN_SHORT_MAX) {
			if (ip >= in_end)
				return 0;
			len += *ip++;
		}
		if (ip >= in_end)
			return 0;
		back = ((size_t)(c & 0x1F) << 8 | *ip++) + 1;
		len += 2;
		if ((size_t)(op - start) < back || (size_t)(out_end - op) < len)
			return 0;
		/* Byte by byte: the source may overlap what is written. */
		for (const unsigned char *ref = op - back; len > 0; len--)
			*op++ = *ref++;
	}
	return (size_t)(op - start);
}

/* ---- liblzf's compressor (lzf.h: lzf_compress_lib) ---- */

#define LIB_SLOTS (1u << LZF_LIB_HLOG)

/* liblzf's IDX in VERY_FAST mode over its running 32-bit hash value. */
static uint32_t lib_idx(uint32_t h)
{
	return ((h >> (3 * 8 - LZF_LIB_HLOG)) - h * 5) & (LIB_SLOTS - 1);
}

/* The output of one call: the block so far, and the literal run open at
 * its end (its control byte at op - lit - 1). */
struct lib_out {
	unsigned char *p;
	size_t op, cap;
	size_t lit;
};

/* Closes the open run (its control byte says lit - 1) and opens a new one:
 * a run of 0 literals is undone by lib_close. */
static void lib_run_stop(struct lib_out *o)
{
	ASSERT(o->op >= o->lit + 1);
	o->p[o->op - o->lit - 1] = (unsigned char)(o->lit - 1);
}

/* One literal byte (the caller checked room for it). */
static void lib_literal(struct lib_out *o, unsigned char b)
{
	ASSERT(o->op < o->cap);
	o->p[o->op++] = b;
	if (++o->lit == LZF_LITERAL_MAX) {
		lib_run_stop(o);
		o->lit = 0;
		o->op++;
	}
}

/* The length of the match at ip against ref (liblzf's loop: 16 checks
 * unrolled when maxlen > 16, then up to maxlen): the bytes that agree. */
static size_t lib_match(const unsigned char *in, size_t ref, size_t ip, size_t maxlen)
{
	size_t len = 2;
	int k;

	if (maxlen > 16) {
		for (k = 0; k < 16; k++) {
			len++;
			if (in[ref + len] != in[ip + len])
				return len;
		}
	}
	do
		len++;
	while (len < maxlen && in[ref + len] == in[ip + len]);
	return len;
}

/* Zeroes the slots a call set: every position's slot, a superset. */
static void lib_clear(const unsigned char *in, size_t in_len, struct lzf_lib_table *t)
{
	uint32_t h;
	size_t i;

	if (in_len < 3)
		return;
	h = (uint32_t)in[0] << 8 | in[1];
	for (i = 0; i + 2 < in_len; i++) {
		h = h << 8 | in[i + 2];
		t->slot[lib_idx(h)] = 0;
		/* After a match liblzf restarts the hash from two bytes. */
		t->slot[lib_idx((uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2])] = 0;
	}
}

/* Emits the back reference for a match of len bytes at distance off + 1
 * and returns false if the block would not fit. */
static bool lib_backref(struct lib_out *o, size_t off, size_t len)
{
	if (o->op + 3 + 1 >= o->cap && o->op - (o->lit == 0) + 3 + 1 >= o->cap)
		return false;
	lib_run_stop(o);
	o->op -= o->lit == 0;
	len -= 2;
	if (len < 7) {
		o->p[o->op++] = (unsigned char)((off >> 8) + (len << 5));
	} else {
		o->p[o->op++] = (unsigned char)((off >> 8) + (7 << 5));
		o->p[o->op++] = (unsigned char)(len - 7);
	}
	o->p[o->op++] = (unsigned char)off;
	o->lit = 0;
	o->op++;
	return true;
}

/* The main loop; returns false if the block would not fit. */
static bool lib_body(const unsigned char *in, size_t in_len, struct lib_out *o,
		     struct lzf_lib_table *t, size_t *ipp)
{
	size_t ip = 0;
	uint32_t h = (uint32_t)in[0] << 8 | in[1];

	while (ip + 2 < in_len) {
		uint32_t *slot;
		size_t ref, off;
		h = h << 8 | in[ip + 2];
		slot = &t->slot[lib_idx(h)];
		ref = *slot;
		*slot = (uint32_t)ip;
		off = ip - ref - 1;
		if (ref > 0 && ref < ip && off < LZF_DISTANCE_MAX && in[ref + 2] == in[ip + 2] &&
		    in[ref] == in[ip] && in[ref + 1] == in[ip + 1]) {
			size_t maxlen = in_len - ip - 2, len;
			maxlen = maxlen > LZF_MATCH_MAX ? LZF_MATCH_MAX : maxlen;
			len = lib_match(in, ref, ip, maxlen);
			if (!lib_backref(o, off, len))
				return false;
			ip += len;
			if (ip + 2 >= in_len)
				break;
			/* VERY_FAST: the match's last two positions are hashed. */
			ip -= 2;
			h = (uint32_t)in[ip] << 8 | in[ip + 1];
			h = h << 8 | in[ip + 2];
			t->slot[lib_idx(h)] = (uint32_t)ip++;
			h = h << 8 | in[ip + 2];
			t->slot[lib_idx(h)] = (uint32_t)ip++;
		} else {
			if (o->op >= o->cap)
				return false;
			lib_literal(o, in[ip++]);
		}
	}
	*ipp = ip;
	return true;
}

size_t lzf_compress_lib(const void *in_, size_t in_len, void *out, size_t out_len,
			struct lzf_lib_table *t)
{
	const unsigned char *in = in_;
	struct lib_out o = { .p = out, .op = 1, .cap = out_len, .lit = 0 };
	size_t ip = 0;
	bool ok;

	ASSERT(in_len <= UINT32_MAX);
	if (in_len == 0 || out_len == 0)
		return 0;
	ok = in_len < 3 || lib_body(in, in_len, &o, t, &ip);
	lib_clear(in, in_len, t);
	if (!ok || o.op + 3 > o.cap)
		return 0;
	while (ip < in_len)
		lib_literal(&o, in[ip++]);
	lib_run_stop(&o);
	o.op -= o.lit == 0;
	return o.op;
}
