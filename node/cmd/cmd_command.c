/* cmd_command.c: COMMAND and its subcommands (COUNT, INFO, DOCS, GETKEYS,
 * LIST, HELP), answered from the command table.
 *
 * For each command, commands_docs.def (generated with commands.def, and
 * included here only) holds the RESP3 text of the first nine fields of its
 * COMMAND INFO entry and of its COMMAND DOCS map pairs.
 * A RESP3 client gets that text as is; a RESP2 client gets it through
 * text_emit(), which rewrites each RESP3-only header to its RESP2 form
 * element by element, the same degradation reply.h applies.
 *
 * Only commands in the table appear, so COMMAND, COMMAND COUNT, the lists
 * and the subcommands of a container are a subset of Redis's. Redis lists
 * commands and subcommands in the order of its hash tables (seeded at
 * random each start); cairn lists them in table order. */
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "proto/reply.h"

/* ---- RESP3 text walking ---- */

/* The end of the header line that starts at p (its '\r'). The text is
 * generated, so every line is terminated. */
static const char *text_eol(const char *p, const char *end)
{
	const char *cr = memchr(p, '\r', (size_t)(end - p));

	ASSERT(cr != NULL);
	ASSERT(cr + 1 < end);
	ASSERT(cr[1] == '\n');
	return cr;
}

/* The number in a header line "<type><n>\r\n" that starts at p. */
static long long text_num(const char *p, const char *eol)
{
	long long n = 0;
	bool ok = util_str2ll(p + 1, (size_t)(eol - p - 1), &n);

	ASSERT(ok);
	return n;
}

/* Skips one whole element (an aggregate with everything in it) starting at
 * p, and returns where the next one starts. Iterative: `left` counts the
 * elements still to pass, so nesting depth costs nothing. */
static const char *text_skip(const char *p, const char *end)
{
	long long left = 1;

	while (left > 0) {
		const char *eol = text_eol(p, end);
		char t = p[0];
		left--;
		if (t == '$' || t == '=' || t == '!')
			eol += text_num(p, eol) + 2;
		else if (t == '*' || t == '~' || t == '>')
			left += text_num(p, eol);
		else if (t == '%' || t == '|')
			left += 2 * text_num(p, eol);
		p = eol + 2;
	}
	ASSERT(p <= end);
	return p;
}

/* Writes the RESP2 form of one header line (or scalar) that needs
 * rewriting; returns where the next line starts. */
static const char *text_degrade(struct reply *r, const char *p, const char *end)
{
	const char *eol = text_eol(p, end);
	long long n;

	switch (p[0]) {
	case '%': reply_array(r, 2 * text_num(p, eol)); break;
	case '~':
	case '>': reply_array(r, text_num(p, eol)); break;
	case '_': reply_null(r); break;
	case '#': reply_int(r, p[1] == 't'); break;
	case ',':
	case '(': reply_bulk(r, p + 1, (size_t)(eol - p - 1)); break;
	case '=':
		/* A verbatim string loses its "txt:" prefix. */
		n = text_num(p, eol);
		ASSERT(n >= 4);
		reply_bulk(r, eol + 2 + 4, (size_t)n - 4);
		return eol + 2 + n + 2;
	default:
		/* Attributes have no RESP2 form; the generated text has none. */
		ASSERT_NOT_REACHED("command: unexpected RESP3 type in stored text");
	}
	return eol + 2;
}

/* Emits stored RESP3 text in the client's protocol. Runs of lines that
 * RESP2 shares are copied in one piece. */
static void text_emit(struct reply *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *run = text;

	if (r->proto >= 3) {
		reply_raw(r, text, len);
		return;
	}
	while (p < end) {
		const char *eol = text_eol(p, end);
		switch (p[0]) {
		case '$': p = eol + 2 + text_num(p, eol) + 2; break;
		case '*':
		case '+':
		case '-':
		case ':': p = eol + 2; break;
		default:
			reply_raw(r, run, (size_t)(p - run));
			p = text_degrade(r, p, end);
			run = p;
		}
	}
	ASSERT(p == end);
	reply_raw(r, run, (size_t)(p - run));
}

/* ---- the table ---- */

/* What COMMAND INFO and DOCS send back for one (sub)command: the text of
 * the first nine fields of its INFO entry, and of its DOCS map pairs
 * (docs_pairs of them), both without subcommands. */
struct cmd_text {
	const char *info;
	size_t info_len;
	const char *docs;
	size_t docs_len;
	int docs_pairs;
};

/* Indexed by enum cmd_id, as cmd_table. */
static const struct cmd_text texts[CMDID_COUNT] = {
#define CMD_DOCS(id_, info_, docs_, npairs_)                                                       \
	[id_] = { .info = info_,                                                                   \
		  .info_len = sizeof(info_) - 1,                                                   \
		  .docs = docs_,                                                                   \
		  .docs_len = sizeof(docs_) - 1,                                                   \
		  .docs_pairs = npairs_ },
#include "cmd/commands_docs.def"
#undef CMD_DOCS
};

/* An entry per command: with the count right, a missing id would need a
 * repeated one, which the compilers warn about (gcc -Woverride-init, clang
 * -Winitializer-overrides; errors with CAIRN_WERROR). text_of() checks too. */
enum {
	TEXTS_LISTED = 0
#define CMD_DOCS(id_, info_, docs_, npairs_) +1
#include "cmd/commands_docs.def"
#undef CMD_DOCS
};
_Static_assert((int)TEXTS_LISTED == (int)CMDID_COUNT,
	       "commands_docs.def and commands.def disagree");

static const struct cmd_text *text_of(const struct cmd *cmd)
{
	const struct cmd_text *t = &texts[cmd->id];

	ASSERT(t->info != NULL);
	return t;
}

/* A (sub)command by name as COMMAND INFO and DOCS take it: "get", or
 * "config|get" for a subcommand (one level only, as Redis), any case. */
static const struct cmd *lookup_name(const struct cmd_index *ix, const char *p, size_t len)
{
	const char *bar = memchr(p, '|', len);
	const struct cmd *base;
	size_t blen;

	if (bar == NULL)
		return cmd_lookup(ix, p, len);
	blen = (size_t)(bar - p);
	base = cmd_lookup(ix, p, blen);
	if (base == NULL || !cmd_is_container(base) || memchr(bar + 1, '|', len - blen - 1))
		return NULL;
	return cmd_lookup_sub(base, bar + 1, len - blen - 1);
}

/* cmd_each_sub's first argument must be spelled `parent` (see the
 * report: the macro's parameter shadows the member of the same name). */
static int sub_count(const struct cmd *parent)
{
	const struct cmd *sub;
	int n = 0;

	cmd_each_sub(parent, sub)
		n++;
	return n;
}

static int top_count(void)
{
	int i, n = 0;

	for (i = 0; i < CMDID_COUNT; i++)
		n += cmd_table[i].parent == CMDID_NONE;
	return n;
}

/* One COMMAND INFO entry: the nine stored fields, then the subcommands.
 * As Redis, a command without subcommands ends in an empty set, and a
 * container in an array of its subcommands' entries. */
static void info_entry(struct reply *r, const struct cmd *parent)
{
	const struct cmd_text *t = text_of(parent);
	const struct cmd *sub;

	reply_array(r, 10);
	text_emit(r, t->info, t->info_len);
	if (!cmd_is_container(parent)) {
		reply_set(r, 0);
		return;
	}
	ASSERT(parent->parent == CMDID_NONE);
	reply_array(r, sub_count(parent));
	cmd_each_sub(parent, sub)
		info_entry(r, sub);
}

/* One COMMAND DOCS value: the stored pairs, plus "subcommands" (a map of
 * fullname to docs) for a container. */
static void docs_entry(struct reply *r, const struct cmd *parent)
{
	const struct cmd_text *t = text_of(parent);
	const struct cmd *sub;
	bool container = cmd_is_container(parent);

	reply_map(r, t->docs_pairs + (container ? 1 : 0));
	text_emit(r, t->docs, t->docs_len);
	if (!container)
		return;
	reply_bulk_cstr(r, "subcommands");
	reply_map(r, sub_count(parent));
	cmd_each_sub(parent, sub) {
		reply_bulk_cstr(r, sub->fullname);
		docs_entry(r, sub);
	}
}

static void info_all(struct reply *r)
{
	int i;

	reply_array(r, top_count());
	for (i = 0; i < CMDID_COUNT; i++)
		if (cmd_table[i].parent == CMDID_NONE)
			info_entry(r, &cmd_table[i]);
}

/* ---- handlers ---- */

/* COMMAND: every top-level command (the dispatcher sends COMMAND <sub>
 * to the subcommand's handler). */
void cmd_command(struct cmd_ctx *c)
{
	ASSERT(c->argc == 1);
	info_all(c->r);
}

/* @differs: the count of cairn's table, not Redis's 240. */
void cmd_command_count(struct cmd_ctx *c)
{
	reply_int(c->r, top_count());
}

/* COMMAND INFO [name ...]: an entry per name, null for an unknown one. */
void cmd_command_info(struct cmd_ctx *c)
{
	int i;

	if (c->argc == 2) {
		info_all(c->r);
		return;
	}
	reply_array(c->r, c->argc - 2);
	for (i = 2; i < c->argc; i++) {
		const struct cmd *cmd = lookup_name(c->env->cmds, c->argv[i].p, c->argv[i].len);
		if (cmd == NULL)
			reply_null(c->r);
		else
			info_entry(c->r, cmd);
	}
}

/* COMMAND DOCS [name ...]: a map of fullname to docs; unknown names are
 * left out (so the count is taken first). */
void cmd_command_docs(struct cmd_ctx *c)
{
	const struct cmd *cmd;
	int i, n = 0;

	if (c->argc == 2) {
		reply_map(c->r, top_count());
		for (i = 0; i < CMDID_COUNT; i++) {
			if (cmd_table[i].parent != CMDID_NONE)
				continue;
			reply_bulk_cstr(c->r, cmd_table[i].fullname);
			docs_entry(c->r, &cmd_table[i]);
		}
		return;
	}
	for (i = 2; i < c->argc; i++)
		n += lookup_name(c->env->cmds, c->argv[i].p, c->argv[i].len) != NULL;
	ASSERT(n <= c->argc - 2);
	reply_map(c->r, n);
	for (i = 2; i < c->argc; i++) {
		cmd = lookup_name(c->env->cmds, c->argv[i].p, c->argv[i].len);
		if (cmd == NULL)
			continue;
		reply_bulk_cstr(c->r, cmd->fullname);
		docs_entry(c->r, cmd);
	}
}

/* COMMAND GETKEYS <command> [arg ...]: the keys of a full command, with
 * Redis's checks in Redis's order. */
void cmd_command_getkeys(struct cmd_ctx *c)
{
	const struct cmd_arg *argv = c->argv + 2;
	int argc = c->argc - 2, n, i, *keys;
	const struct cmd *cmd = cmd_resolve(c->env->cmds, argv, argc);

	if (cmd == NULL) {
		reply_error(c->r, "Invalid command specified");
		return;
	}
	if (cmd->first_key <= 0 && !(cmd->flags & CMD_MOVABLEKEYS)) {
		reply_error(c->r, "The command has no key arguments");
		return;
	}
	if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
		reply_error(c->r, "Invalid number of arguments specified for command");
		return;
	}
	/* A command has at most one key per argument. */
	keys = mem_alloc(c->env->mem, (size_t)argc * sizeof(*keys));
	n = cmd_key_positions(cmd, argv, argc, keys, argc);
	ASSERT(n <= argc);
	if (n <= 0 && (cmd->flags & CMD_NO_MANDATORY_KEYS)) {
		reply_empty_array(c->r);
	} else if (n <= 0) {
		reply_error(c->r, "Invalid arguments specified for command");
	} else {
		reply_array(c->r, n);
		for (i = 0; i < n; i++) {
			ASSERT(keys[i] > 0);
			ASSERT(keys[i] < argc);
			reply_bulk(c->r, argv[keys[i]].p, argv[keys[i]].len);
		}
	}
	mem_free(c->env->mem, keys);
}

/* COMMAND LIST's filter. */
enum list_filter { LIST_ALL = 0, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };

/* Whether cmd is in ACL category cat (without '@'): its stored INFO text
 * lists the categories as the seventh field, a set of "+@name". */
static bool in_aclcat(const struct cmd *cmd, const char *cat, size_t len)
{
	const struct cmd_text *t = text_of(cmd);
	const char *p = t->info, *end = t->info + t->info_len, *eol;
	long long n, k;
	int field;

	for (field = 0; field < 6; field++)
		p = text_skip(p, end);
	eol = text_eol(p, end);
	ASSERT(p[0] == '~' || p[0] == '*');
	n = text_num(p, eol);
	p = eol + 2;
	for (k = 0; k < n; k++) {
		eol = text_eol(p, end);
		ASSERT(p[0] == '+');
		ASSERT(p[1] == '@');
		if ((size_t)(eol - p - 2) == len && strncasecmp(p + 2, cat, len) == 0)
			return true;
		p = eol + 2;
	}
	return false;
}

static bool list_match(const struct cmd *cmd, enum list_filter f, const struct cmd_arg *arg)
{
	switch (f) {
	case LIST_ALL: return true;
	case LIST_MODULE: return false; /* cairn has no module commands */
	case LIST_ACLCAT: return in_aclcat(cmd, arg->p, arg->len);
	case LIST_PATTERN:
		return util_glob_match(arg->p, arg->len, cmd->fullname, strlen(cmd->fullname),
				       true);
	}
	ASSERT_NOT_REACHED("command: bad list filter");
	return false;
}

/* Emits (or, with r NULL, counts) the fullnames that pass the filter:
 * every command and, after a container, its subcommands, as Redis 7.0. */
static int list_names(struct reply *r, enum list_filter f, const struct cmd_arg *arg)
{
	int i, n = 0;

	for (i = 0; i < CMDID_COUNT; i++) {
		if (!list_match(&cmd_table[i], f, arg))
			continue;
		n++;
		if (r != NULL)
			reply_bulk_cstr(r, cmd_table[i].fullname);
	}
	return n;
}

/* COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]. As Redis, the
 * FILTERBY clause must be the last three arguments, so there is at most
 * one; anything else is a syntax error. */
void cmd_command_list(struct cmd_ctx *c)
{
	enum list_filter f = LIST_ALL;
	const struct cmd_arg *arg = NULL;
	int i, n;

	for (i = 2; i < c->argc; i += 3) {
		const struct cmd_arg *type;
		if (!cmd_arg_eq(&c->argv[i], "filterby") || c->argc - 1 - i != 2) {
			cmd_syntax_error(c);
			return;
		}
		type = &c->argv[i + 1];
		if (cmd_arg_eq(type, "module"))
			f = LIST_MODULE;
		else if (cmd_arg_eq(type, "aclcat"))
			f = LIST_ACLCAT;
		else if (cmd_arg_eq(type, "pattern"))
			f = LIST_PATTERN;
		else {
			cmd_syntax_error(c);
			return;
		}
		arg = &c->argv[i + 2];
	}
	n = list_names(NULL, f, arg);
	reply_array(c->r, n);
	ASSERT(list_names(c->r, f, arg) == n);
}

/* Redis's help layout (addReplyHelp): a title, the lines, then HELP. */
void cmd_command_help(struct cmd_ctx *c)
{
	static const char *const lines[] = {
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
	};

	cmd_reply_help(c, "COMMAND", lines, sizeof(lines) / sizeof(lines[0]));
}
