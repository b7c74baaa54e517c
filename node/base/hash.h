/* hash.h: hash functions. hash_bytes is a keyed 64-bit hash for the keyspace
 * (seeded per node from io_random_u64, so bucket order cannot be predicted by
 * a client); crc16 is Redis Cluster's slot hash. */
#ifndef CAIRN_HASH_H
#define CAIRN_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
/* CRC16-XMODEM: polynomial 0x1021, initial value 0, no reflection. */
uint16_t hash_crc16(const char *p, size_t n);
/* The cluster slot of a key, honouring {hash tags}. */
unsigned hash_slot(const char *key, size_t n);
/* The same by tables alone, as on a CPU without carry-less multiply
 * (which hash_crc16 and hash_slot use where it exists); for tests. */
uint16_t hash_crc16_table(const char *p, size_t n);
unsigned hash_slot_table(const char *key, size_t n);

#define HASH_SLOTS 16384

#endif
