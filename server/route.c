/*
 * route: the /app destinations of UPSTREAM.md and their handlers: a SEND's
 * destination looked up, its JSON body parsed and its appId checked, then
 * the handler called with a struct req. Knows no STOMP state but the SEND.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "stomp.h"
#include "server.h"

/*
 * UPSTREAM.md: every /app destination and its handler; seed marks the
 * vendor's three, the only ones a seed-only server serves. The others are
 * what broker.c's BROKER_EXTENSIONS advertises.
 */
static const struct route {
	const char	*dest;
	void		(*fn)(struct req *);
	int		 seed;
} route_table[] = {
	{ "/app/chat.send", chat_send, 1 },
	{ "/app/chat.revoke", chat_revoke, 1 },
	{ "/app/chat.sync", sync_chat, 1 },
	{ "/app/chat.edit", chat_edit, 0 },
	{ "/app/chat.read", chat_read, 0 },
	{ "/app/chat.history", chat_history, 0 },
	{ "/app/group.create", group_create, 0 },
	{ "/app/group.dismiss", group_dismiss, 0 },
	{ "/app/group.update", group_update, 0 },
	{ "/app/group.list", group_list, 0 },
	{ "/app/group.info", group_info, 0 },
	{ "/app/group.members", group_member_list, 0 },
	{ "/app/group.join", group_member_join, 0 },
	{ "/app/group.quit", group_member_quit, 0 },
	{ "/app/group.invite", group_member_invite, 0 },
	{ "/app/group.kick", group_member_kick, 0 },
	{ "/app/group.requests", group_member_requests, 0 },
	{ "/app/group.approve", group_member_approve, 0 },
	{ "/app/group.role", group_member_role, 0 },
	{ "/app/group.transfer", group_member_transfer, 0 },
	{ "/app/group.mute", group_member_mute, 0 },
	{ "/app/group.muteAll", group_mute_all, 0 },
	{ "/app/friend.request", friend_request, 0 },
	{ "/app/friend.respond", friend_respond, 0 },
	{ "/app/friend.requests", friend_requests, 0 },
	{ "/app/friend.delete", friend_delete, 0 },
	{ "/app/friend.list", friend_list, 0 },
	{ "/app/friend.check", friend_check, 0 },
	{ "/app/friend.remark", friend_remark, 0 },
	{ "/app/friend.group.create", friend_group_create, 0 },
	{ "/app/friend.group.delete", friend_group_delete, 0 },
	{ "/app/friend.group.rename", friend_group_rename, 0 },
	{ "/app/friend.group.add", friend_group_add, 0 },
	{ "/app/friend.group.remove", friend_group_remove, 0 },
	{ "/app/friend.group.list", friend_group_list, 0 },
	{ "/app/conversation.set", social_conv_set, 0 },
	{ "/app/conversation.list", social_conv_list, 0 },
	{ "/app/blacklist.add", social_block, 0 },
	{ "/app/blacklist.remove", social_unblock, 0 },
	{ "/app/blacklist.list", social_blacklist, 0 },
	{ "/app/profile.get", social_profile_get, 0 },
	{ "/app/profile.set", social_profile_set, 0 },
};

/* The route of dest this server serves, or NULL. */
static const struct route *
route_find(const char *dest)
{
	size_t	 i;
	int	 seed = broker_profile() & BROKER_SEED_ONLY;

	for (i = 0; i < sizeof route_table / sizeof route_table[0]; i++) {
		if (strcmp(dest, route_table[i].dest) == 0)
			return !seed || route_table[i].seed ? &route_table[i] :
			    NULL;
	}
	return NULL;
}

/*
 * SEND from session s: call the handler of its destination. Returns NULL,
 * or why the frame is a protocol violation (the caller sends ERROR).
 *
 * A seed-only server behaves as Spring's with the simple broker: it ignores
 * request-id (so answers nothing, refusals included), and drops a SEND to
 * a destination it does not serve, or whose body is no JSON object (a
 * handler exception), with a line in its log only.
 */
const char *
route_send(struct session *s, const struct stomp_frame *f)
{
	const struct route	*route;
	struct req		 r;
	const char		*dest, *rid = NULL;
	json_t			*body, *app;
	json_error_t		 jerr;
	int			 seed = broker_profile() & BROKER_SEED_ONLY;

	if ((dest = stomp_frame_get(f, "destination")) == NULL)
		return "SEND without destination";
	if (!seed)
		rid = stomp_frame_get(f, "request-id");
	if (rid != NULL && strlen(rid) > HEADER_MAX)
		return "request-id too long";
	if ((route = route_find(dest)) == NULL) {
		if (seed)
			log_debug("session %llu: SEND to %.*s dropped: not "
			    "served", s->id, HEADER_MAX, dest);
		else
			broker_reply(s, rid, 404, "no such destination", NULL);
		return NULL;
	}
	body = json_loadb(f->body, f->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		if (!seed)
			return "body is not a JSON object";
		log_info("session %llu: SEND to %s dropped: body is not a "
		    "JSON object", s->id, dest);
		return NULL;
	}
	app = json_object_get(body, "appId");
	if (app == NULL || !json_is_string(app))
		broker_reply(s, rid, 400, "appId missing", NULL);
	else if (strcmp(json_string_value(app), s->app) != 0)
		broker_reply(s, rid, 403, "appId does not match the token",
		    NULL);
	else {
		r.s = s;
		r.rid = rid;
		r.body = body;
		r.app = s->app;
		r.user = s->user;
		route->fn(&r);
	}
	json_decref(body);
	return NULL;
}
