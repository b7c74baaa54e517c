/* listpack.c: Redis 7.0's listpack format, written for cairn. See listpack.h.
 *
 * An entry is its encoding (with a string's length), its data, then its
 * backlen. The first byte selects the encoding:
 *
 *   0iiiiiii                       integer 0..127
 *   10llllll <data>                string of 0..63 bytes
 *   110iiiii iiiiiiii              integer -4096..4095 (13 bits)
 *   1110llll llllllll <data>       string of 0..4095 bytes
 *   11110000 <length: 4> <data>    string of up to UINT32_MAX bytes
 *   11110001 <2 bytes>             integer of 16 bits
 *   11110010 <3 bytes>             integer of 24 bits
 *   11110011 <4 bytes>             integer of 32 bits
 *   11110100 <8 bytes>             integer of 64 bits
 *   11110101 .. 11111110           unused: refused by lp_valid()
 *   11111111                       the end byte (LP_EOF)
 *
 * Integers are two's complement, the 13-bit one and the 12-bit length with
 * their high bits in the first byte, the others little endian. The backlen
 * records the length of the encoding and the data (not its own) in 7-bit
 * groups, most significant first, every byte after the first with its high
 * bit set: read backward from the entry's last byte, a clear high bit marks
 * the backlen's first byte. Its size steps up at Redis's bounds, which are
 * one short of the powers of two (16383 takes three bytes, not two); the
 * bytes must be Redis's, so the bounds are too.
 *
 * Every writer computes the new size, grows the allocation first when the
 * usable size is short, moves the tail, and shrinks the allocation after a
 * move that made it smaller: Redis's order, so that the allocation stays at
 * the listpack's size. */
#include "data/listpack.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"

/* The first byte of each encoding, and the mask of its selecting bits. */
#define LP_ENC_7BIT_UINT 0x00
#define LP_ENC_7BIT_UINT_MASK 0x80
#define LP_ENC_6BIT_STR 0x80
#define LP_ENC_6BIT_STR_MASK 0xC0
#define LP_ENC_13BIT_INT 0xC0
#define LP_ENC_13BIT_INT_MASK 0xE0
#define LP_ENC_12BIT_STR 0xE0
#define LP_ENC_12BIT_STR_MASK 0xF0
#define LP_ENC_32BIT_STR 0xF0
#define LP_ENC_16BIT_INT 0xF1
#define LP_ENC_24BIT_INT 0xF2
#define LP_ENC_32BIT_INT 0xF3
#define LP_ENC_64BIT_INT 0xF4

/* The range of each encoding. */
#define LP_INT7_MAX 127
#define LP_INT13_MIN (-4096)
#define LP_INT13_MAX 4095
#define LP_INT24_MIN (-8388608)
#define LP_INT24_MAX 8388607
#define LP_STR6_MAX 63
#define LP_STR12_MAX 4095
#define LP_STR32_MAX UINT32_MAX

/* Bytes before a string's data. */
#define LP_STR6_HDR 1
#define LP_STR12_HDR 2
#define LP_STR32_HDR 5
/* The longest integer entry (the 64-bit one) and the longest backlen. */
#define LP_INT_ENTRY_MAX 9
#define LP_BACKLEN_MAX 5
/* A backlen takes 1 byte up to LP_BACKLEN1_MAX, 2 below LP_BACKLEN2_END, 3
 * below LP_BACKLEN3_END, 4 below LP_BACKLEN4_END, 5 from there. */
#define LP_BACKLEN1_MAX 127
#define LP_BACKLEN2_END 16383
#define LP_BACKLEN3_END 2097151
#define LP_BACKLEN4_END 268435455
/* Where the header's fields lie. */
#define LP_HDR_BYTES_OFF 0
#define LP_HDR_COUNT_OFF 4

_Static_assert(LP_INT7_MAX == (1 << 7) - 1, "7-bit integers are 0..127");
_Static_assert(LP_INT13_MAX == (1 << 12) - 1, "13-bit integers are signed");
_Static_assert(LP_INT13_MIN == -(1 << 12), "13-bit integers are signed");
_Static_assert(LP_INT24_MAX == (1 << 23) - 1, "24-bit integers are signed");
_Static_assert(LP_INT24_MIN == -(1 << 23), "24-bit integers are signed");
_Static_assert(LP_STR6_MAX == (1 << 6) - 1, "a 6-bit length");
_Static_assert(LP_STR12_MAX == (1 << 12) - 1, "a 12-bit length");
_Static_assert(LP_INT_ENTRY_MAX == 1 + sizeof(int64_t), "the encoding byte and 8 bytes");
_Static_assert(LP_STR32_HDR == 1 + sizeof(uint32_t), "the encoding byte and a 32-bit length");
_Static_assert(LP_BACKLEN2_END == (1 << 14) - 1, "Redis's two-byte bound");
_Static_assert(LP_BACKLEN3_END == (1 << 21) - 1, "Redis's three-byte bound");
_Static_assert(LP_BACKLEN4_END == (1 << 28) - 1, "Redis's four-byte bound");
_Static_assert(LP_STR32_HDR + (uint64_t)LP_STR32_MAX < (1ULL << (7 * LP_BACKLEN_MAX)),
	       "the longest entry's length fits the longest backlen");
_Static_assert(LP_HDR_SIZE == LP_HDR_COUNT_OFF + sizeof(uint16_t), "bytes, then the count");
_Static_assert(LP_HDR_NUMELE_UNKNOWN == UINT16_MAX, "the count is a 16-bit field");
_Static_assert(LP_INTBUF_SIZE == UTIL_LL_CHARS, "room for util_ll2str");
_Static_assert(LP_MAX_BYTES == UINT32_MAX, "the total is a 32-bit field");

/* The wider integer encodings, narrowest first: an integer takes the first
 * whose range holds it. */
static const struct {
	int64_t min, max;
	unsigned char enc;
	unsigned bytes;
} lp_wide_ints[] = {
	{ INT16_MIN, INT16_MAX, LP_ENC_16BIT_INT, 2 },
	{ LP_INT24_MIN, LP_INT24_MAX, LP_ENC_24BIT_INT, 3 },
	{ INT32_MIN, INT32_MAX, LP_ENC_32BIT_INT, 4 },
	{ INT64_MIN, INT64_MAX, LP_ENC_64BIT_INT, 8 },
};
#define LP_WIDE_INTS (sizeof(lp_wide_ints) / sizeof(lp_wide_ints[0]))

/* An element about to be written: its encoding (all of an integer entry)
 * and, for a string, its data. */
struct lp_enc {
	unsigned char hdr[LP_INT_ENTRY_MAX];
	unsigned hdr_len;
	const char *data;
	size_t data_len;
};

static uint64_t lp_get_le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void lp_put_le(unsigned char *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t lp_hdr_count(const unsigned char *lp)
{
	return (uint16_t)lp_get_le(lp + LP_HDR_COUNT_OFF, sizeof(uint16_t));
}

static void lp_set_header(unsigned char *lp, size_t bytes, uint16_t count)
{
	ASSERT(bytes <= LP_MAX_BYTES);
	lp_put_le(lp + LP_HDR_BYTES_OFF, bytes, sizeof(uint32_t));
	lp_put_le(lp + LP_HDR_COUNT_OFF, count, sizeof(uint16_t));
}

/* Sign-extends the low bits of u, a two's complement integer of that
 * width. */
static int64_t lp_sign_extend(uint64_t u, unsigned bits)
{
	unsigned shift = 64 - bits;

	return (int64_t)(u << shift) >> shift;
}

/* The bytes of the wide integer encoding enc after its first byte; 0 if enc
 * is not one. */
static unsigned lp_wide_bytes(unsigned char enc)
{
	size_t i;

	for (i = 0; i < LP_WIDE_INTS; i++)
		if (lp_wide_ints[i].enc == enc)
			return lp_wide_ints[i].bytes;
	return 0;
}

/* The bytes of an entry that lp_enc_len() reads: 0 when b starts no
 * encoding (the end byte, or an unused one). */
static unsigned lp_len_bytes(unsigned char b)
{
	if ((b & LP_ENC_7BIT_UINT_MASK) == LP_ENC_7BIT_UINT)
		return 1;
	if ((b & LP_ENC_6BIT_STR_MASK) == LP_ENC_6BIT_STR)
		return LP_STR6_HDR;
	if ((b & LP_ENC_13BIT_INT_MASK) == LP_ENC_13BIT_INT)
		return 1;
	if ((b & LP_ENC_12BIT_STR_MASK) == LP_ENC_12BIT_STR)
		return LP_STR12_HDR;
	if (b == LP_ENC_32BIT_STR)
		return LP_STR32_HDR;
	return lp_wide_bytes(b) > 0 ? 1 : 0;
}

/* The length of the entry at p without its backlen: the number its backlen
 * records. The encoding must be valid (lp_len_bytes() > 0). */
static uint64_t lp_enc_len(const unsigned char *p)
{
	unsigned char b = p[0];
	unsigned wide;

	if ((b & LP_ENC_7BIT_UINT_MASK) == LP_ENC_7BIT_UINT)
		return 1;
	if ((b & LP_ENC_6BIT_STR_MASK) == LP_ENC_6BIT_STR)
		return LP_STR6_HDR + (uint64_t)(b & LP_STR6_MAX);
	if ((b & LP_ENC_13BIT_INT_MASK) == LP_ENC_13BIT_INT)
		return 2;
	if ((b & LP_ENC_12BIT_STR_MASK) == LP_ENC_12BIT_STR)
		return LP_STR12_HDR + ((uint64_t)(b & 0x0F) << 8 | p[1]);
	if (b == LP_ENC_32BIT_STR)
		return LP_STR32_HDR + lp_get_le(p + 1, sizeof(uint32_t));
	wide = lp_wide_bytes(b);
	ASSERT(wide > 0);
	return 1 + (uint64_t)wide;
}

static unsigned lp_backlen_size(uint64_t l)
{
	if (l <= LP_BACKLEN1_MAX)
		return 1;
	if (l < LP_BACKLEN2_END)
		return 2;
	if (l < LP_BACKLEN3_END)
		return 3;
	if (l < LP_BACKLEN4_END)
		return 4;
	return LP_BACKLEN_MAX;
}

/* Writes the backlen of an entry of length l at buf; returns its size. */
static unsigned lp_backlen_put(unsigned char *buf, uint64_t l)
{
	unsigned n = lp_backlen_size(l);
	unsigned i;

	buf[0] = (unsigned char)(l >> (7 * (n - 1)));
	for (i = 1; i < n; i++)
		buf[i] = (unsigned char)(((l >> (7 * (n - 1 - i))) & 127) | 128);
	return n;
}

/* Reads backward the backlen that ends at last (of a trusted listpack);
 * returns the length it records and sets *n to its size. */
static uint64_t lp_backlen_get(const unsigned char *last, unsigned *n)
{
	uint64_t l = 0;
	unsigned i;

	for (i = 0;; i++) {
		unsigned char b = *(last - i);
		l |= (uint64_t)(b & 127) << (7 * i);
		if ((b & 128) == 0)
			break;
		ASSERT(i + 1 < LP_BACKLEN_MAX);
	}
	*n = i + 1;
	return l;
}

/* The entry after the one at p, or the end byte. */
static const unsigned char *lp_skip(const unsigned char *p)
{
	uint64_t l;

	ASSERT(lp_len_bytes(p[0]) > 0);
	l = lp_enc_len(p);
	return p + l + lp_backlen_size(l);
}

static size_t lp_entry_size(const unsigned char *p)
{
	return (size_t)(lp_skip(p) - p);
}

static void lp_enc_int(struct lp_enc *e, int64_t v)
{
	uint64_t u = (uint64_t)v;
	size_t i;

	e->data = NULL;
	e->data_len = 0;
	if (v >= 0 && v <= LP_INT7_MAX) {
		e->hdr[0] = (unsigned char)v;
		e->hdr_len = 1;
		return;
	}
	if (v >= LP_INT13_MIN && v <= LP_INT13_MAX) {
		u &= (1u << 13) - 1;
		e->hdr[0] = (unsigned char)(LP_ENC_13BIT_INT | u >> 8);
		e->hdr[1] = (unsigned char)(u & 0xFF);
		e->hdr_len = 2;
		return;
	}
	for (i = 0; v < lp_wide_ints[i].min || v > lp_wide_ints[i].max; i++)
		ASSERT(i + 1 < LP_WIDE_INTS);
	e->hdr[0] = lp_wide_ints[i].enc;
	lp_put_le(e->hdr + 1, u, lp_wide_ints[i].bytes);
	e->hdr_len = 1 + lp_wide_ints[i].bytes;
}

/* A string that is a canonical integer becomes that integer, as in Redis
 * (lpStringToInt64 has util_str2ll's rules). */
static void lp_enc_str(struct lp_enc *e, const char *s, size_t len)
{
	long long v;

	if (util_str2ll(s, len, &v)) {
		lp_enc_int(e, v);
		return;
	}
	ASSERT(len <= LP_STR32_MAX);
	e->data = s;
	e->data_len = len;
	if (len <= LP_STR6_MAX) {
		e->hdr[0] = (unsigned char)(LP_ENC_6BIT_STR | len);
		e->hdr_len = LP_STR6_HDR;
	} else if (len <= LP_STR12_MAX) {
		e->hdr[0] = (unsigned char)(LP_ENC_12BIT_STR | len >> 8);
		e->hdr[1] = (unsigned char)(len & 0xFF);
		e->hdr_len = LP_STR12_HDR;
	} else {
		e->hdr[0] = LP_ENC_32BIT_STR;
		lp_put_le(e->hdr + 1, len, sizeof(uint32_t));
		e->hdr_len = LP_STR32_HDR;
	}
}

static size_t lp_enc_size(const struct lp_enc *e)
{
	uint64_t l = e->hdr_len + (uint64_t)e->data_len;

	return (size_t)(l + lp_backlen_size(l));
}

static void lp_write(unsigned char *dst, const struct lp_enc *e)
{
	size_t l = e->hdr_len + e->data_len;

	memcpy(dst, e->hdr, e->hdr_len);
	if (e->data_len > 0)
		memcpy(dst + e->hdr_len, e->data, e->data_len);
	lp_backlen_put(dst + l, l);
}

/* Whether [s, s + len) lies outside [lp, lp + bytes): a string to copy must,
 * since the listpack may move before it is copied. */
static bool lp_outside(const unsigned char *lp, size_t bytes, const char *s, size_t len)
{
	uintptr_t a = (uintptr_t)s, b = (uintptr_t)lp;

	return len == 0 || a + len <= b || a >= b + bytes;
}

/* Replaces the old_len bytes of entries at p with the entry e (with nothing
 * when e is NULL), adds delta to the header's count unless it is unknown,
 * and returns the listpack; *at is where p's offset lies in it afterwards. */
static unsigned char *lp_splice(struct mem *mem, unsigned char *lp, unsigned char *p,
				size_t old_len, const struct lp_enc *e, long delta,
				unsigned char **at)
{
	size_t off = (size_t)(p - lp);
	size_t old_bytes = lp_bytes(lp);
	size_t new_len = e ? lp_enc_size(e) : 0;
	size_t new_bytes;
	long count = lp_hdr_count(lp);

	ASSERT(off >= LP_HDR_SIZE);
	ASSERT(off + old_len < old_bytes);
	ASSERT(new_len <= LP_MAX_BYTES - (old_bytes - old_len));
	ASSERT(e == NULL || lp_outside(lp, old_bytes, e->data, e->data_len));
	new_bytes = old_bytes - old_len + new_len;
	if (new_bytes > old_bytes && new_bytes > mem_size(lp))
		lp = mem_realloc(mem, lp, new_bytes);
	memmove(lp + off + new_len, lp + off + old_len, old_bytes - off - old_len);
	if (new_bytes < old_bytes)
		lp = mem_realloc(mem, lp, new_bytes);
	if (e)
		lp_write(lp + off, e);
	if (count != LP_HDR_NUMELE_UNKNOWN) {
		count += delta;
		ASSERT(count >= 0);
		ASSERT(count <= LP_HDR_NUMELE_UNKNOWN);
	}
	lp_set_header(lp, new_bytes, (uint16_t)count);
	*at = lp + off;
	return lp;
}

unsigned char *lp_new(struct mem *mem)
{
	unsigned char *lp = mem_alloc(mem, LP_EMPTY_SIZE);

	lp_set_header(lp, LP_EMPTY_SIZE, 0);
	lp[LP_HDR_SIZE] = LP_EOF;
	return lp;
}

void lp_free(struct mem *mem, unsigned char *lp)
{
	mem_free(mem, lp);
}

size_t lp_bytes(const unsigned char *lp)
{
	return (size_t)lp_get_le(lp + LP_HDR_BYTES_OFF, sizeof(uint32_t));
}

unsigned long lp_length(const unsigned char *lp)
{
	uint16_t n = lp_hdr_count(lp);
	const unsigned char *p = lp + LP_HDR_SIZE;
	unsigned long count = 0;

	if (n != LP_HDR_NUMELE_UNKNOWN)
		return n;
	for (; *p != LP_EOF; p = lp_skip(p))
		count++;
	return count;
}

bool lp_safe_to_add(const unsigned char *lp, size_t add)
{
	size_t len = lp ? lp_bytes(lp) : 0;

	return add <= LP_SAFETY_SIZE && len + add <= LP_SAFETY_SIZE;
}

unsigned char *lp_first(unsigned char *lp)
{
	unsigned char *p = lp + LP_HDR_SIZE;

	return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_last(unsigned char *lp)
{
	return lp_prev(lp, lp + lp_bytes(lp) - 1);
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
	ASSERT(p >= lp + LP_HDR_SIZE);
	ASSERT(*p != LP_EOF);
	p = (unsigned char *)lp_skip(p);
	ASSERT(p < lp + lp_bytes(lp));
	return *p == LP_EOF ? NULL : p;
}

/* p is an entry or the end byte: lp_last() starts from the end byte. */
unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
	uint64_t l;
	unsigned n;

	ASSERT(p >= lp + LP_HDR_SIZE);
	if (p == lp + LP_HDR_SIZE)
		return NULL;
	l = lp_backlen_get(p - 1, &n);
	ASSERT(l + n <= (size_t)(p - (lp + LP_HDR_SIZE)));
	return p - n - l;
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
	uint16_t n = lp_hdr_count(lp);
	unsigned char *p;

	if (n != LP_HDR_NUMELE_UNKNOWN) {
		if (index < 0)
			index += n;
		if (index < 0 || index >= (long)n)
			return NULL;
		/* The nearer end: past the middle, count from the end. */
		if (index > (long)n / 2)
			index -= n;
	}
	if (index >= 0) {
		for (p = lp_first(lp); p != NULL && index > 0; index--)
			p = lp_next(lp, p);
	} else {
		for (p = lp_last(lp); p != NULL && index < -1; index++)
			p = lp_prev(lp, p);
	}
	return p;
}

const unsigned char *lp_get(const unsigned char *p, int64_t *ival, uint32_t *len)
{
	unsigned char b = p[0];
	unsigned wide;

	if ((b & LP_ENC_7BIT_UINT_MASK) == LP_ENC_7BIT_UINT) {
		*ival = b;
		return NULL;
	}
	if ((b & LP_ENC_6BIT_STR_MASK) == LP_ENC_6BIT_STR) {
		*len = b & LP_STR6_MAX;
		return p + LP_STR6_HDR;
	}
	if ((b & LP_ENC_13BIT_INT_MASK) == LP_ENC_13BIT_INT) {
		*ival = lp_sign_extend((uint64_t)(b & 0x1F) << 8 | p[1], 13);
		return NULL;
	}
	if ((b & LP_ENC_12BIT_STR_MASK) == LP_ENC_12BIT_STR) {
		*len = (uint32_t)(b & 0x0F) << 8 | p[1];
		return p + LP_STR12_HDR;
	}
	if (b == LP_ENC_32BIT_STR) {
		*len = (uint32_t)lp_get_le(p + 1, sizeof(uint32_t));
		return p + LP_STR32_HDR;
	}
	wide = lp_wide_bytes(b);
	ASSERT(wide > 0);
	*ival = lp_sign_extend(lp_get_le(p + 1, wide), 8 * wide);
	return NULL;
}

const char *lp_get_text(const unsigned char *p, char *buf, size_t *len)
{
	int64_t v;
	uint32_t slen;
	const unsigned char *s = lp_get(p, &v, &slen);

	if (s) {
		*len = slen;
		return (const char *)s;
	}
	*len = (size_t)util_ll2str(buf, v);
	return buf;
}

/* lp_eq() with s already read as an integer (s_int, sv), once per search. */
static bool lp_match(const unsigned char *p, const char *s, size_t len, bool s_int, long long sv)
{
	int64_t v;
	uint32_t slen;
	const unsigned char *e = lp_get(p, &v, &slen);

	if (e)
		return slen == len && (len == 0 || memcmp(e, s, len) == 0);
	return s_int && v == sv;
}

bool lp_eq(const unsigned char *p, const char *s, size_t len)
{
	long long sv = 0;
	bool s_int = util_str2ll(s, len, &sv);

	return lp_match(p, s, len, s_int, sv);
}

static unsigned char *lp_insert_enc(struct mem *mem, unsigned char *lp, const struct lp_enc *e,
				    unsigned char *p, unsigned char **newp)
{
	unsigned char *at;

	lp = lp_splice(mem, lp, p, 0, e, 1, &at);
	if (newp)
		*newp = at;
	return lp;
}

unsigned char *lp_append(struct mem *mem, unsigned char *lp, const char *s, size_t len)
{
	struct lp_enc e;

	lp_enc_str(&e, s, len);
	return lp_insert_enc(mem, lp, &e, lp + lp_bytes(lp) - 1, NULL);
}

unsigned char *lp_append_int(struct mem *mem, unsigned char *lp, int64_t v)
{
	struct lp_enc e;

	lp_enc_int(&e, v);
	return lp_insert_enc(mem, lp, &e, lp + lp_bytes(lp) - 1, NULL);
}

unsigned char *lp_prepend(struct mem *mem, unsigned char *lp, const char *s, size_t len)
{
	struct lp_enc e;

	lp_enc_str(&e, s, len);
	return lp_insert_enc(mem, lp, &e, lp + LP_HDR_SIZE, NULL);
}

unsigned char *lp_insert(struct mem *mem, unsigned char *lp, const char *s, size_t len,
			 unsigned char *p, int where, unsigned char **newp)
{
	struct lp_enc e;

	ASSERT(where == LP_BEFORE || where == LP_AFTER);
	ASSERT(*p != LP_EOF);
	if (where == LP_AFTER)
		p = (unsigned char *)lp_skip(p);
	lp_enc_str(&e, s, len);
	return lp_insert_enc(mem, lp, &e, p, newp);
}

unsigned char *lp_replace(struct mem *mem, unsigned char *lp, unsigned char **p, const char *s,
			  size_t len)
{
	struct lp_enc e;

	ASSERT(**p != LP_EOF);
	lp_enc_str(&e, s, len);
	return lp_splice(mem, lp, *p, lp_entry_size(*p), &e, 0, p);
}

unsigned char *lp_delete(struct mem *mem, unsigned char *lp, unsigned char *p, unsigned char **newp)
{
	unsigned char *at;

	ASSERT(*p != LP_EOF);
	lp = lp_splice(mem, lp, p, lp_entry_size(p), NULL, -1, &at);
	if (newp)
		*newp = *at == LP_EOF ? NULL : at;
	return lp;
}

unsigned char *lp_delete_range(struct mem *mem, unsigned char *lp, long index, unsigned long num)
{
	uint16_t n = lp_hdr_count(lp);
	unsigned char *p, *tail, *at;
	unsigned long deleted = 0;

	if (num == 0)
		return lp;
	p = lp_seek(lp, index);
	if (p == NULL)
		return lp;
	tail = p;
	if (n != LP_HDR_NUMELE_UNKNOWN) {
		/* A known count says whether the range reaches the end, which
		 * then needs no walk (Redis's shortcut; the same bytes). */
		unsigned long first = (unsigned long)(index < 0 ? index + n : index);
		if (n - first <= num) {
			tail = lp + lp_bytes(lp) - 1;
			deleted = n - first;
		}
	}
	for (; deleted < num && *tail != LP_EOF; deleted++)
		tail = (unsigned char *)lp_skip(tail);
	return lp_splice(mem, lp, p, (size_t)(tail - p), NULL, -(long)deleted, &at);
}

unsigned char *lp_merge(struct mem *mem, unsigned char *first, unsigned char *second)
{
	size_t fb = lp_bytes(first), sb = lp_bytes(second);
	size_t fe = fb - LP_EMPTY_SIZE, se = sb - LP_EMPTY_SIZE; /* entry bytes */
	unsigned long count = lp_length(first) + lp_length(second);
	size_t bytes = fb + se;
	unsigned char *lp;

	ASSERT(se <= LP_MAX_BYTES - fb);
	if (fb >= sb) {
		/* Grow first, append second's entries before the end byte. */
		lp = mem_realloc(mem, first, bytes);
		memcpy(lp + LP_HDR_SIZE + fe, second + LP_HDR_SIZE, se);
		mem_free(mem, second);
	} else {
		/* Grow second, move its entries up, put first's in front. */
		lp = mem_realloc(mem, second, bytes);
		memmove(lp + LP_HDR_SIZE + fe, lp + LP_HDR_SIZE, se);
		memcpy(lp + LP_HDR_SIZE, first + LP_HDR_SIZE, fe);
		mem_free(mem, first);
	}
	lp[bytes - 1] = LP_EOF;
	lp_set_header(lp, bytes,
		      (uint16_t)(count < LP_HDR_NUMELE_UNKNOWN ? count : LP_HDR_NUMELE_UNKNOWN));
	return lp;
}

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
		       unsigned skip)
{
	long long sv = 0;
	bool s_int = util_str2ll(s, len, &sv);
	unsigned left = 0;

	for (; p != NULL; p = lp_next(lp, p)) {
		if (left > 0) {
			left--;
			continue;
		}
		if (lp_match(p, s, len, s_int, sv))
			return p;
		left = skip;
	}
	return NULL;
}

/* The entry after the one at p when that one lies whole before eof, with a
 * valid encoding and the canonical backlen of its length; NULL otherwise.
 * Reads nothing at or past eof. */
static const unsigned char *lp_valid_entry(const unsigned char *p, const unsigned char *eof)
{
	size_t room = (size_t)(eof - p);
	unsigned need = lp_len_bytes(p[0]);
	unsigned char backlen[LP_BACKLEN_MAX];
	uint64_t l;
	unsigned n;

	if (need == 0 || need > room)
		return NULL;
	l = lp_enc_len(p);
	n = lp_backlen_put(backlen, l);
	if (l > room || n > room - l)
		return NULL;
	if (memcmp(p + l, backlen, n) != 0)
		return NULL;
	return p + l + n;
}

bool lp_valid(const unsigned char *lp, size_t bytes, bool deep)
{
	const unsigned char *p, *eof;
	uint16_t n;
	unsigned long count = 0;

	if (bytes < LP_EMPTY_SIZE)
		return false;
	if (lp_bytes(lp) != bytes)
		return false;
	eof = lp + bytes - 1;
	if (*eof != LP_EOF)
		return false;
	if (!deep)
		return true;
	p = lp + LP_HDR_SIZE;
	while (p < eof) {
		p = lp_valid_entry(p, eof);
		if (p == NULL)
			return false;
		count++;
	}
	n = lp_hdr_count(lp);
	return n == LP_HDR_NUMELE_UNKNOWN || n == count;
}
