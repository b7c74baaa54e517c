/* crc64.h: Redis's CRC64 (crc64.c), the checksum at the end of a DUMP
 * payload and of an RDB file.
 *
 * The "Jones" CRC-64: polynomial 0xad93d23594c935a9, reflected in and out,
 * no final xor. crc64(0, "123456789", 9) is 0xe9c6d914c4b8d9ca. A running
 * CRC is continued by passing the previous result as crc. */
#ifndef CAIRN_CRC64_H
#define CAIRN_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Redis's check value (crc64.c's test). */
#define CRC64_CHECK_VALUE 0xe9c6d914c4b8d9caULL

uint64_t crc64(uint64_t crc, const void *p, size_t n);

#endif
