/*
 * rpc: MessagePack-RPC messages to and from JSON values (jansson), for the
 * daemon and the client library. The only code that includes msgpack.h.
 * Decoding is bounded: the framing is checked before anything is allocated.
 */
#ifndef IMGW_RPC_H
#define IMGW_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct buf;

#define IMGW_PROTOCOL_VERSION	"1.0"		/* proto/RPC.md */
#define RPC_MAX_MESSAGE	(4 * 1024 * 1024)	/* one encoded message */
#define RPC_MAX_DEPTH	32			/* nesting of arrays and maps */

enum rpc_type {
	RPC_REQUEST = 0,	/* [0, msgid, method, params] */
	RPC_RESPONSE = 1,	/* [1, msgid, error, result] */
	RPC_NOTIFY = 2,		/* [2, method, params] */
};

enum rpc_status {
	RPC_OK = 0,		/* one message decoded */
	RPC_MORE = 1,		/* only part of a message is buffered */
	RPC_BAD = -1,		/* not MessagePack, or over a limit: stream unusable */
	RPC_INVALID = -2,	/* well-formed MessagePack that is no valid message */
};

struct rpc_msg {
	enum rpc_type	 type;
	uint32_t	 msgid;		/* requests and responses */
	int		 has_msgid;	/* set even for RPC_INVALID when known */
	char		*method;	/* requests and notifications */
	json_t		*params;	/* requests and notifications: an array */
	json_t		*error;		/* responses: null on success */
	json_t		*result;	/* responses */
};

/*
 * Stable error codes carried in error objects {"code": NAME, "message": TEXT}.
 * Names are part of the local protocol (proto/RPC.md); never renumber.
 */
enum rpc_error {
	RPC_E_INVALID_REQUEST = 1,	/* "invalid_request": not a valid RPC message */
	RPC_E_NO_METHOD,		/* "no_such_method" */
	RPC_E_BAD_PARAMS,		/* "bad_params": missing or mistyped argument */
	RPC_E_NOT_FOUND,		/* "not_found" */
	RPC_E_FORBIDDEN,		/* "forbidden": the server refused, not allowed */
	RPC_E_CONFLICT,			/* "conflict" */
	RPC_E_UPSTREAM,			/* "upstream": the server failed or is unreachable */
	RPC_E_OFFLINE,			/* "offline": needs the upstream session */
	RPC_E_TOO_LARGE,		/* "too_large": over a size limit */
	RPC_E_BUSY,			/* "busy": a per-client limit was hit */
	RPC_E_INTERNAL,			/* "internal": the daemon failed (disk, memory) */
	RPC_E_UNAUTHORIZED,		/* "unauthorized": the token was refused */
	RPC_E_UNSUPPORTED,		/* "unsupported": the server lacks an extension */
};

/* The wire name of an error code, or "internal" for an unknown one. */
const char	*rpc_error_name(enum rpc_error);
/* A new error object {"code", "message"}; the caller owns it. */
json_t		*rpc_error_new(enum rpc_error, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Decode one message from in[0 .. len). On RPC_OK fill m (the caller owns it
 * and must rpc_msg_clear it) and set *used to its length. RPC_MORE: nothing
 * changed, wait for more bytes. RPC_INVALID: *used bytes hold a complete
 * MessagePack object that is not a valid message; skip them and, when
 * m->has_msgid, answer m->msgid with an error. RPC_BAD: the stream is not
 * MessagePack or exceeds maxlen or RPC_MAX_DEPTH; it cannot be resynchronised.
 * *cause is a static string on RPC_INVALID and RPC_BAD.
 */
int		 rpc_decode(const char *in, size_t len, size_t maxlen,
		     struct rpc_msg *m, size_t *used, const char **cause);
/* Free what a decoded message owns. */
void		 rpc_msg_clear(struct rpc_msg *);

/* Append [0, msgid, method, params]; params must be an array. Returns 0 or -1. */
int		 rpc_encode_request(struct buf *, uint32_t msgid, const char *method,
		     const json_t *params);
/* Append [1, msgid, error, result]; NULL means nil. Returns 0 or -1. */
int		 rpc_encode_response(struct buf *, uint32_t msgid,
		     const json_t *error, const json_t *result);
/* Append [2, method, params]. Returns 0 or -1. */
int		 rpc_encode_notify(struct buf *, const char *method,
		     const json_t *params);
/* Append one JSON value as MessagePack. Returns 0 or -1. */
int		 rpc_encode_value(struct buf *, const json_t *);
/*
 * The JSON form of the one MessagePack value that is in[0 .. len), or NULL
 * if it is not exactly one value with a JSON form (within RPC_MAX_DEPTH).
 */
json_t		*rpc_decode_value(const char *in, size_t len);

#endif
