/*
 * daemon: real imserver and imgwd processes for the tests, as
 * tests/integration/harness.py starts them: loopback, a private temporary
 * directory (removed after a passing test), waits on conditions, never on
 * fixed sleeps. The programs come from $IMGW_BUILD (default ../../../build).
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BUILD = process.env.IMGW_BUILD || path.resolve(HERE, '..', '..', '..', 'build');
const IMSERVER = path.join(BUILD, 'imserver');
const IMGWD = path.join(BUILD, 'imgwd');

/* Poll cond() every 20 ms until it returns something true, or throw. */
export async function waitFor(cond, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function writePrivate(file, text) {
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/* One test's directory and processes; stop() ends them all. */
export class Env {
  constructor(name) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `imgw-node-${name}.`));
    this.procs = [];
    this.secret = writePrivate(path.join(this.dir, 'secret'), `${randomBytes(32).toString('hex')}\n`);
  }

  path(...parts) {
    return path.join(this.dir, ...parts);
  }

  spawn(name, argv) {
    const log = this.path(`${name}.log`);
    const fd = fs.openSync(log, 'a');
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], cwd: this.dir });
    fs.closeSync(fd);
    const proc = { name, p, log: () => fs.readFileSync(log, 'utf8'), exited: null };
    p.on('exit', (code, sig) => { proc.exited = { code, sig }; });
    this.procs.push(proc);
    return proc;
  }

  async server() {
    const proc = this.spawn('imserver', [IMSERVER, '--listen', '127.0.0.1:0', '--db',
      this.path('imserver.db'), '--secret-file', this.secret, '-v']);
    const port = await waitFor(() => {
      if (proc.exited) throw new Error(`imserver exited: ${proc.log()}`);
      const m = /imserver: listening on .*:(\d+)/.exec(proc.log());
      return m && Number(m[1]);
    }, 'imserver to listen');
    return { proc, url: `ws://127.0.0.1:${port}/ws/im` };
  }

  token(user) {
    return execFileSync(IMSERVER, ['token', '--secret-file', this.secret, user],
      { encoding: 'utf8' }).trim();
  }

  /* An imgwd for user, answering and online. */
  async gateway(user, server, { sock, args = [] } = {}) {
    const tok = writePrivate(this.path(`${user}.token`), `${this.token(user)}\n`);
    sock ||= this.path(user, 'imgwd.sock');
    const proc = this.spawn(`imgwd-${user}`, [IMGWD, '--upstream', server.url, '--token-file', tok,
      '--socket', sock, '--db', this.path(`${user}.db`), '-v', ...args]);
    const gw = { user, sock, proc, log: proc.log };
    gw.call = async (method, a = {}) => {
      const c = await connect({ path: sock });
      try { return await c.call(method, a); } finally { c.close(); }
    };
    gw.stop = () => stopProc(proc);
    await waitFor(async () => {
      if (proc.exited) throw new Error(`imgwd for ${user} exited: ${proc.log()}`);
      try {
        return (await gw.call('session.status')).state === 'online';
      } catch {
        return false;
      }
    }, `imgwd for ${user} to be online`);
    return gw;
  }

  async pair() {
    const server = await this.server();
    const [alice, bob] = await Promise.all([this.gateway('alice', server),
      this.gateway('bob', server)]);
    return { server, alice, bob };
  }

  /* Stop every process (SIGTERM, then SIGKILL); remove the directory if ok. */
  async stop(ok) {
    await Promise.all(this.procs.map(stopProc));
    if (ok) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stopProc(proc) {
  if (proc.exited) return proc.exited;
  proc.p.kill('SIGTERM');
  try {
    await waitFor(() => proc.exited, `${proc.name} to exit`, 5000);
  } catch {
    proc.p.kill('SIGKILL');
    await waitFor(() => proc.exited, `${proc.name} to die`, 5000);
  }
  return proc.exited;
}

/* Run fn(env) with a fresh Env; keep the directory when it fails. */
export async function withEnv(t, fn) {
  const env = new Env(t.name.replace(/\W+/g, '_').slice(0, 40));
  let ok = false;
  try {
    await fn(env);
    ok = true;
  } finally {
    if (!ok) t.diagnostic(`kept ${env.dir}`);
    await env.stop(ok);
  }
}
