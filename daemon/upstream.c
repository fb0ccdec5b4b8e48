/*
 * upstream: the one WebSocket to the IM server. Owns the libwebsockets
 * context (running on our libev loop), connecting, reconnecting with
 * back-off, and moving bytes; STOMP itself is session.c's business, reached
 * only through the hooks main.c installs.
 * The only daemon file that includes libwebsockets.h.
 */
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <openssl/x509.h>

#include "daemon.h"
#include "log.h"

#define UPSTREAM_OUT_MAX	(8 * 1024 * 1024)	/* queued, not yet written */
#define BACKOFF_MIN		0.25
#define HB_TOLERANCE		2.0	/* missed server beats before we hang up */

static struct {
	struct lws_context	*ctx;
	struct lws		*wsi;
	int			 open;		/* WebSocket established */
	int			 held;		/* not reconnecting until kicked */
	int			 closing;	/* we asked to close */
	int			 tls;
	int			 port;
	char			*host;
	char			*path;		/* /ws/im, without the token */
	struct buf		 out;		/* LWS_PRE bytes, then frames */
	ev_timer		 retry;
	double			 backoff;
	ev_timer		 watch;		/* dead-peer watchdog */
	ev_tstamp		 last_rx;	/* when the server last sent anything */
	double			 expect;	/* STOMP heart-beat from the server, s */
	int			 ping_due;	/* write a WebSocket ping */
	int			 ping_text;	/* after the text queued before it */
	uint64_t		 ping_seq;	/* pings written (each carries its number) */
	uint64_t		 pong_seq;	/* pings answered */
	char			 why[256];	/* our reason for the coming close */
	char			 tls_err[256];	/* why the last certificate was refused */
} up;

static void	upstream_connect(void);

static struct upstream_hooks	 hooks;

/* Say where the connection's events go (main.c, before upstream_start). */
void
upstream_set_hooks(const struct upstream_hooks *h)
{
	hooks = *h;
}

/*
 * Schedule the next connection attempt with jittered exponential back-off,
 * capped at cfg.backoff_max. Returns when it is due (ms), 0 if held.
 */
static int64_t
upstream_schedule(void)
{
	double	 d;

	if (up.held)
		return 0;
	if (!ev_is_active(&up.retry)) {
		d = up.backoff * (0.75 + 0.5 * ((double)random() / RAND_MAX));
		if (d > cfg.backoff_max)
			d = cfg.backoff_max;
		up.backoff = up.backoff * 2 > cfg.backoff_max ? cfg.backoff_max :
		    up.backoff * 2;
		log_debug("reconnecting in %.2fs", d);
		ev_timer_set(&up.retry, d, 0);
		ev_timer_start(loop, &up.retry);
	}
	return (int64_t)((ev_now(loop) + ev_timer_remaining(loop, &up.retry)) * 1000);
}

/* The connection is gone, however it went: plan a retry, tell the session. */
static void
upstream_lost(const char *reason)
{
	int	 was = up.wsi != NULL;
	int64_t	 at;

	/* Say why we closed it ourselves, rather than "connection closed". */
	if (up.why[0] != '\0')
		reason = up.why;
	up.wsi = NULL;
	up.open = 0;
	up.closing = 0;
	up.ping_due = up.ping_text = 0;
	up.pong_seq = up.ping_seq;	/* nothing is outstanding any more */
	ev_timer_stop(loop, &up.watch);
	buf_reset(&up.out);
	at = upstream_schedule();
	if (was)
		hooks.closed(reason, at);
	up.why[0] = '\0';
}

/*
 * The watchdog: a peer that sends nothing for ping_interval gets a WebSocket
 * ping; one silent for ping_timeout (or for HB_TOLERANCE negotiated STOMP
 * heart-beats) is dropped, so a half-open connection cannot hang the session.
 */
static void
upstream_watch_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	double	 idle = ev_now(l) - up.last_rx, limit = cfg.ping_timeout;
	char	 why[96];

	if (up.wsi == NULL || !up.open || up.closing)
		return;
	if (up.expect > 0 && up.expect * HB_TOLERANCE < limit)
		limit = up.expect * HB_TOLERANCE;
	if (idle >= limit) {
		snprintf(why, sizeof why, "server silent for %.1fs", idle);
		upstream_drop(why);
		return;
	}
	if (idle >= cfg.ping_interval && !up.ping_due &&
	    up.pong_seq == up.ping_seq) {
		up.ping_due = 1;
		lws_callback_on_writable(up.wsi);
	}
}

/* (Re)start the watchdog with a tick fine enough for the shortest limit. */
static void
upstream_watch_start(void)
{
	double	 tick = cfg.ping_interval / 4;

	if (up.expect > 0 && up.expect / 4 < tick)
		tick = up.expect / 4;
	if (tick > 1.0)
		tick = 1.0;
	if (tick < 0.05)
		tick = 0.05;
	up.last_rx = ev_now(loop);
	ev_timer_stop(loop, &up.watch);
	ev_timer_set(&up.watch, tick, tick);
	ev_timer_start(loop, &up.watch);
}

/* Expect STOMP heart-beats from the server every secs (0: none). */
void
upstream_expect(double secs)
{
	up.expect = secs;
	if (up.open)
		upstream_watch_start();
}

/* The host part of the upstream URL (the default CONNECT host header). */
const char *
upstream_host(void)
{
	return up.host;
}

/*
 * A pong came back: the server has read everything written before its ping.
 * Pongs answer pings in order (RFC 6455), so without a payload we count.
 */
static void
upstream_pong(const void *in, size_t len)
{
	char			 num[24];
	unsigned long long	 n = 0;

	up.last_rx = ev_now(loop);
	if (in != NULL && len > 0 && len < sizeof num) {
		memcpy(num, in, len);
		num[len] = '\0';
		n = strtoull(num, NULL, 10);
	}
	if (n <= up.pong_seq || n > up.ping_seq)
		n = up.pong_seq + 1;
	if (n > up.ping_seq)
		return;		/* a pong we never asked for */
	log_debug("pong %llu", n);
	up.pong_seq = n;
	if (up.ping_due)
		lws_callback_on_writable(up.wsi);	/* the next one may go */
	hooks.pong(n);
}

static int
upstream_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	int	 n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (wsi != up.wsi)
			break;
		up.open = 1;
		log_info("connected to %s:%d", up.host, up.port);
		upstream_watch_start();
		hooks.opened();
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (wsi != up.wsi || up.closing)
			break;
		up.last_rx = ev_now(loop);
		hooks.input(in, len);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (wsi == up.wsi && !up.closing)
			upstream_pong(in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (wsi != up.wsi)
			break;
		if (up.closing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		/*
		 * One ping at a time: a peer may drop a ping that comes while
		 * its pong for the last one is still due (lws does).
		 */
		if (up.ping_due && !up.ping_text && up.pong_seq == up.ping_seq) {
			unsigned char	 ping[LWS_PRE + 24];

			/* The payload is its number; the pong echoes it. */
			up.ping_due = 0;
			n = snprintf((char *)ping + LWS_PRE, 24, "%llu",
			    (unsigned long long)++up.ping_seq);
			if (lws_write(wsi, ping + LWS_PRE, (size_t)n,
			    LWS_WRITE_PING) < 0)
				return -1;
			log_debug("ping %llu", (unsigned long long)up.ping_seq);
			if (up.out.len > LWS_PRE)
				lws_callback_on_writable(wsi);
			break;
		}
		if (up.out.len <= LWS_PRE)
			break;
		/* Every queued frame goes out in one message (UPSTREAM.md). */
		n = lws_write(wsi, (unsigned char *)up.out.data + LWS_PRE,
		    up.out.len - LWS_PRE, LWS_WRITE_TEXT);
		up.out.len = LWS_PRE;
		up.ping_text = 0;
		if (n < 0) {
			log_warn("upstream write failed");
			return -1;
		}
		if (up.ping_due && up.pong_seq == up.ping_seq)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* in: the X509_STORE_CTX, len: OpenSSL's preverify result. */
		if (len == 0 && in != NULL) {
			int	 err = X509_STORE_CTX_get_error(in);

			snprintf(up.tls_err, sizeof up.tls_err, "TLS: the server's "
			    "certificate was refused: %s%s",
			    X509_verify_cert_error_string(err),
			    cfg.ca_file == NULL ? " (give its CA with --ca-file)" : "");
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (wsi != up.wsi)
			break;
		if (up.tls_err[0] != '\0') {
			log_warn("cannot connect to %s:%d: %s", up.host, up.port, up.tls_err);
			snprintf(up.why, sizeof up.why, "%s", up.tls_err);
		} else {
			log_warn("cannot connect to %s:%d: %s", up.host, up.port,
			    in != NULL ? (const char *)in : "unknown error");
			snprintf(up.why, sizeof up.why, "connection failed: %.200s",
			    in != NULL ? (const char *)in : "unknown error");
		}
		up.tls_err[0] = '\0';
		upstream_lost("connection failed");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (wsi != up.wsi)
			break;
		log_info("connection to %s:%d closed", up.host, up.port);
		upstream_lost("connection closed");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* A handshake timeout reports nothing else (lws 4.1). */
		if (wsi == up.wsi)
			upstream_lost("connection timed out");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols upstream_protocols[] = {
	{ "v12.stomp", upstream_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Percent-encode s into b (RFC 3986 unreserved characters pass). */
static int
upstream_urlencode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;
		char		 e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL) {
			if (buf_add(b, s, 1) == -1)
				return -1;
		} else if (buf_add(b, e, 3) == -1)
			return -1;
	}
	return 0;
}

/* Open a new WebSocket; failures come back through the callbacks. */
static void
upstream_connect(void)
{
	struct lws_client_connect_info	 ci;
	struct buf			 path;
	char				 hostport[300];

	if (up.wsi != NULL || up.ctx == NULL)
		return;
	buf_init(&path);
	/* The seed puts the token in the query string as well as in CONNECT. */
	if (buf_printf(&path, "%s%stoken=", up.path,
	    strchr(up.path, '?') != NULL ? "&" : "?") == -1 ||
	    upstream_urlencode(&path, cfg.token) == -1 ||
	    buf_add(&path, "", 1) == -1)
		fatalx("out of memory");
	snprintf(hostport, sizeof hostport, "%s:%d", up.host, up.port);

	memset(&ci, 0, sizeof ci);
	ci.context = up.ctx;
	ci.address = up.host;
	ci.port = up.port;
	ci.path = path.data;
	ci.host = hostport;
	ci.origin = hostport;
	/* The seed's client offers no subprotocol; neither do we. */
	ci.protocol = NULL;
	ci.local_protocol_name = upstream_protocols[0].name;
	ci.ssl_connection = up.tls ? LCCSCF_USE_SSL : 0;
	ci.pwsi = &up.wsi;
	log_debug("connecting to %s:%d", up.host, up.port);
	up.tls_err[0] = up.why[0] = '\0';
	buf_reset(&up.out);
	if (buf_reserve(&up.out, LWS_PRE) == -1)
		fatalx("out of memory");
	memset(up.out.data, 0, LWS_PRE);
	up.out.len = LWS_PRE;
	hooks.connecting();
	if (lws_client_connect_via_info(&ci) == NULL && up.wsi == NULL) {
		log_warn("cannot start connecting to %s:%d", up.host, up.port);
		hooks.closed("cannot start connecting", upstream_schedule());
	}
	explicit_bzero(path.data, path.cap);
	buf_clear(&path);
}

static void
upstream_retry_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	upstream_connect();
}

/* Split cfg.upstream into scheme, host, port and path. */
static int
upstream_parse(char **cause)
{
	const char	*u = cfg.upstream, *p, *slash, *colon;

	if (strncmp(u, "ws://", 5) == 0) {
		up.tls = 0;
		p = u + 5;
	} else if (strncmp(u, "wss://", 6) == 0) {
		up.tls = 1;
		p = u + 6;
	} else
		goto bad;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon != NULL) {
		char	*end;
		long	 port = strtol(colon + 1, &end, 10);

		if (end != slash || port < 1 || port > 65535)
			goto bad;
		up.port = (int)port;
	} else {
		colon = slash;
		up.port = up.tls ? 443 : 80;
	}
	if (colon == p)
		goto bad;
	up.host = strndup(p, (size_t)(colon - p));
	up.path = strdup(*slash != '\0' ? slash : "/ws/im");
	return 0;
bad:
	if (asprintf(cause, "bad --upstream URL '%s' (want ws://HOST:PORT/ws/im "
	    "or wss://...)", u) == -1)
		*cause = NULL;
	return -1;
}

/* libwebsockets' own error lines, in our log's format. */
static void
upstream_lws_log(int level, const char *line)
{
	size_t	 n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	log_warn("libwebsockets: %.*s", (int)n, line);
}

/* Create the lws context on our loop and start connecting. */
int
upstream_start(char **cause)
{
	struct lws_context_creation_info	 info;
	void					*loops[1] = { loop };

	if (upstream_parse(cause) == -1)
		return -1;
	/*
	 * The libev plugin logs every watcher change at NOTICE; errors go
	 * through our log, one line each (lws never sees the token).
	 */
	lws_set_log_level(LLL_ERR, upstream_lws_log);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = upstream_protocols;
	/*
	 * OpenSSL only for wss:// (the upstream is fixed for the process):
	 * its initialisation and CA store are 4 MiB of a 11 MiB resident set.
	 */
	info.options = LWS_SERVER_OPTION_LIBEV |
	    (up.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
	info.foreign_loops = loops;
	info.client_ssl_ca_filepath = cfg.ca_file;
	if ((up.ctx = lws_create_context(&info)) == NULL) {
		*cause = strdup("cannot create libwebsockets context "
		    "(is libwebsockets-evlib-ev installed?)");
		return -1;
	}
	buf_init(&up.out);
	up.backoff = BACKOFF_MIN;
	ev_timer_init(&up.retry, upstream_retry_cb, 0, 0);
	ev_init(&up.watch, upstream_watch_cb);
	srandom((unsigned)getpid() ^ (unsigned)ev_time());
	if (!up.held)
		upstream_connect();
	return 0;
}

/* Destroy the context; call only from outside lws callbacks. */
void
upstream_stop(void)
{
	ev_timer_stop(loop, &up.retry);
	ev_timer_stop(loop, &up.watch);
	up.held = 1;
	if (up.ctx != NULL) {
		lws_context_destroy(up.ctx);
		up.ctx = NULL;
	}
	up.wsi = NULL;
	buf_clear(&up.out);
	free(up.host);
	free(up.path);
}

/* Queue bytes for the WebSocket. */
int
upstream_send(const void *p, size_t n)
{
	if (!up.open || up.closing)
		return -1;
	if (up.out.len + n > UPSTREAM_OUT_MAX) {
		upstream_drop("upstream not reading");
		return -1;
	}
	if (buf_add(&up.out, p, n) == -1)
		fatalx("out of memory");
	lws_callback_on_writable(up.wsi);
	return 0;
}

/* Close the connection; a reconnect follows unless held. */
void
upstream_drop(const char *reason)
{
	if (up.wsi == NULL)
		return;
	log_info("dropping upstream connection: %s", reason);
	if (up.why[0] == '\0')
		snprintf(up.why, sizeof up.why, "%s", reason);
	up.closing = 1;
	lws_callback_on_writable(up.wsi);
}

/* Stop reconnecting until upstream_kick. */
void
upstream_hold(void)
{
	up.held = 1;
	ev_timer_stop(loop, &up.retry);
}

/* Connect now, clearing any hold and back-off. */
void
upstream_kick(void)
{
	up.held = 0;
	up.backoff = BACKOFF_MIN;
	ev_timer_stop(loop, &up.retry);
	if (up.wsi != NULL)
		upstream_drop("reconnect requested");
	else
		upstream_connect();
}

/* The session is up: later drops start the back-off afresh. */
void
upstream_reset_backoff(void)
{
	up.backoff = BACKOFF_MIN;
}

/* See daemon.h. */
uint64_t
upstream_barrier(void)
{
	if (!up.open || up.closing)
		return 0;
	if (up.out.len > LWS_PRE)
		up.ping_text = 1;
	if (!up.ping_due) {
		up.ping_due = 1;
		lws_callback_on_writable(up.wsi);
	}
	/* The next ping written, after the one outstanding (if any). */
	return up.ping_seq + 1;
}

/* Whether the WebSocket is open. */
int
upstream_is_open(void)
{
	return up.open && !up.closing;
}
