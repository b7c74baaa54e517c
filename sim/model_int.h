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

/* One possible state of a key. Expiry is an interval of ms: the key has
 * expired at time t iff t > E, for some E in [exp_lo, exp_hi]. */
struct mstate {
	bool present;
	char *val;
	size_t len;
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
};

/* What a reply must be, for one possible branch. */
enum mexp_kind { X_STATUS = 1, X_ERR, X_INT, X_BULK, X_NULL, X_ARRAY };

struct mexp {
	enum mexp_kind kind;
	const char *text; /* X_STATUS, X_ERR (the message, after "-") */
	long long lo, hi; /* X_INT: the legal range */
	const char *p;    /* X_BULK */
	size_t len;
};

/* One way a single-key command could have gone: the reply, and the state
 * it leaves. val points into the request or the old state; the caller
 * copies it when the branch is kept. */
struct mout {
	struct mexp exp;
	struct mstate next;
	char *owned; /* a new value built for this branch, or NULL */
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

/* model.c */
bool mkey_certain(const struct model *m, unsigned k, int64_t now);

#endif
