/*
 * sync: fetching what was missed after every connect. With seq (and
 * replies), page by page from a persisted cursor; from a seed-only server,
 * the seed's bare chat.sync, whose pushes have no end: over once the server
 * read it and went quiet. Tells session.c when the session is online.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

#define SYNC_PAGE	1000
#define SYNC_QUIET	0.1	/* a seed sync is over after this much quiet */
#define SYNC_QUIET_MAX	0.5	/* ... or this long after the server read it */

/*
 * Pages asked for at once: with sync.next the next page is asked for while
 * one streams in, so the server reads it while we store this one.
 */
#define SYNC_AHEAD	2

static struct {
	int		 syncing;	/* sync pages asked for, not answered */
	int		 failed;	/* one was refused: ask for no more */
	int64_t		 cursor;	/* highest server seq known complete */
	int64_t		 synced;	/* messages fetched by this sync */
	int		 resync;	/* sync again when this one ends */
	ev_tstamp	 page_at;	/* when the sync page was asked for */
	ev_timer	 quiet;		/* a seed sync's end: quiet */
	ev_tstamp	 quiet_cap;	/* ... or this time */
	int		 init;
} sy;

static int	sync_page(void);
static void	sync_ahead(void);
static void	sync_init(void);
static void	sync_quiet_cb(struct ev_loop *, ev_timer *, int);

/* Read the persisted sync cursor. */
static void
sync_load_cursor(void)
{
	char	*v;

	sy.cursor = 0;
	if ((v = store_get_kv(store, "sync_seq")) != NULL) {
		sy.cursor = strtoll(v, NULL, 10);
		free(v);
	}
}

/* The store rolled back this turn: the cursor in memory may be ahead of it. */
void
sync_rollback(void)
{
	sync_load_cursor();
}

/* Handle a sync reply: advance the cursor, fetch the next page if any. */
static void
sync_reply(void *arg, int code, const char *message, json_t *data)
{
	json_t	*seq = json_object_get(data, "seq");
	char	 v[32];

	if (sy.syncing > 0)
		sy.syncing--;
	if (code != 0 || sy.failed) {
		/* A server without the paged sync: live messages still flow. */
		if (code != 0 && !sy.failed)
			log_warn("sync failed: %d %s", code, message);
		sy.failed = sy.failed || code != 0;
		if (sy.syncing == 0 && session_state() == SESSION_SYNCING &&
		    upstream_is_open())
			session_online("sync failed");
		return;
	}
	sy.synced += json_integer_value(json_object_get(data, "count"));
	if (json_is_integer(seq) && json_integer_value(seq) > sy.cursor) {
		sy.cursor = json_integer_value(seq);
		snprintf(v, sizeof v, "%lld", (long long)sy.cursor);
		if (store_set_kv(store, "sync_seq", v) == -1)
			log_warn("%s", store_error(store));
	}
	log_debug("synced %lld messages up to %lld",
	    (long long)json_integer_value(json_object_get(data, "count")),
	    (long long)sy.cursor);
	events_emit("sync.progress", json_pack("{s:I,s:I,s:b}",
	    "count", (json_int_t)sy.synced, "seq", (json_int_t)sy.cursor,
	    "more", json_is_true(json_object_get(data, "more"))));
	/*
	 * Pages are answered in order, each after its messages: while one
	 * says there is more, keep SYNC_AHEAD asked for; when the last is in,
	 * the sync is over (or starts again from the cursor).
	 */
	if (json_is_true(json_object_get(data, "more"))) {
		if (caps_has("sync.next"))
			sync_ahead();
		else
			sync_page();
	}
	if (sy.syncing > 0)
		return;
	if (sy.resync) {
		sy.resync = 0;
		sync_page();
	} else if (session_state() == SESSION_SYNCING)
		session_online("");
}

/*
 * The server has read the seed's chat.sync: what it pushes comes now, with
 * no end marker. Online after a short quiet (or SYNC_QUIET_MAX at most);
 * whatever comes later is stored like any message.
 */
static void
sync_seed_read(void *arg, int code, const char *message, json_t *data)
{
	if (session_state() != SESSION_SYNCING)
		return;
	if (code != 0) {
		/* Unanswered or refused, not lost: live messages still flow. */
		if (upstream_is_open())
			session_online("sync failed");
		return;
	}
	sy.quiet_cap = ev_now(loop) + SYNC_QUIET_MAX;
	ev_timer_set(&sy.quiet, SYNC_QUIET, 0);
	ev_timer_start(loop, &sy.quiet);
}

/* A message arrived: a seed sync is not quiet yet. */
void
sync_not_quiet(void)
{
	ev_tstamp	 now = ev_now(loop);

	if (!ev_is_active(&sy.quiet) || now + SYNC_QUIET > sy.quiet_cap)
		return;
	ev_timer_stop(loop, &sy.quiet);
	ev_timer_set(&sy.quiet, SYNC_QUIET, 0);
	ev_timer_start(loop, &sy.quiet);
}

static void
sync_quiet_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (session_state() == SESSION_SYNCING)
		session_online("");
}

/*
 * Ask the server for what we missed (UPSTREAM.md chat.sync): everything
 * after our cursor, page by page, from a server with seq; else the seed's
 * bare request, whose pushes have no end. Returns 1 if a sync is under way.
 */
static int
sync_page(void)
{
	if (!caps_has("seq") || !caps_has("replies"))
		return pending_request("/app/chat.sync", json_object(),
		    sync_seed_read, NULL) == 0;
	sy.failed = 0;
	if (pending_request("/app/chat.sync", json_pack("{s:I,s:i}",
	    "since", (json_int_t)sy.cursor, "limit", SYNC_PAGE),
	    sync_reply, NULL) == 0) {
		sy.syncing = 1;
		sy.page_at = ev_now(loop);
		sync_ahead();
	}
	return sy.syncing > 0;
}

/*
 * With sync.next, keep SYNC_AHEAD pages asked for: "next" is the page
 * after the last one asked for. Without it, one page at a time.
 */
static void
sync_ahead(void)
{
	json_t	*body;

	while (caps_has("sync.next") && sy.syncing < SYNC_AHEAD) {
		body = json_pack("{s:b,s:i}", "next", 1, "limit", SYNC_PAGE);
		if (pending_request("/app/chat.sync", body, sync_reply,
		    NULL) == -1)
			return;
		sy.syncing++;
		sy.page_at = ev_now(loop);
	}
}

/*
 * Whether to keep this turn's transaction open: a sync page is arriving
 * (briefly), so its messages and its cursor commit together, in one
 * transaction instead of one per WebSocket read. A crash in between only
 * means syncing that page again.
 */
int
sync_holding(void)
{
	return sy.syncing > 0 && ev_now(loop) - sy.page_at < 1.0;
}

/*
 * Sync again from the cursor: a new group channel was just followed, and
 * its messages from before could be behind a live seq we already counted.
 * The SUBSCRIBE went out first, so the server answers everything up to it.
 */
void
sync_resync(void)
{
	/* A seed sync has no cursor: the channel's live messages are all. */
	if (!session_is_up() || !caps_has("seq"))
		return;
	if (sy.syncing)
		sy.resync = 1;
	else
		sync_page();
}

/*
 * A live message carried server seq: when no sync is running, everything up
 * to it has been seen (we were subscribed before the last sync finished).
 */
void
sync_saw_seq(int64_t seq)
{
	char	 v[32];

	sync_init();
	if (sy.syncing || seq <= sy.cursor)
		return;
	sy.cursor = seq;
	snprintf(v, sizeof v, "%lld", (long long)seq);
	if (store_set_kv(store, "sync_seq", v) == -1)
		log_warn("%s", store_error(store));
}

/* Set up on first use: the cursor from the store. */
static void
sync_init(void)
{
	if (sy.init)
		return;
	sy.init = 1;
	ev_timer_init(&sy.quiet, sync_quiet_cb, SYNC_QUIET, 0);
	sync_load_cursor();
}

/* The session is up (syncing): fetch what was missed, or go online. */
void
sync_start(void)
{
	sync_init();
	sy.synced = 0;
	if (!sync_page())
		session_online("");
}

/* The connection is gone: whatever sync was under way is over. */
void
sync_stop(void)
{
	sync_init();
	sy.syncing = 0;
	sy.resync = 0;
	sy.failed = 0;
	ev_timer_stop(loop, &sy.quiet);
}
