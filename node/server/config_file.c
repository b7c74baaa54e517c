/* config_file.c: see config_file.h. */
#include "server/config_file.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/text.h"
#include "proto/resp.h"

#define CONFIG_LINE_ARGS_MAX 64

int config_file_load(struct config *c, const char *text, size_t len, char *err, size_t errlen)
{
	size_t pos = 0;
	int line = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, llen = end - pos, nargs = 0, i;
		const char *l = text + pos;
		char buf[4096];
		struct resp_arg args[CONFIG_LINE_ARGS_MAX];
		const char *argv[CONFIG_LINE_ARGS_MAX];
		size_t lens[CONFIG_LINE_ARGS_MAX];
		char why[256];
		int rc;

		line++;
		pos = end + 1;
		while (llen > 0 && isspace((unsigned char)*l))
			l++, llen--;
		if (llen == 0 || l[0] == '#')
			continue;
		if (llen >= sizeof(buf) ||
		    resp_split_inline(l, llen, buf, args, CONFIG_LINE_ARGS_MAX, &nargs) !=
			    RESP_DONE) {
			snprintf(err, errlen, "line %d: Unbalanced quotes or line too long", line);
			return -1;
		}
		if (nargs == 0)
			continue;
		for (i = 0; i < nargs; i++) {
			argv[i] = buf + args[i].off;
			lens[i] = args[i].len;
		}
		rc = config_apply(c, (int)nargs, argv, lens, false, why, sizeof(why));
		if (rc == -2) {
			snprintf(err, errlen,
				 "line %d: '%.*s' Bad directive or wrong number of arguments", line,
				 (int)lens[0], argv[0]);
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errlen, "line %d: '%.*s' %s", line, (int)lens[0], argv[0],
				 why);
			return -1;
		}
	}
	return 0;
}

/* ---- CONFIG REWRITE ---- */

/* A line of the file being rewritten: its text (into the old file, or
 * owned), and the directive it sets (-1: none). */
struct rw_line {
	const char *p;
	size_t len;
	char *owned;
	int id;
	bool done; /* rewritten, or a line of its own */
};

struct rw_state {
	struct mem *mem;
	struct rw_line *lines;
	size_t n, cap;
	bool signed_; /* the file has CONFIG_FILE_SIGNATURE */
	bool processed[256];
};

static struct rw_line *rw_push(struct rw_state *st)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct rw_line *l = mem_alloc(st->mem, cap * sizeof(*l));
		if (st->n > 0)
			memcpy(l, st->lines, st->n * sizeof(*l));
		mem_free(st->mem, st->lines);
		st->lines = l;
		st->cap = cap;
	}
	memset(&st->lines[st->n], 0, sizeof(st->lines[0]));
	st->lines[st->n].id = -1;
	return &st->lines[st->n++];
}

/* Gives line l its own copy of the bytes prefix + p[0..len). */
static void rw_own(struct rw_state *st, struct rw_line *l, const char *prefix, const char *p,
		   size_t len)
{
	size_t plen = strlen(prefix);

	mem_free(st->mem, l->owned);
	l->owned = mem_alloc(st->mem, plen + len + 1);
	memcpy(l->owned, prefix, plen);
	memcpy(l->owned + plen, p, len);
	l->p = l->owned;
	l->len = plen + len;
}

/* The directive a line sets, or -1 (unbalanced quotes, no such name). */
static int rw_directive(struct rw_state *st, const char *l, size_t len)
{
	size_t cap = len / 2 + 1, nargs = 0;
	char *buf = mem_alloc(st->mem, len + 1);
	struct resp_arg *args = mem_alloc(st->mem, cap * sizeof(*args));
	int id = -1;

	if (resp_split_inline(l, len, buf, args, cap, &nargs) == RESP_DONE && nargs > 0)
		id = config_id(buf + args[0].off, args[0].len);
	mem_free(st->mem, args);
	mem_free(st->mem, buf);
	return id;
}

/* Reads the old file into lines, as Redis splits it on "\n" (a final
 * newline is followed by an empty line). */
static void rw_read(struct rw_state *st, const char *text, size_t len)
{
	size_t pos = 0;

	while (len > 0 && pos <= len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *l = text + pos;
		size_t llen = end - pos;
		struct rw_line *line;

		pos = end + 1;
		while (llen > 0 && strchr(" \t\r\n", l[0]) != NULL)
			l++, llen--;
		while (llen > 0 && strchr(" \t\r\n", l[llen - 1]) != NULL)
			llen--;
		line = rw_push(st);
		line->p = l;
		line->len = llen;
		line->done = true;
		if (llen == 0 || l[0] == '#') {
			if (llen == strlen(CONFIG_FILE_SIGNATURE) &&
			    memcmp(l, CONFIG_FILE_SIGNATURE, llen) == 0)
				st->signed_ = true;
			continue;
		}
		line->id = rw_directive(st, l, llen);
		if (line->id < 0)
			rw_own(st, line, "# ??? ", l, llen);
		else
			line->done = false;
	}
}

/* config_rewrite_fn: puts a directive's line in place of its first line
 * not yet rewritten, or appends it if forced. */
static void rw_line(void *arg, int id, const char *text, bool force)
{
	struct rw_state *st = arg;
	struct rw_line *l;
	size_t i;

	ASSERT(id >= 0 && (size_t)id < sizeof(st->processed));
	st->processed[id] = true;
	if (text == NULL)
		return;
	for (i = 0; i < st->n; i++) {
		l = &st->lines[i];
		if (l->id == id && !l->done) {
			rw_own(st, l, "", text, strlen(text));
			l->done = true;
			return;
		}
	}
	if (!force)
		return;
	if (!st->signed_) {
		l = rw_push(st);
		l->p = CONFIG_FILE_SIGNATURE;
		l->len = strlen(CONFIG_FILE_SIGNATURE);
		l->done = true;
		st->signed_ = true;
	}
	l = rw_push(st);
	rw_own(st, l, "", text, strlen(text));
	l->id = id;
	l->done = true;
}

void config_file_rewrite(const char *text, size_t len, const struct config *c,
			 const struct config *def, struct mem *mem, struct text *out)
{
	struct rw_state st;
	bool was_empty = false;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.mem = mem;
	rw_read(&st, text, len);
	config_rewrite(c, def, rw_line, &st);
	for (i = 0; i < st.n; i++) {
		struct rw_line *l = &st.lines[i];
		/* A directive's other lines go (Redis blanks them). */
		if (!l->done && l->id >= 0 && st.processed[l->id])
			l->len = 0;
		/* A run of blank lines becomes one. */
		if (l->len == 0 && was_empty)
			continue;
		was_empty = l->len == 0;
		text_add(out, l->p, l->len);
		text_add(out, "\n", 1);
	}
	for (i = 0; i < st.n; i++)
		mem_free(mem, st.lines[i].owned);
	mem_free(mem, st.lines);
}
