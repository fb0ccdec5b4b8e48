/*
 * m_session: handlers for rpc.*, session.* and events.*: introspection, the
 * connection's state, and event subscriptions.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"

/* Every event type, with its fields, for rpc.describe (proto/RPC.md). */
static const char *const event_types[][2] = {
	{ "message.new", "message" },
	{ "message.updated", "message" },
	{ "message.revoked", "message" },
	{ "message.status", "id conversation status error?" },
	{ "message.deleted", "id conversation" },
	{ "conversation.changed", "conversation" },
	{ "conversation.deleted", "conversation" },
	{ "unread.changed", "total" },
	{ "session.state", "state reason retryAt" },
	{ "sync.progress", "count seq more" },
	{ "lagged", "resumeFrom (not logged: sent before a slow client is dropped)" },
	{ "shutdown", "(not logged: the daemon is stopping)" },
	/* From the server (proto/UPSTREAM.md), passed on with their fields. */
	{ "group.created", "group" },
	{ "group.updated", "group" },
	{ "group.dismissed", "groupId" },
	{ "group.member.joined", "groupId userId member?" },
	{ "group.member.left", "groupId userId" },
	{ "group.member.kicked", "groupId userId by?" },
	{ "group.member.role", "groupId member" },
	{ "group.member.muted", "groupId member" },
	{ "group.request", "groupId userId message" },
	{ "friend.request", "userId message" },
	{ "friend.added", "userId friend?" },
	{ "friend.deleted", "userId" },
	{ "friend.refused", "userId" },
	{ "friend.updated", "friend" },
	{ "blacklist.changed", "userIds blocked" },
	{ "profile.updated", "profile" },
	{ "conversation.updated", "conversation pinned muted draft" },
	{ "conversation.read", "conversation messageId readAt" },
	{ "message.read", "by messageId readAt" },
};

/* rpc.describe: the protocol version, methods, events and error codes. */
int
m_rpc_describe(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	json_t	*events = json_array(), *errors = json_array();
	size_t	 i;

	for (i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
		json_array_append_new(events, json_pack("{s:s,s:s}", "type",
		    event_types[i][0], "fields", event_types[i][1]));
	for (i = RPC_E_INVALID_REQUEST; i <= RPC_E_UNSUPPORTED; i++)
		json_array_append_new(errors, json_string(rpc_error_name(i)));
	*result = json_pack("{s:s,s:o,s:o,s:o}", "version", IMGW_PROTOCOL_VERSION,
	    "methods", dispatch_methods(), "events", events, "errors", errors);
	return 0;
}

/* client.hello {name}: name this connection for client.list and the logs. */
int
m_client_hello(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	const char	*name;

	if (arg_string(args, "name", 1, sizeof c->name - 1, &name, error) == -1)
		return 0;
	snprintf(c->name, sizeof c->name, "%s", name);
	*result = json_pack("{s:I,s:s}", "id", (json_int_t)c->id, "version",
	    IMGW_PROTOCOL_VERSION);
	return 0;
}

/* client.list {}: who is connected, subscribed, and how far behind. */
int
m_client_list(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	struct client	*k;
	json_t		*a = json_array();

	TAILQ_FOREACH(k, &clients, entry) {
		if (!k->dead)
			json_array_append_new(a, client_describe(k, events_head()));
	}
	*result = json_pack("{s:o,s:I}", "clients", a, "you", (json_int_t)c->id);
	return 0;
}

/* rpc.ping: the cheapest round trip. */
int
m_rpc_ping(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	*result = json_string("pong");
	return 0;
}

/* session.status: the connection state, who we are, where we connect. */
int
m_session_status(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	*result = json_pack("{s:s,s:s,s:I,s:I,s:s?,s:s,s:s,s:s,s:o}",
	    "state", session_state_name(session_state()),
	    "reason", session_reason(),
	    "since", (json_int_t)session_since(),
	    "retryAt", (json_int_t)session_retry_at(),
	    "user", self_id,
	    "upstream", cfg.upstream,
	    "appId", cfg.app_id,
	    "profile", caps_profile(),
	    "capabilities", caps_list());
	return 0;
}

/*
 * session.login {token}: use a new token (kept in memory only; the token
 * file, if any, is not rewritten) and reconnect now.
 */
int
m_session_login(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*token;

	if (arg_string(args, "token", 1, 4096, &token, error) == -1)
		return 0;
	if (*token == '\0' || strpbrk(token, " \t\r\n") != NULL) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "not a token");
		return 0;
	}
	config_set_token(token);
	session_login();
	upstream_kick();
	*result = json_pack("{s:s}", "state", session_state_name(session_state()));
	return 0;
}

/* session.reconnect: connect now, even after the token was refused. */
int
m_session_reconnect(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	config_reload_token();
	session_login();
	upstream_kick();
	*result = json_pack("{s:s}", "state", session_state_name(session_state()));
	return 0;
}

/*
 * session.logout: disconnect and stay offline, across restarts too, until
 * session.login or session.reconnect. Sends keep queueing in the outbox.
 */
int
m_session_logout(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	session_logout();
	*result = json_pack("{s:s}", "state", session_state_name(session_state()));
	return 0;
}

/*
 * events.subscribe {since}: events after seq since (replayed from the log),
 * then live; without since, only new events. Answers {seq} (the newest now).
 */
int
m_events_subscribe(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	int64_t	 since, head = events_head();

	json_t	*topics = json_object_get(args, "topics"), *t;
	size_t	 i;

	if (arg_int(args, "since", 0, INT64_MAX, -1, &since, error) == -1)
		return 0;
	if (topics != NULL && !json_is_null(topics)) {
		if (!json_is_array(topics) || json_array_size(topics) > 64)
			goto bad_topics;
		json_array_foreach(topics, i, t) {
			if (!json_is_string(t) || json_string_length(t) == 0 ||
			    json_string_length(t) > 64)
				goto bad_topics;
		}
		json_decref(c->topics);
		c->topics = json_deep_copy(topics);
	} else {
		json_decref(c->topics);
		c->topics = NULL;
	}
	c->subscribed = 1;
	c->cursor = since == -1 || since > head ? head : since;
	*result = json_pack("{s:I}", "seq", (json_int_t)head);
	return 0;
bad_topics:
	*error = rpc_error_new(RPC_E_BAD_PARAMS,
	    "'topics' is a list of up to 64 event type prefixes (\"message\", "
	    "\"session.state\", ...)");
	return 0;
}

/* events.unsubscribe: stop the event stream. */
int
m_events_unsubscribe(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	c->subscribed = 0;
	*result = json_object();
	return 0;
}

static const struct method rows[] = {
	METHOD("rpc.describe", m_rpc_describe, "",
	    "the protocol: methods, events, error codes"),
	METHOD("rpc.ping", m_rpc_ping, "", "answer at once (for latency checks)"),
	METHOD("client.hello", m_client_hello, "name:string",
	    "name this client (shown by client.list)"),
	METHOD("client.list", m_client_list, "", "the connected clients"),
	METHOD("session.status", m_session_status, "",
	    "connection state and identity"),
	METHOD("session.reconnect", m_session_reconnect, "", "reconnect now"),
	METHOD("session.login", m_session_login, "token:token",
	    "use a new token and reconnect"),
	METHOD("session.logout", m_session_logout, "",
	    "disconnect and stay offline until login or reconnect"),
	METHOD("events.subscribe", m_events_subscribe, "since?:int topics?:array",
	    "receive events after seq since, of the given type prefixes"),
	METHOD("events.unsubscribe", m_events_unsubscribe, "",
	    "stop receiving events"),
};
const struct method_rows session_methods = METHOD_ROWS(rows);
