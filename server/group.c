/*
 * group: the group.* destinations of a group as a whole (UPSTREAM.md
 * "Groups"): create, dismiss, update, list, info, muteAll, and the helpers
 * group_member.c shares. Every permission rule is checked here or there; the
 * store only keeps what was decided.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "server.h"
#include "group_int.h"

static const char *const group_policies[] = {
	"FREE", "APPROVAL", "FORBIDDEN", NULL
};

/* Whether a member is the group's owner or an admin. */
int
group_is_manager(const struct smember *m)
{
	return strcmp(m->role, "OWNER") == 0 || strcmp(m->role, "ADMIN") == 0;
}

/* Whether a member is the group's owner. */
int
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

/*
 * Read groupId and load the living group into g (clear it after). Returns
 * 0, or -1 with the request answered (404 if there is no such group).
 */
int
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
int
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
int
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
void
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
int
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
