/*
 * test_conv: conversation keys and ids (daemon/conv.c) and the checks of a
 * handler's arguments (daemon/arg.c), with the error a client sees. Linked
 * with those two files and proto/rpc.c (the error objects) only.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "unit.h"

/* The error's code ("bad_params", ...), then drop it. */
static const char *
error_code(json_t **error)
{
	static char	 code[64];

	snprintf(code, sizeof code, "%s", *error == NULL ? "(none)" :
	    json_string_value(json_object_get(*error, "code")));
	json_decref(*error);
	*error = NULL;
	return code;
}

static void
conv_valid_id_takes_1_to_64_id_characters(void)
{
	char	 id[80];

	CHECK(conv_valid_id("bob"));
	CHECK(conv_valid_id("A-z_0.9@x"));
	CHECK(!conv_valid_id(""));
	CHECK(!conv_valid_id("bo b"));
	CHECK(!conv_valid_id("bob:1"));
	CHECK(!conv_valid_id("~r1"));
	CHECK(!conv_valid_id("b\xc3\xa9"));
	memset(id, 'a', 64);
	id[64] = '\0';
	CHECK(conv_valid_id(id));
	id[64] = 'a';
	id[65] = '\0';
	CHECK(!conv_valid_id(id));
}

static void
conv_key_round_trips_through_the_object(void)
{
	char	 key[80], back[80];
	json_t	*o;

	conv_key(key, sizeof key, 0, "bob");
	CHECK_STR(key, "u:bob");
	CHECK(!conv_is_group(key));
	CHECK_STR(conv_id(key), "bob");
	CHECK_STR(conv_upstream_field(key), "peerId");
	o = conv_object(key);
	CHECK_STR(json_string_value(json_object_get(o, "user")), "bob");
	CHECK_INT(json_object_size(o), 1);
	CHECK_INT(conv_parse(o, back, sizeof back), 0);
	CHECK_STR(back, "u:bob");
	json_decref(o);

	conv_key(key, sizeof key, 1, "team.1");
	CHECK_STR(key, "g:team.1");
	CHECK(conv_is_group(key));
	CHECK_STR(conv_id(key), "team.1");
	CHECK_STR(conv_upstream_field(key), "groupId");
	o = conv_object(key);
	CHECK_STR(json_string_value(json_object_get(o, "group")), "team.1");
	CHECK_INT(conv_parse(o, back, sizeof back), 0);
	CHECK_STR(back, "g:team.1");
	json_decref(o);
}

/* Parse an object given as JSON text; the key or "-1". */
static const char *
parse(const char *text)
{
	static char	 out[80];
	json_t		*o = json_loads(text, JSON_DECODE_ANY, NULL);

	if (conv_parse(o, out, sizeof out) == -1)
		snprintf(out, sizeof out, "-1");
	json_decref(o);
	return out;
}

static void
conv_parse_reads_local_and_server_names(void)
{
	CHECK_STR(parse("{\"user\":\"bob\"}"), "u:bob");
	CHECK_STR(parse("{\"group\":\"g1\"}"), "g:g1");
	CHECK_STR(parse("{\"peerId\":\"bob\",\"content\":\"hi\"}"), "u:bob");
	CHECK_STR(parse("{\"groupId\":\"g1\",\"from\":\"bob\"}"), "g:g1");
	/* The server's name wins over the local one of the same kind. */
	CHECK_STR(parse("{\"peerId\":\"bob\",\"user\":\"eve\"}"), "u:bob");
}

static void
conv_parse_refuses_none_both_and_bad_ids(void)
{
	CHECK_STR(parse("{}"), "-1");
	CHECK_STR(parse("[\"bob\"]"), "-1");
	CHECK_STR(parse("\"u:bob\""), "-1");
	CHECK_STR(parse("{\"user\":\"bob\",\"group\":\"g1\"}"), "-1");
	CHECK_STR(parse("{\"peerId\":\"bob\",\"groupId\":\"g1\"}"), "-1");
	CHECK_STR(parse("{\"user\":7}"), "-1");
	CHECK_STR(parse("{\"user\":\"\"}"), "-1");
	CHECK_STR(parse("{\"user\":\"b b\"}"), "-1");
	CHECK_STR(parse("{\"group\":\"../x\"}"), "-1");
	CHECK_STR(parse("{\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa\"}"), "-1");
	CHECKM(conv_parse(NULL, (char[8]){ 0 }, 8) == -1, "NULL parsed");
}

static void
arg_string_required_optional_and_typed(void)
{
	json_t		*args = json_pack("{s:s,s:i,s:n}", "text", "hello", "n", 3,
			    "none");
	json_t		*error = NULL;
	const char	*s = "x";

	CHECK_INT(arg_string(args, "text", 1, 100, &s, &error), 0);
	CHECK_STR(s, "hello");
	CHECK(error == NULL);
	/* Absent or null: fine when optional, with NULL out. */
	CHECK_INT(arg_string(args, "other", 0, 100, &s, &error), 0);
	CHECK(s == NULL);
	CHECK_INT(arg_string(args, "none", 0, 100, &s, &error), 0);
	CHECK(s == NULL);
	CHECK(error == NULL);
	CHECK_INT(arg_string(args, "other", 1, 100, &s, &error), -1);
	CHECK_STR(error_code(&error), "bad_params");
	CHECK_INT(arg_string(args, "none", 1, 100, &s, &error), -1);
	CHECK_STR(error_code(&error), "bad_params");
	CHECK_INT(arg_string(args, "n", 0, 100, &s, &error), -1);
	CHECK_STR(error_code(&error), "bad_params");
	json_decref(args);
}

static void
arg_string_refuses_nul_and_too_long(void)
{
	json_t		*args = json_object(), *err = NULL;
	const char	*s;

	json_object_set_new(args, "nul", json_stringn("a\0b", 3));
	json_object_set_new(args, "five", json_string("12345"));
	CHECK_INT(arg_string(args, "nul", 1, 100, &s, &err), -1);
	CHECK(s == NULL);
	CHECKM(err != NULL && strstr(json_string_value(json_object_get(err,
	    "message")), "NUL") != NULL, "no word of the NUL");
	CHECK_STR(error_code(&err), "bad_params");
	/* The limit is in bytes, inclusive. */
	CHECK_INT(arg_string(args, "five", 1, 5, &s, &err), 0);
	CHECK_STR(s, "12345");
	CHECK_INT(arg_string(args, "five", 1, 4, &s, &err), -1);
	CHECK_STR(error_code(&err), "too_large");
	json_decref(args);
}

static void
arg_int_range_and_default(void)
{
	json_t	*args = json_pack("{s:i,s:i,s:s,s:f,s:n}", "lo", 1, "hi", 500,
		    "str", "7", "real", 2.0, "null");
	json_t	*err = NULL;
	int64_t	 v;

	CHECK_INT(arg_int(args, "lo", 1, 500, 50, &v, &err), 0);
	CHECK_INT(v, 1);
	CHECK_INT(arg_int(args, "hi", 1, 500, 50, &v, &err), 0);
	CHECK_INT(v, 500);
	CHECK_INT(arg_int(args, "absent", 1, 500, 50, &v, &err), 0);
	CHECK_INT(v, 50);
	CHECK_INT(arg_int(args, "null", 1, 500, 50, &v, &err), 0);
	CHECK_INT(v, 50);
	CHECK(err == NULL);
	CHECK_INT(arg_int(args, "lo", 2, 500, 50, &v, &err), -1);
	CHECK_STR(error_code(&err), "bad_params");
	CHECK_INT(arg_int(args, "hi", 1, 499, 50, &v, &err), -1);
	CHECK_STR(error_code(&err), "bad_params");
	CHECK_INT(arg_int(args, "str", 1, 500, 50, &v, &err), -1);
	CHECK_STR(error_code(&err), "bad_params");
	CHECK_INT(arg_int(args, "real", 1, 500, 50, &v, &err), -1);
	CHECK_STR(error_code(&err), "bad_params");
	json_decref(args);
}

/* arg_conversation on args given as JSON text: the key or the error code. */
static const char *
conversation(const char *text)
{
	static char	 out[80];
	json_t		*args = json_loads(text, JSON_ALLOW_NUL, NULL), *err = NULL;

	if (arg_conversation(args, out, sizeof out, &err) == -1)
		snprintf(out, sizeof out, "%s", error_code(&err));
	else if (err != NULL)
		snprintf(out, sizeof out, "error set on success");
	json_decref(args);
	return out;
}

static void
arg_conversation_takes_exactly_one(void)
{
	CHECK_STR(conversation("{\"user\":\"bob\"}"), "u:bob");
	CHECK_STR(conversation("{\"group\":\"g1\",\"limit\":3}"), "g:g1");
	CHECK_STR(conversation("{\"user\":\"bob\",\"group\":\"g1\"}"),
	    "bad_params");
	CHECK_STR(conversation("{}"), "bad_params");
	CHECK_STR(conversation("{\"user\":null,\"group\":\"g1\"}"), "g:g1");
	CHECK_STR(conversation("{\"peerId\":\"bob\"}"), "bad_params");
	CHECK_STR(conversation("{\"user\":\"b:ob\"}"), "bad_params");
	CHECK_STR(conversation("{\"user\":1}"), "bad_params");
	CHECK_STR(conversation("{\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"), "too_large");
	CHECK_STR(conversation("{\"user\":\"b\\u0000ob\"}"), "bad_params");
}

static const struct unit_test tests[] = {
	UNIT_TEST(conv_valid_id_takes_1_to_64_id_characters),
	UNIT_TEST(conv_key_round_trips_through_the_object),
	UNIT_TEST(conv_parse_reads_local_and_server_names),
	UNIT_TEST(conv_parse_refuses_none_both_and_bad_ids),
	UNIT_TEST(arg_string_required_optional_and_typed),
	UNIT_TEST(arg_string_refuses_nul_and_too_long),
	UNIT_TEST(arg_int_range_and_default),
	UNIT_TEST(arg_conversation_takes_exactly_one),
};

UNIT_MAIN(tests)
