/*
 * arg: reading a handler's named arguments, each checked and bounded the
 * same way, with the error a client sees. Calls only conv.c and rpc.c.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"

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
	if (!conv_valid_id(user ? user : group)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "ids are 1-64 characters of A-Z a-z 0-9 _ . @ -");
		return -1;
	}
	snprintf(conv, len, "%s:%s", user ? "u" : "g", user ? user : group);
	return 0;
}
