/* test_obuf_reply.c: unit tests of the output chain (node/proto/obuf.c) and the
 * reply encoder (node/proto/reply.c).
 *
 * Goal: the chain gives back exactly the bytes appended, in order, however
 * they were appended (copies, reservations, references, placeholders filled
 * later) and however the writes are cut; a referenced value stays alive until
 * its bytes are consumed; every allocation is accounted and returned. Every
 * reply_* function produces exactly Redis 7.0's bytes in RESP2 and RESP3, and
 * the error funnel prefixes ("-ERR " unless the text starts with "-CODE"),
 * sanitises and counts errors as Redis does.
 *
 * Method: the chain is read only through obuf_iov() and compared with a flat
 * copy of what was appended; partial writes are simulated with
 * obuf_consume() at every byte offset of a chain that mixes data chunks,
 * references and chunk boundaries; memory is checked against the mem account
 * (which only the chain under test uses) after each step. Reply bytes are
 * compared with literal strings taken from Redis's wire format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "base/val.h"
#include "proto/obuf.h"
#include "proto/reply.h"

#define IOV_ALL 4096

static unsigned refs(struct val *v)
{
	return atomic_load(&v->refs);
}

/* Total unsent bytes visible before the first HOLD, and piece count. */
static size_t visible(const struct obuf *ob, int *pieces)
{
	static struct iovec iov[IOV_ALL];
	int n = obuf_iov(ob, iov, IOV_ALL), i;
	size_t total = 0;

	for (i = 0; i < n; i++) {
		assert_true(iov[i].iov_len > 0);
		total += iov[i].iov_len;
	}
	if (pieces != NULL)
		*pieces = n;
	return total;
}

/* Asserts the visible bytes are exactly want[0, n). */
static void expect_bytes(const struct obuf *ob, const char *want, size_t n)
{
	static struct iovec iov[IOV_ALL];
	int cnt = obuf_iov(ob, iov, IOV_ALL), i;
	size_t off = 0;

	for (i = 0; i < cnt; i++) {
		if (off + iov[i].iov_len > n)
			fail_msg("chain longer than expected: piece %d ends at %zu > %zu", i,
				 off + iov[i].iov_len, n);
		if (memcmp(iov[i].iov_base, want + off, iov[i].iov_len) != 0)
			fail_msg("chain bytes differ in piece %d (offset %zu)", i, off);
		off += iov[i].iov_len;
	}
	if (off != n)
		fail_msg("chain has %zu bytes, want %zu", off, n);
}

static void fill_pattern(char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)('!' + (i * 7 + seed) % 90);
}

/* ---- append, reserve ---- */

static void test_append_across_chunks(void **state)
{
	static const size_t sizes[] = { 1, 7, 100, 16383, 1, 16385, 3, 40000, 0, 16384, 2 };
	struct mem m = { 0 };
	struct obuf ob;
	static struct iovec iov[IOV_ALL];
	size_t total = 0, i;
	char *want = malloc(200000);
	int n, k;

	(void)state;
	assert_non_null(want);
	obuf_init(&ob, &m);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill_pattern(want + total, sizes[i], (unsigned)i);
		obuf_append(&ob, want + total, sizes[i]);
		total += sizes[i];
		assert_int_equal(ob.bytes, total);
		expect_bytes(&ob, want, total);
	}
	/* Appends fill the tail before starting a chunk: every piece but the
	 * last is exactly one full chunk. */
	n = obuf_iov(&ob, iov, IOV_ALL);
	assert_int_equal(n, (total + OBUF_CHUNK_SIZE - 1) / OBUF_CHUNK_SIZE);
	for (k = 0; k + 1 < n; k++)
		assert_int_equal(iov[k].iov_len, OBUF_CHUNK_SIZE);
	assert_int_equal(obuf_mem(&ob), m.used);
	assert_false(obuf_empty(&ob));
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
	assert_true(obuf_empty(&ob));
	free(want);
}

static void test_reserve_unreserve(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	char *want = malloc(3 * OBUF_CHUNK_SIZE), *p;
	size_t len = OBUF_CHUNK_SIZE - 5;
	int pieces;

	(void)state;
	assert_non_null(want);
	obuf_init(&ob, &m);
	fill_pattern(want, len, 1);
	obuf_append(&ob, want, len);
	/* 24 bytes do not fit in the 5 left: a new chunk, the old keeps its
	 * bytes. */
	p = obuf_reserve(&ob, 24);
	memcpy(p, "0123456789abcdefghijklmn", 24);
	assert_int_equal(ob.bytes, len + 24);
	obuf_unreserve(&ob, 20);
	assert_int_equal(ob.bytes, len + 4);
	memcpy(want + len, "0123", 4);
	len += 4;
	expect_bytes(&ob, want, len);
	assert_int_equal(visible(&ob, &pieces), len);
	assert_int_equal(pieces, 2);
	/* Appending continues right after what was kept. */
	obuf_append(&ob, "xyz", 3);
	memcpy(want + len, "xyz", 3);
	len += 3;
	expect_bytes(&ob, want, len);
	/* A reservation of exactly the room left stays in the chunk. */
	p = obuf_reserve(&ob, OBUF_CHUNK_SIZE - 7);
	fill_pattern(p, OBUF_CHUNK_SIZE - 7, 9);
	memcpy(want + len, p, OBUF_CHUNK_SIZE - 7);
	len += OBUF_CHUNK_SIZE - 7;
	assert_int_equal(visible(&ob, &pieces), len);
	assert_int_equal(pieces, 2);
	obuf_unreserve(&ob, 0);
	expect_bytes(&ob, want, len);
	/* A whole chunk reserved and given back leaves an empty chunk, which
	 * obuf_iov skips. */
	p = obuf_reserve(&ob, OBUF_CHUNK_SIZE);
	obuf_unreserve(&ob, OBUF_CHUNK_SIZE);
	expect_bytes(&ob, want, len);
	assert_int_equal(visible(&ob, &pieces), len);
	assert_int_equal(pieces, 2);
	obuf_append(&ob, "Q", 1);
	want[len++] = 'Q';
	expect_bytes(&ob, want, len);
	obuf_consume(&ob, len);
	assert_true(obuf_empty(&ob));
	assert_int_equal(obuf_mem(&ob), m.used);
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
	free(want);
}

/* ---- references ---- */

static void test_append_ref_lifetime(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	struct val *v = val_new(6002);
	static struct iovec iov[8];
	int n;

	(void)state;
	fill_pattern(v->data, 6000, 3);
	val_seal(v, 6000);
	obuf_init(&ob, &m);
	obuf_append(&ob, "head", 4);
	obuf_append_ref(&ob, v, v->data, 6002);
	assert_int_equal(refs(v), 2);
	obuf_append_ref(&ob, v, v->data + 10, 100);
	assert_int_equal(refs(v), 3);
	obuf_append(&ob, "tail", 4);
	assert_int_equal(ob.bytes, 4 + 6002 + 100 + 4);
	/* References are linked, not copied. */
	n = obuf_iov(&ob, iov, 8);
	assert_int_equal(n, 4);
	assert_ptr_equal(iov[1].iov_base, v->data);
	assert_int_equal(iov[1].iov_len, 6002);
	assert_ptr_equal(iov[2].iov_base, v->data + 10);
	assert_int_equal(iov[3].iov_len, 4);
	/* A partial write inside the first reference keeps it. */
	obuf_consume(&ob, 4 + 1000);
	assert_int_equal(refs(v), 3);
	n = obuf_iov(&ob, iov, 8);
	assert_ptr_equal(iov[0].iov_base, v->data + 1000);
	assert_int_equal(iov[0].iov_len, 5002);
	/* Written through: its reference goes. */
	obuf_consume(&ob, 5002);
	assert_int_equal(refs(v), 2);
	obuf_free(&ob);
	assert_int_equal(refs(v), 1);
	assert_int_equal(m.used, 0);
	val_unref(v);
}

/* The chain alone keeps a value alive: the caller's reference may go first
 * (an overwritten key). ASan reports a use after free if it does not. */
static void test_append_ref_outlives_owner(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	struct val *v = val_copy("0123456789", 10);
	char want[16];

	(void)state;
	obuf_init(&ob, &m);
	obuf_append_ref(&ob, v, v->data, 12);
	val_unref(v);
	assert_int_equal(refs(v), 1);
	memcpy(want, "0123456789\r\n", 12);
	expect_bytes(&ob, want, 12);
	obuf_consume(&ob, 5);
	expect_bytes(&ob, want + 5, 7);
	obuf_consume(&ob, 7); /* frees v */
	assert_true(obuf_empty(&ob));
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
}

/* ---- holds ---- */

static void test_hold_and_fill(void **state)
{
	struct mem m = { 0 };
	struct obuf ob, src1, src2;
	struct obuf_chunk *h1, *h2;
	struct val *v = val_copy("refbytes", 8);
	char *want = malloc(30000);
	size_t len = 0;
	int pieces;

	(void)state;
	assert_non_null(want);
	obuf_init(&ob, &m);
	obuf_append(&ob, "A", 1);
	h1 = obuf_hold(&ob);
	obuf_append(&ob, "B", 1);
	h2 = obuf_hold(&ob);
	obuf_append(&ob, "C", 1);
	assert_int_equal(ob.holds, 2);
	expect_bytes(&ob, "A", 1);
	obuf_consume(&ob, 1);
	assert_int_equal(visible(&ob, &pieces), 0);
	assert_int_equal(pieces, 0);
	assert_false(obuf_empty(&ob));
	assert_int_equal(ob.bytes, 2);
	/* Filling the later hold first changes nothing visible. */
	obuf_init(&src2, &m);
	fill_pattern(want, 20000, 5);
	obuf_append(&src2, want, 20000);
	obuf_append_ref(&src2, v, v->data, 10);
	assert_int_equal(refs(v), 2);
	obuf_fill(&ob, h2, &src2);
	assert_int_equal(refs(v), 2); /* moved, not copied */
	assert_null(src2.head);
	assert_int_equal(src2.bytes, 0);
	assert_int_equal(ob.holds, 1);
	assert_int_equal(visible(&ob, NULL), 0);
	/* An empty reply just unlinks the hold. */
	obuf_init(&src1, &m);
	obuf_fill(&ob, h1, &src1);
	assert_int_equal(ob.holds, 0);
	memmove(want + 1, want, 20000);
	want[0] = 'B';
	memcpy(want + 20001, "refbytes\r\nC", 11);
	len = 20012;
	expect_bytes(&ob, want, len);
	assert_int_equal(ob.bytes, len);
	assert_int_equal(obuf_mem(&ob), m.used);
	obuf_consume(&ob, len);
	assert_true(obuf_empty(&ob));
	assert_int_equal(refs(v), 1);
	obuf_free(&ob);
	obuf_free(&src1);
	obuf_free(&src2);
	assert_int_equal(m.used, 0);
	val_unref(v);
	free(want);
}

/* Many pipelined placeholders, filled in a scrambled order (some empty,
 * some dropped) while the writer drains what is ready: the bytes come out
 * in placeholder order, and every chunk is given back. */
static void test_many_holds_scrambled(void **state)
{
	enum { N = 2000 };
	struct mem m = { 0 };
	struct obuf ob, src;
	struct obuf_mark mk;
	struct obuf_chunk **h = calloc(N, sizeof(*h));
	char *want = malloc(N * 16), piece[16];
	size_t wlen = 0, got = 0;
	unsigned i, k, order;
	struct iovec iov[64];
	int n, j;

	(void)state;
	assert_non_null(h);
	assert_non_null(want);
	obuf_init(&ob, &m);
	for (i = 0; i < N; i++) {
		if (i % 7 != 3) {
			h[i] = obuf_hold(&ob);
			continue;
		}
		/* CLIENT REPLY SKIP: the placeholder stays, dropped. */
		obuf_mark(&ob, &mk);
		h[i] = obuf_hold(&ob);
		obuf_truncate(&ob, &mk);
	}
	for (i = 0; i < N; i++) {
		if (i % 7 == 3 || i % 5 == 0)
			continue; /* dropped, or an empty reply: no bytes */
		wlen += (size_t)snprintf(want + wlen, 16, ":%u\r\n", i);
	}
	/* A permutation of 0..N-1 (7919 is prime to N). */
	for (k = 0; k < N; k++) {
		order = (k * 7919u) % N;
		obuf_init(&src, &m);
		if (order % 5 != 0) {
			int len = snprintf(piece, sizeof(piece), ":%u\r\n", order);
			obuf_append(&src, piece, (size_t)len);
		}
		obuf_fill(&ob, h[order], &src);
		obuf_free(&src);
		/* The writer takes whatever is visible. */
		n = obuf_iov(&ob, iov, 64);
		for (j = 0; j < n; j++) {
			assert_true(got + iov[j].iov_len <= wlen);
			assert_memory_equal(iov[j].iov_base, want + got, iov[j].iov_len);
			got += iov[j].iov_len;
			obuf_consume(&ob, iov[j].iov_len);
		}
	}
	while ((n = obuf_iov(&ob, iov, 64)) > 0)
		for (j = 0; j < n; j++) {
			assert_memory_equal(iov[j].iov_base, want + got, iov[j].iov_len);
			got += iov[j].iov_len;
			obuf_consume(&ob, iov[j].iov_len);
		}
	assert_int_equal(got, wlen);
	assert_int_equal(ob.holds, 0);
	assert_true(obuf_empty(&ob));
	obuf_consume(&ob, 0); /* frees the emptied placeholders left at the head */
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
	free(h);
	free(want);
}

/* A hold at the head and at the tail: filling the tail hold makes the
 * reply's last chunk the tail, so later appends follow it. */
static void test_hold_head_and_tail(void **state)
{
	struct mem m = { 0 };
	struct obuf ob, src;
	struct obuf_chunk *h;

	(void)state;
	obuf_init(&ob, &m);
	h = obuf_hold(&ob);
	assert_ptr_equal(ob.head, h);
	assert_ptr_equal(ob.tail, h);
	assert_false(obuf_empty(&ob));
	obuf_init(&src, &m);
	obuf_append(&src, "reply", 5);
	obuf_fill(&ob, h, &src);
	obuf_append(&ob, "+next", 5);
	expect_bytes(&ob, "reply+next", 10);
	/* A hold whose fill is empty, at the tail. */
	h = obuf_hold(&ob);
	obuf_fill(&ob, h, &src);
	obuf_append(&ob, "!", 1);
	expect_bytes(&ob, "reply+next!", 11);
	/* The only chunk is a hold, filled with nothing. */
	obuf_consume(&ob, 11);
	h = obuf_hold(&ob);
	obuf_fill(&ob, h, &src);
	assert_true(obuf_empty(&ob));
	assert_int_equal(ob.bytes, 0); /* an emptied placeholder may stay, with no bytes */
	obuf_append(&ob, "z", 1);
	expect_bytes(&ob, "z", 1);
	obuf_free(&ob);
	obuf_free(&src);
	assert_int_equal(m.used, 0);
}

/* ---- partial writes ---- */

struct chain {
	struct obuf ob;
	struct val *v1, *v2;
	char *want;
	size_t len;
};

/* data 100 | ref 5002 | data 16684 (two chunks) | ref 4098 | data 50 */
static void chain_build(struct chain *c, struct mem *m)
{
	static const size_t data1 = 100, data2 = OBUF_CHUNK_SIZE + 300, data3 = 50;

	obuf_init(&c->ob, m);
	c->len = 0;
	fill_pattern(c->want, data1, 11);
	obuf_append(&c->ob, c->want, data1);
	c->len += data1;
	memcpy(c->want + c->len, c->v1->data, c->v1->len + 2);
	obuf_append_ref(&c->ob, c->v1, c->v1->data, c->v1->len + 2);
	c->len += c->v1->len + 2;
	fill_pattern(c->want + c->len, data2, 12);
	obuf_append(&c->ob, c->want + c->len, data2);
	c->len += data2;
	memcpy(c->want + c->len, c->v2->data, c->v2->len + 2);
	obuf_append_ref(&c->ob, c->v2, c->v2->data, c->v2->len + 2);
	c->len += c->v2->len + 2;
	fill_pattern(c->want + c->len, data3, 13);
	obuf_append(&c->ob, c->want + c->len, data3);
	c->len += data3;
}

static void chain_vals(struct chain *c)
{
	c->v1 = val_new(5002);
	fill_pattern(c->v1->data, 5000, 21);
	val_seal(c->v1, 5000);
	c->v2 = val_new(4098);
	fill_pattern(c->v2->data, 4096, 22);
	val_seal(c->v2, 4096);
	c->want = malloc(40000);
	assert_non_null(c->want);
}

static void chain_vals_free(struct chain *c)
{
	assert_int_equal(refs(c->v1), 1);
	assert_int_equal(refs(c->v2), 1);
	val_unref(c->v1);
	val_unref(c->v2);
	free(c->want);
}

/* One write of k bytes, for every k; then the rest in a second write. */
static void test_consume_every_offset(void **state)
{
	struct mem m = { 0 };
	struct chain c;
	size_t k, total;

	(void)state;
	chain_vals(&c);
	chain_build(&c, &m);
	total = c.len;
	obuf_free(&c.ob);
	for (k = 0; k <= total; k++) {
		chain_build(&c, &m);
		obuf_consume(&c.ob, k);
		assert_int_equal(c.ob.bytes, total - k);
		expect_bytes(&c.ob, c.want + k, total - k);
		assert_int_equal(obuf_mem(&c.ob), m.used);
		obuf_consume(&c.ob, total - k);
		assert_true(obuf_empty(&c.ob));
		assert_int_equal(visible(&c.ob, NULL), 0);
		obuf_free(&c.ob);
		assert_int_equal(m.used, 0);
	}
	chain_vals_free(&c);
}

/* Writes of one byte at a time through one chain: after each, the first
 * piece starts at the next unsent byte and the rest adds up. */
static void test_consume_byte_by_byte(void **state)
{
	struct mem m = { 0 };
	struct chain c;
	static struct iovec iov[IOV_ALL];
	size_t k;

	(void)state;
	chain_vals(&c);
	chain_build(&c, &m);
	for (k = 0; k < c.len; k++) {
		int n = obuf_iov(&c.ob, iov, IOV_ALL);
		assert_true(n > 0);
		assert_int_equal(((const char *)iov[0].iov_base)[0], c.want[k]);
		assert_int_equal(c.ob.bytes, c.len - k);
		obuf_consume(&c.ob, 1);
	}
	assert_true(obuf_empty(&c.ob));
	/* A full data chunk was kept as the spare, and is accounted. */
	assert_true(m.used > 0);
	assert_int_equal(obuf_mem(&c.ob), m.used);
	obuf_free(&c.ob);
	assert_int_equal(m.used, 0);
	chain_vals_free(&c);
}

/* At most max pieces, starting at the unsent byte. */
static void test_iov_max(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	struct val *v = val_copy("x", 1);
	struct iovec iov[OBUF_IOV_MAX];
	int i, n;

	(void)state;
	obuf_init(&ob, &m);
	for (i = 0; i < 100; i++) {
		obuf_append(&ob, "ab", 2);
		obuf_append_ref(&ob, v, v->data, 3);
	}
	n = obuf_iov(&ob, iov, 3);
	assert_int_equal(n, 3);
	assert_int_equal(iov[0].iov_len, 2);
	assert_int_equal(iov[1].iov_len, 3);
	n = obuf_iov(&ob, iov, OBUF_IOV_MAX);
	assert_int_equal(n, OBUF_IOV_MAX);
	obuf_consume(&ob, 1);
	n = obuf_iov(&ob, iov, 1);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 1);
	assert_int_equal(((char *)iov[0].iov_base)[0], 'b');
	assert_int_equal(refs(v), 101);
	obuf_free(&ob);
	assert_int_equal(refs(v), 1);
	val_unref(v);
	assert_int_equal(m.used, 0);
}

/* ---- mark and truncate ---- */

static void test_mark_truncate(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	struct obuf_mark mk;
	struct val *v = val_copy("value", 5);
	char *big = malloc(20000);
	size_t used_at_mark;

	(void)state;
	assert_non_null(big);
	fill_pattern(big, 20000, 4);
	obuf_init(&ob, &m);
	/* Mark on an empty chain: truncate empties it. */
	obuf_mark(&ob, &mk);
	obuf_append(&ob, big, 20000);
	obuf_append_ref(&ob, v, v->data, 7);
	assert_int_equal(refs(v), 2);
	obuf_truncate(&ob, &mk);
	assert_int_equal(refs(v), 1);
	assert_true(obuf_empty(&ob));
	assert_int_equal(visible(&ob, NULL), 0);
	assert_int_equal(m.used, 0);
	/* Mark inside a chunk: later bytes of that chunk and later chunks go. */
	obuf_append(&ob, "abc", 3);
	obuf_mark(&ob, &mk);
	used_at_mark = m.used;
	obuf_append(&ob, "defg", 4);
	obuf_append(&ob, big, 20000);
	obuf_append_ref(&ob, v, v->data, 7);
	obuf_append(&ob, "tail", 4);
	obuf_truncate(&ob, &mk);
	expect_bytes(&ob, "abc", 3);
	assert_int_equal(ob.bytes, 3);
	assert_int_equal(m.used, used_at_mark);
	assert_int_equal(refs(v), 1);
	obuf_append(&ob, "xyz", 3);
	expect_bytes(&ob, "abcxyz", 6);
	/* Mark right after a reference. */
	obuf_append_ref(&ob, v, v->data, 7);
	obuf_mark(&ob, &mk);
	obuf_append(&ob, "gone", 4);
	obuf_truncate(&ob, &mk);
	expect_bytes(&ob, "abcxyzvalue\r\n", 13);
	assert_int_equal(refs(v), 2);
	obuf_append(&ob, "!", 1);
	expect_bytes(&ob, "abcxyzvalue\r\n!", 14);
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
	val_unref(v);
	free(big);
}

/* A mark taken while the tail is a hold: truncating keeps the hold, which
 * can still be filled. */
static void test_mark_after_hold(void **state)
{
	struct mem m = { 0 };
	struct obuf ob, src;
	struct obuf_mark mk;
	struct obuf_chunk *h;

	(void)state;
	obuf_init(&ob, &m);
	obuf_append(&ob, "a", 1);
	h = obuf_hold(&ob);
	obuf_mark(&ob, &mk);
	obuf_append(&ob, "dropped", 7);
	obuf_truncate(&ob, &mk);
	assert_int_equal(ob.bytes, 1);
	assert_int_equal(ob.holds, 1);
	obuf_init(&src, &m);
	obuf_append(&src, "Z", 1);
	obuf_fill(&ob, h, &src);
	obuf_append(&ob, "b", 1);
	expect_bytes(&ob, "aZb", 3);
	obuf_free(&ob);
	obuf_free(&src);
	assert_int_equal(m.used, 0);
}

/* The spare chunk is reused: a steady stream of replies does not allocate. */
static void test_spare_reuse(void **state)
{
	struct mem m = { 0 };
	struct obuf ob;
	char *buf = malloc(OBUF_CHUNK_SIZE);
	size_t steady;
	int i;

	(void)state;
	assert_non_null(buf);
	fill_pattern(buf, OBUF_CHUNK_SIZE, 8);
	obuf_init(&ob, &m);
	obuf_append(&ob, buf, OBUF_CHUNK_SIZE);
	obuf_consume(&ob, OBUF_CHUNK_SIZE);
	steady = m.used;
	assert_true(steady > 0);
	for (i = 0; i < 100; i++) {
		obuf_append(&ob, buf, OBUF_CHUNK_SIZE);
		expect_bytes(&ob, buf, OBUF_CHUNK_SIZE);
		assert_int_equal(m.used, steady);
		obuf_consume(&ob, OBUF_CHUNK_SIZE);
	}
	assert_int_equal(obuf_mem(&ob), steady);
	obuf_free(&ob);
	assert_int_equal(m.used, 0);
	free(buf);
}

/* ---- replies ---- */

struct fix {
	struct mem m;
	struct obuf ob;
	struct reply r;
	struct errstats es;
};

static struct fix *fix_new(int proto)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	obuf_init(&f->ob, &f->m);
	f->r.ob = &f->ob;
	f->r.proto = (uint8_t)proto;
	f->r.es = &f->es;
	return f;
}

static void fix_free(struct fix *f)
{
	obuf_free(&f->ob);
	assert_int_equal(f->m.used, 0);
	free(f);
}

/* The chain holds exactly want[0, n); then it is written out. */
static void out_n(struct fix *f, const char *want, size_t n)
{
	expect_bytes(&f->ob, want, n);
	assert_int_equal(f->ob.bytes, n);
	obuf_consume(&f->ob, n);
}

static void out(struct fix *f, const char *want)
{
	out_n(f, want, strlen(want));
}

static void test_reply_scalars(void **state)
{
	int proto;

	(void)state;
	for (proto = 2; proto <= 3; proto++) {
		struct fix *f = fix_new(proto);
		reply_ok(&f->r);
		out(f, "+OK\r\n");
		reply_status(&f->r, "PONG");
		out(f, "+PONG\r\n");
		reply_int(&f->r, 0);
		out(f, ":0\r\n");
		reply_int(&f->r, -1);
		out(f, ":-1\r\n");
		reply_int(&f->r, LLONG_MIN);
		out(f, ":-9223372036854775808\r\n");
		reply_int(&f->r, LLONG_MAX);
		out(f, ":9223372036854775807\r\n");
		reply_bulk(&f->r, "foo", 3);
		out(f, "$3\r\nfoo\r\n");
		reply_bulk(&f->r, "", 0);
		out(f, "$0\r\n\r\n");
		reply_bulk(&f->r, "a\r\nb\0", 5);
		out_n(f, "$5\r\na\r\nb\0\r\n", 11);
		reply_bulk_cstr(&f->r, "hello");
		out(f, "$5\r\nhello\r\n");
		reply_bulk_ll(&f->r, -123);
		out(f, "$4\r\n-123\r\n");
		reply_bulk_ll(&f->r, LLONG_MIN);
		out(f, "$20\r\n-9223372036854775808\r\n");
		reply_array(&f->r, 3);
		out(f, "*3\r\n");
		reply_array(&f->r, 0);
		out(f, "*0\r\n");
		reply_empty_array(&f->r);
		out(f, "*0\r\n");
		reply_raw(&f->r, "+raw\r\n", 6);
		out(f, "+raw\r\n");
		fix_free(f);
	}
}

static void test_reply_resp2_forms(void **state)
{
	struct fix *f = fix_new(2);

	(void)state;
	reply_null(&f->r);
	out(f, "$-1\r\n");
	reply_null_array(&f->r);
	out(f, "*-1\r\n");
	reply_map(&f->r, 2);
	out(f, "*4\r\n");
	reply_map(&f->r, 0);
	out(f, "*0\r\n");
	reply_set(&f->r, 2);
	out(f, "*2\r\n");
	reply_bool(&f->r, true);
	out(f, ":1\r\n");
	reply_bool(&f->r, false);
	out(f, ":0\r\n");
	reply_double(&f->r, 1.5);
	out(f, "$3\r\n1.5\r\n");
	reply_double(&f->r, 0.1);
	out(f, "$19\r\n0.10000000000000001\r\n");
	reply_double(&f->r, 3.0);
	out(f, "$1\r\n3\r\n");
	reply_double(&f->r, 1e300);
	out(f, "$23\r\n1.0000000000000001e+300\r\n");
	reply_double(&f->r, INFINITY);
	out(f, "$3\r\ninf\r\n");
	reply_double(&f->r, -INFINITY);
	out(f, "$4\r\n-inf\r\n");
	reply_verbatim(&f->r, "hello", 5, "txt");
	out(f, "$5\r\nhello\r\n");
	reply_verbatim(&f->r, "", 0, "mkd");
	out(f, "$0\r\n\r\n");
	fix_free(f);
}

static void test_reply_resp3_forms(void **state)
{
	struct fix *f = fix_new(3);

	(void)state;
	reply_null(&f->r);
	out(f, "_\r\n");
	reply_null_array(&f->r);
	out(f, "_\r\n");
	reply_map(&f->r, 2);
	out(f, "%2\r\n");
	reply_map(&f->r, 0);
	out(f, "%0\r\n");
	reply_set(&f->r, 2);
	out(f, "~2\r\n");
	reply_bool(&f->r, true);
	out(f, "#t\r\n");
	reply_bool(&f->r, false);
	out(f, "#f\r\n");
	reply_double(&f->r, 1.5);
	out(f, ",1.5\r\n");
	reply_double(&f->r, 0.1);
	out(f, ",0.10000000000000001\r\n");
	reply_double(&f->r, 3.0);
	out(f, ",3\r\n");
	reply_double(&f->r, -0.0);
	out(f, ",-0\r\n");
	reply_double(&f->r, INFINITY);
	out(f, ",inf\r\n");
	reply_double(&f->r, -INFINITY);
	out(f, ",-inf\r\n");
	reply_verbatim(&f->r, "hello", 5, "txt");
	out(f, "=9\r\ntxt:hello\r\n");
	reply_verbatim(&f->r, "", 0, "mkd");
	out(f, "=4\r\nmkd:\r\n");
	fix_free(f);
}

/* A bulk from a val: copied below VAL_REF_MIN, referenced from it on. */
static void test_reply_bulk_val(void **state)
{
	struct fix *f = fix_new(2);
	struct val *small = val_new(VAL_REF_MIN + 1), *big = val_new(VAL_REF_MIN + 2);
	static struct iovec iov[8];
	char *want = malloc(VAL_REF_MIN + 32);
	int n;

	(void)state;
	assert_non_null(want);
	fill_pattern(small->data, VAL_REF_MIN - 1, 1);
	val_seal(small, VAL_REF_MIN - 1);
	fill_pattern(big->data, VAL_REF_MIN, 2);
	val_seal(big, VAL_REF_MIN);
	reply_bulk_val(&f->r, small);
	assert_int_equal(refs(small), 1);
	memcpy(want, "$4095\r\n", 7);
	memcpy(want + 7, small->data, VAL_REF_MIN + 1);
	out_n(f, want, 7 + VAL_REF_MIN + 1);
	reply_bulk_val(&f->r, big);
	assert_int_equal(refs(big), 2);
	n = obuf_iov(&f->ob, iov, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[1].iov_base, big->data);
	assert_int_equal(iov[1].iov_len, VAL_REF_MIN + 2);
	memcpy(want, "$4096\r\n", 7);
	memcpy(want + 7, big->data, VAL_REF_MIN);
	memcpy(want + 7 + VAL_REF_MIN, "\r\n", 2);
	out_n(f, want, 7 + VAL_REF_MIN + 2);
	assert_int_equal(refs(big), 1);
	/* Replies after a reference start a data chunk of their own. */
	reply_bulk_val(&f->r, big);
	reply_int(&f->r, 5);
	reply_ok(&f->r);
	memcpy(want + 7 + VAL_REF_MIN + 2, ":5\r\n+OK\r\n", 9);
	out_n(f, want, 7 + VAL_REF_MIN + 2 + 9);
	val_unref(small);
	val_unref(big);
	fix_free(f);
	free(want);
}

/* Headers written with reserve/unreserve land exactly, whatever room the
 * tail chunk has left. */
static void test_reply_headers_at_chunk_edge(void **state)
{
	char *pad = malloc(OBUF_CHUNK_SIZE), *want = malloc(OBUF_CHUNK_SIZE + 64);
	size_t room;

	(void)state;
	assert_non_null(pad);
	assert_non_null(want);
	fill_pattern(pad, OBUF_CHUNK_SIZE, 6);
	for (room = 0; room <= 40; room++) {
		struct fix *f = fix_new(2);
		size_t padlen = OBUF_CHUNK_SIZE - room;
		static const char tail[] = ":-9223372036854775808\r\n$3\r\nabc\r\n*7\r\n";
		obuf_append(&f->ob, pad, padlen);
		reply_int(&f->r, LLONG_MIN);
		reply_bulk(&f->r, "abc", 3);
		reply_array(&f->r, 7);
		memcpy(want, pad, padlen);
		memcpy(want + padlen, tail, sizeof(tail) - 1);
		out_n(f, want, padlen + sizeof(tail) - 1);
		fix_free(f);
	}
	free(pad);
	free(want);
}

/* Bulks of 0..300 bytes (one reservation up to 256, pieces beyond), each
 * after a pad that leaves its chunk every few bytes of room up to the frame's
 * length and beyond. */
static void test_reply_bulk_lengths_at_chunk_edge(void **state)
{
	char *pad = malloc(OBUF_CHUNK_SIZE), *data = malloc(300);
	char *want = malloc(OBUF_CHUNK_SIZE + 400), frame[400];
	size_t len, room;

	(void)state;
	assert_non_null(pad);
	assert_non_null(data);
	assert_non_null(want);
	fill_pattern(pad, OBUF_CHUNK_SIZE, 8);
	fill_pattern(data, 300, 9);
	for (len = 0; len <= 300; len += (len < 250 ? 50 : 1)) {
		size_t n = (size_t)snprintf(frame, sizeof(frame), "$%zu\r\n", len);
		memcpy(frame + n, data, len);
		memcpy(frame + n + len, "\r\n", 2);
		n += len + 2;
		for (room = 0; room <= n + 30; room += (room < 8 ? 1 : 7)) {
			struct fix *f = fix_new(2);
			size_t padlen = OBUF_CHUNK_SIZE - room;
			obuf_append(&f->ob, pad, padlen);
			reply_bulk(&f->r, data, len);
			memcpy(want, pad, padlen);
			memcpy(want + padlen, frame, n);
			out_n(f, want, padlen + n);
			fix_free(f);
		}
	}
	free(pad);
	free(data);
	free(want);
}

static void test_reply_big_bulk(void **state)
{
	struct fix *f = fix_new(3);
	size_t n = 40000;
	char *data = malloc(n), *want = malloc(n + 16);

	(void)state;
	assert_non_null(data);
	assert_non_null(want);
	fill_pattern(data, n, 7);
	reply_bulk(&f->r, data, n);
	memcpy(want, "$40000\r\n", 8);
	memcpy(want + 8, data, n);
	memcpy(want + 8 + n, "\r\n", 2);
	out_n(f, want, n + 10);
	fix_free(f);
	free(data);
	free(want);
}

/* Bulk strings of every length where the header changes width or the
 * encoder changes path (one reservation up to 999 bytes, appends beyond),
 * each after padding that leaves 0..40 bytes in the chunk. */
static void test_reply_bulk_lengths(void **state)
{
	static const size_t lens[] = { 0,   1,   9,   10,   11,   99,   100,
				       101, 998, 999, 1000, 1001, 9999, 10000 };
	char *data = malloc(10000), *want = malloc(OBUF_CHUNK_SIZE + 10100),
	     *pad = malloc(OBUF_CHUNK_SIZE);
	size_t i, room;

	(void)state;
	assert_non_null(data);
	assert_non_null(want);
	assert_non_null(pad);
	fill_pattern(data, 10000, 8);
	fill_pattern(pad, OBUF_CHUNK_SIZE, 9);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (room = 0; room <= 40; room += 8) {
			struct fix *f = fix_new(2);
			size_t padlen = OBUF_CHUNK_SIZE - room;
			int k;

			obuf_append(&f->ob, pad, padlen);
			reply_bulk(&f->r, data, lens[i]);
			memcpy(want, pad, padlen);
			k = sprintf(want + padlen, "$%zu\r\n", lens[i]);
			memcpy(want + padlen + (size_t)k, data, lens[i]);
			memcpy(want + padlen + (size_t)k + lens[i], "\r\n", 2);
			out_n(f, want, padlen + (size_t)k + lens[i] + 2);
			fix_free(f);
		}
	}
	free(data);
	free(want);
	free(pad);
}

/* ---- the error funnel ---- */

static void test_error_prefix(void **state)
{
	static const struct {
		const char *msg;
		const char *wire;
	} cases[] = {
		{ "wrong number of arguments for 'get' command",
		  "-ERR wrong number of arguments for 'get' command\r\n" },
		{ "-WRONGTYPE Operation against a key holding the wrong kind of value",
		  "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
		{ "-ERR syntax error", "-ERR syntax error\r\n" },
		{ "ERR syntax error", "-ERR ERR syntax error\r\n" },
		{ "-NOAUTH Authentication required.", "-NOAUTH Authentication required.\r\n" },
		{ "-MOVED 3999 127.0.0.1:6381", "-MOVED 3999 127.0.0.1:6381\r\n" },
		{ "Protocol error: invalid bulk length",
		  "-ERR Protocol error: invalid bulk length\r\n" },
		/* Upper-case words are not codes without the '-': Redis's rule. */
		{ "DB index is out of range", "-ERR DB index is out of range\r\n" },
		{ "WRONGTYPE", "-ERR WRONGTYPE\r\n" },
		{ "", "-ERR \r\n" },
		{ " X", "-ERR  X\r\n" },
		{ "Err x", "-ERR Err x\r\n" },
		{ "bad\r\nthing", "-ERR bad  thing\r\n" },
		{ "-CODE x\ry\n", "-CODE x y \r\n" },
	};
	size_t i;
	int proto;

	(void)state;
	for (proto = 2; proto <= 3; proto++) {
		struct fix *f = fix_new(proto);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			reply_error(&f->r, cases[i].msg);
			out(f, cases[i].wire);
			assert_int_equal(f->r.errors, i + 1);
		}
		fix_free(f);
	}
}

/* CR and LF are mapped across the funnel's internal 512-byte pieces. */
static void test_error_long_sanitised(void **state)
{
	struct fix *f = fix_new(2);
	size_t n = 2000, i;
	char *msg = malloc(n), *want = malloc(n + 8);

	(void)state;
	assert_non_null(msg);
	assert_non_null(want);
	memcpy(want, "-ERR ", 5);
	for (i = 0; i < n; i++) {
		msg[i] = i % 7 == 3 ? '\r' : i % 11 == 5 ? '\n' : (char)('a' + i % 26);
		want[5 + i] = msg[i] == '\r' || msg[i] == '\n' ? ' ' : msg[i];
	}
	memcpy(want + 5 + n, "\r\n", 2);
	reply_error_len(&f->r, msg, n);
	out_n(f, want, n + 7);
	fix_free(f);
	free(msg);
	free(want);
}

static void test_errorf(void **state)
{
	struct fix *f = fix_new(2);
	char *arg = malloc(2000), *want = malloc(LOG_LINE_MAX + 16);

	(void)state;
	assert_non_null(arg);
	assert_non_null(want);
	reply_errorf(&f->r, "unknown command '%s', with args beginning with: ", "foo");
	out(f, "-ERR unknown command 'foo', with args beginning with: \r\n");
	reply_errorf(&f->r, "-BUSYKEY Target key name already exists.");
	out(f, "-BUSYKEY Target key name already exists.\r\n");
	/* Longer than the format buffer: cut at LOG_LINE_MAX - 1 bytes. */
	memset(arg, 'q', 1999);
	arg[1999] = '\0';
	reply_errorf(&f->r, "x%s", arg);
	memcpy(want, "-ERR x", 6);
	memset(want + 6, 'q', LOG_LINE_MAX - 2);
	memcpy(want + 4 + LOG_LINE_MAX, "\r\n", 2);
	out_n(f, want, LOG_LINE_MAX + 6);
	fix_free(f);
	free(arg);
	free(want);
}

static uint64_t errstat(const struct errstats *es, const char *name)
{
	uint32_t i;

	for (i = 0; i < es->n; i++)
		if (strcmp(es->e[i].name, name) == 0)
			return es->e[i].count;
	return 0;
}

static void test_errstats(void **state)
{
	struct fix *f = fix_new(2);
	struct reply bare;

	(void)state;
	reply_error(&f->r, "-WRONGTYPE Operation against a key holding the wrong kind of value");
	reply_error(&f->r, "no such key");
	reply_error(&f->r, "-ERR syntax error");
	reply_error(&f->r, "-WRONGTYPE again");
	reply_errorf(&f->r, "-NOAUTH %s", "Authentication required.");
	assert_int_equal(f->es.total, 5);
	assert_int_equal(f->es.n, 3);
	assert_int_equal(errstat(&f->es, "WRONGTYPE"), 2);
	assert_int_equal(errstat(&f->es, "ERR"), 2);
	assert_int_equal(errstat(&f->es, "NOAUTH"), 1);
	assert_int_equal(f->r.errors, 5);
	/* No counters attached: the reply is the same, only r.errors counts. */
	bare = f->r;
	bare.es = NULL;
	bare.errors = 0;
	obuf_consume(&f->ob, f->ob.bytes);
	reply_error(&bare, "-WRONGTYPE x");
	out(f, "-WRONGTYPE x\r\n");
	assert_int_equal(bare.errors, 1);
	assert_int_equal(f->es.total, 5);
	fix_free(f);
}

/* At most ERRSTATS_MAX distinct codes; past that only the total counts,
 * and known codes still count. */
static void test_errstats_limit(void **state)
{
	struct fix *f = fix_new(2);
	char msg[16];
	int i;

	(void)state;
	for (i = 0; i < ERRSTATS_MAX + 5; i++) {
		snprintf(msg, sizeof(msg), "-X%c%c oops", 'A' + i / 26, 'A' + i % 26);
		reply_error(&f->r, msg);
	}
	assert_int_equal(f->es.n, ERRSTATS_MAX);
	assert_int_equal(f->es.total, ERRSTATS_MAX + 5);
	for (i = 0; i < ERRSTATS_MAX + 5; i++) {
		snprintf(msg, sizeof(msg), "X%c%c", 'A' + i / 26, 'A' + i % 26);
		assert_int_equal(errstat(&f->es, msg), i < ERRSTATS_MAX ? 1 : 0);
	}
	reply_error(&f->r, "-XAA again");
	assert_int_equal(errstat(&f->es, "XAA"), 2);
	assert_int_equal(f->es.total, ERRSTATS_MAX + 6);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_across_chunks),
		cmocka_unit_test(test_reserve_unreserve),
		cmocka_unit_test(test_append_ref_lifetime),
		cmocka_unit_test(test_append_ref_outlives_owner),
		cmocka_unit_test(test_hold_and_fill),
		cmocka_unit_test(test_hold_head_and_tail),
		cmocka_unit_test(test_many_holds_scrambled),
		cmocka_unit_test(test_consume_every_offset),
		cmocka_unit_test(test_consume_byte_by_byte),
		cmocka_unit_test(test_iov_max),
		cmocka_unit_test(test_mark_truncate),
		cmocka_unit_test(test_mark_after_hold),
		cmocka_unit_test(test_spare_reuse),
		cmocka_unit_test(test_reply_scalars),
		cmocka_unit_test(test_reply_resp2_forms),
		cmocka_unit_test(test_reply_resp3_forms),
		cmocka_unit_test(test_reply_bulk_val),
		cmocka_unit_test(test_reply_headers_at_chunk_edge),
		cmocka_unit_test(test_reply_bulk_lengths_at_chunk_edge),
		cmocka_unit_test(test_reply_big_bulk),
		cmocka_unit_test(test_reply_bulk_lengths),
		cmocka_unit_test(test_error_prefix),
		cmocka_unit_test(test_error_long_sanitised),
		cmocka_unit_test(test_errorf),
		cmocka_unit_test(test_errstats),
		cmocka_unit_test(test_errstats_limit),
	};

	return cmocka_run_group_tests_name("obuf_reply", tests, NULL, NULL);
}
