/* test_resp.c: unit tests of the RESP2 request parser (node/proto/resp.c).
 *
 * Goal: resp_parse() and resp_split_inline() accept, refuse and split
 * requests exactly as Redis 7.0's processMultibulkBuffer, processInlineBuffer
 * and sdssplitargs do (checked on the wire against redis-server 7.0.15), never read a byte past the end of the
 * input, report each limit at its edge, and give the same result however the
 * input is cut into reads.
 *
 * Method: a table of frames, each with the status Redis reaches, the number of
 * bytes at which it decides, and the exact offsets of its arguments. Every
 * frame is parsed (1) from every prefix with a fresh parser, (2) byte by byte
 * with one parser over a growing buffer, and (3) in two pieces split at every
 * byte. Every input is first copied so that its last byte is the last
 * readable byte before a PROT_NONE guard page, so an over-read faults; the
 * copy moves as the input grows, which the parser allows (it keeps offsets).
 * Limits are checked at their edge with generated frames. resp_split_inline()
 * is checked against a table and, exhaustively over a small alphabet, against
 * a reference written from sdssplitargs' rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/limits.h"
#include "proto/resp.h"

#define BULK_MAX 536870912LL
#define ARGS_MAX 16

/* ---- guard page ---- */

/* A readable region whose end touches a PROT_NONE page. */
struct guard {
	char *base;
	size_t size; /* readable bytes */
	size_t map;  /* mapped bytes, guard included */
};

static struct guard g_small; /* two pages: one readable, one guard */
static struct guard g_big;   /* room for the 64 KB limit frames */

static void guard_init(struct guard *g, size_t min)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (min + page - 1) / page * page;

	g->map = size + page;
	g->base = mmap(NULL, g->map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + size, page, PROT_NONE), 0);
	g->size = size;
}

static void guard_fini(struct guard *g)
{
	munmap(g->base, g->map);
	memset(g, 0, sizeof(*g));
}

/* Copies src[0,len) so that its last byte is the last readable one. */
static const char *guard_place(struct guard *g, const char *src, size_t len)
{
	char *dst;

	assert_true(len <= g->size);
	dst = g->base + g->size - len;
	memmove(dst, src, len);
	return dst;
}

static struct guard *guard_for(size_t len)
{
	return len <= g_small.size ? &g_small : &g_big;
}

static int setup(void **state)
{
	(void)state;
	guard_init(&g_small, 1);
	guard_init(&g_big, 3 * PROTO_INLINE_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	guard_fini(&g_small);
	guard_fini(&g_big);
	return 0;
}

/* The guard must really fault, or every guard test proves nothing. */
static void test_guard_page_faults(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile const char *p = g_small.base + g_small.size;
		FILE *devnull = freopen("/dev/null", "w", stderr);
		/* cmocka catches SIGSEGV to report a failing test; the child
		 * must die of it instead. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		(void)devnull;
		_exit(p[0] == 0x7f ? 3 : 0); /* must not get here */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3));
}

/* ---- frames ---- */

struct frame {
	const char *name;
	const char *bytes;
	size_t len;
	bool auth;
	enum resp_status st; /* returned from `decide` bytes on */
	size_t decide;       /* 0: len */
	size_t pos;
	size_t line_len; /* RESP_INLINE */
	char bad;        /* RESP_ERR_EXPECTED_DOLLAR */
	int64_t bulk;    /* RESP_BIGBULK */
	size_t nargs;    /* RESP_DONE, RESP_BIGBULK: args parsed */
	struct resp_arg args[ARGS_MAX];
};

#define B(s) .bytes = (s), .len = sizeof(s) - 1

static const struct frame frames[] = {
	/* Complete multibulk requests. */
	{ "ping", B("*1\r\n$4\r\nPING\r\n"), .st = RESP_DONE, .pos = 14, .nargs = 1,
	  .args = { { 8, 4 } } },
	{ "set", B("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"), .st = RESP_DONE, .pos = 33,
	  .nargs = 3, .args = { { 8, 3 }, { 17, 3 }, { 26, 5 } } },
	{ "empty bulk", B("*2\r\n$3\r\nGET\r\n$0\r\n\r\n"), .st = RESP_DONE, .pos = 19, .nargs = 2,
	  .args = { { 8, 3 }, { 17, 0 } } },
	{ "zero-length args", B("*3\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n"), .st = RESP_DONE, .pos = 22,
	  .nargs = 3, .args = { { 8, 0 }, { 14, 0 }, { 20, 0 } } },
	{ "trailer unchecked", B("*1\r\n$4\r\nPINGxx"), .st = RESP_DONE, .pos = 14, .nargs = 1,
	  .args = { { 8, 4 } } },
	{ "trailer unchecked, short", B("*1\r\n$1\r\naXY"), .st = RESP_DONE, .pos = 11, .nargs = 1,
	  .args = { { 8, 1 } } },
	{ "empty bulk, trailer unchecked", B("*1\r\n$0\r\nxx"), .st = RESP_DONE, .pos = 10,
	  .nargs = 1, .args = { { 8, 0 } } },
	{ "payload holds CRLF and *", B("*2\r\n$4\r\na\r\nb\r\n$1\r\n*\r\n"), .st = RESP_DONE,
	  .pos = 21, .nargs = 2, .args = { { 8, 4 }, { 18, 1 } } },
	{ "payload is CR", B("*1\r\n$1\r\n\r\r\n"), .st = RESP_DONE, .pos = 11, .nargs = 1,
	  .args = { { 8, 1 } } },
	{ "byte after CR unchecked", B("*1\rX$4\rXPING\r\n"), .st = RESP_DONE, .pos = 14,
	  .nargs = 1, .args = { { 8, 4 } } },
	{ "NUL in payload", B("*1\r\n$3\r\na\0b\r\n"), .st = RESP_DONE, .pos = 13, .nargs = 1,
	  .args = { { 8, 3 } } },
	{ "pipelined", B("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"), .st = RESP_DONE, .decide = 14,
	  .pos = 14, .nargs = 1, .args = { { 8, 4 } } },
	{ "bigbulk header inside payload", B("*2\r\n$10\r\n$40000\r\nab\r\n$2\r\nok\r\n"),
	  .st = RESP_DONE, .pos = 29, .nargs = 2, .args = { { 9, 10 }, { 25, 2 } } },
	{ "unauth count 10",
	  B("*10\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
	    "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"),
	  .auth = true, .st = RESP_DONE, .pos = 75, .nargs = 10,
	  .args = { { 9, 1 },
		    { 16, 1 },
		    { 23, 1 },
		    { 30, 1 },
		    { 37, 1 },
		    { 44, 1 },
		    { 51, 1 },
		    { 58, 1 },
		    { 65, 1 },
		    { 72, 1 } } },
	/* Counts of 0 or less. */
	{ "*0", B("*0\r\n"), .st = RESP_EMPTY, .pos = 4 },
	{ "*-1", B("*-1\r\n"), .st = RESP_EMPTY, .pos = 5 },
	{ "*-1 unauth", B("*-1\r\n"), .auth = true, .st = RESP_EMPTY, .pos = 5 },
	{ "*-5 byte after CR unchecked", B("*-5\rX"), .st = RESP_EMPTY, .pos = 5 },
	{ "count LLONG_MIN (20 chars)", B("*-9223372036854775808\r\n"), .st = RESP_EMPTY,
	  .pos = 23 },
	{ "count -10^18 (20 chars)", B("*-1000000000000000000\r\n"), .st = RESP_EMPTY, .pos = 23 },
	{ "*0 then more", B("*0\r\n*1\r\n$4\r\nPING\r\n"), .st = RESP_EMPTY, .decide = 4,
	  .pos = 4 },
	/* Inline. */
	{ "inline CRLF", B("PING\r\n"), .st = RESP_INLINE, .pos = 6, .line_len = 4 },
	{ "inline LF", B("PING\n"), .st = RESP_INLINE, .pos = 5, .line_len = 4 },
	{ "inline empty LF", B("\n"), .st = RESP_INLINE, .pos = 1, .line_len = 0 },
	{ "inline empty CRLF", B("\r\n"), .st = RESP_INLINE, .pos = 2, .line_len = 0 },
	{ "inline inner CR", B("a\rb\n"), .st = RESP_INLINE, .pos = 4, .line_len = 3 },
	{ "inline CR CR LF", B("\r\r\n"), .st = RESP_INLINE, .pos = 3, .line_len = 1 },
	{ "inline RESP3 type", B("%1\r\n"), .st = RESP_INLINE, .pos = 4, .line_len = 2 },
	{ "inline starting with $", B("$3\r\nfoo\r\n"), .st = RESP_INLINE, .decide = 4, .pos = 4,
	  .line_len = 2 },
	{ "inline leading space", B(" *1\r\n"), .st = RESP_INLINE, .pos = 5, .line_len = 3 },
	{ "inline bigbulk look-alike", B("GET $40000\r\n"), .st = RESP_INLINE, .pos = 12,
	  .line_len = 10 },
	{ "inline quotes", B("set k \"v w\"\r\n"), .st = RESP_INLINE, .pos = 13, .line_len = 11 },
	{ "inline NUL is a byte", B("a\0b\n"), .st = RESP_INLINE, .pos = 4, .line_len = 3 },
	{ "inline pipelined", B("PING\r\nPING\r\n"), .st = RESP_INLINE, .decide = 6, .pos = 6,
	  .line_len = 4 },
	/* Big bulk headers. */
	{ "bigbulk at bulk max", B("*1\r\n$536870912\r\n"), .st = RESP_BIGBULK, .pos = 16,
	  .bulk = 536870912 },
	{ "bigbulk at PROTO_BIGBULK_MIN", B("*2\r\n$3\r\nSET\r\n$32768\r\n"), .st = RESP_BIGBULK,
	  .pos = 21, .bulk = 32768, .nargs = 1, .args = { { 8, 3 } } },
	{ "bigbulk, payload follows", B("*1\r\n$32768\r\nxxxx"), .st = RESP_BIGBULK, .decide = 12,
	  .pos = 12, .bulk = 32768 },
	/* Invalid counts. */
	{ "count +1", B("*+1\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count space", B("* 1\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count trailing space", B("*1 \r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count 01", B("*01\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count 00", B("*00\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count -0", B("*-0\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count -", B("*-\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count empty", B("*\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count junk", B("*1x\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count hex", B("*0x1\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count INT_MAX+1", B("*2147483648\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count INT_MAX+1 then more", B("*2147483648\r\nxyz"), .st = RESP_ERR_MBULK_INVALID,
	  .decide = 13 },
	{ "count INT_MAX+1 unauth", B("*2147483648\r\n"), .auth = true,
	  .st = RESP_ERR_MBULK_INVALID },
	{ "count LLONG_MAX", B("*9223372036854775807\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count LLONG_MIN-1", B("*-9223372036854775809\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count 21 chars", B("*-10000000000000000000\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count ULLONG_MAX+1", B("*18446744073709551616\r\n"), .st = RESP_ERR_MBULK_INVALID },
	{ "count unauth 11", B("*11\r\n"), .auth = true, .st = RESP_ERR_MBULK_UNAUTH },
	{ "count unauth INT_MAX", B("*2147483647\r\n"), .auth = true, .st = RESP_ERR_MBULK_UNAUTH },
	/* Invalid bulk lengths. */
	{ "bulk +1", B("*1\r\n$+1\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk space", B("*1\r\n$ 1\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk 01", B("*1\r\n$01\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk -0", B("*1\r\n$-0\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk -1", B("*1\r\n$-1\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk empty", B("*1\r\n$\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk junk", B("*1\r\n$1x\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk max+1", B("*1\r\n$536870913\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk max+1 unauth", B("*1\r\n$536870913\r\n"), .auth = true,
	  .st = RESP_ERR_BULK_INVALID },
	{ "bulk LLONG_MAX+1", B("*1\r\n$9223372036854775808\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk LLONG_MIN", B("*1\r\n$-9223372036854775808\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "second bulk -1", B("*2\r\n$1\r\na\r\n$-1\r\n"), .st = RESP_ERR_BULK_INVALID },
	{ "bulk unauth 16385", B("*1\r\n$16385\r\n"), .auth = true, .st = RESP_ERR_BULK_UNAUTH },
	{ "bulk unauth bigbulk", B("*1\r\n$32768\r\n"), .auth = true, .st = RESP_ERR_BULK_UNAUTH },
	/* Expected '$'. */
	{ "expected $ x", B("*1\r\nx\r\n"), .st = RESP_ERR_EXPECTED_DOLLAR, .bad = 'x' },
	{ "expected $ CR", B("*1\r\n\r\n"), .st = RESP_ERR_EXPECTED_DOLLAR, .bad = '\r' },
	{ "expected $ LF", B("*1\r\n\n\r\n"), .st = RESP_ERR_EXPECTED_DOLLAR, .bad = '\n' },
	{ "expected $ colon", B("*2\r\n$1\r\na\r\n:1\r\n"), .st = RESP_ERR_EXPECTED_DOLLAR,
	  .bad = ':' },
	{ "expected $ star", B("*1\r\n*1\r\n"), .st = RESP_ERR_EXPECTED_DOLLAR, .bad = '*' },
	{ "expected $ byte after CR", B("*1\r\nx\rZ"), .st = RESP_ERR_EXPECTED_DOLLAR, .bad = 'x' },
};

#define NFRAMES (sizeof(frames) / sizeof(frames[0]))

static size_t frame_decide(const struct frame *f)
{
	return f->decide ? f->decide : f->len;
}

/* Checks what the parser reports after returning st for frame f. */
static void check_outcome(const struct frame *f, const struct resp_parser *p, enum resp_status st,
			  const struct resp_arg *args)
{
	size_t i;

	if (st != f->st)
		fail_msg("%s: status %d, want %d", f->name, (int)st, (int)f->st);
	if (st == RESP_BIGBULK)
		assert_int_equal(resp_bigbulk_tail(p), (size_t)f->bulk + 2);
	else
		assert_int_equal(resp_bigbulk_tail(p), 0);
	switch (st) {
	case RESP_DONE:
	case RESP_BIGBULK:
		assert_int_equal(p->pos, f->pos);
		assert_int_equal(p->nargs, f->nargs);
		for (i = 0; i < f->nargs; i++) {
			if (args[i].off != f->args[i].off || args[i].len != f->args[i].len)
				fail_msg("%s: arg %zu is {%zu,%zu}, want {%zu,%zu}", f->name, i,
					 args[i].off, args[i].len, f->args[i].off, f->args[i].len);
		}
		if (st == RESP_BIGBULK)
			assert_int_equal(p->bulk, f->bulk);
		break;
	case RESP_INLINE:
		assert_int_equal(p->pos, f->pos);
		assert_int_equal(p->line_len, f->line_len);
		break;
	case RESP_EMPTY: assert_int_equal(p->pos, f->pos); break;
	case RESP_ERR_EXPECTED_DOLLAR: assert_int_equal(p->bad_char, f->bad); break;
	default: break;
	}
}

/* Expected status for the first k bytes of f. */
static enum resp_status prefix_status(const struct frame *f, size_t k)
{
	return k < frame_decide(f) ? RESP_NEED_MORE : f->st;
}

static void expect_status(const struct frame *f, size_t k, enum resp_status st)
{
	if (st != prefix_status(f, k))
		fail_msg("%s: %zu bytes give status %d, want %d", f->name, k, (int)st,
			 (int)prefix_status(f, k));
}

/* (1) Every prefix with a fresh parser, at the guard page. */
static void test_frames_every_prefix(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < NFRAMES; i++) {
		const struct frame *f = &frames[i];
		for (k = 0; k <= f->len; k++) {
			struct resp_parser p;
			struct resp_arg args[ARGS_MAX];
			const char *buf = guard_place(&g_small, f->bytes, k);
			enum resp_status st;

			resp_init(&p, BULK_MAX, f->auth);
			st = resp_parse(&p, buf, k, args, ARGS_MAX);
			expect_status(f, k, st);
			if (st == RESP_NEED_MORE)
				assert_int_equal(resp_bigbulk_tail(&p), 0);
			else
				check_outcome(f, &p, st, args);
		}
	}
}

/* (2) Byte by byte: one parser, a buffer that grows by one byte per call
 * and moves each time (the parser keeps offsets only). */
static void test_frames_byte_by_byte(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < NFRAMES; i++) {
		const struct frame *f = &frames[i];
		struct resp_parser p;
		struct resp_arg args[ARGS_MAX];
		enum resp_status st = RESP_NEED_MORE;

		resp_init(&p, BULK_MAX, f->auth);
		for (k = 0; k <= f->len; k++) {
			const char *buf = guard_place(&g_small, f->bytes, k);
			st = resp_parse(&p, buf, k, args, ARGS_MAX);
			expect_status(f, k, st);
			if (st != RESP_NEED_MORE)
				break;
			assert_int_equal(resp_bigbulk_tail(&p), 0);
		}
		assert_int_equal(k, frame_decide(f));
		check_outcome(f, &p, st, args);
	}
}

/* (3) Two pieces, split at every byte. */
static void test_frames_two_pieces(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < NFRAMES; i++) {
		const struct frame *f = &frames[i];
		for (k = 0; k <= f->len; k++) {
			struct resp_parser p;
			struct resp_arg args[ARGS_MAX];
			enum resp_status st;

			resp_init(&p, BULK_MAX, f->auth);
			st = resp_parse(&p, guard_place(&g_small, f->bytes, k), k, args, ARGS_MAX);
			expect_status(f, k, st);
			if (st == RESP_NEED_MORE) {
				const char *all = guard_place(&g_small, f->bytes, f->len);
				st = resp_parse(&p, all, f->len, args, ARGS_MAX);
				expect_status(f, f->len, st);
			}
			check_outcome(f, &p, st, args);
		}
	}
}

/* The same frames through a fixed buffer (the caller that appends in place),
 * where the parser must also resume its line search, not restart it. */
static void test_frames_fixed_buffer_resume(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < NFRAMES; i++) {
		const struct frame *f = &frames[i];
		struct resp_parser p;
		struct resp_arg args[ARGS_MAX];
		enum resp_status st = RESP_NEED_MORE;

		resp_init(&p, BULK_MAX, f->auth);
		for (k = 0; k <= f->len && st == RESP_NEED_MORE; k += 3) {
			st = resp_parse(&p, f->bytes, k, args, ARGS_MAX);
			expect_status(f, k, st);
		}
		if (st == RESP_NEED_MORE)
			st = resp_parse(&p, f->bytes, f->len, args, ARGS_MAX);
		check_outcome(f, &p, st, args);
	}
}

/* Pipelined requests, each parsed from where the previous one ended. */
static void test_pipeline_sequence(void **state)
{
	static const char in[] = "PING\r\n*1\r\n$4\r\nPING\r\n*0\r\nPING\n*-1\r\n"
				 "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\n";
	static const struct {
		enum resp_status st;
		size_t pos;
	} want[] = { { RESP_INLINE, 6 }, { RESP_DONE, 14 }, { RESP_EMPTY, 4 }, { RESP_INLINE, 5 },
		     { RESP_EMPTY, 5 },  { RESP_DONE, 20 }, { RESP_INLINE, 1 } };
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	size_t off = 0, i;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t n = sizeof(in) - 1 - off;
		enum resp_status st = resp_parse(&p, guard_place(&g_small, in + off, n), n, args,
						 ARGS_MAX);
		assert_int_equal(st, want[i].st);
		assert_int_equal(p.pos, want[i].pos);
		off += p.pos;
		resp_reset(&p);
	}
	assert_int_equal(off, sizeof(in) - 1);
	assert_int_equal(resp_parse(&p, in + off, 0, args, ARGS_MAX), RESP_NEED_MORE);
}

/* ---- limits at their edge ---- */

/* Parses buf[0,len) at the guard with a fresh parser. */
static enum resp_status parse_once(struct resp_parser *p, const char *src, size_t len, bool auth)
{
	static struct resp_arg args[ARGS_MAX];

	resp_init(p, BULK_MAX, auth);
	return resp_parse(p, guard_place(guard_for(len), src, len), len, args, ARGS_MAX);
}

/* The next prefix length to probe in a big frame: every length within 16
 * bytes of either end, strides in between. */
static size_t next_probe(size_t k, size_t total, size_t stride)
{
	if (k < 16 || k + 16 >= total)
		return k + 1;
	return k + stride < total - 16 ? k + stride : total - 16;
}

static char *filled(const char *head, char fill, size_t total)
{
	size_t h = strlen(head);
	char *s = malloc(total + 1);

	assert_non_null(s);
	assert_true(h <= total);
	memcpy(s, head, h);
	memset(s + h, fill, total - h);
	s[total] = '\0';
	return s;
}

static void test_limit_inline_line(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	char *s = filled("", 'a', PROTO_INLINE_MAX + 10);

	(void)state;
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX, false), RESP_NEED_MORE);
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX + 1, false), RESP_ERR_INLINE_TOO_BIG);
	/* Growing: 65536 bytes wait, the 65537th byte is refused. */
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX + 1, args, ARGS_MAX),
			 RESP_ERR_INLINE_TOO_BIG);
	/* The limit holds only while the line is unterminated. */
	s[PROTO_INLINE_MAX + 5] = '\r';
	s[PROTO_INLINE_MAX + 6] = '\n';
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX + 7, false), RESP_INLINE);
	assert_int_equal(p.line_len, PROTO_INLINE_MAX + 5);
	assert_int_equal(p.pos, PROTO_INLINE_MAX + 7);
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX + 7, args, ARGS_MAX), RESP_INLINE);
	assert_int_equal(p.line_len, PROTO_INLINE_MAX + 5);
	free(s);
}

static void test_limit_count_line(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	char *s = filled("*", '1', PROTO_INLINE_MAX + 10);

	(void)state;
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX, false), RESP_NEED_MORE);
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX + 1, false), RESP_ERR_MBULK_TOO_BIG);
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, PROTO_INLINE_MAX + 1, args, ARGS_MAX),
			 RESP_ERR_MBULK_TOO_BIG);
	/* A long count line that is terminated is just an invalid count. */
	s[PROTO_INLINE_MAX + 5] = '\r';
	s[PROTO_INLINE_MAX + 6] = '\n';
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX + 7, false), RESP_ERR_MBULK_INVALID);
	/* CR present but its next byte missing: still waiting, even past 64 KB. */
	assert_int_equal(parse_once(&p, s, PROTO_INLINE_MAX + 6, false), RESP_NEED_MORE);
	free(s);
}

static void test_limit_bulk_header(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	/* The header starts at offset 4; the limit counts from there. */
	char *s = filled("*1\r\n$", '1', 4 + PROTO_INLINE_MAX + 10);

	(void)state;
	assert_int_equal(parse_once(&p, s, 4 + PROTO_INLINE_MAX, false), RESP_NEED_MORE);
	assert_int_equal(parse_once(&p, s, 4 + PROTO_INLINE_MAX + 1, false), RESP_ERR_BULK_TOO_BIG);
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, 4 + PROTO_INLINE_MAX, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, 4 + PROTO_INLINE_MAX + 1, args, ARGS_MAX),
			 RESP_ERR_BULK_TOO_BIG);
	s[4 + PROTO_INLINE_MAX + 5] = '\r';
	s[4 + PROTO_INLINE_MAX + 6] = '\n';
	assert_int_equal(parse_once(&p, s, 4 + PROTO_INLINE_MAX + 7, false), RESP_ERR_BULK_INVALID);
	free(s);
}

/* The header of a later argument counts from its own start, not the
 * request's. */
static void test_limit_bulk_header_later_arg(void **state)
{
	struct resp_parser p;
	size_t head = strlen("*2\r\n$1\r\na\r\n$");
	char *s = filled("*2\r\n$1\r\na\r\n$", '1', head - 1 + PROTO_INLINE_MAX + 1);

	(void)state;
	assert_int_equal(parse_once(&p, s, head - 1 + PROTO_INLINE_MAX, false), RESP_NEED_MORE);
	assert_int_equal(p.nargs, 1);
	assert_int_equal(parse_once(&p, s, head - 1 + PROTO_INLINE_MAX + 1, false),
			 RESP_ERR_BULK_TOO_BIG);
	free(s);
}

static void test_limit_unauth_bulk(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	size_t n = PROTO_UNAUTH_BULK_MAX, total = 12 + n + 2, k;
	char *s = malloc(total);

	(void)state;
	assert_non_null(s);
	memcpy(s, "*1\r\n$16384\r\n", 12);
	memset(s + 12, 'v', n);
	memcpy(s + 12 + n, "\r\n", 2);
	assert_int_equal(parse_once(&p, s, total, true), RESP_DONE);
	assert_int_equal(p.nargs, 1);
	assert_int_equal(p.pos, total);
	/* Prefixes wait. */
	for (k = 0; k < total; k = next_probe(k, total, 997))
		assert_int_equal(parse_once(&p, s, k, true), RESP_NEED_MORE);
	/* In pieces through one parser. */
	resp_init(&p, BULK_MAX, true);
	for (k = 0; k < total; k += 1000)
		assert_int_equal(resp_parse(&p, s, k, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, total, args, ARGS_MAX), RESP_DONE);
	assert_int_equal(args[0].off, 12);
	assert_int_equal(args[0].len, n);
	free(s);
}

/* A payload just under the bigbulk size stays in the request buffer. */
static void test_limit_bigbulk_min_minus_one(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	size_t n = PROTO_BIGBULK_MIN - 1, total = 12 + n + 2, k;
	char *s = malloc(total);

	(void)state;
	assert_non_null(s);
	memcpy(s, "*1\r\n$32767\r\n", 12);
	memset(s + 12, 'v', n);
	memcpy(s + 12 + n, "\r\n", 2);
	resp_init(&p, BULK_MAX, false);
	for (k = 0; k < total; k = next_probe(k, total, 4093)) {
		assert_int_equal(resp_parse(&p, guard_place(&g_big, s, k), k, args, ARGS_MAX),
				 RESP_NEED_MORE);
		assert_int_equal(resp_bigbulk_tail(&p), 0);
	}
	assert_int_equal(resp_parse(&p, guard_place(&g_big, s, total), total, args, ARGS_MAX),
			 RESP_DONE);
	assert_int_equal(args[0].off, 12);
	assert_int_equal(args[0].len, n);
	assert_int_equal(resp_bigbulk_tail(&p), 0);
	free(s);
}

/* bulk_max is the parser's, not a constant: its edge moves with it. */
static void test_limit_bulk_max_configurable(void **state)
{
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	static const char ok[] = "*1\r\n$1048576\r\n", bad[] = "*1\r\n$1048577\r\n";

	(void)state;
	resp_init(&p, 1048576, false);
	assert_int_equal(resp_parse(&p, ok, sizeof(ok) - 1, args, ARGS_MAX), RESP_BIGBULK);
	assert_int_equal(resp_bigbulk_tail(&p), 1048578);
	resp_init(&p, 1048576, false);
	assert_int_equal(resp_parse(&p, bad, sizeof(bad) - 1, args, ARGS_MAX),
			 RESP_ERR_BULK_INVALID);
	assert_int_equal(resp_bigbulk_tail(&p), 0);
}

/* A count of INT_MAX is accepted (authenticated) and waits for its args. */
static void test_limit_count_int_max(void **state)
{
	static const char s[] = "*2147483647\r\n$1\r\na\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(p.argc, INT_MAX);
	assert_int_equal(p.nargs, 1);
	assert_int_equal(args[0].off, 17);
}

/* A trickled line costs linear time: each call resumes the search where
 * the previous one stopped. */
static void test_line_search_resumes(void **state)
{
	char *s = filled("*", '1', PROTO_INLINE_MAX);
	char *t = filled("", 'a', PROTO_INLINE_MAX);
	struct resp_parser p, q;
	struct resp_arg args[ARGS_MAX];
	size_t k;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	resp_init(&q, BULK_MAX, false);
	for (k = 1; k <= PROTO_INLINE_MAX; k++) {
		assert_int_equal(resp_parse(&p, s, k, args, ARGS_MAX), RESP_NEED_MORE);
		assert_int_equal(p.scan, k);
		assert_int_equal(resp_parse(&q, t, k, args, ARGS_MAX), RESP_NEED_MORE);
		assert_int_equal(q.scan, k);
	}
	free(s);
	free(t);
}

/* ---- NEED_ARGS ---- */

static void test_need_args_grow(void **state)
{
	static const char s[] = "*3\r\n$1\r\na\r\n$2\r\nbb\r\n$3\r\nccc\r\n";
	struct resp_parser p;
	struct resp_arg small[1], *args = small;
	struct resp_arg *big;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	/* No room at all: asked before the first header is read. */
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, 0), RESP_NEED_ARGS);
	assert_int_equal(p.nargs, 0);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, 1), RESP_NEED_ARGS);
	assert_int_equal(p.nargs, 1);
	assert_int_equal(p.pos, 11);
	/* Grow as the caller does: a bigger array keeps args[0, nargs). */
	big = malloc(2 * sizeof(*big));
	assert_non_null(big);
	memcpy(big, small, sizeof(small));
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, big, 2), RESP_NEED_ARGS);
	assert_int_equal(p.nargs, 2);
	big = realloc(big, 3 * sizeof(*big));
	assert_non_null(big);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, big, 3), RESP_DONE);
	assert_int_equal(p.nargs, 3);
	assert_int_equal(p.pos, sizeof(s) - 1);
	assert_int_equal(big[0].off, 8);
	assert_int_equal(big[0].len, 1);
	assert_int_equal(big[1].off, 15);
	assert_int_equal(big[1].len, 2);
	assert_int_equal(big[2].off, 23);
	assert_int_equal(big[2].len, 3);
	free(big);
}

/* A full array with no more bytes still reports NEED_ARGS first, and an
 * array exactly argc long never reports it. */
static void test_need_args_edges(void **state)
{
	static const char s[] = "*2\r\n$1\r\na\r\n$1\r\nb\r\n";
	struct resp_parser p;
	struct resp_arg args[2];

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, 11, args, 1), RESP_NEED_ARGS);
	assert_int_equal(resp_parse(&p, s, 11, args, 2), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, 2), RESP_DONE);
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, 2), RESP_DONE);
	assert_int_equal(args[1].off, 15);
}

/* ---- bigbulk ---- */

static void test_bigbulk_flow(void **state)
{
	/* SET k <32768 bytes> x: the caller strips the big payload and its
	 * two trailing bytes from the request buffer. */
	static const char head[] = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$32768\r\n";
	static const char after[] = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$32768\r\n$1\r\nx\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	size_t hl = sizeof(head) - 1;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, head, hl - 1, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_bigbulk_tail(&p), 0);
	assert_int_equal(resp_parse(&p, head, hl, args, ARGS_MAX), RESP_BIGBULK);
	assert_int_equal(p.pos, hl);
	assert_int_equal(p.bulk, PROTO_BIGBULK_MIN);
	assert_int_equal(resp_bigbulk_tail(&p), PROTO_BIGBULK_MIN + 2);
	/* Asking again changes nothing. */
	assert_int_equal(resp_parse(&p, head, hl, args, ARGS_MAX), RESP_BIGBULK);
	assert_int_equal(resp_bigbulk_tail(&p), PROTO_BIGBULK_MIN + 2);
	resp_bigbulk_done(&p, args, ARGS_MAX);
	assert_int_equal(resp_bigbulk_tail(&p), 0);
	assert_int_equal(p.nargs, 3);
	assert_int_equal(args[2].off, RESP_ARG_EXTERNAL);
	assert_int_equal(args[2].len, PROTO_BIGBULK_MIN);
	assert_int_equal(resp_parse(&p, after, hl, args, ARGS_MAX), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&p, after, sizeof(after) - 1, args, ARGS_MAX), RESP_DONE);
	assert_int_equal(p.nargs, 4);
	assert_int_equal(p.pos, sizeof(after) - 1);
	assert_int_equal(args[0].off, 8);
	assert_int_equal(args[1].off, 17);
	assert_int_equal(args[2].off, RESP_ARG_EXTERNAL);
	assert_int_equal(args[3].off, hl + 4);
	assert_int_equal(args[3].len, 1);
}

/* A big bulk as the last argument: done, then the request is complete. */
static void test_bigbulk_last(void **state)
{
	static const char s[] = "*1\r\n$40000\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, ARGS_MAX), RESP_BIGBULK);
	assert_int_equal(resp_bigbulk_tail(&p), 40002);
	resp_bigbulk_done(&p, args, ARGS_MAX);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, ARGS_MAX), RESP_DONE);
	assert_int_equal(p.nargs, 1);
	assert_int_equal(args[0].off, RESP_ARG_EXTERNAL);
	assert_int_equal(args[0].len, 40000);
	resp_reset(&p);
	assert_int_equal(resp_bigbulk_tail(&p), 0);
}

/* The tail rule in every state: only RESP_S_BIGBULK reserves, and exactly
 * len + 2. Walk a request through each state and check the tail. */
static void test_bigbulk_tail_states(void **state)
{
	static const char s[] = "*3\r\n$3\r\nSET\r\n$5\r\n$9999\r\n$32768\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	size_t k, total = sizeof(s) - 1;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_bigbulk_tail(&p), 0); /* start */
	for (k = 0; k < total; k++) {
		enum resp_status st = resp_parse(&p, s, k, args, ARGS_MAX);
		assert_int_equal(st, RESP_NEED_MORE);
		assert_int_equal(resp_bigbulk_tail(&p), 0);
		assert_true(p.state != RESP_S_BIGBULK);
	}
	assert_int_equal(resp_parse(&p, s, total, args, ARGS_MAX), RESP_BIGBULK);
	assert_int_equal(p.state, RESP_S_BIGBULK);
	assert_int_equal(resp_bigbulk_tail(&p), 32770);
	/* A payload that is itself a big header reserves nothing: the parser
	 * was in RESP_S_PAYLOAD while those bytes arrived (checked above). */
	assert_int_equal(args[1].len, 5);
	assert_memory_equal(s + args[1].off, "$9999", 5);
}

/* ---- error texts ---- */

static void check_error_text(const struct resp_parser *p, enum resp_status st, const char *want)
{
	char buf[128];
	size_t n;

	memset(buf, 0x55, sizeof(buf));
	n = resp_error_text(p, st, buf, sizeof(buf));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

static void test_error_texts(void **state)
{
	struct resp_parser p;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	check_error_text(&p, RESP_ERR_MBULK_INVALID, "Protocol error: invalid multibulk length");
	check_error_text(&p, RESP_ERR_MBULK_TOO_BIG, "Protocol error: too big mbulk count string");
	check_error_text(&p, RESP_ERR_MBULK_UNAUTH,
			 "Protocol error: unauthenticated multibulk length");
	check_error_text(&p, RESP_ERR_BULK_INVALID, "Protocol error: invalid bulk length");
	check_error_text(&p, RESP_ERR_BULK_TOO_BIG, "Protocol error: too big bulk count string");
	check_error_text(&p, RESP_ERR_BULK_UNAUTH, "Protocol error: unauthenticated bulk length");
	check_error_text(&p, RESP_ERR_INLINE_TOO_BIG, "Protocol error: too big inline request");
	check_error_text(&p, RESP_ERR_UNBALANCED, "Protocol error: unbalanced quotes in request");
}

static void test_error_text_expected_dollar(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "*1\r\nx\r\n", "Protocol error: expected '$', got 'x'" },
		{ "*1\r\n\r\n", "Protocol error: expected '$', got ' '" },
		{ "*1\r\n\n\r\n", "Protocol error: expected '$', got ' '" },
		{ "*2\r\n$1\r\na\r\n:1\r\n", "Protocol error: expected '$', got ':'" },
		{ "*1\r\n\"\r\n", "Protocol error: expected '$', got '\"'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp_parser p;
		assert_int_equal(parse_once(&p, cases[i].in, strlen(cases[i].in), false),
				 RESP_ERR_EXPECTED_DOLLAR);
		check_error_text(&p, RESP_ERR_EXPECTED_DOLLAR, cases[i].want);
	}
}

/* resp_reset forgets everything, so a parser can be reused. */
static void test_reset(void **state)
{
	static const char a[] = "*2\r\n$3\r\nGET\r\n$1\r\n";
	static const char b[] = "PING\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];

	(void)state;
	resp_init(&p, BULK_MAX, true);
	assert_int_equal(resp_parse(&p, a, sizeof(a) - 1, args, ARGS_MAX), RESP_NEED_MORE);
	resp_reset(&p);
	assert_int_equal(p.bulk_max, BULK_MAX);
	assert_true(p.auth_required);
	assert_int_equal(resp_parse(&p, b, sizeof(b) - 1, args, ARGS_MAX), RESP_INLINE);
	assert_int_equal(p.line_len, 4);
}

/* ---- inline splitting ---- */

struct split_case {
	const char *line;
	enum resp_status st;
	size_t n;
	const char *want[4];
	size_t want_len[4]; /* 0: strlen */
};

static const struct split_case split_cases[] = {
	{ "", RESP_DONE, 0, { 0 }, { 0 } },
	{ "   ", RESP_DONE, 0, { 0 }, { 0 } },
	{ " \t\r\n\v\f", RESP_DONE, 0, { 0 }, { 0 } },
	{ "PING", RESP_DONE, 1, { "PING" }, { 0 } },
	{ "set a b", RESP_DONE, 3, { "set", "a", "b" }, { 0 } },
	{ "  set   a\tb  ", RESP_DONE, 3, { "set", "a", "b" }, { 0 } },
	{ "\"hello world\"", RESP_DONE, 1, { "hello world" }, { 0 } },
	{ "\"\"", RESP_DONE, 1, { "" }, { 0 } },
	{ "'' x", RESP_DONE, 2, { "", "x" }, { 0 } },
	{ "\"a\\x41\\x4a\\x4B\"", RESP_DONE, 1, { "aAJK" }, { 0 } },
	{ "\"\\xff\\x00z\"", RESP_DONE, 1, { "\xff\0z" }, { 3 } },
	{ "\"\\x4\"", RESP_DONE, 1, { "x4" }, { 0 } },
	{ "\"\\xzz\"", RESP_DONE, 1, { "xzz" }, { 0 } },
	{ "\"\\x4g\"", RESP_DONE, 1, { "x4g" }, { 0 } },
	{ "\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"", RESP_DONE, 1, { "\n\r\t\b\a\\\"q" }, { 0 } },
	{ "'a\\'b'", RESP_DONE, 1, { "a'b" }, { 0 } },
	{ "'a\\nb\\x41'", RESP_DONE, 1, { "a\\nb\\x41" }, { 0 } },
	{ "'a\"b'", RESP_DONE, 1, { "a\"b" }, { 0 } },
	{ "\"a'b\"", RESP_DONE, 1, { "a'b" }, { 0 } },
	{ "a\\x41", RESP_DONE, 1, { "a\\x41" }, { 0 } },
	{ "a\"b c\"", RESP_DONE, 1, { "ab c" }, { 0 } },
	{ "a\"b c\" d", RESP_DONE, 2, { "ab c", "d" }, { 0 } },
	{ "a'b c' d", RESP_DONE, 2, { "ab c", "d" }, { 0 } },
	{ "\"a\" b", RESP_DONE, 2, { "a", "b" }, { 0 } },
	{ "\"a\"\tb", RESP_DONE, 2, { "a", "b" }, { 0 } },
	{ "\"a\"\vb", RESP_DONE, 2, { "a", "b" }, { 0 } },
	{ "a\vb", RESP_DONE, 1, { "a\vb" }, { 0 } },
	{ "\va", RESP_DONE, 1, { "a" }, { 0 } },
	{ "a\fb c", RESP_DONE, 2, { "a\fb", "c" }, { 0 } },
	{ "\"abc", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "'abc", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"a\"b", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "'a'b", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "a\"b c\"d", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"a\\\"", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"a\\", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "'a\\'", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "ok \"", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "'", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	/* Escapes cut by the end of the line. */
	{ "\"\\x4", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"\\x41", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "\"\\x", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "'\\", RESP_ERR_UNBALANCED, 0, { 0 }, { 0 } },
	{ "a\\", RESP_DONE, 1, { "a\\" }, { 0 } },
};

static void run_split_case(const struct split_case *c)
{
	size_t len = strlen(c->line), n = 99, i;
	/* The line ends at the guard page: reading past it faults. */
	const char *line = guard_place(&g_small, c->line, len);
	char *out = malloc(len + 1);
	struct resp_arg args[8];
	enum resp_status st;

	assert_non_null(out);
	st = resp_split_inline(line, len, out, args, 8, &n);
	if (st != c->st)
		fail_msg("split \"%s\": status %d, want %d", c->line, (int)st, (int)c->st);
	if (st == RESP_DONE) {
		assert_int_equal(n, c->n);
		for (i = 0; i < n; i++) {
			size_t wl = c->want_len[i] ? c->want_len[i] : strlen(c->want[i]);
			if (args[i].len != wl || memcmp(out + args[i].off, c->want[i], wl) != 0)
				fail_msg("split \"%s\": arg %zu wrong", c->line, i);
		}
	}
	free(out);
}

static void test_split_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++)
		run_split_case(&split_cases[i]);
}

static void test_split_need_args(void **state)
{
	static const char line[] = "a b c";
	struct resp_arg args[4];
	char out[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(resp_split_inline(line, 5, out, args, 2, &n), RESP_NEED_ARGS);
	assert_int_equal(resp_split_inline(line, 5, out, args, 3, &n), RESP_DONE);
	assert_int_equal(n, 3);
	/* The densest line needs len/2 + 1 entries, the documented bound. */
	assert_int_equal(resp_split_inline("a b c d", 7, out, args, 3, &n), RESP_NEED_ARGS);
	assert_int_equal(resp_split_inline("a b c d", 7, out, args, 7 / 2 + 1, &n), RESP_DONE);
	assert_int_equal(n, 4);
	assert_int_equal(resp_split_inline(" ", 1, out, args, 0, &n), RESP_DONE);
	assert_int_equal(n, 0);
}

/* A reference splitter, written from sdssplitargs' rules: over a
 * NUL-terminated line; words into out[] (each up to 63 bytes). */
struct ref_words {
	size_t n;
	size_t len[32];
	char w[32][64];
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void ref_put(struct ref_words *r, char c)
{
	r->w[r->n][r->len[r->n]++] = c;
}

/* Reads a quoted body after the opening quote; returns the index after the
 * closing quote, or 0 when the quotes are unbalanced. */
static size_t ref_quoted(const char *s, size_t i, char q, struct ref_words *r)
{
	static const char from[] = "nrtba", to[] = "\n\r\t\b\a";

	for (;;) {
		if (s[i] == '\0')
			return 0;
		if (q == '"' && s[i] == '\\' && s[i + 1] == 'x' && is_hex(s[i + 2]) &&
		    is_hex(s[i + 3])) {
			ref_put(r, (char)(hex_val(s[i + 2]) * 16 + hex_val(s[i + 3])));
			i += 4;
		} else if (q == '"' && s[i] == '\\' && s[i + 1] != '\0') {
			const char *m = strchr(from, s[i + 1]);
			ref_put(r, m != NULL ? to[m - from] : s[i + 1]);
			i += 2;
		} else if (q == '\'' && s[i] == '\\' && s[i + 1] == '\'') {
			ref_put(r, '\'');
			i += 2;
		} else if (s[i] == q) {
			if (s[i + 1] != '\0' && !isspace((unsigned char)s[i + 1]))
				return 0;
			return i + 1;
		} else {
			ref_put(r, s[i++]);
		}
	}
}

static bool ref_split(const char *s, struct ref_words *r)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		while (s[i] != '\0' && isspace((unsigned char)s[i]))
			i++;
		if (s[i] == '\0')
			return true;
		for (;;) {
			char c = s[i];
			if (c == '\0')
				break;
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
				i++;
				break;
			}
			if (c == '"' || c == '\'') {
				i = ref_quoted(s, i + 1, c, r);
				if (i == 0)
					return false;
				break;
			}
			ref_put(r, c);
			i++;
		}
		r->n++;
	}
}

static void compare_split(const char *line, size_t len)
{
	struct ref_words ref;
	struct resp_arg args[32];
	char out[64];
	size_t n = 0, i;
	bool ok = ref_split(line, &ref);
	enum resp_status st = resp_split_inline(guard_place(&g_small, line, len), len, out, args,
						32, &n);

	if (ok != (st == RESP_DONE))
		fail_msg("split \"%s\": status %d, reference %s", line, (int)st, ok ? "ok" : "err");
	if (!ok)
		return;
	assert_int_equal(n, ref.n);
	for (i = 0; i < n; i++) {
		if (args[i].len != ref.len[i] || memcmp(out + args[i].off, ref.w[i], ref.len[i]))
			fail_msg("split \"%s\": word %zu differs", line, i);
	}
}

/* Every line of up to 5 characters over an alphabet of the bytes that
 * matter, then random longer lines. */
static void test_split_vs_reference(void **state)
{
	static const char alpha[] = "a \"'\\x4Fn\t\v";
	const size_t na = sizeof(alpha) - 1;
	char line[24];
	size_t len, k, idx[6];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (len = 0; len <= 5; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			for (k = 0; k < len; k++)
				line[k] = alpha[idx[k]];
			line[len] = '\0';
			compare_split(line, len);
			for (k = 0; k < len && ++idx[k] == na; k++)
				idx[k] = 0;
			if (k == len)
				break;
		}
	}
	for (k = 0; k < 200000; k++) {
		size_t i;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = 6 + x % 17;
		for (i = 0; i < len; i++)
			line[i] = alpha[(x >> (i * 3 % 60)) % na];
		line[len] = '\0';
		compare_split(line, len);
	}
}

/* An inline frame end to end: parse the line, then split it. */
static void test_inline_parse_then_split(void **state)
{
	static const char s[] = "SET \"k 1\" '\\'v\\''\r\n";
	struct resp_parser p;
	struct resp_arg args[ARGS_MAX];
	char out[sizeof(s)];
	size_t n = 0;

	(void)state;
	resp_init(&p, BULK_MAX, false);
	assert_int_equal(resp_parse(&p, s, sizeof(s) - 1, args, ARGS_MAX), RESP_INLINE);
	assert_int_equal(resp_split_inline(s, p.line_len, out, args, ARGS_MAX, &n), RESP_DONE);
	assert_int_equal(n, 3);
	assert_memory_equal(out + args[0].off, "SET", 3);
	assert_int_equal(args[1].len, 3);
	assert_memory_equal(out + args[1].off, "k 1", 3);
	assert_int_equal(args[2].len, 3);
	assert_memory_equal(out + args[2].off, "'v'", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_page_faults),
		cmocka_unit_test(test_frames_every_prefix),
		cmocka_unit_test(test_frames_byte_by_byte),
		cmocka_unit_test(test_frames_two_pieces),
		cmocka_unit_test(test_frames_fixed_buffer_resume),
		cmocka_unit_test(test_pipeline_sequence),
		cmocka_unit_test(test_limit_inline_line),
		cmocka_unit_test(test_limit_count_line),
		cmocka_unit_test(test_limit_bulk_header),
		cmocka_unit_test(test_limit_bulk_header_later_arg),
		cmocka_unit_test(test_limit_unauth_bulk),
		cmocka_unit_test(test_limit_bigbulk_min_minus_one),
		cmocka_unit_test(test_limit_bulk_max_configurable),
		cmocka_unit_test(test_limit_count_int_max),
		cmocka_unit_test(test_line_search_resumes),
		cmocka_unit_test(test_need_args_grow),
		cmocka_unit_test(test_need_args_edges),
		cmocka_unit_test(test_bigbulk_flow),
		cmocka_unit_test(test_bigbulk_last),
		cmocka_unit_test(test_bigbulk_tail_states),
		cmocka_unit_test(test_error_texts),
		cmocka_unit_test(test_error_text_expected_dollar),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_split_need_args),
		cmocka_unit_test(test_split_vs_reference),
		cmocka_unit_test(test_inline_parse_then_split),
	};

	return cmocka_run_group_tests_name("resp", tests, setup, teardown);
}
