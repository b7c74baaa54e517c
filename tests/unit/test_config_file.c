/* test_config_file.c: unit tests of node/server/config_file.c's CONFIG
 * REWRITE (config_file_rewrite), over base/config.c's rewrite lines.
 *
 * Goal: the file comes out as Redis 7.0's rewriteConfig writes it: an
 * empty file gets the signature and what Redis always writes (save "",
 * latency-tracking-info-percentiles); comments stay, trimmed; a run of
 * blank lines becomes one; a directive's first line takes its value in
 * place, under its current name, and its other lines go; a line naming
 * no directive or with unbalanced quotes becomes "# ??? line"; bind at
 * its default leaves the file; an existing signature is not repeated;
 * memory values get Redis's units and strings Redis's quoting; and a
 * configuration loaded back from the rewritten file is the one written.
 *
 * Method: texts rewritten against chosen configurations and compared
 * with the expected file byte for byte; a round trip through
 * config_file_load compared directive by directive (config_get). Every
 * scratch byte goes back to the account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/mem.h"
#include "base/text.h"
#include "server/config_file.h"

static struct mem mem;

/* Rewrites text against c (defaults as def) and checks the result. */
static void check(const char *text, const struct config *c, const char *want)
{
	struct config def;
	struct text t;

	config_defaults(&def);
	text_init(&t, &mem, 16);
	config_file_rewrite(text, strlen(text), c, &def, &mem, &t);
	if (t.len != strlen(want) || memcmp(t.p, want, t.len) != 0)
		fail_msg("rewrote\n%.*s\nwanted\n%s", (int)t.len, t.p, want);
	text_free(&t);
	assert_int_equal(mem.used, 0);
}

static void set(struct config *c, const char *name, const char *value)
{
	const char *argv[2] = { name, value };
	size_t lens[2] = { strlen(name), strlen(value) };
	char err[256];

	assert_int_equal(config_apply(c, 2, argv, lens, false, err, sizeof(err)), 0);
}

#define ALWAYS "latency-tracking-info-percentiles 50 99 99.9\nsave \"\"\n"

static void test_empty_file(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	check("", &c, CONFIG_FILE_SIGNATURE "\n" ALWAYS);
	/* Only a newline: one empty line, then the appended ones. */
	check("\n", &c, "\n" CONFIG_FILE_SIGNATURE "\n" ALWAYS);
}

static void test_lines_in_place(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	set(&c, "maxmemory", "3kb");
	set(&c, "hash-max-listpack-entries", "64");
	set(&c, "timeout", "7");
	check("  # a comment  \r\n"
	      "\n"
	      " \t \n"
	      "\n"
	      "MAXMEMORY 1gb\n"
	      "hash-max-ziplist-entries 5\n"
	      "maxmemory 2gb\n"
	      "foo bar\n"
	      "requirepass \"abc\n"
	      "bind 127.0.0.1\n"
	      "timeout 0\n"
	      "save \"\"\n"
	      "latency-tracking-info-percentiles 1 2",
	      &c,
	      "# a comment\n"
	      "\n"
	      "maxmemory 3kb\n"
	      "hash-max-listpack-entries 64\n"
	      "\n"
	      "# ??? foo bar\n"
	      "# ??? requirepass \"abc\n"
	      "\n"
	      "timeout 7\n"
	      "save \"\"\n"
	      "latency-tracking-info-percentiles 50 99 99.9\n");
}

static void test_appended_once(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	set(&c, "requirepass", "a b\"c\\\n\x01");
	set(&c, "maxmemory", "1073741824");
	set(&c, "bind", "0.0.0.0 ::1");
	set(&c, "client-output-buffer-limit", "pubsub 1mb 1025 7");
	check("port 6379\n" CONFIG_FILE_SIGNATURE "\nsave \"\"\n", &c,
	      "port 6379\n" CONFIG_FILE_SIGNATURE "\n"
	      "save \"\"\n"
	      "\n"
	      "bind 0.0.0.0 ::1\n"
	      "requirepass \"a b\\\"c\\\\\\n\\x01\"\n"
	      "latency-tracking-info-percentiles 50 99 99.9\n"
	      "maxmemory 1gb\n"
	      "client-output-buffer-limit pubsub 1mb 1025 7\n");
}

/* Every directive's value, as CONFIG GET shows it, into out. */
static void collect(void *arg, const char *name, const char *value, size_t vlen)
{
	struct text *out = arg;

	text_printf(out, "%s=%.*s\n", name, (int)vlen, value);
}

static void test_round_trip(void **state)
{
	struct config c, def, back;
	struct text t, a, b;
	char err[256];

	(void)state;
	config_defaults(&c);
	config_defaults(&def);
	set(&c, "requirepass", "p \"w\"\t'd");
	set(&c, "maxmemory-policy", "volatile-lfu");
	set(&c, "lazyfree-lazy-eviction", "yes");
	set(&c, "hz", "50");
	set(&c, "list-max-listpack-size", "-3");
	set(&c, "latency-tracking-info-percentiles", "");
	set(&c, "client-output-buffer-limit", "normal 10mb 5mb 30 replica 1 2 3");
	set(&c, "latency-monitor-threshold", "25");
	set(&c, "proto-max-bulk-len", "2mb");
	text_init(&t, &mem, 16);
	config_file_rewrite("# x\nhz 10\n", 10, &c, &def, &mem, &t);
	back = def;
	if (config_file_load(&back, t.p, t.len, err, sizeof(err)) != 0)
		fail_msg("%s in\n%.*s", err, (int)t.len, t.p);
	text_init(&a, &mem, 16);
	text_init(&b, &mem, 16);
	config_get(&c, "*", 1, collect, &a);
	config_get(&back, "*", 1, collect, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	text_free(&a);
	text_free(&b);
	text_free(&t);
	assert_int_equal(mem.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_lines_in_place),
		cmocka_unit_test(test_appended_once),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
