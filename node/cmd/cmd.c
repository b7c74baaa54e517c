/* cmd.c: name lookup, the checks, running a request, and the helpers that
 * handlers in more than one file share. See cmd.h. */
#include "cmd/cmd.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/hist.h"
#include "base/latmon.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "data/keyspace.h"
#include "proto/reply.h"

/* Longest command name we look up (longer ones cannot match). */
#define CMD_NAME_MAX 32

static unsigned name_slot(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	/* FNV-1a over the bytes with the ASCII case bit set: upper and lower
	 * case land together (other bytes may collide, which the comparison
	 * then sorts out). */
	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)(name[i] | 0x20)) * 16777619u;
	return h & (CMD_INDEX_SLOTS - 1);
}

void cmd_index_init(struct cmd_index *ix)
{
	int i;

	for (i = 0; i < CMD_INDEX_SLOTS; i++)
		ix->slot[i] = -1;
	for (i = 0; i < CMDID_COUNT; i++) {
		const struct cmd *c = &cmd_table[i];
		unsigned s;
		if (c->parent != CMDID_NONE)
			continue;
		ASSERT(strlen(c->name) < CMD_NAME_MAX);
		s = name_slot(c->name, strlen(c->name));
		while (ix->slot[s] >= 0)
			s = (s + 1) & (CMD_INDEX_SLOTS - 1);
		ix->slot[s] = (int16_t)i;
	}
}

const struct cmd *cmd_lookup(const struct cmd_index *ix, const char *name, size_t len)
{
	unsigned s;

	if (len == 0 || len >= CMD_NAME_MAX)
		return NULL;
	for (s = name_slot(name, len); ix->slot[s] >= 0; s = (s + 1) & (CMD_INDEX_SLOTS - 1)) {
		const struct cmd *c = &cmd_table[ix->slot[s]];
		if (util_eq_nocase(name, len, c->name))
			return c;
	}
	return NULL;
}

bool cmd_is_container(const struct cmd *cmd)
{
	return cmd->id + 1 < CMDID_COUNT && cmd_table[cmd->id + 1].parent == cmd->id;
}

const struct cmd *cmd_lookup_sub(const struct cmd *parent, const char *name, size_t len)
{
	const struct cmd *sub;

	cmd_each_sub(parent, sub) {
		if (util_eq_nocase(name, len, sub->name))
			return sub;
	}
	return NULL;
}

const struct cmd *cmd_resolve(const struct cmd_index *ix, const struct cmd_arg *argv, int argc)
{
	const struct cmd *base = cmd_lookup(ix, argv[0].p, argv[0].len);

	if (base == NULL || argc == 1 || !cmd_is_container(base))
		return base;
	return cmd_lookup_sub(base, argv[1].p, argv[1].len);
}

/* The count as C's atoi() reads a C string: leading white space, a sign,
 * digits up to the first other byte (a NUL ends the string), strtol()'s
 * saturation, then glibc's truncation of the long to an int. */
static int atoi_like(const struct cmd_arg *a)
{
	const char *p = a->p, *end = a->p + cmd_arg_cstr_len(a);
	unsigned long long v = 0;
	bool neg = false;

	while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > (unsigned long long)LLONG_MAX + neg) {
			v = (unsigned long long)LLONG_MAX + neg;
			break;
		}
	}
	return (int)(uint32_t)(neg ? 0 - v : v);
}

int cmd_keynum_keys(const struct cmd *cmd, const struct cmd_arg *argv, int argc, int *first)
{
	int n;

	*first = cmd->keynum + 1;
	if (cmd->keynum <= 0 || cmd->keynum >= argc)
		return 0;
	/* Redis reads the count with its key spec (string2ll, 0 or more, the
	 * keys inside the arguments), and when that refuses it, with the
	 * command's own key function (atoi, 1 or more, inside the arguments):
	 * together, the keys are there exactly when atoi's reading is 1 or
	 * more and the keys fit. */
	n = atoi_like(&argv[cmd->keynum]);
	return n >= 1 && n <= argc - *first ? n : 0;
}

int cmd_extra_key(const struct cmd *cmd, const struct cmd_arg *argv, int argc)
{
	return cmd->id == CMDID_SORT ? cmd_sort_store_key(argv, argc) : 0;
}

bool cmd_needs_all_shards(const struct cmd *cmd, const struct cmd_arg *argv, int argc)
{
	if (cmd->id == CMDID_SORT || cmd->id == CMDID_SORT_RO)
		return cmd_sort_all_shards(argv, argc);
	return false;
}

int cmd_migrate_keys(const struct cmd_arg *argv, int argc, int *first)
{
	int i;

	*first = 3;
	if (argc < 4)
		return 0;
	for (i = 6; i < argc; i++) {
		if (cmd_arg_cstr_eq(&argv[i], "keys")) {
			if (argv[3].len > 0)
				return 0;
			*first = i + 1;
			return argc - *first;
		}
	}
	return 1;
}

int cmd_key_positions(const struct cmd *cmd, const struct cmd_arg *argv, int argc, int *keys,
		      int max)
{
	int last, i, n = 0, first, count;
	long long v;
	bool dest_last;

	if (cmd->id == CMDID_MIGRATE) {
		count = cmd_migrate_keys(argv, argc, &first);
		for (i = 0; i < count && n < max; i++)
			keys[n++] = first + i;
		return n;
	}

	count = cmd_keynum_keys(cmd, argv, argc, &first);
	/* Redis's key functions of these commands (genericGetKeys) find no
	 * key at all, not even a destination, when the count (as atoi reads
	 * it) is below 1 or names more keys than there are arguments; they
	 * list a destination (ZUNIONSTORE's) after the sources, where the key
	 * specs, which read a count that string2ll takes, list it first. */
	if (cmd->keynum > 0 && count < 1)
		return 0;
	dest_last = cmd->keynum > 0 && !util_str2ll(argv[cmd->keynum].p, argv[cmd->keynum].len, &v);
	for (i = 0; dest_last && i < count && n < max; i++)
		keys[n++] = first + i;
	if (cmd->first_key > 0) {
		last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
		if (last >= argc)
			return -1;
		for (i = cmd->first_key; i <= last && n < max; i += cmd->key_step)
			keys[n++] = i;
	}
	for (i = 0; !dest_last && i < count && n < max; i++)
		keys[n++] = first + i;
	i = cmd_extra_key(cmd, argv, argc);
	if (i > 0 && n < max)
		keys[n++] = i;
	return n;
}

/* "'a' 'b' " as Redis lists the first arguments of an unknown command: each
 * as a C string (cut at a NUL), until the list reaches 128 bytes. */
static void unknown_command(struct cmd_ctx *c)
{
	char args[256];
	size_t o = 0;
	int i;

	for (i = 1; i < c->argc && o < 128; i++) {
		size_t room = 128 - o;
		size_t n = strnlen(c->argv[i].p, c->argv[i].len < room ? c->argv[i].len : room);
		o += (size_t)snprintf(args + o, sizeof(args) - o, "'%.*s' ", (int)n, c->argv[i].p);
	}
	args[o] = '\0';
	reply_errorf(c->r, "unknown command '%.*s', with args beginning with: %s",
		     (int)strnlen(c->argv[0].p, c->argv[0].len < 128 ? c->argv[0].len : 128),
		     c->argv[0].p, args);
}

void cmd_reply_subcommand_syntax(struct cmd_ctx *c, const char *container)
{
	const struct cmd_arg *sub = &c->argv[1];

	reply_errorf(c->r,
		     "unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
		     (int)strnlen(sub->p, sub->len < 128 ? sub->len : 128), sub->p, container);
}

static void unknown_subcommand(struct cmd_ctx *c, const struct cmd *base)
{
	char up[CMD_NAME_MAX];
	size_t i, n = strlen(base->name);

	for (i = 0; i <= n; i++)
		up[i] = (char)toupper((unsigned char)base->name[i]);
	reply_errorf(c->r, "unknown subcommand '%.*s'. Try %s HELP.",
		     (int)strnlen(c->argv[1].p, c->argv[1].len < 128 ? c->argv[1].len : 128),
		     c->argv[1].p, up);
}

static bool arity_ok(const struct cmd *cmd, int argc)
{
	return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

const struct cmd *cmd_check(struct cmd_ctx *c)
{
	const struct cmd_env *env = c->env;
	const struct cmd *cmd;

	ASSERT(c->argc > 0);
	cmd = c->cmd = cmd_resolve(env->cmds, c->argv, c->argc);
	if (cmd == NULL) {
		const struct cmd *base = cmd_lookup(env->cmds, c->argv[0].p, c->argv[0].len);
		if (base != NULL)
			unknown_subcommand(c, base);
		else
			unknown_command(c);
		return NULL;
	}
	if (!arity_ok(cmd, c->argc)) {
		env->cstat[cmd->id].rejected++;
		reply_errorf(c->r, "wrong number of arguments for '%s' command", cmd->fullname);
		return NULL;
	}
	if (!c->authed && env->cfg->requirepass[0] != '\0' && !(cmd->flags & CMD_NO_AUTH)) {
		env->cstat[cmd->id].rejected++;
		reply_error(c->r, ERR_NOAUTH);
		return NULL;
	}
	if (env->cfg->maxmemory > 0 && (cmd->flags & CMD_DENYOOM) && env->make_room(env->host)) {
		env->cstat[cmd->id].rejected++;
		reply_error(c->r, ERR_OOM);
		return NULL;
	}
	return cmd;
}

static bool shard_locked(const struct cmd_ctx *c, unsigned s);

/* Key positions cmd_track_keys() finds room for on the stack. */
#define CMD_TRACK_KEYS_SMALL 16

/* The command has ended: the watched keys it looked up for writing, and
 * did not change, are forgotten (watch.h), in every keyspace it reached. */
static inline void cmd_forget_noted(struct cmd_ctx *c)
{
	unsigned s;

	watch_cmd_done(&c->ks->watch);
	tracking_cmd_done(&c->ks->trk);
	if (c->locked == NULL)
		return;
	for (s = 0; s < c->env->nshards; s++) {
		if (shard_locked(c, s)) {
			watch_cmd_done(&c->env->keyspaces[s]->watch);
			tracking_cmd_done(&c->env->keyspaces[s]->trk);
		}
	}
}

/* CLIENT TRACKING: the keys a read-only command read are remembered for
 * its client, each in the keyspace that holds it (Redis's
 * trackingRememberKeys: whatever the command answered). */
static __attribute__((noinline)) void cmd_track_keys(struct cmd_ctx *c, const struct cmd *cmd)
{
	int small[CMD_TRACK_KEYS_SMALL], *keys = small, n, i;

	if (c->argc > CMD_TRACK_KEYS_SMALL)
		keys = mem_alloc(c->env->mem, (size_t)c->argc * sizeof(*keys));
	n = cmd_key_positions(cmd, c->argv, c->argc, keys, c->argc);
	for (i = 0; i < n; i++) {
		const struct cmd_arg *k = &c->argv[keys[i]];
		tracking_remember(&cmd_ks(c, k->p, k->len)->trk, k->p, k->len, c->client_id);
	}
	if (keys != small)
		mem_free(c->env->mem, keys);
}

/* CLIENT NO-TOUCH: while the command runs, the keyspaces it may reach
 * leave their keys' LRU/LFU/SIEVE state alone (on), then touch again. */
static __attribute__((noinline)) void cmd_no_touch(struct cmd_ctx *c, bool on)
{
	unsigned s;

	c->ks->no_touch = on;
	if (c->locked == NULL)
		return;
	for (s = 0; s < c->env->nshards; s++)
		if (shard_locked(c, s))
			c->env->keyspaces[s]->no_touch = on;
}

/* latency-tracking: the command's duration goes to its histogram, in ns
 * of whole microseconds as Redis records it. */
static inline void track_latency(struct cmd_env *env, struct cmd_stat *cs, uint64_t usec)
{
	if (__builtin_expect(cs->hist == NULL, 0))
		cs->hist = mem_calloc(env->mem, sizeof(*cs->hist));
	hist_record(env->mem, cs->hist, usec * 1000);
}

/* latency-monitor-threshold (not 0): the command is an event if it took
 * that many ms, "fast-command" for one with the fast flag, as Redis's
 * call() records it (EXEC, and each command it runs, alike). */
static __attribute__((noinline, cold)) void note_latency(struct cmd_env *env, const struct cmd *cmd,
							 uint64_t usec)
{
	uint64_t ms = usec / 1000;

	if (ms >= (uint64_t)env->cfg->latency_monitor_threshold)
		latmon_add(env->latmon,
			   (cmd->flags & CMD_FAST) ? LATMON_FAST_COMMAND : LATMON_COMMAND,
			   env->clock->now_ms / 1000, ms);
}

void cmd_stats_reset(struct mem *mem, struct cmd_stat *stats)
{
	unsigned i;

	for (i = 0; i < CMDID_COUNT; i++) {
		if (stats[i].hist != NULL)
			hist_clear(mem, stats[i].hist);
		mem_free(mem, stats[i].hist);
	}
	memset(stats, 0, CMDID_COUNT * sizeof(*stats));
}

void cmd_run(struct cmd_ctx *c, const struct cmd *cmd)
{
	struct cmd_env *env = c->env;
	struct clock *clock = env->clock;
	uint32_t errors = c->r->errors;
	uint64_t t0 = clock->now_ns, usec;
	struct cmd_stat *cs;

	/* One clock reading per command, taken when it ends: it times this
	 * command (from the previous reading, so parsing it counts too) and
	 * is the time the next command in the batch sees. A vDSO clock read
	 * costs about 5% of a GET on a KVM guest; three per command did. */
	c->cmd = cmd;
	/* A forwarded write makes room on the shard that holds its keys; the
	 * client's shard checked for OOM (cmd_check) and evicted on its own. */
	if (c->conn == NULL && env->cfg->maxmemory > 0 && (cmd->flags & CMD_DENYOOM))
		(void)env->make_room(env->host);
	env->cur_client = c->client_id;
	if (c->no_touch && cmd->id != CMDID_TOUCH) {
		cmd_no_touch(c, true);
		cmd->fn(c);
		cmd_no_touch(c, false);
	} else {
		cmd->fn(c);
	}
	if (__builtin_expect(c->track, 0) && (cmd->flags & CMD_READONLY))
		cmd_track_keys(c, cmd);
	cmd_forget_noted(c);
	env->cur_client = 0;
	clock_read(clock);
	env->ks->now_ms = clock->now_ms;
	if (c->blocked)
		return;
	cs = &env->cstat[cmd->id];
	usec = (clock->now_ns - t0) / 1000;
	cs->usec += usec;
	if (env->cfg->latency_tracking)
		track_latency(env, cs, usec);
	if (env->cfg->slowlog_log_slower_than >= 0 &&
	    usec >= (uint64_t)env->cfg->slowlog_log_slower_than && !(cmd->flags & CMD_SKIP_SLOWLOG))
		env->log_slow(env->host, c, cmd, usec);
	if (__builtin_expect(env->cfg->latency_monitor_threshold != 0, 0))
		note_latency(env, cmd, usec);
	cs->calls++;
	cs->failed += c->r->errors != errors;
	env->st->commands_processed++;
}

static bool shard_locked(const struct cmd_ctx *c, unsigned s)
{
	return (c->locked[s / 64] >> (s % 64)) & 1;
}

struct keyspace *cmd_ks(struct cmd_ctx *c, const char *key, size_t klen)
{
	const struct cmd_env *env = c->env;
	unsigned owner;

	if (env->nshards == 1)
		return c->ks;
	owner = env->slot_shard[hash_slot(key, klen)];
	if (c->locked == NULL) {
		/* Routing sent the request where its keys are. */
		ASSERT(owner == env->self);
		return c->ks;
	}
	/* Pairs with the span's lock mask: the key's shard is held. */
	ASSERT(shard_locked(c, owner));
	return env->keyspaces[owner];
}

unsigned cmd_nshards(const struct cmd_ctx *c)
{
	return c->locked != NULL ? c->env->nshards : 1;
}

struct keyspace *cmd_keyspace(const struct cmd_ctx *c, unsigned i)
{
	ASSERT(i < cmd_nshards(c));
	if (c->locked == NULL)
		return c->ks;
	ASSERT(shard_locked(c, i));
	return c->env->keyspaces[i];
}

bool cmd_parse_cursor(const struct cmd_arg *a, unsigned long long *out)
{
	size_t n = strnlen(a->p, a->len), i = 0;
	bool neg = false;
	unsigned long long v = 0;

	if (n > 0 && (a->p[0] == '-' || a->p[0] == '+'))
		neg = a->p[i++] == '-';
	if (i == n) {
		/* No digits: strtoul converts nothing and points at the start. */
		*out = 0;
		return n == 0;
	}
	for (; i < n; i++) {
		unsigned d = (unsigned)(a->p[i] - '0');
		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? 0 - v : v;
	return true;
}

bool cmd_arg_eq(const struct cmd_arg *a, const char *lit)
{
	return util_eq_nocase(a->p, a->len, lit);
}

bool cmd_arg_ll(struct cmd_ctx *c, const struct cmd_arg *a, long long *out, const char *msg)
{
	if (util_str2ll(a->p, a->len, out))
		return true;
	reply_error(c->r, msg != NULL ? msg : ERR_NOT_INT);
	return false;
}

bool cmd_rand_count(struct cmd_ctx *c, const char *with_word, long long *count, bool *with)
{
	*with = c->argc == 4;
	if (!cmd_arg_ll(c, &c->argv[2], count, NULL))
		return false;
	if (*count == LLONG_MIN) {
		reply_error(c->r, ERR_COUNT_RANGE);
		return false;
	}
	if (c->argc > 4 || (*with && !cmd_arg_cstr_eq(&c->argv[3], with_word))) {
		cmd_syntax_error(c);
		return false;
	}
	if (*with && (*count < -LLONG_MAX / 2 || *count > LLONG_MAX / 2)) {
		reply_error(c->r, "value is out of range");
		return false;
	}
	return true;
}

void cmd_syntax_error(struct cmd_ctx *c)
{
	reply_error(c->r, ERR_SYNTAX);
}

void cmd_reply_help(struct cmd_ctx *c, const char *name, const char *const *lines, size_t n)
{
	char head[96];
	size_t i;
	int k = snprintf(head, sizeof(head),
			 "%s <subcommand> [<arg> [value] [opt] ...]. "
			 "Subcommands are:",
			 name);

	ASSERT(k > 0);
	ASSERT((size_t)k < sizeof(head));
	reply_array(c->r, (long long)n + 3);
	reply_status(c->r, head);
	for (i = 0; i < n; i++)
		reply_status(c->r, lines[i]);
	reply_status(c->r, "HELP");
	reply_status(c->r, "    Prints this help.");
}

/* ---- helpers shared by the cmd_<group>.c files (see cmd.h) ---- */

/* The bytes of an argument up to its first NUL: what Redis sees when it
 * treats the argument as a C string. */
size_t cmd_arg_cstr_len(const struct cmd_arg *a)
{
	return strnlen(a->p, a->len);
}

/* An option keyword check, with strcasecmp()'s view of the argument. */
bool cmd_arg_cstr_eq(const struct cmd_arg *a, const char *lit)
{
	return util_eq_nocase(a->p, cmd_arg_cstr_len(a), lit);
}

/* Replies the error "<pre><argument as a C string><post>". The message is
 * built to its exact size, since an argument may be longer than the buffer
 * of reply_errorf() and Redis quotes it whole. */
void cmd_reply_error_arg(struct cmd_ctx *c, const char *pre, const struct cmd_arg *a,
			 const char *post)
{
	size_t lp = strlen(pre), la = cmd_arg_cstr_len(a), ls = strlen(post);
	char *msg = mem_alloc(c->env->mem, lp + la + ls);

	memcpy(msg, pre, lp);
	memcpy(msg + lp, a->p, la);
	memcpy(msg + lp + la, post, ls);
	reply_error_len(c->r, msg, lp + la + ls);
	mem_free(c->env->mem, msg);
}

void cmd_reply_wrongtype(struct cmd_ctx *c)
{
	reply_error(c->r, ERR_WRONGTYPE);
}

/* Redis's lookupKeyReadWithFlags(LOOKUP_NOTOUCH): expires lazily and counts
 * a hit or a miss, but leaves the LRU clock alone (EXISTS, TYPE, TTL);
 * _nonotify adds LOOKUP_NONOTIFY (OBJECT): no keymiss event. */
struct kv *cmd_lookup_key_nonotify(struct cmd_ctx *c, const struct cmd_arg *key)
{
	struct keyspace *ks = cmd_ks(c, key->p, key->len);
	struct kv *e = ks_peek(ks, key->p, key->len);

	if (e != NULL)
		ks->st->keyspace_hits++;
	else
		ks->st->keyspace_misses++;
	return e;
}

struct kv *cmd_lookup_key_notouch(struct cmd_ctx *c, const struct cmd_arg *key)
{
	struct kv *e = cmd_lookup_key_nonotify(c, key);

	if (e == NULL)
		ks_notify(cmd_ks(c, key->p, key->len), CONFIG_NOTIFY_KEY_MISS, "keymiss", key->p,
			  key->len);
	return e;
}
