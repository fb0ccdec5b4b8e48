/*
 * test_outbox: the durable queue of outgoing messages, on a real store in
 * memory. Linked with daemon/outbox.c, the pending table, the event log,
 * the clients (none connected), the shared state, caps and the store; the
 * session and the WebSocket below it are stubbed: session_send records each
 * SEND, upstream_barrier numbers the pings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "stomp.h"
#include "store.h"
#include "unit.h"

/* ---- stubs: session.c and upstream.c (the transport) ---- */

#define NET_MAX	16

static struct {
	int		 up;
	int		 nsent;
	char		 id[NET_MAX][136];	/* request-id or receipt of each SEND */
	char		 dest[NET_MAX][64];
	char		 body[NET_MAX][256];
	uint64_t	 barrier;
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
	if (!net.up)
		return -1;
	if (net.nsent < NET_MAX) {
		snprintf(net.id[net.nsent], sizeof net.id[0], "%s",
		    request_id != NULL ? request_id : receipt);
		snprintf(net.dest[net.nsent], sizeof net.dest[0], "%s", dest);
		snprintf(net.body[net.nsent], sizeof net.body[0], "%s", body);
	}
	net.nsent++;
	return 0;
}

uint64_t
upstream_barrier(void)
{
	return ++net.barrier;
}

/* ---- helpers ---- */

/* A new store and a connection: up or not, with replies or without. */
static void
fresh(int up, int replies)
{
	char	*cause = NULL;

	if (loop == NULL) {
		log_open("test_outbox", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.app_id = "ak_test";
	}
	pending_lost();		/* the last test's connection is gone */
	if (store != NULL)
		store_close(store);
	if ((store = store_open(":memory:", &cause)) == NULL) {
		fprintf(stderr, "store_open: %s\n", cause);
		exit(1);
	}
	events_forget();
	memset(&net, 0, sizeof net);
	net.up = up;
	caps_init(NULL);
	caps_connected(replies ? "replies,seq" : "");
}

/* Store a message to bob as SENDING and queue it, as message.send does. */
static int
queue(const char *id)
{
	json_t	*m;
	char	 body[160];
	int	 rc;

	m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:i}", "id", id,
	    "from", "alice", "to", "bob", "type", "TEXT", "content", "hi",
	    "status", "SENDING", "createdAt", (json_int_t)1000, "seq", 0);
	CHECK_INT(store_put_message(store, "u:bob", m), STORE_INSERTED);
	json_decref(m);
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"peerId\":\"bob\","
	    "\"content\":\"hi\"}", id);
	rc = outbox_add(id, "/app/chat.send", body);
	return rc;
}

/* A message's status in the store ("" if absent). */
static const char *
status(const char *id)
{
	static char	 s[32];
	json_t		*m = store_get_message(store, id);

	snprintf(s, sizeof s, "%s", m == NULL ? "" :
	    json_string_value(json_object_get(m, "status")));
	json_decref(m);
	return s;
}

/* A message's integer field. */
static int64_t
field(const char *id, const char *name)
{
	json_t	*m = store_get_message(store, id);
	int64_t	 v = json_integer_value(json_object_get(m, name));

	json_decref(m);
	return v;
}

/* One logged event: append "STATUS[:error]" to s if it is id's message.status. */
static void
status_event(void *arg, int64_t seq, const char *type, const void *body,
    size_t len)
{
	char	**a = arg, *s = a[0];
	json_t	*e;

	if (strcmp(type, "message.status") != 0)
		return;
	CHECK(body != NULL);
	e = rpc_decode_value(body, len);
	CHECK(e != NULL);
	CHECK_INT(json_integer_value(json_object_get(e, "seq")), seq);
	if (e == NULL || strcmp(json_string_value(json_object_get(e, "id")),
	    a[1]) != 0) {
		json_decref(e);
		return;
	}
	snprintf(s + strlen(s), 256 - strlen(s), "%s%s%s%s", s[0] ? "," : "",
	    json_string_value(json_object_get(e, "status")),
	    json_object_get(e, "error") ? ":" : "",
	    json_object_get(e, "error") ? json_string_value(
	    json_object_get(e, "error")) : "");
	CHECK_STR(json_string_value(json_object_get(json_object_get(e,
	    "conversation"), "user")), "bob");
	json_decref(e);
}

/* The message.status events logged for id, as "STATUS[:error]" joined by ",". */
static const char *
status_events(const char *id)
{
	static char	 s[256];
	char		*a[2] = { s, (char *)id };

	s[0] = '\0';
	CHECK_INT(store_events_read(store, 0, 100, status_event, a), 0);
	return s;
}

/* The server's answer to request-id rid. */
static void
reply(const char *rid, const char *body)
{
	struct stomp_frame	 f;

	stomp_frame_init(&f, STOMP_MESSAGE);
	stomp_frame_add(&f, "destination", "/user/queue/replies");
	stomp_frame_add(&f, "request-id", rid);
	f.body = body;
	f.body_len = strlen(body);
	pending_reply(&f);
}

/* ---- tests ---- */

static void
outbox_message_goes_once_per_connection(void)
{
	fresh(1, 1);
	CHECK_INT(queue("m1"), 0);
	CHECK_INT(net.nsent, 1);
	CHECK_STR(net.id[0], "m1");
	CHECK_STR(net.dest[0], "/app/chat.send");
	CHECKM(outbox_in_flight("m1"), "m1 not in flight");
	/* Online again (or another flush) while it waits: not a second SEND. */
	outbox_flush();
	outbox_flush();
	CHECK_INT(net.nsent, 1);
	CHECK_STR(status("m1"), "SENDING");
}

static void
outbox_proof_settles_sent_with_an_event(void)
{
	fresh(1, 1);
	CHECK_INT(queue("m1"), 0);
	reply("m1", "{\"code\":0,\"data\":{\"createdAt\":5000,\"seq\":9}}");
	CHECK_STR(status("m1"), "SENT");
	CHECK_INT(field("m1", "seq"), 9);
	CHECK_INT(field("m1", "createdAt"), 5000);
	CHECKM(!store_outbox_has(store, "m1"), "still queued after SENT");
	CHECKM(!outbox_in_flight("m1"), "still in flight after SENT");
	CHECK_STR(status_events("m1"), "SENT");
	outbox_flush();
	CHECK_INT(net.nsent, 1);

	/* Without replies: the pong of the ping written after it. */
	fresh(1, 0);
	CHECK_INT(queue("m2"), 0);
	CHECK_STR(net.id[0], "m2");
	pending_pong(net.barrier);
	CHECK_STR(status("m2"), "SENT");
	CHECKM(!store_outbox_has(store, "m2"), "still queued after SENT");
	CHECK_STR(status_events("m2"), "SENT");
}

static void
outbox_refusal_makes_it_failed(void)
{
	fresh(1, 1);
	CHECK_INT(queue("m1"), 0);
	reply("m1", "{\"code\":403,\"message\":\"you are blocked\"}");
	CHECK_STR(status("m1"), "FAILED");
	CHECKM(!store_outbox_has(store, "m1"), "a refused message stays queued");
	CHECK_STR(status_events("m1"), "FAILED:you are blocked");
	outbox_flush();
	CHECK_INT(net.nsent, 1);
}

static void
outbox_loss_leaves_it_queued_and_flush_resends_same_id(void)
{
	fresh(1, 1);
	CHECK_INT(queue("m1"), 0);
	CHECK_INT(queue("m2"), 0);
	CHECK_INT(net.nsent, 2);
	pending_lost();
	CHECK_STR(status("m1"), "SENDING");
	CHECKM(store_outbox_has(store, "m1") && store_outbox_has(store, "m2"),
	    "a lost SEND left the outbox");
	CHECKM(!outbox_in_flight("m1"), "in flight on a lost connection");
	CHECK_STR(status_events("m1"), "");
	/* The next connection: the same ids, bodies and order. */
	outbox_flush();
	CHECK_INT(net.nsent, 4);
	CHECK_STR(net.id[2], "m1");
	CHECK_STR(net.id[3], "m2");
	CHECK_STR(net.body[2], net.body[0]);
	CHECK_STR(net.body[3], net.body[1]);
	reply("m2", "{\"code\":0,\"data\":{\"seq\":2}}");
	reply("m1", "{\"code\":0,\"data\":{\"seq\":1}}");
	CHECK_STR(status("m1"), "SENT");
	CHECK_STR(status("m2"), "SENT");
}

static void
outbox_offline_queues_and_flush_sends_in_order(void)
{
	fresh(0, 1);
	CHECK_INT(queue("m1"), 0);
	CHECK_INT(queue("m2"), 0);
	CHECK_INT(queue("m3"), 0);
	CHECK_INT(net.nsent, 0);
	CHECKM(store_outbox_has(store, "m2"), "not queued offline");
	/* Up again, but the write fails: nothing waits, everything stays. */
	outbox_flush();
	CHECK_INT(net.nsent, 0);
	CHECKM(!outbox_in_flight("m1"), "in flight without a SEND");
	net.up = 1;
	outbox_flush();
	CHECK_INT(net.nsent, 3);
	CHECK_STR(net.id[0], "m1");
	CHECK_STR(net.id[1], "m2");
	CHECK_STR(net.id[2], "m3");
}

/* The server's REVOKED copy of a message, as the intake stores it. */
static void
server_revoked(const char *id)
{
	json_t	*m = store_get_message(store, id);

	json_object_set_new(m, "status", json_string("REVOKED"));
	CHECK_INT(store_put_message(store, "u:bob", m), STORE_UPDATED);
	json_decref(m);
	outbox_forget(id);
}

static void
outbox_forget_keeps_a_revoked_message_from_going_again(void)
{
	fresh(0, 1);
	CHECK_INT(queue("m1"), 0);
	CHECK_INT(queue("m2"), 0);
	server_revoked("m1");
	CHECKM(!store_outbox_has(store, "m1"), "a revoked message stays queued");
	net.up = 1;
	outbox_flush();
	CHECK_INT(net.nsent, 1);
	CHECK_STR(net.id[0], "m2");
	CHECK_STR(status("m1"), "REVOKED");
	/* Forgetting what is not queued changes nothing. */
	outbox_forget("m1");
	outbox_forget("nothing");
	CHECKM(store_outbox_has(store, "m2"), "m2 left the outbox");
}

static void
outbox_late_proof_does_not_undo_a_revoke(void)
{
	fresh(1, 1);
	CHECK_INT(queue("m1"), 0);
	CHECK_INT(net.nsent, 1);
	server_revoked("m1");
	reply("m1", "{\"code\":0,\"data\":{\"seq\":4,\"createdAt\":7000}}");
	CHECK_STR(status("m1"), "REVOKED");
	CHECK_STR(status_events("m1"), "");
	CHECKM(!store_outbox_has(store, "m1"), "back in the outbox");

	/* Refused after the revoke: still REVOKED, not FAILED. */
	CHECK_INT(queue("m2"), 0);
	server_revoked("m2");
	reply("m2", "{\"code\":404,\"message\":\"gone\"}");
	CHECK_STR(status("m2"), "REVOKED");
	CHECK_STR(status_events("m2"), "");
}

static const struct unit_test tests[] = {
	UNIT_TEST(outbox_message_goes_once_per_connection),
	UNIT_TEST(outbox_proof_settles_sent_with_an_event),
	UNIT_TEST(outbox_refusal_makes_it_failed),
	UNIT_TEST(outbox_loss_leaves_it_queued_and_flush_resends_same_id),
	UNIT_TEST(outbox_offline_queues_and_flush_sends_in_order),
	UNIT_TEST(outbox_forget_keeps_a_revoked_message_from_going_again),
	UNIT_TEST(outbox_late_proof_does_not_undo_a_revoke),
};

UNIT_MAIN(tests)
