"""A three-node nats-server cluster on loopback for the cluster tests (the single node, `nats_url`, is the
root conftest's: the service tests run over the bus too)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from testkit.system import missing

NATS_SERVER = shutil.which("nats-server")


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Three nats-server nodes with JetStream and cluster routes on loopback (tests/scale/cluster.py);
    every node is SIGKILLed at the end, whatever the test did to them."""
    if NATS_SERVER is None:
        missing("nats-server (the cluster tests)", "apt-get install -y nats-server")
    from cluster import NatsCluster

    cluster = NatsCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()
