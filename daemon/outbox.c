/*
 * outbox: the durable queue of outgoing messages. A message is committed to
 * the store's outbox before anyone is told its id, goes upstream whenever the
 * session is online, in queue order, and leaves the outbox only when the
 * server answers (SENT or FAILED). Ids are ours, so a resend after a
 * reconnect or a crash can never be a second message.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

/* Ids sent on the current connection and not yet answered. */
struct inflight {
	char			*id;
	TAILQ_ENTRY(inflight)	 entry;
};
static TAILQ_HEAD(, inflight) inflight = TAILQ_HEAD_INITIALIZER(inflight);

static struct inflight *
outbox_find(const char *id)
{
	struct inflight	*f;

	TAILQ_FOREACH(f, &inflight, entry) {
		if (strcmp(f->id, id) == 0)
			return f;
	}
	return NULL;
}

/* Whether id was sent on this connection and not answered yet. */
int
outbox_in_flight(const char *id)
{
	return outbox_find(id) != NULL;
}

/* Send one entry and remember it is in flight. */
static void
outbox_send(const char *id, const char *dest, const char *body)
{
	struct inflight	*f;

	if (outbox_find(id) != NULL)
		return;
	/* request-id gets our reply; receipt serves servers without replies. */
	if (session_send(dest, body, id, id) == -1)
		return;
	if ((f = calloc(1, sizeof *f)) == NULL || (f->id = strdup(id)) == NULL)
		fatalx("out of memory");
	TAILQ_INSERT_TAIL(&inflight, f, entry);
}

/*
 * Queue a chat message already stored as SENDING: body is the upstream JSON.
 * Sent at once when online. Returns 0, or -1 (store error).
 */
int
outbox_add(const char *id, const char *dest, const char *body)
{
	if (store_outbox_add(store, id, dest, body) == -1)
		return -1;
	if (session_is_up())
		outbox_send(id, dest, body);
	return 0;
}

/* Send everything queued (the session just came online). */
void
outbox_flush(void)
{
	json_t	*list, *e;
	size_t	 i;

	if ((list = store_outbox_list(store)) == NULL) {
		log_error("cannot read outbox: %s", store_error(store));
		return;
	}
	json_array_foreach(list, i, e) {
		outbox_send(json_string_value(json_object_get(e, "id")),
		    json_string_value(json_object_get(e, "dest")),
		    json_string_value(json_object_get(e, "body")));
	}
	if (json_array_size(list) > 0)
		log_info("sent %zu queued messages", json_array_size(list));
	json_decref(list);
}

/* The connection dropped: everything in flight will be sent again. */
void
outbox_offline(void)
{
	struct inflight	*f;

	while ((f = TAILQ_FIRST(&inflight)) != NULL) {
		TAILQ_REMOVE(&inflight, f, entry);
		free(f->id);
		free(f);
	}
}

/* Settle an entry: SENT or FAILED, out of the outbox, an event either way. */
static void
outbox_settle(struct inflight *f, const char *status, int64_t created_at,
    int64_t seq, const char *error)
{
	json_t	*conv = NULL, *ev;

	TAILQ_REMOVE(&inflight, f, entry);
	if (store_set_status(store, f->id, status, created_at, seq, &conv) == -1 ||
	    store_outbox_del(store, f->id) == -1)
		log_error("cannot settle %s: %s", f->id, store_error(store));
	if (conv != NULL) {
		ev = json_pack("{s:s,s:o,s:s}", "id", f->id, "conversation", conv,
		    "status", status);
		if (error != NULL)
			json_object_set_new(ev, "error", json_string(error));
		events_emit("message.status", ev);
	}
	free(f->id);
	free(f);
}

/* A reply arrived; returns 1 if it answered an outbox entry, else 0. */
int
outbox_reply(const char *request_id, int code, const char *message, json_t *data)
{
	struct inflight	*f;

	if ((f = outbox_find(request_id)) == NULL)
		return 0;
	if (code == 0) {
		outbox_settle(f, "SENT",
		    json_integer_value(json_object_get(data, "createdAt")),
		    json_integer_value(json_object_get(data, "seq")), NULL);
	} else {
		log_warn("server refused message %s: %d %s", request_id, code, message);
		outbox_settle(f, "FAILED", 0, 0, message);
	}
	return 1;
}

/* A RECEIPT arrived: for a server without replies, the message is sent. */
void
outbox_receipt(const char *receipt_id)
{
	struct inflight	*f;

	if ((f = outbox_find(receipt_id)) != NULL)
		outbox_settle(f, "SENT", 0, 0, NULL);
}
