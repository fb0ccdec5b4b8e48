/*
 * outbox: the durable queue of outgoing messages. A message is committed to
 * the store's outbox before anyone is told its id, goes upstream whenever the
 * session is online, in queue order, and leaves the outbox only once the
 * server is proved to have read it (SENT), refused it (FAILED), or it was
 * revoked. Ids are ours, so a resend after a reconnect or a crash can never
 * be a second message.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

/* Whether id was sent on this connection and not proved read yet. */
int
outbox_in_flight(const char *id)
{
	return pending_has(id);
}

/* Settle an entry: SENT or FAILED, out of the outbox, an event either way. */
static void
outbox_settle(const char *id, const char *status, int64_t created_at,
    int64_t seq, const char *error)
{
	json_t	*conv = NULL, *ev;

	/* The store moves only a SENDING message: a revoked one stays so. */
	if (store_set_status(store, id, status, created_at, seq, &conv) == -1 ||
	    store_outbox_del(store, id) == -1)
		log_error("cannot settle %s: %s", id, store_error(store));
	if (conv != NULL) {
		ev = json_pack("{s:s,s:o,s:s}", "id", id, "conversation", conv,
		    "status", status);
		if (error != NULL)
			json_object_set_new(ev, "error", json_string(error));
		events_emit("message.status", ev);
	}
}

/*
 * The proof for a sent message (pending_post): the server's answer, its
 * RECEIPT, a pong, or its echo. A lost connection or no answer leaves it
 * queued, to go again with the same id after the next connect.
 */
static void
outbox_done(void *arg, int code, const char *message, json_t *data)
{
	char	*id = arg;

	if (code == 0)
		outbox_settle(id, "SENT",
		    json_integer_value(json_object_get(data, "createdAt")),
		    json_integer_value(json_object_get(data, "seq")), NULL);
	else if (code > 0) {
		log_warn("server refused message %s: %d %s", id, code, message);
		outbox_settle(id, "FAILED", 0, 0, message);
	}
	free(id);
}

/* Send one entry, unless it is on its way already. */
static void
outbox_send(const char *id, const char *dest, const char *body)
{
	char	*arg;

	if (pending_has(id))
		return;
	if ((arg = strdup(id)) == NULL)
		fatalx("out of memory");
	if (pending_post(dest, id, body, outbox_done, arg) == -1)
		free(arg);
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

/*
 * A queued message was revoked meanwhile: it must never go again. A proof
 * still to come finds a REVOKED message and leaves it so.
 */
void
outbox_forget(const char *id)
{
	if (store_outbox_has(store, id) && store_outbox_del(store, id) == -1)
		log_error("cannot drop %s from the outbox: %s", id,
		    store_error(store));
}
