/* cmd_dump.c: DUMP and RESTORE, with Redis 7.0's payloads (data/rdb.h)
 * and Redis 7.0's checks, in its order (cluster.c's restoreCommand):
 *  1. the options: REPLACE, ABSTTL, IDLETIME s (>= 0), FREQ f (0..255),
 *     IDLETIME and FREQ not both (the second is a syntax error);
 *  2. the key exists and there is no REPLACE: BUSYKEY;
 *  3. the TTL is an integer >= 0;
 *  4. the payload's footer: version and CRC64;
 *  5. the value decodes ("Bad data format");
 *  6. REPLACE deletes the old key; a TTL already passed (only ABSTTL can
 *     name one) creates nothing but answers OK (a replaced key is gone:
 *     its "del" event fires);
 *  7. the key is stored through the keyspace's normal set path (WATCH sees
 *     it, blocked clients wake), with its TTL, its policy field set from
 *     IDLETIME or FREQ (policy_restore: LRU and LFU modes; SIEVE keeps no
 *     age or count and ignores both), and the "restore" event.
 * A TTL of 0 is no expiry. */
#include <limits.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "cmd/cmd.h"
#include "data/keyspace.h"
#include "data/rdb.h"
#include "proto/reply.h"

#define ERR_BUSYKEY "-BUSYKEY Target key name already exists."
#define ERR_BAD_TTL "Invalid TTL value, must be >= 0"
#define ERR_BAD_PAYLOAD "DUMP payload version or checksum are wrong"
#define ERR_BAD_FORMAT "Bad data format"
#define ERR_BAD_IDLE "Invalid IDLETIME value, must be >= 0"
#define ERR_BAD_FREQ "Invalid FREQ value, must be >= 0 and <= 255"
/* FREQ's range: the LFU counter is 8 bits. */
#define RESTORE_FREQ_MAX 255

void cmd_dump(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[1];
	struct kv *e = ks_lookup_read(c->ks, key->p, key->len);
	struct rdb_out o;

	if (e == NULL) {
		reply_null(c->r);
		return;
	}
	rdb_out_init(&o, c->env->mem, false);
	o.list_fill = (int)c->env->cfg->list_max_listpack_size;
	o.list_compress = (int)c->env->cfg->list_compress_depth;
	rdb_dump(&o, e);
	ASSERT(o.len >= RDB_FOOTER_BYTES);
	reply_bulk(c->r, o.buf, o.len);
	rdb_out_free(&o);
}

struct restore_opts {
	bool replace, absttl;
	long long idle, freq; /* -1: not given */
};

/* IDLETIME's or FREQ's value, checked against its range. */
static bool parse_policy_arg(struct cmd_ctx *c, const struct cmd_arg *a, long long max,
			     const char *err, long long *out)
{
	if (!cmd_arg_ll(c, a, out, NULL))
		return false;
	if (*out < 0 || *out > max) {
		reply_error(c->r, err);
		return false;
	}
	return true;
}

static bool restore_parse(struct cmd_ctx *c, struct restore_opts *o)
{
	int j;

	memset(o, 0, sizeof(*o));
	o->idle = o->freq = -1;
	for (j = 4; j < c->argc; j++) {
		const struct cmd_arg *a = &c->argv[j];
		bool more = j + 1 < c->argc;
		if (cmd_arg_cstr_eq(a, "replace")) {
			o->replace = true;
		} else if (cmd_arg_cstr_eq(a, "absttl")) {
			o->absttl = true;
		} else if (cmd_arg_cstr_eq(a, "idletime") && more && o->freq == -1) {
			if (!parse_policy_arg(c, &c->argv[++j], LLONG_MAX, ERR_BAD_IDLE, &o->idle))
				return false;
		} else if (cmd_arg_cstr_eq(a, "freq") && more && o->idle == -1) {
			if (!parse_policy_arg(c, &c->argv[++j], RESTORE_FREQ_MAX, ERR_BAD_FREQ,
					      &o->freq))
				return false;
		} else {
			cmd_syntax_error(c);
			return false;
		}
	}
	return true;
}

static void restore_limits(const struct cmd_ctx *c, struct rdb_limits *lim)
{
	const struct config *cfg = c->env->cfg;

	lim->hash.max_lp_entries = (uint64_t)cfg->hash_max_listpack_entries;
	lim->hash.max_lp_value = (uint64_t)cfg->hash_max_listpack_value;
	lim->hash.seed = c->ks->seed;
	lim->set.max_intset_entries = (uint64_t)cfg->set_max_intset_entries;
	lim->set.max_lp_entries = (uint64_t)cfg->set_max_listpack_entries;
	lim->set.max_lp_value = (uint64_t)cfg->set_max_listpack_value;
	lim->set.seed = c->ks->seed;
	lim->zset.max_lp_entries = (uint64_t)cfg->zset_max_listpack_entries;
	lim->zset.max_lp_value = (uint64_t)cfg->zset_max_listpack_value;
	lim->zset.seed = c->ks->seed;
	lim->list.fill = (int)cfg->list_max_listpack_size;
	lim->list.compress = (int)cfg->list_compress_depth;
}

/* Stores the loaded value under key (the keyspace takes its object). */
static struct kv *restore_store(struct cmd_ctx *c, const struct cmd_arg *key, struct rdb_value *v,
				int64_t expire)
{
	struct kv *e;

	if (v->type == KV_STRING) {
		struct kval kv;
		str_kval(&kv, v->p, v->len, NULL);
		e = ks_set(c->ks, key->p, key->len, &kv, expire);
	} else {
		e = ks_set_obj(c->ks, key->p, key->len, v->type, v->enc, v->obj, expire);
		v->obj = NULL;
	}
	rdb_value_free(&c->ks->mem, v);
	return e;
}

/* The payload and the TTL, checked (steps 3 to 5); false after the error. */
static bool restore_load(struct cmd_ctx *c, long long *ttl, struct rdb_value *v)
{
	const struct cmd_arg *payload = &c->argv[3];
	struct rdb_limits lim;

	if (!cmd_arg_ll(c, &c->argv[2], ttl, NULL))
		return false;
	if (*ttl < 0) {
		reply_error(c->r, ERR_BAD_TTL);
		return false;
	}
	if (!rdb_payload_ok(payload->p, payload->len)) {
		reply_error(c->r, ERR_BAD_PAYLOAD);
		return false;
	}
	restore_limits(c, &lim);
	if (!rdb_load(&c->ks->mem, &lim, payload->p, payload->len, v)) {
		reply_error(c->r, ERR_BAD_FORMAT);
		return false;
	}
	return true;
}

void cmd_restore(struct cmd_ctx *c)
{
	const struct cmd_arg *key = &c->argv[1];
	struct restore_opts o;
	struct rdb_value v;
	long long ttl;
	bool deleted = false;
	struct kv *e;

	if (!restore_parse(c, &o))
		return;
	if (!o.replace && ks_lookup_write(c->ks, key->p, key->len) != NULL) {
		reply_error(c->r, ERR_BUSYKEY);
		return;
	}
	if (!restore_load(c, &ttl, &v))
		return;
	if (o.replace)
		deleted = ks_delete_stale(c->ks, key->p, key->len);
	/* A relative TTL is from now; Redis adds without a check, and a sum
	 * past the range wraps to the past, so the key is not created. */
	if (ttl != 0 && !o.absttl)
		ttl = (long long)((unsigned long long)ttl + (unsigned long long)c->ks->now_ms);
	if (ttl != 0 && ttl <= c->ks->now_ms) {
		if (deleted)
			ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "del", key->p, key->len);
		rdb_value_free(&c->ks->mem, &v);
		reply_ok(c->r);
		return;
	}
	e = restore_store(c, key, &v, ttl != 0 ? ttl : KS_TTL_NONE);
	policy_restore(&c->ks->pol, e, c->ks->now_ms, o.freq, o.idle);
	ks_notify(c->ks, CONFIG_NOTIFY_GENERIC, "restore", key->p, key->len);
	reply_ok(c->r);
}

/* RESTORE-ASKING: RESTORE, which routing treats as if its client had sent
 * ASKING (shard/moved.c): MIGRATE sends it to a node importing the slot. */
void cmd_restore_asking(struct cmd_ctx *c)
{
	cmd_restore(c);
}
