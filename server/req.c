/*
 * req: one request to an /app destination: reading and checking the fields
 * of its JSON body (answering 400 with the field's name when one is wrong)
 * and answering it. Knows no destination and touches no store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "server.h"

#define REQ_MSG_MAX	256	/* a refusal's message, bytes */

/* Answer success with data (taken; NULL answers {}). */
void
req_ok(struct req *r, json_t *data)
{
	if (data == NULL && (data = json_object()) == NULL) {
		broker_reply(r->s, r->rid, 500, "out of memory", NULL);
		return;
	}
	broker_reply(r->s, r->rid, 0, "ok", data);
}

/*
 * Answer a list that rc (the store's result, -1 on error) filled: the list
 * (taking it), or 500 when it could not be made or filled.
 */
void
req_list(struct req *r, json_t *list, int rc)
{
	if (list == NULL) {
		req_fail(r, 500, "out of memory");
		return;
	}
	if (rc == -1) {
		json_decref(list);
		req_fail(r, 500, "database error");
		return;
	}
	req_ok(r, list);
}

/* Answer a refusal: code (400, 403, 404, 409, 500) and a message for people. */
void
req_fail(struct req *r, int code, const char *fmt, ...)
{
	char	 msg[REQ_MSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	broker_reply(r->s, r->rid, code, msg, NULL);
}

/* The number of characters (UTF-8 code points) of a valid UTF-8 string. */
size_t
req_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/*
 * The value of key, or NULL if absent or null; an absent required field is
 * answered with 400 and *bad set.
 */
static json_t *
req_get(struct req *r, const char *key, int flags, int *bad)
{
	json_t	*v;

	*bad = 0;
	v = json_object_get(r->body, key);
	if (v != NULL && !json_is_null(v))
		return v;
	if (flags & REQ_REQUIRED) {
		req_fail(r, 400, "%s is required", key);
		*bad = 1;
	}
	return NULL;
}

/*
 * The readers below share one contract: 1 and *out set if the field is
 * present and valid; 0 if absent (or null) and optional, *out untouched;
 * -1 if absent and required or invalid, the request then already answered
 * with 400. Strings are borrowed from the body.
 */

/* Read an id (UPSTREAM.md: 1 to 64 of [A-Za-z0-9_.@-]). */
int
req_id(struct req *r, const char *key, int flags, const char **out)
{
	json_t	*v;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_string(v) || !token_check_id(json_string_value(v))) {
		req_fail(r, 400, "%s must be 1 to 64 of [A-Za-z0-9_.@-]", key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/*
 * Read a text of at most max characters, without NUL; REQ_NAME also wants
 * it non-empty and free of control characters.
 */
int
req_text(struct req *r, const char *key, int flags, size_t max,
    const char **out)
{
	json_t		*v;
	const char	*s;
	size_t		 i;
	int		 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_string(v)) {
		req_fail(r, 400, "%s must be a string", key);
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		req_fail(r, 400, "%s must not contain NUL", key);
		return -1;
	}
	if (req_chars(s) > max) {
		req_fail(r, 400, "%s: at most %zu characters", key, max);
		return -1;
	}
	if (flags & REQ_NAME) {
		if (*s == '\0') {
			req_fail(r, 400, "%s must not be empty", key);
			return -1;
		}
		for (i = 0; s[i] != '\0'; i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				req_fail(r, 400, "%s must not contain control "
				    "characters", key);
				return -1;
			}
		}
	}
	*out = s;
	return 1;
}

/* Read an integer in [min, max]. */
int
req_int(struct req *r, const char *key, int flags, long long min,
    long long max, long long *out)
{
	json_t	*v;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		req_fail(r, 400, "%s must be an integer from %lld to %lld",
		    key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

/* Read a boolean. */
int
req_bool(struct req *r, const char *key, int flags, int *out)
{
	json_t	*v;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_boolean(v)) {
		req_fail(r, 400, "%s must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

/* Read a string that must be one of the NULL-terminated values. */
int
req_enum(struct req *r, const char *key, int flags,
    const char *const *values, const char **out)
{
	json_t	*v;
	char	 list[REQ_MSG_MAX];
	size_t	 i, len = 0;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	for (i = 0; json_is_string(v) && values[i] != NULL; i++) {
		if (strcmp(json_string_value(v), values[i]) == 0) {
			*out = values[i];
			return 1;
		}
	}
	list[0] = '\0';
	for (i = 0; values[i] != NULL && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
		    i > 0 ? " " : "", values[i]);
	req_fail(r, 400, "%s must be one of %s", key, list);
	return -1;
}

/* Read a JSON object whose compact encoding is at most max bytes. */
int
req_object(struct req *r, const char *key, int flags, size_t max,
    json_t **out)
{
	json_t	*v;
	size_t	 len;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_object(v)) {
		req_fail(r, 400, "%s must be a JSON object", key);
		return -1;
	}
	len = json_dumpb(v, NULL, 0, JSON_COMPACT);
	if (len == 0 || len > max) {
		req_fail(r, 400, "%s: at most %zu bytes of JSON", key, max);
		return -1;
	}
	*out = v;
	return 1;
}

/* Read a list of 1 to IDS_MAX ids into out (duplicates dropped). */
int
req_ids(struct req *r, const char *key, int flags, struct idlist *out)
{
	json_t	*v, *e;
	size_t	 i;
	int	 bad;

	if ((v = req_get(r, key, flags, &bad)) == NULL)
		return bad ? -1 : 0;
	if (!json_is_array(v) || json_array_size(v) == 0) {
		req_fail(r, 400, "%s must be a non-empty array of ids", key);
		return -1;
	}
	if (json_array_size(v) > IDS_MAX) {
		req_fail(r, 400, "%s: at most %d ids", key, IDS_MAX);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    !token_check_id(json_string_value(e))) {
			req_fail(r, 400, "%s[%zu] must be 1 to 64 of "
			    "[A-Za-z0-9_.@-]", key, i);
			return -1;
		}
		if (idlist_add(out, json_string_value(e)) == -1) {
			req_fail(r, 500, "out of memory");
			return -1;
		}
	}
	return 1;
}

/*
 * Read the conversation of a body: exactly one of peerId (CONV_PEER) and
 * groupId (CONV_GROUP). Returns 1 and sets *kind and *target, or -1 (400).
 */
int
req_conv(struct req *r, char *kind, const char **target)
{
	const char	*peer = NULL, *group = NULL;
	int		 p, g;

	if ((p = req_id(r, "peerId", 0, &peer)) == -1 ||
	    (g = req_id(r, "groupId", 0, &group)) == -1)
		return -1;
	if (p == g) {
		req_fail(r, 400, "exactly one of peerId and groupId is "
		    "required");
		return -1;
	}
	*kind = p ? CONV_PEER : CONV_GROUP;
	*target = p ? peer : group;
	return 1;
}

/*
 * Add a request (to join a group, or a friend request) to the JSON array
 * arg as {userId, message, createdAt}: an sstore_request_cb for the lists
 * of both. Returns 0, or 1 (stop) when memory ran out.
 */
int
req_request_row(const struct srequest *q, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:I}",
	    "userId", q->user, "message", q->message, "createdAt",
	    (json_int_t)q->created_at)) == -1;
}

/* The conversation object: {"peerId": ID} or {"groupId": ID}. */
json_t *
req_conv_json(char kind, const char *target)
{
	return json_pack("{s:s}", kind == CONV_GROUP ? "groupId" : "peerId",
	    target);
}
