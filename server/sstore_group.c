/*
 * sstore_group: the store's groups: groups, their members and roles, and
 * the requests to join them. SQL only, through sstore.c's helpers; every
 * permission rule is group.c's; knows nothing of sessions or STOMP.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "sstore_int.h"

#define SSTORE_GCOLUMNS \
	"g.app, g.group_id, g.name, g.owner_id, g.notice, g.avatar, " \
	"g.intro, g.join_policy, g.mute_all, g.created_at, (SELECT count(*) " \
	"FROM group_members c WHERE c.app = g.app AND " \
	"c.group_id = g.group_id)"
#define SSTORE_MEMBER_COLUMNS	"user_id, role, muted_until, joined_at"

enum sstore_group_stmt {
	SGROUP_GROUP_GET,
	SGROUP_GROUP_INSERT,
	SGROUP_GROUP_UPDATE,
	SGROUP_GROUP_DISMISS,
	SGROUP_GROUP_LIST,
	SGROUP_GROUP_OWNER,
	SGROUP_MEMBERS_CLEAR,
	SGROUP_MEMBER_GET,
	SGROUP_MEMBER_IDS,
	SGROUP_MEMBERS,
	SGROUP_MEMBER_ADD,
	SGROUP_MEMBER_DEL,
	SGROUP_MEMBER_SET,
	SGROUP_REQUESTS_CLEAR,
	SGROUP_REQUEST_PUT,
	SGROUP_REQUEST_GET,
	SGROUP_REQUEST_DEL,
	SGROUP_REQUESTS,
	SGROUP_NSTMTS
};

static const char *const sstore_group_sql[SGROUP_NSTMTS] = {
	[SGROUP_GROUP_GET] = "SELECT " SSTORE_GCOLUMNS " FROM chat_groups g"
	    " WHERE g.app = ?1 AND g.group_id = ?2 AND g.dismissed_at = 0",
	/* A dismissed group keeps its id: no new group inherits its past. */
	[SGROUP_GROUP_INSERT] = "INSERT OR IGNORE INTO chat_groups"
	    " (app, group_id, name, owner_id, notice, avatar, intro,"
	    " join_policy, mute_all, created_at, dismissed_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
	[SGROUP_GROUP_UPDATE] = "UPDATE chat_groups SET name = ?3,"
	    " notice = ?4, avatar = ?5, intro = ?6, join_policy = ?7,"
	    " mute_all = ?8 WHERE app = ?1 AND group_id = ?2"
	    " AND dismissed_at = 0",
	[SGROUP_GROUP_DISMISS] = "UPDATE chat_groups SET dismissed_at = ?3"
	    " WHERE app = ?1 AND group_id = ?2 AND dismissed_at = 0",
	[SGROUP_GROUP_LIST] = "SELECT " SSTORE_GCOLUMNS
	    " FROM group_members m JOIN chat_groups g"
	    " ON g.app = m.app AND g.group_id = m.group_id"
	    " WHERE m.app = ?1 AND m.user_id = ?2 AND g.dismissed_at = 0"
	    " ORDER BY g.created_at, g.group_id",
	[SGROUP_GROUP_OWNER] = "UPDATE chat_groups SET owner_id = ?3"
	    " WHERE app = ?1 AND group_id = ?2",
	[SGROUP_MEMBERS_CLEAR] = "DELETE FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2",
	[SGROUP_MEMBER_GET] = "SELECT " SSTORE_MEMBER_COLUMNS
	    " FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SGROUP_MEMBER_IDS] = "SELECT user_id FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND (?3 = 0 OR role <> 'MEMBER')"
	    " ORDER BY user_id",
	[SGROUP_MEMBERS] = "SELECT " SSTORE_MEMBER_COLUMNS
	    " FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND (?3 IS NULL OR role = ?3)"
	    " ORDER BY CASE role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1"
	    " ELSE 2 END, joined_at, user_id LIMIT ?5 OFFSET ?4",
	[SGROUP_MEMBER_ADD] = "INSERT OR IGNORE INTO group_members"
	    " (app, group_id, user_id, role, muted_until, joined_at)"
	    " VALUES (?1, ?2, ?3, ?4, 0, ?5)",
	[SGROUP_MEMBER_DEL] = "DELETE FROM group_members"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SGROUP_MEMBER_SET] = "UPDATE group_members SET role = ?4,"
	    " muted_until = ?5"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SGROUP_REQUESTS_CLEAR] = "DELETE FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2",
	[SGROUP_REQUEST_PUT] = "INSERT INTO group_requests"
	    " (app, group_id, user_id, message, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (app, group_id, user_id) DO UPDATE"
	    " SET message = excluded.message, created_at = excluded.created_at",
	[SGROUP_REQUEST_GET] = "SELECT user_id, message, created_at"
	    " FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SGROUP_REQUEST_DEL] = "DELETE FROM group_requests"
	    " WHERE app = ?1 AND group_id = ?2 AND user_id = ?3",
	[SGROUP_REQUESTS] = "SELECT user_id, message, created_at"
	    " FROM group_requests WHERE app = ?1 AND group_id = ?2"
	    " ORDER BY created_at, user_id",
};

static sqlite3_stmt	*sstore_group_stmts[SGROUP_NSTMTS];

#define ST(x)	(sstore_group_stmts[SGROUP_##x])

/* This file's statements, for sstore_open and sstore_close. */
const struct sstore_part sstore_group_part = {
	sstore_group_sql, sstore_group_stmts, SGROUP_NSTMTS
};

/* Free what a group owns. */
void
sstore_group_clear(struct sgroup *g)
{
	free(g->notice);
	free(g->avatar);
	free(g->intro);
	g->notice = g->avatar = g->intro = NULL;
}

/* Fill g from the current row (SSTORE_GCOLUMNS). Returns 0 or -1. */
static int
sstore_group_row(sqlite3_stmt *st, struct sgroup *g)
{
	memset(g, 0, sizeof *g);
	sstore_copy(st, 0, g->app, sizeof g->app);
	sstore_copy(st, 1, g->id, sizeof g->id);
	sstore_copy(st, 2, g->name, sizeof g->name);
	sstore_copy(st, 3, g->owner, sizeof g->owner);
	sstore_copy(st, 7, g->join_policy, sizeof g->join_policy);
	g->mute_all = sqlite3_column_int(st, 8);
	g->created_at = sqlite3_column_int64(st, 9);
	g->member_count = sqlite3_column_int64(st, 10);
	if ((g->notice = sstore_dup(st, 4)) == NULL ||
	    (g->avatar = sstore_dup(st, 5)) == NULL ||
	    (g->intro = sstore_dup(st, 6)) == NULL) {
		sstore_group_clear(g);
		log_warn("database: out of memory");
		return -1;
	}
	return 0;
}

/*
 * Look up a living group. Returns 0 and fills g (clear it after), 1 if
 * there is none (or it was dismissed), -1 on error.
 */
int
sstore_group_get(const char *app, const char *id, struct sgroup *g)
{
	sqlite3_stmt	*st = ST(GROUP_GET);
	int		 r;

	memset(g, 0, sizeof *g);
	if (sstore_bind(st, "ss", app, id) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_group_row(st, g);
	sstore_reset(st);
	return r;
}

/*
 * Create group g with g->owner as OWNER and every id of members (the owner
 * left out) as MEMBER, all joined at g->created_at. Returns 0, 1 if the id
 * is taken (now or by a dismissed group), -1 on error.
 */
int
sstore_group_create(const struct sgroup *g, const struct idlist *members)
{
	size_t	 i;
	int	 r, ok = 0, taken = 0;

	if (sstore_begin() == -1)
		return -1;
	r = sstore_run(ST(GROUP_INSERT), "ssssssssdi", g->app, g->id, g->name,
	    g->owner, g->notice, g->avatar, g->intro, g->join_policy,
	    g->mute_all, g->created_at);
	if (r <= 0) {
		taken = r == 0;
		goto done;
	}
	if (sstore_run(ST(MEMBER_ADD), "ssssi", g->app, g->id, g->owner,
	    "OWNER", g->created_at) == -1)
		goto done;
	for (i = 0; i < members->n; i++) {
		if (strcmp(members->v[i], g->owner) != 0 &&
		    sstore_run(ST(MEMBER_ADD), "ssssi", g->app, g->id,
		    members->v[i], "MEMBER", g->created_at) == -1)
			goto done;
	}
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return taken ? 1 : -1;
	return 0;
}

/*
 * Write the settings of group g (name, notice, avatar, intro, joinPolicy,
 * muteAll). Returns 0, 1 if there is no such living group, -1 on error.
 */
int
sstore_group_update(const struct sgroup *g)
{
	int	 r;

	r = sstore_run(ST(GROUP_UPDATE), "sssssssd", g->app, g->id, g->name,
	    g->notice, g->avatar, g->intro, g->join_policy, g->mute_all);
	return r == -1 ? -1 : r == 0;
}

/* Dismiss a group: mark it, drop its members and requests. Returns 0 or -1. */
int
sstore_group_dismiss(const char *app, const char *id, long long now)
{
	int	 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(GROUP_DISMISS), "ssi", app, id, now) == -1 ||
	    sstore_run(ST(MEMBERS_CLEAR), "ss", app, id) == -1 ||
	    sstore_run(ST(REQUESTS_CLEAR), "ss", app, id) == -1)
		goto done;
	ok = 1;
done:
	return sstore_end(ok);
}

/* Call cb on every living group user is a member of. Returns 0 or -1. */
int
sstore_group_list(const char *app, const char *user, sstore_group_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = ST(GROUP_LIST);
	struct sgroup	 g;
	int		 r = 0, stop = 0;

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		if (sstore_group_row(st, &g) == -1) {
			sstore_reset(st);
			return -1;
		}
		stop = cb(&g, arg);
		sstore_group_clear(&g);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}

/*
 * Make member to the owner of group id and from (the old owner) a MEMBER.
 * Returns 0 or -1.
 */
int
sstore_group_transfer(const char *app, const char *id, const char *from,
    const char *to)
{
	int	 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(ST(GROUP_OWNER), "sss", app, id, to) == -1 ||
	    sstore_run(ST(MEMBER_SET), "ssssi", app, id, to, "OWNER",
	    0LL) == -1 ||
	    sstore_run(ST(MEMBER_SET), "ssssi", app, id, from, "MEMBER",
	    0LL) == -1)
		goto done;
	ok = 1;
done:
	return sstore_end(ok);
}

/* Fill a member from the current row (SSTORE_MEMBER_COLUMNS). */
static void
sstore_group_member_row(sqlite3_stmt *st, struct smember *m)
{
	memset(m, 0, sizeof *m);
	sstore_copy(st, 0, m->user, sizeof m->user);
	sstore_copy(st, 1, m->role, sizeof m->role);
	m->muted_until = sqlite3_column_int64(st, 2);
	m->joined_at = sqlite3_column_int64(st, 3);
}

/*
 * Look up user in group id. Returns 0 and fills m, 1 if user is not a
 * member, -1 on error.
 */
int
sstore_group_member_get(const char *app, const char *id, const char *user,
    struct smember *m)
{
	sqlite3_stmt	*st = ST(MEMBER_GET);
	int		 r;

	if (sstore_bind(st, "sss", app, id, user) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	sstore_group_member_row(st, m);
	sstore_reset(st);
	return 0;
}

/*
 * Append the ids of the members of group id (only the owner and admins if
 * managers) to out. Returns 0 or -1.
 */
int
sstore_group_member_ids(const char *app, const char *id, int managers,
    struct idlist *out)
{
	if (sstore_bind(ST(MEMBER_IDS), "ssd", app, id, managers != 0) == -1)
		return -1;
	return sstore_ids(ST(MEMBER_IDS), out);
}

/*
 * Call cb on up to limit members of group id from offset on (with role, if
 * not NULL), owner first, then admins, then by joinedAt. Returns the number
 * of rows, or -1.
 */
int
sstore_group_members(const char *app, const char *id, const char *role,
    long long offset, int limit, sstore_member_cb cb, void *arg)
{
	sqlite3_stmt	*st = ST(MEMBERS);
	struct smember	 m;
	int		 r = 0, n = 0, stop = 0;

	if (sstore_bind(st, "sssid", app, id, role, offset, limit) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		sstore_group_member_row(st, &m);
		stop = cb(&m, arg);
		n++;
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? n : -1;
}

/*
 * Add user to group id with role, and drop the user's join request.
 * Returns 0, 1 if user already is a member, -1 on error.
 */
int
sstore_group_member_add(const char *app, const char *id, const char *user,
    const char *role, long long now)
{
	int	 r = 0, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if ((r = sstore_run(ST(MEMBER_ADD), "ssssi", app, id, user, role,
	    now)) == -1 ||
	    sstore_run(ST(REQUEST_DEL), "sss", app, id, user) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	return r == 0;
}

/* Remove user from group id. Returns 0, 1 if not a member, -1 on error. */
int
sstore_group_member_remove(const char *app, const char *id, const char *user)
{
	int	 r;

	r = sstore_run(ST(MEMBER_DEL), "sss", app, id, user);
	return r == -1 ? -1 : r == 0;
}

/* Write a member's role and mutedUntil. Returns 0, 1 if none, -1. */
int
sstore_group_member_set(const char *app, const char *id,
    const struct smember *m)
{
	int	 r;

	r = sstore_run(ST(MEMBER_SET), "ssssi", app, id, m->user, m->role,
	    m->muted_until);
	return r == -1 ? -1 : r == 0;
}

/* Store (or renew) user's request to join group id. Returns 0 or -1. */
int
sstore_group_request_put(const char *app, const char *id, const char *user,
    const char *message, long long now)
{
	return sstore_run(ST(REQUEST_PUT), "ssssi", app, id, user, message,
	    now) == -1 ? -1 : 0;
}

/*
 * Look up user's request to join group id. Returns 0 and fills q, 1 if
 * there is none, -1 on error.
 */
int
sstore_group_request_get(const char *app, const char *id, const char *user,
    struct srequest *q)
{
	sqlite3_stmt	*st = ST(REQUEST_GET);

	if (sstore_bind(st, "sss", app, id, user) == -1)
		return -1;
	return sstore_request_one(st, q);
}

/* Drop user's request to join group id. Returns 0, 1 if none, -1. */
int
sstore_group_request_del(const char *app, const char *id, const char *user)
{
	int	 r;

	r = sstore_run(ST(REQUEST_DEL), "sss", app, id, user);
	return r == -1 ? -1 : r == 0;
}

/* Call cb on every pending request to join group id. Returns 0 or -1. */
int
sstore_group_requests(const char *app, const char *id, sstore_request_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = ST(REQUESTS);

	if (sstore_bind(st, "ss", app, id) == -1)
		return -1;
	return sstore_request_each(st, cb, arg);
}
