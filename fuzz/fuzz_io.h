/* fuzz_io.h: node/io/io.h for in-process fuzz targets.
 *
 * A deterministic backend with no syscalls, linked in place of the real ones
 * (as sim/io_sim.c will be): the clock moves only when the harness says so
 * (fuzz_io_advance) or when the core blocks (io_block, for DEBUG SLEEP);
 * io_random_u64 comes from a fixed seed; io_log discards; io_sock_name gives
 * fixed addresses; the file system holds one file, in memory (writing
 * another path replaces it). Submissions are recorded and completed in order on the
 * next io_reap(), with the contract's rules checked as they go (no
 * submission on a closed socket, one WRITEV in flight per socket, every
 * provided buffer recycled before the next reap, ...).
 *
 * The harness plays the peers: it makes a client connect (an ACCEPT
 * completion), decides how the core's own CONNECTs end, sends bytes (a RECV
 * completion in a provided buffer) or end of file, and reads what the core
 * wrote to each socket. A WRITEV's bytes are
 * copied when it completes, not when it is submitted, so a core that changed
 * bytes in flight would be caught; the harness may make writes short. */
#ifndef CAIRN_FUZZ_IO_H
#define CAIRN_FUZZ_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

/* Sockets a fuzz_io gives out over its life (handles are never reused), and
 * the listener's handle. */
#define FUZZ_IO_SOCKS 64
#define FUZZ_IO_LISTENER 1000

struct io *fuzz_io_new(uint64_t seed, uint64_t now_ns);
void fuzz_io_free(struct io *io);
/* As new, but reusing io's memory (one per input costs little this way). */
void fuzz_io_reset(struct io *io, uint64_t seed, uint64_t now_ns);
/* Moves the clock on; a timer that falls due completes at the next reap. */
void fuzz_io_advance(struct io *io, uint64_t ns);
/* Writes take at most n bytes each from now on (0: no limit). */
void fuzz_io_write_limit(struct io *io, size_t n);
/* A client connects: returns its socket (an ACCEPT completion is queued),
 * or -1 when accept is not armed or every handle was given out. */
int fuzz_io_connect(struct io *io);
/* How the core's CONNECTs end from now on: res is -errno, or 0 for a peer
 * that accepts (the CONNECT completes with a new socket, or -EMFILE when
 * every handle was given out). A new or reset fuzz_io refuses them
 * (-ECONNREFUSED); an address that is not numeric ends with -EINVAL. */
void fuzz_io_connect_result(struct io *io, int res);
/* The peer sends n bytes (at most IO_BUF_SIZE): a RECV completion. Returns
 * false when the socket is closed or its recv is not armed. */
bool fuzz_io_send(struct io *io, int sock, const char *p, size_t n);
/* The peer closes its end: a RECV completion of 0 bytes. */
bool fuzz_io_hangup(struct io *io, int sock);
/* The multishot recv on sock ends with -ENOBUFS (the buffer ring ran dry):
 * the core must re-arm it. */
bool fuzz_io_nobufs(struct io *io, int sock);
/* The next n recv, writev and close submissions fail with -EBUSY (a full
 * submission queue): the core must retry them, never drop them. Accept and
 * timers are left alone, so that two runs fed the same operations accept
 * the same clients and fire the same timers. */
void fuzz_io_refuse(struct io *io, unsigned n);
/* Bytes the core wrote to sock that the harness has not taken yet. */
const char *fuzz_io_output(struct io *io, int sock, size_t *len);
void fuzz_io_take(struct io *io, int sock, size_t n);
/* Whether the core has closed sock (its CLOSE completed). */
bool fuzz_io_closed(struct io *io, int sock);
/* Whether anything is queued for the next reap, or in flight. */
bool fuzz_io_busy(struct io *io);
/* What is queued, in words, for failure messages. */
size_t fuzz_io_describe(struct io *io, char *buf, size_t len);

#endif
