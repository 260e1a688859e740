"""Read models: the projector that turns durable events into rows, and the queries over those rows.

Reads never touch the engine (DESIGN.md): what a GET needs is a row the projector wrote when the
event arrived, computed once there when the event alone does not carry it (allocations, the
announcement, eligibility). Queries take the read store (`lionrock.storage.sql.SqlStore`), never
the service."""

__all__: list[str] = []
