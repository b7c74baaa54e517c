/* txn.c: see txn.h. */
#include "shard/txn.h"

#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "shard/exec.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* A MSG_UNWATCH: the keys to drop, as packed arguments. */
struct unwatch_msg {
	struct xmsg h;
	int argc;
	struct cmd_arg *argv;
};

void txn_queue(const struct txn_host *h, struct txn *t, const struct cmd *cmd,
	       const struct cmd_arg *argv, int argc)
{
	struct txn_cmd *q;

	ASSERT(t->multi);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->q = mem_realloc(h->mem, t->q, t->cap * sizeof(*t->q));
	}
	q = &t->q[t->n++];
	q->cmd = cmd;
	q->argc = argc;
	q->block = msg_pack(h->mem, 0, argv, argc, &q->argv);
	t->bytes += mem_size(q->block);
	t->flags |= cmd->flags;
}

void txn_discard(const struct txn_host *h, struct txn *t)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		msg_unpack(h->mem, t->q[i].block, t->q[i].argv, t->q[i].argc);
	mem_free(h->mem, t->q);
	t->q = NULL;
	t->n = t->cap = 0;
	t->bytes = 0;
	t->flags = 0;
	t->multi = false;
	t->aborted = false;
}

bool txn_watching(const struct txn *t, unsigned shard, const char *key, size_t klen)
{
	uint32_t i;

	for (i = 0; i < t->nw; i++)
		if (t->w[i]->shard == shard && t->w[i]->klen == klen &&
		    memcmp(t->w[i]->key, key, klen) == 0)
			return true;
	return false;
}

void txn_add_watch(const struct txn_host *h, struct txn *t, unsigned shard, const char *key,
		   size_t klen, uint64_t since, bool expired)
{
	struct txn_watch *w = mem_alloc(h->mem, sizeof(*w) + klen);

	w->since = since;
	w->shard = (uint16_t)shard;
	w->expired = expired;
	w->klen = (uint32_t)klen;
	memcpy(w->key, key, klen);
	if (t->nw == t->wcap) {
		t->wcap = t->wcap ? t->wcap * 2 : 4;
		t->w = mem_realloc(h->mem, t->w, t->wcap * sizeof(*t->w));
	}
	t->w[t->nw++] = w;
}

static bool held(const struct txn_host *h, const uint64_t *locked, unsigned s)
{
	return s == h->env->self || (locked != NULL && ((locked[s / 64] >> (s % 64)) & 1));
}

/* Sends shard s one message with every watched key of s. */
static void send_unwatch(const struct txn_host *h, const struct txn *t, unsigned s)
{
	struct cmd_arg *keys, *packed;
	struct unwatch_msg *m;
	uint32_t i;
	int n = 0;

	keys = mem_alloc(h->mem, t->nw * sizeof(*keys));
	for (i = 0; i < t->nw; i++)
		if (t->w[i]->shard == s)
			keys[n++] = (struct cmd_arg){ .p = t->w[i]->key, .len = t->w[i]->klen };
	m = msg_new(h->mem, MSG_UNWATCH, sizeof(*m), keys, n, &packed);
	m->argc = n;
	m->argv = packed;
	mem_free(h->mem, keys);
	xshard_send(h->x, s, &m->h);
}

static void forget_watches(const struct txn_host *h, struct txn *t)
{
	uint32_t i;

	for (i = 0; i < t->nw; i++)
		mem_free(h->mem, t->w[i]);
	mem_free(h->mem, t->w);
	t->w = NULL;
	t->nw = t->wcap = 0;
}

void txn_unwatch(const struct txn_host *h, struct txn *t, const uint64_t *locked)
{
	uint64_t sent[XSHARD_WORDS] = { 0 };
	uint32_t i;

	for (i = 0; i < t->nw; i++) {
		const struct txn_watch *w = t->w[i];
		unsigned s = w->shard;
		if (held(h, locked, s))
			watch_drop(&h->env->keyspaces[s]->watch, w->key, w->klen);
		else if (!((sent[s / 64] >> (s % 64)) & 1)) {
			sent[s / 64] |= 1ull << (s % 64);
			send_unwatch(h, t, s);
		}
	}
	forget_watches(h, t);
}

void txn_free(const struct txn_host *h, struct txn *t)
{
	forget_watches(h, t);
	txn_discard(h, t);
}

void txn_shards(const struct txn *t, struct exec *ex, const struct cmd_ctx *c, uint64_t *mask)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		exec_shards(ex, c, t->q[i].cmd, t->q[i].argv, t->q[i].argc, mask);
	for (i = 0; i < t->nw; i++)
		mask[t->w[i]->shard / 64] |= 1ull << (t->w[i]->shard % 64);
}

void txn_unwatch_message(struct cmd_env *env, struct xmsg *m)
{
	struct unwatch_msg *u = (struct unwatch_msg *)m;
	int i;

	ASSERT(m->kind == MSG_UNWATCH);
	ASSERT(m->dst == env->self);
	for (i = 0; i < u->argc; i++)
		watch_drop(&env->ks->watch, u->argv[i].p, u->argv[i].len);
	msg_free(env->mem, m, u->argv, u->argc);
}

void txn_drop_message(struct mem *mem, struct xmsg *m)
{
	struct unwatch_msg *u = (struct unwatch_msg *)m;

	ASSERT(m->kind == MSG_UNWATCH);
	msg_free(mem, m, u->argv, u->argc);
}
