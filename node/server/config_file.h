/* config_file.h: a redis.conf-style configuration file.
 *
 * One directive per line, '#' comments, words split and quoted as Redis
 * splits an inline command (sdssplitargs), so the file's syntax is Redis's.
 * Each directive goes through config_apply(), as the command line's and
 * CONFIG SET's do, so all three accept the same values. */
#ifndef CAIRN_CONFIG_FILE_H
#define CAIRN_CONFIG_FILE_H

#include <stddef.h>

struct config;

/* Applies a configuration text. On error returns -1 and writes
 * "line N: <reason>" to err. */
int config_file_load(struct config *c, const char *text, size_t len, char *err, size_t errlen);

#endif
