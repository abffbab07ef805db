"""The HTTP service under load from a second process on loopback, against a bare async
FastAPI peer serving the same bytes on the same server (uvicorn with purdah's protocol
and limits), measured in the same run, rounds taking turns:

- `/api/check` with a bearer token (rate limit off, and on) against a bare async route
  that checks a bearer token and answers the same JSON bytes;
- a council's feed, 200 and 304 (If-None-Match), against a bare async route answering
  the same .ics bytes and headers (and 304 on a matching ETag).

Each row's time is the time per request (1 / requests per second; 8 keep-alive
connections), so the goal 0.8x of the peer's throughput is a ratio of at most 1.25. One
more row, without a goal, says how much of the peer's time per request the in-process
`check` service alone takes (it is bench_check's, and issue 12's, to bring down).

    make bench            # or: .venv/bin/python bench/bench_http.py [--councillors N]
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
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from common import Row, emit  # noqa: E402
from national import build, per_call, scale  # noqa: E402

GOAL = 1 / 0.8  # at least 0.8x of the peer's requests per second
PEER_FLOOR = "bare async FastAPI route, same bytes, same uvicorn"
TOKEN_FLOOR = "bare async FastAPI route checking a bearer token, same bytes, same uvicorn"
AT = "2028-04-20T12:00"

# The peer: as little as FastAPI allows, on purdah's own uvicorn configuration.
PEER_APP = """
import hmac, json, os, sys
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from purdah.web.protocol import uvicorn_options

data = json.load(open(sys.argv[2]))
EXPECTED = "Bearer " + os.environ["BENCH_TOKEN"]
CHECKS = {k: v.encode() for k, v in data["checks"].items()}
FEED = data["feed"].encode("utf-8")
FEED_HEADERS = data["feed_headers"]
ETAG = FEED_HEADERS["ETag"]
app = FastAPI()


@app.get("/livez")
async def livez():
    return {"ok": True}


@app.get("/api/check")
async def check(request: Request):
    if not hmac.compare_digest(request.headers.get("authorization", ""), EXPECTED):
        return Response(b'{"error": "no"}', 401, media_type="application/json")
    body = CHECKS[request.url.query]
    return Response(body, media_type="application/json")


@app.get("/calendars/{council}.ics")
async def feed(council: str, request: Request):
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers=FEED_HEADERS)
    return Response(FEED, media_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)


config = uvicorn.Config(app, port=int(sys.argv[1]), log_level="warning", access_log=False,
                        **uvicorn_options(10.0))
uvicorn.Server(config).run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench_http: the server for {url} exited ({server.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench_http: no server at {url} after 60 s")


def get(url: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The body and the headers (names as below, whatever case the server sent)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
        names = ("ETag", "Last-Modified", "Cache-Control", "Content-Disposition")
        return r.read(), {k: r.headers[k] for k in names if r.headers[k] is not None}


def load(
    base: str, paths: list[str], requests: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    spec = {
        "base": base,
        "paths": paths,
        "requests": requests,
        "threads": 8,
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


def peak_of(pid: int) -> float | None:
    """A server's peak resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def check_share(db: str, refs: list[str]) -> float:
    """Seconds per in-process `check` of the same councillors at the same instant."""
    from purdah.clock import LONDON, parse_when
    from purdah.decide import Action
    from purdah.services.check import check
    from purdah.store import open_store

    store = open_store(db)
    instant, now = parse_when(AT, "at"), datetime.now(LONDON)
    try:
        return per_call(
            lambda i: check(store, refs[i % len(refs)], Action.PROMOTE, instant, now), 300
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councillors", type=int, default=20_000)
    parser.add_argument("--pg", help="serve from this PostgreSQL URL instead of a SQLite file")
    quick = bool(os.environ.get("PURDAH_BENCH_QUICK"))
    parser.add_argument("--requests", type=int, default=60 if quick else 1500)
    parser.add_argument("--rounds", type=int, default=1 if quick else 5)
    args = parser.parse_args()
    councils, per_council = scale(args.councillors)
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-http-"))
    db = args.pg or str(tmp / "bench.db")
    store_name = "postgresql" if args.pg else "sqlite"
    _, councillors, _ = build(db, councils, per_council)
    purdah = str(Path(sys.executable).with_name("purdah"))
    added = subprocess.run(
        [purdah, "token", "add", "bench", "--scope", "check", "--db", db],
        check=True,
        capture_output=True,
        text=True,
    )
    token = added.stdout.splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    port, peer_port, limited_port = free_port(), free_port(), free_port()
    serve = [purdah, "serve", "--db", db, "--no-access-log"]
    parishes = max(councils - max(councils // 250, 1) - max(councils // 30, 1), 1)
    refs = [f"parish-{i % parishes}/c{i % per_council}" for i in range(500)]
    queries = [f"councillor={ref}&at={AT}" for ref in refs]
    feed_path = f"/calendars/parish-{7 % parishes}.ics"
    servers = [
        subprocess.Popen(
            [*serve, "--port", str(port), "--rate-limit", "off"], stderr=subprocess.DEVNULL
        ),
        subprocess.Popen(
            [*serve, "--port", str(limited_port), "--rate-limit", "1000000/minute"],
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        ours, limited = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{limited_port}"
        wait(ours + "/livez", servers[0])
        wait(limited + "/livez", servers[1])
        # What the peer serves: our own bytes.
        checks = {q: get(f"{ours}/api/check?{q}", auth)[0].decode() for q in dict.fromkeys(queries)}
        feed, headers = get(ours + feed_path, {})
        (tmp / "peer.json").write_text(
            json.dumps(
                {
                    "checks": checks,
                    "feed": feed.decode("utf-8"),
                    "feed_headers": headers,
                }
            )
        )
        (tmp / "peer.py").write_text(PEER_APP)
        peer = subprocess.Popen(
            [sys.executable, str(tmp / "peer.py"), str(peer_port), str(tmp / "peer.json")],
            cwd=tmp,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "BENCH_TOKEN": token},
        )
        servers.append(peer)
        bare = f"http://127.0.0.1:{peer_port}"
        wait(bare + "/livez", peer)
        etag = {"If-None-Match": headers["ETag"]}
        paths = [f"/api/check?{q}" for q in queries]
        n = args.requests
        cases = {
            "peer: check": (bare, paths, auth),
            "/api/check, token, no rate limit": (ours, paths, auth),
            "/api/check, token, rate limit on": (limited, paths, auth),
            "peer: feed 200": (bare, [feed_path], None),
            "council feed, 200": (ours, [feed_path], None),
            "peer: feed 304": (bare, [feed_path], etag),
            "council feed, 304 (If-None-Match)": (ours, [feed_path], etag),
        }
        # Each of ours is measured right beside its peer (in alternating order), round
        # after round, so that a busy moment of a shared machine falls on both; a row's
        # figures are those of its round with the median ratio.
        pairs = {
            "HTTP /api/check, token": ("/api/check, token, no rate limit", "peer: check"),
            "HTTP /api/check, token, rate limit on": (
                "/api/check, token, rate limit on",
                "peer: check",
            ),
            "HTTP feed 200": ("council feed, 200", "peer: feed 200"),
            "HTTP feed 304": ("council feed, 304 (If-None-Match)", "peer: feed 304"),
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        rounds: dict[str, list[tuple[float, float]]] = {row: [] for row in pairs}
        for i in range(args.rounds):
            for row, (mine, theirs) in pairs.items():
                got = {}
                for name in (mine, theirs) if i % 2 else (theirs, mine):
                    url, where, sent = cases[name]
                    got[name] = load(url, where, n, sent)
                    runs[name].append(got[name])
                rounds[row].append((1 / got[mine]["rps"], 1 / got[theirs]["rps"]))
        results = {name: sorted(r, key=lambda x: x["rps"])[len(r) // 2] for name, r in runs.items()}
        chosen = {
            row: sorted(pairs_, key=lambda p: p[0] / p[1])[len(pairs_) // 2]
            for row, pairs_ in rounds.items()
        }
        peaks = {
            "ours": peak_of(servers[0].pid),
            "limited": peak_of(servers[1].pid),
        }
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    for name, r in results.items():
        wrong = {k: v for k, v in r["statuses"].items() if k not in ("200", "304")}  # type: ignore[attr-defined]
        if wrong or r["requests"] < n:
            raise SystemExit(
                f"bench_http: {name}: {r['requests']} of {n} answered, {r['statuses']}"
            )
    floor_check = chosen["HTTP /api/check, token"][1]
    rows = [
        Row(
            "HTTP /api/check, token",
            store_name,
            councillors,
            *chosen["HTTP /api/check, token"],
            TOKEN_FLOOR,
            GOAL,
            peaks["ours"],
        ),
        Row(
            "HTTP /api/check, token, rate limit on",
            store_name,
            councillors,
            *chosen["HTTP /api/check, token, rate limit on"],
            TOKEN_FLOOR,
            GOAL,
            peaks["limited"],
        ),
        Row(
            "HTTP feed 200",
            store_name,
            councillors,
            *chosen["HTTP feed 200"],
            PEER_FLOOR,
            GOAL,
            peaks["ours"],
        ),
        Row(
            "HTTP feed 304",
            store_name,
            councillors,
            *chosen["HTTP feed 304"],
            PEER_FLOOR,
            GOAL,
            peaks["ours"],
        ),
        Row(
            "HTTP /api/check: the check service alone, in process",
            store_name,
            councillors,
            check_share(db, refs),
            floor_check,
            "the peer's whole request",
        ),
    ]
    print(
        f"\n{n} requests per row and round, {args.rounds} rounds (the median round's figures "
        "below; the table's are from each pair's round with the median ratio), "
        "8 keep-alive connections, from a second process"
    )
    for name, r in results.items():
        print(
            f"  {name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms"
        )
    print()
    emit(rows)


if __name__ == "__main__":
    main()
