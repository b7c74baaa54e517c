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

/* Fields of one hash at most: the workload's names (model_hash.c). */
#define MODEL_HASH_FIELDS 64

/* A key's type, when it is present. */
enum mtype { MT_STRING = 0, MT_HASH };

/* One field of a hash, and its value. */
struct mfield {
	const char *f, *v;
	size_t flen, vlen;
};

/* One possible state of a key: absent, a string (val, len) or a hash
 * (fields, nf >= 1, sorted by field, so that equal hashes compare equal
 * field by field). Expiry is an interval of ms: the key has expired at time
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
	OP_MGET,
	OP_MSET,
	OP_MSETNX,
	OP_DEL_MULTI,
	OP_EXISTS_MULTI,
	/* Errors with a known text (the connection stays). */
	OP_ERR,
	/* A protocol error: one error reply, then the node closes. */
	OP_PROTO,
	/* Shared keys. */
	OP_COUNTER_INCR,
	OP_REG_SET,
	OP_REG_GET,
};

/* SET options (OP_SET). */
#define SETF_NX 0x1
#define SETF_XX 0x2
#define SETF_GET 0x4
#define SETF_EX 0x8    /* num seconds */
#define SETF_PX 0x10   /* num ms */
#define SETF_PXAT 0x20 /* num: absolute ms */
#define SETF_KEEPTTL 0x40

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
	long long num, num2; /* amounts, offsets, ranges, TTLs */
	unsigned flags;
	const char *expect; /* OP_ERR, OP_PROTO: the error text */
	unsigned shared;    /* counter or register index */
	uint64_t token;     /* OP_REG_SET: the value written */
	struct mpair *hp;   /* hash commands: their fields (and values) */
	unsigned nhp;
};

/* What a reply must be, for one possible branch. */
enum mexp_kind {
	X_STATUS = 1,
	X_ERR,
	X_INT,
	X_BULK,
	X_NULL,
	X_HMGET,  /* HMGET's array: each asked field's value, or null */
	X_FIELDS, /* HKEYS, HVALS, HGETALL: the hash's parts, in any order */
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

/* One way a single-key command could have gone: the reply, and the state
 * it leaves. val points into the request or the old state; the caller
 * copies it when the branch is kept. */
struct mout {
	struct mexp exp;
	struct mstate next;
	char *owned;                 /* a new value built for this branch, or NULL */
	struct mfield *owned_fields; /* a new field array (not its bytes), or NULL */
};

/* A register write, for the legal-read check. */
struct mwrite {
	uint64_t token;
	uint64_t send, recv; /* recv: UINT64_MAX while unknown or lost */
};

struct model {
	struct world *w;
	unsigned node; /* the node it models */
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
};

/* model_ops.c */
struct mreq *ops_generate(struct model *m, unsigned c, struct rng *r);
void ops_encode(const struct model *m, const struct mreq *q, char **out, size_t *len);
/* The outcomes of a single-key op on key ki of q given state s (already
 * known live or absent at time t in [tlo, thi]). */
unsigned ops_apply(const struct mreq *q, unsigned ki, const struct mstate *s, int64_t tlo,
		   int64_t thi, struct mout *out);
bool ops_single_key(enum mop op);
const char *ops_name(enum mop op);
bool model_str2ll(const char *p, size_t len, long long *out);
void mreq_free(struct mreq *q);
struct mstate ops_absent(void);
/* Which of its keys a client picks for a command. */
enum kpref { K_ANY = 0, K_STRING, K_HASH };
/* A key of client c, distinct from the first `avoid` keys of q. K_HASH:
 * mostly one of the keys the client uses for hashes (the upper half of
 * its keys), K_STRING: mostly one of the others; so both types stay common,
 * and some commands still cross into the other type's keys (WRONGTYPE). */
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

/* model.c */
bool mkey_certain(const struct model *m, unsigned k, int64_t now);

#endif
