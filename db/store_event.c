/*
 * store_event: the event log clients replay from (seq since), appended in
 * the turn's transaction so an event is never told before it is stored.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_event_sql[] = {
	{ Q_EV_ADD, "INSERT INTO events(type, body, created_at) VALUES (?1, ?2, ?3)" },
	{ Q_EV_LAST, "SELECT coalesce(max(seq), 0) FROM events" },
	{ Q_EV_SINCE, "SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2" },
	{ Q_COUNT, NULL }
};

/* An event row (seq, body) as the body with its seq, or NULL if unreadable. */
static json_t *
store_row_event(sqlite3_stmt *st)
{
	json_t	*e = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);

	if (e == NULL || !json_is_object(e)) {
		json_decref(e);
		return NULL;
	}
	json_object_set_new(e, "seq", json_integer(sqlite3_column_int64(st, 0)));
	return e;
}

/* Append an event to the log. */
int64_t
store_event_add(struct store *s, const char *type, json_t *body)
{
	sqlite3_stmt	*st;
	char		*text;
	int		 rc;

	if (store_write(s) == -1)
		return -1;
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		return store_seterr(s, STORE_E_BAD_INPUT, "cannot serialise event");
	}
	st = store_q(s, Q_EV_ADD);
	store_bind_text(st, 1, type);
	sqlite3_bind_text(st, 2, text, -1, free);
	sqlite3_bind_int64(st, 3, store_now_ms());
	rc = store_exec(s, st, "appending event");
	return rc == -1 ? -1 : sqlite3_last_insert_rowid(s->db);
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

/* Read events after since, each with its seq and type. */
json_t *
store_events_since(struct store *s, int64_t since, int limit)
{
	sqlite3_stmt	*st = store_q(s, Q_EV_SINCE);

	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, limit);
	return store_collect(s, st, store_row_event, "reading events");
}
