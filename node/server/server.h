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
struct hist;
struct shard;

/* Room for "ip:port" of either end of a socket, IPv6 included (Redis's
 * NET_ADDR_STR_LEN is 53). */
#define SERVER_ADDR_MAX 64

/* cairn has no ACL: every connection is the default user, whose password is
 * requirepass (or who needs none, Redis's "nopass", when it is empty). */
#define SERVER_USER "default"

/* The calling connection, which connection commands require. */
struct conn *server_conn(const struct cmd_ctx *c);
/* "ip:port" of x's peer (peer) or its own end, into buf (SERVER_ADDR_MAX),
 * or "?:0" as Redis shows when it cannot be read. x's shard is sh or one
 * that sh holds locked. */
void server_sock_name(struct shard *sh, const struct conn *x, bool peer, char *buf);
/* Adds up the shards' latency histograms of command id into sum (its rows
 * from sh's account, its old counts cleared; every shard is sh's or
 * locked); false if none has one. */
bool server_latency(struct shard *sh, int id, struct hist *sum);
/* Names of kind (enum pubsub_kind) with a subscriber on the shards c
 * covers, each counted once (INFO's pubsub_channels, PUBSUB NUMPAT). */
long long server_pubsub_names(struct cmd_ctx *c, int kind);
/* The BCAST prefixes of the node's tracking clients, each once. */
long long server_tracking_prefixes(struct cmd_ctx *c);
/* Whether n bytes at p are all printable ASCII other than space. */
bool server_attr_printable(const char *p, size_t n);
/* Replaces *dst (owned, NUL-terminated, from mem) with a copy of n bytes at
 * p, or with NULL when n is 0. */
void server_str_set(struct mem *mem, char **dst, const char *p, size_t n);
/* Sets the caller's name (CLIENT SETNAME, HELLO SETNAME); returns false after
 * an error reply. */
bool server_setname_or_reply(struct cmd_ctx *c, const struct cmd_arg *name);

#endif
