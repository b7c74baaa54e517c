/* types.c: see types.h. */
#include "data/types.h"

#include "data/object.h"
#include "data/t_hash.h"
#include "data/t_zset.h"
#include "data/t_set.h"
#include "data/t_list.h"

static const struct kv_type_ops string_type = { .name = "string" };

const struct kv_type_ops *const kv_types[KV_TYPE_COUNT] = {
	[KV_STRING] = &string_type, [KV_ZSET] = &zset_type, [KV_SET] = &set_type,
	[KV_LIST] = &list_type,     [KV_HASH] = &hash_type,
};
