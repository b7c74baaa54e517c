/* ref_resp.c: the reference request parser. See ref_resp.h.
 *
 * Written from Redis 7.0's parsing rules and resp.h's, for clarity and not for
 * speed: every call starts over from the first byte, lines are found by
 * plain loops, and numbers are read digit by digit. The constants are
 * restated here from Redis's, and tied to node/base/limits.h by static
 * assertions, so a changed limit shows up at compile time rather than as a
 * silent agreement between two copies of the same mistake. */
#include "ref_resp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

/* An unterminated line (inline, count or header) may reach 64 KB. */
#define REF_LINE_MAX 65536
/* Counts and lengths: at most 20 characters. */
#define REF_NUMBER_CHARS_MAX 20
/* Before authentication: at most 10 arguments, bulks of at most 16 KB. */
#define REF_UNAUTH_COUNT_MAX 10
#define REF_UNAUTH_BULK_MAX 16384
/* A bulk this big or bigger is received outside the request buffer. */
#define REF_BIG_MIN 32768

_Static_assert(REF_LINE_MAX == PROTO_INLINE_MAX, "line limit");
_Static_assert(REF_NUMBER_CHARS_MAX == PROTO_NUM_CHARS_MAX, "number width");
_Static_assert(REF_UNAUTH_COUNT_MAX == PROTO_UNAUTH_ARGC_MAX, "unauth count");
_Static_assert(REF_UNAUTH_BULK_MAX == PROTO_UNAUTH_BULK_MAX, "unauth bulk");
_Static_assert(REF_BIG_MIN == PROTO_BIGBULK_MIN, "big bulk threshold");

void ref_result_init(struct ref_result *r)
{
	memset(r, 0, sizeof(*r));
}

void ref_result_free(struct ref_result *r)
{
	free(r->args);
	memset(r, 0, sizeof(*r));
}

static void ref_push_arg(struct ref_result *r, size_t off, size_t len, bool external)
{
	if (r->nargs == r->args_cap) {
		r->args_cap = r->args_cap ? r->args_cap * 2 : 16;
		r->args = realloc(r->args, r->args_cap * sizeof(*r->args));
		ASSERT(r->args != NULL);
	}
	r->args[r->nargs].off = off;
	r->args[r->nargs].len = len;
	r->args[r->nargs].external = external;
	r->nargs++;
}

/* A count or a length: an optional '-', then "0" alone or digits without a
 * leading zero, at most 20 characters, within a signed 64-bit integer. */
static bool ref_number(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0, limit = (unsigned long long)LLONG_MAX;
	bool negative = false;
	size_t i = 0;

	if (n == 0 || n > REF_NUMBER_CHARS_MAX)
		return false;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		negative = true;
		i = 1;
		limit += 1;
	}
	if (i == n || s[i] == '0')
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (limit - (unsigned long long)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (negative)
		*out = v == limit ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return true;
}

enum ref_line { REF_LINE_PARTIAL, REF_LINE_NEED_LF, REF_LINE_OK };

/* The line starting at from ends at its first '\r', and the byte after the
 * '\r' must be there too (it is skipped unchecked, as Redis does). */
static enum ref_line ref_find_cr(const char *buf, size_t len, size_t from, size_t *cr)
{
	size_t i;

	for (i = from; i < len; i++) {
		if (buf[i] == '\r') {
			*cr = i;
			return i + 1 < len ? REF_LINE_OK : REF_LINE_NEED_LF;
		}
	}
	return REF_LINE_PARTIAL;
}

static void ref_stop(struct ref_result *r, enum resp_status st, enum ref_at at, size_t pos)
{
	r->st = st;
	r->at = at;
	r->pos = pos;
}

/* Any first byte but '*' starts an inline command: a line up to '\n', with
 * one '\r' before it dropped. */
static void ref_inline(const char *buf, size_t len, struct ref_result *r)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			r->line_len = (i > 0 && buf[i - 1] == '\r') ? i - 1 : i;
			ref_stop(r, RESP_INLINE, REF_AT_START, i + 1);
			return;
		}
	}
	if (len > REF_LINE_MAX)
		ref_stop(r, RESP_ERR_INLINE_TOO_BIG, REF_AT_INLINE, 0);
	else
		ref_stop(r, RESP_NEED_MORE, REF_AT_INLINE, 0);
}

/* "*<count>\r\n". Returns the offset after it, or 0 after a stop. */
static size_t ref_count(const struct ref_limits *lim, const char *buf, size_t len,
			struct ref_result *r)
{
	size_t cr = 0;
	long long n;

	switch (ref_find_cr(buf, len, 1, &cr)) {
	case REF_LINE_PARTIAL:
		ref_stop(r, len > REF_LINE_MAX ? RESP_ERR_MBULK_TOO_BIG : RESP_NEED_MORE,
			 REF_AT_COUNT, 0);
		return 0;
	case REF_LINE_NEED_LF: ref_stop(r, RESP_NEED_MORE, REF_AT_COUNT, 0); return 0;
	case REF_LINE_OK: break;
	}
	if (!ref_number(buf + 1, cr - 1, &n) || n > INT_MAX) {
		ref_stop(r, RESP_ERR_MBULK_INVALID, REF_AT_COUNT, 0);
		return 0;
	}
	if (lim->auth_required && n > REF_UNAUTH_COUNT_MAX) {
		ref_stop(r, RESP_ERR_MBULK_UNAUTH, REF_AT_COUNT, 0);
		return 0;
	}
	r->count = n;
	if (n <= 0) {
		ref_stop(r, RESP_EMPTY, REF_AT_START, cr + 2);
		return 0;
	}
	return cr + 2;
}

/* One "$<len>\r\n" header and its payload at *pos. Returns false after a
 * stop; else the argument is recorded and *pos moves past it. */
static bool ref_bulk(const struct ref_limits *lim, const char *buf, size_t len, size_t *pos,
		     size_t *bigs_seen, struct ref_result *r)
{
	size_t at = *pos, cr = 0;
	long long n;

	switch (ref_find_cr(buf, len, at, &cr)) {
	case REF_LINE_PARTIAL:
		ref_stop(r, len - at > REF_LINE_MAX ? RESP_ERR_BULK_TOO_BIG : RESP_NEED_MORE,
			 REF_AT_HEADER, at);
		return false;
	case REF_LINE_NEED_LF: ref_stop(r, RESP_NEED_MORE, REF_AT_HEADER, at); return false;
	case REF_LINE_OK: break;
	}
	if (buf[at] != '$') {
		r->bad_char = buf[at];
		ref_stop(r, RESP_ERR_EXPECTED_DOLLAR, REF_AT_HEADER, at);
		return false;
	}
	if (!ref_number(buf + at + 1, cr - at - 1, &n) || n < 0 || n > lim->bulk_max) {
		ref_stop(r, RESP_ERR_BULK_INVALID, REF_AT_HEADER, at);
		return false;
	}
	if (lim->auth_required && n > REF_UNAUTH_BULK_MAX) {
		ref_stop(r, RESP_ERR_BULK_UNAUTH, REF_AT_HEADER, at);
		return false;
	}
	at = cr + 2;
	r->bulk = n;
	if (n >= REF_BIG_MIN) {
		/* Its payload is not in this buffer: either the caller has it
		 * already, or this is where the parser hands over. */
		if (*bigs_seen < lim->bigs_done) {
			(*bigs_seen)++;
			ref_push_arg(r, 0, (size_t)n, true);
			*pos = at;
			return true;
		}
		ref_stop(r, RESP_BIGBULK, REF_AT_BIGBULK, at);
		return false;
	}
	if (len - at < (size_t)n + 2) {
		ref_stop(r, RESP_NEED_MORE, REF_AT_PAYLOAD, at);
		return false;
	}
	ref_push_arg(r, at, (size_t)n, false);
	*pos = at + (size_t)n + 2;
	return true;
}

void ref_parse(const struct ref_limits *lim, const char *buf, size_t len, struct ref_result *r)
{
	size_t pos, bigs_seen = 0;
	long long i;

	ASSERT(lim->bulk_max > 0);
	r->st = RESP_NEED_MORE;
	r->at = REF_AT_START;
	r->pos = 0;
	r->line_len = 0;
	r->count = 0;
	r->bulk = 0;
	r->bad_char = 0;
	r->nargs = 0;
	if (len == 0)
		return;
	if (buf[0] != '*') {
		ref_inline(buf, len, r);
		return;
	}
	pos = ref_count(lim, buf, len, r);
	if (pos == 0)
		return;
	for (i = 0; i < r->count; i++)
		if (!ref_bulk(lim, buf, len, &pos, &bigs_seen, r))
			return;
	/* Every big bulk the caller received belongs to this request. */
	ASSERT(bigs_seen == lim->bigs_done);
	ref_stop(r, RESP_DONE, REF_AT_START, pos);
}

/* ---- inline words ---- */

void ref_words_init(struct ref_words *w)
{
	memset(w, 0, sizeof(*w));
}

void ref_words_free(struct ref_words *w)
{
	free(w->bytes);
	free(w->off);
	free(w->len);
	memset(w, 0, sizeof(*w));
}

static void ref_word_byte(struct ref_words *w, char c)
{
	if (w->len[w->n - 1] + w->off[w->n - 1] == w->bcap) {
		w->bcap = w->bcap ? w->bcap * 2 : 64;
		w->bytes = realloc(w->bytes, w->bcap);
		ASSERT(w->bytes != NULL);
	}
	w->bytes[w->off[w->n - 1] + w->len[w->n - 1]++] = c;
}

static void ref_word_start(struct ref_words *w)
{
	size_t end = w->n > 0 ? w->off[w->n - 1] + w->len[w->n - 1] : 0;

	if (w->bytes == NULL) {
		/* Allocated even for empty words, so that a word always has an
		 * address. */
		w->bcap = 64;
		w->bytes = malloc(w->bcap);
		ASSERT(w->bytes != NULL);
	}

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->off = realloc(w->off, w->cap * sizeof(*w->off));
		w->len = realloc(w->len, w->cap * sizeof(*w->len));
		ASSERT(w->off != NULL);
		ASSERT(w->len != NULL);
	}
	w->off[w->n] = end;
	w->len[w->n] = 0;
	w->n++;
}

/* C's isspace() in the "C" locale, written out. */
static bool ref_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int ref_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char ref_unescape(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return c;
	}
}

/* Inside "...": returns how many bytes were used for one character. */
static size_t ref_dquote_char(const char *s, size_t left, struct ref_words *w)
{
	if (s[0] == '\\' && left >= 4 && s[1] == 'x' && ref_hex(s[2]) >= 0 && ref_hex(s[3]) >= 0) {
		ref_word_byte(w, (char)(ref_hex(s[2]) * 16 + ref_hex(s[3])));
		return 4;
	}
	if (s[0] == '\\' && left >= 2) {
		ref_word_byte(w, ref_unescape(s[1]));
		return 2;
	}
	ref_word_byte(w, s[0]);
	return 1;
}

enum ref_split_state { REF_OUT, REF_WORD, REF_DQUOTE, REF_SQUOTE, REF_CLOSED };

enum resp_status ref_split(const char *line, size_t len, struct ref_words *w)
{
	enum ref_split_state s = REF_OUT;
	size_t i = 0;

	w->n = 0;
	while (i < len) {
		char c = line[i];
		switch (s) {
		case REF_OUT:
			if (ref_is_space(c)) {
				i++;
			} else {
				ref_word_start(w);
				s = REF_WORD;
			}
			break;
		case REF_WORD:
			/* Unquoted, only these four end a word (\v and \f do
			 * not, though they are skipped between words). */
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				s = REF_OUT;
			else if (c == '"')
				s = REF_DQUOTE;
			else if (c == '\'')
				s = REF_SQUOTE;
			else
				ref_word_byte(w, c);
			i++;
			break;
		case REF_DQUOTE:
			if (c == '"') {
				s = REF_CLOSED;
				i++;
			} else {
				i += ref_dquote_char(line + i, len - i, w);
			}
			break;
		case REF_SQUOTE:
			if (c == '\\' && i + 1 < len && line[i + 1] == '\'') {
				ref_word_byte(w, '\'');
				i += 2;
			} else if (c == '\'') {
				s = REF_CLOSED;
				i++;
			} else {
				ref_word_byte(w, c);
				i++;
			}
			break;
		case REF_CLOSED:
			/* A closing quote must be followed by a blank or the end. */
			if (!ref_is_space(c))
				return RESP_ERR_UNBALANCED;
			s = REF_OUT;
			i++;
			break;
		}
	}
	return s == REF_DQUOTE || s == REF_SQUOTE ? RESP_ERR_UNBALANCED : RESP_DONE;
}

size_t ref_error_text(enum resp_status st, char bad_char, char *buf, size_t cap)
{
	const char *what = NULL;
	int n;

	switch (st) {
	case RESP_ERR_MBULK_INVALID: what = "invalid multibulk length"; break;
	case RESP_ERR_MBULK_TOO_BIG: what = "too big mbulk count string"; break;
	case RESP_ERR_MBULK_UNAUTH: what = "unauthenticated multibulk length"; break;
	case RESP_ERR_BULK_INVALID: what = "invalid bulk length"; break;
	case RESP_ERR_BULK_TOO_BIG: what = "too big bulk count string"; break;
	case RESP_ERR_BULK_UNAUTH: what = "unauthenticated bulk length"; break;
	case RESP_ERR_INLINE_TOO_BIG: what = "too big inline request"; break;
	case RESP_ERR_UNBALANCED: what = "unbalanced quotes in request"; break;
	case RESP_ERR_EXPECTED_DOLLAR:
		/* The reply funnel turns CR and LF into spaces. */
		if (bad_char == '\r' || bad_char == '\n')
			bad_char = ' ';
		n = snprintf(buf, cap, "Protocol error: expected '$', got '%c'", bad_char);
		ASSERT(n > 0);
		ASSERT((size_t)n < cap);
		return (size_t)n;
	default: ASSERT_NOT_REACHED("ref_error_text: not an error"); break;
	}
	n = snprintf(buf, cap, "Protocol error: %s", what);
	ASSERT(n > 0);
	ASSERT((size_t)n < cap);
	return (size_t)n;
}
