/*
 * dispatch: the one method table (each domain file's rows), the check of
 * every call's arguments against its method's specification, and routing:
 * a local handler, or forward_call for a method the server serves. Never
 * touches the store or the upstream itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"

/* Requests one client may have waiting for the server at once. */
#define DISPATCH_INFLIGHT_MAX	256
/* The longest id an argument may hold (message ids; users and groups: 64). */
#define DISPATCH_ID_MAX		128

/* The table: each domain's rows, in the order main.c added them. */
#define DISPATCH_DOMAINS	16
static const struct method_rows	*dispatch_rows[DISPATCH_DOMAINS];
static size_t			 dispatch_nrows;

/* Add a domain's rows to the table (at start, from main.c). */
void
dispatch_add(const struct method_rows *rows)
{
	if (dispatch_nrows == DISPATCH_DOMAINS)
		fatalx("too many method domains");
	dispatch_rows[dispatch_nrows++] = rows;
}

/* The method called name, or NULL. */
const struct method *
dispatch_find(const char *name)
{
	const struct method_rows	*r;
	size_t				 i, j;

	for (i = 0; i < dispatch_nrows; i++) {
		r = dispatch_rows[i];
		for (j = 0; j < r->n; j++) {
			if (strcmp(r->v[j].name, name) == 0)
				return &r->v[j];
		}
	}
	return NULL;
}

/* Whether s is an id argument: 1-128 of [A-Za-z0-9_.@-]. */
static int
dispatch_is_id(json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 n;

	if (s == NULL)
		return 0;
	n = json_string_length(v);
	return n >= 1 && n <= DISPATCH_ID_MAX && strlen(s) == n &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.@-") == n;
}

/* Whether v has the JSON type a specification's type names. */
static int
dispatch_typed(const char *type, json_t *v)
{
	if (strcmp(type, "id") == 0)
		return dispatch_is_id(v);
	if (strcmp(type, "string") == 0 || strcmp(type, "token") == 0)
		return json_is_string(v);
	if (strcmp(type, "int") == 0)
		return json_is_integer(v);
	if (strcmp(type, "bool") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	return 1;
}

/*
 * Check args against a method's specification: required arguments given,
 * each of its type, exactly one of a conversation's two. Handlers check
 * ranges and lengths. Returns 0, or -1 with *error set.
 */
static int
dispatch_check(const char *spec, json_t *args, json_t **error)
{
	char		*copy, *tok, *save = NULL, *colon, conv[80];
	const char	*type;
	json_t		*v;
	int		 rc = 0, optional;

	if ((copy = strdup(spec)) == NULL)
		fatalx("out of memory");
	for (tok = strtok_r(copy, " ", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((colon = strchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		type = colon + 1;
		if (strchr(tok, '|') != NULL) {
			rc = arg_conversation(args, conv, sizeof conv, error);
			continue;
		}
		if ((optional = colon[-1] == '?'))
			colon[-1] = '\0';
		v = json_object_get(args, tok);
		if (v == NULL || json_is_null(v)) {
			if (!optional) {
				*error = rpc_error_new(RPC_E_BAD_PARAMS,
				    "'%s' is required", tok);
				rc = -1;
			}
		} else if (strcmp(type, "id") == 0 && json_is_string(v) &&
		    json_string_length(v) > DISPATCH_ID_MAX) {
			*error = rpc_error_new(RPC_E_TOO_LARGE,
			    "'%s' is longer than %d bytes", tok, DISPATCH_ID_MAX);
			rc = -1;
		} else if (!dispatch_typed(type, v)) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS, "'%s' must be %s",
			    tok, strcmp(type, "id") == 0 ? "an id (1-128 of A-Z "
			    "a-z 0-9 _ . @ -)" : strcmp(type, "int") == 0 ?
			    "an integer" : strcmp(type, "bool") == 0 ?
			    "true or false" : strcmp(type, "array") == 0 ?
			    "an array" : strcmp(type, "object") == 0 ?
			    "an object" : "a string");
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* Expand a params spec into [{name, type, required}]. */
static json_t *
dispatch_params(const char *spec)
{
	json_t	*a = json_array();
	char	*copy = strdup(spec), *tok, *save = NULL, *colon, *bar;
	int	 required;

	if (copy == NULL)
		fatalx("out of memory");
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
	const struct method_rows	*r;
	json_t				*a = json_array();
	size_t				 i, j;

	for (i = 0; i < dispatch_nrows; i++) {
		r = dispatch_rows[i];
		for (j = 0; j < r->n; j++)
			json_array_append_new(a, json_pack("{s:s,s:o,s:s}",
			    "name", r->v[j].name, "params",
			    dispatch_params(r->v[j].params), "summary",
			    r->v[j].summary));
	}
	return a;
}

/* Route one request and answer it, unless the handler answers later. */
void
dispatch(struct client *c, uint32_t msgid, const char *method, json_t *params)
{
	const struct method	*m;
	json_t			*args, *result = NULL, *error = NULL;
	int			 r = 0;

	if ((m = dispatch_find(method)) == NULL) {
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
	if (dispatch_check(m->params, args, &error) == -1)
		r = 0;
	else if (m->fn != NULL)
		r = m->fn(c, msgid, args, &result, &error);
	else
		r = m->forward(m, c, msgid, args, &result, &error);
	json_decref(args);
	if (r == DISPATCH_LATER) {
		c->inflight++;
		return;
	}
	if (error == NULL && result == NULL)
		result = json_object();
	client_reply(c, msgid, error, result);
}
