/* hist.c: see hist.h. The index arithmetic is HdrHistogram's with a unit
 * magnitude of 0 and a sub-bucket count of 256. */
#include "base/hist.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

static unsigned bucket_of(uint64_t v)
{
	return (unsigned)(64 - __builtin_clzll(v | 255)) - 8;
}

/* The lowest value counted at index i. */
static uint64_t value_at(unsigned i)
{
	int b = (int)(i >> 7) - 1;
	uint64_t sub = (i & (HIST_HALF - 1)) + HIST_HALF;

	if (b < 0) {
		sub -= HIST_HALF;
		b = 0;
	}
	return sub << b;
}

/* The highest value equivalent to v (counted at the same index). */
static uint64_t highest_equivalent(uint64_t v)
{
	unsigned b = bucket_of(v);

	return ((v >> b) << b) + (1ull << b) - 1;
}

static uint64_t count_at(const struct hist *h, unsigned i)
{
	const uint64_t *row = h->rows[i / HIST_HALF];

	return row != NULL ? row[i % HIST_HALF] : 0;
}

uint64_t *hist_row_new(struct mem *m, struct hist *h, unsigned r)
{
	ASSERT(r < HIST_ROWS);
	ASSERT(h->rows[r] == NULL);
	h->rows[r] = mem_calloc(m, HIST_HALF * sizeof(uint64_t));
	return h->rows[r];
}

static uint64_t *row_of(struct mem *m, struct hist *h, unsigned r)
{
	return h->rows[r] != NULL ? h->rows[r] : hist_row_new(m, h, r);
}

void hist_add(struct mem *m, struct hist *dst, const struct hist *src)
{
	unsigned r, k;

	for (r = 0; r < HIST_ROWS; r++) {
		uint64_t *d;
		if (src->rows[r] == NULL)
			continue;
		d = row_of(m, dst, r);
		for (k = 0; k < HIST_HALF; k++)
			d[k] += src->rows[r][k];
	}
	dst->total += src->total;
}

void hist_clear(struct mem *m, struct hist *h)
{
	unsigned r;

	for (r = 0; r < HIST_ROWS; r++)
		mem_free(m, h->rows[r]);
	memset(h, 0, sizeof(*h));
}

/* HdrHistogram answers the lowest equivalent value for percentile 0. */
uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->total == 0)
		return 0;
	want = (uint64_t)((p < 100 ? p : 100) / 100 * (double)h->total + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_LEN; i++) {
		seen += count_at(h, i);
		if (seen >= want)
			return p == 0 ? value_at(i) : highest_equivalent(value_at(i));
	}
	ASSERT_NOT_REACHED("hist: counts short of the total");
	return 0;
}

uint64_t hist_count_upto(const struct hist *h, uint64_t v)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < HIST_LEN && value_at(i) <= v; i++)
		n += count_at(h, i);
	return n;
}
