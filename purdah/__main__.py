"""`python -m purdah` runs the command line."""

from purdah.cli import main

main()
