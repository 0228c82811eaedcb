#!/usr/bin/env python3
"""Capacity harness: one rung, or a ladder of rungs, of scenarios.md §11 on this box, measured
the way an operator runs tidewatch. Called by bench/capacity/run.sh; docs/benchmarks.md ("How to
run the capacity harness") lists every variable and what the report holds.

    run.sh N [interval_s=300] [window_s] [build-dir=build]
    run.sh --ladder N1,N2,... [interval_s] [window_s] [build-dir]
    capacity.py --report DIR          re-render a finished rung or ladder folder
"""
import collections
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nginx_fleet  # noqa: E402
import nginx_observer  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
# Realistic TTLs (issue 11): most sites at 300 s, some at a minute or two, some at up to an hour.
DEFAULT_TTL_MIX = "60:5,120:5,300:60,600:10,1800:10,3600:10"


def log(msg):
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] {msg}", flush=True)


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def env_float(name, default):
    v = os.environ.get(name, "")
    return float(v) if v.strip() else default


class Settings:
    """Everything a rung depends on, from the command line and the environment."""

    def __init__(self, interval, window, build):
        e = os.environ
        self.interval = interval
        self.window_arg = window
        self.build = build if os.path.isabs(build) else os.path.join(ROOT, build)
        self.stack = e.get("STACK", "probe")
        self.fixture = e.get("FIXTURE", "tidewatch")
        self.https = e.get("HTTPS", "0")
        self.https_percent = env_int("HTTPS_PERCENT", 80)
        ttl = e.get("DNS_TTL", "300")
        self.ttl_mix = e.get("DNS_TTL_MIX", DEFAULT_TTL_MIX) if ttl == "mix" else None
        self.dns_ttl = 300 if ttl == "mix" else int(ttl)
        self.pin = e.get("PIN", "0") == "1"
        self.nice = env_int("NICE", 0)
        self.mode = e.get("MODE", "none")
        self.stall_at, self.stall_s = env_float("STALL_AT", 300), env_float("STALL_S", 600)
        self.stall_cap_mb = env_float("STALL_RSS_CAP_MB", 0) or None
        self.starve_at, self.starve_s = env_float("STARVE_AT", 300), env_float("STARVE_S", 600)
        self.starve_quota = env_float("STARVE_QUOTA", 10)
        self.wrk_s = env_int("WRK_S", 15)
        self.wrk_conns = env_int("WRK_CONNECTIONS", 64)
        self.replay_offset = env_int("REPLAY_OFFSET", 180)
        self.replay_duration = env_int("REPLAY_DURATION", 1200)
        self.sample_s = env_float("SAMPLE_S", 15)
        self.cooldown_s = env_float("COOLDOWN_S", 60)
        self.ladder_continue = e.get("LADDER_CONTINUE", "0") == "1"
        self.out_root = e.get("OUT", os.path.join(ROOT, "out", "capacity"))
        self.keep_work = e.get("KEEP_WORK", "0") == "1"
        self.check()

    def check(self):
        def bad(msg):
            raise SystemExit(f"run.sh: {msg}")
        if self.stack not in ("probe", "full"):
            bad(f"STACK must be probe or full (got {self.stack!r})")
        if self.fixture not in ("tidewatch", "nginx"):
            bad(f"FIXTURE must be tidewatch or nginx (got {self.fixture!r})")
        if self.https not in ("0", "1", "mix"):
            bad(f"HTTPS must be 0, 1 or mix (got {self.https!r})")
        if not 0 < self.https_percent < 100 and self.https == "mix":
            bad("HTTPS_PERCENT must be 1..99")
        if self.ttl_mix is not None and not re.fullmatch(r"\d+:\d+(,\d+:\d+)*", self.ttl_mix):
            bad(f"DNS_TTL_MIX must be TTL:WEIGHT,... (got {self.ttl_mix!r})")
        if self.mode not in ("none", "stall", "starve"):
            bad(f"MODE must be none, stall or starve (got {self.mode!r})")
        if self.mode == "stall" and self.stack != "full":
            bad("MODE=stall stops the private MariaDB: it needs STACK=full")
        if self.mode == "starve" and not procs.CpuCgroup.available():
            bad("MODE=starve needs the cgroup v1 cpu controller writable at /sys/fs/cgroup/cpu (run as root)")
        if self.nice < 0 and os.geteuid() != 0:
            bad("a negative NICE needs root")
        for tool in (["wrk"] if self.wrk_s > 0 else []) + (["nginx", "dnsmasq"] if self.fixture == "nginx" else []) \
                + (["openssl"] if self.fixture == "nginx" and self.https != "0" else []) + (["taskset"] if self.pin else []):
            if not shutil.which(tool):
                bad(f"{tool} not found")

    @property
    def mode_at(self):
        return {"stall": self.stall_at, "starve": self.starve_at}.get(self.mode)

    @property
    def mode_s(self):
        return {"stall": self.stall_s, "starve": self.starve_s}.get(self.mode)

    def window(self):
        if self.window_arg:
            w = self.window_arg
        else:
            w = self.interval + 60
            if self.mode != "none":
                # The mode's gates need one interval after the release, plus a margin.
                w = max(w, int(self.mode_at + self.mode_s + self.interval + 60))
        if self.mode != "none" and w < self.mode_at + self.mode_s + 30:
            raise SystemExit(f"run.sh: window {w} s ends before MODE={self.mode} releases "
                             f"({self.mode_at:g} + {self.mode_s:g} s)")
        return int(w)

    def prefix(self, cpu):
        """taskset/nice only when asked for (PIN=1, NICE=…): an operator runs neither."""
        p = []
        if self.nice:
            p += ["nice", "-n", str(self.nice)]
        if self.pin:
            p += ["taskset", "-c", str(cpu)]
        return p

    def https_share(self):
        return {"0": 0, "1": 100, "mix": self.https_percent}[self.https]

    def describe(self):
        return {
            "stack": self.stack, "fixture": self.fixture,
            "https": self.https + (f" ({self.https_percent} % of sites: id mod 100 < {self.https_percent})" if self.https == "mix" else ""),
            "dns_ttl": f"mix {self.ttl_mix}" if self.ttl_mix else self.dns_ttl,
            "pinning": "PIN=1: fleet, MariaDB and verifier on CPU 0, tidewatch and wrk on CPU 1" if self.pin else "none",
            "nice": self.nice,
            "config_note": "documented defaults; only addresses set (pipeline, resolver.servers, probe.allow_private_targets "
                           "to reach loopback, probe.ca_file for HTTPS, admin.listen, database socket, verifier address)",
        }


def is_https(settings, i):
    return (i % 100) < settings.https_share()


# ---------------------------------------------------------------------------------------------
# Small clients: DNS A query, HTTP(S) GET, the admin server.


def dns_a(server, port, name, timeout=1.0):
    """(address, ttl) of the first A record, or None."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (server, port))
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    an = struct.unpack(">H", data[6:8])[0]
    pos = 12

    def skip_name(p):
        while True:
            ln = data[p]
            if ln & 0xC0 == 0xC0:
                return p + 2
            if ln == 0:
                return p + 1
            p += ln + 1
    pos = skip_name(pos) + 4
    for _ in range(an):
        pos = skip_name(pos)
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            return ".".join(str(b) for b in data[pos:pos + 4]), ttl
        pos += rdlen
    return None


def http_get(address, port, host, https=False, ca_file=None, timeout=5.0):
    """Status code of GET / with Host (and SNI) = host, or an error string."""
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
        if https:
            ctx = ssl.create_default_context(cafile=ca_file)
            raw = ctx.wrap_socket(raw, server_hostname=host)
        raw.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while len(data) < 64:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        raw.close()
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else f"no status line: {data[:40]!r}"
    except (OSError, ssl.SSLError) as e:
        return f"{type(e).__name__}: {e}"


def fetch(url, timeout=3.0, data=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as r:
            return r.read().decode(errors="replace")
    except (OSError, ValueError):
        return None


SUMMARY_KEYS = {  # summary line token -> /status key
    "targets": "targets", "required_rate": "required_rate", "checks_per_s": "checks_per_s", "in_flight": "in_flight",
    "mode": "control_mode", "pending": "pending", "max_lag_ms": "max_lag_ms", "lateness_p50": "lateness_p50_s",
    "lateness_p99": "lateness_p99_s", "age_p50": "age_p50_s", "age_p99": "age_p99_s", "age_max": "age_max_s",
    "stale": "stale_targets", "never_checked": "never_checked", "dispatched": "dispatched", "completed": "completed",
    "failures": "failures", "monitor_faults": "monitor_faults",
}


def parse_summary_line(line):
    """`summary targets=… tokens=a/b mode=… lateness_p99=0.12s …` -> /status-style keys."""
    out = {}
    for k, v in re.findall(r"(\w+)=(\S+)", line.split("summary", 1)[1]):
        if k == "tokens" and "/" in v:
            a, b = v.split("/", 1)
            out["tokens"], out["token_max"] = _number(a), _number(b)
        elif k == "paused":
            out["paused"], out["pause_cause"] = True, v
        elif k in SUMMARY_KEYS:
            out[SUMMARY_KEYS[k]] = v if k == "mode" else _number(v.rstrip("s").replace("/", ""))
    return out


def _number(v):
    try:
        f = float(v)
        return int(f) if f.is_integer() and "." not in v else f
    except ValueError:
        return None


class LogTail:
    """Reads tidewatch.log incrementally for its summary lines."""

    def __init__(self, path):
        self.path, self.pos, self.last = path, 0, {}

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.pos)
                chunk = f.read()
                self.pos = f.tell()
        except OSError:
            return self.last
        for line in chunk.splitlines():
            if "] summary " in line or " summary targets=" in line:
                self.last = parse_summary_line(line)
        return self.last


# ---------------------------------------------------------------------------------------------
# One rung


class Rung:
    def __init__(self, settings, n, out):
        self.s, self.n, self.out = settings, n, out
        self.interval = settings.interval
        self.window = settings.window()
        self.fixture = self.aux = self.nginx = self.tw = self.verifier = None
        self.db_dir = self.sock = self.mariadbd_pid = None
        self.cgroup = None
        self.stopped_db = False
        self.run = {"sites": n, "interval_s": self.interval, "window_s": self.window, "mode": settings.mode,
                    "setup": settings.describe(), "notes": [], "actions": [], "cpus": procs.NCPU}
        self.fixture_bin = os.path.join(settings.build, "fixture", "tidewatch-fixture")
        self.tw_bin = os.path.join(settings.build, "app", "tidewatch")
        for b in (self.fixture_bin, self.tw_bin):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"missing {b}: build first (scripts/build)")
        self.work = tempfile.mkdtemp(prefix=f"twcap-n{n}-", dir="/tmp")

    # -- fleet ----------------------------------------------------------------------------
    def start_fleet(self):
        s = self.s
        self.ca_file = None
        self.dns_servers = []
        if s.fixture == "tidewatch":
            args = [self.fixture_bin, "--fleet-count", str(self.n), "--http-port", "0", "--control-port", "0",
                    "--wpcom-port", "0", "--dns-port", "0", "--dns2-port", "0", "--dns-ttl", str(s.dns_ttl),
                    "--check-interval", str(self.interval), "--ready-file", f"{self.work}/fixture.json",
                    "--ca-file", f"{self.out}/fixture-ca.pem", "--log-level", "warn"]
            args += ["--no-https"] if s.https == "0" else ["--https-port", "0"]
            if s.ttl_mix:
                args += ["--dns-ttl-mix", s.ttl_mix]
            self.fixture = procs.spawn(args, f"{self.out}/fixture.log", s.prefix(0))
            ready = self._wait_ready_file(f"{self.work}/fixture.json", self.fixture, "fixture", 120)
            shutil.copy(f"{self.work}/fixture.json", f"{self.out}/fixture.json")
            self.http_port = ready["http"]["port"]
            self.https_port = (ready.get("https") or {}).get("port")
            self.control = f"http://127.0.0.1:{ready['control']['port']}"
            self.wpcom_control = self.control
            self.wpcom_port = ready["wpcom"]["port"]
            self.dns_servers = [("127.0.0.1", d["port"]) for d in ready["dns"]]
            if s.https != "0":
                self.ca_file = f"{self.out}/fixture-ca.pem"
            self.run["notes"].append("sites and DNS: tidewatch-fixture (both DNS instances as resolvers)"
                                     + (f"; DNS TTL mix {s.ttl_mix}" if s.ttl_mix else f"; DNS TTL {s.dns_ttl} s"))
        else:
            dns_by_fixture = bool(s.ttl_mix)
            self.nginx = nginx_fleet.NginxFleet(self.work, self.n, s.https != "0", s.dns_ttl, self.out, s.prefix(0))
            if dns_by_fixture:
                # dnsmasq has one TTL for every hosts entry (--local-ttl); per-name TTLs need
                # --host-record lines, which it parses in quadratic time (200 000 of them took
                # 240 s of CPU). The mix comes from the fixture's DNS instead.
                self.nginx.start_dns = False
                self.run["notes"].append("DNS: tidewatch-fixture's DNS with the TTL mix (dnsmasq cannot serve per-name "
                                         "TTLs at this scale); sites: nginx")
            else:
                self.run["notes"].append(f"sites: nginx (one worker); DNS: dnsmasq, --local-ttl {s.dns_ttl}")
            self.nginx.start()
            if dns_by_fixture or s.stack == "full":
                # The aux fixture: the WPCOM mock (STACK=full) and/or the TTL-mix DNS; its own
                # fleet listener is bound to 127.0.0.1 only, so nothing of the fleet reaches it.
                args = [self.fixture_bin, "--fleet-count", str(self.n if dns_by_fixture else 0), "--no-https",
                        "--listen-address", "127.0.0.1", "--http-port", "0", "--control-port", "0", "--wpcom-port", "0",
                        "--ready-file", f"{self.work}/aux.json", "--log-level", "warn"]
                args += ["--dns-port", "0", "--dns2-port", "0", "--dns-ttl", str(s.dns_ttl), "--dns-ttl-mix", s.ttl_mix] \
                    if dns_by_fixture else ["--no-dns"]
                self.aux = procs.spawn(args, f"{self.out}/fixture-aux.log", s.prefix(0))
                ready = self._wait_ready_file(f"{self.work}/aux.json", self.aux, "aux fixture", 120)
                self.wpcom_port = ready["wpcom"]["port"]
                self.wpcom_control = f"http://127.0.0.1:{ready['control']['port']}"
                if dns_by_fixture:
                    self.dns_servers = [("127.0.0.1", d["port"]) for d in ready["dns"]]
            if not dns_by_fixture:
                self.dns_servers = [("127.0.0.1", self.nginx.dns_port)]
            self.http_port, self.https_port, self.ca_file = self.nginx.http_port, self.nginx.https_port, self.nginx.ca_file
            self.control = None
            self.nginx.wait_ready(lambda name: dns_a(*self.dns_servers[0], name) is not None,
                                  lambda: http_get("127.0.0.1", self.http_port, "site-0000001.fleet.test") == 200)
            if s.stack == "full":
                self.run["notes"].append("notifications go to tidewatch-fixture's WPCOM mock (its fleet disabled)")

    def _wait_ready_file(self, path, proc, name, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} (see {self.out})")
            if os.path.exists(path) and os.path.getsize(path) > 0:
                try:
                    with open(path) as f:
                        return json.load(f)
                except ValueError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start within {timeout} s")

    def fleet_roles(self):
        """Role -> pids of the fleet's processes (what MODE=starve confines)."""
        out = {}
        if self.fixture and self.fixture.poll() is None:
            out["fixture"] = [self.fixture.pid]
        if self.nginx:
            out.update(self.nginx.pids())
        if self.aux and self.aux.poll() is None and self.s.ttl_mix:
            out["fixture-dns"] = [self.aux.pid]
        return out

    def roles(self):
        out = self.fleet_roles()
        if self.aux and self.aux.poll() is None and not self.s.ttl_mix:
            out["fixture-wpcom"] = [self.aux.pid]
        if self.tw and self.tw.poll() is None:
            out["tidewatch"] = [self.tw.pid]
        if self.verifier and self.verifier.poll() is None:
            out["verifier"] = [self.verifier.pid]
        if self.mariadbd_pid:
            out["mariadbd"] = [self.mariadbd_pid]
        return out

    def url(self, i):
        if is_https(self.s, i):
            return f"https://{nginx_fleet.host_name(i)}:{self.https_port}/"
        return f"http://{nginx_fleet.host_name(i)}:{self.http_port}/"

    # -- preflight (scenarios.md §7.2 step 4) ----------------------------------------------
    def preflight(self):
        ids = {1, max(1, self.n // 2), self.n}
        if self.s.https == "mix":  # one site of each scheme at least
            ids |= {next(i for i in range(1, self.n + 1) if not is_https(self.s, i)),
                    next(i for i in range(1, self.n + 1) if is_https(self.s, i))}
        ids = sorted(ids)
        result = []
        for i in ids:
            name = nginx_fleet.host_name(i)
            answer = dns_a(*self.dns_servers[0], name)
            want = nginx_fleet.fleet_address(i)
            https = is_https(self.s, i)
            code = http_get(want, self.https_port if https else self.http_port, name, https, self.ca_file)
            result.append({"id": i, "name": name, "dns": answer, "expected_address": want,
                            "scheme": "https" if https else "http", "status": code})
            if not answer or answer[0] != want or code != 200:
                raise RuntimeError(f"preflight failed for {name}: DNS {answer}, expected {want}, GET {code}")
        self.run["preflight"] = result
        log(f"preflight ok: {', '.join(r['name'] + ' ' + r['scheme'] + ' ttl ' + str(r['dns'][1]) for r in result)}")

    # -- wrk calibration (issue 12) --------------------------------------------------------
    def calibrate(self):
        s = self.s
        if s.wrk_s <= 0:
            self.run["notes"].append("wrk calibration skipped (WRK_S=0)")
            return {}
        res = {}
        targets = [("plain", "http", self.http_port)]
        if s.https != "0":
            targets.append(("https", "https", self.https_port))
        # The server's CPU: the process(es) answering HTTP, not the DNS (wrk dials an address).
        roles = self.fleet_roles()
        server = roles.get("fixture", []) + roles.get("nginx", [])
        addr = nginx_fleet.fleet_address(1)
        for label, scheme, port in targets:
            before = procs.group_sample(server)
            t0 = time.monotonic()
            argv = s.prefix(1) + ["wrk", "-t1", f"-c{s.wrk_conns}", f"-d{s.wrk_s}s", "-H", "Connection: close",
                                  "-H", "Host: wrk-calibration.fleet.test", f"{scheme}://{addr}:{port}/"]
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=procs._die_with_parent)
            text = p.stdout.read().decode(errors="replace")
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            after = procs.group_sample(server)
            m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
            reqs = int(m.group(1)) if m else 0
            errors = re.search(r"Socket errors: (.*)", text)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
            cpu = ru.ru_utime + ru.ru_stime
            srv = (after["cpu_s"] - before["cpu_s"]) if before and after else None
            res[label] = {
                "command": " ".join(argv), "exit_code": p.returncode, "requests": reqs, "wall_s": round(wall, 2),
                "requests_per_s": round(reqs / s.wrk_s, 1) if reqs else None,
                "client_cpu_s": round(cpu, 3), "client_cpu_us_per_request": round(cpu / reqs * 1e6, 1) if reqs else None,
                "server_cpu_s": round(srv, 3) if srv is not None else None,
                "server_cpu_us_per_request": round(srv / reqs * 1e6, 1) if reqs and srv is not None else None,
                "socket_errors": errors.group(1) if errors else None, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
                "output": text,
            }
            log(f"wrk {label}: {reqs} requests, {res[label]['client_cpu_us_per_request']} µs client CPU/request, "
                f"{res[label]['server_cpu_us_per_request']} µs server CPU/request")
            time.sleep(2)  # let the TIME_WAIT burst and the fixture's accept queue settle
        with open(f"{self.out}/wrk.json", "w") as f:
            json.dump(res, f, indent=2)
        return res

    # -- database, verifier, tidewatch config ------------------------------------------------
    def sql(self, query, db="tidewatch"):
        r = subprocess.run(["mariadb", "--no-defaults", "-S", self.sock, "-uroot", "-N", "-B", *([db] if db else []),
                            "-e", query], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"SQL failed: {r.stderr.strip()} ({query[:80]})")
        return r.stdout

    def start_database(self):
        self.db_dir = tempfile.mkdtemp(prefix="twdb.", dir="/tmp")  # short: a socket path fits 108 bytes
        r = subprocess.run(self.s.prefix(0) + [os.path.join(ROOT, "scripts", "mariadb-private"), "start", self.db_dir],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-private start failed: {r.stderr}")
        self.sock = r.stdout.strip().splitlines()[-1]
        with open(os.path.join(self.db_dir, "mysqld.pid")) as f:
            self.mariadbd_pid = int(f.read().strip())
        self.sql("CREATE DATABASE tidewatch", db=None)
        with open(f"{self.out}/migrate.yaml", "w") as f:
            f.write(f'database: {{socket: "{self.sock}", user: root, name: tidewatch}}\n')
        subprocess.run([self.tw_bin, "migrate", "--config", f"{self.out}/migrate.yaml"], check=True,
                       stdout=open(f"{self.out}/migrate.log", "w"), stderr=subprocess.STDOUT)
        t0 = time.time()
        share = self.s.https_share()
        http = f"CONCAT('http://site-', LPAD(seq, 7, '0'), '.fleet.test:{self.http_port}/')"
        https = f"CONCAT('https://site-', LPAD(seq, 7, '0'), '.fleet.test:{self.https_port}/')"
        url = {0: http, 100: https}.get(share, f"IF(seq % 100 < {share}, {https}, {http})")
        self.sql(f"INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, check_interval) "
                 f"SELECT seq, seq, seq % 1000, {url}, {max(1, self.interval // 60)} FROM seq_1_to_{self.n}")
        self.run["seed_s"] = round(time.time() - t0, 1)
        if self.interval % 60:
            self.run["notes"].append(f"STACK=full stores check_interval in minutes: {self.interval} s became "
                                     f"{max(1, self.interval // 60)} min")
        port = procs.free_port()
        token = f"capacity-{random.randrange(1 << 30)}"
        res = "{servers: [" + ", ".join(f'"{a}:{p}"' for a, p in self.dns_servers) + "]}"
        ca = f', ca_file: "{self.ca_file}"' if self.ca_file else ""
        with open(f"{self.out}/verifier.yaml", "w") as f:
            f.write(f'verifier: {{listen: "127.0.0.2:{port}", auth_token: "{token}", vantage_id: capacity-v1, region: loop}}\n'
                    f"probe: {{allow_private_targets: true, source_address: 127.0.0.2{ca}}}\n"
                    f"resolver: {res}\n"
                    'admin: {listen: ""}\n')
        self.verifier = procs.spawn([self.tw_bin, "verifier", "--config", f"{self.out}/verifier.yaml"],
                                    f"{self.out}/verifier.log", self.s.prefix(0))
        self.verifier_conf = (port, token)

    def write_config(self):
        s = self.s
        admin_port = procs.free_port()
        self.admin = f"http://127.0.0.1:{admin_port}"
        res = "{servers: [" + ", ".join(f'"{a}:{p}"' for a, p in self.dns_servers) + "]}"
        probe = "{allow_private_targets: true" + (f', ca_file: "{self.ca_file}"' if self.ca_file else "") + "}"
        lines = []
        if s.stack == "probe":
            if s.https == "mix":
                # One URL pattern cannot mix schemes: the fleet is a file, same ids and names.
                with open(f"{self.work}/fleet.csv", "w") as f:
                    f.write("id,blog_id,url,interval,bucket\n")
                    for i in range(1, self.n + 1):
                        f.write(f"{i},{i},{self.url(i)},{self.interval},{i % 1000}\n")
                source = f'{{type: source.file, path: "{self.work}/fleet.csv"}}'
            else:
                scheme, port = ("https", self.https_port) if s.https == "1" else ("http", self.http_port)
                source = (f'{{type: source.generated, url: "{scheme}://site-%07d.fleet.test:{port}/", count: {self.n}, '
                          f"interval_s: {self.interval}}}")
            lines += ["pipeline:", f"  source: {source}", "  probe: {type: probe.http}",
                      "  sink: [{type: sink.null}, {type: sink.log, only_failures: true}]"]
        else:
            port, token = self.verifier_conf
            lines += [f'database: {{socket: "{self.sock}", user: root, name: tidewatch}}',
                      "pipeline:", "  source: {type: source.mysql}", "  probe: {type: probe.http}", "  sink:",
                      "    - {type: sink.incidents}", "    - {type: sink.mysql_projection}",
                      "    - {type: sink.mysql_history}", "    - {type: sink.log, only_failures: true}",
                      "  notify:",
                      f'    - {{type: notify.wpcom, mode: modern, auth_token: capacity, endpoint: '
                      f'"http://127.0.0.1:{self.wpcom_port}/wpcom/v2/jetpack-monitor/status-change"}}',
                      "verifiers:", f'  - {{name: v1, host: 127.0.0.2, port: {port}, auth_token: "{token}"}}']
        lines += [f"probe: {probe}", f"resolver: {res}", f'admin: {{listen: "127.0.0.1:{admin_port}"}}']
        with open(f"{self.out}/tidewatch.yaml", "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([self.tw_bin, "validate-config", "--config", f"{self.out}/tidewatch.yaml"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"tidewatch validate-config failed:\n{r.stdout}{r.stderr}")

    # -- replay (scenarios.md §8; tidewatch fixture only) ------------------------------------
    def replay_plan(self):
        s = self.s
        if s.fixture != "tidewatch":
            self.run["replay_note"] = "not injected: replay failures exist only with the tidewatch fixture (FIXTURE=nginx)"
            return None
        if self.n < 25:
            self.run["replay_note"] = "not injected: the replay needs at least 25 sites"
            return None
        if self.window < s.replay_offset + s.replay_duration + 1:
            self.run["replay_note"] = (f"not injected: the window ({self.window} s) is shorter than REPLAY_OFFSET + "
                                       f"REPLAY_DURATION ({s.replay_offset} + {s.replay_duration} s)")
            return None
        hosts = [nginx_fleet.host_name(i) for i in sorted(random.Random(8675309).sample(range(1, self.n + 1), 25))]
        self.run["replay_hosts"] = hosts
        self.run["replay_offset_s"], self.run["replay_duration_s"] = s.replay_offset, s.replay_duration
        return {"failures": [{"type": "http_method_status", "host": h, "method": "GET", "status_code": 503,
                              "offset": s.replay_offset, "duration": s.replay_duration} for h in hosts]}

    # -- the window ---------------------------------------------------------------------------
    def sample(self, t, host_prev, tail, udp_inodes):
        roles = self.roles()
        sample = {"t": round(t, 2), "wall": round(time.time(), 3), "procs": {}}
        for role, pids in roles.items():
            p = procs.group_sample(pids)
            if p:
                sample["procs"][role] = p
        h = procs.host_sample()
        busy = procs.host_cpu_busy(host_prev, h) if host_prev else None
        sample["host"] = {"cpu_busy": round(busy, 4) if busy is not None else None,
                          "mem_used": round(1 - h["mem_available"] / h["mem_total"], 4) if h["mem_total"] else None}
        sample["udp"] = procs.udp_snmp()
        drops = procs.udp_socket_drops()
        sample["udp_sockets"] = {}
        for role, inodes in udp_inodes.items():
            mine = [drops[i] for i in inodes if i in drops]
            if mine:
                sample["udp_sockets"][role] = {"drops": sum(d for d, _ in mine), "rx_queue": sum(q for _, q in mine)}
        raw = fetch(f"{self.admin}/status", timeout=3)
        status_json = None
        if raw is not None:
            try:
                status_json = json.loads(raw)
            except ValueError:
                status_json = None
        with open(f"{self.out}/status.jsonl", "a") as f:
            f.write(json.dumps({"t": sample["t"], "status": status_json if status_json is not None else raw}) + "\n")
        merged = dict(tail.poll())
        if isinstance(status_json, dict):
            merged.update({k: v for k, v in status_json.items() if v is not None})
            sample["status_json_keys"] = sorted(status_json)
        sample["status"] = merged
        if self.control and self.https_port:
            st = fetch(f"{self.control}/stats", timeout=2)
            if st:
                try:
                    https = json.loads(st).get("https") or {}
                    sample["fixture_tls"] = {k: https.get(k) for k in ("tls_resumed", "tls_full", "tls_failed")}
                except ValueError:
                    pass
        with open(f"{self.out}/samples.jsonl", "a") as f:
            f.write(json.dumps(sample) + "\n")
        return h

    def fixture_tls(self):
        if not (self.control and self.https_port):
            return None
        st = fetch(f"{self.control}/stats", timeout=5)
        try:
            return json.loads(st).get("https") if st else None
        except ValueError:
            return None

    def udp_owners(self):
        out = {}
        for role, pids in self.roles().items():
            if role in ("tidewatch", "fixture", "dnsmasq", "fixture-dns", "verifier"):
                inodes = set()
                for p in pids:
                    inodes |= procs.socket_inodes(p)
                out[role] = inodes
        return out

    def act(self, what, t):
        s = self.s
        self.run["actions"].append({"t": round(t, 1), "action": what})
        log(f"t={t:.0f}s: {what}")
        if what == "stall":
            os.kill(self.mariadbd_pid, signal.SIGSTOP)
            self.stopped_db = True
        elif what == "resume database":
            os.kill(self.mariadbd_pid, signal.SIGCONT)
            self.stopped_db = False
        elif what == "starve":
            roles = self.fleet_roles()
            self.cgroup = procs.CpuCgroup(f"tidewatch-capacity-{os.getpid()}", s.starve_quota)
            self.cgroup.confine([p for pids in roles.values() for p in pids])
            self.run["confined_roles"] = sorted(roles)
        elif what == "release":
            self.run["cgroup_cpu_stat"] = self.cgroup.throttled()
            self.cgroup.remove()

    def window_loop(self):
        s = self.s
        start = time.monotonic()
        t0_epoch = time.time()
        self.run["window_start_epoch"] = t0_epoch
        schedule = []
        if s.mode == "stall":
            schedule = [(s.stall_at, "stall"), (s.stall_at + s.stall_s, "resume database")]
        elif s.mode == "starve":
            schedule = [(s.starve_at, "starve"), (s.starve_at + s.starve_s, "release")]
        if s.mode != "none":
            self.run["mode_at_s"], self.run["mode_s"] = s.mode_at, s.mode_s
            self.run["stall_rss_cap_mb"] = s.stall_cap_mb
            self.run["starve_quota"] = s.starve_quota
        tail = LogTail(f"{self.out}/tidewatch.log")
        host_prev = None
        next_sample, next_metrics = 0.0, 60.0
        os.makedirs(f"{self.out}/metrics", exist_ok=True)
        last_log = 0.0
        while True:
            t = time.monotonic() - start
            if self.tw.poll() is not None:
                self.run["early_exit"] = f"tidewatch exited with {self.tw.returncode} at t={t:.0f} s"
                log(self.run["early_exit"])
                break
            while schedule and t >= schedule[0][0]:
                self.act(schedule.pop(0)[1], t)
            if t >= next_sample or t >= self.window:
                # c-ares closes idle resolver sockets: find the owners' sockets at each sample
                # (best effort; the machine-wide RcvbufErrors is the figure that counts).
                owners = self.udp_owners()
                host_prev = self.sample(t, host_prev, tail, owners)
                next_sample += s.sample_s
                if t - last_log >= 60 or t >= self.window:
                    st = tail.last
                    log(f"t={t:.0f}s checks/s={st.get('checks_per_s')} required={st.get('required_rate')} "
                        f"tokens={st.get('tokens')}/{st.get('token_max')} lateness_p99={st.get('lateness_p99_s')} "
                        f"age_max={st.get('age_max_s')} stale={st.get('stale_targets')}")
                    last_log = t
            if t >= next_metrics:
                m = fetch(f"{self.admin}/metrics", timeout=5)
                if m:
                    with open(f"{self.out}/metrics/metrics-{int(t):05d}.txt", "w") as f:
                        f.write(m)
                next_metrics += 60
            if t >= self.window:
                break
            wake = min([next_sample, next_metrics, self.window] + [a for a, _ in schedule[:1]])
            time.sleep(max(0.05, min(1.0, wake - (time.monotonic() - start))))
        self.run["window_end_epoch"] = time.time()
        # Anything the schedule did not get to (tidewatch exited early) is undone in cleanup.

    # -- after the window ---------------------------------------------------------------------
    def collect(self):
        s = self.s
        end = self.run["window_end_epoch"]
        if self.control:
            o = fetch(f"{self.control}/observer/summary", timeout=30)
            if o:
                with open(f"{self.out}/observer.json", "w") as f:
                    f.write(o)
            st = fetch(f"{self.control}/stats", timeout=5)
            if st:
                with open(f"{self.out}/fixture-stats.json", "w") as f:
                    f.write(st)
                https = json.loads(st).get("https")
                if https and self.tls_before:
                    self.run["tls_handshakes"] = {
                        k: https.get(f"tls_{k}", 0) - self.tls_before.get(f"tls_{k}", 0) for k in ("resumed", "full", "failed")}
                    self.run["tls_handshakes"]["source"] = "fixture /stats, from tidewatch's start to the window end"
        m = fetch(f"{self.admin}/metrics", timeout=5)
        if m:
            with open(f"{self.out}/metrics/metrics-end.txt", "w") as f:
                f.write(m)
        st = fetch(f"{self.admin}/status", timeout=5)
        if st:
            with open(f"{self.out}/tidewatch-status.json", "w") as f:
                f.write(st)
        log("stopping tidewatch")
        self.run["tidewatch_exit"] = procs.stop(self.tw, timeout=60)
        self.tw = None
        u = procs.udp_snmp()
        self.run["udp"] = {"before": self.udp_before, "after": u,
                           "rcvbuf_errors": u.get("RcvbufErrors", 0) - self.udp_before.get("RcvbufErrors", 0),
                           "in_errors": u.get("InErrors", 0) - self.udp_before.get("InErrors", 0)}
        if self.nginx:
            self.nginx.flush_log()
            log("summarizing the nginx access log")
            with open(self.nginx.access_log(), errors="replace") as f:
                obs = nginx_observer.summarize(f, self.n, self.interval, self.run["window_start_epoch"], end)
            with open(f"{self.out}/observer.json", "w") as f:
                json.dump(obs, f, indent=2)
            if s.https != "0":
                self.run["tls_handshakes"] = dict(obs["tls"], source="nginx $ssl_session_reused (window only)",
                                                  per_minute=[{k: m.get(k, 0) for k in ("minute", "tls_resumed", "tls_full")}
                                                              for m in obs["per_minute"]])
        if s.stack == "full":
            n = fetch(f"{self.wpcom_control}/wpcom/notifications", timeout=10)
            if n:
                try:
                    got = json.loads(n).get("notifications", [])
                    self.run["notifications"] = {"received": len(got),
                                                 "by_status": dict(collections.Counter(str(x.get("status")) for x in got))}
                except ValueError:
                    pass
            self.collect_database()

    def collect_database(self):
        if self.stopped_db:
            os.kill(self.mariadbd_pid, signal.SIGCONT)
            self.stopped_db = False
        rows = self.sql(
            "SELECT e.id, e.blog_id, UNIX_TIMESTAMP(e.started_at), COALESCE(UNIX_TIMESTAMP(MIN(t.changed_at)), 0), "
            "COALESCE(UNIX_TIMESTAMP(e.ended_at), 0), COALESCE(e.resolution_reason, ''), e.check_type, "
            "(SELECT COUNT(*) FROM jetmon_event_transitions x WHERE x.event_id = e.id) "
            "FROM jetmon_events e LEFT JOIN jetmon_event_transitions t ON t.event_id = e.id AND t.severity_after = 4 "
            "GROUP BY e.id")
        events = []
        for line in rows.splitlines():
            p = line.split("\t")
            if len(p) >= 8:
                events.append({"id": int(p[0]), "blog_id": int(p[1]), "started_at": float(p[2]), "down_at": float(p[3]),
                               "ended_at": float(p[4]), "reason": p[5], "check_type": p[6], "transitions": int(p[7])})
        one = lambda q: int(self.sql(q).strip() or 0)
        db = {
            "events": events,
            "projected": one("SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL"),
            "transitions": one("SELECT COUNT(*) FROM jetmon_event_transitions"),
            # Nothing written twice (docs/data-model.md): a key stored twice, the same step
            # of one event twice, or two events of one site and check type.
            "duplicate_transition_keys": one("SELECT COUNT(*) FROM (SELECT idempotency_key FROM jetmon_event_transitions "
                                             "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key HAVING COUNT(*) > 1) d"),
            "duplicate_audit_keys": one("SELECT COUNT(*) FROM (SELECT idempotency_key FROM jetmon_audit_log "
                                        "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key HAVING COUNT(*) > 1) d"),
            "repeated_transitions": one("SELECT COUNT(*) FROM (SELECT event_id FROM jetmon_event_transitions GROUP BY event_id, "
                                        "COALESCE(severity_before, 255), COALESCE(severity_after, 255), COALESCE(state_before, ''), "
                                        "COALESCE(state_after, ''), reason HAVING COUNT(*) > 1) d"),
            "sites_with_several_events": one("SELECT COUNT(*) FROM (SELECT blog_id FROM jetmon_events GROUP BY blog_id, "
                                             "check_type HAVING COUNT(*) > 1) d"),
            "history_rows": one("SELECT COUNT(*) FROM jetmon_check_history"),
        }
        with open(f"{self.out}/db.json", "w") as f:
            json.dump(db, f, indent=2)

    # -- the whole rung -----------------------------------------------------------------------
    def execute(self):
        s = self.s
        self.run["started_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.run["kernel"] = procs.kernel_settings()
        self.run["binaries"] = {b: sha256(b) for b in (self.fixture_bin, self.tw_bin)}
        self.run["git"] = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                         text=True).stdout.strip()
        self.run["command"] = " ".join(sys.argv)
        self.run["env"] = {k: v for k, v in os.environ.items()
                           if k in ("STACK", "FIXTURE", "HTTPS", "HTTPS_PERCENT", "DNS_TTL", "DNS_TTL_MIX", "PIN", "NICE",
                                    "MODE", "STALL_AT", "STALL_S", "STALL_RSS_CAP_MB", "STARVE_AT", "STARVE_S",
                                    "STARVE_QUOTA", "WRK_S", "WRK_CONNECTIONS", "REPLAY_OFFSET", "REPLAY_DURATION",
                                    "SAMPLE_S", "COOLDOWN_S", "LADDER_CONTINUE", "OUT", "KEEP_WORK")}
        if s.pin:
            self.run["notes"].append("PIN=1: a special setup, not what an operator runs (BENCHMARKING.md)")
        if s.nice:
            self.run["notes"].append(f"NICE={s.nice}: a special setup, not what an operator runs")
        try:
            log(f"rung: {self.n} sites, interval {self.interval} s, window {self.window} s -> {self.out}")
            self.start_fleet()
            self.preflight()
            if s.stack == "full":
                self.start_database()
            self.write_config()
            plan = self.replay_plan()
            self.calibrate()
            self.udp_before = procs.udp_snmp()
            self.tls_before = self.fixture_tls()
            if self.control:
                fetch(f"{self.control}/observer/reset", data=json.dumps(
                    {"check_interval_seconds": self.interval, "active_count": self.n}).encode(), timeout=30)
            self.tw = procs.spawn([self.tw_bin, "run", "--config", f"{self.out}/tidewatch.yaml"],
                                  f"{self.out}/tidewatch.log", s.prefix(1))
            if plan:
                fetch(f"{self.control}/failures", data=json.dumps(plan).encode(), timeout=10)
                self.run["replay_start_epoch"] = time.time()
            self.window_loop()
            self.collect()
        except Exception as e:
            self.run["setup_error"] = f"{type(e).__name__}: {e}"
            raise
        finally:
            self.cleanup()
            with open(f"{self.out}/run.json", "w") as f:
                json.dump(self.run, f, indent=2)
        fig = report.render_rung(self.out)
        log(f"rung {self.n}: {'PASS' if fig['pass'] else 'FAIL'} — report {self.out}/capacity.md")
        return fig

    def cleanup(self):
        # Order: undo the disturbances first (a stopped mariadbd holds tidewatch's shutdown:
        # it logs "drained" and then waits on its database sessions), then stop what measures,
        # then what is measured. Nothing may outlive the harness.
        if self.tw is not None:
            log("cleaning up")
        if self.mariadbd_pid and self.stopped_db:
            try:
                os.kill(self.mariadbd_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.stopped_db = False
        if self.cgroup:
            try:
                self.cgroup.remove()
            except OSError as e:
                log(f"cgroup cleanup: {e}")
        procs.stop(self.tw, timeout=60)
        self.tw = None
        procs.stop(self.verifier)
        if self.db_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "mariadb-private"), "stop", self.db_dir],
                           capture_output=True, timeout=120)
            self.mariadbd_pid = None
        if self.nginx:
            self.nginx.stop()
        procs.stop(self.fixture)
        procs.stop(self.aux)
        if not self.s.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            self.run["notes"].append(f"work directory kept: {self.work}")


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv):
    if len(argv) >= 2 and argv[0] == "--report":
        d = argv[1]
        rungs = sorted(os.path.join(d, x) for x in os.listdir(d) if x.startswith("rung-"))
        if rungs:
            rungs.sort(key=lambda p: int(p.rsplit("-", 1)[1]))
            report.render_ladder(d, rungs)
        else:
            report.render_rung(d)
        print(f"{d}/capacity.md")
        return 0
    ladder = None
    if argv and argv[0] == "--ladder":
        if len(argv) < 2:
            raise SystemExit("usage: run.sh --ladder N1,N2,... [interval_s] [window_s] [build-dir]")
        ladder = [int(x) for x in argv[1].split(",") if x.strip()]
        if ladder != sorted(set(ladder)):
            raise SystemExit("run.sh: ladder sizes must be strictly increasing (scenarios.md §7.1)")
        argv = argv[2:]
    elif not argv or not argv[0].isdigit():
        raise SystemExit(__doc__)
    else:
        ladder_n = int(argv[0])
        argv = argv[1:]
    interval = int(argv[0]) if len(argv) > 0 else 300
    window = int(argv[1]) if len(argv) > 1 and argv[1] else None
    build = argv[2] if len(argv) > 2 else "build"
    s = Settings(interval, window, build)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    desc = f"{s.stack}-{s.fixture}" + (f"-https{s.https}" if s.https != "0" else "") + \
           (f"-{s.mode}" if s.mode != "none" else "") + ("-ttlmix" if s.ttl_mix else f"-ttl{s.dns_ttl}")

    # SIGTERM/SIGINT unwind through every finally: nothing is left running.
    def stop_handler(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, stop_handler)
    signal.signal(signal.SIGINT, stop_handler)

    if ladder is None:
        out = os.path.join(s.out_root, f"{stamp}-{s.window()}s-n{ladder_n}-i{interval}-{desc}")
        os.makedirs(out, exist_ok=True)
        fig = Rung(s, ladder_n, out).execute()
        print(f"report: {out}/capacity.md")
        return 0 if fig["pass"] else 1
    root = os.path.join(s.out_root, f"{stamp}-ladder-{'-'.join(str(x) for x in ladder)}-i{interval}-{desc}")
    os.makedirs(root, exist_ok=True)
    dirs, ok = [], True
    for k, n in enumerate(ladder):
        d = os.path.join(root, f"rung-{n}")
        os.makedirs(d, exist_ok=True)
        dirs.append(d)
        try:
            fig = Rung(s, n, d).execute()
        except Exception as e:  # a broken rung is a failed rung; SIGTERM/Ctrl-C still end the ladder
            log(f"rung {n} failed to run: {type(e).__name__}: {e}")
            fig = {"pass": False}
        report.render_ladder(root, dirs)
        ok = ok and fig["pass"]
        if not fig["pass"] and not s.ladder_continue:
            log(f"rung {n} failed: the ladder stops here (LADDER_CONTINUE=1 runs the rest)")
            break
        if k + 1 < len(ladder) and s.cooldown_s > 0:
            log(f"cooldown {s.cooldown_s:g} s")
            time.sleep(s.cooldown_s)
    report.render_ladder(root, dirs)
    print(f"report: {root}/capacity.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
