/* keyspace.c: entries and their lifecycle: lookup, set, delete, reshape,
 * flush and the checker. See keyspace.h.
 *
 * Every allocation here is charged to ks->mem: entries of up to SLAB_MAX
 * bytes through the keyspace's slab (base/slab.h), bigger ones and tables
 * through mem_alloc, string buffers (struct val, allocated by val.c) through
 * mem_charge while a key holds them, objects by their type's hooks from
 * ks->mem. ks_check() recomputes the account. */
#include "data/keyspace.h"

#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/latmon.h"
#include "base/limits.h"
#include "base/stats.h"
#include "base/util.h"
#include "base/val.h"
#include "data/types.h"

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
	dict_init(&ks->d, &ks->mem, seed);
	ttl_init(&ks->ttl, &ks->mem);
	slab_init(&ks->slab, &ks->mem);
	dict_use_slab(&ks->d, &ks->slab);
	ks->types = kv_types;
	lazy_init(&ks->lazy, &ks->mem, ks->types);
	policy_init(&ks->pol, &ks->mem, seed);
	watch_init(&ks->watch, &ks->mem);
	tracking_init(&ks->trk, &ks->mem);
	waiters_init(&ks->waiters, &ks->mem);
	ks->st = st;
	ks->seed = seed;
	ks->rnd = rnd != NULL ? rnd : no_random;
	ks->rnd_arg = rnd_arg;
}

void ks_use_types(struct keyspace *ks, const struct kv_type_ops *const *types)
{
	ASSERT(ks_size(ks) == 0);
	ASSERT(types[KV_STRING] != NULL);
	ks->types = types;
	ks->lazy.types = types;
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

static size_t entry_bytes(bool ttl, size_t klen, size_t vbytes)
{
	return sizeof(struct kv) + (ttl ? KV_TTL_BYTES : 0) + kv_key_bytes(klen) + vbytes;
}

/* ---- an entry's memory: a slab slot when small, else malloc's (the
 * table's heap, data/kvheap.h) ---- */

static struct kv *entry_alloc(struct keyspace *ks, size_t n)
{
	return dict_alloc(&ks->d, n);
}

static void entry_release(struct keyspace *ks, struct kv *e)
{
	dict_release(&ks->d, e);
}

/* Resizes an entry to n bytes, keeping the first min(old, n). */
static struct kv *entry_resize(struct keyspace *ks, struct kv *e, size_t n)
{
	return dict_resize_entry(&ks->d, e, n);
}

/* Bytes the entry's value area takes. */
static size_t value_area(const struct kv *e)
{
	return kv_is_obj(e) ? sizeof(void *) : str_value_bytes(e->enc, e->vlen);
}

/* Bytes the entry's layout needs now. */
static size_t entry_need(const struct kv *e)
{
	return entry_bytes(kv_has_ttl(e), kv_klen(e), value_area(e));
}

/* A new entry for key with room for vbytes of value; the value is the
 * caller's to store. */
static struct kv *entry_new(struct keyspace *ks, const char *key, size_t klen, uint32_t hash,
			    bool ttl, size_t vbytes)
{
	struct kv *e;

	ASSERT(klen <= UINT32_MAX);
	e = entry_alloc(ks, entry_bytes(ttl, klen, vbytes));
	e->next = 0;
	e->tag = kv_hash_tag(hash);
	e->vlen = 0;
	e->lru = 0; /* policy_placed() sets it */
	e->type = KV_STRING;
	e->enc = KV_INT;
	e->flags = ttl ? KV_F_TTL : 0;
	kv_set_key(e, key, klen);
	return e;
}

static void obj_store(struct kv *e, enum kv_type type, unsigned enc, void *obj)
{
	ASSERT(type != KV_STRING);
	ASSERT(obj != NULL);
	ASSERT(enc < KV_OBJ_ENCODINGS);
	e->type = type;
	e->vlen = 0;
	kv_set_obj(e, obj, enc);
	ASSERT(kv_obj_enc(e) == enc);
}

/* ---- lookup ---- */

/* A read or write of e, for the eviction policy. */
static inline void touch(struct keyspace *ks, struct kv *e)
{
	if (ks->no_touch)
		return;
	if (policy_touch(&ks->pol, e, ks->now_ms))
		policy_touch_lfu(&ks->pol, e, ks->now_ms, ks_random_u64(ks));
}

bool ks_expired(const struct keyspace *ks, const struct kv *e)
{
	return kv_has_ttl(e) && ks->now_ms > kv_expire(e);
}

/* Frees an unlinked entry; its TTL slot goes too unless another entry took
 * it over (in_index false). */
static void free_entry_idx(struct keyspace *ks, struct kv *e, bool in_index)
{
	if (kv_has_ttl(e) && in_index)
		ttl_remove(&ks->ttl, e);
	obj_release(ks->types, &ks->mem, e);
	entry_release(ks, e);
}

static void free_entry(struct keyspace *ks, struct kv *e)
{
	free_entry_idx(ks, e, true);
}

/* Finds a live entry, deleting it first if it has expired. */
static struct kv *lookup(struct keyspace *ks, const char *key, size_t klen)
{
	kvh *link;
	struct kv *e = dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), &link);

	if (e == NULL)
		return NULL;
	if (ks_expired(ks, e)) {
		uint64_t t0;

		/* key may be the entry's own bytes (SCAN looks its keys up):
		 * whatever reads it comes before the entry is freed. */
		ks_notify(ks, CONFIG_NOTIFY_EXPIRED, "expired", key, klen);
		ks_touched(ks, key, klen, true);
		t0 = ks_lat_start(ks);
		dict_unlink(&ks->d, link);
		free_entry(ks, e);
		ks_lat_end(ks, LATMON_EXPIRE_DEL, t0);
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
		ks_notify(ks, CONFIG_NOTIFY_KEY_MISS, "keymiss", key, klen);
		return NULL;
	}
	ks->st->keyspace_hits++;
	touch(ks, e);
	return e;
}

struct kv *ks_lookup_write(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e != NULL)
		touch(ks, e);
	watch_note(&ks->watch, key, klen);
	tracking_note(&ks->trk, key, klen);
	return e;
}

struct kv *ks_peek(struct keyspace *ks, const char *key, size_t klen)
{
	return lookup(ks, key, klen);
}

bool ks_peek_live(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), NULL);

	return e != NULL && !ks_expired(ks, e);
}

bool ks_is_expired(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), NULL);

	return e != NULL && ks_expired(ks, e);
}

/* The link that holds e (which must be in the dict). */
static kvh *link_of(struct keyspace *ks, const struct kv *e)
{
	kvh *link = NULL;
	struct kv *found = dict_find(&ks->d, kv_key(e), kv_klen(e),
				     ks_hash(ks, kv_key(e), kv_klen(e)), &link);

	ASSERT(found == e);
	(void)found;
	return link;
}

/* After an entry moved to e, points its hash link (found before the move)
 * and TTL slot at the new address. */
static void relink(struct keyspace *ks, kvh *link, struct kv *e)
{
	dict_relink(&ks->d, link, e);
	if (kv_has_ttl(e))
		ttl_moved(&ks->ttl, e);
}

/* ---- writes ---- */

/* Rewrites old's string value in place when the new one takes about the
 * same room (within 32 bytes of what the allocation has, so a value that
 * shrinks a lot still gives memory back). Returns false if it does not fit. */
static bool set_in_place(struct keyspace *ks, struct kv *old, const struct kval *v, bool ttl,
			 int64_t when)
{
	size_t need = entry_bytes(ttl, kv_klen(old), str_value_bytes(v->enc, v->len));
	size_t have = entry_need(old);
	struct val *prev;

	if (old->type != KV_STRING || need > have || need + 32 <= have)
		return false;
	/* The old buffer goes after the new one is stored, in case they are
	 * the same. */
	prev = old->enc == KV_REF ? kv_ref(old) : NULL;
	str_store(&ks->mem, old, v);
	if (prev != NULL) {
		mem_uncharge(&ks->mem, val_size(prev));
		val_unref(prev);
	}
	touch(ks, old);
	old->flags &= ~KV_F_NOSHARE;
	if (ttl)
		kv_set_expire_field(old, when);
	return true;
}

/* Puts the new entry e in the table: as a new key, or in place of old (held
 * by link), carrying the TTL slot over when both have one. */
static void place_entry(struct keyspace *ks, kvh *link, struct kv *old, struct kv *e, int64_t when,
			uint32_t hash)
{
	bool old_ttl, ttl = kv_has_ttl(e);

	policy_placed(&ks->pol, e, old, ks->now_ms);
	if (ttl)
		policy_ttl_added(&ks->pol);
	if (old == NULL) {
		ks_notify(ks, CONFIG_NOTIFY_NEW, "new", kv_key(e), kv_klen(e));
		dict_insert(&ks->d, e, hash);
		if (ttl)
			ttl_add(&ks->ttl, e, when);
		return;
	}
	old_ttl = kv_has_ttl(old);
	dict_replace(&ks->d, link, old, e);
	if (old_ttl && ttl) {
		/* The new entry takes over the old one's TTL slot. */
		kv_set_ttl_pos(e, kv_ttl_pos(old));
		kv_set_expire_field(e, when);
		ttl_moved(&ks->ttl, e);
		free_entry_idx(ks, old, false);
		return;
	}
	if (ttl)
		ttl_add(&ks->ttl, e, when);
	free_entry(ks, old);
}

/* The TTL a write leaves: *when is the expire time if it returns true. */
static bool ttl_after(const struct keyspace *ks, const struct kv *old, int64_t expire_ms,
		      int64_t *when)
{
	bool keep = expire_ms == KS_TTL_KEEP && old != NULL && kv_has_ttl(old) &&
		    !ks_expired(ks, old);

	ASSERT(expire_ms >= 0 || expire_ms == KS_TTL_NONE || expire_ms == KS_TTL_KEEP);
	*when = keep ? kv_expire(old) : expire_ms;
	return expire_ms >= 0 || keep;
}

/* Where a write of key goes: the link that holds its entry (or NULL), the
 * entry, and the TTL the write leaves. */
struct ks_place {
	uint32_t hash;
	kvh *link;
	struct kv *old;
	bool ttl;
	int64_t when;
};

static inline void find_place(struct keyspace *ks, const char *key, size_t klen, int64_t expire_ms,
			      struct ks_place *at)
{
	at->hash = ks_hash(ks, key, klen);
	at->link = NULL;
	at->old = dict_find(&ks->d, key, klen, at->hash, &at->link);
	at->ttl = ttl_after(ks, at->old, expire_ms, &at->when);
	ks->dirty++;
	ks_touched(ks, key, klen, false);
}

struct kv *ks_set(struct keyspace *ks, const char *key, size_t klen, const struct kval *v,
		  int64_t expire_ms)
{
	struct ks_place at;
	struct kv *e;

	find_place(ks, key, klen, expire_ms, &at);
	if (at.old != NULL && kv_has_ttl(at.old) == at.ttl &&
	    set_in_place(ks, at.old, v, at.ttl, at.when))
		return at.old;
	e = entry_new(ks, key, klen, at.hash, at.ttl, str_value_bytes(v->enc, v->len));
	str_store(&ks->mem, e, v);
	place_entry(ks, at.link, at.old, e, at.when, at.hash);
	return e;
}

struct kv *ks_set_obj(struct keyspace *ks, const char *key, size_t klen, enum kv_type type,
		      unsigned enc, void *obj, int64_t expire_ms)
{
	struct ks_place at;
	struct kv *e;

	ASSERT(type < KV_TYPE_COUNT);
	ASSERT(ks->types[type] != NULL);
	find_place(ks, key, klen, expire_ms, &at);
	e = entry_new(ks, key, klen, at.hash, at.ttl, sizeof(obj));
	obj_store(e, type, enc, obj);
	place_entry(ks, at.link, at.old, e, at.when, at.hash);
	/* A list or sorted set under a key clients block on: they may pop. */
	waiters_touch(&ks->waiters, key, klen);
	return e;
}

uint64_t ks_lat_start(const struct keyspace *ks)
{
	return __builtin_expect(ks->lat.threshold_ms == 0, 1) ? 0 : ks->lat.now_ns(ks->lat.arg);
}

void ks_lat_end(struct keyspace *ks, int event, uint64_t t0)
{
	uint64_t now, ms;

	if (__builtin_expect(ks->lat.threshold_ms == 0, 1))
		return;
	now = ks->lat.now_ns(ks->lat.arg);
	ms = now > t0 ? (now - t0) / 1000000 : 0;
	if (ms >= ks->lat.threshold_ms)
		latmon_add(ks->lat.mon, (enum latmon_event)event, (int64_t)(now / 1000000000), ms);
}

void ks_delete_expired(struct keyspace *ks, struct kv *e)
{
	uint64_t t0;

	ks_notify(ks, CONFIG_NOTIFY_EXPIRED, "expired", kv_key(e), kv_klen(e));
	t0 = ks_lat_start(ks);
	ks_delete_entry(ks, e);
	ks_lat_end(ks, LATMON_EXPIRE_DEL, t0);
}

void ks_delete_entry(struct keyspace *ks, struct kv *e)
{
	kvh *link = link_of(ks, e);

	ks_touched(ks, kv_key(e), kv_klen(e), true);
	dict_unlink(&ks->d, link);
	free_entry(ks, e);
	ks->dirty++;
}

bool ks_unlink(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e == NULL)
		return false;
	if (!obj_free_later(ks->types, e)) {
		ks_delete_entry(ks, e);
		return true;
	}
	dict_unlink(&ks->d, link_of(ks, e));
	if (kv_has_ttl(e))
		ttl_remove(&ks->ttl, e);
	lazy_add_obj(&ks->lazy, obj_type(ks->types, e), kv_obj(e), kv_obj_enc(e));
	ks_touched(ks, key, klen, true);
	entry_release(ks, e);
	ks->dirty++;
	return true;
}

bool ks_delete(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = lookup(ks, key, klen);

	if (e == NULL)
		return false;
	ks_delete_entry(ks, e);
	return true;
}

bool ks_delete_stale(struct keyspace *ks, const char *key, size_t klen)
{
	struct kv *e = dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), NULL);

	if (e == NULL)
		return false;
	ks_delete_entry(ks, e);
	return true;
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

/* ks_edit of a KV_REF value: in its buffer, or a new one if the buffer is
 * shared with a reply in flight or too small. */
static char *edit_ref(struct keyspace *ks, struct kv *e, size_t newlen, size_t keep)
{
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

char *ks_edit(struct keyspace *ks, struct kv **ep, size_t newlen)
{
	struct kv *e = *ep;
	char numbuf[UTIL_LL_CHARS];
	size_t oldlen, keep;
	const char *old;
	kvh *link;

	ASSERT(e->type == KV_STRING);
	ASSERT(newlen <= (size_t)PROTO_BULK_MAX_MAX);
	ks->dirty++;
	ks_touched(ks, kv_key(e), kv_klen(e), false);
	old = str_value(e, numbuf, &oldlen);
	keep = oldlen < newlen ? oldlen : newlen;
	if (e->enc == KV_REF)
		return edit_ref(ks, e, newlen, keep);
	link = link_of(ks, e);
	if (newlen >= VAL_REF_MIN) {
		struct val *n = val_new(grow_cap(newlen));
		memcpy(n->data, old, keep);
		memset(n->data + keep, 0, newlen - keep);
		val_seal(n, newlen);
		mem_charge(&ks->mem, val_size(n));
		e = entry_resize(ks, e, entry_bytes(kv_has_ttl(e), kv_klen(e), sizeof(n)));
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
		e = entry_resize(ks, e, entry_bytes(kv_has_ttl(e), kv_klen(e), newlen));
		relink(ks, link, e);
		if (was_int)
			memcpy(kv_vptr(e), numbuf, keep);
	}
	memset(kv_vptr(e) + keep, 0, newlen - keep);
	e->enc = KV_RAW;
	ASSERT(newlen < VAL_REF_MIN);
	e->vlen = (uint16_t)newlen;
	*ep = e;
	return kv_vptr(e);
}

struct kv *ks_set_expire(struct keyspace *ks, struct kv *e, int64_t when_ms)
{
	kvh *link;
	size_t rest;

	ASSERT(when_ms >= 0);
	ks->dirty++;
	ks_touched(ks, kv_key(e), kv_klen(e), false);
	if (kv_has_ttl(e)) {
		kv_set_expire_field(e, when_ms);
		return e;
	}
	link = link_of(ks, e);
	rest = kv_key_bytes(kv_klen(e)) + value_area(e);
	e = entry_resize(ks, e, entry_bytes(true, kv_klen(e), value_area(e)));
	dict_relink(&ks->d, link, e);
	memmove(e->data + KV_TTL_BYTES, e->data, rest);
	e->flags |= KV_F_TTL;
	ttl_add(&ks->ttl, e, when_ms);
	policy_ttl_added(&ks->pol);
	return e;
}

struct kv *ks_persist(struct keyspace *ks, struct kv *e)
{
	kvh *link;
	size_t rest;

	if (!kv_has_ttl(e))
		return e;
	ks->dirty++;
	ks_touched(ks, kv_key(e), kv_klen(e), false);
	link = link_of(ks, e);
	ttl_remove(&ks->ttl, e);
	rest = kv_key_bytes(kv_klen(e)) + value_area(e);
	memmove(e->data, e->data + KV_TTL_BYTES, rest);
	e->flags &= ~KV_F_TTL;
	e = entry_resize(ks, e, entry_bytes(false, kv_klen(e), value_area(e)));
	dict_relink(&ks->d, link, e);
	return e;
}

void ks_copy(struct keyspace *ks, const struct kv *e, const char *dst, size_t dlen)
{
	const struct kv_type_ops *t;
	struct kval v;
	struct kv *n;
	int64_t when = kv_has_ttl(e) ? kv_expire(e) : KS_TTL_NONE;

	if (kv_is_obj(e)) {
		/* A copy owns its own object, as Redis duplicates the value. */
		t = obj_type(ks->types, e);
		ASSERT(t->dup != NULL);
		ks_set_obj(ks, dst, dlen, e->type, kv_obj_enc(e),
			   t->dup(&ks->mem, kv_obj(e), kv_obj_enc(e)), when);
		return;
	}
	str_kval_of(e, &v);
	/* A copy owns its own buffer, as Redis duplicates the object; a copied
	 * integer is a new object, never a shared one. */
	v.v = NULL;
	n = ks_set(ks, dst, dlen, &v, when);
	if (n->enc == KV_INT)
		n->flags |= KV_F_NOSHARE;
}

/* A renamed key keeps its LRU clock or LFU counter, as Redis's object moves
 * with them; in a SIEVE queue it joined as a new key. */
static void keep_lru(struct keyspace *ks, struct kv *e, uint32_t lru)
{
	if (ks->pol.mode != POLICY_MODE_SIEVE)
		e->lru = lru;
}

/* ks_rename of an object: the object itself moves to the new entry. */
static void rename_obj(struct keyspace *ks, struct kv *src, struct keyspace *dks, const char *dst,
		       size_t dlen, int64_t when)
{
	uint32_t lru = src->lru;
	enum kv_type type = src->type;
	unsigned enc = kv_obj_enc(src);
	void *obj = kv_obj(src);
	/* Unlinked and freed without releasing the object, whose memory moves
	 * from ks's account to dks's. */
	dict_unlink(&ks->d, link_of(ks, src));
	if (kv_has_ttl(src))
		ttl_remove(&ks->ttl, src);
	if (dks != ks) {
		const struct kv_type_ops *t = obj_type(ks->types, src);
		size_t n = obj_size(ks->types, src);
		mem_uncharge(&ks->mem, n);
		mem_charge(&dks->mem, n);
		if (t->rebind != NULL)
			t->rebind(obj, enc, &dks->mem);
	}
	ks_touched(ks, kv_key(src), kv_klen(src), true);
	entry_release(ks, src);
	ks->dirty++;
	keep_lru(dks, ks_set_obj(dks, dst, dlen, type, enc, obj, when), lru);
}

void ks_rename(struct keyspace *ks, struct kv *src, struct keyspace *dks, const char *dst,
	       size_t dlen)
{
	struct kval v;
	int64_t when = kv_has_ttl(src) ? kv_expire(src) : KS_TTL_NONE;
	struct val *held = NULL;
	bool noshare = (src->flags & KV_F_NOSHARE) != 0;
	uint32_t lru = src->lru;
	struct kv *n;

	if (kv_is_obj(src)) {
		rename_obj(ks, src, dks, dst, dlen, when);
		return;
	}
	str_kval_of(src, &v);
	if (src->enc == KV_REF)
		held = val_ref(v.v); /* keep it alive while src goes */
	else if (src->enc != KV_INT)
		held = val_copy(v.p, v.len), v.p = held->data; /* src bytes move */
	ks_delete_entry(ks, src);
	n = ks_set(dks, dst, dlen, &v, when);
	keep_lru(dks, n, lru);
	/* The object moves in Redis: an unshared integer stays unshared. */
	if (noshare)
		n->flags |= KV_F_NOSHARE;
	val_unref(held);
}

/* ---- flush ---- */

static void free_entry_chain(struct keyspace *ks, struct kv *e)
{
	while (e != NULL) {
		struct kv *next = dict_next(&ks->d, e);
		obj_release(ks->types, &ks->mem, e);
		entry_release(ks, e);
		e = next;
	}
}

/* FLUSHALL changes every watched key that exists (Redis's
 * touchAllWatchedKeysInDb): a watched key that was missing stays unchanged. */
static void touch_if_present(void *arg, const char *key, size_t klen)
{
	struct keyspace *ks = arg;

	if (dict_find(&ks->d, key, klen, ks_hash(ks, key, klen), NULL) != NULL)
		watch_touch_slow(&ks->watch, key, klen, true);
}

void ks_flush(struct keyspace *ks, bool async)
{
	uint64_t n = ks_size(ks);

	ks->dirty += n;
	if (ks->watch.n > 0)
		watch_each(&ks->watch, touch_if_present, ks);
	/* Every client that caches hears of it, whether it cached a key here
	 * or not (Redis's trackingInvalidateKeysOnFlush). */
	tracking_flushed(&ks->trk);
	/* The TTL index and the policy's queue go first: entries are freed
	 * without them. */
	ttl_clear(&ks->ttl);
	policy_clear(&ks->pol);
	if (async && n > 0) {
		lazy_add(&ks->lazy, &ks->d, n);
	} else {
		uint64_t i;
		for (i = 0; i < dict_buckets(&ks->d); i++)
			free_entry_chain(ks, dict_bucket(&ks->d, i));
		dict_free_tables(&ks->d);
		if (ks->lazy.head == NULL)
			slab_trim(&ks->slab);
	}
	/* The flushed table's heap went with it (its cells are the
	 * background free's); the new one starts empty, on the same slab. */
	dict_init(&ks->d, &ks->mem, ks->seed);
	dict_use_slab(&ks->d, &ks->slab);
}

bool ks_lazy_step(struct keyspace *ks, unsigned n)
{
	bool flushing = ks->lazy.head != NULL;
	bool more = lazy_step(&ks->lazy, n, &ks->st->lazyfreed_objects);

	/* A flush's last entries gone: the slab's empty pages go too. */
	if (flushing && ks->lazy.head == NULL && ks_size(ks) == 0)
		slab_trim(&ks->slab);
	return more;
}

void ks_free(struct keyspace *ks)
{
	/* Its end is no flush that a client should hear of. */
	tracking_unhook(&ks->trk);
	ks_flush(ks, false);
	while (ks_lazy_step(ks, 1u << 30))
		;
	dict_free_tables(&ks->d);
	slab_destroy(&ks->slab);
	watch_free(&ks->watch);
	tracking_free(&ks->trk);
	waiters_free(&ks->waiters);
	ASSERT(ks->mem.used == 0);
}

void ks_cron(struct keyspace *ks, unsigned rehash_steps)
{
	dict_try_shrink(&ks->d);
	dict_rehash(&ks->d, rehash_steps);
}

/* ---- sampling ---- */

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
		ks_delete_expired(ks, e);
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
	return policy_lru_clock(ks->now_ms);
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
	/* The entry, its bucket, and its cell if it has one. */
	size_t n = dict_entry_size(&ks->d, e) + sizeof(kvh) + obj_size(ks->types, e);

	if (kvh_indirect(&ks->d.heap, e))
		n += sizeof(struct kv *);

	if (kv_has_ttl(e))
		n += sizeof(struct kv *);
	return n;
}

const char *ks_type_name(const struct keyspace *ks, const struct kv *e)
{
	return obj_type(ks->types, e)->name;
}

const char *ks_encoding_name(const struct keyspace *ks, const struct kv *e)
{
	return obj_encoding(ks->types, e);
}

long long ks_refcount(const struct kv *e)
{
	return e->type == KV_STRING ? str_refcount(e) : 1;
}

uint64_t ks_slot_keys(const struct keyspace *ks, unsigned slot, uint64_t max,
		      void (*fn)(void *arg, const struct kv *e), void *arg)
{
	uint64_t n = 0, i;

	for (i = 0; i < dict_buckets(&ks->d); i++) {
		const struct kv *e;
		for (e = dict_bucket(&ks->d, i); e != NULL && n < max; e = dict_next(&ks->d, e)) {
			if (hash_slot(kv_key(e), kv_klen(e)) != slot)
				continue;
			if (fn != NULL)
				fn(arg, e);
			n++;
		}
	}
	return n;
}
