/*
 * store_conv: the conversations table, kept by the schema's triggers as
 * messages come and go: the list, one conversation, pinned, muted and
 * draft, read marks and the unread counts, the peer's read receipt.
 */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

#define CONV_COLS "c.conv, c.last_at, c.unread, c.pinned, c.muted, " \
	"c.draft, c.peer_read_at, " MSG_COLS " FROM conversations c " \
	"LEFT JOIN messages m ON m.id = c.last_id"

const struct store_sql store_conv_sql[] = {
	{ Q_CONV_LIST, "SELECT " CONV_COLS " ORDER BY c.pinned DESC, "
	    "c.last_at DESC, c.conv LIMIT ?1 OFFSET ?2" },
	{ Q_CONV_GET, "SELECT " CONV_COLS " WHERE c.conv = ?1" },
	{ Q_CONV_PIN, "INSERT INTO conversations(conv, pinned) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET pinned = excluded.pinned" },
	{ Q_CONV_MUTE, "INSERT INTO conversations(conv, muted) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET muted = excluded.muted" },
	{ Q_CONV_DRAFT, "INSERT INTO conversations(conv, draft) VALUES (?1, ?2) "
	    "ON CONFLICT(conv) DO UPDATE SET draft = excluded.draft" },
	/*
	 * Read up to a time (?2; -1: the newest message); the unread count is
	 * recounted, never guessed.
	 */
	{ Q_CONV_READ, "UPDATE conversations SET read_at = r.at, unread = "
	    "(SELECT count(*) FROM messages m WHERE m.conv = ?1 AND "
	    "m.created_at > r.at AND m.status <> 'REVOKED' AND m.from_id <> '' "
	    "AND m.from_id <> ?3) "
	    "FROM (SELECT max(read_at, CASE WHEN ?2 >= 0 THEN ?2 ELSE "
	    "coalesce((SELECT max(created_at) FROM messages WHERE conv = ?1), 0) "
	    "END) AS at FROM conversations WHERE conv = ?1) AS r WHERE conv = ?1" },
	{ Q_CONV_DEL, "DELETE FROM conversations WHERE conv = ?1" },
	{ Q_CONV_MSGS_DEL, "DELETE FROM messages WHERE conv = ?1" },
	{ Q_UNREAD_TOTAL, "SELECT coalesce(sum(unread), 0) FROM conversations "
	    "WHERE muted = 0" },
	{ Q_PEER_READ, "UPDATE conversations SET peer_read_at = "
	    "max(peer_read_at, ?2) WHERE conv = ?1" },
	{ Q_COUNT, NULL }
};

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
	store_bind_self(s, st, 3);
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
