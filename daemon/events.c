/*
 * events: the event log and its fan-out. Every event is committed to the
 * store before any client sees it; each subscribed client has a cursor into
 * the log, so replay (events.subscribe since) and live delivery are one path,
 * and a slow client falls behind without losing anything or blocking others.
 */
#include "daemon.h"
#include "log.h"
#include "store.h"

#define EVENTS_PAGE	128

static int64_t	 events_last = -1;

/* The newest seq in the log. */
static int64_t
events_last_seq(void)
{
	if (events_last == -1)
		events_last = store_event_last(store);
	return events_last;
}

/*
 * Append an event of the given type; takes ownership of body (an object).
 * Clients see it after this loop turn commits. Returns its seq, or -1.
 */
int64_t
events_emit(const char *type, json_t *body)
{
	int64_t	 seq;

	if (body == NULL)
		fatalx("out of memory");
	json_object_set_new(body, "type", json_string(type));
	seq = store_event_add(store, type, body);
	json_decref(body);
	if (seq == -1) {
		log_error("cannot log event %s: %s", type, store_error(store));
		return -1;
	}
	events_last = seq;
	return seq;
}

/* Send each subscribed client what it has not seen, as far as its buffer allows. */
void
events_pump(void)
{
	struct client	*c;
	json_t		*page, *e;
	size_t		 i;
	int64_t		 last = events_last_seq();

	TAILQ_FOREACH(c, &clients, entry) {
		while (c->subscribed && !c->dead && c->cursor < last &&
		    !client_congested(c)) {
			page = store_events_since(store, c->cursor, EVENTS_PAGE);
			if (page == NULL) {
				log_error("cannot read events: %s", store_error(store));
				return;
			}
			if (json_array_size(page) == 0) {
				c->cursor = last;
				json_decref(page);
				break;
			}
			json_array_foreach(page, i, e) {
				c->cursor = json_integer_value(json_object_get(e, "seq"));
				if (client_wants(c, e))
					client_notify(c, "event", json_pack("[O]", e));
			}
			json_decref(page);
		}
	}
}

/* The seq a new subscriber starts after when it gives no since. */
int64_t
events_head(void)
{
	return events_last_seq();
}
