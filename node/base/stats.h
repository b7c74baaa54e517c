/* stats.h: counters a shard keeps for INFO. Plain counters: each shard owns
 * its own and INFO sums them. */
#ifndef CAIRN_STATS_H
#define CAIRN_STATS_H

#include <stddef.h>
#include <stdint.h>

/* As Redis, errorstats keeps at most this many distinct error codes. */
#define ERRSTATS_MAX 128
#define ERRSTATS_NAME_MAX 32

struct errstats {
	uint64_t total;
	uint32_t n;
	struct {
		char name[ERRSTATS_NAME_MAX];
		uint64_t count;
	} e[ERRSTATS_MAX];
};

struct stats {
	uint64_t connections_received;
	uint64_t rejected_connections;
	uint64_t commands_processed;
	uint64_t net_input_bytes;
	uint64_t net_output_bytes;
	uint64_t expired_keys;
	uint64_t evicted_keys;
	uint64_t expired_stale_perc_x100; /* last cycle's stale share, x100 */
	uint64_t expired_time_cap_reached;
	uint64_t expire_cycle_us;
	uint64_t keyspace_hits;
	uint64_t keyspace_misses;
	uint64_t reads_processed;
	uint64_t writes_processed;
	uint64_t qbuf_limit_disconnections;
	uint64_t obuf_limit_disconnections;
	uint64_t backpressure_pauses; /* times a client stopped being read */
	uint64_t unexpected_error_replies;
	uint64_t protocol_errors;
	uint64_t lazyfreed_objects;
};

void errstats_count(struct errstats *es, const char *code, size_t len);

#endif
