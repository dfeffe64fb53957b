"""Drive a headless Chromium through the DevTools protocol: open a local page, evaluate
JavaScript, take screenshots, and record console errors and network requests.

Used by the report's browser tests and its size/speed benchmark. Needs the system ``chromium``
(Debian: ``apt-get install chromium``; never a browser downloaded by a pip package) and the
``websocket-client`` package (the ``dev`` extra). Talks only to the browser it started, on
127.0.0.1.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["Browser", "find_chromium"]

_LISTENING = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:\d+/\S+)")


def find_chromium() -> str | None:
    """Path of the system Chromium (``$CHROMIUM`` first), or None."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


class Browser:
    """One headless Chromium with one page (a context manager).

    Attributes
    ----------
    console_errors : list of str
        Console messages of level error, uncaught exceptions and log errors, in order.
    requests : list of str
        URL of every request the page made (``file:``, ``data:`` and ``blob:`` included).
    """

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.width, self.height, self.timeout = width, height, timeout
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Browser:
        import websocket  # websocket-client

        binary = find_chromium()
        if binary is None:
            raise RuntimeError("no chromium on PATH: apt-get install -y chromium (or set CHROMIUM)")
        self._profile = tempfile.mkdtemp(prefix="neuroalign-chromium-")
        self._process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update",
             "--disable-default-apps", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = self._browser_url()
        self._ws = websocket.create_connection(url, timeout=self.timeout, suppress_origin=True)
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._send("Target.attachToTarget",
                                   {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network", "Performance"):
            self.send(f"{domain}.enable")
        self.resize(self.width, self.height)
        return self

    def _browser_url(self) -> str:
        deadline = time.monotonic() + self.timeout
        lines = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline()
            if not line and self._process.poll() is not None:
                break
            lines.append(line)
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        self.close()
        raise RuntimeError("chromium did not start:\n" + "".join(lines[-20:]))

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(getattr(self, "_profile", ""), ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ protocol
    def _send(self, method: str, params: dict[str, Any] | None = None,
              session: str | None = None) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv())
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a DevTools command to the page; return its result."""
        return self._send(method, params, self._session)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(details.get("exception", {}).get("description")
                                       or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        self._events.append(message)

    def _wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(i)
            self._event(json.loads(self._ws.recv()))
        raise TimeoutError(f"no {method} within {self.timeout} s")

    # ------------------------------------------------------------------ page
    def resize(self, width: int, height: int) -> None:
        """Set the viewport (CSS pixels)."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, path: str | os.PathLike[str]) -> float:
        """Load a local file; return seconds from navigation until loaded and painted."""
        url = Path(path).resolve().as_uri()
        self._events.clear()
        started = time.perf_counter()
        self.send("Page.navigate", {"url": url})
        self._wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return time.perf_counter() - started

    def metrics(self) -> dict[str, float]:
        """The renderer's counters (``Performance.getMetrics``): e.g. ``TaskDuration`` (seconds
        of main-thread work since the page was created), ``ScriptDuration``, ``LayoutDuration``,
        ``RecalcStyleDuration``, ``Nodes``."""
        return {m["name"]: m["value"] for m in self.send("Performance.getMetrics")["metrics"]}

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited); return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(f"JavaScript error: "
                               f"{details.get('exception', {}).get('description', details)}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | os.PathLike[str], *, full_page: bool = False) -> Path:
        """Write a PNG of the viewport (or the whole page, capped at 16000 px high)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 16000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path
