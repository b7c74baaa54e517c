/* model_int.h: the model's own definitions, shared by model.c (states,
 * branches, checking) and model_ops.c (what each command does, and the
 * workload). Not for anyone else. */
#ifndef CAIRN_SIM_MODEL_INT_H
#define CAIRN_SIM_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Possible states kept per key before the key is given up as unknowable. */
#define MODEL_STATES_MAX 16
/* Keys a request names at most. */
#define MODEL_REQ_KEYS 8
/* Shared keys: counters and registers every client uses. */
#define MODEL_COUNTERS 2
#define MODEL_REGISTERS 2
#define MODEL_NO_TTL INT64_MIN
/* The error a command answers on a key of another type. */
#define MODEL_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
/* The error of a write refused under maxmemory. */
#define MODEL_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* Fields of one hash at most: the workload's names (model_hash.c). */
#define MODEL_HASH_FIELDS 64

/* Set members and list elements: every one the workload names is one of a
 * fixed universe of MODEL_UNIVERSE names (model_univ.c). A set's state
 * holds the bitmap of the ones it has (MODEL_SET_BYTES in val, its size in
 * nf); a list's the array of its elements' indexes (uint16_t, nf of them,
 * len = 2 * nf bytes in val). */
#define MU_N_NARROW 14
#define MU_SMALL_MIN (-16) /* small integers, from this */
#define MU_N_SMALL 64
#define MU_N_EDGE 16
/* Strings of 10 to 130 bytes (about the listpack value limits, drawn 1 to
 * 128), and of 65 to 365 (past their defaults). */
#define MU_N_MED 16
#define MU_N_LONG 16
/* The pools a big write draws from: integers and short strings. */
#define MU_N_POOL 600
enum {
	U_NARROW = 0,
	U_SMALL = U_NARROW + MU_N_NARROW,
	U_EDGE = U_SMALL + MU_N_SMALL,
	U_MED = U_EDGE + MU_N_EDGE,
	U_LONG = U_MED + MU_N_MED,
	U_IPOOL = U_LONG + MU_N_LONG,
	U_SPOOL = U_IPOOL + MU_N_POOL,
	U_END = U_SPOOL + MU_N_POOL,
};
#define MODEL_UNIVERSE U_END
#define MODEL_SET_BYTES 168
_Static_assert(MODEL_UNIVERSE <= MODEL_SET_BYTES * 8, "the set bitmap is too small");
_Static_assert(MODEL_UNIVERSE <= 65536, "a list element is a uint16_t");
/* The longest name. */
#define MODEL_NAME_MAX 400

/* A key's type, when it is present. A HyperLogLog is a string to Redis
 * (TYPE says string, the string commands read its bytes), but its bytes
 * are the node's sketch, which the model does not compute: it keeps the
 * elements added instead (model_hll.c). */
enum mtype { MT_STRING = 0, MT_HASH, MT_SET, MT_LIST, MT_ZSET, MT_HLL };

/* One member of a sorted set: its score (never NaN, and never -0, which
 * is kept as 0 so that equal sets compare equal byte for byte) and its
 * name's index in the universe; zero is always 0. */
struct mzent {
	double score;
	uint32_t m;
	uint32_t zero;
};

/* One field of a hash, and its value. */
struct mfield {
	const char *f, *v;
	size_t flen, vlen;
};

/* One possible state of a key: absent, a string (val, len), a hash
 * (fields, nf >= 1, sorted by field, so that equal hashes compare equal
 * field by field), a set (val: its bitmap of MODEL_SET_BYTES, nf >= 1
 * members), a list (val: nf >= 1 uint16_t indexes of the universe, head
 * first, len = 2 * nf), a sorted set (val: nf >= 1 struct mzent in
 * Redis's order, by score then by name, len = nf * sizeof(struct mzent))
 * or a HyperLogLog (val: the bitmap of the elements added, as a set's, nf
 * of them, maybe 0). Expiry is an interval of ms: the key has expired at time
 * t iff t > E, for some E in [exp_lo, exp_hi].
 *
 * A state the model keeps owns its bytes: val, or for a hash one block that
 * holds the field array and every field's and value's bytes (model.c's
 * state_copy). A state a command's outcome describes (struct mout) points
 * into the old state and the request instead. */
struct mstate {
	bool present;
	enum mtype type;
	char *val;
	size_t len;
	struct mfield *fields;
	unsigned nf;
	int64_t exp_lo, exp_hi; /* MODEL_NO_TTL: no TTL */
};

struct mkey {
	char name[48];
	size_t nlen;
	struct mstate s[MODEL_STATES_MAX];
	unsigned n;
	bool wild;           /* too uncertain: anything goes until a plain overwrite */
	unsigned floating;   /* lost writes that may still run: wild till settled */
	uint64_t settled_at; /* when the last of them settled */
};

enum mop {
	OP_GET = 1,
	OP_SET,
	OP_SETNX,
	OP_GETSET,
	OP_GETDEL,
	OP_DEL,
	OP_EXISTS,
	OP_INCRBY,
	OP_APPEND,
	OP_STRLEN,
	OP_GETRANGE,
	OP_SETRANGE,
	OP_EXPIRE,
	OP_PERSIST,
	OP_PTTL,
	OP_TTL,
	OP_TYPE,
	/* Hashes (model_hash.c); single-key, like the ops above. */
	OP_HSET,
	OP_HSETNX,
	OP_HGET,
	OP_HMGET,
	OP_HDEL,
	OP_HLEN,
	OP_HSTRLEN,
	OP_HEXISTS,
	OP_HINCRBY,
	OP_HGETALL,
	OP_HKEYS,
	OP_HVALS,
	/* Sets (model_set.c); single-key. */
	OP_SADD,
	OP_SREM,
	OP_SCARD,
	OP_SISMEMBER,
	OP_SMISMEMBER,
	OP_SMEMBERS,
	OP_SRANDMEMBER,
	OP_SPOP,
	/* Lists (model_list.c); single-key. */
	OP_LPUSH,
	OP_RPUSH,
	OP_LPUSHX,
	OP_RPUSHX,
	OP_LPOP,
	OP_RPOP,
	OP_LLEN,
	OP_LRANGE,
	OP_LINDEX,
	OP_LSET,
	OP_LINSERT,
	OP_LREM,
	OP_LTRIM,
	OP_LPOS,
	/* Bitmaps (model_bit.c): commands on strings; single-key. */
	OP_SETBIT,
	OP_GETBIT,
	OP_BITCOUNT,
	OP_BITPOS,
	/* Sorted sets (model_zset.c); single-key. OP_ZRANGE is every range
	 * read (ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ...: struct mzargs's
	 * form). */
	OP_ZADD,
	OP_ZINCRBY,
	OP_ZREM,
	OP_ZCARD,
	OP_ZSCORE,
	OP_ZMSCORE,
	OP_ZRANK,
	OP_ZREVRANK,
	OP_ZCOUNT,
	OP_ZLEXCOUNT,
	OP_ZRANGE,
	OP_ZREMRANGEBYRANK,
	OP_ZREMRANGEBYSCORE,
	OP_ZREMRANGEBYLEX,
	OP_ZPOPMIN,
	OP_ZPOPMAX,
	OP_ZRANDMEMBER,
	/* HyperLogLog on the string keys (model_hll.c); PFCOUNT of one key. */
	OP_PFADD,
	OP_PFCOUNT,
	/* SORT and SORT_RO without STORE (model_sort.c). */
	OP_SORT,
	OP_LAST_SINGLE = OP_SORT,
	OP_MGET,
	OP_MSET,
	OP_MSETNX,
	OP_DEL_MULTI,
	OP_EXISTS_MULTI,
	/* Over several keys, atomically, checked over every combination of
	 * their keys' states (model_multi.c). Sets: SMOVE source destination;
	 * the STORE ones have their destination first, then the sources. */
	OP_SMOVE,
	OP_SINTER,
	OP_SUNION,
	OP_SDIFF,
	OP_SINTERCARD,
	OP_SINTERSTORE,
	OP_SUNIONSTORE,
	OP_SDIFFSTORE,
	/* Lists: source then destination; LMPOP's keys. */
	OP_LMOVE,
	OP_RPOPLPUSH,
	OP_LMPOP,
	/* BITOP op destination source...: the destination first. */
	OP_BITOP,
	/* Sorted sets (model_zmulti.c): ZRANGESTORE destination source, the
	 * STOREs destination then sources; the others their sources, ZMPOP
	 * its keys. */
	OP_ZRANGESTORE,
	OP_ZUNIONSTORE,
	OP_ZINTERSTORE,
	OP_ZDIFFSTORE,
	OP_ZUNION,
	OP_ZINTER,
	OP_ZDIFF,
	OP_ZINTERCARD,
	OP_ZMPOP,
	/* PFCOUNT of several keys; PFMERGE destination source... (the
	 * destination is read too). */
	OP_PFCOUNT_MULTI,
	OP_PFMERGE,
	/* SORT source ... STORE destination: the destination first. */
	OP_SORT_STORE,
	OP_LAST_MULTI = OP_SORT_STORE,
	/* Errors with a known text (the connection stays). */
	OP_ERR,
	/* A protocol error: one error reply, then the node closes. */
	OP_PROTO,
	/* Shared keys. */
	OP_COUNTER_INCR,
	OP_REG_SET,
	OP_REG_GET,
	/* Transactions (model_txn.c): WATCH of one key, MULTI, EXEC. */
	OP_WATCH,
	OP_MULTI,
	OP_EXEC,
	/* Blocking pops on shared queues (model_bpop.c): RPUSH or LPUSH of a
	 * new element, BLPOP or BRPOP over one or two queues, BLMOVE or
	 * BRPOPLPUSH from a queue to the sink. */
	OP_QPUSH,
	OP_QPOP,
	OP_QMOVE,
	/* Pub/sub (model_pubsub.c): PUBLISH or SPUBLISH of a new message;
	 * SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE or an UNSUBSCRIBE of one target. */
	OP_PUBLISH,
	OP_PSUB,
};

/* SET options (OP_SET). */
#define SETF_NX 0x1
#define SETF_XX 0x2
#define SETF_GET 0x4
#define SETF_EX 0x8    /* num seconds */
#define SETF_PX 0x10   /* num ms */
#define SETF_PXAT 0x20 /* num: absolute ms */
#define SETF_KEEPTTL 0x40
/* DEL (OP_DEL, OP_DEL_MULTI) sent as UNLINK. */
#define DELF_UNLINK 0x80
/* SRANDMEMBER, SPOP, LPOP, RPOP, LMPOP: with a count (num); SINTERCARD:
 * with LIMIT (num); LPOS: with COUNT (num2). */
#define SF_COUNT 0x100
/* LMOVE, LMPOP: from the tail (RIGHT); LINSERT: AFTER. */
#define LF_TAIL 0x200
/* LMOVE: to the tail. */
#define LF_TO_TAIL 0x400
/* LPOS: with RANK (num) and MAXLEN (num3). */
#define LF_RANK 0x800
#define LF_MAXLEN 0x1000
/* BITCOUNT, BITPOS: with a start (num) and an end (num2), and in which
 * unit (none: the default, bytes). */
#define BF_START 0x2000
#define BF_END 0x4000
#define BF_BIT 0x8000
#define BF_BYTE 0x10000

/* Sorted set and SORT options (struct mzargs's flags). */
#define ZA_NX 0x1
#define ZA_XX 0x2
#define ZA_GT 0x4
#define ZA_LT 0x8
#define ZA_CH 0x10
#define ZA_INCR 0x20
#define ZA_REV 0x40 /* a range from the highest (REV, ZREV...); SORT: DESC */
#define ZA_LIMIT 0x80
#define ZA_WITHSCORES 0x100
#define ZA_MINEX 0x200 /* the bound is exclusive: "(" */
#define ZA_MAXEX 0x400
#define ZA_WEIGHTS 0x800
#define ZA_AGGREGATE 0x1000
/* ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZMPOP: with a count (cnt); ZINTERCARD:
 * with LIMIT (cnt). */
#define ZA_COUNT 0x2000
#define ZA_MAX 0x4000 /* ZMPOP MAX */
/* One number sent as a word that is none: ZADD's and ZINCRBY's first
 * score, a range's first bound (rank, score or name), a weight, a count. */
#define ZA_BAD 0x8000
#define ZA_ODD 0x10000   /* ZADD: a last score without its member */
#define ZA_ALT 0x20000   /* scores written another way ("3.0", "+inf") */
#define ZA_ALPHA 0x40000 /* SORT */
#define ZA_NOSORT 0x80000
#define ZA_RO 0x100000 /* SORT_RO */

/* What a range selects by (ZRANGE, ZRANGESTORE, ZREMRANGEBY...), and
 * which command sends it: ZRANGE's own syntax or one of the older ones. */
enum zby { ZBY_RANK = 0, ZBY_SCORE, ZBY_LEX };
enum zform {
	ZF_ZRANGE = 0,
	ZF_ZREVRANGE,
	ZF_ZRANGEBYSCORE,
	ZF_ZREVRANGEBYSCORE,
	ZF_ZRANGEBYLEX,
	ZF_ZREVRANGEBYLEX,
};
enum zagg { ZAGG_SUM = 0, ZAGG_MIN, ZAGG_MAX };
/* A lex bound: a name of the universe (inclusive, or exclusive with
 * ZA_MINEX or ZA_MAXEX), or "-" or "+". */
#define ZLEX_MINUS (-1)
#define ZLEX_PLUS (-2)

/* The arguments of a sorted set command or SORT. */
struct mzargs {
	unsigned flags;        /* ZA_* */
	double *scores;        /* ZADD: one per member (q->mi); ZINCRBY: one */
	enum zby by;           /* a range's */
	enum zform form;       /* OP_ZRANGE, OP_ZRANGESTORE */
	long long start, stop; /* ranks */
	double min, max;       /* scores */
	int lmin, lmax;        /* names */
	long long off, cnt;    /* LIMIT off cnt; a count (cnt) */
	double weights[MODEL_REQ_KEYS];
	enum zagg agg;
};

/* A field of a hash command, with its value where the command has one. */
struct mpair {
	char *f, *v;
	size_t flen, vlen;
};

struct mreq {
	enum mop op;
	unsigned client;
	unsigned keys[MODEL_REQ_KEYS]; /* indexes into model.keys */
	unsigned nkeys;
	char *vals[MODEL_REQ_KEYS]; /* values, one per key where the op has them */
	size_t vlens[MODEL_REQ_KEYS];
	long long num, num2, num3; /* amounts, offsets, ranges, TTLs */
	unsigned flags;
	const char *expect; /* OP_ERR, OP_PROTO: the error text */
	unsigned shared;    /* counter or register index */
	uint64_t token;     /* OP_REG_SET: the value written */
	struct mpair *hp;   /* hash commands: their fields (and values) */
	unsigned nhp;
	/* Set and list commands: their members or elements, as indexes of
	 * the universe (LINSERT: the pivot, then the element). */
	unsigned *mi;
	unsigned nmi;
	/* Sorted set and SORT commands: their scores, ranges and options. */
	struct mzargs *z;
	/* While the reply is checked: the reply, for the commands whose
	 * outcome it decides (which members SPOP took). */
	const struct resp_reader_value *reply;
	/* Its command may answer OOM under maxmemory (Redis's denyoom). */
	bool denyoom;
	/* Its part in a transaction (model_txn.c): TXQ_*. */
	unsigned txn;
};

/* Sent between MULTI and EXEC: answered +QUEUED, run by EXEC. */
#define TXQ_QUEUED 0x1
/* A write of the watched key between WATCH and MULTI: EXEC must fail. */
#define TXQ_TOUCH 0x2

/* What a reply must be, for one possible branch. */
enum mexp_kind {
	X_STATUS = 1,
	X_ERR,
	X_INT,
	X_BULK,
	X_NULL,
	X_HMGET,   /* HMGET's array: each asked field's value, or null */
	X_FIELDS,  /* HKEYS, HVALS, HGETALL: the hash's parts, in any order */
	X_VERDICT, /* decided already (lo: 1 if the reply is legal) */
	X_PREFIX,  /* a bulk that begins with the len bytes at p */
};

/* X_FIELDS: which parts of each field the reply holds. */
#define XF_KEYS 0x1
#define XF_VALS 0x2

struct mexp {
	enum mexp_kind kind;
	const char *text; /* X_STATUS, X_ERR (the message, after "-") */
	long long lo, hi; /* X_INT: the legal range */
	const char *p;    /* X_BULK */
	size_t len;
	/* X_HMGET, X_FIELDS: the hash (nf 0 for none), and what was asked. */
	const struct mfield *fields;
	unsigned nf;
	const struct mpair *ask; /* X_HMGET */
	unsigned nask;
	unsigned parts; /* X_FIELDS: XF_* */
};

/* The expectations most outcomes use: an integer, an error, and a verdict
 * the op reached itself (X_VERDICT: legal or not). */
static inline struct mexp x_int(long long v)
{
	return (struct mexp){ .kind = X_INT, .lo = v, .hi = v };
}

static inline struct mexp x_err(const char *text)
{
	return (struct mexp){ .kind = X_ERR, .text = text };
}

static inline struct mexp verdict(bool legal)
{
	return (struct mexp){ .kind = X_VERDICT, .lo = legal };
}

/* One way a single-key command could have gone: the reply, and the state
 * it leaves. val points into the request or the old state; the caller
 * copies it when the branch is kept. */
struct mout {
	struct mexp exp;
	struct mstate next;
	/* The next state is not known (a removal by name over members of
	 * several scores; a HyperLogLog's bytes changed by a string command):
	 * the key becomes unknown if this outcome is kept. */
	bool wild;
	char *owned;                 /* a new value built for this branch, or NULL */
	struct mfield *owned_fields; /* a new field array (not its bytes), or NULL */
};

/* Which keys the node may evict (maxmemory and its policy). */
enum mevict { MEVICT_NONE = 0, MEVICT_ALL, MEVICT_TTL };

struct model {
	struct world *w;
	unsigned node; /* the node it models */
	/* Cluster runs: "{tag}", a hash tag of one slot of the node, which
	 * begins every name the model sends (keys, queues, channels), so
	 * that they all live on its node, in one slot; else "". */
	char tag[24];
	unsigned nclients, keys_per;
	struct mkey *keys; /* client c owns [c * keys_per, (c + 1) * keys_per) */
	/* Shared counters: increments sent, replies seen. */
	uint64_t ctr_sent[MODEL_COUNTERS], ctr_lost[MODEL_COUNTERS];
	uint64_t ctr_acked[MODEL_COUNTERS], ctr_max[MODEL_COUNTERS];
	uint8_t *ctr_seen[MODEL_COUNTERS];
	uint64_t ctr_seen_cap[MODEL_COUNTERS];
	/* Shared registers: every write. */
	struct mwrite *regw[MODEL_REGISTERS];
	unsigned regw_n[MODEL_REGISTERS], regw_cap[MODEL_REGISTERS];
	uint64_t next_token;
	/* Keys of lost writes that may still run, and their connections. */
	struct mfloat {
		unsigned key;
		uint64_t conn;
	} * floats;
	unsigned nfloats, floats_cap;
	uint64_t cur_send; /* the send time of the request being checked */
	/* Under maxmemory: which keys may be evicted at any moment, and the
	 * node's command table, to tell the writes that may answer OOM. */
	enum mevict evict;
	bool oom_ok;
	uint64_t ooms;  /* writes refused, for the run's report */
	uint64_t downs; /* requests refused with CLUSTERDOWN */
	struct cmd_index *cmds;
	struct mtxn *txn;            /* per client (model_txn.c) */
	struct mbpop *bp;            /* shared queues (model_bpop.c) */
	struct mpubsub *ps;          /* pub/sub (model_pubsub.c) */
	uint64_t execs, exec_aborts; /* transactions, and those WATCH failed */
};

/* model_txn.c: transactions. A client sometimes sends, pipelined like
 * anything else: [SET k PX t] [WATCH k [a write of k]] MULTI c1 .. cn EXEC,
 * k one of its keys and c1..cn its ordinary commands. The queued commands
 * must answer +QUEUED, and EXEC the array of their replies, each checked as
 * if the command had run alone at EXEC's time; or, with WATCH, a null
 * array, which is legal only if k may have changed (its own write, a TTL
 * that may have passed, lost writes) and required if it certainly did (its
 * own write; alive at WATCH and expired before EXEC). Not under maxmemory,
 * where refusals abort transactions. */
struct mtxn;
void mt_init(struct model *m);
void mt_free(struct model *m);
/* The next request of client c's transaction, or of a new one; NULL: an
 * ordinary request instead. */
struct mreq *mt_next(struct model *m, unsigned c, struct rng *r);
void mt_encode(const struct model *m, const struct mreq *q, char **out, size_t *len);
/* Whether q is a transaction's (its reply or loss goes to mt_). */
bool mt_owns(const struct mreq *q);
/* Its reply: checked; q freed, or kept until EXEC (a queued command). */
void mt_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	      uint64_t recv);
/* Its connection died. */
void mt_lost(struct model *m, struct mreq *q, uint64_t send, uint64_t conn);
/* Client c's connection conn is gone: a transaction in progress is over. */
void mt_reset(struct model *m, unsigned c, uint64_t conn);
/* model_bpop.c: blocking pops on queues every client shares. Clients
 * push elements, each named once in the run, and pop them with BLPOP,
 * BRPOP, BLMOVE and BRPOPLPUSH with short timeouts (the pops block while
 * the queues are empty, and race each other: the queues' names spread
 * them over shards). Checked: an element popped was pushed to that queue,
 * and is popped once (conservation: never twice, never from elsewhere);
 * and at the end, a pop that timed out had nothing to take: no element
 * acknowledged on its queues before it was sent stayed there for ever,
 * unless lost pops (connections reset) may have taken them. Not under
 * maxmemory, where the queues may be evicted or pushes refused. */
struct mbpop;
void mbp_init(struct model *m);
void mbp_free(struct model *m);
/* A blocking-pop workload request for client c now and then; NULL: none. */
struct mreq *mbp_next(struct model *m, unsigned c, struct rng *r);
void mbp_encode(const struct model *m, const struct mreq *q, char **out, size_t *len);
bool mbp_owns(const struct mreq *q);
void mbp_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	       uint64_t recv);
void mbp_lost(struct model *m, struct mreq *q);
void mbp_end(struct model *m);
/* Whether client c is between transactions (model_txn.c). */
bool mt_idle(const struct model *m, unsigned c);

/* model_pubsub.c: clients that subscribe for a while, and messages
 * published once each; every message and confirmation checked as it
 * arrives. msp_next: the next pub/sub request of client c, or NULL (with
 * *idle: a subscriber sends nothing this time; else another workload's
 * turn). */
struct mpubsub;
void msp_init(struct model *m);
void msp_free(struct model *m);
struct mreq *msp_next(struct model *m, unsigned c, struct rng *r, bool *idle);
void msp_encode(const struct model *m, const struct mreq *q, char **out, size_t *len);
bool msp_owns(const struct mreq *q);
void msp_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
	       uint64_t recv);
void msp_lost(struct model *m, struct mreq *q);
void msp_conn_lost(struct model *m, unsigned c, uint64_t conn);

/* model.c's checks of an ordinary request's reply, and of its loss (as
 * model_reply and model_lost; for a transaction's queued commands). */
void model_check(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
		 uint64_t recv);
void model_forget(struct model *m, struct mreq *q, uint64_t send, uint64_t conn);

/* model_ops.c */
struct mreq *ops_generate(struct model *m, unsigned c, struct rng *r);
void ops_encode(const struct model *m, const struct mreq *q, char **out, size_t *len);
/* The outcomes of a single-key op on key ki of q given state s (already
 * known live or absent at time t in [tlo, thi]). */
unsigned ops_apply(const struct mreq *q, unsigned ki, const struct mstate *s, int64_t tlo,
		   int64_t thi, struct mout *out);
bool ops_single_key(enum mop op);
/* Whether op may change a key (its lost requests leave keys unknown). */
bool ops_writes(enum mop op);
const char *ops_name(enum mop op);
bool model_str2ll(const char *p, size_t len, long long *out);
void mreq_free(struct mreq *q);
struct mstate ops_absent(void);
/* Which of its keys a client picks for a command. */
enum kpref { K_ANY = 0, K_STRING, K_HASH, K_SET, K_LIST, K_ZSET };
/* A key of client c, distinct from the first `avoid` keys of q: mostly
 * one of the keys the client uses for the type asked (a fifth of its keys
 * each, in the order of enum kpref), so every type stays common, and
 * some commands still cross into another type's keys (WRONGTYPE). */
unsigned ops_key(const struct model *m, unsigned c, struct rng *r, const struct mreq *q,
		 unsigned avoid, enum kpref pref);

/* model_hash.c */
bool mh_op(enum mop op);
/* A hash command on state s (live or absent), as ops_apply. */
unsigned mh_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
/* Whether reply v is what X_HMGET or X_FIELDS expectation x says. */
bool mh_matches(const struct mexp *x, const struct resp_reader_value *v);
/* The next hash command of client c, on one of its keys. */
void mh_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);
/* Where to find the state's field f, or -1. */
int mh_find(const struct mfield *fields, unsigned nf, const char *f, size_t flen);

/* model_univ.c: the names of set members and list elements. */
/* Name i of the universe into buf (MODEL_NAME_MAX); its length. */
size_t mu_name(unsigned i, char *buf);
/* Which name of the universe p is, or -1. */
int mu_index(const char *p, size_t len);
/* A set member: for a key of integers, mostly an integer (so that its set
 * stays an intset for a while and grows through the 16-, 32- and 64-bit
 * encodings); else of any class. */
unsigned mu_member(struct rng *r, bool ints);
/* A list element: mostly one of a few hot names, so that LREM, LPOS and
 * LINSERT find theirs, else of any class. */
unsigned mu_element(struct rng *r);
/* How names i and j compare as Redis compares strings (their bytes, then
 * the shorter first): < 0, 0 or > 0. */
int mu_cmp(unsigned i, unsigned j);

/* model_set.c */
bool ms_op(enum mop op);
/* A set command on state s (live or absent), as ops_apply. */
unsigned ms_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
/* The next set command of client c, on its keys. */
void ms_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);

/* model_list.c */
bool ml_op(enum mop op);
/* A list command on state s (live or absent), as ops_apply. */
unsigned ml_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
/* The next list command of client c, on its keys. */
void ml_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);

/* model_bit.c */
bool mb_op(enum mop op);
/* A bitmap command on state s (live or absent), as ops_apply. */
unsigned mb_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
/* The next bitmap command of client c, on its keys. */
void mb_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);

/* model_multi.c: the commands over several keys (mm_op), which run
 * atomically over keys that may live on several shards: every combination
 * of their keys' possible states is tried, and the states of the
 * combinations that explain the reply are kept for each key. */
bool mm_op(enum mop op);
/* Whether q's first key is written without being read (a STORE's or
 * BITOP's destination): 0 or 1. */
unsigned mm_blind(enum mop op);
/* How many of q's first keys the command may write. */
unsigned mm_written(const struct mreq *q);
/* Checks the reply of such a command, and narrows its keys. */
void mm_check(struct model *m, const struct mreq *q, const struct resp_reader_value *v, int64_t tlo,
	      int64_t thi);
/* One combination of the states of the keys a command reads. */
struct mcombo;
/* The state of q's key i (one it reads) in combination cb. */
const struct mstate *mc_state(const struct mcombo *cb, unsigned i);
/* Whether q's keys i and j (both read) are one key. */
bool mc_same(const struct mcombo *cb, unsigned i, unsigned j);
/* What one combination gives: whether it explains the reply, whether that
 * reply is an error (then nothing is written), and the next states of what
 * it writes: q's key i (a key it reads) in next[i] where wrote[i], the
 * blind destination in dest. Buffers from mc_alloc go with the outcome. */
struct mc_out {
	bool legal, error;
	/* What it writes is not known (a range by name over members of
	 * several scores; a sum whose order Redis chooses; a HyperLogLog's
	 * bytes read as a bitmap): those keys become unknown. */
	bool wild;
	bool wrote[MODEL_REQ_KEYS];
	struct mstate next[MODEL_REQ_KEYS];
	struct mstate dest;
	char *owned[MODEL_REQ_KEYS + 2];
	unsigned nowned;
};
/* n zeroed bytes that live as long as o. */
char *mc_alloc(struct mc_out *o, size_t n);
/* Whether v is the WRONGTYPE error; the integer n. */
bool mm_wrongtype(const struct resp_reader_value *v);
bool mm_int_is(const struct resp_reader_value *v, long long n);
/* Each family's outcome for one combination (reply v). */
void ms_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);
void ml_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);
void mb_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);

/* model_ops.c: a request's RESP encoding, argument by argument. */
struct enc {
	char *p;
	size_t len, cap;
	unsigned argc;
};
void enc_arg(struct enc *e, const char *p, size_t n);
void enc_str(struct enc *e, const char *s);
void enc_num(struct enc *e, long long v);
void enc_key(struct enc *e, const struct model *m, unsigned k);
/* q's members or elements (mi), by their names. */
void enc_members(struct enc *e, const struct mreq *q);
/* Each family's commands that model_ops.c does not encode itself. */
void ms_encode(struct enc *e, const struct model *m, const struct mreq *q);
void ml_encode(struct enc *e, const struct model *m, const struct mreq *q);
void mb_encode(struct enc *e, const struct model *m, const struct mreq *q);

/* model.c: the machinery the multi-key checks share. */
bool mkey_certain(const struct model *m, unsigned k, int64_t now);
/* A set of next states being built, with duplicates merged. */
struct mset {
	struct mstate s[MODEL_STATES_MAX];
	unsigned n;
	bool overflow;
};
void mset_add(struct mset *set, const struct mstate *s);
void mset_release(struct mset *set);
/* The states s may be in when a command runs at some t in [tlo, thi]:
 * live (with its expiry narrowed) and/or expired, or evicted if m's
 * policy may evict it. */
unsigned model_branches(const struct model *m, const struct mstate *s, int64_t tlo, int64_t thi,
			struct mstate out[2]);
/* Key k's possible states become set's (or, past the limit, anything). */
void model_key_take(struct model *m, unsigned k, struct mset *set);
/* A write left key k in one of set's states whatever it was before. */
void model_key_known(struct model *m, unsigned k, struct mset *set);
/* Key k could be anything now, until a plain overwrite. */
void model_key_unknown(struct model *m, unsigned k);
/* A reply no possible states explain: a correctness failure naming q's
 * keys and their states. */
void model_fail_keys(struct model *m, const struct mreq *q, const struct resp_reader_value *v);

/* model_zset.c: sorted sets, one key. */
bool mz_op(enum mop op);
/* A sorted set command on state s (live or absent), as ops_apply. */
unsigned mz_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
/* A sorted set's members (none if s is absent or of another type). */
unsigned mz_len(const struct mstate *s);
const struct mzent *mz_ents(const struct mstate *s);
/* Redis's order: by score, then by name. */
int mz_cmp(const struct mzent *a, const struct mzent *b);
/* The state of the n members at e (sorted here, -0 made 0), with old's
 * TTL if old is a sorted set (none if not); absent if n is 0. */
struct mstate mz_state(const struct mstate *old, struct mzent *e, unsigned n);
/* Whether v is the bulk Redis writes for score d ("%.17g", "inf"; 0 may
 * come as "-0"). */
bool mz_score_is(const struct resp_reader_value *v, double d);
/* Whether v is the array of the n members at e in this order (and each
 * one's score after it, with scores). */
bool mz_reply_is(const struct resp_reader_value *v, const struct mzent *e, unsigned n, bool scores);
/* The error of an argument Redis parses before it looks the key up, or
 * NULL. */
const char *mz_early_error(const struct mreq *q);
/* The members q's range selects in s, in the reply's order, LIMIT
 * applied, into out (room for mz_len(s)); *unknown when the range is by
 * name over members of several scores, which Redis leaves unspecified. */
unsigned mz_select(const struct mreq *q, const struct mstate *s, struct mzent *out, bool *unknown);

/* model_zmulti.c: sorted sets over several keys. */
void mz_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);

/* model_zgen.c: the sorted set workload and encodings. */
void mz_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);
void mz_encode(struct enc *e, const struct model *m, const struct mreq *q);
/* How a score is written ("%.17g", "inf"; others with ZA_ALT). */
size_t mz_score_text(double d, bool alt, char *buf, size_t cap);

/* model_hll.c: PFADD, PFCOUNT, PFMERGE, and what the string commands do
 * to a HyperLogLog. */
bool mp_op(enum mop op);
unsigned mp_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
void mp_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);
void mp_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);
void mp_encode(struct enc *e, const struct model *m, const struct mreq *q);

/* model_sort.c: SORT and SORT_RO. */
unsigned mo_apply(const struct mreq *q, const struct mstate *s, struct mout *o);
void mo_outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		const struct resp_reader_value *v, struct mc_out *o);
void mo_generate(struct model *m, unsigned c, struct rng *r, struct mreq *q);
void mo_encode(struct enc *e, const struct model *m, const struct mreq *q);

/* In a cluster run, a node that cannot reach a majority of the masters (a
 * partition, a crashed node, longer than cluster-node-timeout) refuses
 * every keyed request, and answers a blocked one, with CLUSTERDOWN: the
 * request did not run. */
bool model_cluster_down(const struct model *m, const struct resp_reader_value *v);

#endif
