/*
 * imgwd: start-up, signals, the event loop, and the wiring: the one file
 * that may call any other, and that installs the hooks by which the lower
 * layers hand on what they get (see daemon.h). Shared state is state.c's,
 * configuration config.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "paths.h"
#include "social.h"
#include "store.h"

static ev_signal	 sig_term, sig_int, sig_hup;
static ev_prepare	 turn_end;
static ev_stat		 token_watch;
static ev_timer		 retention;
static ev_timer		 index_delay;
static ev_idle		 index_idle;

static int	open_log(void);

/*
 * The commit failed (a full disk, an I/O error): nothing of this turn is
 * stored. Nobody may believe otherwise: the events go from memory too,
 * clients that were answered this turn are told and hung up on, the sync
 * cursor is read back, and the upstream connection starts over, so what
 * arrived is fetched again by the next sync.
 */
static void
daemon_rollback(const char *why)
{
	char	 reason[300];

	log_error("cannot commit, this loop turn is lost: %s", why);
	events_forget();
	client_turn_failed(why);
	sync_rollback();
	social_forget_seen();
	snprintf(reason, sizeof reason, "cannot store: %s", why);
	upstream_drop(reason);
}

/* A RECEIPT proves the SEND that asked for it was read. */
static void
main_receipt(const char *id)
{
	pending_settle(id, NULL);
}

/* CONNECTED: sync, follow the groups' channels, send what waits. */
static void
main_connected(void)
{
	sync_start();
	social_connected();
	group_follow_all();
	outbox_flush();
}

/* The connection is gone: what waited on it fails, the sync is over. */
static void
main_closed(void)
{
	pending_lost();
	sync_stop();
}

/* Who gets what the connection and the session hand on. */
static const struct upstream_hooks main_upstream = {
	session_connecting, session_opened, session_input, session_closed,
	pending_pong,
};
static const struct session_hooks main_session = {
	main_connected, inbound_message, main_receipt, social_refused,
	main_closed,
};

/* Rows a held transaction may gather before it is committed anyway. */
#define HOLD_MAX	5000

/*
 * The search indexes follow the messages in idle turns (store.h,
 * store_index_some): INDEX_BATCH messages a turn, about 5 ms of work, once
 * INDEX_DELAY has gathered a few. A search scans what they do not hold
 * yet; so that this stays short when no turn is idle, a turn that finds
 * them INDEX_LAG_MAX behind indexes a batch itself.
 */
#define INDEX_BATCH	256
#define INDEX_DELAY	0.05
#define INDEX_LAG_MAX	20000

/*
 * Index after INDEX_DELAY. (A stopped libev timer keeps only what was left
 * of its time, none after it fired: each start sets the delay again.)
 */
static void
index_later(struct ev_loop *l)
{
	ev_timer_set(&index_delay, INDEX_DELAY, 0);
	ev_timer_start(l, &index_delay);
}

/*
 * An idle turn: index a batch in a transaction of its own, committed at
 * once; stop when the indexes hold every message. Once a transaction has
 * written to an FTS5 table, every later statement in it makes FTS5 flush
 * its pending terms (a savepoint each): indexing inside a transaction held
 * open for a sync page made each message stored after it cost a flush.
 * So while one is open (a sync page streaming in), wait for the next delay.
 */
static void
index_idle_cb(struct ev_loop *l, ev_idle *w, int revents)
{
	int	 n;

	if (store_pending(store) > 0) {
		ev_idle_stop(l, w);
		index_later(l);
		return;
	}
	if ((n = store_index_some(store, INDEX_BATCH)) == -1)
		log_error("search index: %s", store_error(store));
	else if (store_flush(store) == -1)
		daemon_rollback(store_error(store));
	if (n < INDEX_BATCH)
		ev_idle_stop(l, w);
}

/* The delay is over: index in the idle turns. */
static void
index_delay_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	ev_idle_start(l, &index_idle);
}

/* The indexes are behind: have them catch up soon, unless they are already. */
static void
index_kick(void)
{
	if (!ev_is_active(&index_delay) && !ev_is_active(&index_idle))
		index_later(loop);
}

/* End of a loop turn: commit, then fan out and write (DESIGN: commit first). */
static void
turn_end_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	int64_t	 lag = 0;

	/*
	 * While a sync page streams in, its rows share one transaction (a
	 * bounded number), unless a local client waits for an answer.
	 */
	if (sync_holding() && store_pending(store) < HOLD_MAX &&
	    !client_output_pending())
		return;
	if (store_pending(store) > 0 && (lag = store_index_lag(store)) >
	    INDEX_LAG_MAX && store_index_some(store, INDEX_BATCH) == -1)
		log_error("search index: %s", store_error(store));
	if (store_flush(store) == -1)
		daemon_rollback(store_error(store));
	else if (lag > 0)
		index_kick();
	events_pump();
	client_flush_all();
	client_reap();
	log_limited_flush();
}

static void
sig_stop_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	static int	 stopping;

	/* A second signal does not wait for the server's receipt. */
	if (stopping++) {
		state_stop();
		return;
	}
	log_info("caught signal %d, stopping", w->signum);
	session_shutdown();
}

/* The token file changed: take the new token; retry at once if refused before. */
static void
token_watch_cb(struct ev_loop *l, ev_stat *w, int revents)
{
	if (w->attr.st_nlink == 0 || config_reload_token() == -1)
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

static void
sig_hup_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	open_log();
	log_info("SIGHUP: log reopened; reloading token and reconnecting");
	if (config_reload_token() == 0 && session_state() != SESSION_LOGGED_OUT)
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

/*
 * Tell systemd we are ready (sd_notify without libsystemd): one datagram to
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name.
 */
static void
notify_ready(void)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify: %s", strerror(errno));
	close(fd);
}

/*
 * The listening socket systemd passed us (socket activation: LISTEN_PID is
 * us and LISTEN_FDS is 1, the socket being fd 3), or -1.
 */
static int
inherited_socket(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0) {
		log_warn("systemd passed %s sockets; using the first", fds);
		if (strtol(fds, NULL, 10) < 1)
			return -1;
	}
	return 3;
}

/* Point stderr at the log file (at start and on SIGHUP, for rotation). */
static int
open_log(void)
{
	int	 fd;

	if (cfg.log_file == NULL)
		return 0;
	fd = open(cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_error("%s: %s", cfg.log_file, strerror(errno));
		return -1;
	}
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	char	*cause = NULL, *s;
	int	 fd;

	log_open("imgwd", LOG_INFO);
	config_load(argc, argv);
	log_open("imgwd", cfg.log_level);
	/* The cache holds private messages: files we create are ours only. */
	umask(077);
	if (open_log() == -1)
		return 1;
	if (read_token(&cfg.token, &cause) == -1)
		fatalx("%s", cause ? cause : "cannot read token");

	signal(SIGPIPE, SIG_IGN);
	/* A file size limit then fails a write (and a commit), it does not kill. */
	signal(SIGXFSZ, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);

	if (cfg.db_default)
		config_mkdirs(cfg.db_path);
	if (lock_db(cfg.db_path, &cause) == -1)
		fatalx("%s", cause);
	if ((store = store_open(cfg.db_path, &cause)) == NULL)
		fatalx("cannot open database: %s", cause);
	if (store_set_durability(store, cfg.durability_normal ?
	    STORE_DURABLE_NORMAL : STORE_DURABLE_FULL) == -1)
		fatalx("cannot open database: %s", store_error(store));
	if (cfg.user != NULL)
		state_set_self(cfg.user);
	else if ((s = store_get_kv(store, "self")) != NULL) {
		self_id = s;
		if (store_set_self(store, s) == -1)
			fatalx("cannot open database: %s", store_error(store));
	}
	/* The method table, each domain's rows; every request goes there. */
	dispatch_add(&session_methods);
	dispatch_add(&message_methods);
	dispatch_add(&conversation_methods);
	dispatch_add(&group_methods);
	dispatch_add(&friend_methods);
	dispatch_add(&batch_methods);
	dispatch_add(&db_methods);
	client_set_request(dispatch);
	/* What the server offered last time, so offline calls know too. */
	s = store_get_kv(store, "server_caps");
	caps_init(s);
	free(s);
	if ((fd = inherited_socket()) != -1) {
		if (listener_adopt(fd, &cause) == -1)
			fatalx("%s", cause);
	} else if (listener_open(cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	/* A logout outlives a restart: serve the cache, stay offline. */
	if (session_logged_out())
		session_logout();
	upstream_set_hooks(&main_upstream);
	session_set_hooks(&main_session);
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
	ev_timer_init(&index_delay, index_delay_cb, INDEX_DELAY, 0);
	ev_idle_init(&index_idle, index_idle_cb);
	/* What the last run stored and did not index (a restart). */
	if (store_index_lag(store) > 0)
		index_kick();
	if (cfg.retain_days > 0 || cfg.retain_count > 0) {
		ev_timer_init(&retention, retention_cb, 0, 3600);
		ev_timer_start(loop, &retention);
	}
	if (cfg.token_file != NULL) {
		ev_stat_init(&token_watch, token_watch_cb, cfg.token_file, 0.5);
		ev_stat_start(loop, &token_watch);
	}

	log_info("serving %s, upstream %s", fd != -1 ? "the socket from systemd" :
	    cfg.socket_path, cfg.upstream);
	notify_ready();
	ev_run(loop, 0);

	/* The lws context is destroyed here, outside any lws callback. */
	upstream_stop();
	client_say_shutdown();
	client_close_all();
	listener_close();
	store_close(store);
	if (cfg.token != NULL)
		explicit_bzero(cfg.token, strlen(cfg.token));
	free(cfg.token);
	free(self_id);
	log_info("stopped");
	return 0;
}
