#!/usr/bin/env python3
"""Scale benchmark: a large store pushed at and scraped at once (run by hand, not in CI).

For each --cmd (started on a free loopback port; "{tmp}" becomes a fresh folder, and a
command without --persistence.file runs in memory):
  1. fill GROUPS groups of SERIES series over HTTP from --fill-conns connections (PUT);
  2. for SECONDS, push with wrk from CONNS connections as fast as the server answers (PUT
     of a SERIES-series group to a random existing group), while a second client scrapes
     the whole /metrics every second, alternately with Accept-Encoding: gzip and plain;
  3. with persistence: stop the server with SIGTERM (it writes its snapshot), restart it on
     the same file, time it until /-/ready answers, and check that the series scraped
     after the restart are the ones scraped before the stop, line for line.
Reports fill time, push rate, latency percentiles and failures, scrape latency and bytes
per encoding, resident memory (VmRSS) and bytes per series, snapshot size, start-up time,
and the host's load while it ran (the machine is shared: read figures with it).

  scripts/scale-bench.py --cmd target/release/cairn \\
      --cmd 'target/release/cairn --persistence.file={tmp}/store' --json scale.json
  scripts/scale-bench.py --cmd target/release/cairn --groups 100 --seconds 10   # quick

Series are counted as the lines of the scrape with a job label: SERIES + 2 per group (each
group's push_time_seconds and push_failure_time_seconds), 1,020,000 at the defaults.
Needs wrk and curl (Debian packages wrk, curl) and Python 3's standard library.
"""
import argparse, hashlib, http.client, json, os, subprocess, sys, tempfile, threading, time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402


def scrape_series(port):
    """(count, digest) of the scrape's lines that carry a job label, in any order."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("GET", "/metrics")
    data = c.getresponse().read()
    c.close()
    lines = sorted(line for line in data.split(b"\n") if b'job="' in line and not line.startswith(b"#"))
    return len(lines), hashlib.sha256(b"\n".join(lines)).hexdigest()


class Scraper(threading.Thread):
    """Scrapes /metrics every interval_s (a scrape that takes longer delays the next one),
    alternating gzip and plain, recording each one's latency and bytes received.

    The scraping client is curl, writing the body to a file (gzip) or /dev/null (plain):
    it shares the two cores with the server and wrk, and a lean client takes the least
    from them. Python's http.client spent 100 ms of CPU reading each plain scrape and
    gzip.decompress 130 ms on each gzip one (measured on this machine, 2026-11-28)."""

    def __init__(self, port, interval_s, work):
        super().__init__(daemon=True)
        self.port, self.interval_s, self.stopping, self.records = port, interval_s, threading.Event(), []
        self.gzip_body = os.path.join(work, f"scrape-{port}.gz")

    def scrape(self, encoding):
        """One scrape with curl: its record. curl times it (time_total, from the start of
        the connection to the body's last byte) and fails on a body cut short."""
        body = self.gzip_body if encoding == "gzip" else os.devnull
        accept = "gzip" if encoding == "gzip" else "identity"
        t0 = time.monotonic()
        run = subprocess.run(
            ["curl", "--silent", "--show-error", "--max-time", "60", "--output", body,
             "--header", f"Accept-Encoding: {accept}",
             "--write-out", "%{http_code} %{size_download} %{time_total} %header{content-encoding}",
             f"http://127.0.0.1:{self.port}/metrics"],
            capture_output=True, text=True)
        fields = run.stdout.split()
        if run.returncode != 0 or len(fields) < 3:
            return {"encoding": encoding, "latency_ms": (time.monotonic() - t0) * 1e3, "bytes": 0,
                    "ok": False, "error": run.stderr.strip() or f"curl exited {run.returncode}", "t": t0}
        status, size, total_s = int(fields[0]), int(fields[1]), float(fields[2])
        content_encoding = fields[3] if len(fields) > 3 else ""
        ok = status == 200 and (encoding == "plain") == (content_encoding == "")
        if ok and encoding == "gzip":
            with open(body, "rb") as f:
                ok = f.read(2) == b"\x1f\x8b"  # a gzip stream; curl checked it arrived whole
        return {"encoding": encoding, "latency_ms": total_s * 1e3, "bytes": size, "ok": ok, "t": t0}

    def run(self):
        k, t_next = 0, time.monotonic()
        while not self.stopping.is_set():
            self.records.append(self.scrape("gzip" if k % 2 == 0 else "plain"))
            k += 1
            t_next += self.interval_s
            self.stopping.wait(max(0.0, t_next - time.monotonic()))
            t_next = max(t_next, time.monotonic() - self.interval_s)  # after an overrun, no burst to catch up


def scrape_stats(records):
    out = {}
    for enc in ("gzip", "plain"):
        rs = [r for r in records if r["encoding"] == enc]
        lat = [r["latency_ms"] for r in rs]
        sizes = [r["bytes"] for r in rs if r["ok"]]
        out[enc] = {"count": len(rs), "failed": sum(not r["ok"] for r in rs),
                    "p50_ms": bu.percentile(lat, 50), "p99_ms": bu.percentile(lat, 99),
                    "max_ms": max(lat) if lat else None,
                    "bytes": round(sum(sizes) / len(sizes)) if sizes else 0}
    return out


def measure(cmd, args, work):
    tmp = tempfile.mkdtemp(dir=work)
    port = bu.free_port()
    argv = bu.server_argv(cmd, tmp, port)
    pfile = bu.persistence_file(argv)
    server = bu.Server(argv, port, os.path.join(work, f"server-{port}.log"))
    res = {"cmd": cmd, "groups": args.groups, "series_per_group": args.series, "persistent": bool(pfile)}
    try:
        server.start()
        time.sleep(0.5)
        res["rss_start_kib"] = server.rss_kib()
        print(f"[{cmd}] filling {args.groups} x {args.series} ...", file=sys.stderr)
        fill_s, filled, failed = bu.fill(port, args.groups, args.series, args.fill_conns, args.fill_timeout)
        res.update(fill_s=fill_s, fill_groups=filled, fill_failed=failed,
                   fill_complete=filled == args.groups)
        if filled < args.groups:
            res["rss_fill_kib"] = server.rss_kib()
            print(f"[{cmd}] fill stopped after {fill_s:.0f} s at {filled} groups", file=sys.stderr)
            return res
        res["series"], _ = scrape_series(port)
        res["rss_fill_kib"] = server.rss_kib()

        print(f"[{cmd}] pushing for {args.seconds} s" + (" while scraping" if args.scrape_interval > 0 else "")
              + " ...", file=sys.stderr)
        load = bu.HostLoad()
        scraper = Scraper(port, args.scrape_interval, work)
        if args.scrape_interval > 0:
            scraper.start()
        push = bu.wrk_push(port, args.groups, args.series, args.seconds, args.conns, work)
        scraper.stopping.set()
        if scraper.is_alive():
            scraper.join()
        res["host"] = load.finish()
        res["push"] = {k: v for k, v in push.items() if k != "wrk_output"}
        res["scrape"] = scrape_stats(scraper.records)
        res["rss_end_kib"] = server.rss_kib()
        res["series_end"], digest = scrape_series(port)
        for key in ("fill", "end"):
            rss = res[f"rss_{key}_kib"] * 1024
            res[f"bytes_per_series_{key}"] = rss / res["series"]
            res[f"bytes_per_series_{key}_above_start"] = (rss - res["rss_start_kib"] * 1024) / res["series"]

        if pfile:
            print(f"[{cmd}] stopping, restarting from the snapshot ...", file=sys.stderr)
            res["shutdown_s"] = server.stop()
            res["snapshot_bytes"] = os.path.getsize(pfile) if os.path.exists(pfile) else None
            wal = pfile + ".wal"
            res["wal_bytes_after_stop"] = os.path.getsize(wal) if os.path.exists(wal) else None
            res["startup_s"] = server.start()
            res["rss_restart_kib"] = server.rss_kib()
            res["series_restart"], digest_restart = scrape_series(port)
            res["restart_same_series"] = digest_restart == digest
        return res
    finally:
        server.stop()


def fmt(v, spec=",.0f"):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def report(results):
    rows = [("fill time, s", lambda r: fmt(r.get("fill_s"), ".1f")),
            ("groups filled / failed", lambda r: f"{r['fill_groups']:,} / {r['fill_failed']}"),
            ("series (job= lines)", lambda r: fmt(r.get("series"))),
            ("push/s", lambda r: fmt(r.get("push", {}).get("rps"))),
            ("push p50 / p90 / p99 / max, ms", lambda r: " / ".join(
                fmt(r.get("push", {}).get(k), ".2f") for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"))),
            ("pushes non-2xx / socket errors", lambda r: "-" if "push" not in r else
                f"{r['push']['non2xx']} / {r['push']['socket_errors']}")]
    for enc in ("plain", "gzip"):
        rows += [(f"scrape {enc}: n, p50 / p99 / max ms", lambda r, e=enc: "-" if "scrape" not in r else
                  f"{r['scrape'][e]['count']}, " + " / ".join(fmt(r["scrape"][e][k]) for k in ("p50_ms", "p99_ms", "max_ms"))),
                 (f"scrape {enc}: bytes, failed", lambda r, e=enc: "-" if "scrape" not in r else
                  f"{r['scrape'][e]['bytes']:,}, {r['scrape'][e]['failed']}")]
    rows += [("RSS start / after fill / end, MiB", lambda r: " / ".join(
                fmt(r.get(k, 0) / 1024 if k in r else None, ".1f") for k in ("rss_start_kib", "rss_fill_kib", "rss_end_kib"))),
             ("bytes/series after fill (above start)", lambda r: f"{fmt(r.get('bytes_per_series_fill'))} ({fmt(r.get('bytes_per_series_fill_above_start'))})"),
             ("bytes/series at end (above start)", lambda r: f"{fmt(r.get('bytes_per_series_end'))} ({fmt(r.get('bytes_per_series_end_above_start'))})"),
             ("shutdown (snapshot written), s", lambda r: fmt(r.get("shutdown_s"), ".2f")),
             ("snapshot bytes (WAL after stop)", lambda r: "-" if r.get("snapshot_bytes") is None else
                f"{r['snapshot_bytes']:,} ({fmt(r.get('wal_bytes_after_stop'))})"),
             ("start-up from snapshot to /-/ready, s", lambda r: fmt(r.get("startup_s"), ".2f")),
             ("RSS after restart, MiB", lambda r: fmt(r["rss_restart_kib"] / 1024 if "rss_restart_kib" in r else None, ".1f")),
             ("series after restart, same lines", lambda r: "-" if "series_restart" not in r else
                f"{r['series_restart']:,}, {fmt(r['restart_same_series'])}"),
             ("load avg start -> end", lambda r: "-" if "host" not in r else
                f"{r['host']['loadavg_start']} -> {r['host']['loadavg_end']}"),
             ("CPU busy / nice / steal %", lambda r: "-" if "host" not in r else
                f"{r['host']['busy_pct']} / {r['host']['nice_pct']} / {r['host']['steal_pct']}")]
    width = max(len(name) for name, _ in rows)
    cols = [r["cmd"][-44:] for r in results]
    colw = max(38, *(len(c) for c in cols))
    print(f"{'':{width}}  " + "  ".join(f"{c:>{colw}}" for c in cols))
    for name, get in rows:
        print(f"{name:{width}}  " + "  ".join(f"{get(r):>{colw}}" for r in results))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmd", action="append", required=True, help="server command (repeatable)")
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--series", type=int, default=100, help="series per group")
    ap.add_argument("--seconds", type=int, default=60, help="length of the push and scrape phase")
    ap.add_argument("--conns", type=int, default=8, help="wrk's push connections")
    ap.add_argument("--scrape-interval", type=float, default=1.0,
                    help="seconds between the starts of two scrapes; 0 pushes without scraping")
    ap.add_argument("--fill-conns", type=int, default=8, help="connections filling the store")
    ap.add_argument("--fill-timeout", type=float, default=1800,
                    help="give up filling after this many seconds (the server is then reported with what it took)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = [measure(c, args, work) for c in args.cmd]
    print(f"groups={args.groups:,} series/group={args.series} push conns={args.conns} seconds={args.seconds}")
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
