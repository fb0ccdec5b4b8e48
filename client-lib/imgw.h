/*
 * imgw.h: the C client library for imgwd, the local XuqmGroup IM gateway.
 *
 * A connection speaks MessagePack-RPC to the daemon's Unix socket
 * (proto/RPC.md). Arguments and results cross this API as JSON text, so a
 * caller needs no MessagePack or JSON library of its own.
 *
 * Threads: a connection is not thread-safe; use one per thread, or guard
 * each connection with a lock. Distinct connections are independent.
 * Callbacks run only inside imgw_dispatch, on the caller's thread; they
 * must not call imgw_dispatch or imgw_close on their own connection (other
 * calls, imgw_call included, are fine). No function exits or aborts.
 */
#ifndef IMGW_H
#define IMGW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMGW_API __attribute__((visibility("default")))

/* Return codes. */
#define IMGW_OK		  0	/* success */
#define IMGW_E_REMOTE	(-1)	/* the daemon answered with an error: see imgw_error_code */
#define IMGW_E_IO	(-2)	/* the connection failed or was lost */
#define IMGW_E_TIMEOUT	(-3)	/* no answer within the timeout */
#define IMGW_E_ARGS	(-4)	/* bad arguments (e.g. args_json is not a JSON object) */

struct imgw;

/*
 * Called once per event with the event as a JSON object
 * ({"seq": N, "type": "message.new", ...}). The text is valid only during
 * the call. The callback must not call imgw_dispatch or imgw_close on the
 * same connection.
 */
typedef void imgw_event_fn(const char *event_json, void *arg);

/*
 * Connect to the daemon at path, or at the default socket when path is NULL
 * ($IMGW_SOCKET, else $XDG_RUNTIME_DIR/imgw/imgwd.sock, else
 * /tmp/imgw-UID/imgwd.sock). Returns a connection, or NULL with a
 * NUL-terminated reason in err (errlen bytes at most; err may be NULL).
 */
IMGW_API struct imgw	*imgw_connect(const char *path, char *err, size_t errlen);

/*
 * Called once with the answer to an imgw_call_async: rc is IMGW_OK (then
 * result_json is the result) or IMGW_E_REMOTE (then error_code and
 * error_message say why), or IMGW_E_IO if the connection was lost first.
 * The strings are valid only during the call.
 */
typedef void imgw_reply_fn(int rc, const char *result_json,
    const char *error_code, const char *error_message, void *arg);

/* Close the connection and free it; NULL is allowed. */
IMGW_API void		 imgw_close(struct imgw *);

/*
 * Call a method synchronously. args_json is a JSON object of named
 * arguments (NULL means {}). On IMGW_OK, *result_json (if result_json is not
 * NULL) is the result as JSON text, to be released with imgw_free. Events
 * arriving meanwhile are queued for imgw_dispatch. timeout_ms < 0 waits
 * forever. Returns IMGW_OK, IMGW_E_REMOTE (imgw_error_code and
 * imgw_error_message say what), IMGW_E_IO, IMGW_E_TIMEOUT or IMGW_E_ARGS.
 * After IMGW_E_IO or IMGW_E_TIMEOUT the connection is unusable: close it.
 */
IMGW_API int		 imgw_call(struct imgw *, const char *method,
			     const char *args_json, char **result_json,
			     int timeout_ms);

/*
 * The stable error code of the last failure ("not_found", "offline", ...;
 * "io", "timeout" or "args" for local failures), or "" after a success.
 * Valid until the next call on the connection.
 */
IMGW_API const char	*imgw_error_code(const struct imgw *);

/* A human-readable message for the last failure; "" after a success. */
IMGW_API const char	*imgw_error_message(const struct imgw *);

/*
 * Send a request without waiting (pipelining): any number may be in flight
 * and their answers may come in any order. cb (may be NULL) runs from
 * imgw_dispatch with the answer. Returns the request's id (> 0), or
 * IMGW_E_ARGS or IMGW_E_IO.
 */
IMGW_API long		 imgw_call_async(struct imgw *, const char *method,
			     const char *args_json, imgw_reply_fn *cb, void *arg);

/* The number of asynchronous calls still waiting for an answer. */
IMGW_API int		 imgw_pending(const struct imgw *);

/*
 * Send a text message to a user: a typed form of message.send. On IMGW_OK,
 * *id (if id is not NULL) is the new message's id, to free with imgw_free.
 * Returns as imgw_call.
 */
IMGW_API int		 imgw_send_text(struct imgw *, const char *user,
			     const char *text, char **id, int timeout_ms);

/* Set the event callback (NULL to drop events). */
IMGW_API void		 imgw_on_event(struct imgw *, imgw_event_fn *, void *arg);

/*
 * Subscribe to events: those after seq since (since >= 0 replays the log),
 * or only new ones (since < 0). Events are delivered by imgw_dispatch.
 * *head (if not NULL) receives the newest seq at the time of the call.
 * Returns as imgw_call.
 */
IMGW_API int		 imgw_subscribe(struct imgw *, long long since,
			     long long *head);

/*
 * Deliver queued events and asynchronous answers, in the order they came,
 * then wait up to timeout_ms (< 0: forever) for more and deliver those.
 * Returns the number delivered (0 on timeout), or IMGW_E_IO when the
 * connection is lost (waiting asynchronous calls then get IMGW_E_IO).
 */
IMGW_API int		 imgw_dispatch(struct imgw *, int timeout_ms);

/* The connection's file descriptor, for use with poll(2) and imgw_dispatch. */
IMGW_API int		 imgw_fd(const struct imgw *);

/* Free a string returned by this library. */
IMGW_API void		 imgw_free(void *);

/*
 * Write the default socket path into buf. Returns 0, or -1 if it does not
 * fit in len bytes.
 */
IMGW_API int		 imgw_default_socket(char *buf, size_t len);

/*
 * Write the socket path of account name (as imgwd --account name chooses
 * it) into buf. Returns 0, or -1 for a bad name or a path over len bytes.
 */
IMGW_API int		 imgw_account_socket(const char *name, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
