"""The live feed client against real TCP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

import pytest
from feed_helpers import Server

from airwatch.decoders.adsb import AdsbDecoder
from airwatch.sources.adsb_feed import AdsbFeed
from airwatch.sources.avr import format_avr
from airwatch.sources.beast import BeastFramer, encode_frame

TIMEOUT = 20.0


@pytest.fixture(scope="module")
def sample(captures):
    wire = (captures / "adsb" / "sample_dump1090.bin").read_bytes()
    frames = BeastFramer().feed(wire)
    pieces = [encode_frame(f.kind, f.timestamp, f.signal, f.data) for f in frames]
    assert b"".join(pieces) == wire  # the wire form of each frame, escapes included
    return wire, frames, pieces


async def collect(feed, n):
    out = []

    async def run():
        async for m in feed.messages():
            out.append(m)
            if len(out) == n:
                feed.stop()

    await asyncio.wait_for(run(), TIMEOUT)
    return out


async def test_beast_feed_survives_a_cut_mid_frame(sample):
    wire, frames, pieces = sample
    k = 120  # frame cut in half by the server going away
    offset = sum(len(p) for p in pieces[:k])
    cut = offset + len(pieces[k]) // 2
    resume = offset + len(pieces[k])
    async with Server([(wire[:cut], True), (wire[resume:], False)]) as srv:
        feed = AdsbFeed("127.0.0.1", srv.port, backoff_initial=0.05)
        got = await collect(feed, len(frames) - 1)
    assert [m.data for m in got] == [f.data for f in frames[:k] + frames[k + 1 :]]
    assert [m.number for m in got] == list(range(1, len(frames)))
    st = feed.state
    assert st.status == "stopped"
    assert st.connections == 2
    assert len(st.outages) == 1 and st.outages[0][1] is not None
    assert st.outages[0][0] <= st.outages[0][1]
    assert st.last_error is None  # cleared by the successful reconnection
    assert st.messages == len(frames) - 1
    assert st.last_message_time is not None
    assert feed.counters["feed_disconnects"] == 1
    assert feed.counters["beast_reset_dropped_bytes"] == len(pieces[k]) // 2


async def test_state_shows_the_outage_while_it_lasts(sample):
    wire, frames, pieces = sample
    async with Server([(wire[:1000], True)]) as srv:  # then accepts but never sends
        feed = AdsbFeed("127.0.0.1", srv.port, backoff_initial=0.05, idle_timeout=0.3)
        seen = []
        statuses = set()

        async def run():
            async for m in feed.messages():
                seen.append(m)

        task = asyncio.create_task(run())
        for _ in range(200):
            await asyncio.sleep(0.02)
            statuses.add(feed.state.status)
            if feed.state.outages and feed.state.connections >= 2 and feed.counters["feed_idle_timeouts"]:
                break
        feed.stop()
        await asyncio.wait_for(task, TIMEOUT)
    assert len(seen) == sum(1 for _ in BeastFramer().feed(wire[:1000]))
    assert {"connected", "reconnecting"} <= statuses
    assert feed.counters["feed_idle_timeouts"] >= 1
    assert "no frames" in (feed.state.last_error or "")


async def test_garbage_feed_is_counted_and_reconnected():
    garbage = bytes(range(256)).replace(b"\x1a", b"") * 20
    async with Server([(garbage, False), (garbage, False), (garbage, False)]) as srv:
        feed = AdsbFeed("127.0.0.1", srv.port, backoff_initial=0.05, idle_timeout=0.3)

        async def run():
            async for _ in feed.messages():
                pytest.fail("garbage produced a frame")

        task = asyncio.create_task(run())
        for _ in range(200):
            await asyncio.sleep(0.02)
            if feed.state.connections >= 2:
                break
        feed.stop()
        await asyncio.wait_for(task, TIMEOUT)
    assert feed.counters["beast_garbage_bytes"] >= len(garbage)
    assert feed.counters["feed_idle_timeouts"] >= 1
    assert feed.state.connections >= 2


async def test_refused_connection_backs_off_without_crashing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feed = AdsbFeed("127.0.0.1", port, backoff_initial=0.02, backoff_max=0.1)

    async def run():
        async for _ in feed.messages():
            pass

    task = asyncio.create_task(run())
    for _ in range(500):  # wait for the condition, not for a fixed time: the machine may be slow
        await asyncio.sleep(0.02)
        if feed.state.attempts >= 3:
            break
    assert feed.state.status == "reconnecting"
    assert feed.state.connections == 0 and feed.state.attempts >= 3
    assert feed.state.last_error.startswith("connect")
    feed.stop()
    await asyncio.wait_for(task, TIMEOUT)
    assert feed.state.status == "stopped"


async def test_avr_feed_with_a_line_cut_in_half(sample):
    wire, frames, pieces = sample
    lines = [format_avr(f.data, f.timestamp) for f in frames]
    text = b"".join(lines)
    k = 50
    offset = sum(len(x) for x in lines[:k])
    async with Server([(text[: offset + 9], True), (text[offset + len(lines[k]) :], False)]) as srv:
        feed = AdsbFeed("127.0.0.1", srv.port, fmt="avr", backoff_initial=0.05)
        got = await collect(feed, len(frames) - 1)
    assert [m.data for m in got] == [f.data for f in frames[:k] + frames[k + 1 :]]


async def test_feed_contacts(sample):
    wire, frames, pieces = sample
    async with Server([(wire, False)]) as srv:
        feed = AdsbFeed("127.0.0.1", srv.port)
        dec = AdsbDecoder()
        contacts = []

        async def run():
            async for c in feed.contacts(dec):
                contacts.append(c)

        task = asyncio.create_task(run())
        for _ in range(200):
            await asyncio.sleep(0.02)
            if dec.counters["messages"] == len(frames):
                break
        feed.stop()
        await asyncio.wait_for(task, TIMEOUT)
    # all frames arrive in one burst, so they share one receive time: CPR pairs still resolve
    assert dec.counters["messages"] == len(frames)
    assert any(c.has_position and c.aircraft.icao == "48520A" for c in contacts)
    assert all(c.source == f"beast://127.0.0.1:{srv.port}" for c in contacts)
