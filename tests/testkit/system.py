"""System packages the integration tests need (PostgreSQL, nats-server, Chromium, QuickFIX).

`.ci/run` installs them on a fresh machine, so in CI (``CI`` set) a missing one fails the test
instead of skipping it: a skipped test is a test CI does not run. Elsewhere it skips, saying what
to install."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, install: str) -> NoReturn:
    """Fail under CI, skip elsewhere: ``what`` is not installed (``install`` says how to get it)."""
    message = f"{what} not installed ({install})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI installs it in .ci/run, so its absence is a failure", pytrace=False)
    pytest.skip(message)
