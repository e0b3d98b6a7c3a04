"""What travels on the bus: contacts, tracks and alerts as compact, versioned JSON (orjson).

Every object is a JSON object whose keys are the dataclass field names of
:mod:`airwatch.contact` and :mod:`airwatch.correlator.model`, with three rules that keep it
compact and exact (docs/mqtt.md has examples):

* a field equal to its default (``None``, ``false``, an empty list or set, ``"operator"`` for a
  point's kind, ...) is left out, and comes back as that default;
* enumerations are their values (``"wifi_beacon"``, severity ``15``); the standard's numbers
  come back as the same ``IntEnum`` members the decoders build (reserved values as plain ints);
* bytes (``raw``, authentication data) are base64 text; sets are sorted lists; the records of
  ``Track.latest`` carry their type in ``"@"`` (``{"@": "Location", "lat": ...}``).

Floats must be finite (JSON has no NaN): the decoders never produce anything else.

A batch of contacts (one MQTT message on ``.../contacts/{kind}``) is
``{"v": 1, "stream": "<id>", "contacts": [{"seq": 1, "time": ..., "transport": ...}, ...]}``:
``stream`` names the sensor's sequence (a new spool starts a new one) and ``seq`` numbers each
contact within it, so the correlator can drop duplicates and count gaps.

Decoding checks every value's type (and that latitudes and longitudes are in range): anything
else raises :class:`PayloadError`, never a half-built object.  Unknown keys are ignored, so a
newer sender can add optional fields without breaking older readers.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import math
import types
import typing
from collections import deque
from collections.abc import Callable
from enum import Enum, IntEnum
from itertools import islice
from typing import Any

import orjson

from airwatch import contact as _contact
from airwatch.contact import Contact
from airwatch.correlator import model as _model
from airwatch.correlator.model import Alert, Track
from airwatch.decoders.remoteid import enums

VERSION = 1
MAX_PAYLOAD = 16 << 20  # larger messages are refused before parsing


class PayloadError(ValueError):
    """A message that is not a valid version-1 payload; the text says what is wrong."""


# Fields holding a standard's number: decoded back to the enumeration member, as the decoders do.
_INT_ENUMS: dict[tuple[type, str], type[IntEnum]] = {
    (_contact.BasicID, "id_type"): enums.IdType, (_contact.BasicID, "ua_type"): enums.UAType,
    (_contact.Location, "status"): enums.OperationalStatus,
    (_contact.Location, "accuracy_horizontal"): enums.HorizontalAccuracy,
    (_contact.Location, "accuracy_vertical"): enums.VerticalAccuracy,
    (_contact.Location, "accuracy_baro"): enums.VerticalAccuracy,
    (_contact.Location, "accuracy_speed"): enums.SpeedAccuracy,
    (_contact.SelfID, "description_type"): enums.DescriptionType,
    (_contact.System, "operator_location_type"): enums.OperatorLocationType,
    (_contact.System, "classification_type"): enums.ClassificationType,
    (_contact.System, "ua_category"): enums.Category, (_contact.System, "ua_class"): enums.UAClass,
    (_contact.OperatorID, "operator_id_type"): enums.OperatorIdType,
    (_contact.AuthPage, "auth_type"): enums.AuthType, (_contact.Authentication, "auth_type"): enums.AuthType,
}
_RANGES = {"lat": 90.0, "lon": 180.0}  # checked wherever a float field has one of these names

#: Records that ``Track.latest`` may hold, by the tag written in ``"@"``.
TAGGED: dict[str, type] = {cls.__name__: cls for cls in (
    _model.Radio, _contact.BasicID, _contact.Location, _contact.GeoPoint, _contact.SelfID, _contact.System,
    _contact.OperatorID, _contact.AuthPage, _contact.Authentication, _contact.DjiInfo, _contact.FrenchInfo,
    _contact.Aircraft, _model.Fix)}

_REQUIRED = object()  # a field without a default: always written
_EMPTY = object()  # a field whose default is an empty container: left out when empty

Enc = Callable[[Any], Any] | None
Dec = Callable[[Any], Any]  # raises PayloadError saying what is wrong (the codec adds where)


def _float(v: Any) -> float:
    if type(v) is float:
        if v - v != 0.0:  # inf (NaN cannot come out of JSON)
            raise PayloadError("not a finite number")
        return v
    if type(v) is int:
        return float(v)
    raise PayloadError(f"expected a number, got {type(v).__name__}")


def _bounded(limit: float) -> Dec:
    def dec(v: Any) -> float:
        v = _float(v)
        if not -limit <= v <= limit:
            raise PayloadError(f"{v} is out of range")
        return v
    return dec


def _simple(kind: type) -> Dec:
    def dec(v: Any) -> Any:
        if type(v) is not kind:
            raise PayloadError(f"expected {kind.__name__}, got {type(v).__name__}")
        return v
    return dec


def _int_enum(table: tuple[int, ...]) -> Dec:
    def dec(v: Any) -> int:
        if type(v) is not int:
            raise PayloadError(f"expected int, got {type(v).__name__}")
        return table[v] if 0 <= v < 256 else v
    return dec


def _enum(cls: type[Enum]) -> Dec:
    members = {m.value: m for m in cls}  # a dict lookup: cls(v) costs a microsecond

    def dec(v: Any) -> Any:
        try:
            return members[v]
        except (KeyError, TypeError):
            raise PayloadError(f"{v!r} is not a {cls.__name__}") from None
    return dec


def _b64_enc(v: bytes) -> str:
    return base64.b64encode(v).decode("ascii")


def _b64_dec(v: Any) -> bytes:
    if type(v) is not str:
        raise PayloadError("expected base64 text")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("not valid base64") from None


def _container(item: tuple[Enc, Dec], build: Callable[[list[Any]], Any], is_set: bool) -> tuple[Enc, Dec]:
    ienc, idec = item

    def enc(v: Any) -> list[Any]:
        items = v if ienc is None else [ienc(x) for x in v]
        return sorted(items) if is_set else list(items)

    def dec(v: Any) -> Any:
        if type(v) is not list:
            raise PayloadError("expected a list")
        return build([idec(x) for x in v])
    return enc, dec


def _tagged_enc(v: dict[str, object]) -> dict[str, Any]:
    out = {}
    for key, record in v.items():
        name = type(record).__name__
        if TAGGED.get(name) is not type(record):
            raise TypeError(f"cannot send a {name} in Track.latest")
        out[key] = {"@": name, **codec(type(record)).encode(record)}
    return out


def _tagged_dec(v: Any) -> dict[str, object]:
    if type(v) is not dict:
        raise PayloadError("expected an object")
    out: dict[str, object] = {}
    for key, record in v.items():
        if type(record) is not dict or record.get("@") not in TAGGED:
            raise PayloadError(f"{key}: expected a record tagged with '@'")
        out[key] = codec(TAGGED[record["@"]]).decode(record, key)
    return out


def _converters(tp: Any, owner: type, name: str, default_factory: Any) -> tuple[Enc, Dec]:
    """How one annotated type is written and read back."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{owner.__name__}.{name}: unsupported union {tp}")
        enc, dec = _converters(args[0], owner, name, default_factory)
        return enc, lambda v: None if v is None else dec(v)
    if tp is float:
        return None, _bounded(_RANGES[name]) if name in _RANGES else _float
    if tp is int:
        enum = _INT_ENUMS.get((owner, name))
        return None, _int_enum(enums.table(enum)) if enum is not None else _simple(int)
    if tp in (str, bool):
        return None, _simple(tp)
    if tp is bytes:
        return _b64_enc, _b64_dec
    if isinstance(tp, type) and issubclass(tp, Enum):
        return None, _enum(tp)
    if dataclasses.is_dataclass(tp):
        c = codec(tp)  # type: ignore[arg-type]
        return c.encode, c.decode  # decode(d, where="") works as a one-argument reader
    if origin in (list, tuple, set, deque):
        args = typing.get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"{owner.__name__}.{name}: only tuple[X, ...] is supported")
        item = _converters(args[0], owner, name, None)
        if origin is deque:
            maxlen = default_factory().maxlen if default_factory is not None else None
            return _container(item, lambda xs: deque(xs, maxlen=maxlen), False)
        return _container(item, origin, origin is set)
    if origin is dict and typing.get_args(tp) == (str, object):
        return _tagged_enc, _tagged_dec
    raise TypeError(f"{owner.__name__}.{name}: cannot carry {tp} on the bus")


class Codec:
    """One dataclass to a compact dict and back, exactly."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        hints = typing.get_type_hints(cls)
        self._plan: list[tuple[str, Any, Enc]] = []
        self._specs: dict[str, tuple[int, Any, bool]] = {}  # how decode() checks each field
        self._required: list[str] = []
        for f in dataclasses.fields(cls):
            factory = None if f.default_factory is dataclasses.MISSING else f.default_factory
            enc, dec = _converters(hints[f.name], cls, f.name, factory)
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif factory is not None:
                default = _EMPTY
            else:
                default = _REQUIRED
                self._required.append(f.name)
            self._plan.append((f.name, default, enc))
            self._specs[f.name] = _spec(hints[f.name], cls, f.name, dec)
        self.encode: Callable[[Any], dict[str, Any]] = _encoder(cls, self._plan)
        #: ``decode(d, where="") -> obj``: every value's type checked; raises :class:`PayloadError`.
        self.decode: Callable[..., Any] = _decoder(cls, self._specs, self._required)


_FLOAT, _INT, _STR, _BOOL, _OTHER = range(5)


def _encoder(cls: type, plan: list[tuple[str, Any, Enc]]) -> Callable[[Any], dict[str, Any]]:
    """``encode(obj) -> dict`` for one dataclass, written out field by field (a loop over the fields
    costs three times as much, and the correlator encodes a thousand track states a second)."""
    ns: dict[str, Any] = {}
    lines = ["def encode(obj):", "    out = {}"]
    for i, (name, default, enc) in enumerate(plan):
        lines.append(f"    v = obj.{name}")
        if default is _EMPTY:
            test = "v"
        elif default is _REQUIRED:
            test = "True"
        elif default is None:
            test = "v is not None"
        elif default is False:
            test = "v is not False"
        else:
            ns[f"D{i}"] = default
            test = f"not (v is D{i} or (v == D{i} and type(v) is type(D{i})))"
        if enc is None:
            value = "v"
        else:
            ns[f"E{i}"] = enc
            value = f"E{i}(v)" if default in (None, False) or default is _EMPTY else f"None if v is None else E{i}(v)"
        lines.append(f"    if {test}:")
        lines.append(f"        out[{name!r}] = {value}")
    lines.append("    return out")
    exec("\n".join(lines), ns)  # noqa: S102 - generated from the dataclass's own field names
    encode = ns["encode"]
    encode.__qualname__ = f"encode_{cls.__name__}"
    return encode  # type: ignore[no-any-return]


def _decoder(cls: type, specs: dict[str, tuple[int, Any, bool]], required: list[str]) -> Callable[..., Any]:
    """``decode(d, where="")`` for one dataclass, written out field by field with the checks inline:
    it runs for every contact the correlator receives."""
    ns: dict[str, Any] = {"PE": PayloadError, "M": object(), "C": cls, "NAME": cls.__name__}
    lines = ["def decode(d, where=''):", "    if type(d) is not dict:",
             f"        raise PE((where or {cls.__name__!r}) + ': expected an object')",
             "    kw = {}", "    key = ''", "    try:"]
    for i, (name, (code, arg, optional)) in enumerate(specs.items()):
        lines += [f"        key = {name!r}", f"        v = d.get({name!r}, M)"]
        if name in required:
            lines += ["        if v is M:", "            raise PE('is missing')"]
        else:
            lines += ["        if v is not M:"]
        body: list[str] = []
        if code == _FLOAT:
            body += ["t = type(v)", "if t is float:", "    if v - v != 0.0:", "        raise PE('not a finite number')",
                     "elif t is int:", "    v = float(v)", "else:",
                     "    raise PE('expected a number, got ' + t.__name__)"]
            if arg is not None:
                body += [f"if not -{arg!r} <= v <= {arg!r}:", "    raise PE(f'{v} is out of range')"]
        elif code == _INT:
            body += ["if type(v) is not int:", "    raise PE('expected int, got ' + type(v).__name__)"]
            if arg is not None:
                ns[f"T{i}"] = arg
                body += ["if 0 <= v < 256:", f"    v = T{i}[v]"]
        elif code in (_STR, _BOOL):
            kind = "str" if code == _STR else "bool"
            body += [f"if type(v) is not {kind}:", f"    raise PE('expected {kind}, got ' + type(v).__name__)"]
        else:
            ns[f"R{i}"] = arg
            body += [f"v = R{i}(v)"]
        if optional and code != _OTHER:
            body = ["if v is not None:", *("    " + b for b in body)]
        elif code != _OTHER:
            body = ["if v is None:", "    raise PE('must not be null')", *body]
        indent = "            " if name not in required else "        "
        lines += [indent + b for b in body] + [f"{indent}kw[{name!r}] = v"]
    lines += ["    except PE as e:", "        raise PE(f'{where or NAME}.{key}: {e}') from None",
              "    return C(**kw)"]
    exec("\n".join(lines), ns)  # noqa: S102 - generated from the dataclass's own field names
    decode = ns["decode"]
    decode.__qualname__ = f"decode_{cls.__name__}"
    return decode  # type: ignore[no-any-return]


def _spec(tp: Any, owner: type, name: str, reader: Dec) -> tuple[int, Any, bool]:
    """How :meth:`Codec.decode` checks a field: (kind, its argument, may it be null)."""
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional, tp = True, args[0]
    if tp is float:
        return _FLOAT, _RANGES.get(name), optional
    if tp is int:
        enum = _INT_ENUMS.get((owner, name))
        return _INT, None if enum is None else enums.table(enum), optional
    if tp is str:
        return _STR, None, optional
    if tp is bool:
        return _BOOL, None, optional
    return _OTHER, reader, True  # the reader itself says whether None is allowed


_CODECS: dict[type, Codec] = {}


def codec(cls: type) -> Codec:
    c = _CODECS.get(cls)
    if c is None:
        c = _CODECS[cls] = Codec(cls)
    return c


_CONTACT = codec(Contact)
_TRACK = codec(Track)
_ALERT = codec(Alert)


# -- contacts ---------------------------------------------------------------------------------


def contact_to_dict(c: Contact, raw: bool = False) -> dict[str, Any]:
    """A contact as a compact dict; ``raw=False`` leaves the payload bytes out."""
    d = _CONTACT.encode(c)
    if not raw:
        d.pop("raw", None)
    return d


def contact_from_dict(d: Any, where: str = "contact") -> Contact:
    return _CONTACT.decode(d, where)


def encode_contact(c: Contact, seq: int, raw: bool = False) -> bytes:
    """One contact of a batch, as JSON, numbered ``seq`` (see :func:`batch`)."""
    d = contact_to_dict(c, raw)
    d["seq"] = seq
    return orjson.dumps(d)


def batch(stream: str, encoded: list[bytes]) -> bytes:
    """One MQTT message from contacts already encoded by :func:`encode_contact`."""
    return b'{"v":1,"stream":' + orjson.dumps(stream) + b',"contacts":[' + b",".join(encoded) + b"]}"


def _loads(payload: bytes, what: str) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError(f"{what}: {len(payload)} bytes is larger than {MAX_PAYLOAD}")
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise PayloadError(f"{what}: not JSON ({e})") from None
    if type(doc) is not dict:
        raise PayloadError(f"{what}: expected a JSON object")
    if doc.get("v") != VERSION:
        raise PayloadError(f"{what}: version {doc.get('v')!r}, this reader knows version {VERSION}")
    return doc


def read_batch(payload: bytes) -> tuple[str, list[tuple[int, Contact]]]:
    """``(stream, [(seq, contact), ...])`` from one contacts message.  Raises :class:`PayloadError`."""
    doc = _loads(payload, "contacts")
    stream, items = doc.get("stream"), doc.get("contacts")
    if type(stream) is not str or not stream:
        raise PayloadError("contacts: stream is missing")
    if type(items) is not list:
        raise PayloadError("contacts: expected a list of contacts")
    out = []
    for i, d in enumerate(items):
        where = f"contacts[{i}]"
        if type(d) is not dict:
            raise PayloadError(f"{where}: expected an object")
        seq = d.get("seq")
        if type(seq) is not int or seq < 1:
            raise PayloadError(f"{where}.seq: expected a positive whole number")
        out.append((seq, _CONTACT.decode(d, where)))
    return stream, out


# -- tracks, alerts and small documents ----------------------------------------------------------


def track_to_dict(t: Track) -> dict[str, Any]:
    return _TRACK.encode(t)


def track_from_dict(d: Any) -> Track:
    return _TRACK.decode(d, "track")


def alert_to_dict(a: Alert) -> dict[str, Any]:
    return _ALERT.encode(a)


def alert_from_dict(d: Any) -> Alert:
    return _ALERT.decode(d, "alert")


def encode_track(t: Track, trail: int | None = None) -> bytes:
    """A track's state; ``trail`` keeps only that many of the latest fixes (the correlator sends 16)."""
    if trail is not None and len(t.trail) > trail:
        t = copy.copy(t)
        t.trail = deque(islice(t.trail, len(t.trail) - trail, None), maxlen=t.trail.maxlen)
    return orjson.dumps({"v": VERSION, "track": track_to_dict(t)})


def read_track(payload: bytes) -> Track:
    return track_from_dict(_loads(payload, "track").get("track"))


def encode_alert_event(event: str, a: Alert) -> bytes:
    """``event`` is ``raised``, ``updated`` (folded repeats, severity) or ``acknowledged``."""
    return orjson.dumps({"v": VERSION, "event": event, "alert": alert_to_dict(a)})


def read_alert_event(payload: bytes) -> tuple[str, Alert]:
    doc = _loads(payload, "alert")
    event = doc.get("event")
    if type(event) is not str:
        raise PayloadError("alert: event is missing")
    return event, alert_from_dict(doc.get("alert"))


def encode_alert_state(alerts: list[Alert]) -> bytes:
    return orjson.dumps({"v": VERSION, "alerts": [alert_to_dict(a) for a in alerts]})


def read_alert_state(payload: bytes) -> list[Alert]:
    items = _loads(payload, "alert state").get("alerts")
    if type(items) is not list:
        raise PayloadError("alert state: expected a list of alerts")
    return [alert_from_dict(d) for d in items]


def encode_doc(doc: dict[str, Any]) -> bytes:
    """A small document (status, acknowledgement), with the version added."""
    return orjson.dumps({"v": VERSION, **doc})


def read_doc(payload: bytes, what: str) -> dict[str, Any]:
    return _loads(payload, what)


def finite(value: Any) -> float | None:
    """A number from a document, or ``None`` when absent or not a finite number."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None
