"""Run one benchmark (``python -m bench NAME [OPTIONS]``: options go to its ``run``) or all (``python -m bench all``)."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time

from bench import BENCHMARKS


def _run_one(name: str, options: list[str] | None = None) -> dict[str, object]:
    module = importlib.import_module(f"bench.{name}")
    started = time.perf_counter()
    progress = lambda message: print(f"[{name}] {message}", file=sys.stderr, flush=True)  # noqa: E731
    figures: dict[str, object] = module.run(progress, options) if options else module.run(progress)
    figures.setdefault("benchmark", name)
    figures["wall_seconds"] = round(time.perf_counter() - started, 3)
    figures["python"] = platform.python_version()
    return figures


def main(argv: list[str]) -> int:
    if not argv or (argv[0] == "all" and len(argv) > 1):
        print(
            f"usage: python -m bench NAME [OPTIONS]|all   (NAME one of {', '.join(BENCHMARKS)}; OPTIONS go to NAME's run)", file=sys.stderr
        )
        return 2
    name = argv[0]
    if name == "all":
        results = {}
        for bench_name in BENCHMARKS:
            try:
                results[bench_name] = _run_one(bench_name)
            except ModuleNotFoundError as exc:
                if exc.name != f"bench.{bench_name}":
                    raise
                continue
            print(json.dumps(results[bench_name]))
        print(json.dumps(results))
        return 0
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    print(json.dumps(_run_one(name, argv[1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
