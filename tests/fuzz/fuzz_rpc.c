/*
 * fuzz_rpc: libFuzzer target for rpc_decode. Decodes arbitrary bytes message
 * by message; every decoded message must re-encode and decode back to the
 * same message, and every proper prefix of it must be RPC_MORE. Any
 * violation aborts; ASan catches overreads and oversized allocations.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "rpc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Two JSON values are equal. Not json_equal: it looks keys up by strlen and
 * so finds no object with a NUL in a key equal even to itself.
 */
static int
fuzz_json_equal(const json_t *a, const json_t *b)
{
	const json_t	*e;
	void		*it;
	size_t		 i;

	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (it = json_object_iter((json_t *)a); it != NULL;
		    it = json_object_iter_next((json_t *)a, it)) {
			e = json_object_getn(b, json_object_iter_key(it),
			    json_object_iter_key_len(it));
			if (e == NULL ||
			    !fuzz_json_equal(json_object_iter_value(it), e))
				return 0;
		}
		return 1;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++) {
			if (!fuzz_json_equal(json_array_get(a, i),
			    json_array_get(b, i)))
				return 0;
		}
		return 1;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	case JSON_INTEGER:
		return json_integer_value(a) == json_integer_value(b);
	case JSON_REAL:
		return json_real_value(a) == json_real_value(b);
	default:
		return 1;	/* true, false, null */
	}
}

/* Two optional JSON values are equal (NULL and JSON null count as nil). */
static int
fuzz_json_eq(const json_t *a, const json_t *b)
{
	if (a == NULL || json_is_null(a))
		return b == NULL || json_is_null(b);
	return b != NULL && fuzz_json_equal(a, b);
}

/* Re-encode a decoded message, decode it again and compare. */
static void
fuzz_round_trip(const struct rpc_msg *m)
{
	struct rpc_msg	 n;
	struct buf	 out;
	const char	*cause;
	size_t		 used;
	int		 r = -1;

	buf_init(&out);
	switch (m->type) {
	case RPC_REQUEST:
		r = rpc_encode_request(&out, m->msgid, m->method, m->params);
		break;
	case RPC_RESPONSE:
		r = rpc_encode_response(&out, m->msgid, m->error, m->result);
		break;
	case RPC_NOTIFY:
		r = rpc_encode_notify(&out, m->method, m->params);
		break;
	}
	if (r != 0)
		abort();		/* a decoded message must encode */
	memset(&n, 0, sizeof n);
	if (rpc_decode(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &n,
	    &used, &cause) != RPC_OK || used != buf_left(&out))
		abort();		/* our own encoding does not decode */
	if (n.type != m->type || n.has_msgid != m->has_msgid ||
	    (m->has_msgid && n.msgid != m->msgid))
		abort();
	if ((m->method == NULL) != (n.method == NULL) ||
	    (m->method != NULL && strcmp(m->method, n.method) != 0))
		abort();
	if (!fuzz_json_eq(m->params, n.params) ||
	    !fuzz_json_eq(m->error, n.error) ||
	    !fuzz_json_eq(m->result, n.result))
		abort();		/* the value changed on the way */
	rpc_msg_clear(&n);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_msg	 m;
	const char	*in = (const char *)data, *cause;
	char		*p;
	size_t		 off = 0, used, pused;
	int		 st;

	while (off < size) {
		memset(&m, 0, sizeof m);
		cause = NULL;
		used = 0;
		st = rpc_decode(in + off, size - off, RPC_MAX_MESSAGE, &m,
		    &used, &cause);
		if (st == RPC_MORE)
			break;
		if (st == RPC_BAD) {
			if (cause == NULL)
				abort();
			break;
		}
		if (st != RPC_OK && st != RPC_INVALID)
			abort();
		if (used == 0 || used > size - off)
			abort();
		if (st == RPC_INVALID && cause == NULL)
			abort();

		/* Every proper prefix of a whole object is incomplete. */
		{
			struct rpc_msg	 q;

			p = malloc(used - 1 ? used - 1 : 1);
			if (p == NULL)
				abort();
			memcpy(p, in + off, used - 1);
			memset(&q, 0, sizeof q);
			if (rpc_decode(p, used - 1, RPC_MAX_MESSAGE, &q, &pused,
			    &cause) != RPC_MORE)
				abort();
			free(p);
		}
		if (st == RPC_OK)
			fuzz_round_trip(&m);
		rpc_msg_clear(&m);
		off += used;
	}
	return 0;
}
