/*
 * test_events: the event log's fan-out (daemon/events.c) and what a local
 * client may cost (daemon/client.c): topics, replay from the store, a slow
 * subscriber that falls behind without blocking others and is told where to
 * resume, the soft and hard output limits, answers withdrawn after a failed
 * commit. Clients are real: each is one end of a socketpair, the test reads
 * the other end and decodes what a client would. The store is real (in
 * memory); nothing of the daemon is stubbed. The clock is moved forward
 * (unit_clock.h) for the once-a-second watch of stalled clients.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "store.h"
#include "unit.h"
#include "unit_clock.h"

/* The test's end of a client's socket, and what came out of it. */
struct peer {
	int		 fd;
	struct buf	 in;
	int		 eof;
	struct client	*c;	/* the daemon's side */
	uint64_t	 id;
};

static void
fresh(void)
{
	char	*cause = NULL;

	if (loop == NULL) {
		log_open("test_events", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.client_stall = 5;
	}
	client_close_all();
	if (store != NULL)
		store_close(store);
	if ((store = store_open(":memory:", &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		exit(1);
	}
	events_forget();
}

/* Connect a client, as the listener would; subscribed from the head, or not. */
static void
peer_open(struct peer *p, int subscribed)
{
	int	 sv[2];

	memset(p, 0, sizeof *p);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	p->fd = sv[1];
	buf_init(&p->in);
	client_create(sv[0], getuid(), getpid());
	p->c = TAILQ_LAST(&clients, clients);
	p->id = p->c->id;
	if (subscribed) {
		p->c->subscribed = 1;
		p->c->cursor = events_head();
	}
}

static void
peer_close(struct peer *p)
{
	close(p->fd);
	buf_clear(&p->in);
}

/* Read what is there (non-blocking). */
static void
peer_read(struct peer *p)
{
	ssize_t	 n;

	for (;;) {
		if (buf_reserve(&p->in, 65536) == -1)
			abort();
		n = read(p->fd, p->in.data + p->in.len, p->in.cap - p->in.len);
		if (n == 0)
			p->eof = 1;
		if (n <= 0)
			return;
		p->in.len += (size_t)n;
	}
}

/*
 * The next whole message, as JSON: [type, method|msgid, params|error,
 * result]; NULL when no whole message is buffered. A stream that does not
 * decode fails the test.
 */
static json_t *
peer_next(struct peer *p)
{
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;
	json_t		*j;
	int		 r;

	if (buf_left(&p->in) == 0)
		return NULL;
	r = rpc_decode(buf_head(&p->in), buf_left(&p->in), RPC_MAX_MESSAGE, &m,
	    &used, &cause);
	if (r == RPC_MORE)
		return NULL;
	CHECKM(r == RPC_OK, "a client cannot decode its stream: %s", cause);
	if (r != RPC_OK) {
		p->in.off = p->in.len;
		return NULL;
	}
	buf_consume(&p->in, used);
	if (m.type == RPC_NOTIFY)
		j = json_pack("[i,s,O]", m.type, m.method, m.params);
	else
		j = json_pack("[i,i,O?,O?]", m.type, (int)m.msgid, m.error,
		    m.result);
	rpc_msg_clear(&m);
	return j;
}

/* The next event's seq and type ("seq:type"), skipping nothing; "" if none. */
static const char *
peer_event(struct peer *p)
{
	static char	 s[128];
	json_t		*j = peer_next(p), *e;

	s[0] = '\0';
	if (j == NULL)
		return s;
	e = json_array_get(json_array_get(j, 2), 0);
	if (strcmp(json_string_value(json_array_get(j, 1)), "event") == 0)
		snprintf(s, sizeof s, "%lld:%s",
		    (long long)json_integer_value(json_object_get(e, "seq")),
		    json_string_value(json_object_get(e, "type")));
	else
		snprintf(s, sizeof s, "not an event");
	json_decref(j);
	return s;
}

/* One loop turn as main.c runs it: events out, output written, the dead freed. */
static void
turn(void)
{
	events_pump();
	client_flush_all();
	ev_run(loop, EVRUN_NOWAIT);
	client_reap();
}

static void
emit(const char *type, size_t content)
{
	char	*text = malloc(content + 1);

	memset(text, 'x', content);
	text[content] = '\0';
	CHECKM(events_emit(type, json_pack("{s:s}", "content", text)) > 0,
	    "events_emit failed");
	free(text);
}

static void
events_reach_every_subscriber_in_order(void)
{
	struct peer	 a, b, quiet;
	int64_t		 head;

	fresh();
	emit("message.new", 10);	/* before anyone subscribed */
	head = events_head();
	peer_open(&a, 1);
	peer_open(&b, 1);
	peer_open(&quiet, 0);
	emit("message.new", 10);
	emit("message.status", 10);
	emit("group.joined", 10);
	turn();
	peer_read(&a);
	peer_read(&b);
	peer_read(&quiet);
	CHECK_INT(head, 1);
	CHECK_STR(peer_event(&a), "2:message.new");
	CHECK_STR(peer_event(&a), "3:message.status");
	CHECK_STR(peer_event(&a), "4:group.joined");
	CHECK_STR(peer_event(&a), "");
	CHECK_STR(peer_event(&b), "2:message.new");
	CHECK_STR(peer_event(&b), "3:message.status");
	CHECK_STR(peer_event(&b), "4:group.joined");
	CHECK_INT(buf_left(&quiet.in), 0);
	CHECK_INT(a.c->cursor, 4);
	peer_close(&a);
	peer_close(&b);
	peer_close(&quiet);
}

static void
events_topics_are_type_prefixes(void)
{
	struct peer	 a;

	fresh();
	peer_open(&a, 1);
	a.c->topics = json_pack("[s,s]", "message", "group.");
	emit("message.new", 1);
	emit("messages.x", 1);
	emit("message", 1);
	emit("group.joined", 1);
	emit("groups", 1);
	emit("friend.added", 1);
	turn();
	peer_read(&a);
	CHECK_STR(peer_event(&a), "1:message.new");
	CHECK_STR(peer_event(&a), "3:message");
	CHECK_STR(peer_event(&a), "4:group.joined");
	CHECK_STR(peer_event(&a), "");
	/* Filtered events still move the cursor: nothing is sent twice. */
	CHECK_INT(a.c->cursor, 6);
	peer_close(&a);
}

static void
events_replay_comes_from_the_store(void)
{
	struct peer	 a, b;
	int		 i;

	fresh();
	for (i = 0; i < 5; i++)
		emit(i % 2 ? "message.new" : "group.left", 100);
	/* The encoded copies are gone (a failed commit): the store has all. */
	events_forget();
	peer_open(&a, 1);
	a.c->cursor = 2;	/* events.subscribe since 2 */
	peer_open(&b, 1);
	b.c->cursor = 0;
	emit("friend.added", 1);
	turn();
	peer_read(&a);
	peer_read(&b);
	CHECK_STR(peer_event(&a), "3:group.left");
	CHECK_STR(peer_event(&a), "4:message.new");
	CHECK_STR(peer_event(&a), "5:group.left");
	CHECK_STR(peer_event(&a), "6:friend.added");
	CHECK_STR(peer_event(&a), "");
	CHECK_STR(peer_event(&b), "1:group.left");
	for (i = 2; i <= 6; i++)
		CHECKM(peer_event(&b)[0] != '\0', "event %d missing", i);
	CHECK_STR(peer_event(&b), "");
	peer_close(&a);
	peer_close(&b);
}

#define BIG	60000		/* bytes of content per event */
#define NBIG	60		/* events: several times the soft limit */

static void
events_slow_subscriber_lags_without_blocking_others(void)
{
	struct peer	 slow, fast, late;
	char		 want[64];
	json_t		*j, *e;
	int		 i, n, last = 0, resume = -1;

	fresh();
	peer_open(&slow, 1);
	peer_open(&fast, 1);
	for (i = 0; i < NBIG; i++)
		emit("message.new", BIG);
	/* fast reads as it comes; slow never reads. */
	for (i = 0, n = 0; i < 1000 && n < NBIG; i++) {
		turn();
		peer_read(&fast);
		while (peer_event(&fast)[0] != '\0')
			n++;
	}
	CHECK_INT(n, NBIG);
	CHECKM(client_congested(slow.c), "slow is not over the soft limit");
	CHECKM(slow.c->cursor < NBIG, "slow was given everything: %lld",
	    (long long)slow.c->cursor);
	CHECKM(client_find(slow.id) != NULL, "slow dropped at once");

	/* Stalled for client_stall seconds: told where to resume, then dropped. */
	unit_clock_skew += 2;
	turn();
	unit_clock_skew += (time_t)cfg.client_stall + 1;
	turn();
	{
		struct client	*sc = client_find(slow.id);

		CHECKM(sc != NULL && sc->draining, "slow is not lagged");
	}
	for (i = 0; i < 1000 && !slow.eof; i++) {
		peer_read(&slow);
		while ((j = peer_next(&slow)) != NULL) {
			e = json_array_get(json_array_get(j, 2), 0);
			if (strcmp(json_string_value(json_object_get(e, "type")),
			    "lagged") == 0)
				resume = (int)json_integer_value(json_object_get(e,
				    "resumeFrom"));
			else {
				/* Whole events, in order, none after the lag. */
				CHECK_INT(json_integer_value(json_object_get(e, "seq")),
				    last + 1);
				CHECK_INT(resume, -1);
				last = (int)json_integer_value(json_object_get(e,
				    "seq"));
			}
			json_decref(j);
		}
		turn();
	}
	CHECKM(slow.eof, "slow was never hung up on");
	CHECK_INT(buf_left(&slow.in), 0);
	CHECK_INT(resume, last);
	CHECKM(last > 0 && last < NBIG, "slow got %d events", last);
	CHECKM(client_find(slow.id) == NULL, "slow still listed");

	/* Nothing is lost: a new subscriber from resumeFrom gets the rest. */
	peer_open(&late, 1);
	late.c->cursor = resume;
	for (i = 0, n = 0; i < 1000 && n < NBIG - resume; i++) {
		turn();
		peer_read(&late);
		for (;;) {
			const char	*ev = peer_event(&late);

			if (ev[0] == '\0')
				break;
			snprintf(want, sizeof want, "%d:message.new", resume + 1 + n);
			CHECK_STR(ev, want);
			n++;
		}
	}
	CHECK_INT(n, NBIG - resume);
	peer_close(&slow);
	peer_close(&fast);
	peer_close(&late);
}

static void
client_not_reading_answers_is_dropped_after_the_stall(void)
{
	struct peer	 a;

	fresh();
	peer_open(&a, 0);
	/* An answer bigger than the soft limit and the socket's buffer. */
	{
		char	*text = malloc(3 << 20);

		memset(text, 'y', 3 << 20);
		client_reply(a.c, 1, NULL, json_stringn(text, 3 << 20));
		free(text);
	}
	turn();
	CHECKM(client_congested(a.c), "not over the soft limit");
	unit_clock_skew += 2;
	turn();
	CHECKM(client_find(a.id) != NULL, "dropped before client_stall");
	unit_clock_skew += (time_t)cfg.client_stall + 1;
	turn();
	CHECKM(client_find(a.id) == NULL, "kept after client_stall");
	peer_read(&a);
	CHECKM(a.eof, "socket still open");
	peer_close(&a);
}

/* The test's dispatch: answers every request with its method's name. */
static int	requests;

static void
echo_request(struct client *c, uint32_t msgid, const char *method,
    json_t *params)
{
	requests++;
	client_reply(c, msgid, NULL, json_string(method));
}

static void
client_over_soft_limit_is_not_read_until_it_drains(void)
{
	struct peer	 a;
	struct buf	 req;
	json_t		*j, *params = json_array();
	char		*chunk = calloc(1, (1 << 20) + 1);
	int		 i, answered = 0;

	fresh();
	client_set_request(echo_request);
	requests = 0;
	peer_open(&a, 0);
	/* Over the soft limit, and the socket full, before the request. */
	client_reply(a.c, 1, NULL, json_stringn(chunk, (1 << 20) + 1));
	turn();
	client_reply(a.c, 2, NULL, json_stringn(chunk, (1 << 20) + 1));
	CHECKM(client_congested(a.c), "not congested");
	buf_init(&req);
	rpc_encode_request(&req, 7, "rpc.ping", params);
	CHECK_INT(write(a.fd, req.data, req.len), (ssize_t)req.len);
	turn();
	turn();
	CHECK_INT(requests, 0);
	/* The client reads: its output drains, then its request is served. */
	for (i = 0; i < 1000 && answered == 0; i++) {
		peer_read(&a);
		while ((j = peer_next(&a)) != NULL) {
			if (json_integer_value(json_array_get(j, 1)) == 7) {
				CHECK_STR(json_string_value(json_array_get(j, 3)),
				    "rpc.ping");
				answered = 1;
			}
			json_decref(j);
		}
		turn();
	}
	CHECK_INT(requests, 1);
	CHECK_INT(answered, 1);
	client_set_request(NULL);
	buf_clear(&req);
	json_decref(params);
	free(chunk);
	peer_close(&a);
}

static void
client_over_hard_limit_is_dropped_at_once(void)
{
	struct peer	 a;
	char		*mib = calloc(1, 1 << 20);
	struct wire	*big = wire_new(mib, 1 << 20, NULL, 0);
	struct wire	*one = wire_new(mib, 1, NULL, 0);
	int		 i;

	fresh();
	peer_open(&a, 0);
	/* 64 MiB exactly is allowed (one wire queued 64 times); a byte more is not. */
	for (i = 0; i < 64; i++)
		client_send_wire(a.c, big);
	CHECKM(!a.c->dead, "dropped at the hard limit itself");
	CHECK_INT(big->refs, 65);
	client_send_wire(a.c, one);
	CHECKM(a.c->dead, "kept over the hard limit");
	CHECKM(client_find(a.id) == NULL, "a dropped client is found");
	client_reap();
	/* Its queue let go of every reference. */
	CHECK_INT(big->refs, 1);
	CHECK_INT(one->refs, 1);
	wire_unref(big);
	wire_unref(one);
	free(mib);
	peer_close(&a);
}

static void
client_turn_failed_withdraws_uncommitted_answers(void)
{
	struct peer	 a;
	json_t		*j;

	fresh();
	peer_open(&a, 0);
	client_reply(a.c, 1, NULL, json_string("stored"));
	client_flush_all();	/* after the commit */
	client_reply(a.c, 2, NULL, json_string("not stored"));
	client_turn_failed("disk full");
	turn();
	peer_read(&a);
	j = peer_next(&a);
	CHECK_INT(json_integer_value(json_array_get(j, 1)), 1);
	json_decref(j);
	j = peer_next(&a);
	CHECK_STR(json_string_value(json_array_get(j, 1)), "error");
	CHECKM(strstr(json_string_value(json_object_get(json_array_get(
	    json_array_get(j, 2), 0), "message")), "disk full") != NULL,
	    "the error does not say why");
	json_decref(j);
	CHECKM(peer_next(&a) == NULL, "more after the error");
	CHECKM(a.eof, "still connected");
	peer_close(&a);
}

static const struct unit_test tests[] = {
	UNIT_TEST(events_reach_every_subscriber_in_order),
	UNIT_TEST(events_topics_are_type_prefixes),
	UNIT_TEST(events_replay_comes_from_the_store),
	UNIT_TEST(events_slow_subscriber_lags_without_blocking_others),
	UNIT_TEST(client_not_reading_answers_is_dropped_after_the_stall),
	UNIT_TEST(client_over_soft_limit_is_not_read_until_it_drains),
	UNIT_TEST(client_over_hard_limit_is_dropped_at_once),
	UNIT_TEST(client_turn_failed_withdraws_uncommitted_answers),
};

UNIT_MAIN(tests)
