/* obuf.h: a connection's output, as a chain of chunks.
 *
 * Small replies are copied into data chunks of OBUF_CHUNK_SIZE; a big value is
 * linked by reference (its val's refcount held) so nothing is copied. The
 * chain is written with writev from the head; a short write resumes at the
 * exact byte. Bytes handed to a writev stay put until its completion:
 * appending only writes past the end of a chunk, and chunks are freed only
 * once written.
 *
 * A HOLD chunk is a placeholder for a reply that another shard will produce;
 * writing stops before it until obuf_fill() splices the reply in its place.
 *
 * Chunk memory is charged to the obuf's account. */
#ifndef CAIRN_OBUF_H
#define CAIRN_OBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct mem;
struct val;

enum obuf_kind { OBUF_DATA = 0, OBUF_REF, OBUF_HOLD };

struct obuf_chunk {
	struct obuf_chunk *next;
	struct val *ref; /* OBUF_REF: the value referenced */
	const char *ptr; /* OBUF_REF: first byte */
	uint32_t len;    /* bytes in the chunk */
	uint32_t cap;    /* OBUF_DATA: room in data[] */
	uint8_t kind;
	uint8_t drop; /* OBUF_HOLD: the reply is suppressed (CLIENT REPLY) */
	char data[];
};

struct obuf {
	struct mem *mem;
	uint32_t chunk; /* size of new data chunks (OBUF_CHUNK_SIZE by default) */
	struct obuf_chunk *head, *tail;
	size_t sent;  /* bytes of head already written */
	size_t bytes; /* unsent bytes in the whole chain */
	uint32_t holds;
	struct obuf_chunk *spare; /* one emptied data chunk kept for reuse */
};

/* A position in the chain, to cut back to (CLIENT REPLY OFF/SKIP). */
struct obuf_mark {
	struct obuf_chunk *tail;
	uint32_t tail_len;
	size_t bytes;
};

void obuf_init(struct obuf *ob, struct mem *mem);
void obuf_free(struct obuf *ob);
void obuf_append(struct obuf *ob, const char *p, size_t n);
/* Reserves n contiguous bytes at the end and returns them; the caller writes
 * exactly n bytes. n must be at most OBUF_CHUNK_SIZE. */
char *obuf_reserve(struct obuf *ob, size_t n);
/* Gives back the last n bytes of the latest obuf_reserve(). */
void obuf_unreserve(struct obuf *ob, size_t n);
/* Links len bytes at p, owned by v (a reference is taken). */
void obuf_append_ref(struct obuf *ob, struct val *v, const char *p, size_t len);
/* Fills iov with up to max pieces from the start, stopping at a HOLD.
 * Returns the count (0 when nothing can be written). */
int obuf_iov(const struct obuf *ob, struct iovec *iov, int max);
/* Drops n written bytes from the start. */
void obuf_consume(struct obuf *ob, size_t n);
bool obuf_empty(const struct obuf *ob);
/* Records where the output ends now (before every command, so inline). */
static inline void obuf_mark(const struct obuf *ob, struct obuf_mark *m)
{
	m->tail = ob->tail;
	m->tail_len = ob->tail != NULL ? ob->tail->len : 0;
	m->bytes = ob->bytes;
}
/* Cuts back to the mark. A HOLD after the mark stays (its reply is still
 * coming) but is marked dropped, so it fills with nothing. */
void obuf_truncate(struct obuf *ob, const struct obuf_mark *m);
/* Appends a placeholder and returns it. */
struct obuf_chunk *obuf_hold(struct obuf *ob);
/* Replaces placeholder h with the whole content of src (which is left
 * empty), or with nothing if h was dropped. src must have no HOLD of its
 * own; its memory moves to ob's account. */
void obuf_fill(struct obuf *ob, struct obuf_chunk *h, struct obuf *src);
/* Bytes of memory the chain holds (for CLIENT LIST omem and INFO). */
size_t obuf_mem(const struct obuf *ob);

#endif
