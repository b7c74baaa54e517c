/* intset.h: Redis's intset, byte for byte.
 *
 * An intset is one allocation holding a sorted array of distinct integers,
 * all of one width: an 8-byte header (the width in bytes, 2, 4 or 8, then
 * the element count, both 32-bit little endian), then the elements, each a
 * little-endian two's complement integer of that width, in ascending order.
 * The width is the smallest that holds every element: adding one that does
 * not fit widens all of them (an upgrade); removing never narrows. This is
 * Redis 7.0's layout (intset.c), so that DUMP/RESTORE (RDB type 11, the
 * intset as an RDB string) and the memory Redis reports carry intsets
 * exactly as Redis writes them.
 *
 * The allocation is always exactly the intset's size (header plus elements),
 * as Redis's zrealloc keeps it. A pointer returned by a call that takes a
 * struct mem replaces the one given (it may have moved). Every function
 * except intset_valid() trusts its intset: untrusted bytes must pass
 * intset_valid(..., true) first. */
#ifndef CAIRN_INTSET_H
#define CAIRN_INTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;

/* The header: width (4 bytes) and count (4 bytes). */
#define INTSET_HDR_SIZE 8
/* The widths, in bytes (Redis's INTSET_ENC_INT16/32/64). */
#define INTSET_W16 2u
#define INTSET_W32 4u
#define INTSET_W64 8u

/* An intset is its bytes; the type only keeps it apart from other blobs. */
struct intset;

/* A new empty intset (width 2, INTSET_HDR_SIZE bytes). */
struct intset *intset_new(struct mem *mem);
void intset_free(struct mem *mem, struct intset *is);
/* Total bytes: the header and the elements. */
size_t intset_bytes(const struct intset *is);
uint32_t intset_len(const struct intset *is);
/* The width of every element, in bytes. */
unsigned intset_width(const struct intset *is);
/* The smallest width that holds v. */
unsigned intset_width_of(int64_t v);
/* The element at pos (< intset_len). */
int64_t intset_get(const struct intset *is, uint32_t pos);
/* The smallest and the largest element (the intset is not empty). */
int64_t intset_min(const struct intset *is);
int64_t intset_max(const struct intset *is);

/* Whether v is an element; *pos (if pos is not NULL) is its position, or
 * where it would be inserted when it is not there. */
bool intset_find(const struct intset *is, int64_t v, uint32_t *pos);
/* Adds v, widening every element first when v needs a wider width. *added
 * is false when v was already there (nothing changes then). The count must
 * stay below UINT32_MAX (an assertion; callers convert far earlier). */
struct intset *intset_add(struct mem *mem, struct intset *is, int64_t v, bool *added);
/* Removes v; *removed says whether it was there. The width stays. */
struct intset *intset_remove(struct mem *mem, struct intset *is, int64_t v, bool *removed);

/* Whether bytes bytes at p form an intset, reading nothing outside
 * [p, p + bytes): a known width, a size that matches the count and at
 * least one element (shallow), and with deep also elements in strictly
 * ascending order: Redis's intsetValidateIntegrity, which refuses an empty
 * intset as no set is ever stored empty. */
bool intset_valid(const void *p, size_t bytes, bool deep);

#endif
