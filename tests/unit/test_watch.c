/* test_watch.c: unit tests of node/data/watch.c (the watched keys of a
 * keyspace) and of the keyspace's reports to it.
 *
 * Goal: a watched key's record counts its watchers and goes with the last;
 * a change after WATCH is seen, one before is not; a deletion is no change
 * for a client that watched the key already expired, and is one for any
 * other; a watched key looked up for writing counts as changed only if
 * the keyspace then changes before the command ends. The keyspace reports
 * every way a key changes: SET, an in-place edit, a TTL set or removed,
 * DEL and UNLINK, expiry (lazy or active), a rename either way, and a
 * flush, which changes only the watched keys that exist. Unwatched keys and
 * unrelated keys never count. The table grows past its first buckets, and
 * every byte goes back to the keyspace's account.
 *
 * Method: a keyspace (fixed-seed xorshift source, ks->now_ms set by the
 * test) and the calls a command would make, in order; watch_changed()
 * with the number watch_add() returned is the EXEC check. ks_check()
 * (which counts the watch table in the account) after every step, and
 * ks_free() must give back every byte. */
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
#include "data/expire.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "data/kv.h"
#include "data/t_string.h"
#include "data/watch.h"
#include "unit_ks.h"

#define NOW0 1700000000000LL

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
	en->ks.now_ms = NOW0;
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

static uint64_t watch(struct env *en, const char *k)
{
	return watch_add(&en->ks.watch, k, strlen(k));
}

static bool changed(struct env *en, const char *k, uint64_t since, bool expired)
{
	return watch_changed(&en->ks.watch, k, strlen(k), since, expired);
}

static void unwatch(struct env *en, const char *k)
{
	watch_drop(&en->ks.watch, k, strlen(k));
	CHECK(&en->ks);
}

/* Records are counted; the last drop frees; numbers only grow. */
static void test_refs_and_numbers(void **state)
{
	struct env *en = *state;
	uint64_t a, b;

	a = watch(en, "k");
	b = watch(en, "k");
	assert_int_equal(en->ks.watch.n, 1);
	assert_false(changed(en, "k", a, false));
	set(en, "k", "1", KS_TTL_NONE);
	assert_true(changed(en, "k", a, false));
	assert_true(changed(en, "k", b, false));
	/* A watcher that comes after the change does not see it. */
	assert_false(changed(en, "k", watch(en, "k"), false));
	unwatch(en, "k");
	unwatch(en, "k");
	assert_int_equal(en->ks.watch.n, 1);
	unwatch(en, "k");
	assert_int_equal(en->ks.watch.n, 0);
	/* Unwatched keys cost nothing and record nothing. */
	set(en, "k", "2", KS_TTL_NONE);
	a = watch(en, "k");
	assert_false(changed(en, "k", a, false));
	unwatch(en, "k");
}

/* Every way the keyspace changes a key is reported; other keys are not. */
static void test_keyspace_reports(void **state)
{
	struct env *en = *state;
	struct kv *e;
	uint64_t s;

	set(en, "k", "v", KS_TTL_NONE);
	set(en, "other", "v", KS_TTL_NONE);
	s = watch(en, "k");
	set(en, "other", "w", KS_TTL_NONE);
	assert_true(ks_delete(&en->ks, "other", 5));
	assert_false(changed(en, "k", s, false));

	e = ks_lookup_write(&en->ks, "k", 1);
	ks_set_expire(&en->ks, e, NOW0 + 1000);
	assert_true(changed(en, "k", s, false));
	watch_cmd_done(&en->ks.watch);

	s = watch(en, "k");
	e = ks_lookup_write(&en->ks, "k", 1);
	ks_persist(&en->ks, e);
	assert_true(changed(en, "k", s, false));
	watch_cmd_done(&en->ks.watch);

	s = watch(en, "k");
	e = ks_lookup_write(&en->ks, "k", 1);
	memcpy(ks_edit(&en->ks, &e, 2), "ab", 2);
	assert_true(changed(en, "k", s, false));
	watch_cmd_done(&en->ks.watch);

	s = watch(en, "k");
	assert_true(ks_unlink(&en->ks, "k", 1));
	assert_true(changed(en, "k", s, false));
	CHECK(&en->ks);

	/* RENAME src dst: both change. */
	set(en, "src", "v", KS_TTL_NONE);
	s = watch(en, "src");
	assert_int_equal(watch(en, "dst"), s);
	ks_rename(&en->ks, ks_lookup_write(&en->ks, "src", 3), &en->ks, "dst", 3);
	watch_cmd_done(&en->ks.watch);
	assert_true(changed(en, "src", s, false));
	assert_true(changed(en, "dst", s, false));
	CHECK(&en->ks);
	unwatch(en, "src");
	unwatch(en, "dst");
	while (en->ks.watch.n > 0)
		unwatch(en, "k");
}

/* In-place changes: a watched key looked up for writing changed if the
 * keyspace changed before the command ended, not otherwise. */
static void test_noted_keys(void **state)
{
	struct env *en = *state;
	uint64_t s;

	set(en, "k", "v", KS_TTL_NONE);
	s = watch(en, "k");
	(void)ks_lookup_write(&en->ks, "k", 1);
	ks_changed(&en->ks, 0); /* nothing changed (SADD of a member it has) */
	watch_cmd_done(&en->ks.watch);
	assert_false(changed(en, "k", s, false));
	(void)ks_lookup_write(&en->ks, "k", 1);
	watch_cmd_done(&en->ks.watch);
	ks_changed(&en->ks, 1); /* a later command's change: not k's */
	assert_false(changed(en, "k", s, false));
	(void)ks_lookup_write(&en->ks, "k", 1);
	(void)ks_lookup_write(&en->ks, "missing", 7);
	ks_changed(&en->ks, 1);
	watch_cmd_done(&en->ks.watch);
	assert_true(changed(en, "k", s, false));
	unwatch(en, "k");
}

/* Expiry: a key that expires and is deleted changed for a watcher that saw
 * it alive, not for one that watched it already expired, until it is
 * written again. */
static void test_expiry(void **state)
{
	struct env *en = *state;
	uint64_t alive, dead;

	set(en, "a", "v", NOW0 + 10);
	set(en, "b", "v", NOW0 + 10);
	alive = watch(en, "a");
	en->ks.now_ms = NOW0 + 20;
	assert_true(ks_is_expired(&en->ks, "a", 1));
	dead = watch(en, "b");
	assert_false(changed(en, "a", alive, false));
	/* Lazy expiry of a, active expiry of b. */
	assert_null(ks_lookup_read(&en->ks, "a", 1));
	assert_int_equal(expire_cycle(&en->ks, 100), 1);
	CHECK(&en->ks);
	assert_true(changed(en, "a", alive, false));
	assert_false(changed(en, "b", dead, true));
	assert_false(ks_is_expired(&en->ks, "b", 1));
	set(en, "b", "again", KS_TTL_NONE);
	assert_true(changed(en, "b", dead, true));
	unwatch(en, "a");
	unwatch(en, "b");
}

/* A flush changes the watched keys that exist, and only those. */
static void test_flush(void **state)
{
	struct env *en = *state;
	uint64_t s;

	set(en, "here", "v", KS_TTL_NONE);
	s = watch(en, "here");
	watch(en, "absent");
	ks_flush(&en->ks, false);
	CHECK(&en->ks);
	assert_true(changed(en, "here", s, false));
	assert_false(changed(en, "absent", s, false));
	unwatch(en, "here");
	unwatch(en, "absent");
}

/* Many keys: the table grows, each key keeps its own record, and
 * dropping them all frees everything. */
static void test_many_keys(void **state)
{
	struct env *en = *state;
	char k[32];
	uint64_t s[1000];
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		s[i] = watch(en, k);
	}
	assert_int_equal(en->ks.watch.n, 1000);
	CHECK(&en->ks);
	for (i = 0; i < 1000; i += 3) {
		snprintf(k, sizeof(k), "key:%d", i);
		set(en, k, "v", KS_TTL_NONE);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		assert_int_equal(changed(en, k, s[i], false), i % 3 == 0);
		unwatch(en, k);
	}
	assert_int_equal(en->ks.watch.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refs_and_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyspace_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noted_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
