/* test_tracking.c: unit tests of node/data/tracking.c (a keyspace's keys
 * remembered for CLIENT TRACKING) and of the keyspace's reports to it.
 *
 * Goal: a remembered key is reported once, with each of its clients once
 * (ids sorted), on every way the keyspace changes it (SET, an in-place
 * change after a lookup for writing, a TTL, DEL, expiry, rename), and then
 * forgotten; a lookup for writing that changes nothing reports nothing;
 * while a BCAST client exists every change is reported, remembered or
 * not; a flush reports itself once and forgets everything; the bound
 * (max_keys) reports the key it drops and never holds more; every byte
 * goes back to the keyspace's account.
 *
 * Method: a keyspace with a hook that records what it is told, and the
 * calls a command would make, in order; ks_check() (which counts the
 * tracking table) after each step, and ks_free() must give back every
 * byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"
#include "data/expire.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/t_string.h"
#include "data/tracking.h"
#include "unit_ks.h"

#define NOW0 1700000000000LL
#define LOG_MAX 64

struct report {
	enum tracking_event ev;
	char key[32];
	uint64_t ids[8];
	uint32_t nids;
};

struct env {
	struct stats st;
	struct keyspace ks;
	uint64_t rs;
	atomic_uint bcast;
	struct report log[LOG_MAX];
	unsigned n;
};

static void hook(void *arg, enum tracking_event ev, const char *key, size_t klen,
		 const uint64_t *ids, uint32_t nids)
{
	struct env *en = arg;
	struct report *r;

	assert_true(en->n < LOG_MAX);
	assert_true(klen < sizeof(r->key));
	assert_true(nids <= 8);
	r = &en->log[en->n++];
	r->ev = ev;
	if (klen > 0)
		memcpy(r->key, key, klen);
	r->key[klen] = '\0';
	if (nids > 0)
		memcpy(r->ids, ids, nids * sizeof(*ids));
	r->nids = nids;
}

static int setup(void **state)
{
	struct env *en = calloc(1, sizeof(*en));

	assert_non_null(en);
	en->rs = 0x1234567ull;
	ks_init(&en->ks, &en->st, 0xabcdefull, rnd, &en->rs);
	en->ks.now_ms = NOW0;
	atomic_init(&en->bcast, 0);
	en->ks.trk.bcast = &en->bcast;
	en->ks.trk.hook = hook;
	en->ks.trk.hook_arg = en;
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

static void set(struct env *en, const char *k, const char *v, int64_t expire)
{
	struct kval kv;

	str_kval(&kv, v, strlen(v), NULL);
	ks_set(&en->ks, k, strlen(k), &kv, expire);
	CHECK(&en->ks);
}

static void remember(struct env *en, const char *k, uint64_t id)
{
	tracking_remember(&en->ks.trk, k, strlen(k), id);
	CHECK(&en->ks);
}

/* The log holds exactly one report: ev on k with these ids. */
static void expect_one(struct env *en, enum tracking_event ev, const char *k, const uint64_t *ids,
		       uint32_t nids)
{
	assert_int_equal(en->n, 1);
	assert_int_equal(en->log[0].ev, ev);
	assert_string_equal(en->log[0].key, k);
	assert_int_equal(en->log[0].nids, nids);
	if (nids > 0)
		assert_memory_equal(en->log[0].ids, ids, nids * sizeof(*ids));
	en->n = 0;
}

/* Clients are kept sorted and once; the key is reported once, then
 * forgotten. */
static void test_remember_and_report(void **state)
{
	struct env *en = *state;
	const uint64_t ids[] = { 3, 7, 42 };

	remember(en, "k", 42);
	remember(en, "k", 3);
	remember(en, "k", 7);
	remember(en, "k", 3);
	remember(en, "other", 9);
	assert_int_equal(en->ks.trk.n, 2);
	assert_int_equal(en->ks.trk.items, 4);
	set(en, "k", "v", KS_TTL_NONE);
	expect_one(en, TRACKING_KEY, "k", ids, 3);
	set(en, "k", "w", KS_TTL_NONE);
	assert_int_equal(en->n, 0);
	assert_int_equal(en->ks.trk.n, 1);
	assert_int_equal(en->ks.trk.items, 1);
}

/* Every way the keyspace changes a key reports it. */
static void test_keyspace_reports(void **state)
{
	struct env *en = *state;
	const uint64_t id = 5;
	struct kv *e;

	set(en, "k", "v", KS_TTL_NONE);
	remember(en, "k", id);
	e = ks_lookup_write(&en->ks, "k", 1);
	ks_set_expire(&en->ks, e, NOW0 + 1000);
	expect_one(en, TRACKING_KEY, "k", &id, 1);

	remember(en, "k", id);
	e = ks_lookup_write(&en->ks, "k", 1);
	ks_persist(&en->ks, e);
	expect_one(en, TRACKING_KEY, "k", &id, 1);

	remember(en, "k", id);
	assert_true(ks_delete(&en->ks, "k", 1));
	expect_one(en, TRACKING_KEY, "k", &id, 1);

	/* Expiry, found by a lookup. */
	set(en, "k", "v", NOW0 + 10);
	en->n = 0;
	remember(en, "k", id);
	en->ks.now_ms = NOW0 + 11;
	assert_null(ks_lookup_read(&en->ks, "k", 1));
	expect_one(en, TRACKING_KEY, "k", &id, 1);

	/* A rename reports both keys. */
	set(en, "src", "v", KS_TTL_NONE);
	en->n = 0;
	remember(en, "src", 1);
	remember(en, "dst", 2);
	e = ks_lookup_write(&en->ks, "src", 3);
	ks_rename(&en->ks, e, &en->ks, "dst", 3);
	assert_int_equal(en->n, 2);
	en->n = 0;
	CHECK(&en->ks);
}

/* A lookup for writing counts as a change only if the keyspace changes
 * before the command ends. */
static void test_in_place(void **state)
{
	struct env *en = *state;
	const uint64_t id = 11;

	set(en, "k", "v", KS_TTL_NONE);
	remember(en, "k", id);
	(void)ks_lookup_write(&en->ks, "k", 1);
	ks_changed(&en->ks, 0);
	tracking_cmd_done(&en->ks.trk);
	assert_int_equal(en->n, 0);
	(void)ks_lookup_write(&en->ks, "k", 1);
	ks_changed(&en->ks, 1);
	expect_one(en, TRACKING_KEY, "k", &id, 1);
	ks_changed(&en->ks, 1); /* reported once */
	assert_int_equal(en->n, 0);
	tracking_cmd_done(&en->ks.trk);
	CHECK(&en->ks);
}

/* With a BCAST client in the node, every change is reported. */
static void test_bcast(void **state)
{
	struct env *en = *state;
	const uint64_t id = 4;

	set(en, "a", "v", KS_TTL_NONE);
	assert_int_equal(en->n, 0);
	atomic_store(&en->bcast, 1);
	set(en, "a", "w", KS_TTL_NONE);
	expect_one(en, TRACKING_BCAST, "a", NULL, 0);
	remember(en, "b", id);
	set(en, "b", "w", KS_TTL_NONE);
	assert_int_equal(en->n, 2);
	assert_int_equal(en->log[0].ev, TRACKING_BCAST);
	assert_int_equal(en->log[1].ev, TRACKING_KEY);
	en->n = 0;
	/* In place too, without a record. */
	(void)ks_lookup_write(&en->ks, "a", 1);
	ks_changed(&en->ks, 1);
	expect_one(en, TRACKING_BCAST, "a", NULL, 0);
	tracking_cmd_done(&en->ks.trk);
	atomic_store(&en->bcast, 0);
}

/* A flush reports itself once and forgets every record. */
static void test_flush(void **state)
{
	struct env *en = *state;
	char k[16];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		remember(en, k, (uint64_t)i);
	}
	assert_int_equal(en->ks.trk.n, 100);
	ks_flush(&en->ks, false);
	assert_int_equal(en->n, 1);
	assert_int_equal(en->log[0].ev, TRACKING_FLUSH);
	en->n = 0;
	assert_int_equal(en->ks.trk.n, 0);
	assert_int_equal(en->ks.trk.items, 0);
	CHECK(&en->ks);
}

/* The bound: one more key makes one go, reported; never more than max. */
static void test_bound(void **state)
{
	struct env *en = *state;
	char k[16];
	int i;

	en->ks.trk.max_keys = 10;
	for (i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		remember(en, k, 1);
	}
	assert_int_equal(en->n, 0);
	for (i = 10; i < 40; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		remember(en, k, 2);
		assert_int_equal(en->ks.trk.n, 10);
		assert_int_equal(en->n, (unsigned)(i - 9));
		assert_int_equal(en->log[en->n - 1].ev, TRACKING_KEY);
	}
	/* A lower bound drops the rest at once. */
	en->ks.trk.max_keys = 3;
	tracking_trim(&en->ks.trk);
	assert_int_equal(en->ks.trk.n, 3);
	assert_int_equal(en->n, 37);
	en->n = 0;
	CHECK(&en->ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remember_and_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyspace_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
