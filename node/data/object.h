/* object.h: value types, and what every value of any type can do.
 *
 * Each type is described by a struct kv_type_ops: its name (TYPE's answer,
 * SCAN TYPE's filter) and, for the types stored as objects (every type but
 * string: the entry holds a pointer and the encoding number, kv.h), the
 * hooks the keyspace uses without knowing the type: free, dup (COPY), size
 * (MEMORY USAGE and the memory account's check), encoding (OBJECT ENCODING)
 * and rebind (RENAME to another shard). An object is allocated from, and
 * charged to, the memory account the hooks are given, which is its
 * keyspace's. Strings are stored in the entry (t_string.h) and have no
 * object hooks.
 *
 * A keyspace holds a table of types indexed by enum kv_type: kv_types
 * (types.h), the node's, by default. A new type (a set, say) is a
 * data/t_<type>.c that defines its struct kv_type_ops, and a row there. */
#ifndef CAIRN_OBJECT_H
#define CAIRN_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "data/kv.h"

struct mem;

/* enc is the type's own encoding number (kv_obj_enc). */
struct kv_type_ops {
	const char *name;
	/* Objects only: NULL for strings. */
	void (*free)(struct mem *mem, void *obj, unsigned enc);
	/* A copy, in the same encoding. */
	void *(*dup)(struct mem *mem, const void *obj, unsigned enc);
	/* Bytes charged for obj. */
	size_t (*size)(const void *obj, unsigned enc);
	/* OBJECT ENCODING's name for enc. */
	const char *(*encoding)(const void *obj, unsigned enc);
	/* obj now belongs to the account mem (its bytes were moved there):
	 * a type that keeps its account's address updates it. NULL: none. */
	void (*rebind)(void *obj, unsigned enc, struct mem *mem);
	/* Whether obj's invariants hold (for ks_check). NULL: nothing to check. */
	bool (*check)(const void *obj, unsigned enc);
	/* Redis's free effort (lazyfreeGetFreeEffort): about how many
	 * allocations freeing obj takes. NULL: always small. */
	uint64_t (*effort)(const void *obj, unsigned enc);
	/* Frees part of obj in the background (lazyfree.h), spending at most
	 * *budget units (about an allocation each) and taking what it spent
	 * off *budget; true once obj is wholly freed, false only with *budget
	 * spent. Each call finds obj as the last left it; nothing else touches
	 * it meanwhile. NULL: the type is only freed whole. */
	bool (*free_step)(struct mem *mem, void *obj, unsigned enc, unsigned *budget);
};

/* The type of e in table types. */
const struct kv_type_ops *obj_type(const struct kv_type_ops *const *types, const struct kv *e);
/* Releases what e's value holds outside the entry (a string's val, an
 * object), charged to mem. The entry itself is the caller's. */
void obj_release(const struct kv_type_ops *const *types, struct mem *mem, struct kv *e);
/* Bytes e's value holds outside the entry, as charged. */
size_t obj_size(const struct kv_type_ops *const *types, const struct kv *e);
/* Whether e's value is worth freeing in the background: an object whose
 * type frees in steps and whose effort passes LAZYFREE_EFFORT_THRESHOLD,
 * as Redis frees an UNLINKed value in its background thread. */
bool obj_free_later(const struct kv_type_ops *const *types, const struct kv *e);
/* OBJECT ENCODING of e's value. */
const char *obj_encoding(const struct kv_type_ops *const *types, const struct kv *e);

#endif
