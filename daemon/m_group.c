/*
 * m_group: following group channels by id. A seed-only server has no group
 * API over STOMP (the vendor manages groups elsewhere), so a user names the
 * groups it is in; the follows are cached and /topic/group/{id} is
 * subscribed after every connect, with extensions too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
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
int
m_group_follow(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	const char	*group;
	json_t		*f;
	int		 rc;

	if (arg_string(args, "group", 1, 64, &group, error) == -1)
		return 0;
	if (!valid_id(group)) {
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
int
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
int
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
