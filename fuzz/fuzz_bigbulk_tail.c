/* fuzz_bigbulk_tail.c: fuzz target for the bigbulk tail rule
 * (resp_bigbulk_tail() in node/proto/resp.c, with the parser state it reads).
 *
 * Goal: the reservation conn.c makes for a big body is what the node
 * promises (conn.c, resp.h): it reserves only when the request really waits for a bulk of
 * that length, as the reference parser's own state says; never for an
 * inline command, never for bytes inside a payload (however much they look
 * like a "$<N>\r\n" header), never before authentication, never past
 * proto-max-bulk-len (which the input may pick small), and never more than
 * the body needs (length + 2). Conversely, whenever the parser stops at a big
 * bulk header, it does reserve (conn.c relies on it).
 *
 * Method: a stream built from tokens (count lines, bulk headers with lengths
 * at every edge, payload bytes that contain fake headers, inline lines that
 * mention "$<N>", raw bytes) is fed by resp_drive.c exactly as fuzz_resp
 * feeds it, with every parser answer checked against the reference; after
 * each call, the hook checks the tail rule against the reference's state for
 * the same bytes.
 *
 * Input: byte 0 holds flags: bit 0 authentication required at the start,
 * bit 1 flip it after every request, bits 2-5 proto-max-bulk-len from a
 * table, bit 6 grow arguments by doubling, bit 7 raw mode (the stream is
 * the rest of the input as is). Byte 1 is the number of cuts (mod 33), then
 * the cuts (resp_drive_cut); then the tokens, one byte of kind and its
 * operands each. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "fuzz_util.h"
#include "resp_drive.h"

#define TAIL_STREAM_MAX (128 * 1024)
#define TAIL_CUTS_MAX 32
#define TAIL_CALLS_MAX 2048
#define TAIL_BYTES_MAX (4 * 1024 * 1024)

static const int64_t tail_bulk_max[16] = {
	536870912, 1,     16384,   32767,  32768,        32769, 32770, 40000,
	65535,     65536, 1048576, 100000, 4294967280LL, 16383, 50,    INT64_MAX,
};

struct tail_stream {
	char *p;
	size_t n;
	int64_t bulk_max;
};

static void tail_put(struct tail_stream *s, const char *p, size_t n)
{
	if (n > TAIL_STREAM_MAX - s->n)
		n = TAIL_STREAM_MAX - s->n;
	memcpy(s->p + s->n, p, n);
	s->n += n;
}

static void tail_putf(struct tail_stream *s, const char *prefix, long long v)
{
	char buf[48];
	int k = snprintf(buf, sizeof(buf), "%s%lld\r\n", prefix, v);

	ASSERT(k > 0);
	ASSERT((size_t)k < sizeof(buf));
	tail_put(s, buf, (size_t)k);
}

/* A bulk length near one of the edges that matter to the tail rule. */
static long long tail_length(struct tail_stream *s, struct fuzz_in *in)
{
	uint8_t k = fuzz_u8(in);
	long long edges[] = { PROTO_BIGBULK_MIN,
			      PROTO_BIGBULK_MIN - 1,
			      PROTO_UNAUTH_BULK_MAX,
			      s->bulk_max,
			      0,
			      65536 };
	long long base = edges[(k >> 4) % (sizeof(edges) / sizeof(edges[0]))];

	/* Low bits: an offset of -3..+4 from the edge, or a raw length. */
	if ((k & 15) < 8)
		return base > INT64_MAX - 4 ? base - (k & 7) : base + (k & 7) - 3;
	return (long long)fuzz_u32(in);
}

/* Bytes of a payload: filler, or fake headers that a scan of the tail
 * could mistake for a real one. */
static void tail_payload(struct tail_stream *s, struct fuzz_in *in)
{
	size_t n = fuzz_u8(in), i;
	uint8_t how = fuzz_u8(in);

	for (i = 0; i < n && s->n < TAIL_STREAM_MAX; i++) {
		if (how & 1)
			tail_putf(s, "$", PROTO_BIGBULK_MIN + (long long)(how >> 1));
		else
			tail_put(s, (const char *)&how, 1);
	}
}

static void tail_token(struct tail_stream *s, struct fuzz_in *in)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	static const char set[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n";
	const uint8_t *raw;
	size_t n;

	switch (fuzz_u8(in) % 9) {
	case 0: tail_putf(s, "*", (long long)(int8_t)fuzz_u8(in)); break;
	case 1: tail_putf(s, "$", tail_length(s, in)); break;
	case 2: tail_payload(s, in); break;
	case 3:
		n = fuzz_bytes(in, fuzz_u8(in) % 32, &raw);
		tail_put(s, (const char *)raw, n);
		break;
	case 4: tail_put(s, ping, sizeof(ping) - 1); break;
	case 5:
		tail_put(s, set, sizeof(set) - 1);
		tail_putf(s, "$", tail_length(s, in));
		break;
	case 6:
		/* An inline command whose words look like a big header. */
		tail_put(s, "SET k ", 6);
		tail_putf(s, "$", tail_length(s, in));
		break;
	case 7: tail_put(s, "\r\n", 2); break;
	default: tail_put(s, "\r", 1); break;
	}
}

/* The rule itself, checked after every parser call. */
static void tail_hook(struct resp_drive *d, enum resp_status st, const char *buf, size_t len,
		      const struct ref_result *ref)
{
	size_t tail = resp_bigbulk_tail(&d->p);

	(void)st;
	if (ref->st == RESP_BIGBULK) {
		/* The parser waits for a big body: it must say how big. */
		FUZZ_CHECK(tail == (size_t)ref->bulk + 2, "tail %zu for a bulk of %lld", tail,
			   ref->bulk);
	}
	if (tail == 0)
		return;
	FUZZ_CHECK(ref->st == RESP_BIGBULK && ref->at == REF_AT_BIGBULK,
		   "tail %zu while the reference is at %d (status %d)", tail, ref->at, ref->st);
	FUZZ_CHECK(len > 0 && buf[0] == '*', "tail %zu for an inline request", tail);
	FUZZ_CHECK(!d->p.auth_required, "tail %zu before authentication", tail);
	FUZZ_CHECK(ref->bulk >= PROTO_BIGBULK_MIN && ref->bulk <= d->cfg->bulk_max,
		   "tail %zu: bulk %lld outside [%d, %" PRId64 "]", tail, ref->bulk,
		   PROTO_BIGBULK_MIN, d->cfg->bulk_max);
	FUZZ_CHECK(tail <= (size_t)ref->bulk + 2, "tail %zu exceeds the body (%lld + 2)", tail,
		   ref->bulk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_drive_cfg cfg;
	struct tail_stream s;
	struct fuzz_in in;
	const uint8_t *cuts;
	uint8_t flags;

	fuzz_in_init(&in, data, size);
	flags = fuzz_u8(&in);
	memset(&cfg, 0, sizeof(cfg));
	cfg.auth_required = flags & 1;
	cfg.auth_toggle = (flags >> 1) & 1;
	cfg.bulk_max = tail_bulk_max[(flags >> 2) & 15];
	cfg.args_double = (flags >> 6) & 1;
	cfg.args_start = 1;
	cfg.ncuts = fuzz_bytes(&in, fuzz_u8(&in) % (TAIL_CUTS_MAX + 1), &cuts);
	cfg.cuts = cuts;
	cfg.calls_max = TAIL_CALLS_MAX;
	cfg.bytes_max = TAIL_BYTES_MAX;
	cfg.hook = tail_hook;
	s.p = malloc(TAIL_STREAM_MAX);
	s.n = 0;
	s.bulk_max = cfg.bulk_max;
	if (s.p == NULL)
		abort();
	if (flags & 0x80) {
		const uint8_t *raw;
		size_t n = fuzz_bytes(&in, TAIL_STREAM_MAX, &raw);
		tail_put(&s, (const char *)raw, n);
	}
	while (!fuzz_in_empty(&in) && s.n < TAIL_STREAM_MAX)
		tail_token(&s, &in);
	resp_drive_run(&cfg, s.p, s.n);
	free(s.p);
	return 0;
}
