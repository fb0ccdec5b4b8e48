#!/usr/bin/env node
/*
 * demo.js: send a message, read the conversation's history and listen for
 * events, with the imgw package (bindings/node; here from package.json's
 * file: dependency). The same command line and output as
 * examples/python/demo.py:
 *
 *   node demo.js --to bob --text "hello"        send, then show the history
 *   node demo.js --count 5                      print the next 5 events
 *   node demo.js --to bob --text hi --count 2   all three
 *
 * Errors go to stderr as "demo: CODE: MESSAGE" with exit status 1 (2 for
 * too few events).
 */
import { parseArgs } from 'node:util';
import { ImgwError, connect, socketPath } from 'imgw';

const USAGE = `usage: demo.js [--socket PATH] [--to USER] [--text TEXT] [--count N]
               [--since SEQ] [--topics A,B] [--history N] [--timeout S]

  --socket PATH   imgwd's socket (default: ${socketPath()})
  --to USER       the user to send to and show history of
  --text TEXT     the text to send (needs --to)
  --count N       how many events to wait for and print (0: none)
  --since SEQ     replay events after this seq first
  --topics A,B    comma-separated event type prefixes
  --history N     how many of the newest messages to show (20)
  --timeout S     give up waiting for events after S seconds`;

function number(name, v, dflt) {
  if (v === undefined) return dflt;
  if (!/^-?\d+(\.\d+)?$/.test(v)) {
    console.error(`demo: --${name} wants a number, not ${JSON.stringify(v)}`);
    process.exit(64);
  }
  return Number(v);
}

async function main() {
  let o;
  try {
    o = parseArgs({
      options: Object.fromEntries(['socket', 'to', 'text', 'count', 'since', 'topics',
        'history', 'timeout'].map((k) => [k, { type: 'string' }])
        .concat([['help', { type: 'boolean', short: 'h' }]])),
    }).values;
  } catch (e) {
    console.error(`demo: ${e.message}\n${USAGE}`);
    return 64;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.text !== undefined && !o.to) {
    console.error('demo: --text needs --to');
    return 64;
  }
  const count = number('count', o.count, 0);
  const timeout = number('timeout', o.timeout, 0);

  const c = await connect({ path: o.socket, name: 'demo.js' });
  try {
    let events = null;
    if (count > 0) {
      // Subscribed before sending, so our own send's events come too.
      events = c.listen({ since: number('since', o.since, undefined),
        topics: o.topics ? o.topics.split(',') : undefined, timeout: timeout * 1000 });
      console.log(`subscribed ${await events.head}`);
    }
    if (o.text !== undefined)
      console.log(`sent ${(await c.message.send({ user: o.to, text: o.text })).id}`);
    if (o.to) {
      const page = await c.message.history({ user: o.to, limit: number('history', o.history, 20) });
      console.log(`history ${o.to} ${page.messages.length}`);
      for (const m of page.messages.reverse())	// newest first: flip
        console.log(`  ${m.from}: ${m.content} (${m.status})`);
    }
    let got = 0;
    if (events) {
      for await (const ev of events) {
        console.log(`event ${JSON.stringify(ev)}`);
        if (++got === count) break;
      }
    }
    if (got < count) {
      const why = c.closed ? c.closed.message : `no event within ${timeout}s`;
      console.error(`demo: ${got} of ${count} events: ${why}`);
      return 2;
    }
    return 0;
  } finally {
    c.close();
  }
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
  if (e instanceof ImgwError) console.error(`demo: ${e.code}: ${e.message}`);
  else if (e.code) console.error(`demo: cannot reach imgwd: ${e.message}`);
  else console.error(`demo: ${e.stack || e}`);
  process.exitCode = 1;
});
