/*
 * caps: what the upstream server offers beyond the vendor's protocol (the
 * seed). Learnt from the im-extensions header of CONNECTED (UPSTREAM.md), or
 * forced by --server-profile; never by waiting for an answer that a seed-only
 * server would not give. Knows names, not frames or SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

#define CAPS_MAX	32
#define CAPS_NAME_MAX	32

/* What imserver offers: the profile --server-profile extended assumes. */
static const char caps_extended[] = "replies,events,seq,group,friend,"
    "conversation,blacklist,profile,chat.edit,chat.read,chat.history,"
    "sync.next";

static struct {
	int	 known;			/* a CONNECTED (or the profile) said */
	int	 n;
	char	 names[CAPS_MAX][CAPS_NAME_MAX];
} caps;

/* Replace the set with the names of a comma-separated list. */
static void
caps_parse(const char *list)
{
	const char	*p = list, *end;
	size_t		 len;

	caps.n = 0;
	caps.known = 1;
	while (p != NULL && *p != '\0' && caps.n < CAPS_MAX) {
		p += strspn(p, " ,");
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		/* Names we do not know are kept (status shows them), but bounded. */
		if (len > 0 && len < CAPS_NAME_MAX)
			snprintf(caps.names[caps.n++], CAPS_NAME_MAX, "%.*s",
			    (int)len, p);
		p = end;
	}
}

/*
 * Start with what the last connection said (saved, may be NULL) unless a
 * profile is forced.
 */
void
caps_init(const char *saved)
{
	if (cfg.server_profile != NULL)
		caps_parse(strcmp(cfg.server_profile, "seed") == 0 ? "" :
		    caps_extended);
	else if (saved != NULL)
		caps_parse(saved);
}

/*
 * CONNECTED arrived with this im-extensions header (NULL: none, a seed-only
 * server). Returns the set as a list to persist (static).
 */
const char *
caps_connected(const char *header)
{
	static char	 out[CAPS_MAX * CAPS_NAME_MAX];
	size_t		 off = 0;
	int		 i;

	if (cfg.server_profile == NULL)
		caps_parse(header != NULL ? header : "");
	out[0] = '\0';
	for (i = 0; i < caps.n; i++)
		off += (size_t)snprintf(out + off, sizeof out - off, "%s%s",
		    i > 0 ? "," : "", caps.names[i]);
	log_info("server profile %s%s%s", caps_profile(), caps.n > 0 ? ": " : "",
	    out);
	return out;
}

/* Whether the server is known to offer capability name. */
int
caps_has(const char *name)
{
	int	 i;

	for (i = 0; i < caps.n; i++) {
		if (strcmp(caps.names[i], name) == 0)
			return 1;
	}
	return 0;
}

/* Whether we know what the server offers (it connected once, or forced). */
int
caps_known(void)
{
	return caps.known;
}

/*
 * The capability an /app destination needs, in need (at least
 * CAPS_NAME_MAX), or "" when the seed has it. /app/N is served by N itself
 * (chat.edit) or by the part of N before its first dot (group.create: group).
 */
static void
caps_need(const char *dest, char *need)
{
	const char	*n = dest, *dot;

	if (strncmp(n, "/app/", 5) == 0)
		n += 5;
	if (strcmp(n, "chat.send") == 0 || strcmp(n, "chat.revoke") == 0 ||
	    strcmp(n, "chat.sync") == 0) {
		*need = '\0';
		return;
	}
	if (strncmp(n, "chat.", 5) == 0 || (dot = strchr(n, '.')) == NULL)
		dot = n + strlen(n);
	snprintf(need, CAPS_NAME_MAX, "%.*s", (int)(dot - n), n);
}

/*
 * Whether the server serves an /app destination. Unknown (never connected)
 * counts as served: the caller finds out online, or says offline.
 */
int
caps_serves(const char *dest)
{
	char	 need[CAPS_NAME_MAX];

	caps_need(dest, need);
	return !caps.known || *need == '\0' || caps_has(need);
}

/* The capability dest lacks ("" if none), for error messages. */
const char *
caps_missing(const char *dest)
{
	static char	 need[CAPS_NAME_MAX];

	if (caps_serves(dest))
		return "";
	caps_need(dest, need);
	return need;
}

/* "extended" (replies, at least), "seed" (none), or "unknown". */
const char *
caps_profile(void)
{
	if (!caps.known)
		return "unknown";
	return caps_has("replies") ? "extended" : "seed";
}

/* The capabilities as a JSON array of names (a new reference). */
json_t *
caps_list(void)
{
	json_t	*a = json_array();
	int	 i;

	for (i = 0; i < caps.n; i++)
		json_array_append_new(a, json_string(caps.names[i]));
	return a;
}
