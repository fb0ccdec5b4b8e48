/*
 * group_int.h: what the two group files (group.c, group_member.c) share:
 * group.c's helpers to load a group, check a member's role and tell the
 * members. Private to them.
 */
#ifndef IMSERVER_GROUP_INT_H
#define IMSERVER_GROUP_INT_H

int	 group_is_owner(const struct smember *);
int	 group_load(struct req *, struct sgroup *);
int	 group_find(struct req *, const struct sgroup *, const char *,
	    struct smember *, int);
int	 group_load_as(struct req *, struct sgroup *, struct smember *,
	    const char *, const char *);
void	 group_notify(struct req *, const char *, int, const char *,
	    const char *, struct json_t *);
int	 group_announce(struct req *, const char *, const char *, int);

#endif
