/*
 * store_bulk: loading many message rows at once, for tools that make test
 * caches (bench/gen_cache): one big transaction through the same insert
 * and triggers as store_put_message, indexed for search in the same
 * transaction. Not for the daemon's turns.
 */
#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* Start a bulk load: commit the turn, grow the page cache, begin. */
int
store_bulk_begin(struct store *s)
{
	if (store_flush(s) == -1)
		return -1;
	if (sqlite3_exec(s->db, "PRAGMA cache_size = -262144; BEGIN IMMEDIATE",
	    NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, "beginning bulk load");
	return 0;
}

/* Insert one message row of a bulk load. */
int
store_bulk_put(struct store *s, const struct store_row *r)
{
	sqlite3_stmt	*st = store_q(s, Q_MSG_INS);

	store_bind_row(st, r);
	return store_exec(s, st, "bulk inserting message");
}

/* Index a bulk load, commit it and fold the WAL into the database file. */
int
store_bulk_end(struct store *s)
{
	if (store_index_some(s, -1) == -1 || store_flush(s) == -1)
		return -1;
	if (sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL) != SQLITE_OK)
		return store_fail(s, "checkpointing bulk load");
	return 0;
}
