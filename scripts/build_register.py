"""Rebuild purdah/data/areas.csv.gz from data/sources/ (same as python -m purdah.sources.build)."""

import sys

from purdah.sources.build import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
