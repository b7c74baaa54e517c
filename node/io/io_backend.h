/* io_backend.h: what the real backends share (cairn-node only; the core
 * never includes this). Each backend embeds `struct io` first and fills an
 * ops table; io_node.c implements io.h by dispatching through it, and
 * implements the environment calls (clock, random, log, ...) once for
 * both. */
#ifndef CAIRN_IO_BACKEND_H
#define CAIRN_IO_BACKEND_H

#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io/io.h"

struct io_ops {
	const char *name;
	/* Called once on the thread that will drive the io, before any other
	 * call from it (io_uring binds a SINGLE_ISSUER ring there). NULL: none. */
	int (*attach)(struct io *io);
	/* Called last on that thread: releases what only it may release (it
	 * cancels io_uring's in-flight operations). NULL: none. */
	void (*detach)(struct io *io);
	int (*accept)(struct io *io, int listener, uint64_t ud);
	int (*recv)(struct io *io, int sock, uint64_t ud);
	int (*recv_stop)(struct io *io, int sock);
	int (*writev)(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t ud);
	int (*close)(struct io *io, int sock, uint64_t ud);
	int (*timer)(struct io *io, uint64_t delay_ns, uint64_t ud);
	int (*connect)(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
		       uint64_t ud);
	void (*flush)(struct io *io);
	int (*reap)(struct io *io, struct io_cqe *out, int max);
	const char *(*buf)(struct io *io, uint16_t buf);
	void (*buf_recycle)(struct io *io, uint16_t buf);
	void (*wait)(struct io *io, uint64_t timeout_ns);
	void (*wake_self)(struct io *io); /* safe from any thread */
	void (*destroy)(struct io *io);
};

/* Process-wide facts the environment calls need. Read-only once shards run. */
struct io_env {
	int log_fd;
	int pid;
	char role; /* 'M' */
};

/* Shards of one process, so that io_wake() can find its target. */
struct io_group {
	struct io **ios;
	unsigned n;
};

struct io {
	const struct io_ops *ops;
	const struct io_env *env;
	const struct io_group *group;
	uint64_t rng[4]; /* xoshiro256++ state */
};

/* Seeds an io's generator from the kernel and sets env and group. */
void io_base_init(struct io *io, const struct io_ops *ops, const struct io_env *env,
		  const struct io_group *group);
void io_destroy(struct io *io);
/* Formats a log line for fd in Redis's format (used before any io exists). */
void io_log_fd(int fd, int pid, char role, enum io_log_level level, const char *msg, size_t len);

/* The signal io_shutdown() sends the process: main() stops the node on it
 * as on SIGTERM, without logging a signal (the shard logged the request). */
#define IO_SHUTDOWN_SIGNAL SIGUSR1

/* Unsent bytes a connection's socket may hold (TCP_NOTSENT_LOWAT). Past
 * this a write comes back short and the rest waits for the socket to drain.
 * Without it a large reply filled the send queue far beyond the peer's
 * window, and the kernel then sent the rest from wherever the peer's ACKs
 * were processed: on loopback, the client's CPU. 64 KB GETs at pipeline 16
 * ran at 0.76x redis-server's throughput with the client saturated, and at
 * 1.2-1.4x with this limit (tools/bench). Redis gets the same effect by
 * writing at most 64 KB per client per event loop turn. */
#define IO_NOTSENT_LOWAT (16 * 1024)

/* Socket options for a connection, accepted or connected: TCP_NODELAY, and
 * the limit above. Failures are ignored (both only tune). */
void io_tune_accepted(int sock);

/* The address of a CONNECT, big enough for either family. */
union io_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* The first half of a CONNECT, the same for both backends: parses ip:port
 * into *sa and *len and opens the socket to connect (non-blocking,
 * close-on-exec, tuned as an accepted one). Returns the socket, or -EINVAL
 * when ip is not a numeric IPv4 or IPv6 address, or socket()'s -errno;
 * nothing is left open on failure. */
int io_connect_prepare(const char *ip, uint16_t port, union io_sockaddr *sa, socklen_t *len);

/* Backends. Each returns NULL and sets *err (negative errno) on failure. */
struct io *io_epoll_new(const struct io_env *env, const struct io_group *group, int *err);
struct io *io_uring_backend_new(const struct io_env *env, const struct io_group *group, int *err);
/* Whether this kernel lets us use io_uring with the operations we need. */
bool io_uring_backend_usable(void);
/* The io_uring recv watchdog (io_uring.c), which reap runs once a second;
 * exposed so a test can run a sweep when it chooses. restarts counts the
 * recvs it has cancelled and had re-armed. */
void io_uring_backend_sweep(struct io *io);
uint64_t io_uring_backend_restarts(const struct io *io);
/* Run the backend's attach/detach hooks on the calling thread. */
int io_attach(struct io *io);
void io_detach(struct io *io);

#endif
