/*
 * m_session: handlers for rpc.*, session.* and events.*: introspection, the
 * connection's state, and event subscriptions.
 */
#include <string.h>

#include "daemon.h"
#include "rpc.h"

/* rpc.describe: the method names and a line about each. */
int
m_rpc_describe(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	*result = json_pack("{s:s,s:o}", "version", "0.1", "methods",
	    dispatch_methods());
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
	*result = json_pack("{s:s,s:s,s:I,s:I,s:s?,s:s,s:s}",
	    "state", session_state_name(session_state()),
	    "reason", session_reason(),
	    "since", (json_int_t)session_since(),
	    "retryAt", (json_int_t)session_retry_at(),
	    "user", self_id,
	    "upstream", cfg.upstream,
	    "appId", cfg.app_id);
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
	daemon_set_token(token);
	upstream_kick();
	*result = json_pack("{s:s}", "state", session_state_name(session_state()));
	return 0;
}

/* session.reconnect: connect now, even after the token was refused. */
int
m_session_reconnect(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	daemon_reload_token();
	upstream_kick();
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

	if (arg_int(args, "since", 0, INT64_MAX, -1, &since, error) == -1)
		return 0;
	c->subscribed = 1;
	c->cursor = since == -1 || since > head ? head : since;
	*result = json_pack("{s:I}", "seq", (json_int_t)head);
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
