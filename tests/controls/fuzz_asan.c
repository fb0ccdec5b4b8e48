/*
 * fuzz_asan: a positive control for the fuzz build. A libFuzzer target with
 * a heap-buffer-overflow behind the input "FUZZ", compared a byte at a time
 * so that coverage leads the fuzzer there within seconds; built with the
 * fuzz flags, tests/fuzz/run_fuzzers must report it as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Overflow a heap copy of the input when it starts with "FUZZ". */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile uint8_t	*p;

	if (size < 4 || data[0] != 'F')
		return 0;
	if (data[1] != 'U')
		return 0;
	if (data[2] != 'Z')
		return 0;
	if (data[3] != 'Z')
		return 0;
	if ((p = malloc(size)) == NULL)
		return 0;
	memcpy((void *)p, data, size);
	p[size] = 0;
	free((void *)p);
	return 0;
}
