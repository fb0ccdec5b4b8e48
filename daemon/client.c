/*
 * client: one local connection on the Unix socket. Owns its buffers, limits
 * and lifetime. Requests are decoded with a bounded decoder; output is
 * written once per loop turn (after the store commits). A client that stops
 * reading first stops being read from (soft limit), then is dropped (hard
 * limit); it never blocks the loop. Dead clients are freed from the loop's
 * prepare hook, never inside their own callbacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"

#define CLIENT_READ_CHUNK	(64 * 1024)
#define CLIENT_OUT_SOFT		(1024 * 1024)		/* stop reading, stop events */
#define CLIENT_OUT_HARD		(64 * 1024 * 1024)	/* drop the client */

struct clients		 clients = TAILQ_HEAD_INITIALIZER(clients);
static uint64_t		 client_next_id;
static ev_timer		 client_watch;

static void	client_read_cb(struct ev_loop *, ev_io *, int);
static void	client_write_cb(struct ev_loop *, ev_io *, int);
static void	client_watch_cb(struct ev_loop *, ev_timer *, int);
static void	client_write_one(struct client *);
static void	client_write(struct client *);
static void	client_lag(struct client *);


/* Where requests go (main.c installs dispatch). */
static client_request_fn	*client_request;

/* Send every request of every client to fn. */
void
client_set_request(client_request_fn *fn)
{
	client_request = fn;
}

/* Start serving an accepted connection. */
void
client_create(int fd, uid_t uid, pid_t pid)
{
	struct client	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		fatalx("out of memory");
	c->id = ++client_next_id;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	buf_init(&c->in);
	outq_init(&c->out);
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(loop, &c->rio);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	if (!ev_is_active(&client_watch)) {
		ev_timer_init(&client_watch, client_watch_cb, 1.0, 1.0);
		ev_timer_start(loop, &client_watch);
	}
	log_debug("client %llu connected (pid %ld)", (unsigned long long)c->id,
	    (long)pid);
}

/* Mark a client dead: stop its watchers and close its socket; freed later. */
static void
client_lost(struct client *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("client %llu gone: %s", (unsigned long long)c->id, why);
	c->dead = 1;
	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/*
 * Make a socketless client whose answers go to put(arg, ...) (a batch),
 * which takes ownership of error and result.
 */
struct client *
client_create_internal(client_put_fn *put, void *arg)
{
	struct client	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		fatalx("out of memory");
	c->id = ++client_next_id;
	c->fd = -1;
	c->uid = getuid();
	c->put = put;
	c->put_arg = arg;
	snprintf(c->name, sizeof c->name, "batch");
	buf_init(&c->in);
	outq_init(&c->out);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	return c;
}

/* Let go of an internal client: freed with the dead ones. */
void
client_release(struct client *c)
{
	c->dead = 1;
}

/* Find a live client by id (handlers that answer later keep ids, not pointers). */
struct client *
client_find(uint64_t id)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->id == id)
			return c->dead ? NULL : c;
	}
	return NULL;
}

/* Whether the client has so much unread output that we should wait for it. */
int
client_congested(struct client *c)
{
	return c->out.left >= CLIENT_OUT_SOFT;
}

/* Record that a message of n bytes was queued (with the current cursor). */
static void
client_mark(struct client *c, size_t n)
{
	struct client_mark	*m;
	size_t			 i;

	c->queued += n;
	if (c->mlen == c->mcap) {
		size_t	 cap = c->mcap ? c->mcap * 2 : 64;

		if ((m = calloc(cap, sizeof *m)) == NULL)
			fatalx("out of memory");
		for (i = 0; i < c->mlen; i++)
			m[i] = c->marks[(c->mhead + i) % c->mcap];
		free(c->marks);
		c->marks = m;
		c->mcap = cap;
		c->mhead = 0;
	}
	m = &c->marks[(c->mhead + c->mlen++) % c->mcap];
	m->end = c->queued;
	m->seq = c->cursor;
}

/* n more bytes were written: retire the messages they completed. */
static void
client_sent(struct client *c, size_t n)
{
	struct client_mark	*m;

	c->sent += n;
	while (c->mlen > 0) {
		m = &c->marks[c->mhead];
		if (m->end > c->sent)
			break;
		c->delivered = m->seq;
		c->retired = m->end;
		c->mhead = (c->mhead + 1) % c->mcap;
		c->mlen--;
	}
}

/* Check the hard output limit after appending. */
static void
client_check_out(struct client *c)
{
	if (c->out.left > CLIENT_OUT_HARD)
		client_lost(c, "output limit exceeded (client not reading)");
}

/* n bytes were just encoded into the client's own output: queue them. */
static void
client_queued(struct client *c, size_t n)
{
	outq_own(&c->out, n);
	client_mark(c, n);
	client_check_out(c);
}

/* Queue a response; takes ownership of error and result. */
void
client_reply(struct client *c, uint32_t msgid, json_t *error, json_t *result)
{
	if (c->put != NULL) {
		c->put(c->put_arg, c, msgid, error, result);
		return;
	}
	size_t	 before = c->out.own.len;

	if (!c->dead && rpc_encode_response(&c->out.own, msgid, error,
	    error != NULL ? NULL : result) == -1)
		fatalx("out of memory");
	json_decref(error);
	json_decref(result);
	if (!c->dead)
		client_queued(c, c->out.own.len - before);
}

/* Answer a request that waited for the server. */
void
client_reply_later(struct client *c, uint32_t msgid, json_t *error,
    json_t *result)
{
	if (c->inflight > 0)
		c->inflight--;
	client_reply(c, msgid, error, result);
}

/* Whether a subscriber wants events of this type (topics are type prefixes). */
int
client_wants(struct client *c, const char *type)
{
	json_t		*t;
	size_t		 i;

	if (c->topics == NULL)
		return 1;
	json_array_foreach(c->topics, i, t) {
		const char	*p = json_string_value(t);
		size_t		 n = strlen(p);

		/* "message" matches "message.new", not "messages.x". */
		if (strncmp(type, p, n) == 0 &&
		    (type[n] == '\0' || type[n] == '.' || p[n - 1] == '.'))
			return 1;
	}
	return 0;
}

/* The client as client.list shows it; head is the newest event's seq. */
json_t *
client_describe(struct client *c, int64_t head)
{
	return json_pack("{s:I,s:s,s:I,s:I,s:b,s:O?,s:I,s:I,s:I}",
	    "id", (json_int_t)c->id, "name", c->name, "pid", (json_int_t)c->pid,
	    "uid", (json_int_t)c->uid, "subscribed", c->subscribed,
	    "topics", c->topics, "cursor", (json_int_t)c->cursor,
	    "lag", (json_int_t)(c->subscribed ? head - c->cursor : 0),
	    "queued", (json_int_t)c->out.left);
}

/*
 * Once a second: a subscriber that has kept its output over the soft limit
 * for client_stall seconds is told where to resume (a "lagged" event) and
 * dropped, so it holds no memory and no one waits for it.
 */
static void
client_watch_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct client	*c;
	ev_tstamp	 now = ev_now(l);

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead)
			continue;
		/* Lagged: the event is written, or the client gets no longer. */
		if (c->draining) {
			if (now - c->stalled >= cfg.client_stall)
				client_lost(c, "lagged and not reading");
			continue;
		}
		if (!client_congested(c)) {
			c->stalled = 0;
			continue;
		}
		if (c->stalled == 0) {
			c->stalled = now;
			continue;
		}
		if (now - c->stalled < cfg.client_stall)
			continue;
		if (!c->subscribed) {
			client_lost(c, "stopped reading");
			continue;
		}
		log_info("client %llu (%s) stopped reading; lagged at seq %lld",
		    (unsigned long long)c->id, c->name[0] ? c->name : "unnamed",
		    (long long)c->delivered);
		client_lag(c);
	}
	if (TAILQ_EMPTY(&clients))
		ev_timer_stop(l, w);
}

/* Queue an encoded message shared with other clients. */
void
client_send_wire(struct client *c, struct wire *w)
{
	if (c->dead)
		return;
	outq_wire(&c->out, w);
	client_mark(c, w->len);
	client_check_out(c);
}

/* Queue a notification; takes ownership of params. */
void
client_notify(struct client *c, const char *method, json_t *params)
{
	size_t	 before = c->out.own.len;

	if (!c->dead && rpc_encode_notify(&c->out.own, method, params) == -1)
		fatalx("out of memory");
	json_decref(params);
	if (!c->dead)
		client_queued(c, c->out.own.len - before);
}

/* Decode and dispatch every complete request in the input buffer. */
static void
client_parse(struct client *c)
{
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;
	int		 r;

	while (!c->dead && buf_left(&c->in) > 0 && !client_congested(c)) {
		r = rpc_decode(buf_head(&c->in), buf_left(&c->in),
		    RPC_MAX_MESSAGE, &m, &used, &cause);
		if (r == RPC_MORE)
			break;
		if (r == RPC_BAD) {
			/* Cannot resynchronise: say why, then hang up. */
			log_info("client %llu: %s", (unsigned long long)c->id, cause);
			client_notify(c, "error", json_pack("[o]",
			    rpc_error_new(r == RPC_BAD && strstr(cause, "large") ?
			    RPC_E_TOO_LARGE : RPC_E_INVALID_REQUEST, "%s", cause)));
			client_flush_all();
			client_lost(c, cause);
			return;
		}
		buf_consume(&c->in, used);
		if (r == RPC_INVALID) {
			if (m.has_msgid && m.type == RPC_REQUEST)
				client_reply(c, m.msgid, rpc_error_new(
				    RPC_E_INVALID_REQUEST, "%s", cause), NULL);
			continue;
		}
		if (m.type == RPC_REQUEST)
			client_request(c, m.msgid, m.method, m.params);
		rpc_msg_clear(&m);
	}
	if (!c->dead && client_congested(c))
		ev_io_stop(loop, &c->rio);	/* resumed when output drains */
}

static void
client_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct client	*c = w->data;
	ssize_t		 n;

	if (buf_reserve(&c->in, CLIENT_READ_CHUNK) == -1)
		fatalx("out of memory");
	n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	if (n == 0) {
		client_lost(c, "closed");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			client_lost(c, strerror(errno));
		return;
	}
	c->in.len += (size_t)n;
	client_parse(c);
}

/* Write as much as the socket takes; watch for writability if it is full. */
static void
client_write(struct client *c)
{
	ssize_t	 n;

	while (c->out.left > 0) {
		n = outq_write(&c->out, c->fd);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ev_io_start(loop, &c->wio);
				return;
			}
			client_lost(c, strerror(errno));
			return;
		}
		client_sent(c, (size_t)n);
	}
	ev_io_stop(loop, &c->wio);
	if (c->draining) {
		client_lost(c, "lagged");
		return;
	}
	if (!ev_is_active(&c->rio)) {
		ev_io_start(loop, &c->rio);
		client_parse(c);	/* requests held back while congested */
	}
}

/* One last non-blocking write before hanging up (the shutdown event). */
static void
client_write_one(struct client *c)
{
	ssize_t	 n;

	n = outq_write(&c->out, c->fd);
	if (n > 0)
		client_sent(c, (size_t)n);
}

/*
 * A subscriber stopped reading: keep only the rest of the message it is in
 * the middle of, so the stream stays whole, then a lagged event naming the
 * last event it will have received in full; hang up once that is written
 * (or after another client_stall seconds).
 */
static void
client_lag(struct client *c)
{
	int64_t		 resume = c->delivered;
	uint64_t	 keep = 0;

	if (c->mlen > 0 && c->sent > c->retired) {
		/* The first unfinished message is partly written: finish it. */
		keep = c->marks[c->mhead].end - c->sent;
		resume = c->marks[c->mhead].seq;
	}
	outq_keep(&c->out, keep);
	c->mlen = keep > 0 ? 1 : 0;
	c->queued = c->sent + keep;
	c->subscribed = 0;
	c->draining = 1;
	c->stalled = ev_now(loop);
	ev_io_stop(loop, &c->rio);
	client_notify(c, "event", json_pack("[{s:s,s:I}]", "type", "lagged",
	    "resumeFrom", (json_int_t)resume));
	client_write(c);
}

static void
client_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	client_write(w->data);
}

/* Write every client's pending output (once per loop turn). */
void
client_flush_all(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (!c->dead && c->out.left > 0 && !ev_is_active(&c->wio))
			client_write(c);
		/* Called after the commit: all queued so far is backed by it. */
		c->committed = c->queued;
	}
}

/* Withdraw what was queued since the last commit; see daemon.h. */
void
client_turn_failed(const char *why)
{
	struct client	*c;
	uint64_t	 keep;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->fd == -1 || c->queued == c->committed)
			continue;
		keep = c->committed > c->sent ? c->committed - c->sent : 0;
		outq_keep(&c->out, keep);
		c->queued = c->sent + c->out.left;
		while (c->mlen > 0 &&
		    c->marks[(c->mhead + c->mlen - 1) % c->mcap].end > c->queued)
			c->mlen--;
		c->subscribed = 0;
		c->draining = 1;
		c->stalled = ev_now(loop);
		ev_io_stop(loop, &c->rio);
		client_notify(c, "error", json_pack("[o]", rpc_error_new(
		    RPC_E_INTERNAL, "the daemon could not store this client's "
		    "requests, none of them took effect: %s", why)));
		client_write(c);
	}
}

/* Whether any client has output waiting (answers wait for the commit). */
int
client_output_pending(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (!c->dead && c->out.left > 0)
			return 1;
	}
	return 0;
}

/* Free the clients marked dead. */
void
client_reap(void)
{
	struct client	*c, *next;

	for (c = TAILQ_FIRST(&clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->dead)
			continue;
		TAILQ_REMOVE(&clients, c, entry);
		json_decref(c->topics);
		free(c->marks);
		buf_clear(&c->in);
		outq_clear(&c->out);
		free(c);
	}
}

/*
 * The daemon is stopping: every connected client gets a "shutdown" event,
 * written now (best effort, without blocking).
 */
void
client_say_shutdown(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->fd == -1)
			continue;
		client_notify(c, "event", json_pack("[{s:s}]", "type", "shutdown"));
		client_write_one(c);
	}
}

/* Drop every client (shutdown). */
void
client_close_all(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		client_lost(c, "daemon stopping");
	client_reap();
}
