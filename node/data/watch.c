/* watch.c: see watch.h. A chained hash table that doubles when it holds
 * as many records as buckets; WATCH is rare and its records few, so no
 * incremental rehashing. */
#include "data/watch.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"

#define WATCH_SEED 0x5741544348ull /* any constant: nothing here is hostile-sized */
#define WATCH_BUCKETS_MIN 16

struct watch_key {
	struct watch_key *next;
	uint64_t changed; /* the number of its latest change (0: none yet) */
	uint64_t gone;    /* of its latest deletion (0: none yet) */
	uint32_t refs;
	uint32_t klen;
	char key[];
};

void watch_init(struct watch *w, struct mem *mem)
{
	memset(w, 0, sizeof(*w));
	w->mem = mem;
}

void watch_free(struct watch *w)
{
	uint32_t i;

	for (i = 0; i < w->nb; i++) {
		struct watch_key *k = w->b[i];
		while (k != NULL) {
			struct watch_key *next = k->next;
			mem_free(w->mem, k);
			k = next;
		}
	}
	mem_free(w->mem, w->b);
	mem_free(w->mem, w->cand);
	watch_init(w, w->mem);
}

static uint32_t bucket_of(const struct watch *w, const char *key, size_t klen)
{
	return (uint32_t)hash_bytes(key, klen, WATCH_SEED) & (w->nb - 1);
}

static struct watch_key **find(const struct watch *w, const char *key, size_t klen)
{
	struct watch_key **link;

	if (w->nb == 0)
		return NULL;
	for (link = &w->b[bucket_of(w, key, klen)]; *link != NULL; link = &(*link)->next)
		if ((*link)->klen == klen && memcmp((*link)->key, key, klen) == 0)
			return link;
	return NULL;
}

static void grow(struct watch *w)
{
	uint32_t nb = w->nb ? w->nb * 2 : WATCH_BUCKETS_MIN, old = w->nb, i;
	struct watch_key **ob = w->b;

	w->b = mem_calloc(w->mem, nb * sizeof(*w->b));
	w->nb = nb;
	for (i = 0; i < old; i++) {
		struct watch_key *k = ob[i];
		while (k != NULL) {
			struct watch_key *next = k->next;
			uint32_t b = bucket_of(w, k->key, k->klen);
			k->next = w->b[b];
			w->b[b] = k;
			k = next;
		}
	}
	mem_free(w->mem, ob);
}

uint64_t watch_add(struct watch *w, const char *key, size_t klen)
{
	struct watch_key **link = find(w, key, klen), *k;
	uint32_t b;

	if (link != NULL) {
		(*link)->refs++;
		return w->seq;
	}
	if (w->n >= w->nb)
		grow(w);
	k = mem_alloc(w->mem, sizeof(*k) + klen);
	k->changed = k->gone = 0;
	k->refs = 1;
	k->klen = (uint32_t)klen;
	memcpy(k->key, key, klen);
	b = bucket_of(w, key, klen);
	k->next = w->b[b];
	w->b[b] = k;
	w->n++;
	return w->seq;
}

void watch_drop(struct watch *w, const char *key, size_t klen)
{
	struct watch_key **link = find(w, key, klen), *k;

	/* Pairs with watch_add: every watcher dropped was added. */
	ASSERT(link != NULL);
	k = *link;
	ASSERT(k->refs > 0);
	if (--k->refs > 0)
		return;
	/* A noted record goes at the end of the command at the latest; a
	 * drop happens between commands. */
	ASSERT(w->ncand == 0);
	*link = k->next;
	mem_free(w->mem, k);
	w->n--;
}

bool watch_changed(const struct watch *w, const char *key, size_t klen, uint64_t since,
		   bool expired)
{
	struct watch_key **link = find(w, key, klen);

	ASSERT(link != NULL);
	return (*link)->changed > since || (!expired && (*link)->gone > since);
}

void watch_touch_slow(struct watch *w, const char *key, size_t klen, bool gone)
{
	struct watch_key **link = find(w, key, klen);

	if (link == NULL)
		return;
	if (gone)
		(*link)->gone = ++w->seq;
	else
		(*link)->changed = ++w->seq;
}

void watch_note_slow(struct watch *w, const char *key, size_t klen)
{
	struct watch_key **link = find(w, key, klen);

	if (link == NULL)
		return;
	if (w->ncand == w->cand_cap) {
		w->cand_cap = w->cand_cap ? w->cand_cap * 2 : 4;
		w->cand = mem_realloc(w->mem, w->cand, w->cand_cap * sizeof(*w->cand));
	}
	w->cand[w->ncand++] = *link;
}

void watch_touch_noted(struct watch *w)
{
	uint32_t i;

	for (i = 0; i < w->ncand; i++)
		w->cand[i]->changed = ++w->seq;
}

void watch_each(struct watch *w, void (*fn)(void *arg, const char *key, size_t klen), void *arg)
{
	uint32_t i;

	for (i = 0; i < w->nb; i++) {
		const struct watch_key *k;
		for (k = w->b[i]; k != NULL; k = k->next)
			fn(arg, k->key, k->klen);
	}
}

size_t watch_mem(const struct watch *w)
{
	size_t n = mem_size(w->b) + mem_size(w->cand);
	uint32_t i;

	for (i = 0; i < w->nb; i++) {
		const struct watch_key *k;
		for (k = w->b[i]; k != NULL; k = k->next)
			n += mem_size(k);
	}
	return n;
}
