/* keyspace_check.h: the keyspace's invariants, checked from scratch.
 *
 * For tests and fuzzers (and a debugger): it walks everything the keyspace
 * holds and recomputes what the keyspace keeps incrementally, so a bug in an
 * update shows as a disagreement. O(keys); never called by the node. */
#ifndef CAIRN_KEYSPACE_CHECK_H
#define CAIRN_KEYSPACE_CHECK_H

struct keyspace;

/* Checks every invariant: chain membership and hashes, each entry's type
 * and encoding against the table of types, the TTL index both ways, counts
 * (the lazy free's too) and the memory account, to the byte. Returns 0, or
 * a negative line number of the first failed check. */
int ks_check(struct keyspace *ks);

#endif
