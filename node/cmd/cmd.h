/* cmd.h: the command table, the execution context, and the checks.
 *
 * The table is declared once, in commands.def (X-macro, generated from
 * redis-server's own metadata by tools/gen-commands), and defined in
 * server/commands.c, the one file that names every handler. cmd_check()
 * checks existence, arity, authentication and memory in Redis's order, with
 * Redis's error texts, before anything runs; so handlers never re-check
 * arity. Where a checked request runs (here, on another shard, with shards
 * locked) is the shard layer's decision (shard/exec.c); cmd_run() runs it.
 * The data commands live in cmd/cmd_<group>.c and see only a cmd_ctx: the
 * configuration, counters and keyspaces, never a shard or a connection. */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/keyspace.h"

struct clock;
struct config;
struct conn;
struct errstats;
struct keyspace;
struct kv;
struct mem;
struct reply;
struct stats;
struct val;

#define CMD_WRITE (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_ADMIN (1u << 3)
#define CMD_NOSCRIPT (1u << 4)
#define CMD_LOADING (1u << 5)
#define CMD_STALE (1u << 6)
#define CMD_FAST (1u << 7)
#define CMD_NO_AUTH (1u << 8)
#define CMD_MAY_REPLICATE (1u << 9)
#define CMD_MOVABLEKEYS (1u << 10)
#define CMD_ALLOW_BUSY (1u << 11)
#define CMD_NO_MULTI (1u << 12)
#define CMD_BLOCKING (1u << 13)
#define CMD_SKIP_MONITOR (1u << 14)
#define CMD_SKIP_SLOWLOG (1u << 15)
#define CMD_NO_MANDATORY_KEYS (1u << 16)

/* Command ids, one per (sub)command, in table order. */
enum cmd_id {
	CMDID_NONE = -1,
#define CMD(id, parent, name, full, fn, arity, flags, first, last, step, info, docs, npairs) id,
#include "cmd/commands.def"
#undef CMD
	CMDID_COUNT
};

/* One argument of a request. val is set when the bytes live in a
 * refcounted buffer (a big bulk) that a handler may keep (val_ref). */
struct cmd_arg {
	const char *p;
	size_t len;
	struct val *val;
};

struct cmd_ctx;
typedef void (*cmd_fn)(struct cmd_ctx *c);

struct cmd {
	const char *name;     /* lower case; a subcommand's own name */
	const char *fullname; /* "client|list" */
	cmd_fn fn;
	int arity; /* N exact, -N at least N (counting the name) */
	uint32_t flags;
	int first_key, last_key, key_step; /* legacy key positions */
	int id, parent;                    /* enum cmd_id */
	const char *info;                  /* see commands.def */
	size_t info_len;
	const char *docs;
	size_t docs_len;
	int docs_pairs;
};

/* Subcommands of a container follow it contiguously in the table. */
#define cmd_each_sub(container_, sub_)                                                             \
	for ((sub_) = &cmd_table[(container_)->id + 1];                                            \
	     (sub_) < &cmd_table[CMDID_COUNT] && (sub_)->parent == (container_)->id; (sub_)++)
bool cmd_is_container(const struct cmd *cmd);

/* The whole table, indexed by enum cmd_id. */
extern const struct cmd cmd_table[CMDID_COUNT];

/* Lookup index over top-level names, built once per node and read-only
 * afterwards (so shards may share it). */
#define CMD_INDEX_SLOTS 512
struct cmd_index {
	int16_t slot[CMD_INDEX_SLOTS];
};
void cmd_index_init(struct cmd_index *ix);
/* A top-level command by name (any case), or NULL. */
const struct cmd *cmd_lookup(const struct cmd_index *ix, const char *name, size_t len);
/* A subcommand of parent by name (any case), or NULL. */
const struct cmd *cmd_lookup_sub(const struct cmd *parent, const char *name, size_t len);
/* Resolves argv to a (sub)command as Redis's lookupCommand. */
const struct cmd *cmd_resolve(const struct cmd_index *ix, const struct cmd_arg *argv, int argc);

/* Per-command counters for INFO commandstats. */
struct cmd_stat {
	uint64_t calls, usec, rejected, failed;
};

/* What every request run on one shard shares, set up once by the shard
 * (shard.c) and fixed while it runs. */
struct cmd_env {
	const struct config *cfg;
	const struct cmd_index *cmds;
	struct mem *mem; /* the shard's account, for scratch allocations */
	struct stats *st;
	struct errstats *es;
	struct cmd_stat *cstat; /* [CMDID_COUNT] */
	struct clock *clock;
	struct keyspace *ks; /* this shard's */
	/* The node's shards, for a request that runs with them locked. */
	unsigned self, nshards;
	const uint16_t *slot_shard;        /* [HASH_SLOTS]: a slot's shard */
	struct keyspace *const *keyspaces; /* [nshards] */
	/* Used memory of the whole node (the OOM check); host is its arg. */
	uint64_t (*node_memory)(const void *host);
	/* The shard itself: only the server commands (server/) look inside. */
	void *host;
};

/* What a handler sees. */
struct cmd_ctx {
	struct cmd_env *env;
	struct conn *conn;   /* the client; NULL for a forwarded request. Only
			    * the server commands (server/) look inside. */
	struct keyspace *ks; /* env->ks */
	struct reply *r;
	const struct cmd *cmd;
	struct cmd_arg *argv;
	int argc;
	int64_t now_ms; /* command time (wall clock) */
	bool authed;    /* the client may run commands that need AUTH */
	/* The shards held for this request (a bit per shard), or NULL: a
	 * request runs with shards locked when its keys span shards or it
	 * reads or changes all of them (shard/lock.c). */
	const uint64_t *locked;
};

/* The checks before a request runs: looks the command up (also as
 * c->cmd), then arity, authentication and maxmemory, counting a rejection
 * and replying Redis's error on the first that fails. Returns the command,
 * or NULL after the error reply. */
const struct cmd *cmd_check(struct cmd_ctx *c);
/* Runs a checked request here: the handler, timed and counted. Reads the
 * clock when it ends (clock.h), which is the time the next command of the
 * batch sees. */
void cmd_run(struct cmd_ctx *c, const struct cmd *cmd);

/* Where a handler finds its data. A request runs on the shard that owns its
 * keys, so a single-key handler simply uses c->ks; a multi-key handler asks
 * cmd_ks() for each key (with shards locked, keys live on several of them).
 * Keyspace-wide handlers walk cmd_nshards() keyspaces (cmd_keyspace): every
 * shard's when locked (all are), else just this one. */
struct keyspace *cmd_ks(struct cmd_ctx *c, const char *key, size_t klen);
unsigned cmd_nshards(const struct cmd_ctx *c);
struct keyspace *cmd_keyspace(const struct cmd_ctx *c, unsigned i);
/* Parses a SCAN cursor as Redis's parseScanCursorOrReply (strtoul on the C
 * string: a sign is allowed, "" is 0, anything else refused). */
bool cmd_parse_cursor(const struct cmd_arg *a, unsigned long long *out);

/* Key positions of a request (for forwarding and COMMAND GETKEYS): fills
 * keys[] with argument indexes, returns the count, or -1 if the request has
 * too few arguments for its keys. */
int cmd_key_positions(const struct cmd *cmd, int argc, int *keys, int max);

/* Handler declarations. */
#define CMD(id, parent, name, full, fn, arity, flags, first, last, step, info, docs, npairs)       \
	void fn(struct cmd_ctx *c);
#include "cmd/commands.def"
#undef CMD

/* Shared helpers for handlers. */
bool cmd_arg_eq(const struct cmd_arg *a, const char *lit); /* case-insensitive */
/* Parses an integer argument with Redis's rules; on failure replies
 * "value is not an integer or out of range" (or msg if given) and returns
 * false. */
bool cmd_arg_ll(struct cmd_ctx *c, const struct cmd_arg *a, long long *out, const char *msg);
/* "-ERR syntax error". */
void cmd_syntax_error(struct cmd_ctx *c);
/* Redis's addReplyHelp: "<NAME> <subcommand> [<arg> [value] [opt] ...].
 * Subcommands are:", the n lines, then the HELP entry, each a status. */
void cmd_reply_help(struct cmd_ctx *c, const char *name, const char *const *lines, size_t n);

/* Helpers shared by handlers in more than one cmd_<group>.c file. Where Redis
 * reads an argument as a C string (strcasecmp() on an option, "%s" in an
 * error), these do too: the bytes after an embedded NUL are ignored. */

/* The bytes of a up to its first NUL: what Redis sees of it as a C string. */
size_t cmd_arg_cstr_len(const struct cmd_arg *a);
/* An option keyword check (case-insensitive) with strcasecmp()'s view of a. */
bool cmd_arg_cstr_eq(const struct cmd_arg *a, const char *lit);
/* Replies the error "<pre><a as a C string><post>", a quoted whole. */
void cmd_reply_error_arg(struct cmd_ctx *c, const char *pre, const struct cmd_arg *a,
			 const char *post);
/* The entry of key with Redis's LOOKUP_NOTOUCH: expires lazily and counts a
 * hit or a miss, leaves the LRU clock alone; NULL when missing. Any type. */
struct kv *cmd_lookup_key_notouch(struct cmd_ctx *c, const struct cmd_arg *key);

/* "-WRONGTYPE ...", the reply to a key of another type. */
void cmd_reply_wrongtype(struct cmd_ctx *c);

/* Typed lookups, Redis's lookupKeyRead/lookupKeyWrite followed by
 * checkType: key is looked up in ks (c->ks, or cmd_ks() of the key for a
 * multi-key command) and *out is its entry, or NULL when it is missing. A
 * value of another type than `type` is refused: WRONGTYPE is replied, false
 * returned, and nothing else happens. A read counts a keyspace hit or miss;
 * both update the LRU clock and expire the key lazily (keyspace.h). Every
 * command that reads or changes a value of a given type looks it up so. */
static inline bool cmd_lookup_read(struct cmd_ctx *c, struct keyspace *ks,
				   const struct cmd_arg *key, enum kv_type type, struct kv **out)
{
	struct kv *e = ks_lookup_read(ks, key->p, key->len);

	*out = e;
	if (e == NULL || e->type == type)
		return true;
	cmd_reply_wrongtype(c);
	return false;
}

static inline bool cmd_lookup_write(struct cmd_ctx *c, struct keyspace *ks,
				    const struct cmd_arg *key, enum kv_type type, struct kv **out)
{
	struct kv *e = ks_lookup_write(ks, key->p, key->len);

	*out = e;
	if (e == NULL || e->type == type)
		return true;
	cmd_reply_wrongtype(c);
	return false;
}

/* Prebuilt error texts (for reply_error): a leading '-' marks its own code. */
#define ERR_SYNTAX "syntax error"
#define ERR_NOT_INT "value is not an integer or out of range"
#define ERR_NOT_FLOAT "value is not a valid float"
#define ERR_WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NOAUTH "-NOAUTH Authentication required."
#define ERR_OOM "-OOM command not allowed when used memory > 'maxmemory'."
#define ERR_NO_SUCH_KEY "no such key"
#define ERR_OVERFLOW "increment or decrement would overflow"
#define ERR_NAN_INF "increment would produce NaN or Infinity"
#define ERR_STRING_TOO_LONG "string exceeds maximum allowed size (proto-max-bulk-len)"
#define ERR_OFFSET_RANGE "offset is out of range"
#define ERR_WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."

#endif
