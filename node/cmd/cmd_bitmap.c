/* cmd_bitmap.c: the bit commands on strings (SETBIT, GETBIT, BITCOUNT,
 * BITPOS, BITOP, BITFIELD, BITFIELD_RO).
 *
 * Each follows Redis's bitops.c: bits are numbered from the most significant
 * bit of the first byte; a missing key is an endless run of zero bits; a
 * write grows the string with zero bytes up to the byte it touches and
 * leaves it raw (as Redis unshares it). Offsets are refused at
 * proto-max-bulk-len bytes (2^32 bits by default). BITCOUNT and BITPOS check
 * their arguments before the key, as Redis 7.2 does (7.0 looked the key up
 * first, so a missing key answered 0 or -1 to bad arguments): the
 * differential corpus marks those lines. */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"

#define ERR_BIT_OFFSET "bit offset is not an integer or out of range"
#define ERR_BIT_VALUE "bit is not an integer or out of range"
#define ERR_BIT_ARG "The bit argument must be 1 or 0."
#define ERR_BITFIELD_TYPE                                                                          \
	"Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "    \
	"i64 is."
#define ERR_OVERFLOW_TYPE "Invalid OVERFLOW type specified"
#define ERR_BITOP_NOT "BITOP NOT must be called with a single source key."
#define ERR_BITFIELD_RO "BITFIELD_RO only supports the GET subcommand"

/* ---- helpers ---- */

/* Redis's getBitOffsetFromArgument: a bit offset, "#N" (N fields of `bits`
 * bits) where allowed; refused when negative or at proto-max-bulk-len bytes
 * or beyond. */
static bool bit_offset(struct cmd_ctx *c, const struct cmd_arg *a, bool hash, int bits,
		       uint64_t *out)
{
	bool usehash = hash && bits > 0 && a->len > 0 && a->p[0] == '#';
	long long off;

	if (!util_str2ll(a->p + usehash, a->len - usehash, &off))
		goto bad;
	if (usehash && __builtin_mul_overflow(off, (long long)bits, &off))
		goto bad;
	if (off < 0 || (off >> 3) >= c->env->cfg->proto_max_bulk_len)
		goto bad;
	*out = (uint64_t)off;
	return true;
bad:
	reply_error(c->r, ERR_BIT_OFFSET);
	return false;
}

/* The string at argv[1] to read: *p and *len (a missing key is empty). An
 * integer is read as its text, formatted into buf. False after WRONGTYPE. */
static bool bit_read(struct cmd_ctx *c, const char **p, size_t *len, char *buf, bool *found)
{
	struct kv *e;

	if (!cmd_lookup_read(c, c->ks, &c->argv[1], KV_STRING, &e))
		return false;
	*found = e != NULL;
	*p = e != NULL ? str_value(e, buf, len) : "";
	if (e == NULL)
		*len = 0;
	return true;
}

/* Redis's lookupStringForBitCommand: the string at argv[1], created or
 * grown with zero bytes so that byte `byte` exists, made raw; returns a
 * writable pointer (valid until the keyspace changes) and the length, or
 * NULL after WRONGTYPE. *dirty says whether it was created or grown. */
static unsigned char *bit_write(struct cmd_ctx *c, uint64_t byte, size_t *len, bool *dirty)
{
	const struct cmd_arg *key = &c->argv[1];
	size_t old = 0;
	struct kv *e;

	if (!cmd_lookup_write(c, c->ks, key, KV_STRING, &e))
		return NULL;
	if (e == NULL) {
		struct kval empty;
		str_kval_raw(&empty, "", 0);
		e = ks_set(c->ks, key->p, key->len, &empty, KS_TTL_NONE);
	} else {
		old = str_value_len(e);
	}
	ASSERT(byte < (uint64_t)PROTO_BULK_MAX_MAX);
	*len = old > byte ? old : (size_t)byte + 1;
	*dirty = *len > old; /* a created string grows from 0 */
	return (unsigned char *)ks_edit(c->ks, &e, *len);
}

static long long popcount(const unsigned char *p, size_t n)
{
	long long count = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		count += __builtin_popcountll(w);
	}
	for (; i < n; i++)
		count += __builtin_popcount(p[i]);
	return count;
}

/* Redis's redisBitpos: the first bit equal to bit in p[0, n), counted from
 * p; not found: -1 when looking for a 1, n * 8 when looking for a 0 (the
 * string is padded with zeros on the right). */
static long long bitpos_raw(const unsigned char *p, size_t n, int bit)
{
	unsigned char skip = bit ? 0 : 0xff;
	size_t i;
	int k;

	for (i = 0; i < n && p[i] == skip; i++)
		;
	if (i == n)
		return bit ? -1 : (long long)n * 8;
	for (k = 7; k >= 0; k--)
		if (((p[i] >> k) & 1) == bit)
			return (long long)i * 8 + (7 - k);
	ASSERT_NOT_REACHED("bitpos: a byte with no such bit");
	return -1;
}

/* ---- SETBIT, GETBIT ---- */

void cmd_setbit(struct cmd_ctx *c)
{
	uint64_t off;
	unsigned char *p;
	long long on;
	size_t len;
	int bit, old;
	bool dirty;

	if (!bit_offset(c, &c->argv[2], false, 0, &off))
		return;
	if (!cmd_arg_ll(c, &c->argv[3], &on, ERR_BIT_VALUE))
		return;
	if (on & ~1LL) {
		reply_error(c->r, ERR_BIT_VALUE);
		return;
	}
	p = bit_write(c, off >> 3, &len, &dirty);
	if (p == NULL)
		return;
	ASSERT((off >> 3) < len);
	bit = 7 - (int)(off & 7);
	old = (p[off >> 3] >> bit) & 1;
	p[off >> 3] = (unsigned char)((p[off >> 3] & ~(1 << bit)) | (on << bit));
	/* Redis 7.0 reports a created or grown string, or a changed bit. */
	if (dirty || old != on)
		ks_notify(c->ks, CONFIG_NOTIFY_STRING, "setbit", c->argv[1].p, c->argv[1].len);
	reply_int(c->r, old);
}

void cmd_getbit(struct cmd_ctx *c)
{
	char buf[UTIL_LL_CHARS];
	const char *p;
	uint64_t off;
	size_t len;
	bool found;

	if (!bit_offset(c, &c->argv[2], false, 0, &off))
		return;
	if (!bit_read(c, &p, &len, buf, &found))
		return;
	if ((off >> 3) >= len) {
		reply_int(c->r, 0);
		return;
	}
	reply_int(c->r, ((unsigned char)p[off >> 3] >> (7 - (off & 7))) & 1);
}

/* ---- BITCOUNT, BITPOS: ranges ---- */

struct bit_range {
	long long start, end;  /* bytes, inclusive, after clamping */
	unsigned char neg[2];  /* bits of the first and last byte outside a BIT range */
	bool empty, end_given; /* the range holds nothing; BITPOS had an end */
};

/* BYTE or BIT at argv[i]; true for BIT. False after a syntax error. */
static bool bit_unit(struct cmd_ctx *c, int i, bool *isbit)
{
	*isbit = false;
	if (i >= c->argc)
		return true;
	if (cmd_arg_cstr_eq(&c->argv[i], "bit")) {
		*isbit = true;
		return true;
	}
	if (cmd_arg_cstr_eq(&c->argv[i], "byte"))
		return true;
	cmd_syntax_error(c);
	return false;
}

/* Resolves start and end (bytes, or bits with isbit) against a string of
 * len bytes, as Redis does: negative from the end, clamped, and for bits,
 * the masks of the edge bytes. */
static void bit_resolve(long long start, long long end, bool isbit, size_t len, struct bit_range *r)
{
	long long total = (long long)len * (isbit ? 8 : 1);

	r->neg[0] = r->neg[1] = 0;
	if (start < 0)
		start += total;
	if (end < 0)
		end += total;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= total)
		end = total - 1;
	if (isbit && start <= end) {
		r->neg[0] = (unsigned char)(~((1u << (8 - (start & 7))) - 1) & 0xff);
		r->neg[1] = (unsigned char)((1u << (7 - (end & 7))) - 1);
		start >>= 3;
		end >>= 3;
	}
	r->start = start;
	r->end = end;
	r->empty = start > end;
}

void cmd_bitcount(struct cmd_ctx *c)
{
	long long start = 0, end = -1, count;
	char buf[UTIL_LL_CHARS];
	struct bit_range r;
	bool isbit = false, found;
	const char *p;
	size_t len;

	if (c->argc == 3 || c->argc > 5) {
		cmd_syntax_error(c);
		return;
	}
	if (c->argc >= 4 && (!cmd_arg_ll(c, &c->argv[2], &start, NULL) ||
			     !cmd_arg_ll(c, &c->argv[3], &end, NULL) || !bit_unit(c, 4, &isbit)))
		return;
	if (!bit_read(c, &p, &len, buf, &found))
		return;
	if (c->argc >= 4 && start < 0 && end < 0 && start > end) {
		reply_int(c->r, 0);
		return;
	}
	bit_resolve(start, end, isbit, len, &r);
	if (r.empty || len == 0) {
		reply_int(c->r, 0);
		return;
	}
	count = popcount((const unsigned char *)p + r.start, (size_t)(r.end - r.start + 1));
	count -= __builtin_popcount((unsigned char)p[r.start] & r.neg[0]);
	count -= __builtin_popcount((unsigned char)p[r.end] & r.neg[1]);
	reply_int(c->r, count);
}

/* BITPOS over the resolved range, edge bytes masked (Redis 7's algorithm,
 * byte for byte in its results). */
static long long bitpos_range(const unsigned char *p, const struct bit_range *r, int bit)
{
	long long start = r->start, bytes = r->end - r->start + 1, pos, cur;
	unsigned char t;

	if (r->neg[0]) {
		t = bit ? p[start] & ~r->neg[0] : p[start] | r->neg[0];
		if (r->neg[1] && bytes == 1)
			t = bit ? t & ~r->neg[1] : t | r->neg[1];
		pos = bitpos_raw(&t, 1, bit);
		if (bytes == 1 || (pos != -1 && pos != 8))
			goto out;
		start++;
		bytes--;
	}
	cur = bytes - (r->neg[1] ? 1 : 0);
	if (cur > 0) {
		pos = bitpos_raw(p + start, (size_t)cur, bit);
		if (bytes == cur || (pos != -1 && pos != cur * 8))
			goto out;
		start += cur;
		bytes -= cur;
	}
	t = bit ? p[r->end] & ~r->neg[1] : p[r->end] | r->neg[1];
	pos = bitpos_raw(&t, 1, bit);
out:
	if (r->end_given && bit == 0 && pos == bytes * 8)
		return -1;
	return pos != -1 ? pos + start * 8 : -1;
}

void cmd_bitpos(struct cmd_ctx *c)
{
	long long bit, start = 0, end = 0;
	char buf[UTIL_LL_CHARS];
	struct bit_range r = { 0 };
	bool isbit = false, found;
	const char *p;
	size_t len;

	if (!cmd_arg_ll(c, &c->argv[2], &bit, NULL))
		return;
	if (bit != 0 && bit != 1) {
		reply_error(c->r, ERR_BIT_ARG);
		return;
	}
	if (c->argc > 6) {
		cmd_syntax_error(c);
		return;
	}
	if (c->argc >= 4 && !cmd_arg_ll(c, &c->argv[3], &start, NULL))
		return;
	if (c->argc == 6 && !bit_unit(c, 5, &isbit))
		return;
	if (c->argc >= 5 && !cmd_arg_ll(c, &c->argv[4], &end, NULL))
		return;
	if (!bit_read(c, &p, &len, buf, &found))
		return;
	if (!found) {
		reply_int(c->r, bit ? -1 : 0);
		return;
	}
	if (c->argc < 5)
		end = isbit ? (long long)len * 8 + 7 : (long long)len - 1;
	bit_resolve(start, end, isbit, len, &r);
	r.end_given = c->argc >= 5;
	reply_int(c->r, r.empty ? -1 : bitpos_range((const unsigned char *)p, &r, (int)bit));
}

/* ---- BITOP ---- */

enum bitop { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* Looks every source up; false after WRONGTYPE. Sources are copied, since
 * the destination may be one of them. */
static bool bitop_sources(struct cmd_ctx *c, char **src, size_t *len, size_t *maxlen)
{
	int j, n = c->argc - 3;

	*maxlen = 0;
	for (j = 0; j < n; j++) {
		const struct cmd_arg *k = &c->argv[j + 3];
		char buf[UTIL_LL_CHARS];
		const char *p;
		struct kv *e;
		src[j] = NULL;
		len[j] = 0;
		if (!cmd_lookup_read(c, cmd_ks(c, k->p, k->len), k, KV_STRING, &e))
			return false;
		if (e == NULL)
			continue;
		p = str_value(e, buf, &len[j]);
		src[j] = mem_alloc(c->env->mem, len[j] + 1);
		memcpy(src[j], p, len[j]);
		*maxlen = len[j] > *maxlen ? len[j] : *maxlen;
	}
	return true;
}

static void bitop_compute(enum bitop op, char **src, const size_t *len, int n, unsigned char *res,
			  size_t maxlen)
{
	size_t i;
	int j;

	for (i = 0; i < maxlen; i++) {
		unsigned char out = i < len[0] ? (unsigned char)src[0][i] : 0;
		if (op == BITOP_NOT)
			out = (unsigned char)~out;
		for (j = 1; j < n; j++) {
			unsigned char b = i < len[j] ? (unsigned char)src[j][i] : 0;
			if (op == BITOP_AND)
				out &= b;
			else if (op == BITOP_OR)
				out |= b;
			else
				out ^= b;
		}
		res[i] = out;
	}
}

void cmd_bitop(struct cmd_ctx *c)
{
	const struct cmd_arg *name = &c->argv[1], *dst = &c->argv[2];
	int n = c->argc - 3, j;
	enum bitop op;
	size_t *len, maxlen;
	char **src;
	bool ok;

	if (cmd_arg_cstr_eq(name, "and"))
		op = BITOP_AND;
	else if (cmd_arg_cstr_eq(name, "or"))
		op = BITOP_OR;
	else if (cmd_arg_cstr_eq(name, "xor"))
		op = BITOP_XOR;
	else if (cmd_arg_cstr_eq(name, "not"))
		op = BITOP_NOT;
	else {
		cmd_syntax_error(c);
		return;
	}
	if (op == BITOP_NOT && c->argc != 4) {
		reply_error(c->r, ERR_BITOP_NOT);
		return;
	}
	src = mem_calloc(c->env->mem, (size_t)n * sizeof(*src));
	len = mem_calloc(c->env->mem, (size_t)n * sizeof(*len));
	ok = bitop_sources(c, src, len, &maxlen);
	if (ok) {
		struct keyspace *dks = cmd_ks(c, dst->p, dst->len);
		if (maxlen > 0) {
			struct kval v;
			unsigned char *res = mem_alloc(c->env->mem, maxlen);
			bitop_compute(op, src, len, n, res, maxlen);
			/* Stored as Redis's setKey stores it: raw, never an int. */
			str_kval_raw(&v, (const char *)res, maxlen);
			ks_lookup_write(dks, dst->p, dst->len);
			ks_set(dks, dst->p, dst->len, &v, KS_TTL_NONE);
			ks_notify(dks, CONFIG_NOTIFY_STRING, "set", dst->p, dst->len);
			mem_free(c->env->mem, res);
		} else if (ks_delete_stale(dks, dst->p, dst->len)) {
			ks_notify(dks, CONFIG_NOTIFY_GENERIC, "del", dst->p, dst->len);
		}
		reply_int(c->r, (long long)maxlen);
	}
	for (j = 0; j < n; j++)
		mem_free(c->env->mem, src[j]);
	mem_free(c->env->mem, src);
	mem_free(c->env->mem, len);
}

/* ---- BITFIELD ---- */

enum bf_op { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

struct bf_step {
	uint64_t offset;
	long long value;
	uint8_t op, overflow, bits;
	bool sign;
};

static uint64_t bf_get_u(const unsigned char *p, uint64_t off, unsigned bits)
{
	uint64_t v = 0;

	while (bits--) {
		v = (v << 1) | ((p[off >> 3] >> (7 - (off & 7))) & 1);
		off++;
	}
	return v;
}

static int64_t bf_get_s(const unsigned char *p, uint64_t off, unsigned bits)
{
	uint64_t u = bf_get_u(p, off, bits);

	if (bits < 64 && (u & (1ull << (bits - 1))))
		u |= ~0ull << bits;
	return (int64_t)u;
}

static void bf_set(unsigned char *p, uint64_t off, unsigned bits, uint64_t v)
{
	unsigned j;

	for (j = 0; j < bits; j++, off++) {
		unsigned b = (v >> (bits - 1 - j)) & 1, sh = 7 - (unsigned)(off & 7);
		p[off >> 3] = (unsigned char)((p[off >> 3] & ~(1u << sh)) | (b << sh));
	}
}

/* Redis's checkUnsignedBitfieldOverflow: whether value + incr leaves the
 * field's range; *lim is the value to store for WRAP and SAT. */
static bool bf_over_u(uint64_t value, int64_t incr, unsigned bits, int ow, uint64_t *lim)
{
	uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
	int64_t maxincr = (int64_t)(max - value), minincr = -(int64_t)value;
	bool up = value > max || (incr > 0 && incr > maxincr);

	if (!up && !(incr < 0 && incr < minincr))
		return false;
	if (ow == BF_WRAP)
		*lim = (value + (uint64_t)incr) & ~(~0ull << bits);
	else if (ow == BF_SAT)
		*lim = up ? max : 0;
	return true;
}

/* Redis's checkSignedBitfieldOverflow. */
static bool bf_over_s(int64_t value, int64_t incr, unsigned bits, int ow, int64_t *lim)
{
	int64_t max = bits == 64 ? INT64_MAX : (int64_t)((1ull << (bits - 1)) - 1);
	int64_t min = -max - 1;
	int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
	int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
	bool up = value > max || (bits != 64 && incr > maxincr) ||
		  (value >= 0 && incr > 0 && incr > maxincr);
	bool down = value < min || (bits != 64 && incr < minincr) ||
		    (value < 0 && incr < 0 && incr < minincr);
	uint64_t r;

	if (!up && !down)
		return false;
	if (ow == BF_SAT) {
		*lim = up ? max : min;
	} else if (ow == BF_WRAP) {
		r = (uint64_t)value + (uint64_t)incr;
		if (bits < 64)
			r = (r & (1ull << (bits - 1))) ? r | (~0ull << bits) : r & ~(~0ull << bits);
		*lim = (int64_t)r;
	}
	return true;
}

/* Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63, read as a C
 * string. */
static bool bf_type(struct cmd_ctx *c, const struct cmd_arg *a, bool *sign, unsigned *bits)
{
	size_t n = cmd_arg_cstr_len(a);
	long long b;

	if (n < 2 || (a->p[0] != 'i' && a->p[0] != 'u') || !util_str2ll(a->p + 1, n - 1, &b) ||
	    b < 1 || b > (a->p[0] == 'i' ? 64 : 63)) {
		reply_error(c->r, ERR_BITFIELD_TYPE);
		return false;
	}
	*sign = a->p[0] == 'i';
	*bits = (unsigned)b;
	return true;
}

/* Parses BITFIELD's operations into steps (n of them); *high is the last
 * bit a write reaches, *writes whether any step writes. False after an
 * error reply. */
static bool bf_parse(struct cmd_ctx *c, struct bf_step *steps, int *n, uint64_t *high, bool *writes)
{
	int j, ow = BF_WRAP;

	*n = 0;
	*high = 0;
	*writes = false;
	for (j = 2; j < c->argc; j++) {
		int rem = c->argc - j - 1;
		const struct cmd_arg *a = &c->argv[j];
		struct bf_step *s = &steps[*n];
		unsigned bits;
		bool sign;
		if (cmd_arg_cstr_eq(a, "overflow") && rem >= 1) {
			const struct cmd_arg *t = &c->argv[++j];
			if (cmd_arg_cstr_eq(t, "wrap"))
				ow = BF_WRAP;
			else if (cmd_arg_cstr_eq(t, "sat"))
				ow = BF_SAT;
			else if (cmd_arg_cstr_eq(t, "fail"))
				ow = BF_FAIL;
			else {
				reply_error(c->r, ERR_OVERFLOW_TYPE);
				return false;
			}
			continue;
		}
		if (cmd_arg_cstr_eq(a, "get") && rem >= 2)
			s->op = BF_GET;
		else if (cmd_arg_cstr_eq(a, "set") && rem >= 3)
			s->op = BF_SET;
		else if (cmd_arg_cstr_eq(a, "incrby") && rem >= 3)
			s->op = BF_INCRBY;
		else {
			cmd_syntax_error(c);
			return false;
		}
		if (!bf_type(c, &c->argv[j + 1], &sign, &bits) ||
		    !bit_offset(c, &c->argv[j + 2], true, (int)bits, &s->offset))
			return false;
		s->value = 0;
		if (s->op != BF_GET) {
			*writes = true;
			if (*high < s->offset + bits - 1)
				*high = s->offset + bits - 1;
			if (!cmd_arg_ll(c, &c->argv[j + 3], &s->value, NULL))
				return false;
		}
		s->sign = sign;
		s->bits = (uint8_t)bits;
		s->overflow = (uint8_t)ow;
		(*n)++;
		j += s->op == BF_GET ? 2 : 3;
	}
	return true;
}

/* A write step (SET or INCRBY) on the writable string p: 0 when an
 * overflow with FAIL left it unwritten, 1 when it wrote the value the field
 * had, 2 when it changed the field. */
static int bf_write(struct cmd_ctx *c, unsigned char *p, const struct bf_step *s)
{
	bool over;

	if (s->sign) {
		int64_t old = bf_get_s(p, s->offset, s->bits), nv, lim = 0, ret;
		if (s->op == BF_INCRBY) {
			over = bf_over_s(old, s->value, s->bits, s->overflow, &lim);
			nv = over ? lim : (int64_t)((uint64_t)old + (uint64_t)s->value);
			ret = nv;
		} else {
			over = bf_over_s(s->value, 0, s->bits, s->overflow, &lim);
			nv = over ? lim : s->value;
			ret = old;
		}
		if (over && s->overflow == BF_FAIL) {
			reply_null(c->r);
			return 0;
		}
		reply_int(c->r, ret);
		bf_set(p, s->offset, s->bits, (uint64_t)nv);
		return nv != old ? 2 : 1;
	} else {
		uint64_t old = bf_get_u(p, s->offset, s->bits), nv, lim = 0, ret;
		if (s->op == BF_INCRBY) {
			over = bf_over_u(old, s->value, s->bits, s->overflow, &lim);
			nv = over ? lim : old + (uint64_t)s->value;
			ret = nv;
		} else {
			over = bf_over_u((uint64_t)s->value, 0, s->bits, s->overflow, &lim);
			nv = over ? lim : (uint64_t)s->value;
			ret = old;
		}
		if (over && s->overflow == BF_FAIL) {
			reply_null(c->r);
			return 0;
		}
		reply_int(c->r, (long long)ret);
		bf_set(p, s->offset, s->bits, nv);
		return nv != old ? 2 : 1;
	}
}

/* A GET step on p[0, len): the field, zero past the end. */
static void bf_read(struct cmd_ctx *c, const unsigned char *p, size_t len, const struct bf_step *s)
{
	unsigned char buf[9] = { 0 };
	uint64_t byte = s->offset >> 3;
	int i;

	for (i = 0; i < 9 && p != NULL && byte + (uint64_t)i < len; i++)
		buf[i] = p[byte + (uint64_t)i];
	if (s->sign)
		reply_int(c->r, bf_get_s(buf, s->offset - byte * 8, s->bits));
	else
		reply_int(c->r, (long long)bf_get_u(buf, s->offset - byte * 8, s->bits));
}

static void bitfield(struct cmd_ctx *c, bool ro)
{
	struct bf_step *steps = mem_alloc(c->env->mem, (size_t)c->argc * sizeof(*steps));
	char buf[UTIL_LL_CHARS];
	const unsigned char *rp = NULL;
	unsigned char *wp = NULL;
	uint64_t high;
	bool writes, found, dirty;
	size_t len = 0;
	int n, i, changes = 0;

	if (!bf_parse(c, steps, &n, &high, &writes))
		goto out;
	if (writes && ro) {
		reply_error(c->r, ERR_BITFIELD_RO);
		goto out;
	}
	if (!writes) {
		const char *p;
		if (!bit_read(c, &p, &len, buf, &found))
			goto out;
		rp = (const unsigned char *)p;
	} else if ((wp = bit_write(c, high >> 3, &len, &dirty)) == NULL) {
		goto out;
	}
	reply_array(c->r, n);
	for (i = 0; i < n; i++) {
		if (steps[i].op == BF_GET)
			bf_read(c, wp != NULL ? wp : rp, len, &steps[i]);
		else
			changes += bf_write(c, wp, &steps[i]) > (dirty ? 0 : 1);
	}
	/* As Redis 7.0: a SET or INCRBY that wrote counts as a change when it
	 * changed the field or the string was created or grown (one that FAIL
	 * stopped never does). */
	if (changes > 0)
		ks_notify(c->ks, CONFIG_NOTIFY_STRING, "setbit", c->argv[1].p, c->argv[1].len);
out:
	mem_free(c->env->mem, steps);
}

void cmd_bitfield(struct cmd_ctx *c)
{
	bitfield(c, false);
}

void cmd_bitfield_ro(struct cmd_ctx *c)
{
	bitfield(c, true);
}
