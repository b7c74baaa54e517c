/* t_list.h: the list type: a sequence of strings, pushed and popped at
 * both ends.
 *
 * Two encodings, as Redis 7.2 keeps them and names them for OBJECT
 * ENCODING:
 *  - LIST_LP ("listpack"): a bare listpack (listpack.h, Redis's byte
 *    format) while the list fits one node of list-max-listpack-size;
 *  - LIST_QL ("quicklist"): a quicklist (quicklist.h) of listpack nodes,
 *    some compressed (list-compress-depth).
 * Conversions are Redis 7.2's listTypeTryConversion rules: before a write
 * that adds elements, a listpack whose size plus the new bytes, or length
 * plus the new elements, would pass the node limit becomes a quicklist
 * (list_grow); after a write that removes elements, a quicklist of one node
 * under half the limit (in size and in count) becomes that node's listpack
 * (list_shrink), so a list near the limit does not flip at every change.
 * The entry (kv.h) records the encoding (KV_OBJ + enum list_enc); every
 * write updates it (kv_set_obj).
 *
 * Memory: everything is allocated from the mem account a call is given, the
 * keyspace's (a quicklist keeps its account; the rebind hook moves it). A
 * list is never empty: the command that removes its last element deletes
 * the key. */
#ifndef CAIRN_T_LIST_H
#define CAIRN_T_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/object.h"
#include "data/quicklist.h"

struct kv;
struct mem;

enum list_enc { LIST_LP = 0, LIST_QL = 1 };

/* The directives: list-max-listpack-size and list-compress-depth. A
 * quicklist keeps the values it was made with, as Redis's. */
struct list_limits {
	int fill;
	int compress;
};

/* The longest element a list takes (quicklist.h). */
#define LIST_ELEMENT_MAX QUICKLIST_ELEMENT_MAX

/* The type's row of the table of types (object.h). */
extern const struct kv_type_ops list_type;

/* A new empty list, in the compact encoding (LIST_LP). */
void *list_new(struct mem *mem);
uint64_t list_len(const struct kv *e);

/* Redis's listTypeTryConversionAppend: before adding count elements of
 * bytes bytes in all, a listpack that would pass the node limit becomes a
 * quicklist. */
void list_grow(struct mem *mem, struct kv *e, const struct list_limits *lim, size_t bytes,
	       size_t count);
/* Redis's listTypeTryConversion(LIST_CONV_SHRINKING), after elements went. */
void list_shrink(struct mem *mem, struct kv *e, const struct list_limits *lim);

/* Pushes s at the head or the tail (the caller ran list_grow for it). */
void list_push(struct mem *mem, struct kv *e, const char *s, size_t len, bool tail);
/* Deletes count elements from index start (negative: from the end). */
void list_del_range(struct mem *mem, struct kv *e, long start, long count);
/* Replaces the element at index; false if it is out of range. */
bool list_replace_at(struct mem *mem, struct kv *e, long index, const char *s, size_t len);

/* An element as read: bytes (p, len) or an integer (is_int, ival). Valid
 * until the list is next written or its iterator moves. */
struct list_val {
	const char *p;
	size_t len;
	bool is_int;
	long long ival;
};

/* The element's length in bytes (formatted length for an integer). */
size_t list_val_len(const struct list_val *v);

/* An iterator from an index toward the tail (forward) or the head; the
 * list may change only through it while it is used (delete and go on;
 * insert, after which it is done). Release it when done. */
struct list_iter {
	struct mem *mem;
	struct kv *e;
	bool forward;
	unsigned char *next; /* listpack: the element to return next */
	unsigned char *cur;  /* the element last returned */
	struct quicklist_iter qi;
};

/* Starts at index (negative: from the end); out of range, it returns
 * nothing. */
void list_iter_init(struct list_iter *it, struct mem *mem, struct kv *e, long index, bool forward);
bool list_iter_next(struct list_iter *it, struct list_val *v);
/* Whether the element last returned equals s (an integer element when s
 * is its canonical text). */
bool list_iter_eq(const struct list_iter *it, const char *s, size_t len);
/* Deletes the element last returned; the iterator goes on from the next. */
void list_iter_delete(struct list_iter *it);
/* Inserts s after (or before) the element last returned; the iterator is
 * done. */
void list_iter_insert(struct list_iter *it, const char *s, size_t len, bool after);
void list_iter_release(struct list_iter *it);

#endif
