/*
 * dispatch: the method table of the local RPC and the argument checks every
 * handler shares. Handlers live in m_<domain>.c; this file only routes and
 * validates, and never touches the store or the upstream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"

/*
 * A method: its handler, its parameters and a line about it. params is a
 * compact list for rpc.describe: "name:type" entries separated by spaces,
 * "?" after the name when optional, and "user|group" for the conversation
 * (exactly one of them). Types: id, string, int, bool, token.
 */
struct method {
	const char	*name;
	method_fn	*fn;
	const char	*params;
	const char	*summary;
};

#define CONV	"user|group:id"

/* Requests one client may have waiting for the server at once. */
#define DISPATCH_INFLIGHT_MAX	256

static const struct method methods[] = {
	{ "rpc.describe", m_rpc_describe, "",
	    "the protocol: methods, events, error codes" },
	{ "rpc.ping", m_rpc_ping, "", "answer at once (for latency checks)" },
	{ "client.hello", m_client_hello, "name:string",
	    "name this client (shown by client.list)" },
	{ "client.list", m_client_list, "", "the connected clients" },
	{ "session.status", m_session_status, "", "connection state and identity" },
	{ "session.reconnect", m_session_reconnect, "", "reconnect now" },
	{ "session.login", m_session_login, "token:token",
	    "use a new token and reconnect" },
	{ "session.logout", m_session_logout, "",
	    "disconnect and stay offline until login or reconnect" },
	{ "events.subscribe", m_events_subscribe, "since?:int topics?:array",
	    "receive events after seq since, of the given type prefixes" },
	{ "events.unsubscribe", m_events_unsubscribe, "", "stop receiving events" },
	{ "message.send", m_message_send, CONV " text:string type?:string "
	    "payload?:object mentions?:array replyTo?:id id?:id",
	    "send a message (durably queued)" },
	{ "message.broadcast", m_message_broadcast, "users:array text:string",
	    "send the same text to many users" },
	{ "message.forward", m_message_forward, "id:id " CONV,
	    "send a copy of a cached message" },
	{ "message.history", m_message_history,
	    CONV " limit?:int before?:id after?:id order?:string",
	    "a page of cached history" },
	{ "message.get", m_message_get, "id:id", "one cached message" },
	{ "message.revoke", m_message_revoke, "id:id", "revoke a message you sent" },
	{ "message.search", m_message_search, "text:string user?:id group?:id "
	    "sender?:id from?:int to?:int limit?:int cursor?:string",
	    "substring search of the cache" },
	{ "message.delete", m_message_delete, "id?:id ids?:array",
	    "forget messages locally" },
	{ "message.resend", m_message_resend, "id:id", "re-send a FAILED message" },
	{ "message.cancel", m_message_cancel, "id:id", "withdraw an unsent message" },
	{ "conversation.list", m_conversation_list, "limit?:int offset?:int",
	    "conversations, pinned first" },
	{ "conversation.get", m_conversation_get, CONV, "one conversation" },
	{ "conversation.read", m_conversation_read, CONV " upto?:id",
	    "mark read up to a message" },
	{ "conversation.pin", m_conversation_pin, CONV " pinned?:bool",
	    "pin or unpin" },
	{ "conversation.mute", m_conversation_mute, CONV " muted?:bool",
	    "do not disturb" },
	{ "conversation.draft", m_conversation_draft, CONV " text:string",
	    "save a draft" },
	{ "conversation.delete", m_conversation_delete, CONV,
	    "delete with its cached history" },
	{ "conversation.unread", m_conversation_unread, "", "total unread" },
	{ "conversation.clear", m_conversation_clear, CONV,
	    "forget its cached messages, keep it listed" },
	{ "conversation.readAll", m_conversation_read_all, "",
	    "mark every conversation read" },
	{ "friend.search", m_friend_search, "text:string",
	    "friends by id, remark or nickname (cache)" },
	{ "group.search", m_group_search, "text:string",
	    "my groups by id or name (cache)" },
	{ "group.member.search", m_group_member_search, "group:id text:string",
	    "a group's members by id or nickname (cache)" },
	{ "group.follow", m_group_follow, "group:id",
	    "receive a group's messages (after every connect too)" },
	{ "group.unfollow", m_group_unfollow, "group:id",
	    "stop following a group" },
	{ "group.followed", m_group_followed, "", "the groups followed" },
	{ "batch", m_batch, "calls:array",
	    "run many calls in one round trip: [{method, params}]" },
	{ "db.stats", m_db_stats, "", "cache statistics" },
	{ "db.vacuum", m_db_vacuum, "", "compact the cache" },
	{ "db.check", m_db_check, "", "check the cache's integrity" },
};

/* Expand a params spec into [{name, type, required}]. */
static json_t *
dispatch_params(const char *spec)
{
	json_t	*a = json_array();
	char	*copy = strdup(spec), *tok, *save = NULL, *colon, *bar;
	int	 required;

	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((colon = strchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		required = colon[-1] != '?';
		if (!required)
			colon[-1] = '\0';
		if ((bar = strchr(tok, '|')) != NULL) {
			/* A conversation: exactly one of the alternatives. */
			*bar = '\0';
			json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:s}",
			    "name", tok, "type", colon + 1, "required", 0,
			    "oneOf", "conversation"));
			json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:s}",
			    "name", bar + 1, "type", colon + 1, "required", 0,
			    "oneOf", "conversation"));
			continue;
		}
		json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "name", tok,
		    "type", colon + 1, "required", required));
	}
	free(copy);
	return a;
}

/* The method table as [{name, params, summary}], for rpc.describe. */
json_t *
dispatch_methods(void)
{
	json_t	*a = json_array();
	size_t	 i;

	json_t	*more, *e;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
		json_array_append_new(a, json_pack("{s:s,s:o,s:s}", "name",
		    methods[i].name, "params", dispatch_params(methods[i].params),
		    "summary", methods[i].summary));
	more = social_methods();
	json_array_foreach(more, i, e) {
		json_array_append_new(a, json_pack("{s:O,s:o,s:O}", "name",
		    json_object_get(e, "name"), "params", dispatch_params(
		    json_string_value(json_object_get(e, "params"))), "summary",
		    json_object_get(e, "summary")));
	}
	json_decref(more);
	return a;
}

/* Route one request and answer it, unless the handler answers later. */
void
dispatch(struct client *c, uint32_t msgid, const char *method, json_t *params)
{
	const struct method	*m = NULL;
	json_t			*args, *result = NULL, *error = NULL;
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(methods[i].name, method) == 0) {
			m = &methods[i];
			break;
		}
	}
	if (m == NULL && !social_has(method)) {
		client_reply(c, msgid, rpc_error_new(RPC_E_NO_METHOD,
		    "no method '%.64s' (rpc.describe lists them)", method), NULL);
		return;
	}
	/* DESIGN: params is an array holding one map of named arguments. */
	if (json_array_size(params) == 0)
		args = json_object();
	else if (json_array_size(params) == 1 &&
	    json_is_object(json_array_get(params, 0)))
		args = json_incref(json_array_get(params, 0));
	else {
		client_reply(c, msgid, rpc_error_new(RPC_E_BAD_PARAMS,
		    "params must be [] or [{named arguments}]"), NULL);
		return;
	}
	log_debug("client %llu: %s", (unsigned long long)c->id, method);
	if (c->inflight >= DISPATCH_INFLIGHT_MAX) {
		json_decref(args);
		client_reply(c, msgid, rpc_error_new(RPC_E_BUSY,
		    "%u requests already wait for the server", c->inflight), NULL);
		return;
	}
	if (m != NULL)
		r = m->fn(c, msgid, args, &result, &error);
	else
		r = social_dispatch(c, msgid, method, args, &result, &error);
	json_decref(args);
	if (r == DISPATCH_LATER) {
		c->inflight++;
		return;
	}
	if (error == NULL && result == NULL)
		result = json_object();
	client_reply(c, msgid, error, result);
}

/*
 * The local error for an upstream reply code (UPSTREAM.md); -1 means the
 * request never got an answer (disconnect or timeout).
 */
json_t *
rpc_error_upstream(int code, const char *message)
{
	enum rpc_error	 e;

	switch (code) {
	case -1: e = RPC_E_OFFLINE; break;
	case 400: e = RPC_E_BAD_PARAMS; break;
	case 401: e = RPC_E_UNAUTHORIZED; break;
	case 403: e = RPC_E_FORBIDDEN; break;
	case 404: e = RPC_E_NOT_FOUND; break;
	case 409: e = RPC_E_CONFLICT; break;
	default: e = RPC_E_UPSTREAM; break;
	}
	return rpc_error_new(e, "%s", message);
}

/* Whether s is a user, group or app id: 1-64 of [A-Za-z0-9_.@-]. */
int
valid_id(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 64 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.@-") == n;
}

/* Fetch a string argument. */
int
arg_string(json_t *args, const char *key, int required, size_t maxlen,
    const char **out, json_t **error)
{
	json_t	*v = json_object_get(args, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'%s' is required", key);
		return -1;
	}
	if (!json_is_string(v)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'%s' must be a string", key);
		return -1;
	}
	if (json_string_length(v) > maxlen) {
		*error = rpc_error_new(RPC_E_TOO_LARGE,
		    "'%s' is longer than %zu bytes", key, maxlen);
		return -1;
	}
	/* Everything downstream takes C strings: a NUL would cut silently. */
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'%s' contains a NUL byte", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Fetch an integer argument within [min, max], or dflt when absent. */
int
arg_int(json_t *args, const char *key, int64_t min, int64_t max, int64_t dflt,
    int64_t *out, json_t **error)
{
	json_t	*v = json_object_get(args, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'%s' must be an integer from %lld to %lld", key,
		    (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/*
 * Read the conversation: exactly one of "user" or "group" (DESIGN), written
 * to conv as "u:ID" or "g:ID".
 */
int
arg_conversation(json_t *args, char *conv, size_t len, json_t **error)
{
	const char	*user, *group;

	if (arg_string(args, "user", 0, 64, &user, error) == -1 ||
	    arg_string(args, "group", 0, 64, &group, error) == -1)
		return -1;
	if ((user == NULL) == (group == NULL)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "give exactly one of 'user' or 'group'");
		return -1;
	}
	if (!valid_id(user ? user : group)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "ids are 1-64 characters of A-Z a-z 0-9 _ . @ -");
		return -1;
	}
	snprintf(conv, len, "%s:%s", user ? "u" : "g", user ? user : group);
	return 0;
}
