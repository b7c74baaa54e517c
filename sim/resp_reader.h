/* resp_reader.h: an incremental RESP2/RESP3 reply decoder, for clients.
 *
 * The simulator's clients, the tests and the fuzzers read a server's replies
 * with it. It decodes what a server sends: RESP2 (+ - : $ *, with the null
 * bulk $-1 and the null array *-1) and RESP3 (_ , # ! = ( % ~ > |). Streamed
 * RESP3 aggregates and strings ($? *? ...) are refused as unsupported.
 *
 * Values come out as trees (struct resp_reader_value). An attribute (|n) is
 * decoded as an RESP_READER_ATTR node of 2n+1 elements: the n key/value pairs,
 * then the value they describe, so a reader that does not care unwraps it.
 *
 * Two ways to use it:
 *  - feed/next: resp_reader_feed() appends received bytes (copied), and
 *    resp_reader_next() returns complete values one at a time;
 *  - resp_reader_parse(): the pure core, over a caller's buffer that starts at
 *    the value's first byte and grows between calls. It keeps offsets only,
 *    so the caller may move the bytes between calls, and it reads nothing
 *    past the length it is given (the fuzzers check this).
 * Either way, each call examines only new bytes: a value that arrives one
 * byte at a time costs linear time, and a partial tree is kept between calls.
 *
 * Everything is bounded by struct resp_reader_limits: nesting (at most
 * RESP_READER_DEPTH_MAX, which also bounds the only recursion, in the tree
 * helpers), elements per aggregate, bytes per bulk and per line. An
 * aggregate's element array grows with the elements that really arrive, so
 * a header like "*1000000" alone costs nothing. Malformed input or a limit
 * gives RESP_READER_ERR with a reason; the error is sticky until
 * resp_reader_reset(). */
#ifndef CAIRN_RESP_READER_H
#define CAIRN_RESP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting any reader accepts. */
#define RESP_READER_DEPTH_MAX 64

enum resp_reader_type {
	RESP_READER_SIMPLE = 1, /* +text */
	RESP_READER_ERROR,      /* -text */
	RESP_READER_INT,        /* :n */
	RESP_READER_BULK,       /* $n */
	RESP_READER_NULL_BULK,  /* $-1 */
	RESP_READER_ARRAY,      /* *n */
	RESP_READER_NULL_ARRAY, /* *-1 */
	RESP_READER_NULL,       /* _ */
	RESP_READER_DOUBLE,     /* ,d */
	RESP_READER_BOOL,       /* #t, #f */
	RESP_READER_BLOB_ERROR, /* !n */
	RESP_READER_VERBATIM,   /* =n, "fmt:text" */
	RESP_READER_BIGNUM,     /* (n */
	RESP_READER_MAP,        /* %n: 2n elements, key then value */
	RESP_READER_SET,        /* ~n */
	RESP_READER_PUSH,       /* >n */
	RESP_READER_ATTR,       /* |n: 2n elements, then the value described */
};

struct resp_reader_value {
	enum resp_reader_type type;
	long long integer; /* INT; BOOL (0 or 1) */
	double dbl;        /* DOUBLE */
	/* SIMPLE, ERROR, BULK, BLOB_ERROR, BIGNUM, DOUBLE (the text sent), and
	 * VERBATIM (the text after "fmt:"): len bytes, then a NUL. */
	char *str;
	size_t len;
	char fmt[4]; /* VERBATIM: the format, NUL-terminated */
	size_t n;    /* aggregates: elements (MAP: 2 per pair; ATTR: 2 per pair + 1) */
	struct resp_reader_value *elems;
};

struct resp_reader_limits {
	unsigned depth_max;  /* nesting of aggregates, 1..RESP_READER_DEPTH_MAX */
	size_t elements_max; /* elements (or pairs) announced by one aggregate */
	size_t bulk_max;     /* bytes of one bulk, blob error or verbatim string */
	size_t line_max;     /* bytes of one line (simple string, error, number) */
};

enum resp_reader_status {
	RESP_READER_OK = 0,    /* a whole value */
	RESP_READER_NEED_MORE, /* every byte given was examined; give more */
	RESP_READER_ERR,       /* malformed, or past a limit: see rd->err */
};

/* An aggregate being filled: its node and the elements it announced. */
struct resp_reader_frame {
	struct resp_reader_value *v;
	size_t want, cap;
};

struct resp_reader {
	struct resp_reader_limits lim;
	/* The value being decoded (resp_reader_parse). */
	struct resp_reader_value *root;
	struct resp_reader_frame stack[RESP_READER_DEPTH_MAX];
	unsigned depth;
	size_t pos;        /* next byte, from the value's first byte */
	size_t scan;       /* where the search for a line's end resumes */
	uint8_t body_type; /* a bulk's type byte while its body is awaited, or 0 */
	size_t body_len;
	const char *err; /* why, after RESP_READER_ERR */
	/* The buffer of feed/next. */
	char *buf;
	size_t start, len, cap;
};

/* Limits for a client of a cairn or Redis server (generous). */
void resp_reader_limits_default(struct resp_reader_limits *lim);
/* lim may be NULL for the defaults. */
void resp_reader_init(struct resp_reader *rd, const struct resp_reader_limits *lim);
/* Frees the buffer and any partial value. */
void resp_reader_free(struct resp_reader *rd);
/* Forgets buffered bytes, any partial value and a sticky error. */
void resp_reader_reset(struct resp_reader *rd);

/* Decodes one value from buf[0, len), where buf is the value's first byte.
 * On RESP_READER_OK, *out is the value (the caller frees it) and *used the
 * bytes it took; the next value starts there, with the next call. */
enum resp_reader_status resp_reader_parse(struct resp_reader *rd, const char *buf, size_t len,
					  struct resp_reader_value **out, size_t *used);

/* Appends n received bytes. */
void resp_reader_feed(struct resp_reader *rd, const char *p, size_t n);
/* The next complete value of what was fed, or NEED_MORE, or ERR. */
enum resp_reader_status resp_reader_next(struct resp_reader *rd, struct resp_reader_value **out);
/* Bytes fed but not yet returned as part of a value. */
size_t resp_reader_pending(const struct resp_reader *rd);

void resp_reader_value_free(struct resp_reader_value *v);
/* Deep equality (a double compares by value, NaN equal to NaN). */
bool resp_reader_value_eq(const struct resp_reader_value *a, const struct resp_reader_value *b);
/* A one-line rendering for messages ("[1, \"a\", {\"k\": nil}]"), cut to
 * fit cap (at least 1). Returns its length. */
size_t resp_reader_format(const struct resp_reader_value *v, char *buf, size_t cap);
/* The type's name ("bulk", "map", ...). */
const char *resp_reader_type_name(enum resp_reader_type t);

#endif
