/*
 * store_maint: maintenance of the whole database: counts and sizes, VACUUM
 * and the integrity check. Each runs outside the turn's transaction.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_maint_sql[] = {
	{ Q_STATS, "SELECT (SELECT count(*) FROM messages), "
	    "(SELECT count(*) FROM conversations), (SELECT count(*) FROM events), "
	    "(SELECT count(*) FROM outbox), (SELECT min(created_at) FROM messages), "
	    "(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()), "
	    "(SELECT count(*) FROM messages WHERE rowid > (SELECT upto FROM search_mark))" },
	{ Q_COUNT, NULL }
};

/* Counts and sizes for db.stats. */
json_t *
store_stats(struct store *s)
{
	sqlite3_stmt	*st = store_q(s, Q_STATS);
	json_t		*j = NULL;

	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I}",
		    "messages", (json_int_t)sqlite3_column_int64(st, 0),
		    "conversations", (json_int_t)sqlite3_column_int64(st, 1),
		    "events", (json_int_t)sqlite3_column_int64(st, 2),
		    "outbox", (json_int_t)sqlite3_column_int64(st, 3),
		    "oldest", (json_int_t)sqlite3_column_int64(st, 4),
		    "bytes", (json_int_t)sqlite3_column_int64(st, 5),
		    "schema", store_version,
		    "unindexed", (json_int_t)sqlite3_column_int64(st, 6));
	else
		store_fail(s, "reading statistics");
	sqlite3_reset(st);
	return j;
}

/* Run an SQL maintenance statement outside any transaction. */
static int
store_maintain(struct store *s, const char *sql, const char *what)
{
	if (store_flush(s) == -1)
		return -1;
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, what);
	return 0;
}

/* Rebuild the database file to reclaim free pages. */
int
store_vacuum(struct store *s)
{
	return store_maintain(s, "VACUUM", "vacuuming");
}

/* Check the database's integrity: NULL if sound, else a description (caller frees). */
char *
store_check(struct store *s)
{
	sqlite3_stmt	*st;
	char		*bad = NULL;
	const char	*row;

	/* The index check compares the index with every message. */
	if (store_index_some(s, -1) == -1 || store_flush(s) == -1)
		return strdup(s->err);
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		return strdup(sqlite3_errmsg(s->db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		row = (const char *)sqlite3_column_text(st, 0);
		if (strcmp(row, "ok") != 0 && bad == NULL)
			bad = strdup(row);
	}
	sqlite3_finalize(st);
	/* rank 1: also compare the index with the messages it indexes. */
	if (bad == NULL && sqlite3_exec(s->db, "INSERT INTO message_fts(message_fts, "
	    "rank) VALUES ('integrity-check', 1)", NULL, NULL, NULL) != SQLITE_OK)
		bad = strdup(sqlite3_errmsg(s->db));
	return bad;
}
