/*
 * imgw: a Node.js client for imgwd, the local XuqmGroup IM gateway, over its
 * MessagePack-RPC Unix socket (proto/RPC.md). ESM; needs @msgpack/msgpack.
 *
 *   import { connect } from 'imgw';
 *   const c = await connect();                 // { account }, { path }
 *   await c.message.send({ user: 'bob', text: 'hi' });   // from rpc.describe
 *   await c.call('message.send', { user: 'bob', text: 'hi' });
 *   for await (const ev of c.listen({ since: 0, topics: ['message'] }))
 *     console.log(ev.seq, ev.type);
 *   c.close();
 *
 * One Client is one connection (made again after the daemon lags it), read
 * by one loop: answers settle promises, events wait in a bounded queue for
 * listen(); when nobody takes them, the socket is not read.
 */
import net from 'node:net';
import os from 'node:os';
import { encode, decodeMultiStream } from '@msgpack/msgpack';

const REQUEST = 0;
const RESPONSE = 1;
const NOTIFY = 2;
const MAX_MSGID = 0xffffffff;	// msgid is a 32-bit unsigned integer
const ACCOUNT = /^[A-Za-z0-9_.@-]{1,64}$/;
const END = Symbol('end');		// the connection is gone
const SUBSCRIBED = Symbol('subscribed');	// a subscription took effect here

/* The daemon answered with an error: code is its stable name (RPC.md, Errors). */
export class ImgwError extends Error {
  constructor(code, message, method = null) {
    super(`${code}: ${message}`);
    this.name = 'ImgwError';
    this.code = code;
    this.message = message;
    this.method = method;
  }
}

/* The connection is gone (code 'io'). */
export class ConnectionClosed extends ImgwError {
  constructor(message = 'imgwd closed the connection') {
    super('io', message);
    this.name = 'ConnectionClosed';
  }
}

/*
 * The socket imgwd listens on, found as imgw(1) finds it: for an account,
 * $XDG_RUNTIME_DIR/imgw/ACCOUNT.sock, else /tmp/imgw-UID/ACCOUNT.sock;
 * without one, $IMGW_SOCKET first, then the same with the name "imgwd".
 */
export function socketPath(account = null) {
  if (account !== null && account !== undefined && !ACCOUNT.test(account))
    throw new TypeError(`bad account name '${account}'`);
  const name = account ?? 'imgwd';
  if (account == null && process.env.IMGW_SOCKET) return process.env.IMGW_SOCKET;
  const run = process.env.XDG_RUNTIME_DIR;
  if (run && run.startsWith('/')) return `${run}/imgw/${name}.sock`;
  const uid = process.getuid ? process.getuid() : os.userInfo().uid;
  return `/tmp/imgw-${uid}/${name}.sock`;
}

/* A bounded queue whose put waits for room and whose get waits for an item. */
class Queue {
  constructor(max) {
    this.max = max;
    this.items = [];
    this.getters = [];
    this.putters = [];
  }

  async put(item) {
    while (this.items.length >= this.max && item !== END)
      await new Promise((resolve) => this.putters.push(resolve));
    this.items.push(item);
    const g = this.getters.shift();
    if (g) g();
  }

  /* The next item, or undefined after timeout ms (0: wait forever). */
  async get(timeout) {
    while (!this.items.length) {
      let wake = null;
      let timer = null;
      const got = await new Promise((resolve) => {
        wake = () => resolve(true);
        this.getters.push(wake);
        if (timeout > 0) {
          timer = setTimeout(() => {
            // A getter that gave up must not take the next wake-up.
            this.getters = this.getters.filter((g) => g !== wake);
            resolve(false);
          }, timeout);
        }
      });
      clearTimeout(timer);
      if (!got && !this.items.length) return undefined;
    }
    const item = this.items[0] === END ? END : this.items.shift();
    const p = this.putters.shift();
    if (p) p();
    return item;
  }

  drain() {
    this.items = this.items.filter((x) => x === END);
    for (const p of this.putters.splice(0)) p();
  }
}

/* One socket and the loop reading it. */
class Conn {
  constructor(sock, maxEvents) {
    this.sock = sock;
    this.nextId = 1;
    this.waiting = new Map();	// msgid -> { resolve, reject, method }
    this.events = new Queue(maxEvents);
    this.closed = null;		// a ConnectionClosed once gone
    this.farewell = null;	// the daemon's last "error" notification
    sock.on('error', (e) => this.gone(new ConnectionClosed(`imgwd: ${e.message}`)));
    this.reading = this.readLoop();
  }

  static open(path, timeout, maxEvents) {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path });
      const timer = timeout > 0 ? setTimeout(() => {
        sock.destroy();
        reject(new ImgwError('timeout', `connect to ${path}: no answer`));
      }, timeout) : null;
      sock.once('error', (e) => { clearTimeout(timer); reject(e); });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new Conn(sock, maxEvents));
      });
    });
  }

  /* Send a request now; a promise of [error, result]. */
  request(method, args) {
    if (this.closed) return Promise.reject(this.closed);
    let id;
    do {
      id = this.nextId;
      this.nextId = id < MAX_MSGID ? id + 1 : 1;
    } while (this.waiting.has(id));
    const p = new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method });
    });
    p.msgid = id;
    this.sock.write(encode([REQUEST, id, method, [args]]));
    return p;
  }

  forget(id) {
    this.waiting.delete(id);
  }

  async readLoop() {
    try {
      for await (const msg of decodeMultiStream(this.sock)) {
        if (!Array.isArray(msg) || msg.length === 0) continue;
        if (msg[0] === RESPONSE && msg.length === 4) {
          const w = this.waiting.get(msg[1]);
          if (!w) continue;
          this.waiting.delete(msg[1]);
          if (w.method === 'events.subscribe' && msg[2] == null)
            await this.events.put(SUBSCRIBED);
          w.resolve([msg[2], msg[3]]);
        } else if (msg[0] === NOTIFY && msg.length === 3) {
          const params = Array.isArray(msg[2]) ? msg[2] : [];
          if (msg[1] === 'event') {
            // Waiting here stops the reading: the daemon sees a slow client.
            for (const ev of params) if (ev && typeof ev === 'object') await this.events.put(ev);
          } else if (msg[1] === 'error' && params[0] && typeof params[0] === 'object') {
            this.farewell = `imgwd: ${params[0].code}: ${params[0].message}`;
          }
        }
      }
      this.gone(new ConnectionClosed(this.farewell || 'imgwd closed the connection'));
    } catch (e) {
      this.gone(new ConnectionClosed(this.closed ? this.closed.message
        : `read from imgwd: ${e.message}`));
      this.sock.destroy();
    }
    await this.events.put(END);
  }

  gone(err) {
    if (this.closed) return;
    this.closed = err;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }

  close(why) {
    this.gone(new ConnectionClosed(why));
    this.events.drain();
    this.events.put(END);
    this.sock.destroy();
  }
}

function methodDoc(m) {
  const groups = {};
  for (const p of m.params || []) if (p.oneOf) (groups[p.oneOf] ||= []).push(p.name);
  const lines = (m.params || []).map((p) => `  ${p.name} (${p.type}): ${p.oneOf
    ? `exactly one of ${groups[p.oneOf].join(', ')}` : p.required ? 'required' : 'optional'}`);
  return `${m.summary || m.name}\n${lines.length ? lines.join('\n') : '  no arguments'}`;
}

/* A function calling method m (an rpc.describe entry) with named arguments. */
function bindMethod(client, m) {
  const known = new Set((m.params || []).map((p) => p.name));
  const fn = (args = {}, options = {}) => {
    const unknown = Object.keys(args).filter((k) => !known.has(k));
    if (unknown.length)
      return Promise.reject(new TypeError(`${m.name}: no argument ${unknown.join(', ')
      } (it takes: ${[...known].join(', ') || 'none'})`));
    return client.call(m.name, args, options);
  };
  Object.defineProperty(fn, 'name', { value: m.name });
  fn.description = methodDoc(m);	// the daemon's argument help
  fn.params = m.params || [];
  return fn;
}

/*
 * A connection to imgwd; made by connect(), which fetches rpc.describe so
 * that every method is also a property: c.message.send(args),
 * c.friend.group.create(args), c.batch(args).
 */
export class Client {
  constructor(path, { timeout = 10000, name = null, maxEvents = 10000 } = {}) {
    this.path = path;
    this.timeout = timeout;
    this.name = name;
    this.maxEvents = maxEvents;
    this.reconnects = 0;	// how many times listen() connected again
    this.lagged = 0;		// how many "lagged" events it resumed after
    this.methods = {};		// name -> rpc.describe entry
    this._conn = null;
    this._listener = null;
  }

  async _open() {
    this._conn = await Conn.open(this.path, this.timeout, this.maxEvents);
    if (this.name !== null) await this.call('client.hello', { name: this.name });
  }

  async _reconnect() {
    this._conn.close('reconnecting');
    await this._open();
    this.reconnects++;
  }

  /* None while connected, else the ConnectionClosed saying why. */
  get closed() {
    return this._conn.closed;
  }

  /* Close the connection; waiting calls reject with ConnectionClosed. */
  close() {
    this._conn.close('connection closed by the client');
  }

  /*
   * Call method with named arguments: the request goes out now; the
   * promise resolves to the result or rejects with ImgwError (the daemon's
   * code), ConnectionClosed, or ImgwError 'timeout' after options.timeout
   * ms (default: the client's; 0: none).
   */
  call(method, args = {}, { timeout } = {}) {
    const p = this._conn.request(method, args);
    const wait = timeout ?? this.timeout;
    let timer = null;
    const timed = wait > 0 ? new Promise((_, reject) => {
      timer = setTimeout(() => {
        this._conn.forget(p.msgid);
        reject(new ImgwError('timeout', `no answer to ${method} within ${wait}ms`, method));
      }, wait);
    }) : null;
    const answer = p.then(([err, res]) => {
      if (err == null) return res;
      throw typeof err === 'object' ? new ImgwError(err.code, err.message, method)
        : new ImgwError('internal', String(err), method);
    });
    return (timed ? Promise.race([answer, timed]) : answer)
      .finally(() => clearTimeout(timer));
  }

  /* rpc.describe, and every method as a property (see the class comment). */
  async describe() {
    const d = await this.call('rpc.describe');
    this.methods = {};
    for (const m of d.methods || []) {
      this.methods[m.name] = m;
      const parts = m.name.split('.');
      let obj = this;
      for (const part of parts.slice(0, -1)) {
        if (!Object.hasOwn(obj, part)) obj[part] = {};
        obj = obj[part];
      }
      const last = parts[parts.length - 1];
      if (obj === this && last in this) continue;	// never shadow call, close...
      obj[last] = bindMethod(this, m);
    }
    return d;
  }

  /* events.subscribe; resolves to the head seq (see listen). */
  async subscribe({ since, topics } = {}) {
    return (await this.call('events.subscribe', subscribeArgs(since, topics))).seq;
  }

  /*
   * Events, as an async iterator: those logged after seq since first
   * (undefined: only new ones), then live ones, limited to the type
   * prefixes in topics. The subscription is made at this call. When the
   * daemon lags this client or the connection drops, the client reconnects
   * and subscribes again from the "lagged" event's resumeFrom (or the last
   * seq it yielded): nothing is lost or repeated, and "lagged" is not
   * yielded. Ends when the daemon stops (after its "shutdown" event) or
   * cannot be reached again, or when no event came for timeout ms (0:
   * never). Leaving the loop unsubscribes. The iterator's head is a
   * promise of the newest seq when it subscribed.
   */
  listen({ since, topics, timeout = 0 } = {}) {
    this._conn.events.drain();	// what an earlier listen() left
    const token = {};
    this._listener = token;
    const subscribed = this.call('events.subscribe', subscribeArgs(since, topics));
    subscribed.catch(() => {});	// seen when iterated
    const it = this._listen(token, subscribed, since, topics, timeout);
    it.head = subscribed.then((r) => r.seq);	// the newest seq at subscribing
    it.head.catch(() => {});
    return it;
  }

  async *_listen(token, subscribed, since, topics, timeout) {
    let last = since ?? (await subscribed).seq;
    await subscribed;
    let stopping = false;
    let progressed = true;
    let current = false;
    try {
      for (;;) {
        const ev = await this._conn.events.get(timeout);
        if (ev === undefined) return;
        if (ev === SUBSCRIBED) {
          current = true;
          continue;
        }
        if (!current && ev !== END) continue;	// queued for an earlier subscription
        if (ev === END || ev.type === 'lagged') {
          if (ev !== END) {
            last = ev.resumeFrom ?? last;
            this.lagged++;
          } else if (stopping || !progressed) {
            return;
          }
          try {
            await this._reconnect();
            await this.subscribe({ since: last, topics });
          } catch {
            return;
          }
          progressed = ev !== END;
          current = false;
          continue;
        }
        if (ev.type === 'shutdown') stopping = true;
        if (Number.isInteger(ev.seq)) {
          if (last != null && ev.seq <= last) continue;
          last = ev.seq;
        }
        progressed = true;
        yield ev;
      }
    } finally {
      if (!this._conn.closed && this._listener === token) {
        try {
          await this.call('events.unsubscribe');
          this._conn.events.drain();
        } catch { /* gone meanwhile */ }
      }
    }
  }
}

function subscribeArgs(since, topics) {
  const args = {};
  if (since !== undefined && since !== null) args.since = since;
  if (topics && topics.length) args.topics = [...topics];
  return args;
}

/*
 * Connect to imgwd (options.path, else the socket of options.account, else
 * the default one: see socketPath) and fetch rpc.describe. Resolves to a
 * Client; rejects with the system error (ENOENT, ECONNREFUSED, EACCES).
 */
export async function connect({ path, account, timeout = 10000, name = null,
  maxEvents = 10000 } = {}) {
  const c = new Client(path || socketPath(account), { timeout, name, maxEvents });
  await c._open();
  await c.describe();
  return c;
}

export default { connect, Client, ImgwError, ConnectionClosed, socketPath };
