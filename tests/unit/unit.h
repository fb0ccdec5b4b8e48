/*
 * unit: the tiny harness every unit test includes. CHECK records a failure
 * with file:line and a message and lets the test go on; unit_main runs the
 * named tests and prints one line each, "ok NAME" or "FAIL NAME".
 *
 * Output, for tests/run to count:
 *   plan N              first line: how many tests will run
 *   # FILE:LINE: TEXT   a failed check (at most UNIT_MAX_REPORT per test)
 *   ok NAME | FAIL NAME one line per test, after its "#" lines
 * The exit status is 1 if any test failed, else 0. Arguments name the tests
 * to run (default: all).
 */
#ifndef IMGW_UNIT_H
#define IMGW_UNIT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_MAX_REPORT	10	/* failed checks printed per test */

struct unit_test {
	const char	*name;
	void		(*fn)(void);
};

/* An entry of the test table: the function's name is the test's name. */
#define UNIT_TEST(fn)	{ #fn, fn }

/* Define main() running every test of a table. */
#define UNIT_MAIN(table)						\
int									\
main(int argc, char **argv)						\
{									\
	return unit_main(argc, argv, table,				\
	    sizeof table / sizeof table[0]);				\
}

static int	unit_nfailed;	/* failed checks in the running test */

/* Record a failed check. */
static void __attribute__((format(printf, 3, 4), unused))
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	if (++unit_nfailed > UNIT_MAX_REPORT)
		return;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print at most 64 bytes of p[0..n) readably into s (room for 300 bytes). */
static __attribute__((unused)) const char *
unit_show(char *s, const void *p, size_t n)
{
	const unsigned char	*u = p;
	size_t			 i, o = 0;

	if (p == NULL)
		return "(null)";
	s[o++] = '"';
	for (i = 0; i < n && i < 64; i++) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\')
			s[o++] = (char)u[i];
		else
			o += (size_t)sprintf(s + o, "\\x%02x", u[i]);
	}
	s[o++] = '"';
	if (n > 64)
		o += (size_t)sprintf(s + o, "...(%zu bytes)", n);
	s[o] = '\0';
	return s;
}

/* Compare two byte strings; a NULL pointer equals only NULL. */
static int __attribute__((unused))
unit_mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (a == NULL || b == NULL)
		return a == b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* A condition that must hold. */
#define CHECK(cond) do {						\
	if (!(cond))							\
		unit_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

/* A condition that must hold, with a printf-style message. */
#define CHECKM(cond, ...) do {						\
	if (!(cond))							\
		unit_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

/* Two integers that must be equal. */
#define CHECK_INT(actual, expected) do {				\
	intmax_t unit_a_ = (intmax_t)(actual);				\
	intmax_t unit_e_ = (intmax_t)(expected);			\
	if (unit_a_ != unit_e_)						\
		unit_fail(__FILE__, __LINE__, "%s is %jd, expected %jd",\
		    #actual, unit_a_, unit_e_);				\
} while (0)

/* Two NUL-terminated strings (or NULLs) that must be equal. */
#define CHECK_STR(actual, expected) do {				\
	const char *unit_a_ = (actual), *unit_e_ = (expected);		\
	char unit_sa_[300], unit_se_[300];				\
	if (!unit_mem_eq(unit_a_, unit_a_ ? strlen(unit_a_) : 0,	\
	    unit_e_, unit_e_ ? strlen(unit_e_) : 0))			\
		unit_fail(__FILE__, __LINE__, "%s is %s, expected %s",	\
		    #actual,						\
		    unit_show(unit_sa_, unit_a_, unit_a_ ? strlen(unit_a_) : 0), \
		    unit_show(unit_se_, unit_e_, unit_e_ ? strlen(unit_e_) : 0)); \
} while (0)

/* Two byte strings that must be equal. */
#define CHECK_MEM(actual, alen, expected, elen) do {			\
	const void *unit_a_ = (actual), *unit_e_ = (expected);		\
	size_t unit_al_ = (alen), unit_el_ = (elen);			\
	char unit_sa_[300], unit_se_[300];				\
	if (!unit_mem_eq(unit_a_, unit_al_, unit_e_, unit_el_))		\
		unit_fail(__FILE__, __LINE__, "%s is %s, expected %s",	\
		    #actual, unit_show(unit_sa_, unit_a_, unit_al_),	\
		    unit_show(unit_se_, unit_e_, unit_el_));		\
} while (0)

/* Run the tests named in argv (all if none); see the top of this file. */
static int __attribute__((unused))
unit_main(int argc, char **argv, const struct unit_test *t, size_t n)
{
	size_t	 i, nrun = 0;
	int	 j, failed = 0, want;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		want = argc < 2;
		for (j = 1; j < argc; j++)
			want |= strcmp(argv[j], t[i].name) == 0;
		nrun += want;
	}
	if (nrun == 0) {
		fprintf(stderr, "%s: no such test\n", argv[0]);
		return 2;
	}
	printf("plan %zu\n", nrun);
	for (i = 0; i < n; i++) {
		want = argc < 2;
		for (j = 1; j < argc; j++)
			want |= strcmp(argv[j], t[i].name) == 0;
		if (!want)
			continue;
		unit_nfailed = 0;
		t[i].fn();
		if (unit_nfailed > UNIT_MAX_REPORT)
			printf("# ... %d more failed checks\n",
			    unit_nfailed - UNIT_MAX_REPORT);
		printf("%s %s\n", unit_nfailed ? "FAIL" : "ok", t[i].name);
		fflush(stdout);
		failed |= unit_nfailed != 0;
	}
	return failed;
}

#endif
