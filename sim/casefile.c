/* casefile.c: saved cases, in proto/sim.proto's Case message. See cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/version.h"
#include "cli.h"
#include "sim.pb-c.h"

/* A case file is small; anything larger is not one. */
#define CASE_FILE_MAX (1u << 20)

int case_save(const char *path, const struct run_spec *s, const struct outcome *o)
{
	Cairn__Sim__Case c = CAIRN__SIM__CASE__INIT;
	char *sets[SPEC_SETS_MAX];
	uint8_t *buf;
	size_t len;
	unsigned i;
	FILE *f;
	int rc = 0;

	c.seed = s->seed;
	for (i = 0; i < s->nsets; i++)
		sets[i] = (char *)s->sets[i];
	c.n_overrides = s->nsets;
	c.overrides = sets;
	c.ticks = s->ticks;
	c.fail_kind = (Cairn__Sim__FailKind)o->kind;
	c.fail_tick = o->tick;
	c.fail_detail = (char *)o->detail;
	c.trace_hash = o->hash;
	c.version = (char *)CAIRN_VERSION;
	len = cairn__sim__case__get_packed_size(&c);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return -1;
	cairn__sim__case__pack(&c, buf);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len)
		rc = -1;
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "cairn-sim: cannot write %s: %s\n", path, strerror(errno));
	free(buf);
	return rc;
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "cairn-sim: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(CASE_FILE_MAX + 1);
	n = buf != NULL ? fread(buf, 1, CASE_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > CASE_FILE_MAX) {
		fprintf(stderr, "cairn-sim: %s is not a case file (too large)\n", path);
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

int case_load(const char *path, struct run_spec *s, struct outcome *o)
{
	Cairn__Sim__Case *c;
	char err[128];
	uint8_t *buf;
	size_t len, i;
	int rc = 0;

	if (read_all(path, &buf, &len) != 0)
		return -1;
	c = cairn__sim__case__unpack(NULL, len, buf);
	free(buf);
	if (c == NULL) {
		fprintf(stderr, "cairn-sim: %s is not a case file\n", path);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	memset(o, 0, sizeof(*o));
	s->seed = c->seed;
	s->ticks = c->ticks;
	for (i = 0; i < c->n_overrides && rc == 0; i++)
		if (spec_set(s, c->overrides[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "cairn-sim: %s: override '%s': %s\n", path, c->overrides[i],
				err);
			rc = -1;
		}
	o->seed = c->seed;
	o->kind = (unsigned)c->fail_kind <= (unsigned)FAIL_LIVENESS ? (enum fail_kind)c->fail_kind
								    : FAIL_NONE;
	o->tick = c->fail_tick;
	o->hash = c->trace_hash;
	snprintf(o->detail, sizeof(o->detail), "%s", c->fail_detail ? c->fail_detail : "");
	cairn__sim__case__free_unpacked(c, NULL);
	return rc;
}
