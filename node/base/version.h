/* version.h: what the node says it is.
 *
 * CAIRN_REDIS_VERSION is what INFO (redis_version) and HELLO report.
 * Client libraries gate features on it (Sidekiq wants 7.2 or later, and
 * redis-py and go-redis send CLIENT SETINFO, a 7.2 command, which cairn
 * implements); behaviour otherwise follows redis-server 7.0.15, the reference
 * of the differential tests. */
#ifndef CAIRN_VERSION_H
#define CAIRN_VERSION_H

#define CAIRN_VERSION "0.1.0"
#define CAIRN_REDIS_VERSION "7.2.4"

#endif
