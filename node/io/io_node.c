/* io_node.c: io.h for cairn-node. Submissions and completions go to the
 * backend chosen at start-up (io_uring or epoll) through its ops table; the
 * environment calls are the same for both and live here. */
#include "base/assert.h"
#include "base/limits.h"
#include "base/xoshiro.h"
#include "io/io_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int io_accept(struct io *io, int listener, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	return io->ops->accept(io, listener, ud);
}

int io_recv(struct io *io, int sock, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	return io->ops->recv(io, sock, ud);
}

int io_recv_stop(struct io *io, int sock)
{
	return io->ops->recv_stop(io, sock);
}

int io_writev(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	ASSERT(iovcnt > 0);
	return io->ops->writev(io, sock, iov, iovcnt, ud);
}

int io_close(struct io *io, int sock, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	return io->ops->close(io, sock, ud);
}

int io_timer(struct io *io, uint64_t delay_ns, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	return io->ops->timer(io, delay_ns, ud);
}

int io_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns, uint64_t ud)
{
	ASSERT(ud >> IO_USER_DATA_BITS == 0);
	ASSERT(ip != NULL);
	ASSERT(timeout_ns > 0);
	return io->ops->connect(io, ip, port, timeout_ns, ud);
}

void io_flush(struct io *io)
{
	io->ops->flush(io);
}

int io_reap(struct io *io, struct io_cqe *out, int max)
{
	return io->ops->reap(io, out, max);
}

const char *io_buf(struct io *io, uint16_t buf)
{
	return io->ops->buf(io, buf);
}

void io_buf_recycle(struct io *io, uint16_t buf)
{
	io->ops->buf_recycle(io, buf);
}

void io_wait(struct io *io, uint64_t timeout_ns)
{
	io->ops->wait(io, timeout_ns);
}

void io_wake(struct io *io, unsigned target)
{
	struct io *t;

	ASSERT(io->group != NULL);
	ASSERT(target < io->group->n);
	t = io->group->ios[target];
	t->ops->wake_self(t);
}

int io_attach(struct io *io)
{
	return io->ops->attach != NULL ? io->ops->attach(io) : 0;
}

void io_detach(struct io *io)
{
	if (io->ops->detach != NULL)
		io->ops->detach(io);
}

void io_destroy(struct io *io)
{
	io->ops->destroy(io);
}

uint64_t io_now_ns(struct io *io)
{
	struct timespec ts;

	(void)io;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Under a sanitizer, malloc is the sanitizer's: glibc's arenas hold
 * nothing of ours, and are never set up. malloc_trim() would set them up
 * lazily, racily when two shards call it at once (glibc then aborted at
 * thread exit: "a->attached_threads > 0", in ASan runs of 4 shards). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define IO_MALLOC_IS_GLIBC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define IO_MALLOC_IS_GLIBC 0
#endif
#endif
#ifndef IO_MALLOC_IS_GLIBC
#define IO_MALLOC_IS_GLIBC 1
#endif

void io_release_memory(struct io *io)
{
	(void)io;
	if (IO_MALLOC_IS_GLIBC)
		malloc_trim(0);
}

int64_t io_file_read(struct io *io, const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	(void)io;
	if (fd < 0)
		return -errno;
	/* Read to the end (the file may be changing); a directory fails
	 * here with EISDIR. */
	for (;;) {
		char spill[4096];
		ssize_t n = off < cap ? read(fd, buf + off, cap - off)
				      : read(fd, spill, sizeof(spill));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return (int64_t)off;
}

/* The process's umask, as /proc/self/status shows it (umask() itself
 * would change it, for every thread, while it reads it); 022 if unknown. */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned mask = 022;

	if (f == NULL)
		return (mode_t)mask;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	fclose(f);
	return (mode_t)mask;
}

/* Syncs the directory that holds path, so that a rename in it lasts. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int io_file_replace(struct io *io, const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	int fd, rc = 0;

	(void)io;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < len && rc == 0) {
		ssize_t n = write(fd, data + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n == 0)
			rc = -EIO;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc == 0 && fchmod(fd, 0644 & ~current_umask()) != 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	close(fd);
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return sync_dir(path);
}

/* main() waits for this signal beside SIGTERM and SIGINT (node/main.c). */
void io_shutdown(struct io *io)
{
	(void)io;
	kill(getpid(), IO_SHUTDOWN_SIGNAL);
}

uint64_t io_random_u64(struct io *io)
{
	return xoshiro256pp_next(io->rng);
}

void io_base_init(struct io *io, const struct io_ops *ops, const struct io_env *env,
		  const struct io_group *group)
{
	io->ops = ops;
	io->env = env;
	io->group = group;
	if (getrandom(io->rng, sizeof(io->rng), 0) != (ssize_t)sizeof(io->rng)) {
		/* No entropy source: fall back to time and address bits. */
		io->rng[0] = io_now_ns(io);
		io->rng[1] = (uint64_t)(uintptr_t)io;
		io->rng[2] = (uint64_t)getpid();
		io->rng[3] = 0x9e3779b97f4a7c15ull;
	}
}

void io_log_fd(int fd, int pid, char role, enum io_log_level level, const char *msg, size_t len)
{
	static const char marks[] = ".-*#";
	char line[1400];
	struct timeval tv;
	struct tm tm;
	size_t off;
	int n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%d:%c ", pid, role);
	off = (size_t)n;
	off += strftime(line + off, sizeof(line) - off, "%d %b %Y %H:%M:%S.", &tm);
	n = snprintf(line + off, sizeof(line) - off, "%03d %c %.*s\n", (int)(tv.tv_usec / 1000),
		     marks[level], (int)(len < 1024 ? len : 1024), msg);
	off += (size_t)n;
	if (off > sizeof(line))
		off = sizeof(line);
	/* One write per line, so lines of several shards never interleave. */
	if (write(fd, line, off) < 0)
		return;
}

void io_tune_accepted(int sock)
{
	int one = 1, lowat = IO_NOTSENT_LOWAT;

	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

int io_connect_prepare(const char *ip, uint16_t port, union io_sockaddr *sa, socklen_t *len)
{
	int fd;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, ip, &sa->v4.sin_addr) == 1) {
		sa->v4.sin_family = AF_INET;
		sa->v4.sin_port = htons(port);
		*len = sizeof(sa->v4);
	} else if (inet_pton(AF_INET6, ip, &sa->v6.sin6_addr) == 1) {
		sa->v6.sin6_family = AF_INET6;
		sa->v6.sin6_port = htons(port);
		*len = sizeof(sa->v6);
	} else {
		return -EINVAL;
	}
	fd = socket(sa->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	io_tune_accepted(fd);
	return fd;
}

void io_log(struct io *io, enum io_log_level level, const char *msg, size_t len)
{
	io_log_fd(io->env->log_fd, io->env->pid, io->env->role, level, msg, len);
}

void io_block(struct io *io, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };
	(void)io;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int io_sock_name(struct io *io, int sock, bool peer, char *buf, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char ip[INET6_ADDRSTRLEN];
	int port, n;

	(void)io;
	if ((peer ? getpeername(sock, (struct sockaddr *)&sa, &sl)
		  : getsockname(sock, (struct sockaddr *)&sa, &sl)) != 0)
		return -errno;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
		n = snprintf(buf, len, "%s:%d", ip, port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
		n = snprintf(buf, len, "[%s]:%d", ip, port);
	} else {
		return -EAFNOSUPPORT;
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

void io_proc_stats(struct io *io, struct io_proc_stats *out)
{
	struct rusage ru;
	long pages = 0, page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");

	(void)io;
	memset(out, 0, sizeof(*out));
	if (f != NULL) {
		long size;
		if (fscanf(f, "%ld %ld", &size, &pages) != 2)
			pages = 0;
		fclose(f);
	}
	out->rss_bytes = (uint64_t)pages * (uint64_t)page;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		out->cpu_user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u +
				   (uint64_t)ru.ru_utime.tv_usec;
		out->cpu_sys_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u +
				  (uint64_t)ru.ru_stime.tv_usec;
	}
	out->total_system_memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)page;
}
