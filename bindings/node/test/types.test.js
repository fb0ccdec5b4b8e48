import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../index.js';
import { renderTypes } from '../scripts/gen-types.js';
import { withEnv } from './daemon.js';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('api.d.ts is what the daemon describes (npm run types rewrites it)', (t) => withEnv(t, async (env) => {
  const server = await env.server();
  const alice = await env.gateway('alice', server);
  const c = await connect({ path: alice.sock });
  const want = renderTypes(await c.call('rpc.describe'));
  c.close();
  const have = fs.readFileSync(path.join(PKG, 'api.d.ts'), 'utf8');
  if (have !== want) {
    const a = have.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((line, k) => line !== b[k]);
    assert.fail(`api.d.ts differs from the daemon's rpc.describe at line ${i + 1}:\n`
      + `  checked in: ${a[i]}\n  daemon:     ${b[i]}\n`
      + `regenerate: IMGW_SOCKET=... npm run types (in bindings/node)`);
  }
}));

const CHECK_TS = `import { connect, ImgwError, ImgwEvent } from 'imgw';
async function main(): Promise<void> {
  const c = await connect({ account: 'work' });
  await c.message.send({ user: 'bob', text: 'hi' });
  await c.friend.group.create({ name: 'x' });
  await c.rpc.ping();
  await c.call('message.history', { user: 'bob', limit: 5 });
  for await (const ev of c.listen({ since: 0 })) {
    const e: ImgwEvent = ev;
    if (e.type === 'message.status') console.log(e.id, e.seq);
  }
  try { await c.message.get({ id: 'x' }); } catch (e) { if (e instanceof ImgwError) console.log(e.code); }
  c.close();
}
main();
`;
const BAD_TS = `import { connect } from 'imgw';
async function main(): Promise<void> {
  const c = await connect();
  await c.message.send({ user: 'bob' });
  await c.message.nope({});
}
main();
`;

test('the declarations type-check a client, and catch mistakes (tsc)', () => {
  const tsc = spawnSync('tsc', ['--version'], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, 'tsc (Debian: node-typescript) runs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgw-tsc.'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(PKG, path.join(dir, 'node_modules', 'imgw'));
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}\n');
    fs.writeFileSync(path.join(dir, 'good.ts'), CHECK_TS);
    fs.writeFileSync(path.join(dir, 'bad.ts'), BAD_TS);
    const opts = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution',
      'nodenext', '--target', 'es2022'];
    execFileSync('tsc', [...opts, 'good.ts'], { cwd: dir, encoding: 'utf8' });
    const bad = spawnSync('tsc', [...opts, 'bad.ts'], { cwd: dir, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /bad\.ts\(4,\d+\): error TS2345[\s\S]*Property 'text' is missing/);
    assert.match(bad.stdout, /bad\.ts\(5,.*Property 'nope' does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
