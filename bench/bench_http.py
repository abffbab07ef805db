"""The HTTP service under load from a second process on loopback: requests per second and
latency percentiles for /api/check and a council's feed (200 and the 304 path), as
ratios to a bare FastAPI endpoint on the same server stack measured in the same run.

    make bench            # or: .venv/bin/python bench/bench_http.py [--requests N]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
def ping():
    return {"ok": True}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no server at {url}")


def load(
    base: str,
    paths: list[str],
    requests: int,
    headers: dict[str, str] | None = None,
    threads: int = 8,
) -> dict[str, float]:
    spec = {
        "base": base,
        "paths": paths,
        "requests": requests,
        "threads": threads,
        "headers": headers or {},
        "seconds": 60,
    }
    out = subprocess.run(
        [sys.executable, str(HERE / "http_load.py"), json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--councils", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_store import build

    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-http-"))
    db = tmp / "bench.db"
    build(db, args.councils, 10)
    purdah = str(Path(sys.executable).with_name("purdah"))
    port, base_port = free_port(), free_port()
    (tmp / "baseline_app.py").write_text(BASELINE_APP)
    servers = [
        subprocess.Popen(
            [purdah, "serve", "--db", str(db), "--port", str(port)], stderr=subprocess.DEVNULL
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "baseline_app:app",
                "--port",
                str(base_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=tmp,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        ours, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        wait(ours + "/livez")
        wait(bare + "/ping")
        checks = [
            f"/api/check?councillor=parish-{i}/c{i % 10}&at=2028-04-20T12:00" for i in range(500)
        ]
        etag = urllib.request.urlopen(ours + "/calendars/parish-7.ics").headers["ETag"]
        n = args.requests
        results = {
            "baseline: bare FastAPI endpoint": load(bare, ["/ping"], n),
            "/api/check": load(ours, checks, n),
            "council feed, 200": load(ours, ["/calendars/parish-7.ics"], n),
            "council feed, 304 (If-None-Match)": load(
                ours, ["/calendars/parish-7.ics"], n, {"If-None-Match": etag}
            ),
        }
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    base_rps = results["baseline: bare FastAPI endpoint"]["rps"]
    print(f"\n{n} requests per row, 8 keep-alive connections, from a second process\n")
    print("| endpoint | requests/s | ratio to baseline | p50 | p95 | p99 | statuses |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:.0f} | {r['rps'] / base_rps:.2f}x | {r['p50_ms']:.1f} ms | "
            f"{r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['statuses']} |"
        )


if __name__ == "__main__":
    main()
