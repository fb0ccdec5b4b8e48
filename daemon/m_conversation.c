/*
 * m_conversation: conversation.* handlers. Conversations and unread counts
 * live in the store, kept by the same transaction that stores each message;
 * these handlers read them and apply the user's changes (read, pin, mute,
 * draft, delete), each announced as a conversation.changed event.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"
#include "store.h"

#define CONV_MAX	80

/* Announce a conversation's new state, and the new unread total. */
static json_t *
conversation_changed(const char *conv)
{
	json_t	*c = store_conversation(store, conv);

	if (c != NULL)
		events_emit("conversation.changed", json_pack("{s:O}",
		    "conversation", c));
	events_emit("unread.changed", json_pack("{s:I}", "total",
	    (json_int_t)store_unread_total(store)));
	return c;
}

/* Answer a change: the conversation, or the store's error. */
static void
conversation_answer(int rc, const char *conv, json_t **result, json_t **error)
{
	json_t	*c;

	if (rc == -1) {
		*error = rpc_error_new(store_errno(store) == STORE_E_NOT_FOUND ?
		    RPC_E_NOT_FOUND : RPC_E_INTERNAL, "%s", store_error(store));
		return;
	}
	c = conversation_changed(conv);
	*result = c != NULL ? c : json_object();
}

/* conversation.list {limit, offset}: pinned first, then most recent. */
int
m_conversation_list(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	int64_t	 limit, offset;
	json_t	*list;
	int	 more;

	if (arg_int(args, "limit", 1, 1000, 100, &limit, error) == -1 ||
	    arg_int(args, "offset", 0, INT32_MAX, 0, &offset, error) == -1)
		return 0;
	if ((list = store_conversations(store, (int)limit, (int)offset, &more)) == NULL) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	*result = json_pack("{s:o,s:b,s:I}", "conversations", list, "more", more,
	    "unread", (json_int_t)store_unread_total(store));
	return 0;
}

/* conversation.get {user|group}. */
int
m_conversation_get(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	char	 conv[CONV_MAX];

	if (arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	if ((*result = store_conversation(store, conv)) == NULL)
		*error = store_errno(store) == STORE_E_NOT_FOUND ?
		    rpc_error_new(RPC_E_NOT_FOUND, "no such conversation") :
		    rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
	return 0;
}

/* conversation.read {user|group, upto?}: mark read up to a message, or all. */
int
m_conversation_read(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*upto;
	char		 conv[CONV_MAX];

	if (arg_conversation(args, conv, sizeof conv, error) == -1 ||
	    arg_string(args, "upto", 0, 128, &upto, error) == -1)
		return 0;
	conversation_answer(store_conversation_read(store, conv, upto), conv,
	    result, error);
	if (*error == NULL)
		forward_read(conv, upto);
	return 0;
}

/* Set one boolean field from args[key]. */
static int
conversation_flag(json_t *args, const char *key, json_t **result, json_t **error)
{
	char	 conv[CONV_MAX];
	json_t	*v = json_object_get(args, key);

	if (arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	if (v == NULL)
		v = json_true();
	if (!json_is_boolean(v)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "'%s' must be true or false", key);
		return 0;
	}
	conversation_answer(store_conversation_set(store, conv, key, v), conv,
	    result, error);
	if (*error == NULL)
		forward_conversation_set(conv, key, v);
	return 0;
}

/* conversation.pin {user|group, pinned = true}. */
int
m_conversation_pin(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	return conversation_flag(args, "pinned", result, error);
}

/* conversation.mute {user|group, muted = true}: do not disturb. */
int
m_conversation_mute(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	return conversation_flag(args, "muted", result, error);
}

/* conversation.draft {user|group, text}: "" clears it. */
int
m_conversation_draft(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*text;
	char		 conv[CONV_MAX];
	json_t		*v;

	if (arg_conversation(args, conv, sizeof conv, error) == -1 ||
	    arg_string(args, "text", 1, 64 * 1024, &text, error) == -1)
		return 0;
	v = json_string(text);
	conversation_answer(store_conversation_set(store, conv, "draft", v), conv,
	    result, error);
	if (*error == NULL)
		forward_conversation_set(conv, "draft", v);
	json_decref(v);
	return 0;
}

/* conversation.delete {user|group}: with its cached messages. */
int
m_conversation_delete(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	char	 conv[CONV_MAX];
	json_t	*obj;

	if (arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	if (store_conversation_delete(store, conv) == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	obj = json_pack("{s:s}", conv[0] == 'g' ? "group" : "user", conv + 2);
	events_emit("conversation.deleted", json_pack("{s:O}", "conversation", obj));
	events_emit("unread.changed", json_pack("{s:I}", "total",
	    (json_int_t)store_unread_total(store)));
	json_decref(obj);
	*result = json_object();
	return 0;
}

/* conversation.clear {user|group}: forget its cached messages, keep it listed. */
int
m_conversation_clear(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	char	 conv[CONV_MAX];

	if (arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	conversation_answer(store_conversation_clear(store, conv), conv, result,
	    error);
	return 0;
}

/* conversation.readAll {}: mark every conversation read (and tell the server). */
int
m_conversation_read_all(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	json_t	*list, *v, *o;
	char	 conv[CONV_MAX];
	size_t	 i;
	int	 more, n = 0;

	if ((list = store_conversations(store, 100000, 0, &more)) == NULL) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	json_array_foreach(list, i, v) {
		if (json_integer_value(json_object_get(v, "unread")) == 0)
			continue;
		o = json_object_get(v, "conversation");
		snprintf(conv, sizeof conv, "%s:%s", json_object_get(o, "group") ?
		    "g" : "u", json_string_value(json_object_get(o, "group") ?
		    json_object_get(o, "group") : json_object_get(o, "user")));
		if (store_conversation_read(store, conv, NULL) == -1)
			continue;
		forward_read(conv, NULL);
		n++;
	}
	json_decref(list);
	events_emit("unread.changed", json_pack("{s:I}", "total",
	    (json_int_t)store_unread_total(store)));
	*result = json_pack("{s:i}", "read", n);
	return 0;
}

/* conversation.unread {}: the total over conversations not muted. */
int
m_conversation_unread(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	*result = json_pack("{s:I}", "total", (json_int_t)store_unread_total(store));
	return 0;
}

#define CONV	"user|group:id"
static const struct method rows[] = {
	METHOD("conversation.list", m_conversation_list, "limit?:int offset?:int",
	    "conversations, pinned first"),
	METHOD("conversation.get", m_conversation_get, CONV, "one conversation"),
	METHOD("conversation.read", m_conversation_read, CONV " upto?:id",
	    "mark read up to a message"),
	METHOD("conversation.pin", m_conversation_pin, CONV " pinned?:bool",
	    "pin or unpin"),
	METHOD("conversation.mute", m_conversation_mute, CONV " muted?:bool",
	    "do not disturb"),
	METHOD("conversation.draft", m_conversation_draft, CONV " text:string",
	    "save a draft"),
	METHOD("conversation.delete", m_conversation_delete, CONV,
	    "delete with its cached history"),
	METHOD("conversation.unread", m_conversation_unread, "", "total unread"),
	METHOD("conversation.clear", m_conversation_clear, CONV,
	    "forget its cached messages, keep it listed"),
	METHOD("conversation.readAll", m_conversation_read_all, "",
	    "mark every conversation read"),
};
#undef CONV
const struct method_rows conversation_methods = METHOD_ROWS(rows);
