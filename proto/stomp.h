/*
 * stomp: STOMP 1.2 frame encoder and incremental decoder, shared by the
 * daemon and the reference server. Pure: no I/O, no allocation while
 * decoding (frames are decoded in place in the caller's buffer).
 */
#ifndef IMGW_STOMP_H
#define IMGW_STOMP_H

#include <stddef.h>

struct buf;

/* Hard limits; a frame beyond them is malformed. */
#define STOMP_MAX_FRAME		(1024 * 1024)	/* command + headers + body */
#define STOMP_MAX_HEADERS	32

enum stomp_command {
	STOMP_HEARTBEAT = 0,	/* a bare EOL between frames (STOMP 1.2 heart-beat) */
	STOMP_CONNECT,
	STOMP_STOMP,
	STOMP_CONNECTED,
	STOMP_SEND,
	STOMP_SUBSCRIBE,
	STOMP_UNSUBSCRIBE,
	STOMP_ACK,
	STOMP_NACK,
	STOMP_BEGIN,
	STOMP_COMMIT,
	STOMP_ABORT,
	STOMP_DISCONNECT,
	STOMP_MESSAGE,
	STOMP_RECEIPT,
	STOMP_ERROR,
};

/* Decoder outcomes: exactly three, never one code with two meanings. */
enum stomp_status {
	STOMP_OK = 0,		/* one complete frame decoded */
	STOMP_MORE = 1,		/* the buffer holds only part of a frame */
	STOMP_BAD = -1,		/* malformed; *cause says why */
};

struct stomp_header {
	const char	*name;
	const char	*value;
};

struct stomp_frame {
	enum stomp_command	 command;
	size_t			 nheaders;
	struct stomp_header	 headers[STOMP_MAX_HEADERS];
	const char		*body;		/* NUL-terminated; may hold NULs if content-length said so */
	size_t			 body_len;
	/*
	 * Encoding only: leave out content-length when the body has no NUL,
	 * as the seed's frames do (STOMP 1.2 then reads up to the NUL).
	 */
	int			 bare;
};

/*
 * Decode one frame from the start of in[0 .. len). On STOMP_OK, *used is the
 * number of bytes the frame took (up to and including its NUL; EOLs after it
 * decode as heart-beats),
 * and f points into in, which is modified in place (headers unescaped,
 * NUL-terminated): f is valid until the caller reuses those bytes. A bare
 * EOL decodes as a STOMP_HEARTBEAT frame. On STOMP_MORE nothing is changed
 * and the caller should wait for more bytes (the frame is bounded by
 * STOMP_MAX_FRAME, beyond which it is STOMP_BAD). On STOMP_BAD *cause is a
 * static string describing the error.
 */
int		 stomp_decode(char *in, size_t len, struct stomp_frame *f,
		     size_t *used, const char **cause);

/* Start building a frame with no headers and no body. */
void		 stomp_frame_init(struct stomp_frame *, enum stomp_command);
/*
 * Add a header; name and value are borrowed and must outlive the frame's
 * encoding. Returns 0, or -1 if the frame already has STOMP_MAX_HEADERS.
 */
int		 stomp_frame_add(struct stomp_frame *, const char *name,
		     const char *value);
/* The value of the first header with this name, or NULL (STOMP 1.2: first wins). */
const char	*stomp_frame_get(const struct stomp_frame *, const char *name);

/*
 * Append the encoded frame to out: headers escaped (except in CONNECT,
 * STOMP and CONNECTED frames), a content-length header added when there is
 * a body and none was given, then the body and NUL. A heart-beat encodes as
 * a single "\n". Returns 0, or -1 on out-of-memory or a header that cannot
 * be encoded (a CR, LF or ':' in a CONNECT header name), or a frame
 * stomp_decode would refuse (over STOMP_MAX_HEADERS or STOMP_MAX_FRAME).
 */
int		 stomp_encode(struct buf *out, const struct stomp_frame *);

/* The command's name ("SEND"), or NULL for STOMP_HEARTBEAT. */
const char	*stomp_command_name(enum stomp_command);

#endif
