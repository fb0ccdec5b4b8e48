/*
 * test_pending: the table of SENDs waiting for proof that the server read
 * them. Linked with daemon/pending.c, daemon/caps.c (which extensions the
 * server offers), the STOMP frame code and the log; the session and the
 * WebSocket below it are stubbed (session_send records what would go out,
 * upstream_barrier numbers the pings). The clock is moved forward
 * (unit_clock.h), so libev's timers see the 30 s timeout pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "stomp.h"
#include "unit.h"
#include "unit_clock.h"

struct ev_loop	*loop;
struct config	 cfg;

/* ---- stubs: session.c and upstream.c (the transport) ---- */

static struct {
	int		 up;		/* session_is_up */
	int		 fail;		/* session_send fails */
	int		 nsent;
	char		 dest[128];	/* the last SEND */
	char		 body[512];
	char		 rid[160];	/* its request-id, "" if none */
	char		 receipt[160];	/* its receipt, "" if none */
	int		 has_rid, has_receipt;
	uint64_t	 barrier;	/* the last ping number handed out */
} net;

int
session_is_up(void)
{
	return net.up;
}

int
session_send(const char *dest, const char *body, const char *request_id,
    const char *receipt)
{
	if (!net.up || net.fail)
		return -1;
	net.nsent++;
	snprintf(net.dest, sizeof net.dest, "%s", dest);
	snprintf(net.body, sizeof net.body, "%s", body);
	net.has_rid = request_id != NULL;
	net.has_receipt = receipt != NULL;
	snprintf(net.rid, sizeof net.rid, "%s", request_id ? request_id : "");
	snprintf(net.receipt, sizeof net.receipt, "%s", receipt ? receipt : "");
	return 0;
}

uint64_t
upstream_barrier(void)
{
	return ++net.barrier;
}

/* ---- what a callback saw ---- */

struct done {
	int		 calls;
	int		 code;
	char		 message[128];
	char		*data;		/* the data, dumped; NULL if none */
	/* A request to post from inside the callback. */
	const char	*repost;
	struct done	*repost_done;
};

static void	done_cb(void *, int, const char *, json_t *);

static void
done_cb(void *arg, int code, const char *message, json_t *data)
{
	struct done	*d = arg;

	d->calls++;
	d->code = code;
	snprintf(d->message, sizeof d->message, "%s", message ? message : "");
	free(d->data);
	d->data = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY) : NULL;
	if (d->repost != NULL) {
		CHECK_INT(pending_post("/app/chat.send", d->repost, "{}", done_cb,
		    d->repost_done), 0);
		d->repost = NULL;
	}
}

static void
done_clear(struct done *d, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(d[i].data);
		memset(&d[i], 0, sizeof d[i]);
	}
}

/* Start a test: the session up, the server with replies or without. */
static void
fresh(int replies)
{
	if (loop == NULL) {
		log_open("test_pending", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.app_id = "ak_test";
	}
	net.up = 1;
	pending_lost();		/* nothing left over from another test */
	net.fail = 0;
	net.nsent = 0;
	caps_init(NULL);
	caps_connected(replies ? "replies,seq" : "");
}

/* The server's answer to request-id rid on the reply queue. */
static void
reply(const char *rid, const char *body)
{
	struct stomp_frame	 f;

	stomp_frame_init(&f, STOMP_MESSAGE);
	stomp_frame_add(&f, "destination", "/user/queue/replies");
	if (rid != NULL)
		stomp_frame_add(&f, "request-id", rid);
	f.body = body;
	f.body_len = strlen(body);
	pending_reply(&f);
}

static void
pending_reply_completes_request_with_code_and_data(void)
{
	struct done	 d[3] = { 0 };
	char		 rid[3][160];

	fresh(1);
	CHECK_INT(pending_request("/app/chat.history", json_pack("{s:s,s:i}",
	    "peerId", "bob", "limit", 5), done_cb, &d[0]), 0);
	CHECK_STR(net.dest, "/app/chat.history");
	CHECKM(net.has_rid && !net.has_receipt, "with replies: request-id only");
	/* The tenant's appId goes first, as the seed writes it. */
	CHECK_STR(net.body, "{\"appId\":\"ak_test\",\"peerId\":\"bob\",\"limit\":5}");
	snprintf(rid[0], sizeof rid[0], "%s", net.rid);
	CHECKM(pending_has(rid[0]), "waits for its reply");
	CHECK_INT(pending_request("/app/group.create", json_object(), done_cb,
	    &d[1]), 0);
	snprintf(rid[1], sizeof rid[1], "%s", net.rid);
	CHECK_INT(pending_request("/app/group.kick", json_object(), done_cb,
	    &d[2]), 0);
	snprintf(rid[2], sizeof rid[2], "%s", net.rid);

	/* Out of order: each reply completes its own request only. */
	reply(rid[1], "{\"code\":403,\"message\":\"not an owner\"}");
	CHECK_INT(d[1].calls, 1);
	CHECK_INT(d[1].code, 403);
	CHECK_STR(d[1].message, "not an owner");
	CHECK_INT(d[0].calls, 0);
	reply(rid[0], "{\"code\":0,\"data\":{\"seq\":7,\"list\":[1,2]}}");
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[0].code, 0);
	CHECK_STR(d[0].message, "ok");
	CHECK_STR(d[0].data, "{\"list\":[1,2],\"seq\":7}");
	/* A reply that is no {code} object still ends the request. */
	reply(rid[2], "[1]");
	CHECK_INT(d[2].calls, 1);
	CHECK_INT(d[2].code, 500);
	CHECKM(!pending_has(rid[0]) && !pending_has(rid[1]) &&
	    !pending_has(rid[2]), "still waiting after the replies");
	done_clear(d, 3);
}

static void
pending_reply_to_unknown_request_changes_nothing(void)
{
	struct done	 d = { 0 };
	char		 rid[160];

	fresh(1);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb, &d), 0);
	snprintf(rid, sizeof rid, "%s", net.rid);
	reply("~nobody", "{\"code\":0}");
	reply(NULL, "{\"code\":0}");
	CHECK_INT(d.calls, 0);
	CHECKM(pending_has(rid), "a stranger's reply ended it");
	/* A pong proves nothing when the server answers by request-id. */
	pending_pong(net.barrier + 100);
	CHECK_INT(d.calls, 0);
	pending_lost();
	done_clear(&d, 1);
}

static void
pending_without_replies_receipt_pong_or_settle_completes(void)
{
	struct done	 d[3] = { 0 };
	json_t		*data;

	fresh(0);
	/* A message: named by its own id, carried as the receipt. */
	CHECK_INT(pending_post("/app/chat.send", "m1", "{\"x\":1}", done_cb,
	    &d[0]), 0);
	CHECKM(!net.has_rid && net.has_receipt, "seed: a receipt, no request-id");
	CHECK_STR(net.receipt, "m1");
	CHECK_STR(net.body, "{\"x\":1}");
	CHECK_INT(pending_post("/app/chat.send", "m2", "{}", done_cb, &d[1]), 0);
	CHECK_INT(pending_post("/app/chat.send", "m3", "{}", done_cb, &d[2]), 0);

	/* Its RECEIPT (session.c's hook calls pending_settle with the id). */
	pending_settle("m2", NULL);
	CHECK_INT(d[1].calls, 1);
	CHECK_INT(d[1].code, 0);
	CHECK_STR(d[1].data, NULL);
	/* Its echo, with the server's data. */
	data = json_pack("{s:I}", "seq", (json_int_t)42);
	pending_settle("m3", data);
	json_decref(data);
	CHECK_INT(d[2].calls, 1);
	CHECK_STR(d[2].data, "{\"seq\":42}");
	/* The pong of the ping written after it. */
	CHECK_INT(d[0].calls, 0);
	pending_pong(net.barrier);
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[0].code, 0);
	CHECK_STR(d[0].message, "ok");
	CHECKM(!pending_has("m1"), "m1 still waits");
	done_clear(d, 3);
}

static void
pending_pong_of_earlier_barrier_does_not_complete(void)
{
	struct done	 d[2] = { 0 };
	uint64_t	 before, b1;

	fresh(0);
	before = net.barrier;
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d[0]), 0);
	b1 = net.barrier;
	CHECK_INT(pending_post("/app/chat.send", "m2", "{}", done_cb, &d[1]), 0);
	CHECKM(net.barrier > b1, "each SEND gets its own ping");
	/* A ping from before either SEND proves neither was read. */
	pending_pong(before);
	CHECK_INT(d[0].calls + d[1].calls, 0);
	pending_pong(b1);
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[1].calls, 0);
	CHECKM(pending_has("m2"), "m2 was proved by m1's ping");
	pending_pong(net.barrier);
	CHECK_INT(d[1].calls, 1);
	done_clear(d, 2);
}

static void
pending_late_second_proof_is_ignored(void)
{
	struct done	 d[2] = { 0 };
	char		 rid[160];
	uint64_t	 b;

	fresh(0);
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d[0]), 0);
	b = net.barrier;
	pending_settle("m1", NULL);
	pending_pong(b);
	pending_settle("m1", NULL);
	CHECK_INT(d[0].calls, 1);

	/* A second reply to a request already answered. */
	fresh(1);
	CHECK_INT(pending_request("/app/chat.revoke", json_object(), done_cb,
	    &d[1]), 0);
	snprintf(rid, sizeof rid, "%s", net.rid);
	reply(rid, "{\"code\":0}");
	reply(rid, "{\"code\":500,\"message\":\"late\"}");
	CHECK_INT(d[1].calls, 1);
	CHECK_INT(d[1].code, 0);
	done_clear(d, 2);
}

static void
pending_lost_fails_everything_with_minus_one(void)
{
	struct done	 d[3] = { 0 };

	fresh(0);
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d[0]), 0);
	CHECK_INT(pending_post("/app/chat.send", "m2", "{}", done_cb, &d[1]), 0);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb,
	    &d[2]), 0);
	pending_lost();
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[0].code, -1);
	CHECK_INT(d[1].code, -1);
	CHECK_INT(d[2].code, -1);
	CHECK_STR(d[2].message, "connection to the server lost");
	CHECKM(!pending_has("m1") && !pending_has("m2"), "still waiting");
	/* Proofs after the loss belong to no one. */
	pending_settle("m1", NULL);
	pending_pong(net.barrier);
	CHECK_INT(d[0].calls + d[1].calls + d[2].calls, 3);
	done_clear(d, 3);
}

static void
pending_timeout_fails_with_minus_one(void)
{
	struct done	 d[2] = { 0 };

	fresh(1);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb,
	    &d[0]), 0);
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_INT(d[0].calls, 0);
	/* 10 s on, a new request; 21 s later only the first is due. */
	unit_clock_skew += 10;
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb,
	    &d[1]), 0);
	CHECK_INT(d[0].calls, 0);
	unit_clock_skew += 21;
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[0].code, -1);
	CHECK_STR(d[0].message, "the server did not answer");
	CHECK_INT(d[1].calls, 0);
	unit_clock_skew += 10;
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_INT(d[1].calls, 1);
	CHECK_INT(d[1].code, -1);
	/* Nothing waits: the timer is off, so the loop has nothing to do. */
	CHECK_INT(ev_run(loop, EVRUN_NOWAIT), 0);
	done_clear(d, 2);
}

static void
pending_request_ids_never_collide_with_message_ids(void)
{
	static const char idchars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.@-";
	struct done	 d[2] = { 0 };
	char		 first[160];

	fresh(0);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb,
	    &d[0]), 0);
	snprintf(first, sizeof first, "%s", net.receipt);
	CHECKM(first[0] == '~', "request id %s", first);
	CHECKM(strspn(first, idchars) < strlen(first),
	    "request id %s could be a message id", first);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb,
	    &d[1]), 0);
	CHECKM(strcmp(first, net.receipt) != 0, "two requests named %s", first);
	/* A message whose id is the request's without the "~". */
	CHECKM(!pending_has(first + 1), "%s waits", first + 1);
	pending_settle(first + 1, NULL);
	CHECK_INT(d[0].calls, 0);
	pending_settle(first, NULL);
	CHECK_INT(d[0].calls, 1);
	pending_lost();
	done_clear(d, 2);
}

static void
pending_callback_may_post_during_pong(void)
{
	struct done	 d[4] = { 0 };
	uint64_t	 b;

	fresh(0);
	d[0].repost = "m3";
	d[0].repost_done = &d[2];
	d[1].repost = "m4";
	d[1].repost_done = &d[3];
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d[0]), 0);
	CHECK_INT(pending_post("/app/chat.send", "m2", "{}", done_cb, &d[1]), 0);
	b = net.barrier;
	pending_pong(b);
	CHECK_INT(d[0].calls, 1);
	CHECK_INT(d[1].calls, 1);
	/* Posted after the ping: not proved by its pong. */
	CHECK_INT(d[2].calls + d[3].calls, 0);
	CHECKM(pending_has("m3") && pending_has("m4"), "the new SENDs are lost");
	pending_pong(net.barrier);
	CHECK_INT(d[2].calls, 1);
	CHECK_INT(d[3].calls, 1);
	done_clear(d, 4);
}

static void
pending_offline_or_write_error_never_calls_back(void)
{
	struct done	 d = { 0 };

	fresh(0);
	net.up = 0;
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d), -1);
	CHECK_INT(pending_request("/app/chat.sync", json_object(), done_cb, &d),
	    -1);
	net.up = 1;
	net.fail = 1;
	CHECK_INT(pending_post("/app/chat.send", "m1", "{}", done_cb, &d), -1);
	CHECKM(!pending_has("m1"), "a SEND never written waits");
	pending_lost();
	CHECK_INT(d.calls, 0);
	done_clear(&d, 1);
}

static const struct unit_test tests[] = {
	UNIT_TEST(pending_reply_completes_request_with_code_and_data),
	UNIT_TEST(pending_reply_to_unknown_request_changes_nothing),
	UNIT_TEST(pending_without_replies_receipt_pong_or_settle_completes),
	UNIT_TEST(pending_pong_of_earlier_barrier_does_not_complete),
	UNIT_TEST(pending_late_second_proof_is_ignored),
	UNIT_TEST(pending_lost_fails_everything_with_minus_one),
	UNIT_TEST(pending_timeout_fails_with_minus_one),
	UNIT_TEST(pending_request_ids_never_collide_with_message_ids),
	UNIT_TEST(pending_callback_may_post_during_pong),
	UNIT_TEST(pending_offline_or_write_error_never_calls_back),
};

UNIT_MAIN(tests)
