/* util.h: pure helpers for numbers and patterns, with Redis's exact rules. */
#ifndef CAIRN_UTIL_H
#define CAIRN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Space for the longest int64 in decimal, sign included, plus a NUL. */
#define UTIL_LL_CHARS 21

/* Parses a whole buffer as a signed 64-bit decimal with Redis's string2ll
 * rules: optional '-', no '+', no spaces, no leading zero except "0", at most
 * 20 characters. Returns true and stores the value, or false. */
bool util_str2ll(const char *s, size_t len, long long *out);
/* Writes v in decimal to buf (at least UTIL_LL_CHARS bytes); returns length. */
int util_ll2str(char *buf, long long v);
int util_ull2str(char *buf, unsigned long long v);
/* Number of decimal digits of v (1..20). */
int util_digits10(uint64_t v);

/* Parses a long double as Redis's string2ld: strtold over the whole buffer,
 * no leading space, not NaN, at most LONG_DOUBLE_CHARS_MAX characters. */
bool util_str2ld(const char *s, size_t len, long double *out);
/* Formats as Redis's ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros
 * (and a lone '.') removed, "-0" written as "0". Returns length, or -1 when
 * the value is NaN or infinite or buf is too small. */
int util_ld2str(char *buf, size_t len, long double v);
/* Formats a double as Redis's RESP3/RESP2 double replies ("%.17g", with
 * "inf", "-inf", "nan"). Returns length. buf needs 64 bytes. */
int util_d2str(char *buf, size_t len, double v);

/* Glob matching with Redis's stringmatchlen semantics ('*', '?', '[...]' with
 * '^' negation and ranges, '\' escapes). Iterative: time is bounded by
 * pattern length times string length, and no recursion. */
bool util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);

/* ASCII case-insensitive equality of a counted buffer and a C string. */
bool util_eq_nocase(const char *s, size_t len, const char *lit);

#endif
