"""Load a page in Debian's headless chromium and report what a person's browser would see.

Talks the DevTools protocol over a websocket on 127.0.0.1: every console message, uncaught
exception, log entry, failed or non-local request, and the state of every <img> is recorded,
and a full-page screenshot can be taken.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websocket

from scalinglab.report.browser_check import find_chromium

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
LOCAL_SCHEMES = ("file:", "data:", "about:")


@dataclass
class PageVisit:
    console: list[str] = field(default_factory=list)  # "level: text" of every console message
    errors: list[str] = field(default_factory=list)  # exceptions, error logs, failed loads
    remote_requests: list[str] = field(default_factory=list)  # anything not file:, data:, about:
    images: list[dict] = field(default_factory=list)  # {"src", "complete", "width"} per <img>
    text: str = ""


def visit(page: Path, profile: Path, *, screenshot: Path | None = None, timeout_s: float = 60) -> PageVisit:
    """Open `page` (a local file) with a fresh profile in `profile`; optionally save a screenshot."""
    browser = subprocess.Popen(
        [find_chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(profile, browser, timeout_s)
        connection = websocket.create_connection(_page_socket(port, timeout_s), timeout=timeout_s, suppress_origin=True)
        try:
            return _Session(connection, timeout_s).visit(page.resolve().as_uri(), screenshot)
        finally:
            connection.close()
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()


def _devtools_port(profile: Path, browser: subprocess.Popen, timeout_s: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            raise RuntimeError(f"chromium exited with status {browser.returncode} before DevTools came up")
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _page_socket(port: int, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout_s) as response:
            pages = [target for target in json.load(response) if target["type"] == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise TimeoutError("chromium opened no page")


class _Session:
    def __init__(self, connection, timeout_s: float) -> None:
        self._connection = connection
        self._timeout_s = timeout_s
        self._next_id = 0
        self.record = PageVisit()

    def visit(self, url: str, screenshot: Path | None) -> PageVisit:
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable")
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")
        self.record.images = self.evaluate(
            "[...document.images].map(i => ({src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth}))"
        )
        self.record.text = self.evaluate("document.body.innerText")
        if screenshot is not None:
            self._screenshot(screenshot)
        return self.record

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"]["value"]

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        message_id = self._next_id
        self._connection.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def _wait_for(self, event: str) -> None:
        while self._receive().get("method") != event:
            pass

    def _receive(self) -> dict:
        message = json.loads(self._connection.recv())
        self._note(message.get("method"), message.get("params", {}))
        return message

    def _note(self, method: str | None, params: dict) -> None:
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
            self.record.console.append(f"{params['type']}: {text}")
            if params["type"] in ("error", "assert"):
                self.record.errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            self.record.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.record.errors.append(f"log: {params['entry']['text']}")
        elif method == "Network.loadingFailed":
            self.record.errors.append(f"load failed: {params.get('errorText')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(LOCAL_SCHEMES):
                self.record.remote_requests.append(url)

    def _screenshot(self, path: Path) -> None:
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        width, height = int(size["width"]), int(min(size["height"], 12000))
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
