/*
 * rpc: MessagePack-RPC framing and conversion to and from jansson values.
 * The only file that includes msgpack.h. A message's extent is found by a
 * bounded scan before msgpack-c sees it, so a declared length can never make
 * it allocate more than the bytes actually received justify.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "rpc.h"

static const char *const rpc_error_names[] = {
	[RPC_E_INVALID_REQUEST] = "invalid_request",
	[RPC_E_NO_METHOD] = "no_such_method",
	[RPC_E_BAD_PARAMS] = "bad_params",
	[RPC_E_NOT_FOUND] = "not_found",
	[RPC_E_FORBIDDEN] = "forbidden",
	[RPC_E_CONFLICT] = "conflict",
	[RPC_E_UPSTREAM] = "upstream",
	[RPC_E_OFFLINE] = "offline",
	[RPC_E_TOO_LARGE] = "too_large",
	[RPC_E_BUSY] = "busy",
	[RPC_E_INTERNAL] = "internal",
	[RPC_E_UNAUTHORIZED] = "unauthorized",
	[RPC_E_UNSUPPORTED] = "unsupported",
};

/* Return the stable wire name of an error code. */
const char *
rpc_error_name(enum rpc_error e)
{
	if ((size_t)e >= sizeof rpc_error_names / sizeof rpc_error_names[0] ||
	    rpc_error_names[e] == NULL)
		return "internal";
	return rpc_error_names[e];
}

/*
 * Make s valid UTF-8 in place: each byte of a broken or cut sequence becomes
 * '?'. Error texts quote client input, which may be anything.
 */
static void
rpc_utf8_clean(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
		}
		/* Overlong, surrogate and out-of-range forms are refused too. */
		if (i <= n || (p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0) ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

/* Build an error object; returns NULL only on out-of-memory. */
json_t *
rpc_error_new(enum rpc_error e, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	rpc_utf8_clean(text);
	return json_pack("{s:s,s:s}", "code", rpc_error_name(e), "message", text);
}

static size_t
rpc_be(const unsigned char *p, int n)
{
	size_t	 v = 0;
	int	 i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Describe the object header at p: *hdr bytes of header, *payload bytes that
 * follow it, *children nested objects. Needs p[0 .. 9) or less: *hdr is set
 * first and the function returns 1 if fewer than *hdr bytes are available.
 * Returns 0, 1 (need more), or -1 (never-used byte 0xc1).
 */
static int
rpc_scan_header(const unsigned char *p, size_t avail, size_t *hdr,
    size_t *payload, size_t *children)
{
	unsigned char	 b = p[0];
	int		 lenbytes = 0;

	*payload = *children = 0;
	*hdr = 1;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if (b >= 0x80 && b <= 0x8f) {
		*children = 2 * (size_t)(b & 0x0f);
		return 0;
	}
	if (b >= 0x90 && b <= 0x9f) {
		*children = b & 0x0f;
		return 0;
	}
	if (b >= 0xa0 && b <= 0xbf) {
		*payload = b & 0x1f;
		return 0;
	}
	switch (b) {
	case 0xc4: case 0xd9: lenbytes = 1; break;		/* bin8, str8 */
	case 0xc5: case 0xda: lenbytes = 2; break;		/* bin16, str16 */
	case 0xc6: case 0xdb: lenbytes = 4; break;		/* bin32, str32 */
	case 0xc7: *hdr = 3; break;				/* ext8 */
	case 0xc8: *hdr = 4; break;				/* ext16 */
	case 0xc9: *hdr = 6; break;				/* ext32 */
	case 0xca: *payload = 4; return 0;			/* float32 */
	case 0xcb: *payload = 8; return 0;			/* float64 */
	case 0xcc: case 0xd0: *payload = 1; return 0;
	case 0xcd: case 0xd1: *payload = 2; return 0;
	case 0xce: case 0xd2: *payload = 4; return 0;
	case 0xcf: case 0xd3: *payload = 8; return 0;
	case 0xd4: *payload = 2; return 0;			/* fixext 1..16 */
	case 0xd5: *payload = 3; return 0;
	case 0xd6: *payload = 5; return 0;
	case 0xd7: *payload = 9; return 0;
	case 0xd8: *payload = 17; return 0;
	case 0xdc: case 0xde: *hdr = 3; break;			/* array16, map16 */
	case 0xdd: case 0xdf: *hdr = 5; break;			/* array32, map32 */
	default:
		return -1;					/* 0xc1 */
	}
	if (lenbytes)
		*hdr = 1 + (size_t)lenbytes;
	if (avail < *hdr)
		return 1;
	switch (b) {
	case 0xc4: case 0xc5: case 0xc6: case 0xd9: case 0xda: case 0xdb:
		*payload = rpc_be(p + 1, lenbytes);
		break;
	/* ext: *hdr already counts the type byte. */
	case 0xc7: *payload = rpc_be(p + 1, 1); break;
	case 0xc8: *payload = rpc_be(p + 1, 2); break;
	case 0xc9: *payload = rpc_be(p + 1, 4); break;
	case 0xdc: *children = rpc_be(p + 1, 2); break;
	case 0xdd: *children = rpc_be(p + 1, 4); break;
	case 0xde: *children = 2 * rpc_be(p + 1, 2); break;
	case 0xdf: *children = 2 * rpc_be(p + 1, 4); break;
	}
	return 0;
}

/*
 * Find the length of the one MessagePack object at the start of p without
 * allocating. Returns RPC_OK with *objlen, RPC_MORE, or RPC_BAD.
 */
static int
rpc_scan(const unsigned char *p, size_t len, size_t maxlen, size_t *objlen,
    const char **cause)
{
	size_t	 left[RPC_MAX_DEPTH + 1];
	size_t	 pos = 0, hdr, payload, children, lim;
	int	 depth = 0, r;

	lim = len < maxlen ? len : maxlen;
	left[0] = 1;
	while (depth >= 0) {
		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (pos >= lim)
			goto more;
		r = rpc_scan_header(p + pos, lim - pos, &hdr, &payload, &children);
		if (r == -1) {
			*cause = "invalid MessagePack type byte";
			return RPC_BAD;
		}
		if (r == 1)
			goto more;
		if (payload > maxlen || hdr + payload > lim - pos) {
			if (payload > maxlen || pos + hdr + payload > maxlen) {
				*cause = "message too large";
				return RPC_BAD;
			}
			goto more;
		}
		pos += hdr + payload;
		if (children > 0) {
			/* Every child takes at least one byte. */
			if (children > maxlen - pos) {
				*cause = "message too large";
				return RPC_BAD;
			}
			if (depth == RPC_MAX_DEPTH) {
				*cause = "message nested too deeply";
				return RPC_BAD;
			}
			left[++depth] = children;
		}
	}
	*objlen = pos;
	return RPC_OK;
more:
	if (len >= maxlen) {
		*cause = "message too large";
		return RPC_BAD;
	}
	return RPC_MORE;
}

/* Convert a msgpack object to a new JSON value, or NULL if it has no JSON form. */
static json_t *
rpc_to_json(const msgpack_object *o)
{
	json_t		*v = NULL, *e;
	uint32_t	 i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return NULL;
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return json_real(o->via.f64);
	/* msgpack-c gives a NULL pointer for an empty string. */
	case MSGPACK_OBJECT_STR:
		return json_stringn(o->via.str.size ? o->via.str.ptr : "",
		    o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return json_stringn(o->via.bin.size ? o->via.bin.ptr : "",
		    o->via.bin.size);
	case MSGPACK_OBJECT_ARRAY:
		if ((v = json_array()) == NULL)
			return NULL;
		for (i = 0; i < o->via.array.size; i++) {
			if ((e = rpc_to_json(&o->via.array.ptr[i])) == NULL ||
			    json_array_append_new(v, e) == -1)
				goto fail;
		}
		return v;
	case MSGPACK_OBJECT_MAP:
		if ((v = json_object()) == NULL)
			return NULL;
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv	*kv = &o->via.map.ptr[i];

			if (kv->key.type != MSGPACK_OBJECT_STR ||
			    (e = rpc_to_json(&kv->val)) == NULL)
				goto fail;
			if (json_object_setn_new(v, kv->key.via.str.size ?
			    kv->key.via.str.ptr : "", kv->key.via.str.size, e) == -1)
				goto fail;
		}
		return v;
	default:
		return NULL;
	}
fail:
	json_decref(v);
	return NULL;
}

/* Read a msgpack unsigned integer that fits in 32 bits. */
static int
rpc_get_u32(const msgpack_object *o, uint32_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
		return -1;
	*v = (uint32_t)o->via.u64;
	return 0;
}

/* Check the shape of a decoded array and fill m. Returns RPC_OK or RPC_INVALID. */
static int
rpc_fill(const msgpack_object *o, struct rpc_msg *m, const char **cause)
{
	const msgpack_object	*a, *meth, *par;
	uint32_t		 n, type;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3) {
		*cause = "message is not an array of 3 or 4 elements";
		return RPC_INVALID;
	}
	a = o->via.array.ptr;
	n = o->via.array.size;
	if (rpc_get_u32(&a[0], &type) == -1 || type > RPC_NOTIFY ||
	    n != (type == RPC_NOTIFY ? 3u : 4u)) {
		*cause = "bad message type or length";
		return RPC_INVALID;
	}
	m->type = (enum rpc_type)type;
	if (type != RPC_NOTIFY) {
		if (rpc_get_u32(&a[1], &m->msgid) == -1) {
			*cause = "msgid is not a 32-bit unsigned integer";
			return RPC_INVALID;
		}
		m->has_msgid = 1;
	}
	if (type == RPC_RESPONSE) {
		m->error = rpc_to_json(&a[2]);
		m->result = rpc_to_json(&a[3]);
		if (m->error == NULL || m->result == NULL) {
			*cause = "response holds a value with no JSON form";
			return RPC_INVALID;
		}
		return RPC_OK;
	}
	meth = type == RPC_NOTIFY ? &a[1] : &a[2];
	par = meth + 1;
	if (meth->type != MSGPACK_OBJECT_STR || meth->via.str.size == 0 ||
	    meth->via.str.size > 128 ||
	    memchr(meth->via.str.ptr, '\0', meth->via.str.size) != NULL) {
		*cause = "method is not a non-empty string";
		return RPC_INVALID;
	}
	if ((m->method = strndup(meth->via.str.ptr, meth->via.str.size)) == NULL) {
		*cause = "out of memory";
		return RPC_INVALID;
	}
	if (par->type != MSGPACK_OBJECT_ARRAY) {
		*cause = "params is not an array";
		return RPC_INVALID;
	}
	if ((m->params = rpc_to_json(par)) == NULL) {
		*cause = "params hold a value with no JSON form (ext, invalid UTF-8, non-string key)";
		return RPC_INVALID;
	}
	return RPC_OK;
}

/* Decode one message; see rpc.h for the contract. */
int
rpc_decode(const char *in, size_t len, size_t maxlen, struct rpc_msg *m,
    size_t *used, const char **cause)
{
	msgpack_unpacked	 u;
	size_t			 objlen, off = 0;
	int			 r;

	memset(m, 0, sizeof *m);
	*cause = NULL;
	r = rpc_scan((const unsigned char *)in, len, maxlen, &objlen, cause);
	if (r != RPC_OK)
		return r;
	*used = objlen;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, in, objlen, &off) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_unpacked_destroy(&u);
		*cause = "undecodable MessagePack";
		return RPC_BAD;
	}
	r = rpc_fill(&u.data, m, cause);
	msgpack_unpacked_destroy(&u);
	if (r != RPC_OK) {
		int	 has = m->has_msgid, type = m->type;
		uint32_t id = m->msgid;

		rpc_msg_clear(m);
		m->has_msgid = has;
		m->type = type;
		m->msgid = id;
	}
	return r;
}

/* Decode one whole MessagePack value as JSON; see rpc.h. */
json_t *
rpc_decode_value(const char *in, size_t len)
{
	msgpack_unpacked	 u;
	const char		*cause;
	size_t			 objlen, off = 0;
	json_t			*v = NULL;

	if (rpc_scan((const unsigned char *)in, len, len, &objlen, &cause) !=
	    RPC_OK || objlen != len)
		return NULL;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, in, len, &off) == MSGPACK_UNPACK_SUCCESS)
		v = rpc_to_json(&u.data);
	msgpack_unpacked_destroy(&u);
	return v;
}

/* Release a decoded message's contents. */
void
rpc_msg_clear(struct rpc_msg *m)
{
	free(m->method);
	json_decref(m->params);
	json_decref(m->error);
	json_decref(m->result);
	memset(m, 0, sizeof *m);
}

static int
rpc_write(void *data, const char *p, size_t n)
{
	return buf_add(data, p, n);
}

static int
rpc_pack(msgpack_packer *pk, const json_t *v)
{
	const char	*key;
	json_t		*e;
	void		*it;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk);
	case JSON_TRUE:
		return msgpack_pack_true(pk);
	case JSON_FALSE:
		return msgpack_pack_false(pk);
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(v));
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(v));
	case JSON_STRING:
		if (msgpack_pack_str(pk, json_string_length(v)) != 0)
			return -1;
		return msgpack_pack_str_body(pk, json_string_value(v),
		    json_string_length(v));
	case JSON_ARRAY:
		if (msgpack_pack_array(pk, json_array_size(v)) != 0)
			return -1;
		json_array_foreach(v, i, e) {
			if (rpc_pack(pk, e) != 0)
				return -1;
		}
		return 0;
	case JSON_OBJECT:
		if (msgpack_pack_map(pk, json_object_size(v)) != 0)
			return -1;
		/* Keys may hold NUL bytes: use their stored length. */
		for (it = json_object_iter((json_t *)v); it != NULL;
		    it = json_object_iter_next((json_t *)v, it)) {
			size_t	 kl = json_object_iter_key_len(it);

			key = json_object_iter_key(it);
			if (msgpack_pack_str(pk, kl) != 0 ||
			    msgpack_pack_str_body(pk, key, kl) != 0 ||
			    rpc_pack(pk, json_object_iter_value(it)) != 0)
				return -1;
		}
		return 0;
	}
	return -1;
}

/* Pack v, or nil for NULL. */
static int
rpc_pack_opt(msgpack_packer *pk, const json_t *v)
{
	return v == NULL ? msgpack_pack_nil(pk) : rpc_pack(pk, v);
}

/* Append one value as MessagePack. */
int
rpc_encode_value(struct buf *b, const json_t *v)
{
	msgpack_packer	 pk;
	size_t		 start = b->len;

	msgpack_packer_init(&pk, b, rpc_write);
	if (rpc_pack_opt(&pk, v) != 0) {
		b->len = start;
		return -1;
	}
	return 0;
}

/* Encode the fixed-size head of a message: [type, id?, method?]. */
static int
rpc_encode_head(msgpack_packer *pk, enum rpc_type type, uint32_t msgid,
    const char *method)
{
	size_t	 ml;

	if (msgpack_pack_array(pk, type == RPC_NOTIFY ? 3 : 4) != 0 ||
	    msgpack_pack_uint8(pk, (uint8_t)type) != 0)
		return -1;
	if (type != RPC_NOTIFY && msgpack_pack_uint32(pk, msgid) != 0)
		return -1;
	if (method == NULL)
		return 0;
	ml = strlen(method);
	if (msgpack_pack_str(pk, ml) != 0 ||
	    msgpack_pack_str_body(pk, method, ml) != 0)
		return -1;
	return 0;
}

static int
rpc_encode(struct buf *b, enum rpc_type type, uint32_t msgid,
    const char *method, const json_t *x, const json_t *y)
{
	msgpack_packer	 pk;
	size_t		 start = b->len;

	msgpack_packer_init(&pk, b, rpc_write);
	if (rpc_encode_head(&pk, type, msgid, method) != 0 ||
	    rpc_pack_opt(&pk, x) != 0 ||
	    (type == RPC_RESPONSE && rpc_pack_opt(&pk, y) != 0)) {
		b->len = start;
		return -1;
	}
	return 0;
}

/* Append a request. */
int
rpc_encode_request(struct buf *b, uint32_t msgid, const char *method,
    const json_t *params)
{
	return rpc_encode(b, RPC_REQUEST, msgid, method, params, NULL);
}

/* Append a response. */
int
rpc_encode_response(struct buf *b, uint32_t msgid, const json_t *error,
    const json_t *result)
{
	return rpc_encode(b, RPC_RESPONSE, msgid, NULL, error, result);
}

/* Append a notification. */
int
rpc_encode_notify(struct buf *b, const char *method, const json_t *params)
{
	return rpc_encode(b, RPC_NOTIFY, 0, method, params, NULL);
}
