/* cluster.c: the harness of cluster runs. See cluster.h. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "resp_reader.h"
#include "world.h"

#define SLOTS 16384
#define NO_NODE 0xff
/* Simulated time between two looks at every node's view. */
#define CLUSTER_POLL_NS (50ull * 1000 * 1000)
/* Looks between two MEETs again of a node that misses others. */
#define CLUSTER_REMEET_LOOKS 20
/* A node's canonical table: lines of at most this many bytes in all. */
#define VIEW_MAX 4096

enum cstage {
	CS_START = 0, /* nothing sent yet */
	CS_SLOTS,     /* ADDSLOTSRANGE and SET-CONFIG-EPOCH sent */
	CS_MEET,      /* MEET sent */
	CS_POLL,      /* looking at every node's view, again and again */
	CS_MOVE,      /* moving an empty slot, step by step (struct cstep) */
	CS_DONE,      /* settled after the heal: nothing more to do */
};

/* What a step of a move expects. X_KEYS: CLUSTER GETKEYSINSLOT's array
 * (keys left: a MIGRATE of them and another look follow); X_MIGRATE: +OK
 * or +NOKEY, or an error to try again after (IOERR, TRYAGAIN; BUSYKEY
 * again with REPLACE); X_NODE: +OK, or, on the source, the error of a
 * slot it still holds keys of (a key written there late: the keys are
 * looked at and moved again). */
enum cexpect {
	X_OK = 0,
	X_NIL,
	X_MOVED,
	X_ASK,
	X_KEYS,
	X_MIGRATE,
	X_NODE,
	X_ASM,        /* MIGRATESLOTS: +OK */
	X_ASM_POLL,   /* GETSLOTMIGRATIONS: the job's state (again until terminal) */
	X_ASM_CANCEL, /* CANCELSLOTMIGRATIONS: +OK, or no migration ongoing */
	X_ASM_EMPTY,  /* COUNTKEYSINSLOT on the source after the switch: 0 */
};

/* One command of a move, to one node ("" in it is an empty argument). */
struct cstep {
	unsigned node;
	char cmd[512];
	enum cexpect expect;
	unsigned target; /* X_MOVED, X_ASK: the node the redirect names */
};

/* Steps of one move at most, and moves in one run at most. */
#define MOVE_STEPS 16
#define MOVES_MAX 64
/* What take_keyed() and take_atomic() say of a step to go on after a pause
 * (a failed one tried again, or another look at a job). */
#define MOVE_PAUSE 2
/* Keys one MIGRATE moves at most (redis-cli's --cluster-pipeline), its
 * timeout (ms), and the pause before a failed one is tried again. */
#define MIGRATE_KEYS 10
#define MIGRATE_TIMEOUT_MS 1000
#define MIGRATE_RETRY_NS (200ull * 1000 * 1000)
/* The chance a move takes a slot of the cluster clients' keys (else an
 * empty one). */
#define MOVE_KEYED_P 0.75
/* The chance of a move after a look, at most (drawn per run from [0,
 * this], or 0 in a third of the runs). */
#define MOVE_P_MAX 0.25
/* Partitions: the chance one begins after a look, at most, and how long
 * one lasts (or until the heal); bytes between nodes wait a kernel step
 * at a chance up to BUS_DELAY_P_MAX. Each drawn per run, 0 in a third. */
#define PART_P_MAX 0.05
#define PART_MIN_NS (100ull * 1000 * 1000)
#define PART_MAX_NS (3000ull * 1000 * 1000)
#define BUS_DELAY_P_MAX 0.5
/* A bus frame sent earlier arrives again at a frame boundary at a chance
 * up to this (io_sim.c's bus_put), drawn per run, 0 in a third. */
#define BUS_DUP_P_MAX 0.2
/* Crashes: in runs of 3 nodes or more, two thirds of them, the last node
 * (no node model's client talks to it) may crash and start again after a
 * look, at a chance up to CRASH_P_MAX, at most CRASHES_MAX times. */
#define CRASH_P_MAX 0.05
#define CRASHES_MAX 2
/* Atomic moves (CLUSTER MIGRATESLOTS): the chance a move is one (drawn per
 * run: 0 in a third of the runs, else up to ATOMIC_P_MAX), the pause between
 * two looks at its job, and the chance a look is followed by
 * CANCELSLOTMIGRATIONS (drawn per atomic move: 0 in three quarters). */
#define ATOMIC_P_MAX 0.8
#define ASM_POLL_NS (50ull * 1000 * 1000)
#define ASM_CANCEL_P_MAX 0.3

/* The harness's connection to one node. */
struct cadmin {
	char id[48]; /* as the node says of itself ("myself") */
	int sock;
	struct resp_reader rd;
	unsigned owed; /* replies still to come */
	bool ok;       /* the last look: cluster_state:ok */
	char view[VIEW_MAX];
	char last[160]; /* the last reply, for reports */
};

struct simcluster {
	unsigned n;
	enum cstage stage;
	bool formed, settled;
	bool poll_after_heal; /* the look in flight was sent after the heal */
	uint64_t start, next_time, formed_at;
	uint64_t polls;
	struct cadmin a[SIM_NODES_MAX];
	/* The slot map: each slot's owner by the harness's doing, and, for a
	 * slot it moved, the owner before (else NO_NODE); per node, the moved
	 * slots it has seen at their new owner. */
	uint8_t owner[SLOTS], prev[SLOTS];
	uint8_t seen[SIM_NODES_MAX][SLOTS / 8];
	bool recheck; /* the map changed: check every view again */
	/* Moves of an empty slot (redis-cli's reshard with no key to
	 * migrate), with probes of the redirects on the way. */
	struct rng rng;
	double move_p, part_p, crash_p;
	uint64_t part_until;
	unsigned partitions;
	unsigned moves, tag_slot[SIM_NODES_MAX];
	struct cstep step[MOVE_STEPS];
	unsigned nsteps, cur;
	unsigned mv_slot, mv_from, mv_to; /* the move under way */
	bool mv_replace;                  /* MIGRATE with REPLACE (after BUSYKEY) */
	int mv_tag;                       /* its cluster clients' tag, or -1 */
	/* Per slot: when its last move began, and when its target was sent
	 * SETSLOT NODE (0: never). */
	uint64_t began_at[SLOTS], taken_at[SLOTS];
	unsigned migrates, migrate_fails, keys_moved;
	unsigned unsaved;  /* CLUSTER changes answered "error saving" */
	uint64_t pause_ns; /* before the next step, after MOVE_PAUSE */
	/* Atomic moves: their own draws (a run without them draws as before
	 * they came), the move under way (mv_atomic), and per slot, for a slot
	 * whose last move was atomic, its source and target, the latest send
	 * of a write the source accepted and the earliest answer of one the
	 * target accepted (cluster_may_accept), and when the harness saw the
	 * job succeed. A failed job leaves its slot unsure (alt: the target
	 * may own it, if the link broke after the grant) until every node
	 * agrees at a look. */
	struct rng arng;
	double atomic_p, cancel_p;
	bool mv_atomic;
	unsigned asm_moves, asm_ok, asm_failed, asm_cancelled, asm_cancels, asm_refused, unsure;
	bool atomic[SLOTS];
	uint8_t at_from[SLOTS], at_to[SLOTS], alt[SLOTS];
	uint64_t src_send[SLOTS], tgt_recv[SLOTS], done_at[SLOTS];
	char buf[65536];
};

unsigned cluster_first_slot(unsigned nodes, unsigned node)
{
	return (unsigned)((uint64_t)SLOTS * node / nodes);
}

void cluster_tag(unsigned nodes, unsigned node, char *buf, size_t cap)
{
	unsigned lo = cluster_first_slot(nodes, node), hi = cluster_first_slot(nodes, node + 1), j,
		 s;

	for (j = 0;; j++) {
		int len = snprintf(buf, cap, "n%u.%u", node, j);
		ASSERT(len > 0 && (size_t)len < cap);
		s = hash_slot(buf, (size_t)len);
		if (s >= lo && s < hi)
			return;
	}
}

void cluster_wkey(unsigned j, char *buf, size_t cap)
{
	int len = snprintf(buf, cap, "ck{t%u}:%u", j % CLUSTER_WTAGS, j);

	ASSERT(len > 0 && (size_t)len < cap);
}

struct simcluster *cluster_new(struct world *w)
{
	struct simcluster *c = sim_calloc(sizeof(*c));
	unsigned i;

	c->n = w->nnodes;
	for (i = 0; i < SLOTS; i++) {
		c->prev[i] = NO_NODE;
		c->alt[i] = NO_NODE;
		c->owner[i] = 0;
	}
	for (i = 0; i < c->n; i++)
		memset(c->owner + cluster_first_slot(c->n, i), (int)i,
		       cluster_first_slot(c->n, i + 1) - cluster_first_slot(c->n, i));
	for (i = 0; i < c->n; i++) {
		c->a[i].sock = -1;
		resp_reader_init(&c->a[i].rd, NULL);
	}
	rng_fork(&c->rng, &w->root, 0x30000);
	c->move_p = rng_chance(&c->rng, 1.0 / 6) ? 0 : rng_unit(&c->rng) * MOVE_P_MAX;
	c->part_p = rng_chance(&c->rng, 1.0 / 3) ? 0 : rng_unit(&c->rng) * PART_P_MAX;
	w->bus_delay_p = rng_chance(&c->rng, 1.0 / 3) ? 0 : rng_unit(&c->rng) * BUS_DELAY_P_MAX;
	w->bus_dup_p = rng_chance(&c->rng, 1.0 / 3) ? 0 : rng_unit(&c->rng) * BUS_DUP_P_MAX;
	if (rng_chance(&c->rng, 2.0 / 3) && c->n >= 3) {
		w->crash_node = (int)c->n - 1;
		c->crash_p = rng_unit(&c->rng) * CRASH_P_MAX;
	}
	for (i = 0; i < c->n; i++) {
		char tag[16];
		cluster_tag(c->n, i, tag, sizeof(tag));
		c->tag_slot[i] = hash_slot(tag, strlen(tag));
	}
	rng_fork(&c->arng, &w->root, 0x30001);
	c->atomic_p = rng_chance(&c->arng, 1.0 / 3) ? 0 : rng_unit(&c->arng) * ATOMIC_P_MAX;
	if (w->cfg.move_pct >= 0)
		c->move_p = w->cfg.move_pct / 100.0;
	if (w->cfg.atomic_pct >= 0)
		c->atomic_p = w->cfg.atomic_pct / 100.0;
	c->start = w->now;
	c->next_time = w->now;
	return c;
}

void cluster_free(struct simcluster *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		resp_reader_free(&c->a[i].rd);
	free(c);
}

bool cluster_formed(const struct simcluster *c)
{
	return c->formed;
}

bool cluster_settled(const struct simcluster *c)
{
	return c->settled;
}

uint64_t cluster_next_time(const struct simcluster *c)
{
	return c->next_time;
}

/* Sends one command (its words, space-separated, none empty) to node i. */
static void send_cmd(struct world *w, struct simcluster *c, unsigned i, const char *line)
{
	char out[1024], words[512], *save = NULL, *tok;
	size_t o = 0, n = 0;
	char body[960];
	size_t b = 0;

	snprintf(words, sizeof(words), "%s", line);
	for (tok = strtok_r(words, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "\"\"") == 0)
			tok[0] = '\0';
		b += (size_t)snprintf(body + b, sizeof(body) - b, "$%zu\r\n%s\r\n", strlen(tok),
				      tok);
		n++;
	}
	ASSERT(b < sizeof(body));
	if (w->cfg.watch[0] != '\0' && strstr(line, w->cfg.watch) != NULL)
		printf("%10llu %9.3fms harness to node %u: %s\n", (unsigned long long)w->tick,
		       (double)w->now / 1e6, i, line);
	o = (size_t)snprintf(out, sizeof(out), "*%zu\r\n%.*s", n, (int)b, body);
	ASSERT(o < sizeof(out));
	net_send(w, c->a[i].sock, out, o);
	c->a[i].owed++;
}

static void connect_all(struct world *w, struct simcluster *c)
{
	unsigned i;

	/* The socket layer wants a non-NULL peer: the harness's own record
	 * stands in for a client (io_sim.c only tests it against NULL). */
	for (i = 0; i < c->n; i++)
		c->a[i].sock = net_connect(w, (struct client *)(void *)&c->a[i], i);
}

static void send_slots(struct world *w, struct simcluster *c)
{
	char line[128];
	unsigned i;

	for (i = 0; i < c->n; i++) {
		snprintf(line, sizeof(line), "CLUSTER ADDSLOTSRANGE %u %u",
			 cluster_first_slot(c->n, i), cluster_first_slot(c->n, i + 1) - 1);
		send_cmd(w, c, i, line);
		snprintf(line, sizeof(line), "CLUSTER SET-CONFIG-EPOCH %u", i + 1);
		send_cmd(w, c, i, line);
	}
}

static void send_meet(struct world *w, struct simcluster *c)
{
	char line[128];
	unsigned i;

	snprintf(line, sizeof(line), "CLUSTER MEET 10.0.0.1 %u %u", SIM_PORT, SIM_BUS_PORT);
	for (i = 1; i < c->n; i++)
		send_cmd(w, c, i, line);
}

/* Lines (nodes) in a table. */
static unsigned view_lines(const char *v)
{
	unsigned n = 0;

	for (; (v = strchr(v, '\n')) != NULL; v++)
		n++;
	return n;
}

static void send_poll(struct world *w, struct simcluster *c)
{
	char meet[128];
	unsigned i;

	c->poll_after_heal = w->healed;
	c->polls++;
	snprintf(meet, sizeof(meet), "CLUSTER MEET 10.0.0.1 %u %u", SIM_PORT, SIM_BUS_PORT);
	for (i = 0; i < c->n; i++) {
		/* As redis-cli does while it waits for the cluster to join,
		 * every node meets node 0 again now and then: a handshake may
		 * have timed out on a lossy network, on either side (a node
		 * that knows node 0 sends no MEET of its own any more, and
		 * node 0 may have given up on it). */
		if (!c->formed && i > 0 && c->polls % CLUSTER_REMEET_LOOKS == 0)
			send_cmd(w, c, i, meet);
		send_cmd(w, c, i, "CLUSTER INFO");
		send_cmd(w, c, i, "CLUSTER NODES");
	}
}

/* ---- what the nodes say ---- */

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line of CLUSTER NODES, as node i sees it, kept as "id addr epoch
 * slots..." in out (without the importing and migrating marks, which only
 * myself's line has); myself's line gives node i's id. */
static void node_line(struct world *w, struct simcluster *c, unsigned i, char *line, char *out,
		      size_t cap)
{
	char *f[16], *save = NULL, *tok;
	unsigned nf = 0, k, o;

	for (tok = strtok_r(line, " ", &save); tok != NULL && nf < 16;
	     tok = strtok_r(NULL, " ", &save))
		f[nf++] = tok;
	if (nf < 8) {
		world_fail(w, FAIL_CORRECTNESS,
			   "cluster: node %u: a CLUSTER NODES line of %u fields", i, nf);
		out[0] = '\0';
		return;
	}
	if (strstr(f[2], "myself") != NULL)
		snprintf(c->a[i].id, sizeof(c->a[i].id), "%s", f[0]);
	o = (unsigned)snprintf(out, cap, "%s %s %s", f[0], f[1], f[6]);
	for (k = 8; k < nf && o < cap; k++)
		if (f[k][0] != '[')
			o += (unsigned)snprintf(out + o, cap - o, " %s", f[k]);
}

/* The node whose id is id (as it said of itself), or -1. */
static int id_node(const struct simcluster *c, const char *id, size_t n)
{
	unsigned k;

	for (k = 0; k < c->n; k++)
		if (strlen(c->a[k].id) == n && memcmp(c->a[k].id, id, n) == 0)
			return (int)k;
	return -1;
}

/* Node i's view gives slots lo..hi to node o: each must be o's by the
 * harness's map, or, moved, its old owner's, until node i has seen the
 * new owner own it (a view never goes back to an older epoch's owner). */
static void check_range(struct world *w, struct simcluster *c, unsigned i, unsigned o, unsigned lo,
			unsigned hi)
{
	unsigned s;

	for (s = lo; s <= hi && s < SLOTS && w->fail == FAIL_NONE; s++) {
		bool seen = (c->seen[i][s / 8] >> (s % 8)) & 1;
		if (o == c->owner[s]) {
			if (c->prev[s] != NO_NODE)
				c->seen[i][s / 8] |= (uint8_t)(1u << (s % 8));
		} else if ((o == c->prev[s] && !seen) || o == c->alt[s]) {
			continue;
		} else {
			world_fail(
				w, FAIL_CORRECTNESS,
				"cluster: node %u says node %u owns slot %u, which is node %u's%s",
				i, o, s, c->owner[s],
				o == c->prev[s] ? " (and it had seen the new owner own it: "
						  "an older epoch's claim won)"
						: "");
		}
	}
}

/* The node node 0's table gives slot to, or -1. */
static int view_owner(const struct simcluster *c, unsigned slot)
{
	const char *line, *end, *p;
	unsigned lo, hi, k;

	for (line = c->a[0].view; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		for (p = line, k = 0; p != NULL && p < end && k < 3; k++)
			p = strchr(p + 1, ' ');
		for (; p != NULL && p < end; p = strchr(p + 1, ' ')) {
			int got = sscanf(p + 1, "%u-%u", &lo, &hi);
			if (got >= 1 && slot >= lo && slot <= (got == 2 ? hi : lo))
				return id_node(c, line, (size_t)(strchr(line, ' ') - line));
		}
	}
	return -1;
}

/* The slots of one canonical line ("id addr epoch slots..."), checked. */
static void check_line(struct world *w, struct simcluster *c, unsigned i, const char *line)
{
	const char *sp = strchr(line, ' '), *p;
	unsigned lo, hi, k;
	int o = sp == NULL ? -1 : id_node(c, line, (size_t)(sp - line));

	if (o < 0)
		return; /* a node not yet known by its own word */
	for (p = line, k = 0; p != NULL && k < 3; k++)
		p = strchr(p + 1, ' ');
	for (; p != NULL; p = strchr(p + 1, ' ')) {
		int got = sscanf(p + 1, "%u-%u", &lo, &hi);
		if (got < 1)
			continue;
		check_range(w, c, i, (unsigned)o, lo, got == 2 ? hi : lo);
	}
}

/* Node i's CLUSTER NODES: its canonical table, lines sorted; checked when
 * it changed. */
static void take_nodes(struct world *w, struct simcluster *c, unsigned i, const char *p, size_t n)
{
	char *copy = sim_calloc(n + 1), *lines[64], *save = NULL, *tok;
	char canon[64][256], view[VIEW_MAX];
	unsigned nl = 0, k, o = 0;

	memcpy(copy, p, n);
	for (tok = strtok_r(copy, "\n", &save); tok != NULL && nl < 64;
	     tok = strtok_r(NULL, "\n", &save)) {
		node_line(w, c, i, tok, canon[nl], sizeof(canon[nl]));
		lines[nl] = canon[nl];
		nl++;
	}
	qsort(lines, nl, sizeof(lines[0]), line_cmp);
	for (k = 0; k < nl; k++)
		o += (unsigned)snprintf(view + o, VIEW_MAX - o, "%s\n", lines[k]);
	free(copy);
	if (strcmp(view, c->a[i].view) == 0 && !c->recheck)
		return;
	memcpy(c->a[i].view, view, sizeof(view));
	for (k = 0; k < nl; k++)
		check_line(w, c, i, lines[k]);
}

/* ---- moves ---- */

static void add_step(struct simcluster *c, unsigned node, enum cexpect x, unsigned target,
		     const char *cmd)
{
	struct cstep *st = &c->step[c->nsteps++];

	ASSERT(c->nsteps <= MOVE_STEPS);
	ASSERT(strlen(cmd) < sizeof(st->cmd));
	st->node = node;
	st->expect = x;
	st->target = target;
	memcpy(st->cmd, cmd, strlen(cmd) + 1);
}

/* Plans the move of slot from its owner to node to, as redis-cli's
 * reshard moves a slot: IMPORTING on the target, MIGRATING on the source,
 * the keys moved (CLUSTER GETKEYSINSLOT and MIGRATE, again until none is
 * left), then NODE on the target (which bumps its epoch) and, in half the
 * moves, on the source (else the source learns it by gossip). On the way,
 * the redirects are probed with key, which no one writes: the source sends
 * its reader to the target (ASK), the target sends it back (MOVED) unless
 * the command follows an ASKING, and only that command. */
static void plan_move(struct simcluster *c, unsigned slot, const char *key, unsigned to)
{
	unsigned from = c->owner[slot];
	char imp[128], mig[128], node[128], get[64], keys[64];

	snprintf(imp, sizeof(imp), "CLUSTER SETSLOT %u IMPORTING %s", slot, c->a[from].id);
	snprintf(mig, sizeof(mig), "CLUSTER SETSLOT %u MIGRATING %s", slot, c->a[to].id);
	snprintf(node, sizeof(node), "CLUSTER SETSLOT %u NODE %s", slot, c->a[to].id);
	snprintf(get, sizeof(get), "GET %s", key);
	snprintf(keys, sizeof(keys), "CLUSTER GETKEYSINSLOT %u %u", slot, MIGRATE_KEYS);
	c->nsteps = c->cur = 0;
	c->mv_slot = slot;
	c->mv_from = from;
	c->mv_to = to;
	c->mv_replace = false;
	c->mv_atomic = false;
	c->atomic[slot] = false;
	add_step(c, to, X_OK, 0, imp);
	add_step(c, from, X_OK, 0, mig);
	add_step(c, from, X_ASK, to, get);
	add_step(c, to, X_MOVED, from, get);
	add_step(c, to, X_OK, 0, "ASKING");
	add_step(c, to, X_NIL, 0, get);
	add_step(c, to, X_MOVED, from, get);
	add_step(c, from, X_KEYS, 0, keys);
	add_step(c, to, X_NODE, 0, node);
	if (rng_chance(&c->rng, 0.5))
		add_step(c, from, X_NODE, 0, node);
	c->prev[slot] = (uint8_t)from;
	c->owner[slot] = (uint8_t)to;
	for (unsigned i = 0; i < c->n; i++)
		c->seen[i][slot / 8] &= (uint8_t) ~(1u << (slot % 8));
}

/* Puts steps right after the current one (the done ones dropped first, so
 * that a move that loops stays within MOVE_STEPS). */
static void insert_steps(struct simcluster *c, const struct cstep *st, unsigned n)
{
	unsigned rest = c->nsteps - c->cur - 1;

	memmove(c->step, c->step + c->cur, (rest + 1) * sizeof(*st));
	c->cur = 0;
	c->nsteps = rest + 1;
	ASSERT(c->nsteps + n <= MOVE_STEPS);
	memmove(c->step + 1 + n, c->step + 1, rest * sizeof(*st));
	memcpy(c->step + 1, st, n * sizeof(*st));
	c->nsteps += n;
}

/* A look at the keys left in the slot on the source, and before it (if
 * keys is not NULL) a MIGRATE of them to the target. */
static void again_keys(struct simcluster *c, const struct resp_reader_value *keys)
{
	struct cstep st[2] = { { .node = c->mv_from, .expect = X_MIGRATE },
			       { .node = c->mv_from, .expect = X_KEYS } };
	int o = 0;
	size_t i;

	if (keys != NULL) {
		o = snprintf(st[0].cmd, sizeof(st[0].cmd), "MIGRATE 10.0.0.%u %u \"\" 0 %u%s KEYS",
			     c->mv_to + 1, SIM_PORT, MIGRATE_TIMEOUT_MS,
			     c->mv_replace ? " REPLACE" : "");
		for (i = 0; i < keys->n; i++)
			o += snprintf(st[0].cmd + o, sizeof(st[0].cmd) - (size_t)o, " %.*s",
				      (int)keys->elems[i].len, keys->elems[i].str);
		ASSERT((size_t)o < sizeof(st[0].cmd));
		c->migrates++;
		c->keys_moved += (unsigned)keys->n;
	}
	snprintf(st[1].cmd, sizeof(st[1].cmd), "CLUSTER GETKEYSINSLOT %u %u", c->mv_slot,
		 MIGRATE_KEYS);
	insert_steps(c, keys != NULL ? st : st + 1, keys != NULL ? 2 : 1);
}

/* ---- atomic moves ---- */

/* Plans an atomic move of slot to node to, as an operator of Valkey 9
 * does: CLUSTER MIGRATESLOTS on the source, then its GETSLOTMIGRATIONS
 * again and again until the job has ended (take_atomic), now and then a
 * CANCELSLOTMIGRATIONS on the way. The harness's map changes only when the
 * job has succeeded; until then the source owns the slot. */
static void plan_atomic(struct simcluster *c, unsigned slot, unsigned to)
{
	unsigned from = c->owner[slot];
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "CLUSTER MIGRATESLOTS SLOTSRANGE %u %u NODE %s", slot, slot,
		 c->a[to].id);
	c->nsteps = c->cur = 0;
	c->mv_slot = slot;
	c->mv_from = from;
	c->mv_to = to;
	c->mv_replace = false;
	c->mv_atomic = true;
	c->atomic[slot] = true;
	c->at_from[slot] = (uint8_t)from;
	c->at_to[slot] = (uint8_t)to;
	c->src_send[slot] = 0;
	c->tgt_recv[slot] = UINT64_MAX;
	c->done_at[slot] = 0;
	c->cancel_p = rng_chance(&c->arng, 0.75) ? 0 : rng_unit(&c->arng) * ASM_CANCEL_P_MAX;
	c->asm_moves++;
	add_step(c, from, X_ASM, 0, cmd);
	add_step(c, from, X_ASM_POLL, 0, "CLUSTER GETSLOTMIGRATIONS");
}

/* The value of field name in a job of GETSLOTMIGRATIONS (a map, or in
 * RESP2 a flat array of names and values), or NULL. */
static const struct resp_reader_value *job_field(const struct resp_reader_value *job,
						 const char *name)
{
	size_t k;

	if (job->type != RESP_READER_MAP && job->type != RESP_READER_ARRAY)
		return NULL;
	for (k = 0; k + 1 < job->n; k += 2)
		if (job->elems[k].type == RESP_READER_BULK && strcmp(job->elems[k].str, name) == 0)
			return &job->elems[k + 1];
	return NULL;
}

static bool field_is(const struct resp_reader_value *job, const char *name, const char *want)
{
	const struct resp_reader_value *f = job_field(job, name);

	return f != NULL && f->type == RESP_READER_BULK && strcmp(f->str, want) == 0;
}

/* The move's job in a GETSLOTMIGRATIONS of its source: the newest export
 * (they come newest first) of its slot to its target, or NULL. */
static const struct resp_reader_value *move_job(const struct simcluster *c,
						const struct resp_reader_value *v)
{
	char range[32];
	size_t k;

	if (v->type != RESP_READER_ARRAY)
		return NULL;
	snprintf(range, sizeof(range), "%u-%u", c->mv_slot, c->mv_slot);
	for (k = 0; k < v->n; k++)
		if (field_is(&v->elems[k], "operation", "EXPORT"))
			return field_is(&v->elems[k], "slot_ranges", range) &&
					       field_is(&v->elems[k], "target_node",
							c->a[c->mv_to].id)
				       ? &v->elems[k]
				       : NULL;
	return NULL;
}

/* The move's job has ended in state: on success the target owns the slot
 * (it claimed it before the source said so); else the source keeps it,
 * unless the link broke after the grant (then the target may own it: the
 * slot stays unsure until every node agrees, looked()). */
static void atomic_end(struct world *w, struct simcluster *c, const char *state)
{
	unsigned slot = c->mv_slot, i;

	if (strcmp(state, "success") == 0) {
		c->asm_ok++;
		c->prev[slot] = (uint8_t)c->mv_from;
		c->owner[slot] = (uint8_t)c->mv_to;
		c->done_at[slot] = w->now;
		for (i = 0; i < c->n; i++)
			c->seen[i][slot / 8] &= (uint8_t) ~(1u << (slot % 8));
		return;
	}
	if (strcmp(state, "cancelled") == 0)
		c->asm_cancelled++;
	else
		c->asm_failed++;
	c->alt[slot] = (uint8_t)c->mv_to;
	c->unsure++;
}

/* The reply to a GETSLOTMIGRATIONS: 1 (the job has ended), 0 (no such
 * job: a failure) or MOVE_PAUSE (another look after a pause, maybe after a
 * CANCELSLOTMIGRATIONS). */
static int take_atomic_poll(struct world *w, struct simcluster *c,
			    const struct resp_reader_value *v)
{
	const struct resp_reader_value *job = move_job(c, v), *state;
	struct cstep st[2] = { { .node = c->mv_from, .expect = X_ASM_CANCEL },
			       { .node = c->mv_from, .expect = X_ASM_POLL } };
	bool cancel;

	state = job == NULL ? NULL : job_field(job, "state");
	if (state == NULL || state->type != RESP_READER_BULK)
		return 0;
	if (w->cfg.watch[0] != '\0' && strcmp(w->cfg.watch, "MIGRATESLOTS") == 0) {
		const struct resp_reader_value *m = job_field(job, "message");
		printf("%9.3fms slot %u job: %s %s\n", (double)w->now / 1e6, c->mv_slot, state->str,
		       m != NULL && m->type == RESP_READER_BULK ? m->str : "?");
	}
	if (strcmp(state->str, "success") == 0) {
		/* No key of the slot is left on the source (a key on both
		 * sides): it deleted them at the switch, and takes no write of
		 * the slot since. */
		st[0].expect = X_ASM_EMPTY;
		snprintf(st[0].cmd, sizeof(st[0].cmd), "CLUSTER COUNTKEYSINSLOT %u", c->mv_slot);
		insert_steps(c, st, 1);
	}
	if (strcmp(state->str, "success") == 0 || strcmp(state->str, "failed") == 0 ||
	    strcmp(state->str, "cancelled") == 0) {
		atomic_end(w, c, state->str);
		return 1;
	}
	cancel = rng_chance(&c->arng, c->cancel_p);
	snprintf(st[0].cmd, sizeof(st[0].cmd), "CLUSTER CANCELSLOTMIGRATIONS");
	snprintf(st[1].cmd, sizeof(st[1].cmd), "CLUSTER GETSLOTMIGRATIONS");
	insert_steps(c, cancel ? st : st + 1, cancel ? 2 : 1);
	c->pause_ns = ASM_POLL_NS;
	return MOVE_PAUSE;
}

/* The reply to an X_ASM, X_ASM_POLL or X_ASM_CANCEL step (okay: +OK). */
static int take_atomic(struct world *w, struct simcluster *c, const struct resp_reader_value *v,
		       bool okay)
{
	const struct cstep *st = &c->step[c->cur];

	if (st->expect == X_ASM && !okay && v->type == RESP_READER_ERROR &&
	    strncmp(v->str, "ERR Slots are being manually ", 29) == 0) {
		/* A legacy move's MIGRATING or IMPORTING left on the node (its
		 * source learned the new owner by gossip): Valkey refuses, and
		 * the slot stays. The move ends here. */
		c->asm_refused++;
		c->nsteps = c->cur + 1;
		return 1;
	}
	if (st->expect == X_ASM)
		return okay;
	if (st->expect == X_ASM_POLL)
		return take_atomic_poll(w, c, v);
	if (okay)
		c->asm_cancels++;
	return okay ||
	       (v->type == RESP_READER_ERROR && strcmp(v->str, "ERR No migrations ongoing") == 0);
}

/* At a look where every node agreed: the unsure slots are whose the
 * table says (node 0's, the same as every node's). */
static void resolve_unsure(struct simcluster *c)
{
	unsigned s, i;

	for (s = 0; s < SLOTS && c->unsure > 0; s++) {
		int o;
		if (c->alt[s] == NO_NODE)
			continue;
		o = view_owner(c, s);
		if (o == c->alt[s]) {
			c->prev[s] = c->owner[s];
			c->owner[s] = c->alt[s];
			for (i = 0; i < c->n; i++)
				c->seen[i][s / 8] |= (uint8_t)(1u << (s % 8));
		}
		c->alt[s] = NO_NODE;
		c->unsure--;
	}
}

/* ---- partitions ---- */

/* A partition ends when its time is up, or at the heal; one may begin
 * after a look, once formed and before the heal: the nodes split in two groups at random,
 * the bus connections between them cut, connects across refused. */
static void partition_tick(struct world *w, struct simcluster *c)
{
	unsigned i, ones = 0;

	if (w->partitioned && (w->healed || w->now >= c->part_until)) {
		w->partitioned = false;
		world_event(w, EV_FAULT, F_COUNT, 0);
	}
	if (w->partitioned || w->healed || !c->formed || c->n < 2 ||
	    !rng_chance(&c->rng, c->part_p))
		return;
	for (i = 0; i < c->n; i++) {
		w->part_group[i] = (uint8_t)rng_below(&c->rng, 2);
		ones += w->part_group[i];
	}
	if (ones == 0 || ones == c->n)
		w->part_group[rng_below(&c->rng, c->n)] ^= 1;
	c->part_until = w->now + rng_range(&c->rng, PART_MIN_NS, PART_MAX_NS);
	w->partitioned = true;
	c->partitions++;
	world_event(w, EV_FAULT, F_COUNT, 1);
}

/* Sends the current step of the move. The target's SETSLOT NODE ends the
 * old owner's right to accept writes without ASKING (the new owner's
 * epoch is the higher): its time is kept for cluster_may_accept(). */
static void send_step(struct world *w, struct simcluster *c)
{
	const struct cstep *st = &c->step[c->cur];

	if (st->expect == X_NODE && st->node == c->mv_to &&
	    c->taken_at[c->mv_slot] < c->began_at[c->mv_slot])
		c->taken_at[c->mv_slot] = w->now;
	send_cmd(w, c, st->node, st->cmd);
}

/* After a look where every node agreed: maybe a move begins. */
static bool start_move(struct world *w, struct simcluster *c)
{
	char key[32];
	unsigned slot, i, to;

	if (w->healed || c->n < 2 || c->moves >= MOVES_MAX || !rng_chance(&c->rng, c->move_p))
		return false;
	/* Keyed moves not under maxmemory: a target that is full refuses
	 * RESTORE (OOM) for as long as it stays full. */
	c->mv_tag = -1;
	if (rng_chance(&c->rng, MOVE_KEYED_P) && w->cfg.maxmemory_kb == 0) {
		c->mv_tag = (int)rng_below(&c->rng, CLUSTER_WTAGS);
		snprintf(key, sizeof(key), "ck{t%d}:probe", c->mv_tag);
	} else {
		snprintf(key, sizeof(key), "mv:%llu", (unsigned long long)rng_next(&c->rng));
	}
	slot = hash_slot(key, strlen(key));
	to = (c->owner[slot] + 1 + (unsigned)rng_below(&c->rng, c->n - 1)) % c->n;
	for (i = 0; i < c->n; i++)
		if (slot == c->tag_slot[i] || c->a[i].id[0] == '\0')
			return false;
	/* A slot moves again once every node has seen it at its new owner
	 * (so a view may name its old owner, or its new one, never older). */
	for (i = 0; i < c->n && c->prev[slot] != NO_NODE; i++)
		if (!((c->seen[i][slot / 8] >> (slot % 8)) & 1))
			return false;
	if (c->alt[slot] != NO_NODE)
		return false; /* whose it is, after a failed atomic move, is unsure */
	if (c->atomic_p > 0 && rng_chance(&c->arng, c->atomic_p) &&
	    (c->mv_tag < 0 || w->cfg.atomic_keys))
		plan_atomic(c, slot, to);
	else
		plan_move(c, slot, key, to);
	c->began_at[slot] = w->now;
	c->moves++;
	c->stage = CS_MOVE;
	send_step(w, c);
	return true;
}

/* Whether v is "-<word> <slot> 10.0.0.<node+1>:<port>". */
static bool redirect_is(const struct resp_reader_value *v, const char *word, unsigned node)
{
	char want[96];

	if (v->type != RESP_READER_ERROR)
		return false;
	snprintf(want, sizeof(want), "%s ", word);
	if (strncmp(v->str, want, strlen(want)) != 0)
		return false;
	snprintf(want, sizeof(want), " 10.0.0.%u:%u", node + 1, SIM_PORT);
	return v->len >= strlen(want) && strcmp(v->str + v->len - strlen(want), want) == 0;
}

/* Whether v is a CLUSTER command's "not saved" error (its change stands,
 * in memory; the node saves again at its next settle). */
static bool unsaved(const struct resp_reader_value *v)
{
	return v->type == RESP_READER_ERROR &&
	       strncmp(v->str, "ERR error saving the cluster node config", 40) == 0;
}

/* The reply to an X_KEYS, X_MIGRATE or X_NODE step (okay: it is +OK):
 * 1 (go on), 0 (a failure) or MOVE_PAUSE (go on after a pause). Steps may
 * be added after the current one. */
static int take_keyed(struct world *w, struct simcluster *c, const struct resp_reader_value *v,
		      bool okay)
{
	const struct cstep *st = &c->step[c->cur];
	bool err = v->type == RESP_READER_ERROR;

	(void)w;
	if (st->expect == X_KEYS) {
		if (v->type != RESP_READER_ARRAY)
			return 0;
		if (v->n > 0)
			again_keys(c, v);
		return 1;
	}
	if (st->expect == X_NODE) {
		if (okay)
			return 1;
		if (!err || st->node != c->mv_from || strstr(v->str, "still hold keys") == NULL)
			return 0;
		again_keys(c, NULL);
		add_step(c, c->mv_from, X_NODE, 0, st->cmd);
		return 1;
	}
	if (okay || (v->type == RESP_READER_SIMPLE && strcmp(v->str, "NOKEY") == 0))
		return 1;
	if (err && strstr(v->str, "BUSYKEY") != NULL) {
		/* A key on both sides: a MIGRATE whose connection failed after
		 * the target restored it (tried again on a new connection, as
		 * Redis's migrateCommand does, or by the harness), or a lost
		 * write that ran late on the source. The source's copy is the
		 * one clients write (the target serves only keys the source
		 * lacks): as redis-cli's --cluster-replace, move it again,
		 * replacing. */
		c->mv_replace = true;
		return 1;
	}
	if (err && (strncmp(v->str, "IOERR", 5) == 0 || strncmp(v->str, "TRYAGAIN", 8) == 0)) {
		c->migrate_fails++;
		return MOVE_PAUSE;
	}
	return 0;
}

/* The reply to the current step of a move, from node i. */
static void take_step(struct world *w, struct simcluster *c, unsigned i,
		      const struct resp_reader_value *v)
{
	const struct cstep *st = &c->step[c->cur];
	bool okay = v->type == RESP_READER_SIMPLE && strcmp(v->str, "OK") == 0;
	int ok;

	ASSERT(st->node == i);
	if (unsaved(v) && (st->expect == X_OK || st->expect == X_NODE)) {
		/* The change stands but is not on disk yet: as an operator
		 * would, the same command again after a pause. */
		c->unsaved++;
		c->next_time = w->now + MIGRATE_RETRY_NS;
		return;
	}
	switch (st->expect) {
	case X_OK: ok = okay; break;
	case X_NIL: ok = v->type == RESP_READER_NULL_BULK; break;
	case X_MOVED: ok = redirect_is(v, "MOVED", st->target); break;
	case X_ASK: ok = redirect_is(v, "ASK", st->target); break;
	case X_ASM:
	case X_ASM_POLL:
	case X_ASM_CANCEL: ok = take_atomic(w, c, v, okay); break;
	case X_ASM_EMPTY: ok = v->type == RESP_READER_INT && v->integer == 0; break;
	default: ok = take_keyed(w, c, v, okay); break;
	}
	if (ok == MOVE_PAUSE) {
		c->cur++;
		c->next_time = w->now + (c->pause_ns ? c->pause_ns : MIGRATE_RETRY_NS);
		c->pause_ns = 0;
		return;
	}
	if (!ok) {
		static const char *const want[] = {
			"+OK",
			"a nil",
			"MOVED to node ",
			"ASK to node ",
			"an array of keys",
			"+OK, +NOKEY, BUSYKEY, IOERR or TRYAGAIN",
			"+OK",
			"+OK",
			"its job of the slot",
			"+OK or no migration ongoing",
			"0 (the source deleted its copies at the switch)"
		};
		char node[16] = "";
		if (st->expect == X_MOVED || st->expect == X_ASK)
			snprintf(node, sizeof(node), "%u", st->target);
		world_fail(w, FAIL_CORRECTNESS,
			   "cluster: moving slot %u, node %u answered %s to %s; expected %s%s",
			   c->mv_slot, i, c->a[i].last, st->cmd, want[st->expect], node);
		return;
	}
	if (++c->cur < c->nsteps) {
		send_step(w, c);
		return;
	}
	c->stage = CS_POLL;
	c->recheck = true;
	c->next_time = w->now;
}

static void remember(struct cadmin *a, const struct resp_reader_value *v)
{
	resp_reader_format(v, a->last, sizeof(a->last));
}

/* A reply from node i, in the current stage. */
static void take_reply(struct world *w, struct simcluster *c, unsigned i,
		       const struct resp_reader_value *v)
{
	struct cadmin *a = &c->a[i];
	bool text = v->type == RESP_READER_BULK || v->type == RESP_READER_VERBATIM;

	ASSERT(a->owed > 0);
	remember(a, v);
	a->owed--;
	if (c->stage == CS_SLOTS || c->stage == CS_MEET) {
		/* Not saved: the change stands, and the node saves it again
		 * before any crash can come (crashes come once formed). */
		if (unsaved(v))
			c->unsaved++;
		else if (v->type != RESP_READER_SIMPLE || strcmp(v->str, "OK") != 0)
			world_fail(w, FAIL_CORRECTNESS, "cluster: forming, node %u answered %s", i,
				   a->last);
		return;
	}
	if (c->stage == CS_MOVE) {
		take_step(w, c, i, v);
		return;
	}
	if (v->type == RESP_READER_SIMPLE && strcmp(v->str, "OK") == 0)
		return; /* a MEET again */
	if (unsaved(v)) {
		c->unsaved++; /* a MEET again, its nodes.conf save failed */
		return;
	}
	if (!text) {
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u answered a look with %s", i,
			   a->last);
		return;
	}
	if (a->owed == 1) /* CLUSTER INFO */
		a->ok = strstr(v->str, "cluster_state:ok\r\n") != NULL;
	else
		take_nodes(w, c, i, v->str, v->len);
}

/* Reads what node i has sent. */
static void read_node(struct world *w, struct simcluster *c, unsigned i)
{
	struct cadmin *a = &c->a[i];
	struct resp_reader_value *v;
	enum resp_reader_status st;
	bool eof;
	size_t n = net_recv(w, a->sock, c->buf, sizeof(c->buf), &eof);

	if (n > 0)
		resp_reader_feed(&a->rd, c->buf, n);
	while ((st = resp_reader_next(&a->rd, &v)) == RESP_READER_OK) {
		if (a->owed == 0)
			world_fail(w, FAIL_CORRECTNESS,
				   "cluster: node %u: a reply nobody asked for", i);
		else
			take_reply(w, c, i, v);
		resp_reader_value_free(v);
	}
	if (st == RESP_READER_ERR)
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u: malformed reply", i);
	if (eof)
		world_fail(w, FAIL_CORRECTNESS, "cluster: node %u closed the harness's connection",
			   i);
}

/* Whether every node said cluster_state:ok and the same table of n
 * nodes. */
static bool agreed(const struct simcluster *c)
{
	unsigned i;

	if (view_lines(c->a[0].view) != c->n)
		return false;
	for (i = 0; i < c->n; i++)
		if (!c->a[i].ok || strcmp(c->a[i].view, c->a[0].view) != 0)
			return false;
	return true;
}

/* A liveness failure: the nodes do not agree. With --trace, every node's
 * table is printed. */
static void disagree_fail(struct world *w, struct simcluster *c, const char *what)
{
	unsigned i;

	for (i = 0; i < c->n && w->cfg.trace > 0; i++)
		printf("cluster: node %u says state %s and\n%s", i, c->a[i].ok ? "ok" : "not ok",
		       c->a[i].view);
	for (i = 1; i < c->n; i++)
		if (!c->a[i].ok || strcmp(c->a[i].view, c->a[0].view) != 0)
			break;
	i = i < c->n ? i : 0;
	world_fail(w, FAIL_LIVENESS,
		   "cluster: %s (%llu looks); node %u says state %s and\n%snode 0 says "
		   "state %s and\n%s",
		   what, (unsigned long long)c->polls, i, c->a[i].ok ? "ok" : "not ok",
		   c->a[i].view, c->a[0].ok ? "ok" : "not ok", c->a[0].view);
}

/* A look has come back from every node. */
static void looked(struct world *w, struct simcluster *c)
{
	bool ok = agreed(c);

	if (ok && !c->formed) {
		c->formed = true;
		c->formed_at = w->now;
	}
	c->recheck = false;
	if (ok && c->unsure > 0)
		resolve_unsure(c);
	partition_tick(w, c);
	if (c->formed && !w->healed && w->crash_node >= 0 && w->crashes < CRASHES_MAX &&
	    rng_chance(&c->rng, c->crash_p)) {
		/* sched.c crashes it after this step (no move is open, no
		 * reply owed), and calls cluster_node_restarted. */
		w->crash_req = (unsigned)w->crash_node + 1;
		c->next_time = w->now + CLUSTER_POLL_NS;
		return;
	}
	if (ok && start_move(w, c))
		return;
	if (ok && c->poll_after_heal) {
		c->settled = true;
		c->stage = CS_DONE;
		c->next_time = UINT64_MAX;
		return;
	}
	c->next_time = w->now + CLUSTER_POLL_NS;
}

static unsigned owed(const struct simcluster *c)
{
	unsigned i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->a[i].owed;
	return n;
}

void cluster_step(struct world *w, struct simcluster *c)
{
	unsigned i;

	if (w->partitioned && w->healed)
		partition_tick(w, c);

	if (c->stage == CS_START) {
		connect_all(w, c);
		send_slots(w, c);
		c->stage = CS_SLOTS;
		c->next_time = UINT64_MAX;
		return;
	}
	for (i = 0; i < c->n && w->fail == FAIL_NONE; i++)
		if (net_readable(w, c->a[i].sock))
			read_node(w, c, i);
	if (w->fail != FAIL_NONE || owed(c) > 0 || c->stage == CS_DONE)
		return;
	if (c->stage == CS_MOVE) {
		/* A move pauses after a failed MIGRATE, then goes on. */
		if (c->next_time != UINT64_MAX && w->now >= c->next_time) {
			c->next_time = UINT64_MAX;
			send_step(w, c);
		}
		return;
	}
	if (c->stage == CS_SLOTS) {
		send_meet(w, c);
		c->stage = CS_MEET;
	}
	if (c->stage == CS_MEET && owed(c) > 0) {
		return; /* one node alone meets nobody: look at once */
	} else if (c->stage == CS_MEET) {
		send_poll(w, c);
		c->stage = CS_POLL;
	} else if (c->next_time == UINT64_MAX) {
		looked(w, c);
	} else if (w->now >= c->next_time) {
		send_poll(w, c);
		c->next_time = UINT64_MAX;
	}
}

bool cluster_runnable(struct world *w, struct simcluster *c)
{
	unsigned i;

	if (c->stage == CS_DONE)
		return false;
	if (c->next_time != UINT64_MAX && w->now >= c->next_time)
		return true;
	for (i = 0; i < c->n && c->a[i].sock >= 0; i++)
		if (net_readable(w, c->a[i].sock))
			return true;
	return false;
}

void cluster_settle_fail(struct world *w, struct simcluster *c)
{
	disagree_fail(w, c, "the nodes do not agree after the faults healed");
}

void cluster_stats(const struct simcluster *c, double *formed_ms, uint64_t *looks, unsigned *moves,
		   unsigned *partitions)
{
	*formed_ms = c->formed ? (double)c->formed_at / 1e6 : 0;
	*looks = c->polls;
	*moves = c->moves;
	*partitions = c->partitions;
}

void cluster_migrate_stats(const struct simcluster *c, unsigned *migrates, unsigned *keys,
			   unsigned *fails, unsigned *unsaved)
{
	*unsaved = c->unsaved;
	*migrates = c->migrates;
	*keys = c->keys_moved;
	*fails = c->migrate_fails;
}

bool cluster_atomic_moving(const struct simcluster *c, unsigned slot, uint64_t since)
{
	return c->stage == CS_MOVE && c->mv_atomic && slot == c->mv_slot &&
	       since >= c->began_at[slot];
}

unsigned cluster_atomic_target(const struct simcluster *c)
{
	ASSERT(c->stage == CS_MOVE && c->mv_atomic);
	return c->mv_to;
}

void cluster_atomic_stats(const struct simcluster *c, unsigned *moves, unsigned *ok,
			  unsigned *failed, unsigned *cancelled, unsigned *cancels)
{
	*moves = c->asm_moves - c->asm_refused;
	*ok = c->asm_ok;
	*failed = c->asm_failed;
	*cancelled = c->asm_cancelled;
	*cancels = c->asm_cancels;
}

int cluster_moving_tag(const struct simcluster *c)
{
	return c->stage == CS_MOVE ? c->mv_tag : -1;
}

/* cluster_may_accept for a slot whose last move was atomic: its source
 * until the target claims, its target from then on, at an unknown moment
 * between; so a write the source accepted must have been sent before any
 * the target accepted was answered, and none sent after the harness saw the
 * job succeed. */
static bool atomic_may_accept(struct simcluster *c, unsigned slot, unsigned node, uint64_t send,
			      uint64_t recv)
{
	if (node == c->at_from[slot]) {
		if (send > c->tgt_recv[slot] || (c->done_at[slot] > 0 && send > c->done_at[slot]))
			return false;
		if (send > c->src_send[slot])
			c->src_send[slot] = send;
		return true;
	}
	if (node != c->at_to[slot] || recv < c->src_send[slot])
		return false;
	if (recv < c->tgt_recv[slot])
		c->tgt_recv[slot] = recv;
	return true;
}

bool cluster_may_accept(struct simcluster *c, unsigned slot, unsigned node, uint64_t send,
			uint64_t recv)
{
	bool taken = c->taken_at[slot] >= c->began_at[slot] && c->taken_at[slot] > 0;

	ASSERT(slot < SLOTS);
	if (c->atomic[slot])
		return atomic_may_accept(c, slot, node, send, recv);
	if (c->began_at[slot] == 0)
		return node == c->owner[slot]; /* never moved */
	if (node == c->owner[slot])
		return taken && recv > c->taken_at[slot];
	return node == c->prev[slot] && (!taken || send < c->taken_at[slot]);
}

bool cluster_held_by(const struct simcluster *c, unsigned slot, unsigned node)
{
	ASSERT(slot < SLOTS);
	if (c->atomic[slot] && (c->at_from[slot] == node || c->at_to[slot] == node))
		return true; /* the target holds the slot's keys, hidden, from the start */
	return c->owner[slot] == node || c->prev[slot] == node;
}

void cluster_node_restarted(struct world *w, struct simcluster *c, unsigned node)
{
	struct cadmin *a = &c->a[node];

	ASSERT(a->owed == 0);
	net_close(w, a->sock, false);
	resp_reader_reset(&a->rd);
	a->sock = net_connect(w, (struct client *)(void *)a, node);
	a->ok = false;
	a->view[0] = '\0';
	c->recheck = true;
	/* What it learned by gossip may not have reached its nodes.conf (a
	 * save that failed, tried again later): it may name a moved slot's
	 * old owner again, until it learns again. What it acknowledged (its
	 * own slots: SETSLOT NODE answered +OK once saved) it keeps. */
	for (unsigned s = 0; s < SLOTS; s++)
		if (c->owner[s] != node)
			c->seen[node][s / 8] &= (uint8_t) ~(1u << (s % 8));
}
