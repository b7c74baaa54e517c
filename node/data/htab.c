/* htab.c: a hash table of byte strings with incremental rehashing. See
 * htab.h.
 *
 * The same algorithms as dict.c (expand at load factor 1, shrink under 10%
 * fill, one bucket per operation while rehashing, reverse-binary scan), for
 * entries that hold only the chain link and the member: a member's hash is
 * computed from its bytes whenever it is needed. */
#include "data/htab.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"

/* Random bucket probes before htab_random walks to the next entry. */
#define HTAB_RANDOM_TRIES 1000
/* A length below this takes one byte; from it on, the byte is this and
 * four bytes of length follow. */
#define HTAB_LEN_LONG 255
#define HTAB_LEN_LONG_BYTES 5

struct htab_ent {
	struct htab_ent *next;
	unsigned char data[];
};

/* ---- entries ---- */

const char *htab_ent_str(const struct htab_ent *e, size_t *len)
{
	const unsigned char *d = e->data;

	if (d[0] < HTAB_LEN_LONG) {
		*len = d[0];
		return (const char *)d + 1;
	}
	*len = (size_t)d[1] | (size_t)d[2] << 8 | (size_t)d[3] << 16 | (size_t)d[4] << 24;
	return (const char *)d + HTAB_LEN_LONG_BYTES;
}

static struct htab_ent *ent_new(struct htab *h, const char *s, size_t len)
{
	size_t hdr = len < HTAB_LEN_LONG ? 1 : HTAB_LEN_LONG_BYTES;
	struct htab_ent *e;

	ASSERT(len <= UINT32_MAX);
	e = mem_alloc(h->mem, sizeof(*e) + hdr + len);
	e->next = NULL;
	if (hdr == 1) {
		e->data[0] = (unsigned char)len;
	} else {
		e->data[0] = HTAB_LEN_LONG;
		e->data[1] = (unsigned char)(len & 0xff);
		e->data[2] = (unsigned char)((len >> 8) & 0xff);
		e->data[3] = (unsigned char)((len >> 16) & 0xff);
		e->data[4] = (unsigned char)((len >> 24) & 0xff);
	}
	memcpy(e->data + hdr, s, len);
	h->bytes += mem_size(e);
	return e;
}

static void ent_free(struct htab *h, struct htab_ent *e)
{
	size_t n = mem_size(e);

	ASSERT(h->bytes >= n);
	h->bytes -= n;
	mem_free(h->mem, e);
}

static bool ent_eq(const struct htab_ent *e, const char *s, size_t len)
{
	size_t elen;
	const char *p = htab_ent_str(e, &elen);

	return elen == len && memcmp(p, s, len) == 0;
}

static uint64_t str_hash(const struct htab *h, const char *s, size_t len)
{
	return hash_bytes(s, len, h->seed);
}

static uint64_t ent_hash(const struct htab *h, const struct htab_ent *e)
{
	size_t len;
	const char *s = htab_ent_str(e, &len);

	return str_hash(h, s, len);
}

/* ---- tables ---- */

void htab_init(struct htab *h, struct mem *mem, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	h->rehash = -1;
	h->mem = mem;
	h->seed = seed;
}

uint64_t htab_size(const struct htab *h)
{
	return h->used[0] + h->used[1];
}

static bool rehashing(const struct htab *h)
{
	return h->rehash >= 0;
}

static uint64_t next_pow2(uint64_t n)
{
	uint64_t s = DICT_SIZE_MIN;

	while (s < n)
		s <<= 1;
	return s;
}

/* Allocates a table of the size for n members and starts moving into it. */
static void resize(struct htab *h, uint64_t n)
{
	uint64_t size = next_pow2(n);

	ASSERT(!rehashing(h));
	if (size == h->size[0])
		return;
	if (h->t[0] == NULL) {
		h->t[0] = mem_calloc(h->mem, size * sizeof(struct htab_ent *));
		h->size[0] = size;
		return;
	}
	h->t[1] = mem_calloc(h->mem, size * sizeof(struct htab_ent *));
	h->size[1] = size;
	h->used[1] = 0;
	h->rehash = 0;
}

void htab_expand(struct htab *h, uint64_t n)
{
	ASSERT(htab_size(h) == 0 && h->t[0] == NULL);
	resize(h, n);
}

/* Moves up to n buckets into the new table. */
static void rehash_step(struct htab *h, unsigned n)
{
	unsigned empty_max = n * DICT_REHASH_EMPTY_VISITS;

	while (n-- > 0 && h->used[0] != 0) {
		struct htab_ent *e, *next;
		ASSERT((uint64_t)h->rehash < h->size[0]);
		while (h->t[0][h->rehash] == NULL) {
			h->rehash++;
			if (--empty_max == 0)
				return;
		}
		for (e = h->t[0][h->rehash]; e != NULL; e = next) {
			uint64_t i = ent_hash(h, e) & (h->size[1] - 1);
			next = e->next;
			e->next = h->t[1][i];
			h->t[1][i] = e;
			h->used[0]--;
			h->used[1]++;
		}
		h->t[0][h->rehash] = NULL;
		h->rehash++;
	}
	if (h->used[0] == 0) {
		mem_free(h->mem, h->t[0]);
		h->t[0] = h->t[1];
		h->size[0] = h->size[1];
		h->used[0] = h->used[1];
		h->t[1] = NULL;
		h->size[1] = h->used[1] = 0;
		h->rehash = -1;
	}
}

/* The link that holds s (bucket slot or previous entry's next), or NULL;
 * *table says which table. */
static struct htab_ent **find_link(struct htab *h, const char *s, size_t len, int *table)
{
	uint64_t hv;
	int t;

	if (htab_size(h) == 0)
		return NULL;
	if (rehashing(h))
		rehash_step(h, DICT_REHASH_STEP);
	hv = str_hash(h, s, len);
	for (t = 0; t <= 1; t++) {
		struct htab_ent **link;
		if (h->size[t] == 0)
			break;
		for (link = &h->t[t][hv & (h->size[t] - 1)]; *link != NULL; link = &(*link)->next) {
			if (ent_eq(*link, s, len)) {
				*table = t;
				return link;
			}
		}
		if (!rehashing(h))
			break;
	}
	return NULL;
}

bool htab_find(struct htab *h, const char *s, size_t len)
{
	int table;

	return find_link(h, s, len, &table) != NULL;
}

bool htab_add(struct htab *h, const char *s, size_t len)
{
	struct htab_ent *e;
	uint64_t i;
	int t;

	if (find_link(h, s, len, &t) != NULL)
		return false;
	if (!rehashing(h) && (h->size[0] == 0 || h->used[0] >= h->size[0]))
		resize(h, h->used[0] + 1);
	t = rehashing(h) ? 1 : 0;
	e = ent_new(h, s, len);
	i = str_hash(h, s, len) & (h->size[t] - 1);
	e->next = h->t[t][i];
	h->t[t][i] = e;
	h->used[t]++;
	return true;
}

/* Starts a shrink when under 10% full (Redis's htNeedsResize then
 * dictResize); an empty table gives its buckets back. */
static void try_shrink(struct htab *h)
{
	uint64_t n = h->used[0];

	if (rehashing(h) || h->size[0] <= DICT_SIZE_MIN)
		return;
	if (n * 100 / h->size[0] >= 10)
		return;
	if (n == 0) {
		mem_free(h->mem, h->t[0]);
		h->t[0] = NULL;
		h->size[0] = 0;
		return;
	}
	resize(h, n);
}

bool htab_remove(struct htab *h, const char *s, size_t len)
{
	int t;
	struct htab_ent **link = find_link(h, s, len, &t), *e;

	if (link == NULL)
		return false;
	e = *link;
	*link = e->next;
	ASSERT(h->used[t] > 0);
	h->used[t]--;
	ent_free(h, e);
	try_shrink(h);
	return true;
}

void htab_free(struct htab *h)
{
	struct mem *mem = h->mem;
	uint64_t seed = h->seed, i;
	int t;

	for (t = 0; t <= 1; t++) {
		for (i = 0; i < h->size[t]; i++) {
			struct htab_ent *e = h->t[t][i], *next;
			for (; e != NULL; e = next) {
				next = e->next;
				ent_free(h, e);
			}
		}
		mem_free(mem, h->t[t]);
	}
	ASSERT(h->bytes == 0);
	htab_init(h, mem, seed);
}

bool htab_free_some(struct htab *h, unsigned *budget)
{
	int t = h->size[1] > 0 ? 1 : 0;

	/* The last bucket goes first and the table's size shrinks behind it,
	 * so the size itself is the cursor. */
	while (*budget > 0 && h->size[t] > 0) {
		struct htab_ent *e = h->t[t][--h->size[t]], *next;
		unsigned k = 0;
		for (; e != NULL; e = next, k++) {
			next = e->next;
			ent_free(h, e);
		}
		k = k ? k : 1;
		*budget = k >= *budget ? 0 : *budget - k;
		if (h->size[t] == 0 && t == 1)
			t = 0;
	}
	if (h->size[0] > 0 || h->size[1] > 0)
		return false;
	ASSERT(h->bytes == 0);
	mem_free(h->mem, h->t[0]);
	mem_free(h->mem, h->t[1]);
	htab_init(h, h->mem, h->seed);
	return true;
}

/* ---- random, scan, iteration ---- */

/* The first entry at or after a random bucket, wrapping: the fallback for a
 * sparse table, so a random pick is bounded even then. */
static const struct htab_ent *first_from(const struct htab *h, uint64_t r)
{
	uint64_t k, i;
	int t;

	for (t = 0; t <= 1; t++) {
		for (k = 0; k < h->size[t]; k++) {
			i = (r + k) & (h->size[t] - 1);
			if (h->t[t][i] != NULL)
				return h->t[t][i];
		}
	}
	ASSERT_NOT_REACHED("htab: no entry in a non-empty table");
	return NULL;
}

const struct htab_ent *htab_random(struct htab *h, uint64_t (*rnd)(void *), void *rarg)
{
	const struct htab_ent *head = NULL, *e;
	unsigned tries = 0;
	uint64_t len, i;

	ASSERT(htab_size(h) > 0);
	if (rehashing(h))
		rehash_step(h, DICT_REHASH_STEP);
	/* While rehashing, t[0]'s moved buckets are empty and skipped. */
	while (head == NULL) {
		if (++tries > HTAB_RANDOM_TRIES)
			return first_from(h, rnd(rarg));
		if (rehashing(h)) {
			uint64_t span = h->size[0] + h->size[1] - (uint64_t)h->rehash;
			i = (uint64_t)h->rehash + rnd(rarg) % span;
			head = i >= h->size[0] ? h->t[1][i - h->size[0]] : h->t[0][i];
		} else {
			head = h->t[0][rnd(rarg) & (h->size[0] - 1)];
		}
	}
	for (len = 0, e = head; e != NULL; e = e->next)
		len++;
	for (i = rnd(rarg) % len, e = head; i > 0; i--)
		e = e->next;
	return e;
}

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

static void scan_bucket(const struct htab_ent *e, htab_fn fn, void *arg)
{
	for (; e != NULL; e = e->next) {
		size_t len;
		const char *s = htab_ent_str(e, &len);
		fn(arg, s, len);
	}
}

uint64_t htab_scan(struct htab *h, uint64_t v, htab_fn fn, void *arg)
{
	uint64_t m0, m1;
	int t0, t1;

	if (htab_size(h) == 0)
		return 0;
	if (!rehashing(h)) {
		m0 = h->size[0] - 1;
		scan_bucket(h->t[0][v & m0], fn, arg);
		v |= ~m0;
		return rev64(rev64(v) + 1);
	}
	t0 = h->size[0] <= h->size[1] ? 0 : 1;
	t1 = 1 - t0;
	m0 = h->size[t0] - 1;
	m1 = h->size[t1] - 1;
	scan_bucket(h->t[t0][v & m0], fn, arg);
	do {
		scan_bucket(h->t[t1][v & m1], fn, arg);
		v |= ~m1;
		v = rev64(rev64(v) + 1);
	} while (v & (m0 ^ m1));
	return v;
}

void htab_iter_init(struct htab_iter *it, const struct htab *h)
{
	it->h = h;
	it->t = 0;
	it->i = 0;
	it->e = NULL;
}

const struct htab_ent *htab_iter_next(struct htab_iter *it)
{
	const struct htab *h = it->h;

	if (it->e != NULL)
		it->e = it->e->next;
	while (it->e == NULL && it->t <= 1) {
		if (it->i >= h->size[it->t]) {
			it->t++;
			it->i = 0;
			continue;
		}
		it->e = h->t[it->t][it->i++];
	}
	return it->e;
}

size_t htab_mem(const struct htab *h)
{
	return mem_size(h->t[0]) + mem_size(h->t[1]) + h->bytes;
}

/* ---- the check ---- */

/* Whether a member equal to e's follows it in its chain, or (for a member
 * of the old table while rehashing) sits in the new table. */
static bool has_twin(const struct htab *h, const struct htab_ent *e, int t)
{
	const struct htab_ent *o;
	size_t len;
	const char *s = htab_ent_str(e, &len);

	for (o = e->next; o != NULL; o = o->next)
		if (ent_eq(o, s, len))
			return true;
	if (t == 0 && rehashing(h)) {
		for (o = h->t[1][ent_hash(h, e) & (h->size[1] - 1)]; o != NULL; o = o->next)
			if (ent_eq(o, s, len))
				return true;
	}
	return false;
}

bool htab_check(const struct htab *h)
{
	uint64_t bytes = 0, n, i;
	int t;

	for (t = 0; t <= 1; t++) {
		n = 0;
		for (i = 0; i < h->size[t]; i++) {
			const struct htab_ent *e = h->t[t][i];
			if (t == 0 && rehashing(h) && (int64_t)i < h->rehash && e != NULL)
				return false;
			for (; e != NULL; e = e->next, n++) {
				bytes += mem_size(e);
				if ((ent_hash(h, e) & (h->size[t] - 1)) != i || has_twin(h, e, t))
					return false;
			}
		}
		if (n != h->used[t])
			return false;
	}
	return bytes == h->bytes && (rehashing(h) || h->t[1] == NULL);
}
