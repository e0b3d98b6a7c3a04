"""Test helpers for the MQTT bus: a real Mosquitto on a free port, certificates, a subscriber, polling.

Never port 1883 (a system broker may run there): every broker here listens on a free port of
127.0.0.1 chosen at start.  Tests poll for conditions with generous timeouts; they never assert
on elapsed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "captures" / "demo_scenario"
TIMEOUT = 60.0


def wait_for(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition",
              interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something true; fail saying ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


async def until(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    """:func:`wait_for` inside an event loop (the services run on it meanwhile)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.01)
    return value


async def started(service: Any) -> asyncio.Task[Any]:
    """``service.run()`` as a task, returned once the service has subscribed."""
    running = asyncio.create_task(service.run())
    await until(lambda: service.ready.is_set() or running.done(), what="the correlator to subscribe")
    assert service.ready.is_set(), running.result()
    return running


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 1883:
            return port


def mosquitto_path() -> str:
    path = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)
    if path is None:
        pytest.fail("mosquitto is not installed: the MQTT tests need a real broker "
                    "(apt-get install mosquitto; .ci/run installs it)")
    return path


def _die_with_parent() -> None:
    """In the child: ask Linux to end this broker when the test run that started it ends, even killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Broker:
    """A Mosquitto of the test's own, with a config file in ``workdir``."""

    def __init__(self, workdir: Path, *, persistence: bool = False, extra: str = "") -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persistence = persistence
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "mosquitto.log"

    def config(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1"]
        if os.geteuid() == 0:
            lines.append("user root")  # read the test's files in its private tmp folder
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/", "autosave_interval 3600"]
        else:
            lines.append("persistence false")
        lines.append("max_queued_messages 100000")
        if "allow_anonymous" not in self.extra:
            lines.append("allow_anonymous true")
        return "\n".join(lines) + "\n" + self.extra

    def start(self) -> Broker:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config())
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([mosquitto_path(), "-c", str(conf)], stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"mosquitto exited at start: {self.log.read_text(errors='replace')[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not listen on {self.port}: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.01)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    return repr(value)


def mqtt_section(broker: Broker, prefix: str, **more: Any) -> str:
    lines = ["[mqtt]", 'host = "127.0.0.1"', f"port = {broker.port}", f"topic_prefix = {toml_value(prefix)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in more.items()]
    return "\n".join(lines) + "\n"


def write_sensor_config(path: Path, sensor_id: str, broker: Broker, prefix: str, inputs: list[str], *,
                        speed: float | None = None, spool_dir: Path | None = None, lat: float = 46.2044,
                        lon: float = 6.1432, **mqtt: Any) -> Path:
    spool = spool_dir or path.parent / f"spool-{sensor_id}"
    text = (f'[sensor]\nid = "{sensor_id}"\nlat = {lat}\nlon = {lon}\n\n'
            + mqtt_section(broker, prefix, spool_dir=str(spool), **mqtt)
            + "\n[[sources]]\ntype = \"replay\"\ninputs = [" + ", ".join(f'"{i}"' for i in inputs) + "]\n")
    if speed is not None:
        text += f"speed = {speed}\n"
    path.write_text(text)
    return path


def write_correlator_config(path: Path, broker: Broker, prefix: str, sensors: list[str], *, zones: bool = True,
                            lat: float = 46.2044, lon: float = 6.1432, **mqtt: Any) -> Path:
    text = mqtt_section(broker, prefix, **mqtt)
    for sensor_id in sensors:
        text += f'\n[[sensors]]\nid = "{sensor_id}"\nlat = {lat}\nlon = {lon}\n'
    if zones:  # the demo's protected zone and expected UAV (captures/demo_scenario.config.toml)
        text += '\n[[zones]]\nname = "border-post"\nlat = 46.2044\nlon = 6.1432\nradius_m = 300\nceiling_m = 400\n'
        text += '\n[correlator]\nuav_allow_list = ["AE5F01"]\n'
    path.write_text(text)
    return path


def airwatch(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    """``airwatch ARGS`` as a child process (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "airwatch", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=kw.pop("cwd", ROOT), **kw)


def finish(proc: subprocess.Popen[bytes], timeout: float = TIMEOUT) -> tuple[int, bytes, bytes]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{proc.args} did not finish in {timeout:.0f} s; stderr: {err.decode(errors='replace')[-3000:]}")
    return proc.returncode, out, err


def replay_json(inputs: list[str], config: Path | str) -> bytes:
    done = subprocess.run([sys.executable, "-m", "airwatch", "replay", "--json", "-q", "--config", str(config),
                           *inputs], capture_output=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Listener:
    """A paho subscriber on its own thread: every (topic, payload, retain) it receives, in order."""

    def __init__(self, broker: Broker, *topics: str, **tls: Any) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-listener-{free_port()}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if not subscribed.wait(10):
            pytest.fail("test listener could not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def make_certificates(folder: Path) -> dict[str, Path]:
    """A test CA and a server certificate for 127.0.0.1 / localhost, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed: the TLS test makes its certificates with it (apt-get install openssl)")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt, ext = folder / "server.key", folder / "server.csr", folder / "server.crt", folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (
        [openssl, "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2",
         "-subj", "/CN=airwatch test CA"],
        [openssl, "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
         "-out", str(crt), "-days", "2", "-extfile", str(ext)],
    ):
        done = subprocess.run(cmd, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    for path in (ca_crt, key, crt):
        path.chmod(0o644)
    return {"ca": ca_crt, "cert": crt, "key": key}


def kill_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
