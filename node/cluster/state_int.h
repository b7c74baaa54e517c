/* state_int.h: what state.c, gossip.c and state_cmd.c share of the cluster
 * state's internals (state.h is the module's contract). */
#ifndef CAIRN_CLUSTER_STATE_INT_H
#define CAIRN_CLUSTER_STATE_INT_H

#include "cluster/state.h"

/* A fresh random id from the state's generator. */
void cluster_random_id(struct cluster_state *st, char id[BUS_ID_LEN + 1]);
/* Adds a node (id NULL: a random one); CLUSTER_NONE when the table is full. */
uint16_t cluster_node_add(struct cluster_state *st, const char *id, uint32_t flags,
			  uint64_t now_ms);
/* Deletes node i (not myself): its slots become unassigned. */
void cluster_node_del(struct cluster_state *st, uint16_t i);
/* Sets a slot's owner, keeping the counts and my slot version. */
void cluster_slot_set(struct cluster_state *st, unsigned slot, uint16_t owner);
/* Starts a handshake with ip:port@bus_port unless one is under way. */
uint16_t cluster_handshake_start(struct cluster_state *st, const char *ip, uint16_t port,
				 uint16_t bus_port, uint64_t now_ms);
/* Redis's address check (inet_pton), written as inet_ntop prints it. */
bool cluster_ip_normalize(const char *p, size_t n, char out[BUS_IP_MAX + 1]);
/* Is this id blacklisted by FORGET? */
bool cluster_blacklisted(const struct cluster_state *st, const char *id);

#endif
