/* t_list.c: the list type's two encodings. See t_list.h.
 *
 * The listpack encoding works on the listpack directly, as Redis's t_list.c
 * does; the quicklist encoding goes through quicklist.h. Every change of a
 * listpack may move it, so each one ends with kv_set_obj(). */
#include "data/t_list.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"
#include "data/kv.h"
#include "data/listpack.h"
#include "data/quicklist.h"

static unsigned char *lp_of(const struct kv *e)
{
	ASSERT(e->type == KV_LIST);
	ASSERT(kv_obj_enc(e) == LIST_LP);
	return kv_obj(e);
}

static struct quicklist *ql_of(const struct kv *e)
{
	ASSERT(e->type == KV_LIST);
	ASSERT(kv_obj_enc(e) == LIST_QL);
	return kv_obj(e);
}

static void set_lp(struct kv *e, unsigned char *lp)
{
	kv_set_obj(e, lp, LIST_LP);
}

/* ---- the type's hooks ---- */

static void list_free(struct mem *mem, void *obj, unsigned enc)
{
	if (enc == LIST_LP) {
		lp_free(mem, obj);
		return;
	}
	ASSERT(((struct quicklist *)obj)->mem == mem);
	quicklist_free(obj);
}

static void *list_dup(struct mem *mem, const void *obj, unsigned enc)
{
	if (enc == LIST_LP) {
		size_t n = lp_bytes(obj);
		unsigned char *lp = mem_alloc(mem, n);
		memcpy(lp, obj, n);
		return lp;
	}
	return quicklist_dup(mem, obj);
}

static size_t list_size(const void *obj, unsigned enc)
{
	return enc == LIST_LP ? mem_size(obj) : quicklist_bytes(obj);
}

static const char *list_encoding(const void *obj, unsigned enc)
{
	(void)obj;
	ASSERT(enc <= LIST_QL);
	return enc == LIST_LP ? "listpack" : "quicklist";
}

static void list_rebind(void *obj, unsigned enc, struct mem *mem)
{
	if (enc == LIST_QL)
		quicklist_rebind(obj, mem);
}

/* A valid listpack or quicklist, never empty. */
static bool list_check(const void *obj, unsigned enc)
{
	const struct quicklist *ql = obj;

	if (enc == LIST_LP) {
		const unsigned char *lp = obj;
		return lp_valid(lp, lp_bytes(lp), true) && lp_length(lp) > 0;
	}
	return quicklist_check(ql) && ql->count > 0;
}

/* As Redis counts it (lazyfreeGetFreeEffort): a quicklist's nodes, a
 * listpack one allocation. */
static uint64_t list_effort(const void *obj, unsigned enc)
{
	return enc == LIST_QL ? ((const struct quicklist *)obj)->len : 1;
}

static bool list_free_step(struct mem *mem, void *obj, unsigned enc, unsigned *budget)
{
	if (enc == LIST_LP) {
		lp_free(mem, obj);
		*budget = *budget > 0 ? *budget - 1 : 0;
		return true;
	}
	ASSERT(((struct quicklist *)obj)->mem == mem);
	return quicklist_free_some(obj, budget);
}

const struct kv_type_ops list_type = {
	.name = "list",
	.free = list_free,
	.dup = list_dup,
	.size = list_size,
	.encoding = list_encoding,
	.rebind = list_rebind,
	.check = list_check,
	.effort = list_effort,
	.free_step = list_free_step,
};

/* ---- the list ---- */

void *list_new(struct mem *mem)
{
	return lp_new(mem);
}

uint64_t list_len(const struct kv *e)
{
	if (kv_obj_enc(e) == LIST_LP)
		return lp_length(lp_of(e));
	return ql_of(e)->count;
}

void list_grow(struct mem *mem, struct kv *e, const struct list_limits *lim, size_t bytes,
	       size_t count)
{
	unsigned char *lp;
	struct quicklist *ql;

	if (kv_obj_enc(e) != LIST_LP)
		return;
	lp = lp_of(e);
	if (!quicklist_node_exceeds(lim->fill, lp_bytes(lp) + bytes, lp_length(lp) + count))
		return;
	ql = quicklist_new(mem, lim->fill, lim->compress);
	if (lp_length(lp) > 0)
		quicklist_append_lp(ql, lp);
	else
		lp_free(mem, lp);
	kv_set_obj(e, ql, LIST_QL);
}

void list_shrink(struct mem *mem, struct kv *e, const struct list_limits *lim)
{
	struct quicklist *ql;
	size_t size;
	uint64_t count;

	(void)mem;
	if (kv_obj_enc(e) != LIST_QL)
		return;
	ql = ql_of(e);
	if (ql->len != 1)
		return;
	/* Half the limit, so that a list at the limit does not flip back and
	 * forth. */
	quicklist_node_limit(lim->fill, &size, &count);
	if (ql->head->sz > size / 2 || ql->count > count / 2)
		return;
	set_lp(e, quicklist_release_lp(ql));
}

void list_push(struct mem *mem, struct kv *e, const char *s, size_t len, bool tail)
{
	unsigned char *lp;

	ASSERT(len <= LIST_ELEMENT_MAX);
	if (kv_obj_enc(e) == LIST_QL) {
		quicklist_push(ql_of(e), s, len, tail ? QUICKLIST_TAIL : QUICKLIST_HEAD);
		return;
	}
	lp = lp_of(e);
	set_lp(e, tail ? lp_append(mem, lp, s, len) : lp_prepend(mem, lp, s, len));
}

void list_del_range(struct mem *mem, struct kv *e, long start, long count)
{
	if (count <= 0)
		return;
	if (kv_obj_enc(e) == LIST_QL)
		quicklist_del_range(ql_of(e), start, count);
	else
		set_lp(e, lp_delete_range(mem, lp_of(e), start, (unsigned long)count));
}

bool list_replace_at(struct mem *mem, struct kv *e, long index, const char *s, size_t len)
{
	unsigned char *lp, *p;

	ASSERT(len <= LIST_ELEMENT_MAX);
	if (kv_obj_enc(e) == LIST_QL)
		return quicklist_replace_at(ql_of(e), index, s, len);
	lp = lp_of(e);
	p = lp_seek(lp, index);
	if (p == NULL)
		return false;
	set_lp(e, lp_replace(mem, lp, &p, s, len));
	return true;
}

size_t list_val_len(const struct list_val *v)
{
	char buf[UTIL_LL_CHARS];

	return v->is_int ? (size_t)util_ll2str(buf, v->ival) : v->len;
}

/* ---- iteration ---- */

void list_iter_init(struct list_iter *it, struct mem *mem, struct kv *e, long index, bool forward)
{
	memset(it, 0, sizeof(*it));
	it->mem = mem;
	it->e = e;
	it->forward = forward;
	if (kv_obj_enc(e) == LIST_LP)
		it->next = lp_seek(lp_of(e), index);
	else
		quicklist_iter_at(ql_of(e), index, forward, &it->qi);
}

static void val_of(const unsigned char *p, struct list_val *v)
{
	int64_t i;
	uint32_t len;
	const unsigned char *s = lp_get(p, &i, &len);

	memset(v, 0, sizeof(*v));
	if (s == NULL) {
		v->is_int = true;
		v->ival = i;
	} else {
		v->p = (const char *)s;
		v->len = len;
	}
}

bool list_iter_next(struct list_iter *it, struct list_val *v)
{
	if (kv_obj_enc(it->e) == LIST_QL) {
		it->cur = quicklist_next(&it->qi);
	} else {
		unsigned char *lp = lp_of(it->e);
		it->cur = it->next;
		if (it->cur != NULL)
			it->next = it->forward ? lp_next(lp, it->cur) : lp_prev(lp, it->cur);
	}
	if (it->cur == NULL)
		return false;
	val_of(it->cur, v);
	return true;
}

bool list_iter_eq(const struct list_iter *it, const char *s, size_t len)
{
	ASSERT(it->cur != NULL);
	return lp_eq(it->cur, s, len);
}

void list_iter_delete(struct list_iter *it)
{
	unsigned char *lp, *p;

	ASSERT(it->cur != NULL);
	if (kv_obj_enc(it->e) == LIST_QL) {
		quicklist_del_current(&it->qi);
		it->cur = NULL;
		return;
	}
	lp = lp_delete(it->mem, lp_of(it->e), it->cur, &p);
	set_lp(it->e, lp);
	/* Redis's listTypeDelete: on from the deleted element's place. */
	if (it->forward)
		it->next = p;
	else
		it->next = p != NULL ? lp_prev(lp, p) : lp_last(lp);
	it->cur = NULL;
}

void list_iter_insert(struct list_iter *it, const char *s, size_t len, bool after)
{
	ASSERT(it->cur != NULL);
	ASSERT(len <= LIST_ELEMENT_MAX);
	if (kv_obj_enc(it->e) == LIST_QL) {
		quicklist_insert_current(&it->qi, s, len, after);
	} else {
		set_lp(it->e, lp_insert(it->mem, lp_of(it->e), s, len, it->cur,
					after ? LP_AFTER : LP_BEFORE, NULL));
	}
	it->cur = NULL;
	it->next = NULL;
}

void list_iter_release(struct list_iter *it)
{
	if (kv_obj_enc(it->e) == LIST_QL)
		quicklist_iter_release(&it->qi);
	it->cur = NULL;
	it->next = NULL;
}
