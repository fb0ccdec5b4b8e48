/*
 * log: timestamped diagnostics on stderr for the daemon and the server.
 * Never used by the client library. Callers must not pass secrets (tokens).
 */
#ifndef IMGW_LOG_H
#define IMGW_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the program name shown in each line and the most verbose level printed. */
void	log_open(const char *name, enum log_level);
int	log_enabled(enum log_level);
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Log what a peer can cause once per frame (key: a static string naming the
 * cause): the first at once, then one summary a minute with the count.
 */
void	log_limited(enum log_level, const char *key, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Print the summaries that are due (call now and then, e.g. each loop turn). */
void	log_limited_flush(void);
/* Log at error level and exit(1): start-up failures and broken invariants only. */
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)

#endif
