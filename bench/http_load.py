"""A small load generator (run as its own process): N GET requests over keep-alive
connections from C threads to 127.0.0.1, bounded in count and time. Prints JSON stats."""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def main() -> None:
    spec = json.loads(sys.argv[1])
    paths, total, threads = spec["paths"], spec["requests"], spec["threads"]
    headers, limit = spec.get("headers", {}), spec.get("seconds", 60)
    host = urlsplit(spec["base"])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + limit

    def worker() -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        mine, codes = [], {}
        for i in counter:
            if time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            conn.request("GET", paths[i % len(paths)], headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": elapsed,
                "rps": len(latencies) / elapsed,
                "p50_ms": q[49] * 1e3,
                "p95_ms": q[94] * 1e3,
                "p99_ms": q[98] * 1e3,
                "statuses": statuses,
            }
        )
    )


if __name__ == "__main__":
    main()
