#!/usr/bin/env node
'use strict';
/*
 * demo.js: send a message, read the conversation's history and listen for
 * events, through imgwd's local socket (imgw_client.js). The same command
 * line and output as examples/python/demo.py:
 *
 *   node demo.js --to bob --text "hello"        send, then show the history
 *   node demo.js --count 5                      print the next 5 events
 *   node demo.js --to bob --text hi --count 2   all three
 *
 * Output, one item a line: "subscribed SEQ", "sent ID", "history USER N"
 * then one "  FROM: CONTENT (STATUS)" line per message (oldest first), and
 * "event JSON" per event. Errors go to stderr as "demo: CODE: MESSAGE" with
 * exit status 1 (2 for too few events).
 */
const { parseArgs } = require('node:util');
const { ImgwError, connect, defaultSocketPath } = require('./imgw_client');

const USAGE = `usage: demo.js [--socket PATH] [--to USER] [--text TEXT] [--count N]
               [--since SEQ] [--topics A,B] [--history N] [--timeout S]

  --socket PATH   imgwd's socket (default: ${defaultSocketPath()})
  --to USER       the user to send to and show history of
  --text TEXT     the text to send (needs --to)
  --count N       how many events to wait for and print (0: none)
  --since SEQ     replay events after this seq first
  --topics A,B    comma-separated event type prefixes
  --history N     how many of the newest messages to show (20)
  --timeout S     give up waiting for events after S seconds`;

function integer(name, v, dflt) {
  if (v === undefined) return dflt;
  if (!/^-?\d+(\.\d+)?$/.test(v)) {
    console.error(`demo: --${name} wants a number, not ${JSON.stringify(v)}`);
    process.exit(64);
  }
  return Number(v);
}

async function main() {
  let opts;
  try {
    opts = parseArgs({
      options: {
        socket: { type: 'string' }, to: { type: 'string' },
        text: { type: 'string' }, count: { type: 'string' },
        since: { type: 'string' }, topics: { type: 'string' },
        history: { type: 'string' }, timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`demo: ${e.message}\n${USAGE}`);
    return 64;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.text !== undefined && !opts.to) {
    console.error('demo: --text needs --to');
    return 64;
  }
  const count = integer('count', opts.count, 0);
  const since = integer('since', opts.since, undefined);
  const limit = integer('history', opts.history, 20);
  const timeout = integer('timeout', opts.timeout, 0);

  const gw = await connect(opts.socket);
  try {
    await gw.call('client.hello', { name: 'demo.js' });
    let events = null;
    if (count > 0) {
      // Subscribe first, so the events of our own send are seen too.
      const topics = opts.topics ? opts.topics.split(',') : undefined;
      events = gw.events({ subscribe: false, timeout: timeout * 1000 });
      const pending = events.next();	// starts the iterator: no event missed
      const head = await gw.subscribe({ since, topics });
      console.log(`subscribed ${head}`);
      events = { first: pending, it: events };
    }
    if (opts.text !== undefined) {
      const sent = await gw.call('message.send', { user: opts.to, text: opts.text });
      console.log(`sent ${sent.id}`);
    }
    if (opts.to) {
      const page = await gw.call('message.history', { user: opts.to, limit });
      const msgs = page.messages.slice().reverse();	// newest first: flip
      console.log(`history ${opts.to} ${msgs.length}`);
      for (const m of msgs) console.log(`  ${m.from}: ${m.content} (${m.status})`);
    }
    let got = 0;
    if (events) {
      let r = await events.first;
      while (!r.done) {
        console.log(`event ${JSON.stringify(r.value)}`);
        if (++got === count) break;
        r = await events.it.next();
      }
      await events.it.return();
    }
    if (got < count) {
      const why = gw.closed ? gw.closed.message : `no event within ${timeout}s`;
      console.error(`demo: ${got} of ${count} events: ${why}`);
      return 2;
    }
    return 0;
  } finally {
    gw.close();
  }
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
  if (e instanceof ImgwError) console.error(`demo: ${e.code}: ${e.message}`);
  else if (e.code) console.error(`demo: cannot reach imgwd: ${e.message}`);
  else console.error(`demo: ${e.stack || e}`);
  process.exitCode = 1;
});
