/* test_slowlog.c: unit tests of node/cmd/slowlog.c (a shard's SLOWLOG).
 *
 * Goal: entries come newest first and the log keeps only the newest max;
 * an entry shows Redis's view of the arguments: at most 32, the last of
 * them then "... (N more arguments)", each cut at 128 bytes with "... (N
 * more bytes)", and passwords "(redacted)" (AUTH's arguments, HELLO's
 * after AUTH, CONFIG SET requirepass's value, and nothing else); the
 * client's address, name and place are kept; every byte goes back to the
 * account when entries go.
 *
 * Method: slowlog_push() with hand-made argument vectors and commands
 * (only their ids matter), then the entries read back field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "cmd/cmd.h"
#include "shard/slowlog.h"

static struct slowlog_client client = { .addr = "127.0.0.1:5000", .name = "me" };
/* Only a command's id matters to the log (which arguments it hides). */
static const struct cmd get = { .id = CMDID_GET }, mset = { .id = CMDID_MSET },
			auth = { .id = CMDID_AUTH }, hello = { .id = CMDID_HELLO },
			config_set = { .id = CMDID_CONFIG_SET }, echo = { .id = CMDID_ECHO };

static void argv_of(struct cmd_arg *argv, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		argv[i] = (struct cmd_arg){ .p = words[i], .len = strlen(words[i]) };
}

static void expect_arg(const struct slowlog_entry *e, int j, const char *text)
{
	assert_int_equal(e->argv[j].len, strlen(text));
	assert_memory_equal(e->argv[j].p, text, strlen(text));
}

static void test_order_and_bound(void **state)
{
	struct mem mem = { 0 };
	struct slowlog l;
	struct cmd_arg argv[2];
	static const char *const w[] = { "GET", "k" };
	const struct slowlog_entry *e;
	uint64_t id;

	(void)state;
	slowlog_init(&l, &mem);
	argv_of(argv, w, 2);
	for (id = 1; id <= 10; id++)
		slowlog_push(&l, id, 1700000000, id * 10, &get, argv, 2, &client, 4);
	assert_int_equal(l.n, 4);
	for (e = l.newest, id = 10; e != NULL; e = e->older, id--) {
		assert_int_equal(e->id, id);
		assert_int_equal(e->usec, id * 10);
		assert_string_equal(e->who.addr, "127.0.0.1:5000");
		assert_string_equal(e->who.name, "me");
		expect_arg(e, 1, "k");
	}
	assert_int_equal(id, 6);
	assert_int_equal(l.oldest->id, 7);
	slowlog_trim(&l, 1);
	assert_int_equal(l.n, 1);
	assert_ptr_equal(l.newest, l.oldest);
	slowlog_push(&l, 11, 0, 0, &get, argv, 2, &client, 0);
	assert_int_equal(l.n, 1); /* max 0: nothing is kept */
	slowlog_reset(&l);
	assert_null(l.newest);
	assert_int_equal(mem.used, 0);
}

static void test_cut_arguments(void **state)
{
	struct mem mem = { 0 };
	struct slowlog l;
	struct cmd_arg argv[40];
	char words[40][16], big[300];
	const struct slowlog_entry *e;
	int i;

	(void)state;
	slowlog_init(&l, &mem);
	for (i = 0; i < 40; i++) {
		snprintf(words[i], sizeof(words[i]), "a%d", i);
		argv[i] = (struct cmd_arg){ .p = words[i], .len = strlen(words[i]) };
	}
	memset(big, 'x', sizeof(big));
	argv[1] = (struct cmd_arg){ .p = big, .len = sizeof(big) };
	slowlog_push(&l, 1, 0, 0, &mset, argv, 40, &client, 8);
	e = l.newest;
	assert_int_equal(e->argc, 32);
	expect_arg(e, 0, "a0");
	assert_int_equal(e->argv[1].len, 128 + strlen("... (172 more bytes)"));
	assert_memory_equal(e->argv[1].p + 128, "... (172 more bytes)", 20);
	expect_arg(e, 30, "a30");
	expect_arg(e, 31, "... (9 more arguments)");
	/* Exactly 32 arguments: all of them. */
	slowlog_push(&l, 2, 0, 0, &mset, argv, 32, &client, 8);
	expect_arg(l.newest, 31, "a31");
	slowlog_reset(&l);
	assert_int_equal(mem.used, 0);
}

static void test_redaction(void **state)
{
	static const char *const auth_w[] = { "AUTH", "user", "secret" };
	static const char *const hello_w[] = { "HELLO", "3", "AUTH", "u", "p", "SETNAME", "n" };
	static const char *const cfg_w[] = { "CONFIG", "SET", "requirepass", "pw", "timeout", "5" };
	static const char *const echo_w[] = { "ECHO", "secret" };
	struct mem mem = { 0 };
	struct slowlog l;
	struct cmd_arg argv[8];
	const struct slowlog_entry *e;

	(void)state;
	slowlog_init(&l, &mem);
	argv_of(argv, auth_w, 3);
	slowlog_push(&l, 1, 0, 0, &auth, argv, 3, &client, 8);
	e = l.newest;
	expect_arg(e, 0, "AUTH");
	expect_arg(e, 1, "(redacted)");
	expect_arg(e, 2, "(redacted)");
	argv_of(argv, hello_w, 7);
	slowlog_push(&l, 2, 0, 0, &hello, argv, 7, &client, 8);
	e = l.newest;
	expect_arg(e, 2, "AUTH");
	expect_arg(e, 3, "(redacted)");
	expect_arg(e, 4, "(redacted)");
	expect_arg(e, 6, "n");
	argv_of(argv, cfg_w, 6);
	slowlog_push(&l, 3, 0, 0, &config_set, argv, 6, &client, 8);
	e = l.newest;
	expect_arg(e, 2, "requirepass");
	expect_arg(e, 3, "(redacted)");
	expect_arg(e, 5, "5");
	argv_of(argv, echo_w, 2);
	slowlog_push(&l, 4, 0, 0, &echo, argv, 2, &client, 8);
	expect_arg(l.newest, 1, "secret");
	slowlog_reset(&l);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_bound),
		cmocka_unit_test(test_cut_arguments),
		cmocka_unit_test(test_redaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
