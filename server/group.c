/*
 * group: the group.* destinations (UPSTREAM.md "Groups"): groups, members
 * and their roles, join requests, mutes, and the group.* events. Every
 * permission rule is checked here; the store only keeps what was decided.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"

#define GROUP_MEMBERS_LIMIT	100	/* group.members page by default */
#define GROUP_MEMBERS_PAGE	500	/* largest group.members page */
#define GROUP_MUTE_MAX		(10LL * 366 * 86400)	/* s */

static const char *const group_policies[] = {
	"FREE", "APPROVAL", "FORBIDDEN", NULL
};
static const char *const group_roles[] = { "OWNER", "ADMIN", "MEMBER", NULL };
static const char *const group_set_roles[] = { "ADMIN", "MEMBER", NULL };

/* Whether a member is the group's owner or an admin. */
int
group_is_manager(const struct smember *m)
{
	return strcmp(m->role, "OWNER") == 0 || strcmp(m->role, "ADMIN") == 0;
}

/* Whether a member is the group's owner. */
static int
group_is_owner(const struct smember *m)
{
	return strcmp(m->role, "OWNER") == 0;
}

/* The group object of UPSTREAM.md. */
static json_t *
group_json(const struct sgroup *g)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I}",
	    "groupId", g->id, "name", g->name, "ownerId", g->owner,
	    "notice", g->notice, "avatar", g->avatar, "intro", g->intro,
	    "joinPolicy", g->join_policy, "muteAll", g->mute_all,
	    "createdAt", (json_int_t)g->created_at,
	    "memberCount", (json_int_t)g->member_count);
}

/* The member object of UPSTREAM.md. */
static json_t *
group_member_json(const struct smember *m)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "userId", m->user,
	    "role", m->role, "mutedUntil", (json_int_t)m->muted_until,
	    "joinedAt", (json_int_t)m->joined_at);
}

/*
 * Read groupId and load the living group into g (clear it after). Returns
 * 0, or -1 with the request answered (404 if there is no such group).
 */
static int
group_load(struct req *r, struct sgroup *g)
{
	const char	*id;
	int		 rc;

	memset(g, 0, sizeof *g);
	if (req_id(r, "groupId", REQ_REQUIRED, &id) == -1)
		return -1;
	if ((rc = sstore_group_get(r->app, id, g)) == -1) {
		req_fail(r, 500, "database error");
		return -1;
	}
	if (rc == 1) {
		req_fail(r, 404, "no such group: %s", id);
		return -1;
	}
	return 0;
}

/*
 * Look up user in group g into m. Returns 0, 1 if not a member (answered
 * with 404 naming the user if answer404, else unanswered), -1 answered.
 */
static int
group_find(struct req *r, const struct sgroup *g, const char *user,
    struct smember *m, int answer404)
{
	int	 rc;

	if ((rc = sstore_group_member_get(r->app, g->id, user, m)) == -1) {
		req_fail(r, 500, "database error");
		return -1;
	}
	if (rc == 1 && answer404)
		req_fail(r, 404, "%s is not a member of group %s", user, g->id);
	return rc;
}

/*
 * Load the group and the user's membership; the user must be a member and,
 * if need is "manager" or "owner", have that role. Returns 0, or -1 with
 * the request answered (403 naming the rule).
 */
static int
group_load_as(struct req *r, struct sgroup *g, struct smember *me,
    const char *need, const char *what)
{
	int	 rc;

	if (group_load(r, g) == -1)
		return -1;
	if ((rc = group_find(r, g, r->user, me, 0)) == -1)
		goto fail;
	if (rc == 1) {
		req_fail(r, 403, "not a member of group %s", g->id);
		goto fail;
	}
	if (need != NULL && strcmp(need, "owner") == 0 && !group_is_owner(me)) {
		req_fail(r, 403, "only the owner may %s", what);
		goto fail;
	}
	if (need != NULL && strcmp(need, "manager") == 0 &&
	    !group_is_manager(me)) {
		req_fail(r, 403, "only the owner and admins may %s", what);
		goto fail;
	}
	return 0;

fail:
	sstore_group_clear(g);
	return -1;
}

/*
 * Send event type with data to the members of group id (only the owner and
 * admins if managers) and to extra, if not NULL. Takes ownership of data.
 */
static void
group_notify(struct req *r, const char *id, int managers, const char *extra,
    const char *type, json_t *data)
{
	struct idlist	 to;

	idlist_init(&to);
	if (sstore_group_member_ids(r->app, id, managers, &to) == -1 ||
	    (extra != NULL && idlist_add(&to, extra) == -1)) {
		log_warn("group %s: cannot send %s", id, type);
		json_decref(data);
		goto out;
	}
	broker_event(r->app, &to, NULL, type, data);
out:
	idlist_clear(&to);
}

/*
 * Reload group id, send event type {group} to its members and answer with
 * the group if answer. Returns 0 or -1 (answered).
 */
static int
group_announce(struct req *r, const char *id, const char *type, int answer)
{
	struct sgroup	 g;
	json_t		*o;

	if (sstore_group_get(r->app, id, &g) != 0) {
		req_fail(r, 500, "database error");
		return -1;
	}
	o = group_json(&g);
	sstore_group_clear(&g);
	if (o == NULL) {
		req_fail(r, 500, "out of memory");
		return -1;
	}
	group_notify(r, id, 0, NULL, type, json_pack("{s:O}", "group", o));
	if (answer)
		req_ok(r, o);
	else
		json_decref(o);
	return 0;
}

/* Send a member event ({groupId, userId, by?}) to the members and user. */
static void
group_member_event(struct req *r, const char *id, const char *user,
    const char *by, const char *type)
{
	json_t	*data;

	data = json_pack("{s:s, s:s}", "groupId", id, "userId", user);
	if (data != NULL && by != NULL)
		json_object_set_new(data, "by", json_string(by));
	group_notify(r, id, 0, user, type, data);
}

/* Send {groupId, member} as event type to the members. */
static void
group_member_change(struct req *r, const char *id, const struct smember *m,
    const char *type)
{
	group_notify(r, id, 0, NULL, type, json_pack("{s:s, s:o}", "groupId",
	    id, "member", group_member_json(m)));
}

/* /app/group.create: make a group owned by the user. */
void
group_create(struct req *r)
{
	struct sgroup	 g;
	struct idlist	 members;
	const char	*name, *id = NULL, *policy = "FREE";
	const char	*notice = "", *avatar = "", *intro = "";
	int		 rc;

	memset(&g, 0, sizeof g);
	idlist_init(&members);
	if (req_text(r, "name", REQ_REQUIRED | REQ_NAME, NAME_CHARS,
	    &name) == -1 ||
	    req_ids(r, "members", 0, &members) == -1 ||
	    req_enum(r, "joinPolicy", 0, group_policies, &policy) == -1 ||
	    req_text(r, "notice", 0, TEXT_CHARS, &notice) == -1 ||
	    req_text(r, "avatar", 0, TEXT_CHARS, &avatar) == -1 ||
	    req_text(r, "intro", 0, TEXT_CHARS, &intro) == -1 ||
	    req_id(r, "groupId", 0, &id) == -1)
		goto out;
	snprintf(g.app, sizeof g.app, "%s", r->app);
	if (id != NULL)
		snprintf(g.id, sizeof g.id, "%s", id);
	else if (token_random_id(g.id, sizeof g.id, "g-") == -1) {
		req_fail(r, 500, "cannot make a group id");
		goto out;
	}
	snprintf(g.name, sizeof g.name, "%s", name);
	snprintf(g.owner, sizeof g.owner, "%s", r->user);
	snprintf(g.join_policy, sizeof g.join_policy, "%s", policy);
	/* Borrowed from the body for the write: g is never cleared. */
	g.notice = (char *)notice;
	g.avatar = (char *)avatar;
	g.intro = (char *)intro;
	g.created_at = broker_now_ms();
	rc = sstore_group_create(&g, &members);
	if (rc == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	if (rc == 1) {
		req_fail(r, 409, "groupId %s is already used", g.id);
		goto out;
	}
	log_debug("session %llu: group %s created by %s", r->s->id, g.id,
	    r->user);
	group_announce(r, g.id, "group.created", 1);
out:
	idlist_clear(&members);
}

/* /app/group.dismiss: the owner ends the group. */
void
group_dismiss(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	struct idlist	 to;
	json_t		*o = NULL;

	idlist_init(&to);
	if (group_load_as(r, &g, &me, "owner", "dismiss the group") == -1)
		goto out;
	/* The members are told after they are gone: collect them first. */
	if (sstore_group_member_ids(r->app, g.id, 0, &to) == -1 ||
	    (o = group_json(&g)) == NULL) {
		req_fail(r, 500, "database error");
		goto out_group;
	}
	if (sstore_group_dismiss(r->app, g.id, broker_now_ms()) == -1) {
		req_fail(r, 500, "database error");
		goto out_group;
	}
	broker_event(r->app, &to, NULL, "group.dismissed",
	    json_pack("{s:O}", "group", o));
	req_ok(r, NULL);
out_group:
	sstore_group_clear(&g);
out:
	json_decref(o);
	idlist_clear(&to);
}

/* /app/group.update: the owner or an admin changes the group's settings. */
void
group_update(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	const char	*name = NULL, *policy = NULL;
	const char	*notice = NULL, *avatar = NULL, *intro = NULL;
	char		*keep[3];

	if (req_text(r, "name", REQ_NAME, NAME_CHARS, &name) == -1 ||
	    req_text(r, "notice", 0, TEXT_CHARS, &notice) == -1 ||
	    req_text(r, "avatar", 0, TEXT_CHARS, &avatar) == -1 ||
	    req_text(r, "intro", 0, TEXT_CHARS, &intro) == -1 ||
	    req_enum(r, "joinPolicy", 0, group_policies, &policy) == -1)
		return;
	if (group_load_as(r, &g, &me, "manager", "update the group") == -1)
		return;
	if (name != NULL)
		snprintf(g.name, sizeof g.name, "%s", name);
	if (policy != NULL)
		snprintf(g.join_policy, sizeof g.join_policy, "%s", policy);
	/* Borrowed from the body while the store writes them. */
	keep[0] = g.notice;
	keep[1] = g.avatar;
	keep[2] = g.intro;
	if (notice != NULL)
		g.notice = (char *)notice;
	if (avatar != NULL)
		g.avatar = (char *)avatar;
	if (intro != NULL)
		g.intro = (char *)intro;
	if (sstore_group_update(&g) != 0) {
		req_fail(r, 500, "database error");
		goto restore;
	}
	group_announce(r, g.id, "group.updated", 1);
restore:
	g.notice = keep[0];
	g.avatar = keep[1];
	g.intro = keep[2];
	sstore_group_clear(&g);
}

/* Add one group to the array in arg. */
static int
group_list_row(const struct sgroup *g, void *arg)
{
	return json_array_append_new(arg, group_json(g)) == -1;
}

/* /app/group.list: the user's groups. */
void
group_list(struct req *r)
{
	json_t	*list = json_array();

	req_list(r, list, list == NULL ? -1 :
	    sstore_group_list(r->app, r->user, group_list_row, list));
}

/* /app/group.info: any group's object, for anyone. */
void
group_info(struct req *r)
{
	struct sgroup	 g;

	if (group_load(r, &g) == -1)
		return;
	req_ok(r, group_json(&g));
	sstore_group_clear(&g);
}

/* Add one member to the array in arg. */
static int
group_members_row(const struct smember *m, void *arg)
{
	return json_array_append_new(arg, group_member_json(m)) == -1;
}

/* /app/group.members: a page of the members, for members. */
void
group_members(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	const char	*role = NULL;
	json_t		*list = NULL;
	long long	 offset = 0, limit = GROUP_MEMBERS_LIMIT;
	int		 more;

	if (req_enum(r, "role", 0, group_roles, &role) == -1 ||
	    req_int(r, "offset", 0, 0, GROUP_MEMBERS_MAX, &offset) == -1 ||
	    req_int(r, "limit", 0, 1, GROUP_MEMBERS_PAGE, &limit) == -1)
		return;
	if (group_load_as(r, &g, &me, NULL, NULL) == -1)
		return;
	if ((list = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out;
	}
	/* One row more than asked tells whether there is more. */
	if (sstore_group_members(r->app, g.id, role, offset, (int)limit + 1,
	    group_members_row, list) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	more = json_array_size(list) > (size_t)limit;
	if (more)
		json_array_remove(list, json_array_size(list) - 1);
	req_ok(r, json_pack("{s:O, s:b}", "members", list, "more", more));
out:
	json_decref(list);
	sstore_group_clear(&g);
}

/*
 * Whether n more members fit in group g; if not, answer 409. Returns 0 or
 * -1.
 */
static int
group_room(struct req *r, const struct sgroup *g, size_t n)
{
	if (g->member_count + (long long)n <= GROUP_MEMBERS_MAX)
		return 0;
	req_fail(r, 409, "group %s is full (%d members at most)", g->id,
	    GROUP_MEMBERS_MAX);
	return -1;
}

/* /app/group.join: join a FREE group, or ask to join an APPROVAL one. */
void
group_join(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	const char	*message = "";
	long long	 now = broker_now_ms();
	int		 rc;

	if (req_text(r, "message", 0, NOTE_CHARS, &message) == -1 ||
	    group_load(r, &g) == -1)
		return;
	if ((rc = group_find(r, &g, r->user, &me, 0)) == -1)
		goto out;
	if (rc == 0) {
		req_fail(r, 409, "already a member of group %s", g.id);
		goto out;
	}
	if (strcmp(g.join_policy, "FORBIDDEN") == 0) {
		req_fail(r, 403, "group %s does not allow joining "
		    "(joinPolicy FORBIDDEN)", g.id);
		goto out;
	}
	if (strcmp(g.join_policy, "APPROVAL") == 0) {
		if (sstore_group_request_put(r->app, g.id, r->user, message,
		    now) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		group_notify(r, g.id, 1, NULL, "group.request",
		    json_pack("{s:s, s:s, s:s}", "groupId", g.id, "userId",
		    r->user, "message", message));
		req_ok(r, json_pack("{s:s}", "status", "PENDING"));
		goto out;
	}
	if (group_room(r, &g, 1) == -1)
		goto out;
	if (sstore_group_member_add(r->app, g.id, r->user, "MEMBER",
	    now) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	group_member_event(r, g.id, r->user, NULL, "group.member.joined");
	req_ok(r, json_pack("{s:s}", "status", "JOINED"));
out:
	sstore_group_clear(&g);
}

/* /app/group.quit: a member but the owner leaves. */
void
group_quit(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;

	if (group_load_as(r, &g, &me, NULL, NULL) == -1)
		return;
	if (group_is_owner(&me)) {
		req_fail(r, 403, "the owner cannot quit: transfer the group "
		    "or dismiss it");
		goto out;
	}
	if (sstore_group_member_remove(r->app, g.id, r->user) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	group_member_event(r, g.id, r->user, NULL, "group.member.left");
	req_ok(r, NULL);
out:
	sstore_group_clear(&g);
}

/*
 * /app/group.invite: the owner or an admin (any member if the group is
 * FREE) adds users.
 */
void
group_invite(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	struct idlist	 ids;
	json_t		*added = NULL;
	long long	 now = broker_now_ms();
	size_t		 i;
	int		 rc;

	idlist_init(&ids);
	if (req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1 ||
	    group_load_as(r, &g, &me, NULL, NULL) == -1)
		goto out;
	if (!group_is_manager(&me) && strcmp(g.join_policy, "FREE") != 0) {
		req_fail(r, 403, "only the owner and admins may invite "
		    "(joinPolicy %s)", g.join_policy);
		goto out_group;
	}
	if (group_room(r, &g, ids.n) == -1)
		goto out_group;
	if ((added = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out_group;
	}
	for (i = 0; i < ids.n; i++) {
		if ((rc = sstore_group_member_add(r->app, g.id, ids.v[i],
		    "MEMBER", now)) == -1) {
			req_fail(r, 500, "database error");
			goto out_group;
		}
		if (rc == 1)
			continue;	/* already a member */
		json_array_append_new(added, json_string(ids.v[i]));
		group_member_event(r, g.id, ids.v[i], r->user,
		    "group.member.joined");
	}
	req_ok(r, json_pack("{s:O}", "added", added));
out_group:
	sstore_group_clear(&g);
out:
	json_decref(added);
	idlist_clear(&ids);
}

/*
 * /app/group.kick: the owner removes members; an admin removes plain
 * members only. Every target is checked before any is removed.
 */
void
group_kick(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	struct idlist	 ids, gone;
	json_t		*removed = NULL;
	size_t		 i;
	int		 rc;

	idlist_init(&ids);
	idlist_init(&gone);
	if (req_ids(r, "userIds", REQ_REQUIRED, &ids) == -1 ||
	    group_load_as(r, &g, &me, "manager", "kick members") == -1)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if (strcmp(ids.v[i], r->user) == 0) {
			req_fail(r, 400, "cannot kick yourself: quit instead");
			goto out_group;
		}
		if ((rc = group_find(r, &g, ids.v[i], &m, 0)) == -1)
			goto out_group;
		if (rc == 1)
			continue;	/* not a member: nothing to do */
		if (group_is_owner(&m)) {
			req_fail(r, 403, "the owner cannot be kicked");
			goto out_group;
		}
		if (!group_is_owner(&me) && group_is_manager(&m)) {
			req_fail(r, 403, "admins may kick members only: %s is "
			    "an admin", m.user);
			goto out_group;
		}
		if (idlist_push(&gone, m.user) == -1) {
			req_fail(r, 500, "out of memory");
			goto out_group;
		}
	}
	if ((removed = json_array()) == NULL) {
		req_fail(r, 500, "out of memory");
		goto out_group;
	}
	for (i = 0; i < gone.n; i++) {
		if (sstore_group_member_remove(r->app, g.id, gone.v[i]) == -1) {
			req_fail(r, 500, "database error");
			goto out_group;
		}
		json_array_append_new(removed, json_string(gone.v[i]));
		group_member_event(r, g.id, gone.v[i], r->user,
		    "group.member.kicked");
	}
	req_ok(r, json_pack("{s:O}", "removed", removed));
out_group:
	sstore_group_clear(&g);
out:
	json_decref(removed);
	idlist_clear(&ids);
	idlist_clear(&gone);
}

/* Add one request to the array in arg. */
static int
group_requests_row(const struct srequest *q, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:I}",
	    "userId", q->user, "message", q->message, "createdAt",
	    (json_int_t)q->created_at)) == -1;
}

/* /app/group.requests: the pending join requests, for managers. */
void
group_requests(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	json_t		*list;

	if (group_load_as(r, &g, &me, "manager", "see join requests") == -1)
		return;
	list = json_array();
	req_list(r, list, list == NULL ? -1 :
	    sstore_group_requests(r->app, g.id, group_requests_row, list));
	sstore_group_clear(&g);
}

/* /app/group.approve: a manager accepts or refuses a join request. */
void
group_approve(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	struct srequest	 q;
	const char	*user;
	int		 accept, rc;

	if (req_id(r, "userId", REQ_REQUIRED, &user) == -1 ||
	    req_bool(r, "accept", REQ_REQUIRED, &accept) == -1 ||
	    group_load_as(r, &g, &me, "manager", "answer join requests") == -1)
		return;
	if ((rc = sstore_group_request_get(r->app, g.id, user, &q)) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	if (rc == 1) {
		req_fail(r, 404, "no request from %s to join group %s", user,
		    g.id);
		goto out;
	}
	if (!accept) {
		if (sstore_group_request_del(r->app, g.id, user) == -1) {
			req_fail(r, 500, "database error");
			goto out;
		}
		req_ok(r, NULL);
		goto out;
	}
	if ((rc = group_find(r, &g, user, &m, 0)) == -1)
		goto out;
	if (rc == 1 && group_room(r, &g, 1) == -1)
		goto out;
	if ((rc = sstore_group_member_add(r->app, g.id, user, "MEMBER",
	    broker_now_ms())) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	if (rc == 0)
		group_member_event(r, g.id, user, r->user,
		    "group.member.joined");
	req_ok(r, NULL);
out:
	sstore_group_clear(&g);
}

/*
 * Load the group as a manager (or the owner if owner) and the member named
 * by userId into m. Returns 0, or -1 answered.
 */
static int
group_load_target(struct req *r, struct sgroup *g, struct smember *me,
    struct smember *m, int owner, const char *what)
{
	const char	*user;

	if (req_id(r, "userId", REQ_REQUIRED, &user) == -1 ||
	    group_load_as(r, g, me, owner ? "owner" : "manager", what) == -1)
		return -1;
	if (group_find(r, g, user, m, 1) != 0) {
		sstore_group_clear(g);
		return -1;
	}
	return 0;
}

/* /app/group.role: the owner makes a member an admin or a plain member. */
void
group_role(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	const char	*role;

	if (req_enum(r, "role", REQ_REQUIRED, group_set_roles, &role) == -1 ||
	    group_load_target(r, &g, &me, &m, 1, "change roles") == -1)
		return;
	if (group_is_owner(&m)) {
		req_fail(r, 403, "the owner's role changes only by transfer");
		goto out;
	}
	snprintf(m.role, sizeof m.role, "%s", role);
	if (sstore_group_member_set(r->app, g.id, &m) != 0) {
		req_fail(r, 500, "database error");
		goto out;
	}
	group_member_change(r, g.id, &m, "group.member.role");
	req_ok(r, group_member_json(&m));
out:
	sstore_group_clear(&g);
}

/* /app/group.transfer: the owner hands the group to a member. */
void
group_transfer(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;

	if (group_load_target(r, &g, &me, &m, 1, "transfer the group") == -1)
		return;
	if (group_is_owner(&m)) {
		req_fail(r, 409, "%s already owns group %s", m.user, g.id);
		goto out;
	}
	if (sstore_group_transfer(r->app, g.id, r->user, m.user) == -1) {
		req_fail(r, 500, "database error");
		goto out;
	}
	/* UPSTREAM.md: the old owner becomes a plain member. */
	snprintf(m.role, sizeof m.role, "OWNER");
	m.muted_until = 0;
	snprintf(me.role, sizeof me.role, "MEMBER");
	me.muted_until = 0;
	group_member_change(r, g.id, &m, "group.member.role");
	group_member_change(r, g.id, &me, "group.member.role");
	group_announce(r, g.id, "group.updated", 1);
out:
	sstore_group_clear(&g);
}

/*
 * /app/group.mute: the owner mutes a member for seconds (0 unmutes); an
 * admin mutes plain members only.
 */
void
group_mute(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	long long	 secs;

	if (req_int(r, "seconds", REQ_REQUIRED, 0, GROUP_MUTE_MAX,
	    &secs) == -1 ||
	    group_load_target(r, &g, &me, &m, 0, "mute members") == -1)
		return;
	if (group_is_owner(&m)) {
		req_fail(r, 403, "the owner cannot be muted");
		goto out;
	}
	if (!group_is_owner(&me) && group_is_manager(&m)) {
		req_fail(r, 403, "admins may mute members only: %s is an "
		    "admin", m.user);
		goto out;
	}
	m.muted_until = secs == 0 ? 0 : broker_now_ms() + secs * 1000;
	if (sstore_group_member_set(r->app, g.id, &m) != 0) {
		req_fail(r, 500, "database error");
		goto out;
	}
	group_member_change(r, g.id, &m, "group.member.muted");
	req_ok(r, group_member_json(&m));
out:
	sstore_group_clear(&g);
}

/* /app/group.muteAll: the owner or an admin mutes every plain member. */
void
group_mute_all(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	int		 muted;

	if (req_bool(r, "muted", REQ_REQUIRED, &muted) == -1 ||
	    group_load_as(r, &g, &me, "manager", "mute the group") == -1)
		return;
	g.mute_all = muted;
	if (sstore_group_update(&g) != 0) {
		req_fail(r, 500, "database error");
		goto out;
	}
	group_announce(r, g.id, "group.updated", 1);
out:
	sstore_group_clear(&g);
}
