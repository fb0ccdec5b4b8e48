/*
 * m_group: the group.* methods. Most are the server's (forwarded, cached by
 * social.c); searches read the cache; follows are local: a seed-only server
 * has no group API over STOMP (the vendor manages groups elsewhere), so a
 * user names the groups it is in, and /topic/group/{id} is subscribed after
 * every connect, with extensions too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "social.h"
#include "store.h"

/* Subscribe to every followed group (the session just came up). */
void
group_follow_all(void)
{
	json_t	*all, *f;
	size_t	 i;

	if ((all = store_obj_list(store, "follow", "")) == NULL) {
		log_warn("cannot read followed groups: %s", store_error(store));
		return;
	}
	json_array_foreach(all, i, f)
		session_join_group(json_string_value(json_object_get(f, "group")), 1);
	json_decref(all);
}

/* group.follow {group}: get a group's messages, now and after each connect. */
static int
m_group_follow(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	const char	*group;
	json_t		*f;
	int		 rc;

	if (arg_string(args, "group", 1, 64, &group, error) == -1)
		return 0;
	if (!conv_valid_id(group)) {
		*error = rpc_error_new(RPC_E_BAD_PARAMS,
		    "'group' must be 1-64 characters of A-Z a-z 0-9 _ . @ -");
		return 0;
	}
	f = json_pack("{s:s,s:I}", "group", group, "since",
	    (json_int_t)time(NULL) * 1000);
	rc = store_obj_put(store, "follow", group, f);
	json_decref(f);
	if (rc == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	session_join_group(group, 1);
	*result = json_pack("{s:s,s:b}", "group", group, "following", 1);
	return 0;
}

/* group.unfollow {group}: stop following (a group the server lists stays). */
static int
m_group_unfollow(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	const char	*group;
	json_t		*known;

	if (arg_string(args, "group", 1, 64, &group, error) == -1)
		return 0;
	if (store_obj_del(store, "follow", group, 0) == -1) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	/* A group we are in by the server's word keeps its channel. */
	if ((known = store_obj_get(store, "group", group)) == NULL)
		session_join_group(group, 0);
	json_decref(known);
	*result = json_pack("{s:s,s:b}", "group", group, "following", 0);
	return 0;
}

/* group.followed: the groups followed by id. */
static int
m_group_followed(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	json_t	*all, *f, *ids;
	size_t	 i;

	if ((all = store_obj_list(store, "follow", "")) == NULL) {
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
		return 0;
	}
	ids = json_array();
	json_array_foreach(all, i, f)
		json_array_append(ids, json_object_get(f, "group"));
	json_decref(all);
	*result = json_pack("{s:o}", "groups", ids);
	return 0;
}

/* group.search {text}: my groups by id or name, from the cache. */
static int
m_group_search(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	static const char *const fields[] = { "groupId", "name", NULL };

	return social_search(args, "group", "", fields, result, error);
}

/* group.member.search {group, text}: cached members by id or nickname. */
static int
m_group_member_search(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	static const char *const fields[] = { "userId", "nickname", NULL };
	const char	*group;
	char		 prefix[80];

	if (arg_string(args, "group", 1, 64, &group, error) == -1)
		return 0;
	snprintf(prefix, sizeof prefix, "%s/", group);
	return social_search(args, "member", prefix, fields, result, error);
}

#define G	"group:id "
static const struct method rows[] = {
	FORWARD("group.create", "/app/group.create", "name:string users?:array "
	    "joinPolicy?:string notice?:string avatar?:string intro?:string "
	    "group?:id", "create a group", social_apply_group, NULL, NULL),
	FORWARD("group.dismiss", "/app/group.dismiss", G, "dismiss a group "
	    "(owner)", social_apply_gone, NULL, NULL),
	FORWARD("group.update", "/app/group.update",
	    G "name?:string notice?:string avatar?:string intro?:string "
	    "joinPolicy?:string",
	    "change a group's information", social_apply_group, NULL, NULL),
	FORWARD("group.list", "/app/group.list", "", "my groups",
	    social_apply_groups, social_cached_groups, NULL),
	FORWARD("group.info", "/app/group.info", G, "a group's information",
	    social_apply_group_info, social_cached_group, NULL),
	FORWARD("group.members", "/app/group.members",
	    G "role?:string offset?:int limit?:int", "a group's members",
	    social_apply_members, social_cached_members, NULL),
	FORWARD("group.join", "/app/group.join", G "message?:string", "join, "
	    "or ask to join", social_apply_joined, NULL, NULL),
	FORWARD("group.quit", "/app/group.quit", G, "leave a group",
	    social_apply_gone, NULL, NULL),
	FORWARD("group.invite", "/app/group.invite", G "users:array", "add "
	    "members", NULL, NULL, NULL),
	FORWARD("group.kick", "/app/group.kick", G "users:array", "remove "
	    "members", NULL, NULL, NULL),
	FORWARD("group.requests", "/app/group.requests", G, "pending join "
	    "requests", NULL, NULL, NULL),
	FORWARD("group.approve", "/app/group.approve", G "user:id accept:bool",
	    "accept or refuse a join request", NULL, NULL, NULL),
	FORWARD("group.role", "/app/group.role", G "user:id role:string",
	    "make ADMIN or MEMBER (owner)", social_apply_member, NULL, NULL),
	FORWARD("group.transfer", "/app/group.transfer", G "user:id", "hand "
	    "the group to another member (owner)", social_apply_group, NULL,
	    NULL),
	FORWARD("group.mute", "/app/group.mute", G "user:id seconds:int",
	    "mute a member for a time (0 unmutes)", social_apply_member, NULL,
	    NULL),
	FORWARD("group.muteAll", "/app/group.muteAll", G "muted:bool", "mute "
	    "everyone but owner and admins", social_apply_group, NULL, NULL),
	METHOD("group.search", m_group_search, "text:string", "my groups by id "
	    "or name (cache)"),
	METHOD("group.member.search", m_group_member_search, "group:id "
	    "text:string", "a group's members by id or nickname (cache)"),
	METHOD("group.follow", m_group_follow, "group:id", "receive a group's "
	    "messages (after every connect too)"),
	METHOD("group.unfollow", m_group_unfollow, "group:id", "stop following "
	    "a group"),
	METHOD("group.followed", m_group_followed, "", "the groups followed"),
};
#undef G
const struct method_rows group_methods = METHOD_ROWS(rows);
