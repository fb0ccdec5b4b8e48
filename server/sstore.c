/*
 * sstore: the server's SQLite database: open and close, the schema and its
 * migrations, the change counter (seq), transactions and the statement
 * helpers of the other sstore_*.c files. No SQL of its own concern; knows
 * nothing of sessions or STOMP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "sstore_int.h"

#define SSTORE_VERSION	3

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

	/* UPSTREAM.md "The full IM surface". */
	"ALTER TABLE messages ADD COLUMN payload TEXT;"
	"ALTER TABLE messages ADD COLUMN mentions TEXT;"
	"ALTER TABLE messages ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL"
	"  DEFAULT 0;"
	/* The seq a message was created with: its place in the chat. */
	"ALTER TABLE messages ADD COLUMN first_seq INTEGER NOT NULL"
	"  DEFAULT 0;"
	"UPDATE messages SET first_seq = seq;"
	"CREATE INDEX deliveries_seq ON deliveries (app, user_id, seq);"
	"CREATE INDEX deliveries_msg ON deliveries (app, msg_id);"
	"CREATE TABLE events ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  data TEXT NOT NULL,"
	"  PRIMARY KEY (app, user_id, seq));"
	"CREATE INDEX events_seq ON events (seq);"
	"CREATE TABLE chat_groups ("
	"  app TEXT NOT NULL,"
	"  group_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  owner_id TEXT NOT NULL,"
	"  notice TEXT NOT NULL,"
	"  avatar TEXT NOT NULL,"
	"  intro TEXT NOT NULL,"
	"  join_policy TEXT NOT NULL,"
	"  mute_all INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  dismissed_at INTEGER NOT NULL,"	/* 0 while the group lives */
	"  PRIMARY KEY (app, group_id));"
	"CREATE TABLE group_members ("
	"  app TEXT NOT NULL,"
	"  group_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  muted_until INTEGER NOT NULL,"
	"  joined_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, group_id, user_id));"
	"CREATE INDEX group_members_user ON group_members (app, user_id);"
	"CREATE TABLE group_requests ("
	"  app TEXT NOT NULL,"
	"  group_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, group_id, user_id));"
	"CREATE TABLE friends ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  friend_id TEXT NOT NULL,"
	"  remark TEXT NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id, friend_id));"
	"CREATE TABLE friend_requests ("
	"  app TEXT NOT NULL,"
	"  from_id TEXT NOT NULL,"
	"  to_id TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, from_id, to_id));"
	"CREATE INDEX friend_requests_to ON friend_requests (app, to_id);"
	"CREATE TABLE friend_groups ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id, name));"
	"CREATE TABLE friend_group_members ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  friend_id TEXT NOT NULL,"
	"  PRIMARY KEY (app, user_id, name, friend_id));"
	"CREATE TABLE blacklist ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  blocked_id TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id, blocked_id));"
	"CREATE TABLE profiles ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  nickname TEXT NOT NULL,"
	"  avatar TEXT NOT NULL,"
	"  signature TEXT NOT NULL,"
	"  gender TEXT NOT NULL,"
	"  birthday TEXT NOT NULL,"
	"  custom TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id));"
	"CREATE TABLE conversations ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"			/* P: peer, G: group */
	"  target TEXT NOT NULL,"
	"  pinned INTEGER NOT NULL,"
	"  muted INTEGER NOT NULL,"
	"  draft TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id, kind, target));"
	"CREATE TABLE conversation_reads ("
	"  app TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  msg_seq INTEGER NOT NULL,"
	"  read_at INTEGER NOT NULL,"
	"  PRIMARY KEY (app, user_id, kind, target));",

	/*
	 * Group deliveries apart: a since-sync reads a user's group messages
	 * through deliveries, and finding them among the one-to-one ones
	 * meant a join per delivery after the cursor, every page.
	 */
	"ALTER TABLE deliveries ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;"
	"UPDATE deliveries SET grp = 1 WHERE EXISTS (SELECT 1 FROM messages m"
	"  WHERE m.app = deliveries.app AND m.id = deliveries.msg_id"
	"  AND m.chat_type = 'GROUP');"
	"DROP INDEX deliveries_seq;"
	"CREATE INDEX deliveries_group ON deliveries (app, user_id, grp, seq);",
};

enum sstore_stmt {
	SSTORE_BEGIN,
	SSTORE_COMMIT,
	SSTORE_ROLLBACK,
	SSTORE_NSTMTS
};

static const char *const sstore_sql[SSTORE_NSTMTS] = {
	[SSTORE_BEGIN] = "BEGIN IMMEDIATE",
	[SSTORE_COMMIT] = "COMMIT",
	[SSTORE_ROLLBACK] = "ROLLBACK",
};

sqlite3			*sstore_db;
static sqlite3_stmt	*sstore_stmts[SSTORE_NSTMTS];
long long		 sstore_seq;	/* last seq handed out */

#define ST(x)	(sstore_stmts[SSTORE_##x])

/* Every file's statements, prepared by sstore_open in this order. */
static const struct sstore_part	 sstore_core_part = {
	sstore_sql, sstore_stmts, SSTORE_NSTMTS
};
static const struct sstore_part	*const sstore_parts[] = {
	&sstore_core_part, &sstore_msg_part, &sstore_event_part,
	&sstore_group_part, &sstore_social_part
};
#define SSTORE_NPARTS	(sizeof sstore_parts / sizeof sstore_parts[0])

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
 * Prepare n statements (persistent) from sql into stmts. Returns 0, or -1
 * with *cause set.
 */
static int
sstore_prepare(const char *const *sql, sqlite3_stmt **stmts, int n,
    char **cause)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(sstore_db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &stmts[i], NULL) != SQLITE_OK) {
			sstore_cause(cause, sql[i]);
			return -1;
		}
	}
	return 0;
}

/* Finalize n statements (NULL ones are fine). */
static void
sstore_finalize(sqlite3_stmt **stmts, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		sqlite3_finalize(stmts[i]);
		stmts[i] = NULL;
	}
}

/*
 * Open (creating if needed) and migrate the database at path, and prepare
 * every statement. Returns 0, or -1 with *cause set (to free).
 */
int
sstore_open(const char *path, char **cause)
{
	const struct sstore_part	*p;
	sqlite3_stmt			*st = NULL;
	const char			*mode;
	size_t				 i;

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
	/* Messages and events share the change counter. */
	if (sstore_query_int("SELECT max(coalesce((SELECT max(seq) FROM "
	    "messages), 0), coalesce((SELECT max(seq) FROM events), 0))",
	    &sstore_seq, cause) == -1)
		goto fail;
	for (i = 0; i < SSTORE_NPARTS; i++) {
		p = sstore_parts[i];
		if (sstore_prepare(p->sql, p->stmts, p->n, cause) == -1)
			goto fail;
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
	size_t	 i;

	for (i = 0; i < SSTORE_NPARTS; i++)
		sstore_finalize(sstore_parts[i]->stmts, sstore_parts[i]->n);
	if (sstore_db != NULL && sqlite3_close(sstore_db) != SQLITE_OK)
		log_warn("database close: %s", sqlite3_errmsg(sstore_db));
	sstore_db = NULL;
}

/* Log a failed statement with the database's error. */
static void
sstore_warn(sqlite3_stmt *st)
{
	log_warn("database: %s: %s", sqlite3_sql(st),
	    sqlite3_errmsg(sstore_db));
}

/* Reset a statement and clear its bindings, ready for the next use. */
void
sstore_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* sstore_bind with a va_list. */
static int
sstore_vbind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const char	*s;
	int		 i, rc = SQLITE_OK;

	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(st, i) :
			    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
			break;
		case 'd':
			rc = sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		sstore_warn(st);
		sstore_reset(st);
		return -1;
	}
	return 0;
}

/*
 * Bind parameters ?1, ?2, ... from the arguments as fmt says: 's' a string
 * (NULL binds NULL; SQLITE_STATIC: the caller keeps it alive until the
 * statement is reset), 'i' a long long, 'd' an int. Returns 0, or -1
 * (logged, statement reset).
 */
int
sstore_bind(sqlite3_stmt *st, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = sstore_vbind(st, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Step a bound statement: 1 if it gave a row (the statement stays active:
 * read it, step again or reset it), 0 when done and -1 on error (logged);
 * on 0 and -1 the statement is reset.
 */
int
sstore_step(sqlite3_stmt *st)
{
	int	 rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		sstore_warn(st);
	sstore_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Bind as sstore_bind and run a statement that returns no rows. Returns the
 * number of rows it changed, or -1.
 */
int
sstore_run(sqlite3_stmt *st, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = sstore_vbind(st, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	if (sstore_step(st) != 0) {
		sstore_reset(st);
		return -1;
	}
	return sqlite3_changes(sstore_db);
}

/* Begin a write transaction. */
int
sstore_begin(void)
{
	return sstore_run(ST(BEGIN), "") == -1 ? -1 : 0;
}

/* Commit, or roll back if ok is false; returns -1 if anything failed. */
int
sstore_end(int ok)
{
	if (ok && sstore_run(ST(COMMIT), "") != -1)
		return 0;
	if (!sqlite3_get_autocommit(sstore_db))
		sstore_run(ST(ROLLBACK), "");
	return -1;
}

/* Copy a text column into a fixed array (values were checked on insert). */
void
sstore_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char	*s;

	s = sqlite3_column_text(st, i);
	snprintf(out, size, "%s", s != NULL ? (const char *)s : "");
}

/* A heap copy of a text column, or NULL if it is NULL or memory ran out. */
char *
sstore_dup(sqlite3_stmt *st, int i)
{
	const unsigned char	*s;

	if ((s = sqlite3_column_text(st, i)) == NULL)
		return NULL;
	return strdup((const char *)s);
}

/*
 * Append the first column of every row of a bound statement (an id) to
 * out. Returns 0 or -1.
 */
int
sstore_ids(sqlite3_stmt *st, struct idlist *out)
{
	const unsigned char	*u;
	int			 r;

	while ((r = sstore_step(st)) == 1) {
		u = sqlite3_column_text(st, 0);
		if (u == NULL || idlist_push(out, (const char *)u) == -1) {
			log_warn("database: out of memory");
			sstore_reset(st);
			return -1;
		}
	}
	return r;
}

/* Fill a request from the current row (user, message, created_at). */
static void
sstore_request_row(sqlite3_stmt *st, struct srequest *q)
{
	memset(q, 0, sizeof *q);
	sstore_copy(st, 0, q->user, sizeof q->user);
	sstore_copy(st, 1, q->message, sizeof q->message);
	q->created_at = sqlite3_column_int64(st, 2);
}

/*
 * Step a bound statement whose rows are requests (user, message,
 * created_at): fill q from the first. Returns 0, 1 if there is none, -1.
 */
int
sstore_request_one(sqlite3_stmt *st, struct srequest *q)
{
	int	 r;

	if ((r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	sstore_request_row(st, q);
	sstore_reset(st);
	return 0;
}

/* Call cb on every request row of a bound statement, until it returns non-zero. */
int
sstore_request_each(sqlite3_stmt *st, sstore_request_cb cb, void *arg)
{
	struct srequest	 q;
	int		 r = 0, stop = 0;

	while (!stop && (r = sstore_step(st)) == 1) {
		sstore_request_row(st, &q);
		stop = cb(&q, arg);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}
