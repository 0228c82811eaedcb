"""Tests of the capacity harness's pure parts (bench/capacity): the nginx observer, the gates,
the summary-line parser, the SVG writer, the /proc readers and the cgroup used by MODE=starve.
The harness's runs themselves are smoke-tested by hand (docs/benchmarks.md); these pin the
arithmetic a verdict rests on.

    python3 -m unittest discover -s tests/bench_capacity
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "capacity"))
import capacity  # noqa: E402
import nginx_fleet  # noqa: E402
import nginx_observer  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import svg  # noqa: E402


class NginxObserver(unittest.TestCase):
    def test_summary_matches_the_fixture_observer_rules(self):
        t0 = 1000.0
        lines = [
            f"site-0000001.fleet.test {t0 - 5:.3f} 200 -",      # before the reset: ignored (wrk)
            f"site-0000001.fleet.test {t0 + 10:.3f} 200 .",     # full handshake
            f"site-0000001.fleet.test {t0 + 70:.3f} 200 r",     # resumed
            f"site-0000002.fleet.test {t0 + 15:.3f} 503 -",     # seen long ago: stale at the end
            f"SITE-0000003.FLEET.TEST {t0 + 119:.3f} 200 -",    # case-insensitive
            f"wrk-calibration.fleet.test {t0 + 30:.3f} 200 -",  # other host
            f"site-0000009.fleet.test {t0 + 30:.3f} 200 -",     # beyond the count
            "garbage",
            f"site-0000003.fleet.test {t0 + 500:.3f} 200 -",    # after the end: ignored
        ]
        s = nginx_observer.summarize(lines, count=4, interval=50, start=t0, end=t0 + 120)
        self.assertEqual(s["expected_sites"], 4)
        self.assertEqual(s["observed_sites"], 3)
        self.assertEqual(s["never_seen_sites"], 1)           # site 4
        self.assertEqual(s["stale_sites"], 2)                # site 4 never, site 2 at 105 s > 2 × 50 s
        self.assertEqual(s["total_requests"], 4)
        self.assertEqual(s["other_host_requests"], 1)
        self.assertEqual(s["requests_beyond_active_count"], 1)
        self.assertEqual(s["expected_min_checks_per_site"], 2)
        self.assertAlmostEqual(s["expected_request_ratio"], 4 / 8)
        self.assertAlmostEqual(s["last_seen_age_seconds"]["max"], 105.0)
        self.assertAlmostEqual(s["last_seen_age_seconds"]["min"], 1.0)
        self.assertEqual(s["status_codes"], {"200": 5, "503": 1})
        self.assertEqual(s["tls"], {"resumed": 1, "full": 1})
        self.assertEqual([m["minute"] for m in s["per_minute"]], [0, 1])

    def test_nearest_rank_percentiles(self):
        d = nginx_observer._distribution([float(x) for x in range(1, 101)])
        self.assertEqual((d["p50"], d["p95"], d["p99"], d["max"]), (50.0, 95.0, 99.0, 100.0))


class SummaryLine(unittest.TestCase):
    def test_parses_every_field_the_gates_use(self):
        line = ("[2026-12-07 02:58:08.371] [info] summary targets=2000 required_rate=105.3/s checks_per_s=106.4 "
                "in_flight=3 tokens=60/14616 mode=steady pending=64 max_lag_ms=1299 lateness_p50=0.39s "
                "lateness_p99=1.00s age_p50=10s age_p99=19s age_max=19s stale=2 dispatched=5304 completed=5301 "
                "failures=7 monitor_faults=1 paused=sink_backlog")
        st = capacity.parse_summary_line(line)
        self.assertEqual(st["tokens"], 60)
        self.assertEqual(st["token_max"], 14616)
        self.assertEqual(st["control_mode"], "steady")
        self.assertAlmostEqual(st["required_rate"], 105.3)
        self.assertAlmostEqual(st["lateness_p99_s"], 1.0)
        self.assertEqual(st["age_max_s"], 19)
        self.assertEqual(st["stale_targets"], 2)
        self.assertEqual(st["completed"], 5301)
        self.assertEqual(st["monitor_faults"], 1)
        self.assertEqual((st["paused"], st["pause_cause"]), (True, "sink_backlog"))


def _sample(t, **status):
    return {"t": t, "status": status, "procs": {"tidewatch": {"cpu_s": t * 0.1, "rss_bytes": 100 << 20, "fds": 10,
                                                            "threads": 4}},
            "host": {"cpu_busy": 0.5, "mem_used": 0.1}, "udp": {"RcvbufErrors": 0}}


class Gates(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="twcap-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, run, samples, observer):
        with open(f"{self.dir}/run.json", "w") as f:
            json.dump(run, f)
        with open(f"{self.dir}/samples.jsonl", "w") as f:
            for s in samples:
                f.write(json.dumps(s) + "\n")
        with open(f"{self.dir}/observer.json", "w") as f:
            json.dump(observer, f)

    def healthy(self, t, **over):
        st = dict(checks_per_s=110.0, required_rate=105.3, tokens=100, token_max=1000, completed=int(t * 110),
                  lateness_p50_s=0.2, lateness_p99_s=1.0, age_p50_s=30, age_p99_s=56, age_max_s=57, stale_targets=0,
                  monitor_faults=0)
        st.update(over)
        return _sample(t, **st)

    def observer(self):
        return {"expected_sites": 6000, "observed_sites": 6000, "never_seen_sites": 0, "stale_sites": 0,
                "coverage_percent": 100.0, "expected_request_ratio": 1.05, "total_requests": 30000}

    def run_json(self, **over):
        r = {"sites": 6000, "interval_s": 60, "window_s": 300, "mode": "none", "setup": {}, "udp": {"rcvbuf_errors": 0}}
        r.update(over)
        return r

    def test_a_healthy_run_passes_every_gate(self):
        self.write(self.run_json(), [self.healthy(t) for t in range(0, 301, 15)], self.observer())
        fig = report.analyze(self.dir)
        failed = [k for k, g in fig["gates"].items() if g["ok"] is False]
        self.assertEqual(failed, [])
        self.assertTrue(fig["pass"])
        self.assertAlmostEqual(fig["tidewatch"]["steady_cpu_us_per_check"], 0.1 / 110 * 1e6, delta=1)

    def test_tokens_pinned_more_than_a_minute_fails(self):
        samples = [self.healthy(t, tokens=1000 if 90 <= t <= 165 else 100) for t in range(0, 301, 15)]
        self.write(self.run_json(), samples, self.observer())
        fig = report.analyze(self.dir)
        self.assertEqual(fig["control"]["tokens_pinned_s"], 75)
        self.assertFalse(fig["gates"]["tokens: not at token_max for more than 60 s"]["ok"])
        self.assertFalse(fig["pass"])

    def test_lateness_over_the_slack_fails_but_the_cold_start_is_not_judged(self):
        # interval 60 s -> cadence 57 s -> slack 3 s; t < 60 s is the cold start.
        samples = [self.healthy(t, lateness_p99_s=9.0 if t < 60 else 1.0) for t in range(0, 301, 15)]
        self.write(self.run_json(), samples, self.observer())
        self.assertTrue(report.analyze(self.dir)["gates"]["lateness: p99 <= interval − cadence"]["ok"])
        samples[10] = self.healthy(150, lateness_p99_s=3.5)
        self.write(self.run_json(), samples, self.observer())
        self.assertFalse(report.analyze(self.dir)["gates"]["lateness: p99 <= interval − cadence"]["ok"])

    def test_missing_status_keys_leave_their_gates_unevaluated(self):
        samples = [_sample(t, checks_per_s=110.0, completed=int(t * 110)) for t in range(0, 301, 15)]
        self.write(self.run_json(), samples, self.observer())
        fig = report.analyze(self.dir)
        self.assertIsNone(fig["gates"]["monitor faults == 0"]["ok"])
        self.assertIn("lateness_p99_s", fig["control"]["status_keys_missing"])

    def test_starvation_judges_tokens_and_freshness_recovery(self):
        run = self.run_json(mode="starve", mode_at_s=60, mode_s=60, window_s=300)
        samples = []
        for t in range(0, 301, 15):
            starved = 60 <= t <= 120
            late = 120 < t <= 150
            samples.append(self.healthy(t, tokens=1000 if starved else 100, stale_targets=50 if late else 0,
                                        age_max_s=80 if late else 57))
        self.write(run, samples, self.observer())
        fig = report.analyze(self.dir)
        self.assertEqual(fig["mode"]["freshness_recovery_s"], 45)
        self.assertFalse(fig["gates"]["starve: tokens below token_max while starved"]["ok"])
        self.assertTrue(fig["gates"]["starve: freshness back within one interval of release"]["ok"])
        # The disturbed span plus one interval is left to the mode's own gates.
        self.assertTrue(fig["gates"]["age: tidewatch's stale targets == 0 and age max <= interval"]["ok"])

    def test_stall_reports_rss_growth_and_judges_duplicates(self):
        run = self.run_json(mode="stall", mode_at_s=60, mode_s=60, stall_rss_cap_mb=1)
        samples = [self.healthy(t) for t in range(0, 301, 15)]
        for s in samples:
            if 60 < s["t"] <= 120:
                s["procs"]["tidewatch"]["rss_bytes"] = (100 << 20) + (2 << 20)
        self.write(run, samples, self.observer())
        with open(f"{self.dir}/db.json", "w") as f:
            json.dump({"events": [], "duplicate_transition_keys": 0, "duplicate_audit_keys": 0,
                       "repeated_transitions": 1}, f)
        fig = report.analyze(self.dir)
        self.assertEqual(fig["mode"]["rss_growth_bytes"], 2 << 20)
        self.assertFalse(fig["gates"]["stall: RSS growth <= STALL_RSS_CAP_MB"]["ok"])
        self.assertFalse(fig["gates"]["stall: no duplicated transition, audit row or event mutation"]["ok"])

    def test_rendering_writes_markdown_json_and_plots(self):
        self.write(self.run_json(), [self.healthy(t) for t in range(0, 301, 15)], self.observer())
        report.render_rung(self.dir)
        for name in ("capacity.md", "capacity.json", "plots/checks.svg", "plots/tokens.svg", "plots/cpu.svg"):
            self.assertTrue(os.path.exists(f"{self.dir}/{name}"), name)
        with open(f"{self.dir}/capacity.md") as f:
            self.assertIn("PASS", f.read())


class Svg(unittest.TestCase):
    def test_chart_is_well_formed_with_gaps_and_bands(self):
        doc = svg.line_chart("t", [("a", [(0, 1), (10, None), (20, 3), (30, 4)]), ("b", [(0, 2), (30, 2)], {"dash": True})],
                             "y", bands=[(5, 15, "stall")])
        root = ET.fromstring(doc)
        ns = "{http://www.w3.org/2000/svg}"
        self.assertEqual(len(root.findall(f"{ns}polyline")), 2)   # a's second segment and b; a's first is a dot
        self.assertEqual(len(root.findall(f"{ns}circle")), 1)
        self.assertIn("stall", doc)


class Proc(unittest.TestCase):
    def test_own_process_and_host_counters(self):
        s = procs.proc_sample(os.getpid())
        self.assertGreater(s["rss_bytes"], 1 << 20)
        self.assertGreaterEqual(s["threads"], 1)
        self.assertIn("RcvbufErrors", procs.udp_snmp())
        a = procs.host_sample()
        time.sleep(0.2)
        busy = procs.host_cpu_busy(a, procs.host_sample())
        self.assertTrue(0.0 <= busy <= 1.0)

    def test_fleet_addresses_match_the_fixture(self):
        # fixture/fleet.h: id -> 127.1.x.y, x.y = id mod 256 + 1 (docs/fixture.md).
        self.assertEqual(nginx_fleet.fleet_address(42), "127.1.0.43")
        self.assertEqual(nginx_fleet.fleet_address(255), "127.1.1.0")
        self.assertEqual(nginx_fleet.host_name(42), "site-0000042.fleet.test")

    @unittest.skipUnless(procs.CpuCgroup.available(), "cgroup v1 cpu controller not writable")
    def test_cgroup_confines_and_releases(self):
        child = subprocess.Popen(["sleep", "30"])
        cg = procs.CpuCgroup(f"tidewatch-capacity-test-{os.getpid()}", 5)
        try:
            cg.confine([child.pid])
            with open(f"/proc/{child.pid}/cgroup") as f:
                self.assertIn(os.path.basename(cg.path), f.read())
            with open(os.path.join(cg.path, "cpu.cfs_quota_us")) as f:
                self.assertEqual(int(f.read()), 5000)
        finally:
            cg.remove()
            child.kill()
            child.wait()
        self.assertFalse(os.path.isdir(cg.path))

    @unittest.skipUnless(shutil.which("nginx"), "nginx not installed")
    def test_nginx_config_is_accepted(self):
        d = tempfile.mkdtemp(prefix="twcap-nginx-")
        try:
            os.makedirs(f"{d}/tmp")
            with open(f"{d}/nginx.conf", "w") as f:
                f.write(nginx_fleet.nginx_conf(d, 18080, None, None, None, 1024, 1))
            r = subprocess.run(["nginx", "-t", "-p", d, "-e", f"{d}/err.log", "-c", f"{d}/nginx.conf"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
