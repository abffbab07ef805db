"""Use cases: each takes plain arguments, calls the pure core and the store, returns values."""
