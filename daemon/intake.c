/*
 * intake: chat messages from the server (UPSTREAM.md's message object),
 * checked, stored and announced: a message is refused whole if its id,
 * users or sizes are out of bounds; our own echo settles what we sent; a
 * revoke takes it out of the outbox. Stored before announced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

#define CONV_MAX	80
/* A server createdAt this far ahead of our clock is taken as arrival time. */
#define AHEAD_MAX	(24 * 3600 * 1000LL)

/*
 * Announce a message change after storing it. A new message is what was
 * stored, m (borrowed) in conversation conv, so it is not read back; a
 * changed one is read back, as the store merged the change into it.
 */
static void
intake_announce(int put, const char *id, json_t *m, const char *conv)
{
	const char	*type;
	json_t		*stored;

	if (put == STORE_INSERTED) {
		json_object_set_new(m, "conversation", conv_object(conv));
		events_emit("message.new", json_pack("{s:O}", "message", m));
		return;
	}
	if (put != STORE_UPDATED || (stored = store_get_message(store,
	    id)) == NULL)
		return;
	type = strcmp(json_string_value(json_object_get(stored, "status")),
	    "REVOKED") == 0 ? "message.revoked" : "message.updated";
	events_emit(type, json_pack("{s:o}", "message", stored));
}


/*
 * Copy the optional fields (UPSTREAM.md) of a server message into m; those
 * of the wrong type are left out. Returns 0, or -1 if the extras together
 * take more than MESSAGE_TEXT_MAX bytes as JSON.
 */
static int
intake_extras(json_t *m, json_t *body)
{
	const struct store_extra	*x;
	json_t				*v, *e = json_object();
	char				*dump;
	size_t				 n;

	for (x = store_extras; x->name != NULL; x++) {
		if ((v = json_object_get(body, x->name)) != NULL &&
		    json_typeof(v) == x->type)
			json_object_set(e, x->name, v);
	}
	n = 0;
	if (json_object_size(e) > 0) {
		if ((dump = json_dumps(e, JSON_COMPACT)) == NULL)
			fatalx("out of memory");
		n = strlen(dump);
		free(dump);
	}
	if (n <= MESSAGE_TEXT_MAX) {
		json_object_update(m, e);
		/* editedAt is a column of its own, not an extra. */
		if (json_is_integer(v = json_object_get(body, "editedAt")))
			json_object_set(m, "editedAt", v);
	}
	json_decref(e);
	return n <= MESSAGE_TEXT_MAX ? 0 : -1;
}

/* Whether s is a message id: 1-128 of [A-Za-z0-9_.@-] (UPSTREAM.md). */
static int
intake_id_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 128 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.@-") == n;
}


/*
 * The message's server time: createdAt, unless it is missing or more than
 * AHEAD_MAX ahead of our clock; then the time it was first stored (now, for
 * a new message), so a broken clock cannot pin a conversation on top.
 */
static int64_t
intake_time(const char *id, json_t *body)
{
	int64_t	 t = json_integer_value(json_object_get(body, "createdAt"));
	int64_t	 now = state_now_ms();
	json_t	*old;

	if (t > 0 && t <= now + AHEAD_MAX)
		return t;
	if ((old = store_get_message(store, id)) != NULL) {
		t = json_integer_value(json_object_get(old, "createdAt"));
		json_decref(old);
		if (t > 0 && t <= now + AHEAD_MAX)
			return t;
	}
	log_limited(LOG_WARN, "message-time", "message %s: createdAt %lld is "
	    "not a time up to a day ahead of ours; taking now", id,
	    (long long)json_integer_value(json_object_get(body, "createdAt")));
	return now;
}


/* Why a chat message from the server is refused, or NULL if it is not. */
static const char *
intake_refusal(json_t *body)
{
	const char	*id = json_string_value(json_object_get(body, "id"));
	const char	*from = json_string_value(json_object_get(body, "fromId"));
	const char	*to = json_string_value(json_object_get(body, "toId"));
	json_t		*content = json_object_get(body, "content");

	if (id == NULL || !intake_id_ok(id))
		return "id is not 1-128 of [A-Za-z0-9_.@-]";
	if (from == NULL || !conv_valid_id(from) || to == NULL || !conv_valid_id(to))
		return "fromId or toId is not 1-64 of [A-Za-z0-9_.@-]";
	if (!json_is_string(content))
		return "content is not a string";
	if (json_string_length(content) > MESSAGE_TEXT_MAX)
		return "content is over 64 KiB";
	return NULL;
}


/* Take a chat message object from the server: store it, announce it. */
void
intake_message(json_t *body)
{
	const char	*id, *from, *to, *chat, *content, *status, *type, *why;
	char		 conv[CONV_MAX];
	json_t		*m;
	int64_t		 seq;
	int		 put;

	id = json_string_value(json_object_get(body, "id"));
	from = json_string_value(json_object_get(body, "fromId"));
	to = json_string_value(json_object_get(body, "toId"));
	chat = json_string_value(json_object_get(body, "chatType"));
	content = json_string_value(json_object_get(body, "content"));
	status = json_string_value(json_object_get(body, "status"));
	type = json_string_value(json_object_get(body, "msgType"));
	seq = json_integer_value(json_object_get(body, "seq"));
	if ((why = intake_refusal(body)) != NULL) {
		log_limited(LOG_WARN, why, "ignoring a chat message from the "
		    "server: %s", why);
		return;
	}
	/*
	 * Our own message echoed back proves the server read it (RPC.md,
	 * "What SENT proves"; with replies it may come before the answer, as
	 * on a group's topic): settle it before storing what the server says.
	 * Without replies its createdAt is not taken: a message settled by a
	 * pong has only ours, and one clock per profile keeps our history in
	 * the order we sent.
	 */
	if (self_id != NULL && strcmp(from, self_id) == 0)
		pending_settle(id, caps_has("replies") ? body : NULL);
	if (status != NULL && strcmp(status, "REVOKED") == 0)
		outbox_forget(id);
	if (chat != NULL && strcmp(chat, "GROUP") == 0)
		snprintf(conv, sizeof conv, "g:%s", to);
	else
		snprintf(conv, sizeof conv, "u:%s",
		    self_id != NULL && strcmp(from, self_id) == 0 ? to : from);
	m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", id,
	    "from", from, "to", to, "type", type ? type : "TEXT",
	    "content", content, "status", status ? status : "SENT",
	    "createdAt", (json_int_t)intake_time(id, body),
	    "seq", (json_int_t)seq);
	if (m == NULL)
		fatalx("out of memory");
	if (intake_extras(m, body) == -1) {
		log_limited(LOG_WARN, "message-extras", "ignoring a chat message "
		    "from the server: payload, mentions and replyTo are over "
		    "64 KiB");
		json_decref(m);
		return;
	}
	put = store_put_message(store, conv, m);
	if (put == -1)
		log_error("cannot store message: %s", store_error(store));
	else
		intake_announce(put, id, m, conv);
	json_decref(m);
	if (put == -1)
		return;
	if (seq > 0)
		sync_saw_seq(seq);
}

