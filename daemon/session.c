/*
 * session: the STOMP 1.2 session on top of the upstream WebSocket. Owns the
 * connection state, the CONNECT handshake, subscriptions, request/reply
 * correlation (request-id, UPSTREAM.md) and the offline sync cursor.
 * Never touches sockets (upstream.c) or SQL (store.c) directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "stomp.h"
#include "social.h"
#include "store.h"

#define REQUEST_TIMEOUT	30.0	/* seconds an upstream request may take */
#define SYNC_PAGE	500
#define SYNC_QUIET	0.1	/* a seed sync is over after this much quiet */
#define SYNC_QUIET_MAX	0.5	/* ... or this long after the server read it */
/*
 * A session proves healthy by staying online this long; only then does the
 * reconnect back-off start over. A server that fails right after CONNECTED
 * (an ERROR for a SUBSCRIBE, a close) meets the same capped, growing
 * back-off as one that refuses the connection.
 */
#define SESSION_HEALTHY	5.0
/* Nesting of the server's JSON bodies; deeper is refused (UPSTREAM.md). */
#define SESSION_JSON_DEPTH	16
/*
 * Bytes scanned by decode attempts for one frame before it is refused: a
 * frame trickling in as many small pieces, each ending in a NUL of its
 * body, would otherwise cost a rescan per piece.
 */
#define SESSION_DECODE_WORK	(64 * STOMP_MAX_FRAME)

/*
 * A SEND waiting for proof that the server read it (RPC.md, "What SENT
 * proves"): its reply, its RECEIPT, the pong of a ping written after it, or
 * the echo of the message it carried, whichever comes first.
 */
struct pending {
	char			 id[136];	/* request-id, receipt, message id */
	uint64_t		 barrier;	/* the ping proving it; 0: none */
	ev_tstamp		 deadline;
	session_reply_cb	*cb;
	void			*arg;
	TAILQ_ENTRY(pending)	 entry;
};

static struct {
	enum session_state	 state;
	char			 reason[384];
	int64_t			 since;		/* when the state was entered, ms */
	struct buf		 in;
	unsigned		 next_id;
	TAILQ_HEAD(, pending)	 pending;
	ev_timer		 timer;
	int			 syncing;
	int64_t			 cursor;	/* highest server seq known complete */
	int64_t			 synced;	/* messages fetched by this sync */
	int64_t			 retry_at;	/* next attempt, ms (backoff) */
	ev_timer		 beat;		/* our STOMP heart-beats */
	ev_timer		 bye;		/* DISCONNECT receipt deadline */
	json_t			*groups;	/* group channels followed now */
	int			 resync;	/* sync again when this one ends */
	ev_tstamp		 page_at;	/* when the sync page was asked for */
	ev_timer		 quiet;		/* a seed sync's end: quiet */
	ev_timer		 healthy;	/* online long enough: reset back-off */
	ev_tstamp		 quiet_cap;	/* ... or this time */
	size_t			 work;		/* decode work on the frame at hand */
	int			 init;
} ss;

#define SESSION_BYE_RECEIPT	"imgwd-disconnect"

static const char *const session_names[] = {
	[SESSION_BACKOFF] = "backoff",
	[SESSION_CONNECTING] = "connecting",
	[SESSION_SYNCING] = "syncing",
	[SESSION_ONLINE] = "online",
	[SESSION_AUTH_FAILED] = "auth_failed",
	[SESSION_STOPPED] = "stopped",
	[SESSION_LOGGED_OUT] = "logged_out",
};

static void	session_timer_cb(struct ev_loop *, ev_timer *, int);
static void	session_beat_cb(struct ev_loop *, ev_timer *, int);
static void	session_bye_cb(struct ev_loop *, ev_timer *, int);
static void	session_quiet_cb(struct ev_loop *, ev_timer *, int);
static void	session_healthy_cb(struct ev_loop *, ev_timer *, int);

/* Read the persisted sync cursor. */
static void
session_load_cursor(void)
{
	char	*v;

	ss.cursor = 0;
	if ((v = store_get_kv(store, "sync_seq")) != NULL) {
		ss.cursor = strtoll(v, NULL, 10);
		free(v);
	}
}

/* The store rolled back this turn: the cursor in memory may be ahead of it. */
void
session_rollback(void)
{
	session_load_cursor();
}

/* Set up the session's state on first use. */
static void
session_init(void)
{
	if (ss.init)
		return;
	ss.init = 1;
	buf_init(&ss.in);
	TAILQ_INIT(&ss.pending);
	ev_timer_init(&ss.timer, session_timer_cb, 1.0, 1.0);
	ev_timer_init(&ss.beat, session_beat_cb, 0, 0);
	ev_timer_init(&ss.bye, session_bye_cb, 2.0, 0);
	ev_timer_init(&ss.quiet, session_quiet_cb, SYNC_QUIET, 0);
	ev_timer_init(&ss.healthy, session_healthy_cb, SESSION_HEALTHY, 0);
	session_load_cursor();
}

/* Return the name of a state, as seen in session.status and events. */
const char *
session_state_name(enum session_state s)
{
	return session_names[s];
}

/* Return the current state. */
enum session_state
session_state(void)
{
	return ss.state;
}

/* Return why the session is in its state (may be empty). */
const char *
session_reason(void)
{
	return ss.reason;
}

/* Return when the current state began (ms since the epoch). */
int64_t
session_since(void)
{
	return ss.since;
}

/* Return when the next connection attempt is due (ms), 0 if none is planned. */
int64_t
session_retry_at(void)
{
	return ss.state == SESSION_BACKOFF ? ss.retry_at : 0;
}

/* Whether frames can be sent now. */
int
session_is_up(void)
{
	return ss.state == SESSION_SYNCING || ss.state == SESSION_ONLINE;
}

/* Enter a state and log it as an event. */
static void
session_set_state(enum session_state st, const char *reason)
{
	if (ss.state == st && strcmp(ss.reason, reason) == 0)
		return;
	ss.state = st;
	snprintf(ss.reason, sizeof ss.reason, "%s", reason);
	if (st == SESSION_ONLINE && !ev_is_active(&ss.healthy))
		ev_timer_start(loop, &ss.healthy);
	ss.since = (int64_t)(ev_now(loop) * 1000);
	log_info("session %s%s%s", session_state_name(st), *reason ? ": " : "",
	    reason);
	events_emit("session.state", json_pack("{s:s,s:s,s:I}",
	    "state", session_state_name(st), "reason", reason,
	    "retryAt", (json_int_t)session_retry_at()));
}

/* Encode and queue one frame. */
static int
session_write(const struct stomp_frame *f)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b);
	if (stomp_encode(&b, f) == -1) {
		buf_clear(&b);
		log_warn("cannot encode %s frame", stomp_command_name(f->command));
		return -1;
	}
	rc = upstream_send(b.data, b.len);
	buf_clear(&b);
	return rc;
}

/* The socket is connecting (again). */
void
session_connecting(void)
{
	session_init();
	session_set_state(SESSION_CONNECTING, "");
}

/* The WebSocket is open: send CONNECT (seed frame). */
void
session_opened(void)
{
	struct stomp_frame	 f;
	char			*auth, hb[32];

	session_init();
	buf_reset(&ss.in);
	ss.work = 0;
	if (asprintf(&auth, "Bearer %s", cfg.token) == -1)
		fatalx("out of memory");
	snprintf(hb, sizeof hb, "%d,%d", cfg.hb_cx, cfg.hb_cy);
	stomp_frame_init(&f, STOMP_CONNECT);
	stomp_frame_add(&f, "accept-version", "1.2");
	stomp_frame_add(&f, "heart-beat", hb);
	stomp_frame_add(&f, "host", cfg.stomp_host != NULL ? cfg.stomp_host :
	    upstream_host());
	stomp_frame_add(&f, "Authorization", auth);
	/* Some brokers authenticate with login/passcode instead. */
	if (cfg.stomp_login) {
		stomp_frame_add(&f, "login", self_id != NULL ? self_id : "");
		stomp_frame_add(&f, "passcode", cfg.token);
	}
	if (session_write(&f) == -1)
		upstream_drop("cannot send CONNECT");
	explicit_bzero(auth, strlen(auth));
	free(auth);
}

/* Subscribe to a destination. */
static void
session_subscribe(const char *id, const char *dest)
{
	struct stomp_frame	 f;

	stomp_frame_init(&f, STOMP_SUBSCRIBE);
	stomp_frame_add(&f, "id", id);
	stomp_frame_add(&f, "destination", dest);
	session_write(&f);
}

static int	session_sync(void);
static void	session_heartbeat(const char *);

/* Subscribe to a group's channel (/topic/group/{id}), once per connection. */
void
session_join_group(const char *group, int on)
{
	struct stomp_frame	 f;
	char			 id[96], dest[96];

	if (!session_is_up() || group == NULL)
		return;
	/* A subscription id used twice is a protocol error: keep a set. */
	if (ss.groups == NULL)
		ss.groups = json_object();
	if ((json_object_get(ss.groups, group) != NULL) == on)
		return;
	snprintf(id, sizeof id, "grp-%s", group);
	snprintf(dest, sizeof dest, "/topic/group/%s", group);
	if (on) {
		json_object_set_new(ss.groups, group, json_true());
		session_subscribe(id, dest);
		return;
	}
	json_object_del(ss.groups, group);
	stomp_frame_init(&f, STOMP_UNSUBSCRIBE);
	stomp_frame_add(&f, "id", id);
	session_write(&f);
}

/* Handle a sync reply: advance the cursor, fetch the next page if any. */
static void
session_sync_reply(void *arg, int code, const char *message, json_t *data)
{
	json_t	*seq = json_object_get(data, "seq");
	char	 v[32];

	ss.syncing = 0;
	if (code != 0) {
		/* A server without the paged sync: live messages still flow. */
		log_warn("sync failed: %d %s", code, message);
		if (ss.state == SESSION_SYNCING && upstream_is_open())
			session_set_state(SESSION_ONLINE, "sync failed");
		return;
	}
	ss.synced += json_integer_value(json_object_get(data, "count"));
	if (json_is_integer(seq) && json_integer_value(seq) > ss.cursor) {
		ss.cursor = json_integer_value(seq);
		snprintf(v, sizeof v, "%lld", (long long)ss.cursor);
		if (store_set_kv(store, "sync_seq", v) == -1)
			log_warn("%s", store_error(store));
	}
	log_debug("synced %lld messages up to %lld",
	    (long long)json_integer_value(json_object_get(data, "count")),
	    (long long)ss.cursor);
	events_emit("sync.progress", json_pack("{s:I,s:I,s:b}",
	    "count", (json_int_t)ss.synced, "seq", (json_int_t)ss.cursor,
	    "more", json_is_true(json_object_get(data, "more"))));
	if (json_is_true(json_object_get(data, "more")) || ss.resync) {
		ss.resync = 0;
		session_sync();
	}
	else if (ss.state == SESSION_SYNCING)
		session_set_state(SESSION_ONLINE, "");
}

/*
 * The server has read the seed's chat.sync: what it pushes comes now, with
 * no end marker. Online after a short quiet (or SYNC_QUIET_MAX at most);
 * whatever comes later is stored like any message.
 */
static void
session_seed_synced(void *arg, int code, const char *message, json_t *data)
{
	if (ss.state != SESSION_SYNCING)
		return;
	if (code != 0) {
		/* Unanswered or refused, not lost: live messages still flow. */
		if (upstream_is_open())
			session_set_state(SESSION_ONLINE, "sync failed");
		return;
	}
	ss.quiet_cap = ev_now(loop) + SYNC_QUIET_MAX;
	ev_timer_set(&ss.quiet, SYNC_QUIET, 0);
	ev_timer_start(loop, &ss.quiet);
}

/* A message arrived: a seed sync is not quiet yet. */
static void
session_not_quiet(void)
{
	ev_tstamp	 now = ev_now(loop);

	if (!ev_is_active(&ss.quiet) || now + SYNC_QUIET > ss.quiet_cap)
		return;
	ev_timer_stop(loop, &ss.quiet);
	ev_timer_set(&ss.quiet, SYNC_QUIET, 0);
	ev_timer_start(loop, &ss.quiet);
}

static void
session_healthy_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (ss.state == SESSION_ONLINE)
		upstream_reset_backoff();
}

static void
session_quiet_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (ss.state == SESSION_SYNCING)
		session_set_state(SESSION_ONLINE, "");
}

/*
 * Ask the server for what we missed (UPSTREAM.md chat.sync): everything
 * after our cursor, page by page, from a server with seq; else the seed's
 * bare request, whose pushes have no end. Returns 1 if a sync is under way.
 */
static int
session_sync(void)
{
	if (!caps_has("seq") || !caps_has("replies"))
		return session_request("/app/chat.sync", json_object(),
		    session_seed_synced, NULL) == 0;
	if (session_request("/app/chat.sync", json_pack("{s:I,s:i}",
	    "since", (json_int_t)ss.cursor, "limit", SYNC_PAGE),
	    session_sync_reply, NULL) == 0) {
		ss.syncing = 1;
		ss.page_at = ev_now(loop);
	}
	return ss.syncing;
}

/*
 * Whether to keep this turn's transaction open: a sync page is arriving
 * (briefly), so its messages and its cursor commit together, in one
 * transaction instead of one per WebSocket read. A crash in between only
 * means syncing that page again.
 */
int
session_holding(void)
{
	return ss.syncing && ev_now(loop) - ss.page_at < 1.0;
}

/*
 * Sync again from the cursor: a new group channel was just followed, and
 * its messages from before could be behind a live seq we already counted.
 * The SUBSCRIBE went out first, so the server answers everything up to it.
 */
void
session_resync(void)
{
	/* A seed sync has no cursor: the channel's live messages are all. */
	if (!session_is_up() || !caps_has("seq"))
		return;
	if (ss.syncing)
		ss.resync = 1;
	else
		session_sync();
}

/*
 * A live message carried server seq: when no sync is running, everything up
 * to it has been seen (we were subscribed before the last sync finished).
 */
void
session_saw_seq(int64_t seq)
{
	char	 v[32];

	if (ss.syncing || seq <= ss.cursor)
		return;
	ss.cursor = seq;
	snprintf(v, sizeof v, "%lld", (long long)seq);
	if (store_set_kv(store, "sync_seq", v) == -1)
		log_warn("%s", store_error(store));
}

/* Find a pending request. */
static struct pending *
session_find(const char *id)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &ss.pending, entry) {
		if (strcmp(p->id, id) == 0)
			return p;
	}
	return NULL;
}

/* Find and unlink a pending request. */
static struct pending *
session_take(const char *id)
{
	struct pending	*p;

	if ((p = session_find(id)) != NULL)
		TAILQ_REMOVE(&ss.pending, p, entry);
	return p;
}

/* Whether a SEND named id waits for its proof on this connection. */
int
session_pending_has(const char *id)
{
	return session_find(id) != NULL;
}

/* Complete a pending request. */
static void
session_complete(struct pending *p, int code, const char *message, json_t *data)
{
	p->cb(p->arg, code, message, data);
	free(p);
	if (TAILQ_EMPTY(&ss.pending))
		ev_timer_stop(loop, &ss.timer);
}

/* A reply on /user/queue/replies. */
static void
session_reply(const struct stomp_frame *f)
{
	const char	*rid = stomp_frame_get(f, "request-id");
	json_t		*body, *data;
	const char	*message;
	struct pending	*p;
	int		 code;

	if (rid == NULL)
		return;
	if (session_find(rid) == NULL) {
		log_limited(LOG_WARN, "reply-unknown", "ignoring a reply to a "
		    "request never made (request-id %.64s)", rid);
		return;
	}
	body = json_loadb(f->body, f->body_len, 0, NULL);
	if (!json_is_object(body) || !json_is_integer(json_object_get(body, "code"))) {
		log_limited(LOG_WARN, "reply-malformed", "malformed reply to %.64s",
		    rid);
		code = 500;
		message = "malformed reply from server";
		data = NULL;
	} else {
		code = (int)json_integer_value(json_object_get(body, "code"));
		message = json_string_value(json_object_get(body, "message"));
		if (message == NULL)
			message = code == 0 ? "ok" : "refused";
		data = json_object_get(body, "data");
	}
	if ((p = session_take(rid)) != NULL)
		session_complete(p, code, message, data);
	json_decref(body);
}

/* Whether JSON value v nests no deeper than depth levels. */
static int
session_json_depth_ok(json_t *v, int depth)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (depth == 0)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!session_json_depth_ok(e, depth - 1))
				return 0;
		}
	} else {
		json_object_foreach(v, k, e) {
			if (!session_json_depth_ok(e, depth - 1))
				return 0;
		}
	}
	return 1;
}

/* A chat message on the personal queue or a group topic. */
static void
session_message(const struct stomp_frame *f)
{
	const char	*dest = stomp_frame_get(f, "destination");
	json_t		*body;
	json_error_t	 err;

	if (dest != NULL && strcmp(dest, "/user/queue/replies") == 0) {
		session_reply(f);
		return;
	}
	/* jansson refuses invalid UTF-8 and \u0000 (no JSON_ALLOW_NUL). */
	body = json_loadb(f->body, f->body_len, 0, &err);
	if (!json_is_object(body)) {
		log_limited(LOG_WARN, "message-json", "ignoring a MESSAGE on %.80s "
		    "that is not a JSON object: %s", dest ? dest : "(no destination)",
		    body == NULL ? err.text : "another JSON value");
		json_decref(body);
		return;
	}
	/* Local clients decode at most RPC_MAX_DEPTH: keep well inside it. */
	if (!session_json_depth_ok(body, SESSION_JSON_DEPTH)) {
		log_limited(LOG_WARN, "message-deep", "ignoring a MESSAGE on %.80s "
		    "nested deeper than %d levels", dest ? dest : "(no destination)",
		    SESSION_JSON_DEPTH);
		json_decref(body);
		return;
	}
	if (dest != NULL && (strcmp(dest, "/user/queue/messages") == 0 ||
	    strncmp(dest, "/topic/group/", 13) == 0)) {
		session_not_quiet();
		message_received(body);
	}
	else if (dest != NULL && strcmp(dest, "/user/queue/events") == 0) {
		social_event(body);
		if (json_integer_value(json_object_get(body, "seq")) > 0)
			session_saw_seq(json_integer_value(json_object_get(body,
			    "seq")));
	} else
		log_debug("ignoring MESSAGE on %s", dest ? dest : "(none)");
	json_decref(body);
}

/* Act on one frame from the server. */
static void
session_frame(const struct stomp_frame *f)
{
	const char	*v;
	char		 why[384];

	/* Until CONNECTED nothing else is a session (STOMP 1.2). */
	if (ss.state != SESSION_CONNECTING ? f->command == STOMP_CONNECTED :
	    f->command != STOMP_CONNECTED && f->command != STOMP_ERROR &&
	    f->command != STOMP_HEARTBEAT) {
		snprintf(why, sizeof why, "server sent %s %s CONNECTED",
		    stomp_command_name(f->command), ss.state ==
		    SESSION_CONNECTING ? "before" : "again after");
		log_warn("%s", why);
		upstream_drop(why);
		return;
	}
	switch (f->command) {
	case STOMP_HEARTBEAT:
		break;
	case STOMP_CONNECTED:
		v = stomp_frame_get(f, "user-name");
		if (daemon_set_self(v) == -1) {
			/*
			 * The cache is one user's: never mix in another's
			 * messages. The same token gets the same answer, so
			 * wait for a new one, as after Unauthorized.
			 */
			upstream_hold();
			snprintf(why, sizeof why, "the server says this token is "
			    "user %.64s, but this cache is %.64s's: give that "
			    "user's token (session.login, the token file, or "
			    "SIGHUP), or use another --db", v, self_id);
			session_set_state(SESSION_AUTH_FAILED, why);
			upstream_drop("CONNECTED for another user");
			break;
		}
		session_heartbeat(stomp_frame_get(f, "heart-beat"));
		/* What it offers beyond the seed, known now, for the next start too. */
		if (store_set_kv(store, "server_caps",
		    caps_connected(stomp_frame_get(f, "im-extensions"))) == -1)
			log_warn("%s", store_error(store));
		session_subscribe("sub-1", "/user/queue/messages");
		if (caps_has("replies"))
			session_subscribe("sub-2", "/user/queue/replies");
		if (caps_has("events"))
			session_subscribe("sub-3", "/user/queue/events");
		session_set_state(SESSION_SYNCING, "");
		/* Up from here: group channels and fresh lists can be asked for. */
		social_connected();
		ss.synced = 0;
		if (!session_sync())
			session_set_state(SESSION_ONLINE, "");
		outbox_flush();
		break;
	case STOMP_MESSAGE:
		session_message(f);
		break;
	case STOMP_RECEIPT:
		if ((v = stomp_frame_get(f, "receipt-id")) == NULL)
			break;
		if (strcmp(v, SESSION_BYE_RECEIPT) == 0 && ss.state == SESSION_STOPPED)
			daemon_stop();
		else
			session_settle(v, NULL);
		break;
	case STOMP_ERROR:
		v = stomp_frame_get(f, "message");
		if (v == NULL)
			v = "error without message";
		if (strcmp(v, "Unauthorized") == 0) {
			/* Retrying the same token cannot help: wait for a new one. */
			upstream_hold();
			session_set_state(SESSION_AUTH_FAILED, "the server refused "
			    "the token; give a new one (session.login, the token "
			    "file, or SIGHUP)");
		} else {
			log_warn("server error: %.200s", v);
			social_refused(v);
		}
		/* STOMP 1.2: an ERROR ends the session; say what it was. */
		snprintf(why, sizeof why, "server sent ERROR: %.200s", v);
		upstream_drop(why);
		break;
	default:
		log_limited(LOG_WARN, "frame-unexpected", "ignoring a %s frame "
		    "from the server", stomp_command_name(f->command));
		break;
	}
}

/* Bytes from the WebSocket: decode every complete frame. */
void
session_input(const char *p, size_t n)
{
	struct stomp_frame	 f;
	const char		*cause;
	char			 why[128];
	size_t			 used;
	int			 r;

	/*
	 * A frame that did not decode yet (it does not start with an EOL) ends
	 * only at a NUL: until one comes, or the frame limit, decoding again
	 * cannot finish it, so a frame sent a byte at a time costs no rescans.
	 */
	if (buf_left(&ss.in) > 0 && *buf_head(&ss.in) != '\r' &&
	    *buf_head(&ss.in) != '\n' && memchr(p, '\0', n) == NULL &&
	    buf_left(&ss.in) + n < STOMP_MAX_FRAME) {
		if (buf_add(&ss.in, p, n) == -1)
			fatalx("out of memory");
		return;
	}
	if (buf_add(&ss.in, p, n) == -1)
		fatalx("out of memory");
	while (buf_left(&ss.in) > 0) {
		r = stomp_decode(buf_head(&ss.in), buf_left(&ss.in), &f, &used, &cause);
		if (r == STOMP_MORE && (ss.work += buf_left(&ss.in)) >
		    SESSION_DECODE_WORK) {
			r = STOMP_BAD;
			cause = "frame sent in too many pieces";
		}
		if (r == STOMP_MORE)
			break;
		ss.work = 0;
		if (r == STOMP_BAD) {
			snprintf(why, sizeof why, "malformed frame from server: %s",
			    cause);
			log_warn("%s", why);
			buf_reset(&ss.in);
			upstream_drop(why);
			return;
		}
		session_frame(&f);
		buf_consume(&ss.in, used);
		/* What follows an ERROR, a refusal or a drop is not read. */
		if (!upstream_is_open()) {
			buf_reset(&ss.in);
			return;
		}
	}
}

/* The connection is gone: fail what waited on it, remember why. */
void
session_closed(const char *reason, int64_t retry_at)
{
	struct pending	*p;

	session_init();
	buf_reset(&ss.in);
	ss.work = 0;
	ss.syncing = 0;
	ss.resync = 0;
	json_object_clear(ss.groups);
	ev_timer_stop(loop, &ss.beat);
	ev_timer_stop(loop, &ss.quiet);
	ev_timer_stop(loop, &ss.healthy);
	upstream_expect(0);
	while ((p = TAILQ_FIRST(&ss.pending)) != NULL) {
		TAILQ_REMOVE(&ss.pending, p, entry);
		session_complete(p, -1, "connection to the server lost", NULL);
	}
	if (ss.state == SESSION_STOPPED) {
		daemon_stop();
		return;
	}
	ss.retry_at = retry_at;
	if (ss.state != SESSION_AUTH_FAILED && ss.state != SESSION_LOGGED_OUT)
		session_set_state(SESSION_BACKOFF, reason);
}

/*
 * STOMP 1.2 heart-beating: we send every max(cx, sy) ms and expect the server
 * every max(cy, sx) ms, each only when both sides are non-zero.
 */
static void
session_heartbeat(const char *hdr)
{
	long	 sx = 0, sy = 0;
	double	 out = 0, in = 0;

	if (hdr != NULL && sscanf(hdr, "%ld,%ld", &sx, &sy) != 2)
		sx = sy = 0;
	if (cfg.hb_cx > 0 && sy > 0)
		out = (cfg.hb_cx > sy ? cfg.hb_cx : sy) / 1000.0;
	if (cfg.hb_cy > 0 && sx > 0)
		in = (cfg.hb_cy > sx ? cfg.hb_cy : sx) / 1000.0;
	ev_timer_stop(loop, &ss.beat);
	if (out > 0) {
		ev_timer_set(&ss.beat, out, out);
		ev_timer_start(loop, &ss.beat);
	}
	upstream_expect(in);
	log_debug("heart-beats: send every %.3fs, expect every %.3fs", out, in);
}

static void
session_beat_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	upstream_send("\n", 1);
}

/* Stop the daemon cleanly: say DISCONNECT and wait briefly for the receipt. */
void
session_shutdown(void)
{
	struct stomp_frame	 f;

	session_init();
	if (!session_is_up()) {
		session_set_state(SESSION_STOPPED, "");
		daemon_stop();
		return;
	}
	session_set_state(SESSION_STOPPED, "");
	stomp_frame_init(&f, STOMP_DISCONNECT);
	stomp_frame_add(&f, "receipt", SESSION_BYE_RECEIPT);
	if (session_write(&f) == -1) {
		daemon_stop();
		return;
	}
	ev_timer_start(loop, &ss.bye);
}

/* Whether the cache says a client logged out (the daemon stays offline). */
int
session_logged_out(void)
{
	char	*v = store_get_kv(store, "logged_out");
	int	 out = v != NULL && strcmp(v, "1") == 0;

	free(v);
	return out;
}

/*
 * session.logout: remember it (a restart stays logged out), say DISCONNECT
 * and hang up; no reconnection until session_login. Sends keep queueing.
 */
void
session_logout(void)
{
	struct stomp_frame	 f;

	session_init();
	if (store_set_kv(store, "logged_out", "1") == -1)
		log_warn("%s", store_error(store));
	upstream_hold();
	if (session_is_up()) {
		stomp_frame_init(&f, STOMP_DISCONNECT);
		session_write(&f);
	}
	session_set_state(SESSION_LOGGED_OUT, "logged out by a local client; "
	    "session.login or session.reconnect connects again");
	upstream_drop("logged out");
}

/* Forget a logout; the caller connects. */
void
session_login(void)
{
	if (store_set_kv(store, "logged_out", "0") == -1)
		log_warn("%s", store_error(store));
}

static void
session_bye_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	log_info("no receipt for DISCONNECT; stopping anyway");
	daemon_stop();
}

/* Expire requests the server never answered. */
static void
session_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct pending	*p, *next;
	ev_tstamp	 now = ev_now(l);

	for (p = TAILQ_FIRST(&ss.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->deadline <= now) {
			TAILQ_REMOVE(&ss.pending, p, entry);
			session_complete(p, -1, "the server did not answer", NULL);
		}
	}
}

/* Send a SEND frame; see daemon.h. */
int
session_send(const char *dest, const char *body, const char *request_id,
    const char *receipt)
{
	struct stomp_frame	 f;

	if (!session_is_up())
		return -1;
	/* The seed's SEND, byte for byte: no content-length. */
	stomp_frame_init(&f, STOMP_SEND);
	f.bare = 1;
	stomp_frame_add(&f, "destination", dest);
	stomp_frame_add(&f, "content-type", "application/json");
	if (request_id != NULL)
		stomp_frame_add(&f, "request-id", request_id);
	if (receipt != NULL)
		stomp_frame_add(&f, "receipt", receipt);
	f.body = body;
	f.body_len = strlen(body);
	return session_write(&f);
}

/*
 * Send text (a JSON body) to dest and wait for the proof that the server
 * read it: with replies, its answer (request-id); without, its RECEIPT
 * (receipt), the pong of a ping written after it, or session_settle(id),
 * whichever comes first. id names it (NULL: a fresh request id, which has
 * a character no message id has). cb runs once: code 0 with the answer's
 * data (NULL without replies), the server's refusal code, or -1 when the
 * connection is lost or nothing came in REQUEST_TIMEOUT. Returns 0, or -1
 * when not up or on a write error (cb is not called).
 */
int
session_post(const char *dest, const char *id, const char *text,
    session_reply_cb *cb, void *arg)
{
	struct pending	*p;
	int		 replies = caps_has("replies");

	if (!session_is_up())
		return -1;
	if ((p = calloc(1, sizeof *p)) == NULL)
		fatalx("out of memory");
	if (id != NULL)
		snprintf(p->id, sizeof p->id, "%s", id);
	else
		snprintf(p->id, sizeof p->id, "~r%u", ++ss.next_id);
	p->deadline = ev_now(loop) + REQUEST_TIMEOUT;
	p->cb = cb;
	p->arg = arg;
	if (session_send(dest, text, replies ? p->id : NULL,
	    replies ? NULL : p->id) == -1) {
		free(p);
		return -1;
	}
	if (!replies)
		p->barrier = upstream_barrier();
	TAILQ_INSERT_TAIL(&ss.pending, p, entry);
	if (!ev_is_active(&ss.timer))
		ev_timer_start(loop, &ss.timer);
	return 0;
}

/*
 * Send body (ownership taken) to dest, with the tenant's appId first as the
 * seed writes it; see session_post. Returns 0, or -1 when offline (cb is not
 * called).
 */
int
session_request(const char *dest, json_t *body, session_reply_cb *cb, void *arg)
{
	json_t	*full;
	char	*text;
	int	 rc;

	if (body == NULL || !session_is_up()) {
		json_decref(body);
		return -1;
	}
	full = json_pack("{s:s}", "appId", cfg.app_id);
	json_object_del(body, "appId");
	if (full == NULL || json_object_update(full, body) == -1 ||
	    (text = json_dumps(full, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	json_decref(body);
	json_decref(full);
	rc = session_post(dest, NULL, text, cb, arg);
	free(text);
	return rc;
}

/*
 * The server has read the SEND named id (its RECEIPT, or our own message
 * echoed back): complete it with data (may be NULL). Late proofs find
 * nothing and change nothing.
 */
void
session_settle(const char *id, json_t *data)
{
	struct pending	*p;

	if ((p = session_take(id)) != NULL)
		session_complete(p, 0, "ok", data);
}

/* The pong of ping n came back: everything written before it was read. */
void
session_pong(uint64_t n)
{
	TAILQ_HEAD(, pending)	 done = TAILQ_HEAD_INITIALIZER(done);
	struct pending		*p, *next;

	/* Unlink first: a callback may queue new requests. */
	for (p = TAILQ_FIRST(&ss.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->barrier != 0 && p->barrier <= n) {
			TAILQ_REMOVE(&ss.pending, p, entry);
			TAILQ_INSERT_TAIL(&done, p, entry);
		}
	}
	while ((p = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, p, entry);
		session_complete(p, 0, "ok", NULL);
	}
}
