/* val.h: refcounted value buffers.
 *
 * A value of VAL_REF_MIN bytes or more lives in a `struct val`, so that a reply
 * can send it by reference (zero copy) and an overwrite of the key while the
 * write is in flight only drops the keyspace's reference. The bytes are
 * always followed by "\r\n", so a bulk reply is one header plus one piece.
 * Refcounts are atomic because a reply may carry a value to another shard's
 * connection. Memory of a val is charged to the keyspace while a key holds
 * it (mem_charge), not by these functions. */
#ifndef CAIRN_VAL_H
#define CAIRN_VAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct val {
	atomic_uint refs;
	uint32_t len; /* bytes of value */
	uint32_t cap; /* bytes of data[] (at least len + 2) */
	char data[];
};

/* A new val with one reference and room for cap bytes (cap >= len + 2). The
 * bytes are uninitialised; len is 0. */
struct val *val_new(size_t cap);
/* A new val holding a copy of p[0, n), CRLF-terminated. */
struct val *val_copy(const char *p, size_t n);
/* Grows (reallocates) a val that nobody else references yet. */
struct val *val_grow(struct val *v, size_t cap);
/* Sets the length and writes the trailing CRLF. */
void val_seal(struct val *v, size_t len);
struct val *val_ref(struct val *v);
void val_unref(struct val *v);
/* Allocated size, as counted when charged to an account. */
size_t val_size(const struct val *v);

#endif
