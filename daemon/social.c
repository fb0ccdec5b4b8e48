/*
 * social: the cache of what the server owns beyond messages (groups and
 * their members, friends, the blacklist, profiles, conversation settings),
 * kept from the answers to forwarded calls and from the server's events,
 * which it turns into local events. It answers reads when the server
 * cannot (social_cached_*). Knows no method names and no client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"
#include "log.h"
#include "social.h"
#include "store.h"

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

	if (id == NULL || !conv_valid_id(id))
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

void
social_apply_group(json_t *args, json_t *data)
{
	cache_group(data, 1);
}

void
social_apply_groups(json_t *args, json_t *data)
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
		sync_resync();
}

void
social_apply_gone(json_t *args, json_t *data)
{
	forget_group(str_of(args, "group"));
}

void
social_apply_members(json_t *args, json_t *data)
{
	json_t	*m;
	size_t	 i;

	json_array_foreach(json_object_get(data, "members"), i, m)
		cache_member(str_of(args, "group"), m);
}

void
social_apply_member(json_t *args, json_t *data)
{
	cache_member(str_of(args, "group"), data);
}

void
social_apply_friends(json_t *args, json_t *data)
{
	cache_all("friend", data, "userId");
}

/* Cache one object of a kind under its userId. */
static void
cache_user_obj(const char *kind, json_t *o)
{
	const char	*id = str_of(o, "userId");

	if (id != NULL && conv_valid_id(id) && store_obj_put(store, kind, id, o) == -1)
		log_warn("cache: %s", store_error(store));
}

void
social_apply_friend(json_t *args, json_t *data)
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

void
social_apply_unfriend(json_t *args, json_t *data)
{
	apply_users(args, "friend", 0);
}

void
social_apply_blacklist(json_t *args, json_t *data)
{
	cache_all("blacklist", data, NULL);
}

void
social_apply_block(json_t *args, json_t *data)
{
	apply_users(args, "blacklist", 1);
}

void
social_apply_unblock(json_t *args, json_t *data)
{
	apply_users(args, "blacklist", 0);
}

void
social_apply_profiles(json_t *args, json_t *data)
{
	json_t	*p;
	size_t	 i;

	json_array_foreach(data, i, p)
		cache_user_obj("profile", p);
}

void
social_apply_profile(json_t *args, json_t *data)
{
	cache_user_obj("profile", data);
}

json_t *
social_cached_groups(json_t *args)
{
	return store_obj_list(store, "group", "");
}

json_t *
social_cached_group(json_t *args)
{
	const char	*id = str_of(args, "group");

	return id != NULL ? store_obj_get(store, "group", id) : NULL;
}

json_t *
social_cached_members(json_t *args)
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

json_t *
social_cached_friends(json_t *args)
{
	return store_obj_list(store, "friend", "");
}

json_t *
social_cached_blacklist(json_t *args)
{
	return store_obj_list(store, "blacklist", "");
}

json_t *
social_cached_profiles(json_t *args)
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

/* A group's information: cached only if it is one of ours (no channel). */
void
social_apply_group_info(json_t *args, json_t *data)
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

	if (group == NULL || !conv_valid_id(group))
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
	sync_resync();
	forward_refresh("/app/group.info", social_apply_group_info, args);
	forward_refresh("/app/group.members", social_apply_members, args);
	json_decref(args);
}

void
social_apply_joined(json_t *args, json_t *data)
{
	const char	*status = str_of(data, "status");

	if (status != NULL && strcmp(status, "JOINED") == 0)
		social_joined(str_of(args, "group"));
}

void
social_apply_refresh_friends(json_t *args, json_t *data)
{
	forward_refresh("/app/friend.list", social_apply_friends, NULL);
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
	if ((u == NULL) == (g == NULL) || !conv_valid_id(u ? u : g))
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

			forward_refresh("/app/group.members", social_apply_members, a);
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
			forward_refresh("/app/friend.list", social_apply_friends, NULL);
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

		if (by != NULL && conv_valid_id(by)) {
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

/*
 * The session is up: follow the channels of the groups we know, then ask
 * the server for the current lists so the cache (and offline reads) are
 * fresh. A server without these extensions answers 404, or never.
 */
void
social_connected(void)
{
	json_t	*groups, *g;
	size_t	 i;

	if ((groups = store_obj_list(store, "group", "")) != NULL) {
		json_array_foreach(groups, i, g)
			session_join_group(str_of(g, "groupId"), 1);
		json_decref(groups);
	}
	forward_refresh("/app/group.list", social_apply_groups, NULL);
	forward_refresh("/app/friend.list", social_apply_friends, NULL);
	forward_refresh("/app/blacklist.list", social_apply_blacklist, NULL);
	if (caps_serves("/app/conversation.list"))
		pending_request("/app/conversation.list", json_object(),
		    social_settings_done, NULL);
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

/*
 * Answer a search of the cache: the cached objects of kind under prefix
 * whose fields hold args' text (1 to 128 bytes) as a substring, ignoring
 * case; with profiles, a user's nickname counts too. Returns 0, as a method
 * does, with *result or (a bad text) *error set.
 */
int
social_search(json_t *args, const char *kind, const char *prefix,
    const char *const *fields, json_t **result, json_t **error)
{
	static const char *const nick[] = { "nickname", NULL };
	const char	*text;
	json_t		*all, *out, *o, *p;
	size_t		 i;

	if (arg_string(args, "text", 1, 128, &text, error) == -1)
		return 0;
	all = store_obj_list(store, kind, prefix);
	out = json_array();
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
	*result = out;
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
