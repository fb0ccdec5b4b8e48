/*
 * snippet: builds message.search's snippet around a match the store found
 * (proto/RPC.md: the match between « and », "…" where cut). Knows UTF-8
 * character boundaries, nothing of the store or of clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snippet.h"

/* Make the snippet of content around [at, at + len). */
char *
snippet_make(const char *content, size_t at, size_t len)
{
	size_t	 n = strlen(content), b, e, k;
	char	*out = NULL;

	if (at > n || len > n - at)
		return strdup("");
	/* Step back and forward by whole characters (UTF-8 lead bytes). */
	b = at;
	for (k = 0; k < SNIPPET_CHARS && b > 0; k++) {
		do
			b--;
		while (b > 0 && ((unsigned char)content[b] & 0xc0) == 0x80);
	}
	e = at + len;
	for (k = 0; k < SNIPPET_CHARS && content[e] != '\0'; k++) {
		do
			e++;
		while (((unsigned char)content[e] & 0xc0) == 0x80);
	}
	if (asprintf(&out, "%s%.*s\u00ab%.*s\u00bb%.*s%s", b > 0 ? "\u2026" : "",
	    (int)(at - b), content + b, (int)len, content + at,
	    (int)(e - at - len), content + at + len,
	    content[e] != '\0' ? "\u2026" : "") == -1)
		return NULL;
	return out;
}
