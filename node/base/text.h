/* text.h: a growing text buffer charged to a memory account, for replies
 * that are built as text first (INFO, CLIENT LIST). */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stddef.h>

struct mem;

struct text {
	struct mem *mem;
	char *p;
	size_t len, cap;
};

void text_init(struct text *t, struct mem *mem, size_t cap);
void text_free(struct text *t);
void text_add(struct text *t, const char *s, size_t n);
void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n bytes at s quoted as Redis's sdscatrepr quotes them: in double
 * quotes, with \\ \" \n \r \t \a \b escaped and other unprintable
 * bytes as \xHH (MONITOR's lines). */
void text_repr(struct text *t, const char *s, size_t n);

#endif
