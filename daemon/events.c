/*
 * events: the event log and its fan-out. Every event is committed to the
 * store before any client sees it; each subscribed client has a cursor into
 * the log, so replay (events.subscribe since) and live delivery are one path,
 * and a slow client falls behind without losing anything or blocking others.
 *
 * Recent events are also kept here already encoded as notifications, so the
 * live path costs one copy per subscriber, not a query and an encoding each;
 * older ones (replay, a lagging client) come from the store.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "store.h"

#define EVENTS_PAGE	128
#define EVENTS_RING	4096	/* recent events kept encoded */
/*
 * Bytes the ring may hold: events that do not fit (large messages a server
 * sends in a row) are read back from the store instead.
 */
#define EVENTS_RING_BYTES	(8 * 1024 * 1024)

struct recent {
	int64_t		 seq;		/* 0: empty */
	json_t		*event;		/* {type}, for topic filters */
	struct buf	 wire;		/* [2, "event", [EVENT]] */
};

/* Encoded events: the newest (live), and old ones being replayed. */
struct ring {
	struct recent	 v[EVENTS_RING];
	size_t		 bytes;		/* the wire buffers' allocations */
};

static int64_t		 events_last = -1;
static struct ring	 live;
/*
 * Old events read back for one subscriber, kept encoded for the next:
 * subscribers replaying the same stretch (after a restart, say) cost one
 * read and one encoding per event, not one per subscriber.
 */
static struct ring	 replay;

/* The newest seq in the log. */
static int64_t
events_last_seq(void)
{
	if (events_last == -1)
		events_last = store_event_last(store);
	return events_last;
}

/* Empty a ring. */
static void
events_ring_clear(struct ring *g)
{
	size_t	 i;

	for (i = 0; i < EVENTS_RING; i++) {
		g->v[i].seq = 0;
		json_decref(g->v[i].event);
		g->v[i].event = NULL;
		buf_clear(&g->v[i].wire);
	}
	g->bytes = 0;
}

/* Forget the encoded copies (after a failed commit they may not exist). */
void
events_forget(void)
{
	events_ring_clear(&live);
	events_ring_clear(&replay);
	events_last = -1;
}

/*
 * Keep an event, encoded, in a ring (within its byte budget). Returns its
 * slot, or NULL if it did not fit.
 */
static struct recent *
events_keep(struct ring *g, int64_t seq, json_t *body)
{
	struct recent	*r = &g->v[seq % EVENTS_RING];
	json_t		*params;

	json_decref(r->event);
	g->bytes -= r->wire.cap;
	buf_clear(&r->wire);
	r->seq = 0;
	r->event = NULL;
	json_object_set_new(body, "seq", json_integer(seq));
	params = json_pack("[O]", body);
	if (params != NULL && rpc_encode_notify(&r->wire, "event", params) == 0 &&
	    g->bytes + r->wire.cap <= EVENTS_RING_BYTES) {
		r->seq = seq;
		r->event = json_pack("{s:O}", "type", json_object_get(body, "type"));
		g->bytes += r->wire.cap;
	} else
		buf_clear(&r->wire);
	json_decref(params);
	return r->seq == seq ? r : NULL;
}

/* Send one event from a ring slot, if the client wants its type. */
static void
events_send(struct client *c, struct recent *r)
{
	c->cursor = r->seq;
	if (client_wants(c, r->event))
		client_send_raw(c, r->wire.data, r->wire.len);
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
	if (seq == -1) {
		log_error("cannot log event %s: %s", type, store_error(store));
		json_decref(body);
		return -1;
	}
	events_keep(&live, seq, body);
	json_decref(body);
	events_last = seq;
	return seq;
}

/* Send events after the client's cursor from the store, one page. 0, or -1. */
static int
events_page(struct client *c, int64_t last)
{
	json_t	*page, *e;
	size_t	 i;

	page = store_events_since(store, c->cursor, EVENTS_PAGE);
	if (page == NULL) {
		log_error("cannot read events: %s", store_error(store));
		return -1;
	}
	if (json_array_size(page) == 0)
		c->cursor = last;
	json_array_foreach(page, i, e) {
		int64_t		 seq = json_integer_value(json_object_get(e, "seq"));
		struct recent	*r = events_keep(&replay, seq, e);

		if (r != NULL)
			events_send(c, r);
		else {
			c->cursor = seq;
			if (client_wants(c, e))
				client_notify(c, "event", json_pack("[O]", e));
		}
	}
	json_decref(page);
	return 0;
}

/* Send each subscribed client what it has not seen, as far as its buffer allows. */
void
events_pump(void)
{
	struct client	*c;
	struct recent	*r;
	int64_t		 last = events_last_seq();

	TAILQ_FOREACH(c, &clients, entry) {
		while (c->subscribed && !c->dead && c->cursor < last &&
		    !client_congested(c)) {
			r = &live.v[(c->cursor + 1) % EVENTS_RING];
			if (r->seq != c->cursor + 1)
				r = &replay.v[(c->cursor + 1) % EVENTS_RING];
			if (r->seq == c->cursor + 1) {
				events_send(c, r);
				continue;
			}
			if (events_page(c, last) == -1)
				return;
		}
	}
}

/* The seq a new subscriber starts after when it gives no since. */
int64_t
events_head(void)
{
	return events_last_seq();
}
