/*
 * conv: ids and conversation keys, converted in one place. A conversation
 * is "u:ID" or "g:ID" inside the daemon and the store, {"user": ID} or
 * {"group": ID} on the local socket, and peerId or groupId upstream. A leaf.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"

/* Whether s is a user, group or app id: 1-64 of [A-Za-z0-9_.@-]. */
int
conv_valid_id(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 64 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.@-") == n;
}

/* Write the key of a group's (group) or a user's conversation to out. */
void
conv_key(char *out, size_t len, int group, const char *id)
{
	snprintf(out, len, "%s:%s", group ? "g" : "u", id);
}

/* Whether a key names a group's conversation. */
int
conv_is_group(const char *key)
{
	return key[0] == 'g';
}

/* The id in a key ("u:bob" -> "bob"). */
const char *
conv_id(const char *key)
{
	return key + 2;
}

/* The local name of a conversation, {"user": ID} or {"group": ID}. */
json_t *
conv_object(const char *key)
{
	return json_pack("{s:s}", conv_is_group(key) ? "group" : "user",
	    conv_id(key));
}

/*
 * The key of a conversation named by an object: the local {user} or
 * {group}, or the server's {peerId} or {groupId}. Returns 0, or -1 if it
 * names none, both, or a bad id.
 */
int
conv_parse(json_t *o, char *out, size_t len)
{
	const char	*u, *g;

	if (!json_is_object(o))
		return -1;
	u = json_string_value(json_object_get(o, "peerId"));
	if (u == NULL)
		u = json_string_value(json_object_get(o, "user"));
	g = json_string_value(json_object_get(o, "groupId"));
	if (g == NULL)
		g = json_string_value(json_object_get(o, "group"));
	if ((u == NULL) == (g == NULL) || !conv_valid_id(u ? u : g))
		return -1;
	conv_key(out, len, g != NULL, u ? u : g);
	return 0;
}

/* The server's name of a conversation's field: "groupId" or "peerId". */
const char *
conv_upstream_field(const char *key)
{
	return conv_is_group(key) ? "groupId" : "peerId";
}
