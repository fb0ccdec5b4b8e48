import fs from 'node:fs';
import test from 'node:test';
import assert from 'node:assert/strict';
import { connect, socketPath, ImgwError, ConnectionClosed } from '../index.js';
import { withEnv, waitFor } from './daemon.js';

const history = async (gw, peer) => (await gw.call('message.history',
  { user: peer, limit: 1000 })).messages.map((m) => m.id);

test('calls by name and as properties from rpc.describe', (t) => withEnv(t, async (env) => {
  const { alice, bob } = await env.pair();
  const c = await connect({ path: alice.sock, name: 'node-test' });
  try {
    assert.equal(await c.call('rpc.ping'), 'pong');
    assert.equal(await c.rpc.ping(), 'pong');
    const a = await c.message.send({ user: 'bob', text: '你好 from a property' });
    const b = await c.call('message.send', { user: 'bob', text: 'by name' });
    assert.equal(a.status, 'SENDING');
    await waitFor(async () => {
      const ids = await history(bob, 'alice');
      return ids.includes(a.id) && ids.includes(b.id);
    }, 'bob to get both');
    assert.ok(Array.isArray((await c.friend.group.list()).groups ?? []));
    assert.ok((await c.client.list()).clients.some((x) => x.name === 'node-test'));
    for (const name of Object.keys(c.methods)) {
      let fn = c;
      for (const part of name.split('.')) fn = fn[part];
      assert.equal(typeof fn, 'function', name);
      assert.equal(fn.name, name);
    }
    assert.match(c.message.send.description, /^send a message \(durably queued\)/);
    assert.match(c.message.send.description, /user \(id\): exactly one of user, group/);
    await assert.rejects(c.message.send({ user: 'bob', txt: 'typo' }), TypeError);
  } finally {
    c.close();
  }
}));

test('errors reject with the RPC code', (t) => withEnv(t, async (env) => {
  const { alice } = await env.pair();
  const c = await connect({ path: alice.sock });
  for (const [p, code] of [[c.message.get({ id: 'nope' }), 'not_found'],
    [c.call('no.such.method'), 'no_such_method'],
    [c.message.send({ user: 'bob' }), 'bad_params']]) {
    await assert.rejects(p, (e) => e instanceof ImgwError && e.code === code
      && typeof e.message === 'string' && e.message.length > 0);
  }
  const pongs = await Promise.all(Array.from({ length: 1000 }, () => c.rpc.ping()));
  assert.deepEqual(pongs, Array(1000).fill('pong'));
  c.close();
  await assert.rejects(c.rpc.ping(), (e) => e instanceof ConnectionClosed && e.code === 'io');
  await assert.rejects(connect({ path: `${alice.sock}.nothing` }), /ENOENT/);
}));

test('the socket is found as imgw finds it', (t) => withEnv(t, async (env) => {
  const saved = { IMGW_SOCKET: process.env.IMGW_SOCKET, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  try {
    delete process.env.IMGW_SOCKET;
    delete process.env.XDG_RUNTIME_DIR;
    const uid = process.getuid();
    assert.equal(socketPath(), `/tmp/imgw-${uid}/imgwd.sock`);
    assert.equal(socketPath('work'), `/tmp/imgw-${uid}/work.sock`);
    process.env.XDG_RUNTIME_DIR = 'relative';
    assert.equal(socketPath(), `/tmp/imgw-${uid}/imgwd.sock`);
    const run = env.path('run');
    fs.mkdirSync(run, { mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = run;
    assert.equal(socketPath(), `${run}/imgw/imgwd.sock`);
    process.env.IMGW_SOCKET = '/x/y.sock';
    assert.equal(socketPath(), '/x/y.sock');
    assert.equal(socketPath('work'), `${run}/imgw/work.sock`);
    assert.throws(() => socketPath('../etc'), TypeError);
    const server = await env.server();
    await env.gateway('work', server, { sock: `${run}/imgw/work.sock` });
    const c = await connect({ account: 'work' });
    assert.equal((await c.session.status()).state, 'online');
    c.close();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}));

test('listen replays since, then live events', (t) => withEnv(t, async (env) => {
  const { alice } = await env.pair();
  const c = await connect({ path: alice.sock });
  const states = [];
  for await (const ev of c.listen({ since: 0, topics: ['session.state'], timeout: 5000 })) {
    states.push(ev.state);
    if (states.length === 3) break;
  }
  assert.deepEqual(states, ['connecting', 'syncing', 'online']);
  const it = c.listen({ topics: ['message'], timeout: 10000 });
  await it.head;	// subscribed: what is sent from now on is seen
  const sent = await c.message.send({ user: 'bob', text: 'live' });
  let r = await it.next();
  assert.deepEqual([r.value.type, r.value.message.id], ['message.new', sent.id]);
  r = await it.next();
  assert.deepEqual([r.value.type, r.value.id], ['message.status', sent.id]);
  await it.return();
  c.close();
}));

test('listen resumes after lagged and loses nothing', (t) => withEnv(t, async (env) => {
  const server = await env.server();
  const alice = await env.gateway('alice', server, { args: ['--client-stall', '1'] });
  await env.gateway('bob', server);
  const c = await connect({ path: alice.sock, name: 'slow', maxEvents: 4 });
  const sender = await connect({ path: alice.sock });
  const it = c.listen({ topics: ['message.new'], timeout: 15000 });
  await it.head;	// subscribed before the other connection sends
  const ids = [(await sender.message.send({ user: 'bob', text: 'first' })).id];
  const first = (await it.next()).value;
  assert.equal(first.message.id, ids[0]);
  const text = '慢'.repeat(20 * 1024);
  for (let i = 0; i < 80; i++) ids.push((await sender.message.send({ user: 'bob', text })).id);
  await waitFor(() => alice.log().includes('lagged at seq'), 'the daemon to lag the client', 15000);
  const seen = [first.message.id];
  const seqs = [first.seq];
  for await (const ev of it) {
    seen.push(ev.message.id);
    seqs.push(ev.seq);
    if (seen.length === ids.length) break;
  }
  assert.deepEqual(seen, ids);
  assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y));
  assert.ok(c.reconnects >= 1);
  c.close();
  sender.close();
}));

test('listen ends when the daemon stops', (t) => withEnv(t, async (env) => {
  const { alice } = await env.pair();
  const c = await connect({ path: alice.sock });
  const it = c.listen();
  await c.rpc.ping();
  const stopped = alice.stop();
  const got = [];
  for await (const ev of it) got.push(ev);
  await stopped;
  assert.equal(got.at(-1)?.type, 'shutdown');
  assert.ok(c.closed instanceof ConnectionClosed);
}));
