/* slab.c: see slab.h. */
#include "base/slab.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

struct slab_page {
	struct slab_page *prev, *next; /* in its size's list of pages with room */
	/* The first freed slot's offset in the page (0: none); each freed
	 * slot holds the next one's in its first 4 bytes (a slot may be only
	 * 4 bytes, too small for a pointer). */
	uint32_t free;
	uint32_t id;     /* its handles' page id */
	uint32_t used;   /* slots in use */
	uint32_t carved; /* slots handed out from the untouched tail */
	uint32_t cap;    /* slots in the page */
	uint32_t size;   /* slot bytes */
	bool listed;
};

#define SLAB_HDR ((sizeof(struct slab_page) + 15) & ~(size_t)15)
/* A page's window: its first byte's address over the page size. Pages do
 * not overlap, so no two start in one window, and an object lies in the
 * page of its own window or of the one before. */
#define WINDOW(a) ((uintptr_t)(a) / SLAB_PAGE_BYTES)

_Static_assert(SLAB_GRAIN >= sizeof(uint32_t), "a free slot holds an offset");
_Static_assert(SLAB_HDR % SLAB_GRAIN == 0, "slots start on the grain");

void slab_init(struct slab *s, struct mem *mem)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem;
	s->pages_max = SLAB_PAGES_MAX;
}

static unsigned class_of(size_t size)
{
	return (unsigned)(size / SLAB_GRAIN) - 1;
}

/* ---- the page set: open addressing, linear probing ---- */

static uint32_t set_home(const struct slab *s, uintptr_t window)
{
	uint64_t h = (uint64_t)window * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & (s->set_cap - 1);
}

static void set_put(struct slab *s, uintptr_t page);

static void set_grow(struct slab *s)
{
	uintptr_t *old = s->set;
	uint32_t cap = s->set_cap, i;

	s->set_cap = cap ? cap * 2 : 16;
	s->set = mem_calloc(s->mem, s->set_cap * sizeof(*s->set));
	s->set_n = 0;
	for (i = 0; i < cap; i++)
		if (old[i] != 0)
			set_put(s, old[i]);
	mem_free(s->mem, old);
}

static void set_put(struct slab *s, uintptr_t page)
{
	uint32_t i;

	if ((s->set_n + 1) * 2 > s->set_cap)
		set_grow(s);
	for (i = set_home(s, WINDOW(page)); s->set[i] != 0; i = (i + 1) & (s->set_cap - 1))
		ASSERT(WINDOW(s->set[i]) != WINDOW(page));
	s->set[i] = page;
	s->set_n++;
}

/* The page that starts in window w, or 0. */
static uintptr_t set_window(const struct slab *s, uintptr_t w)
{
	uint32_t i;

	for (i = set_home(s, w); s->set[i] != 0; i = (i + 1) & (s->set_cap - 1))
		if (WINDOW(s->set[i]) == w)
			return s->set[i];
	return 0;
}

/* The page that holds p, or NULL if p is not the slab's. */
static struct slab_page *page_find(const struct slab *s, const void *p)
{
	uintptr_t a = (uintptr_t)p, w = WINDOW(p), base;

	if (s->set_n == 0)
		return NULL;
	base = set_window(s, w);
	if (base != 0 && a >= base)
		return (struct slab_page *)base;
	base = set_window(s, w - 1);
	if (base != 0 && a < base + SLAB_PAGE_BYTES)
		return (struct slab_page *)base;
	return NULL;
}

/* Removes page, moving back the entries of its run that it displaced. */
static void set_del(struct slab *s, uintptr_t page)
{
	uint32_t mask = s->set_cap - 1, i = set_home(s, WINDOW(page)), j;

	while (s->set[i] != page) {
		ASSERT(s->set[i] != 0);
		i = (i + 1) & mask;
	}
	s->set[i] = 0;
	s->set_n--;
	for (j = (i + 1) & mask; s->set[j] != 0; j = (j + 1) & mask) {
		uint32_t home = set_home(s, WINDOW(s->set[j]));
		/* Moves back unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->set[i] = s->set[j];
			s->set[j] = 0;
			i = j;
		}
	}
}

/* ---- page ids ---- */

/* Makes the id table twice as big, its new ids free. */
static void ids_grow(struct slab *s)
{
	uint32_t old = s->ids_cap, cap = old ? old * 2 : 16, i;

	s->ids = mem_realloc(s->mem, s->ids, cap * sizeof(*s->ids));
	s->ids[0] = 0; /* id 0 is never a page's: no handle is 0 */
	/* Pushed highest first, so the lowest is taken first. */
	for (i = cap - 1; i >= (old ? old : 1); i--) {
		s->ids[i] = ((uintptr_t)s->ids_free << 1) | 1;
		s->ids_free = i;
	}
	s->ids_cap = cap;
}

/* An id for page. page_new keeps the pages held within pages_max, so no id
 * passes it (every id below the table's size is in use before it grows). */
static uint32_t id_take(struct slab *s, uintptr_t page)
{
	uint32_t id;

	if (s->ids_free == 0)
		ids_grow(s);
	id = s->ids_free;
	s->ids_free = (uint32_t)(s->ids[id] >> 1);
	/* Biased by the id's part of a handle: see slab_at. */
	s->ids[id] = page - ((uintptr_t)id << SLAB_OFF_BITS) * SLAB_GRAIN;
	ASSERT(id <= s->pages_max);
	return id;
}

static void id_give(struct slab *s, uint32_t id)
{
	s->ids[id] = ((uintptr_t)s->ids_free << 1) | 1;
	s->ids_free = id;
}

/* ---- pages ---- */

static void list_add(struct slab *s, struct slab_page *pg)
{
	unsigned c = class_of(pg->size);

	pg->prev = NULL;
	pg->next = s->partial[c];
	if (pg->next != NULL)
		pg->next->prev = pg;
	s->partial[c] = pg;
	pg->listed = true;
}

static void list_del(struct slab *s, struct slab_page *pg)
{
	unsigned c = class_of(pg->size);

	if (pg->prev != NULL)
		pg->prev->next = pg->next;
	else
		s->partial[c] = pg->next;
	if (pg->next != NULL)
		pg->next->prev = pg->prev;
	pg->listed = false;
}

static struct slab_page *page_new(struct slab *s, size_t size)
{
	struct slab_page *pg;
	uint32_t id;

	if (s->pages >= s->pages_max)
		return NULL;
	pg = malloc(SLAB_PAGE_BYTES);
	if (pg == NULL)
		abort(); /* as mem_alloc: out of memory is not survivable */
	id = id_take(s, (uintptr_t)pg);
	memset(pg, 0, sizeof(*pg));
	pg->id = id;
	pg->size = (uint32_t)size;
	pg->cap = (uint32_t)((SLAB_PAGE_BYTES - SLAB_HDR) / size);
	set_put(s, (uintptr_t)pg);
	list_add(s, pg);
	s->pages++;
	return pg;
}

static void page_free(struct slab *s, struct slab_page *pg)
{
	ASSERT(pg->used == 0);
	if (pg->listed)
		list_del(s, pg);
	set_del(s, (uintptr_t)pg);
	id_give(s, pg->id);
	s->pages--;
	free(pg);
}

void *slab_alloc(struct slab *s, size_t n)
{
	uint32_t h;

	return slab_alloc_h(s, n, &h);
}

void *slab_alloc_h(struct slab *s, size_t n, uint32_t *h)
{
	size_t size = slab_round(n ? n : 1);
	struct slab_page *pg;
	void *p;

	ASSERT(size <= SLAB_MAX);
	pg = s->partial[class_of(size)];
	if (pg == NULL)
		pg = page_new(s, size);
	if (pg == NULL)
		return NULL;
	if (pg->free != 0) {
		p = (char *)pg + pg->free;
		memcpy(&pg->free, p, sizeof(pg->free));
	} else {
		ASSERT(pg->carved < pg->cap);
		p = (char *)pg + SLAB_HDR + (size_t)pg->carved * size;
		pg->carved++;
	}
	pg->used++;
	if (pg->used == pg->cap)
		list_del(s, pg);
	mem_charge(s->mem, size);
	*h = pg->id << SLAB_OFF_BITS | (uint32_t)((char *)p - (char *)pg) / SLAB_GRAIN;
	return p;
}

bool slab_owns(const struct slab *s, const void *p)
{
	return p != NULL && page_find(s, p) != NULL;
}

uint32_t slab_handle(const struct slab *s, const void *p)
{
	const struct slab_page *pg = page_find(s, p);
	uint32_t off = (uint32_t)((const char *)p - (const char *)pg) / SLAB_GRAIN;

	ASSERT(pg != NULL);
	return pg->id << SLAB_OFF_BITS | off;
}

size_t slab_size(const struct slab *s, const void *p)
{
	const struct slab_page *pg = page_find(s, p);

	ASSERT(pg != NULL);
	return pg->size;
}

/* Puts p, a slot of page pg, back. */
static void page_release(struct slab *s, struct slab_page *pg, void *p)
{
	ASSERT(pg->used > 0);
	mem_uncharge(s->mem, pg->size);
	memcpy(p, &pg->free, sizeof(pg->free));
	pg->free = (uint32_t)((char *)p - (char *)pg);
	pg->used--;
	if (!pg->listed)
		list_add(s, pg);
	/* An empty page goes, unless its size has no other page with room. */
	if (pg->used == 0 && (pg->prev != NULL || pg->next != NULL))
		page_free(s, pg);
}

void slab_free(struct slab *s, void *p)
{
	struct slab_page *pg = page_find(s, p);

	ASSERT(pg != NULL);
	page_release(s, pg, p);
}

size_t slab_try_free(struct slab *s, void *p)
{
	struct slab_page *pg = page_find(s, p);
	size_t size;

	if (pg == NULL)
		return 0;
	size = pg->size; /* the page may go with its last object */
	page_release(s, pg, p);
	return size;
}

size_t slab_owned_size(const struct slab *s, const void *p)
{
	const struct slab_page *pg = page_find(s, p);

	return pg != NULL ? pg->size : 0;
}

void slab_mem_free(struct slab *s, struct mem *m, void *p)
{
	if (slab_owns(s, p))
		slab_free(s, p);
	else
		mem_free(m, p);
}

size_t slab_mem_size(const struct slab *s, const void *p)
{
	const struct slab_page *pg = p != NULL ? page_find(s, p) : NULL;

	return pg != NULL ? pg->size : mem_size(p);
}

size_t slab_mem(const struct slab *s)
{
	return mem_size(s->set) + mem_size(s->ids);
}

void slab_trim(struct slab *s)
{
	unsigned c;

	for (c = 0; c < SLAB_CLASSES; c++) {
		struct slab_page *pg = s->partial[c], *next;
		for (; pg != NULL; pg = next) {
			next = pg->next;
			if (pg->used == 0)
				page_free(s, pg);
		}
	}
	if (s->pages == 0 && s->set != NULL) {
		mem_free(s->mem, s->set);
		s->set = NULL;
		s->set_cap = s->set_n = 0;
		mem_free(s->mem, s->ids);
		s->ids = NULL;
		s->ids_cap = s->ids_free = 0;
	}
}

void slab_destroy(struct slab *s)
{
	slab_trim(s);
	ASSERT(s->pages == 0);
	ASSERT(s->set == NULL);
}
