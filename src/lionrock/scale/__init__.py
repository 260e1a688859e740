"""Scale-out beyond one machine: the sharding map and the NATS JetStream transport (shard engines,
the service's edge over the streams, the projector over the event streams)."""

__all__: list[str] = []
