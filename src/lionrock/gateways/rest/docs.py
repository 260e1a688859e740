"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from local files.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so on a machine without internet
access (a test venue, a locked-down desk, this repository's CI) ``/docs`` was a blank page. The
two bundles are vendored in ``docs_assets/`` (swagger-ui-dist 5.36.0, Apache-2.0; redoc 2.5.4,
MIT; licences beside them; only their ``sourceMappingURL`` comments removed, since the maps are
not shipped) and served here with long cache lifetimes. No Google Fonts either: ReDoc falls back
to the system fonts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

ASSETS = Path(__file__).parent / "docs_assets"
ASSET_PREFIX = "/docs-assets"
_MEDIA = {".js": "application/javascript", ".css": "text/css", ".txt": "text/plain; charset=utf-8"}
_FILES = frozenset(p.name for p in ASSETS.iterdir() if p.suffix in _MEDIA)
"""The only names served: a fixed list, so no path from a request ever reaches the file system."""


def mount_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets; the app is built with ``docs_url=None, redoc_url=None``."""
    cache: dict[str, bytes] = {}
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API reference",
            redoc_js_url=f"{ASSET_PREFIX}/redoc.standalone.js",
            redoc_favicon_url="/favicon.ico",
            with_google_fonts=False,
        )

    @app.get(ASSET_PREFIX + "/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in _FILES:
            return Response(status_code=404)
        if name not in cache:
            cache[name] = (ASSETS / name).read_bytes()
        return Response(cache[name], media_type=_MEDIA[Path(name).suffix], headers={"Cache-Control": "max-age=86400"})


__all__ = ["ASSETS", "ASSET_PREFIX", "mount_docs"]
