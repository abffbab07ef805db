"""The HTTP service under load from a second process on loopback: requests per second and
latency percentiles for /api/check (with a token) and a council's feed (200 and the 304
path), as ratios to bare FastAPI endpoints on the same server stack measured in the same
run: one open, one that checks a bearer token (the baseline for /api/check with tokens on).

    make bench            # or: .venv/bin/python bench/bench_http.py [--requests N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
BASELINE_APP = """
import hmac, os
from fastapi import FastAPI, Header, HTTPException
app = FastAPI()
EXPECTED = "Bearer " + os.environ["BENCH_TOKEN"]
@app.get("/ping")
def ping():
    return {"ok": True}
@app.get("/private")
def private(authorization: str | None = Header(default=None)):
    if authorization is None or not hmac.compare_digest(authorization, EXPECTED):
        raise HTTPException(401)
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_store import build

    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-http-"))
    db = tmp / "bench.db"
    build(db, args.councils, 10)
    purdah = str(Path(sys.executable).with_name("purdah"))
    added = subprocess.run(
        [purdah, "token", "add", "bench", "--scope", "check", "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    token = added.stdout.splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    port, base_port, limited_port = free_port(), free_port(), free_port()
    (tmp / "baseline_app.py").write_text(BASELINE_APP)
    serve = [purdah, "serve", "--db", str(db), "--no-access-log"]
    servers = [
        subprocess.Popen(
            [*serve, "--port", str(port), "--rate-limit", "off"], stderr=subprocess.DEVNULL
        ),
        subprocess.Popen(
            [*serve, "--port", str(limited_port), "--rate-limit", "1000000/minute"],
            stderr=subprocess.DEVNULL,
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
            env={**os.environ, "BENCH_TOKEN": token},
        ),
    ]
    try:
        ours, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        limited = f"http://127.0.0.1:{limited_port}"
        wait(ours + "/livez")
        wait(limited + "/livez")
        wait(bare + "/ping")
        checks = [
            f"/api/check?councillor=parish-{i}/c{i % 10}&at=2028-04-20T12:00" for i in range(500)
        ]
        etag = urllib.request.urlopen(ours + "/calendars/parish-7.ics").headers["ETag"]
        n = args.requests
        rows = {
            "baseline: bare FastAPI endpoint": (bare, ["/ping"], None),
            "baseline: bare FastAPI endpoint checking a bearer token": (bare, ["/private"], auth),
            "/api/check, token, no rate limit": (ours, checks, auth),
            "/api/check, token, rate limit on": (limited, checks, auth),
            "council feed, 200": (ours, ["/calendars/parish-7.ics"], None),
            "council feed, 304 (If-None-Match)": (
                ours,
                ["/calendars/parish-7.ics"],
                {"If-None-Match": etag},
            ),
        }
        # Rows take turns, round after round, so that a busy moment of a shared machine
        # falls on all of them; each row's figures are from its median round.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in rows}
        for _ in range(args.rounds):
            for name, (url, paths, headers) in rows.items():
                runs[name].append(load(url, paths, n, headers))
        results = {name: sorted(r, key=lambda x: x["rps"])[len(r) // 2] for name, r in runs.items()}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    base_rps = results["baseline: bare FastAPI endpoint"]["rps"]
    token_rps = results["baseline: bare FastAPI endpoint checking a bearer token"]["rps"]
    print(
        f"\n{n} requests per row and round, median of {args.rounds} rounds, "
        "8 keep-alive connections, from a second process\n"
    )
    print(
        "| endpoint | requests/s | ratio to bare | ratio to bare with token | p50 | p95 | p99 "
        "| statuses |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:.0f} | {r['rps'] / base_rps:.2f}x | "
            f"{r['rps'] / token_rps:.2f}x | {r['p50_ms']:.1f} ms | "
            f"{r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['statuses']} |"
        )


if __name__ == "__main__":
    main()
