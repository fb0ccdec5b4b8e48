/*
 * sstore: the server's SQLite database: messages, per-recipient delivery
 * state and the change counter (seq). The only file that includes
 * sqlite3.h and holds SQL; knows nothing of sessions or STOMP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "server.h"

#define SSTORE_VERSION	1

#define SSTORE_COLUMNS \
	"app, id, seq, from_id, to_id, chat_type, msg_type, content, " \
	"status, created_at"

/* Schema migrations: entry n takes user_version n to n + 1. */
static const char *const sstore_migrations[SSTORE_VERSION] = {
	"CREATE TABLE messages ("
	"  app TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL UNIQUE,"
	"  from_id TEXT NOT NULL,"
	"  to_id TEXT NOT NULL,"
	"  chat_type TEXT NOT NULL,"
	"  msg_type TEXT NOT NULL,"
	"  content TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, id));"
	"CREATE INDEX messages_from ON messages (app, from_id, seq);"
	"CREATE INDEX messages_to ON messages (app, to_id, seq);"
	"CREATE TABLE deliveries ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  delivered INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"		/* the message's, kept equal */
	"  PRIMARY KEY (app, user_id, msg_id));"
	"CREATE INDEX deliveries_pending ON deliveries"
	"  (app, user_id, delivered, seq);",
};

enum sstore_stmt {
	SSTORE_BEGIN,
	SSTORE_COMMIT,
	SSTORE_ROLLBACK,
	SSTORE_GET,
	SSTORE_INSERT,
	SSTORE_REVOKE,
	SSTORE_DELIVERY,
	SSTORE_DELIVERED,
	SSTORE_PENDING,
	SSTORE_SINCE,
	SSTORE_NSTMTS
};

static const char *const sstore_sql[SSTORE_NSTMTS] = {
	[SSTORE_BEGIN] = "BEGIN IMMEDIATE",
	[SSTORE_COMMIT] = "COMMIT",
	[SSTORE_ROLLBACK] = "ROLLBACK",
	[SSTORE_GET] = "SELECT " SSTORE_COLUMNS " FROM messages"
	    " WHERE app = ?1 AND id = ?2",
	[SSTORE_INSERT] = "INSERT INTO messages (" SSTORE_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SSTORE_REVOKE] = "UPDATE messages SET status = 'REVOKED',"
	    " content = '', seq = ?3 WHERE app = ?1 AND id = ?2",
	[SSTORE_DELIVERY] = "INSERT INTO deliveries"
	    " (app, user_id, msg_id, delivered, seq)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (app, user_id, msg_id)"
	    " DO UPDATE SET delivered = excluded.delivered, seq = excluded.seq",
	[SSTORE_DELIVERED] = "UPDATE deliveries SET delivered = ?4"
	    " WHERE app = ?1 AND user_id = ?2 AND msg_id = ?3",
	[SSTORE_PENDING] = "SELECT m.app, m.id, m.seq, m.from_id, m.to_id,"
	    " m.chat_type, m.msg_type, m.content, m.status, m.created_at"
	    " FROM deliveries d JOIN messages m"
	    " ON m.app = d.app AND m.id = d.msg_id"
	    " WHERE d.app = ?1 AND d.user_id = ?2 AND d.delivered = 0"
	    " AND d.seq > ?3 ORDER BY d.seq LIMIT ?4",
	/* A message to oneself matches both halves: count it once. */
	[SSTORE_SINCE] = "SELECT " SSTORE_COLUMNS " FROM messages"
	    " WHERE app = ?1 AND from_id = ?2 AND seq > ?3"
	    " UNION ALL SELECT " SSTORE_COLUMNS " FROM messages"
	    " WHERE app = ?1 AND to_id = ?2 AND from_id <> ?2 AND seq > ?3"
	    " ORDER BY seq LIMIT ?4",
};

static sqlite3		*sstore_db;
static sqlite3_stmt	*sstore_stmts[SSTORE_NSTMTS];
static long long	 sstore_seq;	/* last seq handed out */

/* Fill *cause with the database's last error, prefixed by what. */
static void
sstore_cause(char **cause, const char *what)
{
	if (asprintf(cause, "%s: %s", what, sqlite3_errmsg(sstore_db)) == -1)
		*cause = NULL;
}

/* Run one SQL text with no results. */
static int
sstore_exec(const char *sql, char **cause)
{
	char	*err = NULL;

	if (sqlite3_exec(sstore_db, sql, NULL, NULL, &err) != SQLITE_OK) {
		if (asprintf(cause, "%s", err != NULL ? err :
		    sqlite3_errmsg(sstore_db)) == -1)
			*cause = NULL;
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Read one integer from a one-row query. */
static int
sstore_query_int(const char *sql, long long *out, char **cause)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(sstore_db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		goto fail;
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;

fail:
	sstore_cause(cause, sql);
	sqlite3_finalize(st);
	return -1;
}

/* Bring the schema up to SSTORE_VERSION. */
static int
sstore_migrate(char **cause)
{
	long long	 version;
	char		 sql[64];

	if (sstore_query_int("PRAGMA user_version", &version, cause) == -1)
		return -1;
	if (version > SSTORE_VERSION) {
		if (asprintf(cause, "database schema version %lld is newer "
		    "than this imserver (%d)", version, SSTORE_VERSION) == -1)
			*cause = NULL;
		return -1;
	}
	for (; version < SSTORE_VERSION; version++) {
		if (sstore_exec("BEGIN IMMEDIATE", cause) == -1)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %lld",
		    version + 1);
		if (sstore_exec(sstore_migrations[version], cause) == -1 ||
		    sstore_exec(sql, cause) == -1 ||
		    sstore_exec("COMMIT", cause) == -1) {
			sqlite3_exec(sstore_db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database migrated to schema version %lld",
		    version + 1);
	}
	return 0;
}

/*
 * Open (creating if needed) and migrate the database at path, and prepare
 * every statement. Returns 0, or -1 with *cause set (to free).
 */
int
sstore_open(const char *path, char **cause)
{
	sqlite3_stmt	*st = NULL;
	const char	*mode;
	int		 i;

	*cause = NULL;
	if (sqlite3_open_v2(path, &sstore_db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (sstore_db == NULL)
			*cause = strdup("out of memory");
		else
			sstore_cause(cause, path);
		goto fail;
	}
	sqlite3_extended_result_codes(sstore_db, 1);
	sqlite3_busy_timeout(sstore_db, 5000);

	/* WAL: a crash loses no committed message, readers never block. */
	if (sqlite3_prepare_v2(sstore_db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sstore_cause(cause, "journal_mode");
		goto fail;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		if (asprintf(cause, "%s: cannot use WAL journal mode", path)
		    == -1)
			*cause = NULL;
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sstore_exec("PRAGMA synchronous = NORMAL", cause) == -1 ||
	    sstore_migrate(cause) == -1)
		goto fail;
	if (sstore_query_int("SELECT coalesce(max(seq), 0) FROM messages",
	    &sstore_seq, cause) == -1)
		goto fail;

	for (i = 0; i < SSTORE_NSTMTS; i++) {
		if (sqlite3_prepare_v3(sstore_db, sstore_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &sstore_stmts[i], NULL) !=
		    SQLITE_OK) {
			sstore_cause(cause, sstore_sql[i]);
			goto fail;
		}
	}
	log_info("database %s open, last seq %lld", path, sstore_seq);
	return 0;

fail:
	sqlite3_finalize(st);
	sstore_close();
	return -1;
}

/* Finalize every statement and close the database. */
void
sstore_close(void)
{
	int	 i;

	for (i = 0; i < SSTORE_NSTMTS; i++) {
		sqlite3_finalize(sstore_stmts[i]);
		sstore_stmts[i] = NULL;
	}
	if (sstore_db != NULL && sqlite3_close(sstore_db) != SQLITE_OK)
		log_warn("database close: %s", sqlite3_errmsg(sstore_db));
	sstore_db = NULL;
}

/* Free what a message owns. */
void
sstore_msg_clear(struct smsg *m)
{
	free(m->content);
	m->content = NULL;
}

/* Log a failed statement. */
static void
sstore_warn(enum sstore_stmt which)
{
	log_warn("database: %s: %s", sstore_sql[which],
	    sqlite3_errmsg(sstore_db));
}

/* Run a statement that returns no rows, then reset it. */
static int
sstore_step_done(enum sstore_stmt which)
{
	sqlite3_stmt	*st = sstore_stmts[which];
	int		 rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		sstore_warn(which);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Begin a write transaction. */
static int
sstore_begin(void)
{
	return sstore_step_done(SSTORE_BEGIN);
}

/* Commit, or roll back if ok is false; returns -1 if anything failed. */
static int
sstore_end(int ok)
{
	if (ok && sstore_step_done(SSTORE_COMMIT) == 0)
		return 0;
	if (!sqlite3_get_autocommit(sstore_db))
		sstore_step_done(SSTORE_ROLLBACK);
	return -1;
}

/* Bind a NUL-terminated string (SQLITE_STATIC: the caller keeps it alive). */
static int
sstore_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

/* Copy a text column into a fixed array (values were checked on insert). */
static void
sstore_column_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char	*s;

	s = sqlite3_column_text(st, i);
	snprintf(out, size, "%s", s != NULL ? (const char *)s : "");
}

/* Fill m from the current row (in SSTORE_COLUMNS order). */
static int
sstore_row(sqlite3_stmt *st, struct smsg *m)
{
	const unsigned char	*s;

	memset(m, 0, sizeof *m);
	sstore_column_copy(st, 0, m->app, sizeof m->app);
	sstore_column_copy(st, 1, m->id, sizeof m->id);
	m->seq = sqlite3_column_int64(st, 2);
	sstore_column_copy(st, 3, m->from, sizeof m->from);
	sstore_column_copy(st, 4, m->to, sizeof m->to);
	sstore_column_copy(st, 5, m->chat_type, sizeof m->chat_type);
	sstore_column_copy(st, 6, m->msg_type, sizeof m->msg_type);
	s = sqlite3_column_text(st, 7);
	if ((m->content = strdup(s != NULL ? (const char *)s : "")) == NULL)
		return -1;
	sstore_column_copy(st, 8, m->status, sizeof m->status);
	m->created_at = sqlite3_column_int64(st, 9);
	return 0;
}

/*
 * Look up message id of app. Returns 0 and fills m (clear it after), 1 if
 * there is none, -1 on error.
 */
int
sstore_get(const char *app, const char *id, struct smsg *m)
{
	sqlite3_stmt	*st = sstore_stmts[SSTORE_GET];
	int		 rc, ret = -1;

	memset(m, 0, sizeof *m);
	if (sstore_bind_text(st, 1, app) == -1 ||
	    sstore_bind_text(st, 2, id) == -1)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = sstore_row(st, m);
	else if (rc == SQLITE_DONE)
		ret = 1;
	else
		goto fail;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;

fail:
	sstore_warn(SSTORE_GET);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

/* Record user's delivery state of message id at seq (in a transaction). */
static int
sstore_put_delivery(const char *app, const char *user, const char *id,
    int delivered, long long seq)
{
	sqlite3_stmt	*st = sstore_stmts[SSTORE_DELIVERY];

	if (sstore_bind_text(st, 1, app) == -1 ||
	    sstore_bind_text(st, 2, user) == -1 ||
	    sstore_bind_text(st, 3, id) == -1 ||
	    sqlite3_bind_int(st, 4, delivered != 0) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, seq) != SQLITE_OK) {
		sstore_warn(SSTORE_DELIVERY);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	return sstore_step_done(SSTORE_DELIVERY);
}

/*
 * Store a new message with the next seq (set in m->seq) and the recipient's
 * delivery state. Returns 0 or -1; nothing is stored on failure.
 */
int
sstore_insert(struct smsg *m, int delivered)
{
	sqlite3_stmt	*st = sstore_stmts[SSTORE_INSERT];
	long long	 seq = sstore_seq + 1;
	int		 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_bind_text(st, 1, m->app) == -1 ||
	    sstore_bind_text(st, 2, m->id) == -1 ||
	    sqlite3_bind_int64(st, 3, seq) != SQLITE_OK ||
	    sstore_bind_text(st, 4, m->from) == -1 ||
	    sstore_bind_text(st, 5, m->to) == -1 ||
	    sstore_bind_text(st, 6, m->chat_type) == -1 ||
	    sstore_bind_text(st, 7, m->msg_type) == -1 ||
	    sstore_bind_text(st, 8, m->content) == -1 ||
	    sstore_bind_text(st, 9, m->status) == -1 ||
	    sqlite3_bind_int64(st, 10, m->created_at) != SQLITE_OK) {
		sstore_warn(SSTORE_INSERT);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		goto done;
	}
	if (sstore_step_done(SSTORE_INSERT) == -1 ||
	    sstore_put_delivery(m->app, m->to, m->id, delivered, seq) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	sstore_seq = m->seq = seq;
	return 0;
}

/*
 * Mark message m revoked (status REVOKED, empty content, next seq, all
 * updated in m too) and set the recipient's delivery state. Returns 0 or -1.
 */
int
sstore_revoke(struct smsg *m, int delivered)
{
	sqlite3_stmt	*st = sstore_stmts[SSTORE_REVOKE];
	long long	 seq = sstore_seq + 1;
	char		*empty;
	int		 ok = 0;

	if ((empty = strdup("")) == NULL)
		return -1;
	if (sstore_begin() == -1)
		goto fail;
	if (sstore_bind_text(st, 1, m->app) == -1 ||
	    sstore_bind_text(st, 2, m->id) == -1 ||
	    sqlite3_bind_int64(st, 3, seq) != SQLITE_OK) {
		sstore_warn(SSTORE_REVOKE);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		goto done;
	}
	if (sstore_step_done(SSTORE_REVOKE) == -1 ||
	    sstore_put_delivery(m->app, m->to, m->id, delivered, seq) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		goto fail;
	sstore_seq = m->seq = seq;
	snprintf(m->status, sizeof m->status, "REVOKED");
	free(m->content);
	m->content = empty;
	return 0;

fail:
	free(empty);
	return -1;
}

/* Set user's delivery state of one message. Returns 0 or -1. */
int
sstore_set_delivered(const char *app, const char *user, const char *id,
    int delivered)
{
	sqlite3_stmt	*st = sstore_stmts[SSTORE_DELIVERED];

	if (sstore_bind_text(st, 1, app) == -1 ||
	    sstore_bind_text(st, 2, user) == -1 ||
	    sstore_bind_text(st, 3, id) == -1 ||
	    sqlite3_bind_int(st, 4, delivered != 0) != SQLITE_OK) {
		sstore_warn(SSTORE_DELIVERED);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	return sstore_step_done(SSTORE_DELIVERED);
}

/* Mark n messages delivered to user, in one transaction. Returns 0 or -1. */
int
sstore_mark_delivered(const char *app, const char *user, char **ids,
    size_t n)
{
	size_t	 i;
	int	 ok = 1;

	if (n == 0)
		return 0;
	if (sstore_begin() == -1)
		return -1;
	for (i = 0; i < n && ok; i++) {
		if (sstore_set_delivered(app, user, ids[i], 1) == -1)
			ok = 0;
	}
	return sstore_end(ok);
}

/*
 * Run a query with (app, user, after, limit) bound and call cb on each row;
 * cb must not call back into sstore. Returns the number of rows passed to
 * cb, or -1.
 */
static int
sstore_iterate(enum sstore_stmt which, const char *app, const char *user,
    long long after, int limit, sstore_cb cb, void *arg)
{
	sqlite3_stmt	*st = sstore_stmts[which];
	struct smsg	 m;
	int		 rc, n = 0, stop = 0;

	if (sstore_bind_text(st, 1, app) == -1 ||
	    sstore_bind_text(st, 2, user) == -1 ||
	    sqlite3_bind_int64(st, 3, after) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, limit) != SQLITE_OK)
		goto fail;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sstore_row(st, &m) == -1) {
			sstore_msg_clear(&m);
			log_warn("database: out of memory");
			goto out;
		}
		stop = cb(&m, arg);
		sstore_msg_clear(&m);
		n++;
	}
	if (!stop && rc != SQLITE_DONE)
		goto fail;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;

fail:
	sstore_warn(which);
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return -1;
}

/*
 * Call cb, oldest first, on up to limit messages user has not been
 * delivered whose seq is above after. Returns the number of rows, or -1.
 */
int
sstore_pending(const char *app, const char *user, long long after, int limit,
    sstore_cb cb, void *arg)
{
	return sstore_iterate(SSTORE_PENDING, app, user, after, limit, cb,
	    arg);
}

/*
 * Call cb in seq order on up to limit messages user sent or received with
 * seq above since. Returns the number of rows, or -1.
 */
int
sstore_since(const char *app, const char *user, long long since, int limit,
    sstore_cb cb, void *arg)
{
	return sstore_iterate(SSTORE_SINCE, app, user, since, limit, cb, arg);
}
