/* quicklist.c: a doubly linked list of listpack nodes. See quicklist.h.
 *
 * The list's count is always the sum of its nodes' counts: linking a node
 * adds its count, unlinking subtracts it, and a change inside a node
 * adjusts both.
 *
 * Compression keeps one invariant, checked by quicklist_check(): a node with
 * fewer than `compress` nodes on either side is raw; every other node is
 * compressed, unless compression did not pay for it (raw_ok) or an iterator
 * is reading it (in_use). A change inside a node, or an iterator leaving a
 * node it decompressed, calls node_done(), which compresses it again if it
 * is inner. Linking or unlinking one node moves the others' distances to
 * the ends by one, so only the nodes at distance `compress` can turn
 * inner (compressed by ql_settle()) and only those nearer than that can
 * turn outer (decompressed by it); ql_settle() runs after every link and
 * unlink and walks `compress` nodes from each end, as Redis's
 * __quicklistCompress does. */
#include "data/quicklist.h"

#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "data/listpack.h"
#include "data/lzf.h"

/* The node sizes of fill -1 .. -5 (Redis's optimization_level). */
static const size_t quicklist_levels[] = { 4096, 8192, 16384, 32768, 65536 };
#define QL_LEVELS (sizeof(quicklist_levels) / sizeof(quicklist_levels[0]))
/* A compressed node's entry: the block's length, then the block. */
#define QL_LZF_HDR sizeof(uint32_t)
/* What a merge saves: one listpack's header and end byte (Redis's "- 7"). */
#define QL_MERGE_SAVES LP_EMPTY_SIZE

/* How quicklist_next() finds its element: by seeking the iterator's offset
 * in its node, by stepping from the last one, or as already found (after a
 * delete). */
enum { QL_IT_SEEK = 0, QL_IT_STEP, QL_IT_PEND };

_Static_assert(QUICKLIST_SIZE_SAFETY == 8192, "Redis's SIZE_SAFETY_LIMIT");
_Static_assert(QUICKLIST_PACKED_MAX < QUICKLIST_ELEMENT_MAX, "big elements fit a listpack");

void quicklist_node_limit(int fill, size_t *size, uint64_t *count)
{
	size_t level;

	*size = SIZE_MAX;
	*count = UINT64_MAX;
	if (fill >= 0) {
		*count = fill == 0 ? 1 : (uint64_t)fill;
		return;
	}
	level = (size_t)(-(long long)fill) - 1;
	*size = quicklist_levels[level < QL_LEVELS ? level : QL_LEVELS - 1];
}

bool quicklist_node_exceeds(int fill, size_t sz, uint64_t count)
{
	size_t size_limit;
	uint64_t count_limit;

	quicklist_node_limit(fill, &size_limit, &count_limit);
	if (size_limit != SIZE_MAX)
		return sz > size_limit;
	/* A count limit, and still the safety size. */
	return sz > QUICKLIST_SIZE_SAFETY || count > count_limit;
}

/* ---- nodes and their compression ---- */

static struct quicklist_node *node_new(struct quicklist *ql, unsigned char *lp)
{
	struct quicklist_node *n = mem_calloc(ql->mem, sizeof(*n));

	n->entry = lp;
	n->sz = (uint32_t)lp_bytes(lp);
	n->count = (uint32_t)lp_length(lp);
	ASSERT(n->count > 0);
	return n;
}

/* After a change of n's (raw) listpack. */
static void node_update(struct quicklist_node *n)
{
	ASSERT(!n->lzf);
	n->sz = (uint32_t)lp_bytes(n->entry);
	n->raw_ok = 0;
}

static void node_compress(struct quicklist *ql, struct quicklist_node *n)
{
	unsigned char *blob;
	uint32_t c32;
	size_t c;

	ASSERT(!n->lzf && !n->in_use);
	if (n->raw_ok || n->sz < QUICKLIST_MIN_COMPRESS_BYTES)
		return;
	blob = mem_alloc(ql->mem, QL_LZF_HDR + n->sz);
	c = lzf_compress(n->entry, n->sz, blob + QL_LZF_HDR, n->sz);
	if (c == 0 || c + QUICKLIST_MIN_COMPRESS_IMPROVE >= n->sz) {
		mem_free(ql->mem, blob);
		n->raw_ok = 1;
		return;
	}
	blob = mem_realloc(ql->mem, blob, QL_LZF_HDR + c);
	c32 = (uint32_t)c;
	memcpy(blob, &c32, sizeof(c32));
	mem_free(ql->mem, n->entry);
	n->entry = blob;
	n->lzf = 1;
	ql->nlzf++;
}

/* The raw listpack of a compressed node, in a new allocation from mem;
 * NULL when the block does not decompress to the node's size. */
static unsigned char *node_inflate(struct mem *mem, const struct quicklist_node *n)
{
	unsigned char *lp = mem_alloc(mem, n->sz);
	uint32_t c;

	ASSERT(n->lzf);
	memcpy(&c, n->entry, sizeof(c));
	if (c > mem_size(n->entry) - QL_LZF_HDR ||
	    lzf_decompress(n->entry + QL_LZF_HDR, c, lp, n->sz) != n->sz) {
		mem_free(mem, lp);
		return NULL;
	}
	return lp;
}

static void node_decompress(struct quicklist *ql, struct quicklist_node *n)
{
	unsigned char *lp = node_inflate(ql->mem, n);

	/* The node's own block: anything else is a bug. */
	ASSERT(lp != NULL);
	mem_free(ql->mem, n->entry);
	n->entry = lp;
	n->lzf = 0;
	ASSERT(ql->nlzf > 0);
	ql->nlzf--;
}

/* Whether n has at least `compress` nodes on each side. */
static bool node_inner(const struct quicklist *ql, const struct quicklist_node *n)
{
	const struct quicklist_node *a = n, *b = n;
	unsigned i;

	if (ql->compress == 0 || ql->len < 2ull * ql->compress + 1)
		return false;
	for (i = 0; i < ql->compress; i++) {
		a = a->prev;
		b = b->next;
		if (a == NULL || b == NULL)
			return false;
	}
	return true;
}

/* Compresses n if it is inner and may be. */
static void node_settle(struct quicklist *ql, struct quicklist_node *n)
{
	if (n != NULL && !n->lzf && !n->in_use && node_inner(ql, n))
		node_compress(ql, n);
}

/* Decompresses n for an iterator; node_done() gives it back. */
static void node_use(struct quicklist *ql, struct quicklist_node *n)
{
	if (n->lzf) {
		node_decompress(ql, n);
		n->in_use = 1;
	}
}

/* Done changing or reading n: compressed again if inner. */
static void node_done(struct quicklist *ql, struct quicklist_node *n)
{
	n->in_use = 0;
	node_settle(ql, n);
}

/* After a node came or went: see the file's comment. */
static void ql_settle(struct quicklist *ql)
{
	struct quicklist_node *f = ql->head, *r = ql->tail;
	unsigned d;

	if (ql->compress == 0 || (ql->nlzf == 0 && ql->len < 2ull * ql->compress + 1))
		return;
	for (d = 0; d < ql->compress && f != NULL; d++) {
		if (f->lzf)
			node_decompress(ql, f);
		if (r->lzf)
			node_decompress(ql, r);
		f = f->next;
		r = r->prev;
	}
	node_settle(ql, f);
	node_settle(ql, r);
}

/* Links n after (or before) old, or as the only node when old is NULL. */
static void node_link(struct quicklist *ql, struct quicklist_node *old, struct quicklist_node *n,
		      bool after)
{
	if (old == NULL) {
		ASSERT(ql->len == 0);
		ql->head = ql->tail = n;
	} else if (after) {
		n->prev = old;
		n->next = old->next;
		if (old->next != NULL)
			old->next->prev = n;
		else
			ql->tail = n;
		old->next = n;
	} else {
		n->next = old;
		n->prev = old->prev;
		if (old->prev != NULL)
			old->prev->next = n;
		else
			ql->head = n;
		old->prev = n;
	}
	ql->len++;
	ql->count += n->count;
	ql_settle(ql);
	node_settle(ql, n);
}

/* Unlinks and frees n. */
static void node_unlink(struct quicklist *ql, struct quicklist_node *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		ql->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		ql->tail = n->prev;
	ASSERT(ql->len > 0 && ql->count >= n->count);
	ql->len--;
	ql->count -= n->count;
	if (n->lzf)
		ql->nlzf--;
	mem_free(ql->mem, n->entry);
	mem_free(ql->mem, n);
	ql_settle(ql);
}

/* ---- the list ---- */

struct quicklist *quicklist_new(struct mem *mem, int fill, int compress)
{
	struct quicklist *ql = mem_calloc(mem, sizeof(*ql));

	ql->mem = mem;
	ql->fill = fill < QUICKLIST_FILL_MIN   ? QUICKLIST_FILL_MIN
		   : fill > QUICKLIST_FILL_MAX ? QUICKLIST_FILL_MAX
					       : fill;
	ql->compress = compress < 0                        ? 0
		       : compress > QUICKLIST_COMPRESS_MAX ? QUICKLIST_COMPRESS_MAX
							   : (unsigned)compress;
	return ql;
}

void quicklist_free(struct quicklist *ql)
{
	struct quicklist_node *n, *next;

	for (n = ql->head; n != NULL; n = next) {
		next = n->next;
		mem_free(ql->mem, n->entry);
		mem_free(ql->mem, n);
	}
	mem_free(ql->mem, ql);
}

bool quicklist_free_some(struct quicklist *ql, unsigned *budget)
{
	while (ql->head != NULL) {
		struct quicklist_node *n = ql->head;

		if (*budget == 0)
			return false;
		*budget -= 1;
		ql->head = n->next;
		if (ql->head != NULL)
			ql->head->prev = NULL;
		else
			ql->tail = NULL;
		ql->len--;
		ql->count -= n->count;
		ql->nlzf -= n->lzf;
		mem_free(ql->mem, n->entry);
		mem_free(ql->mem, n);
	}
	ASSERT(ql->len == 0);
	mem_free(ql->mem, ql);
	return true;
}

struct quicklist *quicklist_dup(struct mem *mem, const struct quicklist *ql)
{
	struct quicklist *c = quicklist_new(mem, ql->fill, (int)ql->compress);
	const struct quicklist_node *n;

	/* Node for node, linked directly: the copy's nodes sit where the
	 * original's do, so each is already as compressed as it should be. */
	for (n = ql->head; n != NULL; n = n->next) {
		struct quicklist_node *d = mem_calloc(mem, sizeof(*d));
		size_t bytes = mem_size(n->entry);
		ASSERT(!n->in_use);
		d->entry = mem_alloc(mem, bytes);
		memcpy(d->entry, n->entry, bytes);
		d->sz = n->sz;
		d->count = n->count;
		d->lzf = n->lzf;
		d->raw_ok = n->raw_ok;
		d->prev = c->tail;
		if (c->tail != NULL)
			c->tail->next = d;
		else
			c->head = d;
		c->tail = d;
		c->len++;
		c->count += d->count;
		c->nlzf += d->lzf;
	}
	ASSERT(c->count == ql->count && c->len == ql->len);
	return c;
}

void quicklist_rebind(struct quicklist *ql, struct mem *mem)
{
	ql->mem = mem;
}

size_t quicklist_bytes(const struct quicklist *ql)
{
	const struct quicklist_node *n;
	size_t bytes = mem_size(ql);

	for (n = ql->head; n != NULL; n = n->next)
		bytes += mem_size(n) + mem_size(n->entry);
	return bytes;
}

void quicklist_append_lp(struct quicklist *ql, unsigned char *lp)
{
	node_link(ql, ql->tail, node_new(ql, lp), true);
}

unsigned char *quicklist_release_lp(struct quicklist *ql)
{
	struct quicklist_node *n = ql->head;
	unsigned char *lp;

	ASSERT(ql->len == 1);
	if (n->lzf)
		node_decompress(ql, n);
	lp = n->entry;
	mem_free(ql->mem, n);
	mem_free(ql->mem, ql);
	return lp;
}

/* ---- pushing and deleting ---- */

/* Redis's _quicklistNodeAllowInsert: whether an element of len bytes may
 * join n. */
static bool node_allow_insert(const struct quicklist_node *n, int fill, size_t len)
{
	if (n == NULL || len >= QUICKLIST_PACKED_MAX)
		return false;
	return !quicklist_node_exceeds(fill, n->sz + len + QUICKLIST_ENTRY_OVERHEAD,
				       (uint64_t)n->count + 1);
}

/* Adds s at one end of n (decompressed for the while if need be). */
static void node_add(struct quicklist *ql, struct quicklist_node *n, const char *s, size_t len,
		     enum quicklist_where where)
{
	node_use(ql, n);
	if (where == QUICKLIST_HEAD)
		n->entry = lp_prepend(ql->mem, n->entry, s, len);
	else
		n->entry = lp_append(ql->mem, n->entry, s, len);
	n->count++;
	ql->count++;
	node_update(n);
	node_done(ql, n);
}

/* A new unlinked node holding only s. */
static struct quicklist_node *node_of(struct quicklist *ql, const char *s, size_t len)
{
	return node_new(ql, lp_append(ql->mem, lp_new(ql->mem), s, len));
}

void quicklist_push(struct quicklist *ql, const char *s, size_t len, enum quicklist_where where)
{
	struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;

	ASSERT(len <= QUICKLIST_ELEMENT_MAX);
	if (node_allow_insert(n, ql->fill, len)) {
		ASSERT(!n->lzf);
		node_add(ql, n, s, len, where);
		return;
	}
	node_link(ql, n, node_of(ql, s, len), where == QUICKLIST_TAIL);
}

uint64_t quicklist_del_range(struct quicklist *ql, long start, long count)
{
	struct quicklist_iter it;
	struct quicklist_node *n;
	uint64_t extent, gone = 0;
	long offset;

	if (count <= 0 || !quicklist_iter_at(ql, start, true, &it))
		return 0;
	n = it.node;
	offset = it.offset;
	/* The elements from start to the end bound the extent. */
	extent = (uint64_t)count;
	if (start >= 0 && extent > ql->count - (uint64_t)start)
		extent = ql->count - (uint64_t)start;
	else if (start < 0 && extent > -(uint64_t)start)
		extent = -(uint64_t)start;
	while (extent > 0) {
		struct quicklist_node *next = n->next;
		uint64_t del = n->count - (uint64_t)offset;
		ASSERT(offset >= 0 && (uint64_t)offset < n->count);
		if (del > extent)
			del = extent;
		if (del == n->count) {
			node_unlink(ql, n);
		} else {
			node_use(ql, n);
			n->entry = lp_delete_range(ql->mem, n->entry, offset, del);
			n->count -= (uint32_t)del;
			ql->count -= del;
			node_update(n);
			node_done(ql, n);
		}
		extent -= del;
		gone += del;
		n = next;
		offset = 0;
	}
	return gone;
}

/* ---- iteration ---- */

bool quicklist_iter_at(struct quicklist *ql, long index, bool forward, struct quicklist_iter *it)
{
	uint64_t idx, accum;
	struct quicklist_node *n;

	memset(it, 0, sizeof(*it));
	it->ql = ql;
	it->forward = forward;
	it->state = QL_IT_SEEK;
	idx = index >= 0 ? (uint64_t)index : (uint64_t)(-(index + 1));
	if (idx >= ql->count)
		return false;
	if (index < 0)
		idx = ql->count - 1 - idx; /* from the head */
	/* Walk from the nearer end. */
	if (idx <= (ql->count - 1) / 2) {
		for (accum = 0, n = ql->head; accum + n->count <= idx; n = n->next)
			accum += n->count;
	} else {
		for (accum = ql->count, n = ql->tail;; n = n->prev) {
			accum -= n->count;
			if (accum <= idx)
				break;
		}
	}
	it->node = n;
	it->offset = (long)(idx - accum);
	if (!forward)
		it->offset -= (long)n->count;
	return true;
}

unsigned char *quicklist_next(struct quicklist_iter *it)
{
	while (it->node != NULL) {
		struct quicklist_node *n = it->node;
		if (it->state == QL_IT_SEEK) {
			node_use(it->ql, n);
			it->p = lp_seek(n->entry, it->offset);
		} else if (it->state == QL_IT_STEP) {
			it->p = it->forward ? lp_next(n->entry, it->p) : lp_prev(n->entry, it->p);
			it->offset += it->forward ? 1 : -1;
		}
		it->state = QL_IT_STEP;
		if (it->p != NULL)
			return it->p;
		if (n->in_use)
			node_done(it->ql, n);
		it->node = it->forward ? n->next : n->prev;
		it->offset = it->forward ? 0 : -1;
		it->state = QL_IT_SEEK;
	}
	return NULL;
}

void quicklist_iter_release(struct quicklist_iter *it)
{
	if (it->node != NULL && it->node->in_use)
		node_done(it->ql, it->node);
	it->node = NULL;
	it->p = NULL;
}

void quicklist_del_current(struct quicklist_iter *it)
{
	struct quicklist *ql = it->ql;
	struct quicklist_node *n = it->node;
	unsigned char *p;

	ASSERT(n != NULL && it->p != NULL && it->state == QL_IT_STEP);
	if (n->count == 1) {
		it->node = it->forward ? n->next : n->prev;
		it->offset = it->forward ? 0 : -1;
		it->state = QL_IT_SEEK;
		it->p = NULL;
		node_unlink(ql, n);
		return;
	}
	/* The element after the deleted one takes its offset either way. */
	n->entry = lp_delete(ql->mem, n->entry, it->p, &p);
	n->count--;
	ql->count--;
	node_update(n);
	n->in_use = 1; /* changed: node_done() when the iterator leaves */
	if (!it->forward)
		p = p != NULL ? lp_prev(n->entry, p) : lp_last(n->entry);
	it->p = p;
	it->state = QL_IT_PEND;
}

void quicklist_replace_current(struct quicklist_iter *it, const char *s, size_t len)
{
	struct quicklist_node *n = it->node;

	ASSERT(n != NULL && it->p != NULL && it->state == QL_IT_STEP);
	ASSERT(len <= QUICKLIST_ELEMENT_MAX);
	/* In place, whatever the node's limit, as Redis's quicklistReplaceEntry
	 * for a packed node. */
	n->entry = lp_replace(it->ql->mem, n->entry, &it->p, s, len);
	node_update(n);
	node_done(it->ql, n);
	it->node = NULL;
	it->p = NULL;
}

bool quicklist_replace_at(struct quicklist *ql, long index, const char *s, size_t len)
{
	struct quicklist_iter it;
	unsigned char *p;

	if (!quicklist_iter_at(ql, index, true, &it))
		return false;
	p = quicklist_next(&it);
	ASSERT(p != NULL);
	quicklist_replace_current(&it, s, len);
	return true;
}

/* ---- inserting in the middle: split and merge ---- */

/* Redis's _quicklistNodeAllowMerge. */
static bool node_allow_merge(const struct quicklist_node *a, const struct quicklist_node *b,
			     int fill)
{
	if (a == NULL || b == NULL)
		return false;
	return !quicklist_node_exceeds(fill, (size_t)a->sz + b->sz - QL_MERGE_SAVES,
				       (uint64_t)a->count + b->count);
}

/* Merges b (right after a) into a; returns a. */
static struct quicklist_node *node_merge(struct quicklist *ql, struct quicklist_node *a,
					 struct quicklist_node *b)
{
	ASSERT(a->next == b);
	node_use(ql, a);
	node_use(ql, b);
	a->entry = lp_merge(ql->mem, a->entry, b->entry);
	a->count += b->count;
	b->entry = NULL;
	b->count = 0;
	node_update(a);
	a->in_use = 0;
	node_unlink(ql, b);
	node_done(ql, a);
	return a;
}

/* Redis's _quicklistMergeNodes: the pairs around center that fit one node. */
static void merge_around(struct quicklist *ql, struct quicklist_node *center)
{
	struct quicklist_node *prev = center->prev, *next = center->next, *target;
	struct quicklist_node *prev_prev = prev ? prev->prev : NULL;
	struct quicklist_node *next_next = next ? next->next : NULL;
	int fill = ql->fill;

	if (node_allow_merge(prev_prev, prev, fill))
		node_merge(ql, prev_prev, prev);
	if (node_allow_merge(next, next_next, fill))
		node_merge(ql, next, next_next);
	target = center;
	if (node_allow_merge(center->prev, center, fill))
		target = node_merge(ql, center->prev, center);
	if (node_allow_merge(target, target->next, fill))
		node_merge(ql, target, target->next);
}

/* Redis's _quicklistSplitNode: n keeps [0, offset] and the new node gets
 * the rest (after), or n keeps [offset, end] and the new node [0, offset)
 * (before). The new node is not linked yet; its elements leave the list's
 * count until it is. */
static struct quicklist_node *node_split(struct quicklist *ql, struct quicklist_node *n,
					 long offset, bool after)
{
	unsigned char *copy = mem_alloc(ql->mem, n->sz);
	struct quicklist_node *nn;
	uint32_t before = n->count;

	ASSERT(!n->lzf);
	memcpy(copy, n->entry, n->sz);
	if (offset < 0)
		offset += n->count;
	if (after) {
		n->entry = lp_delete_range(ql->mem, n->entry, offset + 1, ULONG_MAX);
		copy = lp_delete_range(ql->mem, copy, 0, (unsigned long)offset + 1);
	} else {
		n->entry = lp_delete_range(ql->mem, n->entry, 0, (unsigned long)offset);
		copy = lp_delete_range(ql->mem, copy, offset, ULONG_MAX);
	}
	n->count = (uint32_t)lp_length(n->entry);
	node_update(n);
	nn = node_new(ql, copy);
	ASSERT(n->count + nn->count == before);
	ql->count -= nn->count;
	return nn;
}

/* Inserts s into the middle of the full node n, next to offset. */
static void split_insert(struct quicklist *ql, struct quicklist_node *n, long offset, const char *s,
			 size_t len, bool after)
{
	struct quicklist_node *nn = node_split(ql, n, offset, after);

	if (len >= QUICKLIST_PACKED_MAX) {
		/* A big element: its own node between the halves. */
		struct quicklist_node *big = node_of(ql, s, len);
		node_done(ql, n);
		node_link(ql, n, big, after);
		node_link(ql, big, nn, after);
		return;
	}
	if (after)
		nn->entry = lp_prepend(ql->mem, nn->entry, s, len);
	else
		nn->entry = lp_append(ql->mem, nn->entry, s, len);
	nn->count++;
	node_update(nn);
	node_done(ql, n);
	node_link(ql, n, nn, after);
	merge_around(ql, n);
}

/* Redis's _quicklistInsert, with the same choices: into n when it has
 * room; at its tail (head), into the next (previous) node when that has
 * room, else into a new node; in its middle, by splitting it. */
void quicklist_insert_current(struct quicklist_iter *it, const char *s, size_t len, bool after)
{
	struct quicklist *ql = it->ql;
	struct quicklist_node *n = it->node;
	bool full, at_tail, at_head;

	ASSERT(n != NULL && it->p != NULL && it->state == QL_IT_STEP);
	ASSERT(len <= QUICKLIST_ELEMENT_MAX);
	full = !node_allow_insert(n, ql->fill, len);
	at_tail = after && (it->offset == (long)n->count - 1 || it->offset == -1);
	at_head = !after && (it->offset == 0 || it->offset == -(long)n->count);
	it->node = NULL;
	if (!full) {
		n->entry = lp_insert(ql->mem, n->entry, s, len, it->p, after ? LP_AFTER : LP_BEFORE,
				     NULL);
		n->count++;
		ql->count++;
		node_update(n);
		node_done(ql, n);
	} else if (at_tail && node_allow_insert(n->next, ql->fill, len)) {
		node_done(ql, n);
		node_add(ql, n->next, s, len, QUICKLIST_HEAD);
	} else if (at_head && node_allow_insert(n->prev, ql->fill, len)) {
		node_done(ql, n);
		node_add(ql, n->prev, s, len, QUICKLIST_TAIL);
	} else if (at_tail || at_head) {
		node_done(ql, n);
		node_link(ql, n, node_of(ql, s, len), after);
	} else {
		split_insert(ql, n, it->offset, s, len, after);
	}
	it->p = NULL;
}

/* ---- the check ---- */

/* Whether node n, i-th of the list, holds what it says. */
static bool node_check(const struct quicklist *ql, const struct quicklist_node *n, uint64_t i)
{
	bool outer = ql->compress == 0 || i < ql->compress || ql->len - 1 - i < ql->compress;
	unsigned char *lp = n->entry;
	bool ok;

	if (n->count == 0 || n->entry == NULL || n->in_use)
		return false;
	if (n->lzf ? outer : !outer && !n->raw_ok && n->sz >= QUICKLIST_MIN_COMPRESS_BYTES)
		return false;
	if (n->lzf)
		lp = node_inflate(ql->mem, n);
	if (lp == NULL)
		return false;
	ok = lp_bytes(lp) == n->sz && lp_valid(lp, n->sz, true) && lp_length(lp) == n->count;
	if (n->lzf)
		mem_free(ql->mem, lp);
	return ok;
}

bool quicklist_check(const struct quicklist *ql)
{
	const struct quicklist_node *n, *prev = NULL;
	uint64_t count = 0, len = 0, nlzf = 0;

	for (n = ql->head; n != NULL; prev = n, n = n->next) {
		if (n->prev != prev || !node_check(ql, n, len))
			return false;
		count += n->count;
		nlzf += n->lzf;
		len++;
	}
	return prev == ql->tail && count == ql->count && len == ql->len && nlzf == ql->nlzf &&
	       ql->fill >= QUICKLIST_FILL_MIN && ql->fill <= QUICKLIST_FILL_MAX;
}
