from __future__ import annotations

import threading
import time

from connectors.memory_bus import MemoryBus


def test_records_stay_and_each_group_has_its_own_position() -> None:
    bus = MemoryBus()
    for i in range(5):
        bus.publish("t", f"k{i}", f"v{i}".encode(), {"h": str(i)})
    first = bus.consumer(["t"], "g1")
    batch = first.poll(3, 0)
    assert [m.key for m in batch] == ["k0", "k1", "k2"]
    assert [m.offset for m in batch] == [0, 1, 2]
    assert batch[1].headers == {"h": "1"}
    other = bus.consumer(["t"], "g2")
    assert len(other.poll(10, 0)) == 5
    assert len(bus.records("t")) == 5


def test_uncommitted_records_are_delivered_again_to_the_next_consumer() -> None:
    bus = MemoryBus()
    for i in range(4):
        bus.publish("t", str(i), b"x")
    crashed = bus.consumer(["t"], "g")
    batch = crashed.poll(2, 0)
    crashed.commit(batch[:1])  # processed only the first before "crashing"
    replacement = bus.consumer(["t"], "g")
    assert [m.key for m in replacement.poll(10, 0)] == ["1", "2", "3"]


def test_consumer_reads_several_topics() -> None:
    bus = MemoryBus()
    bus.publish("a", "1", b"x")
    bus.publish("b", "2", b"y")
    assert sorted(m.topic for m in bus.consumer(["a", "b"], "g").poll(10, 0)) == ["a", "b"]


def test_poll_waits_for_a_record_published_meanwhile() -> None:
    bus = MemoryBus()
    consumer = bus.consumer(["t"], "g")
    publisher = threading.Timer(0.05, lambda: bus.publish("t", "late", b"x"))
    publisher.start()
    started = time.monotonic()
    batch = consumer.poll(10, 5.0)
    publisher.join()
    assert [m.key for m in batch] == ["late"]
    assert time.monotonic() - started < 5.0, "poll returned as soon as the record arrived"


def test_empty_poll_returns_nothing() -> None:
    assert MemoryBus().consumer(["t"], "g").poll(10, 0) == []
