"""The REST and WebSocket API: one `APIRouter` per resource, wired once by `app.create_app`.
Routers import `http` (the one error body, JSON responses, the caller dependency), never the app."""

__all__: list[str] = []
