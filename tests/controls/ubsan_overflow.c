/*
 * ubsan_overflow: a positive control for UndefinedBehaviorSanitizer. Adds
 * past INT_MAX; built with the tests' sanitizer flags and run with
 * UBSAN_OPTIONS=halt_on_error=1 (tests/run sets it) it must exit non-zero
 * with a "signed integer overflow" report.
 */
#include <limits.h>
#include <stdio.h>

/* Overflow a signed int. */
int
main(int argc, char **argv)
{
	volatile int	 x = INT_MAX;
	int		 y;

	y = x + argc;
	printf("ubsan_overflow: INT_MAX + %d = %d: not caught\n", argc, y);
	return 0;
}
