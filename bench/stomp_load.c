/*
 * stomp_load: a direct STOMP-over-WebSocket client for the benchmarks, to
 * load imserver without a gateway and to be the reference a gateway is
 * compared with. A minimal RFC 6455 client (masked text frames) around
 * proto/stomp.c; one connection, one thread. Prints one JSON object on
 * stdout. A benchmark tool: it exits on any error.
 *
 *   stomp_load -u URL -k TOKENFILE send -o USER -n COUNT [-W WINDOW]
 *              [-r RATE] [-M EVERY] [-x TEXT] [-a APPID]
 *       COUNT chat.send with request-id, at most WINDOW unanswered (a
 *       sliding window, or paced at RATE per second); latency = reply -
 *       send; "rate" counts the sends the server accepted (code 0) only. With -M, every
 *       EVERY-th message carries a unique marker and a line
 *       "marker TOKEN NS" (CLOCK_MONOTONIC) is printed when it is sent.
 *   stomp_load -u URL -k TOKENFILE sync [-a APPID]
 *       chat.sync from seq 0 to the end; counts the messages pushed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "stomp.h"

static int		 fd;
static struct buf	 out, wsin, stin;
static const char	*app = "ak_demo_chat";

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
dief(const char *what)
{
	fprintf(stderr, "stomp_load: %s%s%s\n", what, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	exit(1);
}

/*
 * Write what the socket takes now (non-blocking once the WebSocket is up):
 * a client that blocks in write while the server answers it would let the
 * server's output queue for it overflow.
 */
static void
ws_flush(void)
{
	ssize_t	 w;

	while (buf_left(&out) > 0) {
		w = write(fd, buf_head(&out), buf_left(&out));
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			break;
		if (w == -1)
			dief("write");
		buf_consume(&out, (size_t)w);
	}
	buf_compact(&out);
}

typedef void	 frame_fn(const struct stomp_frame *);
static void	 ws_read(frame_fn *);

/* Wait for the socket: write what is queued, read (into fn) what arrives. */
static void
ws_wait(frame_fn *fn, int ms)
{
	struct pollfd	 pfd;

	ws_flush();
	pfd.fd = fd;
	pfd.events = POLLIN | (buf_left(&out) ? POLLOUT : 0);
	if (poll(&pfd, 1, ms) <= 0)
		return;
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
		ws_read(fn);
	ws_flush();
}

/* Queue one masked WebSocket frame (RFC 6455 5.2). */
static void
ws_frame(int opcode, const char *p, size_t n)
{
	unsigned char	 h[14], mask[4];
	size_t		 hl = 2, i, at;

	h[0] = 0x80 | opcode;
	if (n < 126)
		h[1] = 0x80 | n;
	else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = n >> 8;
		h[3] = n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)(n >> (56 - 8 * i));
		hl = 10;
	}
	if (getrandom(mask, 4, 0) != 4)
		dief("getrandom");
	memcpy(h + hl, mask, 4);
	hl += 4;
	if (buf_add(&out, h, hl) == -1 || buf_reserve(&out, n) == -1)
		dief("out of memory");
	at = out.len;
	for (i = 0; i < n; i++)
		out.data[at + i] = p[i] ^ mask[i & 3];
	out.len += n;
}

/* Queue one STOMP frame as one WebSocket text message. */
static void
stomp_send(const struct stomp_frame *f)
{
	struct buf	 b;

	buf_init(&b);
	if (stomp_encode(&b, f) == -1)
		dief("cannot encode a frame");
	ws_frame(1, b.data, b.len);
	buf_clear(&b);
}

/* Connect TCP and upgrade to a WebSocket. */
static void
ws_open(const char *url, const char *token)
{
	struct sockaddr_in	 sin;
	char			 host[64], req[2048], resp[4096];
	int			 port, one = 1;
	size_t			 got = 0;
	ssize_t			 r;

	if (sscanf(url, "ws://%63[^:]:%d/", host, &port) != 2)
		dief("want a ws://HOST:PORT/... URL");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		dief("want a numeric IPv4 host");
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		dief("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		dief("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	snprintf(req, sizeof req, "GET /ws/im HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: v12.stomp\r\n\r\n", host, port);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		dief("write");
	for (;;) {
		if (got == sizeof resp - 1)
			dief("handshake answer too long");
		if ((r = read(fd, resp + got, 1)) <= 0)
			dief("handshake");
		got++;
		resp[got] = '\0';
		if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(resp, "HTTP/1.1 101", 12) != 0)
		dief("the server refused the WebSocket upgrade");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	(void)token;
}

/* Read from the socket; hand every complete STOMP frame to fn. */
static void
ws_read(frame_fn *fn)
{
	struct stomp_frame	 f;
	const char		*cause;
	unsigned char		*p;
	uint64_t		 n;
	size_t			 hl, used;
	ssize_t			 r;
	int			 op;

	if (buf_reserve(&wsin, 1 << 16) == -1)
		dief("out of memory");
	r = read(fd, wsin.data + wsin.len, 1 << 16);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0)
		dief("the server closed the connection");
	wsin.len += (size_t)r;
	for (;;) {
		p = (unsigned char *)buf_head(&wsin);
		if (buf_left(&wsin) < 2)
			break;
		op = p[0] & 15;
		n = p[1] & 127;
		hl = 2;
		if (n == 126) {
			if (buf_left(&wsin) < 4)
				break;
			n = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (n == 127) {
			if (buf_left(&wsin) < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			hl = 10;
		}
		if (p[1] & 0x80)
			dief("masked frame from the server");
		if (buf_left(&wsin) < hl + n)
			break;
		if (op == 8)
			dief("the server closed the WebSocket");
		if (op == 9)
			ws_frame(10, (char *)p + hl, n);
		else if (op <= 2) {
			if (buf_add(&stin, p + hl, n) == -1)
				dief("out of memory");
		}
		buf_consume(&wsin, hl + n);
	}
	buf_compact(&wsin);
	while (buf_left(&stin) > 0) {
		int rc = stomp_decode(buf_head(&stin), buf_left(&stin), &f,
		    &used, &cause);

		if (rc == STOMP_MORE)
			break;
		if (rc == STOMP_BAD) {
			fprintf(stderr, "stomp_load: %s\n", cause);
			exit(1);
		}
		if (f.command == STOMP_ERROR) {
			fprintf(stderr, "stomp_load: ERROR %s\n",
			    stomp_frame_get(&f, "message") ?
			    stomp_frame_get(&f, "message") : "");
			exit(1);
		}
		fn(&f);
		buf_consume(&stin, used);
	}
	buf_compact(&stin);
}

static int	 connected;

static void
connect_fn(const struct stomp_frame *f)
{
	if (f->command == STOMP_CONNECTED)
		connected = 1;
}

/* CONNECT, wait for CONNECTED, subscribe to the personal queues. */
static void
stomp_open(const char *url, const char *token)
{
	struct stomp_frame	 f;
	char			 auth[1100];

	ws_open(url, token);
	snprintf(auth, sizeof auth, "Bearer %s", token);
	stomp_frame_init(&f, STOMP_CONNECT);
	stomp_frame_add(&f, "accept-version", "1.2");
	stomp_frame_add(&f, "heart-beat", "0,0");
	stomp_frame_add(&f, "host", "127.0.0.1");
	stomp_frame_add(&f, "Authorization", auth);
	stomp_send(&f);
	while (!connected)
		ws_wait(connect_fn, 1000);
	stomp_frame_init(&f, STOMP_SUBSCRIBE);
	stomp_frame_add(&f, "id", "sub-1");
	stomp_frame_add(&f, "destination", "/user/queue/messages");
	stomp_send(&f);
	stomp_frame_init(&f, STOMP_SUBSCRIBE);
	stomp_frame_add(&f, "id", "sub-2");
	stomp_frame_add(&f, "destination", "/user/queue/replies");
	stomp_send(&f);
	ws_wait(connect_fn, 0);
}

/* Send body to dest with request-id rid. */
static void
stomp_request(const char *dest, const char *body, const char *rid)
{
	struct stomp_frame	 f;

	stomp_frame_init(&f, STOMP_SEND);
	stomp_frame_add(&f, "destination", dest);
	stomp_frame_add(&f, "content-type", "application/json");
	stomp_frame_add(&f, "request-id", rid);
	f.body = body;
	f.body_len = strlen(body);
	stomp_send(&f);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(int64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	return (double)v[(size_t)(p * (double)(n - 1) + 0.5)] / 1000.0;
}

/* ------------------------------------------------------------ send */

static int64_t	 n_total, n_sent, n_acked, n_failed, *sent_at;
static char	 tag[32];

static void
send_reply(const struct stomp_frame *f)
{
	const char	*rid = stomp_frame_get(f, "request-id");
	int64_t		 k;

	if (f->command != STOMP_MESSAGE || rid == NULL || rid[0] != 'q')
		return;
	k = strtoll(rid + 1, NULL, 10);
	if (k < 0 || k >= n_total)
		return;
	if (strncmp(f->body, "{\"code\":0", 9) != 0 &&
	    strstr(f->body, "\"code\":0,") == NULL)
		n_failed++;
	sent_at[k] = now_ns() - sent_at[k];
	n_acked++;
}

static void
send_one(const char *to, const char *text, int marker_every)
{
	char	 body[8192], rid[32], mark[64] = "";
	int64_t	 k = n_sent++;

	if (marker_every > 0 && k % marker_every == 0)
		snprintf(mark, sizeof mark, " zq%s%07" PRId64 "x", tag, k);
	snprintf(rid, sizeof rid, "q%" PRId64, k);
	snprintf(body, sizeof body, "{\"appId\":\"%s\",\"messageId\":"
	    "\"%s-%" PRId64 "\",\"toId\":\"%s\",\"chatType\":\"SINGLE\","
	    "\"msgType\":\"TEXT\",\"content\":\"%s %" PRId64 "%s\"}", app, tag,
	    k, to, text, k, mark);
	sent_at[k] = now_ns();
	stomp_request("/app/chat.send", body, rid);
	if (*mark) {
		printf("marker %s %" PRId64 "\n", mark + 1, sent_at[k]);
		fflush(stdout);
	}
}

static void
run_send(const char *to, int window, double rate, int marker_every,
    const char *text)
{
	int64_t		 t0, t1, due;

	if ((sent_at = calloc((size_t)n_total, sizeof *sent_at)) == NULL)
		dief("out of memory");
	snprintf(tag, sizeof tag, "s%x%04x", (unsigned)getpid(),
	    (unsigned)(now_ns() & 0xffff));
	t0 = now_ns();
	while (n_acked < n_total) {
		if (rate > 0) {
			/* Open loop: every message that is due goes now. */
			while (n_sent < n_total && n_sent - n_acked < window &&
			    (due = t0 + (int64_t)(n_sent / rate * 1e9)) <= now_ns())
				send_one(to, text, marker_every);
		} else {
			while (n_sent < n_total && n_sent - n_acked < window)
				send_one(to, text, marker_every);
		}
		ws_wait(send_reply, rate > 0 ? 1 : 1000);
	}
	t1 = now_ns();
	qsort(sent_at, (size_t)n_total, sizeof *sent_at, cmp64);
	/* A refused send is not a message sent: the rate counts the others. */
	printf("{\"mode\":\"send\",\"window\":%d,\"messages\":%" PRId64
	    ",\"failed\":%" PRId64 ",\"seconds\":%.6f,\"rate\":%.1f,"
	    "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n", window,
	    n_total, n_failed, (t1 - t0) / 1e9,
	    (n_total - n_failed) / ((t1 - t0) / 1e9),
	    pct(sent_at, (size_t)n_total, .5), pct(sent_at, (size_t)n_total, .99),
	    pct(sent_at, (size_t)n_total, 1));
}

/* ------------------------------------------------------------ sync */

static int64_t	 synced, sync_seq, sync_more = 1, sync_waiting;

static void
sync_frame(const struct stomp_frame *f)
{
	const char	*dest = stomp_frame_get(f, "destination");
	const char	*p;

	if (f->command != STOMP_MESSAGE || dest == NULL)
		return;
	if (strcmp(dest, "/user/queue/messages") == 0) {
		synced++;
		return;
	}
	if (strcmp(dest, "/user/queue/replies") != 0)
		return;
	sync_waiting = 0;
	if ((p = strstr(f->body, "\"seq\":")) != NULL)
		sync_seq = strtoll(p + 6, NULL, 10);
	sync_more = strstr(f->body, "\"more\":true") != NULL;
}

static void
run_sync(void)
{
	char	 body[256];
	int64_t	 t0, t1;

	t0 = now_ns();
	while (sync_more) {
		snprintf(body, sizeof body, "{\"appId\":\"%s\",\"since\":%"
		    PRId64 ",\"limit\":1000}", app, sync_seq);
		stomp_request("/app/chat.sync", body, "sync");
		sync_waiting = 1;
		while (sync_waiting)
			ws_wait(sync_frame, 1000);
	}
	t1 = now_ns();
	printf("{\"mode\":\"sync\",\"messages\":%" PRId64 ",\"seconds\":%.6f,"
	    "\"rate\":%.1f}\n", synced, (t1 - t0) / 1e9,
	    synced / ((t1 - t0) / 1e9));
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
	fprintf(stderr, "usage: stomp_load -u URL -k TOKENFILE send|sync "
	    "[options] (see the comment at the top of bench/stomp_load.c)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*url = NULL, *tokfile = NULL, *to = NULL;
	const char	*text = "\\u4f60\\u597d\\uff0c\\u660e\\u5929\\u5317"
			    "\\u4eac\\u89c1 hello";
	char		 token[1024];
	double		 rate = 0;
	int		 ch, window = 1, marker = 0;
	FILE		*f;

	while ((ch = getopt(argc, argv, "u:k:o:n:W:r:M:x:a:")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'k': tokfile = optarg; break;
		case 'o': to = optarg; break;
		case 'n': n_total = atoll(optarg); break;
		case 'W': window = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'M': marker = atoi(optarg); break;
		case 'x': text = optarg; break;
		case 'a': app = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || url == NULL || tokfile == NULL)
		usage();
	if ((f = fopen(tokfile, "r")) == NULL || fgets(token, sizeof token,
	    f) == NULL)
		dief("cannot read the token file");
	fclose(f);
	token[strcspn(token, "\r\n")] = '\0';
	buf_init(&out);
	buf_init(&wsin);
	buf_init(&stin);
	stomp_open(url, token);
	errno = 0;
	if (strcmp(argv[optind], "send") == 0) {
		if (to == NULL || n_total < 1 || window < 1)
			usage();
		run_send(to, window, rate, marker, text);
	} else if (strcmp(argv[optind], "sync") == 0)
		run_sync();
	else
		usage();
	return 0;
}
