/* tracking.c: see tracking.h. A chained hash table that doubles when it
 * holds as many keys as buckets (as watch.c's); each record keeps its
 * clients' ids sorted, so remembering one is a binary search. */
#include "data/tracking.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"

#define TRACKING_SEED 0x545241434bull /* any constant: the bound keeps chains short */
#define TRACKING_BUCKETS_MIN 16
#define TRACKING_IDS_MIN 2

struct tracking_key {
	struct tracking_key *next;
	uint64_t *ids;
	uint32_t nids, cap;
	uint32_t klen;
	char key[];
};

static const atomic_uint no_bcast;

static void no_hook(void *arg, enum tracking_event ev, const char *key, size_t klen,
		    const uint64_t *ids, uint32_t nids)
{
	(void)arg, (void)ev, (void)key, (void)klen, (void)ids, (void)nids;
}

void tracking_init(struct tracking *t, struct mem *mem)
{
	memset(t, 0, sizeof(*t));
	t->mem = mem;
	t->bcast = &no_bcast;
	t->hook = no_hook;
}

void tracking_unhook(struct tracking *t)
{
	t->hook = no_hook;
	t->hook_arg = NULL;
}

static void free_key(struct tracking *t, struct tracking_key *k)
{
	t->items -= k->nids;
	mem_free(t->mem, k->ids);
	mem_free(t->mem, k);
}

/* Forgets every record, reporting none. */
static void clear(struct tracking *t)
{
	uint32_t i;

	for (i = 0; i < t->nb; i++) {
		struct tracking_key *k = t->b[i];
		while (k != NULL) {
			struct tracking_key *next = k->next;
			free_key(t, k);
			k = next;
		}
		t->b[i] = NULL;
	}
	ASSERT(t->items == 0);
	t->n = 0;
}

void tracking_free(struct tracking *t)
{
	clear(t);
	mem_free(t->mem, t->b);
	mem_free(t->mem, t->cand);
	t->b = NULL;
	t->nb = 0;
	t->cand = NULL;
	t->cand_len = t->cand_cap = 0;
}

static uint32_t bucket_of(const struct tracking *t, const char *key, size_t klen)
{
	return (uint32_t)hash_bytes(key, klen, TRACKING_SEED) & (t->nb - 1);
}

static struct tracking_key **find(const struct tracking *t, const char *key, size_t klen)
{
	struct tracking_key **link;

	if (t->nb == 0)
		return NULL;
	for (link = &t->b[bucket_of(t, key, klen)]; *link != NULL; link = &(*link)->next)
		if ((*link)->klen == klen && memcmp((*link)->key, key, klen) == 0)
			return link;
	return NULL;
}

static void grow(struct tracking *t)
{
	uint32_t nb = t->nb ? t->nb * 2 : TRACKING_BUCKETS_MIN, old = t->nb, i;
	struct tracking_key **ob = t->b;

	t->b = mem_calloc(t->mem, nb * sizeof(*t->b));
	t->nb = nb;
	for (i = 0; i < old; i++) {
		struct tracking_key *k = ob[i];
		while (k != NULL) {
			struct tracking_key *next = k->next;
			uint32_t b = bucket_of(t, k->key, k->klen);
			k->next = t->b[b];
			t->b[b] = k;
			k = next;
		}
	}
	mem_free(t->mem, ob);
	t->cursor = 0;
}

/* Unlinks the record at link and reports it to its clients. */
static void report(struct tracking *t, struct tracking_key **link)
{
	struct tracking_key *k = *link;

	*link = k->next;
	t->n--;
	t->hook(t->hook_arg, TRACKING_KEY, k->key, k->klen, k->ids, k->nids);
	free_key(t, k);
}

/* The bound: the first record at or after the cursor goes. */
static void evict_one(struct tracking *t)
{
	uint32_t i;

	ASSERT(t->n > 0);
	for (i = 0; i < t->nb; i++) {
		uint32_t b = (t->cursor + i) & (t->nb - 1);
		if (t->b[b] != NULL) {
			t->cursor = b + 1;
			report(t, &t->b[b]);
			return;
		}
	}
	ASSERT_NOT_REACHED("tracking: a key counted but none found");
}

void tracking_trim(struct tracking *t)
{
	while (t->max_keys > 0 && t->n > t->max_keys)
		evict_one(t);
}

static struct tracking_key *add_key(struct tracking *t, const char *key, size_t klen)
{
	struct tracking_key *k;
	uint32_t b;

	if (t->max_keys > 0 && t->n >= t->max_keys)
		evict_one(t);
	if (t->n >= t->nb)
		grow(t);
	k = mem_alloc(t->mem, sizeof(*k) + klen);
	k->ids = NULL;
	k->nids = k->cap = 0;
	k->klen = (uint32_t)klen;
	memcpy(k->key, key, klen);
	b = bucket_of(t, key, klen);
	k->next = t->b[b];
	t->b[b] = k;
	t->n++;
	return k;
}

void tracking_remember(struct tracking *t, const char *key, size_t klen, uint64_t id)
{
	struct tracking_key **link = find(t, key, klen), *k;
	uint32_t lo = 0, hi;

	k = link != NULL ? *link : add_key(t, key, klen);
	hi = k->nids;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (k->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->nids && k->ids[lo] == id)
		return;
	if (k->nids == k->cap) {
		k->cap = k->cap ? k->cap * 2 : TRACKING_IDS_MIN;
		k->ids = mem_realloc(t->mem, k->ids, k->cap * sizeof(*k->ids));
	}
	memmove(k->ids + lo + 1, k->ids + lo, (k->nids - lo) * sizeof(*k->ids));
	k->ids[lo] = id;
	k->nids++;
	t->items++;
}

void tracking_touch_slow(struct tracking *t, const char *key, size_t klen)
{
	struct tracking_key **link;

	if (atomic_load_explicit(t->bcast, memory_order_relaxed) > 0)
		t->hook(t->hook_arg, TRACKING_BCAST, key, klen, NULL, 0);
	link = find(t, key, klen);
	if (link != NULL)
		report(t, link);
}

void tracking_note_slow(struct tracking *t, const char *key, size_t klen)
{
	uint32_t n = (uint32_t)klen;

	ASSERT(klen <= UINT32_MAX);
	if (t->cand_len + sizeof(n) + klen > t->cand_cap) {
		size_t cap = t->cand_cap ? t->cand_cap : 64;
		while (cap < t->cand_len + sizeof(n) + klen)
			cap *= 2;
		t->cand = mem_realloc(t->mem, t->cand, cap);
		t->cand_cap = cap;
	}
	memcpy(t->cand + t->cand_len, &n, sizeof(n));
	memcpy(t->cand + t->cand_len + sizeof(n), key, klen);
	t->cand_len += sizeof(n) + klen;
}

void tracking_touch_noted(struct tracking *t)
{
	size_t off = 0;

	while (off < t->cand_len) {
		uint32_t n;
		memcpy(&n, t->cand + off, sizeof(n));
		tracking_touch_slow(t, t->cand + off + sizeof(n), n);
		off += sizeof(n) + n;
	}
	t->cand_len = 0;
}

void tracking_flushed(struct tracking *t)
{
	clear(t);
	t->cand_len = 0;
	t->hook(t->hook_arg, TRACKING_FLUSH, NULL, 0, NULL, 0);
}

size_t tracking_mem(const struct tracking *t)
{
	size_t n = mem_size(t->b) + mem_size(t->cand);
	uint32_t i;

	for (i = 0; i < t->nb; i++) {
		const struct tracking_key *k;
		for (k = t->b[i]; k != NULL; k = k->next)
			n += mem_size(k) + mem_size(k->ids);
	}
	return n;
}
