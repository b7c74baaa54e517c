/* test_slotmig.c: unit tests of atomic slot migration's parsing
 * (node/cluster/slotmig.c).
 *
 * Goal: CLUSTER MIGRATESLOTS's arguments are checked as Valkey 9 checks
 * them, in its order and with its words (its tests' "General command
 * interface" cases, on a state of three masters owning 0-5460,
 * 5461-10922, 10923-16383); a slot already exported, an overlap between
 * the jobs of one command, the legacy SETSLOT states refuse; a good
 * command yields one request per NODE with its slots; SYNCSLOTS
 * ESTABLISH's ranges (no state) refuse trailing junk through the index
 * they return; the ranges print as GETSLOTMIGRATIONS shows them. Every
 * error leaves the state as it was (the parser only reads it).
 *
 * Method: a state built directly (cluster_node_add, cluster_slot_set);
 * arguments as the command splits them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cluster/slotmig.h"
#include "cluster/state.h"
#include "cluster/state_int.h"

static struct mem mem;
static struct cluster_state *st;
static char ids[3][BUS_ID_LEN + 1];

static int setup(void **state)
{
	unsigned s;
	uint16_t n[3];
	int i;

	(void)state;
	st = cluster_state_new(&mem, 7, 1000);
	n[0] = st->myself;
	for (i = 1; i < 3; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%040d", i);
		n[i] = cluster_node_add(st, ids[i], CLUSTER_NODE_MASTER, 1000);
	}
	memcpy(ids[0], cluster_myself(st)->id, BUS_ID_LEN + 1);
	for (s = 0; s < CLUSTER_SLOTS; s++)
		cluster_slot_set(st, s, n[s <= 5460 ? 0 : s <= 10922 ? 1 : 2]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cluster_state_free(st);
	assert_int_equal(mem.used, 0);
	return 0;
}

/* Splits a line into arguments (single spaces); n set. */
static struct cluster_arg *split(char *line, int *n)
{
	static struct cluster_arg a[256];
	char *tok;

	*n = 0;
	for (tok = strtok(line, " "); tok != NULL; tok = strtok(NULL, " ")) {
		assert_true(*n < (int)(sizeof(a) / sizeof(a[0])));
		a[(*n)++] = (struct cluster_arg){ tok, strlen(tok) };
	}
	return a;
}

/* Splits a long line into a calloc'd array (the caller frees it). */
static struct cluster_arg *split_big(char *line, int *n)
{
	struct cluster_arg *a = calloc(20000, sizeof(*a));
	char *tok;

	*n = 0;
	for (tok = strtok(line, " "); tok != NULL && *n < 20000; tok = strtok(NULL, " "))
		a[(*n)++] = (struct cluster_arg){ tok, strlen(tok) };
	return a;
}

/* Parses line (%1, %2 stand for the other nodes' ids, %0 for mine). */
static int parse(const char *fmt, const uint8_t *exporting, struct slotmig_req *out, char *err)
{
	char line[4096], *w = line;
	struct cluster_arg *a;
	const char *p;
	int n;

	for (p = fmt; *p; p++) {
		if (*p == '%') {
			p++;
			w += sprintf(w, "%s", ids[*p - '0']);
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	a = split(line, &n);
	return slotmig_parse_migrate(st, a, n, exporting, out, err);
}

static void errors_are_valkeys(void **state)
{
	static const char *const cases[][2] = {
		{ "INVALID 0 1", "syntax error" },
		{ "SLOTSRANGE 0", "No end slot for final slot range" },
		{ "SLOTSRANGE 16385 16388", "Invalid or out of range slot" },
		{ "SLOTSRANGE 16380 16388", "Invalid or out of range slot" },
		{ "SLOTSRANGE a 0", "No slot ranges specified" },
		{ "SLOTSRANGE 0 a", "Invalid or out of range slot" },
		{ "SLOTSRANGE 1 0", "Start slot number 1 is greater than end slot number 0." },
		{ "SLOTSRANGE 0 16383", "Requested slots span multiple shards" },
		{ "SLOTSRANGE 0 5 3 6", "Slot range 3-6 overlaps with previous range 0-5." },
		{ "SLOTSRANGE 3 6 0 5", "Slot range 0-5 overlaps with previous range 3-6." },
		{ "SLOTSRANGE 0 0", "syntax error" },
		{ "SLOTSRANGE 0 0 NODE", "syntax error" },
		{ "SLOTSRANGE 0 0 NODE blah", "Invalid node name: blah" },
		{ "SLOTSRANGE 0 0 NODE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "Unknown node name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ "SLOTSRANGE 0 0 NODE %0", "Target node can not be this node." },
		{ "SLOTSRANGE 6000 6001 NODE %1", "Slots are not served by this node." },
		{ "SLOTSRANGE 1 1 NODE %1 SLOTSRANGE 0 2 NODE %2",
		  "Slot ranges in migrations overlap" },
		{ "SLOTSRANGE 0 0 2 2 NODE %1 SLOTSRANGE 2 2 NODE %2",
		  "Slot ranges in migrations overlap" },
		{ "SLOTSRANGE 0 0 NODE %1 junk", "syntax error" },
		{ "SLOTSRANGE 0 0 NODE %1 SLOTSRANGE", "No slot ranges specified" },
	};
	struct slotmig_req out[SLOTMIG_REQ_MAX];
	uint8_t none[SLOTMIG_BITS] = { 0 };
	char err[CLUSTER_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(cases[i][0], none, out, err), -1);
		if (strcmp(err, cases[i][1]) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i][0], err, cases[i][1]);
	}
	assert_int_equal(cluster_state_check(st) == NULL, 1);
}

static void exported_and_legacy_states_refuse(void **state)
{
	struct slotmig_req out[SLOTMIG_REQ_MAX];
	uint8_t exporting[SLOTMIG_BITS] = { 0 };
	char err[CLUSTER_ERR_MAX];

	(void)state;
	slotmig_set(exporting, 7);
	assert_int_equal(parse("SLOTSRANGE 0 10 NODE %1", exporting, out, err), -1);
	assert_string_equal(err, "I am already migrating slot 7.");
	memset(exporting, 0, sizeof(exporting));
	st->migrating_to[0] = 1;
	assert_int_equal(parse("SLOTSRANGE 16383 16383 NODE %1", exporting, out, err), -1);
	assert_string_equal(err, "Slots are being manually migrated");
	st->migrating_to[0] = CLUSTER_NONE;
	st->importing_from[9000] = 1;
	assert_int_equal(parse("SLOTSRANGE 0 0 NODE %1", exporting, out, err), -1);
	assert_string_equal(err, "Slots are being manually imported");
	st->importing_from[9000] = CLUSTER_NONE;
	cluster_slot_set(st, 0, CLUSTER_NONE);
	assert_int_equal(parse("SLOTSRANGE 0 0 NODE %1", exporting, out, err), -1);
	assert_string_equal(err, "Slot 0 has no node served.");
	cluster_slot_set(st, 0, st->myself);
}

static void good_commands(void **state)
{
	struct slotmig_req out[SLOTMIG_REQ_MAX];
	uint8_t none[SLOTMIG_BITS] = { 0 };
	char err[CLUSTER_ERR_MAX], text[SLOTMIG_TEXT_MAX];

	(void)state;
	assert_int_equal(
		parse("slotsrange 0 9 20 29 node %1 SLOTSRANGE 100 100 NODE %2", none, out, err),
		2);
	assert_int_equal(out[0].target, cluster_node_find(st, ids[1], BUS_ID_LEN));
	assert_int_equal(out[0].nslots, 20);
	slotmig_text(out[0].slots, text, sizeof(text));
	assert_string_equal(text, "0-9 20-29");
	assert_int_equal(out[1].nslots, 1);
	slotmig_text(out[1].slots, text, sizeof(text));
	assert_string_equal(text, "100-100");
	assert_false(slotmig_overlap(out[0].slots, out[1].slots));
	assert_true(slotmig_overlap(out[0].slots, out[0].slots));
}

/* SLOTMIG_REQ_MAX jobs in one command, and one more. */
static void jobs_limit(void **state)
{
	struct slotmig_req out[SLOTMIG_REQ_MAX];
	uint8_t none[SLOTMIG_BITS] = { 0 };
	char err[CLUSTER_ERR_MAX], line[2048];
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < SLOTMIG_REQ_MAX; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%sSLOTSRANGE %d %d NODE %%1", i ? " " : "", i, i);
	assert_int_equal(parse(line, none, out, err), SLOTMIG_REQ_MAX);
	snprintf(line + len, sizeof(line) - len, " SLOTSRANGE 99 99 NODE %%2");
	assert_int_equal(parse(line, none, out, err), -1);
	assert_string_equal(err, "Too many slot migrations in one command");
}

/* Many ranges cost their slots: 8192 single slots, then one that meets
 * the first. */
static void many_ranges(void **state)
{
	static char line[8192 * 12 + 64];
	char err[CLUSTER_ERR_MAX];
	uint8_t bits[SLOTMIG_BITS];
	uint16_t owner;
	size_t len = 0;
	int n, i = 0, s;
	struct cluster_arg *a;

	(void)state;
	for (s = 0; s < 16384; s += 2)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%d %d ", s, s);
	snprintf(line + len, sizeof(line) - len, "0 1");
	a = split_big(line, &n);
	assert_int_equal(slotmig_parse_ranges(NULL, a, n, &i, bits, &owner, err), -1);
	assert_string_equal(err, "Slot range 0-1 overlaps with previous range 0-0.");
	i = 0;
	assert_int_equal(slotmig_parse_ranges(NULL, a, n - 2, &i, bits, &owner, err), 8192);
	free(a);
}

/* ESTABLISH's ranges: no state (any owner); the index tells what is left. */
static void ranges_alone(void **state)
{
	char line[] = "0 9 16383 16383 junk", err[CLUSTER_ERR_MAX], text[SLOTMIG_TEXT_MAX];
	uint8_t bits[SLOTMIG_BITS];
	uint16_t owner;
	int n, i = 0;
	struct cluster_arg *a = split(line, &n);

	(void)state;
	assert_int_equal(slotmig_parse_ranges(NULL, a, n, &i, bits, &owner, err), 11);
	assert_int_equal(i, 4);
	assert_int_equal(owner, CLUSTER_NONE);
	slotmig_text(bits, text, sizeof(text));
	assert_string_equal(text, "0-9 16383-16383");
	/* Every other slot: the longest text. */
	memset(bits, 0x55, sizeof(bits));
	slotmig_text(bits, text, sizeof(text));
	assert_true(strlen(text) < SLOTMIG_TEXT_MAX);
	assert_int_equal(strncmp(text, "0-0 2-2 4-4", 11), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_are_valkeys),
		cmocka_unit_test(exported_and_legacy_states_refuse),
		cmocka_unit_test(good_commands),
		cmocka_unit_test(ranges_alone),
		cmocka_unit_test(jobs_limit),
		cmocka_unit_test(many_ranges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
