#!/usr/bin/env python3
"""Push throughput against store size, for cairn and the reference Pushgateway: data and chart.

For each server and each store size N (series, in groups of SERIES series), a fresh server
is filled over HTTP with N / SERIES groups, then wrk PUTs a SERIES-series group to random
existing groups from CONNS connections for SECONDS. Writes the figures as JSON and CSV and
draws push/s against store size on log-log axes as an SVG (no plotting library needed):

  scripts/push-vs-size-chart.py --cairn target/release/cairn      # writes docs/push-vs-store-size.*

The reference's checked push grows with the store, so it gets slow at large sizes: each
server has a largest size (--max-series LABEL=N; the checked reference's is 100,000), and
a size whose fill takes longer than --fill-timeout is left out, as are the sizes above it;
the chart says where a line stops and why. Needs wrk (Debian package wrk).
"""
import argparse, csv, json, math, os, sys, tempfile, time
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402

COLOURS = ["#1f5fa8", "#6fa8dc", "#c0392b", "#e69138", "#38761d", "#741b47"]


def measure(label, cmd, sizes, args, work):
    points = []
    for size in sizes:
        groups = max(1, size // args.series)
        port = bu.free_port()
        tmp = tempfile.mkdtemp(dir=work)
        server = bu.Server(bu.server_argv(cmd, tmp, port), port, os.path.join(work, f"server-{port}.log"))
        try:
            server.start()
            fill_s, filled, failed = bu.fill(port, groups, args.series, args.fill_conns, args.fill_timeout)
            if filled < groups:
                print(f"{label}: {size:,} series: fill stopped after {fill_s:.0f} s at {filled:,} of {groups:,} "
                      "groups; no larger sizes", file=sys.stderr)
                points.append({"series": size, "groups": groups, "skipped": True, "fill_s": round(fill_s, 2),
                               "fill_groups": filled})
                break
            load = bu.HostLoad()
            push = bu.wrk_push(port, groups, args.series, args.seconds, args.conns, work)
            host = load.finish()
            point = {"series": size, "groups": groups, "fill_s": round(fill_s, 2), "fill_failed": failed,
                     "push_per_s": push["rps"], "p50_ms": push["p50_ms"], "p99_ms": push["p99_ms"],
                     "non2xx": push["non2xx"], "socket_errors": push["socket_errors"],
                     "rss_kib": server.rss_kib(), **host}
            points.append(point)
            print(f"{label}: {size:>9,} series  fill {fill_s:7.1f} s  {push['rps']:9.1f} push/s  "
                  f"p99 {push['p99_ms']} ms  load {host['loadavg_end']}  steal {host['steal_pct']} %",
                  file=sys.stderr)
        finally:
            server.stop()
    return points


def nice_number(v):
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def svg_chart(lines, notes, title, subtitle):
    """lines: [(label, colour, [(x, y)])] drawn on log-log axes with a decade grid."""
    w, h, left, right, top, bottom = 760, 480, 78, 190, 64, 96
    xs = [x for _, _, pts in lines for x, _ in pts]
    ys = [y for _, _, pts in lines for _, y in pts if y > 0]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    pw, ph = w - left - right, h - top - bottom

    def px(x):
        return left + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (math.log10(y) - y0) / (y1 - y0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
           f'<text x="{left}" y="44" fill="#555">{escape(subtitle)}</text>']
    for d in range(x0, x1 + 1):
        x = px(10 ** d)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 18}" text-anchor="middle">{nice_number(10 ** d)}</text>')
    for d in range(y0, y1 + 1):
        y = py(10 ** d)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{nice_number(10 ** d)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{left + pw / 2}" y="{top + ph + 40}" text-anchor="middle">'
               'series in the store (log scale)</text>')
    out.append(f'<text transform="translate(22 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
               'pushes per second (log scale)</text>')
    label_ys = []
    for label, colour, pts in lines:
        path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>')
        lx, ly = pts[-1]
        y = py(ly) + 4
        while any(abs(y - other) < 15 for other in label_ys):  # keep end labels apart
            y += 15
        label_ys.append(y)
        out.append(f'<text x="{px(lx) + 8:.1f}" y="{y:.1f}" fill="{colour}" font-weight="bold">{escape(label)}</text>')
    for i, note in enumerate(notes):
        out.append(f'<text x="{left}" y="{top + ph + 62 + 16 * i}" fill="#555" font-size="11">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def draw(results, meta, largest, path):
    """The chart of the figures main() measured (or --redraw read back)."""
    lines, notes = [], []
    for i, r in enumerate(results):
        pts = [(p["series"], p["push_per_s"]) for p in r["points"] if not p.get("skipped")]
        if pts:
            lines.append((r["label"], COLOURS[i % len(COLOURS)], pts))
        skipped = [p for p in r["points"] if p.get("skipped")]
        if skipped:
            p = skipped[0]
            notes.append(f"{r['label']}: stops at {pts[-1][0]:,} series; filling {p['series']:,} was given up "
                         f"after {p['fill_s']:.0f} s at {p['fill_groups']:,} of {p['groups']:,} groups.")
        elif r["max_series"] < largest:
            notes.append(f"{r['label']}: measured up to {r['max_series']:,} series; its push cost grows with the "
                         "store, so filling more would take too long.")
    loads = [float(p["loadavg_end"].split()[0]) for r in results for p in r["points"] if "loadavg_end" in p]
    notes.append(f"{meta['seconds']} s of wrk per point; measured {meta['date']} on 2 shared cores, load average "
                 f"{min(loads):.1f} to {max(loads):.1f} (per point in the .csv).")
    with open(path, "w") as f:
        f.write(svg_chart(lines, notes, "Push throughput against store size",
                          f"PUT of {meta['series_per_group']} series to a random existing group, {meta['conns']} connections"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default="target/release/cairn", help="the cairn binary")
    ap.add_argument("--reference", default="/usr/bin/prometheus-pushgateway", help="the reference binary")
    ap.add_argument("--server", action="append", metavar="LABEL=CMD",
                    help="servers to measure (repeatable; default: cairn, cairn with persistence, "
                         "the reference, the reference with its consistency check off)")
    ap.add_argument("--max-series", action="append", default=[], metavar="LABEL=N",
                    help="largest store size for a server")
    ap.add_argument("--sizes", default="100,1000,10000,100000,1000000", help="store sizes, in series")
    ap.add_argument("--series", type=int, default=100, help="series per group, and per push")
    ap.add_argument("--seconds", type=int, default=5, help="wrk run at each size")
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--fill-conns", type=int, default=8)
    ap.add_argument("--fill-timeout", type=float, default=300)
    ap.add_argument("--out", default="docs/push-vs-store-size", help="writes OUT.svg, OUT.json and OUT.csv")
    ap.add_argument("--redraw", action="store_true", help="draw OUT.svg again from OUT.json, measuring nothing")
    args = ap.parse_args()
    if args.redraw:
        with open(args.out + ".json") as f:
            data = json.load(f)
        largest = max(p["series"] for r in data["servers"] for p in r["points"])
        draw(data["servers"], data, largest, args.out + ".svg")
        return

    servers = [s.split("=", 1) for s in args.server] if args.server else [
        ["cairn", args.cairn],
        ["cairn --persistence.file", f"{args.cairn} --persistence.file={{tmp}}/store"],
        ["reference", args.reference],
        ["reference, check off", f"{args.reference} --push.disable-consistency-check"]]
    max_series = {"reference": 100_000}
    max_series.update({k: int(v) for k, v in (m.split("=", 1) for m in args.max_series)})
    sizes = [int(s) for s in args.sizes.split(",")]

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = []
    with tempfile.TemporaryDirectory() as work:
        for label, cmd in servers:
            mine = [s for s in sizes if s <= max_series.get(label, sizes[-1])]
            results.append({"label": label, "cmd": cmd, "max_series": mine[-1],
                            "points": measure(label, cmd, mine, args, work)})

    out_dir = os.path.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    meta = {"date": started, "series_per_group": args.series, "seconds": args.seconds, "conns": args.conns,
            "fill_timeout_s": args.fill_timeout}
    with open(args.out + ".json", "w") as f:
        json.dump({**meta, "servers": results}, f, indent=1)
    with open(args.out + ".csv", "w", newline="") as f:
        cols = ["server", "series", "groups", "fill_s", "push_per_s", "p50_ms", "p99_ms", "non2xx",
                "socket_errors", "rss_kib", "loadavg_end", "busy_pct", "steal_pct", "skipped"]
        wr = csv.DictWriter(f, cols, extrasaction="ignore")
        wr.writeheader()
        for r in results:
            for p in r["points"]:
                wr.writerow({"server": r["label"], **p})

    draw(results, meta, sizes[-1], args.out + ".svg")
    print(f"wrote {args.out}.svg, .json, .csv", file=sys.stderr)


if __name__ == "__main__":
    main()
