/* t_hash.h: the hash type: fields and their values.
 *
 * Two encodings, as Redis 7 keeps them and names them for OBJECT ENCODING:
 *  - HASH_LP ("listpack"): a bare listpack of field, value, field, value...
 *    (listpack.h, Redis's byte format), while the hash has at most
 *    hash-max-listpack-entries fields and no field or value is longer than
 *    hash-max-listpack-value bytes. Lookups walk it; a small hash costs one
 *    allocation.
 *  - HASH_HT ("hashtable"): a dict (dict.h) whose entries are struct kv
 *    (kv.h) with the field as key and the value stored as a string is
 *    (t_string.h: an integer, inline bytes, or a refcounted buffer that
 *    replies send by reference).
 * A hash turns into a table when a write would pass either limit, and never
 * back, as in Redis. The entry (kv.h) records the encoding (KV_OBJ +
 * enum hash_enc); every write that may move the object or change its
 * encoding updates the entry itself (kv_set_obj).
 *
 * Memory: everything is allocated from the mem account a call is given,
 * the keyspace's. A hash is never empty: the command that deletes its last
 * field deletes the key. */
#ifndef CAIRN_T_HASH_H
#define CAIRN_T_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/object.h"

struct kv;
struct mem;
struct val;

enum hash_enc { HASH_LP = 0, HASH_HT = 1 };

/* The directives that bound the compact encoding (hash-max-listpack-*),
 * and the seed the table's field hashes take (the keyspace's). */
struct hash_limits {
	uint64_t max_lp_entries;
	uint64_t max_lp_value;
	uint64_t seed;
};

/* The type's row of the table of types (object.h). */
extern const struct kv_type_ops hash_type;

/* A new empty hash, in the compact encoding (HASH_LP). */
void *hash_new(struct mem *mem);

/* A field's value, as read: bytes (p, len) or an integer (is_int, ival).
 * For a value in a refcounted buffer, ref is set too (a reply may keep a
 * reference). Valid until the hash is next written. */
struct hash_val {
	const char *p;
	size_t len;
	bool is_int;
	long long ival;
	struct val *ref;
};

/* Finds field f of the hash at entry e. */
bool hash_get(const struct kv *e, const char *f, size_t flen, struct hash_val *out);
/* The value's length in bytes (formatted length for an integer). */
size_t hash_val_len(const struct hash_val *v);
/* The value's bytes: an integer is formatted into buf (UTIL_LL_CHARS). */
const char *hash_val_text(const struct hash_val *v, char *buf, size_t *len);

/* Whether setting fields and values of these lengths would need the table:
 * Redis's hashTypeTryConversion, checked before a write. */
bool hash_needs_table(const struct hash_limits *lim, size_t flen, size_t vlen);
/* Turns the hash at e into a table (no-op if it is one). */
void hash_to_table(struct mem *mem, struct kv *e, const struct hash_limits *lim);
/* Sets field f to value v (big, if not NULL, holds the same bytes and is
 * kept by reference). Returns true if the field is new. Converts to a table
 * when a limit is passed. */
bool hash_set(struct mem *mem, struct kv *e, const struct hash_limits *lim, const char *f,
	      size_t flen, const char *v, size_t vlen, struct val *big);
/* Deletes field f; returns true if it was there. */
bool hash_del(struct mem *mem, struct kv *e, const char *f, size_t flen);
/* Number of fields. */
uint64_t hash_len(const struct kv *e);

/* Calls fn for every field, in the hash's order (a listpack's, or the
 * table's). fn must not write the hash. */
typedef void (*hash_each_fn)(void *arg, const char *f, size_t flen, const struct hash_val *v);
void hash_each(const struct kv *e, hash_each_fn fn, void *arg);
/* One HSCAN step from cursor: calls fn for every field of the step and
 * returns the next cursor (0 when done). A listpack is done in one step. */
uint64_t hash_scan(struct kv *e, uint64_t cursor, hash_each_fn fn, void *arg);
/* HRANDFIELD's sampling: the position of a random field (rnd is a random
 * source), an opaque pointer that tells fields apart and stays valid until
 * the hash is next written; and the field at such a position. */
const void *hash_random(const struct kv *e, uint64_t (*rnd)(void *), void *rarg);
void hash_read(const struct kv *e, const void *at, hash_each_fn fn, void *arg);

#endif
