/* nodes_conf.h: the CLUSTER NODES text and Redis's nodes.conf, written and
 * read back.
 *
 * A line is Redis 7.0.15's clusterGenNodeDescription:
 *   <id> <ip>:<port>@<cport> <flags> <master|-> <ping_sent> <pong_recv>
 *   <config_epoch> <connected|disconnected>[ <slot>|<a>-<b>]...
 * with the open slots ([s->-id] migrating, [s-<-id] importing) on the myself
 * line only. nodes.conf is the lines without handshake nodes, then
 * "vars currentEpoch <n> lastVoteEpoch <n>". The caller does the I/O (an
 * atomic replace: io.h's io_file_replace). Replicas are not modelled yet: a
 * master id in a file is checked and dropped. */
#ifndef CAIRN_CLUSTER_NODES_CONF_H
#define CAIRN_CLUSTER_NODES_CONF_H

#include <stddef.h>
#include <stdint.h>

struct cluster_state;
struct mem;
struct text;

/* Node i's CLUSTER NODES line, '\n' included, appended to t. */
void nodes_conf_line(const struct cluster_state *st, uint16_t i, struct text *t);
/* CLUSTER NODES: every node, handshakes included. */
void nodes_conf_nodes(const struct cluster_state *st, struct text *t);
/* The content of nodes.conf. */
void nodes_conf_write(const struct cluster_state *st, struct text *t);
/* Reads nodes.conf text into a new state (an empty text: a new node with a
 * random id from seed). A corrupt text gives NULL and the reason in err
 * (CLUSTER_ERR_MAX bytes); it never crashes. */
struct cluster_state *nodes_conf_load(struct mem *mem, uint64_t seed, const char *p, size_t n,
				      uint64_t now_ms, char *err);

#endif
