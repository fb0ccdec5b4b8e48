/*
 * config: imgwd's configuration: defaults, the configuration file, the
 * command line (which wins over the file), the token, and the check that
 * prints it all with secrets masked. Fills cfg; opens nothing but files to
 * read; every error names its source (file and line, or the option).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "paths.h"

#define TOKEN_MAX	4096
#define LINE_MAX_LEN	4096

/* Every option: its long name (also its key in the file), and its argument. */
static const struct option config_opts[] = {
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
	{ "server-profile", required_argument, NULL, 'S' },
	{ "retain-days", required_argument, NULL, 'D' },
	{ "retain-count", required_argument, NULL, 'C' },
	{ "client-stall", required_argument, NULL, 'W' },
	{ "durability", required_argument, NULL, 'Y' },
	{ "allow-uid", required_argument, NULL, 'X' },
	{ "allow-group", required_argument, NULL, 'G' },
	{ "log-file", required_argument, NULL, 'l' },
	{ "log-level", required_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	/* Only on the command line: */
	{ "config", required_argument, NULL, 'f' },
	{ "account", required_argument, NULL, 'A' },
	{ "check-config", no_argument, NULL, 'K' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};
#define CONFIG_SHORT "u:t:s:d:a:U:c:vhf:A:"

static char	*config_strings[64];	/* copies of values from the file */
static int	 config_nstrings;

/* Print the help text. */
void
config_usage(FILE *f)
{
	fprintf(f,
"usage: imgwd [--config FILE | --account NAME] [--check-config] [OPTIONS]\n"
"\n"
"imgwd keeps one authenticated session to a XuqmGroup IM server (STOMP 1.2\n"
"over WebSocket), caches everything in SQLite and serves local programs over\n"
"MessagePack-RPC on a Unix socket. It runs in the foreground and logs to\n"
"stderr (the journal under systemd). Options are read from the\n"
"configuration file first ($XDG_CONFIG_HOME/imgw/imgwd.conf, or NAME.conf\n"
"with --account), one 'key = value' a line with the long option names as\n"
"keys; the command line wins over the file. See imgwd(8).\n"
"\n"
"  --upstream URL     ws://HOST:PORT/ws/im or wss://HOST/ws/im (required)\n"
"  --token-file FILE  file holding the user's token (userSig); otherwise the\n"
"                     IMGW_TOKEN environment variable. Tokens are never\n"
"                     accepted on the command line and never logged.\n"
"                     A change to the file (or SIGHUP) is picked up; after\n"
"                     the server refused a token, it reconnects at once.\n"
"  --account NAME     run the account NAME: its own configuration file,\n"
"                     socket and database (default account: imgwd)\n"
"  --config FILE      read this configuration file instead\n"
"  --check-config     check the configuration, print it (secrets masked)\n"
"                     and exit\n"
"  --socket PATH      the local socket (default: $IMGW_SOCKET, else\n"
"                     $XDG_RUNTIME_DIR/imgw/ACCOUNT.sock, else\n"
"                     /tmp/imgw-UID/ACCOUNT.sock); its directory is made 0700\n"
"  --db FILE          the SQLite cache (default:\n"
"                     $XDG_STATE_HOME/imgw/imgw.db, else\n"
"                     ~/.local/state/imgw/imgw.db; NAME.db for --account)\n"
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
"  --server-profile P what the server offers beyond the vendor's protocol:\n"
"                     auto (default: what its CONNECTED advertises in\n"
"                     im-extensions), seed (nothing: the vendor's server)\n"
"                     or extended (all of imserver's extensions)\n"
"  --retain-days N    forget cached messages older than N days (hourly)\n"
"  --retain-count N   keep at most N cached messages per conversation\n"
"  --client-stall S   drop a subscriber that stops reading for S seconds,\n"
"                     after a 'lagged' event saying where to resume (30)\n"
"  --durability D     full (default): every answered send and every event\n"
"                     delivered survives a power cut (the cache is synced\n"
"                     at every commit); normal: a crash of imgwd loses\n"
"                     nothing, but a power cut may undo the last commits\n"
"  --allow-uid UID    also serve this user id (repeatable; default: only\n"
"                     our own uid and root)\n"
"  --allow-group GID  also serve peers whose primary group is GID\n"
"  --log-file FILE    log there instead of stderr (reopened on SIGHUP)\n"
"  --log-level LEVEL  error, warn, info (default) or debug\n"
"  -v, --verbose      the same as --log-level debug (never tokens, never\n"
"                     message content above debug)\n");
}

/* Keep a value read from the file alive for the process's lifetime. */
static const char *
config_keep(const char *v)
{
	char	*copy;

	if (config_nstrings == (int)(sizeof config_strings / sizeof config_strings[0]))
		return NULL;
	if ((copy = strdup(v)) == NULL)
		fatalx("out of memory");
	config_strings[config_nstrings++] = copy;
	return copy;
}

/* Format an error into err. Returns -1. */
static int
config_err(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
config_seconds(const char *s, double *out)
{
	char	*end;
	double	 v = strtod(s, &end);

	if (*end != '\0' || end == s || !(v >= 0.05 && v <= 86400))
		return -1;
	*out = v;
	return 0;
}

/*
 * Apply one option. arg must outlive cfg (argv, or config_keep). Returns 0,
 * or -1 with a message in err.
 */
static int
config_apply(int ch, const char *arg, char *err, size_t len)
{
	char		*end;
	long		 v;
	unsigned long	 u;
	double		*d;

	switch (ch) {
	case 'u': cfg.upstream = arg; break;
	case 't': cfg.token_file = arg; break;
	case 's': cfg.socket_path = arg; break;
	case 'd': cfg.db_path = arg; break;
	case 'a':
	case 'U':
		if (!conv_valid_id(arg))
			return config_err(err, len, "ids are 1-64 characters of "
			    "A-Z a-z 0-9 _ . @ -");
		*(ch == 'a' ? &cfg.app_id : &cfg.user) = arg;
		break;
	case 'c': cfg.ca_file = arg; break;
	case 'H': {
		long	 cx, cy;

		cx = strtol(arg, &end, 10);
		if (*end != ',' || cx < 0 || cx > 3600000)
			return config_err(err, len, "wants CX,CY in ms");
		cy = strtol(end + 1, &end, 10);
		if (*end != '\0' || cy < 0 || cy > 3600000)
			return config_err(err, len, "wants CX,CY in ms");
		cfg.hb_cx = (int)cx;
		cfg.hb_cy = (int)cy;
		break;
	}
	case 'P':
	case 'T':
	case 'B':
	case 'W':
		d = ch == 'P' ? &cfg.ping_interval : ch == 'T' ? &cfg.ping_timeout :
		    ch == 'B' ? &cfg.backoff_max : &cfg.client_stall;
		if (config_seconds(arg, d) == -1)
			return config_err(err, len, "wants seconds (0.05 to 86400)");
		break;
	case 'Y':
		if (strcmp(arg, "full") != 0 && strcmp(arg, "normal") != 0)
			return config_err(err, len, "is full or normal");
		cfg.durability_normal = strcmp(arg, "normal") == 0;
		break;
	case 'O': cfg.stomp_host = arg; break;
	case 'L': cfg.stomp_login = 1; break;
	case 'S':
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "seed") != 0 &&
		    strcmp(arg, "extended") != 0)
			return config_err(err, len, "is auto, seed or extended");
		cfg.server_profile = strcmp(arg, "auto") == 0 ? NULL : arg;
		break;
	case 'D':
	case 'C':
		v = strtol(arg, &end, 10);
		if (*end != '\0' || end == arg || v < 1 || v > 100000000)
			return config_err(err, len, "wants a positive number");
		*(ch == 'D' ? &cfg.retain_days : &cfg.retain_count) = (int)v;
		break;
	case 'X':
	case 'G':
		u = strtoul(arg, &end, 10);
		if (*end != '\0' || end == arg || u > 0x7fffffffUL)
			return config_err(err, len, "wants a numeric id");
		if (ch == 'G') {
			cfg.allow_gid = (gid_t)u;
			cfg.has_allow_gid = 1;
		} else if (cfg.nallow_uid == 16)
			return config_err(err, len, "at most 16 uids");
		else
			cfg.allow_uid[cfg.nallow_uid++] = (uid_t)u;
		break;
	case 'l': cfg.log_file = arg; break;
	case 'V':
		if (strcmp(arg, "error") == 0) cfg.log_level = LOG_ERROR;
		else if (strcmp(arg, "warn") == 0) cfg.log_level = LOG_WARN;
		else if (strcmp(arg, "info") == 0) cfg.log_level = LOG_INFO;
		else if (strcmp(arg, "debug") == 0) cfg.log_level = LOG_DEBUG;
		else
			return config_err(err, len, "is error, warn, info or debug");
		break;
	case 'v': cfg.log_level = LOG_DEBUG; break;
	default:
		return config_err(err, len, "unknown option");
	}
	return 0;
}

/* Trim white space at both ends, in place. */
static char *
config_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Read a configuration file: "key = value" lines, '#' comments, keys the
 * long option names. A missing file is fine unless required. Returns 0, or
 * -1 with "FILE:LINE: ..." in *cause.
 */
static int
config_file(const char *path, int required, char **cause)
{
	const struct option	*o;
	char			 line[LINE_MAX_LEN], err[256], *key, *val, *eq;
	const char		*kept = NULL;
	FILE			*f;
	int			 n = 0, rc = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		n++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = asprintf(cause, "%s:%d: line too long", path, n);
			break;
		}
		key = config_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			val = NULL;	/* a bare key: a flag such as stomp-login */
		else {
			*eq = '\0';
			val = config_trim(eq + 1);
			key = config_trim(key);
		}
		if (strcmp(key, "token") == 0) {
			rc = asprintf(cause, "%s:%d: a token does not belong in the "
			    "configuration; use token-file", path, n);
			break;
		}
		for (o = config_opts; o->name != NULL; o++) {
			if (strcmp(o->name, key) == 0)
				break;
		}
		if (o->name == NULL || o->val == 'f' || o->val == 'A' ||
		    o->val == 'K' || o->val == 'h') {
			rc = asprintf(cause, "%s:%d: unknown key '%.64s'", path, n, key);
			break;
		}
		if ((o->has_arg == required_argument) != (val != NULL && *val != '\0')) {
			rc = asprintf(cause, "%s:%d: '%s' %s", path, n, key,
			    o->has_arg == required_argument ? "needs a value" :
			    "takes no value");
			break;
		}
		if (val != NULL && (kept = config_keep(val)) == NULL) {
			rc = asprintf(cause, "%s:%d: too many values", path, n);
			break;
		}
		if (config_apply(o->val, val != NULL ? kept : NULL, err,
		    sizeof err) == -1) {
			rc = asprintf(cause, "%s:%d: %s %s", path, n, key, err);
			break;
		}
	}
	fclose(f);
	return rc == 0 ? 0 : -1;
}

/* A path under an XDG directory: $VAR/sub, else $HOME/fallback/sub. */
static char *
config_xdg(const char *var, const char *fallback, const char *sub)
{
	const char	*e = getenv(var), *home = getenv("HOME");
	char		*p;

	if (e != NULL && *e == '/') {
		if (asprintf(&p, "%s/imgw/%s", e, sub) == -1)
			return NULL;
	} else if (asprintf(&p, "%s/%s/imgw/%s", home != NULL ? home : "/",
	    fallback, sub) == -1)
		return NULL;
	return p;
}

/* Create the directories leading to path (mode 0700), ignoring errors. */
void
config_mkdirs(const char *path)
{
	char	*p = strdup(path), *s;

	if (p == NULL)
		return;
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	free(p);
}

/*
 * Read the configuration: defaults, then the file, then argv. Exits on
 * --help (0), --check-config (0 or 1) and errors (2).
 */
void
config_load(int argc, char **argv)
{
	const char	*file = NULL, *account = NULL;
	char		 err[256], name[96], *cause = NULL, *path;
	int		 ch, check = 0;

	cfg.app_id = "ak_demo_chat";
	cfg.ping_interval = 15;
	cfg.ping_timeout = 45;
	cfg.backoff_max = 30;
	cfg.client_stall = 30;
	cfg.log_level = LOG_INFO;

	/* First pass: which file, which account. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, CONFIG_SHORT, config_opts, NULL)) != -1) {
		if (ch == 'f')
			file = optarg;
		else if (ch == 'A')
			account = optarg;
		else if (ch == 'h') {
			config_usage(stdout);
			exit(0);
		}
	}
	/* The CLI's imgw_account_socket accepts exactly these names too. */
	if (account != NULL && (!conv_valid_id(account) || account[0] == '.')) {
		fprintf(stderr, "imgwd: --account: names are 1-64 characters of "
		    "A-Z a-z 0-9 _ . @ -, not starting with a dot\n");
		exit(2);
	}
	cfg.account = account != NULL ? account : "imgwd";
	if (file != NULL) {
		if (config_file(file, 1, &cause) == -1)
			goto bad_file;
	} else {
		snprintf(name, sizeof name, "%s.conf", cfg.account);
		if ((path = config_xdg("XDG_CONFIG_HOME", ".config", name)) == NULL)
			fatalx("out of memory");
		if (config_file(path, 0, &cause) == -1) {
			free(path);
			goto bad_file;
		}
		cfg.config_path = path;
	}
	if (file != NULL)
		cfg.config_path = file;

	/* Second pass: the command line wins. */
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, CONFIG_SHORT, config_opts, NULL)) != -1) {
		if (ch == 'f' || ch == 'A')
			continue;
		if (ch == 'K') {
			check = 1;
			continue;
		}
		if (ch == '?') {
			config_usage(stderr);
			exit(2);
		}
		if (config_apply(ch, optarg, err, sizeof err) == -1) {
			fprintf(stderr, "imgwd: --%s %s\n", config_name(ch), err);
			exit(2);
		}
	}
	if (optind != argc) {
		/* Not echoed: it may well be a token. */
		fprintf(stderr, "imgwd: unexpected argument (tokens are never "
		    "taken on the command line; use --token-file)\n");
		config_usage(stderr);
		exit(2);
	}
	if (config_finish(err, sizeof err) == -1) {
		fprintf(stderr, "imgwd: %s\n", err);
		if (!check)
			config_usage(stderr);
		exit(2);
	}
	if (check)
		exit(config_check());
	return;
bad_file:
	fprintf(stderr, "imgwd: %s\n", cause ? cause : "cannot read configuration");
	exit(2);
}

/* The long name of an option. */
const char *
config_name(int ch)
{
	const struct option	*o;

	for (o = config_opts; o->name != NULL; o++) {
		if (o->val == ch)
			return o->name;
	}
	return "?";
}

/* Check what depends on several options and fill in derived defaults. */
int
config_finish(char *err, size_t len)
{
	static char	 sock[256];
	char		 name[96];

	if (cfg.upstream == NULL)
		return config_err(err, len, "upstream (--upstream URL) is required");
	if (strncmp(cfg.upstream, "ws://", 5) != 0 &&
	    strncmp(cfg.upstream, "wss://", 6) != 0)
		return config_err(err, len, "upstream must be a ws:// or wss:// URL");
	if (cfg.ping_timeout <= cfg.ping_interval)
		return config_err(err, len, "ping-timeout must exceed ping-interval");
	if (cfg.socket_path == NULL) {
		if (paths_socket_for(strcmp(cfg.account, "imgwd") == 0 ? NULL :
		    cfg.account, sock, sizeof sock) == -1)
			return config_err(err, len, "the default socket path is too long");
		cfg.socket_path = sock;
	}
	if (cfg.db_path == NULL) {
		snprintf(name, sizeof name, "%s.db", strcmp(cfg.account, "imgwd") == 0 ?
		    "imgw" : cfg.account);
		if ((cfg.db_path = config_xdg("XDG_STATE_HOME", ".local/state",
		    name)) == NULL)
			fatalx("out of memory");
		cfg.db_default = 1;
	}
	return 0;
}

/* Print the effective configuration, the token masked. Returns the exit status. */
int
config_check(void)
{
	char	*tok = NULL, *cause = NULL;
	int	 rc = 0, i;

	printf("# imgwd %s: effective configuration\n", cfg.account);
	printf("config = %s\n", cfg.config_path != NULL &&
	    access(cfg.config_path, R_OK) == 0 ? cfg.config_path : "(none)");
	printf("upstream = %s\n", cfg.upstream);
	printf("token-file = %s\n", cfg.token_file ? cfg.token_file :
	    "(none: $IMGW_TOKEN)");
	if (read_token(&tok, &cause) == 0) {
		printf("token = (%zu bytes, not shown)\n", strlen(tok));
		explicit_bzero(tok, strlen(tok));
		free(tok);
	} else {
		printf("token = (unusable: %s)\n", cause ? cause : "?");
		free(cause);
		rc = 1;
	}
	printf("socket = %s\ndb = %s\napp-id = %s\n", cfg.socket_path, cfg.db_path,
	    cfg.app_id);
	printf("user = %s\n", cfg.user ? cfg.user : "(learnt from the server)");
	printf("ca-file = %s\n", cfg.ca_file ? cfg.ca_file : "(system)");
	printf("heartbeat = %d,%d\n", cfg.hb_cx, cfg.hb_cy);
	printf("ping-interval = %g\nping-timeout = %g\nbackoff-max = %g\n",
	    cfg.ping_interval, cfg.ping_timeout, cfg.backoff_max);
	printf("stomp-host = %s\n", cfg.stomp_host ? cfg.stomp_host : "(URL host)");
	printf("stomp-login = %s\n", cfg.stomp_login ? "yes" : "no");
	printf("server-profile = %s\n", cfg.server_profile ? cfg.server_profile :
	    "auto");
	printf("retain-days = %d\nretain-count = %d\nclient-stall = %g\n",
	    cfg.retain_days, cfg.retain_count, cfg.client_stall);
	printf("durability = %s\n", cfg.durability_normal ? "normal" : "full");
	for (i = 0; i < cfg.nallow_uid; i++)
		printf("allow-uid = %lu\n", (unsigned long)cfg.allow_uid[i]);
	if (cfg.has_allow_gid)
		printf("allow-group = %lu\n", (unsigned long)cfg.allow_gid);
	printf("log-file = %s\n", cfg.log_file ? cfg.log_file : "(stderr)");
	printf("log-level = %s\n", (const char *[]){ "error", "warn", "info",
	    "debug" }[cfg.log_level]);
	return rc;
}

/*
 * Read the token from the token file or $IMGW_TOKEN. Returns 0 with *out
 * (caller frees and wipes), or -1 with a message in *cause.
 */
int
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
	/* As ssh treats a private key: a token others can read is not used. */
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0) {
		if (asprintf(cause, "%s is open to other users (mode %04o); "
		    "it holds a secret: chmod 600 %s", cfg.token_file,
		    (unsigned)(sb.st_mode & 07777), cfg.token_file) == -1)
			*cause = NULL;
		close(fd);
		return -1;
	}
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
config_reload_token(void)
{
	char	*tok, *cause = NULL;

	if (cfg.token_file == NULL)
		return 0;	/* the environment was read once */
	if (read_token(&tok, &cause) == -1) {
		log_warn("token not reloaded: %s", cause ? cause : "error");
		free(cause);
		return -1;
	}
	config_set_token(tok);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	return 0;
}

/* Replace the token used from the next connection on. */
void
config_set_token(const char *tok)
{
	char	*copy;

	if ((copy = strdup(tok)) == NULL)
		fatalx("out of memory");
	if (cfg.token != NULL)
		explicit_bzero(cfg.token, strlen(cfg.token));
	free(cfg.token);
	cfg.token = copy;
}
