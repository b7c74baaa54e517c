/* cmd_conn.c: the connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH
 * and HELLO. CLIENT and its subcommands live in cmd_client.c.
 *
 * Replies and errors follow redis-server 7.0.15 byte for byte, with its checks
 * in its order. RESET clearing NO-EVICT follows Redis 7.2 on purpose.
 *
 * Where Redis reads an argument as a C string (strcasecmp() on an option,
 * "%s" in an error), so do we: the bytes after an embedded NUL are ignored
 * there, exactly as Redis ignores them.
 *
 * Every command here but PING and ECHO acts on the calling connection, so the
 * dispatcher must pass one (c->conn). */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/version.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/pubsub.h"
#include "shard/shard.h"

#define ERR_AUTH_NOPASS                                                                            \
	"AUTH <password> called without any password configured for the default user. "            \
	"Are you sure your configuration is correct?"
#define ERR_HELLO_NOAUTH                                                                           \
	"-NOAUTH HELLO must be called with the client already authenticated, otherwise the "       \
	"HELLO AUTH <user> <pass> option can be used to authenticate the client and select "       \
	"the RESP protocol version at the same time"

static void reply_arity(struct cmd_ctx *c)
{
	reply_errorf(c->r, "wrong number of arguments for '%s' command", c->cmd->fullname);
}

/* Whether user and pass name the default user and its password. User names
 * are compared exactly, as ACL names are. The password comparison takes the
 * same time wherever the bytes differ. */
static bool auth_ok(const struct shard *sh, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	const char *pw = sh->cfg.requirepass;
	size_t n = strlen(pw), i;
	unsigned diff;

	if (user->len != strlen(SERVER_USER) || memcmp(user->p, SERVER_USER, user->len) != 0)
		return false;
	if (n == 0)
		return true;
	diff = pass->len != n;
	for (i = 0; i < pass->len; i++)
		diff |= (unsigned char)pass->p[i] ^ (unsigned char)pw[i % n];
	return diff == 0;
}

/* ---- PING, ECHO, QUIT, SELECT, RESET ---- */

void cmd_ping(struct cmd_ctx *c)
{
	if (c->argc > 2) {
		reply_arity(c);
	} else if (c->conn != NULL && c->conn->ps != NULL && c->r->proto == 2) {
		/* A subscribed RESP2 client reads ["pong", its argument or ""]. */
		reply_array(c->r, 2);
		reply_bulk_cstr(c->r, "pong");
		if (c->argc == 2)
			reply_bulk(c->r, c->argv[1].p, c->argv[1].len);
		else
			reply_bulk(c->r, "", 0);
	} else if (c->argc == 1) {
		reply_status(c->r, "PONG");
	} else {
		reply_bulk(c->r, c->argv[1].p, c->argv[1].len);
	}
}

/* MONITOR: every command the node runs from now on, as a line (see
 * shard/monitor.h). A monitor that sends MONITOR again gets no reply, as
 * in Redis. */
void cmd_monitor(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);

	if (conn->flags & CONN_F_MONITOR)
		return;
	monitor_add(&shard_of(c)->mon, conn);
	reply_ok(c->r);
}

void cmd_echo(struct cmd_ctx *c)
{
	reply_bulk(c->r, c->argv[1].p, c->argv[1].len);
}

void cmd_quit(struct cmd_ctx *c)
{
	reply_ok(c->r);
	conn_close(&shard_of(c)->ch, server_conn(c), false);
}

void cmd_select(struct cmd_ctx *c)
{
	long long id;

	if (!cmd_arg_ll(c, &c->argv[1], &id, NULL))
		return;
	if (id < INT_MIN || id > INT_MAX) {
		reply_errorf(c->r, "value is out of range, value must between %d and %d", INT_MIN,
			     INT_MAX);
		return;
	}
	/* A node keeps one keyspace: database 0, as redis-server --databases 1. */
	if (id != 0) {
		reply_error(c->r, "DB index is out of range");
		return;
	}
	reply_ok(c->r);
}

/* Back to the state of a new connection. Library name and version stay, as
 * in Redis 7.2; NO-EVICT is cleared, as 7.2 does and 7.0 does not. */
void cmd_reset(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);

	txn_discard(&shard_of(c)->ch.txn, &conn->txn);
	txn_unwatch(&shard_of(c)->ch.txn, &conn->txn, c->locked);
	pubsub_drop(&shard_of(c)->ps, conn);
	monitor_remove(&shard_of(c)->mon, conn);
	caching_disable(&shard_of(c)->cc, conn);
	conn->flags &= ~(CONN_F_REPLY_OFF | CONN_F_REPLY_SKIP_NEXT | CONN_F_NO_EVICT |
			 CONN_F_NO_TOUCH);
	conn->proto = 2;
	c->r->proto = 2;
	server_str_set(&shard_of(c)->mem, &conn->name, NULL, 0);
	conn_set_authed(&shard_of(c)->ch, conn, !conn_password_required(&shard_of(c)->ch));
	ASSERT(conn->name == NULL);
	ASSERT(!(conn->flags & CONN_F_REPLY_OFF));
	reply_status(c->r, "RESET");
}

/* ---- AUTH, HELLO ---- */

void cmd_auth(struct cmd_ctx *c)
{
	static const struct cmd_arg default_user = { SERVER_USER, sizeof(SERVER_USER) - 1, NULL };
	const struct cmd_arg *user = &default_user, *pass = &c->argv[1];

	if (c->argc > 3) {
		cmd_syntax_error(c);
		return;
	}
	if (c->argc == 2) {
		/* The one-argument form is refused when there is no password, so
		 * that a misconfigured client notices. */
		if (!conn_password_required(&shard_of(c)->ch)) {
			reply_error(c->r, ERR_AUTH_NOPASS);
			return;
		}
	} else {
		user = &c->argv[1];
		pass = &c->argv[2];
	}
	if (!auth_ok(shard_of(c), user, pass)) {
		reply_error(c->r, ERR_WRONGPASS);
		return;
	}
	conn_set_authed(&shard_of(c)->ch, server_conn(c), true);
	reply_ok(c->r);
}

static void hello_reply(struct cmd_ctx *c, const struct conn *conn)
{
	reply_map(c->r, 7);
	reply_bulk_cstr(c->r, "server");
	reply_bulk_cstr(c->r, "redis");
	reply_bulk_cstr(c->r, "version");
	reply_bulk_cstr(c->r, CAIRN_REDIS_VERSION);
	reply_bulk_cstr(c->r, "proto");
	reply_int(c->r, conn->proto);
	reply_bulk_cstr(c->r, "id");
	reply_int(c->r, (long long)conn->id);
	reply_bulk_cstr(c->r, "mode");
	reply_bulk_cstr(c->r, "standalone");
	reply_bulk_cstr(c->r, "role");
	reply_bulk_cstr(c->r, "master");
	reply_bulk_cstr(c->r, "modules");
	reply_empty_array(c->r);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]]. As in Redis 7.0, options
 * take effect as they are read: a SETNAME before a failing AUTH, or before
 * the authentication check, has already set the name. */
void cmd_hello(struct cmd_ctx *c)
{
	struct conn *conn = server_conn(c);
	long long ver = 0;
	int j = 1;

	if (c->argc >= 2) {
		if (!cmd_arg_ll(c, &c->argv[j++], &ver,
				"Protocol version is not an integer or out of range"))
			return;
		if (ver < 2 || ver > 3) {
			reply_error(c->r, "-NOPROTO unsupported protocol version");
			return;
		}
	}
	for (; j < c->argc; j++) {
		int more = c->argc - 1 - j;
		if (cmd_arg_cstr_eq(&c->argv[j], "auth") && more >= 2) {
			if (!auth_ok(shard_of(c), &c->argv[j + 1], &c->argv[j + 2])) {
				reply_error(c->r, ERR_WRONGPASS);
				return;
			}
			conn_set_authed(&shard_of(c)->ch, conn, true);
			j += 2;
		} else if (cmd_arg_cstr_eq(&c->argv[j], "setname") && more >= 1) {
			if (!server_setname_or_reply(c, &c->argv[j + 1]))
				return;
			j++;
		} else {
			cmd_reply_error_arg(c, "Syntax error in HELLO option '", &c->argv[j], "'");
			return;
		}
	}
	if (!(conn->flags & CONN_F_AUTHED) && conn_password_required(&shard_of(c)->ch)) {
		reply_error(c->r, ERR_HELLO_NOAUTH);
		return;
	}
	/* The new protocol applies from this very reply on. */
	if (ver != 0) {
		conn->proto = (uint8_t)ver;
		c->r->proto = (uint8_t)ver;
	}
	ASSERT(c->r->proto == conn->proto);
	hello_reply(c, conn);
}
