/* fuzz_commands.c: fuzz target for command execution: the dispatcher and
 * every handler (node/cmd/ and node/server/), the keyspace, and, in differential mode, the
 * connection's input path (node/shard/conn.c) and the shard's step.
 *
 * Goal: for any sequence of commands from any of a few clients, with the
 * clock moving, timers firing, clients connecting, hanging up and killing
 * each other, writes cut short and the submission queue full at times:
 * every command gets exactly one well-formed reply (none when CLIENT REPLY
 * says so) and nothing is left over in the reply stream; the keyspace's
 * invariants (chains, TTL index, the memory account: ks_check()) hold after
 * every command; and when the shard is freed, every byte it accounted for has
 * been given back. In differential mode, the same requests sent as bytes on
 * the wire (multibulk or inline, cut into reads anywhere, pipelined, big
 * arguments through the bigbulk path) must give the same replies as the same
 * requests dispatched directly.
 *
 * Method: a shard with a shardset of 1 runs over fuzz_io.c, a deterministic
 * in-process io (fake clock, fixed random seed, no syscalls). Connections are
 * real ones, accepted by the shard through an ACCEPT completion, because
 * connection commands (CLIENT, HELLO, AUTH, QUIT, RESET, ...) need one; so
 * the harness never passes conn NULL. Side A runs each command through
 * cmd_dispatch() with a context built as conn.c's run_request() builds it, through exec_request()
 * (big arguments in a value buffer, as the bigbulk path hands them over), and
 * applies conn.c's after-command rules (CLIENT REPLY truncation, output
 * limit), mirrored in fc_finish(). Each operation ends with the shard stepped
 * until it settles, the replies read from the socket and decoded with
 * sim/resp_reader.c, and ks_check(). Side B, in differential mode, is a
 * second shard fed the same operations, whose clients send the requests as
 * bytes through RECV completions; its replies must equal A's, except those
 * that describe the connection or memory (INFO, CLIENT LIST/INFO, MEMORY),
 * which only need the same type. The comparison stops (the checks of each
 * side go on) where a configured limit makes the two deliveries differ by
 * design: maxmemory (connection memory differs), an output or query buffer
 * limit (B pipelines).
 *
 * Input: byte 0 and 1 configure (see fc_config), then operations, one byte
 * each (bits 0-3 the kind, 4-5 the client) with their operands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/util.h"
#include "base/val.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/keyspace_check.h"
#include "fuzz_io.h"
#include "fuzz_util.h"
#include "proto/obuf.h"
#include "proto/reply.h"
#include "resp_reader.h"
#include "shard/conn.h"
#include "shard/node.h"
#include "shard/shard.h"
#include "shard/xshard.h"

#define FC_CONNS 4
#define FC_ARGS_MAX 24
#define FC_BATCH_MAX 4
#define FC_OPS_MAX 200
/* Bytes of one argument, and of all arguments of one command. */
#define FC_ARG_BIG_MAX (80 * 1024)
#define FC_CMD_BYTES_MAX (256 * 1024)
/* Steps of a shard before it must have settled: a big reply written a few
 * bytes at a time takes one step per write, so this only catches a shard
 * that never settles. */
#define FC_STEPS_MAX (1 << 20)
/* Replies kept per client per operation, for the comparison. */
#define FC_VALUES_MAX 64
/* Reads B's client makes per operation before the rest goes in full
 * buffers. */
#define FC_PIECES_MAX 256
#define FC_START_NS (1700000000ull * 1000000000ull)
#define FC_SEED 0x5eedf00dull

/* ---- the command word table ---- */

static const char *const fc_words_extra[] = {
	"notify-keyspace-events",
	"KEA",
	"Kg$lx",
	"ch*",
	"__keyspace@0__:*",
	"pubsub",
	"k0",
	"k1",
	"k2",
	"k3",
	"{t}k",
	"",
	"ex",
	"px",
	"exat",
	"pxat",
	"nx",
	"xx",
	"keepttl",
	"get",
	"gt",
	"lt",
	"match",
	"count",
	"type",
	"string",
	"hash",
	"withvalues",
	"f1",
	"f2",
	"bit",
	"byte",
	"and",
	"or",
	"xor",
	"not",
	"overflow",
	"wrap",
	"sat",
	"fail",
	"incrby",
	"u8",
	"i5",
	"#1",
	"idx",
	"len",
	"minmatchlen",
	"withmatchlen",
	"list",
	"left",
	"right",
	"before",
	"after",
	"rank",
	"maxlen",
	"withscores",
	"withscore",
	"byscore",
	"bylex",
	"rev",
	"weights",
	"aggregate",
	"sum",
	"min",
	"max",
	"incr",
	"ch",
	"(1",
	"[a",
	"(a",
	"-",
	"+",
	"zset",
	"set",
	"by",
	"store",
	"alpha",
	"asc",
	"desc",
	"limit",
	"nosort",
	"#",
	"k*->f1",
	"async",
	"sync",
	"on",
	"off",
	"skip",
	"yes",
	"no",
	"default",
	"secret",
	"id",
	"addr",
	"laddr",
	"skipme",
	"maxage",
	"user",
	"setname",
	"auth",
	"lib-name",
	"lib-ver",
	"samples",
	"*",
	"k*",
	"[a-k]*",
	"?0",
	"\\",
	"0",
	"1",
	"-1",
	"2",
	"3",
	"10",
	"100",
	"1000",
	"-100",
	"3.5",
	"-0.5",
	"1e3",
	"inf",
	"-inf",
	"nan",
	"+inf",
	"9223372036854775807",
	"-9223372036854775808",
	"9223372036854775808",
	"18446744073709551615",
	"0x10",
	" 1",
	"1 ",
	"maxmemory",
	"maxclients",
	"requirepass",
	"proto-max-bulk-len",
	"client-query-buffer-limit",
	"timeout",
	"hz",
	"loglevel",
	"client-output-buffer-limit",
	"lazyfree-lazy-user-flush",
	"bigbulk-reserve-max",
	"save",
	"appendonly",
	"normal 0 0 0",
	"normal 100 50 1",
	"1mb",
	"100kb",
	"notice",
	"verbose",
	"127.0.0.1:40000",
	"127.0.0.1:40001",
	"127.0.0.1:6379",
	"normal",
	"master",
	"pubsub",
	"txt",
	"3",
	"2",
	"4",
};

struct fc_words {
	const char *cmd[CMDID_COUNT]; /* top-level command names */
	size_t ncmd;
	const char *all[CMDID_COUNT + sizeof(fc_words_extra) / sizeof(fc_words_extra[0])];
	size_t nall;
};

static struct fc_words fc_words;
static struct node_info fc_info;

static void fc_init_once(void)
{
	static bool done;
	size_t i;

	if (done)
		return;
	done = true;
	snprintf(fc_info.run_id, sizeof(fc_info.run_id), "%040d", 0);
	snprintf(fc_info.os, sizeof(fc_info.os), "Linux fuzz x86_64");
	snprintf(fc_info.io_name, sizeof(fc_info.io_name), "fuzz");
	fc_info.pid = 4242;
	fc_info.start_ms = (int64_t)(FC_START_NS / 1000000);
	fc_info.nshards = 1;
	for (i = 0; i < CMDID_COUNT; i++) {
		if (cmd_table[i].parent == CMDID_NONE)
			fc_words.cmd[fc_words.ncmd++] = cmd_table[i].name;
		fc_words.all[fc_words.nall++] = cmd_table[i].name;
	}
	for (i = 0; i < sizeof(fc_words_extra) / sizeof(fc_words_extra[0]); i++)
		fc_words.all[fc_words.nall++] = fc_words_extra[i];
}

/* ---- commands from the input ---- */

struct fc_cmd {
	int argc;
	struct cmd_arg argv[FC_ARGS_MAX];
	char *bytes; /* the arguments' bytes, FC_CMD_BYTES_MAX of room */
	size_t used;
	bool loose; /* its reply describes the connection, memory or timings */
};

/* Bytes for one argument: where they go, and how many fit. */
static char *fc_room(struct fc_cmd *c, size_t *n)
{
	if (*n > FC_CMD_BYTES_MAX - c->used)
		*n = FC_CMD_BYTES_MAX - c->used;
	return c->bytes + c->used;
}

static size_t fc_arg_number(struct fuzz_in *in, uint8_t tag, char *out, size_t room)
{
	char buf[64];
	uint64_t u = 0;
	double d;
	int k;

	switch (tag & 3) {
	case 0: k = snprintf(buf, sizeof(buf), "%d", (int8_t)fuzz_u8(in)); break;
	case 1: k = snprintf(buf, sizeof(buf), "%lld", (long long)fuzz_u64(in)); break;
	case 2: k = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)fuzz_u64(in)); break;
	default:
		u = fuzz_u64(in);
		memcpy(&d, &u, sizeof(d));
		k = snprintf(buf, sizeof(buf), "%.17g", d);
		break;
	}
	ASSERT(k > 0);
	ASSERT((size_t)k < sizeof(buf));
	if ((size_t)k > room)
		k = (int)room;
	memcpy(out, buf, (size_t)k);
	return (size_t)k;
}

/* One argument: a literal, a word of the table, a number, or a long run. */
static void fc_arg(struct fuzz_in *in, struct fc_cmd *c, bool first)
{
	uint8_t tag = fuzz_u8(in);
	struct cmd_arg *a = &c->argv[c->argc++];
	const uint8_t *lit;
	size_t n = 0, i;
	char *p;

	switch (tag >> 6) {
	case 0:
		n = fuzz_bytes(in, tag & 63, &lit);
		p = fc_room(c, &n);
		memcpy(p, lit, n);
		break;
	case 1:
		i = ((size_t)(tag & 63) << 8 | fuzz_u8(in));
		lit = (const uint8_t *)(first ? fc_words.cmd[i % fc_words.ncmd]
					      : fc_words.all[i % fc_words.nall]);
		n = strlen((const char *)lit);
		p = fc_room(c, &n);
		memcpy(p, lit, n);
		break;
	case 2:
		n = 64;
		p = fc_room(c, &n);
		n = fc_arg_number(in, tag, p, n);
		break;
	default:
		n = ((size_t)(tag & 15) << 13 | (fuzz_u16(in) & 0x1fff)) % FC_ARG_BIG_MAX;
		p = fc_room(c, &n);
		tag = fuzz_u8(in);
		for (i = 0; i < n; i++)
			p[i] = tag < 10 ? (char)('0' + (i + tag) % 10) : (char)(tag + (i % 3));
		break;
	}
	a->p = p;
	a->len = n;
	a->val = NULL;
	c->used += n;
}

static bool fc_is(const struct fc_cmd *c, int i, const char *word)
{
	return i < c->argc && util_eq_nocase(c->argv[i].p, c->argv[i].len, word);
}

static void fc_gen_cmd(struct fuzz_in *in, struct fc_cmd *c)
{
	uint8_t k = fuzz_u8(in);
	int argc = k < 0xf0 ? 1 + k % 6 : 1 + k % FC_ARGS_MAX, i;

	c->argc = 0;
	c->used = 0;
	for (i = 0; i < argc; i++)
		fc_arg(in, c, i == 0);
	/* A monitor's lines arrive after a step, not as a command's reply, and
	 * carry each side's own clock: MONITOR is left to the integration
	 * tests, and asked as a PING here. */
	if (fc_is(c, 0, "monitor")) {
		c->argv[0].p = "ping";
		c->argv[0].len = 4;
		c->argc = 1;
	}
	/* Durations differ between the sides: SLOWLOG and LATENCY too; and
	 * DEBUG OBJECT shows an address. */
	c->loose = fc_is(c, 0, "info") || fc_is(c, 0, "memory") || fc_is(c, 0, "slowlog") ||
		   fc_is(c, 0, "latency") || (fc_is(c, 0, "debug") && fc_is(c, 1, "object")) ||
		   (fc_is(c, 0, "client") && (fc_is(c, 1, "list") || fc_is(c, 1, "info")));
}

/* Whether a command changes what the unauthenticated limits of the
 * requests after it are: such a command is never pipelined. */
static bool fc_changes_auth(const struct fc_cmd *c)
{
	return fc_is(c, 0, "config") || fc_is(c, 0, "reset") || fc_is(c, 0, "auth") ||
	       fc_is(c, 0, "hello");
}

/* Whether a request breaks the limits a connection has before it
 * authenticates (B would get a protocol error by design). */
static bool fc_unauth_breaks(const struct fc_cmd *c)
{
	int i;

	if (c->argc > PROTO_UNAUTH_ARGC_MAX)
		return true;
	for (i = 0; i < c->argc; i++)
		if (c->argv[i].len > PROTO_UNAUTH_BULK_MAX)
			return true;
	return false;
}

/* ---- a shard and its clients ---- */

struct fc_seen {
	struct resp_reader_value *v[FC_VALUES_MAX];
	size_t n; /* all replies read, even past FC_VALUES_MAX */
};

struct fc_side {
	struct io *io;
	struct node node;        /* of one shard, built as cairn-node builds its own */
	struct shard *sh;        /* node_shard(&node, 0) */
	int sock[FC_CONNS];      /* each client's socket, or -1 */
	uint32_t slot[FC_CONNS]; /* its connection's slot, as last seen */
	struct resp_reader rd[FC_CONNS];
	struct fc_seen seen[FC_CONNS]; /* replies read in this operation */
	/* A: each reply's bytes as the command produced them, which the
	 * client must receive unchanged, however much later they are
	 * written (a value sent by reference must not change in flight). */
	struct fc_bytes {
		char *p;
		size_t len, off, cap; /* bytes [off, len) not received yet */
	} want[FC_CONNS];
	bool track; /* A: want is kept and checked */
	/* Clients that received pub/sub messages from another's command in
	 * this operation: how many replies they read is not known. */
	bool got_messages[FC_CONNS];
};

static void fc_side_init(struct fc_side *s, const struct config *cfg)
{
	struct node_shard_spec shard = {
		.listeners = { { FUZZ_IO_LISTENER, SHARD_ROLE_CLIENT } },
		.nlisteners = 1,
	};
	struct node_spec spec = {
		.cfg = cfg, .info = &fc_info, .nshards = 1, .ring_size = 2, .shards = &shard
	};
	struct io *io = s->io;
	int i, rc;

	/* The io is kept from one input to the next (it is big). */
	memset(s, 0, sizeof(*s));
	if (io == NULL)
		io = fuzz_io_new(FC_SEED, FC_START_NS);
	else
		fuzz_io_reset(io, FC_SEED, FC_START_NS);
	s->io = io;
	shard.io = io;
	rc = node_init(&s->node, &spec);
	ASSERT(rc == 0);
	s->sh = node_shard(&s->node, 0);
	node_start(&s->node, 0);
	for (i = 0; i < FC_CONNS; i++) {
		s->sock[i] = -1;
		resp_reader_init(&s->rd[i], NULL);
	}
}

/* Appends to client i's expected bytes the output produced since mark: the
 * chunks after it (data copied, references read now). */
static void fc_want_add(struct fc_side *s, int i, const struct obuf *ob, const struct obuf_mark *m)
{
	struct fc_bytes *w = &s->want[i];
	const struct obuf_chunk *c = m->tail != NULL ? m->tail : ob->head;
	size_t off = m->tail != NULL ? m->tail_len : 0;

	for (; c != NULL; c = c->next, off = 0) {
		const char *p = c->kind == OBUF_REF ? c->ptr : c->data;
		size_t n;
		FUZZ_CHECK(c->kind != OBUF_HOLD, "a held reply with one shard");
		if (c->len <= off)
			continue;
		n = c->len - off;
		if (w->len + n > w->cap) {
			w->cap = (w->len + n) * 2;
			w->p = realloc(w->p, w->cap);
			ASSERT(w->p != NULL);
		}
		memcpy(w->p + w->len, p + off, n);
		w->len += n;
	}
}

/* What a client refused for maxclients receives before the close. */
#define FC_REFUSED "-ERR max number of clients reached\r\n"

/* A rule of the node (node/README.md): a command error leaves the keyspace
 * exactly as it was. Lookups
 * may still delete keys that had expired (as in Redis), and under maxmemory
 * a command evicts before it runs (also when it is then refused for OOM),
 * so every change counted during a command answered with an error must be
 * such a deletion. */
struct fc_ks_mark {
	uint64_t dirty, expired, evicted, size;
	size_t want; /* where the reply starts in want */
};

static void fc_ks_mark(const struct fc_side *s, int i, struct fc_ks_mark *m)
{
	m->dirty = s->sh->ks.dirty;
	m->expired = s->sh->st.expired_keys;
	m->evicted = s->sh->st.evicted_keys;
	m->size = ks_size(&s->sh->ks);
	m->want = s->want[i].len;
}

static void fc_ks_check_error(const struct fc_side *s, int i, const struct fc_ks_mark *m,
			      const struct fc_cmd *cmd)
{
	const struct fc_bytes *w = &s->want[i];
	uint64_t expired = s->sh->st.expired_keys - m->expired +
			   (s->sh->st.evicted_keys - m->evicted);

	if (w->len == m->want || w->p[m->want] != '-')
		return;
	FUZZ_CHECK(
		s->sh->ks.dirty - m->dirty == expired && m->size - ks_size(&s->sh->ks) == expired,
		"'%.*s' answered '%.*s' but changed the keyspace: %llu changes, %llu keys "
		"fewer, %llu expired or evicted",
		(int)(cmd->argv[0].len < 32 ? cmd->argv[0].len : 32), cmd->argv[0].p,
		(int)(w->len - m->want < 80 ? w->len - m->want : 80), w->p + m->want,
		(unsigned long long)(s->sh->ks.dirty - m->dirty),
		(unsigned long long)(m->size - ks_size(&s->sh->ks)), (unsigned long long)expired);
}

/* Client i received n bytes: they must be the next ones it was sent. */
static void fc_want_take(struct fc_side *s, int i, const char *p, size_t n)
{
	struct fc_bytes *w = &s->want[i];

	if (n == 0)
		return;
	FUZZ_CHECK(n <= w->len - w->off && memcmp(p, w->p + w->off, n) == 0,
		   "client %d received %zu bytes that differ from the replies as produced (%zu "
		   "expected)",
		   i, n, w->len - w->off);
	w->off += n;
	if (w->off == w->len)
		w->off = w->len = 0;
}

static void fc_want_check(struct fc_side *s, int i, const char *p, size_t n)
{
	const struct fc_bytes *w = &s->want[i];

	/* A refused client never ran a command: the refusal is all it gets. */
	if (n > 0 && w->off == w->len && fuzz_io_closed(s->io, s->sock[i])) {
		FUZZ_CHECK(n == sizeof(FC_REFUSED) - 1 && memcmp(p, FC_REFUSED, n) == 0,
			   "client %d got %zu bytes unasked before its close", i, n);
		return;
	}
	fc_want_take(s, i, p, n);
}

/* Frees the shard: node_free() asserts that its account is back to 0
 * (shard_free), and that every big-bulk reservation has been given back. */
static void fc_side_free(struct fc_side *s)
{
	int i;

	node_free(&s->node);
	s->sh = NULL;
	for (i = 0; i < FC_CONNS; i++) {
		resp_reader_free(&s->rd[i]);
		free(s->want[i].p);
	}
}

static struct conn *fc_conn(struct fc_side *s, int i)
{
	const struct conns *t = &s->sh->conns;
	uint32_t k = s->slot[i];
	struct conn *c;

	if (s->sock[i] < 0)
		return NULL;
	if (k < t->cap && (c = conns_at(t, k)) != NULL && c->sock == s->sock[i])
		return c;
	for (k = 0; k < t->cap; k++) {
		c = conns_at(t, k);
		if (c != NULL && c->sock == s->sock[i]) {
			s->slot[i] = k; /* where to look first next time */
			return c;
		}
	}
	return NULL;
}

static bool fc_stopped(const struct conn *c)
{
	return (c->flags & (CONN_F_CLOSE_ASAP | CONN_F_CLOSE_NOW | CONN_F_CLOSING)) != 0;
}

/* Lets a blocked connection go as if its time were up: WAIT's answer, or
 * a blocking pop's (shard/blocked.h). */
static void fc_unblock(struct shard *sh, struct conn *c)
{
	if (c->blk != NULL)
		blocked_expire_now(&sh->bh, c);
	else
		conn_block_expire(&sh->ch, c);
}

/* Steps the shard until it has nothing left to do. A connection blocked
 * (WAIT, a blocking pop) is let go as if its time were up, and a CLIENT PAUSE ends at
 * once, so that the requests behind them run, as they do on side A
 * (fc_exec). */
static void fc_settle(struct fc_side *s)
{
	int k;

	const struct conn *c;
	char io[160];

	for (k = 0; k < FC_STEPS_MAX; k++) {
		if (s->sh->ch.blocked != NULL)
			fc_unblock(s->sh, s->sh->ch.blocked);
		else if (s->sh->ch.pause.type != CONN_PAUSE_OFF)
			conn_unpause(&s->sh->ch);
		else if (!shard_step(s->sh) && !fuzz_io_busy(s->io))
			return;
	}
	c = s->sh->ch.pending;
	fuzz_io_describe(s->io, io, sizeof(io));
	FUZZ_CHECK(false,
		   "the shard still works after %d steps: %s; pending conn %p (flags %#x, %zu "
		   "bytes of output, %u holds)",
		   FC_STEPS_MAX, io, (const void *)c, c ? c->flags : 0, c ? c->out.bytes : 0,
		   c ? c->out.holds : 0);
}

/* Reads what client i received: whole replies, with nothing left over
 * unless the shard closed the connection in the middle of a write. */
static void fc_read(struct fc_side *s, int i)
{
	struct fc_seen *seen = &s->seen[i];
	struct resp_reader_value *v;
	enum resp_reader_status st;
	const char *out;
	size_t n;

	if (s->sock[i] < 0)
		return;
	out = fuzz_io_output(s->io, s->sock[i], &n);
	if (s->track)
		fc_want_check(s, i, out, n);
	resp_reader_feed(&s->rd[i], out, n);
	fuzz_io_take(s->io, s->sock[i], n);
	while ((st = resp_reader_next(&s->rd[i], &v)) == RESP_READER_OK) {
		if (seen->n < FC_VALUES_MAX)
			seen->v[seen->n] = v;
		else
			resp_reader_value_free(v);
		seen->n++;
	}
	FUZZ_CHECK(st == RESP_READER_NEED_MORE, "client %d: malformed reply stream: %s", i,
		   s->rd[i].err);
	if (fuzz_io_closed(s->io, s->sock[i])) {
		/* Closed at once (CLIENT KILL, output limit): the rest was
		 * dropped, not sent. */
		s->sock[i] = -1;
		s->want[i].off = s->want[i].len = 0;
		resp_reader_reset(&s->rd[i]);
	} else {
		FUZZ_CHECK(!s->track || s->want[i].off == s->want[i].len,
			   "client %d: %zu bytes of replies not received", i,
			   s->want[i].len - s->want[i].off);
		FUZZ_CHECK(resp_reader_pending(&s->rd[i]) == 0,
			   "client %d: %zu bytes of a partial reply left", i,
			   resp_reader_pending(&s->rd[i]));
	}
}

static void fc_seen_clear(struct fc_side *s)
{
	int i;
	size_t k;

	for (i = 0; i < FC_CONNS; i++) {
		for (k = 0; k < s->seen[i].n && k < FC_VALUES_MAX; k++)
			resp_reader_value_free(s->seen[i].v[k]);
		s->seen[i].n = 0;
	}
}

/* ---- side A: commands dispatched directly ---- */

/* conn.c's finish_request(), mirrored: what happens after a command ran
 * (it is static there). Returns the replies the client will read: 1, or 0
 * when CLIENT REPLY suppressed it (CLIENT REPLY OFF and SKIP themselves are
 * not answered: SKIP_NEXT set now was set by this very command). A close by
 * the output limit drops the output; the caller sees CONN_F_CLOSE_NOW. */
static int fc_finish(struct shard *sh, struct conn *c, const struct obuf_mark *mark)
{
	int replies = (c->flags & CONN_F_REPLY_SKIP_NEXT) ? 0 : 1;

	if (c->flags & (CONN_F_REPLY_OFF | CONN_F_REPLY_SKIP)) {
		obuf_truncate(&c->out, mark);
		replies = 0;
	}
	c->flags &= ~CONN_F_REPLY_SKIP;
	if (c->flags & CONN_F_REPLY_SKIP_NEXT)
		c->flags = (c->flags & ~CONN_F_REPLY_SKIP_NEXT) | CONN_F_REPLY_SKIP;
	c->last_ms = sh->clock.now_ms;
	if (c->out.bytes > (size_t)config_obuf_hard(&sh->cfg) && !(c->flags & CONN_F_CLOSE_NOW)) {
		sh->st.obuf_limit_disconnections++;
		conn_close(&sh->ch, c, true);
	}
	return replies;
}

/* Replies written after mark, counted: a subscribed client's command may
 * write several (a confirmation per channel, messages before its reply). */
static int fc_count_replies(const struct obuf *ob, const struct obuf_mark *m)
{
	const struct obuf_chunk *c = m->tail != NULL ? m->tail : ob->head;
	size_t off = m->tail != NULL ? m->tail_len : 0;
	struct resp_reader rd;
	struct resp_reader_value *v;
	int n = 0;

	resp_reader_init(&rd, NULL);
	for (; c != NULL; c = c->next, off = 0)
		if (c->len > off)
			resp_reader_feed(&rd, (c->kind == OBUF_REF ? c->ptr : c->data) + off,
					 c->len - off);
	while (resp_reader_next(&rd, &v) == RESP_READER_OK) {
		resp_reader_value_free(v);
		n++;
	}
	FUZZ_CHECK(resp_reader_pending(&rd) == 0, "a partial reply in the output");
	resp_reader_free(&rd);
	return n;
}

/* Whether cmd answers with a confirmation per name ((P|S)(UN)SUBSCRIBE), or
 * may: EXEC of a queued one of several names writes its confirmations after
 * EXEC's array of one, as Redis's does. */
static bool fc_confirms(const struct cmd *cmd)
{
	if (cmd == NULL)
		return false;
	switch (cmd->id) {
	case CMDID_SUBSCRIBE:
	case CMDID_PSUBSCRIBE:
	case CMDID_SSUBSCRIBE:
	case CMDID_UNSUBSCRIBE:
	case CMDID_PUNSUBSCRIBE:
	case CMDID_SUNSUBSCRIBE:
	case CMDID_EXEC: return true;
	default: return false;
	}
}

/* Marks every other client's output, to see what a command delivers to it
 * (pub/sub messages). */
static void fc_mark_others(struct fc_side *s, int client, struct obuf_mark *marks)
{
	int j;

	for (j = 0; j < FC_CONNS; j++) {
		struct conn *o = j != client ? fc_conn(s, j) : NULL;
		if (o != NULL)
			obuf_mark(&o->out, &marks[j]);
	}
}

/* What the command delivered to other clients joins what they must
 * receive; how many replies they read is no longer known. */
static void fc_take_others(struct fc_side *s, int client, const struct obuf_mark *marks)
{
	int j;

	for (j = 0; j < FC_CONNS; j++) {
		struct conn *o = j != client ? fc_conn(s, j) : NULL;
		if (o == NULL || o->out.bytes == marks[j].bytes)
			continue;
		s->got_messages[j] = true;
		fc_want_add(s, j, &o->out, &marks[j]);
	}
}

/* Runs one command as conn.c's run_request() would: big arguments arrive
 * in value buffers charged to the shard, as the bigbulk path hands them. */
static int fc_exec(struct fc_side *s, int client, struct conn *c, const struct fc_cmd *cmd)
{
	struct shard *sh = s->sh;
	struct reply r = { .ob = &c->out, .proto = c->proto, .es = &sh->es };
	struct cmd_arg argv[FC_ARGS_MAX];
	struct val *bigs[FC_ARGS_MAX];
	struct fc_ks_mark ksm;
	struct obuf_mark mark, others[FC_CONNS];
	enum exec_verdict verdict;
	const struct cmd *checked;
	struct cmd_ctx ctx;
	bool subscribed = c->ps != NULL;
	int i, replies;

	for (i = 0; i < cmd->argc; i++) {
		argv[i] = cmd->argv[i];
		bigs[i] = NULL;
		if (argv[i].len >= PROTO_BIGBULK_MIN) {
			bigs[i] = val_copy(argv[i].p, argv[i].len);
			mem_charge(&sh->mem, val_size(bigs[i]));
			argv[i].p = bigs[i]->data;
			argv[i].val = bigs[i];
		}
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = &sh->env;
	ctx.conn = c;
	ctx.ks = &sh->ks;
	ctx.r = &r;
	ctx.argv = argv;
	ctx.argc = cmd->argc;
	ctx.now_ms = sh->clock.now_ms;
	ctx.authed = (c->flags & CONN_F_AUTHED) != 0;
	obuf_mark(&c->out, &mark);
	fc_mark_others(s, client, others);
	fc_ks_mark(s, client, &ksm);
	/* One shard: every request runs here, never waits for locks. */
	checked = cmd_check(&ctx);
	c->last_cmd = ctx.cmd != NULL ? ctx.cmd->id : -1;
	verdict = conn_dispatch(&sh->ch, c, &ctx, checked, &mark);
	if (c->flags & CONN_F_BLOCKED) {
		/* Blocked (WAIT, a blocking pop): its time is up at once, as
		 * fc_settle lets side B's go; it reads on with nothing held. */
		fc_unblock(sh, c);
		FUZZ_CHECK(sh->ch.resume == c, "an unblocked connection is not to resume");
		sh->ch.resume = c->next_resume;
		conn_resume(&sh->ch, c);
	}
	/* CLIENT PAUSE: over at once, as fc_settle ends side B's (side A,
	 * dispatching directly, holds nothing meanwhile). */
	if (sh->ch.pause.type != CONN_PAUSE_OFF)
		conn_unpause(&sh->ch);
	FUZZ_CHECK(verdict == EXEC_DONE, "a request waits for locks on a single shard");
	replies = fc_finish(sh, c, &mark);
	if (replies > 0 && (subscribed || c->ps != NULL || fc_confirms(checked)))
		replies = fc_count_replies(&c->out, &mark);
	fc_take_others(s, client, others);
	/* A SHUTDOWN that stops the node answers nothing: its client's
	 * connection closes after the replies it was owed. */
	if (checked != NULL && checked->id == CMDID_SHUTDOWN && (c->flags & CONN_F_CLOSE_ASAP))
		replies = 0;
	fc_want_add(s, client, &c->out, &mark);
	fc_ks_check_error(s, client, &ksm, cmd);
	for (i = 0; i < cmd->argc; i++) {
		if (bigs[i] != NULL) {
			mem_uncharge(&sh->mem, val_size(bigs[i]));
			val_unref(bigs[i]);
		}
	}
	conn_pend(&sh->ch, c);
	return replies;
}

/* ---- side B: the same requests as bytes on the wire ---- */

/* Whether a word can go in an inline request bare: no blank, no quote, no
 * backslash, not empty, and not a leading '*' (which would make the line a
 * multibulk request). */
static bool fc_bare(const struct cmd_arg *a, bool first)
{
	size_t i;

	if (a->len == 0 || (first && a->p[0] == '*'))
		return false;
	for (i = 0; i < a->len; i++) {
		unsigned char ch = (unsigned char)a->p[i];
		if (ch <= ' ' || ch == '"' || ch == '\'' || ch == '\\' || ch >= 0x7f)
			return false;
	}
	return true;
}

static size_t fc_put(char *out, size_t o, const char *p, size_t n)
{
	memcpy(out + o, p, n);
	return o + n;
}

/* An inline line: bare words, or "..." with \xHH escapes. Returns its
 * length, or 0 when it would not fit an inline request's limit. */
static size_t fc_encode_inline(const struct fc_cmd *c, bool lf_only, char *out)
{
	size_t o = 0, i;
	int k;

	for (k = 0; k < c->argc; k++) {
		const struct cmd_arg *a = &c->argv[k];
		if (o + 4 * a->len + 8 > PROTO_INLINE_MAX - 2)
			return 0;
		if (k > 0)
			out[o++] = ' ';
		if (fc_bare(a, k == 0)) {
			o = fc_put(out, o, a->p, a->len);
			continue;
		}
		out[o++] = '"';
		for (i = 0; i < a->len; i++) {
			unsigned char ch = (unsigned char)a->p[i];
			if (ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\')
				out[o++] = (char)ch;
			else
				o += (size_t)sprintf(out + o, "\\x%02x", ch);
		}
		out[o++] = '"';
	}
	return fc_put(out, o, lf_only ? "\n" : "\r\n", lf_only ? 1 : 2);
}

/* A multibulk request; the two bytes after each payload are not checked
 * (as in Redis), so they may be something else than CRLF. */
static size_t fc_encode_multibulk(const struct fc_cmd *c, bool junk, char *out)
{
	size_t o = (size_t)sprintf(out, "*%d\r\n", c->argc);
	int k;

	for (k = 0; k < c->argc; k++) {
		o += (size_t)sprintf(out + o, "$%zu\r\n", c->argv[k].len);
		o = fc_put(out, o, c->argv[k].p, c->argv[k].len);
		o = fc_put(out, o, junk ? "xy" : "\r\n", 2);
	}
	return o;
}

/* Bytes of one request on the wire, at most. */
#define FC_WIRE_MAX (FC_CMD_BYTES_MAX + FC_ARGS_MAX * 32 + 16)

struct fc {
	struct fuzz_in in;
	struct config cfg;
	bool diff;
	struct fc_side a, b;
	struct fc_cmd batch[FC_BATCH_MAX];
	char *wire;           /* FC_BATCH_MAX * FC_WIRE_MAX bytes */
	int expect[FC_CONNS]; /* A's replies this operation, or -1: unknown */
	bool loose[FC_CONNS][FC_VALUES_MAX];
	size_t nloose[FC_CONNS];
	bool pipelined;          /* this operation sent B more than one request */
	uint64_t obuf_closes[2]; /* A's and B's output limit closes before it */
};

/* Sends n bytes from client i of B in reads the input cuts, stepping the
 * shard after each. */
static void fc_send(struct fc *f, int i, const char *p, size_t n)
{
	size_t off = 0, k;
	unsigned pieces = 0;

	while (off < n && f->b.sock[i] >= 0) {
		uint8_t b = pieces++ < FC_PIECES_MAX ? fuzz_u8(&f->in) : 0xff;
		k = b < 0x80 ? (size_t)b + 1 : (size_t)(b - 0x7f) * 128;
		if (k > n - off)
			k = n - off;
		if (!fuzz_io_send(f->b.io, f->b.sock[i], p + off, k)) {
			/* A refused re-arm is retried by the shard: settle
			 * and try once more. */
			fc_settle(&f->b);
			if (fuzz_io_closed(f->b.io, f->b.sock[i]))
				return;
			FUZZ_CHECK(fuzz_io_send(f->b.io, f->b.sock[i], p + off, k),
				   "client %d: the shard does not read (recv not re-armed)", i);
		}
		off += k;
		shard_step(f->b.sh);
		FUZZ_CHECK(ks_check(&f->b.sh->ks) == 0, "B: ks_check %d", ks_check(&f->b.sh->ks));
	}
}

static void fc_b_batch(struct fc *f, int i, int n)
{
	size_t len = 0, k;
	int j;

	for (j = 0; j < n; j++) {
		uint8_t how = fuzz_u8(&f->in);
		k = (how & 1) ? fc_encode_inline(&f->batch[j], how & 2, f->wire + len) : 0;
		if (k == 0)
			k = fc_encode_multibulk(&f->batch[j], (how & 6) == 6, f->wire + len);
		len += k;
	}
	fc_send(f, i, f->wire, len);
}

/* ---- checks after each operation ---- */

/* The divergences B is allowed by design end the comparison: a memory limit
 * (B's connections hold more memory while requests arrive), an output limit
 * (B pipelines, so its output piles up longer), a query buffer limit set
 * low. Anything else that differs is a bug. An output limit that closed a
 * connection in the middle of a batch ends it too, even on both sides: A
 * runs the whole batch before it writes, so its output passes the limit at
 * one request, while B may have written the first replies before the next
 * request arrived, and passes it at a later one, or never; so the requests
 * that ran, and the replies received, differ. */
static bool fc_diverged_by_design(const struct fc *f)
{
	const struct shard *sa = f->a.sh, *sb = f->b.sh;

	return sa->cfg.maxmemory != 0 || sb->cfg.maxmemory != 0 ||
	       sa->st.obuf_limit_disconnections != sb->st.obuf_limit_disconnections ||
	       (f->pipelined && (sa->st.obuf_limit_disconnections != f->obuf_closes[0] ||
				 sb->st.obuf_limit_disconnections != f->obuf_closes[1])) ||
	       (sb->st.qbuf_limit_disconnections > 0 &&
		sb->cfg.client_query_buffer_limit < QUERY_BUF_LIMIT_DEFAULT);
}

static void fc_compare_values(const struct fc *f, int i)
{
	const struct fc_seen *a = &f->a.seen[i], *b = &f->b.seen[i];
	char fa[320], fb[320];
	size_t k;

	FUZZ_CHECK(a->n == b->n, "client %d: %zu replies direct, %zu over the wire", i, a->n, b->n);
	for (k = 0; k < a->n && k < FC_VALUES_MAX; k++) {
		bool loose = k < f->nloose[i] && f->loose[i][k];
		if (resp_reader_value_eq(a->v[k], b->v[k]) ||
		    (loose && a->v[k]->type == b->v[k]->type))
			continue;
		resp_reader_format(a->v[k], fa, sizeof(fa));
		resp_reader_format(b->v[k], fb, sizeof(fb));
		FUZZ_CHECK(false, "client %d reply %zu: direct %s, over the wire %s", i, k, fa, fb);
	}
}

static void fc_compare(struct fc *f)
{
	const struct shard *sa = f->a.sh, *sb = f->b.sh;
	int i;

	if (fc_diverged_by_design(f)) {
		f->diff = false;
		return;
	}
	FUZZ_CHECK(sb->st.protocol_errors == 0 && sb->st.qbuf_limit_disconnections == 0,
		   "well-formed requests got %llu protocol errors, %llu query buffer closes",
		   (unsigned long long)sb->st.protocol_errors,
		   (unsigned long long)sb->st.qbuf_limit_disconnections);
	for (i = 0; i < FC_CONNS; i++) {
		FUZZ_CHECK((f->a.sock[i] < 0) == (f->b.sock[i] < 0),
			   "client %d: connected %d direct, %d over the wire", i, f->a.sock[i] >= 0,
			   f->b.sock[i] >= 0);
		fc_compare_values(f, i);
	}
	FUZZ_CHECK(sa->st.commands_processed == sb->st.commands_processed &&
			   sa->st.keyspace_hits == sb->st.keyspace_hits &&
			   sa->st.keyspace_misses == sb->st.keyspace_misses &&
			   sa->st.expired_keys == sb->st.expired_keys &&
			   ks_size(&sa->ks) == ks_size(&sb->ks),
		   "counters differ: commands %llu/%llu, keys %llu/%llu",
		   (unsigned long long)sa->st.commands_processed,
		   (unsigned long long)sb->st.commands_processed,
		   (unsigned long long)ks_size(&sa->ks), (unsigned long long)ks_size(&sb->ks));
}

/* Settles both shards, reads every client, checks A's reply counts, the
 * keyspaces, and B against A. */
static void fc_check(struct fc *f)
{
	int i, rc;

	fc_settle(&f->a);
	if (f->diff)
		fc_settle(&f->b);
	for (i = 0; i < FC_CONNS; i++) {
		fc_read(&f->a, i);
		if (f->diff)
			fc_read(&f->b, i);
		FUZZ_CHECK(f->expect[i] < 0 || f->a.seen[i].n == (size_t)f->expect[i],
			   "client %d: %zu replies for %d expected", i, f->a.seen[i].n,
			   f->expect[i]);
	}
	rc = ks_check(&f->a.sh->ks);
	FUZZ_CHECK(rc == 0, "ks_check failed at line %d", -rc);
	if (f->diff) {
		fc_compare(f);
		f->obuf_closes[0] = f->a.sh->st.obuf_limit_disconnections;
		f->obuf_closes[1] = f->b.sh->st.obuf_limit_disconnections;
	}
	f->pipelined = false;
	fc_seen_clear(&f->a);
	fc_seen_clear(&f->b);
	for (i = 0; i < FC_CONNS; i++) {
		f->expect[i] = 0;
		f->nloose[i] = 0;
	}
}

/* ---- operations ---- */

static void fc_connect(struct fc *f, int i)
{
	if (f->a.sock[i] >= 0)
		return;
	f->a.sock[i] = fuzz_io_connect(f->a.io);
	if (f->diff)
		f->b.sock[i] = fuzz_io_connect(f->b.io);
	/* A refusal (maxclients) is one error reply, then the close. */
	f->expect[i] = -1;
	fc_check(f);
}

/* Drops from the batch what B's connection would refuse before
 * authentication (by design a protocol error, tested in fuzz_resp). */
static int fc_drop_unauth(struct fc *f, int i, int n)
{
	struct conn *c = fc_conn(&f->b, i);
	int j, k = 0;

	if (c == NULL || (c->flags & CONN_F_AUTHED) || !conn_password_required(&f->b.sh->ch))
		return n;
	for (j = 0; j < n; j++) {
		if (fc_unauth_breaks(&f->batch[j]))
			continue;
		if (k != j) {
			char *bytes = f->batch[k].bytes;
			f->batch[k] = f->batch[j];
			f->batch[j].bytes = bytes;
		}
		k++;
	}
	return k;
}

/* FUZZ_TRACE=1 in the environment prints each command as it runs, to
 * read a failing input. */
static void fc_trace(int i, const struct fc_cmd *c, int replies)
{
	static int on = -1;
	int k;

	if (on < 0)
		on = getenv("FUZZ_TRACE") != NULL;
	if (!on)
		return;
	fprintf(stderr, "client %d:", i);
	for (k = 0; k < c->argc; k++)
		fprintf(stderr, " '%.*s'%s", (int)(c->argv[k].len < 40 ? c->argv[k].len : 40),
			c->argv[k].p, c->argv[k].len > 40 ? "..." : "");
	fprintf(stderr, " -> %d replies\n", replies);
}

static void fc_batch(struct fc *f, int i, int n)
{
	struct conn *c;
	int j, k, r, rc;

	if (f->a.sock[i] < 0)
		fc_connect(f, i);
	if (f->a.sock[i] < 0)
		return;
	for (j = 0; j < n; j++)
		fc_gen_cmd(&f->in, &f->batch[j]);
	for (j = 0; j < n && n > 1; j++)
		if (fc_changes_auth(&f->batch[j]))
			n = 1;
	if (f->diff)
		n = fc_drop_unauth(f, i, n);
	c = fc_conn(&f->a, i);
	FUZZ_CHECK(c != NULL, "client %d has a socket but no connection", i);
	f->expect[i] = 0;
	for (j = 0; j < n && !fc_stopped(c); j++) {
		r = fc_exec(&f->a, i, c, &f->batch[j]);
		fc_trace(i, &f->batch[j], r);
		rc = ks_check(&f->a.sh->ks);
		FUZZ_CHECK(rc == 0, "ks_check failed at line %d", -rc);
		for (k = 0; k < r && f->nloose[i] < FC_VALUES_MAX; k++)
			f->loose[i][f->nloose[i]++] = f->batch[j].loose;
		f->expect[i] += r;
	}
	/* Closed at once: what it had not written is dropped. */
	if (c->flags & CONN_F_CLOSE_NOW)
		f->expect[i] = 0;
	for (j = 0; j < FC_CONNS; j++) {
		if (f->a.got_messages[j])
			f->expect[j] = -1;
		f->a.got_messages[j] = false;
	}
	if (f->diff)
		fc_b_batch(f, i, n);
	f->pipelined = n > 1;
	fc_check(f);
}

/* An operation on the world, applied to both shards alike. */
static void fc_world(struct fc *f, int kind, int i)
{
	struct fc_side *sides[2] = { &f->a, &f->b };
	uint32_t arg = kind == 12 ? fuzz_u16(&f->in) : fuzz_u8(&f->in);
	int s;

	for (s = 0; s < (f->diff ? 2 : 1); s++) {
		struct fc_side *x = sides[s];
		switch (kind) {
		case 11: fuzz_io_hangup(x->io, x->sock[i]); break;
		case 12:
			/* Milliseconds, or whole seconds past 32767. */
			fuzz_io_advance(x->io, arg < 0x8000
						       ? (uint64_t)arg * 1000000
						       : (uint64_t)(arg - 0x7fff) * 1000000000);
			break;
		case 13: fuzz_io_write_limit(x->io, arg < 16 ? arg : (size_t)arg * 64); break;
		case 14: fuzz_io_refuse(x->io, arg % 8); break;
		default: fuzz_io_nobufs(x->io, x->sock[i]); break;
		}
	}
	fc_check(f);
}

static void fc_op(struct fc *f)
{
	uint8_t op = fuzz_u8(&f->in);
	int i = (op >> 4) % FC_CONNS, kind = op & 15;

	if (kind <= 8)
		fc_batch(f, i, 1);
	else if (kind == 9)
		fc_batch(f, i, 2 + fuzz_u8(&f->in) % (FC_BATCH_MAX - 1));
	else if (kind == 10)
		fc_connect(f, i);
	else
		fc_world(f, kind, i);
}

/* Byte 0: bit 0 differential mode, bit 1 requirepass, bit 2 active expiry
 * off, bit 3 maxmemory (not in differential mode), bit 4
 * lazyfree-lazy-user-flush, bit 5 an idle timeout, bits 6-7 hz. Byte 1:
 * bits 0-1 maxclients, bits 2-3 maxmemory, bits 4-6 timeout seconds, bit 7
 * a small bigbulk-reserve-max. */
static void fc_config(struct fc *f)
{
	static const long long hz[4] = { 10, 1, 100, 500 };
	static const long long clients[4] = { 16, 2, 3, 64 };
	static const long long maxmem[4] = { 256 << 10, 1 << 20, 4 << 20, 64 << 20 };
	uint8_t a = fuzz_u8(&f->in), b = fuzz_u8(&f->in);

	config_defaults(&f->cfg);
	f->cfg.loglevel = IO_LOG_DEBUG; /* every log line is formatted */
	f->diff = a & 1;
	if (a & 2)
		snprintf(f->cfg.requirepass, sizeof(f->cfg.requirepass), "secret");
	f->cfg.active_expire = !(a & 4);
	if ((a & 8) && !f->diff)
		f->cfg.maxmemory = maxmem[(b >> 2) & 3];
	f->cfg.lazyfree_lazy_user_flush = (a & 16) != 0;
	if (a & 32)
		f->cfg.timeout = 1 + ((b >> 4) & 7);
	f->cfg.hz = hz[a >> 6];
	f->cfg.maxclients = clients[b & 3];
	if (b & 0x80)
		f->cfg.bigbulk_reserve_max = 40000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc f;
	unsigned ops = 0;
	bool with_b;
	int j;

	fc_init_once();
	if (f.wire == NULL) {
		f.wire = malloc((size_t)FC_BATCH_MAX * FC_WIRE_MAX);
		for (j = 0; j < FC_BATCH_MAX; j++)
			f.batch[j].bytes = malloc(FC_CMD_BYTES_MAX);
		ASSERT(f.wire != NULL);
	}
	fuzz_in_init(&f.in, data, size);
	fc_config(&f);
	with_b = f.diff;
	fc_side_init(&f.a, &f.cfg);
	f.a.track = true;
	if (with_b)
		fc_side_init(&f.b, &f.cfg);
	for (j = 0; j < FC_CONNS; j++)
		f.expect[j] = 0;
	f.pipelined = false;
	f.obuf_closes[0] = f.obuf_closes[1] = 0;
	while (!fuzz_in_empty(&f.in) && ops++ < FC_OPS_MAX)
		fc_op(&f);
	fc_side_free(&f.a);
	if (with_b)
		fc_side_free(&f.b);
	return 0;
}
