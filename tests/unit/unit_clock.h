/*
 * unit_clock: move the clock forward without waiting. Including this file
 * replaces the C library's clock_gettime and gettimeofday in the test
 * program with ones that add unit_clock_skew seconds, so libev (ev_now, its
 * timers) sees the time pass. Include it in one file of a test only.
 */
#ifndef IMGW_UNIT_CLOCK_H
#define IMGW_UNIT_CLOCK_H

#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static time_t	 unit_clock_skew;	/* seconds added to every clock */

/* Exported (the build hides symbols by default) so that libev calls them. */
int	clock_gettime(clockid_t, struct timespec *)
	    __attribute__((visibility("default")));
int	gettimeofday(struct timeval *restrict, void *restrict)
	    __attribute__((visibility("default")));

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	long	 r = syscall(SYS_clock_gettime, id, ts);

	ts->tv_sec += unit_clock_skew;
	return (int)r;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

#endif
