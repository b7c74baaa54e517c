/* quicklist.h: a doubly linked list of listpack nodes, Redis 7's quicklist.
 *
 * A big list is a chain of nodes, each a listpack (listpack.h) of up to
 * `fill` elements (fill > 0; 0 counts as 1) or of up to 4, 8, 16, 32 or
 * 64 KB (fill -1 .. -5), as Redis's list-max-listpack-size says. The node
 * limits, and when a node takes one more element, splits or merges with its
 * neighbours, follow Redis's quicklist.c, so a list holds the same nodes as
 * Redis's after the same commands: a push goes into the end node if it
 * still fits (its size plus the element plus 8 bytes of estimated overhead,
 * under the limit), else into a new node; an insert in the middle of a full
 * node splits it and then merges neighbours that fit together.
 *
 * Compression (list-compress-depth d > 0): the d nodes at each end stay raw,
 * as pushes and pops touch them; every other node is kept compressed with
 * LZF (lzf.h) when that pays, with Redis's rule: a node under
 * QUICKLIST_MIN_COMPRESS_BYTES, or that does not shrink by at least
 * QUICKLIST_MIN_COMPRESS_IMPROVE bytes, stays raw (and is not tried again
 * until it changes). A compressed node is [uint32 length][LZF block], its
 * raw size kept in the node, so a later DUMP can write it as Redis does.
 * Reading an inner node decompresses it for the while an iterator stands on
 * it and compresses it again when the iterator leaves.
 *
 * Unlike Redis, there are no "plain" nodes: an element too big for a node
 * (QUICKLIST_PACKED_MAX and up) gets a listpack node of its own, which no
 * other element joins. Elements are at most QUICKLIST_ELEMENT_MAX bytes.
 *
 * Memory: everything is allocated from ql->mem (the keyspace's account);
 * quicklist_rebind() moves the list to another account whose bytes were
 * moved there. Pointers into nodes (from quicklist_next) stay valid until
 * the next call that changes the list or moves its iterator. */
#ifndef CAIRN_QUICKLIST_H
#define CAIRN_QUICKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/listpack.h"

struct mem;

/* Redis's bounds on fill and compress (quicklistSetOptions clamps). */
#define QUICKLIST_FILL_MIN (-5)
#define QUICKLIST_FILL_MAX 32767
#define QUICKLIST_COMPRESS_MAX 65535
/* The node sizes of fill -1 .. -5, and the size a node limited by count
 * may still not pass (Redis's SIZE_SAFETY_LIMIT). */
#define QUICKLIST_SIZE_SAFETY 8192
/* Added to an element's length when checking that it fits a node
 * (Redis's SIZE_ESTIMATE_OVERHEAD). */
#define QUICKLIST_ENTRY_OVERHEAD 8
/* Compression: smallest node tried, least gain kept. */
#define QUICKLIST_MIN_COMPRESS_BYTES 48
#define QUICKLIST_MIN_COMPRESS_IMPROVE 8
/* An element this long or longer never shares a node (Redis's
 * packed_threshold, where Redis makes a plain node). */
#define QUICKLIST_PACKED_MAX (1UL << 30)
/* The longest element: its own listpack (header, encoding, backlen, end
 * byte: at most 17 bytes more) must fit LP_MAX_BYTES. */
#define QUICKLIST_ELEMENT_MAX (LP_MAX_BYTES - 64)

enum quicklist_where { QUICKLIST_HEAD = 0, QUICKLIST_TAIL = 1 };

struct quicklist_node {
	struct quicklist_node *prev, *next;
	unsigned char *entry; /* the listpack, or when lzf a [uint32 len][block] */
	uint32_t sz;          /* the listpack's bytes, compressed or not */
	uint32_t count;       /* its elements (never 0) */
	uint8_t lzf : 1;      /* entry is compressed */
	uint8_t in_use : 1;   /* an iterator decompressed or changed it: done when it leaves */
	uint8_t raw_ok : 1;   /* compression did not pay: stays raw until it changes */
};

struct quicklist {
	struct quicklist_node *head, *tail;
	uint64_t count; /* elements */
	uint64_t len;   /* nodes */
	uint64_t nlzf;  /* compressed nodes */
	struct mem *mem;
	int fill;
	unsigned compress;
};

/* Redis's quicklistNodeLimit: the size limit (SIZE_MAX: none) and count
 * limit (UINT64_MAX: none) of a node under fill (any int). */
void quicklist_node_limit(int fill, size_t *size, uint64_t *count);
/* Redis's quicklistNodeExceedsLimit: whether a node of sz bytes and count
 * elements passes the limit of fill. */
bool quicklist_node_exceeds(int fill, size_t sz, uint64_t count);

/* A new empty list; fill and compress are clamped as Redis's. */
struct quicklist *quicklist_new(struct mem *mem, int fill, int compress);
void quicklist_free(struct quicklist *ql);
/* Frees nodes from the head, one unit of *budget each, taking what it
 * spent off *budget; true once ql itself is freed too, false only with
 * *budget spent. Between calls ql is a valid list of the nodes not yet
 * freed, but only this function may touch it again. */
bool quicklist_free_some(struct quicklist *ql, unsigned *budget);
/* A copy in mem, node for node (compressed nodes stay compressed). */
struct quicklist *quicklist_dup(struct mem *mem, const struct quicklist *ql);
void quicklist_rebind(struct quicklist *ql, struct mem *mem);
/* Bytes charged for the list, its nodes and their listpacks (a walk). */
size_t quicklist_bytes(const struct quicklist *ql);
/* Whether the structure holds: links, counts, each node a valid non-empty
 * listpack of its stated size (compressed ones decompress to it), the
 * compression invariant (raw within compress of an end, else compressed
 * unless it did not pay), no node left in use. */
bool quicklist_check(const struct quicklist *ql);

/* Appends the listpack lp (not empty) as a new tail node; the list owns it. */
void quicklist_append_lp(struct quicklist *ql, unsigned char *lp);
/* The one node's listpack of a one-node list, which is freed. */
unsigned char *quicklist_release_lp(struct quicklist *ql);

/* Pushes s at the head or the tail. */
void quicklist_push(struct quicklist *ql, const char *s, size_t len, enum quicklist_where where);
/* Deletes count elements from index start (negative: from the end), fewer
 * if the list ends first. Returns how many went. */
uint64_t quicklist_del_range(struct quicklist *ql, long start, long count);
/* Replaces the element at index; false if out of range. */
bool quicklist_replace_at(struct quicklist *ql, long index, const char *s, size_t len);

/* Iteration. An iterator reads the list from an index toward the tail
 * (forward) or the head; while it stands on an element the list may be
 * changed only through it (delete, then go on; insert or replace, after
 * which it is done). Release it when done with it. */
struct quicklist_iter {
	struct quicklist *ql;
	struct quicklist_node *node; /* NULL when done */
	unsigned char *p;            /* the element last returned (or to return) */
	long offset;                 /* its index in node; from its end (-1..) backward */
	bool forward;
	uint8_t state; /* how the next call finds its element (quicklist.c) */
};

/* Starts at index (negative: from the end); false, and an iterator that
 * returns nothing, when index is out of range. */
bool quicklist_iter_at(struct quicklist *ql, long index, bool forward, struct quicklist_iter *it);
/* The next element (read it with lp_get), or NULL at the end. */
unsigned char *quicklist_next(struct quicklist_iter *it);
void quicklist_iter_release(struct quicklist_iter *it);
/* Deletes the element last returned; the next call returns the one after
 * it in the iterator's direction. */
void quicklist_del_current(struct quicklist_iter *it);
/* Inserts s after (or before) the element last returned, or replaces it;
 * the iterator is done afterwards (released). */
void quicklist_insert_current(struct quicklist_iter *it, const char *s, size_t len, bool after);
void quicklist_replace_current(struct quicklist_iter *it, const char *s, size_t len);

#endif
