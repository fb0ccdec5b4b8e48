/*
 * fuzz_stomp: libFuzzer target for stomp_decode. Decodes arbitrary bytes
 * frame by frame; every decoded frame must re-encode and decode back to the
 * same frame, every proper prefix of it must be STOMP_MORE, and STOMP_MORE
 * must leave the bytes untouched. Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stomp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A heap copy exactly n bytes long, so ASan sees any overread. */
static char *
fuzz_dup(const char *p, size_t n)
{
	char	*q = malloc(n ? n : 1);

	if (q == NULL)
		abort();
	memcpy(q, p, n);
	return q;
}

/* Whether a header cannot be written in an unescaped (CONNECT) frame. */
static int
fuzz_unencodable(const struct stomp_frame *f)
{
	size_t	 i;

	/* A body without content-length needs one more header slot. */
	if (f->body_len > 0 && f->nheaders == STOMP_MAX_HEADERS &&
	    stomp_frame_get(f, "content-length") == NULL)
		return 1;
	if (f->command != STOMP_CONNECT && f->command != STOMP_STOMP &&
	    f->command != STOMP_CONNECTED)
		return 0;
	for (i = 0; i < f->nheaders; i++) {
		if (strpbrk(f->headers[i].name, "\r\n:") != NULL ||
		    strpbrk(f->headers[i].value, "\r\n") != NULL)
			return 1;
	}
	return 0;
}

/* Encode f, decode the result, and compare with f. */
static void
fuzz_round_trip(const struct stomp_frame *f)
{
	struct stomp_frame	 g;
	struct buf		 out;
	const char		*cause;
	size_t			 used, i, extra;
	char			*p;
	int			 have_cl = 0;

	buf_init(&out);
	if (stomp_encode(&out, f) == -1) {
		if (!fuzz_unencodable(f))
			abort();	/* refused a frame it could encode */
		if (buf_left(&out) != 0)
			abort();	/* failure left bytes behind */
		buf_clear(&out);
		return;
	}
	p = fuzz_dup(buf_head(&out), buf_left(&out));
	if (stomp_decode(p, buf_left(&out), &g, &used, &cause) != STOMP_OK)
		abort();		/* our own encoding does not decode */
	if (used != buf_left(&out) || g.command != f->command)
		abort();
	for (i = 0; i < f->nheaders; i++)
		have_cl |= strcmp(f->headers[i].name, "content-length") == 0;
	extra = f->body_len > 0 && !have_cl;
	if (g.nheaders != f->nheaders + extra)
		abort();
	for (i = 0; i < f->nheaders; i++) {
		if (strcmp(g.headers[i].name, f->headers[i].name) != 0 ||
		    strcmp(g.headers[i].value, f->headers[i].value) != 0)
			abort();
	}
	if (extra && strcmp(g.headers[i].name, "content-length") != 0)
		abort();
	if (g.body_len != f->body_len ||
	    memcmp(g.body, f->body, f->body_len) != 0 ||
	    g.body[g.body_len] != '\0')
		abort();
	free(p);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stomp_frame	 f, g;
	const char		*cause;
	const char		*orig = (const char *)data;
	char			*in = fuzz_dup(orig, size), *p;
	size_t			 off = 0, used, pused;
	int			 st;

	while (off < size) {
		cause = NULL;
		used = 0;
		st = stomp_decode(in + off, size - off, &f, &used, &cause);
		if (st == STOMP_MORE) {
			if (memcmp(in + off, orig + off, size - off) != 0)
				abort();	/* MORE changed the buffer */
			break;
		}
		if (st == STOMP_BAD) {
			if (cause == NULL)
				abort();
			break;
		}
		if (st != STOMP_OK || used == 0 || used > size - off)
			abort();

		/* Every proper prefix of a frame is incomplete. */
		p = fuzz_dup(orig + off, used - 1);
		if (stomp_decode(p, used - 1, &g, &pused, &cause) != STOMP_MORE)
			abort();
		free(p);

		if (f.command != STOMP_HEARTBEAT)
			fuzz_round_trip(&f);
		off += used;
	}
	free(in);
	return 0;
}
