/* mem.h: accounted allocation. Every byte the node holds for keys, values,
 * connections and buffers is allocated through one `struct mem` per shard, so
 * that INFO memory, MEMORY USAGE and maxmemory read one number.
 *
 * Failure to allocate is fatal, as in Redis: the process cannot keep its
 * promises without memory, and Linux overcommit makes it rare. */
#ifndef CAIRN_MEM_H
#define CAIRN_MEM_H

#include <stdbool.h>
#include <stddef.h>

struct mem {
	size_t used; /* bytes of live allocations (usable size) */
	size_t peak;
	/* A side account: the changes made while another thread reads the
	 * main one (a frozen shard's, shard/lock.h). Its used may go below
	 * zero (modulo 2^64) and it keeps no peak; mem_fold adds it to the
	 * main account. */
	bool delta;
};

void *mem_alloc(struct mem *m, size_t n);
void *mem_calloc(struct mem *m, size_t n);
/* mem_alloc for a transient buffer whose size a client chose (LCS's table):
 * NULL when the allocator refuses, for the command to report, instead of
 * the end of the process. */
void *mem_try_alloc(struct mem *m, size_t n);
void *mem_realloc(struct mem *m, void *p, size_t n);
void mem_free(struct mem *m, void *p);
/* The usable size of an allocation, as counted in m->used. */
size_t mem_size(const void *p);
/* Adjusts the account for memory allocated elsewhere (a value buffer that
 * joins or leaves the keyspace). */
void mem_charge(struct mem *m, size_t n);
void mem_uncharge(struct mem *m, size_t n);
/* Moves side account d's changes into m; d starts again from zero. */
void mem_fold(struct mem *m, struct mem *d);

#endif
