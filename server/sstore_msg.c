/*
 * sstore_msg: the store's messages, each recipient's delivery state, and the
 * sync and history queries (which read the events too). SQL only, through
 * sstore.c's helpers; knows nothing of sessions or STOMP.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "sstore_int.h"

#define SSTORE_COLUMNS \
	"app, id, seq, from_id, to_id, chat_type, msg_type, content, " \
	"status, created_at, payload, mentions, reply_to, edited_at, " \
	"first_seq"
/*
 * The same through deliveries d: a delivery's seq is its message's (both
 * are set together), and naming d.seq lets a sync read in the order of the
 * deliveries_group index and stop at its limit instead of sorting every
 * delivery after the cursor.
 */
#define SSTORE_MCOLUMNS \
	"m.app, m.id, d.seq, m.from_id, m.to_id, m.chat_type, m.msg_type, " \
	"m.content, m.status, m.created_at, m.payload, m.mentions, " \
	"m.reply_to, m.edited_at, m.first_seq"

enum sstore_msg_stmt {
	SMSG_GET,
	SMSG_INSERT,
	SMSG_CHANGE,
	SMSG_UNDELIVER,
	SMSG_DELIVERY,
	SMSG_DELIVERED,
	SMSG_PENDING,
	SMSG_SINCE,
	SMSG_HISTORY_PEER,
	SMSG_HISTORY_GROUP,
	SMSG_NSTMTS
};

static const char *const sstore_msg_sql[SMSG_NSTMTS] = {
	[SMSG_GET] = "SELECT " SSTORE_COLUMNS " FROM messages"
	    " WHERE app = ?1 AND id = ?2",
	[SMSG_INSERT] = "INSERT INTO messages (" SSTORE_COLUMNS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?3)",
	[SMSG_CHANGE] = "UPDATE messages SET status = ?3, content = ?4,"
	    " payload = ?5, edited_at = ?6, seq = ?7"
	    " WHERE app = ?1 AND id = ?2",
	/* Every copy of a changed message is news again for its recipient. */
	[SMSG_UNDELIVER] = "UPDATE deliveries SET delivered = 0, seq = ?3"
	    " WHERE app = ?1 AND msg_id = ?2",
	[SMSG_DELIVERY] = "INSERT INTO deliveries"
	    " (app, user_id, msg_id, delivered, seq, grp)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (app, user_id, msg_id)"
	    " DO UPDATE SET delivered = excluded.delivered, seq = excluded.seq",
	/* Only the copy pushed: a change since is news again. */
	[SMSG_DELIVERED] = "UPDATE deliveries SET delivered = 1"
	    " WHERE app = ?1 AND user_id = ?2 AND msg_id = ?3 AND seq = ?4",
	[SMSG_PENDING] = "SELECT 0, " SSTORE_MCOLUMNS ", NULL, NULL"
	    " FROM deliveries d JOIN messages m"
	    " ON m.app = d.app AND m.id = d.msg_id"
	    " WHERE d.app = ?1 AND d.user_id = ?2 AND d.delivered = 0"
	    " AND d.seq > ?3 ORDER BY d.seq LIMIT ?4",
	/*
	 * One-to-one messages the user sent or received (a message to
	 * oneself matches both halves: counted once), group messages stored
	 * for the user, and the user's events when ?5: in seq order.
	 */
	[SMSG_SINCE] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?2 AND seq > ?3"
	    " AND chat_type <> 'GROUP'"
	    " UNION ALL SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND to_id = ?2 AND from_id <> ?2"
	    " AND seq > ?3 AND chat_type <> 'GROUP'"
	    " UNION ALL SELECT 0, " SSTORE_MCOLUMNS ", NULL, NULL"
	    " FROM deliveries d JOIN messages m"
	    " ON m.app = d.app AND m.id = d.msg_id"
	    " WHERE d.app = ?1 AND d.user_id = ?2 AND d.grp = 1"
	    " AND d.seq > ?3"
	    " UNION ALL SELECT 1, app, '', seq, '', '', '', '', '', '', 0,"
	    " NULL, NULL, '', 0, 0, type, data FROM events"
	    " WHERE ?5 AND app = ?1 AND user_id = ?2 AND seq > ?3"
	    " ORDER BY 4 LIMIT ?4",
	[SMSG_HISTORY_PEER] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?2 AND to_id = ?3"
	    " AND chat_type <> 'GROUP' AND seq < ?4"
	    " UNION ALL SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND from_id = ?3 AND to_id = ?2"
	    " AND from_id <> to_id AND chat_type <> 'GROUP' AND seq < ?4"
	    " ORDER BY 4 DESC LIMIT ?5",
	[SMSG_HISTORY_GROUP] = "SELECT 0, " SSTORE_COLUMNS ", NULL, NULL"
	    " FROM messages WHERE app = ?1 AND ?2 IS NOT NULL AND to_id = ?3"
	    " AND chat_type = 'GROUP' AND seq < ?4 ORDER BY seq DESC LIMIT ?5",
};

static sqlite3_stmt	*sstore_msg_stmts[SMSG_NSTMTS];

#define ST(x)	(sstore_msg_stmts[SMSG_##x])

/* This file's statements, for sstore_open and sstore_close. */
const struct sstore_part sstore_msg_part = {
	sstore_msg_sql, sstore_msg_stmts, SMSG_NSTMTS
};

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
sstore_msg_row(sqlite3_stmt *st, int base, struct smsg *m)
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
sstore_msg_get(const char *app, const char *id, struct smsg *m)
{
	sqlite3_stmt	*st = ST(GET);
	int		 r;

	memset(m, 0, sizeof *m);
	if (sstore_bind(st, "ss", app, id) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_msg_row(st, 0, m);
	sstore_reset(st);
	if (r == -1) {
		sstore_msg_clear(m);
		log_warn("database: out of memory");
	}
	return r;
}

/* Record the delivery state of message m at seq for n users. */
static int
sstore_msg_put_deliveries(const struct smsg *m, long long seq,
    const struct idlist *to, const int *delivered)
{
	int	 grp = strcmp(m->chat_type, "GROUP") == 0;
	size_t	 i;

	for (i = 0; i < to->n; i++) {
		if (sstore_run(ST(DELIVERY), "sssdid", m->app, to->v[i], m->id,
		    delivered[i] != 0, seq, grp) == -1)
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
sstore_msg_insert(struct smsg *m, const struct idlist *to, const int *delivered)
{
	long long	 seq = sstore_seq + 1;
	int		 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(INSERT), "ssissssssisssi", m->app, m->id, seq,
	    m->from, m->to, m->chat_type, m->msg_type, m->content, m->status,
	    m->created_at, m->payload, m->mentions, m->reply_to,
	    m->edited_at) == -1 ||
	    sstore_msg_put_deliveries(m, seq, to, delivered) == -1)
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
sstore_msg_change(struct smsg *m)
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
sstore_msg_mark_delivered(const struct sdelivery *v, size_t n)
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
sstore_msg_iterate(sqlite3_stmt *st, sstore_cb cb, void *arg)
{
	struct smsg	 m;
	struct sevent	 e;
	int		 r = 0, n = 0, stop = 0;

	while (!stop && (r = sstore_step(st)) == 1) {
		if (sqlite3_column_int(st, 0) == 0) {
			if (sstore_msg_row(st, 1, &m) == -1) {
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
sstore_msg_pending(const char *app, const char *user, long long after,
    int limit, sstore_cb cb, void *arg)
{
	if (sstore_bind(ST(PENDING), "ssid", app, user, after, limit) == -1)
		return -1;
	return sstore_msg_iterate(ST(PENDING), cb, arg);
}

/*
 * Call cb in seq order on up to limit rows with seq above since: messages
 * user sent or received (one-to-one), group messages stored for user and,
 * if events, user's events. Returns the number of rows, or -1.
 */
int
sstore_msg_since(const char *app, const char *user, long long since, int limit,
    int events, sstore_cb cb, void *arg)
{
	if (sstore_bind(ST(SINCE), "ssidd", app, user, since, limit,
	    events != 0) == -1)
		return -1;
	return sstore_msg_iterate(ST(SINCE), cb, arg);
}

/*
 * Call cb, newest first, on up to limit messages of a conversation with seq
 * below before: between user and target (CONV_PEER) or of group target
 * (CONV_GROUP). Returns the number of rows, or -1.
 */
int
sstore_msg_history(const char *app, const char *user, char kind,
    const char *target, long long before, int limit, sstore_cb cb, void *arg)
{
	sqlite3_stmt	*st;

	st = kind == CONV_GROUP ? ST(HISTORY_GROUP) : ST(HISTORY_PEER);
	if (sstore_bind(st, "sssid", app, user, target, before, limit) == -1)
		return -1;
	return sstore_msg_iterate(st, cb, arg);
}
