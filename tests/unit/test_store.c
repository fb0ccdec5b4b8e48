/*
 * test_store: unit tests for db/ (schema and migrations, imgw_grams,
 * messages, history pages, search, conversations and unread counts,
 * retention, integrity), linked with that module and proto/buf.c only.
 * Each test opens a fresh database file in a private temporary directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "buf.h"
#include "rpc.h"
#include "store.h"
#include "unit.h"

static char	 test_dir[256];
static char	 test_path[300];
static sqlite3	*test_db;	/* the connection store_open made last */

/*
 * An SQLite auto-extension runs on every connection as it opens: it hands
 * us the store's own handle, so tests can call imgw_grams and look at the
 * tables through the connection that registered the function.
 */
static int
capture_db(sqlite3 *db, char **err, const void *api)
{
	test_db = db;
	return SQLITE_OK;
}

/* Remove the database file and its WAL companions. */
static void
remove_db(void)
{
	char	 p[320];

	unlink(test_path);
	snprintf(p, sizeof p, "%s-wal", test_path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", test_path);
	unlink(p);
}

/* Make the temporary directory once; forget the previous test's database. */
static void
setup(void)
{
	if (test_dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(test_dir, sizeof test_dir, "%s/imgw-test-store.XXXXXX",
		    t != NULL && *t != '\0' ? t : "/tmp");
		if (mkdtemp(test_dir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
		sqlite3_auto_extension((void (*)(void))capture_db);
	}
	snprintf(test_path, sizeof test_path, "%s/store.db", test_dir);
	remove_db();
	test_db = NULL;
}

/* Open a store on a new, empty database file. */
static struct store *
open_fresh(void)
{
	struct store	*s;
	char		*cause = NULL;

	setup();
	s = store_open(test_path, &cause);
	CHECKM(s != NULL, "store_open: %s", cause ? cause : "?");
	free(cause);
	if (s == NULL) {
		printf("# cannot go on without a store\n");
		exit(1);
	}
	return s;
}

/* Close the store and forget its file. */
static void
close_fresh(struct store *s)
{
	store_close(s);
	test_db = NULL;
	remove_db();
}

/* Run one SQL statement on the store's connection; its first integer column. */
static int64_t
sql_int(const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(test_db, sql, -1, &st, NULL) != SQLITE_OK) {
		unit_fail(__FILE__, __LINE__, "%s: %s", sql, sqlite3_errmsg(test_db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* imgw_grams(in[0..n)) through the store's connection; caller frees. */
static char *
grams(const char *in, int n, int *outlen)
{
	sqlite3_stmt	*st;
	char		*out = NULL;

	*outlen = -1;
	if (sqlite3_prepare_v2(test_db, "SELECT imgw_grams(?1)", -1, &st,
	    NULL) != SQLITE_OK) {
		unit_fail(__FILE__, __LINE__, "prepare: %s", sqlite3_errmsg(test_db));
		return NULL;
	}
	sqlite3_bind_text(st, 1, in, n, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		*outlen = sqlite3_column_bytes(st, 0);
		if ((out = malloc((size_t)*outlen + 1)) != NULL) {
			memcpy(out, t ? (const char *)t : "", (size_t)*outlen);
			out[*outlen] = '\0';
		}
	} else
		unit_fail(__FILE__, __LINE__, "imgw_grams: %s", sqlite3_errmsg(test_db));
	sqlite3_finalize(st);
	return out;
}

/*
 * What put() does with the search indexes: 0 leaves them behind (a search
 * scans every message), n > 0 catches them up after every nth put.
 */
static int	 index_every;

/* Store a message; returns store_put_message's answer. */
static int
put(struct store *s, const char *conv, const char *id, const char *from,
    const char *to, const char *content, const char *status, int64_t at,
    int64_t seq)
{
	static int	 puts;
	json_t	*m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", id,
	    "from", from, "to", to, "type", "TEXT", "content", content,
	    "status", status, "createdAt", (json_int_t)at, "seq", (json_int_t)seq);
	int	 rc = store_put_message(s, conv, m);

	json_decref(m);
	if (index_every > 0 && ++puts % index_every == 0)
		CHECKM(store_index_some(s, -1) >= 0, "indexing: %s", store_error(s));
	return rc;
}

/* An incoming message from bob to me at time at. */
static int
put_in(struct store *s, const char *id, const char *content, int64_t at)
{
	return put(s, "u:bob", id, "bob", "me", content, "SENT", at, at);
}

/* Append id to a comma-separated list. */
static void
list_add(char *list, size_t size, const char *id)
{
	size_t	 n = strlen(list), l = strlen(id);

	if (n + l + 2 > size) {
		unit_fail(__FILE__, __LINE__, "id list longer than %zu bytes", size);
		return;
	}
	if (n > 0)
		list[n++] = ',';
	memcpy(list + n, id, l + 1);
}

/* A message array's ids as "a,b,c" (the array is consumed). */
static void
ids_of(json_t *a, const char *key, char *out, size_t size)
{
	json_t	*v;
	size_t	 i;

	out[0] = '\0';
	json_array_foreach(a, i, v) {
		json_t *m = key ? json_object_get(v, key) : v;

		list_add(out, size, json_string_value(json_object_get(m, "id")));
	}
	json_decref(a);
}

/* A history page's ids, with its more and start flags. */
static const char *
page(struct store *s, const char *conv, const char *before, const char *after,
    int limit, int newest_first, int *more, int *start)
{
	static char	 out[4096];
	json_t		*a;

	*more = *start = -1;
	if ((a = store_history(s, conv, before, after, limit, newest_first, more,
	    start)) == NULL)
		return NULL;
	ids_of(a, NULL, out, sizeof out);
	return out;
}

static const struct store_filter no_filter = { NULL, NULL, 0, INT64_MAX };

/* Search ids, latest stored first, with a filter ("ERROR" if the store failed). */
static const char *
search_f(struct store *s, const char *q, const struct store_filter *f)
{
	static char	 out[8192];
	json_t		*a;
	char		*next = NULL;

	if ((a = store_search(s, q, f, 500, NULL, &next)) == NULL) {
		snprintf(out, sizeof out, "ERROR %s", store_error(s));
		return out;
	}
	ids_of(a, "message", out, sizeof out);
	free(next);
	return out;
}

static const char *
search(struct store *s, const char *q)
{
	return search_f(s, q, &no_filter);
}

/* A conversation's unread count (-1 if it does not exist). */
static int64_t
unread(struct store *s, const char *conv)
{
	json_t	*c = store_conversation(s, conv);
	int64_t	 n = -1;

	if (c != NULL)
		n = json_integer_value(json_object_get(c, "unread"));
	json_decref(c);
	return n;
}

/* ------------------------------------------------------------ imgw_grams */

/*
 * imgw_grams writes each gram in hex (so the unicode61 tokenizer keeps
 * punctuation and emoji); the tests spell grams readably, "a ab b", and
 * this turns them into what the function writes. Caller frees.
 */
static char *
hex_grams(const char *readable)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)readable;
	char			*out = malloc(strlen(readable) * 2 + 1), *o = out;

	for (; *p != '\0'; p++) {
		if (*p == ' ')
			*o++ = ' ';
		else {
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* imgw_grams of in[0..n) must be the grams spelt readably in want. */
#define CHECK_GRAMS(in, n, want) do {					\
	int	 gl_;							\
	char	*g_ = grams((in), (int)(n), &gl_);			\
	char	*w_ = hex_grams(want);					\
	CHECK_STR(g_, w_);						\
	free(g_);							\
	free(w_);							\
} while (0)

static void
grams_folds_ascii_and_pairs_neighbours(void)
{
	struct store	*s = open_fresh();

	CHECK_GRAMS("AbC", 3, "a ab b bc c ");
	CHECK_GRAMS("Hi!", 3, "h hi i i! ! ");
	CHECK_GRAMS("", 0, "");
	CHECK_GRAMS("Z", 1, "z ");
	CHECK_GRAMS("a-b", 3, "a a- - -b b ");
	close_fresh(s);
}

static void
grams_cjk_and_mixed(void)
{
	struct store	*s = open_fresh();

	CHECK_GRAMS("你好吗", strlen("你好吗"), "你 你好 好 好吗 吗 ");
	CHECK_GRAMS("Hi你", strlen("Hi你"), "h hi i i你 你 ");
	/* A 4-byte character (outside the BMP) is one character. */
	CHECK_GRAMS("a\xf0\x9f\x98\x80" "B", 6,
	    "a a\xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80" "b b ");
	/* Only ASCII is folded. */
	CHECK_GRAMS("\xc3\x89" "E", 3, "\xc3\x89 \xc3\x89" "e e ");
	close_fresh(s);
}

static void
grams_skip_pairs_across_whitespace(void)
{
	struct store	*s = open_fresh();

	CHECK_GRAMS("ab cd", 5, "a ab b c cd d ");
	CHECK_GRAMS("a \t\r\n b", 7, "a b ");
	CHECK_GRAMS("北 京", strlen("北 京"), "北 京 ");
	CHECK_GRAMS("   ", 3, "");
	CHECK_GRAMS(" x ", 3, "x ");
	close_fresh(s);
}

/* Append the hex of byte c, ASCII folded. */
static char *
put_hex(char *o, unsigned char c)
{
	static const char	 hex[] = "0123456789abcdef";

	if (c >= 'A' && c <= 'Z')
		c += 32;
	*o++ = hex[c >> 4];
	*o++ = hex[c & 15];
	return o;
}

/*
 * ASCII is the worst case for the output buffer: every byte is written
 * alone and in two pairs, 8 bytes of output per byte of input.
 */
static void
grams_long_ascii_fills_buffer_exactly(void)
{
	struct store	*s = open_fresh();
	size_t		 len = 200000, i;
	char		*in = malloc(len), *g, *want, *o;
	int		 n;

	for (i = 0; i < len; i++)
		in[i] = (char)('A' + i % 26);
	want = malloc(9 * len + 1);
	o = put_hex(want, (unsigned char)in[0]);
	*o++ = ' ';
	for (i = 1; i < len; i++) {
		o = put_hex(o, (unsigned char)in[i - 1]);
		o = put_hex(o, (unsigned char)in[i]);
		*o++ = ' ';
		o = put_hex(o, (unsigned char)in[i]);
		*o++ = ' ';
	}
	g = grams(in, (int)len, &n);
	CHECK_INT(n, 8 * (int)len - 5);
	CHECK_INT(o - want, 8 * (int)len - 5);
	CHECK(g != NULL && n == o - want && memcmp(g, want, (size_t)n) == 0);
	free(g);
	free(want);
	/* A long run of 4-byte characters separated by ASCII. */
	for (i = 0; i + 5 <= len; i += 5)
		memcpy(in + i, "\xf0\x9f\x98\x80" "x", 5);
	g = grams(in, (int)i, &n);
	/* 9 for the first emoji, 14 for each x, 20 for each later emoji. */
	CHECK_INT(n, 34 * (int)(i / 5) - 11);
	CHECK(g != NULL && strncmp(g, "f09f9880 f09f988078 78 78f09f9880 ", 34) == 0);
	free(g);
	free(in);
	close_fresh(s);
}

static void
grams_invalid_and_truncated_utf8(void)
{
	struct store	*s = open_fresh();

	/* "a" then the first two bytes of 你 (e4 bd a0): cut at the end. */
	CHECK_GRAMS("a\xe4\xbd", 3, "a a\xe4\xbd \xe4\xbd ");
	/* A lone lead byte of a 4-byte sequence at the end. */
	CHECK_GRAMS("ab\xf0", 3, "a ab b b\xf0 \xf0 ");
	/* Stray continuation bytes and 0xff count as one byte each. */
	CHECK_GRAMS("\x80\xff", 2, "\x80 \x80\xff \xff ");
	/* A 3-byte lead byte as the only byte. */
	CHECK_GRAMS("\xe4", 1, "\xe4 ");
	/* A lead byte swallows what follows it, a space included: one gram. */
	{
		int	 n;
		char	*g = grams("\xe4 a", 3, &n);

		CHECK_STR(g, "e42061 ");
		free(g);
	}
	close_fresh(s);
}

/* ------------------------------------------------------------ messages */

static void
put_message_inserts_then_unchanged_then_updated(void)
{
	struct store	*s = open_fresh();
	json_t		*m, *bad;

	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好", "SENDING", 1000, 0),
	    STORE_INSERTED);
	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好", "SENDING", 1000, 0),
	    STORE_UNCHANGED);
	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好", "SENT", 1500, 7),
	    STORE_UPDATED);
	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好", "SENT", 1500, 7),
	    STORE_UNCHANGED);
	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好!", "SENT", 1500, 7),
	    STORE_UPDATED);
	CHECK_INT(put(s, "u:bob", "m1", "me", "bob", "你好!", "SENT", 1500, 8),
	    STORE_UPDATED);
	m = store_get_message(s, "m1");
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "content")), "你好!");
	CHECK_STR(json_string_value(json_object_get(m, "status")), "SENT");
	CHECK_STR(json_string_value(json_object_get(m, "from")), "me");
	CHECK_STR(json_string_value(json_object_get(m, "to")), "bob");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m,
	    "conversation"), "user")), "bob");
	CHECK_INT(json_integer_value(json_object_get(m, "createdAt")), 1500);
	CHECK_INT(json_integer_value(json_object_get(m, "seq")), 8);
	json_decref(m);
	CHECK(store_get_message(s, "nope") == NULL);
	CHECK_STR(store_error(s), "");
	CHECK_INT(store_errno(s), STORE_E_NOT_FOUND);

	bad = json_pack("{s:s}", "content", "x");
	CHECK_INT(store_put_message(s, "u:bob", bad), -1);
	json_decref(bad);
	CHECK_INT(sql_int("SELECT count(*) FROM messages"), 1);
	close_fresh(s);
}

static void
put_message_revoked_never_goes_back(void)
{
	struct store	*s = open_fresh();
	json_t		*m;

	CHECK_INT(put_in(s, "r1", "秘密内容", 1000), STORE_INSERTED);
	CHECK_INT(put(s, "u:bob", "r1", "bob", "me", "", "REVOKED", 1000, 2),
	    STORE_UPDATED);
	/* A late copy of the original (a sync page, a retransmission). */
	CHECK_INT(put(s, "u:bob", "r1", "bob", "me", "秘密内容", "SENT", 1000, 1),
	    STORE_UNCHANGED);
	CHECK_INT(put(s, "u:bob", "r1", "bob", "me", "秘密内容", "SENT", 1000, 3),
	    STORE_UNCHANGED);
	m = store_get_message(s, "r1");
	CHECK_STR(json_string_value(json_object_get(m, "status")), "REVOKED");
	CHECK_STR(json_string_value(json_object_get(m, "content")), "");
	json_decref(m);
	close_fresh(s);
}

/* ------------------------------------------------------------ history */

/* Ten messages h0..h9; h3, h4, h5 share a created_at, as do h8 and h9. */
static void
history_fill(struct store *s)
{
	static const int64_t at[10] = { 100, 200, 300, 400, 400, 400, 700, 800,
	    900, 900 };
	char	 id[16];
	int	 i;

	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "h%d", i);
		put(s, "u:bob", id, i % 2 ? "me" : "bob", i % 2 ? "bob" : "me",
		    "消息", "SENT", at[i], i + 1);
	}
	/* Another conversation's messages interleave in time. */
	put(s, "u:carol", "c0", "carol", "me", "x", "SENT", 450, 20);
	put(s, "u:carol", "c1", "carol", "me", "x", "SENT", 950, 21);
}

static void
history_pages_backwards_with_before(void)
{
	struct store	*s = open_fresh();
	int		 more, start;

	history_fill(s);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 3, 1, &more, &start), "h9,h8,h7");
	CHECK_INT(more, 1);
	CHECK_INT(start, 0);
	CHECK_STR(page(s, "u:bob", "h7", NULL, 3, 1, &more, &start), "h6,h5,h4");
	CHECK_INT(more, 1);
	CHECK_INT(start, 0);
	CHECK_STR(page(s, "u:bob", "h4", NULL, 3, 1, &more, &start), "h3,h2,h1");
	CHECK_INT(more, 1);
	CHECK_INT(start, 0);
	CHECK_STR(page(s, "u:bob", "h1", NULL, 3, 1, &more, &start), "h0");
	CHECK_INT(more, 0);
	CHECK_INT(start, 1);
	CHECK_STR(page(s, "u:bob", "h0", NULL, 3, 1, &more, &start), "");
	CHECK_INT(more, 0);
	CHECK_INT(start, 1);
	/* The same pages, oldest first. */
	CHECK_STR(page(s, "u:bob", NULL, NULL, 3, 0, &more, &start), "h7,h8,h9");
	CHECK_STR(page(s, "u:bob", "h7", NULL, 3, 0, &more, &start), "h4,h5,h6");
	/* Exactly the remaining messages: no more, and the start is reached. */
	CHECK_STR(page(s, "u:bob", "h3", NULL, 3, 0, &more, &start), "h0,h1,h2");
	CHECK_INT(more, 0);
	CHECK_INT(start, 1);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 10, 1, &more, &start),
	    "h9,h8,h7,h6,h5,h4,h3,h2,h1,h0");
	CHECK_INT(more, 0);
	CHECK_INT(start, 1);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 1000, 0, &more, &start),
	    "h0,h1,h2,h3,h4,h5,h6,h7,h8,h9");
	CHECK_STR(page(s, "u:carol", NULL, NULL, 50, 1, &more, &start), "c1,c0");
	close_fresh(s);
}

static void
history_pages_forwards_with_after(void)
{
	struct store	*s = open_fresh();
	int		 more, start;

	history_fill(s);
	CHECK_STR(page(s, "u:bob", NULL, "h0", 3, 0, &more, &start), "h1,h2,h3");
	CHECK_INT(more, 1);
	CHECK_INT(start, 0);
	CHECK_STR(page(s, "u:bob", NULL, "h3", 3, 0, &more, &start), "h4,h5,h6");
	CHECK_INT(more, 1);
	CHECK_STR(page(s, "u:bob", NULL, "h6", 3, 0, &more, &start), "h7,h8,h9");
	CHECK_INT(more, 0);
	CHECK_INT(start, 0);
	CHECK_STR(page(s, "u:bob", NULL, "h9", 3, 0, &more, &start), "");
	CHECK_INT(more, 0);
	/* Newest first, the page is the same messages reversed. */
	CHECK_STR(page(s, "u:bob", NULL, "h0", 3, 1, &more, &start), "h3,h2,h1");
	CHECK_INT(more, 1);
	/* Inside a tie on created_at the insertion order decides. */
	CHECK_STR(page(s, "u:bob", NULL, "h4", 1, 0, &more, &start), "h5");
	CHECK_STR(page(s, "u:bob", "h4", NULL, 1, 0, &more, &start), "h3");
	CHECK_STR(page(s, "u:bob", NULL, "h8", 5, 0, &more, &start), "h9");
	CHECK_STR(page(s, "u:bob", "h9", NULL, 1, 0, &more, &start), "h8");
	close_fresh(s);
}

/* Paging one message at a time through a run of equal times visits each once. */
static void
history_ties_page_one_at_a_time(void)
{
	struct store	*s = open_fresh();
	char		 id[16], seen[4096], prev[4096];
	const char	*p;
	int		 i, more, start, steps = 0;

	for (i = 0; i < 30; i++) {
		snprintf(id, sizeof id, "t%02d", i);
		put_in(s, id, "同一毫秒", 5000);
	}
	seen[0] = '\0';
	p = page(s, "u:bob", NULL, NULL, 1, 1, &more, &start);
	while (p != NULL && *p != '\0' && steps++ < 100) {
		list_add(seen, sizeof seen, p);
		snprintf(prev, sizeof prev, "%s", p);
		if (!more)
			break;
		p = page(s, "u:bob", prev, NULL, 1, 1, &more, &start);
	}
	CHECK_STR(seen, "t29,t28,t27,t26,t25,t24,t23,t22,t21,t20,t19,t18,t17,"
	    "t16,t15,t14,t13,t12,t11,t10,t09,t08,t07,t06,t05,t04,t03,t02,t01,t00");
	CHECK_INT(start, 1);
	seen[0] = '\0';
	snprintf(prev, sizeof prev, "t00");
	steps = 0;
	do {
		p = page(s, "u:bob", NULL, prev, 7, 0, &more, &start);
		if (p == NULL || *p == '\0')
			break;
		list_add(seen, sizeof seen, p);
		snprintf(prev, sizeof prev, "%s", strrchr(p, ',') ?
		    strrchr(p, ',') + 1 : p);
	} while (more && steps++ < 100);
	CHECK_STR(seen, "t01,t02,t03,t04,t05,t06,t07,t08,t09,t10,t11,t12,t13,"
	    "t14,t15,t16,t17,t18,t19,t20,t21,t22,t23,t24,t25,t26,t27,t28,t29");
	close_fresh(s);
}

static void
history_unknown_edge_is_an_error(void)
{
	struct store	*s = open_fresh();
	int		 more, start;

	history_fill(s);
	CHECK(page(s, "u:bob", "nope", NULL, 3, 1, &more, &start) == NULL);
	CHECK(strstr(store_error(s), "no message nope") != NULL);
	CHECK_INT(store_errno(s), STORE_E_NOT_FOUND);
	/* A message of another conversation is not an edge of this one. */
	CHECK(page(s, "u:bob", NULL, "c0", 3, 1, &more, &start) == NULL);
	CHECK_STR(page(s, "u:nobody", NULL, NULL, 3, 1, &more, &start), "");
	CHECK_INT(more, 0);
	CHECK_INT(start, 1);
	close_fresh(s);
}

/* ------------------------------------------------------------ search */

/* A small corpus: s1..s9, bob and carol, at times 1000..9000. */
static void
search_fill(struct store *s)
{
	put(s, "u:bob", "s1", "bob", "me", "今天天气很好", "SENT", 1000, 1);
	put(s, "u:bob", "s2", "me", "bob", "明天见", "SENT", 2000, 2);
	put(s, "u:carol", "s3", "carol", "me", "北京欢迎你", "SENT", 3000, 3);
	put(s, "u:bob", "s4", "bob", "me", "hello world", "SENT", 4000, 4);
	put(s, "u:carol", "s5", "carol", "me", "Hello世界 and 北京", "SENT", 5000, 5);
	put(s, "u:bob", "s6", "bob", "me", "天", "SENT", 6000, 6);
	put(s, "u:bob", "s7", "me", "bob", "he said \"hi\" to HIM", "SENT", 7000, 7);
	put(s, "u:carol", "s8", "me", "carol", "WORLD CUP 世界杯", "SENT", 8000, 8);
	put(s, "u:bob", "s9", "bob", "me", "天 气", "SENT", 9000, 9);
}

static void
search_one_two_three_chinese_characters(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "天"), "s9,s6,s2,s1");
	CHECK_STR(search(s, "京"), "s5,s3");
	CHECK_STR(search(s, "北京"), "s5,s3");
	CHECK_STR(search(s, "天气"), "s1");	/* not "天 气" */
	CHECK_STR(search(s, "天天"), "s1");
	CHECK_STR(search(s, "天气很"), "s1");
	CHECK_STR(search(s, "北京欢迎你"), "s3");
	CHECK_STR(search(s, "世界"), "s8,s5");
	CHECK_STR(search(s, "世界杯"), "s8");
	CHECK_STR(search(s, "天 气"), "s9");
	close_fresh(s);
}

/* A short query may hold white space: "o " is a substring like any other. */
static void
search_short_with_white_space(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "天 "), "s9");
	CHECK_STR(search(s, " 气"), "s9");
	CHECK_STR(search(s, "o "), "s7,s4");
	CHECK_STR(search(s, " w"), "s4");
	close_fresh(s);
}

static void
search_mixed_chinese_and_english(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "o世"), "s5");
	CHECK_STR(search(s, "lo世界"), "s5");
	CHECK_STR(search(s, "HELLO世"), "s5");
	CHECK_STR(search(s, "P 世"), "s8");
	CHECK_STR(search(s, "and 北京"), "s5");
	CHECK_STR(search(s, "d 北"), "s5");
	close_fresh(s);
}

static void
search_folds_ascii_case(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "HeLLo"), "s5,s4");
	CHECK_STR(search(s, "world"), "s8,s4");
	CHECK_STR(search(s, "WoRlD"), "s8,s4");
	CHECK_STR(search(s, "H"), "s7,s5,s4");
	CHECK_STR(search(s, "h"), "s7,s5,s4");
	CHECK_STR(search(s, "LL"), "s5,s4");
	CHECK_STR(search(s, "hi"), "s7");
	CHECK_STR(search(s, "him"), "s7");
	CHECK_STR(search(s, "cup"), "s8");
	close_fresh(s);
}

static void
search_quotes_in_query(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "\"hi\""), "s7");
	CHECK_STR(search(s, "said \"h"), "s7");
	CHECK_STR(search(s, "i\""), "s7");
	CHECK_STR(search(s, "\"h"), "s7");
	CHECK_STR(search(s, "\"\"\""), "");
	CHECK_STR(search(s, "\"x\""), "");
	CHECK_STR(search(s, "a\" OR \"b"), "");
	CHECK_STR(search(s, "NEAR(a b)"), "");
	close_fresh(s);
}

static void
search_no_match(void)
{
	struct store	*s = open_fresh();

	search_fill(s);
	CHECK_STR(search(s, "不存在的"), "");
	CHECK_STR(search(s, "雨"), "");
	CHECK_STR(search(s, "zz"), "");
	CHECK_STR(search(s, "x"), "");
	CHECK_STR(search(s, "天天天"), "");
	close_fresh(s);
}

/*
 * Substring search of any length (RPC.md): a query of one or two characters
 * that are punctuation or symbols must be found like any other.
 */
static void
search_short_punctuation_and_symbols(void)
{
	struct store	*s = open_fresh();

	put_in(s, "p1", "真的吗？", 1000);
	put_in(s, "p2", "ok!", 2000);
	put_in(s, "p3", "笑\xf0\x9f\x98\x80", 3000);
	put_in(s, "p4", "a-b", 4000);
	CHECK_STR(search(s, "？"), "p1");
	CHECK_STR(search(s, "吗？"), "p1");	/* the letter carries this one */
	CHECK_STR(search(s, "!"), "p2");
	CHECK_STR(search(s, "\xf0\x9f\x98\x80"), "p3");
	CHECK_STR(search(s, "-"), "p4");
	CHECK_STR(search(s, "a-b"), "p4");
	close_fresh(s);
}

static void
search_filters_conversation_sender_time(void)
{
	struct store		*s = open_fresh();
	struct store_filter	 f = no_filter;

	search_fill(s);
	f.conv = "u:bob";
	CHECK_STR(search_f(s, "天", &f), "s9,s6,s2,s1");
	f.conv = "u:carol";
	CHECK_STR(search_f(s, "天", &f), "");
	CHECK_STR(search_f(s, "世界", &f), "s8,s5");
	f.sender = "me";
	CHECK_STR(search_f(s, "世界", &f), "s8");
	f.conv = NULL;
	CHECK_STR(search_f(s, "天", &f), "s2");
	f.sender = "bob";
	CHECK_STR(search_f(s, "天", &f), "s9,s6,s1");
	f.sender = NULL;
	/* from and to are inclusive. */
	f.from = 2000;
	f.to = 6000;
	CHECK_STR(search_f(s, "天", &f), "s6,s2");
	f.from = 2001;
	f.to = 5999;
	CHECK_STR(search_f(s, "天", &f), "");
	f.from = 0;
	f.to = 4000;
	CHECK_STR(search_f(s, "world", &f), "s4");
	f.from = 4000;
	f.to = INT64_MAX;
	f.conv = "u:carol";
	f.sender = "carol";
	CHECK_STR(search_f(s, "世", &f), "s5");
	close_fresh(s);
}

/* Each hit says where its match is: byte offset and length in content. */
static void
search_hit_gives_match_offset(void)
{
	struct store	*s = open_fresh();
	json_t		*a, *h;
	char		*next = NULL;

	put_in(s, "n1", "前面有很多很多很多很多很多很多的字然后是关键词再后面也有很多很多很多很多很多很多的字", 1000);
	put_in(s, "n2", "Short KEY here", 2000);
	a = store_search(s, "关键词", &no_filter, 10, NULL, &next);
	CHECK(a != NULL && json_array_size(a) == 1);
	h = json_array_get(a, 0);
	CHECK_INT(json_integer_value(json_object_get(h, "offset")), 20 * 3);
	CHECK_INT(json_integer_value(json_object_get(h, "length")), 9);
	CHECK(json_object_get(h, "snippet") == NULL);	/* the daemon's */
	CHECK(next == NULL);
	json_decref(a);
	/* ASCII case folded: the offset of "KEY" for "key". */
	a = store_search(s, "key", &no_filter, 10, NULL, &next);
	CHECK(a != NULL && json_array_size(a) == 1);
	h = json_array_get(a, 0);
	CHECK_INT(json_integer_value(json_object_get(h, "offset")), 6);
	CHECK_INT(json_integer_value(json_object_get(h, "length")), 3);
	json_decref(a);
	close_fresh(s);
}

/* Follow cursors with page size limit; every hit exactly once, newest first. */
static void
search_pages(struct store *s, const char *q, int limit, char *out, size_t size,
    int *pages)
{
	char	*cursor = NULL, *next = NULL;
	json_t	*a, *v;
	size_t	 i;

	out[0] = '\0';
	*pages = 0;
	do {
		next = NULL;
		a = store_search(s, q, &no_filter, limit, cursor, &next);
		free(cursor);
		cursor = next;
		if (a == NULL) {
			unit_fail(__FILE__, __LINE__, "search: %s", store_error(s));
			break;
		}
		(*pages)++;
		CHECKM(json_array_size(a) <= (size_t)limit, "page of %zu",
		    json_array_size(a));
		json_array_foreach(a, i, v)
			list_add(out, size, json_string_value(json_object_get(
			    json_object_get(v, "message"), "id")));
		json_decref(a);
	} while (cursor != NULL && *pages < 1000);
	free(cursor);
}

static void
search_cursor_visits_every_hit_once(void)
{
	struct store	*s = open_fresh();
	char		 id[16], want[4096], got[4096];
	int		 i, pages, limit;

	/* 25 hits in four groups of equal times, non-hits between them. */
	want[0] = '\0';
	for (i = 0; i < 25; i++) {
		snprintf(id, sizeof id, "k%02d", i);
		put_in(s, id, i % 3 ? "第一页的内容 page" : "翻页 page 测试", 1000 + (i / 7) * 10);
		snprintf(id, sizeof id, "x%02d", i);
		put_in(s, id, "无关 other", 1000 + (i / 7) * 10);
	}
	for (i = 24; i >= 0; i--) {
		snprintf(id, sizeof id, "k%02d", i);
		list_add(want, sizeof want, id);
	}
	for (limit = 1; limit <= 26; limit += (limit < 5 ? 1 : 7)) {
		search_pages(s, "页", limit, got, sizeof got, &pages);
		CHECK_STR(got, want);
		CHECKM(pages == (25 + limit - 1) / limit ||
		    pages == 25 / limit + 1, "limit %d: %d pages", limit, pages);
		search_pages(s, "pa", limit, got, sizeof got, &pages);
		CHECK_STR(got, want);
		search_pages(s, "PAGE", limit, got, sizeof got, &pages);
		CHECK_STR(got, want);
	}
	/* A malformed cursor is an error, not a restart. */
	{
		char	*next = NULL;

		CHECK(store_search(s, "页", &no_filter, 5, "garbage", &next) == NULL);
		CHECK_STR(store_error(s), "bad cursor");
		CHECK_INT(store_errno(s), STORE_E_BAD_CURSOR);
		CHECK(next == NULL);
	}
	close_fresh(s);
}

static void
search_forgets_revoked_content(void)
{
	struct store	*s = open_fresh();

	put_in(s, "v1", "要撤回的秘密 secret", 1000);
	put_in(s, "v2", "留下的秘密", 2000);
	CHECK_STR(search(s, "秘"), "v2,v1");
	CHECK_STR(search(s, "撤回的秘密"), "v1");
	CHECK_INT(put(s, "u:bob", "v1", "bob", "me", "", "REVOKED", 1000, 5),
	    STORE_UPDATED);
	CHECK_STR(search(s, "秘"), "v2");
	CHECK_STR(search(s, "撤"), "");
	CHECK_STR(search(s, "撤回的秘密"), "");
	CHECK_STR(search(s, "secret"), "");
	CHECK_STR(search(s, "se"), "");
	/* An edit replaces the indexed text too. */
	CHECK_INT(put(s, "u:bob", "v2", "bob", "me", "改过了", "SENT", 2000, 6),
	    STORE_UPDATED);
	CHECK_STR(search(s, "秘"), "");
	CHECK_STR(search(s, "改过"), "v2");
	CHECK(store_check(s) == NULL);
	close_fresh(s);
}

static void
search_forgets_deleted_messages(void)
{
	struct store	*s = open_fresh();
	char		*bad;

	put_in(s, "d1", "删除我 delete me", 1000);
	put_in(s, "d2", "保留我 keep me", 2000);
	put(s, "u:carol", "d3", "carol", "me", "删除整个会话", "SENT", 3000, 3);
	CHECK_STR(search(s, "删"), "d3,d1");
	CHECK_INT(store_delete_message(s, "d1"), 0);
	CHECK_INT(store_delete_message(s, "d1"), -1);
	CHECK_STR(search(s, "删"), "d3");
	CHECK_STR(search(s, "删除我"), "");
	CHECK_STR(search(s, "delete"), "");
	CHECK_STR(search(s, "de"), "");
	CHECK_STR(search(s, "me"), "d2");
	CHECK_INT(store_conversation_delete(s, "u:carol"), 0);
	CHECK_STR(search(s, "删"), "");
	CHECK_STR(search(s, "整个会话"), "");
	CHECK(store_conversation(s, "u:carol") == NULL);
	bad = store_check(s);
	CHECKM(bad == NULL, "store_check: %s", bad);
	free(bad);
	close_fresh(s);
}

/* ------------------------------------------------------------ indexing */

/* The queries of the search tests above, on search_fill's messages. */
static const char *const fill_queries[] = {
	"天", "京", "北京", "天气", "天天", "天气很", "北京欢迎你", "世界", "世界杯",
	"天 气", "天 ", " 气", "o ", " w", "o世", "lo世界", "HELLO世", "P 世",
	"and 北京", "d 北", "HeLLo", "world", "H", "LL", "hi", "him", "cup",
	"\"hi\"", "said \"h", "不存在的", "雨", "zz", "天天天",
};
#define NFILL	(sizeof fill_queries / sizeof fill_queries[0])

/* The unindexed count of store_stats. */
static int64_t
unindexed(struct store *s)
{
	json_t	*st = store_stats(s);
	int64_t	 n = json_integer_value(json_object_get(st, "unindexed"));

	json_decref(st);
	return n;
}

/*
 * A message is found the moment it is stored (DESIGN: the index may lag,
 * a search never misses), and indexing it changes no answer: not part of
 * the way, not all of it.
 */
static void
search_same_before_and_after_indexing(void)
{
	struct store	*s = open_fresh();
	static char	 want[NFILL][256];
	size_t		 i;

	search_fill(s);
	CHECK_INT(unindexed(s), 9);
	CHECK_INT(store_index_lag(s), 9);
	for (i = 0; i < NFILL; i++)
		snprintf(want[i], sizeof want[i], "%s", search(s, fill_queries[i]));
	CHECK_STR(want[0], "s9,s6,s2,s1");	/* found by the scan alone */
	CHECK_INT(store_index_some(s, 4), 4);
	CHECK_INT(unindexed(s), 5);
	for (i = 0; i < NFILL; i++)
		CHECK_STR(search(s, fill_queries[i]), want[i]);
	CHECK_INT(store_index_some(s, 100), 5);
	CHECK_INT(store_index_some(s, 100), 0);
	CHECK_INT(unindexed(s), 0);
	CHECK_INT(store_index_lag(s), 0);
	for (i = 0; i < NFILL; i++)
		CHECK_STR(search(s, fill_queries[i]), want[i]);
	/* The indexes, not the scan, answer now: they hold every message. */
	CHECK_INT(sql_int("SELECT count(*) FROM message_fts"), 9);
	CHECK_INT(sql_int("SELECT count(*) FROM message_short"), 9);
	/* Committed, the mark and the indexes outlive a reopen. */
	CHECK_INT(store_flush(s), 0);
	store_close(s);
	{
		char	*cause = NULL;

		s = store_open(test_path, &cause);
		CHECKM(s != NULL, "reopening: %s", cause ? cause : "?");
		free(cause);
	}
	CHECK_INT(unindexed(s), 0);
	for (i = 0; i < NFILL; i++)
		CHECK_STR(search(s, fill_queries[i]), want[i]);
	close_fresh(s);
}

/* Pages of one search cross from the scanned messages to the indexes. */
static void
search_cursor_crosses_the_mark(void)
{
	struct store	*s = open_fresh();
	char		 id[16], want[4096], got[4096];
	int		 i, pages, limit;

	want[0] = '\0';
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "c%02d", i);
		put_in(s, id, i % 2 ? "跨页 cross" : "无关", 1000 + i);
		if (i == 11)
			CHECK_INT(store_index_some(s, -1), 12);
	}
	for (i = 19; i > 0; i -= 2) {
		snprintf(id, sizeof id, "c%02d", i);
		list_add(want, sizeof want, id);
	}
	for (limit = 1; limit <= 11; limit++) {
		search_pages(s, "页", limit, got, sizeof got, &pages);
		CHECK_STR(got, want);
		search_pages(s, "cross", limit, got, sizeof got, &pages);
		CHECK_STR(got, want);
	}
	/* The mark moves between two pages: the cursor still holds. */
	{
		char	*next = NULL, *next2 = NULL;
		json_t	*a;

		a = store_search(s, "页", &no_filter, 3, NULL, &next);
		CHECK(a != NULL && next != NULL);
		ids_of(a, "message", got, sizeof got);
		CHECK_STR(got, "c19,c17,c15");
		CHECK_INT(store_index_some(s, -1), 8);
		a = store_search(s, "页", &no_filter, 3, next, &next2);
		ids_of(a, "message", got, sizeof got);
		CHECK_STR(got, "c13,c11,c09");
		free(next);
		free(next2);
	}
	close_fresh(s);
}

/*
 * Revoke, edit and delete a message before it is indexed and after: the
 * search answers the same, and the index check, which compares the index
 * with every message, passes.
 */
static void
search_changes_before_and_after_indexing(void)
{
	static const char *const convs[] = { "u:bob", "u:carol" };
	struct store		*s = open_fresh();
	struct store_filter	 f = no_filter;
	char			*bad, r[8], e[8], d[8], k[8];
	int			 indexed, pass;

	/* Each pass its own conversation: a delete frees no rowid. */
	for (indexed = 0; indexed <= 1; indexed++) {
		const char	*conv = convs[indexed], *peer = conv + 2;

		f.conv = conv;
		snprintf(r, sizeof r, "r%d", indexed);
		snprintf(e, sizeof e, "e%d", indexed);
		snprintf(d, sizeof d, "d%d", indexed);
		snprintf(k, sizeof k, "k%d", indexed);
		put(s, conv, r, peer, "me", "要撤回的秘密 secret", "SENT", 1000, 1);
		put(s, conv, e, peer, "me", "要改的话 draft", "SENT", 2000, 2);
		put(s, conv, d, peer, "me", "要删的话 delete", "SENT", 3000, 3);
		put(s, conv, k, peer, "me", "留下的秘密", "SENT", 4000, 4);
		CHECK_INT(unindexed(s), 4);
		if (indexed)
			CHECK_INT(store_index_some(s, -1), 4);
		CHECK_INT(put(s, conv, r, peer, "me", "", "REVOKED", 1000, 5),
		    STORE_UPDATED);
		CHECK_INT(put(s, conv, e, peer, "me", "改好的话 final", "SENT",
		    2000, 6), STORE_UPDATED);
		CHECK_INT(store_delete_message(s, d), 0);
		/* Now, and once whatever is left is indexed too. */
		for (pass = 0; pass < 2; pass++) {
			CHECK_STR(search_f(s, "秘", &f), k);
			CHECK_STR(search_f(s, "secret", &f), "");
			CHECK_STR(search_f(s, "撤回", &f), "");
			CHECK_STR(search_f(s, "要改", &f), "");
			CHECK_STR(search_f(s, "draft", &f), "");
			CHECK_STR(search_f(s, "改好", &f), e);
			CHECK_STR(search_f(s, "final", &f), e);
			CHECK_STR(search_f(s, "的话", &f), e);
			CHECK_STR(search_f(s, "删", &f), "");
			CHECK_STR(search_f(s, "delete", &f), "");
			CHECK_INT(store_index_some(s, -1), indexed || pass ? 0 : 3);
		}
		CHECK_INT(unindexed(s), 0);
		bad = store_check(s);
		CHECKM(bad == NULL, "store_check (indexed %d): %s", indexed, bad);
		free(bad);
	}
	close_fresh(s);
}

/*
 * SQLite gives a new row the rowid after the largest: after the newest
 * indexed message is deleted, the next one takes its rowid, below the
 * mark. It is indexed at once, so the indexes still hold every message
 * up to the mark.
 */
static void
search_reused_rowid_below_the_mark(void)
{
	struct store	*s = open_fresh();
	char		*bad;

	put_in(s, "a", "第一条", 1000);
	put_in(s, "b", "第二条", 2000);
	CHECK_INT(store_index_some(s, -1), 2);
	CHECK_INT(store_delete_message(s, "b"), 0);
	put_in(s, "c", "第三条", 3000);
	CHECK_INT(sql_int("SELECT rowid FROM messages WHERE id = 'c'"),
	    sql_int("SELECT upto FROM search_mark"));
	CHECK_INT(unindexed(s), 0);
	CHECK_STR(search(s, "第三"), "c");
	CHECK_STR(search(s, "条"), "c,a");
	CHECK_STR(search(s, "第二"), "");
	bad = store_check(s);
	CHECKM(bad == NULL, "store_check: %s", bad);
	free(bad);
	close_fresh(s);
}

/* Every search test again, the messages indexed as they are stored. */
static void
search_tests_with_messages_indexed(void)
{
	static void (*const fns[])(void) = {
		search_one_two_three_chinese_characters,
		search_short_with_white_space, search_mixed_chinese_and_english,
		search_folds_ascii_case, search_quotes_in_query, search_no_match,
		search_short_punctuation_and_symbols,
		search_filters_conversation_sender_time,
		search_hit_gives_match_offset, search_cursor_visits_every_hit_once,
		search_forgets_revoked_content, search_forgets_deleted_messages,
	};
	size_t	 i;

	for (index_every = 1; index_every <= 3; index_every += 2) {
		for (i = 0; i < sizeof fns / sizeof fns[0]; i++)
			fns[i]();
	}
	index_every = 0;
}

/* ------------------------------------------------------------ unread */

static void
unread_counts_through_triggers(void)
{
	struct store	*s = open_fresh();

	CHECK_INT(store_set_self(s, "me"), 0);
	CHECK_INT(unread(s, "u:bob"), -1);
	put_in(s, "u1", "一", 1000);
	CHECK_INT(unread(s, "u:bob"), 1);
	put_in(s, "u2", "二", 2000);
	put_in(s, "u3", "三", 3000);
	CHECK_INT(unread(s, "u:bob"), 3);
	/* Our own messages, also those queued before we knew our id, do not count. */
	put(s, "u:bob", "o1", "me", "bob", "我的", "SENT", 3500, 4);
	put(s, "u:bob", "o2", "", "bob", "排队", "SENDING", 3600, 0);
	CHECK_INT(unread(s, "u:bob"), 3);
	/* The same message again does not count twice. */
	put_in(s, "u3", "三", 3000);
	CHECK_INT(unread(s, "u:bob"), 3);
	/* A message that arrives already revoked does not count. */
	put(s, "u:bob", "u4", "bob", "me", "", "REVOKED", 4000, 5);
	CHECK_INT(unread(s, "u:bob"), 3);
	/* Revoking an unread message uncounts it, once. */
	put(s, "u:bob", "u2", "bob", "me", "", "REVOKED", 2000, 6);
	CHECK_INT(unread(s, "u:bob"), 2);
	put(s, "u:bob", "u2", "bob", "me", "", "REVOKED", 2000, 7);
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(store_unread_total(s), 2);
	/* Read: the exact count is zero. */
	CHECK_INT(store_conversation_read(s, "u:bob", NULL), 0);
	CHECK_INT(unread(s, "u:bob"), 0);
	CHECK_INT(store_unread_total(s), 0);
	/* Revoking a message already read changes nothing. */
	put(s, "u:bob", "u3", "bob", "me", "", "REVOKED", 3000, 8);
	CHECK_INT(unread(s, "u:bob"), 0);
	close_fresh(s);
}

/* A conversation read in full counts the messages that arrive after. */
/*
 * Our id is what store_set_self was given, not a kv row: until it is set,
 * our messages count like anyone's; a message queued with no sender takes
 * it when its status settles.
 */
static void
unread_self_is_given_to_the_store(void)
{
	struct store	*s = open_fresh();
	json_t		*m;

	CHECK_INT(store_set_kv(s, "self", "me"), 0);	/* not the store's */
	put(s, "u:bob", "o1", "me", "bob", "我的", "SENT", 1000, 1);
	CHECK_INT(unread(s, "u:bob"), 1);
	CHECK_INT(store_set_self(s, "me"), 0);
	put(s, "u:bob", "o2", "me", "bob", "我的", "SENT", 2000, 2);
	CHECK_INT(unread(s, "u:bob"), 1);
	put(s, "u:bob", "q1", "", "bob", "排队", "SENDING", 3000, 0);
	CHECK_INT(store_set_status(s, "q1", "SENT", 3000, 3, NULL), 0);
	m = store_get_message(s, "q1");
	CHECK_STR(json_string_value(json_object_get(m, "from")), "me");
	json_decref(m);
	/* The recount of a read agrees with the triggers. */
	CHECK_INT(store_conversation_read(s, "u:bob", "o1"), 0);
	CHECK_INT(unread(s, "u:bob"), 0);
	close_fresh(s);
}

static void
unread_counts_messages_after_read_all(void)
{
	struct store	*s = open_fresh();

	store_set_self(s, "me");
	put_in(s, "a1", "一", 1000);
	put_in(s, "a2", "二", 2000);
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(store_conversation_read(s, "u:bob", NULL), 0);
	CHECK_INT(unread(s, "u:bob"), 0);
	put_in(s, "a3", "三", 3000);
	CHECK_INT(unread(s, "u:bob"), 1);
	put_in(s, "a4", "四", 4000);
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(store_unread_total(s), 2);
	close_fresh(s);
}

static void
unread_read_upto_a_message(void)
{
	struct store	*s = open_fresh();
	char		 id[16];
	int		 i;

	store_set_self(s, "me");
	for (i = 1; i <= 5; i++) {
		snprintf(id, sizeof id, "r%d", i);
		put_in(s, id, "消息", i * 1000);
	}
	put(s, "u:bob", "mine", "me", "bob", "我的", "SENT", 4500, 9);
	CHECK_INT(unread(s, "u:bob"), 5);
	CHECK_INT(store_conversation_read(s, "u:bob", "r3"), 0);
	CHECK_INT(unread(s, "u:bob"), 2);
	/* Reading up to an older message never moves the mark back. */
	CHECK_INT(store_conversation_read(s, "u:bob", "r1"), 0);
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(store_conversation_read(s, "u:bob", "r4"), 0);
	CHECK_INT(unread(s, "u:bob"), 1);
	/* An unknown message is an error that changes nothing. */
	CHECK_INT(store_conversation_read(s, "u:bob", "nope"), -1);
	CHECK(strstr(store_error(s), "no message") != NULL);
	CHECK_INT(store_errno(s), STORE_E_NOT_FOUND);
	CHECK_INT(unread(s, "u:bob"), 1);
	/* An older message arriving late (a sync) is already read. */
	put_in(s, "late", "迟到", 2500);
	CHECK_INT(unread(s, "u:bob"), 1);
	put_in(s, "r6", "新", 6000);
	CHECK_INT(unread(s, "u:bob"), 2);
	close_fresh(s);
}

static void
unread_delete_recounts(void)
{
	struct store	*s = open_fresh();
	char		 id[16];
	int		 i;

	store_set_self(s, "me");
	for (i = 1; i <= 6; i++) {
		snprintf(id, sizeof id, "e%d", i);
		put_in(s, id, "消息", i * 1000);
	}
	CHECK_INT(store_conversation_read(s, "u:bob", "e2"), 0);
	CHECK_INT(unread(s, "u:bob"), 4);
	/* Deleting a read message changes nothing; an unread one uncounts. */
	CHECK_INT(store_delete_message(s, "e1"), 0);
	CHECK_INT(unread(s, "u:bob"), 4);
	CHECK_INT(store_delete_message(s, "e5"), 0);
	CHECK_INT(unread(s, "u:bob"), 3);
	/* The conversation's last message follows deletions of the newest. */
	{
		json_t *c = store_conversation(s, "u:bob");

		CHECK_STR(json_string_value(json_object_get(json_object_get(c,
		    "lastMessage"), "id")), "e6");
		json_decref(c);
		CHECK_INT(store_delete_message(s, "e6"), 0);
		c = store_conversation(s, "u:bob");
		CHECK_STR(json_string_value(json_object_get(json_object_get(c,
		    "lastMessage"), "id")), "e4");
		json_decref(c);
	}
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(sql_int("SELECT unread FROM conversations WHERE conv = 'u:bob'"),
	    sql_int("SELECT count(*) FROM messages WHERE conv = 'u:bob' AND "
	    "created_at > 2000"));
	close_fresh(s);
}

static void
unread_total_leaves_out_muted(void)
{
	struct store	*s = open_fresh();
	json_t		*list, *c;
	int		 more;

	store_set_self(s, "me");
	put_in(s, "b1", "一", 1000);
	put_in(s, "b2", "二", 2000);
	put(s, "u:carol", "c1", "carol", "me", "一", "SENT", 1500, 3);
	put(s, "u:carol", "c2", "carol", "me", "二", "SENT", 2500, 4);
	put(s, "u:carol", "c3", "carol", "me", "三", "SENT", 3500, 5);
	CHECK_INT(store_unread_total(s), 5);
	CHECK_INT(store_conversation_set(s, "u:carol", "muted", json_true()), 0);
	CHECK_INT(store_unread_total(s), 2);
	CHECK_INT(unread(s, "u:carol"), 3);	/* still counted, just not in the total */
	put(s, "u:carol", "c4", "carol", "me", "四", "SENT", 4500, 6);
	CHECK_INT(unread(s, "u:carol"), 4);
	CHECK_INT(store_unread_total(s), 2);
	CHECK_INT(store_conversation_set(s, "u:carol", "muted", json_false()), 0);
	CHECK_INT(store_unread_total(s), 6);

	/* Pinned first, then by last activity; flags and draft round-trip. */
	CHECK_INT(store_conversation_set(s, "u:bob", "pinned", json_true()), 0);
	c = json_string("草稿");
	CHECK_INT(store_conversation_set(s, "u:bob", "draft", c), 0);
	json_decref(c);
	list = store_conversations(s, 10, 0, &more);
	CHECK(list != NULL && json_array_size(list) == 2);
	CHECK_INT(more, 0);
	c = json_array_get(list, 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c,
	    "conversation"), "user")), "bob");
	CHECK(json_is_true(json_object_get(c, "pinned")));
	CHECK_STR(json_string_value(json_object_get(c, "draft")), "草稿");
	CHECK_STR(json_string_value(json_object_get(json_object_get(c,
	    "lastMessage"), "id")), "b2");
	CHECK_INT(json_integer_value(json_object_get(c, "lastAt")), 2000);
	json_decref(list);
	CHECK_INT(store_conversation_set(s, "u:bob", "pinned", json_false()), 0);
	list = store_conversations(s, 1, 0, &more);
	CHECK(list != NULL && json_array_size(list) == 1);
	CHECK_INT(more, 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(
	    json_array_get(list, 0), "conversation"), "user")), "carol");
	json_decref(list);
	close_fresh(s);
}

/* ------------------------------------------------------------ retention */

static void
retain_by_age_keeps_unsent(void)
{
	struct store	*s = open_fresh();
	int		 more, start;

	store_set_self(s, "me");
	put(s, "u:bob", "q0", "me", "bob", "排队中的旧消息", "SENDING", 500, 0);
	put_in(s, "a1", "旧消息一", 1000);
	put_in(s, "a2", "旧消息二", 2000);
	put(s, "u:bob", "f1", "me", "bob", "失败", "FAILED", 2500, 0);
	put_in(s, "a3", "新消息三", 3000);
	put_in(s, "a4", "新消息四", 4000);
	CHECK_INT(store_retain(s, 3000, 0), 3);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 50, 0, &more, &start), "q0,a3,a4");
	CHECK_STR(search(s, "旧消息"), "q0");
	CHECK_STR(search(s, "旧"), "q0");
	CHECK_INT(unread(s, "u:bob"), 2);
	CHECK_INT(store_retain(s, 3000, 0), 0);
	CHECK_INT(store_retain(s, 0, 0), 0);
	CHECK(store_check(s) == NULL);
	close_fresh(s);
}

static void
retain_by_count_keeps_newest_and_unsent(void)
{
	struct store	*s = open_fresh();
	char		 id[16];
	int		 i, more, start;

	store_set_self(s, "me");
	put(s, "u:bob", "q0", "me", "bob", "排队", "SENDING", 100, 0);
	for (i = 1; i <= 8; i++) {
		snprintf(id, sizeof id, "b%d", i);
		put_in(s, id, "计数", i * 1000);
	}
	put(s, "u:carol", "c1", "carol", "me", "计数", "SENT", 500, 1);
	put(s, "u:carol", "c2", "carol", "me", "计数", "SENT", 600, 2);
	/* bob keeps b4..b8 and the unsent q0; carol is under the limit. */
	CHECK_INT(store_retain(s, 0, 5), 3);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 50, 0, &more, &start),
	    "q0,b4,b5,b6,b7,b8");
	CHECK_STR(page(s, "u:carol", NULL, NULL, 50, 0, &more, &start), "c1,c2");
	/* Search answers in cache order, the latest stored first. */
	CHECK_STR(search(s, "计"), "c2,c1,b8,b7,b6,b5,b4");
	CHECK_INT(unread(s, "u:bob"), 5);
	/* Both limits at once (b4..b6, c1, c2 by age); the unsent one stays. */
	CHECK_INT(store_retain(s, 6500, 2), 5);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 50, 0, &more, &start), "q0,b7,b8");
	CHECK_STR(page(s, "u:carol", NULL, NULL, 50, 0, &more, &start), "");
	CHECK_INT(sql_int("SELECT count(*) FROM messages"), 3);
	CHECK(store_check(s) == NULL);
	close_fresh(s);
}

/* ------------------------------------------------------------ schema */

/* The version 1 schema, exactly as imgwd's first schema created it. */
#define V1_SCHEMA \
	"CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);" \
	"CREATE TABLE messages(" \
	"  id TEXT PRIMARY KEY, conv TEXT NOT NULL, from_id TEXT NOT NULL," \
	"  to_id TEXT NOT NULL, msg_type TEXT NOT NULL, content TEXT NOT NULL," \
	"  status TEXT NOT NULL, created_at INTEGER NOT NULL," \
	"  seq INTEGER NOT NULL DEFAULT 0);" \
	"CREATE INDEX messages_conv ON messages(conv, created_at);" \
	"CREATE TABLE outbox(pos INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  id TEXT NOT NULL UNIQUE, dest TEXT NOT NULL, body TEXT NOT NULL);" \
	"CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);" \
	"PRAGMA user_version = 1;"

/* Write a database by hand with the given SQL (no imgw_grams on it). */
static void
write_raw_db(const char *sql)
{
	sqlite3	*db;
	char	*err = NULL;

	remove_db();
	if (sqlite3_open(test_path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		unit_fail(__FILE__, __LINE__, "building database: %s",
		    err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_close(db);
}

/* A version 1 database with four messages in two conversations and a queued one. */
static void
write_v1_db(void)
{
	setup();
	write_raw_db(V1_SCHEMA
	    "INSERT INTO kv VALUES ('self', 'me'), ('sync_seq', '4');"
	    "INSERT INTO messages VALUES"
	    " ('old1', 'u:bob', 'bob', 'me', 'TEXT', '今天天气很好', 'SENT', 1000, 1),"
	    " ('old2', 'u:bob', 'me', 'bob', 'TEXT', 'Hello 北京', 'SENT', 2000, 2),"
	    " ('old3', 'u:bob', 'bob', 'me', 'TEXT', '明天见', 'SENT', 3000, 3),"
	    " ('old4', 'u:carol', 'carol', 'me', 'TEXT', '天下第一', 'SENT', 1500, 4);"
	    "INSERT INTO outbox(id, dest, body) VALUES ('q', '/app/chat.send', '{}');");
}

static void
migrate_v1_database_to_v2(void)
{
	struct store	*s;
	json_t		*list, *c, *st;
	char		*cause = NULL, *bad;
	int		 more, start;
	json_int_t	 version = 0;

	write_v1_db();
	s = store_open(test_path, &cause);
	CHECKM(s != NULL, "store_open of a v1 database: %s", cause ? cause : "?");
	free(cause);
	if (s == NULL)
		return;
	/* Migrated to the newest schema this store knows (2 or later). */
	st = store_stats(s);
	version = json_integer_value(json_object_get(st, "schema"));
	CHECKM(version >= 2, "schema %lld", (long long)version);
	CHECK_INT(sql_int("PRAGMA user_version"), version);
	CHECK_INT(json_integer_value(json_object_get(st, "messages")), 4);
	CHECK_INT(json_integer_value(json_object_get(st, "conversations")), 2);
	CHECK_INT(json_integer_value(json_object_get(st, "outbox")), 1);
	CHECK_INT(json_integer_value(json_object_get(st, "oldest")), 1000);
	json_decref(st);
	{
		char *v = store_get_kv(s, "sync_seq");

		CHECK_STR(v, "4");
		free(v);
	}
	/* The old rows are searchable through both indexes. */
	CHECK_INT(unindexed(s), 0);
	CHECK_STR(search(s, "天"), "old4,old3,old1");	/* cache order */
	CHECK_STR(search(s, "北京"), "old2");
	CHECK_STR(search(s, "hello"), "old2");
	CHECK_STR(search(s, "天气很"), "old1");
	CHECK_STR(search(s, "天下第"), "old4");
	/* And appear in conversations, with their newest message. */
	list = store_conversations(s, 10, 0, &more);
	CHECK(list != NULL && json_array_size(list) == 2);
	c = json_array_get(list, 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c,
	    "conversation"), "user")), "bob");
	CHECK_INT(json_integer_value(json_object_get(c, "lastAt")), 3000);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c,
	    "lastMessage"), "id")), "old3");
	c = json_array_get(list, 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c,
	    "lastMessage"), "id")), "old4");
	json_decref(list);
	CHECK_STR(page(s, "u:bob", NULL, NULL, 10, 0, &more, &start),
	    "old1,old2,old3");
	/* New messages join the old ones; the old ones are not counted unread. */
	CHECK_INT(unread(s, "u:bob"), 0);
	put_in(s, "new1", "新的天", 4000);
	CHECK_STR(search(s, "天"), "new1,old4,old3,old1");
	CHECK_INT(unread(s, "u:bob"), 1);
	bad = store_check(s);
	CHECKM(bad == NULL, "store_check: %s", bad);
	free(bad);
	store_close(s);

	/* Opening it again changes nothing. */
	s = store_open(test_path, &cause);
	CHECKM(s != NULL, "reopening: %s", cause ? cause : "?");
	free(cause);
	if (s != NULL) {
		CHECK_INT(sql_int("PRAGMA user_version"), version);
		CHECK_STR(search(s, "天"), "new1,old4,old3,old1");
	}
	close_fresh(s);
}

/*
 * The migration counts the old messages as read; a later recount (a
 * deletion, a read up to a message) must agree, not bring them back.
 */
static void
migrate_v1_old_messages_stay_read(void)
{
	struct store	*s;
	char		*cause = NULL;

	write_v1_db();
	s = store_open(test_path, &cause);
	CHECKM(s != NULL, "store_open of a v1 database: %s", cause ? cause : "?");
	free(cause);
	if (s == NULL)
		return;
	CHECK_INT(unread(s, "u:bob"), 0);
	CHECK_INT(unread(s, "u:carol"), 0);
	put_in(s, "new1", "新的", 4000);
	CHECK_INT(unread(s, "u:bob"), 1);
	/* Deleting a message never raises the unread count. */
	CHECK_INT(store_delete_message(s, "old2"), 0);
	CHECK_INT(unread(s, "u:bob"), 1);
	CHECK_INT(store_unread_total(s), 1);
	close_fresh(s);
}

/*
 * The schema as text to compare: every sqlite_schema row by type and name,
 * its SQL without comments and white space (ALTER TABLE ADD COLUMN and a
 * hand-written CREATE TABLE differ only in those), and user_version.
 */
static char *
schema_text(void)
{
	sqlite3_stmt	*st;
	char		*out = NULL;
	size_t		 n = 0;
	FILE		*f = open_memstream(&out, &n);

	if (f == NULL || sqlite3_prepare_v2(test_db, "SELECT type, name, tbl_name, "
	    "coalesce(sql, '') FROM sqlite_schema ORDER BY type, name", -1, &st,
	    NULL) != SQLITE_OK) {
		unit_fail(__FILE__, __LINE__, "schema: %s", sqlite3_errmsg(test_db));
		exit(1);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 3);

		fprintf(f, "%s %s %s ", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
		for (; *p != '\0'; p++) {
			if (p[0] == '-' && p[1] == '-') {
				while (p[1] != '\0' && p[1] != '\n')
					p++;
			} else if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				fputc(*p, f);
		}
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	fprintf(f, "user_version %lld\n", (long long)sql_int("PRAGMA user_version"));
	fclose(f);
	return out;
}

/* db/schema.sql (a new database) and the migrations from v1 agree. */
static void
schema_fresh_equals_migrated(void)
{
	struct store	*s;
	char		*fresh, *migrated, *cause = NULL;

	s = open_fresh();
	fresh = schema_text();
	close_fresh(s);
	write_v1_db();
	s = store_open(test_path, &cause);
	CHECKM(s != NULL, "store_open of a v1 database: %s", cause ? cause : "?");
	free(cause);
	if (s == NULL) {
		free(fresh);
		return;
	}
	migrated = schema_text();
	if (fresh != NULL && migrated != NULL && strcmp(fresh, migrated) != 0)
		printf("# fresh:\n%s# migrated:\n%s", fresh, migrated);
	CHECK_STR(fresh, migrated);
	CHECK(strstr(fresh, "TABLEmessages(") != NULL);	/* not empty */
	free(fresh);
	free(migrated);
	close_fresh(s);
}

static void
open_refuses_newer_schema(void)
{
	struct store	*s;
	char		*cause = NULL;

	setup();
	write_raw_db("CREATE TABLE future(x); PRAGMA user_version = 999;");
	s = store_open(test_path, &cause);
	CHECK(s == NULL);
	CHECKM(cause != NULL && strstr(cause, "newer") != NULL &&
	    strstr(cause, "999") != NULL, "cause: %s", cause ? cause : "(null)");
	free(cause);
	store_close(s);
	/* The file is left alone. */
	{
		sqlite3		*db;
		sqlite3_stmt	*st;

		sqlite3_open(test_path, &db);
		sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
		CHECK_INT(sqlite3_step(st), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(st, 0), 999);
		sqlite3_finalize(st);
		CHECK_INT(sqlite3_exec(db, "SELECT x FROM future", NULL, NULL,
		    NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	remove_db();
}

static void
check_passes_on_sound_database(void)
{
	struct store	*s = open_fresh();
	char		*bad, id[16];
	int		 i;
	json_t		*st;

	bad = store_check(s);
	CHECKM(bad == NULL, "empty: %s", bad);
	free(bad);
	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof id, "m%03d", i);
		put_in(s, id, i % 2 ? "你好 hello" : "再见 bye", 1000 + i);
	}
	for (i = 0; i < 200; i += 3) {
		snprintf(id, sizeof id, "m%03d", i);
		store_delete_message(s, id);
	}
	put(s, "u:bob", "m001", "bob", "me", "", "REVOKED", 1001, 1);
	CHECK_INT(store_flush(s), 0);
	bad = store_check(s);
	CHECKM(bad == NULL, "after changes: %s", bad);
	free(bad);
	CHECK_INT(store_vacuum(s), 0);
	bad = store_check(s);
	CHECKM(bad == NULL, "after vacuum: %s", bad);
	free(bad);
	st = store_stats(s);
	CHECK_INT(json_integer_value(json_object_get(st, "messages")), 133);
	CHECK(json_integer_value(json_object_get(st, "bytes")) > 0);
	json_decref(st);
	close_fresh(s);
}

/* A status only moves forward: a late proof never un-revokes or re-sends. */
static void
status_moves_only_forward(void)
{
	struct store	*s = open_fresh();
	json_t		*conv = NULL, *m;

	CHECK_INT(put(s, "u:bob", "a", "me", "bob", "hi", "SENDING", 10, 0),
	    STORE_INSERTED);
	CHECK_INT(store_set_status(s, "a", "SENT", 20, 0, &conv), 0);
	CHECKM(conv != NULL, "SENDING -> SENT changed nothing");
	json_decref(conv);
	/* A second proof (a receipt after a pong) changes nothing. */
	CHECK_INT(store_set_status(s, "a", "FAILED", 0, 0, &conv), 0);
	CHECKM(conv == NULL, "SENT moved to FAILED");
	CHECK_INT(store_set_status(s, "a", "SENDING", 0, 0, &conv), 0);
	CHECKM(conv == NULL, "SENT moved back to SENDING");

	/* Revoked while on its way: the late proof leaves it REVOKED. */
	CHECK_INT(put(s, "u:bob", "b", "me", "bob", "oops", "SENDING", 30, 0),
	    STORE_INSERTED);
	CHECK_INT(put(s, "u:bob", "b", "me", "bob", "", "REVOKED", 30, 0),
	    STORE_UPDATED);
	CHECK_INT(store_set_status(s, "b", "SENT", 40, 0, &conv), 0);
	CHECKM(conv == NULL, "REVOKED moved to SENT");
	m = store_get_message(s, "b");
	CHECK_STR(json_string_value(json_object_get(m, "status")), "REVOKED");
	json_decref(m);

	/* FAILED goes back to SENDING (message.resend), then settles. */
	CHECK_INT(put(s, "u:bob", "c", "me", "bob", "x", "SENDING", 50, 0),
	    STORE_INSERTED);
	CHECK_INT(store_set_status(s, "c", "FAILED", 0, 0, NULL), 0);
	CHECK_INT(store_set_status(s, "c", "SENDING", 0, 0, &conv), 0);
	CHECKM(conv != NULL, "FAILED -> SENDING changed nothing");
	json_decref(conv);
	CHECK_INT(store_set_status(s, "c", "SENT", 0, 0, NULL), 0);
	m = store_get_message(s, "c");
	CHECK_STR(json_string_value(json_object_get(m, "status")), "SENT");
	json_decref(m);
	close_fresh(s);
}

/* What store_events_read gave: "seq:type:JSON" lines. */
static void
event_line(void *arg, int64_t seq, const char *type, const void *body,
    size_t len)
{
	struct buf	*out = arg;
	json_t		*e = body != NULL ? rpc_decode_value(body, len) : NULL;
	char		*text = e != NULL ? json_dumps(e, JSON_COMPACT |
			    JSON_SORT_KEYS) : NULL;

	buf_printf(out, "%lld:%s:%s\n", (long long)seq, type,
	    body == NULL ? "unreadable" : text != NULL ? text : "undecodable");
	free(text);
	json_decref(e);
}

static void
events_log_reads_msgpack_and_older_json_rows(void)
{
	struct store	*s = open_fresh();
	json_t		*e = json_pack("{s:s,s:s,s:i}", "id", "m3", "type",
			    "message.status", "seq", 4);
	struct buf	 enc, out;

	buf_init(&enc);
	buf_init(&out);
	/* A cache written before events were MessagePack: JSON text, no seq. */
	CHECK_INT(sqlite3_exec(test_db, "INSERT INTO events(type, body, "
	    "created_at) VALUES ('message.new', '{\"message\":{\"id\":\"m1\"},"
	    "\"type\":\"message.new\"}', 1), ('message.new', 'not json', 2), "
	    "('group.joined', '{\"group\":\"g\",\"type\":\"group.joined\"}', 3)",
	    NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_event_last(s), 3);
	CHECK_INT(rpc_encode_value(&enc, e), 0);
	CHECK_INT(store_event_add(s, 4, "message.status", enc.data, enc.len), 0);
	CHECK_INT(store_flush(s), 0);
	CHECK_INT(store_event_last(s), 4);
	CHECK_INT(store_events_read(s, 0, 10, event_line, &out), 0);
	buf_add(&out, "", 1);
	CHECK_STR(out.data,
	    "1:message.new:{\"message\":{\"id\":\"m1\"},\"seq\":1,"
	    "\"type\":\"message.new\"}\n"
	    "2:message.new:unreadable\n"
	    "3:group.joined:{\"group\":\"g\",\"seq\":3,\"type\":\"group.joined\"}\n"
	    "4:message.status:{\"id\":\"m3\",\"seq\":4,\"type\":\"message.status\"}\n");
	/* since and limit. */
	buf_reset(&out);
	CHECK_INT(store_events_read(s, 2, 1, event_line, &out), 0);
	CHECKM(out.len > 2 && strncmp(out.data, "3:group.joined:", 15) == 0,
	    "since 2, limit 1: %.*s", (int)out.len, out.data);
	json_decref(e);
	buf_clear(&enc);
	buf_clear(&out);
	close_fresh(s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(grams_folds_ascii_and_pairs_neighbours),
	UNIT_TEST(grams_cjk_and_mixed),
	UNIT_TEST(grams_skip_pairs_across_whitespace),
	UNIT_TEST(grams_long_ascii_fills_buffer_exactly),
	UNIT_TEST(grams_invalid_and_truncated_utf8),
	UNIT_TEST(put_message_inserts_then_unchanged_then_updated),
	UNIT_TEST(put_message_revoked_never_goes_back),
	UNIT_TEST(history_pages_backwards_with_before),
	UNIT_TEST(history_pages_forwards_with_after),
	UNIT_TEST(history_ties_page_one_at_a_time),
	UNIT_TEST(history_unknown_edge_is_an_error),
	UNIT_TEST(search_one_two_three_chinese_characters),
	UNIT_TEST(search_short_with_white_space),
	UNIT_TEST(search_mixed_chinese_and_english),
	UNIT_TEST(search_folds_ascii_case),
	UNIT_TEST(search_quotes_in_query),
	UNIT_TEST(search_no_match),
	UNIT_TEST(search_short_punctuation_and_symbols),
	UNIT_TEST(search_filters_conversation_sender_time),
	UNIT_TEST(search_hit_gives_match_offset),
	UNIT_TEST(search_cursor_visits_every_hit_once),
	UNIT_TEST(search_forgets_revoked_content),
	UNIT_TEST(search_forgets_deleted_messages),
	UNIT_TEST(search_same_before_and_after_indexing),
	UNIT_TEST(search_cursor_crosses_the_mark),
	UNIT_TEST(search_changes_before_and_after_indexing),
	UNIT_TEST(search_reused_rowid_below_the_mark),
	UNIT_TEST(search_tests_with_messages_indexed),
	UNIT_TEST(unread_counts_through_triggers),
	UNIT_TEST(unread_self_is_given_to_the_store),
	UNIT_TEST(unread_counts_messages_after_read_all),
	UNIT_TEST(unread_read_upto_a_message),
	UNIT_TEST(unread_delete_recounts),
	UNIT_TEST(unread_total_leaves_out_muted),
	UNIT_TEST(retain_by_age_keeps_unsent),
	UNIT_TEST(retain_by_count_keeps_newest_and_unsent),
	UNIT_TEST(migrate_v1_database_to_v2),
	UNIT_TEST(migrate_v1_old_messages_stay_read),
	UNIT_TEST(schema_fresh_equals_migrated),
	UNIT_TEST(open_refuses_newer_schema),
	UNIT_TEST(check_passes_on_sound_database),
	UNIT_TEST(status_moves_only_forward),
	UNIT_TEST(events_log_reads_msgpack_and_older_json_rows),
};

/* Run the tests, then remove the temporary directory. */
int
main(int argc, char **argv)
{
	int	 rc = unit_main(argc, argv, tests, sizeof tests / sizeof tests[0]);

	if (test_dir[0] != '\0') {
		remove_db();
		rmdir(test_dir);
	}
	sqlite3_reset_auto_extension();
	return rc;
}
