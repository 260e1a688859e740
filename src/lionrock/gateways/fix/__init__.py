"""FIX 4.4 order entry: framing, the session layer, order mapping, execution reports and the
session store, composed by `gateway.FixGateway`."""

__all__: list[str] = []
