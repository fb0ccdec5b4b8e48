/*
 * buf: growable byte buffer. Pure memory management: no I/O, no exits;
 * every failure is reported to the caller as -1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Initialise an empty buffer. */
void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof *b);
}

/* Release a buffer's memory; it is empty and reusable afterwards. */
void
buf_clear(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Ensure n bytes can be appended without reallocating. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (n > ((size_t)-1) / 2 - b->len)
		return -1;
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	/*
	 * Reclaim consumed space before growing, when moving the unread bytes
	 * costs no more than the bytes consumed (so every byte is moved at
	 * most once on average, however the buffer is used).
	 */
	if (b->off >= b->len - b->off && need - b->off <= b->cap) {
		buf_compact(b);
		return 0;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Append n bytes. */
int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* Append a string without its terminator. */
int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Append formatted text. */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Consume n bytes from the front. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n > buf_left(b))
		n = buf_left(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* Move the unread bytes to the start of the storage. */
void
buf_compact(struct buf *b)
{
	if (b->off == 0)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/* Drop all content but keep the allocation. */
void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}
