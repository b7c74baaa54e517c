/* ccl.h: cluster clients, the workload of cluster runs that crosses nodes.
 *
 * A cluster client works as redis-py's RedisCluster does: it keeps a map
 * of each slot's owner (formation's even split to begin with), sends each
 * keyed command to the node its map names, over one connection per node,
 * and follows redirects: MOVED updates the map and goes to the node named;
 * ASK sends ASKING and the command, pipelined, to the node named, without
 * changing the map; TRYAGAIN and CLUSTERDOWN try again after a pause. A
 * request may take CCL_HOPS_MAX redirects and retries (redis-py's
 * RedisClusterRequestTTL); one more is a failure (a redirect loop). One
 * request is in flight per client, as redis-py's (not pipelined).
 *
 * The keys (cluster.h's cluster_wkey) lie in a few slots that the harness
 * moves with their keys in them (MIGRATE, cluster.c). The requests are
 * SETs of values named once in the run ("w<token>:" and a padding of a
 * length the token gives, up to a few KB) and GETs, checked by the
 * register rule of the model (model_register_legal): every acknowledged
 * write stays readable until a later one replaces it, across moves; a
 * request whose connection resets may or may not have run. A crash of the
 * node that holds a key (cluster.c) loses what it held: the key's earlier
 * writes no longer make nil illegal (ccl_keys_lost). */
#ifndef CAIRN_SIM_CCL_H
#define CAIRN_SIM_CCL_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"

struct world;
struct ccl;
struct cwork;

/* Redirects and retries one request may take (redis-py's TTL of 16). */
#define CCL_HOPS_MAX 16

/* The keys' histories, which every cluster client of a world shares. */
struct cwork *cwork_new(const struct world *w);
/* Whether a key may be evicted (maxmemory, an allkeys- policy). */
bool cwork_evictable(const struct cwork *wk);
void cwork_free(struct cwork *wk);
/* Keys of slot slot may have been lost at time t (a crash of the node
 * that held them): nil is legal again for them from then on. */
void cwork_slot_lost(struct cwork *wk, unsigned slot, uint64_t t);
/* Requests checked (SETs acknowledged, GETs), redirects followed (MOVED,
 * ASK), retries (TRYAGAIN, CLUSTERDOWN) and the most hops one took. */
void cwork_stats(const struct cwork *wk, uint64_t *sets, uint64_t *gets, uint64_t *moved,
		 uint64_t *asks, uint64_t *retries, unsigned *hops_max);

struct ccl *ccl_new(struct world *w, unsigned id, struct cwork *wk, const struct rng *r);
void ccl_free(struct world *w, struct ccl *cl);
bool ccl_runnable(struct world *w, struct ccl *cl);
uint64_t ccl_next_time(const struct ccl *cl);
void ccl_step(struct world *w, struct ccl *cl);
/* Whether its request is still unanswered, and when it was sent. */
bool ccl_busy(const struct ccl *cl);
uint64_t ccl_sent(const struct ccl *cl);
/* Node crashed: a request in flight to it is lost, its connection gone. */
void ccl_node_crashed(struct world *w, struct ccl *cl, unsigned node);

#endif
