"""Sensors, correlator and console feed through a real Mosquitto started by the tests (never port 1883).

Child processes are the real commands (``airwatch sensor``, ``airwatch correlate``); nothing here
times anything: every wait polls for a condition with a generous timeout.
"""

from __future__ import annotations

import asyncio
import io
import signal
import sqlite3
import subprocess
import threading
import uuid

import orjson

from airwatch.bus.feed import MqttFeed
from airwatch.bus.mqtt import MqttBus
from airwatch.config import settings_from_dict
from airwatch.correlate import CorrelateService
from airwatch.replay import replay
from airwatch.sensor import SensorService
from airwatch.storage import Store
from bus_helpers import (
    SCENARIO,
    Broker,
    Listener,
    airwatch,
    finish,
    kill_all,
    make_certificates,
    replay_json,
    started,
    until,
    wait_for,
    write_correlator_config,
    write_sensor_config,
)

INPUTS = [f"{SCENARIO}.pcapng", f"{SCENARIO}.adsb.csv"]
DEMO_CONFIG = f"{SCENARIO}.config.toml"


def unique() -> str:
    return uuid.uuid4().hex[:10]


def start_correlator(broker: Broker, tmp_path, prefix: str, *args: str, **mqtt) -> subprocess.Popen[bytes]:
    """``airwatch correlate`` on ``prefix``, returned once it has subscribed (its status is up)."""
    config = write_correlator_config(tmp_path / "correlator.toml", broker, prefix, ["A", "B"], **mqtt)
    listener = Listener(broker, f"{prefix}/correlator/status") if "ca_file" not in mqtt else None
    proc = airwatch("correlate", "--config", str(config), "--client-id", f"correlator-{prefix}", *args)
    if listener is not None:
        try:
            wait_for(lambda: proc.poll() is not None or listener.on(f"{prefix}/correlator/status"),
                     what="the correlator to subscribe")
        finally:
            listener.close()
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    return proc


def sensor(broker: Broker, tmp_path, prefix: str, sensor_id: str, inputs: list[str], *args: str,
           speed: float | None = None, **mqtt) -> subprocess.Popen[bytes]:
    config = write_sensor_config(tmp_path / f"sensor-{sensor_id}.toml", sensor_id, broker, prefix, inputs,
                                 speed=speed, **mqtt)
    return airwatch("sensor", "--config", str(config), *args)


def assert_same_records(out: bytes, expected: bytes, err: bytes = b"") -> None:
    """The correlator's JSON Lines are replay's, line for line (the differing lines shown if not)."""
    got, want = out.splitlines(), expected.splitlines()
    diff = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w]
    assert got == want, (f"{len(got)} lines, replay {len(want)}; differing: "
                         + "\n".join(f"line {i}:\n  bus:    {g.decode()}\n  replay: {w.decode()}" for i, g, w in diff[:5])
                         + f"\n{err.decode()}")


def run_to_end(sensors: list[subprocess.Popen[bytes]], correlator: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Every sensor, then the correlator, finished with status 0: the correlator's stdout and stderr."""
    for p in sensors:
        rc, _, err = finish(p)
        assert rc == 0, err.decode()
    rc, out, err = finish(correlator)
    assert rc == 0, err.decode()
    return out, err


def test_two_sensors_through_mosquitto_give_replays_tracks_and_alerts(mosquitto, tmp_path):
    prefix = f"t{unique()}/v1"
    correlator = start_correlator(mosquitto, tmp_path, prefix, "--json", "--until-ended", "--max-hold", "60")
    procs = [sensor(mosquitto, tmp_path, prefix, "A", INPUTS[:1], "--exit-at-end"),
             sensor(mosquitto, tmp_path, prefix, "B", INPUTS[1:], "--exit-at-end")]
    try:
        out, err = run_to_end(procs, correlator)
    finally:
        kill_all([*procs, correlator])
    expected = replay_json(INPUTS, DEMO_CONFIG)
    assert_same_records(out, expected, err)
    assert b"4320 contacts from 2 sensor(s)" in err and b" 0 lost" in err, err.decode()
    assert {orjson.loads(line)["type"] for line in out.splitlines() if b'"alert"' in line} == {
        "non_cooperative", "geofence", "proximity", "emergency"}


async def test_real_captures_two_sensors_hear_one_drone_as_one_track(mosquitto, captures, tmp_path):
    """The services' API over the real broker, on recordings made by others: a real Parrot ANAFI heard by
    both sensors, and a dump1090 Beast recording (undated: placed 30 s into the capture) on one of them."""
    parrot = str(captures / "remoteid" / "parrot_anafi4_real.pcapng")
    beast = str(captures / "adsb" / "sample_dump1090.bin")
    start = 1680365730.4150584 + 30.0  # the Parrot capture's first frame + 30 s
    prefix = f"t{unique()}/v1"
    mqtt = {"host": "127.0.0.1", "port": mosquitto.port, "topic_prefix": prefix}

    def sensor_settings(sensor_id, inputs):
        return settings_from_dict({"sensor": {"id": sensor_id},
                                   "mqtt": {**mqtt, "spool_dir": str(tmp_path / "spool")},
                                   "sources": [{"type": "replay", "inputs": inputs, "start": str(start)}]})

    site = settings_from_dict({"mqtt": mqtt, "sensors": [{"id": "A"}, {"id": "B"}]})
    out = io.BytesIO()
    correlate = CorrelateService(site, MqttBus(site.mqtt), out=out, max_hold=60.0, until_ended=True,
                                 client_id=f"correlator-{prefix}")
    running = await started(correlate)
    sensors = [SensorService(sensor_settings(sid, inputs), MqttBus(site.mqtt), exit_at_end=True)
               for sid, inputs in (("A", [parrot]), ("B", [parrot, beast]))]
    await asyncio.wait_for(asyncio.gather(*(s.run() for s in sensors)), 60)
    result = await asyncio.wait_for(running, 60)
    for s in sensors:
        s.spool.close()
    expected = io.BytesIO()
    ref = replay([parrot, parrot, beast], out=expected, start=start)
    assert out.getvalue() == expected.getvalue()
    assert result.contacts == ref.contacts == 2 * 1140 + 17
    drone = next(t for t in result.tracks if t.uas_id == "1588E040445AC004418")
    assert drone.sensors == {"A", "B"}  # heard by both: one track
    aircraft = next(t for t in result.tracks if t.icao)
    assert aircraft.sensors == {"B"}


def spooled(path) -> int:
    """Contacts waiting in a sensor's spool file (read beside the running sensor; WAL allows it)."""
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT count(*) FROM contacts").fetchone()[0]


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(tmp_path):
    """Mosquitto stopped and started again while both sensors stream: the sensors spool, then send again;
    the correlator's persistent session keeps its queue; duplicates are dropped by sequence number."""
    broker = Broker(tmp_path / "broker", persistence=True).start()
    prefix = f"t{unique()}/v1"
    correlator = start_correlator(broker, tmp_path, prefix, "--json", "--until-ended", "--max-hold", "60")
    procs = [sensor(broker, tmp_path, prefix, "A", INPUTS[:1], "--exit-at-end", speed=30.0),
             sensor(broker, tmp_path, prefix, "B", INPUTS[1:], "--exit-at-end", speed=30.0)]
    spools = [tmp_path / f"spool-{s}" / s / "spool.sqlite" for s in "AB"]
    listener = Listener(broker, f"{prefix}/sensors/+/status")
    try:
        def both_streaming() -> bool:
            seqs = [orjson.loads(p).get("seq", 0) for p in (listener.on(f"{prefix}/sensors/{s}/status")[-1:] or [b"{}"]
                                                            for s in "AB") for p in p]
            return len(seqs) == 2 and min(seqs) >= 50
        wait_for(both_streaming, what="both sensors to have sent contacts")
        listener.close()
        broker.stop()  # SIGTERM: Mosquitto saves its sessions and queues to its persistence file
        # A's capture has frames all along (B's aircraft may be silent for a while): it spools meanwhile
        wait_for(lambda: spooled(spools[0]) > 0, what="sensor A to spool while the broker is away")
        broker.start()
        out, err = run_to_end(procs, correlator)
    finally:
        kill_all([*procs, correlator])
        broker.stop()
    assert_same_records(out, replay_json(INPUTS, DEMO_CONFIG), err)
    assert b"4320 contacts from 2 sensor(s)" in err and b" 0 lost in 0 gaps, 0 released before" in err, err.decode()


def test_console_feed_sees_tracks_alerts_acknowledgements_and_a_killed_sensor_go_down(mosquitto, tmp_path):
    prefix = f"t{unique()}/v1"
    db = tmp_path / "site.db"
    correlator = start_correlator(mosquitto, tmp_path, prefix, "--db", f"sqlite:///{db}")
    sensor_a = sensor(mosquitto, tmp_path, prefix, "A", INPUTS[:1], speed=20.0)
    feed = MqttFeed(settings_from_dict({"mqtt": {"port": mosquitto.port, "topic_prefix": prefix}}))
    feed.start()
    try:
        pic = wait_for(lambda: (p := feed.picture()).alerts and p, what="an alert in the console's picture")
        assert pic.mode == "live" and pic.tracks and pic.error is None
        health = {h.name: h for h in pic.sources}
        assert health["sensor A"].status == "ok" and health["correlator"].status == "ok"
        assert pic.sensors["A"].lat == 46.2044  # the sensor's own position, from its status
        alert = pic.alerts[0]
        feed.acknowledge(alert.alert_id, "night shift")

        def stored_ack() -> bool:
            with Store(f"sqlite:///{db}") as store:
                return any(a.acknowledged_by == "night shift" for a in store.alerts() if a.alert_id == alert.alert_id)
        wait_for(stored_ack, what="the correlator to store the acknowledgement")
        assert next(a for a in feed.picture().alerts if a.alert_id == alert.alert_id).acknowledged

        sensor_a.send_signal(signal.SIGKILL)  # no warning: only the last will can tell
        sensor_a.wait(10)
        down = wait_for(lambda: (h := {h.name: h for h in feed.picture().sources}["sensor A"]).status == "down" and h,
                        what="the killed sensor to show as down")
        assert "connection lost" in down.detail
        correlator.send_signal(signal.SIGTERM)
        rc, out, err = finish(correlator)
        assert rc == 0, err.decode()
        assert b"non_cooperative" in out  # one line per alert as it is raised
        wait_for(lambda: {h.name: h for h in feed.picture().sources}["correlator"].status == "stopped",
                 what="the correlator's clean stop to show")
    finally:
        feed.stop()
        kill_all([sensor_a, correlator])


def test_tls_and_passwords_and_a_clear_refusal(tmp_path):
    certs = make_certificates(tmp_path / "certs")
    passwords = tmp_path / "passwd"
    for user, password in (("sensor", "s3nsor pass"), ("correlator", "c0rrelator")):
        done = subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if not passwords.exists() else []), str(passwords),
                               user, password], capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr
    passwords.chmod(0o644)
    broker = Broker(tmp_path / "broker", extra=(f"cafile {certs['ca']}\ncertfile {certs['cert']}\nkeyfile {certs['key']}\n"
                                                f"allow_anonymous false\npassword_file {passwords}\n")).start()
    secret = tmp_path / "correlator.secret"
    secret.write_text("c0rrelator\n")
    prefix = f"t{unique()}/v1"
    tls = {"tls": True, "ca_file": str(certs["ca"])}
    procs = []
    try:
        correlator = start_correlator(broker, tmp_path, prefix, "--until-ended", "--max-hold", "60",
                                      username="correlator", password_file=str(secret), **tls)
        procs.append(correlator)
        elsewhere = {"spool_dir": str(tmp_path / "refused-spool")}  # what the refused ones spooled stays apart
        wrong = sensor(broker, tmp_path, prefix, "B", INPUTS[1:], "--exit-at-end", username="sensor",
                       password="wrong", **tls, **elsewhere)
        rc, _, err = finish(wrong)
        assert rc == 2 and b"refused the connection" in err and b"username or password" in err, err.decode()

        other = make_certificates(tmp_path / "other-ca")  # a CA the broker's certificate is not signed by
        untrusted = sensor(broker, tmp_path, prefix, "B", INPUTS[1:], "--exit-at-end", username="sensor",
                           password="s3nsor pass", tls=True, ca_file=str(other["ca"]), **elsewhere)
        rc, _, err = finish(untrusted)
        assert rc == 2 and b"not trusted" in err, err.decode()

        for sensor_id, inputs in (("A", INPUTS[:1]), ("B", INPUTS[1:])):
            procs.append(sensor(broker, tmp_path, prefix, sensor_id, inputs, "--exit-at-end", username="sensor",
                                password="s3nsor pass", **tls))
        out, err = run_to_end(procs[1:], correlator)
        assert b"4320 contacts from 2 sensor(s)" in err, err.decode()
        assert b"geofence" in out
    finally:
        kill_all(procs)
        broker.stop()


async def test_malformed_messages_on_the_real_broker_are_counted_with_their_topic(mosquitto, caplog):
    prefix = f"t{unique()}/v1"
    site = settings_from_dict({"mqtt": {"port": mosquitto.port, "topic_prefix": prefix}})
    correlate = CorrelateService(site, MqttBus(site.mqtt), max_hold=0.0, client_id=f"correlator-{prefix}")
    running = await started(correlate)
    good = (b'{"v":1,"stream":"s","contacts":[{"seq":1,"time":1763700000.0,"transport":"adsb","sensor_id":"X",'
            b'"transmitter":"4b1a2c","aircraft":{"icao":"4b1a2c","df":17}}]}')
    bus = MqttBus(site.mqtt)
    async with bus.connect(f"evil-{prefix}", clean=True) as conn:
        topic = f"{prefix}/sensors/X/contacts/adsb"
        for payload in (b"\x00garbage\xff", b'{"v":7}', b"[" * 100_000, b"x" * (17 << 20)):
            await conn.publish(topic, payload)
        await conn.publish(topic, good)
    await until(lambda: correlate.contacts, what="the good contact")
    correlate.stop()
    result = await asyncio.wait_for(running, 30)
    assert result.contacts == 1 and result.malformed == 4
    assert f"malformed message on {prefix}/sensors/X/contacts/adsb" in caplog.text


def test_sigusr1_writes_what_each_task_waits_on_and_the_service_keeps_running(mosquitto, tmp_path):
    """``kill -USR1`` on a sensor that seems stuck: its tasks, its link and its spool in the log."""
    prefix = f"t{unique()}/v1"
    proc = sensor(mosquitto, tmp_path, prefix, "A", [INPUTS[0]], "--spool", str(tmp_path / "spool-A" / "A"), speed=1.0)
    listener = Listener(mosquitto, f"{prefix}/sensors/A/status")
    try:
        wait_for(lambda: proc.poll() is not None or listener.on(f"{prefix}/sensors/A/status"), what="the sensor's status")
        assert proc.poll() is None
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, b"")), daemon=True)
        reader.start()
        proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: any(b"--- task pump" in line for line in lines), what="the task dump on stderr")
        assert proc.poll() is None  # the dump stopped nothing
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        reader.join(10)
    finally:
        listener.close()
    text = b"".join(lines).decode()
    assert code == 0, text[-2000:]
    assert "tasks" in text and "--- task pump" in text and "--- task heartbeat" in text
    assert "service SensorService: state up, link up" in text
    assert "spool: " in text and "unacknowledged" in text and "handed out up to" in text
