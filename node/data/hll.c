/* hll.c: HyperLogLog in Redis's format. See hll.h.
 *
 * Each function mirrors its counterpart in Redis's hyperloglog.c, so that
 * the bytes (and the counts) agree: a different but equally valid sparse
 * encoding would make GET of the same key differ between the two. */
#include "data/hll.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"

#define HLL_P_MASK (HLL_REGISTERS - 1)
#define HLL_DENSE_BYTES (HLL_DENSE_SIZE - HLL_HDR_SIZE)
#define HLL_ALPHA_INF 0.721347520444481703680 /* 0.5 / ln(2) */
#define HLL_HASH_SEED 0xadc83b19ull

#define SPARSE_XZERO_BIT 0x40
#define SPARSE_VAL_BIT 0x80
#define SPARSE_VAL_MAX_VALUE 32
#define SPARSE_VAL_MAX_LEN 4
#define SPARSE_ZERO_MAX_LEN 64
#define SPARSE_XZERO_MAX_LEN 16384

_Static_assert(HLL_DENSE_SIZE == 12304, "Redis's dense HyperLogLog is 12304 bytes");
_Static_assert(HLL_Q + 1 < 64, "the register histogram has room for every run length");

static bool is_zero(const unsigned char *p)
{
	return (*p & 0xc0) == 0;
}

static bool is_xzero(const unsigned char *p)
{
	return (*p & 0xc0) == SPARSE_XZERO_BIT;
}

static bool is_val(const unsigned char *p)
{
	return (*p & SPARSE_VAL_BIT) != 0;
}

static long zero_len(const unsigned char *p)
{
	return (*p & 0x3f) + 1;
}

static long xzero_len(const unsigned char *p)
{
	return (((long)(*p & 0x3f) << 8) | p[1]) + 1;
}

static int val_value(const unsigned char *p)
{
	return ((*p >> 2) & 0x1f) + 1;
}

static long val_len(const unsigned char *p)
{
	return (*p & 0x3) + 1;
}

static void val_set(unsigned char *p, int val, long len)
{
	ASSERT(val >= 1 && val <= SPARSE_VAL_MAX_VALUE);
	ASSERT(len >= 1 && len <= SPARSE_VAL_MAX_LEN);
	*p = (unsigned char)(((val - 1) << 2 | (len - 1)) | SPARSE_VAL_BIT);
}

static void zero_set(unsigned char *p, long len)
{
	ASSERT(len >= 1 && len <= SPARSE_ZERO_MAX_LEN);
	*p = (unsigned char)(len - 1);
}

static void xzero_set(unsigned char *p, long len)
{
	long l = len - 1;

	ASSERT(len >= 1 && len <= SPARSE_XZERO_MAX_LEN);
	p[0] = (unsigned char)((l >> 8) | SPARSE_XZERO_BIT);
	p[1] = (unsigned char)(l & 0xff);
}

/* ---- dense registers (6 bits each, packed as Redis packs them) ---- */

static uint8_t dense_get(const unsigned char *regs, long r)
{
	unsigned long byte = (unsigned long)r * HLL_BITS / 8, fb = (unsigned long)r * HLL_BITS & 7;
	unsigned long b0 = regs[byte], b1 = byte + 1 < HLL_DENSE_BYTES ? regs[byte + 1] : 0;

	return (uint8_t)(((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX);
}

static void dense_put(unsigned char *regs, long r, uint8_t v)
{
	unsigned long byte = (unsigned long)r * HLL_BITS / 8, fb = (unsigned long)r * HLL_BITS & 7;
	unsigned long fb8 = 8 - fb;

	ASSERT(v <= HLL_REGISTER_MAX);
	regs[byte] = (unsigned char)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | (v << fb));
	if (byte + 1 < HLL_DENSE_BYTES)
		regs[byte + 1] = (unsigned char)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) |
						 (v >> fb8));
}

int hll_dense_set(unsigned char *regs, long index, uint8_t count)
{
	ASSERT(index >= 0 && index < HLL_REGISTERS);
	if (count <= dense_get(regs, index))
		return 0;
	dense_put(regs, index, count);
	return 1;
}

/* ---- header ---- */

void hll_empty(unsigned char *out)
{
	memset(out, 0, HLL_HDR_SIZE);
	memcpy(out, "HYLL", 4);
	out[4] = HLL_SPARSE;
	xzero_set(out + HLL_HDR_SIZE, SPARSE_XZERO_MAX_LEN);
	_Static_assert(HLL_REGISTERS == SPARSE_XZERO_MAX_LEN, "one XZERO covers every register");
}

bool hll_valid_header(const unsigned char *p, size_t len)
{
	if (len < HLL_HDR_SIZE || memcmp(p, "HYLL", 4) != 0 || p[4] > HLL_SPARSE)
		return false;
	return p[4] != HLL_DENSE || len == HLL_DENSE_SIZE;
}

int hll_encoding(const unsigned char *p)
{
	return p[4];
}

bool hll_cache_valid(const unsigned char *p)
{
	return (p[15] & 0x80) == 0;
}

uint64_t hll_cache_get(const unsigned char *p)
{
	uint64_t card = 0;
	int i;

	for (i = 7; i >= 0; i--)
		card = card << 8 | p[8 + i];
	return card;
}

void hll_cache_set(unsigned char *p, uint64_t card)
{
	int i;

	for (i = 0; i < 8; i++)
		p[8 + i] = (unsigned char)(card >> (8 * i));
}

void hll_cache_invalidate(unsigned char *p)
{
	p[15] |= 0x80;
}

/* ---- the hash ---- */

/* Austin Appleby's MurmurHash64A, as Redis uses it (little endian). */
static uint64_t murmur64a(const unsigned char *data, int len, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const int r = 47;
	uint64_t h = seed ^ ((uint64_t)len * m);
	const unsigned char *end = data + (len - (len & 7));

	for (; data != end; data += 8) {
		uint64_t k;
		memcpy(&k, data, 8);
		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
	}
	switch (len & 7) {
	case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
	case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
	case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
	case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
	case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
	case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
	case 1:
		h ^= (uint64_t)data[0];
		h *= m;
		break;
	default: break;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}

void hll_pattern(const char *ele, size_t len, long *index, uint8_t *count)
{
	/* Redis passes the length as an int. */
	uint64_t hash = murmur64a((const unsigned char *)ele, (int)len, HLL_HASH_SEED), bit = 1;
	uint8_t n = 1;

	*index = (long)(hash & HLL_P_MASK);
	hash >>= HLL_P;
	hash |= 1ull << HLL_Q; /* the loop ends, and n <= HLL_Q + 1 */
	while ((hash & bit) == 0) {
		n++;
		bit <<= 1;
	}
	*count = n;
}

/* ---- sparse updates ---- */

/* The opcode that covers register index: *first is the first register it
 * covers, *span how many, *prev the opcode before (or NULL). NULL when the
 * form is corrupt. */
static unsigned char *sparse_find(unsigned char *p, unsigned char *end, long index, long *first,
				  long *span, unsigned char **prev)
{
	*first = 0;
	*span = 0;
	*prev = NULL;
	while (p < end) {
		long oplen = 1;
		if (is_zero(p)) {
			*span = zero_len(p);
		} else if (is_val(p)) {
			*span = val_len(p);
		} else {
			if (p + 1 >= end)
				return NULL; /* an XZERO cut short */
			*span = xzero_len(p);
			oplen = 2;
		}
		if (index <= *first + *span - 1)
			return p;
		*prev = p;
		p += oplen;
		*first += *span;
	}
	return NULL;
}

/* The opcodes that replace the one at p when register index becomes
 * count: written to seq (at most 5 bytes); returns their length. */
static int sparse_split(const unsigned char *p, long first, long span, long index, uint8_t count,
			unsigned char *seq)
{
	long last = first + span - 1, len;
	unsigned char *n = seq;

	if (is_zero(p) || is_xzero(p)) {
		if (index != first) {
			len = index - first;
			if (len > SPARSE_ZERO_MAX_LEN) {
				xzero_set(n, len);
				n += 2;
			} else {
				zero_set(n++, len);
			}
		}
		val_set(n++, count, 1);
		if (index != last) {
			len = last - index;
			if (len > SPARSE_ZERO_MAX_LEN) {
				xzero_set(n, len);
				n += 2;
			} else {
				zero_set(n++, len);
			}
		}
	} else {
		int cur = val_value(p);
		if (index != first)
			val_set(n++, cur, index - first);
		val_set(n++, count, 1);
		if (index != last)
			val_set(n++, cur, last - index);
	}
	return (int)(n - seq);
}

/* Redis's step 4: merges adjacent VALs of equal value, scanning up to five
 * opcodes from from. Returns the new end. */
static unsigned char *sparse_merge(unsigned char *from, unsigned char *end, size_t *len)
{
	unsigned char *p = from;
	int scan = 5;

	while (p < end && scan--) {
		if (is_xzero(p)) {
			p += 2;
			continue;
		}
		if (is_zero(p)) {
			p++;
			continue;
		}
		if (p + 1 < end && is_val(p + 1) && val_value(p) == val_value(p + 1)) {
			long l = val_len(p) + val_len(p + 1);
			if (l <= SPARSE_VAL_MAX_LEN) {
				val_set(p + 1, val_value(p), l);
				memmove(p, p + 1, (size_t)(end - p));
				(*len)--;
				end--;
				continue; /* the merged one may merge again */
			}
		}
		p++;
	}
	return end;
}

int hll_sparse_set(unsigned char *p, size_t *len, size_t sparse_max, long index, uint8_t count)
{
	unsigned char *sparse = p + HLL_HDR_SIZE, *end = p + *len, *op, *prev, *next, seq[5];
	long first, span;
	int seqlen, oldlen, delta;

	ASSERT(index >= 0 && index < HLL_REGISTERS);
	if (count > SPARSE_VAL_MAX_VALUE)
		return 2;
	op = sparse_find(sparse, end, index, &first, &span, &prev);
	if (op == NULL || span == 0)
		return -1;
	if (is_val(op)) {
		if (val_value(op) >= count)
			return 0;
		if (val_len(op) == 1) {
			val_set(op, count, 1);
			goto updated;
		}
	} else if (is_zero(op) && zero_len(op) == 1) {
		val_set(op, count, 1);
		goto updated;
	}
	next = is_xzero(op) ? op + 2 : op + 1;
	seqlen = sparse_split(op, first, span, index, count, seq);
	oldlen = is_xzero(op) ? 2 : 1;
	delta = seqlen - oldlen;
	if (delta > 0 && *len + (size_t)delta > sparse_max)
		return 2;
	if (delta != 0 && next < end)
		memmove(next + delta, next, (size_t)(end - next));
	*len = (size_t)((long)*len + delta);
	end += delta;
	memcpy(op, seq, (size_t)seqlen);
updated:
	sparse_merge(prev != NULL ? prev : sparse, end, len);
	hll_cache_invalidate(p);
	return 1;
}

bool hll_to_dense(const unsigned char *p, size_t len, unsigned char *dense)
{
	const unsigned char *end = p + len, *q = p + HLL_HDR_SIZE;
	long idx = 0;

	memset(dense, 0, HLL_DENSE_SIZE + 1);
	memcpy(dense, p, HLL_HDR_SIZE); /* the magic and the cached count */
	dense[4] = HLL_DENSE;
	while (q < end) {
		if (is_zero(q)) {
			idx += zero_len(q++);
		} else if (is_xzero(q)) {
			if (q + 1 >= end)
				return false;
			idx += xzero_len(q);
			q += 2;
		} else {
			long run = val_len(q);
			int v = val_value(q++);
			if (run + idx > HLL_REGISTERS)
				return false;
			while (run--)
				dense_put(dense + HLL_HDR_SIZE, idx++, (uint8_t)v);
		}
	}
	return idx == HLL_REGISTERS;
}

/* ---- merging and counting ---- */

bool hll_merge(uint8_t *max, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *q = p + HLL_HDR_SIZE;
	long i = 0;

	if (hll_encoding(p) == HLL_DENSE) {
		for (i = 0; i < HLL_REGISTERS; i++) {
			uint8_t v = dense_get(p + HLL_HDR_SIZE, i);
			max[i] = v > max[i] ? v : max[i];
		}
		return true;
	}
	while (q < end) {
		if (is_zero(q)) {
			i += zero_len(q++);
		} else if (is_xzero(q)) {
			if (q + 1 >= end)
				return false;
			i += xzero_len(q);
			q += 2;
		} else {
			long run = val_len(q);
			int v = val_value(q++);
			if (run + i > HLL_REGISTERS)
				return false;
			for (; run > 0; run--, i++)
				max[i] = v > max[i] ? (uint8_t)v : max[i];
		}
	}
	return i == HLL_REGISTERS;
}

static double hll_sigma(double x)
{
	double zp, y = 1, z = x;

	if (x == 1.)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (zp != z);
	return z;
}

static double hll_tau(double x)
{
	double zp, y = 1.0, z = 1 - x;

	if (x == 0. || x == 1.)
		return 0.;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= pow(1 - x, 2) * y;
	} while (zp != z);
	return z / 3;
}

/* Ertl's estimator over the histogram of register values, as Redis. */
static uint64_t estimate(const int *histo)
{
	double m = HLL_REGISTERS, z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
	int j;

	for (j = HLL_Q; j >= 1; --j) {
		z += histo[j];
		z *= 0.5;
	}
	z += m * hll_sigma(histo[0] / m);
	return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static bool sparse_histo(const unsigned char *q, const unsigned char *end, int *histo)
{
	long idx = 0;

	while (q < end) {
		long run;
		if (is_zero(q)) {
			run = zero_len(q++);
			histo[0] += (int)run;
		} else if (is_xzero(q)) {
			if (q + 1 >= end)
				return false;
			run = xzero_len(q);
			q += 2;
			histo[0] += (int)run;
		} else {
			run = val_len(q);
			histo[val_value(q++)] += (int)run;
		}
		idx += run;
		if (idx > HLL_REGISTERS)
			return false; /* before a count can overflow */
	}
	return idx == HLL_REGISTERS;
}

uint64_t hll_count(const unsigned char *p, size_t len, bool *invalid)
{
	int histo[64] = { 0 };
	long i;

	if (hll_encoding(p) == HLL_DENSE) {
		for (i = 0; i < HLL_REGISTERS; i++)
			histo[dense_get(p + HLL_HDR_SIZE, i)]++;
	} else if (!sparse_histo(p + HLL_HDR_SIZE, p + len, histo)) {
		*invalid = true;
	}
	return estimate(histo);
}

uint64_t hll_count_raw(const uint8_t *regs)
{
	int histo[64] = { 0 };
	long i;

	for (i = 0; i < HLL_REGISTERS; i++)
		histo[regs[i] & 63]++;
	return estimate(histo);
}
