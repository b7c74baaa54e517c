/* moved.h: a request's place in the cluster (cluster-enabled yes): runs
 * here, or is refused with MOVED, ASK, TRYAGAIN, CROSSSLOT or CLUSTERDOWN
 * as Redis refuses it (cluster/redirect.h decides, over the shard's view).
 *
 * Its keys are those COMMAND GETKEYS finds (SSUBSCRIBE's, SUNSUBSCRIBE's
 * and SPUBLISH's channels too); EXEC routes the keys of every queued
 * command together. Only a request on a slot this node migrates or
 * imports needs to know which of its keys exist; they live on the shard
 * of their slot, which may be another: then the answer is MOVED_LOCK, and
 * the caller runs the request holding that shard and asks again there
 * (with `locked` set), before the command runs. */
#ifndef CAIRN_SHARD_MOVED_H
#define CAIRN_SHARD_MOVED_H

#include <stdbool.h>
#include <stdint.h>

#include "base/hash.h"
#include "cluster/redirect.h"
#include "cmd/cmd.h"

struct cluster_view;
struct cmd;
struct cmd_arg;
struct cmd_env;
struct reply;
struct txn;

enum moved_result {
	MOVED_RUN = 0, /* run it */
	MOVED_REFUSED, /* its error is replied */
	MOVED_LOCK,    /* ask again holding shard *lock */
};

struct moved_in {
	const struct cluster_view *v; /* the shard's view (NULL: none yet) */
	const struct cmd_env *env;
	const uint64_t *locked; /* the shards held, or NULL */
	bool asking;            /* the connection sent ASKING */
	bool syncslots;         /* the connection is an atomic migration's link */
};

/* The common case in one look: a command of one key (GET, SET, ...) on
 * a slot of this node, neither migrating nor importing, the cluster ok
 * (serve[] says all three): it runs, and moved_check() is not needed. A
 * command that passed its arity check has its one key (cmd.h). */
static inline bool moved_mine(const struct cluster_view *v, const struct cmd *cmd,
			      const struct cmd_arg *argv, int argc)
{
	unsigned slot;

	(void)argc;
	if (!cmd->one_key || v == NULL)
		return false;
	slot = hash_slot(argv[cmd->first_key].p, argv[cmd->first_key].len);
	return v->serve[slot];
}

/* One request. */
enum moved_result moved_check(const struct moved_in *in, const struct cmd *cmd,
			      const struct cmd_arg *argv, int argc, struct reply *r,
			      unsigned *lock);
/* EXEC: the queued commands' keys together. */
enum moved_result moved_check_txn(const struct moved_in *in, const struct txn *t, struct reply *r,
				  unsigned *lock);

#endif
