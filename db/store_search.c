/*
 * store_search: substring search of the cached messages: the imgw_grams
 * SQL function that feeds the one- and two-character index, building both
 * indexes behind the messages (store_index_some), and the query over the
 * indexed messages and the tail not indexed yet, paged by a cursor.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "buf.h"
#include "store.h"
#include "store_int.h"

/*
 * Filters shared by the search statements: ?2 conv, ?3 sender, ?4/?5 time,
 * ?6 cursor. Results come in rowid order (newest in the cache first), so
 * SQLite walks the index (or the table) backwards and stops at the limit
 * instead of fetching and sorting every match of a common word.
 */
#define SEARCH_FILTER(t) \
	" AND " t ".rowid < ?6" \
	" AND (?2 IS NULL OR m.conv = ?2) AND (?3 IS NULL OR m.from_id = ?3)" \
	" AND m.created_at >= ?4 AND m.created_at <= ?5" \
	" AND imgw_contains(m.content, ?7)" \
	" ORDER BY " t ".rowid DESC LIMIT ?8"

const struct store_sql store_search_sql[] = {
	/* Three characters or more: the trigram index. */
	{ Q_SEARCH_LONG, "SELECT " MSG_COLS ", m.rowid FROM message_fts f "
	    "JOIN messages m ON m.rowid = f.rowid WHERE message_fts MATCH ?1"
	    SEARCH_FILTER("f") },
	/* One or two: the index of every character and character pair. */
	{ Q_SEARCH_SHORT, "SELECT " MSG_COLS ", m.rowid FROM message_short f "
	    "JOIN messages m ON m.rowid = f.rowid WHERE message_short MATCH ?1"
	    SEARCH_FILTER("f") },
	/* The messages above the mark (?1), not in the indexes yet. */
	{ Q_SEARCH_TAIL, "SELECT " MSG_COLS ", m.rowid FROM messages m "
	    "WHERE m.rowid > ?1" SEARCH_FILTER("m") },
	{ Q_IDX_MARK, "SELECT upto FROM search_mark" },
	/* How many of the next ?2 messages above mark ?1, and the last one. */
	{ Q_IDX_NEXT, "SELECT count(*), coalesce(max(rowid), 0) FROM (SELECT "
	    "rowid FROM messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)" },
	{ Q_IDX_FTS, "INSERT INTO message_fts(rowid, content) SELECT rowid, "
	    "content FROM messages WHERE rowid > ?1 AND rowid <= ?2" },
	{ Q_IDX_SHORT, "INSERT INTO message_short(rowid, grams) SELECT rowid, "
	    "imgw_grams(content) FROM messages WHERE rowid > ?1 AND rowid <= ?2" },
	{ Q_IDX_SET, "UPDATE search_mark SET upto = ?1" },
	/* The rowids above the mark: at least the messages there. */
	{ Q_IDX_LAG, "SELECT max(coalesce((SELECT max(rowid) FROM messages), 0) "
	    "- upto, 0) FROM search_mark" },
	{ Q_COUNT, NULL }
};

/* Run a one-integer query; its value, or -1. */
static int64_t
store_search_int(struct store *s, enum store_q which, const char *what)
{
	sqlite3_stmt	*st = store_q(s, which);
	int64_t		 v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		store_fail(s, what);
	sqlite3_reset(st);
	return v;
}

/* Index the messages above the mark; see store.h. */
int
store_index_some(struct store *s, int max)
{
	sqlite3_stmt	*st;
	int64_t		 mark, last;
	int		 n;

	if ((mark = store_search_int(s, Q_IDX_MARK, "reading search mark")) == -1)
		return -1;
	st = store_q(s, Q_IDX_NEXT);
	sqlite3_bind_int64(st, 1, mark);
	sqlite3_bind_int(st, 2, max < 0 ? -1 : max);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_fail(s, "finding messages to index");
	}
	n = sqlite3_column_int(st, 0);
	last = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	/* Nothing to do opens no transaction: an idle turn stays empty. */
	if (n == 0)
		return 0;
	if (store_write(s) == -1)
		return -1;
	/*
	 * The two indexes and the mark move together or not at all: a failed
	 * step must not leave rows in one index above the mark in a turn
	 * that is committed anyway.
	 */
	if (sqlite3_exec(s->db, "SAVEPOINT store_index", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "indexing messages");
	st = store_q(s, Q_IDX_FTS);
	sqlite3_bind_int64(st, 1, mark);
	sqlite3_bind_int64(st, 2, last);
	if (store_exec(s, st, "indexing messages") == -1)
		goto fail;
	st = store_q(s, Q_IDX_SHORT);
	sqlite3_bind_int64(st, 1, mark);
	sqlite3_bind_int64(st, 2, last);
	if (store_exec(s, st, "indexing messages") == -1)
		goto fail;
	st = store_q(s, Q_IDX_SET);
	sqlite3_bind_int64(st, 1, last);
	if (store_exec(s, st, "moving search mark") == -1)
		goto fail;
	if (sqlite3_exec(s->db, "RELEASE store_index", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_fail(s, "indexing messages");
		goto fail;
	}
	return n;
fail:
	sqlite3_exec(s->db, "ROLLBACK TO store_index; RELEASE store_index",
	    NULL, NULL, NULL);
	return -1;
}

/* How far the indexes are behind; see store.h. */
int64_t
store_index_lag(struct store *s)
{
	return store_search_int(s, Q_IDX_LAG, "reading search mark");
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything odd). */
static size_t
store_utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	if (c >= 0xe0)
		return c <= 0xef ? 3 : 1;
	if (c >= 0xc2)
		return 2;
	return 1;
}

/* Append the hex of n bytes of p, ASCII folded to lower case, and a space. */
static size_t
store_hex(char *out, const unsigned char *p, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 k, o = 0;

	for (k = 0; k < n; k++) {
		unsigned char c = p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k];

		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o++] = ' ';
	return o;
}

/*
 * imgw_grams(text): every character and every pair of adjacent characters
 * of text (ASCII folded to lower case; pairs with white space left out),
 * each written in hex and separated by spaces. These are the tokens of the
 * one- and two-character index; hex makes every character, punctuation and
 * emoji included, a token the unicode61 tokenizer keeps whole.
 */
void
store_fn_grams(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*t = sqlite3_value_text(argv[0]);
	int			 n = sqlite3_value_bytes(argv[0]);
	size_t			 prev = 0, plen = 0, i, l, o = 0;
	char			*out;

	if (t == NULL || n == 0) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	/*
	 * A character of l bytes is written alone (2l + 1) and in two pairs
	 * (2l each, plus a space per pair): at most 9 bytes per input byte,
	 * reached by ASCII.
	 */
	if ((out = sqlite3_malloc64((sqlite3_uint64)n * 9 + 1)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (i = 0; i < (size_t)n; i += l) {
		l = store_utf8_len(t[i]);
		if (i + l > (size_t)n)
			l = (size_t)n - i;
		if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
			plen = 0;
			continue;
		}
		if (plen > 0)
			o += store_hex(out + o, t + prev, plen + l);
		o += store_hex(out + o, t + i, l);
		prev = i;
		plen = l;
	}
	sqlite3_result_text(ctx, out, (int)o, sqlite3_free);
}

/* Count UTF-8 characters. */
static size_t
store_chars(const char *p)
{
	size_t	 n = 0;

	for (; *p != '\0'; p++)
		n += ((unsigned char)*p & 0xc0) != 0x80;
	return n;
}

/* Find needle in hay, ASCII case folded; returns the byte offset or -1. */
static long
store_find(const char *hay, const char *needle)
{
	size_t	 i, n = strlen(needle), h = strlen(hay);

	for (i = 0; n <= h && i <= h - n; i++) {
		if (strncasecmp(hay + i, needle, n) == 0)
			return (long)i;
	}
	return -1;
}

/*
 * imgw_contains(text, needle): whether needle occurs in text, ASCII case
 * folded (store_find), as instr(lower(text), lower(needle)) > 0 says
 * (SQLite's lower() folds ASCII only), without a lower-case copy of every
 * row a search scans.
 */
void
store_fn_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char	*t = (const char *)sqlite3_value_text(argv[0]);
	const char	*k = (const char *)sqlite3_value_text(argv[1]);

	if (t == NULL || k == NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int(ctx, store_find(t, k) >= 0);
}

/*
 * Step a bound search statement, adding its hits to a until it holds limit
 * of them; *c_row follows the last one. Returns 1 when one more matched
 * (the page is full and more remain), 0 when the rows ran out, or -1.
 */
static int
store_search_step(struct store *s, sqlite3_stmt *st, const char *q, json_t *a,
    int limit, long long *c_row)
{
	json_t	*m, *hit;
	long	 at;
	int	 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((int)json_array_size(a) == limit) {
			sqlite3_reset(st);
			return 1;
		}
		*c_row = sqlite3_column_int64(st, MSG_NCOLS);
		at = store_find((const char *)sqlite3_column_text(st, 5), q);
		if ((m = store_row_message(st)) == NULL ||
		    (hit = json_pack("{s:o,s:I,s:I}", "message", m, "offset",
		    (json_int_t)at, "length", (json_int_t)(at < 0 ? 0 : strlen(q)))) ==
		    NULL || json_array_append_new(a, hit) == -1) {
			sqlite3_reset(st);
			return store_seterr(s, STORE_E_NOMEM, "out of memory");
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "searching");
	return 0;
}

/* Bind the filters and the limit shared by the search statements. */
static void
store_search_bind(sqlite3_stmt *st, const char *q,
    const struct store_filter *flt, long long below, int want)
{
	if (flt->conv != NULL)
		store_bind_text(st, 2, flt->conv);
	if (flt->sender != NULL)
		store_bind_text(st, 3, flt->sender);
	sqlite3_bind_int64(st, 4, flt->from);
	sqlite3_bind_int64(st, 5, flt->to);
	sqlite3_bind_int64(st, 6, below);
	store_bind_text(st, 7, q);
	sqlite3_bind_int(st, 8, want);
}

/*
 * Full-text search; see store.h. The messages above the search mark (not
 * indexed yet, the newest) are scanned first, then the indexes answer for
 * the rest: one rowid order, so a cursor is a rowid either way.
 */
json_t *
store_search(struct store *s, const char *q, const struct store_filter *flt,
    int limit, const char *cursor, char **next)
{
	sqlite3_stmt	*st;
	struct buf	 expr;
	json_t		*a = NULL;
	long long	 c_row = INT64_MAX;
	int64_t		 mark;
	int		 more = 0;
	const char	*p;

	*next = NULL;
	if (cursor != NULL && (sscanf(cursor, "%lld", &c_row) != 1 || c_row < 0)) {
		store_seterr(s, STORE_E_BAD_CURSOR, "bad cursor");
		return NULL;
	}
	if ((mark = store_search_int(s, Q_IDX_MARK, "reading search mark")) == -1 ||
	    (a = json_array()) == NULL)
		return NULL;
	if (c_row > mark + 1) {
		st = store_q(s, Q_SEARCH_TAIL);
		sqlite3_bind_int64(st, 1, mark);
		store_search_bind(st, q, flt, c_row, limit + 1);
		if ((more = store_search_step(s, st, q, a, limit, &c_row)) == -1)
			goto fail;
		if (more)
			goto done;
		c_row = mark + 1;	/* the tail is done: on to the indexes */
	}
	/*
	 * An FTS5 phrase: the text in double quotes, inner quotes doubled; for
	 * one or two characters, the token imgw_grams made of them (hex).
	 */
	buf_init(&expr);
	buf_add(&expr, "\"", 1);
	if (store_chars(q) < 3) {
		char	 hex[64], bare[16];
		size_t	 qn = 0;

		/*
		 * Pairs with white space are not indexed: look up the other
		 * character; the instr() filter keeps only exact matches.
		 */
		for (p = q; *p != '\0' && qn < sizeof bare; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				bare[qn++] = *p;
		}
		qn = store_hex(hex, (const unsigned char *)bare, qn);
		buf_add(&expr, hex, qn - 1);	/* without its space */
	} else {
		for (p = q; *p != '\0'; p++) {
			if (*p == '"')
				buf_add(&expr, "\"\"", 2);
			else
				buf_add(&expr, p, 1);
		}
	}
	if (buf_add(&expr, "\"", 2) == -1) {	/* the closing quote and a NUL */
		buf_clear(&expr);
		goto fail;
	}
	st = store_q(s, store_chars(q) >= 3 ? Q_SEARCH_LONG : Q_SEARCH_SHORT);
	store_bind_text(st, 1, expr.data);
	buf_clear(&expr);
	store_search_bind(st, q, flt, c_row, limit + 1 - (int)json_array_size(a));
	if ((more = store_search_step(s, st, q, a, limit, &c_row)) == -1)
		goto fail;
done:
	if (more && asprintf(next, "%lld", c_row) == -1)
		*next = NULL;
	return a;
fail:
	json_decref(a);
	return NULL;
}
