/*
 * log: one line per event on stderr, key=value fields (time, level, prog,
 * msg). Formatting only; what is safe to log is the caller's responsibility
 * (never a token, never message content above debug).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

static const char	*log_name = "imgw";
static enum log_level	 log_level = LOG_INFO;

/* Configure the program name and verbosity. */
void
log_open(const char *name, enum log_level level)
{
	log_name = name;
	log_level = level;
}

/* Whether a message at this level would be printed. */
int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

/*
 * One line, key=value fields: time (UTC, ms), level, prog, then msg quoted
 * with \" \\ and \n escaped, so every event is exactly one parseable line.
 */
static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct timeval	 tv;
	struct tm	 tm;
	char		 ts[32], text[2048], line[4200], *o = line;
	const char	*p;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(text, sizeof text, fmt, ap);
	o += snprintf(line, sizeof line, "time=%s.%03ldZ level=%s prog=%s msg=\"",
	    ts, (long)tv.tv_usec / 1000, names[level], log_name);
	for (p = text; *p != '\0' && o < line + sizeof line - 4; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = *p;
		} else if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else
			*o++ = *p;
	}
	*o++ = '"';
	*o++ = '\n';
	fwrite(line, 1, (size_t)(o - line), stderr);
}

/* Print one diagnostic line if the level is enabled. */
void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list	 ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

#define LOG_LIMIT_KEYS	32
#define LOG_LIMIT_SECS	60.0

/* What log_limited has seen of each key since it last printed it. */
static struct log_limit {
	const char	*key;
	enum log_level	 level;
	double		 at;		/* when it was last printed */
	unsigned long	 more;		/* counted since, not printed */
	char		 last[512];	/* the latest of those */
} log_limits[LOG_LIMIT_KEYS];

static double
log_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print what l counted, if anything, and start its minute over. */
static void
log_limit_summary(struct log_limit *l, double now)
{
	if (l->more > 0)
		log_msg(l->level, "%s (%lu times in the last %.0fs)", l->last,
		    l->more, now - l->at);
	l->more = 0;
	l->at = now;
}

/*
 * Print a line that a peer can cause once per frame: the first of each key
 * at once, then at most one summary a minute saying how many came since
 * (printed by the next call or log_limited_flush after the minute). key is
 * a static string naming the cause; there are at most LOG_LIMIT_KEYS of
 * them (past that, lines are printed as log_msg would).
 */
void
log_limited(enum log_level level, const char *key, const char *fmt, ...)
{
	struct log_limit	*l, *free_slot = NULL;
	va_list			 ap;
	double			 now;
	size_t			 i;

	if (!log_enabled(level))
		return;
	for (i = 0, l = NULL; i < LOG_LIMIT_KEYS && l == NULL; i++) {
		if (log_limits[i].key == NULL && free_slot == NULL)
			free_slot = &log_limits[i];
		else if (log_limits[i].key != NULL &&
		    strcmp(log_limits[i].key, key) == 0)
			l = &log_limits[i];
	}
	now = log_now();
	if (l == NULL && (l = free_slot) != NULL) {
		l->key = key;
		l->at = now - LOG_LIMIT_SECS;
	}
	if (l == NULL || (l->more == 0 && now - l->at >= LOG_LIMIT_SECS)) {
		va_start(ap, fmt);
		log_vmsg(level, fmt, ap);
		va_end(ap);
		if (l != NULL)
			l->at = now;
		return;
	}
	l->level = level;
	l->more++;
	va_start(ap, fmt);
	vsnprintf(l->last, sizeof l->last, fmt, ap);
	va_end(ap);
	if (now - l->at >= LOG_LIMIT_SECS)
		log_limit_summary(l, now);
}

/* Print the summaries of log_limited whose minute is over. */
void
log_limited_flush(void)
{
	double	 now = log_now();
	size_t	 i;

	for (i = 0; i < LOG_LIMIT_KEYS; i++) {
		if (log_limits[i].more > 0 && now - log_limits[i].at >= LOG_LIMIT_SECS)
			log_limit_summary(&log_limits[i], now);
	}
}

/* Print an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
