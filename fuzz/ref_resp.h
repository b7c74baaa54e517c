/* ref_resp.h: a reference RESP2 request parser, for the fuzz targets.
 *
 * It answers the same question as node/proto/resp.c, from the same documented
 * rules (Redis 7.0's processMultibulkBuffer and processInlineBuffer, and
 * resp.h), but in the plainest
 * way: it has no state between calls. Each call parses the request from its
 * first byte over the whole buffer given, so its answer is a function of the
 * bytes alone, and an incremental parser that agrees with it on every prefix
 * cannot depend on how the bytes were cut into reads. It is slow (each call
 * starts over) and that is its point: there is nothing to resume wrongly.
 *
 * The buffer is the parser's view of the request: a big bulk's payload (and
 * its two trailing bytes) is never in it, since the caller receives it
 * elsewhere. The caller says how many big bulks of this request it has
 * already received (bigs_done); the next big bulk header is where the
 * reference stops with RESP_BIGBULK.
 *
 * Results use resp.h's status codes, so they compare directly; NEED_ARGS is
 * never returned (the reference has no argument array to fill). */
#ifndef CAIRN_FUZZ_REF_RESP_H
#define CAIRN_FUZZ_REF_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/resp.h"

/* What the request needs next, when the answer is RESP_NEED_MORE (and, for
 * RESP_BIGBULK, REF_AT_BIGBULK). */
enum ref_at {
	REF_AT_START = 0, /* no byte yet */
	REF_AT_INLINE,    /* the rest of an inline line */
	REF_AT_COUNT,     /* the rest of the "*<count>\r\n" line */
	REF_AT_HEADER,    /* the rest of a "$<len>\r\n" header */
	REF_AT_PAYLOAD,   /* the rest of a payload kept in the buffer */
	REF_AT_BIGBULK    /* a big bulk's payload, received elsewhere */
};

struct ref_arg {
	size_t off; /* offset in the buffer; unused when external */
	size_t len;
	bool external; /* a big bulk, received elsewhere */
};

struct ref_limits {
	int64_t bulk_max;   /* proto-max-bulk-len */
	bool auth_required; /* the unauthenticated limits apply */
	size_t bigs_done;   /* big bulks of this request already received */
};

struct ref_result {
	enum resp_status st;
	enum ref_at at;
	/* DONE, INLINE, EMPTY: bytes used. BIGBULK: where its payload would
	 * start. An error: where the line that failed starts. NEED_MORE: where
	 * the item being waited for starts. */
	size_t pos;
	size_t line_len; /* INLINE: the line without its terminator */
	long long count; /* the multibulk count, once its line is complete */
	long long bulk;  /* the length of the bulk being read (BIGBULK, PAYLOAD) */
	char bad_char;   /* RESP_ERR_EXPECTED_DOLLAR: the byte found */
	size_t nargs;    /* arguments complete so far */
	struct ref_arg *args;
	size_t args_cap;
};

void ref_result_init(struct ref_result *r);
void ref_result_free(struct ref_result *r);
/* Parses the request at buf[0, len). r's argument array is reused. */
void ref_parse(const struct ref_limits *lim, const char *buf, size_t len, struct ref_result *r);

/* The words of an inline line, split as Redis's sdssplitargs with the one
 * documented difference that a NUL byte is an ordinary byte. */
struct ref_words {
	size_t n;
	char *bytes; /* the unescaped bytes of every word, back to back */
	size_t *off; /* word i is bytes[off[i], off[i] + len[i]) */
	size_t *len;
	size_t cap;  /* room in off and len */
	size_t bcap; /* room in bytes */
};

void ref_words_init(struct ref_words *w);
void ref_words_free(struct ref_words *w);
/* Returns RESP_DONE with the words, or RESP_ERR_UNBALANCED. */
enum resp_status ref_split(const char *line, size_t len, struct ref_words *w);

/* The error reply text Redis sends for an error status (without "-ERR " and
 * CRLF), as redis-server 7.0.15 sends it. Returns its length. */
size_t ref_error_text(enum resp_status st, char bad_char, char *buf, size_t cap);

#endif
