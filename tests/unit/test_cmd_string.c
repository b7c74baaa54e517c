/* test_cmd_string.c: unit tests of the string commands (node/cmd/cmd_string.c)
 * against a key of another type, and of typed values in the keyspace.
 *
 * Goal: every string command answers a key that holds another type as Redis
 * 7.0.15 does: WRONGTYPE where Redis checks the type (GET, GETSET, GETDEL,
 * GETEX, SET ... GET, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE, INCR and
 * friends), an overwrite where Redis overwrites (SET, SETEX, PSETEX, MSET),
 * a null in MGET, "exists" for SETNX, SET NX and MSETNX; argument errors
 * that Redis checks first still come first. A refused command changes
 * nothing: the same object under the key, the same type, no dirty count,
 * the same memory, and the keyspace's invariants hold (ks_check). TYPE,
 * OBJECT ENCODING, COPY, RENAME, DEL, SCAN TYPE and an async FLUSHALL handle
 * the value through its type's hooks, and the memory account comes back to
 * where it started. LCS's transient table is bounded by proto-max-bulk-len
 * at its exact edge and always freed.
 *
 * Method: one shard's command environment (struct cmd_env) built by hand
 * around a keyspace whose table of types (ks_use_types) adds a test "hash"
 * type: an object of a few accounted bytes with free, dup, size and
 * encoding hooks, as data/t_hash.c will have. Each case stores "h" as such
 * an object, runs the command through cmd_check() and cmd_run() exactly as
 * a connection does, and compares the RESP2 reply byte for byte with what
 * redis-server 7.0.15 answers for a hash key (recorded with redis-cli).
 * The backend is not needed: the io.h functions the core references are
 * stubs here, and the clock stands still. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/stats.h"
#include "cmd/cmd.h"
#include "data/types.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "io/io.h"
#include "proto/obuf.h"
#include "proto/reply.h"

#define CHECK(ks) assert_int_equal(ks_check(ks), 0)
#define NOW_NS (1700000000000ull * 1000000ull)
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

/* ---- the io.h functions the core references: none is used here but the
 * clock and the random source ---- */

uint64_t io_now_ns(struct io *io)
{
	(void)io;
	return NOW_NS;
}

uint64_t io_random_u64(struct io *io)
{
	(void)io;
	return 4; /* chosen by a fair die */
}

#pragma GCC diagnostic ignored "-Wunused-parameter"
#define IO_UNUSED(ret, name, ...)                                                                  \
	ret name(__VA_ARGS__)                                                                      \
	{                                                                                          \
		fail_msg("%s called", #name);                                                      \
		abort();                                                                           \
	}
IO_UNUSED(int, io_accept, struct io *io, int l, uint64_t ud)
IO_UNUSED(int, io_recv, struct io *io, int s, uint64_t ud)
IO_UNUSED(int, io_recv_stop, struct io *io, int s)
IO_UNUSED(int, io_writev, struct io *io, int s, const struct iovec *v, int n, uint64_t ud)
IO_UNUSED(int, io_close, struct io *io, int s, uint64_t ud)
IO_UNUSED(int, io_timer, struct io *io, uint64_t ns, uint64_t ud)
IO_UNUSED(void, io_flush, struct io *io)
IO_UNUSED(int, io_reap, struct io *io, struct io_cqe *out, int max)
IO_UNUSED(const char *, io_buf, struct io *io, uint16_t b)
IO_UNUSED(void, io_buf_recycle, struct io *io, uint16_t b)
IO_UNUSED(void, io_wait, struct io *io, uint64_t ns)
IO_UNUSED(void, io_wake, struct io *io, unsigned t)
IO_UNUSED(void, io_log, struct io *io, enum io_log_level l, const char *m, size_t n)
IO_UNUSED(void, io_block, struct io *io, uint64_t ns)
IO_UNUSED(int, io_sock_name, struct io *io, int s, bool peer, char *b, size_t n)
IO_UNUSED(void, io_proc_stats, struct io *io, struct io_proc_stats *out)
IO_UNUSED(void, io_release_memory, struct io *io)
IO_UNUSED(void, io_shutdown, struct io *io)
IO_UNUSED(int64_t, io_file_read, struct io *io, const char *p, char *b, size_t n)
IO_UNUSED(int, io_file_replace, struct io *io, const char *p, const char *d, size_t n)
IO_UNUSED(int, io_connect, struct io *io, const char *ip, uint16_t port, uint64_t t, uint64_t ud)

/* ---- a second type: a few accounted bytes, as a small hash would be ---- */

struct blob {
	size_t n;
	char data[];
};

static void blob_free(struct mem *mem, void *obj, unsigned enc)
{
	assert_int_equal(enc, 0);
	mem_free(mem, obj);
}

static void *blob_dup(struct mem *mem, const void *obj, unsigned enc)
{
	const struct blob *b = obj;
	struct blob *c = mem_alloc(mem, sizeof(*c) + b->n);

	assert_int_equal(enc, 0);
	memcpy(c, b, sizeof(*c) + b->n);
	return c;
}

static size_t blob_size(const void *obj, unsigned enc)
{
	assert_int_equal(enc, 0);
	return mem_size(obj);
}

static const char *blob_encoding(const void *obj, unsigned enc)
{
	(void)obj;
	assert_int_equal(enc, 0);
	return "listpack";
}

static const struct kv_type_ops blob_type = {
	.name = "hash",
	.free = blob_free,
	.dup = blob_dup,
	.size = blob_size,
	.encoding = blob_encoding,
};

static const struct kv_type_ops *test_types[KV_TYPE_COUNT];

/* ---- one shard's command environment ---- */

struct shard_env {
	struct config cfg;
	struct cmd_index cmds;
	struct mem mem;
	struct stats st;
	struct errstats es;
	struct cmd_stat cstat[CMDID_COUNT];
	struct clock clock;
	struct keyspace ks;
	struct keyspace *keyspaces[1];
	uint16_t slot_shard[HASH_SLOTS];
	struct cmd_env env;
	struct obuf out;
};

/* The clock's backend: never looked inside (io_now_ns above ignores it). */
static char fake_io;

static bool no_make_room(void *host)
{
	(void)host;
	return 0;
}

static uint64_t ks_rnd(void *arg)
{
	(void)arg;
	return 7;
}

static struct shard_env *env_new(void)
{
	struct shard_env *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	test_types[KV_STRING] = kv_types[KV_STRING];
	test_types[KV_HASH] = &blob_type;
	config_defaults(&s->cfg);
	/* Its memory checks count the keyspace and replies, not the
	 * commands' latency histograms. */
	s->cfg.latency_tracking = false;
	cmd_index_init(&s->cmds);
	clock_init(&s->clock, (struct io *)&fake_io);
	ks_init(&s->ks, &s->st, 42, ks_rnd, NULL);
	ks_use_types(&s->ks, test_types);
	s->ks.now_ms = s->clock.now_ms;
	s->keyspaces[0] = &s->ks;
	s->env = (struct cmd_env){ .cfg = &s->cfg,
				   .cmds = &s->cmds,
				   .mem = &s->mem,
				   .st = &s->st,
				   .es = &s->es,
				   .cstat = s->cstat,
				   .clock = &s->clock,
				   .ks = &s->ks,
				   .self = 0,
				   .nshards = 1,
				   .slot_shard = s->slot_shard,
				   .keyspaces = s->keyspaces,
				   .make_room = no_make_room };
	obuf_init(&s->out, &s->mem);
	return s;
}

static void env_free(struct shard_env *s)
{
	cmd_stats_reset(&s->mem, s->cstat);
	obuf_free(&s->out);
	ks_free(&s->ks);
	assert_int_equal(s->mem.used, 0);
	free(s);
}

/* Runs one command as a connection does (check, then run here) and returns
 * its RESP2 reply as a string (owned by the caller). */
static char *run(struct shard_env *s, int argc, const char *const *argv)
{
	struct reply r = { .ob = &s->out, .proto = 2, .es = &s->es };
	struct cmd_arg args[16];
	struct iovec iov[OBUF_IOV_MAX];
	const struct cmd *cmd;
	struct cmd_ctx ctx;
	size_t len = 0;
	char *text;
	int i, n;

	assert_true(argc <= 16);
	for (i = 0; i < argc; i++)
		args[i] = (struct cmd_arg){ .p = argv[i], .len = strlen(argv[i]) };
	ctx = (struct cmd_ctx){ .env = &s->env,
				.ks = &s->ks,
				.r = &r,
				.argv = args,
				.argc = argc,
				.now_ms = s->clock.now_ms,
				.authed = true };
	cmd = cmd_check(&ctx);
	if (cmd != NULL)
		cmd_run(&ctx, cmd);
	n = obuf_iov(&s->out, iov, OBUF_IOV_MAX);
	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	text = malloc(len + 1);
	assert_non_null(text);
	for (len = 0, i = 0; i < n; i++) {
		memcpy(text + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	text[len] = '\0';
	obuf_consume(&s->out, s->out.bytes);
	return text;
}

#define RUN(s, ...)                                                                                \
	run((s), (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)),            \
	    (const char *[]){ __VA_ARGS__ })

/* Stores "h" as a blob object holding "f=v" (a TTL if ttl_ms >= 0). */
static void *store_hash(struct shard_env *s, const char *key, int64_t ttl_ms)
{
	struct blob *b = mem_alloc(&s->ks.mem, sizeof(*b) + 3);

	b->n = 3;
	memcpy(b->data, "f=v", 3);
	ks_set_obj(&s->ks, key, strlen(key), KV_HASH, 0, b, ttl_ms);
	CHECK(&s->ks);
	return b;
}

/* What the keyspace looks like, to prove a refused command changed nothing. */
struct snap {
	void *obj;
	uint64_t dirty, size;
	size_t used;
	int64_t expire;
};

static void snap_take(struct shard_env *s, struct snap *n)
{
	struct kv *e = ks_peek(&s->ks, "h", 1);

	assert_non_null(e);
	assert_int_equal(e->type, KV_HASH);
	assert_int_equal(e->enc, KV_OBJ);
	n->obj = kv_obj(e);
	n->dirty = s->ks.dirty;
	n->size = ks_size(&s->ks);
	n->used = s->ks.mem.used;
	n->expire = kv_has_ttl(e) ? kv_expire(e) : -1;
}

static void snap_same(struct shard_env *s, const struct snap *n, const char *what)
{
	struct snap now;

	snap_take(s, &now);
	if (now.obj != n->obj || now.dirty != n->dirty || now.size != n->size ||
	    now.used != n->used || now.expire != n->expire)
		fail_msg("%s changed the keyspace", what);
	CHECK(&s->ks);
}

/* ---- the cases ---- */

struct refusal {
	const char *argv[6];
	const char *reply;
};

/* Redis 7.0.15, for a hash key "h": each refuses and changes nothing. */
static const struct refusal refusals[] = {
	{ { "GET", "h" }, WRONGTYPE },
	{ { "SET", "h", "v", "GET" }, WRONGTYPE },
	{ { "SET", "h", "v", "GET", "NX" }, WRONGTYPE },
	{ { "SET", "h", "v", "NX" }, "$-1\r\n" },
	{ { "SETNX", "h", "v" }, ":0\r\n" },
	{ { "GETSET", "h", "v" }, WRONGTYPE },
	{ { "GETDEL", "h" }, WRONGTYPE },
	{ { "GETEX", "h" }, WRONGTYPE },
	{ { "GETEX", "h", "EX", "10" }, WRONGTYPE },
	{ { "GETEX", "h", "EX", "0" }, WRONGTYPE },
	{ { "GETEX", "h", "PERSIST" }, WRONGTYPE },
	{ { "MGET", "h", "x" }, "*2\r\n$-1\r\n$-1\r\n" },
	{ { "MSETNX", "h", "v", "x", "y" }, ":0\r\n" },
	{ { "APPEND", "h", "x" }, WRONGTYPE },
	{ { "STRLEN", "h" }, WRONGTYPE },
	{ { "GETRANGE", "h", "0", "-1" }, WRONGTYPE },
	{ { "GETRANGE", "h", "a", "b" }, "-ERR value is not an integer or out of range\r\n" },
	{ { "SUBSTR", "h", "0", "1" }, WRONGTYPE },
	{ { "SETRANGE", "h", "0", "x" }, WRONGTYPE },
	{ { "SETRANGE", "h", "0", "" }, WRONGTYPE },
	{ { "SETRANGE", "h", "-1", "x" }, "-ERR offset is out of range\r\n" },
	{ { "INCR", "h" }, WRONGTYPE },
	{ { "DECR", "h" }, WRONGTYPE },
	{ { "INCRBY", "h", "1" }, WRONGTYPE },
	{ { "INCRBY", "h", "x" }, "-ERR value is not an integer or out of range\r\n" },
	{ { "DECRBY", "h", "1" }, WRONGTYPE },
	{ { "DECRBY", "h", "-9223372036854775808" }, "-ERR decrement would overflow\r\n" },
	{ { "INCRBYFLOAT", "h", "1.5" }, WRONGTYPE },
	{ { "INCRBYFLOAT", "h", "x" }, WRONGTYPE },
	{ { "TYPE", "h" }, "+hash\r\n" },
	{ { "EXISTS", "h" }, ":1\r\n" },
	{ { "OBJECT", "ENCODING", "h" }, "$8\r\nlistpack\r\n" },
};

static int argc_of(const char *const *argv)
{
	int n = 0;

	while (n < 6 && argv[n] != NULL)
		n++;
	return n;
}

/* Every string command that Redis refuses on another type, with and
 * without a TTL on the key. */
static void test_refused_changes_nothing(void **state)
{
	size_t i;
	int ttl;

	(void)state;
	for (ttl = 0; ttl <= 1; ttl++) {
		for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
			struct shard_env *s = env_new();
			const struct refusal *t = &refusals[i];
			struct snap before;
			uint64_t dirty;
			char *got;

			store_hash(s, "h", ttl ? s->clock.now_ms + 100000 : KS_TTL_NONE);
			dirty = s->ks.dirty;
			snap_take(s, &before);
			got = run(s, argc_of(t->argv), t->argv);
			if (strcmp(got, t->reply) != 0)
				fail_msg("%s %s: got %s want %s", t->argv[0],
					 t->argv[1] ? t->argv[1] : "", got, t->reply);
			snap_same(s, &before, t->argv[0]);
			assert_int_equal(s->ks.dirty, dirty);
			free(got);
			env_free(s);
		}
	}
}

struct overwrite {
	const char *argv[6];
	const char *reply;
	const char *value; /* what GET answers afterwards */
};

/* Redis 7.0.15: these overwrite a key of another type with a string. */
static const struct overwrite overwrites[] = {
	{ { "SET", "h", "v" }, "+OK\r\n", "$1\r\nv\r\n" },
	{ { "SET", "h", "12", "XX" }, "+OK\r\n", "$2\r\n12\r\n" },
	{ { "SET", "h", "v", "KEEPTTL" }, "+OK\r\n", "$1\r\nv\r\n" },
	{ { "SETEX", "h", "10", "v" }, "+OK\r\n", "$1\r\nv\r\n" },
	{ { "PSETEX", "h", "10000", "v" }, "+OK\r\n", "$1\r\nv\r\n" },
	{ { "MSET", "h", "v", "x", "y" }, "+OK\r\n", "$1\r\nv\r\n" },
};

static void test_overwrite(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(overwrites) / sizeof(overwrites[0]); i++) {
		struct shard_env *s = env_new();
		const struct overwrite *t = &overwrites[i];
		size_t empty = s->ks.mem.used;
		char *got;

		store_hash(s, "h", KS_TTL_NONE);
		got = run(s, argc_of(t->argv), t->argv);
		assert_string_equal(got, t->reply);
		free(got);
		CHECK(&s->ks);
		got = RUN(s, "TYPE", "h");
		assert_string_equal(got, "+string\r\n");
		free(got);
		got = RUN(s, "GET", "h");
		assert_string_equal(got, t->value);
		free(got);
		/* The object's bytes went back with it. */
		got = RUN(s, "FLUSHALL", "SYNC");
		free(got);
		assert_int_equal(s->ks.mem.used, empty);
		env_free(s);
	}
}

/* COPY duplicates the object, RENAME moves it, DEL frees it; SCAN's TYPE
 * filter reads the type; an async flush frees objects through their hook. */
static void test_key_commands(void **state)
{
	struct shard_env *s = env_new();
	size_t empty = s->ks.mem.used;
	void *obj = store_hash(s, "h", KS_TTL_NONE);
	char *got;

	(void)state;
	got = RUN(s, "COPY", "h", "h2");
	assert_string_equal(got, ":1\r\n");
	free(got);
	assert_ptr_not_equal(kv_obj(ks_peek(&s->ks, "h2", 2)), obj);
	assert_int_equal(ks_peek(&s->ks, "h2", 2)->type, KV_HASH);
	CHECK(&s->ks);
	got = RUN(s, "RENAME", "h", "h3");
	assert_string_equal(got, "+OK\r\n");
	free(got);
	assert_ptr_equal(kv_obj(ks_peek(&s->ks, "h3", 2)), obj);
	CHECK(&s->ks);
	got = RUN(s, "SET", "s", "v");
	free(got);
	got = RUN(s, "SCAN", "0", "TYPE", "hash", "COUNT", "100");
	assert_true(strstr(got, "h2") != NULL);
	assert_true(strstr(got, "h3") != NULL);
	assert_null(strstr(got, "\r\ns\r\n"));
	free(got);
	got = RUN(s, "SCAN", "0", "TYPE", "string");
	assert_string_equal(got, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
	free(got);
	got = RUN(s, "DEL", "h2");
	assert_string_equal(got, ":1\r\n");
	free(got);
	CHECK(&s->ks);
	store_hash(s, "h4", s->clock.now_ms + 1000);
	got = RUN(s, "FLUSHALL", "ASYNC");
	assert_string_equal(got, "+OK\r\n");
	free(got);
	CHECK(&s->ks);
	while (ks_lazy_step(&s->ks, 1))
		CHECK(&s->ks);
	assert_int_equal(s->ks.mem.used, empty);
	env_free(s);
}

/* LCS's table is (|a|+1)(|b|+1) 4-byte cells, allowed up to exactly
 * proto-max-bulk-len bytes and refused one cell beyond; either way the
 * transient table is freed and the memory account comes back. */
static void test_lcs_table_bound(void **state)
{
	struct shard_env *s = env_new();
	char a[100], b[100];
	char *got;
	size_t before;

	(void)state;
	memset(a, 'a', sizeof(a) - 1);
	a[99] = '\0';
	memset(b, 'a', sizeof(b) - 1);
	b[99] = '\0';
	b[49] = '\0'; /* 49 bytes: 100 x 50 cells */
	free(RUN(s, "SET", "a", a));
	free(RUN(s, "SET", "b", b));
	store_hash(s, "h", KS_TTL_NONE);
	before = s->mem.used;
	s->cfg.proto_max_bulk_len = 100 * 50 * 4;
	got = RUN(s, "LCS", "a", "b", "LEN");
	assert_string_equal(got, ":49\r\n");
	free(got);
	s->cfg.proto_max_bulk_len = 100 * 50 * 4 - 1;
	got = RUN(s, "LCS", "a", "b", "LEN");
	assert_string_equal(got, "-ERR Insufficient memory, transient memory for LCS exceeds "
				 "proto-max-bulk-len\r\n");
	free(got);
	got = RUN(s, "LCS", "h", "a");
	assert_string_equal(got, "-ERR The specified keys must contain string values\r\n");
	free(got);
	assert_int_equal(s->mem.used, before);
	CHECK(&s->ks);
	env_free(s);
}

/* Name lookup: every top-level command by its name in lower, upper and
 * mixed case; only letters fold ('_' is not DEL, '@' not '`'); a name
 * with a byte more or less, an embedded NUL, a byte past 0x7f or of 32
 * bytes and more is no command. */
static void test_lookup(void **state)
{
	struct cmd_index *ix = malloc(sizeof(*ix));
	int i, found = 0;

	(void)state;
	assert_non_null(ix);
	cmd_index_init(ix);
	for (i = 0; i < CMDID_COUNT; i++) {
		const struct cmd *c = &cmd_table[i];
		char name[64];
		size_t len = strlen(c->name), j;

		if (c->parent != CMDID_NONE)
			continue;
		found++;
		assert_ptr_equal(cmd_lookup(ix, c->name, len), c);
		for (j = 0; j < len; j++)
			name[j] = (char)toupper((unsigned char)c->name[j]);
		assert_ptr_equal(cmd_lookup(ix, name, len), c);
		for (j = 0; j < len; j += 2)
			name[j] = c->name[j];
		assert_ptr_equal(cmd_lookup(ix, name, len), c);
		assert_true(cmd_lookup(ix, name, len - 1) != c);
		name[len] = 'x';
		assert_true(cmd_lookup(ix, name, len + 1) != c);
		name[len] = '\0';
		assert_null(cmd_lookup(ix, name, len + 1));
		for (j = 0; j < len; j++) {
			char keep = name[j];

			name[j] = (char)(keep ^ 0x80);
			assert_null(cmd_lookup(ix, name, len));
			if (keep == '_') {
				name[j] = 0x7f;
				assert_null(cmd_lookup(ix, name, len));
			}
			name[j] = keep;
		}
	}
	assert_true(found > 100);
	assert_non_null(cmd_lookup(ix, "sort_ro", 7));
	assert_null(cmd_lookup(ix, "SORT\x7fRO", 7));
	assert_null(cmd_lookup(ix, "sort\x7fro", 7));
	assert_non_null(cmd_lookup(ix, "ClIeNt", 6));
	assert_null(cmd_lookup(ix, "", 0));
	assert_null(cmd_lookup(ix, "getrangegetrangegetrangegetrange", 32));
	assert_null(cmd_lookup(ix, "GET@", 4));
	assert_null(cmd_lookup(ix, "GET`", 4));
	free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_changes_nothing),
		cmocka_unit_test(test_overwrite),
		cmocka_unit_test(test_key_commands),
		cmocka_unit_test(test_lcs_table_bound),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
