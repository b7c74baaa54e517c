/* resp_drive.c: node/proto/resp.c driven as conn.c drives it, checked against the
 * reference parser at every call. See resp_drive.h. */
#include "resp_drive.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

/* The exactly-sized copies, kept from one run to the next (zeroed statics
 * are ready to use). */
static struct fuzz_exact drive_buf, drive_line;

/* Room for resp_error_text() (it needs at least 64 bytes). */
#define DRIVE_ERR_TEXT 160

size_t resp_drive_cut(uint8_t b)
{
	return b < 0xf0 ? b : (size_t)(b - 0xef) * 4096;
}

static enum resp_state drive_state_of(enum ref_at at)
{
	switch (at) {
	case REF_AT_START: return RESP_S_START;
	case REF_AT_INLINE: return RESP_S_INLINE;
	case REF_AT_COUNT: return RESP_S_COUNT;
	case REF_AT_HEADER: return RESP_S_HEADER;
	case REF_AT_PAYLOAD: return RESP_S_PAYLOAD;
	case REF_AT_BIGBULK: return RESP_S_BIGBULK;
	}
	ASSERT_NOT_REACHED("resp_drive: bad ref_at");
	return RESP_S_START;
}

static void drive_grow_args(struct resp_drive *d)
{
	d->cap = d->cfg->args_double ? d->cap * 2 : d->cap + 1;
	/* Exactly the room announced, so that ASan sees a write past it. */
	d->args = realloc(d->args, d->cap * sizeof(*d->args));
	ASSERT(d->args != NULL);
}

/* A complete multibulk request: the same arguments at the same offsets. */
static void drive_check_args(const struct resp_drive *d, const struct ref_result *ref)
{
	size_t i;

	FUZZ_CHECK(d->p.nargs == d->p.argc && d->p.argc == ref->count,
		   "nargs %lld argc %lld, reference count %lld", (long long)d->p.nargs,
		   (long long)d->p.argc, ref->count);
	FUZZ_CHECK((size_t)d->p.nargs == ref->nargs, "nargs %lld, reference %zu",
		   (long long)d->p.nargs, ref->nargs);
	for (i = 0; i < ref->nargs; i++) {
		const struct resp_arg *a = &d->args[i];
		const struct ref_arg *r = &ref->args[i];
		FUZZ_CHECK(a->len == r->len, "arg %zu: len %zu, reference %zu", i, a->len, r->len);
		FUZZ_CHECK((a->off == RESP_ARG_EXTERNAL) == r->external, "arg %zu: external %d", i,
			   a->off == RESP_ARG_EXTERNAL);
		FUZZ_CHECK(r->external || a->off == r->off, "arg %zu: off %zu, reference %zu", i,
			   a->off, r->off);
		FUZZ_CHECK(r->external || a->off + a->len + 2 <= d->p.pos,
			   "arg %zu ends past the request", i);
	}
}

/* Splits an inline line with resp_split_inline() and with the reference.
 * Returns RESP_DONE or RESP_ERR_UNBALANCED. */
static enum resp_status drive_split(struct resp_drive *d, const char *buf, size_t line_len)
{
	const char *line = fuzz_exact_put(d->line, buf, line_len);
	enum resp_status want = ref_split(line, line_len, &d->words), st;
	char *out = malloc(line_len); /* exactly len bytes, as resp.h allows */
	size_t cap = 1, n = 0, i;
	struct resp_arg *w = malloc(cap * sizeof(*w));

	ASSERT(w != NULL);
	ASSERT(out != NULL || line_len == 0);
	while ((st = resp_split_inline(line, line_len, out, w, cap, &n)) == RESP_NEED_ARGS) {
		FUZZ_CHECK(cap < line_len / 2 + 1, "NEED_ARGS with cap %zu >= len/2+1 (len %zu)",
			   cap, line_len);
		FUZZ_CHECK(want == RESP_ERR_UNBALANCED || d->words.n > cap,
			   "NEED_ARGS with cap %zu for %zu words", cap, d->words.n);
		cap = d->cfg->args_double ? cap * 2 : cap + 1;
		w = realloc(w, cap * sizeof(*w));
		ASSERT(w != NULL);
	}
	FUZZ_CHECK(st == want, "split status %d, reference %d", st, want);
	if (st == RESP_DONE) {
		FUZZ_CHECK(n == d->words.n, "%zu words, reference %zu", n, d->words.n);
		for (i = 0; i < n; i++) {
			const char *ref = d->words.bytes + d->words.off[i];
			FUZZ_CHECK(w[i].len == d->words.len[i] &&
					   memcmp(out + w[i].off, ref, w[i].len) == 0,
				   "word %zu differs (len %zu, reference %zu)", i, w[i].len,
				   d->words.len[i]);
		}
	}
	free(out);
	free(w);
	return st;
}

static void drive_check_error(const struct resp_drive *d, enum resp_status st,
			      const struct ref_result *ref)
{
	char got[DRIVE_ERR_TEXT], want[DRIVE_ERR_TEXT];
	size_t n = resp_error_text(&d->p, st, got, sizeof(got));
	size_t m = ref_error_text(st, ref->bad_char, want, sizeof(want));

	FUZZ_CHECK(n == m && memcmp(got, want, n) == 0, "error text '%.*s', reference '%.*s'",
		   (int)n, got, (int)m, want);
}

/* The parser's answer must be the reference's, in every detail the
 * contract exposes. */
static void drive_check(struct resp_drive *d, enum resp_status st, size_t len,
			const struct ref_result *ref)
{
	FUZZ_CHECK(st == ref->st, "status %d, reference %d (request bytes %zu, call %u)", st,
		   ref->st, len, d->calls);
	FUZZ_CHECK(d->p.pos == ref->pos, "pos %zu, reference %zu (status %d)", d->p.pos, ref->pos,
		   st);
	switch (st) {
	case RESP_DONE: drive_check_args(d, ref); break;
	case RESP_INLINE:
		FUZZ_CHECK(d->p.line_len == ref->line_len, "line_len %zu, reference %zu",
			   d->p.line_len, ref->line_len);
		break;
	case RESP_EMPTY: break;
	case RESP_BIGBULK:
		FUZZ_CHECK(d->p.bulk == ref->bulk, "bulk %lld, reference %lld",
			   (long long)d->p.bulk, ref->bulk);
		FUZZ_CHECK((size_t)d->p.nargs == ref->nargs, "nargs at a big bulk");
		break;
	case RESP_NEED_MORE:
		FUZZ_CHECK(d->p.state == drive_state_of(ref->at), "state %d, reference at %d",
			   d->p.state, ref->at);
		FUZZ_CHECK(ref->at < REF_AT_HEADER || (size_t)d->p.nargs == ref->nargs,
			   "nargs %lld, reference %zu", (long long)d->p.nargs, ref->nargs);
		break;
	default: drive_check_error(d, st, ref); break;
	}
	/* The tail rule, in its plainest form: a reservation exactly when the
	 * parser stops at a big bulk (fuzz_bigbulk_tail checks the rest). */
	FUZZ_CHECK((resp_bigbulk_tail(&d->p) > 0) == (st == RESP_BIGBULK),
		   "bigbulk tail %zu after status %d", resp_bigbulk_tail(&d->p), st);
}

static void drive_next_request(struct resp_drive *d)
{
	resp_reset(&d->p);
	if (d->cfg->auth_toggle)
		d->p.auth_required = !d->p.auth_required;
	d->lim.auth_required = d->p.auth_required;
	d->lim.bigs_done = 0;
}

/* One parse call over s[req, avail) and its checks. Returns its status
 * (RESP_NEED_ARGS already handled: the caller calls again). */
static enum resp_status drive_call(struct resp_drive *d, const char *s, size_t req, size_t avail)
{
	size_t len = avail - req;
	const char *buf = fuzz_exact_put(d->buf, s + req, len);
	enum resp_status st = resp_parse(&d->p, buf, len, d->args, d->cap);

	d->calls++;
	d->bytes += len;
	ref_parse(&d->lim, buf, len, &d->ref);
	if (st == RESP_NEED_ARGS) {
		FUZZ_CHECK((size_t)d->p.nargs == d->cap, "NEED_ARGS with nargs %lld, cap %zu",
			   (long long)d->p.nargs, d->cap);
		FUZZ_CHECK(d->ref.count > (long long)d->cap && d->ref.nargs >= d->cap,
			   "NEED_ARGS at cap %zu: reference count %lld, %zu args", d->cap,
			   d->ref.count, d->ref.nargs);
		drive_grow_args(d);
		return st;
	}
	drive_check(d, st, len, &d->ref);
	if (d->cfg->hook != NULL)
		d->cfg->hook(d, st, buf, len, &d->ref);
	if (st == RESP_INLINE) {
		st = drive_split(d, buf, d->p.line_len);
		if (st != RESP_DONE) {
			drive_check_error(d, st, &d->ref);
			return st;
		}
		return RESP_INLINE;
	}
	return st;
}

static void drive_init(struct resp_drive *d, const struct resp_drive_cfg *cfg)
{
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	resp_init(&d->p, cfg->bulk_max, cfg->auth_required);
	d->lim.bulk_max = cfg->bulk_max;
	d->lim.auth_required = cfg->auth_required;
	d->cap = cfg->args_start > 0 ? cfg->args_start : 1;
	d->args = malloc(d->cap * sizeof(*d->args));
	ASSERT(d->args != NULL);
	d->buf = &drive_buf;
	d->line = &drive_line;
	ref_result_init(&d->ref);
	ref_words_init(&d->words);
}

static void drive_free(struct resp_drive *d)
{
	free(d->args);
	ref_result_free(&d->ref);
	ref_words_free(&d->words);
}

enum resp_status resp_drive_run(const struct resp_drive_cfg *cfg, const char *s, size_t n)
{
	struct resp_drive d;
	size_t req = 0, avail = 0, icut = 0;
	enum resp_status st;

	drive_init(&d, cfg);
	for (;;) {
		st = drive_call(&d, s, req, avail);
		if (st == RESP_DONE || st == RESP_INLINE || st == RESP_EMPTY) {
			d.requests++;
			d.inlines += st == RESP_INLINE;
			d.empties += st == RESP_EMPTY;
			req += d.p.pos;
			drive_next_request(&d);
		} else if (st == RESP_BIGBULK) {
			/* The payload arrives elsewhere; the stream goes on
			 * with what follows it. */
			d.bigbulks++;
			resp_bigbulk_done(&d.p, d.args, d.cap);
			d.lim.bigs_done++;
		} else if (st == RESP_NEED_MORE) {
			size_t piece = n - avail;
			if (piece == 0)
				break;
			if (cfg->ncuts > 0 && d.calls < cfg->calls_max && d.bytes < cfg->bytes_max)
				piece = resp_drive_cut(cfg->cuts[icut++ % cfg->ncuts]);
			avail += piece < n - avail ? piece : n - avail;
		} else if (st != RESP_NEED_ARGS) {
			d.errors++;
			break;
		}
	}
	drive_free(&d);
	return st;
}
