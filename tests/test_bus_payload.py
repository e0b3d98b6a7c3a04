"""Bus payloads: every contact, track and alert comes back exactly; bad payloads are refused with a reason."""

from __future__ import annotations

import dataclasses
import typing
from collections import deque
from enum import Enum
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwatch.bus import payload as P
from airwatch.bus.topics import KINDS, Topics, escape, unescape
from airwatch.config import load_settings
from airwatch.contact import Contact, Transport
from airwatch.decoders.remoteid import enums
from airwatch.inputs import read_inputs
from airwatch.replay import replay

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "captures" / "demo_scenario"


def strategy(tp: typing.Any, name: str = "") -> st.SearchStrategy:
    """Values of an annotated type, as the decoders could make them (finite floats, lat/lon in range)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        inner = [a for a in args if a is not type(None)]
        return st.none() | strategy(inner[0], name)
    if tp is float:
        limit = {"lat": 90.0, "lon": 180.0}.get(name)
        if limit is not None:
            return st.floats(-limit, limit)
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is int:
        return st.integers(-1, 300) | st.integers(-(2**53), 2**53)
    if tp is str:
        return st.text(max_size=24)
    if tp is bool:
        return st.booleans()
    if tp is bytes:
        return st.binary(max_size=48)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: strategy(hints[f.name], f.name) for f in dataclasses.fields(tp)})
    if origin in (list, tuple, set):
        return st.lists(strategy(args[0], name), max_size=3).map(origin)
    raise TypeError(tp)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy(Contact))
def test_every_contact_comes_back_exactly(contact):
    encoded = P.encode_contact(contact, 7, raw=True)
    stream, items = P.read_batch(P.batch("s1", [encoded]))
    assert stream == "s1"
    ((seq, back),) = items
    assert seq == 7
    assert back == contact
    for b in back.basic_ids:  # the standard's numbers come back as the decoders' enumeration members
        if 0 <= b.id_type <= 4:
            assert isinstance(b.id_type, enums.IdType)


def test_real_captures_come_back_exactly(captures):
    files = [SCENARIO.with_suffix(".pcapng"), SCENARIO.with_suffix(".adsb.csv"), *sorted((captures / "remoteid").iterdir())]
    n = 0
    for f in files:
        contacts, _ = read_inputs([str(f)])
        for c in contacts:
            d = orjson.loads(orjson.dumps(P.contact_to_dict(c, raw=True)))
            assert P.contact_from_dict(d) == c, f
            n += 1
    assert n > 4000


def test_compact_none_defaults_and_raw_left_out():
    c = Contact(time=1.5, transport=Transport.ADSB, raw=b"\x01\x02")
    assert P.contact_to_dict(c) == {"time": 1.5, "transport": "adsb"}
    assert P.contact_to_dict(c, raw=True)["raw"] == "AQI="


def test_tracks_and_alerts_rebuilt_for_a_remote_console():
    result = replay([f"{SCENARIO}.pcapng", f"{SCENARIO}.adsb.csv"], load_settings(f"{SCENARIO}.config.toml"))
    assert result.tracks and result.alerts
    for track in result.tracks:
        back = P.read_track(P.encode_track(track))
        assert back == track
        assert back.trail.maxlen == track.trail.maxlen and isinstance(back.trail, deque)
        assert {k: type(v) for k, v in back.latest.items()} == {k: type(v) for k, v in track.latest.items()}
    drone = next(t for t in result.tracks if t.uas_id == "1581FDEMQ00000000001")
    assert "radio" in drone.latest and "location" in drone.latest
    for alert in result.alerts:
        event, back = P.read_alert_event(P.encode_alert_event("raised", alert))
        assert (event, back) == ("raised", alert)
    assert P.read_alert_state(P.encode_alert_state(result.alerts)) == result.alerts


GOOD = b'{"time":1.0,"transport":"adsb","seq":1}'


@pytest.mark.parametrize("payload, reason", [
    (b"\x00\xffgarbage", "not JSON"),
    (b"[1,2,3]", "expected a JSON object"),
    (b'{"v":2,"stream":"s","contacts":[]}', "version 2"),
    (b'{"stream":"s","contacts":[]}', "version None"),
    (b'{"v":1,"contacts":[]}', "stream is missing"),
    (b'{"v":1,"stream":"s","contacts":{}}', "list of contacts"),
    (b'{"v":1,"stream":"s","contacts":[{"time":1.0,"transport":"adsb"}]}', "seq"),
    (b'{"v":1,"stream":"s","contacts":[{"time":"noon","transport":"adsb","seq":1}]}', "expected a number"),
    (b'{"v":1,"stream":"s","contacts":[{"time":1.0,"transport":"carrier pigeon","seq":1}]}', "not a Transport"),
    (b'{"v":1,"stream":"s","contacts":[{"transport":"adsb","seq":1}]}', "time: is missing"),
    (b'{"v":1,"stream":"s","contacts":[{"time":1.0,"transport":"adsb","seq":1,"location":{"lat":91.0}}]}',
     "out of range"),
    (b'{"v":1,"stream":"s","contacts":[{"time":1.0,"transport":"adsb","seq":1,"raw":"***"}]}', "base64"),
    (b'{"v":1,"stream":"s","contacts":[{"time":1e400,"transport":"adsb","seq":1}]}', "finite|JSON"),
    (b'{"v":1,"stream":"s","contacts":[' + b",".join([GOOD] * 500_000) + b"]}", "larger than"),
])
def test_malformed_batches_are_refused_with_a_reason(payload, reason):
    with pytest.raises(P.PayloadError, match=reason):
        P.read_batch(payload)


def test_topics_escape_broadcast_text():
    t = Topics("site/v1")
    hostile = "evil/+/#%\x00serial"
    topic = t.track(f"rid:{hostile}")
    assert topic.count("/") == 3 and "+" not in topic and "#" not in topic and "\x00" not in topic
    assert t.parse(topic) == ("track", f"rid:{hostile}", None)
    assert unescape(escape(hostile)) == hostile
    assert t.parse(t.contacts("north 1", "adsb")) == ("contacts", "north 1", "adsb")
    assert t.parse(t.status("a/b")) == ("status", "a/b", None)
    assert t.parse("site/v1/acks") == ("acks", None, None)
    assert t.parse("elsewhere/x") == ("other", None, None)
    assert set(KINDS.values()) == {"remoteid", "dji", "french", "wifi", "adsb"} and set(KINDS) == set(Transport)
