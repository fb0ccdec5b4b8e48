/*
 * store: the daemon's SQLite cache of one account: messages, the outbox, the
 * event log and small key/values (sync cursor, own user id). The only daemon
 * code that includes sqlite3.h; everything crosses this API as jansson values.
 *
 * Writes are grouped: the first write of a loop turn opens a transaction and
 * store_flush() commits it. Readers see uncommitted writes of this connection.
 */
#ifndef IMGW_STORE_H
#define IMGW_STORE_H

#include <stdint.h>
#include <jansson.h>

struct store;

/* Result of store_put_message. */
enum store_put {
	STORE_UNCHANGED = 0,	/* same id and state already stored */
	STORE_INSERTED,		/* a new message */
	STORE_UPDATED,		/* an existing message changed (status, content) */
};

/* Open (creating and migrating) the database; NULL with *cause on failure. */
struct store	*store_open(const char *path, char **cause);
/* How far a commit survives (see proto/RPC.md, "Durability"). */
enum store_durability {
	STORE_DURABLE_FULL = 0,	/* a committed turn survives a power cut */
	STORE_DURABLE_NORMAL,	/* it survives a crash; a power cut may undo it */
};

/*
 * Set the durability of the commits that follow (store_open starts with
 * STORE_DURABLE_FULL: SQLite's WAL synced at every commit). Commits any
 * open transaction first. Returns 0 or -1.
 */
int		 store_set_durability(struct store *, enum store_durability);
/* Commit any open transaction and close the database. */
void		 store_close(struct store *);
/* The last error text, valid until the next store call. */
const char	*store_error(struct store *);

/* What the last failing call met, for callers to switch on (store_errno). */
enum store_errno {
	STORE_E_OK = 0,
	STORE_E_NOT_FOUND,	/* no such message (or conversation, ...) */
	STORE_E_BAD_CURSOR,	/* a search cursor this store did not make */
	STORE_E_BAD_INPUT,	/* a message without id, a body not serialisable */
	STORE_E_FULL,		/* the disk is full (SQLITE_FULL) */
	STORE_E_IO,		/* an I/O error, a file that cannot be opened */
	STORE_E_BUSY,		/* another connection holds the database */
	STORE_E_CORRUPT,	/* the file is damaged or not a database */
	STORE_E_SCHEMA,		/* the schema is newer than this code */
	STORE_E_NOMEM,		/* out of memory */
	STORE_E_INTERNAL,	/* anything else SQLite reported */
};
/*
 * The kind of the last error, valid until the next store call. A call that
 * returns NULL for "absent" (store_get_message, store_conversation) sets
 * STORE_E_NOT_FOUND and leaves store_error empty; other calls do not clear
 * it on success.
 */
enum store_errno store_errno(struct store *);
/* How many writes the open transaction holds (0 when none is open). */
int		 store_pending(struct store *);
/* Commit the transaction of this loop turn, if any. Returns 0 or -1. */
int		 store_flush(struct store *);

/*
 * Set our own user id (copied; NULL: unknown), which decides which
 * messages count as unread and who sent a message queued before it was
 * known. Not stored: the daemon gives it after every store_open. 0 or -1.
 */
int		 store_set_self(struct store *, const char *id);

/* Get a key's value (caller frees), or NULL if absent or on error. */
char		*store_get_kv(struct store *, const char *key);
/* Set a key's value. Returns 0 or -1. */
int		 store_set_kv(struct store *, const char *key, const char *value);

/*
 * A message's optional fields (UPSTREAM.md), kept together in its extra
 * column, each with its JSON type: the one list of them (NULL-terminated).
 * A new optional field is a row here and its check in message.send.
 */
struct store_extra {
	const char	*name;
	json_type	 type;
};
extern const struct store_extra store_extras[];

/*
 * Insert or update a message object (see proto/RPC.md: id, conversation key
 * conv, from, to, type, content, status, createdAt, seq). Returns a
 * store_put value, or -1 on error. A stored REVOKED message never goes back.
 */
int		 store_put_message(struct store *, const char *conv, json_t *msg);
/* A message by id as a new object, or NULL (absent or error: see store_error). */
json_t		*store_get_message(struct store *, const char *id);
/*
 * Set a message's status and, when non-zero, its server time and seq. A
 * status only moves forward: from SENDING (to anything), or from FAILED
 * back to SENDING; a SENT or REVOKED message is left as it is. *conv (when
 * conv is not NULL) gets its conversation object, or NULL if nothing
 * changed. Returns 0 or -1.
 */
int		 store_set_status(struct store *, const char *id, const char *status,
		     int64_t created_at, int64_t seq, json_t **conv);
/*
 * A page of conversation conv as a new array: the limit newest messages
 * older than message before (all when before is NULL), or with after, the
 * limit oldest newer than message after. newest_first orders the page.
 * *more: there are more in the paging direction; *start: the page reaches
 * the conversation's first message. NULL on error or an unknown before/after
 * (store_error says which).
 */
json_t		*store_history(struct store *, const char *conv, const char *before,
		     const char *after, int limit, int newest_first, int *more,
		     int *start);

/* Search filters; NULL or the extreme value means "any". */
struct store_filter {
	const char	*conv;		/* "u:ID" or "g:ID" */
	const char	*sender;
	int64_t		 from, to;	/* createdAt range, ms, inclusive */
};
/*
 * Messages whose content holds q (ASCII case folded), newest first, each
 * {message, offset, length}: where the first match is in the message's
 * content, in bytes (offset -1 if it cannot be found). Any length of
 * q works: three characters and more use the trigram index, one or two the
 * character-pair index. cursor (from a previous *next) continues a search;
 * *next (caller frees) is set when more results exist. NULL on error.
 */
json_t		*store_search(struct store *, const char *q,
		     const struct store_filter *, int limit, const char *cursor,
		     char **next);

/*
 * The search indexes are built behind the messages, off the turn that
 * stores them (store_search scans what they do not hold yet, so it never
 * misses a stored message). store_index_some indexes the next messages
 * not indexed yet, at most max of them (all when max < 0), in this turn's
 * transaction: the idle turns of the daemon. Returns how many (0: the
 * indexes hold every message), or -1.
 */
int		 store_index_some(struct store *, int max);
/* About how many messages are not indexed yet: 0 when none, or -1. */
int64_t		 store_index_lag(struct store *);

/* Conversations, pinned first then by last activity, each
 * {conversation, lastAt, unread, pinned, muted, draft, lastMessage}. */
json_t		*store_conversations(struct store *, int limit, int offset, int *more);
/* One conversation object, or NULL (absent, or an error in store_error). */
json_t		*store_conversation(struct store *, const char *conv);
/* Set "pinned" or "muted" (a JSON boolean) or "draft" (a string). 0 or -1. */
int		 store_conversation_set(struct store *, const char *conv,
		     const char *field, json_t *value);
/* Mark read up to message upto (NULL: everything). 0 or -1. */
int		 store_conversation_read(struct store *, const char *conv,
		     const char *upto);
/* Forget a conversation's cached messages, keeping it listed. 0 or -1. */
int		 store_conversation_clear(struct store *, const char *conv);
/* Delete a conversation and its cached messages. 0 or -1. */
int		 store_conversation_delete(struct store *, const char *conv);
/* Unread messages over all conversations that are not muted. */
int64_t		 store_unread_total(struct store *);
/* Delete one message from the cache. 0, or -1 (also if absent). */
int		 store_delete_message(struct store *, const char *id);

/*
 * The relationship cache: JSON objects by kind ("group", "member",
 * "friend", "request", "blacklist", "profile") and id. Members use ids
 * "GROUP/USER" so a group's members share the prefix "GROUP/".
 */
int		 store_obj_put(struct store *, const char *kind, const char *id,
		     json_t *body);
json_t		*store_obj_get(struct store *, const char *kind, const char *id);
int		 store_obj_del(struct store *, const char *kind, const char *id,
		     int prefix);
json_t		*store_obj_list(struct store *, const char *kind, const char *prefix);
/* The peer read a one-to-one conversation up to at (a read receipt). 0 or -1. */
int		 store_peer_read(struct store *, const char *conv, int64_t at);

/*
 * Counts and sizes: {messages, conversations, events, outbox, oldest,
 * bytes, schema, unindexed} (unindexed: messages search finds by a scan).
 */
json_t		*store_stats(struct store *);
/* VACUUM. 0 or -1. */
int		 store_vacuum(struct store *);
/*
 * Integrity check, after indexing what is not indexed yet: NULL when sound,
 * else what is wrong (caller frees).
 */
char		*store_check(struct store *);
/* Delete messages older than before_ms and beyond the newest keep per
 * conversation (0 disables either); never unsent ones. Count or -1. */
int64_t		 store_retain(struct store *, int64_t before_ms, int keep);

/* Queue an outgoing request (destination and JSON body) under id. Returns 0 or -1. */
int		 store_outbox_add(struct store *, const char *id, const char *dest,
		     const char *body);
/* Whether id is queued in the outbox. */
int		 store_outbox_has(struct store *, const char *id);
/* Remove an outbox entry. Returns 0 or -1. */
int		 store_outbox_del(struct store *, const char *id);
/* The outbox in order: an array of {id, dest, body}; NULL on error. */
json_t		*store_outbox_list(struct store *);

/* A message row as stored, for store_bulk_put. */
struct store_row {
	const char	*id, *conv, *from, *to, *type, *content, *status;
	int64_t		 created_at, seq, edited_at;
	const char	*extra;		/* payload, mentions, replyTo as JSON; NULL or "" */
};
/*
 * Bulk loading, for tools that make large caches: store_bulk_begin commits
 * any open turn and opens one transaction, store_bulk_put inserts a new
 * message (the same triggers keep conversations), store_bulk_end indexes
 * what was loaded for search, commits and checkpoints. Other writes between them join the transaction.
 * Each returns 0 or -1.
 */
int		 store_bulk_begin(struct store *);
int		 store_bulk_put(struct store *, const struct store_row *);
int		 store_bulk_end(struct store *);

/*
 * The event log. An event's body is its MessagePack encoding, the object a
 * client receives (with its seq and type). store_event_add appends one with
 * the given seq, the one after store_event_last. Returns 0 or -1.
 */
int		 store_event_add(struct store *, int64_t seq, const char *type,
		     const void *body, size_t len);
/* The newest event seq, 0 if none. */
int64_t		 store_event_last(struct store *);
/*
 * Call fn for each of up to limit events with seq > since, in order; body
 * is NULL for a row that cannot be read. Returns 0 or -1.
 */
typedef void	 store_event_fn(void *arg, int64_t seq, const char *type,
		     const void *body, size_t len);
int		 store_events_read(struct store *, int64_t since, int limit,
		     store_event_fn *, void *arg);

#endif
