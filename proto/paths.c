/*
 * paths: default file locations. Pure string work; creates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "paths.h"

/* Compute the default socket path. */
int
paths_socket(char *out, size_t len)
{
	const char	*e;
	int		 n;

	if ((e = getenv("IMGW_SOCKET")) != NULL && *e != '\0')
		n = snprintf(out, len, "%s", e);
	else if ((e = getenv("XDG_RUNTIME_DIR")) != NULL && *e == '/')
		n = snprintf(out, len, "%s/imgw/imgwd.sock", e);
	else
		n = snprintf(out, len, "/tmp/imgw-%lu/imgwd.sock",
		    (unsigned long)getuid());
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
