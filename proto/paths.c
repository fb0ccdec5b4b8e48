/*
 * paths: default file locations. Pure string work; creates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "paths.h"

/* Compute the default socket path of an account (NULL: the default one). */
int
paths_socket_for(const char *account, char *out, size_t len)
{
	const char	*e, *name = account != NULL ? account : "imgwd";
	int		 n;

	if (account == NULL && (e = getenv("IMGW_SOCKET")) != NULL && *e != '\0')
		n = snprintf(out, len, "%s", e);
	else if ((e = getenv("XDG_RUNTIME_DIR")) != NULL && *e == '/')
		n = snprintf(out, len, "%s/imgw/%s.sock", e, name);
	else
		n = snprintf(out, len, "/tmp/imgw-%lu/%s.sock",
		    (unsigned long)getuid(), name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Compute the default socket path. */
int
paths_socket(char *out, size_t len)
{
	return paths_socket_for(NULL, out, len);
}
