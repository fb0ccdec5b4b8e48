/*
 * listener: the daemon's Unix socket. Creates it private (0600 in a 0700
 * directory we own; wider only for configured extra users or a group),
 * refuses to steal a live daemon's socket, accepts in batches and admits
 * only peers running as our own user, root, or those allowed (SO_PEERCRED).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static int	 listen_fd = -1;
static ev_io	 listen_io;
static char	*listen_path;

/*
 * The modes of the socket and its directory: private unless other users or
 * a group are admitted, in which case they must at least reach the socket
 * (SO_PEERCRED still decides who is served).
 */
static mode_t
listener_mode(int dir)
{
	if (cfg.nallow_uid > 0)
		return dir ? 0711 : 0666;
	if (cfg.has_allow_gid)
		return dir ? 0710 : 0660;
	return dir ? 0700 : 0600;
}

/* Make sure dir exists, is ours and has listener_mode. */
static int
listener_dir(const char *path, char **cause)
{
	char		*dir = strdup(path), *slash;
	struct stat	 sb;
	int		 rc = -1;

	if (dir == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	if (mkdir(dir, listener_mode(1)) == -1 && errno != EEXIST) {
		if (asprintf(cause, "cannot create %s: %s", dir, strerror(errno)) == -1)
			*cause = NULL;
		goto out;
	}
	if (lstat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		if (asprintf(cause, "%s is not a directory", dir) == -1)
			*cause = NULL;
		goto out;
	}
	if (sb.st_uid != getuid()) {
		if (asprintf(cause, "%s belongs to another user", dir) == -1)
			*cause = NULL;
		goto out;
	}
	if ((sb.st_mode & 0777) != listener_mode(1) &&
	    chmod(dir, listener_mode(1)) == -1) {
		if (asprintf(cause, "cannot set the mode of %s: %s", dir,
		    strerror(errno)) == -1)
			*cause = NULL;
		goto out;
	}
	if (cfg.has_allow_gid && chown(dir, (uid_t)-1, cfg.allow_gid) == -1) {
		if (asprintf(cause, "cannot give %s to group %lu: %s", dir,
		    (unsigned long)cfg.allow_gid, strerror(errno)) == -1)
			*cause = NULL;
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

/* Whether a peer may use the daemon: our uid, root, or allowed by configuration. */
static int
listener_admits(const struct ucred *cred)
{
	int	 i;

	if (cred->uid == getuid() || cred->uid == 0)
		return 1;
	for (i = 0; i < cfg.nallow_uid; i++) {
		if (cfg.allow_uid[i] == cred->uid)
			return 1;
	}
	return cfg.has_allow_gid && cred->gid == cfg.allow_gid;
}

static void
listener_accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct ucred	 cred;
	socklen_t	 len;
	int		 fd, i;

	/* Accept what is waiting, a bounded number per turn. */
	for (i = 0; i < 64; i++) {
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
			log_warn("SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (!listener_admits(&cred)) {
			log_warn("refused a client running as uid %lu (pid %ld)",
			    (unsigned long)cred.uid, (long)cred.pid);
			close(fd);
			continue;
		}
		client_create(fd, cred.uid, cred.pid);
	}
}

/* Create and start the socket at path. */
int
listener_open(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		if (asprintf(cause, "socket path too long: %s", path) == -1)
			*cause = NULL;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (listener_dir(path, cause) == -1)
		return -1;

	/* A socket that answers belongs to a running daemon: leave it alone. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
			close(probe);
			if (asprintf(cause, "another imgwd is serving %s", path) == -1)
				*cause = NULL;
			return -1;
		}
		close(probe);
	}
	unlink(path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		close(fd);
		goto fail;
	}
	umask(old);
	if (chmod(path, listener_mode(0)) == -1 ||
	    (cfg.has_allow_gid && chown(path, (uid_t)-1, cfg.allow_gid) == -1) ||
	    listen(fd, 1024) == -1) {
		close(fd);
		goto fail;
	}
	listen_fd = fd;
	listen_path = strdup(path);
	ev_io_init(&listen_io, listener_accept_cb, fd, EV_READ);
	ev_io_start(loop, &listen_io);
	return 0;
fail:
	if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
		*cause = NULL;
	return -1;
}

/*
 * Serve a listening socket someone else made (systemd socket activation):
 * it is theirs, so it is neither chmod-ed nor removed on exit.
 */
int
listener_adopt(int fd, char **cause)
{
	int		 type;
	socklen_t	 len = sizeof type;
	struct sockaddr_un sun;
	socklen_t	 slen = sizeof sun;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM || getsockname(fd, (struct sockaddr *)&sun,
	    &slen) == -1 || sun.sun_family != AF_UNIX) {
		if (asprintf(cause, "the socket passed by systemd (fd %d) is not "
		    "a Unix stream socket", fd) == -1)
			*cause = NULL;
		return -1;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		if (asprintf(cause, "fd %d: %s", fd, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	listen_fd = fd;
	listen_path = NULL;
	ev_io_init(&listen_io, listener_accept_cb, fd, EV_READ);
	ev_io_start(loop, &listen_io);
	return 0;
}

/* Stop listening and remove the socket. */
void
listener_close(void)
{
	if (listen_fd == -1)
		return;
	ev_io_stop(loop, &listen_io);
	close(listen_fd);
	listen_fd = -1;
	if (listen_path != NULL)
		unlink(listen_path);
	free(listen_path);
	listen_path = NULL;
}
