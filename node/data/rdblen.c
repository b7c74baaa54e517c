/* rdblen.c: see rdblen.h. Each count starts from zero on the same
 * count-only output, so its scratch table is allocated once. */
#include "data/rdblen.h"

#include "base/assert.h"

void rdblen_init(struct rdblen *r, struct mem *mem)
{
	rdb_out_init(&r->out, mem, true);
}

void rdblen_free(struct rdblen *r)
{
	rdb_out_free(&r->out);
}

uint64_t rdblen_value(struct rdblen *r, const struct kv *e)
{
	r->out.len = 0;
	rdb_save_value(&r->out, e);
	ASSERT(r->out.buf == NULL);
	return r->out.len;
}

uint64_t rdblen_string(struct rdblen *r, const char *p, size_t len)
{
	r->out.len = 0;
	rdb_save_string(&r->out, p, len);
	ASSERT(r->out.buf == NULL);
	return r->out.len;
}

unsigned rdblen_len(uint64_t n)
{
	return rdb_len_bytes(n);
}
