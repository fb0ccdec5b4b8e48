/*
 * fuzz_intake: libFuzzer target for what imgwd takes from the server. The
 * input is a MESSAGE frame's body (its first byte picks the destination:
 * the personal queue, a group topic, the event queue or the reply queue);
 * it goes through the real session (session_input, after a CONNECTED),
 * intake_message or social_event, an in-memory store and the event log.
 * Every event that would reach a local client must decode as MessagePack-RPC
 * (within RPC_MAX_DEPTH), and every stored message must keep the limits of
 * proto/UPSTREAM.md; any violation aborts. The session's hooks are wired
 * as main.c wires them; the socket and the clients are stubbed below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "social.h"
#include "stomp.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct clients	 clients = TAILQ_HEAD_INITIALIZER(clients);

static struct client	 fuzz_client;	/* one subscribed local client */
static int		 fuzz_open;	/* the "WebSocket" is open */
static unsigned		 fuzz_inputs;

/* ---- stubs: upstream.c (the socket) ---- */
int upstream_send(const void *p, size_t n) { return fuzz_open ? 0 : -1; }
void upstream_drop(const char *reason) { fuzz_open = 0; }
void upstream_expect(double secs) { }
const char *upstream_host(void) { return "127.0.0.1"; }
void upstream_hold(void) { }
int upstream_is_open(void) { return fuzz_open; }
void upstream_reset_backoff(void) { }
uint64_t upstream_barrier(void) { return 0; }

/* ---- stubs: client.c, with the checks a real client's decoder makes ---- */

/* What a local client would get must decode, within RPC_MAX_DEPTH. */
static void
fuzz_decodes(const char *p, size_t n)
{
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;

	if (rpc_decode(p, n, RPC_MAX_MESSAGE, &m, &used, &cause) != RPC_OK ||
	    used != n) {
		fprintf(stderr, "a local client cannot decode an event: %s\n",
		    cause ? cause : "incomplete");
		abort();
	}
	rpc_msg_clear(&m);
}

void
client_send_wire(struct client *c, struct wire *w)
{
	fuzz_decodes(w->data, w->len);
}

void
client_notify(struct client *c, const char *method, json_t *params)
{
	struct buf	 b;

	buf_init(&b);
	if (rpc_encode_notify(&b, method, params) == 0)
		fuzz_decodes(b.data, b.len);
	buf_clear(&b);
	json_decref(params);
}

int client_congested(struct client *c) { return 0; }
int client_wants(struct client *c, const char *type) { return 1; }
struct client *client_find(uint64_t id) { return NULL; }
void
client_reply_later(struct client *c, uint32_t msgid, json_t *error,
    json_t *result)
{
	json_decref(error);
	json_decref(result);
}

/* Feed bytes as the WebSocket would. */
static void
fuzz_feed(const char *p, size_t n)
{
	char	*copy = malloc(n);

	memcpy(copy, p, n);
	session_input(copy, n);
	free(copy);
}

/* The session's hooks, as main.c wires them. */
static void
fuzz_connected(void)
{
	sync_start();
	social_connected();
	outbox_flush();
}
static void
fuzz_closed(void)
{
	pending_lost();
	sync_stop();
}
static void
fuzz_receipt(const char *id)
{
	pending_settle(id, NULL);
}
static const struct session_hooks fuzz_hooks = {
	fuzz_connected, inbound_message, fuzz_receipt, social_refused,
	fuzz_closed,
};

/* Open the store (afresh every so many inputs) and bring a session up. */
static void
fuzz_connect(void)
{
	static const char connected[] = "CONNECTED\nversion:1.2\n"
	    "user-name:alice\nim-extensions:replies,events,seq,group,friend,"
	    "conversation,blacklist,profile\n\n";
	char	*cause = NULL;

	session_set_hooks(&fuzz_hooks);
	if (store == NULL || fuzz_inputs % 5000 == 0) {
		if (store != NULL) {
			session_closed("fuzz: new store", 0);
			events_forget();
			store_close(store);
		}
		if ((store = store_open(":memory:", &cause)) == NULL) {
			fprintf(stderr, "store_open: %s\n", cause);
			abort();
		}
		fuzz_open = 0;
	}
	if (fuzz_open)
		return;
	session_closed("fuzz: reconnect", 0);
	fuzz_open = 1;
	session_connecting();
	session_opened();
	fuzz_feed(connected, sizeof connected);	/* with its NUL */
	if (session_state() != SESSION_SYNCING && session_state() != SESSION_ONLINE)
		abort();
}

/* A stored message keeps UPSTREAM.md's limits. */
static void
fuzz_check_stored(const char *body, size_t n)
{
	json_t		*j = json_loadb(body, n, 0, NULL), *m;
	const char	*id = json_string_value(json_object_get(j, "id"));

	if (id != NULL && (m = store_get_message(store, id)) != NULL) {
		const char	*c = json_string_value(json_object_get(m,
		    "content"));

		if (strlen(id) > 128 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_.@-") != strlen(id) ||
		    c == NULL || strlen(c) > 64 * 1024) {
			fprintf(stderr, "stored a message outside the limits\n");
			abort();
		}
		json_decref(m);
	}
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dests[] = { "/user/queue/messages",
	    "/topic/group/g1", "/user/queue/events", "/user/queue/replies" };
	struct buf	 frame;
	const char	*body = (const char *)data + 1;
	size_t		 n = size - 1;

	if (size < 1 || size > STOMP_MAX_FRAME / 2)
		return 0;
	if (loop == NULL) {
		log_open("fuzz_intake", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.app_id = "ak_demo_chat";
		cfg.token = strdup("fuzz-token");
		cfg.ping_interval = 30;
		cfg.ping_timeout = 60;
		TAILQ_INSERT_TAIL(&clients, &fuzz_client, entry);
		fuzz_client.subscribed = 1;
	}
	fuzz_connect();
	fuzz_inputs++;
	buf_init(&frame);
	if (buf_printf(&frame, "MESSAGE\ndestination:%s\nsubscription:sub-1\n"
	    "message-id:%u\nrequest-id:~r1\ncontent-length:%zu\n\n",
	    dests[data[0] % 4], fuzz_inputs, n) == -1 ||
	    buf_add(&frame, body, n) == -1 || buf_add(&frame, "", 1) == -1)
		abort();
	fuzz_feed(frame.data, frame.len);
	buf_clear(&frame);
	if (data[0] % 4 < 2)
		fuzz_check_stored(body, n);
	/* The end of a loop turn (main.c): commit, then fan out. */
	if (store_flush(store) == -1) {
		fprintf(stderr, "store_flush: %s\n", store_error(store));
		abort();
	}
	fuzz_client.cursor = fuzz_client.cursor > events_head() ?
	    events_head() : fuzz_client.cursor;
	events_pump();
	return 0;
}
