#!/usr/bin/env node
/*
 * gen-types: write api.d.ts, the TypeScript declarations of every imgwd
 * method and event, from a running daemon's rpc.describe.
 *
 *   node scripts/gen-types.js api.d.ts            # the default socket
 *   IMGW_SOCKET=/path/imgwd.sock npm run types
 *
 * test/types.test.js renders the same text from a live daemon and fails
 * when the checked-in api.d.ts differs.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const TS_TYPE = {
  id: 'string',
  string: 'string',
  token: 'string',
  int: 'number',
  bool: 'boolean',
  array: 'unknown[]',
  object: 'Record<string, unknown>',
};

const HEADER = `// api.d.ts: imgwd's methods and events, generated from its rpc.describe by
// scripts/gen-types.js (npm run types). Do not edit: test/types.test.js fails
// when this file and the daemon disagree.

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds to wait for the answer (default: the client's; 0: none). */
  timeout?: number;
}
`;

const key = (k) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : `'${k}'`);
const comment = (text, pad) => `${pad}/** ${text.replace(/\*\//g, '*\\/')} */\n`;

function paramNeed(p, groups) {
  if (p.oneOf) return `exactly one of ${groups[p.oneOf].join(', ')}`;
  return p.required ? 'required' : 'optional';
}

function argsType(m, pad) {
  const params = m.params || [];
  if (!params.length) return 'Record<string, never>';
  const groups = {};
  for (const p of params) if (p.oneOf) (groups[p.oneOf] ||= []).push(p.name);
  let out = '{\n';
  for (const p of params) {
    const optional = !p.required || p.oneOf ? '?' : '';
    out += comment(`${p.type}, ${paramNeed(p, groups)}`, `${pad}  `);
    out += `${pad}  ${key(p.name)}${optional}: ${TS_TYPE[p.type] || 'unknown'};\n`;
  }
  return `${out}${pad}}`;
}

function takesNothingRequired(m) {
  return !(m.params || []).some((p) => p.required && !p.oneOf);
}

/* A tree of domains: { methods: [entry], children: { name: tree } }. */
function tree(methods) {
  const root = { methods: [], children: {} };
  for (const m of methods) {
    const parts = m.name.split('.');
    let node = root;
    for (const part of parts.slice(0, -1))
      node = node.children[part] ||= { methods: [], children: {} };
    node.methods.push({ verb: parts[parts.length - 1], m });
  }
  return root;
}

function renderTree(node, pad) {
  let out = '';
  const names = [...node.methods.map((x) => x.verb), ...Object.keys(node.children)];
  for (const name of [...new Set(names)].sort()) {
    const entry = node.methods.find((x) => x.verb === name);
    if (entry) {
      const { m } = entry;
      const opt = takesNothingRequired(m) ? '?' : '';
      out += comment(m.summary || m.name, pad);
      out += `${pad}${key(name)}(args${opt}: MethodArgs['${m.name}'], options?: CallOptions): Promise<any>;\n`;
    }
    if (node.children[name]) {
      out += `${pad}${key(name)}: {\n${renderTree(node.children[name], `${pad}  `)}${pad}};\n`;
    }
  }
  return out;
}

function eventFields(fields) {
  const out = [];
  for (const word of (fields || '').split(/\s+/)) {
    if (!word) continue;
    if (word.startsWith('(')) break;
    const optional = word.endsWith('?');
    out.push({ name: optional ? word.slice(0, -1) : word, optional });
  }
  return out;
}

/* The text of api.d.ts for an rpc.describe result. */
export function renderTypes(d) {
  const methods = [...(d.methods || [])].sort((a, b) => a.name.localeCompare(b.name));
  let out = HEADER;
  out += `\n/** The protocol version these declarations were generated from. */\n`;
  out += `export type ProtocolVersion = '${d.version}';\n`;
  out += '\n/** The named arguments of each method. */\nexport interface MethodArgs {\n';
  for (const m of methods) {
    out += comment(m.summary || m.name, '  ');
    out += `  '${m.name}': ${argsType(m, '  ')};\n`;
  }
  out += '}\n\n/** Every method name. */\nexport type MethodName = keyof MethodArgs;\n';
  out += '\n/** Every method as a property of a connected client. */\nexport interface Api {\n';
  out += renderTree(tree(methods), '  ');
  out += '}\n\n/** Every event, by type. */\nexport interface Events {\n';
  const events = [...(d.events || [])].sort((a, b) => a.type.localeCompare(b.type));
  for (const e of events) {
    const logged = !/\(not logged/.test(e.fields || '');
    out += comment(e.fields ? `fields: ${e.fields}` : 'no fields', '  ');
    out += `  '${e.type}': {\n    type: '${e.type}';\n`;
    if (logged) out += '    seq: number;\n';
    // Every event's seq is the event log's (sync.progress names one too).
    for (const f of eventFields(e.fields).filter((x) => x.name !== 'seq' && x.name !== 'type'))
      out += `    ${key(f.name)}${f.optional ? '?' : ''}: any;\n`;
    out += '  };\n';
  }
  out += '}\n\n/** Every event type. */\nexport type EventType = keyof Events;\n';
  out += '\n/** An event of any type. */\nexport type ImgwEvent = Events[EventType];\n';
  out += '\n/** The error codes a call can fail with (ImgwError.code). */\n';
  out += `export type ErrorCode =\n${(d.errors || []).map((c) => `  | '${c}'`).join('\n')};\n`;
  return out;
}

async function main() {
  const { connect } = await import('../index.js');
  const c = await connect({ path: process.env.IMGW_SOCKET || undefined });
  try {
    const text = renderTypes(await c.call('rpc.describe'));
    if (process.argv[2]) writeFileSync(process.argv[2], text);
    else process.stdout.write(text);
  } finally {
    c.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`gen-types: ${e.message}`);
    process.exit(1);
  });
}
