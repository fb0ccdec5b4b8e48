/*
 * social.h: the cache of groups, members, friends, the blacklist, profiles
 * and conversation settings (social.c), for the files that forward those
 * methods (m_group.c, m_friend.c) and the session that feeds it events.
 */
#ifndef IMGWD_SOCIAL_H
#define IMGWD_SOCIAL_H

#include <jansson.h>

/* The server's answers, applied to the cache (rows of the method table). */
apply_fn	 social_apply_group, social_apply_groups, social_apply_gone,
		 social_apply_members, social_apply_member, social_apply_friends,
		 social_apply_friend, social_apply_unfriend,
		 social_apply_blacklist, social_apply_block, social_apply_unblock,
		 social_apply_profiles, social_apply_profile,
		 social_apply_group_info, social_apply_joined,
		 social_apply_refresh_friends;
/* Answers from the cache, when the server cannot give them. */
cached_fn	 social_cached_groups, social_cached_group, social_cached_members,
		 social_cached_friends, social_cached_blacklist,
		 social_cached_profiles;

/* A search method's answer: cached objects whose fields hold args' text. */
int		 social_search(json_t *args, const char *kind,
		     const char *prefix, const char *const *fields,
		     json_t **result, json_t **error);
/* An event from /user/queue/events: cache it, announce it. */
void		 social_event(json_t *body);
/* The session is up: follow groups, refresh the lists the server has. */
void		 social_connected(void);
/* The server sent ERROR: a refused group channel is forgotten. */
void		 social_refused(const char *message);
/* The store rolled back: events seen may come again. */
void		 social_forget_seen(void);

#endif
