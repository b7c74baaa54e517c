/* config_file.c: see config_file.h. */
#include "server/config_file.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "proto/resp.h"

#define CONFIG_LINE_ARGS_MAX 64

int config_file_load(struct config *c, const char *text, size_t len, char *err, size_t errlen)
{
	size_t pos = 0;
	int line = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, llen = end - pos, nargs = 0, i;
		const char *l = text + pos;
		char buf[4096];
		struct resp_arg args[CONFIG_LINE_ARGS_MAX];
		const char *argv[CONFIG_LINE_ARGS_MAX];
		size_t lens[CONFIG_LINE_ARGS_MAX];
		char why[256];
		int rc;

		line++;
		pos = end + 1;
		while (llen > 0 && isspace((unsigned char)*l))
			l++, llen--;
		if (llen == 0 || l[0] == '#')
			continue;
		if (llen >= sizeof(buf) ||
		    resp_split_inline(l, llen, buf, args, CONFIG_LINE_ARGS_MAX, &nargs) !=
			    RESP_DONE) {
			snprintf(err, errlen, "line %d: Unbalanced quotes or line too long", line);
			return -1;
		}
		if (nargs == 0)
			continue;
		for (i = 0; i < nargs; i++) {
			argv[i] = buf + args[i].off;
			lens[i] = args[i].len;
		}
		rc = config_apply(c, (int)nargs, argv, lens, false, why, sizeof(why));
		if (rc == -2) {
			snprintf(err, errlen,
				 "line %d: '%.*s' Bad directive or wrong number of arguments", line,
				 (int)lens[0], argv[0]);
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errlen, "line %d: '%.*s' %s", line, (int)lens[0], argv[0],
				 why);
			return -1;
		}
	}
	return 0;
}
