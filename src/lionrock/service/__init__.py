"""The service: the composition root (`root.Service`), the single writer thread over the engine
(`writer`), the event hub, authentication and the access policy, and the explicit list of the
bounded contexts a default engine runs (`contexts`). Gateways (REST, FIX, web) sit above it."""

__all__: list[str] = []
