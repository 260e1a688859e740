"""Progress for long commands: a bar on a terminal, plain lines in a log.

A piped or CI run used to show nothing at all (rich disables its bar without a terminal, and the
``--progress`` flag the code looked for in ``sys.argv`` was no option, so typer refused it).
`progress_for` gives an object with the part of rich's `Progress` interface the simulator and
replay use (``add_task``, ``update``, ``advance``, a context manager): rich's bar on a terminal,
`PlainProgress` otherwise, which prints one line per tenth of each task, or nothing at all.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

PROGRESS_MODES = ("auto", "bar", "lines", "none")
PLAIN_STEPS = 10
"""Lines per task in `PlainProgress`: one per tenth, plus the last."""


class PlainProgress:
    """Progress as plain lines (``simulating: 45 of 180 (25%), 12.3 s``), for logs and pipes."""

    def __init__(self, write: Any = None, clock: Any = time.perf_counter) -> None:
        self._write = write or (lambda line: typer.echo(line, err=False))
        self._clock = clock
        self._tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        task = len(self._tasks)
        self._tasks[task] = {"description": description, "total": total, "completed": 0.0, "printed": -1, "started": self._clock()}
        return task

    def advance(self, task: int, advance: float = 1) -> None:
        self.update(task, completed=self._tasks[task]["completed"] + advance)

    def update(self, task: int, *, completed: float | None = None, description: str | None = None, **_: Any) -> None:
        state = self._tasks[task]
        if description is not None and description != state["description"]:
            state["description"], state["printed"] = description, -1  # a new phase: say so at once
        if completed is not None:
            state["completed"] = completed
        total = state["total"]
        if not total:
            return
        step = min(int(state["completed"] * PLAIN_STEPS // total), PLAIN_STEPS)
        if step > state["printed"]:
            state["printed"] = step
            done = state["completed"]
            self._write(
                f"{state['description']}: {done:,.0f} of {total:,.0f} ({100 * done / total:.0f}%), {self._clock() - state['started']:.1f} s"
            )


def progress_for(mode: str, console: Console) -> Any:
    """``auto``: a bar on a terminal, lines otherwise; ``bar``, ``lines`` or ``none`` as asked."""
    if mode not in PROGRESS_MODES:
        raise typer.BadParameter(f"{mode!r} is not one of {', '.join(PROGRESS_MODES)}", param_hint="--progress")
    if mode == "auto":
        mode = "bar" if console.is_terminal else "lines"
    if mode == "lines":
        return PlainProgress(lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=mode == "none",
    )


def progress_option() -> Any:
    return typer.Option("auto", "--progress", help="auto (a bar on a terminal, plain lines otherwise) | bar | lines | none.")


__all__ = ["PLAIN_STEPS", "PROGRESS_MODES", "PlainProgress", "progress_for", "progress_option"]
