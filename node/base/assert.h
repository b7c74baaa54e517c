/* assert.h: the project's assertions, on in every build.
 *
 * ASSERT(e) checks an invariant; when it does not hold, the process stops at
 * once with the file, line and expression in the message, and aborts (a
 * core dump, a simulator crash report, a fuzzer finding). Unlike the C
 * library's assert(), it cannot be compiled out: building with NDEBUG is an
 * error, so a MinSizeRel build or an outside CFLAGS=-DNDEBUG can never
 * quietly remove the checks. Assertions guard invariants, never input: bad
 * input from a client gets an error reply.
 *
 * One condition per ASSERT: when `a && b` fails, the message should say
 * which. ASSERT_NOT_REACHED marks a branch that a correct program never
 * takes.
 *
 * The failure goes through glibc's __assert_fail, which writes the message
 * to standard error and aborts: the core makes no system call of its own
 * (tests/lint/forbidden_symbols.sh). */
#ifndef CAIRN_ASSERT_H
#define CAIRN_ASSERT_H

#ifdef NDEBUG
#error "cairn is never built with NDEBUG: its assertions stay on in every build"
#endif

/* glibc's, as <assert.h> declares it (that header is not included, so that
 * its compiled-out assert() cannot be used by mistake). */
extern void __assert_fail(const char *expr, const char *file, unsigned int line,
			  const char *function) __attribute__((__noreturn__));

#define ASSERT(e)                                                                                  \
	(__builtin_expect(!!(e), 1) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#define ASSERT_NOT_REACHED(why) __assert_fail(why, __FILE__, __LINE__, __func__)

#endif
