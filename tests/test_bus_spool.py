"""The sensor's spool: contacts stay on disk until acknowledged, survive a restart, and are bounded."""

from __future__ import annotations

import logging

import orjson

from airwatch.bus.payload import encode_contact, read_batch
from airwatch.bus.spool import Spool
from airwatch.contact import Contact, Transport


def topic(kind: str) -> str:
    return f"t/sensors/A/contacts/{kind}"


def fill(spool: Spool, n: int, transports=(Transport.ADSB,)) -> None:
    for i in range(n):
        seq = spool.next_seq()
        t = transports[i % len(transports)]
        kind = "adsb" if t is Transport.ADSB else "remoteid"
        spool.add(seq, kind, encode_contact(Contact(time=float(seq), transport=t, source="x" * 50), seq))


def seqs(messages) -> list[int]:
    return [seq for m in messages for seq, _ in read_batch(m.payload)[1]]


def test_unacknowledged_contacts_survive_a_restart_and_numbers_go_on(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path, topic)
    stream = spool.stream
    fill(spool, 10)
    first = spool.take(1)
    assert seqs(first) == list(range(1, 11)) and first[0].topic == topic("adsb")
    spool.done(first[0])
    fill(spool, 5)
    sent_not_acked = spool.take(1)
    assert seqs(sent_not_acked) == list(range(11, 16))
    spool.close()  # the sensor stops (or the broker never answered)

    again = Spool(path, topic)
    assert again.stream == stream and again.last_seq == 15 and len(again) == 5
    assert seqs(again.take(10)) == list(range(11, 16))  # sent again: they were never acknowledged
    assert again.next_seq() == 16
    again.close()


def test_rewind_sends_the_unacknowledged_again_in_order(tmp_path):
    spool = Spool(tmp_path / "s.sqlite", topic)
    fill(spool, 6, transports=(Transport.ADSB, Transport.WIFI_BEACON))
    messages = spool.take(10)
    assert [m.topic for m in messages] == [topic("adsb"), topic("remoteid")]  # the oldest contact's message first
    assert sorted(seqs(messages)) == [1, 2, 3, 4, 5, 6]
    spool.done(messages[1])
    assert spool.take(10) == []
    spool.rewind()  # a new connection
    assert seqs(spool.take(10)) == [1, 3, 5]
    spool.close()


def test_a_full_spool_drops_the_oldest_and_says_so(tmp_path, caplog):
    spool = Spool(tmp_path / "s.sqlite", topic, max_bytes=20_000)
    with caplog.at_level(logging.WARNING, "airwatch.bus.spool"):
        fill(spool, 1000)
        spool.commit()
    assert spool.dropped > 0 and spool.bytes <= 20_000
    assert "full" in caplog.text and "dropped" in caplog.text
    kept = seqs(spool.take(1000))
    assert kept == list(range(spool.dropped + 1, 1001))  # the newest are kept, in order
    spool.close()


def test_batch_layout_is_documented_json(tmp_path):
    spool = Spool(tmp_path / "s.sqlite", topic)
    fill(spool, 2)
    (m,) = spool.take(1)
    doc = orjson.loads(m.payload)
    assert doc["v"] == 1 and doc["stream"] == spool.stream
    assert doc["contacts"][0] == {"time": 1.0, "transport": "adsb", "source": "x" * 50, "seq": 1}
    spool.close()
