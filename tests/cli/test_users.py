"""``lionrock users``: an operator creates, lists, disables and enables users on a store's files
without the server; the service started on that store signs them in (so no first-run operator is
made), every change is audited, and every bad input is one line and exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lionrock.cli.main import app
from lionrock.service.auth import AuthError
from lionrock.service.root import Service, auth_store_url
from testkit.service_world import next_id


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["users", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, stderr: str, *expected: str) -> None:
    assert code == 2 and "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lionrock: error: "), stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``--db`` value: a SQLite path, or a fresh schema on a throwaway PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "venue.db")
    return f"{request.getfixturevalue('pg_server').url}?schema=users_{next_id('u')}"


def test_users_add_prints_a_password_once_that_signs_in_to_the_service(store: str) -> None:
    db = store
    code, out, _ = run("add", "ops2", "--role", "operator", "--db", db)
    assert code == 0, out
    password = re.search(r"password (\S+) \(shown only now\)", " ".join(out.split()))
    assert password is not None, out
    code, out, _ = run(
        "add",
        "alice",
        "--role",
        "investor",
        "--participant",
        "B1",
        "--account",
        "C:B1:A1",
        "--account",
        "C:B1:A2",
        "--db",
        db,
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert code == 0 and "read from standard input" in out and "correct horse" not in out, out
    service = Service(db)
    try:
        assert service.auth.users()  # lionrock serve's first run makes no operator of its own on this store
        assert service.auth.verify_password("ops2", password.group(1)).role == "operator"
        alice = service.auth.verify_password("alice", "correct horse battery")
        assert (alice.role, alice.participant, alice.accounts) == ("investor", "B1", ("C:B1:A1", "C:B1:A2"))
        created = [(r["actor"], r["action"], r["target"]) for r in service.auth.audit_log(limit=10)]
        assert ("cli", "user:create", "ops2") in created and ("cli", "user:create", "alice") in created
        assert service.auth.verify_audit_chain() >= 2
    finally:
        service.close()


def test_users_list_disable_and_enable(tmp_path: Path) -> None:
    db = str(tmp_path / "venue.db")
    assert run("add", "op", "--role", "operator", "--db", db)[0] == 0
    assert run("add", "spo", "--role", "sponsor", "--offering", "IPO-1", "--db", db)[0] == 0
    code, out, _ = run("disable", "spo", "--db", db)
    assert code == 0 and "spo: disabled" in out
    assert run("disable", "spo", "--db", db)[1].strip() == "spo: already disabled"
    code, out, _ = run("list", "--db", db, "--json")
    rows = {r["username"]: r for r in json.loads(out)}
    assert rows["spo"]["disabled"] is True and rows["spo"]["offerings"] == ["IPO-1"] and rows["op"]["disabled"] is False
    assert "password" not in out and "hash" not in out
    code, out, _ = run("list", "--db", db)
    assert code == 0 and "spo" in out and "disabled" in out and "IPO-1" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    one_line_error(*run("disable", "op", "--db", db)[::2], "last active operator")
    service = Service(db)
    try:
        with pytest.raises(AuthError):
            service.auth.principal("spo")
        assert [r["action"] for r in service.auth.audit_log(limit=1)] == ["user:disable"]
    finally:
        service.close()
    assert run("enable", "spo", "--db", db)[1].strip() == "spo: enabled"
    assert json.loads(run("list", "--db", db, "--json")[1])[1]["disabled"] is False


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (("add", "bob", "--role", "admin"), None, "unknown role 'admin'"),
        (("add", "bad name", "--role", "investor"), None, "username"),
        (("add", "bob", "--role", "broker", "--participant", "B 1"), None, "--participant"),
        (("add", "bob", "--role", "investor", "--account", "x" * 65), None, "--account"),
        (("add", "bob", "--role", "investor", "--password-stdin"), "short\n", "8 to 256"),
        (("add", "bob", "--role", "investor", "--db", "memory:"), None, "memory:"),
    ],
)
def test_users_bad_input_is_one_line_and_status_2(tmp_path: Path, args: tuple[str, ...], stdin: str | None, expected: str) -> None:
    full = (*args, "--db", str(tmp_path / "venue.db")) if "--db" not in args else args
    one_line_error(*run(*full, stdin=stdin)[::2], expected)
    assert not Path(auth_store_url(str(tmp_path / "venue.db"))).exists()  # nothing made on a refusal


def test_users_duplicate_and_unknown_users_and_missing_store(tmp_path: Path) -> None:
    db = str(tmp_path / "venue.db")
    one_line_error(*run("list", "--db", db)[::2], "no user store")
    one_line_error(*run("disable", "ghost", "--db", db)[::2], "no user store")
    assert not Path(auth_store_url(db)).exists()
    assert run("add", "carol", "--role", "regulator", "--db", db)[0] == 0
    one_line_error(*run("add", "carol", "--role", "regulator", "--db", db)[::2], "exists")
    one_line_error(*run("enable", "ghost", "--db", db)[::2], "no user 'ghost'")
