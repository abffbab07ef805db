"""Headless Chromium driven over the DevTools protocol, through a pipe (no extra package).

`--remote-debugging-pipe` makes Chromium read protocol commands from file descriptor 3 and
write its answers and events to descriptor 4, each message JSON ended by a NUL byte. This
lets a test set an exact viewport (a phone's 390 CSS pixels), load the page, measure its
layout from outside it (the page itself carries no script) and take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


class Browser:
    def __init__(self, executable: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        self.log = profile.with_suffix(".log")
        log = self.log.open("wb")

        def fds() -> None:
            # Chromium expects its command pipe on fd 3 and its answer pipe on fd 4: copy
            # both above 4 first so that neither is overwritten by the other's move.
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            preexec_fn=fds,
            # Python would close fds 3 and 4 after `fds` ran; the pipes' other ends are
            # not inheritable, so nothing else reaches Chromium.
            close_fds=False,
        )
        log.close()
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.session = ""

    # -- the protocol ---------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise BrowserError("Chromium closed its DevTools pipe (did it crash?)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def send(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        session = kw.get("session", self.session)
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    del self._events[i]
                    return event
            self._events.append(self._read_message(deadline))

    # -- what a test does ---------------------------------------------------------------

    def open(self, width: int, height: int, *, mobile: bool, headers: dict[str, str]) -> None:
        """A new tab with a viewport of `width` x `height` CSS pixels."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session="")
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, session=""
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Network.setExtraHTTPHeaders", {"headers": headers})
        self.viewport(width, height, mobile=mobile)

    def viewport(self, width: int, height: int, *, mobile: bool) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def load(self, url: str) -> int:
        """Navigate and wait for the load event; the HTTP status of the document."""
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        status = 0
        deadline = time.monotonic() + self.timeout
        while True:
            event = self.wait_for_any(("Network.responseReceived", "Page.loadEventFired"))
            if event["method"] == "Network.responseReceived":
                if event["params"].get("type") == "Document":
                    status = int(event["params"]["response"]["status"])
            else:
                return status
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not load in time")

    def wait_for_any(self, methods: tuple[str, ...]) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") in methods:
                    del self._events[i]
                    return event
            self._events.append(self._read_message(deadline))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression run by DevTools (not by the page)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(
        self, path: Path, width: int, *, mobile: bool, max_height: int = 8000, top: int = 0
    ) -> int:
        """The page from `top` down (up to `max_height` pixels) as a PNG; its height."""
        whole = int(self.evaluate("document.documentElement.scrollHeight"))
        height = min(whole - top, max_height)
        self.viewport(width, whole, mobile=mobile)
        clip = {"x": 0, "y": top, "width": width, "height": height, "scale": 1}
        shot = self.send("Page.captureScreenshot", {"format": "png", "clip": clip})
        path.write_bytes(base64.b64decode(shot["data"]))
        return height

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", session="")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
