"""``lionrock users``: create, list, disable and enable the users of a store without the server.

The first run of ``lionrock serve`` creates one operator and prints its password once
(`lionrock.cli.service.first_operator`); from then on an operator creates users on the Venue and
users page or with ``POST /v1/users``. This command does the same on the store's files, for the
operator who prepares a venue before starting it, scripts its accounts, or lost the first password:
the same `AuthStore`, the same checks as the REST model (identifiers in the kernel's charset, a
known role, a password of 8 to 256 characters), the same ``user:create`` / ``user:disable`` /
``user:enable`` audit rows (actor ``cli``). A password is generated and printed once unless
``--password-stdin`` reads it from standard input (never from the command line, where ``ps``
shows it); only its argon2 hash is stored.

Run it while the server is stopped: a running server keeps who is active in memory (the FIX
gateway and the streams check it on every message), so it would not see a user added or disabled
here until it restarts. While it runs, use the dashboard or the REST API.
"""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.user_errors import InputError

PASSWORD_MIN, PASSWORD_MAX = 8, 256
"""The password bounds of ``POST /v1/users`` (`lionrock.gateways.rest.models.NewUserIn`)."""
MAX_IDS = 1000
"""At most this many accounts, offerings or issuers per user (as the REST model)."""
ACTOR = "cli"

DB_OPTION = typer.Option(
    "lionrock.db", "--db", help="The store lionrock serve uses: a SQLite path or postgresql://…?schema=NAME (not memory:)."
)


def _open(db: str, *, create: bool) -> Any:
    """The store's `AuthStore`; `InputError` for ``memory:`` or (unless ``create``) a store that does not exist."""
    from lionrock.service.auth import AuthStore
    from lionrock.service.root import auth_store_url
    from lionrock.storage.locations import is_postgres
    from lionrock.storage.sql import SqlStore

    if db == "memory:":
        raise InputError(
            "--db memory: keeps no users after the command ends", "Give the SQLite path or PostgreSQL URL that lionrock serve uses."
        )
    url = auth_store_url(db)
    if not is_postgres(db) and not create and not Path(url).exists():
        raise InputError(f"no user store for --db {db} (no {url})", "Check --db, or create the first user with lionrock users add.")
    return AuthStore(SqlStore(url))


def _identifiers(values: list[str], field: str) -> list[str]:
    if len(values) > MAX_IDS:
        raise InputError(f"{field}: at most {MAX_IDS:,} per user, got {len(values):,}")
    out = []
    for v in values:
        try:
            out.append(parse_identifier(v, field))
        except ValueError as exc:
            raise InputError(str(exc)) from exc
    return out


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password and whether it was generated (then it is printed once)."""
    if not from_stdin:
        return secrets.token_urlsafe(12), True
    line = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")  # a terminal: not echoed
    if not PASSWORD_MIN <= len(line) <= PASSWORD_MAX:
        raise InputError(f"the password read from standard input has {len(line)} characters; it needs {PASSWORD_MIN} to {PASSWORD_MAX}")
    return line, False


def _records(auth: Any) -> list[dict[str, Any]]:
    return [auth.user_record(str(r[0])) for r in auth.store.execute("SELECT username FROM users ORDER BY username")]


def register(app: typer.Typer) -> None:
    users = typer.Typer(
        help="Users of a store, without the server: add, list, disable, enable (run it with the server stopped).", no_args_is_help=True
    )
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: str = typer.Argument(..., help="Letters, digits and _ . : @ - (1-64 characters)."),
        role: str = typer.Option(..., "--role", help="issuer, sponsor, investor, broker, operator or regulator."),
        participant: str = typer.Option("", "--participant", help="A broker's or investor's exchange participant (e.g. B1)."),
        account: list[str] = typer.Option([], "--account", help="A client account the user holds (repeat for more)."),
        offering: list[str] = typer.Option([], "--offering", help="An offering a sponsor runs (repeat for more)."),
        issuer: list[str] = typer.Option([], "--issuer", help="An issuer id the user files for (repeat for more)."),
        password_stdin: bool = typer.Option(
            False,
            "--password-stdin",
            help=(
                "Read the password (one line, 8-256 characters) from standard input instead of generating one "
                "(typed without echo on a terminal)."
            ),
        ),
        db: str = DB_OPTION,
    ) -> None:
        """Create a user; a generated password is printed once."""
        from lionrock.readmodel.tenancy import Role

        roles = [str(r) for r in Role]
        if role not in roles:
            raise InputError(f"unknown role {role!r}", f"Use one of {', '.join(roles)}.")
        name = _identifiers([username], "username")[0]
        if participant:
            _identifiers([participant], "--participant")
        accounts, offerings, issuers = (
            _identifiers(account, "--account"),
            _identifiers(offering, "--offering"),
            _identifiers(issuer, "--issuer"),
        )
        password, generated = _password(password_stdin)
        auth = _open(db, create=True)
        try:
            try:
                auth.create_user(name, password, role, participant=participant, accounts=accounts, offerings=offerings, issuers=issuers)
            except ValueError as exc:
                raise InputError(str(exc), "Pick another username, or lionrock users list to see who exists.") from exc
            auth.audit(ACTOR, "operator", "cli", "user:create", name, "ok", role)
        finally:
            auth.store.close()
        said = f" with the password [bold]{password}[/] (shown only now)" if generated else " with the password read from standard input"
        Console().print(f"Created the {role} [bold]{name}[/]{said}.")

    @users.command("list")
    def list_(
        db: str = DB_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON array instead of the table."),
    ) -> None:
        """Every user, disabled ones included (never passwords or keys)."""
        auth = _open(db, create=False)
        try:
            rows = _records(auth)
        finally:
            auth.store.close()
        if as_json:
            typer.echo(json.dumps(rows))
            return
        table = Table("user", "role", "participant", "holds", "status", title=f"Users of {db}")
        for r in rows:
            holds = ", ".join([*r["accounts"], *r["offerings"], *r["issuers"]])
            table.add_row(
                r["username"],
                r["role"],
                r["participant"],
                holds if len(holds) <= 40 else holds[:39] + "…",
                "disabled" if r["disabled"] else "active",
            )
        Console().print(table)

    def set_disabled(username: str, db: str, disabled: bool) -> None:
        auth = _open(db, create=False)
        try:
            try:
                record = auth.user_record(username)
            except LookupError as exc:
                raise InputError(f"no user {username!r} in the store of --db {db}", "lionrock users list shows who exists.") from exc
            active_operators = [r for r in _records(auth) if r["role"] == "operator" and not r["disabled"]]
            if disabled and record["role"] == "operator" and [r["username"] for r in active_operators] == [username]:
                raise InputError(
                    f"{username!r} is the last active operator", "Add or enable another operator first: the venue must keep one."
                )
            changed = auth.set_disabled(username, disabled)
            auth.audit(ACTOR, "operator", "cli", "user:disable" if disabled else "user:enable", username, "ok" if changed else "unchanged")
        finally:
            auth.store.close()
        state = "disabled" if disabled else "enabled"
        Console().print(f"{username}: {state}" if changed else f"{username}: already {state}")

    @users.command("disable")
    def disable(username: str = typer.Argument(..., help="The user to disable."), db: str = DB_OPTION) -> None:
        """Disable a user: its password, sessions and API keys stop working (kept for the audit)."""
        set_disabled(username, db, True)

    @users.command("enable")
    def enable(username: str = typer.Argument(..., help="The user to enable."), db: str = DB_OPTION) -> None:
        """Enable a disabled user again."""
        set_disabled(username, db, False)


__all__ = ["ACTOR", "DB_OPTION", "MAX_IDS", "PASSWORD_MAX", "PASSWORD_MIN", "register"]
