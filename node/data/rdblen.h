/* rdblen.h: how many bytes Redis's RDB would take for a value, as its
 * rdbSavedObjectLen() counts them (DEBUG OBJECT's serializedlength): the
 * value alone, without its type byte, key or expiry.
 *
 * It is what rdb.h's saving writes, counted instead of written (the same
 * code: rdb_save_value into a count-only struct rdb_out), so DEBUG OBJECT
 * and DUMP never disagree. See rdb.h for the forms. */
#ifndef CAIRN_RDBLEN_H
#define CAIRN_RDBLEN_H

#include <stddef.h>
#include <stdint.h>

#include "data/rdb.h"

struct kv;
struct mem;

/* A count in progress: scratch space (LZF's output and table) comes from
 * mem, and rdblen_free gives it back. */
struct rdblen {
	struct rdb_out out;
};
void rdblen_init(struct rdblen *r, struct mem *mem);
void rdblen_free(struct rdblen *r);

/* The saved length of e's value. */
uint64_t rdblen_value(struct rdblen *r, const struct kv *e);
/* The saved length of a string of len bytes at p (rdbSaveRawString). */
uint64_t rdblen_string(struct rdblen *r, const char *p, size_t len);
/* The bytes of a length (rdbSaveLen): 1, 2, 5 or 9. */
unsigned rdblen_len(uint64_t n);

#endif
