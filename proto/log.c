/*
 * log: one line per event on stderr, with time and program name. Formatting
 * only; what is safe to log is the caller's responsibility (never a token).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct timeval	 tv;
	struct tm	 tm;
	char		 ts[32];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%s] ", ts, (long)tv.tv_usec / 1000,
	    log_name, names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
