/* cmd_info.c: INFO and the writers of its sections.
 *
 * INFO prints the sections and field names of redis-server 7.0.15 in its
 * order, so that parsers written for Redis read it; fields about features
 * cairn does not have (persistence, replication, scripting) keep Redis's
 * idle values. Every number is this shard's own: a node with one shard
 * reports the whole node. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hist.h"
#include "base/mem.h"
#include "base/text.h"
#include "base/version.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "io/io.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "server/server.h"
#include "shard/conn.h"
#include "shard/pubsub.h"
#include "shard/shard.h"

#define INFO_BUF_START 8192

/* One "key:value" line: a number, or a preformatted string when s is set. */
struct info_kv {
	const char *key;
	long long v;
	const char *s;
};

#define KV_N(k, n)                                                                                 \
	{                                                                                          \
		(k), (long long)(n), NULL                                                          \
	}
#define KV_S(k, str)                                                                               \
	{                                                                                          \
		(k), 0, (str)                                                                      \
	}

static void info_kvs(struct text *b, const struct info_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (kv[i].s != NULL)
			text_printf(b, "%s:%s\r\n", kv[i].key, kv[i].s);
		else
			text_printf(b, "%s:%lld\r\n", kv[i].key, kv[i].v);
	}
}

#define KV_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Redis's bytesToHuman. */
static void human(char *buf, size_t len, unsigned long long n)
{
	static const char units[] = "KMGTP";
	double d = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%lluB", n);
		return;
	}
	while (u < 4 && d >= 1024) {
		d /= 1024;
		u++;
	}
	if (d >= 1024) {
		snprintf(buf, len, "%lluB", n); /* beyond P, as Redis */
		return;
	}
	snprintf(buf, len, "%.2f%c", d, units[u]);
}

/* ---- INFO sections ---- */

/* Process facts when the shard has none (unit tests build shards bare). */
static const struct node_info info_none = { .io_name = "none" };

static const struct node_info *node_info(const struct shard *sh)
{
	return sh->info != NULL ? sh->info : &info_none;
}

/* Largest query and output buffers, and memory, of the connections. */
struct conn_totals {
	size_t qbuf_max, obuf_max, mem;
	/* Blocked clients (WAIT, blocking pops), and those with a timeout. */
	uint64_t blocked, timed;
	uint64_t held; /* held by CLIENT PAUSE (Redis counts them as blocked) */
};

static void conn_totals(const struct shard *sh, struct conn_totals *t)
{
	uint32_t i, seen = 0;

	for (i = 0; i < sh->conns.cap; i++) {
		const struct conn *c = conns_at(&sh->conns, i);
		size_t om;
		if (c == NULL)
			continue;
		seen++;
		if ((c->flags & CONN_F_BLOCKED) && c->blocked_until >= 0) {
			t->blocked++;
			t->timed += c->blocked_until > 0 ||
				    (c->blk != NULL && c->blk->until_ms > 0);
		}
		om = obuf_mem(&c->out);
		t->qbuf_max = c->qcap > t->qbuf_max ? c->qcap : t->qbuf_max;
		t->obuf_max = om > t->obuf_max ? om : t->obuf_max;
		t->mem += conn_mem(c);
		t->held += (c->flags & CONN_F_POSTPONED) != 0;
	}
	ASSERT(seen == sh->conns.n);
}

/* What INFO reports, summed over the shards it covers (every shard, all
 * locked, in a multi-shard node), so the section writers see one node. */
struct info_view {
	struct shard *sh; /* the shard answering: configuration and process */
	int64_t now_ms;
	struct stats st;
	struct errstats es;
	struct cmd_stat cstat[CMDID_COUNT];
	struct shard_inst inst;
	struct conn_totals conns;
	uint64_t nconns, overhead, dataset, peak, keys, expires, lazy_pending, dirty;
	long long pubsub[PUBSUB_KINDS]; /* names with a subscriber, each once */
	/* CLIENT TRACKING: clients, remembered keys and (key, client) pairs,
	 * BCAST prefixes (each once). */
	uint64_t trk_clients, trk_keys, trk_items;
	long long trk_prefixes;
	long long migrate_sockets; /* MIGRATE's cached sockets, every shard's */
};

/* Every field of struct stats is a uint64_t counter, so they add up as an
 * array. */
_Static_assert(sizeof(struct stats) % sizeof(uint64_t) == 0, "stats are u64 counters");

/* Adds src's counts to dst by code; codes past ERRSTATS_MAX count only in
 * the total, as in a single shard. */
static void view_errstats(struct errstats *dst, const struct errstats *src)
{
	uint32_t i, j;

	dst->total += src->total;
	for (i = 0; i < src->n; i++) {
		for (j = 0; j < dst->n; j++)
			if (strcmp(dst->e[j].name, src->e[i].name) == 0)
				break;
		if (j == dst->n) {
			if (dst->n == ERRSTATS_MAX)
				continue;
			memcpy(dst->e[j].name, src->e[i].name, sizeof(dst->e[j].name));
			dst->e[j].count = 0;
			dst->n++;
		}
		dst->e[j].count += src->e[i].count;
	}
}

static void view_add(struct info_view *v, const struct shard *sh)
{
	const uint64_t *from = (const uint64_t *)&sh->st;
	uint64_t *to = (uint64_t *)&v->st;
	size_t i;

	for (i = 0; i < sizeof(sh->st) / sizeof(uint64_t); i++)
		to[i] += from[i];
	v->migrate_sockets += sh->mig.ncached;
	for (i = 0; i < CMDID_COUNT; i++) {
		v->cstat[i].calls += sh->cstat[i].calls;
		v->cstat[i].usec += sh->cstat[i].usec;
		v->cstat[i].rejected += sh->cstat[i].rejected;
		v->cstat[i].failed += sh->cstat[i].failed;
	}
	for (i = 0; i < SHARD_INST_SAMPLES; i++) {
		v->inst.ops[i] += sh->inst.ops[i];
		v->inst.in[i] += sh->inst.in[i];
		v->inst.out[i] += sh->inst.out[i];
	}
	view_errstats(&v->es, &sh->es);
	conn_totals(sh, &v->conns);
	v->nconns += sh->conns.n;
	v->overhead += sh->mem.used;
	v->dataset += sh->ks.mem.used;
	v->peak += sh->mem.peak + sh->ks.mem.peak;
	v->keys += ks_size(&sh->ks);
	v->expires += sh->ks.ttl.n;
	v->lazy_pending += sh->ks.lazy.pending + sh->ks.lazy.pending_objs;
	v->dirty += sh->ks.dirty;
	v->trk_clients += atomic_load_explicit(&sh->cc.clients, memory_order_relaxed);
	v->trk_keys += sh->ks.trk.n;
	v->trk_items += sh->ks.trk.items;
}

static void info_server(struct text *b, const struct info_view *v)
{
	const struct node_info *ni = node_info(v->sh);
	int64_t up_s = (v->now_ms - ni->start_ms) / 1000;
	char gcc[32];
	const struct info_kv kv[] = {
		KV_S("redis_version", CAIRN_REDIS_VERSION),
		KV_S("cairn_version", CAIRN_VERSION),
		KV_S("redis_git_sha1", "00000000"),
		KV_S("redis_git_dirty", "0"),
		KV_S("redis_build_id", "0"),
		KV_S("redis_mode", "standalone"),
		KV_S("os", ni->os),
		KV_N("arch_bits", sizeof(long) * 8),
		KV_S("monotonic_clock", "POSIX clock_gettime"),
		KV_S("multiplexing_api", ni->io_name),
		KV_S("atomicvar_api", "c11-builtin"),
		KV_S("gcc_version", gcc),
		KV_N("process_id", ni->pid),
		KV_S("process_supervised", "no"),
		KV_S("run_id", ni->run_id),
		KV_N("tcp_port", v->sh->cfg.port),
		KV_N("server_time_usec", io_now_ns(v->sh->io) / 1000),
		KV_N("uptime_in_seconds", up_s),
		KV_N("uptime_in_days", up_s / 86400),
		KV_N("hz", v->sh->cfg.hz),
		KV_N("configured_hz", v->sh->cfg.hz),
		KV_N("lru_clock", ks_lru_clock(&v->sh->ks)),
		KV_S("executable", ni->executable),
		KV_S("config_file", ni->config_file),
		KV_N("io_threads_active", 0),
	};

	snprintf(gcc, sizeof(gcc), "%d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
	info_kvs(b, kv, KV_COUNT(kv));
}

static void info_clients(struct text *b, const struct info_view *v)
{
	struct conn_totals t;

	t = v->conns;
	{
		const struct info_kv kv[] = {
			KV_N("connected_clients", v->nconns),
			KV_N("cluster_connections", 0),
			KV_N("maxclients", v->sh->cfg.maxclients),
			KV_N("client_recent_max_input_buffer", t.qbuf_max),
			KV_N("client_recent_max_output_buffer", t.obuf_max),
			KV_N("blocked_clients", t.blocked + t.held),
			KV_N("tracking_clients", v->trk_clients),
			KV_N("clients_in_timeout_table", t.timed),
		};
		info_kvs(b, kv, KV_COUNT(kv));
	}
}

/* The memory numbers, computed once for both halves of the section. */
struct mem_facts {
	uint64_t used, peak, rss, overhead, dataset, sysmem;
	struct conn_totals conns;
};

static void copy_value(void *arg, const char *name, const char *value, size_t vlen)
{
	char *out = arg;

	(void)name;
	snprintf(out, CONFIG_STR_MAX, "%.*s", (int)vlen, value);
}

/* Fragmentation lines. cairn allocates with libc malloc, which has no
 * allocator statistics: the "allocator" figures are the accounted bytes
 * (usable sizes) and the process RSS. */
static void info_memory_frag(struct text *b, const struct info_view *v, const struct mem_facts *m)
{
	double used = m->used ? (double)m->used : 1;
	char rss_ratio[32], frag[32];
	const struct info_kv kv[] = {
		KV_S("allocator_frag_ratio", "1.00"),
		KV_N("allocator_frag_bytes", 0),
		KV_S("allocator_rss_ratio", rss_ratio),
		KV_N("allocator_rss_bytes", (long long)m->rss - (long long)m->used),
		KV_S("rss_overhead_ratio", "1.00"),
		KV_N("rss_overhead_bytes", 0),
		KV_S("mem_fragmentation_ratio", frag),
		KV_N("mem_fragmentation_bytes", (long long)m->rss - (long long)m->used),
		KV_N("mem_not_counted_for_evict", 0),
		KV_N("mem_replication_backlog", 0),
		KV_N("mem_total_replication_buffers", 0),
		KV_N("mem_clients_slaves", 0),
		KV_N("mem_clients_normal", m->conns.mem),
		KV_N("mem_cluster_links", 0),
		KV_N("mem_aof_buffer", 0),
		KV_S("mem_allocator", "libc"),
		KV_N("active_defrag_running", 0),
		KV_N("lazyfree_pending_objects", v->lazy_pending),
		KV_N("lazyfreed_objects", v->st.lazyfreed_objects),
	};

	snprintf(rss_ratio, sizeof(rss_ratio), "%.2f", (double)m->rss / used);
	snprintf(frag, sizeof(frag), "%.2f", (double)m->rss / used);
	info_kvs(b, kv, KV_COUNT(kv));
}

static void info_memory(struct text *b, const struct info_view *v)
{
	struct shard *sh = v->sh;
	struct io_proc_stats ps;
	struct mem_facts m;
	char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32], peak_perc[32], ds_perc[32];
	char policy[CONFIG_STR_MAX] = "";

	io_proc_stats(sh->io, &ps);
	m.conns = v->conns;
	m.used = v->overhead + v->dataset;
	/* Each account keeps its own peak; their sum bounds the peak of the
	 * total from above, and is never below what is in use now. */
	m.peak = v->peak > m.used ? v->peak : m.used;
	m.rss = ps.rss_bytes;
	m.sysmem = ps.total_system_memory;
	m.overhead = v->overhead;
	m.dataset = v->dataset;
	ASSERT(m.overhead + m.dataset == m.used);
	human(h_used, sizeof(h_used), m.used);
	human(h_rss, sizeof(h_rss), m.rss);
	human(h_peak, sizeof(h_peak), m.peak);
	human(h_sys, sizeof(h_sys), m.sysmem);
	human(h_max, sizeof(h_max), (unsigned long long)sh->cfg.maxmemory);
	snprintf(peak_perc, sizeof(peak_perc), "%.2f%%", (double)m.used * 100 / (double)m.peak);
	snprintf(ds_perc, sizeof(ds_perc), "%.2f%%",
		 m.used ? (double)m.dataset * 100 / (double)m.used : 0);
	config_get(&sh->cfg, "maxmemory-policy", 16, copy_value, policy);
	{
		const struct info_kv kv[] = {
			KV_N("used_memory", m.used),
			KV_S("used_memory_human", h_used),
			KV_N("used_memory_rss", m.rss),
			KV_S("used_memory_rss_human", h_rss),
			KV_N("used_memory_peak", m.peak),
			KV_S("used_memory_peak_human", h_peak),
			KV_S("used_memory_peak_perc", peak_perc),
			KV_N("used_memory_overhead", m.overhead),
			KV_N("used_memory_startup", 0),
			KV_N("used_memory_dataset", m.dataset),
			KV_S("used_memory_dataset_perc", ds_perc),
			KV_N("allocator_allocated", m.used),
			KV_N("allocator_active", m.used),
			KV_N("allocator_resident", m.rss),
			KV_N("total_system_memory", m.sysmem),
			KV_S("total_system_memory_human", h_sys),
			KV_N("used_memory_lua", 0),
			KV_N("used_memory_vm_eval", 0),
			KV_S("used_memory_lua_human", "0B"),
			KV_N("used_memory_scripts_eval", 0),
			KV_N("number_of_cached_scripts", 0),
			KV_N("number_of_functions", 0),
			KV_N("number_of_libraries", 0),
			KV_N("used_memory_vm_functions", 0),
			KV_N("used_memory_vm_total", 0),
			KV_S("used_memory_vm_total_human", "0B"),
			KV_N("used_memory_functions", 0),
			KV_N("used_memory_scripts", 0),
			KV_S("used_memory_scripts_human", "0B"),
			KV_N("maxmemory", sh->cfg.maxmemory),
			KV_S("maxmemory_human", h_max),
			KV_S("maxmemory_policy", policy),
		};
		info_kvs(b, kv, KV_COUNT(kv));
	}
	info_memory_frag(b, v, &m);
}

/* cairn does not persist: Redis's values for a server that never saved,
 * with the start-up time as the last save, as Redis reports it. */
static void info_persistence(struct text *b, const struct info_view *v)
{
	const struct info_kv kv[] = {
		KV_N("loading", 0),
		KV_N("async_loading", 0),
		KV_N("current_cow_peak", 0),
		KV_N("current_cow_size", 0),
		KV_N("current_cow_size_age", 0),
		KV_S("current_fork_perc", "0.00"),
		KV_N("current_save_keys_processed", 0),
		KV_N("current_save_keys_total", 0),
		KV_N("rdb_changes_since_last_save", v->dirty),
		KV_N("rdb_bgsave_in_progress", 0),
		KV_N("rdb_last_save_time", v->sh->lastsave_ms / 1000),
		KV_S("rdb_last_bgsave_status", "ok"),
		KV_N("rdb_last_bgsave_time_sec", -1),
		KV_N("rdb_current_bgsave_time_sec", -1),
		KV_N("rdb_saves", 0),
		KV_N("rdb_last_cow_size", 0),
		KV_N("rdb_last_load_keys_expired", 0),
		KV_N("rdb_last_load_keys_loaded", 0),
		KV_N("aof_enabled", 0),
		KV_N("aof_rewrite_in_progress", 0),
		KV_N("aof_rewrite_scheduled", 0),
		KV_N("aof_last_rewrite_time_sec", -1),
		KV_N("aof_current_rewrite_time_sec", -1),
		KV_S("aof_last_bgrewrite_status", "ok"),
		KV_N("aof_rewrites", 0),
		KV_N("aof_rewrites_consecutive_failures", 0),
		KV_S("aof_last_write_status", "ok"),
		KV_N("aof_last_cow_size", 0),
		KV_N("module_fork_in_progress", 0),
		KV_N("module_fork_last_cow_size", 0),
	};

	info_kvs(b, kv, KV_COUNT(kv));
}

/* Redis's getInstantaneousMetric: the mean of the samples. */
static uint64_t inst_mean(const uint64_t *samples)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < SHARD_INST_SAMPLES; i++)
		sum += samples[i];
	return sum / SHARD_INST_SAMPLES;
}

/* The second half of the stats section (fields after keyspace_misses). */
static void info_stats_tail(struct text *b, const struct info_view *v)
{
	const struct stats *st = &v->st;
	const struct info_kv kv[] = {
		KV_N("pubsub_channels", v->pubsub[PUBSUB_CHANNEL]),
		KV_N("pubsub_patterns", v->pubsub[PUBSUB_PATTERN]),
		KV_N("pubsubshard_channels", v->pubsub[PUBSUB_SHARD]),
		KV_N("latest_fork_usec", 0),
		KV_N("total_forks", 0),
		KV_N("migrate_cached_sockets", v->migrate_sockets),
		KV_N("slave_expires_tracked_keys", 0),
		KV_N("active_defrag_hits", 0),
		KV_N("active_defrag_misses", 0),
		KV_N("active_defrag_key_hits", 0),
		KV_N("active_defrag_key_misses", 0),
		KV_N("total_active_defrag_time", 0),
		KV_N("current_active_defrag_time", 0),
		KV_N("tracking_total_keys", v->trk_keys),
		KV_N("tracking_total_items", v->trk_items),
		KV_N("tracking_total_prefixes", v->trk_prefixes),
		KV_N("unexpected_error_replies", st->unexpected_error_replies),
		KV_N("total_error_replies", v->es.total),
		KV_N("dump_payload_sanitizations", 0),
		KV_N("total_reads_processed", st->reads_processed),
		KV_N("total_writes_processed", st->writes_processed),
		KV_N("io_threaded_reads_processed", 0),
		KV_N("io_threaded_writes_processed", 0),
		/* Redis 7.4's names for these two. */
		KV_N("client_query_buffer_limit_disconnections", st->qbuf_limit_disconnections),
		KV_N("client_output_buffer_limit_disconnections", st->obuf_limit_disconnections),
		KV_N("client_output_backpressure_pauses", st->backpressure_pauses),
		KV_N("reply_buffer_shrinks", 0),
		KV_N("reply_buffer_expands", 0),
	};

	info_kvs(b, kv, KV_COUNT(kv));
}

static void info_stats(struct text *b, const struct info_view *v)
{
	const struct stats *st = &v->st;
	const struct shard_inst *in = &v->inst;
	char kin[32], kout[32], stale[32];
	const struct info_kv kv[] = {
		KV_N("total_connections_received", st->connections_received),
		KV_N("total_commands_processed", st->commands_processed),
		KV_N("instantaneous_ops_per_sec", inst_mean(in->ops)),
		KV_N("total_net_input_bytes", st->net_input_bytes),
		KV_N("total_net_output_bytes", st->net_output_bytes),
		KV_N("total_net_repl_input_bytes", 0),
		KV_N("total_net_repl_output_bytes", 0),
		KV_S("instantaneous_input_kbps", kin),
		KV_S("instantaneous_output_kbps", kout),
		KV_S("instantaneous_input_repl_kbps", "0.00"),
		KV_S("instantaneous_output_repl_kbps", "0.00"),
		KV_N("rejected_connections", st->rejected_connections),
		KV_N("sync_full", 0),
		KV_N("sync_partial_ok", 0),
		KV_N("sync_partial_err", 0),
		KV_N("expired_keys", st->expired_keys),
		KV_S("expired_stale_perc", stale),
		KV_N("expired_time_cap_reached_count", st->expired_time_cap_reached),
		KV_N("expire_cycle_cpu_milliseconds", st->expire_cycle_us / 1000),
		KV_N("evicted_keys", st->evicted_keys),
		KV_N("evicted_clients", 0),
		KV_N("total_eviction_exceeded_time", 0),
		KV_N("current_eviction_exceeded_time", 0),
		KV_N("keyspace_hits", st->keyspace_hits),
		KV_N("keyspace_misses", st->keyspace_misses),
	};

	snprintf(kin, sizeof(kin), "%.2f", (double)inst_mean(in->in) / 1024);
	snprintf(kout, sizeof(kout), "%.2f", (double)inst_mean(in->out) / 1024);
	snprintf(stale, sizeof(stale), "%.2f", (double)st->expired_stale_perc_x100 / 100);
	info_kvs(b, kv, KV_COUNT(kv));
	info_stats_tail(b, v);
}

static void info_replication(struct text *b, const struct info_view *v)
{
	/* No replication: the replication id is the run id, as a master
	 * that never had replicas would show a random one. */
	const struct info_kv kv[] = {
		KV_S("role", "master"),
		KV_N("connected_slaves", 0),
		KV_S("master_failover_state", "no-failover"),
		KV_S("master_replid", node_info(v->sh)->run_id),
		KV_S("master_replid2", "0000000000000000000000000000000000000000"),
		KV_N("master_repl_offset", 0),
		KV_N("second_repl_offset", -1),
		KV_N("repl_backlog_active", 0),
		KV_N("repl_backlog_size", 1048576),
		KV_N("repl_backlog_first_byte_offset", 0),
		KV_N("repl_backlog_histlen", 0),
	};

	info_kvs(b, kv, KV_COUNT(kv));
}

/* Process CPU time; cairn has no per-thread figures, so Redis's
 * used_cpu_*_main_thread lines are left out. */
static void info_cpu(struct text *b, const struct info_view *v)
{
	struct io_proc_stats ps;

	io_proc_stats(v->sh->io, &ps);
	text_printf(b,
		    "used_cpu_sys:%llu.%06llu\r\nused_cpu_user:%llu.%06llu\r\n"
		    "used_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n",
		    (unsigned long long)(ps.cpu_sys_us / 1000000),
		    (unsigned long long)(ps.cpu_sys_us % 1000000),
		    (unsigned long long)(ps.cpu_user_us / 1000000),
		    (unsigned long long)(ps.cpu_user_us % 1000000));
}

/* cairn has no modules: the section is its title alone, as Redis's with
 * none loaded. */
static void info_modules(struct text *b, const struct info_view *v)
{
	(void)b;
	(void)v;
}

/* Commands that ran or were refused, in table order (Redis uses the order
 * of its hash table, which changes with every start). */
static void info_commandstats(struct text *b, const struct info_view *v)
{
	int i;

	for (i = 0; i < CMDID_COUNT; i++) {
		const struct cmd_stat *s = &v->cstat[i];
		if (s->calls == 0 && s->rejected == 0 && s->failed == 0)
			continue;
		ASSERT(s->failed <= s->calls);
		text_printf(b,
			    "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
			    "rejected_calls=%llu,failed_calls=%llu\r\n",
			    cmd_table[i].fullname, (unsigned long long)s->calls,
			    (unsigned long long)s->usec,
			    s->calls ? (double)s->usec / (double)s->calls : 0.0,
			    (unsigned long long)s->rejected, (unsigned long long)s->failed);
	}
}

/* Error codes in byte order, as Redis's radix tree gives them. */
static void info_errorstats(struct text *b, const struct info_view *v)
{
	const struct errstats *es = &v->es;
	uint8_t order[ERRSTATS_MAX];
	uint32_t i, j;

	ASSERT(es->n <= ERRSTATS_MAX);
	for (i = 0; i < es->n; i++) {
		for (j = i; j > 0 && strcmp(es->e[order[j - 1]].name, es->e[i].name) > 0; j--)
			order[j] = order[j - 1];
		order[j] = (uint8_t)i;
	}
	for (i = 0; i < es->n; i++)
		text_printf(b, "errorstat_%s:count=%llu\r\n", es->e[order[i]].name,
			    (unsigned long long)es->e[order[i]].count);
}

/* Each command's latency percentiles (latency-tracking-info-percentiles,
 * in microseconds), from the shards' histograms added up, for the commands
 * that have one (tracked since they first ran). */
static void info_latencystats(struct text *b, const struct info_view *v)
{
	const struct config *cfg = &v->sh->cfg;
	struct hist *sum = mem_calloc(&v->sh->mem, sizeof(*sum));
	int i, k;

	for (i = 0; i < CMDID_COUNT; i++) {
		if (!server_latency(v->sh, i, sum))
			continue;
		text_printf(b, "latency_percentiles_usec_%s:", cmd_table[i].fullname);
		for (k = 0; k < cfg->latency_npercentiles; k++)
			text_printf(b, "%sp%g=%.3f", k ? "," : "", cfg->latency_percentiles[k],
				    (double)hist_percentile(sum, cfg->latency_percentiles[k]) /
					    1000);
		text_add(b, "\r\n", 2);
	}
	hist_clear(&v->sh->mem, sum);
	mem_free(&v->sh->mem, sum);
}

static void info_cluster(struct text *b, const struct info_view *v)
{
	text_printf(b, "cluster_enabled:%d\r\n", v->sh->cfg.cluster_enabled ? 1 : 0);
}

/* db0 only when it holds keys, as Redis. cairn does not sample TTLs, so
 * avg_ttl is 0. */
static void info_keyspace(struct text *b, const struct info_view *v)
{
	uint64_t keys = v->keys, expires = v->expires;

	if (keys == 0 && expires == 0)
		return;
	text_printf(b, "db0:keys=%llu,expires=%llu,avg_ttl=0\r\n", (unsigned long long)keys,
		    (unsigned long long)expires);
}

enum info_sec {
	SEC_SERVER = 1u << 0,
	SEC_CLIENTS = 1u << 1,
	SEC_MEMORY = 1u << 2,
	SEC_PERSISTENCE = 1u << 3,
	SEC_STATS = 1u << 4,
	SEC_REPLICATION = 1u << 5,
	SEC_CPU = 1u << 6,
	SEC_MODULES = 1u << 7,
	SEC_COMMANDSTATS = 1u << 8,
	SEC_ERRORSTATS = 1u << 9,
	SEC_LATENCYSTATS = 1u << 10,
	SEC_CLUSTER = 1u << 11,
	SEC_KEYSPACE = 1u << 12,
};

#define SEC_ALL ((1u << 13) - 1)
#define SEC_DEFAULT (SEC_ALL & ~(SEC_COMMANDSTATS | SEC_LATENCYSTATS))

/* Sections in Redis's output order. */
static const struct {
	const char *name; /* as requested */
	const char *title;
	unsigned bit;
	void (*fn)(struct text *b, const struct info_view *v);
} info_sections[] = {
	{ "server", "Server", SEC_SERVER, info_server },
	{ "clients", "Clients", SEC_CLIENTS, info_clients },
	{ "memory", "Memory", SEC_MEMORY, info_memory },
	{ "persistence", "Persistence", SEC_PERSISTENCE, info_persistence },
	{ "stats", "Stats", SEC_STATS, info_stats },
	{ "replication", "Replication", SEC_REPLICATION, info_replication },
	{ "cpu", "CPU", SEC_CPU, info_cpu },
	{ "modules", "Modules", SEC_MODULES, info_modules },
	{ "commandstats", "Commandstats", SEC_COMMANDSTATS, info_commandstats },
	{ "errorstats", "Errorstats", SEC_ERRORSTATS, info_errorstats },
	{ "latencystats", "Latencystats", SEC_LATENCYSTATS, info_latencystats },
	{ "cluster", "Cluster", SEC_CLUSTER, info_cluster },
	{ "keyspace", "Keyspace", SEC_KEYSPACE, info_keyspace },
};

#define INFO_SECTIONS (sizeof(info_sections) / sizeof(info_sections[0]))

/* The sections named by INFO's arguments, as Redis 7.0's
 * genInfoSectionDict: none means default; "default", "all" and
 * "everything" name groups; unknown names select nothing. */
static unsigned info_mask(const struct cmd_ctx *c)
{
	unsigned mask = 0;
	int i;
	size_t k;

	if (c->argc == 1)
		return SEC_DEFAULT;
	for (i = 1; i < c->argc; i++) {
		const struct cmd_arg *a = &c->argv[i];
		if (cmd_arg_eq(a, "default"))
			mask |= SEC_DEFAULT;
		else if (cmd_arg_eq(a, "all") || cmd_arg_eq(a, "everything"))
			mask |= SEC_ALL;
		else if (cmd_arg_eq(a, "module_list"))
			mask |= SEC_MODULES;
		for (k = 0; k < INFO_SECTIONS; k++)
			if (cmd_arg_eq(a, info_sections[k].name))
				mask |= info_sections[k].bit;
	}
	return mask;
}

/* INFO [section ...]: a bulk string (verbatim "txt" in RESP3) of CRLF
 * lines, sections separated by an empty line. */
void cmd_info(struct cmd_ctx *c)
{
	struct info_view *v = mem_calloc(&shard_of(c)->mem, sizeof(*v));
	struct text b;
	unsigned mask = info_mask(c), s;
	size_t k;

	ASSERT((mask & ~SEC_ALL) == 0);
	v->sh = shard_of(c);
	v->now_ms = c->now_ms;
	for (s = 0; s < cmd_nshards(c); s++)
		view_add(v, shard_at(c, s));
	for (k = 0; k < PUBSUB_KINDS; k++)
		v->pubsub[k] = server_pubsub_names(c, (int)k);
	v->trk_prefixes = server_tracking_prefixes(c);
	/* The one share among the counters: the mean, not the sum. */
	v->st.expired_stale_perc_x100 /= cmd_nshards(c);
	text_init(&b, &shard_of(c)->mem, INFO_BUF_START);
	for (k = 0; k < INFO_SECTIONS; k++) {
		if (!(mask & info_sections[k].bit))
			continue;
		if (b.len > 0)
			text_add(&b, "\r\n", 2);
		text_printf(&b, "# %s\r\n", info_sections[k].title);
		info_sections[k].fn(&b, v);
	}
	reply_verbatim(c->r, b.p, b.len, "txt");
	text_free(&b);
	mem_free(&shard_of(c)->mem, v);
}
