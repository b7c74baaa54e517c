/* t_set.h: the set type: distinct members, strings or integers.
 *
 * Three encodings, as Redis 7.2 keeps them and names them for OBJECT
 * ENCODING:
 *  - SET_INTSET ("intset"): an intset (intset.h, Redis's bytes), while every
 *    member is an integer (util_str2ll's canonical form) and there are at
 *    most set-max-intset-entries of them (capped at SET_INTSET_ENTRIES_CAP).
 *  - SET_LP ("listpack"): a bare listpack of the members (listpack.h,
 *    Redis's bytes), in insertion order, while there are at most
 *    set-max-listpack-entries, none longer than set-max-listpack-value.
 *    Redis 7.0 has no such encoding: a small set of strings is a hash table
 *    there; 7.2's is kept because it is several times smaller.
 *  - SET_HT ("hashtable"): an htab (htab.h), one compact allocation per
 *    member.
 * The conversions are Redis 7.2's (t_set.c), each at the same threshold and
 * presized alike: an intset becomes a listpack when a string member arrives
 * and the result fits the listpack's limits, else a table; it becomes a
 * table when it passes its entries limit; a listpack becomes a table when a
 * member would pass either limit or the listpack's safe size; a write
 * never converts back. Redis builds new sets along other paths and this
 * does too: SPOP's re-created remainder (set_pop_count), SINTERSTORE's
 * result (set_to_intset_maybe).
 *
 * A set object is held with its encoding in a struct set_ref: the entry's
 * (set_of; a write that may move the object or change its encoding stores
 * it back with set_store), or a set being built (SUNIONSTORE's result).
 * Memory: everything is allocated from the mem account a call is given,
 * the keyspace's (or the shard's for a scratch set). A stored set is never
 * empty: the command that removes its last member deletes the key. */
#ifndef CAIRN_T_SET_H
#define CAIRN_T_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/htab.h"
#include "data/kv.h"
#include "data/object.h"

struct mem;

enum set_enc { SET_INTSET = 0, SET_LP = 1, SET_HT = 2 };

/* The directives that bound the compact encodings, and the seed a table's
 * member hashes take (the keyspace's). */
struct set_limits {
	uint64_t max_intset_entries;
	uint64_t max_lp_entries;
	uint64_t max_lp_value;
	uint64_t seed;
};

/* The type's row of the table of types (object.h). */
extern const struct kv_type_ops set_type;

struct set_ref {
	void *obj;
	unsigned enc; /* enum set_enc */
};

static inline struct set_ref set_of(const struct kv *e)
{
	struct set_ref s = { kv_obj(e), kv_obj_enc(e) };
	return s;
}

static inline void set_store(struct kv *e, const struct set_ref *s)
{
	kv_set_obj(e, s->obj, s->enc);
}

/* A member as read: an integer (is_int, ival) or bytes (p, len), valid
 * until the set it came from next changes. */
struct set_member {
	const char *p;
	size_t len;
	bool is_int;
	long long ival;
};

/* A member given as bytes (an argument). */
static inline struct set_member set_member_str(const char *p, size_t len)
{
	struct set_member m = { p, len, false, 0 };
	return m;
}

/* The member's text: bytes as they are, an integer formatted into buf
 * (UTIL_LL_CHARS). */
const char *set_member_text(const struct set_member *m, char *buf, size_t *len);

/* Redis's setTypeCreate: an empty set for a write whose first member is
 * first and that adds about hint members: an intset if first is an integer
 * and hint is within set-max-intset-entries, else a listpack if hint is
 * within set-max-listpack-entries, else a table sized for hint. */
struct set_ref set_new(struct mem *mem, const struct set_limits *lim,
		       const struct set_member *first, uint64_t hint);
/* An empty set in encoding enc. */
struct set_ref set_new_enc(struct mem *mem, const struct set_limits *lim, unsigned enc);
void set_free(struct mem *mem, struct set_ref *s);

uint64_t set_size(const struct set_ref *s);
bool set_contains(const struct set_ref *s, const struct set_member *m);
/* Adds m (setTypeAddAux); false when it is a member already. Converts as
 * the encodings' limits say. */
bool set_add(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
	     const struct set_member *m);
/* Removes m; false when it is not a member. A table may start shrinking. */
bool set_remove(struct mem *mem, struct set_ref *s, const struct set_member *m);
/* Redis's setTypeMaybeConvert before a write of hint members: a listpack
 * or an intset that hint alone would overflow becomes a table sized for
 * hint. */
void set_maybe_convert(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
		       uint64_t hint);
/* Redis's maybeConvertToIntset, for a set known to hold integers only:
 * it becomes an intset unless it has too many members for one. */
void set_to_intset_maybe(struct mem *mem, struct set_ref *s, const struct set_limits *lim);

/* Every member once, in the set's order (an intset's ascending, a
 * listpack's insertion order, a table's), while the set is not changed
 * (no write, lookup or random pick on it). */
struct set_iter {
	struct set_ref s;
	uint64_t i;
	unsigned char *p;
	struct htab_iter hi;
};
void set_iter_init(struct set_iter *it, const struct set_ref *s);
bool set_iter_next(struct set_iter *it, struct set_member *m);
/* The position (as set_random's) of the member set_iter_next() returned
 * last. */
uint64_t set_iter_pos(const struct set_iter *it);

/* A random member's position (the set is not empty; rnd is a random
 * source): a token that tells members apart and stays valid until the set
 * next changes; and the member at such a position. */
uint64_t set_random(const struct set_ref *s, uint64_t (*rnd)(void *), void *rarg);
void set_member_at(const struct set_ref *s, uint64_t pos, struct set_member *m);

/* Called with each member a scan or a pop yields; m is valid only during
 * the call. */
typedef void (*set_member_fn)(void *arg, const struct set_member *m);

/* One SSCAN step from cursor: calls fn for every member of the step and
 * returns the next cursor (0 when done). An intset or a listpack is done in
 * one step, whatever the cursor, as Redis answers them. */
uint64_t set_scan(const struct set_ref *s, uint64_t cursor, set_member_fn fn, void *arg);

/* SPOP without a count: removes a random member (the set is not empty),
 * calling fn with it first. */
void set_pop_one(struct mem *mem, struct set_ref *s, uint64_t (*rnd)(void *), void *rarg,
		 set_member_fn fn, void *arg);
/* SPOP with a count below the set's size: removes count random members,
 * calling fn with each, with Redis 7.2's strategies: a listpack is walked
 * once (each member taken with the probability that leaves count taken
 * in all); another set gives up members one random pick at a time while
 * what remains is more than a fifth of count, else its remainder is picked
 * into a new set (an intset from an intset, else a listpack, converted as
 * it grows), which replaces it, and what was left behind is popped. */
void set_pop_count(struct mem *mem, struct set_ref *s, const struct set_limits *lim, uint64_t count,
		   uint64_t (*rnd)(void *), void *rarg, set_member_fn fn, void *arg);

#endif
