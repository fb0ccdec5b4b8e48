/*
 * forward: the methods the server serves (rows with a destination in the
 * method table): send the call upstream with the server's argument names,
 * apply the answer to the cache (social.c), answer the client; answer from
 * the cache, or say why not, when the server cannot. Also the best-effort
 * notices that keep the account's other gateways in step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "store.h"

/* Renames from local argument names to the server's. */
static const char *const forward_renames[][2] = {
	{ "group", "groupId" }, { "user", "userId" }, { "users", "userIds" },
	{ "id", "messageId" }, { "text", "content" },
};

/* Someone waiting for a forwarded call's answer. */
struct forward_wait {
	uint64_t		 client;	/* an id: the client may be gone */
	uint32_t		 msgid;
	const struct method	*m;
	json_t			*args;
};

/* Build the upstream body: local names renamed (conversation: user -> peerId). */
json_t *
forward_args(json_t *args, int conversation)
{
	json_t		*out = json_object(), *v;
	const char	*key, *name;
	size_t		 i;

	json_object_foreach(args, key, v) {
		name = key;
		for (i = 0; i < sizeof forward_renames / sizeof forward_renames[0];
		    i++) {
			if (strcmp(key, forward_renames[i][0]) == 0)
				name = forward_renames[i][1];
		}
		if (conversation && strcmp(key, "user") == 0)
			name = "peerId";
		json_object_set(out, name, v);
	}
	return out;
}

/*
 * The local error for an upstream reply code (UPSTREAM.md); -1 means the
 * request never got an answer (disconnect or timeout).
 */
json_t *
forward_error(int code, const char *message)
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

/* The server answered a forwarded call: cache it, answer the client. */
static void
forward_done(void *arg, int code, const char *message, json_t *data)
{
	struct forward_wait	*w = arg;
	struct client		*c = client_find(w->client);

	if (code == 0 && w->m->apply != NULL)
		w->m->apply(w->args, data);
	if (c != NULL) {
		if (code == 0 && w->m->answer != NULL)
			client_reply_later(c, w->msgid, NULL, w->m->answer(w->args,
			    data));
		else if (code == 0)
			client_reply_later(c, w->msgid, NULL,
			    data != NULL ? json_incref(data) : json_object());
		else
			client_reply_later(c, w->msgid, forward_error(code,
			    message), NULL);
	}
	json_decref(w->args);
	free(w);
}

/*
 * Run a forwarded method (arguments already checked by dispatch): send it
 * upstream (DISPATCH_LATER), or answer a read from the cache when the
 * server cannot. Returns 0 or DISPATCH_LATER as a handler does.
 */
int
forward_call(const struct method *m, struct client *c, uint32_t msgid,
    json_t *args, json_t **result, json_t **error)
{
	struct forward_wait	*w;
	json_t			*body;

	/* Never wait for what the server cannot answer: the cache, or no. */
	if (!session_is_up() || !caps_serves(m->dest)) {
		if (m->cached != NULL && (*result = m->cached(args)) != NULL)
			return 0;
		if (!caps_serves(m->dest))
			*error = rpc_error_new(RPC_E_UNSUPPORTED, "%s needs the "
			    "server's '%s' extension, and this server does not "
			    "offer it (profile %s)", m->name, caps_missing(m->dest),
			    caps_profile());
		else
			*error = rpc_error_new(RPC_E_OFFLINE, "%s needs the server, "
			    "and the session is %s", m->name,
			    session_state_name(session_state()));
		return 0;
	}
	body = forward_args(args, strchr(m->params, '|') != NULL);
	if (strcmp(m->name, "group.create") == 0 &&
	    json_object_get(body, "userIds") != NULL) {
		json_object_set(body, "members", json_object_get(body, "userIds"));
		json_object_del(body, "userIds");
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		fatalx("out of memory");
	w->client = c->id;
	w->msgid = msgid;
	w->m = m;
	w->args = json_incref(args);
	if (pending_request(m->dest, body, forward_done, w) == -1) {
		json_decref(w->args);
		free(w);
		*error = rpc_error_new(RPC_E_OFFLINE, "the session is not online");
		return 0;
	}
	return DISPATCH_LATER;
}

/* A refresh in flight: where its answer goes, with which arguments. */
struct forward_refresh {
	const char	*dest;
	apply_fn	*apply;
	json_t		*args;
};

/* A refresh answered: cache it. */
static void
forward_refresh_done(void *arg, int code, const char *message, json_t *data)
{
	struct forward_refresh	*r = arg;

	if (code == 0)
		r->apply(r->args, data);
	else if (code != 404)
		log_debug("%s: %d %s", r->dest, code, message);
	json_decref(r->args);
	free(r);
}

/*
 * Ask the server again for what a forwarded read (dest) answers, and cache
 * the answer with apply; args (local names, may be NULL) is borrowed.
 * Nothing when the server cannot answer.
 */
void
forward_refresh(const char *dest, apply_fn *apply, json_t *args)
{
	struct forward_refresh	*r;

	if (!session_is_up() || !caps_serves(dest))
		return;
	if ((r = calloc(1, sizeof *r)) == NULL)
		fatalx("out of memory");
	r->dest = dest;
	r->apply = apply;
	r->args = args != NULL ? json_incref(args) : json_object();
	if (pending_request(dest, forward_args(r->args, 0),
	    forward_refresh_done, r) == -1) {
		json_decref(r->args);
		free(r);
	}
}

/* Ignore the answer to a best-effort notice. */
static void
forward_ignore(void *arg, int code, const char *message, json_t *data)
{
	if (code != 0 && code != -1)
		log_debug("server refused a notice: %d %s", code, message);
}

/* Tell the server a conversation setting changed, so our other gateways see it. */
void
forward_conversation_set(const char *conv, const char *field, json_t *value)
{
	json_t	*body;

	if (!session_is_up() || !caps_serves("/app/conversation.set"))
		return;
	body = json_pack("{s:s,s:O}", conv[0] == 'g' ? "groupId" : "peerId",
	    conv + 2, field, value);
	pending_request("/app/conversation.set", body, forward_ignore, NULL);
}

/*
 * Tell the server we read a conversation up to a message (read receipts);
 * upto NULL: up to its last message.
 */
void
forward_read(const char *conv, const char *upto)
{
	json_t		*c = NULL;
	const char	*id = upto;

	if (!session_is_up() || !caps_serves("/app/chat.read"))
		return;
	if (id == NULL) {
		c = store_conversation(store, conv);
		id = json_string_value(json_object_get(json_object_get(c,
		    "lastMessage"), "id"));
	}
	if (id != NULL)
		pending_request("/app/chat.read", json_pack("{s:s,s:s}",
		    conv[0] == 'g' ? "groupId" : "peerId", conv + 2, "messageId",
		    id), forward_ignore, NULL);
	json_decref(c);
}
