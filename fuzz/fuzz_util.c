/* fuzz_util.c: input reading, exactly-sized copies and failure reports for
 * the fuzz targets. See fuzz_util.h. */
#include "fuzz_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ASAN 1
#endif
#endif

void fuzz_in_init(struct fuzz_in *in, const uint8_t *p, size_t n)
{
	in->p = p;
	in->n = n;
	in->i = 0;
}

bool fuzz_in_empty(const struct fuzz_in *in)
{
	return in->i >= in->n;
}

size_t fuzz_in_left(const struct fuzz_in *in)
{
	return in->i < in->n ? in->n - in->i : 0;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);
	return (uint16_t)(v | (uint16_t)fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);
	return v | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = fuzz_u32(in);
	return v | (uint64_t)fuzz_u32(in) << 32;
}

size_t fuzz_bytes(struct fuzz_in *in, size_t want, const uint8_t **out)
{
	size_t k = fuzz_in_left(in);

	if (k > want)
		k = want;
	*out = in->p + (in->i < in->n ? in->i : in->n);
	in->i += k;
	return k;
}

void fuzz_exact_init(struct fuzz_exact *x)
{
	memset(x, 0, sizeof(*x));
}

#ifdef FUZZ_HAVE_ASAN
#include <sanitizer/asan_interface.h>

#include "base/assert.h"

const char *fuzz_exact_put(struct fuzz_exact *x, const char *src, size_t len)
{
	/* Two blocks used in turn, so the copy moves at every call. Bytes past
	 * len are poisoned, so ASan flags a read of them just as it would
	 * past an exactly-sized block; a read before the block hits its left
	 * redzone. The blocks are kept for the next call (and input), so
	 * ASan's quarantine does not fill up with a block per call, and only
	 * the bytes between the old and the new length change state. */
	int k = x->flip;
	char **blk = k ? &x->map : &x->p0;

	x->flip = !x->flip;
	if (len > x->room || *blk == NULL) {
		size_t room = len > x->room ? len : x->room;
		fuzz_exact_free(x);
		x->p0 = malloc(room + 1);
		x->map = malloc(room + 1);
		ASSERT(x->p0 != NULL);
		ASSERT(x->map != NULL);
		x->room = room;
		__asan_poison_memory_region(x->p0, room + 1);
		__asan_poison_memory_region(x->map, room + 1);
		x->flip = !k;
	}
	x->p = *blk;
	if (len > x->open[k])
		__asan_unpoison_memory_region(x->p + x->open[k], len - x->open[k]);
	else
		__asan_poison_memory_region(x->p + len, x->open[k] - len);
	x->open[k] = len;
	if (len > 0)
		memcpy(x->p, src, len);
	return x->p;
}

void fuzz_exact_free(struct fuzz_exact *x)
{
	if (x->p0 != NULL)
		__asan_unpoison_memory_region(x->p0, x->room + 1);
	if (x->map != NULL)
		__asan_unpoison_memory_region(x->map, x->room + 1);
	free(x->p0);
	free(x->map);
	memset(x, 0, sizeof(*x));
}
#else
const char *fuzz_exact_put(struct fuzz_exact *x, const char *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (len > x->room || x->map == NULL) {
		size_t room = (len + page - 1) / page * page;
		if (room == 0)
			room = page;
		if (x->map != NULL)
			munmap(x->map, x->room + page);
		x->map = mmap(NULL, room + page, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT(x->map != MAP_FAILED);
		if (mprotect(x->map + room, page, PROT_NONE) != 0)
			abort();
		x->room = room;
	}
	/* The copy ends where the guard page begins. */
	x->p = x->map + x->room - len;
	memcpy(x->p, src, len);
	return x->p;
}

void fuzz_exact_free(struct fuzz_exact *x)
{
	if (x->map != NULL)
		munmap(x->map, x->room + (size_t)sysconf(_SC_PAGESIZE));
	memset(x, 0, sizeof(*x));
}
#endif

void fuzz_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s:%d: fuzz check failed: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}
