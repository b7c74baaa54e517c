/* hist.h: a latency histogram of Redis's kind, for LATENCY HISTOGRAM and
 * INFO latencystats: an HdrHistogram of 2 significant figures over 1 ns to
 * 1 s (larger values count as 1 s), with HdrHistogram's bucket layout, so
 * that percentiles and bucket bounds come out as Redis's do.
 *
 * 256 exact counts below 256 ns, then for each power of two a row of 128
 * counts at twice the previous resolution: a value is known to within
 * 1/128 of itself. A row (1 KB) is allocated, from the caller's account,
 * when a value first lands in it: a command's latencies span a few powers
 * of two, so it takes a few KB where the whole layout would take 24. */
#ifndef CAIRN_HIST_H
#define CAIRN_HIST_H

#include <stddef.h>
#include <stdint.h>

struct mem;

#define HIST_HALF 128
#define HIST_BUCKETS 23 /* 256 << 22 > 1e9 */
#define HIST_ROWS (HIST_BUCKETS + 1)
#define HIST_LEN (HIST_ROWS * HIST_HALF)
#define HIST_MAX 1000000000ull

struct hist {
	uint64_t total;
	uint64_t *rows[HIST_ROWS]; /* HIST_HALF counts each, or NULL: none */
};

/* Allocates row r (hist_record's first value there). */
uint64_t *hist_row_new(struct mem *m, struct hist *h, unsigned r);

/* Counts v: inline, since every command's latency goes through it. */
static inline void hist_record(struct mem *m, struct hist *h, uint64_t v)
{
	unsigned b, i;
	uint64_t *row;

	if (v > HIST_MAX)
		v = HIST_MAX;
	b = (unsigned)(64 - __builtin_clzll(v | 255)) - 8; /* HdrHistogram's bucket */
	i = ((b + 1) << 7) + (unsigned)((v >> b) - HIST_HALF);
	row = h->rows[i / HIST_HALF];
	if (__builtin_expect(row == NULL, 0))
		row = hist_row_new(m, h, i / HIST_HALF);
	row[i % HIST_HALF]++;
	h->total++;
}
/* Adds src's counts to dst's. */
void hist_add(struct mem *m, struct hist *dst, const struct hist *src);
/* Frees the rows: an empty histogram. */
void hist_clear(struct mem *m, struct hist *h);
/* The value at percentile p (0 to 100), as HdrHistogram answers it: the
 * highest value equivalent to the one the count reaches (the lowest for
 * percentile 0); 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);
/* How many recorded values are at most v. */
uint64_t hist_count_upto(const struct hist *h, uint64_t v);

#endif
