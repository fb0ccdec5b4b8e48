/*
 * server.h: what the imserver files share: the session and the entry points
 * of token.c, ws.c, broker.c and sstore.c. Private to server/; includes no
 * third-party header.
 */
#ifndef IMSERVER_SERVER_H
#define IMSERVER_SERVER_H

#include <sys/queue.h>

#include <stddef.h>
#include <time.h>

#include "buf.h"

struct ev_loop;
struct lws;
struct stomp_frame;

#define SERVER_VERSION		"imserver/0.1"

/* UPSTREAM.md: user and app ids are 1 to 64 bytes of [A-Za-z0-9_.@-]. */
#define ID_MAX			64
#define TOKEN_MAX		1024		/* longest token accepted */
#define CONTENT_MAX		(64 * 1024)	/* chat message content, bytes */
#define MSGTYPE_MAX		32

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
};

/* Called for each row of a query; returns 0 to go on, 1 to stop. */
typedef int (*sstore_cb)(const struct smsg *, void *);

/* sstore.c */
int	 sstore_open(const char *, char **);
void	 sstore_close(void);
void	 sstore_msg_clear(struct smsg *);
int	 sstore_get(const char *, const char *, struct smsg *);
int	 sstore_insert(struct smsg *, int);
int	 sstore_revoke(struct smsg *, int);
int	 sstore_set_delivered(const char *, const char *, const char *, int);
int	 sstore_mark_delivered(const char *, const char *, char **, size_t);
int	 sstore_pending(const char *, const char *, long long, int, sstore_cb,
	    void *);
int	 sstore_since(const char *, const char *, long long, int, sstore_cb,
	    void *);

/* One subscription of a session: STOMP id and destination. */
struct sub {
	TAILQ_ENTRY(sub)	 entry;
	char			*id;
	char			*dest;
};
TAILQ_HEAD(subs, sub);

struct ws_out;
struct ws_beat;

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
	int				 seeding;	/* seed sync under way */
	long long			 seed_seq;
	unsigned int			 seed_count;
	char				*seed_rid;
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

/* broker.c */
void	 broker_open(int, int);
void	 broker_close(void);
void	 broker_attach(struct session *);
void	 broker_detach(struct session *);
void	 broker_frame(struct session *, const struct stomp_frame *);
void	 broker_fail(struct session *, const char *);
void	 broker_drained(struct session *);

#endif
