/*
 * store_msg: the messages table: put (insert or update), get, the delivery
 * status, delete, history pages and retention, and the one place a row
 * becomes a message object. Search and conversations have their own files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

const struct store_sql store_msg_sql[] = {
	{ Q_MSG_GET, "SELECT " MSG_COLS " FROM messages m WHERE m.id = ?1" },
	/* A known id inserts nothing (and fires no trigger): see changes(). */
	{ Q_MSG_INS, "INSERT INTO messages(id, conv, from_id, to_id, msg_type, "
	    "content, status, created_at, seq, edited_at, extra) "
	    "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
	    "ON CONFLICT(id) DO NOTHING" },
	/* The parameters are numbered as Q_MSG_INS's (store_bind_row). */
	{ Q_MSG_UPD, "UPDATE messages SET content = ?6, status = ?7, "
	    "created_at = ?8, seq = ?9, edited_at = ?10, extra = ?11 "
	    "WHERE id = ?1" },
	/* A message queued before we knew who we are gets our id now. */
	{ Q_MSG_STATUS, "UPDATE messages SET status = ?2, "
	    "from_id = CASE WHEN from_id = '' THEN ?5 ELSE from_id END, "
	    "created_at = CASE WHEN ?3 > 0 THEN ?3 ELSE created_at END, "
	    "seq = CASE WHEN ?4 > 0 THEN ?4 ELSE seq END WHERE id = ?1 "
	    /* Only forward: SENDING settles, FAILED is sent again. */
	    "AND (status = 'SENDING' OR (status = 'FAILED' AND ?2 = 'SENDING')) "
	    "RETURNING conv" },
	{ Q_MSG_DEL, "DELETE FROM messages WHERE id = ?1" },
	/* Keyset pages: ?3/?4 is the (created_at, rowid) of the edge message. */
	{ Q_HIST_OLDER, "SELECT " MSG_COLS " FROM messages m WHERE m.conv = ?1 "
	    "AND (m.created_at < ?3 OR (m.created_at = ?3 AND m.rowid < ?4)) "
	    "ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?2" },
	{ Q_HIST_NEWER, "SELECT " MSG_COLS " FROM messages m WHERE m.conv = ?1 "
	    "AND (m.created_at > ?3 OR (m.created_at = ?3 AND m.rowid > ?4)) "
	    "ORDER BY m.created_at ASC, m.rowid ASC LIMIT ?2" },
	{ Q_MSG_POS, "SELECT created_at, rowid FROM messages WHERE id = ?1 AND conv = ?2" },
	{ Q_COUNT, NULL }
};

/* Turn a conversation key ("u:bob", "g:42") into {"user": ..} or {"group": ..}. */
json_t *
store_conv_object(const char *conv)
{
	if (strncmp(conv, "g:", 2) == 0)
		return json_pack("{s:s}", "group", conv + 2);
	return json_pack("{s:s}", "user", conv + 2);
}

/* Build a message object from MSG_COLS starting at column c (NULL if absent). */
json_t *
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

/* Build a message object from a row's first columns. */
json_t *
store_row_message(sqlite3_stmt *st)
{
	return store_row_message_at(st, 0);
}

/* A string member of o, or dflt. */
static const char *
store_str(json_t *o, const char *key, const char *dflt)
{
	const char	*v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : dflt;
}

/* An integer member of o, 0 if absent. */
static int64_t
store_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* See store.h. */
const struct store_extra store_extras[] = {
	{ "payload", JSON_OBJECT },
	{ "mentions", JSON_ARRAY },
	{ "replyTo", JSON_STRING },
	{ NULL, JSON_NULL },
};

/* The message extras (payload, mentions, replyTo) as JSON text, "" if none. */
static char *
store_extra(json_t *msg)
{
	const struct store_extra	*x;
	json_t				*e = json_object();
	char				*text;

	for (x = store_extras; x->name != NULL; x++) {
		json_t	*v = json_object_get(msg, x->name);

		if (v != NULL && !json_is_null(v))
			json_object_set(e, x->name, v);
	}
	text = json_object_size(e) == 0 ? strdup("") : json_dumps(e,
	    JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(e);
	return text;
}

/* Bind a message row to ?1..?11, numbered as Q_MSG_INS's columns. */
void
store_bind_row(sqlite3_stmt *st, const struct store_row *r)
{
	store_bind_text(st, 1, r->id);
	store_bind_text(st, 2, r->conv);
	store_bind_text(st, 3, r->from);
	store_bind_text(st, 4, r->to);
	store_bind_text(st, 5, r->type);
	store_bind_text(st, 6, r->content);
	store_bind_text(st, 7, r->status);
	sqlite3_bind_int64(st, 8, r->created_at);
	sqlite3_bind_int64(st, 9, r->seq);
	sqlite3_bind_int64(st, 10, r->edited_at);
	store_bind_text(st, 11, r->extra != NULL ? r->extra : "");
}

/*
 * Store a row: a new message (the usual case: a sync) is one insert; a
 * known one is compared and updated.
 */
static int
store_put_row(struct store *s, const struct store_row *r)
{
	sqlite3_stmt	*st;
	const char	*ostatus;
	int		 same;

	if (store_write(s) == -1)
		return -1;
	st = store_q(s, Q_MSG_INS);
	store_bind_row(st, r);
	if (store_exec(s, st, "inserting message") == -1)
		return -1;
	if (sqlite3_changes(s->db) > 0)
		return STORE_INSERTED;
	st = store_q(s, Q_MSG_GET);
	store_bind_text(st, 1, r->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_fail(s, "reading message");
	}
	ostatus = (const char *)sqlite3_column_text(st, 6);
	same = strcmp(ostatus, "REVOKED") == 0 ||
	    (strcmp(ostatus, r->status) == 0 &&
	    strcmp((const char *)sqlite3_column_text(st, 5), r->content) == 0 &&
	    sqlite3_column_int64(st, 8) == r->seq &&
	    sqlite3_column_int64(st, 9) == r->edited_at &&
	    strcmp((const char *)sqlite3_column_text(st, 10), r->extra) == 0);
	sqlite3_reset(st);
	if (same)
		return STORE_UNCHANGED;
	st = store_q(s, Q_MSG_UPD);
	store_bind_row(st, r);
	return store_exec(s, st, "updating message") == -1 ? -1 : STORE_UPDATED;
}

/* Insert or update a message. */
int
store_put_message(struct store *s, const char *conv, json_t *msg)
{
	struct store_row	 r;
	char			*extra = store_extra(msg);
	int			 put;

	r.id = store_str(msg, "id", NULL);
	if (r.id == NULL || extra == NULL) {
		store_seterr(s, STORE_E_BAD_INPUT, "message without id");
		free(extra);
		return -1;
	}
	r.conv = conv;
	r.from = store_str(msg, "from", "");
	r.to = store_str(msg, "to", "");
	r.type = store_str(msg, "type", "TEXT");
	r.content = store_str(msg, "content", "");
	r.status = store_str(msg, "status", "SENT");
	r.created_at = store_int(msg, "createdAt");
	r.seq = store_int(msg, "seq");
	r.edited_at = store_int(msg, "editedAt");
	r.extra = extra;
	put = store_put_row(s, &r);
	free(extra);
	return put;
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
	store_bind_self(s, st, 5);
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
int
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
		store_seterr(s, STORE_E_NOT_FOUND, "no message %s in this conversation", id);
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

/* Delete one cached message. */
int
store_delete_message(struct store *s, const char *id)
{
	if (store_change(s, Q_MSG_DEL, "deleting message", 1, id) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return store_seterr(s, STORE_E_NOT_FOUND, "no message %s", id);
	return 0;
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
