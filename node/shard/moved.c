/* moved.c: see moved.h. */
#include "shard/moved.h"

#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cluster/redirect.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "proto/reply.h"
#include "shard/txn.h"

/* Keys one request routes on the stack; more go to the heap. */
#define MOVED_KEYS_SMALL 16

struct keys {
	const char **p;
	size_t *len;
	int n, cap;
	const char *sp[MOVED_KEYS_SMALL];
	size_t slen[MOVED_KEYS_SMALL];
	struct mem *mem;
};

static void keys_init(struct keys *k, struct mem *mem)
{
	k->p = k->sp;
	k->len = k->slen;
	k->n = 0;
	k->cap = MOVED_KEYS_SMALL;
	k->mem = mem;
}

static void keys_free(struct keys *k)
{
	if (k->p != k->sp) {
		mem_free(k->mem, k->p);
		mem_free(k->mem, k->len);
	}
}

static void keys_add(struct keys *k, const char *p, size_t len)
{
	if (k->n == k->cap) {
		int cap = k->cap * 2;
		const char **np = mem_alloc(k->mem, (size_t)cap * sizeof(*np));
		size_t *nl = mem_alloc(k->mem, (size_t)cap * sizeof(*nl));
		memcpy(np, k->p, (size_t)k->n * sizeof(*np));
		memcpy(nl, k->len, (size_t)k->n * sizeof(*nl));
		keys_free(k);
		k->p = np, k->len = nl, k->cap = cap;
	}
	k->p[k->n] = p;
	k->len[k->n++] = len;
}

/* Appends the keys of one command (COMMAND GETKEYS's). */
static void keys_of(struct keys *k, const struct cmd *cmd, const struct cmd_arg *argv, int argc)
{
	int small[MOVED_KEYS_SMALL], *pos = small, n, i;

	if (argc > MOVED_KEYS_SMALL)
		pos = mem_alloc(k->mem, (size_t)argc * sizeof(*pos));
	n = cmd_key_positions(cmd, argv, argc, pos, argc);
	for (i = 0; i < n; i++)
		keys_add(k, argv[pos[i]].p, argv[pos[i]].len);
	if (pos != small)
		mem_free(k->mem, pos);
}

struct lookup {
	struct keyspace *ks;
};

/* A key exists when it is there and not past its TTL; nothing is deleted
 * (Redis's LOOKUP_NOEXPIRE). */
static bool exists(void *arg, const char *key, size_t len)
{
	struct lookup *l = arg;

	return ks_peek_live(l->ks, key, len);
}

/* The keyspace of slot's keys, if this request may read it now. */
static struct keyspace *slot_ks(const struct moved_in *in, unsigned slot, unsigned *lock)
{
	const struct cmd_env *env = in->env;
	unsigned s = env->nshards == 1 ? 0 : env->slot_shard[slot];

	if (s == env->self)
		return env->ks;
	if (in->locked != NULL && (in->locked[s / 64] >> (s % 64) & 1))
		return env->keyspaces[s];
	*lock = s;
	return NULL;
}

/* What a request's command tells routing besides its keys. */
struct req_kind {
	bool write, shard_pubsub;
	bool asking;  /* RESTORE-ASKING: as if its client had sent ASKING */
	bool migrate; /* MIGRATE: runs here on a migrating or importing slot */
};

static enum moved_result decide(const struct moved_in *in, struct keys *k,
				const struct req_kind *rk, struct reply *r, unsigned *lock)
{
	struct redirect_req q = {
		.keys = k->p,
		.lens = k->len,
		.nkeys = k->n,
		.write = rk->write,
		.asking = in->asking || rk->asking,
		.shard_pubsub = rk->shard_pubsub,
		.migrate = rk->migrate,
		.reads_when_down = in->env->cfg->cluster_allow_reads_when_down,
		.pubsub_when_down = in->env->cfg->cluster_allow_pubsubshard_when_down,
		.exists = exists,
	};
	struct lookup l = { NULL };
	struct redirect_out out;
	char err[128];
	int slot;

	if (k->n == 0)
		return MOVED_RUN;
	if (in->v == NULL) {
		reply_error(r, "CLUSTERDOWN Hash slot not served");
		return MOVED_REFUSED;
	}
	if (redirect_needs_lookup(in->v, &q, &slot)) {
		l.ks = slot_ks(in, (unsigned)slot, lock);
		if (l.ks == NULL)
			return MOVED_LOCK;
	}
	q.exists_arg = &l;
	redirect_check(in->v, &q, &out);
	if (out.kind == REDIRECT_HERE)
		return MOVED_RUN;
	reply_errorf(r, "-%.*s", (int)redirect_error(in->v, &out, err, sizeof(err)), err);
	return MOVED_REFUSED;
}

/* An atomic migration's link writes the slots it imports, and only those
 * (shard/asm.h): every key's slot is hidden here. */
static bool all_hidden(const struct cluster_view *v, const struct keys *k)
{
	int i;

	if (v == NULL || k->n == 0)
		return false;
	for (i = 0; i < k->n; i++)
		if (!v->hidden[hash_slot(k->p[i], k->len[i])])
			return false;
	return true;
}

static bool is_shard_pubsub(const struct cmd *cmd)
{
	return cmd->id == CMDID_SSUBSCRIBE || cmd->id == CMDID_SUNSUBSCRIBE ||
	       cmd->id == CMDID_SPUBLISH;
}

enum moved_result moved_check(const struct moved_in *in, const struct cmd *cmd,
			      const struct cmd_arg *argv, int argc, struct reply *r, unsigned *lock)
{
	struct req_kind rk = {
		.write = (cmd->flags & CMD_WRITE) != 0,
		.shard_pubsub = is_shard_pubsub(cmd),
		.asking = cmd->id == CMDID_RESTORE_ASKING,
		.migrate = cmd->id == CMDID_MIGRATE,
	};
	struct keys k;
	enum moved_result res;

	if (moved_mine(in->v, cmd, argv, argc))
		return MOVED_RUN;

	keys_init(&k, in->env->mem);
	keys_of(&k, cmd, argv, argc);
	if (in->syncslots && all_hidden(in->v, &k))
		res = MOVED_RUN;
	else
		res = decide(in, &k, &rk, r, lock);
	keys_free(&k);
	return res;
}

enum moved_result moved_check_txn(const struct moved_in *in, const struct txn *t, struct reply *r,
				  unsigned *lock)
{
	struct req_kind rk = { .write = (t->flags & CMD_WRITE) != 0 };
	struct keys k;
	enum moved_result res;
	uint32_t i;

	keys_init(&k, in->env->mem);
	for (i = 0; i < t->n; i++)
		keys_of(&k, t->q[i].cmd, t->q[i].argv, t->q[i].argc);
	res = decide(in, &k, &rk, r, lock);
	keys_free(&k);
	return res;
}
