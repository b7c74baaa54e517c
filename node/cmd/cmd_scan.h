/* cmd_scan.h: what the SCAN family shares (SCAN here, HSCAN, SSCAN and
 * ZSCAN in their types' files). */
#ifndef CAIRN_CMD_SCAN_H
#define CAIRN_CMD_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct cmd_ctx;

#define ERR_INVALID_CURSOR "invalid cursor"

struct scan_opts {
	long long count;
	const char *pat; /* NULL: every element */
	size_t plen;
	const char *type; /* SCAN's TYPE, or NULL: every type */
	size_t tlen;
};

/* The options from argv[first] on, in Redis's order (scanGenericCommand):
 * COUNT (an integer of at least 1, capped at SCAN_COUNT_MAX, which bounds
 * the work of one call), MATCH, and TYPE for SCAN alone (with_type). Replies
 * the error and returns false on a bad one. */
bool cmd_scan_parse(struct cmd_ctx *c, int first, bool with_type, struct scan_opts *o);

#endif
