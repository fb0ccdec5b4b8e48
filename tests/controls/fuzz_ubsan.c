/*
 * fuzz_ubsan: a positive control for UBSan in the fuzz build. A libFuzzer
 * target that overflows a signed int behind the input "UB!!", compared a
 * byte at a time; tests/fuzz/run_fuzzers must report it as a crash (it runs
 * the targets with UBSAN_OPTIONS=halt_on_error=1).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Add past INT_MAX when the input starts with "UB!!". */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile int	 x = INT_MAX;

	if (size < 4 || data[0] != 'U')
		return 0;
	if (data[1] != 'B')
		return 0;
	if (data[2] != '!')
		return 0;
	if (data[3] != '!')
		return 0;
	x = x + (int)size;
	return x == 0;
}
