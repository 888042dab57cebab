#!/usr/bin/env python3
"""End-to-end test of --web.config.file with real clients: curl and Python requests over
TLS, with a CA, server and client certificates made here with openssl.

Checks: pushes and scrapes over TLS with basic auth, with and without a client
certificate; refused: a wrong password, no password, an unknown user, plain HTTP to the TLS
port, an untrusted client certificate, a certificate without an allowed SAN; a refused
request changes nothing stored; a renewed certificate is served without a restart; the
admin and lifecycle endpoints stay off without their flags, with auth too; over the rate
limit is a 429.

  python3 tests/web/webconfig_test.py --cmd target/release/cairn
"""
import argparse
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import requests

PASSED = 0


def check(condition, what):
    global PASSED
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    PASSED += 1
    print(f"ok   {what}")


def run(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, **kw)


class Pki:
    """A CA with server and client certificates, in a directory."""

    def __init__(self, dir):
        self.dir = dir
        self.ca("ca", "e2e CA")
        self.ca("other-ca", "e2e untrusted CA")
        self.leaf("server", "ca", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.leaf("client", "ca", "pusher", "subjectAltName=DNS:pusher.example")
        self.leaf("nosan", "ca", "pusher", "subjectAltName=DNS:someone.example")
        self.leaf("stranger", "other-ca", "pusher", "subjectAltName=DNS:pusher.example")

    def path(self, name):
        return os.path.join(self.dir, name)

    def key(self, name):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", self.path(name + ".key"))

    def ca(self, name, subject):
        self.key(name)
        run("openssl", "req", "-x509", "-new", "-key", self.path(name + ".key"),
            "-out", self.path(name + ".crt"), "-days", "2", "-subj", f"/CN={subject}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, ca, subject, san, out=None):
        out = out or name
        self.key(out)
        ext = self.path(out + ".ext")
        with open(ext, "w") as f:
            f.write(san + "\n")
        run("openssl", "req", "-new", "-key", self.path(out + ".key"), "-out",
            self.path(out + ".csr"), "-subj", f"/CN={subject}")
        run("openssl", "x509", "-req", "-in", self.path(out + ".csr"), "-CA",
            self.path(ca + ".crt"), "-CAkey", self.path(ca + ".key"), "-CAcreateserial",
            "-out", self.path(out + ".crt"), "-days", "2", "-extfile", ext)

    def der(self, name):
        return run("openssl", "x509", "-in", self.path(name + ".crt"), "-outform", "DER").stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Gateway:
    def __init__(self, cmd, config, *flags):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [cmd, f"--web.listen-address=127.0.0.1:{self.port}", f"--web.config.file={config}",
             *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"cairn exited: {self.proc.stderr.read()}")
                time.sleep(0.05)
        raise SystemExit("cairn did not start listening")

    def url(self, path, scheme="https"):
        return f"{scheme}://localhost:{self.port}{path}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmd", default="target/release/cairn")
    args = ap.parse_args()
    cmd = os.path.abspath(args.cmd)
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki(tmp)
        ca = pki.path("ca.crt")
        hashed = run(cmd, "hash-password", "--cost", "6", input=b"s3cret\n").stdout.decode().strip()
        check(hashed.startswith("$2b$06$"), "cairn hash-password makes a bcrypt hash")
        config = os.path.join(tmp, "web.yml")
        with open(config, "w") as f:
            f.write(f"""tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: VerifyClientCertIfGiven
  client_ca_file: ca.crt
  client_allowed_sans: [pusher.example]
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: {hashed}
""")
        gw = Gateway(cmd, config)
        try:
            exercise(gw, pki, ca, cmd, tmp)
        finally:
            gw.stop()
        check(gw.proc.returncode == 0, "cairn stops cleanly on SIGTERM")
        admin_and_rate_limit(cmd, tmp, hashed)
    print(f"{PASSED} passed")


def stored(gw, ca):
    r = requests.get(gw.url("/metrics"), auth=("alice", "s3cret"), verify=ca, timeout=10)
    assert r.status_code == 200, r.status_code
    return "\n".join(l for l in r.text.splitlines() if 'job="' in l)


def exercise(gw, pki, ca, cmd, tmp):
    alice = ("alice", "s3cret")
    r = requests.put(gw.url("/metrics/job/py/instance/a"), data="rows 1\n", auth=alice, verify=ca)
    check(r.status_code == 200, "requests: push over TLS with basic auth")
    check(r.headers.get("X-Frame-Options") == "deny", "configured header is sent")
    r = requests.put(gw.url("/metrics/job/py/instance/cert"), data="rows 2\n", auth=alice,
                     verify=ca, cert=(pki.path("client.crt"), pki.path("client.key")))
    check(r.status_code == 200, "requests: push with a trusted client certificate")
    out = subprocess.run(
        ["curl", "-sS", "--cacert", ca, "-u", "alice:s3cret", "--data-binary", "@-",
         "-o", "/dev/null", "-w", "%{http_code}", gw.url("/metrics/job/curl")],
        input=b"rows 3\n", capture_output=True)
    check(out.stdout == b"200", f"curl: push over TLS (got {out.stdout!r} {out.stderr!r})")
    out = subprocess.run(
        ["curl", "-sS", "--cacert", ca, "-u", "alice:s3cret", "--cert", pki.path("client.crt"),
         "--key", pki.path("client.key"), gw.url("/metrics")], capture_output=True)
    check(out.returncode == 0 and b'rows{instance="",job="curl"} 3' in out.stdout,
          "curl: scrape over TLS with a client certificate")

    before = stored(gw, ca)
    check("rows" in before, "three groups stored")

    def refused_push(what, **kw):
        kw.setdefault("verify", ca)
        try:
            r = requests.put(gw.url("/metrics/job/refused"), data="rows 99\n", timeout=10, **kw)
            status = r.status_code
        except (requests.exceptions.SSLError, requests.exceptions.ConnectionError) as err:
            status = type(err).__name__
        return status

    for what, kw, want in [
        ("a wrong password", {"auth": ("alice", "wrong")}, 401),
        ("no password", {}, 401),
        ("an unknown user", {"auth": ("mallory", "s3cret")}, 401),
    ]:
        status = refused_push(what, **kw)
        check(status == want, f"refused with {want}: {what} (got {status})")
    r = requests.put(gw.url("/metrics/job/refused"), data="rows 99\n", verify=ca)
    check(r.headers.get("WWW-Authenticate") == "Basic" and r.text == "Unauthorized\n",
          "401 carries WWW-Authenticate: Basic")
    status = refused_push("untrusted", auth=alice,
                          cert=(pki.path("stranger.crt"), pki.path("stranger.key")))
    check(status in ("SSLError", "ConnectionError"),
          f"refused: a client certificate from an untrusted CA (got {status})")
    status = refused_push("no allowed SAN", auth=alice,
                          cert=(pki.path("nosan.crt"), pki.path("nosan.key")))
    check(status in ("SSLError", "ConnectionError"),
          f"refused: a client certificate without an allowed SAN (got {status})")
    out = subprocess.run(
        ["curl", "-sS", "--cacert", ca, "-u", "alice:s3cret", "--cert", pki.path("stranger.crt"),
         "--key", pki.path("stranger.key"), "--data-binary", "rows 99", gw.url("/metrics/job/refused")],
        capture_output=True)
    check(out.returncode != 0, f"curl: untrusted client certificate refused (exit {out.returncode})")
    out = subprocess.run(
        ["curl", "-sS", "-u", "alice:s3cret", "--data-binary", "rows 99",
         gw.url("/metrics/job/refused", scheme="http")], capture_output=True)
    check(b"Client sent an HTTP request to an HTTPS server" in out.stdout,
          f"plain HTTP to the TLS port is told so ({out.stdout!r})")
    out = subprocess.run(["curl", "-sS", "-u", "alice:s3cret", gw.url("/metrics")],
                         capture_output=True)
    check(out.returncode != 0, "curl without the CA does not trust the server")
    check(stored(gw, ca) == before, "refused requests changed nothing stored")

    # Renew the server certificate in place; the next connection gets the new one.
    old = pki.der("server")
    pki.leaf("server", "ca", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             out="renewed")
    new = pki.der("renewed")
    check(old != new, "a renewed certificate differs")
    os.replace(pki.path("renewed.key"), pki.path("server.key"))
    os.replace(pki.path("renewed.crt"), pki.path("server.crt"))
    context = ssl.create_default_context(cafile=ca)
    served = None
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.create_connection(("127.0.0.1", gw.port)) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                served = tls.getpeercert(binary_form=True)
        if served == new:
            break
        time.sleep(0.2)
    check(served == new, "the renewed certificate is served without a restart")
    r = requests.get(gw.url("/-/healthy"), auth=alice, verify=ca)
    check(r.status_code == 200, "requests trust the renewed certificate")

    # Admin and lifecycle endpoints are off without their flags, authenticated or not.
    r = requests.put(gw.url("/api/v1/admin/wipe"), auth=alice, verify=ca)
    check(r.status_code == 404, f"admin wipe absent without --web.enable-admin-api ({r.status_code})")
    r = requests.put(gw.url("/-/quit"), auth=alice, verify=ca)
    check(r.status_code == 403, f"quit refused without --web.enable-lifecycle ({r.status_code})")
    r = requests.put(gw.url("/-/quit"), verify=ca)
    check(r.status_code == 401, "quit without credentials is a 401")
    check(stored(gw, ca) == before, "still nothing changed")


def admin_and_rate_limit(cmd, tmp, hashed):
    config = os.path.join(tmp, "admin.yml")
    with open(config, "w") as f:
        f.write(f"basic_auth_users:\n  alice: {hashed}\n")
    gw = Gateway(cmd, config, "--web.enable-admin-api", "--web.enable-lifecycle")
    try:
        url = lambda p: gw.url(p, scheme="http")
        alice = ("alice", "s3cret")
        requests.put(url("/metrics/job/keep"), data="rows 1\n", auth=alice).raise_for_status()
        r = requests.put(url("/api/v1/admin/wipe"))
        check(r.status_code == 401, "admin wipe without credentials is a 401")
        r = requests.put(url("/-/quit"), auth=("alice", "nope"))
        check(r.status_code == 401, "quit with a wrong password is a 401")
        r = requests.get(url("/metrics"), auth=alice)
        check('job="keep"' in r.text, "data kept after refused admin calls")
        r = requests.put(url("/api/v1/admin/wipe"), auth=alice)
        check(r.status_code == 202, f"admin wipe with credentials and the flag ({r.status_code})")
        r = requests.get(url("/metrics"), auth=alice)
        check('job="keep"' not in r.text, "wiped")
        r = requests.put(url("/-/quit"), auth=alice)
        check(r.status_code == 200, "quit with credentials and the flag")
        gw.proc.wait(timeout=15)
        check(gw.proc.returncode == 0, "quit stops the server")
    finally:
        if gw.proc.poll() is None:
            gw.stop()

    config = os.path.join(tmp, "limited.yml")
    with open(config, "w") as f:
        f.write("rate_limit:\n  interval: 1h\n  burst: 3\n")
    gw = Gateway(cmd, config)
    try:
        statuses = [requests.get(gw.url("/-/healthy", scheme="http")).status_code for _ in range(4)]
        check(statuses == [200, 200, 200, 429], f"over the rate limit is a 429 ({statuses})")
    finally:
        gw.stop()

    with open(config, "w") as f:
        f.write("basic_auth_users:\n  alice: not-a-hash\n")
    out = subprocess.run([cmd, f"--web.config.file={config}", "--web.listen-address=127.0.0.1:0"],
                         capture_output=True, text=True, timeout=15)
    check(out.returncode == 1 and "limited.yml" in out.stderr and "bcrypt" in out.stderr,
          f"an invalid file stops start-up naming the file and the problem ({out.stderr.strip()})")


if __name__ == "__main__":
    main()
