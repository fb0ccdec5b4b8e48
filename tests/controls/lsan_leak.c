/*
 * lsan_leak: a positive control for LeakSanitizer. Loses the only pointer
 * to a heap block and exits 0; built with the tests' sanitizer flags it must
 * exit non-zero with a "detected memory leaks" report at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile	 sink;

/* Allocate a block and forget it, in a frame that is gone at exit. */
static void __attribute__((noinline))
lsan_leak_lose(size_t n)
{
	sink = malloc(n);
	if (sink != NULL)
		memset(sink, 1, n);
	sink = NULL;
}

/* Clobber the stack the lost pointer may still sit in. */
static void __attribute__((noinline))
lsan_leak_scrub(void)
{
	volatile char	 junk[4096];

	memset((char *)junk, 0, sizeof junk);
}

int
main(int argc, char **argv)
{
	lsan_leak_lose(100 + (size_t)argc);
	lsan_leak_scrub();
	printf("lsan_leak: leaked a block\n");
	return 0;
}
