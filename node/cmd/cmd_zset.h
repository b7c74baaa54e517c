/* cmd_zset.h: what the sorted set commands share between cmd_zset.c (one
 * key) and cmd_zsetops.c (ZUNION, ZINTER, ZDIFF and their STORE forms,
 * ZINTERCARD). */
#ifndef CAIRN_CMD_ZSET_H
#define CAIRN_CMD_ZSET_H

#include <stdbool.h>

struct cmd_arg;
struct cmd_ctx;
struct keyspace;
struct zset_limits;

/* Redis's error texts. */
#define ERR_ZSET_NAN "resulting score is not a number (NaN)"
#define ERR_ZSET_MINMAX "min or max is not a float"
#define ERR_ZSET_LEX "min or max not valid string range item"
#define ERR_ZSET_POSITIVE "value is out of range, must be positive"

/* The directives that bound the listpack encoding, and the seed of ks (the
 * keyspace the set lives in). */
void zset_limits_of(const struct cmd_ctx *c, const struct keyspace *ks, struct zset_limits *lim);
/* Redis's getDoubleFromObject: strtod over the whole argument, no leading
 * space, no NaN, no overflow and no underflow to zero. */
bool zset_arg_double(struct cmd_ctx *c, const struct cmd_arg *a, double *out);
/* Redis's getRangeLongFromObjectOrReply with min 0 (getPositiveLong...):
 * msg for any failure. Replies and returns false on one. */
bool zset_arg_positive(struct cmd_ctx *c, const struct cmd_arg *a, long long *out, const char *msg);
/* BZPOPMIN, BZPOPMAX (count -1: [key, member, score]) and BZMPOP (count
 * >= 1: [key, [[member, score], ...]]): pops from the first key of
 * argv[first, first + n) that holds a sorted set, replies, returns true.
 * WRONGTYPE, and skip_other for a re-run, as cmd_list_bpop (cmd_list.h);
 * false, with no reply, when no key holds a sorted set. */
bool cmd_zset_bpop(struct cmd_ctx *c, int first, int n, bool max, long long count, bool skip_other);

#endif
