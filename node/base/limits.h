/* limits.h: every named limit of the node, in one place.
 *
 * Protocol limits match Redis 7 (networking.c, server.h) unless a comment says
 * otherwise. Sizes are bytes. Static assertions tie the constants together so
 * that changing one cannot silently break an assumption made by another. */
#ifndef CAIRN_LIMITS_H
#define CAIRN_LIMITS_H

#include <limits.h>
#include <stdint.h>

/* An unterminated inline line, multibulk count line or bulk header may grow to
 * this size before it is a protocol error (Redis PROTO_INLINE_MAX_SIZE). */
#define PROTO_INLINE_MAX 65536
/* A multibulk count above this is "invalid multibulk length". */
#define PROTO_ARGC_MAX INT_MAX
/* Counts and lengths are at most this many characters (Redis LONG_STR_SIZE-1). */
#define PROTO_NUM_CHARS_MAX 20
/* A bulk of at least this size takes the bigbulk path (Redis PROTO_MBULK_BIG_ARG). */
#define PROTO_BIGBULK_MIN 32768
/* Before authentication: at most this many arguments, and bulks of at most
 * this size, and a query buffer of at most PROTO_UNAUTH_QBUF_MAX. */
#define PROTO_UNAUTH_ARGC_MAX 10
#define PROTO_UNAUTH_BULK_MAX 16384
#define PROTO_UNAUTH_QBUF_MAX (1024 * 1024)
/* Defaults of the configurable limits. */
#define PROTO_BULK_MAX_DEFAULT (512LL * 1024 * 1024)
#define PROTO_BULK_MAX_MIN (1024LL * 1024)
/* proto-max-bulk-len is capped so that value lengths fit 32 bits. */
#define PROTO_BULK_MAX_MAX (4LL * 1024 * 1024 * 1024 - 16)
#define QUERY_BUF_LIMIT_DEFAULT (1024LL * 1024 * 1024)
#define QUERY_BUF_LIMIT_MIN (1024LL * 1024)

/* Outstanding bigbulk reservations (exactly-sized buffers not yet filled) of
 * one shard. Past this, a big body grows with the bytes that really arrive. */
#define BIGBULK_RESERVE_MAX_DEFAULT (64LL * 1024 * 1024)
/* A body that cannot reserve starts with this much and doubles. */
#define BIGBULK_GROW_START (64 * 1024)

/* Connections. */
#define CONN_MAX_DEFAULT 10000
#define CONN_MAX_MAX 100000
/* Arguments parsed per command start with this much room and double. */
#define CONN_ARGV_START 16
/* Backpressure: a connection stops reading once its unsent output passes
 * client-output-backpressure, or once this many of its requests wait for
 * another shard's reply (each holds a message with its arguments); it reads
 * again when both are back under half. A client that writes its whole
 * pipeline before reading any reply must fit under this bound (plus what
 * the kernel's socket buffers take), or it waits on itself. */
#define CLIENT_BACKPRESSURE_DEFAULT (8LL * 1024 * 1024)
#define CLIENT_BACKPRESSURE_HOLDS 1024

/* SLOWLOG's defaults, Redis's. */
#define SLOWLOG_SLOWER_THAN_DEFAULT 10000
#define SLOWLOG_MAX_LEN_DEFAULT 128
/* The unparsed tail of a connection starts at this capacity. */
#define CONN_QBUF_START 1024

/* Output: replies are appended to chunks of this size; a value of at least
 * VAL_REF_MIN bytes is referenced, not copied. At most OBUF_IOV_MAX pieces go
 * into one writev. */
#define OBUF_CHUNK_SIZE 16384
/* A data chunk that follows a placeholder or a referenced value starts this
 * small: in a pipeline whose replies alternate between this shard and
 * others, a full-size chunk after every placeholder held 16 KB per reply. */
#define OBUF_CHUNK_AFTER_HOLD 512
#define OBUF_IOV_MAX 64
#define VAL_REF_MIN 4096
/* Default output-buffer limit of a normal client (Redis has none by default;
 * every limit here is finite). 0 in the config means this default. */
#define OBUF_LIMIT_DEFAULT (1024LL * 1024 * 1024)

/* Slots of each cross-shard ring (a power of two); a full ring spills to an
 * ordered backlog. */
#define XSHARD_RING_DEFAULT 1024

/* Provided receive buffers per shard. */
#define IO_BUF_SIZE 16384
#define IO_BUF_COUNT 256
/* Completions reaped per step. */
#define IO_REAP_MAX 256
/* Bits of user_data the core may use; the backends keep the rest. */
#define IO_USER_DATA_BITS 56

/* Keyspace. */
#define DICT_SIZE_MIN 4
/* Buckets visited per incremental rehash step, and empty buckets skipped. */
#define DICT_REHASH_STEP 1
#define DICT_REHASH_EMPTY_VISITS 10
/* Active expiry, as Redis's slow cycle: keys sampled per loop, and the share
 * of stale keys in a loop above which the cycle goes on. (Redis bounds a
 * cycle by time; cairn bounds it by keys examined, SHARD_CRON_EXPIRE_KEYS,
 * so that the simulator replays it exactly.) */
#define EXPIRE_SAMPLE_PER_LOOP 20
#define EXPIRE_STALE_PERCENT 10
/* Timer frequency (Redis hz). */
#define HZ_DEFAULT 10
#define HZ_MIN 1
#define HZ_MAX 500

/* The compact encodings of the value types, as Redis's defaults. */
#define HASH_MAX_LISTPACK_ENTRIES_DEFAULT 512
#define HASH_MAX_LISTPACK_VALUE_DEFAULT 64
#define ZSET_MAX_LISTPACK_ENTRIES_DEFAULT 128
#define ZSET_MAX_LISTPACK_VALUE_DEFAULT 64
/* list-max-listpack-size: a node (and a list kept as one listpack) of at
 * most 8 KB (-2; -1..-5 are 4..64 KB, a positive value counts elements);
 * list-compress-depth: nodes at each end kept raw, the rest compressed (0:
 * none). Redis's defaults. */
#define LIST_MAX_LISTPACK_SIZE_DEFAULT (-2)
#define LIST_COMPRESS_DEPTH_DEFAULT 0
/* hll-sparse-max-bytes: a sparse HyperLogLog grows to this, then turns
 * dense (Redis's default). */
#define HLL_SPARSE_MAX_BYTES_DEFAULT 3000
/* UNLINK (and DEL with lazyfree-lazy-user-del) frees a value in the
 * background when freeing it takes more than this many allocations
 * (Redis's LAZYFREE_THRESHOLD); a smaller one is freed at once, since
 * queueing it would cost about as much. */
#define LAZYFREE_EFFORT_THRESHOLD 64
/* A set's (Redis 7.2's set-max-intset-entries, set-max-listpack-entries and
 * -value; Redis 7.0 has only the first). */
#define SET_MAX_INTSET_ENTRIES_DEFAULT 512
#define SET_MAX_LISTPACK_ENTRIES_DEFAULT 128
#define SET_MAX_LISTPACK_VALUE_DEFAULT 64
/* An intset holds at most this many members whatever set-max-intset-entries
 * says (Redis's intsetMaxEntries: 1G, for the 32-bit count). */
#define SET_INTSET_ENTRIES_CAP (1LL << 30)
/* A listpack never grows past this (Redis's LISTPACK_MAX_SAFETY_SIZE): a
 * write that would is made on the type's scalable encoding instead. */
#define LISTPACK_SAFE_MAX (1LL << 30)

/* Misc. */
#define LOG_LINE_MAX 1024
#define SCAN_COUNT_MAX 100000
#define LONG_DOUBLE_CHARS_MAX 5120

_Static_assert(PROTO_UNAUTH_BULK_MAX < PROTO_BIGBULK_MIN,
	       "an unauthenticated bulk must never take the bigbulk path");
_Static_assert(VAL_REF_MIN <= PROTO_BIGBULK_MIN,
	       "a bigbulk value must always be stored as a refcounted buffer");
_Static_assert(IO_BUF_SIZE >= 4096 && IO_BUF_COUNT <= 32768, "provided buffer ring size");
_Static_assert((IO_BUF_COUNT & (IO_BUF_COUNT - 1)) == 0, "buffer ring is a power of two");
_Static_assert(OBUF_CHUNK_SIZE >= 512, "a chunk holds any small reply header");
_Static_assert(PROTO_BULK_MAX_DEFAULT <= PROTO_BULK_MAX_MAX, "bulk default within range");
_Static_assert(PROTO_BULK_MAX_MAX < UINT32_MAX, "value lengths fit 32 bits");

#endif
