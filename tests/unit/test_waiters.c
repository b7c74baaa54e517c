/* test_waiters.c: unit tests of node/data/waiters.c (a keyspace's blocked
 * clients per key) and of the keyspace's reports to it.
 *
 * Goal: each key keeps its waiters first come, first served; an offer goes
 * to the first waiter that pops the key's type, and to one waiter at a
 * time (no second offer while one is out); the answer (waiters_done)
 * drops the waiter or keeps it, clears the offer and marks the key ready
 * again, so the next waiter gets its turn; a key's record goes with its
 * last waiter, off the ready list too; a list or sorted set stored under a
 * key with waiters marks it ready (once, however often), a string does not,
 * and neither does a key nobody waits on; the table grows past its first
 * buckets, and every byte goes back to the keyspace's account.
 *
 * Method: a keyspace (fixed-seed xorshift source) and the calls the shard
 * (shard/blocked.c) and the commands make, in order; ks_check() (which
 * counts the table in the account) after every step, and ks_free() must
 * give back every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/stats.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/kv.h"
#include "data/t_list.h"
#include "data/t_string.h"
#include "data/waiters.h"
#include "unit_ks.h"

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
};

static int setup(void **state)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x1234567ull;
	ks_init(&en->ks, &en->st, 0xabcdefull, rnd, &en->rs);
	en->ks.now_ms = 1700000000000LL;
	*state = en;
	return 0;
}

static int teardown(void **state)
{
	struct env *en = *state;

	ks_free(&en->ks);
	assert_int_equal(en->ks.mem.used, 0);
	free(en);
	return 0;
}

static struct waiters *T(struct env *en)
{
	return &en->ks.waiters;
}

static void add(struct env *en, const char *k, uint64_t id, uint8_t type)
{
	struct waiter w = { .id = id,
			    .idx = (uint32_t)id * 10,
			    .gen = 7,
			    .shard = (uint16_t)(id % 3),
			    .type = type };

	waiters_add(T(en), k, strlen(k), &w);
	CHECK(&en->ks);
}

static bool done(struct env *en, const char *k, uint64_t id, bool drop)
{
	bool r = waiters_done(T(en), k, strlen(k), id, drop);

	CHECK(&en->ks);
	return r;
}

/* The id offered for k (0: no offer made). */
static uint64_t offer(struct env *en, const char *k, uint8_t type)
{
	struct waiter w;

	if (!waiters_offer(T(en), k, strlen(k), type, &w))
		return 0;
	assert_int_equal(w.idx, (uint32_t)w.id * 10);
	assert_int_equal(w.gen, 7);
	return w.id;
}

/* The next ready key, as a string ("" when none). */
static const char *take(struct env *en)
{
	static char buf[64];
	const char *key;
	size_t klen;

	if (!waiters_take_ready(T(en), &key, &klen))
		return "";
	assert_true(klen < sizeof(buf));
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	return buf;
}

static void set_list(struct env *en, const char *k)
{
	struct kv *e = ks_set_obj(&en->ks, k, strlen(k), KV_LIST, LIST_LP, list_new(&en->ks.mem),
				  KS_TTL_NONE);

	list_push(&en->ks.mem, e, "v", 1, true); /* an empty list is no value */
	CHECK(&en->ks);
}

static void set_string(struct env *en, const char *k)
{
	struct kval v;

	str_kval(&v, "x", 1, NULL);
	ks_set(&en->ks, k, strlen(k), &v, KS_TTL_NONE);
	CHECK(&en->ks);
}

/* First come, first served; one offer at a time; answers pass the turn. */
static void test_fifo_and_offers(void **state)
{
	struct env *en = *state;

	add(en, "k", 1, KV_LIST);
	add(en, "k", 2, KV_LIST);
	add(en, "k", 3, KV_LIST);
	assert_int_equal(waiters_count(T(en), "k", 1), 3);
	assert_int_equal(T(en)->nwaiters, 3);
	assert_int_equal(offer(en, "k", KV_LIST), 1);
	/* No second offer while one is out. */
	assert_int_equal(offer(en, "k", KV_LIST), 0);
	assert_int_equal(waiters_offered(T(en), "k", 1), 1);
	/* Kept (nothing to pop after all): the offer clears, the key is
	 * ready again, and the same first waiter gets the next offer. */
	assert_false(done(en, "k", 1, false));
	assert_int_equal(waiters_offered(T(en), "k", 1), 0);
	assert_string_equal(take(en), "k");
	assert_string_equal(take(en), "");
	assert_int_equal(offer(en, "k", KV_LIST), 1);
	/* Served: it goes, and the second is next. */
	assert_true(done(en, "k", 1, true));
	assert_string_equal(take(en), "k");
	assert_int_equal(offer(en, "k", KV_LIST), 2);
	/* A waiter that leaves while another holds the offer: the offer
	 * stands. */
	assert_true(done(en, "k", 3, true));
	assert_int_equal(waiters_offered(T(en), "k", 1), 2);
	assert_string_equal(take(en), "");
	/* The last one goes: so does the record. */
	assert_true(done(en, "k", 2, true));
	assert_int_equal(T(en)->n, 0);
	assert_int_equal(T(en)->nwaiters, 0);
	assert_string_equal(take(en), "");
	/* An answer for a key nobody waits on any more changes nothing. */
	assert_false(done(en, "k", 2, true));
}

/* An offer goes to the first waiter of the key's type. */
static void test_types(void **state)
{
	struct env *en = *state;

	add(en, "k", 1, KV_ZSET);
	add(en, "k", 2, KV_LIST);
	add(en, "k", 3, KV_ZSET);
	assert_int_equal(offer(en, "k", KV_LIST), 2);
	assert_true(done(en, "k", 2, true));
	assert_int_equal(offer(en, "k", KV_LIST), 0);
	assert_int_equal(offer(en, "k", KV_ZSET), 1);
	assert_true(done(en, "k", 1, true));
	assert_true(done(en, "k", 3, true));
	assert_int_equal(T(en)->n, 0);
}

/* The keyspace marks a key ready when a list or sorted set is stored
 * under it and it has waiters: once on the list, whatever the writes. */
static void test_keyspace_reports(void **state)
{
	struct env *en = *state;

	set_list(en, "free"); /* nobody waits: nothing */
	assert_int_equal(T(en)->nready, 0);
	add(en, "k", 1, KV_LIST);
	add(en, "j", 2, KV_LIST);
	set_string(en, "k"); /* a string is nothing to pop: no report */
	assert_int_equal(T(en)->nready, 0);
	set_list(en, "k");
	set_list(en, "k");
	set_list(en, "j");
	assert_int_equal(T(en)->nready, 2);
	/* A record that goes leaves the ready list. */
	assert_true(done(en, "k", 1, true));
	assert_int_equal(T(en)->nready, 1);
	assert_string_equal(take(en), "j");
	assert_string_equal(take(en), "");
	/* A rename onto a waited key reports it too. */
	{
		struct kv *e = ks_lookup_write(&en->ks, "free", 4);
		assert_non_null(e);
		ks_rename(&en->ks, e, &en->ks, "j", 1);
		CHECK(&en->ks);
	}
	assert_string_equal(take(en), "j");
	assert_true(done(en, "j", 2, true));
}

/* Many keys and waiters: the table grows, every byte is accounted for and
 * given back (teardown), and each key keeps its own order. */
static void test_many(void **state)
{
	struct env *en = *state;
	char k[32];
	uint64_t id = 1;
	int i, j;

	for (i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		for (j = 0; j < 3; j++)
			add(en, k, id++, KV_LIST);
	}
	assert_int_equal(T(en)->n, 300);
	assert_int_equal(T(en)->nwaiters, 900);
	assert_true(T(en)->nb >= 300);
	for (i = 0; i < 300; i += 7) {
		snprintf(k, sizeof(k), "key:%d", i);
		assert_int_equal(offer(en, k, KV_LIST), (uint64_t)i * 3 + 1);
		assert_true(done(en, k, (uint64_t)i * 3 + 1, true));
		assert_int_equal(offer(en, k, KV_LIST), (uint64_t)i * 3 + 2);
	}
	assert_true(waiters_mem(T(en)) > 0);
	/* teardown frees the rest with the keyspace */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fifo_and_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyspace_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
