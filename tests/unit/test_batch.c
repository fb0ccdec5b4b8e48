/*
 * test_batch: the batch method (daemon/m_batch.c) through the real dispatch
 * and client code, on a socketpair: answers in call order, each call checked
 * against its method's specification, late calls waited for, bad batches
 * refused. The methods called are the test's own rows (one answering at
 * once, one later, one refusing), added to the table as main.c adds the
 * domains'; nothing of the daemon is stubbed.
 */
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "rpc.h"
#include "store.h"
#include "unit.h"

/* ---- the test's methods ---- */

static struct {
	struct client	*c;	/* the t.later call waiting */
	uint32_t	 msgid;
	int		 waiting;
} later;

static int
t_now(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	*result = json_pack("{s:O}", "x", json_object_get(args, "x"));
	return 0;
}

static int
t_later(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	later.c = c;
	later.msgid = msgid;
	later.waiting = 1;
	return DISPATCH_LATER;
}

static int
t_fail(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	*error = rpc_error_new(RPC_E_CONFLICT, "no");
	return 0;
}

static const struct method t_rows[] = {
	METHOD("t.now", t_now, "x:int", "answers at once"),
	METHOD("t.later", t_later, "", "answers later"),
	METHOD("t.fail", t_fail, "", "refuses"),
};
static const struct method_rows t_methods = METHOD_ROWS(t_rows);

/* ---- a client on a socketpair ---- */

static int		 peer_fd = -1;
static struct buf	 peer_in;
static uint64_t		 peer_id;

static void
fresh(void)
{
	int	 sv[2];

	if (loop == NULL) {
		log_open("test_batch", LOG_ERROR);
		loop = ev_default_loop(0);
		cfg.client_stall = 5;
		dispatch_add(&batch_methods);
		dispatch_add(&t_methods);
		client_set_request(dispatch);
	}
	client_close_all();
	if (peer_fd != -1)
		close(peer_fd);
	buf_clear(&peer_in);
	buf_init(&peer_in);
	memset(&later, 0, sizeof later);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	peer_fd = sv[1];
	client_create(sv[0], getuid(), getpid());
	peer_id = TAILQ_LAST(&clients, clients)->id;
}

/* One loop turn: requests read and dispatched, answers written, the dead freed. */
static void
turn(void)
{
	ev_run(loop, EVRUN_NOWAIT);
	client_flush_all();
	client_reap();
}

/* Send batch {calls} (JSON text) as request msgid. */
static void
call(uint32_t msgid, const char *args)
{
	struct buf	 b;
	json_t		*params = json_loads(args, 0, NULL);

	CHECKM(params != NULL, "bad JSON in the test: %s", args);
	params = json_pack("[o]", params);
	buf_init(&b);
	rpc_encode_request(&b, msgid, "batch", params);
	CHECK_INT(write(peer_fd, b.data, b.len), (ssize_t)b.len);
	buf_clear(&b);
	json_decref(params);
	turn();
}

/* The next answer as JSON text: {"id", "error" | "result"}, "" if none yet. */
static const char *
answer(void)
{
	static char	*s;
	struct rpc_msg	 m;
	const char	*cause;
	size_t		 used;
	ssize_t		 n;
	json_t		*j;

	free(s);
	s = NULL;
	turn();
	for (;;) {
		if (buf_reserve(&peer_in, 65536) == -1)
			abort();
		n = read(peer_fd, peer_in.data + peer_in.len,
		    peer_in.cap - peer_in.len);
		if (n <= 0)
			break;
		peer_in.len += (size_t)n;
	}
	if (buf_left(&peer_in) == 0 || rpc_decode(buf_head(&peer_in),
	    buf_left(&peer_in), RPC_MAX_MESSAGE, &m, &used, &cause) != RPC_OK)
		return "";
	buf_consume(&peer_in, used);
	j = json_pack("{s:i}", "id", (int)m.msgid);
	if (m.error != NULL && !json_is_null(m.error))
		json_object_set(j, "error", json_object_get(m.error, "code"));
	else
		json_object_set(j, "result", m.result);
	rpc_msg_clear(&m);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* ---- tests ---- */

static void
batch_answers_every_call_in_order(void)
{
	fresh();
	call(3, "{\"calls\":["
	    "{\"method\":\"t.now\",\"params\":{\"x\":1}},"
	    "{\"method\":\"t.fail\"},"
	    "{\"method\":\"no.such\",\"params\":{}},"
	    "{\"method\":\"t.now\",\"params\":{\"x\":\"one\"}},"
	    "{\"method\":\"t.now\",\"params\":{\"x\":2}}]}");
	CHECK_STR(answer(), "{\"id\":3,\"result\":{\"results\":["
	    "{\"result\":{\"x\":1}},"
	    "{\"error\":{\"code\":\"conflict\",\"message\":\"no\"}},"
	    "{\"error\":{\"code\":\"no_such_method\",\"message\":\"no method "
	    "'no.such' (rpc.describe lists them)\"}},"
	    "{\"error\":{\"code\":\"bad_params\",\"message\":\"'x' must be an "
	    "integer\"}},"
	    "{\"result\":{\"x\":2}}]}}");
	CHECK_STR(answer(), "");
}

static void
batch_waits_for_its_late_calls(void)
{
	struct client	*c;

	fresh();
	call(5, "{\"calls\":[{\"method\":\"t.later\"},"
	    "{\"method\":\"t.now\",\"params\":{\"x\":9}}]}");
	CHECK_STR(answer(), "");
	CHECKM(later.waiting, "t.later was not called");
	c = client_find(peer_id);
	CHECK_INT(c != NULL ? c->inflight : 99, 1);
	client_reply_later(later.c, later.msgid, NULL, json_pack("{s:s}", "done",
	    "yes"));
	CHECK_STR(answer(), "{\"id\":5,\"result\":{\"results\":["
	    "{\"result\":{\"done\":\"yes\"}},{\"result\":{\"x\":9}}]}}");
	c = client_find(peer_id);
	CHECK_INT(c != NULL ? c->inflight : 99, 0);
}

static void
batch_late_answer_after_the_client_left(void)
{
	fresh();
	call(6, "{\"calls\":[{\"method\":\"t.later\"}]}");
	CHECKM(later.waiting, "t.later was not called");
	close(peer_fd);
	peer_fd = -1;
	turn();
	CHECKM(client_find(peer_id) == NULL, "the client is still there");
	/* Nothing to answer: freed without a trace (LeakSanitizer). */
	client_reply_later(later.c, later.msgid, NULL, json_object());
	turn();
}

static void
batch_refuses_bad_batches(void)
{
	char	*many;
	size_t	 i;

	fresh();
	call(1, "{\"calls\":[]}");
	CHECK_STR(answer(), "{\"error\":\"bad_params\",\"id\":1}");
	call(2, "{\"calls\":{\"method\":\"t.now\"}}");
	CHECK_STR(answer(), "{\"error\":\"bad_params\",\"id\":2}");
	call(3, "{\"calls\":[{\"params\":{}}]}");
	CHECK_STR(answer(), "{\"error\":\"bad_params\",\"id\":3}");
	call(4, "{\"calls\":[{\"method\":\"t.now\",\"params\":[1]}]}");
	CHECK_STR(answer(), "{\"error\":\"bad_params\",\"id\":4}");
	call(5, "{\"calls\":[{\"method\":\"batch\",\"params\":{\"calls\":"
	    "[{\"method\":\"t.fail\"}]}}]}");
	CHECK_STR(answer(), "{\"id\":5,\"result\":{\"results\":[{\"error\":"
	    "{\"code\":\"bad_params\",\"message\":\"a batch cannot hold a "
	    "batch\"}}]}}");
	/* 1001 calls: over the limit, nothing runs. */
	many = malloc(1001 * 24 + 16);
	strcpy(many, "{\"calls\":[");
	for (i = 0; i < 1001; i++)
		strcat(many, i ? ",{\"method\":\"t.later\"}" :
		    "{\"method\":\"t.later\"}");
	strcat(many, "]}");
	call(6, many);
	CHECK_STR(answer(), "{\"error\":\"bad_params\",\"id\":6}");
	CHECKM(!later.waiting, "a call of a refused batch ran");
	free(many);
}

static const struct unit_test tests[] = {
	UNIT_TEST(batch_answers_every_call_in_order),
	UNIT_TEST(batch_waits_for_its_late_calls),
	UNIT_TEST(batch_late_answer_after_the_client_left),
	UNIT_TEST(batch_refuses_bad_batches),
};

UNIT_MAIN(tests)
