/*
 * sstore_int.h: what the two store files (sstore.c, sstore_social.c) share:
 * the database handle and the statement helpers of sstore.c. Private to
 * them: the only files that include sqlite3.h.
 */
#ifndef IMSERVER_SSTORE_INT_H
#define IMSERVER_SSTORE_INT_H

#include <sqlite3.h>

extern sqlite3	*sstore_db;

int	 sstore_prepare(const char *const *, sqlite3_stmt **, int, char **);
void	 sstore_finalize(sqlite3_stmt **, int);
int	 sstore_bind(sqlite3_stmt *, const char *, ...);
int	 sstore_run(sqlite3_stmt *, const char *, ...);
int	 sstore_step(sqlite3_stmt *);
void	 sstore_reset(sqlite3_stmt *);
int	 sstore_begin(void);
int	 sstore_end(int);
void	 sstore_copy(sqlite3_stmt *, int, char *, size_t);
char	*sstore_dup(sqlite3_stmt *, int);
/* Requests (group joins, friend requests): rows of user, message, created_at. */
int	 sstore_request_one(sqlite3_stmt *, struct srequest *);
int	 sstore_request_each(sqlite3_stmt *, sstore_request_cb, void *);

/* sstore_social.c, called by sstore_open and sstore_close */
int	 sstore_social_prepare(char **);
void	 sstore_social_finalize(void);

#endif
