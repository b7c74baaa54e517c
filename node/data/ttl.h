/* ttl.h: a keyspace's index of the keys that have a TTL.
 *
 * A dense array of the entries with an expire time; each such entry keeps
 * its own position (kv.h), so adding and removing are O(1) (the last entry
 * moves into the hole). Active expiry and the volatile eviction policies
 * sample it (expire.h, evict.h). The array is charged to the keyspace's account.
 * The index never frees an entry: it only points at them. */
#ifndef CAIRN_TTL_H
#define CAIRN_TTL_H

#include <stddef.h>
#include <stdint.h>

struct kv;
struct mem;

struct ttl_index {
	struct kv **v;
	uint32_t n, cap;
	struct mem *mem;
};

void ttl_init(struct ttl_index *t, struct mem *mem);
/* Forgets every entry and frees the array. */
void ttl_clear(struct ttl_index *t);
/* Indexes e (which has KV_F_TTL) with expire time when. */
void ttl_add(struct ttl_index *t, struct kv *e, int64_t when);
/* Removes e from the index. */
void ttl_remove(struct ttl_index *t, struct kv *e);
/* e moved (realloc), or is a new entry for the same key that took over the
 * old one's position (kv_ttl_pos): the index points at it there. */
void ttl_moved(struct ttl_index *t, struct kv *e);
/* The entry at position i (< t->n). */
struct kv *ttl_at(const struct ttl_index *t, uint32_t i);
/* Bytes of the array, as charged. */
size_t ttl_mem(const struct ttl_index *t);

#endif
