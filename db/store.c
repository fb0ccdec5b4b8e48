/*
 * store: SQLite persistence for one account's gateway. Owns the schema, its
 * migrations (PRAGMA user_version) and every SQL statement, each prepared
 * once at open. Never talks to the network or to clients.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "buf.h"
#include "store.h"

enum {
	Q_KV_GET, Q_KV_SET,
	Q_MSG_GET, Q_MSG_INS, Q_MSG_UPD, Q_MSG_STATUS, Q_MSG_DEL,
	Q_HIST_OLDER, Q_HIST_NEWER, Q_MSG_POS,
	Q_SEARCH_LONG, Q_SEARCH_SHORT,
	Q_CONV_LIST, Q_CONV_GET, Q_CONV_PIN, Q_CONV_MUTE, Q_CONV_DRAFT,
	Q_CONV_READ, Q_CONV_DEL, Q_CONV_MSGS_DEL, Q_UNREAD_TOTAL,
	Q_OUT_ADD, Q_OUT_DEL, Q_OUT_LIST, Q_OUT_HAS,
	Q_EV_ADD, Q_EV_LAST, Q_EV_SINCE,
	Q_OBJ_PUT, Q_OBJ_GET, Q_OBJ_DEL, Q_OBJ_LIST, Q_OBJ_DEL_PREFIX,
	Q_PEER_READ,
	Q_STATS,
	Q_COUNT
};

/* The message columns, in the order store_row_message reads them. */
#define MSG_COLS "m.id, m.conv, m.from_id, m.to_id, m.msg_type, m.content, " \
	"m.status, m.created_at, m.seq, m.edited_at, m.extra"
#define MSG_NCOLS 11

/*
 * Filters shared by both search statements: ?2 conv, ?3 sender, ?4/?5 time,
 * ?6 cursor. Results come in the index's rowid order (newest in the cache
 * first), so SQLite walks the index backwards and stops at the limit instead
 * of fetching and sorting every match of a common word.
 */
#define SEARCH_FILTER \
	" AND f.rowid < ?6" \
	" AND (?2 IS NULL OR m.conv = ?2) AND (?3 IS NULL OR m.from_id = ?3)" \
	" AND m.created_at >= ?4 AND m.created_at <= ?5" \
	" AND instr(lower(m.content), lower(?7)) > 0" \
	" ORDER BY f.rowid DESC LIMIT ?8"

static const char *const store_sql[Q_COUNT] = {
	[Q_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
	[Q_KV_SET] = "INSERT INTO kv(key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[Q_MSG_GET] = "SELECT " MSG_COLS " FROM messages m WHERE m.id = ?1",
	[Q_MSG_INS] = "INSERT INTO messages(id, conv, from_id, to_id, msg_type, "
	    "content, status, created_at, seq, edited_at, extra) "
	    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
	[Q_MSG_UPD] = "UPDATE messages SET content = ?2, status = ?3, "
	    "created_at = ?4, seq = ?5, edited_at = ?6, extra = ?7 WHERE id = ?1",
	/* A message queued before we knew who we are gets our id now. */
	[Q_MSG_STATUS] = "UPDATE messages SET status = ?2, "
	    "from_id = CASE WHEN from_id = '' THEN coalesce((SELECT value "
	    "FROM kv WHERE key = 'self'), '') ELSE from_id END, "
	    "created_at = CASE WHEN ?3 > 0 THEN ?3 ELSE created_at END, "
	    "seq = CASE WHEN ?4 > 0 THEN ?4 ELSE seq END WHERE id = ?1 "
	    /* Only forward: SENDING settles, FAILED is sent again. */
	    "AND (status = 'SENDING' OR (status = 'FAILED' AND ?2 = 'SENDING')) "
	    "RETURNING conv",
	[Q_MSG_DEL] = "DELETE FROM messages WHERE id = ?1",
	/* Keyset pages: ?3/?4 is the (created_at, rowid) of the edge message. */
	[Q_HIST_OLDER] = "SELECT " MSG_COLS " FROM messages m WHERE m.conv = ?1 "
	    "AND (m.created_at < ?3 OR (m.created_at = ?3 AND m.rowid < ?4)) "
	    "ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?2",
	[Q_HIST_NEWER] = "SELECT " MSG_COLS " FROM messages m WHERE m.conv = ?1 "
	    "AND (m.created_at > ?3 OR (m.created_at = ?3 AND m.rowid > ?4)) "
	    "ORDER BY m.created_at ASC, m.rowid ASC LIMIT ?2",
	[Q_MSG_POS] = "SELECT created_at, rowid FROM messages WHERE id = ?1 AND conv = ?2",
	/* Three characters or more: the trigram index. */
	[Q_SEARCH_LONG] = "SELECT " MSG_COLS ", m.rowid FROM message_fts f "
	    "JOIN messages m ON m.rowid = f.rowid WHERE message_fts MATCH ?1"
	    SEARCH_FILTER,
	/* One or two: the index of every character and character pair. */
	[Q_SEARCH_SHORT] = "SELECT " MSG_COLS ", m.rowid FROM message_short f "
	    "JOIN messages m ON m.rowid = f.rowid WHERE message_short MATCH ?1"
	    SEARCH_FILTER,
	[Q_CONV_LIST] = "SELECT c.conv, c.last_at, c.unread, c.pinned, c.muted, "
	    "c.draft, c.peer_read_at, " MSG_COLS " FROM conversations c LEFT JOIN messages m "
	    "ON m.id = c.last_id ORDER BY c.pinned DESC, c.last_at DESC, c.conv "
	    "LIMIT ?1 OFFSET ?2",
	[Q_CONV_GET] = "SELECT c.conv, c.last_at, c.unread, c.pinned, c.muted, "
	    "c.draft, c.peer_read_at, " MSG_COLS " FROM conversations c LEFT JOIN messages m "
	    "ON m.id = c.last_id WHERE c.conv = ?1",
	[Q_CONV_PIN] = "INSERT INTO conversations(conv, pinned) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET pinned = excluded.pinned",
	[Q_CONV_MUTE] = "INSERT INTO conversations(conv, muted) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET muted = excluded.muted",
	[Q_CONV_DRAFT] = "INSERT INTO conversations(conv, draft) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET draft = excluded.draft",
	/*
	 * Read up to a time (?2; -1: the newest message); the unread count is
	 * recounted, never guessed.
	 */
	[Q_CONV_READ] = "UPDATE conversations SET read_at = r.at, unread = "
	    "(SELECT count(*) FROM messages m WHERE m.conv = ?1 AND "
	    "m.created_at > r.at AND m.status <> 'REVOKED' AND m.from_id <> '' "
	    "AND m.from_id <> coalesce((SELECT value FROM kv WHERE key = 'self'), '')) "
	    "FROM (SELECT max(read_at, CASE WHEN ?2 >= 0 THEN ?2 ELSE "
	    "coalesce((SELECT max(created_at) FROM messages WHERE conv = ?1), 0) "
	    "END) AS at FROM conversations WHERE conv = ?1) AS r WHERE conv = ?1",
	[Q_CONV_DEL] = "DELETE FROM conversations WHERE conv = ?1",
	[Q_CONV_MSGS_DEL] = "DELETE FROM messages WHERE conv = ?1",
	[Q_UNREAD_TOTAL] = "SELECT coalesce(sum(unread), 0) FROM conversations "
	    "WHERE muted = 0",
	[Q_OUT_ADD] = "INSERT OR IGNORE INTO outbox(id, dest, body) VALUES (?1, ?2, ?3)",
	[Q_OUT_DEL] = "DELETE FROM outbox WHERE id = ?1",
	[Q_OUT_LIST] = "SELECT id, dest, body FROM outbox ORDER BY pos",
	[Q_OUT_HAS] = "SELECT 1 FROM outbox WHERE id = ?1",
	[Q_EV_ADD] = "INSERT INTO events(type, body, created_at) VALUES (?1, ?2, ?3)",
	[Q_EV_LAST] = "SELECT coalesce(max(seq), 0) FROM events",
	[Q_EV_SINCE] = "SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[Q_OBJ_PUT] = "INSERT INTO objects(kind, id, body) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body",
	[Q_OBJ_GET] = "SELECT body FROM objects WHERE kind = ?1 AND id = ?2",
	[Q_OBJ_DEL] = "DELETE FROM objects WHERE kind = ?1 AND id = ?2",
	/* Ids under a prefix: "g1/" lists group g1's members. */
	[Q_OBJ_LIST] = "SELECT body FROM objects WHERE kind = ?1 AND "
	    "id >= ?2 AND id < ?2 || char(1114111) ORDER BY id",
	[Q_OBJ_DEL_PREFIX] = "DELETE FROM objects WHERE kind = ?1 AND "
	    "id >= ?2 AND id < ?2 || char(1114111)",
	[Q_PEER_READ] = "UPDATE conversations SET peer_read_at = "
	    "max(peer_read_at, ?2) WHERE conv = ?1",
	[Q_STATS] = "SELECT (SELECT count(*) FROM messages), "
	    "(SELECT count(*) FROM conversations), (SELECT count(*) FROM events), "
	    "(SELECT count(*) FROM outbox), (SELECT min(created_at) FROM messages), "
	    "(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())",
};

/* Schema migrations; entry i moves user_version from i to i + 1. */
static const char *const store_migrations[] = {
	"CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE messages("
	"  id TEXT PRIMARY KEY, conv TEXT NOT NULL, from_id TEXT NOT NULL,"
	"  to_id TEXT NOT NULL, msg_type TEXT NOT NULL, content TEXT NOT NULL,"
	"  status TEXT NOT NULL, created_at INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_conv ON messages(conv, created_at);"
	"CREATE TABLE outbox(pos INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE, dest TEXT NOT NULL, body TEXT NOT NULL);"
	"CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);",

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
};
#define STORE_VERSION ((int)(sizeof store_migrations / sizeof store_migrations[0]))

struct store {
	sqlite3		*db;
	sqlite3_stmt	*q[Q_COUNT];
	int		 pending;	/* writes in the open transaction */
	char		 err[512];
};

/* Remember the database's error text, prefixed by what was being done. */
static int
store_fail(struct store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/* Return the last error text. */
const char *
store_error(struct store *s)
{
	return s->err;
}

static int64_t
store_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything odd). */
static size_t
store_utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	if (c >= 0xe0)
		return c <= 0xef ? 3 : 1;
	if (c >= 0xc2)
		return 2;
	return 1;
}

/* Append the hex of n bytes of p, ASCII folded to lower case, and a space. */
static size_t
store_hex(char *out, const unsigned char *p, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 k, o = 0;

	for (k = 0; k < n; k++) {
		unsigned char c = p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k];

		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o++] = ' ';
	return o;
}

/*
 * imgw_grams(text): every character and every pair of adjacent characters
 * of text (ASCII folded to lower case; pairs with white space left out),
 * each written in hex and separated by spaces. These are the tokens of the
 * one- and two-character index; hex makes every character, punctuation and
 * emoji included, a token the unicode61 tokenizer keeps whole.
 */
static void
store_fn_grams(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*t = sqlite3_value_text(argv[0]);
	int			 n = sqlite3_value_bytes(argv[0]);
	size_t			 prev = 0, plen = 0, i, l, o = 0;
	char			*out;

	if (t == NULL || n == 0) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	/*
	 * A character of l bytes is written alone (2l + 1) and in two pairs
	 * (2l each, plus a space per pair): at most 9 bytes per input byte,
	 * reached by ASCII.
	 */
	if ((out = sqlite3_malloc64((sqlite3_uint64)n * 9 + 1)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (i = 0; i < (size_t)n; i += l) {
		l = store_utf8_len(t[i]);
		if (i + l > (size_t)n)
			l = (size_t)n - i;
		if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
			plen = 0;
			continue;
		}
		if (plen > 0)
			o += store_hex(out + o, t + prev, plen + l);
		o += store_hex(out + o, t + i, l);
		prev = i;
		plen = l;
	}
	sqlite3_result_text(ctx, out, (int)o, sqlite3_free);
}

/* Apply the migrations the database has not seen yet, each atomically. */
static int
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
		snprintf(s->err, sizeof s->err,
		    "database schema %d is newer than this imgwd (%d)", v, STORE_VERSION);
		return -1;
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

/* Open the database at path. */
struct store *
store_open(const char *path, char **cause)
{
	struct store	*s;
	int		 i;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_fail(s, path);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_create_function(s->db, "imgw_grams", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, store_fn_grams,
	    NULL, NULL) != SQLITE_OK) {
		store_fail(s, "registering imgw_grams");
		goto fail;
	}
	/*
	 * WAL with synchronous = FULL syncs the WAL at every commit, so a
	 * commit that returned is on disk (store_set_durability).
	 */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
	    NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "configuring database");
		goto fail;
	}
	if (store_migrate(s) == -1)
		goto fail;
	for (i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) != SQLITE_OK) {
			store_fail(s, "preparing statement");
			goto fail;
		}
	}
	return s;
fail:
	*cause = strdup(s->err);
	store_close(s);
	return NULL;
}

/*
 * Set how far commits survive. With WAL, NORMAL syncs only at checkpoints:
 * a crash of the process loses nothing, a power cut may undo the last
 * commits. FULL also syncs the WAL at every commit.
 */
int
store_set_durability(struct store *s, enum store_durability d)
{
	const char	*sql = d == STORE_DURABLE_NORMAL ?
	    "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";

	if (store_flush(s) == -1)
		return -1;
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, "setting durability");
	return 0;
}

/* Commit and close. */
void
store_close(struct store *s)
{
	int	 i;

	if (s == NULL)
		return;
	if (s->db != NULL)
		store_flush(s);
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s);
}

/* Open this turn's transaction if none is open. */
static int
store_write(struct store *s)
{
	s->pending++;
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	s->pending = 1;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, "beginning transaction");
	return 0;
}

/* How many writes the open transaction holds (0 when none is open). */
int
store_pending(struct store *s)
{
	return sqlite3_get_autocommit(s->db) ? 0 : s->pending;
}

/* Commit this turn's writes. */
int
store_flush(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "committing");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Fetch a prepared statement, reset and unbound. */
static sqlite3_stmt *
store_q(struct store *s, int which)
{
	sqlite3_stmt	*st = s->q[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Step a statement that returns no rows. */
static int
store_exec(struct store *s, sqlite3_stmt *st, const char *what)
{
	int	 rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, what);
	return 0;
}

static void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/*
 * Run a writing statement whose n parameters are all text, in this turn's
 * transaction. Returns 0, or -1 with the error prefixed by what.
 */
static int
store_change(struct store *s, int which, const char *what, int n, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 i;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, which);
	va_start(ap, n);
	for (i = 1; i <= n; i++)
		store_bind_text(st, i, va_arg(ap, const char *));
	va_end(ap);
	return store_exec(s, st, what);
}

/* Get a key/value entry. */
char *
store_get_kv(struct store *s, const char *key)
{
	sqlite3_stmt	*st = store_q(s, Q_KV_GET);
	char		*v = NULL;
	int		 rc;

	store_bind_text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		store_fail(s, "reading kv");
	sqlite3_reset(st);
	return v;
}

/* Set a key/value entry. */
int
store_set_kv(struct store *s, const char *key, const char *value)
{
	return store_change(s, Q_KV_SET, "writing kv", 2, key, value);
}

/* Turn a conversation key ("u:bob", "g:42") into {"user": ..} or {"group": ..}. */
static json_t *
store_conv_object(const char *conv)
{
	if (strncmp(conv, "g:", 2) == 0)
		return json_pack("{s:s}", "group", conv + 2);
	return json_pack("{s:s}", "user", conv + 2);
}

/* Build a message object from MSG_COLS starting at column c (NULL if absent). */
static json_t *
store_row_message_at(sqlite3_stmt *st, int c)
{
	json_t	*m;

#define COL(i) ((const char *)sqlite3_column_text(st, c + (i)))
	if (sqlite3_column_type(st, c) == SQLITE_NULL)
		return json_null();
	m = json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:I,s:I}",
	    "id", COL(0), "conversation", store_conv_object(COL(1)),
	    "from", COL(2), "to", COL(3), "type", COL(4), "content", COL(5),
	    "status", COL(6), "createdAt", (json_int_t)sqlite3_column_int64(st, c + 7),
	    "seq", (json_int_t)sqlite3_column_int64(st, c + 8));
#undef COL
	if (m != NULL && sqlite3_column_int64(st, c + 9) != 0)
		json_object_set_new(m, "editedAt",
		    json_integer(sqlite3_column_int64(st, c + 9)));
	if (m != NULL && sqlite3_column_bytes(st, c + 10) > 0) {
		json_t	*extra = json_loads((const char *)sqlite3_column_text(st,
		    c + 10), 0, NULL);

		if (json_is_object(extra))
			json_object_update(m, extra);
		json_decref(extra);
	}
	return m;
}

static json_t *
store_row_message(sqlite3_stmt *st)
{
	return store_row_message_at(st, 0);
}

static const char *
store_str(json_t *o, const char *key, const char *dflt)
{
	const char	*v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : dflt;
}

static int64_t
store_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The message extras (payload, mentions, replyTo) as JSON text, "" if none. */
static char *
store_extra(json_t *msg)
{
	static const char *const keys[] = { "payload", "mentions", "replyTo" };
	json_t	*e = json_object();
	char	*text;
	size_t	 i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t	*v = json_object_get(msg, keys[i]);

		if (v != NULL && !json_is_null(v))
			json_object_set(e, keys[i], v);
	}
	text = json_object_size(e) == 0 ? strdup("") : json_dumps(e,
	    JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(e);
	return text;
}

static int	store_put_message_row(struct store *, const char *, json_t *,
		    const char *, const char *, const char *, int64_t, int64_t,
		    const char *);

/* Insert or update a message. */
int
store_put_message(struct store *s, const char *conv, json_t *msg)
{
	const char	*id = store_str(msg, "id", NULL);
	const char	*status = store_str(msg, "status", "SENT");
	const char	*content = store_str(msg, "content", "");
	int64_t		 seq = store_int(msg, "seq");
	int64_t		 edited = store_int(msg, "editedAt");
	char		*extra = store_extra(msg);
	int		 put;

	if (id == NULL || extra == NULL) {
		snprintf(s->err, sizeof s->err, "message without id");
		free(extra);
		return -1;
	}
	put = store_put_message_row(s, conv, msg, id, status, content, seq,
	    edited, extra);
	free(extra);
	return put;
}

/* store_put_message, once the extras are serialised. */
static int
store_put_message_row(struct store *s, const char *conv, json_t *msg,
    const char *id, const char *status, const char *content, int64_t seq,
    int64_t edited, const char *extra)
{
	sqlite3_stmt	*st;
	int		 rc, same;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_MSG_GET);
	store_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *ostatus = (const char *)sqlite3_column_text(st, 6);

		same = strcmp(ostatus, "REVOKED") == 0 ||
		    (strcmp(ostatus, status) == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 5), content) == 0 &&
		    sqlite3_column_int64(st, 8) == seq &&
		    sqlite3_column_int64(st, 9) == edited &&
		    strcmp((const char *)sqlite3_column_text(st, 10), extra) == 0);
		sqlite3_reset(st);
		if (same)
			return STORE_UNCHANGED;
		st = store_q(s, Q_MSG_UPD);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, content);
		store_bind_text(st, 3, status);
		sqlite3_bind_int64(st, 4, store_int(msg, "createdAt"));
		sqlite3_bind_int64(st, 5, seq);
		sqlite3_bind_int64(st, 6, edited);
		store_bind_text(st, 7, extra);
		return store_exec(s, st, "updating message") == -1 ? -1 : STORE_UPDATED;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "reading message");
	st = store_q(s, Q_MSG_INS);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, conv);
	store_bind_text(st, 3, store_str(msg, "from", ""));
	store_bind_text(st, 4, store_str(msg, "to", ""));
	store_bind_text(st, 5, store_str(msg, "type", "TEXT"));
	store_bind_text(st, 6, content);
	store_bind_text(st, 7, status);
	sqlite3_bind_int64(st, 8, store_int(msg, "createdAt"));
	sqlite3_bind_int64(st, 9, seq);
	sqlite3_bind_int64(st, 10, edited);
	store_bind_text(st, 11, extra);
	return store_exec(s, st, "inserting message") == -1 ? -1 : STORE_INSERTED;
}

/*
 * Step a bound statement and collect row(st) of each row into a new array
 * (a NULL from row skips the row). NULL on error, with the error prefixed
 * by what.
 */
static json_t *
store_collect(struct store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *),
    const char *what)
{
	json_t	*a = json_array(), *o;
	int	 rc = SQLITE_DONE;

	while (a != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((o = row(st)) != NULL)
			json_array_append_new(a, o);
	}
	if (a != NULL && rc != SQLITE_DONE) {
		store_fail(s, what);
		json_decref(a);
		a = NULL;
	}
	sqlite3_reset(st);
	return a;
}

/* A row whose first column is JSON text (objects cache), or NULL. */
static json_t *
store_row_json(sqlite3_stmt *st)
{
	return json_loads((const char *)sqlite3_column_text(st, 0),
	    JSON_DECODE_ANY, NULL);
}

/* An outbox row as {id, dest, body}. */
static json_t *
store_row_outbox(sqlite3_stmt *st)
{
	return json_pack("{s:s,s:s,s:s}", "id", sqlite3_column_text(st, 0),
	    "dest", sqlite3_column_text(st, 1), "body", sqlite3_column_text(st, 2));
}

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

/*
 * Run a one-row query keyed by key and build its result with row, or NULL:
 * absent (store_error is then empty) or failed (store_error says why).
 */
static json_t *
store_one(struct store *s, int which, const char *key,
    json_t *(*row)(sqlite3_stmt *), const char *what)
{
	sqlite3_stmt	*st = store_q(s, which);
	json_t		*o = NULL;
	int		 rc;

	s->err[0] = '\0';
	store_bind_text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		o = row(st);
	else if (rc != SQLITE_DONE)
		store_fail(s, what);
	sqlite3_reset(st);
	return o;
}

/* Read one message. */
json_t *
store_get_message(struct store *s, const char *id)
{
	return store_one(s, Q_MSG_GET, id, store_row_message, "reading message");
}

/* Update a message's delivery state. */
int
store_set_status(struct store *s, const char *id, const char *status,
    int64_t created_at, int64_t seq, json_t **conv)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (conv != NULL)
		*conv = NULL;
	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_MSG_STATUS);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, status);
	sqlite3_bind_int64(st, 3, created_at);
	sqlite3_bind_int64(st, 4, seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (conv != NULL && *conv == NULL)
			*conv = store_conv_object((const char *)
			    sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (conv != NULL) {
			json_decref(*conv);
			*conv = NULL;
		}
		return store_fail(s, "updating message status");
	}
	return 0;
}

/* Find a message's keyset position in a conversation. Returns 0, or -1. */
static int
store_position(struct store *s, const char *conv, const char *id, int64_t *at,
    int64_t *rowid)
{
	sqlite3_stmt	*st = store_q(s, Q_MSG_POS);
	int		 rc;

	store_bind_text(st, 1, id);
	store_bind_text(st, 2, conv);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*at = sqlite3_column_int64(st, 0);
		*rowid = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		snprintf(s->err, sizeof s->err, "no message %s in this conversation", id);
	else
		store_fail(s, "reading history");
	return -1;
}

/* Read a page of a conversation's history; see store.h. */
json_t *
store_history(struct store *s, const char *conv, const char *before,
    const char *after, int limit, int newest_first, int *more, int *start)
{
	sqlite3_stmt	*st;
	json_t		*a, *m;
	int64_t		 at = INT64_MAX, rowid = INT64_MAX;
	int		 rc, n = 0, older = after == NULL;

	*more = 0;
	*start = older;		/* until a row proves otherwise */
	if (before != NULL || after != NULL) {
		if (store_position(s, conv, before ? before : after, &at, &rowid) == -1)
			return NULL;
	}
	st = store_q(s, older ? Q_HIST_OLDER : Q_HIST_NEWER);
	store_bind_text(st, 1, conv);
	sqlite3_bind_int(st, 2, limit + 1);	/* one more tells if there are more */
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, rowid);
	if ((a = json_array()) == NULL)
		return NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit) {
			*more = 1;
			if (older)
				*start = 0;
			break;
		}
		if ((m = store_row_message(st)) == NULL)
			goto fail;
		/* Rows come in the paging direction; order the page as asked. */
		if ((older == newest_first ? json_array_append_new(a, m) :
		    json_array_insert_new(a, 0, m)) == -1)
			goto fail;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail(s, "reading history");
		goto fail;
	}
	sqlite3_reset(st);
	return a;
fail:
	sqlite3_reset(st);
	json_decref(a);
	return NULL;
}

/* Count UTF-8 characters. */
static size_t
store_chars(const char *p)
{
	size_t	 n = 0;

	for (; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	return n;
}

/* Find needle in hay, ASCII case folded; returns the byte offset or -1. */
static long
store_find(const char *hay, const char *needle)
{
	size_t	 i, n = strlen(needle), h = strlen(hay);

	for (i = 0; n <= h && i <= h - n; i++) {
		if (strncasecmp(hay + i, needle, n) == 0)
			return (long)i;
	}
	return -1;
}

/*
 * A snippet of content around the first match of q: up to SNIPPET_CHARS
 * characters each side, the match between the marks, "…" where cut.
 */
#define SNIPPET_CHARS	16
static json_t *
store_snippet(const char *content, const char *q)
{
	long		 at = store_find(content, q);
	size_t		 qn = strlen(q), b, e, k;
	struct {
		char	*p;
		size_t	 n;
	}		 out = { NULL, 0 };
	FILE		*f;
	json_t		*j;

	if (at < 0)
		return json_string("");
	b = (size_t)at;
	for (k = 0; k < SNIPPET_CHARS && b > 0; k++) {
		do
			b--;
		while (b > 0 && ((unsigned char)content[b] & 0xc0) == 0x80);
	}
	e = (size_t)at + qn;
	for (k = 0; k < SNIPPET_CHARS && content[e] != '\0'; k++) {
		do
			e++;
		while (((unsigned char)content[e] & 0xc0) == 0x80);
	}
	if ((f = open_memstream(&out.p, &out.n)) == NULL)
		return NULL;
	fprintf(f, "%s%.*s\u00ab%.*s\u00bb%.*s%s", b > 0 ? "\u2026" : "",
	    (int)((size_t)at - b), content + b, (int)qn, content + at,
	    (int)(e - (size_t)at - qn), content + at + qn,
	    content[e] != '\0' ? "\u2026" : "");
	fclose(f);
	j = json_string(out.p);
	free(out.p);
	return j;
}

/* Full-text search; see store.h. */
json_t *
store_search(struct store *s, const char *q, const struct store_filter *flt,
    int limit, const char *cursor, char **next)
{
	sqlite3_stmt	*st;
	struct buf	 expr;
	json_t		*a = NULL, *m, *hit;
	long long	 c_row = INT64_MAX;
	int		 rc, n = 0;
	const char	*p;

	*next = NULL;
	if (cursor != NULL && (sscanf(cursor, "%lld", &c_row) != 1 || c_row < 0)) {
		snprintf(s->err, sizeof s->err, "bad cursor");
		return NULL;
	}
	/*
	 * An FTS5 phrase: the text in double quotes, inner quotes doubled; for
	 * one or two characters, the token imgw_grams made of them (hex).
	 */
	buf_init(&expr);
	buf_add(&expr, "\"", 1);
	if (store_chars(q) < 3) {
		char	 hex[64], bare[16];
		size_t	 qn = 0;

		/*
		 * Pairs with white space are not indexed: look up the other
		 * character; the instr() filter keeps only exact matches.
		 */
		for (p = q; *p != '\0' && qn < sizeof bare; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				bare[qn++] = *p;
		}
		qn = store_hex(hex, (const unsigned char *)bare, qn);
		buf_add(&expr, hex, qn - 1);	/* without its space */
	} else {
		for (p = q; *p != '\0'; p++) {
			if (*p == '"')
				buf_add(&expr, "\"\"", 2);
			else
				buf_add(&expr, p, 1);
		}
	}
	if (buf_add(&expr, "\"", 2) == -1) {	/* the closing quote and a NUL */
		buf_clear(&expr);
		return NULL;
	}
	st = store_q(s, store_chars(q) >= 3 ? Q_SEARCH_LONG : Q_SEARCH_SHORT);
	store_bind_text(st, 1, expr.data);
	buf_clear(&expr);
	if (flt->conv != NULL)
		store_bind_text(st, 2, flt->conv);
	if (flt->sender != NULL)
		store_bind_text(st, 3, flt->sender);
	sqlite3_bind_int64(st, 4, flt->from);
	sqlite3_bind_int64(st, 5, flt->to);
	sqlite3_bind_int64(st, 6, c_row);
	store_bind_text(st, 7, q);
	sqlite3_bind_int(st, 8, limit + 1);
	if ((a = json_array()) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit) {
			if (asprintf(next, "%lld", (long long)c_row) == -1)
				*next = NULL;
			break;
		}
		c_row = sqlite3_column_int64(st, MSG_NCOLS);
		if ((m = store_row_message(st)) == NULL ||
		    (hit = json_pack("{s:o,s:o}", "message", m, "snippet",
		    store_snippet((const char *)sqlite3_column_text(st, 5), q))) == NULL ||
		    json_array_append_new(a, hit) == -1)
			goto fail;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail(s, "searching");
		goto fail;
	}
	sqlite3_reset(st);
	return a;
fail:
	sqlite3_reset(st);
	json_decref(a);
	free(*next);
	*next = NULL;
	return NULL;
}

/* Build a conversation object from a Q_CONV_* row. */
static json_t *
store_row_conversation(sqlite3_stmt *st)
{
	return json_pack("{s:o,s:I,s:I,s:b,s:b,s:s,s:I,s:o}",
	    "conversation", store_conv_object((const char *)sqlite3_column_text(st, 0)),
	    "lastAt", (json_int_t)sqlite3_column_int64(st, 1),
	    "unread", (json_int_t)sqlite3_column_int64(st, 2),
	    "pinned", sqlite3_column_int(st, 3),
	    "muted", sqlite3_column_int(st, 4),
	    "draft", (const char *)sqlite3_column_text(st, 5),
	    "peerReadAt", (json_int_t)sqlite3_column_int64(st, 6),
	    "lastMessage", store_row_message_at(st, 7));
}

/* List conversations: pinned first, then by last activity. */
json_t *
store_conversations(struct store *s, int limit, int offset, int *more)
{
	sqlite3_stmt	*st = store_q(s, Q_CONV_LIST);
	json_t		*a = json_array(), *c;
	int		 rc, n = 0;

	*more = 0;
	sqlite3_bind_int(st, 1, limit + 1);
	sqlite3_bind_int(st, 2, offset);
	while (a != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit) {
			*more = 1;
			break;
		}
		if ((c = store_row_conversation(st)) == NULL ||
		    json_array_append_new(a, c) == -1) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a != NULL && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail(s, "listing conversations");
		json_decref(a);
		a = NULL;
	}
	sqlite3_reset(st);
	return a;
}

/* One conversation, or NULL (absent: store_error is empty). */
json_t *
store_conversation(struct store *s, const char *conv)
{
	return store_one(s, Q_CONV_GET, conv, store_row_conversation,
	    "reading conversation");
}

/* Set a conversation's pinned, muted or draft field. */
int
store_conversation_set(struct store *s, const char *conv, const char *field,
    json_t *value)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	if (strcmp(field, "draft") == 0) {
		st = store_q(s, Q_CONV_DRAFT);
		store_bind_text(st, 2, json_string_value(value));
	} else {
		st = store_q(s, strcmp(field, "pinned") == 0 ? Q_CONV_PIN : Q_CONV_MUTE);
		sqlite3_bind_int(st, 2, json_is_true(value));
	}
	store_bind_text(st, 1, conv);
	return store_exec(s, st, "updating conversation");
}

/* Mark a conversation read up to a message (or all of it). */
int
store_conversation_read(struct store *s, const char *conv, const char *upto)
{
	sqlite3_stmt	*st;
	int64_t		 at = -1, rowid;

	if (upto != NULL && store_position(s, conv, upto, &at, &rowid) == -1)
		return -1;
	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_CONV_READ);
	store_bind_text(st, 1, conv);
	sqlite3_bind_int64(st, 2, at);
	return store_exec(s, st, "marking read");
}

/* Delete a conversation and its cached messages. */
int
store_conversation_delete(struct store *s, const char *conv)
{
	if (store_change(s, Q_CONV_MSGS_DEL, "deleting messages", 1, conv) == -1)
		return -1;
	return store_change(s, Q_CONV_DEL, "deleting conversation", 1, conv);
}

/* Forget a conversation's cached messages but keep the conversation. */
int
store_conversation_clear(struct store *s, const char *conv)
{
	return store_change(s, Q_CONV_MSGS_DEL, "clearing messages", 1, conv);
}

/* Sum of unread counts over conversations that are not muted. */
int64_t
store_unread_total(struct store *s)
{
	sqlite3_stmt	*st = store_q(s, Q_UNREAD_TOTAL);
	int64_t		 v = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/* Delete one cached message. */
int
store_delete_message(struct store *s, const char *id)
{
	if (store_change(s, Q_MSG_DEL, "deleting message", 1, id) == -1)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 0 : (snprintf(s->err, sizeof s->err,
	    "no message %s", id), -1);
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

/* Cache a relationship object (kind "group", "member", ...) under id. */
int
store_obj_put(struct store *s, const char *kind, const char *id, json_t *body)
{
	sqlite3_stmt	*st;
	char		*text;

	if (store_write(s) == -1)
		return -1;
	if ((text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		snprintf(s->err, sizeof s->err, "cannot serialise %s %s", kind, id);
		return -1;
	}
	st = store_q(s, Q_OBJ_PUT);
	store_bind_text(st, 1, kind);
	store_bind_text(st, 2, id);
	sqlite3_bind_text(st, 3, text, -1, free);
	return store_exec(s, st, "caching object");
}

/* A cached object, or NULL. */
json_t *
store_obj_get(struct store *s, const char *kind, const char *id)
{
	sqlite3_stmt	*st = store_q(s, Q_OBJ_GET);
	json_t		*o = NULL;

	store_bind_text(st, 1, kind);
	store_bind_text(st, 2, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = json_loads((const char *)sqlite3_column_text(st, 0),
		    JSON_DECODE_ANY, NULL);
	sqlite3_reset(st);
	return o;
}

/* Forget one object, or (prefix set) every object whose id starts with id. */
int
store_obj_del(struct store *s, const char *kind, const char *id, int prefix)
{
	return store_change(s, prefix ? Q_OBJ_DEL_PREFIX : Q_OBJ_DEL,
	    "forgetting object", 2, kind, id);
}

/* Every cached object of a kind whose id starts with prefix, by id. */
json_t *
store_obj_list(struct store *s, const char *kind, const char *prefix)
{
	sqlite3_stmt	*st = store_q(s, Q_OBJ_LIST);

	store_bind_text(st, 1, kind);
	store_bind_text(st, 2, prefix);
	return store_collect(s, st, store_row_json, "listing objects");
}

/* Record that the peer has read a one-to-one conversation up to at (ms). */
int
store_peer_read(struct store *s, const char *conv, int64_t at)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_PEER_READ);
	store_bind_text(st, 1, conv);
	sqlite3_bind_int64(st, 2, at);
	return store_exec(s, st, "recording read receipt");
}

/* Counts and sizes for db.stats. */
json_t *
store_stats(struct store *s)
{
	sqlite3_stmt	*st = store_q(s, Q_STATS);
	json_t		*j = NULL;

	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i}",
		    "messages", (json_int_t)sqlite3_column_int64(st, 0),
		    "conversations", (json_int_t)sqlite3_column_int64(st, 1),
		    "events", (json_int_t)sqlite3_column_int64(st, 2),
		    "outbox", (json_int_t)sqlite3_column_int64(st, 3),
		    "oldest", (json_int_t)sqlite3_column_int64(st, 4),
		    "bytes", (json_int_t)sqlite3_column_int64(st, 5),
		    "schema", STORE_VERSION);
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

	if (store_flush(s) == -1)
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

/*
 * Delete messages older than before_ms (0: no age limit) and, per
 * conversation, all but the newest keep (0: no count limit). Returns the
 * number deleted, or -1.
 */
int64_t
store_retain(struct store *s, int64_t before_ms, int keep)
{
	sqlite3_stmt	*st;
	int64_t		 n = 0;

	if (store_write(s) == -1)
		return -1;
	if (before_ms > 0) {
		if (sqlite3_prepare_v2(s->db, "DELETE FROM messages WHERE "
		    "created_at < ?1 AND status <> 'SENDING'", -1, &st, NULL) != SQLITE_OK)
			return store_fail(s, "applying retention");
		sqlite3_bind_int64(st, 1, before_ms);
		if (store_exec(s, st, "applying retention") == -1) {
			sqlite3_finalize(st);
			return -1;
		}
		n += sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	if (keep > 0) {
		if (sqlite3_prepare_v2(s->db, "DELETE FROM messages WHERE rowid IN ("
		    "SELECT rowid FROM (SELECT rowid, status, row_number() OVER "
		    "(PARTITION BY conv ORDER BY created_at DESC, rowid DESC) AS r "
		    "FROM messages) WHERE r > ?1 AND status <> 'SENDING')",
		    -1, &st, NULL) != SQLITE_OK)
			return store_fail(s, "applying retention");
		sqlite3_bind_int(st, 1, keep);
		if (store_exec(s, st, "applying retention") == -1) {
			sqlite3_finalize(st);
			return -1;
		}
		n += sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	return n;
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
		snprintf(s->err, sizeof s->err, "cannot serialise event");
		return -1;
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
