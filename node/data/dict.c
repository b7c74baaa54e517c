/* dict.c: a chained hash table that grows and shrinks by linear hashing.
 * See dict.h.
 *
 * Redis's dict doubles: while a resize runs, both tables exist, and right
 * after one the table has twice the buckets it needs (a bucket pointer per
 * key costs 8 to 16 bytes). Here a split per insert keeps the load at 1:
 * one 4-byte handle a key at every size, no second table, and no operation moves more
 * than one chain (two while shrinking). The rules that Redis's keep hold
 * here too: growth at load 1, a shrink under 10%, work in bounded steps, and
 * the reverse-binary scan. */
#include "data/dict.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "data/kv.h"

/* Random bucket probes before dict_random walks to the next entry. */
#define DICT_RANDOM_TRIES 1000
#define SEG_MASK (DICT_SEG_BUCKETS - 1)

_Static_assert((DICT_SIZE_MIN & (DICT_SIZE_MIN - 1)) == 0, "a power of two");
_Static_assert(DICT_SIZE_MIN <= DICT_SEG_BUCKETS, "the smallest table fits a segment");

void dict_init(struct dict *d, struct mem *mem, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	d->mem = mem;
	d->seed = seed;
	kvh_init(&d->heap, NULL);
}

void dict_use_slab(struct dict *d, struct slab *slab)
{
	/* Entries allocated before stay where they are (malloc's, through
	 * cells): only a table with no slab yet may take one while it holds
	 * entries. */
	ASSERT(d->heap.slab == NULL || d->used == 0);
	d->heap.slab = slab;
}

static inline struct kv *ent(const struct dict *d, kvh h)
{
	return kvh_get(&d->heap, h);
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
	struct kv_heap heap;
	uint64_t i;

	for (i = 0; i < d->nseg; i++)
		mem_free(d->mem, d->seg[i]);
	mem_free(d->mem, d->seg);
	/* The heap stays, its cells too while entries hold them. */
	kvh_free_cells(&d->heap, d->mem);
	heap = d->heap;
	dict_init(d, d->mem, d->seed);
	d->hash_fn = fn;
	d->heap = heap;
}

uint64_t dict_size(const struct dict *d)
{
	return d->used;
}

uint64_t dict_buckets(const struct dict *d)
{
	return d->half + d->split;
}

static inline kvh *slot(const struct dict *d, uint64_t b)
{
	return &d->seg[b >> DICT_SEG_SHIFT][b & SEG_MASK];
}

struct kv *dict_bucket(const struct dict *d, uint64_t b)
{
	kvh h;

	ASSERT(b < dict_buckets(d));
	h = *slot(d, b);
	return h != 0 ? ent(d, h) : NULL;
}

uint64_t dict_bucket_of(const struct dict *d, uint32_t hash)
{
	uint64_t b = hash & (d->half - 1);

	if (b < d->split)
		b = hash & (2 * d->half - 1);
	return b;
}

/* ---- the segments ---- */

/* The first table: half DICT_SIZE_MIN, in one small segment. */
static void table_new(struct dict *d)
{
	ASSERT(d->nseg == 0 && d->used == 0);
	d->seg_cap = 1;
	d->seg = mem_alloc(d->mem, sizeof(*d->seg));
	d->seg0_cap = DICT_SIZE_MIN;
	d->seg[0] = mem_calloc(d->mem, DICT_SIZE_MIN * sizeof(kvh));
	d->nseg = 1;
	d->half = DICT_SIZE_MIN;
	d->split = 0;
}

/* Makes room for bucket b, the next one past the table's end. */
static void bucket_add(struct dict *d, uint64_t b)
{
	ASSERT(b == dict_buckets(d));
	ASSERT(b < (1ull << 32)); /* bucket indexes come from 32 hash bits */
	if (b < d->seg0_cap)
		return;
	if (b < DICT_SEG_BUCKETS) {
		/* One segment so far: it doubles (at most 8 KB are copied). */
		uint64_t cap = d->seg0_cap;
		ASSERT(b == cap);
		d->seg[0] = mem_realloc(d->mem, d->seg[0], 2 * cap * sizeof(kvh));
		memset(d->seg[0] + cap, 0, cap * sizeof(kvh));
		d->seg0_cap = 2 * cap;
		return;
	}
	if ((b & SEG_MASK) != 0)
		return;
	ASSERT((b >> DICT_SEG_SHIFT) == d->nseg);
	if (d->nseg == d->seg_cap) {
		d->seg_cap *= 2;
		d->seg = mem_realloc(d->mem, d->seg, d->seg_cap * sizeof(*d->seg));
	}
	d->seg[d->nseg++] = mem_calloc(d->mem, DICT_SEG_BUCKETS * sizeof(kvh));
}

/* Gives back what bucket b, the last one, held after the table dropped it. */
static void bucket_drop(struct dict *d, uint64_t b)
{
	ASSERT(b == dict_buckets(d));
	ASSERT(*slot(d, b) == 0);
	if (b >= DICT_SEG_BUCKETS) {
		if ((b & SEG_MASK) == 0) {
			mem_free(d->mem, d->seg[--d->nseg]);
			d->seg[d->nseg] = NULL;
		}
		return;
	}
	if (b <= d->seg0_cap / 2 && d->seg0_cap > DICT_SIZE_MIN) {
		d->seg0_cap /= 2;
		d->seg[0] = mem_realloc(d->mem, d->seg[0], d->seg0_cap * sizeof(kvh));
	}
}

/* ---- splits and merges ---- */

/* Splits bucket split into itself and split + half. */
static void split_one(struct dict *d)
{
	uint64_t b = d->split, nb = b + d->half, mask = 2 * d->half - 1;
	kvh h, next, *from, *to;

	bucket_add(d, nb);
	from = slot(d, b);
	to = slot(d, nb);
	h = *from;
	*from = 0;
	for (; h != 0; h = next) {
		struct kv *e = ent(d, h);
		kvh *at = (ent_hash(d, e) & mask) == b ? from : to;
		next = e->next;
		e->next = *at;
		*at = h;
	}
	if (++d->split == d->half) {
		d->half *= 2;
		d->split = 0;
	}
}

/* Merges the last bucket into its buddy; returns whether it held entries. */
static bool merge_one(struct dict *d)
{
	uint64_t b;
	kvh *from, *to, h;
	struct kv *last;

	ASSERT(d->half > DICT_SIZE_MIN || d->split > 0);
	if (d->split == 0) {
		d->half /= 2;
		d->split = d->half;
	}
	d->split--;
	b = d->split + d->half;
	from = slot(d, b);
	to = slot(d, d->split);
	h = *from;
	if (h != 0) {
		for (last = ent(d, h); last->next != 0; last = ent(d, last->next))
			;
		last->next = *to;
		*to = h;
		*from = 0;
	}
	bucket_drop(d, b);
	return h != 0;
}

/* The table's size when a shrink stops: a load of 1. */
static bool shrink_done(const struct dict *d)
{
	return dict_buckets(d) <= d->used || dict_buckets(d) <= DICT_SIZE_MIN;
}

bool dict_rehash(struct dict *d, unsigned n)
{
	unsigned empty_max = n * DICT_REHASH_EMPTY_VISITS;

	while (d->shrinking && n > 0 && empty_max > 0) {
		if (shrink_done(d)) {
			d->shrinking = false;
			break;
		}
		if (merge_one(d))
			n--;
		else
			empty_max--;
	}
	if (d->shrinking && shrink_done(d))
		d->shrinking = false;
	return d->shrinking;
}

void dict_try_shrink(struct dict *d)
{
	uint64_t n = dict_buckets(d);

	if (n == 0 || d->shrinking)
		return;
	if (d->used == 0) {
		dict_free_tables(d);
		return;
	}
	if (n > DICT_SIZE_MIN && d->used * 100 / n < 10)
		d->shrinking = true;
}

/* ---- lookups ---- */

/* The first entry with hash's tag that match accepts, and in *linkp the
 * link that holds it. Always inlined, so that each caller's match is a
 * direct call the compiler inlines too (dict_find is every command's
 * lookup). */
static inline __attribute__((always_inline)) struct kv *find_link(struct dict *d, uint32_t hash,
								  bool (*match)(const void *arg,
										const struct kv *e),
								  const void *arg, kvh **linkp)
{
	uint8_t tag = kv_hash_tag(hash);
	kvh *link;

	if (d->used == 0)
		return NULL;
	if (d->shrinking)
		dict_rehash(d, DICT_REHASH_STEP);
	for (link = slot(d, dict_bucket_of(d, hash)); *link != 0;) {
		struct kv *e = ent(d, *link);
		if (e->tag == tag && match(arg, e)) {
			if (linkp != NULL)
				*linkp = link;
			return e;
		}
		link = &e->next;
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

struct kv *dict_find(struct dict *d, const char *key, size_t klen, uint32_t hash, kvh **link)
{
	struct key_ref k = { key, klen };

	return find_link(d, hash, key_match, &k, link);
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

	return find_link(d, hash, hash_match, &h, NULL);
}

void dict_insert(struct dict *d, struct kv *e, uint32_t hash)
{
	kvh *head;

	if (d->half == 0)
		table_new(d);
	else if (d->shrinking)
		dict_rehash(d, DICT_REHASH_STEP);
	e->tag = kv_hash_tag(hash);
	head = slot(d, dict_bucket_of(d, hash));
	e->next = *head;
	*head = kvh_of(&d->heap, e);
	d->used++;
	if (d->used > dict_buckets(d)) {
		d->shrinking = false;
		split_one(d);
	}
}

struct kv *dict_unlink(struct dict *d, kvh *link)
{
	struct kv *e;

	ASSERT(*link != 0);
	ASSERT(d->used > 0);
	e = ent(d, *link);
	*link = e->next;
	e->next = 0;
	d->used--;
	return e;
}

void dict_relink(struct dict *d, kvh *link, struct kv *e)
{
	*link = kvh_of(&d->heap, e);
}

void dict_replace(struct dict *d, kvh *link, struct kv *old, struct kv *e)
{
	ASSERT(ent(d, *link) == old);
	e->next = old->next;
	*link = kvh_of(&d->heap, e);
}

/* ---- scan, random, iteration ---- */

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

/* Calls fn on the chain from h; fn may free the entry it is given. */
static void scan_bucket(const struct dict *d, kvh h, dict_scan_fn fn, void *arg)
{
	while (h != 0) {
		struct kv *e = ent(d, h);
		h = e->next;
		fn(arg, e);
	}
}

uint64_t dict_scan(struct dict *d, uint64_t v, dict_scan_fn fn, void *arg)
{
	uint64_t m0, b;

	if (d->used == 0)
		return 0;
	/* A table of half buckets, whose bucket b < split is read as its two
	 * halves: the keys of b are the same either way. */
	m0 = d->half - 1;
	b = v & m0;
	scan_bucket(d, *slot(d, b), fn, arg);
	if (b < d->split)
		scan_bucket(d, *slot(d, b + d->half), fn, arg);
	v |= ~m0;
	return rev64(rev64(v) + 1);
}

/* The first entry at or after a random bucket, wrapping: the fallback for a
 * sparse table, so a random pick is bounded even then. */
static struct kv *first_from(struct dict *d, uint64_t r)
{
	uint64_t n = dict_buckets(d), k;

	for (k = 0; k < n; k++) {
		kvh h = *slot(d, (r + k) % n);
		if (h != 0)
			return ent(d, h);
	}
	ASSERT_NOT_REACHED("dict: no entry in a non-empty dict");
	return NULL;
}

struct kv *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rarg)
{
	struct kv *head = NULL, *e;
	uint64_t len, i;
	unsigned tries = 0;

	if (d->used == 0)
		return NULL;
	if (d->shrinking)
		dict_rehash(d, DICT_REHASH_STEP);
	while (head == NULL) {
		if (++tries > DICT_RANDOM_TRIES)
			return first_from(d, rnd(rarg));
		head = dict_bucket(d, rnd(rarg) % dict_buckets(d));
	}
	for (len = 0, e = head; e != NULL; e = dict_next(d, e))
		len++;
	for (i = rnd(rarg) % len, e = head; i > 0; i--)
		e = dict_next(d, e);
	return e;
}

void dict_each(struct dict *d, void (*fn)(void *arg, struct kv *e), void *arg)
{
	uint64_t i, n = dict_buckets(d);

	for (i = 0; i < n; i++)
		scan_bucket(d, *slot(d, i), fn, arg);
}

bool dict_free_some(struct dict *d, uint64_t *bucket, unsigned *budget,
		    void (*fn)(void *arg, struct kv *e), void *arg)
{
	uint64_t total = dict_buckets(d);

	while (*bucket<total && * budget> 0) {
		kvh *s = slot(d, (*bucket)++);
		kvh h = *s;
		unsigned k = 0;
		*s = 0;
		while (h != 0) {
			struct kv *e = ent(d, h);
			h = e->next;
			fn(arg, e);
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
	size_t n = mem_size(d->seg) + kvh_mem(&d->heap);
	uint64_t i;

	for (i = 0; i < d->nseg; i++)
		n += mem_size(d->seg[i]);
	return n;
}

/* ---- the check ---- */

static bool segments_check(const struct dict *d)
{
	uint64_t n = dict_buckets(d);

	if (n == 0)
		return d->nseg == 0 && d->seg == NULL && d->used == 0 && !d->shrinking;
	if ((d->half & (d->half - 1)) != 0 || d->half < DICT_SIZE_MIN || d->split >= d->half)
		return false;
	if (n <= DICT_SEG_BUCKETS)
		return d->nseg == 1 && d->seg0_cap >= n && d->seg0_cap <= DICT_SEG_BUCKETS &&
		       (d->seg0_cap == DICT_SIZE_MIN || d->seg0_cap / 2 < n);
	return d->seg0_cap == DICT_SEG_BUCKETS && d->nseg == (n + SEG_MASK) >> DICT_SEG_SHIFT &&
	       d->nseg <= d->seg_cap;
}

bool dict_check(const struct dict *d)
{
	uint64_t n = dict_buckets(d), b, count = 0;

	if (!segments_check(d))
		return false;
	for (b = 0; b < n; b++) {
		const struct kv *e;
		for (e = dict_bucket(d, b); e != NULL; e = dict_next(d, e), count++) {
			uint32_t h = ent_hash(d, e);
			if (dict_bucket_of(d, h) != b || e->tag != kv_hash_tag(h))
				return false;
		}
	}
	/* A bucket past the end within the last segment is empty. */
	for (b = n; b < (n <= DICT_SEG_BUCKETS ? d->seg0_cap : d->nseg << DICT_SEG_SHIFT); b++)
		if (*slot(d, b) != 0)
			return false;
	return count == d->used && (d->used <= n || n == 0);
}
