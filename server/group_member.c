/*
 * group_member: the group.* destinations of membership (UPSTREAM.md
 * "Groups"): members, join, quit, invite, kick, join requests, roles,
 * transfer and mutes, and their group.member.* events. Every permission
 * rule is checked here; the store only keeps what was decided.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "server.h"
#include "group_int.h"

#define GROUP_MEMBERS_LIMIT	100	/* group.members page by default */
#define GROUP_MEMBERS_PAGE	500	/* largest group.members page */
#define GROUP_MUTE_MAX		(10LL * 366 * 86400)	/* s */

static const char *const group_member_roles[] = {
	"OWNER", "ADMIN", "MEMBER", NULL
};
static const char *const group_member_set_roles[] = {
	"ADMIN", "MEMBER", NULL
};

/* The member object of UPSTREAM.md. */
static json_t *
group_member_json(const struct smember *m)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "userId", m->user,
	    "role", m->role, "mutedUntil", (json_int_t)m->muted_until,
	    "joinedAt", (json_int_t)m->joined_at);
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

/* Add one member to the array in arg. */
static int
group_member_list_row(const struct smember *m, void *arg)
{
	return json_array_append_new(arg, group_member_json(m)) == -1;
}

/* /app/group.members: a page of the members, for members. */
void
group_member_list(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	const char	*role = NULL;
	json_t		*list = NULL;
	long long	 offset = 0, limit = GROUP_MEMBERS_LIMIT;
	int		 more;

	if (req_enum(r, "role", 0, group_member_roles, &role) == -1 ||
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
	    group_member_list_row, list) == -1) {
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
group_member_room(struct req *r, const struct sgroup *g, size_t n)
{
	if (g->member_count + (long long)n <= GROUP_MEMBERS_MAX)
		return 0;
	req_fail(r, 409, "group %s is full (%d members at most)", g->id,
	    GROUP_MEMBERS_MAX);
	return -1;
}

/* /app/group.join: join a FREE group, or ask to join an APPROVAL one. */
void
group_member_join(struct req *r)
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
	if (group_member_room(r, &g, 1) == -1)
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
group_member_quit(struct req *r)
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
group_member_invite(struct req *r)
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
	if (group_member_room(r, &g, ids.n) == -1)
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
group_member_kick(struct req *r)
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

/* /app/group.requests: the pending join requests, for managers. */
void
group_member_requests(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me;
	json_t		*list;

	if (group_load_as(r, &g, &me, "manager", "see join requests") == -1)
		return;
	list = json_array();
	req_list(r, list, list == NULL ? -1 :
	    sstore_group_requests(r->app, g.id, req_request_row, list));
	sstore_group_clear(&g);
}

/* /app/group.approve: a manager accepts or refuses a join request. */
void
group_member_approve(struct req *r)
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
	if (rc == 1 && group_member_room(r, &g, 1) == -1)
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
group_member_load_target(struct req *r, struct sgroup *g, struct smember *me,
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
group_member_role(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	const char	*role;

	if (req_enum(r, "role", REQ_REQUIRED, group_member_set_roles,
	    &role) == -1 ||
	    group_member_load_target(r, &g, &me, &m, 1, "change roles") == -1)
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
group_member_transfer(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;

	if (group_member_load_target(r, &g, &me, &m, 1,
	    "transfer the group") == -1)
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
group_member_mute(struct req *r)
{
	struct sgroup	 g;
	struct smember	 me, m;
	long long	 secs;

	if (req_int(r, "seconds", REQ_REQUIRED, 0, GROUP_MUTE_MAX,
	    &secs) == -1 ||
	    group_member_load_target(r, &g, &me, &m, 0, "mute members") == -1)
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
