"""The MQTT bus: aiomqtt clients made from ``[mqtt]`` in config.toml, with errors in plain words.

* TLS (``tls = true``): the broker's certificate is checked against ``ca_file`` (else the
  system's store) and its host name; ``cert_file``/``key_file`` add a client certificate.
* ``username`` with ``password`` or ``password_file`` (read once, at start; trailing newline
  dropped), so the secret can stay out of config.toml.
* Persistent sessions: ``clean=False`` with a stable client id, so the broker keeps the
  subscriptions and queues QoS 1 messages while a client is away.
* aiomqtt does not reconnect by itself: :func:`airwatch.bus.base.keep_connected` does, and this
  module turns every failure into :class:`BusUnavailable` (try again) or :class:`BusRefused`
  (bad credentials, not authorised, an untrusted certificate: give up and say so).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from airwatch.bus.base import BusRefused, BusUnavailable, Message
from airwatch.config import ConfigError, MqttSettings

log = logging.getLogger("airwatch.bus.mqtt")

INFLIGHT = 100  # QoS 1 messages in flight per client (paho's default is 20)
TIMEOUT_S = 30.0  # a publish or subscribe not acknowledged by then means the link is dead

# CONNACK refusals, MQTT 3.1.1 return codes and their MQTT 5 reason codes
_REFUSED = {
    1: "the broker does not speak MQTT 3.1.1", 2: "the broker refused the client id",
    4: "bad username or password", 5: "not authorised (wrong username or password, or no access)",
    0x84: "the broker does not speak MQTT 3.1.1", 0x85: "the broker refused the client id",
    0x86: "bad username or password", 0x87: "not authorised (wrong username or password, or no access)",
    0x8A: "this client is banned", 0x8C: "bad authentication method",
}
_RETRY = {3: "server unavailable", 0x88: "server unavailable", 0x89: "server busy", 0x97: "quota exceeded"}


def read_password(settings: MqttSettings) -> str | None:
    """The password from config.toml or from ``password_file``.  Raises ``ConfigError``."""
    if settings.password_file is None:
        return settings.password
    try:
        return Path(settings.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as e:
        raise ConfigError(f"mqtt.password_file: cannot read {settings.password_file}: {e.strerror or e}") from None


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context for ``tls = true`` (``None`` otherwise).  Raises ``ConfigError`` on bad files."""
    if not settings.tls:
        return None
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
        if settings.cert_file is not None:
            ctx.load_cert_chain(settings.cert_file, settings.key_file)
    except FileNotFoundError as e:
        raise ConfigError(f"mqtt: TLS file not found: {e.filename}") from None
    except (ssl.SSLError, OSError) as e:
        raise ConfigError(f"mqtt: cannot load the TLS certificates or key: {e}") from None
    return ctx


def explain(error: BaseException, where: str) -> BusRefused | BusUnavailable:
    """An aiomqtt/paho/socket failure as a message an operator can act on."""
    rc = getattr(error, "rc", None)
    code = rc.value if isinstance(rc, ReasonCode) else rc
    if isinstance(error, aiomqtt.MqttError) and type(error).__name__ == "MqttConnectError":
        if code in _REFUSED:
            return BusRefused(f"broker {where} refused the connection: {_REFUSED[code]}")
        if code in _RETRY:
            return BusUnavailable(f"broker {where} refused the connection: {_RETRY[code]}")
        return BusRefused(f"broker {where} refused the connection: {error}")
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return BusRefused(f"TLS: the certificate of broker {where} is not trusted ({text}); "
                          "check mqtt.ca_file and the host name")
    if "WRONG_VERSION_NUMBER" in text or "UNEXPECTED_EOF" in text or "SSL" in text:
        return BusUnavailable(f"TLS handshake with {where} failed ({text}): is the broker's port a TLS listener?")
    if "Connection refused" in text or "Errno 111" in text:
        return BusUnavailable(f"broker {where} unreachable: connection refused")
    return BusUnavailable(f"broker {where}: {text}")


def _paho_logger() -> logging.Logger:
    """paho's own log, quiet unless debugging: its socket errors are reported by :func:`explain`."""
    logger = logging.getLogger("airwatch.bus.paho")
    if logger.level == logging.NOTSET and not logging.getLogger().isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.CRITICAL)
    return logger


class MqttConnection:
    def __init__(self, client: aiomqtt.Client, where: str) -> None:
        self.client = client
        self.where = where

    async def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        try:
            await self.client.publish(topic, payload, qos=qos, retain=retain, timeout=TIMEOUT_S)
        except aiomqtt.MqttError as e:
            raise explain(e, self.where) from None

    async def subscribe(self, *patterns: str) -> None:
        try:
            granted = await self.client.subscribe([(p, 1) for p in patterns], timeout=TIMEOUT_S)
        except aiomqtt.MqttError as e:
            raise explain(e, self.where) from None
        for pattern, code in zip(patterns, granted, strict=False):
            value = code.value if isinstance(code, ReasonCode) else code
            if value >= 0x80:
                raise BusRefused(f"broker {self.where} refused the subscription to {pattern} (not authorised?)")

    async def messages(self) -> AsyncIterator[Message]:
        try:
            async for m in self.client.messages:
                payload = m.payload if isinstance(m.payload, bytes) else str(m.payload or "").encode()
                yield Message(m.topic.value, payload, bool(m.retain), m.qos)
        except aiomqtt.MqttError as e:
            raise explain(e, self.where) from None


class MqttBus:
    """Connections to the broker of ``[mqtt]``.  Raises ``ConfigError`` for unreadable secrets or certificates."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.password = read_password(settings)
        self.tls = tls_context(settings)
        self.name = f"mqtt{'s' if settings.tls else ''}://{settings.host}:{settings.port}"

    @contextlib.asynccontextmanager
    async def connect(self, client_id: str, *, will: Message | None = None,
                      clean: bool = False) -> AsyncIterator[MqttConnection]:
        s = self.settings
        client = aiomqtt.Client(
            s.host, s.port, username=s.username, password=self.password, identifier=client_id,
            will=None if will is None else aiomqtt.Will(will.topic, will.payload, will.qos, will.retain),
            clean_session=clean, keepalive=max(1, round(s.keepalive_s)), tls_context=self.tls,
            max_inflight_messages=INFLIGHT, timeout=TIMEOUT_S, logger=_paho_logger())
        client.pending_calls_threshold = 1 << 30  # the pump keeps many publishes pending by design
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as e:
            raise explain(e, self.name) from None
        except OSError as e:  # TLS errors raised before aiomqtt wraps them
            raise explain(e, self.name) from None
        try:
            yield MqttConnection(client, self.name)
        except aiomqtt.MqttError as e:
            raise explain(e, self.name) from None
        finally:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)
