/* resp.h: the RESP2 request parser (multibulk and inline).
 *
 * The parser is pure, incremental and allocation-free. It reads a request
 * from a buffer that starts at the first byte of the request and grows between
 * calls (the caller appends bytes, never moves the start); it keeps only
 * offsets from that start, so the caller may move the bytes between calls.
 * Every call examines only new bytes: line searches resume where they
 * stopped, so a sender that trickles one byte at a time costs linear time.
 *
 * A big bulk (PROTO_BIGBULK_MIN bytes or more) is not kept in the request
 * buffer: the parser stops at its header with RESP_BIGBULK, the caller
 * receives the payload into a buffer of its own, and resp_bigbulk_done()
 * records the argument as external. Offsets after it are as if the payload
 * (and its trailing two bytes) were never in the request buffer.
 *
 * Rules follow Redis 7.0 (checked on the wire against redis-server 7.0.15): counts and lengths by
 * util_str2ll, the byte after a line's '\r' and the two bytes after a payload
 * are skipped unchecked, a count of 0 or less is an empty request, the 64 KB
 * line limit holds only while a line is unterminated. One deliberate
 * difference: a NUL byte is an ordinary byte (Redis's strchr stops at it and
 * waits for more input forever). */
#ifndef CAIRN_RESP_H
#define CAIRN_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum resp_status {
	RESP_DONE = 0,  /* a whole multibulk request: nargs args, pos bytes used */
	RESP_INLINE,    /* an inline line [0, line_len), pos bytes used: split it */
	RESP_EMPTY,     /* an empty request (count <= 0), pos bytes used */
	RESP_NEED_MORE, /* every byte given was examined; append more */
	RESP_NEED_ARGS, /* the args array is full: grow it and call again */
	RESP_BIGBULK,   /* a big bulk header: the payload of `bulk` bytes (plus
			   * 2) starts at pos; feed it elsewhere, then call
			   * resp_bigbulk_done() */
	RESP_ERR_MBULK_INVALID,
	RESP_ERR_MBULK_TOO_BIG,
	RESP_ERR_MBULK_UNAUTH,
	RESP_ERR_BULK_INVALID,
	RESP_ERR_BULK_TOO_BIG,
	RESP_ERR_BULK_UNAUTH,
	RESP_ERR_EXPECTED_DOLLAR,
	RESP_ERR_INLINE_TOO_BIG,
	RESP_ERR_UNBALANCED,
};

/* An argument: bytes [off, off+len) of the request buffer, or, when off is
 * RESP_ARG_EXTERNAL, a big bulk the caller holds. */
#define RESP_ARG_EXTERNAL SIZE_MAX
struct resp_arg {
	size_t off;
	size_t len;
};

enum resp_state {
	RESP_S_START = 0,
	RESP_S_COUNT,
	RESP_S_INLINE,
	RESP_S_HEADER,
	RESP_S_PAYLOAD,
	RESP_S_BIGBULK
};

struct resp_parser {
	/* Limits, set by the owner; they may change between requests. */
	int64_t bulk_max;   /* proto-max-bulk-len */
	bool auth_required; /* the PROTO_UNAUTH_* limits apply */
	/* State of the request being parsed. */
	uint8_t state;   /* enum resp_state */
	char bad_char;   /* the byte found where '$' was expected */
	size_t pos;      /* next byte to parse */
	size_t scan;     /* where the current line search resumes */
	size_t line_len; /* RESP_INLINE: the line without its terminator */
	int64_t argc;    /* arguments announced by the count */
	int64_t nargs;   /* arguments parsed so far */
	int64_t bulk;    /* length of the bulk being read */
};

void resp_init(struct resp_parser *p, int64_t bulk_max, bool auth_required);
/* Forgets the request (after RESP_DONE/INLINE/EMPTY, or to drop one). */
void resp_reset(struct resp_parser *p);
/* Parses buf[0, len), where buf is the request's first byte. args has room
 * for cap entries; args[0, nargs) are kept between calls. */
enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len,
			    struct resp_arg *args, size_t cap);
/* Records the big bulk announced by RESP_BIGBULK as external argument
 * args[nargs] and moves on to the next header. */
void resp_bigbulk_done(struct resp_parser *p, struct resp_arg *args, size_t cap);

/* The bigbulk tail rule: how many bytes to reserve for the body the parser
 * is waiting for right now (payload plus its two trailing bytes), or 0. It
 * reserves only in RESP_S_BIGBULK, which the parser enters only after a
 * complete, accepted "$<N>\r\n" header of a multibulk request, so never for an
 * inline command, inside a payload, before authentication (the unauth bulk
 * limit is below PROTO_BIGBULK_MIN) or past bulk_max. */
size_t resp_bigbulk_tail(const struct resp_parser *p);

/* Splits an inline line as Redis's sdssplitargs: blanks separate words,
 * "..." takes \xHH \n \r \t \b \a and \<any>, '...' takes \', and a closing
 * quote must be followed by a blank or the end. Unescaped bytes go to out
 * (room for len bytes); args get offsets into out. Returns RESP_DONE with
 * *nargs set, RESP_NEED_ARGS when cap is too small (cap of len/2+1 always
 * suffices), or RESP_ERR_UNBALANCED. */
enum resp_status resp_split_inline(const char *line, size_t len, char *out, struct resp_arg *args,
				   size_t cap, size_t *nargs);

/* The error text for a RESP_ERR_* status, without "-ERR " and CRLF, written
 * to buf (at least 64 bytes). Returns its length. */
size_t resp_error_text(const struct resp_parser *p, enum resp_status st, char *buf, size_t len);

#endif
