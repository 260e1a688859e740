"""Gateways: the ways in from outside. `rest` (FastAPI routers), `fix` (FIX 4.4 order entry), `web`
(the dashboard), and `server` that runs them on one asyncio loop. They parse, authenticate and
hand typed commands to the service; they read from the read models only."""

__all__: list[str] = []
