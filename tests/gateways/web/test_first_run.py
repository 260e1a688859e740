"""First run: a fresh store gets one operator whose password is printed once and signs in; the
API docs pages load their assets from this server (offline), not from a CDN."""

from __future__ import annotations

import io
import re

import httpx
from rich.console import Console

from lionrock.cli.service import first_operator
from lionrock.gateways.server import BackgroundServer
from lionrock.service.root import Service


def test_first_run_creates_an_operator_whose_printed_password_signs_in() -> None:
    service = Service("memory:")
    try:
        assert service.auth.users() == []
        out = io.StringIO()
        password = first_operator(service, Console(file=out, width=200, color_system=None), "http://127.0.0.1:8000/login")
        printed = out.getvalue()
        assert password in printed and "operator" in printed and "shown only now" in printed
        assert service.auth.verify_password("operator", password).role == "operator"
        assert [u.username for u in service.auth.users()] == ["operator"]
    finally:
        service.close()


def test_api_docs_pages_use_local_assets_only() -> None:
    service = Service("memory:")
    srv = BackgroundServer(service, fix=False).start()
    try:
        client = httpx.Client(base_url=srv.url)
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert sources and all(s.startswith("/") for s in sources), sources
            for s in sources:
                if s.endswith((".js", ".css")):
                    r = client.get(s)
                    assert r.status_code == 200 and len(r.content) > 10_000, s
        assert client.get("/docs-assets/docs.py").status_code == 404
        client.close()
    finally:
        srv.stop()
        service.close()
