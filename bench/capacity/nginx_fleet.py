"""FIXTURE=nginx: the fleet as the independent reviewers ran it — nginx with one worker serving
every site and dnsmasq answering every *.fleet.test name — started and stopped in a temporary
directory (no system service, no system configuration read or written).

Names and addresses follow tidewatch-fixture exactly (fixture/fleet.h): site-%07d.fleet.test,
id -> 127.1.x.y with x.y = id mod 256 + 1, so a run against nginx spreads its connections over
the same 256 destination addresses as a run against the fixture.
"""
import os
import signal
import subprocess
import time

import procs

PREFIX, DIGITS, SUFFIX, ZONE = "site-", 7, ".fleet.test", "fleet.test"
BASE_OCTET, ADDRESS_COUNT = 1, 256


def host_name(i):
    return f"{PREFIX}{i:0{DIGITS}d}{SUFFIX}"


def fleet_address(i):
    slot = i % ADDRESS_COUNT + 1
    return f"127.{BASE_OCTET}.{(slot >> 8) & 0xff}.{slot & 0xff}"


# About the fixture's healthy page (~690 bytes, the canary included), so both fleets send the
# monitor the same amount of body.
HEALTHY_PAGE = (
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Welcome</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>"
    "<header><nav><a href=\"/\">Home</a> | <a href=\"/blog/\">Blog</a> | <a href=\"/about/\">About</a> | "
    "<a href=\"/contact/\">Contact</a></nav></header><main><h1>Welcome</h1>"
    "<p>Status: Operational</p><p>This is a healthy page served for a capacity run. It carries the "
    "canary that content checks look for, and about as many bytes as the fixture's page, so that "
    "both fleets cost the monitor the same to read.</p><!-- uptime-bench-canary --></main>"
    "<footer><p>Powered by a loopback fleet.</p></footer></body></html>"
)


def make_certificates(d):
    """A private CA and one wildcard certificate for *.fleet.test (ECDSA P-256, like the
    fixture's). Returns (ca_pem, cert_pem, key_pem)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = os.path.join(d, "site.key"), os.path.join(d, "site.csr"), os.path.join(d, "site.pem")
    ext = os.path.join(d, "site.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda argv: subprocess.run(argv, check=True, capture_output=True)
    run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "30",
         "-subj", "/CN=tidewatch capacity CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN=*.{ZONE}"])
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:*.{ZONE},DNS:{ZONE}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "30", "-extfile", ext])
    return ca, cert, key


def nginx_conf(d, http_port, https_port, cert, key, worker_connections, session_cache_mb):
    tls = ""
    if https_port:
        # Session cache and tickets kept for a day, TLS 1.2 and 1.3: what BENCHMARKING.md's
        # independent HTTPS run used, and what a real host does.
        tls = f"""
    listen 0.0.0.0:{https_port} ssl backlog=4096 default_server;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:capacity:{session_cache_mb}m;
    ssl_session_timeout 1d;
    ssl_session_tickets on;"""
    page = HEALTHY_PAGE.replace("'", "\\'")
    return f"""# Written by bench/capacity (FIXTURE=nginx); lives and dies with one capacity run.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{
  worker_connections {worker_connections};
}}
http {{
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  # One line per request: the observer (nginx_observer.py) needs only these.
  log_format capacity '$host $msec $status $ssl_session_reused';
  access_log {d}/access.log capacity buffer=256k flush=1s;
  server_tokens off;
  server {{
    # The wildcard address, so every 127.x.y.z of the fleet reaches it with one socket per port;
    # peers outside loopback are refused, as the fixture does.
    listen 0.0.0.0:{http_port} backlog=4096 default_server;{tls}
    server_name _;
    allow 127.0.0.0/8;
    deny all;
    location / {{
      default_type text/html;
      return 200 '{page}';
    }}
  }}
}}
"""


class NginxFleet:
    def __init__(self, work, n, https, ttl, log, prefix=()):
        self.work, self.n, self.https, self.ttl, self.log, self.prefix = work, n, https, ttl, log, prefix
        self.nginx = self.dnsmasq = None
        self.http_port = self.https_port = self.dns_port = None
        self.ca_file = None
        self.start_dns = True  # False: the caller serves DNS (the TTL mix comes from the fixture)

    def start(self):
        os.makedirs(os.path.join(self.work, "tmp"), exist_ok=True)
        # dnsmasq drops root for `nobody` after start-up and reads the hosts file then.
        os.chmod(self.work, 0o755)
        t0 = time.time()
        if self.start_dns:
            self._start_dnsmasq()
        cert = key = None
        self.http_port = procs.free_port()
        if self.https:
            self.ca_file, cert, key = make_certificates(self.work)
            self.https_port = procs.free_port()
        # A 1 MB zone holds about 4 000 sessions; TLS 1.2 clients that resume by id need one
        # per site (tickets need none).
        cache_mb = max(1, min(1024, self.n // 4000 + 1))
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(nginx_conf(self.work, self.http_port, self.https_port, cert, key, 16384, cache_mb))
        self.nginx = procs.spawn(["nginx", "-p", self.work, "-e", os.path.join(self.work, "nginx-error.log"),
                                  "-c", os.path.join(self.work, "nginx.conf")],
                                 os.path.join(self.log, "nginx.out"), self.prefix)
        self.hosts_seconds = time.time() - t0
        return self

    def _start_dnsmasq(self):
        hosts = os.path.join(self.work, "fleet.hosts")
        with open(hosts, "w") as f:
            for i in range(1, self.n + 1):
                f.write(f"{fleet_address(i)} {host_name(i)}\n")
        os.chmod(hosts, 0o644)
        self.dns_port = procs.free_port_both()
        conf = os.path.join(self.work, "dnsmasq.conf")
        # Every name under the zone is answered from the hosts file (local=/zone/: nothing is
        # forwarded, unknown names are NXDOMAIN), with one TTL for all (--local-ttl).
        with open(conf, "w") as f:
            f.write(f"""port={self.dns_port}
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
local=/{ZONE}/
addn-hosts={hosts}
local-ttl={self.ttl}
pid-file={self.work}/dnsmasq.pid
log-facility={self.work}/dnsmasq.log
""")
        self.dnsmasq = procs.spawn(["dnsmasq", "--keep-in-foreground", f"--conf-file={conf}"],
                                   os.path.join(self.log, "dnsmasq.out"), self.prefix)

    def wait_ready(self, probe_dns, probe_http, timeout=120):
        """Waits until dnsmasq answers the last site and nginx answers HTTP."""
        deadline = time.time() + timeout
        last = host_name(self.n)
        while time.time() < deadline:
            for p, name in ((self.dnsmasq, "dnsmasq"), (self.nginx, "nginx")):
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode} (see {self.log}/{name}.out)")
            if probe_dns(last) and probe_http():
                self.ready_seconds = time.time() - (deadline - timeout)
                return
            time.sleep(0.2)
        raise RuntimeError("nginx/dnsmasq did not become ready")

    def pids(self):
        """Roles for the sampler: nginx = master + workers, dnsmasq."""
        out = {}
        if self.nginx and self.nginx.poll() is None:
            out["nginx"] = [self.nginx.pid] + procs.children_of(self.nginx.pid)
        if self.dnsmasq and self.dnsmasq.poll() is None:
            out["dnsmasq"] = [self.dnsmasq.pid]
        return out

    def access_log(self):
        return os.path.join(self.work, "access.log")

    def flush_log(self):
        # USR1 reopens the log files, which writes out the buffered lines first.
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGUSR1)
            time.sleep(1.5)

    def stop(self):
        procs.stop(self.nginx)
        procs.stop(self.dnsmasq)
        self.nginx = self.dnsmasq = None
