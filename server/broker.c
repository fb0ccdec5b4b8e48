/*
 * broker: the STOMP logic of UPSTREAM.md: CONNECT and tokens, subscriptions,
 * routing the /app destinations to their handlers, delivery to online
 * sessions (messages, group topics, events) and sync. Reaches the network
 * only through ws_send/ws_finish and the disk only through sstore.
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
#define BROKER_HDR_MAX		256	/* ids, request-id, receipt */
#define BROKER_SYNC_LIMIT	500	/* UPSTREAM.md: default limit */
#define BROKER_SYNC_MAX		1000	/* UPSTREAM.md: largest limit */
#define BROKER_SEED_BATCH	100	/* rows per query of a seed sync */
#define BROKER_HB_MAX		3600000	/* ms; a larger client value is capped */

#define DEST_MESSAGES		"/user/queue/messages"
#define DEST_REPLIES		"/user/queue/replies"
#define DEST_EVENTS		"/user/queue/events"
#define DEST_GROUP		"/topic/group/"

/* UPSTREAM.md: the ERROR message for every token problem. */
#define BROKER_UNAUTHORIZED	"Unauthorized"

TAILQ_HEAD(broker_bucket, session);
static struct broker_bucket	 broker_users[BROKER_BUCKETS];
static unsigned long long	 broker_msgno;	/* makes message-ids unique */
static int			 broker_hb_sx;	/* CONNECTED heart-beat, ms */
static int			 broker_hb_sy;

/* What a sync is collecting while it pushes rows. */
struct broker_sync {
	struct session	*s;
	int		 limit;		/* rows to push at most */
	int		 count;		/* rows pushed */
	long long	 seq;		/* highest seq pushed */
	int		 full;		/* a row beyond limit exists */
	int		 paused;	/* stopped by the output queue */
	int		 failed;	/* the session went away */
	char		**ids;		/* rows to mark delivered */
	size_t		 nids;
	int		 events;	/* push events too (since-sync) */
};

/*
 * Set up the session table; sx,sy is the heart-beat CONNECTED offers (ms:
 * what we can send, what we want to receive; 0,0 is none).
 */
void
broker_open(int sx, int sy)
{
	size_t	 i;

	for (i = 0; i < BROKER_BUCKETS; i++)
		TAILQ_INIT(&broker_users[i]);
	broker_hb_sx = sx;
	broker_hb_sy = sy;
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
	free(s->seed_rid);
	s->seed_rid = NULL;
	s->seeding = 0;
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
	if (receipt != NULL && strlen(receipt) <= BROKER_HDR_MAX)
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
static const char *
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
static int
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

/* How many of user's sessions are subscribed to their messages. */
int
broker_online(const char *app, const char *user)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (broker_is(s, app, user) &&
		    broker_sub_id(s, DEST_MESSAGES) != NULL)
			n++;
	}
	return n;
}

/*
 * Push a chat message to every session of user except skip. Returns the
 * number of sessions that got it.
 */
int
broker_deliver(const char *app, const char *user, struct session *skip,
    const char *body, long long seq)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (s == skip || !broker_is(s, app, user))
			continue;
		if (broker_push(s, DEST_MESSAGES, seq, body, NULL) > 0)
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

/* Whether a session of user is subscribed to group id's topic. */
int
broker_topic_online(const char *app, const char *user, const char *id)
{
	struct session	*s;
	char		 dest[sizeof DEST_GROUP + ID_MAX];

	broker_topic_dest(dest, sizeof dest, id);
	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (broker_is(s, app, user) && broker_sub_id(s, dest) != NULL)
			return 1;
	}
	return 0;
}

/*
 * Push a group message to every session of user (a member) subscribed to
 * group id's topic. Returns the number of sessions that got it.
 */
int
broker_topic(const char *app, const char *user, const char *id,
    const char *body, long long seq)
{
	struct session	*s;
	char		 dest[sizeof DEST_GROUP + ID_MAX];
	int		 n = 0;

	broker_topic_dest(dest, sizeof dest, id);
	TAILQ_FOREACH(s, broker_bucket(app, user), user_entry) {
		if (broker_is(s, app, user) &&
		    broker_push(s, dest, seq, body, NULL) > 0)
			n++;
	}
	return n;
}

/* The body of an event MESSAGE: {"type", "seq", "data"}; to free. */
static char *
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

/*
 * Push one synced row, a message or an event, to the requesting session;
 * see struct broker_sync.
 */
static int
broker_sync_row(const struct smsg *m, const struct sevent *e, void *arg)
{
	struct broker_sync	*sy = arg;
	struct session		*s = sy->s;
	const char		*dest = DEST_MESSAGES;
	char			*text;
	long long		 seq;

	if (sy->count >= sy->limit) {
		sy->full = 1;
		return 1;
	}
	/* Keep the output queue bounded; always let one row through. */
	if (sy->count > 0 && ws_queued(s) >= WS_OUT_PACE) {
		sy->paused = 1;
		return 1;
	}
	if (m != NULL) {
		text = chat_msg_text(m);
		seq = m->seq;
	} else {
		text = broker_event_text(e->type, e->seq, e->data);
		seq = e->seq;
		dest = DEST_EVENTS;
	}
	if (text == NULL) {
		sy->paused = 1;
		return 1;
	}
	if (broker_push(s, dest, seq, text, NULL) == 0) {
		free(text);
		sy->failed = 1;
		return 1;
	}
	free(text);
	sy->count++;
	sy->seq = seq;
	/* Only a recipient has a delivery state: of a group, every member. */
	if (m != NULL && (strcmp(m->to, s->user) == 0 ||
	    strcmp(m->chat_type, "GROUP") == 0) &&
	    (sy->ids[sy->nids] = strdup(m->id)) != NULL)
		sy->nids++;
	return 0;
}

/* Prepare a sync of at most limit rows. */
static int
broker_sync_init(struct broker_sync *sy, struct session *s, int limit)
{
	memset(sy, 0, sizeof *sy);
	sy->s = s;
	sy->limit = limit;
	if ((sy->ids = calloc((size_t)limit, sizeof *sy->ids)) == NULL)
		return -1;
	return 0;
}

/* Record the rows a sync pushed as delivered, and free its state. */
static void
broker_sync_done(struct broker_sync *sy)
{
	size_t	 i;

	if (sy->nids > 0 && sstore_mark_delivered(sy->s->app, sy->s->user,
	    sy->ids, sy->nids) == -1)
		log_warn("session %llu: cannot record %zu deliveries",
		    sy->s->id, sy->nids);
	for (i = 0; i < sy->nids; i++)
		free(sy->ids[i]);
	free(sy->ids);
	sy->ids = NULL;
	sy->nids = 0;
}

/* Build the sync reply data {count, seq, more}. */
static json_t *
broker_sync_data(long long count, long long seq, int more)
{
	return json_pack("{s:I, s:I, s:b}", "count", (json_int_t)count,
	    "seq", (json_int_t)seq, "more", more);
}

/* End a seed sync: answer, forget its state. */
static void
broker_seed_end(struct session *s, int code, const char *msg)
{
	json_t	*data = NULL;
	char	*rid = s->seed_rid;

	s->seed_rid = NULL;
	s->seeding = 0;
	if (code == 0)
		data = broker_sync_data(s->seed_count, s->seed_seq, 0);
	log_debug("session %llu: seed sync pushed %u", s->id, s->seed_count);
	broker_reply(s, rid, code, msg, data);
	free(rid);
}

/*
 * Go on with a seed sync: push undelivered rows until none is left or the
 * output queue is full; broker_drained calls again once it has emptied.
 */
static void
broker_seed_step(struct session *s)
{
	struct broker_sync	 sy;
	int			 n;

	while (s->seeding) {
		if (s->flags & (SESSION_DEAD | SESSION_CLOSING))
			return;
		if (broker_sub_id(s, DEST_MESSAGES) == NULL) {
			broker_seed_end(s, 409, "unsubscribed from " DEST_MESSAGES
			    " during sync");
			return;
		}
		if (broker_sync_init(&sy, s, BROKER_SEED_BATCH) == -1) {
			broker_seed_end(s, 500, "out of memory");
			return;
		}
		n = sstore_pending(s->app, s->user, s->seed_seq,
		    BROKER_SEED_BATCH, broker_sync_row, &sy);
		broker_sync_done(&sy);
		s->seed_count += (unsigned int)sy.count;
		if (sy.count > 0)
			s->seed_seq = sy.seq;
		if (n == -1) {
			broker_seed_end(s, 500, "database error");
			return;
		}
		if (sy.failed || sy.paused)
			return;
		if (n < BROKER_SEED_BATCH) {
			broker_seed_end(s, 0, "ok");
			return;
		}
	}
}

/* The output queue of a session has emptied: resume a paused seed sync. */
void
broker_drained(struct session *s)
{
	if (s->seeding && s->connected)
		broker_seed_step(s);
}

/*
 * /app/chat.sync: push what the user missed (seed) or what changed (ext):
 * messages, and events when the session is subscribed to them.
 */
static void
broker_chat_sync(struct req *r)
{
	struct broker_sync	 sy;
	struct session		*s = r->s;
	const char		*rid = r->rid;
	json_t			*body = r->body;
	json_t			*since, *limit, *data;
	long long		 from;
	int			 n, max = BROKER_SYNC_LIMIT;

	if (broker_sub_id(s, DEST_MESSAGES) == NULL) {
		broker_reply(s, rid, 400, "not subscribed to " DEST_MESSAGES,
		    NULL);
		return;
	}
	since = json_object_get(body, "since");
	if (since == NULL || json_is_null(since)) {
		if (s->seeding) {
			broker_reply(s, rid, 409, "a sync is already under way",
			    NULL);
			return;
		}
		s->seeding = 1;
		s->seed_seq = 0;
		s->seed_count = 0;
		s->seed_rid = rid != NULL ? strdup(rid) : NULL;
		broker_seed_step(s);
		return;
	}
	if (!json_is_integer(since) || json_integer_value(since) < 0) {
		broker_reply(s, rid, 400, "since must be an integer >= 0",
		    NULL);
		return;
	}
	from = json_integer_value(since);
	limit = json_object_get(body, "limit");
	if (limit != NULL && !json_is_null(limit)) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1) {
			broker_reply(s, rid, 400, "limit must be an integer "
			    ">= 1", NULL);
			return;
		}
		if (json_integer_value(limit) < BROKER_SYNC_MAX)
			max = (int)json_integer_value(limit);
		else
			max = BROKER_SYNC_MAX;
	}
	if (broker_sync_init(&sy, s, max) == -1) {
		broker_reply(s, rid, 500, "out of memory", NULL);
		return;
	}
	/* UPSTREAM.md: missed events come interleaved, in seq order. */
	sy.events = broker_sub_id(s, DEST_EVENTS) != NULL;
	/* One row more than asked tells whether there is more. */
	n = sstore_since(s->app, s->user, from, max + 1, sy.events,
	    broker_sync_row, &sy);
	broker_sync_done(&sy);
	if (n == -1) {
		broker_reply(s, rid, 500, "database error", NULL);
		return;
	}
	if (sy.failed)
		return;
	data = broker_sync_data(sy.count, sy.count > 0 ? sy.seq : from,
	    sy.full || sy.paused);
	log_debug("session %llu: sync since %lld pushed %d", s->id, from,
	    sy.count);
	broker_reply(s, rid, 0, "ok", data);
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
	stomp_frame_add(&c, "server", SERVER_VERSION);
	stomp_frame_add(&c, "user-name", s->user);
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

/* Whether dest is one a client may subscribe to (UPSTREAM.md table). */
static int
broker_check_dest(const char *dest)
{
	if (strcmp(dest, DEST_MESSAGES) == 0 ||
	    strcmp(dest, DEST_REPLIES) == 0 ||
	    strcmp(dest, DEST_EVENTS) == 0)
		return 1;
	if (strncmp(dest, DEST_GROUP, strlen(DEST_GROUP)) == 0)
		return token_check_id(dest + strlen(DEST_GROUP));
	return 0;
}

/*
 * UPSTREAM.md: a group's topic is for its members only. NULL if dest is no
 * group topic or the user is a member, else why not.
 */
static const char *
broker_check_member(struct session *s, const char *dest)
{
	static char	 why[sizeof DEST_GROUP + ID_MAX + 64];
	struct smember	 m;
	const char	*id;
	int		 r;

	if (strncmp(dest, DEST_GROUP, strlen(DEST_GROUP)) != 0)
		return NULL;
	id = dest + strlen(DEST_GROUP);
	if ((r = sstore_member_get(s->app, id, s->user, &m)) == -1)
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
	if (*id == '\0' || strlen(id) > BROKER_HDR_MAX)
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

/* UPSTREAM.md: every /app destination and its handler. */
static const struct broker_route {
	const char	*dest;
	void		(*fn)(struct req *);
} broker_routes[] = {
	{ "/app/chat.send", chat_send },
	{ "/app/chat.revoke", chat_revoke },
	{ "/app/chat.sync", broker_chat_sync },
	{ "/app/chat.edit", chat_edit },
	{ "/app/chat.read", chat_read },
	{ "/app/chat.history", chat_history },
	{ "/app/group.create", group_create },
	{ "/app/group.dismiss", group_dismiss },
	{ "/app/group.update", group_update },
	{ "/app/group.list", group_list },
	{ "/app/group.info", group_info },
	{ "/app/group.members", group_members },
	{ "/app/group.join", group_join },
	{ "/app/group.quit", group_quit },
	{ "/app/group.invite", group_invite },
	{ "/app/group.kick", group_kick },
	{ "/app/group.requests", group_requests },
	{ "/app/group.approve", group_approve },
	{ "/app/group.role", group_role },
	{ "/app/group.transfer", group_transfer },
	{ "/app/group.mute", group_mute },
	{ "/app/group.muteAll", group_mute_all },
	{ "/app/friend.request", friend_request },
	{ "/app/friend.respond", friend_respond },
	{ "/app/friend.requests", friend_requests },
	{ "/app/friend.delete", friend_delete },
	{ "/app/friend.list", friend_list },
	{ "/app/friend.check", friend_check },
	{ "/app/friend.remark", friend_remark },
	{ "/app/friend.group.create", friend_group_create },
	{ "/app/friend.group.delete", friend_group_delete },
	{ "/app/friend.group.rename", friend_group_rename },
	{ "/app/friend.group.add", friend_group_add },
	{ "/app/friend.group.remove", friend_group_remove },
	{ "/app/friend.group.list", friend_group_list },
	{ "/app/conversation.set", social_conv_set },
	{ "/app/conversation.list", social_conv_list },
	{ "/app/blacklist.add", social_block },
	{ "/app/blacklist.remove", social_unblock },
	{ "/app/blacklist.list", social_blacklist },
	{ "/app/profile.get", social_profile_get },
	{ "/app/profile.set", social_profile_set },
};

/* SEND: one of the /app destinations. */
static const char *
broker_send(struct session *s, const struct stomp_frame *f)
{
	const struct broker_route	*route = NULL;
	struct req			 r;
	const char			*dest, *rid;
	json_t				*body, *app;
	json_error_t			 jerr;
	size_t				 i;

	if ((dest = stomp_frame_get(f, "destination")) == NULL)
		return "SEND without destination";
	rid = stomp_frame_get(f, "request-id");
	if (rid != NULL && strlen(rid) > BROKER_HDR_MAX)
		return "request-id too long";
	for (i = 0; i < sizeof broker_routes / sizeof broker_routes[0]; i++) {
		if (strcmp(dest, broker_routes[i].dest) == 0) {
			route = &broker_routes[i];
			break;
		}
	}
	if (route == NULL) {
		broker_reply(s, rid, 404, "no such destination", NULL);
		return NULL;
	}
	body = json_loadb(f->body, f->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return "body is not a JSON object";
	}
	app = json_object_get(body, "appId");
	if (app == NULL || !json_is_string(app))
		broker_reply(s, rid, 400, "appId missing", NULL);
	else if (strcmp(json_string_value(app), s->app) != 0)
		broker_reply(s, rid, 403, "appId does not match the token",
		    NULL);
	else {
		r.s = s;
		r.rid = rid;
		r.body = body;
		r.app = s->app;
		r.user = s->user;
		route->fn(&r);
	}
	json_decref(body);
	return NULL;
}

/* Send RECEIPT if the frame asked for one. */
static void
broker_receipt(struct session *s, const struct stomp_frame *in)
{
	struct stomp_frame	 f;
	const char		*receipt;

	if ((receipt = stomp_frame_get(in, "receipt")) == NULL)
		return;
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
		why = broker_send(s, f);
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
			    s->id, BROKER_HDR_MAX, v);
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
