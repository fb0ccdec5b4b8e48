/*
 * m_batch: the batch method, many calls in one round trip. Each call is
 * dispatched like a request of an internal client whose answers are
 * collected here; calls that touch only the cache run in the loop turn's
 * one transaction. The batch answers when its last call has.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"

#define BATCH_MAX	1000

struct batch {
	uint64_t	 client;	/* who asked */
	uint32_t	 msgid;
	json_t		*results;	/* [{result} | {error}], by call */
	size_t		 left;		/* calls not answered yet */
	int		 running;	/* still dispatching: answer in m_batch */
};

/* Record one call's answer; answer the batch when it was the last. */
static void
batch_put(void *arg, struct client *ic, uint32_t i, json_t *error,
    json_t *result)
{
	struct batch	*b = arg;
	struct client	*c;

	json_array_set_new(b->results, i, error != NULL ?
	    json_pack("{s:o}", "error", error) : json_pack("{s:o}", "result",
	    result != NULL ? result : json_null()));
	if (error != NULL)
		json_decref(result);
	if (--b->left > 0 || b->running)
		return;
	if ((c = client_find(b->client)) != NULL)
		client_reply_later(c, b->msgid, NULL, json_pack("{s:o}", "results",
		    b->results));
	else
		json_decref(b->results);
	client_release(ic);
	free(b);
}

/*
 * batch {calls: [{method, params}]}: → {results: [{result} | {error}]}, in
 * the order of the calls. params is an object of named arguments.
 */
int
m_batch(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	json_t		*calls = json_object_get(args, "calls"), *call, *params;
	struct client	*ic;
	struct batch	*b;
	const char	*method;
	size_t		 i, n;

	if (c->put == batch_put) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS, "a batch cannot hold a batch");
		return 0;
	}
	if (!json_is_array(calls) || (n = json_array_size(calls)) == 0 ||
	    n > BATCH_MAX) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'calls' is a list of 1 to %d {method, params}", BATCH_MAX);
		return 0;
	}
	json_array_foreach(calls, i, call) {
		method = json_string_value(json_object_get(call, "method"));
		params = json_object_get(call, "params");
		if (method == NULL || (params != NULL && !json_is_object(params))) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS, "call %zu is not "
			    "{method: string, params: object}", i);
			return 0;
		}
	}
	if ((b = calloc(1, sizeof *b)) == NULL)
		fatalx("out of memory");
	b->client = c->id;
	b->msgid = msgid;
	b->results = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(b->results, json_null());
	b->left = n;
	b->running = 1;
	ic = client_create_internal(batch_put, b);
	json_array_foreach(calls, i, call) {
		params = json_object_get(call, "params");
		params = params != NULL ? json_pack("[O]", params) : json_array();
		dispatch(ic, (uint32_t)i, json_string_value(json_object_get(call,
		    "method")), params);
		json_decref(params);
	}
	b->running = 0;
	if (b->left > 0)
		return DISPATCH_LATER;	/* batch_put answers */
	*result = json_pack("{s:o}", "results", b->results);
	client_release(ic);
	free(b);
	return 0;
}

static const struct method rows[] = {
	METHOD("batch", m_batch, "calls:array",
	    "run many calls in one round trip: [{method, params}]"),
};
const struct method_rows batch_methods = METHOD_ROWS(rows);
