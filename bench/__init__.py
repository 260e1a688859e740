"""Benchmarks: ``python -m bench NAME`` runs one, ``python -m bench all`` runs them all.

Each module ``bench/NAME.py`` defines ``run(progress) -> dict`` returning its figures (and peers'
figures and ratios where it has peers). The harness prints the figures and, as the last line,
one JSON object. Benchmarks are never tests: nothing asserts on time.
"""

BENCHMARKS = ["journal", "trading", "allocation", "demo", "api", "storage", "cluster"]
