/* fuzz_io.c: the deterministic in-process io backend. See fuzz_io.h.
 *
 * Completions are kept in one FIFO, so they come back in submission order;
 * a CLOSE is queued after whatever the socket still had in flight, so it
 * completes last, as the contract says. The contract's rules are checked
 * with FUZZ_CHECK: breaking one is a bug of the core, reported like any
 * other failure. */
#include "fuzz_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "fuzz_util.h"

/* Completions waiting for a reap, provided buffers, and timers armed. */
#define FIO_CQ_MAX 1024
#define FIO_BUFS 8
#define FIO_TIMERS 8
/* The file system: one file of at most FIO_FILE_MAX bytes (a larger
 * write fails with -ENOSPC), at a path of less than FIO_FILE_PATH_MAX. */
#define FIO_FILE_MAX 65536
#define FIO_FILE_PATH_MAX 512
/* Byte written over a recycled buffer, so that a read after recycling
 * sees garbage rather than the old request. */
#define FIO_POISON 0xdd

enum fio_state { FIO_FREE = 0, FIO_OPEN, FIO_CLOSING, FIO_CLOSED };

struct fio_sock {
	uint8_t state;
	bool recv_armed;
	uint64_t recv_ud;
	bool writing;
	const struct iovec *iov; /* the WRITEV in flight: read when it completes */
	int iovcnt;
	char *out;
	size_t out_len, out_cap, taken;
};

struct fio_timer {
	bool armed;
	uint64_t at, ud;
};

struct io {
	uint64_t now_ns, rng;
	struct io_cqe cq[FIO_CQ_MAX];
	int cq_sock[FIO_CQ_MAX]; /* WRITEV and CLOSE: whose */
	unsigned cq_head, cq_n;
	struct fio_sock socks[FUZZ_IO_SOCKS];
	int nsocks;
	bool accept_armed;
	uint64_t accept_ud;
	struct fio_timer timers[FIO_TIMERS];
	char bufs[FIO_BUFS][IO_BUF_SIZE];
	bool buf_out[FIO_BUFS]; /* handed to the core, not recycled yet */
	size_t write_limit;
	unsigned refuse;     /* submissions to refuse with -EBUSY */
	int32_t connect_res; /* how CONNECTs end: -errno, or 0 for a new socket */
	/* The one file (io_file_read, io_file_replace): its path and bytes. */
	char file_path[FIO_FILE_PATH_MAX];
	char file[FIO_FILE_MAX];
	size_t file_len;
	bool file_exists;
};

struct io *fuzz_io_new(uint64_t seed, uint64_t now_ns)
{
	struct io *io = calloc(1, sizeof(*io));

	ASSERT(io != NULL);
	io->rng = seed;
	io->now_ns = now_ns;
	io->connect_res = -ECONNREFUSED;
	return io;
}

void fuzz_io_reset(struct io *io, uint64_t seed, uint64_t now_ns)
{
	int i;

	/* The buffers' bytes need no clearing; the sockets keep the room of
	 * their output buffers. */
	for (i = 0; i < FUZZ_IO_SOCKS; i++) {
		char *out = io->socks[i].out;
		size_t cap = io->socks[i].out_cap;
		memset(&io->socks[i], 0, sizeof(io->socks[i]));
		io->socks[i].out = out;
		io->socks[i].out_cap = cap;
	}
	io->nsocks = 0;
	io->cq_head = io->cq_n = 0;
	io->accept_armed = false;
	memset(io->timers, 0, sizeof(io->timers));
	memset(io->buf_out, 0, sizeof(io->buf_out));
	io->write_limit = 0;
	io->refuse = 0;
	io->connect_res = -ECONNREFUSED;
	io->file_exists = false;
	io->file_len = 0;
	io->rng = seed;
	io->now_ns = now_ns;
}

void fuzz_io_free(struct io *io)
{
	int i;

	for (i = 0; i < FUZZ_IO_SOCKS; i++)
		free(io->socks[i].out);
	free(io);
}

static void fio_push(struct io *io, uint8_t op, uint64_t ud, int32_t res, uint16_t flags,
		     uint16_t buf, int sock)
{
	unsigned k;

	FUZZ_CHECK(io->cq_n < FIO_CQ_MAX, "more than %d completions outstanding", FIO_CQ_MAX);
	FUZZ_CHECK(ud >> IO_USER_DATA_BITS == 0, "user_data %#llx uses reserved bits",
		   (unsigned long long)ud);
	k = (io->cq_head + io->cq_n++) % FIO_CQ_MAX;
	io->cq[k].op = op;
	io->cq[k].user_data = ud;
	io->cq[k].res = res;
	io->cq[k].flags = flags;
	io->cq[k].buf = buf;
	io->cq_sock[k] = sock;
}

static struct fio_sock *fio_sock(struct io *io, int sock, const char *what)
{
	FUZZ_CHECK(sock >= 0 && sock < io->nsocks, "%s on unknown socket %d", what, sock);
	FUZZ_CHECK(io->socks[sock].state == FIO_OPEN, "%s on socket %d after its close (state %d)",
		   what, sock, io->socks[sock].state);
	return &io->socks[sock];
}

/* A new open socket, for an ACCEPT or a CONNECT; the caller checked that a
 * handle is left. */
static int fio_open_sock(struct io *io)
{
	int sock = io->nsocks++;

	ASSERT(sock < FUZZ_IO_SOCKS);
	io->socks[sock].state = FIO_OPEN;
	return sock;
}

/* The next submission is refused when the harness asked for it. */
static bool fio_refused(struct io *io)
{
	if (io->refuse == 0)
		return false;
	io->refuse--;
	return true;
}

void fuzz_io_refuse(struct io *io, unsigned n)
{
	io->refuse = n;
}

int io_accept(struct io *io, int listener, uint64_t user_data)
{
	FUZZ_CHECK(listener == FUZZ_IO_LISTENER, "accept on %d, not the listener", listener);
	FUZZ_CHECK(!io->accept_armed, "accept armed twice");
	io->accept_armed = true;
	io->accept_ud = user_data;
	return 0;
}

int io_recv(struct io *io, int sock, uint64_t user_data)
{
	struct fio_sock *s = fio_sock(io, sock, "recv");

	if (fio_refused(io))
		return -EBUSY;
	FUZZ_CHECK(!s->recv_armed, "recv armed twice on socket %d", sock);
	s->recv_armed = true;
	s->recv_ud = user_data;
	return 0;
}

static bool recv_end(struct io *io, int sock, int32_t res);

int io_recv_stop(struct io *io, int sock)
{
	fio_sock(io, sock, "recv_stop");
	if (fio_refused(io))
		return -EBUSY;
	recv_end(io, sock, -ECANCELED);
	return 0;
}

int io_writev(struct io *io, int sock, const struct iovec *iov, int iovcnt, uint64_t user_data)
{
	struct fio_sock *s = fio_sock(io, sock, "writev");

	FUZZ_CHECK(iovcnt > 0 && iovcnt <= OBUF_IOV_MAX, "writev of %d pieces", iovcnt);
	if (fio_refused(io))
		return -EBUSY;
	FUZZ_CHECK(!s->writing, "two writevs in flight on socket %d", sock);
	s->writing = true;
	s->iov = iov;
	s->iovcnt = iovcnt;
	fio_push(io, IO_OP_WRITEV, user_data, 0, 0, 0, sock);
	return 0;
}

int io_close(struct io *io, int sock, uint64_t user_data)
{
	struct fio_sock *s = fio_sock(io, sock, "close");

	if (fio_refused(io))
		return -EBUSY;
	s->state = FIO_CLOSING;
	if (s->recv_armed) {
		/* The armed recv is cancelled; its completion comes first. */
		fio_push(io, IO_OP_RECV, s->recv_ud, -ECANCELED, 0, 0, sock);
		s->recv_armed = false;
	}
	fio_push(io, IO_OP_CLOSE, user_data, 0, 0, 0, sock);
	return 0;
}

int io_timer(struct io *io, uint64_t delay_ns, uint64_t user_data)
{
	int i;

	for (i = 0; i < FIO_TIMERS; i++) {
		if (!io->timers[i].armed) {
			io->timers[i].armed = true;
			io->timers[i].at = io->now_ns + delay_ns;
			io->timers[i].ud = user_data;
			return 0;
		}
	}
	FUZZ_CHECK(false, "more than %d timers armed at once", FIO_TIMERS);
	return -EBUSY;
}

/* No peer listens in the fuzz world unless the harness said otherwise
 * (fuzz_io_connect_result). As io.h asks, even a bad address completes
 * rather than failing the submission. */
int io_connect(struct io *io, const char *ip, uint16_t port, uint64_t timeout_ns,
	       uint64_t user_data)
{
	unsigned char addr[16];
	int32_t res = io->connect_res;

	(void)port;
	FUZZ_CHECK(ip != NULL && timeout_ns > 0, "connect with no address or no timeout");
	if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
		res = -EINVAL;
	else if (res == 0 && io->nsocks == FUZZ_IO_SOCKS)
		res = -EMFILE;
	else if (res == 0)
		res = fio_open_sock(io);
	fio_push(io, IO_OP_CONNECT, user_data, res, 0, 0, -1);
	return 0;
}

void io_flush(struct io *io)
{
	(void)io;
}

/* A WRITEV completes now: the bytes are read from the iovec at this moment,
 * which the contract says must still hold them. */
static int32_t fio_complete_write(struct io *io, int sock)
{
	struct fio_sock *s = &io->socks[sock];
	size_t total = 0, k, part;
	int i;

	ASSERT(s->writing);
	for (i = 0; i < s->iovcnt; i++)
		total += s->iov[i].iov_len;
	k = io->write_limit > 0 && io->write_limit < total ? io->write_limit : total;
	if (s->out_len + k > s->out_cap) {
		s->out_cap = (s->out_len + k) * 2;
		s->out = realloc(s->out, s->out_cap);
		ASSERT(s->out != NULL);
	}
	for (i = 0, total = 0; i < s->iovcnt && total < k; i++) {
		part = s->iov[i].iov_len < k - total ? s->iov[i].iov_len : k - total;
		memcpy(s->out + s->out_len + total, s->iov[i].iov_base, part);
		total += part;
	}
	s->out_len += k;
	s->writing = false;
	s->iov = NULL;
	return (int32_t)k;
}

int io_reap(struct io *io, struct io_cqe *out, int max)
{
	int n = 0, i;

	for (i = 0; i < FIO_BUFS; i++)
		FUZZ_CHECK(!io->buf_out[i], "buffer %d not recycled before the next reap", i);
	while (n < max && io->cq_n > 0) {
		unsigned k = io->cq_head;
		out[n] = io->cq[k];
		if (out[n].op == IO_OP_WRITEV)
			out[n].res = fio_complete_write(io, io->cq_sock[k]);
		else if (out[n].op == IO_OP_CLOSE)
			io->socks[io->cq_sock[k]].state = FIO_CLOSED;
		if (out[n].flags & IO_F_BUFFER)
			io->buf_out[out[n].buf] = true;
		io->cq_head = (k + 1) % FIO_CQ_MAX;
		io->cq_n--;
		n++;
	}
	return n;
}

const char *io_buf(struct io *io, uint16_t buf)
{
	FUZZ_CHECK(buf < FIO_BUFS && io->buf_out[buf], "io_buf(%u) not handed out", buf);
	return io->bufs[buf];
}

void io_buf_recycle(struct io *io, uint16_t buf)
{
	FUZZ_CHECK(buf < FIO_BUFS && io->buf_out[buf], "recycle of buffer %u not handed out", buf);
	io->buf_out[buf] = false;
	memset(io->bufs[buf], FIO_POISON, IO_BUF_SIZE);
}

void io_wait(struct io *io, uint64_t timeout_ns)
{
	(void)io;
	(void)timeout_ns;
}

void io_wake(struct io *io, unsigned target)
{
	(void)io;
	(void)target;
}

uint64_t io_now_ns(struct io *io)
{
	return io->now_ns;
}

uint64_t io_random_u64(struct io *io)
{
	/* splitmix64: the same seed gives the same run. */
	uint64_t z = (io->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void io_log(struct io *io, enum io_log_level level, const char *msg, size_t len)
{
	(void)io;
	(void)msg;
	FUZZ_CHECK(level <= IO_LOG_WARNING && len < LOG_LINE_MAX, "log line of %zu bytes", len);
}

void io_block(struct io *io, uint64_t ns)
{
	/* DEBUG SLEEP: only the fake clock moves. A timer it makes due fires
	 * at the harness's next fuzz_io_advance(), so that two runs fed the
	 * same operations see their timers at the same points. */
	io->now_ns += ns;
}

int io_sock_name(struct io *io, int sock, bool peer, char *buf, size_t len)
{
	int n;

	FUZZ_CHECK(sock >= 0 && sock < io->nsocks, "sock_name of unknown socket %d", sock);
	n = peer ? snprintf(buf, len, "127.0.0.1:%d", 40000 + sock)
		 : snprintf(buf, len, "127.0.0.1:6379");
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int64_t io_file_read(struct io *io, const char *path, char *buf, size_t cap)
{
	FUZZ_CHECK(path != NULL, "file_read without a path");
	if (!io->file_exists || strcmp(path, io->file_path) != 0)
		return -ENOENT;
	memcpy(buf, io->file, io->file_len < cap ? io->file_len : cap);
	return (int64_t)io->file_len;
}

int io_file_replace(struct io *io, const char *path, const char *data, size_t len)
{
	size_t plen = strlen(path);

	if (plen == 0 || plen >= FIO_FILE_PATH_MAX)
		return -ENOENT;
	if (len > FIO_FILE_MAX)
		return -ENOSPC; /* the old file stays, as io.h says */
	memcpy(io->file_path, path, plen + 1);
	memcpy(io->file, data, len);
	io->file_len = len;
	io->file_exists = true;
	return 0;
}

void io_release_memory(struct io *io)
{
	(void)io;
}

void io_shutdown(struct io *io)
{
	(void)io; /* a fuzzed SHUTDOWN: the in-process node goes on */
}

void io_proc_stats(struct io *io, struct io_proc_stats *out)
{
	(void)io;
	memset(out, 0, sizeof(*out));
	out->rss_bytes = 8u << 20;
	out->total_system_memory = 1ull << 33;
}

/* ---- the harness's side ---- */

void fuzz_io_advance(struct io *io, uint64_t ns)
{
	int i;

	io->now_ns += ns;
	for (i = 0; i < FIO_TIMERS; i++) {
		struct fio_timer *t = &io->timers[i];
		if (t->armed && t->at <= io->now_ns) {
			t->armed = false;
			fio_push(io, IO_OP_TIMER, t->ud, 0, 0, 0, -1);
		}
	}
}

void fuzz_io_write_limit(struct io *io, size_t n)
{
	io->write_limit = n;
}

int fuzz_io_connect(struct io *io)
{
	int sock;

	if (!io->accept_armed || io->nsocks == FUZZ_IO_SOCKS)
		return -1;
	sock = fio_open_sock(io);
	fio_push(io, IO_OP_ACCEPT, io->accept_ud, sock, IO_F_MORE, 0, -1);
	return sock;
}

void fuzz_io_connect_result(struct io *io, int res)
{
	ASSERT(res <= 0);
	io->connect_res = res;
}

static int fio_free_buf(struct io *io)
{
	int i;

	for (i = 0; i < FIO_BUFS; i++) {
		unsigned k;
		bool queued = false;
		if (io->buf_out[i])
			continue;
		/* Not handed out, but maybe already queued in a completion. */
		for (k = 0; k < io->cq_n && !queued; k++) {
			const struct io_cqe *c = &io->cq[(io->cq_head + k) % FIO_CQ_MAX];
			queued = (c->flags & IO_F_BUFFER) && c->buf == i;
		}
		if (!queued)
			return i;
	}
	return -1;
}

bool fuzz_io_send(struct io *io, int sock, const char *p, size_t n)
{
	struct fio_sock *s;
	int b;

	ASSERT(n > 0);
	ASSERT(n <= IO_BUF_SIZE);
	if (sock < 0 || sock >= io->nsocks || io->socks[sock].state != FIO_OPEN)
		return false;
	s = &io->socks[sock];
	b = fio_free_buf(io);
	if (!s->recv_armed || b < 0)
		return false;
	memcpy(io->bufs[b], p, n);
	fio_push(io, IO_OP_RECV, s->recv_ud, (int32_t)n, IO_F_MORE | IO_F_BUFFER, (uint16_t)b,
		 sock);
	return true;
}

/* Ends the multishot recv on sock with res (no buffer). */
static bool recv_end(struct io *io, int sock, int32_t res)
{
	struct fio_sock *s;

	if (sock < 0 || sock >= io->nsocks || io->socks[sock].state != FIO_OPEN)
		return false;
	s = &io->socks[sock];
	if (!s->recv_armed)
		return false;
	fio_push(io, IO_OP_RECV, s->recv_ud, res, 0, 0, sock);
	s->recv_armed = false;
	return true;
}

/* The multishot recv ends with -ENOBUFS, as when the buffer ring runs dry. */
bool fuzz_io_nobufs(struct io *io, int sock)
{
	return recv_end(io, sock, -ENOBUFS);
}

/* The peer hangs up: the recv ends with 0, end of file. */
bool fuzz_io_hangup(struct io *io, int sock)
{
	return recv_end(io, sock, 0);
}

const char *fuzz_io_output(struct io *io, int sock, size_t *len)
{
	struct fio_sock *s = &io->socks[sock];

	ASSERT(sock >= 0);
	ASSERT(sock < io->nsocks);
	*len = s->out_len - s->taken;
	return s->out != NULL ? s->out + s->taken : "";
}

void fuzz_io_take(struct io *io, int sock, size_t n)
{
	struct fio_sock *s = &io->socks[sock];

	ASSERT(n <= s->out_len - s->taken);
	s->taken += n;
	if (s->taken == s->out_len)
		s->taken = s->out_len = 0;
}

bool fuzz_io_closed(struct io *io, int sock)
{
	ASSERT(sock >= 0);
	ASSERT(sock < io->nsocks);
	return io->socks[sock].state == FIO_CLOSED;
}

bool fuzz_io_busy(struct io *io)
{
	return io->cq_n > 0;
}

size_t fuzz_io_describe(struct io *io, char *buf, size_t len)
{
	const struct io_cqe *c = &io->cq[io->cq_head];
	int n;

	if (io->cq_n == 0)
		n = snprintf(buf, len, "no completion queued");
	else
		n = snprintf(buf, len, "%u queued, first: op %u res %d flags %#x socket %d",
			     io->cq_n, c->op, c->res, c->flags, io->cq_sock[io->cq_head]);
	return n > 0 ? (size_t)n : 0;
}
