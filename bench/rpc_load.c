/*
 * rpc_load: the benchmarks' MessagePack-RPC load generator for imgwd. One
 * thread, epoll over every connection, requests encoded once and copied, so
 * the client is not what is measured. Prints one JSON object on stdout.
 * A benchmark tool: it exits on any error.
 *
 *   rpc_load -s SOCK call [-c CLIENTS] [-P DEPTH] [-B] [-t SECONDS | -n COUNT]
 *            [-m METHOD] [-p PARAMS.msgpack] [-L]
 *       requests as fast as the daemon answers; -L records latencies
 *       (p50/p99 and a "cdf" of percentiles). PARAMS holds concatenated
 *       params arrays, used in turn. DEPTH requests are kept in flight on
 *       each connection (a sliding window), or with -B sent in batches of
 *       DEPTH, the next batch when the whole last one is answered (how
 *       redis-benchmark -P pipelines). Answers with an error count as
 *       "errors", not as requests done.
 *   rpc_load -s SOCK events [-c CLIENTS] -k COUNT [--since S] [--topic T]
 *            [--wait-socket]
 *       subscribe, then wait until every client has COUNT events. A client
 *       that has its COUNT closes its connection, and events past COUNT
 *       are not counted: deliveries are exactly CLIENTS x COUNT, timed from
 *       the subscriptions to the moment the last client had its COUNT.
 *       --wait-socket: the daemon is starting; connect as soon as its
 *       socket accepts (t0_ns is that moment).
 *   rpc_load -s SOCK send -u USER -n COUNT [-P WINDOW] [-b BYTES]
 *       message.send, each until its message.status SENT event.
 *   rpc_load -s SOCK hold -c CLIENTS
 *       open CLIENTS connections, say client.hello on each, print
 *       "ready", then hold them until stdin closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#define MAXC	4096

struct conn {
	int		 fd;
	msgpack_unpacker unp;
	char		*out;		/* unsent bytes */
	size_t		 outlen, outcap;
	uint32_t	 next_id;
	int		 inflight;
	uint64_t	 done;		/* answers, or events */
	int		 subscribed;
	int64_t		*sent_at;	/* per msgid slot, for latencies */
};

static struct conn	 conns[MAXC];
static int		 nconn, ep;
static const char	*sock_path;
static int		 wait_socket;
static int64_t		 wait_until;

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "rpc_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
dief(const char *what)
{
	fprintf(stderr, "rpc_load: %s\n", what);
	exit(1);
}

/* Connect one client (blocking connect, then non-blocking I/O). */
static void
conn_open(struct conn *c)
{
	struct sockaddr_un	 sun;
	struct epoll_event	 ev;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	for (;;) {
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			die("socket");
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			break;
		if (!wait_socket || (errno != ENOENT && errno != ECONNREFUSED))
			die("connect");
		if (now_ns() > wait_until)
			dief("the daemon's socket did not accept within 60 s");
		close(c->fd);
		usleep(200);
	}
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	if (!msgpack_unpacker_init(&c->unp, 1 << 16))
		dief("out of memory");
	c->next_id = 1;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl");
}

static void
conn_queue(struct conn *c, const void *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		c->outcap = (c->outlen + n) * 2;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			dief("out of memory");
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Write what is queued; wait for POLLOUT only when the socket is full. */
static void
conn_flush(struct conn *c)
{
	struct epoll_event	 ev;
	ssize_t			 w;
	size_t			 off = 0;

	while (off < c->outlen) {
		w = write(c->fd, c->out + off, c->outlen - off);
		if (w == -1) {
			if (errno == EAGAIN)
				break;
			die("write");
		}
		off += (size_t)w;
	}
	memmove(c->out, c->out + off, c->outlen - off);
	c->outlen -= off;
	ev.events = EPOLLIN | (c->outlen ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Encode [0, id, method, params] around an already packed params value. */
static void
conn_request(struct conn *c, uint32_t id, const char *method,
    const char *params, size_t plen)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint32(&pk, id);
	msgpack_pack_str(&pk, strlen(method));
	msgpack_pack_str_body(&pk, method, strlen(method));
	conn_queue(c, sb.data, sb.size);
	conn_queue(c, params, plen);
	msgpack_sbuffer_destroy(&sb);
}

/* A string field of a map, or NULL. */
static const msgpack_object *
map_get(const msgpack_object *m, const char *key)
{
	uint32_t	 i;
	size_t		 n = strlen(key);

	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static int
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) && memcmp(o->via.str.ptr, s,
	    o->via.str.size) == 0;
}

typedef void	 msg_fn(struct conn *, const msgpack_object *);

/* Read what is there and hand every decoded message to fn. */
static int
conn_read(struct conn *c, msg_fn *fn)
{
	msgpack_unpacked	 u;
	ssize_t			 r;
	int			 ret;

	for (;;) {
		if (msgpack_unpacker_buffer_capacity(&c->unp) < (1 << 15) &&
		    !msgpack_unpacker_reserve_buffer(&c->unp, 1 << 16))
			dief("out of memory");
		r = read(c->fd, msgpack_unpacker_buffer(&c->unp),
		    msgpack_unpacker_buffer_capacity(&c->unp));
		if (r == -1 && errno == EAGAIN)
			break;
		if (r == -1)
			die("read");
		if (r == 0)
			dief("the daemon closed a connection");
		msgpack_unpacker_buffer_consumed(&c->unp, (size_t)r);
		msgpack_unpacked_init(&u);
		while (c->fd != -1 && (ret = msgpack_unpacker_next(&c->unp,
		    &u)) == MSGPACK_UNPACK_SUCCESS)
			fn(c, &u.data);
		msgpack_unpacked_destroy(&u);
		if (c->fd == -1)
			return 0;
		if (ret == MSGPACK_UNPACK_PARSE_ERROR)
			dief("unparseable answer");
		if ((size_t)r < 1 << 14)
			break;
	}
	return 0;
}

/* Run the loop until done() says so, handing messages to fn. */
static void
loop(msg_fn *fn, int (*done)(void), void (*tick)(void))
{
	struct epoll_event	 evs[256];
	int			 n, i;

	while (!done()) {
		n = epoll_wait(ep, evs, 256, 100);
		if (n == -1 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(c, fn);
			if (c->fd != -1 && c->outlen)
				conn_flush(c);
		}
		if (tick != NULL)
			tick();
	}
}

/* ------------------------------------------------------------ call mode */

static const char	*method = "rpc.ping";
static char		*params;		/* concatenated params arrays */
static size_t		*poff, *plen, nparams, pnext;
static int		 depth = 1, record, batch;
static int64_t		 t_end, limit_n, issued, answered;
static int64_t		*lat;
static size_t		 nlat, caplat;
static uint64_t		 errors;

static void
call_issue(struct conn *c)
{
	uint32_t	 id = c->next_id++;
	size_t		 k = pnext++ % nparams;

	if (record)
		c->sent_at[id % 1024] = now_ns();
	conn_request(c, id, method, params + poff[k], plen[k]);
	c->inflight++;
	issued++;
}

static int
call_more(void)
{
	if (limit_n > 0)
		return issued < limit_n;
	return now_ns() < t_end;
}

static void
call_msg(struct conn *c, const msgpack_object *o)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		return;
	a = o->via.array.ptr;
	if (a[0].via.u64 != 1)
		return;
	if (a[2].type != MSGPACK_OBJECT_NIL)
		errors++;
	if (record) {
		if (nlat == caplat) {
			caplat = caplat ? caplat * 2 : 1 << 16;
			if ((lat = realloc(lat, caplat * sizeof *lat)) == NULL)
				dief("out of memory");
		}
		lat[nlat++] = now_ns() - c->sent_at[a[1].via.u64 % 1024];
	}
	c->inflight--;
	c->done++;
	answered++;
	if (batch) {
		/* The next batch when the whole last one is answered. */
		if (c->inflight == 0)
			for (int k = 0; k < depth && call_more(); k++)
				call_issue(c);
	} else if (call_more())
		call_issue(c);
}

static int
call_done(void)
{
	return !call_more() && answered == issued;
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
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

/* Load the params file: concatenated msgpack arrays. */
static void
load_params(const char *path)
{
	msgpack_unpacked	 u;
	FILE			*f;
	size_t			 len = 0, cap = 0, off = 0, r;
	char			 tmp[65536];

	if (path == NULL) {
		params = strdup("\x90");	/* [] */
		plen = malloc(sizeof *plen);
		poff = calloc(1, sizeof *poff);
		plen[0] = 1;
		nparams = 1;
		return;
	}
	if ((f = fopen(path, "rb")) == NULL)
		die(path);
	while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
		if (len + r > cap) {
			cap = (len + r) * 2;
			if ((params = realloc(params, cap)) == NULL)
				dief("out of memory");
		}
		memcpy(params + len, tmp, r);
		len += r;
	}
	fclose(f);
	msgpack_unpacked_init(&u);
	while (off < len) {
		size_t	 start = off;

		if (msgpack_unpack_next(&u, params, len, &off) !=
		    MSGPACK_UNPACK_SUCCESS)
			dief("bad params file");
		poff = realloc(poff, (nparams + 1) * sizeof *poff);
		plen = realloc(plen, (nparams + 1) * sizeof *plen);
		poff[nparams] = start;
		plen[nparams] = off - start;
		nparams++;
	}
	msgpack_unpacked_destroy(&u);
	if (nparams == 0)
		dief("empty params file");
}

static void
run_call(double seconds)
{
	int64_t	 t0, t1;
	int	 i, k;

	for (i = 0; i < nconn; i++)
		if (record && (conns[i].sent_at = calloc(1024,
		    sizeof(int64_t))) == NULL)
			dief("out of memory");
	t0 = now_ns();
	t_end = t0 + (int64_t)(seconds * 1e9);
	for (i = 0; i < nconn; i++) {
		for (k = 0; k < depth && call_more(); k++)
			call_issue(&conns[i]);
		conn_flush(&conns[i]);
	}
	loop(call_msg, call_done, NULL);
	t1 = now_ns();
	qsort(lat, nlat, sizeof *lat, cmp64);
	printf("{\"mode\":\"call\",\"method\":\"%s\",\"clients\":%d,"
	    "\"depth\":%d,\"pipelining\":\"%s\",\"requests\":%" PRId64
	    ",\"errors\":%" PRIu64 ",\"seconds\":%.6f,\"rps\":%.1f,"
	    "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f", method, nconn,
	    depth, batch ? "batch" : "window", answered - (int64_t)errors, errors,
	    (t1 - t0) / 1e9, (answered - (int64_t)errors) / ((t1 - t0) / 1e9),
	    pct(lat, nlat, .5), pct(lat, nlat, .99), pct(lat, nlat, 1));
	if (record) {
		static const double q[] = { 0, .01, .05, .1, .2, .3, .4, .5, .6,
		    .7, .8, .9, .95, .97, .98, .99, .995, .999, 1 };

		printf(",\"cdf\":[");
		for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
			printf("%s[%g,%.1f]", k ? "," : "", q[k],
			    pct(lat, nlat, q[k]));
		printf("]");
	}
	printf("}\n");
}

/* ------------------------------------------------------------ events mode */

static int64_t	 want_events, t_first, t_last;
static int	 nsubscribed, nfull;

static void
events_msg(struct conn *c, const msgpack_object *o)
{
	const msgpack_object	*a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
		return;
	a = o->via.array.ptr;
	if (a[0].via.u64 == 1) {
		if (a[2].type != MSGPACK_OBJECT_NIL)
			dief("events.subscribe failed");
		c->subscribed = 1;
		nsubscribed++;
		return;
	}
	if (a[0].via.u64 != 2 || !str_is(&a[1], "event"))
		return;
	if ((int64_t)c->done >= want_events)
		return;		/* past COUNT: not counted */
	if (t_first == 0)
		t_first = now_ns();
	if ((int64_t)++c->done == want_events) {
		t_last = now_ns();
		nfull++;
		/* Done: hang up, so it loads the daemon no more. */
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static int
events_done(void)
{
	return nfull == nconn;
}

static void
run_events(long long since, const char *topic, int64_t t0)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	uint64_t	 total = 0;
	int		 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, (since >= 0) + (topic != NULL));
	if (since >= 0) {
		msgpack_pack_str_with_body(&pk, "since", 5);
		msgpack_pack_int64(&pk, since);
	}
	if (topic != NULL) {
		msgpack_pack_str_with_body(&pk, "topics", 6);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_str_with_body(&pk, topic, strlen(topic));
	}
	for (i = 0; i < nconn; i++) {
		conn_request(&conns[i], 1, "events.subscribe", sb.data, sb.size);
		conn_flush(&conns[i]);
	}
	msgpack_sbuffer_destroy(&sb);
	loop(events_msg, events_done, NULL);
	for (i = 0; i < nconn; i++)
		total += conns[i].done;
	printf("{\"mode\":\"events\",\"clients\":%d,\"deliveries\":%" PRIu64
	    ",\"seconds\":%.6f,\"rate\":%.1f,\"t0_ns\":%" PRId64
	    ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 "}\n", nconn,
	    total, (t_last - t0) / 1e9, total / ((t_last - t0) / 1e9), t0,
	    t_first, t_last);
}

/* ------------------------------------------------------------ send mode */

static const char	*to_user;
static int64_t		 send_n, send_issued, send_acked;
static int		 send_window = 1, send_bytes = 16;
static char		 run_tag[16];
static int64_t		*send_at;

static void
send_issue(struct conn *c)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		 id[48], text[4096];
	int64_t		 k = send_issued++;

	snprintf(id, sizeof id, "b%s-%" PRId64, run_tag, k);
	snprintf(text, sizeof text, "bench %" PRId64 " %.*s", k,
	    send_bytes, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "user", 4);
	msgpack_pack_str_with_body(&pk, to_user, strlen(to_user));
	msgpack_pack_str_with_body(&pk, "text", 4);
	msgpack_pack_str_with_body(&pk, text, strlen(text));
	msgpack_pack_str_with_body(&pk, "id", 2);
	msgpack_pack_str_with_body(&pk, id, strlen(id));
	send_at[k] = now_ns();
	conn_request(c, (uint32_t)(k + 2), "message.send", sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void
send_msg(struct conn *c, const msgpack_object *o)
{
	const msgpack_object	*a, *ev, *id, *st;
	char			 prefix[32];
	size_t			 pl;
	int64_t			 k;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
		return;
	a = o->via.array.ptr;
	if (a[0].via.u64 == 1) {
		if (a[2].type != MSGPACK_OBJECT_NIL)
			dief("a request failed");
		if (a[1].via.u64 == 1) {
			c->subscribed = 1;
			while (send_issued < send_n && send_issued < send_window)
				send_issue(c);
		}
		return;
	}
	if (a[0].via.u64 != 2 || !str_is(&a[1], "event") ||
	    a[2].type != MSGPACK_OBJECT_ARRAY || a[2].via.array.size != 1)
		return;
	ev = &a[2].via.array.ptr[0];
	if (!str_is(map_get(ev, "type"), "message.status"))
		return;
	st = map_get(ev, "status");
	id = map_get(ev, "id");
	pl = (size_t)snprintf(prefix, sizeof prefix, "b%s-", run_tag);
	if (id == NULL || id->type != MSGPACK_OBJECT_STR ||
	    id->via.str.size <= pl || memcmp(id->via.str.ptr, prefix, pl) != 0)
		return;
	if (!str_is(st, "SENT")) {
		if (str_is(st, "FAILED"))
			dief("a message FAILED");
		return;
	}
	k = strtoll(id->via.str.ptr + pl, NULL, 10);
	if (k < 0 || k >= send_n)
		return;
	send_at[k] = now_ns() - send_at[k];
	send_acked++;
	if (send_issued < send_n)
		send_issue(c);
}

static int
send_done(void)
{
	return send_acked == send_n;
}

static void
run_send(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	int64_t		 t0, t1;

	if ((send_at = calloc((size_t)send_n, sizeof *send_at)) == NULL)
		dief("out of memory");
	snprintf(run_tag, sizeof run_tag, "%x%x", (unsigned)getpid(),
	    (unsigned)(now_ns() & 0xffff));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "topics", 6);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, "message.status", 14);
	t0 = now_ns();
	conn_request(&conns[0], 1, "events.subscribe", sb.data, sb.size);
	conn_flush(&conns[0]);
	msgpack_sbuffer_destroy(&sb);
	loop(send_msg, send_done, NULL);
	t1 = now_ns();
	qsort(send_at, (size_t)send_n, sizeof *send_at, cmp64);
	printf("{\"mode\":\"send\",\"window\":%d,\"messages\":%" PRId64
	    ",\"seconds\":%.6f,\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
	    "\"max_us\":%.1f}\n", send_window, send_n, (t1 - t0) / 1e9,
	    send_n / ((t1 - t0) / 1e9), pct(send_at, (size_t)send_n, .5),
	    pct(send_at, (size_t)send_n, .99), pct(send_at, (size_t)send_n, 1));
}

/* ------------------------------------------------------------ hold mode */

static int	 hello_left;

static void
hold_msg(struct conn *c, const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4 &&
	    o->via.array.ptr[0].via.u64 == 1)
		hello_left--;
}

static int
hold_done(void)
{
	return hello_left == 0;
}

static void
run_hold(void)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		 b[64];
	int		 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "name", 4);
	msgpack_pack_str_with_body(&pk, "bench-hold", 10);
	hello_left = nconn;
	for (i = 0; i < nconn; i++) {
		conn_request(&conns[i], 1, "client.hello", sb.data, sb.size);
		conn_flush(&conns[i]);
	}
	msgpack_sbuffer_destroy(&sb);
	loop(hold_msg, hold_done, NULL);
	printf("ready\n");
	fflush(stdout);
	while (read(0, b, sizeof b) > 0)
		;
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
	fprintf(stderr, "usage: rpc_load -s SOCK call|events|send|hold "
	    "[options] (see the comment at the top of bench/rpc_load.c)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "topic", required_argument, NULL, 'T' },
		{ "wait-socket", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*mode, *pfile = NULL, *topic = NULL;
	double		 seconds = 3;
	int64_t		 t0;
	long long	 since = -1;
	int		 ch, i;

	nconn = 1;
	while ((ch = getopt_long(argc, argv, "s:c:P:Bt:n:m:p:Lk:u:b:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's': sock_path = optarg; break;
		case 'c': nconn = atoi(optarg); break;
		case 'P': depth = send_window = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'n': limit_n = send_n = atoll(optarg); break;
		case 'm': method = optarg; break;
		case 'p': pfile = optarg; break;
		case 'L': record = 1; break;
		case 'k': want_events = atoll(optarg); break;
		case 'u': to_user = optarg; break;
		case 'b': send_bytes = atoi(optarg); break;
		case 'S': since = atoll(optarg); break;
		case 'T': topic = optarg; break;
		case 'w': wait_socket = 1; break;
		case 'B': batch = 1; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || sock_path == NULL || nconn < 1 ||
	    nconn > MAXC || depth < 1 || depth > 1000)
		usage();
	mode = argv[optind];
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	wait_until = now_ns() + 60000000000LL;
	for (i = 0; i < nconn; i++)
		conn_open(&conns[i]);
	t0 = now_ns();
	if (strcmp(mode, "call") == 0) {
		load_params(pfile);
		run_call(seconds);
	} else if (strcmp(mode, "events") == 0) {
		if (want_events < 1)
			usage();
		run_events(since, topic, t0);
	} else if (strcmp(mode, "send") == 0) {
		if (to_user == NULL || send_n < 1 || send_bytes > 250)
			usage();
		nconn = 1;
		run_send();
	} else if (strcmp(mode, "hold") == 0)
		run_hold();
	else
		usage();
	return 0;
}
