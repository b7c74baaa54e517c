/* types.h: the node's table of value types.
 *
 * One row per enum kv_type (kv.h) that cairn implements, each a type's
 * hooks (object.h); a type not implemented yet has no row (NULL), and no
 * value of it can be stored. A keyspace reads its types from this table
 * unless a test gives it another (ks_use_types). */
#ifndef CAIRN_TYPES_H
#define CAIRN_TYPES_H

#include "data/kv.h"

struct kv_type_ops;

extern const struct kv_type_ops *const kv_types[KV_TYPE_COUNT];

#endif
