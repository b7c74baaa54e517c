/* obuf.c: the output chunk chain. See obuf.h. */
#include "proto/obuf.h"

#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/val.h"

void obuf_init(struct obuf *ob, struct mem *mem)
{
	memset(ob, 0, sizeof(*ob));
	ob->mem = mem;
	ob->chunk = OBUF_CHUNK_SIZE;
}

static void chunk_free(struct obuf *ob, struct obuf_chunk *c)
{
	if (c->kind == OBUF_REF)
		val_unref(c->ref);
	mem_free(ob->mem, c);
}

void obuf_free(struct obuf *ob)
{
	struct obuf_chunk *c = ob->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		chunk_free(ob, c);
	}
	if (ob->spare != NULL)
		mem_free(ob->mem, ob->spare);
	{
		uint32_t chunk = ob->chunk;
		obuf_init(ob, ob->mem);
		ob->chunk = chunk;
	}
}

static void link_chunk(struct obuf *ob, struct obuf_chunk *c)
{
	c->next = NULL;
	if (ob->tail != NULL)
		ob->tail->next = c;
	else
		ob->head = c;
	ob->tail = c;
}

static struct obuf_chunk *data_chunk(struct obuf *ob, size_t need)
{
	struct obuf_chunk *c;
	size_t base = ob->tail != NULL && ob->tail->kind != OBUF_DATA &&
				      ob->chunk > OBUF_CHUNK_AFTER_HOLD
			      ? OBUF_CHUNK_AFTER_HOLD
			      : ob->chunk;
	size_t cap = need > base ? need : base;

	if (ob->spare != NULL && ob->spare->cap >= cap) {
		c = ob->spare;
		ob->spare = NULL;
	} else {
		c = mem_alloc(ob->mem, sizeof(*c) + cap);
		c->cap = (uint32_t)cap;
	}
	c->kind = OBUF_DATA;
	c->len = 0;
	c->ref = NULL;
	c->ptr = NULL;
	link_chunk(ob, c);
	return c;
}

char *obuf_reserve(struct obuf *ob, size_t n)
{
	struct obuf_chunk *c = ob->tail;
	char *p;

	ASSERT(n <= OBUF_CHUNK_SIZE);
	if (c == NULL || c->kind != OBUF_DATA || c->cap - c->len < n)
		c = data_chunk(ob, n);
	p = c->data + c->len;
	c->len += (uint32_t)n;
	ob->bytes += n;
	return p;
}

void obuf_unreserve(struct obuf *ob, size_t n)
{
	ASSERT(ob->tail != NULL);
	ASSERT(ob->tail->kind == OBUF_DATA);
	ASSERT(ob->tail->len >= n);
	ASSERT(ob->bytes >= n);
	ob->tail->len -= (uint32_t)n;
	ob->bytes -= n;
}

void obuf_append(struct obuf *ob, const char *p, size_t n)
{
	struct obuf_chunk *c = ob->tail;

	while (n > 0) {
		size_t room, k;
		if (c == NULL || c->kind != OBUF_DATA || c->len == c->cap)
			c = data_chunk(ob, n < ob->chunk ? n : ob->chunk);
		room = c->cap - c->len;
		k = n < room ? n : room;
		memcpy(c->data + c->len, p, k);
		c->len += (uint32_t)k;
		ob->bytes += k;
		p += k;
		n -= k;
	}
}

void obuf_append_ref(struct obuf *ob, struct val *v, const char *p, size_t len)
{
	struct obuf_chunk *c = mem_alloc(ob->mem, sizeof(*c));

	ASSERT(len > 0);
	ASSERT(len <= UINT32_MAX);
	ASSERT(p >= v->data);
	ASSERT(p + len <= v->data + v->cap);
	c->kind = OBUF_REF;
	c->ref = val_ref(v);
	c->ptr = p;
	c->len = (uint32_t)len;
	c->cap = 0;
	link_chunk(ob, c);
	ob->bytes += len;
}

static const char *chunk_bytes(const struct obuf_chunk *c)
{
	return c->kind == OBUF_REF ? c->ptr : c->data;
}

int obuf_iov(const struct obuf *ob, struct iovec *iov, int max)
{
	const struct obuf_chunk *c = ob->head;
	size_t skip = ob->sent;
	int n = 0;

	for (; c != NULL && n < max; c = c->next) {
		if (c->kind == OBUF_HOLD)
			break;
		if (c->len > skip) {
			iov[n].iov_base = (void *)(chunk_bytes(c) + skip);
			iov[n].iov_len = c->len - skip;
			n++;
		}
		skip = 0;
	}
	return n;
}

void obuf_consume(struct obuf *ob, size_t n)
{
	ASSERT(n <= ob->bytes);
	ob->bytes -= n;
	n += ob->sent;
	ob->sent = 0;
	while (ob->head != NULL && ob->head->kind != OBUF_HOLD && n >= ob->head->len) {
		struct obuf_chunk *c = ob->head;
		n -= c->len;
		ob->head = c->next;
		if (ob->head == NULL)
			ob->tail = NULL;
		if (c->kind == OBUF_DATA && ob->spare == NULL && c->cap == ob->chunk)
			ob->spare = c;
		else
			chunk_free(ob, c);
	}
	ASSERT(n == 0 || (ob->head != NULL && n < ob->head->len));
	ob->sent = n;
}

bool obuf_empty(const struct obuf *ob)
{
	return ob->bytes == 0 && ob->holds == 0;
}

void obuf_truncate(struct obuf *ob, const struct obuf_mark *m)
{
	struct obuf_chunk *c, *next, *keep = NULL, *last = NULL;

	/* Chunks after the mark go, and the mark's own tail is cut back to its
	 * length at the mark. Mark and truncate happen within one command, so
	 * no write has completed in between, and a writev in flight covers only
	 * bytes that were there before the mark. Placeholders stay, dropped. */
	c = m->tail != NULL ? m->tail->next : ob->head;
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->kind == OBUF_HOLD) {
			c->drop = 1;
			c->next = NULL;
			if (last != NULL)
				last->next = c;
			else
				keep = c;
			last = c;
		} else {
			chunk_free(ob, c);
		}
	}
	if (m->tail != NULL) {
		m->tail->next = keep;
		m->tail->len = m->tail_len;
	} else {
		ob->head = keep;
	}
	ob->tail = last != NULL ? last : m->tail;
	ob->bytes = m->bytes;
}

struct obuf_chunk *obuf_hold(struct obuf *ob)
{
	struct obuf_chunk *c = mem_alloc(ob->mem, sizeof(*c));
	uint32_t holds = ob->holds;

	memset(c, 0, sizeof(*c));
	c->kind = OBUF_HOLD;
	link_chunk(ob, c);
	ob->holds++;
	/* Pairs with obuf_fill: each hold is filled exactly once. */
	ASSERT(ob->holds == holds + 1);
	ASSERT(ob->tail == c);
	return c;
}

void obuf_fill(struct obuf *ob, struct obuf_chunk *h, struct obuf *src)
{
	ASSERT(h->kind == OBUF_HOLD);
	ASSERT(ob->holds > 0);
	ASSERT(src->holds == 0);
	ASSERT(src->sent == 0);
	if (h->drop)
		obuf_free(src);
	if (src->spare != NULL) {
		mem_free(src->mem, src->spare);
		src->spare = NULL;
	}
	/* The chunks change hands: so does their memory. */
	if (src->mem != ob->mem) {
		mem_charge(ob->mem, src->mem->used);
		mem_uncharge(src->mem, src->mem->used);
	}
	/* The placeholder stays in the chain as an empty data chunk with no
	 * room (written past and freed like any other), and src's chunks go
	 * right after it: no walk to find its predecessor, so filling many
	 * pipelined placeholders costs O(1) each. */
	h->kind = OBUF_DATA;
	h->len = h->cap = 0;
	h->drop = 0;
	if (src->head != NULL) {
		src->tail->next = h->next;
		h->next = src->head;
		if (ob->tail == h)
			ob->tail = src->tail;
		ob->bytes += src->bytes;
	}
	ASSERT(ob->holds > 0);
	ob->holds--;
	src->head = src->tail = NULL;
	src->bytes = 0;
}

size_t obuf_mem(const struct obuf *ob)
{
	const struct obuf_chunk *c;
	size_t n = mem_size(ob->spare);

	for (c = ob->head; c != NULL; c = c->next)
		n += mem_size(c);
	return n;
}
