/*
 * snippet: the text message.search shows around a match, from the content
 * and where the store found the match. Pure string work, no I/O.
 */
#ifndef IMGW_SNIPPET_H
#define IMGW_SNIPPET_H

#include <stddef.h>

/* Characters of context kept on each side of the match. */
#define SNIPPET_CHARS	16

/*
 * The snippet of content around the match of len bytes at byte offset at:
 * up to SNIPPET_CHARS characters each side, the match between « and », and
 * "…" where the content was cut. A match outside content gives "". Returns
 * a new string (caller frees), or NULL when out of memory.
 */
char	*snippet_make(const char *content, size_t at, size_t len);

#endif
