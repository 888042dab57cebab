#!/usr/bin/env python3
"""Resident memory per stored series of the cairn binary, at a chosen store shape.

Starts the server on a free loopback port (memory only, and with --persistence.file in a
fresh folder), reads VmRSS from /proc once it is ready, fills it over HTTP with GROUPS
groups (PUT /metrics/job/bench/instance/i<g>) of SERIES series each, in bodies shaped like
a client's (HELP and TYPE lines, one gauge family with one label `idx`, values varying),
waits for the resident size to settle and reads it again, then scrapes /metrics once to
check the series count and reads the resident size after the scrape.

Reports, per pushed series (the two timestamp gauges each group gets are not counted):
  grown  = (RSS after fill - RSS at start) / series
  total  = RSS after fill / series

  scripts/memory-per-series.py                       # 10,000 x 100, both modes
  scripts/memory-per-series.py --groups 1000 --mode memory
  scripts/memory-per-series.py --json out.json       # figures for other scripts

The scale benchmark reuses it; keep the output format and the JSON keys stable.
"""
import argparse, http.client, json, os, queue, shutil, subprocess, sys, tempfile
import threading, time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import free_port  # noqa: E402


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def body(group, series):
    lines = ["# HELP bench_metric A benchmark gauge.", "# TYPE bench_metric gauge"]
    lines += [
        f'bench_metric{{idx="{i}"}} {(group * 7919 + i * 31) % 100000 / 8}'
        for i in range(series)
    ]
    return ("\n".join(lines) + "\n").encode()


def wait_ready(port, proc, timeout_secs=30):
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/-/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server not ready")


def fill(port, groups, series, threads):
    todo = queue.Queue()
    for g in range(groups):
        todo.put(g)
    errors = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            try:
                g = todo.get_nowait()
            except queue.Empty:
                return
            c.request(
                "PUT",
                f"/metrics/job/bench/instance/i{g}",
                body=body(g, series),
                headers={"Content-Type": "text/plain"},
            )
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors.append(f"group {g}: {r.status}")
                return

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise RuntimeError("; ".join(errors[:3]))


def settled_rss(pid, secs=2.0):
    """RSS once it stops moving (the log's syncer and the allocator finish their work)."""
    last = rss_bytes(pid)
    for _ in range(20):
        time.sleep(secs / 4)
        now = rss_bytes(pid)
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


def scrape_series(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("GET", "/metrics")
    r = c.getresponse()
    count = 0
    for line in r.read().split(b"\n"):
        if line.startswith(b"bench_metric{"):
            count += 1
    return count


def measure(cmd, groups, series, threads, persistent):
    folder = tempfile.mkdtemp(prefix="cairn-mem-")
    port = free_port()
    args = [cmd, f"--web.listen-address=127.0.0.1:{port}"]
    args.append(f"--persistence.file={folder}/store.data" if persistent else "--persistence.file=")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        start = settled_rss(proc.pid, 0.5)
        began = time.monotonic()
        fill(port, groups, series, threads)
        fill_secs = time.monotonic() - began
        filled = settled_rss(proc.pid)
        seen = scrape_series(port)
        scraped = settled_rss(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    stored = groups * series
    if seen != stored:
        raise RuntimeError(f"scrape shows {seen} series, pushed {stored}")
    return {
        "mode": "persistent" if persistent else "memory",
        "groups": groups,
        "series_per_group": series,
        "series": stored,
        "fill_secs": round(fill_secs, 2),
        "rss_start_bytes": start,
        "rss_filled_bytes": filled,
        "rss_after_scrape_bytes": scraped,
        "grown_bytes_per_series": round((filled - start) / stored, 1),
        "total_bytes_per_series": round(filled / stored, 1),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cmd", default="target/release/cairn")
    p.add_argument("--groups", type=int, default=10_000)
    p.add_argument("--series", type=int, default=100, help="series per group")
    p.add_argument("--threads", type=int, default=8, help="concurrent pushing connections")
    p.add_argument("--mode", choices=["both", "memory", "persistent"], default="both")
    p.add_argument("--json", help="also write the figures to this file")
    a = p.parse_args()
    if not os.path.exists(a.cmd) and shutil.which(a.cmd) is None:
        sys.exit(f"{a.cmd}: not found (cargo build --release -p cairn-cli)")
    modes = {"both": [False, True], "memory": [False], "persistent": [True]}[a.mode]
    results = [measure(a.cmd, a.groups, a.series, a.threads, m) for m in modes]
    mib = 1 << 20
    print(f"{a.groups} groups x {a.series} series = {a.groups * a.series} series")
    print(f"{'mode':<11} {'start MiB':>10} {'filled MiB':>11} {'scraped MiB':>12}"
          f" {'grown B/series':>15} {'total B/series':>15} {'fill s':>7}")
    for r in results:
        print(f"{r['mode']:<11} {r['rss_start_bytes'] / mib:>10.1f} {r['rss_filled_bytes'] / mib:>11.1f}"
              f" {r['rss_after_scrape_bytes'] / mib:>12.1f} {r['grown_bytes_per_series']:>15.1f}"
              f" {r['total_bytes_per_series']:>15.1f} {r['fill_secs']:>7.1f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
