/* server.h: helpers that the server commands of more than one file share
 * (CLIENT, HELLO, AUTH, ...). The server commands are the ones that read or
 * change a shard or a connection, not just data: they may look inside both
 * (shard/shard.h, shard/conn.h). */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct cmd_arg;
struct cmd_ctx;
struct conn;
struct mem;

/* cairn has no ACL: every connection is the default user, whose password is
 * requirepass (or who needs none, Redis's "nopass", when it is empty). */
#define SERVER_USER "default"

/* The calling connection, which connection commands require. */
struct conn *server_conn(const struct cmd_ctx *c);
/* Whether n bytes at p are all printable ASCII other than space. */
bool server_attr_printable(const char *p, size_t n);
/* Replaces *dst (owned, NUL-terminated, from mem) with a copy of n bytes at
 * p, or with NULL when n is 0. */
void server_str_set(struct mem *mem, char **dst, const char *p, size_t n);
/* Sets the caller's name (CLIENT SETNAME, HELLO SETNAME); returns false after
 * an error reply. */
bool server_setname_or_reply(struct cmd_ctx *c, const struct cmd_arg *name);

#endif
