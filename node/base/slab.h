/* slab.h: small objects packed in pages of one slot size each, with no
 * header per object.
 *
 * glibc's malloc puts an 8-byte header before every allocation and rounds
 * it to 16 bytes: a 56-byte keyspace entry takes a 64-byte chunk. A slab
 * page holds slots of one size, a multiple of SLAB_GRAIN, so the same entry
 * takes 56 bytes. Pages are SLAB_PAGE_BYTES from malloc; a set of the
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
#define SLAB_GRAIN 8
/* The largest object a slab takes; bigger ones are malloc's. */
#define SLAB_MAX 512
#define SLAB_CLASSES (SLAB_MAX / SLAB_GRAIN)

struct slab {
	struct mem *mem;
	struct slab_page *partial[SLAB_CLASSES]; /* pages with a free slot */
	uintptr_t *set;                          /* page addresses; 0 is empty */
	uint32_t set_cap, set_n;
	uint64_t pages;
};

void slab_init(struct slab *s, struct mem *mem);
/* Frees the pages left (every object must be freed) and the page set. */
void slab_destroy(struct slab *s);
/* An object of n bytes (1 <= n <= SLAB_MAX), charged at its slot size. */
void *slab_alloc(struct slab *s, size_t n);
/* Whether p is one of this slab's objects. */
bool slab_owns(const struct slab *s, const void *p);
/* p's slot size (p must be the slab's). */
size_t slab_size(const struct slab *s, const void *p);
void slab_free(struct slab *s, void *p);
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
/* Bytes of the page set (the pages themselves hold charged objects). */
size_t slab_mem(const struct slab *s);
/* Bytes of the pages held (for RSS accounting and tests). */
static inline uint64_t slab_page_bytes(const struct slab *s)
{
	return s->pages * SLAB_PAGE_BYTES;
}

#endif
