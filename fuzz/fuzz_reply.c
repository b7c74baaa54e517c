/* fuzz_reply.c: fuzz target for the reply encoder (node/proto/reply.c, node/proto/obuf.c)
 * and the reply decoder (sim/resp_reader.c).
 *
 * Goal: (1) whatever replies a command writes, in RESP2 or RESP3, through
 * whatever output-buffer operations conn.c and route.c use (marks and
 * truncation for CLIENT REPLY, placeholders filled later by another shard,
 * short writes of at most 64 pieces), the bytes written decode to exactly the
 * values written, in order, with nothing left over, and the buffer's memory
 * account returns to zero; (2) the decoder, given arbitrary bytes cut into
 * arbitrary reads, never crashes, never reads past what it was given, and
 * answers "need more", a value, or an error, the same however the bytes were
 * cut.
 *
 * Method: byte 0 picks the mode and the protocol. In round-trip mode, a
 * random tree of values is generated from the input and encoded with reply_*
 * while its expected decoded form is built (RESP2 degradations included:
 * map -> flat array, set -> array, null -> $-1 or *-1, double -> bulk,
 * boolean -> integer, verbatim -> bulk). Top-level operations interleave
 * plain replies, suppressed ones (obuf_mark + obuf_truncate), held ones
 * (obuf_hold, filled from another obuf with its own account, in any order),
 * and partial writes (obuf_iov + obuf_consume). The written bytes are then
 * decoded with resp_reader_parse(), from exactly-sized copies, in pieces the
 * input chooses. In raw mode, the input's bytes go to the decoder with small
 * limits, once in pieces and once whole through feed/next, and the two runs
 * must agree. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/util.h"
#include "base/val.h"
#include "fuzz_util.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "resp_reader.h"

/* Bounds of one input: values generated, nesting, pending placeholders. */
#define FR_NODES_MAX 2000
#define FR_DEPTH_MAX 12
#define FR_HOLDS_MAX 16
#define FR_VALUES_MAX 256
#define FR_CUTS_MAX 16
/* Big values are a repeated pattern, so a short input makes them. */
#define FR_BIG_MAX (80 * 1024)
#define FR_BIG_TOTAL (256 * 1024)
/* Decoder calls per input before the rest arrives whole (each call copies
 * the value so far, so trickling a big value costs its square). */
#define FR_CALLS_MAX 1024

static struct resp_reader_value *fr_exp_new(void)
{
	struct resp_reader_value *v = calloc(1, sizeof(*v));

	ASSERT(v != NULL);
	return v;
}

static void fr_exp_str(struct resp_reader_value *v, enum resp_reader_type t, const char *p,
		       size_t n)
{
	v->type = t;
	v->str = malloc(n + 1);
	ASSERT(v->str != NULL);
	memcpy(v->str, p, n);
	v->str[n] = '\0';
	v->len = n;
}

/* What an error message becomes on the wire: "-ERR " in front unless it
 * carries its own code, and CR and LF turned into spaces. */
static void fr_exp_error(struct resp_reader_value *v, const char *msg, size_t n)
{
	char *t = malloc(n + 4);
	size_t i, k = 0;

	ASSERT(t != NULL);
	if (n > 0 && msg[0] == '-') {
		msg++, n--;
	} else {
		memcpy(t, "ERR ", 4);
		k = 4;
	}
	for (i = 0; i < n; i++)
		t[k++] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
	fr_exp_str(v, RESP_READER_ERROR, t, k);
	free(t);
}

struct fr_gen {
	struct fuzz_in *in;
	struct reply *r;
	unsigned nodes;
	size_t big; /* bytes of long values so far, up to FR_BIG_TOTAL */
	char scratch[FR_BIG_MAX + 1];
};

/* Bytes from the input: a short literal, or a long repeated pattern. */
static size_t fr_gen_bytes(struct fr_gen *g, bool cstr)
{
	uint8_t k = fuzz_u8(g->in);
	const uint8_t *p;
	size_t n, i;

	if (k < 0xf0) {
		n = fuzz_bytes(g->in, k % 64, &p);
		memcpy(g->scratch, p, n);
	} else {
		n = ((size_t)(k - 0xf0) << 13 | fuzz_u16(g->in) % 8192) % FR_BIG_MAX;
		if (n > FR_BIG_TOTAL - g->big)
			n = FR_BIG_TOTAL - g->big;
		g->big += n;
		for (i = 0; i < n; i++)
			g->scratch[i] = (char)('a' + (i * 7 + k) % 26);
	}
	if (cstr)
		for (i = 0; i < n; i++)
			if (g->scratch[i] == '\0')
				g->scratch[i] = '0';
	return n;
}

/* A status text: no CR, LF or NUL (reply_status()'s precondition). */
static size_t fr_gen_status(struct fr_gen *g)
{
	size_t n = fr_gen_bytes(g, true), i;

	for (i = 0; i < n; i++)
		if (g->scratch[i] == '\r' || g->scratch[i] == '\n')
			g->scratch[i] = ' ';
	g->scratch[n] = '\0';
	return n;
}

static void fr_gen_value(struct fr_gen *g, struct resp_reader_value *exp, unsigned depth);

static void fr_gen_aggregate(struct fr_gen *g, struct resp_reader_value *exp, unsigned depth,
			     uint8_t kind)
{
	bool resp3 = g->r->proto >= 3;
	size_t n = fuzz_u8(g->in) % 8, elems = kind == 1 ? 2 * n : n, i;

	switch (kind) {
	case 0:
		reply_array(g->r, (long long)n);
		exp->type = RESP_READER_ARRAY;
		break;
	case 1:
		reply_map(g->r, (long long)n);
		exp->type = resp3 ? RESP_READER_MAP : RESP_READER_ARRAY;
		break;
	default:
		reply_set(g->r, (long long)n);
		exp->type = resp3 ? RESP_READER_SET : RESP_READER_ARRAY;
		break;
	}
	exp->n = elems;
	exp->elems = calloc(elems > 0 ? elems : 1, sizeof(*exp->elems));
	ASSERT(exp->elems != NULL);
	for (i = 0; i < elems; i++)
		fr_gen_value(g, &exp->elems[i], depth + 1);
}

static void fr_gen_errors(struct fr_gen *g, struct resp_reader_value *exp, uint8_t kind)
{
	size_t n;

	if (kind == 0) {
		n = fr_gen_status(g);
		reply_error(g->r, g->scratch);
		fr_exp_error(exp, g->scratch, n);
	} else if (kind == 1) {
		n = fr_gen_bytes(g, false);
		reply_error_len(g->r, g->scratch, n);
		fr_exp_error(exp, g->scratch, n);
	} else {
		/* Formatted: cut at a NUL by %.*s, and at LOG_LINE_MAX - 1. */
		n = fr_gen_bytes(g, false);
		reply_errorf(g->r, "%.*s", (int)n, g->scratch);
		n = strnlen(g->scratch, n);
		fr_exp_error(exp, g->scratch, n < LOG_LINE_MAX - 1 ? n : LOG_LINE_MAX - 1);
	}
}

static void fr_gen_bulks(struct fr_gen *g, struct resp_reader_value *exp, uint8_t kind)
{
	struct val *v;
	long long i;
	size_t n;

	switch (kind) {
	case 0:
		n = fr_gen_bytes(g, false);
		reply_bulk(g->r, g->scratch, n);
		break;
	case 1:
		n = fr_gen_status(g);
		reply_bulk_cstr(g->r, g->scratch);
		break;
	case 2:
		i = (long long)fuzz_u64(g->in);
		reply_bulk_ll(g->r, i);
		n = (size_t)snprintf(g->scratch, sizeof(g->scratch), "%lld", i);
		break;
	default:
		/* From a refcounted value: by reference when big. */
		n = fr_gen_bytes(g, false);
		v = val_copy(g->scratch, n);
		reply_bulk_val(g->r, v);
		val_unref(v);
		break;
	}
	fr_exp_str(exp, RESP_READER_BULK, g->scratch, n);
}

/* RESP3 types and their RESP2 forms. */
static void fr_gen_resp3(struct fr_gen *g, struct resp_reader_value *exp, uint8_t kind)
{
	bool resp3 = g->r->proto >= 3;
	char buf[64], fmt[4];
	size_t n, i;
	double d;

	switch (kind) {
	case 0:
		reply_null(g->r);
		exp->type = resp3 ? RESP_READER_NULL : RESP_READER_NULL_BULK;
		break;
	case 1:
		reply_null_array(g->r);
		exp->type = resp3 ? RESP_READER_NULL : RESP_READER_NULL_ARRAY;
		break;
	case 2:
		d = fuzz_u8(g->in) & 1 ? (double)(int64_t)fuzz_u64(g->in) / 1024 : 0;
		if (d == 0) {
			uint64_t bits = fuzz_u64(g->in);
			memcpy(&d, &bits, sizeof(d));
		}
		reply_double(g->r, d);
		n = (size_t)util_d2str(buf, sizeof(buf), d);
		fr_exp_str(exp, resp3 ? RESP_READER_DOUBLE : RESP_READER_BULK, buf, n);
		exp->dbl = d;
		break;
	case 3:
		i = fuzz_u8(g->in) & 1;
		reply_bool(g->r, i);
		exp->type = resp3 ? RESP_READER_BOOL : RESP_READER_INT;
		exp->integer = (long long)i;
		break;
	default:
		for (i = 0; i < 3; i++)
			fmt[i] = (char)(fuzz_u8(g->in) | 1);
		fmt[3] = '\0';
		n = fr_gen_bytes(g, false);
		reply_verbatim(g->r, g->scratch, n, fmt);
		fr_exp_str(exp, resp3 ? RESP_READER_VERBATIM : RESP_READER_BULK, g->scratch, n);
		if (resp3)
			memcpy(exp->fmt, fmt, 4);
		break;
	}
}

/* Encodes one value and builds its expected decoded form in exp. */
static void fr_gen_value(struct fr_gen *g, struct resp_reader_value *exp, unsigned depth)
{
	uint8_t k = fuzz_u8(g->in), kind = k % 8, sub = (uint8_t)(k >> 3);
	long long i;
	size_t n;

	/* Past the budget, or too deep, only integer leaves. */
	if (g->nodes >= FR_NODES_MAX || (kind == 7 && depth >= FR_DEPTH_MAX))
		kind = 0, sub = 0;
	g->nodes++;
	switch (kind) {
	case 0:
		i = sub == 0 ? (long long)(int8_t)fuzz_u8(g->in) : (long long)fuzz_u64(g->in);
		reply_int(g->r, i);
		exp->type = RESP_READER_INT;
		exp->integer = i;
		break;
	case 1:
		reply_ok(g->r);
		fr_exp_str(exp, RESP_READER_SIMPLE, "OK", 2);
		break;
	case 2:
		n = fr_gen_status(g);
		reply_status(g->r, g->scratch);
		fr_exp_str(exp, RESP_READER_SIMPLE, g->scratch, n);
		break;
	case 3: fr_gen_errors(g, exp, sub % 3); break;
	case 4: fr_gen_bulks(g, exp, sub % 4); break;
	case 5: fr_gen_resp3(g, exp, sub % 5); break;
	case 6:
		reply_empty_array(g->r);
		exp->type = RESP_READER_ARRAY;
		break;
	default: fr_gen_aggregate(g, exp, depth, sub % 3); break;
	}
}

/* ---- round trip ---- */

/* A reply written into another obuf (another shard's), spliced into the
 * connection's output later, in place of its placeholder. */
struct fr_hold {
	struct obuf_chunk *h;
	struct obuf src;
	struct mem mem;
};

struct fr_run {
	struct fuzz_in in;
	uint8_t proto;
	struct mem mem;
	struct obuf ob;
	struct errstats es;
	struct reply r;
	struct resp_reader_value *exp[FR_VALUES_MAX];
	size_t nexp;
	struct fr_hold *holds[FR_HOLDS_MAX]; /* each on its own: src points at mem */
	size_t nholds;
	char *out; /* the bytes written, as a peer receives them */
	size_t out_len, out_cap;
	const uint8_t *cuts;
	size_t ncuts;
	struct fr_gen g; /* last: its scratch is not cleared between inputs */
};

/* Generates a value into r; keeps its expected form unless suppressed. */
static void fr_add(struct fr_run *run, struct reply *r, bool keep)
{
	struct resp_reader_value *exp = fr_exp_new();

	run->g.r = r;
	fr_gen_value(&run->g, exp, 0);
	if (keep && run->nexp < FR_VALUES_MAX)
		run->exp[run->nexp++] = exp;
	else
		resp_reader_value_free(exp);
}

/* A placeholder for a reply another shard writes now into its own obuf
 * (with its own account, as route.c does); suppressed, as CLIENT REPLY
 * OFF does to a forwarded command's reply, when mark is set. */
static void fr_add_hold(struct fr_run *run, bool suppress)
{
	struct fr_hold *h = calloc(1, sizeof(*h));
	struct reply r = { .ob = &h->src, .proto = run->proto, .es = &run->es };
	struct obuf_mark m;

	ASSERT(h != NULL);
	run->holds[run->nholds++] = h;
	obuf_init(&h->src, &h->mem);
	h->src.chunk = 512; /* route.c's ROUTE_REPLY_CHUNK */
	obuf_mark(&run->ob, &m);
	h->h = obuf_hold(&run->ob);
	if (suppress) {
		/* A reply of this shard after it, suppressed too. */
		fr_add(run, &run->r, false);
		obuf_truncate(&run->ob, &m);
		FUZZ_CHECK(h->h->kind == OBUF_HOLD && h->h->drop,
			   "a held reply survives truncation");
	}
	fr_add(run, &r, !suppress);
}

static void fr_fill(struct fr_run *run, size_t i)
{
	struct fr_hold *h = run->holds[i];

	obuf_fill(&run->ob, h->h, &h->src);
	FUZZ_CHECK(h->mem.used == 0, "%zu bytes left on the filler's account", h->mem.used);
	FUZZ_CHECK(h->src.head == NULL && h->src.bytes == 0, "the filler's obuf is not empty");
	run->holds[i] = run->holds[--run->nholds];
	free(h);
}

/* One writev of at most max pieces, of which the peer takes limit bytes
 * (a short write), or all when limit is 0. Returns the bytes written. */
static size_t fr_write(struct fr_run *run, int max, size_t limit)
{
	struct iovec iov[OBUF_IOV_MAX];
	int n = obuf_iov(&run->ob, iov, max), i;
	size_t total = 0, k;

	ASSERT(max >= 1);
	ASSERT(max <= OBUF_IOV_MAX);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(iov[i].iov_len > 0, "an empty piece in a writev");
		total += iov[i].iov_len;
	}
	FUZZ_CHECK(total <= run->ob.bytes, "writev of %zu bytes, %zu unsent", total, run->ob.bytes);
	k = limit > 0 && limit < total ? limit : total;
	if (run->out_len + k > run->out_cap) {
		run->out_cap = (run->out_len + k) * 2;
		run->out = realloc(run->out, run->out_cap);
		ASSERT(run->out != NULL);
	}
	for (i = 0, total = 0; i < n && total < k; i++) {
		size_t part = iov[i].iov_len < k - total ? iov[i].iov_len : k - total;
		memcpy(run->out + run->out_len + total, iov[i].iov_base, part);
		total += part;
	}
	run->out_len += k;
	obuf_consume(&run->ob, k);
	return k;
}

static void fr_op(struct fr_run *run)
{
	struct obuf_mark m;
	uint8_t op = fuzz_u8(&run->in);

	switch (op % 8) {
	case 3:
		/* CLIENT REPLY OFF or SKIP: written, then cut back. */
		obuf_mark(&run->ob, &m);
		fr_add(run, &run->r, false);
		obuf_truncate(&run->ob, &m);
		break;
	case 4:
	case 5:
		if (run->nholds < FR_HOLDS_MAX)
			fr_add_hold(run, op % 8 == 5);
		break;
	case 6: fr_write(run, 1 + fuzz_u8(&run->in) % OBUF_IOV_MAX, fuzz_u16(&run->in)); break;
	case 7:
		if (run->nholds > 0)
			fr_fill(run, fuzz_u8(&run->in) % run->nholds);
		break;
	default: fr_add(run, &run->r, true); break;
	}
	FUZZ_CHECK(obuf_mem(&run->ob) == run->mem.used, "obuf_mem %zu, account %zu",
		   obuf_mem(&run->ob), run->mem.used);
}

/* Decodes the written bytes in pieces and compares with what was written. */
static void fr_decode(struct fr_run *run)
{
	struct resp_reader rd;
	static struct fuzz_exact x; /* kept from one input to the next */
	struct resp_reader_value *v;
	size_t start = 0, avail = 0, idx = 0, icut = 0, used;
	unsigned calls = 0;
	char a[256], b[256];

	resp_reader_init(&rd, NULL);
	for (;;) {
		const char *buf = fuzz_exact_put(&x, run->out + start, avail - start);
		enum resp_reader_status st = resp_reader_parse(&rd, buf, avail - start, &v, &used);
		calls++;
		FUZZ_CHECK(st != RESP_READER_ERR, "decoder error '%s' at byte %zu", rd.err, start);
		if (st == RESP_READER_OK) {
			FUZZ_CHECK(idx < run->nexp, "more values than written (%zu)", run->nexp);
			resp_reader_format(v, a, sizeof(a));
			resp_reader_format(run->exp[idx], b, sizeof(b));
			FUZZ_CHECK(resp_reader_value_eq(v, run->exp[idx]),
				   "value %zu: got %s, wrote %s", idx, a, b);
			resp_reader_value_free(v);
			idx++;
			start += used;
			continue;
		}
		if (avail == run->out_len)
			break;
		used = run->ncuts > 0 && calls < FR_CALLS_MAX
			       ? 1 + (size_t)run->cuts[icut++ % run->ncuts] * 64
			       : run->out_len - avail;
		avail += used < run->out_len - avail ? used : run->out_len - avail;
	}
	FUZZ_CHECK(idx == run->nexp && start == run->out_len,
		   "%zu of %zu values decoded, %zu of %zu bytes", idx, run->nexp, start,
		   run->out_len);
	resp_reader_free(&rd);
}

static void fr_round_trip(struct fr_run *run)
{
	size_t i;

	memset(&run->mem, 0, sizeof(run->mem));
	obuf_init(&run->ob, &run->mem);
	run->r.ob = &run->ob;
	run->r.proto = run->proto;
	run->r.es = &run->es;
	run->g.in = &run->in;
	run->out_cap = 4096;
	run->out = malloc(run->out_cap);
	ASSERT(run->out != NULL);
	while (!fuzz_in_empty(&run->in) && run->nexp < FR_VALUES_MAX)
		fr_op(run);
	/* Every held reply arrives, in an order the input picks; then all
	 * is written. */
	while (run->nholds > 0)
		fr_fill(run, fuzz_u8(&run->in) % run->nholds);
	while (fr_write(run, OBUF_IOV_MAX, 0) > 0)
		;
	FUZZ_CHECK(obuf_empty(&run->ob), "output left after writing all: %zu bytes, %u holds",
		   run->ob.bytes, run->ob.holds);
	fr_decode(run);
	obuf_free(&run->ob);
	FUZZ_CHECK(run->mem.used == 0, "%zu bytes left on the account", run->mem.used);
	for (i = 0; i < run->nexp; i++)
		resp_reader_value_free(run->exp[i]);
	free(run->out);
}

/* ---- raw bytes ---- */

struct fr_seen {
	struct resp_reader_value *v[FR_VALUES_MAX]; /* the first ones */
	size_t n;                                   /* all of them */
	enum resp_reader_status end;
	size_t partial; /* bytes of an incomplete last value */
};

static void fr_seen_add(struct fr_seen *seen, struct resp_reader_value *v)
{
	if (seen->n < FR_VALUES_MAX)
		seen->v[seen->n] = v;
	else
		resp_reader_value_free(v);
	seen->n++;
}

static void fr_seen_free(struct fr_seen *seen)
{
	size_t i;

	for (i = 0; i < seen->n && i < FR_VALUES_MAX; i++)
		resp_reader_value_free(seen->v[i]);
}

/* Decodes in pieces through resp_reader_parse(), from exact copies. */
static void fr_raw_pieces(const struct resp_reader_limits *lim, const char *p, size_t n,
			  const uint8_t *cuts, size_t ncuts, struct fr_seen *seen)
{
	static struct fuzz_exact x; /* kept from one input to the next */
	struct resp_reader rd;
	size_t start = 0, avail = 0, icut = 0, used;
	unsigned calls = 0;

	resp_reader_init(&rd, lim);
	for (;;) {
		struct resp_reader_value *v;
		const char *buf = fuzz_exact_put(&x, p + start, avail - start);
		enum resp_reader_status st = resp_reader_parse(&rd, buf, avail - start, &v, &used);
		calls++;
		if (st == RESP_READER_OK) {
			FUZZ_CHECK(used > 0 && used <= avail - start, "value of %zu bytes", used);
			fr_seen_add(seen, v);
			start += used;
			continue;
		}
		seen->end = st;
		if (st == RESP_READER_ERR || avail == n)
			break;
		used = ncuts > 0 && calls < FR_CALLS_MAX ? cuts[icut++ % ncuts] : n - avail;
		avail += used < n - avail ? used : n - avail;
	}
	seen->partial = n - start;
	resp_reader_free(&rd);
}

/* Decodes all at once through resp_reader_feed() and resp_reader_next(). */
static void fr_raw_whole(const struct resp_reader_limits *lim, const char *p, size_t n,
			 struct fr_seen *seen)
{
	struct resp_reader rd;
	struct resp_reader_value *v;
	enum resp_reader_status st;

	resp_reader_init(&rd, lim);
	resp_reader_feed(&rd, p, n);
	while ((st = resp_reader_next(&rd, &v)) == RESP_READER_OK)
		fr_seen_add(seen, v);
	seen->end = st;
	seen->partial = resp_reader_pending(&rd);
	resp_reader_free(&rd);
}

/* Arbitrary bytes, with small limits so that every limit is reached. */
static void fr_raw(struct fuzz_in *in)
{
	struct resp_reader_limits lim;
	struct fr_seen a, b;
	const uint8_t *cuts, *p;
	size_t ncuts, n, i;
	char fa[256], fb[256];

	lim.depth_max = 1 + fuzz_u8(in) % 8;
	lim.elements_max = fuzz_u8(in) % 64;
	lim.bulk_max = fuzz_u16(in) % 2048;
	lim.line_max = fuzz_u16(in) % 512;
	ncuts = fuzz_bytes(in, fuzz_u8(in) % (FR_CUTS_MAX + 1), &cuts);
	n = fuzz_bytes(in, SIZE_MAX, &p);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fr_raw_pieces(&lim, (const char *)p, n, cuts, ncuts, &a);
	fr_raw_whole(&lim, (const char *)p, n, &b);
	FUZZ_CHECK(a.n == b.n && a.end == b.end, "in pieces: %zu values, end %d; whole: %zu, %d",
		   a.n, a.end, b.n, b.end);
	FUZZ_CHECK(a.end == RESP_READER_ERR || a.partial == b.partial,
		   "partial value: %zu bytes in pieces, %zu whole", a.partial, b.partial);
	for (i = 0; i < a.n && i < FR_VALUES_MAX; i++) {
		resp_reader_format(a.v[i], fa, sizeof(fa));
		resp_reader_format(b.v[i], fb, sizeof(fb));
		FUZZ_CHECK(resp_reader_value_eq(a.v[i], b.v[i]),
			   "value %zu: %s in pieces, %s whole", i, fa, fb);
	}
	fr_seen_free(&a);
	fr_seen_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fr_run *run;
	struct fuzz_in in;
	uint8_t mode;

	fuzz_in_init(&in, data, size);
	mode = fuzz_u8(&in);
	if ((mode >> 1) % 4 == 3) {
		fr_raw(&in);
		return 0;
	}
	/* Big (it holds the generator's scratch): one for every input. */
	if (run == NULL)
		run = malloc(sizeof(*run));
	ASSERT(run != NULL);
	memset(run, 0, offsetof(struct fr_run, g.scratch));
	run->in = in;
	run->proto = mode & 1 ? 3 : 2;
	run->ncuts = fuzz_bytes(&run->in, fuzz_u8(&run->in) % (FR_CUTS_MAX + 1), &run->cuts);
	fr_round_trip(run);
	return 0;
}
