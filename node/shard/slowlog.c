/* slowlog.c: see slowlog.h. Each entry is one allocation: the entry, its
 * argument array, then the argument bytes, the address and the name. */
#include "shard/slowlog.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/util.h"
#include "cmd/cmd.h"

#define REDACTED "(redacted)"
/* Room for "... (N more arguments)" and "... (N more bytes)". */
#define SLOWLOG_NOTE_MAX 48

void slowlog_init(struct slowlog *l, struct mem *mem)
{
	memset(l, 0, sizeof(*l));
	l->mem = mem;
}

/* Whether argument j of cmd is a password Redis never shows. */
static bool redacted(const struct cmd *cmd, const struct cmd_arg *argv, int j)
{
	int k;

	switch (cmd->id) {
	case CMDID_AUTH: return j >= 1;
	case CMDID_HELLO:
		for (k = 2; k < j; k++)
			if (util_eq_nocase(argv[k].p, argv[k].len, "auth") && j <= k + 2)
				return true;
		return false;
	case CMDID_CONFIG_SET:
		return j >= 3 && j % 2 == 1 &&
		       util_eq_nocase(argv[j - 1].p, argv[j - 1].len, "requirepass");
	default: return false;
	}
}

/* What argument j shows: its bytes (at most SLOWLOG_ARG_MAX), and a note
 * written into note (or "" for none). */
static const char *shown(const struct cmd *cmd, const struct cmd_arg *argv, int argc,
			 int shown_argc, int j, size_t *len, char *note)
{
	note[0] = '\0';
	if (shown_argc != argc && j == shown_argc - 1) {
		snprintf(note, SLOWLOG_NOTE_MAX, "... (%d more arguments)", argc - shown_argc + 1);
		*len = 0;
		return "";
	}
	if (redacted(cmd, argv, j)) {
		*len = strlen(REDACTED);
		return REDACTED;
	}
	*len = argv[j].len;
	if (*len > SLOWLOG_ARG_MAX) {
		snprintf(note, SLOWLOG_NOTE_MAX, "... (%zu more bytes)", *len - SLOWLOG_ARG_MAX);
		*len = SLOWLOG_ARG_MAX;
	}
	return argv[j].p;
}

void slowlog_push(struct slowlog *l, uint64_t id, int64_t time_s, uint64_t usec,
		  const struct cmd *cmd, const struct cmd_arg *argv, int argc,
		  const struct slowlog_client *who, uint64_t max)
{
	int n = argc < SLOWLOG_ARGC_MAX ? argc : SLOWLOG_ARGC_MAX, j;
	size_t bytes = sizeof(struct slowlog_entry) + (size_t)n * sizeof(struct cmd_arg);
	size_t alen = strlen(who->addr) + 1, nlen = strlen(who->name) + 1, len;
	char note[SLOWLOG_NOTE_MAX], *p;
	struct slowlog_entry *e;
	const char *src;

	if (max == 0)
		return;
	for (j = 0; j < n; j++) {
		(void)shown(cmd, argv, argc, n, j, &len, note);
		bytes += len + strlen(note);
	}
	e = mem_alloc(l->mem, bytes + alen + nlen);
	e->id = id;
	e->time_s = time_s;
	e->usec = usec;
	e->argc = n;
	e->argv = (struct cmd_arg *)(e + 1);
	p = (char *)(e->argv + n);
	for (j = 0; j < n; j++) {
		src = shown(cmd, argv, argc, n, j, &len, note);
		e->argv[j] = (struct cmd_arg){ .p = p, .len = len + strlen(note) };
		memcpy(p, src, len);
		memcpy(p + len, note, strlen(note));
		p += e->argv[j].len;
	}
	e->who = *who;
	e->who.addr = memcpy(p, who->addr, alen);
	e->who.name = memcpy(p + alen, who->name, nlen);
	ASSERT(p + alen + nlen == (char *)e + bytes + alen + nlen);
	e->older = l->newest;
	e->newer = NULL;
	if (l->newest != NULL)
		l->newest->newer = e;
	else
		l->oldest = e;
	l->newest = e;
	l->n++;
	slowlog_trim(l, max);
}

void slowlog_trim(struct slowlog *l, uint64_t max)
{
	while (l->n > max) {
		struct slowlog_entry *e = l->oldest;
		l->oldest = e->newer;
		if (l->oldest != NULL)
			l->oldest->older = NULL;
		else
			l->newest = NULL;
		mem_free(l->mem, e);
		l->n--;
	}
}

void slowlog_reset(struct slowlog *l)
{
	slowlog_trim(l, 0);
}
