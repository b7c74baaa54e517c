/* model_multi.c: the commands over several keys that the node runs
 * atomically (SMOVE, SINTER, SUNION, SDIFF, SINTERCARD and the STOREs,
 * LMOVE, RPOPLPUSH, LMPOP, BITOP, ZRANGESTORE, ZUNION, ZINTER, ZDIFF,
 * ZINTERCARD and the STOREs, ZMPOP, PFCOUNT of several keys, PFMERGE,
 * SORT with STORE), over keys that may live on several shards.
 *
 * Every combination of the possible states of the keys a command reads
 * (each state through its expiry branches) is tried; each family's
 * outcome function (model_set.c, model_list.c, model_bit.c,
 * model_zmulti.c, model_hll.c, model_sort.c) says whether the
 * combination explains the reply and what it leaves. Each key read
 * keeps the states (or next states) of the combinations that do; a blind
 * destination (a STORE's, BITOP's: written whatever it held) becomes one
 * of their results. None explaining the reply is a correctness failure.
 * A key read that is unknown, or too many combinations, leave the reply
 * unchecked and what the command may write unknown. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "model_int.h"
#include "world.h"

/* Combinations of the keys' states tried at most; past it, the reply is
 * not checked and what the command writes becomes unknown. */
#define COMBOS_MAX 512

/* The distinct keys a command reads, and the current combination of their
 * possible states (each state through its expiry branches). */
struct mcombo {
	unsigned nd;
	unsigned key[MODEL_REQ_KEYS]; /* model keys */
	unsigned of[MODEL_REQ_KEYS];  /* q's key i: its index here, or UINT_MAX */
	struct mstate br[MODEL_REQ_KEYS][2 * MODEL_STATES_MAX];
	unsigned nbr[MODEL_REQ_KEYS];
	unsigned pick[MODEL_REQ_KEYS];
};

bool mm_op(enum mop op)
{
	return op >= OP_SMOVE && op <= OP_LAST_MULTI;
}

unsigned mm_blind(enum mop op)
{
	switch (op) {
	case OP_SINTERSTORE:
	case OP_SUNIONSTORE:
	case OP_SDIFFSTORE:
	case OP_BITOP:
	case OP_ZRANGESTORE:
	case OP_ZUNIONSTORE:
	case OP_ZINTERSTORE:
	case OP_ZDIFFSTORE:
	case OP_SORT_STORE: return 1;
	default: return 0;
	}
}

unsigned mm_written(const struct mreq *q)
{
	switch (q->op) {
	case OP_SMOVE:
	case OP_LMOVE:
	case OP_RPOPLPUSH: return 2;
	case OP_LMPOP:
	case OP_ZMPOP: return q->nkeys;
	case OP_PFMERGE: return 1;
	default: return mm_blind(q->op);
	}
}

const struct mstate *mc_state(const struct mcombo *cb, unsigned i)
{
	unsigned d = cb->of[i];

	ASSERT(d < cb->nd);
	return &cb->br[d][cb->pick[d]];
}

bool mc_same(const struct mcombo *cb, unsigned i, unsigned j)
{
	ASSERT(cb->of[i] < cb->nd && cb->of[j] < cb->nd);
	return cb->of[i] == cb->of[j];
}

char *mc_alloc(struct mc_out *o, size_t n)
{
	char *p = sim_calloc(n + 1);

	ASSERT(o->nowned < sizeof(o->owned) / sizeof(o->owned[0]));
	o->owned[o->nowned++] = p;
	return p;
}

bool mm_wrongtype(const struct resp_reader_value *v)
{
	return v->type == RESP_READER_ERROR && v->len == strlen(MODEL_WRONGTYPE) &&
	       memcmp(v->str, MODEL_WRONGTYPE, v->len) == 0;
}

bool mm_int_is(const struct resp_reader_value *v, long long n)
{
	return v->type == RESP_READER_INT && v->integer == n;
}

/* The distinct keys q reads, with their branches; false if one is
 * unknown or the combinations are too many to try. */
static bool combo_init(struct model *m, const struct mreq *q, struct mcombo *cb, int64_t tlo,
		       int64_t thi)
{
	unsigned i, j, d, total = 1;
	const struct mkey *k;

	cb->nd = 0;
	for (i = 0; i < q->nkeys; i++) {
		cb->of[i] = UINT_MAX;
		if (i < mm_blind(q->op))
			continue;
		for (d = 0; d < cb->nd && cb->key[d] != q->keys[i]; d++)
			;
		cb->of[i] = d;
		if (d < cb->nd)
			continue;
		k = &m->keys[q->keys[i]];
		if (k->wild)
			return false;
		cb->key[cb->nd] = q->keys[i];
		cb->nbr[d] = 0;
		cb->pick[d] = 0;
		for (j = 0; j < k->n; j++)
			cb->nbr[d] += model_branches(m, &k->s[j], tlo, thi, cb->br[d] + cb->nbr[d]);
		cb->nd++;
		total *= cb->nbr[d];
		if (total > COMBOS_MAX)
			return false;
	}
	return true;
}

/* The next combination; false after the last. */
static bool combo_next(struct mcombo *cb)
{
	unsigned d;

	for (d = 0; d < cb->nd; d++) {
		if (++cb->pick[d] < cb->nbr[d])
			return true;
		cb->pick[d] = 0;
	}
	return false;
}

/* Keeps a legal combination: each key read keeps its state, or the next
 * state the command left it in; a blind destination its result. */
static void combo_keep(const struct mreq *q, const struct mcombo *cb, const struct mc_out *o,
		       struct mset *sets, struct mset *dest)
{
	unsigned d, i;

	for (d = 0; d < cb->nd; d++) {
		const struct mstate *s = &cb->br[d][cb->pick[d]];
		bool wild = false;
		for (i = 0; i < q->nkeys && !o->error; i++) {
			if (cb->of[i] == d && o->wrote[i])
				s = &o->next[i];
			wild = wild ||
			       (cb->of[i] == d && o->wild && !o->error && i < mm_written(q));
		}
		if (wild)
			sets[d].overflow = true;
		else
			mset_add(&sets[d], s);
	}
	if (mm_blind(q->op) && !o->error && o->wild)
		dest->overflow = true;
	else if (mm_blind(q->op) && !o->error)
		mset_add(dest, &o->dest);
}

static void outcome(const struct model *m, const struct mreq *q, const struct mcombo *cb,
		    const struct resp_reader_value *v, struct mc_out *o)
{
	if (q->op <= OP_SDIFFSTORE)
		ms_outcome(m, q, cb, v, o);
	else if (q->op == OP_BITOP)
		mb_outcome(m, q, cb, v, o);
	else if (q->op <= OP_LMPOP)
		ml_outcome(m, q, cb, v, o);
	else if (q->op <= OP_ZMPOP)
		mz_outcome(m, q, cb, v, o);
	else if (q->op == OP_SORT_STORE)
		mo_outcome(m, q, cb, v, o);
	else
		mp_outcome(m, q, cb, v, o);
}

/* What a command over unknown keys leaves: its reply cannot be checked,
 * and what it may write (unless it answered an error) is unknown too. */
static void give_up(struct model *m, const struct mreq *q, const struct resp_reader_value *v)
{
	unsigned n = mm_written(q), i;

	if (v->type == RESP_READER_ERROR)
		return;
	for (i = 0; i < n; i++)
		model_key_unknown(m, q->keys[i]);
}

void mm_check(struct model *m, const struct mreq *q, const struct resp_reader_value *v, int64_t tlo,
	      int64_t thi)
{
	struct mset sets[MODEL_REQ_KEYS], dest = { .n = 0 };
	struct mcombo *cb = sim_calloc(sizeof(*cb));
	unsigned d, i, legal = 0;
	bool error = false;

	memset(sets, 0, sizeof(sets));
	if (!combo_init(m, q, cb, tlo, thi)) {
		give_up(m, q, v);
		free(cb);
		return;
	}
	do {
		struct mc_out o;
		memset(&o, 0, sizeof(o));
		o.dest = ops_absent();
		outcome(m, q, cb, v, &o);
		if (o.legal) {
			combo_keep(q, cb, &o, sets, &dest);
			legal++;
			error = o.error;
		}
		for (i = 0; i < o.nowned; i++)
			free(o.owned[i]);
	} while (combo_next(cb));
	if (legal == 0)
		model_fail_keys(m, q, v);
	for (d = 0; d < cb->nd; d++) {
		if (legal > 0)
			model_key_take(m, cb->key[d], &sets[d]);
		mset_release(&sets[d]);
	}
	if (legal > 0 && mm_blind(q->op) && !error)
		model_key_known(m, q->keys[0], &dest);
	mset_release(&dest);
	free(cb);
}
