/* keyspace.c: entries, values, TTLs, expiry and lazy freeing. See keyspace.h.
 *
 * Every allocation here is charged to ks->mem: entries and tables through
 * mem_alloc, value buffers (struct val, allocated by val.c) through
 * mem_charge while a key holds them. ks_check() recomputes the account. */
#include "data/keyspace.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/stats.h"
#include "base/util.h"
#include "base/val.h"

struct ks_lazy {
	struct dict d;        /* tables being freed */
	uint64_t bucket;      /* next bucket of d.t[0] to free */
	struct ks_lazy *next; /* older flushes still being freed */
};

void ks_kval(struct kval *out, const char *p, size_t len, struct val *big)
{
	long long i;

	memset(out, 0, sizeof(*out));
	if (len <= PROTO_NUM_CHARS_MAX && util_str2ll(p, len, &i)) {
		out->enc = KV_INT;
		out->i = i;
		return;
	}
	out->p = p;
	out->len = len;
	if (len >= VAL_REF_MIN) {
		out->enc = KV_REF;
		out->v = big;
	} else {
		out->enc = len <= KS_EMBSTR_MAX ? KV_EMB : KV_RAW;
	}
}

void ks_kval_str(struct kval *out, const char *p, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->p = p;
	out->len = len;
	out->enc = len >= VAL_REF_MIN ? KV_REF : len <= KS_EMBSTR_MAX ? KV_EMB : KV_RAW;
}

void ks_kval_raw(struct kval *out, const char *p, size_t len)
{
	memset(out, 0, sizeof(*out));
	out->p = p;
	out->len = len;
	out->enc = len >= VAL_REF_MIN ? KV_REF : KV_RAW;
}

void ks_kval_int(struct kval *out, long long i)
{
	memset(out, 0, sizeof(*out));
	out->enc = KV_INT;
	out->i = i;
}

static uint64_t no_random(void *arg)
{
	(void)arg;
	ASSERT_NOT_REACHED("keyspace: no random source");
	return 0;
}

void ks_init(struct keyspace *ks, struct stats *st, uint64_t seed, uint64_t (*rnd)(void *),
	     void *rnd_arg)
{
	memset(ks, 0, sizeof(*ks));
	dict_init(&ks->d, &ks->mem);
	ks->st = st;
	ks->seed = seed;
	ks->rnd = rnd != NULL ? rnd : no_random;
	ks->rnd_arg = rnd_arg;
}

uint64_t ks_size(const struct keyspace *ks)
{
	return dict_size(&ks->d);
}

uint32_t ks_hash(const struct keyspace *ks, const char *key, size_t klen)
{
	return (uint32_t)hash_bytes(key, klen, ks->seed);
}

/* ---- entries ---- */

static size_t value_bytes(uint8_t enc, size_t len)
{
	switch (enc) {
	case KV_INT: return sizeof(long long);
	case KV_REF: return sizeof(struct val *);
	default: return len;
	}
}

static size_t entry_bytes(bool ttl, size_t klen, size_t vbytes)
{
	return sizeof(struct kv) + (ttl ? KV_TTL_BYTES : 0) + klen + vbytes;
}

/* Bytes the entry's layout needs now. */
static size_t entry_need(const struct kv *e)
{
	return entry_bytes(kv_has_ttl(e), e->klen, value_bytes(e->enc, e->vlen));
}

static void value_release(struct keyspace *ks, struct kv *e)
{
	if (e->enc == KV_REF) {
		struct val *v = kv_ref(e);
		mem_uncharge(&ks->mem, val_size(v));
		val_unref(v);
	}
}

/* Writes v into e's value area (which has the room). */
static void value_store(struct keyspace *ks, struct kv *e, const struct kval *v)
{
	char *dst = kv_vptr(e);

	e->enc = v->enc;
	e->vlen = 0;
	switch (v->enc) {
	case KV_INT: memcpy(dst, &v->i, sizeof(v->i)); break;
	case KV_REF: {
		struct val *b = v->v != NULL ? val_ref(v->v) : val_copy(v->p, v->len);
		ASSERT(b->len == v->len);
		mem_charge(&ks->mem, val_size(b));
		memcpy(dst, &b, sizeof(b));
		break;
	}
	default:
		memmove(dst, v->p, v->len);
		e->vlen = (uint32_t)v->len;
		break;
	}
}

static struct kv *entry_new(struct keyspace *ks, const char *key, size_t klen, uint32_t hash,
			    bool ttl, const struct kval *v)
{
	struct kv *e;

	ASSERT(klen <= UINT32_MAX);
	e = mem_alloc(&ks->mem, entry_bytes(ttl, klen, value_bytes(v->enc, v->len)));
	e->next = NULL;
	e->hash = hash;
	e->klen = (uint32_t)klen;
	e->vlen = 0;
	e->lru = ks_lru_clock(ks);
	e->type = KV_STRING;
	e->flags = ttl ? KV_F_TTL : 0;
	memcpy((char *)kv_key(e), key, klen);
	value_store(ks, e, v);
	return e;
}

/* ---- TTL index ---- */

static void ttl_add(struct keyspace *ks, struct kv *e, int64_t when)
{
	ASSERT(kv_has_ttl(e));
	if (ks->ttl_n == ks->ttl_cap) {
		uint32_t cap = ks->ttl_cap ? ks->ttl_cap * 2 : 16;
		ASSERT(cap > ks->ttl_cap);
		ks->ttl = mem_realloc(&ks->mem, ks->ttl, cap * sizeof(*ks->ttl));
		ks->ttl_cap = cap;
	}
	kv_set_expire_field(e, when);
	kv_set_ttl_pos(e, ks->ttl_n);
	ks->ttl[ks->ttl_n++] = e;
}

static void ttl_remove(struct keyspace *ks, struct kv *e)
{
	uint32_t pos = kv_ttl_pos(e);

	ASSERT(pos < ks->ttl_n);
	ASSERT(ks->ttl[pos] == e);
	ks->ttl_n--;
	if (pos != ks->ttl_n) {
		ks->ttl[pos] = ks->ttl[ks->ttl_n];
		kv_set_ttl_pos(ks->ttl[pos], pos);
	}
	if (ks->ttl_n == 0 && ks->ttl_cap > 1024) {
		mem_free(&ks->mem, ks->ttl);
		ks->ttl = NULL;
		ks->ttl_cap = 0;
	}
}

/* ---- lookup ---- */

bool ks_expired(const struct keyspace *ks, const struct kv *e)
{
	return kv_has_ttl(e) && ks->now_ms > kv_expire(e);
}

static struct kv **find(struct keyspace *ks, const char *key, size_t klen, int *table)
{
	return dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), table);
}

/* Frees an unlinked entry; its TTL slot goes too unless another entry took
 * it over (in_index false). */
static void free_entry_idx(struct keyspace *ks, struct kv *e, bool in_index)
{
	if (kv_has_ttl(e) && in_index)
		ttl_remove(ks, e);
	value_release(ks, e);
	mem_free(&ks->mem, e);
}

static void free_entry(struct keyspace *ks, struct kv *e)
{
	free_entry_idx(ks, e, true);
}

/* Finds a live entry, deleting it first if it has expired. */
static struct kv *lookup(struct keyspace *ks, const char *key, size_t klen)
{
	int table;
	struct kv **link = find(ks, key, klen, &table);
	struct kv *e;

	if (link == NULL)
		return NULL;
	e = *link;
	if (ks_expired(ks, e)) {
		dict_unlink(&ks->d, link, table);
		free_entry(ks, e);
		ks->st->expired_keys++;
		ks->dirty++;
		return NULL;
	}
	return e;
}

struct kv *ks_lookup_read(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e == NULL) {
		ks->st->keyspace_misses++;
		return NULL;
	}
	ks->st->keyspace_hits++;
	e->lru = ks_lru_clock(ks);
	return e;
}

struct kv *ks_lookup_write(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e != NULL)
		e->lru = ks_lru_clock(ks);
	return e;
}

struct kv *ks_peek(struct keyspace *ks, const char *key, size_t klen)
{
	return lookup(ks, key, klen);
}

/* The link that holds e (which must be in the dict). */
static struct kv **link_of(struct keyspace *ks, const struct kv *e, int *table)
{
	struct kv **link = dict_find(&ks->d, kv_key(e), e->klen, e->hash, table);
	ASSERT(link != NULL);
	ASSERT(*link == e);
	return link;
}

/* After an entry moved from old to e, points its hash link (found before
 * the move) and TTL slot at the new address. */
static void relink(struct keyspace *ks, struct kv **link, struct kv *e)
{
	*link = e;
	if (kv_has_ttl(e))
		ks->ttl[kv_ttl_pos(e)] = e;
}

/* ---- writes ---- */

struct kv *ks_set(struct keyspace *ks, const char *key, size_t klen, const struct kval *v,
		  int64_t expire_ms)
{
	int table;
	uint32_t hash = ks_hash(ks, key, klen);
	struct kv **link = dict_find(&ks->d, key, klen, hash, &table);
	struct kv *old = link != NULL ? *link : NULL, *e;
	bool old_ttl = old != NULL && kv_has_ttl(old);
	bool keep = expire_ms == KS_TTL_KEEP && old_ttl && !ks_expired(ks, old);
	bool ttl = expire_ms >= 0 || keep;
	int64_t when = keep ? kv_expire(old) : expire_ms;

	ASSERT(expire_ms >= 0 || expire_ms == KS_TTL_NONE || expire_ms == KS_TTL_KEEP);
	ks->dirty++;
	if (old == NULL) {
		e = entry_new(ks, key, klen, hash, ttl, v);
		dict_insert(&ks->d, e);
		if (ttl)
			ttl_add(ks, e, when);
		return e;
	}
	if (old_ttl == ttl) {
		size_t need = entry_bytes(ttl, klen, value_bytes(v->enc, v->len));
		size_t have = entry_need(old);
		if (need <= have && need + 32 > have) {
			/* Same shape: rewrite the value in place (the old buffer
			 * goes after the new one is stored, in case they are
			 * the same). */
			struct val *prev = old->enc == KV_REF ? kv_ref(old) : NULL;
			value_store(ks, old, v);
			if (prev != NULL) {
				mem_uncharge(&ks->mem, val_size(prev));
				val_unref(prev);
			}
			old->lru = ks_lru_clock(ks);
			old->flags &= ~KV_F_NOSHARE;
			if (ttl)
				kv_set_expire_field(old, when);
			return old;
		}
	}
	e = entry_new(ks, key, klen, hash, ttl, v);
	e->next = old->next;
	*link = e;
	if (old_ttl && ttl) {
		/* The new entry takes over the old one's TTL slot. */
		uint32_t pos = kv_ttl_pos(old);
		kv_set_ttl_pos(e, pos);
		kv_set_expire_field(e, when);
		ks->ttl[pos] = e;
		free_entry_idx(ks, old, false);
	} else {
		if (ttl)
			ttl_add(ks, e, when);
		free_entry(ks, old);
	}
	return e;
}

void ks_delete_entry(struct keyspace *ks, struct kv *e)
{
	int table;
	struct kv **link = link_of(ks, e, &table);

	dict_unlink(&ks->d, link, table);
	free_entry(ks, e);
	ks->dirty++;
}

bool ks_delete(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e == NULL)
		return false;
	ks_delete_entry(ks, e);
	return true;
}

const char *ks_value(const struct kv *e, char *buf, size_t *len)
{
	switch (e->enc) {
	case KV_INT: *len = (size_t)util_ll2str(buf, kv_int(e)); return buf;
	case KV_REF: {
		struct val *v = kv_ref(e);
		*len = v->len;
		return v->data;
	}
	default: *len = e->vlen; return kv_cvptr(e);
	}
}

size_t ks_value_len(const struct kv *e)
{
	long long i;

	switch (e->enc) {
	case KV_INT:
		i = kv_int(e);
		return i < 0 ? 1 + (size_t)util_digits10(0 - (unsigned long long)i)
			     : (size_t)util_digits10((unsigned long long)i);
	case KV_REF: return kv_ref(e)->len;
	default: return e->vlen;
	}
}

/* Room for a big value that may keep growing (APPEND loops): as Redis's
 * sdsMakeRoomFor, double up to 1 MB, then add 1 MB. */
static size_t grow_cap(size_t len)
{
	size_t cap = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
	size_t max = (size_t)PROTO_BULK_MAX_MAX + 2;

	cap += 2;
	return cap > max ? max : cap;
}

char *ks_edit(struct keyspace *ks, struct kv **ep, size_t newlen)
{
	struct kv *e = *ep;
	char numbuf[UTIL_LL_CHARS];
	size_t oldlen, keep;
	const char *old;
	int table;

	ASSERT(newlen <= (size_t)PROTO_BULK_MAX_MAX);
	ks->dirty++;
	old = ks_value(e, numbuf, &oldlen);
	keep = oldlen < newlen ? oldlen : newlen;
	if (e->enc == KV_REF) {
		struct val *v = kv_ref(e);
		bool shared = atomic_load_explicit(&v->refs, memory_order_acquire) > 1;
		if (shared || v->cap < newlen + 2) {
			struct val *n = val_new(shared && newlen + 2 <= v->cap ? newlen + 2
									       : grow_cap(newlen));
			memcpy(n->data, v->data, keep);
			mem_uncharge(&ks->mem, val_size(v));
			val_unref(v);
			mem_charge(&ks->mem, val_size(n));
			memcpy(kv_vptr(e), &n, sizeof(n));
			v = n;
		}
		memset(v->data + keep, 0, newlen - keep);
		val_seal(v, newlen);
		return v->data;
	}
	if (newlen >= VAL_REF_MIN) {
		struct val *n = val_new(grow_cap(newlen));
		struct kv **link = link_of(ks, e, &table);
		memcpy(n->data, old, keep);
		memset(n->data + keep, 0, newlen - keep);
		val_seal(n, newlen);
		mem_charge(&ks->mem, val_size(n));
		e = mem_realloc(&ks->mem, e, entry_bytes(kv_has_ttl(e), e->klen, sizeof(n)));
		relink(ks, link, e);
		e->enc = KV_REF;
		e->vlen = 0;
		memcpy(kv_vptr(e), &n, sizeof(n));
		*ep = e;
		return n->data;
	}
	/* Inline. An int was formatted into numbuf above; inline bytes stay in
	 * place across the realloc. */
	{
		bool was_int = e->enc == KV_INT;
		struct kv **link = link_of(ks, e, &table);
		e = mem_realloc(&ks->mem, e, entry_bytes(kv_has_ttl(e), e->klen, newlen));
		relink(ks, link, e);
		if (was_int)
			memcpy(kv_vptr(e), numbuf, keep);
	}
	memset(kv_vptr(e) + keep, 0, newlen - keep);
	e->enc = KV_RAW;
	e->vlen = (uint32_t)newlen;
	*ep = e;
	return kv_vptr(e);
}

struct kv *ks_set_expire(struct keyspace *ks, struct kv *e, int64_t when_ms)
{
	int table;
	struct kv **link;
	size_t rest;

	ASSERT(when_ms >= 0);
	ks->dirty++;
	if (kv_has_ttl(e)) {
		kv_set_expire_field(e, when_ms);
		return e;
	}
	link = link_of(ks, e, &table);
	rest = e->klen + value_bytes(e->enc, e->vlen);
	e = mem_realloc(&ks->mem, e, entry_bytes(true, e->klen, value_bytes(e->enc, e->vlen)));
	*link = e;
	memmove(e->data + KV_TTL_BYTES, e->data, rest);
	e->flags |= KV_F_TTL;
	ttl_add(ks, e, when_ms);
	return e;
}

struct kv *ks_persist(struct keyspace *ks, struct kv *e)
{
	int table;
	struct kv **link;
	size_t rest;

	if (!kv_has_ttl(e))
		return e;
	ks->dirty++;
	link = link_of(ks, e, &table);
	ttl_remove(ks, e);
	rest = e->klen + value_bytes(e->enc, e->vlen);
	memmove(e->data, e->data + KV_TTL_BYTES, rest);
	e->flags &= ~KV_F_TTL;
	e = mem_realloc(&ks->mem, e, entry_bytes(false, e->klen, value_bytes(e->enc, e->vlen)));
	*link = e;
	return e;
}

/* A kval that describes e's current value (no reference taken). */
static void kval_of(const struct kv *e, struct kval *out)
{
	memset(out, 0, sizeof(*out));
	out->enc = e->enc;
	switch (e->enc) {
	case KV_INT: out->i = kv_int(e); break;
	case KV_REF:
		out->v = kv_ref(e);
		out->p = out->v->data;
		out->len = out->v->len;
		break;
	default:
		out->p = kv_cvptr(e);
		out->len = e->vlen;
		break;
	}
}

void ks_copy(struct keyspace *ks, const struct kv *e, const char *dst, size_t dlen)
{
	struct kval v;
	struct kv *n;
	int64_t when = kv_has_ttl(e) ? kv_expire(e) : KS_TTL_NONE;

	kval_of(e, &v);
	/* A copy owns its own buffer, as Redis duplicates the object; a copied
	 * integer is a new object, never a shared one. */
	v.v = NULL;
	n = ks_set(ks, dst, dlen, &v, when);
	if (n->enc == KV_INT)
		n->flags |= KV_F_NOSHARE;
}

void ks_rename(struct keyspace *ks, struct kv *src, struct keyspace *dks, const char *dst,
	       size_t dlen)
{
	struct kval v;
	int64_t when = kv_has_ttl(src) ? kv_expire(src) : KS_TTL_NONE;
	struct val *held = NULL;
	bool noshare = (src->flags & KV_F_NOSHARE) != 0;
	struct kv *n;

	kval_of(src, &v);
	if (src->enc == KV_REF)
		held = val_ref(v.v); /* keep it alive while src goes */
	else if (src->enc != KV_INT)
		held = val_copy(v.p, v.len), v.p = held->data; /* src bytes move */
	ks_delete_entry(ks, src);
	n = ks_set(dks, dst, dlen, &v, when);
	/* The object moves in Redis: an unshared integer stays unshared. */
	if (noshare)
		n->flags |= KV_F_NOSHARE;
	val_unref(held);
}

/* ---- flush and lazy free ---- */

static void free_entry_chain(struct keyspace *ks, struct kv *e)
{
	while (e != NULL) {
		struct kv *next = e->next;
		value_release(ks, e);
		mem_free(&ks->mem, e);
		e = next;
	}
}

void ks_flush(struct keyspace *ks, bool async)
{
	uint64_t n = ks_size(ks);

	ks->dirty += n;
	/* The TTL index goes first: entries are freed without it. */
	mem_free(&ks->mem, ks->ttl);
	ks->ttl = NULL;
	ks->ttl_n = ks->ttl_cap = 0;
	ks->expire_cursor = 0;
	if (async && n > 0) {
		struct ks_lazy *lz = mem_alloc(&ks->mem, sizeof(*lz));
		lz->d = ks->d;
		lz->bucket = 0;
		lz->next = ks->lazy;
		ks->lazy = lz;
		ks->lazy_pending += n;
	} else {
		uint64_t i;
		int t;
		for (t = 0; t <= 1; t++)
			for (i = 0; i < ks->d.size[t]; i++)
				free_entry_chain(ks, ks->d.t[t][i]);
		dict_free_tables(&ks->d);
	}
	dict_init(&ks->d, &ks->mem);
}

bool ks_lazy_step(struct keyspace *ks, unsigned n)
{
	while (ks->lazy != NULL && n > 0) {
		struct ks_lazy *lz = ks->lazy;
		/* Merge both tables into one walk: t[0] then t[1]. */
		uint64_t total = lz->d.size[0] + lz->d.size[1];
		while (lz->bucket < total && n > 0) {
			uint64_t b = lz->bucket++;
			struct kv **slot = b < lz->d.size[0] ? &lz->d.t[0][b]
							     : &lz->d.t[1][b - lz->d.size[0]];
			struct kv *e = *slot;
			unsigned freed = 0;
			for (; e != NULL; e = e->next)
				freed++;
			free_entry_chain(ks, *slot);
			*slot = NULL;
			ks->lazy_pending -= freed;
			ks->st->lazyfreed_objects += freed;
			/* An empty bucket costs one unit of work, as an entry. */
			freed = freed ? freed : 1;
			n = freed >= n ? 0 : n - freed;
		}
		if (lz->bucket < total)
			return true;
		dict_free_tables(&lz->d);
		ks->lazy = lz->next;
		mem_free(&ks->mem, lz);
	}
	return ks->lazy != NULL;
}

void ks_free(struct keyspace *ks)
{
	ks_flush(ks, false);
	while (ks_lazy_step(ks, 1u << 30))
		;
	dict_free_tables(&ks->d);
	ASSERT(ks->mem.used == 0);
}

/* ---- active expiry and housekeeping ---- */

uint64_t ks_expire_cycle(struct keyspace *ks, uint64_t max_keys)
{
	uint64_t examined = 0, expired = 0;

	while (examined < max_keys && ks->ttl_n > 0) {
		uint32_t batch = ks->ttl_n < EXPIRE_SAMPLE_PER_LOOP ? ks->ttl_n
								    : EXPIRE_SAMPLE_PER_LOOP;
		uint32_t stale = 0, i;
		/* The last batch stops at the budget. */
		if (batch > max_keys - examined)
			batch = (uint32_t)(max_keys - examined);
		for (i = 0; i < batch && ks->ttl_n > 0; i++) {
			struct kv *e;
			if (ks->expire_cursor >= ks->ttl_n)
				ks->expire_cursor = 0;
			e = ks->ttl[ks->expire_cursor];
			examined++;
			if (ks_expired(ks, e)) {
				/* The last entry moves into the cursor's slot. */
				ks_delete_entry(ks, e);
				stale++;
			} else {
				ks->expire_cursor++;
			}
		}
		expired += stale;
		ks->st->expired_stale_perc_x100 = (uint64_t)stale * 10000 / batch;
		if (stale * 100 <= (uint32_t)EXPIRE_STALE_PERCENT * batch)
			break;
	}
	if (examined >= max_keys)
		ks->st->expired_time_cap_reached++;
	ks->st->expired_keys += expired;
	return expired;
}

void ks_cron(struct keyspace *ks, unsigned rehash_steps)
{
	dict_try_shrink(&ks->d);
	dict_rehash(&ks->d, rehash_steps);
}

uint64_t ks_random_u64(struct keyspace *ks)
{
	return ks->rnd(ks->rnd_arg);
}

static uint64_t ks_rnd(void *arg)
{
	return ks_random_u64(arg);
}

struct kv *ks_random(struct keyspace *ks)
{
	for (;;) {
		struct kv *e = dict_random(&ks->d, ks_rnd, ks);
		if (e == NULL)
			return NULL;
		if (!ks_expired(ks, e))
			return e;
		ks_delete_entry(ks, e);
		ks->st->expired_keys++;
	}
}

uint64_t ks_scan(struct keyspace *ks, uint64_t cursor, dict_scan_fn fn, void *arg)
{
	return dict_scan(&ks->d, cursor, fn, arg);
}

/* ---- introspection ---- */

uint32_t ks_lru_clock(const struct keyspace *ks)
{
	return (uint32_t)((uint64_t)(ks->now_ms / 1000) & KV_LRU_MAX);
}

uint64_t ks_idle_ms(const struct keyspace *ks, const struct kv *e)
{
	uint32_t now = ks_lru_clock(ks);

	if (now >= e->lru)
		return (uint64_t)(now - e->lru) * 1000;
	return (uint64_t)(now + (KV_LRU_MAX - e->lru)) * 1000;
}

size_t ks_entry_mem(const struct keyspace *ks, const struct kv *e)
{
	size_t n = mem_size(e) + sizeof(struct kv *);

	(void)ks;
	if (e->enc == KV_REF)
		n += val_size(kv_ref(e));
	if (kv_has_ttl(e))
		n += sizeof(struct kv *);
	return n;
}

const char *ks_encoding_name(const struct kv *e)
{
	switch (e->enc) {
	case KV_INT: return "int";
	case KV_EMB: return "embstr";
	default: return "raw";
	}
}

long long ks_refcount(const struct kv *e)
{
	/* Redis shares the integers 0..9999 (OBJ_SHARED_REFCOUNT). */
	if (e->enc == KV_INT && !(e->flags & KV_F_NOSHARE) && kv_int(e) >= 0 &&
	    kv_int(e) < KS_SHARED_INT_MAX)
		return 2147483647;
	return 1;
}

/* ---- invariants ---- */

struct check_acc {
	const struct keyspace *ks;
	uint64_t entries, ttl, bytes;
	int bad;
};

static void check_entry(struct check_acc *a, const struct kv *e, int line)
{
	a->entries++;
	a->bytes += mem_size(e);
	if (e->hash != ks_hash(a->ks, kv_key(e), e->klen) && !a->bad)
		a->bad = -line;
	if (e->enc == KV_REF)
		a->bytes += val_size(kv_ref(e));
	else if (e->enc != KV_INT && e->enc != KV_EMB && e->enc != KV_RAW && !a->bad)
		a->bad = -line;
	if (kv_has_ttl(e)) {
		uint32_t pos = kv_ttl_pos(e);
		a->ttl++;
		if ((pos >= a->ks->ttl_n || a->ks->ttl[pos] != e) && !a->bad)
			a->bad = -line;
	}
}

int ks_check(struct keyspace *ks)
{
	struct check_acc a = { .ks = ks };
	const struct ks_lazy *lz;
	uint64_t i, n;
	int t;

	for (t = 0; t <= 1; t++) {
		n = 0;
		for (i = 0; i < ks->d.size[t]; i++) {
			const struct kv *e;
			if (t == 0 && ks->d.rehash >= 0 && (int64_t)i < ks->d.rehash &&
			    ks->d.t[0][i] != NULL)
				return -__LINE__;
			for (e = ks->d.t[t][i]; e != NULL; e = e->next) {
				if ((e->hash & (ks->d.size[t] - 1)) != i)
					return -__LINE__;
				check_entry(&a, e, __LINE__);
				n++;
			}
		}
		if (n != ks->d.used[t])
			return -__LINE__;
	}
	if (a.bad)
		return a.bad;
	if (a.ttl != ks->ttl_n || ks->ttl_n > ks->ttl_cap)
		return -__LINE__;
	for (i = 0; i < ks->ttl_n; i++) {
		if (!kv_has_ttl(ks->ttl[i]) || kv_ttl_pos(ks->ttl[i]) != i)
			return -__LINE__;
	}
	a.bytes += dict_mem(&ks->d) + mem_size(ks->ttl);
	for (lz = ks->lazy, n = 0; lz != NULL; lz = lz->next) {
		a.bytes += mem_size(lz) + dict_mem(&lz->d);
		for (t = 0; t <= 1; t++)
			for (i = 0; i < lz->d.size[t]; i++) {
				const struct kv *e;
				for (e = lz->d.t[t][i]; e != NULL; e = e->next) {
					a.bytes += mem_size(e);
					if (e->enc == KV_REF)
						a.bytes += val_size(kv_ref(e));
					n++;
				}
			}
	}
	if (n != ks->lazy_pending)
		return -__LINE__;
	if (a.bytes != ks->mem.used)
		return -__LINE__;
	return 0;
}
