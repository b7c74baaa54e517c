/* zent.h: one member of a big sorted set (zbtree.h): its score and its
 * bytes, in one allocation.
 *
 * Layout: the score (8 bytes), then the member's length (one byte below
 * ZENT_LEN_LONG; else that byte and four bytes, little endian), then its
 * bytes. A member of up to 15 bytes fits the allocator's smallest chunk
 * (24 usable bytes in glibc), where Redis spends a skiplist node and an sds
 * on it. Entries are allocated by zbtree.c and referenced by its tree and
 * by its member index (zmap.h), which both own nothing but the pointer. */
#ifndef CAIRN_ZENT_H
#define CAIRN_ZENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct zent {
	double score;
	unsigned char data[];
};

/* A length below this takes one byte; from it on, the byte is this and four
 * bytes of length follow. */
#define ZENT_LEN_LONG 255
#define ZENT_LEN_LONG_BYTES 5

static inline const char *zent_str(const struct zent *e, size_t *len)
{
	const unsigned char *d = e->data;

	if (d[0] < ZENT_LEN_LONG) {
		*len = d[0];
		return (const char *)d + 1;
	}
	*len = (size_t)d[1] | (size_t)d[2] << 8 | (size_t)d[3] << 16 | (size_t)d[4] << 24;
	return (const char *)d + ZENT_LEN_LONG_BYTES;
}

/* Redis's sdscmp: bytes as unsigned, then the shorter first. */
static inline int zent_memcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* The order of a sorted set: score, then member bytes. Negative when
 * (score, s) comes before e. */
static inline int zent_cmp_key(double score, const char *s, size_t len, const struct zent *e)
{
	size_t elen;
	const char *es;

	if (score < e->score)
		return -1;
	if (score > e->score)
		return 1;
	es = zent_str(e, &elen);
	return zent_memcmp(s, len, es, elen);
}

static inline int zent_cmp(const struct zent *a, const struct zent *b)
{
	size_t len;
	const char *s = zent_str(a, &len);

	return zent_cmp_key(a->score, s, len, b);
}

static inline int zent_eq(const struct zent *e, const char *s, size_t len)
{
	size_t elen;
	const char *es = zent_str(e, &elen);

	return elen == len && memcmp(es, s, len) == 0;
}

/* The bytes an entry of a member of len bytes asks the allocator for. */
static inline size_t zent_alloc_size(size_t len)
{
	return sizeof(struct zent) + (len < ZENT_LEN_LONG ? 1 : ZENT_LEN_LONG_BYTES) + len;
}

/* Writes the length header and the bytes into a fresh entry. */
static inline void zent_fill(struct zent *e, const char *s, size_t len, double score)
{
	e->score = score;
	if (len < ZENT_LEN_LONG) {
		e->data[0] = (unsigned char)len;
		memcpy(e->data + 1, s, len);
		return;
	}
	e->data[0] = ZENT_LEN_LONG;
	e->data[1] = (unsigned char)(len & 0xff);
	e->data[2] = (unsigned char)((len >> 8) & 0xff);
	e->data[3] = (unsigned char)((len >> 16) & 0xff);
	e->data[4] = (unsigned char)((len >> 24) & 0xff);
	memcpy(e->data + ZENT_LEN_LONG_BYTES, s, len);
}

#endif
