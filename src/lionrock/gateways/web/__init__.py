"""The web dashboard: server-rendered pages (Jinja2), live updates over the API's WebSockets."""

from lionrock.gateways.web.routes import mount_web

__all__ = ["mount_web"]
