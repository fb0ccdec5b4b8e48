/*
 * stomp: STOMP 1.2 encode and incremental decode. Pure functions over
 * caller-owned memory: no I/O, no allocation when decoding, hard limits on
 * frame size and header count, three decoder outcomes (ok, more, bad).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stomp.h"

static const char *const stomp_names[] = {
	[STOMP_HEARTBEAT] = NULL,
	[STOMP_CONNECT] = "CONNECT",
	[STOMP_STOMP] = "STOMP",
	[STOMP_CONNECTED] = "CONNECTED",
	[STOMP_SEND] = "SEND",
	[STOMP_SUBSCRIBE] = "SUBSCRIBE",
	[STOMP_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[STOMP_ACK] = "ACK",
	[STOMP_NACK] = "NACK",
	[STOMP_BEGIN] = "BEGIN",
	[STOMP_COMMIT] = "COMMIT",
	[STOMP_ABORT] = "ABORT",
	[STOMP_DISCONNECT] = "DISCONNECT",
	[STOMP_MESSAGE] = "MESSAGE",
	[STOMP_RECEIPT] = "RECEIPT",
	[STOMP_ERROR] = "ERROR",
};
#define STOMP_NCOMMANDS (sizeof stomp_names / sizeof stomp_names[0])

/* Return the wire name of a command. */
const char *
stomp_command_name(enum stomp_command c)
{
	if ((size_t)c >= STOMP_NCOMMANDS)
		return NULL;
	return stomp_names[c];
}

/* STOMP 1.2: CONNECT, STOMP and CONNECTED headers are not escaped. */
static int
stomp_escaped(enum stomp_command c)
{
	return c != STOMP_CONNECT && c != STOMP_STOMP && c != STOMP_CONNECTED;
}

static int
stomp_lookup(const char *p, size_t n, enum stomp_command *c)
{
	size_t	 i;

	for (i = 1; i < STOMP_NCOMMANDS; i++) {
		if (strlen(stomp_names[i]) == n && memcmp(stomp_names[i], p, n) == 0) {
			*c = (enum stomp_command)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Find the line starting at off: *eol is the index of its '\n', *end the
 * index just past its content (a CR before the LF is not content).
 * Returns 0, or -1 if no LF is present yet.
 */
static int
stomp_line(const char *in, size_t len, size_t off, size_t *end, size_t *eol)
{
	const char	*nl;

	nl = memchr(in + off, '\n', len - off);
	if (nl == NULL)
		return -1;
	*eol = (size_t)(nl - in);
	*end = *eol;
	if (*end > off && in[*end - 1] == '\r')
		(*end)--;
	return 0;
}

/* Check that a header line's escapes are the four STOMP 1.2 allows. */
static int
stomp_check_escapes(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r')
			return -1;
		if (p[i] != '\\')
			continue;
		if (++i == n)
			return -1;
		if (p[i] != 'r' && p[i] != 'n' && p[i] != 'c' && p[i] != '\\')
			return -1;
	}
	return 0;
}

/* Unescape p[0..n) in place, NUL-terminating it; the escapes were checked. */
static void
stomp_unescape(char *p, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			switch (p[++i]) {
			case 'r': p[o++] = '\r'; break;
			case 'n': p[o++] = '\n'; break;
			case 'c': p[o++] = ':'; break;
			default: p[o++] = '\\'; break;
			}
		} else
			p[o++] = p[i];
	}
	p[o] = '\0';
}

/* Parse a content-length value strictly; -1 if it is not a bounded decimal. */
static long
stomp_content_length(const char *p, size_t n)
{
	long	 v = 0;
	size_t	 i;

	if (n == 0 || n > 8)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Decode one frame in place; see stomp.h for the contract. */
int
stomp_decode(char *in, size_t len, struct stomp_frame *f, size_t *used,
    const char **cause)
{
	enum stomp_command	 cmd;
	size_t			 off, end, eol, cmd_end, hdr_start, body_start;
	size_t			 body_len, nh, lim, i;
	const char		*colon;
	long			 cl = -1;
	int			 esc;

	*cause = NULL;
	if (len == 0)
		return STOMP_MORE;

	/* STOMP 1.2: a bare EOL between frames is a heart-beat. */
	if (in[0] == '\n' || in[0] == '\r') {
		if (in[0] == '\r' && len < 2)
			return STOMP_MORE;
		if (in[0] == '\r' && in[1] != '\n') {
			*cause = "stray carriage return";
			return STOMP_BAD;
		}
		memset(f, 0, sizeof *f);
		f->command = STOMP_HEARTBEAT;
		*used = in[0] == '\r' ? 2 : 1;
		return STOMP_OK;
	}

	lim = len < STOMP_MAX_FRAME ? len : STOMP_MAX_FRAME;

	/* First pass: find the frame's extent and validate, changing nothing. */
	if (stomp_line(in, lim, 0, &cmd_end, &eol) == -1)
		goto more;
	if (stomp_lookup(in, cmd_end, &cmd) == -1) {
		*cause = "unknown command";
		return STOMP_BAD;
	}
	esc = stomp_escaped(cmd);
	hdr_start = off = eol + 1;
	nh = 0;
	for (;;) {
		if (off >= lim)
			goto more;
		if (stomp_line(in, lim, off, &end, &eol) == -1)
			goto more;
		if (end == off)
			break;		/* the blank line ending the headers */
		if (++nh > STOMP_MAX_HEADERS) {
			*cause = "too many headers";
			return STOMP_BAD;
		}
		if (memchr(in + off, '\0', end - off) != NULL) {
			*cause = "NUL byte in a header";
			return STOMP_BAD;
		}
		colon = memchr(in + off, ':', end - off);
		if (colon == NULL) {
			*cause = "header without a colon";
			return STOMP_BAD;
		}
		if (esc && stomp_check_escapes(in + off, end - off) == -1) {
			*cause = "invalid escape in header";
			return STOMP_BAD;
		}
		if (cl == -1 && (size_t)(colon - (in + off)) == 14 &&
		    memcmp(in + off, "content-length", 14) == 0) {
			cl = stomp_content_length(colon + 1,
			    (size_t)(in + end - colon - 1));
			if (cl < 0) {
				*cause = "invalid content-length";
				return STOMP_BAD;
			}
		}
		off = eol + 1;
	}
	body_start = eol + 1;

	if (cl >= 0) {
		if ((size_t)cl >= STOMP_MAX_FRAME - body_start) {
			*cause = "frame too large";
			return STOMP_BAD;
		}
		body_len = (size_t)cl;
		if (body_start + body_len >= len)
			return STOMP_MORE;
		if (in[body_start + body_len] != '\0') {
			*cause = "frame body not terminated by NUL";
			return STOMP_BAD;
		}
	} else {
		const char *nul;

		if (body_start >= lim)
			goto more;
		nul = memchr(in + body_start, '\0', lim - body_start);
		if (nul == NULL)
			goto more;
		body_len = (size_t)(nul - (in + body_start));
	}

	/* Second pass: terminate and unescape in place. */
	memset(f, 0, sizeof *f);
	f->command = cmd;
	off = hdr_start;
	for (i = 0; i < nh; i++) {
		char	*line = in + off, *c;

		stomp_line(in, len, off, &end, &eol);
		c = memchr(line, ':', end - off);
		*c = '\0';
		in[end] = '\0';
		if (esc) {
			stomp_unescape(line, (size_t)(c - line));
			stomp_unescape(c + 1, (size_t)(in + end - c - 1));
		}
		f->headers[i].name = line;
		f->headers[i].value = c + 1;
		off = eol + 1;
	}
	f->nheaders = nh;
	f->body = in + body_start;
	f->body_len = body_len;
	*used = body_start + body_len + 1;
	return STOMP_OK;

more:
	if (len >= STOMP_MAX_FRAME) {
		*cause = "frame too large";
		return STOMP_BAD;
	}
	return STOMP_MORE;
}

/* Reset a frame to a command with no headers and no body. */
void
stomp_frame_init(struct stomp_frame *f, enum stomp_command c)
{
	memset(f, 0, sizeof *f);
	f->command = c;
}

/* Append a borrowed header. */
int
stomp_frame_add(struct stomp_frame *f, const char *name, const char *value)
{
	if (f->nheaders == STOMP_MAX_HEADERS)
		return -1;
	f->headers[f->nheaders].name = name;
	f->headers[f->nheaders].value = value;
	f->nheaders++;
	return 0;
}

/* Find a header's value; the first occurrence wins. */
const char *
stomp_frame_get(const struct stomp_frame *f, const char *name)
{
	size_t	 i;

	for (i = 0; i < f->nheaders; i++) {
		if (strcmp(f->headers[i].name, name) == 0)
			return f->headers[i].value;
	}
	return NULL;
}

/* Append s, escaped per STOMP 1.2 when esc is set. */
static int
stomp_encode_text(struct buf *out, const char *s, int esc, int is_name)
{
	const char	*p;

	if (!esc) {
		/* Unescaped frames cannot carry these at all. */
		if (strpbrk(s, is_name ? "\r\n:" : "\r\n") != NULL)
			return -1;
		return buf_adds(out, s);
	}
	for (p = s; *p != '\0'; p++) {
		const char *rep = NULL;

		switch (*p) {
		case '\r': rep = "\\r"; break;
		case '\n': rep = "\\n"; break;
		case ':': rep = "\\c"; break;
		case '\\': rep = "\\\\"; break;
		}
		if (rep != NULL ? buf_add(out, rep, 2) : buf_add(out, p, 1))
			return -1;
	}
	return 0;
}

/* Encode a frame onto out. */
int
stomp_encode(struct buf *out, const struct stomp_frame *f)
{
	const char	*name = stomp_command_name(f->command);
	size_t		 i, start = out->len;
	int		 esc = stomp_escaped(f->command), omit_cl = 0;

	if (f->command == STOMP_HEARTBEAT)
		return buf_add(out, "\n", 1);
	if (name == NULL)
		return -1;
	for (i = 0; i < f->nheaders; i++) {
		if (strcmp(f->headers[i].name, "content-length") == 0)
			omit_cl = 1;
	}
	if (f->bare && f->body_len > 0 &&
	    memchr(f->body, '\0', f->body_len) == NULL)
		omit_cl = 1;	/* not needed: the body ends at its NUL */
	/* Never write what stomp_decode would refuse. */
	if (f->nheaders + (f->body_len > 0 && !omit_cl) > STOMP_MAX_HEADERS)
		return -1;
	if (buf_adds(out, name) == -1 || buf_add(out, "\n", 1) == -1)
		goto fail;
	for (i = 0; i < f->nheaders; i++) {
		if (stomp_encode_text(out, f->headers[i].name, esc, 1) == -1 ||
		    buf_add(out, ":", 1) == -1 ||
		    stomp_encode_text(out, f->headers[i].value, esc, 0) == -1 ||
		    buf_add(out, "\n", 1) == -1)
			goto fail;
	}
	if (f->body_len > 0 && !omit_cl &&
	    buf_printf(out, "content-length:%zu\n", f->body_len) == -1)
		goto fail;
	if (buf_add(out, "\n", 1) == -1 ||
	    buf_add(out, f->body, f->body_len) == -1 ||
	    buf_add(out, "", 1) == -1)
		goto fail;
	if (out->len - start > STOMP_MAX_FRAME)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}
