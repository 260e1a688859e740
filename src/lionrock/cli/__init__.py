"""The ``lionrock`` command line (typer + rich)."""
