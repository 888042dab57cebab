"""Helpers shared by scale-bench.py and push-vs-size-chart.py.

Starting a server command on a free loopback port, filling it with groups over HTTP from
several connections, a wrk push load, resident memory, and the host's load (load average
and the CPU time stolen by the hypervisor), which the reports print beside their figures
because the project's machine is shared.
"""
import http.client, math, os, re, shlex, signal, socket, subprocess, threading, time

# A PUT of one SERIES-series gauge family to a random existing group; the same body as the
# fill, so the store keeps its size while it is pushed at. Each group's request is formatted
# once and kept: formatting every request anew took wrk about 6 us of CPU a request (12 us
# against 6, measured 2026-11-28), CPU the server under test shares on a small machine.
LUA_PUSH = r"""
local body = {}
for i=1,%(series)d do body[#body+1] = string.format('bench_metric{idx="%%d"} %%d', i, i) end
local b = "# HELP bench_metric A benchmark gauge.\n# TYPE bench_metric gauge\n" .. table.concat(body, "\n") .. "\n"
local requests = {}
math.randomseed(%(seed)d)
request = function()
  local g = math.random(0, %(groups)d - 1)
  local r = requests[g]
  if r == nil then
    r = wrk.format("PUT", "/metrics/job/bench/instance/i" .. g, {["Content-Type"]="text/plain"}, b)
    requests[g] = r
  end
  return r
end
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def push_body(series):
    lines = ["# HELP bench_metric A benchmark gauge.", "# TYPE bench_metric gauge"]
    lines += [f'bench_metric{{idx="{i}"}} {i}' for i in range(1, series + 1)]
    return ("\n".join(lines) + "\n").encode()


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def server_argv(cmd, tmp, port):
    """The command with {tmp} substituted, listening on port; in memory unless the command
    names --persistence.file itself (Debian's reference defaults it to a file in /var/lib)."""
    argv = shlex.split(cmd.replace("{tmp}", tmp)) + [f"--web.listen-address=127.0.0.1:{port}"]
    if "--persistence.file" not in cmd:
        argv.append("--persistence.file=")
    return argv


def persistence_file(argv):
    for i, a in enumerate(argv):
        if a.startswith("--persistence.file="):
            return a.split("=", 1)[1] or None
        if a == "--persistence.file" and i + 1 < len(argv):
            return argv[i + 1]
    return None


class Server:
    """One server process; start() returns the seconds until /-/ready answered 200."""

    def __init__(self, argv, port, log_path):
        self.argv, self.port, self.log_path = argv, port, log_path
        self.proc = None

    def start(self, timeout_s=600):
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)
        log.close()
        while time.monotonic() - t0 < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/-/ready")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"server not ready after {timeout_s} s")

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def stop(self, timeout_s=120):
        """SIGTERM (a persistent server writes its snapshot); returns the seconds to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t0


def fill(port, groups, series, conns, timeout_s=None):
    """PUTs groups 0..groups-1 from conns connections; returns (seconds, groups pushed,
    non-2xx answers). Stops early, with fewer groups, after timeout_s."""
    payload = push_body(series)
    headers = {"Content-Type": "text/plain"}
    done, failed = [0] * conns, [0] * conns
    deadline = time.monotonic() + timeout_s if timeout_s else None

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for g in range(k, groups, conns):
            if deadline and time.monotonic() > deadline:
                break
            c.request("PUT", f"/metrics/job/bench/instance/i{g}", payload, headers)
            r = c.getresponse()
            r.read()
            done[k] += 1
            failed[k] += r.status >= 300
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, sum(done), sum(failed)


_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * _UNIT_MS[m.group(2)] if m else None


def wrk_push(port, groups, series, seconds, conns, work, seed=42, timeout_s=10):
    """wrk PUTs at random existing groups for `seconds`; rate, latency percentiles
    (wrk --latency) and every kind of failure wrk counts."""
    script = os.path.join(work, f"push-{groups}x{series}.lua")
    with open(script, "w") as f:
        f.write(LUA_PUSH % {"series": series, "groups": groups, "seed": seed})
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", f"--timeout={timeout_s}s", "--latency",
            "-s", script, f"http://127.0.0.1:{port}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120).stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        res[f"p{p}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    res["max_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    res["wrk_output"] = out
    return res


def cpu_times():
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


class HostLoad:
    """Load average at start and end, and the share of CPU time that was busy (all
    processes) and stolen by the hypervisor in between."""

    def __init__(self):
        self.t0 = cpu_times()
        self.load0 = open("/proc/loadavg").read().split()[:3]

    def finish(self):
        t1 = cpu_times()
        d = [b - a for a, b in zip(self.t0, t1)]
        total = sum(d[:8]) or 1  # user nice system idle iowait irq softirq steal
        idle = d[3] + d[4]
        return {"loadavg_start": " ".join(self.load0),
                "loadavg_end": " ".join(open("/proc/loadavg").read().split()[:3]),
                "busy_pct": round(100.0 * (total - idle) / total, 1),
                "nice_pct": round(100.0 * d[1] / total, 1),
                "steal_pct": round(100.0 * d[7] / total, 1)}


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)  # nearest rank
    return v[min(len(v), max(1, math.ceil(p / 100.0 * len(v)))) - 1]
