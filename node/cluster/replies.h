/* replies.h: the replies of the CLUSTER commands that read the state,
 * byte-exact with redis-server 7.0.15 in cluster mode, in RESP2 and RESP3
 * (NODES and INFO are bulk strings in RESP2 and verbatim "txt" in RESP3;
 * SLOTS's per-node map is "*0" in RESP2 and "%0" in RESP3).
 *
 * SLOTS lists ranges in ascending slot order, as Redis does. Differences
 * kept on purpose: NODES and SHARDS list nodes in table order (Redis
 * follows its dict's order, which no client relies on). Only masters exist until replication comes,
 * so a shard is one node and SLOTS lists no replica. */
#ifndef CAIRN_CLUSTER_REPLIES_H
#define CAIRN_CLUSTER_REPLIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster_state;
struct reply;

/* One bus link as CLUSTER LINKS shows it (the bus owns these facts). */
struct replies_link {
	bool inbound;
	const char *node_id; /* 40 characters */
	uint64_t create_ms;
	const char *events; /* "", "r", "w" or "rw" */
	uint64_t send_buffer_allocated, send_buffer_used;
};

void replies_nodes(const struct cluster_state *st, struct reply *r);
void replies_slots(const struct cluster_state *st, struct reply *r);
/* my_repl_offset: myself's replication offset (master_repl_offset). */
void replies_shards(const struct cluster_state *st, long long my_repl_offset, struct reply *r);
/* links_exceeded: total_cluster_links_buffer_limit_exceeded. */
void replies_info(const struct cluster_state *st, uint64_t links_exceeded, struct reply *r);
void replies_myid(const struct cluster_state *st, struct reply *r);
void replies_keyslot(const char *key, size_t n, struct reply *r);
void replies_links(const struct replies_link *links, size_t n, struct reply *r);

#endif
