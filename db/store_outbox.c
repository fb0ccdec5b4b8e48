/*
 * store_outbox: the durable queue of requests sent while offline or not
 * yet answered, in order. Only rows: what a body means is the daemon's.
 */
#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_outbox_sql[] = {
	{ Q_OUT_ADD, "INSERT OR IGNORE INTO outbox(id, dest, body) VALUES (?1, ?2, ?3)" },
	{ Q_OUT_DEL, "DELETE FROM outbox WHERE id = ?1" },
	{ Q_OUT_LIST, "SELECT id, dest, body FROM outbox ORDER BY pos" },
	{ Q_OUT_HAS, "SELECT 1 FROM outbox WHERE id = ?1" },
	{ Q_COUNT, NULL }
};

/* An outbox row as {id, dest, body}. */
static json_t *
store_row_outbox(sqlite3_stmt *st)
{
	return json_pack("{s:s,s:s,s:s}", "id", sqlite3_column_text(st, 0),
	    "dest", sqlite3_column_text(st, 1), "body", sqlite3_column_text(st, 2));
}

/* Queue an outbox entry; an id already queued is kept as it is. */
int
store_outbox_add(struct store *s, const char *id, const char *dest, const char *body)
{
	return store_change(s, Q_OUT_ADD, "queueing outbox entry", 3, id, dest, body);
}

/* Delete an outbox entry. */
int
store_outbox_del(struct store *s, const char *id)
{
	return store_change(s, Q_OUT_DEL, "deleting outbox entry", 1, id);
}

/* List the outbox in queue order. */
json_t *
store_outbox_list(struct store *s)
{
	return store_collect(s, store_q(s, Q_OUT_LIST), store_row_outbox,
	    "reading outbox");
}

/* Whether an id is still in the outbox. */
int
store_outbox_has(struct store *s, const char *id)
{
	sqlite3_stmt	*st = store_q(s, Q_OUT_HAS);
	int		 rc;

	store_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}
