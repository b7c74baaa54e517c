/* fuzz_util.h: helpers every fuzz target shares.
 *
 * struct fuzz_in reads a fuzz input as a stream of small numbers and byte
 * strings. Reading past the end gives zeros (and no bytes), never an error:
 * libFuzzer mutates inputs blindly, so every prefix of an input must still be
 * a valid run, and a short input simply ends the run early.
 *
 * struct fuzz_exact hands a parser a copy of its input whose last byte is the
 * last readable byte, so that reading one byte further is caught: by ASan
 * (the bytes after the copy are poisoned) when the build has it, else by a
 * PROT_NONE guard page right after the copy. Each call places the copy anew,
 * at another address, which parsers that keep offsets rather than pointers
 * allow. */
#ifndef CAIRN_FUZZ_UTIL_H
#define CAIRN_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"

/* The entry point every target defines (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_in {
	const uint8_t *p;
	size_t n; /* bytes in p */
	size_t i; /* next byte */
};

void fuzz_in_init(struct fuzz_in *in, const uint8_t *p, size_t n);
bool fuzz_in_empty(const struct fuzz_in *in);
size_t fuzz_in_left(const struct fuzz_in *in);
uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* Up to want bytes: returns how many are left (at most want) and points *out
 * at them. */
size_t fuzz_bytes(struct fuzz_in *in, size_t want, const uint8_t **out);

struct fuzz_exact {
	char *p;        /* the current copy */
	char *map;      /* guard page: the mapping (readable part, then the guard);
		      * ASan: the second block */
	char *p0;       /* ASan: the first block */
	size_t room;    /* readable bytes of map (of each block) */
	bool flip;      /* ASan: which block is next */
	size_t open[2]; /* ASan: bytes of each block not poisoned */
};

void fuzz_exact_init(struct fuzz_exact *x);
/* Copies src[0, len) so that it ends at the last readable byte; returns the
 * copy, valid until the next call or fuzz_exact_free(). A fuzz_exact may be
 * kept from one input to the next (a target may keep one in a static), which
 * saves allocating its blocks anew. */
const char *fuzz_exact_put(struct fuzz_exact *x, const char *src, size_t len);
void fuzz_exact_free(struct fuzz_exact *x);

/* Fails the run with a message (abort(), which libFuzzer reports as a crash
 * with the input that caused it). FUZZ_CHECK states a property of the code
 * under test; ASSERT() is kept for the fuzz code's own invariants. */
void fuzz_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__);                      \
	} while (0)

#endif
