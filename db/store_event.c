/*
 * store_event: the event log clients replay from (seq since), appended in
 * the turn's transaction so an event is never told before it is stored.
 *
 * A row's body is the event as clients receive it, MessagePack, so a replay
 * copies bytes instead of parsing and encoding each event again. Older
 * caches hold JSON text bodies without their seq (the schema is the same):
 * those are encoded when read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "buf.h"
#include "rpc.h"
#include "store.h"
#include "store_int.h"

const struct store_sql store_event_sql[] = {
	{ Q_EV_ADD, "INSERT INTO events(seq, type, body, created_at) "
	    "VALUES (?1, ?2, ?3, ?4)" },
	{ Q_EV_LAST, "SELECT coalesce(max(seq), 0) FROM events" },
	{ Q_EV_SINCE, "SELECT seq, type, body FROM events WHERE seq > ?1 "
	    "ORDER BY seq LIMIT ?2" },
	{ Q_COUNT, NULL }
};

/* Append an event, already encoded, with the seq after the newest. */
int
store_event_add(struct store *s, int64_t seq, const char *type,
    const void *body, size_t len)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_EV_ADD);
	sqlite3_bind_int64(st, 1, seq);
	store_bind_text(st, 2, type);
	sqlite3_bind_blob(st, 3, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now_ms());
	return store_exec(s, st, "appending event");
}

/* The newest event's seq. */
int64_t
store_event_last(struct store *s)
{
	sqlite3_stmt	*st = store_q(s, Q_EV_LAST);
	int64_t		 v = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/*
 * An event stored as JSON text (by imgwd before its log was MessagePack) as
 * MessagePack with its seq, in tmp. Returns 0, or -1 if the text is not an object.
 */
static int
store_event_legacy(sqlite3_stmt *st, int64_t seq, struct buf *tmp)
{
	json_t	*e = json_loads((const char *)sqlite3_column_text(st, 2), 0,
		    NULL);
	int	 rc = -1;

	if (json_is_object(e) &&
	    json_object_set_new(e, "seq", json_integer(seq)) == 0) {
		buf_reset(tmp);
		rc = rpc_encode_value(tmp, e);
	}
	json_decref(e);
	return rc;
}

/* Call fn for each of up to limit events after since, in order. */
int
store_events_read(struct store *s, int64_t since, int limit,
    store_event_fn *fn, void *arg)
{
	sqlite3_stmt	*st = store_q(s, Q_EV_SINCE);
	struct buf	 tmp;
	int64_t		 seq;
	int		 rc;

	buf_init(&tmp);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*type = (const char *)sqlite3_column_text(st, 1);

		seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 2) == SQLITE_BLOB)
			fn(arg, seq, type, sqlite3_column_blob(st, 2),
			    (size_t)sqlite3_column_bytes(st, 2));
		else if (store_event_legacy(st, seq, &tmp) == 0)
			fn(arg, seq, type, tmp.data, tmp.len);
		else
			fn(arg, seq, type, NULL, 0);	/* unreadable */
	}
	buf_clear(&tmp);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "reading events");
	return 0;
}
