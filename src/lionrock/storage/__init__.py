"""Storage: the journals (SQLite and PostgreSQL, side by side, behind the engine's `Journal` port),
the SQL store the read models, users and side tables live in, where each goes for one ``--db``
value, and the numbered schema migrations of every table this package owns.

Imports only the engine (the port) and the kernel; everything above it (read models, service,
gateways) imports it, never the reverse."""

__all__: list[str] = []
