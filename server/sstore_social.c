/*
 * sstore_social: the store's social half: friends and friend requests,
 * friend groups, the blacklist, profiles, and each user's conversation
 * settings and read marks. SQL only, through sstore.c's helpers; knows
 * nothing of sessions or STOMP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "sstore_int.h"

/* A friend's columns: the groups it is in as a JSON array, by name. */
#define SSOCIAL_FRIEND_COLUMNS \
	"f.friend_id, f.remark, f.since, (SELECT json_group_array(name)" \
	" FROM (SELECT name FROM friend_group_members m WHERE m.app = f.app" \
	" AND m.user_id = f.user_id AND m.friend_id = f.friend_id" \
	" ORDER BY name))"
#define SSOCIAL_PROFILE_COLUMNS \
	"user_id, nickname, avatar, signature, gender, birthday, custom"

enum sstore_social_stmt {
	SSOCIAL_FRIEND_GET,
	SSOCIAL_FRIENDS,
	SSOCIAL_FRIEND_IDS,
	SSOCIAL_FRIEND_ADD,
	SSOCIAL_FRIEND_DEL,
	SSOCIAL_FRIEND_UNGROUP,
	SSOCIAL_REMARK,
	SSOCIAL_FREQ_PUT,
	SSOCIAL_FREQ_GET,
	SSOCIAL_FREQ_DEL,
	SSOCIAL_FREQS_IN,
	SSOCIAL_FREQS_OUT,
	SSOCIAL_FGROUP_ADD,
	SSOCIAL_FGROUP_COUNT,
	SSOCIAL_FGROUP_EXISTS,
	SSOCIAL_FGROUP_DEL,
	SSOCIAL_FGROUP_RENAME,
	SSOCIAL_FGM_IDS,
	SSOCIAL_FGM_CLEAR,
	SSOCIAL_FGM_RENAME,
	SSOCIAL_FGM_ADD,
	SSOCIAL_FGM_DEL,
	SSOCIAL_FGROUPS,
	SSOCIAL_BLOCK_ADD,
	SSOCIAL_BLOCK_DEL,
	SSOCIAL_BLOCKED,
	SSOCIAL_BLACKLIST,
	SSOCIAL_PROFILE_GET,
	SSOCIAL_PROFILE_PUT,
	SSOCIAL_CONV_GET,
	SSOCIAL_CONV_PUT,
	SSOCIAL_CONVS,
	SSOCIAL_READ_GET,
	SSOCIAL_READ_PUT,
	SSOCIAL_NSTMTS
};

static const char *const sstore_social_sql[SSOCIAL_NSTMTS] = {
	[SSOCIAL_FRIEND_GET] = "SELECT " SSOCIAL_FRIEND_COLUMNS
	    " FROM friends f"
	    " WHERE f.app = ?1 AND f.user_id = ?2 AND f.friend_id = ?3",
	[SSOCIAL_FRIENDS] = "SELECT " SSOCIAL_FRIEND_COLUMNS
	    " FROM friends f WHERE f.app = ?1 AND f.user_id = ?2"
	    " ORDER BY f.since, f.friend_id",
	[SSOCIAL_FRIEND_IDS] = "SELECT friend_id FROM friends"
	    " WHERE app = ?1 AND user_id = ?2 ORDER BY friend_id",
	[SSOCIAL_FRIEND_ADD] = "INSERT OR IGNORE INTO friends"
	    " (app, user_id, friend_id, remark, since)"
	    " VALUES (?1, ?2, ?3, '', ?4)",
	[SSOCIAL_FRIEND_DEL] = "DELETE FROM friends"
	    " WHERE app = ?1 AND user_id = ?2 AND friend_id = ?3",
	[SSOCIAL_FRIEND_UNGROUP] = "DELETE FROM friend_group_members"
	    " WHERE app = ?1 AND user_id = ?2 AND friend_id = ?3",
	[SSOCIAL_REMARK] = "UPDATE friends SET remark = ?4"
	    " WHERE app = ?1 AND user_id = ?2 AND friend_id = ?3",
	[SSOCIAL_FREQ_PUT] = "INSERT INTO friend_requests"
	    " (app, from_id, to_id, message, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (app, from_id, to_id) DO UPDATE"
	    " SET message = excluded.message, created_at = excluded.created_at",
	[SSOCIAL_FREQ_GET] = "SELECT from_id, message, created_at"
	    " FROM friend_requests"
	    " WHERE app = ?1 AND from_id = ?2 AND to_id = ?3",
	[SSOCIAL_FREQ_DEL] = "DELETE FROM friend_requests"
	    " WHERE app = ?1 AND from_id = ?2 AND to_id = ?3",
	[SSOCIAL_FREQS_IN] = "SELECT from_id, message, created_at"
	    " FROM friend_requests WHERE app = ?1 AND to_id = ?2"
	    " ORDER BY created_at, from_id",
	[SSOCIAL_FREQS_OUT] = "SELECT to_id, message, created_at"
	    " FROM friend_requests WHERE app = ?1 AND from_id = ?2"
	    " ORDER BY created_at, to_id",
	[SSOCIAL_FGROUP_ADD] = "INSERT OR IGNORE INTO friend_groups"
	    " (app, user_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
	[SSOCIAL_FGROUP_COUNT] = "SELECT count(*) FROM friend_groups"
	    " WHERE app = ?1 AND user_id = ?2",
	[SSOCIAL_FGROUP_EXISTS] = "SELECT 1 FROM friend_groups"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGROUP_DEL] = "DELETE FROM friend_groups"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGROUP_RENAME] = "UPDATE friend_groups SET name = ?4"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGM_IDS] = "SELECT friend_id FROM friend_group_members"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGM_CLEAR] = "DELETE FROM friend_group_members"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGM_RENAME] = "UPDATE friend_group_members SET name = ?4"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3",
	[SSOCIAL_FGM_ADD] = "INSERT OR IGNORE INTO friend_group_members"
	    " (app, user_id, name, friend_id) VALUES (?1, ?2, ?3, ?4)",
	[SSOCIAL_FGM_DEL] = "DELETE FROM friend_group_members"
	    " WHERE app = ?1 AND user_id = ?2 AND name = ?3 AND friend_id = ?4",
	[SSOCIAL_FGROUPS] = "SELECT g.name, (SELECT json_group_array("
	    "friend_id) FROM (SELECT friend_id FROM friend_group_members m"
	    " WHERE m.app = g.app AND m.user_id = g.user_id AND m.name = g.name"
	    " ORDER BY friend_id)) FROM friend_groups g"
	    " WHERE g.app = ?1 AND g.user_id = ?2"
	    " ORDER BY g.created_at, g.name",
	[SSOCIAL_BLOCK_ADD] = "INSERT OR IGNORE INTO blacklist"
	    " (app, user_id, blocked_id, created_at) VALUES (?1, ?2, ?3, ?4)",
	[SSOCIAL_BLOCK_DEL] = "DELETE FROM blacklist"
	    " WHERE app = ?1 AND user_id = ?2 AND blocked_id = ?3",
	[SSOCIAL_BLOCKED] = "SELECT 1 FROM blacklist"
	    " WHERE app = ?1 AND user_id = ?2 AND blocked_id = ?3",
	[SSOCIAL_BLACKLIST] = "SELECT blocked_id FROM blacklist"
	    " WHERE app = ?1 AND user_id = ?2 ORDER BY created_at, blocked_id",
	[SSOCIAL_PROFILE_GET] = "SELECT " SSOCIAL_PROFILE_COLUMNS
	    " FROM profiles WHERE app = ?1 AND user_id = ?2",
	[SSOCIAL_PROFILE_PUT] = "INSERT INTO profiles"
	    " (app, " SSOCIAL_PROFILE_COLUMNS ", updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	    " ON CONFLICT (app, user_id) DO UPDATE SET"
	    " nickname = excluded.nickname, avatar = excluded.avatar,"
	    " signature = excluded.signature, gender = excluded.gender,"
	    " birthday = excluded.birthday, custom = excluded.custom,"
	    " updated_at = excluded.updated_at",
	[SSOCIAL_CONV_GET] = "SELECT kind, target, pinned, muted, draft"
	    " FROM conversations"
	    " WHERE app = ?1 AND user_id = ?2 AND kind = ?3 AND target = ?4",
	[SSOCIAL_CONV_PUT] = "INSERT INTO conversations"
	    " (app, user_id, kind, target, pinned, muted, draft, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (app, user_id, kind, target) DO UPDATE SET"
	    " pinned = excluded.pinned, muted = excluded.muted,"
	    " draft = excluded.draft, updated_at = excluded.updated_at",
	[SSOCIAL_CONVS] = "SELECT kind, target, pinned, muted, draft"
	    " FROM conversations WHERE app = ?1 AND user_id = ?2"
	    " ORDER BY kind DESC, target",
	[SSOCIAL_READ_GET] = "SELECT msg_id, msg_seq, read_at"
	    " FROM conversation_reads"
	    " WHERE app = ?1 AND user_id = ?2 AND kind = ?3 AND target = ?4",
	[SSOCIAL_READ_PUT] = "INSERT INTO conversation_reads"
	    " (app, user_id, kind, target, msg_id, msg_seq, read_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (app, user_id, kind, target) DO UPDATE SET"
	    " msg_id = excluded.msg_id, msg_seq = excluded.msg_seq,"
	    " read_at = excluded.read_at",
};

static sqlite3_stmt	*sstore_social_stmts[SSOCIAL_NSTMTS];

#define SST(x)	(sstore_social_stmts[SSOCIAL_##x])

/* This file's statements, for sstore_open and sstore_close. */
const struct sstore_part sstore_social_part = {
	sstore_social_sql, sstore_social_stmts, SSOCIAL_NSTMTS
};

/*
 * Whether a bound query gives a row: 1 if it does, 0 if not, -1 on error.
 * The statement is reset after.
 */
static int
sstore_social_exists(sqlite3_stmt *st)
{
	int	 r;

	r = sstore_step(st);
	if (r == 1)
		sstore_reset(st);
	return r;
}

/* The kind column of a conversation: "P" or "G". */
static const char *
sstore_social_kind(char kind)
{
	return kind == CONV_GROUP ? "G" : "P";
}

/* Free what a friend owns. */
void
sstore_social_friend_clear(struct sfriend *f)
{
	free(f->groups);
	f->groups = NULL;
}

/* Fill f from the current row (SSOCIAL_FRIEND_COLUMNS). Returns 0 or -1. */
static int
sstore_social_friend_row(sqlite3_stmt *st, struct sfriend *f)
{
	memset(f, 0, sizeof *f);
	sstore_copy(st, 0, f->user, sizeof f->user);
	sstore_copy(st, 1, f->remark, sizeof f->remark);
	f->since = sqlite3_column_int64(st, 2);
	if ((f->groups = sstore_dup(st, 3)) == NULL) {
		log_warn("database: out of memory");
		return -1;
	}
	return 0;
}

/*
 * Look up friend of user. Returns 0 and fills f (clear it after), 1 if they
 * are not friends, -1 on error.
 */
int
sstore_social_friend_get(const char *app, const char *user,
    const char *friend, struct sfriend *f)
{
	sqlite3_stmt	*st = SST(FRIEND_GET);
	int		 r;

	memset(f, 0, sizeof *f);
	if (sstore_bind(st, "sss", app, user, friend) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_social_friend_row(st, f);
	sstore_reset(st);
	return r;
}

/* Call cb on every friend of user, oldest friendship first. Returns 0, -1. */
int
sstore_social_friends(const char *app, const char *user, sstore_friend_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = SST(FRIENDS);
	struct sfriend	 f;
	int		 r = 0, stop = 0;

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		if (sstore_social_friend_row(st, &f) == -1) {
			sstore_reset(st);
			return -1;
		}
		stop = cb(&f, arg);
		sstore_social_friend_clear(&f);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}

/* Append the ids of user's friends to out. Returns 0 or -1. */
int
sstore_social_friend_ids(const char *app, const char *user,
    struct idlist *out)
{
	if (sstore_bind(SST(FRIEND_IDS), "ss", app, user) == -1)
		return -1;
	return sstore_ids(SST(FRIEND_IDS), out);
}

/*
 * Make a and b friends (both ways, since now) and drop the friend requests
 * between them. Returns 0 or -1.
 */
int
sstore_social_befriend(const char *app, const char *a, const char *b,
    long long now)
{
	int	 ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_run(SST(FRIEND_ADD), "sssi", app, a, b, now) == -1 ||
	    sstore_run(SST(FRIEND_ADD), "sssi", app, b, a, now) == -1 ||
	    sstore_run(SST(FREQ_DEL), "sss", app, a, b) == -1 ||
	    sstore_run(SST(FREQ_DEL), "sss", app, b, a) == -1)
		goto done;
	ok = 1;
done:
	return sstore_end(ok);
}

/*
 * End the friendship of a and b, both ways, with their remarks and friend
 * group entries. Returns 0, 1 if b was not a's friend, -1 on error.
 */
int
sstore_social_unfriend(const char *app, const char *a, const char *b)
{
	int	 r = 0, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if ((r = sstore_run(SST(FRIEND_DEL), "sss", app, a, b)) == -1 ||
	    sstore_run(SST(FRIEND_DEL), "sss", app, b, a) == -1 ||
	    sstore_run(SST(FRIEND_UNGROUP), "sss", app, a, b) == -1 ||
	    sstore_run(SST(FRIEND_UNGROUP), "sss", app, b, a) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	return r == 0;
}

/* Set user's remark of friend. Returns 0, 1 if not friends, -1. */
int
sstore_social_remark(const char *app, const char *user, const char *friend,
    const char *remark)
{
	int	 r;

	r = sstore_run(SST(REMARK), "ssss", app, user, friend, remark);
	return r == -1 ? -1 : r == 0;
}

/* Store (or renew) from's friend request to to. Returns 0 or -1. */
int
sstore_social_freq_put(const char *app, const char *from, const char *to,
    const char *message, long long now)
{
	return sstore_run(SST(FREQ_PUT), "ssssi", app, from, to, message,
	    now) == -1 ? -1 : 0;
}

/*
 * Look up from's friend request to to. Returns 0 and fills q (q->user is
 * from), 1 if there is none, -1 on error.
 */
int
sstore_social_freq_get(const char *app, const char *from, const char *to,
    struct srequest *q)
{
	sqlite3_stmt	*st = SST(FREQ_GET);

	if (sstore_bind(st, "sss", app, from, to) == -1)
		return -1;
	return sstore_request_one(st, q);
}

/* Drop from's friend request to to. Returns 0, 1 if none, -1. */
int
sstore_social_freq_del(const char *app, const char *from, const char *to)
{
	int	 r;

	r = sstore_run(SST(FREQ_DEL), "sss", app, from, to);
	return r == -1 ? -1 : r == 0;
}

/*
 * Call cb on user's friend requests: those sent to user if incoming (each
 * q->user the sender), else those user sent (q->user the target). Returns
 * 0 or -1.
 */
int
sstore_social_freqs(const char *app, const char *user, int incoming,
    sstore_request_cb cb, void *arg)
{
	sqlite3_stmt	*st = incoming ? SST(FREQS_IN) : SST(FREQS_OUT);

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	return sstore_request_each(st, cb, arg);
}

/*
 * Create user's friend group name. Returns 0, 1 if it exists, 2 if user
 * has FGROUPS_MAX already, -1 on error.
 */
int
sstore_social_fgroup_create(const char *app, const char *user,
    const char *name, long long now)
{
	sqlite3_stmt	*st = SST(FGROUP_COUNT);
	long long	 n;
	int		 r;

	if (sstore_bind(SST(FGROUP_EXISTS), "sss", app, user, name) == -1 ||
	    (r = sstore_social_exists(SST(FGROUP_EXISTS))) == -1)
		return -1;
	if (r == 1)
		return 1;
	if (sstore_bind(st, "ss", app, user) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	n = r == 1 ? sqlite3_column_int64(st, 0) : 0;
	sstore_reset(st);
	if (n >= FGROUPS_MAX)
		return 2;
	return sstore_run(SST(FGROUP_ADD), "sssi", app, user, name, now) ==
	    -1 ? -1 : 0;
}

/*
 * Delete user's friend group name, appending the ids of its friends to
 * out. Returns 0, 1 if there is no such group, -1 on error.
 */
int
sstore_social_fgroup_delete(const char *app, const char *user,
    const char *name, struct idlist *out)
{
	int	 r = 0, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_bind(SST(FGM_IDS), "sss", app, user, name) == -1 ||
	    sstore_ids(SST(FGM_IDS), out) == -1 ||
	    (r = sstore_run(SST(FGROUP_DEL), "sss", app, user, name)) == -1 ||
	    sstore_run(SST(FGM_CLEAR), "sss", app, user, name) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	return r == 0;
}

/*
 * Rename user's friend group name to to, appending the ids of its friends
 * to out. Returns 0, 1 if there is no such group, 2 if to exists, -1.
 */
int
sstore_social_fgroup_rename(const char *app, const char *user,
    const char *name, const char *to, struct idlist *out)
{
	int	 r, ret = -1, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if (sstore_bind(SST(FGROUP_EXISTS), "sss", app, user, name) == -1 ||
	    (r = sstore_social_exists(SST(FGROUP_EXISTS))) == -1)
		goto done;
	if (r == 0) {
		ret = 1;
		goto done;
	}
	if (sstore_bind(SST(FGROUP_EXISTS), "sss", app, user, to) == -1 ||
	    (r = sstore_social_exists(SST(FGROUP_EXISTS))) == -1)
		goto done;
	if (r == 1) {
		ret = 2;
		goto done;
	}
	if (sstore_bind(SST(FGM_IDS), "sss", app, user, name) == -1 ||
	    sstore_ids(SST(FGM_IDS), out) == -1 ||
	    sstore_run(SST(FGROUP_RENAME), "ssss", app, user, name, to) == -1 ||
	    sstore_run(SST(FGM_RENAME), "ssss", app, user, name, to) == -1)
		goto done;
	ok = 1;
	ret = 0;
done:
	/* Nothing changed on a refusal: the rollback costs nothing. */
	if (sstore_end(ok) == -1 && ok)
		return -1;
	return ret;
}

/*
 * Put friend in user's friend group name (add) or take it out. Returns 0,
 * 1 if there is no such group, -1 on error.
 */
int
sstore_social_fgroup_member(const char *app, const char *user,
    const char *name, const char *friend, int add)
{
	int	 r;

	if (sstore_bind(SST(FGROUP_EXISTS), "sss", app, user, name) == -1 ||
	    (r = sstore_social_exists(SST(FGROUP_EXISTS))) == -1)
		return -1;
	if (r == 0)
		return 1;
	r = sstore_run(add ? SST(FGM_ADD) : SST(FGM_DEL), "ssss", app, user,
	    name, friend);
	return r == -1 ? -1 : 0;
}

/*
 * Call cb with the name and the friends (a JSON array of ids) of each of
 * user's friend groups. Returns 0 or -1.
 */
int
sstore_social_fgroups(const char *app, const char *user, sstore_fgroup_cb cb,
    void *arg)
{
	sqlite3_stmt		*st = SST(FGROUPS);
	const unsigned char	*name, *ids;
	int			 r = 0, stop = 0;

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		name = sqlite3_column_text(st, 0);
		ids = sqlite3_column_text(st, 1);
		if (name == NULL || ids == NULL) {
			log_warn("database: out of memory");
			sstore_reset(st);
			return -1;
		}
		stop = cb((const char *)name, (const char *)ids, arg);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}

/*
 * Put target on user's blacklist, dropping target's friend request to
 * user. Returns 0, 1 if it was there already, -1 on error.
 */
int
sstore_social_block(const char *app, const char *user, const char *target,
    long long now)
{
	int	 r = 0, ok = 0;

	if (sstore_begin() == -1)
		return -1;
	if ((r = sstore_run(SST(BLOCK_ADD), "sssi", app, user, target,
	    now)) == -1 ||
	    sstore_run(SST(FREQ_DEL), "sss", app, target, user) == -1)
		goto done;
	ok = 1;
done:
	if (sstore_end(ok) == -1)
		return -1;
	return r == 0;
}

/* Take target off user's blacklist. Returns 0, 1 if not on it, -1. */
int
sstore_social_unblock(const char *app, const char *user, const char *target)
{
	int	 r;

	r = sstore_run(SST(BLOCK_DEL), "sss", app, user, target);
	return r == -1 ? -1 : r == 0;
}

/* Whether user has blocked target: 1, 0, or -1 on error. */
int
sstore_social_blocked(const char *app, const char *user, const char *target)
{
	if (sstore_bind(SST(BLOCKED), "sss", app, user, target) == -1)
		return -1;
	return sstore_social_exists(SST(BLOCKED));
}

/* Append the ids on user's blacklist to out. Returns 0 or -1. */
int
sstore_social_blacklist(const char *app, const char *user,
    struct idlist *out)
{
	if (sstore_bind(SST(BLACKLIST), "ss", app, user) == -1)
		return -1;
	return sstore_ids(SST(BLACKLIST), out);
}

/* Free what a profile owns. */
void
sstore_social_profile_clear(struct sprofile *p)
{
	free(p->avatar);
	free(p->signature);
	free(p->custom);
	p->avatar = p->signature = p->custom = NULL;
}

/*
 * Read user's profile into p (clear it after); a user who never set one
 * gets the empty profile. Returns 0 or -1.
 */
int
sstore_social_profile_get(const char *app, const char *user,
    struct sprofile *p)
{
	sqlite3_stmt	*st = SST(PROFILE_GET);
	int		 r;

	memset(p, 0, sizeof *p);
	snprintf(p->user, sizeof p->user, "%s", user);
	if (sstore_bind(st, "ss", app, user) == -1 ||
	    (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0) {
		snprintf(p->gender, sizeof p->gender, "UNKNOWN");
		p->avatar = strdup("");
		p->signature = strdup("");
		p->custom = strdup("{}");
	} else {
		sstore_copy(st, 1, p->nickname, sizeof p->nickname);
		sstore_copy(st, 4, p->gender, sizeof p->gender);
		sstore_copy(st, 5, p->birthday, sizeof p->birthday);
		p->avatar = sstore_dup(st, 2);
		p->signature = sstore_dup(st, 3);
		p->custom = sstore_dup(st, 6);
		sstore_reset(st);
	}
	if (p->avatar == NULL || p->signature == NULL || p->custom == NULL) {
		sstore_social_profile_clear(p);
		log_warn("database: out of memory");
		return -1;
	}
	return 0;
}

/* Write the profile p of app. Returns 0 or -1. */
int
sstore_social_profile_put(const char *app, const struct sprofile *p,
    long long now)
{
	return sstore_run(SST(PROFILE_PUT), "ssssssssi", app, p->user,
	    p->nickname, p->avatar, p->signature, p->gender, p->birthday,
	    p->custom, now) == -1 ? -1 : 0;
}

/* Free what conversation settings own. */
void
sstore_social_conv_clear(struct sconv *c)
{
	free(c->draft);
	c->draft = NULL;
}

/* Fill c from the current row (kind, target, pinned, muted, draft). */
static int
sstore_social_conv_row(sqlite3_stmt *st, struct sconv *c)
{
	const unsigned char	*k;

	memset(c, 0, sizeof *c);
	k = sqlite3_column_text(st, 0);
	c->kind = k != NULL && *k == 'G' ? CONV_GROUP : CONV_PEER;
	sstore_copy(st, 1, c->target, sizeof c->target);
	c->pinned = sqlite3_column_int(st, 2);
	c->muted = sqlite3_column_int(st, 3);
	if ((c->draft = sstore_dup(st, 4)) == NULL) {
		log_warn("database: out of memory");
		return -1;
	}
	return 0;
}

/*
 * Read user's settings of a conversation into c (clear it after). Returns
 * 0, 1 if none are stored (c then holds the defaults), -1 on error.
 */
int
sstore_social_conv_get(const char *app, const char *user, char kind,
    const char *target, struct sconv *c)
{
	sqlite3_stmt	*st = SST(CONV_GET);
	int		 r;

	memset(c, 0, sizeof *c);
	if (sstore_bind(st, "ssss", app, user, sstore_social_kind(kind),
	    target) == -1 || (r = sstore_step(st)) == -1)
		return -1;
	if (r == 1) {
		r = sstore_social_conv_row(st, c);
		sstore_reset(st);
		return r;
	}
	c->kind = kind;
	snprintf(c->target, sizeof c->target, "%s", target);
	if ((c->draft = strdup("")) == NULL)
		return -1;
	return 1;
}

/* Write user's settings c of a conversation. Returns 0 or -1. */
int
sstore_social_conv_put(const char *app, const char *user,
    const struct sconv *c, long long now)
{
	return sstore_run(SST(CONV_PUT), "ssssddsi", app, user,
	    sstore_social_kind(c->kind), c->target, c->pinned != 0,
	    c->muted != 0, c->draft, now) == -1 ? -1 : 0;
}

/* Call cb on every stored conversation setting of user. Returns 0 or -1. */
int
sstore_social_convs(const char *app, const char *user, sstore_conv_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = SST(CONVS);
	struct sconv	 c;
	int		 r = 0, stop = 0;

	if (sstore_bind(st, "ss", app, user) == -1)
		return -1;
	while (!stop && (r = sstore_step(st)) == 1) {
		if (sstore_social_conv_row(st, &c) == -1) {
			sstore_reset(st);
			return -1;
		}
		stop = cb(&c, arg);
		sstore_social_conv_clear(&c);
	}
	if (stop)
		sstore_reset(st);
	return stop || r == 0 ? 0 : -1;
}

/*
 * Read where user has read a conversation up to. Returns 0 and fills rd,
 * 1 if nothing was read yet, -1 on error.
 */
int
sstore_social_read_get(const char *app, const char *user, char kind,
    const char *target, struct sread *rd)
{
	sqlite3_stmt	*st = SST(READ_GET);
	int		 r;

	if (sstore_bind(st, "ssss", app, user, sstore_social_kind(kind),
	    target) == -1 || (r = sstore_step(st)) == -1)
		return -1;
	if (r == 0)
		return 1;
	memset(rd, 0, sizeof *rd);
	sstore_copy(st, 0, rd->msg_id, sizeof rd->msg_id);
	rd->msg_seq = sqlite3_column_int64(st, 1);
	rd->read_at = sqlite3_column_int64(st, 2);
	sstore_reset(st);
	return 0;
}

/* Write where user has read a conversation up to. Returns 0 or -1. */
int
sstore_social_read_put(const char *app, const char *user, char kind,
    const char *target, const struct sread *rd)
{
	return sstore_run(SST(READ_PUT), "sssssii", app, user,
	    sstore_social_kind(kind), target, rd->msg_id, rd->msg_seq,
	    rd->read_at) == -1 ? -1 : 0;
}
