/* slotmig.h: atomic slot migration's pure parts (Valkey 9's CLUSTER
 * MIGRATESLOTS): the slot ranges of MIGRATESLOTS and of SYNCSLOTS
 * ESTABLISH as Valkey parses them, with its checks and error texts, and
 * the ranges as GETSLOTMIGRATIONS shows them ("0-9 20-29").
 *
 * A set of slots is a bitmap of CLUSTER_SLOTS bits (SLOTMIG_BITS bytes).
 * Nothing here reads the network or the keyspace: the caller passes the
 * state and the slots already exported, and runs the jobs (shard/asm.h,
 * server/cmd_asm.c). */
#ifndef CAIRN_CLUSTER_SLOTMIG_H
#define CAIRN_CLUSTER_SLOTMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/state.h"

#define SLOTMIG_BITS (CLUSTER_SLOTS / 8)
/* Jobs one MIGRATESLOTS may start (one per NODE). */
#define SLOTMIG_REQ_MAX 16
/* GETSLOTMIGRATIONS's slot_ranges text: at most 8192 ranges of
 * "16383-16383 " each. */
#define SLOTMIG_TEXT_MAX (CLUSTER_SLOTS / 2 * 12 + 1)

/* One job MIGRATESLOTS asks for: its slots and their target. */
struct slotmig_req {
	uint16_t target;
	uint32_t nslots;
	uint8_t slots[SLOTMIG_BITS];
};

static inline bool slotmig_has(const uint8_t *bits, unsigned slot)
{
	return (bits[slot / 8] >> (slot % 8)) & 1;
}

static inline void slotmig_set(uint8_t *bits, unsigned slot)
{
	bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
}

/* The slot ranges from a[*i]: pairs of integers until an argument that is
 * not one (Valkey's parseSlotRangesOrReply). Fills bits (zeroed first),
 * sets *i past them. With st, each slot must have an owner, the same one
 * (*owner set to it). Returns the slots' count, or -1 with the error text
 * (without "ERR ") in err. */
int slotmig_parse_ranges(const struct cluster_state *st, const struct cluster_arg *a, int n, int *i,
			 uint8_t *bits, uint16_t *owner, char *err);
/* Valkey's node-wide checks first: no slot in SETSLOT IMPORTING ("Slots
 * are being manually imported") or MIGRATING ("... migrated"). */
int slotmig_precheck(const struct cluster_state *st, char *err);
/* CLUSTER MIGRATESLOTS's arguments after the subcommand: SLOTSRANGE s e
 * [s e ...] NODE id, one or more times. exporting: the slots this node
 * exports already. Fills out[0..ret), or returns -1 with Valkey's error
 * text in err; it changes nothing. */
int slotmig_parse_migrate(const struct cluster_state *st, const struct cluster_arg *a, int n,
			  const uint8_t *exporting, struct slotmig_req *out, char *err);
/* bits as "0-9 20-29" into buf (SLOTMIG_TEXT_MAX bytes at most). */
void slotmig_text(const uint8_t *bits, char *buf, size_t cap);
/* Whether two sets share a slot. */
bool slotmig_overlap(const uint8_t *a, const uint8_t *b);

#endif
