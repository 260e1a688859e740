"""A seeded workload over several instruments and the primary shard, plus reference engines."""

from __future__ import annotations

import random
from datetime import date, time
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig

from lionrock.clearing.commands import DepositCash, OpenClearingAccount
from lionrock.engine import Engine
from lionrock.kernel.messages import Codec, Command
from lionrock.kernel.xhkg import hk_ns
from lionrock.scale.nats import CMD_STREAM, H_AT_NS, cmd_subject, resolve_bodies
from lionrock.scale.sharding import ShardMap, shard_contexts, split_by_shard
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay, TradingTick

DAY = date(2025, 11, 24)
INSTRUMENTS = ("00700", "09988", "01024", "03690", "00981", "02525")
PARTICIPANTS = ("P1", "P2", "P3")
MAP = ShardMap(("t0", "t1"))


def workload(n_orders: int, seed: int = 7) -> list[tuple[Command, int, str]]:
    """(command, at_ns, client key) in submission order: listings, the day's start, the open,
    then orders interleaved with clearing accounts and deposits."""
    rng = random.Random(seed)
    t = hk_ns(DAY, time(8, 0))
    out: list[tuple[Command, int, str]] = []
    for code in INSTRUMENTS:
        out.append((ListInstrument(instrument=code, board_lot=100, nominal_price=10_000), t, f"list:{code}"))
    out.append((StartTradingDay(day=DAY.isoformat(), seed=seed), t, "start"))
    t = hk_ns(DAY, time(9, 30))
    out.append((TradingTick(), t, "tick:0930"))
    for i in range(n_orders):
        t += 1_000_000
        participant = rng.choice(PARTICIPANTS)
        account = f"C:{participant}:A{rng.randrange(4)}"
        if i % 10 == 0:
            out.append((OpenClearingAccount(account=f"C:{participant}:N{i}"), t, f"open:{i}"))
            out.append((DepositCash(account=f"C:{participant}:N{i}", currency="HKD", amount=100_000), t, f"dep:{i}"))
        out.append(
            (
                PlaceOrder(
                    instrument=rng.choice(INSTRUMENTS),
                    participant=participant,
                    account=account,
                    client_order_id=f"o{i}",
                    side=rng.choice("BS"),
                    order_type="LIMIT",
                    price=10_000 + 100 * rng.randint(-2, 2),
                    quantity=100 * rng.randint(1, 5),
                ),
                t,
                "",
            )
        )
    return out


def reference_hashes(items: list[tuple[Command, int, str]], shard_map: ShardMap = MAP) -> dict[str, str]:
    """State hash of an in-process Engine per trading shard, fed that shard's commands in order."""
    times = {id(c): t for c, t, _ in items}
    out = {}
    for shard, commands in split_by_shard(shard_map, [c for c, _, _ in items]).items():
        if shard_map.role_of(shard) != "trading":
            continue
        engine = Engine(shard_map.contexts(shard))
        for command in commands:
            engine.submit(command, times[id(command)])
        out[shard] = engine.state_hash()
    return out


async def stream_commands(js: Any, shard: str) -> list[tuple[Command, int]]:
    """What cmd.<shard> holds, in stream order."""
    codec = Codec()
    sub = await js.pull_subscribe(cmd_subject(shard), stream=CMD_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
    out = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1024, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            await resolve_bodies(js, msgs)
            out.extend((codec.decode_command(m.data), int(m.headers[H_AT_NS])) for m in msgs)
    finally:
        await sub.unsubscribe()
    return out


def replay_hash(role: str, commands: list[tuple[Command, int]]) -> str:
    engine = Engine(shard_contexts(role))
    for command, at_ns in commands:
        engine.submit(command, at_ns)
    return engine.state_hash()


def replay_shard_hash(shard: str, commands: list[tuple[Command, int]], shard_map: ShardMap = MAP) -> str:
    """State hash of an in-process Engine with ``shard``'s contexts (its order id range included)
    fed ``commands`` (what its stream holds, in order)."""
    engine = Engine(shard_map.contexts(shard))
    for command, at_ns in commands:
        engine.submit(command, at_ns)
    return engine.state_hash()
