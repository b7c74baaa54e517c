/* replay_main.c: runs a fuzz target over saved inputs, without libFuzzer.
 *
 * Goal: every build (gcc included) replays each target's seed corpus and its
 * crash regressions, so that ctest catches a fixed crash that comes back.
 *
 * Method: main() calls LLVMFuzzerTestOneInput() once per file named on the
 * command line, or per regular file of each directory named (in name order,
 * so a run is reproducible). Each input is read into a block of exactly its
 * size, so that ASan catches a target reading past it. Dotfiles, README* and
 * PENDING are not inputs. A directory's PENDING file lists, one per line
 * ('#' starts a comment), the inputs of crashes whose fix in node/ has not
 * landed yet: they are skipped and named in the output, so that a known,
 * reported bug does not fail every CI run until its fix lands (see
 * fuzz/README.md). A failing input aborts the run; a signal handler names
 * it first. Exit status: 0, or 1 if an argument could not be read. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

/* Longest PENDING list, and longest path, the driver handles. */
#define REPLAY_PENDING_MAX 256
#define REPLAY_PATH_MAX 4096

static char replay_current[REPLAY_PATH_MAX];

static void replay_on_signal(int sig)
{
	static const char pre[] = "\nreplay: crashed on input ";
	size_t n = strnlen(replay_current, sizeof(replay_current));

	/* Only async-signal-safe calls here. */
	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, replay_current, n) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(128 + sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	n = (size_t)st.st_size;
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(replay_current, sizeof(replay_current), "%s", path);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

struct replay_pending {
	char *names[REPLAY_PENDING_MAX];
	size_t n;
};

static void pending_load(struct replay_pending *pd, const char *dir)
{
	char path[REPLAY_PATH_MAX], line[512];
	FILE *f;

	pd->n = 0;
	snprintf(path, sizeof(path), "%s/PENDING", dir);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && pd->n < REPLAY_PENDING_MAX) {
		char *s = line, *e;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, " \t\r\n#");
		if (e == s)
			continue;
		*e = '\0';
		pd->names[pd->n++] = strdup(s);
	}
	fclose(f);
}

static bool pending_has(const struct replay_pending *pd, const char *name)
{
	size_t i;

	for (i = 0; i < pd->n; i++)
		if (strcmp(pd->names[i], name) == 0)
			return true;
	return false;
}

static bool replay_is_input(const char *name)
{
	return name[0] != '.' && strncmp(name, "README", 6) != 0 && strcmp(name, "PENDING") != 0;
}

/* Replays every input of dir; counts them in *ran and *skipped. */
static int replay_dir(const char *dir, unsigned *ran, unsigned *skipped)
{
	struct replay_pending pd;
	struct dirent **ents;
	char path[REPLAY_PATH_MAX];
	int n, i, rc = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	pending_load(&pd, dir);
	for (i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (replay_is_input(ents[i]->d_name) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (pending_has(&pd, ents[i]->d_name)) {
				printf("replay: skipped (fix pending, see PENDING): %s\n", path);
				(*skipped)++;
			} else if (replay_file(path) == 0) {
				(*ran)++;
			} else {
				rc = -1;
			}
		}
		free(ents[i]);
	}
	free(ents);
	for (i = 0; i < (int)pd.n; i++)
		free(pd.names[i]);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned ran = 0, skipped = 0;
	int i, rc = 0;

	signal(SIGABRT, replay_on_signal);
	signal(SIGSEGV, replay_on_signal);
	signal(SIGBUS, replay_on_signal);
	signal(SIGFPE, replay_on_signal);
	for (i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &ran, &skipped) != 0)
				rc = 1;
		} else if (replay_file(argv[i]) == 0) {
			ran++;
		} else {
			rc = 1;
		}
	}
	printf("replay: %u inputs ran, %u skipped (fix pending)\n", ran, skipped);
	return rc;
}
