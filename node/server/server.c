/* server.c: see server.h. */
#include "server/server.h"

#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "cmd/cmd.h"
#include "proto/reply.h"
#include "shard/conn.h"

#define ERR_CLIENT_NAME "Client names cannot contain spaces, newlines or special characters."

struct conn *server_conn(const struct cmd_ctx *c)
{
	ASSERT(c->conn != NULL);
	ASSERT(c->conn->proto == 2 || c->conn->proto == 3);
	return c->conn;
}

/* Whether every byte is printable ASCII other than space, so that a CLIENT
 * LIST line still splits on spaces (Redis's validateClientAttr). */
bool server_attr_printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < '!' || ch > '~')
			return false;
	}
	return true;
}

/* An empty string is kept as NULL, as Redis keeps no name. */
void server_str_set(struct mem *mem, char **dst, const char *p, size_t n)
{
	char *s = NULL;

	if (n > 0) {
		s = mem_alloc(mem, n + 1);
		memcpy(s, p, n);
		s[n] = '\0';
	}
	mem_free(mem, *dst);
	*dst = s;
}

bool server_setname_or_reply(struct cmd_ctx *c, const struct cmd_arg *name)
{
	if (!server_attr_printable(name->p, name->len)) {
		reply_error(c->r, ERR_CLIENT_NAME);
		return false;
	}
	server_str_set(c->env->mem, &server_conn(c)->name, name->p, name->len);
	return true;
}
