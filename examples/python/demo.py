#!/usr/bin/python3
"""
demo.py: send a message, read the conversation's history and listen for
events, through imgwd's local socket (examples/python/imgw_client.py).

    demo.py --to bob --text "hello"          send, then show the history
    demo.py --count 5                        print the next 5 events
    demo.py --to bob --text hi --count 2     all three

Output, one item a line: "subscribed SEQ", "sent ID", "history USER N" then
one "  FROM: CONTENT (STATUS)" line per message (oldest first), and
"event JSON" per event. Errors go to stderr as "demo: CODE: MESSAGE" with
exit status 1 (2 for a timeout).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imgw_client import ImgwError, connect, default_socket_path  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="imgw client demo (Python)")
    ap.add_argument("--socket", help="imgwd's socket (default: %s)"
                    % default_socket_path())
    ap.add_argument("--to", help="the user to send to and show history of")
    ap.add_argument("--text", help="the text to send (needs --to)")
    ap.add_argument("--count", type=int, default=0,
                    help="how many events to wait for and print (0: none)")
    ap.add_argument("--since", type=int,
                    help="replay events after this seq first")
    ap.add_argument("--topics", help="comma-separated event type prefixes")
    ap.add_argument("--history", type=int, default=20,
                    help="how many of the newest messages to show (20)")
    ap.add_argument("--timeout", type=float, default=0,
                    help="give up waiting for events after this many seconds")
    a = ap.parse_args()
    if a.text is not None and not a.to:
        ap.error("--text needs --to")

    with connect(a.socket) as gw:
        gw.call("client.hello", name="demo.py")
        if a.count > 0:
            # Subscribe first, so the events of our own send are seen too.
            topics = a.topics.split(",") if a.topics else None
            head = gw.subscribe(a.since, topics)
            print("subscribed %d" % head, flush=True)
        if a.text is not None:
            sent = gw.call("message.send", user=a.to, text=a.text)
            print("sent %s" % sent["id"], flush=True)
        if a.to:
            page = gw.call("message.history", user=a.to, limit=a.history)
            msgs = list(reversed(page["messages"]))	# newest first: flip
            print("history %s %d" % (a.to, len(msgs)))
            for m in msgs:
                print("  %s: %s (%s)" % (m.get("from"), m.get("content"),
                                         m.get("status")))
            sys.stdout.flush()
        got = 0
        if a.count > 0:
            for ev in gw.events(subscribe=False, timeout=a.timeout or None):
                print("event " + json.dumps(ev, ensure_ascii=False),
                      flush=True)
                got += 1
                if got == a.count:
                    break
        if got < a.count:
            why = gw.closed.message if gw.closed else \
                "no event within %ss" % a.timeout
            print("demo: %d of %d events: %s" % (got, a.count, why),
                  file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ImgwError as e:
        print("demo: %s: %s" % (e.code, e.message), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print("demo: cannot reach imgwd: %s" % e, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
