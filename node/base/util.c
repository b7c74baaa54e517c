/* util.c: number parsing and formatting, and glob matching, with Redis's rules.
 *
 * These functions are pure: no allocation, no global state. Where Redis has a
 * quirk (leading zeros refused, "-0" printed as "0"), the quirk is kept on
 * purpose so that replies match byte for byte. */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

#define GLOB_STARS_MAX 1000

bool util_str2ll(const char *s, size_t len, long long *out)
{
	size_t i = 0;
	bool negative = false;
	unsigned long long v;

	if (len == 0 || len > PROTO_NUM_CHARS_MAX)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		negative = true;
		i++;
		if (i == len)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	v = (unsigned long long)(s[i++] - '0');
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return false;
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (negative) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = (long long)(0 - v);
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

int util_digits10(uint64_t v)
{
	int n = 1;
	while (v >= 10000) {
		v /= 10000;
		n += 4;
	}
	if (v >= 1000)
		return n + 3;
	if (v >= 100)
		return n + 2;
	if (v >= 10)
		return n + 1;
	return n;
}

int util_ull2str(char *buf, unsigned long long v)
{
	static const char pairs[201] = "0001020304050607080910111213141516171819"
				       "2021222324252627282930313233343536373839"
				       "4041424344454647484950515253545556575859"
				       "6061626364656667686970717273747576777879"
				       "8081828384858687888990919293949596979899";
	int len = util_digits10(v);
	int pos = len - 1;

	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		buf[pos] = pairs[i + 1];
		buf[pos - 1] = pairs[i];
		pos -= 2;
	}
	if (v < 10) {
		buf[pos] = (char)('0' + v);
	} else {
		unsigned i = (unsigned)v * 2;
		buf[pos] = pairs[i + 1];
		buf[pos - 1] = pairs[i];
	}
	buf[len] = '\0';
	return len;
}

int util_ll2str(char *buf, long long v)
{
	if (v >= 0)
		return util_ull2str(buf, (unsigned long long)v);
	buf[0] = '-';
	return 1 + util_ull2str(buf + 1, 0 - (unsigned long long)v);
}

bool util_str2ld(const char *s, size_t len, long double *out)
{
	char buf[LONG_DOUBLE_CHARS_MAX];
	char *end;
	long double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len)
		return false;
	if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
		return false;
	if (errno == EINVAL || isnan(v))
		return false;
	*out = v;
	return true;
}

int util_ld2str(char *buf, size_t len, long double v)
{
	int n;

	if (isnan(v) || isinf(v))
		return -1;
	n = snprintf(buf, len, "%.17Lf", v);
	if (n < 0 || (size_t)n + 1 > len)
		return -1;
	if (memchr(buf, '.', (size_t)n) != NULL) {
		while (n > 0 && buf[n - 1] == '0')
			n--;
		if (n > 0 && buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		n = 1;
	}
	buf[n] = '\0';
	return n;
}

int util_d2str(char *buf, size_t len, double v)
{
	int n;

	ASSERT(len >= 32);
	if (isinf(v))
		n = snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	else
		n = snprintf(buf, len, "%.17g", v);
	ASSERT(n > 0);
	ASSERT((size_t)n < len);
	return n;
}

static int fold(int c, bool nocase)
{
	return nocase ? tolower(c) : c;
}

/* Matches one bracket class starting at pat[*p] == '[' against c, and moves
 * *p past it, exactly as Redis's stringmatchlen walks a class (including an
 * unterminated class, which ends at the end of the pattern). */
static bool glob_class(const char *pat, size_t plen, size_t *p, int c, bool nocase)
{
	size_t q = *p + 1;
	bool neg = false, match = false;

	ASSERT(pat[*p] == '[');
	if (q < plen && pat[q] == '^') {
		neg = true;
		q++;
	}
	for (;;) {
		size_t rem = plen - q;
		if (rem >= 2 && pat[q] == '\\') {
			q++;
			/* As Redis, byte for byte (c is unsigned). */
			if ((unsigned char)pat[q] == c)
				match = true;
		} else if (rem > 0 && pat[q] == ']') {
			break;
		} else if (rem == 0) {
			q--;
			break;
		} else if (rem >= 3 && pat[q + 1] == '-') {
			int lo = (unsigned char)pat[q], hi = (unsigned char)pat[q + 2], x = c;
			if (lo > hi) {
				int t = lo;
				lo = hi;
				hi = t;
			}
			lo = fold(lo, nocase);
			hi = fold(hi, nocase);
			x = fold(x, nocase);
			q += 2;
			if (x >= lo && x <= hi)
				match = true;
		} else if (fold((unsigned char)pat[q], nocase) == fold(c, nocase)) {
			match = true;
		}
		q++;
	}
	*p = q + 1;
	ASSERT(*p <= plen + 1);
	if (*p > plen)
		*p = plen;
	return neg ? !match : match;
}

bool util_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase)
{
	size_t p = 0, s = 0;
	size_t star_p = SIZE_MAX, star_s = 0;
	unsigned stars = 0;

	/* As Redis: an empty string matches only an empty pattern (callers treat
	 * a lone "*" as "everything" before they get here). */
	if (slen == 0)
		return plen == 0;
	while (s < slen) {
		if (p < plen) {
			int c = (unsigned char)str[s];
			size_t np = p;
			bool ok;
			switch (pat[p]) {
			case '*':
				while (p < plen && pat[p] == '*')
					p++;
				if (p == plen)
					return true;
				/* Redis gives up past 1000 nested stars. */
				if (p != star_p && ++stars > GLOB_STARS_MAX)
					return false;
				star_p = p;
				star_s = s;
				continue;
			case '?':
				ok = true;
				np = p + 1;
				break;
			case '[': ok = glob_class(pat, plen, &np, c, nocase); break;
			case '\\':
				if (plen - p >= 2)
					np++;
				/* fall through */
			default:
				ok = fold((unsigned char)pat[np], nocase) == fold(c, nocase);
				np++;
				break;
			}
			if (ok) {
				p = np;
				s++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

bool util_eq_nocase(const char *s, size_t len, const char *lit)
{
	size_t i;

	/* ASCII folding, as tolower() in the C locale, without a call. */
	for (i = 0; i < len; i++) {
		unsigned char a = (unsigned char)s[i], b = (unsigned char)lit[i];
		if (b == '\0')
			return false;
		if (a != b && (a | 0x20) != (b | 0x20))
			return false;
		if (a != b && ((a | 0x20) < 'a' || (a | 0x20) > 'z'))
			return false;
	}
	return lit[len] == '\0';
}
