"""``lionrock``: one typer app; each area registers its commands from its own module.

User errors are mapped here, once, for every command: a `UserError` (a journal damaged or of
another version, a file that is not a journal, a missing or malformed input file, a server that
does not answer), a missing file, and click's own usage errors print one line on stderr,
``lionrock: error: <what>. <what to do>``, and exit with status 2. Commands raise; they do not
catch and print. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import typer
from typer._click import echo
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer 0.29 vendors click
from typer.core import TyperGroup

from lionrock import __version__
from lionrock.kernel.user_errors import UserError

USER_ERROR_EXIT = 2

_MISSING_FILE = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def user_error_line(exc: BaseException) -> str:
    """The one line printed for a user error (without the ``lionrock: error:`` prefix)."""
    if isinstance(exc, UserError):
        return exc.one_line()
    if isinstance(exc, UsageError):
        what = " ".join(exc.format_message().split()).rstrip(".")
        command = exc.ctx.command_path if exc.ctx is not None else "lionrock"
        return f"{what}. Run '{command} --help' for usage."
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        what = " ".join((exc.strerror or str(exc)).split()).rstrip(".")
        return f"{what}{where}. Check the path."
    return " ".join(str(exc).split())


def _fail(exc: BaseException) -> NoReturn:
    sys.stdout.flush()
    echo(f"lionrock: error: {user_error_line(exc)}", err=True)
    raise typer.Exit(USER_ERROR_EXIT) from None


class LionRockGroup(TyperGroup):
    """The root group: runs the chosen command and maps user errors to one line and status 2."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer passes its Context; the base names its vendored click's
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except (UserError, UsageError, *_MISSING_FILE) as exc:
            _fail(exc)


app = typer.Typer(
    cls=LionRockGroup,
    name="lionrock",
    help="Lion Rock: list, price, allot, trade and settle Hong Kong IPOs of mainland AI companies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that define ``register(app)``; each adds its commands.
COMMAND_MODULES = [
    "lionrock.cli.run",
    "lionrock.cli.listing",
    "lionrock.cli.offering",
    "lionrock.cli.clearing",
    "lionrock.cli.service",
    "lionrock.cli.users",
    "lionrock.cli.shard",
    "lionrock.cli.project",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lionrock {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Lion Rock command line."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


__all__ = ["USER_ERROR_EXIT", "LionRockGroup", "app", "main", "user_error_line"]
