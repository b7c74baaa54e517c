/* dict.c: chained hash table with incremental rehashing. See dict.h.
 *
 * The algorithms are Redis's dict.c (expand at load factor 1, shrink under
 * 10% fill, one bucket per operation while rehashing, reverse-binary scan),
 * specialised to entries that are their own chain links. */
#include "data/dict.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "data/kv.h"

/* Random bucket probes before dict_random walks to the next entry. */
#define DICT_RANDOM_TRIES 1000

void dict_init(struct dict *d, struct mem *mem, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	d->rehash = -1;
	d->mem = mem;
	d->seed = seed;
}

/* An entry's hash, computed again (entries keep only kv_hash_tag()). */
static uint32_t ent_hash(const struct dict *d, const struct kv *e)
{
	if (d->hash_fn != NULL)
		return d->hash_fn(e);
	return (uint32_t)hash_bytes(kv_key(e), kv_klen(e), d->seed);
}

void dict_free_tables(struct dict *d)
{
	uint32_t (*fn)(const struct kv *e) = d->hash_fn;

	mem_free(d->mem, d->t[0]);
	mem_free(d->mem, d->t[1]);
	dict_init(d, d->mem, d->seed);
	d->hash_fn = fn;
}

uint64_t dict_size(const struct dict *d)
{
	return d->used[0] + d->used[1];
}

static bool rehashing(const struct dict *d)
{
	return d->rehash >= 0;
}

static uint64_t next_pow2(uint64_t n)
{
	uint64_t s = DICT_SIZE_MIN;
	while (s < n)
		s <<= 1;
	return s;
}

/* Allocates a table of the size for n entries and starts moving into it. */
static void resize(struct dict *d, uint64_t n)
{
	uint64_t size = next_pow2(n);

	ASSERT(!rehashing(d));
	ASSERT(size <= (1ull << 32)); /* bucket indexes come from 32 hash bits */
	if (size == d->size[0])
		return;
	if (d->t[0] == NULL) {
		d->t[0] = mem_calloc(d->mem, size * sizeof(struct kv *));
		d->size[0] = size;
		return;
	}
	d->t[1] = mem_calloc(d->mem, size * sizeof(struct kv *));
	d->size[1] = size;
	d->used[1] = 0;
	d->rehash = 0;
}

bool dict_rehash(struct dict *d, unsigned n)
{
	unsigned empty_max = n * DICT_REHASH_EMPTY_VISITS;

	if (!rehashing(d))
		return false;
	while (n-- > 0 && d->used[0] != 0) {
		struct kv *e, *next;
		ASSERT((uint64_t)d->rehash < d->size[0]);
		while (d->t[0][d->rehash] == NULL) {
			d->rehash++;
			if (--empty_max == 0)
				return true;
		}
		for (e = d->t[0][d->rehash]; e != NULL; e = next) {
			uint64_t i = ent_hash(d, e) & (d->size[1] - 1);
			next = e->next;
			e->next = d->t[1][i];
			d->t[1][i] = e;
			d->used[0]--;
			d->used[1]++;
		}
		d->t[0][d->rehash] = NULL;
		d->rehash++;
	}
	if (d->used[0] == 0) {
		mem_free(d->mem, d->t[0]);
		d->t[0] = d->t[1];
		d->size[0] = d->size[1];
		d->used[0] = d->used[1];
		d->t[1] = NULL;
		d->size[1] = d->used[1] = 0;
		d->rehash = -1;
		return false;
	}
	return true;
}

/* The link that holds the first entry whose hash is hash and that match
 * accepts, and its table; both lookups below. Always inlined, so that each
 * caller's match is a direct call the compiler inlines too (dict_find is
 * every command's lookup). */
static inline __attribute__((always_inline)) struct kv **find_link(
	struct dict *d, uint32_t hash, bool (*match)(const void *arg, const struct kv *e),
	const void *arg, int *table)
{
	uint8_t tag = kv_hash_tag(hash);
	int t;

	if (dict_size(d) == 0)
		return NULL;
	if (rehashing(d))
		dict_rehash(d, DICT_REHASH_STEP);
	for (t = 0; t <= 1; t++) {
		struct kv **link;
		if (d->size[t] == 0)
			break;
		link = &d->t[t][hash & (d->size[t] - 1)];
		for (; *link != NULL; link = &(*link)->next) {
			if ((*link)->tag == tag && match(arg, *link)) {
				if (table != NULL)
					*table = t;
				return link;
			}
		}
		if (!rehashing(d))
			break;
	}
	return NULL;
}

struct key_ref {
	const char *key;
	size_t klen;
};

static bool key_match(const void *arg, const struct kv *e)
{
	const struct key_ref *k = arg;

	return kv_key_eq(e, k->key, k->klen);
}

struct kv **dict_find(struct dict *d, const char *key, size_t klen, uint32_t hash, int *table)
{
	struct key_ref k = { key, klen };

	return find_link(d, hash, key_match, &k, table);
}

struct hash_ref {
	const struct dict *d;
	uint32_t hash;
	bool (*match)(const void *arg, const struct kv *e);
	const void *arg;
};

/* The entry keeps 8 bits of its hash: the rest is computed again. */
static bool hash_match(const void *arg, const struct kv *e)
{
	const struct hash_ref *h = arg;

	return ent_hash(h->d, e) == h->hash && h->match(h->arg, e);
}

struct kv *dict_find_hash(struct dict *d, uint32_t hash,
			  bool (*match)(const void *arg, const struct kv *e), const void *arg)
{
	struct hash_ref h = { d, hash, match, arg };
	struct kv **link = find_link(d, hash, hash_match, &h, NULL);

	return link != NULL ? *link : NULL;
}

void dict_insert(struct dict *d, struct kv *e, uint32_t hash)
{
	int t;
	uint64_t i;

	if (rehashing(d))
		dict_rehash(d, DICT_REHASH_STEP);
	else if (d->size[0] == 0 || d->used[0] >= d->size[0])
		resize(d, d->used[0] + 1);
	t = rehashing(d) ? 1 : 0;
	e->tag = kv_hash_tag(hash);
	i = hash & (d->size[t] - 1);
	e->next = d->t[t][i];
	d->t[t][i] = e;
	d->used[t]++;
}

struct kv *dict_unlink(struct dict *d, struct kv **link, int table)
{
	struct kv *e = *link;

	ASSERT(e != NULL);
	ASSERT(table == 0 || table == 1);
	ASSERT(d->used[table] > 0);
	*link = e->next;
	e->next = NULL;
	d->used[table]--;
	return e;
}

void dict_try_shrink(struct dict *d)
{
	uint64_t n = d->used[0];

	if (rehashing(d) || d->size[0] <= DICT_SIZE_MIN)
		return;
	if (n * 100 / d->size[0] < 10) {
		if (n == 0) {
			mem_free(d->mem, d->t[0]);
			d->t[0] = NULL;
			d->size[0] = 0;
			return;
		}
		resize(d, n);
	}
}

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

static void scan_bucket(struct kv *e, dict_scan_fn fn, void *arg)
{
	while (e != NULL) {
		struct kv *next = e->next;
		fn(arg, e);
		e = next;
	}
}

uint64_t dict_scan(struct dict *d, uint64_t v, dict_scan_fn fn, void *arg)
{
	uint64_t m0, m1;
	int t0, t1;

	if (dict_size(d) == 0)
		return 0;
	if (!rehashing(d)) {
		m0 = d->size[0] - 1;
		scan_bucket(d->t[0][v & m0], fn, arg);
		v |= ~m0;
		v = rev64(rev64(v) + 1);
		return v;
	}
	t0 = d->size[0] <= d->size[1] ? 0 : 1;
	t1 = 1 - t0;
	m0 = d->size[t0] - 1;
	m1 = d->size[t1] - 1;
	scan_bucket(d->t[t0][v & m0], fn, arg);
	do {
		scan_bucket(d->t[t1][v & m1], fn, arg);
		v |= ~m1;
		v = rev64(rev64(v) + 1);
	} while (v & (m0 ^ m1));
	return v;
}

/* The first entry at or after a random bucket, wrapping: the fallback for a
 * sparse table, so a random pick is bounded even then. */
static struct kv *first_from(struct dict *d, uint64_t r)
{
	int t;
	uint64_t k, i;

	for (t = 0; t <= 1; t++) {
		if (d->size[t] == 0)
			continue;
		for (k = 0; k < d->size[t]; k++) {
			i = (r + k) & (d->size[t] - 1);
			if (d->t[t][i] != NULL)
				return d->t[t][i];
		}
	}
	ASSERT_NOT_REACHED("dict: no entry in a non-empty dict");
	return NULL;
}

struct kv *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rarg)
{
	struct kv *head = NULL, *e;
	uint64_t len, i;
	unsigned tries = 0;

	if (dict_size(d) == 0)
		return NULL;
	if (rehashing(d))
		dict_rehash(d, DICT_REHASH_STEP);
	/* A random non-empty bucket; while rehashing, t[0]'s moved buckets
	 * are empty and skipped. */
	while (head == NULL) {
		if (++tries > DICT_RANDOM_TRIES)
			return first_from(d, rnd(rarg));
		if (rehashing(d)) {
			uint64_t span = d->size[0] + d->size[1] - (uint64_t)d->rehash;
			i = (uint64_t)d->rehash + rnd(rarg) % span;
			head = i >= d->size[0] ? d->t[1][i - d->size[0]] : d->t[0][i];
		} else {
			head = d->t[0][rnd(rarg) & (d->size[0] - 1)];
		}
	}
	for (len = 0, e = head; e != NULL; e = e->next)
		len++;
	for (i = rnd(rarg) % len, e = head; i > 0; i--)
		e = e->next;
	return e;
}

void dict_each(struct dict *d, void (*fn)(void *arg, struct kv *e), void *arg)
{
	int t;
	uint64_t i;

	for (t = 0; t <= 1; t++) {
		for (i = 0; i < d->size[t]; i++)
			scan_bucket(d->t[t][i], fn, arg);
	}
}

bool dict_free_some(struct dict *d, uint64_t *bucket, unsigned *budget,
		    void (*fn)(void *arg, struct kv *e), void *arg)
{
	uint64_t total = d->size[0] + d->size[1];

	while (*bucket<total && * budget> 0) {
		uint64_t b = (*bucket)++;
		struct kv **slot = b < d->size[0] ? &d->t[0][b] : &d->t[1][b - d->size[0]];
		struct kv *e = *slot;
		unsigned k = 0;
		*slot = NULL;
		while (e != NULL) {
			struct kv *next = e->next;
			fn(arg, e);
			e = next;
			k++;
		}
		/* An empty bucket costs one unit of work, as an entry does. */
		k = k ? k : 1;
		*budget = k >= *budget ? 0 : *budget - k;
	}
	if (*bucket < total)
		return false;
	dict_free_tables(d);
	return true;
}

size_t dict_mem(const struct dict *d)
{
	return mem_size(d->t[0]) + mem_size(d->t[1]);
}
