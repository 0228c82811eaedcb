"""Processes and the kernel's counters for the capacity harness.

Everything here reads /proc or /sys directly (no psutil on these machines) and is cheap enough
to run every 15 s beside a monitor at full load: one stat, one status and one fd listing per
measured process, /proc/stat, /proc/meminfo and /proc/net/snmp for the host.
"""
import ctypes
import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # A harness killed by SIGKILL must not leave a fleet or a daemon running on a shared machine.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv, log_path, prefix=(), env=None, cwd=None):
    """Starts argv (behind `prefix`, e.g. taskset/nice, which exec into it) with stdout and
    stderr to log_path; the child gets SIGTERM if the harness dies."""
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(list(prefix) + list(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, env=env, cwd=cwd)
    finally:
        log.close()


def stop(proc, timeout=20.0, sig=signal.SIGTERM):
    """Signals a Popen (if still running) and waits; SIGKILL after `timeout`. Returns the code."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(5)
    return proc.returncode


def free_port(kind=socket.SOCK_STREAM):
    """A port the kernel just handed out on 127.0.0.1 (closed again: a small race we accept for
    servers that cannot report the port they bound, such as nginx and dnsmasq)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_port_both():
    """A port free for TCP and UDP alike (dnsmasq binds both)."""
    for _ in range(50):
        p = free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no free port for TCP and UDP")


def children_of(pid):
    """PIDs whose parent is `pid` (nginx's workers)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def proc_sample(pid):
    """{cpu_s, rss_bytes, fds, threads} of one process, or None if it is gone. CPU is the
    process's own utime+stime (all threads), the figure BENCHMARKING.md asks for."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3 of stat): utime/stime are fields 14/15, threads 20.
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        threads = int(fields[17])
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    break
        try:
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            fds = None
        return {"cpu_s": cpu, "rss_bytes": rss, "fds": fds, "threads": threads}
    except (OSError, IndexError, ValueError):
        return None


def group_sample(pids):
    """The sum over several processes (nginx master + worker; one role = one line)."""
    total = None
    for pid in pids:
        s = proc_sample(pid)
        if s is None:
            continue
        if total is None:
            total = dict(s)
        else:
            for k in ("cpu_s", "rss_bytes", "fds", "threads"):
                total[k] = (total[k] or 0) + (s[k] or 0)
    return total


def host_sample():
    """Idle ticks of all CPUs and memory use. Host CPU is derived from idle only: the per-field
    busy ticks of /proc/stat are unreliable on this VM (BENCHMARKING.md)."""
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    idle = int(cpu[4])
    mem = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            mem[k] = int(v.split()[0]) * 1024
    return {"idle_ticks": idle, "mono": time.monotonic(),
            "mem_total": mem.get("MemTotal", 0), "mem_available": mem.get("MemAvailable", 0)}


def host_cpu_busy(prev, cur):
    """1 − idle / (cores × wall) between two host samples, as a fraction of the machine."""
    wall = cur["mono"] - prev["mono"]
    if wall <= 0:
        return None
    idle = (cur["idle_ticks"] - prev["idle_ticks"]) / CLK_TCK
    return max(0.0, min(1.0, 1.0 - idle / (NCPU * wall)))


def udp_snmp():
    """The Udp: counters of /proc/net/snmp (InErrors, RcvbufErrors, …) by name."""
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Udp:")]
    if len(lines) < 2:
        return {}
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


def socket_inodes(pid):
    """Inodes of every socket `pid` holds (to attribute /proc/net/udp drops to a process)."""
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(int(link[8:-1]))
    except OSError:
        pass
    return out


def udp_socket_drops():
    """inode -> (drops, rx_queue bytes) for every UDP socket of this network namespace."""
    out = {}
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if len(p) < 13:
                        continue
                    rx = int(p[4].split(":")[1], 16)
                    out[int(p[9])] = (int(p[12]), rx)
        except OSError:
            continue
    return out


def kernel_settings():
    """The settings scenarios.md §11 asks every report to record."""
    keys = ["net/core/rmem_max", "net/core/rmem_default", "net/core/somaxconn", "net/ipv4/tcp_tw_reuse",
            "net/ipv4/ip_local_port_range", "net/ipv4/tcp_max_tw_buckets", "net/ipv4/tcp_max_syn_backlog",
            "net/core/netdev_max_backlog", "fs/file-max"]
    out = {}
    for k in keys:
        try:
            with open(f"/proc/sys/{k}") as f:
                out[k.replace("/", ".")] = " ".join(f.read().split())
        except OSError:
            out[k.replace("/", ".")] = None
    import resource
    out["ulimit_nofile"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
    out["cpus"] = NCPU
    try:
        with open("/proc/loadavg") as f:
            out["loadavg_at_start"] = f.read().split()[:3]
    except OSError:
        pass
    return out


class CpuCgroup:
    """A cgroup v1 `cpu` group that confines processes to a CPU quota (MODE=starve). Processes
    go back to the cgroup they came from on release(); remove() deletes the group. Both are
    idempotent so the harness's cleanup can call them whatever happened before."""

    ROOT = "/sys/fs/cgroup/cpu"

    def __init__(self, name, quota_percent, period_us=100000):
        self.path = os.path.join(self.ROOT, name)
        self.quota_us = max(1000, int(period_us * quota_percent / 100.0))
        self.period_us = period_us
        self.origin = {}  # pid -> cgroup path it came from
        self.created = False

    @classmethod
    def available(cls):
        return os.path.exists(os.path.join(cls.ROOT, "cgroup.procs")) and os.access(cls.ROOT, os.W_OK)

    @staticmethod
    def _current(pid):
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "cpu" in controllers.split(","):
                    return path
        return "/"

    def confine(self, pids):
        os.makedirs(self.path, exist_ok=True)
        self.created = True
        with open(os.path.join(self.path, "cpu.cfs_period_us"), "w") as f:
            f.write(str(self.period_us))
        with open(os.path.join(self.path, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(self.quota_us))
        for pid in pids:
            self.origin[pid] = self._current(pid)
            # cgroup.procs moves every thread of the process (tasks would move one).
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def release(self):
        for pid, origin in list(self.origin.items()):
            try:
                with open(os.path.join(self.ROOT + origin.rstrip("/"), "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                pass  # the process is gone
            del self.origin[pid]

    def remove(self):
        self.release()
        if self.created and os.path.isdir(self.path):
            # Threads created after confine() land here too; move whatever is left out first.
            try:
                with open(os.path.join(self.path, "cgroup.procs")) as f:
                    left = [l.strip() for l in f if l.strip()]
                for pid in left:
                    with open(os.path.join(self.ROOT, "cgroup.procs"), "w") as f:
                        f.write(pid)
            except OSError:
                pass
            for _ in range(50):
                try:
                    os.rmdir(self.path)
                    break
                except OSError:
                    time.sleep(0.1)
        self.created = os.path.isdir(self.path)

    def throttled(self):
        """cpu.stat of the group: nr_periods, nr_throttled, throttled_time (ns)."""
        out = {}
        try:
            with open(os.path.join(self.path, "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    out[k] = int(v)
        except OSError:
            pass
        return out
