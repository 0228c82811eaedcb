#!/usr/bin/env python3
"""The fixture's black-box observer (scenarios.md §6.2, fixture/observer.cpp) computed from an
nginx access log instead: per generated site a request count and a last-seen time, then the same
summary — coverage, never seen, stale (never seen, or last seen longer ago than stale_after,
default 2 × interval), last-seen age and requests-per-site percentiles (nearest rank, over
observed sites), expected_request_ratio = total / (floor(elapsed / interval) × N).

The log format is the one nginx_fleet.py writes: `$host $msec $status $ssl_session_reused`.
Only lines with start <= $msec <= end count (wrk's calibration before the window does not).
Beyond the fixture's fields it reports status codes, and for HTTPS resumed (`r`) versus full
(`.`) handshakes per minute — nginx logs $ssl_session_reused per request, and with
`Connection: close` every request is one connection.

    nginx_observer.py access.log --count N --interval S --start T0 --end T1 [--stale-after S]
"""
import argparse
import collections
import json
import math
from array import array


def _nearest_rank(sorted_values, p):
    n = len(sorted_values)
    pos = max(0, math.ceil(p * n) - 1)
    return sorted_values[min(pos, n - 1)]


def _distribution(values):
    if not values:
        return {k: None for k in ("min", "mean", "p50", "p95", "p99", "max")}
    v = sorted(values)
    return {"min": v[0], "mean": sum(v) / len(v), "p50": _nearest_rank(v, 0.50),
            "p95": _nearest_rank(v, 0.95), "p99": _nearest_rank(v, 0.99), "max": v[-1]}


def summarize(lines, count, interval, start, end, stale_after=0.0, prefix="site-", digits=7,
              suffix=".fleet.test"):
    """`lines`: an iterable of access-log lines. Returns the fixture's summary fields plus
    `status_codes`, `tls` and `per_minute`."""
    stale_after = stale_after or 2.0 * interval
    requests = array("I", bytes(4 * count))
    last_seen = array("d", bytes(8 * count))
    status = collections.Counter()
    per_minute = collections.defaultdict(lambda: collections.Counter())
    other = beyond = total = 0
    plen, slen, width = len(prefix), len(suffix), len(prefix) + digits + len(suffix)
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        try:
            t = float(parts[1])
        except ValueError:
            continue
        if t < start or t > end:
            continue
        host = parts[0].lower()
        code = parts[2]
        status[code] += 1
        minute = per_minute[int((t - start) // 60)]
        minute["requests"] += 1
        if code != "200":
            minute["non_200"] += 1
        if len(parts) > 3 and parts[3] in ("r", "."):
            minute["tls_resumed" if parts[3] == "r" else "tls_full"] += 1
        if len(host) == width and host.startswith(prefix) and host.endswith(suffix):
            digits_part = host[plen:width - slen]
            if digits_part.isdigit():
                i = int(digits_part)
                if 1 <= i <= count:
                    requests[i - 1] += 1
                    if t > last_seen[i - 1]:
                        last_seen[i - 1] = t
                    total += 1
                    continue
                beyond += 1
                continue
        other += 1
    elapsed = end - start
    observed = stale = 0
    ages = []
    stale_ms = stale_after
    for i in range(count):
        seen = last_seen[i]
        if seen == 0.0:
            stale += 1
            continue
        observed += 1
        age = max(end - seen, 0.0)
        if age > stale_ms:
            stale += 1
        ages.append(age)
    expected_per_site = math.floor(elapsed / interval)
    expected_min = expected_per_site * count
    tls_resumed = sum(m["tls_resumed"] for m in per_minute.values())
    tls_full = sum(m["tls_full"] for m in per_minute.values())
    return {
        "source": "nginx access log",
        "expected_sites": count,
        "observed_sites": observed,
        "never_seen_sites": count - observed,
        "stale_sites": stale,
        "coverage_percent": 100.0 * observed / count if count else 0.0,
        "total_requests": total,
        "elapsed_seconds": elapsed,
        "requests_per_second": total / elapsed if elapsed > 0 else 0.0,
        "check_interval_seconds": interval,
        "stale_after_seconds": stale_after,
        "expected_min_checks_per_site": expected_per_site,
        "expected_min_requests": expected_min,
        "expected_request_ratio": total / expected_min if expected_min > 0 else None,
        "requests_per_site": _distribution(list(requests)),
        "last_seen_age_seconds": _distribution(ages),
        "requests_beyond_active_count": beyond,
        "other_host_requests": other,
        "status_codes": dict(status),
        "tls": {"resumed": tls_resumed, "full": tls_full},
        "per_minute": [dict(per_minute[k], minute=k) for k in sorted(per_minute)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--interval", type=float, required=True)
    ap.add_argument("--start", type=float, required=True, help="epoch seconds of the observer reset")
    ap.add_argument("--end", type=float, required=True, help="epoch seconds of the summary")
    ap.add_argument("--stale-after", type=float, default=0.0)
    a = ap.parse_args()
    with open(a.log, errors="replace") as f:
        print(json.dumps(summarize(f, a.count, a.interval, a.start, a.end, a.stale_after), indent=2))


if __name__ == "__main__":
    main()
