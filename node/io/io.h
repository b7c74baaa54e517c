/* io.h: the only way core code reaches the world.
 *
 * The contract is completion-based and shaped like io_uring. The core submits
 * operations, each tagged with a 64-bit user_data of its own choosing (of which
 * it may use the low IO_USER_DATA_BITS), and later reaps completions in
 * batches. Nothing happens behind the core's back: a completion only appears
 * from io_reap(), and io_reap() never blocks.
 *
 * Three implementations exist: node/io/io_uring.c and node/io/io_epoll.c (selected at
 * run time in cairn-node through node/io/io_node.c), and sim/io_sim.c, which is
 * linked in place of them. The core never knows which one it runs on.
 *
 * Sockets are opaque non-negative int handles given out by the backend (a
 * listener handed to the core at start-up, or the res of an ACCEPT or
 * CONNECT completion). The core never interprets them.
 *
 * Rules every backend keeps and the core relies on:
 *  - Submissions return 0 or a negative errno. -EBUSY means the submission
 *    queue is full: nothing was queued, and the core must retry later (never
 *    drop the operation).
 *  - ACCEPT and RECV are multishot. While a completion carries IO_F_MORE the
 *    operation stays armed. A completion without it ends the operation; the
 *    core re-arms if it still wants data.
 *  - A RECV completion with res > 0 carries IO_F_BUFFER and a buffer id. The
 *    core reads io_buf(io, bid) for res bytes and must hand the buffer back with
 *    io_buf_recycle() before the next io_reap(). After recycling, the bytes are
 *    gone (the simulator poisons them).
 *  - RECV res == 0 without IO_F_SOCK_NONEMPTY is end of file. With the flag
 *    it may not be: the core re-arms and reads again. But Linux flags the 0
 *    after a FIN too, so a second 0 in a row, with no data between, is end of
 *    file whatever its flag. -ENOBUFS means the operation has ended with no
 *    data and the socket may still have some: the buffer pool ran dry, or
 *    the backend restarted a recv it found stuck (io_uring.c's watchdog).
 *    Re-arm.
 *  - RECV_STOP ends a socket's armed recv early (the core stops reading a
 *    client that does not read its replies). The recv's last completion
 *    (without IO_F_MORE) follows with res -ECANCELED, possibly after
 *    completions with data it had already taken. If the recv has already
 *    ended (its last completion may still be unreaped) it does nothing.
 *    Either way the recv ends exactly once, and the core re-arms it with
 *    io_recv() when it wants data again.
 *  - WRITEV may be short: res is the number of bytes written. The iovec array
 *    and the bytes it points to must stay valid and unchanged until the
 *    completion. At most one WRITEV per socket is in flight.
 *  - CLOSE cancels every operation on the socket. Their completions may still
 *    arrive (with -ECANCELED or data); the CLOSE completion comes last. No
 *    submission may name the socket after io_close().
 *  - TIMER is one-shot; its completion has res 0 once at least the delay has
 *    passed (possibly later).
 *  - CONNECT opens an outbound TCP connection to a numeric IPv4 or IPv6
 *    address, as inet_pton reads it ("127.0.0.1", "::1": no name lookup, no
 *    brackets, no scope). timeout_ns must be > 0. Its submission fails only
 *    with -EBUSY; once it returned 0 the connect completes exactly once, and
 *    every failure comes through that completion, even one known at
 *    submission (-EINVAL for an address that is not numeric, -EMFILE when
 *    no descriptor is left), so the core handles failures in one place. res
 *    is a socket handle like an ACCEPT's (connected, non-blocking,
 *    TCP_NODELAY), which the core now owns and ends with io_close(); or
 *    -errno: -ECONNREFUSED, -ETIMEDOUT (no answer once timeout_ns has
 *    passed), -ENETUNREACH, -EHOSTUNREACH, -EINVAL, -EMFILE, ... A failed
 *    connect leaves nothing open and nothing to close. Until it completes
 *    the core has no handle, so it cannot cancel it: it waits, at most about
 *    timeout_ns.
 */
#ifndef CAIRN_IO_H
#define CAIRN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct io;

enum io_op {
	IO_OP_NONE = 0,
	IO_OP_ACCEPT = 1,
	IO_OP_RECV = 2,
	IO_OP_WRITEV = 3,
	IO_OP_CLOSE = 4,
	IO_OP_TIMER = 5,
	IO_OP_CONNECT = 6,
	IO_OP_COUNT
};

#define IO_F_MORE 0x1u
#define IO_F_BUFFER 0x2u
#define IO_F_SOCK_NONEMPTY 0x4u

struct io_cqe {
	uint64_t user_data; /* as submitted, low IO_USER_DATA_BITS only */
	int32_t res;        /* bytes, a socket handle (ACCEPT, CONNECT), or -errno */
	uint16_t flags;     /* IO_F_* */
	uint16_t buf;       /* buffer id when IO_F_BUFFER */
	uint8_t op;         /* enum io_op */
};

/* Log levels, as Redis's loglevel directive. */
enum io_log_level { IO_LOG_DEBUG = 0, IO_LOG_VERBOSE, IO_LOG_NOTICE, IO_LOG_WARNING };

/* Process facts that change over time, for INFO. */
struct io_proc_stats {
	uint64_t rss_bytes;
	uint64_t cpu_user_us;
	uint64_t cpu_sys_us;
	uint64_t total_system_memory;
};

/* Submissions. */
int io_accept(struct io *io, int listener, uint64_t user_data);
int io_recv(struct io *io, int sock, uint64_t user_data);
/* Ends the socket's armed recv, if any (the rules above). */
int io_recv_stop(struct io *io, int sock);
int io_writev(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t user_data);
int io_close(struct io *io, int sock, uint64_t user_data);
int io_timer(struct io *io, uint64_t delay_ns, uint64_t user_data);
/* Opens a TCP connection to ip:port. ip is a numeric IPv4 or IPv6 address
 * (no name lookup). Completes exactly once: res is a socket handle, like an
 * ACCEPT's, that the core may recv/writev/close, or -errno: -ECONNREFUSED,
 * -ETIMEDOUT (no answer within timeout_ns), -ENETUNREACH, -EHOSTUNREACH,
 * -EINVAL (not a numeric address), -EMFILE, ... (the rules above). */
int io_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
	       uint64_t user_data);
/* Pushes queued submissions to the kernel (or the simulated network). */
void io_flush(struct io *io);

/* Completions: copies at most max into out, returns how many. Never blocks. */
int io_reap(struct io *io, struct io_cqe *out, int max);

/* Provided receive buffers. */
const char *io_buf(struct io *io, uint16_t buf);
void io_buf_recycle(struct io *io, uint16_t buf);

/* Parking. io_wait() flushes, then sleeps until a completion is ready, a wake
 * arrives or timeout_ns passes. io_wake() asks the backend of shard `target`
 * to return from io_wait(); it may be called from any shard's thread. */
void io_wait(struct io *io, uint64_t timeout_ns);
void io_wake(struct io *io, unsigned target);

/* Environment. now is wall-clock time (CLOCK_REALTIME in cairn-node). */
uint64_t io_now_ns(struct io *io);
uint64_t io_random_u64(struct io *io);
void io_log(struct io *io, enum io_log_level level, const char *msg, size_t len);
/* Blocks the calling shard for ns (DEBUG SLEEP). */
void io_block(struct io *io, uint64_t ns);
/* "ip:port" of either end of a socket into buf; returns length, or -errno. */
int io_sock_name(struct io *io, int sock, bool peer, char *buf, size_t len);
void io_proc_stats(struct io *io, struct io_proc_stats *out);
/* Gives the memory the allocator holds free back to the system (glibc's
 * malloc_trim): after a large free (a flush, evictions, a big value gone),
 * RSS follows used_memory down. Costs a walk of the allocator's free
 * lists, so the shard calls it rarely. */
void io_release_memory(struct io *io);
/* Files (CONFIG REWRITE). Both calls are synchronous: they block the
 * calling shard until done, as io_block does, so the core makes them only
 * for an operator's command. path is a C string, absolute or relative to
 * the process's working directory.
 *
 * io_file_read copies the first cap bytes (at most) of the file at path
 * into buf and returns the file's whole size, which may be more than cap:
 * the core then calls again with a bigger buffer (the file may have grown
 * meanwhile). Or -errno: -ENOENT when there is no such file, -EISDIR,
 * -EACCES, -EIO, ... */
int64_t io_file_read(struct io *io, const char *path, char *buf, size_t cap);
/* io_file_replace makes len bytes of data the contents of the file at
 * path, atomically: a reader sees the old file or the new one, never a
 * mix, and a crash leaves one of the two. The bytes go to a new temporary
 * file in path's directory ("<path>.XXXXXX"), which is synced to disk,
 * given mode 0644 (less the umask) and renamed over path; the directory is
 * then synced. Returns 0, or -errno (-EACCES, -ENOSPC, -EIO, -EROFS, ...)
 * with no temporary file left behind and path unchanged, but when only the
 * directory's sync failed (path has the new contents then, not yet known
 * to be on disk). */
int io_file_replace(struct io *io, const char *path, const char *data, size_t len);
/* Asks the process to stop cleanly, as SIGTERM does (SHUTDOWN): every shard
 * stops at its next turn and the process exits with 0. Returns at once. */
void io_shutdown(struct io *io);

#endif
