/* main.c: cairn-node. Reads the configuration (file, then command-line
 * directives), opens the listeners (the client port, and the cluster bus
 * port with cluster-enabled), creates a backend per shard, has the node
 * builder (shard/node.h) make the shards, runs each shard on its thread,
 * and shuts down cleanly on SIGTERM or SIGINT.
 *
 * This file is outside the core: it may make syscalls, read clocks and start
 * threads. Everything it hands the core is an io backend per shard, its
 * listening sockets, a configuration and read-only facts (struct
 * node_info). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/limits.h"
#include "base/version.h"
#include "io/io_backend.h"
#include "server/config_file.h"
#include "shard/node.h"

struct proc;

/* What a shard thread needs. */
struct shard_slot {
	struct proc *proc;
	unsigned id;
	int cpu; /* pinned to this CPU, or -1 */
	pthread_t th;
};

/* The process: what it hands the node builder, and the node. */
struct proc {
	struct config cfg;
	struct node_info info;
	struct io_env env;
	unsigned n; /* shards */
	struct io_group group;
	struct io **ios;                /* [n] */
	struct node_shard_spec *shards; /* [n]: each shard's backend and listeners */
	struct shard_slot *slots;       /* [n] */
	struct node node;
	bool built; /* node_init succeeded */
};

static void say(struct proc *n, enum io_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct proc *n, enum io_log_level level, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	int len;

	if ((int)level < n->cfg.loglevel)
		return;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	io_log_fd(n->env.log_fd, n->env.pid, 'M', level, buf,
		  (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1);
}

static void help_line(void *arg, const char *name, const char *help)
{
	(void)arg;
	printf("  --%-28s %s\n", name, help);
}

static void usage(void)
{
	printf("Usage: cairn-node [/path/to/cairn.conf] [--directive value ...]\n"
	       "       cairn-node --help | --version\n\n"
	       "A Redis-protocol cache node. The configuration file uses redis.conf\n"
	       "syntax; every directive can also be given on the command line, where it\n"
	       "overrides the file.\n\nDirectives:\n");
	config_each_name(help_line, NULL);
	printf("\nExamples:\n  cairn-node --port 6380\n  cairn-node cairn.conf --loglevel "
	       "verbose\n");
}

static int fatal_config(const char *what, const char *why)
{
	fprintf(stderr, "\n*** FATAL CONFIG ERROR (cairn %s) ***\n%s\n>>> %s\n", CAIRN_VERSION,
		what, why);
	return 1;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return -errno;
	for (;;) {
		size_t k;
		if (n == cap) {
			char *b;
			cap = cap ? cap * 2 : 4096;
			b = realloc(buf, cap);
			if (b == NULL) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

/* Applies "--name value ..." groups from the command line. */
static int apply_args(struct config *cfg, int argc, char **argv, int start)
{
	int i = start;

	while (i < argc) {
		const char *args[64];
		size_t lens[64];
		char err[256];
		int n = 0, rc;
		if (strncmp(argv[i], "--", 2) != 0)
			return fatal_config(argv[i], "expected --directive");
		args[n] = argv[i] + 2;
		lens[n] = strlen(args[n]);
		n++;
		for (i++; i < argc && strncmp(argv[i], "--", 2) != 0 && n < 64; i++) {
			args[n] = argv[i];
			lens[n] = strlen(argv[i]);
			n++;
		}
		rc = config_apply(cfg, n, args, lens, false, err, sizeof(err));
		if (rc == -2)
			return fatal_config(args[0], "Bad directive or wrong number of arguments");
		if (rc < 0)
			return fatal_config(args[0], err);
	}
	return 0;
}

static int load_config(struct proc *n, int argc, char **argv)
{
	int start = 1;

	config_defaults(&n->cfg);
	if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
		char *text = NULL, err[512];
		size_t len = 0;
		int rc = read_file(argv[1], &text, &len);
		if (rc < 0)
			return fatal_config(argv[1], strerror(-rc));
		rc = config_file_load(&n->cfg, text, len, err, sizeof(err));
		free(text);
		if (rc < 0)
			return fatal_config(argv[1], err);
		if (realpath(argv[1], n->cfg.config_file) == NULL)
			snprintf(n->cfg.config_file, sizeof(n->cfg.config_file), "%s", argv[1]);
		start = 2;
	}
	return apply_args(&n->cfg, argc, argv, start);
}

static int listen_one(struct proc *n, const char *addr, long long port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, family;

	memset(&ss, 0, sizeof(ss));
	if (strcmp(addr, "*") == 0)
		addr = "0.0.0.0";
	else if (strcmp(addr, "::*") == 0)
		addr = "::";
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		family = AF_INET6;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s->sin6_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		family = AF_INET;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s->sin_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Several shards: one listening socket each on the same port, and the
	 * kernel spreads new connections over them. */
	if (n->n > 1)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, (int)n->cfg.tcp_backlog) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* One listener of role on port per bind address; an address written
 * "-addr" may fail. */
static int open_role(struct proc *n, struct node_shard_spec *spec, long long port,
		     enum shard_role role)
{
	char list[CONFIG_STR_MAX], *save = NULL, *tok;

	snprintf(list, sizeof(list), "%s", n->cfg.bind);
	for (tok = strtok_r(list, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		bool optional = tok[0] == '-';
		int fd;
		if (optional)
			tok++;
		if (spec->nlisteners == SHARD_LISTENERS_MAX) {
			say(n, IO_LOG_WARNING, "Too many bind addresses");
			return -1;
		}
		fd = listen_one(n, tok, port);
		if (fd < 0) {
			if (optional)
				continue;
			say(n, IO_LOG_WARNING,
			    "Warning: Could not create server TCP listening socket %s:%lld: %s",
			    tok, port, strerror(-fd));
			return -1;
		}
		spec->listeners[spec->nlisteners++] = (struct shard_listener){ fd, role };
	}
	return 0;
}

/* A shard's listeners: the client port (none with port 0), and with
 * cluster-enabled the cluster bus port, on shard 0 alone, which runs the
 * bus (shard/bus.h). */
static int open_listeners(struct proc *n, struct node_shard_spec *spec, unsigned id)
{
	if (n->cfg.port != 0 && open_role(n, spec, n->cfg.port, SHARD_ROLE_CLIENT) != 0)
		return -1;
	if (n->cfg.cluster_enabled && id == 0 &&
	    open_role(n, spec, config_cluster_port(&n->cfg), SHARD_ROLE_BUS) != 0)
		return -1;
	return 0;
}

static void node_facts(struct proc *n, const char *io_name)
{
	unsigned char rnd[20];
	struct utsname u;
	struct timespec ts;
	ssize_t k;
	int i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < 20; i++)
		snprintf(n->info.run_id + 2 * i, 3, "%02x", rnd[i]);
	if (uname(&u) == 0)
		snprintf(n->info.os, sizeof(n->info.os), "%.40s %.60s %.20s", u.sysname, u.release,
			 u.machine);
	k = readlink("/proc/self/exe", n->info.executable, sizeof(n->info.executable) - 1);
	n->info.executable[k > 0 ? k : 0] = '\0';
	snprintf(n->info.config_file, sizeof(n->info.config_file), "%s", n->cfg.config_file);
	snprintf(n->info.io_name, sizeof(n->info.io_name), "%s", io_name);
	n->info.pid = (int)getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	n->info.start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	n->info.nshards = n->n;
}

static void *shard_thread(void *arg)
{
	struct shard_slot *slot = arg;
	struct proc *n = slot->proc;
	struct shard *sh = node_shard(&n->node, slot->id);
	int rc;

	if (slot->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(slot->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	rc = io_attach(n->ios[slot->id]);
	if (rc < 0) {
		say(n, IO_LOG_WARNING, "Cannot set up the %s backend: %s", n->info.io_name,
		    strerror(-rc));
		exit(1);
	}
	node_start(&n->node, slot->id);
	while (!node_stopping(&n->node)) {
		if (!shard_step(sh))
			shard_park(sh, SHARD_PARK_NS);
	}
	io_detach(n->ios[slot->id]);
	return NULL;
}

/* --io auto uses io_uring when the kernel allows it, else epoll, and says
 * which; --io uring insists on io_uring. One backend per shard. */
static int make_ios(struct proc *n)
{
	bool uring = n->cfg.io == CONFIG_IO_URING;
	unsigned i;
	int err = 0;

	if (n->cfg.io == CONFIG_IO_AUTO) {
		uring = io_uring_backend_usable();
		if (!uring)
			say(n, IO_LOG_NOTICE, "io_uring is not available here: using epoll");
	} else if (uring && !io_uring_backend_usable()) {
		say(n, IO_LOG_WARNING, "io_uring is not available on this kernel (--io uring)");
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		n->ios[i] = uring ? io_uring_backend_new(&n->env, &n->group, &err)
				  : io_epoll_new(&n->env, &n->group, &err);
		if (n->ios[i] == NULL) {
			say(n, IO_LOG_WARNING, "Cannot create the %s backend: %s",
			    uring ? "io_uring" : "epoll", strerror(-err));
			return -1;
		}
		n->shards[i].io = n->ios[i];
	}
	return 0;
}

/* The process around the node: log file, working directory, signals. Blocks
 * SIGTERM, SIGINT and io_shutdown()'s signal in every thread; main waits
 * for them with sigwait. */
static int process_setup(struct proc *n, sigset_t *sigs)
{
	if (n->cfg.logfile[0] != '\0') {
		n->env.log_fd = open(n->cfg.logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				     0644);
		if (n->env.log_fd < 0) {
			fprintf(stderr, "Can't open the log file: %s\n", strerror(errno));
			return -1;
		}
	}
	if (n->cfg.dir[0] != '\0' && chdir(n->cfg.dir) != 0) {
		say(n, IO_LOG_WARNING, "Can't chdir to '%s': %s", n->cfg.dir, strerror(errno));
		return -1;
	}
	/* As Redis, CONFIG GET dir shows the working directory. */
	if (getcwd(n->cfg.dir, sizeof(n->cfg.dir)) == NULL)
		n->cfg.dir[0] = '\0';
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, IO_SHUTDOWN_SIGNAL);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	return 0;
}

static void write_pidfile(struct proc *n)
{
	FILE *f;

	if (n->cfg.pidfile[0] == '\0')
		return;
	f = fopen(n->cfg.pidfile, "w");
	if (f != NULL) {
		fprintf(f, "%d\n", n->env.pid);
		fclose(f);
	}
}

/* Runs the shard thread until SIGTERM or SIGINT, then stops it. */
static int run(struct proc *n, sigset_t *sigs)
{
	unsigned i, started;
	int sig = 0;

	write_pidfile(n);
	say(n, IO_LOG_NOTICE, "Server initialized (io=%s, shards=%u)", n->info.io_name, n->n);
	for (started = 0; started < n->n; started++)
		if (pthread_create(&n->slots[started].th, NULL, shard_thread, &n->slots[started]) !=
		    0)
			break;
	if (started == n->n) {
		say(n, IO_LOG_NOTICE, "Ready to accept connections tcp on port %lld", n->cfg.port);
		if (n->cfg.cluster_enabled)
			say(n, IO_LOG_NOTICE, "Cluster bus on port %lld",
			    config_cluster_port(&n->cfg));
		while (sigwait(sigs, &sig) != 0 ||
		       (sig != SIGTERM && sig != SIGINT && sig != IO_SHUTDOWN_SIGNAL))
			;
		if (sig != IO_SHUTDOWN_SIGNAL)
			say(n, IO_LOG_WARNING, "Received %s scheduling shutdown...",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	} else {
		say(n, IO_LOG_WARNING, "Cannot start the shard threads");
	}
	/* node_stop() only raises the flag; each parked shard is woken here. */
	node_stop(&n->node);
	for (i = 0; i < started; i++)
		n->ios[i]->ops->wake_self(n->ios[i]);
	for (i = 0; i < started; i++)
		pthread_join(n->slots[i].th, NULL);
	if (n->cfg.pidfile[0] != '\0')
		unlink(n->cfg.pidfile);
	if (started < n->n)
		return 1;
	say(n, IO_LOG_WARNING, "cairn is now ready to exit, bye bye...");
	return 0;
}

/* Redis refuses a client port whose bus port (port + 10000) would not be
 * a port; so does cairn, with Redis's words. */
static int check_cluster_port(struct proc *n)
{
	if (!n->cfg.cluster_enabled || config_cluster_port(&n->cfg) <= 65535)
		return 0;
	say(n, IO_LOG_WARNING,
	    "Redis port number too high. Cluster communication port is 10,000 port numbers "
	    "higher than your Redis port. Your Redis port number must be 55535 or less.");
	return -1;
}

/* How many shards, and the CPU of each: --shards, or one per CPU this
 * process may run on; shard i is pinned to the i-th such CPU when there are
 * enough of them (so taskset is respected). Opens every shard's listeners. */
static int plan_shards(struct proc *n)
{
	cpu_set_t allowed;
	int cpus[CPU_SETSIZE], ncpu = 0, c;
	unsigned i;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[ncpu++] = c;
	n->n = n->cfg.shards > 0 ? (unsigned)n->cfg.shards : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (n->n > XSHARD_MAX)
		n->n = XSHARD_MAX;
	n->ios = calloc(n->n, sizeof(*n->ios));
	n->shards = calloc(n->n, sizeof(*n->shards));
	n->slots = calloc(n->n, sizeof(*n->slots));
	if (n->ios == NULL || n->shards == NULL || n->slots == NULL)
		return -1;
	for (i = 0; i < n->n; i++) {
		n->slots[i].proc = n;
		n->slots[i].id = i;
		n->slots[i].cpu = n->n <= (unsigned)ncpu ? cpus[i] : -1;
		if (open_listeners(n, &n->shards[i], i) != 0)
			return -1;
	}
	n->group.ios = n->ios;
	n->group.n = n->n;
	return 0;
}

/* Builds the node from the backends and listeners (shard/node.h). */
static int build_node(struct proc *n)
{
	struct node_spec spec = {
		.cfg = &n->cfg,
		.info = &n->info,
		.nshards = n->n,
		.ring_size = XSHARD_RING_DEFAULT,
		.shards = n->shards,
	};
	int rc = node_init(&n->node, &spec);

	if (rc != 0) {
		say(n, IO_LOG_WARNING, "Cannot build the node: %s", strerror(-rc));
		return -1;
	}
	n->built = true;
	return 0;
}

static void teardown(struct proc *n)
{
	unsigned i, k;

	if (n->built)
		node_free(&n->node);
	n->built = false;
	for (i = 0; i < n->n; i++) {
		if (n->ios != NULL && n->ios[i] != NULL)
			io_destroy(n->ios[i]);
		for (k = 0; n->shards != NULL && k < n->shards[i].nlisteners; k++)
			close(n->shards[i].listeners[k].sock);
	}
	free(n->ios);
	free(n->shards);
	free(n->slots);
}

int main(int argc, char **argv)
{
	static struct proc proc; /* large; lives for the whole process */
	struct proc *n = &proc;
	sigset_t sigs;
	int rc = 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage();
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
		printf("cairn-node v=%s redis_version=%s\n", CAIRN_VERSION, CAIRN_REDIS_VERSION);
		return 0;
	}
	n->env.log_fd = 2;
	n->env.pid = (int)getpid();
	n->env.role = 'M';
	if (load_config(n, argc, argv) != 0 || process_setup(n, &sigs) != 0)
		return 1;
	say(n, IO_LOG_NOTICE, "cairn %s (redis_version %s) starting, pid=%d", CAIRN_VERSION,
	    CAIRN_REDIS_VERSION, n->env.pid);
	if (check_cluster_port(n) == 0 && plan_shards(n) == 0 && make_ios(n) == 0) {
		node_facts(n, n->ios[0]->ops->name);
		if (build_node(n) == 0)
			rc = run(n, &sigs);
	}
	teardown(n);
	return rc;
}
