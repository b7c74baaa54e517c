/* log.h: core logging. Messages are filtered by the configured level and
 * handed to the backend (io_log), which adds Redis's line prefix
 * ("pid:M 22 Nov 2026 12:00:00.000 * ") and writes them. */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include "io/io.h"

void log_at(struct io *io, int min_level, enum io_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
