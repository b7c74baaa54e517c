/* resp_drive.h: feeds a byte stream to node/proto/resp.c the way node/shard/conn.c does,
 * checking every answer against the reference parser (ref_resp.h).
 *
 * The stream is the parser's view of a connection's input: a big bulk's
 * payload is not in it (conn.c receives the payload into a value buffer of
 * its own, outside the request buffer), so when the parser stops with
 * RESP_BIGBULK the driver takes the payload as received and calls
 * resp_bigbulk_done(). The stream arrives in pieces whose sizes the caller
 * gives (cycled); each call sees the request's bytes from its first byte to
 * the end of what has arrived, in a fresh exactly-sized copy (fuzz_exact),
 * as conn.c's request buffer grows. RESP_NEED_ARGS grows the argument array
 * (by one, or doubling, as the caller picks); RESP_INLINE lines are split
 * with resp_split_inline() into a word buffer of exactly the line's size. A
 * protocol error ends the stream, as it closes the connection. */
#ifndef CAIRN_FUZZ_RESP_DRIVE_H
#define CAIRN_FUZZ_RESP_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "proto/resp.h"
#include "ref_resp.h"

struct resp_drive;

/* Called after every resp_parse() call but those that return
 * RESP_NEED_ARGS, with its status, the buffer it saw and the reference's
 * answer for the same buffer, once the driver has checked that they agree.
 * A call that returns RESP_NEED_MORE or RESP_BIGBULK is where conn.c stops
 * and looks at the tail of what it received. */
typedef void (*resp_drive_hook)(struct resp_drive *d, enum resp_status st, const char *buf,
				size_t len, const struct ref_result *ref);

struct resp_drive_cfg {
	int64_t bulk_max;
	bool auth_required;  /* for the first request */
	bool auth_toggle;    /* flip auth_required after each request */
	bool args_double;    /* grow the argument array by doubling, else by one */
	size_t args_start;   /* initial room for arguments (at least 1) */
	const uint8_t *cuts; /* piece sizes, cycled (see resp_drive_cut) */
	size_t ncuts;
	/* Past this many parse calls, or this many request bytes handed to
	 * the parser in all (each call copies the request so far, so a
	 * trickled big request costs its square), the rest arrives whole. */
	unsigned calls_max;
	size_t bytes_max;
	resp_drive_hook hook;
	void *arg;
};

struct resp_drive {
	const struct resp_drive_cfg *cfg;
	struct resp_parser p;
	struct ref_limits lim;
	struct resp_arg *args;
	size_t cap;
	unsigned calls;
	size_t bytes;                  /* request bytes handed to the parser so far */
	struct fuzz_exact *buf, *line; /* the parser's and the splitter's input */
	struct ref_result ref;
	struct ref_words words;
	/* Counters, for the hook and for the caller's checks. */
	uint64_t requests, inlines, empties, bigbulks, errors;
};

/* Size of a piece from a cut byte: 0-239 as is, then 4 KB steps to 64 KB. */
size_t resp_drive_cut(uint8_t b);
/* Runs the whole stream; returns the status it ended on (RESP_NEED_MORE
 * when the stream simply ran out, or the protocol error). */
enum resp_status resp_drive_run(const struct resp_drive_cfg *cfg, const char *s, size_t n);

#endif
