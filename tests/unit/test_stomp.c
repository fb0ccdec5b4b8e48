/*
 * test_stomp: unit tests for proto/stomp.c, linked with stomp.c and buf.c
 * only. Every frame of the vendor's seed document is a case; the decoder is
 * fed whole, split at every byte, one byte at a time, and malformed input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stomp.h"
#include "unit.h"

/* A string literal and its length, embedded NULs included. */
#define S(lit)	lit, (sizeof(lit) - 1)

/* The unread bytes of a buf must equal a literal. */
#define CHECK_OUT(b, lit) \
	CHECK_MEM(buf_head(b), buf_left(b), lit, sizeof(lit) - 1)

#define TOKEN	"YWtfZGVtb19jaGF0CnVzZXJfMDAxCjE3MTUwMDAwMDA.c2lnbmF0dXJl"

#define BODY_SEND "{\"appId\":\"ak_demo_chat\",\"messageId\":\"m-0001\"," \
	"\"toId\":\"user_002\",\"chatType\":\"SINGLE\",\"msgType\":\"TEXT\"," \
	"\"content\":\"Hello\"}"				/* 118 bytes */
#define BODY_REVOKE "{\"appId\":\"ak_demo_chat\",\"messageId\":\"m-0001\"}" /* 45 */
#define BODY_SYNC "{\"appId\":\"ak_demo_chat\"}"			/* 24 */
#define BODY_MESSAGE "{\"id\":\"m-0001\",\"fromId\":\"user_002\"," \
	"\"toId\":\"user_001\",\"chatType\":\"SINGLE\",\"msgType\":\"TEXT\"," \
	"\"content\":\"Hello\",\"status\":\"SENT\",\"createdAt\":1715000000000}" /* 150 */
#define BODY_MESSAGE_ZH "{\"id\":\"m-0002\",\"fromId\":\"user_002\"," \
	"\"toId\":\"user_001\",\"chatType\":\"SINGLE\",\"msgType\":\"TEXT\"," \
	"\"content\":\"\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xef\xbc\x81\"," \
	"\"status\":\"SENT\",\"createdAt\":1715000000001}"	/* 163 bytes */

/* One frame of the seed: its fields, as written, and as we encode it. */
struct seed {
	const char		*name;
	enum stomp_command	 cmd;
	size_t			 nh;
	const char		*hdr[6][2];
	const char		*body;
	const char		*vendor;	/* as the seed document writes it */
	size_t			 vendor_len;
	const char		*wire;		/* what stomp_encode must produce */
	size_t			 wire_len;
};

static const struct seed seed_connect = {
	"CONNECT", STOMP_CONNECT, 4,
	{ { "accept-version", "1.2" }, { "heart-beat", "0,0" },
	  { "host", "dev.xuqinmin.com" }, { "Authorization", "Bearer " TOKEN } },
	"",
	S("CONNECT\naccept-version:1.2\nheart-beat:0,0\nhost:dev.xuqinmin.com\n"
	  "Authorization:Bearer " TOKEN "\n\n\0"),
	S("CONNECT\naccept-version:1.2\nheart-beat:0,0\nhost:dev.xuqinmin.com\n"
	  "Authorization:Bearer " TOKEN "\n\n\0"),
};

static const struct seed seed_connected = {
	"CONNECTED", STOMP_CONNECTED, 1,
	{ { "version", "1.2" } },
	"",
	S("CONNECTED\nversion:1.2\n\n\0"),
	S("CONNECTED\nversion:1.2\n\n\0"),
};

static const struct seed seed_subscribe_queue = {
	"SUBSCRIBE queue", STOMP_SUBSCRIBE, 2,
	{ { "id", "sub-1" }, { "destination", "/user/queue/messages" } },
	"",
	S("SUBSCRIBE\nid:sub-1\ndestination:/user/queue/messages\n\n\0"),
	S("SUBSCRIBE\nid:sub-1\ndestination:/user/queue/messages\n\n\0"),
};

static const struct seed seed_subscribe_group = {
	"SUBSCRIBE group", STOMP_SUBSCRIBE, 2,
	{ { "id", "sub-2" }, { "destination", "/topic/group/grp_42" } },
	"",
	S("SUBSCRIBE\nid:sub-2\ndestination:/topic/group/grp_42\n\n\0"),
	S("SUBSCRIBE\nid:sub-2\ndestination:/topic/group/grp_42\n\n\0"),
};

static const struct seed seed_send_chat = {
	"SEND chat.send", STOMP_SEND, 2,
	{ { "destination", "/app/chat.send" },
	  { "content-type", "application/json" } },
	BODY_SEND,
	S("SEND\ndestination:/app/chat.send\ncontent-type:application/json\n\n"
	  BODY_SEND "\0"),
	S("SEND\ndestination:/app/chat.send\ncontent-type:application/json\n"
	  "content-length:118\n\n" BODY_SEND "\0"),
};

static const struct seed seed_send_revoke = {
	"SEND chat.revoke", STOMP_SEND, 2,
	{ { "destination", "/app/chat.revoke" },
	  { "content-type", "application/json" } },
	BODY_REVOKE,
	S("SEND\ndestination:/app/chat.revoke\ncontent-type:application/json\n\n"
	  BODY_REVOKE "\0"),
	S("SEND\ndestination:/app/chat.revoke\ncontent-type:application/json\n"
	  "content-length:45\n\n" BODY_REVOKE "\0"),
};

static const struct seed seed_send_sync = {
	"SEND chat.sync", STOMP_SEND, 2,
	{ { "destination", "/app/chat.sync" },
	  { "content-type", "application/json" } },
	BODY_SYNC,
	S("SEND\ndestination:/app/chat.sync\ncontent-type:application/json\n\n"
	  BODY_SYNC "\0"),
	S("SEND\ndestination:/app/chat.sync\ncontent-type:application/json\n"
	  "content-length:24\n\n" BODY_SYNC "\0"),
};

static const struct seed seed_message = {
	"MESSAGE", STOMP_MESSAGE, 2,
	{ { "destination", "/user/queue/messages" }, { "message-id", "m-0001" } },
	BODY_MESSAGE,
	S("MESSAGE\ndestination:/user/queue/messages\nmessage-id:m-0001\n\n"
	  BODY_MESSAGE "\0"),
	S("MESSAGE\ndestination:/user/queue/messages\nmessage-id:m-0001\n"
	  "content-length:150\n\n" BODY_MESSAGE "\0"),
};

static const struct seed seed_message_zh = {
	"MESSAGE zh", STOMP_MESSAGE, 3,
	{ { "destination", "/user/queue/messages" }, { "message-id", "m-0002" },
	  { "content-type", "application/json" } },
	BODY_MESSAGE_ZH,
	S("MESSAGE\ndestination:/user/queue/messages\nmessage-id:m-0002\n"
	  "content-type:application/json\n\n" BODY_MESSAGE_ZH "\0"),
	S("MESSAGE\ndestination:/user/queue/messages\nmessage-id:m-0002\n"
	  "content-type:application/json\ncontent-length:163\n\n"
	  BODY_MESSAGE_ZH "\0"),
};

static const struct seed seed_error = {
	"ERROR", STOMP_ERROR, 1,
	{ { "message", "Unauthorized" } },
	"Unauthorized",
	S("ERROR\nmessage:Unauthorized\n\nUnauthorized\0"),
	S("ERROR\nmessage:Unauthorized\ncontent-length:12\n\nUnauthorized\0"),
};

static const struct seed *const seeds[] = {
	&seed_connect, &seed_connected, &seed_subscribe_queue,
	&seed_subscribe_group, &seed_send_chat, &seed_send_revoke,
	&seed_send_sync, &seed_message, &seed_message_zh, &seed_error,
};

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

/* Append p[0..n) with bytes that could confuse a description hex-escaped. */
static void
describe_text(struct buf *out, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c >= 0x7f || c == '\\' || c == '=')
			buf_printf(out, "\\x%02x", c);
		else
			buf_add(out, &c, 1);
	}
}

/* Append a one-line description of a decoded frame. */
static void
describe(struct buf *out, const struct stomp_frame *f)
{
	const char	*name = stomp_command_name(f->command);
	size_t		 i;

	buf_adds(out, name != NULL ? name : "HEARTBEAT");
	for (i = 0; i < f->nheaders; i++) {
		buf_adds(out, " ");
		describe_text(out, f->headers[i].name, strlen(f->headers[i].name));
		buf_adds(out, "=");
		describe_text(out, f->headers[i].value,
		    strlen(f->headers[i].value));
	}
	if (f->command != STOMP_HEARTBEAT) {
		buf_adds(out, " body=");
		describe_text(out, f->body, f->body_len);
	}
	buf_adds(out, "\n");
}

/*
 * Decode every frame at the head of in, describing each into desc and
 * consuming it; stop at the first non-OK status, which is returned (a BAD is
 * described too).
 */
static int
drain(struct buf *in, struct buf *desc)
{
	struct stomp_frame	 f;
	size_t			 used;
	const char		*cause;
	int			 st;

	for (;;) {
		used = 0;
		st = stomp_decode(buf_head(in), buf_left(in), &f, &used, &cause);
		if (st != STOMP_OK)
			break;
		CHECKM(used > 0 && used <= buf_left(in), "used %zu of %zu",
		    used, buf_left(in));
		if (used == 0 || used > buf_left(in))
			return STOMP_BAD;
		describe(desc, &f);
		buf_consume(in, used);
	}
	if (st == STOMP_BAD)
		buf_printf(desc, "BAD %s\n", cause != NULL ? cause : "(null)");
	return st;
}

/* Decode a whole stream from one buffer and describe it. */
static int
describe_stream(const char *wire, size_t len, struct buf *desc)
{
	struct buf	 in;
	int		 st;

	buf_init(&in);
	buf_add(&in, wire, len);
	st = drain(&in, desc);
	buf_clear(&in);
	return st;
}

/* Check a decoded frame against a seed's fields. */
static void
check_fields(const struct seed *s, const struct stomp_frame *f)
{
	size_t	 i;

	CHECKM(f->command == s->cmd, "%s: command %d, expected %d", s->name,
	    (int)f->command, (int)s->cmd);
	CHECKM(f->nheaders >= s->nh, "%s: %zu headers, expected %zu", s->name,
	    f->nheaders, s->nh);
	for (i = 0; i < s->nh && i < f->nheaders; i++) {
		CHECK_STR(f->headers[i].name, s->hdr[i][0]);
		CHECK_STR(f->headers[i].value, s->hdr[i][1]);
		CHECK_STR(stomp_frame_get(f, s->hdr[i][0]), s->hdr[i][1]);
	}
	CHECK_MEM(f->body, f->body_len, s->body, strlen(s->body));
	CHECKM(f->body != NULL && f->body[f->body_len] == '\0',
	    "%s: body not NUL-terminated", s->name);
}

/* Decode the seed's text, encode its fields exactly, decode that back. */
static void
check_seed(const struct seed *s)
{
	struct stomp_frame	 f;
	struct buf		 out;
	const char		*cause = NULL;
	char			*in;
	size_t			 used = 0, i;
	int			 st;

	/* As the vendor writes it (no content-length). */
	in = dup_exact(s->vendor, s->vendor_len);
	st = stomp_decode(in, s->vendor_len, &f, &used, &cause);
	CHECKM(st == STOMP_OK, "%s: vendor frame status %d (%s)", s->name, st,
	    cause ? cause : "");
	if (st == STOMP_OK) {
		CHECK_INT(used, s->vendor_len);
		CHECKM(f.nheaders == s->nh, "%s: %zu headers", s->name,
		    f.nheaders);
		check_fields(s, &f);
	}
	free(in);

	/* Encoded by us: exact bytes. */
	buf_init(&out);
	stomp_frame_init(&f, s->cmd);
	for (i = 0; i < s->nh; i++)
		CHECK_INT(stomp_frame_add(&f, s->hdr[i][0], s->hdr[i][1]), 0);
	f.body = s->body;
	f.body_len = strlen(s->body);
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_MEM(buf_head(&out), buf_left(&out), s->wire, s->wire_len);

	/* Encoded bare (as imgwd writes SENDs): the vendor's bytes exactly. */
	{
		struct buf	 bare;

		buf_init(&bare);
		f.bare = 1;
		CHECK_INT(stomp_encode(&bare, &f), 0);
		CHECK_MEM(buf_head(&bare), buf_left(&bare), s->vendor,
		    s->vendor_len);
		buf_clear(&bare);
		f.bare = 0;
	}

	/* And decoded back. */
	in = dup_exact(buf_head(&out), buf_left(&out));
	st = stomp_decode(in, buf_left(&out), &f, &used, &cause);
	CHECKM(st == STOMP_OK, "%s: encoded frame status %d (%s)", s->name,
	    st, cause ? cause : "");
	if (st == STOMP_OK) {
		CHECK_INT(used, buf_left(&out));
		check_fields(s, &f);
	}
	free(in);
	buf_clear(&out);
}

static void
stomp_seed_connect_round_trip(void)
{
	check_seed(&seed_connect);
}

static void
stomp_seed_connected_round_trip(void)
{
	check_seed(&seed_connected);
}

static void
stomp_seed_subscribe_personal_queue_round_trip(void)
{
	check_seed(&seed_subscribe_queue);
}

static void
stomp_seed_subscribe_group_topic_round_trip(void)
{
	check_seed(&seed_subscribe_group);
}

static void
stomp_seed_send_chat_send_round_trip(void)
{
	check_seed(&seed_send_chat);
}

static void
stomp_seed_send_chat_revoke_round_trip(void)
{
	check_seed(&seed_send_revoke);
}

static void
stomp_seed_send_chat_sync_round_trip(void)
{
	check_seed(&seed_send_sync);
}

static void
stomp_seed_message_round_trip(void)
{
	check_seed(&seed_message);
}

static void
stomp_seed_message_chinese_utf8_body_round_trip(void)
{
	check_seed(&seed_message_zh);
}

static void
stomp_seed_error_round_trip(void)
{
	check_seed(&seed_error);
}

/* Every proper prefix of one frame is STOMP_MORE and leaves bytes alone. */
static void
check_prefixes_more(const char *name, const char *wire, size_t len)
{
	struct stomp_frame	 f;
	const char		*cause;
	size_t			 k, used;
	char			*p;
	int			 st;

	for (k = 0; k < len; k++) {
		p = dup_exact(wire, k);
		cause = NULL;
		st = stomp_decode(p, k, &f, &used, &cause);
		CHECKM(st == STOMP_MORE, "%s: prefix %zu of %zu: status %d (%s)",
		    name, k, len, st, cause ? cause : "");
		CHECKM(memcmp(p, wire, k) == 0, "%s: prefix %zu of %zu modified",
		    name, k, len);
		free(p);
	}
}

static void
stomp_decode_every_seed_prefix_is_more_and_unmodified(void)
{
	size_t	 i;

	for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		check_prefixes_more(seeds[i]->name, seeds[i]->vendor,
		    seeds[i]->vendor_len);
		check_prefixes_more(seeds[i]->name, seeds[i]->wire,
		    seeds[i]->wire_len);
	}
	check_prefixes_more("CRLF heart-beat", S("\r\n"));
	check_prefixes_more("escaped CRLF",
	    S("MESSAGE\r\na\\cb:c\\\\d\r\ncontent-length:3\r\n\r\n\0\0\0\0"));
}

/* A stream mixing everything the decoder must handle. */
static const char stream[] =
    "CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0"
    "\n"
    "MESSAGE\r\ndestination:/user/queue/messages\r\nmessage-id:a\\cb\r\n"
    "content-length:4\r\n\r\nx\0y\n\0"
    "\r\n"
    "\r\n"
    "SEND\ndestination:/app/chat.sync\n\n{\"appId\":\"ak_demo_chat\"}\0"
    "\n"
    "ERROR\nmessage:Unauthorized\n\nUnauthorized\0";

static const char stream_desc[] =
    "CONNECTED version=1.2 heart-beat=0,0 body=\n"
    "HEARTBEAT\n"
    "MESSAGE destination=/user/queue/messages message-id=a:b "
    "content-length=4 body=x\\x00y\\x0a\n"
    "HEARTBEAT\n"
    "HEARTBEAT\n"
    "SEND destination=/app/chat.sync body={\"appId\":\"ak_demo_chat\"}\n"
    "HEARTBEAT\n"
    "ERROR message=Unauthorized body=Unauthorized\n";

static void
stomp_decode_several_frames_and_heartbeats_in_one_buffer(void)
{
	struct buf	 desc;
	int		 st;

	buf_init(&desc);
	st = describe_stream(stream, sizeof stream - 1, &desc);
	CHECK_INT(st, STOMP_MORE);
	CHECK_MEM(buf_head(&desc), buf_left(&desc), stream_desc,
	    sizeof stream_desc - 1);
	buf_clear(&desc);
}

static void
stomp_decode_split_at_every_byte(void)
{
	struct buf	 in, desc;
	size_t		 k, len = sizeof stream - 1;
	int		 st1, st2;

	for (k = 0; k <= len; k++) {
		buf_init(&in);
		buf_init(&desc);
		buf_add(&in, stream, k);
		st1 = drain(&in, &desc);
		buf_add(&in, stream + k, len - k);
		st2 = drain(&in, &desc);
		CHECKM(st1 == STOMP_MORE && st2 == STOMP_MORE,
		    "split at %zu: status %d then %d", k, st1, st2);
		CHECKM(buf_left(&in) == 0, "split at %zu: %zu bytes left", k,
		    buf_left(&in));
		CHECKM(buf_left(&desc) == sizeof stream_desc - 1 &&
		    memcmp(buf_head(&desc), stream_desc, buf_left(&desc)) == 0,
		    "split at %zu: decoded differently", k);
		buf_clear(&in);
		buf_clear(&desc);
	}
}

static void
stomp_decode_one_byte_at_a_time(void)
{
	struct buf	 in, desc;
	size_t		 k, len = sizeof stream - 1;
	int		 st;

	buf_init(&in);
	buf_init(&desc);
	for (k = 0; k < len; k++) {
		buf_add(&in, stream + k, 1);
		st = drain(&in, &desc);
		CHECKM(st == STOMP_MORE, "after byte %zu: status %d", k, st);
	}
	CHECK_INT(buf_left(&in), 0);
	CHECK_MEM(buf_head(&desc), buf_left(&desc), stream_desc,
	    sizeof stream_desc - 1);
	buf_clear(&in);
	buf_clear(&desc);
}

static void
stomp_decode_seed_frames_one_byte_at_a_time(void)
{
	struct buf	 in, desc, want;
	size_t		 i, k;

	buf_init(&want);
	buf_init(&desc);
	buf_init(&in);
	for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		describe_stream(seeds[i]->wire, seeds[i]->wire_len, &want);
		for (k = 0; k < seeds[i]->wire_len; k++) {
			buf_add(&in, seeds[i]->wire + k, 1);
			drain(&in, &desc);
		}
	}
	CHECK_INT(buf_left(&in), 0);
	CHECK_MEM(buf_head(&desc), buf_left(&desc), buf_head(&want),
	    buf_left(&want));
	buf_clear(&want);
	buf_clear(&desc);
	buf_clear(&in);
}

/* Decode one frame from a heap copy of a literal; returns the status. */
static int
decode1(const char *wire, size_t len, struct stomp_frame *f, size_t *used,
    char **copy)
{
	const char	*cause = NULL;
	int		 st;

	*copy = dup_exact(wire, len);
	*used = 0;
	st = stomp_decode(*copy, len, f, used, &cause);
	if (st != STOMP_OK)
		memset(f, 0, sizeof *f);	/* no stale pointers in checks */
	if (st == STOMP_BAD)
		CHECKM(cause != NULL && *cause != '\0', "BAD without a cause");
	else
		CHECKM(cause == NULL, "cause %s set on status %d", cause, st);
	return st;
}

static void
stomp_decode_heartbeats_lf_and_crlf(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("\n"), &f, &used, &p), STOMP_OK);
	CHECK_INT(f.command, STOMP_HEARTBEAT);
	CHECK_INT(used, 1);
	free(p);
	CHECK_INT(decode1(S("\r\nSEND"), &f, &used, &p), STOMP_OK);
	CHECK_INT(f.command, STOMP_HEARTBEAT);
	CHECK_INT(f.nheaders, 0);
	CHECK_INT(used, 2);
	free(p);
	CHECK_INT(decode1(S("\r"), &f, &used, &p), STOMP_MORE);
	free(p);
	CHECK_INT(decode1(S("\rX"), &f, &used, &p), STOMP_BAD);
	free(p);
	CHECK_INT(decode1(S(""), &f, &used, &p), STOMP_MORE);
	free(p);
}

static void
stomp_decode_crlf_line_endings(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;
	const char		 w[] = "MESSAGE\r\ndestination:/user/queue/messages"
	    "\r\nmessage-id:7\r\n\r\nbody\r\n\0";

	CHECK_INT(decode1(w, sizeof w - 1, &f, &used, &p), STOMP_OK);
	CHECK_INT(used, sizeof w - 1);
	CHECK_INT(f.command, STOMP_MESSAGE);
	CHECK_INT(f.nheaders, 2);
	CHECK_STR(f.headers[0].name, "destination");
	CHECK_STR(f.headers[0].value, "/user/queue/messages");
	CHECK_STR(f.headers[1].value, "7");
	/* The body is bytes: its CRLF is kept. */
	CHECK_MEM(f.body, f.body_len, "body\r\n", 6);
	free(p);

	CHECK_INT(decode1(S("SEND\r\n\r\n\0"), &f, &used, &p), STOMP_OK);
	CHECK_INT(f.command, STOMP_SEND);
	CHECK_INT(f.nheaders, 0);
	CHECK_INT(f.body_len, 0);
	free(p);
}

static void
stomp_decode_unescapes_header_names_and_values(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("MESSAGE\na\\cb\\\\c\\r\\nd:x\\cy\\\\z\\r\\nw\n"
	    "plain:v\n\n\0"), &f, &used, &p), STOMP_OK);
	CHECK_INT(f.nheaders, 2);
	CHECK_STR(f.headers[0].name, "a:b\\c\r\nd");
	CHECK_STR(f.headers[0].value, "x:y\\z\r\nw");
	CHECK_STR(stomp_frame_get(&f, "a:b\\c\r\nd"), "x:y\\z\r\nw");
	CHECK_STR(stomp_frame_get(&f, "plain"), "v");
	free(p);
}

static void
stomp_encode_escapes_header_round_trip(void)
{
	struct stomp_frame	 f;
	struct buf		 out;
	size_t			 used;
	char			*p;
	const char		 want[] = "SEND\na\\cb\\\\c\\r\\nd:x\\cy\\\\z\\r\\nw\n"
	    "e:\\\\\\\\\\c\\c\n\n\0";

	buf_init(&out);
	stomp_frame_init(&f, STOMP_SEND);
	stomp_frame_add(&f, "a:b\\c\r\nd", "x:y\\z\r\nw");
	stomp_frame_add(&f, "e", "\\\\::");
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_MEM(buf_head(&out), buf_left(&out), want, sizeof want - 1);
	CHECK_INT(decode1(buf_head(&out), buf_left(&out), &f, &used, &p),
	    STOMP_OK);
	CHECK_INT(used, sizeof want - 1);
	CHECK_INT(f.nheaders, 2);
	CHECK_STR(f.headers[0].name, "a:b\\c\r\nd");
	CHECK_STR(f.headers[0].value, "x:y\\z\r\nw");
	CHECK_STR(f.headers[1].value, "\\\\::");
	free(p);
	buf_clear(&out);
}

static void
stomp_connect_and_connected_headers_are_not_escaped(void)
{
	static const enum stomp_command cmds[] = {
		STOMP_CONNECT, STOMP_STOMP, STOMP_CONNECTED,
	};
	struct stomp_frame	 f;
	struct buf		 out, want;
	size_t			 i, used;
	char			*p;

	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		const char *name = stomp_command_name(cmds[i]);

		buf_init(&out);
		buf_init(&want);
		stomp_frame_init(&f, cmds[i]);
		stomp_frame_add(&f, "passcode", "a\\cb:c\\");
		CHECK_INT(stomp_encode(&out, &f), 0);
		buf_printf(&want, "%s\npasscode:a\\cb:c\\\n\n", name);
		buf_add(&want, "", 1);
		CHECK_MEM(buf_head(&out), buf_left(&out), buf_head(&want),
		    buf_left(&want));

		/* Decoded literally: the first colon splits, \c stays. */
		CHECKM(decode1(buf_head(&out), buf_left(&out), &f, &used, &p) ==
		    STOMP_OK, "%s does not decode", name);
		CHECK_INT(f.command, cmds[i]);
		CHECK_INT(f.nheaders, 1);
		CHECK_STR(f.headers[0].name, "passcode");
		CHECK_STR(f.headers[0].value, "a\\cb:c\\");
		free(p);

		/* An escape STOMP 1.2 does not define is just text here. */
		buf_reset(&want);
		buf_printf(&want, "%s\nlogin:a\\tb\n\n", name);
		buf_add(&want, "", 1);
		CHECKM(decode1(buf_head(&want), buf_left(&want), &f, &used,
		    &p) == STOMP_OK, "%s with \\t does not decode", name);
		CHECK_STR(stomp_frame_get(&f, "login"), "a\\tb");
		free(p);
		buf_clear(&out);
		buf_clear(&want);
	}
}

static void
stomp_encode_connect_rejects_unencodable_header(void)
{
	struct stomp_frame	 f;
	struct buf		 out;

	buf_init(&out);
	buf_adds(&out, "keep");
	stomp_frame_init(&f, STOMP_CONNECT);
	stomp_frame_add(&f, "host", "x");
	stomp_frame_add(&f, "a:b", "v");
	CHECK_INT(stomp_encode(&out, &f), -1);
	CHECK_MEM(buf_head(&out), buf_left(&out), "keep", 4);

	stomp_frame_init(&f, STOMP_CONNECTED);
	stomp_frame_add(&f, "version", "1.2\nEVIL:1");
	CHECK_INT(stomp_encode(&out, &f), -1);
	CHECK_MEM(buf_head(&out), buf_left(&out), "keep", 4);

	stomp_frame_init(&f, STOMP_CONNECT);
	stomp_frame_add(&f, "login", "a\rb");
	CHECK_INT(stomp_encode(&out, &f), -1);
	CHECK_MEM(buf_head(&out), buf_left(&out), "keep", 4);
	buf_clear(&out);
}

static void
stomp_decode_invalid_escape_is_bad(void)
{
	static const struct {
		const char	*wire;
		size_t		 len;
	} bad[] = {
		{ S("SEND\na:b\\t\n\n\0") },		/* undefined escape */
		{ S("SEND\na\\x:b\n\n\0") },		/* in the name */
		{ S("SEND\na:b\\\n\n\0") },		/* backslash at end */
		{ S("SEND\na:b\\\r\n\n\0") },		/* backslash before CRLF */
		{ S("MESSAGE\na:b\rc\n\n\0") },		/* raw CR inside */
		{ S("SEND\na:b\\C\n\n\0") },		/* escapes are lower case */
	};
	struct stomp_frame	 f;
	size_t			 i, used;
	char			*p;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKM(decode1(bad[i].wire, bad[i].len, &f, &used, &p) ==
		    STOMP_BAD, "case %zu is not STOMP_BAD", i);
		free(p);
	}
}

static void
stomp_decode_content_length_allows_nul_in_body(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("SEND\ndestination:/q\ncontent-length:5\n\n"
	    "a\0b\0c\0SEND"), &f, &used, &p), STOMP_OK);
	CHECK_INT(used, 44);
	CHECK_MEM(f.body, f.body_len, "a\0b\0c", 5);
	CHECK(f.body != NULL && f.body[5] == '\0');
	CHECK_STR(stomp_frame_get(&f, "content-length"), "5");
	free(p);

	CHECK_INT(decode1(S("SEND\ncontent-length:0\n\n\0"), &f, &used, &p),
	    STOMP_OK);
	CHECK_INT(f.body_len, 0);
	CHECK_INT(used, 24);
	free(p);

	/* Leading zeros are still decimal. */
	CHECK_INT(decode1(S("SEND\ncontent-length:003\n\nab\0\0"), &f, &used,
	    &p), STOMP_OK);
	CHECK_MEM(f.body, f.body_len, "ab\0", 3);
	free(p);
}

static void
stomp_decode_without_content_length_body_ends_at_nul(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("SEND\na:b\n\nhello\0world"), &f, &used, &p),
	    STOMP_OK);
	CHECK_INT(used, 16);
	CHECK_MEM(f.body, f.body_len, "hello", 5);
	free(p);

	CHECK_INT(decode1(S("SEND\na:b\n\nhello"), &f, &used, &p),
	    STOMP_MORE);
	free(p);
}

static void
stomp_decode_content_length_short_buffer_is_more(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	/* A NUL inside the declared body does not end the frame. */
	CHECK_INT(decode1(S("SEND\ncontent-length:4\n\nab\0"), &f, &used,
	    &p), STOMP_MORE);
	free(p);
	CHECK_INT(decode1(S("SEND\ncontent-length:4\n\nab\0d"), &f, &used,
	    &p), STOMP_MORE);
	free(p);
}

static void
stomp_decode_bad_content_length_is_bad(void)
{
	static const struct {
		const char	*wire;
		size_t		 len;
	} bad[] = {
		{ S("SEND\ncontent-length:abc\n\n\0") },
		{ S("SEND\ncontent-length:\n\n\0") },
		{ S("SEND\ncontent-length:-1\n\n\0") },
		{ S("SEND\ncontent-length:+1\n\nx\0") },
		{ S("SEND\ncontent-length: 1\n\nx\0") },
		{ S("SEND\ncontent-length:1 \n\nx\0") },
		{ S("SEND\ncontent-length:0x10\n\n\0") },
		{ S("SEND\ncontent-length:1.0\n\nx\0") },
		{ S("SEND\ncontent-length:123456789012345678901234567890\n\n") },
		/* A bad one is seen before the body arrives. */
		{ S("SEND\ncontent-length:x\n\n") },
	};
	struct stomp_frame	 f;
	size_t			 i, used;
	char			*p;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKM(decode1(bad[i].wire, bad[i].len, &f, &used, &p) ==
		    STOMP_BAD, "case %zu is not STOMP_BAD", i);
		free(p);
	}
}

static void
stomp_decode_content_length_not_followed_by_nul_is_bad(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("SEND\ncontent-length:3\n\nabcd\0"), &f, &used,
	    &p), STOMP_BAD);
	free(p);
	CHECK_INT(decode1(S("SEND\ncontent-length:0\n\nx\0"), &f, &used, &p),
	    STOMP_BAD);
	free(p);
}

static void
stomp_decode_unknown_command_is_bad(void)
{
	static const struct {
		const char	*wire;
		size_t		 len;
	} bad[] = {
		{ S("FOO\n\n\0") },
		{ S("send\n\n\0") },		/* commands are case-sensitive */
		{ S("SEND \n\n\0") },
		{ S(" SEND\n\n\0") },
		{ S("SENDX\n\n\0") },
		{ S("SEN\n\n\0") },
		{ S("\0\n\n\0") },
		{ S("HEARTBEAT\n\n\0") },
		{ S("SEND\r\r\n\n\0") },
		{ S("FOO\n") },			/* known bad before the frame ends */
	};
	struct stomp_frame	 f;
	size_t			 i, used;
	char			*p;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKM(decode1(bad[i].wire, bad[i].len, &f, &used, &p) ==
		    STOMP_BAD, "case %zu is not STOMP_BAD", i);
		free(p);
	}
}

static void
stomp_decode_every_command_name(void)
{
	struct stomp_frame	 f;
	struct buf		 w;
	size_t			 used;
	char			*p;
	int			 c;

	for (c = STOMP_CONNECT; c <= STOMP_ERROR; c++) {
		const char *name = stomp_command_name((enum stomp_command)c);

		CHECKM(name != NULL, "command %d has no name", c);
		if (name == NULL)
			continue;
		buf_init(&w);
		buf_printf(&w, "%s\n\n", name);
		buf_add(&w, "", 1);
		CHECKM(decode1(buf_head(&w), buf_left(&w), &f, &used, &p) ==
		    STOMP_OK, "%s does not decode", name);
		CHECKM((int)f.command == c, "%s decodes as %d", name,
		    (int)f.command);
		free(p);
		buf_clear(&w);
	}
	CHECK_STR(stomp_command_name(STOMP_SEND), "SEND");
	CHECK_STR(stomp_command_name(STOMP_CONNECTED), "CONNECTED");
	CHECK_STR(stomp_command_name(STOMP_MESSAGE), "MESSAGE");
	CHECK_STR(stomp_command_name(STOMP_ERROR), "ERROR");
	CHECK(stomp_command_name(STOMP_HEARTBEAT) == NULL);
	CHECK(stomp_command_name((enum stomp_command)99) == NULL);
}

static void
stomp_decode_header_without_colon_is_bad(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("SEND\nfoo\n\n\0"), &f, &used, &p), STOMP_BAD);
	free(p);
	CHECK_INT(decode1(S("SEND\na:b\nfoo\r\n\n\0"), &f, &used, &p),
	    STOMP_BAD);
	free(p);
	/* Known as soon as the line is complete. */
	CHECK_INT(decode1(S("SEND\nfoo\n"), &f, &used, &p), STOMP_BAD);
	free(p);
	/* Not before. */
	CHECK_INT(decode1(S("SEND\nfoo"), &f, &used, &p), STOMP_MORE);
	free(p);
}

/*
 * Names and values are C strings, so a NUL inside a header cannot be
 * represented: such a frame is malformed, not silently truncated (else
 * "content-length\0x:4" reads as content-length 4 while the body ends at
 * the first NUL).
 */
static void
stomp_decode_nul_in_header_is_bad(void)
{
	static const struct {
		const char	*wire;
		size_t		 len;
	} bad[] = {
		{ S("SEND\ncontent-length\0x:4\n\nx\0") },
		{ S("SEND\ndestination:/app/chat.send\0/../x\n\n\0") },
		{ S("MESSAGE\nde\0st:/a\n\n\0") },
		{ S("CONNECT\nAuthorization:Bearer a\0b\n\n\0") },
	};
	struct stomp_frame	 f;
	size_t			 i, used;
	char			*p;
	int			 st;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		st = decode1(bad[i].wire, bad[i].len, &f, &used, &p);
		CHECKM(st == STOMP_BAD, "case %zu: status %d, expected "
		    "STOMP_BAD", i, st);
		if (st == STOMP_OK && f.nheaders > 0)
			CHECKM(0, "case %zu: header read as %s=%s", i,
			    f.headers[0].name, f.headers[0].value);
		free(p);
	}
}

/* A frame with n headers "hK:K" and an empty body. */
static void
frame_with_headers(struct buf *w, int n)
{
	int	 i;

	buf_adds(w, "SEND\n");
	for (i = 0; i < n; i++)
		buf_printf(w, "h%d:%d\n", i, i);
	buf_add(w, "\n\0", 2);	/* the blank line and the NUL */
}

static void
stomp_decode_too_many_headers_is_bad(void)
{
	struct stomp_frame	 f;
	struct buf		 w;
	size_t			 used;
	char			*p;

	buf_init(&w);
	frame_with_headers(&w, STOMP_MAX_HEADERS);
	CHECK_INT(decode1(buf_head(&w), buf_left(&w), &f, &used, &p),
	    STOMP_OK);
	CHECK_INT(f.nheaders, STOMP_MAX_HEADERS);
	CHECK_STR(f.headers[STOMP_MAX_HEADERS - 1].name, "h31");
	free(p);

	buf_reset(&w);
	frame_with_headers(&w, STOMP_MAX_HEADERS + 1);
	CHECK_INT(decode1(buf_head(&w), buf_left(&w), &f, &used, &p),
	    STOMP_BAD);
	free(p);

	/* Known before the headers end. */
	buf_reset(&w);
	frame_with_headers(&w, STOMP_MAX_HEADERS + 1);
	CHECK_INT(decode1(buf_head(&w), buf_left(&w) - 2, &f, &used, &p),
	    STOMP_BAD);
	free(p);
	buf_clear(&w);
}

/* A buffer of n bytes: head, then 'x' up to n, optionally a NUL at the end. */
static char *
big(const char *head, size_t n, int nul_last)
{
	char	*p = malloc(n);

	if (p == NULL)
		abort();
	memset(p, 'x', n);
	memcpy(p, head, strlen(head));
	if (nul_last)
		p[n - 1] = '\0';
	return p;
}

static void
stomp_decode_oversize_frame_is_bad_not_more_at_limit(void)
{
	static const char *const heads[] = {
		"SEND\n\n",		/* body without a NUL */
		"SEND\na:",		/* a header line without an end */
		"SEND\na:b\n",		/* headers without an end */
		"SEND",			/* a command line without an end */
	};
	struct stomp_frame	 f;
	const char		*cause;
	size_t			 i, used;
	char			*p;
	int			 st;

	for (i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		p = big(heads[i], STOMP_MAX_FRAME - 1, 0);
		st = stomp_decode(p, STOMP_MAX_FRAME - 1, &f, &used, &cause);
		CHECKM(st == STOMP_MORE, "head %zu: %d below the limit", i, st);
		free(p);
		p = big(heads[i], STOMP_MAX_FRAME, 0);
		st = stomp_decode(p, STOMP_MAX_FRAME, &f, &used, &cause);
		CHECKM(st == STOMP_BAD, "head %zu: %d at the limit", i, st);
		free(p);
		p = big(heads[i], STOMP_MAX_FRAME + 100, 0);
		st = stomp_decode(p, STOMP_MAX_FRAME + 100, &f, &used, &cause);
		CHECKM(st == STOMP_BAD, "head %zu: %d beyond the limit", i, st);
		free(p);
	}
}

static void
stomp_decode_frame_of_exactly_max_size_is_ok(void)
{
	struct stomp_frame	 f;
	const char		*cause;
	size_t			 used;
	char			*p, hdr[64];
	int			 st, n;

	/* Ends at its NUL: STOMP_MAX_FRAME bytes in all. */
	p = big("SEND\n\n", STOMP_MAX_FRAME, 1);
	used = 0;
	st = stomp_decode(p, STOMP_MAX_FRAME, &f, &used, &cause);
	CHECK_INT(st, STOMP_OK);
	CHECK_INT(used, STOMP_MAX_FRAME);
	CHECK_INT(f.body_len, STOMP_MAX_FRAME - 7);
	free(p);

	/* One byte more is too large. */
	p = big("SEND\n\n", STOMP_MAX_FRAME + 1, 1);
	st = stomp_decode(p, STOMP_MAX_FRAME + 1, &f, &used, &cause);
	CHECK_INT(st, STOMP_BAD);
	free(p);

	/* The same with content-length. */
	n = snprintf(hdr, sizeof hdr, "SEND\ncontent-length:%d\n\n",
	    STOMP_MAX_FRAME - 1 - 29);
	CHECK_INT(n, 29);
	p = big(hdr, STOMP_MAX_FRAME, 1);
	used = 0;
	st = stomp_decode(p, STOMP_MAX_FRAME, &f, &used, &cause);
	CHECK_INT(st, STOMP_OK);
	CHECK_INT(used, STOMP_MAX_FRAME);
	free(p);
	snprintf(hdr, sizeof hdr, "SEND\ncontent-length:%d\n\n",
	    STOMP_MAX_FRAME - 29);
	p = big(hdr, STOMP_MAX_FRAME + 1, 1);
	st = stomp_decode(p, STOMP_MAX_FRAME + 1, &f, &used, &cause);
	CHECK_INT(st, STOMP_BAD);
	free(p);
}

static void
stomp_decode_content_length_over_limit_is_bad_before_body(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("SEND\ncontent-length:2000000\n\n"), &f, &used,
	    &p), STOMP_BAD);
	free(p);
	CHECK_INT(decode1(S("SEND\ncontent-length:99999999\n\nab"), &f, &used,
	    &p), STOMP_BAD);
	free(p);
	CHECK_INT(decode1(S("SEND\ncontent-length:1048576\n\n"), &f, &used,
	    &p), STOMP_BAD);
	free(p);
}

static void
stomp_frame_get_first_header_wins(void)
{
	struct stomp_frame	 f;
	size_t			 used;
	char			*p;

	CHECK_INT(decode1(S("MESSAGE\nfoo:1\nbar:x\nfoo:2\n\n\0"), &f, &used,
	    &p), STOMP_OK);
	CHECK_INT(f.nheaders, 3);
	CHECK_STR(stomp_frame_get(&f, "foo"), "1");
	CHECK_STR(f.headers[2].value, "2");
	CHECK(stomp_frame_get(&f, "missing") == NULL);
	CHECK(stomp_frame_get(&f, "fo") == NULL);
	CHECK(stomp_frame_get(&f, "FOO") == NULL);
	free(p);

	/* The first content-length decides the body. */
	CHECK_INT(decode1(S("SEND\ncontent-length:3\ncontent-length:5\n\n"
	    "a\0c\0"), &f, &used, &p), STOMP_OK);
	CHECK_MEM(f.body, f.body_len, "a\0c", 3);
	CHECK_STR(stomp_frame_get(&f, "content-length"), "3");
	free(p);

	stomp_frame_init(&f, STOMP_SEND);
	stomp_frame_add(&f, "k", "first");
	stomp_frame_add(&f, "k", "second");
	CHECK_STR(stomp_frame_get(&f, "k"), "first");
}

static void
stomp_frame_add_stops_at_max_headers(void)
{
	struct stomp_frame	 f;
	int			 i, ok = 0;

	stomp_frame_init(&f, STOMP_SEND);
	CHECK_INT(f.nheaders, 0);
	CHECK_INT(f.body_len, 0);
	for (i = 0; i < STOMP_MAX_HEADERS; i++)
		ok += stomp_frame_add(&f, "h", "v") == 0;
	CHECK_INT(ok, STOMP_MAX_HEADERS);
	CHECK_INT(stomp_frame_add(&f, "one", "too many"), -1);
	CHECK_INT(f.nheaders, STOMP_MAX_HEADERS);
}

static void
stomp_encode_content_length_only_when_body_and_missing(void)
{
	struct stomp_frame	 f;
	struct buf		 out;

	buf_init(&out);
	stomp_frame_init(&f, STOMP_SEND);
	stomp_frame_add(&f, "destination", "/q");
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_OUT(&out, ("SEND\ndestination:/q\n\n\0"));

	buf_reset(&out);
	f.body = "hi";
	f.body_len = 2;
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_OUT(&out, ("SEND\ndestination:/q\ncontent-length:2\n\nhi\0"));

	buf_reset(&out);
	stomp_frame_add(&f, "content-length", "2");
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_OUT(&out, ("SEND\ndestination:/q\ncontent-length:2\n\nhi\0"));
	buf_clear(&out);
}

static void
stomp_encode_body_with_nul_round_trips(void)
{
	struct stomp_frame	 f;
	struct buf		 out;
	size_t			 used;
	char			*p;

	buf_init(&out);
	stomp_frame_init(&f, STOMP_MESSAGE);
	stomp_frame_add(&f, "destination", "/user/queue/messages");
	f.body = "\0a\0\0b\0";
	f.body_len = 6;
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_INT(decode1(buf_head(&out), buf_left(&out), &f, &used, &p),
	    STOMP_OK);
	CHECK_INT(used, buf_left(&out));
	CHECK_MEM(f.body, f.body_len, "\0a\0\0b\0", 6);
	CHECK_STR(stomp_frame_get(&f, "content-length"), "6");
	free(p);
	buf_clear(&out);
}

static void
stomp_encode_heartbeat_is_one_lf(void)
{
	struct stomp_frame	 f;
	struct buf		 out;

	buf_init(&out);
	stomp_frame_init(&f, STOMP_HEARTBEAT);
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_MEM(buf_head(&out), buf_left(&out), "\n", 1);
	buf_clear(&out);
}

static void
stomp_encode_appends_after_existing_bytes(void)
{
	struct stomp_frame	 f;
	struct buf		 out;

	buf_init(&out);
	buf_adds(&out, "xyz");
	buf_consume(&out, 1);
	stomp_frame_init(&f, STOMP_DISCONNECT);
	stomp_frame_add(&f, "receipt", "r-1");
	CHECK_INT(stomp_encode(&out, &f), 0);
	CHECK_OUT(&out, ("yzDISCONNECT\nreceipt:r-1\n\n\0"));
	buf_clear(&out);
}

static void
stomp_encode_unknown_command_fails(void)
{
	struct stomp_frame	 f;
	struct buf		 out;

	buf_init(&out);
	stomp_frame_init(&f, (enum stomp_command)99);
	CHECK_INT(stomp_encode(&out, &f), -1);
	CHECK_INT(buf_left(&out), 0);
	buf_clear(&out);
}

/*
 * Whatever stomp_encode accepts, stomp_decode must accept: a frame with
 * STOMP_MAX_HEADERS headers and a body gets a content-length header added.
 */
static void
stomp_encode_output_decodes_with_max_headers_and_body(void)
{
	static char		 names[STOMP_MAX_HEADERS][8];
	struct stomp_frame	 f;
	struct buf		 out;
	size_t			 used;
	char			*p;
	int			 i, st, enc;

	buf_init(&out);
	stomp_frame_init(&f, STOMP_MESSAGE);
	for (i = 0; i < STOMP_MAX_HEADERS; i++) {
		snprintf(names[i], sizeof names[i], "h%d", i);
		stomp_frame_add(&f, names[i], "v");
	}
	f.body = "body";
	f.body_len = 4;
	enc = stomp_encode(&out, &f);
	if (enc == 0) {
		st = decode1(buf_head(&out), buf_left(&out), &f, &used, &p);
		CHECKM(st == STOMP_OK, "stomp_encode gave a frame stomp_decode "
		    "rejects (status %d)", st);
		if (st == STOMP_OK)
			CHECK_MEM(f.body, f.body_len, "body", 4);
		free(p);
	} else
		CHECK_INT(buf_left(&out), 0);
	buf_clear(&out);
}

static const struct unit_test tests[] = {
	UNIT_TEST(stomp_seed_connect_round_trip),
	UNIT_TEST(stomp_seed_connected_round_trip),
	UNIT_TEST(stomp_seed_subscribe_personal_queue_round_trip),
	UNIT_TEST(stomp_seed_subscribe_group_topic_round_trip),
	UNIT_TEST(stomp_seed_send_chat_send_round_trip),
	UNIT_TEST(stomp_seed_send_chat_revoke_round_trip),
	UNIT_TEST(stomp_seed_send_chat_sync_round_trip),
	UNIT_TEST(stomp_seed_message_round_trip),
	UNIT_TEST(stomp_seed_message_chinese_utf8_body_round_trip),
	UNIT_TEST(stomp_seed_error_round_trip),
	UNIT_TEST(stomp_decode_every_seed_prefix_is_more_and_unmodified),
	UNIT_TEST(stomp_decode_several_frames_and_heartbeats_in_one_buffer),
	UNIT_TEST(stomp_decode_split_at_every_byte),
	UNIT_TEST(stomp_decode_one_byte_at_a_time),
	UNIT_TEST(stomp_decode_seed_frames_one_byte_at_a_time),
	UNIT_TEST(stomp_decode_heartbeats_lf_and_crlf),
	UNIT_TEST(stomp_decode_crlf_line_endings),
	UNIT_TEST(stomp_decode_unescapes_header_names_and_values),
	UNIT_TEST(stomp_encode_escapes_header_round_trip),
	UNIT_TEST(stomp_connect_and_connected_headers_are_not_escaped),
	UNIT_TEST(stomp_encode_connect_rejects_unencodable_header),
	UNIT_TEST(stomp_decode_invalid_escape_is_bad),
	UNIT_TEST(stomp_decode_content_length_allows_nul_in_body),
	UNIT_TEST(stomp_decode_without_content_length_body_ends_at_nul),
	UNIT_TEST(stomp_decode_content_length_short_buffer_is_more),
	UNIT_TEST(stomp_decode_bad_content_length_is_bad),
	UNIT_TEST(stomp_decode_content_length_not_followed_by_nul_is_bad),
	UNIT_TEST(stomp_decode_unknown_command_is_bad),
	UNIT_TEST(stomp_decode_every_command_name),
	UNIT_TEST(stomp_decode_header_without_colon_is_bad),
	UNIT_TEST(stomp_decode_nul_in_header_is_bad),
	UNIT_TEST(stomp_decode_too_many_headers_is_bad),
	UNIT_TEST(stomp_decode_oversize_frame_is_bad_not_more_at_limit),
	UNIT_TEST(stomp_decode_frame_of_exactly_max_size_is_ok),
	UNIT_TEST(stomp_decode_content_length_over_limit_is_bad_before_body),
	UNIT_TEST(stomp_frame_get_first_header_wins),
	UNIT_TEST(stomp_frame_add_stops_at_max_headers),
	UNIT_TEST(stomp_encode_content_length_only_when_body_and_missing),
	UNIT_TEST(stomp_encode_body_with_nul_round_trips),
	UNIT_TEST(stomp_encode_heartbeat_is_one_lf),
	UNIT_TEST(stomp_encode_appends_after_existing_bytes),
	UNIT_TEST(stomp_encode_unknown_command_fails),
	UNIT_TEST(stomp_encode_output_decodes_with_max_headers_and_body),
};

UNIT_MAIN(tests)
