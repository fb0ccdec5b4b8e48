/*
 * imgwd's modules and the state they share. One event loop owns everything:
 * the upstream WebSocket (libwebsockets on libev), the local Unix socket and
 * its clients, and the SQLite store.
 */
#ifndef IMGWD_DAEMON_H
#define IMGWD_DAEMON_H

#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "buf.h"

struct store;

struct config {
	const char	*account;	/* names the default file, socket, db */
	const char	*config_path;	/* the file read, if any */
	const char	*log_file;	/* NULL: stderr */
	int		 db_default;	/* db_path is the default: make its directory */
	int		 log_level;	/* enum log_level */
	const char	*upstream;	/* ws:// or wss:// URL of /ws/im */
	const char	*token_file;
	char		*token;		/* never logged, never on argv */
	const char	*socket_path;
	const char	*db_path;
	const char	*app_id;
	const char	*user;		/* own user id, if given */
	const char	*ca_file;	/* extra CA bundle for wss:// */
	const char	*stomp_host;	/* CONNECT host header (default: URL host) */
	int		 stomp_login;	/* also send login/passcode in CONNECT */
	const char	*server_profile; /* "seed", "extended"; NULL: auto */
	int		 hb_cx, hb_cy;	/* heart-beat we offer, ms (seed: 0,0) */
	double		 ping_interval;	/* idle seconds before a WebSocket ping */
	double		 ping_timeout;	/* idle seconds before hanging up */
	double		 backoff_max;	/* longest wait between attempts, s */
	int		 retain_days;	/* drop messages older than this (0: keep) */
	int		 retain_count;	/* keep this many per conversation (0: all) */
	double		 client_stall;	/* seconds a client may block its events */
	int		 durability_normal; /* --durability normal: no sync per commit */
	uid_t		 allow_uid[16];	/* other uids admitted to the socket */
	int		 nallow_uid;
	gid_t		 allow_gid;	/* a group admitted to the socket */
	int		 has_allow_gid;
};

/* config.c */
void		 config_load(int argc, char **argv);
void		 config_usage(FILE *);
const char	*config_name(int ch);
int		 config_finish(char *err, size_t len);
int		 config_check(void);
int		 read_token(char **out, char **cause);
/* Re-read the token file; keeps the old token on failure. Returns 0 or -1. */
int		 config_reload_token(void);
/* Replace the token used from the next connection on. */
void		 config_set_token(const char *);
void		 config_mkdirs(const char *path);

/* state.c: what the whole daemon shares (a leaf). */
extern struct ev_loop	*loop;
extern struct store	*store;
extern struct config	 cfg;
extern char		*self_id;	/* own user id once known, else NULL */
int		 state_set_self(const char *);
void		 state_stop(void);
int64_t		 state_now_ms(void);

/* UPSTREAM.md: content (and a message's extras together) at most 64 KiB. */
#define MESSAGE_TEXT_MAX	(64 * 1024)

/* conv.c: ids and conversation keys ("u:ID", "g:ID"), in one place. */
int		 conv_valid_id(const char *);
void		 conv_key(char *out, size_t len, int group, const char *id);
int		 conv_is_group(const char *key);
const char	*conv_id(const char *key);
json_t		*conv_object(const char *key);
int		 conv_parse(json_t *o, char *out, size_t len);
const char	*conv_upstream_field(const char *key);

/* upstream.c: the one WebSocket. */
/* What the connection hands on (main.c wires them to the session). */
struct upstream_hooks {
	void	(*connecting)(void);
	void	(*opened)(void);	/* the WebSocket is open */
	void	(*input)(const char *, size_t);
	void	(*closed)(const char *reason, int64_t retry_at);
	void	(*pong)(uint64_t n);	/* see upstream_barrier */
};
void		 upstream_set_hooks(const struct upstream_hooks *);
int		 upstream_start(char **cause);
void		 upstream_stop(void);
/* Queue encoded STOMP bytes for the socket. Returns 0, or -1 if not open. */
int		 upstream_send(const void *, size_t);
/* Close the socket (if open) and reconnect after a delay. */
void		 upstream_drop(const char *reason);
/* Ask for data at least every secs (0: no STOMP heart-beat expected). */
void		 upstream_expect(double secs);
const char	*upstream_host(void);
/* Stop reconnecting until upstream_kick(). */
void		 upstream_hold(void);
/* Connect now (after a hold or to cut a back-off short). */
void		 upstream_kick(void);
int		 upstream_is_open(void);
void		 upstream_reset_backoff(void);
/*
 * Ask for a WebSocket ping written after every byte queued so far. Returns
 * its number; the pong hook gets the number of each pong that comes back
 * (the server has read everything before that ping). 0 if not open.
 */
uint64_t	 upstream_barrier(void);

/* caps.c: what the server offers beyond the seed (UPSTREAM.md im-extensions). */
void		 caps_init(const char *saved);
const char	*caps_connected(const char *header);
int		 caps_has(const char *name);
int		 caps_known(void);
int		 caps_serves(const char *dest);
const char	*caps_missing(const char *dest);
const char	*caps_profile(void);
json_t		*caps_list(void);

/* session.c: STOMP on top of the WebSocket. */
enum session_state {
	SESSION_BACKOFF = 0,	/* no connection; next attempt at retry_at */
	SESSION_CONNECTING,	/* socket or STOMP handshake under way */
	SESSION_SYNCING,	/* CONNECTED, fetching what we missed */
	SESSION_ONLINE,		/* CONNECTED, subscribed, synced */
	SESSION_AUTH_FAILED,	/* the token was refused; waiting for a new one */
	SESSION_STOPPED,	/* shutting down */
	SESSION_LOGGED_OUT,	/* session.logout: offline until login/reconnect */
};
struct stomp_frame;
/* What the session hands on (main.c wires them; none may be NULL). */
struct session_hooks {
	void	(*connected)(void);	/* CONNECTED, subscribed: now syncing */
	void	(*message)(const struct stomp_frame *);	/* a MESSAGE */
	void	(*receipt)(const char *id);	/* a RECEIPT (not DISCONNECT's) */
	void	(*refused)(const char *message);	/* ERROR (not Unauthorized) */
	void	(*closed)(void);	/* the connection is gone */
};
void		 session_set_hooks(const struct session_hooks *);
void		 session_opened(void);
void		 session_input(const char *, size_t);
/* The connection is gone; retry_at: ms of the next attempt, 0 if none. */
void		 session_closed(const char *reason, int64_t retry_at);
void		 session_connecting(void);
/* Whether frames can be sent (syncing or online). */
int		 session_is_up(void);
/* The sync is over: syncing becomes online (reason may be ""). */
void		 session_online(const char *reason);
int64_t		 session_retry_at(void);
/* Subscribe to (on) or leave a group's channel. */
void		 session_join_group(const char *group, int on);
/* Clean shutdown: DISCONNECT with a receipt, then state_stop(). */
void		 session_shutdown(void);
/* Log out: DISCONNECT, and stay offline (across restarts) until login. */
void		 session_logout(void);
/* Leave the logged-out state (session.login, session.reconnect). */
void		 session_login(void);
/* Whether a logout is in force (read from the cache at start). */
int		 session_logged_out(void);
enum session_state session_state(void);
const char	*session_state_name(enum session_state);
const char	*session_reason(void);
int64_t		 session_since(void);
/*
 * Send a SEND to an /app destination with a JSON body, with optional
 * request-id and receipt headers. Returns 0, or -1 when not online.
 */
int		 session_send(const char *dest, const char *body,
		     const char *request_id, const char *receipt);

/* pending.c: SENDs waiting for proof; a proof, a refusal, a loss or a timeout ends each. */
typedef void	 pending_cb(void *arg, int code, const char *message,
		     json_t *data);
int		 pending_request(const char *dest, json_t *body, pending_cb *,
		     void *arg);
int		 pending_post(const char *dest, const char *id, const char *text,
		     pending_cb *, void *arg);
/* Proofs: a reply frame, a RECEIPT or an echo (settle), a pong. */
void		 pending_reply(const struct stomp_frame *);
void		 pending_settle(const char *id, json_t *data);
void		 pending_pong(uint64_t n);
int		 pending_has(const char *id);
/* The connection is gone: everything waiting gets -1. */
void		 pending_lost(void);

/* sync.c: fetching what was missed, after every connect. */
void		 sync_start(void);
void		 sync_stop(void);
/* The store rolled back: take the sync cursor from it again. */
void		 sync_rollback(void);
/* A sync page is arriving: keep the transaction open (main.c). */
int		 sync_holding(void);
/* Fetch what was missed again (after following new channels). */
void		 sync_resync(void);
/* A live message or event carried server seq. */
void		 sync_saw_seq(int64_t seq);
/* A message arrived: a seed sync is not quiet yet. */
void		 sync_not_quiet(void);

/* inbound.c: the server's MESSAGE frames, routed by destination. */
void		 inbound_message(const struct stomp_frame *);

/* outbox.c: durable queue of outgoing messages. */
int		 outbox_add(const char *id, const char *dest, const char *body);
void		 outbox_flush(void);
int		 outbox_in_flight(const char *id);
/* Drop a message that will never go (revoked meanwhile). */
void		 outbox_forget(const char *id);

/* events.c: the event log and its fan-out. */
int64_t		 events_emit(const char *type, json_t *body);
void		 events_pump(void);
int64_t		 events_head(void);
void		 events_forget(void);

/* listener.c: the Unix socket. */
int		 listener_open(const char *path, char **cause);
/* Serve a listening socket inherited from systemd (fd). Returns 0 or -1. */
int		 listener_adopt(int fd, char **cause);
void		 listener_close(void);

/*
 * outq.c: what waits to be written to one client. An encoded message that
 * several clients are sent (an event) is a wire, queued by reference.
 */
struct wire {
	unsigned	 refs;
	size_t		 len;
	char		 data[];
};
struct wire	*wire_new(const void *head, size_t hlen, const void *body,
		     size_t blen);
struct wire	*wire_ref(struct wire *);
void		 wire_unref(struct wire *);

struct outq {
	struct buf	 own;		/* bytes for this client alone */
	struct outq_seg {
		struct wire	*w;	/* NULL: the next bytes of own */
		size_t		 off, end;	/* unsent: [off, end) */
	}		*seg;
	size_t		 head, n, cap;	/* a ring of segments */
	size_t		 left;		/* unsent bytes in all */
};
void		 outq_init(struct outq *);
void		 outq_clear(struct outq *);
/* The last n bytes of own were just appended (encoded there): queue them. */
void		 outq_own(struct outq *, size_t n);
/* Queue a wire; the queue takes a reference of its own. */
void		 outq_wire(struct outq *, struct wire *);
/* One writev of the queue to fd; the bytes written, or -1 (errno). */
ssize_t		 outq_write(struct outq *, int fd);
/* Keep only the first n unsent bytes (a message boundary). */
void		 outq_keep(struct outq *, size_t n);

/* client.c: one local client. */
struct client;
/* Where a client's requests go (dispatch, installed by main.c). */
typedef void	 client_request_fn(struct client *, uint32_t msgid,
		     const char *method, json_t *params);
/* An internal client's answers (m_batch.c); takes error and result. */
typedef void	 client_put_fn(void *arg, struct client *, uint32_t msgid,
		     json_t *error, json_t *result);
struct client {
	uint64_t		 id;
	int			 fd;
	uid_t			 uid;
	pid_t			 pid;
	ev_io			 rio;
	ev_io			 wio;
	struct buf		 in;
	struct outq		 out;
	int			 dead;
	int			 subscribed;	/* receives events */
	int64_t			 cursor;	/* last event seq sent */
	json_t			*topics;	/* event type prefixes, NULL: all */
	char			 name[64];	/* from client.hello */
	unsigned		 inflight;	/* requests answered later */
	ev_tstamp		 stalled;	/* when output went over the soft limit */
	client_put_fn		*put;		/* an internal client's answers */
	void			*put_arg;
	/*
	 * Where each queued message ends in the output stream, and the last
	 * event seq queued with it: what was delivered, message by message.
	 */
	struct client_mark {
		uint64_t	 end;
		int64_t		 seq;
	}			*marks;
	size_t			 mhead, mlen, mcap;
	uint64_t		 queued;	/* bytes ever queued */
	uint64_t		 sent;		/* bytes ever written */
	uint64_t		 retired;	/* where the last whole message ended */
	uint64_t		 committed;	/* queued bytes that follow a commit */
	int64_t			 delivered;	/* last event seq wholly written */
	int			 draining;	/* saying lagged, then closing */
	TAILQ_ENTRY(client)	 entry;
};
TAILQ_HEAD(clients, client);
extern struct clients	 clients;

void		 client_create(int fd, uid_t, pid_t);
/* A client with no socket whose answers go to a batch (m_batch.c). */
struct client	*client_create_internal(client_put_fn *, void *arg);
void		 client_set_request(client_request_fn *);
void		 client_release(struct client *);
void		 client_reply(struct client *, uint32_t msgid, json_t *error,
		     json_t *result);
/* Answer a request that dispatch left pending (DISPATCH_LATER). */
void		 client_reply_later(struct client *, uint32_t msgid, json_t *error,
		     json_t *result);
int		 client_wants(struct client *, const char *type);
json_t		*client_describe(struct client *, int64_t head);
struct client	*client_find(uint64_t id);
void		 client_notify(struct client *, const char *method, json_t *params);
/* Queue an encoded message shared with other clients (an event). */
void		 client_send_wire(struct client *, struct wire *);
int		 client_congested(struct client *);
void		 client_flush_all(void);
void		 client_reap(void);
void		 client_close_all(void);
/* Tell every client the daemon is stopping (a "shutdown" event). */
void		 client_say_shutdown(void);
/*
 * This turn's commit failed: answers queued since the last commit claim
 * what is not stored. Withdraw them, say why, and hang up on those clients.
 */
void		 client_turn_failed(const char *why);
/* Whether some client has answers waiting to be written. */
int		 client_output_pending(void);

/* dispatch.c: the one method table, made of each domain's rows. */
#define DISPATCH_LATER	1	/* the handler answers later with client_reply */
typedef int	 method_fn(struct client *, uint32_t msgid, json_t *args,
		     json_t **result, json_t **error);
typedef void	 apply_fn(json_t *args, json_t *data);
typedef json_t	*cached_fn(json_t *args);
typedef json_t	*answer_fn(json_t *args, json_t *data);

/*
 * A method. params is its one argument specification: dispatch checks the
 * arguments against it before anything runs, and rpc.describe shows it
 * ("name:type", "?" after an optional name, "user|group:id" for exactly one
 * of the two; types id, string, int, bool, array, object, token). A method
 * the server serves has a destination instead of a handler (forward.c).
 */
struct method;
typedef int	 forward_fn(const struct method *, struct client *,
		     uint32_t msgid, json_t *args, json_t **result,
		     json_t **error);
struct method {
	const char	*name;
	method_fn	*fn;		/* the local handler; NULL: forwarded */
	const char	*params;
	const char	*summary;
	forward_fn	*forward;	/* forward_call, when forwarded */
	const char	*dest;		/* /app/... when forwarded */
	apply_fn	*apply;		/* a successful answer, into the cache */
	cached_fn	*cached;	/* the answer when the server cannot */
	answer_fn	*answer;	/* the answer, when not the server's data */
};
#define METHOD(name, fn, params, summary) \
	{ name, fn, params, summary, NULL, NULL, NULL, NULL, NULL }
#define FORWARD(name, dest, params, summary, apply, cached, answer) \
	{ name, NULL, params, summary, forward_call, dest, apply, cached, \
	  answer }

/* A domain's rows of the table (each m_*.c file has one). */
struct method_rows {
	const struct method	*v;
	size_t			 n;
};
#define METHOD_ROWS(rows) { rows, sizeof rows / sizeof rows[0] }
extern const struct method_rows session_methods, message_methods,
		 conversation_methods, group_methods, friend_methods,
		 batch_methods, db_methods;

void		 dispatch_add(const struct method_rows *);
void		 dispatch(struct client *, uint32_t msgid, const char *method,
		     json_t *params);
const struct method *dispatch_find(const char *name);
json_t		*dispatch_methods(void);

/* arg.c: reading handlers' arguments: 0 on success, -1 with *error set. */
int		 arg_string(json_t *args, const char *key, int required,
		     size_t maxlen, const char **out, json_t **error);
int		 arg_int(json_t *args, const char *key, int64_t min, int64_t max,
		     int64_t dflt, int64_t *out, json_t **error);
int		 arg_conversation(json_t *args, char *conv, size_t len,
		     json_t **error);

/* Handlers: m_session.c, m_message.c, m_conversation.c, m_db.c, m_batch.c. */
method_fn	 m_rpc_describe, m_rpc_ping, m_client_hello, m_client_list,
		 m_session_status, m_session_reconnect, m_session_login,
		 m_session_logout, m_events_subscribe, m_events_unsubscribe;
method_fn	 m_message_send, m_message_history, m_message_revoke,
		 m_message_get, m_message_search, m_message_delete,
		 m_message_resend, m_message_cancel, m_message_broadcast,
		 m_message_forward, m_batch;
method_fn	 m_conversation_list, m_conversation_get, m_conversation_read,
		 m_conversation_pin, m_conversation_mute, m_conversation_draft,
		 m_conversation_delete, m_conversation_unread,
		 m_conversation_clear, m_conversation_read_all;
method_fn	 m_db_stats, m_db_vacuum, m_db_check;
/* m_group.c: groups followed by id. */
void		 group_follow_all(void);

/* forward.c: methods the server serves, and notices to it. */
forward_fn	 forward_call;
/* Arguments renamed for the server: user -> userId/peerId, group -> groupId... */
json_t		*forward_args(json_t *args, int conversation);
void		 forward_refresh(const char *dest, apply_fn *, json_t *args);
/* Tell the server about a local conversation change (best effort). */
void		 forward_conversation_set(const char *conv, const char *field,
		     json_t *value);
void		 forward_read(const char *conv, const char *upto);

/* intake.c: take a chat message from the server; store, announce it. */
void		 intake_message(json_t *msg);
/* The local error for an upstream reply code (forward.c). */
json_t		*forward_error(int code, const char *message);

#endif
