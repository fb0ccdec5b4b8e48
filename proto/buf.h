/*
 * buf: a growable byte buffer with a read position, shared by every program.
 * Owns its memory; never does I/O. Data is appended at the end and consumed
 * from the front; the unread part is data[off .. len).
 */
#ifndef IMGW_BUF_H
#define IMGW_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 off;	/* first unread byte */
	size_t	 len;	/* end of data */
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_clear(struct buf *);

/* Number of unread bytes, and a pointer to the first one. */
#define buf_left(b) ((b)->len - (b)->off)
#define buf_head(b) ((b)->data + (b)->off)

/* Make room for n more bytes; returns 0, or -1 on out-of-memory. */
int	 buf_reserve(struct buf *, size_t n);
/* Append n bytes; returns 0, or -1 on out-of-memory. */
int	 buf_add(struct buf *, const void *, size_t);
/* Append a NUL-terminated string (without its NUL). */
int	 buf_adds(struct buf *, const char *);
/* Append formatted text; returns 0 or -1. */
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Mark n unread bytes as consumed; compacts when the buffer empties. */
void	 buf_consume(struct buf *, size_t n);
/* Move unread bytes to the front so the free space is contiguous. */
void	 buf_compact(struct buf *);
/* Forget all content, keep the memory. */
void	 buf_reset(struct buf *);

#endif
