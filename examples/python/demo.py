#!/usr/bin/python3
"""
demo.py: send a message, read the conversation's history and listen for
events, with the imgw package (bindings/python; pip install it, or run this
from a checkout).

    demo.py --to bob --text "hello"          send, then show the history
    demo.py --count 5                        print the next 5 events
    demo.py --to bob --text hi --count 2     all three

Output, one item a line: "subscribed SEQ", "sent ID", "history USER N" then
one "  FROM: CONTENT (STATUS)" line per message (oldest first), and
"event JSON" per event. Errors go to stderr as "demo: CODE: MESSAGE" with
exit status 1 (2 for too few events).
"""
import argparse
import json
import os
import sys

try:
    import imgw
except ImportError:	# not installed: the package in this checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "..", "bindings", "python"))
    import imgw


def main():
    ap = argparse.ArgumentParser(description="imgw client demo (Python)")
    ap.add_argument("--socket", help="imgwd's socket (default: %s)"
                    % imgw.socket_path())
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

    with imgw.connect(a.socket, name="demo.py") as c:
        events = None
        if a.count > 0:
            # Subscribed before sending, so our own send's events come too.
            events = c.listen(a.since, a.topics.split(",") if a.topics else
                              None, timeout=a.timeout or None)
            print("subscribed %d" % events.head, flush=True)
        if a.text is not None:
            print("sent %s" % c.message.send(user=a.to, text=a.text)["id"],
                  flush=True)
        if a.to:
            msgs = c.message.history(user=a.to, limit=a.history)["messages"]
            print("history %s %d" % (a.to, len(msgs)))
            for m in reversed(msgs):	# newest first: flip
                print("  %s: %s (%s)" % (m.get("from"), m.get("content"),
                                         m.get("status")), flush=True)
        got = 0
        for ev in events or ():
            print("event " + json.dumps(ev, ensure_ascii=False), flush=True)
            got += 1
            if got == a.count:
                break
        if got < a.count:
            why = c.closed.message if c.closed else \
                "no event within %ss" % a.timeout
            print("demo: %d of %d events: %s" % (got, a.count, why),
                  file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except imgw.ImgwError as e:
        print("demo: %s: %s" % (e.code, e.message), file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print("demo: cannot reach imgwd: %s" % e, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
