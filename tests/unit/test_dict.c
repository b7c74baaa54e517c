/* test_dict.c: unit tests of the keyspace hash table (node/data/dict.c).
 *
 * Goal: inserts, finds and unlinks stay correct while the table grows a
 * bucket per insert (linear hashing) and shrinks a few buckets per step;
 * the table keeps a load of about 1 and its segments follow its size;
 * dict_rehash() makes bounded progress per step; dict_scan() returns every
 * element that is present for the whole scan at least once, while the table
 * grows and shrinks between calls; dict_random() returns only present
 * entries and reaches all of them; the tables' memory is accounted and
 * given back.
 *
 * Method: entries are struct kv built by hand (no TTL, a 4-byte key holding
 * the entry's id), hashed with hash_bytes or with a constant to force one
 * long chain. A presence array is the model; verify() walks the buckets and
 * checks every entry's bucket, dict_check(), the counts, and that the table
 * holds exactly the model's entries, each once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "data/dict.h"
#include "data/kv.h"

#define SEED 0x5eedull

struct pool {
	uint32_t cap;
	struct kv **e;  /* by id; allocated on first use */
	bool *in;       /* the model: entry id is in the dict */
	uint32_t *seen; /* scratch for verify and scans */
	uint64_t present;
	uint64_t bytes; /* of the entries allocated (the dict's heap charges them to its mem) */
	bool collide;   /* every entry has the same hash */
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void pool_init(struct pool *p, uint32_t cap, bool collide)
{
	memset(p, 0, sizeof(*p));
	p->cap = cap;
	p->e = calloc(cap, sizeof(*p->e));
	p->in = calloc(cap, sizeof(*p->in));
	p->seen = calloc(cap, sizeof(*p->seen));
	assert_non_null(p->e);
	assert_non_null(p->in);
	assert_non_null(p->seen);
	p->collide = collide;
}

static void pool_fini(struct pool *p)
{
	uint32_t i;

	for (i = 0; i < p->cap; i++)
		assert_null(p->e[i]);
	free(p->e);
	free(p->in);
	free(p->seen);
}

static uint32_t id_of(const struct kv *e)
{
	uint32_t id;

	assert_int_equal(kv_klen(e), 4);
	memcpy(&id, kv_key(e), 4);
	return id;
}

static uint32_t hash_of(const struct pool *p, uint32_t id)
{
	return p->collide ? 0x9e3779b9u : (uint32_t)hash_bytes(&id, 4, SEED);
}

/* The dict's hash for a pool whose entries all collide. */
static uint32_t collide_hash(const struct kv *e)
{
	(void)e;
	return 0x9e3779b9u;
}

/* Entry id, allocated through the dict's heap (links are its handles). */
static struct kv *entry(struct pool *p, struct dict *d, uint32_t id)
{
	struct kv *e = p->e[id];

	if (e == NULL) {
		e = dict_alloc(d, sizeof(*e) + 4);
		memset(e, 0, sizeof(*e));
		kv_set_key(e, (const char *)&id, 4);
		p->bytes += dict_entry_size(d, e);
		p->e[id] = e;
	}
	return e;
}

/* Frees every entry, in the dict or not (before dict_free_tables). */
static void pool_release(struct pool *p, struct dict *d)
{
	uint32_t i;

	for (i = 0; i < p->cap; i++) {
		if (p->e[i] == NULL)
			continue;
		p->bytes -= dict_entry_size(d, p->e[i]);
		dict_release(d, p->e[i]);
		p->e[i] = NULL;
	}
	assert_int_equal(p->bytes, 0);
}

static struct kv *find(struct dict *d, struct pool *p, uint32_t id, kvh **link)
{
	return dict_find(d, (const char *)&id, 4, hash_of(p, id), link);
}

static void add(struct dict *d, struct pool *p, uint32_t id)
{
	assert_false(p->in[id]);
	assert_null(find(d, p, id, NULL));
	dict_insert(d, entry(p, d, id), hash_of(p, id));
	p->in[id] = true;
	p->present++;
}

static void del(struct dict *d, struct pool *p, uint32_t id)
{
	kvh *link = NULL;
	struct kv *e = find(d, p, id, &link);

	assert_true(p->in[id]);
	assert_non_null(link);
	assert_ptr_equal(e, p->e[id]);
	assert_ptr_equal(dict_unlink(d, link), p->e[id]);
	p->in[id] = false;
	p->present--;
}

/* Walks the buckets: bucket of every entry, counts, the load, and exactly
 * the model's entries, each once. */
static void verify(const struct dict *d, struct pool *p)
{
	uint64_t i, n = 0;

	memset(p->seen, 0, p->cap * sizeof(*p->seen));
	assert_true(dict_check(d));
	for (i = 0; i < dict_buckets(d); i++) {
		const struct kv *e;
		for (e = dict_bucket(d, i); e != NULL; e = dict_next(d, e)) {
			uint32_t id = id_of(e);
			assert_int_equal(dict_bucket_of(d, hash_of(p, id)), i);
			assert_true(id < p->cap && p->in[id]);
			assert_int_equal(p->seen[id]++, 0);
			n++;
		}
	}
	assert_int_equal(n, p->present);
	assert_true(dict_size(d) <= dict_buckets(d) || dict_buckets(d) == 0);
	assert_int_equal(dict_size(d), p->present);
	assert_int_equal(dict_mem(d) + p->bytes, d->mem->used);
}

/* ---- insert, find, unlink ---- */

static void test_insert_find_unlink_100k(void **state)
{
	const uint32_t n = 100000;
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;

	(void)state;
	pool_init(&p, n, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	assert_null(find(&d, &p, 1, NULL));
	for (id = 0; id < n; id++) {
		add(&d, &p, id);
		if (id % 9973 == 0)
			verify(&d, &p);
	}
	verify(&d, &p);
	for (id = 0; id < n; id++) {
		kvh *link = NULL;
		struct kv *e = find(&d, &p, id, &link);
		assert_non_null(link);
		assert_ptr_equal(e, p.e[id]);
	}
	for (id = 0; id < n; id += 2) {
		del(&d, &p, id);
		if (id % 9974 == 0)
			verify(&d, &p);
	}
	verify(&d, &p);
	for (id = 0; id < n; id++) {
		struct kv *e = find(&d, &p, id, NULL);
		assert_true((e != NULL) == p.in[id]);
	}
	for (id = 1; id < n; id += 2)
		del(&d, &p, id);
	assert_int_equal(dict_size(&d), 0);
	assert_null(find(&d, &p, 3, NULL));
	verify(&d, &p);
	/* Reinsert after emptying, then free the tables. */
	add(&d, &p, 7);
	assert_non_null(find(&d, &p, 7, NULL));
	pool_release(&p, &d);
	dict_free_tables(&d);
	assert_int_equal(m.used, 0);
	assert_int_equal(dict_size(&d), 0);
	pool_fini(&p);
}

/* One long chain: unlinking from its middle and moving it while rehashing. */
static void test_one_chain(void **state)
{
	const uint32_t n = 3000;
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;

	(void)state;
	pool_init(&p, n, true);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	for (id = 0; id < n; id++)
		add(&d, &p, id);
	verify(&d, &p);
	for (id = 1; id < n; id += 3)
		del(&d, &p, id);
	verify(&d, &p);
	for (id = 0; id < n; id++)
		assert_true((find(&d, &p, id, NULL) != NULL) == p.in[id]);
	while (dict_rehash(&d, 100))
		;
	verify(&d, &p);
	pool_release(&p, &d);
	dict_free_tables(&d);
	assert_int_equal(m.used, 0);
	pool_fini(&p);
}

/* ---- rehash progress ---- */

/* Grows to size and waits for the end of any rehash. */
static void fill_settled(struct dict *d, struct pool *p, uint32_t from, uint32_t to)
{
	uint32_t id;

	for (id = from; id < to; id++)
		add(d, p, id);
	while (dict_rehash(d, 1000))
		;
	assert_false(d->shrinking);
}

/* Each insert past the smallest table adds one bucket: the load stays 1,
 * through the first segment's doublings and into new segments. */
static void test_grow_one_bucket_per_insert(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;

	(void)state;
	pool_init(&p, 5000, false);
	dict_init(&d, &m, SEED);
	assert_int_equal(dict_buckets(&d), 0);
	assert_int_equal(dict_mem(&d), 0);
	for (id = 0; id < 5000; id++) {
		uint64_t want = id + 1 > DICT_SIZE_MIN ? id + 1 : DICT_SIZE_MIN;
		add(&d, &p, id);
		assert_int_equal(dict_buckets(&d), want);
		if (want <= DICT_SEG_BUCKETS)
			assert_int_equal(d.nseg, 1);
		else
			assert_int_equal(d.nseg, (want + DICT_SEG_BUCKETS - 1) / DICT_SEG_BUCKETS);
		if (id % 97 == 0 || id == DICT_SEG_BUCKETS || id == 2 * DICT_SEG_BUCKETS)
			verify(&d, &p);
	}
	verify(&d, &p);
	/* 4 bytes a bucket, the last segment's unused part, the directory
	 * (and malloc's usable-size slack of each); the heap's cells apart. */
	assert_true(dict_mem(&d) - kvh_mem(&d.heap) <=
		    5 * (DICT_SEG_BUCKETS * sizeof(kvh) + 16) + 128);
	assert_false(dict_rehash(&d, 1)); /* nothing to do */
	pool_release(&p, &d);
	dict_free_tables(&d);
	assert_int_equal(m.used, 0);
	pool_fini(&p);
}

/* Shrinking merges the last bucket into its buddy: a step merges at most
 * one bucket that holds entries, or skips ten empty ones; deleting while
 * the shrink runs keeps everything findable. */
static void test_rehash_shrink_steps(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;
	uint64_t empty_steps = 0, steps = 0;

	(void)state;
	pool_init(&p, 20000, false);
	dict_init(&d, &m, SEED);
	fill_settled(&d, &p, 0, 16384);
	for (id = 0; id < 16384; id++)
		if (id % 64 != 0)
			del(&d, &p, id);
	assert_int_equal(dict_buckets(&d), 16384);
	dict_try_shrink(&d);
	assert_true(d.shrinking);
	verify(&d, &p);
	for (;;) {
		uint64_t before = dict_buckets(&d);
		bool more = dict_rehash(&d, 1);
		uint64_t gone = before - dict_buckets(&d);
		steps++;
		assert_true(gone >= 1 && gone <= DICT_REHASH_EMPTY_VISITS + 1);
		empty_steps += gone == DICT_REHASH_EMPTY_VISITS;
		if (steps % 53 == 0) {
			/* Deleting mid-shrink, from merged buckets and not yet
			 * merged ones alike. */
			id = (uint32_t)(steps * 64) % 16384;
			if (p.in[id])
				del(&d, &p, id);
			verify(&d, &p);
		}
		if (!more)
			break;
	}
	assert_true(empty_steps > 0);
	verify(&d, &p);
	assert_int_equal(dict_buckets(&d), dict_size(&d));
	for (id = 0; id < 16384; id++)
		assert_true((find(&d, &p, id, NULL) != NULL) == p.in[id]);
	/* Not under 10% full: no shrink. */
	dict_try_shrink(&d);
	assert_false(d.shrinking);
	/* Emptied: the table itself goes. */
	for (id = 0; id < 16384; id++)
		if (p.in[id])
			del(&d, &p, id);
	dict_try_shrink(&d);
	assert_int_equal(dict_buckets(&d), 0);
	/* The entries outside the table, and the cells they hold, remain. */
	assert_int_equal(m.used, p.bytes + kvh_mem(&d.heap));
	add(&d, &p, 5);
	verify(&d, &p);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* An insert while shrinking stops the shrink once the load is back to 1,
 * and lookups during a shrink make progress. */
static void test_shrink_then_grow(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;

	(void)state;
	pool_init(&p, 8192, false);
	dict_init(&d, &m, SEED);
	fill_settled(&d, &p, 0, 8192);
	for (id = 100; id < 8192; id++)
		del(&d, &p, id);
	dict_try_shrink(&d);
	assert_true(d.shrinking);
	for (id = 0; id < 100; id++)
		assert_non_null(find(&d, &p, id, NULL));
	assert_true(dict_buckets(&d) < 8192);
	for (id = 100; id < 8192; id++) {
		add(&d, &p, id);
		if (id % 331 == 0)
			verify(&d, &p);
	}
	assert_false(d.shrinking);
	assert_int_equal(dict_buckets(&d), 8192);
	verify(&d, &p);
	pool_release(&p, &d);
	dict_free_tables(&d);
	assert_int_equal(m.used, 0);
	pool_fini(&p);
}

/* Shrinking starts under 10% fill, Redis's HASHTABLE_MIN_FILL: with 1024
 * buckets, at 102 entries and not at 103. */
static void test_shrink_threshold(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;

	(void)state;
	pool_init(&p, 1024, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	fill_settled(&d, &p, 0, 1024);
	assert_int_equal(dict_buckets(&d), 1024);
	for (id = 1023; id >= 103; id--)
		del(&d, &p, id);
	dict_try_shrink(&d);
	assert_false(d.shrinking);
	assert_int_equal(dict_buckets(&d), 1024);
	del(&d, &p, 102);
	dict_try_shrink(&d);
	assert_true(d.shrinking);
	while (dict_rehash(&d, 10))
		;
	assert_int_equal(dict_buckets(&d), 102);
	verify(&d, &p);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* ---- scan ---- */

struct scan_ctx {
	struct pool *p;
	uint64_t calls;
};

static void scan_fn(void *arg, struct kv *e)
{
	struct scan_ctx *c = arg;
	uint32_t id = id_of(e);

	assert_true(c->p->in[id]); /* never an entry that is not there */
	c->p->seen[id]++;
	c->calls++;
}

/* A table that does not change: each entry exactly once. */
static void test_scan_stable_exactly_once(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	struct scan_ctx c = { .p = &p };
	uint64_t cursor = 0, i;

	(void)state;
	pool_init(&p, 1000, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	assert_int_equal(dict_scan(&d, 0, scan_fn, &c), 0); /* empty */
	fill_settled(&d, &p, 0, 1000);
	memset(p.seen, 0, p.cap * sizeof(*p.seen));
	do {
		cursor = dict_scan(&d, cursor, scan_fn, &c);
	} while (cursor != 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(p.seen[i], 1);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* One scan while the table changes between calls. Ids [0, stable) are there
 * for the whole scan; the rest come and go in batches that make the table
 * grow and shrink. Counts the size changes in each direction. */
static void scan_under_churn(uint64_t seed, uint32_t stable, uint32_t churn, unsigned *grows,
			     unsigned *shrinks)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	struct scan_ctx c = { .p = &p };
	uint64_t cursor = 0, x = seed, last_size;
	uint32_t id;

	pool_init(&p, stable + churn, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	for (id = 0; id < stable; id++)
		add(&d, &p, id);
	memset(p.seen, 0, p.cap * sizeof(*p.seen));
	last_size = dict_buckets(&d);
	do {
		uint64_t r = xorshift(&x);
		uint32_t k, batch = (uint32_t)(r >> 8) % (churn / 4 + 1);
		cursor = dict_scan(&d, cursor, scan_fn, &c);
		switch (r % 4) {
		case 0: /* grow */
			for (k = 0; k < batch; k++) {
				id = stable + (uint32_t)(xorshift(&x) % churn);
				if (!p.in[id])
					add(&d, &p, id);
			}
			break;
		case 1: /* shrink */
			for (id = stable; id < stable + churn; id++)
				if (p.in[id] && xorshift(&x) % 8 != 0)
					del(&d, &p, id);
			dict_try_shrink(&d);
			break;
		case 2: dict_rehash(&d, 1 + (unsigned)(r >> 40) % 8); break;
		default: break;
		}
		*grows += dict_buckets(&d) > last_size;
		*shrinks += dict_buckets(&d) < last_size;
		last_size = dict_buckets(&d);
	} while (cursor != 0);
	for (id = 0; id < stable; id++)
		if (p.seen[id] == 0)
			fail_msg("seed %llu: stable entry %u never returned",
				 (unsigned long long)seed, id);
	verify(&d, &p);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

static void test_scan_under_churn(void **state)
{
	unsigned grows = 0, shrinks = 0;
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 60; seed++)
		scan_under_churn(seed * 0x9e3779b97f4a7c15ull, 300, 6000, &grows, &shrinks);
	for (seed = 1; seed <= 20; seed++)
		scan_under_churn(seed * 0x2545f4914f6cdd1dull, 4, 200, &grows, &shrinks);
	/* The table really did grow and shrink under the scans (about 3000
	 * times each with these seeds). */
	assert_true(grows > 500);
	assert_true(shrinks > 500);
}

/* ---- random ---- */

static uint64_t rnd_xorshift(void *arg)
{
	return xorshift(arg);
}

static uint64_t rnd_zero(void *arg)
{
	(void)arg;
	return 0;
}

static void test_random_covers_small_table(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint64_t x = 99;
	uint32_t id;
	int i;

	(void)state;
	pool_init(&p, 10, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	assert_null(dict_random(&d, rnd_xorshift, &x));
	fill_settled(&d, &p, 0, 10);
	memset(p.seen, 0, p.cap * sizeof(*p.seen));
	for (i = 0; i < 20000; i++) {
		struct kv *e = dict_random(&d, rnd_xorshift, &x);
		assert_non_null(e);
		id = id_of(e);
		assert_true(p.in[id]);
		p.seen[id]++;
	}
	for (id = 0; id < 10; id++)
		assert_true(p.seen[id] > 500); /* 2000 expected each */
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* While entries come and go and the table resizes, every pick is present. */
static void test_random_only_present(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint64_t x = 7, picks = 0;
	int i;

	(void)state;
	pool_init(&p, 4096, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	for (i = 0; i < 200000; i++) {
		uint32_t id = (uint32_t)(xorshift(&x) % 4096);
		struct kv *e;
		if (p.in[id])
			del(&d, &p, id);
		else if (i % 50000 < 30000)
			add(&d, &p, id);
		if (i % 1000 == 0)
			dict_try_shrink(&d);
		e = dict_random(&d, rnd_xorshift, &x);
		assert_true((e == NULL) == (p.present == 0));
		if (e != NULL) {
			assert_true(p.in[id_of(e)]);
			picks++;
		}
	}
	verify(&d, &p);
	assert_true(picks > 100000);
	/* dict_check sees a wrong tag, and an entry in another bucket. */
	{
		struct kv *e = dict_random(&d, rnd_xorshift, &x);
		kvh *link;
		uint32_t id = id_of(e);
		e->tag ^= 0x80;
		assert_false(dict_check(&d));
		e->tag ^= 0x80;
		assert_true(dict_check(&d));
		del(&d, &p, id);
		link = &d.seg[0][(dict_bucket_of(&d, hash_of(&p, id)) + 1) % 4];
		e->next = *link;
		*link = kvh_of(&d.heap, e);
		d.used++;
		assert_false(dict_check(&d));
		assert_ptr_equal(dict_unlink(&d, link), e);
		assert_true(dict_check(&d));
	}
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* Halfway through a level (half the buckets split), picks come from the
 * split buckets and the unsplit ones. */
static void test_random_half_split(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint64_t x = 3;
	unsigned split = 0, picks = 0;
	int i;

	(void)state;
	pool_init(&p, 49152, false);
	dict_init(&d, &m, SEED);
	fill_settled(&d, &p, 0, 49152);
	assert_int_equal(d.half, 32768);
	assert_int_equal(d.split, 16384);
	for (i = 0; i < 4000; i++) {
		struct kv *e = dict_random(&d, rnd_xorshift, &x);
		uint32_t id = id_of(e);
		uint64_t b = dict_bucket_of(&d, hash_of(&p, id));
		assert_true(p.in[id]);
		split += b < d.split || b >= d.half;
		picks++;
	}
	/* A third of the keys are in unsplit buckets, two in split ones. */
	assert_true(split > picks / 3 && split < picks - picks / 6);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* A source that always names the same empty bucket cannot make a pick
 * loop forever or return a stale entry. */
static void test_random_adversarial_source(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	uint32_t id;
	struct kv *e;

	(void)state;
	pool_init(&p, 4096, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	fill_settled(&d, &p, 0, 4096);
	for (id = 0; id < 4096; id++)
		if (id != 4000)
			del(&d, &p, id);
	assert_null(dict_bucket(&d, 0));
	e = dict_random(&d, rnd_zero, NULL);
	assert_ptr_equal(e, p.e[4000]);
	pool_release(&p, &d);
	dict_free_tables(&d);
	pool_fini(&p);
}

/* ---- each ---- */

struct each_ctx {
	struct pool *p;
	struct dict *d;
	bool free_it;
};

static void each_fn(void *arg, struct kv *e)
{
	struct each_ctx *c = arg;
	uint32_t id = id_of(e);

	assert_true(c->p->in[id]);
	c->p->seen[id]++;
	if (c->free_it) {
		c->p->e[id] = NULL;
		c->p->bytes -= dict_entry_size(c->d, e);
		dict_release(c->d, e);
	}
}

static void test_each(void **state)
{
	struct mem m = { 0 };
	struct dict d;
	struct pool p;
	struct each_ctx c = { .p = &p, .d = &d };
	uint32_t id;

	(void)state;
	pool_init(&p, 3000, false);
	dict_init(&d, &m, SEED);
	d.hash_fn = p.collide ? collide_hash : NULL;
	for (id = 0; id < 2049; id++)
		add(&d, &p, id);
	assert_true(d.split > 0); /* some buckets split, some not */
	memset(p.seen, 0, p.cap * sizeof(*p.seen));
	dict_each(&d, each_fn, &c);
	for (id = 0; id < 2049; id++)
		assert_int_equal(p.seen[id], 1);
	/* fn may free the entry it is given. */
	memset(p.seen, 0, p.cap * sizeof(*p.seen));
	c.free_it = true;
	dict_each(&d, each_fn, &c);
	for (id = 0; id < 2049; id++)
		assert_int_equal(p.seen[id], 1);
	pool_release(&p, &d);
	dict_free_tables(&d);
	assert_int_equal(m.used, 0);
	pool_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_unlink_100k),
		cmocka_unit_test(test_one_chain),
		cmocka_unit_test(test_grow_one_bucket_per_insert),
		cmocka_unit_test(test_rehash_shrink_steps),
		cmocka_unit_test(test_shrink_then_grow),
		cmocka_unit_test(test_shrink_threshold),
		cmocka_unit_test(test_scan_stable_exactly_once),
		cmocka_unit_test(test_scan_under_churn),
		cmocka_unit_test(test_random_covers_small_table),
		cmocka_unit_test(test_random_only_present),
		cmocka_unit_test(test_random_half_split),
		cmocka_unit_test(test_random_adversarial_source),
		cmocka_unit_test(test_each),
	};

	return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
