/* msg.c: see msg.h. */
#include "shard/msg.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/val.h"
#include "cmd/cmd.h"
#include "shard/xshard.h"

void *msg_pack(struct mem *mem, size_t head, const struct cmd_arg *argv, int argc,
	       struct cmd_arg **out)
{
	size_t bytes = 0, off;
	struct cmd_arg *a;
	char *block, *p;
	int i;

	ASSERT(head % sizeof(void *) == 0);
	ASSERT(argc >= 0);
	for (i = 0; i < argc; i++)
		if (argv[i].val == NULL)
			bytes += argv[i].len;
	off = head + (size_t)argc * sizeof(*a);
	block = mem_alloc(mem, off + bytes);
	memset(block, 0, head);
	a = argc > 0 ? (struct cmd_arg *)(block + head) : NULL;
	p = block + off;
	for (i = 0; i < argc; i++) {
		a[i].len = argv[i].len;
		a[i].val = argv[i].val;
		if (argv[i].val != NULL) {
			a[i].p = argv[i].p;
			val_ref(argv[i].val);
		} else {
			memcpy(p, argv[i].p, argv[i].len);
			a[i].p = p;
			p += argv[i].len;
		}
	}
	ASSERT(p == block + off + bytes);
	*out = a;
	return block;
}

void msg_unpack(struct mem *mem, void *block, struct cmd_arg *argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		val_unref(argv[i].val);
	mem_free(mem, block);
}

void *msg_new(struct mem *mem, unsigned kind, size_t head, const struct cmd_arg *argv, int argc,
	      struct cmd_arg **out)
{
	struct xmsg *m;

	ASSERT(head >= sizeof(*m));
	ASSERT(kind >= MSG_REQ);
	ASSERT(kind <= MSG_KIND_LAST);
	m = msg_pack(mem, head, argv, argc, out);
	m->kind = (uint16_t)kind;
	m->bytes = (uint32_t)mem_size(m);
	return m;
}

void msg_free(struct mem *mem, struct xmsg *m, struct cmd_arg *argv, int argc)
{
	/* Pairs with msg_new: the account it moves with is the block's. */
	ASSERT(m->bytes == mem_size(m));
	msg_unpack(mem, m, argv, argc);
}

struct bytes_msg {
	struct xmsg h;
	struct cmd_arg *argv; /* one: the bytes */
};

struct xmsg *msg_bytes_new(struct mem *mem, unsigned kind, const char *p, size_t n)
{
	struct cmd_arg arg = { .p = p, .len = n, .val = NULL }, *argv;
	struct bytes_msg *m = msg_new(mem, kind, sizeof(*m), &arg, 1, &argv);

	m->argv = argv;
	return &m->h;
}

const char *msg_bytes(const struct xmsg *m, size_t *n)
{
	const struct bytes_msg *b = (const struct bytes_msg *)m;

	*n = b->argv[0].len;
	return b->argv[0].p;
}

void msg_bytes_free(struct mem *mem, struct xmsg *m)
{
	struct bytes_msg *b = (struct bytes_msg *)m;

	msg_free(mem, m, b->argv, 1);
}
