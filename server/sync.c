/*
 * sync: the /app/chat.sync destination (UPSTREAM.md "chat.sync"): the seed
 * sync of what a user was not delivered, paced by the session's output
 * queue, and the since-sync of every change after a seq (not on a
 * seed-only server). Pushes through broker.c, reads through sstore; what it
 * pushes counts as delivered once written (deliver.c). Owns the seed fields
 * of a session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"

#define SYNC_LIMIT	500	/* UPSTREAM.md: default limit */
#define SYNC_MAX	1000	/* UPSTREAM.md: largest limit */
#define SYNC_SEED_BATCH	100	/* rows per query of a seed sync */

/* What a sync is collecting while it pushes rows. */
struct sync_rows {
	struct session	*s;
	int		 limit;		/* rows to push at most */
	int		 count;		/* rows pushed */
	long long	 seq;		/* highest seq pushed */
	int		 full;		/* a row beyond limit exists */
	int		 paused;	/* stopped by the output queue */
	int		 failed;	/* the session went away */
	int		 seed;		/* a seed sync: skip what s has queued */
	long long	 last;		/* seq of the last row pushed or skipped */
	int		 events;	/* push events too (since-sync) */
};

/*
 * Push one synced row, a message or an event, to the requesting session;
 * see struct sync_rows.
 */
static int
sync_row(const struct smsg *m, const struct sevent *e, void *arg)
{
	struct sync_rows	*sy = arg;
	struct session		*s = sy->s;
	const char		*dest = DEST_MESSAGES;
	char			*text;
	long long		 seq;

	if (sy->count >= sy->limit) {
		sy->full = 1;
		return 1;
	}
	/*
	 * A copy pushed to this session and not yet written is delivered
	 * from the queue, or stays pending if the session dies first: never
	 * twice in one session's stream.
	 */
	if (sy->seed && m != NULL && deliver_queued(s, m->id, m->seq)) {
		sy->last = m->seq;
		return 0;
	}
	/* Keep the output queue bounded; always let one row through. */
	if (sy->count > 0 && ws_queued(s) >= WS_OUT_PACE) {
		sy->paused = 1;
		return 1;
	}
	if (m != NULL) {
		text = chat_msg_text(m);
		seq = m->seq;
	} else {
		text = broker_event_text(e->type, e->seq, e->data);
		seq = e->seq;
		dest = DEST_EVENTS;
	}
	if (text == NULL) {
		sy->paused = 1;
		return 1;
	}
	if (broker_push(s, dest, seq, text, NULL) == 0) {
		free(text);
		sy->failed = 1;
		return 1;
	}
	free(text);
	sy->count++;
	sy->seq = sy->last = seq;
	/* Only a recipient has a delivery state: of a group, every member. */
	if (m != NULL && (strcmp(m->to, s->user) == 0 ||
	    strcmp(m->chat_type, "GROUP") == 0))
		deliver_push(s, m->id, m->seq);
	return 0;
}

/*
 * Prepare a sync of at most limit rows; the delivery state it reads
 * includes every push written so far.
 */
static void
sync_init(struct sync_rows *sy, struct session *s, int limit)
{
	memset(sy, 0, sizeof *sy);
	sy->s = s;
	sy->limit = limit;
	deliver_flush();
}

/* Build the sync reply data {count, seq, more}. */
static json_t *
sync_data(long long count, long long seq, int more)
{
	return json_pack("{s:I, s:I, s:b}", "count", (json_int_t)count,
	    "seq", (json_int_t)seq, "more", more);
}

/* End a seed sync: answer, forget its state. */
static void
sync_seed_end(struct session *s, int code, const char *msg)
{
	json_t	*data = NULL;
	char	*rid = s->seed_rid;

	s->seed_rid = NULL;
	s->seeding = 0;
	if (code == 0)
		data = sync_data(s->seed_count, s->seed_seq, 0);
	log_debug("session %llu: seed sync pushed %u", s->id, s->seed_count);
	broker_reply(s, rid, code, msg, data);
	free(rid);
}

/*
 * Go on with a seed sync: push undelivered rows until none is left or the
 * output queue is full; sync_resume calls again once it has emptied.
 */
static void
sync_seed_step(struct session *s)
{
	struct sync_rows	 sy;
	int			 n;

	while (s->seeding) {
		if (s->flags & (SESSION_DEAD | SESSION_CLOSING))
			return;
		if (broker_sub_id(s, DEST_MESSAGES) == NULL) {
			sync_seed_end(s, 409, "unsubscribed from " DEST_MESSAGES
			    " during sync");
			return;
		}
		sync_init(&sy, s, SYNC_SEED_BATCH);
		sy.seed = 1;
		n = sstore_msg_pending(s->app, s->user, s->seed_seq,
		    SYNC_SEED_BATCH, sync_row, &sy);
		s->seed_count += (unsigned int)sy.count;
		if (sy.last > 0)
			s->seed_seq = sy.last;
		if (n == -1) {
			sync_seed_end(s, 500, "database error");
			return;
		}
		if (sy.failed || sy.paused)
			return;
		if (n < SYNC_SEED_BATCH) {
			sync_seed_end(s, 0, "ok");
			return;
		}
	}
}

/* The output queue of a session has emptied: resume a paused seed sync. */
void
sync_resume(struct session *s)
{
	if (s->seeding)
		sync_seed_step(s);
}

/* Forget a session's seed sync (the session is going away). */
void
sync_clear(struct session *s)
{
	free(s->seed_rid);
	s->seed_rid = NULL;
	s->seeding = 0;
}

/* Start a seed sync: every undelivered row, oldest first, in batches. */
static void
sync_seed(struct req *r)
{
	struct session	*s = r->s;

	if (s->seeding) {
		req_fail(r, 409, "a sync is already under way");
		return;
	}
	s->seeding = 1;
	s->seed_seq = 0;
	s->seed_count = 0;
	s->seed_rid = r->rid != NULL ? strdup(r->rid) : NULL;
	sync_seed_step(s);
}

/*
 * /app/chat.sync: push what the user missed (seed) or what changed (ext):
 * messages, and events when the session is subscribed to them.
 */
void
sync_chat(struct req *r)
{
	struct sync_rows	 sy;
	struct session		*s = r->s;
	json_t			*since, *limit;
	long long		 from;
	int			 n, next, max = SYNC_LIMIT;

	if (broker_sub_id(s, DEST_MESSAGES) == NULL) {
		req_fail(r, 400, "not subscribed to " DEST_MESSAGES);
		return;
	}
	/*
	 * A seed-only server knows no since: every sync is the seed's.
	 * "next" (sync.next) is the page after the last one this session was
	 * answered or asked for: a client may ask for it before that answer
	 * comes, so the pages of a long sync follow each other with no wait.
	 */
	since = json_object_get(r->body, "since");
	next = json_is_true(json_object_get(r->body, "next"));
	if (broker_profile() & BROKER_SEED_ONLY ||
	    (!next && (since == NULL || json_is_null(since)))) {
		sync_seed(r);
		return;
	}
	if (next && !s->paged) {
		req_fail(r, 400, "next: no since-sync to go on from");
		return;
	}
	if (!next && (!json_is_integer(since) ||
	    json_integer_value(since) < 0)) {
		req_fail(r, 400, "since must be an integer >= 0");
		return;
	}
	from = next ? s->page_end : json_integer_value(since);
	limit = json_object_get(r->body, "limit");
	if (limit != NULL && !json_is_null(limit)) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1) {
			req_fail(r, 400, "limit must be an integer >= 1");
			return;
		}
		if (json_integer_value(limit) < SYNC_MAX)
			max = (int)json_integer_value(limit);
		else
			max = SYNC_MAX;
	}
	sync_init(&sy, s, max);
	/* UPSTREAM.md: missed events come interleaved, in seq order. */
	sy.events = broker_sub_id(s, DEST_EVENTS) != NULL;
	/* One row more than asked tells whether there is more. */
	n = sstore_msg_since(s->app, s->user, from, max + 1, sy.events,
	    sync_row, &sy);
	if (n == -1) {
		req_fail(r, 500, "database error");
		return;
	}
	if (sy.failed)
		return;
	log_debug("session %llu: sync since %lld pushed %d", s->id, from,
	    sy.count);
	s->paged = 1;
	s->page_end = sy.count > 0 ? sy.seq : from;
	req_ok(r, sync_data(sy.count, s->page_end, sy.full || sy.paused));
}
