#!/usr/bin/env python3
"""Hostile clients against the release binary on loopback, while a well-behaved client
pushes and scrapes.

Attacks, all at once: 2,000 idle connections, slow-loris headers (a byte a second), a gzip
body expanding to 1 GiB, a 100 MB body, invalid UTF-8, NUL bytes, a series with 10,000
labels, truncated protobuf. Checked:
- every attack gets a 4xx or has its connection closed by the server;
- the well-behaved client's pushes and scrapes all succeed, with p99 under 100 ms, during
  the attacks and after them;
- the server's resident memory stays under RSS_BOUND_MIB (sampled every 50 ms);
- the data stored before the attacks is intact afterwards.

  python3 tests/hostile/hostile_test.py --cmd target/release/cairn
"""
import argparse
import http.client
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

# Worst case by the default caps: one body of 64 MiB as received
# (--push.max-body-bytes) and one of 256 MiB decompressed (--push.max-decompressed-bytes)
# in flight at once, plus the idle connections and the store.
RSS_BOUND_MIB = 512
IDLE_CONNECTIONS = 2000
SLOW_LORIS = 100
HEADER_TIMEOUT_S = 3

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL: {message}", file=sys.stderr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def request(port, method, path, body=b"", headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def stored(port):
    status, body = request(port, "GET", "/metrics")
    assert status == 200, status
    return sorted(l for l in body.decode().splitlines()
                  if 'job="kept' in l and not l.startswith("push_"))


class Normal(threading.Thread):
    """The well-behaved client: a push, then a scrape, again and again, on fresh
    connections, recording each latency."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.latencies = []
        self.errors = []
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            for method, path, body in [
                ("PUT", f"/metrics/job/normal/instance/n{i % 10}", b"normal_rows 1\n"),
                ("GET", "/metrics", b""),
            ]:
                start = time.perf_counter()
                try:
                    status, _ = request(self.port, method, path, body, timeout=10)
                except OSError as err:
                    status = repr(err)
                self.latencies.append(time.perf_counter() - start)
                if status != 200:
                    self.errors.append(f"{method} {path}: {status}")
            i += 1
            time.sleep(0.01)

    def p99_ms(self):
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99)] * 1000 if ordered else float("nan")


def expect_4xx(name, port, method, path, body, headers=None):
    try:
        status, reply = request(port, method, path, body, headers, timeout=60)
    except (ConnectionError, OSError) as err:
        # The server may answer and close before the whole body is sent.
        print(f"  {name}: connection closed by the server ({type(err).__name__})")
        return
    if 400 <= status < 500:
        print(f"  {name}: {status} {reply[:100]!r}")
    else:
        fail(f"{name}: expected a 4xx, got {status} {reply[:200]!r}")


def gzip_bomb(expanded_bytes):
    """A gzip body of `expanded_bytes` zeros (about 1 MB per GiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(expanded_bytes >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def truncated_protobuf():
    """A length-delimited MetricFamily whose length promises more than is sent."""
    name = b"truncated_total"
    family = b"\x0a" + varint(len(name)) + name + b"\x10\x00"  # name, type COUNTER
    metric = b"\x1a" + varint(20) + b"\x1a\x09\x09" + struct.pack("<d", 1.0)  # cut short
    message = family + metric
    return varint(len(message) + 40) + message


def big_body(total):
    line = b"big_metric{a=\"" + b"x" * 100 + b"\"} 1\n"
    return line * (total // len(line))


def idle_connections(port, count, opened, release):
    sockets = []
    for _ in range(count):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError as err:
            fail(f"opening idle connection {len(sockets)}: {err}")
            break
    opened.append(len(sockets))
    release.wait()
    closed = 0
    for s in sockets:
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                closed += 1
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            closed += 1
        s.close()
    opened.append(closed)


def slow_loris(port, count, results):
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    start = time.time()
    header = b"PUT /metrics/job/loris HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60
    open_ = list(sockets)
    i = 0
    while open_ and time.time() - start < HEADER_TIMEOUT_S + 10:
        still = []
        for s in open_:
            try:
                s.sendall(header[i:i + 1] if i < len(header) else b"b")
                still.append(s)
            except OSError:
                s.close()
        open_ = still
        i += 1
        time.sleep(1)
    results.append((count - len(open_), time.time() - start))
    for s in open_:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmd", default="target/release/cairn")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < IDLE_CONNECTIONS + 500:
        raise SystemExit(f"the open-file limit ({hard}) is too low for {IDLE_CONNECTIONS} connections")

    port = free_port()
    proc = subprocess.Popen(
        [os.path.abspath(args.cmd), f"--web.listen-address=127.0.0.1:{port}",
         f"--web.header-timeout={HEADER_TIMEOUT_S}s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("cairn did not start")
                time.sleep(0.05)
        run(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        sys.exit(1)
    print("hostile clients: all checks passed")


def run(port, proc):
    for g in range(50):
        body = "".join(f'kept_value{{series="{s}"}} {g * 100 + s}\n' for s in range(20)).encode()
        status, _ = request(port, "PUT", f"/metrics/job/kept/instance/i{g}", body)
        assert status == 200, status
    before = stored(port)
    assert len(before) == 50 * 20, len(before)

    peak = [0.0]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], rss_mib(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    normal = Normal(port)
    normal.start()
    time.sleep(1)

    idle_state, release = [], threading.Event()
    idle = threading.Thread(target=idle_connections,
                            args=(port, IDLE_CONNECTIONS, idle_state, release), daemon=True)
    idle.start()
    loris_results = []
    loris = threading.Thread(target=slow_loris, args=(port, SLOW_LORIS, loris_results), daemon=True)
    loris.start()

    bomb = gzip_bomb(1 << 30)
    print(f"  gzip bomb: {len(bomb)} bytes expanding to 1 GiB")
    labels = ",".join(f'l{i}="v"' for i in range(10_000))
    attacks = [
        ("gzip bomb", "PUT", "/metrics/job/bomb", bomb, {"Content-Encoding": "gzip"}),
        ("100 MB body", "PUT", "/metrics/job/big", big_body(100_000_000), None),
        ("invalid UTF-8", "PUT", "/metrics/job/utf8", b'bad{a="\xff\xfe"} 1\n', None),
        ("NUL bytes", "PUT", "/metrics/job/nul", b"nul\x00metric 1\n", None),
        ("10,000-label series", "PUT", "/metrics/job/labels", f"wide{{{labels}}} 1\n".encode(), None),
        ("truncated protobuf", "PUT", "/metrics/job/proto", truncated_protobuf(),
         {"Content-Type": "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"}),
        ("invalid UTF-8 in the path", "PUT", "/metrics/job/%ff%fe", b"x 1\n", None),
    ]
    threads = [threading.Thread(target=expect_4xx, args=(name, port, *rest), daemon=True)
               for name, *rest in attacks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    loris.join(timeout=60)
    while not idle_state and idle.is_alive():
        time.sleep(0.1)
    during = normal.p99_ms()
    count_during = len(normal.latencies)

    if loris_results:
        closed, seconds = loris_results[0]
        print(f"  slow loris: {closed} of {SLOW_LORIS} connections closed by the server within {seconds:.1f} s")
        if closed != SLOW_LORIS:
            fail(f"slow loris: only {closed} of {SLOW_LORIS} connections were closed")
    else:
        fail("slow loris did not finish")
    opened = idle_state[0] if idle_state else 0
    print(f"  idle connections: {opened} opened")
    if opened < IDLE_CONNECTIONS:
        fail(f"only {opened} idle connections opened")
    time.sleep(HEADER_TIMEOUT_S + 1)
    release.set()
    idle.join(timeout=60)
    if len(idle_state) > 1:
        print(f"  idle connections: {idle_state[1]} closed by the server after the header timeout")
        if idle_state[1] != opened:
            fail(f"{opened - idle_state[1]} idle connections were still open after the header timeout")

    time.sleep(2)
    normal.stop.set()
    normal.join(timeout=30)
    sampling.set()
    sampler.join()
    after = normal.p99_ms()
    print(f"  well-behaved client: {len(normal.latencies)} requests ({count_during} during the attacks), "
          f"p99 {during:.1f} ms during, {after:.1f} ms overall, {len(normal.errors)} errors")
    if normal.errors:
        fail(f"well-behaved client errors: {normal.errors[:5]}")
    if during >= 100 or after >= 100:
        fail(f"well-behaved client p99 {during:.1f} / {after:.1f} ms, not under 100 ms")
    print(f"  peak resident memory: {peak[0]:.0f} MiB (bound {RSS_BOUND_MIB} MiB)")
    if peak[0] >= RSS_BOUND_MIB:
        fail(f"peak resident memory {peak[0]:.0f} MiB over the bound of {RSS_BOUND_MIB} MiB")
    if stored(port) != before:
        fail("the data stored before the attacks changed")
    else:
        print(f"  stored data intact: {len(before)} series")
    for job in ["bomb", "big", "utf8", "nul", "labels", "proto", "loris"]:
        if f'job="{job}"' in request(port, "GET", "/metrics")[1].decode():
            fail(f"the refused push of job {job} was stored")


if __name__ == "__main__":
    main()
