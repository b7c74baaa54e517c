/* zmap.c: the member index of a big sorted set. See zmap.h.
 *
 * A slot holds an entry's address with a 3-bit tag from the top of the
 * member's hash in its low bits (entries are 8-byte aligned); its home is
 * the hash's low bits masked by the table size. Linear probing keeps every
 * member between its home and the first empty slot after it, which is what
 * lookups, backward-shift deletion, the cluster-wise resize and the scan by
 * home bucket rely on. */
#include "data/zmap.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"
#include "data/zent.h"

#define TAG_MASK ((uintptr_t)7)

/* ---- slots ---- */

static uint64_t str_hash(const struct zmap *m, const char *s, size_t len)
{
	return hash_bytes(s, len, m->seed);
}

static uintptr_t tag_of(uint64_t h)
{
	return (uintptr_t)(h >> 61);
}

static struct zent *ent_of(uintptr_t v)
{
	return (struct zent *)(v & ~TAG_MASK);
}

static uint64_t ent_hash(const struct zmap *m, const struct zent *e)
{
	size_t len;
	const char *s = zent_str(e, &len);

	return str_hash(m, s, len);
}

static bool resizing(const struct zmap *m)
{
	return m->t[1] != NULL;
}

/* The slot of member s (hash h) in table t, or -1. A table is never full,
 * so the walk ends at an empty slot. */
static int64_t probe(const struct zmap *m, int t, const char *s, size_t len, uint64_t h)
{
	uintptr_t tag = tag_of(h);
	uint64_t mask, i;

	if (m->size[t] == 0)
		return -1;
	mask = m->size[t] - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		uintptr_t v = m->t[t][i];
		if (v == 0)
			return -1;
		if ((v & TAG_MASK) == tag && zent_eq(ent_of(v), s, len))
			return (int64_t)i;
	}
}

/* Puts slot value v (hash h) in the first empty slot from its home. */
static void place(struct zmap *m, int t, uintptr_t v, uint64_t h)
{
	uint64_t mask = m->size[t] - 1, i;

	ASSERT(m->used[t] < m->size[t]);
	for (i = h & mask; m->t[t][i] != 0; i = (i + 1) & mask)
		;
	m->t[t][i] = v;
	m->used[t]++;
}

/* Empties slot i of table t, shifting back the members after it that may
 * move closer to their homes, so no probe sequence is cut. */
static void unplace(struct zmap *m, int t, uint64_t i)
{
	uint64_t mask = m->size[t] - 1, j = i;
	uintptr_t *s = m->t[t];

	for (;;) {
		uint64_t home;
		j = (j + 1) & mask;
		if (s[j] == 0)
			break;
		home = ent_hash(m, ent_of(s[j])) & mask;
		/* s[j] stays unless its home lies cyclically outside (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		s[i] = s[j];
		i = j;
	}
	s[i] = 0;
	ASSERT(m->used[t] > 0);
	m->used[t]--;
}

/* ---- resizing ---- */

void zmap_init(struct zmap *m, struct mem *mem, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->mem = mem;
	m->seed = seed;
}

uint64_t zmap_size(const struct zmap *m)
{
	return m->used[0] + m->used[1];
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t s = ZMAP_SIZE_MIN;

	while (s < n)
		s <<= 1;
	return s;
}

/* A table of size slots: the only one, or the new one being filled, moved
 * into from an empty slot of the old one so that clusters move whole. */
static void start_resize(struct zmap *m, uint64_t size)
{
	uint64_t i;

	ASSERT(!resizing(m));
	if (m->t[0] == NULL) {
		m->t[0] = mem_calloc(m->mem, size * sizeof(uintptr_t));
		m->size[0] = size;
		return;
	}
	m->t[1] = mem_calloc(m->mem, size * sizeof(uintptr_t));
	m->size[1] = size;
	m->used[1] = 0;
	for (i = 0; m->t[0][i] != 0; i++)
		;
	m->rehash_pos = i;
	m->rehash_left = m->size[0];
}

static void end_resize(struct zmap *m)
{
	ASSERT(m->used[0] == 0);
	mem_free(m->mem, m->t[0]);
	m->t[0] = m->t[1];
	m->size[0] = m->size[1];
	m->used[0] = m->used[1];
	m->t[1] = NULL;
	m->size[1] = m->used[1] = 0;
	m->rehash_pos = m->rehash_left = 0;
}

/* Moves old slots into the new table: at least budget of them, and always
 * to the end of a cluster, so the old table holds only whole clusters. */
static void rehash_step(struct zmap *m, uint64_t budget)
{
	uint64_t mask = m->size[0] - 1;

	while (m->rehash_left > 0) {
		uint64_t i = m->rehash_pos;
		uintptr_t v = m->t[0][i];
		if (v == 0 && budget == 0)
			break;
		if (v != 0) {
			place(m, 1, v, ent_hash(m, ent_of(v)));
			m->t[0][i] = 0;
			m->used[0]--;
		}
		m->rehash_pos = (i + 1) & mask;
		m->rehash_left--;
		if (budget > 0)
			budget--;
	}
	if (m->rehash_left == 0)
		end_resize(m);
}

void zmap_expand(struct zmap *m, uint64_t n)
{
	ASSERT(zmap_size(m) == 0);
	ASSERT(m->t[0] == NULL);
	start_resize(m, pow2_at_least(n * 100 / ZMAP_LOAD_MAX_PCT + 1));
}

/* Before an insertion: the table it goes to must stay under the load
 * bound with every member in it (the old table's too, once moved). */
static void grow_if_needed(struct zmap *m)
{
	int t = resizing(m) ? 1 : 0;
	uint64_t n = zmap_size(m) + 1;

	if (m->size[t] == 0) {
		start_resize(m, ZMAP_SIZE_MIN);
		return;
	}
	if (n * 100 <= m->size[t] * ZMAP_LOAD_MAX_PCT)
		return;
	if (resizing(m))
		rehash_step(m, UINT64_MAX);
	start_resize(m, m->size[0] * 2);
}

/* After a removal: under ZMAP_LOAD_MIN_PCT full, move to a table about
 * half full (Redis's htNeedsResize); an empty index gives its table back. */
static void shrink_if_needed(struct zmap *m)
{
	uint64_t n = m->used[0];

	if (resizing(m) || m->size[0] <= ZMAP_SIZE_MIN)
		return;
	if (n * 100 >= m->size[0] * ZMAP_LOAD_MIN_PCT)
		return;
	if (n == 0) {
		mem_free(m->mem, m->t[0]);
		m->t[0] = NULL;
		m->size[0] = 0;
		return;
	}
	start_resize(m, pow2_at_least(n * 2));
}

void zmap_free(struct zmap *m)
{
	mem_free(m->mem, m->t[0]);
	mem_free(m->mem, m->t[1]);
	zmap_init(m, m->mem, m->seed);
}

/* ---- lookups and changes ---- */

struct zent *zmap_find(struct zmap *m, const char *s, size_t len)
{
	uint64_t h;
	int t;

	if (zmap_size(m) == 0)
		return NULL;
	if (resizing(m))
		rehash_step(m, ZMAP_REHASH_SLOTS);
	h = str_hash(m, s, len);
	for (t = 0; t <= 1; t++) {
		int64_t i = probe(m, t, s, len, h);
		if (i >= 0)
			return ent_of(m->t[t][i]);
	}
	return NULL;
}

struct zent *zmap_peek(const struct zmap *m, const char *s, size_t len)
{
	uint64_t h;
	int t;

	if (zmap_size(m) == 0)
		return NULL;
	h = str_hash(m, s, len);
	for (t = 0; t <= 1; t++) {
		int64_t i = probe(m, t, s, len, h);
		if (i >= 0)
			return ent_of(m->t[t][i]);
	}
	return NULL;
}

void zmap_add(struct zmap *m, struct zent *e)
{
	size_t len;
	const char *s = zent_str(e, &len);
	uint64_t h = str_hash(m, s, len);

	ASSERT(((uintptr_t)e & TAG_MASK) == 0);
	if (resizing(m))
		rehash_step(m, ZMAP_REHASH_SLOTS);
	grow_if_needed(m);
	place(m, resizing(m) ? 1 : 0, (uintptr_t)e | tag_of(h), h);
}

struct zent *zmap_remove(struct zmap *m, const char *s, size_t len)
{
	uint64_t h;
	int t;

	if (zmap_size(m) == 0)
		return NULL;
	if (resizing(m))
		rehash_step(m, ZMAP_REHASH_SLOTS);
	h = str_hash(m, s, len);
	for (t = 0; t <= 1; t++) {
		int64_t i = probe(m, t, s, len, h);
		if (i >= 0) {
			struct zent *e = ent_of(m->t[t][i]);
			unplace(m, t, (uint64_t)i);
			shrink_if_needed(m);
			return e;
		}
	}
	return NULL;
}

/* ---- iteration and scan ---- */

void zmap_each(const struct zmap *m, zmap_fn fn, void *arg)
{
	uint64_t i;
	int t;

	for (t = 0; t <= 1; t++)
		for (i = 0; i < m->size[t]; i++)
			if (m->t[t][i] != 0)
				fn(arg, ent_of(m->t[t][i]));
}

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

/* fn on every member of table t whose home is bucket b: they all sit
 * between b and the first empty slot after it. */
static void scan_home(const struct zmap *m, int t, uint64_t b, zmap_fn fn, void *arg)
{
	uint64_t mask = m->size[t] - 1, i;

	for (i = b; m->t[t][i] != 0; i = (i + 1) & mask) {
		struct zent *e = ent_of(m->t[t][i]);
		if ((ent_hash(m, e) & mask) == b)
			fn(arg, e);
	}
}

uint64_t zmap_scan(struct zmap *m, uint64_t v, zmap_fn fn, void *arg)
{
	uint64_t m0, m1;
	int t0, t1;

	if (zmap_size(m) == 0)
		return 0;
	if (!resizing(m)) {
		m0 = m->size[0] - 1;
		scan_home(m, 0, v & m0, fn, arg);
		v |= ~m0;
		return rev64(rev64(v) + 1);
	}
	t0 = m->size[0] <= m->size[1] ? 0 : 1;
	t1 = 1 - t0;
	m0 = m->size[t0] - 1;
	m1 = m->size[t1] - 1;
	scan_home(m, t0, v & m0, fn, arg);
	do {
		scan_home(m, t1, v & m1, fn, arg);
		v |= ~m1;
		v = rev64(rev64(v) + 1);
	} while (v & (m0 ^ m1));
	return v;
}

size_t zmap_mem(const struct zmap *m)
{
	return mem_size(m->t[0]) + mem_size(m->t[1]);
}

/* ---- the check ---- */

/* Whether slot i of table t holds a member found from its home, with its
 * tag, found there first (no twin before it), and in no other table. */
static bool slot_ok(const struct zmap *m, int t, uint64_t i)
{
	struct zent *e = ent_of(m->t[t][i]);
	uint64_t mask = m->size[t] - 1, h, j;
	size_t len;
	const char *s = zent_str(e, &len);

	h = str_hash(m, s, len);
	if ((m->t[t][i] & TAG_MASK) != tag_of(h) || probe(m, t, s, len, h) != (int64_t)i)
		return false;
	for (j = h & mask; j != i; j = (j + 1) & mask)
		if (m->t[t][j] == 0)
			return false;
	return !resizing(m) || probe(m, 1 - t, s, len, h) < 0;
}

bool zmap_check(const struct zmap *m)
{
	uint64_t i, n, moved;
	int t;

	for (t = 0; t <= 1; t++) {
		for (i = 0, n = 0; i < m->size[t]; i++) {
			if (m->t[t][i] == 0)
				continue;
			if (!slot_ok(m, t, i))
				return false;
			n++;
		}
		if (n != m->used[t] || (m->size[t] != 0 && n >= m->size[t]))
			return false;
	}
	if (!resizing(m))
		return m->used[1] == 0;
	/* The old table's visited part, just before rehash_pos, is empty. */
	moved = m->size[0] - m->rehash_left;
	for (i = 1; i <= moved; i++)
		if (m->t[0][(m->rehash_pos - i) & (m->size[0] - 1)] != 0)
			return false;
	return true;
}
