/* fuzz_resp.c: fuzz target for the RESP request parser (node/proto/resp.c).
 *
 * Goal: resp_parse(), resp_bigbulk_done(), resp_split_inline() and
 * resp_error_text() give, for any bytes cut into any reads, the answers of a
 * separate reference parser written from Redis 7.0's rules (fuzz/ref_resp.c):
 * the same commands with the same arguments at the same offsets, the same
 * inline words, the same "need more" at the same points, the same protocol
 * error at the same byte offset with the same text; and never read a byte
 * past what they were given.
 *
 * Method: the input is a small header, then the stream (see below).
 * resp_drive.c feeds the stream as conn.c does: a growing request buffer
 * copied afresh, exactly sized, for every call (so ASan, or a guard page,
 * catches any over-read), RESP_NEED_ARGS answered by growing the argument
 * array, big bulks' payloads taken outside, inline lines split. After each
 * call it compares the parser with the reference on the same bytes.
 *
 * Input: byte 0 holds flags: bit 0 authentication required at the start,
 * bit 1 flip it after every request, bits 2-5 proto-max-bulk-len from a table
 * of edge values, bit 6 expand the stream, bit 7 grow the argument array by
 * doubling from 4 (else by one from 1). Byte 1 is the number of cuts (mod
 * 33), then one byte per cut: the sizes of the reads, cycled
 * (resp_drive_cut). The rest is the stream. When expanding, 0xFE c n16
 * stands for n16+1 copies of byte c, so that a short input reaches the
 * 64 KB line limits; the stream is capped at FUZZ_RESP_STREAM_MAX. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "resp_drive.h"

#define FUZZ_RESP_STREAM_MAX (256 * 1024)
#define FUZZ_RESP_CUTS_MAX 32
/* Parse calls, and request bytes copied, per input before the rest of the
 * stream arrives at once: they bound the quadratic cost of copying the
 * request for every call. */
#define FUZZ_RESP_CALLS_MAX 2048
#define FUZZ_RESP_BYTES_MAX (4 * 1024 * 1024)
#define FUZZ_RESP_ESCAPE 0xfe

/* proto-max-bulk-len values around every edge the parser knows. */
static const int64_t fuzz_resp_bulk_max[16] = {
	536870912, 1,     2,     10,    16383,   16384,        16385,  32766,
	32767,     32768, 32769, 65536, 1048576, 4294967280LL, 100000, INT64_MAX,
};

/* Copies the stream, expanding escapes if asked. Returns its length. */
static size_t fuzz_resp_stream(struct fuzz_in *in, bool expand, char *out)
{
	size_t n = 0;

	while (!fuzz_in_empty(in) && n < FUZZ_RESP_STREAM_MAX) {
		uint8_t b = fuzz_u8(in);
		if (expand && b == FUZZ_RESP_ESCAPE && fuzz_in_left(in) >= 3) {
			uint8_t c = fuzz_u8(in);
			size_t k = (size_t)fuzz_u16(in) + 1;
			if (k > FUZZ_RESP_STREAM_MAX - n)
				k = FUZZ_RESP_STREAM_MAX - n;
			memset(out + n, c, k);
			n += k;
		} else {
			out[n++] = (char)b;
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser never sees this buffer (resp_drive copies each request
	 * exactly), so one static buffer serves every input. */
	static char stream[FUZZ_RESP_STREAM_MAX];
	struct resp_drive_cfg cfg;
	struct fuzz_in in;
	const uint8_t *cuts;
	uint8_t flags;
	size_t n;

	fuzz_in_init(&in, data, size);
	flags = fuzz_u8(&in);
	memset(&cfg, 0, sizeof(cfg));
	cfg.auth_required = flags & 1;
	cfg.auth_toggle = (flags >> 1) & 1;
	cfg.bulk_max = fuzz_resp_bulk_max[(flags >> 2) & 15];
	cfg.args_double = (flags >> 7) & 1;
	cfg.args_start = cfg.args_double ? 4 : 1;
	cfg.ncuts = fuzz_bytes(&in, fuzz_u8(&in) % (FUZZ_RESP_CUTS_MAX + 1), &cuts);
	cfg.cuts = cuts;
	cfg.calls_max = FUZZ_RESP_CALLS_MAX;
	cfg.bytes_max = FUZZ_RESP_BYTES_MAX;
	n = fuzz_resp_stream(&in, (flags >> 6) & 1, stream);
	resp_drive_run(&cfg, stream, n);
	return 0;
}
