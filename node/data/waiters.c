/* waiters.c: see waiters.h. A chained hash table of keys that doubles when
 * it holds as many keys as buckets (blocked clients are few, as watched
 * keys are), each key with its FIFO of waiters in an array; the ready list
 * is an array of records, each on it at most once (its ready flag). */
#include "data/waiters.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"

#define WAITERS_SEED 0x424c4f434bull /* any constant: nothing here is hostile-sized */
#define WAITERS_BUCKETS_MIN 16

struct waiters_key {
	struct waiters_key *next;
	struct waiter *w; /* the FIFO: w[0] first */
	uint32_t n, cap;
	uint64_t offered; /* the block id an offer is out to, or 0 */
	bool ready;       /* on the ready list */
	uint32_t klen;
	char key[];
};

void waiters_init(struct waiters *t, struct mem *mem)
{
	memset(t, 0, sizeof(*t));
	t->mem = mem;
}

static void key_free(struct waiters *t, struct waiters_key *k)
{
	mem_free(t->mem, k->w);
	mem_free(t->mem, k);
}

void waiters_free(struct waiters *t)
{
	uint32_t i;

	for (i = 0; i < t->nb; i++) {
		struct waiters_key *k = t->b[i];
		while (k != NULL) {
			struct waiters_key *next = k->next;
			key_free(t, k);
			k = next;
		}
	}
	mem_free(t->mem, t->b);
	mem_free(t->mem, t->ready);
	waiters_init(t, t->mem);
}

static uint32_t bucket_of(const struct waiters *t, const char *key, size_t klen)
{
	return (uint32_t)hash_bytes(key, klen, WAITERS_SEED) & (t->nb - 1);
}

static struct waiters_key **find(const struct waiters *t, const char *key, size_t klen)
{
	struct waiters_key **link;

	if (t->nb == 0)
		return NULL;
	for (link = &t->b[bucket_of(t, key, klen)]; *link != NULL; link = &(*link)->next)
		if ((*link)->klen == klen && memcmp((*link)->key, key, klen) == 0)
			return link;
	return NULL;
}

static void grow(struct waiters *t)
{
	uint32_t nb = t->nb ? t->nb * 2 : WAITERS_BUCKETS_MIN, old = t->nb, i;
	struct waiters_key **ob = t->b;

	t->b = mem_calloc(t->mem, nb * sizeof(*t->b));
	t->nb = nb;
	for (i = 0; i < old; i++) {
		struct waiters_key *k = ob[i];
		while (k != NULL) {
			struct waiters_key *next = k->next;
			uint32_t b = bucket_of(t, k->key, k->klen);
			k->next = t->b[b];
			t->b[b] = k;
			k = next;
		}
	}
	mem_free(t->mem, ob);
}

static void mark_ready(struct waiters *t, struct waiters_key *k)
{
	if (k->ready)
		return;
	if (t->nready == t->ready_cap) {
		t->ready_cap = t->ready_cap ? t->ready_cap * 2 : 8;
		t->ready = mem_realloc(t->mem, t->ready, t->ready_cap * sizeof(*t->ready));
	}
	t->ready[t->nready++] = k;
	k->ready = true;
}

void waiters_add(struct waiters *t, const char *key, size_t klen, const struct waiter *w)
{
	struct waiters_key **link = find(t, key, klen), *k;
	uint32_t i;

	ASSERT(w->id != 0);
	if (link == NULL) {
		uint32_t b;
		if (t->n >= t->nb)
			grow(t);
		k = mem_calloc(t->mem, sizeof(*k) + klen);
		k->klen = (uint32_t)klen;
		memcpy(k->key, key, klen);
		b = bucket_of(t, key, klen);
		k->next = t->b[b];
		t->b[b] = k;
		t->n++;
	} else {
		k = *link;
	}
	/* A block waits on each of its keys once (the command's duplicates
	 * are one key). */
	for (i = 0; i < k->n; i++)
		ASSERT(k->w[i].id != w->id);
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 4;
		k->w = mem_realloc(t->mem, k->w, k->cap * sizeof(*k->w));
	}
	k->w[k->n++] = *w;
	t->nwaiters++;
}

/* Takes k off the ready list (it is going). */
static void unready(struct waiters *t, struct waiters_key *k)
{
	uint32_t i;

	for (i = 0; i < t->nready; i++)
		if (t->ready[i] == k) {
			memmove(t->ready + i, t->ready + i + 1,
				(t->nready - i - 1) * sizeof(*t->ready));
			t->nready--;
			return;
		}
	ASSERT_NOT_REACHED("waiters: a ready key off the ready list");
}

bool waiters_done(struct waiters *t, const char *key, size_t klen, uint64_t id, bool drop)
{
	struct waiters_key **link = find(t, key, klen), *k;
	bool dropped = false;
	uint32_t i;

	ASSERT(id != 0);
	if (link == NULL)
		return false;
	k = *link;
	for (i = 0; drop && i < k->n; i++)
		if (k->w[i].id == id) {
			memmove(k->w + i, k->w + i + 1, (k->n - i - 1) * sizeof(*k->w));
			k->n--;
			t->nwaiters--;
			dropped = true;
			break;
		}
	if (k->offered == id) {
		k->offered = 0;
		mark_ready(t, k);
	}
	if (k->n == 0) {
		ASSERT(k->offered == 0);
		if (k->ready)
			unready(t, k);
		*link = k->next;
		key_free(t, k);
		t->n--;
	}
	return dropped;
}

uint32_t waiters_count(const struct waiters *t, const char *key, size_t klen)
{
	struct waiters_key **link = find(t, key, klen);

	return link != NULL ? (*link)->n : 0;
}

void waiters_touch_slow(struct waiters *t, const char *key, size_t klen)
{
	struct waiters_key **link = find(t, key, klen);

	if (link != NULL)
		mark_ready(t, *link);
}

bool waiters_take_ready(struct waiters *t, const char **key, size_t *klen)
{
	struct waiters_key *k;

	if (t->nready == 0)
		return false;
	k = t->ready[0];
	t->nready--;
	memmove(t->ready, t->ready + 1, t->nready * sizeof(*t->ready));
	ASSERT(k->ready);
	k->ready = false;
	*key = k->key;
	*klen = k->klen;
	return true;
}

bool waiters_offer(struct waiters *t, const char *key, size_t klen, uint8_t type,
		   struct waiter *out)
{
	struct waiters_key **link = find(t, key, klen), *k;
	uint32_t i;

	if (link == NULL || (*link)->offered != 0)
		return false;
	k = *link;
	for (i = 0; i < k->n; i++)
		if (k->w[i].type == type) {
			k->offered = k->w[i].id;
			*out = k->w[i];
			return true;
		}
	return false;
}

uint64_t waiters_offered(const struct waiters *t, const char *key, size_t klen)
{
	struct waiters_key **link = find(t, key, klen);

	return link != NULL ? (*link)->offered : 0;
}

size_t waiters_mem(const struct waiters *t)
{
	size_t n = mem_size(t->b) + mem_size(t->ready);
	uint32_t i;

	for (i = 0; i < t->nb; i++) {
		const struct waiters_key *k;
		for (k = t->b[i]; k != NULL; k = k->next)
			n += mem_size(k) + mem_size(k->w);
	}
	return n;
}
