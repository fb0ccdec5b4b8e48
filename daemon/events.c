/*
 * events: the event log and its fan-out. Every event is committed to the
 * store before any client sees it; each subscribed client has a cursor into
 * the log, so replay (events.subscribe since) and live delivery are one path,
 * and a slow client falls behind without losing anything or blocking others.
 *
 * An event is encoded once, as MessagePack, for the log and for every
 * subscriber: recent ones are kept here as wires (outq.c) that each
 * subscriber's output queue references, so the live path copies nothing
 * per subscriber; older ones (replay, a lagging client) are read back from
 * the store as the same bytes.
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
#define EVENT_TYPE_MAX		64	/* social.c refuses longer types */

/* A notification's head, [2, "event", [ : the event's encoding follows. */
static const char	 event_head[] = "\x93\x02\xa5" "event" "\x91";
#define EVENT_HEAD	(sizeof event_head - 1)

struct recent {
	int64_t		 seq;		/* 0: empty */
	char		 type[EVENT_TYPE_MAX + 1];	/* for topic filters */
	struct wire	*wire;		/* [2, "event", [EVENT]] */
};

/* Encoded events: the newest (live), and old ones being replayed. */
struct ring {
	struct recent	 v[EVENTS_RING];
	size_t		 bytes;		/* the wires' sizes */
};

static int64_t		 events_last = -1;
static struct ring	 live;
/*
 * Old events read back for one subscriber, kept encoded for the next:
 * subscribers replaying the same stretch (after a restart, say) cost one
 * read per event, not one per subscriber.
 */
static struct ring	 replay;
/* Where events_emit encodes. */
static struct buf	 scratch;

/* The newest seq in the log. */
static int64_t
events_last_seq(void)
{
	if (events_last == -1)
		events_last = store_event_last(store);
	return events_last;
}

/* Empty a ring slot. */
static void
events_slot_clear(struct ring *g, struct recent *r)
{
	if (r->wire != NULL) {
		g->bytes -= r->wire->len;
		wire_unref(r->wire);
		r->wire = NULL;
	}
	r->seq = 0;
}

/* Empty a ring. */
static void
events_ring_clear(struct ring *g)
{
	size_t	 i;

	for (i = 0; i < EVENTS_RING; i++)
		events_slot_clear(g, &g->v[i]);
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
 * Keep an event's wire in a ring (the ring takes a reference) if its byte
 * budget allows. Returns the slot, or NULL if it did not fit.
 */
static struct recent *
events_keep(struct ring *g, int64_t seq, const char *type, struct wire *w)
{
	struct recent	*r = &g->v[seq % EVENTS_RING];

	events_slot_clear(g, r);
	if (g->bytes + w->len > EVENTS_RING_BYTES)
		return NULL;
	r->wire = wire_ref(w);
	r->seq = seq;
	snprintf(r->type, sizeof r->type, "%s", type);
	g->bytes += w->len;
	return r;
}

/*
 * Append an event of the given type; takes ownership of body (an object).
 * It is encoded once, for the log and for every subscriber. Clients see it
 * after this loop turn commits. Returns its seq, or -1.
 */
int64_t
events_emit(const char *type, json_t *body)
{
	struct wire	*w;
	int64_t		 seq = events_last_seq() + 1;

	if (body == NULL)
		fatalx("out of memory");
	json_object_set_new(body, "type", json_string(type));
	json_object_set_new(body, "seq", json_integer(seq));
	buf_reset(&scratch);
	if (rpc_encode_value(&scratch, body) == -1 ||
	    store_event_add(store, seq, type, scratch.data, scratch.len) == -1) {
		log_error("cannot log event %s: %s", type, store_error(store));
		json_decref(body);
		return -1;
	}
	json_decref(body);
	w = wire_new(event_head, EVENT_HEAD, scratch.data, scratch.len);
	events_keep(&live, seq, type, w);
	wire_unref(w);
	events_last = seq;
	return seq;
}

/* Send one event to a client, if it wants its type. */
static void
events_send(struct client *c, int64_t seq, const char *type, struct wire *w)
{
	c->cursor = seq;
	if (client_wants(c, type))
		client_send_wire(c, w);
}

/* One event of a page read back for client arg. */
static void
events_replayed(void *arg, int64_t seq, const char *type, const void *body,
    size_t len)
{
	struct client	*c = arg;
	struct wire	*w;

	if (body == NULL) {
		log_limited(LOG_WARN, "event-unreadable", "event %lld in the "
		    "log cannot be read; skipped", (long long)seq);
		c->cursor = seq;
		return;
	}
	w = wire_new(event_head, EVENT_HEAD, body, len);
	events_keep(&replay, seq, type, w);
	events_send(c, seq, type, w);
	wire_unref(w);
}

/* Send events after the client's cursor from the store, one page. 0, or -1. */
static int
events_page(struct client *c, int64_t last)
{
	int64_t	 before = c->cursor;

	if (store_events_read(store, c->cursor, EVENTS_PAGE, events_replayed,
	    c) == -1) {
		log_error("cannot read events: %s", store_error(store));
		return -1;
	}
	if (c->cursor == before)
		c->cursor = last;	/* nothing after it */
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
				events_send(c, r->seq, r->type, r->wire);
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
