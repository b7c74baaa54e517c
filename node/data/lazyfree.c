/* lazyfree.c: see lazyfree.h. */
#include "data/lazyfree.h"

#include "base/assert.h"
#include "base/mem.h"
#include "data/kv.h"
#include "data/object.h"

void lazy_init(struct lazyfree *lz, struct mem *mem, const struct kv_type_ops *const *types)
{
	ASSERT(mem != NULL);
	ASSERT(types != NULL);
	lz->head = NULL;
	lz->pending = 0;
	lz->objs = NULL;
	lz->pending_objs = 0;
	lz->mem = mem;
	lz->types = types;
}

void lazy_add(struct lazyfree *lz, const struct dict *d, uint64_t entries)
{
	struct lazy_table *t = mem_alloc(lz->mem, sizeof(*t));

	ASSERT(entries > 0);
	t->d = *d;
	t->bucket = 0;
	t->next = lz->head;
	lz->head = t;
	lz->pending += entries;
}

void lazy_add_obj(struct lazyfree *lz, const struct kv_type_ops *t, void *obj, unsigned enc)
{
	struct lazy_obj *o = mem_alloc(lz->mem, sizeof(*o));

	ASSERT(t->free_step != NULL);
	o->type = t;
	o->obj = obj;
	o->enc = enc;
	o->bytes = t->size(obj, enc);
	o->next = lz->objs;
	lz->objs = o;
	lz->pending_objs++;
}

struct chain_acc {
	struct lazyfree *lz;
	struct dict *d; /* the table being freed: its heap holds the entries */
	uint64_t *freed;
};

/* One entry of a flushed table: a big value goes to the value queue, to be
 * freed in steps of its own; anything else is freed now. */
static void free_entry_cb(void *arg, struct kv *e)
{
	struct chain_acc *a = arg;
	struct lazyfree *lz = a->lz;

	if (obj_free_later(lz->types, e))
		lazy_add_obj(lz, obj_type(lz->types, e), kv_obj(e), kv_obj_enc(e));
	else
		obj_release(lz->types, lz->mem, e);
	dict_release(a->d, e);
	ASSERT(lz->pending > 0);
	lz->pending--;
	(*a->freed)++;
}

static void step_tables(struct lazyfree *lz, unsigned *n, uint64_t *freed)
{
	struct chain_acc a = { .lz = lz, .freed = freed };

	while (lz->head != NULL && *n > 0) {
		struct lazy_table *t = lz->head;
		a.d = &t->d;
		if (!dict_free_some(&t->d, &t->bucket, n, free_entry_cb, &a))
			return;
		lz->head = t->next;
		mem_free(lz->mem, t);
	}
}

static void step_objs(struct lazyfree *lz, unsigned *n, uint64_t *freed)
{
	while (lz->objs != NULL && *n > 0) {
		struct lazy_obj *o = lz->objs;
		size_t before = lz->mem->used;
		bool done = o->type->free_step(lz->mem, o->obj, o->enc, n);
		size_t gone = before - lz->mem->used;
		ASSERT(gone <= o->bytes);
		o->bytes -= gone;
		if (!done) {
			ASSERT(*n == 0);
			return;
		}
		ASSERT(o->bytes == 0);
		lz->objs = o->next;
		lz->pending_objs--;
		(*freed)++;
		mem_free(lz->mem, o);
	}
}

bool lazy_step(struct lazyfree *lz, unsigned n, uint64_t *freed)
{
	/* Tables first: their big values join the value queue as they go. */
	step_tables(lz, &n, freed);
	step_objs(lz, &n, freed);
	return lz->head != NULL || lz->objs != NULL;
}

void lazy_account(const struct lazyfree *lz, uint64_t *bytes, uint64_t *entries, uint64_t *objs)
{
	const struct lazy_table *t;
	const struct lazy_obj *o;
	uint64_t i;

	*bytes = 0;
	*entries = 0;
	*objs = 0;
	for (t = lz->head; t != NULL; t = t->next) {
		*bytes += mem_size(t) + dict_mem(&t->d);
		for (i = 0; i < dict_buckets(&t->d); i++) {
			const struct kv *e;
			for (e = dict_bucket(&t->d, i); e != NULL; e = dict_next(&t->d, e)) {
				*bytes += dict_entry_size(&t->d, e) + obj_size(lz->types, e);
				(*entries)++;
			}
		}
	}
	for (o = lz->objs; o != NULL; o = o->next) {
		*bytes += mem_size(o) + o->bytes;
		(*objs)++;
	}
}
