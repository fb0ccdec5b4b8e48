/*
 * log: one line per event on stderr, key=value fields (time, level, prog,
 * msg). Formatting only; what is safe to log is the caller's responsibility
 * (never a token, never message content above debug).
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
