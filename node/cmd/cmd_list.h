/* cmd_list.h: what the list commands (cmd_list.c) lend the blocking pops
 * (server/cmd_blocking.c): the attempt to pop without blocking, for a
 * first run and for a re-run once a key was offered (shard/blocked.h). */
#ifndef CAIRN_CMD_LIST_H
#define CAIRN_CMD_LIST_H

#include <stdbool.h>

struct cmd_ctx;

/* BLPOP, BRPOP (count -1) and BLMPOP (count >= 1): pops from the first key
 * of argv[first, first + n) that holds a list and replies as the command
 * does ([key, element], or [key, [elements]]); returns true. A key of
 * another type met first gets WRONGTYPE (true), unless skip_other (a
 * re-run: Redis 7.0 leaves the client blocked), where it counts as
 * missing. false, with no reply, when no key holds a list. */
bool cmd_list_bpop(struct cmd_ctx *c, int first, int n, bool tail, long long count,
		   bool skip_other);
/* BLMOVE and BRPOPLPUSH: LMOVE argv[1] to argv[2] when argv[1] holds a
 * list (true, replied, WRONGTYPE from the destination included); a source
 * of another type as cmd_list_bpop's keys; false, no reply, when it is
 * missing. */
bool cmd_list_bmove(struct cmd_ctx *c, bool from_tail, bool to_tail, bool skip_other);

#endif
