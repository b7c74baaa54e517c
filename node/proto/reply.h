/* reply.h: the RESP2/RESP3 reply encoder, and the one funnel for errors.
 *
 * A `struct reply` writes into an obuf with the connection's protocol
 * version. Each function emits one complete RESP element (or the header of an
 * aggregate, whose elements follow). RESP3-only types degrade to their RESP2
 * forms as Redis 7 does: map -> flat array, set -> array, null -> $-1 (or *-1
 * for a null array), double -> bulk string, boolean -> integer, verbatim ->
 * bulk string. */
#ifndef CAIRN_REPLY_H
#define CAIRN_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct obuf;
struct val;
struct errstats;

struct reply {
	struct obuf *ob;
	uint8_t proto;       /* 2 or 3 */
	struct errstats *es; /* error counters, or NULL */
	uint32_t errors;     /* error replies sent through this reply */
};

void reply_raw(struct reply *r, const char *p, size_t n);
void reply_ok(struct reply *r);
/* "+<s>\r\n"; s must hold no CR or LF. */
void reply_status(struct reply *r, const char *s);
/* The error funnel, with Redis's rule (addReplyErrorLength): a text that
 * starts with '-' carries its own code ("-WRONGTYPE Operation ..."); any other
 * text gets "-ERR " in front. CR and LF become spaces, as Redis does. Every
 * error reply is counted in errstats under its code. */
void reply_error(struct reply *r, const char *msg);
void reply_error_len(struct reply *r, const char *msg, size_t len);
void reply_errorf(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(struct reply *r, long long v);
void reply_bulk(struct reply *r, const char *p, size_t n);
void reply_bulk_cstr(struct reply *r, const char *s);
void reply_bulk_ll(struct reply *r, long long v);
/* A bulk whose bytes live in v: referenced when big, else copied. */
void reply_bulk_val(struct reply *r, struct val *v);
void reply_null(struct reply *r);
void reply_null_array(struct reply *r);
void reply_array(struct reply *r, long long n);
void reply_map(struct reply *r, long long n);
void reply_set(struct reply *r, long long n);
/* Out-of-band data (pub/sub messages): a RESP3 push, or an array in RESP2. */
void reply_push(struct reply *r, long long n);
void reply_double(struct reply *r, double d);
void reply_bool(struct reply *r, bool b);
/* Verbatim string with a 3-letter format ("txt"). */
void reply_verbatim(struct reply *r, const char *p, size_t n, const char *fmt);
/* An empty array ("*0", Redis's shared.emptyarray, in both protocols). */
void reply_empty_array(struct reply *r);

#endif
