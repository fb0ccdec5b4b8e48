/*
 * test_powercut: db/store.c survives power cuts (proto/RPC.md,
 * "Durability"). A workload drives the store as the daemon does, one
 * transaction per loop turn, through the pcvfs shim, which loses power at a
 * random write or sync; the database is then rebuilt as a disk would leave
 * it and reopened, and the promises are checked. Linked with db/store.c,
 * proto/buf.c and the shim only.
 *
 * POWERCUT_CUTS (default 300) sets how many cuts; POWERCUT_SEED (default:
 * the time) the seed, printed first and with every failure.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "pcvfs.h"
#include "rpc.h"
#include "store.h"
#include "unit.h"

#define TURNS		40	/* loop turns of one workload */
#define PER_ROUND	40	/* cuts per workload (one calibration run each) */
#define MAX_SENDS	(TURNS * 3)

static char	 dir[256], path[300];
static sqlite3	*conn;		/* the connection store_open made last */
static uint64_t	 base_seed;
static uint64_t	 empty_digest;	/* a new store's state, turn 0 */

/* What one run of the workload saw before the power went. */
struct run {
	uint64_t	 digest[TURNS + 1];	/* the state each turn committed */
	int		 have[TURNS + 1];
	int		 answered;	/* the last turn whose commit returned */
	int		 reached;	/* the last turn that tried to commit */
	int64_t		 delivered;	/* the last event seq of an answered turn */
	char		 sends[MAX_SENDS][32];	/* message.send ids, by turn */
	int		 send_turn[MAX_SENDS];
	int		 nsends;
};

/* What a series of cuts found, for the summary and the NORMAL test. */
struct tally {
	int	 cuts, pending, landed, torn, subset, lost_turns, lost_sends;
	int	 recovered_later;	/* a commit that failed, found durable */
	int	 failed;
};

/* An SQLite auto-extension: hands us each connection as it opens. */
static int
capture(sqlite3 *db, char **err, const void *api)
{
	conn = db;
	return SQLITE_OK;
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t	 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Remove the database and its companions. */
static void
remove_files(void)
{
	char	 p[320];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-journal", path);
	unlink(p);
}

/* Run one SQL query on the store's connection; its first integer. */
static int64_t
sql_int(const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* FNV-1a over every row of what the promises are about. */
static uint64_t
digest(void)
{
	static const char *const q[] = {
		"SELECT id, conv, from_id, to_id, msg_type, content, status, "
		"created_at, seq, edited_at, extra FROM messages ORDER BY id",
		"SELECT pos, id, dest, body FROM outbox ORDER BY pos",
		"SELECT seq, type, body FROM events ORDER BY seq",
		"SELECT conv, last_id, last_at, unread, read_at, pinned, muted, "
		"draft FROM conversations ORDER BY conv",
		"SELECT key, value FROM kv ORDER BY key",
	};
	sqlite3_stmt	*st;
	uint64_t	 h = 0xcbf29ce484222325ULL;
	const unsigned char *t;
	size_t		 i;
	int		 c, n, k;

	for (i = 0; i < sizeof q / sizeof q[0]; i++) {
		if (sqlite3_prepare_v2(conn, q[i], -1, &st, NULL) != SQLITE_OK)
			return 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(st); c++) {
				t = sqlite3_column_text(st, c);
				n = sqlite3_column_bytes(st, c);
				for (k = 0; t != NULL && k < n; k++)
					h = (h ^ t[k]) * 0x100000001b3ULL;
				h = (h ^ (t == NULL ? 0xfe : 0xff)) * 0x100000001b3ULL;
			}
		}
		sqlite3_finalize(st);
		h = (h ^ 0xfd) * 0x100000001b3ULL;
	}
	return h;
}

/* A message object as the daemon stores it. */
static json_t *
message(const char *id, const char *from, const char *to, const char *text,
    const char *status, int64_t at)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", id, "from",
	    from, "to", to, "type", "TEXT", "content", text, "status", status,
	    "createdAt", (json_int_t)at, "seq", (json_int_t)(at % 100000));
}

/* Some text: words, Chinese, now and then long enough to overflow a page. */
static void
text(uint64_t *r, char *out, size_t cap)
{
	static const char *const words[] = { "hello", "北京", "天气", "meeting",
	    "你好", "at", "noon", "周末", "ok", "見て" };
	size_t	 o = 0, n = rnd(r) % 8 == 0 ? 400 : 1 + rnd(r) % 12;

	out[0] = '\0';
	while (n-- > 0) {
		const char *w = words[rnd(r) % 10];

		if (o + strlen(w) + 2 >= cap)
			break;
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", w);
	}
}

/* Append an event as events_emit does: encoded, after the newest. */
static int
event(struct store *s, const char *type, const char *id)
{
	int64_t		 seq = store_event_last(s) + 1;
	json_t		*b = json_pack("{s:s,s:s,s:I}", "id", id, "type", type,
			    "seq", (json_int_t)seq);
	struct buf	 enc;
	int		 rc;

	buf_init(&enc);
	rc = rpc_encode_value(&enc, b) == 0 ?
	    store_event_add(s, seq, type, enc.data, enc.len) : -1;
	buf_clear(&enc);
	json_decref(b);
	return rc;
}

/*
 * One loop turn: messages arrive, sends are queued (answered once the turn
 * commits), the oldest queued one settles, a conversation is read, a
 * message is revoked or forgotten. ids[] are the incoming messages still
 * stored. Returns 0, or -1 when a store call failed.
 */
static int
turn(struct store *s, struct run *run, int t, uint64_t *r, char (*ids)[32],
    int *nids, int *settled)
{
	char		 id[32], conv[16], peer[8], buf[4096], tv[16];
	json_t		*m, *cv = NULL;
	int64_t		 at = 1800000000000LL + t * 1000;
	int		 i, n, k;

	/* As imgwd: the store is told, and the id kept for a restart. */
	if (t == 1 && (store_set_self(s, "me") == -1 ||
	    store_set_kv(s, "self", "me") == -1))
		return -1;
	n = (int)(rnd(r) % 4);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "in%02d.%d", t, i);
		snprintf(peer, sizeof peer, "p%d", (int)(rnd(r) % 5));
		snprintf(conv, sizeof conv, "u:%s", peer);
		text(r, buf, sizeof buf);
		m = message(id, peer, "me", buf, "SENT", at + i);
		k = store_put_message(s, conv, m);
		json_decref(m);
		if (k == -1 || event(s, "message.new", id) == -1)
			return -1;
		strcpy(ids[(*nids)++], id);
	}
	n = (int)(rnd(r) % 3);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "out%02d.%d", t, i);
		snprintf(conv, sizeof conv, "u:p%d", (int)(rnd(r) % 5));
		text(r, buf, sizeof buf);
		m = message(id, "me", conv + 2, buf, "SENDING", at + 10 + i);
		k = store_put_message(s, conv, m);
		json_decref(m);
		if (k == -1 || store_outbox_add(s, id, "/app/chat.send", buf) == -1 ||
		    event(s, "message.new", id) == -1)
			return -1;
		strcpy(run->sends[run->nsends], id);
		run->send_turn[run->nsends++] = t;
	}
	/* The server's proof for the oldest queued message. */
	if (*settled < run->nsends && rnd(r) % 2) {
		const char *sid = run->sends[(*settled)++];

		if (store_set_status(s, sid, rnd(r) % 5 ? "SENT" : "FAILED", at + 20,
		    t, &cv) == -1 || store_outbox_del(s, sid) == -1 ||
		    event(s, "message.status", sid) == -1)
			return -1;
		json_decref(cv);
	}
	if (rnd(r) % 4 == 0) {
		snprintf(conv, sizeof conv, "u:p%d", (int)(rnd(r) % 5));
		if (store_conversation_read(s, conv, NULL) == -1 ||
		    event(s, "conversation.changed", conv) == -1)
			return -1;
	}
	if (*nids > 0 && rnd(r) % 6 == 0) {
		k = (int)(rnd(r) % (uint64_t)*nids);
		m = store_get_message(s, ids[k]);
		if (m == NULL)
			return -1;
		json_object_set_new(m, "status", json_string("REVOKED"));
		json_object_set_new(m, "content", json_string(""));
		snprintf(conv, sizeof conv, "u:%s", json_string_value(
		    json_object_get(m, "from")));
		i = store_put_message(s, conv, m);
		json_decref(m);
		if (i == -1 || event(s, "message.revoked", ids[k]) == -1)
			return -1;
	}
	if (*nids > 0 && rnd(r) % 10 == 0) {
		k = (int)(rnd(r) % (uint64_t)*nids);
		if (store_delete_message(s, ids[k]) == -1 ||
		    event(s, "message.deleted", ids[k]) == -1)
			return -1;
		memmove(ids[k], ids[k + 1], (size_t)(*nids - k - 1) * sizeof ids[0]);
		(*nids)--;
	}
	snprintf(tv, sizeof tv, "%d", t);
	return store_set_kv(s, "turn", tv);
}

/*
 * Run the workload of wseed until the power goes at operation cut (0: after
 * the last turn). Fills run; returns the operations it counted.
 */
static uint64_t
workload(uint64_t wseed, enum store_durability dur, uint64_t cut, struct run *run)
{
	static char	 ids[TURNS * 4][32];
	struct store	*s;
	char		*cause = NULL, sql[64];
	uint64_t	 r = wseed, ops;
	int		 t, nids = 0, settled = 0;

	memset(run, 0, sizeof *run);
	run->answered = -1;
	/* A cut before the schema is whole leaves a new store: turn 0. */
	run->digest[0] = empty_digest;
	run->have[0] = empty_digest != 0;
	remove_files();
	pcvfs_reset();
	pcvfs_arm(cut);
	if ((s = store_open(path, &cause)) == NULL) {
		CHECKM(pcvfs_off(), "store_open: %s", cause ? cause : "?");
		free(cause);
		return pcvfs_ops();
	}
	/*
	 * The daemon's 1000 pages, or more checkpoints for cuts inside them
	 * (not with NORMAL: a checkpoint at every turn would sync them all).
	 */
	snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = %d",
	    dur == STORE_DURABLE_NORMAL ? 1000 :
	    (int[]){ 8, 64, 1000, 1000 }[rnd(&r) % 4]);
	sqlite3_exec(conn, sql, NULL, NULL, NULL);
	if (store_set_durability(s, dur) == -1) {
		CHECKM(pcvfs_off(), "store_set_durability: %s", store_error(s));
		goto out;
	}
	run->digest[0] = empty_digest = digest();
	run->have[0] = 1;
	run->answered = 0;
	for (t = 1; t <= TURNS && !pcvfs_off(); t++) {
		if (turn(s, run, t, &r, ids, &nids, &settled) == -1) {
			CHECKM(pcvfs_off(), "turn %d: %s", t, store_error(s));
			break;
		}
		run->digest[t] = digest();
		run->have[t] = 1;
		run->reached = t;
		/* The daemon answers and delivers only once this returned 0. */
		if (store_flush(s) == 0) {
			run->answered = t;
			run->delivered = store_event_last(s);
		} else
			CHECKM(pcvfs_off(), "commit of turn %d: %s", t, store_error(s));
		/*
		 * An idle turn: the daemon indexes a few messages for search
		 * in a transaction of their own (the digest does not see it).
		 */
		if (!pcvfs_off() && rnd(&r) % 2 == 0 &&
		    (store_index_some(s, 1 + (int)(rnd(&r) % 6)) == -1 ||
		    store_flush(s) == -1))
			CHECKM(pcvfs_off(), "index turn after %d: %s", t,
			    store_error(s));
	}
out:
	ops = pcvfs_ops();
	pcvfs_power_off();
	store_close(s);
	return ops;
}

/* Whether a message.send answered before the cut is in the outbox or settled. */
static int
send_kept(struct store *s, const char *id)
{
	json_t		*m;
	const char	*st;
	int		 ok;

	if (store_outbox_has(s, id))
		return 1;
	if ((m = store_get_message(s, id)) == NULL)
		return 0;
	st = json_string_value(json_object_get(m, "status"));
	ok = st != NULL && (strcmp(st, "SENT") == 0 || strcmp(st, "FAILED") == 0);
	json_decref(m);
	return ok;
}

/*
 * Restore the files as the cut left them, reopen, and check the promises.
 * strict: the answered turns must all be there (FULL); else losing them is
 * counted, not failed. Returns 0 or -1 (a failed check).
 */
static int
recover(const struct run *run, uint64_t rseed, int strict, struct tally *ta,
    const char *where)
{
	struct pcvfs_stats	 st;
	struct store		*s;
	char			*cause = NULL, *bad, *v;
	int			 t = 0, i, lost = 0, before = unit_nfailed;
	json_t			*m;

	if (pcvfs_restore(rseed, &st) == -1) {
		CHECKM(0, "%s: cannot write the files back", where);
		return -1;
	}
	ta->cuts++;
	ta->pending += st.pending;
	ta->landed += st.landed;
	ta->torn += st.torn;
	ta->subset += st.subset;
	conn = NULL;
	if ((s = store_open(path, &cause)) == NULL) {
		CHECKM(0, "%s: reopening: %s", where, cause ? cause : "?");
		free(cause);
		return -1;
	}
	/*
	 * The indexes may lag but hold exactly the messages up to the mark,
	 * no more, no fewer (db.check then indexes the rest and compares).
	 */
	CHECKM(sql_int("SELECT count(*) FROM messages WHERE rowid <= (SELECT "
	    "upto FROM search_mark)") == sql_int("SELECT count(*) FROM "
	    "message_fts_docsize") && sql_int("SELECT count(*) FROM "
	    "message_fts_docsize d LEFT JOIN messages m ON m.rowid = d.id WHERE "
	    "m.rowid IS NULL OR d.id > (SELECT upto FROM search_mark)") == 0 &&
	    sql_int("SELECT count(*) FROM message_short_docsize") ==
	    sql_int("SELECT count(*) FROM message_fts_docsize") &&
	    sql_int("SELECT count(*) FROM message_short_docsize d LEFT JOIN "
	    "message_fts_docsize f USING (id) WHERE f.id IS NULL") == 0,
	    "%s: the search indexes do not hold the messages up to the mark",
	    where);
	if ((bad = store_check(s)) != NULL) {
		CHECKM(0, "%s: db.check: %s", where, bad);
		free(bad);
	}
	CHECKM(sqlite3_exec(conn, "INSERT INTO message_short(message_short) "
	    "VALUES ('integrity-check')", NULL, NULL, NULL) == SQLITE_OK,
	    "%s: short index: %s", where, sqlite3_errmsg(conn));
	if ((v = store_get_kv(s, "turn")) != NULL)
		t = atoi(v);
	free(v);
	/* Exactly the state of one turn, whole. */
	CHECKM(t >= 0 && t <= run->reached && run->have[t] &&
	    digest() == run->digest[t], "%s: the state is not turn %d's "
	    "(answered %d, reached %d)", where, t, run->answered, run->reached);
	if (t > run->answered && run->answered >= 0)
		ta->recovered_later++;
	if (t < run->answered) {
		ta->lost_turns++;
		CHECKM(!strict, "%s: answered turns %d..%d undone", where, t + 1,
		    run->answered);
	}
	for (i = 0; i < run->nsends; i++) {
		if (run->send_turn[i] <= run->answered && !send_kept(s, run->sends[i])) {
			lost++;
			CHECKM(!strict, "%s: answered send %s is gone", where,
			    run->sends[i]);
		}
	}
	ta->lost_sends += lost;
	CHECKM(!strict || store_event_last(s) >= run->delivered,
	    "%s: delivered events up to %" PRId64 ", the log ends at %" PRId64,
	    where, run->delivered, store_event_last(s));
	CHECKM(sql_int("SELECT count(*) - count(DISTINCT id) FROM messages") == 0 &&
	    sql_int("SELECT count(*) - count(DISTINCT id) FROM outbox") == 0,
	    "%s: an id stored twice", where);
	CHECKM(sql_int("SELECT count(*) FROM events") ==
	    sql_int("SELECT coalesce(max(seq), 0) FROM events"),
	    "%s: the event log has a gap", where);
	CHECKM(sql_int("SELECT count(*) FROM outbox o LEFT JOIN messages m "
	    "ON m.id = o.id WHERE m.status IS NOT 'SENDING'") == 0 &&
	    sql_int("SELECT count(*) FROM messages WHERE status = 'SENDING' AND "
	    "id NOT IN (SELECT id FROM outbox)") == 0,
	    "%s: the outbox and the SENDING messages differ", where);
	CHECKM(sql_int("SELECT count(*) FROM conversations c WHERE unread <> "
	    "(SELECT count(*) FROM messages m WHERE m.conv = c.conv AND "
	    "m.created_at > c.read_at AND m.status <> 'REVOKED' AND "
	    "m.from_id <> '' AND m.from_id <> coalesce((SELECT value FROM kv "
	    "WHERE key = 'self'), ''))") == 0,
	    "%s: unread counts differ from the messages", where);
	/* And it takes the next turn. */
	m = message("after", "me", "p0", "after the cut", "SENDING", 1900000000000LL);
	CHECKM(store_put_message(s, "u:p0", m) != -1 &&
	    store_outbox_add(s, "after", "/app/chat.send", "x") == 0 &&
	    event(s, "message.new", "after") == 0 && store_flush(s) == 0,
	    "%s: writing after the cut: %s", where, store_error(s));
	json_decref(m);
	if ((bad = store_check(s)) != NULL) {
		CHECKM(0, "%s: db.check after a new turn: %s", where, bad);
		free(bad);
	}
	store_close(s);
	if (unit_nfailed != before) {
		ta->failed++;
		return -1;
	}
	return 0;
}

/* Cut the power at n random points of random workloads; fill ta. */
static void
cuts(int n, enum store_durability dur, int strict, struct tally *ta)
{
	struct run	*run = calloc(1, sizeof *run);
	uint64_t	 r = base_seed ^ (dur == STORE_DURABLE_NORMAL ? 0x4e4f524dULL : 0);
	uint64_t	 wseed = 0, total = 0, cut;
	char		 where[200];
	int		 i;

	memset(ta, 0, sizeof *ta);
	for (i = 0; i < n && run != NULL; i++) {
		/* A new workload: a run to the end first counts its operations. */
		if (i % PER_ROUND == 0) {
			wseed = rnd(&r);
			total = workload(wseed, dur, 0, run);
			snprintf(where, sizeof where, "seed %" PRIu64 ", workload %d, "
			    "no cut", base_seed, i / PER_ROUND);
			if (recover(run, rnd(&r), strict, ta, where) == -1 ||
			    run->answered != TURNS) {
				CHECKM(run->answered == TURNS, "%s: answered %d turns",
				    where, run->answered);
				break;
			}
			if (total == 0)
				break;
		}
		cut = 1 + rnd(&r) % total;
		snprintf(where, sizeof where, "seed %" PRIu64 ", workload %d, cut %d "
		    "at operation %" PRIu64 " of %" PRIu64, base_seed, i / PER_ROUND,
		    i, cut, total);
		workload(wseed, dur, cut, run);
		if (recover(run, rnd(&r), strict, ta, where) == -1 && ta->failed >= 3)
			break;
	}
	free(run);
	printf("# %s: %d cuts (%d a subset landing, %d writes torn), "
	    "%d unsynced changes pending, %d landed; answered turns lost at "
	    "%d cuts, %d answered sends lost; %d failed commits found durable\n",
	    dur == STORE_DURABLE_NORMAL ? "normal" : "full", ta->cuts,
	    ta->subset, ta->torn, ta->pending, ta->landed, ta->lost_turns, ta->lost_sends,
	    ta->recovered_later);
	if (ta->failed)
		printf("# reproduce: POWERCUT_SEED=%" PRIu64 " POWERCUT_CUTS=%d %s\n",
		    base_seed, n, "build/tests/test_powercut");
}

static int
ncuts(void)
{
	const char	*e = getenv("POWERCUT_CUTS");

	return e != NULL && atoi(e) > 0 ? atoi(e) : 300;
}

/* With durability full, every answered turn survives every cut. */
static void
powercut_full_keeps_every_answer(void)
{
	struct tally	 ta;

	cuts(ncuts(), STORE_DURABLE_FULL, 1, &ta);
	CHECK(ta.cuts > 0);
}

/*
 * With durability normal (the old default) the same test sees answered
 * sends undone: it can fail. Everything else still holds.
 */
static void
powercut_normal_loses_answers(void)
{
	struct tally	 ta;
	int		 n = ncuts() / 4;

	cuts(n < PER_ROUND ? PER_ROUND : n, STORE_DURABLE_NORMAL, 0, &ta);
	CHECKM(ta.lost_sends > 0 && ta.lost_turns > 0, "no cut undid an answered "
	    "send with synchronous = NORMAL: the test cannot see a loss");
}

static const struct unit_test tests[] = {
	UNIT_TEST(powercut_full_keeps_every_answer),
	UNIT_TEST(powercut_normal_loses_answers),
};

int
main(int argc, char **argv)
{
	const char	*t = getenv("TMPDIR"), *e = getenv("POWERCUT_SEED");
	int		 rc;

	base_seed = e != NULL ? strtoull(e, NULL, 10) :
	    (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("# seed %" PRIu64 " (POWERCUT_SEED), %d cuts (POWERCUT_CUTS)\n",
	    base_seed, ncuts());
	snprintf(dir, sizeof dir, "%s/imgw-powercut.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof path, "%s/store.db", dir);
	sqlite3_auto_extension((void (*)(void))capture);
	if (pcvfs_register() == -1) {
		fprintf(stderr, "cannot register the VFS shim\n");
		return 2;
	}
	rc = unit_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
	remove_files();
	rmdir(dir);
	pcvfs_reset();
	return rc;
}
