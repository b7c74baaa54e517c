/* text.c: a growing text buffer. See text.h. */
#include "base/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

void text_init(struct text *t, struct mem *mem, size_t cap)
{
	ASSERT(cap > 0);
	t->mem = mem;
	t->p = mem_alloc(mem, cap);
	t->len = 0;
	t->cap = cap;
}

void text_free(struct text *t)
{
	mem_free(t->mem, t->p);
	t->p = NULL;
	t->len = t->cap = 0;
}

/* Makes room for more bytes and a NUL after them. */
static void reserve(struct text *t, size_t more)
{
	size_t cap = t->cap;

	while (cap - t->len <= more)
		cap *= 2;
	if (cap != t->cap) {
		t->p = mem_realloc(t->mem, t->p, cap);
		t->cap = cap;
	}
	ASSERT(t->cap - t->len > more);
}

void text_add(struct text *t, const char *s, size_t n)
{
	reserve(t, n);
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	ASSERT(n >= 0);
	if ((size_t)n >= t->cap - t->len) {
		reserve(t, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
	ASSERT(t->len < t->cap);
}

void text_repr(struct text *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	reserve(t, n + 2);
	t->p[t->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc = 0;
		switch (ch) {
		case '\\': esc = '\\'; break;
		case '"': esc = '"'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		case '\a': esc = 'a'; break;
		case '\b': esc = 'b'; break;
		default: break;
		}
		reserve(t, 5);
		if (esc != 0) {
			t->p[t->len++] = '\\';
			t->p[t->len++] = esc;
		} else if (ch >= 0x20 && ch < 0x7f) {
			t->p[t->len++] = (char)ch;
		} else {
			t->p[t->len++] = '\\';
			t->p[t->len++] = 'x';
			t->p[t->len++] = hex[ch >> 4];
			t->p[t->len++] = hex[ch & 15];
		}
	}
	reserve(t, 1);
	t->p[t->len++] = '"';
}
