/*
 * imgw: the command-line client of imgwd. Built on imgw.h only: parses the
 * command line, makes one or a few calls, prints for people or (--json) for
 * programs. Exit status 0 on success, 1 on failure, 2 on a usage error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "imgw.h"

static int	 json_out;
static int	 timeout_ms = 10000;

static void
usage(FILE *f)
{
	char	 sock[256];

	if (imgw_default_socket(sock, sizeof sock) == -1)
		snprintf(sock, sizeof sock, "(too long)");
	fprintf(f,
"usage: imgw [-s SOCKET | -a ACCOUNT] [--json] [-t MS] COMMAND [ARGS]\n"
"\n"
"Talk to imgwd, the local XuqmGroup IM gateway.\n"
"\n"
"commands:\n"
"  status                         connection state and identity\n"
"  send USER TEXT [--id ID]       send a message (queued while offline);\n"
"                                 prints its id\n"
"  history USER [--limit N] [--before ID]\n"
"                                 messages with USER from the local cache\n"
"                                 (works offline), oldest first\n"
"  revoke MESSAGE_ID              revoke a message you sent\n"
"  search TEXT [--user USER] [--limit N]\n"
"                                 find messages in the cache by substring\n"
"                                 (any length, Chinese included)\n"
"  conversations [--limit N]      conversations, pinned first, with unread\n"
"                                 counts\n"
"  read USER                      mark the conversation with USER read\n"
"  stats                          the cache's size and counts\n"
"  listen [--since SEQ]           print events as they arrive, one per line;\n"
"                                 --since replays the log after SEQ first\n"
"  reconnect                      reconnect to the server now\n"
"  logout                         disconnect and stay offline (also after\n"
"                                 a restart) until reconnect\n"
"  methods                        list the daemon's RPC methods\n"
"  call METHOD [JSON]             call any method with a JSON object of\n"
"                                 arguments; prints the JSON result\n"
"  DOMAIN VERB [--NAME VALUE]...  call method DOMAIN.VERB with named\n"
"                                 arguments, e.g. imgw message send --user bob\n"
"                                 --text hi; imgw DOMAIN VERB --help lists the\n"
"                                 arguments (from the daemon's rpc.describe)\n"
"\n"
"options:\n"
"  -s, --socket PATH   the daemon's socket (default %s)\n"
"  -a, --account NAME  the daemon of account NAME (imgwd --account NAME)\n"
"  -j, --json          print JSON instead of text (one object per line)\n"
"  -t, --timeout MS    how long to wait for an answer (default 10000)\n"
"  -h, --help          this text\n", sock);
}

/* Print a failure from the library and return the exit status. */
static int
fail(struct imgw *c, const char *what)
{
	fprintf(stderr, "imgw: %s: %s (%s)\n", what, imgw_error_message(c),
	    imgw_error_code(c));
	return 1;
}

/* Call a method with a JSON argument object; returns the parsed result or NULL. */
static json_t *
call(struct imgw *c, const char *method, json_t *args)
{
	char	*a = json_dumps(args, JSON_COMPACT), *res = NULL;
	json_t	*r = NULL;

	json_decref(args);
	if (imgw_call(c, method, a, &res, timeout_ms) == IMGW_OK)
		r = json_loads(res, JSON_DECODE_ANY, NULL);
	free(a);
	imgw_free(res);
	return r;
}

static void
print_json(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	printf("%s\n", s ? s : "null");
	free(s);
	fflush(stdout);
}

static const char *
str(json_t *o, const char *key)
{
	const char	*v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

/* Format milliseconds since the epoch as local time. */
static const char *
when(json_int_t ms)
{
	static char	 out[32];
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;

	if (ms <= 0)
		return "-";
	localtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static const char *
conv_name(json_t *conv)
{
	static char	 out[80];

	if (json_object_get(conv, "group") != NULL)
		snprintf(out, sizeof out, "group %s", str(conv, "group"));
	else
		snprintf(out, sizeof out, "%s", str(conv, "user"));
	return out;
}

static void
print_message(json_t *m)
{
	const char	*status = str(m, "status");

	printf("%s  %s -> %s  %s", when(json_integer_value(
	    json_object_get(m, "createdAt"))), str(m, "from"), str(m, "to"),
	    strcmp(status, "REVOKED") == 0 ? "(revoked)" : str(m, "content"));
	if (strcmp(status, "SENT") != 0 && strcmp(status, "REVOKED") != 0)
		printf("  [%s]", status);
	printf("  (%s)\n", str(m, "id"));
}

/* Print one event for people. */
static void
print_event(json_t *e)
{
	const char	*type = str(e, "type");
	json_t		*m = json_object_get(e, "message");

	printf("[%lld] ", (long long)json_integer_value(json_object_get(e, "seq")));
	if (strcmp(type, "message.new") == 0) {
		printf("new message: ");
		print_message(m);
	} else if (strcmp(type, "message.revoked") == 0)
		printf("revoked: %s (%s -> %s)\n", str(m, "id"), str(m, "from"),
		    str(m, "to"));
	else if (strcmp(type, "message.updated") == 0) {
		printf("updated: ");
		print_message(m);
	} else if (strcmp(type, "message.status") == 0)
		printf("message %s to %s: %s%s%s\n", str(e, "id"),
		    conv_name(json_object_get(e, "conversation")), str(e, "status"),
		    json_object_get(e, "error") ? ": " : "", str(e, "error"));
	else if (strcmp(type, "session.state") == 0)
		printf("session %s%s%s\n", str(e, "state"),
		    *str(e, "reason") ? ": " : "", str(e, "reason"));
	else {
		char *s = json_dumps(e, JSON_COMPACT);

		printf("%s %s\n", type, s ? s : "");
		free(s);
	}
	fflush(stdout);
}

static void
on_event(const char *text, void *arg)
{
	json_t	*e;

	if (json_out) {
		printf("%s\n", text);
		fflush(stdout);
		return;
	}
	if ((e = json_loads(text, 0, NULL)) != NULL)
		print_event(e);
	json_decref(e);
}

/* The server's profile and capabilities, as session.status says them. */
static void
print_capabilities(json_t *r)
{
	json_t		*caps = json_object_get(r, "capabilities"), *v;
	const char	*profile = str(r, "profile");
	size_t		 i;

	printf("profile:  %s\n", *profile ? profile : "unknown");
	if (strcmp(profile, "unknown") == 0 || *profile == '\0')
		printf("capabilities: not known yet (never connected)\n");
	else if (json_array_size(caps) == 0)
		printf("capabilities: none (seed-only server: send, revoke and "
		    "sync; groups by group.follow)\n");
	else {
		printf("capabilities:");
		json_array_foreach(caps, i, v)
			printf("%s%s", i > 0 ? "," : " ", json_string_value(v));
		printf("\n");
	}
}

static int
cmd_status(struct imgw *c)
{
	json_t	*r = call(c, "session.status", json_object());

	if (r == NULL)
		return fail(c, "status");
	if (json_out)
		print_json(r);
	else {
		if (*str(r, "reason"))
			printf("state:    %s (%s)\n", str(r, "state"), str(r, "reason"));
		else
			printf("state:    %s\n", str(r, "state"));
		printf("since:    %s\n", when(json_integer_value(json_object_get(r, "since"))));
		if (json_integer_value(json_object_get(r, "retryAt")) > 0)
			printf("retry at: %s\n", when(json_integer_value(
			    json_object_get(r, "retryAt"))));
		printf("user:     %s\n", *str(r, "user") ? str(r, "user") : "(not known yet)");
		printf("upstream: %s\n", str(r, "upstream"));
		print_capabilities(r);
	}
	json_decref(r);
	return 0;
}

static int
cmd_send(struct imgw *c, const char *user, const char *text, const char *id)
{
	json_t	*args = json_pack("{s:s,s:s}", "user", user, "text", text), *r;

	if (args == NULL) {
		fprintf(stderr, "imgw: send: the text must be UTF-8\n");
		return 1;
	}
	if (id != NULL)
		json_object_set_new(args, "id", json_string(id));
	if ((r = call(c, "message.send", args)) == NULL)
		return fail(c, "send");
	if (json_out)
		print_json(r);
	else
		printf("%s\n", str(r, "id"));
	json_decref(r);
	return 0;
}

static int
cmd_history(struct imgw *c, const char *user, long limit, const char *before)
{
	json_t	*args = json_pack("{s:s,s:i,s:s}", "user", user, "limit", (int)limit,
	    "order", "oldest");
	json_t	*r, *m;
	size_t	 i;

	if (before != NULL)
		json_object_set_new(args, "before", json_string(before));
	if ((r = call(c, "message.history", args)) == NULL)
		return fail(c, "history");
	if (json_out)
		print_json(r);
	else {
		json_array_foreach(json_object_get(r, "messages"), i, m)
			print_message(m);
		if (json_is_true(json_object_get(r, "more")))
			printf("(older messages: use --before %s)\n",
			    str(json_array_get(json_object_get(r, "messages"), 0), "id"));
	}
	json_decref(r);
	return 0;
}

static int
cmd_revoke(struct imgw *c, const char *id)
{
	json_t	*r = call(c, "message.revoke", json_pack("{s:s}", "id", id));

	if (r == NULL)
		return fail(c, "revoke");
	if (json_out)
		print_json(r);
	else
		printf("revoked %s\n", id);
	json_decref(r);
	return 0;
}

static int
cmd_listen(struct imgw *c, long long since)
{
	imgw_on_event(c, on_event, NULL);
	if (imgw_subscribe(c, since, NULL) != IMGW_OK)
		return fail(c, "listen");
	for (;;) {
		if (imgw_dispatch(c, -1) < 0)
			return fail(c, "listen");
	}
}

static int
cmd_search(struct imgw *c, const char *text, const char *user, long limit)
{
	json_t	*args = json_pack("{s:s,s:i}", "text", text, "limit", (int)limit);
	json_t	*r, *h;
	size_t	 i;

	if (args == NULL) {
		fprintf(stderr, "imgw: search: the text must be UTF-8\n");
		return 1;
	}
	if (user != NULL)
		json_object_set_new(args, "user", json_string(user));
	if ((r = call(c, "message.search", args)) == NULL)
		return fail(c, "search");
	if (json_out)
		print_json(r);
	else {
		json_array_foreach(json_object_get(r, "results"), i, h) {
			json_t *m = json_object_get(h, "message");

			printf("%s  %s -> %s  %s  (%s)\n", when(json_integer_value(
			    json_object_get(m, "createdAt"))), str(m, "from"),
			    str(m, "to"), str(h, "snippet"), str(m, "id"));
		}
		if (!json_is_null(json_object_get(r, "cursor")))
			printf("(more: imgw call message.search "
			    "'{\"text\":...,\"cursor\":\"%s\"}')\n",
			    str(r, "cursor"));
	}
	json_decref(r);
	return 0;
}

static int
cmd_conversations(struct imgw *c, long limit)
{
	json_t	*r = call(c, "conversation.list", json_pack("{s:i}", "limit",
	    (int)limit)), *v, *m;
	size_t	 i;

	if (r == NULL)
		return fail(c, "conversations");
	if (json_out)
		print_json(r);
	else {
		json_array_foreach(json_object_get(r, "conversations"), i, v) {
			m = json_object_get(v, "lastMessage");
			printf("%-20s %3lld unread%s%s  %s  %s\n",
			    conv_name(json_object_get(v, "conversation")),
			    (long long)json_integer_value(json_object_get(v, "unread")),
			    json_is_true(json_object_get(v, "pinned")) ? "  pinned" : "",
			    json_is_true(json_object_get(v, "muted")) ? "  muted" : "",
			    when(json_integer_value(json_object_get(v, "lastAt"))),
			    json_is_object(m) ? str(m, "content") : "");
		}
		printf("total unread: %lld\n",
		    (long long)json_integer_value(json_object_get(r, "unread")));
	}
	json_decref(r);
	return 0;
}

static int
cmd_simple(struct imgw *c, const char *what, const char *method, json_t *args)
{
	json_t	*r = call(c, method, args);

	if (r == NULL)
		return fail(c, what);
	if (json_out)
		print_json(r);
	else {
		char *t = json_dumps(r, JSON_INDENT(2) | JSON_ENCODE_ANY);

		printf("%s\n", t ? t : "");
		free(t);
	}
	json_decref(r);
	return 0;
}

static int
cmd_call(struct imgw *c, const char *method, const char *args)
{
	char	*res = NULL;

	if (imgw_call(c, method, args, &res, timeout_ms) != IMGW_OK)
		return fail(c, method);
	printf("%s\n", res);
	imgw_free(res);
	return 0;
}

static int
cmd_methods(struct imgw *c)
{
	json_t	*r = call(c, "rpc.describe", json_object()), *m;
	size_t	 i;

	if (r == NULL)
		return fail(c, "methods");
	if (json_out)
		print_json(r);
	else
		json_array_foreach(json_object_get(r, "methods"), i, m)
			printf("%-22s %s\n", str(m, "name"), str(m, "summary"));
	json_decref(r);
	return 0;
}

/* The daemon's description of one method, or NULL. */
static json_t *
describe(struct imgw *c, const char *method)
{
	json_t	*d = call(c, "rpc.describe", json_object()), *m, *found = NULL;
	size_t	 i;

	json_array_foreach(json_object_get(d, "methods"), i, m) {
		if (strcmp(str(m, "name"), method) == 0)
			found = json_incref(m);
	}
	json_decref(d);
	return found;
}

/* Convert a command-line value to the parameter's declared type. */
static json_t *
typed_value(json_t *desc, const char *name, const char *v)
{
	json_t		*p;
	const char	*type = NULL;
	size_t		 i;

	json_array_foreach(json_object_get(desc, "params"), i, p) {
		if (strcmp(str(p, "name"), name) == 0)
			type = str(p, "type");
	}
	/* Ids and text stay strings even when they look like numbers. */
	if (type != NULL && (strcmp(type, "id") == 0 || strcmp(type, "string") == 0 ||
	    strcmp(type, "token") == 0))
		return json_string(v);
	if (type == NULL || strcmp(type, "int") == 0 || strcmp(type, "bool") == 0 ||
	    strcmp(type, "array") == 0 || strcmp(type, "object") == 0) {
		json_t	*j = json_loads(v, JSON_DECODE_ANY, NULL);

		if (j != NULL)
			return j;
	}
	return json_string(v);
}

/* imgw DOMAIN VERB [--NAME VALUE]...: a generic call with named arguments. */
static int
cmd_method(struct imgw *c, const char *method, int argc, char **argv)
{
	json_t	*desc = describe(c, method), *args = json_object(), *v, *p;
	char	*a, *res = NULL, *key;
	size_t	 i;
	int	 k, rc = 1;

	if (desc == NULL) {
		fprintf(stderr, "imgw: no method %s (imgw methods lists them)\n", method);
		goto out;
	}
	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
			printf("%s: %s\narguments:\n", method, str(desc, "summary"));
			json_array_foreach(json_object_get(desc, "params"), i, p)
				printf("  --%-12s %-7s %s\n", str(p, "name"),
				    str(p, "type"), json_object_get(p, "oneOf") ?
				    "(exactly one of user, group)" :
				    json_is_true(json_object_get(p, "required")) ?
				    "required" : "optional");
			rc = 0;
			goto out;
		}
		if (strncmp(argv[k], "--", 2) != 0 || argv[k][2] == '\0') {
			fprintf(stderr, "imgw: %s: expected --NAME VALUE, got '%s'\n",
			    method, argv[k]);
			rc = 2;
			goto out;
		}
		key = argv[k] + 2;
		if ((a = strchr(key, '=')) != NULL) {
			*a = '\0';
			v = typed_value(desc, key, a + 1);
		} else if (k + 1 < argc)
			v = typed_value(desc, key, argv[++k]);
		else {
			fprintf(stderr, "imgw: %s: --%s needs a value\n", method, key);
			rc = 2;
			goto out;
		}
		if (v == NULL) {
			fprintf(stderr, "imgw: %s: --%s: not UTF-8\n", method, key);
			rc = 2;
			goto out;
		}
		json_object_set_new(args, key, v);
	}
	a = json_dumps(args, JSON_COMPACT);
	if (imgw_call(c, method, a, &res, timeout_ms) != IMGW_OK)
		rc = fail(c, method);
	else {
		json_t *r = json_loads(res, JSON_DECODE_ANY, NULL);
		char *t = json_dumps(r, (json_out ? JSON_COMPACT : JSON_INDENT(2)) |
		    JSON_ENCODE_ANY);

		printf("%s\n", t ? t : res);
		free(t);
		json_decref(r);
		rc = 0;
	}
	free(a);
	free(res);
out:
	json_decref(desc);
	json_decref(args);
	return rc;
}

/* The method domains imgw DOMAIN VERB accepts. */
static int
is_domain(const char *w)
{
	static const char *const domains[] = { "rpc", "client", "session",
	    "events", "message", "conversation", "db", "group", "friend",
	    "blacklist", "profile", NULL };
	int	 i;

	for (i = 0; domains[i] != NULL; i++) {
		if (strcmp(w, domains[i]) == 0)
			return 1;
	}
	return 0;
}

/*
 * Where the command word is: global options (with their values) come
 * first. Returns its index, or argc.
 */
static int
command_index(int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0 ||
		    strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--account") == 0 ||
		    strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--timeout") == 0)
			i++;
		else if (argv[i][0] != '-')
			return i;
	}
	return argc;
}

static int
need(int argc, int want, const char *cmd)
{
	if (argc == want)
		return 0;
	fprintf(stderr, "imgw: %s: wrong number of arguments (see imgw --help)\n", cmd);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "before", required_argument, NULL, 'b' },
		{ "since", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*sock = NULL, *before = NULL, *id = NULL, *user = NULL, *cmd;
	struct imgw	*c;
	char		 err[512], *end;
	long		 limit = 20;
	long long	 since = -1;
	int		 ch, rc, domain_at, method_argc = 0;
	char		**method_argv = NULL, method[160] = "", acctbuf[256];

	signal(SIGPIPE, SIG_IGN);
	/* imgw [global options] DOMAIN VERB --NAME VALUE...: named arguments. */
	domain_at = command_index(argc, argv);
	if (domain_at < argc && (is_domain(argv[domain_at]) ||
	    strchr(argv[domain_at], '.') != NULL ||
	    strcmp(argv[domain_at], "batch") == 0)) {
		method_argc = argc - domain_at - 1;
		method_argv = argv + domain_at + 1;
		/* A full method name ("message.send", or "batch" which has no domain). */
		if (strchr(argv[domain_at], '.') != NULL ||
		    strcmp(argv[domain_at], "batch") == 0)
			snprintf(method, sizeof method, "%s", argv[domain_at]);
		else if (method_argc > 0 && method_argv[0][0] != '-') {
			snprintf(method, sizeof method, "%s.%s", argv[domain_at],
			    method_argv[0]);
			method_argc--;
			method_argv++;
		} else {
			fprintf(stderr, "imgw: %s: which verb? (imgw methods lists "
			    "them)\n", argv[domain_at]);
			return 2;
		}
		argc = domain_at;
	}
	while ((ch = getopt_long(argc, argv, "s:a:jt:n:b:S:i:u:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'a':
			if (imgw_account_socket(optarg, acctbuf, sizeof acctbuf) == -1) {
				fprintf(stderr, "imgw: bad account name '%s'\n", optarg);
				return 2;
			}
			sock = acctbuf;
			break;
		case 'j': json_out = 1; break;
		case 't':
			timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_ms < 0)
				goto bad;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*end != '\0' || limit < 1 || limit > 1000) {
				fprintf(stderr, "imgw: --limit takes 1 to 1000\n");
				return 2;
			}
			break;
		case 'b': before = optarg; break;
		case 'S':
			since = strtoll(optarg, &end, 10);
			if (*end != '\0' || since < 0)
				goto bad;
			break;
		case 'i': id = optarg; break;
		case 'u': user = optarg; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (method[0] != '\0') {
		if ((c = imgw_connect(sock, err, sizeof err)) == NULL) {
			fprintf(stderr, "imgw: %s\n", err);
			return 1;
		}
		rc = cmd_method(c, method, method_argc, method_argv);
		imgw_close(c);
		return rc;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		goto bad;
	cmd = argv[0];
	argc--;
	argv++;

	if ((c = imgw_connect(sock, err, sizeof err)) == NULL) {
		fprintf(stderr, "imgw: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "status") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_status(c);
	else if (strcmp(cmd, "send") == 0)
		rc = need(argc, 2, cmd) ? 2 : cmd_send(c, argv[0], argv[1], id);
	else if (strcmp(cmd, "history") == 0)
		rc = need(argc, 1, cmd) ? 2 : cmd_history(c, argv[0], limit, before);
	else if (strcmp(cmd, "revoke") == 0)
		rc = need(argc, 1, cmd) ? 2 : cmd_revoke(c, argv[0]);
	else if (strcmp(cmd, "search") == 0)
		rc = need(argc, 1, cmd) ? 2 : cmd_search(c, argv[0], user, limit);
	else if (strcmp(cmd, "conversations") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_conversations(c, limit);
	else if (strcmp(cmd, "read") == 0)
		rc = need(argc, 1, cmd) ? 2 : cmd_simple(c, cmd, "conversation.read",
		    json_pack("{s:s}", "user", argv[0]));
	else if (strcmp(cmd, "stats") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_simple(c, cmd, "db.stats",
		    json_object());
	else if (strcmp(cmd, "listen") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_listen(c, since);
	else if (strcmp(cmd, "reconnect") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_call(c, "session.reconnect", NULL);
	else if (strcmp(cmd, "logout") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_call(c, "session.logout", NULL);
	else if (strcmp(cmd, "methods") == 0)
		rc = need(argc, 0, cmd) ? 2 : cmd_methods(c);
	else if (strcmp(cmd, "call") == 0) {
		if (argc < 1 || argc > 2)
			rc = need(argc, 1, cmd) ? 2 : 0;
		else
			rc = cmd_call(c, argv[0], argc == 2 ? argv[1] : NULL);
	} else {
		fprintf(stderr, "imgw: unknown command '%s' (see imgw --help)\n", cmd);
		rc = 2;
	}
	imgw_close(c);
	return rc;
bad:
	usage(stderr);
	return 2;
}
