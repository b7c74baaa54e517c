/* model_univ.c: the universe of names that set members and list elements
 * are drawn from.
 *
 * Every member or element the workload sends is one of MODEL_UNIVERSE
 * fixed names, so a set's state is a bitmap over the universe, a list's an
 * array of indexes into it, and a reply's bulks map back to it (a name
 * outside it is a reply no state explains). The classes are the ones the
 * node stores differently: short names that collide all the time, integers
 * at the edges of an intset's and a listpack's integer encodings, texts
 * that look like integers but are not to Redis, strings about and past
 * the listpack value limits, and pools of integers and strings that big
 * writes draw hundreds from. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* Names of no other class: short ones that collide all the time, an empty
 * one, a binary one, and texts that look like integers but are not to
 * Redis (so they never go in an intset), two of them just past 64 bits. */
static const struct {
	const char *p;
	size_t len;
} narrow[] = {
	{ "a", 1 },
	{ "b", 1 },
	{ "c", 1 },
	{ "member", 6 },
	{ "x y", 3 },
	{ "", 0 },
	{ "nul\0byte", 8 },
	{ "007", 3 },
	{ "+5", 2 },
	{ "-0", 2 },
	{ " 3", 2 },
	{ "1.5", 3 },
	{ "9223372036854775808", 19 },
	{ "-9223372036854775809", 20 },
};
_Static_assert(sizeof(narrow) / sizeof(narrow[0]) == MU_N_NARROW, "MU_N_NARROW");

/* Integers at the edges of the 16-, 32- and 64-bit encodings. */
static const long long edges[] = {
	127,       -128,         32767,         32768,         -32768,        -32769,
	65536,     2147483647LL, 2147483648LL,  -2147483648LL, -2147483649LL, 4294967296LL,
	LLONG_MAX, LLONG_MIN,    LLONG_MAX - 1, LLONG_MIN + 1,
};
_Static_assert(sizeof(edges) / sizeof(edges[0]) == MU_N_EDGE, "MU_N_EDGE");

/* The pools' integers: 16-bit ones from POOL_INT16, then 32-bit ones from
 * POOL_INT32. */
#define POOL_INT16 1000
#define POOL_INT32 100000

static long long pool_int(unsigned j)
{
	return j < MU_N_POOL / 2 ? POOL_INT16 + (long long)j : POOL_INT32 + (long long)j;
}

/* A name of `len` bytes: the class's letter and number, then padding. */
static size_t padded(char *buf, char c, unsigned j, size_t len, char pad)
{
	int n = snprintf(buf, MODEL_NAME_MAX, "%c%u:", c, j);

	ASSERT(n > 0 && (size_t)n <= len && len <= MODEL_NAME_MAX);
	memset(buf + n, pad, len - (size_t)n);
	return len;
}

size_t mu_name(unsigned i, char *buf)
{
	ASSERT(i < U_END);
	if (i < U_SMALL) {
		if (narrow[i].len > 0)
			memcpy(buf, narrow[i].p, narrow[i].len);
		return narrow[i].len;
	}
	if (i < U_EDGE)
		return (size_t)snprintf(buf, MODEL_NAME_MAX, "%d",
					(int)(i - U_SMALL) + MU_SMALL_MIN);
	if (i < U_MED)
		return (size_t)snprintf(buf, MODEL_NAME_MAX, "%lld", edges[i - U_EDGE]);
	if (i < U_LONG)
		return padded(buf, 'M', i - U_MED, 10 + 8 * (i - U_MED), 'y');
	if (i < U_IPOOL)
		return padded(buf, 'L', i - U_LONG, 65 + 20 * (i - U_LONG), 'z');
	if (i < U_SPOOL)
		return (size_t)snprintf(buf, MODEL_NAME_MAX, "%lld", pool_int(i - U_IPOOL));
	return (size_t)snprintf(buf, MODEL_NAME_MAX, "s%u", i - U_SPOOL);
}

static int int_index(long long v)
{
	unsigned j;

	if (v >= MU_SMALL_MIN && v < MU_SMALL_MIN + MU_N_SMALL)
		return U_SMALL + (int)(v - MU_SMALL_MIN);
	for (j = 0; j < MU_N_EDGE; j++)
		if (edges[j] == v)
			return (int)(U_EDGE + j);
	if (v >= POOL_INT16 && v < POOL_INT16 + MU_N_POOL / 2)
		return U_IPOOL + (int)(v - POOL_INT16);
	if (v >= POOL_INT32 + MU_N_POOL / 2 && v < POOL_INT32 + MU_N_POOL)
		return U_IPOOL + (int)(v - POOL_INT32);
	return -1;
}

int mu_index(const char *p, size_t len)
{
	char buf[MODEL_NAME_MAX];
	long long v;
	unsigned j = 0, i;
	size_t k = 1;

	if (model_str2ll(p, len, &v))
		return int_index(v);
	if (len >= 2 && (p[0] == 'M' || p[0] == 'L' || p[0] == 's') && p[1] >= '0' && p[1] <= '9') {
		while (k < len && k < 6 && p[k] >= '0' && p[k] <= '9')
			j = j * 10 + (unsigned)(p[k++] - '0');
		i = p[0] == 'M'   ? (j < MU_N_MED ? U_MED + j : U_END)
		    : p[0] == 'L' ? (j < MU_N_LONG ? U_LONG + j : U_END)
				  : (j < MU_N_POOL ? U_SPOOL + j : U_END);
		if (i < U_END && mu_name(i, buf) == len && memcmp(buf, p, len) == 0)
			return (int)i;
		return -1;
	}
	for (j = 0; j < MU_N_NARROW; j++)
		if (narrow[j].len == len && (len == 0 || memcmp(narrow[j].p, p, len) == 0))
			return (int)j;
	return -1;
}

unsigned mu_member(struct rng *r, bool ints)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	if (ints && rng_chance(r, 0.95))
		return roll < 60   ? U_SMALL + (unsigned)rng_below(r, MU_N_SMALL)
		       : roll < 80 ? U_EDGE + (unsigned)rng_below(r, MU_N_EDGE)
				   : U_IPOOL + (unsigned)rng_below(r, MU_N_POOL);
	return roll < 30   ? U_NARROW + (unsigned)rng_below(r, MU_N_NARROW)
	       : roll < 55 ? U_SMALL + (unsigned)rng_below(r, MU_N_SMALL)
	       : roll < 65 ? U_EDGE + (unsigned)rng_below(r, MU_N_EDGE)
	       : roll < 77 ? U_MED + (unsigned)rng_below(r, MU_N_MED)
	       : roll < 85 ? U_LONG + (unsigned)rng_below(r, MU_N_LONG)
	       : roll < 93 ? U_IPOOL + (unsigned)rng_below(r, MU_N_POOL)
			   : U_SPOOL + (unsigned)rng_below(r, MU_N_POOL);
}

/* The hot elements: few enough that LREM, LPOS and LINSERT find theirs. */
#define HOT_SMALL 12

unsigned mu_element(struct rng *r)
{
	unsigned roll = (unsigned)rng_below(r, 100);

	return roll < 35   ? U_NARROW + (unsigned)rng_below(r, 6)
	       : roll < 60 ? U_SMALL - MU_SMALL_MIN + (unsigned)rng_below(r, HOT_SMALL)
	       : roll < 66 ? U_NARROW + (unsigned)rng_below(r, MU_N_NARROW)
	       : roll < 72 ? U_EDGE + (unsigned)rng_below(r, MU_N_EDGE)
	       : roll < 84 ? U_MED + (unsigned)rng_below(r, MU_N_MED)
	       : roll < 94 ? U_LONG + (unsigned)rng_below(r, MU_N_LONG)
			   : U_IPOOL + (unsigned)rng_below(r, MU_N_POOL);
}

/* ---- the order of names ---- */

/* Each name's place in the order of bytes, built on first use (the same
 * in every run: the universe is fixed). */
static uint16_t lex_rank[U_END];
static bool lex_built;
static char (*lex_names)[MODEL_NAME_MAX];
static size_t lex_lens[U_END];

static int lex_by_name(const void *a, const void *b)
{
	unsigned i = *(const uint16_t *)a, j = *(const uint16_t *)b;
	size_t n = lex_lens[i] < lex_lens[j] ? lex_lens[i] : lex_lens[j];
	int c = n > 0 ? memcmp(lex_names[i], lex_names[j], n) : 0;

	if (c != 0)
		return c;
	return lex_lens[i] < lex_lens[j] ? -1 : lex_lens[i] > lex_lens[j];
}

static void lex_build(void)
{
	uint16_t order[U_END];
	unsigned i;

	lex_names = sim_calloc(sizeof(*lex_names) * U_END);
	for (i = 0; i < U_END; i++) {
		lex_lens[i] = mu_name(i, lex_names[i]);
		order[i] = (uint16_t)i;
	}
	qsort(order, U_END, sizeof(order[0]), lex_by_name);
	for (i = 0; i < U_END; i++) {
		ASSERT(i == 0 || lex_by_name(&order[i - 1], &order[i]) < 0);
		lex_rank[order[i]] = (uint16_t)i;
	}
	free(lex_names);
	lex_names = NULL;
	lex_built = true;
}

int mu_cmp(unsigned i, unsigned j)
{
	ASSERT(i < U_END && j < U_END);
	if (!lex_built)
		lex_build();
	return (int)lex_rank[i] - (int)lex_rank[j];
}
