/*
 * m_social: groups, friends, blacklist and profiles. The server owns these
 * (proto/UPSTREAM.md, "The full IM surface"); this file forwards each call
 * upstream, keeps a cache of what the answers and the server's events say,
 * answers reads from that cache while offline, and turns the server's
 * events into local ones. The table below is the whole mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "store.h"

typedef void	 apply_fn(json_t *args, json_t *data);
typedef json_t	*cached_fn(json_t *args);
typedef json_t	*answer_fn(json_t *args, json_t *data);

struct forward {
	const char	*method;	/* local name */
	const char	*dest;		/* /app/... */
	const char	*params;	/* for rpc.describe (dispatch.c's format) */
	const char	*summary;
	apply_fn	*apply;		/* cache update from a successful answer */
	cached_fn	*cached;	/* the answer from the cache, offline */
	answer_fn	*answer;	/* the answer, when not the server's data */
};

static apply_fn	 apply_group_info, apply_joined, apply_refresh_friends;
static apply_fn	 apply_group, apply_groups, apply_gone, apply_members,
		 apply_member, apply_friends, apply_friend, apply_unfriend,
		 apply_blacklist, apply_block, apply_unblock, apply_profiles,
		 apply_profile, apply_message, apply_messages;
static cached_fn cached_groups, cached_group, cached_members, cached_friends,
		 cached_blacklist, cached_profiles;
static answer_fn answer_message, answer_messages;

#define G	"group:id "
static const struct forward forwards[] = {
	{ "group.create", "/app/group.create", "name:string users?:array "
	    "joinPolicy?:string notice?:string avatar?:string intro?:string "
	    "group?:id", "create a group", apply_group, NULL, NULL },
	{ "group.dismiss", "/app/group.dismiss", G, "dismiss a group (owner)",
	    apply_gone, NULL, NULL },
	{ "group.update", "/app/group.update", G "name?:string notice?:string "
	    "avatar?:string intro?:string joinPolicy?:string",
	    "change a group's information", apply_group, NULL, NULL },
	{ "group.list", "/app/group.list", "", "my groups", apply_groups,
	    cached_groups, NULL },
	{ "group.info", "/app/group.info", G, "a group's information",
	    apply_group_info, cached_group, NULL },
	{ "group.members", "/app/group.members", G "role?:string offset?:int "
	    "limit?:int", "a group's members", apply_members, cached_members, NULL },
	{ "group.join", "/app/group.join", G "message?:string",
	    "join, or ask to join", apply_joined, NULL, NULL },
	{ "group.quit", "/app/group.quit", G, "leave a group", apply_gone, NULL,
	    NULL },
	{ "group.invite", "/app/group.invite", G "users:array",
	    "add members", NULL, NULL, NULL },
	{ "group.kick", "/app/group.kick", G "users:array",
	    "remove members", NULL, NULL, NULL },
	{ "group.requests", "/app/group.requests", G,
	    "pending join requests", NULL, NULL, NULL },
	{ "group.approve", "/app/group.approve", G "user:id accept:bool",
	    "accept or refuse a join request", NULL, NULL, NULL },
	{ "group.role", "/app/group.role", G "user:id role:string",
	    "make ADMIN or MEMBER (owner)", apply_member, NULL, NULL },
	{ "group.transfer", "/app/group.transfer", G "user:id",
	    "hand the group to another member (owner)", apply_group, NULL, NULL },
	{ "group.mute", "/app/group.mute", G "user:id seconds:int",
	    "mute a member for a time (0 unmutes)", apply_member, NULL, NULL },
	{ "group.muteAll", "/app/group.muteAll", G "muted:bool",
	    "mute everyone but owner and admins", apply_group, NULL, NULL },
	{ "friend.request", "/app/friend.request", "user:id message?:string",
	    "ask to be friends", NULL, NULL, NULL },
	{ "friend.respond", "/app/friend.respond", "user:id accept:bool",
	    "accept or refuse a friend request", apply_refresh_friends, NULL, NULL },
	{ "friend.requests", "/app/friend.requests", "",
	    "friend requests in and out", NULL, NULL, NULL },
	{ "friend.delete", "/app/friend.delete", "users:array",
	    "delete friends", apply_unfriend, NULL, NULL },
	{ "friend.list", "/app/friend.list", "", "my friends", apply_friends,
	    cached_friends, NULL },
	{ "friend.check", "/app/friend.check", "users:array",
	    "the relation with each user", NULL, NULL, NULL },
	{ "friend.remark", "/app/friend.remark", "user:id remark:string",
	    "set a friend's remark (alias)", apply_friend, NULL, NULL },
	{ "friend.group.create", "/app/friend.group.create", "name:string",
	    "create a friend group", apply_refresh_friends, NULL, NULL },
	{ "friend.group.delete", "/app/friend.group.delete", "name:string",
	    "delete a friend group", apply_refresh_friends, NULL, NULL },
	{ "friend.group.rename", "/app/friend.group.rename",
	    "name:string newName:string", "rename a friend group",
	    apply_refresh_friends, NULL, NULL },
	{ "friend.group.list", "/app/friend.group.list", "",
	    "my friend groups", NULL, NULL, NULL },
	{ "friend.group.add", "/app/friend.group.add", "name:string users:array",
	    "put friends in a friend group", apply_refresh_friends, NULL, NULL },
	{ "friend.group.remove", "/app/friend.group.remove",
	    "name:string users:array", "take friends out of a friend group",
	    apply_refresh_friends, NULL, NULL },
	{ "blacklist.add", "/app/blacklist.add", "users:array",
	    "block users", apply_block, NULL, NULL },
	{ "blacklist.remove", "/app/blacklist.remove", "users:array",
	    "unblock users", apply_unblock, NULL, NULL },
	{ "blacklist.list", "/app/blacklist.list", "", "blocked users",
	    apply_blacklist, cached_blacklist, NULL },
	{ "profile.get", "/app/profile.get", "users:array", "users' profiles",
	    apply_profiles, cached_profiles, NULL },
	{ "profile.set", "/app/profile.set", "nickname?:string avatar?:string "
	    "signature?:string gender?:string birthday?:string custom?:object",
	    "change my profile", apply_profile, NULL, NULL },
	{ "message.edit", "/app/chat.edit", "id:id text:string payload?:object",
	    "edit a message you sent", apply_message, NULL, answer_message },
	{ "message.fetch", "/app/chat.history", "user|group:id before?:int "
	    "limit?:int", "fetch older messages from the server into the cache",
	    apply_messages, NULL, answer_messages },
};
#undef G

/* Renames from local argument names to the server's. */
static const char *const renames[][2] = {
	{ "group", "groupId" }, { "user", "userId" }, { "users", "userIds" },
	{ "id", "messageId" }, { "text", "content" },
};

/* Build the upstream body: local names renamed (conversation: user -> peerId). */
json_t *
social_upstream_args(json_t *args, int conversation)
{
	json_t		*out = json_object(), *v;
	const char	*key, *name;
	size_t		 i;

	json_object_foreach(args, key, v) {
		name = key;
		for (i = 0; i < sizeof renames / sizeof renames[0]; i++) {
			if (strcmp(key, renames[i][0]) == 0)
				name = renames[i][1];
		}
		if (conversation && strcmp(key, "user") == 0)
			name = "peerId";
		json_object_set(out, name, v);
	}
	return out;
}

static const char *
str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Cache a group (and follow its channel). */
static void
cache_group(json_t *g, int subscribe)
{
	const char	*id = str_of(g, "groupId");

	if (id == NULL || !valid_id(id))
		return;
	if (store_obj_put(store, "group", id, g) == -1)
		log_warn("cache: %s", store_error(store));
	if (subscribe)
		session_join_group(id, 1);
}

/* Forget a group, its members and its follow (and leave its channel). */
static void
forget_group(const char *id)
{
	char	 prefix[80];

	if (id == NULL)
		return;
	snprintf(prefix, sizeof prefix, "%s/", id);
	store_obj_del(store, "group", id, 0);
	store_obj_del(store, "member", prefix, 1);
	store_obj_del(store, "follow", id, 0);
	session_join_group(id, 0);
}

static void
cache_member(const char *group, json_t *m)
{
	char		 id[140];
	const char	*user = str_of(m, "userId");

	if (group == NULL || user == NULL)
		return;
	snprintf(id, sizeof id, "%s/%s", group, user);
	store_obj_put(store, "member", id, m);
}

/* Cache every object of an array under the id found in key, replacing the kind. */
static void
cache_all(const char *kind, json_t *list, const char *key)
{
	json_t	*o;
	size_t	 i;

	if (!json_is_array(list))
		return;
	store_obj_del(store, kind, "", 1);
	json_array_foreach(list, i, o) {
		if (json_is_string(o))
			store_obj_put(store, kind, json_string_value(o), o);
		else if (str_of(o, key) != NULL)
			store_obj_put(store, kind, str_of(o, key), o);
	}
}

static void
apply_group(json_t *args, json_t *data)
{
	cache_group(data, 1);
}

static void
apply_groups(json_t *args, json_t *data)
{
	json_t	*g, *known;
	size_t	 i;
	int	 fresh = 0;

	json_array_foreach(data, i, g) {
		known = store_obj_get(store, "group", str_of(g, "groupId") ?
		    str_of(g, "groupId") : "");
		fresh |= known == NULL;
		json_decref(known);
	}
	cache_all("group", data, "groupId");
	json_array_foreach(data, i, g)
		session_join_group(str_of(g, "groupId"), 1);
	/* Groups we did not know: fetch what was said before we followed them. */
	if (fresh)
		session_resync();
}

static void
apply_gone(json_t *args, json_t *data)
{
	forget_group(str_of(args, "group"));
}

static void
apply_members(json_t *args, json_t *data)
{
	json_t	*m;
	size_t	 i;

	json_array_foreach(json_object_get(data, "members"), i, m)
		cache_member(str_of(args, "group"), m);
}

static void
apply_member(json_t *args, json_t *data)
{
	cache_member(str_of(args, "group"), data);
}

static void
apply_friends(json_t *args, json_t *data)
{
	cache_all("friend", data, "userId");
}

/* Cache one object of a kind under its userId. */
static void
cache_user_obj(const char *kind, json_t *o)
{
	const char	*id = str_of(o, "userId");

	if (id != NULL && valid_id(id) && store_obj_put(store, kind, id, o) == -1)
		log_warn("cache: %s", store_error(store));
}

static void
apply_friend(json_t *args, json_t *data)
{
	cache_user_obj("friend", data);
}

/* Forget (or block/unblock) each user of args.users. */
static void
apply_users(json_t *args, const char *kind, int put)
{
	json_t	*u;
	size_t	 i;

	json_array_foreach(json_object_get(args, "users"), i, u) {
		if (!json_is_string(u))
			continue;
		if (put)
			store_obj_put(store, kind, json_string_value(u), u);
		else
			store_obj_del(store, kind, json_string_value(u), 0);
	}
}

static void
apply_unfriend(json_t *args, json_t *data)
{
	apply_users(args, "friend", 0);
}

static void
apply_blacklist(json_t *args, json_t *data)
{
	cache_all("blacklist", data, NULL);
}

static void
apply_block(json_t *args, json_t *data)
{
	apply_users(args, "blacklist", 1);
}

static void
apply_unblock(json_t *args, json_t *data)
{
	apply_users(args, "blacklist", 0);
}

static void
apply_profiles(json_t *args, json_t *data)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(data, i, p)
		cache_user_obj("profile", p);
}

static void
apply_profile(json_t *args, json_t *data)
{
	cache_user_obj("profile", data);
}

static void
apply_message(json_t *args, json_t *data)
{
	if (json_is_object(data))
		message_received(data);
}

static void
apply_messages(json_t *args, json_t *data)
{
	json_t	*m;
	size_t	 i;

	json_array_foreach(json_object_get(data, "messages"), i, m)
		message_received(m);
}

/* message.edit answers the edited message as stored, an RPC message object. */
static json_t *
answer_message(json_t *args, json_t *data)
{
	json_t	*m = store_get_message(store, str_of(data, "id") != NULL ?
	    str_of(data, "id") : "");

	return m != NULL ? m : json_object();
}

/* message.fetch answers {messages, more} with RPC message objects. */
static json_t *
answer_messages(json_t *args, json_t *data)
{
	json_t	*out = json_array(), *m, *stored;
	size_t	 i;

	json_array_foreach(json_object_get(data, "messages"), i, m) {
		if ((stored = store_get_message(store, str_of(m, "id") != NULL ?
		    str_of(m, "id") : "")) != NULL)
			json_array_append_new(out, stored);
	}
	return json_pack("{s:o,s:b}", "messages", out, "more",
	    json_is_true(json_object_get(data, "more")));
}

static json_t *
cached_groups(json_t *args)
{
	return store_obj_list(store, "group", "");
}

static json_t *
cached_group(json_t *args)
{
	const char	*id = str_of(args, "group");

	return id != NULL ? store_obj_get(store, "group", id) : NULL;
}

static json_t *
cached_members(json_t *args)
{
	const char	*id = str_of(args, "group"), *role = str_of(args, "role");
	char		 prefix[80];
	json_t		*all, *out, *m;
	size_t		 i;

	if (id == NULL)
		return NULL;
	snprintf(prefix, sizeof prefix, "%s/", id);
	if ((all = store_obj_list(store, "member", prefix)) == NULL)
		return NULL;
	if (json_array_size(all) == 0) {
		json_decref(all);
		return NULL;	/* never fetched: the caller says offline */
	}
	out = json_array();
	json_array_foreach(all, i, m) {
		if (role == NULL || (str_of(m, "role") != NULL &&
		    strcmp(str_of(m, "role"), role) == 0))
			json_array_append(out, m);
	}
	json_decref(all);
	return json_pack("{s:o,s:b}", "members", out, "more", 0);
}

static json_t *
cached_friends(json_t *args)
{
	return store_obj_list(store, "friend", "");
}

static json_t *
cached_blacklist(json_t *args)
{
	return store_obj_list(store, "blacklist", "");
}

static json_t *
cached_profiles(json_t *args)
{
	json_t	*out = json_array(), *u, *p;
	size_t	 i;

	json_array_foreach(json_object_get(args, "users"), i, u) {
		if (json_is_string(u) && (p = store_obj_get(store, "profile",
		    json_string_value(u))) != NULL)
			json_array_append_new(out, p);
	}
	return out;
}

static void	social_refresh(const char *method, json_t *args);

/* A group's information: cached only if it is one of ours (no channel). */
static void
apply_group_info(json_t *args, json_t *data)
{
	json_t	*known = store_obj_get(store, "group", str_of(args, "group"));

	if (known != NULL)
		cache_group(data, 0);
	json_decref(known);
}

/* We are in a group now (joined, approved, invited): learn it fully. */
static void
social_joined(const char *group)
{
	json_t	*args, *known;

	if (group == NULL || !valid_id(group))
		return;
	args = json_pack("{s:s}", "group", group);
	/*
	 * Cached at once, so whoever reacts to the event finds the group; the
	 * refresh below fills in the rest.
	 */
	known = store_obj_get(store, "group", group);
	if (known == NULL) {
		known = json_pack("{s:s}", "groupId", group);
		cache_group(known, 0);
	}
	json_decref(known);
	session_join_group(group, 1);
	/* What was said there before our channel was open comes by sync. */
	session_resync();
	social_refresh("group.info", args);
	social_refresh("group.members", args);
	json_decref(args);
}

static void
apply_joined(json_t *args, json_t *data)
{
	const char	*status = str_of(data, "status");

	if (status != NULL && strcmp(status, "JOINED") == 0)
		social_joined(str_of(args, "group"));
}

static void
apply_refresh_friends(json_t *args, json_t *data)
{
	social_refresh("friend.list", NULL);
}

/* Someone waiting for a forwarded call's answer. */
struct social_wait {
	uint64_t		 client;
	uint32_t		 msgid;
	const struct forward	*f;
	json_t			*args;
};

static void
social_done(void *arg, int code, const char *message, json_t *data)
{
	struct social_wait	*w = arg;
	struct client		*c = client_find(w->client);

	if (code == 0 && w->f->apply != NULL)
		w->f->apply(w->args, data);
	if (c != NULL) {
		if (code == 0 && w->f->answer != NULL)
			client_reply_later(c, w->msgid, NULL, w->f->answer(w->args,
			    data));
		else if (code == 0)
			client_reply_later(c, w->msgid, NULL,
			    data != NULL ? json_incref(data) : json_object());
		else
			client_reply_later(c, w->msgid, rpc_error_upstream(code, message),
			    NULL);
	}
	json_decref(w->args);
	free(w);
}

static const struct forward *
social_find(const char *method)
{
	size_t	 i;

	for (i = 0; i < sizeof forwards / sizeof forwards[0]; i++) {
		if (strcmp(forwards[i].method, method) == 0)
			return &forwards[i];
	}
	return NULL;
}

/* Whether method is one of the forwarded ones. */
int
social_has(const char *method)
{
	return social_find(method) != NULL;
}

/* Check the argument types a forward declares, so the server sees clean input. */
static int
social_check(const struct forward *f, json_t *args, json_t **error)
{
	char	*spec = strdup(f->params), *tok, *save = NULL, *colon;
	int	 rc = 0, optional;
	json_t	*v;

	for (tok = strtok_r(spec, " ", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, " ", &save)) {
		if ((colon = strchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		if (strchr(tok, '|') != NULL)
			continue;	/* conversations are checked by the caller */
		optional = colon[-1] == '?';
		if (optional)
			colon[-1] = '\0';
		v = json_object_get(args, tok);
		if (v == NULL || json_is_null(v)) {
			if (!optional) {
				*error = rpc_error_new(RPC_E_BAD_PARAMS,
				    "'%s' is required", tok);
				rc = -1;
			}
			continue;
		}
		if ((strcmp(colon + 1, "id") == 0 && (!json_is_string(v) ||
		    !valid_id(json_string_value(v)))) ||
		    (strcmp(colon + 1, "string") == 0 && !json_is_string(v)) ||
		    (strcmp(colon + 1, "int") == 0 && !json_is_integer(v)) ||
		    (strcmp(colon + 1, "bool") == 0 && !json_is_boolean(v)) ||
		    (strcmp(colon + 1, "array") == 0 && !json_is_array(v)) ||
		    (strcmp(colon + 1, "object") == 0 && !json_is_object(v))) {
			*error = rpc_error_new(RPC_E_BAD_PARAMS, "'%s' must be %s %s",
			    tok, strcmp(colon + 1, "array") == 0 ||
			    strcmp(colon + 1, "object") == 0 || strcmp(colon + 1,
			    "int") == 0 ? "an" : "a", colon + 1);
			rc = -1;
		}
	}
	free(spec);
	return rc;
}

/*
 * Handle a method of the table: forward it (answered later), or answer a
 * read from the cache while offline. Returns -1 if method is not ours,
 * else 0 or DISPATCH_LATER as a handler does.
 */
int
social_dispatch(struct client *c, uint32_t msgid, const char *method,
    json_t *args, json_t **result, json_t **error)
{
	const struct forward	*f = social_find(method);
	struct social_wait	*w;
	char			 conv[80];
	json_t			*body;

	if (f == NULL)
		return -1;
	if (social_check(f, args, error) == -1)
		return 0;
	if (strchr(f->params, '|') != NULL &&
	    arg_conversation(args, conv, sizeof conv, error) == -1)
		return 0;
	/* Never wait for what the server cannot answer: the cache, or no. */
	if (!session_is_up() || !caps_serves(f->dest)) {
		if (f->cached != NULL && (*result = f->cached(args)) != NULL)
			return 0;
		if (!caps_serves(f->dest))
			*error = rpc_error_new(RPC_E_UNSUPPORTED, "%s needs the "
			    "server's '%s' extension, and this server does not "
			    "offer it (profile %s)", method, caps_missing(f->dest),
			    caps_profile());
		else
			*error = rpc_error_new(RPC_E_OFFLINE, "%s needs the server, "
			    "and the session is %s", method,
			    session_state_name(session_state()));
		return 0;
	}
	body = social_upstream_args(args, strchr(f->params, '|') != NULL);
	if (strcmp(method, "group.create") == 0 &&
	    json_object_get(body, "userIds") != NULL) {
		json_object_set(body, "members", json_object_get(body, "userIds"));
		json_object_del(body, "userIds");
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		fatalx("out of memory");
	w->client = c->id;
	w->msgid = msgid;
	w->f = f;
	w->args = json_incref(args);
	if (session_request(f->dest, body, social_done, w) == -1) {
		json_decref(w->args);
		free(w);
		*error = rpc_error_new(RPC_E_OFFLINE, "the session is not online");
		return 0;
	}
	return DISPATCH_LATER;
}

/* The forwarded methods for rpc.describe: [{name, params (spec), summary}]. */
json_t *
social_methods(void)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sizeof forwards / sizeof forwards[0]; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name",
		    forwards[i].method, "params", forwards[i].params, "summary",
		    forwards[i].summary));
	return a;
}

/*
 * A conversation as the server names it ({peerId} or {groupId}, or the local
 * {user} or {group}) as a key "u:ID" or "g:ID". Returns 0 or -1.
 */
static int
social_conv(json_t *o, char *conv, size_t len)
{
	const char	*u, *g;

	if (!json_is_object(o))
		return -1;
	u = str_of(o, "peerId") ? str_of(o, "peerId") : str_of(o, "user");
	g = str_of(o, "groupId") ? str_of(o, "groupId") : str_of(o, "group");
	if ((u == NULL) == (g == NULL) || !valid_id(u ? u : g))
		return -1;
	snprintf(conv, len, "%s:%s", u ? "u" : "g", u ? u : g);
	return 0;
}

/* Apply conversation settings from the server (another gateway's change). */
static void
social_settings(json_t *d)
{
	static const char *const fields[] = { "pinned", "muted", "draft" };
	char	 conv[80];
	json_t	*v;
	size_t	 i;

	if (social_conv(json_object_get(d, "conversation"), conv, sizeof conv) == -1 &&
	    social_conv(d, conv, sizeof conv) == -1)
		return;
	for (i = 0; i < 3; i++) {
		v = json_object_get(d, fields[i]);
		if (v != NULL && (json_is_boolean(v) || json_is_string(v)))
			store_conversation_set(store, conv, fields[i], v);
	}
}

/* Update the cache from a server event. */
static void
social_apply_event(const char *type, json_t *d)
{
	const char	*group = str_of(d, "groupId"), *user = str_of(d, "userId");
	json_t		*g = json_object_get(d, "group");
	json_t		*m = json_object_get(d, "member");

	if (strcmp(type, "group.created") == 0) {
		cache_group(json_is_object(g) ? g : d, 1);
		social_joined(group != NULL ? group : str_of(g, "groupId"));
	} else if (strcmp(type, "group.updated") == 0)
		cache_group(json_is_object(g) ? g : d, 1);
	else if (strcmp(type, "group.dismissed") == 0)
		forget_group(group != NULL ? group : str_of(g, "groupId"));
	else if (strcmp(type, "group.member.joined") == 0) {
		if (json_is_object(m))
			cache_member(group, m);
		if (user != NULL && self_id != NULL && strcmp(user, self_id) == 0)
			social_joined(group);
		else if (group != NULL) {
			json_t	*a = json_pack("{s:s}", "group", group);

			social_refresh("group.members", a);
			json_decref(a);
		}
	} else if (strcmp(type, "group.member.left") == 0 ||
	    strcmp(type, "group.member.kicked") == 0) {
		char	 id[140];

		if (user != NULL && self_id != NULL && strcmp(user, self_id) == 0)
			forget_group(group);
		else if (group != NULL && user != NULL) {
			snprintf(id, sizeof id, "%s/%s", group, user);
			store_obj_del(store, "member", id, 0);
		}
	} else if (strcmp(type, "group.member.role") == 0 ||
	    strcmp(type, "group.member.muted") == 0)
		cache_member(group, m);
	else if (strcmp(type, "friend.added") == 0 ||
	    strcmp(type, "friend.updated") == 0) {
		json_t	*fr = json_object_get(d, "friend");

		if (json_is_object(fr))
			cache_user_obj("friend", fr);
		else if (user != NULL) {
			/* The whole friend object comes with the refresh. */
			fr = json_pack("{s:s,s:s,s:[],s:I}", "userId", user,
			    "remark", "", "groups", "since", (json_int_t)0);
			cache_user_obj("friend", fr);
			json_decref(fr);
			social_refresh("friend.list", NULL);
		}
	} else if (strcmp(type, "friend.deleted") == 0 && user != NULL)
		store_obj_del(store, "friend", user, 0);
	else if (strcmp(type, "blacklist.changed") == 0) {
		json_t	*u;
		size_t	 i;

		json_array_foreach(json_object_get(d, "userIds"), i, u) {
			if (!json_is_string(u))
				continue;
			if (json_is_true(json_object_get(d, "blocked")))
				store_obj_put(store, "blacklist",
				    json_string_value(u), u);
			else
				store_obj_del(store, "blacklist",
				    json_string_value(u), 0);
		}
	} else if (strcmp(type, "profile.updated") == 0)
		cache_user_obj("profile", json_object_get(d, "profile"));
	else if (strcmp(type, "conversation.updated") == 0)
		social_settings(d);
	else if (strcmp(type, "conversation.read") == 0) {
		char	 conv[80];

		if (social_conv(json_object_get(d, "conversation"), conv,
		    sizeof conv) == 0)
			store_conversation_read(store, conv,
			    str_of(d, "messageId"));
	} else if (strcmp(type, "message.read") == 0) {
		char	 conv[80];
		const char *by = str_of(d, "by");

		if (by != NULL && valid_id(by)) {
			snprintf(conv, sizeof conv, "u:%s", by);
			store_peer_read(store, conv, json_integer_value(
			    json_object_get(d, "readAt")));
		}
	}
}

static int64_t	 social_seen[4096];	/* recent server seqs, by seq % 4096 */

/* Forget which events were seen (they were rolled back with the store). */
void
social_forget_seen(void)
{
	memset(social_seen, 0, sizeof social_seen);
}

/*
 * An event from /user/queue/events ({type, seq, data}): update the cache,
 * then announce it locally with the same type and the data's fields.
 */
void
social_event(json_t *body)
{
	const char	*type = str_of(body, "type");
	json_t		*d = json_object_get(body, "data"), *ev;

	int64_t		 seq = json_integer_value(json_object_get(body, "seq"));

	if (type == NULL || strlen(type) > 64 || !json_is_object(d)) {
		log_limited(LOG_WARN, "event-malformed", "ignoring an event from "
		    "the server without a type or a data object");
		return;
	}
	/* A sync can replay an event that also came live: announce it once. */
	if (seq > 0) {
		if (social_seen[seq % 4096] == seq)
			return;
		social_seen[seq % 4096] = seq;
	}
	social_apply_event(type, d);
	ev = json_deep_copy(d);
	json_object_del(ev, "type");
	json_object_del(ev, "seq");
	events_emit(type, ev);
}

/* The server's conversation settings, after connecting. */
static void
social_settings_done(void *arg, int code, const char *message, json_t *data)
{
	json_t	*d;
	size_t	 i;

	json_array_foreach(data, i, d)
		social_settings(d);
}

/* A refresh in flight: which forward, with which arguments. */
struct refresh {
	const struct forward	*f;
	json_t			*args;
};

/* A refresh answered: cache it (the apply function of the forward). */
static void
social_refresh_done(void *arg, int code, const char *message, json_t *data)
{
	struct refresh	*r = arg;

	if (code == 0)
		r->f->apply(r->args, data);
	else if (code != 404)
		log_debug("%s: %d %s", r->f->method, code, message);
	json_decref(r->args);
	free(r);
}

/* Ask the server again for what a read method answers, to refresh the cache. */
static void
social_refresh(const char *method, json_t *args)
{
	const struct forward	*f = social_find(method);
	struct refresh		*r;

	if (f == NULL || !session_is_up() || !caps_serves(f->dest))
		return;
	if ((r = calloc(1, sizeof *r)) == NULL)
		fatalx("out of memory");
	r->f = f;
	r->args = args != NULL ? json_incref(args) : json_object();
	if (session_request(f->dest, social_upstream_args(r->args, 0),
	    social_refresh_done, r) == -1) {
		json_decref(r->args);
		free(r);
	}
}

/*
 * The session is up: follow the channels of the groups we know, then ask
 * the server for the current lists so the cache (and offline reads) are
 * fresh. A server without these extensions answers 404, or never.
 */
void
social_connected(void)
{
	static const char *const lists[] = { "group.list", "friend.list",
	    "blacklist.list" };
	json_t	*groups, *g;
	size_t	 i;

	if ((groups = store_obj_list(store, "group", "")) != NULL) {
		json_array_foreach(groups, i, g)
			session_join_group(str_of(g, "groupId"), 1);
		json_decref(groups);
	}
	group_follow_all();
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++)
		social_refresh(lists[i], NULL);
	if (caps_serves("/app/conversation.list"))
		session_request("/app/conversation.list", json_object(),
		    social_settings_done, NULL);
}

/* Ignore the answer to a best-effort notification. */
static void
social_ignore(void *arg, int code, const char *message, json_t *data)
{
	if (code != 0 && code != -1)
		log_debug("server refused a sync: %d %s", code, message);
}

/* Tell the server a conversation setting changed, so our other gateways see it. */
void
social_conversation_sync(const char *conv, const char *field, json_t *value)
{
	json_t	*body;

	if (!session_is_up() || !caps_serves("/app/conversation.set"))
		return;
	body = json_pack("{s:s,s:O}", conv[0] == 'g' ? "groupId" : "peerId",
	    conv + 2, field, value);
	session_request("/app/conversation.set", body, social_ignore, NULL);
}

/* Tell the server we read a conversation up to a message (read receipts). */
void
social_read_sync(const char *conv, const char *upto)
{
	json_t	*c, *last;

	if (!session_is_up() || !caps_serves("/app/chat.read"))
		return;
	if (upto == NULL) {
		c = store_conversation(store, conv);
		last = json_object_get(c, "lastMessage");
		if (!json_is_object(last)) {
			json_decref(c);
			return;
		}
		session_request("/app/chat.read", json_pack("{s:s,s:s}",
		    conv[0] == 'g' ? "groupId" : "peerId", conv + 2, "messageId",
		    str_of(last, "id")), social_ignore, NULL);
		json_decref(c);
		return;
	}
	session_request("/app/chat.read", json_pack("{s:s,s:s}",
	    conv[0] == 'g' ? "groupId" : "peerId", conv + 2, "messageId", upto),
	    social_ignore, NULL);
}

/* Whether any of the named string fields of o holds text (ASCII case folded). */
static int
social_matches(json_t *o, const char *const *fields, const char *text)
{
	const char	*v;
	size_t		 n = strlen(text), i, k;

	for (k = 0; fields[k] != NULL; k++) {
		if ((v = str_of(o, fields[k])) == NULL)
			continue;
		for (i = 0; strlen(v) >= n && i <= strlen(v) - n; i++) {
			if (strncasecmp(v + i, text, n) == 0)
				return 1;
		}
	}
	return 0;
}

/* Filter a cached list by text; with profiles, a user's nickname counts too. */
static json_t *
social_search(const char *kind, const char *prefix, const char *text,
    const char *const *fields)
{
	static const char *const nick[] = { "nickname", NULL };
	json_t	*all = store_obj_list(store, kind, prefix), *out = json_array(), *o, *p;
	size_t	 i;

	json_array_foreach(all, i, o) {
		int hit = social_matches(o, fields, text);

		if (!hit && str_of(o, "userId") != NULL &&
		    (p = store_obj_get(store, "profile", str_of(o, "userId"))) != NULL) {
			hit = social_matches(p, nick, text);
			json_decref(p);
		}
		if (hit)
			json_array_append(out, o);
	}
	json_decref(all);
	return out;
}

/* friend.search {text}: friends by id, remark or nickname, from the cache. */
int
m_friend_search(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	static const char *const fields[] = { "userId", "remark", NULL };
	const char	*text;

	if (arg_string(args, "text", 1, 128, &text, error) == -1)
		return 0;
	*result = social_search("friend", "", text, fields);
	return 0;
}

/* group.search {text}: my groups by id or name, from the cache. */
int
m_group_search(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	static const char *const fields[] = { "groupId", "name", NULL };
	const char	*text;

	if (arg_string(args, "text", 1, 128, &text, error) == -1)
		return 0;
	*result = social_search("group", "", text, fields);
	return 0;
}

/* group.member.search {group, text}: a group's cached members by id or nickname. */
int
m_group_member_search(struct client *c, uint32_t msgid, json_t *args,
    json_t **result, json_t **error)
{
	static const char *const fields[] = { "userId", "nickname", NULL };
	const char	*text, *group;
	char		 prefix[80];

	if (arg_string(args, "group", 1, 64, &group, error) == -1 ||
	    arg_string(args, "text", 1, 128, &text, error) == -1)
		return 0;
	snprintf(prefix, sizeof prefix, "%s/", group);
	*result = social_search("member", prefix, text, fields);
	return 0;
}

/*
 * The server refused a group's channel ("not a member of group X"): forget
 * the group, so the next connection does not ask again.
 */
void
social_refused(const char *message)
{
	static const char prefix[] = "not a member of group ";

	if (message != NULL && strncmp(message, prefix, sizeof prefix - 1) == 0) {
		log_warn("forgetting group %.64s: %s", message + sizeof prefix - 1,
		    message);
		forget_group(message + sizeof prefix - 1);
	}
}
