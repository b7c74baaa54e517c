/* t_set.c: the set type's three encodings. See t_set.h.
 *
 * Each operation follows Redis 7.2's t_set.c (setTypeAddAux,
 * setTypeRemoveAux, setTypeIsMemberAux, setTypeConvertAndExpand,
 * spopWithCountCommand): the same encoding decisions at the same
 * thresholds, and a member given as an integer stays one where the
 * encoding keeps integers (an intset, a listpack's integer entry). */
#include "data/t_set.h"

#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/util.h"
#include "data/htab.h"
#include "data/intset.h"
#include "data/listpack.h"

/* A listpack set this long or shorter has its members checked for
 * duplicates by set_check (quadratic, so bounded). */
#define SET_CHECK_DUPS_MAX 1024
/* SPOP's switch to re-creating the remainder: when what remains times
 * this is at most the count (Redis's SPOP_MOVE_STRATEGY_MUL). */
#define SET_POP_MOVE_MUL 5

static struct intset *is_of(const struct set_ref *s)
{
	ASSERT(s->enc == SET_INTSET);
	return s->obj;
}

static unsigned char *lp_of(const struct set_ref *s)
{
	ASSERT(s->enc == SET_LP);
	return s->obj;
}

static struct htab *ht_of(const struct set_ref *s)
{
	ASSERT(s->enc == SET_HT);
	return s->obj;
}

/* ---- members ---- */

const char *set_member_text(const struct set_member *m, char *buf, size_t *len)
{
	if (!m->is_int) {
		*len = m->len;
		return m->p;
	}
	*len = (size_t)util_ll2str(buf, m->ival);
	return buf;
}

/* Whether m is an integer (one, or bytes in canonical form), and which. */
static bool member_int(const struct set_member *m, long long *v)
{
	if (m->is_int) {
		*v = m->ival;
		return true;
	}
	return util_str2ll(m->p, m->len, v);
}

static void member_from_lp(const unsigned char *p, struct set_member *m)
{
	int64_t i;
	uint32_t len;
	const unsigned char *s = lp_get(p, &i, &len);

	memset(m, 0, sizeof(*m));
	if (s == NULL) {
		m->is_int = true;
		m->ival = i;
	} else {
		m->p = (const char *)s;
		m->len = len;
	}
}

/* ---- creation and conversion ---- */

/* The most members an intset may hold (Redis's intsetMaxEntries). */
static uint64_t intset_cap(const struct set_limits *lim)
{
	return lim->max_intset_entries < (uint64_t)SET_INTSET_ENTRIES_CAP
		       ? lim->max_intset_entries
		       : (uint64_t)SET_INTSET_ENTRIES_CAP;
}

static struct htab *ht_new(struct mem *mem, uint64_t seed)
{
	struct htab *h = mem_alloc(mem, sizeof(*h));

	htab_init(h, mem, seed);
	return h;
}

struct set_ref set_new_enc(struct mem *mem, const struct set_limits *lim, unsigned enc)
{
	struct set_ref s = { NULL, enc };

	if (enc == SET_INTSET)
		s.obj = intset_new(mem);
	else if (enc == SET_LP)
		s.obj = lp_new(mem);
	else
		s.obj = ht_new(mem, lim->seed);
	return s;
}

struct set_ref set_new(struct mem *mem, const struct set_limits *lim,
		       const struct set_member *first, uint64_t hint)
{
	struct set_ref s;
	long long v;

	if (member_int(first, &v) && hint <= lim->max_intset_entries)
		return set_new_enc(mem, lim, SET_INTSET);
	if (hint <= lim->max_lp_entries)
		return set_new_enc(mem, lim, SET_LP);
	s = set_new_enc(mem, lim, SET_HT);
	htab_expand(s.obj, hint);
	return s;
}

void set_free(struct mem *mem, struct set_ref *s)
{
	if (s->enc == SET_INTSET) {
		intset_free(mem, s->obj);
	} else if (s->enc == SET_LP) {
		lp_free(mem, s->obj);
	} else {
		htab_free(s->obj);
		mem_free(mem, s->obj);
	}
	s->obj = NULL;
}

uint64_t set_size(const struct set_ref *s)
{
	if (s->enc == SET_INTSET)
		return intset_len(is_of(s));
	if (s->enc == SET_LP)
		return lp_length(lp_of(s));
	return htab_size(ht_of(s));
}

/* The set as a table sized for cap members (setTypeConvertAndExpand to
 * OBJ_ENCODING_HT). */
static void to_table(struct mem *mem, struct set_ref *s, const struct set_limits *lim, uint64_t cap)
{
	struct htab *h = ht_new(mem, lim->seed);
	char buf[UTIL_LL_CHARS];
	struct set_member m;
	struct set_iter it;

	ASSERT(s->enc != SET_HT);
	htab_expand(h, cap);
	set_iter_init(&it, s);
	while (set_iter_next(&it, &m)) {
		size_t len;
		const char *t = set_member_text(&m, buf, &len);
		bool added = htab_add(h, t, len);
		ASSERT(added);
	}
	set_free(mem, s);
	s->obj = h;
	s->enc = SET_HT;
}

static void intset_to_lp(struct mem *mem, struct set_ref *s)
{
	struct intset *is = is_of(s);
	unsigned char *lp = lp_new(mem);
	uint32_t i, n = intset_len(is);

	for (i = 0; i < n; i++)
		lp = lp_append_int(mem, lp, intset_get(is, i));
	intset_free(mem, is);
	s->obj = lp;
	s->enc = SET_LP;
}

/* Bytes of an integer's listpack entry with its backlen (Redis's
 * lpEstimateBytesRepeatedInteger for one). */
static size_t lp_int_entry(long long v)
{
	size_t enc = 9;

	if (v >= 0 && v <= 127)
		enc = 1;
	else if (v >= -4096 && v <= 4095)
		enc = 2;
	else if (v >= INT16_MIN && v <= INT16_MAX)
		enc = 3;
	else if (v >= -8388608 && v <= 8388607)
		enc = 4;
	else if (v >= INT32_MIN && v <= INT32_MAX)
		enc = 5;
	return enc + 1;
}

/* Whether an intset plus a string member of len bytes fits a listpack:
 * Redis's bound, which takes every element as long as the widest end. */
static bool intset_fits_lp(const struct intset *is, const struct set_limits *lim, size_t len)
{
	uint32_t n = intset_len(is);
	size_t maxlen = 0, tot = 0;
	char buf[UTIL_LL_CHARS];

	if (n > 0) {
		long long lo = intset_min(is), hi = intset_max(is);
		size_t a = (size_t)util_ll2str(buf, lo), b = (size_t)util_ll2str(buf, hi);
		size_t ea = lp_int_entry(lo), eb = lp_int_entry(hi);
		maxlen = a > b ? a : b;
		tot = (size_t)n * (ea > eb ? ea : eb);
	}
	return n < lim->max_lp_entries && len <= lim->max_lp_value && maxlen <= lim->max_lp_value &&
	       lp_safe_to_add(NULL, tot + len);
}

void set_maybe_convert(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
		       uint64_t hint)
{
	if ((s->enc == SET_LP && hint > lim->max_lp_entries) ||
	    (s->enc == SET_INTSET && hint > lim->max_intset_entries))
		to_table(mem, s, lim, hint);
}

void set_to_intset_maybe(struct mem *mem, struct set_ref *s, const struct set_limits *lim)
{
	struct intset *is;
	struct set_member m;
	struct set_iter it;

	if (s->enc == SET_INTSET || set_size(s) > intset_cap(lim))
		return;
	is = intset_new(mem);
	set_iter_init(&it, s);
	while (set_iter_next(&it, &m)) {
		long long v;
		bool ok = member_int(&m, &v), added;
		ASSERT(ok);
		is = intset_add(mem, is, v, &added);
		ASSERT(added);
	}
	set_free(mem, s);
	s->obj = is;
	s->enc = SET_INTSET;
}

/* ---- reads and writes ---- */

bool set_contains(const struct set_ref *s, const struct set_member *m)
{
	char buf[UTIL_LL_CHARS];
	const char *t;
	size_t len;
	long long v;

	if (s->enc == SET_INTSET)
		return member_int(m, &v) && intset_find(is_of(s), v, NULL);
	t = set_member_text(m, buf, &len);
	if (s->enc == SET_LP) {
		unsigned char *lp = lp_of(s), *p = lp_first(lp);
		return p != NULL && lp_find(lp, p, t, len, 0) != NULL;
	}
	return htab_find(ht_of(s), t, len);
}

static bool add_int_to_intset(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
			      long long v)
{
	bool added;

	s->obj = intset_add(mem, is_of(s), v, &added);
	if (added && intset_len(s->obj) > intset_cap(lim))
		to_table(mem, s, lim, intset_len(s->obj));
	return added;
}

/* Adds text t (m's) to a listpack, or to the table it becomes when the
 * listpack is full or t too long for it. */
static bool add_to_lp(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
		      const struct set_member *m, const char *t, size_t len)
{
	unsigned char *lp = lp_of(s), *p = lp_first(lp);
	bool added;

	if (p != NULL && lp_find(lp, p, t, len, 0) != NULL)
		return false;
	if (lp_length(lp) < lim->max_lp_entries && len <= lim->max_lp_value &&
	    lp_safe_to_add(lp, len)) {
		s->obj = m->is_int ? lp_append_int(mem, lp, m->ival) : lp_append(mem, lp, t, len);
		return true;
	}
	to_table(mem, s, lim, lp_length(lp) + 1);
	added = htab_add(ht_of(s), t, len);
	ASSERT(added);
	return true;
}

bool set_add(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
	     const struct set_member *m)
{
	char buf[UTIL_LL_CHARS];
	const char *t;
	size_t len;
	long long v;

	if (s->enc == SET_INTSET) {
		if (member_int(m, &v))
			return add_int_to_intset(mem, s, lim, v);
		/* A string: the intset goes, to a listpack if it all fits. */
		if (intset_fits_lp(is_of(s), lim, m->len))
			intset_to_lp(mem, s);
		else
			to_table(mem, s, lim, intset_len(is_of(s)) + 1);
	}
	t = set_member_text(m, buf, &len);
	if (s->enc == SET_LP)
		return add_to_lp(mem, s, lim, m, t, len);
	return htab_add(ht_of(s), t, len);
}

bool set_remove(struct mem *mem, struct set_ref *s, const struct set_member *m)
{
	char buf[UTIL_LL_CHARS];
	const char *t;
	size_t len;
	long long v;
	bool removed;

	if (s->enc == SET_INTSET) {
		if (!member_int(m, &v))
			return false;
		s->obj = intset_remove(mem, is_of(s), v, &removed);
		return removed;
	}
	t = set_member_text(m, buf, &len);
	if (s->enc == SET_LP) {
		unsigned char *lp = lp_of(s), *p = lp_first(lp);
		p = p != NULL ? lp_find(lp, p, t, len, 0) : NULL;
		if (p == NULL)
			return false;
		s->obj = lp_delete(mem, lp, p, NULL);
		return true;
	}
	return htab_remove(ht_of(s), t, len);
}

/* ---- iteration, random picks, scans ---- */

void set_iter_init(struct set_iter *it, const struct set_ref *s)
{
	it->s = *s;
	it->i = 0;
	it->p = NULL;
	if (s->enc == SET_HT)
		htab_iter_init(&it->hi, ht_of(s));
}

bool set_iter_next(struct set_iter *it, struct set_member *m)
{
	const struct htab_ent *e;

	if (it->s.enc == SET_INTSET) {
		if (it->i >= intset_len(is_of(&it->s)))
			return false;
		memset(m, 0, sizeof(*m));
		m->is_int = true;
		m->ival = intset_get(is_of(&it->s), (uint32_t)it->i++);
		return true;
	}
	if (it->s.enc == SET_LP) {
		unsigned char *lp = lp_of(&it->s);
		/* i: 0 before the first element, 1 after it. */
		if (it->i == 0)
			it->p = lp_first(lp);
		else if (it->p != NULL)
			it->p = lp_next(lp, it->p);
		it->i = 1;
		if (it->p == NULL)
			return false;
		member_from_lp(it->p, m);
		return true;
	}
	e = htab_iter_next(&it->hi);
	if (e == NULL)
		return false;
	memset(m, 0, sizeof(*m));
	m->p = htab_ent_str(e, &m->len);
	return true;
}

uint64_t set_iter_pos(const struct set_iter *it)
{
	if (it->s.enc == SET_INTSET) {
		ASSERT(it->i > 0);
		return it->i - 1;
	}
	if (it->s.enc == SET_LP) {
		ASSERT(it->p != NULL);
		return (uint64_t)(it->p - lp_of(&it->s));
	}
	ASSERT(it->hi.e != NULL);
	return (uint64_t)(uintptr_t)it->hi.e;
}

uint64_t set_random(const struct set_ref *s, uint64_t (*rnd)(void *), void *rarg)
{
	uint64_t n = set_size(s);

	ASSERT(n > 0);
	if (s->enc == SET_INTSET)
		return rnd(rarg) % n;
	if (s->enc == SET_LP) {
		unsigned char *lp = lp_of(s), *p = lp_seek(lp, (long)(rnd(rarg) % n));
		ASSERT(p != NULL);
		return (uint64_t)(p - lp);
	}
	return (uint64_t)(uintptr_t)htab_random(ht_of(s), rnd, rarg);
}

void set_member_at(const struct set_ref *s, uint64_t pos, struct set_member *m)
{
	if (s->enc == SET_INTSET) {
		memset(m, 0, sizeof(*m));
		m->is_int = true;
		m->ival = intset_get(is_of(s), (uint32_t)pos);
	} else if (s->enc == SET_LP) {
		member_from_lp(lp_of(s) + pos, m);
	} else {
		memset(m, 0, sizeof(*m));
		m->p = htab_ent_str((const struct htab_ent *)(uintptr_t)pos, &m->len);
	}
}

struct scan_acc {
	set_member_fn fn;
	void *arg;
};

static void scan_cb(void *arg, const char *p, size_t len)
{
	const struct scan_acc *a = arg;
	struct set_member m = set_member_str(p, len);

	a->fn(a->arg, &m);
}

uint64_t set_scan(const struct set_ref *s, uint64_t cursor, set_member_fn fn, void *arg)
{
	struct scan_acc a = { .fn = fn, .arg = arg };
	struct set_member m;
	struct set_iter it;

	if (s->enc == SET_HT)
		return htab_scan(ht_of(s), cursor, scan_cb, &a);
	set_iter_init(&it, s);
	while (set_iter_next(&it, &m))
		fn(arg, &m);
	return 0;
}

/* ---- SPOP ---- */

/* Removes the member at pos, which m was read from. */
static void remove_at(struct mem *mem, struct set_ref *s, uint64_t pos, const struct set_member *m)
{
	bool removed;

	if (s->enc == SET_LP) {
		s->obj = lp_delete(mem, lp_of(s), lp_of(s) + pos, NULL);
		return;
	}
	removed = set_remove(mem, s, m);
	ASSERT(removed);
}

void set_pop_one(struct mem *mem, struct set_ref *s, uint64_t (*rnd)(void *), void *rarg,
		 set_member_fn fn, void *arg)
{
	uint64_t pos = set_random(s, rnd, rarg);
	struct set_member m;

	set_member_at(s, pos, &m);
	fn(arg, &m);
	remove_at(mem, s, pos, &m);
}

/* A listpack, walked once: each member is popped with probability (still
 * to pop) / (still to walk), so exactly count go, every subset alike; the
 * others make the new listpack, in their order. */
static void pop_lp(struct mem *mem, struct set_ref *s, uint64_t count, uint64_t (*rnd)(void *),
		   void *rarg, set_member_fn fn, void *arg)
{
	unsigned char *lp = lp_of(s), *keep = lp_new(mem), *p;
	uint64_t n = lp_length(lp), i = 0;
	struct set_member m;

	for (p = lp_first(lp); p != NULL; p = lp_next(lp, p), i++) {
		member_from_lp(p, &m);
		if (count > 0 && rnd(rarg) % (n - i) < count) {
			fn(arg, &m);
			count--;
		} else if (m.is_int) {
			keep = lp_append_int(mem, keep, m.ival);
		} else {
			keep = lp_append(mem, keep, m.p, m.len);
		}
	}
	ASSERT(count == 0);
	lp_free(mem, lp);
	s->obj = keep;
}

/* The remainder, remaining random members, moves to a new set, which
 * replaces s once what is left in s has been popped. */
static void pop_keep_rest(struct mem *mem, struct set_ref *s, const struct set_limits *lim,
			  uint64_t remaining, uint64_t (*rnd)(void *), void *rarg, set_member_fn fn,
			  void *arg)
{
	struct set_ref keep = set_new_enc(mem, lim, s->enc == SET_INTSET ? SET_INTSET : SET_LP);
	struct set_member m;
	struct set_iter it;

	while (remaining-- > 0) {
		uint64_t pos = set_random(s, rnd, rarg);
		bool added;
		set_member_at(s, pos, &m);
		added = set_add(mem, &keep, lim, &m);
		ASSERT(added);
		remove_at(mem, s, pos, &m);
	}
	set_iter_init(&it, s);
	while (set_iter_next(&it, &m))
		fn(arg, &m);
	set_free(mem, s);
	*s = keep;
}

void set_pop_count(struct mem *mem, struct set_ref *s, const struct set_limits *lim, uint64_t count,
		   uint64_t (*rnd)(void *), void *rarg, set_member_fn fn, void *arg)
{
	uint64_t size = set_size(s), remaining;

	ASSERT(count < size);
	remaining = size - count;
	if (s->enc == SET_LP) {
		pop_lp(mem, s, count, rnd, rarg, fn, arg);
		return;
	}
	if (remaining * SET_POP_MOVE_MUL > count) {
		while (count-- > 0)
			set_pop_one(mem, s, rnd, rarg, fn, arg);
		return;
	}
	pop_keep_rest(mem, s, lim, remaining, rnd, rarg, fn, arg);
}

/* ---- the type's hooks ---- */

static void set_free_hook(struct mem *mem, void *obj, unsigned enc)
{
	struct set_ref s = { obj, enc };

	set_free(mem, &s);
}

/* As Redis counts it: an intset or a listpack is one allocation, a table
 * one per member. */
static uint64_t set_effort(const void *obj, unsigned enc)
{
	return enc == SET_HT ? htab_size(obj) : 1;
}

static bool set_free_step(struct mem *mem, void *obj, unsigned enc, unsigned *budget)
{
	if (enc != SET_HT) {
		set_free_hook(mem, obj, enc);
		*budget = *budget > 0 ? *budget - 1 : 0;
		return true;
	}
	if (!htab_free_some(obj, budget))
		return false;
	mem_free(mem, obj);
	return true;
}

static void *set_dup(struct mem *mem, const void *obj, unsigned enc)
{
	const struct htab *from = obj;
	struct htab_iter it;
	const struct htab_ent *e;
	struct htab *h;
	size_t n;
	void *copy;

	if (enc != SET_HT) {
		n = enc == SET_INTSET ? intset_bytes(obj) : lp_bytes(obj);
		copy = mem_alloc(mem, n);
		memcpy(copy, obj, n);
		return copy;
	}
	h = ht_new(mem, from->seed);
	htab_expand(h, htab_size(from));
	htab_iter_init(&it, from);
	while ((e = htab_iter_next(&it)) != NULL) {
		size_t len;
		const char *p = htab_ent_str(e, &len);
		bool added = htab_add(h, p, len);
		ASSERT(added);
	}
	return h;
}

static size_t set_size_hook(const void *obj, unsigned enc)
{
	if (enc != SET_HT)
		return mem_size(obj);
	return mem_size(obj) + htab_mem(obj);
}

static const char *set_encoding(const void *obj, unsigned enc)
{
	(void)obj;
	ASSERT(enc <= SET_HT);
	return enc == SET_INTSET ? "intset" : enc == SET_LP ? "listpack" : "hashtable";
}

static void set_rebind(void *obj, unsigned enc, struct mem *mem)
{
	struct htab *h = obj;

	if (enc == SET_HT)
		h->mem = mem;
}

/* A listpack set's members are distinct (checked up to a length). */
static bool lp_distinct(unsigned char *lp)
{
	unsigned char *p;

	if (lp_length(lp) > SET_CHECK_DUPS_MAX)
		return true;
	for (p = lp_first(lp); p != NULL; p = lp_next(lp, p)) {
		char buf[LP_INTBUF_SIZE];
		size_t len;
		const char *t = lp_get_text(p, buf, &len);
		unsigned char *q = lp_next(lp, p);
		if (q != NULL && lp_find(lp, q, t, len, 0) != NULL)
			return false;
	}
	return true;
}

/* The set's invariants, for ks_check: never empty; an intset's or a
 * listpack's structure (and distinct members); the table's own check. */
static bool set_check(const void *obj, unsigned enc)
{
	if (enc == SET_INTSET)
		return mem_size(obj) >= intset_bytes(obj) &&
		       intset_valid(obj, intset_bytes(obj), true);
	if (enc == SET_LP) {
		unsigned char *lp = (unsigned char *)obj;
		return lp_valid(lp, lp_bytes(lp), true) && lp_length(lp) > 0 && lp_distinct(lp);
	}
	return htab_check(obj) && htab_size(obj) > 0;
}

const struct kv_type_ops set_type = {
	.name = "set",
	.free = set_free_hook,
	.dup = set_dup,
	.size = set_size_hook,
	.encoding = set_encoding,
	.rebind = set_rebind,
	.check = set_check,
	.effort = set_effort,
	.free_step = set_free_step,
};
