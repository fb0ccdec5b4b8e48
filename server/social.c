/*
 * social: the conversation.*, blacklist.* and profile.* destinations
 * (UPSTREAM.md "Conversations, blacklist, profiles"): per-user settings of
 * conversations, the blacklist and profiles, and their events. The rule
 * the blacklist enforces lives with what it refuses (chat.c, friend.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"

static const char *const social_genders[] = {
	"UNKNOWN", "MALE", "FEMALE", "OTHER", NULL
};

/* The settings of a conversation: {conversation, pinned, muted, draft}. */
static json_t *
social_conv_json(const struct sconv *c)
{
	return json_pack("{s:o, s:b, s:b, s:s}", "conversation",
	    req_conv_json(c->kind, c->target), "pinned", c->pinned, "muted",
	    c->muted, "draft", c->draft);
}

/*
 * /app/conversation.set: change the user's settings of a conversation;
 * the user's other sessions get conversation.updated.
 */
void
social_conv_set(struct req *r)
{
	struct sconv	 c;
	const char	*target, *draft = NULL;
	json_t		*o;
	char		*copy, kind;
	int		 pinned, muted, has_pinned, has_muted;

	memset(&c, 0, sizeof c);
	if (req_conv(r, &kind, &target) == -1 ||
	    (has_pinned = req_bool(r, "pinned", 0, &pinned)) == -1 ||
	    (has_muted = req_bool(r, "muted", 0, &muted)) == -1 ||
	    req_text(r, "draft", 0, SIZE_MAX, &draft) == -1)
		return;
	if (draft != NULL && strlen(draft) > CONTENT_MAX) {
		req_fail(r, 400, "draft is longer than 64 KiB");
		return;
	}
	if (sstore_social_conv_get(r->app, r->user, kind, target, &c) == -1)
		goto fail;
	if (has_pinned)
		c.pinned = pinned;
	if (has_muted)
		c.muted = muted;
	if (draft != NULL) {
		if ((copy = strdup(draft)) == NULL) {
			req_fail(r, 500, "out of memory");
			goto out;
		}
		free(c.draft);
		c.draft = copy;
	}
	if (sstore_social_conv_put(r->app, r->user, &c, broker_now_ms()) == -1)
		goto fail;
	if ((o = social_conv_json(&c)) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	broker_event_user(r->app, r->user, r->s, "conversation.updated",
	    json_incref(o));
	req_ok(r, o);
	goto out;

fail:
	req_fail(r, 500, "database error");
out:
	sstore_social_conv_clear(&c);
}

/* Add one conversation's settings to the array in arg. */
static int
social_conv_row(const struct sconv *c, void *arg)
{
	return json_array_append_new(arg, social_conv_json(c)) == -1;
}

/* /app/conversation.list: every stored conversation setting of the user. */
void
social_conv_list(struct req *r)
{
	json_t	*list = json_array();

	req_list(r, list, list == NULL ? -1 :
	    sstore_social_convs(r->app, r->user, social_conv_row, list));
}

/*
 * Put userIds on the user's blacklist (block) or take them off; the user's
 * sessions get blacklist.changed {userIds, blocked} for those that changed.
 */
static void
social_blacklist_change(struct req *r, int block)
{
	struct idlist	 ids;
	json_t		*changed = NULL;
	size_t		 i;
	int		 rc;

	idlist_init(&ids);
	if (req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1)
		goto out;
	if (block && idlist_has(&ids, r->user)) {
		req_fail(r, 400, "cannot block yourself");
		goto out;
	}
	if ((changed = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		rc = block ? sstore_social_block(r->app, r->user, ids.v[i],
		    broker_now_ms()) : sstore_social_unblock(r->app, r->user,
		    ids.v[i]);
		if (rc == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		if (rc == 0)
			json_array_append_new(changed, json_string(ids.v[i]));
	}
	if (json_array_size(changed) > 0)
		broker_event_user(r->app, r->user, NULL, "blacklist.changed",
		    json_pack("{s:O, s:b}", "userIds", changed, "blocked",
		    block));
	req_ok(r, NULL);
out:
	json_decref(changed);
	idlist_clear(&ids);
}

/* /app/blacklist.add: block users. */
void
social_block(struct req *r)
{
	social_blacklist_change(r, 1);
}

/* /app/blacklist.remove: unblock users. */
void
social_unblock(struct req *r)
{
	social_blacklist_change(r, 0);
}

/* /app/blacklist.list: the ids the user has blocked. */
void
social_blacklist(struct req *r)
{
	struct idlist	 ids;
	json_t		*list;
	size_t		 i;

	idlist_init(&ids);
	if ((list = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	if (sstore_social_blacklist(r->app, r->user, &ids) == -1) {
		json_decref(list);
		req_fail(r, 500, "database error");
		goto out;
	}
	for (i = 0; i < ids.n; i++)
		json_array_append_new(list, json_string(ids.v[i]));
	req_ok(r, list);
out:
	idlist_clear(&ids);
}

/* The profile object of UPSTREAM.md. */
static json_t *
social_profile_json(const struct sprofile *p)
{
	json_t	*custom;

	if ((custom = json_loads(p->custom, 0, NULL)) == NULL)
		custom = json_object();
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "userId",
	    p->user, "nickname", p->nickname, "avatar", p->avatar,
	    "signature", p->signature, "gender", p->gender, "birthday",
	    p->birthday, "custom", custom);
}

/* /app/profile.get: the profiles of userIds (empty ones if never set). */
void
social_profile_get(struct req *r)
{
	struct idlist	 ids;
	struct sprofile	 p;
	json_t		*list = NULL;
	size_t		 i;

	idlist_init(&ids);
	if (req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1)
		goto out;
	if ((list = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		if (sstore_social_profile_get(r->app, ids.v[i], &p) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		json_array_append_new(list, social_profile_json(&p));
		sstore_social_profile_clear(&p);
	}
	req_ok(r, list);
	list = NULL;
out:
	json_decref(list);
	idlist_clear(&ids);
}

/* Whether s is a date YYYY-MM-DD (or empty: no birthday). */
static int
social_check_date(const char *s)
{
	int	 i, month, day;

	if (*s == '\0')
		return 1;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	}
	month = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Replace the heap string *field with a copy of value. Returns 0 or -1. */
static int
social_set(char **field, const char *value)
{
	char	*copy;

	if ((copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

/*
 * /app/profile.set: change the user's profile; friends and the user's
 * other sessions get profile.updated.
 */
void
social_profile_set(struct req *r)
{
	struct sprofile	 p;
	struct idlist	 to;
	const char	*nickname = NULL, *avatar = NULL, *signature = NULL;
	const char	*gender = NULL, *birthday = NULL;
	json_t		*custom = NULL, *o;
	char		*ctext = NULL;

	memset(&p, 0, sizeof p);
	idlist_init(&to);
	if (req_text(r, "nickname", REQ_NAME, NAME_CHARS, &nickname) == -1 ||
	    req_text(r, "avatar", 0, TEXT_CHARS, &avatar) == -1 ||
	    req_text(r, "signature", 0, TEXT_CHARS, &signature) == -1 ||
	    req_enum(r, "gender", 0, social_genders, &gender) == -1 ||
	    req_text(r, "birthday", 0, 10, &birthday) == -1 ||
	    req_object(r, "custom", 0, CUSTOM_MAX, &custom) == -1)
		goto out;
	if (birthday != NULL && !social_check_date(birthday)) {
		req_fail(r, 400, "birthday must be YYYY-MM-DD or empty");
		goto out;
	}
	if (sstore_social_profile_get(r->app, r->user, &p) == -1)
		goto fail;
	if (nickname != NULL)
		snprintf(p.nickname, sizeof p.nickname, "%s", nickname);
	if (gender != NULL)
		snprintf(p.gender, sizeof p.gender, "%s", gender);
	if (birthday != NULL)
		snprintf(p.birthday, sizeof p.birthday, "%s", birthday);
	if (custom != NULL && (ctext = json_dumps(custom, JSON_COMPACT)) ==
	    NULL)
		goto nomem;
	if ((avatar != NULL && social_set(&p.avatar, avatar) == -1) ||
	    (signature != NULL && social_set(&p.signature, signature) == -1) ||
	    (ctext != NULL && social_set(&p.custom, ctext) == -1))
		goto nomem;
	if (sstore_social_profile_put(r->app, &p, broker_now_ms()) == -1)
		goto fail;
	if ((o = social_profile_json(&p)) == NULL)
		goto nomem;
	/* One event for friends and the user's other sessions. */
	if (sstore_social_friend_ids(r->app, r->user, &to) == -1 ||
	    idlist_add(&to, r->user) == -1)
		log_warn("session %llu: profile.updated not sent", r->s->id);
	else
		broker_event(r->app, &to, r->s, "profile.updated",
		    json_pack("{s:O}", "profile", o));
	req_ok(r, o);
	goto out;

nomem:
	req_fail(r, 500, "out of memory");
	goto out;
fail:
	req_fail(r, 500, "database error");
out:
	free(ctext);
	sstore_social_profile_clear(&p);
	idlist_clear(&to);
}
