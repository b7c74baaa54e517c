/* object.c: the type table, and value operations of any type. See
 * object.h. */
#include "data/object.h"

#include "base/assert.h"
#include "base/limits.h"
#include "data/t_string.h"

const struct kv_type_ops *obj_type(const struct kv_type_ops *const *types, const struct kv *e)
{
	const struct kv_type_ops *t;

	ASSERT(e->type < KV_TYPE_COUNT);
	t = types[e->type];
	/* A value of a type is only ever stored when the type exists. */
	ASSERT(t != NULL);
	return t;
}

void obj_release(const struct kv_type_ops *const *types, struct mem *mem, struct kv *e)
{
	const struct kv_type_ops *t;

	if (!kv_is_obj(e)) {
		str_release(mem, e);
		return;
	}
	t = obj_type(types, e);
	ASSERT(t->free != NULL);
	t->free(mem, kv_obj(e), kv_obj_enc(e));
}

size_t obj_size(const struct kv_type_ops *const *types, const struct kv *e)
{
	const struct kv_type_ops *t;

	if (!kv_is_obj(e))
		return str_size(e);
	t = obj_type(types, e);
	ASSERT(t->size != NULL);
	return t->size(kv_obj(e), kv_obj_enc(e));
}

bool obj_free_later(const struct kv_type_ops *const *types, const struct kv *e)
{
	const struct kv_type_ops *t;

	if (!kv_is_obj(e))
		return false;
	t = obj_type(types, e);
	return t->free_step != NULL && t->effort != NULL &&
	       t->effort(kv_obj(e), kv_obj_enc(e)) > LAZYFREE_EFFORT_THRESHOLD;
}

const char *obj_encoding(const struct kv_type_ops *const *types, const struct kv *e)
{
	const struct kv_type_ops *t;

	if (!kv_is_obj(e))
		return str_encoding(e);
	t = obj_type(types, e);
	ASSERT(t->encoding != NULL);
	return t->encoding(kv_obj(e), kv_obj_enc(e));
}
