/* reply.c: RESP2/RESP3 reply encoding into an obuf. See reply.h. */
#include "proto/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/stats.h"
#include "base/util.h"
#include "base/val.h"
#include "proto/obuf.h"

void reply_raw(struct reply *r, const char *p, size_t n)
{
	obuf_append(r->ob, p, n);
}

void reply_ok(struct reply *r)
{
	obuf_append(r->ob, "+OK\r\n", 5);
}

void reply_status(struct reply *r, const char *s)
{
	size_t n = strlen(s);
	ASSERT(memchr(s, '\r', n) == NULL);
	ASSERT(memchr(s, '\n', n) == NULL);
	obuf_append(r->ob, "+", 1);
	obuf_append(r->ob, s, n);
	obuf_append(r->ob, "\r\n", 2);
}

/* Length of the code of a "-CODE text" message (up to the first space). */
static size_t error_code_len(const char *msg, size_t len)
{
	size_t i = 1;

	ASSERT(len > 0);
	ASSERT(msg[0] == '-');
	while (i < len && msg[i] != ' ')
		i++;
	return i - 1;
}

void errstats_count(struct errstats *es, const char *code, size_t len)
{
	uint32_t i;

	es->total++;
	if (len >= ERRSTATS_NAME_MAX)
		len = ERRSTATS_NAME_MAX - 1;
	for (i = 0; i < es->n; i++) {
		if (strlen(es->e[i].name) == len && memcmp(es->e[i].name, code, len) == 0) {
			es->e[i].count++;
			return;
		}
	}
	if (es->n == ERRSTATS_MAX)
		return; /* as Redis: past the limit, only the total counts */
	memcpy(es->e[es->n].name, code, len);
	es->e[es->n].name[len] = '\0';
	es->e[es->n].count = 1;
	es->n++;
}

void reply_error_len(struct reply *r, const char *msg, size_t len)
{
	size_t i;
	char *out;

	if (len > 0 && msg[0] == '-') {
		if (r->es != NULL)
			errstats_count(r->es, msg + 1, error_code_len(msg, len));
	} else {
		obuf_append(r->ob, "-ERR ", 5);
		if (r->es != NULL)
			errstats_count(r->es, "ERR", 3);
	}
	r->errors++;
	/* Copy in pieces, mapping CR and LF to spaces. */
	while (len > 0) {
		size_t k = len < 512 ? len : 512;
		out = obuf_reserve(r->ob, k);
		for (i = 0; i < k; i++)
			out[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
		msg += k;
		len -= k;
	}
	obuf_append(r->ob, "\r\n", 2);
}

void reply_error(struct reply *r, const char *msg)
{
	reply_error_len(r, msg, strlen(msg));
}

void reply_errorf(struct reply *r, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ASSERT(n >= 0);
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	reply_error_len(r, buf, (size_t)n);
}

/* "<prefix><n>\r\n" */
static void reply_prefixed(struct reply *r, char prefix, long long n)
{
	char *p = obuf_reserve(r->ob, 1 + UTIL_LL_CHARS + 2), *q = p;
	int k;

	*q++ = prefix;
	k = util_ll2str(q, n);
	q += k;
	*q++ = '\r';
	*q++ = '\n';
	/* Give back what the number did not use. */
	obuf_unreserve(r->ob, (size_t)(1 + UTIL_LL_CHARS + 2) - (size_t)(q - p));
}

void reply_int(struct reply *r, long long v)
{
	reply_prefixed(r, ':', v);
}

/* Longest bulk string written with its header in one reservation. */
#define REPLY_BULK_SHORT_MAX 999

void reply_bulk(struct reply *r, const char *p, size_t n)
{
	if (n <= REPLY_BULK_SHORT_MAX) {
		/* The common short element (LRANGE, HGETALL, SMEMBERS...): one
		 * reservation of exactly "$<n>\r\n<bytes>\r\n". */
		size_t digits = n < 10 ? 1 : n < 100 ? 2 : 3;
		char *q = obuf_reserve(r->ob, 1 + digits + 2 + n + 2);

		*q++ = '$';
		if (digits == 3)
			*q++ = (char)('0' + n / 100);
		if (digits >= 2)
			*q++ = (char)('0' + n / 10 % 10);
		*q++ = (char)('0' + n % 10);
		*q++ = '\r';
		*q++ = '\n';
		memcpy(q, p, n);
		q += n;
		*q++ = '\r';
		*q = '\n';
		return;
	}
	reply_prefixed(r, '$', (long long)n);
	obuf_append(r->ob, p, n);
	obuf_append(r->ob, "\r\n", 2);
}

void reply_bulk_cstr(struct reply *r, const char *s)
{
	reply_bulk(r, s, strlen(s));
}

void reply_bulk_ll(struct reply *r, long long v)
{
	char buf[UTIL_LL_CHARS];
	int n = util_ll2str(buf, v);
	reply_bulk(r, buf, (size_t)n);
}

void reply_bulk_val(struct reply *r, struct val *v)
{
	reply_prefixed(r, '$', v->len);
	if (v->len >= VAL_REF_MIN) {
		/* The val always ends in CRLF: one piece covers both. */
		obuf_append_ref(r->ob, v, v->data, (size_t)v->len + 2);
	} else {
		obuf_append(r->ob, v->data, (size_t)v->len + 2);
	}
}

void reply_null(struct reply *r)
{
	if (r->proto >= 3)
		obuf_append(r->ob, "_\r\n", 3);
	else
		obuf_append(r->ob, "$-1\r\n", 5);
}

void reply_null_array(struct reply *r)
{
	if (r->proto >= 3)
		obuf_append(r->ob, "_\r\n", 3);
	else
		obuf_append(r->ob, "*-1\r\n", 5);
}

void reply_array(struct reply *r, long long n)
{
	reply_prefixed(r, '*', n);
}

void reply_map(struct reply *r, long long n)
{
	if (r->proto >= 3)
		reply_prefixed(r, '%', n);
	else
		reply_prefixed(r, '*', n * 2);
}

void reply_set(struct reply *r, long long n)
{
	reply_prefixed(r, r->proto >= 3 ? '~' : '*', n);
}

void reply_push(struct reply *r, long long n)
{
	reply_prefixed(r, r->proto >= 3 ? '>' : '*', n);
}

void reply_empty_array(struct reply *r)
{
	obuf_append(r->ob, "*0\r\n", 4);
}

void reply_double(struct reply *r, double d)
{
	char buf[64];
	int n = util_d2str(buf, sizeof(buf), d);

	if (r->proto >= 3) {
		obuf_append(r->ob, ",", 1);
		obuf_append(r->ob, buf, (size_t)n);
		obuf_append(r->ob, "\r\n", 2);
	} else {
		reply_bulk(r, buf, (size_t)n);
	}
}

void reply_bool(struct reply *r, bool b)
{
	if (r->proto >= 3)
		obuf_append(r->ob, b ? "#t\r\n" : "#f\r\n", 4);
	else
		obuf_append(r->ob, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(struct reply *r, const char *p, size_t n, const char *fmt)
{
	ASSERT(strlen(fmt) == 3);
	if (r->proto < 3) {
		reply_bulk(r, p, n);
		return;
	}
	reply_prefixed(r, '=', (long long)n + 4);
	obuf_append(r->ob, fmt, 3);
	obuf_append(r->ob, ":", 1);
	obuf_append(r->ob, p, n);
	obuf_append(r->ob, "\r\n", 2);
}
