/*
 * broker: the STOMP logic of UPSTREAM.md: CONNECT and tokens, subscriptions,
 * receipts, handing SENDs to route.c, and delivery to online sessions
 * (messages, group topics, events, replies). Reaches the network only
 * through ws_send/ws_finish and the disk only through sstore.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "stomp.h"
#include "server.h"

#define BROKER_BUCKETS		1024	/* hash of (app, user) to sessions */
#define BROKER_MAX_SUBS		512	/* per session: a topic per group */
#define BROKER_HB_MAX		3600000	/* ms; a larger client value is capped */

/* UPSTREAM.md: the ERROR message for every token problem. */
#define BROKER_UNAUTHORIZED	"Unauthorized"

/*
 * UPSTREAM.md "Session": the im-extensions a full server advertises in
 * CONNECTED. The names of /app destinations must match route.c's table.
 */
#define BROKER_EXTENSIONS	"replies,events,seq,group,friend," \
				"conversation,blacklist,profile,chat.edit," \
				"chat.read,chat.history,sync.next"

TAILQ_HEAD(broker_bucket, session);
static struct broker_bucket	 broker_users[BROKER_BUCKETS];
static unsigned long long	 broker_msgno;	/* makes message-ids unique */
static int			 broker_hb_sx;	/* CONNECTED heart-beat, ms */
static int			 broker_hb_sy;
static int			 broker_flags;	/* BROKER_SEED_* */

/*
 * Set up the session table; sx,sy is the heart-beat CONNECTED offers (ms:
 * what we can send, what we want to receive; 0,0 is none), flags the
 * profile (BROKER_SEED_*; 0 is the full server).
 */
void
broker_open(int sx, int sy, int flags)
{
	size_t	 i;

	for (i = 0; i < BROKER_BUCKETS; i++)
		TAILQ_INIT(&broker_users[i]);
	broker_hb_sx = sx;
	broker_hb_sy = sy;
	broker_flags = flags;
}

/* The server's profile: BROKER_SEED_* flags, 0 for the full server. */
int
broker_profile(void)
{
	return broker_flags;
}

/* Tear down the session table (every session is already detached). */
void
broker_close(void)
{
}

/* The bucket of the sessions of user in app (FNV-1a). */
static struct broker_bucket *
broker_bucket(const char *app, const char *user)
{
	uint32_t	 h = 2166136261u;
	const char	*p;

	for (p = app; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &broker_users[h % BROKER_BUCKETS];
}

/* Give a new session its empty STOMP state. */
void
broker_attach(struct session *s)
{
	TAILQ_INIT(&s->subs);
	s->nsubs = 0;
	s->connected = 0;
	s->seeding = 0;
	s->seed_rid = NULL;
	deliver_init(s);
}

/* Forget a closed session: no delivery reaches it after this. */
void
broker_detach(struct session *s)
{
	struct sub	*sub;

	if (s->connected) {
		TAILQ_REMOVE(broker_bucket(s->app, s->user), s, user_entry);
		s->connected = 0;
		log_info("session %llu: user %s of app %s gone", s->id,
		    s->user, s->app);
	}
	while ((sub = TAILQ_FIRST(&s->subs)) != NULL) {
		TAILQ_REMOVE(&s->subs, sub, entry);
		free(sub->id);
		free(sub->dest);
		free(sub);
	}
	s->nsubs = 0;
	sync_clear(s);
	deliver_clear(s);
}

/* Milliseconds since the epoch. */
long long
broker_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send ERROR with a message (and the frame's receipt), then close. */
static void
broker_error(struct session *s, const struct stomp_frame *in, const char *msg)
{
	struct stomp_frame	 f;
	const char		*receipt = NULL;

	log_info("session %llu: ERROR: %s", s->id, msg);
	if (in != NULL)
		receipt = stomp_frame_get(in, "receipt");
	stomp_frame_init(&f, STOMP_ERROR);
	stomp_frame_add(&f, "message", msg);
	stomp_frame_add(&f, "content-type", "text/plain");
	if (receipt != NULL && strlen(receipt) <= HEADER_MAX)
		stomp_frame_add(&f, "receipt-id", receipt);
	f.body = msg;
	f.body_len = strlen(msg);
	ws_send(s, &f);
	ws_finish(s);
}

/* Report a protocol violation found below STOMP (bad bytes): ERROR, close. */
void
broker_fail(struct session *s, const char *why)
{
	broker_error(s, NULL, why);
}

/* The id of the session's first subscription to dest, or NULL. */
const char *
broker_sub_id(const struct session *s, const char *dest)
{
	struct sub	*sub;

	TAILQ_FOREACH(sub, &s->subs, entry) {
		if (strcmp(sub->dest, dest) == 0)
			return sub->id;
	}
	return NULL;
}

/*
 * Send body as a MESSAGE to each of the session's subscriptions to dest.
 * seq > 0 names a chat message or an event, else it is a reply carrying
 * rid. Returns the number of frames queued.
 */
int
broker_push(struct session *s, const char *dest, long long seq,
    const char *body, const char *rid)
{
	struct stomp_frame	 f;
	struct sub		*sub;
	char			 mid[64];
	int			 n = 0;

	if (s->flags & (SESSION_DEAD | SESSION_CLOSING))
		return 0;
	TAILQ_FOREACH(sub, &s->subs, entry) {
		if (strcmp(sub->dest, dest) != 0)
			continue;
		broker_msgno++;
		if (seq > 0)
			snprintf(mid, sizeof mid, "m-%lld-%llu", seq,
			    broker_msgno);
		else
			snprintf(mid, sizeof mid, "r-%llu", broker_msgno);
		stomp_frame_init(&f, STOMP_MESSAGE);
		stomp_frame_add(&f, "destination", dest);
		stomp_frame_add(&f, "subscription", sub->id);
		stomp_frame_add(&f, "message-id", mid);
		stomp_frame_add(&f, "content-type", "application/json");
		if (rid != NULL)
			stomp_frame_add(&f, "request-id", rid);
		f.body = body;
		f.body_len = strlen(body);
		if (ws_send(s, &f) == -1)
			break;
		n++;
	}
	return n;
}

/* Whether a session is connected as user of app and can be sent to. */
static int
broker_is(const struct session *s, const char *app, const char *user)
{
	return (s->flags & (SESSION_DEAD | SESSION_CLOSING)) == 0 &&
	    strcmp(s->user, user) == 0 && strcmp(s->app, app) == 0;
}

/*
 * Push a chat message to every session of user except skip; with id (not
 * NULL) each of them follows its delivery to user (deliver.c). Returns the
 * number of sessions that got it.
 */
int
broker_deliver(const char *app, const char *user, struct session *skip,
    const char *body, long long seq, const char *id)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (s == skip || !broker_is(s, app, user) ||
		    broker_push(s, DEST_MESSAGES, seq, body, NULL) == 0)
			continue;
		deliver_push(s, id, seq);
		n++;
	}
	return n;
}

/* Write the topic destination of group id into out. */
static void
broker_topic_dest(char *out, size_t size, const char *id)
{
	snprintf(out, size, "%s%s", DEST_GROUP, id);
}

/*
 * Push a group message to every session of user (a member) subscribed to
 * group id's topic; msg is as id of broker_deliver. Returns the number of
 * sessions that got it.
 */
int
broker_topic(const char *app, const char *user, const char *id,
    const char *body, long long seq, const char *msg)
{
	struct session	*s;
	char		 dest[sizeof DEST_GROUP + ID_MAX];
	int		 n = 0;

	broker_topic_dest(dest, sizeof dest, id);
	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (!broker_is(s, app, user) ||
		    broker_push(s, dest, seq, body, NULL) == 0)
			continue;
		deliver_push(s, msg, seq);
		n++;
	}
	return n;
}

/*
 * Push a group message to every session of app subscribed to group id's
 * topic whose user is not in members: on a seed-only server, where anyone
 * may subscribe. Returns the number of sessions that got it.
 */
int
broker_topic_others(const char *app, const struct idlist *members,
    const char *id, const char *body, long long seq)
{
	struct session	*s;
	char		 dest[sizeof DEST_GROUP + ID_MAX];
	size_t		 i;
	int		 n = 0;

	broker_topic_dest(dest, sizeof dest, id);
	for (i = 0; i < BROKER_BUCKETS; i++) {
		TAILQ_FOREACH(s, &broker_users[i], user_entry) {
			if (strcmp(s->app, app) != 0 ||
			    idlist_has(members, s->user))
				continue;
			if (broker_push(s, dest, seq, body, NULL) > 0)
				n++;
		}
	}
	return n;
}

/* The body of an event MESSAGE: {"type", "seq", "data"}; to free. */
char *
broker_event_text(const char *type, long long seq, const char *data)
{
	char	*text;

	if (asprintf(&text, "{\"type\":\"%s\",\"seq\":%lld,\"data\":%s}",
	    type, seq, data) == -1)
		return NULL;
	return text;
}

/*
 * Store event type with data for every user in to (one seq for all) and
 * push it on /user/queue/events to each of their sessions but skip.
 * Takes ownership of data. Returns 0, or -1 if it could not be stored.
 */
int
broker_event(const char *app, const struct idlist *to, struct session *skip,
    const char *type, json_t *data)
{
	struct session	*s;
	char		*text = NULL, *body = NULL;
	long long	 seq;
	size_t		 i;
	int		 ret = -1;

	if (data == NULL || (text = json_dumps(data, JSON_COMPACT)) == NULL) {
		log_warn("event %s: out of memory", type);
		goto out;
	}
	if (to->n == 0) {
		ret = 0;
		goto out;
	}
	/* Stored first, then pushed: a since-sync replays what was lost. */
	if (sstore_event_put(app, to, type, text, &seq) == -1) {
		log_warn("event %s: not stored", type);
		goto out;
	}
	ret = 0;
	if ((body = broker_event_text(type, seq, text)) == NULL) {
		log_warn("event %s: out of memory", type);
		goto out;
	}
	for (i = 0; i < to->n; i++) {
		TAILQ_FOREACH(s, broker_bucket(app, to->v[i]), user_entry) {
			if (s != skip && broker_is(s, app, to->v[i]))
				broker_push(s, DEST_EVENTS, seq, body, NULL);
		}
	}
	log_debug("event %s seq %lld to %zu users", type, seq, to->n);
out:
	free(body);
	free(text);
	json_decref(data);
	return ret;
}

/* broker_event for one user. Takes ownership of data. Returns 0 or -1. */
int
broker_event_user(const char *app, const char *user, struct session *skip,
    const char *type, json_t *data)
{
	struct idlist	 to;
	int		 ret = -1;

	idlist_init(&to);
	if (idlist_push(&to, user) == -1) {
		json_decref(data);
		goto out;
	}
	ret = broker_event(app, &to, skip, type, data);
out:
	idlist_clear(&to);
	return ret;
}

/*
 * Answer a SEND on /user/queue/replies if it carried a request-id; log a
 * refusal either way. Takes ownership of data (may be NULL).
 */
void
broker_reply(struct session *s, const char *rid, int code, const char *msg,
    json_t *data)
{
	json_t	*o = NULL;
	char	*text = NULL;

	if (code != 0)
		log_info("session %llu: %s refused: %d %s", s->id, s->user,
		    code, msg);
	if (rid == NULL)
		goto out;
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "code", json_integer(code)) == -1 ||
	    json_object_set_new(o, "message", json_string(msg)) == -1 ||
	    json_object_set_new(o, "data", data != NULL ? data :
	    json_null()) == -1) {
		data = NULL;
		log_warn("session %llu: out of memory for a reply", s->id);
		goto out;
	}
	data = NULL;
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL) {
		log_warn("session %llu: out of memory for a reply", s->id);
		goto out;
	}
	if (broker_push(s, DEST_REPLIES, 0, text, rid) == 0)
		log_debug("session %llu: not subscribed to %s, reply dropped",
		    s->id, DEST_REPLIES);
out:
	free(text);
	json_decref(o);
	json_decref(data);
}

/* The output queue of a session has emptied: resume a paused seed sync. */
void
broker_drained(struct session *s)
{
	if (s->connected)
		sync_resume(s);
}

/* Check the token(s) of a CONNECT; returns 0 and fills t, or -1. */
static int
broker_auth(struct session *s, const struct stomp_frame *f, struct token *t)
{
	struct token	 qt;
	const char	*auth, *cause;
	int		 have = 0;
	time_t		 now = time(NULL);

	if ((auth = stomp_frame_get(f, "Authorization")) == NULL)
		auth = stomp_frame_get(f, "authorization");
	if (auth != NULL) {
		if (strncasecmp(auth, "Bearer ", 7) != 0) {
			log_info("session %llu: unauthorized: Authorization "
			    "is not Bearer", s->id);
			return -1;
		}
		auth += 7;
		while (*auth == ' ')
			auth++;
		if (token_verify(auth, now, t, &cause) == -1) {
			log_info("session %llu: unauthorized: %s "
			    "(Authorization header)", s->id, cause);
			return -1;
		}
		have = 1;
	}
	if (s->qtoken != NULL) {
		if (token_verify(s->qtoken, now, &qt, &cause) == -1) {
			log_info("session %llu: unauthorized: %s (token "
			    "parameter)", s->id, cause);
			return -1;
		}
		/* UPSTREAM.md: both given, both valid and the same user. */
		if (have && (strcmp(qt.user, t->user) != 0 ||
		    strcmp(qt.app, t->app) != 0)) {
			log_info("session %llu: unauthorized: header and "
			    "parameter tokens name different users", s->id);
			return -1;
		}
		if (!have)
			*t = qt;
		have = 1;
	}
	if (!have) {
		log_info("session %llu: unauthorized: no token", s->id);
		return -1;
	}
	return 0;
}

/* Whether a comma-separated accept-version list offers 1.2. */
static int
broker_has_version(const char *list)
{
	const char	*p = list;
	size_t		 n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n == 3 && strncmp(p, "1.2", 3) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* One number of a heart-beat header; advances *p. Returns 0 or -1. */
static int
broker_hb_number(const char **p, int *out)
{
	char	*end;
	long	 n;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	n = strtol(*p, &end, 10);
	if (errno == ERANGE || n > BROKER_HB_MAX)
		n = BROKER_HB_MAX;
	*out = (int)n;
	*p = end;
	return 0;
}

/*
 * Parse a CONNECT heart-beat header "CX,CY" (absent: 0,0). Returns 0, or -1
 * if it is not two numbers.
 */
static int
broker_hb_parse(const char *v, int *cx, int *cy)
{
	*cx = *cy = 0;
	if (v == NULL)
		return 0;
	if (broker_hb_number(&v, cx) == -1 || *v++ != ',' ||
	    broker_hb_number(&v, cy) == -1 || *v != '\0')
		return -1;
	return 0;
}

/* CONNECT or STOMP: authenticate and answer CONNECTED. */
static const char *
broker_connect(struct session *s, const struct stomp_frame *f)
{
	struct stomp_frame	 c;
	struct token		 t;
	const char		*v;
	char			 hb[32];
	int			 cx, cy, tx = 0, rx = 0;

	v = stomp_frame_get(f, "accept-version");
	if (v == NULL || !broker_has_version(v))
		return "supported protocol versions are 1.2";
	if (broker_hb_parse(stomp_frame_get(f, "heart-beat"), &cx, &cy) == -1)
		return "heart-beat must be two numbers: cx,cy";
	if (broker_auth(s, f, &t) == -1)
		return BROKER_UNAUTHORIZED;
	snprintf(s->app, sizeof s->app, "%s", t.app);
	snprintf(s->user, sizeof s->user, "%s", t.user);
	s->connected = 1;
	TAILQ_INSERT_TAIL(broker_bucket(s->app, s->user), s, user_entry);
	ws_connected(s);
	log_info("session %llu: user %s of app %s connected", s->id, s->user,
	    s->app);

	stomp_frame_init(&c, STOMP_CONNECTED);
	stomp_frame_add(&c, "version", "1.2");
	snprintf(hb, sizeof hb, "%d,%d", broker_hb_sx, broker_hb_sy);
	stomp_frame_add(&c, "heart-beat", hb);
	/* A seed-only server says what Spring's says, and no extensions. */
	if (!(broker_flags & BROKER_SEED_ONLY))
		stomp_frame_add(&c, "server", SERVER_VERSION);
	stomp_frame_add(&c, "user-name", s->user);
	if (!(broker_flags & BROKER_SEED_ONLY))
		stomp_frame_add(&c, "im-extensions", BROKER_EXTENSIONS);
	if (ws_send(s, &c) == -1)
		return NULL;

	/*
	 * STOMP 1.2: we send every max(sx, cy) ms, and expect the client
	 * every max(cx, sy) ms, each only when both numbers are non-zero.
	 */
	if (broker_hb_sx > 0 && cy > 0)
		tx = broker_hb_sx > cy ? broker_hb_sx : cy;
	if (broker_hb_sy > 0 && cx > 0)
		rx = broker_hb_sy > cx ? broker_hb_sy : cx;
	log_debug("session %llu: heart-beat client %d,%d server %s: send every "
	    "%dms, expect every %dms", s->id, cx, cy, hb, tx, rx);
	ws_heartbeat(s, tx, rx);
	return NULL;
}

/*
 * Whether dest is one a client may subscribe to (UPSTREAM.md table). A
 * seed-only server takes any, as Spring's simple broker does.
 */
static int
broker_check_dest(const char *dest)
{
	if (broker_flags & BROKER_SEED_ONLY)
		return strlen(dest) <= HEADER_MAX;
	if (strcmp(dest, DEST_MESSAGES) == 0 ||
	    strcmp(dest, DEST_REPLIES) == 0 ||
	    strcmp(dest, DEST_EVENTS) == 0)
		return 1;
	if (strncmp(dest, DEST_GROUP, strlen(DEST_GROUP)) == 0)
		return token_check_id(dest + strlen(DEST_GROUP));
	return 0;
}

/*
 * UPSTREAM.md: a group's topic is for its members only (not on a seed-only
 * server: the simple broker checks nothing). NULL if dest is no group
 * topic or the user may subscribe, else why not.
 */
static const char *
broker_check_member(struct session *s, const char *dest)
{
	static char	 why[sizeof DEST_GROUP + ID_MAX + 64];
	struct smember	 m;
	const char	*id;
	int		 r;

	if (broker_flags & BROKER_SEED_ONLY ||
	    strncmp(dest, DEST_GROUP, strlen(DEST_GROUP)) != 0)
		return NULL;
	id = dest + strlen(DEST_GROUP);
	if ((r = sstore_group_member_get(s->app, id, s->user, &m)) == -1)
		return "database error";
	if (r == 0)
		return NULL;
	snprintf(why, sizeof why, "not a member of group %s", id);
	return why;
}

/* SUBSCRIBE: add a subscription. */
static const char *
broker_subscribe(struct session *s, const struct stomp_frame *f)
{
	const char	*id, *dest, *why;
	struct sub	*sub;

	if ((id = stomp_frame_get(f, "id")) == NULL)
		return "SUBSCRIBE without id";
	if ((dest = stomp_frame_get(f, "destination")) == NULL)
		return "SUBSCRIBE without destination";
	if (*id == '\0' || strlen(id) > HEADER_MAX)
		return "bad subscription id";
	if (!broker_check_dest(dest))
		return "cannot subscribe to that destination";
	if ((why = broker_check_member(s, dest)) != NULL)
		return why;
	TAILQ_FOREACH(sub, &s->subs, entry) {
		if (strcmp(sub->id, id) == 0)
			return "subscription id already in use";
	}
	if (s->nsubs >= BROKER_MAX_SUBS)
		return "too many subscriptions";
	if ((sub = calloc(1, sizeof *sub)) == NULL ||
	    (sub->id = strdup(id)) == NULL ||
	    (sub->dest = strdup(dest)) == NULL) {
		if (sub != NULL)
			free(sub->id);
		free(sub);
		return "out of memory";
	}
	TAILQ_INSERT_TAIL(&s->subs, sub, entry);
	s->nsubs++;
	log_debug("session %llu: subscribed %s as %s", s->id, dest, id);
	return NULL;
}

/* UNSUBSCRIBE: drop a subscription (an unknown id is not an error). */
static const char *
broker_unsubscribe(struct session *s, const struct stomp_frame *f)
{
	const char	*id;
	struct sub	*sub;

	if ((id = stomp_frame_get(f, "id")) == NULL)
		return "UNSUBSCRIBE without id";
	TAILQ_FOREACH(sub, &s->subs, entry) {
		if (strcmp(sub->id, id) == 0)
			break;
	}
	if (sub == NULL)
		return NULL;
	TAILQ_REMOVE(&s->subs, sub, entry);
	s->nsubs--;
	free(sub->id);
	free(sub->dest);
	free(sub);
	return NULL;
}

/*
 * Send RECEIPT if the frame asked for one. A seed-only server answers only
 * DISCONNECT's, as Spring's simple broker does, unless BROKER_SEED_RECEIPTS.
 */
static void
broker_receipt(struct session *s, const struct stomp_frame *in)
{
	struct stomp_frame	 f;
	const char		*receipt;

	if ((receipt = stomp_frame_get(in, "receipt")) == NULL)
		return;
	if ((broker_flags & (BROKER_SEED_ONLY | BROKER_SEED_RECEIPTS)) ==
	    BROKER_SEED_ONLY && in->command != STOMP_DISCONNECT) {
		log_debug("session %llu: no RECEIPT for %s (seed-only)", s->id,
		    stomp_command_name(in->command));
		return;
	}
	stomp_frame_init(&f, STOMP_RECEIPT);
	stomp_frame_add(&f, "receipt-id", receipt);
	ws_send(s, &f);
}

/*
 * Handle one decoded frame from the client. A protocol violation is
 * answered with ERROR and the session closes (ws_finish).
 */
void
broker_frame(struct session *s, const struct stomp_frame *f)
{
	const char	*why = NULL, *v;

	if (s->flags & (SESSION_DEAD | SESSION_CLOSING))
		return;
	if (f->command == STOMP_HEARTBEAT)
		return;
	if (!s->connected) {
		if (f->command == STOMP_CONNECT || f->command == STOMP_STOMP)
			why = broker_connect(s, f);
		else
			why = "expected CONNECT";
		if (why != NULL)
			broker_error(s, f, why);
		return;
	}
	switch (f->command) {
	case STOMP_CONNECT:
	case STOMP_STOMP:
		why = "already connected";
		break;
	case STOMP_SEND:
		why = route_send(s, f);
		break;
	case STOMP_SUBSCRIBE:
		why = broker_subscribe(s, f);
		break;
	case STOMP_UNSUBSCRIBE:
		why = broker_unsubscribe(s, f);
		break;
	case STOMP_ACK:
	case STOMP_NACK:
		/* Every subscription is ack:auto; nothing to do. */
		break;
	case STOMP_BEGIN:
	case STOMP_COMMIT:
	case STOMP_ABORT:
		why = "transactions are not supported";
		break;
	case STOMP_DISCONNECT:
		if ((v = stomp_frame_get(f, "receipt")) != NULL)
			log_debug("session %llu: DISCONNECT with receipt %.*s",
			    s->id, HEADER_MAX, v);
		else
			log_debug("session %llu: DISCONNECT without receipt",
			    s->id);
		broker_receipt(s, f);
		ws_finish(s);
		return;
	default:
		why = "unexpected command from a client";
		break;
	}
	if (why != NULL) {
		broker_error(s, f, why);
		return;
	}
	broker_receipt(s, f);
}
