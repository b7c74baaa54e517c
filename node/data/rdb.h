/* rdb.h: a value in Redis's RDB object format, both ways: DUMP's payload
 * and RESTORE's decoding (Redis 7.0's rdb.c, cluster.c's createDumpPayload
 * and verifyDumpPayload), and the serialized length DEBUG OBJECT reports.
 *
 * A payload is the RDB type byte, the value as rdbSaveObject writes it,
 * the RDB version (2 bytes, little endian: RDB_VERSION, Redis 7.0's) and a
 * CRC64 (base/crc64.h, 8 bytes little endian) of everything before it.
 *
 * Saving writes what Redis 7.0 writes for the same value: a string as an
 * integer when it is one of at most 11 characters in canonical form that
 * fits 32 bits, else LZF-compressed (liblzf's blocks, lzf_compress_lib)
 * when longer than 20 bytes and that saves 4 bytes, else its length and
 * bytes; a list as LIST_QUICKLIST_2 (a list cairn keeps as one listpack,
 * as Redis 7.2 does, is saved as the nodes Redis 7.0 would hold after
 * pushing its elements one by one, compressed as its list-compress-depth
 * says; a node cairn keeps compressed is saved as Redis's node of the
 * same bytes); a set
 * as SET_INTSET (the intset's bytes) or SET (its members: cairn's listpack
 * set, which Redis 7.0 lacks, too); a sorted set as ZSET_LISTPACK or
 * ZSET_2 (members from the highest score down, binary doubles); a hash as
 * HASH_LISTPACK or HASH.
 *
 * Loading accepts every type Redis 7.0's RESTORE accepts for the types
 * cairn has: STRING, LIST (1), SET, ZSET (3, text scores), HASH, ZSET_2,
 * LIST_ZIPLIST (10), SET_INTSET, ZSET_ZIPLIST (12), HASH_ZIPLIST (13),
 * LIST_QUICKLIST (14), HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 and
 * 7.2's SET_LISTPACK (20). It treats the payload as hostile: every length
 * is bounds-checked, every listpack, ziplist and intset is validated
 * deeply (Redis 7.0 checks only their headers by default), a set member,
 * hash field or sorted set member twice, an empty value, a NaN score or a
 * byte left over before the footer is refused. The value is rebuilt in
 * cairn's own encodings with cairn's thresholds (struct rdb_limits) through
 * each type's own writes, so it holds every invariant ks_check checks:
 * a hash, set or sorted set is built member by member; a list keeps the
 * payload's nodes that fit its node limit (so a DUMP of it gives the same
 * bytes back) and pushes the elements of the others.
 *
 * Memory: a loaded object is allocated from the account given (the
 * keyspace's, which takes it); scratch space too, given back before the
 * call returns. */
#ifndef CAIRN_RDB_H
#define CAIRN_RDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kv.h"
#include "data/t_hash.h"
#include "data/t_list.h"
#include "data/t_set.h"
#include "data/t_zset.h"

struct lzf_lib_table;
struct mem;

/* The RDB version Redis 7.0 writes, and the most RESTORE accepts. */
#define RDB_VERSION 10
/* The footer: the version (2 bytes) and the CRC64 (8). */
#define RDB_FOOTER_BYTES 10
/* The longest string a payload may hold (proto-max-bulk-len's default:
 * no longer string can reach a node). */
#define RDB_STRING_MAX (512ULL * 1024 * 1024)
/* An LZF block grows at most this many times when decompressed (one
 * 3-byte back reference makes 264 bytes): a block that claims more is
 * refused before anything is allocated. */
#define RDB_LZF_EXPAND_MAX 88

/* RDB object types (rdb.h's RDB_TYPE_*). */
enum rdb_type {
	RDB_TYPE_STRING = 0,
	RDB_TYPE_LIST = 1,
	RDB_TYPE_SET = 2,
	RDB_TYPE_ZSET = 3,
	RDB_TYPE_HASH = 4,
	RDB_TYPE_ZSET_2 = 5,
	RDB_TYPE_HASH_ZIPMAP = 9,
	RDB_TYPE_LIST_ZIPLIST = 10,
	RDB_TYPE_SET_INTSET = 11,
	RDB_TYPE_ZSET_ZIPLIST = 12,
	RDB_TYPE_HASH_ZIPLIST = 13,
	RDB_TYPE_LIST_QUICKLIST = 14,
	RDB_TYPE_HASH_LISTPACK = 16,
	RDB_TYPE_ZSET_LISTPACK = 17,
	RDB_TYPE_LIST_QUICKLIST_2 = 18,
	RDB_TYPE_SET_LISTPACK = 20,
};

/* ---- saving ---- */

/* Where saved bytes go: a buffer grown from mem, or nowhere (count_only:
 * only len counts them, for DEBUG OBJECT). Scratch space (LZF's output and
 * table) comes from mem too; rdb_out_free gives everything back. */
struct rdb_out {
	struct mem *mem;
	struct lzf_lib_table *table; /* liblzf's, allocated at the first need */
	char *buf;
	size_t len, cap;
	bool count_only;
	/* list-max-listpack-size and list-compress-depth, to save a list
	 * cairn keeps as one listpack as Redis 7.0's quicklist of it. */
	int list_fill, list_compress;
};
/* list-max-listpack-size's default, which rdb_out_init sets. */
#define RDB_LIST_FILL_DEFAULT (-2)
void rdb_out_init(struct rdb_out *o, struct mem *mem, bool count_only);
void rdb_out_free(struct rdb_out *o);

/* The bytes of a length (rdbSaveLen): 1, 2, 5 or 9. */
unsigned rdb_len_bytes(uint64_t n);
/* A string (rdbSaveRawString). */
void rdb_save_string(struct rdb_out *o, const char *p, size_t len);
/* e's value, without its type byte (rdbSaveObject). */
void rdb_save_value(struct rdb_out *o, const struct kv *e);
/* DUMP: e's payload (type, value, footer) in o->buf[0, o->len); o must not
 * be count_only. */
void rdb_dump(struct rdb_out *o, const struct kv *e);

/* ---- loading ---- */

/* verifyDumpPayload: at least the footer, a version no newer than
 * RDB_VERSION, and the CRC. */
bool rdb_payload_ok(const char *p, size_t len);

/* The thresholds a loaded value is built with (the node's directives). */
struct rdb_limits {
	struct hash_limits hash;
	struct set_limits set;
	struct zset_limits zset;
	struct list_limits list;
};

/* A loaded value: a string (p, len: into the payload, or into owned when
 * it had to be built), or an object of type in its encoding enc. */
struct rdb_value {
	enum kv_type type;
	unsigned enc;
	void *obj;
	const char *p;
	size_t len;
	char *owned;
	char ibuf[24]; /* an integer-encoded string's text */
};

/* Decodes the payload p[0, len) (rdb_payload_ok passed) into *v: true, or
 * false for anything Redis or cairn refuses ("Bad data format"), with
 * nothing left allocated. */
bool rdb_load(struct mem *mem, const struct rdb_limits *lim, const char *p, size_t len,
	      struct rdb_value *v);
/* Frees what v holds: its object (when the keyspace did not take it) and
 * its owned bytes. */
void rdb_value_free(struct mem *mem, struct rdb_value *v);

#endif
