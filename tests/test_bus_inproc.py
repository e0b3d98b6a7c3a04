"""The embedded bus (no broker): MQTT's semantics in one process, and sensors + correlator on it as replay."""

from __future__ import annotations

import asyncio
import io
import threading

from airwatch.bus import InProcessBus, Message
from airwatch.bus.base import BusUnavailable
from airwatch.bus.payload import encode_contact, encode_doc
from airwatch.config import Settings, load_settings, settings_from_dict
from airwatch.contact import Contact, Location, Transport
from airwatch.correlate import CorrelateService
from airwatch.replay import replay
from airwatch.sensor import SensorService
from bus_helpers import SCENARIO, until

SITE = {"lat": 46.2044, "lon": 6.1432}
ZONE = {"name": "border-post", "lat": 46.2044, "lon": 6.1432, "radius_m": 300, "ceiling_m": 400}
DEMO_CORRELATOR = {"uav_allow_list": ["AE5F01"]}  # as captures/demo_scenario.config.toml


def sensor_settings(sensor_id: str, inputs: list[str]) -> Settings:
    return settings_from_dict({"sensor": {"id": sensor_id, **SITE}, "sources": [{"type": "replay", "inputs": inputs}]})


async def next_message(conn, timeout: float = 10.0) -> Message:
    gen = conn.messages()
    return await asyncio.wait_for(gen.__anext__(), timeout)


async def test_retained_wills_wildcards_and_persistent_sessions():
    bus = InProcessBus()
    async with bus.connect("pub") as pub:
        await pub.publish("s/a/status", b"up", retain=True)
        await pub.publish("s/b/status", b"up", retain=True)
        await pub.publish("s/b/status", b"", retain=True)  # cleared
        async with bus.connect("sub", clean=False) as sub:
            await sub.subscribe("s/+/status", "s/x/#")
            got = await next_message(sub)
            assert (got.topic, got.payload, got.retain) == ("s/a/status", b"up", True)
            await pub.publish("s/x/y/z", b"1")
            assert (await next_message(sub)).topic == "s/x/y/z"
        await pub.publish("s/x/1", b"while away")  # kept for the persistent session
        async with bus.connect("sub", clean=False) as sub:
            assert (await next_message(sub)).payload == b"while away"
    try:
        async with bus.connect("dies", will=Message("s/dies/status", b"down", retain=True)):
            raise BusUnavailable("link lost")
    except BusUnavailable:
        pass
    async with bus.connect("late") as late:
        await late.subscribe("s/dies/status")
        assert (await next_message(late)).payload == b"down"


def test_delivery_across_event_loops():
    bus = InProcessBus()
    received: list[bytes] = []
    subscribed, done = threading.Event(), threading.Event()

    async def subscriber() -> None:
        async with bus.connect("ui") as conn:
            await conn.subscribe("x/#")
            subscribed.set()
            received.append((await next_message(conn)).payload)
            done.set()

    thread = threading.Thread(target=asyncio.run, args=(subscriber(),))
    thread.start()
    assert subscribed.wait(10)

    async def publisher() -> None:
        async with bus.connect("worker") as conn:
            await conn.publish("x/1", b"hello")

    asyncio.run(publisher())
    assert done.wait(10)
    thread.join(10)
    assert received == [b"hello"]


async def test_two_sensors_and_a_correlator_in_one_process_give_replays_result():
    inputs = [f"{SCENARIO}.pcapng", f"{SCENARIO}.adsb.csv"]
    bus = InProcessBus()
    out = io.BytesIO()
    site = settings_from_dict({"sensors": [{"id": "A", **SITE}, {"id": "B", **SITE}], "zones": [ZONE],
                               "correlator": DEMO_CORRELATOR})
    correlate = CorrelateService(site, bus, out=out, max_hold=60.0, until_ended=True)
    running = asyncio.create_task(correlate.run())
    await asyncio.sleep(0)  # subscribed before the sensors publish (it would also get them later: persistent)
    a = SensorService(sensor_settings("A", inputs[:1]), bus, exit_at_end=True)
    b = SensorService(sensor_settings("B", inputs[1:]), bus, exit_at_end=True)
    await asyncio.wait_for(asyncio.gather(a.run(), b.run()), 60)
    result = await asyncio.wait_for(running, 60)
    expected = io.BytesIO()
    ref = replay(inputs, load_settings(f"{SCENARIO}.config.toml"), out=expected)
    assert out.getvalue() == expected.getvalue()
    assert result.contacts == ref.contacts == 4320
    assert (result.counts.duplicates, result.counts.lost) == (0, 0)
    drone = next(t for t in result.tracks if t.uas_id == "1581FDEMQ00000000001")
    assert drone.sensors == {"A"}
    aircraft = next(t for t in result.tracks if t.icao == "4B1A2C")
    assert aircraft.sensors == {"B"}


async def test_malformed_messages_are_counted_and_never_stop_the_correlator(caplog):
    bus = InProcessBus()
    correlate = CorrelateService(Settings(), bus, max_hold=0.0)
    running = asyncio.create_task(correlate.run())
    contact = Contact(time=1000.0, transport=Transport.ADSB, sensor_id="A", transmitter="4b1a2c",
                      location=Location(lat=46.2, lon=6.1))
    good = b'{"v":1,"stream":"s","contacts":[' + encode_contact(contact, 1) + b"]}"
    huge = b'{"v":1,"stream":"s","contacts":[' + b",".join([encode_contact(contact, 1)] * 200_000) + b"]}"
    async with bus.connect("evil") as conn:
        await asyncio.sleep(0.05)
        for payload in (b"\xff\xfe garbage", b'{"v":9,"stream":"s","contacts":[]}', b"{" * 1000,
                        b'{"v":1,"stream":"s","contacts":[{"seq":1,"time":"x","transport":"adsb"}]}',
                        huge):
            await conn.publish("airwatch/v1/sensors/A/contacts/adsb", payload)
        await conn.publish("airwatch/v1/sensors/A/status", b"not json")
        await conn.publish("airwatch/v1/sensors/A/status", encode_doc({"status": "sleeping"}))
        await conn.publish("airwatch/v1/acks", encode_doc({"by": "nobody"}))
        await conn.publish("airwatch/v1/sensors/A/contacts/adsb", good)
        await until(lambda: correlate.contacts, what="the good contact")
    correlate.stop()
    result = await asyncio.wait_for(running, 10)
    assert result.contacts == 1 and result.malformed == 8
    assert "malformed message on airwatch/v1/sensors/A/contacts/adsb" in caplog.text
    assert len(huge) > 16 << 20 and "larger than" in caplog.text


def test_local_site_runs_sensor_and_correlator_for_the_console_without_a_broker(tmp_path):
    from airwatch.bus.local import LocalSite
    from airwatch.storage import Store
    from bus_helpers import wait_for

    settings = settings_from_dict({"sensor": {"id": "laptop", **SITE}, "zones": [ZONE],
                                   "sources": [{"type": "replay", "inputs": [f"{SCENARIO}.pcapng",
                                                                              f"{SCENARIO}.adsb.csv"]}]})
    store = Store(f"sqlite:///{tmp_path / 'site.db'}")
    site = LocalSite(settings, store=store)
    feed = site.feed()
    feed.start()  # the site's services too
    try:
        pic = wait_for(lambda: (p := feed.picture()).alerts and {h.name: h for h in p.sources}.get("sensor laptop")
                       and p.sources[-1].status == "stopped" and len(p.alerts) >= 6 and p,
                       what="the replayed stream's alerts in the console's picture")
        assert pic.mode == "live" and pic.tracks and pic.sensors["laptop"].lat == SITE["lat"]
        assert {a.type.value for a in pic.alerts} >= {"non_cooperative", "geofence", "proximity", "emergency"}
        alert = pic.alerts[0]
        feed.acknowledge(alert.alert_id, "operator")
        wait_for(lambda: site.correlate.correlator.manager.alerts[alert.alert_id].acknowledged,
                 what="the correlator to apply the acknowledgement")
    finally:
        feed.stop()  # and the site
    assert any(a.acknowledged_by == "operator" for a in store.alerts())
    assert site.error is None
    store.close()
