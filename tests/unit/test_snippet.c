/*
 * test_snippet: unit tests for daemon/snippet.c, the text message.search
 * shows around a match, linked with that module only.
 */
#include <stdlib.h>
#include <string.h>

#include "snippet.h"
#include "unit.h"

/* snippet_make of the first occurrence of match in content. */
static char *
around(const char *content, const char *match)
{
	const char	*p = strstr(content, match);

	return snippet_make(content, p != NULL ? (size_t)(p - content) :
	    strlen(content) + 1, strlen(match));
}

static void
snippet_cuts_long_content_on_both_sides(void)
{
	char	*s = around("前面有很多很多很多很多很多很多的字然后是关键词"
	    "再后面也有很多很多很多很多很多很多的字", "关键词");

	CHECK_STR(s, "…多很多很多很多很多很多的字然后是«关键词»再后面也有很多很多很多很多很多很…");
	free(s);
}

static void
snippet_keeps_short_content_whole(void)
{
	char	*s = around("Short KEY here", "KEY");

	CHECK_STR(s, "Short «KEY» here");
	free(s);
	s = around("北京欢迎你", "欢迎");
	CHECK_STR(s, "北京«欢迎»你");
	free(s);
}

static void
snippet_match_at_the_edges(void)
{
	char	*s = around("abc", "abc");

	CHECK_STR(s, "«abc»");
	free(s);
	s = around("0123456789abcdefghijXYZ", "XYZ");
	CHECK_STR(s, "…456789abcdefghij«XYZ»");
	free(s);
	s = around("XYZ0123456789abcdefghij", "XYZ");
	CHECK_STR(s, "«XYZ»0123456789abcdef…");
	free(s);
}

static void
snippet_match_outside_content_is_empty(void)
{
	char	*s = snippet_make("abc", 2, 5);

	CHECK_STR(s, "");
	free(s);
	s = snippet_make("abc", 9, 0);
	CHECK_STR(s, "");
	free(s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(snippet_cuts_long_content_on_both_sides),
	UNIT_TEST(snippet_keeps_short_content_whole),
	UNIT_TEST(snippet_match_at_the_edges),
	UNIT_TEST(snippet_match_outside_content_is_empty),
};

UNIT_MAIN(tests)
