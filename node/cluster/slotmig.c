/* slotmig.c: see slotmig.h. Valkey 9's cluster_migrateslots.c is the
 * reference for the order of the checks and their words. */
#include "cluster/slotmig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/util.h"

static bool arg_is(const struct cluster_arg *a, const char *word)
{
	return a->n == strlen(word) && strncasecmp(a->p, word, a->n) == 0;
}

static bool is_integer(const struct cluster_arg *a)
{
	long long v;

	return util_str2ll(a->p, a->n, &v);
}

/* Checks the slots of range [s, e] against the state; adds them to bits. */
static int add_range(const struct cluster_state *st, int s, int e, uint8_t *bits, uint16_t *owner,
		     char *err)
{
	int j;

	for (j = s; j <= e && st != NULL; j++) {
		if (st->owner[j] == CLUSTER_NONE) {
			snprintf(err, CLUSTER_ERR_MAX, "Slot %d has no node served.", j);
			return -1;
		}
		if (*owner == CLUSTER_NONE) {
			*owner = st->owner[j];
		} else if (*owner != st->owner[j]) {
			snprintf(err, CLUSTER_ERR_MAX, "Requested slots span multiple shards");
			return -1;
		}
	}
	for (j = s; j <= e; j++)
		slotmig_set(bits, (unsigned)j);
	return e - s + 1;
}

/* Whether [s, e] meets a range before it, a[from..to) (pairs already
 * checked); the error names the first it meets. */
static bool overlaps(const struct cluster_arg *a, int from, int to, int s, int e, char *err)
{
	int k;

	for (k = from; k + 1 < to; k += 2) {
		int ps = cluster_parse_slot(a[k].p, a[k].n),
		    pe = cluster_parse_slot(a[k + 1].p, a[k + 1].n);
		if (s <= pe && ps <= e) {
			snprintf(err, CLUSTER_ERR_MAX,
				 "Slot range %d-%d overlaps with previous range %d-%d.", s, e, ps,
				 pe);
			return true;
		}
	}
	return false;
}

/* One pair at a[i], a[i + 1]: its slots, or -1 with the error. */
static int parse_pair(const struct cluster_arg *a, int n, int i, int *s, int *e, char *err)
{
	if ((*s = cluster_parse_slot(a[i].p, a[i].n)) < 0) {
		snprintf(err, CLUSTER_ERR_MAX, "Invalid or out of range slot");
		return -1;
	}
	if (i + 1 >= n) {
		snprintf(err, CLUSTER_ERR_MAX, "No end slot for final slot range");
		return -1;
	}
	if ((*e = cluster_parse_slot(a[i + 1].p, a[i + 1].n)) < 0) {
		snprintf(err, CLUSTER_ERR_MAX, "Invalid or out of range slot");
		return -1;
	}
	if (*s > *e) {
		snprintf(err, CLUSTER_ERR_MAX,
			 "Start slot number %d is greater than end slot number %d.", *s, *e);
		return -1;
	}
	return 0;
}

int slotmig_parse_ranges(const struct cluster_state *st, const struct cluster_arg *a, int n, int *i,
			 uint8_t *bits, uint16_t *owner, char *err)
{
	int from = *i, total = 0, s, e, rc;

	memset(bits, 0, SLOTMIG_BITS);
	*owner = CLUSTER_NONE;
	for (; *i < n; *i += 2) {
		if (!is_integer(&a[*i]))
			break;
		if (parse_pair(a, n, *i, &s, &e, err) < 0)
			return -1;
		if ((rc = add_range(st, s, e, bits, owner, err)) < 0)
			return -1;
		if (overlaps(a, from, *i, s, e, err))
			return -1;
		total += rc;
	}
	if (total == 0) {
		snprintf(err, CLUSTER_ERR_MAX, "No slot ranges specified");
		return -1;
	}
	ASSERT(total <= CLUSTER_SLOTS);
	return total;
}

/* The checks that come before any range (Valkey's, node-wide). */
int slotmig_precheck(const struct cluster_state *st, char *err)
{
	unsigned j;

	for (j = 0; j < CLUSTER_SLOTS; j++) {
		if (st->importing_from[j] != CLUSTER_NONE) {
			snprintf(err, CLUSTER_ERR_MAX, "Slots are being manually imported");
			return -1;
		}
	}
	for (j = 0; j < CLUSTER_SLOTS; j++) {
		if (st->migrating_to[j] != CLUSTER_NONE) {
			snprintf(err, CLUSTER_ERR_MAX, "Slots are being manually migrated");
			return -1;
		}
	}
	return 0;
}

/* The NODE part of one job at a[*i]: its target. */
static int parse_node(const struct cluster_state *st, const struct cluster_arg *a, int n, int *i,
		      uint16_t *target, char *err)
{
	const struct cluster_arg *id;

	if (*i + 1 >= n || !arg_is(&a[*i], "node")) {
		snprintf(err, CLUSTER_ERR_MAX, "syntax error");
		return -1;
	}
	id = &a[++*i];
	if (id->n != BUS_ID_LEN) {
		snprintf(err, CLUSTER_ERR_MAX, "Invalid node name: %.*s",
			 (int)(id->n > 128 ? 128 : id->n), id->p);
		return -1;
	}
	*target = cluster_node_find(st, id->p, id->n);
	if (*target == CLUSTER_NONE) {
		snprintf(err, CLUSTER_ERR_MAX, "Unknown node name: %.*s", (int)id->n, id->p);
		return -1;
	}
	if (*target == st->myself) {
		snprintf(err, CLUSTER_ERR_MAX, "Target node can not be this node.");
		return -1;
	}
	++*i;
	return 0;
}

/* One job's SLOTSRANGE ... NODE id from a[*i] into r. */
static int parse_job(const struct cluster_state *st, const struct cluster_arg *a, int n, int *i,
		     const uint8_t *exporting, const struct slotmig_req *prev, int np,
		     struct slotmig_req *r, char *err)
{
	uint16_t owner;
	int rc, k;
	unsigned j;

	if (!arg_is(&a[*i], "slotsrange")) {
		snprintf(err, CLUSTER_ERR_MAX, "syntax error");
		return -1;
	}
	++*i;
	if ((rc = slotmig_parse_ranges(st, a, n, i, r->slots, &owner, err)) < 0)
		return -1;
	r->nslots = (uint32_t)rc;
	if (owner != st->myself) {
		snprintf(err, CLUSTER_ERR_MAX, "Slots are not served by this node.");
		return -1;
	}
	for (j = 0; j < CLUSTER_SLOTS; j++) {
		if (slotmig_has(r->slots, j) && slotmig_has(exporting, j)) {
			snprintf(err, CLUSTER_ERR_MAX, "I am already migrating slot %u.", j);
			return -1;
		}
	}
	for (k = 0; k < np; k++) {
		if (slotmig_overlap(prev[k].slots, r->slots)) {
			snprintf(err, CLUSTER_ERR_MAX, "Slot ranges in migrations overlap");
			return -1;
		}
	}
	return parse_node(st, a, n, i, &r->target, err);
}

int slotmig_parse_migrate(const struct cluster_state *st, const struct cluster_arg *a, int n,
			  const uint8_t *exporting, struct slotmig_req *out, char *err)
{
	int i = 0, np = 0;

	if (slotmig_precheck(st, err) < 0)
		return -1;
	while (i < n) {
		if (np == SLOTMIG_REQ_MAX) {
			snprintf(err, CLUSTER_ERR_MAX, "Too many slot migrations in one command");
			return -1;
		}
		if (parse_job(st, a, n, &i, exporting, out, np, &out[np], err) < 0)
			return -1;
		np++;
	}
	if (np == 0) {
		snprintf(err, CLUSTER_ERR_MAX, "syntax error");
		return -1;
	}
	return np;
}

void slotmig_text(const uint8_t *bits, char *buf, size_t cap)
{
	size_t len = 0;
	unsigned s = 0, e;

	ASSERT(cap > 0);
	buf[0] = '\0';
	while (s < CLUSTER_SLOTS) {
		if (!slotmig_has(bits, s)) {
			s++;
			continue;
		}
		for (e = s; e + 1 < CLUSTER_SLOTS && slotmig_has(bits, e + 1); e++)
			;
		if (len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%u-%u", len ? " " : "", s,
						e);
		s = e + 1;
	}
	ASSERT(strlen(buf) < cap);
}

bool slotmig_overlap(const uint8_t *a, const uint8_t *b)
{
	unsigned i;

	for (i = 0; i < SLOTMIG_BITS; i++)
		if (a[i] & b[i])
			return true;
	return false;
}
