/*
 * imgwd: arguments, configuration, signals and the event loop. Owns the
 * process-wide state (loop, store, configuration, own user id); protocol work
 * lives in the other daemon/ files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "paths.h"
#include "store.h"

#define TOKEN_MAX	4096

struct ev_loop	*loop;
struct store	*store;
struct config	 cfg;
char		*self_id;

static ev_signal	 sig_term, sig_int, sig_hup;
static ev_prepare	 turn_end;
static ev_stat		 token_watch;
static ev_timer		 retention;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: imgwd --upstream URL [--token-file FILE] [--socket PATH] [--db FILE]\n"
"             [--app-id ID] [--user ID] [--ca-file FILE] [--heartbeat CX,CY]\n"
"             [--ping-interval S] [--ping-timeout S] [--backoff-max S]\n"
"             [--stomp-host HOST] [--stomp-login] [--retain-days N]\n"
"             [--retain-count N] [--client-stall S] [--allow-uid UID]\n"
"             [--allow-group GID] [-v] [--help]\n"
"\n"
"imgwd keeps one authenticated session to a XuqmGroup IM server (STOMP 1.2\n"
"over WebSocket), caches everything in SQLite and serves local programs over\n"
"MessagePack-RPC on a Unix socket. It runs in the foreground; logs go to\n"
"stderr.\n"
"\n"
"  --upstream URL     ws://HOST:PORT/ws/im or wss://HOST/ws/im\n"
"  --token-file FILE  file holding the user's token (userSig); otherwise the\n"
"                     IMGW_TOKEN environment variable. Tokens are never\n"
"                     accepted on the command line and never logged.\n"
"                     A change to the file (or SIGHUP) is picked up; after\n"
"                     the server refused a token, it reconnects at once.\n"
"  --socket PATH      the local socket (default: $IMGW_SOCKET, else\n"
"                     $XDG_RUNTIME_DIR/imgw/imgwd.sock, else\n"
"                     /tmp/imgw-UID/imgwd.sock); its directory is made 0700\n"
"  --db FILE          the SQLite cache (default: imgw.db beside the socket)\n"
"  --app-id ID        the tenant's appId sent in every body (default\n"
"                     ak_demo_chat)\n"
"  --user ID          own user id (default: learnt from the server)\n"
"  --ca-file FILE     CA certificates to verify a wss:// server with\n"
"                     (default: the system's; verification is always on)\n"
"  --heartbeat CX,CY  STOMP heart-beat offered in CONNECT, in ms: send at\n"
"                     least every CX, want the server every CY (default\n"
"                     0,0 as the vendor documents; a silent server is\n"
"                     still caught by the WebSocket ping watchdog)\n"
"  --ping-interval S  ping a server that was silent for S seconds (15)\n"
"  --ping-timeout S   drop a server silent for S seconds (45)\n"
"  --backoff-max S    longest wait between reconnect attempts (30)\n"
"  --stomp-host HOST  CONNECT host header (default: the URL's host)\n"
"  --stomp-login      also send login (own id) and passcode (the token)\n"
"  --retain-days N    forget cached messages older than N days (hourly)\n"
"  --retain-count N   keep at most N cached messages per conversation\n"
"  --client-stall S   drop a subscriber that stops reading for S seconds,\n"
"                     after a 'lagged' event saying where to resume (30)\n"
"  --allow-uid UID    also serve this user id (repeatable; default: only\n"
"                     our own uid and root)\n"
"  --allow-group GID  also serve peers whose primary group is GID\n"
"  -v, --verbose      log debugging detail (never tokens)\n");
}

/* Read the token from the file or the environment; 0, or -1 with a message. */
static int
read_token(char **out, char **cause)
{
	char		 buf[TOKEN_MAX + 2];
	const char	*env;
	struct stat	 sb;
	size_t		 n;
	int		 fd;

	*out = NULL;
	if (cfg.token_file == NULL) {
		if ((env = getenv("IMGW_TOKEN")) == NULL || *env == '\0') {
			*cause = strdup("no token: give --token-file FILE or set IMGW_TOKEN");
			return -1;
		}
		*out = strdup(env);
		/*
		 * unsetenv alone leaves the bytes in the original environment
		 * block, which /proc/PID/environ shows: wipe them first.
		 */
		explicit_bzero((char *)env, strlen(env));
		unsetenv("IMGW_TOKEN");
		return 0;
	}
	if ((fd = open(cfg.token_file, O_RDONLY | O_CLOEXEC)) == -1) {
		if (asprintf(cause, "%s: %s", cfg.token_file, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
		log_warn("%s is readable by others; chmod 600 it", cfg.token_file);
	n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof buf - 1)
			break;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || n > TOKEN_MAX || strpbrk(buf, " \t\r\n") != NULL) {
		if (asprintf(cause, "%s: not a token (empty, too long or "
		    "several lines)", cfg.token_file) == -1)
			*cause = NULL;
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Re-read the token; keeps the old one on failure. Returns 0 or -1. */
int
daemon_reload_token(void)
{
	char	*tok, *cause = NULL;

	if (cfg.token_file == NULL)
		return 0;	/* the environment was read once */
	if (read_token(&tok, &cause) == -1) {
		log_warn("token not reloaded: %s", cause ? cause : "error");
		free(cause);
		return -1;
	}
	daemon_set_token(tok);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	return 0;
}

/* Replace the token used from the next connection on. */
void
daemon_set_token(const char *tok)
{
	char	*copy;

	if ((copy = strdup(tok)) == NULL)
		fatalx("out of memory");
	if (cfg.token != NULL)
		explicit_bzero(cfg.token, strlen(cfg.token));
	free(cfg.token);
	cfg.token = copy;
}

/* Leave the event loop (shutdown finishes in main). */
void
daemon_stop(void)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Record our own user id, learnt from configuration or the server. */
void
daemon_set_self(const char *id)
{
	if (id == NULL || !valid_id(id) ||
	    (self_id != NULL && strcmp(self_id, id) == 0))
		return;
	if (self_id != NULL)
		log_warn("server says we are %s, not %s", id, self_id);
	free(self_id);
	self_id = strdup(id);
	if (store_set_kv(store, "self", id) == -1)
		log_warn("%s", store_error(store));
}

/* End of a loop turn: commit, then fan out and write (DESIGN: commit first). */
static void
turn_end_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	if (store_flush(store) == -1)
		log_error("cannot commit: %s", store_error(store));
	events_pump();
	client_flush_all();
	client_reap();
}

static void
sig_stop_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	static int	 stopping;

	/* A second signal does not wait for the server's receipt. */
	if (stopping++) {
		daemon_stop();
		return;
	}
	log_info("caught signal %d, stopping", w->signum);
	session_shutdown();
}

/* The token file changed: take the new token; retry at once if refused before. */
static void
token_watch_cb(struct ev_loop *l, ev_stat *w, int revents)
{
	if (w->attr.st_nlink == 0 || daemon_reload_token() == -1)
		return;
	log_info("token file changed");
	if (session_state() == SESSION_AUTH_FAILED)
		upstream_kick();
}

/* Apply the retention options (at start, then hourly). */
static void
retention_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	int64_t	 before = 0, n;

	if (cfg.retain_days > 0)
		before = (int64_t)(ev_now(l) * 1000) -
		    (int64_t)cfg.retain_days * 86400 * 1000;
	if ((n = store_retain(store, before, cfg.retain_count)) == -1)
		log_error("retention: %s", store_error(store));
	else if (n > 0)
		log_info("retention: forgot %lld old messages", (long long)n);
}

/* Parse "CX,CY" heart-beat milliseconds. */
static int
parse_heartbeat(const char *s)
{
	char	*end;
	long	 cx, cy;

	cx = strtol(s, &end, 10);
	if (*end != ',' || cx < 0 || cx > 3600000)
		return -1;
	cy = strtol(end + 1, &end, 10);
	if (*end != '\0' || cy < 0 || cy > 3600000)
		return -1;
	cfg.hb_cx = (int)cx;
	cfg.hb_cy = (int)cy;
	return 0;
}

/* Parse a positive number of seconds. */
static int
parse_seconds(const char *s, double *out)
{
	char	*end;
	double	 v = strtod(s, &end);

	if (*end != '\0' || !(v >= 0.05 && v <= 86400))
		return -1;
	*out = v;
	return 0;
}

static void
sig_hup_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	log_info("SIGHUP: reloading token and reconnecting");
	if (daemon_reload_token() == 0)
		upstream_kick();
}

/*
 * Take an exclusive lock beside the database for the daemon's lifetime, so
 * a second imgwd on the same account refuses to start (the fd stays open).
 */
static int
lock_db(const char *db, char **cause)
{
	char	*path;
	int	 fd;

	if (asprintf(&path, "%s.lock", db) == -1)
		fatalx("out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (asprintf(cause, fd != -1 && errno == EWOULDBLOCK ?
		    "another imgwd is using the database %s" : "%s: %s",
		    fd != -1 && errno == EWOULDBLOCK ? db : path,
		    strerror(errno)) == -1)
			*cause = NULL;
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* Make the socket's directory path for the default database location. */
static char *
default_db(const char *sock)
{
	const char	*slash = strrchr(sock, '/');
	char		*p;

	if (slash == NULL)
		return strdup("imgw.db");
	if (asprintf(&p, "%.*s/imgw.db", (int)(slash - sock), sock) == -1)
		return NULL;
	return p;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "upstream", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "app-id", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'U' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "ping-interval", required_argument, NULL, 'P' },
		{ "ping-timeout", required_argument, NULL, 'T' },
		{ "backoff-max", required_argument, NULL, 'B' },
		{ "stomp-host", required_argument, NULL, 'O' },
		{ "stomp-login", no_argument, NULL, 'L' },
		{ "retain-days", required_argument, NULL, 'D' },
		{ "retain-count", required_argument, NULL, 'C' },
		{ "client-stall", required_argument, NULL, 'W' },
		{ "allow-uid", required_argument, NULL, 'X' },
		{ "allow-group", required_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static char	 sockbuf[256];
	char		*cause = NULL, *db_default = NULL, *s;
	int		 ch, verbose = 0;

	cfg.app_id = "ak_demo_chat";
	cfg.ping_interval = 15;
	cfg.ping_timeout = 45;
	cfg.backoff_max = 30;
	cfg.client_stall = 30;
	while ((ch = getopt_long(argc, argv, "u:t:s:d:a:U:c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': cfg.upstream = optarg; break;
		case 't': cfg.token_file = optarg; break;
		case 's': cfg.socket_path = optarg; break;
		case 'd': cfg.db_path = optarg; break;
		case 'a': cfg.app_id = optarg; break;
		case 'U': cfg.user = optarg; break;
		case 'c': cfg.ca_file = optarg; break;
		case 'H':
			if (parse_heartbeat(optarg) == -1) {
				fprintf(stderr, "imgwd: --heartbeat wants CX,CY in ms\n");
				return 2;
			}
			break;
		case 'P':
		case 'T':
		case 'B':
		case 'W':
			if (parse_seconds(optarg, ch == 'P' ? &cfg.ping_interval :
			    ch == 'T' ? &cfg.ping_timeout : ch == 'B' ?
			    &cfg.backoff_max : &cfg.client_stall) == -1) {
				fprintf(stderr, "imgwd: %s wants seconds (0.05 to 86400)\n",
				    ch == 'P' ? "--ping-interval" : ch == 'T' ?
				    "--ping-timeout" : ch == 'B' ? "--backoff-max" :
				    "--client-stall");
				return 2;
			}
			break;
		case 'X':
		case 'G': {
			char		*end;
			unsigned long	 v = strtoul(optarg, &end, 10);

			if (*end != '\0' || *optarg == '\0' || v > 0x7fffffffUL ||
			    (ch == 'X' && cfg.nallow_uid == 16)) {
				fprintf(stderr, "imgwd: %s wants a numeric id (at most "
				    "16 uids)\n", ch == 'X' ? "--allow-uid" : "--allow-group");
				return 2;
			}
			if (ch == 'X')
				cfg.allow_uid[cfg.nallow_uid++] = (uid_t)v;
			else {
				cfg.allow_gid = (gid_t)v;
				cfg.has_allow_gid = 1;
			}
			break;
		}
		case 'O': cfg.stomp_host = optarg; break;
		case 'L': cfg.stomp_login = 1; break;
		case 'D':
		case 'C': {
			char	*end;
			long	 v = strtol(optarg, &end, 10);

			if (*end != '\0' || v < 1 || v > 100000000) {
				fprintf(stderr, "imgwd: --retain-%s wants a positive number\n",
				    ch == 'D' ? "days" : "count");
				return 2;
			}
			*(ch == 'D' ? &cfg.retain_days : &cfg.retain_count) = (int)v;
			break;
		}
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		/* Not echoed: it may well be a token. */
		fprintf(stderr, "imgwd: unexpected argument (tokens are never "
		    "taken on the command line; use --token-file)\n");
		usage(stderr);
		return 2;
	}
	if (cfg.upstream == NULL) {
		fprintf(stderr, "imgwd: --upstream URL is required\n");
		usage(stderr);
		return 2;
	}
	if (cfg.ping_timeout <= cfg.ping_interval) {
		fprintf(stderr, "imgwd: --ping-timeout must exceed --ping-interval\n");
		return 2;
	}
	if (!valid_id(cfg.app_id) || (cfg.user != NULL && !valid_id(cfg.user))) {
		fprintf(stderr, "imgwd: ids are 1-64 characters of A-Z a-z 0-9 _ . @ -\n");
		return 2;
	}
	log_open("imgwd", verbose ? LOG_DEBUG : LOG_INFO);
	/* The cache holds private messages: files we create are ours only. */
	umask(077);
	if (read_token(&cfg.token, &cause) == -1)
		fatalx("%s", cause ? cause : "cannot read token");
	if (cfg.socket_path == NULL) {
		if (paths_socket(sockbuf, sizeof sockbuf) == -1)
			fatalx("default socket path too long");
		cfg.socket_path = sockbuf;
	}
	if (cfg.db_path == NULL) {
		if ((db_default = default_db(cfg.socket_path)) == NULL)
			fatalx("out of memory");
		cfg.db_path = db_default;
	}

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);

	if (lock_db(cfg.db_path, &cause) == -1)
		fatalx("%s", cause);
	if ((store = store_open(cfg.db_path, &cause)) == NULL)
		fatalx("cannot open database: %s", cause);
	if (cfg.user != NULL)
		daemon_set_self(cfg.user);
	else if ((s = store_get_kv(store, "self")) != NULL)
		self_id = s;
	if (listener_open(cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	if (upstream_start(&cause) == -1)
		fatalx("%s", cause);

	ev_signal_init(&sig_term, sig_stop_cb, SIGTERM);
	ev_signal_init(&sig_int, sig_stop_cb, SIGINT);
	ev_signal_init(&sig_hup, sig_hup_cb, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	ev_prepare_init(&turn_end, turn_end_cb);
	ev_prepare_start(loop, &turn_end);
	if (cfg.retain_days > 0 || cfg.retain_count > 0) {
		ev_timer_init(&retention, retention_cb, 0, 3600);
		ev_timer_start(loop, &retention);
	}
	if (cfg.token_file != NULL) {
		ev_stat_init(&token_watch, token_watch_cb, cfg.token_file, 0.5);
		ev_stat_start(loop, &token_watch);
	}

	log_info("serving %s, upstream %s", cfg.socket_path, cfg.upstream);
	ev_run(loop, 0);

	/* The lws context is destroyed here, outside any lws callback. */
	upstream_stop();
	client_close_all();
	listener_close();
	store_close(store);
	if (cfg.token != NULL)
		explicit_bzero(cfg.token, strlen(cfg.token));
	free(cfg.token);
	free(self_id);
	free(db_default);
	log_info("stopped");
	return 0;
}
