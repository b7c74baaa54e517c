/* config.c: the directive table, parsing and formatting. See config.h.
 *
 * Error texts are Redis 7.0's (config.c), because CONFIG SET's error reply
 * embeds them. */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/util.h"
#include "io/io.h"

enum cfg_type { CFG_INT, CFG_MEM, CFG_BOOL, CFG_ENUM, CFG_STR, CFG_SPECIAL };

#define CFG_IMMUTABLE 0x1u
#define CFG_CLAMP 0x2u /* out of range values are clamped, not refused (hz) */
#define CFG_ALIAS 0x4u /* an old name of the directive just before it */

struct cfg_def {
	const char *name;
	uint8_t type;
	uint8_t flags;
	size_t off;
	long long min, max;
	const char *const *names; /* CFG_ENUM: NULL-terminated */
	const char *help;
};

static const char *const loglevel_names[] = { "debug", "verbose", "notice", "warning", NULL };
static const char *const policy_names[] = { "volatile-lru",
					    "volatile-lfu",
					    "volatile-random",
					    "volatile-ttl",
					    "allkeys-lru",
					    "allkeys-lfu",
					    "allkeys-random",
					    "noeviction",
					    "allkeys-sieve",
					    "volatile-sieve",
					    NULL };
_Static_assert(sizeof(policy_names) / sizeof(policy_names[0]) == POLICY_COUNT + 1,
	       "a name per policy");
static const char *const io_names[] = { "auto", "uring", "epoll", NULL };
static const char *const save_names[] = { "", NULL };
static const char *const no_names[] = { "no", NULL };

#define OFF(f) offsetof(struct config, f)
#define MEM_MAX 9223372036854775807LL

static const struct cfg_def defs[] = {
	{ "port", CFG_INT, CFG_IMMUTABLE, OFF(port), 0, 65535, NULL, "TCP port to listen on" },
	{ "bind", CFG_SPECIAL, CFG_IMMUTABLE, OFF(bind), 0, 0, NULL,
	  "addresses to listen on, space separated" },
	{ "requirepass", CFG_STR, 0, OFF(requirepass), 0, 0, NULL, "password of the default user" },
	{ "masterauth", CFG_STR, 0, OFF(masterauth), 0, 0, NULL,
	  "password an atomic slot migration's link sends the target (AUTH)" },
	{ "masteruser", CFG_STR, 0, OFF(masteruser), 0, 0, NULL,
	  "user an atomic slot migration's link authenticates as (with masterauth)" },
	{ "maxclients", CFG_INT, 0, OFF(maxclients), 1, CONN_MAX_MAX, NULL,
	  "most connected clients per node" },
	{ "proto-max-bulk-len", CFG_MEM, 0, OFF(proto_max_bulk_len), PROTO_BULK_MAX_MIN,
	  PROTO_BULK_MAX_MAX, NULL, "largest bulk argument" },
	{ "client-query-buffer-limit", CFG_MEM, 0, OFF(client_query_buffer_limit),
	  QUERY_BUF_LIMIT_MIN, MEM_MAX, NULL, "largest pending request per client" },
	{ "client-output-backpressure", CFG_MEM, 0, OFF(client_output_backpressure), 0, MEM_MAX,
	  NULL, "stop reading a client whose unsent replies pass this (0: never)" },
	{ "slowlog-log-slower-than", CFG_INT, 0, OFF(slowlog_log_slower_than), -1, LLONG_MAX, NULL,
	  "log commands that take this many microseconds (-1: none)" },
	{ "slowlog-max-len", CFG_INT, 0, OFF(slowlog_max_len), 0, LONG_MAX, NULL,
	  "entries the slow log keeps" },
	{ "latency-tracking", CFG_BOOL, 0, OFF(latency_tracking), 0, 0, NULL,
	  "keep a latency histogram per command (LATENCY HISTOGRAM)" },
	{ "latency-tracking-info-percentiles", CFG_SPECIAL, 0, OFF(latency_percentiles), 0, 0, NULL,
	  "the percentiles INFO latencystats shows" },
	{ "latency-monitor-threshold", CFG_INT, 0, OFF(latency_monitor_threshold), 0, LLONG_MAX,
	  NULL, "record events that take this many ms in LATENCY LATEST (0: off)" },
	{ "tracking-table-max-keys", CFG_INT, 0, OFF(tracking_table_max_keys), 0, LONG_MAX, NULL,
	  "keys CLIENT TRACKING remembers for the node (0: no bound)" },
	{ "timeout", CFG_INT, 0, OFF(timeout), 0, 2147483647, NULL,
	  "close clients idle this many seconds (0: never)" },
	{ "loglevel", CFG_ENUM, 0, OFF(loglevel), 0, 0, loglevel_names,
	  "debug, verbose, notice or warning" },
	{ "logfile", CFG_STR, CFG_IMMUTABLE, OFF(logfile), 0, 0, NULL,
	  "log file (empty: standard error)" },
	{ "pidfile", CFG_STR, CFG_IMMUTABLE, OFF(pidfile), 0, 0, NULL,
	  "write the process id here" },
	{ "dir", CFG_STR, CFG_IMMUTABLE, OFF(dir), 0, 0, NULL, "working directory" },
	{ "hz", CFG_INT, CFG_CLAMP, OFF(hz), HZ_MIN, HZ_MAX, NULL,
	  "background task frequency (1-500)" },
	{ "databases", CFG_INT, CFG_IMMUTABLE, OFF(databases), 1, 1, NULL,
	  "number of databases (only 1)" },
	{ "maxmemory", CFG_MEM, 0, OFF(maxmemory), 0, MEM_MAX, NULL,
	  "refuse writes past this many bytes (0: no limit)" },
	{ "maxmemory-policy", CFG_ENUM, 0, OFF(maxmemory_policy), 0, 0, policy_names,
	  "what goes when maxmemory is reached (default allkeys-sieve)" },
	{ "maxmemory-samples", CFG_INT, 0, OFF(maxmemory_samples), 1, 2147483647, NULL,
	  "keys sampled per eviction by the LRU, LFU and TTL policies" },
	{ "maxmemory-eviction-tenacity", CFG_INT, 0, OFF(maxmemory_eviction_tenacity), 0, 100, NULL,
	  "how much eviction work one step may do (100: no bound)" },
	{ "lfu-log-factor", CFG_INT, 0, OFF(lfu_log_factor), 0, 2147483647, NULL,
	  "how slowly the LFU counter grows" },
	{ "lfu-decay-time", CFG_INT, 0, OFF(lfu_decay_time), 0, 2147483647, NULL,
	  "minutes for the LFU counter to decay by one" },
	{ "lazyfree-lazy-eviction", CFG_BOOL, 0, OFF(lazyfree_lazy_eviction), 0, 0, NULL,
	  "an evicted big value is freed in the background" },
	{ "tcp-backlog", CFG_INT, CFG_IMMUTABLE, OFF(tcp_backlog), 0, 2147483647, NULL,
	  "listen backlog" },
	{ "tcp-keepalive", CFG_INT, 0, OFF(tcp_keepalive), 0, 2147483647, NULL,
	  "TCP keepalive seconds" },
	{ "lazyfree-lazy-user-flush", CFG_BOOL, 0, OFF(lazyfree_lazy_user_flush), 0, 0, NULL,
	  "FLUSHALL/FLUSHDB free in the background by default" },
	{ "lazyfree-lazy-user-del", CFG_BOOL, 0, OFF(lazyfree_lazy_user_del), 0, 0, NULL,
	  "DEL frees a big value in the background, as UNLINK does" },
	{ "protected-mode", CFG_BOOL, 0, OFF(protected_mode), 0, 0, NULL, "accepted, no effect" },
	{ "client-output-buffer-limit", CFG_SPECIAL, 0, OFF(obuf_limit), 0, 0, NULL,
	  "<class> <hard> <soft> <seconds>" },
	{ "notify-keyspace-events", CFG_SPECIAL, 0, OFF(notify_flags), 0, 0, NULL,
	  "keyspace event classes to publish: letters of Ag$lshzxeKEtmdn" },
	{ "save", CFG_ENUM, 0, 0, 0, 0, save_names, "persistence is not supported: only \"\"" },
	{ "appendonly", CFG_ENUM, 0, 0, 0, 0, no_names, "persistence is not supported: only no" },
	{ "daemonize", CFG_ENUM, CFG_IMMUTABLE, 0, 0, 0, no_names, "only no" },
	{ "hash-max-listpack-entries", CFG_INT, 0, OFF(hash_max_listpack_entries), 0, MEM_MAX, NULL,
	  "most fields of a hash kept as a listpack" },
	{ "hash-max-ziplist-entries", CFG_INT, CFG_ALIAS, OFF(hash_max_listpack_entries), 0,
	  MEM_MAX, NULL, "the old name of hash-max-listpack-entries" },
	{ "hash-max-listpack-value", CFG_MEM, 0, OFF(hash_max_listpack_value), 0, MEM_MAX, NULL,
	  "longest field or value of a hash kept as a listpack" },
	{ "hash-max-ziplist-value", CFG_MEM, CFG_ALIAS, OFF(hash_max_listpack_value), 0, MEM_MAX,
	  NULL, "the old name of hash-max-listpack-value" },
	{ "zset-max-listpack-entries", CFG_INT, 0, OFF(zset_max_listpack_entries), 0, MEM_MAX, NULL,
	  "most members of a sorted set kept as a listpack" },
	{ "zset-max-ziplist-entries", CFG_INT, CFG_ALIAS, OFF(zset_max_listpack_entries), 0,
	  MEM_MAX, NULL, "the old name of zset-max-listpack-entries" },
	{ "zset-max-listpack-value", CFG_MEM, 0, OFF(zset_max_listpack_value), 0, MEM_MAX, NULL,
	  "longest member of a sorted set kept as a listpack" },
	{ "zset-max-ziplist-value", CFG_MEM, CFG_ALIAS, OFF(zset_max_listpack_value), 0, MEM_MAX,
	  NULL, "the old name of zset-max-listpack-value" },
	{ "list-max-listpack-size", CFG_INT, 0, OFF(list_max_listpack_size), INT_MIN, INT_MAX, NULL,
	  "a list node's size (-1..-5: 4..64 KB) or element count (positive)" },
	{ "list-max-ziplist-size", CFG_INT, CFG_ALIAS, OFF(list_max_listpack_size), INT_MIN,
	  INT_MAX, NULL, "the old name of list-max-listpack-size" },
	{ "list-compress-depth", CFG_INT, 0, OFF(list_compress_depth), 0, INT_MAX, NULL,
	  "list nodes kept raw at each end; the rest are compressed (0: none)" },
	{ "hll-sparse-max-bytes", CFG_MEM, 0, OFF(hll_sparse_max_bytes), 0, MEM_MAX, NULL,
	  "largest sparse HyperLogLog before it turns dense" },
	{ "set-max-intset-entries", CFG_INT, 0, OFF(set_max_intset_entries), 0, MEM_MAX, NULL,
	  "most members of a set of integers kept as an intset" },
	{ "set-max-listpack-entries", CFG_INT, 0, OFF(set_max_listpack_entries), 0, MEM_MAX, NULL,
	  "most members of a set kept as a listpack (Redis 7.2's)" },
	{ "set-max-listpack-value", CFG_MEM, 0, OFF(set_max_listpack_value), 0, MEM_MAX, NULL,
	  "longest member of a set kept as a listpack (Redis 7.2's)" },
	{ "io", CFG_ENUM, CFG_IMMUTABLE, OFF(io), 0, 0, io_names, "auto, uring or epoll" },
	{ "shards", CFG_INT, CFG_IMMUTABLE, OFF(shards), 0, 256, NULL,
	  "shard threads (0: one per online CPU)" },
	{ "cluster-enabled", CFG_BOOL, CFG_IMMUTABLE, OFF(cluster_enabled), 0, 0, NULL,
	  "run as a Redis Cluster node" },
	{ "cluster-port", CFG_INT, CFG_IMMUTABLE, OFF(cluster_port), 0, 65535, NULL,
	  "cluster bus port (0: port + 10000)" },
	{ "cluster-config-file", CFG_STR, CFG_IMMUTABLE, OFF(cluster_config_file), 0, 0, NULL,
	  "where the node keeps its cluster configuration" },
	{ "cluster-node-timeout", CFG_INT, 0, OFF(cluster_node_timeout), 0, LLONG_MAX, NULL,
	  "ms of silence before a peer is suspected (PFAIL)" },
	{ "cluster-announce-ip", CFG_STR, 0, OFF(cluster_announce_ip), 0, 0, NULL,
	  "the address the node gives its peers (empty: the one they see)" },
	{ "cluster-announce-port", CFG_INT, 0, OFF(cluster_announce_port), 0, 65535, NULL,
	  "the client port the node gives its peers (0: its own)" },
	{ "cluster-announce-bus-port", CFG_INT, 0, OFF(cluster_announce_bus_port), 0, 65535, NULL,
	  "the bus port the node gives its peers (0: its own)" },
	{ "cluster-require-full-coverage", CFG_BOOL, 0, OFF(cluster_require_full_coverage), 0, 0,
	  NULL, "the cluster is down while a slot has no owner" },
	{ "cluster-allow-reads-when-down", CFG_BOOL, 0, OFF(cluster_allow_reads_when_down), 0, 0,
	  NULL, "serve reads while the cluster is down" },
	{ "cluster-allow-pubsubshard-when-down", CFG_BOOL, 0,
	  OFF(cluster_allow_pubsubshard_when_down), 0, 0, NULL,
	  "serve shard channels while the cluster is down" },
	{ "cluster-link-sendbuf-limit", CFG_MEM, 0, OFF(cluster_link_sendbuf_limit), 0, MEM_MAX,
	  NULL, "bytes a bus link may queue before it is closed (0: no limit)" },
	{ "bigbulk-reserve-max", CFG_MEM, 0, OFF(bigbulk_reserve_max), 0, MEM_MAX, NULL,
	  "bytes a shard may reserve for big bulks not yet received" },
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))
_Static_assert(NDEFS <= CONFIG_NAMES_MAX, "CONFIG GET has room for every name");

static const char *const obuf_class_names[] = { "normal", "replica", "pubsub" };

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 6379;
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->maxclients = CONN_MAX_DEFAULT;
	c->proto_max_bulk_len = PROTO_BULK_MAX_DEFAULT;
	c->client_query_buffer_limit = QUERY_BUF_LIMIT_DEFAULT;
	c->client_output_backpressure = CLIENT_BACKPRESSURE_DEFAULT;
	c->slowlog_log_slower_than = SLOWLOG_SLOWER_THAN_DEFAULT;
	c->slowlog_max_len = SLOWLOG_MAX_LEN_DEFAULT;
	c->latency_tracking = true;
	c->tracking_table_max_keys = 1000000;
	snprintf(c->cluster_config_file, sizeof(c->cluster_config_file), "nodes.conf");
	c->cluster_node_timeout = 15000;
	c->cluster_require_full_coverage = true;
	c->cluster_allow_pubsubshard_when_down = true;
	c->latency_percentiles[0] = 50;
	c->latency_percentiles[1] = 99;
	c->latency_percentiles[2] = 99.9;
	c->latency_npercentiles = 3;
	c->loglevel = IO_LOG_NOTICE;
	c->hz = HZ_DEFAULT;
	c->databases = 1;
	c->maxmemory_policy = POLICY_ALLKEYS_SIEVE;
	c->maxmemory_samples = 5;
	c->maxmemory_eviction_tenacity = 10;
	c->lfu_log_factor = 10;
	c->lfu_decay_time = 1;
	c->tcp_backlog = 511;
	c->tcp_keepalive = 300;
	c->protected_mode = true;
	c->active_expire = true;
	c->obuf_limit[CONFIG_OBUF_REPLICA][0] = 256LL * 1024 * 1024;
	c->obuf_limit[CONFIG_OBUF_REPLICA][1] = 64LL * 1024 * 1024;
	c->obuf_limit[CONFIG_OBUF_REPLICA][2] = 60;
	c->obuf_limit[CONFIG_OBUF_PUBSUB][0] = 32LL * 1024 * 1024;
	c->obuf_limit[CONFIG_OBUF_PUBSUB][1] = 8LL * 1024 * 1024;
	c->obuf_limit[CONFIG_OBUF_PUBSUB][2] = 60;
	c->bigbulk_reserve_max = BIGBULK_RESERVE_MAX_DEFAULT;
	c->hash_max_listpack_entries = HASH_MAX_LISTPACK_ENTRIES_DEFAULT;
	c->hash_max_listpack_value = HASH_MAX_LISTPACK_VALUE_DEFAULT;
	c->zset_max_listpack_entries = ZSET_MAX_LISTPACK_ENTRIES_DEFAULT;
	c->zset_max_listpack_value = ZSET_MAX_LISTPACK_VALUE_DEFAULT;
	c->hll_sparse_max_bytes = HLL_SPARSE_MAX_BYTES_DEFAULT;
	c->set_max_intset_entries = SET_MAX_INTSET_ENTRIES_DEFAULT;
	c->set_max_listpack_entries = SET_MAX_LISTPACK_ENTRIES_DEFAULT;
	c->set_max_listpack_value = SET_MAX_LISTPACK_VALUE_DEFAULT;
	c->list_max_listpack_size = LIST_MAX_LISTPACK_SIZE_DEFAULT;
	c->list_compress_depth = LIST_COMPRESS_DEPTH_DEFAULT;
}

static const struct cfg_def *find_def(const char *name, size_t len)
{
	size_t i;
	for (i = 0; i < NDEFS; i++)
		if (util_eq_nocase(name, len, defs[i].name))
			return &defs[i];
	return NULL;
}

bool config_exists(const char *name, size_t len)
{
	return find_def(name, len) != NULL;
}

bool config_mutable(const char *name, size_t len)
{
	const struct cfg_def *d = find_def(name, len);

	return d != NULL && !(d->flags & CFG_IMMUTABLE);
}

/* Redis's memtoull: digits, then an optional unit b, k, kb, m, mb, g, gb. */
static bool parse_mem(const char *p, size_t len, long long *out)
{
	size_t i = 0;
	unsigned long long v = 0, mul;
	const char *u;
	size_t ulen;

	while (i < len && isdigit((unsigned char)p[i]))
		i++;
	if (i == 0 || i > 19)
		return false;
	u = p + i;
	ulen = len - i;
	if (ulen == 0 || util_eq_nocase(u, ulen, "b"))
		mul = 1;
	else if (util_eq_nocase(u, ulen, "k"))
		mul = 1000;
	else if (util_eq_nocase(u, ulen, "kb"))
		mul = 1024;
	else if (util_eq_nocase(u, ulen, "m"))
		mul = 1000ULL * 1000;
	else if (util_eq_nocase(u, ulen, "mb"))
		mul = 1024ULL * 1024;
	else if (util_eq_nocase(u, ulen, "g"))
		mul = 1000ULL * 1000 * 1000;
	else if (util_eq_nocase(u, ulen, "gb"))
		mul = 1024ULL * 1024 * 1024;
	else
		return false;
	for (size_t k = 0; k < i; k++)
		v = v * 10 + (unsigned)(p[k] - '0');
	if (v > (unsigned long long)MEM_MAX / mul)
		return false;
	*out = (long long)(v * mul);
	return true;
}

static int set_num(struct config *c, const struct cfg_def *d, const char *v, size_t len, char *err,
		   size_t errlen)
{
	long long n;
	long long *dst = (long long *)((char *)c + d->off);

	if (d->type == CFG_MEM) {
		if (!parse_mem(v, len, &n)) {
			snprintf(err, errlen, "argument must be a memory value");
			return -1;
		}
	} else if (!util_str2ll(v, len, &n)) {
		snprintf(err, errlen, "argument couldn't be parsed into an integer");
		return -1;
	}
	if (d->flags & CFG_CLAMP) {
		/* As Redis's hz: refused outside 0..INT_MAX, then clamped. */
		if (n < 0 || n > INT_MAX) {
			snprintf(err, errlen, "argument must be between 0 and %d inclusive",
				 INT_MAX);
			return -1;
		}
		n = n < d->min ? d->min : n > d->max ? d->max : n;
	} else if (n < d->min || n > d->max) {
		snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min,
			 d->max);
		return -1;
	}
	*dst = n;
	return 0;
}

static int set_enum(struct config *c, const struct cfg_def *d, const char *v, size_t len, char *err,
		    size_t errlen)
{
	int i;
	size_t o = 0;

	for (i = 0; d->names[i] != NULL; i++) {
		if (util_eq_nocase(v, len, d->names[i])) {
			if (d->off != 0)
				*(int *)((char *)c + d->off) = i;
			return 0;
		}
	}
	if (d->names == save_names || d->names == no_names) {
		snprintf(err, errlen, "%s", d->help);
		return -1;
	}
	o = (size_t)snprintf(err, errlen, "argument(s) must be one of the following: ");
	for (i = 0; d->names[i] != NULL && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, "%s%s", i ? ", " : "", d->names[i]);
	return -1;
}

static int set_obuf(struct config *c, int argc, const char *const *argv, const size_t *lens,
		    char *err, size_t errlen)
{
	long long lim[3][3];
	int i, k;

	memcpy(lim, c->obuf_limit, sizeof(lim));
	if (argc == 0)
		return 0; /* as Redis: an empty value changes nothing */
	if (argc % 4 != 0) {
		snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
		return -1;
	}
	for (i = 0; i < argc; i += 4) {
		int cls = -1;
		for (k = 0; k < 3; k++)
			if (util_eq_nocase(argv[i], lens[i], obuf_class_names[k]))
				cls = k;
		if (util_eq_nocase(argv[i], lens[i], "slave"))
			cls = CONFIG_OBUF_REPLICA;
		if (cls < 0) {
			snprintf(err, errlen,
				 "Invalid client class specified in buffer limit configuration.");
			return -1;
		}
		for (k = 0; k < 3; k++) {
			bool ok = k < 2 ? parse_mem(argv[i + 1 + k], lens[i + 1 + k], &lim[cls][k])
					: util_str2ll(argv[i + 3], lens[i + 3], &lim[cls][2]);
			if (!ok || lim[cls][k] < 0) {
				snprintf(err, errlen,
					 "Error in hard, soft or soft_seconds setting in buffer "
					 "limit configuration.");
				return -1;
			}
		}
	}
	memcpy(c->obuf_limit, lim, sizeof(lim));
	return 0;
}

/* Splits one CONFIG SET value on spaces into words, for directives that
 * take several (bind, client-output-buffer-limit). */
static int split_words(const char *v, size_t len, const char **w, size_t *wl, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && v[i] == ' ')
			i++;
		if (i == len)
			break;
		if (n == max)
			return -1;
		w[n] = v + i;
		while (i < len && v[i] != ' ')
			i++;
		wl[n] = (size_t)(v + i - w[n]);
		n++;
	}
	return n;
}

/* latency-tracking-info-percentiles: numbers from 0 to 100, Redis's words
 * for the refusals; nothing set on a refusal. */
static int set_percentiles(struct config *c, int n, const char *const *w, const size_t *wl,
			   char *err, size_t errlen)
{
	double v[CONFIG_WORDS_MAX];
	char num[64];
	int i;

	for (i = 0; i < n; i++) {
		char *end;
		size_t len = wl[i] < sizeof(num) - 1 ? wl[i] : sizeof(num) - 1;
		memcpy(num, w[i], len);
		num[len] = '\0';
		v[i] = strtod(num, &end);
		if (len == 0 || len != wl[i] || *end != '\0' || v[i] != v[i]) {
			snprintf(err, errlen,
				 "Invalid latency-tracking-info-percentiles parameters");
			return -1;
		}
		if (v[i] < 0 || v[i] > 100) {
			snprintf(err, errlen,
				 "latency-tracking-info-percentiles parameters should sit between "
				 "[0.0,100.0]");
			return -1;
		}
	}
	memcpy(c->latency_percentiles, v, (size_t)n * sizeof(v[0]));
	c->latency_npercentiles = n;
	return 0;
}

/* notify-keyspace-events' letters, each with its class, in the order
 * Redis writes them back (keyspaceEventsFlagsToString). */
static const struct {
	char letter;
	unsigned flag;
} notify_letters[] = {
	{ 'g', CONFIG_NOTIFY_GENERIC },  { '$', CONFIG_NOTIFY_STRING },
	{ 'l', CONFIG_NOTIFY_LIST },     { 's', CONFIG_NOTIFY_SET },
	{ 'h', CONFIG_NOTIFY_HASH },     { 'z', CONFIG_NOTIFY_ZSET },
	{ 'x', CONFIG_NOTIFY_EXPIRED },  { 'e', CONFIG_NOTIFY_EVICTED },
	{ 't', CONFIG_NOTIFY_STREAM },   { 'd', CONFIG_NOTIFY_MODULE },
	{ 'n', CONFIG_NOTIFY_NEW },      { 'K', CONFIG_NOTIFY_KEYSPACE },
	{ 'E', CONFIG_NOTIFY_KEYEVENT }, { 'm', CONFIG_NOTIFY_KEY_MISS },
};
#define NOTIFY_LETTERS (sizeof(notify_letters) / sizeof(notify_letters[0]))

static int set_notify(struct config *c, const char *v, size_t len, char *err, size_t errlen)
{
	unsigned flags = 0;
	size_t i, k;

	for (i = 0; i < len; i++) {
		if (v[i] == 'A') {
			flags |= CONFIG_NOTIFY_ALL;
			continue;
		}
		for (k = 0; k < NOTIFY_LETTERS && notify_letters[k].letter != v[i]; k++)
			;
		if (k == NOTIFY_LETTERS) {
			snprintf(err, errlen,
				 "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
			return -1;
		}
		flags |= notify_letters[k].flag;
	}
	c->notify_flags = flags;
	return 0;
}

static int format_notify(unsigned flags, char *buf, size_t len)
{
	size_t k, o = 0;

	ASSERT(len > NOTIFY_LETTERS + 1);
	/* A stands for every class letter, n included (Redis drops it). */
	if ((flags & CONFIG_NOTIFY_ALL) == CONFIG_NOTIFY_ALL) {
		buf[o++] = 'A';
		flags &= ~(unsigned)(CONFIG_NOTIFY_ALL | CONFIG_NOTIFY_NEW);
	}
	for (k = 0; k < NOTIFY_LETTERS; k++)
		if (flags & notify_letters[k].flag)
			buf[o++] = notify_letters[k].letter;
	buf[o] = '\0';
	return (int)o;
}

static int set_special(struct config *c, const struct cfg_def *d, int argc, const char *const *argv,
		       const size_t *lens, char *err, size_t errlen)
{
	const char *w[CONFIG_WORDS_MAX];
	size_t wl[CONFIG_WORDS_MAX];
	int n, i;

	if (d->off == OFF(notify_flags)) {
		if (argc == 1)
			return set_notify(c, argv[0], lens[0], err, errlen);
		snprintf(err, errlen, "wrong number of arguments");
		return -1;
	}
	if (argc == 1) {
		n = split_words(argv[0], lens[0], w, wl, CONFIG_WORDS_MAX);
	} else {
		n = argc <= CONFIG_WORDS_MAX ? argc : -1;
		for (i = 0; i < argc && n > 0; i++) {
			w[i] = argv[i];
			wl[i] = lens[i];
		}
	}
	if (n < 0) {
		snprintf(err, errlen, "too many arguments");
		return -1;
	}
	if (d->off == OFF(obuf_limit))
		return set_obuf(c, n, w, wl, err, errlen);
	if (d->off == OFF(latency_percentiles))
		return set_percentiles(c, n, w, wl, err, errlen);
	/* bind: the words joined by single spaces. */
	{
		size_t o = 0;
		char tmp[CONFIG_STR_MAX];
		if (n == 0) {
			snprintf(err, errlen, "Too many bind addresses specified.");
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (o + wl[i] + 2 > sizeof(tmp)) {
				snprintf(err, errlen, "Too many bind addresses specified.");
				return -1;
			}
			if (i)
				tmp[o++] = ' ';
			memcpy(tmp + o, w[i], wl[i]);
			o += wl[i];
		}
		tmp[o] = '\0';
		memcpy(c->bind, tmp, o + 1);
	}
	return 0;
}

int config_apply(struct config *c, int argc, const char *const *argv, const size_t *lens,
		 bool runtime, char *err, size_t errlen)
{
	const struct cfg_def *d;

	ASSERT(argc >= 1);
	ASSERT(errlen >= 64);
	d = find_def(argv[0], lens[0]);
	if (d == NULL || argc < 2 || (d->type != CFG_SPECIAL && argc != 2))
		return -2;
	if (runtime && (d->flags & CFG_IMMUTABLE)) {
		snprintf(err, errlen, "can't set immutable config");
		return -1;
	}
	switch (d->type) {
	case CFG_INT:
	case CFG_MEM: return set_num(c, d, argv[1], lens[1], err, errlen);
	case CFG_ENUM: return set_enum(c, d, argv[1], lens[1], err, errlen);
	case CFG_BOOL:
		if (util_eq_nocase(argv[1], lens[1], "yes") ||
		    util_eq_nocase(argv[1], lens[1], "no")) {
			*(bool *)((char *)c + d->off) = util_eq_nocase(argv[1], lens[1], "yes");
			return 0;
		}
		snprintf(err, errlen, "argument must be 'yes' or 'no'");
		return -1;
	case CFG_STR:
		if (lens[1] >= CONFIG_STR_MAX) {
			snprintf(err, errlen, "argument is longer than %d bytes",
				 CONFIG_STR_MAX - 1);
			return -1;
		}
		memcpy((char *)c + d->off, argv[1], lens[1]);
		((char *)c + d->off)[lens[1]] = '\0';
		return 0;
	case CFG_SPECIAL: return set_special(c, d, argc - 1, argv + 1, lens + 1, err, errlen);
	default: ASSERT_NOT_REACHED("config: bad type"); return -1;
	}
}

static int format_value(const struct config *c, const struct cfg_def *d, char *buf, size_t len)
{
	const char *base = (const char *)c + d->off;
	int i;

	switch (d->type) {
	case CFG_INT:
	case CFG_MEM: return snprintf(buf, len, "%lld", *(const long long *)base);
	case CFG_BOOL: return snprintf(buf, len, "%s", *(const bool *)base ? "yes" : "no");
	case CFG_ENUM: return snprintf(buf, len, "%s", d->names[d->off ? *(const int *)base : 0]);
	case CFG_STR: return snprintf(buf, len, "%s", base);
	default:
		if (d->off == OFF(bind))
			return snprintf(buf, len, "%s", c->bind);
		if (d->off == OFF(notify_flags))
			return format_notify(c->notify_flags, buf, len);
		if (d->off == OFF(latency_percentiles)) {
			int o = 0;
			for (i = 0; i < c->latency_npercentiles; i++)
				o += snprintf(buf + o, len - (size_t)o, "%s%g", i ? " " : "",
					      c->latency_percentiles[i]);
			return o;
		}
		{
			int o = 0;
			for (i = 0; i < 3; i++)
				o += snprintf(buf + o, len - (size_t)o, "%s%s %lld %lld %lld",
					      i ? " " : "", i == 1 ? "slave" : obuf_class_names[i],
					      c->obuf_limit[i][0], c->obuf_limit[i][1],
					      c->obuf_limit[i][2]);
			return o;
		}
	}
}

void config_get(const struct config *c, const char *pat, size_t plen, config_get_fn fn, void *arg)
{
	size_t i;
	char buf[CONFIG_STR_MAX + 64];

	for (i = 0; i < NDEFS; i++) {
		const char *name = defs[i].name;
		int n;
		if (!util_glob_match(pat, plen, name, strlen(name), true))
			continue;
		n = format_value(c, &defs[i], buf, sizeof(buf));
		ASSERT(n >= 0);
		ASSERT((size_t)n < sizeof(buf));
		fn(arg, name, buf, (size_t)n);
	}
}

/* ---- CONFIG REWRITE ---- */

int config_id(const char *name, size_t len)
{
	const struct cfg_def *d = find_def(name, len);

	if (d == NULL)
		return -1;
	if (d->flags & CFG_ALIAS) {
		ASSERT(d > defs && d[-1].off == d->off && !(d[-1].flags & CFG_ALIAS));
		d--;
	}
	return (int)(d - defs);
}

/* Bytes as Redis's rewriteConfigFormatMemory writes them: in gb, mb or kb
 * when they divide exactly. */
static void format_memory(char *buf, size_t len, long long v)
{
	static const struct {
		long long unit;
		const char *name;
	} units[] = { { 1LL << 30, "gb" }, { 1LL << 20, "mb" }, { 1LL << 10, "kb" } };
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (v != 0 && v % units[i].unit == 0) {
			snprintf(buf, len, "%lld%s", v / units[i].unit, units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%lld", v);
}

/* A string as Redis's sdscatrepr quotes it. */
static void format_repr(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	ASSERT(len >= 4 * strlen(s) + 3);
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		const char *esc = ch == '\\'   ? "\\\\"
				  : ch == '"'  ? "\\\""
				  : ch == '\n' ? "\\n"
				  : ch == '\r' ? "\\r"
				  : ch == '\t' ? "\\t"
				  : ch == '\a' ? "\\a"
				  : ch == '\b' ? "\\b"
					       : NULL;
		if (esc != NULL)
			o += (size_t)snprintf(buf + o, len - o, "%s", esc);
		else if (isprint(ch))
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* The rewrite lines of the special directives (bind, save, the output
 * buffer limits, the latency percentiles), as Redis's rewrite functions
 * for them write them. */
static void rewrite_special(const struct config *c, const struct config *def, int id,
			    config_rewrite_fn fn, void *arg)
{
	const struct cfg_def *d = &defs[id];
	char line[CONFIG_STR_MAX * 5], a[32], b[32];
	int i, o;

	if (d->off == OFF(bind)) {
		/* At its default, bind is dropped from the file. */
		if (strcmp(c->bind, def->bind) == 0)
			fn(arg, id, NULL, false);
		else {
			snprintf(line, sizeof(line), "bind %s", c->bind);
			fn(arg, id, line, true);
		}
	} else if (d->off == OFF(latency_percentiles)) {
		/* Always written, "" for none (so the defaults do not return). */
		o = snprintf(line, sizeof(line), "%s", d->name);
		for (i = 0; i < c->latency_npercentiles; i++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, " %g",
				      c->latency_percentiles[i]);
		if (c->latency_npercentiles == 0)
			snprintf(line + o, sizeof(line) - (size_t)o, " \"\"");
		fn(arg, id, line, true);
	} else if (d->off == OFF(notify_flags)) {
		/* Redis's rewriteConfigNotifyKeyspaceEventsOption: the letters,
		 * quoted. */
		format_notify(c->notify_flags, a, sizeof(a));
		snprintf(line, sizeof(line), "%s \"%s\"", d->name, a);
		fn(arg, id, line, c->notify_flags != def->notify_flags);
	} else {
		ASSERT(d->off == OFF(obuf_limit));
		for (i = 0; i < 3; i++) {
			format_memory(a, sizeof(a), c->obuf_limit[i][0]);
			format_memory(b, sizeof(b), c->obuf_limit[i][1]);
			snprintf(line, sizeof(line), "%s %s %s %s %lld", d->name,
				 obuf_class_names[i], a, b, c->obuf_limit[i][2]);
			fn(arg, id, line,
			   memcmp(c->obuf_limit[i], def->obuf_limit[i], sizeof(c->obuf_limit[i])) !=
				   0);
		}
	}
}

/* One directive's rewrite line(s). */
static void rewrite_one(const struct config *c, const struct config *def, int id,
			config_rewrite_fn fn, void *arg)
{
	const struct cfg_def *d = &defs[id];
	char line[CONFIG_STR_MAX * 5], v[CONFIG_STR_MAX * 4 + 3];
	bool force;

	switch (d->type) {
	case CFG_MEM:
		format_memory(v, sizeof(v), *(const long long *)((const char *)c + d->off));
		break;
	case CFG_STR: format_repr(v, sizeof(v), (const char *)c + d->off); break;
	case CFG_SPECIAL: rewrite_special(c, def, id, fn, arg); return;
	default: (void)format_value(c, d, v, sizeof(v)); break;
	}
	if (d->names == save_names) {
		/* Redis always writes its save points, or save "" for none. */
		fn(arg, id, "save \"\"", true);
		return;
	}
	switch (d->type) {
	case CFG_STR:
		force = strcmp((const char *)c + d->off, (const char *)def + d->off) != 0;
		break;
	case CFG_BOOL:
		force = *(const bool *)((const char *)c + d->off) !=
			*(const bool *)((const char *)def + d->off);
		break;
	case CFG_ENUM:
		force = d->off != 0 && *(const int *)((const char *)c + d->off) !=
					       *(const int *)((const char *)def + d->off);
		break;
	default:
		force = *(const long long *)((const char *)c + d->off) !=
			*(const long long *)((const char *)def + d->off);
		break;
	}
	snprintf(line, sizeof(line), "%s %s", d->name, v);
	fn(arg, id, line, force);
}

void config_rewrite(const struct config *c, const struct config *def, config_rewrite_fn fn,
		    void *arg)
{
	size_t i;

	for (i = 0; i < NDEFS; i++)
		if (!(defs[i].flags & CFG_ALIAS))
			rewrite_one(c, def, (int)i, fn, arg);
}

void config_each_name(void (*fn)(void *arg, const char *name, const char *help), void *arg)
{
	size_t i;
	for (i = 0; i < NDEFS; i++)
		fn(arg, defs[i].name, defs[i].help);
}
