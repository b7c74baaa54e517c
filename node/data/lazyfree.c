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

/* Frees a chain of entries; returns how many. */
static unsigned free_chain(struct lazyfree *lz, struct kv *e)
{
	unsigned n = 0;

	while (e != NULL) {
		struct kv *next = e->next;
		obj_release(lz->types, lz->mem, e);
		mem_free(lz->mem, e);
		e = next;
		n++;
	}
	return n;
}

bool lazy_step(struct lazyfree *lz, unsigned n, uint64_t *freed)
{
	while (lz->head != NULL && n > 0) {
		struct lazy_table *t = lz->head;
		/* Both tables in one walk: t[0] then t[1]. */
		uint64_t total = t->d.size[0] + t->d.size[1];
		while (t->bucket < total && n > 0) {
			uint64_t b = t->bucket++;
			struct kv **slot = b < t->d.size[0] ? &t->d.t[0][b]
							    : &t->d.t[1][b - t->d.size[0]];
			unsigned k = free_chain(lz, *slot);
			*slot = NULL;
			ASSERT(lz->pending >= k);
			lz->pending -= k;
			*freed += k;
			/* An empty bucket costs one unit of work, as an entry. */
			k = k ? k : 1;
			n = k >= n ? 0 : n - k;
		}
		if (t->bucket < total)
			return true;
		dict_free_tables(&t->d);
		lz->head = t->next;
		mem_free(lz->mem, t);
	}
	return lz->head != NULL;
}

void lazy_account(const struct lazyfree *lz, uint64_t *bytes, uint64_t *entries)
{
	const struct lazy_table *t;
	uint64_t i;
	int k;

	*bytes = 0;
	*entries = 0;
	for (t = lz->head; t != NULL; t = t->next) {
		*bytes += mem_size(t) + dict_mem(&t->d);
		for (k = 0; k <= 1; k++)
			for (i = 0; i < t->d.size[k]; i++) {
				const struct kv *e;
				for (e = t->d.t[k][i]; e != NULL; e = e->next) {
					*bytes += mem_size(e) + obj_size(lz->types, e);
					(*entries)++;
				}
			}
	}
}
