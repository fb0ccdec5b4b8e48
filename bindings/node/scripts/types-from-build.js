#!/usr/bin/env node
/*
 * types-from-build: regenerate api.d.ts from the rpc.describe of the imgwd
 * in ../../build (or $IMGW_BUILD), started for the purpose on a private
 * socket with a throwaway imserver.
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '../index.js';
import { renderTypes } from './gen-types.js';
import { Env } from '../test/daemon.js';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'api.d.ts');
const env = new Env('types');
let ok = false;
try {
  const gw = await env.gateway('alice', await env.server());
  const c = await connect({ path: gw.sock });
  writeFileSync(out, renderTypes(await c.call('rpc.describe')));
  c.close();
  ok = true;
  console.log(`wrote ${out}`);
} finally {
  await env.stop(ok);
}
