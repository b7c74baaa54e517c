/* cmd_client.c: CLIENT and its subcommands: ID, SETNAME, GETNAME, SETINFO,
 * LIST, INFO, KILL, NO-EVICT, REPLY and HELP.
 *
 * Replies and errors follow redis-server 7.0.15 byte for byte, with its checks
 * in its order. Later Redis is followed on purpose in three places: CLIENT
 * SETINFO and the lib-name= and lib-ver= fields of CLIENT LIST/INFO (7.2),
 * and CLIENT KILL MAXAGE (7.4).
 *
 * Where Redis reads an argument as a C string (strcasecmp() on an option,
 * "%s" in an error), so do we: the bytes after an embedded NUL are ignored
 * there, exactly as Redis ignores them.
 *
 * Every subcommand acts on or for the calling connection, so the request
 * must come with one (c->conn). CLIENT LIST and CLIENT KILL run with every
 * shard locked and see every connection of the node. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "io/io.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/pubsub.h"
#include "shard/shard.h"

/* A CLIENT LIST line is about 350 bytes before its strings. */
#define CONN_LINE_START 512

#define ERR_CLIENT_ID "client-id should be greater than 0"

/* Redis's client types, as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
 * A cairn connection is a pubsub one while it subscribes to something, else
 * a normal one. */
enum client_type {
	CLIENT_TYPE_ANY = -1,
	CLIENT_TYPE_NORMAL = 0,
	CLIENT_TYPE_REPLICA,
	CLIENT_TYPE_PUBSUB,
	CLIENT_TYPE_MASTER,
};

/* ---- helpers ---- */

/* Parses a client type name; returns false after an error reply. */
static bool client_type_or_reply(struct cmd_ctx *c, const struct cmd_arg *a, int *type)
{
	if (cmd_arg_cstr_eq(a, "normal"))
		*type = CLIENT_TYPE_NORMAL;
	else if (cmd_arg_cstr_eq(a, "slave") || cmd_arg_cstr_eq(a, "replica"))
		*type = CLIENT_TYPE_REPLICA;
	else if (cmd_arg_cstr_eq(a, "pubsub"))
		*type = CLIENT_TYPE_PUBSUB;
	else if (cmd_arg_cstr_eq(a, "master"))
		*type = CLIENT_TYPE_MASTER;
	else {
		cmd_reply_error_arg(c, "Unknown client type '", a, "'");
		return false;
	}
	return true;
}

static bool type_matches(int type, const struct conn *x)
{
	return type == CLIENT_TYPE_ANY ||
	       type == (x->ps != NULL ? CLIENT_TYPE_PUBSUB : CLIENT_TYPE_NORMAL);
}

/* ---- CLIENT LIST and CLIENT INFO ---- */

/* A connection closed without its output is already gone for Redis (freed at
 * once), so CLIENT LIST and KILL skip it. */
static bool conn_gone(const struct conn *x)
{
	return (x->flags & (CONN_F_CLOSE_NOW | CONN_F_CLOSING)) != 0;
}

/* The shard that owns x (locked, when it is not this one). */
static struct shard *owner(const struct shard *sh, const struct conn *x)
{
	return sh->set->shards[x->shard];
}

void server_sock_name(struct shard *sh, const struct conn *x, bool peer, char *buf)
{
	int n = io_sock_name(owner(sh, x)->io, x->sock, peer, buf, SERVER_ADDR_MAX);

	if (n < 0) {
		snprintf(buf, SERVER_ADDR_MAX, "?:0");
		return;
	}
	ASSERT(n < SERVER_ADDR_MAX);
	buf[n] = '\0';
}

/* Redis's flag letters, for the states cairn has. */
static void client_flags(const struct conn *x, char *out)
{
	char *p = out;

	if (x->flags & CONN_F_MONITOR)
		*p++ = 'O';
	if (x->ps != NULL)
		*p++ = 'P';
	if (x->txn.multi)
		*p++ = 'x';
	if (((x->flags & CONN_F_BLOCKED) && x->blocked_until >= 0) || (x->flags & CONN_F_POSTPONED))
		*p++ = 'b';
	if (x->flags & CONN_F_TRACKING)
		*p++ = 't';
	if (x->flags & CONN_F_TRK_BROKEN)
		*p++ = 'R';
	if (x->flags & CONN_F_TRK_BCAST)
		*p++ = 'B';
	if (x->flags & CONN_F_CLOSE_ASAP)
		*p++ = 'c';
	if (x->flags & CONN_F_NO_EVICT)
		*p++ = 'e';
	if (x->flags & CONN_F_NO_TOUCH)
		*p++ = 'T';
	if (p == out)
		*p++ = 'N';
	*p = '\0';
}

/* Bytes of the arguments being executed: nonzero only for the caller. */
static size_t argv_mem(const struct cmd_ctx *c, const struct conn *x)
{
	size_t n = 0;
	int i;

	if (x != c->conn)
		return 0;
	for (i = 0; i < c->argc; i++)
		n += c->argv[i].len;
	return n;
}

/* Appends x's line: Redis 7.0's fields in its order, then 7.2's lib-name and
 * lib-ver, then "\n". cairn has no fixed reply buffer (rbs, rbp): all output
 * sits in the chain, reported as obl (unsent bytes) and omem. */
static void client_line(struct cmd_ctx *c, struct text *t, const struct conn *x)
{
	char addr[SERVER_ADDR_MAX], laddr[SERVER_ADDR_MAX], flags[16];
	int64_t now_s = c->now_ms / 1000;

	server_sock_name(shard_of(c), x, true, addr);
	server_sock_name(shard_of(c), x, false, laddr);
	client_flags(x, flags);
	ASSERT(x->qlen <= x->qcap);
	text_printf(t,
		    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 "
		    "sub=%u psub=%u ssub=%u multi=%lld qbuf=%zu qbuf-free=%zu argv-mem=%zu "
		    "multi-mem=%zu rbs=0 rbp=0 obl=%zu oll=0 omem=%zu tot-mem=%zu events=%s "
		    "cmd=%s user=" SERVER_USER " redir=%lld resp=%u lib-name=%s lib-ver=%s\n",
		    (unsigned long long)x->id, addr, laddr, x->sock, x->name ? x->name : "",
		    (long long)(now_s - x->ctime_ms / 1000), (long long)(now_s - x->last_ms / 1000),
		    flags, pubsub_count(x, PUBSUB_CHANNEL), pubsub_count(x, PUBSUB_PATTERN),
		    pubsub_count(x, PUBSUB_SHARD), x->txn.multi ? (long long)x->txn.n : -1LL,
		    x->qlen, x->qcap - x->qlen, argv_mem(c, x), x->txn.bytes, x->out.bytes,
		    obuf_mem(&x->out), conn_mem(x), (x->flags & CONN_F_WRITING) ? "rw" : "r",
		    x->last_cmd >= 0 ? cmd_table[x->last_cmd].fullname : "NULL",
		    (x->flags & CONN_F_TRACKING) ? (long long)x->trk->redirect : -1LL,
		    (unsigned)x->proto, x->lib_name ? x->lib_name : "",
		    x->lib_ver ? x->lib_ver : "");
}

/* The shard's live connections sorted by id, which is creation order: the
 * order in which Redis lists its clients. */
struct conn_index {
	struct conn **v;
	uint32_t n;
};

static int conn_by_id(const void *a, const void *b)
{
	uint64_t x = (*(struct conn *const *)a)->id, y = (*(struct conn *const *)b)->id;

	return (x > y) - (x < y);
}

/* Every live connection of the shards the command covers (all of them,
 * locked, in a multi-shard node), sorted by id. */
static void conn_index_build(struct cmd_ctx *c, struct conn_index *ix)
{
	size_t total = 1;
	unsigned s;
	uint32_t i;

	for (s = 0; s < cmd_nshards(c); s++)
		total += shard_at(c, s)->conns.n;
	ix->v = mem_alloc(&shard_of(c)->mem, total * sizeof(*ix->v));
	ix->n = 0;
	for (s = 0; s < cmd_nshards(c); s++) {
		struct shard *sh = shard_at(c, s);
		for (i = 0; i < sh->conns.cap; i++) {
			struct conn *x = conns_at(&sh->conns, i);
			if (x == NULL || conn_gone(x))
				continue;
			ASSERT(ix->n < total);
			ix->v[ix->n++] = x;
		}
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), conn_by_id);
}

static struct conn *conn_index_find(const struct conn_index *ix, uint64_t id)
{
	uint32_t lo = 0, hi = ix->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ix->v[mid]->id == id)
			return ix->v[mid];
		if (ix->v[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void conn_index_free(struct shard *sh, struct conn_index *ix)
{
	mem_free(&sh->mem, ix->v);
	ix->v = NULL;
}

/* CLIENT LIST ID id [id ...]: the lines of the ids that exist, in argument
 * order. Every id is parsed before anything is listed. */
static void client_list_ids(struct cmd_ctx *c)
{
	struct conn_index ix;
	struct text t;
	long long id;
	int j;

	for (j = 3; j < c->argc; j++)
		if (!cmd_arg_ll(c, &c->argv[j], &id, "Invalid client ID"))
			return;
	text_init(&t, &shard_of(c)->mem, CONN_LINE_START);
	conn_index_build(c, &ix);
	for (j = 3; j < c->argc; j++) {
		struct conn *x;
		bool ok = util_str2ll(c->argv[j].p, c->argv[j].len, &id);
		ASSERT(ok);
		x = conn_index_find(&ix, (uint64_t)id);
		if (x != NULL)
			client_line(c, &t, x);
	}
	conn_index_free(shard_of(c), &ix);
	reply_verbatim(c->r, t.p, t.len, "txt");
	text_free(&t);
}

void cmd_client_list(struct cmd_ctx *c)
{
	int type = CLIENT_TYPE_ANY;
	struct conn_index ix;
	struct text t;
	uint32_t i;

	if (c->argc == 4 && cmd_arg_cstr_eq(&c->argv[2], "type")) {
		if (!client_type_or_reply(c, &c->argv[3], &type))
			return;
	} else if (c->argc > 3 && cmd_arg_cstr_eq(&c->argv[2], "id")) {
		client_list_ids(c);
		return;
	} else if (c->argc != 2) {
		cmd_syntax_error(c);
		return;
	}
	text_init(&t, &shard_of(c)->mem, CONN_LINE_START);
	conn_index_build(c, &ix);
	for (i = 0; i < ix.n; i++)
		if (type_matches(type, ix.v[i]))
			client_line(c, &t, ix.v[i]);
	conn_index_free(shard_of(c), &ix);
	reply_verbatim(c->r, t.p, t.len, "txt");
	text_free(&t);
}

void cmd_client_info(struct cmd_ctx *c)
{
	struct text t;

	text_init(&t, &shard_of(c)->mem, CONN_LINE_START);
	client_line(c, &t, server_conn(c));
	reply_verbatim(c->r, t.p, t.len, "txt");
	text_free(&t);
}

/* ---- CLIENT KILL ---- */

struct kill_filter {
	const struct cmd_arg *addr, *laddr; /* NULL: any */
	uint64_t id;                        /* 0: any */
	long long max_age_s;                /* 0: any */
	int type;
	bool skipme;
};

/* Parses one "<option> <value>" pair of the new form; returns false after an
 * error reply. */
static bool kill_option(struct cmd_ctx *c, struct kill_filter *f, int i)
{
	const struct cmd_arg *opt = &c->argv[i], *val = &c->argv[i + 1];
	long long v;

	ASSERT(i + 1 < c->argc);
	if (cmd_arg_cstr_eq(opt, "id")) {
		if (!cmd_arg_ll(c, val, &v, ERR_CLIENT_ID))
			return false;
		if (v < 1) {
			reply_error(c->r, ERR_CLIENT_ID);
			return false;
		}
		f->id = (uint64_t)v;
	} else if (cmd_arg_cstr_eq(opt, "maxage")) {
		if (!cmd_arg_ll(c, val, &v, "maxage is not an integer or out of range"))
			return false;
		if (v <= 0) {
			reply_error(c->r, "maxage should be greater than 0");
			return false;
		}
		f->max_age_s = v;
	} else if (cmd_arg_cstr_eq(opt, "type")) {
		return client_type_or_reply(c, val, &f->type);
	} else if (cmd_arg_cstr_eq(opt, "addr")) {
		f->addr = val;
	} else if (cmd_arg_cstr_eq(opt, "laddr")) {
		f->laddr = val;
	} else if (cmd_arg_cstr_eq(opt, "user")) {
		/* Every connection is the default user, the only one. */
		if (val->len != strlen(SERVER_USER) || memcmp(val->p, SERVER_USER, val->len) != 0) {
			cmd_reply_error_arg(c, "No such user '", val, "'");
			return false;
		}
	} else if (cmd_arg_cstr_eq(opt, "skipme") &&
		   (cmd_arg_cstr_eq(val, "yes") || cmd_arg_cstr_eq(val, "no"))) {
		f->skipme = cmd_arg_cstr_eq(val, "yes");
	} else {
		cmd_syntax_error(c);
		return false;
	}
	return true;
}

/* Parses either form; returns false after an error reply. */
static bool kill_parse(struct cmd_ctx *c, struct kill_filter *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->type = CLIENT_TYPE_ANY;
	f->skipme = true;
	if (c->argc == 3) {
		/* The old form, CLIENT KILL ip:port, may kill the caller. */
		f->addr = &c->argv[2];
		f->skipme = false;
		return true;
	}
	for (i = 2; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			cmd_syntax_error(c);
			return false;
		}
		if (!kill_option(c, f, i))
			return false;
	}
	return true;
}

/* Whether the address of one end of x is a (compared as a C string). */
static bool addr_is(struct shard *sh, const struct conn *x, bool peer, const struct cmd_arg *a)
{
	char name[SERVER_ADDR_MAX];
	size_t n = cmd_arg_cstr_len(a);

	server_sock_name(sh, x, peer, name);
	return strlen(name) == n && memcmp(name, a->p, n) == 0;
}

static bool kill_match(struct cmd_ctx *c, const struct kill_filter *f, const struct conn *x)
{
	if (f->id != 0 && x->id != f->id)
		return false;
	if (!type_matches(f->type, x) || (f->skipme && x == c->conn))
		return false;
	if (f->max_age_s != 0 && c->now_ms / 1000 - x->ctime_ms / 1000 < f->max_age_s)
		return false;
	if (f->addr != NULL && !addr_is(shard_of(c), x, true, f->addr))
		return false;
	return f->laddr == NULL || addr_is(shard_of(c), x, false, f->laddr);
}

/* Other connections close at once, their pending output dropped, as Redis
 * frees them; the caller closes after this reply. */
void cmd_client_kill(struct cmd_ctx *c)
{
	struct conn *self = server_conn(c);
	struct kill_filter f;
	struct conn_index ix;
	bool kill_self = false;
	long long killed = 0;
	uint32_t i;

	if (!kill_parse(c, &f))
		return;
	conn_index_build(c, &ix);
	for (i = 0; i < ix.n; i++) {
		struct conn *x = ix.v[i];
		if (!kill_match(c, &f, x))
			continue;
		if (x == self)
			kill_self = true;
		else
			conn_close(&owner(shard_of(c), x)->ch, x, true);
		killed++;
	}
	conn_index_free(shard_of(c), &ix);
	if (c->argc != 3)
		reply_int(c->r, killed);
	else if (killed == 0)
		reply_error(c->r, "No such client");
	else
		reply_ok(c->r);
	if (kill_self)
		conn_close(&shard_of(c)->ch, self, false);
}

/* ---- the other CLIENT subcommands ---- */

void cmd_client_id(struct cmd_ctx *c)
{
	reply_int(c->r, (long long)server_conn(c)->id);
}

void cmd_client_setname(struct cmd_ctx *c)
{
	if (server_setname_or_reply(c, &c->argv[2]))
		reply_ok(c->r);
}

void cmd_client_getname(struct cmd_ctx *c)
{
	const struct conn *conn = server_conn(c);

	if (conn->name != NULL)
		reply_bulk_cstr(c->r, conn->name);
	else
		reply_null(c->r);
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value, as Redis 7.2: the value is checked
 * as a C string, and an empty one clears the field. */
void cmd_client_setinfo(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	const struct cmd_arg *attr = &c->argv[2], *val = &c->argv[3];
	size_t n;
	char **dst;

	n = cmd_arg_cstr_len(val);
	if (cmd_arg_cstr_eq(attr, "lib-name")) {
		dst = &conn->lib_name;
	} else if (cmd_arg_cstr_eq(attr, "lib-ver")) {
		dst = &conn->lib_ver;
	} else {
		cmd_reply_error_arg(c, "Unrecognized option '", attr, "'");
		return;
	}
	if (!server_attr_printable(val->p, n)) {
		cmd_reply_error_arg(c, "", attr,
				    " cannot contain spaces, newlines or special characters.");
		return;
	}
	server_str_set(&shard_of(c)->mem, dst, val->p, n);
	reply_ok(c->r);
}

/* CLIENT REPLY: conn.c drops the reply of a command run with REPLY_OFF or
 * REPLY_SKIP set, and turns REPLY_SKIP_NEXT into REPLY_SKIP after it. */
void cmd_client_reply(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);

	if (cmd_arg_cstr_eq(&c->argv[2], "on")) {
		conn->flags &= ~(CONN_F_REPLY_SKIP | CONN_F_REPLY_OFF);
		reply_ok(c->r);
	} else if (cmd_arg_cstr_eq(&c->argv[2], "off")) {
		conn->flags |= CONN_F_REPLY_OFF;
	} else if (cmd_arg_cstr_eq(&c->argv[2], "skip")) {
		if (!(conn->flags & CONN_F_REPLY_OFF))
			conn->flags |= CONN_F_REPLY_SKIP_NEXT;
	} else {
		cmd_syntax_error(c);
	}
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends the block of a client blocked by
 * a command (WAIT, a blocking pop), on any shard (they are all locked): with the reply its
 * command gives when its time is up, or with the UNBLOCKED error. 1 if it
 * was blocked, else 0. */
void cmd_client_unblock(struct cmd_ctx *c)
{
	struct shard *sh = shard_of(c), *own;
	struct reply r;
	struct conn *x = NULL;
	bool error = false;
	long long id;

	if (c->argc > 4) {
		cmd_reply_subcommand_syntax(c, "CLIENT");
		return;
	}
	if (!cmd_arg_ll(c, &c->argv[2], &id, NULL))
		return;
	if (c->argc == 4) {
		error = cmd_arg_cstr_eq(&c->argv[3], "error");
		if (!error && !cmd_arg_cstr_eq(&c->argv[3], "timeout")) {
			reply_error(c->r, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return;
		}
	}
	own = id > 0 ? sh->set->shards[(uint64_t)id % sh->set->n] : NULL;
	if (own != NULL)
		x = shard_conn_by_id(own, (uint64_t)id);
	/* A blocking pop (shard/blocked.h), on any shard: all are held. */
	if (x != NULL && x->blk != NULL) {
		reply_int(c->r, blocked_unblock(&own->bh, x, error, c->locked));
		return;
	}
	/* A client waiting for its MIGRATE's target is not blocked in Redis
	 * (its MIGRATE blocks the server there). */
	if (x == NULL || !(x->flags & CONN_F_BLOCKED) || x->blocked_until < 0 ||
	    migrate_job_of(&own->mig, x) != NULL) {
		reply_int(c->r, 0);
		return;
	}
	if (error) {
		r = (struct reply){ .ob = &x->out, .proto = x->proto, .es = &own->es };
		reply_error(&r, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
		conn_check_output_limit(&own->ch, x);
		conn_unblock(&own->ch, x);
	} else {
		conn_block_expire(&own->ch, x);
	}
	reply_int(c->r, 1);
}

/* CLIENT PAUSE timeout [WRITE|ALL]: every shard (all are locked) holds
 * the requests the pause covers until timeout ms from now (conn.h), with
 * Redis 7.0's checks in its order: the mode, then the timeout. As in Redis
 * 7.0, a timeout of 0 ends at once, and now + timeout wraps (a timeout near
 * LLONG_MAX ends at once too). */
void cmd_client_pause(struct cmd_ctx *c)
{
	enum conn_pause_type type = CONN_PAUSE_ALL;
	long long ms;
	int64_t end;
	unsigned s;

	if (c->argc > 4) {
		cmd_reply_subcommand_syntax(c, "CLIENT");
		return;
	}
	if (c->argc == 4) {
		if (cmd_arg_cstr_eq(&c->argv[3], "write")) {
			type = CONN_PAUSE_WRITE;
		} else if (!cmd_arg_cstr_eq(&c->argv[3], "all")) {
			reply_error(c->r, "CLIENT PAUSE mode must be WRITE or ALL");
			return;
		}
	}
	if (!cmd_arg_ll(c, &c->argv[2], &ms, "timeout is not an integer or out of range"))
		return;
	if (ms < 0) {
		reply_error(c->r, "timeout is negative");
		return;
	}
	end = ms > 0 ? (int64_t)((uint64_t)c->now_ms + (uint64_t)ms) : 0;
	for (s = 0; s < cmd_nshards(c); s++)
		conn_pause(&shard_at(c, s)->ch, type, end);
	reply_ok(c->r);
}

/* CLIENT UNPAUSE: ends the pause on every shard; the held clients go on. */
void cmd_client_unpause(struct cmd_ctx *c)
{
	unsigned s;

	for (s = 0; s < cmd_nshards(c); s++)
		conn_unpause(&shard_at(c, s)->ch);
	reply_ok(c->r);
}

/* CLIENT <mode> ON|OFF: sets or clears the caller's flag. */
static void client_mode(struct cmd_ctx *c, uint32_t flag)
{
	struct conn *conn = server_conn(c);

	if (cmd_arg_cstr_eq(&c->argv[2], "on")) {
		conn->flags |= flag;
		reply_ok(c->r);
	} else if (cmd_arg_cstr_eq(&c->argv[2], "off")) {
		conn->flags &= ~flag;
		reply_ok(c->r);
	} else {
		cmd_syntax_error(c);
	}
}

void cmd_client_no_evict(struct cmd_ctx *c)
{
	client_mode(c, CONN_F_NO_EVICT);
}

/* CLIENT NO-TOUCH ON|OFF (Redis 7.2). */
void cmd_client_no_touch(struct cmd_ctx *c)
{
	client_mode(c, CONN_F_NO_TOUCH);
}

/* Redis's help lines for the subcommands cairn implements, in Redis's order,
 * with SETINFO from 7.2 and ID and MAXAGE among the KILL filters. */
static const char *const client_help[] = {
	"CACHING (YES|NO)",
	"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	"GETREDIR",
	"    Return the client ID we are redirecting to when tracking is enabled.",
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR <ip:port>",
	"      Kill connections made from the specified address",
	"    * LADDR <ip:port>",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"    * ID <client-id>",
	"      Kill connections by client id.",
	"    * MAXAGE <maxage>",
	"      Kill connections older than the specified age.",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"    * ID <client-id> [<client-id> ...]",
	"      Return clients of specified IDs.",
	"UNPAUSE",
	"    Stop the current client pause, resuming traffic.",
	"PAUSE <timeout> [WRITE|ALL]",
	"    Suspend all, or just write, clients for <timeout> milliseconds.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"SETINFO <option> <value>",
	"    Set client meta attr. Options are:",
	"    * LIB-NAME: the client lib name.",
	"    * LIB-VER: the client lib version.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	"         [OPTIN] [OPTOUT] [NOLOOP]",
	"    Control server assisted client side caching.",
	"TRACKINGINFO",
	"    Report tracking status for the current connection.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
	"NO-TOUCH (ON|OFF)",
	"    Will not touch LRU/LFU stats when this mode is on.",
};

/* As Redis's addReplyHelp: a header, the lines, and HELP itself. */
void cmd_client_help(struct cmd_ctx *c)
{
	cmd_reply_help(c, "CLIENT", client_help, sizeof(client_help) / sizeof(client_help[0]));
}
