/* zbtree.c: the big encoding of a sorted set. See zbtree.h.
 *
 * Child i of an inner node holds the keys k with sep[i] <= k < sep[i+1]
 * (sep[0] is its parent's bound, so it is not stored). Walks down record
 * their path (node and child index per level), which is all a split, a
 * merge or a count update needs: there are no parent pointers. The nodes on
 * the rightmost path may hold fewer than the minimum (down to one entry, or
 * two children), so that appending in order leaves every other leaf full;
 * every other node but the root holds at least the minimum. */
#include "data/zbtree.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

struct zbt_inner {
	uint32_t n;
	uint64_t count[ZBT_INNER_CAP];
	void *child[ZBT_INNER_CAP];
	double sscore[ZBT_INNER_CAP]; /* sep[i]->score, read first by a descent */
	struct zent *sep[ZBT_INNER_CAP];
};

/* The inner nodes from the root down to a leaf's parent, and the child
 * taken at each. */
struct path {
	struct zbt_inner *node[ZBT_DEPTH_MAX];
	unsigned idx[ZBT_DEPTH_MAX];
};

/* Two inner nodes' worth of children, for splits and rebalancing. */
struct wide {
	unsigned n;
	uint64_t count[2 * ZBT_INNER_CAP];
	void *child[2 * ZBT_INNER_CAP];
	struct zent *sep[2 * ZBT_INNER_CAP];
};

/* ---- allocation ---- */

static void *node_alloc(struct zbtree *t, size_t n)
{
	void *p = mem_alloc(t->mem, n);

	t->bytes += mem_size(p);
	return p;
}

static void node_free(struct zbtree *t, void *p)
{
	size_t n = mem_size(p);

	ASSERT(t->bytes >= n);
	t->bytes -= n;
	mem_free(t->mem, p);
}

static struct zent *ent_new(struct zbtree *t, const char *s, size_t len, double score)
{
	struct zent *e;

	ASSERT(len <= UINT32_MAX);
	e = node_alloc(t, zent_alloc_size(len));
	zent_fill(e, s, len, score);
	return e;
}

static struct zent *ent_copy(struct zbtree *t, const struct zent *src)
{
	size_t len;
	const char *s = zent_str(src, &len);

	return ent_new(t, s, len, src->score);
}

static struct zbt_leaf *leaf_new(struct zbtree *t)
{
	struct zbt_leaf *l = node_alloc(t, sizeof(*l));

	l->n = 0;
	l->prev = l->next = NULL;
	return l;
}

static struct zbt_inner *inner_new(struct zbtree *t)
{
	struct zbt_inner *in = node_alloc(t, sizeof(*in));

	in->n = 0;
	in->sep[0] = NULL;
	in->sscore[0] = 0;
	return in;
}

void zbt_init(struct zbtree *t, struct mem *mem, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->mem = mem;
	zmap_init(&t->map, mem, seed);
}

uint64_t zbt_len(const struct zbtree *t)
{
	return zmap_size(&t->map);
}

void zbt_rebind(struct zbtree *t, struct mem *mem)
{
	t->mem = mem;
	t->map.mem = mem;
}

/* ---- descent ---- */

static int key_vs_sep(const struct zbt_inner *in, unsigned i, double score, const char *s,
		      size_t len)
{
	size_t sl;
	const char *ss;

	if (score < in->sscore[i])
		return -1;
	if (score > in->sscore[i])
		return 1;
	ss = zent_str(in->sep[i], &sl);
	return zent_memcmp(s, len, ss, sl);
}

/* The child whose range holds the key: the last i with i == 0 or
 * key >= sep[i]. */
static unsigned child_for(const struct zbt_inner *in, double score, const char *s, size_t len)
{
	unsigned lo = 1, hi = in->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (key_vs_sep(in, mid, score, s, len) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* The first slot of l whose entry does not come before the key. */
static unsigned leaf_lower(const struct zbt_leaf *l, double score, const char *s, size_t len)
{
	unsigned lo = 0, hi = l->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (zent_cmp_key(score, s, len, l->e[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Walks down to the key's leaf, recording the path and adding delta to the
 * count of every child taken. */
static struct zbt_leaf *descend(struct zbtree *t, double score, const char *s, size_t len,
				struct path *p, int delta)
{
	void *node = t->root;
	unsigned d;

	for (d = 0; d + 1 < t->height; d++) {
		struct zbt_inner *in = node;
		unsigned i = child_for(in, score, s, len);
		p->node[d] = in;
		p->idx[d] = i;
		in->count[i] = (uint64_t)((int64_t)in->count[i] + delta);
		node = in->child[i];
	}
	return node;
}

/* Whether the node at depth d of the path is the last at its level. */
static bool rightmost(const struct path *p, int d)
{
	int i;

	for (i = 0; i < d; i++)
		if (p->idx[i] != p->node[i]->n - 1)
			return false;
	return true;
}

static uint64_t inner_sum(const struct zbt_inner *in)
{
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < in->n; i++)
		s += in->count[i];
	return s;
}

/* ---- inner nodes as arrays ---- */

static void wide_from(struct wide *w, const struct zbt_inner *in)
{
	w->n = in->n;
	memcpy(w->count, in->count, in->n * sizeof(w->count[0]));
	memcpy(w->child, in->child, in->n * sizeof(w->child[0]));
	memcpy(w->sep, in->sep, in->n * sizeof(w->sep[0]));
}

/* Appends in's children to w, with sep as the bound of its first. */
static void wide_append(struct wide *w, const struct zbt_inner *in, struct zent *sep)
{
	memcpy(w->count + w->n, in->count, in->n * sizeof(w->count[0]));
	memcpy(w->child + w->n, in->child, in->n * sizeof(w->child[0]));
	memcpy(w->sep + w->n, in->sep, in->n * sizeof(w->sep[0]));
	w->sep[w->n] = sep;
	w->n += in->n;
}

static void wide_put(struct wide *w, unsigned j, void *c, uint64_t cnt, struct zent *sep)
{
	unsigned n = w->n - j;

	memmove(&w->count[j + 1], &w->count[j], n * sizeof(w->count[0]));
	memmove(&w->child[j + 1], &w->child[j], n * sizeof(w->child[0]));
	memmove(&w->sep[j + 1], &w->sep[j], n * sizeof(w->sep[0]));
	w->count[j] = cnt;
	w->child[j] = c;
	w->sep[j] = sep;
	w->n++;
}

/* in takes w's children [from, to); its first bound is its parent's. */
static void wide_to(struct zbt_inner *in, const struct wide *w, unsigned from, unsigned to)
{
	unsigned i;

	ASSERT(to - from <= ZBT_INNER_CAP);
	in->n = to - from;
	memcpy(in->count, w->count + from, in->n * sizeof(in->count[0]));
	memcpy(in->child, w->child + from, in->n * sizeof(in->child[0]));
	memcpy(in->sep, w->sep + from, in->n * sizeof(in->sep[0]));
	in->sep[0] = NULL;
	in->sscore[0] = 0;
	for (i = 1; i < in->n; i++)
		in->sscore[i] = in->sep[i]->score;
}

static void inner_cut(struct zbt_inner *in, unsigned j)
{
	unsigned n = in->n - j - 1;

	memmove(&in->count[j], &in->count[j + 1], n * sizeof(in->count[0]));
	memmove(&in->child[j], &in->child[j + 1], n * sizeof(in->child[0]));
	memmove(&in->sep[j], &in->sep[j + 1], n * sizeof(in->sep[0]));
	memmove(&in->sscore[j], &in->sscore[j + 1], n * sizeof(in->sscore[0]));
	in->n--;
}

/* ---- insertion ---- */

static void new_root(struct zbtree *t, uint64_t lc, void *r, uint64_t rc, struct zent *sep)
{
	struct zbt_inner *in = inner_new(t);

	in->n = 2;
	in->child[0] = t->root;
	in->count[0] = lc;
	in->child[1] = r;
	in->count[1] = rc;
	in->sep[1] = sep;
	in->sscore[1] = sep->score;
	t->root = in;
	t->height++;
	ASSERT(t->height < ZBT_DEPTH_MAX);
}

static void parent_insert(struct zbtree *t, struct path *p, int d, uint64_t lc, void *r,
			  uint64_t rc, struct zent *sep);

/* Splits the full inner node at depth d to put child c after its child
 * j - 1. At the end of the last node it keeps all but one child, so ordered
 * loads leave full nodes behind (the new node holds two children). */
static void inner_split(struct zbtree *t, struct path *p, int d, unsigned j, void *c, uint64_t cnt,
			struct zent *sep)
{
	struct zbt_inner *l = p->node[d], *r = inner_new(t);
	struct zent *up;
	struct wide w;
	unsigned k;

	wide_from(&w, l);
	wide_put(&w, j, c, cnt, sep);
	k = (j == ZBT_INNER_CAP && rightmost(p, d)) ? ZBT_INNER_CAP - 1 : w.n / 2;
	up = w.sep[k];
	wide_to(l, &w, 0, k);
	wide_to(r, &w, k, w.n);
	parent_insert(t, p, d - 1, inner_sum(l), r, inner_sum(r), up);
}

/* Puts child r (rc entries, keys from sep on) right after the child the
 * path took at depth d, whose count becomes lc; splits upward when full. */
static void parent_insert(struct zbtree *t, struct path *p, int d, uint64_t lc, void *r,
			  uint64_t rc, struct zent *sep)
{
	struct zbt_inner *in;
	struct wide w;
	unsigned j;

	if (d < 0) {
		new_root(t, lc, r, rc, sep);
		return;
	}
	in = p->node[d];
	j = p->idx[d] + 1;
	in->count[j - 1] = lc;
	if (in->n == ZBT_INNER_CAP) {
		inner_split(t, p, d, j, r, rc, sep);
		return;
	}
	wide_from(&w, in);
	wide_put(&w, j, r, rc, sep);
	wide_to(in, &w, 0, w.n);
}

/* Splits the full leaf l to put e at pos: in half, except that appending to
 * the last leaf leaves it full and starts a new one. */
static void leaf_split(struct zbtree *t, struct path *p, struct zbt_leaf *l, unsigned pos,
		       struct zent *e)
{
	struct zent *all[ZBT_LEAF_CAP + 1];
	struct zbt_leaf *r = leaf_new(t);
	unsigned total = ZBT_LEAF_CAP + 1, k;

	memcpy(all, l->e, pos * sizeof(all[0]));
	all[pos] = e;
	memcpy(all + pos + 1, l->e + pos, (ZBT_LEAF_CAP - pos) * sizeof(all[0]));
	k = (l == t->tail && pos == ZBT_LEAF_CAP) ? ZBT_LEAF_CAP : total / 2;
	l->n = k;
	memcpy(l->e, all, k * sizeof(all[0]));
	r->n = total - k;
	memcpy(r->e, all + k, r->n * sizeof(all[0]));
	r->prev = l;
	r->next = l->next;
	if (l->next != NULL)
		l->next->prev = r;
	else
		t->tail = r;
	l->next = r;
	parent_insert(t, p, (int)t->height - 2, l->n, r, r->n, ent_copy(t, r->e[0]));
}

static void tree_insert(struct zbtree *t, struct zent *e)
{
	struct zbt_leaf *l;
	struct path p;
	unsigned pos;
	size_t len;
	const char *s = zent_str(e, &len);

	if (t->root == NULL) {
		l = leaf_new(t);
		t->root = l;
		t->height = 1;
		t->head = t->tail = l;
	}
	l = descend(t, e->score, s, len, &p, 1);
	pos = leaf_lower(l, e->score, s, len);
	t->n++;
	if (l->n == ZBT_LEAF_CAP) {
		leaf_split(t, &p, l, pos, e);
		return;
	}
	memmove(&l->e[pos + 1], &l->e[pos], (l->n - pos) * sizeof(l->e[0]));
	l->e[pos] = e;
	l->n++;
}

/* ---- deletion ---- */

static void fix_inner(struct zbtree *t, struct path *p, int d);

/* The node at depth d lost children: the root with one child gives way to
 * it; another node under its minimum merges with a sibling or evens out
 * with it (through the parent's separator). */
static void inner_rebalance(struct zbtree *t, struct path *p, int d)
{
	struct zbt_inner *par = p->node[d - 1], *a, *b;
	unsigned j = p->idx[d - 1], k = j > 0 ? j - 1 : j, half;
	struct wide w;

	ASSERT(par->n >= 2);
	a = par->child[k];
	b = par->child[k + 1];
	wide_from(&w, a);
	wide_append(&w, b, par->sep[k + 1]);
	if (w.n <= ZBT_INNER_CAP) {
		wide_to(a, &w, 0, w.n);
		par->count[k] += par->count[k + 1];
		node_free(t, b);
		inner_cut(par, k + 1);
		fix_inner(t, p, d - 1);
		return;
	}
	half = w.n / 2;
	wide_to(a, &w, 0, half);
	wide_to(b, &w, half, w.n);
	par->sep[k + 1] = w.sep[half];
	par->sscore[k + 1] = w.sep[half]->score;
	par->count[k] = inner_sum(a);
	par->count[k + 1] = inner_sum(b);
}

static void fix_inner(struct zbtree *t, struct path *p, int d)
{
	struct zbt_inner *in = p->node[d];

	if (d == 0) {
		if (in->n == 1) {
			t->root = in->child[0];
			t->height--;
			node_free(t, in);
		}
		return;
	}
	if (in->n >= ZBT_INNER_MIN || (in->n >= 2 && rightmost(p, d)))
		return;
	inner_rebalance(t, p, d);
}

static void leaf_unlink(struct zbtree *t, struct zbt_leaf *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		t->head = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	else
		t->tail = b->prev;
}

/* The leaf the path leads to is under its minimum: merge it with a sibling
 * or even the two out (a new separator, copied from the right one). */
static void leaf_rebalance(struct zbtree *t, struct path *p, int d)
{
	struct zbt_inner *par = p->node[d];
	unsigned j = p->idx[d], k = j > 0 ? j - 1 : j, total, half;
	struct zent *all[2 * ZBT_LEAF_CAP];
	struct zbt_leaf *a, *b;

	ASSERT(par->n >= 2);
	a = par->child[k];
	b = par->child[k + 1];
	total = a->n + b->n;
	memcpy(all, a->e, a->n * sizeof(all[0]));
	memcpy(all + a->n, b->e, b->n * sizeof(all[0]));
	node_free(t, par->sep[k + 1]);
	if (total <= ZBT_LEAF_CAP) {
		memcpy(a->e, all, total * sizeof(all[0]));
		a->n = total;
		par->count[k] = total;
		leaf_unlink(t, b);
		node_free(t, b);
		inner_cut(par, k + 1);
		fix_inner(t, p, d);
		return;
	}
	half = total / 2;
	a->n = half;
	memcpy(a->e, all, half * sizeof(all[0]));
	b->n = total - half;
	memcpy(b->e, all + half, b->n * sizeof(all[0]));
	par->count[k] = a->n;
	par->count[k + 1] = b->n;
	par->sep[k + 1] = ent_copy(t, b->e[0]);
	par->sscore[k + 1] = b->e[0]->score;
}

/* Removes the entry at pos of leaf l, which the path leads to (its counts
 * already lowered), and rebalances. */
static void delete_at(struct zbtree *t, struct path *p, struct zbt_leaf *l, unsigned pos)
{
	memmove(&l->e[pos], &l->e[pos + 1], (l->n - pos - 1) * sizeof(l->e[0]));
	l->n--;
	t->n--;
	if (t->height == 1) {
		if (l->n == 0) {
			node_free(t, l);
			t->root = NULL;
			t->height = 0;
			t->head = t->tail = NULL;
		}
		return;
	}
	if (l->n >= ZBT_LEAF_MIN || (l->n >= 1 && l == t->tail))
		return;
	leaf_rebalance(t, p, (int)t->height - 2);
}

static void tree_delete(struct zbtree *t, struct zent *e)
{
	struct zbt_leaf *l;
	struct path p;
	unsigned pos;
	size_t len;
	const char *s = zent_str(e, &len);

	l = descend(t, e->score, s, len, &p, -1);
	pos = leaf_lower(l, e->score, s, len);
	ASSERT(pos < l->n);
	ASSERT(l->e[pos] == e);
	delete_at(t, &p, l, pos);
}

/* ---- the members ---- */

struct zent *zbt_find(struct zbtree *t, const char *s, size_t len)
{
	return zmap_find(&t->map, s, len);
}

struct zent *zbt_add(struct zbtree *t, const char *s, size_t len, double score)
{
	struct zent *e = ent_new(t, s, len, score);

	zmap_add(&t->map, e);
	tree_insert(t, e);
	return e;
}

void zbt_del(struct zbtree *t, struct zent *e)
{
	size_t len;
	const char *s = zent_str(e, &len);
	struct zent *was = zmap_remove(&t->map, s, len);

	ASSERT(was == e);
	tree_delete(t, e);
	node_free(t, e);
}

/* Whether e, at pos of leaf l, may take score without moving: its
 * neighbours still bracket it, and at a leaf's end only the set's ends are
 * free of a separator's bound. */
static bool stays(const struct zbtree *t, const struct zbt_leaf *l, unsigned pos, double score)
{
	size_t len;
	const char *s = zent_str(l->e[pos], &len);

	if (pos > 0 ? zent_cmp_key(score, s, len, l->e[pos - 1]) <= 0 : l != t->head)
		return false;
	if (pos + 1 < l->n ? zent_cmp_key(score, s, len, l->e[pos + 1]) >= 0 : l != t->tail)
		return false;
	return true;
}

void zbt_set_score(struct zbtree *t, struct zent *e, double score)
{
	struct zbt_leaf *l;
	struct path p;
	unsigned pos, d;
	size_t len;
	const char *s = zent_str(e, &len);

	l = descend(t, e->score, s, len, &p, 0);
	pos = leaf_lower(l, e->score, s, len);
	ASSERT(pos < l->n);
	ASSERT(l->e[pos] == e);
	if (stays(t, l, pos, score)) {
		e->score = score;
		return;
	}
	/* Out at the place just found, then in at the new one. */
	for (d = 0; d + 1 < t->height; d++)
		p.node[d]->count[p.idx[d]]--;
	delete_at(t, &p, l, pos);
	e->score = score;
	tree_insert(t, e);
}

/* ---- ranks and positions ---- */

uint64_t zbt_rank(const struct zbtree *t, const struct zent *e)
{
	const void *node = t->root;
	uint64_t r = 0;
	unsigned d, i, pos;
	size_t len;
	const char *s = zent_str(e, &len);
	const struct zbt_leaf *l;

	for (d = 0; d + 1 < t->height; d++) {
		const struct zbt_inner *in = node;
		unsigned c = child_for(in, e->score, s, len);
		for (i = 0; i < c; i++)
			r += in->count[i];
		node = in->child[c];
	}
	l = node;
	pos = leaf_lower(l, e->score, s, len);
	ASSERT(pos < l->n);
	ASSERT(l->e[pos] == e);
	return r + pos;
}

uint64_t zbt_count_before(const struct zbtree *t, zbt_before_fn fn, const void *arg)
{
	const void *node = t->root;
	uint64_t r = 0;
	unsigned d, i, lo, hi;
	const struct zbt_leaf *l;

	if (node == NULL)
		return 0;
	for (d = 0; d + 1 < t->height; d++) {
		const struct zbt_inner *in = node;
		for (lo = 1, hi = in->n; lo < hi;) {
			unsigned mid = lo + (hi - lo) / 2;
			if (fn(arg, in->sscore[mid], in->sep[mid]))
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = 0; i + 1 < lo; i++)
			r += in->count[i];
		node = in->child[lo - 1];
	}
	l = node;
	for (lo = 0, hi = l->n; lo < hi;) {
		unsigned mid = lo + (hi - lo) / 2;
		if (fn(arg, l->e[mid]->score, l->e[mid]))
			lo = mid + 1;
		else
			hi = mid;
	}
	return r + lo;
}

void zbt_seek(const struct zbtree *t, uint64_t rank, struct zbt_pos *p)
{
	const void *node = t->root;
	unsigned d, i;

	p->leaf = NULL;
	p->i = 0;
	if (rank >= t->n)
		return;
	if (rank + 1 == t->n) {
		p->leaf = t->tail;
		p->i = t->tail->n - 1;
		return;
	}
	for (d = 0; d + 1 < t->height; d++) {
		const struct zbt_inner *in = node;
		for (i = 0; rank >= in->count[i]; i++)
			rank -= in->count[i];
		ASSERT(i < in->n);
		node = in->child[i];
	}
	p->leaf = (struct zbt_leaf *)node;
	p->i = (uint32_t)rank;
	ASSERT(p->i < p->leaf->n);
}

void zbt_next(struct zbt_pos *p)
{
	if (++p->i < p->leaf->n)
		return;
	p->leaf = p->leaf->next;
	p->i = 0;
}

void zbt_prev(struct zbt_pos *p)
{
	if (p->i > 0) {
		p->i--;
		return;
	}
	p->leaf = p->leaf->prev;
	p->i = p->leaf != NULL ? p->leaf->n - 1 : 0;
}

/* ---- bulk loading ---- */

/* One level of nodes while building: each node, its entry count and its
 * first entry (the key its separator copies). */
struct level {
	void **node;
	uint64_t *count;
	struct zent **first;
	uint64_t n;
};

static void level_alloc(struct zbtree *t, struct level *lv, uint64_t n)
{
	lv->node = mem_alloc(t->mem, n * sizeof(*lv->node));
	lv->count = mem_alloc(t->mem, n * sizeof(*lv->count));
	lv->first = mem_alloc(t->mem, n * sizeof(*lv->first));
	lv->n = 0;
}

static void level_free(struct zbtree *t, struct level *lv)
{
	mem_free(t->mem, lv->node);
	mem_free(t->mem, lv->count);
	mem_free(t->mem, lv->first);
}

/* Full leaves from n sorted entries, linked in order. */
static void build_leaves(struct zbtree *t, struct zent **arr, uint64_t n, struct level *lv)
{
	struct zbt_leaf *prev = NULL;
	uint64_t i;

	level_alloc(t, lv, (n + ZBT_LEAF_CAP - 1) / ZBT_LEAF_CAP);
	for (i = 0; i < n; i += ZBT_LEAF_CAP) {
		struct zbt_leaf *l = leaf_new(t);
		l->n = (uint32_t)(n - i < ZBT_LEAF_CAP ? n - i : ZBT_LEAF_CAP);
		memcpy(l->e, arr + i, l->n * sizeof(l->e[0]));
		l->prev = prev;
		if (prev != NULL)
			prev->next = l;
		else
			t->head = l;
		prev = l;
		lv->node[lv->n] = l;
		lv->count[lv->n] = l->n;
		lv->first[lv->n] = l->e[0];
		lv->n++;
	}
	t->tail = prev;
}

/* The inner level above lv: full nodes, the last with at least two
 * children (it takes one from the one before if it would have one). */
static void build_up(struct zbtree *t, const struct level *lv, struct level *up)
{
	uint64_t i = 0;

	level_alloc(t, up, (lv->n + ZBT_INNER_CAP - 1) / ZBT_INNER_CAP);
	while (i < lv->n) {
		struct zbt_inner *in = inner_new(t);
		uint64_t k = lv->n - i < ZBT_INNER_CAP ? lv->n - i : ZBT_INNER_CAP, j;
		if (lv->n - i - k == 1)
			k--;
		in->n = (uint32_t)k;
		for (j = 0; j < k; j++) {
			in->child[j] = lv->node[i + j];
			in->count[j] = lv->count[i + j];
			if (j > 0) {
				in->sep[j] = ent_copy(t, lv->first[i + j]);
				in->sscore[j] = in->sep[j]->score;
			}
		}
		up->node[up->n] = in;
		up->count[up->n] = inner_sum(in);
		up->first[up->n] = lv->first[i];
		up->n++;
		i += k;
	}
}

static void build(struct zbtree *t, struct zent **arr, uint64_t n)
{
	struct level lv, up;

	ASSERT(t->root == NULL);
	if (n == 0)
		return;
	build_leaves(t, arr, n, &lv);
	t->height = 1;
	while (lv.n > 1) {
		build_up(t, &lv, &up);
		level_free(t, &lv);
		lv = up;
		t->height++;
		ASSERT(t->height < ZBT_DEPTH_MAX);
	}
	t->root = lv.node[0];
	t->n = n;
	level_free(t, &lv);
}

struct zent *zbt_stage(struct zbtree *t, const char *s, size_t len, double score)
{
	struct zent *e = ent_new(t, s, len, score);

	zmap_add(&t->map, e);
	return e;
}

struct collect {
	struct zent **arr;
	uint64_t n;
};

static void collect_cb(void *arg, struct zent *e)
{
	struct collect *c = arg;

	c->arr[c->n++] = e;
}

static int cmp_ent(const void *a, const void *b)
{
	return zent_cmp(*(struct zent *const *)a, *(struct zent *const *)b);
}

void zbt_commit(struct zbtree *t)
{
	struct collect c;
	uint64_t n = zmap_size(&t->map);

	ASSERT(t->root == NULL);
	c.arr = mem_alloc(t->mem, (n ? n : 1) * sizeof(*c.arr));
	c.n = 0;
	zmap_each(&t->map, collect_cb, &c);
	ASSERT(c.n == n);
	qsort(c.arr, n, sizeof(*c.arr), cmp_ent);
	build(t, c.arr, n);
	mem_free(t->mem, c.arr);
}

void zbt_dup(struct zbtree *dst, const struct zbtree *src)
{
	struct zbt_leaf *l;
	struct zent **arr;
	uint64_t n = 0;
	unsigned i;

	ASSERT(zbt_len(dst) == 0);
	ASSERT(src->n == zbt_len(src));
	arr = mem_alloc(dst->mem, (src->n ? src->n : 1) * sizeof(*arr));
	zmap_expand(&dst->map, src->n);
	for (l = src->head; l != NULL; l = l->next) {
		for (i = 0; i < l->n; i++) {
			arr[n] = ent_copy(dst, l->e[i]);
			zmap_add(&dst->map, arr[n]);
			n++;
		}
	}
	ASSERT(n == src->n);
	build(dst, arr, n);
	mem_free(dst->mem, arr);
}

/* ---- freeing, scan, size ---- */

static void free_node(struct zbtree *t, void *node, unsigned level)
{
	struct zbt_inner *in = node;
	unsigned i;

	if (level == 0) {
		node_free(t, node);
		return;
	}
	for (i = 0; i < in->n; i++) {
		free_node(t, in->child[i], level - 1);
		if (i > 0)
			node_free(t, in->sep[i]);
	}
	node_free(t, in);
}

static void free_ent_cb(void *arg, struct zent *e)
{
	node_free(arg, e);
}

void zbt_free(struct zbtree *t)
{
	struct mem *mem = t->mem;
	uint64_t seed = t->map.seed;

	zmap_each(&t->map, free_ent_cb, t);
	if (t->root != NULL)
		free_node(t, t->root, t->height - 1);
	zmap_free(&t->map);
	ASSERT(t->bytes == 0);
	zbt_init(t, mem, seed);
}

/* The background free's first phase: the entries from the last leaf back,
 * each leaf after its entries. The inner nodes still point at the freed
 * leaves, and the index at the freed entries: neither is read again. */
static void free_leaves_some(struct zbtree *t, unsigned *budget)
{
	while (*budget > 0 && t->tail != NULL) {
		struct zbt_leaf *l = t->tail;
		if (l->n > 0) {
			node_free(t, l->e[--l->n]);
			t->n--;
		} else {
			t->tail = l->prev;
			node_free(t, l);
		}
		(*budget)--;
	}
	if (t->tail == NULL && t->height == 1)
		t->root = NULL;
}

/* The second phase: the inner nodes, each from its last child back (the
 * children at the bottom level are the freed leaves), by way of the
 * rightmost path, which is all that is left of the tree. */
static void free_inner_some(struct zbtree *t, unsigned *budget)
{
	while (*budget > 0 && t->root != NULL) {
		struct zbt_inner *par = NULL, *in = t->root;
		unsigned level = t->height - 1;
		while (level > 1 && in->n > 0) {
			par = in;
			in = in->child[in->n - 1];
			level--;
		}
		(*budget)--;
		if (in->n > 0) {
			/* A freed leaf: drop it with its separator. */
			ASSERT(level == 1);
			if (in->n > 1)
				node_free(t, in->sep[in->n - 1]);
			in->n--;
			continue;
		}
		node_free(t, in);
		if (par == NULL) {
			t->root = NULL;
			break;
		}
		if (par->n > 1)
			node_free(t, par->sep[par->n - 1]);
		par->n--;
	}
}

bool zbt_free_some(struct zbtree *t, unsigned *budget)
{
	struct mem *mem = t->mem;
	uint64_t seed = t->map.seed;

	free_leaves_some(t, budget);
	if (t->tail == NULL)
		free_inner_some(t, budget);
	if (t->root != NULL || *budget == 0)
		return false;
	ASSERT(t->n == 0 && t->bytes == 0);
	zmap_free(&t->map);
	(*budget)--;
	zbt_init(t, mem, seed);
	return true;
}

uint64_t zbt_scan(struct zbtree *t, uint64_t cursor, zmap_fn fn, void *arg)
{
	return zmap_scan(&t->map, cursor, fn, arg);
}

size_t zbt_mem(const struct zbtree *t)
{
	return t->bytes + zmap_mem(&t->map);
}

/* ---- the check ---- */

struct chk {
	const struct zbtree *t;
	const struct zent *prev;     /* the last entry seen, in order */
	const struct zbt_leaf *leaf; /* the last leaf seen */
	uint64_t bytes;
	bool bad;
};

/* Whether lo <= e < hi (either bound may be NULL: none). */
static bool within(const struct zent *e, const struct zent *lo, const struct zent *hi)
{
	return (lo == NULL || zent_cmp(lo, e) <= 0) && (hi == NULL || zent_cmp(e, hi) < 0);
}

static uint64_t check_leaf(struct chk *c, const struct zbt_leaf *l, const struct zent *lo,
			   const struct zent *hi, bool last, bool root)
{
	unsigned i;

	if (l->n > ZBT_LEAF_CAP || l->n == 0 || (!root && !last && l->n < ZBT_LEAF_MIN))
		c->bad = true;
	if (l->prev != c->leaf || (c->leaf == NULL ? c->t->head != l : c->leaf->next != l))
		c->bad = true;
	c->leaf = l;
	c->bytes += mem_size(l);
	for (i = 0; i < l->n && !c->bad; i++) {
		const struct zent *e = l->e[i];
		size_t len;
		const char *s = zent_str(e, &len);
		if ((c->prev != NULL && zent_cmp(c->prev, e) >= 0) || !within(e, lo, hi) ||
		    zmap_peek(&c->t->map, s, len) != e)
			c->bad = true;
		c->bytes += mem_size(e);
		c->prev = e;
	}
	return l->n;
}

static uint64_t check_node(struct chk *c, const void *node, unsigned level, const struct zent *lo,
			   const struct zent *hi, bool last, bool root)
{
	const struct zbt_inner *in = node;
	unsigned i;

	if (level == 0)
		return check_leaf(c, node, lo, hi, last, root);
	if (in->n > ZBT_INNER_CAP || in->n < 2 || (!root && !last && in->n < ZBT_INNER_MIN) ||
	    in->sep[0] != NULL)
		c->bad = true;
	c->bytes += mem_size(in);
	for (i = 0; i < in->n && !c->bad; i++) {
		const struct zent *clo = i == 0 ? lo : in->sep[i];
		const struct zent *chi = i + 1 < in->n ? in->sep[i + 1] : hi;
		if (i > 0) {
			c->bytes += mem_size(in->sep[i]);
			if (in->sscore[i] != in->sep[i]->score || !within(in->sep[i], lo, hi))
				c->bad = true;
		}
		if (check_node(c, in->child[i], level - 1, clo, chi, last && i + 1 == in->n,
			       false) != in->count[i])
			c->bad = true;
	}
	return inner_sum(in);
}

bool zbt_check(const struct zbtree *t)
{
	struct chk c = { .t = t };
	uint64_t n = 0;

	if (t->root == NULL) {
		if (t->height != 0 || t->n != 0 || t->head != NULL || t->tail != NULL)
			return false;
	} else {
		n = check_node(&c, t->root, t->height - 1, NULL, NULL, true, true);
		if (c.bad || c.leaf != t->tail || t->tail->next != NULL)
			return false;
	}
	return n == t->n && zmap_size(&t->map) == t->n && c.bytes == t->bytes &&
	       zmap_check(&t->map);
}
