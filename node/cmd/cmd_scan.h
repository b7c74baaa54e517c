/* cmd_scan.h: what the SCAN family shares (SCAN here, HSCAN, SSCAN and
 * ZSCAN in their types' files). */
#ifndef CAIRN_CMD_SCAN_H
#define CAIRN_CMD_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "data/kv.h"

struct cmd_ctx;
struct mem;

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

/* What HSCAN, SSCAN and ZSCAN keep of one walk of a key: the texts that
 * match (each preceded by its length), since the reply's count comes first
 * as in Redis, and how many elements were walked, which COUNT bounds
 * before MATCH filters. */
struct scan_acc {
	struct mem *mem;
	const struct scan_opts *o;
	char *buf;
	size_t len, cap;
	size_t n;    /* texts kept */
	size_t seen; /* texts walked */
};
/* Whether a text walked passes MATCH; counts it as walked. */
bool scan_acc_match(struct scan_acc *a, const char *p, size_t n);
/* Keeps a text for the reply (after scan_acc_match said yes). */
void scan_acc_put(struct scan_acc *a, const char *p, size_t n);
/* HSCAN/SSCAN/ZSCAN key cursor [MATCH p] [COUNT n] up to the walk: the
 * cursor, the key of type `type`, the options, in Redis's order. false:
 * it has replied (an error, WRONGTYPE, or the empty reply of a missing
 * key); true: *e is the key and a is ready for the walk. */
bool scan_key_begin(struct cmd_ctx *c, enum kv_type type, unsigned long long *cursor,
		    struct scan_opts *o, struct kv **e, struct scan_acc *a);
/* Whether the walk goes on past cursor: not done, and COUNT not reached
 * (nor ten times COUNT steps taken, Redis's maxiterations). */
bool scan_key_more(const struct scan_acc *a, unsigned long long cursor, long long *steps);
/* The reply (the cursor, then the texts kept); frees a's buffer. */
void scan_key_reply(struct cmd_ctx *c, unsigned long long cursor, struct scan_acc *a);

#endif
