/*
 * store: the core of the SQLite persistence for one account's gateway: open
 * and close, the statement cache, the turn's transaction, errors, our own
 * id and the key/value rows. The schema is store_schema.c's; each concern
 * lives in its own store_*.c with its SQL; none talks to the network.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_kv_sql[] = {
	{ Q_KV_GET, "SELECT value FROM kv WHERE key = ?1" },
	{ Q_KV_SET, "INSERT INTO kv(key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value" },
	{ Q_COUNT, NULL }
};

/* Every concern's statements, prepared at open. */
static const struct store_sql *const store_tables[] = {
	store_kv_sql, store_msg_sql, store_search_sql, store_conv_sql,
	store_outbox_sql, store_event_sql, store_obj_sql, store_maint_sql,
};

/* Remember the database's error text, prefixed by what was being done. */
int
store_fail(struct store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	switch (sqlite3_errcode(s->db) & 0xff) {
	case SQLITE_FULL:
		s->code = STORE_E_FULL;
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		s->code = STORE_E_IO;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		s->code = STORE_E_BUSY;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		s->code = STORE_E_CORRUPT;
		break;
	case SQLITE_NOMEM:
		s->code = STORE_E_NOMEM;
		break;
	default:
		s->code = STORE_E_INTERNAL;
		break;
	}
	return -1;
}

/* Set an error of our own (not SQLite's); returns -1. */
int
store_seterr(struct store *s, enum store_errno code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	s->code = code;
	return -1;
}

/* Return the last error's kind. */
enum store_errno
store_errno(struct store *s)
{
	return s->code;
}

/* Return the last error text. */
const char *
store_error(struct store *s)
{
	return s->err;
}

/* The wall clock in milliseconds. */
int64_t
store_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * imgw_self(): our own user id for the unread triggers, as the daemon gave
 * it to store_set_self; '' until it did (nothing is then "ours" but the
 * messages queued with no sender).
 */
static void
store_fn_self(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store	*s = sqlite3_user_data(ctx);

	sqlite3_result_text(ctx, s->self != NULL ? s->self : "", -1,
	    SQLITE_TRANSIENT);
}

/* Set our own user id. */
int
store_set_self(struct store *s, const char *id)
{
	char	*copy = NULL;

	if (id != NULL && (copy = strdup(id)) == NULL)
		return store_seterr(s, STORE_E_NOMEM, "out of memory");
	free(s->self);
	s->self = copy;
	return 0;
}

/* Bind our own id ('' when unknown) to parameter i of st. */
void
store_bind_self(struct store *s, sqlite3_stmt *st, int i)
{
	store_bind_text(st, i, s->self != NULL ? s->self : "");
}

/* Open the database at path. */
struct store *
store_open(const char *path, char **cause)
{
	struct store		*s;
	const struct store_sql	*q;
	int			 i;

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
	    NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(s->db, "imgw_contains", 2, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, store_fn_contains,
	    NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(s->db, "imgw_self", 0, SQLITE_UTF8 |
	    SQLITE_INNOCUOUS, s, store_fn_self, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "registering functions");
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
	for (i = 0; i < (int)(sizeof store_tables / sizeof store_tables[0]); i++) {
		for (q = store_tables[i]; q->sql != NULL; q++) {
			if (sqlite3_prepare_v3(s->db, q->sql, -1,
			    SQLITE_PREPARE_PERSISTENT, &s->q[q->q], NULL) != SQLITE_OK) {
				store_fail(s, "preparing statement");
				goto fail;
			}
		}
	}
	/* A statement no table names is a bug, found here and not in use. */
	for (i = 0; i < Q_COUNT; i++) {
		if (s->q[i] == NULL) {
			store_seterr(s, STORE_E_INTERNAL, "statement %d has no SQL", i);
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
	free(s->self);
	free(s);
}

/* Open this turn's transaction if none is open. */
int
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
sqlite3_stmt *
store_q(struct store *s, enum store_q which)
{
	sqlite3_stmt	*st = s->q[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Step a statement that returns no rows. */
int
store_exec(struct store *s, sqlite3_stmt *st, const char *what)
{
	int	 rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, what);
	return 0;
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/*
 * Run a writing statement whose n parameters are all text, in this turn's
 * transaction. Returns 0, or -1 with the error prefixed by what.
 */
int
store_change(struct store *s, enum store_q which, const char *what, int n, ...)
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

/*
 * Step a bound statement and collect row(st) of each row into a new array
 * (a NULL from row skips the row). NULL on error, with the error prefixed
 * by what.
 */
json_t *
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

/*
 * Run a one-row query keyed by key and build its result with row, or NULL:
 * absent (store_error is then empty) or failed (store_error says why).
 */
json_t *
store_one(struct store *s, enum store_q which, const char *key,
    json_t *(*row)(sqlite3_stmt *), const char *what)
{
	sqlite3_stmt	*st = store_q(s, which);
	json_t		*o = NULL;
	int		 rc;

	store_bind_text(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		o = row(st);
	else if (rc == SQLITE_DONE)
		store_seterr(s, STORE_E_NOT_FOUND, "%s", "");
	else
		store_fail(s, what);
	sqlite3_reset(st);
	return o;
}
