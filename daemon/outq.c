/*
 * outq: what is waiting to be written to one local client. Bytes encoded
 * for this client alone (answers) are appended to its own buffer; a message
 * encoded once for many clients (an event) is queued by reference, a wire,
 * so fanning an event out to a hundred subscribers copies nothing in the
 * daemon: writev takes every piece from where it is.
 *
 * The queue is a ring of segments in stream order. A segment either holds
 * a reference to a wire (the bytes [off, end) of it are unsent) or stands
 * for the next end - off bytes of the own buffer; consecutive own bytes
 * share one segment.
 */
#include <sys/types.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

#define OUTQ_IOV	512	/* pieces given to one writev */

/* A new wire holding head then body, one reference. */
struct wire *
wire_new(const void *head, size_t hlen, const void *body, size_t blen)
{
	struct wire	*w;

	if ((w = malloc(sizeof *w + hlen + blen)) == NULL)
		fatalx("out of memory");
	w->refs = 1;
	w->len = hlen + blen;
	if (hlen > 0)
		memcpy(w->data, head, hlen);
	if (blen > 0)
		memcpy(w->data + hlen, body, blen);
	return w;
}

/* Take another reference to a wire; returns it. */
struct wire *
wire_ref(struct wire *w)
{
	w->refs++;
	return w;
}

/* Drop a reference; the last one frees the wire. NULL is ignored. */
void
wire_unref(struct wire *w)
{
	if (w != NULL && --w->refs == 0)
		free(w);
}

void
outq_init(struct outq *q)
{
	memset(q, 0, sizeof *q);
	buf_init(&q->own);
}

/* The i-th segment from the oldest. */
static struct outq_seg *
outq_at(struct outq *q, size_t i)
{
	return &q->seg[(q->head + i) % q->cap];
}

/* A new segment at the end. */
static struct outq_seg *
outq_push(struct outq *q)
{
	struct outq_seg	*s;
	size_t		 i, cap;

	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 16;
		if ((s = calloc(cap, sizeof *s)) == NULL)
			fatalx("out of memory");
		for (i = 0; i < q->n; i++)
			s[i] = *outq_at(q, i);
		free(q->seg);
		q->seg = s;
		q->cap = cap;
		q->head = 0;
	}
	s = outq_at(q, q->n++);
	memset(s, 0, sizeof *s);
	return s;
}

/* Drop the newest segment. */
static void
outq_pop_last(struct outq *q)
{
	struct outq_seg	*s = outq_at(q, --q->n);

	wire_unref(s->w);
	s->w = NULL;
}

/* Forget everything queued and free the memory. */
void
outq_clear(struct outq *q)
{
	while (q->n > 0)
		outq_pop_last(q);
	free(q->seg);
	buf_clear(&q->own);
	outq_init(q);
}

/* The last n bytes of own were just appended: queue them. */
void
outq_own(struct outq *q, size_t n)
{
	struct outq_seg	*s;

	if (n == 0)
		return;
	if (q->n > 0 && (s = outq_at(q, q->n - 1))->w == NULL)
		s->end += n;
	else
		outq_push(q)->end = n;
	q->left += n;
}

/* Queue a wire (takes a reference of its own). */
void
outq_wire(struct outq *q, struct wire *w)
{
	struct outq_seg	*s = outq_push(q);

	s->w = wire_ref(w);
	s->end = w->len;
	q->left += w->len;
}

/* n bytes were written: let go of what they covered. */
static void
outq_consume(struct outq *q, size_t n)
{
	struct outq_seg	*s;
	size_t		 k;

	q->left -= n;
	while (n > 0) {
		s = outq_at(q, 0);
		k = s->end - s->off < n ? s->end - s->off : n;
		if (s->w == NULL)
			buf_consume(&q->own, k);
		s->off += k;
		n -= k;
		if (s->off < s->end)
			break;
		wire_unref(s->w);
		s->w = NULL;
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
}

/*
 * One writev of what is queued, as much as fd takes. Returns the bytes
 * written, or -1 with errno.
 */
ssize_t
outq_write(struct outq *q, int fd)
{
	struct iovec	 iov[OUTQ_IOV];
	struct outq_seg	*s;
	const char	*own = buf_head(&q->own);
	ssize_t		 n;
	size_t		 i;
	int		 k = 0;

	for (i = 0; i < q->n && k < OUTQ_IOV; i++, k++) {
		s = outq_at(q, i);
		iov[k].iov_len = s->end - s->off;
		if (s->w != NULL)
			iov[k].iov_base = s->w->data + s->off;
		else {
			iov[k].iov_base = (char *)own;
			own += iov[k].iov_len;
		}
	}
	if (k == 0)
		return 0;
	if ((n = writev(fd, iov, k)) > 0)
		outq_consume(q, (size_t)n);
	return n;
}

/* Keep only the first n unsent bytes (n on a message boundary). */
void
outq_keep(struct outq *q, size_t n)
{
	struct outq_seg	*s;
	size_t		 i, seen = 0, own = 0, len;

	if (n >= q->left)
		return;
	for (i = 0; i < q->n && seen < n; i++) {
		s = outq_at(q, i);
		len = s->end - s->off;
		if (len > n - seen) {
			len = n - seen;
			s->end = s->off + len;
		}
		if (s->w == NULL)
			own += len;
		seen += len;
	}
	while (q->n > i)
		outq_pop_last(q);
	q->own.len = q->own.off + own;
	q->left = n;
}
