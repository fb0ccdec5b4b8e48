/*
 * paths: where the daemon's socket lives by default, shared by imgwd,
 * libimgw and the CLI so they agree without configuration.
 */
#ifndef IMGW_PATHS_H
#define IMGW_PATHS_H

#include <stddef.h>

/*
 * Write the default socket path into out: $IMGW_SOCKET, else
 * $XDG_RUNTIME_DIR/imgw/imgwd.sock, else /tmp/imgw-UID/imgwd.sock.
 * Returns 0, or -1 if it does not fit.
 */
int	paths_socket(char *out, size_t len);
/*
 * The same for an account: NULL is the default account (as above); a name
 * gives $XDG_RUNTIME_DIR/imgw/NAME.sock, else /tmp/imgw-UID/NAME.sock
 * ($IMGW_SOCKET applies to the default account only).
 */
int	paths_socket_for(const char *account, char *out, size_t len);

#endif
