/* config.h: the node's configuration directives.
 *
 * One table describes every directive: its name (Redis's, where Redis has
 * one), type, bounds, default and whether CONFIG SET may change it. The same
 * code applies a directive from the command line, from a redis.conf-style
 * file and from CONFIG SET, so all three agree. Each shard holds its own copy
 * of `struct config`; nothing here is shared or global. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

/* Longest string directive value (requirepass, logfile, ...). */
#define CONFIG_STR_MAX 512
/* Words of one directive's value at most (bind, client-output-buffer-limit,
 * latency-tracking-info-percentiles). */
#define CONFIG_WORDS_MAX 48

enum config_io { CONFIG_IO_AUTO = 0, CONFIG_IO_URING, CONFIG_IO_EPOLL };

/* maxmemory-policy: Redis's eight, in Redis's order (CONFIG SET's error
 * lists them so), then cairn's SIEVE pair. allkeys-sieve is the default:
 * it is what a cache wants whenever maxmemory is set. */
enum config_policy {
	POLICY_VOLATILE_LRU = 0,
	POLICY_VOLATILE_LFU,
	POLICY_VOLATILE_RANDOM,
	POLICY_VOLATILE_TTL,
	POLICY_ALLKEYS_LRU,
	POLICY_ALLKEYS_LFU,
	POLICY_ALLKEYS_RANDOM,
	POLICY_NOEVICTION,
	POLICY_ALLKEYS_SIEVE,
	POLICY_VOLATILE_SIEVE,
	POLICY_COUNT
};

struct config {
	long long port;
	char bind[CONFIG_STR_MAX];
	char requirepass[CONFIG_STR_MAX];
	/* What a node sends its peers' client ports to authenticate (Redis's
	 * names; an atomic slot migration's link, as Valkey's primaryauth). */
	char masterauth[CONFIG_STR_MAX];
	char masteruser[CONFIG_STR_MAX];
	long long maxclients;
	long long proto_max_bulk_len;
	long long client_query_buffer_limit;
	long long client_output_backpressure;
	long long slowlog_log_slower_than; /* microseconds; negative: off */
	long long slowlog_max_len;
	bool latency_tracking;
	/* latency-tracking-info-percentiles: INFO latencystats' columns. */
	double latency_percentiles[CONFIG_WORDS_MAX];
	int latency_npercentiles;
	unsigned notify_flags;               /* notify-keyspace-events: CONFIG_NOTIFY_* */
	long long latency_monitor_threshold; /* ms; 0: the latency monitor is off */
	long long tracking_table_max_keys;   /* CLIENT TRACKING's keys; 0: no bound */
	long long timeout;
	int loglevel; /* enum io_log_level */
	char logfile[CONFIG_STR_MAX];
	char pidfile[CONFIG_STR_MAX];
	char dir[CONFIG_STR_MAX];
	long long hz;
	long long databases;
	long long maxmemory;
	int maxmemory_policy; /* enum config_policy */
	long long maxmemory_samples;
	long long maxmemory_eviction_tenacity;
	long long lfu_log_factor;
	long long lfu_decay_time;
	bool lazyfree_lazy_eviction;
	long long tcp_backlog;
	long long tcp_keepalive;
	bool lazyfree_lazy_user_flush;
	bool lazyfree_lazy_user_del;
	bool protected_mode;
	bool active_expire; /* DEBUG SET-ACTIVE-EXPIRE */
	/* Redis's cluster directives. cluster-enabled, cluster-port and
	 * cluster-config-file are immutable at run time. */
	bool cluster_enabled;
	long long cluster_port; /* 0: port + CONFIG_CLUSTER_PORT_INCR */
	char cluster_config_file[CONFIG_STR_MAX];
	long long cluster_node_timeout; /* ms */
	char cluster_announce_ip[CONFIG_STR_MAX];
	long long cluster_announce_port, cluster_announce_bus_port; /* 0: the real ones */
	bool cluster_require_full_coverage;
	bool cluster_allow_reads_when_down;
	bool cluster_allow_pubsubshard_when_down;
	long long cluster_link_sendbuf_limit; /* bytes; 0: no limit */
	/* client-output-buffer-limit, per class: hard, soft, soft seconds. */
	long long obuf_limit[3][3];
	/* The compact encodings' bounds (hash-max-listpack-entries, ...). */
	long long hash_max_listpack_entries;
	long long hash_max_listpack_value;
	long long zset_max_listpack_entries;
	long long zset_max_listpack_value;
	long long hll_sparse_max_bytes;
	long long set_max_intset_entries;
	long long set_max_listpack_entries;
	long long set_max_listpack_value;
	long long list_max_listpack_size;
	long long list_compress_depth;
	/* cairn's own. */
	int io;           /* enum config_io */
	long long shards; /* 0: one per online CPU */
	long long bigbulk_reserve_max;
	char config_file[CONFIG_STR_MAX]; /* not a directive: where it came from */
};

/* notify-keyspace-events' classes, with Redis's bit values. */
enum config_notify {
	CONFIG_NOTIFY_KEYSPACE = 1u << 0,  /* K */
	CONFIG_NOTIFY_KEYEVENT = 1u << 1,  /* E */
	CONFIG_NOTIFY_GENERIC = 1u << 2,   /* g */
	CONFIG_NOTIFY_STRING = 1u << 3,    /* $ */
	CONFIG_NOTIFY_LIST = 1u << 4,      /* l */
	CONFIG_NOTIFY_SET = 1u << 5,       /* s */
	CONFIG_NOTIFY_HASH = 1u << 6,      /* h */
	CONFIG_NOTIFY_ZSET = 1u << 7,      /* z */
	CONFIG_NOTIFY_EXPIRED = 1u << 8,   /* x */
	CONFIG_NOTIFY_EVICTED = 1u << 9,   /* e */
	CONFIG_NOTIFY_STREAM = 1u << 10,   /* t */
	CONFIG_NOTIFY_KEY_MISS = 1u << 11, /* m */
	CONFIG_NOTIFY_LOADED = 1u << 12,
	CONFIG_NOTIFY_MODULE = 1u << 13, /* d */
	CONFIG_NOTIFY_NEW = 1u << 14,    /* n */
	/* A: every class but m and n */
	CONFIG_NOTIFY_ALL = CONFIG_NOTIFY_GENERIC | CONFIG_NOTIFY_STRING | CONFIG_NOTIFY_LIST |
			    CONFIG_NOTIFY_SET | CONFIG_NOTIFY_HASH | CONFIG_NOTIFY_ZSET |
			    CONFIG_NOTIFY_EXPIRED | CONFIG_NOTIFY_EVICTED | CONFIG_NOTIFY_STREAM |
			    CONFIG_NOTIFY_MODULE,
};

enum config_obuf_class { CONFIG_OBUF_NORMAL = 0, CONFIG_OBUF_REPLICA, CONFIG_OBUF_PUBSUB };

/* Fills every directive with its default. */
void config_defaults(struct config *c);

/* Applies one directive with its arguments (argv[0] is the name). `runtime`
 * is true for CONFIG SET, which refuses immutable directives. On error,
 * returns -1 with Redis's reason text in err (e.g. "argument must be between
 * 1 and 500 inclusive"); on an unknown name or wrong count, returns -2. */
int config_apply(struct config *c, int argc, const char *const *argv, const size_t *lens,
		 bool runtime, char *err, size_t errlen);

/* Calls fn for every directive whose name matches the glob pattern, with its
 * value formatted as CONFIG GET shows it. */
typedef void (*config_get_fn)(void *arg, const char *name, const char *value, size_t vlen);
void config_get(const struct config *c, const char *pat, size_t plen, config_get_fn fn, void *arg);
/* Whether name (exact, case-insensitive) is a directive. */
bool config_exists(const char *name, size_t len);
/* Whether name is a directive that CONFIG SET may change. */
bool config_mutable(const char *name, size_t len);

/* CONFIG REWRITE. A directive's id: the same for its old names
 * (hash-max-ziplist-entries is hash-max-listpack-entries), or -1 for an
 * unknown name. */
int config_id(const char *name, size_t len);
/* Calls fn for every directive (each once, under its current name, in the
 * table's order) with its line(s) as Redis's rewriteConfig writes them
 * ("maxmemory 100mb", "requirepass \"quoted\"", one line per class of
 * client-output-buffer-limit) and whether to write it even when the file
 * does not have it: when it differs from def (the defaults), or always,
 * as Redis writes save and latency-tracking-info-percentiles. A NULL line
 * means the directive is at a default that Redis leaves out of the file
 * altogether (bind): its lines there are dropped. */
typedef void (*config_rewrite_fn)(void *arg, int id, const char *line, bool force);
void config_rewrite(const struct config *c, const struct config *def, config_rewrite_fn fn,
		    void *arg);

/* Names, for --help. */
/* Names config_each_name() may give, at most (config.c checks it). */
#define CONFIG_NAMES_MAX 128
void config_each_name(void (*fn)(void *arg, const char *name, const char *help), void *arg);

/* The cluster bus port: cluster-port, or as Redis, the client port plus
 * this when cluster-port is 0. */
#define CONFIG_CLUSTER_PORT_INCR 10000
static inline long long config_cluster_port(const struct config *c)
{
	return c->cluster_port != 0 ? c->cluster_port : c->port + CONFIG_CLUSTER_PORT_INCR;
}

/* Effective output-buffer hard limit of a normal client (checked after
 * every command, so inline). */
static inline long long config_obuf_hard(const struct config *c)
{
	long long h = c->obuf_limit[CONFIG_OBUF_NORMAL][0];
	return h > 0 ? h : OBUF_LIMIT_DEFAULT;
}

#endif
