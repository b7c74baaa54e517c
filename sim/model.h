/* model.h: the reference model that checks every reply.
 *
 * A plain, obviously correct model of the keyspace (strings, bitmaps and
 * HyperLogLogs, hashes, sets, lists and sorted sets), written from Redis's
 * documented behaviour, independent of node/. Each client owns its keys
 * (a fifth of them mostly for each type, and some commands cross over,
 * which must answer WRONGTYPE), so its replies come in execution order
 * and are checked one by one. What the model cannot know is kept as a set
 * of possible states per key:
 *  - a request whose connection died may or may not have run;
 *  - a TTL that ends between a request's send and its reply may or may not
 *    have expired when it ran (expire times are intervals, since EX and PX
 *    count from an execution time known only to lie in that window).
 *  - where Redis chooses at random (SRANDMEMBER, SPOP, ZRANDMEMBER), any
 *    legal choice, and the next state follows the reply;
 *  - a HyperLogLog's bytes (the node's sketch): it is checked by what is
 *    certain of it (model_hll.c).
 * A reply is legal if some possible state explains it; the states that do
 * not are dropped. A reply no state explains is a correctness failure.
 *
 * Keys shared by all clients race for real, and are checked by what is
 * legal: INCR on a shared counter gives distinct replies, and its final
 * value lies between the increments acknowledged and those plus the ones
 * lost; a GET of a shared register returns a value a SET could have left
 * there (written before the GET's reply, not certainly overwritten before
 * the GET was sent). */
#ifndef CAIRN_SIM_MODEL_H
#define CAIRN_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp_reader.h"
#include "rng.h"

struct world;
struct model;
struct mreq;

/* A register write, for the legal-read check. */
struct mwrite {
	uint64_t token;
	uint64_t send, recv; /* recv: UINT64_MAX while unknown or lost */
};

/* The register rule: whether a read over [send, recv] of a register
 * written by ws[0..n) may return the value of write got (NULL: nil). It
 * may return W if W was sent before the read's reply, and no write W2
 * certainly came after W (W2 sent after W's reply) and certainly before
 * the read (W2's reply before the read was sent). It may return nil only
 * if no write had certainly finished before the read was sent, counting
 * only the writes that finished at or after since (a crash of the node
 * that held the register before since lost them; 0 if none). The shared
 * registers of a node's model and the cluster clients' keys (ccl.c) both
 * check by it. */
bool model_register_legal(const struct mwrite *ws, unsigned n, const struct mwrite *got,
			  uint64_t send, uint64_t recv, uint64_t since);

/* The model of one node of the world (nodes share no keys). */
struct model *model_new(struct world *w, unsigned node);
void model_free(struct model *m);
/* The next request of client c: RESP bytes in *out (malloc'd, the caller
 * frees) and the record to check its reply with; or NULL: a subscriber
 * sends nothing this time. */
struct mreq *model_next(struct model *m, unsigned c, struct rng *r, char **out, size_t *len);
/* Whether the node closes the connection after answering q (a protocol
 * error): the client then sends nothing more on it. */
bool model_closes(const struct mreq *q);
/* The reply of q arrived; it ran between send and recv (simulated ns).
 * Checks and narrows the model; frees q. */
void model_reply(struct model *m, struct mreq *q, const struct resp_reader_value *v, uint64_t send,
		 uint64_t recv);
/* q's connection (conn, as net_conn_id) died without its reply: it may or
 * may not run, and not necessarily before what the client sends next (a
 * forwarded request may still be on its way to the key's shard). Its keys
 * are unknowable until it has certainly run or been dropped: until the node
 * has closed conn and nothing is in flight between shards (model_settle).
 * Frees q. */
void model_lost(struct model *m, struct mreq *q, uint64_t send, uint64_t conn);
/* Client c's connection conn is gone (after model_lost of every request
 * it still owed): what it was in the middle of (a transaction) ends. */
void model_conn_lost(struct model *m, unsigned c, uint64_t conn);
/* Whether some lost request may still run. */
bool model_unsettled(const struct model *m);
/* Every shard is quiet (route_quiet): the lost requests whose connection
 * the node has closed are settled. */
void model_settle(struct model *m);
/* Transactions checked (EXEC answered), and those WATCH failed. */
void model_txn_stats(const struct model *m, uint64_t *execs, uint64_t *aborts);
/* Blocking pops checked that took an element, and those that timed out
 * (model_bpop.c). */
void model_bpop_stats(const struct model *m, uint64_t *pops, uint64_t *timeouts);
/* v arrived on client c's connection: if it is a published message (the
 * connection subscribes), checks it and returns true; else it is the reply
 * to c's oldest request. */
bool model_push(struct model *m, unsigned c, const struct resp_reader_value *v);
/* Once every client is done: whether a subscriber still misses a message
 * it must get (model_pubsub.c); and the failure that says which. */
bool model_owes(struct model *m);
void model_owes_fail(struct model *m);
/* Messages published (acknowledged), of which the count was known exactly,
 * and deliveries checked. */
void model_pubsub_stats(const struct model *m, uint64_t *published, uint64_t *exact,
			uint64_t *delivered);
/* Checks that need the whole run; records failures in the world. */
void model_end(struct model *m);

#endif
