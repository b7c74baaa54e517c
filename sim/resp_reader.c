/* resp_reader.c: the incremental RESP2/RESP3 reply decoder. See resp_reader.h.
 *
 * The decoder is a loop over elements with an explicit stack of the
 * aggregates being filled, so nesting costs no recursion. Each element is a
 * line ("<type><text>\r\n"), and for bulk-like types a body of announced
 * length plus CRLF. Progress is kept as offsets (pos: the next element; scan:
 * how far the current line's end was searched; body_type/body_len: a header
 * whose body is still awaited), so a call never re-examines bytes it saw.
 *
 * Strictness: lines end in CRLF exactly (a bare CR or LF is an error), a
 * body is followed by CRLF exactly, lengths and counts are canonical ("0" or
 * no leading zero; "-1" only for the null bulk and null array), integers are
 * an optional sign and digits within 64 bits. These are what the servers we
 * test send; anything else is a bug worth seeing. */
#include "resp_reader.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

/* A new aggregate's element array starts with room for this many, then
 * doubles up to what it announced. */
#define RR_ELEMS_START 4

static void *rr_alloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		abort(); /* as the node's mem.c: out of memory is fatal */
	return p;
}

void resp_reader_limits_default(struct resp_reader_limits *lim)
{
	lim->depth_max = 32;
	lim->elements_max = (size_t)1 << 24;
	lim->bulk_max = (size_t)1 << 32;
	lim->line_max = (size_t)1 << 29;
}

void resp_reader_init(struct resp_reader *rd, const struct resp_reader_limits *lim)
{
	memset(rd, 0, sizeof(*rd));
	if (lim != NULL)
		rd->lim = *lim;
	else
		resp_reader_limits_default(&rd->lim);
	if (rd->lim.depth_max == 0)
		rd->lim.depth_max = 1;
	if (rd->lim.depth_max > RESP_READER_DEPTH_MAX)
		rd->lim.depth_max = RESP_READER_DEPTH_MAX;
}

/* Frees what v holds (not v itself). depth bounds the recursion: a tree is
 * never deeper than RESP_READER_DEPTH_MAX aggregates. */
static void rr_clear(struct resp_reader_value *v, unsigned depth)
{
	size_t i;

	ASSERT(depth <= RESP_READER_DEPTH_MAX + 1);
	free(v->str);
	for (i = 0; i < v->n; i++)
		rr_clear(&v->elems[i], depth + 1);
	free(v->elems);
}

void resp_reader_value_free(struct resp_reader_value *v)
{
	if (v == NULL)
		return;
	rr_clear(v, 0);
	free(v);
}

/* Drops the value being decoded and starts over at the next byte 0. */
static void rr_restart(struct resp_reader *rd)
{
	resp_reader_value_free(rd->root);
	rd->root = NULL;
	rd->depth = 0;
	rd->pos = 0;
	rd->scan = 0;
	rd->body_type = 0;
	rd->body_len = 0;
}

void resp_reader_reset(struct resp_reader *rd)
{
	rr_restart(rd);
	rd->err = NULL;
	rd->start = rd->len = 0;
}

void resp_reader_free(struct resp_reader *rd)
{
	rr_restart(rd);
	free(rd->buf);
	memset(rd, 0, sizeof(*rd));
}

static enum resp_reader_status rr_fail(struct resp_reader *rd, const char *why)
{
	rr_restart(rd);
	rd->err = why;
	return RESP_READER_ERR;
}

/* ---- lines and numbers ---- */

/* The line of the element at rd->pos ends at *cr (its '\r'). */
static enum resp_reader_status rr_line(struct resp_reader *rd, const char *buf, size_t len,
				       size_t *cr)
{
	size_t i = rd->scan > rd->pos + 1 ? rd->scan : rd->pos + 1;

	for (; i < len; i++) {
		if (buf[i] == '\n')
			return rr_fail(rd, "LF without CR in a line");
		if (buf[i] != '\r')
			continue;
		if (i - rd->pos - 1 > rd->lim.line_max)
			return rr_fail(rd, "line too long");
		if (i + 1 >= len) {
			rd->scan = i; /* look at this '\r' again with its next byte */
			return RESP_READER_NEED_MORE;
		}
		if (buf[i + 1] != '\n')
			return rr_fail(rd, "CR without LF in a line");
		*cr = i;
		return RESP_READER_OK;
	}
	rd->scan = len;
	if (len > rd->pos + 1 && len - rd->pos - 1 > rd->lim.line_max)
		return rr_fail(rd, "line too long");
	return RESP_READER_NEED_MORE;
}

/* A length or count: "-1", "0", or digits without a leading zero. */
static bool rr_length(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 2 && s[0] == '-' && s[1] == '1') {
		*out = -1;
		return true;
	}
	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v > (unsigned long long)LLONG_MAX)
		return false;
	*out = (long long)v;
	return true;
}

/* An integer: an optional sign, then at least one digit, within 64 bits. */
static bool rr_integer(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0, limit = (unsigned long long)LLONG_MAX;
	bool neg = false;
	size_t i = 0;

	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		limit += neg;
		i = 1;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (v == limit ? LLONG_MIN : -(long long)v) : (long long)v;
	return true;
}

static bool rr_digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i > start;
}

/* A RESP3 double: inf, -inf, nan, or a decimal with an optional exponent. */
static bool rr_double_text(const char *s, size_t n)
{
	size_t i = 0;
	bool whole, frac = false;

	/* "-nan" too: servers format doubles with printf's %.17g, which
	 * writes a NaN with its sign bit set that way. */
	if ((n == 3 && (!memcmp(s, "inf", 3) || !memcmp(s, "nan", 3))) ||
	    (n == 4 && (!memcmp(s, "-inf", 4) || !memcmp(s, "-nan", 4))))
		return true;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	whole = rr_digits(s, n, &i);
	if (i < n && s[i] == '.') {
		i++;
		frac = rr_digits(s, n, &i);
	}
	if (!whole && !frac)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (!rr_digits(s, n, &i))
			return false;
	}
	return i == n;
}

/* ---- building the tree ---- */

/* A zeroed node where the next element goes: the root, or the next
 * element of the innermost open aggregate. Only the innermost aggregate's
 * array grows, and no open aggregate lives in it, so the stack's pointers
 * stay valid. */
static struct resp_reader_value *rr_place(struct resp_reader *rd)
{
	struct resp_reader_frame *f;
	struct resp_reader_value *v;

	if (rd->depth == 0) {
		ASSERT(rd->root == NULL);
		rd->root = rr_alloc(sizeof(*rd->root));
		memset(rd->root, 0, sizeof(*rd->root));
		return rd->root;
	}
	f = &rd->stack[rd->depth - 1];
	ASSERT(f->v->n < f->want);
	if (f->v->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : RR_ELEMS_START;
		if (cap > f->want)
			cap = f->want;
		f->v->elems = realloc(f->v->elems, cap * sizeof(*f->v->elems));
		if (f->v->elems == NULL)
			abort();
		f->cap = cap;
	}
	v = &f->v->elems[f->v->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

static char *rr_copy(const char *p, size_t n)
{
	char *s = rr_alloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void rr_set_str(struct resp_reader_value *v, enum resp_reader_type t, const char *p,
		       size_t n)
{
	v->type = t;
	v->str = rr_copy(p, n);
	v->len = n;
}

/* After a complete element: closes every aggregate it completed. Returns
 * true when the root is complete. */
static bool rr_complete(struct resp_reader *rd)
{
	while (rd->depth > 0 && rd->stack[rd->depth - 1].v->n == rd->stack[rd->depth - 1].want)
		rd->depth--;
	return rd->depth == 0;
}

/* ---- elements ---- */

/* A one-line element: simple string, error, integer, double, boolean,
 * null, big number. */
static enum resp_reader_status rr_scalar(struct resp_reader *rd, char t, const char *s, size_t n)
{
	struct resp_reader_value *v;
	long long i = 0;
	size_t k = 0;

	switch (t) {
	case ':':
		if (!rr_integer(s, n, &i))
			return rr_fail(rd, "invalid integer");
		break;
	case ',':
		if (!rr_double_text(s, n))
			return rr_fail(rd, "invalid double");
		break;
	case '#':
		if (n != 1 || (s[0] != 't' && s[0] != 'f'))
			return rr_fail(rd, "invalid boolean");
		break;
	case '_':
		if (n != 0)
			return rr_fail(rd, "invalid null");
		break;
	case '(':
		if (n > 0 && (s[0] == '-' || s[0] == '+'))
			k = 1;
		if (!rr_digits(s, n, &k) || k != n)
			return rr_fail(rd, "invalid big number");
		break;
	default: break;
	}
	v = rr_place(rd);
	switch (t) {
	case '+': rr_set_str(v, RESP_READER_SIMPLE, s, n); break;
	case '-': rr_set_str(v, RESP_READER_ERROR, s, n); break;
	case ':': v->type = RESP_READER_INT, v->integer = i; break;
	case ',':
		rr_set_str(v, RESP_READER_DOUBLE, s, n);
		v->dbl = strtod(v->str, NULL);
		break;
	case '#': v->type = RESP_READER_BOOL, v->integer = s[0] == 't'; break;
	case '_': v->type = RESP_READER_NULL; break;
	default: rr_set_str(v, RESP_READER_BIGNUM, s, n); break;
	}
	return RESP_READER_OK;
}

/* An aggregate header: opens it, or places it whole when it is empty. */
static enum resp_reader_status rr_aggregate(struct resp_reader *rd, char t, const char *s, size_t n)
{
	struct resp_reader_value *v;
	long long count;
	size_t want;

	if (!rr_length(s, n, &count) || (count < 0 && t != '*'))
		return rr_fail(rd, "invalid aggregate length");
	if (count < 0) {
		rr_place(rd)->type = RESP_READER_NULL_ARRAY;
		return RESP_READER_OK;
	}
	if ((unsigned long long)count > rd->lim.elements_max)
		return rr_fail(rd, "aggregate too long");
	want = (size_t)count * (t == '%' || t == '|' ? 2 : 1) + (t == '|');
	if (want > 0 && rd->depth == rd->lim.depth_max)
		return rr_fail(rd, "aggregates nested too deep");
	v = rr_place(rd);
	switch (t) {
	case '*': v->type = RESP_READER_ARRAY; break;
	case '%': v->type = RESP_READER_MAP; break;
	case '~': v->type = RESP_READER_SET; break;
	case '>': v->type = RESP_READER_PUSH; break;
	default: v->type = RESP_READER_ATTR; break;
	}
	if (want > 0) {
		rd->stack[rd->depth].v = v;
		rd->stack[rd->depth].want = want;
		rd->stack[rd->depth].cap = 0;
		rd->depth++;
	}
	return RESP_READER_OK;
}

/* A bulk-like header: the body follows (rr_body), or it is the null bulk. */
static enum resp_reader_status rr_body_header(struct resp_reader *rd, char t, const char *s,
					      size_t n)
{
	long long len;

	if (n == 1 && s[0] == '?')
		return rr_fail(rd, "streamed strings are not supported");
	if (!rr_length(s, n, &len) || (len < 0 && t != '$'))
		return rr_fail(rd, "invalid bulk length");
	if (len < 0) {
		rr_place(rd)->type = RESP_READER_NULL_BULK;
		return RESP_READER_OK;
	}
	if ((unsigned long long)len > rd->lim.bulk_max)
		return rr_fail(rd, "bulk too long");
	if (t == '=' && len < 4)
		return rr_fail(rd, "verbatim string without a format");
	rd->body_type = (uint8_t)t;
	rd->body_len = (size_t)len;
	return RESP_READER_NEED_MORE; /* not returned: the body comes next */
}

static enum resp_reader_status rr_body(struct resp_reader *rd, const char *buf, size_t len)
{
	const char *b = buf + rd->pos;
	struct resp_reader_value *v;
	size_t n = rd->body_len;

	if (len - rd->pos < 2 || len - rd->pos - 2 < n)
		return RESP_READER_NEED_MORE;
	if (b[n] != '\r' || b[n + 1] != '\n')
		return rr_fail(rd, "bulk not followed by CRLF");
	if (rd->body_type == '=' && b[3] != ':')
		return rr_fail(rd, "verbatim string without a format");
	v = rr_place(rd);
	if (rd->body_type == '$') {
		rr_set_str(v, RESP_READER_BULK, b, n);
	} else if (rd->body_type == '!') {
		rr_set_str(v, RESP_READER_BLOB_ERROR, b, n);
	} else {
		rr_set_str(v, RESP_READER_VERBATIM, b + 4, n - 4);
		memcpy(v->fmt, b, 3);
	}
	rd->pos += n + 2;
	rd->scan = rd->pos;
	rd->body_type = 0;
	return RESP_READER_OK;
}

/* Decodes the element at rd->pos; on RESP_READER_OK, pos is past it. */
static enum resp_reader_status rr_element(struct resp_reader *rd, const char *buf, size_t len)
{
	enum resp_reader_status st;
	size_t cr = 0, at = rd->pos;
	const char *s;
	char t;

	if (rd->body_type != 0)
		return rr_body(rd, buf, len);
	if (at >= len)
		return RESP_READER_NEED_MORE;
	t = buf[at];
	if (strchr("+-:,#_($!=*%~>|", t) == NULL || t == '\0')
		return rr_fail(rd, "unknown type byte");
	st = rr_line(rd, buf, len, &cr);
	if (st != RESP_READER_OK)
		return st;
	s = buf + at + 1;
	rd->pos = cr + 2;
	rd->scan = rd->pos;
	if (t == '$' || t == '!' || t == '=') {
		st = rr_body_header(rd, t, s, cr - at - 1);
		return st == RESP_READER_NEED_MORE ? rr_body(rd, buf, len) : st;
	}
	if (t == '*' || t == '%' || t == '~' || t == '>' || t == '|') {
		if (cr - at - 1 == 1 && s[0] == '?')
			return rr_fail(rd, "streamed aggregates are not supported");
		return rr_aggregate(rd, t, s, cr - at - 1);
	}
	return rr_scalar(rd, t, s, cr - at - 1);
}

enum resp_reader_status resp_reader_parse(struct resp_reader *rd, const char *buf, size_t len,
					  struct resp_reader_value **out, size_t *used)
{
	enum resp_reader_status st;

	if (rd->err != NULL)
		return RESP_READER_ERR;
	ASSERT(rd->pos <= len);
	for (;;) {
		st = rr_element(rd, buf, len);
		if (st != RESP_READER_OK)
			return st;
		if (rr_complete(rd))
			break;
	}
	*out = rd->root;
	*used = rd->pos;
	rd->root = NULL;
	rr_restart(rd);
	return RESP_READER_OK;
}

/* ---- feed/next ---- */

void resp_reader_feed(struct resp_reader *rd, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (rd->len + n > rd->cap && rd->start > 0) {
		/* The decoder keeps offsets from the value's start: moving the
		 * bytes is allowed. */
		memmove(rd->buf, rd->buf + rd->start, rd->len - rd->start);
		rd->len -= rd->start;
		rd->start = 0;
	}
	if (rd->len + n > rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 4096;
		while (cap < rd->len + n)
			cap *= 2;
		rd->buf = realloc(rd->buf, cap);
		if (rd->buf == NULL)
			abort();
		rd->cap = cap;
	}
	memcpy(rd->buf + rd->len, p, n);
	rd->len += n;
}

enum resp_reader_status resp_reader_next(struct resp_reader *rd, struct resp_reader_value **out)
{
	const char *b = rd->buf != NULL ? rd->buf + rd->start : "";
	size_t used = 0;
	enum resp_reader_status st = resp_reader_parse(rd, b, rd->len - rd->start, out, &used);

	if (st == RESP_READER_OK) {
		rd->start += used;
		ASSERT(rd->start <= rd->len);
		if (rd->start == rd->len)
			rd->start = rd->len = 0;
	}
	return st;
}

size_t resp_reader_pending(const struct resp_reader *rd)
{
	return rd->len - rd->start;
}

/* ---- tree helpers ---- */

static bool rr_eq(const struct resp_reader_value *a, const struct resp_reader_value *b,
		  unsigned depth)
{
	size_t i;

	ASSERT(depth <= RESP_READER_DEPTH_MAX + 1);
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case RESP_READER_INT:
	case RESP_READER_BOOL: return a->integer == b->integer;
	case RESP_READER_DOUBLE: return (isnan(a->dbl) && isnan(b->dbl)) || a->dbl == b->dbl;
	case RESP_READER_VERBATIM:
		if (memcmp(a->fmt, b->fmt, sizeof(a->fmt)) != 0)
			return false;
		/* fall through */
	case RESP_READER_SIMPLE:
	case RESP_READER_ERROR:
	case RESP_READER_BULK:
	case RESP_READER_BLOB_ERROR:
	case RESP_READER_BIGNUM: return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	default: break;
	}
	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (!rr_eq(&a->elems[i], &b->elems[i], depth + 1))
			return false;
	return true;
}

bool resp_reader_value_eq(const struct resp_reader_value *a, const struct resp_reader_value *b)
{
	return rr_eq(a, b, 0);
}

const char *resp_reader_type_name(enum resp_reader_type t)
{
	static const char *const names[] = {
		[RESP_READER_SIMPLE] = "simple",
		[RESP_READER_ERROR] = "error",
		[RESP_READER_INT] = "integer",
		[RESP_READER_BULK] = "bulk",
		[RESP_READER_NULL_BULK] = "null bulk",
		[RESP_READER_ARRAY] = "array",
		[RESP_READER_NULL_ARRAY] = "null array",
		[RESP_READER_NULL] = "null",
		[RESP_READER_DOUBLE] = "double",
		[RESP_READER_BOOL] = "boolean",
		[RESP_READER_BLOB_ERROR] = "blob error",
		[RESP_READER_VERBATIM] = "verbatim",
		[RESP_READER_BIGNUM] = "big number",
		[RESP_READER_MAP] = "map",
		[RESP_READER_SET] = "set",
		[RESP_READER_PUSH] = "push",
		[RESP_READER_ATTR] = "attribute",
	};

	if ((unsigned)t >= sizeof(names) / sizeof(names[0]) || names[t] == NULL)
		return "?";
	return names[t];
}

struct rr_out {
	char *buf;
	size_t cap, len;
};

static void rr_put(struct rr_out *o, const char *p, size_t n)
{
	size_t room = o->cap - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void rr_put_text(struct rr_out *o, const char *p, size_t n, bool quote)
{
	size_t i;

	if (quote)
		rr_put(o, "\"", 1);
	for (i = 0; i < n && o->len + 1 < o->cap; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[8];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			rr_put(o, (const char *)&c, 1);
		} else {
			int k = snprintf(esc, sizeof(esc), "\\x%02x", c);
			rr_put(o, esc, (size_t)k);
		}
	}
	if (quote)
		rr_put(o, "\"", 1);
}

static void rr_format(struct rr_out *o, const struct resp_reader_value *v, unsigned depth)
{
	static const char *const open[] = { [RESP_READER_ARRAY] = "[",
					    [RESP_READER_MAP] = "{",
					    [RESP_READER_SET] = "~[",
					    [RESP_READER_PUSH] = ">[",
					    [RESP_READER_ATTR] = "|{" };
	char num[32];
	size_t i;
	int k;

	ASSERT(depth <= RESP_READER_DEPTH_MAX + 1);
	switch (v->type) {
	case RESP_READER_SIMPLE: rr_put(o, "+", 1), rr_put_text(o, v->str, v->len, false); return;
	case RESP_READER_ERROR: rr_put(o, "-", 1), rr_put_text(o, v->str, v->len, false); return;
	case RESP_READER_BIGNUM: rr_put(o, "(", 1), rr_put_text(o, v->str, v->len, false); return;
	case RESP_READER_DOUBLE: rr_put(o, ",", 1), rr_put_text(o, v->str, v->len, false); return;
	case RESP_READER_BULK: rr_put_text(o, v->str, v->len, true); return;
	case RESP_READER_BLOB_ERROR:
		rr_put(o, "!", 1), rr_put_text(o, v->str, v->len, true);
		return;
	case RESP_READER_VERBATIM:
		rr_put(o, "=", 1), rr_put(o, v->fmt, 3), rr_put(o, ":", 1);
		rr_put_text(o, v->str, v->len, true);
		return;
	case RESP_READER_INT:
		k = snprintf(num, sizeof(num), ":%lld", v->integer);
		rr_put(o, num, (size_t)k);
		return;
	case RESP_READER_BOOL: rr_put(o, v->integer ? "#t" : "#f", 2); return;
	case RESP_READER_NULL: rr_put(o, "_", 1); return;
	case RESP_READER_NULL_BULK: rr_put(o, "$-1", 3); return;
	case RESP_READER_NULL_ARRAY: rr_put(o, "*-1", 3); return;
	default: break;
	}
	rr_put(o, open[v->type], strlen(open[v->type]));
	for (i = 0; i < v->n && o->len + 1 < o->cap; i++) {
		bool pair = v->type == RESP_READER_MAP || v->type == RESP_READER_ATTR;
		if (v->type == RESP_READER_ATTR && i == v->n - 1)
			rr_put(o, "} ", 2); /* then the value described */
		else if (i > 0)
			rr_put(o, pair && i % 2 == 1 ? ": " : ", ", 2);
		rr_format(o, &v->elems[i], depth + 1);
	}
	if (v->type != RESP_READER_ATTR)
		rr_put(o, v->type == RESP_READER_MAP ? "}" : "]", 1);
}

size_t resp_reader_format(const struct resp_reader_value *v, char *buf, size_t cap)
{
	struct rr_out o = { buf, cap, 0 };

	ASSERT(cap >= 1);
	rr_format(&o, v, 0);
	buf[o.len] = '\0';
	return o.len;
}
