/*
 * store_obj: the cache of the server's relationship data (groups, members,
 * friends, requests, blacklist, profiles) as JSON objects by kind and id.
 * The store keeps the text; what the fields mean is the daemon's.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_obj_sql[] = {
	{ Q_OBJ_PUT, "INSERT INTO objects(kind, id, body) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body" },
	{ Q_OBJ_GET, "SELECT body FROM objects WHERE kind = ?1 AND id = ?2" },
	{ Q_OBJ_DEL, "DELETE FROM objects WHERE kind = ?1 AND id = ?2" },
	/* Ids under a prefix: "g1/" lists group g1's members. */
	{ Q_OBJ_LIST, "SELECT body FROM objects WHERE kind = ?1 AND "
	    "id >= ?2 AND id < ?2 || char(1114111) ORDER BY id" },
	{ Q_OBJ_DEL_PREFIX, "DELETE FROM objects WHERE kind = ?1 AND "
	    "id >= ?2 AND id < ?2 || char(1114111)" },
	{ Q_COUNT, NULL }
};

/* A row whose first column is JSON text (objects cache), or NULL. */
static json_t *
store_row_json(sqlite3_stmt *st)
{
	return json_loads((const char *)sqlite3_column_text(st, 0),
	    JSON_DECODE_ANY, NULL);
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
		return store_seterr(s, STORE_E_BAD_INPUT, "cannot serialise %s %s", kind, id);
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
