"""Benchmark: contacts from sensors through Mosquitto into the correlator, and the delay to an alert.

    python bench/bench_mqtt.py [--minutes 3] [--drones 40] [--rate 1000] [--seconds 20]

Starts its own Mosquitto on a free port of 127.0.0.1 (never 1883), then measures, each next to a
reference taken in the same run on the same machine:

1. **Throughput.**  A simulated busy site (bench_replay's scenario, shorter) split between two
   ``airwatch sensor`` processes (A replays the pcapng, B the ADS-B recording, as fast as they can,
   ``--exit-at-end``) and the correlate service in this process (exact merge, ``max_hold`` 60 s):
   contacts/s from the first contact reaching the correlator to the last one correlated, and every
   contact checked in once (no loss, no duplicate).  References: raw aiomqtt, one publisher process
   sending the very payloads the sensors sent (same sizes, QoS 1, the same window) to a subscriber
   here, in contacts/s; and ``replay()`` of the same inputs in this process (no bus).
2. **Delay at 1,000 contacts/s.**  Two sensor processes with a synthetic live source (500
   contacts/s each, stamped with the wall clock when "heard", as a radio does; 100 cooperative
   drones each, and a new drone inside the protected zone 2.5 times a second): the delay from a contact reaching its sensor to its
   geofence alert at the correlator (median, p99), and to its correlation for every contact.
   Reference: raw aiomqtt one-way delay of a message of the same size at the same message rate.

Never run as a test: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
SITE = (46.2044, 6.1432)
WINDOW = 32  # as airwatch.sensor.WINDOW


def start_broker(work: Path) -> tuple[Any, int]:
    """The tests' own Mosquitto (tests/bus_helpers.py): a free port of 127.0.0.1, never 1883."""
    sys.path.insert(0, str(BENCH.parent / "tests"))
    from bus_helpers import Broker

    broker = Broker(work / "broker").start()
    return broker, broker.port


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


# -- roles run in child processes ------------------------------------------------------------------


class SyntheticSource:
    """A live source: ``rate`` contacts/s stamped with the wall clock; a new drone in the zone 2.5 times a second."""

    def __init__(self, sensor_id: str, rate: float, seconds: float) -> None:
        from airwatch.sources.health import SourceHealth

        self.sensor_id, self.rate, self.seconds = sensor_id, rate, seconds
        self.health = SourceHealth(name=f"synthetic {sensor_id}", kind="synthetic", sensor_id=sensor_id)

    async def run(self, emit) -> None:  # type: ignore[no-untyped-def]
        from airwatch.contact import BasicID, Contact, Location, Transport

        lat0, lon0 = SITE
        start = time.time()
        n = intruders = 0
        tag = self.sensor_id
        while (now := time.time()) - start < self.seconds:
            due = int((now - start) * self.rate)
            while n < due:
                n += 1
                if n % max(1, int(self.rate / 2.5)) == 0:  # an intruder appears inside the zone
                    intruders += 1
                    serial, lat, lon = f"1581F{tag}INTRUDER{intruders:06d}", lat0 + 0.0005, lon0
                    mac = f"06:{ord(tag):02x}:00:{intruders >> 8 & 255:02x}:{intruders & 255:02x}:01"
                else:  # one of 100 cooperative drones 2 km away
                    i = n % 100
                    serial, lat, lon = f"1581F{tag}COOP{i:010d}", lat0 + 0.02 + i * 1e-4, lon0 + 0.02
                    mac = f"02:{ord(tag):02x}:00:00:{i:02x}:01"
                emit(Contact(time=time.time(), transport=Transport.WIFI_BEACON, transmitter=mac,
                             basic_ids=[BasicID(1, 2, serial)],
                             location=Location(lat=lat, lon=lon, height_m=50.0, alt_geodetic_m=470.0)))
                self.health.count(1, 1)
            await asyncio.sleep(0.002)


def role_sensor(args: argparse.Namespace) -> None:
    from airwatch.bus.base import run_until_signalled
    from airwatch.bus.mqtt import MqttBus
    from airwatch.config import settings_from_dict
    from airwatch.sensor import SensorService

    settings = settings_from_dict({"sensor": {"id": args.id, "lat": SITE[0], "lon": SITE[1]},
                                   "mqtt": {"port": args.port, "topic_prefix": args.prefix, "spool_dir": args.spool}})
    service = SensorService(settings, MqttBus(settings.mqtt), sources=[SyntheticSource(args.id, args.rate, args.seconds)],
                            exit_at_end=True)
    run_until_signalled(service)


def role_raw_publisher(args: argparse.Namespace) -> None:
    """Publish the payloads in ``args.payloads`` (length-prefixed) with QoS 1, ``WINDOW`` in flight;
    or, with ``--rate``, one ``--size`` message every 1/rate s carrying its send time."""
    import aiomqtt

    async def main() -> None:
        async with aiomqtt.Client("127.0.0.1", args.port, max_inflight_messages=100) as client:
            client.pending_calls_threshold = 1 << 30
            sem = asyncio.Semaphore(WINDOW)
            tasks = []

            async def send(payload: bytes) -> None:
                async with sem:
                    await client.publish(args.prefix, payload, qos=1)

            if args.msg_rate:
                start = time.time()
                for i in range(int(args.msg_rate * args.seconds)):
                    ahead = start + i / args.msg_rate - time.time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                    stamp = f"{time.time():.6f}".encode()
                    tasks.append(asyncio.ensure_future(send(stamp + b" " * max(0, args.size - len(stamp)))))
            else:
                data = Path(args.payloads).read_bytes()
                at = 0
                while at < len(data):
                    size = int.from_bytes(data[at:at + 4], "big")
                    tasks.append(asyncio.ensure_future(send(data[at + 4:at + 4 + size])))
                    at += 4 + size
                    await asyncio.sleep(0)
            await asyncio.gather(*tasks)
            await client.publish(args.prefix, b"END", qos=1)

    asyncio.run(main())


# -- the measurements --------------------------------------------------------------------------------


async def raw_subscriber(port: int, topic: str, ready: asyncio.Event, on_message) -> None:  # type: ignore[no-untyped-def]
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(topic, qos=1)
        ready.set()
        async for m in client.messages:
            if m.payload == b"END":
                return
            on_message(bytes(m.payload))


def child(*args: str, **kw) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, *args], **kw)


async def throughput(work: Path, port: int, pcap: Path, adsb: Path) -> None:
    import io

    from airwatch.bus.mqtt import MqttBus
    from airwatch.bus.payload import batch, encode_contact
    from airwatch.bus.topics import KINDS
    from airwatch.config import settings_from_dict
    from airwatch.correlate import CorrelateService
    from airwatch.inputs import InputOptions, read_inputs
    from airwatch.replay import replay

    sensor_cfg = {"lat": SITE[0], "lon": SITE[1]}
    options = InputOptions(receiver=SITE)
    expected = sum(1 for _ in read_inputs([str(pcap)], options)[0]) + sum(1 for _ in read_inputs([str(adsb)], options)[0])

    # reference: replay() of the same inputs, in this process, no bus
    settings = settings_from_dict({"sensor": {"id": "bench", **sensor_cfg}})
    t0 = time.perf_counter()
    ref = replay([str(pcap), str(adsb)], settings, out=io.BytesIO())
    replay_rate = ref.contacts / (time.perf_counter() - t0)

    # the bus path
    prefix = f"bench{os.getpid()}/v1"
    mqtt = {"port": port, "topic_prefix": prefix}
    for sid, f in (("A", pcap), ("B", adsb)):
        (work / f"{sid}.toml").write_text(
            f'[sensor]\nid = "{sid}"\nlat = {SITE[0]}\nlon = {SITE[1]}\n[mqtt]\nport = {port}\n'
            f'topic_prefix = "{prefix}"\nspool_dir = "{work / "spool"}"\n[[sources]]\ntype = "replay"\n'
            f'inputs = ["{f}"]\n')
    site = settings_from_dict({"mqtt": mqtt, "sensors": [{"id": "A", **sensor_cfg}, {"id": "B", **sensor_cfg}]})
    marks: list[float] = []

    def on_step(step) -> None:  # type: ignore[no-untyped-def]
        if not marks:
            marks.append(time.perf_counter())

    service = CorrelateService(site, MqttBus(site.mqtt), max_hold=60.0, until_ended=True, on_step=on_step,
                               client_id=f"bench-correlator-{os.getpid()}")
    running = asyncio.create_task(service.run())
    while not service.ready.is_set():
        await asyncio.sleep(0.01)
    sensors = [child("-m", "airwatch", "sensor", "--config", str(work / f"{s}.toml"), "--exit-at-end",
                     stderr=subprocess.DEVNULL) for s in "AB"]
    result = await running
    elapsed = time.perf_counter() - marks[0]
    for p in sensors:
        p.wait()
    c = result.counts
    rate = result.contacts / elapsed

    # reference: raw aiomqtt with the same payloads (what the sensors' spools would send, 512 contacts a read)
    payloads = bytearray()
    n_messages = 0
    for f in (pcap, adsb):
        contacts = list(read_inputs([str(f)], options)[0])
        for i in range(0, len(contacts), 512):
            groups: dict[str, list[bytes]] = {}
            for j, contact in enumerate(contacts[i:i + 512]):
                groups.setdefault(KINDS[contact.transport], []).append(encode_contact(contact, i + j + 1))
            for bodies in groups.values():
                body = batch("stream", bodies)
                payloads += len(body).to_bytes(4, "big") + body
                n_messages += 1
    (work / "payloads.bin").write_bytes(payloads)
    got = [0]
    ready = asyncio.Event()
    first: list[float] = []

    def count(payload: bytes) -> None:
        if not first:
            first.append(time.perf_counter())
        got[0] += 1

    sub = asyncio.create_task(raw_subscriber(port, f"{prefix}/raw", ready, count))
    await ready.wait()
    pub = child(__file__, "--role", "raw-publisher", "--port", str(port), "--prefix", f"{prefix}/raw",
                "--payloads", str(work / "payloads.bin"))
    await sub
    raw_elapsed = time.perf_counter() - first[0]
    pub.wait()
    raw_rate = expected / raw_elapsed

    print(f"\n1. Throughput: {expected:,} contacts (A: pcapng, B: ADS-B), two sensor processes -> Mosquitto -> "
          f"correlator")
    print(f"   {'path':64} {'contacts/s':>11}")
    print(f"   {'airwatch sensor x2 -> Mosquitto -> correlate service (exact merge)':64} {rate:>11,.0f}")
    print(f"   {'  reference: raw aiomqtt, the same {n} payloads, QoS 1'.format(n=n_messages):64} {raw_rate:>11,.0f}")
    print(f"   {'  reference: replay() of the same inputs, no bus':64} {replay_rate:>11,.0f}")
    print(f"   correlated {result.contacts:,} of {expected:,} contacts; {c.duplicates} duplicates dropped, {c.lost} lost; "
          f"{len(result.alerts)} alerts (replay: {len(ref.alerts)}); raw messages received {got[0]:,} of {n_messages:,}")


async def delay(work: Path, port: int, rate: float, seconds: float) -> None:
    from airwatch.bus.mqtt import MqttBus
    from airwatch.config import settings_from_dict
    from airwatch.correlate import CorrelateService
    from airwatch.correlator.model import AlertType

    prefix = f"delay{os.getpid()}/v1"
    site = settings_from_dict({"mqtt": {"port": port, "topic_prefix": prefix},
                               "sensors": [{"id": s, "lat": SITE[0], "lon": SITE[1]} for s in "AB"],
                               "zones": [{"name": "site", "lat": SITE[0], "lon": SITE[1], "radius_m": 300}]})
    alert_delays: list[float] = []
    contact_delays: list[float] = []

    def on_step(step) -> None:  # type: ignore[no-untyped-def]
        now = time.time()
        if step.track is not None and step.track.latest.get("radio") is not None:
            contact_delays.append(now - step.track.latest["radio"].time)
        for alert in step.alerts:
            if alert.type is AlertType.GEOFENCE:
                alert_delays.append(now - alert.time)

    service = CorrelateService(site, MqttBus(site.mqtt), on_step=on_step, client_id=f"bench-delay-{os.getpid()}")
    running = asyncio.create_task(service.run())
    while not service.ready.is_set():
        await asyncio.sleep(0.01)
    sensors = [child(__file__, "--role", "sensor", "--id", s, "--port", str(port), "--prefix", prefix,
                     "--rate", str(rate / 2), "--seconds", str(seconds), "--spool", str(work / f"spool-{s}"))
               for s in "AB"]
    for p in sensors:
        await asyncio.to_thread(p.wait)
    await asyncio.sleep(1.0)
    service.stop()
    result = await running
    c = result.counts

    # reference: raw aiomqtt one-way delay, same message rate and size as the sensors sent
    per_message = max(1, round(rate * 0.005 / 2))  # contacts per message at 5 ms of linger, per sensor
    size = 330 * per_message + 40
    raw: list[float] = []
    ready = asyncio.Event()
    sub = asyncio.create_task(raw_subscriber(port, f"{prefix}/raw", ready,
                                             lambda p: raw.append(time.time() - float(p[:17]))))
    await ready.wait()
    pub = child(__file__, "--role", "raw-publisher", "--port", str(port), "--prefix", f"{prefix}/raw",
                "--msg-rate", str(rate / per_message), "--seconds", str(seconds), "--size", str(size))
    await sub
    pub.wait()

    ms = 1000.0
    print(f"\n2. Delay at {rate:,.0f} contacts/s ({seconds:.0f} s, two sensors at {rate / 2:,.0f}/s each, live clock)")
    print(f"   {'path':64} {'median':>8} {'p99':>8} {'n':>7}")
    print(f"   {'frame at a sensor -> its geofence alert at the correlator':64} "
          f"{statistics.median(alert_delays) * ms:>6.1f}ms {pct(alert_delays, 99) * ms:>6.1f}ms {len(alert_delays):>7,}")
    print(f"   {'frame at a sensor -> correlated (every contact)':64} "
          f"{statistics.median(contact_delays) * ms:>6.1f}ms {pct(contact_delays, 99) * ms:>6.1f}ms {len(contact_delays):>7,}")
    print(f"   {'  reference: raw aiomqtt one-way, {n:,.0f} msg/s of {s} bytes, QoS 1'.format(n=rate / per_message, s=size):64} "
          f"{statistics.median(raw) * ms:>6.1f}ms {pct(raw, 99) * ms:>6.1f}ms {len(raw):>7,}")
    print(f"   correlated {result.contacts:,} contacts; {c.duplicates} duplicates, {c.lost} lost")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=3, help="simulated site duration for the throughput part")
    ap.add_argument("--drones", type=int, default=40)
    ap.add_argument("--aircraft", type=int, default=10)
    ap.add_argument("--rate", type=float, default=1000.0, help="contacts/s for the delay part")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the delay part")
    ap.add_argument("--role", help=argparse.SUPPRESS)
    for hidden in ("--id", "--port", "--prefix", "--payloads", "--spool", "--size", "--msg-rate"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "sensor":
        args.port, args.rate = int(args.port), float(args.rate)
        return role_sensor(args)
    if args.role == "raw-publisher":
        args.port, args.size, args.msg_rate = int(args.port), int(args.size or 0), float(args.msg_rate or 0)
        return role_raw_publisher(args)

    from bench_replay import scenario

    from airwatch.heap import tune_gc
    from airwatch.simulate import simulate

    tune_gc()  # the correlate service runs in this process: as `airwatch correlate` does

    work = Path(tempfile.mkdtemp(prefix="airwatch-bench-mqtt-"))
    broker, port = start_broker(work)
    try:
        t0 = time.perf_counter()
        simulate(scenario(args.minutes, args.drones, args.aircraft), work)
        print(f"simulated a busy site, {args.minutes} min, {args.drones} drones, {args.aircraft} aircraft, "
              f"in {time.perf_counter() - t0:.0f} s; Mosquitto on 127.0.0.1:{port}", flush=True)
        asyncio.run(throughput(work, port, work / "bench.pcapng", work / "bench.adsb.csv"))
        asyncio.run(delay(work, port, args.rate, args.seconds))
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
