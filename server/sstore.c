/*
 * sstore: the server's SQLite database: messages, per-recipient delivery
 * state, per-recipient events, groups and the change counter (seq); and the
 * statement helpers sstore_social.c shares. With sstore_social.c the only
 * file that includes sqlite3.h and holds SQL; knows nothing of sessions or
 * STOMP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "sstore_int.h"

#define SSTORE_VERSION	2

#define SSTORE_COLUMNS \
	"app, id, seq, from_id, to_id, chat_type, msg_type, content, " \
	"status, created_at, payload, mentions, reply_to, edited_at, " \
	"first_seq"
#define SSTORE_MCOLUMNS \
	"m.app, m.id, m.seq, m.from_id, m.to_id, m.chat_type, m.msg_type, " \
	"m.content, m.status, m.created_at, m.payload, m.mentions, " \
	"m.reply_to, m.edited_at, m.first_seq"
#define SSTORE_GCOLUMNS \
	"g.app, g.group_id, g.name, g.owner_id, g.notice, g.avatar, " \
	"g.intro, g.join_policy, g.mute_all, g.created_at, (SELECT count(*) " \
	"FROM group_members c WHERE c.app = g.app AND " \
	"c.group_id = g.group_id)"
#define SSTORE_MEMBER_COLUMNS	"user_id, role, muted_until, joined_at"

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
};

enum sstore_stmt {
	SSTORE_BEGIN,
	SSTORE_COMMIT,
	SSTORE_ROLLBACK,
	SSTORE_GET,
	SSTORE_INSERT,
	SSTORE_CHANGE,
	SSTORE_UNDELIVER,
	SSTORE_DELIVERY,
	SSTORE_DELIVERED,
	SSTORE_PENDING,
	SSTORE_SINCE,
	SSTORE_HISTORY_PEER,
	SSTORE_HISTORY_GROUP,
	SSTORE_EVENT,
	SSTORE_GROUP_GET,
	SSTORE_GROUP_INSERT,
	SSTORE_GROUP_UPDATE,
	SSTORE_GROUP_DISMISS,
	SSTORE_GROUP_LIST,
	SSTORE_GROUP_OWNER,
	SSTORE_MEMBERS_CLEAR,
	SSTORE_MEMBER_GET,
	SSTORE_MEMBER_IDS,
	SSTORE_MEMBERS,
	SSTORE_MEMBER_ADD,
	SSTORE_MEMBER_DEL,
	SSTORE_MEMBER_SET,
	SSTORE_REQUESTS_CLEAR,
	SSTORE_REQUEST_PUT,
	SSTORE_REQUEST_GET,
	SSTORE_REQUEST_DEL,
	SSTORE_REQUESTS,
	SSTORE_NSTMTS
};

static const char *const sstore_sql[SSTORE_NSTMTS] = {
	[SSTORE_BEGIN] = "BEGIN IMMEDIATE",
	[SSTORE_COMMIT] = "COMMIT",
	[SSTORE_ROLLBACK] = "ROLLBACK",
	[SSTORE_GET] = "SELECT " SSTORE_COLUMNS " FROM messages"
	    " WHERE app = ?1 AND id = ?2",
	[SSTORE_INSERT] = "INSERT INTO messages (" SSTORE_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?3)",
	[SSTORE_CHANGE] = "UPDATE messages SET status = ?3, content = ?4,"
	    " payload = ?5, edited_at = ?6, seq = ?7"
	    " WHERE app = ?1 AND id = ?2",
	/* Every copy of a changed message is news again for its recipient. */
	[SSTORE_UNDELIVER] = "UPDATE deliveries SET delivered = 0, seq = ?3"
	    " WHERE app = ?1 AND msg_id = ?2",
	[SSTORE_DELIVERY] = "INSERT INTO deliveries"
	    " (app, user_id, msg_id, delivered, seq)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (app, user_id, msg_id)"
	    " DO UPDATE SET delivered = excluded.delivered, seq = excluded.seq",
	/* Only the copy pushed: a change since is news again. */
	[SSTORE_DELIVERED] = "UPDATE deliveries SET delivered = 1"
	    " WHERE app = ?1 AND user_id = ?2 AND msg_id = ?3 AND seq = ?4",
	[SSTORE_PENDING] = "SELECT 0, " SSTORE_MCOLUMNS ", NULL, NULL"
	    " FROM deliveries d JOIN messages m"
	    " ON m.app = d.app AND m.id = d.msg_id"
	    " WHERE d.app = ?1 AND d.user_id = ?2 AND d.delivered = 0"
	    " AND d.seq > ?3 ORDER BY d.seq LIMIT ?4",
	/*
	 * One-to-one messages the user sent or received (a message to
	 * oneself matches both halves: counted once), group messages stored
	 * for the user, and the user's events when ?5: in seq order.
	 */
	[SSTORE_SINCE] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?2 AND seq > ?3"
	    " AND chat_type <> 'GROUP'"
	    " UNION ALL SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND to_id = ?2 AND from_id <> ?2"
	    " AND seq > ?3 AND chat_type <> 'GROUP'"
	    " UNION ALL SELECT 0, " SSTORE_MCOLUMNS ", NULL, NULL"
	    " FROM deliveries d JOIN messages m"
	    " ON m.app = d.app AND m.id = d.msg_id"
	    " WHERE d.app = ?1 AND d.user_id = ?2 AND d.seq > ?3"
	    " AND m.chat_type = 'GROUP'"
	    " UNION ALL SELECT 1, app, '', seq, '', '', '', '', '', '', 0,"
	    " NULL, NULL, '', 0, 0, type, data FROM events"
	    " WHERE ?5 AND app = ?1 AND user_id = ?2 AND seq > ?3"
	    " ORDER BY 4 LIMIT ?4",
	[SSTORE_HISTORY_PEER] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?2 AND to_id = ?3"
	    " AND chat_type <> 'GROUP' AND seq < ?4"
	    " UNION ALL SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?3 AND to_id = ?2"
	    " AND from_id <> to_id AND chat_type <> 'GROUP' AND seq < ?4"
	    " ORDER BY 4 DESC LIMIT ?5",
	[SSTORE_HISTORY_GROUP] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND ?2 IS NOT NULL AND to_id = ?3"
	    " AND chat_type = 'GROUP' AND seq < ?4 ORDER BY seq DESC LIMIT ?5",
	[SSTORE_EVENT] = "INSERT INTO events (app, user_id, seq, type, data)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[SSTORE_GROUP_GET] = "SELECT " SSTORE_GCOLUMNS " FROM chat_groups g"
	    " WHERE g.app = ?1 AND g.group_id = ?2 AND g.dismissed_at = 0",
	/* A dismissed group keeps its id: no new group inherits its past. */
	[SSTORE_GROUP_INSERT] = "INSERT OR IGNORE INTO chat_groups"
	    " (app, group_id, name, owner_id, notice, avatar, intro,"
	    " join_policy, mute_all, created_at, dismissed_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
	[SSTORE_GROUP_UPDATE] = "UPDATE chat_groups SET name = ?3,"
	    " notice = ?4, avatar = ?5, intro = ?6, join_policy = ?7,"
	    " mute_all = ?8 WHERE app = ?1 AND group_id = ?2"
	    " AND dismissed_at = 0",
	[SSTORE_GROUP_DISMISS] = "UPDATE chat_groups SET dismissed_at = ?3"
	    " WHERE app = ?1 AND group_id = ?2 AND dismissed_at = 0",
	[SSTORE_GROUP_LIST] = "SELECT " SSTORE_GCOLUMNS
	    " FROM group_members m JOIN chat_groups g"
	    " ON g.app = m.app AND g.group_id = m.group_id"
	    " WHERE m.app = ?1 AND m.user_id = ?2 AND g.dismissed_at = 0"
	    " ORDER BY g.created_at, g.group_id",
	[SSTORE_GROUP_OWNER] = "UPDATE chat_groups SET owner_id = ?3"
	    " WHERE app = ?1 AND group_id = ?2",
	[SSTORE_MEMBERS_CLEAR] = "DELETE FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2",
	[SSTORE_MEMBER_GET] = "SELECT " SSTORE_MEMBER_COLUMNS
	    " FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SSTORE_MEMBER_IDS] = "SELECT user_id FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND (?3 = 0 OR role <> 'MEMBER')"
	    " ORDER BY user_id",
	[SSTORE_MEMBERS] = "SELECT " SSTORE_MEMBER_COLUMNS
	    " FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND (?3 IS NULL OR role = ?3)"
	    " ORDER BY CASE role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1"
	    " ELSE 2 END, joined_at, user_id LIMIT ?5 OFFSET ?4",
	[SSTORE_MEMBER_ADD] = "INSERT OR IGNORE INTO group_members"
	    " (app, group_id, user_id, role, muted_until, joined_at)"
	    " VALUES (?1, ?2, ?3, ?4, 0, ?5)",
	[SSTORE_MEMBER_DEL] = "DELETE FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SSTORE_MEMBER_SET] = "UPDATE group_members SET role = ?4,"
	    " muted_until = ?5"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SSTORE_REQUESTS_CLEAR] = "DELETE FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2",
	[SSTORE_REQUEST_PUT] = "INSERT INTO group_requests"
	    " (app, group_id, user_id, message, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (app, group_id, user_id) DO UPDATE"
	    " SET message = excluded.message, created_at = excluded.created_at",
	[SSTORE_REQUEST_GET] = "SELECT user_id, message, created_at"
	    " FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SSTORE_REQUEST_DEL] = "DELETE FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SSTORE_REQUESTS] = "SELECT user_id, message, created_at"
	    " FROM group_requests WHERE app = ?1 AND group_id = ?2"
	    " ORDER BY created_at, user_id",
};

sqlite3			*sstore_db;
static sqlite3_stmt	*sstore_stmts[SSTORE_NSTMTS];
static long long	 sstore_seq;	/* last seq handed out */

#define ST(x)	(sstore_stmts[SSTORE_##x])

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
int
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
void
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
	sqlite3_stmt	*st = NULL;
	const char	*mode;

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
	if (sstore_prepare(sstore_sql, sstore_stmts, SSTORE_NSTMTS,
	    cause) == -1 || sstore_social_prepare(cause) == -1)
		goto fail;
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
	sstore_finalize(sstore_stmts, SSTORE_NSTMTS);
	sstore_social_finalize();
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

/* Free what a message owns. */
void
sstore_msg_clear(struct smsg *m)
{
	free(m->content);
	free(m->payload);
	free(m->mentions);
	m->content = m->payload = m->mentions = NULL;
}

/*
 * Fill m from the current row, whose message columns (SSTORE_COLUMNS order)
 * start at column base. Returns 0, or -1 if memory ran out.
 */
static int
sstore_row(sqlite3_stmt *st, int base, struct smsg *m)
{
	memset(m, 0, sizeof *m);
	sstore_copy(st, base, m->app, sizeof m->app);
	sstore_copy(st, base + 1, m->id, sizeof m->id);
	m->seq = sqlite3_column_int64(st, base + 2);
	sstore_copy(st, base + 3, m->from, sizeof m->from);
	sstore_copy(st, base + 4, m->to, sizeof m->to);
	sstore_copy(st, base + 5, m->chat_type, sizeof m->chat_type);
	sstore_copy(st, base + 6, m->msg_type, sizeof m->msg_type);
	sstore_copy(st, base + 8, m->status, sizeof m->status);
	m->created_at = sqlite3_column_int64(st, base + 9);
	sstore_copy(st, base + 12, m->reply_to, sizeof m->reply_to);
	m->edited_at = sqlite3_column_int64(st, base + 13);
	m->first_seq = sqlite3_column_int64(st, base + 14);
	if ((m->content = sstore_dup(st, base + 7)) == NULL)
		return -1;
	if (sqlite3_column_type(st, base + 10) != SQLITE_NULL &&
	    (m->payload = sstore_dup(st, base + 10)) == NULL)
		return -1;
	if (sqlite3_column_type(st, base + 11) != SQLITE_NULL &&
	    (m->mentions = sstore_dup(st, base + 11)) == NULL)
		return -1;
	return 0;
}

/*
 * Look up message id of app. Returns 0 and fills m (clear it after), 1 if
 * there is none, -1 on error.
 */
int
sstore_get(const char *app, const char *id, struct smsg *m)
{
	sqlite3_stmt	*st = ST(GET);
	int		 r;

	memset(m, 0, sizeof *m);
	if (sstore_bind(st, "ss", app, id) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_row(st, 0, m);
	sstore_reset(st);
	if (r == -1) {
		sstore_msg_clear(m);
		log_warn("database: out of memory");
	}
	return r;
}

/* Record the delivery state of message id at seq for n users. */
static int
sstore_put_deliveries(const char *app, const char *id, long long seq,
    const struct idlist *to, const int *delivered)
{
	size_t	 i;

	for (i = 0; i < to->n; i++) {
		if (sstore_run(ST(DELIVERY), "sssdi", app, to->v[i], id,
		    delivered[i] != 0, seq) == -1)
			return -1;
	}
	return 0;
}

/*
 * Store a new message with the next seq (set in m->seq) and the delivery
 * state of each recipient in to (delivered[i] for to->v[i]). Returns 0 or
 * -1; nothing is stored on failure.
 */
int
sstore_insert(struct smsg *m, const struct idlist *to, const int *delivered)
{
	long long	 seq = sstore_seq + 1;
	int		 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(INSERT), "ssissssssisssi", m->app, m->id, seq,
	    m->from, m->to, m->chat_type, m->msg_type, m->content, m->status,
	    m->created_at, m->payload, m->mentions, m->reply_to,
	    m->edited_at) == -1 ||
	    sstore_put_deliveries(m->app, m->id, seq, to, delivered) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	sstore_seq = m->seq = m->first_seq = seq;
	return 0;
}

/*
 * Store a change of message m (its status, content, payload and editedAt as
 * set in m) with the next seq (set in m->seq): every stored copy of it is
 * undelivered again. No copy is added: a change reaches who had the message.
 * Returns 0 or -1.
 */
int
sstore_change(struct smsg *m)
{
	long long	 seq = sstore_seq + 1;
	int		 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(CHANGE), "sssssii", m->app, m->id, m->status,
	    m->content, m->payload, m->edited_at, seq) == -1 ||
	    sstore_run(ST(UNDELIVER), "ssi", m->app, m->id, seq) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	sstore_seq = m->seq = seq;
	return 0;
}

/*
 * Mark n pushed copies delivered, in one transaction: each only if its row
 * is still at the seq pushed. Returns 0 or -1 (then none is marked).
 */
int
sstore_mark_delivered(const struct sdelivery *v, size_t n)
{
	size_t	 i;
	int	 ok = 1;

	if (n == 0)
		return 0;
	if (sstore_begin() == -1)
		return -1;
	for (i = 0; i < n && ok; i++) {
		if (sstore_run(ST(DELIVERED), "sssi", v[i].app, v[i].user,
		    v[i].msg_id, v[i].seq) == -1)
			ok = 0;
	}
	return sstore_end(ok);
}

/*
 * Step a bound query whose rows are (kind, SSTORE_COLUMNS, type, data) and
 * call cb on each: a message when kind is 0, else an event. cb must not
 * call back into sstore. Returns the number of rows passed to cb, or -1.
 */
static int
sstore_iterate(sqlite3_stmt *st, sstore_cb cb, void *arg)
{
	struct smsg	 m;
	struct sevent	 e;
	int		 r = 0, n = 0, stop = 0;

	while (!stop && (r = sstore_step(st)) == 1) {
		if (sqlite3_column_int(st, 0) == 0) {
			if (sstore_row(st, 1, &m) == -1) {
				sstore_msg_clear(&m);
				goto nomem;
			}
			stop = cb(&m, NULL, arg);
			sstore_msg_clear(&m);
		} else {
			memset(&e, 0, sizeof e);
			e.seq = sqlite3_column_int64(st, 3);
			sstore_copy(st, 16, e.type, sizeof e.type);
			if ((e.data = sstore_dup(st, 17)) == NULL)
				goto nomem;
			stop = cb(NULL, &e, arg);
			free(e.data);
		}
		n++;
	}
	if (stop)
		sstore_reset(st);
	else if (r == -1)
		return -1;
	return n;

nomem:
	log_warn("database: out of memory");
	sstore_reset(st);
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
	if (sstore_bind(ST(PENDING), "ssid", app, user, after, limit) == -1)
		return -1;
	return sstore_iterate(ST(PENDING), cb, arg);
}

/*
 * Call cb in seq order on up to limit rows with seq above since: messages
 * user sent or received (one-to-one), group messages stored for user and,
 * if events, user's events. Returns the number of rows, or -1.
 */
int
sstore_since(const char *app, const char *user, long long since, int limit,
    int events, sstore_cb cb, void *arg)
{
	if (sstore_bind(ST(SINCE), "ssidd", app, user, since, limit,
	    events != 0) == -1)
		return -1;
	return sstore_iterate(ST(SINCE), cb, arg);
}

/*
 * Call cb, newest first, on up to limit messages of a conversation with seq
 * below before: between user and target (CONV_PEER) or of group target
 * (CONV_GROUP). Returns the number of rows, or -1.
 */
int
sstore_history(const char *app, const char *user, char kind,
    const char *target, long long before, int limit, sstore_cb cb, void *arg)
{
	sqlite3_stmt	*st;

	st = kind == CONV_GROUP ? ST(HISTORY_GROUP) : ST(HISTORY_PEER);
	if (sstore_bind(st, "sssid", app, user, target, before, limit) == -1)
		return -1;
	return sstore_iterate(st, cb, arg);
}

/*
 * Store one event (type, data as JSON text) for every user in to, with the
 * next seq (set in *seq). Returns 0 or -1; nothing is stored on failure.
 */
int
sstore_event_put(const char *app, const struct idlist *to, const char *type,
    const char *data, long long *seq)
{
	long long	 next = sstore_seq + 1;
	size_t		 i;
	int		 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	for (i = 0; i < to->n; i++) {
		if (sstore_run(ST(EVENT), "ssiss", app, to->v[i], next, type,
		    data) == -1)
			goto done;
	}
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	sstore_seq = *seq = next;
	return 0;
}

/* Free what a group owns. */
void
sstore_group_clear(struct sgroup *g)
{
	free(g->notice);
	free(g->avatar);
	free(g->intro);
	g->notice = g->avatar = g->intro = NULL;
}

/* Fill g from the current row (SSTORE_GCOLUMNS). Returns 0 or -1. */
static int
sstore_group_row(sqlite3_stmt *st, struct sgroup *g)
{
	memset(g, 0, sizeof *g);
	sstore_copy(st, 0, g->app, sizeof g->app);
	sstore_copy(st, 1, g->id, sizeof g->id);
	sstore_copy(st, 2, g->name, sizeof g->name);
	sstore_copy(st, 3, g->owner, sizeof g->owner);
	sstore_copy(st, 7, g->join_policy, sizeof g->join_policy);
	g->mute_all = sqlite3_column_int(st, 8);
	g->created_at = sqlite3_column_int64(st, 9);
	g->member_count = sqlite3_column_int64(st, 10);
	if ((g->notice = sstore_dup(st, 4)) == NULL ||
	    (g->avatar = sstore_dup(st, 5)) == NULL ||
	    (g->intro = sstore_dup(st, 6)) == NULL) {
		sstore_group_clear(g);
		log_warn("database: out of memory");
		return -1;
	}
	return 0;
}

/*
 * Look up a living group. Returns 0 and fills g (clear it after), 1 if
 * there is none (or it was dismissed), -1 on error.
 */
int
sstore_group_get(const char *app, const char *id, struct sgroup *g)
{
	sqlite3_stmt	*st = ST(GROUP_GET);
	int		 r;

	memset(g, 0, sizeof *g);
	if (sstore_bind(st, "ss", app, id) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_group_row(st, g);
	sstore_reset(st);
	return r;
}

/*
 * Create group g with g->owner as OWNER and every id of members (the owner
 * left out) as MEMBER, all joined at g->created_at. Returns 0, 1 if the id
 * is taken (now or by a dismissed group), -1 on error.
 */
int
sstore_group_create(const struct sgroup *g, const struct idlist *members)
{
	size_t	 i;
	int	 r, ok = 0, taken = 0;

	if (sstore_begin() == -1)
		return -1;
	r = sstore_run(ST(GROUP_INSERT), "ssssssssdi", g->app, g->id, g->name,
	    g->owner, g->notice, g->avatar, g->intro, g->join_policy,
	    g->mute_all, g->created_at);
	if (r <= 0) {
		taken = r == 0;
		goto done;
	}
	if (sstore_run(ST(MEMBER_ADD), "ssssi", g->app, g->id, g->owner,
	    "OWNER", g->created_at) == -1)
		goto done;
	for (i = 0; i < members->n; i++) {
		if (strcmp(members->v[i], g->owner) != 0 &&
		    sstore_run(ST(MEMBER_ADD), "ssssi", g->app, g->id,
		    members->v[i], "MEMBER", g->created_at) == -1)
			goto done;
	}
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return taken ? 1 : -1;
	return 0;
}

/*
 * Write the settings of group g (name, notice, avatar, intro, joinPolicy,
 * muteAll). Returns 0, 1 if there is no such living group, -1 on error.
 */
int
sstore_group_update(const struct sgroup *g)
{
	int	 r;

	r = sstore_run(ST(GROUP_UPDATE), "sssssssd", g->app, g->id, g->name,
	    g->notice, g->avatar, g->intro, g->join_policy, g->mute_all);
	return r == -1 ? -1 : r == 0;
}

/* Dismiss a group: mark it, drop its members and requests. Returns 0 or -1. */
int
sstore_group_dismiss(const char *app, const char *id, long long now)
{
	int	 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(GROUP_DISMISS), "ssi", app, id, now) == -1 ||
	    sstore_run(ST(MEMBERS_CLEAR), "ss", app, id) == -1 ||
	    sstore_run(ST(REQUESTS_CLEAR), "ss", app, id) == -1)
		goto done;
	ok = 1;
done:
	return sstore_end(ok);
}

/* Call cb on every living group user is a member of. Returns 0 or -1. */
int
sstore_group_list(const char *app, const char *user, sstore_group_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = ST(GROUP_LIST);
	struct sgroup	 g;
	int		 r = 0, stop = 0;

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		if (sstore_group_row(st, &g) == -1) {
			sstore_reset(st);
			return -1;
		}
		stop = cb(&g, arg);
		sstore_group_clear(&g);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}

/*
 * Make member to the owner of group id and from (the old owner) a MEMBER.
 * Returns 0 or -1.
 */
int
sstore_group_transfer(const char *app, const char *id, const char *from,
    const char *to)
{
	int	 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(GROUP_OWNER), "sss", app, id, to) == -1 ||
	    sstore_run(ST(MEMBER_SET), "ssssi", app, id, to, "OWNER",
	    0LL) == -1 ||
	    sstore_run(ST(MEMBER_SET), "ssssi", app, id, from, "MEMBER",
	    0LL) == -1)
		goto done;
	ok = 1;
done:
	return sstore_end(ok);
}

/* Fill a member from the current row (SSTORE_MEMBER_COLUMNS). */
static void
sstore_member_row(sqlite3_stmt *st, struct smember *m)
{
	memset(m, 0, sizeof *m);
	sstore_copy(st, 0, m->user, sizeof m->user);
	sstore_copy(st, 1, m->role, sizeof m->role);
	m->muted_until = sqlite3_column_int64(st, 2);
	m->joined_at = sqlite3_column_int64(st, 3);
}

/*
 * Look up user in group id. Returns 0 and fills m, 1 if user is not a
 * member, -1 on error.
 */
int
sstore_member_get(const char *app, const char *id, const char *user,
    struct smember *m)
{
	sqlite3_stmt	*st = ST(MEMBER_GET);
	int		 r;

	if (sstore_bind(st, "sss", app, id, user) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	sstore_member_row(st, m);
	sstore_reset(st);
	return 0;
}

/*
 * Append the ids of the members of group id (only the owner and admins if
 * managers) to out. Returns 0 or -1.
 */
int
sstore_member_ids(const char *app, const char *id, int managers,
    struct idlist *out)
{
	sqlite3_stmt		*st = ST(MEMBER_IDS);
	const unsigned char	*u;
	int			 r;

	if (sstore_bind(st, "ssd", app, id, managers != 0) == -1)
		return -1;
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

/*
 * Call cb on up to limit members of group id from offset on (with role, if
 * not NULL), owner first, then admins, then by joinedAt. Returns the number
 * of rows, or -1.
 */
int
sstore_members(const char *app, const char *id, const char *role,
    long long offset, int limit, sstore_member_cb cb, void *arg)
{
	sqlite3_stmt	*st = ST(MEMBERS);
	struct smember	 m;
	int		 r = 0, n = 0, stop = 0;

	if (sstore_bind(st, "sssid", app, id, role, offset, limit) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		sstore_member_row(st, &m);
		stop = cb(&m, arg);
		n++;
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? n : -1;
}

/*
 * Add user to group id with role, and drop the user's join request.
 * Returns 0, 1 if user already is a member, -1 on error.
 */
int
sstore_member_add(const char *app, const char *id, const char *user,
    const char *role, long long now)
{
	int	 r = 0, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if ((r = sstore_run(ST(MEMBER_ADD), "ssssi", app, id, user, role,
	    now)) == -1 ||
	    sstore_run(ST(REQUEST_DEL), "sss", app, id, user) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	return r == 0;
}

/* Remove user from group id. Returns 0, 1 if not a member, -1 on error. */
int
sstore_member_remove(const char *app, const char *id, const char *user)
{
	int	 r;

	r = sstore_run(ST(MEMBER_DEL), "sss", app, id, user);
	return r == -1 ? -1 : r == 0;
}

/* Write a member's role and mutedUntil. Returns 0, 1 if none, -1. */
int
sstore_member_set(const char *app, const char *id, const struct smember *m)
{
	int	 r;

	r = sstore_run(ST(MEMBER_SET), "ssssi", app, id, m->user, m->role,
	    m->muted_until);
	return r == -1 ? -1 : r == 0;
}

/* Store (or renew) user's request to join group id. Returns 0 or -1. */
int
sstore_request_put(const char *app, const char *id, const char *user,
    const char *message, long long now)
{
	return sstore_run(ST(REQUEST_PUT), "ssssi", app, id, user, message,
	    now) == -1 ? -1 : 0;
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

/*
 * Look up user's request to join group id. Returns 0 and fills q, 1 if
 * there is none, -1 on error.
 */
int
sstore_request_get(const char *app, const char *id, const char *user,
    struct srequest *q)
{
	sqlite3_stmt	*st = ST(REQUEST_GET);

	if (sstore_bind(st, "sss", app, id, user) == -1)
		return -1;
	return sstore_request_one(st, q);
}

/* Drop user's request to join group id. Returns 0, 1 if none, -1. */
int
sstore_request_del(const char *app, const char *id, const char *user)
{
	int	 r;

	r = sstore_run(ST(REQUEST_DEL), "sss", app, id, user);
	return r == -1 ? -1 : r == 0;
}

/* Call cb on every pending request to join group id. Returns 0 or -1. */
int
sstore_requests(const char *app, const char *id, sstore_request_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = ST(REQUESTS);

	if (sstore_bind(st, "ss", app, id) == -1)
		return -1;
	return sstore_request_each(st, cb, arg);
}
