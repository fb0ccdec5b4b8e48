/*
 * store_int: what the store's files share and nobody else may see: the
 * struct store, the statement numbers, each concern's SQL table and the
 * helpers that step statements and record errors. Included by db/ only.
 */
#ifndef IMGW_STORE_INT_H
#define IMGW_STORE_INT_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store.h"

/*
 * Every prepared statement, numbered by concern. Each file owns its range
 * and its SQL (a store_sql table); store_open prepares them all at once.
 */
enum store_q {
	/* store.c */
	Q_KV_GET, Q_KV_SET,
	/* store_msg.c */
	Q_MSG_GET, Q_MSG_INS, Q_MSG_UPD, Q_MSG_STATUS, Q_MSG_DEL,
	Q_HIST_OLDER, Q_HIST_NEWER, Q_MSG_POS,
	/* store_search.c */
	Q_SEARCH_LONG, Q_SEARCH_SHORT, Q_SEARCH_TAIL, Q_IDX_MARK, Q_IDX_NEXT,
	Q_IDX_FTS, Q_IDX_SHORT, Q_IDX_SET, Q_IDX_LAG,
	/* store_conv.c */
	Q_CONV_LIST, Q_CONV_GET, Q_CONV_PIN, Q_CONV_MUTE, Q_CONV_DRAFT,
	Q_CONV_READ, Q_CONV_DEL, Q_CONV_MSGS_DEL, Q_UNREAD_TOTAL, Q_PEER_READ,
	/* store_outbox.c */
	Q_OUT_ADD, Q_OUT_DEL, Q_OUT_LIST, Q_OUT_HAS,
	/* store_event.c */
	Q_EV_ADD, Q_EV_LAST, Q_EV_SINCE,
	/* store_obj.c */
	Q_OBJ_PUT, Q_OBJ_GET, Q_OBJ_DEL, Q_OBJ_LIST, Q_OBJ_DEL_PREFIX,
	/* store_maint.c */
	Q_STATS,
	Q_COUNT
};

/* One statement of a concern's table; a table ends with sql NULL. */
struct store_sql {
	enum store_q	 q;
	const char	*sql;
};

extern const struct store_sql store_kv_sql[], store_msg_sql[],
		    store_search_sql[], store_conv_sql[], store_outbox_sql[],
		    store_event_sql[], store_obj_sql[], store_maint_sql[];

/* The message columns, in the order store_row_message reads them. */
#define MSG_COLS "m.id, m.conv, m.from_id, m.to_id, m.msg_type, m.content, " \
	"m.status, m.created_at, m.seq, m.edited_at, m.extra"
#define MSG_NCOLS 11

struct store {
	sqlite3		*db;
	sqlite3_stmt	*q[Q_COUNT];
	int		 pending;	/* writes in the open transaction */
	enum store_errno code;		/* the last error's kind */
	char		*self;		/* our own user id (store_set_self) */
	char		 err[512];
};

/* The schema version this code writes (store_schema.c). */
extern const int store_version;
/* db/schema.sql, NUL-terminated (build/gen/schema.c, made by the Makefile). */
extern const char store_schema_sql[];

int		 store_migrate(struct store *);
int		 store_fail(struct store *, const char *);
int		 store_seterr(struct store *, enum store_errno, const char *, ...)
		     __attribute__((format(printf, 3, 4)));
int64_t		 store_now_ms(void);
int		 store_write(struct store *);
sqlite3_stmt	*store_q(struct store *, enum store_q);
int		 store_exec(struct store *, sqlite3_stmt *, const char *);
void		 store_bind_text(sqlite3_stmt *, int, const char *);
void		 store_bind_self(struct store *, sqlite3_stmt *, int);
int		 store_change(struct store *, enum store_q, const char *, int, ...);
json_t		*store_collect(struct store *, sqlite3_stmt *,
		     json_t *(*)(sqlite3_stmt *), const char *);
json_t		*store_one(struct store *, enum store_q, const char *,
		     json_t *(*)(sqlite3_stmt *), const char *);

/* store_msg.c */
json_t		*store_conv_object(const char *);
json_t		*store_row_message_at(sqlite3_stmt *, int);
json_t		*store_row_message(sqlite3_stmt *);
void		 store_bind_row(sqlite3_stmt *, const struct store_row *);
int		 store_position(struct store *, const char *, const char *,
		     int64_t *, int64_t *);

/* store_search.c */
void		 store_fn_grams(sqlite3_context *, int, sqlite3_value **);
void		 store_fn_contains(sqlite3_context *, int, sqlite3_value **);

#endif
