"""`SqlStore` transactions on both backends: all of a transaction or none of it, whether a
statement fails in the server or the code inside raises, and the store goes on working after
either. On PostgreSQL a transaction is BEGIN, its statements and COMMIT in one pipeline, so a
failed statement is reported when the pipeline ends, not when it was sent; nothing of it stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from lionrock.storage.sql import SqlStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlStore:
    url = str(tmp_path / "t.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = SqlStore(url)
    s.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
    request.addfinalizer(s.close)
    return s


def _rows(store: SqlStore) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.execute("SELECT k, v FROM kv ORDER BY k")]


def test_a_committed_transaction_keeps_every_row_and_reads_its_own_writes(store: SqlStore) -> None:
    with store.transaction():
        store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
        store.insert_rows("kv", (("k", "TEXT"), ("v", "BIGINT")), [("b", 2), ("c", 3)])
        assert store.one("SELECT COUNT(*) FROM kv") == (3,)  # a query inside waits for the writes sent before it
        with store.transaction():  # an inner block joins the outer transaction
            store.execute("UPDATE kv SET v = v + 10 WHERE k = ?", ("a",))
    assert _rows(store) == [("a", 11), ("b", 2), ("c", 3)]


def test_a_statement_failing_in_the_server_rolls_back_the_whole_transaction(store: SqlStore) -> None:
    store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("kept", 0))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.transaction():
        store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("new", 1))
        store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("kept", 2))  # the primary key refuses it
        store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("after", 3))
    assert _rows(store) == [("kept", 0)]
    assert not store.in_transaction
    with store.transaction():  # the connection is usable: the failed transaction is over
        store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("next", 4))
    assert _rows(store) == [("kept", 0), ("next", 4)]


def test_an_exception_in_the_code_rolls_back_what_was_sent(store: SqlStore) -> None:
    with pytest.raises(RuntimeError, match="stop here"), store.transaction():
        store.insert_rows("kv", (("k", "TEXT"), ("v", "BIGINT")), [("x", 1), ("y", 2)])
        raise RuntimeError("stop here")
    assert _rows(store) == []
    store.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("z", 3))  # outside a transaction: autocommitted
    assert _rows(store) == [("z", 3)]


def test_insert_rows_round_trips_every_value_exactly(store: SqlStore) -> None:
    """Rows travel to PostgreSQL as one JSON document (`SqlStore.insert_rows`): integers beyond a
    double's 53 bits, quotes, backslashes, JSON inside a value, non-ASCII text and NULLs must
    come back exactly as sent."""
    store.execute("CREATE TABLE odd (n BIGINT, t TEXT, u TEXT)")
    rows = [
        (2**62 + 1, 'a "quoted" \\ back\\slash', None),
        (-(2**63), '{"body": [1, 2.5, "x"]}', "漢字 – ü"),
        (0, "", "line\nbreak\ttab"),
    ]
    with store.transaction():
        store.insert_rows("odd", (("n", "BIGINT"), ("t", "TEXT"), ("u", "TEXT")), rows)
    assert sorted(tuple(r) for r in store.execute("SELECT n, t, u FROM odd")) == sorted(rows)
