/*
 * chat: the chat.* destinations but sync (UPSTREAM.md "Messages"): send
 * (one-to-one and group), revoke, edit, read and history, and the chat
 * message object. Delivers through broker.c, stores through sstore.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"

#define CHAT_REVOKE_WINDOW	120	/* s, UPSTREAM.md default */
#define CHAT_HISTORY_LIMIT	50	/* messages per page by default */
#define CHAT_HISTORY_MAX	100	/* UPSTREAM.md: limit <= 100 */

static long long	 chat_revoke_ms = CHAT_REVOKE_WINDOW * 1000LL;

static const char *const chat_msg_types[] = {
	"TEXT", "IMAGE", "FILE", "AUDIO", "VIDEO", "LOCATION", "CUSTOM", NULL
};
static const char *const chat_chat_types[] = { "SINGLE", "GROUP", NULL };

/*
 * Set the revoke window: a sender may revoke for this many seconds after
 * sending (0: at any time).
 */
void
chat_config(long long revoke_window)
{
	chat_revoke_ms = revoke_window * 1000;
}

/* Set key of o to the JSON in text, if text holds valid JSON. */
static int
chat_set_json(json_t *o, const char *key, const char *text)
{
	json_t	*v;

	if (text == NULL)
		return 0;
	if ((v = json_loads(text, 0, NULL)) == NULL)
		return 0;
	return json_object_set_new(o, key, v);
}

/*
 * The chat message object of UPSTREAM.md, or NULL if memory ran out. A
 * seed-only server gives the seed's eight fields, in the seed's order.
 */
json_t *
chat_msg_json(const struct smsg *m)
{
	json_t	*o;

	if ((o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
	    "id", m->id, "fromId", m->from, "toId", m->to, "chatType",
	    m->chat_type, "msgType", m->msg_type, "content", m->content,
	    "status", m->status, "createdAt", (json_int_t)m->created_at)) ==
	    NULL)
		return NULL;
	if (broker_profile() & BROKER_SEED_ONLY)
		return o;
	if (json_object_set_new(o, "seq", json_integer(m->seq)) == -1) {
		json_decref(o);
		return NULL;
	}
	/* UPSTREAM.md: the optional fields only when present. */
	if (chat_set_json(o, "payload", m->payload) == -1 ||
	    chat_set_json(o, "mentions", m->mentions) == -1 ||
	    (m->reply_to[0] != '\0' && json_object_set_new(o, "replyTo",
	    json_string(m->reply_to)) == -1) ||
	    (m->edited_at != 0 && json_object_set_new(o, "editedAt",
	    json_integer(m->edited_at)) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The chat message object as compact JSON text (to free), or NULL. */
char *
chat_msg_text(const struct smsg *m)
{
	json_t	*o;
	char	*text;

	if ((o = chat_msg_json(m)) == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Answer with the message object as data. */
static void
chat_reply_msg(struct req *r, const struct smsg *m)
{
	json_t	*data;

	if ((data = chat_msg_json(m)) == NULL) {
		req_fail(r, 500, "out of memory");
		return;
	}
	req_ok(r, data);
}

/*
 * Check that the user is a member of group id and fill m, and g if not NULL
 * (clear it after). Returns 0, or -1 with the request answered (404 no such
 * group, 403 not a member).
 */
static int
chat_member(struct req *r, const char *id, struct smember *m,
    struct sgroup *g)
{
	struct sgroup	 tmp;
	int		 rc;

	if (g == NULL)
		g = &tmp;
	if ((rc = sstore_group_get(r->app, id, g)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 404, "no such group: %s", id);
		return -1;
	}
	if ((rc = sstore_group_member_get(r->app, id, r->user, m)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 403, "not a member of group %s", id);
		goto fail_clear;
	}
	if (g == &tmp)
		sstore_group_clear(g);
	return 0;

fail:
	req_fail(r, 500, "database error");
fail_clear:
	sstore_group_clear(g);
	return -1;
}

/*
 * Read mentions: 1 to IDS_MAX user ids, or "@all". Returns as the req_
 * readers; *out is the array as JSON text (to free).
 */
static int
chat_mentions(struct req *r, char **out)
{
	json_t		*v, *e;
	const char	*id;
	size_t		 i;

	v = json_object_get(r->body, "mentions");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > IDS_MAX) {
		req_fail(r, 400, "mentions must be an array of at most %d ids",
		    IDS_MAX);
		return -1;
	}
	json_array_foreach(v, i, e) {
		id = json_is_string(e) ? json_string_value(e) : "";
		if (strcmp(id, "@all") != 0 && !token_check_id(id)) {
			req_fail(r, 400, "mentions[%zu] must be a user id or "
			    "@all", i);
			return -1;
		}
	}
	if ((*out = json_dumps(v, JSON_COMPACT)) == NULL) {
		req_fail(r, 500, "out of memory");
		return -1;
	}
	return 1;
}

/*
 * Whether a one-to-one message goes to its sender's sessions, and *skip the
 * one it must not reach: a change goes to all; a new one to all but the
 * sending session (which gets the reply), or on a seed-only server to none,
 * or with BROKER_SEED_ECHO to all.
 */
static int
chat_echo(struct req *r, int is_new, struct session **skip)
{
	int	 profile = broker_profile();

	*skip = NULL;
	if (!is_new)
		return 1;
	if (profile & BROKER_SEED_ONLY)
		return (profile & BROKER_SEED_ECHO) != 0;
	*skip = r->s;
	return 1;
}

/*
 * Store message m (new, or changed by a revoke or an edit) and push it:
 * one-to-one to every session of both sides (a new message not to the
 * sending session, which gets the reply), a group's to the topic sessions
 * of every member. On a seed-only server a new one-to-one message reaches
 * the sender's sessions only with BROKER_SEED_ECHO (then all of them), and
 * a group's every session on the topic, member or not. Every recipient's
 * copy is stored undelivered and counts as delivered once a session has
 * written it (deliver.c); the sender's own copy of a new group message is
 * delivered at once. Returns 0, or -1 with the request answered.
 */
static int
chat_fanout(struct req *r, struct smsg *m, int is_new)
{
	struct idlist	 to;
	struct session	*skip;
	const char	*id;
	char		*text = NULL;
	int		*flags = NULL;
	int		 group, ret = -1;
	size_t		 i;

	idlist_init(&to);
	group = strcmp(m->chat_type, "GROUP") == 0;
	if (group ? sstore_group_member_ids(m->app, m->to, 0, &to) == -1 :
	    idlist_push(&to, m->to) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	if ((flags = calloc(to.n + 1, sizeof *flags)) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < to.n; i++)
		flags[i] = group && is_new && strcmp(to.v[i], m->from) == 0;
	/* Stored first, then pushed: no push of what could be lost. */
	if ((is_new ? sstore_msg_insert(m, &to, flags) :
	    sstore_msg_change(m)) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	if ((text = chat_msg_text(m)) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < to.n; i++) {
		id = flags[i] ? NULL : m->id;
		if (group)
			broker_topic(m->app, to.v[i], m->to, text, m->seq, id);
		else
			broker_deliver(m->app, to.v[i], NULL, text, m->seq, id);
	}
	if (group && (broker_profile() & BROKER_SEED_ONLY))
		broker_topic_others(m->app, &to, m->to, text, m->seq);
	if (!group && strcmp(m->to, m->from) != 0 &&
	    chat_echo(r, is_new, &skip))
		broker_deliver(m->app, m->from, skip, text, m->seq, NULL);
	log_debug("session %llu: message %s seq %lld %s -> %s (%s, %zu "
	    "recipients)", r->s->id, m->id, m->seq, m->from, m->to,
	    is_new ? "new" : m->status, to.n);
	ret = 0;
out:
	free(text);
	free(flags);
	idlist_clear(&to);
	return ret;
}

/* /app/chat.send: store a message, deliver it, answer with it. */
void
chat_send(struct req *r)
{
	struct smsg	 m, old;
	struct smember	 mem;
	struct sgroup	 g;
	json_t		*payload = NULL;
	const char	*id = NULL, *to, *type = "TEXT", *chat = "SINGLE";
	const char	*content, *reply_to = NULL;
	char		*mentions = NULL;
	long long	 now = broker_now_ms();
	int		 rc;

	memset(&m, 0, sizeof m);
	memset(&old, 0, sizeof old);
	if (req_id(r, "messageId", 0, &id) == -1 ||
	    req_id(r, "toId", REQ_REQUIRED, &to) == -1 ||
	    req_enum(r, "chatType", 0, chat_chat_types, &chat) == -1 ||
	    req_enum(r, "msgType", 0, chat_msg_types, &type) == -1 ||
	    req_object(r, "payload", 0, PAYLOAD_MAX, &payload) == -1 ||
	    chat_mentions(r, &mentions) == -1 ||
	    req_id(r, "replyTo", 0, &reply_to) == -1)
		goto out;
	if (!json_is_string(json_object_get(r->body, "content"))) {
		req_fail(r, 400, "content must be a string");
		goto out;
	}
	if (json_string_length(json_object_get(r->body, "content")) >
	    CONTENT_MAX) {
		req_fail(r, 400, "content is longer than 64 KiB");
		goto out;
	}
	content = json_string_value(json_object_get(r->body, "content"));

	/* UPSTREAM.md: a messageId is the sender's; a resend is answered. */
	if (id != NULL) {
		if ((rc = sstore_msg_get(r->app, id, &old)) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		if (rc == 0 && strcmp(old.from, r->user) != 0) {
			req_fail(r, 409, "messageId already used");
			goto out;
		}
		if (rc == 0) {
			log_debug("session %llu: resend of %s", r->s->id, id);
			chat_reply_msg(r, &old);
			goto out;
		}
		snprintf(m.id, sizeof m.id, "%s", id);
	} else if (token_random_id(m.id, sizeof m.id, "s-") == -1) {
		req_fail(r, 500, "cannot make a message id");
		goto out;
	}

	if (strcmp(chat, "GROUP") == 0) {
		if (chat_member(r, to, &mem, &g) == -1)
			goto out;
		rc = g.mute_all;
		sstore_group_clear(&g);
		/* UPSTREAM.md: the muted, and all but managers when muteAll. */
		if (mem.muted_until > now) {
			req_fail(r, 403, "muted until %lld", mem.muted_until);
			goto out;
		}
		if (rc && !group_is_manager(&mem)) {
			req_fail(r, 403, "group is muted: only the owner and "
			    "admins may post");
			goto out;
		}
	} else {
		/* UPSTREAM.md: someone the recipient blocked gets 403. */
		if ((rc = sstore_social_blocked(r->app, to, r->user)) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		if (rc == 1) {
			req_fail(r, 403, "blocked");
			goto out;
		}
	}

	snprintf(m.app, sizeof m.app, "%s", r->app);
	snprintf(m.from, sizeof m.from, "%s", r->user);
	snprintf(m.to, sizeof m.to, "%s", to);
	snprintf(m.chat_type, sizeof m.chat_type, "%s", chat);
	snprintf(m.msg_type, sizeof m.msg_type, "%s", type);
	snprintf(m.status, sizeof m.status, "SENT");
	snprintf(m.reply_to, sizeof m.reply_to, "%s",
	    reply_to != NULL ? reply_to : "");
	m.created_at = now;
	m.mentions = mentions;
	mentions = NULL;
	if ((m.content = strdup(content)) == NULL || (payload != NULL &&
	    (m.payload = json_dumps(payload, JSON_COMPACT)) == NULL)) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	if (chat_fanout(r, &m, 1) == 0)
		chat_reply_msg(r, &m);
out:
	free(mentions);
	sstore_msg_clear(&m);
	sstore_msg_clear(&old);
}

/*
 * Look up the message named by messageId for a change by the user. Returns
 * 0 and fills m, or -1 with the request answered.
 */
static int
chat_lookup(struct req *r, struct smsg *m)
{
	const char	*id;
	int		 rc;

	memset(m, 0, sizeof *m);
	if (req_id(r, "messageId", REQ_REQUIRED, &id) == -1)
		return -1;
	if ((rc = sstore_msg_get(r->app, id, m)) == -1) {
		req_fail(r, 500, "database error");
		return -1;
	}
	if (rc == 1) {
		req_fail(r, 404, "no such message");
		return -1;
	}
	return 0;
}

/*
 * /app/chat.revoke: the sender within the revoke window, or in a group its
 * owner or an admin at any time, withdraws a message.
 */
void
chat_revoke(struct req *r)
{
	struct smsg	 m;
	struct smember	 mem;
	char		*empty = NULL;
	long long	 now = broker_now_ms();
	int		 rc, sender, in_window, manager = 0;

	if (chat_lookup(r, &m) == -1)
		goto out;
	if (strcmp(m.status, "REVOKED") == 0) {
		/* Already done: answer again, change nothing. */
		chat_reply_msg(r, &m);
		goto out;
	}
	sender = strcmp(m.from, r->user) == 0;
	in_window = chat_revoke_ms == 0 || now - m.created_at <= chat_revoke_ms;
	if (strcmp(m.chat_type, "GROUP") == 0 && (!sender || !in_window)) {
		if ((rc = sstore_group_member_get(r->app, m.to, r->user,
		    &mem)) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		manager = rc == 0 && group_is_manager(&mem);
	}
	if (!manager && !sender) {
		req_fail(r, 403, strcmp(m.chat_type, "GROUP") == 0 ?
		    "only the sender, or the group's owner or an admin, may "
		    "revoke" : "only the sender may revoke");
		goto out;
	}
	if (!manager && !in_window) {
		req_fail(r, 403, "the revoke window of %lld s has passed",
		    chat_revoke_ms / 1000);
		goto out;
	}
	if ((empty = strdup("")) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	/* UPSTREAM.md: empty content; the payload goes with it. */
	snprintf(m.status, sizeof m.status, "REVOKED");
	free(m.content);
	m.content = empty;
	free(m.payload);
	m.payload = NULL;
	if (chat_fanout(r, &m, 0) == 0)
		chat_reply_msg(r, &m);
out:
	sstore_msg_clear(&m);
}

/* /app/chat.edit: the sender changes a message's content (and payload). */
void
chat_edit(struct req *r)
{
	struct smsg	 m;
	struct smember	 mem;
	json_t		*payload = NULL;
	const char	*content;
	char		*copy = NULL, *ptext = NULL;

	if (chat_lookup(r, &m) == -1)
		goto out;
	if (req_text(r, "content", REQ_REQUIRED, SIZE_MAX, &content) == -1 ||
	    req_object(r, "payload", 0, PAYLOAD_MAX, &payload) == -1)
		goto out;
	if (strlen(content) > CONTENT_MAX) {
		req_fail(r, 400, "content is longer than 64 KiB");
		goto out;
	}
	if (strcmp(m.from, r->user) != 0) {
		req_fail(r, 403, "only the sender may edit");
		goto out;
	}
	if (strcmp(m.status, "REVOKED") == 0) {
		req_fail(r, 409, "message is revoked");
		goto out;
	}
	if (strcmp(m.chat_type, "GROUP") == 0 &&
	    chat_member(r, m.to, &mem, NULL) == -1)
		goto out;
	if ((copy = strdup(content)) == NULL || (payload != NULL &&
	    (ptext = json_dumps(payload, JSON_COMPACT)) == NULL)) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	free(m.content);
	m.content = copy;
	copy = NULL;
	if (ptext != NULL) {
		free(m.payload);
		m.payload = ptext;
		ptext = NULL;
	}
	m.edited_at = broker_now_ms();
	if (chat_fanout(r, &m, 0) == 0)
		chat_reply_msg(r, &m);
out:
	free(copy);
	free(ptext);
	sstore_msg_clear(&m);
}

/* Whether message m belongs to the user's conversation kind/target. */
static int
chat_in_conv(const struct smsg *m, const char *user, char kind,
    const char *target)
{
	if (kind == CONV_GROUP)
		return strcmp(m->chat_type, "GROUP") == 0 &&
		    strcmp(m->to, target) == 0;
	return strcmp(m->chat_type, "GROUP") != 0 &&
	    ((strcmp(m->from, user) == 0 && strcmp(m->to, target) == 0) ||
	    (strcmp(m->from, target) == 0 && strcmp(m->to, user) == 0));
}

/*
 * /app/chat.read: mark a conversation read up to a message; tell the
 * reader's other sessions and, one-to-one, the peer (a read receipt).
 */
void
chat_read(struct req *r)
{
	struct smsg	 m;
	struct smember	 mem;
	struct sread	 rd, old;
	const char	*target;
	json_t		*data = NULL;
	char		 kind;
	int		 rc;

	memset(&m, 0, sizeof m);
	if (req_conv(r, &kind, &target) == -1 || chat_lookup(r, &m) == -1)
		goto out;
	if (kind == CONV_GROUP && chat_member(r, target, &mem, NULL) == -1)
		goto out;
	if (!chat_in_conv(&m, r->user, kind, target)) {
		req_fail(r, 404, "message %s is not in this conversation",
		    m.id);
		goto out;
	}
	if ((rc = sstore_social_read_get(r->app, r->user, kind, target,
	    &old)) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	/* The mark only moves forward: an older message changes nothing. */
	if (rc == 0 && old.msg_seq > m.first_seq) {
		req_ok(r, json_pack("{s:o, s:s, s:I}", "conversation",
		    req_conv_json(kind, target), "messageId", old.msg_id,
		    "readAt", (json_int_t)old.read_at));
		goto out;
	}
	memset(&rd, 0, sizeof rd);
	snprintf(rd.msg_id, sizeof rd.msg_id, "%s", m.id);
	rd.msg_seq = m.first_seq;
	rd.read_at = broker_now_ms();
	if (sstore_social_read_put(r->app, r->user, kind, target, &rd) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	data = json_pack("{s:o, s:s, s:I}", "conversation",
	    req_conv_json(kind, target), "messageId", rd.msg_id, "readAt",
	    (json_int_t)rd.read_at);
	if (data == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	broker_event_user(r->app, r->user, r->s, "conversation.read",
	    json_incref(data));
	if (kind == CONV_PEER && strcmp(target, r->user) != 0)
		broker_event_user(r->app, target, NULL, "message.read",
		    json_pack("{s:s, s:s, s:I}", "by", r->user, "messageId",
		    rd.msg_id, "readAt", (json_int_t)rd.read_at));
	req_ok(r, data);
	data = NULL;
out:
	json_decref(data);
	sstore_msg_clear(&m);
}

/* Add one history row to the array in arg. */
static int
chat_history_row(const struct smsg *m, const struct sevent *e, void *arg)
{
	json_t	*list = arg, *o;

	if (m == NULL || (o = chat_msg_json(m)) == NULL)
		return 1;
	return json_array_append_new(list, o) == -1;
}

/* /app/chat.history: a page of a conversation, newest first. */
void
chat_history(struct req *r)
{
	struct smember	 mem;
	const char	*target;
	json_t		*list = NULL;
	long long	 before = LLONG_MAX, limit = CHAT_HISTORY_LIMIT;
	char		 kind;
	int		 n, more;

	if (req_conv(r, &kind, &target) == -1 ||
	    req_int(r, "before", 0, 1, LLONG_MAX, &before) == -1 ||
	    req_int(r, "limit", 0, 1, CHAT_HISTORY_MAX, &limit) == -1)
		return;
	if (kind == CONV_GROUP && chat_member(r, target, &mem, NULL) == -1)
		return;
	if ((list = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		return;
	}
	/* One row more than asked tells whether there is more. */
	n = sstore_msg_history(r->app, r->user, kind, target, before,
	    (int)limit + 1, chat_history_row, list);
	if (n == -1) {
		json_decref(list);
		req_fail(r, 500, "database error");
		return;
	}
	more = json_array_size(list) > (size_t)limit;
	if (more)
		json_array_remove(list, json_array_size(list) - 1);
	req_ok(r, json_pack("{s:o, s:b}", "messages", list, "more", more));
}
