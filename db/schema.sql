-- schema.sql: the cache database of one imgwd account, as a new database
-- gets it (store_open runs this file, embedded at build time, then sets
-- PRAGMA user_version). Older databases reach the same schema through the
-- migrations in db/store_schema.c; tests/unit/test_store.c checks that they agree.
-- Change both together: a new migration there, the same result here.

-- Small values the daemon keeps: the sync cursor, the server's
-- capabilities, whether the account logged out, its own id.
CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Every cached message. conv is the conversation key ("u:bob", "g:42");
-- from_id is '' for a message queued before we knew our own id. Times are
-- milliseconds since the epoch; seq is the server's, 0 until it is sent.
-- extra holds the message's payload, mentions and replyTo as one JSON
-- object ('' when none).
CREATE TABLE messages(
  id TEXT PRIMARY KEY, conv TEXT NOT NULL, from_id TEXT NOT NULL,
  to_id TEXT NOT NULL, msg_type TEXT NOT NULL, content TEXT NOT NULL,
  status TEXT NOT NULL, created_at INTEGER NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  edited_at INTEGER NOT NULL DEFAULT 0,
  extra TEXT NOT NULL DEFAULT '');
CREATE INDEX messages_conv ON messages(conv, created_at);
CREATE INDEX messages_created ON messages(created_at);

-- Requests waiting for the server, in the order they were queued.
CREATE TABLE outbox(pos INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE, dest TEXT NOT NULL, body TEXT NOT NULL);

-- The event log local clients replay from (seq is their cursor). body is
-- the event as clients receive it, MessagePack (a BLOB); older caches hold
-- JSON text there, which the store encodes when read.
CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);

-- Search. Substrings of three characters or more come from FTS5's
-- trigram index; it cannot match fewer, so a second, contentless index
-- holds every character and character pair of each message (imgw_grams,
-- a function the store registers), which answers one- and two-character
-- queries (Chinese words often are) without scanning.
CREATE VIRTUAL TABLE message_fts USING fts5(content, tokenize = 'trigram',
  content = 'messages', content_rowid = 'rowid');
CREATE VIRTUAL TABLE message_short USING fts5(grams, content = '',
  detail = none, tokenize = 'unicode61 remove_diacritics 0');

-- The indexes are built behind the messages, off the turn that stores
-- them (store_index_some, in idle turns): they hold exactly the messages
-- whose rowid is at most search_mark.upto, each with its current content.
-- A search reads the indexes up to the mark and scans the messages above
-- it, so it never misses a stored message.
CREATE TABLE search_mark(one INTEGER PRIMARY KEY CHECK (one = 1),
  upto INTEGER NOT NULL);
INSERT INTO search_mark VALUES (1, 0);

-- Below the mark the indexes follow the messages in the statement that
-- changes them; above it store_index_some will read the content as it is
-- then. An insert lands below the mark only when SQLite reuses the rowid
-- of a deleted newest message: it is indexed at once.
CREATE TRIGGER messages_ai AFTER INSERT ON messages
  WHEN new.rowid <= (SELECT upto FROM search_mark) BEGIN
  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);
  INSERT INTO message_short(rowid, grams)
    VALUES (new.rowid, imgw_grams(new.content));
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages
  WHEN old.rowid <= (SELECT upto FROM search_mark) BEGIN
  INSERT INTO message_fts(message_fts, rowid, content)
    VALUES ('delete', old.rowid, old.content);
  INSERT INTO message_short(message_short, rowid, grams)
    VALUES ('delete', old.rowid, imgw_grams(old.content));
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages
  WHEN old.content IS NOT new.content
  AND old.rowid <= (SELECT upto FROM search_mark) BEGIN
  INSERT INTO message_fts(message_fts, rowid, content)
    VALUES ('delete', old.rowid, old.content);
  INSERT INTO message_short(message_short, rowid, grams)
    VALUES ('delete', old.rowid, imgw_grams(old.content));
  INSERT INTO message_fts(rowid, content) VALUES (new.rowid, new.content);
  INSERT INTO message_short(rowid, grams)
    VALUES (new.rowid, imgw_grams(new.content));
END;

-- One row per conversation: its newest message (last_id, last_at), what
-- we have read (read_at) and the peer has (peer_read_at, receipts), the
-- unread count and the local settings. The triggers below keep last_id
-- and unread in the transaction that stores the message, so they cannot
-- drift from the messages. Unread counts messages from others: not ours
-- (from_id is our id, or '' while we did not know it), not revoked. Our
-- id is imgw_self(), a function the store registers: the id the daemon
-- gave store_set_self, '' before it did.
CREATE TABLE conversations(conv TEXT PRIMARY KEY, last_id TEXT,
  last_at INTEGER NOT NULL DEFAULT 0, unread INTEGER NOT NULL DEFAULT 0,
  read_at INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
  muted INTEGER NOT NULL DEFAULT 0, draft TEXT NOT NULL DEFAULT '',
  peer_read_at INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER conversations_ai AFTER INSERT ON messages BEGIN
  INSERT INTO conversations(conv, last_id, last_at)
    VALUES (new.conv, new.id, new.created_at)
    ON CONFLICT(conv) DO UPDATE SET last_id = excluded.last_id,
    last_at = excluded.last_at WHERE excluded.last_at >= last_at;
  UPDATE conversations SET unread = unread + 1 WHERE conv = new.conv
    AND new.status <> 'REVOKED' AND new.from_id <> ''
    AND new.from_id <> imgw_self()
    AND new.created_at > read_at;
END;
CREATE TRIGGER conversations_revoke AFTER UPDATE OF status ON messages
  WHEN new.status = 'REVOKED' AND old.status <> 'REVOKED' BEGIN
  UPDATE conversations SET unread = max(unread - 1, 0) WHERE conv = new.conv
    AND new.from_id <> '' AND new.created_at > read_at
    AND new.from_id <> imgw_self();
END;
CREATE TRIGGER conversations_ad AFTER DELETE ON messages BEGIN
  UPDATE conversations SET last_id = (SELECT id FROM messages
    WHERE conv = old.conv ORDER BY created_at DESC, rowid DESC LIMIT 1)
    WHERE conv = old.conv AND last_id = old.id;
  UPDATE conversations SET unread = (SELECT count(*) FROM messages m
    WHERE m.conv = old.conv AND m.created_at > read_at
    AND m.status <> 'REVOKED' AND m.from_id <> '' AND m.from_id <>
    imgw_self())
    WHERE conv = old.conv AND old.created_at > read_at;
END;

-- The server's relationship data, cached as JSON objects by kind
-- ("group", "member", "friend", "request", "blacklist", "profile") and
-- id; members are "GROUP/USER" so a group's share a prefix.
CREATE TABLE objects(kind TEXT NOT NULL, id TEXT NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
