/* intset.c: Redis 7.0's intset, written for cairn. See intset.h.
 *
 * The bytes are little endian whatever the host, read and written one byte
 * at a time, so an intset is the same blob on every machine (Redis's
 * intrev32ifbe/memrev64ifbe). Lookups are binary searches; an insertion or
 * a removal moves the tail and resizes the allocation to the exact size,
 * in Redis's order (grow before the move, shrink after it). */
#include "data/intset.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

/* Where the header's fields lie. */
#define INTSET_WIDTH_OFF 0
#define INTSET_COUNT_OFF 4

static unsigned char *bytes_of(struct intset *is)
{
	return (unsigned char *)is;
}

static const unsigned char *cbytes_of(const struct intset *is)
{
	return (const unsigned char *)is;
}

static uint64_t get_le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* The element of width w at p, sign-extended. */
static int64_t get_elem(const unsigned char *p, unsigned w)
{
	uint64_t u = get_le(p, w);

	if (w == INTSET_W16)
		return (int16_t)(uint16_t)u;
	if (w == INTSET_W32)
		return (int32_t)(uint32_t)u;
	return (int64_t)u;
}

unsigned intset_width(const struct intset *is)
{
	return (unsigned)get_le(cbytes_of(is) + INTSET_WIDTH_OFF, 4);
}

uint32_t intset_len(const struct intset *is)
{
	return (uint32_t)get_le(cbytes_of(is) + INTSET_COUNT_OFF, 4);
}

static void set_header(unsigned char *p, unsigned w, uint32_t n)
{
	put_le(p + INTSET_WIDTH_OFF, w, 4);
	put_le(p + INTSET_COUNT_OFF, n, 4);
}

size_t intset_bytes(const struct intset *is)
{
	return INTSET_HDR_SIZE + (size_t)intset_len(is) * intset_width(is);
}

unsigned intset_width_of(int64_t v)
{
	if (v < INT32_MIN || v > INT32_MAX)
		return INTSET_W64;
	if (v < INT16_MIN || v > INT16_MAX)
		return INTSET_W32;
	return INTSET_W16;
}

int64_t intset_get(const struct intset *is, uint32_t pos)
{
	unsigned w = intset_width(is);

	ASSERT(pos < intset_len(is));
	return get_elem(cbytes_of(is) + INTSET_HDR_SIZE + (size_t)pos * w, w);
}

int64_t intset_min(const struct intset *is)
{
	return intset_get(is, 0);
}

int64_t intset_max(const struct intset *is)
{
	return intset_get(is, intset_len(is) - 1);
}

struct intset *intset_new(struct mem *mem)
{
	unsigned char *p = mem_alloc(mem, INTSET_HDR_SIZE);

	set_header(p, INTSET_W16, 0);
	return (struct intset *)p;
}

void intset_free(struct mem *mem, struct intset *is)
{
	mem_free(mem, is);
}

bool intset_find(const struct intset *is, int64_t v, uint32_t *pos)
{
	uint32_t n = intset_len(is), lo = 0, hi = n;
	uint32_t dummy;

	if (pos == NULL)
		pos = &dummy;
	/* Past either end (a value wider than the width always is): not
	 * there, as Redis's intsetSearch short-cuts the ends. */
	if (n == 0 || v < intset_min(is)) {
		*pos = 0;
		return false;
	}
	if (v > intset_max(is)) {
		*pos = n;
		return false;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int64_t cur = intset_get(is, mid);
		if (cur == v) {
			*pos = mid;
			return true;
		}
		if (cur < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* Resizes to n elements of width w (the header is the caller's). */
static unsigned char *resize(struct mem *mem, unsigned char *p, uint32_t n, unsigned w)
{
	return mem_realloc(mem, p, INTSET_HDR_SIZE + (size_t)n * w);
}

/* Adds v, which needs a wider width than is's: every element is rewritten
 * wider, from the end, and v goes first (it is smaller than all) or last. */
static struct intset *upgrade_add(struct mem *mem, struct intset *is, int64_t v)
{
	unsigned ow = intset_width(is), nw = intset_width_of(v);
	uint32_t n = intset_len(is), i;
	bool first = v < 0;
	unsigned char *p = resize(mem, bytes_of(is), n + 1, nw);
	unsigned char *data = p + INTSET_HDR_SIZE;

	ASSERT(nw > ow);
	for (i = n; i-- > 0;) {
		int64_t x = get_elem(data + (size_t)i * ow, ow);
		put_le(data + (size_t)(i + (first ? 1 : 0)) * nw, (uint64_t)x, nw);
	}
	put_le(data + (size_t)(first ? 0 : n) * nw, (uint64_t)v, nw);
	set_header(p, nw, n + 1);
	return (struct intset *)p;
}

struct intset *intset_add(struct mem *mem, struct intset *is, int64_t v, bool *added)
{
	uint32_t n = intset_len(is), pos;
	unsigned w = intset_width(is);
	unsigned char *p, *at;

	ASSERT(n < UINT32_MAX);
	*added = true;
	if (intset_width_of(v) > w)
		return upgrade_add(mem, is, v);
	if (intset_find(is, v, &pos)) {
		*added = false;
		return is;
	}
	p = resize(mem, bytes_of(is), n + 1, w);
	at = p + INTSET_HDR_SIZE + (size_t)pos * w;
	memmove(at + w, at, (size_t)(n - pos) * w);
	put_le(at, (uint64_t)v, w);
	set_header(p, w, n + 1);
	return (struct intset *)p;
}

struct intset *intset_remove(struct mem *mem, struct intset *is, int64_t v, bool *removed)
{
	uint32_t n = intset_len(is), pos;
	unsigned w = intset_width(is);
	unsigned char *p = bytes_of(is), *at;

	*removed = intset_find(is, v, &pos);
	if (!*removed)
		return is;
	at = p + INTSET_HDR_SIZE + (size_t)pos * w;
	memmove(at, at + w, (size_t)(n - pos - 1) * w);
	set_header(p, w, n - 1);
	return (struct intset *)resize(mem, p, n - 1, w);
}

bool intset_valid(const void *p, size_t bytes, bool deep)
{
	const unsigned char *b = p;
	uint64_t w, n, i;
	int64_t prev = 0;

	if (bytes < INTSET_HDR_SIZE)
		return false;
	w = get_le(b + INTSET_WIDTH_OFF, 4);
	n = get_le(b + INTSET_COUNT_OFF, 4);
	if (w != INTSET_W16 && w != INTSET_W32 && w != INTSET_W64)
		return false;
	if (INTSET_HDR_SIZE + n * w != bytes || n == 0)
		return false;
	if (!deep)
		return true;
	for (i = 0; i < n; i++) {
		int64_t x = get_elem(b + INTSET_HDR_SIZE + i * w, (unsigned)w);
		if (i > 0 && x <= prev)
			return false;
		prev = x;
	}
	return true;
}
