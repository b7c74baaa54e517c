/* test_evict.c: unit tests of node/data/policy.c (each key's eviction-policy
 * field, the SIEVE queue) and node/data/evict.c (picking and deleting
 * victims).
 *
 * Goal: every maxmemory-policy evicts the keys it should, in the order it
 * should. allkeys-sieve takes the oldest key not read since the hand last
 * passed it, keeps read keys for one more pass, and treats a key deleted
 * and set again, or moved by a realloc, by its current entry; its queue
 * stays bounded under DEL+SET churn, is enrolled from the keys it predates
 * when the mode changes at run time, and goes when the mode goes.
 * volatile-* policies touch only keys with a TTL and say EVICT_FAIL, in a
 * bounded number of steps, when none is left; allkeys-lru takes the most
 * idle key, allkeys-lfu the least used (Redis's logarithmic counter, its
 * start at 5 and its decay per lfu-decay-time), volatile-ttl the nearest
 * expiry; noeviction evicts nothing. evict_run() reports the bytes it
 * freed exactly (a value left to the background free counts), keeps its
 * budget and says EVICT_RUNNING while progressing; evict_budget() is the
 * documented table.
 *
 * Method: a keyspace (fixed-seed xorshift random source, ks->now_ms set by
 * the test) holds string keys k0, k1, ...; evict_configure() applies a
 * struct config from config_defaults(); evict_run(need 1 byte) removes one
 * key at a time and the test finds which by comparing the key set before
 * and after. ks_check() (table, TTL index, memory account including the
 * policy's pool and queue) must return 0 after every mutating call, and
 * ks_free() must give back every byte. Sampling policies run with
 * maxmemory-samples 64 over at most 20 keys, so the pool sees every key; the
 * LRU order is also checked over 200 random seeds. The last three tests pin
 * bugs this file found, now fixed (each says what went wrong). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "data/dict.h"
#include "data/evict.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/kv.h"
#include "data/lazyfree.h"
#include "data/policy.h"
#include "data/t_hash.h"
#include "data/t_string.h"
#include "unit_ks.h"

#define NOW0 1700000000000LL
#define MAXK 64
#define BIG (1ll << 30) /* a maxmemory: its value does not matter here */
#define LOTS 1000000    /* a budget that never runs out in these tests */

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	struct config cfg;
	bool live[MAXK]; /* which of k0.. the test stored and believes present */
	int nk;          /* names k0..k(nk-1) in use */
};

/* The envs a test opened and has not freed: a failed test's are freed by
 * free_left() (its teardown), so a failure leaks nothing under ASan. */
static struct env *open_envs[4];

static void configure(struct env *en)
{
	evict_configure(&en->ks, &en->cfg);
	CHECK(&en->ks);
}

static struct env *env_seeded(int policy, long long maxmemory, uint64_t seed)
{
	struct env *en = calloc(1, sizeof(*en));
	int i;

	assert_non_null(en);
	en->rs = seed;
	ks_init(&en->ks, &en->st, 0xabcdefull, rnd, &en->rs);
	en->ks.now_ms = NOW0;
	config_defaults(&en->cfg);
	en->cfg.maxmemory_policy = policy;
	en->cfg.maxmemory = maxmemory;
	en->cfg.maxmemory_samples = 64;
	configure(en);
	for (i = 0; i < 4 && open_envs[i] != NULL; i++)
		;
	assert_true(i < 4);
	open_envs[i] = en;
	return en;
}

static struct env *env_new(int policy, long long maxmemory)
{
	return env_seeded(policy, maxmemory, 0x1234567);
}

static void env_forget(struct env *en)
{
	int i;

	for (i = 0; i < 4; i++)
		if (open_envs[i] == en)
			open_envs[i] = NULL;
}

static void env_free(struct env *en)
{
	CHECK(&en->ks);
	env_forget(en);
	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
}

/* Teardown: frees what a failed test left, without checking it. */
static int free_left(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct env *en = open_envs[i];
		if (en == NULL)
			continue;
		open_envs[i] = NULL;
		ks_flush(&en->ks, false);
		while (ks_lazy_step(&en->ks, 1u << 30))
			;
		dict_free_tables(&en->ks.d);
		free(en);
	}
	return 0;
}

static void kname(char *buf, size_t n, int i)
{
	snprintf(buf, n, "k%d", i);
}

/* Whether key k<i> is in the table, without a touch or lazy expiry. */
static bool exists(struct env *en, int i)
{
	char k[16];

	kname(k, sizeof(k), i);
	return dict_find(&en->ks.d, k, strlen(k), ks_hash(&en->ks, k, strlen(k)), NULL) != NULL;
}

/* SET k<i> to a value of vlen bytes ('a' + i), with expire (KS_TTL_NONE or
 * an absolute ms time). */
static struct kv *put_len(struct env *en, int i, size_t vlen, int64_t expire)
{
	char k[16], v[4096];
	struct kval kv;
	struct kv *e;

	assert_true(i < MAXK && vlen <= sizeof(v));
	kname(k, sizeof(k), i);
	memset(v, 'a' + i % 26, vlen);
	str_kval(&kv, v, vlen, NULL);
	e = ks_set(&en->ks, k, strlen(k), &kv, expire);
	CHECK(&en->ks);
	en->live[i] = true;
	if (i >= en->nk)
		en->nk = i + 1;
	return e;
}

static struct kv *put(struct env *en, int i, int64_t expire)
{
	return put_len(en, i, 8, expire);
}

static struct kv *read_key(struct env *en, int i)
{
	char k[16];
	struct kv *e;

	kname(k, sizeof(k), i);
	e = ks_lookup_read(&en->ks, k, strlen(k));
	assert_non_null(e);
	CHECK(&en->ks);
	return e;
}

static struct kv *peek_key(struct env *en, int i)
{
	char k[16];

	kname(k, sizeof(k), i);
	return ks_peek(&en->ks, k, strlen(k));
}

static void del_key(struct env *en, int i)
{
	char k[16];

	kname(k, sizeof(k), i);
	assert_true(ks_delete(&en->ks, k, strlen(k)));
	CHECK(&en->ks);
	en->live[i] = false;
}

/* One evict_run(need 1 byte, budget); returns the key it removed (-1 for
 * none) and its result in *rcp. Exactly one key goes on EVICT_OK, none
 * otherwise, and *freed says so. */
static int evict_one_b(struct env *en, uint64_t budget, enum evict_result *rcp)
{
	uint64_t freed = 12345, evicted = en->st.evicted_keys;
	enum evict_result rc = evict_run(&en->ks, 1, budget, &freed);
	int i, gone = -1, n = 0;

	CHECK(&en->ks);
	for (i = 0; i < en->nk; i++) {
		if (en->live[i] && !exists(en, i)) {
			gone = i;
			n++;
			en->live[i] = false;
		}
	}
	if (rc == EVICT_OK) {
		assert_int_equal(n, 1);
		assert_true(freed >= 1);
		assert_int_equal(en->st.evicted_keys, evicted + 1);
	} else {
		assert_int_equal(n, 0);
		assert_int_equal(freed, 0);
		assert_int_equal(en->st.evicted_keys, evicted);
	}
	if (rcp != NULL)
		*rcp = rc;
	return gone;
}

static int evict_one(struct env *en, enum evict_result *rcp)
{
	return evict_one_b(en, LOTS, rcp);
}

/* The next victims are want[0..n) in this order. */
static void victims_are(struct env *en, const int *want, int n)
{
	enum evict_result rc;
	int i, got;

	for (i = 0; i < n; i++) {
		got = evict_one(en, &rc);
		if (got != want[i])
			fail_msg("victim %d: got k%d (rc %d), want k%d", i, got, rc, want[i]);
	}
}

static void expect_fail(struct env *en)
{
	enum evict_result rc;

	assert_int_equal(evict_one(en, &rc), -1);
	assert_int_equal(rc, EVICT_FAIL);
}

static int live_count(struct env *en)
{
	int i, n = 0;

	for (i = 0; i < en->nk; i++)
		n += en->live[i];
	return n;
}

/* ---- 1. SIEVE order ---- */

/* k0..k9 in order, k0 and k3 read: the unvisited keys go oldest first, then,
 * once the hand has passed k0 and k3 (clearing their bits) and wrapped,
 * they go in insertion order; then nothing is left to evict. */
static void test_sieve_order(void **state)
{
	static const int want[] = { 1, 2, 4, 5, 6, 7, 8, 9, 0, 3 };
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	int i;

	(void)state;
	assert_int_equal(en->ks.pol.mode, POLICY_MODE_SIEVE);
	for (i = 0; i < 10; i++)
		put(en, i, KS_TTL_NONE);
	assert_int_equal(en->ks.pol.n, 10);
	read_key(en, 0);
	read_key(en, 3);
	/* ks_peek is no access: k5 keeps its place as unvisited. */
	assert_non_null(peek_key(en, 5));
	assert_true(read_key(en, 0)->lru & SIEVE_VISITED);
	assert_false(peek_key(en, 5)->lru & SIEVE_VISITED);
	victims_are(en, want, 8);
	/* k0 and k3 were passed once: their bits are clear, they are not gone. */
	assert_true(en->live[0] && en->live[3]);
	assert_false(peek_key(en, 0)->lru & SIEVE_VISITED);
	assert_false(peek_key(en, 3)->lru & SIEVE_VISITED);
	victims_are(en, want + 8, 2);
	assert_int_equal(ks_size(&en->ks), 0);
	expect_fail(en);
	env_free(en);
}

/* A key inserted while the hand is in the middle of a pass is ahead of the
 * hand: it is examined (and, unread, evicted) in this pass, before the
 * survivors behind the hand, as in SIEVE. A key inserted after the hand has
 * wrapped goes after the survivors: FIFO. (A key inserted when the hand has
 * just evicted the newest key is test_sieve_new_key_after_hand_reached_end.) */
static void test_sieve_insert_mid_pass(void **state)
{
	static const int want1[] = { 1, 2, 4, 5, 10, 0, 3 };
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		put(en, i, KS_TTL_NONE);
	read_key(en, 0);
	read_key(en, 3);
	victims_are(en, want1, 1); /* k1: the hand is now at k2 */
	put(en, 10, KS_TTL_NONE);
	victims_are(en, want1 + 1, 6);
	assert_int_equal(ks_size(&en->ks), 0);
	/* k6, k7 read, k8 not: k8 goes, k6 and k7 survive the pass. */
	for (i = 6; i < 9; i++)
		put(en, i, KS_TTL_NONE);
	read_key(en, 6);
	read_key(en, 7);
	victims_are(en, (const int[]){ 8 }, 1);
	/* The hand wraps: k6 goes; k11, set now, queues after k7. */
	victims_are(en, (const int[]){ 6 }, 1);
	put(en, 11, KS_TTL_NONE);
	victims_are(en, (const int[]){ 7, 11 }, 2);
	expect_fail(en);
	env_free(en);
}

/* ---- 2. SIEVE with deletes, re-sets and moving entries ---- */

/* k2 deleted and set again is a new key: its old slot (same hash, older
 * tag) is dropped when the hand reaches it, and k2 goes in its new place,
 * after k9. A flush empties the queue; the keys after it queue afresh. */
static void test_sieve_del_and_reset(void **state)
{
	static const int want[] = { 0, 1, 3, 4, 5, 6, 7, 8, 9, 2 };
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		put(en, i, KS_TTL_NONE);
	del_key(en, 2);
	put(en, 2, KS_TTL_NONE);
	assert_int_equal(en->ks.pol.n, 11);
	assert_false(peek_key(en, 2)->lru & SIEVE_VISITED);
	victims_are(en, want, 10);
	expect_fail(en);
	/* The pass dropped k2's old slot and every evicted key's. */
	assert_int_equal(en->ks.pol.n, 0);

	for (i = 0; i < 5; i++)
		put(en, i, KS_TTL_NONE);
	ks_flush(&en->ks, false);
	CHECK(&en->ks);
	assert_int_equal(en->ks.pol.n, 0);
	assert_int_equal(policy_mem(&en->ks.pol), 0);
	for (i = 0; i < 5; i++)
		en->live[i] = false;
	for (i = 5; i < 8; i++)
		put(en, i, KS_TTL_NONE);
	victims_are(en, (const int[]){ 5, 6, 7 }, 3);
	expect_fail(en);
	env_free(en);
}

/* Many DEL+SET rounds append a slot each; one pass of the hand drops the
 * stale ones and frees the chunks they took, so the queue is the live keys
 * again. */
static void test_sieve_churn_stays_bounded(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	size_t churned;
	int i, r;

	(void)state;
	for (i = 0; i < 20; i++)
		put(en, i, KS_TTL_NONE);
	for (r = 0; r < 500; r++) {
		for (i = 0; i < 20; i++) {
			char k[16];
			kname(k, sizeof(k), i);
			assert_true(ks_delete(&en->ks, k, strlen(k)));
			put(en, i, KS_TTL_NONE);
		}
	}
	assert_int_equal(en->ks.pol.n, 20 + 500 * 20);
	assert_int_equal(en->ks.pol.nchunks, 3);
	churned = policy_mem(&en->ks.pol);
	/* k0..k4 read: they survive the pass that evicts k5..k19. */
	for (i = 0; i < 5; i++)
		read_key(en, i);
	for (i = 5; i < 20; i++)
		assert_int_equal(evict_one(en, NULL), i);
	/* The wrap: only k0..k4's slots are kept, in one chunk plus a spare. */
	assert_int_equal(evict_one(en, NULL), 0);
	assert_int_equal(ks_size(&en->ks), 4);
	assert_true(en->ks.pol.n <= ks_size(&en->ks) + 1);
	assert_true(en->ks.pol.nchunks <= 2);
	assert_true(policy_mem(&en->ks.pol) < churned);
	victims_are(en, (const int[]){ 1, 2, 3, 4 }, 4);
	expect_fail(en);
	env_free(en);
}

/* Entries that move keep their slot: ks_set_expire and ks_edit realloc the
 * entry (k1, k3), a SET of a bigger value replaces it with a new entry (k4)
 * and a SET of an equal size rewrites it in place (k5). The queue finds all
 * four by hash and tag; the SETs are accesses (k4 and k5 survive a pass),
 * the TTL and the edit are not. */
static void test_sieve_moved_entries(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	struct kv *e;
	char *p;
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		put(en, i, KS_TTL_NONE);
	read_key(en, 0);
	read_key(en, 2);
	e = peek_key(en, 1);
	ks_set_expire(&en->ks, e, NOW0 + 3600000);
	CHECK(&en->ks);
	e = peek_key(en, 3);
	p = ks_edit(&en->ks, &e, 40);
	memset(p, 'z', 40);
	CHECK(&en->ks);
	e = put_len(en, 4, 1000, KS_TTL_NONE);
	assert_int_equal(e->enc, KV_RAW); /* a new entry, not rewritten in place */
	assert_true(e->lru & SIEVE_VISITED);
	put_len(en, 5, 8, KS_TTL_NONE);
	assert_true(peek_key(en, 5)->lru & SIEVE_VISITED);
	assert_false(peek_key(en, 1)->lru & SIEVE_VISITED);
	assert_false(peek_key(en, 3)->lru & SIEVE_VISITED);
	assert_int_equal(en->ks.pol.n, 6);
	victims_are(en, (const int[]){ 1, 3, 0, 2, 4, 5 }, 6);
	expect_fail(en);
	env_free(en);
}

/* Stale slots do not count toward "nothing to evict": 20 keys deleted and
 * the 10 left all read; the pass drops 20 slots and clears 10 bits, and the
 * next victim is k20, in the same call. (An earlier evict.c compared every
 * slot seen since the last victim, stale ones included, with 2n+2 for the
 * queue after the wrap, and said EVICT_FAIL here: the shard would have
 * answered OOM with 10 evictable keys.) */
static void test_sieve_stale_slots_no_false_fail(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	enum evict_result rc;
	int i, got;

	(void)state;
	for (i = 0; i < 30; i++)
		put(en, i, KS_TTL_NONE);
	for (i = 0; i < 20; i++)
		del_key(en, i);
	for (i = 20; i < 30; i++)
		read_key(en, i);
	got = evict_one(en, &rc);
	if (rc != EVICT_OK) {
		int again = evict_one(en, NULL);
		fail_msg("evict_run said %d (EVICT_FAIL is %d) with %d evictable keys; the "
			 "next call evicted k%d",
			 rc, EVICT_FAIL, (int)ks_size(&en->ks) + (again >= 0), again);
	}
	assert_int_equal(got, 20);
	env_free(en);
}

/* ---- 3. volatile-sieve ---- */

/* Only k1, k4, k7 have a TTL; k4 was read. volatile-sieve passes over the
 * others (keeping them) and evicts k1, k7, then k4 on the next pass; then
 * it fails, and the keys without a TTL are all there. */
static void test_volatile_sieve(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_SIEVE, BIG);
	enum evict_result rc;
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		put(en, i, i % 3 == 1 ? NOW0 + 3600000 : KS_TTL_NONE);
	read_key(en, 4);
	read_key(en, 5);
	victims_are(en, (const int[]){ 1, 7, 4 }, 3);
	expect_fail(en);
	assert_int_equal(ks_size(&en->ks), 7);
	/* k5's bit was never cleared: it is no candidate, so it is kept as
	 * it was. */
	assert_true(peek_key(en, 5)->lru & SIEVE_VISITED);
	/* A huge budget still ends. */
	assert_int_equal(evict_run(&en->ks, 1, UINT64_MAX, NULL), EVICT_FAIL);
	CHECK(&en->ks);
	/* A key given a TTL later is a candidate. */
	ks_set_expire(&en->ks, peek_key(en, 8), NOW0 + 1000);
	CHECK(&en->ks);
	assert_int_equal(evict_one(en, &rc), 8);
	assert_int_equal(rc, EVICT_OK);
	env_free(en);
}

/* With n keys and none with a TTL, evict_run says EVICT_FAIL after a
 * bounded number of slot visits. Measured with a budget of 1 per call
 * (each call visits one slot, or wraps and decides): evict.c fails at the
 * third wrap since the last victim or new candidate (passes > 2: the pass
 * the hand was in, one that clears every bit, one that finds nothing),
 * i.e. after 3n visits from the oldest slot. Asserted: at most 3n+1 calls,
 * and one call with a budget of 3n+1 (plus the enrolment's) fails. */
static void test_volatile_sieve_fail_is_bounded(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_SIEVE, BIG);
	enum evict_result rc = EVICT_RUNNING;
	const int n = 10;
	int i, calls = 0;

	(void)state;
	for (i = 0; i < n; i++)
		put(en, i, KS_TTL_NONE);
	while (rc == EVICT_RUNNING && calls < 100) {
		assert_int_equal(evict_one_b(en, 1, &rc), -1);
		calls++;
	}
	assert_int_equal(rc, EVICT_FAIL);
	print_message("volatile-sieve, %d keys without TTL: EVICT_FAIL at call %d of budget 1\n", n,
		      calls);
	assert_true(calls <= 3 * n + 1);
	/* From a fresh queue (a policy change re-enrols), one call. */
	en->cfg.maxmemory_policy = POLICY_ALLKEYS_SIEVE;
	configure(en);
	en->cfg.maxmemory_policy = POLICY_VOLATILE_SIEVE;
	configure(en);
	assert_int_equal(evict_one_b(en, 3 * n + 1 + EVICT_ENROLL_STEP + 64, &rc), -1);
	assert_int_equal(rc, EVICT_FAIL);
	assert_int_equal(ks_size(&en->ks), n);
	/* An empty keyspace fails at once. */
	ks_flush(&en->ks, false);
	memset(en->live, 0, sizeof(en->live));
	assert_int_equal(evict_one_b(en, 1, &rc), -1);
	assert_int_equal(rc, EVICT_FAIL);
	env_free(en);
}

/* volatile-sieve with no key that has a TTL: keys without a TTL set between
 * two bounded steps are no candidates and do not restart the count of
 * passes, so EVICT_FAIL comes after about three passes' worth of budget and
 * stays. This is what lets the shard answer OOM: cmd.c runs one bounded
 * evict_step before every DENYOOM command, so if each new key restarted the
 * count (an earlier policy.c did), a queue longer than about budget/3 would
 * never say EVICT_FAIL under a stream of writes of new keys, and memory
 * would grow past maxmemory where Redis answers OOM. Here 2,000 keys, the
 * default tenacity's budget (1016) and 50 rounds of "evict_run, then SET a
 * new key without TTL". */
static void test_volatile_sieve_fails_while_non_candidates_arrive(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_SIEVE, BIG);
	struct keyspace *ks = &en->ks;
	int i, first_fail = -1;
	char k[32];

	(void)state;
	for (i = 0; i < 2000; i++) {
		struct kval v;
		snprintf(k, sizeof(k), "key:%d", i);
		str_kval_int(&v, i);
		ks_set(ks, k, strlen(k), &v, KS_TTL_NONE);
	}
	CHECK(ks);
	for (i = 0; i < 50; i++) {
		struct kval v;
		enum evict_result rc = evict_run(ks, 1, evict_budget(10), NULL);
		assert_true(rc != EVICT_OK);
		if (rc == EVICT_FAIL && first_fail < 0)
			first_fail = i;
		if (first_fail >= 0 && rc != EVICT_FAIL)
			fail_msg("round %d: EVICT_RUNNING after EVICT_FAIL at round %d", i,
				 first_fail);
		snprintf(k, sizeof(k), "new:%d", i);
		str_kval_int(&v, i);
		ks_set(ks, k, strlen(k), &v, KS_TTL_NONE);
	}
	CHECK(ks);
	/* 3 passes of about 2,000 slots at 1016 a round. */
	assert_true(first_fail >= 0 && first_fail <= 7);
	assert_int_equal(ks_size(ks), 2050);
	/* A key set with a TTL is a candidate: the next step evicts it. */
	put(en, 0, NOW0 + 3600000);
	assert_int_equal(evict_one_b(en, LOTS, NULL), 0);
	env_free(en);
}

/* ---- 4. enrolment when the mode changes ---- */

static void test_sieve_enrolment(void **state)
{
	const int nkeys = 10000;
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, 0);
	struct keyspace *ks = &en->ks;
	enum evict_result rc;
	uint64_t evicted = 0, before;
	char k[32];
	int i;

	(void)state;
	/* maxmemory 0: the field is an LRU clock and there is no queue. */
	assert_int_equal(ks->pol.mode, POLICY_MODE_LRU);
	for (i = 0; i < nkeys; i++) {
		struct kval v;
		snprintf(k, sizeof(k), "key:%d", i);
		str_kval_int(&v, i);
		ks_set(ks, k, strlen(k), &v, i % 4 == 0 ? NOW0 + 3600000 : KS_TTL_NONE);
	}
	CHECK(ks);
	assert_int_equal(ks->pol.n, 0);
	assert_int_equal(policy_mem(&ks->pol), 0);
	assert_int_equal(ks_peek(ks, "key:7", 5)->lru, policy_lru_clock(NOW0));

	en->cfg.maxmemory = BIG;
	configure(en);
	assert_int_equal(ks->pol.mode, POLICY_MODE_SIEVE);
	assert_true(ks->pol.enrolling);
	assert_int_equal(ks->pol.n, 0);
	/* The timer enrolls a step's worth. */
	evict_cron(ks);
	CHECK(ks);
	assert_true(ks->pol.n >= EVICT_ENROLL_STEP);
	assert_true(ks->pol.n < (uint64_t)nkeys);
	assert_true(ks->pol.enrolling);
	/* A small budget is spent enrolling: come back, not "nothing left". */
	before = ks->pol.n;
	assert_int_equal(evict_run(ks, 1, 16, NULL), EVICT_RUNNING);
	CHECK(ks);
	assert_int_equal(ks_size(ks), nkeys);
	assert_true(ks->pol.n > before);
	/* Evict everything, one key a call. */
	for (;;) {
		uint64_t freed;
		rc = evict_run(ks, 1, LOTS, &freed);
		if (rc != EVICT_OK)
			break;
		evicted++;
		if (evicted % 500 == 0)
			CHECK(ks);
	}
	CHECK(ks);
	assert_int_equal(rc, EVICT_FAIL);
	assert_false(ks->pol.enrolling);
	assert_int_equal(evicted, nkeys);
	assert_int_equal(ks_size(ks), 0);
	assert_int_equal(en->st.evicted_keys, nkeys);

	/* Back to LRU: the queue goes; the pool is empty. */
	for (i = 0; i < 10; i++)
		put(en, i, KS_TTL_NONE);
	assert_true(policy_mem(&ks->pol) > 0);
	en->cfg.maxmemory_policy = POLICY_ALLKEYS_LRU;
	configure(en);
	assert_int_equal(ks->pol.mode, POLICY_MODE_LRU);
	assert_int_equal(ks->pol.n, 0);
	assert_int_equal(ks->pol.nchunks, 0);
	assert_int_equal(policy_mem(&ks->pol), 0);
	/* LRU evicts with the pool, whose key copies are all policy_mem is. */
	assert_true(evict_one(en, &rc) >= 0);
	{
		size_t pool = 0;
		for (i = 0; i < POLICY_POOL_SIZE; i++)
			pool += mem_size(ks->pol.pool[i].key);
		assert_int_equal(policy_mem(&ks->pol), pool);
	}
	env_free(en);
}

/* Keys set while enrolment is under way are in the queue at once; keys the
 * scan meets twice get a second slot, and the older one is dropped. */
static void test_sieve_enrolment_with_writes(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, 0);
	struct keyspace *ks = &en->ks;
	enum evict_result rc;
	int i, n = 0;

	(void)state;
	for (i = 0; i < 30; i++)
		put(en, i, KS_TTL_NONE);
	en->cfg.maxmemory = BIG;
	configure(en);
	assert_true(ks->pol.enrolling);
	for (i = 30; i < 40; i++)
		put(en, i, KS_TTL_NONE);
	assert_int_equal(ks->pol.n, 10);
	while (evict_one(en, &rc) >= 0)
		n++;
	assert_int_equal(rc, EVICT_FAIL);
	assert_int_equal(n, 40);
	assert_int_equal(live_count(en), 0);
	env_free(en);
}

/* ---- 5. allkeys-lru ---- */

/* k_i set at t0 + i s (i < 10); k2 and k5 read at t0 + 20 s and 21 s; now
 * t0 + 30 s. The idle order is k0, k1, k3, k4, k6..k9, k2, k5. Returns the
 * number of victims that were not the most idle key left. */
static int lru_run(uint64_t seed, bool strict)
{
	static const int want[] = { 0, 1, 3, 4, 6, 7, 8, 9, 2, 5 };
	struct env *en = env_seeded(POLICY_ALLKEYS_LRU, BIG, seed);
	int i, wrong = 0;

	for (i = 0; i < 10; i++) {
		en->ks.now_ms = NOW0 + i * 1000;
		put(en, i, KS_TTL_NONE);
	}
	en->ks.now_ms = NOW0 + 20000;
	read_key(en, 2);
	en->ks.now_ms = NOW0 + 21000;
	read_key(en, 5);
	en->ks.now_ms = NOW0 + 30000;
	assert_int_equal(ks_idle_ms(&en->ks, peek_key(en, 0)), 30000);
	assert_int_equal(ks_idle_ms(&en->ks, peek_key(en, 2)), 10000);
	for (i = 0; i < 10; i++) {
		int got = evict_one(en, NULL);
		/* The most idle key left, whatever went before. */
		int best = -1, j;
		assert_true(got >= 0);
		for (j = 0; j < 10 && best < 0; j++)
			if (want[j] == got || en->live[want[j]])
				best = want[j];
		if (got != best) {
			if (strict)
				fail_msg("seed %llu: victim %d is k%d, want k%d",
					 (unsigned long long)seed, i, got, best);
			wrong++;
		}
	}
	expect_fail(en);
	env_free(en);
	return wrong;
}

/* With 64 samples per pick and a pool of 16 kept between picks, each pick
 * sees the most idle key left unless all 64 samples of the round missed it
 * and no earlier round saw it: at most (9/10)^64 ~ 1e-3 for the first pick
 * and less after. The fixed seed is exact; over 200 seeds at most 2 of the
 * 2,000 picks may miss (expected about 0.4). */
static void test_allkeys_lru(void **state)
{
	int s, wrong = 0;

	(void)state;
	assert_int_equal(lru_run(0x1234567, true), 0);
	for (s = 1; s <= 200; s++)
		wrong += lru_run(0x9e3779b97f4a7c15ull * (uint64_t)s, false);
	print_message("allkeys-lru: %d of 2000 picks were not the most idle key\n", wrong);
	assert_true(wrong <= 2);
}

/* volatile-lru samples the TTL index only. */
static void test_volatile_lru(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_LRU, BIG);
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		en->ks.now_ms = NOW0 + i * 1000;
		put(en, i, i % 2 ? NOW0 + 3600000 : KS_TTL_NONE);
	}
	en->ks.now_ms = NOW0 + 20000;
	read_key(en, 3);
	victims_are(en, (const int[]){ 1, 5, 7, 9, 3 }, 5);
	expect_fail(en);
	assert_int_equal(ks_size(&en->ks), 5);
	env_free(en);
}

/* ---- 6. LFU ---- */

/* A new key's counter is 5; the first touch takes it to 6 (probability 1
 * at or below 5), then each touch adds one with probability
 * 1/((c-5)*lfu_log_factor+1). ks_peek does not count. */
static void test_lfu_counter(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_LFU, BIG);
	struct keyspace *ks = &en->ks;
	unsigned c, prev, sum = 0;
	int i, t;

	(void)state;
	assert_int_equal(ks->pol.mode, POLICY_MODE_LFU);
	put(en, 0, KS_TTL_NONE);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), POLICY_LFU_INIT);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), 5);
	read_key(en, 0);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), 6);
	/* Steps of at most one, never down within the minute. */
	prev = 6;
	for (t = 0; t < 200; t++) {
		c = policy_lfu_freq(&ks->pol, read_key(en, 0), ks->now_ms);
		assert_true(c == prev || c == prev + 1);
		prev = c;
	}
	/* Expected touches to reach c from 5: sum over j < c-5 of (10j+1):
	 * 105 for 10, 217 for 12, 288 for 13, 64 for 9. */
	print_message("lfu counter after 201 touches: %u\n", prev);
	assert_true(prev >= 9 && prev <= 14);
	/* An overwrite keeps the counter, as Redis's does. */
	put_len(en, 0, 100, KS_TTL_NONE);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), prev);

	/* The mean over 40 keys of 100 touches each is Redis's table's 10. */
	for (i = 1; i <= 40; i++) {
		put(en, i, KS_TTL_NONE);
		for (t = 0; t < 100; t++)
			read_key(en, i);
		sum += policy_lfu_freq(&ks->pol, peek_key(en, i), ks->now_ms);
	}
	print_message("lfu mean counter after 100 touches: %.2f\n", sum / 40.0);
	assert_true(sum >= 40 * 9 && sum <= 40 * 11);

	/* lfu-log-factor 0: every touch counts, up to 255. */
	en->cfg.lfu_log_factor = 0;
	configure(en);
	put(en, 50, KS_TTL_NONE);
	for (t = 0; t < 300; t++)
		read_key(en, 50);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 50), ks->now_ms), 255);
	env_free(en);
}

/* The counter loses one per lfu-decay-time minutes since its last touch,
 * down to 0; lfu-decay-time 0 never decays. Reading the counter (OBJECT
 * FREQ) does not store the decay; a touch does. */
static void test_lfu_decay(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_LFU, BIG);
	struct keyspace *ks = &en->ks;
	const int64_t min = 60000;
	unsigned f;
	int t;

	(void)state;
	put(en, 0, KS_TTL_NONE);
	for (t = 0; t < 100; t++)
		read_key(en, 0);
	f = policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms);
	assert_true(f >= 8);
	ks->now_ms += min - 1 - (NOW0 % min); /* the same minute */
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f);
	ks->now_ms += 1; /* the next minute */
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f - 1);
	ks->now_ms += 2 * min;
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f - 3);
	/* lfu-decay-time 2: three minutes are one period; four are two. */
	en->cfg.lfu_decay_time = 2;
	configure(en);
	assert_int_equal(ks->pol.mode, POLICY_MODE_LFU);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f - 1);
	ks->now_ms += min;
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f - 2);
	en->cfg.lfu_decay_time = 0;
	configure(en);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), f);
	en->cfg.lfu_decay_time = 1;
	configure(en);
	ks->now_ms += 1000 * min;
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), 0);
	/* A touch stores the decayed counter (0), then increments it: at or
	 * below 5 with probability 1. */
	read_key(en, 0);
	assert_int_equal(policy_lfu_freq(&ks->pol, peek_key(en, 0), ks->now_ms), 1);
	env_free(en);
}

/* Ten keys touched 200 times each outlive ten touched once; the cold ones
 * go first, and then the hot ones. */
static void test_allkeys_lfu(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_LFU, BIG);
	int i, t;

	(void)state;
	for (i = 0; i < 20; i++) {
		put(en, i, KS_TTL_NONE);
		for (t = 0; t < (i % 2 ? 1 : 200); t++)
			read_key(en, i);
	}
	for (i = 0; i < 10; i++) {
		int got = evict_one(en, NULL);
		if (got < 0 || got % 2 == 0)
			fail_msg("LFU victim %d is k%d, a hot key", i, got);
	}
	for (i = 0; i < 20; i += 2)
		assert_true(en->live[i]);
	/* Hot keys left alone for 300 minutes decay to 0, below a new key's 5;
	 * k0, read 200 times again, is hot again: k2..k18, then k30, then k0. */
	en->ks.now_ms += 60000LL * 300;
	for (t = 0; t < 200; t++)
		read_key(en, 0);
	put(en, 30, KS_TTL_NONE);
	for (i = 0; i < 9; i++) {
		int got = evict_one(en, NULL);
		assert_true(got >= 2 && got % 2 == 0 && got != 30);
	}
	victims_are(en, (const int[]){ 30, 0 }, 2);
	expect_fail(en);
	env_free(en);
}

/* ---- 7. volatile-ttl ---- */

static void test_volatile_ttl(void **state)
{
	static const int64_t ttl_s[10] = { -1, 50, -1, 10, -1, 30, -1, 20, -1, 40 };
	struct env *en = env_new(POLICY_VOLATILE_TTL, BIG);
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		put(en, i, ttl_s[i] < 0 ? KS_TTL_NONE : NOW0 + ttl_s[i] * 1000);
	/* Reads do not matter to it. */
	read_key(en, 3);
	victims_are(en, (const int[]){ 3, 7, 5, 9, 1 }, 5);
	expect_fail(en);
	assert_int_equal(ks_size(&en->ks), 5);
	assert_int_equal(en->ks.ttl.n, 0);
	env_free(en);
}

/* ---- 8. random ---- */

static void test_random_policies(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_RANDOM, BIG);
	bool in_order = true;
	int i, got;

	(void)state;
	expect_fail(en); /* empty */
	for (i = 0; i < 10; i++)
		put(en, i, KS_TTL_NONE);
	for (i = 0; i < 10; i++) {
		got = evict_one(en, NULL);
		assert_true(got >= 0);
		in_order = in_order && got == i;
	}
	assert_false(in_order);
	expect_fail(en);

	en->cfg.maxmemory_policy = POLICY_VOLATILE_RANDOM;
	configure(en);
	for (i = 0; i < 10; i++)
		put(en, i, KS_TTL_NONE);
	expect_fail(en); /* no key with a TTL */
	for (i = 10; i < 14; i++)
		put(en, i, NOW0 + 3600000);
	for (i = 0; i < 4; i++) {
		got = evict_one(en, NULL);
		assert_true(got >= 10 && got < 14);
	}
	expect_fail(en);
	assert_int_equal(ks_size(&en->ks), 10);
	env_free(en);
}

/* ---- 9. noeviction ---- */

static void test_noeviction(void **state)
{
	struct env *en = env_new(POLICY_NOEVICTION, BIG);
	uint64_t freed = 1;
	size_t used;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		put(en, i, i % 2 ? NOW0 + 1000 : KS_TTL_NONE);
	used = en->ks.mem.used;
	assert_int_equal(evict_run(&en->ks, 1, LOTS, &freed), EVICT_FAIL);
	assert_int_equal(freed, 0);
	assert_int_equal(evict_run(&en->ks, 1000000, UINT64_MAX, NULL), EVICT_FAIL);
	CHECK(&en->ks);
	assert_int_equal(ks_size(&en->ks), 5);
	assert_int_equal(en->ks.mem.used, used);
	assert_int_equal(en->st.evicted_keys, 0);
	/* Nothing asked, nothing to refuse. */
	assert_int_equal(evict_run(&en->ks, 0, LOTS, &freed), EVICT_OK);
	assert_int_equal(freed, 0);
	env_free(en);
}

/* ---- 10. accounting ---- */

/* The account less the policy's own memory (the pool's key copies and the
 * queue's chunks, which a pick allocates and frees) and the table's. */
static size_t data_used(const struct keyspace *ks)
{
	return ks->mem.used - policy_mem(&ks->pol) - dict_mem(&ks->d);
}

/* For each policy, keys of several sizes (inline, referenced buffers, with
 * and without TTL): evict_run(need) frees at least need, and *freed is
 * exactly what left the account for the keys' sake. */
static void test_freed_is_exact(void **state)
{
	static const int policies[] = { POLICY_ALLKEYS_LRU,    POLICY_ALLKEYS_LFU,
					POLICY_ALLKEYS_RANDOM, POLICY_ALLKEYS_SIEVE,
					POLICY_VOLATILE_TTL,   POLICY_VOLATILE_SIEVE,
					POLICY_VOLATILE_LRU,   POLICY_VOLATILE_RANDOM };
	size_t pi;

	(void)state;
	for (pi = 0; pi < sizeof(policies) / sizeof(policies[0]); pi++) {
		struct env *en = env_new(policies[pi], BIG);
		struct keyspace *ks = &en->ks;
		enum evict_result rc;
		int i, round;

		for (i = 0; i < 40; i++)
			put_len(en, i, (size_t)(i * 97 % 3000), NOW0 + 1000 * (i + 1));
		/* No rehash left, whose end would free a table inside a pick. */
		while (dict_rehash(&ks->d, 100))
			;
		for (round = 0; round < 5; round++) {
			uint64_t need = 2000 + 3000 * (uint64_t)round, freed;
			size_t before = data_used(ks);
			uint64_t ev = en->st.evicted_keys, n0 = ks_size(ks);
			rc = evict_run(ks, need, LOTS, &freed);
			CHECK(ks);
			assert_int_equal(rc, EVICT_OK);
			assert_true(freed >= need);
			assert_int_equal(freed, before - data_used(ks));
			assert_int_equal(en->st.evicted_keys - ev, n0 - ks_size(ks));
		}
		env_free(en);
	}
}

static struct kv *big_hash(struct env *en, int i, int fields, int64_t expire)
{
	struct hash_limits lim = { 4, 64, en->ks.seed };
	char k[16], f[16];
	struct kv *e;
	int j;

	kname(k, sizeof(k), i);
	e = ks_set_obj(&en->ks, k, strlen(k), KV_HASH, HASH_LP, hash_new(&en->ks.mem), expire);
	for (j = 0; j < fields; j++) {
		snprintf(f, sizeof(f), "f%d", j);
		hash_set(&en->ks.mem, e, &lim, f, strlen(f), "v", 1, NULL);
	}
	CHECK(&en->ks);
	en->live[i] = true;
	if (i >= en->nk)
		en->nk = i + 1;
	return e;
}

/* The bytes of the lazy free's record of one value. */
static size_t lazy_record_size(void)
{
	struct mem m = { 0 };
	void *p = mem_alloc(&m, sizeof(struct lazy_obj));
	size_t n = mem_size(p);

	mem_free(&m, p);
	return n;
}

/* lazyfree-lazy-eviction: a big hash is handed to the background free and
 * counts as freed at once (less the few bytes of the lazy free's record,
 * which go with the value); ks_lazy_step gives the memory back. A small
 * value is freed at once. */
static void test_lazy_eviction(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_RANDOM, BIG);
	struct keyspace *ks = &en->ks;
	size_t before, obj, ent, drop, rec = lazy_record_size();
	uint64_t freed;

	(void)state;
	en->cfg.lazyfree_lazy_eviction = true;
	configure(en);
	big_hash(en, 0, 200, KS_TTL_NONE);
	assert_true(obj_free_later(ks->types, peek_key(en, 0)));
	obj = obj_size(ks->types, peek_key(en, 0));
	ent = dict_entry_size(&ks->d, peek_key(en, 0));
	before = data_used(ks);
	assert_int_equal(evict_run(ks, 1, LOTS, &freed), EVICT_OK);
	CHECK(ks);
	assert_int_equal(ks_size(ks), 0);
	assert_int_equal(ks->lazy.pending_objs, 1);
	assert_true(freed + rec >= ent + obj);
	/* The value is still charged, in the background's hands: the account
	 * lost the entry and gained the lazy free's record. */
	assert_int_equal(data_used(ks) + ent, before + rec);
	while (ks_lazy_step(ks, 16))
		CHECK(ks);
	CHECK(ks);
	assert_int_equal(ks->lazy.pending_objs, 0);
	assert_int_equal(en->st.lazyfreed_objects, 1);
	drop = before - data_used(ks);
	assert_int_equal(drop, ent + obj);
	assert_true(freed <= drop && freed + rec >= drop);
	assert_int_equal(en->st.evicted_keys, 1);

	/* A small hash (effort under the threshold) goes at once. */
	big_hash(en, 1, 3, KS_TTL_NONE);
	before = data_used(ks);
	assert_int_equal(evict_run(ks, 1, LOTS, &freed), EVICT_OK);
	CHECK(ks);
	assert_int_equal(ks->lazy.pending_objs, 0);
	assert_int_equal(freed, before - data_used(ks));
	env_free(en);
}

static void test_evict_budget(void **state)
{
	long long t;

	(void)state;
	assert_int_equal(evict_budget(0), 16);
	assert_int_equal(evict_budget(1), 116);
	assert_int_equal(evict_budget(10), 1016);
	assert_int_equal(evict_budget(11), 16 + 1150);
	assert_true(evict_budget(100) == UINT64_MAX);
	assert_true(evict_budget(1000) == UINT64_MAX);
	for (t = 0; t < 100; t++) {
		assert_true(evict_budget(t) < evict_budget(t + 1));
		assert_true(evict_budget(t) < UINT64_MAX);
	}
}

/* ---- 11. budgets ---- */

/* allkeys-sieve with every key read: a budget of 16 clears 16 bits a call
 * and says EVICT_RUNNING, the hand moving on; after a whole pass the first
 * key (its bit now clear) goes. */
static void test_budget_sieve(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	enum evict_result rc;
	uint64_t r = 0;
	int i, calls = 0;

	(void)state;
	for (i = 0; i < 50; i++)
		put(en, i, KS_TTL_NONE);
	for (i = 0; i < 50; i++)
		read_key(en, i);
	for (;;) {
		int got = evict_one_b(en, 16, &rc);
		calls++;
		if (rc == EVICT_OK) {
			assert_int_equal(got, 0);
			break;
		}
		assert_int_equal(rc, EVICT_RUNNING);
		assert_true(en->ks.pol.r > r); /* progress */
		r = en->ks.pol.r;
		assert_true(calls < 10);
	}
	assert_int_equal(calls, 4); /* 16 + 16 + 16, then 2 and the wrap */
	/* A need of many keys with a small budget: up to 16 keys a call,
	 * then come back. */
	{
		uint64_t freed;
		rc = evict_run(&en->ks, UINT64_MAX, 16, &freed);
		CHECK(&en->ks);
		assert_int_equal(rc, EVICT_RUNNING);
		assert_int_equal(ks_size(&en->ks), 49 - 16);
		assert_true(freed > 0);
	}
	env_free(en);
}

/* allkeys-lru with 64 samples and a budget of 16: one round of samples per
 * call, so one key per call and EVICT_RUNNING until the need is met. */
static void test_budget_lru(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_LRU, BIG);
	enum evict_result rc;
	uint64_t freed;
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		put_len(en, i, 100, KS_TTL_NONE);
	for (i = 0; i < 5; i++) {
		rc = evict_run(&en->ks, UINT64_MAX, 16, &freed);
		CHECK(&en->ks);
		assert_int_equal(rc, EVICT_RUNNING);
		assert_true(freed > 100);
		assert_int_equal(ks_size(&en->ks), 19 - (uint64_t)i);
	}
	rc = evict_run(&en->ks, UINT64_MAX, LOTS, &freed);
	CHECK(&en->ks);
	assert_int_equal(rc, EVICT_FAIL);
	assert_int_equal(ks_size(&en->ks), 0);
	env_free(en);
}

/* ---- behaviours believed wrong in node/ ---- */

/* BUG (evict.c sieve_pick / policy.c sieve_append): the hand wraps lazily,
 * at the next pick that finds r == n. If the victim was the newest slot,
 * r == n is left standing; a key set next is appended at n, i.e. in front
 * of the hand, so the next pick takes it before the keys the hand already
 * passed and cleared. In SIEVE (Zhang et al., Algorithm 1: hand = o.prev,
 * null past the head, so the next eviction starts at the tail) the next
 * victim is the oldest survivor. Worse, this is a fixed point: each
 * eviction again leaves r == n, so under writes that need one eviction each
 * (make_room runs before the SET) every new key is evicted by the next
 * write unless read in between, and the survivors are never looked at
 * again. Here k0..k3 read, k4 evicted by a pass that ended at the last
 * slot, then 5 rounds of "set a new key, evict one": SIEVE takes k0, k1,
 * k2, k3, then k5 (FIFO); evict.c took k5, k6, k7, k8, k9 before the fix. */
static void test_sieve_new_key_after_hand_reached_end(void **state)
{
	struct env *en = env_new(POLICY_ALLKEYS_SIEVE, BIG);
	int got[5], i;

	(void)state;
	for (i = 0; i < 5; i++)
		put(en, i, KS_TTL_NONE);
	for (i = 0; i < 4; i++)
		read_key(en, i);
	/* The pass ends at the newest slot: k4 goes, k0..k3 were cleared. */
	assert_int_equal(evict_one(en, NULL), 4);
	for (i = 0; i < 5; i++) {
		put(en, 5 + i, KS_TTL_NONE);
		got[i] = evict_one(en, NULL);
	}
	print_message("victims after the hand reached the end: k%d k%d k%d k%d k%d "
		      "(SIEVE: k0 k1 k2 k3 k5)\n",
		      got[0], got[1], got[2], got[3], got[4]);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 3);
	assert_int_equal(got[4], 5);
	env_free(en);
}

/* BUG (evict.c evict_key): with lazyfree-lazy-eviction, a big value is
 * counted as later = obj_size() and then unlinked with ks_unlink(), which
 * looks the key up again with lazy expiry. If the victim's TTL has passed
 * (volatile-ttl prefers exactly those keys; active expiry has not reached
 * it yet), lookup() frees the entry and its value at once and ks_unlink()
 * returns false: before the fix, the value's bytes were in before - used AND in later,
 * so *freed is more than what left the account (and will ever leave it),
 * and the key counts both as expired and as evicted. The shard then
 * believes it freed more than it did. */
static void test_lazy_evict_expired_counted_once(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_TTL, BIG);
	struct keyspace *ks = &en->ks;
	size_t before, drop;
	uint64_t freed;

	(void)state;
	en->cfg.lazyfree_lazy_eviction = true;
	configure(en);
	big_hash(en, 0, 200, NOW0 + 1000);
	ks->now_ms = NOW0 + 5000; /* past its TTL; not yet expired by anyone */
	before = data_used(ks);
	assert_int_equal(evict_run(ks, 1, LOTS, &freed), EVICT_OK);
	CHECK(ks);
	while (ks_lazy_step(ks, 1000))
		;
	CHECK(ks);
	drop = before - data_used(ks);
	print_message("freed %llu, account fell by %zu; expired %llu, evicted %llu\n",
		      (unsigned long long)freed, drop, (unsigned long long)en->st.expired_keys,
		      (unsigned long long)en->st.evicted_keys);
	assert_true(freed <= drop);
	assert_int_equal(en->st.expired_keys + en->st.evicted_keys, 1);
	env_free(en);
}

/* BUG (keyspace.c place_entry / evict.c sieve_pick): once volatile-sieve
 * has said EVICT_FAIL, p->passes is 3 and sieve_pick returns EVICT_FAIL at
 * once, before looking at any slot, until policy_ttl_added() or the append
 * of a key with a TTL sets it back to 0. A key that gains a TTL by being
 * overwritten (SET k v EX s on a key without TTL; also ks_rename or
 * ks_copy onto such a key) goes through place_entry's replace path,
 * which called ttl_add() but not policy_ttl_added() before the fix.
 * So volatile-sieve kept saying EVICT_FAIL, and the shard answered OOM,
 * though k2 now has a TTL and may be evicted. (ks_set_expire, the EXPIRE
 * path, does reset it: see test_volatile_sieve.) */
static void test_volatile_sieve_ttl_by_overwrite(void **state)
{
	struct env *en = env_new(POLICY_VOLATILE_SIEVE, BIG);
	enum evict_result rc;
	int i, got;

	(void)state;
	for (i = 0; i < 5; i++)
		put(en, i, KS_TTL_NONE);
	expect_fail(en);
	/* SET k2 <new value> EX 3600: a new entry replacing k2, with a TTL. */
	put_len(en, 2, 100, NOW0 + 3600000);
	assert_true(kv_has_ttl(peek_key(en, 2)));
	assert_int_equal(en->ks.ttl.n, 1);
	got = evict_one(en, &rc);
	if (got != 2)
		fail_msg("volatile-sieve said %d (EVICT_FAIL is %d) with k2 holding a TTL", rc,
			 EVICT_FAIL);
	env_free(en);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, free_left)
	const struct CMUnitTest tests[] = {
		T(test_sieve_order),
		T(test_sieve_insert_mid_pass),
		T(test_sieve_del_and_reset),
		T(test_sieve_churn_stays_bounded),
		T(test_sieve_moved_entries),
		T(test_sieve_stale_slots_no_false_fail),
		T(test_volatile_sieve),
		T(test_volatile_sieve_fail_is_bounded),
		T(test_volatile_sieve_fails_while_non_candidates_arrive),
		T(test_sieve_enrolment),
		T(test_sieve_enrolment_with_writes),
		T(test_allkeys_lru),
		T(test_volatile_lru),
		T(test_lfu_counter),
		T(test_lfu_decay),
		T(test_allkeys_lfu),
		T(test_volatile_ttl),
		T(test_random_policies),
		T(test_noeviction),
		T(test_freed_is_exact),
		T(test_lazy_eviction),
		T(test_evict_budget),
		T(test_budget_sieve),
		T(test_budget_lru),
		T(test_sieve_new_key_after_hand_reached_end),
		T(test_lazy_evict_expired_counted_once),
		T(test_volatile_sieve_ttl_by_overwrite),
	};

	return cmocka_run_group_tests_name("evict", tests, NULL, NULL);
}
