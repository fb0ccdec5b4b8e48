/*
 * pending: the one table of SENDs waiting for proof that the server read
 * them (RPC.md, "What SENT proves"): with replies, the answer to their
 * request-id; without, their RECEIPT, the pong of a ping written after
 * them, or the echo of the message they carried. Used by the outbox,
 * forwarded calls, the sync and revokes alike. Writes through session.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "stomp.h"

#define PENDING_TIMEOUT	30.0	/* seconds an upstream request may take */
#define PENDING_BUCKETS	1024	/* of the index by id (a power of two) */

/* A SEND waiting for its proof. */
struct pending {
	char			 id[136];	/* request-id, receipt, message id */
	uint64_t		 barrier;	/* the ping proving it; 0: none */
	ev_tstamp		 deadline;
	pending_cb		*cb;
	void			*arg;
	TAILQ_ENTRY(pending)	 entry;		/* in the table, oldest first */
	LIST_ENTRY(pending)	 bucket;	/* in the index by id */
};

static struct {
	TAILQ_HEAD(, pending)	 list;
	LIST_HEAD(, pending)	 index[PENDING_BUCKETS];
	ev_timer		 timer;
	unsigned		 next_id;
	int			 init;
} pd;

static void	pending_timer_cb(struct ev_loop *, ev_timer *, int);

/* Set up the table on first use. */
static void
pending_init(void)
{
	size_t	 i;

	if (pd.init)
		return;
	pd.init = 1;
	TAILQ_INIT(&pd.list);
	for (i = 0; i < PENDING_BUCKETS; i++)
		LIST_INIT(&pd.index[i]);
	ev_timer_init(&pd.timer, pending_timer_cb, 1.0, 1.0);
}

/* The index bucket of an id (FNV-1a). */
static unsigned
pending_bucket(const char *id)
{
	uint32_t	 h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h & (PENDING_BUCKETS - 1);
}

/* Add a SEND to the table and the index. */
static void
pending_link(struct pending *p)
{
	TAILQ_INSERT_TAIL(&pd.list, p, entry);
	LIST_INSERT_HEAD(&pd.index[pending_bucket(p->id)], p, bucket);
}

/* Take a SEND out of the table and the index. */
static void
pending_unlink(struct pending *p)
{
	TAILQ_REMOVE(&pd.list, p, entry);
	LIST_REMOVE(p, bucket);
}

/* Find a pending SEND (many may wait: the outbox asks for every send). */
static struct pending *
pending_find(const char *id)
{
	struct pending	*p;

	if (!pd.init)
		return NULL;
	LIST_FOREACH(p, &pd.index[pending_bucket(id)], bucket) {
		if (strcmp(p->id, id) == 0)
			return p;
	}
	return NULL;
}

/* Find and unlink a pending SEND. */
static struct pending *
pending_take(const char *id)
{
	struct pending	*p;

	if ((p = pending_find(id)) != NULL)
		pending_unlink(p);
	return p;
}

/* Whether a SEND named id waits for its proof on this connection. */
int
pending_has(const char *id)
{
	return pending_find(id) != NULL;
}

/* Complete a pending request. */
static void
pending_complete(struct pending *p, int code, const char *message, json_t *data)
{
	p->cb(p->arg, code, message, data);
	free(p);
	if (TAILQ_EMPTY(&pd.list))
		ev_timer_stop(loop, &pd.timer);
}

/* A reply on /user/queue/replies (inbound.c): complete its request. */
void
pending_reply(const struct stomp_frame *f)
{
	const char	*rid = stomp_frame_get(f, "request-id");
	json_t		*body, *data;
	const char	*message;
	struct pending	*p;
	int		 code;

	if (rid == NULL)
		return;
	if (pending_find(rid) == NULL) {
		log_limited(LOG_WARN, "reply-unknown", "ignoring a reply to a "
		    "request never made (request-id %.64s)", rid);
		return;
	}
	body = json_loadb(f->body, f->body_len, 0, NULL);
	if (!json_is_object(body) || !json_is_integer(json_object_get(body, "code"))) {
		log_limited(LOG_WARN, "reply-malformed", "malformed reply to %.64s",
		    rid);
		code = 500;
		message = "malformed reply from server";
		data = NULL;
	} else {
		code = (int)json_integer_value(json_object_get(body, "code"));
		message = json_string_value(json_object_get(body, "message"));
		if (message == NULL)
			message = code == 0 ? "ok" : "refused";
		data = json_object_get(body, "data");
	}
	if ((p = pending_take(rid)) != NULL)
		pending_complete(p, code, message, data);
	json_decref(body);
}

/* Expire requests the server never answered. */
static void
pending_timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct pending	*p, *next;
	ev_tstamp	 now = ev_now(l);

	for (p = TAILQ_FIRST(&pd.list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->deadline <= now) {
			pending_unlink(p);
			pending_complete(p, -1, "the server did not answer", NULL);
		}
	}
}

/*
 * Send text (a JSON body) to dest and wait for the proof that the server
 * read it: with replies, its answer (request-id); without, its RECEIPT
 * (receipt), the pong of a ping written after it, or pending_settle(id),
 * whichever comes first. id names it (NULL: a fresh request id, which has
 * a character no message id has). cb runs once: code 0 with the answer's
 * data (NULL without replies), the server's refusal code, or -1 when the
 * connection is lost or nothing came in PENDING_TIMEOUT. Returns 0, or -1
 * when not up or on a write error (cb is not called).
 */
int
pending_post(const char *dest, const char *id, const char *text,
    pending_cb *cb, void *arg)
{
	struct pending	*p;
	int		 replies = caps_has("replies");

	if (!session_is_up())
		return -1;
	pending_init();
	if ((p = calloc(1, sizeof *p)) == NULL)
		fatalx("out of memory");
	if (id != NULL)
		snprintf(p->id, sizeof p->id, "%s", id);
	else
		snprintf(p->id, sizeof p->id, "~r%u", ++pd.next_id);
	p->deadline = ev_now(loop) + PENDING_TIMEOUT;
	p->cb = cb;
	p->arg = arg;
	if (session_send(dest, text, replies ? p->id : NULL,
	    replies ? NULL : p->id) == -1) {
		free(p);
		return -1;
	}
	if (!replies)
		p->barrier = upstream_barrier();
	pending_link(p);
	if (!ev_is_active(&pd.timer)) {
		ev_timer_set(&pd.timer, 1.0, 1.0);
		ev_timer_start(loop, &pd.timer);
	}
	return 0;
}

/*
 * Send body (ownership taken) to dest, with the tenant's appId first as the
 * seed writes it; see pending_post. Returns 0, or -1 when offline (cb is not
 * called).
 */
int
pending_request(const char *dest, json_t *body, pending_cb *cb, void *arg)
{
	json_t	*full;
	char	*text;
	int	 rc;

	if (body == NULL || !session_is_up()) {
		json_decref(body);
		return -1;
	}
	full = json_pack("{s:s}", "appId", cfg.app_id);
	json_object_del(body, "appId");
	if (full == NULL || json_object_update(full, body) == -1 ||
	    (text = json_dumps(full, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	json_decref(body);
	json_decref(full);
	rc = pending_post(dest, NULL, text, cb, arg);
	free(text);
	return rc;
}

/*
 * The server has read the SEND named id (its RECEIPT, or our own message
 * echoed back): complete it with data (may be NULL). Late proofs find
 * nothing and change nothing.
 */
void
pending_settle(const char *id, json_t *data)
{
	struct pending	*p;

	if ((p = pending_take(id)) != NULL)
		pending_complete(p, 0, "ok", data);
}

/* The pong of ping n came back: everything written before it was read. */
void
pending_pong(uint64_t n)
{
	TAILQ_HEAD(, pending)	 done = TAILQ_HEAD_INITIALIZER(done);
	struct pending		*p, *next;

	/* Unlink first: a callback may queue new requests. */
	for (p = TAILQ_FIRST(&pd.list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->barrier != 0 && p->barrier <= n) {
			pending_unlink(p);
			TAILQ_INSERT_TAIL(&done, p, entry);
		}
	}
	while ((p = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, p, entry);
		pending_complete(p, 0, "ok", NULL);
	}
}

/*
 * The connection is gone: everything waiting fails with -1. Unlinked first,
 * so a callback that posts again (it cannot while offline) could not loop.
 */
void
pending_lost(void)
{
	TAILQ_HEAD(, pending)	 gone = TAILQ_HEAD_INITIALIZER(gone);
	struct pending		*p;

	pending_init();
	while ((p = TAILQ_FIRST(&pd.list)) != NULL) {
		pending_unlink(p);
		TAILQ_INSERT_TAIL(&gone, p, entry);
	}
	while ((p = TAILQ_FIRST(&gone)) != NULL) {
		TAILQ_REMOVE(&gone, p, entry);
		pending_complete(p, -1, "connection to the server lost", NULL);
	}
}
