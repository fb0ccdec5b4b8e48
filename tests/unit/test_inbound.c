/*
 * test_inbound: where the server's MESSAGE frames go. Linked with
 * daemon/inbound.c, the sync (its cursor in a real store in memory), the
 * pending table, the event log, the clients (none connected), the shared
 * state and caps. Stubbed: the session and the WebSocket below it, and the
 * two consumers inbound hands bodies to (the message intake and the social
 * cache), which only record what they were given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "social.h"
#include "stomp.h"
#include "store.h"
#include "unit.h"

/* ---- stubs: session.c and upstream.c (the transport) ---- */

static char	 sent_rid[136];	/* the last SEND's request-id */

int session_is_up(void) { return 1; }
int upstream_is_open(void) { return 1; }
uint64_t upstream_barrier(void) { return 0; }
enum session_state session_state(void) { return SESSION_ONLINE; }
void session_online(const char *reason) { }

int
session_send(const char *dest, const char *body, const char *request_id,
    const char *receipt)
{
	snprintf(sent_rid, sizeof sent_rid, "%s", request_id ? request_id : "");
	return 0;
}

/* ---- stubs: the consumers, recording each body ---- */

static struct {
	int	 messages, events;
	char	 last[256];	/* the last body, compact */
} got;

static void
got_body(json_t *body)
{
	char	*s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(got.last, sizeof got.last, "%s", s ? s : "");
	free(s);
}

/* The message intake (intake.c). */
void
intake_message(json_t *msg)
{
	got.messages++;
	got_body(msg);
}

void
social_event(json_t *ev)
{
	got.events++;
	got_body(ev);
}

/* ---- helpers ---- */

static void
fresh(void)
{
	char	*cause = NULL;

	if (loop == NULL) {
		log_open("test_inbound", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.app_id = "ak_test";
		if ((store = store_open(":memory:", &cause)) == NULL) {
			fprintf(stderr, "store_open: %s\n", cause);
			exit(1);
		}
		caps_init(NULL);
		caps_connected("replies,seq,events");
	}
	memset(&got, 0, sizeof got);
}

/* A MESSAGE frame to dest (NULL: none) with a body of n bytes. */
static void
frame_n(const char *dest, const char *body, size_t n)
{
	struct stomp_frame	 f;

	stomp_frame_init(&f, STOMP_MESSAGE);
	if (dest != NULL)
		stomp_frame_add(&f, "destination", dest);
	stomp_frame_add(&f, "subscription", "sub-0");
	f.body = body;
	f.body_len = n;
	inbound_message(&f);
}

static void
frame(const char *dest, const char *body)
{
	frame_n(dest, body, strlen(body));
}

/* A body of depth nested containers: {"a":{"a":...[1]...}} (caller frees). */
static char *
nested(int depth, int array)
{
	char	 s[512] = "";
	int	 i;

	for (i = 0; i < depth - 1; i++)
		strcat(s, array && i > 0 ? "[" : "{\"a\":");
	strcat(s, "[1]");
	for (i = depth - 2; i >= 0; i--)
		strcat(s, array && i > 0 ? "]" : "}");
	return strdup(s);
}

/* ---- tests ---- */

static void
inbound_routes_chat_messages_to_the_intake(void)
{
	fresh();
	frame("/user/queue/messages", "{\"id\":\"m1\",\"from\":\"bob\"}");
	CHECK_INT(got.messages, 1);
	CHECK_STR(got.last, "{\"from\":\"bob\",\"id\":\"m1\"}");
	frame("/topic/group/g1", "{\"id\":\"m2\",\"to\":\"g1\"}");
	CHECK_INT(got.messages, 2);
	CHECK_STR(got.last, "{\"id\":\"m2\",\"to\":\"g1\"}");
	CHECK_INT(got.events, 0);
}

static void
inbound_routes_events_to_the_social_cache(void)
{
	fresh();
	frame("/user/queue/events", "{\"type\":\"friend.added\",\"userId\":\"bob\"}");
	CHECK_INT(got.events, 1);
	CHECK_STR(got.last, "{\"type\":\"friend.added\",\"userId\":\"bob\"}");
	CHECK_INT(got.messages, 0);
}

static void
inbound_event_seq_moves_the_sync_cursor_forward_only(void)
{
	char	*v;

	fresh();
	frame("/user/queue/events", "{\"type\":\"group.joined\",\"seq\":12}");
	v = store_get_kv(store, "sync_seq");
	CHECK_STR(v, "12");
	free(v);
	frame("/user/queue/events", "{\"type\":\"group.left\",\"seq\":5}");
	frame("/user/queue/events", "{\"type\":\"group.left\",\"seq\":-3}");
	frame("/user/queue/events", "{\"type\":\"group.left\",\"seq\":\"99\"}");
	v = store_get_kv(store, "sync_seq");
	CHECK_STR(v, "12");
	free(v);
	CHECK_INT(got.events, 4);
}

static void
inbound_ignores_other_destinations(void)
{
	fresh();
	frame("/topic/other", "{\"id\":\"m1\"}");
	frame("/user/queue/messagesX", "{\"id\":\"m1\"}");
	frame("/topic/group", "{\"id\":\"m1\"}");
	frame(NULL, "{\"id\":\"m1\"}");
	CHECK_INT(got.messages + got.events, 0);
}

static void
inbound_refuses_bodies_that_are_not_json_objects(void)
{
	static const char *const bad[] = {
		"", "[1,2]", "\"text\"", "42", "null", "{\"id\":", "not json",
		"{\"id\":\"m1\"} trailing", "{\"c\":\"\xff\xfe\"}",
		"{\"c\":\"a\\u0000b\"}",
	};
	size_t	 i;

	fresh();
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		frame("/user/queue/messages", bad[i]);
		frame("/user/queue/events", bad[i]);
	}
	/* A NUL byte in the body itself (content-length said so). */
	frame_n("/user/queue/messages", "{\"id\":\"m\0\"}", 10);
	CHECK_INT(got.messages + got.events, 0);
}

static void
inbound_refuses_bodies_nested_over_16_levels(void)
{
	char	*ok_obj = nested(16, 0), *deep_obj = nested(17, 0);
	char	*ok_arr = nested(16, 1), *deep_arr = nested(17, 1);

	fresh();
	frame("/user/queue/messages", ok_obj);
	CHECK_INT(got.messages, 1);
	frame("/user/queue/messages", ok_arr);
	CHECK_INT(got.messages, 2);
	frame("/user/queue/messages", deep_obj);
	frame("/user/queue/messages", deep_arr);
	frame("/user/queue/events", deep_obj);
	CHECK_INT(got.messages, 2);
	CHECK_INT(got.events, 0);
	free(ok_obj);
	free(deep_obj);
	free(ok_arr);
	free(deep_arr);
}

struct answer {
	int	 calls, code;
	char	 data[64];
};

static void
answer_cb(void *arg, int code, const char *message, json_t *data)
{
	struct answer	*a = arg;
	char		*s = data ? json_dumps(data, JSON_COMPACT) : NULL;

	a->calls++;
	a->code = code;
	snprintf(a->data, sizeof a->data, "%s", s ? s : "");
	free(s);
}

static void
inbound_routes_replies_to_pending(void)
{
	struct answer	 a[2] = { 0 };
	char		 rid[2][136], body[128];

	fresh();
	CHECK_INT(pending_request("/app/group.create", json_object(), answer_cb,
	    &a[0]), 0);
	snprintf(rid[0], sizeof rid[0], "%s", sent_rid);
	CHECK_INT(pending_request("/app/group.kick", json_object(), answer_cb,
	    &a[1]), 0);
	snprintf(rid[1], sizeof rid[1], "%s", sent_rid);
	snprintf(body, sizeof body, "{\"code\":0,\"data\":{\"groupId\":\"g9\"}}");
	{
		struct stomp_frame	 f;

		stomp_frame_init(&f, STOMP_MESSAGE);
		stomp_frame_add(&f, "destination", "/user/queue/replies");
		stomp_frame_add(&f, "request-id", rid[0]);
		f.body = body;
		f.body_len = strlen(body);
		inbound_message(&f);
		/* Not a JSON object: still the reply that ends the request. */
		stomp_frame_init(&f, STOMP_MESSAGE);
		stomp_frame_add(&f, "destination", "/user/queue/replies");
		stomp_frame_add(&f, "request-id", rid[1]);
		f.body = "oops";
		f.body_len = 4;
		inbound_message(&f);
	}
	CHECK_INT(a[0].calls, 1);
	CHECK_INT(a[0].code, 0);
	CHECK_STR(a[0].data, "{\"groupId\":\"g9\"}");
	CHECK_INT(a[1].calls, 1);
	CHECK_INT(a[1].code, 500);
	CHECK_INT(got.messages + got.events, 0);
}

static const struct unit_test tests[] = {
	UNIT_TEST(inbound_routes_chat_messages_to_the_intake),
	UNIT_TEST(inbound_routes_events_to_the_social_cache),
	UNIT_TEST(inbound_event_seq_moves_the_sync_cursor_forward_only),
	UNIT_TEST(inbound_ignores_other_destinations),
	UNIT_TEST(inbound_refuses_bodies_that_are_not_json_objects),
	UNIT_TEST(inbound_refuses_bodies_nested_over_16_levels),
	UNIT_TEST(inbound_routes_replies_to_pending),
};

UNIT_MAIN(tests)
