'use strict';
/*
 * imgw_client.js: a small Node.js client for imgwd, the local IM gateway.
 *
 * imgwd speaks MessagePack-RPC on a Unix socket (proto/RPC.md). The only
 * dependency is @msgpack/msgpack (pinned in package-lock.json).
 *
 *   const { connect, ImgwError } = require('./imgw_client');
 *
 *   const gw = await connect();                  // the default socket
 *   await gw.call('rpc.ping');                   // 'pong'
 *   await gw.call('message.send', { user: 'bob', text: 'hi' });
 *   try { await gw.call('message.get', { id: 'nope' }); }
 *   catch (e) { console.log(e.code, e.message); }   // not_found ...
 *
 *   // Pipelining: call() sends at once and returns a promise (a future);
 *   // any number may be in flight, answered in any order.
 *   const pongs = await Promise.all([...Array(100)].map(() => gw.call('rpc.ping')));
 *   gw.call('session.status', {}, (err, res) => console.log(err, res));
 *
 *   // Events: replay the log after seq 0, then live ones.
 *   for await (const ev of gw.events({ since: 0, topics: ['message'] }))
 *     console.log(ev.seq, ev.type);
 *   gw.close();
 *
 * Every event is also emitted as 'event' (ev); 'close' (err) is emitted once
 * when the connection is gone.
 */
const { EventEmitter } = require('node:events');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { encode, decodeMultiStream } = require('@msgpack/msgpack');

const REQUEST = 0;
const RESPONSE = 1;
const NOTIFY = 2;
const MAX_MSGID = 0xffffffff;	// msgid is a 32-bit unsigned integer

/* The daemon answered with an error: code is its stable name (RPC.md, Errors). */
class ImgwError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'ImgwError';
    this.code = code;
    this.message = message;
  }
}

/* The connection is gone (code 'io'). */
class ConnectionClosed extends ImgwError {
  constructor(message = 'imgwd closed the connection') {
    super('io', message);
    this.name = 'ConnectionClosed';
  }
}

/*
 * The socket imgwd listens on by default (RPC.md, The socket): $IMGW_SOCKET,
 * else $XDG_RUNTIME_DIR/imgw/imgwd.sock, else /tmp/imgw-UID/imgwd.sock.
 */
function defaultSocketPath() {
  if (process.env.IMGW_SOCKET) return process.env.IMGW_SOCKET;
  if (process.env.XDG_RUNTIME_DIR)
    return path.join(process.env.XDG_RUNTIME_DIR, 'imgw', 'imgwd.sock');
  const uid = process.getuid ? process.getuid() : os.userInfo().uid;
  return `/tmp/imgw-${uid}/imgwd.sock`;
}

/* One connection to imgwd; made by connect(). */
class Client extends EventEmitter {
  constructor(sock, socketPath) {
    super();
    this.path = socketPath;
    this._sock = sock;
    this._nextId = 1;
    this._waiting = new Map();	// msgid -> {resolve, reject, callback}
    this._streams = new Set();	// the active events() iterators
    this.closed = null;		// the ConnectionClosed once gone
    this._farewell = null;	// the daemon's last "error" notification
    sock.on('error', (e) => this._gone(new ConnectionClosed(`imgwd: ${e.message}`)));
    sock.on('close', () => this._gone(new ConnectionClosed(
      this._farewell || 'imgwd closed the connection')));
    this._readLoop();
  }

  /*
   * Call method with named arguments. Sends at once and returns a promise of
   * the result that rejects with ImgwError (or ConnectionClosed). callback
   * (err, result), if given, is called too, when the answer arrives.
   */
  call(method, args = {}, callback = null) {
    const p = new Promise((resolve, reject) => {
      if (this.closed) {
        reject(this.closed);
        return;
      }
      const msgid = this._takeId();
      this._waiting.set(msgid, { resolve, reject });
      this._sock.write(encode([REQUEST, msgid, method, [args]]));
    });
    if (callback) p.then((r) => callback(null, r), (e) => callback(e, null));
    return p;
  }

  /*
   * events.subscribe: events after seq since (undefined: only new ones),
   * limited to the type prefixes in topics. Resolves to the head seq.
   */
  async subscribe({ since, topics } = {}) {
    const args = {};
    if (since !== undefined && since !== null) args.since = since;
    if (topics && topics.length) args.topics = topics;
    return (await this.call('events.subscribe', args)).seq;
  }

  /*
   * Subscribe (unless subscribe is false) and iterate over events. Ends when
   * the connection closes, or when none came for timeout ms. A 'lagged'
   * event (this client read too slowly) comes before the daemon hangs up:
   * reconnect and use events({since: ev.resumeFrom}) to lose nothing.
   */
  async *events({ since, topics, subscribe = true, timeout = 0 } = {}) {
    const stream = { queue: [], wake: null };
    this._streams.add(stream);	// before subscribing: nothing is missed
    try {
      if (subscribe) await this.subscribe({ since, topics });
      for (;;) {
        if (stream.queue.length) {
          yield stream.queue.shift();
          continue;
        }
        if (this.closed) return;
        let timer = null;
        const more = await new Promise((resolve) => {
          stream.wake = resolve;
          if (timeout > 0) timer = setTimeout(() => resolve(false), timeout);
        });
        clearTimeout(timer);
        stream.wake = null;
        if (!more && !stream.queue.length) return;
      }
    } finally {
      this._streams.delete(stream);
    }
  }

  /* Close the connection; waiting calls reject with ConnectionClosed. */
  close() {
    this._gone(new ConnectionClosed('connection closed by the client'));
    this._sock.destroy();
  }

  _takeId() {
    // The next free msgid, wrapping within 32 bits and skipping 0.
    for (;;) {
      const id = this._nextId;
      this._nextId = id < MAX_MSGID ? id + 1 : 1;
      if (!this._waiting.has(id)) return id;
    }
  }

  async _readLoop() {
    try {
      for await (const msg of decodeMultiStream(this._sock))
        this._take(msg);
    } catch (e) {
      if (!this.closed) {
        this._gone(new ConnectionClosed(`bad data from imgwd: ${e.message}`));
        this._sock.destroy();
      }
    }
  }

  _take(msg) {
    if (!Array.isArray(msg) || msg.length === 0) return;
    if (msg[0] === RESPONSE && msg.length === 4) {
      const w = this._waiting.get(msg[1]);
      if (!w) return;
      this._waiting.delete(msg[1]);
      const [, , error, result] = msg;
      if (error === null || error === undefined) w.resolve(result);
      else if (typeof error === 'object') w.reject(new ImgwError(error.code, error.message));
      else w.reject(new ImgwError('internal', String(error)));
    } else if (msg[0] === NOTIFY && msg.length === 3) {
      const params = Array.isArray(msg[2]) ? msg[2] : [];
      if (msg[1] === 'event') {
        for (const ev of params) {
          for (const s of this._streams) {
            s.queue.push(ev);
            if (s.wake) s.wake(true);
          }
          this.emit('event', ev);
        }
      } else if (msg[1] === 'error' && params[0] && typeof params[0] === 'object') {
        // Sent just before the daemon closes a broken stream.
        this._farewell = `imgwd: ${params[0].code}: ${params[0].message}`;
      }
    }
  }

  _gone(err) {
    if (this.closed) return;
    this.closed = err;
    const waiting = [...this._waiting.values()];
    this._waiting.clear();
    for (const w of waiting) w.reject(err);
    for (const s of this._streams) if (s.wake) s.wake(false);
    this.emit('close', err);
  }
}

/*
 * Connect to imgwd at socketPath (default: defaultSocketPath()). Resolves to
 * a Client; rejects with the system error (ENOENT, EACCES, ECONNREFUSED).
 */
function connect(socketPath = null) {
  const p = socketPath || defaultSocketPath();
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path: p });
    const fail = (e) => reject(e);
    sock.once('error', fail);
    sock.once('connect', () => {
      sock.removeListener('error', fail);
      resolve(new Client(sock, p));
    });
  });
}

module.exports = { Client, ConnectionClosed, ImgwError, connect, defaultSocketPath };
