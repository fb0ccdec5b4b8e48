/*
 * session: the STOMP 1.2 session on top of the upstream WebSocket. Owns the
 * connection state, the CONNECT handshake and heart-beats, subscriptions,
 * decoding the server's frames and writing ours. Knows frames, not
 * messages: what arrives goes on through the hooks main.c installs.
 * Never touches sockets (upstream.c) or SQL (the store) itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "stomp.h"
#include "store.h"

/*
 * A session proves healthy by staying online this long; only then does the
 * reconnect back-off start over. A server that fails right after CONNECTED
 * (an ERROR for a SUBSCRIBE, a close) meets the same capped, growing
 * back-off as one that refuses the connection.
 */
#define SESSION_HEALTHY	5.0
#define SESSION_BYE_SECS	2.0	/* for the receipt of our DISCONNECT */
/*
 * Bytes scanned by decode attempts for one frame before it is refused: a
 * frame trickling in as many small pieces, each ending in a NUL of its
 * body, would otherwise cost a rescan per piece.
 */
#define SESSION_DECODE_WORK	(64 * STOMP_MAX_FRAME)

static struct {
	enum session_state	 state;
	char			 reason[384];
	int64_t			 since;		/* when the state was entered, ms */
	struct buf		 in;
	int64_t			 retry_at;	/* next attempt, ms (backoff) */
	ev_timer		 beat;		/* our STOMP heart-beats */
	ev_timer		 bye;		/* DISCONNECT receipt deadline */
	json_t			*groups;	/* group channels followed now */
	ev_timer		 healthy;	/* online long enough: reset back-off */
	size_t			 work;		/* decode work on the frame at hand */
	int			 init;
} ss;

static struct session_hooks	 hooks;

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

static void	session_beat_cb(struct ev_loop *, ev_timer *, int);
static void	session_bye_cb(struct ev_loop *, ev_timer *, int);
static void	session_healthy_cb(struct ev_loop *, ev_timer *, int);
static void	session_heartbeat(const char *);

/* Say where what arrives goes (main.c, once at start). */
void
session_set_hooks(const struct session_hooks *h)
{
	hooks = *h;
}

/* Set up the session's state on first use. */
static void
session_init(void)
{
	if (ss.init)
		return;
	ss.init = 1;
	buf_init(&ss.in);
	ev_timer_init(&ss.beat, session_beat_cb, 0, 0);
	ev_timer_init(&ss.bye, session_bye_cb, SESSION_BYE_SECS, 0);
	ev_timer_init(&ss.healthy, session_healthy_cb, SESSION_HEALTHY, 0);
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
	/* ev_timer_set each time: a stopped timer keeps only what was left. */
	if (st == SESSION_ONLINE && !ev_is_active(&ss.healthy)) {
		ev_timer_set(&ss.healthy, SESSION_HEALTHY, 0);
		ev_timer_start(loop, &ss.healthy);
	}
	ss.since = (int64_t)(ev_now(loop) * 1000);
	log_info("session %s%s%s", session_state_name(st), *reason ? ": " : "",
	    reason);
	events_emit("session.state", json_pack("{s:s,s:s,s:I}",
	    "state", session_state_name(st), "reason", reason,
	    "retryAt", (json_int_t)session_retry_at()));
}

/* The sync is over (sync.c): syncing becomes online, with a reason. */
void
session_online(const char *reason)
{
	if (ss.state == SESSION_SYNCING)
		session_set_state(SESSION_ONLINE, reason);
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

static void
session_healthy_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (ss.state == SESSION_ONLINE)
		upstream_reset_backoff();
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
		if (state_set_self(v) == -1) {
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
		/* Up from here: sync, follow channels, send what waits. */
		hooks.connected();
		break;
	case STOMP_MESSAGE:
		hooks.message(f);
		break;
	case STOMP_RECEIPT:
		if ((v = stomp_frame_get(f, "receipt-id")) == NULL)
			break;
		if (strcmp(v, SESSION_BYE_RECEIPT) == 0 && ss.state == SESSION_STOPPED)
			state_stop();
		else
			hooks.receipt(v);
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
			hooks.refused(v);
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
	session_init();
	buf_reset(&ss.in);
	ss.work = 0;
	json_object_clear(ss.groups);
	ev_timer_stop(loop, &ss.beat);
	ev_timer_stop(loop, &ss.healthy);
	upstream_expect(0);
	hooks.closed();
	if (ss.state == SESSION_STOPPED) {
		state_stop();
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
		state_stop();
		return;
	}
	session_set_state(SESSION_STOPPED, "");
	stomp_frame_init(&f, STOMP_DISCONNECT);
	stomp_frame_add(&f, "receipt", SESSION_BYE_RECEIPT);
	if (session_write(&f) == -1) {
		state_stop();
		return;
	}
	ev_timer_set(&ss.bye, SESSION_BYE_SECS, 0);
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
	state_stop();
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
