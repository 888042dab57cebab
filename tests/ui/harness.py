"""Shared by the web page's browser tests, benchmark and screenshot: a cairn gateway on a
free loopback port, pushes over HTTP, and headless Chromium driven through chromedriver.

Needs Debian's chromium, chromium-driver and python3-selenium (run with /usr/bin/python3).
"""

import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(value):
    """A grouping-label value as a push URL's `@base64` segment."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=") or "="


class Gateway:
    """`cairn` started on 127.0.0.1:<free port> with `flags`; `prefix` is the route prefix
    the flags give it."""

    def __init__(self, binary, flags=(), prefix=""):
        self.port = free_port()
        self.prefix = prefix
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        args = [binary, f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
        self.proc = subprocess.Popen(args + list(flags), stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.request("GET", "/-/healthy")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"cairn did not start: {self.log.read().decode()}")
            time.sleep(0.05)

    def url(self, path):
        """The absolute URL of `path` under the route prefix."""
        return self.base + self.prefix + path

    def request(self, method, path, body=b"", headers=None):
        """(status, body) of a request to `path` under the route prefix."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url(path), data=data or None, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def push(self, method, path, body):
        status, reply = self.request(method, "/metrics/" + path, body)
        return status, reply

    def groups(self):
        """The grouping labels of every group, from the JSON API."""
        status, body = self.request("GET", "/api/v1/metrics")
        assert status == 200, (status, body)
        return [g["labels"] for g in json.loads(body)["data"]]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def browser(width=1280, height=900):
    """Headless Chromium with the browser console captured."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", f"--window-size={width},{height}",
                "--force-prefers-reduced-motion"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_page(driver, url, timeout=60):
    """Loads the page at `url` and waits until it has rendered the groups it fetched."""
    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.documentElement.dataset.rendered"))
    return driver.execute_script("return window.cairnTiming")
