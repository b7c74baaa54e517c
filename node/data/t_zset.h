/* t_zset.h: the sorted set type: members ordered by score, then by bytes.
 *
 * Two encodings, named for OBJECT ENCODING as Redis 7 names them:
 *  - ZSET_LP ("listpack"): a bare listpack of member, score, member,
 *    score... in order (listpack.h, Redis's byte format: a score that is an
 *    integer of at most 2^62 is stored as one, any other as "%.17g" text),
 *    while the set has at most zset-max-listpack-entries members and none
 *    longer than zset-max-listpack-value. Lookups walk it.
 *  - ZSET_BIG ("skiplist", Redis's name for its own big encoding): a
 *    zbtree (zbtree.h), an order-statistic B+tree with a member index, so
 *    a score or a rank costs O(1) or O(log n).
 * A set becomes big when an addition would pass a limit (Redis's
 * zsetAdd: a new member only), and goes back only where Redis 7.0 converts
 * back: a ZUNIONSTORE, ZINTERSTORE or ZDIFFSTORE result small enough
 * (zset_fit_listpack). The entry records the encoding (KV_OBJ + enum
 * zset_enc); a write that may move the listpack or change the encoding
 * updates the entry itself (kv_set_obj).
 *
 * Ranks are 0-based, from the lowest score. A set is never empty: the
 * command that takes its last member deletes the key. Everything is
 * allocated from the mem account a call is given, the keyspace's. */
#ifndef CAIRN_T_ZSET_H
#define CAIRN_T_ZSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/object.h"
#include "data/zbtree.h"

struct kv;
struct mem;

enum zset_enc { ZSET_LP = 0, ZSET_BIG = 1 };

/* zset-max-listpack-entries and -value, and the seed of the member index's
 * hashes (the keyspace's). */
struct zset_limits {
	uint64_t max_lp_entries;
	uint64_t max_lp_value;
	uint64_t seed;
};

extern const struct kv_type_ops zset_type;

/* A new empty set in the encoding Redis's zaddGenericCommand would create
 * for a first member of first_len bytes. Sets *enc. */
void *zset_new(struct mem *mem, const struct zset_limits *lim, size_t first_len, unsigned *enc);
/* A new empty listpack set (Redis's createZsetListpackObject). */
void *zset_new_lp(struct mem *mem);
/* A new empty big set (struct zbtree): the accumulator of a set built from
 * others, staged and committed there, then stored with ZSET_BIG. */
struct zbtree *zset_big_new(struct mem *mem, uint64_t seed);
void zset_big_free(struct mem *mem, struct zbtree *t);

uint64_t zset_len(const struct kv *e);
/* The score of member m; false if it is not a member. */
bool zset_score(struct kv *e, const char *m, size_t len, double *score);
/* The rank of member m (and its score), or -1. */
long long zset_rank(struct kv *e, const char *m, size_t len, double *score);

/* ZADD's flags, in and out (Redis's zsetAdd). */
#define ZADD_IN_INCR (1 << 0)
#define ZADD_IN_NX (1 << 1)
#define ZADD_IN_XX (1 << 2)
#define ZADD_IN_GT (1 << 3)
#define ZADD_IN_LT (1 << 4)
#define ZADD_OUT_NOP (1 << 0)
#define ZADD_OUT_ADDED (1 << 1)
#define ZADD_OUT_UPDATED (1 << 2)
/* Adds member m or updates its score as Redis's zsetAdd, converting the
 * set to ZSET_BIG first when a new member passes a limit. Returns false
 * (and changes nothing) when the score, or the incremented score, is NaN;
 * else sets *out and, unless NULL, *newscore. */
bool zset_add(struct mem *mem, struct kv *e, const struct zset_limits *lim, double score,
	      const char *m, size_t len, int in, int *out, double *newscore);
/* Removes member m; true if it was there. */
bool zset_del(struct mem *mem, struct kv *e, const char *m, size_t len);
/* Removes the members of ranks start..end (in range, start <= end). */
void zset_del_ranks(struct mem *mem, struct kv *e, uint64_t start, uint64_t end);

/* One member as read: its bytes (in buf when the listpack holds it as an
 * integer) and its score. Valid until the set is next written. */
struct zset_item {
	const char *p;
	size_t len;
	double score;
	char buf[24];
};

/* A position in the order, walked either way. */
struct zset_it {
	struct kv *e;
	unsigned char *lp, *p; /* ZSET_LP: the member's element, NULL at an end */
	struct zbt_pos pos;    /* ZSET_BIG */
};
/* The position of rank (past the end when rank >= len). */
void zset_seek(struct kv *e, uint64_t rank, struct zset_it *it);
bool zset_it_valid(const struct zset_it *it);
void zset_it_next(struct zset_it *it);
void zset_it_prev(struct zset_it *it);
void zset_it_get(const struct zset_it *it, struct zset_item *out);
/* The score alone, and the member alone (cheaper when the other is not
 * needed). */
double zset_it_score(const struct zset_it *it);
const char *zset_it_member(const struct zset_it *it, char *buf, size_t *len);

/* Score ranges (Redis's zrangespec) and lex ranges (zlexrangespec: a bound
 * is -, + or a string, inclusive or not). */
struct zset_range {
	double min, max;
	bool minex, maxex;
};
enum zset_lex_kind { ZLEX_MIN_INF, ZLEX_STR, ZLEX_MAX_INF };
struct zset_lex_bound {
	enum zset_lex_kind kind;
	const char *p;
	size_t len;
	bool ex;
};
struct zset_lex {
	struct zset_lex_bound min, max;
};
bool zset_gte_min(double score, const struct zset_range *r);
bool zset_lte_max(double score, const struct zset_range *r);
bool zset_lex_gte_min(const char *m, size_t len, const struct zset_lex *r);
bool zset_lex_lte_max(const char *m, size_t len, const struct zset_lex *r);
/* The rank of the first (last) member in the range, or -1 when none is:
 * Redis's zzl/zslFirstInRange and LastInRange, and the Lex ones. */
long long zset_first_in_range(struct kv *e, const struct zset_range *r);
long long zset_last_in_range(struct kv *e, const struct zset_range *r);
long long zset_first_in_lex(struct kv *e, const struct zset_lex *r);
long long zset_last_in_lex(struct kv *e, const struct zset_lex *r);

/* Makes the set ZSET_BIG if it is a listpack, whatever its size: Redis 7.0's
 * SORT converts a sorted set so (zsetConvert to a skiplist) before reading
 * it, which OBJECT ENCODING shows after. */
void zset_to_big(struct mem *mem, struct kv *e, const struct zset_limits *lim);

/* Redis's zsetConvertToListpackIfNeeded for a result (ZSET_BIG): back to
 * a listpack when it has at most max_lp_entries members, none longer than
 * maxlen bytes (its longest), and totlen bytes of members fit one. */
void zset_fit_listpack(struct mem *mem, struct kv *e, const struct zset_limits *lim, size_t maxlen,
		       size_t totlen);

/* One ZSCAN step from cursor: fn on every member of the step with its
 * score as Redis's ZSCAN writes it (a listpack's stored text; "%.17g" for
 * a big set), and the next cursor (0 when done). A listpack is done in one
 * step. */
typedef void (*zset_scan_fn)(void *arg, const char *m, size_t mlen, const char *s, size_t slen);
uint64_t zset_scan(struct kv *e, uint64_t cursor, zset_scan_fn fn, void *arg);

#endif
