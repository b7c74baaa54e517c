/* resp.c: the incremental RESP2 request parser. See resp.h for the contract.
 *
 * The state machine mirrors Redis's processMultibulkBuffer and
 * processInlineBuffer, step for step, so that the same bytes give the same
 * error at the same point. The difference is that nothing is copied and
 * nothing is allocated: arguments are offsets, and the caller owns every
 * buffer. */
#include "proto/resp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/util.h"

void resp_init(struct resp_parser *p, int64_t bulk_max, bool auth_required)
{
	ASSERT(bulk_max > 0);
	memset(p, 0, sizeof(*p));
	p->bulk_max = bulk_max;
	p->auth_required = auth_required;
}

void resp_reset(struct resp_parser *p)
{
	p->state = RESP_S_START;
	p->pos = 0;
	p->scan = 0;
	p->line_len = 0;
	p->argc = 0;
	p->nargs = 0;
	p->bulk = 0;
	p->bad_char = 0;
}

/* Finds `c` in buf[from, len), resuming the search at p->scan. Returns its
 * offset, or SIZE_MAX and remembers how far it looked. */
static size_t find_byte(struct resp_parser *p, const char *buf, size_t len, size_t from, char c)
{
	size_t start = p->scan > from ? p->scan : from;
	const char *hit;

	if (start >= len) {
		p->scan = start;
		return SIZE_MAX;
	}
	hit = memchr(buf + start, c, len - start);
	if (hit == NULL) {
		p->scan = len;
		return SIZE_MAX;
	}
	return (size_t)(hit - buf);
}

/* The common line of a well-formed request, "<digits>\r" plus one more byte,
 * read in one pass: 1 to 18 digits with no leading zero, or a lone "0".
 * Returns the offset of the '\r' and the value, or SIZE_MAX for anything
 * else (incomplete, longer, signed, odd), which the general path then
 * decides; for every line this accepts, the general path gives the same
 * '\r' and the same value, so it changes nothing but the cost. */
static size_t fast_line(const char *buf, size_t len, size_t from, long long *out)
{
	size_t i = from, end = from + 18 < len ? from + 18 : len;
	long long v;

	if (i >= len || buf[i] < '0' || buf[i] > '9')
		return SIZE_MAX;
	v = buf[i++] - '0';
	if (v != 0)
		while (i < end && buf[i] >= '0' && buf[i] <= '9')
			v = v * 10 + (buf[i++] - '0');
	if (i + 1 >= len || buf[i] != '\r')
		return SIZE_MAX;
	*out = v;
	return i;
}

static enum resp_status parse_count(struct resp_parser *p, const char *buf, size_t len)
{
	long long n;
	size_t cr = fast_line(buf, len, 1, &n);

	if (cr == SIZE_MAX) {
		cr = find_byte(p, buf, len, 1, '\r');
		if (cr == SIZE_MAX)
			return len > PROTO_INLINE_MAX ? RESP_ERR_MBULK_TOO_BIG : RESP_NEED_MORE;
		/* The byte after '\r' must be there; as Redis, it is not
		 * checked. */
		if (cr + 1 >= len)
			return RESP_NEED_MORE;
		if (!util_str2ll(buf + 1, cr - 1, &n))
			return RESP_ERR_MBULK_INVALID;
	}
	if (n > PROTO_ARGC_MAX)
		return RESP_ERR_MBULK_INVALID;
	if (n > PROTO_UNAUTH_ARGC_MAX && p->auth_required)
		return RESP_ERR_MBULK_UNAUTH;
	p->pos = cr + 2;
	p->scan = p->pos;
	if (n <= 0)
		return RESP_EMPTY;
	p->argc = n;
	p->nargs = 0;
	p->state = RESP_S_HEADER;
	return RESP_NEED_MORE; /* not returned: the caller loop goes on */
}

static enum resp_status parse_header(struct resp_parser *p, const char *buf, size_t len)
{
	long long n;
	size_t cr = p->pos < len && buf[p->pos] == '$' ? fast_line(buf, len, p->pos + 1, &n)
						       : SIZE_MAX;

	if (cr == SIZE_MAX) {
		cr = find_byte(p, buf, len, p->pos, '\r');
		if (cr == SIZE_MAX)
			return len - p->pos > PROTO_INLINE_MAX ? RESP_ERR_BULK_TOO_BIG
							       : RESP_NEED_MORE;
		if (cr + 1 >= len)
			return RESP_NEED_MORE;
		if (buf[p->pos] != '$') {
			p->bad_char = buf[p->pos];
			return RESP_ERR_EXPECTED_DOLLAR;
		}
		if (!util_str2ll(buf + p->pos + 1, cr - p->pos - 1, &n))
			return RESP_ERR_BULK_INVALID;
	}
	if (n < 0 || n > p->bulk_max)
		return RESP_ERR_BULK_INVALID;
	if (n > PROTO_UNAUTH_BULK_MAX && p->auth_required)
		return RESP_ERR_BULK_UNAUTH;
	p->pos = cr + 2;
	p->scan = p->pos;
	p->bulk = n;
	p->state = n >= PROTO_BIGBULK_MIN ? RESP_S_BIGBULK : RESP_S_PAYLOAD;
	return RESP_NEED_MORE;
}

static enum resp_status parse_inline(struct resp_parser *p, const char *buf, size_t len)
{
	size_t nl = find_byte(p, buf, len, 0, '\n');

	if (nl == SIZE_MAX)
		return len > PROTO_INLINE_MAX ? RESP_ERR_INLINE_TOO_BIG : RESP_NEED_MORE;
	p->line_len = (nl > 0 && buf[nl - 1] == '\r') ? nl - 1 : nl;
	p->pos = nl + 1;
	return RESP_INLINE;
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len,
			    struct resp_arg *args, size_t cap)
{
	enum resp_status st;

	ASSERT(p->pos <= len || p->state == RESP_S_START);
	for (;;) {
		switch (p->state) {
		case RESP_S_START:
			if (len == 0)
				return RESP_NEED_MORE;
			p->state = buf[0] == '*' ? RESP_S_COUNT : RESP_S_INLINE;
			break;
		case RESP_S_INLINE: return parse_inline(p, buf, len);
		case RESP_S_COUNT:
			st = parse_count(p, buf, len);
			if (p->state == RESP_S_COUNT)
				return st;
			break;
		case RESP_S_HEADER:
			if (p->nargs == p->argc)
				return RESP_DONE;
			if ((size_t)p->nargs >= cap)
				return RESP_NEED_ARGS;
			st = parse_header(p, buf, len);
			if (p->state == RESP_S_HEADER)
				return st;
			if (p->state == RESP_S_BIGBULK)
				return RESP_BIGBULK;
			break;
		case RESP_S_PAYLOAD:
			ASSERT((size_t)p->nargs < cap);
			if (len - p->pos < (size_t)p->bulk + 2)
				return RESP_NEED_MORE;
			args[p->nargs].off = p->pos;
			args[p->nargs].len = (size_t)p->bulk;
			p->nargs++;
			p->pos += (size_t)p->bulk + 2;
			p->scan = p->pos;
			p->state = RESP_S_HEADER;
			break;
		case RESP_S_BIGBULK: return RESP_BIGBULK;
		default: ASSERT_NOT_REACHED("resp: bad state"); return RESP_ERR_MBULK_INVALID;
		}
	}
}

void resp_bigbulk_done(struct resp_parser *p, struct resp_arg *args, size_t cap)
{
	ASSERT(p->state == RESP_S_BIGBULK);
	ASSERT((size_t)p->nargs < cap);
	args[p->nargs].off = RESP_ARG_EXTERNAL;
	args[p->nargs].len = (size_t)p->bulk;
	p->nargs++;
	p->state = RESP_S_HEADER; /* resp_parse reports DONE if it was the last */
}

size_t resp_bigbulk_tail(const struct resp_parser *p)
{
	if (p->state != RESP_S_BIGBULK)
		return 0;
	ASSERT(p->bulk >= PROTO_BIGBULK_MIN);
	ASSERT(p->bulk <= p->bulk_max);
	ASSERT(!p->auth_required || p->bulk <= PROTO_UNAUTH_BULK_MAX);
	return (size_t)p->bulk + 2;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads one "..." word body starting after the quote at line[*i]; appends to
 * out. Returns false on unbalanced quotes. */
static bool split_dquote(const char *line, size_t len, size_t *i, char *out, size_t *o)
{
	size_t k = *i;

	for (;;) {
		if (k >= len)
			return false;
		if (line[k] == '\\' && k + 3 < len && line[k + 1] == 'x' &&
		    hex_value(line[k + 2]) >= 0 && hex_value(line[k + 3]) >= 0) {
			out[(*o)++] = (char)(hex_value(line[k + 2]) * 16 + hex_value(line[k + 3]));
			k += 4;
		} else if (line[k] == '\\' && k + 1 < len) {
			char c = line[k + 1];
			switch (c) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'a': c = '\a'; break;
			default: break;
			}
			out[(*o)++] = c;
			k += 2;
		} else if (line[k] == '"') {
			if (k + 1 < len && !isspace((unsigned char)line[k + 1]))
				return false;
			*i = k + 1;
			return true;
		} else {
			out[(*o)++] = line[k++];
		}
	}
}

static bool split_squote(const char *line, size_t len, size_t *i, char *out, size_t *o)
{
	size_t k = *i;

	for (;;) {
		if (k >= len)
			return false;
		if (line[k] == '\\' && k + 1 < len && line[k + 1] == '\'') {
			out[(*o)++] = '\'';
			k += 2;
		} else if (line[k] == '\'') {
			if (k + 1 < len && !isspace((unsigned char)line[k + 1]))
				return false;
			*i = k + 1;
			return true;
		} else {
			out[(*o)++] = line[k++];
		}
	}
}

enum resp_status resp_split_inline(const char *line, size_t len, char *out, struct resp_arg *args,
				   size_t cap, size_t *nargs)
{
	size_t i = 0, o = 0, n = 0;

	for (;;) {
		size_t start;
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i >= len)
			break;
		if (n == cap)
			return RESP_NEED_ARGS;
		start = o;
		for (;;) {
			if (i >= len)
				break;
			char c = line[i];
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				i++;
				break;
			}
			if (c == '"' || c == '\'') {
				i++;
				if (!(c == '"' ? split_dquote : split_squote)(line, len, &i, out,
									      &o))
					return RESP_ERR_UNBALANCED;
				/* A closing quote ends the word; the blank after it is
				 * skipped by the loop above. */
				break;
			}
			out[o++] = c;
			i++;
		}
		args[n].off = start;
		args[n].len = o - start;
		n++;
	}
	ASSERT(o <= len);
	*nargs = n;
	return RESP_DONE;
}

size_t resp_error_text(const struct resp_parser *p, enum resp_status st, char *buf, size_t len)
{
	const char *text;
	int n;

	ASSERT(len >= 64);
	switch (st) {
	case RESP_ERR_MBULK_INVALID: text = "invalid multibulk length"; break;
	case RESP_ERR_MBULK_TOO_BIG: text = "too big mbulk count string"; break;
	case RESP_ERR_MBULK_UNAUTH: text = "unauthenticated multibulk length"; break;
	case RESP_ERR_BULK_INVALID: text = "invalid bulk length"; break;
	case RESP_ERR_BULK_TOO_BIG: text = "too big bulk count string"; break;
	case RESP_ERR_BULK_UNAUTH: text = "unauthenticated bulk length"; break;
	case RESP_ERR_INLINE_TOO_BIG: text = "too big inline request"; break;
	case RESP_ERR_UNBALANCED: text = "unbalanced quotes in request"; break;
	case RESP_ERR_EXPECTED_DOLLAR:
		/* As Redis's %c, with CR and LF mapped to spaces. A NUL byte is
		 * sent as is (Redis never gets here with one: it waits). */
		n = snprintf(buf, len, "Protocol error: expected '$', got '%c'",
			     (p->bad_char == '\r' || p->bad_char == '\n') ? ' ' : p->bad_char);
		ASSERT(n > 0);
		ASSERT((size_t)n < len);
		return (size_t)n;
	default:
		ASSERT_NOT_REACHED("resp: not an error status");
		text = "unknown";
		break;
	}
	n = snprintf(buf, len, "Protocol error: %s", text);
	ASSERT(n > 0);
	ASSERT((size_t)n < len);
	return (size_t)n;
}
