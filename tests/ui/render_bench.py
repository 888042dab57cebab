"""How long the web page takes to show many groups in headless Chromium. Reports, never
judges.

    /usr/bin/python3 tests/ui/render_bench.py --cmd target/release/cairn --groups 5000

Pushes `--groups` groups (each: two gauges, a counter with two series and a summary with
three quantiles), then loads the page `--runs` times in a fresh browser and prints, per
load, the time from navigation start to the first frame painted after the cards were built
(the marker the page sets), split into fetching the JSON, building the cards and painting;
then the time a filter takes to apply.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time

from harness import Gateway, browser, open_page

BODY = """\
# HELP batch_last_success_timestamp_seconds When the job last succeeded.
# TYPE batch_last_success_timestamp_seconds gauge
batch_last_success_timestamp_seconds 1.7647e+09
# HELP batch_duration_seconds How long the last run took.
# TYPE batch_duration_seconds gauge
batch_duration_seconds {i}.5
# HELP batch_records_total Records handled by the last run.
# TYPE batch_records_total counter
batch_records_total{{stage="read"}} {i}
batch_records_total{{stage="write"}} {i}
# HELP batch_chunk_bytes Size of the chunks written.
# TYPE batch_chunk_bytes summary
batch_chunk_bytes{{quantile="0.5"}} 4096
batch_chunk_bytes{{quantile="0.9"}} 16384
batch_chunk_bytes{{quantile="0.99"}} 65536
batch_chunk_bytes_sum 1.2e+07
batch_chunk_bytes_count 900
"""


def push_all(gw, groups, threads=4):
    """PUTs `groups` groups over `threads` keep-alive connections."""
    def worker(start):
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        for i in range(start, groups, threads):
            conn.request("PUT", f"{gw.prefix}/metrics/job/batch_{i % 100}/instance/host-{i}",
                         BODY.format(i=i).encode())
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        conn.close()
    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


FILTER = """
const [text, done] = arguments;
const box = document.getElementById('filter');
const started = performance.now();
box.value = text;
box.dispatchEvent(new Event('input'));
// The filter applies on the next frame; the one after it shows the result.
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done({
  ms: performance.now() - started,
  summary: document.getElementById('summary').textContent,
}), 0)));
"""


SHOW_ALL = """
const done = arguments[0];
const started = performance.now();
document.getElementById('more-all').click();
requestAnimationFrame(() => setTimeout(() => done({
  ms: performance.now() - started,
  cards: document.querySelectorAll('details.group').length,
}), 0));
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cmd", default="target/release/cairn")
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    gw = Gateway(args.cmd)
    try:
        started = time.monotonic()
        push_all(gw, args.groups)
        print(f"pushed {args.groups} groups in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        status, body = gw.request("GET", "/api/v1/metrics")
        assert status == 200
        print(f"api/v1/metrics: {len(body) / 1e6:.1f} MB in "
              f"{(time.monotonic() - started) * 1000:.0f} ms (urllib, for reference)")
        totals = []
        for run in range(args.runs):
            driver = browser()
            try:
                t = open_page(driver, gw.url("/"), timeout=120)
                assert t["groups"] == args.groups, t
                totals.append(t["sinceNavigationMs"])
                print(f"run {run + 1}: {t['sinceNavigationMs']:.0f} ms from navigation to "
                      f"cards painted (fetch {t['fetchMs']:.0f}, parse {t['parseMs']:.0f}, "
                      f"model {t['modelMs']:.0f}, build {t['buildMs']:.0f}, "
                      f"paint {t['paintMs']:.0f})")
                if run == 0:
                    driver.set_script_timeout(60)
                    r = driver.execute_async_script(SHOW_ALL)
                    print(f"  'Show all': {r['ms']:.0f} ms until all {r['cards']} cards are "
                          f"in the page and the next frame is painted")
                    for text in ["host-42", "batch_7", ""]:
                        r = driver.execute_async_script(FILTER, text)
                        print(f"  filter {text!r}: {r['ms']:.0f} ms ({r['summary']})")
            finally:
                driver.quit()
        print(f"{args.groups} groups, navigation to cards painted: median "
              f"{statistics.median(totals):.0f} ms, min {min(totals):.0f}, "
              f"max {max(totals):.0f} over {len(totals)} runs")
    finally:
        gw.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
