/*
 * inbound: where the server's MESSAGE frames go, by destination: replies to
 * the pending table, chat messages to the message intake (intake.c),
 * events to the social cache. Refuses bodies that are not JSON objects or
 * nest too deep (UPSTREAM.md, "What imgwd does with a broken server").
 */
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "social.h"
#include "stomp.h"

/* Nesting of the server's JSON bodies; deeper is refused (UPSTREAM.md). */
#define INBOUND_JSON_DEPTH	16

/* Whether JSON value v nests no deeper than depth levels. */
static int
inbound_depth_ok(json_t *v, int depth)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (depth == 0)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!inbound_depth_ok(e, depth - 1))
				return 0;
		}
	} else {
		json_object_foreach(v, k, e) {
			if (!inbound_depth_ok(e, depth - 1))
				return 0;
		}
	}
	return 1;
}

/*
 * A MESSAGE frame from the server (session.c's hook): a reply, a chat
 * message on the personal queue or a group topic, or an event.
 */
void
inbound_message(const struct stomp_frame *f)
{
	const char	*dest = stomp_frame_get(f, "destination");
	json_t		*body;
	json_error_t	 err;

	if (dest != NULL && strcmp(dest, "/user/queue/replies") == 0) {
		pending_reply(f);
		return;
	}
	/* jansson refuses invalid UTF-8 and \u0000 (no JSON_ALLOW_NUL). */
	body = json_loadb(f->body, f->body_len, 0, &err);
	if (!json_is_object(body)) {
		log_limited(LOG_WARN, "message-json", "ignoring a MESSAGE on %.80s "
		    "that is not a JSON object: %s", dest ? dest : "(no destination)",
		    body == NULL ? err.text : "another JSON value");
		json_decref(body);
		return;
	}
	/* Local clients decode at most RPC_MAX_DEPTH: keep well inside it. */
	if (!inbound_depth_ok(body, INBOUND_JSON_DEPTH)) {
		log_limited(LOG_WARN, "message-deep", "ignoring a MESSAGE on %.80s "
		    "nested deeper than %d levels", dest ? dest : "(no destination)",
		    INBOUND_JSON_DEPTH);
		json_decref(body);
		return;
	}
	if (dest != NULL && (strcmp(dest, "/user/queue/messages") == 0 ||
	    strncmp(dest, "/topic/group/", 13) == 0)) {
		sync_not_quiet();
		intake_message(body);
	}
	else if (dest != NULL && strcmp(dest, "/user/queue/events") == 0) {
		social_event(body);
		if (json_integer_value(json_object_get(body, "seq")) > 0)
			sync_saw_seq(json_integer_value(json_object_get(body,
			    "seq")));
	} else
		log_debug("ignoring MESSAGE on %s", dest ? dest : "(none)");
	json_decref(body);
}
