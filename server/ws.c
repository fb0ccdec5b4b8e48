/*
 * ws: the WebSocket transport: the libwebsockets context on our libev loop
 * (plain or TLS), the /ws/im endpoint, each session's input buffer and
 * bounded output queue (and how far the kernel has taken it, for
 * deliver.c), and the heart-beat timers the broker negotiated.
 * Decodes STOMP frames and hands them to the broker; no STOMP logic.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <libwebsockets.h>

#include "log.h"
#include "stomp.h"
#include "server.h"

#define WS_PATH		"/ws/im"
#define WS_RX_SIZE	(64 * 1024)	/* bytes per RECEIVE callback */
#define WS_IN_MAX	(STOMP_MAX_FRAME + WS_RX_SIZE)
#define WS_OUT_BATCH	(64 * 1024)	/* frames joined in one message */
#define WS_CLOSE_SECS	10	/* to flush the last frames before a close */
#ifndef WS_CONNECT_SECS
#define WS_CONNECT_SECS	30	/* from the upgrade to a successful CONNECT */
#endif

/* One encoded frame waiting to be written, with LWS_PRE bytes in front. */
struct ws_out {
	TAILQ_ENTRY(ws_out)	 entry;
	struct buf		 b;
};

/*
 * A session's heart-beat timers (UPSTREAM.md "Heart-beats"): tx sends an EOL
 * when we have written nothing for tx_every; rx drops a client that has sent
 * nothing for twice rx_every. Both follow libev's "last activity" pattern:
 * the timer fires when the interval could have run out and re-arms itself
 * for what is left.
 */
struct ws_beat {
	struct session		*s;
	struct ev_timer		 tx;
	struct ev_timer		 rx;
	ev_tstamp		 tx_every;	/* s; 0: we send none */
	ev_tstamp		 rx_every;	/* s; 0: we expect none */
	ev_tstamp		 last_tx;	/* last write to the client */
	ev_tstamp		 last_rx;	/* last bytes from the client */
	unsigned long long	 sent;		/* heart-beats sent */
	unsigned long long	 received;	/* heart-beats received */
};

/* What libwebsockets keeps per connection for us. */
struct ws_pss {
	struct session	*s;
};

TAILQ_HEAD(ws_sessions, session);

static struct lws_context	*ws_context;
static struct ev_loop		*ws_loop;
static struct ev_check		 ws_reaper;
static struct ev_timer		 ws_ticker;
static struct ws_sessions	 ws_live = TAILQ_HEAD_INITIALIZER(ws_live);
static struct ws_sessions	 ws_gone = TAILQ_HEAD_INITIALIZER(ws_gone);
static unsigned long long	 ws_next_id;
static void			*ws_loops[1];

static int	ws_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

static const struct lws_protocols ws_protocols[] = {
	/* First: libwebsockets uses it when the client offers none. */
	{ "v12.stomp", ws_callback, sizeof(struct ws_pss), WS_RX_SIZE, 0,
	    NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Send libwebsockets' own diagnostics through our log. */
static void
ws_lws_log(int level, const char *line)
{
	size_t	 n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws: %.*s", (int)n,
	    line);
}

/* Drop the output queue of a session. */
static void
ws_flush(struct session *s)
{
	struct ws_out	*o;

	while ((o = TAILQ_FIRST(&s->outq)) != NULL) {
		TAILQ_REMOVE(&s->outq, o, entry);
		buf_clear(&o->b);
		free(o);
	}
	s->outq_len = 0;
}

/* Stop a session's heart-beat timers (they stay allocated). */
static void
ws_beat_stop(struct session *s)
{
	if (s->beat == NULL)
		return;
	ev_timer_stop(ws_loop, &s->beat->tx);
	ev_timer_stop(ws_loop, &s->beat->rx);
}

/* Free a session's transport state and the session. */
static void
ws_free(struct session *s)
{
	ws_beat_stop(s);
	free(s->beat);
	ws_flush(s);
	buf_clear(&s->in);
	free(s->qtoken);
	free(s);
}

/* Free the sessions closed since the last loop iteration. */
static void
ws_reap(struct ev_loop *loop, struct ev_check *w, int revents)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&ws_gone)) != NULL) {
		TAILQ_REMOVE(&ws_gone, s, ws_entry);
		ws_free(s);
	}
}

/*
 * Have lws close a session soon, from any context. lws 4.1's libev glue
 * only looks at its timers after I/O, so wake it with a cancel; and ask for
 * a writeable callback, which closes a dead session (ws_writeable) even when
 * the timeout is not looked at in time.
 */
static void
ws_kill(struct session *s)
{
	if (s->wsi == NULL)
		return;
	ws_beat_stop(s);
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	lws_callback_on_writable(s->wsi);
	lws_cancel_service(ws_context);
}

/* Close the sessions whose deadline has passed; runs every second. */
static void
ws_tick(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct session	*s;
	time_t		 now = time(NULL);

	TAILQ_FOREACH(s, &ws_live, ws_entry) {
		if (s->deadline == 0 || now < s->deadline ||
		    (s->flags & SESSION_DEAD))
			continue;
		log_info("session %llu: %s, closing it", s->id,
		    (s->flags & SESSION_CLOSING) ? "peer is not reading" :
		    "no CONNECT in time");
		s->flags |= SESSION_DEAD;
		ws_flush(s);
		ws_kill(s);
	}
}

/* Close a session that cannot keep up; it is freed once lws has closed it. */
static void
ws_drop(struct session *s, const char *why)
{
	if (s->flags & SESSION_DEAD)
		return;
	log_warn("session %llu: %s, dropping it", s->id, why);
	s->flags |= SESSION_DEAD;
	ws_flush(s);
	ws_kill(s);
}

/*
 * Queue a frame for the session: encoded once, written as one text message.
 * Returns 0, or -1 if the session is closing or dead, or was dropped now
 * because its queue would pass WS_OUT_MAX or memory ran out.
 */
int
ws_send(struct session *s, const struct stomp_frame *f)
{
	struct ws_out	*o;
	size_t		 len;

	if (s->flags & (SESSION_DEAD | SESSION_CLOSING) || s->wsi == NULL)
		return -1;
	if ((o = calloc(1, sizeof *o)) == NULL)
		goto nomem;
	buf_init(&o->b);
	if (buf_reserve(&o->b, LWS_PRE + 256) == -1)
		goto nomem;
	memset(o->b.data, 0, LWS_PRE);
	o->b.len = LWS_PRE;
	if (stomp_encode(&o->b, f) == -1) {
		buf_clear(&o->b);
		free(o);
		log_warn("session %llu: cannot encode a %s frame", s->id,
		    stomp_command_name(f->command));
		return 0;
	}
	len = o->b.len - LWS_PRE;
	if (s->outq_len + len > WS_OUT_MAX) {
		buf_clear(&o->b);
		free(o);
		ws_drop(s, "output queue over its limit");
		return -1;
	}
	TAILQ_INSERT_TAIL(&s->outq, o, entry);
	s->outq_len += len;
	s->out_queued += len;
	lws_callback_on_writable(s->wsi);
	return 0;

nomem:
	if (o != NULL)
		buf_clear(&o->b);
	free(o);
	ws_drop(s, "out of memory");
	return -1;
}

/* Close the session once what is queued has been written. */
void
ws_finish(struct session *s)
{
	if (s->flags & (SESSION_DEAD | SESSION_CLOSING) || s->wsi == NULL)
		return;
	/* From here the close deadline, not heart-beats, bounds the session. */
	ws_beat_stop(s);
	s->flags |= SESSION_CLOSING;
	s->deadline = time(NULL) + WS_CLOSE_SECS;
	lws_callback_on_writable(s->wsi);
}

/* The session has authenticated: cancel its CONNECT deadline. */
void
ws_connected(struct session *s)
{
	if ((s->flags & (SESSION_DEAD | SESSION_CLOSING)) == 0)
		s->deadline = 0;
}

/* Time to send a heart-beat, if we have been quiet for a whole interval. */
static void
ws_beat_tx(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct ws_beat		*b = w->data;
	struct session		*s = b->s;
	struct stomp_frame	 f;
	ev_tstamp		 now = ev_now(loop);
	ev_tstamp		 due = b->last_tx + b->tx_every;

	if (due - now < 0.001) {
		/*
		 * STOMP 1.2: an EOL is a heart-beat. Frames still queued are
		 * traffic enough; the output limit deals with a peer that
		 * does not read them.
		 */
		if (s->outq_len == 0) {
			stomp_frame_init(&f, STOMP_HEARTBEAT);
			if (ws_send(s, &f) == -1) {
				ev_timer_stop(loop, w);
				return;
			}
			b->sent++;
			log_debug("session %llu: heart-beat sent (%llu)", s->id,
			    b->sent);
		}
		b->last_tx = now;
		due = now + b->tx_every;
	}
	w->repeat = due - now;
	ev_timer_again(loop, w);
}

/* Drop a client that has been silent for twice its heart-beat interval. */
static void
ws_beat_rx(struct ev_loop *loop, struct ev_timer *w, int revents)
{
	struct ws_beat	*b = w->data;
	ev_tstamp	 now = ev_now(loop), limit = 2 * b->rx_every;
	char		 why[128];

	if (now - b->last_rx >= limit) {
		snprintf(why, sizeof why, "client silent for %.2fs "
		    "(heart-beat every %.0fms expected)", now - b->last_rx,
		    b->rx_every * 1000);
		ev_timer_stop(loop, w);
		ws_drop(b->s, why);
		return;
	}
	w->repeat = b->last_rx + limit - now;
	ev_timer_again(loop, w);
}

/*
 * Start the negotiated heart-beats of a connected session: send an EOL
 * whenever we were quiet for tx_ms, drop the client once it was quiet for
 * twice rx_ms (0: not that direction). Returns 0, or -1 out of memory (the
 * session is then dropped).
 */
int
ws_heartbeat(struct session *s, int tx_ms, int rx_ms)
{
	struct ws_beat	*b;
	ev_tstamp	 now;

	if (s->flags & (SESSION_DEAD | SESSION_CLOSING) || s->wsi == NULL)
		return 0;
	ws_beat_stop(s);
	if (tx_ms <= 0 && rx_ms <= 0)
		return 0;
	if ((b = s->beat) == NULL) {
		if ((b = calloc(1, sizeof *b)) == NULL) {
			ws_drop(s, "out of memory");
			return -1;
		}
		b->s = s;
		ev_init(&b->tx, ws_beat_tx);
		ev_init(&b->rx, ws_beat_rx);
		b->tx.data = b;
		b->rx.data = b;
		/*
		 * After a stall of our own (SIGSTOP, swapping), read what the
		 * client sent meanwhile before judging it silent.
		 */
		ev_set_priority(&b->rx, EV_MINPRI);
		s->beat = b;
	}
	now = ev_now(ws_loop);
	b->tx_every = tx_ms / 1000.;
	b->rx_every = rx_ms / 1000.;
	b->last_tx = now;
	b->last_rx = now;
	if (tx_ms > 0) {
		b->tx.repeat = b->tx_every;
		ev_timer_again(ws_loop, &b->tx);
	}
	if (rx_ms > 0) {
		b->rx.repeat = 2 * b->rx_every;
		ev_timer_again(ws_loop, &b->rx);
	}
	return 0;
}

/* Bytes queued for the session and not yet written. */
size_t
ws_queued(const struct session *s)
{
	return s->outq_len;
}

/* Accept a new WebSocket: a session, with the ?token= parameter kept. */
static struct session *
ws_accept(struct lws *wsi)
{
	struct session	*s;
	char		*args = NULL, peer[64];
	const char	*v;
	int		 n;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->wsi = wsi;
	s->id = ++ws_next_id;
	buf_init(&s->in);
	TAILQ_INIT(&s->outq);
	broker_attach(s);

	/* The token is checked at CONNECT (UPSTREAM.md); keep it till then. */
	if ((n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS)) > 0) {
		if ((args = malloc((size_t)n + 1)) == NULL)
			goto fail;
		v = lws_get_urlarg_by_name(wsi, "token=", args, n + 1);
		if (v != NULL && (s->qtoken = strdup(v)) == NULL)
			goto fail;
	}
	/* A client that never authenticates does not hold a socket forever. */
	s->deadline = time(NULL) + WS_CONNECT_SECS;
	if (lws_get_peer_simple(wsi, peer, sizeof peer) == NULL)
		snprintf(peer, sizeof peer, "?");
	TAILQ_INSERT_TAIL(&ws_live, s, ws_entry);
	log_info("session %llu: open from %s%s", s->id, peer,
	    s->qtoken != NULL ? " (token parameter)" : "");
	free(args);
	return s;

fail:
	free(args);
	broker_detach(s);
	ws_free(s);
	return NULL;
}

/* Append received bytes and hand every complete frame to the broker. */
static void
ws_receive(struct session *s, const void *data, size_t len)
{
	struct stomp_frame	 f;
	const char		*cause;
	size_t			 used;
	int			 r;

	if (s->flags & (SESSION_DEAD | SESSION_CLOSING))
		return;
	if (s->beat != NULL)
		s->beat->last_rx = ev_now(ws_loop);
	if (buf_left(&s->in) + len > WS_IN_MAX) {
		broker_fail(s, "frame too large");
		return;
	}
	if (buf_add(&s->in, data, len) == -1) {
		ws_drop(s, "out of memory");
		return;
	}
	while (buf_left(&s->in) > 0 &&
	    (s->flags & (SESSION_DEAD | SESSION_CLOSING)) == 0) {
		r = stomp_decode(buf_head(&s->in), buf_left(&s->in), &f, &used,
		    &cause);
		if (r == STOMP_MORE)
			break;
		if (r == STOMP_BAD) {
			broker_fail(s, cause != NULL ? cause :
			    "malformed frame");
			buf_reset(&s->in);
			return;
		}
		if (f.command == STOMP_HEARTBEAT && s->beat != NULL) {
			s->beat->received++;
			log_debug("session %llu: heart-beat received (%llu)",
			    s->id, s->beat->received);
		}
		broker_frame(s, &f);
		buf_consume(&s->in, used);
	}
	/* The decoder bounds a frame; this bounds what it has not seen. */
	if (buf_left(&s->in) > STOMP_MAX_FRAME)
		broker_fail(s, "frame too large");
}

/*
 * Count len more bytes handed to lws as written once lws holds none of them
 * (it keeps what the socket did not take, and sends it before it calls
 * ws_writeable again): then they are in the kernel and reach the peer even
 * if we die, and the pushes they end are delivered.
 */
static void
ws_account(struct session *s, size_t len)
{
	s->out_partial += len;
	if (s->out_partial == 0 || lws_partial_buffered(s->wsi))
		return;
	s->out_written += s->out_partial;
	s->out_partial = 0;
	deliver_written(s);
}

/*
 * Take the next WebSocket message off s's queue: its first frame, with the
 * frames behind it appended while the message stays under WS_OUT_BATCH
 * (UPSTREAM.md: a message carries one or more whole frames), so a burst
 * costs one write and one writeable turn, not one per frame. The vendor's
 * server writes one frame a message, and so does a seed-only imserver.
 */
static struct ws_out *
ws_gather(struct session *s)
{
	struct ws_out	*o, *next;
	size_t		 len;

	if ((o = TAILQ_FIRST(&s->outq)) == NULL)
		return NULL;
	TAILQ_REMOVE(&s->outq, o, entry);
	if (broker_profile() & BROKER_SEED_ONLY)
		return o;
	while ((next = TAILQ_FIRST(&s->outq)) != NULL) {
		len = next->b.len - LWS_PRE;
		if (o->b.len - LWS_PRE + len > WS_OUT_BATCH ||
		    buf_add(&o->b, next->b.data + LWS_PRE, len) == -1)
			break;
		TAILQ_REMOVE(&s->outq, next, entry);
		buf_clear(&next->b);
		free(next);
	}
	return o;
}

/* Write the next queued message; returns -1 to have lws close the session. */
static int
ws_writeable(struct session *s)
{
	struct ws_out	*o;
	size_t		 len;
	int		 n;

	if (s->flags & SESSION_DEAD)
		return -1;
	ws_account(s, 0);
	if ((o = ws_gather(s)) != NULL) {
		len = o->b.len - LWS_PRE;
		s->outq_len -= len;
		n = lws_write(s->wsi, (unsigned char *)o->b.data + LWS_PRE,
		    len, LWS_WRITE_TEXT);
		buf_clear(&o->b);
		free(o);
		if (n < 0 || (size_t)n < len) {
			log_info("session %llu: write failed", s->id);
			return -1;
		}
		ws_account(s, len);
		if (s->beat != NULL)
			s->beat->last_tx = ev_now(ws_loop);
	}
	/* Called again once lws has sent what it holds, to count it. */
	if (!TAILQ_EMPTY(&s->outq) || s->out_partial > 0) {
		lws_callback_on_writable(s->wsi);
		return 0;
	}
	if (s->flags & SESSION_CLOSING) {
		lws_close_reason(s->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	broker_drained(s);
	return 0;
}

/* The session's connection is gone: detach it now, free it later. */
static void
ws_closed(struct session *s)
{
	if (s->beat != NULL && (s->beat->sent > 0 || s->beat->received > 0))
		log_info("session %llu: closed (heart-beats: %llu sent, %llu "
		    "received)", s->id, s->beat->sent, s->beat->received);
	else
		log_info("session %llu: closed", s->id);
	ws_beat_stop(s);
	broker_detach(s);
	s->flags |= SESSION_DEAD;
	s->wsi = NULL;
	ws_flush(s);
	TAILQ_REMOVE(&ws_live, s, ws_entry);
	TAILQ_INSERT_TAIL(&ws_gone, s, ws_entry);
}

/* Answer a plain HTTP request or a refused upgrade with a status. */
static int
ws_http_status(struct lws *wsi, unsigned int code)
{
	if (lws_return_http_status(wsi, code, NULL))
		return -1;
	return 1;
}

/* The libwebsockets callback of the v12.stomp protocol. */
static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws_pss	*pss = user;
	char		 path[128];

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		/* Only WebSocket upgrades are served. */
		log_debug("plain HTTP request refused");
		if (ws_http_status(wsi, strcmp(in, WS_PATH) == 0 ?
		    HTTP_STATUS_BAD_REQUEST : HTTP_STATUS_NOT_FOUND) == -1)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (lws_hdr_copy(wsi, path, sizeof path,
		    WSI_TOKEN_GET_URI) > 0 && strcmp(path, WS_PATH) == 0)
			return 0;
		log_info("upgrade refused: not " WS_PATH);
		/* 1: we sent the answer; lws completes the transaction. */
		return ws_http_status(wsi, HTTP_STATUS_NOT_FOUND);
	case LWS_CALLBACK_ESTABLISHED:
		if ((pss->s = ws_accept(wsi)) == NULL) {
			log_warn("out of memory for a new session");
			return -1;
		}
		break;
	case LWS_CALLBACK_RECEIVE:
		if (pss->s != NULL)
			ws_receive(pss->s, in, len);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (pss->s == NULL)
			return -1;
		return ws_writeable(pss->s);
	case LWS_CALLBACK_CLOSED:
		if (pss->s != NULL) {
			ws_closed(pss->s);
			pss->s = NULL;
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Listen on addr:port (port 0: any) with libwebsockets driven by loop,
 * serving wss:// with the PEM certificate (chain) and key files cert and key
 * when both are given, else plain ws://. Sets *bound to the port. Returns 0,
 * or -1 with *cause set (to free).
 */
int
ws_open(struct ev_loop *loop, const char *addr, int port, const char *cert,
    const char *key, int *bound, char **cause)
{
	struct lws_context_creation_info	 info;
	struct lws_vhost			*vh;

	*cause = NULL;
	lws_set_log_level(LLL_ERR | LLL_WARN, ws_lws_log);

	ws_loop = loop;
	ws_loops[0] = loop;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = addr;
	info.protocols = ws_protocols;
	info.vhost_name = "imserver";
	info.server_string = SERVER_VERSION;
	info.gid = -1;
	info.uid = -1;
	info.foreign_loops = ws_loops;
	info.options = LWS_SERVER_OPTION_LIBEV |
	    LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	if (strchr(addr, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (cert != NULL && key != NULL) {
		/* Every connection on the port is TLS; lws reports bad files. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
	}
	/* Notice dead peers. */
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;

	if ((ws_context = lws_create_context(&info)) == NULL) {
		if (cert != NULL && key != NULL) {
			if (asprintf(cause, "cannot listen on %s port %d with "
			    "TLS (certificate %s, key %s)", addr, port, cert,
			    key) == -1)
				*cause = NULL;
		} else if (asprintf(cause, "cannot listen on %s port %d", addr,
		    port) == -1)
			*cause = NULL;
		return -1;
	}
	if ((vh = lws_get_vhost_by_name(ws_context, "imserver")) == NULL ||
	    (*bound = lws_get_vhost_listen_port(vh)) <= 0) {
		if (asprintf(cause, "no listening socket on %s port %d", addr,
		    port) == -1)
			*cause = NULL;
		lws_context_destroy(ws_context);
		ws_context = NULL;
		return -1;
	}
	ev_check_init(&ws_reaper, ws_reap);
	ev_check_start(loop, &ws_reaper);
	ev_timer_init(&ws_ticker, ws_tick, 1., 1.);
	ev_timer_start(loop, &ws_ticker);
	return 0;
}

/* Close every session and the listener; call after ev_run has returned. */
void
ws_close(void)
{
	struct session	*s;

	if (ws_context != NULL) {
		lws_context_destroy(ws_context);
		ws_context = NULL;
	}
	/* Sessions lws did not report closed are closed now. */
	while ((s = TAILQ_FIRST(&ws_live)) != NULL)
		ws_closed(s);
	ws_reap(ws_loop, &ws_reaper, 0);
	if (ws_loop != NULL) {
		ev_check_stop(ws_loop, &ws_reaper);
		ev_timer_stop(ws_loop, &ws_ticker);
	}
}
