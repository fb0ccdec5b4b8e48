"""
_proto: what the blocking and the asyncio client share. The socket path
rule, the error classes, the shape of MessagePack-RPC messages, and the
method namespaces built from rpc.describe. No I/O here.
"""
import inspect
import keyword
import os
import re

REQUEST, RESPONSE, NOTIFY = 0, 1, 2
MAX_MSGID = 0xFFFFFFFF		# msgid is a 32-bit unsigned integer
MAX_MESSAGE = 64 << 20		# the daemon sends at most 4 MiB a message; room
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class ImgwError(Exception):
    """
    The daemon answered a call with an error. code is the stable name from
    proto/RPC.md ("not_found", "bad_params", "offline", ...), message the
    text for people, method the method called (None if unknown).
    """

    def __init__(self, code, message, method=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.method = method


class ConnectionClosed(ImgwError):
    """The connection is gone (code "io"); message says why."""

    def __init__(self, message="imgwd closed the connection"):
        super().__init__("io", message)


def socket_path(account=None):
    """
    The socket imgwd listens on, found the way imgw(1) finds it: for an
    account, $XDG_RUNTIME_DIR/imgw/ACCOUNT.sock, else
    /tmp/imgw-UID/ACCOUNT.sock; without one, $IMGW_SOCKET first, then the
    same with the name "imgwd". Raises ValueError for a bad account name.
    """
    if account is not None and not _ACCOUNT.match(account):
        raise ValueError("bad account name %r" % account)
    name = account if account is not None else "imgwd"
    env = os.environ.get("IMGW_SOCKET")
    if account is None and env:
        return env
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run and run.startswith("/"):
        return "%s/imgw/%s.sock" % (run, name)
    return "/tmp/imgw-%d/%s.sock" % (os.getuid(), name)


def pack_request(packb, msgid, method, args):
    """A request: [0, msgid, method, [args]] (one map of named arguments)."""
    return packb([REQUEST, msgid, method, [args]], use_bin_type=True)


def error_of(err, method=None):
    """The ImgwError for a response's error object."""
    if isinstance(err, dict):
        return ImgwError(err.get("code"), err.get("message"), method)
    return ImgwError("internal", repr(err), method)


def classify(msg):
    """
    What one decoded message is: ("response", msgid, error, result),
    ("events", [EVENT...]), ("farewell", TEXT) for the daemon's last
    "error" notification, or None for anything else.
    """
    if not isinstance(msg, (list, tuple)) or not msg:
        return None
    if msg[0] == RESPONSE and len(msg) == 4:
        return ("response", msg[1], msg[2], msg[3])
    if msg[0] == NOTIFY and len(msg) == 3:
        params = msg[2] if isinstance(msg[2], (list, tuple)) else []
        if msg[1] == "event":
            return ("events", [e for e in params if isinstance(e, dict)])
        if msg[1] == "error" and params and isinstance(params[0], dict):
            return ("farewell", "imgwd: %s: %s" % (params[0].get("code"),
                                                    params[0].get("message")))
    return None


def method_doc(m):
    """A method's docstring, from its rpc.describe entry."""
    lines = [m.get("summary") or m["name"], ""]
    params = m.get("params") or []
    groups = {}
    for p in params:
        if p.get("oneOf"):
            groups.setdefault(p["oneOf"], []).append(p.get("name"))
    if params:
        lines.append("Arguments (keyword only, from the daemon's rpc.describe):")
    for p in params:
        if p.get("oneOf"):
            need = "exactly one of %s" % ", ".join(groups[p["oneOf"]])
        else:
            need = "required" if p.get("required") else "optional"
        lines.append("  %-12s %-7s %s" % (p.get("name"), p.get("type"), need))
    if not params:
        lines.append("No arguments.")
    lines += ["", "Returns the result; raises ImgwError with the daemon's code."]
    return "\n".join(lines)


def _signature(m):
    ps, skipped = [], False
    for p in m.get("params") or []:
        name = p.get("name")
        if not isinstance(name, str) or not name.isidentifier() or \
                keyword.iskeyword(name):
            # message.search's "from": pass it as **{"from": ...}.
            skipped = True
            continue
        required = p.get("required") and not p.get("oneOf")
        ps.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if required else None))
    if skipped:
        ps.append(inspect.Parameter("more", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(ps)


def bind_method(call, m):
    """
    A function calling method m (an rpc.describe entry) through call(name,
    **args), with m's arguments as keywords. An argument the method does
    not take raises TypeError before anything is sent.
    """
    name = m["name"]
    known = {p.get("name") for p in m.get("params") or []}

    def method(**args):
        unknown = sorted(set(args) - known)
        if unknown:
            raise TypeError("%s() takes no argument %s (it takes: %s)"
                            % (name, ", ".join(unknown),
                               ", ".join(sorted(known)) or "none"))
        return call(name, **args)
    method.__name__ = name.rsplit(".", 1)[-1]
    method.__qualname__ = name
    method.__doc__ = method_doc(m)
    method.__signature__ = _signature(m)
    return method


class Namespace:
    """
    Methods as attributes: client.message.send(user="bob", text="hi") calls
    message.send; client.friend.group.create(...) friend.group.create.
    """

    def __init__(self, call, methods, prefix=""):
        self._call = call
        self._methods = methods		# name -> rpc.describe entry
        self._prefix = prefix

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        full = self._prefix + attr
        m = self._methods.get(full)
        if m is not None:
            return bind_method(self._call, m)
        if any(n.startswith(full + ".") for n in self._methods):
            return Namespace(self._call, self._methods, full + ".")
        raise AttributeError("imgwd has no method or domain %r "
                             "(rpc.describe lists them)" % full)

    def __dir__(self):
        out = set()
        for n in self._methods:
            if n.startswith(self._prefix):
                out.add(n[len(self._prefix):].split(".", 1)[0])
        return sorted(out)

    def __repr__(self):
        return "<imgw methods %s*>" % self._prefix
