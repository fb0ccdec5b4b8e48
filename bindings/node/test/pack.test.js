import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withEnv } from './daemon.js';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('npm pack makes a tarball that npm install puts to work', (t) => withEnv(t, async (env) => {
  const dir = env.path('app');
  fs.mkdirSync(dir);
  const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund',
    '--loglevel=error'], { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', env.dir], PKG));
  assert.deepEqual(packed.files.map((f) => f.path).sort(),
    ['README.md', 'api.d.ts', 'index.d.ts', 'index.js', 'package.json']);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "app", "private": true, "type": "module"}\n');
  // The dependency comes from npm's cache when it is there (make check's npm ci).
  npm(['install', '--prefer-offline', env.path(packed.filename)], dir);
  const server = await env.server();
  const alice = await env.gateway('alice', server);
  fs.writeFileSync(path.join(dir, 'app.js'), `import { connect } from 'imgw';
const c = await connect({ path: process.argv[2] });
const r = await c.message.send({ user: 'bob', text: 'from the tarball' });
console.log(await c.rpc.ping(), r.status);
c.close();
`);
  const out = execFileSync('node', ['app.js', alice.sock], { cwd: dir, encoding: 'utf8' });
  assert.equal(out, 'pong SENDING\n');
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
  assert.equal(lock.packages['node_modules/@msgpack/msgpack'].version, '3.1.3');
}));
