/*
 * friend: the friend.* destinations (UPSTREAM.md "Friends"): requests and
 * answers, the friend list with remarks, friend groups, and the friend.*
 * events. The blacklist rule on requests is checked here.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"

/* The friend object: {userId, remark, groups, since}. */
static json_t *
friend_json(const struct sfriend *f)
{
	json_t	*groups;

	if ((groups = json_loads(f->groups, 0, NULL)) == NULL)
		groups = json_array();
	return json_pack("{s:s, s:s, s:o, s:I}", "userId", f->user,
	    "remark", f->remark, "groups", groups, "since",
	    (json_int_t)f->since);
}

/* Tell a and b they are friends now: friend.added {userId} to each. */
static void
friend_added(struct req *r, const char *a, const char *b)
{
	broker_event_user(r->app, a, NULL, "friend.added",
	    json_pack("{s:s}", "userId", b));
	broker_event_user(r->app, b, NULL, "friend.added",
	    json_pack("{s:s}", "userId", a));
}

/*
 * Send friend.updated {friend} for each of the user's friends in ids to
 * the user's other sessions (ids that are no friends are skipped).
 */
static void
friend_updated(struct req *r, const struct idlist *ids)
{
	struct sfriend	 f;
	size_t		 i;

	for (i = 0; i < ids->n; i++) {
		if (sstore_social_friend_get(r->app, r->user, ids->v[i],
		    &f) != 0)
			continue;
		broker_event_user(r->app, r->user, r->s, "friend.updated",
		    json_pack("{s:o}", "friend", friend_json(&f)));
		sstore_social_friend_clear(&f);
	}
}

/*
 * Whether user and other are friends: 1, 0, or -1 with the request
 * answered.
 */
static int
friend_is(struct req *r, const char *user, const char *other)
{
	struct sfriend	 f;
	int		 rc;

	if ((rc = sstore_social_friend_get(r->app, user, other, &f)) == -1) {
		req_fail(r, 500, "database error");
		return -1;
	}
	sstore_social_friend_clear(&f);
	return rc == 0;
}

/*
 * /app/friend.request: ask a user to be friends; a crossing request makes
 * friends at once.
 */
void
friend_request(struct req *r)
{
	struct srequest	 q;
	const char	*user, *message = "";
	int		 rc;

	if (req_id(r, "userId", REQ_REQUIRED, &user) == -1 ||
	    req_text(r, "message", 0, NOTE_CHARS, &message) == -1)
		return;
	if (strcmp(user, r->user) == 0) {
		req_fail(r, 400, "cannot befriend yourself");
		return;
	}
	/* UPSTREAM.md: a blocked user cannot friend-request the blocker. */
	if ((rc = sstore_social_blocked(r->app, user, r->user)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 403, "blocked");
		return;
	}
	if ((rc = friend_is(r, r->user, user)) == -1)
		return;
	if (rc == 1) {
		req_ok(r, json_pack("{s:s}", "status", "FRIENDS"));
		return;
	}
	if ((rc = sstore_social_freq_get(r->app, user, r->user, &q)) == -1)
		goto fail;
	if (rc == 0) {
		if (sstore_social_befriend(r->app, r->user, user,
		    broker_now_ms()) == -1)
			goto fail;
		friend_added(r, r->user, user);
		req_ok(r, json_pack("{s:s}", "status", "FRIENDS"));
		return;
	}
	if (sstore_social_freq_put(r->app, r->user, user, message,
	    broker_now_ms()) == -1)
		goto fail;
	broker_event_user(r->app, user, NULL, "friend.request",
	    json_pack("{s:s, s:s}", "userId", r->user, "message", message));
	req_ok(r, json_pack("{s:s}", "status", "PENDING"));
	return;

fail:
	req_fail(r, 500, "database error");
}

/* /app/friend.respond: accept or refuse a user's friend request. */
void
friend_respond(struct req *r)
{
	struct srequest	 q;
	const char	*user;
	int		 accept, rc;

	if (req_id(r, "userId", REQ_REQUIRED, &user) == -1 ||
	    req_bool(r, "accept", REQ_REQUIRED, &accept) == -1)
		return;
	if ((rc = sstore_social_freq_get(r->app, user, r->user, &q)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 404, "no friend request from %s", user);
		return;
	}
	if (accept) {
		if (sstore_social_befriend(r->app, r->user, user,
		    broker_now_ms()) == -1)
			goto fail;
		friend_added(r, r->user, user);
	} else {
		if (sstore_social_freq_del(r->app, user, r->user) == -1)
			goto fail;
		broker_event_user(r->app, user, NULL, "friend.refused",
		    json_pack("{s:s}", "userId", r->user));
	}
	req_ok(r, NULL);
	return;

fail:
	req_fail(r, 500, "database error");
}

/* /app/friend.requests: the pending requests to and from the user. */
void
friend_requests(struct req *r)
{
	json_t	*in, *out;

	in = json_array();
	out = json_array();
	if (in == NULL || out == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	if (sstore_social_freqs(r->app, r->user, 1, req_request_row,
	    in) == -1 || sstore_social_freqs(r->app, r->user, 0,
	    req_request_row, out) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	req_ok(r, json_pack("{s:O, s:O}", "incoming", in, "outgoing", out));
out:
	json_decref(in);
	json_decref(out);
}

/* /app/friend.delete: end friendships; both sides are told. */
void
friend_delete(struct req *r)
{
	struct idlist	 ids;
	json_t		*removed = NULL;
	size_t		 i;
	int		 rc;

	idlist_init(&ids);
	if (req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1)
		goto out;
	if ((removed = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		if ((rc = sstore_social_unfriend(r->app, r->user,
		    ids.v[i])) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		if (rc == 1)
			continue;	/* not a friend */
		json_array_append_new(removed, json_string(ids.v[i]));
		broker_event_user(r->app, r->user, NULL, "friend.deleted",
		    json_pack("{s:s}", "userId", ids.v[i]));
		broker_event_user(r->app, ids.v[i], NULL, "friend.deleted",
		    json_pack("{s:s}", "userId", r->user));
	}
	req_ok(r, json_pack("{s:O}", "removed", removed));
out:
	json_decref(removed);
	idlist_clear(&ids);
}

/* Add one friend to the array in arg. */
static int
friend_list_row(const struct sfriend *f, void *arg)
{
	return json_array_append_new(arg, friend_json(f)) == -1;
}

/* /app/friend.list: the user's friends. */
void
friend_list(struct req *r)
{
	json_t	*list = json_array();

	req_list(r, list, list == NULL ? -1 :
	    sstore_social_friends(r->app, r->user, friend_list_row, list));
}

/*
 * The user's relation to other: BLOCKED (on the user's blacklist), FRIEND,
 * REQUESTED (the user asked), INCOMING (other asked) or NONE; NULL on a
 * database error.
 */
static const char *
friend_relation(struct req *r, const char *other)
{
	struct sfriend	 f;
	struct srequest	 q;
	int		 rc;

	if ((rc = sstore_social_blocked(r->app, r->user, other)) != 0)
		return rc == 1 ? "BLOCKED" : NULL;
	if ((rc = sstore_social_friend_get(r->app, r->user, other, &f)) != 1) {
		sstore_social_friend_clear(&f);
		return rc == 0 ? "FRIEND" : NULL;
	}
	if ((rc = sstore_social_freq_get(r->app, r->user, other, &q)) != 1)
		return rc == 0 ? "REQUESTED" : NULL;
	if ((rc = sstore_social_freq_get(r->app, other, r->user, &q)) != 1)
		return rc == 0 ? "INCOMING" : NULL;
	return "NONE";
}

/* /app/friend.check: the user's relation to each of userIds. */
void
friend_check(struct req *r)
{
	struct idlist	 ids;
	const char	*rel;
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
		if ((rel = friend_relation(r, ids.v[i])) == NULL) {
			req_fail(r, 500, "database error");
			goto out;
		}
		json_array_append_new(list, json_pack("{s:s, s:s}", "userId",
		    ids.v[i], "relation", rel));
	}
	req_ok(r, list);
	list = NULL;
out:
	json_decref(list);
	idlist_clear(&ids);
}

/* /app/friend.remark: set the user's remark of a friend. */
void
friend_remark(struct req *r)
{
	struct sfriend	 f;
	const char	*user, *remark;
	json_t		*o;
	int		 rc;

	if (req_id(r, "userId", REQ_REQUIRED, &user) == -1 ||
	    req_text(r, "remark", REQ_REQUIRED, NAME_CHARS, &remark) == -1)
		return;
	if ((rc = sstore_social_remark(r->app, r->user, user, remark)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 404, "%s is not a friend", user);
		return;
	}
	if (sstore_social_friend_get(r->app, r->user, user, &f) != 0)
		goto fail;
	o = friend_json(&f);
	sstore_social_friend_clear(&f);
	broker_event_user(r->app, r->user, r->s, "friend.updated",
	    json_pack("{s:O}", "friend", o));
	req_ok(r, o);
	return;

fail:
	req_fail(r, 500, "database error");
}

/* /app/friend.group.create: make an empty friend group. */
void
friend_group_create(struct req *r)
{
	const char	*name;
	int		 rc;

	if (req_text(r, "name", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &name) == -1)
		return;
	rc = sstore_social_fgroup_create(r->app, r->user, name,
	    broker_now_ms());
	if (rc == -1)
		req_fail(r, 500, "database error");
	else if (rc == 1)
		req_fail(r, 409, "friend group %s exists", name);
	else if (rc == 2)
		req_fail(r, 409, "at most %d friend groups", FGROUPS_MAX);
	else
		req_ok(r, NULL);
}

/* /app/friend.group.delete: delete a friend group (not its friends). */
void
friend_group_delete(struct req *r)
{
	struct idlist	 ids;
	const char	*name;
	int		 rc;

	idlist_init(&ids);
	if (req_text(r, "name", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &name) == -1)
		goto out;
	rc = sstore_social_fgroup_delete(r->app, r->user, name, &ids);
	if (rc == -1)
		req_fail(r, 500, "database error");
	else if (rc == 1)
		req_fail(r, 404, "no friend group %s", name);
	else {
		friend_updated(r, &ids);
		req_ok(r, NULL);
	}
out:
	idlist_clear(&ids);
}

/* /app/friend.group.rename: rename a friend group. */
void
friend_group_rename(struct req *r)
{
	struct idlist	 ids;
	const char	*name, *to;
	int		 rc;

	idlist_init(&ids);
	if (req_text(r, "name", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &name) == -1 ||
	    req_text(r, "newName", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &to) == -1)
		goto out;
	rc = sstore_social_fgroup_rename(r->app, r->user, name, to, &ids);
	if (rc == -1)
		req_fail(r, 500, "database error");
	else if (rc == 1)
		req_fail(r, 404, "no friend group %s", name);
	else if (rc == 2)
		req_fail(r, 409, "friend group %s exists", to);
	else {
		friend_updated(r, &ids);
		req_ok(r, NULL);
	}
out:
	idlist_clear(&ids);
}

/* Put friends in a friend group (add) or take them out. */
static void
friend_group_members(struct req *r, int add)
{
	struct idlist	 ids;
	const char	*name;
	size_t		 i;
	int		 rc;

	idlist_init(&ids);
	if (req_text(r, "name", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &name) == -1 ||
	    req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1)
		goto out;
	for (i = 0; add && i < ids.n; i++) {
		if ((rc = friend_is(r, r->user, ids.v[i])) == -1)
			goto out;
		if (rc == 0) {
			req_fail(r, 404, "%s is not a friend", ids.v[i]);
			goto out;
		}
	}
	for (i = 0; i < ids.n; i++) {
		rc = sstore_social_fgroup_member(r->app, r->user, name,
		    ids.v[i], add);
		if (rc == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		if (rc == 1) {
			req_fail(r, 404, "no friend group %s", name);
			goto out;
		}
	}
	friend_updated(r, &ids);
	req_ok(r, NULL);
out:
	idlist_clear(&ids);
}

/* /app/friend.group.add: put friends in a friend group. */
void
friend_group_add(struct req *r)
{
	friend_group_members(r, 1);
}

/* /app/friend.group.remove: take friends out of a friend group. */
void
friend_group_remove(struct req *r)
{
	friend_group_members(r, 0);
}

/* Add one friend group {name, userIds} to the array in arg. */
static int
friend_group_row(const char *name, const char *ids, void *arg)
{
	json_t	*v;

	if ((v = json_loads(ids, 0, NULL)) == NULL)
		v = json_array();
	return json_array_append_new(arg, json_pack("{s:s, s:o}", "name",
	    name, "userIds", v)) == -1;
}

/* /app/friend.group.list: the user's friend groups with their friends. */
void
friend_group_list(struct req *r)
{
	json_t	*list = json_array();

	req_list(r, list, list == NULL ? -1 :
	    sstore_social_fgroups(r->app, r->user, friend_group_row, list));
}
