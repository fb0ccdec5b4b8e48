"""
report: what bench/run, bench/plot and bench/readme share: the statistics
behind a verdict (the median, a distribution-free confidence interval of
it, the decision against a target) and the table's formatting.
"""
import math
import statistics


def med(xs):
    return statistics.median(xs) if xs else None


def ci_median(xs):
    """
    A distribution-free confidence interval of the median, from order
    statistics: (x(k), x(n-k+1)) with the largest k whose two tails hold
    at most 5% each (so at least 90%; 94% at 5 runs, 96% at 9). With fewer
    than 5 runs, the whole range.
    """
    xs = sorted(xs)
    n = len(xs)
    k, tail = 0, 0.0
    while k < n // 2:
        nxt = tail + math.comb(n, k) / 2.0 ** n
        if nxt > 0.05:
            break
        tail, k = nxt, k + 1
    k = max(k, 1)
    return xs[k - 1], xs[n - k]


def decide(lo, hi, kind, target):
    """True (met), False (missed) or None (the interval straddles it)."""
    if kind == ">=":
        return True if lo >= target else False if hi < target else None
    if kind == "<":
        return True if hi < target else False if lo >= target else None
    if kind == "<=":
        return True if hi <= target else False if lo > target else None
    raise ValueError(kind)


def fmt_n(n):
    """100000 -> 100k, 5000000 -> 5M."""
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if v >= 1000:
        return "{:,.0f}".format(v)
    if v >= 10:
        return "%.0f" % v
    return "%.2f" % v


def fmt_spread(s):
    return "%s–%s" % (fmt(s[0]), fmt(s[1]))


def verdict(r):
    if r["ok"] is None:
        return ""
    v = "pass" if r["ok"] else "MISS"
    return v if r["decided"] else "open (%s by the median)" % v.lower()


def table(rows):
    """The table, markdown; the figures' spread (min–max) beside them."""
    head = ["measurement", "imgwd", "unit", "reference", "ratio", "target",
            "verdict", "runs"]
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        val = fmt(r["value"])
        if r["runs"] > 1 and not isinstance(r["value"], str):
            val += " (%s)" % fmt_spread(r["spread"])
        elif r["runs"] > 1:
            val += " (p99 %s)" % fmt_spread(r["spread"])
        if r["ref"] is not None:
            ref = "%s (%s)" % (fmt(r["ref"]), r["ref_name"])
            if r["runs"] > 1:
                ref = "%s (%s) %s" % (fmt(r["ref"]), fmt_spread(
                    r["ref_spread"]), r["ref_name"])
        else:
            ref = r["note"]
        ratio = ""
        if r["ratio"] is not None:
            ratio = "%.2fx" % r["ratio"]
            if r["runs"] > 1:
                ratio += " (%.2f–%.2f)" % tuple(r["ratio_spread"])
        body = [r["name"], val, r["unit"], ref.replace("|", "/"), ratio,
                r["target"] or "", verdict(r), str(r["runs"])]
        out.append("| " + " | ".join(body) + " |")
    return "\n".join(out)
