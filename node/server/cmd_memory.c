/* cmd_memory.c: MEMORY STATS, DOCTOR, PURGE and MALLOC-STATS, over every
 * shard (they run with all of them locked), from the same accounts as INFO
 * memory. MEMORY USAGE is a data command (cmd/cmd_keys.c).
 *
 * cairn allocates with glibc's malloc, which keeps no statistics of its
 * own: the "allocator" figures are the accounted bytes (usable sizes) and
 * the process's RSS, as in INFO memory, and Redis's reports use the same
 * thresholds and words (object.c's getMemoryDoctorReport). */
#include <string.h>

#include "base/mem.h"
#include "base/text.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "io/io.h"
#include "proto/reply.h"
#include "shard/conn.h"
#include "shard/conns.h"
#include "shard/shard.h"

/* Redis's thresholds (object.c). */
#define DOCTOR_EMPTY_BYTES (5ull << 20)
#define DOCTOR_FRAG_BYTES (10ull << 20)
#define DOCTOR_CLIENT_BYTES (200ull * 1024)

struct mem_totals {
	/* clients: the connections' own memory (structures and buffers);
	 * shard: all the shards hold outside their keyspaces, clients too. */
	uint64_t used, peak, rss, clients, shard, table, expires, policy, keys, nconns;
};

static void mem_totals(struct cmd_ctx *c, struct mem_totals *t)
{
	struct io_proc_stats ps;
	unsigned s;

	memset(t, 0, sizeof(*t));
	for (s = 0; s < cmd_nshards(c); s++) {
		const struct shard *sh = shard_at(c, s);
		uint32_t i;
		t->used += sh->mem.used + sh->ks.mem.used;
		t->peak += sh->mem.peak + sh->ks.mem.peak;
		t->shard += sh->mem.used;
		for (i = 0; i < sh->conns.cap; i++) {
			const struct conn *cn = conns_at(&sh->conns, i);
			if (cn != NULL)
				t->clients += conn_mem(cn);
		}
		t->table += dict_mem(&sh->ks.d);
		t->expires += ttl_mem(&sh->ks.ttl);
		t->policy += policy_mem(&sh->ks.pol);
		t->keys += ks_size(&sh->ks);
		t->nconns += sh->conns.n;
	}
	/* Each account keeps its own peak: their sum bounds the total's. */
	if (t->peak < t->used)
		t->peak = t->used;
	io_proc_stats(shard_of(c)->io, &ps);
	t->rss = ps.rss_bytes;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b > 0 ? (double)a / (double)b : 0;
}

static void stat_int(struct reply *r, const char *name, long long v)
{
	reply_bulk_cstr(r, name);
	reply_int(r, v);
}

static void stat_double(struct reply *r, const char *name, double v)
{
	reply_bulk_cstr(r, name);
	reply_double(r, v);
}

static void db_stats(struct reply *r, const struct mem_totals *t)
{
	reply_bulk_cstr(r, "db.0");
	reply_map(r, 3);
	stat_int(r, "overhead.hashtable.main", (long long)t->table);
	stat_int(r, "overhead.hashtable.expires", (long long)t->expires);
	stat_int(r, "overhead.hashtable.slot-to-keys", 0);
}

/* MEMORY STATS: Redis 7.0's fields in Redis's order; db.0 only while it
 * has keys. Overhead is all the shards hold outside their keyspaces (the
 * connections, their table, messages between shards) and the keyspaces'
 * tables, TTL indexes and eviction pools and queues. */
void cmd_memory_stats(struct cmd_ctx *c)
{
	struct mem_totals t;
	uint64_t overhead, dataset;

	mem_totals(c, &t);
	overhead = t.shard + t.table + t.expires + t.policy;
	dataset = t.used > overhead ? t.used - overhead : 0;
	reply_map(c->r, 27 + (t.keys > 0));
	stat_int(c->r, "peak.allocated", (long long)t.peak);
	stat_int(c->r, "total.allocated", (long long)t.used);
	stat_int(c->r, "startup.allocated", 0);
	stat_int(c->r, "replication.backlog", 0);
	stat_int(c->r, "clients.slaves", 0);
	stat_int(c->r, "clients.normal", (long long)t.clients);
	stat_int(c->r, "cluster.links", 0);
	stat_int(c->r, "aof.buffer", 0);
	stat_int(c->r, "lua.caches", 0);
	stat_int(c->r, "functions.caches", 0);
	if (t.keys > 0)
		db_stats(c->r, &t);
	stat_int(c->r, "overhead.total", (long long)overhead);
	stat_int(c->r, "keys.count", (long long)t.keys);
	stat_int(c->r, "keys.bytes-per-key", t.keys > 0 ? (long long)(t.used / t.keys) : 0);
	stat_int(c->r, "dataset.bytes", (long long)dataset);
	stat_double(c->r, "dataset.percentage", ratio(dataset, t.used) * 100);
	stat_double(c->r, "peak.percentage", ratio(t.used, t.peak) * 100);
	stat_int(c->r, "allocator.allocated", (long long)t.used);
	stat_int(c->r, "allocator.active", (long long)t.used);
	stat_int(c->r, "allocator.resident", (long long)t.rss);
	stat_double(c->r, "allocator-fragmentation.ratio", 1.0);
	stat_int(c->r, "allocator-fragmentation.bytes", 0);
	stat_double(c->r, "allocator-rss.ratio", ratio(t.rss, t.used));
	stat_int(c->r, "allocator-rss.bytes", (long long)t.rss - (long long)t.used);
	stat_double(c->r, "rss-overhead.ratio", 1.0);
	stat_int(c->r, "rss-overhead.bytes", 0);
	stat_double(c->r, "fragmentation", ratio(t.rss, t.used));
	stat_int(c->r, "fragmentation.bytes", (long long)t.rss - (long long)t.used);
}

#define DOCTOR_FINE                                                                                \
	"Hi Sam, I can't find any memory issue in your instance. I can only account for what "     \
	"occurs on this base.\n"
#define DOCTOR_EMPTY                                                                               \
	"Hi Sam, this instance is empty or is using very little memory, my issues detector can't " \
	"be used in these conditions. Please, leave for your mission on Earth and fill it with "   \
	"some data. The new Sam and I will be back to our programming as soon as I finished "      \
	"rebooting.\n"
#define DOCTOR_ISSUES "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
#define DOCTOR_PEAK                                                                                \
	" * Peak memory: In the past this instance used more than 150% the memory that is "        \
	"currently using. The allocator is normally not able to release memory after a peak, so "  \
	"you can expect to see a big fragmentation ratio, however this is actually harmless and "  \
	"is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is "    \
	"currently bigger than expected, the memory will be used as soon as you fill the Redis "   \
	"instance with more data. If the memory peak was only occasional and you want to try to "  \
	"reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is " \
	"to shutdown and restart the instance.\n\n"
#define DOCTOR_FRAG                                                                                \
	" * High total RSS: This instance has a memory fragmentation and RSS overhead greater "    \
	"than 1.4 (this means that the Resident Set Size of the Redis process is much larger "     \
	"than the sum of the logical allocations Redis performed). This problem is usually due "   \
	"either to a large peak memory (check if there is a peak memory entry above in the "       \
	"report) or may result from a workload that causes the allocator to fragment memory a "    \
	"lot. If the problem is a large peak memory, then there is no issue. Otherwise, make "     \
	"sure you are using the Jemalloc allocator and not the default libc malloc. Note: The "    \
	"currently used allocator is \"libc\".\n\n"
#define DOCTOR_CLIENTS                                                                             \
	" * Big client buffers: The clients output buffers in this instance are greater than "     \
	"200K per client (on average). This may result from different causes, like Pub/Sub "       \
	"clients subscribed to channels bot not receiving data fast enough, so that data piles "   \
	"on the Redis instance output buffer, or clients sending commands with large replies or "  \
	"very large sequences of commands in the same pipeline. Please use the CLIENT LIST "       \
	"command in order to investigate the issue if it causes problems in your instance, or to " \
	"understand better why certain clients are using a big amount of memory.\n\n"
#define DOCTOR_END "I'm here to keep you safe, Sam. I want to help you.\n"

/* MEMORY DOCTOR: Redis's report, by Redis's thresholds, of the issues that
 * apply to cairn (no replicas, scripts or allocator of its own). */
void cmd_memory_doctor(struct cmd_ctx *c)
{
	struct mem_totals t;
	struct text b;
	bool empty, peak, frag, clients;

	mem_totals(c, &t);
	empty = t.used < DOCTOR_EMPTY_BYTES;
	peak = !empty && ratio(t.peak, t.used) > 1.5;
	frag = !empty && ratio(t.rss, t.used) > 1.4 && t.rss > t.used + DOCTOR_FRAG_BYTES;
	clients = !empty && t.nconns > 0 && t.clients / t.nconns > DOCTOR_CLIENT_BYTES;
	text_init(&b, &shard_of(c)->mem, 1024);
	if (empty) {
		text_add(&b, DOCTOR_EMPTY, strlen(DOCTOR_EMPTY));
	} else if (!peak && !frag && !clients) {
		text_add(&b, DOCTOR_FINE, strlen(DOCTOR_FINE));
	} else {
		text_add(&b, DOCTOR_ISSUES, strlen(DOCTOR_ISSUES));
		if (peak)
			text_add(&b, DOCTOR_PEAK, strlen(DOCTOR_PEAK));
		if (frag)
			text_add(&b, DOCTOR_FRAG, strlen(DOCTOR_FRAG));
		if (clients)
			text_add(&b, DOCTOR_CLIENTS, strlen(DOCTOR_CLIENTS));
		text_add(&b, DOCTOR_END, strlen(DOCTOR_END));
	}
	reply_verbatim(c->r, b.p, b.len, "txt");
	text_free(&b);
}

/* MEMORY PURGE: gives the allocator's free pages back (one call trims every
 * shard's arena). */
void cmd_memory_purge(struct cmd_ctx *c)
{
	io_release_memory(shard_of(c)->io);
	reply_ok(c->r);
}

/* MEMORY MALLOC-STATS: Redis's answer when its allocator is libc's. */
void cmd_memory_malloc_stats(struct cmd_ctx *c)
{
	reply_bulk_cstr(c->r, "Stats not supported for the current allocator");
}
