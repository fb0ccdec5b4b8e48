/*
 * libimgw: a blocking MessagePack-RPC client for imgwd. Owns one socket and
 * its buffers; converts JSON text to and from the wire. Never exits, never
 * aborts, never prints: every failure is a return code and a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "imgw.h"
#include "paths.h"
#include "rpc.h"

/* Something read but not yet delivered: an event, or an asynchronous answer. */
struct queued {
	char		*json;		/* event, or result */
	imgw_reply_fn	*cb;		/* NULL for an event */
	void		*arg;
	int		 rc;
	char		*code, *message;
	struct queued	*next;
};

/* An asynchronous call waiting for its answer. */
struct waiting {
	uint32_t	 msgid;
	imgw_reply_fn	*cb;
	void		*arg;
	struct waiting	*next;
};

struct imgw {
	int		 fd;
	uint32_t	 next_id;
	struct buf	 in;
	struct buf	 out;
	imgw_event_fn	*cb;
	void		*cb_arg;
	struct queued	*head, *tail;	/* read but not yet dispatched */
	struct waiting	*waiting;	/* asynchronous calls */
	int		 nwaiting;
	char		 code[32];
	char		 message[512];
};

/* Record a local failure. */
static int
imgw_fail(struct imgw *c, int rc, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(c->code, sizeof c->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof c->message, fmt, ap);
	va_end(ap);
	return rc;
}

/* Write the default socket path. */
int
imgw_default_socket(char *buf, size_t len)
{
	return paths_socket(buf, len);
}

/* Write an account's socket path. */
int
imgw_account_socket(const char *name, char *buf, size_t len)
{
	size_t	 n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > 64 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.@-") != n || name[0] == '.')
		return -1;
	return paths_socket_for(strcmp(name, "imgwd") == 0 ? NULL : name, buf, len);
}

/* Connect to the daemon. */
struct imgw *
imgw_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct imgw		*c;
	char			 def[sizeof sun.sun_path];
	int			 fd;

	if (path == NULL) {
		if (paths_socket(def, sizeof def) == -1) {
			if (err != NULL)
				snprintf(err, errlen, "default socket path too long");
			return NULL;
		}
		path = def;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		if (err != NULL)
			snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		if (err != NULL)
			snprintf(err, errlen, "cannot connect to %s: %s%s", path,
			    strerror(errno), errno == ENOENT || errno == ECONNREFUSED ?
			    " (is imgwd running?)" : "");
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = fd;
	buf_init(&c->in);
	buf_init(&c->out);
	return c;
}

/* Close and free. */
void
imgw_close(struct imgw *c)
{
	struct queued	*q;
	struct waiting	*w;

	if (c == NULL)
		return;
	close(c->fd);
	while ((q = c->head) != NULL) {
		c->head = q->next;
		free(q->json);
		free(q->code);
		free(q->message);
		free(q);
	}
	while ((w = c->waiting) != NULL) {
		c->waiting = w->next;
		free(w);
	}
	buf_clear(&c->in);
	buf_clear(&c->out);
	free(c);
}

/* Return the last error code. */
const char *
imgw_error_code(const struct imgw *c)
{
	return c->code;
}

/* Return the last error message. */
const char *
imgw_error_message(const struct imgw *c)
{
	return c->message;
}

/* Set the event callback. */
void
imgw_on_event(struct imgw *c, imgw_event_fn *cb, void *arg)
{
	c->cb = cb;
	c->cb_arg = arg;
}

/* Return the socket. */
int
imgw_fd(const struct imgw *c)
{
	return c->fd;
}

/* Free library-allocated memory. */
void
imgw_free(void *p)
{
	free(p);
}

static long long
imgw_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none). */
static int
imgw_left(long long deadline)
{
	long long	 d;

	if (deadline < 0)
		return -1;
	d = deadline - imgw_now_ms();
	return d < 0 ? 0 : (int)d;
}

/* Read what the socket has, without blocking. 1 read, 0 nothing, or an error. */
static int
imgw_read(struct imgw *c)
{
	ssize_t	 n;

	if (buf_reserve(&c->in, 65536) == -1)
		return imgw_fail(c, IMGW_E_IO, "io", "out of memory");
	n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
	if (n == 0) {
		/* Keep the reason if imgwd said why before hanging up. */
		if (c->code[0] != '\0')
			return IMGW_E_IO;
		return imgw_fail(c, IMGW_E_IO, "io", "imgwd closed the connection");
	}
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return imgw_fail(c, IMGW_E_IO, "io", "read from imgwd: %s",
		    strerror(errno));
	}
	c->in.len += (size_t)n;
	return 1;
}

/*
 * Wait up to timeout ms for the socket (readable, or writable too when
 * want_out), then read what is readable. 1 ready, 0 timeout, or an error.
 */
static int
imgw_wait(struct imgw *c, int timeout, int want_out)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	int		 r;

	if (want_out)
		pfd.events |= POLLOUT;
	do
		r = poll(&pfd, 1, timeout);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r == -1)
		return imgw_fail(c, IMGW_E_IO, "io", "poll: %s", strerror(errno));
	if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && imgw_read(c) < 0)
		return IMGW_E_IO;
	return 1;
}

/*
 * Write the whole output buffer. While the daemon cannot take more, read
 * what it sends, so that neither side can block the other.
 */
static int
imgw_flush(struct imgw *c)
{
	ssize_t	 n;

	while (buf_left(&c->out) > 0) {
		n = send(c->fd, buf_head(&c->out), buf_left(&c->out), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (imgw_wait(c, -1, 1) < 0)
				return IMGW_E_IO;
			continue;
		}
		return imgw_fail(c, IMGW_E_IO, "io", "write to imgwd: %s",
		    n == 0 ? "closed" : strerror(errno));
	}
	return IMGW_OK;
}

/* Read, waiting up to timeout for something. 1 read, 0 timeout, or an error. */
static int
imgw_fill(struct imgw *c, int timeout)
{
	int	 r;

	if ((r = imgw_read(c)) != 0)
		return r;
	return imgw_wait(c, timeout, 0);
}

/* Append to the delivery queue. */
static void
imgw_enqueue(struct imgw *c, struct queued *q)
{
	if (c->tail != NULL)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
}

/* Take an answer to an asynchronous call: queue its callback. Returns 1 if it was one. */
static int
imgw_answered(struct imgw *c, struct rpc_msg *m)
{
	struct waiting	**wp, *w;
	struct queued	*q;

	for (wp = &c->waiting; (w = *wp) != NULL; wp = &w->next) {
		if (w->msgid == m->msgid)
			break;
	}
	if (w == NULL)
		return 0;
	*wp = w->next;
	c->nwaiting--;
	if ((q = calloc(1, sizeof *q)) != NULL) {
		q->cb = w->cb;
		q->arg = w->arg;
		if (json_is_null(m->error)) {
			q->rc = IMGW_OK;
			q->json = json_dumps(m->result, JSON_COMPACT | JSON_ENCODE_ANY);
		} else {
			q->rc = IMGW_E_REMOTE;
			q->code = strdup(json_string_value(json_object_get(m->error,
			    "code")) ? json_string_value(json_object_get(m->error,
			    "code")) : "internal");
			q->message = strdup(json_string_value(json_object_get(m->error,
			    "message")) ? json_string_value(json_object_get(m->error,
			    "message")) : "");
		}
		imgw_enqueue(c, q);
	}
	free(w);
	return 1;
}

/* Queue an event for imgw_dispatch. */
static void
imgw_queue(struct imgw *c, json_t *ev)
{
	struct queued	*q;

	if ((q = calloc(1, sizeof *q)) == NULL ||
	    (q->json = json_dumps(ev, JSON_COMPACT)) == NULL) {
		free(q);
		return;
	}
	imgw_enqueue(c, q);
}

/* Take a notification: events are queued, a farewell error is remembered. */
static void
imgw_notified(struct imgw *c, struct rpc_msg *m)
{
	json_t	*p0 = json_array_get(m->params, 0);

	if (strcmp(m->method, "event") == 0 && json_is_object(p0))
		imgw_queue(c, p0);
	else if (strcmp(m->method, "error") == 0 && json_is_object(p0))
		imgw_fail(c, IMGW_E_IO, "io", "imgwd: %s",
		    json_string_value(json_object_get(p0, "message")));
}

/*
 * Decode buffered messages, queueing events, until the response to msgid
 * (then *resp is filled) or the buffer runs dry. Returns 1 found, 0 not yet,
 * or IMGW_E_IO on a broken stream.
 */
static int
imgw_drain(struct imgw *c, uint32_t msgid, struct rpc_msg *resp)
{
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;
	int		 r;

	while (buf_left(&c->in) > 0) {
		r = rpc_decode(buf_head(&c->in), buf_left(&c->in), RPC_MAX_MESSAGE,
		    &m, &used, &cause);
		if (r == RPC_MORE)
			return 0;
		if (r == RPC_BAD)
			return imgw_fail(c, IMGW_E_IO, "io",
			    "bad data from imgwd: %s", cause);
		buf_consume(&c->in, used);
		if (r == RPC_INVALID)
			continue;
		if (m.type == RPC_NOTIFY)
			imgw_notified(c, &m);
		else if (m.type == RPC_RESPONSE && resp != NULL && m.msgid == msgid) {
			*resp = m;
			return 1;
		} else if (m.type == RPC_RESPONSE)
			imgw_answered(c, &m);
		rpc_msg_clear(&m);
	}
	return 0;
}

/* Encode and send a request; *id is its msgid. Returns IMGW_OK or an error. */
static int
imgw_request(struct imgw *c, const char *method, const char *args_json,
    uint32_t *id)
{
	json_error_t	 jerr;
	json_t		*args, *params;
	int		 r;

	c->code[0] = c->message[0] = '\0';
	if (method == NULL || *method == '\0')
		return imgw_fail(c, IMGW_E_ARGS, "args", "no method given");
	if (args_json == NULL)
		args = json_object();
	else if ((args = json_loads(args_json, 0, &jerr)) == NULL)
		return imgw_fail(c, IMGW_E_ARGS, "args",
		    "arguments are not JSON: %s", jerr.text);
	if (!json_is_object(args)) {
		json_decref(args);
		return imgw_fail(c, IMGW_E_ARGS, "args",
		    "arguments must be a JSON object");
	}
	params = json_pack("[o]", args);
	/* msgid 0 is never used, so a wrapped counter skips it. */
	if (++c->next_id == 0)
		c->next_id = 1;
	*id = c->next_id;
	r = rpc_encode_request(&c->out, *id, method, params);
	json_decref(params);
	if (r == -1)
		return imgw_fail(c, IMGW_E_ARGS, "args", "cannot encode request");
	return imgw_flush(c);
}

/* Send a request without waiting. */
long
imgw_call_async(struct imgw *c, const char *method, const char *args_json,
    imgw_reply_fn *cb, void *arg)
{
	struct waiting	*w;
	uint32_t	 id;
	int		 r;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return imgw_fail(c, IMGW_E_ARGS, "args", "out of memory");
	if ((r = imgw_request(c, method, args_json, &id)) != IMGW_OK) {
		free(w);
		return r;
	}
	w->msgid = id;
	w->cb = cb;
	w->arg = arg;
	w->next = c->waiting;
	c->waiting = w;
	c->nwaiting++;
	return (long)id;
}

/* The number of asynchronous calls not answered yet. */
int
imgw_pending(const struct imgw *c)
{
	return c->nwaiting;
}

/* Send a text message. */
int
imgw_send_text(struct imgw *c, const char *user, const char *text, char **id,
    int timeout_ms)
{
	json_t	*args = json_pack("{s:s,s:s}", "user", user ? user : "",
	    "text", text ? text : ""), *res;
	char	*a, *out = NULL;
	int	 r;

	if (id != NULL)
		*id = NULL;
	if (args == NULL || user == NULL || text == NULL) {
		json_decref(args);
		return imgw_fail(c, IMGW_E_ARGS, "args",
		    "user and text must be UTF-8 strings");
	}
	a = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	r = imgw_call(c, "message.send", a, &out, timeout_ms);
	free(a);
	if (r == IMGW_OK && id != NULL) {
		res = json_loads(out, 0, NULL);
		if (json_string_value(json_object_get(res, "id")) != NULL)
			*id = strdup(json_string_value(json_object_get(res, "id")));
		json_decref(res);
	}
	free(out);
	return r;
}

/* Call a method and wait for its answer. */
int
imgw_call(struct imgw *c, const char *method, const char *args_json,
    char **result_json, int timeout_ms)
{
	struct rpc_msg	 resp;
	long long	 deadline = timeout_ms < 0 ? -1 : imgw_now_ms() + timeout_ms;
	uint32_t	 id;
	int		 r;

	if (result_json != NULL)
		*result_json = NULL;
	if ((r = imgw_request(c, method, args_json, &id)) != IMGW_OK)
		return r;

	for (;;) {
		if ((r = imgw_drain(c, id, &resp)) < 0)
			return r;
		if (r == 1)
			break;
		if ((r = imgw_fill(c, imgw_left(deadline))) < 0)
			return r;
		if (r == 0)
			return imgw_fail(c, IMGW_E_TIMEOUT, "timeout",
			    "imgwd did not answer %s in %d ms", method, timeout_ms);
	}
	if (!json_is_null(resp.error)) {
		const char *code = json_string_value(json_object_get(resp.error, "code"));
		const char *msg = json_string_value(json_object_get(resp.error, "message"));

		imgw_fail(c, IMGW_E_REMOTE, code ? code : "internal", "%s",
		    msg ? msg : "error without message");
		rpc_msg_clear(&resp);
		return IMGW_E_REMOTE;
	}
	if (result_json != NULL &&
	    (*result_json = json_dumps(resp.result, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		rpc_msg_clear(&resp);
		return imgw_fail(c, IMGW_E_ARGS, "args", "out of memory");
	}
	rpc_msg_clear(&resp);
	return IMGW_OK;
}

/* Subscribe to events. */
int
imgw_subscribe(struct imgw *c, long long since, long long *head)
{
	char	 args[64], *res = NULL;
	json_t	*j;
	int	 r;

	if (since >= 0)
		snprintf(args, sizeof args, "{\"since\":%lld}", since);
	else
		snprintf(args, sizeof args, "{}");
	if ((r = imgw_call(c, "events.subscribe", args, &res, -1)) != IMGW_OK)
		return r;
	if (head != NULL) {
		j = json_loads(res, 0, NULL);
		*head = json_integer_value(json_object_get(j, "seq"));
		json_decref(j);
	}
	imgw_free(res);
	return IMGW_OK;
}

/* Deliver every queued event; returns how many. */
static int
imgw_deliver(struct imgw *c)
{
	struct queued	*q;
	int		 n = 0;

	while ((q = c->head) != NULL) {
		c->head = q->next;
		if (c->head == NULL)
			c->tail = NULL;
		if (q->cb != NULL)
			q->cb(q->rc, q->json, q->code, q->message, q->arg);
		else if (q->rc == IMGW_OK && c->cb != NULL && q->json != NULL &&
		    q->code == NULL)
			c->cb(q->json, c->cb_arg);
		free(q->json);
		free(q->code);
		free(q->message);
		free(q);
		n++;
	}
	return n;
}

/* The connection is gone: every waiting asynchronous call gets IMGW_E_IO. */
static void
imgw_fail_waiting(struct imgw *c)
{
	struct waiting	*w;
	struct queued	*q;

	while ((w = c->waiting) != NULL) {
		c->waiting = w->next;
		c->nwaiting--;
		if (w->cb != NULL && (q = calloc(1, sizeof *q)) != NULL) {
			q->cb = w->cb;
			q->arg = w->arg;
			q->rc = IMGW_E_IO;
			q->code = strdup("io");
			q->message = strdup(c->message);
			imgw_enqueue(c, q);
		}
		free(w);
	}
}

/* Deliver events, waiting up to timeout_ms for some. */
int
imgw_dispatch(struct imgw *c, int timeout_ms)
{
	long long	 deadline = timeout_ms < 0 ? -1 : imgw_now_ms() + timeout_ms;
	int		 n, r;

	for (;;) {
		if ((r = imgw_drain(c, 0, NULL)) < 0 ||
		    (buf_left(&c->out) > 0 && (r = imgw_flush(c)) < 0)) {
			imgw_fail_waiting(c);
			imgw_deliver(c);
			return r;
		}
		if ((n = imgw_deliver(c)) > 0)
			return n;
		if ((r = imgw_fill(c, imgw_left(deadline))) < 0) {
			imgw_fail_waiting(c);
			imgw_deliver(c);
			return r;
		}
		if (r == 0)
			return 0;
	}
}
