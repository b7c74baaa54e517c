/* slab.h: small objects packed in pages of one slot size each, with no
 * header per object.
 *
 * glibc's malloc puts an 8-byte header before every allocation and rounds
 * it to 16 bytes: a 44-byte keyspace entry takes a 64-byte chunk. A slab
 * page holds slots of one size, a multiple of SLAB_GRAIN, so the same entry
 * takes 44 bytes. Each page has an id (a table maps ids to pages), so an
 * object has a 32-bit handle, the id and its offset, that the keyspace's
 * table keeps instead of an 8-byte pointer. Pages are SLAB_PAGE_BYTES from malloc; a set of the
 * slab's pages, keyed by the page-sized window each starts in, finds an
 * object's page (and its slot size) from its address, and tells the
 * slab's objects from malloc's. (Pages aligned to their size would need
 * no set, but glibc's aligned allocations leave a touched fragment behind
 * each: 7 MB of RSS for 1M small keys.) A page whose
 * last object goes is freed, unless it is its size's only page with room.
 *
 * Objects are charged to the slab's account at their slot size, as
 * mem_alloc charges usable sizes, so used_memory counts what holds data
 * and a page's free slots show only in RSS (as a jemalloc run's do in
 * Redis). The page set is charged too (slab_mem). One slab belongs to one
 * account and is used under the same rules (one thread at a time). */
#ifndef CAIRN_SLAB_H
#define CAIRN_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem;
struct slab_page;

/* Under AddressSanitizer the keyspace keeps its entries in malloc's hands,
 * so that every entry has the sanitizer's red zones (test_slab still runs
 * the slab itself there). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_FOR_ENTRIES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_FOR_ENTRIES 0
#endif
#endif
#ifndef SLAB_FOR_ENTRIES
#define SLAB_FOR_ENTRIES 1
#endif

#define SLAB_PAGE_BYTES (64u * 1024)
/* Slot sizes step by 4 bytes: a 44-byte entry takes 44. Objects are only
 * 4-byte aligned, so wider fields inside them are read with memcpy. */
#define SLAB_GRAIN 4
/* The largest object a slab takes; bigger ones are malloc's. */
#define SLAB_MAX 512
#define SLAB_CLASSES (SLAB_MAX / SLAB_GRAIN)

/* Handles: an object's 32-bit name, the page's id in the bits above
 * SLAB_OFF_BITS and its offset in the page in SLAB_GRAIN units below. The
 * top bit is never set (the keyspace's heap takes it for its indirect
 * cells), and page ids start at 1, so no handle is 0. */
#define SLAB_OFF_BITS 14
#define SLAB_ID_BITS (31 - SLAB_OFF_BITS)
/* The most pages a slab holds at once, 8 GB of them. Past it slab_alloc
 * returns NULL and the caller allocates elsewhere. */
#define SLAB_PAGES_MAX ((1u << SLAB_ID_BITS) - 1)

_Static_assert(SLAB_PAGE_BYTES / SLAB_GRAIN <= 1u << SLAB_OFF_BITS, "an offset fits its bits");

struct slab {
	struct mem *mem;
	struct slab_page *partial[SLAB_CLASSES]; /* pages with a free slot */
	uintptr_t *set;                          /* page addresses; 0 is empty */
	uint32_t set_cap, set_n;
	uint64_t pages;
	/* Page id -> the page's address less (id << SLAB_OFF_BITS) *
	 * SLAB_GRAIN, so that adding h * SLAB_GRAIN gives the object (ids
	 * start at 1); a free id's entry holds the next free id, shifted left
	 * and tagged with 1. */
	uintptr_t *ids;
	uint32_t ids_cap, ids_free;
	uint32_t pages_max; /* SLAB_PAGES_MAX; tests make it small */
};

void slab_init(struct slab *s, struct mem *mem);
/* Frees the pages left (every object must be freed) and the page set. */
void slab_destroy(struct slab *s);
/* An object of n bytes (1 <= n <= SLAB_MAX), charged at its slot size, or
 * NULL if it needs a new page and pages_max pages are held already. */
void *slab_alloc(struct slab *s, size_t n);
/* The same, and the object's handle in *h. */
void *slab_alloc_h(struct slab *s, size_t n, uint32_t *h);
/* The handle of p, one of the slab's objects. */
uint32_t slab_handle(const struct slab *s, const void *p);
/* The object a handle names: one load and an add. */
static inline void *slab_at(const struct slab *s, uint32_t h)
{
	return (void *)(s->ids[h >> SLAB_OFF_BITS] + (uintptr_t)h * SLAB_GRAIN);
}
/* Whether p is one of this slab's objects. */
bool slab_owns(const struct slab *s, const void *p);
/* p's slot size (p must be the slab's). */
size_t slab_size(const struct slab *s, const void *p);
void slab_free(struct slab *s, void *p);
/* For objects that may be malloc's: frees p and returns its slot size if
 * it is the slab's (else 0); p's slot size, or 0 if it is not the slab's.
 * One page lookup each. */
size_t slab_try_free(struct slab *s, void *p);
size_t slab_owned_size(const struct slab *s, const void *p);
/* The slot size an object of n bytes gets. */
static inline size_t slab_round(size_t n)
{
	return (n + SLAB_GRAIN - 1) / SLAB_GRAIN * SLAB_GRAIN;
}
/* Frees the empty pages each size keeps, and the page set once no page is
 * left (after a flush: the account returns to zero). */
void slab_trim(struct slab *s);
/* For a caller whose objects are the slab's when small enough and malloc's
 * (through m) otherwise: frees p, or gives its charged size. */
void slab_mem_free(struct slab *s, struct mem *m, void *p);
size_t slab_mem_size(const struct slab *s, const void *p);
/* Bytes of the page set and the id table (the pages themselves hold
 * charged objects). */
size_t slab_mem(const struct slab *s);
/* Bytes of the pages held (for RSS accounting and tests). */
static inline uint64_t slab_page_bytes(const struct slab *s)
{
	return s->pages * SLAB_PAGE_BYTES;
}

#endif
