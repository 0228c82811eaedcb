"""Turns one rung's recorded files into figures, a verdict against the gates, a markdown page
and SVG plots; and a ladder's rungs into one table. Reads only what capacity.py wrote, so a
report can be re-rendered from a finished run (`capacity.py --report DIR`).

Gates (scenarios.md §7.3 / §11.7, plus the control loop's of issue 11):
  observer: never-seen 0, stale 0, coverage 100 %, 0.80 <= expected_request_ratio <= 1.25
  throughput margin: mean checks/s after the first interval >= N / interval
  host: CPU max <= 85 % (1 − idle), memory max <= 85 %
  replay (tidewatch fixture, window long enough): 25/25 detected in time, recovered, no noise
  STACK=full: no event on a healthy site; every replay site one event, Down in time, closed
  tokens: never at token_max for more than 60 s in a row
  lateness: p99 <= interval − cadence (the slack before a site is late against its interval)
  age: tidewatch's own stale targets 0 and age max <= interval
  monitor faults: 0
  MODE=stall: no duplicated transition/audit row/event, replay events complete, lateness back
              within one interval of SIGCONT, RSS growth <= STALL_RSS_CAP_MB (when given)
  MODE=starve: tokens below token_max while starved, freshness back within one interval
The lateness and age gates skip the first interval (cold start) and, in a mode, the disturbed
span plus one interval (the mode's own gates judge that span).
"""
import collections
import json
import math
import os
import re
from datetime import datetime, timezone

import svg


# What GET /status is expected to carry (issue 11); missing ones come from the summary line of
# tidewatch's log when it has them, otherwise the gates that need them are n/a.
EXPECTED_STATUS_KEYS = ("checks_per_s", "required_rate", "tokens", "token_max", "pending", "in_flight", "paused",
                        "pause_cause", "control_mode", "lateness_p50_s", "lateness_p99_s", "age_p50_s", "age_p99_s",
                        "age_max_s", "stale_targets", "never_checked", "monitor_faults", "completed")


def cadence(interval):
    # pipeline: cadence = interval − clamp(interval / 20, 1 s, 15 s) (docs/architecture.md).
    return interval - min(15.0, max(1.0, interval / 20.0))


def _load_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    return out


def _load(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _max(vals):
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def _r(v, nd=1):
    return None if v is None else round(v, nd)


def status_series(samples, key):
    return [(s["t"], _num((s.get("status") or {}).get(key))) for s in samples]


def _rate_series(samples, key):
    out, prev = [], None
    for s in samples:
        v = _num((s.get("status") or {}).get(key))
        out.append((s["t"], (v - prev[1]) / (s["t"] - prev[0]) if v is not None and prev and s["t"] > prev[0] else None))
        prev = (s["t"], v) if v is not None else None
    return out


def tokens_pinned_s(samples):
    """Longest span of consecutive samples with tokens >= token_max (seconds between the first
    and the last such sample; one isolated sample counts 0)."""
    best, run_start, last_t = 0.0, None, None
    for s in samples:
        st = s.get("status") or {}
        tok, mx = _num(st.get("tokens")), _num(st.get("token_max"))
        if tok is not None and mx and tok >= mx:
            if run_start is None:
                run_start = s["t"]
            last_t = s["t"]
            best = max(best, last_t - run_start)
        else:
            run_start = None
    return best


def recovery_time(samples, after_t, ok):
    """Seconds from after_t to the first sample from which ok(status) holds for every later
    sample (None if it never settles, or no sample carries the needed keys)."""
    later = [s for s in samples if s["t"] >= after_t]
    if not later:
        return None
    verdicts = [ok(s.get("status") or {}) for s in later]
    if any(v is None for v in verdicts):
        return None
    settled = None
    for s, v in zip(later, verdicts):
        if v and settled is None:
            settled = s["t"]
        elif not v:
            settled = None
    return None if settled is None else settled - after_t


def _phase(samples, t0, t1):
    return [s for s in samples if t0 <= s["t"] <= t1]


def _phase_figures(samples, t0, t1, rss_role="tidewatch"):
    ph = _phase(samples, t0, t1)
    st = lambda k: [_num((s.get("status") or {}).get(k)) for s in ph]
    rss = [((s.get("procs") or {}).get(rss_role) or {}).get("rss_bytes") for s in ph]
    return {"from_s": round(t0), "to_s": round(t1), "samples": len(ph),
            "lateness_p50_s_max": _max(st("lateness_p50_s")), "lateness_p99_s_max": _max(st("lateness_p99_s")),
            "age_p50_s_max": _max(st("age_p50_s")), "age_p99_s_max": _max(st("age_p99_s")),
            "age_max_s_max": _max(st("age_max_s")), "stale_targets_max": _max(st("stale_targets")),
            "checks_per_s_mean": _r(_mean(st("checks_per_s"))), "tokens_max": _max(st("tokens")),
            "pending_max": _max(st("pending")), "rss_bytes_max": _max(rss),
            "paused_samples": sum(1 for s in ph if (s.get("status") or {}).get("paused") in (True, 1, "true")),
            "pause_causes": sorted({str((s.get("status") or {}).get("pause_cause")) for s in ph
                                    if (s.get("status") or {}).get("pause_cause") not in (None, "none")})}


def _failures_from_log(out, replay_hosts):
    """sink.log writes one line per failed check: by kind, by minute, and per replay host."""
    failures, per_minute = collections.Counter(), collections.Counter()
    replay_fails, other = collections.defaultdict(list), 0
    path = f"{out}/tidewatch.log"
    if not os.path.exists(path):
        return failures, per_minute, replay_fails, other
    with open(path, errors="replace") as f:
        for line in f:
            if " FAIL " not in line:
                continue
            host = re.search(r"url=https?://([^:/]+)", line)
            when = re.match(r"\[(\d+-\d+-\d+ \d+:\d+:\d+\.\d+)\]", line)
            if host and host.group(1) in replay_hosts and when:
                t = datetime.strptime(when.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
                replay_fails[host.group(1)].append(t)
            else:
                other += 1
            m = re.search(r"(error=\d+\(\w+\))( dns=\w+)?", line)
            d = re.search(r'detail="([^"]*)"', line)
            failures[(m.group(1) + (m.group(2) or "") if m else "?") + (" " + d.group(1) if d else "")] += 1
            ts = re.match(r"\[(\d+-\d+-\d+ \d+:\d+):", line)
            if ts:
                per_minute[ts.group(1)] += 1
    return failures, per_minute, replay_fails, other


def analyze(out):
    run = _load(f"{out}/run.json")
    n, interval = run["sites"], run["interval_s"]
    slack = interval - cadence(interval)
    samples = _load_jsonl(f"{out}/samples.jsonl")
    obs = _load(f"{out}/observer.json", {}) or {}
    wrk = _load(f"{out}/wrk.json", {}) or {}
    db = _load(f"{out}/db.json")
    actions = run.get("actions", [])
    window_end = samples[-1]["t"] if samples else 0
    fig = {"sites": n, "interval_s": interval, "cadence_s": cadence(interval), "window_s": run.get("window_s"),
           "setup": run.get("setup"), "early_exit": run.get("early_exit"), "setup_error": run.get("setup_error")}

    # Per-process CPU (cores) over the window, RSS and FD peaks.
    roles = sorted({r for s in samples for r in (s.get("procs") or {})})
    per_role = {}
    for role in roles:
        pts = [(s["t"], s["procs"][role]) for s in samples if (s.get("procs") or {}).get(role)]
        if len(pts) < 2:
            continue
        (ta, a), (tb, b) = pts[0], pts[-1]
        per_role[role] = {"cpu_cores_avg": _r((b["cpu_s"] - a["cpu_s"]) / max(tb - ta, 1e-9), 3),
                          "cpu_s": _r(b["cpu_s"] - a["cpu_s"], 2),
                          "rss_mb_max": _r(_max(p["rss_bytes"] for _, p in pts) / 1048576, 1),
                          "fds_max": _max(p.get("fds") for _, p in pts),
                          "threads_max": _max(p.get("threads") for _, p in pts)}
    fig["processes"] = per_role

    # Checks and CPU per check: the whole window (cold start included) and the steady part
    # (from the first sample at or after one interval).
    def tw_at(s):
        return ((s.get("procs") or {}).get("tidewatch") or {}).get("cpu_s")

    def completed_at(s):
        return _num((s.get("status") or {}).get("completed"))

    tw = {}
    if samples:
        first, last = samples[0], samples[-1]
        comp = completed_at(last)
        if comp is None:
            comp = obs.get("total_requests")
            tw["completed_source"] = "observer total_requests (no `completed` in /status)"
        tw["completed"] = comp
        if comp and tw_at(last) is not None and tw_at(first) is not None:
            tw["cpu_us_per_check"] = _r((tw_at(last) - tw_at(first)) / comp * 1e6)
        steady = [s for s in samples if s["t"] >= interval]
        if len(steady) >= 2 and completed_at(steady[0]) is not None and completed_at(steady[-1]) is not None:
            dc = completed_at(steady[-1]) - completed_at(steady[0])
            if dc > 0 and tw_at(steady[0]) is not None:
                tw["steady_cpu_us_per_check"] = _r((tw_at(steady[-1]) - tw_at(steady[0])) / dc * 1e6)
                tw["steady_checks_per_s"] = _r(dc / (steady[-1]["t"] - steady[0]["t"]))
        rss = _max(((s.get("procs") or {}).get("tidewatch") or {}).get("rss_bytes") for s in samples)
        tw["rss_bytes_max"] = rss
        tw["rss_bytes_per_site"] = _r(rss / n) if rss else None
        # The whole product on this box: monitor + database + verifier, per check.
        product = 0.0
        for role in ("tidewatch", "mariadbd", "verifier"):
            if role in per_role:
                product += per_role[role]["cpu_s"]
        if comp and "mariadbd" in per_role:
            tw["product_cpu_us_per_check"] = _r(product / comp * 1e6)
    plain = wrk.get("plain") or {}
    if plain.get("client_cpu_us_per_request") and tw.get("cpu_us_per_check"):
        tw["ratio_to_wrk"] = _r(tw["cpu_us_per_check"] / plain["client_cpu_us_per_request"], 2)
        if tw.get("steady_cpu_us_per_check"):
            tw["steady_ratio_to_wrk"] = _r(tw["steady_cpu_us_per_check"] / plain["client_cpu_us_per_request"], 2)
    fig["tidewatch"] = tw
    fig["wrk"] = wrk

    # Status-derived series.
    steady = [s for s in samples if s["t"] >= interval]
    disturbed = None
    mode = run.get("mode", "none")
    if mode in ("stall", "starve"):
        at, dur = run["mode_at_s"], run["mode_s"]
        disturbed = (at, at + dur)
    judged = [s for s in steady if not disturbed or not (disturbed[0] <= s["t"] <= disturbed[1] + interval)]
    st = lambda rows, k: [_num((s.get("status") or {}).get(k)) for s in rows]
    last_status = (samples[-1].get("status") or {}) if samples else {}
    fig["control"] = {
        "checks_per_s_mean": _r(_mean(st(steady, "checks_per_s"))),
        "required_rate": _num(last_status.get("required_rate")),
        "required_by_interval": _r(n / interval),
        "lateness_p50_s_max": _max(st(judged, "lateness_p50_s")),
        "lateness_p99_s_max": _max(st(judged, "lateness_p99_s")),
        "age_p50_s_max": _max(st(judged, "age_p50_s")),
        "age_p99_s_max": _max(st(judged, "age_p99_s")),
        "age_max_s_max": _max(st(judged, "age_max_s")),
        "stale_targets_max": _max(st(judged, "stale_targets")),
        "tokens_max": _max(st(samples, "tokens")),
        "token_max": _max(st(samples, "token_max")),
        "tokens_pinned_s": tokens_pinned_s(samples),
        "in_flight_max": _max(st(samples, "in_flight")),
        "pending_max": _max(st(samples, "pending")),
        "max_lag_ms_max": _max(st(samples, "max_lag_ms")),
        "monitor_faults": _num(last_status.get("monitor_faults")),
        "failures": _num(last_status.get("failures")),
        "paused_samples": sum(1 for s in samples if (s.get("status") or {}).get("paused") in (True, 1, "true")),
        "control_modes": dict(collections.Counter(str((s.get("status") or {}).get("control_mode"))
                                                  for s in samples if (s.get("status") or {}).get("control_mode"))),
        "status_keys_missing": sorted(k for k in EXPECTED_STATUS_KEYS
                                      if all(k not in (s.get("status") or {}) for s in samples)),
        "status_keys_from_summary_line": sorted(k for k in EXPECTED_STATUS_KEYS
                                                if all(k not in (s.get("status_json_keys") or []) for s in samples)
                                                and any(k in (s.get("status") or {}) for s in samples)),
    }

    # Host.
    busy = [s.get("host", {}).get("cpu_busy") for s in samples]
    mem = [s.get("host", {}).get("mem_used") for s in samples]
    fig["host"] = {"cpu_busy_max": _r(_max(busy) * 100 if _max(busy) is not None else None),
                   "cpu_busy_mean": _r(_mean(busy) * 100 if _mean(busy) is not None else None),
                   "mem_used_max": _r(_max(mem) * 100 if _max(mem) is not None else None)}

    # UDP receive-buffer errors: machine-wide before/after and per minute, per socket owner.
    udp = run.get("udp") or {}
    per_min = []
    prev = None
    for s in samples:
        u = s.get("udp") or {}
        if prev is not None and "RcvbufErrors" in u and "RcvbufErrors" in prev[1]:
            per_min.append((s["t"], u["RcvbufErrors"] - prev[1]["RcvbufErrors"]))
        prev = (s["t"], u)
    minutes = collections.Counter()
    for t, d in per_min:
        minutes[int(t // 60)] += d
    fig["udp"] = {"rcvbuf_errors": udp.get("rcvbuf_errors"), "in_errors": udp.get("in_errors"),
                  "rcvbuf_errors_per_minute": [minutes[k] for k in sorted(minutes)],
                  "socket_drops_max": {role: _max(((s.get("udp_sockets") or {}).get(role) or {}).get("drops")
                                                  for s in samples)
                                       for role in sorted({r for s in samples for r in (s.get("udp_sockets") or {})})}}

    # TLS resumption (fixture /stats or nginx $ssl_session_reused), in total and per minute.
    fig["tls"] = run.get("tls_handshakes")
    tls_pts = [(s["t"], s["fixture_tls"]) for s in samples if s.get("fixture_tls")]
    if fig["tls"] is not None and len(tls_pts) >= 2:
        per_minute = collections.defaultdict(lambda: {"resumed": 0, "full": 0})
        for (ta, a), (tb, b) in zip(tls_pts, tls_pts[1:]):
            m = per_minute[int(tb // 60)]
            m["resumed"] += (b.get("tls_resumed") or 0) - (a.get("tls_resumed") or 0)
            m["full"] += (b.get("tls_full") or 0) - (a.get("tls_full") or 0)
        fig["tls"] = dict(fig["tls"], per_minute=[dict(v, minute=k) for k, v in sorted(per_minute.items())])

    # Failures, replay.
    replay_hosts = set(run.get("replay_hosts") or [])
    failures, fail_minutes, replay_fails, other_fails = _failures_from_log(out, replay_hosts)
    fig["failures_by_kind"] = failures.most_common(10)
    fig["failures_by_minute"] = sorted(fail_minutes.items())
    replay = None
    if replay_hosts:
        start = run["replay_start_epoch"] + run["replay_offset_s"]
        end = start + run["replay_duration_s"]
        detect = {h: (min(replay_fails[h]) - start) if replay_fails[h] else None for h in replay_hosts}
        late = {h for h in replay_hosts if replay_fails[h] and max(replay_fails[h]) > end + 30}
        delays = sorted(d for d in detect.values() if d is not None)
        replay = {"hosts": len(replay_hosts), "detected": len(delays),
                  "detected_in_time": sum(1 for d in delays if -30 <= d <= interval + 30),
                  "detection_delay_s": [round(delays[0], 1), round(delays[-1], 1)] if delays else None,
                  "failed_after_end": len(late), "failures_on_other_hosts": other_fails}
    fig["replay"] = replay
    fig["replay_note"] = run.get("replay_note")

    events = None
    if db is not None:
        rows = db.get("events", [])
        replay_ids = {int(h[5:12]) for h in replay_hosts}
        ev = {"events": len(rows), "events_on_other_sites": sum(1 for r in rows if r["blog_id"] not in replay_ids),
              "sites_with_last_checked_at": db.get("projected"),
              "duplicate_transition_keys": db.get("duplicate_transition_keys"),
              "duplicate_audit_keys": db.get("duplicate_audit_keys"),
              "repeated_transitions": db.get("repeated_transitions"),
              "sites_with_several_events": db.get("sites_with_several_events"),
              "transitions": db.get("transitions"), "history_rows": db.get("history_rows"),
              "notifications": run.get("notifications")}
        if replay_hosts:
            start = run["replay_start_epoch"] + run["replay_offset_s"]
            end = start + run["replay_duration_s"]
            mine = [r for r in rows if r["blog_id"] in replay_ids]
            down = [r["down_at"] - start for r in mine if r["down_at"]]
            closed = [r["ended_at"] - end for r in mine if r["ended_at"]]
            per_site = collections.Counter(r["blog_id"] for r in mine)
            ev.update({
                "replay_sites_with_event": len(per_site),
                "replay_sites_down": len({r["blog_id"] for r in mine if r["down_at"]}),
                "replay_sites_closed_after_end": len({r["blog_id"] for r in mine if r["ended_at"] and r["ended_at"] >= end - 1}),
                "replay_events": len(mine),
                "replay_sites_one_event": sum(1 for c in per_site.values() if c == 1),
                "down_s_after_start": [round(min(down), 1), round(max(down), 1)] if down else None,
                "closed_s_after_end": [round(min(closed), 1), round(max(closed), 1)] if closed else None,
                "resolutions": dict(collections.Counter(r["reason"] for r in mine))})
        events = ev
    fig["events"] = events

    # Modes.
    mode_fig = None
    if disturbed:
        t0, t1 = disturbed
        # One interval before the disturbance (cold start included when it starts that early).
        before = _phase_figures(samples, max(0.0, t0 - interval), t0 - 0.001)
        during = _phase_figures(samples, t0, t1)
        after = _phase_figures(samples, t1, window_end)
        lat_ok = lambda s: (None if _num(s.get("lateness_p99_s")) is None else s["lateness_p99_s"] <= slack)
        fresh_ok = lambda s: (None if _num(s.get("age_max_s")) is None and _num(s.get("stale_targets")) is None
                              else ((_num(s.get("stale_targets")) or 0) == 0
                                    and (_num(s.get("age_max_s")) is None or s["age_max_s"] <= interval)))
        mode_fig = {"mode": mode, "from_s": t0, "to_s": t1, "before": before, "during": during, "after": after,
                    "lateness_recovery_s": recovery_time(samples, t1, lat_ok),
                    "freshness_recovery_s": recovery_time(samples, t1, fresh_ok)}
        if mode == "stall":
            rss_at = None
            for s in samples:
                if s["t"] <= t0 and ((s.get("procs") or {}).get("tidewatch") or {}).get("rss_bytes"):
                    rss_at = s["procs"]["tidewatch"]["rss_bytes"]
            mode_fig["rss_bytes_at_stop"] = rss_at
            mode_fig["rss_bytes_max_during"] = during["rss_bytes_max"]
            mode_fig["rss_growth_bytes"] = (during["rss_bytes_max"] - rss_at) if rss_at and during["rss_bytes_max"] else None
            mode_fig["rss_growth_bytes_per_site"] = _r(mode_fig["rss_growth_bytes"] / n, 1) if mode_fig["rss_growth_bytes"] is not None else None
            mode_fig["rss_cap_mb"] = run.get("stall_rss_cap_mb")
        if mode == "starve":
            mode_fig["quota_percent"] = run.get("starve_quota")
            mode_fig["cgroup_cpu_stat"] = run.get("cgroup_cpu_stat")
            mode_fig["confined"] = run.get("confined_roles")
    fig["mode"] = mode_fig

    fig["gates"] = gates(fig, obs, run, slack)
    evaluated = [g for g in fig["gates"].values() if g["ok"] is not None]
    fig["pass"] = (bool(evaluated) and all(g["ok"] for g in evaluated) and not run.get("early_exit")
                   and not run.get("setup_error"))
    fig["observer"] = {k: obs.get(k) for k in ("source", "expected_sites", "observed_sites", "never_seen_sites",
                                               "stale_sites", "coverage_percent", "total_requests",
                                               "requests_per_second", "expected_request_ratio",
                                               "last_seen_age_seconds", "requests_per_site", "status_codes")}
    return fig


def gates(fig, obs, run, slack):
    n, interval = fig["sites"], fig["interval_s"]
    g = {}

    def gate(name, ok, value=None, limit=None, note=None):
        g[name] = {"ok": ok, "value": value, "limit": limit}
        if note:
            g[name]["note"] = note

    ratio = obs.get("expected_request_ratio")
    gate("observer: never seen == 0", obs.get("never_seen_sites") == 0 if obs else None, obs.get("never_seen_sites"), 0)
    gate("observer: stale == 0", obs.get("stale_sites") == 0 if obs else None, obs.get("stale_sites"), 0)
    gate("observer: coverage == 100 %", (obs.get("coverage_percent", 0) >= 100.0) if obs else None,
         obs.get("coverage_percent"), 100)
    gate("observer: 0.80 <= request ratio <= 1.25", (ratio is not None and 0.80 <= ratio <= 1.25) if obs else None,
         _r(ratio, 3), "0.80-1.25")
    c = fig["control"]
    rate = fig["tidewatch"].get("steady_checks_per_s") or c.get("checks_per_s_mean")
    gate("throughput: checks/s >= N / interval", None if rate is None else rate >= n / interval,
         rate, _r(n / interval))
    h = fig["host"]
    pct = lambda v: None if v is None else f"{v:.1f} %"
    gate("host CPU max <= 85 % (1 − idle, whole machine)", None if h["cpu_busy_max"] is None else h["cpu_busy_max"] <= 85,
         pct(h["cpu_busy_max"]), "85 %")
    gate("host memory max <= 85 %", None if h["mem_used_max"] is None else h["mem_used_max"] <= 85, pct(h["mem_used_max"]), "85 %")
    r = fig.get("replay")
    if r is not None:
        gate("replay: 25/25 in time, recovered, no noise",
             r["detected_in_time"] == r["hosts"] and r["failed_after_end"] == 0 and r["failures_on_other_hosts"] == 0,
             f'{r["detected_in_time"]}/{r["hosts"]}, after-end {r["failed_after_end"]}, noise {r["failures_on_other_hosts"]}')
    e = fig.get("events")
    if e is not None:
        gate("events: none on healthy sites", e["events_on_other_sites"] == 0, e["events_on_other_sites"], 0)
        if r is not None or run.get("replay_hosts"):
            ok = (e.get("replay_sites_down") == 25 and e.get("replay_sites_closed_after_end") == 25
                  and e.get("replay_events") == 25 and e.get("down_s_after_start") is not None
                  and e["down_s_after_start"][1] <= interval + 60)
            gate("events: 25 replay sites Down in time, closed after the end, one event each", ok,
                 f'down {e.get("replay_sites_down")}, closed {e.get("replay_sites_closed_after_end")}, events {e.get("replay_events")}')
    gate("tokens: not at token_max for more than 60 s", None if c["token_max"] is None else c["tokens_pinned_s"] <= 60,
         c["tokens_pinned_s"], 60)
    lp = c["lateness_p99_s_max"]
    gate("lateness: p99 <= interval − cadence", None if lp is None else lp <= slack, lp, slack)
    am, stale = c["age_max_s_max"], c["stale_targets_max"]
    gate("age: tidewatch's stale targets == 0 and age max <= interval",
         None if am is None and stale is None else ((stale or 0) == 0 and (am is None or am <= interval)),
         f"stale {stale}, age max {am}", f"0, {interval}")
    mf = c["monitor_faults"]
    gate("monitor faults == 0", None if mf is None else mf == 0, mf, 0)
    m = fig.get("mode")
    if m and m["mode"] == "stall":
        if e is not None:
            dup = [e.get("duplicate_transition_keys"), e.get("duplicate_audit_keys"), e.get("repeated_transitions")]
            gate("stall: no duplicated transition, audit row or event mutation",
                 None if any(d is None for d in dup) else sum(dup) == 0, dup, 0)
        gate("stall: lateness back under the slack within one interval",
             None if m["lateness_recovery_s"] is None and c["lateness_p99_s_max"] is None
             else (m["lateness_recovery_s"] is not None and m["lateness_recovery_s"] <= interval),
             m["lateness_recovery_s"], interval)
        cap = m.get("rss_cap_mb")
        gate("stall: RSS growth <= STALL_RSS_CAP_MB",
             None if not cap or m["rss_growth_bytes"] is None else m["rss_growth_bytes"] <= cap * 1048576,
             m["rss_growth_bytes"], cap * 1048576 if cap else "not given")
    if m and m["mode"] == "starve":
        tmax, during = c["token_max"], m["during"]["tokens_max"]
        gate("starve: tokens below token_max while starved", None if tmax is None or during is None else during < tmax,
             during, tmax)
        gate("starve: freshness back within one interval of release",
             None if m["freshness_recovery_s"] is None and c["age_max_s_max"] is None and c["stale_targets_max"] is None
             else (m["freshness_recovery_s"] is not None and m["freshness_recovery_s"] <= interval),
             m["freshness_recovery_s"], interval)
    return g


# ---------------------------------------------------------------------------------------------
# Rendering


def _cell(v, nd=None):
    if v is None:
        return "–"
    if isinstance(v, float):
        if nd is None:
            # Ratios and seconds stay readable, rates and bytes do not carry noise digits.
            nd = 3 if abs(v) < 10 else (1 if abs(v) < 1000 else 0)
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _mark(ok):
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


def plots(out, fig=None):
    """Writes plots/*.svg for one rung; returns their file names."""
    run = _load(f"{out}/run.json")
    samples = _load_jsonl(f"{out}/samples.jsonl")
    if not samples:
        return []
    os.makedirs(f"{out}/plots", exist_ok=True)
    bands = []
    if run.get("mode") in ("stall", "starve"):
        bands.append((run["mode_at_s"], run["mode_at_s"] + run["mode_s"],
                      "database stopped" if run["mode"] == "stall" else f"fleet at {run.get('starve_quota')} % of a core"))
    n = run["sites"]
    written = []

    x_range = {"x_min": 0.0, "x_max": samples[-1]["t"]}

    def chart(*args, **kw):
        return svg.line_chart(*args, **kw, **x_range)

    def put(name, doc):
        with open(f"{out}/plots/{name}", "w") as f:
            f.write(doc)
        written.append(name)

    put("checks.svg", chart(
        f"checks/s vs required — {n:,} sites",
        [("checks/s (tidewatch, last summary interval)", status_series(samples, "checks_per_s")),
         ("completed per second between samples", _rate_series(samples, "completed"), {"color": "#9467bd"}),
         ("required (Σ 1/cadence)", status_series(samples, "required_rate"), {"dash": True}),
         ("N / interval", [(s["t"], n / run["interval_s"]) for s in samples], {"dash": True, "color": "#7f7f7f"})],
        "checks per second", bands=bands))
    put("lateness.svg", chart(
        "lateness (dispatch − due), last summary interval",
        [("p50", status_series(samples, "lateness_p50_s")), ("p99", status_series(samples, "lateness_p99_s")),
         ("slack (interval − cadence)", [(s["t"], run["interval_s"] - cadence(run["interval_s"])) for s in samples],
          {"dash": True, "color": "#7f7f7f"})], "seconds", bands=bands))
    put("age.svg", chart(
        "age of each site's last completed check (tidewatch's fleet sampler)",
        [("p50", status_series(samples, "age_p50_s")), ("p99", status_series(samples, "age_p99_s")),
         ("max", status_series(samples, "age_max_s")),
         ("interval", [(s["t"], run["interval_s"]) for s in samples], {"dash": True, "color": "#7f7f7f"})],
        "seconds", bands=bands))
    put("tokens.svg", chart(
        "tokens (controller target), in flight, token_max",
        [("tokens", status_series(samples, "tokens")), ("in flight", status_series(samples, "in_flight")),
         ("token_max", status_series(samples, "token_max"), {"dash": True, "color": "#7f7f7f"})],
        "checks", bands=bands))
    roles = sorted({r for s in samples for r in (s.get("procs") or {})})
    cpu_series = []
    for role in roles:
        pts, prev = [], None
        for s in samples:
            p = (s.get("procs") or {}).get(role)
            if p and prev and s["t"] > prev[0]:
                pts.append((s["t"], (p["cpu_s"] - prev[1]) / (s["t"] - prev[0])))
            elif not p:
                pts.append((s["t"], None))
            prev = (s["t"], p["cpu_s"]) if p else None
        cpu_series.append((role, pts))
    cpu_series.append(("host (1 − idle) × cores", [(s["t"], (s.get("host") or {}).get("cpu_busy") * (run.get("cpus") or 2)
                                                    if (s.get("host") or {}).get("cpu_busy") is not None else None)
                                                   for s in samples], {"dash": True, "color": "#000000"}))
    put("cpu.svg", chart("CPU per process (cores, between samples)", cpu_series, "cores", bands=bands))
    put("rss.svg", chart(
        "RSS per process",
        [(role, [(s["t"], ((s.get("procs") or {}).get(role) or {}).get("rss_bytes", 0) / 1048576
                  if (s.get("procs") or {}).get(role) else None) for s in samples]) for role in roles],
        "MiB", bands=bands))
    return written


def _rung_md(out, fig, run, pics, heading="#"):
    L = []
    verdict = "PASS" if fig["pass"] else "FAIL"
    L.append(f"{heading} {fig['sites']:,} sites at {fig['interval_s']} s — {verdict}")
    L.append("")
    s = run.get("setup", {})
    L.append(f"- started {run.get('started_utc')}, window {run.get('window_s')} s, "
             f"stack `{s.get('stack')}`, fleet `{s.get('fixture')}`, HTTPS `{s.get('https')}`, DNS TTL `{s.get('dns_ttl')}`, "
             f"mode `{run.get('mode')}`")
    L.append(f"- pinning: {s.get('pinning')}; nice: {s.get('nice')}; tidewatch config: {s.get('config_note')}")
    for note in run.get("notes", []):
        L.append(f"- {note}")
    if fig.get("early_exit"):
        L.append(f"- **tidewatch exited early**: {fig['early_exit']}")
    if fig.get("setup_error"):
        L.append(f"- **the rung did not complete**: {fig['setup_error']}")
    L.append("")
    L.append("| Gate | Value | Limit | Result |")
    L.append("|---|---|---|---|")
    for name, g in fig["gates"].items():
        L.append(f"| {name} | {_cell(g['value'])} | {_cell(g['limit'])} | {_mark(g['ok'])} |")
    L.append("")
    t, c, w = fig["tidewatch"], fig["control"], fig["wrk"] or {}
    plain = w.get("plain") or {}
    https_w = w.get("https") or {}
    L.append("| Figure | Value |")
    L.append("|---|---|")
    rows = [
        ("checks/s (steady) vs N / interval", f"{_cell(t.get('steady_checks_per_s'))} vs {_cell(c['required_by_interval'])} "
                                              f"(tidewatch's required_rate {_cell(c['required_rate'])})"),
        ("tidewatch CPU per check (window / steady)", f"{_cell(t.get('cpu_us_per_check'))} / {_cell(t.get('steady_cpu_us_per_check'))} µs"),
        ("wrk CPU per `Connection: close` request (client / server)",
         f"{_cell(plain.get('client_cpu_us_per_request'))} / {_cell(plain.get('server_cpu_us_per_request'))} µs "
         f"({_cell(plain.get('requests_per_s'), 0)} req/s)"),
        ("wrk HTTPS CPU per request, full handshakes (client / server)",
         f"{_cell(https_w.get('client_cpu_us_per_request'))} / {_cell(https_w.get('server_cpu_us_per_request'))} µs "
         f"({_cell(https_w.get('requests_per_s'), 0)} req/s)" if https_w else "not run (plain fleet)"),
        ("ratio tidewatch / wrk (window / steady)", f"{_cell(t.get('ratio_to_wrk'), 2)} / {_cell(t.get('steady_ratio_to_wrk'), 2)}"),
        ("monitor + mariadbd + verifier CPU per check", f"{_cell(t.get('product_cpu_us_per_check'))} µs"),
        ("tidewatch RSS max / per site", f"{_cell((t.get('rss_bytes_max') or 0) / 1048576)} MiB / {_cell(t.get('rss_bytes_per_site'))} B"),
        ("lateness p50 / p99 (max over judged samples)", f"{_cell(c['lateness_p50_s_max'], 2)} / {_cell(c['lateness_p99_s_max'], 2)} s"),
        ("age p50 / p99 / max (max over judged samples)", f"{_cell(c['age_p50_s_max'], 0)} / {_cell(c['age_p99_s_max'], 0)} / {_cell(c['age_max_s_max'], 0)} s"),
        ("tokens max / token_max; longest at token_max", f"{_cell(c['tokens_max'])} / {_cell(c['token_max'])}; {_cell(c['tokens_pinned_s'], 0)} s"),
        ("pending max; in flight max; max lag", f"{_cell(c['pending_max'])}; {_cell(c['in_flight_max'])}; {_cell(c['max_lag_ms_max'])} ms"),
        ("paused samples; control modes", f"{c['paused_samples']}; {c['control_modes']}"),
        ("failures; monitor faults", f"{_cell(c['failures'])}; {_cell(c['monitor_faults'])}"),
        ("host CPU max / mean; memory max", f"{_cell(fig['host']['cpu_busy_max'], 1)} / {_cell(fig['host']['cpu_busy_mean'], 1)} %; {_cell(fig['host']['mem_used_max'], 1)} %"),
        ("UDP RcvbufErrors (machine, window); per socket owner max", f"{_cell(fig['udp']['rcvbuf_errors'])}; {fig['udp']['socket_drops_max']}"),
    ]
    if fig.get("tls"):
        tl = fig["tls"]
        pm = "; ".join(f"{m['minute']}: {m.get('resumed', m.get('tls_resumed', 0))}/{m.get('full', m.get('tls_full', 0))}"
                       for m in tl.get("per_minute", []))
        rows.append(("TLS handshakes resumed / full (failed) — per minute", f"{_cell(tl.get('resumed'))} / {_cell(tl.get('full'))} "
                     f"({_cell(tl.get('failed'))}), {tl.get('source')} — {pm}"))
    if c["status_keys_missing"]:
        rows.append(("/status keys missing (gates on them are n/a)", ", ".join(c["status_keys_missing"])))
    if c["status_keys_from_summary_line"]:
        rows.append(("taken from the log's summary line (not in /status)", ", ".join(c["status_keys_from_summary_line"])))
    for k, v in rows:
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("| Process | CPU (cores, avg) | RSS max (MiB) | FDs max | threads max |")
    L.append("|---|---|---|---|---|")
    for role, p in fig["processes"].items():
        L.append(f"| {role} | {_cell(p['cpu_cores_avg'], 3)} | {_cell(p['rss_mb_max'], 1)} | {_cell(p['fds_max'])} | {_cell(p['threads_max'])} |")
    L.append("")
    o = fig["observer"]
    if o:
        age = o.get("last_seen_age_seconds") or {}
        L.append(f"Observer ({o.get('source') or 'tidewatch-fixture'}): {o.get('observed_sites')} of {o.get('expected_sites')} seen, "
                 f"{o.get('stale_sites')} stale, {o.get('total_requests')} requests, ratio {_cell(o.get('expected_request_ratio'), 3)}, "
                 f"last-seen age p50 {_cell(age.get('p50'))} / p95 {_cell(age.get('p95'))} / p99 {_cell(age.get('p99'))} / max {_cell(age.get('max'))} s.")
        L.append("")
    if fig.get("replay"):
        L.append(f"Replay: {json.dumps(fig['replay'])}")
        L.append("")
    if fig.get("replay_note"):
        L.append(f"Replay: {fig['replay_note']}")
        L.append("")
    if fig.get("events"):
        L.append(f"Events: {json.dumps(fig['events'])}")
        L.append("")
    m = fig.get("mode")
    if m:
        L.append(f"Mode `{m['mode']}` from {m['from_s']} s to {m['to_s']} s:")
        L.append("")
        L.append("| Phase | lateness p99 max | age p99 max | age max | stale max | checks/s | tokens max | pending max | RSS max (MiB) | paused samples |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for ph in ("before", "during", "after"):
            p = m[ph]
            L.append(f"| {ph} ({p['from_s']}–{p['to_s']} s) | {_cell(p['lateness_p99_s_max'], 2)} | {_cell(p['age_p99_s_max'], 0)} | "
                     f"{_cell(p['age_max_s_max'], 0)} | {_cell(p['stale_targets_max'])} | {_cell(p['checks_per_s_mean'])} | "
                     f"{_cell(p['tokens_max'])} | {_cell(p['pending_max'])} | {_cell((p['rss_bytes_max'] or 0) / 1048576)} | "
                     f"{p['paused_samples']} {p['pause_causes'] or ''} |")
        L.append("")
        extra = {k: v for k, v in m.items() if k not in ("before", "during", "after", "mode", "from_s", "to_s")}
        L.append(f"{json.dumps(extra)}")
        L.append("")
    if fig["failures_by_kind"]:
        L.append(f"Failed checks by kind (sink.log): {fig['failures_by_kind']}")
        L.append("")
    for p in pics:
        L.append(f"![{p}](plots/{p})")
    L.append("")
    return "\n".join(L)


def render_rung(out):
    fig = analyze(out)
    run = _load(f"{out}/run.json")
    pics = plots(out, fig)
    with open(f"{out}/capacity.json", "w") as f:
        json.dump(fig, f, indent=2)
    with open(f"{out}/capacity.md", "w") as f:
        f.write(_rung_md(out, fig, run, pics))
    return fig


def render_ladder(root, rung_dirs):
    """One table over the rungs (and each rung's page below it) in root/capacity.md."""
    figs = []
    for d in rung_dirs:
        if os.path.exists(f"{d}/run.json"):
            try:
                figs.append((d, render_rung(d)))
            except Exception as e:  # one unreadable rung must not hide the others
                run = _load(f"{d}/run.json") or {}
                figs.append((d, {"sites": run.get("sites"), "error": run.get("setup_error") or f"{type(e).__name__}: {e}"}))
    L = ["# Capacity ladder", ""]
    first = _load(f"{rung_dirs[0]}/run.json") if rung_dirs else None
    if first:
        s = first.get("setup", {})
        L.append(f"Stack `{s.get('stack')}`, fleet `{s.get('fixture')}`, HTTPS `{s.get('https')}`, DNS TTL `{s.get('dns_ttl')}`, "
                 f"interval {first.get('interval_s')} s, window {first.get('window_s')} s, mode `{first.get('mode')}`, "
                 f"pinning {s.get('pinning')}, nice {s.get('nice')}. Started {first.get('started_utc')}.")
        L.append("")
    L.append("| Sites | Verdict | Failed gates | checks/s vs N/interval | tidewatch µs/check (steady) | wrk µs/req | ratio | RSS B/site | lateness p50/p99 s | age p50/p99/max s | tokens max / token_max | UDP drops |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    last_clean = first_problem = None
    for d, f in figs:
        if f.get("error"):
            L.append(f"| {_cell(f.get('sites'))} | error | {f['error']} | | | | | | | | | |")
            continue
        failed = [k for k, g in f["gates"].items() if g["ok"] is False]
        if f.get("setup_error") or f.get("early_exit"):
            failed.insert(0, f"did not complete: {f.get('setup_error') or f.get('early_exit')}")
        t, c = f["tidewatch"], f["control"]
        plain = (f["wrk"] or {}).get("plain") or {}
        L.append(f"| [{f['sites']:,}]({os.path.relpath(d, root)}/capacity.md) | {'pass' if f['pass'] else '**fail**'} | "
                 f"{'; '.join(failed) or '–'} | {_cell(t.get('steady_checks_per_s'))} / {_cell(c['required_by_interval'])} | "
                 f"{_cell(t.get('cpu_us_per_check'))} ({_cell(t.get('steady_cpu_us_per_check'))}) | "
                 f"{_cell(plain.get('client_cpu_us_per_request'))} | {_cell(t.get('ratio_to_wrk'), 2)} | {_cell(t.get('rss_bytes_per_site'))} | "
                 f"{_cell(c['lateness_p50_s_max'], 2)} / {_cell(c['lateness_p99_s_max'], 2)} | "
                 f"{_cell(c['age_p50_s_max'], 0)} / {_cell(c['age_p99_s_max'], 0)} / {_cell(c['age_max_s_max'], 0)} | "
                 f"{_cell(c['tokens_max'])} / {_cell(c['token_max'])} | {_cell(f['udp']['rcvbuf_errors'])} |")
        if f["pass"]:
            last_clean = f["sites"]
        elif first_problem is None:
            first_problem = f["sites"]
    L.append("")
    L.append(f"Last clean rung: {_cell(last_clean)}; first problem rung: {_cell(first_problem)}.")
    L.append("")
    gate_names = []
    for _, f in figs:
        for k in (f.get("gates") or {}):
            if k not in gate_names:
                gate_names.append(k)
    if gate_names:
        L.append("| Gate | " + " | ".join(_cell(f.get("sites")) for _, f in figs) + " |")
        L.append("|---|" + "---|" * len(figs))
        for k in gate_names:
            L.append(f"| {k} | " + " | ".join(_mark(((f.get("gates") or {}).get(k) or {}).get("ok")) for _, f in figs) + " |")
        L.append("")
    for d, f in figs:
        run = _load(f"{d}/run.json")
        if f.get("error") or not run:
            continue
        pics = [p for p in sorted(os.listdir(f"{d}/plots"))] if os.path.isdir(f"{d}/plots") else []
        rel = os.path.relpath(d, root)
        body = _rung_md(d, f, run, [], heading="##")
        L.append(body)
        for p in pics:
            L.append(f"![{p}]({rel}/plots/{p})")
        L.append("")
    with open(f"{root}/capacity.md", "w") as fh:
        fh.write("\n".join(L))
    with open(f"{root}/capacity.json", "w") as fh:
        json.dump({"rungs": [{"dir": os.path.relpath(d, root), **f} for d, f in figs],
                   "last_clean": last_clean, "first_problem": first_problem}, fh, indent=2)
    return figs
