"""/healthz while the API is busy: its latency alone, and while 50 concurrent /api/status
requests (each several MB) are in flight, from a second process on loopback. Reported as
ratios to /livez (a route that reads nothing) measured alongside, in the same run.

    .venv/bin/python bench/bench_health.py [--councils N] [--busy 50]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from bench_http import free_port, wait  # noqa: E402
from bench_store import build  # noqa: E402


def timed(url: str) -> float:
    """Seconds for the whole answer (a 503 from /healthz naming faults counts too)."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
    except urllib.error.HTTPError as exc:
        exc.read()
    return time.perf_counter() - t0


def samples(url: str, n: int) -> list[float]:
    return [timed(url) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=2000)
    parser.add_argument("--busy", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-health-"))
    db = tmp / "bench.db"
    build(db, args.councils, 10)
    purdah = str(Path(sys.executable).with_name("purdah"))  # PYTHONPATH picks the code
    subprocess.run([purdah, "reconcile", "--db", str(db)], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [purdah, "serve", "--db", str(db), "--port", str(port)], stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait(base + "/openapi.json")
        try:
            urllib.request.urlopen(base + "/livez", timeout=10)
            routes = ["/livez", "/healthz"]
        except OSError:  # a purdah from before /livez
            routes = ["/healthz"]
        size = len(urllib.request.urlopen(base + "/api/status", timeout=120).read())
        idle = {route: samples(base + route, 5) for route in routes}
        status_times: list[float] = []

        def one_status() -> None:
            with contextlib.suppress(OSError):
                status_times.append(timed(base + "/api/status"))

        busy_threads = [threading.Thread(target=one_status) for _ in range(args.busy)]
        for t in busy_threads:
            t.start()
        time.sleep(0.5)  # let them queue up
        loaded: dict[str, list[float]] = {route: [] for route in routes}
        while any(t.is_alive() for t in busy_threads) and len(loaded["/healthz"]) < 5:
            for route in routes:
                loaded[route].append(timed(base + route))
        for t in busy_threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"\n/api/status is {size / 1e6:.1f} MB; {args.busy} at once took up to "
        f"{max(status_times):.1f} s each\n"
    )
    print("| route | idle median | median with the API busy | worst | ratio busy/idle |")
    print("|---|---|---|---|---|")
    for route in routes:
        a, b = statistics.median(idle[route]), statistics.median(loaded[route])
        worst = max(loaded[route])
        print(
            f"| {route} | {a * 1e3:.0f} ms | {b * 1e3:.0f} ms | {worst * 1e3:.0f} ms "
            f"| {b / a:.1f}x |"
        )


if __name__ == "__main__":
    main()
