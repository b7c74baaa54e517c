/* keyspace.h: one shard's keys, values and TTLs.
 *
 * The keyspace owns its entries (struct kv), the hash table, and a dense TTL
 * index (an array of the entries that have an expire time; each such entry
 * knows its position), which active expiry walks and which makes sampling
 * cheap. All its memory is charged to ks->mem and nothing else is, so
 * ks_check() can verify the account exactly.
 *
 * Time: the caller sets ks->now_ms (wall clock, ms) before each command;
 * the keyspace never reads a clock. A key expires when now_ms > expire, as in
 * Redis.
 *
 * Entry pointers returned by lookups stay valid until the next call that
 * modifies the keyspace; functions that may move an entry return its new
 * address. */
#ifndef CAIRN_KEYSPACE_H
#define CAIRN_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"
#include "data/dict.h"
#include "data/kv.h"

struct stats;
struct val;

/* A string value to store. ks_kval() picks the encoding Redis would pick for
 * a freshly written string (tryObjectEncoding); the other constructors pin
 * one. A kval owns nothing: for a value of VAL_REF_MIN bytes or more, ks_set
 * takes its own reference to v if given, or copies p[0,len) into a new val. */
struct kval {
	uint8_t enc;
	long long i;   /* KV_INT */
	const char *p; /* KV_EMB, KV_RAW */
	size_t len;
	struct val *v; /* KV_REF */
};

/* Redis's tryObjectEncoding on bytes p[0,len): int if canonical and at most
 * 20 chars, embstr up to 44 bytes, raw beyond. If big is not NULL it holds
 * the same bytes and is used (with its reference) instead of copying. */
void ks_kval(struct kval *out, const char *p, size_t len, struct val *big);
/* A string stored as written (no int conversion): embstr up to 44 bytes,
 * else raw. As Redis's createStringObject (INCRBYFLOAT, GETRANGE copies). */
void ks_kval_str(struct kval *out, const char *p, size_t len);
/* Raw, whatever the length (APPEND, SETRANGE results). */
void ks_kval_raw(struct kval *out, const char *p, size_t len);
void ks_kval_int(struct kval *out, long long i);

#define KS_EMBSTR_MAX 44
#define KS_SHARED_INT_MAX 10000

/* Expire argument of ks_set. */
#define KS_TTL_NONE (-1) /* the key has no TTL afterwards */
#define KS_TTL_KEEP (-2) /* an existing key keeps its TTL */

struct ks_lazy;

struct keyspace {
	struct dict d;
	struct kv **ttl; /* entries with a TTL */
	uint32_t ttl_n, ttl_cap;
	uint32_t expire_cursor;
	struct mem mem;
	struct stats *st;
	uint64_t seed;
	int64_t now_ms;
	uint64_t dirty; /* changes, for rdb_changes_since_last_save */
	uint64_t (*rnd)(void *arg);
	void *rnd_arg;
	struct ks_lazy *lazy; /* entries being freed in the background */
	uint64_t lazy_pending;
};

void ks_init(struct keyspace *ks, struct stats *st, uint64_t seed, uint64_t (*rnd)(void *),
	     void *rnd_arg);
void ks_free(struct keyspace *ks);
uint64_t ks_size(const struct keyspace *ks);
uint32_t ks_hash(const struct keyspace *ks, const char *key, size_t klen);

/* Lookup with lazy expiry. _read counts keyspace hits and misses and, with
 * _write, updates the LRU clock; _peek does neither (OBJECT, TTL-like
 * introspection that Redis does with LOOKUP_NOTOUCH). */
struct kv *ks_lookup_read(struct keyspace *ks, const char *key, size_t klen);
struct kv *ks_lookup_write(struct keyspace *ks, const char *key, size_t klen);
struct kv *ks_peek(struct keyspace *ks, const char *key, size_t klen);
/* True when the entry's TTL has passed (it is still there until deleted). */
bool ks_expired(const struct keyspace *ks, const struct kv *e);

/* Creates or replaces key's value. expire_ms is an absolute time, or
 * KS_TTL_NONE or KS_TTL_KEEP. Returns the entry. */
struct kv *ks_set(struct keyspace *ks, const char *key, size_t klen, const struct kval *v,
		  int64_t expire_ms);
/* Deletes key; returns true if it existed (and had not expired). */
bool ks_delete(struct keyspace *ks, const char *key, size_t klen);
/* Deletes an entry found by a lookup. */
void ks_delete_entry(struct keyspace *ks, struct kv *e);

/* The value's bytes: for KV_INT they are formatted into buf (at least
 * UTIL_LL_CHARS bytes). */
const char *ks_value(const struct kv *e, char *buf, size_t *len);
/* Value length in bytes (formatted length for KV_INT). */
size_t ks_value_len(const struct kv *e);
/* Makes the value raw bytes of length newlen, keeping the first
 * min(old, newlen) bytes and zero-filling growth, and returns a pointer to
 * write them. A big value that a reply still references is copied first.
 * The entry may move: *ep is updated. */
char *ks_edit(struct keyspace *ks, struct kv **ep, size_t newlen);

/* TTL. ks_set_expire may move the entry and returns it. */
struct kv *ks_set_expire(struct keyspace *ks, struct kv *e, int64_t when_ms);
struct kv *ks_persist(struct keyspace *ks, struct kv *e);

/* Moves src's entry (in ks) to key dst of dks (the same keyspace, or
 * another shard's), replacing dst. Keeps value and TTL. */
void ks_rename(struct keyspace *ks, struct kv *src, struct keyspace *dks, const char *dst,
	       size_t dlen);
/* Copies e's value and TTL (e may belong to another keyspace) to key dst of
 * ks, replacing it. */
void ks_copy(struct keyspace *ks, const struct kv *e, const char *dst, size_t dlen);

/* Empties the keyspace. async hands the old entries to the background free
 * (ks_lazy_step). */
void ks_flush(struct keyspace *ks, bool async);
/* Frees up to n entries of an async flush; returns true while work remains. */
bool ks_lazy_step(struct keyspace *ks, unsigned n);

/* Active expiry: examines at most max_keys TTL entries from where the last
 * cycle stopped, deleting the expired ones, and goes on while more than
 * EXPIRE_STALE_PERCENT of a batch was stale. Returns keys expired. */
uint64_t ks_expire_cycle(struct keyspace *ks, uint64_t max_keys);
/* Housekeeping from the timer: rehash steps and shrinking. */
void ks_cron(struct keyspace *ks, unsigned rehash_steps);

/* A random number from the keyspace's source (the shard's backend). */
uint64_t ks_random_u64(struct keyspace *ks);
/* A random key that has not expired, or NULL (RANDOMKEY). */
struct kv *ks_random(struct keyspace *ks);
/* Scans one step; see dict_scan. */
uint64_t ks_scan(struct keyspace *ks, uint64_t cursor, dict_scan_fn fn, void *arg);

/* LRU clock in seconds (24 bits), and idle time of an entry in ms. */
uint32_t ks_lru_clock(const struct keyspace *ks);
uint64_t ks_idle_ms(const struct keyspace *ks, const struct kv *e);
/* Bytes charged for this entry (entry, value buffer, TTL slot, bucket). */
size_t ks_entry_mem(const struct keyspace *ks, const struct kv *e);
/* OBJECT ENCODING name and OBJECT REFCOUNT value. */
const char *ks_encoding_name(const struct kv *e);
long long ks_refcount(const struct kv *e);

/* Checks every invariant: chain membership, TTL index both ways, counts and
 * the memory account. Returns 0, or a negative line number of the first
 * failed check (for tests and fuzzers). */
int ks_check(struct keyspace *ks);

#endif
