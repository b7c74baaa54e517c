/* model.c: possible states, expiry branches, and checking. See model.h.
 *
 * For each key a request names, every possible state is taken through every
 * expiry branch the request's time window allows (live, expired), and the
 * command's semantics (model_ops.c) say what reply and what next state each
 * branch gives. The reply that arrived keeps the branches that predicted it;
 * none left means the node answered something no legal execution could. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "cmd/cmd.h"
#include "cluster.h"
#include "model_int.h"
#include "world.h"

static void state_free(struct mstate *s)
{
	free(s->val);
	free(s->fields);
	s->val = NULL;
	s->fields = NULL;
}

/* A hash's fields in one block: the array, then every field's and value's
 * bytes, each NUL-terminated (for messages), so that a state costs one
 * allocation however many fields it has. */
static struct mfield *fields_copy(const struct mfield *src, unsigned nf)
{
	size_t bytes = nf * sizeof(*src), at;
	struct mfield *dst;
	char *p;
	unsigned i;

	for (i = 0; i < nf; i++)
		bytes += src[i].flen + src[i].vlen + 2;
	dst = sim_calloc(bytes);
	p = (char *)dst;
	at = nf * sizeof(*src);
	for (i = 0; i < nf; i++) {
		dst[i] = src[i];
		dst[i].f = p + at;
		if (src[i].flen > 0)
			memcpy(p + at, src[i].f, src[i].flen);
		at += src[i].flen + 1;
		dst[i].v = p + at;
		if (src[i].vlen > 0)
			memcpy(p + at, src[i].v, src[i].vlen);
		at += src[i].vlen + 1;
	}
	return dst;
}

static void state_copy(struct mstate *dst, const struct mstate *src)
{
	*dst = *src;
	dst->val = NULL;
	dst->fields = NULL;
	if (!src->present)
		return;
	if (src->type == MT_HASH) {
		ASSERT(src->nf >= 1 && src->nf <= MODEL_HASH_FIELDS);
		dst->fields = fields_copy(src->fields, src->nf);
		return;
	}
	dst->val = sim_calloc(src->len + 1);
	if (src->len > 0)
		memcpy(dst->val, src->val, src->len);
}

static bool fields_eq(const struct mfield *a, const struct mfield *b, unsigned nf)
{
	unsigned i;

	for (i = 0; i < nf; i++)
		if (a[i].flen != b[i].flen || a[i].vlen != b[i].vlen ||
		    memcmp(a[i].f, b[i].f, a[i].flen) != 0 ||
		    memcmp(a[i].v, b[i].v, a[i].vlen) != 0)
			return false;
	return true;
}

static bool state_eq(const struct mstate *a, const struct mstate *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	if (a->type != b->type || a->exp_lo != b->exp_lo || a->exp_hi != b->exp_hi)
		return false;
	if (a->type == MT_HASH)
		return a->nf == b->nf && fields_eq(a->fields, b->fields, a->nf);
	return a->len == b->len && memcmp(a->val, b->val, a->len) == 0;
}

static void key_clear(struct mkey *k)
{
	unsigned i;

	for (i = 0; i < k->n; i++)
		state_free(&k->s[i]);
	k->n = 0;
}

void mset_add(struct mset *set, const struct mstate *s)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (state_eq(&set->s[i], s))
			return;
	if (set->n == MODEL_STATES_MAX) {
		set->overflow = true;
		return;
	}
	state_copy(&set->s[set->n++], s);
}

void mset_release(struct mset *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		state_free(&set->s[i]);
	set->n = 0;
}

/* The key's possibilities become set (or, past the limit, anything). */
static void key_take(struct mkey *k, struct mset *set)
{
	key_clear(k);
	if (set->overflow) {
		mset_release(set);
		k->wild = true;
		return;
	}
	if (set->n > 0)
		memcpy(k->s, set->s, set->n * sizeof(set->s[0]));
	k->n = set->n;
	set->n = 0;
}

/* A write that leaves the key in a state known whatever it was: the key
 * is known again, unless a lost write may still run over it, or may have
 * run after it (the write was sent before the lost ones settled). */
static void key_known(const struct model *m, struct mkey *k, struct mset *set)
{
	if (k->floating > 0 || m->cur_send < k->settled_at) {
		struct mset none = { .overflow = true };
		mset_release(set);
		key_take(k, &none);
		return;
	}
	k->wild = false;
	key_take(k, set);
}

void model_key_take(struct model *m, unsigned k, struct mset *set)
{
	key_take(&m->keys[k], set);
}

void model_key_known(struct model *m, unsigned k, struct mset *set)
{
	key_known(m, &m->keys[k], set);
}

void model_key_unknown(struct model *m, unsigned k)
{
	struct mset none = { .overflow = true };

	key_take(&m->keys[k], &none);
}

struct model *model_new(struct world *w, unsigned node)
{
	struct model *m = sim_calloc(sizeof(*m));
	unsigned c, j;

	m->w = w;
	m->node = node;
	if (w->cfg.cluster) {
		char t[16];
		cluster_tag(w->nnodes, node, t, sizeof(t));
		snprintf(m->tag, sizeof(m->tag), "{%s}", t);
	}
	m->nclients = w->cfg.clients;
	m->keys_per = w->cfg.keys;
	m->keys = sim_calloc((size_t)m->nclients * m->keys_per * sizeof(*m->keys));
	if (w->cfg.maxmemory_kb > 0) {
		int p = (int)w->cfg.policy;
		m->oom_ok = true;
		m->evict = p == POLICY_NOEVICTION ? MEVICT_NONE
			   : p == POLICY_ALLKEYS_LRU || p == POLICY_ALLKEYS_LFU ||
					   p == POLICY_ALLKEYS_RANDOM || p == POLICY_ALLKEYS_SIEVE
				   ? MEVICT_ALL
				   : MEVICT_TTL;
		m->cmds = sim_calloc(sizeof(*m->cmds));
		cmd_index_init(m->cmds);
	}
	for (c = 0; c < m->nclients; c++) {
		for (j = 0; j < m->keys_per; j++) {
			struct mkey *k = &m->keys[c * m->keys_per + j];
			/* Distinct hash tags spread a client's keys over shards.
			 * Named by the client's number within its node, so that
			 * the nodes of a world use the same names, which must
			 * not meet (each node is its own database). */
			k->nlen = (size_t)snprintf(k->name, sizeof(k->name), "%sk:{c%u.%u}", m->tag,
						   c / w->client_nodes, j);
			k->n = 1; /* absent */
		}
	}
	mt_init(m);
	mbp_init(m);
	msp_init(m);
	return m;
}

void model_free(struct model *m)
{
	unsigned i;

	for (i = 0; i < m->nclients * m->keys_per; i++)
		key_clear(&m->keys[i]);
	free(m->cmds);
	for (i = 0; i < MODEL_COUNTERS; i++)
		free(m->ctr_seen[i]);
	for (i = 0; i < MODEL_REGISTERS; i++)
		free(m->regw[i]);
	mt_free(m);
	mbp_free(m);
	msp_free(m);
	free(m->keys);
	free(m->floats);
	free(m);
}

bool mkey_certain(const struct model *m, unsigned k, int64_t now)
{
	const struct mkey *key = &m->keys[k];

	(void)now;
	return !key->wild && key->n == 1 &&
	       (!key->s[0].present || key->s[0].exp_lo == MODEL_NO_TTL);
}

/* Whether the request in buf (a RESP array whose first element names the
 * command) may answer OOM: its command's denyoom flag, from the node's own
 * table. */
static bool denyoom(const struct model *m, const char *buf, size_t len)
{
	const char *p = memchr(buf, '$', len), *name, *end;
	const struct cmd *cmd;

	if (buf[0] != '*' || p == NULL)
		return false; /* an inline or broken request (OP_PROTO) */
	name = memchr(p, '\n', len - (size_t)(p - buf));
	if (name == NULL)
		return false;
	name++;
	end = memchr(name, '\r', len - (size_t)(name - buf));
	if (end == NULL)
		return false;
	cmd = cmd_lookup(m->cmds, name, (size_t)(end - name));
	return cmd != NULL && (cmd->flags & CMD_DENYOOM) != 0;
}

struct mreq *model_next(struct model *m, unsigned c, struct rng *r, char **out, size_t *len)
{
	bool idle;
	struct mreq *q = msp_next(m, c, r, &idle);

	if (idle)
		return NULL;
	if (q == NULL)
		q = mt_next(m, c, r);
	if (q == NULL)
		q = mbp_next(m, c, r);
	if (q == NULL)
		q = ops_generate(m, c, r);
	if (msp_owns(q))
		msp_encode(m, q, out, len);
	else if (mbp_owns(q))
		mbp_encode(m, q, out, len);
	else if (q->op == OP_WATCH || q->op == OP_MULTI || q->op == OP_EXEC)
		mt_encode(m, q, out, len);
	else
		ops_encode(m, q, out, len);
	if (m->oom_ok)
		q->denyoom = denyoom(m, *out, *len);
	return q;
}

bool model_closes(const struct mreq *q)
{
	return q->op == OP_PROTO;
}

/* ---- branches ---- */

/* The states s may be in when a command runs at some t in [tlo, thi]:
 * live (with its expiry narrowed to E >= t >= tlo) and/or expired. */
unsigned model_branches(const struct model *m, const struct mstate *s, int64_t tlo, int64_t thi,
			struct mstate out[2])
{
	bool ttl = s->present && s->exp_lo != MODEL_NO_TTL;
	bool evictable = s->present && (m->evict == MEVICT_ALL || (m->evict == MEVICT_TTL && ttl));
	unsigned n = 0;

	if (!s->present || (!ttl && !evictable)) {
		out[0] = *s;
		return 1;
	}
	if (!ttl || tlo <= s->exp_hi) {
		out[n] = *s;
		if (ttl && out[n].exp_lo < tlo)
			out[n].exp_lo = tlo;
		n++;
	}
	if (evictable || thi > s->exp_lo) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].exp_lo = out[n].exp_hi = MODEL_NO_TTL;
		n++;
	}
	ASSERT(n > 0);
	return n;
}

static bool matches(const struct mexp *x, const struct resp_reader_value *v)
{
	switch (x->kind) {
	case X_STATUS:
		return v->type == RESP_READER_SIMPLE && strlen(x->text) == v->len &&
		       memcmp(x->text, v->str, v->len) == 0;
	case X_ERR:
		return v->type == RESP_READER_ERROR && strlen(x->text) == v->len &&
		       memcmp(x->text, v->str, v->len) == 0;
	case X_INT: return v->type == RESP_READER_INT && v->integer >= x->lo && v->integer <= x->hi;
	case X_BULK:
		return v->type == RESP_READER_BULK && v->len == x->len &&
		       memcmp(v->str, x->p, x->len) == 0;
	case X_NULL: return v->type == RESP_READER_NULL_BULK || v->type == RESP_READER_NULL;
	case X_PREFIX:
		return v->type == RESP_READER_BULK && v->len >= x->len &&
		       (x->len == 0 || memcmp(v->str, x->p, x->len) == 0);
	case X_HMGET:
	case X_FIELDS: return mh_matches(x, v);
	case X_VERDICT: return x->lo != 0;
	default: return false;
	}
}

/* A set, for a failure's message: its size and its first few members. */
static int describe_set(const struct mstate *s, const char *ttl, char *buf, size_t cap)
{
	char names[64] = "", name[MODEL_NAME_MAX];
	unsigned i, shown = 0;
	size_t o = 0;

	for (i = 0; i < MODEL_UNIVERSE && shown < 4; i++) {
		if (!(s->val[i / 8] & (1u << (i % 8))))
			continue;
		size_t len = mu_name(i, name);
		name[len > 12 ? 12 : len] = '\0';
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
					      shown ? " " : "", name);
		shown++;
	}
	return snprintf(buf, cap, " [set members=%u (%s%s) ttl=%s]", s->nf, names,
			s->nf > shown ? " ..." : "", ttl);
}

/* A list, for a failure's message: its length and its first few
 * elements. */
static int describe_list(const struct mstate *s, const char *ttl, char *buf, size_t cap)
{
	char names[64] = "", name[MODEL_NAME_MAX];
	const uint16_t *el = (const uint16_t *)(const void *)s->val;
	unsigned i;
	size_t o = 0;

	for (i = 0; i < s->nf && i < 4; i++) {
		size_t len = mu_name(el[i], name);
		name[len > 12 ? 12 : len] = '\0';
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? " " : "",
					      name);
	}
	return snprintf(buf, cap, " [list len=%u (%s%s) ttl=%s]", s->nf, names,
			s->nf > 4 ? " ..." : "", ttl);
}

/* A sorted set, for a failure's message: its size and its first few
 * members, with their scores. */
static int describe_zset(const struct mstate *s, const char *ttl, char *buf, size_t cap)
{
	char names[96] = "", name[MODEL_NAME_MAX];
	const struct mzent *z = mz_ents(s);
	unsigned i;
	size_t o = 0;

	for (i = 0; i < s->nf && i < 4; i++) {
		size_t len = mu_name(z[i].m, name);
		name[len > 12 ? 12 : len] = '\0';
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s:%g", i ? " " : "",
					      name, z[i].score);
	}
	return snprintf(buf, cap, " [zset members=%u (%s%s) ttl=%s]", s->nf, names,
			s->nf > 4 ? " ..." : "", ttl);
}

/* One possible state, for a failure's message: a hash by its size and its
 * first few fields (the whole of it would not fit). */
static int describe_state(const struct mstate *s, char *buf, size_t cap)
{
	char ttl[48], names[64] = "";
	size_t bytes = 0, o = 0;
	unsigned i;

	if (!s->present)
		return snprintf(buf, cap, " [absent]");
	if (s->exp_lo == MODEL_NO_TTL)
		snprintf(ttl, sizeof(ttl), "none");
	else
		snprintf(ttl, sizeof(ttl), "%" PRId64 "..%" PRId64, s->exp_lo, s->exp_hi);
	if (s->type == MT_STRING)
		return snprintf(buf, cap, " [string len=%zu ttl=%s]", s->len, ttl);
	if (s->type == MT_SET)
		return describe_set(s, ttl, buf, cap);
	if (s->type == MT_LIST)
		return describe_list(s, ttl, buf, cap);
	if (s->type == MT_ZSET)
		return describe_zset(s, ttl, buf, cap);
	if (s->type == MT_HLL)
		return snprintf(buf, cap, " [hyperloglog of %u elements ttl=%s]", s->nf, ttl);
	for (i = 0; i < s->nf; i++) {
		bytes += s->fields[i].vlen;
		if (i < 4 && o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? " " : "",
					      s->fields[i].f);
	}
	return snprintf(buf, cap, " [hash fields=%u (%s%s) value bytes=%zu ttl=%s]", s->nf, names,
			s->nf > 4 ? " ..." : "", bytes, ttl);
}

static void describe(const struct model *m, const struct mreq *q, unsigned ki,
		     const struct resp_reader_value *v, char *buf, size_t cap)
{
	const struct mkey *k = &m->keys[q->keys[ki]];
	char got[160];
	int o;
	unsigned i;

	resp_reader_format(v, got, sizeof(got));
	o = snprintf(buf, cap, "client %u %s %s: got %s; possible states:", q->client,
		     ops_name(q->op), k->name, got);
	for (i = 0; i < k->n && o > 0 && (size_t)o < cap; i++)
		o += describe_state(&k->s[i], buf + o, cap - (size_t)o);
}

void model_fail_keys(struct model *m, const struct mreq *q, const struct resp_reader_value *v)
{
	char why[900], got[160];
	unsigned i, j;
	int o;

	resp_reader_format(v, got, sizeof(got));
	o = snprintf(why, sizeof(why), "client %u %s: got %s; possible states:", q->client,
		     ops_name(q->op), got);
	for (i = 0; i < q->nkeys && o > 0 && (size_t)o < sizeof(why); i++) {
		const struct mkey *k = &m->keys[q->keys[i]];
		o += snprintf(why + o, sizeof(why) - (size_t)o, " %s%s:", k->name,
			      k->wild ? " (unknown)" : "");
		for (j = 0; j < k->n && o > 0 && (size_t)o < sizeof(why); j++)
			o += describe_state(&k->s[j], why + o, sizeof(why) - (size_t)o);
	}
	world_fail(m->w, FAIL_CORRECTNESS, "no legal outcome: %s", why);
}

/* Frees what an outcome built for itself. */
static void mout_release(struct mout *o)
{
	free(o->owned);
	free(o->owned_fields);
}

/* Checks reply v of a single-key op on key ki of q, and narrows the key. */
static void check_key(struct model *m, const struct mreq *q, unsigned ki,
		      const struct resp_reader_value *v, int64_t tlo, int64_t thi)
{
	struct mkey *k = &m->keys[q->keys[ki]];
	struct mset next = { .n = 0 };
	unsigned i, b, o;

	if (k->wild)
		return; /* nothing to check until a plain overwrite (model_plain) */
	for (i = 0; i < k->n; i++) {
		struct mstate br[2];
		unsigned nb = model_branches(m, &k->s[i], tlo, thi, br);
		for (b = 0; b < nb; b++) {
			struct mout outs[4];
			unsigned no = ops_apply(q, ki, &br[b], tlo, thi, outs);
			for (o = 0; o < no; o++) {
				if (matches(&outs[o].exp, v) && outs[o].wild)
					next.overflow = true;
				else if (matches(&outs[o].exp, v))
					mset_add(&next, &outs[o].next);
				mout_release(&outs[o]);
			}
		}
	}
	if (next.n == 0 && !next.overflow) {
		char why[480];
		describe(m, q, ki, v, why, sizeof(why));
		world_fail(m->w, FAIL_CORRECTNESS, "no legal outcome: %s", why);
		return;
	}
	key_take(k, &next);
}

/* A write that leaves the key in one known state whatever it was before
 * (SET without conditions, GETSET, DEL, GETDEL, MSET) makes a wild key
 * known again; but not if it answered an error: GETSET, GETDEL and SET's
 * GET refuse a key of another type (WRONGTYPE) and leave it as it was. */
static void model_plain(struct model *m, const struct mreq *q, unsigned ki,
			const struct resp_reader_value *v, int64_t tlo, int64_t thi)
{
	struct mkey *k = &m->keys[q->keys[ki]];
	struct mstate absent = { .exp_lo = MODEL_NO_TTL, .exp_hi = MODEL_NO_TTL };
	struct mout outs[4];
	struct mset next = { .n = 0 };
	unsigned no, o;
	bool plain = q->op == OP_GETSET || q->op == OP_GETDEL || q->op == OP_DEL ||
		     (q->op == OP_SET && !(q->flags & (SETF_NX | SETF_XX | SETF_KEEPTTL)));

	if (!k->wild || !plain || v->type == RESP_READER_ERROR)
		return;
	no = ops_apply(q, ki, &absent, tlo, thi, outs);
	for (o = 0; o < no; o++) {
		mset_add(&next, &outs[o].next);
		mout_release(&outs[o]);
	}
	key_known(m, k, &next);
}

/* ---- multi-key commands ---- */

/* Whether key k can be present (and absent) at some time in the window. */
static void can_exist(const struct model *m, const struct mkey *k, int64_t tlo, int64_t thi,
		      bool *yes, bool *no)
{
	unsigned i, b;

	*yes = *no = k->wild;
	for (i = 0; i < k->n; i++) {
		struct mstate br[2];
		unsigned nb = model_branches(m, &k->s[i], tlo, thi, br);
		for (b = 0; b < nb; b++) {
			if (br[b].present)
				*yes = true;
			else
				*no = true;
		}
	}
}

static void set_known(const struct model *m, struct mkey *k, const char *val, size_t len)
{
	struct mset next = { .n = 0 };
	struct mstate s = { .present = true,
			    .val = (char *)val,
			    .len = len,
			    .exp_lo = MODEL_NO_TTL,
			    .exp_hi = MODEL_NO_TTL };

	mset_add(&next, &s);
	key_known(m, k, &next);
}

static void set_absent(const struct model *m, struct mkey *k)
{
	struct mset next = { .n = 0 };
	struct mstate s = { .exp_lo = MODEL_NO_TTL, .exp_hi = MODEL_NO_TTL };

	mset_add(&next, &s);
	key_known(m, k, &next);
}

/* DEL and EXISTS of several keys: the count is the number that exist, each
 * key 0 or 1 independently, so any count between the least and the most
 * possible is legal. */
static void check_count(struct model *m, const struct mreq *q, const struct resp_reader_value *v,
			int64_t tlo, int64_t thi)
{
	long long lo = 0, hi = 0;
	unsigned i;

	for (i = 0; i < q->nkeys; i++) {
		bool yes, no;
		can_exist(m, &m->keys[q->keys[i]], tlo, thi, &yes, &no);
		hi += yes;
		lo += !no;
	}
	if (v->type != RESP_READER_INT || v->integer < lo || v->integer > hi) {
		char got[160];
		resp_reader_format(v, got, sizeof(got));
		world_fail(m->w, FAIL_CORRECTNESS, "client %u %s: got %s, legal %lld..%lld",
			   q->client, ops_name(q->op), got, lo, hi);
		return;
	}
	if (q->op == OP_DEL_MULTI)
		for (i = 0; i < q->nkeys; i++)
			set_absent(m, &m->keys[q->keys[i]]);
}

static void check_msetnx(struct model *m, const struct mreq *q, const struct resp_reader_value *v,
			 int64_t tlo, int64_t thi)
{
	bool all_absent_ok = true, some_present_ok = false;
	unsigned i;

	for (i = 0; i < q->nkeys; i++) {
		bool yes, no;
		can_exist(m, &m->keys[q->keys[i]], tlo, thi, &yes, &no);
		all_absent_ok = all_absent_ok && no;
		some_present_ok = some_present_ok || yes;
	}
	if (v->type != RESP_READER_INT || (v->integer == 1 && !all_absent_ok) ||
	    (v->integer == 0 && !some_present_ok) || v->integer < 0 || v->integer > 1) {
		char got[160];
		resp_reader_format(v, got, sizeof(got));
		world_fail(m->w, FAIL_CORRECTNESS,
			   "client %u MSETNX: got %s (all absent %d, some "
			   "present %d)",
			   q->client, got, all_absent_ok, some_present_ok);
		return;
	}
	if (v->integer == 1)
		for (i = 0; i < q->nkeys; i++)
			set_known(m, &m->keys[q->keys[i]], q->vals[i], q->vlens[i]);
}

static void check_mget(struct model *m, const struct mreq *q, const struct resp_reader_value *v,
		       int64_t tlo, int64_t thi)
{
	unsigned i;

	if (v->type != RESP_READER_ARRAY || v->n != q->nkeys) {
		world_fail(m->w, FAIL_CORRECTNESS, "client %u MGET: not an array of %u", q->client,
			   q->nkeys);
		return;
	}
	for (i = 0; i < q->nkeys && m->w->fail == FAIL_NONE; i++)
		check_key(m, q, i, &v->elems[i], tlo, thi);
}

/* ---- shared keys ---- */

static void counter_reply(struct model *m, const struct mreq *q, const struct resp_reader_value *v)
{
	unsigned c = q->shared;
	uint64_t r;

	if (v->type != RESP_READER_INT || v->integer < 1 || (uint64_t)v->integer > m->ctr_sent[c]) {
		world_fail(m->w, FAIL_CORRECTNESS, "counter %u: INCR answered %lld after %llu sent",
			   c, v->type == RESP_READER_INT ? v->integer : -1,
			   (unsigned long long)m->ctr_sent[c]);
		return;
	}
	r = (uint64_t)v->integer;
	if (r >= m->ctr_seen_cap[c]) {
		uint64_t cap = m->ctr_seen_cap[c] ? m->ctr_seen_cap[c] : 1024;
		while (cap <= r)
			cap *= 2;
		m->ctr_seen[c] = sim_realloc(m->ctr_seen[c], cap);
		memset(m->ctr_seen[c] + m->ctr_seen_cap[c], 0, cap - m->ctr_seen_cap[c]);
		m->ctr_seen_cap[c] = cap;
	}
	if (m->ctr_seen[c][r]) {
		world_fail(m->w, FAIL_CORRECTNESS, "counter %u: INCR answered %llu twice", c,
			   (unsigned long long)r);
		return;
	}
	m->ctr_seen[c][r] = 1;
	m->ctr_acked[c]++;
}

static struct mwrite *reg_find(struct model *m, unsigned g, uint64_t token)
{
	unsigned i;

	for (i = 0; i < m->regw_n[g]; i++)
		if (m->regw[g][i].token == token)
			return &m->regw[g][i];
	return NULL;
}

bool model_register_legal(const struct mwrite *ws, unsigned n, const struct mwrite *got,
			  uint64_t send, uint64_t recv, uint64_t since)
{
	unsigned i;

	if (got == NULL) {
		for (i = 0; i < n; i++)
			if (ws[i].recv < send && ws[i].recv >= since)
				return false;
		return true;
	}
	if (got->send >= recv)
		return false;
	for (i = 0; i < n; i++) {
		const struct mwrite *x = &ws[i];
		if (x != got && got->recv != UINT64_MAX && x->send > got->recv && x->recv < send)
			return false;
	}
	return true;
}

/* A read of register g: by the register rule (model_register_legal). */
static void register_read(struct model *m, const struct mreq *q, const struct resp_reader_value *v,
			  uint64_t send, uint64_t recv)
{
	unsigned g = q->shared;
	bool ok;

	if (v->type == RESP_READER_NULL_BULK) {
		ok = model_register_legal(m->regw[g], m->regw_n[g], NULL, send, recv, 0);
	} else if (v->type == RESP_READER_BULK && v->len >= 2 && v->str[0] == 'w') {
		const struct mwrite *w = reg_find(m, g, strtoull(v->str + 1, NULL, 10));
		ok = w != NULL && model_register_legal(m->regw[g], m->regw_n[g], w, send, recv, 0);
	} else {
		ok = false;
	}
	if (!ok) {
		char got[160];
		resp_reader_format(v, got, sizeof(got));
		world_fail(m->w, FAIL_CORRECTNESS,
			   "register %u: a read over [%llu, %llu] got %s, "
			   "which no write could have left",
			   g, (unsigned long long)send, (unsigned long long)recv, got);
	}
}

static void register_written(struct model *m, const struct mreq *q, uint64_t recv)
{
	struct mwrite *w = reg_find(m, q->shared, q->token);

	ASSERT(w != NULL);
	w->recv = recv;
}

bool model_cluster_down(const struct model *m, const struct resp_reader_value *v)
{
	return m->w->cfg.cluster && v->type == RESP_READER_ERROR &&
	       strncmp(v->str, "CLUSTERDOWN ", 12) == 0;
}

/* ---- entry points ---- */
void model_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
		 uint64_t recv)
{
	if (msp_owns(q))
		msp_reply(m, q, v, send, recv);
	else if (mbp_owns(q))
		mbp_reply(m, q, v, send, recv);
	else if (mt_owns(q))
		mt_reply(m, q, v, send, recv);
	else
		model_check(m, q, v, send, recv);
}

void model_check(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
		 uint64_t recv)
{
	int64_t tlo = world_ms(send), thi = world_ms(recv);
	unsigned i;

	m->cur_send = send;
	q->reply = v;
	if (q->denyoom && v->type == RESP_READER_ERROR && v->len == strlen(MODEL_OOM) &&
	    memcmp(v->str, MODEL_OOM, v->len) == 0) {
		/* Refused under maxmemory: it changed nothing. */
		m->ooms++;
		mreq_free(q);
		return;
	}
	if (model_cluster_down(m, v)) {
		m->downs++;
		mreq_free(q);
		return;
	}
	if (mm_op(q->op)) {
		mm_check(m, q, v, tlo, thi);
	} else if (ops_single_key(q->op)) {
		check_key(m, q, 0, v, tlo, thi);
		model_plain(m, q, 0, v, tlo, thi);
	} else {
		switch (q->op) {
		case OP_MGET: check_mget(m, q, v, tlo, thi); break;
		case OP_MSET:
			if (v->type != RESP_READER_SIMPLE || v->len != 2 || memcmp(v->str, "OK", 2))
				world_fail(m->w, FAIL_CORRECTNESS, "client %u MSET: not +OK",
					   q->client);
			for (i = 0; i < q->nkeys; i++)
				set_known(m, &m->keys[q->keys[i]], q->vals[i], q->vlens[i]);
			break;
		case OP_MSETNX: check_msetnx(m, q, v, tlo, thi); break;
		case OP_DEL_MULTI:
		case OP_EXISTS_MULTI: check_count(m, q, v, tlo, thi); break;
		case OP_ERR:
		case OP_PROTO: {
			struct mexp x = { .kind = X_ERR, .text = q->expect };
			if (!matches(&x, v)) {
				char got[160];
				resp_reader_format(v, got, sizeof(got));
				world_fail(m->w, FAIL_CORRECTNESS,
					   "client %u: expected -%s, got %s", q->client, q->expect,
					   got);
			}
			break;
		}
		case OP_COUNTER_INCR: counter_reply(m, q, v); break;
		case OP_REG_SET: register_written(m, q, recv); break;
		case OP_REG_GET: register_read(m, q, v, send, recv); break;
		default: ASSERT_NOT_REACHED("model: unknown op");
		}
	}
	mreq_free(q);
}

/* Key k may change at any moment until its lost writes settle. */
static void key_float(struct model *m, unsigned k, uint64_t conn)
{
	struct mkey *key = &m->keys[k];

	if (m->nfloats == m->floats_cap) {
		m->floats_cap = m->floats_cap ? m->floats_cap * 2 : 16;
		m->floats = sim_realloc(m->floats, m->floats_cap * sizeof(*m->floats));
	}
	m->floats[m->nfloats++] = (struct mfloat){ .key = k, .conn = conn };
	key->floating++;
	key_clear(key);
	key->wild = true;
}

void model_lost(struct model *m, struct mreq *q, uint64_t send, uint64_t conn)
{
	if (msp_owns(q))
		msp_lost(m, q);
	else if (mbp_owns(q))
		mbp_lost(m, q);
	else if (mt_owns(q))
		mt_lost(m, q, send, conn);
	else
		model_forget(m, q, send, conn);
}

void model_conn_lost(struct model *m, unsigned c, uint64_t conn)
{
	mt_reset(m, c, conn);
	msp_conn_lost(m, c, conn);
}

void model_forget(struct model *m, struct mreq *q, uint64_t send, uint64_t conn)
{
	unsigned i;

	(void)send;
	if (ops_writes(q->op)) {
		unsigned n = mm_op(q->op) ? mm_written(q) : q->nkeys;
		for (i = 0; i < n; i++)
			key_float(m, q->keys[i], conn);
	}
	if (q->op == OP_COUNTER_INCR)
		m->ctr_lost[q->shared]++;
	/* A lost register write stays possible forever (recv unknown). */
	mreq_free(q);
}

bool model_unsettled(const struct model *m)
{
	return m->nfloats > 0;
}

void model_settle(struct model *m)
{
	unsigned i = 0;

	while (i < m->nfloats) {
		if (net_conn_done(m->w, m->floats[i].conn)) {
			/* It ran or never will: the key stays wild until a
			 * plain overwrite tells its state again. */
			m->keys[m->floats[i].key].floating--;
			m->keys[m->floats[i].key].settled_at = m->w->now;
			if (m->w->cfg.watch[0] != '\0' &&
			    strstr(m->keys[m->floats[i].key].name, m->w->cfg.watch))
				printf("%10llu %9.3fms %s: the lost writes of connection %llu have "
				       "settled\n",
				       (unsigned long long)m->w->tick, (double)m->w->now / 1e6,
				       m->keys[m->floats[i].key].name,
				       (unsigned long long)m->floats[i].conn);
			m->floats[i] = m->floats[--m->nfloats];
		} else {
			i++;
		}
	}
}

void model_end(struct model *m)
{
	unsigned c;

	mbp_end(m);
	for (c = 0; c < MODEL_COUNTERS; c++)
		if (m->ctr_acked[c] + m->ctr_lost[c] > m->ctr_sent[c])
			world_fail(m->w, FAIL_CORRECTNESS,
				   "counter %u of node %u: %llu acked + %llu lost > %llu "
				   "sent",
				   c, m->node, (unsigned long long)m->ctr_acked[c],
				   (unsigned long long)m->ctr_lost[c],
				   (unsigned long long)m->ctr_sent[c]);
}

void model_txn_stats(const struct model *m, uint64_t *execs, uint64_t *aborts)
{
	*execs = m->execs;
	*aborts = m->exec_aborts;
}
