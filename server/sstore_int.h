/*
 * sstore_int.h: what the store files (sstore.c and its sstore_*.c) share:
 * the database handle, the change counter, each file's statements and the
 * statement helpers of sstore.c. Private to them: the only files that
 * include sqlite3.h.
 */
#ifndef IMSERVER_SSTORE_INT_H
#define IMSERVER_SSTORE_INT_H

#include <sqlite3.h>

/* One file's statements: n SQL texts, prepared into stmts by sstore_open. */
struct sstore_part {
	const char *const	*sql;
	sqlite3_stmt		**stmts;
	int			 n;
};

extern sqlite3	*sstore_db;
extern long long sstore_seq;	/* last seq handed out: messages and events */

extern const struct sstore_part	sstore_msg_part;	/* sstore_msg.c */
extern const struct sstore_part	sstore_event_part;	/* sstore_event.c */
extern const struct sstore_part	sstore_group_part;	/* sstore_group.c */
extern const struct sstore_part	sstore_social_part;	/* sstore_social.c */

int	 sstore_bind(sqlite3_stmt *, const char *, ...);
int	 sstore_run(sqlite3_stmt *, const char *, ...);
int	 sstore_step(sqlite3_stmt *);
void	 sstore_reset(sqlite3_stmt *);
int	 sstore_begin(void);
int	 sstore_end(int);
void	 sstore_copy(sqlite3_stmt *, int, char *, size_t);
char	*sstore_dup(sqlite3_stmt *, int);
int	 sstore_ids(sqlite3_stmt *, struct idlist *);
/* Requests (group joins, friend requests): rows of user, message, created_at. */
int	 sstore_request_one(sqlite3_stmt *, struct srequest *);
int	 sstore_request_each(sqlite3_stmt *, sstore_request_cb, void *);

#endif
