/*
 * main: imserver's command line (the server, and the token and group
 * subcommands), start-up, signals and the libev loop. Owns no protocol
 * logic.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "log.h"
#include "server.h"

#define MAIN_DEFAULT_APP	"ak_demo_chat"
#define MAIN_DEFAULT_TTL	86400
#define MAIN_MAX_TTL		(100LL * 366 * 86400)
#define MAIN_MAX_HEARTBEAT	3600000		/* ms, as imgwd allows */
#define MAIN_REVOKE_WINDOW	120		/* s, UPSTREAM.md default */
#define MAIN_MAX_REVOKE_WINDOW	(366LL * 86400)

static const char main_usage_text[] =
    "usage: imserver --listen ADDR:PORT --db FILE --secret-file FILE\n"
    "                [--cert FILE --key FILE] [--heartbeat SX,SY]\n"
    "                [--revoke-window SECONDS]\n"
    "                [--seed-only [--seed-echo] [--seed-receipts]] [-v]\n"
    "       imserver token --secret-file FILE [--app ID] [--ttl SECONDS] USER\n"
    "       imserver group --db FILE [--app ID] GROUP OWNER [MEMBER...]\n"
    "\n"
    "Serve STOMP 1.2 over WebSocket at ws://ADDR:PORT/ws/im (wss:// with\n"
    "--cert and --key), storing messages in the SQLite database FILE. PORT 0\n"
    "picks a free port; the line \"imserver: listening on ADDR:PORT\" on\n"
    "stderr gives the one in use.\n"
    "\n"
    "  --listen ADDR:PORT     IPv4 address (or [IPv6]) and port to bind\n"
    "  --db FILE              database, created if missing\n"
    "  --secret-file FILE     token secret, at least 16 bytes\n"
    "  --cert FILE            serve TLS (wss://) with this PEM certificate,\n"
    "                         the server's first, then any intermediates\n"
    "  --key FILE             the certificate's PEM private key (both or\n"
    "                         neither; without them, plain ws://)\n"
    "  --heartbeat SX,SY      STOMP heart-beat in CONNECTED, in ms (default\n"
    "                         0,0): send an EOL at least every SX, want the\n"
    "                         client every SY; a client silent for twice the\n"
    "                         negotiated interval is dropped\n"
    "  --revoke-window S      a sender may revoke a message for S seconds\n"
    "                         (default 120; 0: at any time)\n"
    "  --seed-only            behave as the vendor's server (Spring, simple\n"
    "                         broker): CONNECTED without im-extensions,\n"
    "                         only chat.send, chat.revoke and chat.sync, no\n"
    "                         replies, events or seq, no RECEIPT but for\n"
    "                         DISCONNECT\n"
    "  --seed-echo            with --seed-only: a one-to-one message also\n"
    "                         reaches every session of its sender\n"
    "  --seed-receipts        with --seed-only: answer every receipt header\n"
    "  -v, --verbose          log debug messages\n"
    "  -h, --help             show this help\n"
    "\n"
    "The token subcommand prints a token for USER:\n"
    "  --app ID               application id (default " MAIN_DEFAULT_APP ")\n"
    "  --ttl SECONDS          lifetime (default 86400; 0 makes an expired one)\n"
    "\n"
    "The group subcommand creates group GROUP (its id and name) owned by\n"
    "OWNER with the MEMBERs in the database FILE, or adds the MEMBERs to it,\n"
    "and prints its id; a server may be running on FILE meanwhile:\n"
    "  --app ID               application id (default " MAIN_DEFAULT_APP ")\n";

/* Print the usage text and exit: to stdout with 0, else to stderr with 2. */
static void __attribute__((noreturn))
main_usage(int status, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "imserver: %s\n", why);
	fputs(main_usage_text, status == 0 ? stdout : stderr);
	exit(status);
}

/* Split ADDR:PORT ([ADDR]:PORT for IPv6) into addr (to free) and port. */
static int
main_parse_listen(const char *arg, char **addr, int *port)
{
	const char	*colon, *start = arg, *end;
	char		*p, *host;
	long		 n;
	unsigned char	 sa[16];

	if ((colon = strrchr(arg, ':')) == NULL)
		return -1;
	end = colon;
	if (*arg == '[') {
		if (colon == arg || colon[-1] != ']')
			return -1;
		start = arg + 1;
		end = colon - 1;
	}
	errno = 0;
	n = strtol(colon + 1, &p, 10);
	if (colon[1] == '\0' || *p != '\0' || errno != 0 || n < 0 ||
	    n > 65535)
		return -1;
	if ((host = strndup(start, (size_t)(end - start))) == NULL)
		return -1;
	if (inet_pton(start == arg ? AF_INET : AF_INET6, host, sa) != 1) {
		free(host);
		return -1;
	}
	*addr = host;
	*port = (int)n;
	return 0;
}

/* Parse "SX,SY" heart-beat milliseconds; returns 0 or -1. */
static int
main_parse_heartbeat(const char *arg, int *sx, int *sy)
{
	char	*p;
	long	 x, y;

	errno = 0;
	x = strtol(arg, &p, 10);
	if (p == arg || *p != ',' || errno != 0 || x < 0 ||
	    x > MAIN_MAX_HEARTBEAT)
		return -1;
	arg = p + 1;
	y = strtol(arg, &p, 10);
	if (p == arg || *p != '\0' || errno != 0 || y < 0 ||
	    y > MAIN_MAX_HEARTBEAT)
		return -1;
	*sx = (int)x;
	*sy = (int)y;
	return 0;
}

/* Parse a number of seconds from 0 to max; returns 0 or -1. */
static int
main_parse_seconds(const char *arg, long long max, long long *out)
{
	char		*p;
	long long	 n;

	errno = 0;
	n = strtoll(arg, &p, 10);
	if (*arg == '\0' || *p != '\0' || errno != 0 || n < 0 || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * The next option of a subcommand (getopt_long over longopts), or -1 at the
 * end: --app ID (into *app) and --help are the same for every subcommand
 * and handled here, and an unknown option is a usage error.
 */
static int
main_subcommand_opt(int argc, char **argv, const struct option *longopts,
    const char **app)
{
	int	 ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) == 'a')
		*app = optarg;
	if (ch == 'h')
		main_usage(0, NULL);
	if (ch == '?')
		main_usage(2, NULL);
	return ch;
}

/* Stop the loop on SIGTERM or SIGINT. */
static void
main_signal(struct ev_loop *loop, struct ev_signal *w, int revents)
{
	log_info("signal %d, shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/* imserver token: print a token. */
static int
main_token(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "secret-file", required_argument, NULL, 's' },
		{ "app", required_argument, NULL, 'a' },
		{ "ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*secret = NULL, *app = MAIN_DEFAULT_APP;
	char		*cause, *tok;
	long long	 ttl = MAIN_DEFAULT_TTL;
	int		 ch;

	optind = 1;
	while ((ch = main_subcommand_opt(argc, argv, longopts, &app)) != -1) {
		switch (ch) {
		case 's':
			secret = optarg;
			break;
		case 't':
			if (main_parse_seconds(optarg, MAIN_MAX_TTL, &ttl) == -1)
				main_usage(2, "--ttl: need a number of seconds");
			break;
		default:
			main_usage(2, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		main_usage(2, "token: need exactly one USER");
	if (secret == NULL)
		main_usage(2, "token: --secret-file is required");
	if (!token_check_id(app))
		main_usage(2, "--app: 1 to 64 of [A-Za-z0-9_.@-]");
	if (!token_check_id(argv[0]))
		main_usage(2, "USER: 1 to 64 of [A-Za-z0-9_.@-]");
	if (token_open(secret, &cause) == -1)
		fatalx("%s", cause != NULL ? cause : "cannot read the secret");
	if (token_sign(app, argv[0], (long long)time(NULL) + ttl, &tok) == -1)
		fatalx("cannot make a token");
	printf("%s\n", tok);
	free(tok);
	token_close();
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * Add the ids of members that are not yet in group g to it. Returns 0, or
 * -1 with *why set (static) if one cannot be added.
 */
static int
main_group_add(const struct sgroup *g, const struct idlist *members,
    const char **why)
{
	struct smember	 m;
	long long	 count = g->member_count, now = broker_now_ms();
	size_t		 i;
	int		 rc;

	for (i = 0; i < members->n; i++) {
		if ((rc = sstore_group_member_get(g->app, g->id, members->v[i],
		    &m)) == -1)
			goto fail;
		if (rc == 0)
			continue;
		/* UPSTREAM.md: a group has at most GROUP_MEMBERS_MAX. */
		if (count >= GROUP_MEMBERS_MAX) {
			*why = "the group is full";
			return -1;
		}
		if (sstore_group_member_add(g->app, g->id, members->v[i],
		    "MEMBER", now) == -1)
			goto fail;
		count++;
	}
	return 0;

fail:
	*why = "database error";
	return -1;
}

/*
 * Make group id of app owned by owner with the members, as group.create
 * would with its defaults. Returns 0, or -1 with *why set (static).
 */
static int
main_group_create(const char *app, const char *id, const char *owner,
    const struct idlist *members, const char **why)
{
	struct sgroup	 g;
	int		 rc;

	if (members->n + 1 > GROUP_MEMBERS_MAX) {
		*why = "too many members";
		return -1;
	}
	memset(&g, 0, sizeof g);
	snprintf(g.app, sizeof g.app, "%s", app);
	snprintf(g.id, sizeof g.id, "%s", id);
	snprintf(g.name, sizeof g.name, "%s", id);
	snprintf(g.owner, sizeof g.owner, "%s", owner);
	snprintf(g.join_policy, sizeof g.join_policy, "FREE");
	/* Borrowed for the write: g is never cleared. */
	g.notice = g.avatar = g.intro = (char *)"";
	g.created_at = broker_now_ms();
	if ((rc = sstore_group_create(&g, members)) == 0)
		return 0;
	*why = rc == 1 ? "the id is taken (a dismissed group keeps it)" :
	    "database error";
	return -1;
}

/*
 * imserver group: create group GROUP owned by OWNER with the MEMBERs in the
 * database, or add the MEMBERs to it; print its id. No event is sent: the
 * vendor manages groups out of band too.
 */
static int
main_group(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "app", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sgroup	 g;
	struct idlist	 members;
	const char	*db = NULL, *app = MAIN_DEFAULT_APP, *id, *owner;
	const char	*why = NULL;
	char		*cause = NULL, other[ID_MAX + 64];
	int		 ch, i, rc;

	optind = 1;
	while ((ch = main_subcommand_opt(argc, argv, longopts, &app)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		default:
			main_usage(2, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		main_usage(2, "group: need GROUP and OWNER");
	if (db == NULL)
		main_usage(2, "group: --db is required");
	if (!token_check_id(app))
		main_usage(2, "--app: 1 to 64 of [A-Za-z0-9_.@-]");
	for (i = 0; i < argc; i++) {
		if (!token_check_id(argv[i]))
			main_usage(2, "GROUP, OWNER and MEMBER: 1 to 64 of "
			    "[A-Za-z0-9_.@-]");
	}
	id = argv[0];
	owner = argv[1];
	idlist_init(&members);
	for (i = 2; i < argc; i++) {
		if (idlist_add(&members, argv[i]) == -1)
			fatalx("out of memory");
	}
	/* WAL and a busy timeout: a server may be using the file. */
	if (sstore_open(db, &cause) == -1)
		fatalx("database %s: %s", db, cause != NULL ? cause :
		    "cannot open");
	if ((rc = sstore_group_get(app, id, &g)) == -1)
		why = "database error";
	else if (rc == 1)
		main_group_create(app, id, owner, &members, &why);
	else {
		if (strcmp(g.owner, owner) != 0) {
			snprintf(other, sizeof other, "its owner is %s",
			    g.owner);
			why = other;
		} else
			main_group_add(&g, &members, &why);
		sstore_group_clear(&g);
	}
	sstore_close();
	idlist_clear(&members);
	if (why != NULL)
		fatalx("group %s of app %s: %s", id, app, why);
	printf("%s\n", id);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Run the server, or the token or group subcommand. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "revoke-window", required_argument, NULL, 'R' },
		{ "seed-only", no_argument, NULL, 'S' },
		{ "seed-echo", no_argument, NULL, 'E' },
		{ "seed-receipts", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ev_loop		*loop;
	struct ev_signal	 sigterm, sigint;
	const char		*listenarg = NULL, *db = NULL, *secret = NULL;
	const char		*cert = NULL, *key = NULL;
	char			*addr = NULL, *cause = NULL;
	long long		 revoke = MAIN_REVOKE_WINDOW;
	int			 ch, port = 0, bound, verbose = 0;
	int			 hb_sx = 0, hb_sy = 0, profile = 0;

	log_open("imserver", LOG_INFO);
	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return main_token(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "group") == 0) {
		/* A command, not a daemon: only warnings and errors. */
		log_open("imserver", LOG_WARN);
		return main_group(argc - 1, argv + 1);
	}

	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listenarg = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 's':
			secret = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'H':
			if (main_parse_heartbeat(optarg, &hb_sx, &hb_sy) == -1)
				main_usage(2, "--heartbeat: need SX,SY in ms "
				    "(0 to 3600000 each)");
			break;
		case 'R':
			if (main_parse_seconds(optarg, MAIN_MAX_REVOKE_WINDOW,
			    &revoke) == -1)
				main_usage(2, "--revoke-window: need a number "
				    "of seconds");
			break;
		case 'S':
			profile |= BROKER_SEED_ONLY;
			break;
		case 'E':
			profile |= BROKER_SEED_ECHO;
			break;
		case 'r':
			profile |= BROKER_SEED_RECEIPTS;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			main_usage(0, NULL);
		default:
			main_usage(2, NULL);
		}
	}
	if (optind != argc)
		main_usage(2, "unexpected argument");
	if (listenarg == NULL || db == NULL || secret == NULL)
		main_usage(2, "--listen, --db and --secret-file are required");
	if (main_parse_listen(listenarg, &addr, &port) == -1)
		main_usage(2, "--listen: need ADDR:PORT with a numeric address");
	if ((cert == NULL) != (key == NULL))
		main_usage(2, "--cert and --key go together");
	if (profile != 0 && !(profile & BROKER_SEED_ONLY))
		main_usage(2, "--seed-echo and --seed-receipts need "
		    "--seed-only");
	log_open("imserver", verbose ? LOG_DEBUG : LOG_INFO);
	/* Said plainly here; lws would only fail to create its context. */
	if (cert != NULL && access(cert, R_OK) == -1)
		fatalx("certificate %s: %s", cert, strerror(errno));
	if (key != NULL && access(key, R_OK) == -1)
		fatalx("private key %s: %s", key, strerror(errno));

	/* A peer that goes away must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);

	if (token_open(secret, &cause) == -1)
		fatalx("%s", cause != NULL ? cause : "cannot read the secret");
	if (sstore_open(db, &cause) == -1)
		fatalx("database %s: %s", db, cause != NULL ? cause :
		    "cannot open");
	broker_open(hb_sx, hb_sy, profile);
	chat_config(revoke);

	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot make the event loop");
	ev_signal_init(&sigterm, main_signal, SIGTERM);
	ev_signal_start(loop, &sigterm);
	ev_signal_init(&sigint, main_signal, SIGINT);
	ev_signal_start(loop, &sigint);

	if (ws_open(loop, addr, port, cert, key, &bound, &cause) == -1)
		fatalx("%s", cause != NULL ? cause : "cannot listen");
	deliver_open(loop);
	if (cert != NULL)
		log_info("TLS: serving wss:// with certificate %s", cert);
	if (hb_sx > 0 || hb_sy > 0)
		log_info("heart-beat offered: %d,%d", hb_sx, hb_sy);
	if (profile & BROKER_SEED_ONLY)
		fprintf(stderr, "imserver: profile seed-only (echo %s, "
		    "receipts %s)\n", profile & BROKER_SEED_ECHO ? "on" : "off",
		    profile & BROKER_SEED_RECEIPTS ? "on" : "off");
	else
		fprintf(stderr, "imserver: profile full\n");
	/* Tests read this exact line for the port. */
	if (strchr(addr, ':') != NULL)
		fprintf(stderr, "imserver: listening on [%s]:%d\n", addr, bound);
	else
		fprintf(stderr, "imserver: listening on %s:%d\n", addr, bound);

	ev_run(loop, 0);

	/* Never inside a callback: the loop has returned. */
	ws_close();
	deliver_close();
	broker_close();
	sstore_close();
	token_close();
	ev_signal_stop(loop, &sigterm);
	ev_signal_stop(loop, &sigint);
	free(addr);
	log_info("stopped");
	return 0;
}
