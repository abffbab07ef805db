"""The benchmark's receiver, in a process of its own (so that it does not share the
sender's interpreter lock): the tests' loopback receiver (the contrib example's
verification and de-duplication). Prints its URL, then on each line of stdin prints
one JSON line: how many events it handled and, for "dump", when each was received."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.outbox.loopback import Loopback


def main() -> None:
    with Loopback(os.environ["BENCH_HOOK_SECRET"]) as receiver:
        print(receiver.url, flush=True)
        for line in sys.stdin:
            answer: dict[str, object] = {
                "handled": len(receiver.handled),
                "requests": receiver.requests,
            }
            if line.strip() == "dump":
                answer["received_at"] = receiver.received_at
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
