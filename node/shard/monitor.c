/* monitor.c: see monitor.h. */
#include "shard/monitor.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "io/io.h"
#include "proto/obuf.h"
#include "shard/conn.h"
#include "shard/msg.h"
#include "shard/xshard.h"

/* The queue starts this big, and is let go past 64 times that. */
#define MONITOR_LINES_START 256
#define MONITOR_LINES_KEEP (64 * 1024)

void monitor_init(struct monitor *m, struct conn_host *h, atomic_uint *node)
{
	memset(m, 0, sizeof(*m));
	m->h = h;
	m->node = node;
	atomic_init(&m->here, 0);
}

void monitor_free(struct monitor *m)
{
	ASSERT(m->n == 0);
	mem_free(m->h->mem, m->v);
	m->v = NULL;
	if (m->lines.p != NULL)
		text_free(&m->lines);
}

void monitor_add(struct monitor *m, struct conn *c)
{
	ASSERT(!(c->flags & CONN_F_MONITOR));
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4;
		m->v = mem_realloc(m->h->mem, m->v, m->cap * sizeof(*m->v));
	}
	m->v[m->n++] = c;
	c->flags |= CONN_F_MONITOR;
	atomic_store_explicit(&m->here, m->n, memory_order_relaxed);
	atomic_fetch_add_explicit(m->node, 1, memory_order_relaxed);
}

void monitor_remove(struct monitor *m, struct conn *c)
{
	uint32_t i;

	if (!(c->flags & CONN_F_MONITOR))
		return;
	for (i = 0; i < m->n && m->v[i] != c; i++)
		;
	ASSERT(i < m->n);
	m->v[i] = m->v[--m->n];
	c->flags &= ~CONN_F_MONITOR;
	atomic_store_explicit(&m->here, m->n, memory_order_relaxed);
	atomic_fetch_sub_explicit(m->node, 1, memory_order_relaxed);
}

/* Whether argument i of a command is a secret that MONITOR shows as
 * "(redacted)", as Redis's redactClientCommandArgument: AUTH's arguments,
 * HELLO's AUTH username and password. */
static bool redacted(const struct cmd *cmd, const struct cmd_arg *argv, int i)
{
	if (cmd->id == CMDID_AUTH)
		return i >= 1;
	if (cmd->id == CMDID_HELLO && i >= 3) {
		const struct cmd_arg *tok = &argv[i - 1], *tok2 = &argv[i - 2];
		return (tok->len == 4 && strncasecmp(tok->p, "auth", 4) == 0) ||
		       (tok2->len == 4 && strncasecmp(tok2->p, "auth", 4) == 0 && i >= 4);
	}
	return false;
}

void monitor_feed(struct monitor *m, const struct conn *c, const struct cmd *cmd,
		  const struct cmd_arg *argv, int argc)
{
	char addr[64];
	uint64_t ns = m->h->clock->now_ns;
	int i, n;

	if (m->lines.p == NULL)
		text_init(&m->lines, m->h->mem, MONITOR_LINES_START);
	n = io_sock_name(m->h->io, c->sock, true, addr, sizeof(addr) - 1);
	if (n < 0)
		n = snprintf(addr, sizeof(addr), "?:0");
	addr[n] = '\0';
	text_printf(&m->lines, "+%llu.%06llu [0 %s]", (unsigned long long)(ns / 1000000000u),
		    (unsigned long long)(ns / 1000u % 1000000u), addr);
	for (i = 0; i < argc; i++) {
		text_add(&m->lines, " ", 1);
		if (redacted(cmd, argv, i))
			text_add(&m->lines, "\"(redacted)\"", 12);
		else
			text_repr(&m->lines, argv[i].p, argv[i].len);
	}
	text_add(&m->lines, "\r\n", 2);
}

/* Writes n bytes of lines to every monitor here. */
static void write_lines(struct monitor *m, const char *p, size_t n)
{
	uint32_t i;

	for (i = 0; i < m->n; i++) {
		struct conn *c = m->v[i];
		if (c->flags & (CONN_F_CLOSE_NOW | CONN_F_CLOSING | CONN_F_CLOSE_ASAP))
			continue;
		obuf_append(&c->out, p, n);
		conn_check_output_limit(m->h, c);
		conn_pend(m->h, c);
	}
}

void monitor_flush(struct monitor *m, struct xshard *x, const uint64_t *others)
{
	unsigned s;

	if (m->lines.p == NULL || m->lines.len == 0)
		return;
	write_lines(m, m->lines.p, m->lines.len);
	for (s = 0; s < XSHARD_MAX; s++)
		if (others[s / 64] & (1ull << (s % 64)))
			xshard_send(
				x, s,
				msg_bytes_new(m->h->mem, MSG_MONITOR, m->lines.p, m->lines.len));
	m->lines.len = 0;
	if (m->lines.cap > MONITOR_LINES_KEEP)
		text_free(&m->lines);
}

void monitor_message(struct monitor *m, struct xmsg *msg)
{
	size_t n;
	const char *p = msg_bytes(msg, &n);

	ASSERT(msg->kind == MSG_MONITOR);
	write_lines(m, p, n);
	msg_bytes_free(m->h->mem, msg);
}

void monitor_drop_message(struct mem *mem, struct xmsg *msg)
{
	ASSERT(msg->kind == MSG_MONITOR);
	msg_bytes_free(mem, msg);
}
