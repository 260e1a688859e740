"""Dashboard routes (filled in below)."""

from __future__ import annotations

from typing import Any


def mount_web(app: Any, service: Any) -> None:
    return None
