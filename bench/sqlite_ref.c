/*
 * sqlite_ref: the ingest benchmark's two references, storing through SQLite
 * directly the rows stomp_load sends (the same ids and texts), in
 * transactions of BATCH rows (imgwd commits one sync page at a time), with
 * imgwd's durability (WAL, synchronous FULL). Prints one JSON object. A
 * benchmark tool: it exits on any error.
 *
 *   sqlite_ref bare DB COUNT BATCH
 *       bare rows: imgwd's messages table with its B-tree indexes (primary
 *       key on id, (conv, created_at), (created_at)) and nothing else: no
 *       full-text index, no triggers, no event log, no parsing.
 *   sqlite_ref schema DB COUNT BATCH
 *       imgwd's own schema, made by imgwd's own store_open (storedb.c), so
 *       its full-text indexes, triggers and imgw_grams are all there: each
 *       row is inserted into messages and a message.new row (the message,
 *       MessagePack as imgwd logs it) into the event log, and each batch
 *       moves the sync cursor in
 *       kv, as a sync page does. No parsing, no announcing, no reading back:
 *       the floor the schema itself sets. The search indexes follow the
 *       messages (store.h, store_index_some) as in imgwd: the rows are
 *       timed without them ("seconds", "rate"), then the store indexes
 *       everything at once ("index_seconds"; "indexed_rate" is the rows
 *       over both).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>
#include <sqlite3.h>

#include "store.h"
#include "storedb.h"

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
		fprintf(stderr, "sqlite_ref: %s\n", db ? sqlite3_errmsg(db) :
		    sqlite3_errstr(rc));
		exit(1);
	}
}

static void
exec(sqlite3 *db, const char *sql)
{
	check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Pack a string. */
static void
str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A message.new event as imgwd logs it, for the message row i. */
static void
event(msgpack_sbuffer *sb, const char *id, const char *text, int64_t at,
    long i)
{
	msgpack_packer	 pk;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	str(&pk, "message");
	msgpack_pack_map(&pk, 9);
	str(&pk, "id"); str(&pk, id);
	str(&pk, "from"); str(&pk, "alice");
	str(&pk, "to"); str(&pk, "bob");
	str(&pk, "type"); str(&pk, "TEXT");
	str(&pk, "content"); str(&pk, text);
	str(&pk, "status"); str(&pk, "SENT");
	str(&pk, "createdAt"); msgpack_pack_int64(&pk, at);
	str(&pk, "seq"); msgpack_pack_int64(&pk, i + 1);
	str(&pk, "conversation");
	msgpack_pack_map(&pk, 1);
	str(&pk, "user"); str(&pk, "alice");
	str(&pk, "type"); str(&pk, "message.new");
	str(&pk, "seq"); msgpack_pack_int64(&pk, i + 1);
}

static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;

	check(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	return st;
}

int
main(int argc, char **argv)
{
	struct store	*store = NULL;
	sqlite3		*db;
	sqlite3_stmt	*ins, *ev = NULL, *kv = NULL;
	msgpack_sbuffer	 body;
	char		 id[48], text[128], seq[32];
	long		 n, batch, i;
	int64_t		 t0, t1, t2, at;
	int		 schema;

	if (argc != 5 || (strcmp(argv[1], "bare") != 0 && strcmp(argv[1],
	    "schema") != 0) || (n = atol(argv[3])) < 1 ||
	    (batch = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: sqlite_ref bare|schema DB COUNT BATCH\n");
		return 2;
	}
	schema = strcmp(argv[1], "schema") == 0;
	msgpack_sbuffer_init(&body);
	if (schema) {
		db = storedb_open(argv[2], &store);
		exec(db, "INSERT OR REPLACE INTO kv(key, value) VALUES "
		    "('self', 'bob')");
		ev = prepare(db, "INSERT INTO events(seq, type, body, "
		    "created_at) VALUES (?1, 'message.new', ?2, ?3)");
		kv = prepare(db, "INSERT OR REPLACE INTO kv(key, value) "
		    "VALUES ('sync_seq', ?1)");
	} else {
		check(NULL, sqlite3_open(argv[2], &db), SQLITE_OK);
		exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		    "CREATE TABLE messages(id TEXT PRIMARY KEY, conv TEXT NOT NULL,"
		    "  from_id TEXT NOT NULL, to_id TEXT NOT NULL,"
		    "  msg_type TEXT NOT NULL, content TEXT NOT NULL,"
		    "  status TEXT NOT NULL, created_at INTEGER NOT NULL,"
		    "  seq INTEGER NOT NULL DEFAULT 0,"
		    "  edited_at INTEGER NOT NULL DEFAULT 0,"
		    "  extra TEXT NOT NULL DEFAULT '');"
		    "CREATE INDEX messages_conv ON messages(conv, created_at);"
		    "CREATE INDEX messages_created ON messages(created_at);");
	}
	ins = prepare(db, "INSERT INTO messages(id, conv, from_id, to_id, "
	    "msg_type, content, status, created_at, seq, edited_at, extra) "
	    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (i % batch == 0)
			exec(db, "BEGIN IMMEDIATE");
		/* The rows stomp_load sends: the same id and text shapes. */
		snprintf(id, sizeof id, "s%x%04x-%ld", 4242u, 0xbeefu, i);
		snprintf(text, sizeof text, "你好，明天北京见 hello %ld", i);
		at = 1700000000000 + i;
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, "u:alice", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, "alice", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, "bob", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, "TEXT", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, "SENT", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 8, at);
		sqlite3_bind_int64(ins, 9, i + 1);
		sqlite3_bind_int64(ins, 10, 0);
		sqlite3_bind_text(ins, 11, "", -1, SQLITE_STATIC);
		check(db, sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
		if (schema) {
			event(&body, id, text, at, i);
			sqlite3_bind_int64(ev, 1, i + 1);
			sqlite3_bind_blob(ev, 2, body.data, (int)body.size,
			    SQLITE_STATIC);
			sqlite3_bind_int64(ev, 3, at);
			check(db, sqlite3_step(ev), SQLITE_DONE);
			sqlite3_reset(ev);
		}
		if (i % batch == batch - 1 || i == n - 1) {
			if (schema) {
				snprintf(seq, sizeof seq, "%ld", i + 1);
				sqlite3_bind_text(kv, 1, seq, -1, SQLITE_STATIC);
				check(db, sqlite3_step(kv), SQLITE_DONE);
				sqlite3_reset(kv);
			}
			exec(db, "COMMIT");
		}
	}
	t1 = t2 = now_ns();
	sqlite3_finalize(ins);
	if (schema) {
		sqlite3_finalize(ev);
		sqlite3_finalize(kv);
		if (store_index_some(store, -1) == -1 || store_flush(store) == -1) {
			fprintf(stderr, "sqlite_ref: %s\n", store_error(store));
			exit(1);
		}
		t2 = now_ns();
		store_close(store);
	} else
		sqlite3_close(db);
	printf("{\"mode\":\"sqlite_ref\",\"schema\":\"%s\",\"rows\":%ld,"
	    "\"batch\":%ld,\"seconds\":%.6f,\"rate\":%.1f,"
	    "\"index_seconds\":%.6f,\"indexed_rate\":%.1f}\n", argv[1], n,
	    batch, (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9), (t2 - t1) / 1e9,
	    n / ((t2 - t0) / 1e9));
	msgpack_sbuffer_destroy(&body);
	return 0;
}
