/* client.h: a simulated client.
 *
 * Each client is bound to one node of the world, and keeps one connection
 * to it (reconnecting when it dies),
 * pipelines requests the model draws, feeds what the node sends back to a
 * RESP reader, and hands each reply to the model with the request's send
 * time and the reply's arrival time. A connection that dies (a reset the
 * fault plan injects, or the node closing after a protocol error) leaves
 * its unanswered requests with an unknown outcome. The node closing a
 * connection any other way is a failure. After the faults heal a client
 * sends nothing new and only waits for its replies. */
#ifndef CAIRN_SIM_CLIENT_H
#define CAIRN_SIM_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"

struct world;
struct client;
struct model;

/* Client id, bound to node, whose replies model checks. */
struct client *client_new(struct world *w, unsigned id, unsigned node, struct model *model,
			  const struct rng *r);
void client_free(struct client *cl);
bool client_runnable(struct world *w, struct client *cl);
uint64_t client_next_time(const struct client *cl);
void client_step(struct world *w, struct client *cl);
unsigned client_outstanding(const struct client *cl);
uint64_t client_oldest_send(const struct client *cl);

#endif
