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

/* UPSTREAM.md: every /app destination and its handler. */
static const struct route {
	const char	*dest;
	void		(*fn)(struct req *);
} route_table[] = {
	{ "/app/chat.send", chat_send },
	{ "/app/chat.revoke", chat_revoke },
	{ "/app/chat.sync", sync_chat },
	{ "/app/chat.edit", chat_edit },
	{ "/app/chat.read", chat_read },
	{ "/app/chat.history", chat_history },
	{ "/app/group.create", group_create },
	{ "/app/group.dismiss", group_dismiss },
	{ "/app/group.update", group_update },
	{ "/app/group.list", group_list },
	{ "/app/group.info", group_info },
	{ "/app/group.members", group_members },
	{ "/app/group.join", group_join },
	{ "/app/group.quit", group_quit },
	{ "/app/group.invite", group_invite },
	{ "/app/group.kick", group_kick },
	{ "/app/group.requests", group_requests },
	{ "/app/group.approve", group_approve },
	{ "/app/group.role", group_role },
	{ "/app/group.transfer", group_transfer },
	{ "/app/group.mute", group_mute },
	{ "/app/group.muteAll", group_mute_all },
	{ "/app/friend.request", friend_request },
	{ "/app/friend.respond", friend_respond },
	{ "/app/friend.requests", friend_requests },
	{ "/app/friend.delete", friend_delete },
	{ "/app/friend.list", friend_list },
	{ "/app/friend.check", friend_check },
	{ "/app/friend.remark", friend_remark },
	{ "/app/friend.group.create", friend_group_create },
	{ "/app/friend.group.delete", friend_group_delete },
	{ "/app/friend.group.rename", friend_group_rename },
	{ "/app/friend.group.add", friend_group_add },
	{ "/app/friend.group.remove", friend_group_remove },
	{ "/app/friend.group.list", friend_group_list },
	{ "/app/conversation.set", social_conv_set },
	{ "/app/conversation.list", social_conv_list },
	{ "/app/blacklist.add", social_block },
	{ "/app/blacklist.remove", social_unblock },
	{ "/app/blacklist.list", social_blacklist },
	{ "/app/profile.get", social_profile_get },
	{ "/app/profile.set", social_profile_set },
};

/* The route of dest, or NULL. */
static const struct route *
route_find(const char *dest)
{
	size_t	 i;

	for (i = 0; i < sizeof route_table / sizeof route_table[0]; i++) {
		if (strcmp(dest, route_table[i].dest) == 0)
			return &route_table[i];
	}
	return NULL;
}

/*
 * SEND from session s: call the handler of its destination. Returns NULL,
 * or why the frame is a protocol violation (the caller sends ERROR).
 */
const char *
route_send(struct session *s, const struct stomp_frame *f)
{
	const struct route	*route;
	struct req		 r;
	const char		*dest, *rid;
	json_t			*body, *app;
	json_error_t		 jerr;

	if ((dest = stomp_frame_get(f, "destination")) == NULL)
		return "SEND without destination";
	rid = stomp_frame_get(f, "request-id");
	if (rid != NULL && strlen(rid) > HEADER_MAX)
		return "request-id too long";
	if ((route = route_find(dest)) == NULL) {
		broker_reply(s, rid, 404, "no such destination", NULL);
		return NULL;
	}
	body = json_loadb(f->body, f->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return "body is not a JSON object";
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
