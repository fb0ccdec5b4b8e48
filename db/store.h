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
/* Commit any open transaction and close the database. */
void		 store_close(struct store *);
/* The last error text, valid until the next store call. */
const char	*store_error(struct store *);
/* Commit the transaction of this loop turn, if any. Returns 0 or -1. */
int		 store_flush(struct store *);

/* Get a key's value (caller frees), or NULL if absent or on error. */
char		*store_get_kv(struct store *, const char *key);
/* Set a key's value. Returns 0 or -1. */
int		 store_set_kv(struct store *, const char *key, const char *value);

/*
 * Insert or update a message object (see proto/RPC.md: id, conversation key
 * conv, from, to, type, content, status, createdAt, seq). Returns a
 * store_put value, or -1 on error. A stored REVOKED message never goes back.
 */
int		 store_put_message(struct store *, const char *conv, json_t *msg);
/* A message by id as a new object, or NULL (absent or error: see store_error). */
json_t		*store_get_message(struct store *, const char *id);
/* Set a message's status and, when non-zero, its server time and seq. Returns 0 or -1. */
int		 store_set_status(struct store *, const char *id, const char *status,
		     int64_t created_at, int64_t seq);
/*
 * Up to limit messages of conversation conv older than message before (or the
 * newest when before is NULL), oldest first, as a new array. *more is set if
 * older ones exist. Returns NULL on error or when before is unknown (then
 * store_error says which).
 */
json_t		*store_history(struct store *, const char *conv, const char *before,
		     int limit, int *more);

/* Queue an outgoing request (destination and JSON body) under id. Returns 0 or -1. */
int		 store_outbox_add(struct store *, const char *id, const char *dest,
		     const char *body);
/* Remove an outbox entry. Returns 0 or -1. */
int		 store_outbox_del(struct store *, const char *id);
/* The outbox in order: an array of {id, dest, body}; NULL on error. */
json_t		*store_outbox_list(struct store *);

/* Append an event (takes a reference to nothing; body is copied). Returns its seq or -1. */
int64_t		 store_event_add(struct store *, const char *type, json_t *body);
/* The newest event seq, 0 if none. */
int64_t		 store_event_last(struct store *);
/* Up to limit events with seq > since, each {seq, type, ...body}; NULL on error. */
json_t		*store_events_since(struct store *, int64_t since, int limit);

#endif
