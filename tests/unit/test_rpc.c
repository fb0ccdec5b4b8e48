/*
 * test_rpc: unit tests for proto/rpc.c (MessagePack-RPC <-> jansson),
 * linked with rpc.c and buf.c only. Expected bytes are written out by hand
 * from the MessagePack spec; the decoder is fed whole, split at every byte,
 * one byte at a time, garbage, hostile lengths and non-messages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "rpc.h"
#include "unit.h"

/* A string literal and its length, embedded NULs included. */
#define S(lit)	lit, (sizeof(lit) - 1)

/* The unread bytes of a buf must equal a literal. */
#define CHECK_OUT(b, lit) \
	CHECK_MEM(buf_head(b), buf_left(b), lit, sizeof(lit) - 1)

/* Two JSON values that must be equal (NULL equals only NULL). */
#define CHECK_JSON(actual, expected) do {				\
	const json_t *unit_ja_ = (actual), *unit_je_ = (expected);	\
	if (!(unit_ja_ == NULL ? unit_je_ == NULL :			\
	    unit_je_ != NULL && json_equal(unit_ja_, unit_je_))) {	\
		char *unit_da_ = unit_ja_ ? json_dumps(unit_ja_,	\
		    JSON_ENCODE_ANY | JSON_COMPACT) : NULL;		\
		char *unit_de_ = unit_je_ ? json_dumps(unit_je_,	\
		    JSON_ENCODE_ANY | JSON_COMPACT) : NULL;		\
		unit_fail(__FILE__, __LINE__, "%s is %.200s, expected %.200s", \
		    #actual, unit_da_ ? unit_da_ : "NULL",		\
		    unit_de_ ? unit_de_ : "NULL");			\
		free(unit_da_);						\
		free(unit_de_);						\
	}								\
} while (0)

#define COMPLEX_PARAMS "[{\"user\":\"bob\",\"text\":\"\xe4\xbd\xa0\xe5\xa5\xbd " \
	"\xf0\x9f\x8c\x8f \xe4\xb8\x96\xe7\x95\x8c\",\"n\":-42,\"small\":-1," \
	"\"big\":9007199254740993,\"min\":-9223372036854775808," \
	"\"max\":9223372036854775807,\"f\":-0.25,\"g\":3.5e100,\"ok\":true," \
	"\"no\":false,\"nil\":null,\"list\":[1,[2,[3,{\"deep\":[]}]],{}]," \
	"\"obj\":{\"a\":{\"b\":{\"c\":\"d\"}}},\"empty\":\"\"},\"second\",255,256," \
	"65536,-33,-129,-32769,4294967296,0.1]"

/* Parse JSON text the test relies on; abort on a typo in the test. */
static json_t *
js(const char *text)
{
	json_error_t	 e;
	json_t		*j = json_loads(text, JSON_DECODE_ANY, &e);

	if (j == NULL) {
		fprintf(stderr, "bad test JSON: %s: %s\n", text, e.text);
		abort();
	}
	return j;
}

/* A heap copy of p[0..n) exactly n bytes long, so ASan sees any overread. */
static char *
dup_exact(const char *p, size_t n)
{
	char	*q = malloc(n ? n : 1);

	if (q == NULL)
		abort();
	memcpy(q, p, n);
	return q;
}

/* Milliseconds on a monotonic clock. */
static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Decode from an exact-size heap copy of p[0..n); m is zeroed first. */
static int
dec(const char *p, size_t n, size_t maxlen, struct rpc_msg *m, size_t *used)
{
	const char	*cause = NULL;
	char		*q = dup_exact(p, n);
	int		 st;

	memset(m, 0, sizeof *m);
	*used = 0;
	st = rpc_decode(q, n, maxlen, m, used, &cause);
	if (st == RPC_BAD || st == RPC_INVALID)
		CHECKM(cause != NULL && *cause != '\0',
		    "status %d without a cause", st);
	if (st == RPC_OK || st == RPC_INVALID)
		CHECKM(*used > 0 && *used <= n, "used %zu of %zu", *used, n);
	free(q);
	return st;
}

static void
rpc_encode_request_exact_bytes(void)
{
	struct buf	 out;
	json_t		*params = json_array();

	buf_init(&out);
	CHECK_INT(rpc_encode_request(&out, 1, "ping", params), 0);
	CHECK_OUT(&out, "\x94\x00\x01\xa4ping\x90");
	buf_reset(&out);
	CHECK_INT(rpc_encode_request(&out, 300, "m", params), 0);
	CHECK_OUT(&out, "\x94\x00\xcd\x01\x2c\xa1m\x90");
	buf_reset(&out);
	CHECK_INT(rpc_encode_request(&out, UINT32_MAX, "m", params), 0);
	CHECK_OUT(&out, "\x94\x00\xce\xff\xff\xff\xff\xa1m\x90");
	json_decref(params);
	buf_clear(&out);
}

static void
rpc_encode_response_and_notify_exact_bytes(void)
{
	struct buf	 out;
	json_t		*v;

	buf_init(&out);
	v = json_string("ok");
	CHECK_INT(rpc_encode_response(&out, 7, NULL, v), 0);
	CHECK_OUT(&out, "\x94\x01\x07\xc0\xa2ok");
	json_decref(v);

	buf_reset(&out);
	CHECK_INT(rpc_encode_response(&out, 8, NULL, NULL), 0);
	CHECK_OUT(&out, "\x94\x01\x08\xc0\xc0");

	buf_reset(&out);
	v = js("{\"code\":\"busy\"}");
	CHECK_INT(rpc_encode_response(&out, 9, v, NULL), 0);
	CHECK_OUT(&out, "\x94\x01\x09\x81\xa4" "code" "\xa4" "busy" "\xc0");
	json_decref(v);

	buf_reset(&out);
	v = js("[{\"seq\":1}]");
	CHECK_INT(rpc_encode_notify(&out, "event", v), 0);
	CHECK_OUT(&out, "\x93\x02\xa5" "event" "\x91\x81\xa3" "seq" "\x01");
	json_decref(v);
	buf_clear(&out);
}

/* Encode one JSON value and compare with the expected MessagePack. */
static void
check_value(json_t *v, const char *want, size_t wlen)
{
	struct buf	 out;

	buf_init(&out);
	CHECKM(rpc_encode_value(&out, v) == 0, "rpc_encode_value failed");
	CHECK_MEM(buf_head(&out), buf_left(&out), want, wlen);
	json_decref(v);
	buf_clear(&out);
}

static void
rpc_encode_value_exact_bytes(void)
{
	char	 s32[40];

	check_value(json_integer(0), S("\x00"));
	check_value(json_integer(127), S("\x7f"));
	check_value(json_integer(128), S("\xcc\x80"));
	check_value(json_integer(256), S("\xcd\x01\x00"));
	check_value(json_integer(65536), S("\xce\x00\x01\x00\x00"));
	check_value(json_integer(-1), S("\xff"));
	check_value(json_integer(-32), S("\xe0"));
	check_value(json_integer(-33), S("\xd0\xdf"));
	check_value(json_integer(-129), S("\xd1\xff\x7f"));
	check_value(json_integer(INT64_MIN),
	    S("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"));
	check_value(json_true(), S("\xc3"));
	check_value(json_false(), S("\xc2"));
	check_value(json_null(), S("\xc0"));
	check_value(json_real(1.5), S("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"));
	check_value(json_string(""), S("\xa0"));
	check_value(json_string("\xe4\xbd\xa0"), S("\xa3\xe4\xbd\xa0"));
	check_value(json_stringn("a\0b", 3), S("\xa3" "a\0b"));
	memset(s32, 'x', 32);
	s32[32] = '\0';
	check_value(json_string(s32), S("\xd9\x20" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	check_value(json_object(), S("\x80"));
	check_value(json_array(), S("\x90"));
	check_value(js("[1,[true,null],{\"k\":\"v\"}]"),
	    S("\x93\x01\x92\xc3\xc0\x81\xa1k\xa1v"));
}

static void
rpc_request_round_trip_with_nested_values(void)
{
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*params = js(COMPLEX_PARAMS);
	size_t		 used;

	buf_init(&out);
	CHECK_INT(rpc_encode_request(&out, 4000000000u, "message.send", params),
	    0);
	CHECK_INT(dec(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &m,
	    &used), RPC_OK);
	CHECK_INT(used, buf_left(&out));
	CHECK_INT(m.type, RPC_REQUEST);
	CHECK_INT(m.msgid, 4000000000u);
	CHECK_INT(m.has_msgid, 1);
	CHECK_STR(m.method, "message.send");
	CHECK_JSON(m.params, params);
	CHECK(m.params != NULL && json_is_array(m.params));
	CHECK(m.params == NULL || json_is_integer(json_object_get(
	    json_array_get(m.params, 0), "n")));
	CHECK(m.params == NULL || json_is_real(json_object_get(
	    json_array_get(m.params, 0), "f")));
	rpc_msg_clear(&m);
	json_decref(params);
	buf_clear(&out);
}

static void
rpc_response_round_trip_success_and_error(void)
{
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*result = js("{\"id\":\"m-1\",\"seq\":42,\"content\":"
			    "\"\xe4\xbd\xa0\xe5\xa5\xbd\",\"tags\":[1.25,null,false]}");
	json_t		*err = rpc_error_new(RPC_E_NOT_FOUND, "no message %s", "m-9");
	size_t		 used;

	buf_init(&out);
	CHECK_INT(rpc_encode_response(&out, 12, NULL, result), 0);
	CHECK_INT(dec(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &m,
	    &used), RPC_OK);
	CHECK_INT(used, buf_left(&out));
	CHECK_INT(m.type, RPC_RESPONSE);
	CHECK_INT(m.msgid, 12);
	CHECK_INT(m.has_msgid, 1);
	CHECKM(m.error == NULL || json_is_null(m.error),
	    "error of a success is not nil");
	CHECK_JSON(m.result, result);
	CHECK(m.method == NULL);
	rpc_msg_clear(&m);

	buf_reset(&out);
	CHECK_INT(rpc_encode_response(&out, 13, err, NULL), 0);
	CHECK_INT(dec(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &m,
	    &used), RPC_OK);
	CHECK_INT(m.type, RPC_RESPONSE);
	CHECK_INT(m.msgid, 13);
	CHECK_JSON(m.error, err);
	CHECKM(m.result == NULL || json_is_null(m.result),
	    "result of an error is not nil");
	rpc_msg_clear(&m);
	json_decref(result);
	json_decref(err);
	buf_clear(&out);
}

static void
rpc_response_round_trip_empty_strings(void)
{
	static const char *const results[] = {
		"\"\"", "[\"\"]", "{\"\":1}", "[\"\",\"x\"]",
	};
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*v;
	size_t		 i, used;
	int		 st;

	for (i = 0; i < sizeof results / sizeof results[0]; i++) {
		buf_init(&out);
		v = js(results[i]);
		CHECK_INT(rpc_encode_response(&out, 1, NULL, v), 0);
		st = dec(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &m,
		    &used);
		CHECKM(st == RPC_OK, "result %s: status %d", results[i], st);
		if (st == RPC_OK)
			CHECK_JSON(m.result, v);
		if (st == RPC_OK || st == RPC_INVALID)
			rpc_msg_clear(&m);
		json_decref(v);
		buf_clear(&out);
	}
	/* The same as hand-written bytes: [1, 1, nil, ""]. */
	st = dec(S("\x94\x01\x01\xc0\xa0"), RPC_MAX_MESSAGE, &m, &used);
	CHECK_INT(st, RPC_OK);
	CHECK_STR(json_string_value(m.result), "");
	if (st == RPC_OK || st == RPC_INVALID)
		rpc_msg_clear(&m);
}

static void
rpc_notify_round_trip(void)
{
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*params = js("[{\"seq\":7,\"type\":\"message\",\"message\":"
			    "{\"content\":\"\xe4\xb8\x96\xe7\x95\x8c\",\"createdAt\":"
			    "1715000000000,\"ratio\":-1.5e-7}}]");
	size_t		 used;

	buf_init(&out);
	CHECK_INT(rpc_encode_notify(&out, "event", params), 0);
	CHECK_INT(dec(buf_head(&out), buf_left(&out), RPC_MAX_MESSAGE, &m,
	    &used), RPC_OK);
	CHECK_INT(used, buf_left(&out));
	CHECK_INT(m.type, RPC_NOTIFY);
	CHECK_INT(m.has_msgid, 0);
	CHECK_STR(m.method, "event");
	CHECK_JSON(m.params, params);
	rpc_msg_clear(&m);
	json_decref(params);
	buf_clear(&out);
}

static void
rpc_decode_hand_written_messages(void)
{
	struct rpc_msg	 m;
	size_t		 used;
	json_t		*want;

	/* float 32 and 64, str8, uint64 that fits int64, bin-free. */
	CHECK_INT(dec(S("\x93\x02\xa1m\x94\xca\x3f\xc0\x00\x00"
	    "\xcb\xbf\xd0\x00\x00\x00\x00\x00\x00"
	    "\xd9\x03" "abc"
	    "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"), RPC_MAX_MESSAGE, &m,
	    &used), RPC_OK);
	CHECK_INT(used, 33);
	CHECK_INT(m.type, RPC_NOTIFY);
	want = js("[1.5,-0.25,\"abc\",4294967296]");
	CHECK_JSON(m.params, want);
	json_decref(want);
	rpc_msg_clear(&m);

	/* Largest msgid. */
	CHECK_INT(dec(S("\x94\x00\xce\xff\xff\xff\xff\xa1m\x90"),
	    RPC_MAX_MESSAGE, &m, &used), RPC_OK);
	CHECK_INT(m.msgid, UINT32_MAX);
	CHECK_INT(m.has_msgid, 1);
	rpc_msg_clear(&m);

	/* map16 and array16 headers. */
	CHECK_INT(dec(S("\x94\x00\x05\xa1m\xdc\x00\x01\xde\x00\x01\xa1k\xc3"),
	    RPC_MAX_MESSAGE, &m, &used), RPC_OK);
	want = js("[{\"k\":true}]");
	CHECK_JSON(m.params, want);
	json_decref(want);
	rpc_msg_clear(&m);
}

/* Encode a request, a response and a notification back to back. */
static void
three_messages(struct buf *out)
{
	json_t	*p1 = js("[{\"user\":\"bob\",\"text\":\"hi\"}]");
	json_t	*r = js("{\"id\":\"x\"}");
	json_t	*p3 = js("[{\"seq\":1,\"v\":[1,2,{\"w\":null}]}]");

	rpc_encode_request(out, 1, "message.send", p1);
	rpc_encode_response(out, 2, NULL, r);
	rpc_encode_notify(out, "event", p3);
	json_decref(p1);
	json_decref(r);
	json_decref(p3);
}

/* Append a description of a decoded message. */
static void
describe(struct buf *d, const struct rpc_msg *m)
{
	char	*p = m->params ? json_dumps(m->params, JSON_COMPACT) : NULL;
	char	*r = m->result ? json_dumps(m->result, JSON_COMPACT |
		    JSON_ENCODE_ANY) : NULL;

	buf_printf(d, "%d %u %d %s %s %s\n", (int)m->type, m->msgid,
	    m->has_msgid, m->method ? m->method : "-", p ? p : "-",
	    r ? r : "-");
	free(p);
	free(r);
}

/* Decode every complete message at the head of in; return the last status. */
static int
drain(struct buf *in, struct buf *d)
{
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;
	int		 st;

	for (;;) {
		memset(&m, 0, sizeof m);
		used = 0;
		st = rpc_decode(buf_head(in), buf_left(in), RPC_MAX_MESSAGE,
		    &m, &used, &cause);
		if (st != RPC_OK)
			return st;
		if (used == 0 || used > buf_left(in)) {
			CHECKM(0, "used %zu of %zu", used, buf_left(in));
			rpc_msg_clear(&m);
			return RPC_BAD;
		}
		describe(d, &m);
		rpc_msg_clear(&m);
		buf_consume(in, used);
	}
}

static const char three_desc[] =
    "0 1 1 message.send [{\"user\":\"bob\",\"text\":\"hi\"}] -\n"
    "1 2 1 - - {\"id\":\"x\"}\n"
    "2 0 0 event [{\"seq\":1,\"v\":[1,2,{\"w\":null}]}] -\n";

static void
rpc_decode_several_messages_in_one_buffer(void)
{
	struct buf	 in, d;

	buf_init(&in);
	buf_init(&d);
	three_messages(&in);
	CHECK_INT(drain(&in, &d), RPC_MORE);
	CHECK_INT(buf_left(&in), 0);
	CHECK_MEM(buf_head(&d), buf_left(&d), three_desc,
	    sizeof three_desc - 1);
	buf_clear(&in);
	buf_clear(&d);
}

static void
rpc_decode_split_at_every_byte(void)
{
	struct rpc_msg	 m;
	struct buf	 all, in, d;
	json_t		*params = js(COMPLEX_PARAMS);
	size_t		 k, used;
	int		 st, st1, st2;

	/* Every proper prefix of one message is RPC_MORE. */
	buf_init(&all);
	rpc_encode_request(&all, 77, "message.send", params);
	for (k = 0; k < buf_left(&all); k++) {
		st = dec(buf_head(&all), k, RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_MORE, "prefix %zu of %zu: status %d", k,
		    buf_left(&all), st);
		if (st == RPC_OK)
			rpc_msg_clear(&m);
	}
	json_decref(params);

	/* Three messages split in two anywhere decode the same. */
	buf_reset(&all);
	three_messages(&all);
	for (k = 0; k <= buf_left(&all); k++) {
		buf_init(&in);
		buf_init(&d);
		buf_add(&in, buf_head(&all), k);
		st1 = drain(&in, &d);
		buf_add(&in, buf_head(&all) + k, buf_left(&all) - k);
		st2 = drain(&in, &d);
		CHECKM(st1 == RPC_MORE && st2 == RPC_MORE,
		    "split at %zu: status %d then %d", k, st1, st2);
		CHECKM(buf_left(&d) == sizeof three_desc - 1 &&
		    memcmp(buf_head(&d), three_desc, buf_left(&d)) == 0,
		    "split at %zu: decoded differently", k);
		buf_clear(&in);
		buf_clear(&d);
	}
	buf_clear(&all);
}

static void
rpc_decode_one_byte_at_a_time(void)
{
	struct buf	 all, in, d;
	size_t		 k;
	int		 st;

	buf_init(&all);
	buf_init(&in);
	buf_init(&d);
	three_messages(&all);
	for (k = 0; k < buf_left(&all); k++) {
		buf_add(&in, buf_head(&all) + k, 1);
		st = drain(&in, &d);
		CHECKM(st == RPC_MORE, "after byte %zu: status %d", k, st);
	}
	CHECK_INT(buf_left(&in), 0);
	CHECK_MEM(buf_head(&d), buf_left(&d), three_desc,
	    sizeof three_desc - 1);
	buf_clear(&all);
	buf_clear(&in);
	buf_clear(&d);
}

static void
rpc_decode_garbage_is_bad(void)
{
	struct rpc_msg	 m;
	struct buf	 in;
	size_t		 used;
	const char	*cause;
	char		*p;

	CHECK_INT(dec(S("\xc1"), RPC_MAX_MESSAGE, &m, &used), RPC_BAD);
	CHECK_INT(dec(S("\xc1\x94\x00\x01\xa1m\x90"), RPC_MAX_MESSAGE, &m,
	    &used), RPC_BAD);
	/* Inside a message. */
	CHECK_INT(dec(S("\x94\x00\x01\xa1m\x91\xc1"), RPC_MAX_MESSAGE, &m,
	    &used), RPC_BAD);
	CHECK_INT(dec(S("\x94\x00\x01\xa1m\x91\xc1\x00\x00\x00"),
	    RPC_MAX_MESSAGE, &m, &used), RPC_BAD);

	/* After a good message: the good one first. */
	buf_init(&in);
	three_messages(&in);
	buf_add(&in, "\xc1", 1);
	p = dup_exact(buf_head(&in), buf_left(&in));
	memset(&m, 0, sizeof m);
	CHECK_INT(rpc_decode(p, buf_left(&in), RPC_MAX_MESSAGE, &m, &used,
	    &cause), RPC_OK);
	rpc_msg_clear(&m);
	free(p);
	buf_consume(&in, used);
	buf_consume(&in, buf_left(&in) - 1 - 0);	/* skip to the 0xc1 */
	CHECK_INT(dec(buf_head(&in), buf_left(&in), RPC_MAX_MESSAGE, &m,
	    &used), RPC_BAD);
	buf_clear(&in);
}

/* Decode a hostile input; must be MORE or BAD, within a second. */
static void
check_hostile(const char *what, const char *p, size_t n, size_t maxlen)
{
	struct rpc_msg	 m;
	size_t		 used;
	double		 t0 = now_ms(), dt;
	int		 st;

	st = dec(p, n, maxlen, &m, &used);
	dt = now_ms() - t0;
	CHECKM(st == RPC_MORE || st == RPC_BAD, "%s: status %d", what, st);
	CHECKM(dt < 1000, "%s: took %.0f ms", what, dt);
	if (st == RPC_OK || st == RPC_INVALID)
		rpc_msg_clear(&m);
}

static void
rpc_decode_huge_declared_lengths_allocate_nothing(void)
{
	check_hostile("array32", S("\xdd\xff\xff\xff\xff\x00"), RPC_MAX_MESSAGE);
	check_hostile("map32", S("\xdf\xff\xff\xff\xff\x00"), RPC_MAX_MESSAGE);
	check_hostile("str32", S("\xdb\xff\xff\xff\xff" "a"), RPC_MAX_MESSAGE);
	check_hostile("bin32", S("\xc6\xff\xff\xff\xff" "a"), RPC_MAX_MESSAGE);
	check_hostile("ext32", S("\xc9\xff\xff\xff\xff\x01" "a"),
	    RPC_MAX_MESSAGE);
	check_hostile("array16", S("\xdc\xff\xff\x00"), RPC_MAX_MESSAGE);
	check_hostile("nested array32",
	    S("\x94\x00\x01\xa1m\xdd\xff\xff\xff\xff\xc0"), RPC_MAX_MESSAGE);
	check_hostile("nested map32",
	    S("\x94\x00\x01\xa1m\x91\xdf\x7f\xff\xff\xff\xa1k"),
	    RPC_MAX_MESSAGE);
	check_hostile("nested str32",
	    S("\x94\x00\x01\xdb\x7f\xff\xff\xff" "abc"), RPC_MAX_MESSAGE);
	check_hostile("array of arrays",
	    S("\xdd\x7f\xff\xff\xff\xdd\x7f\xff\xff\xff\xdd\x7f\xff\xff\xff"),
	    RPC_MAX_MESSAGE);
}

static void
rpc_decode_incomplete_message_longer_than_maxlen_is_bad(void)
{
	struct rpc_msg	 m;
	size_t		 n = 8 + 2 * 1024 * 1024, used;
	char		*p = malloc(n);
	int		 st;

	/* [0, 1, "m", [nil x 2^31-1 ...]: more nils than maxlen allows. */
	memset(p, 0xc0, n);
	memcpy(p, "\x94\x00\x01\xa1m\xdd\x7f\xff", 8);
	memcpy(p + 8, "\xff\xff", 2);
	st = dec(p, n, 1024 * 1024, &m, &used);
	CHECKM(st == RPC_BAD, "2 MiB of a message with maxlen 1 MiB: status %d",
	    st);
	free(p);

	/* A string over maxlen, whole or in part. */
	p = malloc(3 + 200);
	memcpy(p, "\xda\x00\xc8", 3);	/* str16 of 200 bytes */
	memset(p + 3, 'a', 200);
	CHECK_INT(dec(p, 203, 100, &m, &used), RPC_BAD);
	CHECK_INT(dec(p, 150, 100, &m, &used), RPC_BAD);
	free(p);
}

static void
rpc_decode_message_over_maxlen_is_bad(void)
{
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*params;
	char		 text[1001];
	size_t		 n, used;

	memset(text, 'z', 1000);
	text[1000] = '\0';
	params = json_pack("[{s:s}]", "text", text);
	buf_init(&out);
	CHECK_INT(rpc_encode_request(&out, 5, "message.send", params), 0);
	n = buf_left(&out);
	CHECK_INT(dec(buf_head(&out), n, n, &m, &used), RPC_OK);
	CHECK_INT(used, n);
	rpc_msg_clear(&m);
	CHECK_INT(dec(buf_head(&out), n, n - 1, &m, &used), RPC_BAD);
	CHECK_INT(dec(buf_head(&out), n, 100, &m, &used), RPC_BAD);
	json_decref(params);
	buf_clear(&out);
}

static void
rpc_decode_prefix_reaching_maxlen_is_bad(void)
{
	struct rpc_msg	 m;
	struct buf	 out;
	json_t		*params = js(COMPLEX_PARAMS);
	size_t		 n, k, used;
	int		 st;

	buf_init(&out);
	rpc_encode_request(&out, 1, "message.send", params);
	n = buf_left(&out);
	/* maxlen bytes buffered and the message still incomplete: give up. */
	for (k = n / 2; k < n; k++) {
		st = dec(buf_head(&out), k, k, &m, &used);
		CHECKM(st == RPC_BAD, "prefix %zu of %zu, maxlen %zu: status %d",
		    k, n, k, st);
		if (st == RPC_OK || st == RPC_INVALID)
			rpc_msg_clear(&m);
	}
	/* One byte short of maxlen is still worth waiting for. */
	CHECK_INT(dec(buf_head(&out), n - 1, n, &m, &used), RPC_MORE);
	json_decref(params);
	buf_clear(&out);
}

/*
 * [0, 1, "m", params]: depth containers in all, nested in one another, the
 * message array outermost and an empty array innermost.
 */
static void
nested_request(struct buf *b, size_t depth, int maps)
{
	size_t	 i;

	buf_add(b, "\x94\x00\x01\xa1m", 5);
	for (i = 2; i < depth; i++) {
		if (maps && i > 2)
			buf_add(b, "\x81\xa1k", 3);	/* {"k": ...} */
		else
			buf_add(b, "\x91", 1);		/* [...] */
	}
	buf_add(b, "\x90", 1);
}

static void
rpc_decode_depth_beyond_limit_is_bad(void)
{
	struct rpc_msg	 m;
	struct buf	 b;
	size_t		 used;
	int		 maps, st;

	for (maps = 0; maps <= 1; maps++) {
		buf_init(&b);
		nested_request(&b, RPC_MAX_DEPTH, maps);
		st = dec(buf_head(&b), buf_left(&b), RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_OK, "depth %d (maps %d): status %d",
		    RPC_MAX_DEPTH, maps, st);
		if (st == RPC_OK) {
			CHECK_INT(used, buf_left(&b));
			rpc_msg_clear(&m);
		}
		buf_clear(&b);

		buf_init(&b);
		nested_request(&b, RPC_MAX_DEPTH + 1, maps);
		st = dec(buf_head(&b), buf_left(&b), RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_BAD, "depth %d (maps %d): status %d",
		    RPC_MAX_DEPTH + 1, maps, st);
		if (st == RPC_OK || st == RPC_INVALID)
			rpc_msg_clear(&m);
		buf_clear(&b);

		/* Incomplete but already too deep. */
		buf_init(&b);
		nested_request(&b, RPC_MAX_DEPTH + 5, maps);
		st = dec(buf_head(&b), buf_left(&b) - 1, RPC_MAX_MESSAGE, &m,
		    &used);
		CHECKM(st == RPC_BAD, "incomplete depth %d (maps %d): status %d",
		    RPC_MAX_DEPTH + 5, maps, st);
		buf_clear(&b);
	}
}

static void
rpc_decode_very_deep_nesting_is_bad_without_recursion(void)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	for (i = 0; i < 1000000; i++)
		buf_add(&b, "\x91", 1);
	buf_add(&b, "\x90", 1);
	check_hostile("a million nested arrays", buf_head(&b), buf_left(&b),
	    RPC_MAX_MESSAGE);
	check_hostile("a million nested arrays, incomplete", buf_head(&b),
	    buf_left(&b) - 1, RPC_MAX_MESSAGE);
	buf_clear(&b);
}

/* A valid MessagePack object that is no valid message. */
struct invalid_case {
	const char	*what;
	const char	*p;
	size_t		 len;
	int		 has_msgid;	/* -1: either */
	uint32_t	 msgid;
};

static const struct invalid_case invalid_cases[] = {
	{ "a map", S("\x81\xa1" "a" "\x01"), 0, 0 },
	{ "nil", S("\xc0"), 0, 0 },
	{ "an int", S("\x07"), 0, 0 },
	{ "a string", S("\xa3" "abc"), 0, 0 },
	{ "an empty array", S("\x90"), 0, 0 },
	{ "a request of 3", S("\x93\x00\x01\xa1m"), -1, 0 },
	{ "a request of 5", S("\x95\x00\x09\xa1m\x90\x01"), -1, 0 },
	{ "a response of 3", S("\x93\x01\x07\xc0"), -1, 0 },
	{ "a notification of 4", S("\x94\x02\xa1m\x90\xc0"), 0, 0 },
	{ "type 3", S("\x94\x03\x01\xa1m\x90"), -1, 0 },
	{ "type as a string", S("\x94\xa1" "0" "\x01\xa1m\x90"), -1, 0 },
	{ "type -1", S("\x94\xff\x01\xa1m\x90"), -1, 0 },
	{ "msgid a string", S("\x94\x00\xa1x\xa1m\x90"), 0, 0 },
	{ "msgid nil", S("\x94\x00\xc0\xa1m\x90"), 0, 0 },
	{ "msgid negative", S("\x94\x00\xff\xa1m\x90"), 0, 0 },
	{ "msgid over 32 bits",
	  S("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1m\x90"), 0, 0 },
	{ "msgid a float", S("\x94\x00\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"
	  "\xa1m\x90"), 0, 0 },
	{ "method an int", S("\x94\x00\x05\x2a\x90"), 1, 5 },
	{ "method nil", S("\x94\x00\x06\xc0\x90"), 1, 6 },
	{ "method an array", S("\x94\x00\x07\x91\xa1m\x90"), 1, 7 },
	{ "params a map", S("\x94\x00\x08\xa1m\x80"), 1, 8 },
	{ "params a string", S("\x94\x00\x09\xa1m\xa1x"), 1, 9 },
	{ "params nil", S("\x94\x00\x0a\xa1m\xc0"), 1, 10 },
	{ "notify method an int", S("\x93\x02\x05\x90"), 0, 0 },
	{ "notify params a map", S("\x93\x02\xa1m\x80"), 0, 0 },
	{ "request with msgid 2^32-1 and bad method",
	  S("\x94\x00\xce\xff\xff\xff\xff\x01\x90"), 1, UINT32_MAX },
};

/* Ext values have no JSON form: the whole object is skipped, exactly. */
static const struct invalid_case ext_cases[] = {
	{ "fixext1 in params", S("\x94\x00\x03\xa1m\x91\xd4\x01\x05"), 1, 3 },
	{ "ext8 in params", S("\x94\x00\x03\xa1m\x91\xc7\x01\x05\xaa"), 1, 3 },
	{ "ext16 in params",
	  S("\x94\x00\x03\xa1m\x91\xc8\x00\x02\x05\xaa\xbb"), 1, 3 },
	{ "ext32 in params",
	  S("\x94\x00\x03\xa1m\x91\xc9\x00\x00\x00\x01\x05\xaa"), 1, 3 },
	{ "timestamp96 in params", S("\x94\x00\x04\xa1m\x91\xc7\x0c\xff"
	  "\x00\x00\x00\x01\x00\x00\x00\x00\x65\x00\x00\x00"), 1, 4 },
	{ "ext8 in a response",
	  S("\x94\x01\x05\xc0\xc7\x00\x01"), 1, 5 },
};

/*
 * Each case must be RPC_INVALID with *used its exact length and the msgid
 * known when readable; a request after it in the buffer then decodes.
 */
static void
check_invalid(const struct invalid_case *cases, size_t n)
{
	static const char next[] = "\x94\x00\x63\xa4" "next" "\x90";
	const struct invalid_case	*c;
	struct rpc_msg			 m;
	struct buf			 b;
	size_t				 i, used;
	int				 st;

	for (i = 0; i < n; i++) {
		c = &cases[i];
		/* Alone in the buffer it is judged, not awaited. */
		st = dec(c->p, c->len, RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_INVALID, "%s alone: status %d", c->what, st);
		if (st == RPC_OK || st == RPC_INVALID)
			rpc_msg_clear(&m);

		/* With a good message after it, which decodes next. */
		buf_init(&b);
		buf_add(&b, c->p, c->len);
		buf_add(&b, next, sizeof next - 1);
		st = dec(buf_head(&b), buf_left(&b), RPC_MAX_MESSAGE, &m,
		    &used);
		CHECKM(st == RPC_INVALID, "%s: status %d", c->what, st);
		if (st == RPC_OK)
			rpc_msg_clear(&m);
		if (st != RPC_INVALID) {
			buf_clear(&b);
			continue;
		}
		CHECKM(used == c->len, "%s: used %zu, expected %zu", c->what,
		    used, c->len);
		if (c->has_msgid >= 0)
			CHECKM(m.has_msgid == c->has_msgid,
			    "%s: has_msgid %d, expected %d", c->what,
			    m.has_msgid, c->has_msgid);
		if (c->has_msgid == 1)
			CHECKM(m.msgid == c->msgid,
			    "%s: msgid %u, expected %u", c->what, m.msgid,
			    c->msgid);
		rpc_msg_clear(&m);
		if (used != c->len) {
			buf_clear(&b);
			continue;
		}
		buf_consume(&b, used);
		st = dec(buf_head(&b), buf_left(&b), RPC_MAX_MESSAGE, &m,
		    &used);
		CHECKM(st == RPC_OK && m.msgid == 99 && m.method != NULL &&
		    strcmp(m.method, "next") == 0,
		    "%s: the message after it: status %d", c->what, st);
		if (st == RPC_OK)
			rpc_msg_clear(&m);
		buf_clear(&b);
	}
}

static void
rpc_decode_valid_msgpack_invalid_message(void)
{
	check_invalid(invalid_cases,
	    sizeof invalid_cases / sizeof invalid_cases[0]);
}

static void
rpc_decode_ext_values_are_invalid_with_exact_length(void)
{
	check_invalid(ext_cases, sizeof ext_cases / sizeof ext_cases[0]);
}

static void
rpc_decode_invalid_prefix_is_more(void)
{
	struct rpc_msg	 m;
	size_t		 k, used;
	int		 st;

	/* An invalid message is only judged once it is complete. */
	for (k = 0; k < 5; k++) {
		st = dec("\x94\x00\x08\xa1m\x80", k, RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_MORE, "prefix %zu: status %d", k, st);
		if (st == RPC_OK || st == RPC_INVALID)
			rpc_msg_clear(&m);
	}
}

static void
rpc_decode_non_json_values_are_not_ok_with_holes(void)
{
	static const struct {
		const char	*what;
		const char	*p;
		size_t		 len;
	} cases[] = {
		{ "int map key", S("\x94\x00\x03\xa1m\x91\x81\x01\x02") },
		{ "invalid UTF-8", S("\x94\x00\x03\xa1m\x91\xa2\xff\xfe") },
		{ "NaN", S("\x94\x00\x03\xa1m\x91\xcb\x7f\xf8\x00\x00\x00\x00"
		    "\x00\x00") },
		{ "infinity", S("\x94\x00\x03\xa1m\x91\xca\x7f\x80\x00\x00") },
		{ "bin", S("\x94\x00\x03\xa1m\x91\xc4\x02\x01\x02") },
		{ "ext", S("\x94\x00\x03\xa1m\x91\xd4\x01\x02") },
		{ "uint64 over int64",
		  S("\x94\x00\x03\xa1m\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff") },
		{ "method with NUL", S("\x94\x00\x03\xa3m\0x\x90") },
	};
	struct rpc_msg	 m;
	size_t		 i, used;
	int		 st;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st = dec(cases[i].p, cases[i].len, RPC_MAX_MESSAGE, &m, &used);
		CHECKM(st == RPC_OK || st == RPC_INVALID, "%s: status %d",
		    cases[i].what, st);
		CHECKM(used == cases[i].len || st == RPC_MORE,
		    "%s: used %zu of %zu", cases[i].what, used, cases[i].len);
		if (st == RPC_OK) {
			/* If accepted, every value must be there. */
			json_t *v = json_array_get(m.params, 0);

			CHECKM(v != NULL, "%s: a hole in params", cases[i].what);
			CHECKM(m.method != NULL &&
			    strlen(m.method) == (i == 7 ? 3 : 1),
			    "%s: method %s", cases[i].what,
			    m.method ? m.method : "NULL");
			rpc_msg_clear(&m);
		} else if (st == RPC_INVALID) {
			CHECKM(m.has_msgid == 1 && m.msgid == 3,
			    "%s: msgid lost", cases[i].what);
			rpc_msg_clear(&m);
		}
	}
}

static void
rpc_encode_value_keeps_object_keys_with_nul(void)
{
	struct buf	 out;
	json_t		*o = json_object();

	buf_init(&out);
	json_object_setn_new(o, "a\0b", 3, json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	CHECK_INT(rpc_encode_value(&out, o), 0);
	/* Two distinct keys, not "a" twice. */
	CHECK_OUT(&out, "\x82\xa3" "a\0b" "\x01\xa1" "a" "\x02");
	json_decref(o);
	buf_clear(&out);
}

static void
rpc_error_name_of_every_code(void)
{
	CHECK_STR(rpc_error_name(RPC_E_INVALID_REQUEST), "invalid_request");
	CHECK_STR(rpc_error_name(RPC_E_NO_METHOD), "no_such_method");
	CHECK_STR(rpc_error_name(RPC_E_BAD_PARAMS), "bad_params");
	CHECK_STR(rpc_error_name(RPC_E_NOT_FOUND), "not_found");
	CHECK_STR(rpc_error_name(RPC_E_FORBIDDEN), "forbidden");
	CHECK_STR(rpc_error_name(RPC_E_CONFLICT), "conflict");
	CHECK_STR(rpc_error_name(RPC_E_UPSTREAM), "upstream");
	CHECK_STR(rpc_error_name(RPC_E_OFFLINE), "offline");
	CHECK_STR(rpc_error_name(RPC_E_TOO_LARGE), "too_large");
	CHECK_STR(rpc_error_name(RPC_E_BUSY), "busy");
	CHECK_STR(rpc_error_name(RPC_E_INTERNAL), "internal");
	CHECK_STR(rpc_error_name(RPC_E_UNAUTHORIZED), "unauthorized");
	CHECK_STR(rpc_error_name(RPC_E_UNSUPPORTED), "unsupported");
	CHECK_STR(rpc_error_name((enum rpc_error)0), "internal");
	CHECK_STR(rpc_error_name((enum rpc_error)999), "internal");
	CHECK_STR(rpc_error_name((enum rpc_error)-1), "internal");
}

static void
rpc_error_new_builds_code_and_message(void)
{
	json_t	*e, *want;

	e = rpc_error_new(RPC_E_BAD_PARAMS, "missing %s (arg %d)", "user", 1);
	want = js("{\"code\":\"bad_params\",\"message\":\"missing user (arg 1)\"}");
	CHECK_JSON(e, want);
	json_decref(e);
	json_decref(want);

	e = rpc_error_new(RPC_E_OFFLINE, "%s", "\xe7\xa6\xbb\xe7\xba\xbf");
	want = js("{\"code\":\"offline\",\"message\":\"\xe7\xa6\xbb\xe7\xba\xbf\"}");
	CHECK_JSON(e, want);
	json_decref(e);
	json_decref(want);

	e = rpc_error_new((enum rpc_error)999, "x");
	want = js("{\"code\":\"internal\",\"message\":\"x\"}");
	CHECK_JSON(e, want);
	json_decref(e);
	json_decref(want);
}

static void
rpc_error_new_never_null_for_non_utf8_or_cut_text(void)
{
	json_t	*e;

	/* Only out-of-memory gives NULL: not bytes that are not UTF-8, */
	e = rpc_error_new(RPC_E_NO_METHOD, "no method %s", "bad\xff\xfe");
	CHECKM(e != NULL, "rpc_error_new with non-UTF-8 text gave NULL");
	CHECK_STR(json_string_value(json_object_get(e, "code")),
	    "no_such_method");
	CHECK(json_is_string(json_object_get(e, "message")));
	json_decref(e);

	/* nor a long text cut inside a UTF-8 sequence. */
	{
		char	 zh[3 * 300 + 1];
		size_t	 i;

		for (i = 0; i < 300; i++)
			memcpy(zh + 3 * i, "\xe4\xbd\xa0", 3);
		zh[3 * 300] = '\0';
		e = rpc_error_new(RPC_E_UPSTREAM, "%s", zh);
		CHECKM(e != NULL, "rpc_error_new with 900 bytes of Chinese "
		    "gave NULL");
		CHECK_STR(json_string_value(json_object_get(e, "code")),
		    "upstream");
		CHECK(json_is_string(json_object_get(e, "message")));
		json_decref(e);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(rpc_encode_request_exact_bytes),
	UNIT_TEST(rpc_encode_response_and_notify_exact_bytes),
	UNIT_TEST(rpc_encode_value_exact_bytes),
	UNIT_TEST(rpc_request_round_trip_with_nested_values),
	UNIT_TEST(rpc_response_round_trip_success_and_error),
	UNIT_TEST(rpc_response_round_trip_empty_strings),
	UNIT_TEST(rpc_notify_round_trip),
	UNIT_TEST(rpc_decode_hand_written_messages),
	UNIT_TEST(rpc_decode_several_messages_in_one_buffer),
	UNIT_TEST(rpc_decode_split_at_every_byte),
	UNIT_TEST(rpc_decode_one_byte_at_a_time),
	UNIT_TEST(rpc_decode_garbage_is_bad),
	UNIT_TEST(rpc_decode_huge_declared_lengths_allocate_nothing),
	UNIT_TEST(rpc_decode_incomplete_message_longer_than_maxlen_is_bad),
	UNIT_TEST(rpc_decode_message_over_maxlen_is_bad),
	UNIT_TEST(rpc_decode_prefix_reaching_maxlen_is_bad),
	UNIT_TEST(rpc_decode_depth_beyond_limit_is_bad),
	UNIT_TEST(rpc_decode_very_deep_nesting_is_bad_without_recursion),
	UNIT_TEST(rpc_decode_valid_msgpack_invalid_message),
	UNIT_TEST(rpc_decode_ext_values_are_invalid_with_exact_length),
	UNIT_TEST(rpc_decode_invalid_prefix_is_more),
	UNIT_TEST(rpc_decode_non_json_values_are_not_ok_with_holes),
	UNIT_TEST(rpc_encode_value_keeps_object_keys_with_nul),
	UNIT_TEST(rpc_error_name_of_every_code),
	UNIT_TEST(rpc_error_new_builds_code_and_message),
	UNIT_TEST(rpc_error_new_never_null_for_non_utf8_or_cut_text),
};

UNIT_MAIN(tests)
