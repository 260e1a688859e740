"""Fixtures for the service tests: a throwaway PostgreSQL (once per worker), storage URLs."""

from __future__ import annotations

import itertools
import os

import pytest

from testkit.service_pgserver import PgServer, pg_bin
from testkit.system import missing

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    if pg_bin() is None:
        missing("PostgreSQL (/usr/lib/postgresql/*/bin/initdb)", "apt-get install postgresql")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh schema in the throwaway server for each test."""
    return f"{pg_server.url}?schema=t{os.getpid()}_{next(_counter)}"
