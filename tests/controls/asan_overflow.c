/*
 * asan_overflow: a positive control for AddressSanitizer. Writes and reads
 * one byte past a heap block; built with the tests' sanitizer flags it must
 * die with a heap-buffer-overflow report (tests/controls/run checks it).
 */
#include <stdio.h>
#include <stdlib.h>

/* Overflow a heap block by one byte. */
int
main(int argc, char **argv)
{
	size_t		 n = 7 + (size_t)argc;	/* 8, unknown to the compiler */
	volatile char	*p;
	int		 c;

	if ((p = malloc(n)) == NULL)
		return 2;
	p[n] = 'x';
	c = p[n];
	printf("asan_overflow: read %d past the block: not instrumented\n", c);
	free((void *)p);
	return 0;
}
