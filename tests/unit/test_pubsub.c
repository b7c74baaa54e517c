/* test_pubsub.c: unit tests of node/shard/pubsub.c (a shard's
 * subscriptions).
 *
 * Goal: subscribing twice to a name is one subscription; unsubscribing
 * from a name one does not hold changes nothing; each connection's counts
 * per kind, each name's subscriber count and the table's count of names
 * always agree with a model, through random subscribes, unsubscribes and
 * drops of many connections over many names, in all three kinds (the two
 * ends of every subscription stay linked to each other as elements move);
 * a connection with no subscription has no record (conn->ps NULL); and
 * once every connection is dropped, every byte is back in the account.
 * A client of 20,000 names and a name of 20,000 clients subscribe and
 * unsubscribe quickly (each operation scans the shorter side).
 *
 * Method: a struct pubsub over a bare conn_host (its memory account only),
 * connections that are zeroed struct conns, a fixed xorshift stream; a
 * model matrix of who holds what, checked against pubsub_count(),
 * pubsub_numsub(), pubsub_names() and pubsub_name() after every step. */
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
#include "shard/conn.h"
#include "shard/pubsub.h"

#define CONNS 12
#define NAMES 40
#define STEPS 20000
#define MANY 20000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct fixture {
	struct mem mem;
	struct conn_host h;
	struct pubsub ps;
	struct conn c[CONNS];
	bool held[PUBSUB_KINDS][CONNS][NAMES];
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->h.mem = &f->mem;
	pubsub_init(&f->ps, &f->h, 42);
}

static void name_of(unsigned i, char *buf)
{
	snprintf(buf, 16, "ch:%u", i);
}

static void check(struct fixture *f)
{
	unsigned k, c, n;

	for (k = 0; k < PUBSUB_KINDS; k++) {
		unsigned names = 0;
		for (n = 0; n < NAMES; n++) {
			char name[16];
			long long subs = 0;
			for (c = 0; c < CONNS; c++)
				subs += f->held[k][c][n];
			name_of(n, name);
			assert_int_equal(pubsub_numsub(&f->ps, k, name, strlen(name)), subs);
			names += subs > 0;
		}
		assert_int_equal(pubsub_names(&f->ps, k), names);
		for (c = 0; c < CONNS; c++) {
			unsigned held = 0, i;
			for (n = 0; n < NAMES; n++)
				held += f->held[k][c][n];
			assert_int_equal(pubsub_count(&f->c[c], k), held);
			/* Each name it lists is one it holds. */
			for (i = 0; i < held; i++) {
				size_t len;
				const char *p = pubsub_name(&f->c[c], k, i, &len);
				unsigned num = (unsigned)atoi(p + 3);
				assert_true(num < NAMES);
				assert_true(f->held[k][c][num]);
			}
		}
	}
	for (c = 0; c < CONNS; c++) {
		bool any = false;
		for (k = 0; k < PUBSUB_KINDS; k++)
			for (n = 0; n < NAMES; n++)
				any |= f->held[k][c][n];
		assert_int_equal(f->c[c].ps != NULL, any);
	}
}

static void test_random_against_model(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned step, c, k;

	(void)state;
	assert_non_null(f);
	fixture_init(f);
	for (step = 0; step < STEPS; step++) {
		unsigned r = (unsigned)(next() % 100), n = (unsigned)(next() % NAMES);
		char name[16];
		c = (unsigned)(next() % CONNS);
		k = (unsigned)(next() % PUBSUB_KINDS);
		name_of(n, name);
		if (r < 55) {
			bool added = pubsub_subscribe(&f->ps, &f->c[c], k, name, strlen(name));
			assert_int_equal(added, !f->held[k][c][n]);
			f->held[k][c][n] = true;
		} else if (r < 98) {
			bool gone = pubsub_unsubscribe(&f->ps, &f->c[c], k, name, strlen(name));
			assert_int_equal(gone, f->held[k][c][n]);
			f->held[k][c][n] = false;
		} else {
			pubsub_drop(&f->ps, &f->c[c]);
			for (k = 0; k < PUBSUB_KINDS; k++)
				memset(f->held[k][c], 0, sizeof(f->held[k][c]));
		}
		if (step % 16 == 0)
			check(f);
	}
	check(f);
	for (c = 0; c < CONNS; c++)
		pubsub_drop(&f->ps, &f->c[c]);
	pubsub_free(&f->ps);
	assert_int_equal(f->mem.used, 0);
	free(f);
}

static void test_many_names_and_many_clients(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct conn *many = calloc(MANY, sizeof(*many));
	char name[16];
	unsigned i;

	(void)state;
	assert_non_null(f);
	assert_non_null(many);
	fixture_init(f);
	/* One client, many names. */
	for (i = 0; i < MANY; i++) {
		name_of(i, name);
		assert_true(pubsub_subscribe(&f->ps, &f->c[0], PUBSUB_CHANNEL, name, strlen(name)));
	}
	assert_false(pubsub_subscribe(&f->ps, &f->c[0], PUBSUB_CHANNEL, "ch:7", 4));
	for (i = 0; i < MANY; i += 2) {
		name_of(i, name);
		assert_true(
			pubsub_unsubscribe(&f->ps, &f->c[0], PUBSUB_CHANNEL, name, strlen(name)));
	}
	assert_int_equal(pubsub_count(&f->c[0], PUBSUB_CHANNEL), MANY / 2);
	assert_int_equal(pubsub_names(&f->ps, PUBSUB_CHANNEL), MANY / 2);
	/* One name, many clients. */
	for (i = 0; i < MANY; i++)
		assert_true(pubsub_subscribe(&f->ps, &many[i], PUBSUB_PATTERN, "p*", 2));
	assert_int_equal(pubsub_numsub(&f->ps, PUBSUB_PATTERN, "p*", 2), MANY);
	for (i = 0; i < MANY; i += 3)
		assert_true(pubsub_unsubscribe(&f->ps, &many[i], PUBSUB_PATTERN, "p*", 2));
	assert_int_equal(pubsub_numsub(&f->ps, PUBSUB_PATTERN, "p*", 2), MANY - (MANY + 2) / 3);
	for (i = 0; i < MANY; i++)
		pubsub_drop(&f->ps, &many[i]);
	pubsub_drop(&f->ps, &f->c[0]);
	assert_int_equal(pubsub_names(&f->ps, PUBSUB_PATTERN), 0);
	assert_int_equal(pubsub_names(&f->ps, PUBSUB_CHANNEL), 0);
	pubsub_free(&f->ps);
	assert_int_equal(f->mem.used, 0);
	free(many);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_many_names_and_many_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
