/* keyspace_check.c: see keyspace_check.h. */
#include "data/keyspace_check.h"

#include "data/keyspace.h"

struct check_acc {
	const struct keyspace *ks;
	uint64_t entries, ttl, bytes;
	int bad;
};

static void check_entry(struct check_acc *a, const struct kv *e, int line)
{
	a->entries++;
	a->bytes += dict_entry_size(&a->ks->d, e);
	if ((e->type == KV_STRING) == kv_is_obj(e) && !a->bad)
		a->bad = -line;
	if ((e->type >= KV_TYPE_COUNT || a->ks->types[e->type] == NULL) && !a->bad)
		a->bad = -line;
	if (!a->bad)
		a->bytes += obj_size(a->ks->types, e);
	if (!a->bad && kv_is_obj(e)) {
		const struct kv_type_ops *t = obj_type(a->ks->types, e);
		if (t->check != NULL && !t->check(kv_obj(e), kv_obj_enc(e)))
			a->bad = -line;
	}
	if (kv_has_ttl(e)) {
		uint32_t pos = kv_ttl_pos(e);
		a->ttl++;
		if ((pos >= a->ks->ttl.n || a->ks->ttl.v[pos] != e) && !a->bad)
			a->bad = -line;
	}
}

int ks_check(struct keyspace *ks)
{
	struct check_acc a = { .ks = ks };
	uint64_t i, lazy_bytes, lazy_entries, lazy_objs;

	/* dict_check() puts every entry in its hash's bucket and checks its
	 * tag, with the table's seed, which must be the keyspace's. */
	if (ks->d.seed != ks->seed || ks->d.hash_fn != NULL || !dict_check(&ks->d))
		return -__LINE__;
	for (i = 0; i < dict_buckets(&ks->d); i++) {
		const struct kv *e;
		for (e = dict_bucket(&ks->d, i); e != NULL; e = dict_next(&ks->d, e))
			check_entry(&a, e, __LINE__);
	}
	if (a.bad)
		return a.bad;
	if (a.ttl != ks->ttl.n || ks->ttl.n > ks->ttl.cap)
		return -__LINE__;
	for (i = 0; i < ks->ttl.n; i++) {
		if (!kv_has_ttl(ks->ttl.v[i]) || kv_ttl_pos(ks->ttl.v[i]) != i)
			return -__LINE__;
	}
	a.bytes += dict_mem(&ks->d) + ttl_mem(&ks->ttl) + policy_mem(&ks->pol) +
		   slab_mem(&ks->slab) + watch_mem(&ks->watch) + waiters_mem(&ks->waiters) +
		   tracking_mem(&ks->trk);
	lazy_account(&ks->lazy, &lazy_bytes, &lazy_entries, &lazy_objs);
	if (lazy_entries != ks->lazy.pending || lazy_objs != ks->lazy.pending_objs)
		return -__LINE__;
	if (a.bytes + lazy_bytes != ks->mem.used)
		return -__LINE__;
	return 0;
}
