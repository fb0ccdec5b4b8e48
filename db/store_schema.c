/*
 * store_schema: the database's schema version: a new database gets
 * db/schema.sql (embedded as store_schema_sql), an older one the migrations
 * below. Never removes a migration; adds one with each schema change.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/*
 * Schema migrations of older databases; entry i moves user_version from i
 * to i + 1. A new database (version 0) gets db/schema.sql instead, which
 * must equal what the migrations reach (test_store checks it).
 */
static const char *const store_migrations[] = {
	NULL,		/* 1: the first schema; new databases use schema.sql */

	/*
	 * 2: search and conversations. Substrings of three characters or more
	 * come from FTS5's trigram index; it cannot match fewer, so a second,
	 * contentless index holds every character and character pair of each
	 * message (imgw_grams), which answers one- and two-character queries
	 * (Chinese words often are) without scanning. Conversations and their
	 * unread counts are kept by triggers, in the transaction that stores
	 * the message, so they cannot drift from the messages.
	 */
	"ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_created ON messages(created_at);"
	"CREATE VIRTUAL TABLE message_fts USING fts5(content, tokenize = 'trigram',"
	"  content = 'messages', content_rowid = 'rowid');"
	"CREATE VIRTUAL TABLE message_short USING fts5(grams, content = '',"
	"  detail = none, tokenize = 'unicode61 remove_diacritics 0');"
	"INSERT INTO message_fts(message_fts) VALUES ('rebuild');"
	"INSERT INTO message_short(rowid, grams) SELECT rowid, imgw_grams(content)"
	"  FROM messages;"
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN"
	"  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);"
	"  INSERT INTO message_short(rowid, grams)"
	"    VALUES (new.rowid, imgw_grams(new.content));"
	"END;"
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN"
	"  INSERT INTO message_fts(message_fts, rowid, content)"
	"    VALUES ('delete', old.rowid, old.content);"
	"  INSERT INTO message_short(message_short, rowid, grams)"
	"    VALUES ('delete', old.rowid, imgw_grams(old.content));"
	"END;"
	"CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages"
	"  WHEN old.content IS NOT new.content BEGIN"
	"  INSERT INTO message_fts(message_fts, rowid, content)"
	"    VALUES ('delete', old.rowid, old.content);"
	"  INSERT INTO message_short(message_short, rowid, grams)"
	"    VALUES ('delete', old.rowid, imgw_grams(old.content));"
	"  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);"
	"  INSERT INTO message_short(rowid, grams)"
	"    VALUES (new.rowid, imgw_grams(new.content));"
	"END;"
	"CREATE TABLE conversations(conv TEXT PRIMARY KEY, last_id TEXT,"
	"  last_at INTEGER NOT NULL DEFAULT 0, unread INTEGER NOT NULL DEFAULT 0,"
	"  read_at INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,"
	"  muted INTEGER NOT NULL DEFAULT 0, draft TEXT NOT NULL DEFAULT '');"
	/* What was cached before unread counts existed counts as read. */
	"INSERT INTO conversations(conv, last_id, last_at, read_at)"
	"  SELECT conv, id, max(created_at), max(created_at) FROM messages"
	"  GROUP BY conv;"
	"CREATE TRIGGER conversations_ai AFTER INSERT ON messages BEGIN"
	"  INSERT INTO conversations(conv, last_id, last_at)"
	"    VALUES (new.conv, new.id, new.created_at)"
	"    ON CONFLICT(conv) DO UPDATE SET last_id = excluded.last_id,"
	"    last_at = excluded.last_at WHERE excluded.last_at >= last_at;"
	"  UPDATE conversations SET unread = unread + 1 WHERE conv = new.conv"
	"    AND new.status <> 'REVOKED' AND new.from_id <> ''"
	"    AND new.from_id <> coalesce((SELECT value FROM kv WHERE key = 'self'), '')"
	"    AND new.created_at > read_at;"
	"END;"
	"CREATE TRIGGER conversations_revoke AFTER UPDATE OF status ON messages"
	"  WHEN new.status = 'REVOKED' AND old.status <> 'REVOKED' BEGIN"
	"  UPDATE conversations SET unread = max(unread - 1, 0) WHERE conv = new.conv"
	"    AND new.from_id <> '' AND new.created_at > read_at"
	"    AND new.from_id <> coalesce((SELECT value FROM kv WHERE key = 'self'), '');"
	"END;"
	"CREATE TRIGGER conversations_ad AFTER DELETE ON messages BEGIN"
	"  UPDATE conversations SET last_id = (SELECT id FROM messages"
	"    WHERE conv = old.conv ORDER BY created_at DESC, rowid DESC LIMIT 1)"
	"    WHERE conv = old.conv AND last_id = old.id;"
	"  UPDATE conversations SET unread = (SELECT count(*) FROM messages m"
	"    WHERE m.conv = old.conv AND m.created_at > read_at"
	"    AND m.status <> 'REVOKED' AND m.from_id <> '' AND m.from_id <>"
	"    coalesce((SELECT value FROM kv WHERE key = 'self'), ''))"
	"    WHERE conv = old.conv AND old.created_at > read_at;"
	"END;",

	/*
	 * 3: the rest of the IM surface. Message extras (payload, mentions,
	 * replyTo) as one JSON object; the peer's read mark for receipts; and
	 * the server's relationship data (groups, members, friends, requests,
	 * blacklist, profiles) cached as JSON objects by kind and id.
	 */
	"ALTER TABLE messages ADD COLUMN extra TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE conversations ADD COLUMN peer_read_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE objects(kind TEXT NOT NULL, id TEXT NOT NULL,"
	"  body TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;",

	/*
	 * 4: the unread triggers learn our own id from imgw_self() (what the
	 * daemon gave store_set_self), no longer from the kv row 'self'.
	 */
	"DROP TRIGGER conversations_ai;"
	"DROP TRIGGER conversations_revoke;"
	"DROP TRIGGER conversations_ad;"
	"CREATE TRIGGER conversations_ai AFTER INSERT ON messages BEGIN"
	"  INSERT INTO conversations(conv, last_id, last_at)"
	"    VALUES (new.conv, new.id, new.created_at)"
	"    ON CONFLICT(conv) DO UPDATE SET last_id = excluded.last_id,"
	"    last_at = excluded.last_at WHERE excluded.last_at >= last_at;"
	"  UPDATE conversations SET unread = unread + 1 WHERE conv = new.conv"
	"    AND new.status <> 'REVOKED' AND new.from_id <> ''"
	"    AND new.from_id <> imgw_self()"
	"    AND new.created_at > read_at;"
	"END;"
	"CREATE TRIGGER conversations_revoke AFTER UPDATE OF status ON messages"
	"  WHEN new.status = 'REVOKED' AND old.status <> 'REVOKED' BEGIN"
	"  UPDATE conversations SET unread = max(unread - 1, 0) WHERE conv = new.conv"
	"    AND new.from_id <> '' AND new.created_at > read_at"
	"    AND new.from_id <> imgw_self();"
	"END;"
	"CREATE TRIGGER conversations_ad AFTER DELETE ON messages BEGIN"
	"  UPDATE conversations SET last_id = (SELECT id FROM messages"
	"    WHERE conv = old.conv ORDER BY created_at DESC, rowid DESC LIMIT 1)"
	"    WHERE conv = old.conv AND last_id = old.id;"
	"  UPDATE conversations SET unread = (SELECT count(*) FROM messages m"
	"    WHERE m.conv = old.conv AND m.created_at > read_at"
	"    AND m.status <> 'REVOKED' AND m.from_id <> '' AND m.from_id <>"
	"    imgw_self())"
	"    WHERE conv = old.conv AND old.created_at > read_at;"
	"END;",

	/*
	 * 5: the search indexes are built behind the messages, off the turn
	 * that stores them: they hold the messages up to search_mark.upto
	 * (everything cached so far) and the triggers keep only those.
	 */
	"DROP TRIGGER messages_ai;"
	"DROP TRIGGER messages_ad;"
	"DROP TRIGGER messages_au;"
	"CREATE TABLE search_mark(one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  upto INTEGER NOT NULL);"
	"INSERT INTO search_mark SELECT 1, coalesce(max(rowid), 0) FROM messages;"
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages"
	"  WHEN new.rowid <= (SELECT upto FROM search_mark) BEGIN"
	"  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);"
	"  INSERT INTO message_short(rowid, grams)"
	"    VALUES (new.rowid, imgw_grams(new.content));"
	"END;"
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages"
	"  WHEN old.rowid <= (SELECT upto FROM search_mark) BEGIN"
	"  INSERT INTO message_fts(message_fts, rowid, content)"
	"    VALUES ('delete', old.rowid, old.content);"
	"  INSERT INTO message_short(message_short, rowid, grams)"
	"    VALUES ('delete', old.rowid, imgw_grams(old.content));"
	"END;"
	"CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages"
	"  WHEN old.content IS NOT new.content"
	"  AND old.rowid <= (SELECT upto FROM search_mark) BEGIN"
	"  INSERT INTO message_fts(message_fts, rowid, content)"
	"    VALUES ('delete', old.rowid, old.content);"
	"  INSERT INTO message_short(message_short, rowid, grams)"
	"    VALUES ('delete', old.rowid, imgw_grams(old.content));"
	"  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);"
	"  INSERT INTO message_short(rowid, grams)"
	"    VALUES (new.rowid, imgw_grams(new.content));"
	"END;",
};
const int store_version = (int)(sizeof store_migrations / sizeof store_migrations[0]);
#define STORE_VERSION store_version

/*
 * Bring the database to this code's schema: a new one gets schema.sql, an
 * older one the migrations it has not seen, each atomically. 0 or -1.
 */
int
store_migrate(struct store *s)
{
	sqlite3_stmt	*st;
	char		 sql[64];
	int		 v = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, "reading schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v > STORE_VERSION) {
		return store_seterr(s, STORE_E_SCHEMA,
		    "database schema %d is newer than this imgwd (%d)", v, STORE_VERSION);
	}
	/* A new database: the whole schema at once. */
	if (v == 0) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_VERSION);
		if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, store_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			store_fail(s, "creating schema");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		return 0;
	}
	for (; v < STORE_VERSION; v++) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, store_migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			store_fail(s, "migrating schema");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}
