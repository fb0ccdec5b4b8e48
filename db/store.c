/*
 * store: SQLite persistence for one account's gateway. Owns the schema, its
 * migrations (PRAGMA user_version) and every SQL statement, each prepared
 * once at open. Never talks to the network or to clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

enum {
	Q_KV_GET, Q_KV_SET,
	Q_MSG_GET, Q_MSG_INS, Q_MSG_UPD, Q_MSG_STATUS,
	Q_HIST, Q_HIST_BEFORE, Q_MSG_POS,
	Q_OUT_ADD, Q_OUT_DEL, Q_OUT_LIST,
	Q_EV_ADD, Q_EV_LAST, Q_EV_SINCE,
	Q_COUNT
};

static const char *const store_sql[Q_COUNT] = {
	[Q_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
	[Q_KV_SET] = "INSERT INTO kv(key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[Q_MSG_GET] = "SELECT id, conv, from_id, to_id, msg_type, content, "
	    "status, created_at, seq FROM messages WHERE id = ?1",
	[Q_MSG_INS] = "INSERT INTO messages(id, conv, from_id, to_id, msg_type, "
	    "content, status, created_at, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	[Q_MSG_UPD] = "UPDATE messages SET content = ?2, status = ?3, "
	    "created_at = ?4, seq = ?5 WHERE id = ?1",
	/* A message queued before we knew who we are gets our id now. */
	[Q_MSG_STATUS] = "UPDATE messages SET status = ?2, "
	    "from_id = CASE WHEN from_id = '' THEN coalesce((SELECT value "
	    "FROM kv WHERE key = 'self'), '') ELSE from_id END, "
	    "created_at = CASE WHEN ?3 > 0 THEN ?3 ELSE created_at END, "
	    "seq = CASE WHEN ?4 > 0 THEN ?4 ELSE seq END WHERE id = ?1",
	[Q_HIST] = "SELECT id, conv, from_id, to_id, msg_type, content, status, "
	    "created_at, seq FROM messages WHERE conv = ?1 "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
	[Q_HIST_BEFORE] = "SELECT id, conv, from_id, to_id, msg_type, content, "
	    "status, created_at, seq FROM messages WHERE conv = ?1 AND "
	    "(created_at < ?3 OR (created_at = ?3 AND rowid < ?4)) "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
	[Q_MSG_POS] = "SELECT created_at, rowid FROM messages WHERE id = ?1 AND conv = ?2",
	[Q_OUT_ADD] = "INSERT OR IGNORE INTO outbox(id, dest, body) VALUES (?1, ?2, ?3)",
	[Q_OUT_DEL] = "DELETE FROM outbox WHERE id = ?1",
	[Q_OUT_LIST] = "SELECT id, dest, body FROM outbox ORDER BY pos",
	[Q_EV_ADD] = "INSERT INTO events(type, body, created_at) VALUES (?1, ?2, ?3)",
	[Q_EV_LAST] = "SELECT coalesce(max(seq), 0) FROM events",
	[Q_EV_SINCE] = "SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
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
};
#define STORE_VERSION ((int)(sizeof store_migrations / sizeof store_migrations[0]))

struct store {
	sqlite3		*db;
	sqlite3_stmt	*q[Q_COUNT];
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
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
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
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, "beginning transaction");
	return 0;
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
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_KV_SET);
	store_bind_text(st, 1, key);
	store_bind_text(st, 2, value);
	return store_exec(s, st, "writing kv");
}

/* Turn a conversation key ("u:bob", "g:42") into {"user": ..} or {"group": ..}. */
static json_t *
store_conv_object(const char *conv)
{
	if (strncmp(conv, "g:", 2) == 0)
		return json_pack("{s:s}", "group", conv + 2);
	return json_pack("{s:s}", "user", conv + 2);
}

/* Build a message object from a row of the message columns. */
static json_t *
store_row_message(sqlite3_stmt *st)
{
#define COL(i) ((const char *)sqlite3_column_text(st, (i)))
	return json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:I,s:I}",
	    "id", COL(0), "conversation", store_conv_object(COL(1)),
	    "from", COL(2), "to", COL(3), "type", COL(4), "content", COL(5),
	    "status", COL(6), "createdAt", (json_int_t)sqlite3_column_int64(st, 7),
	    "seq", (json_int_t)sqlite3_column_int64(st, 8));
#undef COL
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

/* Insert or update a message. */
int
store_put_message(struct store *s, const char *conv, json_t *msg)
{
	sqlite3_stmt	*st;
	const char	*id = store_str(msg, "id", NULL);
	const char	*status = store_str(msg, "status", "SENT");
	const char	*content = store_str(msg, "content", "");
	int64_t		 seq = store_int(msg, "seq");
	int		 rc, same;

	if (id == NULL) {
		snprintf(s->err, sizeof s->err, "message without id");
		return -1;
	}
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
		    sqlite3_column_int64(st, 8) == seq);
		sqlite3_reset(st);
		if (same)
			return STORE_UNCHANGED;
		st = store_q(s, Q_MSG_UPD);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, content);
		store_bind_text(st, 3, status);
		sqlite3_bind_int64(st, 4, store_int(msg, "createdAt"));
		sqlite3_bind_int64(st, 5, seq);
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
	return store_exec(s, st, "inserting message") == -1 ? -1 : STORE_INSERTED;
}

/* Read one message. */
json_t *
store_get_message(struct store *s, const char *id)
{
	sqlite3_stmt	*st = store_q(s, Q_MSG_GET);
	json_t		*m = NULL;
	int		 rc;

	s->err[0] = '\0';
	store_bind_text(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		m = store_row_message(st);
	else if (rc != SQLITE_DONE)
		store_fail(s, "reading message");
	sqlite3_reset(st);
	return m;
}

/* Update a message's delivery state. */
int
store_set_status(struct store *s, const char *id, const char *status,
    int64_t created_at, int64_t seq)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_MSG_STATUS);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, status);
	sqlite3_bind_int64(st, 3, created_at);
	sqlite3_bind_int64(st, 4, seq);
	return store_exec(s, st, "updating message status");
}

/* Read a page of a conversation's history. */
json_t *
store_history(struct store *s, const char *conv, const char *before, int limit,
    int *more)
{
	sqlite3_stmt	*st;
	json_t		*a, *m;
	int		 rc, n = 0;

	*more = 0;
	if (before != NULL) {
		int64_t	 at, rowid;

		st = store_q(s, Q_MSG_POS);
		store_bind_text(st, 1, before);
		store_bind_text(st, 2, conv);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			if (rc == SQLITE_DONE)
				snprintf(s->err, sizeof s->err,
				    "no message %s in this conversation", before);
			else
				store_fail(s, "reading history");
			return NULL;
		}
		at = sqlite3_column_int64(st, 0);
		rowid = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		st = store_q(s, Q_HIST_BEFORE);
		sqlite3_bind_int64(st, 3, at);
		sqlite3_bind_int64(st, 4, rowid);
	} else
		st = store_q(s, Q_HIST);
	store_bind_text(st, 1, conv);
	sqlite3_bind_int(st, 2, limit + 1);	/* one more tells if there are older */
	if ((a = json_array()) == NULL)
		return NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit) {
			*more = 1;
			break;
		}
		/* Rows come newest first; the page is returned oldest first. */
		if ((m = store_row_message(st)) == NULL ||
		    json_array_insert_new(a, 0, m) == -1)
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

/* Queue an outbox entry; an id already queued is kept as it is. */
int
store_outbox_add(struct store *s, const char *id, const char *dest, const char *body)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_OUT_ADD);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, dest);
	store_bind_text(st, 3, body);
	return store_exec(s, st, "queueing outbox entry");
}

/* Delete an outbox entry. */
int
store_outbox_del(struct store *s, const char *id)
{
	sqlite3_stmt	*st;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_OUT_DEL);
	store_bind_text(st, 1, id);
	return store_exec(s, st, "deleting outbox entry");
}

/* List the outbox in queue order. */
json_t *
store_outbox_list(struct store *s)
{
	sqlite3_stmt	*st = store_q(s, Q_OUT_LIST);
	json_t		*a = json_array();
	int		 rc;

	while (a != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}",
		    "id", sqlite3_column_text(st, 0),
		    "dest", sqlite3_column_text(st, 1),
		    "body", sqlite3_column_text(st, 2)));
	}
	if (a != NULL && rc != SQLITE_DONE) {
		store_fail(s, "reading outbox");
		json_decref(a);
		a = NULL;
	}
	sqlite3_reset(st);
	return a;
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
	json_t		*a = json_array(), *e;
	int		 rc;

	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, limit);
	while (a != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		if (e == NULL || !json_is_object(e)) {
			json_decref(e);
			continue;
		}
		json_object_set_new(e, "seq", json_integer(sqlite3_column_int64(st, 0)));
		json_array_append_new(a, e);
	}
	if (a != NULL && rc != SQLITE_DONE) {
		store_fail(s, "reading events");
		json_decref(a);
		a = NULL;
	}
	sqlite3_reset(st);
	return a;
}
