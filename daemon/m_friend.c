/*
 * m_friend: the friend.*, blacklist.* and profile.* methods. The server
 * owns them: each is forwarded (forward.c) and its answer cached
 * (social.c); reads come from the cache when the server cannot answer.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "rpc.h"
#include "social.h"

/* friend.search {text}: friends by id, remark or nickname, from the cache. */
static int
m_friend_search(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	static const char *const fields[] = { "userId", "remark", NULL };

	return social_search(args, "friend", "", fields, result, error);
}

static const struct method rows[] = {
	FORWARD("friend.request", "/app/friend.request", "user:id "
	    "message?:string", "ask to be friends", NULL, NULL, NULL),
	FORWARD("friend.respond", "/app/friend.respond", "user:id accept:bool",
	    "accept or refuse a friend request", social_apply_refresh_friends,
	    NULL, NULL),
	FORWARD("friend.requests", "/app/friend.requests", "", "friend "
	    "requests in and out", NULL, NULL, NULL),
	FORWARD("friend.delete", "/app/friend.delete", "users:array", "delete "
	    "friends", social_apply_unfriend, NULL, NULL),
	FORWARD("friend.list", "/app/friend.list", "", "my friends",
	    social_apply_friends, social_cached_friends, NULL),
	FORWARD("friend.check", "/app/friend.check", "users:array", "the "
	    "relation with each user", NULL, NULL, NULL),
	FORWARD("friend.remark", "/app/friend.remark", "user:id remark:string",
	    "set a friend's remark (alias)", social_apply_friend, NULL, NULL),
	FORWARD("friend.group.create", "/app/friend.group.create",
	    "name:string", "create a friend group",
	    social_apply_refresh_friends, NULL, NULL),
	FORWARD("friend.group.delete", "/app/friend.group.delete",
	    "name:string", "delete a friend group",
	    social_apply_refresh_friends, NULL, NULL),
	FORWARD("friend.group.rename", "/app/friend.group.rename",
	    "name:string newName:string", "rename a friend group",
	    social_apply_refresh_friends, NULL, NULL),
	FORWARD("friend.group.list", "/app/friend.group.list", "", "my friend "
	    "groups", NULL, NULL, NULL),
	FORWARD("friend.group.add", "/app/friend.group.add", "name:string "
	    "users:array", "put friends in a friend group",
	    social_apply_refresh_friends, NULL, NULL),
	FORWARD("friend.group.remove", "/app/friend.group.remove",
	    "name:string users:array", "take friends out of a friend group",
	    social_apply_refresh_friends, NULL, NULL),
	FORWARD("blacklist.add", "/app/blacklist.add", "users:array", "block "
	    "users", social_apply_block, NULL, NULL),
	FORWARD("blacklist.remove", "/app/blacklist.remove", "users:array",
	    "unblock users", social_apply_unblock, NULL, NULL),
	FORWARD("blacklist.list", "/app/blacklist.list", "", "blocked users",
	    social_apply_blacklist, social_cached_blacklist, NULL),
	FORWARD("profile.get", "/app/profile.get", "users:array", "users' "
	    "profiles", social_apply_profiles, social_cached_profiles, NULL),
	FORWARD("profile.set", "/app/profile.set", "nickname?:string "
	    "avatar?:string signature?:string gender?:string birthday?:string "
	    "custom?:object", "change my profile", social_apply_profile, NULL,
	    NULL),
	METHOD("friend.search", m_friend_search, "text:string", "friends by "
	    "id, remark or nickname (cache)"),
};
const struct method_rows friend_methods = METHOD_ROWS(rows);
