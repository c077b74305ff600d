"""The event bus: typed delivery, unsubscribe, and a failing handler isolated from the rest."""

from __future__ import annotations

from dataclasses import dataclass

from bessai.core.runtime.bus import EventBus


@dataclass
class Ping:
    n: int


@dataclass
class Pong:
    n: int


def test_delivers_by_type_in_order_and_unsubscribes() -> None:
    bus = EventBus()
    got: list[tuple[str, int]] = []
    unsub_a = bus.subscribe(Ping, lambda e: got.append(("a", e.n)))
    bus.subscribe(Ping, lambda e: got.append(("b", e.n)))
    bus.subscribe(Pong, lambda e: got.append(("pong", e.n)))
    bus.publish(Ping(1))
    unsub_a()
    unsub_a()
    bus.publish(Ping(2))
    bus.publish(Pong(3))
    assert got == [("a", 1), ("b", 1), ("b", 2), ("pong", 3)]


def test_failing_handler_does_not_stop_the_others() -> None:
    bus = EventBus()
    got: list[int] = []

    def boom(_: Ping) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(Ping, boom)
    bus.subscribe(Ping, lambda e: got.append(e.n))
    bus.publish(Ping(5))
    assert got == [5]
    assert bus.failures == 1
