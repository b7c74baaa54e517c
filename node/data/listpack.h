/* listpack.h: Redis 7's listpack, byte for byte.
 *
 * A listpack is one allocation holding a sequence of strings and integers:
 * a 6-byte header (total bytes, 32-bit little endian; element count, 16-bit
 * little endian, LP_HDR_NUMELE_UNKNOWN once it no longer fits), the
 * entries, and the end byte LP_EOF. Each entry is an encoding with its data
 * followed by its own length written backwards (the backlen), so the list
 * walks both ways. The encodings, the backlen and the choice of encoding are
 * Redis 7.0's, including its quirks (a string that is a canonical integer
 * is stored as that integer; the backlen of an entry of 16383 bytes takes
 * three), because DUMP/RESTORE, MIGRATE and the memory Redis reports carry
 * listpacks exactly as Redis writes them.
 *
 * Pointers into a listpack (p, newp) name an entry and stay valid only until
 * the next call that returns a listpack: that call may move it. Functions
 * that take a struct mem allocate from that account, and keep the
 * allocation at the listpack's size, as Redis does. Every function except
 * lp_valid() trusts its listpack: untrusted bytes must pass lp_valid(...,
 * true) first. */
#ifndef CAIRN_LISTPACK_H
#define CAIRN_LISTPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;

/* Header: total bytes (4) and element count (2). */
#define LP_HDR_SIZE 6
/* The header's count when the listpack holds 65535 elements or more: the
 * length is then found by walking. */
#define LP_HDR_NUMELE_UNKNOWN UINT16_MAX
/* The end byte, which no entry's encoding starts with. */
#define LP_EOF 0xFF
/* An empty listpack: the header and the end byte. */
#define LP_EMPTY_SIZE (LP_HDR_SIZE + 1)
/* The total size is a 32-bit field. */
#define LP_MAX_BYTES UINT32_MAX
/* Redis's LISTPACK_MAX_SAFETY_SIZE: the size past which its callers convert
 * a listpack to another encoding rather than grow it (lp_safe_to_add). */
#define LP_SAFETY_SIZE (1UL << 30)
/* Room lp_get_text() needs to format an integer (UTIL_LL_CHARS). */
#define LP_INTBUF_SIZE 21

/* Where lp_insert() puts the new element, relative to p. */
#define LP_BEFORE 0
#define LP_AFTER 1

/* A new empty listpack (LP_EMPTY_SIZE bytes). */
unsigned char *lp_new(struct mem *mem);
void lp_free(struct mem *mem, unsigned char *lp);
/* Total bytes, header and end byte included. */
size_t lp_bytes(const unsigned char *lp);
/* Number of elements; walks the listpack when the header's count is
 * LP_HDR_NUMELE_UNKNOWN. (Redis's lpLength writes a count that fits back
 * into the header; this one never writes, and both forms are valid.) */
unsigned long lp_length(const unsigned char *lp);
/* Whether add more bytes keep the listpack under LP_SAFETY_SIZE. */
bool lp_safe_to_add(const unsigned char *lp, size_t add);

/* Walking. Each returns an entry, or NULL when there is none there. */
unsigned char *lp_first(unsigned char *lp);
unsigned char *lp_last(unsigned char *lp);
unsigned char *lp_next(unsigned char *lp, unsigned char *p);
unsigned char *lp_prev(unsigned char *lp, unsigned char *p);
/* The element at index, counted from 0, or from the end when negative (-1
 * is the last); NULL out of range. Walks from the nearer end when the count
 * is known. */
unsigned char *lp_seek(unsigned char *lp, long index);

/* The element at p: a string (returns its bytes, possibly 0 of them, and
 * sets *len) or an integer (returns NULL and sets *ival). */
const unsigned char *lp_get(const unsigned char *p, int64_t *ival, uint32_t *len);
/* The element as text: a string as it is, an integer formatted in decimal
 * into buf (LP_INTBUF_SIZE bytes). Sets *len. */
const char *lp_get_text(const unsigned char *p, char *buf, size_t *len);
/* Whether the element equals the bytes s: a string byte for byte, an
 * integer when s is its canonical decimal text. */
bool lp_eq(const unsigned char *p, const char *s, size_t len);

/* Changing. s (at most UINT32_MAX bytes) must not point into lp: the
 * listpack may move before s is copied. A string that util_str2ll() reads
 * as an integer is stored as that integer. Each returns the listpack, which
 * may have moved. The result must fit LP_MAX_BYTES (an assertion): callers
 * keep listpacks far smaller, checking lp_safe_to_add() before they grow
 * one, as Redis's do. */
unsigned char *lp_append(struct mem *mem, unsigned char *lp, const char *s, size_t len);
unsigned char *lp_append_int(struct mem *mem, unsigned char *lp, int64_t v);
unsigned char *lp_prepend(struct mem *mem, unsigned char *lp, const char *s, size_t len);
/* Inserts s before (LP_BEFORE) or after (LP_AFTER) the entry p; *newp (if
 * newp is not NULL) is the new element. */
unsigned char *lp_insert(struct mem *mem, unsigned char *lp, const char *s, size_t len,
			 unsigned char *p, int where, unsigned char **newp);
/* Replaces the element at *p with s; *p is the replacement afterwards. */
unsigned char *lp_replace(struct mem *mem, unsigned char *lp, unsigned char **p, const char *s,
			  size_t len);
/* Deletes the element at p; *newp (if newp is not NULL) is the element that
 * followed it, or NULL when it was the last. */
unsigned char *lp_delete(struct mem *mem, unsigned char *lp, unsigned char *p,
			 unsigned char **newp);
/* Deletes num elements from index (as in lp_seek) on, fewer if the list
 * ends first; nothing when index is out of range. */
unsigned char *lp_delete_range(struct mem *mem, unsigned char *lp, long index, unsigned long num);

/* The elements of first followed by those of second, in one listpack;
 * both are consumed (the bigger one is grown in place and the other freed,
 * as Redis's lpMerge, so the least is moved). The result must fit
 * LP_MAX_BYTES (an assertion): callers merge only listpacks far smaller. */
unsigned char *lp_merge(struct mem *mem, unsigned char *first, unsigned char *second);

/* From p on (p may be NULL: no match), the first element equal to s (as in
 * lp_eq), comparing p and then every (skip+1)-th element after it: skip 1
 * looks only at the fields of field,value pairs when p is a field. NULL if
 * none. */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s, size_t len,
		       unsigned skip);

/* Whether bytes bytes at lp form a listpack, reading nothing outside
 * [lp, lp + bytes). Shallow (deep false): the size, the header's total and
 * the end byte, as Redis checks before it trusts a payload lazily. Deep:
 * also every entry's encoding, that its data and backlen lie inside, that
 * the backlen is the canonical encoding of the entry's length, no end byte
 * before the last, and a header count equal to the number of entries
 * unless it is LP_HDR_NUMELE_UNKNOWN. A listpack that passes deep is safe
 * for every other function here. */
bool lp_valid(const unsigned char *lp, size_t bytes, bool deep);

#endif
