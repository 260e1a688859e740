"""``lionrock``: one typer app; each area registers its commands from its own module."""

from __future__ import annotations

import importlib

import typer

from lionrock import __version__

app = typer.Typer(
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
    "lionrock.cli.shard",
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


__all__ = ["app", "main"]
