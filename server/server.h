/*
 * server.h: what the imserver files share: the session, the stored rows and
 * the entry points of every server file. Private to server/; includes no
 * third-party header (JSON values are jansson's, declared opaque here).
 */
#ifndef IMSERVER_SERVER_H
#define IMSERVER_SERVER_H

#include <sys/queue.h>

#include <stddef.h>
#include <time.h>

#include "buf.h"

struct ev_loop;
struct json_t;	/* jansson's json_t, for the files that include jansson.h */
struct lws;
struct stomp_frame;

#define SERVER_VERSION		"imserver/0.1"

/* UPSTREAM.md: user and app ids are 1 to 64 bytes of [A-Za-z0-9_.@-]. */
#define ID_MAX			64
#define TOKEN_MAX		1024		/* longest token accepted */
#define CONTENT_MAX		(64 * 1024)	/* chat message content, bytes */
#define MSGTYPE_MAX		32
#define HEADER_MAX		256	/* ids, request-id, receipt headers */

/* UPSTREAM.md "Subscriptions": the destinations a client subscribes to. */
#define DEST_MESSAGES		"/user/queue/messages"
#define DEST_REPLIES		"/user/queue/replies"
#define DEST_EVENTS		"/user/queue/events"
#define DEST_GROUP		"/topic/group/"

/* UPSTREAM.md "The full IM surface": text limits in characters. */
#define NAME_CHARS		64	/* names, remarks, nicknames */
#define TEXT_CHARS		1024	/* notice, intro, avatar, signature */
#define NOTE_CHARS		256	/* the message of a request */
#define NAME_BYTES		(NAME_CHARS * 4 + 1)	/* UTF-8, with NUL */
#define NOTE_BYTES		(NOTE_CHARS * 4 + 1)
#define IDS_MAX			500	/* entries of a userIds list */
#define PAYLOAD_MAX		(16 * 1024)	/* payload JSON, bytes */
#define CUSTOM_MAX		(4 * 1024)	/* profile custom JSON, bytes */
#define GROUP_MEMBERS_MAX	2000
#define FGROUPS_MAX		100	/* friend groups per user */
#define EVENT_TYPE_MAX		32

/* Output queue limits per session, in bytes of encoded frames. */
#define WS_OUT_MAX		(8 * 1024 * 1024)	/* beyond: drop the session */
#define WS_OUT_PACE		(1024 * 1024)	/* syncs pause above this */

/* token.c */
struct token {
	char		 app[ID_MAX + 1];
	char		 user[ID_MAX + 1];
	long long	 expiry;
};
int	 token_open(const char *, char **);
void	 token_close(void);
int	 token_sign(const char *, const char *, long long, char **);
int	 token_verify(const char *, time_t, struct token *, const char **);
int	 token_check_id(const char *);
int	 token_random_id(char *, size_t, const char *);

/* A chat message as stored; content is owned (heap). */
struct smsg {
	char		 app[ID_MAX + 1];
	char		 id[ID_MAX + 1];
	char		 from[ID_MAX + 1];
	char		 to[ID_MAX + 1];
	char		 chat_type[16];
	char		 msg_type[MSGTYPE_MAX + 1];
	char		 status[16];
	char		*content;
	long long	 created_at;	/* ms since the epoch */
	long long	 seq;
	char		*payload;	/* JSON object text, or NULL */
	char		*mentions;	/* JSON array text, or NULL */
	char		 reply_to[ID_MAX + 1];	/* "" if none */
	long long	 edited_at;	/* ms; 0 if never edited */
	long long	 first_seq;	/* seq at creation: order in the chat */
};

/*
 * One pushed copy of a message whose frame has been written: to be marked
 * delivered to user, if the row is still at seq (a change since is news).
 */
struct sdelivery {
	char		 app[ID_MAX + 1];
	char		 user[ID_MAX + 1];
	char		 msg_id[ID_MAX + 1];
	long long	 seq;
};

/* An event as stored for one recipient; data is owned (heap). */
struct sevent {
	long long	 seq;
	char		 type[EVENT_TYPE_MAX + 1];
	char		*data;		/* JSON text */
};

/*
 * Called for each row of a sync or history query: a message (e NULL) or an
 * event (m NULL). Returns 0 to go on, 1 to stop.
 */
typedef int (*sstore_cb)(const struct smsg *, const struct sevent *, void *);

/* A group (UPSTREAM.md "Groups"); the text fields are owned (heap). */
struct sgroup {
	char		 app[ID_MAX + 1];
	char		 id[ID_MAX + 1];
	char		 name[NAME_BYTES];
	char		 owner[ID_MAX + 1];
	char		*notice;
	char		*avatar;
	char		*intro;
	char		 join_policy[16];	/* FREE, APPROVAL, FORBIDDEN */
	int		 mute_all;
	long long	 created_at;
	long long	 member_count;
};

/* A member of a group. */
struct smember {
	char		 user[ID_MAX + 1];
	char		 role[8];		/* OWNER, ADMIN, MEMBER */
	long long	 muted_until;		/* ms; 0 if not muted */
	long long	 joined_at;
};

/* A pending request to join a group, or a friend request. */
struct srequest {
	char		 user[ID_MAX + 1];	/* who asked, or whom */
	char		 message[NOTE_BYTES];
	long long	 created_at;
};

/* A friend of a user; groups is owned (heap). */
struct sfriend {
	char		 user[ID_MAX + 1];
	char		 remark[NAME_BYTES];
	char		*groups;		/* JSON array of names */
	long long	 since;
};

/* A user's profile; the heap fields are owned. */
struct sprofile {
	char		 user[ID_MAX + 1];
	char		 nickname[NAME_BYTES];
	char		*avatar;
	char		*signature;
	char		 gender[16];
	char		 birthday[16];
	char		*custom;		/* JSON object text */
};

/* Conversation kinds: a one-to-one peer or a group. */
#define CONV_PEER	'P'
#define CONV_GROUP	'G'

/* A user's settings of one conversation; draft is owned (heap). */
struct sconv {
	char		 kind;			/* CONV_PEER or CONV_GROUP */
	char		 target[ID_MAX + 1];
	int		 pinned;
	int		 muted;
	char		*draft;
};

/* Where a user has read a conversation up to. */
struct sread {
	char		 msg_id[ID_MAX + 1];
	long long	 msg_seq;		/* the message's first_seq */
	long long	 read_at;
};

/* A growable list of ids (owned copies). */
struct idlist {
	char		**v;
	size_t		  n;
	size_t		  cap;
};

/* idlist.c */
void	 idlist_init(struct idlist *);
void	 idlist_clear(struct idlist *);
int	 idlist_push(struct idlist *, const char *);
int	 idlist_add(struct idlist *, const char *);
int	 idlist_has(const struct idlist *, const char *);

typedef int (*sstore_group_cb)(const struct sgroup *, void *);
typedef int (*sstore_member_cb)(const struct smember *, void *);
typedef int (*sstore_request_cb)(const struct srequest *, void *);
typedef int (*sstore_friend_cb)(const struct sfriend *, void *);
typedef int (*sstore_conv_cb)(const struct sconv *, void *);
typedef int (*sstore_fgroup_cb)(const char *, const char *, void *);

/* sstore.c: the database */
int	 sstore_open(const char *, char **);
void	 sstore_close(void);

/* sstore_msg.c: messages, deliveries, sync and history */
void	 sstore_msg_clear(struct smsg *);
int	 sstore_msg_get(const char *, const char *, struct smsg *);
int	 sstore_msg_insert(struct smsg *, const struct idlist *, const int *);
int	 sstore_msg_change(struct smsg *);
int	 sstore_msg_mark_delivered(const struct sdelivery *, size_t);
int	 sstore_msg_pending(const char *, const char *, long long, int,
	    sstore_cb, void *);
int	 sstore_msg_since(const char *, const char *, long long, int, int,
	    sstore_cb, void *);
int	 sstore_msg_history(const char *, const char *, char, const char *,
	    long long, int, sstore_cb, void *);

/* sstore_event.c: events */
int	 sstore_event_put(const char *, const struct idlist *, const char *,
	    const char *, long long *);

/* sstore_group.c: groups, members, join requests */
void	 sstore_group_clear(struct sgroup *);
int	 sstore_group_get(const char *, const char *, struct sgroup *);
int	 sstore_group_create(const struct sgroup *, const struct idlist *);
int	 sstore_group_update(const struct sgroup *);
int	 sstore_group_dismiss(const char *, const char *, long long);
int	 sstore_group_list(const char *, const char *, sstore_group_cb,
	    void *);
int	 sstore_group_transfer(const char *, const char *, const char *,
	    const char *);
int	 sstore_group_member_get(const char *, const char *, const char *,
	    struct smember *);
int	 sstore_group_member_ids(const char *, const char *, int,
	    struct idlist *);
int	 sstore_group_members(const char *, const char *, const char *,
	    long long, int, sstore_member_cb, void *);
int	 sstore_group_member_add(const char *, const char *, const char *,
	    const char *, long long);
int	 sstore_group_member_remove(const char *, const char *, const char *);
int	 sstore_group_member_set(const char *, const char *,
	    const struct smember *);
int	 sstore_group_request_put(const char *, const char *, const char *,
	    const char *, long long);
int	 sstore_group_request_get(const char *, const char *, const char *,
	    struct srequest *);
int	 sstore_group_request_del(const char *, const char *, const char *);
int	 sstore_group_requests(const char *, const char *, sstore_request_cb,
	    void *);

/* sstore_social.c: friends, blacklist, profiles, conversation settings */
void	 sstore_social_friend_clear(struct sfriend *);
int	 sstore_social_friend_get(const char *, const char *, const char *,
	    struct sfriend *);
int	 sstore_social_friends(const char *, const char *, sstore_friend_cb,
	    void *);
int	 sstore_social_friend_ids(const char *, const char *, struct idlist *);
int	 sstore_social_befriend(const char *, const char *, const char *,
	    long long);
int	 sstore_social_unfriend(const char *, const char *, const char *);
int	 sstore_social_remark(const char *, const char *, const char *,
	    const char *);
int	 sstore_social_freq_put(const char *, const char *, const char *,
	    const char *, long long);
int	 sstore_social_freq_get(const char *, const char *, const char *,
	    struct srequest *);
int	 sstore_social_freq_del(const char *, const char *, const char *);
int	 sstore_social_freqs(const char *, const char *, int,
	    sstore_request_cb, void *);
int	 sstore_social_fgroup_create(const char *, const char *, const char *,
	    long long);
int	 sstore_social_fgroup_delete(const char *, const char *, const char *,
	    struct idlist *);
int	 sstore_social_fgroup_rename(const char *, const char *, const char *,
	    const char *, struct idlist *);
int	 sstore_social_fgroup_member(const char *, const char *, const char *,
	    const char *, int);
int	 sstore_social_fgroups(const char *, const char *, sstore_fgroup_cb,
	    void *);
int	 sstore_social_block(const char *, const char *, const char *,
	    long long);
int	 sstore_social_unblock(const char *, const char *, const char *);
int	 sstore_social_blocked(const char *, const char *, const char *);
int	 sstore_social_blacklist(const char *, const char *, struct idlist *);
void	 sstore_social_profile_clear(struct sprofile *);
int	 sstore_social_profile_get(const char *, const char *,
	    struct sprofile *);
int	 sstore_social_profile_put(const char *, const struct sprofile *,
	    long long);
void	 sstore_social_conv_clear(struct sconv *);
int	 sstore_social_conv_get(const char *, const char *, char, const char *,
	    struct sconv *);
int	 sstore_social_conv_put(const char *, const char *,
	    const struct sconv *, long long);
int	 sstore_social_convs(const char *, const char *, sstore_conv_cb,
	    void *);
int	 sstore_social_read_get(const char *, const char *, char, const char *,
	    struct sread *);
int	 sstore_social_read_put(const char *, const char *, char, const char *,
	    const struct sread *);

/* One subscription of a session: STOMP id and destination. */
struct sub {
	TAILQ_ENTRY(sub)	 entry;
	char			*id;
	char			*dest;
};
TAILQ_HEAD(subs, sub);

struct ws_out;
struct ws_beat;
struct deliver_push;

/*
 * One WebSocket connection. The transport part belongs to ws.c, the STOMP
 * part to broker.c; neither writes the other's fields.
 */
struct session {
	/* Transport (ws.c). */
	struct lws			*wsi;	/* NULL once closed */
	unsigned long long		 id;	/* for log lines */
	int				 flags;
#define SESSION_CLOSING	0x1	/* flush the output queue, then close */
#define SESSION_DEAD	0x2	/* closed or being dropped: send nothing */
	struct buf			 in;
	TAILQ_HEAD(, ws_out)		 outq;
	size_t				 outq_len;
	unsigned long long		 out_queued;	/* bytes ever queued */
	unsigned long long		 out_written;	/* of them, in the kernel */
	size_t				 out_partial;	/* lws holds them yet */
	char				*qtoken;	/* ?token=, or NULL */
	time_t				 deadline;	/* close then; 0: never */
	struct ws_beat			*beat;	/* heart-beat timers, or NULL */
	TAILQ_ENTRY(session)		 ws_entry;

	/* STOMP state (broker.c). */
	int				 connected;
	char				 app[ID_MAX + 1];
	char				 user[ID_MAX + 1];
	struct subs			 subs;
	unsigned int			 nsubs;
	TAILQ_ENTRY(session)		 user_entry;
	/* Seed sync state (sync.c). */
	int				 seeding;	/* seed sync under way */
	long long			 seed_seq;
	unsigned int			 seed_count;
	char				*seed_rid;
	/* Where the last since-sync page ended, for "next" (if paged). */
	int				 paged;
	long long			 page_end;
	/* Pushed messages not yet written, oldest first (deliver.c). */
	TAILQ_HEAD(, deliver_push)	 unwritten;
};

/* ws.c */
int	 ws_open(struct ev_loop *, const char *, int, const char *,
	    const char *, int *, char **);
void	 ws_close(void);
int	 ws_send(struct session *, const struct stomp_frame *);
void	 ws_finish(struct session *);
void	 ws_connected(struct session *);
int	 ws_heartbeat(struct session *, int, int);
size_t	 ws_queued(const struct session *);

/* broker.c: the profile, broker_open's flags (UPSTREAM.md "Session") */
#define BROKER_SEED_ONLY	0x1	/* the vendor's server, exactly */
#define BROKER_SEED_ECHO	0x2	/* seed: a one-to-one message reaches
					   every session of its sender too */
#define BROKER_SEED_RECEIPTS	0x4	/* seed: RECEIPT for every frame */
void	 broker_open(int, int, int);
int	 broker_profile(void);
void	 broker_close(void);
void	 broker_attach(struct session *);
void	 broker_detach(struct session *);
void	 broker_frame(struct session *, const struct stomp_frame *);
void	 broker_fail(struct session *, const char *);
void	 broker_drained(struct session *);
long long broker_now_ms(void);
const char	*broker_sub_id(const struct session *, const char *);
int	 broker_push(struct session *, const char *, long long, const char *,
	    const char *);
char	*broker_event_text(const char *, long long, const char *);
void	 broker_reply(struct session *, const char *, int, const char *,
	    struct json_t *);
int	 broker_deliver(const char *, const char *, struct session *,
	    const char *, long long, const char *);
int	 broker_topic(const char *, const char *, const char *, const char *,
	    long long, const char *);
int	 broker_topic_others(const char *, const struct idlist *, const char *,
	    const char *, long long);
int	 broker_event(const char *, const struct idlist *, struct session *,
	    const char *, struct json_t *);
int	 broker_event_user(const char *, const char *, struct session *,
	    const char *, struct json_t *);

/*
 * One request: a SEND to an /app destination with its JSON body, as the
 * handlers of chat.c, group*.c, friend.c and social.c see it.
 */
struct req {
	struct session	*s;
	const char	*rid;		/* request-id, or NULL */
	struct json_t		*body;		/* the JSON object (borrowed) */
	const char	*app;		/* the session's app and user */
	const char	*user;
};

/* req.c: flags of the field readers */
#define REQ_REQUIRED	0x1	/* absent (or null) is a 400 */
#define REQ_NAME	0x2	/* text: non-empty, no control characters */
void	 req_ok(struct req *, struct json_t *);
void	 req_list(struct req *, struct json_t *, int);
void	 req_fail(struct req *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 req_id(struct req *, const char *, int, const char **);
int	 req_text(struct req *, const char *, int, size_t, const char **);
int	 req_int(struct req *, const char *, int, long long, long long,
	    long long *);
int	 req_bool(struct req *, const char *, int, int *);
int	 req_enum(struct req *, const char *, int, const char *const *,
	    const char **);
int	 req_object(struct req *, const char *, int, size_t, struct json_t **);
int	 req_ids(struct req *, const char *, int, struct idlist *);
int	 req_conv(struct req *, char *, const char **);
struct json_t	*req_conv_json(char, const char *);
int	 req_request_row(const struct srequest *, void *);
size_t	 req_chars(const char *);

/* route.c */
const char	*route_send(struct session *, const struct stomp_frame *);

/* deliver.c */
void	 deliver_open(struct ev_loop *);
void	 deliver_close(void);
void	 deliver_init(struct session *);
void	 deliver_clear(struct session *);
void	 deliver_push(struct session *, const char *, long long);
int	 deliver_queued(const struct session *, const char *, long long);
void	 deliver_written(struct session *);
void	 deliver_flush(void);

/* sync.c */
void	 sync_chat(struct req *);
void	 sync_resume(struct session *);
void	 sync_clear(struct session *);

/* chat.c */
void	 chat_config(long long);
struct json_t	*chat_msg_json(const struct smsg *);
char	*chat_msg_text(const struct smsg *);
void	 chat_send(struct req *);
void	 chat_revoke(struct req *);
void	 chat_edit(struct req *);
void	 chat_read(struct req *);
void	 chat_history(struct req *);

/* group.c */
int	 group_is_manager(const struct smember *);
void	 group_create(struct req *);
void	 group_dismiss(struct req *);
void	 group_update(struct req *);
void	 group_list(struct req *);
void	 group_info(struct req *);
void	 group_mute_all(struct req *);

/* group_member.c */
void	 group_member_list(struct req *);
void	 group_member_join(struct req *);
void	 group_member_quit(struct req *);
void	 group_member_invite(struct req *);
void	 group_member_kick(struct req *);
void	 group_member_requests(struct req *);
void	 group_member_approve(struct req *);
void	 group_member_role(struct req *);
void	 group_member_transfer(struct req *);
void	 group_member_mute(struct req *);

/* friend.c */
void	 friend_request(struct req *);
void	 friend_respond(struct req *);
void	 friend_requests(struct req *);
void	 friend_delete(struct req *);
void	 friend_list(struct req *);
void	 friend_check(struct req *);
void	 friend_remark(struct req *);
void	 friend_group_create(struct req *);
void	 friend_group_delete(struct req *);
void	 friend_group_rename(struct req *);
void	 friend_group_add(struct req *);
void	 friend_group_remove(struct req *);
void	 friend_group_list(struct req *);

/* social.c */
void	 social_conv_set(struct req *);
void	 social_conv_list(struct req *);
void	 social_block(struct req *);
void	 social_unblock(struct req *);
void	 social_blacklist(struct req *);
void	 social_profile_get(struct req *);
void	 social_profile_set(struct req *);

#endif
