/* log.c: level filter and formatting for core log lines. See log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/limits.h"

void log_at(struct io *io, int min_level, enum io_log_level level, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	int n;

	if ((int)level < min_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	io_log(io, level, buf, (size_t)n);
}
