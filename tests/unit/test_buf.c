/*
 * test_buf: unit tests for proto/buf.c (append, consume, compact, reserve,
 * printf), linked with that module only.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

static void
buf_init_is_empty_without_memory(void)
{
	struct buf	 b;

	memset(&b, 0xa5, sizeof b);
	buf_init(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.cap, 0);
	CHECK_INT(buf_left(&b), 0);
	buf_clear(&b);
}

static void
buf_add_appends_bytes_including_nul(void)
{
	struct buf	 b;

	buf_init(&b);
	CHECK_INT(buf_add(&b, "ab\0c", 4), 0);
	CHECK_INT(buf_add(&b, "de", 2), 0);
	CHECK_INT(buf_left(&b), 6);
	CHECK_MEM(buf_head(&b), buf_left(&b), "ab\0cde", 6);
	CHECK(b.cap >= 6);
	buf_clear(&b);
}

static void
buf_add_zero_bytes_is_noop(void)
{
	struct buf	 b;

	buf_init(&b);
	CHECK_INT(buf_add(&b, NULL, 0), 0);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(buf_adds(&b, ""), 0);
	CHECK_INT(b.len, 0);
	buf_clear(&b);
}

static void
buf_adds_appends_string_without_terminator(void)
{
	struct buf	 b;

	buf_init(&b);
	CHECK_INT(buf_adds(&b, "hello"), 0);
	CHECK_INT(buf_adds(&b, ", world"), 0);
	CHECK_MEM(buf_head(&b), buf_left(&b), "hello, world", 12);
	buf_clear(&b);
}

static void
buf_add_grows_across_many_appends(void)
{
	struct buf	 b;
	size_t		 i;
	int		 bad = 0;

	buf_init(&b);
	for (i = 0; i < 100000; i++) {
		char c = (char)('a' + i % 26);

		if (buf_add(&b, &c, 1) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(buf_left(&b), 100000);
	for (i = 0; i < 100000; i++) {
		if (b.data[i] != (char)('a' + i % 26)) {
			CHECKM(0, "byte %zu is %d", i, b.data[i]);
			break;
		}
	}
	CHECK(b.cap >= 100000);
	buf_clear(&b);
}

static void
buf_consume_advances_read_position(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "abcdef");
	buf_consume(&b, 2);
	CHECK_INT(b.off, 2);
	CHECK_INT(buf_left(&b), 4);
	CHECK_MEM(buf_head(&b), buf_left(&b), "cdef", 4);
	buf_consume(&b, 0);
	CHECK_INT(buf_left(&b), 4);
	buf_clear(&b);
}

static void
buf_consume_everything_rewinds_to_start(void)
{
	struct buf	 b;
	char		*data;

	buf_init(&b);
	buf_adds(&b, "abcdef");
	data = b.data;
	buf_consume(&b, 6);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 0);
	CHECK(b.data == data);	/* memory kept */
	buf_adds(&b, "xy");
	CHECK_MEM(b.data, b.len, "xy", 2);
	buf_clear(&b);
}

static void
buf_consume_more_than_left_empties(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "abc");
	buf_consume(&b, 1);
	buf_consume(&b, 1000);
	CHECK_INT(buf_left(&b), 0);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 0);
	buf_consume(&b, 5);	/* on an empty buffer */
	CHECK_INT(buf_left(&b), 0);
	buf_clear(&b);
}

static void
buf_compact_moves_unread_bytes_to_front(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "0123456789");
	buf_consume(&b, 7);
	buf_compact(&b);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 3);
	CHECK_MEM(b.data, b.len, "789", 3);
	buf_compact(&b);	/* nothing consumed: no change */
	CHECK_INT(b.off, 0);
	CHECK_MEM(b.data, b.len, "789", 3);
	buf_clear(&b);
}

static void
buf_reserve_guarantees_room_without_realloc(void)
{
	struct buf	 b;
	char		*data;
	size_t		 cap;

	buf_init(&b);
	CHECK_INT(buf_reserve(&b, 1000), 0);
	CHECK(b.cap >= 1000);
	CHECK_INT(b.len, 0);
	data = b.data;
	cap = b.cap;
	buf_add(&b, "x", 1);
	CHECK_INT(buf_reserve(&b, 999), 0);
	CHECK(b.data == data);
	CHECK_INT(b.cap, cap);
	CHECK(b.cap - b.len >= 999);
	buf_clear(&b);
}

static void
buf_reserve_reclaims_consumed_space_before_growing(void)
{
	struct buf	 b;
	char		 big[200];
	char		*data;
	size_t		 cap;

	memset(big, 'z', sizeof big);
	buf_init(&b);
	CHECK_INT(buf_reserve(&b, 256), 0);
	data = b.data;
	cap = b.cap;
	buf_add(&b, big, sizeof big);
	buf_add(&b, "tail", 4);
	buf_consume(&b, sizeof big);
	/* 4 unread bytes; cap-4 fit once the consumed bytes are reclaimed. */
	CHECK_INT(buf_reserve(&b, cap - 4), 0);
	CHECK(b.data == data);
	CHECK_INT(b.cap, cap);
	CHECK_INT(b.off, 0);
	CHECK_MEM(b.data, b.len, "tail", 4);
	buf_clear(&b);
}

static void
buf_reserve_huge_fails_without_change(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "keep");
	CHECK_INT(buf_reserve(&b, SIZE_MAX), -1);
	CHECK_INT(buf_reserve(&b, SIZE_MAX / 2), -1);
	CHECK_INT(buf_add(&b, "x", SIZE_MAX - 2), -1);
	CHECK_MEM(buf_head(&b), buf_left(&b), "keep", 4);
	buf_clear(&b);
}

static void
buf_printf_appends_formatted_text(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, ">");
	CHECK_INT(buf_printf(&b, "%s:%d:%zu", "len", -5, (size_t)42), 0);
	CHECK_MEM(buf_head(&b), buf_left(&b), ">len:-5:42", 10);
	CHECK_INT(b.len, 10);	/* the terminator is not counted */
	CHECK(b.cap > b.len && b.data[b.len] == '\0');
	CHECK_INT(buf_printf(&b, "%s", ""), 0);
	CHECK_INT(b.len, 10);
	buf_clear(&b);
}

static void
buf_printf_grows_for_long_output(void)
{
	struct buf	 b;
	char		 want[5001];

	memset(want, 'q', 5000);
	want[5000] = '\0';
	buf_init(&b);
	buf_adds(&b, "ab");
	buf_consume(&b, 1);
	CHECK_INT(buf_printf(&b, "%s%s", want, "!"), 0);
	CHECK_INT(buf_left(&b), 5002);
	CHECK(buf_head(&b)[0] == 'b');
	CHECK(memcmp(buf_head(&b) + 1, want, 5000) == 0);
	CHECK(buf_head(&b)[5001] == '!');
	buf_clear(&b);
}

static void
buf_reset_forgets_content_keeps_memory(void)
{
	struct buf	 b;
	char		*data;
	size_t		 cap;

	buf_init(&b);
	buf_adds(&b, "abcdef");
	buf_consume(&b, 2);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	CHECK_INT(b.off, 0);
	CHECK_INT(b.len, 0);
	CHECK(b.data == data);
	CHECK_INT(b.cap, cap);
	buf_clear(&b);
}

static void
buf_clear_frees_and_allows_reuse(void)
{
	struct buf	 b;

	buf_init(&b);
	buf_adds(&b, "abc");
	buf_clear(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.len, 0);
	CHECK_INT(b.cap, 0);
	buf_clear(&b);		/* twice is fine */
	CHECK_INT(buf_adds(&b, "again"), 0);
	CHECK_MEM(buf_head(&b), buf_left(&b), "again", 5);
	buf_clear(&b);
}

static const struct unit_test tests[] = {
	UNIT_TEST(buf_init_is_empty_without_memory),
	UNIT_TEST(buf_add_appends_bytes_including_nul),
	UNIT_TEST(buf_add_zero_bytes_is_noop),
	UNIT_TEST(buf_adds_appends_string_without_terminator),
	UNIT_TEST(buf_add_grows_across_many_appends),
	UNIT_TEST(buf_consume_advances_read_position),
	UNIT_TEST(buf_consume_everything_rewinds_to_start),
	UNIT_TEST(buf_consume_more_than_left_empties),
	UNIT_TEST(buf_compact_moves_unread_bytes_to_front),
	UNIT_TEST(buf_reserve_guarantees_room_without_realloc),
	UNIT_TEST(buf_reserve_reclaims_consumed_space_before_growing),
	UNIT_TEST(buf_reserve_huge_fails_without_change),
	UNIT_TEST(buf_printf_appends_formatted_text),
	UNIT_TEST(buf_printf_grows_for_long_output),
	UNIT_TEST(buf_reset_forgets_content_keeps_memory),
	UNIT_TEST(buf_clear_frees_and_allows_reuse),
};

UNIT_MAIN(tests)
