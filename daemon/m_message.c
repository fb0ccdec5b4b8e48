/*
 * m_message: the message.* methods: sending (queued in the outbox),
 * history and search from the cache, revoke, delete, resend, cancel, and
 * the server's edit and fetch. What arrives from the server is intake.c's.
 * Everything is stored before it is announced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "snippet.h"
#include "store.h"

#define TEXT_MAX	MESSAGE_TEXT_MAX
#define CONV_MAX	80

/* Make a new message id: 128 random bits in hex. */
static void
message_new_id(char out[33])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 r[16];
	int			 i;

	if (getrandom(r, sizeof r, 0) != sizeof r)
		fatalx("getrandom failed");
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

/* Whether stored message m was sent by us in conversation conv ("u:ID"). */
static int
message_is_mine(json_t *m, const char *conv)
{
	const char	*from = json_string_value(json_object_get(m, "from"));
	const char	*to = json_string_value(json_object_get(m, "to"));

	if (from == NULL || to == NULL || strcmp(to, conv + 2) != 0)
		return 0;
	/* Before the server told us who we are, our messages have from "". */
	return *from == '\0' || (self_id != NULL && strcmp(from, self_id) == 0);
}

/* The message types of UPSTREAM.md. */
static int
message_type_ok(const char *t)
{
	static const char *const types[] = { "TEXT", "IMAGE", "FILE", "AUDIO",
	    "VIDEO", "LOCATION", "CUSTOM", NULL };
	int	 i;

	for (i = 0; types[i] != NULL; i++) {
		if (strcmp(t, types[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * Queue one message to conv: stored as SENDING, committed to the outbox,
 * announced. extras holds the optional payload, mentions and replyTo.
 * Returns 0, or -1 with *error set.
 */
/*
 * The upstream chat.send body of a message (UPSTREAM.md) as JSON text;
 * extras (payload, mentions, replyTo) may be NULL. The caller frees it.
 */
static char *
message_body(const char *conv, const char *id, const char *type,
    const char *text, json_t *extras)
{
	json_t	*body;
	char	*out;

	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "appId", cfg.app_id,
	    "messageId", id, "toId", conv + 2, "chatType",
	    conv[0] == 'g' ? "GROUP" : "SINGLE", "msgType", type, "content", text);
	if (body == NULL)
		fatalx("out of memory");
	if (extras != NULL)
		json_object_update(body, extras);
	if ((out = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	json_decref(body);
	return out;
}

/* The extras of a stored message, as message_body takes them (a new object). */
static json_t *
message_stored_extras(json_t *m)
{
	const struct store_extra	*x;
	json_t				*e = json_object();

	for (x = store_extras; x->name != NULL; x++) {
		if (json_object_get(m, x->name) != NULL)
			json_object_set(e, x->name, json_object_get(m, x->name));
	}
	return e;
}

static int
message_queue(const char *conv, const char *id, const char *type,
    const char *text, json_t *extras, json_t **error)
{
	json_t	*m;
	char	*text_body;
	int	 put;

	m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:i}", "id", id,
	    "from", self_id ? self_id : "", "to", conv + 2, "type", type,
	    "content", text, "status", "SENDING", "createdAt",
	    (json_int_t)state_now_ms(), "seq", 0);
	if (m == NULL)
		fatalx("out of memory");
	if (extras != NULL)
		json_object_update(m, extras);
	text_body = message_body(conv, id, type, text, extras);
	put = store_put_message(store, conv, m);
	if (put == -1 || outbox_add(id, "/app/chat.send", text_body) == -1) {
		json_decref(m);
		*error = rpc_error_new(RPC_E_INTERNAL, "cannot queue message: %s",
		    store_error(store));
		free(text_body);
		return -1;
	}
	free(text_body);
	/* What was stored is m: announce it without reading it back. */
	json_object_set_new(m, "conversation", json_pack("{s:s}",
	    conv[0] == 'g' ? "group" : "user", conv + 2));
	events_emit("message.new", json_pack("{s:o}", "message", m));
	return 0;
}

/* Read and check the optional extras of a send: payload, mentions, replyTo. */
static int
message_read_extras(json_t *args, json_t **extras, json_t **error)
{
	json_t		*p = json_object_get(args, "payload");
	json_t		*mn = json_object_get(args, "mentions"), *u;
	const char	*reply;
	size_t		 i;
	char		*dump;

	*extras = json_object();
	if (p != NULL && !json_is_null(p)) {
		if (!json_is_object(p) || (dump = json_dumps(p, JSON_COMPACT)) == NULL) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS,
			    "'payload' must be an object");
			goto fail;
		}
		i = strlen(dump);
		free(dump);
		if (i > TEXT_MAX) {
			*error = rpc_error_new(RPC_E_TOO_LARGE,
			    "'payload' is over %d bytes", TEXT_MAX);
			goto fail;
		}
		json_object_set(*extras, "payload", p);
	}
	if (mn != NULL && !json_is_null(mn)) {
		if (!json_is_array(mn) || json_array_size(mn) > 500)
			goto bad_mentions;
		json_array_foreach(mn, i, u) {
			if (!json_is_string(u) || (!conv_valid_id(json_string_value(u)) &&
			    strcmp(json_string_value(u), "@all") != 0))
				goto bad_mentions;
		}
		json_object_set(*extras, "mentions", mn);
	}
	if (arg_string(args, "replyTo", 0, 128, &reply, error) == -1)
		goto fail;
	if (reply != NULL)
		json_object_set_new(*extras, "replyTo", json_string(reply));
	return 0;
bad_mentions:
	*error = rpc_error_new(RPC_E_BAD_PARAMS,
	    "'mentions' is a list of user ids or [\"@all\"]");
fail:
	json_decref(*extras);
	*extras = NULL;
	return -1;
}

/*
 * message.send {user|group, text, type?, payload?, mentions?, replyTo?, id?}:
 * commit to the outbox, answer {id, status}. A repeated id answers the
 * stored message and sends nothing again.
 */
int
m_message_send(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	const char	*text, *given, *type;
	char		 conv[CONV_MAX], id[65];
	json_t		*m, *extras = NULL;

	if (arg_conversation(args, conv, sizeof conv, error) == -1 ||
	    arg_string(args, "text", 1, TEXT_MAX, &text, error) == -1 ||
	    arg_string(args, "id", 0, 64, &given, error) == -1 ||
	    arg_string(args, "type", 0, 16, &type, error) == -1)
		return 0;
	if (type == NULL)
		type = "TEXT";
	if (!message_type_ok(type)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'type' is one of TEXT IMAGE "
		    "FILE AUDIO VIDEO LOCATION CUSTOM");
		return 0;
	}
	if (*text == '\0' && strcmp(type, "TEXT") == 0) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'text' is empty");
		return 0;
	}
	if (given != NULL) {
		if (!conv_valid_id(given)) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS,
			    "'id' must be 1-64 characters of A-Z a-z 0-9 _ . @ -");
			return 0;
		}
		snprintf(id, sizeof id, "%s", given);
		if ((m = store_get_message(store, id)) != NULL) {
			/* Idempotent only for our own message to the same peer. */
			if (message_is_mine(m, conv)) {
				*result = json_pack("{s:s,s:O}", "id", id,
				    "status", json_object_get(m, "status"));
			} else
				*error = rpc_error_new(RPC_E_CONFLICT,
				    "id %s belongs to another message", id);
			json_decref(m);
			return 0;
		}
	} else
		message_new_id(id);
	if (message_read_extras(args, &extras, error) == -1)
		return 0;
	if (message_queue(conv, id, type, text, extras, error) == 0)
		*result = json_pack("{s:s,s:s}", "id", id, "status", "SENDING");
	json_decref(extras);
	return 0;
}

/* message.broadcast {users, text}: the same text to many users, one message each. */
int
m_message_broadcast(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	json_t		*users = json_object_get(args, "users"), *u, *ids;
	const char	*text;
	char		 conv[CONV_MAX], id[65];
	size_t		 i;

	if (arg_string(args, "text", 1, TEXT_MAX, &text, error) == -1)
		return 0;
	if (!json_is_array(users) || json_array_size(users) == 0 ||
	    json_array_size(users) > 500) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'users' is a list of 1 to 500 user ids");
		return 0;
	}
	json_array_foreach(users, i, u) {
		if (!json_is_string(u) || !conv_valid_id(json_string_value(u))) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS,
			    "'users' holds something that is not a user id");
			return 0;
		}
	}
	ids = json_array();
	json_array_foreach(users, i, u) {
		snprintf(conv, sizeof conv, "u:%s", json_string_value(u));
		message_new_id(id);
		if (message_queue(conv, id, "TEXT", text, NULL, error) == -1) {
			json_decref(ids);
			return 0;
		}
		json_array_append_new(ids, json_pack("{s:O,s:s}", "user", u, "id", id));
	}
	*result = json_pack("{s:o}", "messages", ids);
	return 0;
}

/* message.forward {id, user|group}: send a copy of a cached message. */
int
m_message_forward(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*src;
	char		 conv[CONV_MAX], id[65];
	json_t		*m, *extras;

	if (arg_string(args, "id", 1, 128, &src, error) == -1 ||
	    arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	if ((m = store_get_message(store, src)) == NULL) {
		*error = rpc_error_new(RPC_E_NOT_FOUND, "no message %s", src);
		return 0;
	}
	if (strcmp(json_string_value(json_object_get(m, "status")), "REVOKED") == 0) {
		*error = rpc_error_new(RPC_E_CONFLICT, "message %s was revoked", src);
		json_decref(m);
		return 0;
	}
	/* A copy keeps the content and payload, not the mentions or reply. */
	extras = message_stored_extras(m);
	json_object_del(extras, "mentions");
	json_object_del(extras, "replyTo");
	message_new_id(id);
	if (message_queue(conv, id, json_string_value(json_object_get(m, "type")),
	    json_string_value(json_object_get(m, "content")), extras, error) == 0)
		*result = json_pack("{s:s,s:s}", "id", id, "status", "SENDING");
	json_decref(extras);
	json_decref(m);
	return 0;
}

/*
 * message.history {user|group, limit, before | after, order}: a page from the
 * cache (works offline). Newest first unless order is "oldest".
 */
int
m_message_history(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*before, *after, *order;
	char		 conv[CONV_MAX];
	json_t		*msgs;
	int64_t		 limit;
	int		 more, start;

	if (arg_conversation(args, conv, sizeof conv, error) == -1 ||
	    arg_int(args, "limit", 1, 1000, 50, &limit, error) == -1 ||
	    arg_string(args, "before", 0, 128, &before, error) == -1 ||
	    arg_string(args, "after", 0, 128, &after, error) == -1 ||
	    arg_string(args, "order", 0, 16, &order, error) == -1)
		return 0;
	if (before != NULL && after != NULL) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "give at most one of 'before' and 'after'");
		return 0;
	}
	if (order != NULL && strcmp(order, "newest") != 0 &&
	    strcmp(order, "oldest") != 0) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'order' is \"newest\" or \"oldest\"");
		return 0;
	}
	msgs = store_history(store, conv, before, after, (int)limit,
	    order == NULL || strcmp(order, "newest") == 0, &more, &start);
	if (msgs == NULL) {
		*error = rpc_error_new(store_errno(store) == STORE_E_NOT_FOUND ?
		    RPC_E_NOT_FOUND : RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	*result = json_pack("{s:o,s:b,s:b}", "messages", msgs, "more", more,
	    "start", start);
	return 0;
}

/*
 * Turn the store's hits {message, offset, length} into message.search's
 * results {message, snippet}. Takes hits; returns a new array or NULL.
 */
static json_t *
message_snippets(json_t *hits)
{
	json_t		*out = json_array(), *h, *r;
	const char	*content;
	json_int_t	 at;
	char		*snip;
	size_t		 i;

	json_array_foreach(hits, i, h) {
		content = json_string_value(json_object_get(json_object_get(h,
		    "message"), "content"));
		at = json_integer_value(json_object_get(h, "offset"));
		snip = content == NULL || at < 0 ? strdup("") :
		    snippet_make(content, (size_t)at, (size_t)json_integer_value(
		    json_object_get(h, "length")));
		if (out == NULL || snip == NULL || (r = json_pack("{s:O,s:s}",
		    "message", json_object_get(h, "message"), "snippet", snip)) ==
		    NULL || json_array_append_new(out, r) == -1) {
			free(snip);
			json_decref(out);
			out = NULL;
			break;
		}
		free(snip);
	}
	json_decref(hits);
	return out;
}

/*
 * message.search {text, user|group?, sender?, from?, to?, limit?, cursor?}:
 * substring search of the cache, any length, Chinese included.
 */
int
m_message_search(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	struct store_filter	 flt;
	const char		*text, *cursor, *sender;
	char			 conv[CONV_MAX], *next = NULL;
	json_t			*hits, *tmp = NULL;
	int64_t			 limit;

	if (arg_string(args, "text", 1, 256, &text, error) == -1 ||
	    arg_string(args, "sender", 0, 64, &sender, error) == -1 ||
	    arg_string(args, "cursor", 0, 64, &cursor, error) == -1 ||
	    arg_int(args, "limit", 1, 500, 20, &limit, error) == -1 ||
	    arg_int(args, "from", 0, INT64_MAX, 0, &flt.from, error) == -1 ||
	    arg_int(args, "to", 0, INT64_MAX, INT64_MAX, &flt.to, error) == -1)
		return 0;
	if (strspn(text, " \t\r\n") == strlen(text)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'text' is empty");
		return 0;
	}
	flt.conv = NULL;
	if (json_object_get(args, "user") != NULL ||
	    json_object_get(args, "group") != NULL) {
		if (arg_conversation(args, conv, sizeof conv, error) == -1)
			return 0;
		flt.conv = conv;
	}
	flt.sender = sender;
	if ((hits = store_search(store, text, &flt, (int)limit, cursor, &next)) == NULL) {
		*error = rpc_error_new(store_errno(store) == STORE_E_BAD_CURSOR ?
		    RPC_E_BAD_PARAMS : RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	if ((hits = message_snippets(hits)) == NULL) {
		free(next);
		*error = rpc_error_new(RPC_E_INTERNAL, "out of memory");
		return 0;
	}
	if (next != NULL)
		tmp = json_string(next);
	*result = json_pack("{s:o,s:o}", "results", hits, "cursor",
	    tmp != NULL ? tmp : json_null());
	free(next);
	return 0;
}

/*
 * The cached message named by args.id, or NULL with *error set (a missing
 * or bad id, or no such message). *id is the id given.
 */
static json_t *
message_lookup(json_t *args, const char **id, json_t **error)
{
	json_t	*m;

	if (arg_string(args, "id", 1, 128, id, error) == -1)
		return NULL;
	if ((m = store_get_message(store, *id)) == NULL)
		*error = store_errno(store) == STORE_E_NOT_FOUND ?
		    rpc_error_new(RPC_E_NOT_FOUND, "no message %s", *id) :
		    rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
	return m;
}

/* Forget one message locally. Returns 0, or -1 with *error set. */
static int
message_forget(const char *id, json_t **error)
{
	json_t	*m;

	if ((m = store_get_message(store, id)) == NULL) {
		*error = store_errno(store) == STORE_E_NOT_FOUND ?
		    rpc_error_new(RPC_E_NOT_FOUND, "no message %s", id) :
		    rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return -1;
	}
	if (store_outbox_has(store, id)) {
		*error = rpc_error_new(RPC_E_CONFLICT,
		    "message %s is still being sent; use message.cancel", id);
		json_decref(m);
		return -1;
	}
	if (store_delete_message(store, id) == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		json_decref(m);
		return -1;
	}
	events_emit("message.deleted", json_pack("{s:s,s:O}", "id", id,
	    "conversation", json_object_get(m, "conversation")));
	json_decref(m);
	return 0;
}

/*
 * message.delete {id | ids}: forget messages locally (the server keeps
 * them). With ids (up to 1000), → {deleted: [id], failed: [{id, error}]}.
 */
int
m_message_delete(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	json_t		*ids = json_object_get(args, "ids"), *v, *done, *failed, *e;
	const char	*id;
	size_t		 i;

	if (ids == NULL) {
		if (arg_string(args, "id", 1, 128, &id, error) == 0 &&
		    message_forget(id, error) == 0)
			*result = json_object();
		return 0;
	}
	if (!json_is_array(ids) || json_array_size(ids) > 1000) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'ids' is a list of up to 1000 message ids");
		return 0;
	}
	done = json_array();
	failed = json_array();
	json_array_foreach(ids, i, v) {
		e = NULL;
		if (!json_is_string(v) || json_string_length(v) > 128)
			e = rpc_error_new(RPC_E_BAD_PARAMS, "not a message id");
		else if (message_forget(json_string_value(v), &e) == 0) {
			json_array_append(done, v);
			continue;
		}
		json_array_append_new(failed, json_pack("{s:O,s:o}", "id", v,
		    "error", e));
	}
	*result = json_pack("{s:o,s:o}", "deleted", done, "failed", failed);
	return 0;
}

/* message.resend {id}: put a FAILED message back in the outbox. */
int
m_message_resend(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*id, *status;
	json_t		*m, *extras;
	char		*text, conv[CONV_MAX];

	if ((m = message_lookup(args, &id, error)) == NULL)
		return 0;
	status = json_string_value(json_object_get(m, "status"));
	if (strcmp(status, "FAILED") != 0) {
		*error = rpc_error_new(RPC_E_CONFLICT,
		    "message %s is %s; only FAILED messages are re-sent", id, status);
		json_decref(m);
		return 0;
	}
	snprintf(conv, sizeof conv, "%s:%s", json_object_get(json_object_get(m,
	    "conversation"), "group") != NULL ? "g" : "u",
	    json_string_value(json_object_get(m, "to")));
	extras = message_stored_extras(m);
	text = message_body(conv, id, json_string_value(json_object_get(m, "type")),
	    json_string_value(json_object_get(m, "content")), extras);
	json_decref(extras);
	if (store_set_status(store, id, "SENDING", 0, 0, NULL) == -1 ||
	    outbox_add(id, "/app/chat.send", text) == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		free(text);
		json_decref(m);
		return 0;
	}
	free(text);
	events_emit("message.status", json_pack("{s:s,s:O,s:s}", "id", id,
	    "conversation", json_object_get(m, "conversation"), "status", "SENDING"));
	json_decref(m);
	*result = json_pack("{s:s,s:s}", "id", id, "status", "SENDING");
	return 0;
}

/*
 * message.cancel {id}: withdraw a message that has not gone out (queued
 * while offline) or that FAILED; it is deleted locally.
 */
int
m_message_cancel(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*id, *status;
	json_t		*m;

	if ((m = message_lookup(args, &id, error)) == NULL)
		return 0;
	status = json_string_value(json_object_get(m, "status"));
	if (strcmp(status, "FAILED") != 0 && (strcmp(status, "SENDING") != 0 ||
	    outbox_in_flight(id))) {
		*error = rpc_error_new(RPC_E_CONFLICT, strcmp(status, "SENDING") == 0 ?
		    "message %s is already on its way to the server" :
		    "message %s is %s and cannot be cancelled", id, status);
		json_decref(m);
		return 0;
	}
	if (store_outbox_del(store, id) == -1 || store_delete_message(store, id) == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		json_decref(m);
		return 0;
	}
	events_emit("message.status", json_pack("{s:s,s:O,s:s}", "id", id,
	    "conversation", json_object_get(m, "conversation"), "status", "CANCELLED"));
	json_decref(m);
	*result = json_pack("{s:s,s:s}", "id", id, "status", "CANCELLED");
	return 0;
}

/* message.get {id}: one cached message. */
int
m_message_get(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	const char	*id;
	json_t		*m;

	if ((m = message_lookup(args, &id, error)) == NULL)
		return 0;
	*result = json_pack("{s:o}", "message", m);
	return 0;
}

/* Who is waiting for an upstream answer: the client may be gone by then. */
struct waiter {
	uint64_t	 client;
	uint32_t	 msgid;
	char		 id[129];
};

static void
revoke_done(void *arg, int code, const char *message, json_t *data)
{
	struct waiter	*w = arg;
	struct client	*c = client_find(w->client);
	json_t		*m;

	if (code == 0 && json_is_object(data))
		intake_message(data);
	/* The server read the revoke after the message: never send it again. */
	if (code == 0)
		outbox_forget(w->id);
	if (c != NULL) {
		if (code != 0)
			client_reply_later(c, w->msgid, forward_error(code, message),
			    NULL);
		else if ((m = store_get_message(store, w->id)) != NULL)
			client_reply_later(c, w->msgid, NULL, json_pack("{s:o}",
			    "message", m));
		else
			client_reply_later(c, w->msgid, NULL, json_pack("{s:s,s:s}",
			    "id", w->id, "status", "REVOKED"));
	}
	free(w);
}

/* message.revoke {id}: ask the server; answered when it answers. */
int
m_message_revoke(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*id;
	struct waiter	*w;

	if (arg_string(args, "id", 1, 128, &id, error) == -1)
		return 0;
	if (!session_is_up()) {
		*error = rpc_error_new(RPC_E_OFFLINE,
		    "revoking needs the server, and the session is %s",
		    session_state_name(session_state()));
		return 0;
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		fatalx("out of memory");
	w->client = c->id;
	w->msgid = msgid;
	snprintf(w->id, sizeof w->id, "%s", id);
	if (pending_request("/app/chat.revoke", json_pack("{s:s}", "messageId", id),
	    revoke_done, w) == -1) {
		free(w);
		*error = rpc_error_new(RPC_E_OFFLINE, "the session is not online");
		return 0;
	}
	return DISPATCH_LATER;
}

/* The cached copy of a message the server sent (its "id"), or NULL. */
static json_t *
message_stored(json_t *server_msg)
{
	const char	*id = json_string_value(json_object_get(server_msg, "id"));

	return id != NULL ? store_get_message(store, id) : NULL;
}

/* message.edit answered: store the edited message as any other. */
static void
message_apply(json_t *args, json_t *data)
{
	if (json_is_object(data))
		intake_message(data);
}

/* message.fetch answered: store the page's messages. */
static void
message_apply_page(json_t *args, json_t *data)
{
	json_t	*m;
	size_t	 i;

	json_array_foreach(json_object_get(data, "messages"), i, m)
		intake_message(m);
}

/* message.edit answers the edited message as cached (a message object). */
static json_t *
message_answer(json_t *args, json_t *data)
{
	json_t	*m = message_stored(data);

	return m != NULL ? m : json_object();
}

/* message.fetch answers {messages, more} with message objects as cached. */
static json_t *
message_answer_page(json_t *args, json_t *data)
{
	json_t	*out = json_array(), *m, *stored;
	size_t	 i;

	json_array_foreach(json_object_get(data, "messages"), i, m) {
		if ((stored = message_stored(m)) != NULL)
			json_array_append_new(out, stored);
	}
	return json_pack("{s:o,s:b}", "messages", out, "more",
	    json_is_true(json_object_get(data, "more")));
}

#define CONV	"user|group:id"
static const struct method rows[] = {
	METHOD("message.send", m_message_send, CONV " text:string type?:string "
	    "payload?:object mentions?:array replyTo?:id id?:id",
	    "send a message (durably queued)"),
	METHOD("message.broadcast", m_message_broadcast, "users:array text:string",
	    "send the same text to many users"),
	METHOD("message.forward", m_message_forward, "id:id " CONV,
	    "send a copy of a cached message"),
	METHOD("message.history", m_message_history,
	    CONV " limit?:int before?:id after?:id order?:string",
	    "a page of cached history"),
	METHOD("message.get", m_message_get, "id:id", "one cached message"),
	METHOD("message.revoke", m_message_revoke, "id:id",
	    "revoke a message you sent"),
	METHOD("message.search", m_message_search, "text:string user?:id "
	    "group?:id sender?:id from?:int to?:int limit?:int cursor?:string",
	    "substring search of the cache"),
	METHOD("message.delete", m_message_delete, "id?:id ids?:array",
	    "forget messages locally"),
	METHOD("message.resend", m_message_resend, "id:id",
	    "re-send a FAILED message"),
	METHOD("message.cancel", m_message_cancel, "id:id",
	    "withdraw an unsent message"),
	FORWARD("message.edit", "/app/chat.edit", "id:id text:string "
	    "payload?:object", "edit a message you sent", message_apply, NULL,
	    message_answer),
	FORWARD("message.fetch", "/app/chat.history", CONV " before?:int "
	    "limit?:int", "fetch older messages from the server into the cache",
	    message_apply_page, NULL, message_answer_page),
};
#undef CONV
const struct method_rows message_methods = METHOD_ROWS(rows);
