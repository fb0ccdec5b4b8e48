/*
 * sqlite_ref: the ingest benchmark's reference. Plain SQLite storing the
 * same message rows imgwd stores, in imgwd's messages table with the same
 * B-tree indexes (primary key on id, (conv, created_at), (created_at)) and
 * the same settings (WAL, synchronous NORMAL), in transactions of BATCH
 * rows, without the full-text indexes, triggers or event log. Prints one
 * JSON object. A benchmark tool: it exits on any error.
 *
 *   sqlite_ref DB COUNT BATCH
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
check(sqlite3 *db, int rc, int want)
{
	if (rc != want) {
		fprintf(stderr, "sqlite_ref: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	sqlite3		*db;
	sqlite3_stmt	*ins;
	char		 id[48], text[128];
	long		 n, batch, i;
	int64_t		 t0, t1;

	if (argc != 4 || (n = atol(argv[2])) < 1 || (batch = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: sqlite_ref DB COUNT BATCH\n");
		return 2;
	}
	check(NULL, sqlite3_open(argv[1], &db), SQLITE_OK);
	check(db, sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "CREATE TABLE messages(id TEXT PRIMARY KEY, conv TEXT NOT NULL,"
	    "  from_id TEXT NOT NULL, to_id TEXT NOT NULL, msg_type TEXT NOT NULL,"
	    "  content TEXT NOT NULL, status TEXT NOT NULL,"
	    "  created_at INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0,"
	    "  edited_at INTEGER NOT NULL DEFAULT 0, extra TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX messages_conv ON messages(conv, created_at);"
	    "CREATE INDEX messages_created ON messages(created_at);",
	    NULL, NULL, NULL), SQLITE_OK);
	check(db, sqlite3_prepare_v2(db, "INSERT INTO messages(id, conv, from_id, "
	    "to_id, msg_type, content, status, created_at, seq, edited_at, extra) "
	    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", -1, &ins, NULL),
	    SQLITE_OK);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (i % batch == 0)
			check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
			    NULL), SQLITE_OK);
		/* The rows stomp_load sends: the same id and text shapes. */
		snprintf(id, sizeof id, "s%x%04x-%ld", 4242u, 0xbeefu, i);
		snprintf(text, sizeof text, "你好，明天北京见 hello %ld", i);
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, "u:alice", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, "alice", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, "bob", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, "TEXT", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, "SENT", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 8, 1700000000000 + i);
		sqlite3_bind_int64(ins, 9, i + 1);
		sqlite3_bind_int64(ins, 10, 0);
		sqlite3_bind_text(ins, 11, "", -1, SQLITE_STATIC);
		check(db, sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
		if (i % batch == batch - 1 || i == n - 1)
			check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			    SQLITE_OK);
	}
	t1 = now_ns();
	sqlite3_finalize(ins);
	sqlite3_close(db);
	printf("{\"mode\":\"sqlite_ref\",\"rows\":%ld,\"batch\":%ld,"
	    "\"seconds\":%.6f,\"rate\":%.1f}\n", n, batch, (t1 - t0) / 1e9,
	    n / ((t1 - t0) / 1e9));
	return 0;
}
