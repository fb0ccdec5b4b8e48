/*
 * sstore_event: the store's events: one row per recipient, numbered by the
 * change counter messages share (sstore_msg.c reads them back in a sync).
 * SQL only, through sstore.c's helpers; knows nothing of sessions or STOMP.
 */
#include "server.h"
#include "sstore_int.h"

enum sstore_event_stmt {
	SEVENT_INSERT,
	SEVENT_NSTMTS
};

static const char *const sstore_event_sql[SEVENT_NSTMTS] = {
	[SEVENT_INSERT] = "INSERT INTO events (app, user_id, seq, type, data)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
};

static sqlite3_stmt	*sstore_event_stmts[SEVENT_NSTMTS];

#define ST(x)	(sstore_event_stmts[SEVENT_##x])

/* This file's statements, for sstore_open and sstore_close. */
const struct sstore_part sstore_event_part = {
	sstore_event_sql, sstore_event_stmts, SEVENT_NSTMTS
};

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
		if (sstore_run(ST(INSERT), "ssiss", app, to->v[i], next, type,
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
